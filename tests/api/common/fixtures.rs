//! Plans in each state of the process, and the request bodies that take them there: the fixtures
//! the process, feed, FHIR, webhook, deviation, access and example tests share.

use chrono::{Duration, Utc};
use serde_json::{json, Value};

use super::*;

pub fn id(v: &Value) -> &str {
    v["id"].as_str().unwrap()
}

pub fn plan_uri(plan: &Value, rest: &str) -> String {
    format!("/api/v1/plans/{}{rest}", id(plan))
}

pub fn days(n: i64) -> String {
    (sip::clock::Clock::system().today() + Duration::days(n)).to_string()
}

pub fn summons_body(recipients: Value) -> Value {
    json!({
        "purpose": "To get going with work training",
        "questions": ["Who supports Lisa in the mornings?", "When can work training start?"],
        "meeting": {"starts_at": (Utc::now() + Duration::days(7)).to_rfc3339(), "place": "Vårdcentralen Söder", "form": "premises"},
        "support_person": "Her sister",
        "recipients": recipients,
    })
}

pub fn region_and_municipality() -> Value {
    json!([
        {"kind": "unit", "hsa_id": REGION_UNIT, "name": "Psykiatrisk öppenvård", "principal": "region"},
        {"kind": "unit", "hsa_id": MUNICIPALITY_UNIT, "name": "Socialtjänsten", "principal": "municipality"},
        {"kind": "actor", "name": "Arbetsförmedlingen", "principal": "other"}
    ])
}

pub fn person(name: &str, hsa_id: &str, principal: &str) -> Value {
    json!({"name": name, "hsa_id": hsa_id, "principal": principal})
}

pub fn meeting_body(summons: &Value, attended: bool) -> Value {
    let attendance: Vec<Value> = summons["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["response"] != "forwarded")
        .map(|r| json!({"recipient_id": r["id"], "attended": attended}))
        .collect();
    json!({
        "summons_id": summons["id"],
        "held_at": Utc::now().to_rfc3339(),
        "leader": person("Anna Lind", REGION_UNIT, "region"),
        "secretary": person("Bo Ek", MUNICIPALITY_UNIT, "municipality"),
        "participants": [
            person("Anna Lind", REGION_UNIT, "region"),
            person("Bo Ek", MUNICIPALITY_UNIT, "municipality"),
            {"name": "Lisa", "role": "the individual"}
        ],
        "attendance": attendance,
        "coordinator": person("Anna Lind", REGION_UNIT, "region"),
        "responsible_principal": "municipality",
        "disagreements": "Who pays for the transport to work training",
        "individual_agreed": true,
        "individual_received_plan": true,
        "sip_survey_offered": true,
        "visible_in_1177": true,
        "first_follow_up": {"date": days(60), "place": "Vårdcentralen Söder"},
    })
}

pub async fn add_goal(app: &TestApp, plan: &Value, text: &str, parent: Option<&str>) -> Value {
    let mut body = json!({"text": text, "measure": "days a week", "target_date": days(90)});
    if let Some(parent) = parent {
        body["parent_id"] = json!(parent);
    }
    app.post(&plan_uri(plan, "/goals"), &region_writer(), body)
        .await
        .expect(201)
        .body
}

pub async fn add_intervention(app: &TestApp, plan: &Value, body: Value) -> Value {
    app.post(&plan_uri(plan, "/interventions"), &region_writer(), body)
        .await
        .expect(201)
        .body
}

pub fn region_intervention(goal_ids: Value) -> Value {
    json!({
        "description": "Case manager meets Lisa weekly",
        "goal_ids": goal_ids,
        "responsible": "region",
        "responsible_unit": REGION_UNIT,
        "performer": "Anna Lind",
        "start_date": days(7),
        "frequency": "weekly",
        "place": "Lisa's home"
    })
}

pub fn municipality_intervention() -> Value {
    json!({"description": "Housing support three times a week", "responsible": "municipality", "responsible_unit": MUNICIPALITY_UNIT, "frequency": "3 times a week"})
}

/// Records Lisa's consent to the plan (the region's writer), as the plan's initiating unit does.
pub async fn record_lisas_consent(app: &TestApp, plan: &Value) {
    app.post(
        &plan_uri(plan, "/consents"),
        &region_writer(),
        lisas_consent(),
    )
    .await
    .expect(201);
}

pub async fn consented_plan(app: &TestApp) -> Value {
    let plan = app.lisas_plan().await;
    record_lisas_consent(app, &plan).await;
    plan
}

pub async fn summoned_plan(app: &TestApp) -> (Value, Value) {
    let plan = consented_plan(app).await;
    add_intervention(app, &plan, region_intervention(json!([]))).await;
    let summons = app
        .post(
            &plan_uri(&plan, "/summons"),
            &region_writer(),
            summons_body(region_and_municipality()),
        )
        .await
        .expect(201)
        .body;
    (plan, summons)
}

/// Summons the region's and the municipality's units and holds the meeting: the plan is established.
pub async fn summon_and_meet(app: &TestApp, plan: &Value) {
    let summons = app
        .post(
            &plan_uri(plan, "/summons"),
            &region_writer(),
            summons_body(region_and_municipality()),
        )
        .await
        .expect(201)
        .body;
    app.post(
        &plan_uri(plan, "/meeting"),
        &region_writer(),
        meeting_body(&summons, true),
    )
    .await
    .expect(200);
}

pub async fn established_plan(app: &TestApp) -> Value {
    let (plan, summons) = summoned_plan(app).await;
    app.post(
        &plan_uri(&plan, "/meeting"),
        &region_writer(),
        meeting_body(&summons, true),
    )
    .await
    .expect(200);
    plan
}

pub async fn status_of(app: &TestApp, plan: &Value) -> Value {
    app.get(&plan_uri(plan, ""), &reader())
        .await
        .expect(200)
        .body
}

/// Records the first follow-up of an established plan with the decision to revise.
pub async fn revise(app: &TestApp, plan: &Value) {
    let follow_ups = app
        .get(&plan_uri(plan, "/follow-ups"), &reader())
        .await
        .expect(200)
        .body;
    let interventions = app
        .get(&plan_uri(plan, "/interventions"), &reader())
        .await
        .expect(200)
        .body;
    let reviews: Vec<Value> = interventions["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["status"] == "planned" || i["status"] == "ongoing")
        .map(|i| json!({"intervention_id": i["id"], "carried_out": true}))
        .collect();
    let record = format!(
        "{}/follow-ups/{}/record",
        plan_uri(plan, ""),
        id(&follow_ups["items"][0])
    );
    app.post(
        &record,
        &region_writer(),
        json!({"held_on": days(0), "intervention_reviews": reviews, "decision": "revise"}),
    )
    .await
    .expect(200);
}
