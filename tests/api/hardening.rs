//! Hardening: headers on every response, request ids, and no lost update under concurrent writers.

use actix_web::http::Method;
use serde_json::json;

use crate::common::*;
use crate::on_both_databases;

async fn every_response_has_security_headers_and_a_request_id(app: TestApp) {
    for reply in [
        app.send(Method::GET, "/health", None, None, &[]).await,
        app.send(Method::GET, "/api/v1/plans", None, None, &[])
            .await,
        app.get("/api/v1/plans", &reader()).await,
        app.send(Method::GET, "/nowhere", None, None, &[]).await,
    ] {
        assert_eq!(
            reply.header("x-content-type-options").as_deref(),
            Some("nosniff")
        );
        assert_eq!(reply.header("x-frame-options").as_deref(), Some("DENY"));
        assert_eq!(reply.header("cache-control").as_deref(), Some("no-store"));
        let id = reply.header("x-request-id").expect("a request id");
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    }
    let traced = app
        .send(
            Method::GET,
            "/health",
            None,
            None,
            &[("x-request-id", "journal-42.a")],
        )
        .await;
    assert_eq!(
        traced.header("x-request-id").as_deref(),
        Some("journal-42.a")
    );
    let odd = app
        .send(
            Method::GET,
            "/health",
            None,
            None,
            &[("x-request-id", "no spaces; please")],
        )
        .await;
    assert_ne!(
        odd.header("x-request-id").as_deref(),
        Some("no spaces; please")
    );
}

async fn two_updates_with_the_same_version_one_wins(app: TestApp) {
    let plan = app.lisas_plan().await;
    let uri = format!("/api/v1/plans/{}", plan["id"].as_str().unwrap());
    let change =
        |reason: &str| json!({"individual_id": plan["individual_id"], "need_reason": reason});
    let (a, b) = futures_util::future::join(
        app.put(
            &uri,
            &region_writer(),
            change("first writer"),
            Some("\"1\""),
        ),
        app.put(
            &uri,
            &region_writer(),
            change("second writer"),
            Some("\"1\""),
        ),
    )
    .await;
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort_unstable();
    assert_eq!(
        statuses,
        [200, 412],
        "exactly one wins: {} / {}",
        a.body,
        b.body
    );
    let stored = app.get(&uri, &reader()).await.expect(200).body;
    assert_eq!(stored["version"], 2);
    let winner = if a.status.as_u16() == 200 { &a } else { &b };
    assert_eq!(stored["need_reason"], winner.body["need_reason"]);
}

async fn cors_lets_only_the_configured_origins_in(app: TestApp) {
    async fn preflight(app: &TestApp, origin: &str) -> Reply {
        let headers = [
            ("origin", origin),
            ("access-control-request-method", "POST"),
            ("access-control-request-headers", "authorization"),
        ];
        app.send(Method::OPTIONS, "/api/v1/plans", None, None, &headers)
            .await
    }
    let ok = preflight(&app, CORS_ORIGIN).await;
    assert_eq!(ok.status.as_u16(), 204);
    assert_eq!(
        ok.header("access-control-allow-origin").as_deref(),
        Some(CORS_ORIGIN)
    );
    assert!(ok
        .header("access-control-allow-headers")
        .unwrap()
        .contains("If-Match"));
    preflight(&app, "https://evil.example").await.expect(403);

    let reply = app
        .send(
            Method::GET,
            "/api/v1/plans",
            Some(&reader()),
            None,
            &[("origin", CORS_ORIGIN)],
        )
        .await
        .expect(200);
    assert_eq!(
        reply.header("access-control-allow-origin").as_deref(),
        Some(CORS_ORIGIN)
    );
    assert!(reply
        .header("access-control-expose-headers")
        .unwrap()
        .contains("ETag"));
    let other = app
        .send(
            Method::GET,
            "/api/v1/plans",
            Some(&reader()),
            None,
            &[("origin", "https://evil.example")],
        )
        .await
        .expect(200);
    assert!(other.header("access-control-allow-origin").is_none());
}

/// Writes that arrive together (on SQLite they share one commit: `db::group`) each stay one
/// transaction: those refused inside their transaction leave nothing behind, no row and no change
/// event, and every one accepted is stored once, with its own event.
async fn writes_sent_together_each_stand_or_fall_alone(app: TestApp) {
    let lisa = app.individual(LISA_PNR, "Lisa", json!([])).await;
    let plans_before = events_of_kind(&app, "plan.created").await;
    let individuals_before = events_of_kind(&app, "individual.created").await;
    let writer = region_writer();
    let open = json!({"individual_id": lisa["id"], "need_reason": "needs from two principals"});
    let unknown = json!({"individual_id": uuid::Uuid::now_v7(), "need_reason": "x"});
    let erik = json!({"identity_number": ERIK_PNR, "given_name": "Erik", "family_name": "T"});
    let mut requests: Vec<(&str, &serde_json::Value)> = Vec::new();
    for _ in 0..12 {
        requests.extend([
            ("/api/v1/plans", &open),
            ("/api/v1/plans", &unknown),
            ("/api/v1/individuals", &erik),
        ]);
    }
    let sent = requests
        .iter()
        .map(|(uri, body)| app.send(Method::POST, uri, Some(&writer), Some(body), &[]));
    let mut answers = std::collections::BTreeMap::<(&str, u16), usize>::new();
    for ((uri, _), reply) in requests
        .iter()
        .zip(futures_util::future::join_all(sent).await)
    {
        *answers.entry((uri, reply.status.as_u16())).or_default() += 1;
    }
    assert_eq!(
        answers.into_iter().collect::<Vec<_>>(),
        [
            (("/api/v1/individuals", 201), 1),
            (("/api/v1/individuals", 409), 11),
            (("/api/v1/plans", 201), 12),
            (("/api/v1/plans", 422), 12),
        ]
    );
    let lisas = app
        .get(
            &format!(
                "/api/v1/plans?individual_id={}&limit=100",
                lisa["id"].as_str().unwrap()
            ),
            &reader(),
        )
        .await
        .expect(200);
    assert_eq!(lisas.body["items"].as_array().unwrap().len(), 12);
    assert_eq!(
        events_of_kind(&app, "plan.created").await,
        plans_before + 12
    );
    assert_eq!(
        events_of_kind(&app, "individual.created").await,
        individuals_before + 1
    );
    app.post(
        "/api/v1/individuals/search",
        &reader(),
        json!({"identity_number": ERIK_PNR}),
    )
    .await
    .expect(200);
}

/// How many events of `kind` the whole change feed holds.
async fn events_of_kind(app: &TestApp, kind: &str) -> usize {
    let (events, _) = crate::feed::read_feed(app, &reader(), 0, 100).await;
    events.iter().filter(|e| e["event_type"] == kind).count()
}

on_both_databases!(
    cors_lets_only_the_configured_origins_in,
    every_response_has_security_headers_and_a_request_id,
    two_updates_with_the_same_version_one_wins,
    writes_sent_together_each_stand_or_fall_alone,
);

/// When the database cannot be reached the API answers 503 problem+json and `/ready` fails; when it
/// comes back, the service recovers without a restart.
#[actix_web::test]
async fn an_unreachable_database_is_503_and_the_service_recovers() {
    let app = TestApp::postgres().await;
    app.get("/api/v1/plans", &reader()).await.expect(200);
    let database = app.postgres_database().unwrap();

    database.set_reachable(false);
    assert!(!app.db().known_down());
    let reply = app.get("/api/v1/plans", &reader()).await.expect(503);
    assert_eq!(reply.body["type"], "/problems/unavailable");
    assert!(reply.header("retry-after").is_some());
    // Known to be down now: requests, the access log and `/ready` wait only briefly for a
    // connection, and answer 503 at once.
    assert!(app.db().known_down());
    for _ in 0..5 {
        app.get("/api/v1/plans", &reader()).await.expect(503);
    }
    app.send(Method::GET, "/ready", None, None, &[])
        .await
        .expect(503);
    app.send(Method::GET, "/health", None, None, &[])
        .await
        .expect(200);

    database.set_reachable(true);
    eventually("the service to reach the database again", || async {
        (app.get("/api/v1/plans", &reader()).await.status.as_u16() == 200).then_some(())
    })
    .await;
    assert!(!app.db().known_down());
    app.send(Method::GET, "/ready", None, None, &[])
        .await
        .expect(200);
}

/// Sessions terminated every few milliseconds while reads and writes run concurrently: every
/// answer is a success or a 503 with `Retry-After` — a lost connection is never a 500 — and the
/// service serves again afterwards without a restart.
#[actix_web::test]
async fn terminated_connections_under_load_are_503_never_500() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let app = TestApp::postgres().await;
    let plan = app.lisas_plan().await;
    let plan_uri = format!("/api/v1/plans/{}", plan["id"].as_str().unwrap());
    let terminate = app.postgres_database().unwrap().terminator();
    let stop = Arc::new(AtomicBool::new(false));
    let stopping = stop.clone();
    let terminator = std::thread::spawn(move || {
        while !stopping.load(Ordering::SeqCst) {
            terminate();
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    });
    let (mut ok, mut unavailable) = (0, 0);
    for round in 0..40 {
        let search = json!({"identity_number": LISA_PNR});
        let reg = json!({"identity_number": LISA_PNR, "given_name": "L", "family_name": "T"});
        let document = format!("{plan_uri}/document");
        let requests: Vec<(Method, &str, Option<serde_json::Value>)> = vec![
            (Method::GET, plan_uri.as_str(), None),
            (Method::GET, "/api/v1/plans?limit=5", None),
            (Method::POST, "/api/v1/individuals/search", Some(search)),
            (Method::GET, document.as_str(), None),
            (Method::POST, "/api/v1/individuals", Some(reg)),
            (Method::GET, "/api/v1/events?limit=5", None),
        ];
        let writer = region_writer();
        let sent = requests.iter().map(|(method, uri, body)| {
            app.send(method.clone(), uri, Some(&writer), body.as_ref(), &[])
        });
        for reply in futures_util::future::join_all(sent).await {
            match reply.status.as_u16() {
                200..=299 | 409 => ok += 1,
                503 => {
                    assert!(reply.header("retry-after").is_some(), "round {round}");
                    assert_problem(&reply);
                    unavailable += 1;
                }
                other => panic!("round {round}: {other} {:#}", reply.body),
            }
        }
    }
    stop.store(true, Ordering::SeqCst);
    terminator.join().unwrap();
    assert!(ok + unavailable == 240, "{ok} {unavailable}");
    // Served again, without a restart.
    eventually("the service to serve again", || async {
        (app.get(&plan_uri, &reader()).await.status.as_u16() == 200).then_some(())
    })
    .await;
}

/// A write's `BEGIN` is its connection's test: after every session was terminated, writes that
/// come first — before any read has replaced a connection — each begin again on a fresh one.
#[actix_web::test]
async fn after_a_restart_the_first_writes_succeed_without_a_503() {
    let app = TestApp::postgres().await;
    let lisa = app.lisas_plan().await["individual_id"].clone();
    let who = region_writer();
    let warm: Vec<_> = (0..8).map(|_| app.get("/api/v1/plans", &who)).collect();
    futures_util::future::join_all(warm).await;
    let terminate = app.postgres_database().unwrap().terminator();
    terminate();
    for _ in 0..8 {
        app.post(
            "/api/v1/plans",
            &region_writer(),
            json!({"individual_id": lisa, "need_reason": "needs from two principals"}),
        )
        .await
        .expect(201);
    }
}

/// The pool does not test connections on checkout. After every session was terminated (a
/// database restart), the next reads and writes still succeed — none answers 503: a read that meets
/// a dead connection runs again on a fresh one, a write begins again on one when its BEGIN fails.
#[actix_web::test]
async fn after_a_restart_the_next_requests_succeed_without_a_503() {
    let app = TestApp::postgres().await;
    let plan = app.lisas_plan().await;
    let plan_uri = format!("/api/v1/plans/{}", plan["id"].as_str().unwrap());
    // Fill the pool with connections, then kill them all.
    let who = reader();
    let warm: Vec<_> = (0..8).map(|_| app.get(&plan_uri, &who)).collect();
    futures_util::future::join_all(warm).await;
    let terminate = app.postgres_database().unwrap().terminator();
    terminate();
    for i in 0..8 {
        app.get(&plan_uri, &reader()).await.expect(200);
        app.get(&format!("{plan_uri}/document"), &reader())
            .await
            .expect(200);
        let current = app.get(&plan_uri, &reader()).await.expect(200);
        app.put(
            &plan_uri,
            &region_writer(),
            json!({"individual_id": plan["individual_id"], "need_reason": format!("needs, round {i}")}),
            Some(&current.etag()),
        )
        .await
        .expect(200);
    }
}
