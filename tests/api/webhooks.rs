//! Webhooks, delivered for real to a receiver on 127.0.0.1 that each test starts: signed, in feed
//! order, to the units that may see the events; retried, paused when they keep failing, resumed
//! without loss; and still delivered after the dispatcher stops and another one takes over.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::http::Method;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use sip::auth::Role;
use sip::domain::webhook::WebhookSettings;
use sip::domain::Principal;

use crate::common::*;
use crate::on_both_databases;

/// One request the receiver got.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// A minimal HTTP endpoint on 127.0.0.1: records each request and answers with the status it is
/// told to.
pub(crate) struct Receiver {
    pub(crate) url: String,
    received: Arc<Mutex<Vec<Received>>>,
    status: Arc<AtomicU16>,
    stop: Arc<AtomicBool>,
}

impl Receiver {
    pub(crate) fn start(status: u16) -> Receiver {
        Self::start_slow(status, Duration::ZERO)
    }

    /// A receiver that takes `delay` to answer each request.
    pub(crate) fn start_slow(status: u16, delay: Duration) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}/hooks/sip", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let status = Arc::new(AtomicU16::new(status));
        let stop = Arc::new(AtomicBool::new(false));
        let (r, s, st) = (received.clone(), status.clone(), stop.clone());
        std::thread::spawn(move || {
            while !st.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        std::thread::sleep(delay);
                        serve(stream, &r, s.load(Ordering::SeqCst))
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Receiver {
            url,
            received,
            status,
            stop,
        }
    }

    fn answer_with(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    pub(crate) fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    async fn wait_for(&self, n: usize) -> Vec<Received> {
        eventually(&format!("{n} requests at the receiver"), || async {
            let got = self.received();
            (got.len() >= n).then_some(got)
        })
        .await
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn serve(mut stream: TcpStream, received: &Mutex<Vec<Received>>, status: u16) {
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut buf).unwrap_or(0);
        if n == 0 {
            return;
        }
        data.extend_from_slice(&buf[..n]);
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).to_string();
    let headers: Vec<(String, String)> = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    while data.len() < head_end + length {
        let n = stream.read(&mut buf).unwrap_or(0);
        if n == 0 {
            break;
        }
        data.extend_from_slice(&buf[..n]);
    }
    received.lock().unwrap().push(Received {
        headers,
        body: data[head_end..].to_vec(),
    });
    let _ = write!(
        stream,
        "HTTP/1.1 {status} Status\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
}

/// Deliveries fast enough for a test: retries after 50 ms, doubling to 200 ms.
pub(crate) fn quick(pause_after_failures: u32) -> WebhookSettings {
    WebhookSettings {
        retry_base: Duration::from_millis(50),
        retry_max: Duration::from_millis(200),
        pause_after_failures,
        timeout: Duration::from_secs(5),
        lease: Duration::from_secs(1),
        idle_poll: Duration::from_millis(50),
        ..WebhookSettings::default()
    }
}

pub(crate) async fn subscribe(app: &TestApp, who: &Who, url: &str, event_types: Value) -> Value {
    app.post(
        "/api/v1/subscriptions",
        who,
        json!({"url": url, "event_types": event_types, "description": "journal system"}),
    )
    .await
    .expect(201)
    .body
}

pub(crate) fn sub_uri(subscription: &Value, rest: &str) -> String {
    format!(
        "/api/v1/subscriptions/{}{rest}",
        subscription["id"].as_str().unwrap()
    )
}

/// Verifies `X-SIP-Signature` the way a receiver would, with an HMAC of its own.
fn assert_signed(delivery: &Received, secret: &str) {
    let header = delivery.header("X-SIP-Signature");
    let (t, v1) = header
        .split_once(',')
        .and_then(|(t, v)| Some((t.strip_prefix("t=")?, v.strip_prefix("v1=")?)))
        .unwrap_or_else(|| panic!("a signature header: {header:?}"));
    let t: i64 = t.parse().unwrap();
    assert!(
        (chrono::Utc::now().timestamp() - t).abs() < 300,
        "the signed time is now"
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(&delivery.body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(v1, expected, "the signature verifies");
    // Another secret does not verify it.
    let mut other = Hmac::<Sha256>::new_from_slice(b"not-the-secret").unwrap();
    other.update(format!("{t}.").as_bytes());
    other.update(&delivery.body);
    assert_ne!(
        v1,
        other
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
}

async fn subscriptions_are_a_units_own_and_their_endpoints_are_checked(app: TestApp) {
    // The endpoint and the event types are checked, each error named by its field.
    let bad = app
        .post(
            "/api/v1/subscriptions",
            &region_writer(),
            json!({"url": "http://journal.region.example/hooks", "event_types": ["plan.closed", "plan.exploded", "nothing.*"]}),
        )
        .await
        .expect(422);
    assert_eq!(
        bad.error_fields(),
        vec!["$.url", "$.event_types[1]", "$.event_types[2]"]
    );
    assert!(bad.body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("https"));
    for body in [
        json!({"url": "https://user:secret@journal.region.example/"}),
        json!({"url": "not a url"}),
        json!({"url": "https://journal.region.example/", "start_after": 999999}),
        json!({"url": "https://journal.region.example/", "start_after": -1}),
    ] {
        app.post("/api/v1/subscriptions", &region_writer(), body)
            .await
            .expect(422);
    }
    app.post(
        "/api/v1/subscriptions",
        &region_writer(),
        json!({"url": "https://journal.region.example/", "secret": "mine"}),
    )
    .await
    .expect(400);
    app.post(
        "/api/v1/subscriptions",
        &reader(),
        json!({"url": "https://journal.region.example/"}),
    )
    .await
    .expect(403);

    // Created: the secret is shown once.
    let created = app
        .post(
            "/api/v1/subscriptions",
            &region_writer(),
            json!({"url": "https://journal.region.example/sip", "event_types": ["plan.*"]}),
        )
        .await
        .expect(201);
    let subscription = created.body.clone();
    let secret = subscription["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(
        created.header("location").unwrap(),
        sub_uri(&subscription, "")
    );
    assert_eq!(subscription["status"], "active");
    assert_eq!(subscription["unit"], REGION_UNIT);
    let read = app
        .get(&sub_uri(&subscription, ""), &reader())
        .await
        .expect(200);
    assert!(
        read.body.get("secret").is_none(),
        "the secret is never shown again"
    );
    let list = app
        .get("/api/v1/subscriptions", &reader())
        .await
        .expect(200);
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    assert!(!list.body.to_string().contains(&secret));

    // Another unit does not see it at all.
    app.get(&sub_uri(&subscription, ""), &municipality_writer())
        .await
        .expect(404);
    let theirs = app
        .get("/api/v1/subscriptions", &municipality_writer())
        .await
        .expect(200);
    assert_eq!(theirs.body["items"], json!([]));
    app.post(
        &sub_uri(&subscription, "/pause"),
        &municipality_writer(),
        json!({}),
    )
    .await
    .expect(404);

    // Replaced with If-Match; paused and resumed; a new secret; deleted.
    let settings = json!({"url": "https://journal2.region.example/sip", "event_types": []});
    app.put(
        &sub_uri(&subscription, ""),
        &region_writer(),
        settings.clone(),
        None,
    )
    .await
    .expect(428);
    let updated = app
        .put(
            &sub_uri(&subscription, ""),
            &region_writer(),
            settings.clone(),
            Some(&read.etag()),
        )
        .await
        .expect(200);
    assert_eq!(updated.body["url"], "https://journal2.region.example/sip");
    assert_eq!(updated.body["event_types"], json!([]));
    app.put(
        &sub_uri(&subscription, ""),
        &region_writer(),
        settings,
        Some(&read.etag()),
    )
    .await
    .expect(412);
    let paused = app
        .post(
            &sub_uri(&subscription, "/pause"),
            &region_writer(),
            json!({}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(paused["status"], "paused");
    assert!(paused["paused_reason"]
        .as_str()
        .unwrap()
        .contains("paused by"));
    let resumed = app
        .post(
            &sub_uri(&subscription, "/resume"),
            &region_writer(),
            json!({}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(resumed["status"], "active");
    assert!(resumed.get("paused_reason").is_none());
    let rotated = app
        .post(
            &sub_uri(&subscription, "/rotate-secret"),
            &region_writer(),
            json!({}),
        )
        .await
        .expect(200)
        .body;
    assert_ne!(rotated["secret"].as_str().unwrap(), secret);
    app.send(
        Method::DELETE,
        &sub_uri(&subscription, ""),
        Some(&region_writer()),
        None,
        &[],
    )
    .await
    .expect(204);
    app.get(&sub_uri(&subscription, ""), &reader())
        .await
        .expect(404);
}

async fn events_are_delivered_signed_in_feed_order(app: TestApp) {
    let receiver = Receiver::start(200);
    let subscription = subscribe(&app, &region_writer(), &receiver.url, json!(["plan.*"])).await;
    let secret = subscription["secret"].as_str().unwrap();
    let _dispatcher = app.start_webhooks(quick(5));
    let plan = consented_plan(&app).await;
    app.put(
        &plan_uri(&plan, ""),
        &region_writer(),
        json!({"individual_id": plan["individual_id"], "need_reason": "changed needs"}),
        Some("*"),
    )
    .await
    .expect(200);

    // plan.created, plan.consent_recorded, plan.updated: not the consent's own event.
    let got = receiver.wait_for(3).await;
    let bodies: Vec<Value> = got.iter().map(Received::json).collect();
    let kinds: Vec<&str> = bodies
        .iter()
        .map(|b| b["event"]["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        vec!["plan.created", "plan.consent_recorded", "plan.updated"]
    );
    let seqs: Vec<i64> = bodies
        .iter()
        .map(|b| b["event"]["seq"].as_i64().unwrap())
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    for (delivery, body) in got.iter().zip(&bodies) {
        assert_signed(delivery, secret);
        assert_eq!(body["subscription_id"], subscription["id"]);
        assert_eq!(delivery.header("X-SIP-Delivery"), body["delivery_id"]);
        assert_eq!(
            delivery.header("X-SIP-Event-Seq"),
            body["event"]["seq"].to_string()
        );
        assert_eq!(
            delivery.header("X-SIP-Event-Type"),
            body["event"]["event_type"]
        );
        assert_eq!(delivery.header("Content-Type"), "application/json");
        assert_eq!(body["event"]["plan_id"], plan["id"]);
        assert!(!String::from_utf8_lossy(&delivery.body).contains("Lisa"));
    }
    // The same events as the feed shows.
    let (feed, _) = crate::feed::read_feed(&app, &reader(), 0, 100).await;
    let plan_events: Vec<i64> = feed
        .iter()
        .filter(|e| e["event_type"].as_str().unwrap().starts_with("plan."))
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(plan_events, seqs);

    // The delivery log: each delivered at the first attempt.
    let log = eventually("the log to show three deliveries", || async {
        let log = app
            .get(&sub_uri(&subscription, "/deliveries"), &reader())
            .await
            .expect(200)
            .body;
        let done = log["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["status"] == "delivered")
            .count();
        (done == 3).then_some(log)
    })
    .await;
    let newest = &log["items"][0];
    assert_eq!(newest["event_type"], "plan.updated");
    assert_eq!(newest["attempts"], 1);
    assert_eq!(newest["attempt_log"][0]["succeeded"], true);
    assert_eq!(newest["attempt_log"][0]["status_code"], 200);
    let state = app
        .get(&sub_uri(&subscription, ""), &reader())
        .await
        .expect(200)
        .body;
    assert_eq!(state["pending_deliveries"], 0);
    assert!(state["last_success_at"].is_string());
    let page = app
        .get(&sub_uri(&subscription, "/deliveries?limit=2"), &reader())
        .await
        .expect(200)
        .body;
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest = app
        .get(
            &sub_uri(
                &subscription,
                &format!("/deliveries?limit=2&cursor={cursor}"),
            ),
            &reader(),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(rest["items"][0]["event_type"], "plan.created");
}

async fn a_failing_endpoint_is_retried_then_paused_and_resumed_without_loss(app: TestApp) {
    let receiver = Receiver::start(500);
    let subscription = subscribe(
        &app,
        &region_writer(),
        &receiver.url,
        json!(["plan.created"]),
    )
    .await;
    let dispatcher = app.start_webhooks(quick(3));
    let plan = app.lisas_plan().await;

    // Three failures in a row pause the subscription, visibly.
    let paused = eventually("the subscription to pause", || async {
        let s = app
            .get(&sub_uri(&subscription, ""), &reader())
            .await
            .expect(200)
            .body;
        (s["status"] == "paused").then_some(s)
    })
    .await;
    let reason = paused["paused_reason"].as_str().unwrap();
    assert!(reason.contains("3 deliveries in a row failed"), "{reason}");
    assert!(reason.contains("HTTP 500"), "{reason}");
    assert_eq!(paused["consecutive_failures"], 3);
    assert_eq!(paused["pending_deliveries"], 1);
    let attempts = receiver.received();
    assert_eq!(attempts.len(), 3, "retried, then paused");
    let delivery_id = attempts[0].header("X-SIP-Delivery").to_string();
    assert!(attempts
        .iter()
        .all(|a| a.header("X-SIP-Delivery") == delivery_id));
    assert!(
        attempts.iter().all(|a| a.body == attempts[0].body),
        "the same body each time"
    );
    let log = app
        .get(
            &sub_uri(&subscription, "/deliveries?status=pending"),
            &reader(),
        )
        .await
        .expect(200)
        .body;
    let pending = &log["items"][0];
    assert_eq!(pending["attempts"], 3);
    assert_eq!(pending["last_status_code"], 500);
    let outcomes: Vec<&Value> = pending["attempt_log"].as_array().unwrap().iter().collect();
    assert_eq!(outcomes.len(), 3);
    assert!(outcomes
        .iter()
        .all(|a| a["succeeded"] == false && a["status_code"] == 500));

    // While paused, a new plan waits too; the receiver hears nothing.
    let second = app.plan_for(plan["individual_id"].as_str().unwrap()).await;
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 3);

    // The endpoint works again and the unit resumes: nothing was lost, and the order holds.
    receiver.answer_with(204);
    app.post(
        &sub_uri(&subscription, "/resume"),
        &region_writer(),
        json!({}),
    )
    .await
    .expect(200);
    let got = receiver.wait_for(5).await;
    let delivered: Vec<Value> = got[3..].iter().map(Received::json).collect();
    assert_eq!(delivered[0]["event"]["resource_id"], plan["id"]);
    assert_eq!(delivered[1]["event"]["resource_id"], second["id"]);
    let state = eventually("the subscription to recover", || async {
        let s = app
            .get(&sub_uri(&subscription, ""), &reader())
            .await
            .expect(200)
            .body;
        (s["pending_deliveries"] == 0).then_some(s)
    })
    .await;
    assert_eq!(state["status"], "active");
    assert_eq!(state["consecutive_failures"], 0);
    drop(dispatcher);
}

async fn deliveries_survive_a_restart_and_another_dispatcher_takes_over(app: TestApp) {
    let receiver = Receiver::start(503);
    let subscription = subscribe(
        &app,
        &region_writer(),
        &receiver.url,
        json!(["plan.created"]),
    )
    .await;
    let first = app.start_webhooks(quick(1000));
    let plan = app.lisas_plan().await;
    receiver.wait_for(1).await;

    // The service stops while the delivery is still failing; meanwhile another plan is opened.
    drop(first);
    let second = app.plan_for(plan["individual_id"].as_str().unwrap()).await;
    // As if the stopped dispatcher had crashed holding the subscription: its lease runs out first.
    app.run_sql("UPDATE subscriptions SET lease_owner = 'dispatcher:crashed', lease_until = '2000-01-01 00:00:00'")
        .await;

    // It starts again (a new dispatcher, nothing in memory): both plans arrive, in order.
    receiver.answer_with(200);
    let _restarted = app.start_webhooks(quick(1000));
    let got = eventually("both deliveries after the restart", || async {
        let ok: Vec<Value> = receiver.received()[1..]
            .iter()
            .map(Received::json)
            .collect();
        let ids: Vec<Value> = ok
            .iter()
            .map(|b| b["event"]["resource_id"].clone())
            .collect();
        (ids.contains(&plan["id"]) && ids.contains(&second["id"])).then_some(ids)
    })
    .await;
    let first_ok = got.iter().position(|id| *id == plan["id"]).unwrap();
    let second_ok = got.iter().position(|id| *id == second["id"]).unwrap();
    assert!(first_ok < second_ok, "feed order holds across the restart");
    let state = eventually("the queue to empty", || async {
        let s = app
            .get(&sub_uri(&subscription, ""), &reader())
            .await
            .expect(200)
            .body;
        (s["pending_deliveries"] == 0).then_some(s)
    })
    .await;
    assert_eq!(state["status"], "active");
}

async fn a_subscription_gets_only_what_its_unit_may_see(app: TestApp) {
    let receiver = Receiver::start(200);
    let subscription = subscribe(&app, &municipality_writer(), &receiver.url, json!([])).await;
    let outsider = Who {
        unit: "SE2321000016-XYZ9",
        principal: Principal::Region,
        roles: vec![Role::Read, Role::Write],
    };
    let outsiders = subscribe(&app, &outsider, &receiver.url, json!([])).await;
    // Lisa's plan, before any consent covers the municipality: nothing for it.
    let plan = app.lisas_plan().await;
    let _dispatcher = app.start_webhooks(quick(5));
    let (_, head) = crate::feed::read_feed(&app, &reader(), 0, 100).await;
    eventually("the dispatcher to pass the plan's first events", || async {
        let s = app
            .get(&sub_uri(&subscription, ""), &municipality_writer())
            .await
            .expect(200)
            .body;
        (s["queued_up_to"].as_i64().unwrap() >= head).then_some(())
    })
    .await;
    assert!(receiver.received().is_empty());

    // The consent covers the municipality: from now on it hears of the plan; the outsider never.
    record_lisas_consent(&app, &plan).await;
    let got = receiver.wait_for(2).await;
    let kinds: Vec<Value> = got
        .iter()
        .map(|d| d.json()["event"]["event_type"].clone())
        .collect();
    assert_eq!(
        kinds,
        vec![json!("consent.recorded"), json!("plan.consent_recorded")]
    );
    assert!(got
        .iter()
        .all(|d| d.json()["subscription_id"] == subscription["id"]));
    let (_, head) = crate::feed::read_feed(&app, &reader(), 0, 100).await;
    eventually("the outsider's subscription to pass everything", || async {
        let s = app
            .get(&sub_uri(&outsiders, ""), &outsider)
            .await
            .expect(200)
            .body;
        (s["queued_up_to"].as_i64().unwrap() >= head).then_some(())
    })
    .await;
    assert_eq!(receiver.received().len(), 2);
}

/// Two dispatchers share the database. The first stalls mid-round for longer than its lease; the
/// second takes the subscription over. The first must not go on sending from what it had taken,
/// nor record an attempt under the lease it lost: the receiver gets every event once, in order.
async fn a_dispatcher_that_stalls_mid_round_hands_over_without_duplicates(app: TestApp) {
    use std::sync::atomic::AtomicUsize;
    // A receiver slow enough that the second dispatcher is still sending when the first wakes.
    let receiver = Receiver::start_slow(200, Duration::from_millis(150));
    subscribe(&app, &region_writer(), &receiver.url, json!([])).await;
    let plan = app.lisas_plan().await;
    for i in 0..18 {
        let current = app
            .get(&plan_uri(&plan, ""), &region_writer())
            .await
            .expect(200);
        app.put(
            &plan_uri(&plan, ""),
            &region_writer(),
            json!({
                "individual_id": plan["individual_id"],
                "need_reason": format!("needs from both principals ({i})"),
            }),
            Some(&current.etag()),
        )
        .await
        .expect(200);
    }
    let (events, _) = crate::feed::read_feed(&app, &region_writer(), 0, 100).await;
    assert!(events.len() >= 20, "{}", events.len());

    let settings = WebhookSettings {
        lease: Duration::from_millis(500),
        timeout: Duration::from_secs(1),
        ..quick(5)
    };
    assert_eq!(settings.hold(), Duration::from_secs(2));
    let calls = Arc::new(AtomicUsize::new(0));
    let woke = Arc::new(AtomicBool::new(false));
    let (stalls, wakes) = (calls.clone(), woke.clone());
    let hooks = sip::webhooks::DispatcherHooks {
        before_each_delivery: Some(Arc::new(move || {
            // Before the third delivery of the first round: stall past the lease it holds.
            if stalls.fetch_add(1, Ordering::SeqCst) == 2 {
                std::thread::sleep(Duration::from_millis(2500));
                wakes.store(true, Ordering::SeqCst);
            }
        })),
    };
    let _stalling = app.start_webhooks_with(settings.clone(), hooks);
    receiver.wait_for(2).await;
    let _other = app.start_webhooks(settings);
    receiver.wait_for(events.len()).await;
    // Time for the stalled one to wake and for anything sent twice to arrive.
    eventually("the stalled dispatcher to wake", || async {
        woke.load(Ordering::SeqCst).then_some(())
    })
    .await;
    actix_web::rt::time::sleep(Duration::from_millis(1000)).await;
    let seqs: Vec<i64> = receiver
        .received()
        .iter()
        .map(|d| d.header("X-SIP-Event-Seq").parse().unwrap())
        .collect();
    let expected: Vec<i64> = events.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, expected, "every event once, in feed order");
}

on_both_databases!(
    a_dispatcher_that_stalls_mid_round_hands_over_without_duplicates,
    subscriptions_are_a_units_own_and_their_endpoints_are_checked,
    events_are_delivered_signed_in_feed_order,
    a_failing_endpoint_is_retried_then_paused_and_resumed_without_loss,
    deliveries_survive_a_restart_and_another_dispatcher_takes_over,
    a_subscription_gets_only_what_its_unit_may_see,
);
