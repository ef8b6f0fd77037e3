//! Access by consent: a unit outside the individual's consent learns nothing of a plan — not even
//! that it exists. The test walks the OpenAPI document, so a new route under a plan cannot be
//! missed; request bodies are the document's own examples, so each write reaches the access check.

use actix_web::http::Method;
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

pub(crate) fn example_body(doc: &Value, operation: &Value) -> Option<Value> {
    let schema = &operation["requestBody"]["content"]["application/json"]["schema"];
    let name = schema["$ref"].as_str()?.rsplit('/').next()?;
    let example = &doc["components"]["schemas"][name]["example"];
    assert!(
        example.is_object(),
        "the request schema {name} needs an example in the OpenAPI document"
    );
    Some(example.clone())
}

async fn a_unit_outside_the_consent_gets_404_on_every_plan_route(app: TestApp) {
    let plan = established_plan(&app).await;
    let first = |list: Value| list["items"][0]["id"].as_str().unwrap_or("").to_string();
    let consent = first(
        app.get(&plan_uri(&plan, "/consents"), &reader())
            .await
            .expect(200)
            .body,
    );
    let summons = app
        .get(&plan_uri(&plan, "/summons"), &reader())
        .await
        .expect(200)
        .body;
    let summons_id = first(summons.clone());
    let recipient = summons["items"][0]["recipients"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let follow_up = first(
        app.get(&plan_uri(&plan, "/follow-ups"), &reader())
            .await
            .expect(200)
            .body,
    );

    let doc: Value = serde_json::from_str(&sip::api::openapi_json()).unwrap();
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        // The `/me` operations take an individual's token, and a unit's gets 403 there before
        // anything is read (tests/api/me.rs walks them with another person's token).
        if !path.contains("{plan_id}") || path.starts_with("/api/v1/me/") {
            continue;
        }
        let uri = path
            .replace("{plan_id}", id(&plan))
            .replace("{consent_id}", &consent)
            .replace("{summons_id}", &summons_id)
            .replace("{recipient_id}", &recipient)
            .replace("{item_id}", &follow_up)
            .replace("{revision}", "1");
        for (method, operation) in item.as_object().unwrap() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let body = example_body(&doc, operation);
            let reply = app
                .send(
                    method.clone(),
                    &uri,
                    Some(&outsider()),
                    body.as_ref(),
                    &[("if-match", "*")],
                )
                .await;
            assert_eq!(
                reply.status.as_u16(),
                404,
                "{method} {path} answered an outsider: {}",
                reply.body
            );
            assert_problem(&reply);
            assert!(
                !reply.body.to_string().contains(id(&plan)),
                "{method} {path} echoes the plan id"
            );
            if method == Method::GET {
                // The initiating unit reads the same route.
                app.send(method, &uri, Some(&reader()), None, &[])
                    .await
                    .expect(200);
            }
            checked += 1;
        }
    }
    assert!(checked >= 20, "walked {checked} operations");

    // Lists and worklists show the outsider nothing either.
    for list in [
        "/api/v1/plans",
        "/api/v1/deviations",
        "/api/v1/worklists/unanswered-summons",
    ] {
        let reply = app.get(list, &outsider()).await.expect(200);
        assert!(reply.body["items"].as_array().unwrap().is_empty(), "{list}");
    }
    let search = format!(
        "/api/v1/plans?individual_id={}",
        plan["individual_id"].as_str().unwrap()
    );
    assert!(
        app.get(&search, &outsider()).await.expect(200).body["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

async fn access_follows_the_consent_and_ends_with_it(app: TestApp) {
    consent_given_expired_and_withdrawn(&app).await;
}

/// The plan and its whole document (read by a statement of its own: one round trip on
/// PostgreSQL) answer `who` alike: `status`.
async fn reads_as(app: &TestApp, plan: &Value, who: &Who, status: u16) {
    for suffix in ["", "/document"] {
        app.get(&plan_uri(plan, suffix), who).await.expect(status);
    }
}

async fn consent_given_expired_and_withdrawn(app: &TestApp) {
    let plan = consented_plan(app).await;
    // The municipality unit is covered by the consent: it reads the plan.
    reads_as(app, &plan, &municipality_writer(), 200).await;
    let list = app
        .get("/api/v1/plans", &municipality_writer())
        .await
        .expect(200)
        .body;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    // A withdrawal removes access at once: the covered unit loses it, the initiating unit keeps
    // the record.
    let withdrawn = consented_plan(app).await;
    reads_as(app, &withdrawn, &municipality_writer(), 200).await;
    let consents = app
        .get(&plan_uri(&withdrawn, "/consents"), &reader())
        .await
        .expect(200)
        .body;
    let withdraw = format!(
        "{}/consents/{}/withdraw",
        plan_uri(&withdrawn, ""),
        consents["items"][0]["id"].as_str().unwrap()
    );
    app.post(
        &withdraw,
        &region_writer(),
        json!({"reason": "no longer wants it"}),
    )
    .await
    .expect(200);
    reads_as(app, &withdrawn, &municipality_writer(), 404).await;
    let kept = app
        .get(&plan_uri(&withdrawn, "/consents"), &region_writer())
        .await
        .expect(200)
        .body;
    assert!(kept["items"][0]["withdrawn_at"].is_string());

    // The consent runs a year: the day after its last day, the covered unit no longer sees the
    // plan — in a read, in a list — while the initiating unit keeps it.
    app.pass_days(365);
    reads_as(app, &plan, &municipality_writer(), 200).await;
    app.pass_days(1);
    reads_as(app, &plan, &municipality_writer(), 404).await;
    assert!(app
        .get("/api/v1/plans", &municipality_writer())
        .await
        .expect(200)
        .body["items"]
        .as_array()
        .unwrap()
        .is_empty());
    reads_as(app, &plan, &region_writer(), 200).await;
}

/// The grants the visibility rule reads (`plan_access`) are exactly what plans and consents say:
/// each plan's initiating unit, and each unit a given, unwithdrawn consent with both dates covers.
/// Checked after the consent scenarios above (given, expired by date, withdrawn) and a refusal.
async fn access_grants_are_what_plans_and_consents_say(app: TestApp) {
    consent_given_expired_and_withdrawn(&app).await;
    let plan = app.lisas_plan().await;
    app.post(
        &plan_uri(&plan, "/consents"),
        &region_writer(),
        lisas_refusal(),
    )
    .await
    .expect(201);
    assert!(
        app.count("SELECT count(*) AS n FROM plan_access".into())
            .await
            > 0
    );
    const DERIVED: &str = "SELECT * FROM (SELECT id, initiating_unit, NULL, NULL, NULL FROM plans \
         UNION ALL \
         SELECT c.plan_id, p.hsa_id, c.id, c.valid_from, c.valid_until \
           FROM consents c JOIN consent_parties p ON p.consent_id = c.id \
          WHERE c.outcome = 'given' AND c.withdrawn_at IS NULL AND c.valid_from IS NOT NULL \
            AND c.valid_until IS NOT NULL AND p.hsa_id IS NOT NULL) derived";
    const STORED: &str =
        "SELECT plan_id, unit, consent_id, valid_from, valid_until FROM plan_access";
    let missing = app
        .count(format!(
            "SELECT count(*) AS n FROM ({DERIVED} EXCEPT {STORED}) d"
        ))
        .await;
    let extra = app
        .count(format!(
            "SELECT count(*) AS n FROM ({STORED} EXCEPT {DERIVED}) d"
        ))
        .await;
    assert_eq!((missing, extra), (0, 0), "grants missing, grants left over");
}

/// Only the responsible unit or the coordinator's unit records an intervention's status; only the
/// coordinator's unit records follow-ups — other units the consent covers read, but do not.
async fn finer_rules_for_interventions_and_follow_ups(app: TestApp) {
    let plan = consented_plan(&app).await;
    let region = add_intervention(&app, &plan, region_intervention(json!([]))).await;
    let housing = add_intervention(&app, &plan, municipality_intervention()).await;
    summon_and_meet(&app, &plan).await;

    let status = |i: &Value| format!("{}/interventions/{}/status", plan_uri(&plan, ""), id(i));
    let reply = app
        .post(
            &status(&region),
            &municipality_writer(),
            json!({"status": "ongoing"}),
        )
        .await
        .expect(403);
    assert!(reply.body["detail"]
        .as_str()
        .unwrap()
        .contains("responsible unit"));
    app.post(
        &status(&housing),
        &municipality_writer(),
        json!({"status": "ongoing"}),
    )
    .await
    .expect(200);
    app.post(
        &status(&region),
        &region_writer(),
        json!({"status": "ongoing"}),
    )
    .await
    .expect(200);

    let follow_ups = app
        .get(&plan_uri(&plan, "/follow-ups"), &municipality_writer())
        .await
        .expect(200)
        .body;
    let record = format!(
        "{}/follow-ups/{}/record",
        plan_uri(&plan, ""),
        id(&follow_ups["items"][0])
    );
    let reviews = json!([
        {"intervention_id": region["id"], "carried_out": true},
        {"intervention_id": housing["id"], "carried_out": true}
    ]);
    let body = json!({"held_on": days(0), "intervention_reviews": reviews, "decision": "continue",
                      "next_follow_up": {"date": days(90), "place": "Video"}});
    app.post(&record, &municipality_writer(), body.clone())
        .await
        .expect(403);
    app.post(&record, &region_writer(), body).await.expect(200);
}

/// Skyddad identitet: the person's record exists only for units that see one of their plans.
/// A protected identity is seen by the unit that registered her and by units that see one of her
/// plans; for everyone else she does not exist.
async fn a_protected_identity_is_shown_only_to_units_that_see_a_plan(app: TestApp) {
    let body = json!({"identity_number": LISA_PNR, "given_name": "Lisa", "family_name": "Skyddad", "protected_identity": true});
    let lisa = app
        .post("/api/v1/individuals", &region_writer(), body)
        .await
        .expect(201)
        .body;
    let uri = format!("/api/v1/individuals/{}", id(&lisa));
    let search = json!({"identity_number": LISA_PNR});
    app.get(&uri, &region_writer()).await.expect(200);
    app.get(&uri, &municipality_writer()).await.expect(404);
    let hidden = app
        .post(
            "/api/v1/individuals/search",
            &municipality_writer(),
            search.clone(),
        )
        .await
        .expect(404);
    assert!(!hidden.body.to_string().contains("Skyddad"));

    let plan = app.plan_for(id(&lisa)).await;
    app.get(&uri, &region_writer()).await.expect(200);
    app.post(
        "/api/v1/individuals/search",
        &region_writer(),
        search.clone(),
    )
    .await
    .expect(200);
    app.get(&uri, &municipality_writer()).await.expect(404);

    record_lisas_consent(&app, &plan).await;
    app.get(&uri, &municipality_writer()).await.expect(200);
    app.post("/api/v1/individuals/search", &municipality_writer(), search)
        .await
        .expect(200);
}

/// A unit's list of plans reads the unit's own grants, not the region's plans: with 20,000 plans
/// of another unit in place, each listed before it in id order, the municipality's list (one plan,
/// seen through its consent) and an outsider's (none) read fewer than a thousand rows of either
/// table, filtered or not; and so does the other unit's list of its closed plans (none of its
/// 20,001). Counted on PostgreSQL in rows and index entries read, not in time.
async fn a_units_plan_list_reads_its_grants_not_every_plan(app: TestApp) {
    let plan = established_plan(&app).await;
    // The copies' ids sort before the plan's ('-' before any hex digit); inserting a plan grants
    // its initiating unit access (the trigger of `plan_access`).
    app.copy_first_row("plans", 20_000, &[("id", "'0-' || g || '-' || x.id")])
        .await;
    let today = sip::domain::calendar::swedish_date(chrono::Utc::now());
    let established = sip::db::plans::PlanFilter {
        status: Some("established".into()),
        ..Default::default()
    };
    let closed = sip::db::plans::PlanFilter {
        status: Some("closed".into()),
        ..Default::default()
    };
    for (unit, filter, expected) in [
        (MUNICIPALITY_UNIT, Default::default(), 1),
        (MUNICIPALITY_UNIT, established.clone(), 1),
        ("SE2321000016-OTH9", Default::default(), 0),
        ("SE2321000016-OTH9", established.clone(), 0),
        // The unit with every plan, and a filter none of them passes.
        (REGION_UNIT, closed, 0),
    ] {
        let unit = sip::domain::identity::HsaId::parse(unit).unwrap();
        for table in ["plans", "plan_access"] {
            let (found, read) = app
                .rows_read_by(table, |c| {
                    sip::db::plans::list(c, &unit, &filter, None, 51, today)
                })
                .await;
            assert_eq!(found.len(), expected, "{unit:?} {filter:?}");
            if expected == 1 {
                assert_eq!(found[0].id.to_string(), id(&plan));
            }
            if let Some(read) = read {
                assert!(
                    read < 1_000,
                    "{unit:?} {filter:?}: the list read {read} rows of {table}"
                );
            }
        }
    }
}

/// A filtered list pages through the unit's plans in id order however sparse the matches are:
/// two at a time, with most of the unit's plans in another status (each page then reads the
/// unit's grants in more than one round), the pages together are every match once.
async fn a_filtered_list_pages_through_sparse_matches(app: TestApp) {
    let mut plans = Vec::new();
    for n in 0..9 {
        let plan = app.lisas_plan().await;
        if n % 4 == 1 {
            record_lisas_consent(&app, &plan).await;
        }
        plans.push(plan);
    }
    let mut by_status: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for plan in &plans {
        let status = status_of(&app, plan).await["status"]
            .as_str()
            .unwrap()
            .to_string();
        by_status
            .entry(status)
            .or_default()
            .push(id(plan).to_string());
    }
    assert!(by_status.len() > 1, "the plans are in more than one status");
    for (status, mut expected) in by_status {
        expected.sort();
        let seen = app
            .every_id(&format!("/api/v1/plans?status={status}&limit=2"), &reader())
            .await;
        assert_eq!(seen, expected, "status {status}");
    }
    // The same through the other narrowing filter: the plans changed since a moment, a few among
    // the unit's grants (the first grants of each page hold one match or none).
    actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
    let since = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut changed: Vec<String> = Vec::new();
    // Plans 0, 3 and 6: none of them has its consent yet (plans 1 and 5 have).
    for plan in plans.iter().step_by(3) {
        record_lisas_consent(&app, plan).await;
        changed.push(id(plan).to_string());
    }
    changed.sort();
    let seen = app
        .every_id(
            &format!("/api/v1/plans?updated_since={since}&limit=2"),
            &reader(),
        )
        .await;
    assert_eq!(seen, changed, "changed since {since}");
}

on_both_databases!(
    a_protected_identity_is_shown_only_to_units_that_see_a_plan,
    a_filtered_list_pages_through_sparse_matches,
    a_units_plan_list_reads_its_grants_not_every_plan,
    a_unit_outside_the_consent_gets_404_on_every_plan_route,
    access_follows_the_consent_and_ends_with_it,
    access_grants_are_what_plans_and_consents_say,
    finer_rules_for_interventions_and_follow_ups,
);

/// Every `/api/v1` operation checks the caller's role: a valid token without any role gets 403
/// everywhere. Walks the OpenAPI document (example bodies, required query parameters filled in), so
/// a new endpoint that forgets its role check fails here.
#[actix_web::test]
async fn every_operation_checks_the_role() {
    let app = TestApp::sqlite().await;
    let nobody = Who {
        roles: vec![],
        ..reader()
    };
    let doc: Value = serde_json::from_str(&sip::api::openapi_json()).unwrap();
    let some_id = uuid::Uuid::new_v4().to_string();
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !path.starts_with("/api/v1/") {
            continue;
        }
        let mut uri = path
            .replace("{worklist}", "overdue-follow-ups")
            .replace("{revision}", "1");
        while let (Some(start), Some(end)) = (uri.find('{'), uri.find('}')) {
            uri.replace_range(start..=end, &some_id);
        }
        if path.starts_with("/api/v1/reports/") {
            uri += "?from=2026-01-01&to=2026-01-31";
        }
        for (method, operation) in item.as_object().unwrap() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let body = example_body(&doc, operation);
            let reply = app
                .send(
                    method.clone(),
                    &uri,
                    Some(&nobody),
                    body.as_ref(),
                    &[("if-match", "*")],
                )
                .await;
            assert_eq!(
                reply.status.as_u16(),
                403,
                "{method} {path}: {}",
                reply.body
            );
            checked += 1;
        }
    }
    assert!(checked >= 40, "walked {checked} operations");
}

/// Every array has a count limit and every text a length limit (422 naming the field).
#[actix_web::test]
async fn input_limits_name_the_field() {
    let app = TestApp::sqlite().await;
    let guardians: Vec<Value> = (0..5)
        .map(|i| json!({"name": format!("Guardian {i}")}))
        .collect();
    let reply = app
        .post(
            "/api/v1/individuals",
            &region_writer(),
            json!({"identity_number": ALEX_PNR, "given_name": "Alex", "family_name": "T", "guardians": guardians}),
        )
        .await
        .expect(422);
    assert_eq!(reply.error_fields(), ["$.guardians"]);
    let lisa = app.individual(LISA_PNR, "Lisa", json!([])).await;
    let reply = app
        .post(
            "/api/v1/plans",
            &region_writer(),
            json!({"individual_id": lisa["id"], "need_reason": "x".repeat(4001)}),
        )
        .await
        .expect(422);
    assert_eq!(reply.error_fields(), ["$.need_reason"]);
    // A rule over a list's items names each item at fault, and says nothing of its text.
    let reply = app
        .post(
            "/api/v1/plans",
            &region_writer(),
            json!({"individual_id": lisa["id"], "need_reason": "x", "topics_to_avoid": ["fine", " ", "y".repeat(501), "fine too"]}),
        )
        .await
        .expect(422);
    assert_eq!(
        reply.error_fields(),
        ["$.topics_to_avoid[1]", "$.topics_to_avoid[2]"]
    );
    assert!(!reply.body.to_string().contains("yyyy"));
    let topics: Vec<String> = (0..21).map(|i| format!("topic {i}")).collect();
    let reply = app
        .post(
            "/api/v1/plans",
            &region_writer(),
            json!({"individual_id": lisa["id"], "need_reason": "x", "topics_to_avoid": topics}),
        )
        .await
        .expect(422);
    assert_eq!(reply.error_fields(), ["$.topics_to_avoid"]);
}
