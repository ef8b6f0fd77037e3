//! W3C Trace Context (`traceparent`): which trace a request belongs to, for the request's log
//! lines and the response.

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
            Some((trace_id, flags)) => TraceContext {
                trace_id,
                span_id,
                flags,
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

/// The trace id and flags of a `traceparent` (`version-traceid-parentid-flags`), if it is valid:
/// lowercase hex of the right lengths, neither id all zeros, version not `ff`; a later version's
/// extra fields are allowed.
fn parse_traceparent(value: &str) -> Option<(String, String)> {
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
    valid.then(|| (trace_id.to_string(), flags.to_string()))
}

/// `bytes` random bytes in lowercase hex (from a v4 UUID's random bits), never all zeros.
fn random_hex(bytes: usize) -> String {
    loop {
        let random = uuid::Uuid::new_v4();
        let hex: String = random.as_bytes()[..bytes]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
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
