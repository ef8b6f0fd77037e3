//! Bulk import through HTTP: plans with their whole history replayed under the process rules,
//! bad records reported and stored nowhere, the same file twice changing nothing, changed records
//! updating, dry runs, progress while an upload streams.

use actix_web::http::Method;
use actix_web::test;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::{json, Value};
use sip::auth::Role;
use sip::domain::Principal;

use crate::common::*;
use crate::on_both_databases;

pub(crate) fn importer() -> Who {
    Who {
        unit: "SE2321000016-IMP1",
        principal: Principal::Region,
        roles: vec![Role::Import],
    }
}

/// Times of a plan that began `days` days ago.
pub(crate) struct Clock(DateTime<Utc>);

impl Clock {
    pub(crate) fn began_days_ago(days: i64) -> Clock {
        Clock(
            (Utc::now() - Duration::days(days))
                .date_naive()
                .and_hms_opt(9, 0, 0)
                .unwrap()
                .and_utc(),
        )
    }
    fn at(&self, day: i64) -> String {
        (self.0 + Duration::days(day)).to_rfc3339()
    }
    fn date(&self, day: i64) -> String {
        (self.0 + Duration::days(day)).date_naive().to_string()
    }
}

fn unit(hsa_id: &str, name: &str, principal: &str) -> Value {
    json!({"kind": "unit", "hsa_id": hsa_id, "name": name, "principal": principal})
}

fn person(name: &str, hsa_id: &str, principal: &str) -> Value {
    json!({"name": name, "hsa_id": hsa_id, "principal": principal})
}

/// Erik, 71 (DOMAIN case 4), as a source system kept him: a plan established, followed up twice,
/// revised once — an intervention cancelled with a reason, another added — with one intervention
/// not carried out, and its third follow-up still ahead.
pub(crate) fn eriks_record(external_id: &str, identity_number: &str, clock: &Clock) -> Value {
    let c = clock;
    json!({
        "external_id": external_id,
        "individual": {"external_id": format!("person-{identity_number}"), "details": {
            "identity_number": identity_number, "given_name": "Erik", "family_name": "Testsson"}},
        "plan": {
            "opened_at": c.at(0),
            "initiating_unit": {"hsa_id": REGION_UNIT, "principal": "region"},
            "need_reason": "Dementia: needs from primary care and home care at once",
            "what_matters": "To live at home as long as possible"
        },
        "consents": [{
            "external_id": "c-1",
            "recorded_at": c.at(2),
            "consent": {
                "outcome": "given", "form": "written",
                "givers": [{"role": "legal_representative", "name": "Gunnel Testsson", "representative_kind": "trustee"}],
                "covered_parties": [
                    unit(REGION_UNIT, "Vårdcentralen", "region"),
                    unit(MUNICIPALITY_UNIT, "Hemtjänsten", "municipality"),
                    {"kind": "actor", "name": "Anhörigstöd", "principal": "other"}
                ],
                "permissions": {"share_information": true, "send_summons": true, "establish_plan": true},
                "valid_from": c.date(2), "valid_until": c.date(2 + 700)
            }
        }],
        "goals": [
            {"external_id": "g-1", "goal": {"text": "Erik lives at home"}},
            {"external_id": "g-2", "goal": {"text": "Erik takes his walk every day", "measure": "days a week", "parent_id": "g-1"}}
        ],
        "interventions": [
            {"external_id": "i-1", "intervention": {"description": "Home care visits mornings and evenings", "goal_ids": ["g-1"], "responsible": "municipality", "responsible_unit": MUNICIPALITY_UNIT, "frequency": "twice a day"},
             "status_history": [{"at": c.at(25), "change": {"status": "ongoing"}}]},
            {"external_id": "i-2", "intervention": {"description": "Medication review", "goal_ids": ["g-1"], "responsible": "region", "responsible_unit": REGION_UNIT}},
            {"external_id": "i-3", "intervention": {"description": "Walking group", "goal_ids": ["g-2"], "responsible": "other", "responsible_actor": "Anhörigstöd"},
             "status_history": [{"at": c.at(30), "change": {"status": "not_carried_out", "reason": "the group was full"}}]},
            {"external_id": "i-4", "added_in_revision": 2, "intervention": {"description": "Day care twice a week", "goal_ids": ["g-2"], "responsible": "municipality", "responsible_unit": MUNICIPALITY_UNIT}}
        ],
        "summons": [{
            "external_id": "s-1",
            "sent_at": c.at(5),
            "summons": {
                "purpose": "To live at home as long as possible",
                "questions": ["What help does Erik need at home?"],
                "meeting": {"starts_at": c.at(20), "place": "Erik's home", "form": "home"},
                "recipients": [
                    unit(REGION_UNIT, "Vårdcentralen", "region"),
                    unit(MUNICIPALITY_UNIT, "Hemtjänsten", "municipality"),
                    {"kind": "actor", "name": "Anhörigstöd", "principal": "other"}
                ]
            },
            "answers": [
                {"recipient": REGION_UNIT, "answered_at": c.at(7), "answer": {"response": "accepted", "attendees": ["Anna Lind"]}},
                {"recipient": MUNICIPALITY_UNIT, "answered_at": c.at(8), "answer": {"response": "declined", "substitute": "Bo Ek"}},
                {"recipient": "anhörigstöd", "answered_at": c.at(8), "answer": {"response": "accepted", "attendees": ["Eva"]}}
            ]
        }],
        "meeting": {
            "summons_id": "s-1", "held_at": c.at(20),
            "leader": person("Anna Lind", REGION_UNIT, "region"),
            "secretary": person("Bo Ek", MUNICIPALITY_UNIT, "municipality"),
            "participants": [person("Anna Lind", REGION_UNIT, "region"), person("Bo Ek", MUNICIPALITY_UNIT, "municipality"), {"name": "Erik", "role": "the individual"}],
            "attendance": [
                {"recipient_id": REGION_UNIT, "attended": true},
                {"recipient_id": MUNICIPALITY_UNIT, "attended": true},
                {"recipient_id": "Anhörigstöd", "attended": true}
            ],
            "coordinator": person("Anna Lind", REGION_UNIT, "region"),
            "responsible_principal": "municipality",
            "individual_agreed": true, "individual_received_plan": true, "sip_survey_offered": true, "visible_in_1177": false,
            "first_follow_up": {"date": c.date(80), "place": "Erik's home"}
        },
        "follow_ups": [
            {"external_id": "f-1", "record": {
                "held_on": c.date(80),
                "goal_outcomes": [{"goal_id": "g-1", "outcome": "partly_fulfilled"}, {"goal_id": "g-2", "outcome": "fulfilled"}],
                "intervention_reviews": [{"intervention_id": "i-1", "carried_out": true}, {"intervention_id": "i-2", "carried_out": true}],
                "decision": "continue",
                "next_follow_up": {"date": c.date(150), "place": "Erik's home"}
            }},
            {"external_id": "f-2", "record": {
                "held_on": c.date(150),
                "goal_outcomes": [{"goal_id": "g-1", "outcome": "partly_fulfilled"}],
                "intervention_reviews": [{"intervention_id": "i-1", "carried_out": true}, {"intervention_id": "i-2", "carried_out": true, "effect": "fewer medicines"}],
                "new_circumstances": "Erik forgets his medicines",
                "decision": "revise"
            }, "revision": {
                "completed_at": c.at(152),
                "completion": {
                    "intervention_decisions": [
                        {"intervention_id": "i-1", "decision": "carry_over"},
                        {"intervention_id": "i-2", "decision": "cancel", "reason": "the review is done"}
                    ],
                    "next_follow_up": {"date": c.date(260), "place": "Erik's home"}
                }
            }},
            {"external_id": "f-3"}
        ]
    })
}

/// A plan whose individual refused consent.
pub(crate) fn refused_record(external_id: &str, clock: &Clock) -> Value {
    json!({
        "external_id": external_id,
        "individual": {"external_id": "person-lisa", "details": {"identity_number": LISA_PNR, "given_name": "Lisa", "family_name": "Testsson"}},
        "plan": {"opened_at": clock.at(0), "initiating_unit": {"hsa_id": REGION_UNIT, "principal": "region"}, "need_reason": "needs from two principals"},
        "consents": [{"external_id": "c-1", "recorded_at": clock.at(1), "consent": {
            "outcome": "refused", "form": "verbal", "documented_by": "Kim Berg, kurator", "givers": [{"role": "individual"}],
            "note": "does not want a plan now"}}]
    })
}

pub(crate) fn ndjson(records: &[Value]) -> String {
    records
        .iter()
        .map(|r| r.to_string() + "\n")
        .collect::<String>()
}

pub(crate) async fn new_import(app: &TestApp, dry_run: bool) -> Value {
    app.post(
        "/api/v1/imports",
        &importer(),
        json!({"source_system": "cosmic-test", "dry_run": dry_run}),
    )
    .await
    .expect(201)
    .body
}

pub(crate) async fn upload(app: &TestApp, import: &Value, body: String) -> Reply {
    let req = test::TestRequest::default()
        .method(Method::POST)
        .uri(&format!(
            "/api/v1/imports/{}/records",
            import["id"].as_str().unwrap()
        ))
        .insert_header((
            "authorization",
            format!("Bearer {}", app.token(&importer())),
        ))
        .insert_header(("content-type", "application/x-ndjson"))
        .set_payload(body);
    app.send_request(req).await
}

/// Imports `records` in a new import; returns the finished import.
pub(crate) async fn import(app: &TestApp, records: &[Value]) -> Value {
    let created = new_import(app, false).await;
    upload(app, &created, ndjson(records))
        .await
        .expect(200)
        .body
}

async fn report(app: &TestApp, import: &Value, query: &str) -> Vec<Value> {
    app.get(
        &format!(
            "/api/v1/imports/{}/records?limit=200{query}",
            import["id"].as_str().unwrap()
        ),
        &importer(),
    )
    .await
    .expect(200)
    .body["items"]
        .as_array()
        .unwrap()
        .clone()
}

fn counts(import: &Value) -> (i64, i64, i64, i64) {
    let c = &import["counts"];
    (
        c["created"].as_i64().unwrap(),
        c["updated"].as_i64().unwrap(),
        c["unchanged"].as_i64().unwrap(),
        c["failed"].as_i64().unwrap(),
    )
}

async fn head(app: &TestApp) -> i64 {
    app.get("/api/v1/events?limit=1", &reader())
        .await
        .expect(200)
        .body["head"]
        .as_i64()
        .unwrap()
}

async fn a_file_of_plans_is_replayed_under_the_process_rules(app: TestApp) {
    let clock = Clock::began_days_ago(200);
    let erik = eriks_record("sip-erik", ERIK_PNR, &clock);
    let refused = refused_record("sip-lisa", &clock);
    // Leader and secretary are one person: the meeting breaks a rule.
    let mut same_person = eriks_record("sip-bad", ALEX_PNR, &clock);
    same_person["meeting"]["secretary"] = person("anna  lind", MUNICIPALITY_UNIT, "municipality");
    let file = format!(
        "{}\n{{\"external_id\": \"broken\", \"plan\": \n{}",
        ndjson(&[erik.clone(), refused.clone()]).trim_end(),
        ndjson(&[same_person])
    );

    let created = new_import(&app, false).await;
    assert_eq!(created["status"], "awaiting_data");
    let finished = upload(&app, &created, file).await.expect(200).body;
    assert_eq!(finished["status"], "completed");
    assert_eq!(finished["counts"]["lines_read"], 4);
    assert_eq!(counts(&finished), (2, 0, 0, 2));

    // The report: the plans each record became, and where and why the bad ones fail.
    let lines = report(&app, &finished, "").await;
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["outcome"], "created");
    assert_eq!(lines[0]["external_id"], "sip-erik");
    let failed = report(&app, &finished, "&outcome=failed").await;
    assert_eq!(failed.len(), 2);
    assert_eq!(failed[0]["line"], 3);
    assert_eq!(failed[0]["external_id"], "broken");
    assert_eq!(failed[1]["line"], 4);
    assert_eq!(failed[1]["external_id"], "sip-bad");
    assert_eq!(failed[1]["errors"][0]["field"], "$.meeting.secretary.name");
    assert!(failed[1]["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("two different people"));
    // Nothing of the bad record is stored: not even its individual.
    app.post(
        "/api/v1/individuals/search",
        &reader(),
        json!({"identity_number": ALEX_PNR}),
    )
    .await
    .expect(404);

    // Erik's plan, as the initiating unit reads it: established, revised, followed up.
    let plan_id = lines[0]["plan_id"].as_str().unwrap();
    let document = app
        .get(&format!("/api/v1/plans/{plan_id}/document"), &reader())
        .await
        .expect(200)
        .body;
    let plan = &document["plan"];
    assert_eq!(plan["status"], "established");
    assert_eq!(plan["revision"], 2);
    assert_eq!(plan["initiating_unit"]["hsa_id"], REGION_UNIT);
    assert_eq!(plan["procedure_code"], "AU124");
    assert_eq!(plan["coordinator"]["hsa_id"], REGION_UNIT);
    assert_eq!(plan["next_follow_up_on"], clock.date(260));
    assert_eq!(plan["created_at"].as_str().unwrap()[..10], clock.date(0));
    assert_eq!(document["individual"]["given_name"], "Erik");
    assert_eq!(
        document["consents"][0]["givers"][0]["representative_kind"],
        "trustee"
    );
    let statuses: Vec<&str> = document["interventions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        vec!["ongoing", "cancelled", "not_carried_out", "planned"]
    );
    assert_eq!(
        document["interventions"][1]["status_reason"],
        "the review is done"
    );
    let goals: Vec<&str> = document["goals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["status"].as_str().unwrap())
        .collect();
    assert_eq!(goals, vec!["partly_fulfilled", "fulfilled"]);
    let held: Vec<&Value> = document["follow_ups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["held_on"].is_string())
        .collect();
    assert_eq!(held.len(), 2);
    assert_eq!(document["follow_ups"].as_array().unwrap().len(), 3);
    assert_eq!(
        document["meeting"]["held_at"].as_str().unwrap()[..10],
        clock.date(20)
    );
    assert_eq!(
        document["summons"][0]["recipients"][1]["substitute"],
        "Bo Ek"
    );
    let revisions = app
        .get(&format!("/api/v1/plans/{plan_id}/revisions"), &reader())
        .await
        .expect(200)
        .body;
    assert_eq!(revisions["items"].as_array().unwrap().len(), 2);

    // The history tells it in order, at the times it happened; the access log names the importer.
    let history = app
        .get(
            &format!("/api/v1/plans/{plan_id}/history?limit=200"),
            &reader(),
        )
        .await
        .expect(200)
        .body;
    let events = history["items"].as_array().unwrap();
    assert_eq!(events[0]["event_type"], "plan.created");
    assert_eq!(
        events[0]["occurred_at"].as_str().unwrap()[..10],
        clock.date(0)
    );
    assert!(events.iter().any(|e| e["event_type"] == "plan.revised"));
    assert!(events.iter().all(|e| e["subject"] == "tester"));
    // The intervention not carried out filed its deviation, for the initiating unit to confirm.
    let deviations = app
        .get("/api/v1/deviations?status=suggested", &region_writer())
        .await
        .expect(200)
        .body;
    assert!(deviations["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["category"] == "intervention_not_carried_out" && d["plan_id"] == plan_id));

    // The refused plan is refused.
    let lisa_plan = lines[1]["plan_id"].as_str().unwrap();
    let lisa = app
        .get(&format!("/api/v1/plans/{lisa_plan}"), &reader())
        .await
        .expect(200)
        .body;
    assert_eq!(lisa["status"], "refused");
}

on_both_databases!(a_file_of_plans_is_replayed_under_the_process_rules,);
