//! Tamper evidence: the access log's hash chain holds, and a record changed or removed by SQL
//! behind the service's back is found — the first broken link named.

use crate::common::*;
use crate::on_both_databases;

fn seal_now(app: &TestApp) -> usize {
    let now = chrono::Utc::now().naive_utc();
    app.db()
        .write_now(|c| sip::db::seals::seal(c, now))
        .expect("sealing")
}

fn verify(app: &TestApp) -> sip::db::seals::Verification {
    let later = (chrono::Utc::now() + chrono::Duration::minutes(5)).naive_utc();
    app.db()
        .read_now(|c| sip::db::seals::verify(c, later))
        .expect("verifying")
}

async fn a_record_changed_behind_the_services_back_is_found(app: TestApp) {
    let plan = established_plan(&app).await;
    app.get(&plan_uri(&plan, "/document"), &reader())
        .await
        .expect(200);
    seal_now(&app);
    let records = app
        .count("SELECT COUNT(*) AS n FROM audit_events".into())
        .await;
    let report = verify(&app);
    assert!(report.first_broken.is_none(), "{report:?}");
    assert_eq!(report.sealed as i64, records);
    assert!(report.unsealed.is_empty());
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
    let postgres = app.postgres_database().is_some();
    // As if sealed long ago: records, and seals whose hashes no chain verifies (only the sealer's
    // reading is measured here).
    app.run_sql(if postgres {
        "INSERT INTO audit_events (id, occurred_at, subject, unit, principal, action, resource_type, result, status, request_id)
           SELECT g, now(), 'earlier', 'SE2321000016-PSY1', 'region', 'read', 'plans', 'allowed', 200, 'earlier'
             FROM generate_series((SELECT MAX(id) FROM audit_events) + 1, (SELECT MAX(id) FROM audit_events) + 100000) g;
         INSERT INTO audit_seals (chain_seq, event_id, hash, sealed_at)
           SELECT ROW_NUMBER() OVER (ORDER BY e.id) + (SELECT MAX(chain_seq) FROM audit_seals), e.id, 'earlier', now()
             FROM audit_events e WHERE e.id > (SELECT MAX(event_id) FROM audit_seals);
         SELECT setval('audit_events_id_seq', (SELECT MAX(id) FROM audit_events));
         ANALYZE audit_events; ANALYZE audit_seals;"
    } else {
        "INSERT INTO audit_events (id, occurred_at, subject, unit, principal, action, resource_type, result, status, request_id)
           WITH RECURSIVE s(g) AS (SELECT (SELECT MAX(id) FROM audit_events) + 1 UNION ALL
                                   SELECT g + 1 FROM s WHERE g < (SELECT MAX(id) FROM audit_events) + 100000)
           SELECT g, strftime('%Y-%m-%d %H:%M:%f', 'now'), 'earlier', 'SE2321000016-PSY1', 'region', 'read', 'plans', 'allowed', 200, 'earlier' FROM s;
         INSERT INTO audit_seals (chain_seq, event_id, hash, sealed_at)
           SELECT ROW_NUMBER() OVER (ORDER BY e.id) + (SELECT MAX(chain_seq) FROM audit_seals), e.id, 'earlier', strftime('%Y-%m-%d %H:%M:%f', 'now')
             FROM audit_events e WHERE e.id > (SELECT MAX(event_id) FROM audit_seals);
         ANALYZE;"
    })
    .await;
    app.get(&plan_uri(&plan, ""), &reader()).await.expect(200);
    let seals_read = "SELECT CAST((SELECT COALESCE(SUM(idx_tup_read), 0) FROM pg_stat_user_indexes WHERE relname = 'audit_seals')
                                + (SELECT COALESCE(seq_tup_read, 0) FROM pg_stat_user_tables WHERE relname = 'audit_seals') AS BIGINT) AS n";
    let before = if postgres {
        app.count(seals_read.into()).await
    } else {
        0
    };
    let now = chrono::Utc::now().naive_utc();
    let sealed = app
        .db()
        .write_now(|c| {
            if let sip::db::DbConn::Postgres(pg) = c {
                // This backend's counts reach the statistics when its transaction ends, not up
                // to ten seconds later.
                use diesel::RunQueryDsl;
                diesel::sql_query("SELECT pg_stat_force_next_flush()").execute(pg)?;
            }
            sip::db::seals::seal(c, now)
        })
        .expect("sealing");
    assert_eq!(sealed, 1, "the new read, and nothing sealed before");
    let unsealed = app
        .count(
            "SELECT COUNT(*) AS n FROM audit_events e WHERE NOT EXISTS (SELECT 1 FROM audit_seals s WHERE s.event_id = e.id)"
                .into(),
        )
        .await;
    assert_eq!(unsealed, 0);
    if postgres {
        let read = app.count(seals_read.into()).await - before;
        // The window before the last seal is 10,000 records; the whole log 100,000.
        assert!(read < 30_000, "a sealing run read {read} seals");
    }
}

on_both_databases!(
    a_sealing_run_reads_the_new_records_not_the_whole_log,
    a_target_changed_behind_the_services_back_is_found,
    a_record_changed_behind_the_services_back_is_found,
    a_record_left_unsealed_is_reported,
);
