//! W3C Trace Context (`traceparent`): which trace a request belongs to, for the request's log
//! lines and the response — and, when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, the request's span
//! exported over OTLP ([`otlp`]).

pub mod otlp;

use actix_web::HttpMessage as _;
use opentelemetry::trace::{Span as _, SpanKind, Status, TraceContextExt as _, Tracer as _};
use opentelemetry::KeyValue;

/// W3C Trace Context: the trace a request belongs to. A valid `traceparent` from the caller is
/// continued (its trace id, its flags) with a span id of this service's own; otherwise a new trace
/// begins. The trace id is in the request's log lines, and `traceparent` in the response names the
/// service's span, so a region's tracing follows a call from the journal system through us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    pub trace_id: String,
    pub span_id: String,
    pub flags: String,
}

impl TraceContext {
    pub fn continuing(traceparent: Option<&str>) -> TraceContext {
        let span_id = random_hex(8);
        match traceparent.and_then(parse_traceparent) {
            Some(parent) => TraceContext {
                trace_id: parent.trace_id,
                span_id,
                flags: parent.flags,
            },
            None => TraceContext {
                trace_id: random_hex(16),
                span_id,
                flags: "00".into(),
            },
        }
    }

    pub fn header(&self) -> String {
        format!("00-{}-{}-{}", self.trace_id, self.span_id, self.flags)
    }
}

/// One request's place in a trace, and its span while spans are exported. Begun before the
/// request is routed, ended with its route template and status: the span's name and attributes
/// are the method, the route's pattern and the status — never the path, a query, a header value
/// or anything else a client sent, so no id or personal data reaches a region's tracing backend.
pub struct RequestSpan {
    pub context: TraceContext,
    span: Option<opentelemetry_sdk::trace::Span>,
}

impl RequestSpan {
    pub fn begin(traceparent: Option<&str>, method: &str) -> RequestSpan {
        let Some(tracer) = otlp::tracer() else {
            return RequestSpan {
                context: TraceContext::continuing(traceparent),
                span: None,
            };
        };
        // The caller's span is the parent; whether it was sampled decides ours (the SDK's
        // parent-based sampler, or `OTEL_TRACES_SAMPLER`).
        let parent = match traceparent.and_then(parse_traceparent) {
            Some(parent) => opentelemetry::Context::new().with_remote_span_context(parent.span()),
            None => opentelemetry::Context::new(),
        };
        let span = tracer
            .span_builder(method.to_string())
            .with_kind(SpanKind::Server)
            .start_with_context(tracer, &parent);
        let ids = span.span_context();
        RequestSpan {
            context: TraceContext {
                trace_id: ids.trace_id().to_string(),
                span_id: ids.span_id().to_string(),
                flags: format!("{:02x}", ids.trace_flags().to_u8()),
            },
            span: Some(span),
        }
    }

    /// Ends the span (when spans are exported) under OpenTelemetry's HTTP server conventions:
    /// named `{method} {route}`, or the method alone for a path no route matched.
    pub fn end(self, method: &str, route: Option<&str>, status: u16) {
        let Some(mut span) = self.span else { return };
        let mut attributes = vec![
            KeyValue::new("http.request.method", method.to_string()),
            KeyValue::new("http.response.status_code", i64::from(status)),
        ];
        match route {
            Some(route) => {
                span.update_name(format!("{method} {route}"));
                attributes.push(KeyValue::new("http.route", route.to_string()));
            }
            None => span.update_name(method.to_string()),
        }
        span.set_attributes(attributes);
        if status >= 500 {
            span.set_status(Status::error(format!("status {status}")));
        }
        span.end();
    }
}

/// The template of the route a request matched (`/api/v1/plans/{plan_id}`), never the path it
/// sent. Matching walks the routes' patterns, so it is done once a request and kept in the
/// request's extensions for every later asker (the access log, the access line, metrics, the span).
pub fn route_of(req: &actix_web::HttpRequest) -> Option<std::rc::Rc<str>> {
    #[derive(Clone)]
    struct Route(Option<std::rc::Rc<str>>);
    if let Some(Route(route)) = req.extensions().get::<Route>() {
        return route.clone();
    }
    let route: Option<std::rc::Rc<str>> = req.match_pattern().map(std::rc::Rc::from);
    req.extensions_mut().insert(Route(route.clone()));
    route
}

/// A valid `traceparent`'s parts.
struct Parent {
    trace_id: String,
    parent_id: String,
    flags: String,
}

impl Parent {
    /// The caller's span, as the parent of ours (the parts are valid hex: [`parse_traceparent`]).
    fn span(&self) -> opentelemetry::trace::SpanContext {
        use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId};
        SpanContext::new(
            TraceId::from_hex(&self.trace_id).unwrap_or(TraceId::INVALID),
            SpanId::from_hex(&self.parent_id).unwrap_or(SpanId::INVALID),
            TraceFlags::new(u8::from_str_radix(&self.flags, 16).unwrap_or(0)),
            true,
            Default::default(),
        )
    }
}

/// The parts of a `traceparent` (`version-traceid-parentid-flags`), if it is valid: lowercase hex
/// of the right lengths, neither id all zeros, version not `ff`; a later version's extra fields
/// are allowed.
fn parse_traceparent(value: &str) -> Option<Parent> {
    let mut parts = value.trim().split('-');
    let (version, trace_id, parent_id, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, len: usize| {
        s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    let valid = hex(version, 2)
        && version != "ff"
        && (version != "00" || parts.next().is_none())
        && hex(trace_id, 32)
        && trace_id.bytes().any(|b| b != b'0')
        && hex(parent_id, 16)
        && parent_id.bytes().any(|b| b != b'0')
        && hex(flags, 2);
    valid.then(|| Parent {
        trace_id: trace_id.to_string(),
        parent_id: parent_id.to_string(),
        flags: flags.to_string(),
    })
}

/// `bytes` random bytes in lowercase hex (from a v4 UUID's random bits), never all zeros.
fn random_hex(bytes: usize) -> String {
    loop {
        let random = uuid::Uuid::new_v4();
        let hex = crate::domain::lower_hex(&random.as_bytes()[..bytes]);
        if hex.bytes().any(|b| b != b'0') {
            return hex;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_valid_traceparent_is_continued_and_anything_else_starts_a_trace() {
        let incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let trace = TraceContext::continuing(Some(incoming));
        assert_eq!(trace.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(trace.flags, "01");
        assert_ne!(trace.span_id, "00f067aa0ba902b7");
        assert_eq!(trace.header().len(), 55);
        for bad in [
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "garbage",
        ] {
            let fresh = TraceContext::continuing(Some(bad));
            assert_ne!(fresh.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736", "{bad}");
            assert_eq!(fresh.trace_id.len(), 32);
        }
        // A later version may carry more fields.
        let later = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-more";
        assert_eq!(
            TraceContext::continuing(Some(later)).trace_id,
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
    }
}
