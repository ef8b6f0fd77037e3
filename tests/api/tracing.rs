//! Spans over OTLP: the binary, with `OTEL_EXPORTER_OTLP_ENDPOINT` set, exports each request's
//! span to a collector (here one on 127.0.0.1 that keeps what it is sent) — in the caller's trace,
//! with the span id the response names, and nothing a client sent.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::LISA_PNR;
use crate::process::{free_port, http_with, start_with, stop, token};

/// An OTLP/HTTP collector: keeps the body of every `POST /v1/traces` (protobuf), answers 200.
struct Collector {
    url: String,
    exports: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Collector {
    fn start() -> Collector {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let exports = Arc::new(Mutex::new(Vec::new()));
        let kept = exports.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut request = Vec::new();
                let mut buffer = [0u8; 8192];
                let head_end = loop {
                    if let Some(at) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                        break Some(at + 4);
                    }
                    match stream.read(&mut buffer) {
                        Ok(0) | Err(_) => break None,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                };
                let Some(head_end) = head_end else { continue };
                let head = String::from_utf8_lossy(&request[..head_end]).to_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|line| line.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                while request.len() < head_end + length {
                    match stream.read(&mut buffer) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                if head.starts_with("post /v1/traces ") {
                    kept.lock().unwrap().push(request[head_end..].to_vec());
                }
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            }
        });
        Collector { url, exports }
    }

    /// Everything exported so far, as one byte string to search.
    fn received(&self) -> Vec<u8> {
        self.exports.lock().unwrap().concat()
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A hex id as the bytes protobuf carries it.
fn bytes_of(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

/// The `traceparent` a response carried.
fn traceparent(head: &str) -> String {
    head.lines()
        .find_map(|line| line.strip_prefix("traceparent: "))
        .expect("the response names its span")
        .trim()
        .to_string()
}

#[test]
fn each_request_is_a_span_in_the_callers_trace_with_nothing_a_client_sent() {
    let collector = Collector::start();
    let data_dir = std::env::temp_dir().join(format!("sip-otlp-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&data_dir).unwrap();
    let log = data_dir.join("service.log");
    let mut server = start_with(
        &data_dir,
        None,
        &log,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url.as_str()),
            ("OTEL_BSP_SCHEDULE_DELAY", "500"),
        ],
    );
    let token = format!("Bearer {}", token(&data_dir, "SE2321000016-ABC1"));
    let request = |method: &str, path: &str, trace: &str, body: Option<&str>| {
        let mut headers = vec![("Authorization", token.as_str()), ("traceparent", trace)];
        if body.is_some() {
            headers.push(("Content-Type", "application/json"));
        }
        http_with(server.port, method, path, &headers, body).unwrap()
    };

    // A sampled trace from a journal system: the service's span continues it.
    let sampled_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    let sampled = format!("00-{sampled_trace}-{caller_span}-01");
    let person = format!(
        r#"{{"identity_number":"{LISA_PNR}","given_name":"Lisa","family_name":"Hemligsson"}}"#
    );
    let (status, head, body) = request("POST", "/api/v1/individuals", &sampled, Some(&person));
    assert_eq!(status, 201, "{body}");
    let created = traceparent(&head);
    assert!(
        created.starts_with(&format!("00-{sampled_trace}-")) && created.ends_with("-01"),
        "{created}"
    );
    let service_span = created.split('-').nth(2).unwrap().to_string();
    assert_ne!(service_span, caller_span);
    let individual: serde_json::Value = serde_json::from_str(&body).unwrap();
    let individual_id = individual["id"].as_str().unwrap().to_string();
    let (status, _, _) = request(
        "GET",
        &format!("/api/v1/individuals/{individual_id}?marker=Hemligsson"),
        &sampled,
        None,
    );
    assert_eq!(status, 200);

    // Exported while the service runs, on the batch processor's schedule.
    let deadline = Instant::now() + Duration::from_secs(15);
    while !contains(&collector.received(), &bytes_of(sampled_trace)) {
        assert!(Instant::now() < deadline, "no span reached the collector");
        std::thread::sleep(Duration::from_millis(100));
    }

    // A caller that did not sample its trace: no span is exported for it (parent-based sampling),
    // and the response still continues the trace, unsampled.
    let unsampled_trace = "0af7651916cd43dd8448eb211c80319c";
    let unsampled = format!("00-{unsampled_trace}-b7ad6b7169203331-00");
    let (status, head, _) = request("GET", "/api/v1/plans", &unsampled, None);
    assert_eq!(status, 200);
    assert!(traceparent(&head).ends_with("-00"));

    // The last request before SIGTERM is exported as the service stops.
    let last_trace = "5e2c1d0b9a8f7e6d5c4b3a2918273645";
    let (status, _, _) = request(
        "GET",
        "/api/v1/nowhere",
        &format!("00-{last_trace}-1122334455667788-01"),
        None,
    );
    assert_eq!(status, 404);
    stop(&mut server);

    let exported = collector.received();
    assert!(contains(&exported, &bytes_of(&service_span)));
    assert!(
        contains(&exported, &bytes_of(caller_span)),
        "the caller's span is the parent"
    );
    for expected in [
        "POST /api/v1/individuals",
        "GET /api/v1/individuals/{individual_id}",
        "http.route",
        "http.response.status_code",
        "sip-service",
    ] {
        assert!(
            contains(&exported, expected.as_bytes()),
            "{expected:?} is exported"
        );
    }
    assert!(
        contains(&exported, &bytes_of(last_trace)),
        "the spans still queued at SIGTERM are exported"
    );
    assert!(
        !contains(&exported, &bytes_of(unsampled_trace)),
        "an unsampled trace is not exported"
    );
    for sent in [
        LISA_PNR,
        "191212121212",
        "Lisa",
        "Hemligsson",
        "marker",
        individual_id.as_str(),
        "/api/v1/nowhere",
        "Bearer",
    ] {
        assert!(
            !contains(&exported, sent.as_bytes()),
            "{sent:?} reached the collector"
        );
    }
    let _ = std::fs::remove_dir_all(&data_dir);
}

#[test]
fn a_collector_that_is_down_costs_spans_never_requests() {
    let data_dir = std::env::temp_dir().join(format!("sip-otlp-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&data_dir).unwrap();
    let log = data_dir.join("service.log");
    let nobody = format!("http://127.0.0.1:{}", free_port());
    let mut server = start_with(
        &data_dir,
        None,
        &log,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", nobody.as_str()),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    );
    let token = format!("Bearer {}", token(&data_dir, "SE2321000016-ABC1"));
    for _ in 0..20 {
        let (status, _, _) = http_with(
            server.port,
            "GET",
            "/api/v1/plans",
            &[("Authorization", token.as_str())],
            None,
        )
        .unwrap();
        assert_eq!(status, 200);
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    while !std::fs::read_to_string(&log)
        .unwrap()
        .contains("spans not exported")
    {
        assert!(Instant::now() < deadline, "the failed export is not logged");
        std::thread::sleep(Duration::from_millis(100));
    }
    stop(&mut server);
    let _ = std::fs::remove_dir_all(&data_dir);
}
