//! Bulk import through HTTP: plans with their whole history replayed under the process rules,
//! bad records reported and stored nowhere, the same file twice changing nothing, changed records
//! updating, dry runs, progress while an upload streams.

use actix_web::http::Method;
use actix_web::test;
use chrono::{DateTime, Duration, Utc};
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
            (sip::clock::Clock::system().today() - Duration::days(days))
                .and_hms_opt(9, 0, 0)
                .unwrap()
                .and_utc(),
        )
    }
    fn at(&self, day: i64) -> String {
        (self.0 + Duration::days(day)).to_rfc3339()
    }
    fn date(&self, day: i64) -> String {
        sip::domain::calendar::swedish_date(self.0 + Duration::days(day)).to_string()
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
    new_import_of(app, "cosmic-test", dry_run).await
}

async fn new_import_of(app: &TestApp, source_system: &str, dry_run: bool) -> Value {
    app.post(
        "/api/v1/imports",
        &importer(),
        json!({"source_system": source_system, "dry_run": dry_run}),
    )
    .await
    .expect(201)
    .body
}

/// A request to upload `import`'s records, without its body.
fn upload_request(app: &TestApp, import: &Value) -> test::TestRequest {
    test::TestRequest::default()
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
}

/// An upload of `import`'s records with the body `payload`, which the test feeds (and ends) through
/// its sender.
fn streamed_upload(
    app: &TestApp,
    import: &Value,
    payload: actix_http::h1::Payload,
) -> actix_http::Request {
    upload_request(app, import)
        .to_request()
        .replace_payload(actix_http::Payload::from(payload))
        .0
}

pub(crate) async fn upload(app: &TestApp, import: &Value, body: String) -> Reply {
    app.send_request(upload_request(app, import).set_payload(body))
        .await
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
    // Every step is a change event (the plan's history), and each stored record one access-log row
    // naming its plan and its individual; the failed records left neither.
    assert!(
        app.count("SELECT count(*) AS n FROM change_events".into())
            .await
            > 10
    );
    assert_eq!(
        app.count(
            "SELECT count(*) AS n FROM audit_events WHERE request_id LIKE 'import:%' \
             AND action = 'plan.imported' AND resource_id = plan_id AND individual_id IS NOT NULL"
                .into()
        )
        .await,
        2,
        "one access-log row per stored record"
    );
    assert_eq!(
        app.count(
            "SELECT count(*) AS n FROM audit_events WHERE request_id LIKE 'import:%' \
             AND action <> 'plan.imported'"
                .into()
        )
        .await,
        0
    );
    assert_eq!(
        app.count(
            "SELECT count(*) AS n FROM (SELECT plan_id FROM change_events \
             WHERE plan_id IS NOT NULL EXCEPT SELECT plan_id FROM audit_events WHERE action = 'plan.imported') missing"
                .into()
        )
        .await,
        0,
        "changes of a plan without its record's access-log row"
    );

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
    // "Who has written Erik's data": his organisation's auditor finds the import as one create.
    let erik_id = document["individual"]["id"].as_str().unwrap();
    let auditor = Who {
        unit: "SE2321000016-AUD1",
        principal: Principal::Region,
        roles: vec![Role::Audit],
    };
    let log = app
        .get(
            &format!("/api/v1/audit-events?individual_id={erik_id}&limit=200"),
            &auditor,
        )
        .await
        .expect(200)
        .body;
    let imported: Vec<&Value> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "plan.imported")
        .collect();
    assert_eq!(imported.len(), 1, "{log}");
    assert_eq!(imported[0]["plan_id"], plan_id);
    assert_eq!(
        imported[0]["request_id"],
        format!("import:{}:1", finished["id"].as_str().unwrap())
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

async fn the_same_file_twice_changes_nothing_and_a_changed_record_updates(app: TestApp) {
    let clock = Clock::began_days_ago(200);
    let erik = eriks_record("sip-erik", ERIK_PNR, &clock);
    let lisa = refused_record("sip-lisa", &clock);
    let first = import(&app, &[erik.clone(), lisa.clone()]).await;
    assert_eq!(counts(&first), (2, 0, 0, 0));
    let plan_id = report(&app, &first, "").await[0]["plan_id"].clone();
    let before = head(&app).await;

    // The same file again: nothing changes, not even the change feed.
    let again = import(&app, &[erik.clone(), lisa.clone()]).await;
    assert_eq!(counts(&again), (0, 0, 2, 0));
    assert_eq!(report(&app, &again, "").await[0]["plan_id"], plan_id);
    assert_eq!(head(&app).await, before, "a repeated import writes nothing");

    // A changed record updates what it imported, under the rules: the plan's details, and an
    // intervention now completed.
    let mut changed = erik.clone();
    changed["plan"]["need_reason"] =
        json!("Dementia and a fall: needs from primary care and home care");
    changed["interventions"][0]["status_history"]
        .as_array_mut()
        .unwrap()
        .push(json!({"at": (Utc::now() - Duration::days(1)).to_rfc3339(), "change": {"status": "completed"}}));
    let updated = import(&app, &[changed.clone(), lisa.clone()]).await;
    assert_eq!(counts(&updated), (0, 1, 1, 0));
    let plan = app
        .get(
            &format!("/api/v1/plans/{}/document", plan_id.as_str().unwrap()),
            &reader(),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(
        plan["plan"]["need_reason"],
        "Dementia and a fall: needs from primary care and home care"
    );
    assert_eq!(plan["interventions"][0]["status"], "completed");
    let (events, _) = crate::feed::read_feed(&app, &reader(), before, 100).await;
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"plan.updated") && kinds.contains(&"intervention.status_changed"),
        "{kinds:?}"
    );
    // … and again it is unchanged.
    assert_eq!(
        counts(&import(&app, &[changed.clone()]).await),
        (0, 0, 1, 0)
    );

    // What the process never changes is refused, with where: a recorded consent …
    let mut consent_changed = changed.clone();
    consent_changed["plan"]["need_reason"] = json!("yet another reason");
    consent_changed["consents"][0]["consent"]["valid_until"] = json!(clock.date(600));
    let refused = import(&app, &[consent_changed]).await;
    assert_eq!(counts(&refused), (0, 0, 0, 1));
    let error = &report(&app, &refused, "").await[0]["errors"][0];
    assert_eq!(error["field"], "$.consents[0].consent");
    assert!(error["message"]
        .as_str()
        .unwrap()
        .contains("cannot change once recorded"));
    // … and the record is stored nowhere: its new plan details did not land either.
    let plan = app
        .get(
            &format!("/api/v1/plans/{}", plan_id.as_str().unwrap()),
            &reader(),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(
        plan["need_reason"],
        "Dementia and a fall: needs from primary care and home care"
    );

    // … and content of an established plan changes only in a revision.
    let mut goal_changed = changed.clone();
    goal_changed["goals"][0]["goal"]["text"] = json!("Erik lives at home with his wife");
    let refused = import(&app, &[goal_changed]).await;
    let error = &report(&app, &refused, "").await[0]["errors"][0];
    assert_eq!(error["field"], "$.goals[0].goal");
    assert!(
        error["message"].as_str().unwrap().contains("established"),
        "{error}"
    );

    // A new plan for an individual already registered links to them.
    let second_plan = refused_record("sip-lisa-2", &clock);
    let linked = import(&app, &[second_plan]).await;
    assert_eq!(counts(&linked), (1, 0, 0, 0));
    let plans = app
        .get(
            &format!(
                "/api/v1/plans?individual_id={}",
                plan_of(&app, &first, 1).await["individual_id"]
                    .as_str()
                    .unwrap()
            ),
            &reader(),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(plans["items"].as_array().unwrap().len(), 2);
}

async fn plan_of(app: &TestApp, import: &Value, line: usize) -> Value {
    let id = report(app, import, "").await[line]["plan_id"].clone();
    app.get(
        &format!("/api/v1/plans/{}", id.as_str().unwrap()),
        &reader(),
    )
    .await
    .expect(200)
    .body
}

/// An import that wrote plans leaves PostgreSQL's planner knowing the tables it filled, so the
/// first reads after a bulk load into a new database are planned for what it holds (not for
/// empty tables until autovacuum comes by). SQLite is left without statistics, as its queries
/// are written for.
async fn an_import_leaves_the_planner_statistics_up_to_date(app: TestApp) {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let clock = Clock::began_days_ago(400);
    let finished = import(&app, &[eriks_record("sip-erik", ERIK_PNR, &clock)]).await;
    assert_eq!(finished["counts"]["created"], 1, "{finished}");
    let db = app.db().clone();
    let count = move |sql: &'static str| {
        let db = db.clone();
        async move {
            actix_web::web::block(move || {
                db.read_now(|c| match c {
                    sip::db::DbConn::Postgres(pg) => {
                        Ok(diesel::sql_query(sql).get_result::<Count>(pg)?.n)
                    }
                    sip::db::DbConn::Sqlite(lite) => {
                        Ok(diesel::sql_query(sql).get_result::<Count>(lite)?.n)
                    }
                })
            })
            .await
            .unwrap()
            .unwrap()
        }
    };
    if app.db().backend() == sip::db::Backend::Postgres {
        let analysed =
            "SELECT count(*) AS n FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL \
                        AND relname IN ('plans', 'goals', 'interventions', 'intervention_goals', \
                        'consents', 'summons_recipients', 'follow_ups', 'import_keys')";
        eventually("the import's tables analysed", || async {
            (count(analysed).await == 8).then_some(())
        })
        .await;
    } else {
        let stat_tables = "SELECT count(*) AS n FROM sqlite_master WHERE name LIKE 'sqlite_stat%'";
        assert_eq!(count(stat_tables).await, 0);
    }
}

async fn a_dry_run_checks_every_record_and_stores_nothing(app: TestApp) {
    let clock = Clock::began_days_ago(200);
    let before = head(&app).await;
    let mut bad = refused_record("sip-bad", &clock);
    bad["consents"][0]["consent"]["documented_by"] = Value::Null;
    let created = new_import(&app, true).await;
    assert_eq!(created["dry_run"], true);
    let finished = upload(
        &app,
        &created,
        ndjson(&[eriks_record("sip-erik", ERIK_PNR, &clock), bad]),
    )
    .await
    .expect(200)
    .body;
    assert_eq!(counts(&finished), (1, 0, 0, 1));
    let failed = report(&app, &finished, "&outcome=failed").await;
    assert_eq!(
        failed[0]["errors"][0]["field"],
        "$.consents[0].consent.documented_by"
    );
    assert_eq!(head(&app).await, before, "a dry run writes nothing");
    let plans = app.get("/api/v1/plans", &reader()).await.expect(200).body;
    assert_eq!(plans["items"], json!([]));
    app.post(
        "/api/v1/individuals/search",
        &reader(),
        json!({"identity_number": ERIK_PNR}),
    )
    .await
    .expect(404);
    // The real import after it lands the same.
    assert_eq!(
        counts(&import(&app, &[eriks_record("sip-erik", ERIK_PNR, &clock)]).await),
        (1, 0, 0, 0)
    );
}

async fn one_file_gives_one_version_of_a_person(app: TestApp) {
    let clock = Clock::began_days_ago(100);
    let lisa = refused_record("sip-1", &clock);
    let mut renamed = refused_record("sip-2", &clock);
    renamed["individual"]["details"]["given_name"] = json!("Elisabet");
    let first = import(&app, &[lisa.clone(), renamed.clone()]).await;
    assert_eq!(counts(&first), (1, 0, 0, 1));
    let error = &report(&app, &first, "&outcome=failed").await[0]["errors"][0];
    assert_eq!(error["field"], "$.individual.details");
    assert!(error["message"].as_str().unwrap().contains("line 1"));
    // The same file again gives the same answer: nothing flips.
    assert_eq!(
        counts(&import(&app, &[lisa, renamed.clone()]).await),
        (0, 0, 1, 1)
    );
    // Alone, the new name is an update of the person.
    assert_eq!(counts(&import(&app, &[renamed]).await), (1, 0, 0, 0));
    let found = app
        .post(
            "/api/v1/individuals/search",
            &reader(),
            json!({"identity_number": LISA_PNR}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(found["given_name"], "Elisabet");
}

/// A batch reads its records' keys and individuals ahead, before its first record: what an
/// earlier line of the same batch wrote — the same individual, the same identity number under
/// another source id, the same record again — must still be what a later line finds, as must an
/// individual the API registered before.
async fn a_batch_finds_what_its_earlier_lines_wrote(app: TestApp) {
    let clock = Clock::began_days_ago(300);
    let registered = app.individual(LISA_PNR, "Erik", json!([])).await;
    let erik = eriks_record("sip-1", ERIK_PNR, &clock);
    let erik_again = eriks_record("sip-2", ERIK_PNR, &clock);
    let mut erik_elsewhere = eriks_record("sip-3", ERIK_PNR, &clock);
    erik_elsewhere["individual"]["external_id"] = json!("another-id-of-erik");
    let registered_before = eriks_record("sip-4", LISA_PNR, &clock);
    let first = import(
        &app,
        &[
            erik.clone(),
            erik_again,
            erik_elsewhere,
            erik,
            registered_before,
        ],
    )
    .await;
    assert_eq!(counts(&first), (4, 0, 1, 0), "{first}");
    let individual_of = |plan: Value| plan["individual_id"].as_str().unwrap().to_string();
    let eriks = individual_of(plan_of(&app, &first, 0).await);
    for line in [1, 2, 3] {
        assert_eq!(individual_of(plan_of(&app, &first, line).await), eriks);
    }
    assert_eq!(
        individual_of(plan_of(&app, &first, 4).await),
        registered["id"].as_str().unwrap()
    );
    for number in [ERIK_PNR, LISA_PNR] {
        let records = format!(
            "SELECT count(*) AS n FROM individuals WHERE identity_number = '{}'",
            number.replace('-', "")
        );
        assert_eq!(app.count(records).await, 1, "one record of {number}");
    }

    // Erik's source gives him another number, and another line of the same batch Erik's old
    // number: that line finds nobody with it any more, and registers its own person.
    const SAM_PNR: &str = "19701063-2391";
    let mut renumbered = eriks_record("sip-5", SAM_PNR, &clock);
    renumbered["individual"]["external_id"] = json!(format!("person-{ERIK_PNR}"));
    let mut old_number = eriks_record("sip-6", ERIK_PNR, &clock);
    old_number["individual"]["external_id"] = json!("a-third-person");
    let second = import(&app, &[renumbered, old_number]).await;
    assert_eq!(counts(&second), (2, 0, 0, 0), "{second}");
    assert_eq!(individual_of(plan_of(&app, &second, 0).await), eriks);
    assert_ne!(individual_of(plan_of(&app, &second, 1).await), eriks);
    for number in [ERIK_PNR, SAM_PNR] {
        let records = format!(
            "SELECT count(*) AS n FROM individuals WHERE identity_number = '{}'",
            number.replace('-', "")
        );
        assert_eq!(app.count(records).await, 1, "one record of {number}");
    }
}

async fn imports_need_their_role_and_belong_to_their_unit(app: TestApp) {
    app.post(
        "/api/v1/imports",
        &region_writer(),
        json!({"source_system": "x"}),
    )
    .await
    .expect(403);
    app.post(
        "/api/v1/imports",
        &importer(),
        json!({"source_system": "no spaces"}),
    )
    .await
    .expect(422);
    let created = new_import(&app, false).await;
    let uri = format!("/api/v1/imports/{}", created["id"].as_str().unwrap());
    let other = Who {
        unit: "SE2120001314-IMP2",
        principal: Principal::Municipality,
        roles: vec![Role::Import],
    };
    app.get(&uri, &other).await.expect(404);
    assert_eq!(
        app.get("/api/v1/imports", &other).await.expect(200).body["items"],
        json!([])
    );
    app.get(&uri, &importer()).await.expect(200);
    let listed = app
        .get("/api/v1/imports", &importer())
        .await
        .expect(200)
        .body;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    // NDJSON only; the records once.
    let req = test::TestRequest::default()
        .method(Method::POST)
        .uri(&format!("{uri}/records"))
        .insert_header((
            "authorization",
            format!("Bearer {}", app.token(&importer())),
        ))
        .insert_header(("content-type", "application/json"))
        .set_payload("[]");
    let reply = app.send_request(req).await.expect(415);
    assert!(reply.body["detail"]
        .as_str()
        .unwrap()
        .contains("application/x-ndjson"));
    upload(&app, &created, String::new()).await.expect(200);
    upload(&app, &created, String::new()).await.expect(409);
    let nothing = app.get(&uri, &importer()).await.expect(200).body;
    assert_eq!(nothing["status"], "completed");
    assert_eq!(nothing["counts"]["lines_read"], 0);
    // The import role reads no plan.
    app.get("/api/v1/plans", &importer()).await.expect(403);
}

/// The file streams in: progress and the report can be read before it has all arrived.
async fn progress_is_readable_while_the_records_stream_in(app: TestApp) {
    let clock = Clock::began_days_ago(100);
    let created = new_import(&app, false).await;
    let uri = format!("/api/v1/imports/{}", created["id"].as_str().unwrap());
    let (mut sender, payload) = actix_http::h1::Payload::create(false);
    let request = streamed_upload(&app, &created, payload);
    let batch = sip::service::imports::runner::BATCH_LINES;
    let records: Vec<Value> = (0..batch + 10)
        .map(|i| refused_record(&format!("sip-{i}"), &clock))
        .collect();
    let uploading = app.send_raw(request);
    let feeding = async {
        // A whole batch, in pieces that split lines.
        let first = ndjson(&records[..batch]);
        let (a, b) = first.as_bytes().split_at(first.len() / 2);
        sender.feed_data(a.to_vec().into());
        sender.feed_data(b.to_vec().into());
        let running = eventually("the first batch to be reported", || async {
            let now = app.get(&uri, &importer()).await.expect(200).body;
            (now["counts"]["lines_read"].as_i64() == Some(batch as i64)).then_some(now)
        })
        .await;
        assert_eq!(running["status"], "running");
        assert_eq!(report(&app, &running, "").await.len(), batch);
        sender.feed_data(ndjson(&records[batch..]).into());
        sender.feed_eof();
    };
    let (finished, ()) = futures_util::future::join(uploading, feeding).await;
    let finished = finished.expect(200).body;
    assert_eq!(finished["status"], "completed");
    // One individual, so one created plan per record after the first line registered her.
    assert_eq!(finished["counts"]["lines_read"], (batch + 10) as i64);
    assert_eq!(counts(&finished).0, (batch + 10) as i64);
}

/// An upload that breaks off fails the import, keeps what landed, and says so.
async fn an_upload_that_breaks_off_keeps_what_landed(app: TestApp) {
    let clock = Clock::began_days_ago(100);
    let created = new_import(&app, false).await;
    let (mut sender, payload) = actix_http::h1::Payload::create(false);
    let request = streamed_upload(&app, &created, payload);
    sender.feed_data(ndjson(&[refused_record("sip-1", &clock)]).into());
    sender.feed_data(b"{\"external_id\": \"sip-2\", \"pla".to_vec().into());
    drop(sender);
    let finished = app.send_raw(request).await.expect(200).body;
    assert_eq!(finished["status"], "failed");
    assert!(finished["failure"].as_str().unwrap().contains("broke off"));
    assert_eq!(counts(&finished), (1, 0, 0, 0));
}

/// Two imports of one source system never run at once (they would race for the same keys): the
/// second waits with a 409 that names the running one, and takes its records once it has finished.
/// Another source system imports meanwhile.
async fn one_import_of_a_source_system_runs_at_a_time(app: TestApp) {
    let clock = Clock::began_days_ago(100);
    let first = new_import(&app, false).await;
    let first_uri = format!("/api/v1/imports/{}", first["id"].as_str().unwrap());
    let (mut sender, payload) = actix_http::h1::Payload::create(false);
    let request = streamed_upload(&app, &first, payload);
    let uploading = app.send_raw(request);
    let meanwhile = async {
        sender.feed_data(ndjson(&[refused_record("sip-1", &clock)]).into());
        eventually("the first import to run", || async {
            let now = app.get(&first_uri, &importer()).await.expect(200).body;
            (now["status"] == "running").then_some(())
        })
        .await;
        let second = new_import(&app, true).await;
        let busy = upload(&app, &second, ndjson(&[refused_record("sip-2", &clock)]))
            .await
            .expect(409);
        assert_problem(&busy);
        let detail = busy.body["detail"].as_str().unwrap();
        assert!(detail.contains(first["id"].as_str().unwrap()), "{detail}");
        assert!(detail.contains("one import of a source system runs at a time"));
        assert_eq!(busy.body["current_state"], "awaiting_data");
        let other = new_import_of(&app, "other-journal", false).await;
        let other = upload(&app, &other, ndjson(&[refused_record("sip-9", &clock)]))
            .await
            .expect(200)
            .body;
        assert_eq!(other["status"], "completed");
        sender.feed_eof();
        second
    };
    let (finished, second) = futures_util::future::join(uploading, meanwhile).await;
    assert_eq!(finished.expect(200).body["status"], "completed");
    // The waiting import kept its place and takes its records now.
    let second = upload(&app, &second, ndjson(&[refused_record("sip-2", &clock)]))
        .await
        .expect(200)
        .body;
    assert_eq!(second["status"], "completed");
    assert_eq!(second["counts"]["lines_read"], 1);
}

/// An import whose instance stopped while it ran (no heartbeat for minutes) does not block its
/// source system: the next import of the source fails it, with the reason, and runs. One that
/// started long ago but still beats is left running.
async fn an_import_left_by_a_stopped_instance_does_not_block_its_source(app: TestApp) {
    let clock = Clock::began_days_ago(100);
    let orphan = new_import(&app, false).await;
    // Another instance runs it: started long ago, and its heartbeat, just now, says it is alive.
    app.run_sql(
        "UPDATE imports SET status = 'running', started_at = '2026-01-01 08:00:00', \
         alive_at = updated_at",
    )
    .await;
    let next = new_import(&app, false).await;
    let record = ndjson(&[refused_record("sip-1", &clock)]);
    upload(&app, &next, record.clone()).await.expect(409);
    // Its instance stops: a day passes without a heartbeat.
    app.pass_days(1);
    let next = upload(&app, &next, record).await.expect(200).body;
    assert_eq!(next["status"], "completed");
    let orphan_uri = format!("/api/v1/imports/{}", orphan["id"].as_str().unwrap());
    let orphan = app.get(&orphan_uri, &importer()).await.expect(200).body;
    assert_eq!(orphan["status"], "failed");
    assert!(orphan["failure"]
        .as_str()
        .unwrap()
        .contains("the service stopped"));
}

/// Keys stored before fingerprints were versioned (a bare hash of the record as serialized then)
/// still recognise an unchanged record: importing the same file again changes nothing.
async fn a_fingerprint_stored_before_versioning_still_counts_as_unchanged(app: TestApp) {
    use sha2::{Digest, Sha256};
    let clock = Clock::began_days_ago(200);
    let erik = eriks_record("sip-erik", ERIK_PNR, &clock);
    assert_eq!(
        counts(&import(&app, std::slice::from_ref(&erik)).await),
        (1, 0, 0, 0)
    );
    let record: sip::domain::import::ImportRecord = serde_json::from_value(erik.clone()).unwrap();
    let version_1: String = Sha256::digest(serde_json::to_vec(&record).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let stored: &'static str = Box::leak(
        format!("UPDATE import_keys SET fingerprint = '{version_1}' WHERE kind = 'record'")
            .into_boxed_str(),
    );
    app.run_sql(stored).await;
    // The parts' keys no longer match anything: only the whole record's old key can tell that
    // nothing changed.
    app.run_sql(
        "UPDATE import_keys SET fingerprint = 'v2:other' WHERE kind <> 'record'; \
         UPDATE import_keys SET parts = replace(parts, '\"v2:', '\"v2:other')",
    )
    .await;
    let before = head(&app).await;
    assert_eq!(counts(&import(&app, &[erik]).await), (0, 0, 1, 0));
    assert_eq!(head(&app).await, before, "nothing is written");
}

/// A batch's new records are replayed in a scratch database and moved into the service's database
/// set-based (`db::scratch`). The same records imported record by record in the database itself —
/// as a dry run, a changed record and a batch whose move failed are — give the same plans: the same
/// whole-plan documents and histories, and the same rows besides (change events, access-log rows,
/// grants through consents, deviations, import keys), ids and the moment of import aside.
async fn a_batch_moved_from_the_scratch_equals_one_imported_record_by_record(app: TestApp) {
    let clock = Clock::began_days_ago(300);
    let erik = eriks_record("sip-erik", ERIK_PNR, &clock);
    // A summoned unit recorded absent: a deviation is filed with the meeting.
    let mut absent = eriks_record("sip-absent", ALEX_PNR, &clock);
    absent["meeting"]["attendance"][0]["attended"] = json!(false);
    let refused = refused_record("sip-lisa", &clock);
    let records = [erik, absent, refused];

    let mut plans: Vec<Vec<String>> = Vec::new();
    for (source, record_by_record) in [("scratch", false), ("database", true)] {
        let created = new_import_of(&app, source, false).await;
        let (moved, again) = run_batches(&app, &created, &[&records], record_by_record).await;
        assert_eq!(moved, if record_by_record { 0 } else { 3 });
        assert_eq!(again, 0);
        let lines = report(&app, &created, "").await;
        assert_eq!(lines.len(), 3);
        for line in &lines {
            assert_eq!(line["outcome"], "created", "{line}");
        }
        plans.push(
            lines
                .iter()
                .map(|l| l["plan_id"].as_str().unwrap().to_string())
                .collect(),
        );
    }

    let reads = ["document", "history"];
    for (scratch, database) in plans[0].iter().zip(&plans[1]) {
        for read in reads {
            let of = |plan: &str| format!("/api/v1/plans/{plan}/{read}");
            let a = app.get(&of(scratch), &reader()).await.expect(200).body;
            let b = app.get(&of(database), &reader()).await.expect(200).body;
            assert_eq!(anonymised(&a), anonymised(&b), "the plans' {read}s differ");
        }
        for (table, column) in [
            ("change_events", "plan_id"),
            ("audit_events", "plan_id"),
            ("plan_access", "plan_id"),
            ("deviations", "plan_id"),
            ("consents", "plan_id"),
            ("goals", "plan_id"),
            ("interventions", "plan_id"),
            ("summons_recipients", "plan_id"),
            ("follow_ups", "plan_id"),
            ("plan_revisions", "plan_id"),
        ] {
            let rows =
                |plan: &str| format!("SELECT count(*) AS n FROM {table} WHERE {column} = '{plan}'");
            assert_eq!(
                app.count(rows(scratch)).await,
                app.count(rows(database)).await,
                "{table}"
            );
        }
    }
    // The same keys of the records' parts, stored on each record's key.
    let ids = ["sip-erik", "sip-absent", "sip-lisa"];
    for (n, id) in ids.into_iter().enumerate() {
        let parts = |source: &'static str| {
            let key = app
                .db()
                .read_now(move |c| sip::db::imports::key(c, source, "record", id))
                .unwrap()
                .expect("the record's key");
            assert_eq!(
                key.plan_id.as_deref(),
                Some(plans[usize::from(source == "database")][n].as_str())
            );
            let parts: Vec<Value> = sip::db::imports::parts_of(&key)
                .unwrap()
                .into_iter()
                .map(|p| {
                    json!([
                        p.kind,
                        p.external_id,
                        p.resource_id,
                        p.plan_id,
                        p.fingerprint
                    ])
                })
                .collect();
            anonymised(&json!(parts))
        };
        let scratch = parts("scratch");
        // A plan and its consent at the least (the refused record has no more).
        assert!(scratch.as_array().unwrap().len() >= 2, "{scratch}");
        assert_eq!(scratch, parts("database"), "the keys of {id}'s parts");
    }
    // Both ways wrote deviations (the absent unit) and grants through the consent.
    let absent_plan = &plans[0][1];
    assert_eq!(
        app.count(format!(
            "SELECT count(*) AS n FROM deviations WHERE plan_id = '{absent_plan}' \
             AND category = 'summoned_unit_absent'"
        ))
        .await,
        1
    );
    assert!(
        app.count(format!(
            "SELECT count(*) AS n FROM plan_access WHERE plan_id = '{absent_plan}' AND consent_id IS NOT NULL"
        ))
        .await
            > 0
    );
}

/// Runs `import` on a runner of its own, each of `batches` a batch: how many records were moved
/// from the scratch, and how many batches were imported again one record after another.
async fn run_batches(
    app: &TestApp,
    import: &Value,
    batches: &[&[Value]],
    record_by_record: bool,
) -> (usize, usize) {
    use sip::service::imports::runner::{Line, Runner};
    let id = import["id"].as_str().unwrap().to_string();
    let mut line = 0;
    let batches: Vec<Vec<Line>> = batches
        .iter()
        .map(|records| {
            records
                .iter()
                .map(|r| {
                    line += 1;
                    (line, Ok(r.to_string().into_bytes()))
                })
                .collect()
        })
        .collect();
    let db = app.db().clone();
    actix_web::web::block(move || {
        let unit = importer().unit;
        let row = db
            .read_now(|c| sip::db::imports::find(c, unit, &id))?
            .expect("the import");
        let caller = sip::auth::Caller::new(
            "importer",
            sip::domain::identity::HsaId::parse(unit).unwrap(),
            Principal::Region,
            &[Role::Import],
        );
        let mut runner = Runner::new(
            db.clone(),
            &row,
            caller,
            Default::default(),
            sip::clock::Clock::system(),
        );
        if record_by_record {
            runner = runner.record_by_record();
        }
        for lines in batches {
            runner.run(lines)?;
        }
        Ok::<_, sip::error::Error>((runner.moved(), runner.imported_again()))
    })
    .await
    .unwrap()
    .unwrap()
}

/// Each lane's scratch must hold the individual of every plan it replays — one just registered,
/// one known from an earlier batch (borrowed from the database), one the lane already holds —
/// or the batch falls back to one record after another.
async fn every_lane_holds_the_individuals_of_its_plans(app: TestApp) {
    let clock = Clock::began_days_ago(300);
    let record = |id: &str| eriks_record(id, ERIK_PNR, &clock);
    let import = new_import_of(&app, "lanes", false).await;
    let first = [record("sip-1")];
    let second = [
        record("sip-2"),
        record("sip-3"),
        record("sip-4"),
        record("sip-5"),
        eriks_record("sip-6", ALEX_PNR, &clock),
    ];
    let (moved, again) = run_batches(&app, &import, &[&first, &second], false).await;
    assert_eq!((moved, again), (6, 0));
    let lines = report(&app, &import, "").await;
    assert_eq!(lines.len(), 6);
    let mut individuals = std::collections::HashSet::new();
    for line in &lines {
        assert_eq!(line["outcome"], "created", "{line}");
        let plan = app
            .get(
                &format!("/api/v1/plans/{}", line["plan_id"].as_str().unwrap()),
                &reader(),
            )
            .await
            .expect(200)
            .body;
        individuals.insert(plan["individual_id"].as_str().unwrap().to_string());
    }
    assert_eq!(individuals.len(), 2, "Erik's five plans and Alex's one");
}

/// A batch's plans are replayed in rounds, and a round's rows are moved into the database while
/// the next round is replayed (`Runner::replay_and_move`). A record that breaks a rule in its
/// replay — in whichever round, before or after others were moved — makes the whole batch roll
/// back and be imported again one record after another: it fails alone, and every other record
/// lands once, with no row of the first attempt left behind. The bad record takes each place of a
/// batch of eight in turn (the runner has at most four lanes of two rounds: eight scratches).
async fn a_rule_broken_in_any_round_fails_its_record_alone(app: TestApp) {
    let clock = Clock::began_days_ago(300);
    for bad in 0..8 {
        let import = new_import_of(&app, &format!("rounds-{bad}"), false).await;
        let records: Vec<Value> = (0..8)
            .map(|place| {
                let id = format!("sip-{bad}-{place}");
                if place != bad {
                    return eriks_record(&id, ERIK_PNR, &clock);
                }
                // Leader and secretary are one person: the meeting breaks a rule.
                let mut record = eriks_record(&id, ALEX_PNR, &clock);
                record["meeting"]["secretary"] =
                    person("anna  lind", MUNICIPALITY_UNIT, "municipality");
                record
            })
            .collect();
        let plans_before = app.count("SELECT count(*) AS n FROM plans".into()).await;
        let (moved, again) = run_batches(&app, &import, &[&records], false).await;
        assert_eq!((moved, again), (7, 1), "the bad record at place {bad}");
        let lines = report(&app, &import, "").await;
        assert_eq!(lines.len(), 8);
        for (place, line) in lines.iter().enumerate() {
            let expected = if place == bad { "failed" } else { "created" };
            assert_eq!(line["outcome"], expected, "{line}");
        }
        assert_eq!(
            app.count("SELECT count(*) AS n FROM plans".into()).await,
            plans_before + 7,
            "the bad record at place {bad}: each good record's plan once"
        );
        let source = format!("rounds-{bad}");
        assert_eq!(
            app.count(format!(
                "SELECT count(*) AS n FROM import_keys WHERE source_system = '{source}' \
                 AND kind = 'record'"
            ))
            .await,
            7
        );
        assert_eq!(
            app.count(format!(
                "SELECT count(*) AS n FROM change_events WHERE plan_id IN \
                 (SELECT plan_id FROM import_keys WHERE source_system = '{source}' \
                 AND kind = 'record') AND event_type = 'plan.created'"
            ))
            .await,
            7,
            "one creation in each good plan's history"
        );
    }
}

/// A new record's individual is settled in the database without a savepoint of its own
/// (`Runner::one`): a record whose individual cannot be settled — here a number whose check digit
/// is wrong, which only the settling reads — fails the batch, which is imported again one record
/// after another. The record fails alone, with the reason; the others land once.
async fn an_individual_that_cannot_be_settled_fails_its_record_alone(app: TestApp) {
    let clock = Clock::began_days_ago(300);
    let mut bad = eriks_record("sip-bad-number", ALEX_PNR, &clock);
    bad["individual"]["external_id"] = json!("pat-bad-number");
    bad["individual"]["details"]["identity_number"] = json!("19121212-1213");
    let records = [
        eriks_record("sip-1", ERIK_PNR, &clock),
        bad,
        eriks_record("sip-2", ERIK_PNR, &clock),
        eriks_record("sip-3", ALEX_PNR, &clock),
    ];
    let import = new_import_of(&app, "settling", false).await;
    let individuals = "SELECT count(*) AS n FROM individuals";
    let individuals_before = app.count(individuals.into()).await;
    let (moved, again) = run_batches(&app, &import, &[&records], false).await;
    assert_eq!((moved, again), (3, 1));
    let lines = report(&app, &import, "").await;
    let outcomes: Vec<&str> = lines
        .iter()
        .map(|l| l["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["created", "failed", "created", "created"]);
    let field = lines[1]["errors"][0]["field"].as_str().unwrap();
    assert!(field.starts_with("$.individual.details"), "{field}");
    // Erik and Alex, once each; nothing of the bad record.
    assert_eq!(app.count(individuals.into()).await, individuals_before + 2);
    assert_eq!(
        app.count(
            "SELECT count(*) AS n FROM import_keys WHERE source_system = 'settling' \
             AND external_id = 'pat-bad-number'"
                .into()
        )
        .await,
        0
    );
}

/// `value` with every id replaced by its order of first appearance and the moment of import left
/// out: what two imports of the same record have alike.
fn anonymised(value: &Value) -> Value {
    fn walk(value: &Value, ids: &mut Vec<String>) -> Value {
        match value {
            Value::String(s) if uuid::Uuid::parse_str(s).is_ok() => {
                let n = ids.iter().position(|id| id == s).unwrap_or_else(|| {
                    ids.push(s.clone());
                    ids.len() - 1
                });
                json!(format!("id-{n}"))
            }
            Value::Array(items) => Value::Array(items.iter().map(|i| walk(i, ids)).collect()),
            Value::Object(fields) => Value::Object(
                fields
                    .iter()
                    .filter(|(k, _)| !matches!(k.as_str(), "recorded_at" | "position" | "seq"))
                    .map(|(k, v)| (k.clone(), walk(v, ids)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
    walk(value, &mut Vec::new())
}

/// When a batch cannot be moved from the scratch into the database — a fault of the service, made
/// here by a trigger that refuses one goal — the batch is rolled back and imported again record by
/// record: the record the database refuses fails alone (its fault logged, not shown), and every
/// other record of the batch lands.
async fn a_batch_that_cannot_be_moved_is_imported_record_by_record(app: TestApp) {
    if app.postgres_database().is_some() {
        app.run_sql(
            "CREATE FUNCTION refuse_goal() RETURNS trigger AS $$ \
             BEGIN IF NEW.text = 'a goal the database refuses' THEN \
             RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql; \
             CREATE TRIGGER refuse_goal BEFORE INSERT ON goals \
             FOR EACH ROW EXECUTE FUNCTION refuse_goal();",
        )
        .await;
    } else {
        app.run_sql(
            "CREATE TRIGGER refuse_goal BEFORE INSERT ON goals \
             WHEN NEW.text = 'a goal the database refuses' \
             BEGIN SELECT RAISE(ABORT, 'refused'); END;",
        )
        .await;
    }
    let clock = Clock::began_days_ago(300);
    let mut refused = eriks_record("sip-refused", ALEX_PNR, &clock);
    refused["goals"][0]["goal"]["text"] = json!("a goal the database refuses");
    let records = [
        eriks_record("sip-erik", ERIK_PNR, &clock),
        refused,
        refused_record("sip-lisa", &clock),
    ];
    let finished = import(&app, &records).await;
    assert_eq!(finished["status"], "completed");
    assert_eq!(counts(&finished), (2, 0, 0, 1));
    let failed = report(&app, &finished, "&outcome=failed").await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["external_id"], "sip-refused");
    assert_eq!(
        failed[0]["errors"][0]["message"],
        "the service failed on this record; the fault is logged"
    );
    for plan in report(&app, &finished, "&outcome=created").await {
        let uri = format!(
            "/api/v1/plans/{}/document",
            plan["plan_id"].as_str().unwrap()
        );
        app.get(&uri, &reader()).await.expect(200);
    }
}

on_both_databases!(
    a_fingerprint_stored_before_versioning_still_counts_as_unchanged,
    a_file_of_plans_is_replayed_under_the_process_rules,
    a_batch_moved_from_the_scratch_equals_one_imported_record_by_record,
    a_batch_that_cannot_be_moved_is_imported_record_by_record,
    the_same_file_twice_changes_nothing_and_a_changed_record_updates,
    a_dry_run_checks_every_record_and_stores_nothing,
    an_import_leaves_the_planner_statistics_up_to_date,
    one_file_gives_one_version_of_a_person,
    a_batch_finds_what_its_earlier_lines_wrote,
    every_lane_holds_the_individuals_of_its_plans,
    a_rule_broken_in_any_round_fails_its_record_alone,
    an_individual_that_cannot_be_settled_fails_its_record_alone,
    imports_need_their_role_and_belong_to_their_unit,
    progress_is_readable_while_the_records_stream_in,
    an_upload_that_breaks_off_keeps_what_landed,
    one_import_of_a_source_system_runs_at_a_time,
    an_import_left_by_a_stopped_instance_does_not_block_its_source,
);

/// Keys imported before the keys of a record's parts moved onto the record's own key (migration
/// `import_keys_of_parts_on_the_record`) are found after it: each record's parts on its key, with
/// their ids and fingerprints; individuals' keys stay rows of their own, and no part's row is left.
#[::core::prelude::v1::test]
fn keys_of_parts_stored_before_are_on_their_records_after_the_migration() {
    // (kind, external id, resource id, plan, fingerprint): two records whose ids share a prefix
    // ("rec-1", "rec-10"), the individual they belong to, and their parts.
    let keys = [
        ("record", "rec-1", "plan-a", Some("plan-a"), "v2:r1"),
        ("individual", "pat-1", "ind-1", None, "v2:i1"),
        ("plan", "rec-1", "plan-a", Some("plan-a"), "v2:p1"),
        ("goal", "rec-1/g1", "goal-a1", Some("plan-a"), "v2:g1"),
        ("goal", "rec-1/g2", "goal-a2", Some("plan-a"), "v2:g2"),
        ("follow_up", "rec-1/f1", "fu-a1", Some("plan-a"), ""),
        ("record", "rec-10", "plan-b", Some("plan-b"), "v2:r10"),
        ("plan", "rec-10", "plan-b", Some("plan-b"), "v2:p10"),
        ("goal", "rec-10/g1", "goal-b1", Some("plan-b"), "v1-digest"),
    ];
    let before = |_: &str| {
        keys.iter()
            .map(|(kind, id, resource, plan, print)| {
                let plan = plan.map_or("NULL".to_string(), |p| format!("'{p}'"));
                format!(
                    "INSERT INTO import_keys (source_system, kind, external_id, resource_id, plan_id, fingerprint, updated_at)
                       VALUES ('journal', '{kind}', '{id}', '{resource}', {plan}, '{print}', '2026-12-01 10:00:00');"
                )
            })
            .collect::<String>()
    };
    crate::common::across_a_migration("import_keys_of_parts_on_the_record", before, |db| {
        let key = |kind: &'static str, id: &'static str| {
            db.read_now(move |c| sip::db::imports::key(c, "journal", kind, id))
                .unwrap()
        };
        let parts =
            |record: &'static str| -> Vec<(String, String, String, Option<String>, String)> {
                let key = key("record", record).expect("the record's key");
                sip::db::imports::parts_of(&key)
                    .unwrap()
                    .into_iter()
                    .map(|p| {
                        let plan = p.plan_id.as_deref().map(str::to_string);
                        (p.kind, p.external_id, p.resource_id, plan, p.fingerprint)
                    })
                    .collect()
            };
        let of = |kind: &str, id: &str, resource: &str, plan: &str, print: &str| {
            let plan = Some(plan.to_string());
            (kind.into(), id.into(), resource.into(), plan, print.into())
        };
        assert_eq!(
            parts("rec-1"),
            [
                of("follow_up", "rec-1/f1", "fu-a1", "plan-a", ""),
                of("goal", "rec-1/g1", "goal-a1", "plan-a", "v2:g1"),
                of("goal", "rec-1/g2", "goal-a2", "plan-a", "v2:g2"),
                of("plan", "rec-1", "plan-a", "plan-a", "v2:p1"),
            ]
        );
        assert_eq!(
            parts("rec-10"),
            [
                of("goal", "rec-10/g1", "goal-b1", "plan-b", "v1-digest"),
                of("plan", "rec-10", "plan-b", "plan-b", "v2:p10"),
            ]
        );
        assert_eq!(key("record", "rec-10").unwrap().fingerprint, "v2:r10");
        let individual = key("individual", "pat-1").expect("the individual's key");
        assert_eq!(
            (individual.resource_id.as_str(), individual.parts),
            ("ind-1", None)
        );
        for (kind, id) in [
            ("plan", "rec-1"),
            ("goal", "rec-1/g1"),
            ("follow_up", "rec-1/f1"),
        ] {
            assert!(key(kind, id).is_none(), "no row of its own: {kind} {id}");
        }
    });
}
