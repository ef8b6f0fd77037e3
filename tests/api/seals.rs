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
        "ALTER TABLE audit_events DISABLE TRIGGER USER"
    } else {
        "DROP TRIGGER audit_events_no_update"
    })
    .await;
    let listed = "SELECT MAX(id) AS n FROM audit_events WHERE targets IS NOT NULL";
    app.run_sql(&format!(
        "UPDATE audit_events SET targets = replace(targets, 'null', '\"someone else\"') WHERE id = ({listed})"
    ))
    .await;
    let (_, event, why) = verify(&app).first_broken.expect("the change is found");
    let changed = app.count(listed.into()).await;
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

/// A sealing run takes up to 2,000 records (on SQLite too, whose runs read and link outside the
/// write lock), each linked with the targets its own row holds: `verify`, which reads the chain
/// in pages of its own, finds every link holding.
async fn a_sealing_run_takes_its_batch_and_links_each_record_with_its_own_targets(app: TestApp) {
    established_plan(&app).await;
    while seal_now(&app) > 0 {}
    let postgres = app.postgres_database().is_some();
    // 2,100 records of two targets each, every target naming its own record.
    let targets = r#"'[["plan","p-' || g || '","p-' || g || '",null],["plan","q-' || g || '",null,"i-' || g || '"]]'"#;
    app.run_sql(&if postgres {
        format!(
            "INSERT INTO audit_events (occurred_at, subject, unit, principal, action, resource_type, result, status, request_id, targets)
               SELECT now(), 'batch', 'SE2321000016-PSY1', 'region', 'list', 'plans', 'allowed', 200, 'batch', {targets}
                 FROM generate_series(1, 2100) g"
        )
    } else {
        format!(
            "INSERT INTO audit_events (occurred_at, subject, unit, principal, action, resource_type, result, status, request_id, targets)
               WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < 2100)
               SELECT strftime('%Y-%m-%d %H:%M:%f', 'now'), 'batch', 'SE2321000016-PSY1', 'region', 'list', 'plans', 'allowed', 200, 'batch', {targets} FROM s"
        )
    })
    .await;
    assert_eq!(seal_now(&app), 2_000);
    while seal_now(&app) > 0 {}
    every_record_sealed_and_holding(&app).await;
}

on_both_databases!(
    a_sealing_run_takes_its_batch_and_links_each_record_with_its_own_targets,
    a_sealing_run_reads_the_new_records_not_the_whole_log,
    a_target_changed_behind_the_services_back_is_found,
    a_record_changed_behind_the_services_back_is_found,
    a_record_left_unsealed_is_reported,
);

/// The targets logged as rows of their own (`audit_event_targets`) before December 2026 move into
/// their events' rows: each reads back as it was recorded, "who has read this person's data"
/// still finds hers and shows only hers, and the seals made before the move still verify.
#[test]
fn targets_logged_before_move_into_their_events() {
    use sip::db::audit::{AuditEventRow, AuditFilter, AuditTargetRow};
    const THE_MOVE: &str = "access_targets_in_the_event";
    let (her, him) = (
        uuid::Uuid::new_v4().to_string(),
        uuid::Uuid::new_v4().to_string(),
    );
    let (p1, p2, p3) = ("p-1", "p-2", "p-3");
    let at = chrono::NaiveDate::from_ymd_opt(2026, 12, 1)
        .unwrap()
        .and_hms_opt(10, 0, 0)
        .unwrap();
    let event = |id: i64, action: &str, individual: Option<&str>| AuditEventRow {
        id,
        occurred_at: at,
        subject: "tester".into(),
        unit: sip::domain::identity::HsaId::parse("SE2321000016-PSY1").unwrap(),
        principal: sip::domain::Principal::Region,
        action: action.into(),
        resource_type: "plans".into(),
        resource_id: None,
        plan_id: None,
        individual_id: individual.map(String::from),
        result: "allowed".into(),
        status: 200,
        request_id: format!("r{id}"),
    };
    let target =
        |position: i32, kind: &str, resource: Option<&str>, plan: &str, person: Option<&str>| {
            AuditTargetRow {
                event_id: 1,
                position,
                resource_type: kind.into(),
                resource_id: resource.map(String::from),
                plan_id: Some(plan.into()),
                individual_id: person.map(String::from),
            }
        };
    // A list of three: her plan (its own id left out, as stored since December), his plan with
    // its id held twice (as stored before), a deviation naming no one; then a read of her.
    let listed = vec![
        target(0, "plans", None, p1, Some(&her)),
        target(1, "plans", Some(p2), p2, Some(&him)),
        target(2, "deviations", Some("d-1"), p3, None),
    ];
    let (list, read) = (event(1, "list", None), event(2, "read", Some(&her)));
    let first = sip::db::seals::link(sip::db::seals::GENESIS, &list, &listed).unwrap();
    let second = sip::db::seals::link(&first, &read, &[]).unwrap();

    let value = |v: &Option<String>| v.as_ref().map_or("NULL".into(), |v| format!("'{v}'"));
    let mut before = format!(
        "INSERT INTO audit_events (id, occurred_at, subject, unit, principal, action, resource_type, individual_id, result, status, request_id) VALUES
           (1, '2026-12-01 10:00:00', 'tester', 'SE2321000016-PSY1', 'region', 'list', 'plans', NULL, 'allowed', 200, 'r1'),
           (2, '2026-12-01 10:00:00', 'tester', 'SE2321000016-PSY1', 'region', 'read', 'plans', '{her}', 'allowed', 200, 'r2');
         INSERT INTO audit_seals (chain_seq, event_id, hash, sealed_at) VALUES
           (1, 1, '{first}', '2026-12-01 10:00:01'), (2, 2, '{second}', '2026-12-01 10:00:01');"
    );
    for t in &listed {
        before.push_str(&format!(
            "INSERT INTO audit_event_targets (event_id, position, resource_type, resource_id, plan_id, individual_id)
               VALUES (1, {}, '{}', {}, {}, {});",
            t.position,
            t.resource_type,
            value(&t.resource_id),
            value(&t.plan_id),
            value(&t.individual_id)
        ));
    }
    // Every migration before the move, the log as it was, then the rest as the service applies them.
    crate::common::across_a_migration(
        THE_MOVE,
        |_| before.clone(),
        |db| {
            let report = db
                .read_now(|c| sip::db::seals::verify(c, chrono::Utc::now().naive_utc()))
                .unwrap();
            assert_eq!(report.sealed, 2);
            assert!(report.first_broken.is_none(), "{:?}", report.first_broken);
            assert!(report.unsealed.is_empty());

            let page = |individual: Option<&str>| {
                let filter = AuditFilter {
                    organisation: Some("SE2321000016".into()),
                    individual_id: individual
                        .map(|i| sip::domain::ids::IndividualId::parse(i).unwrap()),
                    ..AuditFilter::default()
                };
                db.read_now(|c| sip::db::audit::list(c, &filter, 0, 10))
                    .unwrap()
                    .into_iter()
                    .map(|r| {
                        let targets: Vec<(i32, Option<String>)> = r
                            .targets
                            .into_iter()
                            .map(|t| (t.position, t.resource_id))
                            .collect();
                        (r.event.id, targets)
                    })
                    .collect::<Vec<_>>()
            };
            let named = |s: &str| Some(s.to_string());
            assert_eq!(
                page(None),
                vec![
                    (1, vec![(0, named(p1)), (1, named(p2)), (2, named("d-1"))]),
                    (2, vec![])
                ]
            );
            assert_eq!(
                page(Some(&her)),
                vec![(1, vec![(0, named(p1))]), (2, vec![])]
            );
            assert_eq!(page(Some(&him)), vec![(1, vec![(1, named(p2))])]);
        },
    );
}
