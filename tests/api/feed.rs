//! The change feed: every change once, in the order the changes became visible, to the units that
//! may see it — also while many writers commit at once, and on PostgreSQL when transactions commit in
//! the opposite order of the one they started in, or while the feed's positions are being given.

use std::collections::HashSet;

use serde_json::{json, Value};
use sip::auth::Role;
use sip::domain::Principal;

use crate::common::*;
use crate::on_both_databases;

fn outsider() -> Who {
    Who {
        unit: "SE2321000016-XYZ9",
        principal: Principal::Region,
        roles: vec![Role::Read, Role::Write],
    }
}

/// Reads the feed from `after` until caught up, `limit` at a time, checking each page's promises.
pub(crate) async fn read_feed(
    app: &TestApp,
    who: &Who,
    after: i64,
    limit: u32,
) -> (Vec<Value>, i64) {
    let mut events = Vec::new();
    let mut after = after;
    loop {
        let page = app
            .get(&format!("/api/v1/events?after={after}&limit={limit}"), who)
            .await
            .expect(200)
            .body;
        let items = page["items"].as_array().unwrap().clone();
        let next = page["next_after"].as_i64().unwrap();
        assert!(items.len() <= limit as usize);
        assert!(next >= after, "the feed never moves back");
        if let Some(last) = items.last() {
            assert!(next >= last["seq"].as_i64().unwrap());
        }
        let done = items.is_empty() && next >= page["head"].as_i64().unwrap();
        events.extend(items);
        after = next;
        if done {
            return (events, after);
        }
    }
}

fn seqs(events: &[Value]) -> Vec<i64> {
    events.iter().map(|e| e["seq"].as_i64().unwrap()).collect()
}

fn types(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect()
}

fn assert_strictly_increasing(seqs: &[i64]) {
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "seq must be strictly increasing: {seqs:?}"
    );
}

async fn every_change_is_one_event_in_order_with_ids_and_no_personal_data(app: TestApp) {
    let plan = established_plan(&app).await;
    let (events, next) = read_feed(&app, &reader(), 0, 1000).await;
    let kinds = types(&events);
    assert_eq!(kinds[0], "individual.created");
    assert_eq!(kinds[1], "plan.created");
    for expected in [
        "consent.recorded",
        "plan.consent_recorded",
        "intervention.created",
        "summons.sent",
        "plan.summoned",
        "meeting.recorded",
        "summons.attendance_recorded",
        "follow_up.scheduled",
        "plan.established",
    ] {
        assert!(kinds.contains(&expected), "{expected} in {kinds:?}");
    }
    assert_strictly_increasing(&seqs(&events));
    assert_eq!(next, *seqs(&events).last().unwrap());

    // Ids, versions and codes: the plan's last event carries its current version and status.
    let current = status_of(&app, &plan).await;
    let established = events
        .iter()
        .rfind(|e| e["event_type"] == "plan.established")
        .unwrap();
    assert_eq!(established["resource_id"], plan["id"]);
    assert_eq!(established["plan_id"], plan["id"]);
    assert_eq!(established["version"], current["version"]);
    assert_eq!(established["from_status"], "summoned");
    assert_eq!(established["to_status"], "established");
    assert_eq!(established["unit"], REGION_UNIT);
    let text = serde_json::to_string(&events).unwrap();
    for personal in [
        LISA_PNR,
        "191212121212",
        "Lisa",
        "Testsson",
        "Anna Lind",
        "tester",
    ] {
        assert!(
            !text.contains(personal),
            "the feed must not carry {personal:?}"
        );
    }

    // The plan's history shows the same positions.
    let history = app
        .get(&plan_uri(&plan, "/history?limit=200"), &reader())
        .await
        .expect(200)
        .body;
    let of_plan: Vec<i64> = events
        .iter()
        .filter(|e| e["plan_id"] == plan["id"])
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs(history["items"].as_array().unwrap()), of_plan);

    // Caught up: nothing after the last position; small pages give the same events.
    let page = app
        .get(&format!("/api/v1/events?after={next}"), &reader())
        .await
        .expect(200)
        .body;
    assert_eq!(page["items"], json!([]));
    assert_eq!(page["next_after"], json!(next));
    assert_eq!(page["head"], json!(next));
    let (paged, _) = read_feed(&app, &reader(), 0, 3).await;
    assert_eq!(seqs(&paged), seqs(&events));

    // A position beyond the head is never "caught up": 422 naming the real head, also while
    // waiting (long polling would otherwise wait for events the reader then skips).
    for query in [
        format!("after={}", next + 1),
        "after=999999999999&wait=2".into(),
    ] {
        let ahead = app
            .get(&format!("/api/v1/events?{query}"), &reader())
            .await
            .expect(422);
        assert_eq!(ahead.error_fields(), ["query.after"]);
        assert_eq!(ahead.body["resume_after"], json!(next));
        assert!(ahead.body["detail"]
            .as_str()
            .unwrap()
            .contains(&next.to_string()));
    }

    // Bad positions, limits and waits are named.
    for (query, field) in [
        ("after=-1", "query.after"),
        ("limit=0", "query.limit"),
        ("limit=1001", "query.limit"),
        ("wait=31", "query.wait"),
    ] {
        let reply = app
            .get(&format!("/api/v1/events?{query}"), &reader())
            .await
            .expect(422);
        assert_eq!(reply.error_fields(), vec![field.to_string()]);
    }
    app.get("/api/v1/events?after=soon", &reader())
        .await
        .expect(400);
    app.get("/api/v1/events?since=1", &reader())
        .await
        .expect(400);
    let no_roles = Who {
        roles: vec![Role::Report],
        ..reader()
    };
    app.get("/api/v1/events", &no_roles).await.expect(403);
}

async fn a_unit_sees_the_events_the_access_rules_let_it_see(app: TestApp) {
    // Before any consent the municipality unit sees nothing of Lisa or her plan.
    let plan = app.lisas_plan().await;
    let (events, _) = read_feed(&app, &municipality_writer(), 0, 100).await;
    assert!(events.is_empty(), "{events:?}");

    // The consent covers it: it now sees the plan's events, from before the consent too, and Lisa.
    record_lisas_consent(&app, &plan).await;
    let (events, after_consent) = read_feed(&app, &municipality_writer(), 0, 100).await;
    let kinds = types(&events);
    assert!(kinds.contains(&"individual.created"), "{kinds:?}");
    assert!(kinds.contains(&"plan.created"), "{kinds:?}");
    assert!(kinds.contains(&"plan.consent_recorded"), "{kinds:?}");

    // A deviation is seen by its parties only, though the plan is visible to others.
    let deviation = app
        .post(
            "/api/v1/deviations",
            &region_writer(),
            json!({
                "category": "other",
                "concerned_unit": "SE2321000016-XYZ9",
                "concerned_principal": "region",
                "occurred_at": chrono::Utc::now().to_rfc3339(),
                "description": "a deviation between two region units",
                "plan_id": plan["id"],
            }),
        )
        .await
        .expect(201)
        .body;
    let (mine, _) = read_feed(&app, &region_writer(), after_consent, 100).await;
    assert_eq!(types(&mine), vec!["deviation.reported"]);
    assert_eq!(mine[0]["resource_id"], deviation["id"]);
    let (theirs, _) = read_feed(&app, &outsider(), 0, 100).await;
    assert_eq!(types(&theirs), vec!["deviation.reported"]);
    let (covered, after_deviation) =
        read_feed(&app, &municipality_writer(), after_consent, 100).await;
    assert!(covered.is_empty(), "{covered:?}");

    // Withdrawal ends the municipality's access in the same step, yet it learns of the closing.
    let consent = app
        .get(&plan_uri(&plan, "/consents"), &reader())
        .await
        .expect(200)
        .body["items"][0]
        .clone();
    app.post(
        &plan_uri(
            &plan,
            &format!("/consents/{}/withdraw", consent["id"].as_str().unwrap()),
        ),
        &region_writer(),
        json!({"reason": "Lisa no longer wants a plan"}),
    )
    .await
    .expect(200);
    let (told, _) = read_feed(&app, &municipality_writer(), after_deviation, 100).await;
    assert_eq!(types(&told), vec!["plan.closed"], "{told:?}");
    assert_eq!(told[0]["reason"], "consent_withdrawn");
    let (all, _) = read_feed(&app, &region_writer(), after_deviation, 100).await;
    assert_eq!(
        types(&all),
        vec!["consent.withdrawn", "plan.closed"],
        "the initiating unit keeps access"
    );
}

async fn a_protected_identity_never_shows_in_the_feed_of_a_unit_without_their_plan(app: TestApp) {
    let protected = app
        .post(
            "/api/v1/individuals",
            &region_writer(),
            json!({
                "identity_number": ERIK_PNR,
                "given_name": "Erik",
                "family_name": "Testsson",
                "protected_identity": true
            }),
        )
        .await
        .expect(201)
        .body;
    let (events, _) = read_feed(&app, &outsider(), 0, 100).await;
    assert!(events.is_empty());
    // The registering unit sees her from the start; another unit once it sees a plan of hers.
    let (before, _) = read_feed(&app, &region_writer(), 0, 100).await;
    assert_eq!(types(&before), vec!["individual.created"]);
    let plan = app.plan_for(protected["id"].as_str().unwrap()).await;
    let (after, _) = read_feed(&app, &region_writer(), 0, 100).await;
    assert_eq!(types(&after), vec!["individual.created", "plan.created"]);
    let (still_nothing, _) = read_feed(&app, &municipality_writer(), 0, 100).await;
    assert!(still_nothing.is_empty(), "{still_nothing:?}");
    app.post(
        &format!("/api/v1/plans/{}/consents", plan["id"].as_str().unwrap()),
        &region_writer(),
        lisas_consent(),
    )
    .await
    .expect(201);
    let (covered, _) = read_feed(&app, &municipality_writer(), 0, 100).await;
    assert!(
        types(&covered).contains(&"individual.created"),
        "{covered:?}"
    );
}

async fn a_reader_behind_the_retention_window_is_told_to_resynchronise(app: TestApp) {
    let plan = consented_plan(&app).await;
    // The feed keeps 30 days of events (the default): 31 days later, the plan's are gone.
    app.pass_days(31);
    let reply = app
        .get("/api/v1/events?after=0", &reader())
        .await
        .expect(410);
    let resume = reply.body["resume_after"].as_i64().unwrap();
    assert!(reply.body["detail"]
        .as_str()
        .unwrap()
        .contains("re-read your plans"));
    let head = app.get("/api/v1/events?limit=1", &reader()).await;
    assert_eq!(head.status.as_u16(), 410);

    // From where it is told to resume, it gets what happens next.
    let etag = format!("\"{}\"", status_of(&app, &plan).await["version"]);
    app.put(
        &plan_uri(&plan, ""),
        &region_writer(),
        json!({
            "individual_id": plan["individual_id"],
            "need_reason": "needs from psychiatry, social services and the employment service",
        }),
        Some(&etag),
    )
    .await
    .expect(200);
    let (events, _) = read_feed(&app, &reader(), resume, 100).await;
    assert_eq!(types(&events), vec!["plan.updated"]);
}

async fn long_polling_answers_as_soon_as_an_event_arrives(app: TestApp) {
    let plan = app.lisas_plan().await;
    let (_, head) = read_feed(&app, &reader(), 0, 100).await;

    // Nothing new: a short wait answers empty, caught up.
    let idle = app
        .get(&format!("/api/v1/events?after={head}&wait=1"), &reader())
        .await
        .expect(200)
        .body;
    assert_eq!(idle["items"], json!([]));

    // A change during a long wait is answered at once, not at the end of the 25 seconds: the
    // request could only return it early.
    let started = std::time::Instant::now();
    let uri = format!("/api/v1/events?after={head}&wait=25");
    let who = reader();
    let waiting = app.get(&uri, &who);
    let change = async {
        actix_web::rt::time::sleep(std::time::Duration::from_millis(300)).await;
        record_lisas_consent(&app, &plan).await;
    };
    let (page, ()) = futures_util::future::join(waiting, change).await;
    let page = page.expect(200).body;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "the long poll should answer when the event arrives, not at its deadline"
    );
    let kinds = types(page["items"].as_array().unwrap());
    assert_eq!(kinds, vec!["consent.recorded", "plan.consent_recorded"]);
}

/// `writers` writers at once, each creating a plan for the individual and recording a consent.
async fn writers_of_plans_with_consents(app: &TestApp, individual_id: &str, writers: usize) {
    futures_util::future::join_all((0..writers).map(|_| async move {
        let plan = app.plan_for(individual_id).await;
        record_lisas_consent(app, &plan).await;
    }))
    .await;
}

/// A reader following the feed in pages of 7 for `pages` pages, while other work runs.
async fn follow_the_feed(app: &TestApp, pages: usize) -> (Vec<Value>, i64) {
    let mut seen = Vec::new();
    let mut after = 0;
    for _ in 0..pages {
        let page = app
            .get(&format!("/api/v1/events?after={after}&limit=7"), &reader())
            .await
            .expect(200)
            .body;
        seen.extend(page["items"].as_array().unwrap().iter().cloned());
        after = page["next_after"].as_i64().unwrap();
        actix_web::rt::task::yield_now().await;
    }
    (seen, after)
}

/// What the reader saw, with the rest of the feed read after it, is every event of the feed
/// exactly once, in order. Returns the whole feed.
async fn assert_seen_once_in_order(app: &TestApp, followed: (Vec<Value>, i64)) -> Vec<Value> {
    let (mut seen, after) = followed;
    let (rest, _) = read_feed(app, &reader(), after, 50).await;
    seen.extend(rest);
    let seen_seqs = seqs(&seen);
    assert_strictly_increasing(&seen_seqs);
    let (all, _) = read_feed(app, &reader(), 0, 1000).await;
    assert_eq!(seen_seqs, seqs(&all), "every event reached the reader once");
    let distinct: HashSet<i64> = seen_seqs.iter().copied().collect();
    assert_eq!(distinct.len(), seen_seqs.len());
    all
}

/// Many writers commit at once while a reader follows the feed: it sees every event exactly once.
async fn a_reader_following_the_feed_misses_nothing_while_many_writers_commit(app: TestApp) {
    let lisa = app.individual(LISA_PNR, "Lisa", json!([])).await;
    let lisa_id = lisa["id"].as_str().unwrap();
    let (_, followed) = futures_util::future::join(
        writers_of_plans_with_consents(&app, lisa_id, 24),
        follow_the_feed(&app, 400),
    )
    .await;
    let all = assert_seen_once_in_order(&app, followed).await;
    // Every event recorded: Lisa, and 24 plans × created, consent, plan consented.
    assert_eq!(all.len(), 1 + 24 * 3);
}

/// An import stores a batch's events with their feed positions in its own transaction (on
/// PostgreSQL under the feed's lock, `db::events::record_all_positioned`) while other writers
/// commit theirs unpositioned: a reader following the feed meanwhile still sees every event once,
/// in order.
async fn a_reader_following_the_feed_misses_nothing_while_an_import_and_writers_commit(
    app: TestApp,
) {
    use crate::imports::{eriks_record, import, Clock};
    let lisa = app.individual(LISA_PNR, "Lisa", json!([])).await;
    let lisa_id = lisa["id"].as_str().unwrap();
    let clock = Clock::began_days_ago(300);
    let records: Vec<Value> = [ERIK_PNR, ALEX_PNR, NOAH_PNR]
        .iter()
        .zip(1..)
        .map(|(pnr, n)| eriks_record(&format!("sip-{n}"), pnr, &clock))
        .collect();
    let (_, imported, followed) = futures_util::future::join3(
        writers_of_plans_with_consents(&app, lisa_id, 12),
        import(&app, &records),
        follow_the_feed(&app, 300),
    )
    .await;
    assert_eq!(imported["counts"]["created"], 3, "{imported}");
    let all = assert_seen_once_in_order(&app, followed).await;
    let imported_steps = types(&all)
        .iter()
        .filter(|t| t.starts_with("intervention."))
        .count();
    assert!(
        imported_steps > 0,
        "the imported plans' steps are in the feed"
    );
    let stored = app
        .count("SELECT count(*) AS n FROM change_events".into())
        .await;
    assert_eq!(all.len() as i64, stored);
}

/// On PostgreSQL an import's events are committed with their positions, not positioned afterwards
/// by an `UPDATE` that would leave a second version of each row: none is left unpositioned, and
/// one batch's positions follow each other in the order of its events.
#[actix_web::test]
async fn postgres_an_imports_events_are_committed_positioned() {
    use crate::imports::{eriks_record, import, Clock};
    let app = TestApp::postgres().await;
    let clock = Clock::began_days_ago(300);
    let records = [
        eriks_record("sip-1", ERIK_PNR, &clock),
        eriks_record("sip-2", ALEX_PNR, &clock),
    ];
    let imported = import(&app, &records).await;
    assert_eq!(imported["counts"]["created"], 2, "{imported}");
    let count = |sql: &str| app.count(sql.into());
    assert_eq!(
        count("SELECT count(*) AS n FROM change_events WHERE position IS NULL").await,
        0
    );
    assert!(count("SELECT count(*) AS n FROM change_events").await > 40);
    assert_eq!(
        count(
            "SELECT count(*) AS n FROM (SELECT position - lag(position) OVER (ORDER BY seq) AS step \
             FROM change_events) s WHERE step <> 1"
        )
        .await,
        0,
        "consecutive positions in the order of the events"
    );
}

on_both_databases!(
    every_change_is_one_event_in_order_with_ids_and_no_personal_data,
    a_unit_sees_the_events_the_access_rules_let_it_see,
    a_protected_identity_never_shows_in_the_feed_of_a_unit_without_their_plan,
    a_reader_behind_the_retention_window_is_told_to_resynchronise,
    long_polling_answers_as_soon_as_an_event_arrives,
    a_reader_following_the_feed_misses_nothing_while_many_writers_commit,
    a_reader_following_the_feed_misses_nothing_while_an_import_and_writers_commit,
);

/// A PostgreSQL app with Lisa's plan, the feed's head after it, and a connection of the test's own
/// to the app's database (a writer or lock holder beside the service).
async fn postgres_with_plan_and_own_connection() -> (TestApp, Value, i64, diesel::PgConnection) {
    use diesel::Connection;
    let app = TestApp::postgres().await;
    let plan = app.lisas_plan().await;
    let (_, start) = read_feed(&app, &reader(), 0, 100).await;
    let url = app.postgres_database().unwrap().url.clone();
    let own = diesel::PgConnection::establish(&url).unwrap();
    (app, plan, start, own)
}

/// On PostgreSQL a transaction that started first can commit last. The feed must then put its
/// event after the ones already read, not before them where the reader has already passed.
#[actix_web::test]
async fn postgres_a_transaction_that_commits_late_is_not_missed() {
    use diesel::connection::SimpleConnection;
    let (app, plan, start, mut slow) = postgres_with_plan_and_own_connection().await;

    // A writer starts, records its change, and is slow to commit.
    let plan_id = plan["id"].as_str().unwrap();
    let insert = format!(
        "BEGIN; INSERT INTO change_events (event_type, resource_type, resource_id, plan_id, version, \
         subject, unit, occurred_at, recorded_at) VALUES ('plan.updated', 'plan', '{plan_id}', \
         '{plan_id}', 99, 'slow-writer', '{REGION_UNIT}', now() AT TIME ZONE 'utc', now() AT TIME ZONE 'utc');"
    );
    slow.batch_execute(&insert).unwrap();

    // Meanwhile another writer commits, and the reader moves past its event.
    record_lisas_consent(&app, &plan).await;
    let (fast, after_fast) = read_feed(&app, &reader(), start, 100).await;
    assert_eq!(
        types(&fast),
        vec!["consent.recorded", "plan.consent_recorded"]
    );

    // The slow writer commits: its event comes after what the reader has seen, so it is not lost.
    slow.batch_execute("COMMIT;").unwrap();
    let (late, _) = read_feed(&app, &reader(), after_fast, 100).await;
    assert_eq!(types(&late), vec!["plan.updated"]);
    assert_eq!(late[0]["version"], 99);
    assert!(late[0]["seq"].as_i64().unwrap() > after_fast);
}

/// On PostgreSQL a write takes no feed lock: its events are committed unpositioned and positioned
/// afterwards, so writers' commits share WAL flushes instead of waiting for each other. While the
/// feed's lock is held elsewhere a write still commits at once; its events reach the reader once the
/// lock is free, after what the reader had seen.
#[actix_web::test]
async fn postgres_a_write_commits_while_the_feeds_lock_is_held() {
    use diesel::connection::SimpleConnection;
    let (app, plan, start, mut holder) = postgres_with_plan_and_own_connection().await;

    // 5 370 707 names the feed's lock (migration `…000020_feed_positioned_after_commit`).
    holder
        .batch_execute("BEGIN; SELECT pg_advisory_xact_lock(5370707);")
        .unwrap();
    let (uri, writer) = (plan_uri(&plan, "/consents"), region_writer());
    let write = app.post(&uri, &writer, lisas_consent());
    let written = actix_web::rt::time::timeout(std::time::Duration::from_secs(10), write)
        .await
        .expect("a write must not wait for the feed's lock");
    written.expect(201);
    let unpositioned = app
        .count("SELECT count(*) AS n FROM change_events WHERE position IS NULL".into())
        .await;
    assert_eq!(unpositioned, 2, "committed, and not yet positioned");

    holder.batch_execute("COMMIT;").unwrap();
    let (events, _) = read_feed(&app, &reader(), start, 100).await;
    assert_eq!(
        types(&events),
        vec!["consent.recorded", "plan.consent_recorded"]
    );
    assert!(events[0]["seq"].as_i64().unwrap() > start);
}

/// On PostgreSQL several instances share the database: a commit of one wakes the waiters of every
/// other (LISTEN/NOTIFY), also after the listener's connection was cut and came back.
#[actix_web::test]
async fn postgres_another_instances_commit_wakes_this_ones_waiters() {
    let app = TestApp::postgres().await;
    let database = app.postgres_database().unwrap();
    let other = sip::db::Db::connect(&database.url, 2).expect("a second instance's database");
    other.listen_to_other_instances(&database.url).unwrap();
    let hearing =
        || async { (other.poll_interval() > std::time::Duration::from_secs(1)).then_some(()) };
    eventually("the other instance to listen", hearing).await;
    let mut woken = other.commits();
    woken.borrow_and_update();
    let plan = app.lisas_plan().await;
    eventually("the other instance to hear the commit", || async {
        woken.has_changed().unwrap().then_some(())
    })
    .await;

    // The connection is cut: the listener notices, polls meanwhile, and listens again.
    database.set_reachable(false);
    eventually("the listener to notice the cut", || async {
        (other.poll_interval() < std::time::Duration::from_secs(1)).then_some(())
    })
    .await;
    database.set_reachable(true);
    eventually("the other instance to listen again", hearing).await;
    woken.borrow_and_update();
    record_lisas_consent(&app, &plan).await;
    eventually("the other instance to hear the next commit", || async {
        woken.has_changed().unwrap().then_some(())
    })
    .await;
}
