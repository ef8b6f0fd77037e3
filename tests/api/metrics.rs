//! `GET /metrics`: Prometheus text, with no identifier or personal data in any label.

use crate::common::*;
use crate::on_both_databases;

/// After a full scenario — a plan through its meeting, the individual's reads, a feed read, a
/// request for an unknown id — every label of every metric is a route template, a method, a
/// status class, a state's name or the version: never an id, a number or a name.
async fn metrics_name_routes_and_never_ids(app: TestApp) {
    let plan = established_plan(&app).await;
    app.get(&plan_uri(&plan, "/document"), &reader())
        .await
        .expect(200);
    app.get(
        &format!("/api/v1/me/plans/{}", id(&plan)),
        &Who::individual(LISA_PNR),
    )
    .await
    .expect(200);
    app.get("/api/v1/events?limit=10", &reader())
        .await
        .expect(200);
    app.get(
        &format!("/api/v1/plans/{}", uuid::Uuid::new_v4()),
        &reader(),
    )
    .await
    .expect(404);
    app.get(
        &format!("/api/v1/no-such/{}", uuid::Uuid::new_v4()),
        &reader(),
    )
    .await
    .expect(404);

    let reply = app
        .send(actix_web::http::Method::GET, "/metrics", None, None, &[])
        .await
        .expect(200);
    assert!(reply
        .header("content-type")
        .unwrap()
        .starts_with("text/plain"));
    let text = String::from_utf8(reply.bytes.to_vec()).unwrap();
    assert!(
        text.contains(r#"sip_http_requests_total{method="GET",route="/api/v1/plans/{plan_id}/document",status="2xx"}"#),
        "{text}"
    );
    assert!(
        text.contains(r#"route="/api/v1/plans/{plan_id}",status="4xx"}"#),
        "{text}"
    );
    assert!(text.contains("sip_http_request_duration_seconds_bucket"));
    assert!(text.contains("sip_access_log_commit_seconds_count"));
    assert!(text.contains("sip_sqlite_write_group_writes_count"));
    assert!(text.contains("sip_build_info{version="));
    let head = text
        .lines()
        .find(|l| l.starts_with(r#"sip_state{name="feed_head_position"}"#))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        head.split_whitespace()
            .last()
            .unwrap()
            .parse::<i64>()
            .unwrap()
            > 0
    );

    let uuid = regex_like_uuid;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((_, labels)) = line.split_once('{') else {
            continue;
        };
        let labels = labels.rsplit_once('}').unwrap().0;
        for pair in labels.split("\",") {
            let value = pair.split_once('=').unwrap().1.trim_matches('"');
            assert!(!uuid(value), "an id in a label: {line}");
            assert!(
                !value.contains("SE2321000016-") && !value.contains("SE2120001314-"),
                "{line}"
            );
            assert!(
                !value.contains("Lisa") && !value.contains("19121212"),
                "{line}"
            );
            assert!(
                value.chars().filter(char::is_ascii_digit).count() < 10,
                "a number in a label: {line}"
            );
        }
    }
}

/// Whether `text` holds a UUID (8-4-4-4-12 hex digits).
fn regex_like_uuid(text: &str) -> bool {
    text.split(|c: char| !(c.is_ascii_hexdigit() || c == '-'))
        .any(|word| uuid::Uuid::parse_str(word).is_ok())
}

/// The access log's sealing lag: the tests' service does not seal by itself, so the records of
/// the reads wait unsealed, counted and aged; sealing them brings both to nothing.
async fn metrics_show_what_the_access_log_has_not_sealed_yet(app: TestApp) {
    let plan = established_plan(&app).await;
    let now = chrono::Utc::now().naive_utc();
    app.db()
        .write_now(|c| sip::db::seals::seal(c, now))
        .expect("sealing");
    for _ in 0..3 {
        app.get(&plan_uri(&plan, ""), &reader()).await.expect(200);
    }
    let state = |text: &str, name: &str| -> i64 {
        let prefix = format!(r#"sip_state{{name="{name}"}} "#);
        text.lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .unwrap_or_else(|| panic!("no {name} in {text}"))
            .parse()
            .unwrap()
    };
    let scrape = || async {
        let reply = app
            .send(actix_web::http::Method::GET, "/metrics", None, None, &[])
            .await
            .expect(200);
        String::from_utf8(reply.bytes.to_vec()).unwrap()
    };
    let text = scrape().await;
    // The three reads, and any record written since the run above (none but theirs here).
    assert_eq!(state(&text, "access_log_unsealed_records"), 3, "{text}");
    app.pass_days(1);
    let text = scrape().await;
    assert!(
        state(&text, "access_log_oldest_unsealed_seconds") >= 86_400,
        "{text}"
    );
    let now = chrono::Utc::now().naive_utc();
    app.db()
        .write_now(|c| sip::db::seals::seal(c, now))
        .expect("sealing");
    let text = scrape().await;
    assert_eq!(state(&text, "access_log_unsealed_records"), 0, "{text}");
    assert_eq!(
        state(&text, "access_log_oldest_unsealed_seconds"),
        0,
        "{text}"
    );
}

on_both_databases!(
    metrics_show_what_the_access_log_has_not_sealed_yet,
    metrics_name_routes_and_never_ids
);

/// W3C Trace Context: a caller's `traceparent` is continued (its trace, a span of the service's
/// own), and a request without one starts a trace; either way the response names it.
#[actix_web::test]
async fn a_traceparent_is_continued_and_returned() {
    let app = TestApp::sqlite().await;
    let incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let reply = app
        .send(
            actix_web::http::Method::GET,
            "/api/v1/plans",
            Some(&reader()),
            None,
            &[("traceparent", incoming)],
        )
        .await
        .expect(200);
    let returned = reply.header("traceparent").unwrap();
    assert!(
        returned.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
        "{returned}"
    );
    assert!(returned.ends_with("-01"));
    assert!(!returned.contains("00f067aa0ba902b7"));
    let fresh = app
        .send(actix_web::http::Method::GET, "/health", None, None, &[])
        .await
        .expect(200);
    assert_eq!(fresh.header("traceparent").unwrap().len(), 55);
}
