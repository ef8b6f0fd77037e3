//! Plans: opened by a unit for an individual, listed with filters and cursors, updated with If-Match;
//! only the server moves the status.

use serde_json::json;

use crate::common::*;
use crate::on_both_databases;

async fn opening_a_plan_starts_the_process(app: TestApp) {
    let lisa = app.individual(LISA_PNR, "Lisa", json!([])).await;
    let reply = app
        .post(
            "/api/v1/plans",
            &region_writer(),
            json!({
                "individual_id": lisa["id"],
                "need_reason": "psychosis and substance use",
                "what_matters": "to get going with work training",
                "topics_to_avoid": ["her brother's illness"],
            }),
        )
        .await
        .expect(201);
    let plan = &reply.body;
    assert_eq!(plan["status"], "need_identified");
    assert_eq!(
        plan["allowed_actions"],
        json!(["update", "record_consent", "close"])
    );
    assert_eq!(
        plan["initiating_unit"],
        json!({"hsa_id": REGION_UNIT, "principal": "region"})
    );
    assert_eq!(plan["has_active_consent"], false);
    assert_eq!(plan["topics_to_avoid"], json!(["her brother's illness"]));
    assert_eq!(plan["follows_discharge"], false);
    assert_eq!(plan["version"], 1);
    let read = app
        .get(&reply.header("location").unwrap(), &reader())
        .await
        .expect(200);
    assert_eq!(&read.body, plan);
    assert_eq!(read.etag(), "\"1\"");
}

async fn the_client_cannot_set_the_status(app: TestApp) {
    let lisa = app.individual(LISA_PNR, "Lisa", json!([])).await;
    let reply = app
        .post(
            "/api/v1/plans",
            &region_writer(),
            json!({"individual_id": lisa["id"], "need_reason": "x", "status": "consented"}),
        )
        .await
        .expect(400);
    assert_eq!(reply.error_fields(), ["$.status"]);
}

async fn a_plan_needs_a_registered_individual(app: TestApp) {
    let reply = app
        .post(
            "/api/v1/plans",
            &region_writer(),
            json!({"individual_id": uuid::Uuid::new_v4(), "need_reason": "x"}),
        )
        .await
        .expect(422);
    assert_eq!(reply.error_fields(), ["$.individual_id"]);
    let reply = app
        .post(
            "/api/v1/plans",
            &region_writer(),
            json!({"individual_id": "Lisa", "need_reason": "x"}),
        )
        .await
        .expect(422);
    assert_eq!(reply.error_fields(), ["$.individual_id"]);
}

/// Karin, 84: ready for discharge after a hip fracture.
async fn a_plan_after_discharge_carries_the_discharge_time(app: TestApp) {
    let karin = app.individual("19420317-0289", "Karin", json!([])).await;
    let ready_at = (chrono::Utc::now() - chrono::Duration::hours(3)).to_rfc3339();
    let reply = app
        .post("/api/v1/plans", &region_writer(), json!({"individual_id": karin["id"], "need_reason": "hip fracture", "follows_discharge": true}))
        .await
        .expect(422);
    assert_eq!(reply.error_fields(), ["$.discharge_ready_at"]);
    let reply = app
        .post("/api/v1/plans", &region_writer(), json!({"individual_id": karin["id"], "need_reason": "hip fracture", "discharge_ready_at": ready_at}))
        .await
        .expect(422);
    assert_eq!(reply.error_fields(), ["$.discharge_ready_at"]);
    let plan = app
        .post(
            "/api/v1/plans",
            &region_writer(),
            json!({"individual_id": karin["id"], "need_reason": "hip fracture", "follows_discharge": true, "discharge_ready_at": ready_at}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(plan["follows_discharge"], true);
    let stored =
        chrono::DateTime::parse_from_rfc3339(plan["discharge_ready_at"].as_str().unwrap()).unwrap();
    let sent = chrono::DateTime::parse_from_rfc3339(&ready_at).unwrap();
    assert!(
        (stored - sent).num_microseconds().unwrap().abs() < 1,
        "kept to the microsecond"
    );
}

async fn lists_page_with_cursors_and_filter(app: TestApp) {
    let lisa = app.individual(LISA_PNR, "Lisa", json!([])).await;
    let erik = app.individual(ERIK_PNR, "Erik", json!([])).await;
    let mut ids = Vec::new();
    for individual in [&lisa, &erik, &lisa] {
        ids.push(app.plan_for(individual["id"].as_str().unwrap()).await["id"].clone());
    }
    let other_unit_plan = app
        .post(
            "/api/v1/plans",
            &municipality_writer(),
            json!({"individual_id": erik["id"], "need_reason": "home care"}),
        )
        .await
        .expect(201)
        .body;
    ids.push(other_unit_plan["id"].clone());
    // A unit sees the plans it initiated, and those an active consent covers it in: before the
    // consent the region does not see the municipality's plan, after it does.
    let before = app.get("/api/v1/plans", &reader()).await.expect(200).body;
    assert_eq!(before["items"].as_array().unwrap().len(), 3);
    app.get(
        &format!("/api/v1/plans/{}", other_unit_plan["id"].as_str().unwrap()),
        &reader(),
    )
    .await
    .expect(404);
    let consents = format!(
        "/api/v1/plans/{}/consents",
        other_unit_plan["id"].as_str().unwrap()
    );
    app.post(&consents, &municipality_writer(), lisas_consent())
        .await
        .expect(201);

    let first = app
        .get("/api/v1/plans?limit=2", &reader())
        .await
        .expect(200)
        .body;
    let first_ids: Vec<_> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].clone())
        .collect();
    assert_eq!(first_ids, ids[..2]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = app
        .get(&format!("/api/v1/plans?limit=2&cursor={cursor}"), &reader())
        .await
        .expect(200)
        .body;
    let second_ids: Vec<_> = second["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].clone())
        .collect();
    assert_eq!(second_ids, ids[2..]);
    assert!(
        second.get("next_cursor").is_none(),
        "the last page has no cursor"
    );

    let lisas = app
        .get(
            &format!(
                "/api/v1/plans?individual_id={}",
                lisa["id"].as_str().unwrap()
            ),
            &reader(),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(lisas["items"].as_array().unwrap().len(), 2);
    let municipal = app
        .get(
            &format!(
                "/api/v1/plans?initiating_unit={}",
                MUNICIPALITY_UNIT.to_lowercase()
            ),
            &reader(),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(municipal["items"].as_array().unwrap().len(), 1);
    assert_eq!(municipal["items"][0]["id"], other_unit_plan["id"]);
    let consented = app
        .get("/api/v1/plans?status=consented", &reader())
        .await
        .expect(200)
        .body;
    assert_eq!(consented["items"].as_array().unwrap().len(), 1);
    assert_eq!(consented["items"][0]["id"], other_unit_plan["id"]);
    let outsider = Who {
        unit: "SE2321000016-XYZ9",
        ..reader()
    };
    let nothing = app.get("/api/v1/plans", &outsider).await.expect(200).body;
    assert!(nothing["items"].as_array().unwrap().is_empty());
    let future = (chrono::Utc::now() + chrono::Duration::hours(1)).format("%Y-%m-%dT%H:%M:%SZ");
    let recent = app
        .get(&format!("/api/v1/plans?updated_since={future}"), &reader())
        .await
        .expect(200)
        .body;
    assert!(recent["items"].as_array().unwrap().is_empty());
    let past = (chrono::Utc::now() - chrono::Duration::hours(1)).format("%Y-%m-%dT%H:%M:%SZ");
    let recent = app
        .get(&format!("/api/v1/plans?updated_since={past}"), &reader())
        .await
        .expect(200)
        .body;
    assert_eq!(recent["items"].as_array().unwrap().len(), 4);
}

async fn updates_need_if_match_and_keep_the_individual(app: TestApp) {
    let plan = app.lisas_plan().await;
    let uri = format!("/api/v1/plans/{}", plan["id"].as_str().unwrap());
    let change = json!({
        "individual_id": plan["individual_id"],
        "need_reason": "psychosis, substance use and housing",
        "what_matters": "to work",
    });
    let reply = app
        .put(&uri, &region_writer(), change.clone(), None)
        .await
        .expect(428);
    assert_eq!(reply.body["type"], "/problems/if-match-required");
    app.put(&uri, &region_writer(), change.clone(), Some("\"2\""))
        .await
        .expect(412);
    // RFC 9110: If-Match compares strongly, so a weak tag never matches; an empty or malformed
    // value is the client's mistake, named; a list matches when any of its tags does.
    app.put(&uri, &region_writer(), change.clone(), Some("W/\"1\""))
        .await
        .expect(412);
    for malformed in ["", "1", "\"1"] {
        let reply = app
            .put(&uri, &region_writer(), change.clone(), Some(malformed))
            .await
            .expect(400);
        assert_eq!(reply.error_fields(), ["header.If-Match"], "{malformed:?}");
    }
    let updated = app
        .put(
            &uri,
            &region_writer(),
            change.clone(),
            Some("\"7\", W/\"1\", \"1\""),
        )
        .await
        .expect(200);
    assert_eq!(
        updated.body["need_reason"],
        "psychosis, substance use and housing"
    );
    assert_eq!(updated.body["version"], 2);
    assert_eq!(updated.body["status"], "need_identified");

    let other = app.individual(ERIK_PNR, "Erik", json!([])).await;
    let mut moved = change.clone();
    moved["individual_id"] = other["id"].clone();
    let reply = app
        .put(&uri, &region_writer(), moved, Some("\"2\""))
        .await
        .expect(422);
    assert_eq!(reply.error_fields(), ["$.individual_id"]);
    // Nothing of the refused update was stored.
    let read = app.get(&uri, &reader()).await.expect(200);
    assert_eq!(read.body["version"], 2);
    assert_eq!(read.body["individual_id"], plan["individual_id"]);
}

/// A plan's row is saved with its access row and change event — on PostgreSQL in one statement,
/// where the journal's rows are written before the statement knows whether the version check let
/// the update through. An update that another writer beat is an error, so its transaction rolls
/// back and leaves neither row; one that lands leaves one of each.
async fn a_lost_plan_update_leaves_no_journal(app: TestApp) {
    const SUBJECT: &str = "a-lost-update";
    let plan = app.lisas_plan().await;
    let plan_id = plan["id"].as_str().unwrap().to_string();
    let journal = |version: i64| {
        let at = chrono::Utc::now().naive_utc();
        (
            sip::db::audit::NewAuditEvent {
                occurred_at: at,
                subject: SUBJECT.into(),
                unit: REGION_UNIT.into(),
                principal: "region".into(),
                action: "plan.updated".into(),
                resource_type: "plan".into(),
                resource_id: Some(plan_id.clone()),
                plan_id: Some(plan_id.clone()),
                individual_id: None,
                result: "allowed".into(),
                status: 200,
                request_id: "r1".into(),
            },
            sip::db::events::NewChangeEvent {
                event_type: "plan.updated".into(),
                resource_type: "plan".into(),
                resource_id: plan_id.clone(),
                plan_id: Some(plan_id.clone()),
                version,
                from_status: None,
                to_status: None,
                reason: None,
                subject: SUBJECT.into(),
                unit: REGION_UNIT.into(),
                occurred_at: at,
                note: None,
                recorded_at: at,
            },
        )
    };
    let count =
        |table: &str| format!("SELECT COUNT(*) AS n FROM {table} WHERE subject = '{SUBJECT}'");
    let save = |stale: bool| {
        let id = plan_id.clone();
        let journal = journal(0);
        app.db().write(move |c| {
            let mut row = sip::db::plans::find_for_import(c, &id)?.expect("the plan is stored");
            if !stale {
                row.version += 1;
            }
            let lost = sip::error::Error::PreconditionFailed {
                current_version: row.version,
            };
            sip::db::plans::update_journaled(c, &row, journal, lost)
        })
    };
    let outcome = save(true).await;
    assert!(
        matches!(outcome, Err(sip::error::Error::PreconditionFailed { .. })),
        "a stale version is refused: {outcome:?}"
    );
    assert_eq!(app.count(count("audit_events")).await, 0);
    assert_eq!(app.count(count("change_events")).await, 0);
    save(false).await.expect("the current version is saved");
    assert_eq!(app.count(count("audit_events")).await, 1);
    assert_eq!(app.count(count("change_events")).await, 1);
}

/// A write that touches no consent answers with the consent state it loaded the plan with and the
/// row it saved, without reading the plan again: the answer must still be what a read after it gives.
async fn a_plan_write_answers_as_the_plan_reads_after_it(app: TestApp) {
    let (plan, summons) = summoned_plan(&app).await;
    let uri = plan_uri(&plan, "");
    async fn read(app: &TestApp, uri: &str) -> serde_json::Value {
        app.get(uri, &region_writer()).await.expect(200).body
    }
    let updated = app
        .put(
            &uri,
            &region_writer(),
            json!({
                "individual_id": plan["individual_id"],
                "need_reason": "psychosis, substance use and housing",
                "what_matters": "to work",
            }),
            Some("*"),
        )
        .await
        .expect(200)
        .body;
    assert!(updated["active_consent_until"].is_string(), "{updated}");
    assert_eq!(updated, read(&app, &uri).await);

    let established = app
        .post(
            &plan_uri(&plan, "/meeting"),
            &region_writer(),
            meeting_body(&summons, true),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(established["status"], "established");
    assert_eq!(established, read(&app, &uri).await);

    let closed = app
        .post(
            &plan_uri(&plan, "/close"),
            &region_writer(),
            json!({"reason": "goals_met"}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(closed["status"], "closed");
    assert!(closed["active_consent_until"].is_null(), "{closed}");
    assert_eq!(closed, read(&app, &uri).await);
}

on_both_databases!(
    opening_a_plan_starts_the_process,
    the_client_cannot_set_the_status,
    a_plan_needs_a_registered_individual,
    a_plan_after_discharge_carries_the_discharge_time,
    lists_page_with_cursors_and_filter,
    updates_need_if_match_and_keep_the_individual,
    a_lost_plan_update_leaves_no_journal,
    a_plan_write_answers_as_the_plan_reads_after_it,
);
