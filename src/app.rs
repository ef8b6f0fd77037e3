//! The application, built the same way for `main` and for the tests.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::{from_fn, DefaultHeaders, ErrorHandlerResponse, ErrorHandlers, Next};
use actix_web::HttpMessage;
use actix_web::{http::header, web, App, HttpResponse};
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use crate::api::extract::{configure_extractors, BodyLimit};
use crate::auth::TokenVerifier;
use crate::db::Db;
use crate::error::Error;

/// What every request can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub verifier: web::Data<TokenVerifier>,
    pub max_body_bytes: usize,
    /// The guidelines' deadlines, as configured for this region.
    pub deadlines: crate::domain::process::Deadlines,
    /// Browser origins of third-party frontends allowed to call the API (CORS); none by default.
    pub cors_origins: Vec<String>,
    /// The access-log writer.
    pub audit: crate::audit::AuditLog,
    /// How long the change feed serves events.
    pub feed: crate::service::feed::FeedSettings,
    /// Where webhooks may be delivered (the dispatcher itself runs beside the app, see `main`).
    pub webhooks: crate::domain::webhook::WebhookSettings,
    /// The one clock of the application, its access log and its workers.
    pub clock: crate::clock::Clock,
    /// Where clients reach the service (`PUBLIC_URL`).
    pub public_url: crate::config::PublicUrl,
    /// `METRICS_ENABLED`: `GET /metrics` answers (404 otherwise).
    pub metrics: crate::metrics::MetricsEnabled,
    /// The rate limiters (`RATE_LIMIT_*`), shared by every worker.
    pub limiters: web::Data<crate::auth::limits::Limiters>,
}

/// The origins CORS allows.
#[derive(Debug, Clone)]
pub struct CorsOrigins(pub Vec<String>);

pub fn build_app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(web::Data::new(state.db.clone()))
        .app_data(state.verifier.clone())
        .app_data(BodyLimit(state.max_body_bytes))
        .app_data(web::Data::new(state.deadlines))
        .app_data(web::Data::new(CorsOrigins(state.cors_origins.clone())))
        .app_data(web::Data::new(state.audit.clone()))
        .app_data(web::Data::new(state.feed))
        .app_data(web::Data::new(state.webhooks.clone()))
        .app_data(web::Data::new(state.clock.clone()))
        .app_data(web::Data::new(state.public_url.clone()))
        .app_data(web::Data::new(state.metrics))
        .app_data(state.limiters.clone())
        .configure(configure_extractors)
        .configure(crate::api::routes)
        .service(web::resource("/docs").get(|| async {
            HttpResponse::PermanentRedirect()
                .insert_header((header::LOCATION, "/docs/"))
                .finish()
        }))
        .service(
            SwaggerUi::new("/docs/{_:.*}")
                .url("/api-docs/openapi.json", crate::api::ApiDoc::openapi()),
        )
        .default_service(web::to(|| async {
            Err::<HttpResponse, _>(Error::RouteNotFound)
        }))
        .wrap(ErrorHandlers::new().default_handler(problem_fallback))
        .wrap(
            DefaultHeaders::new()
                .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
                .add((header::X_FRAME_OPTIONS, "DENY"))
                .add((header::REFERRER_POLICY, "no-referrer"))
                // Responses carry personal data: no cache on the way may keep them.
                .add((header::CACHE_CONTROL, "no-store")),
        )
        .wrap(from_fn(cors))
        .wrap(from_fn(limit_headers))
        .wrap(from_fn(request_id))
}

/// The most header bytes a request may carry, names and values together. Larger heads get 431 in
/// the service's error format. (Heads above 128 KiB never reach the service: the HTTP layer
/// answers them with an empty 431, and its log line is demoted to a warning, see `init_logging`.)
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

async fn limit_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<actix_web::body::EitherBody<impl MessageBody>>, actix_web::Error> {
    let size: usize = req
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if size > MAX_HEADER_BYTES {
        let error = Error::HeadersTooLarge {
            limit: MAX_HEADER_BYTES,
        };
        let response = actix_web::ResponseError::error_response(&error);
        return Ok(req.into_response(response).map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}

/// Framework modules whose debug and trace lines quote the request — its path (which holds ids a
/// client sent), header values or the text of a parse error. No log line may repeat what a client
/// sent, so these are held at `warn` whatever `RUST_LOG` asks; the service's own lines say what
/// they need with the route's pattern and the request id.
const QUOTES_THE_REQUEST: &[&str] = &[
    "actix_http::h1",
    "actix_web::types",
    "actix_web::request_data",
    "actix_web::middleware::logger",
    "actix_web::handler",
];

/// The service's logger: `RUST_LOG` (default `info`), with [`QUOTES_THE_REQUEST`] held at `warn`,
/// and the HTTP layer's errors about a client's connection demoted to warnings.
pub fn init_logging() {
    let mut builder =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"));
    for module in QUOTES_THE_REQUEST {
        builder.filter_module(module, log::LevelFilter::Warn);
    }
    // `LOG_FORMAT=json`: one JSON object a line (time, level, target, message), for a region's
    // log collection; the default is env_logger's text.
    if std::env::var("LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        builder.format(|out, record| {
            use std::io::Write;
            let line = serde_json::json!({
                "time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                "level": record.level().as_str(),
                "target": record.target(),
                "message": record.args().to_string(),
            });
            writeln!(out, "{line}")
        });
    }
    let logger = builder.build();
    let level = logger.filter();
    if log::set_boxed_logger(Box::new(ClientFaultsAsWarnings(logger))).is_ok() {
        log::set_max_level(level);
    }
}

/// actix-http logs at ERROR what a client caused on its own connection — a head too large, a
/// request it could not parse, a connection reset — so anyone could flood the log at ERROR without
/// a token. Those lines are the client's fault, not the service's: they are logged as warnings.
struct ClientFaultsAsWarnings(env_logger::Logger);

impl ClientFaultsAsWarnings {
    fn is_client_fault(metadata: &log::Metadata<'_>) -> bool {
        metadata.level() == log::Level::Error && metadata.target().starts_with("actix_http::h1")
    }
}

impl log::Log for ClientFaultsAsWarnings {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        if Self::is_client_fault(metadata) {
            let demoted = log::Metadata::builder()
                .level(log::Level::Warn)
                .target(metadata.target())
                .build();
            return self.0.enabled(&demoted);
        }
        self.0.enabled(metadata)
    }

    fn log(&self, record: &log::Record<'_>) {
        if Self::is_client_fault(record.metadata()) {
            let demoted = log::Record::builder()
                .args(*record.args())
                .level(log::Level::Warn)
                .target(record.target())
                .module_path(record.module_path())
                .file(record.file())
                .line(record.line())
                .build();
            if self.0.enabled(demoted.metadata()) {
                self.0.log(&demoted);
            }
            return;
        }
        self.0.log(record)
    }

    fn flush(&self) {
        self.0.flush()
    }
}

/// A last safety net: an error response that did not come from our [`Error`] (a framework default)
/// is rewritten as problem+json, so a client never has to parse two error formats.
fn problem_fallback<B: MessageBody + 'static>(
    response: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if is_problem {
        return Ok(ErrorHandlerResponse::Response(
            response.map_into_left_body(),
        ));
    }
    let status = response.status();
    let error = match status.as_u16() {
        404 => Error::RouteNotFound,
        405 => Error::MethodNotAllowed {
            allow: crate::api::allowed_methods(response.request().match_pattern().as_deref()),
        },
        413 => Error::PayloadTooLarge { limit: 0 },
        415 => Error::UnsupportedMediaType {
            expected: "application/json",
        },
        400..=499 => Error::bad_request(status.canonical_reason().unwrap_or("bad request")),
        503 => Error::Unavailable("the service is unavailable".into()),
        _ => Error::Internal(format!("unhandled status {status}")),
    };
    let (request, _) = response.into_parts();
    let mut replacement = actix_web::ResponseError::error_response(&error);
    *replacement.status_mut() = status;
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(request, replacement).map_into_right_body(),
    ))
}

pub use crate::auth::RequestId;

async fn request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    const NAME: &str = "x-request-id";
    let id = req
        .headers()
        .get(NAME)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        })
        .map(String::from)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().clone();
    let span = crate::trace::RequestSpan::begin(
        req.headers()
            .get("traceparent")
            .and_then(|v| v.to_str().ok()),
        method.as_str(),
    );
    let trace = span.context.clone();
    let started = std::time::Instant::now();
    let mut response = next.call(req).await?;
    // One access line per request: the method, the route's pattern (never the path: its ids are
    // what the client sent), the status and the time taken. Query strings and bodies are never
    // logged.
    let pattern = crate::trace::route_of(response.request());
    span.end(
        method.as_str(),
        pattern.as_deref(),
        response.status().as_u16(),
    );
    let route = pattern.as_deref().unwrap_or("(no route)");
    log::info!(
        target: "sip::access",
        "{method} {route} {} {}ms request_id={id} trace_id={}",
        response.status().as_u16(),
        started.elapsed().as_millis(),
        trace.trace_id
    );
    crate::metrics::metrics().observe_request(
        route,
        method.as_str(),
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    // Our faults and an unreachable database are logged here, with the request id; details never
    // hold request data (see `Error`).
    if let Some(error) = response.response().error() {
        match response.status().as_u16() {
            500..=502 | 504.. => {
                log::error!("request_id={id} trace_id={} {error}", trace.trace_id)
            }
            503 => log::warn!("request_id={id} trace_id={} {error}", trace.trace_id),
            _ => {}
        }
    }
    if let Ok(value) = header::HeaderValue::from_str(&id) {
        response
            .headers_mut()
            .insert(header::HeaderName::from_static(NAME), value);
    }
    if let Ok(value) = header::HeaderValue::from_str(&trace.header()) {
        response
            .headers_mut()
            .insert(header::HeaderName::from_static("traceparent"), value);
    }
    Ok(response)
}

/// CORS for third-party frontends: only the configured origins get the headers that let a browser
/// read responses; a preflight from any other origin is refused. Preflights are answered here,
/// before authentication, as browsers send them without the token.
///
/// Not `actix-cors`, on purpose: its refusal is its own `CorsError` response, a `400` with a
/// plain-text body, where every error of this API is `application/problem+json` (here a 403 that
/// names the setting) and documented in the OpenAPI document. Wrapping it to rewrite its answers
/// would be more code than the forty lines below, whose behaviour `tests/api/hardening.rs` pins.
async fn cors(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<actix_web::body::EitherBody<impl MessageBody>>, actix_web::Error> {
    let allowed = req
        .app_data::<web::Data<CorsOrigins>>()
        .and_then(|origins| {
            let origin = req.headers().get(header::ORIGIN)?.to_str().ok()?;
            origins
                .0
                .iter()
                .any(|o| o == origin)
                .then(|| origin.to_string())
        });
    let preflight = req.method() == actix_web::http::Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if preflight {
        let response = match &allowed {
            Some(origin) => HttpResponse::NoContent()
                .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.as_str()))
                .insert_header((
                    header::ACCESS_CONTROL_ALLOW_METHODS,
                    "GET, POST, PUT, DELETE, OPTIONS",
                ))
                .insert_header((
                    header::ACCESS_CONTROL_ALLOW_HEADERS,
                    "Authorization, Content-Type, Accept, If-Match, X-Request-Id, traceparent",
                ))
                .insert_header((header::ACCESS_CONTROL_MAX_AGE, "600"))
                .insert_header((header::VARY, "Origin"))
                .finish(),
            None => actix_web::ResponseError::error_response(&Error::Forbidden(
                "this origin may not call the API: it is not in CORS_ALLOWED_ORIGINS".into(),
            )),
        };
        return Ok(req.into_response(response).map_into_right_body());
    }
    let mut response = next.call(req).await?;
    if let Some(origin) = allowed {
        let headers = response.headers_mut();
        if let Ok(value) = header::HeaderValue::from_str(&origin) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        }
        headers.insert(header::VARY, header::HeaderValue::from_static("Origin"));
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            header::HeaderValue::from_static("ETag, Location, X-Request-Id, traceparent"),
        );
    }
    Ok(response.map_into_left_body())
}
