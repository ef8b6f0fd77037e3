//! The access log: reads, writes and denied attempts are recorded before the answer leaves, the
//! log is append-only, and the audit role can ask who has read a person's data.

use actix_web::http::Method;
use serde_json::{json, Value};
use sip::auth::Role;
use sip::domain::Principal;

use crate::common::*;
use crate::on_both_databases;

fn auditor() -> Who {
    Who {
        unit: "SE2321000016-AUD1",
        principal: Principal::Region,
        roles: vec![Role::Audit],
    }
}

/// An auditor of the municipality (`SE2120001314`), whose staff work under `MUNICIPALITY_UNIT`.
fn municipality_auditor() -> Who {
    Who {
        unit: "SE2120001314-REV1",
        principal: Principal::Municipality,
        roles: vec![Role::Audit],
    }
}

fn outsider() -> Who {
    Who {
        unit: "SE2321000016-XYZ9",
        principal: Principal::Region,
        roles: vec![Role::Read, Role::Write],
    }
}

async fn events_about(app: &TestApp, individual_id: &str) -> Vec<Value> {
    let reply = app
        .get(
            &format!("/api/v1/audit-events?individual_id={individual_id}&limit=200"),
            &auditor(),
        )
        .await
        .expect(200);
    reply.body["items"].as_array().unwrap().clone()
}

async fn reads_writes_and_denials_are_logged(app: TestApp) {
    let plan = app.lisas_plan().await;
    let lisa = plan["individual_id"].as_str().unwrap().to_string();
    let plan_id = plan["id"].as_str().unwrap().to_string();
    let read = app
        .send(
            Method::GET,
            &format!("/api/v1/plans/{plan_id}"),
            Some(&reader()),
            None,
            &[("x-request-id", "journal-read-1")],
        )
        .await
        .expect(200);
    assert_eq!(
        read.header("x-request-id").as_deref(),
        Some("journal-read-1")
    );
    app.get(&format!("/api/v1/plans/{plan_id}"), &outsider())
        .await
        .expect(404);
    app.get("/api/v1/plans", &reader()).await.expect(200);
    app.post(
        "/api/v1/individuals/search",
        &reader(),
        json!({"identity_number": LISA_PNR}),
    )
    .await
    .expect(200);

    let events = events_about(&app, &lisa).await;
    let find = |pred: &dyn Fn(&Value) -> bool| events.iter().find(|e| pred(e)).cloned();
    let created = find(&|e| e["action"] == "individual.created").expect("the registration");
    assert_eq!(created["individual_id"], json!(lisa));
    let opened = find(&|e| e["action"] == "plan.created").expect("the plan's creation");
    assert_eq!(
        (opened["plan_id"].as_str(), opened["unit"].as_str()),
        (Some(plan_id.as_str()), Some(REGION_UNIT))
    );
    let the_read = find(&|e| e["request_id"] == "journal-read-1").expect("the read");
    assert_eq!(
        (the_read["action"].as_str(), the_read["result"].as_str()),
        (Some("read"), Some("allowed"))
    );
    assert_eq!(the_read["plan_id"], json!(plan_id));
    assert_eq!(the_read["subject"], "tester");
    let denied = find(&|e| e["result"] == "denied").expect("the outsider's attempt");
    assert_eq!(
        (denied["unit"].as_str(), denied["status"].as_i64()),
        (Some("SE2321000016-XYZ9"), Some(404))
    );
    assert!(
        find(&|e| e["resource_type"] == "plans"
            && e["action"] == "read"
            && e["request_id"] != "journal-read-1")
        .is_some(),
        "the list read"
    );
    let search = find(&|e| e["resource_type"] == "search").expect("the search");
    assert_eq!(search["targets"][0]["individual_id"], json!(lisa));
    // Nobody else's data is in Lisa's log.
    let erik = app.individual(ERIK_PNR, "Erik", json!([])).await;
    assert!(events_about(&app, &lisa)
        .await
        .iter()
        .all(|e| e["individual_id"] != erik["id"]));
}

async fn the_log_is_for_the_audit_role_and_append_only(app: TestApp) {
    app.lisas_plan().await;
    app.get("/api/v1/audit-events", &reader()).await.expect(403);
    app.get("/api/v1/plans", &auditor()).await.expect(403);
    let by_unit = app
        .get(
            &format!("/api/v1/audit-events?unit={REGION_UNIT}&limit=2"),
            &auditor(),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(by_unit["items"].as_array().unwrap().len(), 2);
    let cursor = by_unit["next_cursor"].as_str().unwrap();
    let next = app
        .get(
            &format!("/api/v1/audit-events?unit={REGION_UNIT}&limit=2&cursor={cursor}"),
            &auditor(),
        )
        .await
        .expect(200)
        .body;
    assert!(next["items"][0]["id"].as_i64() > by_unit["items"][1]["id"].as_i64());
    let none = app
        .get("/api/v1/audit-events?subject=nobody", &auditor())
        .await
        .expect(200)
        .body;
    assert!(none["items"].as_array().unwrap().is_empty());
    let future = (chrono::Utc::now() + chrono::Duration::hours(1)).format("%Y-%m-%dT%H:%M:%SZ");
    let later = app
        .get(&format!("/api/v1/audit-events?from={future}"), &auditor())
        .await
        .expect(200)
        .body;
    assert!(later["items"].as_array().unwrap().is_empty());

    let csv = app
        .send(
            Method::GET,
            "/api/v1/audit-events?limit=5",
            Some(&auditor()),
            None,
            &[("accept", "text/csv")],
        )
        .await
        .expect(200);
    let text = csv.body.as_str().unwrap().to_string();
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert!(lines[0].starts_with("id,occurred_at,subject,unit"));
    assert!(lines.len() > 1);

    assert!(
        !app.try_sql("UPDATE audit_events SET subject = 'someone else'")
            .await,
        "UPDATE must be refused"
    );
    assert!(
        !app.try_sql("DELETE FROM audit_events").await,
        "DELETE must be refused"
    );
    assert!(app.try_sql("SELECT COUNT(*) FROM audit_events").await);
    // A list, so that a row holds targets (and, on SQLite, what they are about has rows) for the
    // row triggers to refuse.
    app.get("/api/v1/plans", &reader()).await.expect(200);
    let mut refused = vec!["UPDATE audit_events SET targets = NULL WHERE targets IS NOT NULL"];
    if app.postgres_database().is_none() {
        assert!(
            app.try_sql("SELECT about FROM audit_targets_about").await,
            "SQLite keeps what targets are about in its own table"
        );
        refused.extend([
            "UPDATE audit_targets_about SET about = 'someone else'",
            "DELETE FROM audit_targets_about",
        ]);
    }
    for sql in refused {
        assert!(!app.try_sql(sql).await, "{sql} must be refused");
    }
}

/// The targets of the events read with `request_id`, as (resource_type, resource_id, plan_id,
/// individual_id) — `None` if no such event was returned.
fn targets_of(events: &[Value], request_id: &str) -> Option<Vec<(Value, Value, Value, Value)>> {
    let matching: Vec<&Value> = events
        .iter()
        .filter(|e| e["request_id"] == request_id)
        .collect();
    assert!(matching.len() <= 1, "one event a request: {matching:?}");
    matching.first().map(|e| {
        e["targets"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|t| {
                (
                    t["resource_type"].clone(),
                    t["resource_id"].clone(),
                    t["plan_id"].clone(),
                    t["individual_id"].clone(),
                )
            })
            .collect()
    })
}

/// A list is one access with a target for each plan it showed: the whole log shows them all, a
/// person's log only hers; a deviation (which names a plan, not a person) is found through its
/// plan; the CSV has a line for each target; paging through a person's log one event at a time
/// finds what one page finds.
async fn a_list_is_one_access_with_a_target_for_each_plan_it_showed(app: TestApp) {
    let lisas = app.lisas_plan().await;
    let erik = app.individual(ERIK_PNR, "Erik", json!([])).await;
    let eriks = app.plan_for(id(&erik)).await;
    let (lisa, erik) = (lisas["individual_id"].clone(), erik["id"].clone());
    let deviation = app
        .post(
            "/api/v1/deviations",
            &region_writer(),
            json!({
                "category": "summons_not_answered",
                "plan_id": id(&lisas),
                "concerned_unit": MUNICIPALITY_UNIT,
                "concerned_principal": "municipality",
                "occurred_at": (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339(),
                "description": "no answer to the summons",
            }),
        )
        .await
        .expect(201)
        .body;
    for (uri, request_id) in [
        ("/api/v1/plans", "the-list"),
        ("/api/v1/deviations", "the-deviations"),
    ] {
        app.send(
            Method::GET,
            uri,
            Some(&region_writer()),
            None,
            &[("x-request-id", request_id)],
        )
        .await
        .expect(200);
    }
    let plan_target = |plan: &Value, whose: &Value| {
        (
            json!("plans"),
            plan["id"].clone(),
            plan["id"].clone(),
            whose.clone(),
        )
    };

    let everything = app
        .get("/api/v1/audit-events?limit=200", &auditor())
        .await
        .expect(200)
        .body["items"]
        .as_array()
        .unwrap()
        .clone();
    let mut listed = targets_of(&everything, "the-list").expect("the list");
    listed.sort_by_key(|t| t.1.to_string());
    let mut expected = vec![plan_target(&lisas, &lisa), plan_target(&eriks, &erik)];
    expected.sort_by_key(|t| t.1.to_string());
    assert_eq!(listed, expected);

    let hers = events_about(&app, lisa.as_str().unwrap()).await;
    assert_eq!(
        targets_of(&hers, "the-list"),
        Some(vec![plan_target(&lisas, &lisa)])
    );
    assert_eq!(
        targets_of(&hers, "the-deviations"),
        Some(vec![(
            json!("deviations"),
            deviation["id"].clone(),
            lisas["id"].clone(),
            Value::Null
        )])
    );
    let his = events_about(&app, erik.as_str().unwrap()).await;
    assert_eq!(
        targets_of(&his, "the-list"),
        Some(vec![plan_target(&eriks, &erik)])
    );
    assert_eq!(targets_of(&his, "the-deviations"), None, "not about him");

    let csv = app
        .send(
            Method::GET,
            "/api/v1/audit-events?limit=200",
            Some(&auditor()),
            None,
            &[("accept", "text/csv")],
        )
        .await
        .expect(200);
    let list_lines: Vec<&str> = csv
        .body
        .as_str()
        .unwrap()
        .split("\r\n")
        .filter(|l| l.ends_with(",the-list"))
        .collect();
    assert_eq!(
        list_lines.len(),
        3,
        "the list, and each plan: {list_lines:?}"
    );

    let mut paged = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = app
            .get(
                &format!(
                    "/api/v1/audit-events?individual_id={lisa}&limit=1{cursor}",
                    lisa = lisa.as_str().unwrap()
                ),
                &auditor(),
            )
            .await
            .expect(200)
            .body;
        paged.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].clone()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    let at_once: Vec<Value> = hers.iter().map(|e| e["id"].clone()).collect();
    assert_eq!(paged, at_once);
}

/// Concurrent reads are each logged before they are answered (the writer commits them together).
async fn concurrent_reads_are_all_logged(app: TestApp) {
    let plan = app.lisas_plan().await;
    let uri = format!("/api/v1/plans/{}", plan["id"].as_str().unwrap());
    let who = reader();
    let reads: Vec<_> = (0..12).map(|_| app.get(&uri, &who)).collect();
    for reply in futures_util::future::join_all(reads).await {
        reply.expect(200);
    }
    let events = events_about(&app, plan["individual_id"].as_str().unwrap()).await;
    let logged = events
        .iter()
        .filter(|e| e["action"] == "read" && e["resource_type"] == "plans")
        .count();
    assert_eq!(logged, 12);
}

/// Log follow-up is per organisation: each organisation's auditor sees exactly the accesses its
/// own units made, whatever filter it asks with, and never another organisation's.
async fn each_organisation_audits_its_own_units_only(app: TestApp) {
    let plan = app.lisas_plan().await;
    let plan_id = plan["id"].as_str().unwrap();
    let lisa = plan["individual_id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/plans/{plan_id}/consents"),
        &region_writer(),
        lisas_consent(),
    )
    .await
    .expect(201);
    // Both organisations read the plan; a unit of a third reads nothing but tries.
    app.get(&format!("/api/v1/plans/{plan_id}"), &reader())
        .await
        .expect(200);
    app.get(&format!("/api/v1/plans/{plan_id}"), &municipality_writer())
        .await
        .expect(200);
    let region_auditor = auditor();
    let municipality_auditor = municipality_auditor();
    for (who, organisation) in [
        (&region_auditor, "SE2321000016-"),
        (&municipality_auditor, "SE2120001314-"),
    ] {
        for query in [
            String::new(),
            format!("individual_id={lisa}"),
            format!("unit={REGION_UNIT}"),
            format!("unit={MUNICIPALITY_UNIT}"),
        ] {
            let mut seen = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let mut uri = format!("/api/v1/audit-events?limit=200&{query}");
                if let Some(c) = &cursor {
                    uri += &format!("&cursor={c}");
                }
                let page = app.get(&uri, who).await.expect(200).body;
                seen.extend(page["items"].as_array().unwrap().iter().cloned());
                match page["next_cursor"].as_str() {
                    Some(c) => cursor = Some(c.to_string()),
                    None => break,
                }
            }
            assert!(
                seen.iter()
                    .all(|e| e["unit"].as_str().unwrap().starts_with(organisation)),
                "{organisation} {query}: {seen:?}"
            );
            let own_unit_asked = query.is_empty()
                || query.starts_with("individual_id")
                || query.contains(&organisation[..12]);
            assert_eq!(!seen.is_empty(), own_unit_asked, "{organisation} {query}");
        }
        // The CSV export follows the same rule.
        let csv = app
            .send(
                Method::GET,
                "/api/v1/audit-events?limit=200",
                Some(who),
                None,
                &[("accept", "text/csv")],
            )
            .await
            .expect(200);
        for line in csv.body.as_str().unwrap().split("\r\n").skip(1) {
            if let Some(unit) = line.split(',').nth(3) {
                assert!(unit.starts_with(organisation), "{line}");
            }
        }
    }
}

/// A municipality follows up its own staff's accesses in a log that is mostly the region's:
/// 100,000 records of another organisation do not make its page read them. (Its page once asked
/// for its units in id order, which no index answered: the database walked the log from the
/// cursor to the end, 0.5–0.7 s at 4,000,000 records; `BENCHMARKS.md`, nineteenth session.)
/// Counted on PostgreSQL in rows read from the log, not in time; both databases answer the same.
async fn an_organisations_follow_up_reads_its_own_records_not_the_whole_log(app: TestApp) {
    let plan = app.lisas_plan().await;
    let plan_id = plan["id"].as_str().unwrap();
    let lisa = plan["individual_id"].as_str().unwrap().to_string();
    record_lisas_consent(&app, &plan).await;
    for _ in 0..3 {
        app.get(&format!("/api/v1/plans/{plan_id}"), &municipality_writer())
            .await
            .expect(200);
    }
    app.grow_the_access_log().await;
    let page = app
        .get("/api/v1/audit-events?limit=50", &municipality_auditor())
        .await
        .expect(200)
        .body;
    let units: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["unit"].as_str().unwrap())
        .collect();
    assert_eq!(units, [MUNICIPALITY_UNIT; 3], "{page}");

    let organisation = Some("SE2120001314".to_string());
    let (found, read) = app
        .rows_read_by("audit_events", |c| {
            let mut found = Vec::new();
            for filter in [
                sip::db::audit::AuditFilter {
                    organisation: organisation.clone(),
                    ..Default::default()
                },
                sip::db::audit::AuditFilter {
                    organisation: organisation.clone(),
                    individual_id: Some(sip::domain::ids::IndividualId::parse(&lisa).unwrap()),
                    ..Default::default()
                },
                sip::db::audit::AuditFilter {
                    organisation: organisation.clone(),
                    subject: Some("nobody".into()),
                    ..Default::default()
                },
            ] {
                found.push(sip::db::audit::list(c, &filter, 0, 50)?.len());
            }
            Ok(found)
        })
        .await;
    // Its three reads (and its auditor's page, which is an access too) under each filter that
    // names them; the subject nobody is, nothing.
    assert_eq!(found, [4, 3, 0]);
    if let Some(read) = read {
        assert!(read < 1_000, "the follow-up read {read} records of the log");
    }
}

/// Every time the service records comes from the application's clock: the plan's own times, its
/// history and the access log, for a write and for a read. (The tests rely on it to let time pass;
/// a use case that asked the system instead would show here as a date 400 days early.)
async fn every_recorded_time_is_the_clocks(app: TestApp) {
    app.pass_days(400);
    let later = chrono::Utc::now() + chrono::Duration::days(400);
    let near = |at: &Value| {
        let at: chrono::DateTime<chrono::Utc> = at.as_str().unwrap().parse().unwrap();
        (at - later).num_minutes().abs() < 10
    };
    let plan = app.lisas_plan().await;
    assert!(near(&plan["created_at"]), "{plan}");
    let read = app
        .get(&plan_uri(&plan, ""), &region_writer())
        .await
        .expect(200)
        .body;
    assert!(near(&read["updated_at"]), "{read}");
    let history = app
        .get(&plan_uri(&plan, "/history"), &region_writer())
        .await
        .expect(200)
        .body;
    let events = history["items"].as_array().unwrap();
    assert!(!events.is_empty());
    assert!(events.iter().all(|e| near(&e["occurred_at"])), "{history}");
    let logged = events_about(&app, plan["individual_id"].as_str().unwrap()).await;
    assert!(logged.iter().any(|e| e["action"] == "read"), "{logged:?}");
    assert!(logged.iter().all(|e| near(&e["occurred_at"])), "{logged:?}");
}

/// A read whose access cannot be written to the log is refused (503), never answered unlogged —
/// whatever form it reads in; it is answered again once the log can be written.
async fn a_read_that_cannot_be_logged_is_refused(app: TestApp) {
    let plan = established_plan(&app).await;
    if app.postgres_database().is_some() {
        app.run_sql(
            "CREATE FUNCTION refuse_access() RETURNS trigger AS $$ \
             BEGIN RAISE EXCEPTION 'the log is full'; END $$ LANGUAGE plpgsql; \
             CREATE TRIGGER refuse_access BEFORE INSERT ON audit_events \
             FOR EACH ROW EXECUTE FUNCTION refuse_access();",
        )
        .await;
    } else {
        app.run_sql(
            "CREATE TRIGGER refuse_access BEFORE INSERT ON audit_events \
             BEGIN SELECT RAISE(ABORT, 'the log is full'); END;",
        )
        .await;
    }
    let reads = [
        (plan_uri(&plan, ""), "application/json"),
        (plan_uri(&plan, "/document"), "text/html"),
        (plan_uri(&plan, "/document"), "application/pdf"),
        ("/api/v1/plans".to_string(), "application/json"),
    ];
    let (app, reads) = (&app, &reads);
    let read_all = |status: u16| async move {
        for (uri, accept) in reads {
            let reply = app
                .send(
                    actix_web::http::Method::GET,
                    uri,
                    Some(&reader()),
                    None,
                    &[("Accept", accept)],
                )
                .await
                .expect(status);
            if status == 503 {
                let detail = reply.body["detail"].as_str().unwrap();
                assert!(detail.contains("access log"), "{uri}: {detail}");
            }
        }
    };
    read_all(503).await;
    app.run_sql(if app.postgres_database().is_some() {
        "DROP TRIGGER refuse_access ON audit_events"
    } else {
        "DROP TRIGGER refuse_access"
    })
    .await;
    read_all(200).await;
}

/// The access log as FHIR AuditEvents following IHE BALP, for a region's log tools: one event per
/// access, each with its BALP profile, agents, the patient by personnummer, the plan, and the
/// outcome — valid FHIR R4 by the independent library the FHIR tests use.
async fn the_log_as_balp_audit_events(app: TestApp) {
    let plan = app.lisas_plan().await;
    let lisa = plan["individual_id"].as_str().unwrap().to_string();
    app.get(&plan_uri(&plan, ""), &reader()).await.expect(200);
    // A unit of the same organisation outside the plan tries, and is refused.
    app.get(&plan_uri(&plan, ""), &outsider()).await.expect(404);
    let uri = format!("/api/v1/audit-events?individual_id={lisa}&limit=200");
    let reply = app
        .send(
            Method::GET,
            &uri,
            Some(&auditor()),
            None,
            &[("accept", "application/fhir+json")],
        )
        .await
        .expect(200);
    assert_eq!(
        reply.header("content-type").as_deref(),
        Some("application/fhir+json")
    );
    let bundle = reply.body;
    assert_eq!(bundle["type"], "searchset");
    let events: Vec<&Value> = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .collect();
    let json_items = events_about(&app, &lisa).await;
    assert_eq!(events.len(), json_items.len(), "one AuditEvent per access");
    for event in &events {
        assert_eq!(event["resourceType"], "AuditEvent");
        let profile = event["meta"]["profile"][0].as_str().unwrap();
        assert!(profile
            .starts_with("https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit."));
    }
    let read = events
        .iter()
        .find(|e| e["action"] == "R" && e["outcome"] == "0")
        .unwrap_or_else(|| panic!("{bundle}"));
    assert!(read["meta"]["profile"][0]
        .as_str()
        .unwrap()
        .ends_with("PatientRead"));
    let patient = read["entity"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["role"]["code"] == "1")
        .unwrap();
    assert_eq!(patient["what"]["identifier"]["value"], "191212121212");
    assert_eq!(
        patient["what"]["identifier"]["system"],
        "urn:oid:1.2.752.129.2.1.3.1"
    );
    let units: Vec<&Value> = read["agent"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| {
            a["who"]["identifier"]["value"]
                .as_str()
                .map(|_| &a["who"]["identifier"]["value"])
        })
        .collect();
    assert!(units.iter().any(|u| *u == REGION_UNIT), "{read}");
    let refused = events
        .iter()
        .find(|e| e["outcome"] == "4")
        .unwrap_or_else(|| panic!("{bundle}"));
    assert!(refused["outcomeDesc"].as_str().unwrap().contains("404"));
    assert!(
        events.iter().any(|e| e["action"] == "C"),
        "the plan's creation"
    );
    crate::fhir::validate_with_fhir_resources(std::slice::from_ref(&bundle));
    // Only what the access log offers.
    app.send(
        Method::GET,
        &uri,
        Some(&auditor()),
        None,
        &[("accept", "image/png")],
    )
    .await
    .expect(406);
}

on_both_databases!(
    an_organisations_follow_up_reads_its_own_records_not_the_whole_log,
    the_log_as_balp_audit_events,
    a_read_that_cannot_be_logged_is_refused,
    reads_writes_and_denials_are_logged,
    every_recorded_time_is_the_clocks,
    each_organisation_audits_its_own_units_only,
    the_log_is_for_the_audit_role_and_append_only,
    concurrent_reads_are_all_logged,
    a_list_is_one_access_with_a_target_for_each_plan_it_showed,
);
