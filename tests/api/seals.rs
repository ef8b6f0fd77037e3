//! Tamper evidence: the access log's hash chain holds, and a record changed or removed by SQL
//! behind the service's back is found — the first broken link named.

use crate::common::*;
use crate::on_both_databases;

fn seal_now(app: &TestApp) -> usize {
    let now = chrono::Utc::now().naive_utc();
    sip::db::seals::run(app.db(), now).expect("sealing")
}

fn verify(app: &TestApp) -> sip::db::seals::Verification {
    let later = (chrono::Utc::now() + chrono::Duration::minutes(5)).naive_utc();
    app.db()
        .read_now(|c| sip::db::seals::verify(c, later))
        .expect("verifying")
}

/// Verifies the chain: every record of the log sealed, every link holding. Returns the records.
async fn every_record_sealed_and_holding(app: &TestApp) -> i64 {
    let records = app
        .count("SELECT COUNT(*) AS n FROM audit_events".into())
        .await;
    let report = verify(app);
    assert!(report.first_broken.is_none(), "{report:?}");
    assert_eq!(report.sealed as i64, records);
    assert!(report.unsealed.is_empty());
    records
}

async fn a_record_changed_behind_the_services_back_is_found(app: TestApp) {
    let plan = established_plan(&app).await;
    app.get(&plan_uri(&plan, "/document"), &reader())
        .await
        .expect(200);
    seal_now(&app);
    let records = every_record_sealed_and_holding(&app).await;
    // A new read is sealed at the chain's end (by this call or the writer's own, once a second).
    app.get(&plan_uri(&plan, ""), &reader()).await.expect(200);
    seal_now(&app);
    let report = verify(&app);
    assert!(report.first_broken.is_none());
    assert_eq!(report.sealed as i64, records + 1);

    // Someone with database access rewrites who read the plan.
    let postgres = app.postgres_database().is_some();
    app.run_sql(if postgres {
        "ALTER TABLE audit_events DISABLE TRIGGER USER"
    } else {
        "DROP TRIGGER audit_events_no_update"
    })
    .await;
    app.run_sql(
        "UPDATE audit_events SET subject = 'nobody' WHERE id = (SELECT MIN(id) + 3 FROM audit_events)",
    )
    .await;
    let report = verify(&app);
    let (_, event, why) = report.first_broken.expect("the change is found");
    let changed = app
        .count("SELECT MIN(id) + 3 AS n FROM audit_events".into())
        .await;
    assert_eq!(event, changed);
    assert!(why.contains("differ"), "{why}");
}

async fn a_record_left_unsealed_is_reported(app: TestApp) {
    app.lisas_plan().await;
    // Not yet sealed (unless the writer's once-a-second run came first): reported once old enough.
    let later = (chrono::Utc::now() + chrono::Duration::minutes(5)).naive_utc();
    let report = app
        .db()
        .read_now(|c| sip::db::seals::verify(c, later))
        .unwrap();
    let all = app
        .count("SELECT COUNT(*) AS n FROM audit_events".into())
        .await;
    assert_eq!(report.unsealed.len() as i64 + report.sealed as i64, all);
    seal_now(&app);
    assert!(verify(&app).unsealed.is_empty());
}

/// What a read showed besides its path (a list's plans) is sealed with it: a target rewritten by
/// SQL breaks the chain at its event.
async fn a_target_changed_behind_the_services_back_is_found(app: TestApp) {
    established_plan(&app).await;
    app.get("/api/v1/plans", &reader()).await.expect(200);
    seal_now(&app);
    assert!(verify(&app).first_broken.is_none());
    let postgres = app.postgres_database().is_some();
    app.run_sql(if postgres {
        "ALTER TABLE audit_event_targets DISABLE TRIGGER USER"
    } else {
        "DROP TRIGGER audit_event_targets_no_update"
    })
    .await;
    app.run_sql(
        "UPDATE audit_event_targets SET plan_id = 'someone else' WHERE event_id = (SELECT MAX(event_id) FROM audit_event_targets)",
    )
    .await;
    let (_, event, why) = verify(&app).first_broken.expect("the change is found");
    let changed = app
        .count("SELECT MAX(event_id) AS n FROM audit_event_targets".into())
        .await;
    assert_eq!(event, changed);
    assert!(why.contains("differ"), "{why}");
}

/// The log that has grown for months: 100,000 records, sealed. A sealing run reads the records
/// after the last seal (and a window before it), never the whole log: on PostgreSQL, where the
/// statement runs with a plan made without its values, an anti-join against every seal ever made
/// once cost 0.3–0.8 s a run at 4,000,000 records, every second (`BENCHMARKS.md`, nineteenth
/// session). Counted in rows read from the seals table, not in time.
async fn a_sealing_run_reads_the_new_records_not_the_whole_log(app: TestApp) {
    let plan = established_plan(&app).await;
    seal_now(&app);
    app.grow_the_access_log().await;
    app.get(&plan_uri(&plan, ""), &reader()).await.expect(200);
    let now = chrono::Utc::now().naive_utc();
    let (sealed, seals_read) = app
        .rows_read_by("audit_seals", |c| sip::db::seals::seal(c, now))
        .await;
    assert_eq!(sealed, 1, "the new read, and nothing sealed before");
    let unsealed = app
        .count(
            "SELECT COUNT(*) AS n FROM audit_events e WHERE NOT EXISTS (SELECT 1 FROM audit_seals s WHERE s.event_id = e.id)"
                .into(),
        )
        .await;
    assert_eq!(unsealed, 0);
    // The window before the last seal is 10,000 records; the whole log 100,000.
    if let Some(read) = seals_read {
        assert!(read < 30_000, "a sealing run read {read} seals");
    }
}

/// The targets of a sealing run's records are read by their events' ids however much the table has
/// grown since the run's statements were first planned. On PostgreSQL the sealer's lookup, kept
/// as a generic plan made while the table was small, scanned all of it every second as it grew,
/// testing each row against the run's ids (402 ms a run in `make bench`; `BENCHMARKS.md`,
/// twenty-first session). Here the first run plans its statements on a table of a few targets,
/// 100,000 more arrive on the same connection (no new statistics), and the next run, sealing one
/// record, must not read them.
async fn a_sealing_run_reads_its_records_targets_however_the_table_grew(app: TestApp) {
    established_plan(&app).await;
    app.get("/api/v1/plans", &reader()).await.expect(200);
    let postgres = app.postgres_database().is_some();
    app.run_sql(if postgres {
        "ANALYZE audit_event_targets"
    } else {
        "ANALYZE"
    })
    .await;
    let now = chrono::Utc::now().naive_utc();
    let (sealed, targets_read) = app
        .rows_read_by("audit_event_targets", |c| {
            use diesel::connection::SimpleConnection;
            sip::db::seals::seal(c, now)?;
            // Targets of no record the run will seal (event 0 does not exist), then one new
            // record with a target of its own.
            c.batch_execute(if postgres {
                "INSERT INTO audit_event_targets (event_id, position, resource_type, plan_id)
                   SELECT 0, g, 'plans', 'elsewhere' FROM generate_series(1, 100000) g;
                 INSERT INTO audit_events (occurred_at, subject, unit, principal, action, resource_type, result, status, request_id)
                   VALUES (now(), 'later', 'SE2321000016-PSY1', 'region', 'read', 'plans', 'allowed', 200, 'later');
                 INSERT INTO audit_event_targets (event_id, position, resource_type, plan_id)
                   VALUES ((SELECT MAX(id) FROM audit_events), 0, 'plans', 'this one');"
            } else {
                "INSERT INTO audit_event_targets (event_id, position, resource_type, plan_id)
                   WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < 1000)
                   SELECT 0, g, 'plans', 'elsewhere' FROM s;
                 INSERT INTO audit_events (occurred_at, subject, unit, principal, action, resource_type, result, status, request_id)
                   VALUES (strftime('%Y-%m-%d %H:%M:%f', 'now'), 'later', 'SE2321000016-PSY1', 'region', 'read', 'plans', 'allowed', 200, 'later');
                 INSERT INTO audit_event_targets (event_id, position, resource_type, plan_id)
                   VALUES ((SELECT MAX(id) FROM audit_events), 0, 'plans', 'this one');"
            })?;
            sip::db::seals::seal(c, now)
        })
        .await;
    assert_eq!(sealed, 1, "the new record");
    if let Some(read) = targets_read {
        assert!(read < 1_000, "the sealing runs read {read} targets");
    }
}

/// A sealing run takes up to 2,000 records (on SQLite too, whose runs read and link outside the
/// write lock) and reads their targets 500 records at a time, so that a run of lists does not
/// hold 100,000 target rows at once. Each record's link is made with its own targets across those
/// slices: `verify`, which reads the chain in pages of its own, finds every link holding.
async fn a_sealing_run_takes_its_batch_and_links_each_record_with_its_own_targets(app: TestApp) {
    established_plan(&app).await;
    while seal_now(&app) > 0 {}
    let postgres = app.postgres_database().is_some();
    // 2,100 records of two targets each, every target naming its own record.
    app.run_sql(if postgres {
        "INSERT INTO audit_events (occurred_at, subject, unit, principal, action, resource_type, result, status, request_id)
           SELECT now(), 'batch', 'SE2321000016-PSY1', 'region', 'list', 'plans', 'allowed', 200, 'batch'
             FROM generate_series(1, 2100);
         INSERT INTO audit_event_targets (event_id, position, resource_type, resource_id, plan_id)
           SELECT e.id, k, 'plan', 'p-' || e.id, 'p-' || e.id
             FROM audit_events e CROSS JOIN generate_series(0, 1) k WHERE e.subject = 'batch';"
    } else {
        "INSERT INTO audit_events (occurred_at, subject, unit, principal, action, resource_type, result, status, request_id)
           WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < 2100)
           SELECT strftime('%Y-%m-%d %H:%M:%f', 'now'), 'batch', 'SE2321000016-PSY1', 'region', 'list', 'plans', 'allowed', 200, 'batch' FROM s;
         INSERT INTO audit_event_targets (event_id, position, resource_type, resource_id, plan_id)
           SELECT e.id, k.k, 'plan', 'p-' || e.id, 'p-' || e.id
             FROM audit_events e CROSS JOIN (SELECT 0 AS k UNION ALL SELECT 1) k WHERE e.subject = 'batch';"
    })
    .await;
    assert_eq!(seal_now(&app), 2_000);
    while seal_now(&app) > 0 {}
    every_record_sealed_and_holding(&app).await;
}

on_both_databases!(
    a_sealing_run_takes_its_batch_and_links_each_record_with_its_own_targets,
    a_sealing_run_reads_its_records_targets_however_the_table_grew,
    a_sealing_run_reads_the_new_records_not_the_whole_log,
    a_target_changed_behind_the_services_back_is_found,
    a_record_changed_behind_the_services_back_is_found,
    a_record_left_unsealed_is_reported,
);
