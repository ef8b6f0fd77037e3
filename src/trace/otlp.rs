//! Spans exported over OTLP/HTTP (protobuf) to a region's collector when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set; off otherwise.
//!
//! The OpenTelemetry SDK does the work: its batch processor queues ended spans and exports them
//! from a thread of its own (`OTEL_BSP_*` settings), so a request never waits for the collector,
//! and a collector that is down costs dropped spans, never requests. The exporter reads the
//! standard `OTEL_EXPORTER_OTLP_*` settings (headers, timeout, compression) and the SDK
//! `OTEL_TRACES_SAMPLER`, `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES`. Requests go out
//! through the ureq client the service already uses for webhooks and key sets.

use std::sync::OnceLock;
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use opentelemetry_sdk::Resource;

/// The settings that turn export on (the OTLP exporter's own; either names the collector).
const ENDPOINT_SETTINGS: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
];

/// How long one export may take, unless `OTEL_EXPORTER_OTLP_TIMEOUT` says otherwise.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

static TRACER: OnceLock<SdkTracer> = OnceLock::new();

/// The tracer requests start their spans with, while spans are exported.
pub(crate) fn tracer() -> Option<&'static SdkTracer> {
    TRACER.get()
}

/// Export running: dropping it (when the server has stopped) exports the spans still queued.
pub struct Export {
    provider: SdkTracerProvider,
}

impl Drop for Export {
    fn drop(&mut self) {
        if let Err(e) = self.provider.shutdown_with_timeout(Duration::from_secs(5)) {
            log::warn!("spans still queued at shutdown were not all exported: {e}");
        }
    }
}

/// Starts exporting spans if a collector is configured; `Err` names a setting that is wrong, so
/// the service refuses to start rather than run without the tracing a region asked for.
pub fn start() -> Result<Option<Export>, String> {
    let configured = ENDPOINT_SETTINGS
        .iter()
        .any(|name| std::env::var(name).is_ok_and(|v| !v.trim().is_empty()));
    if !configured {
        return Ok(None);
    }
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_timeout(DEFAULT_TIMEOUT)
        .with_http_client(Client::new())
        .build()
        .map_err(|e| format!("OTEL_EXPORTER_OTLP_ENDPOINT: cannot export spans: {e}"))?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource())
        .build();
    // Set once per process: a second start (tests) keeps the first tracer.
    let _ = TRACER.set(provider.tracer("sip-service"));
    log::info!("spans are exported over OTLP");
    Ok(Some(Export { provider }))
}

/// `service.name` is `sip-service` unless `OTEL_SERVICE_NAME` or `OTEL_RESOURCE_ATTRIBUTES` names
/// the service; `service.version` is the build's.
fn resource() -> Resource {
    let named = Resource::builder()
        .build()
        .get(&opentelemetry::Key::new("service.name"))
        .is_some_and(|name| !name.as_str().starts_with("unknown_service"));
    let builder = Resource::builder().with_attribute(opentelemetry::KeyValue::new(
        "service.version",
        env!("CARGO_PKG_VERSION"),
    ));
    if named {
        builder.build()
    } else {
        builder.with_service_name("sip-service").build()
    }
}

/// The exporter's HTTP client: ureq, blocking, on the batch processor's own thread. The
/// exporter's timeout bounds each request.
#[derive(Debug)]
struct Client {
    agent: ureq::Agent,
}

impl Client {
    fn new() -> Client {
        let timeout = std::env::var("OTEL_EXPORTER_OTLP_TIMEOUT")
            .ok()
            .and_then(|ms| ms.trim().parse().ok())
            .map(Duration::from_millis)
            .unwrap_or(DEFAULT_TIMEOUT);
        Client {
            agent: ureq::Agent::config_builder()
                .timeout_global(Some(timeout))
                .http_status_as_error(false)
                .user_agent(concat!("sip-service/", env!("CARGO_PKG_VERSION")))
                .build()
                .into(),
        }
    }
}

#[async_trait::async_trait]
impl HttpClient for Client {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let response = self
            .agent
            .run(request.map(|body| body.to_vec()))
            .inspect_err(|e| log::warn!("spans not exported: {e}"))?;
        let status = response.status();
        if !status.is_success() {
            log::warn!("spans not exported: the collector answered {status}");
        }
        let (parts, mut body) = response.into_parts();
        let body = body.read_to_vec()?;
        Ok(Response::from_parts(parts, Bytes::from(body)))
    }
}
