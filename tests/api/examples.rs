//! Every request example of the OpenAPI document is accepted by the running service.
//!
//! The examples tell one story — Lisa's plan, from her consent on 22 November 2026 to the
//! follow-up on 3 February 2027 — and each is written for its own day in it: the summons for a
//! meeting ahead, the meeting's record once it is held, the follow-up's on its day. The service
//! compares dates with the real today, so this test replays the story in order and moves each
//! example from its moment in the story to now (every date and time in it by the same amount),
//! with the ids it names taken from what the story created before it. Any 4xx fails the test.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::{json, Value};
use sip::auth::Role;
use sip::domain::calendar::swedish_date;
use sip::domain::Principal;

use crate::common::*;
use crate::on_both_databases;

/// The example of the request body of `operation_id`.
fn example(doc: &Value, operation_id: &str) -> Value {
    for item in doc["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            if op["operationId"] == operation_id {
                let content = op["requestBody"]["content"].as_object().unwrap();
                let schema = &content.values().next().unwrap()["schema"];
                let name = schema["$ref"].as_str().unwrap().rsplit('/').next().unwrap();
                return doc["components"]["schemas"][name]["example"].clone();
            }
        }
    }
    panic!("no operation {operation_id}")
}

/// `value` with every date and time moved so that the story's moment `as_of` falls on now: times
/// by the exact difference, dates by whole days.
fn moved(value: &Value, as_of: &str) -> Value {
    let as_of: DateTime<Utc> = as_of.parse().unwrap();
    let now = Utc::now();
    let days = Duration::days((swedish_date(now) - swedish_date(as_of)).num_days());
    shifted(value, now - as_of, days)
}

fn shifted(value: &Value, by: Duration, days: Duration) -> Value {
    match value {
        Value::String(s) => {
            if let Ok(t) = DateTime::parse_from_rfc3339(s) {
                json!((t.with_timezone(&Utc) + by).to_rfc3339())
            } else if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
                json!((d + days).to_string())
            } else {
                value.clone()
            }
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| shifted(v, by, days)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), shifted(v, by, days)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn unit(hsa_id: &'static str, principal: Principal) -> Who {
    Who {
        unit: hsa_id,
        principal,
        roles: vec![Role::Read, Role::Write],
    }
}

async fn every_request_example_is_accepted_in_its_place_in_the_story(app: TestApp) {
    let doc: Value = serde_json::from_str(&sip::api::openapi_json()).unwrap();
    let mut sent = std::collections::BTreeSet::new();
    let mut ex = |op: &str| {
        sent.insert(op.to_string());
        example(&doc, op)
    };
    let region = region_writer();
    let psychiatry = unit("SE2321000016-PSY1", Principal::Region);
    let social_services = unit("SE2120001314-SOC1", Principal::Municipality);

    // Lisa is registered, found and corrected; a child with a guardian as the guardian example has it.
    let lisa = app
        .post("/api/v1/individuals", &region, ex("create_individual"))
        .await
        .expect(201)
        .body;
    app.post(
        "/api/v1/individuals/search",
        &region,
        ex("search_individual"),
    )
    .await
    .expect(200);
    // A national service looks for her plans, the number in a form: none yet.
    let search = ex("search_document_references_by_form");
    let form = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(
            search
                .as_object()
                .unwrap()
                .iter()
                .map(|(name, value)| (name, value.as_str().unwrap())),
        )
        .finish();
    let found = app
        .send_request(
            actix_web::test::TestRequest::post()
                .uri("/api/v1/fhir/DocumentReference/_search")
                .insert_header(("authorization", format!("Bearer {}", app.token(&region))))
                .insert_header(("content-type", "application/x-www-form-urlencoded"))
                .set_payload(form),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(found["resourceType"], "Bundle");
    let lisa_uri = format!("/api/v1/individuals/{}", id(&lisa));
    app.put(&lisa_uri, &region, ex("update_individual"), Some("\"1\""))
        .await
        .expect(200);
    let guardian = doc["components"]["schemas"]["GuardianInput"]["properties"]["identity_number"]
        ["example"]
        .clone();
    // A guardian is never the individual: the two examples name two people.
    let individual = &doc["components"]["schemas"]["IndividualInput"]["properties"]
        ["identity_number"]["example"];
    assert_ne!(&guardian, individual);
    app.post(
        "/api/v1/individuals",
        &region,
        json!({"identity_number": ALEX_PNR, "given_name": "Alex", "family_name": "T",
               "guardians": [{"name": "Maria Svensson", "identity_number": guardian}]}),
    )
    .await
    .expect(201);

    // Her plan is opened and updated, on the day of her consent.
    let mut plan_input = ex("create_plan");
    plan_input["individual_id"] = lisa["id"].clone();
    let plan = app
        .post("/api/v1/plans", &region, plan_input)
        .await
        .expect(201)
        .body;
    let mut update = ex("update_plan");
    update["individual_id"] = lisa["id"].clone();
    app.put(&plan_uri(&plan, ""), &region, update, Some("\"1\""))
        .await
        .expect(200);
    app.post(
        &plan_uri(&plan, "/consents"),
        &psychiatry,
        moved(&ex("record_consent"), "2026-11-22T10:00:00Z"),
    )
    .await
    .expect(201);

    // Preparing the meeting: a goal and an intervention, then the summons, answered.
    let as_prepared = "2026-11-23T10:00:00Z";
    let goal = app
        .post(
            &plan_uri(&plan, "/goals"),
            &psychiatry,
            moved(&ex("add_goal"), as_prepared),
        )
        .await
        .expect(201)
        .body;
    let goal_uri = plan_uri(&plan, &format!("/goals/{}", id(&goal)));
    app.put(
        &goal_uri,
        &psychiatry,
        moved(&ex("update_goal"), as_prepared),
        Some("\"1\""),
    )
    .await
    .expect(200);
    let intervention = app
        .post(
            &plan_uri(&plan, "/interventions"),
            &psychiatry,
            moved(&ex("add_intervention"), as_prepared),
        )
        .await
        .expect(201)
        .body;
    let intervention_uri = plan_uri(&plan, &format!("/interventions/{}", id(&intervention)));
    app.put(
        &intervention_uri,
        &psychiatry,
        moved(&ex("update_intervention"), as_prepared),
        Some("\"1\""),
    )
    .await
    .expect(200);
    let summons = app
        .post(
            &plan_uri(&plan, "/summons"),
            &psychiatry,
            moved(&ex("send_summons"), as_prepared),
        )
        .await
        .expect(201)
        .body;
    let recipients = summons["recipients"].as_array().unwrap().clone();
    let answer_uri = plan_uri(
        &plan,
        &format!(
            "/summons/{}/recipients/{}/answer",
            id(&summons),
            id(&recipients[1])
        ),
    );
    app.post(&answer_uri, &social_services, ex("answer_summons"))
        .await
        .expect(200);
    // Lisa, through her e-service, writes what she wants the meeting to answer.
    let lisa_herself = Who::individual(LISA_PNR);
    app.put(
        &format!(
            "/api/v1/me/plans/{}/summons/{}/preparation",
            id(&plan),
            id(&summons)
        ),
        &lisa_herself,
        ex("prepare_for_my_meeting"),
        None,
    )
    .await
    .expect(200);

    // The meeting, recorded as it ends (its time is the story's "now").
    let mut meeting = moved(&ex("record_meeting"), "2026-12-03T08:59:00Z");
    meeting["summons_id"] = summons["id"].clone();
    for (i, attendance) in meeting["attendance"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .enumerate()
    {
        attendance["recipient_id"] = recipients[i]["id"].clone();
    }
    app.post(&plan_uri(&plan, "/meeting"), &psychiatry, meeting)
        .await
        .expect(200);
    // The meeting offered SIP-kollen: Lisa answers with the code she was handed.
    let code = app
        .post(
            &plan_uri(&plan, "/meeting/survey-code"),
            &psychiatry,
            serde_json::json!({}),
        )
        .await
        .expect(201)
        .body["code"]
        .clone();
    let mut answer = ex("answer_survey");
    answer["code"] = code;
    app.post("/api/v1/me/survey-answers", &lisa_herself, answer)
        .await
        .expect(204);
    app.post(
        &plan_uri(&plan, "/follow-ups"),
        &psychiatry,
        moved(&ex("schedule_follow_up"), "2026-12-03T10:00:00Z"),
    )
    .await
    .expect(201);

    // The first follow-up, on its day; then an intervention that was not carried out.
    let follow_ups = app
        .get(&plan_uri(&plan, "/follow-ups"), &reader())
        .await
        .expect(200)
        .body;
    let first = &follow_ups["items"][0];
    let mut held = moved(&ex("record_follow_up"), "2027-02-03T10:00:00Z");
    held["goal_outcomes"][0]["goal_id"] = goal["id"].clone();
    held["intervention_reviews"][0]["intervention_id"] = intervention["id"].clone();
    let record_uri = plan_uri(&plan, &format!("/follow-ups/{}/record", id(first)));
    app.post(&record_uri, &psychiatry, held).await.expect(200);
    app.post(
        &format!("{intervention_uri}/status"),
        &psychiatry,
        ex("change_intervention_status"),
    )
    .await
    .expect(200);

    // Psychiatry stayed away from the follow-up: a deviation, reported, investigated, answered,
    // closed; the one filed automatically for the meeting's absence is dismissed.
    let mut deviation = moved(&ex("report_deviation"), "2027-02-03T10:00:00Z");
    deviation["plan_id"] = plan["id"].clone();
    let reported = app
        .post("/api/v1/deviations", &social_services, deviation)
        .await
        .expect(201)
        .body;
    let deviation_uri = format!("/api/v1/deviations/{}", id(&reported));
    let updated = app
        .put(
            &deviation_uri,
            &social_services,
            ex("update_deviation"),
            Some(&format!("\"{}\"", reported["version"])),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(updated["status"], reported["status"]);
    app.send(
        actix_web::http::Method::POST,
        &format!("{deviation_uri}/investigate"),
        Some(&social_services),
        None,
        &[],
    )
    .await
    .expect(200);
    app.post(
        &format!("{deviation_uri}/feedback"),
        &psychiatry,
        ex("give_deviation_feedback"),
    )
    .await
    .expect(200);
    app.post(
        &format!("{deviation_uri}/close"),
        &social_services,
        ex("close_deviation"),
    )
    .await
    .expect(200);
    let suggested = app
        .get("/api/v1/deviations?status=suggested", &psychiatry)
        .await
        .expect(200)
        .body;
    let filed = &suggested["items"][0];
    app.post(
        &format!("/api/v1/deviations/{}/dismiss", id(filed)),
        &psychiatry,
        ex("dismiss_deviation"),
    )
    .await
    .expect(200);

    // Another plan of the story's shape is revised, completed, and the first one closed; a third
    // one's consent is withdrawn.
    let revising = established_plan(&app).await;
    revise(&app, &revising).await;
    let open: Vec<Value> = app
        .get(&plan_uri(&revising, "/interventions"), &reader())
        .await
        .expect(200)
        .body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["status"] == "planned" || i["status"] == "ongoing")
        .cloned()
        .collect();
    let mut completion = moved(&ex("complete_revision"), "2027-02-03T10:00:00Z");
    let decisions = completion["intervention_decisions"]
        .as_array()
        .unwrap()
        .clone();
    completion["intervention_decisions"] = json!(open
        .iter()
        .zip(decisions.iter().cycle())
        .map(|(i, d)| {
            let mut d = d.clone();
            d["intervention_id"] = i["id"].clone();
            d
        })
        .collect::<Vec<_>>());
    app.post(&plan_uri(&revising, "/revision"), &region, completion)
        .await
        .expect(200);
    app.post(&plan_uri(&plan, "/close"), &psychiatry, ex("close_plan"))
        .await
        .expect(200);
    let withdrawn = app.lisas_plan().await;
    app.post(&plan_uri(&withdrawn, "/consents"), &region, lisas_consent())
        .await
        .expect(201);
    let consents = app
        .get(&plan_uri(&withdrawn, "/consents"), &reader())
        .await
        .expect(200)
        .body;
    app.post(
        &plan_uri(
            &withdrawn,
            &format!("/consents/{}/withdraw", id(&consents["items"][0])),
        ),
        &region,
        ex("withdraw_consent"),
    )
    .await
    .expect(200);
    // And Lisa withdraws the consent of another plan herself.
    let hers = app.lisas_plan().await;
    let consent = app
        .post(&plan_uri(&hers, "/consents"), &region, lisas_consent())
        .await
        .expect(201)
        .body;
    app.post(
        &format!(
            "/api/v1/me/plans/{}/consents/{}/withdraw",
            id(&hers),
            id(&consent)
        ),
        &lisa_herself,
        ex("withdraw_my_consent"),
    )
    .await
    .expect(200);

    // A journal system subscribes, then changes what it hears of.
    let subscription = app
        .post("/api/v1/subscriptions", &region, ex("create_subscription"))
        .await
        .expect(201)
        .body;
    app.put(
        &format!("/api/v1/subscriptions/{}", id(&subscription)),
        &region,
        ex("update_subscription"),
        Some("\"1\""),
    )
    .await
    .expect(200);

    // And a source system imports a plan's whole history (its own times: no moving needed).
    let importer = Who {
        unit: "SE2321000016-IMP1",
        principal: Principal::Region,
        roles: vec![Role::Import],
    };
    let import = app
        .post("/api/v1/imports", &importer, ex("create_import"))
        .await
        .expect(201)
        .body;
    let record = ex("upload_import_records");
    let upload = app
        .send_request(
            actix_web::test::TestRequest::post()
                .uri(&format!("/api/v1/imports/{}/records", id(&import)))
                .insert_header(("authorization", format!("Bearer {}", app.token(&importer))))
                .insert_header(("content-type", "application/x-ndjson"))
                .set_payload(format!("{record}\n")),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(upload["counts"]["failed"], 0, "{upload:#}");
    assert_eq!(upload["counts"]["created"], 1, "{upload:#}");

    // Every operation with a request body was taken.
    let with_body: std::collections::BTreeSet<String> = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .filter(|op| op.get("requestBody").is_some())
        .map(|op| op["operationId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(sent, with_body);
}

on_both_databases!(every_request_example_is_accepted_in_its_place_in_the_story);
