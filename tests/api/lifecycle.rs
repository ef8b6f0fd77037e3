//! The SIP process through HTTP: summons, meeting, goals, interventions, follow-ups, revision and
//! closure — and every step the guidelines forbid, refused with a reason.

use chrono::{Duration, Utc};
use serde_json::{json, Value};

use crate::common::*;
use crate::on_both_databases;

const SCHOOL: &str = "Rosendalsskolan";

/// A new intervention comes after the plan's last one, and a plan holds at most 200: the 201st is
/// refused with the reason, at the body's root.
async fn a_new_intervention_comes_last_until_the_plan_is_full(app: TestApp) {
    let plan = consented_plan(&app).await;
    for expected in 0..200 {
        let added = add_intervention(&app, &plan, municipality_intervention()).await;
        assert_eq!(added["position"], expected);
    }
    let full = app
        .post(
            &plan_uri(&plan, "/interventions"),
            &region_writer(),
            municipality_intervention(),
        )
        .await
        .expect(422);
    assert_problem(&full);
    assert_eq!(full.error_fields(), ["$"]);
    assert!(
        full.body["detail"]
            .as_str()
            .unwrap()
            .contains("at most 200 interventions"),
        "{}",
        full.body
    );
}

/// Lisa, 27: from the need to closure, as the guidelines describe it.
async fn a_whole_adult_plan_from_need_to_closure(app: TestApp) {
    let plan = consented_plan(&app).await;
    let goal = add_goal(&app, &plan, "Lisa gets going with work training", None).await;
    let sub = add_goal(
        &app,
        &plan,
        "Lisa gets up and ready in the morning",
        Some(id(&goal)),
    )
    .await;
    assert_eq!(sub["parent_id"], goal["id"]);
    assert_eq!(sub["position"], 1);
    let case_manager = add_intervention(&app, &plan, region_intervention(json!([id(&sub)]))).await;
    assert_eq!(case_manager["goal_ids"], json!([id(&sub)]));
    let housing = add_intervention(&app, &plan, municipality_intervention()).await;
    let work = add_intervention(
        &app,
        &plan,
        json!({"description": "Work-training place", "responsible": "other", "responsible_actor": "Arbetsförmedlingen", "goal_ids": [id(&goal)]}),
    )
    .await;

    // Summons: region and municipality units are summoned, Arbetsförmedlingen invited.
    let reply = app
        .post(
            &plan_uri(&plan, "/summons"),
            &region_writer(),
            summons_body(region_and_municipality()),
        )
        .await
        .expect(201);
    let summons = reply.body;
    let obligations: Vec<_> = summons["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["obligation"].clone())
        .collect();
    assert_eq!(
        obligations,
        [json!("summoned"), json!("summoned"), json!("invited")]
    );
    assert_eq!(summons["meeting_within_deadline"], true);
    assert!(summons.get("summons_within_discharge_deadline").is_none());
    assert_eq!(status_of(&app, &plan).await["status"], "summoned");

    // The summoning unit sees who has not answered.
    let open = app
        .get("/api/v1/worklists/unanswered-summons", &region_writer())
        .await
        .expect(200)
        .body;
    assert_eq!(open["items"].as_array().unwrap().len(), 3);

    let recipient = |i: usize| {
        format!(
            "{}/summons/{}/recipients/{}/answer",
            plan_uri(&plan, ""),
            id(&summons),
            summons["recipients"][i]["id"].as_str().unwrap()
        )
    };
    app.post(
        &recipient(0),
        &region_writer(),
        json!({"response": "accepted", "attendees": ["Anna Lind"]}),
    )
    .await
    .expect(200);
    let reply = app
        .post(
            &recipient(1),
            &municipality_writer(),
            json!({"response": "declined"}),
        )
        .await
        .expect(422);
    assert_eq!(reply.error_fields(), ["$.substitute"]);
    app.post(
        &recipient(1),
        &municipality_writer(),
        json!({"response": "declined", "substitute": "Bo Ek"}),
    )
    .await
    .expect(200);
    let answered = app
        .post(
            &recipient(2),
            &region_writer(),
            json!({"response": "accepted", "attendees": ["Eva, arbetsförmedlare"]}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(answered["recipients"][1]["substitute"], "Bo Ek");
    let open = app
        .get("/api/v1/worklists/unanswered-summons", &region_writer())
        .await
        .expect(200)
        .body;
    assert!(open["items"].as_array().unwrap().is_empty());

    // The meeting establishes the plan.
    let established = app
        .post(
            &plan_uri(&plan, "/meeting"),
            &region_writer(),
            meeting_body(&answered, true),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(established["status"], "established");
    assert_eq!(established["revision"], 1);
    assert_eq!(established["procedure_code"], "AU124");
    assert_eq!(established["responsible_principal"], "municipality");
    assert_eq!(
        established["coordinator"],
        json!({"name": "Anna Lind", "hsa_id": REGION_UNIT})
    );
    assert_eq!(established["next_follow_up_on"], days(60));
    let meeting = app
        .get(&plan_uri(&plan, "/meeting"), &reader())
        .await
        .expect(200)
        .body;
    assert_eq!(meeting["held_within_deadline"], true);
    // Content is fixed once established: changes go through a revision.
    app.post(
        &plan_uri(&plan, "/goals"),
        &region_writer(),
        json!({"text": "more"}),
    )
    .await
    .expect(409);

    // Carrying out the plan: statuses change and the history keeps each.
    let status_uri = |i: &Value| format!("{}/interventions/{}/status", plan_uri(&plan, ""), id(i));
    app.post(
        &status_uri(&case_manager),
        &region_writer(),
        json!({"status": "ongoing"}),
    )
    .await
    .expect(200);
    app.post(
        &status_uri(&housing),
        &region_writer(),
        json!({"status": "ongoing"}),
    )
    .await
    .expect(200);
    let reply = app
        .post(
            &status_uri(&work),
            &region_writer(),
            json!({"status": "not_carried_out"}),
        )
        .await
        .expect(422);
    assert_eq!(reply.error_fields(), ["$.reason"]);
    let not_done = app
        .post(
            &status_uri(&work),
            &region_writer(),
            json!({"status": "not_carried_out", "reason": "no place available"}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(not_done["status_reason"], "no place available");

    // First follow-up: every open goal and intervention is accounted for; continue.
    let follow_ups = app
        .get(&plan_uri(&plan, "/follow-ups"), &reader())
        .await
        .expect(200)
        .body;
    let first = follow_ups["items"][0].clone();
    let record = format!("{}/follow-ups/{}/record", plan_uri(&plan, ""), id(&first));
    let reply = app
        .post(&record, &region_writer(), json!({"held_on": days(0), "decision": "continue", "next_follow_up": {"date": days(120), "place": "Video"}}))
        .await
        .expect(422);
    assert_eq!(
        reply.error_fields(),
        ["$.goal_outcomes", "$.intervention_reviews"]
    );
    let outcome = json!({
        "held_on": days(0),
        "goal_outcomes": [{"goal_id": id(&goal), "outcome": "partly_fulfilled"}, {"goal_id": id(&sub), "outcome": "fulfilled"}],
        "intervention_reviews": [
            {"intervention_id": id(&case_manager), "carried_out": true, "effect": "Lisa is up four days a week"},
            {"intervention_id": id(&housing), "carried_out": true}
        ],
        "new_circumstances": "Lisa has moved",
        "decision": "continue",
        "next_follow_up": {"date": days(120), "place": "Video"}
    });
    let held = app
        .post(&record, &region_writer(), outcome.clone())
        .await
        .expect(200)
        .body;
    assert_eq!(held["procedure_code"], "AW010");
    app.post(&record, &region_writer(), outcome)
        .await
        .expect(409);
    let now = status_of(&app, &plan).await;
    assert_eq!(now["next_follow_up_on"], days(120));
    let goals = app
        .get(&plan_uri(&plan, "/goals"), &reader())
        .await
        .expect(200)
        .body;
    assert_eq!(goals["items"][1]["status"], "fulfilled");

    // Second follow-up: the goals are met; close.
    let follow_ups = app
        .get(&plan_uri(&plan, "/follow-ups"), &reader())
        .await
        .expect(200)
        .body;
    let second = follow_ups["items"][1].clone();
    let closing = json!({
        "held_on": days(0),
        "goal_outcomes": [{"goal_id": id(&goal), "outcome": "fulfilled"}],
        "intervention_reviews": [
            {"intervention_id": id(&case_manager), "carried_out": true},
            {"intervention_id": id(&housing), "carried_out": true}
        ],
        "decision": "close",
        "closing_reason": "goals_met"
    });
    app.post(
        &format!("{}/follow-ups/{}/record", plan_uri(&plan, ""), id(&second)),
        &region_writer(),
        closing,
    )
    .await
    .expect(200);
    let closed = status_of(&app, &plan).await;
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["closing_reason"], "goals_met");
    assert_eq!(closed["allowed_actions"], json!([]));

    // The whole plan in one read, with everyone who must learn it has closed.
    let document = app
        .get(&plan_uri(&plan, "/document"), &reader())
        .await
        .expect(200)
        .body;
    assert_eq!(document["individual"]["given_name"], "Lisa");
    assert_eq!(document["goals"].as_array().unwrap().len(), 2);
    assert_eq!(document["interventions"].as_array().unwrap().len(), 3);
    assert_eq!(document["follow_ups"].as_array().unwrap().len(), 2);
    let notified: Vec<_> = document["units_to_notify"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].clone())
        .collect();
    assert_eq!(
        notified,
        [
            json!("Psykiatrisk öppenvård"),
            json!("Socialtjänsten"),
            json!("Arbetsförmedlingen")
        ]
    );

    // A closed plan is read-only.
    app.post(
        &plan_uri(&plan, "/summons"),
        &region_writer(),
        summons_body(region_and_municipality()),
    )
    .await
    .expect(409);
    app.post(
        &status_uri(&housing),
        &region_writer(),
        json!({"status": "completed"}),
    )
    .await
    .expect(409);
    let reply = app
        .post(
            &plan_uri(&plan, "/close"),
            &region_writer(),
            json!({"reason": "goals_met"}),
        )
        .await
        .expect(409);
    assert_eq!(reply.body["current_state"], "closed");

    // The history keeps every status change, in order, with who and why.
    let history = app
        .get(&plan_uri(&plan, "/history?limit=200"), &reader())
        .await
        .expect(200)
        .body;
    let plan_moves: Vec<_> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["resource_type"] == "plan" && e.get("to_status").is_some())
        .map(|e| e["to_status"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        plan_moves,
        [
            "need_identified",
            "consented",
            "summoned",
            "established",
            "closed"
        ]
    );
    let not_carried_out = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["to_status"] == "not_carried_out")
        .unwrap();
    assert_eq!(not_carried_out["from_status"], "planned");
    assert_eq!(not_carried_out["note"], "no place available");
    assert_eq!(not_carried_out["unit"], REGION_UNIT);
}

/// Alex, 14: both guardians consent; the school is invited.
async fn a_childs_plan_with_guardian_consent(app: TestApp) {
    let alex = app
        .individual(
            ALEX_PNR,
            "Alex",
            json!([{"name": "Maria"}, {"name": "Jonas"}]),
        )
        .await;
    let plan = app
        .post(
            "/api/v1/plans",
            &region_writer(),
            json!({"individual_id": alex["id"], "need_reason": "ADHD and school absence", "topics_to_avoid": ["the parents' separation"]}),
        )
        .await
        .expect(201)
        .body;
    let mut consent = lisas_consent();
    consent["givers"] = json!([
        {"role": "individual"},
        {"role": "guardian", "guardian_id": alex["guardians"][0]["id"]},
        {"role": "guardian", "guardian_id": alex["guardians"][1]["id"]}
    ]);
    consent["covered_parties"][2] = json!({"kind": "actor", "name": SCHOOL, "principal": "other"});
    app.post(&plan_uri(&plan, "/consents"), &region_writer(), consent)
        .await
        .expect(201);
    add_intervention(&app, &plan, region_intervention(json!([]))).await;
    let recipients = json!([
        {"kind": "unit", "hsa_id": REGION_UNIT, "name": "BUP", "principal": "region"},
        {"kind": "unit", "hsa_id": MUNICIPALITY_UNIT, "name": "Socialtjänsten", "principal": "municipality"},
        {"kind": "actor", "name": SCHOOL, "principal": "other"}
    ]);
    let summons = app
        .post(
            &plan_uri(&plan, "/summons"),
            &region_writer(),
            summons_body(recipients),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(summons["recipients"][2]["obligation"], "invited");
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
}

/// Karin, 84: ready for discharge; the summons deadline is 3 days, the procedure code AU125.
async fn a_plan_after_discharge(app: TestApp) {
    let karin = app.individual("19420317-0289", "Karin", json!([])).await;
    let mut plans = Vec::new();
    for hours_ago in [24, 4 * 24] {
        let plan = app
            .post(
                "/api/v1/plans",
                &region_writer(),
                json!({
                    "individual_id": karin["id"],
                    "need_reason": "hip fracture; home care and home-health nursing",
                    "follows_discharge": true,
                    "discharge_ready_at": (Utc::now() - Duration::hours(hours_ago)).to_rfc3339()
                }),
            )
            .await
            .expect(201)
            .body;
        record_lisas_consent(&app, &plan).await;
        add_intervention(&app, &plan, municipality_intervention()).await;
        let summons = app
            .post(
                &plan_uri(&plan, "/summons"),
                &region_writer(),
                summons_body(region_and_municipality()),
            )
            .await
            .expect(201)
            .body;
        plans.push((plan, summons));
    }
    assert_eq!(plans[0].1["summons_within_discharge_deadline"], true);
    assert_eq!(
        plans[1].1["summons_within_discharge_deadline"], false,
        "a late summons is recorded, not refused"
    );
    let (plan, summons) = &plans[1];
    let established = app
        .post(
            &plan_uri(plan, "/meeting"),
            &region_writer(),
            meeting_body(summons, true),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(established["procedure_code"], "AU125");
}

async fn summons_need_consent_covering_every_recipient(app: TestApp) {
    let plan = app.lisas_plan().await;
    let reply = app
        .post(
            &plan_uri(&plan, "/summons"),
            &region_writer(),
            summons_body(region_and_municipality()),
        )
        .await
        .expect(409);
    assert_eq!(reply.body["current_state"], "need_identified");

    record_lisas_consent(&app, &plan).await;
    let outside = json!([
        {"kind": "unit", "hsa_id": REGION_UNIT, "name": "Psykiatri", "principal": "region"},
        {"kind": "unit", "hsa_id": "SE2321000016-BUP9", "name": "BUP Väst", "principal": "region"},
        {"kind": "actor", "name": "Försäkringskassan", "principal": "other"}
    ]);
    let reply = app
        .post(
            &plan_uri(&plan, "/summons"),
            &region_writer(),
            summons_body(outside),
        )
        .await
        .expect(422);
    assert_eq!(reply.error_fields(), ["$.recipients[1]", "$.recipients[2]"]);
    assert!(reply.body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("BUP Väst"));
    assert_eq!(
        status_of(&app, &plan).await["status"],
        "consented",
        "nothing was sent"
    );

    // A consent that does not permit summons does not open the way either.
    let plan = app.plan_for(plan["individual_id"].as_str().unwrap()).await;
    let mut consent = lisas_consent();
    consent["permissions"] = json!({"share_information": true});
    app.post(&plan_uri(&plan, "/consents"), &region_writer(), consent)
        .await
        .expect(201);
    let reply = app
        .post(
            &plan_uri(&plan, "/summons"),
            &region_writer(),
            summons_body(region_and_municipality()),
        )
        .await
        .expect(409);
    assert!(reply.body["detail"]
        .as_str()
        .unwrap()
        .contains("send_summons"));
}

async fn forwarding_a_summons_adds_the_right_unit(app: TestApp) {
    let plan = app.lisas_plan().await;
    let mut consent = lisas_consent();
    consent["covered_parties"].as_array_mut().unwrap().push(json!({"kind": "unit", "hsa_id": "SE2321000016-VC01", "name": "Vårdcentralen", "principal": "region"}));
    app.post(&plan_uri(&plan, "/consents"), &region_writer(), consent)
        .await
        .expect(201);
    let summons = app
        .post(
            &plan_uri(&plan, "/summons"),
            &region_writer(),
            summons_body(region_and_municipality()),
        )
        .await
        .expect(201)
        .body;
    let answer = format!(
        "{}/summons/{}/recipients/{}/answer",
        plan_uri(&plan, ""),
        id(&summons),
        summons["recipients"][0]["id"].as_str().unwrap()
    );
    let wrong_principal = json!({"response": "forwarded", "forward_to": {"kind": "unit", "hsa_id": MUNICIPALITY_UNIT, "name": "Soc", "principal": "municipality"}});
    let reply = app
        .post(&answer, &region_writer(), wrong_principal)
        .await
        .expect(422);
    assert_eq!(reply.error_fields(), ["$.forward_to"]);
    let forward = json!({"response": "forwarded", "forward_to": {"kind": "unit", "hsa_id": "SE2321000016-VC01", "name": "Vårdcentralen", "principal": "region"}});
    let after = app
        .post(&answer, &region_writer(), forward.clone())
        .await
        .expect(200)
        .body;
    let recipients = after["recipients"].as_array().unwrap();
    assert_eq!(recipients.len(), 4);
    assert_eq!(recipients[3]["hsa_id"], "SE2321000016-VC01");
    assert_eq!(recipients[3]["obligation"], "summoned");
    assert_eq!(recipients[3]["forwarded_from"], recipients[0]["id"]);
    app.post(
        &answer,
        &region_writer(),
        json!({"response": "accepted", "attendees": ["x"]}),
    )
    .await
    .expect(422);
}

async fn the_meeting_checks_the_laws_minimum_content(app: TestApp) {
    let plan = consented_plan(&app).await;
    let summons = app
        .post(
            &plan_uri(&plan, "/summons"),
            &region_writer(),
            summons_body(region_and_municipality()),
        )
        .await
        .expect(201)
        .body;
    let meeting = meeting_body(&summons, true);

    let mut same = meeting.clone();
    same["secretary"] = person("anna  LIND", MUNICIPALITY_UNIT, "municipality");
    let reply = app
        .post(&plan_uri(&plan, "/meeting"), &region_writer(), same)
        .await
        .expect(422);
    assert!(reply
        .error_fields()
        .contains(&"$.secretary.name".to_string()));

    let mut past = meeting.clone();
    past["first_follow_up"]["date"] = json!(days(0));
    let reply = app
        .post(&plan_uri(&plan, "/meeting"), &region_writer(), past)
        .await
        .expect(422);
    assert!(reply
        .error_fields()
        .contains(&"$.first_follow_up.date".to_string()));

    let mut missing = meeting.clone();
    missing.as_object_mut().unwrap().remove("first_follow_up");
    let reply = app
        .post(&plan_uri(&plan, "/meeting"), &region_writer(), missing)
        .await
        .expect(400);
    assert_eq!(reply.error_fields(), ["$.first_follow_up"]);

    // No intervention yet, no municipality unit among the participants, an attendance missing.
    let mut thin = meeting.clone();
    thin["participants"] = json!([person("Anna Lind", REGION_UNIT, "region")]);
    thin["attendance"].as_array_mut().unwrap().pop();
    thin["responsible_principal"] = json!("other");
    let reply = app
        .post(&plan_uri(&plan, "/meeting"), &region_writer(), thin)
        .await
        .expect(422);
    assert_eq!(
        reply.error_fields(),
        [
            "$.participants",
            "$.responsible_principal",
            "plan.interventions",
            "$.attendance"
        ]
    );
    assert_eq!(
        status_of(&app, &plan).await["status"],
        "summoned",
        "nothing was established"
    );

    // With an intervention it establishes; a summoned unit recorded absent is kept for deviations.
    add_intervention(&app, &plan, region_intervention(json!([]))).await;
    let mut absent = meeting.clone();
    absent["attendance"][0]["attended"] = json!(false);
    app.post(&plan_uri(&plan, "/meeting"), &region_writer(), absent)
        .await
        .expect(200);
    let summons_now = app
        .get(&plan_uri(&plan, "/summons"), &reader())
        .await
        .expect(200)
        .body;
    assert_eq!(summons_now["items"][0]["recipients"][0]["attended"], false);
    assert_eq!(summons_now["items"][0]["recipients"][1]["attended"], true);
    app.post(&plan_uri(&plan, "/meeting"), &region_writer(), meeting)
        .await
        .expect(409);
}

async fn withdrawal_closes_the_plan_in_every_state(app: TestApp) {
    async fn withdraw(app: &TestApp, plan: &Value) {
        let consents = app
            .get(&plan_uri(plan, "/consents"), &reader())
            .await
            .expect(200)
            .body;
        let uri = format!(
            "{}/consents/{}/withdraw",
            plan_uri(plan, ""),
            id(&consents["items"][0])
        );
        app.post(
            &uri,
            &region_writer(),
            json!({"reason": "does not want it any more"}),
        )
        .await
        .expect(200);
        let after = status_of(app, plan).await;
        assert_eq!(
            (after["status"].as_str(), after["closing_reason"].as_str()),
            (Some("closed"), Some("consent_withdrawn"))
        );
        let document = app
            .get(&plan_uri(plan, "/document"), &reader())
            .await
            .expect(200)
            .body;
        assert!(!document["units_to_notify"].as_array().unwrap().is_empty());
    }
    let consented = consented_plan(&app).await;
    withdraw(&app, &consented).await;
    let (summoned, _) = summoned_plan(&app).await;
    withdraw(&app, &summoned).await;
    let established = established_plan(&app).await;
    withdraw(&app, &established).await;
    let revising = established_plan(&app).await;
    revise(&app, &revising).await;
    assert_eq!(status_of(&app, &revising).await["status"], "revising");
    withdraw(&app, &revising).await;
}

/// A renewed consent (the worklist of expiring consents invites one) keeps the plan in its state in
/// every open state, and extends access: the plan's status never moves backwards.
async fn renewing_a_consent_keeps_the_plan_where_it_is(app: TestApp) {
    async fn renew(app: &TestApp, plan: &Value, expected: &str) {
        assert_eq!(status_of(app, plan).await["status"], expected);
        let mut renewal = lisas_consent();
        renewal["valid_until"] =
            json!((sip::clock::Clock::system().today() + chrono::Duration::days(700)).to_string());
        app.post(&plan_uri(plan, "/consents"), &region_writer(), renewal)
            .await
            .expect(201);
        let after = status_of(app, plan).await;
        assert_eq!(after["status"], expected, "a renewal in {expected}");
        let until = (sip::clock::Clock::system().today() + chrono::Duration::days(700)).to_string();
        assert_eq!(after["active_consent_until"].as_str(), Some(until.as_str()));
        // The history shows no status change for the renewal.
        let history = app
            .get(&plan_uri(plan, "/history?limit=200"), &reader())
            .await
            .expect(200)
            .body;
        let moves_back = history["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["to_status"] == "consented")
            .count();
        assert!(moves_back <= 1, "{expected}: {history:#}");
    }
    let consented = consented_plan(&app).await;
    renew(&app, &consented, "consented").await;
    let (summoned, _) = summoned_plan(&app).await;
    renew(&app, &summoned, "summoned").await;
    let established = established_plan(&app).await;
    renew(&app, &established, "established").await;
    let revising = established_plan(&app).await;
    revise(&app, &revising).await;
    renew(&app, &revising, "revising").await;
}

/// Erik, 71: followed up, revised once (an intervention cancelled with a reason), then closed when
/// he moves to a nursing home. What the plan said before the revision can be read back.
async fn a_revision_keeps_the_history(app: TestApp) {
    let plan = established_plan(&app).await;
    let old = app
        .get(&plan_uri(&plan, "/interventions"), &reader())
        .await
        .expect(200)
        .body["items"][0]
        .clone();
    revise(&app, &plan).await;
    let new = add_intervention(&app, &plan, municipality_intervention()).await;

    let revision = plan_uri(&plan, "/revision");
    let next = json!({"date": days(90), "place": "Home"});
    let reply = app
        .post(&revision, &region_writer(), json!({"next_follow_up": next}))
        .await
        .expect(422);
    assert_eq!(reply.error_fields(), ["$.intervention_decisions"]);
    let cancel_without_reason = json!({"intervention_decisions": [{"intervention_id": old["id"], "decision": "cancel"}], "next_follow_up": next});
    let reply = app
        .post(&revision, &region_writer(), cancel_without_reason)
        .await
        .expect(422);
    assert_eq!(reply.error_fields(), ["$.intervention_decisions[0].reason"]);
    let revised = app
        .post(
            &revision,
            &region_writer(),
            json!({"intervention_decisions": [{"intervention_id": old["id"], "decision": "cancel", "reason": "replaced by home care"}], "next_follow_up": next}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(revised["status"], "established");
    assert_eq!(revised["revision"], 2);
    assert_eq!(revised["next_follow_up_on"], days(90));
    // The answer is the plan as it reads now, its consent included (taken as the plan was loaded).
    assert!(revised["active_consent_until"].is_string(), "{revised}");
    let read = app
        .get(&plan_uri(&plan, ""), &region_writer())
        .await
        .expect(200);
    assert_eq!(revised, read.body);

    let revisions = app
        .get(&plan_uri(&plan, "/revisions"), &reader())
        .await
        .expect(200)
        .body;
    assert_eq!(revisions["items"].as_array().unwrap().len(), 2);
    let first = app
        .get(&plan_uri(&plan, "/revisions/1"), &reader())
        .await
        .expect(200)
        .body;
    assert_eq!(first["plan"]["revision"], 1);
    assert_eq!(first["interventions"].as_array().unwrap().len(), 1);
    assert_eq!(first["interventions"][0]["status"], "planned");
    let second = app
        .get(&plan_uri(&plan, "/revisions/2"), &reader())
        .await
        .expect(200)
        .body;
    let statuses: Vec<_> = second["interventions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["id"].clone(), i["status"].clone()))
        .collect();
    assert_eq!(
        statuses,
        [
            (old["id"].clone(), json!("cancelled")),
            (new["id"].clone(), json!("planned"))
        ]
    );
    app.get(&plan_uri(&plan, "/revisions/3"), &reader())
        .await
        .expect(404);

    let closed = app
        .post(
            &plan_uri(&plan, "/close"),
            &region_writer(),
            json!({"reason": "other"}),
        )
        .await
        .expect(422);
    assert_eq!(closed.error_fields(), ["$.note"]);
    let closed = app
        .post(
            &plan_uri(&plan, "/close"),
            &region_writer(),
            json!({"reason": "coordination_no_longer_needed", "note": "moved to a nursing home"}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(closed["closing_note"], "moved to a nursing home");
}

async fn worklists_show_what_is_late(app: TestApp) {
    // An established plan (its first follow-up in 60 days), a summoned one (its meeting in a
    // week), and one whose consent ends in ten days.
    let plan = established_plan(&app).await;
    let (summoned, _) = summoned_plan(&app).await;
    let soon = app.lisas_plan().await;
    let mut consent = lisas_consent();
    consent["valid_until"] = json!(days(10));
    app.post(&plan_uri(&soon, "/consents"), &region_writer(), consent)
        .await
        .expect(201);

    // Consents that end soon.
    let expiring = app
        .get(
            "/api/v1/worklists/expiring-consents?within_days=14",
            &region_writer(),
        )
        .await
        .expect(200)
        .body;
    let ids: Vec<_> = expiring["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["plan_id"].clone())
        .collect();
    assert_eq!(ids, [soon["id"].clone()]);
    assert_eq!(expiring["items"][0]["days_overdue"], -10);
    app.get(
        "/api/v1/worklists/expiring-consents?within_days=0",
        &region_writer(),
    )
    .await
    .expect(422);
    app.get("/api/v1/worklists/everything", &region_writer())
        .await
        .expect(404);

    // Nothing is late yet.
    for worklist in [
        "overdue-follow-ups",
        "meetings-without-plan",
        "unanswered-summons?overdue_only=true",
    ] {
        let list = app
            .get(&format!("/api/v1/worklists/{worklist}"), &region_writer())
            .await
            .expect(200)
            .body;
        assert!(list["items"].as_array().unwrap().is_empty(), "{worklist}");
    }

    // 62 days later: the follow-up date passed two days ago.
    app.pass_days(62);
    let overdue = app
        .get("/api/v1/worklists/overdue-follow-ups", &region_writer())
        .await
        .expect(200)
        .body;
    assert_eq!(overdue["items"][0]["plan_id"], plan["id"]);
    assert_eq!(overdue["items"][0]["days_overdue"], 2);
    let other_unit = app
        .get(
            "/api/v1/worklists/overdue-follow-ups",
            &municipality_writer(),
        )
        .await
        .expect(200)
        .body;
    assert!(other_unit["items"].as_array().unwrap().is_empty());

    // The meeting day passed while the plan is still only summoned; the summons is unanswered.
    let without = app
        .get("/api/v1/worklists/meetings-without-plan", &region_writer())
        .await
        .expect(200)
        .body;
    assert_eq!(without["items"][0]["plan_id"], summoned["id"]);
    let late = app
        .get(
            "/api/v1/worklists/unanswered-summons?overdue_only=true&limit=2",
            &region_writer(),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(late["items"].as_array().unwrap().len(), 2);
    let cursor = late["next_cursor"].as_str().unwrap();
    let rest = app
        .get(
            &format!(
                "/api/v1/worklists/unanswered-summons?overdue_only=true&limit=2&cursor={cursor}"
            ),
            &region_writer(),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
}

/// A unit's worklist reads what concerns the unit, not every row of the tables it joins: with
/// 20,000 plans of another unit in place, each with a summons, a unit with no summons finds its
/// unanswered-summons list empty without reading their recipients. (Planned without the unit, the
/// list walked every recipient in id order — 60,007 here, and 51 ms at 20,000 plans in
/// `make bench`'s data; `BENCHMARKS.md`, nineteenth session.) Counted on PostgreSQL in rows read,
/// not in time; on SQLite the list is checked, which plans each statement for its values.
async fn a_worklist_reads_the_units_rows_not_every_recipient(app: TestApp) {
    established_plan(&app).await;
    // 20,000 more plans of the region's unit, each with a summons and its recipients, a third of
    // them unanswered: copies of the plan's own rows. PostgreSQL only: what is measured is its
    // plan for the query.
    if app.postgres_database().is_some() {
        app.run_sql(
            "DO $$
             DECLARE q text;
             BEGIN
               FOR q IN
                 SELECT format('INSERT INTO %I SELECT %s FROM (SELECT * FROM %I ORDER BY id LIMIT %s) x, generate_series(1, 20000) g',
                               c.table_name,
                               string_agg(CASE WHEN c.column_name IN ('id', 'plan_id', 'summons_id') THEN 'x.' || c.column_name || ' || ''-'' || g'
                                               WHEN c.column_name = 'response' THEN 'CASE WHEN g % 3 = 0 THEN NULL ELSE x.response END'
                                               ELSE 'x.' || quote_ident(c.column_name) END, ', ' ORDER BY c.ordinal_position),
                               c.table_name,
                               CASE c.table_name WHEN 'summons_recipients' THEN 'ALL' ELSE '1' END)
                   FROM information_schema.columns c
                  WHERE c.table_schema = current_schema() AND c.table_name IN ('plans', 'summons', 'summons_recipients')
                  GROUP BY c.table_name
                  ORDER BY array_position(ARRAY['plans', 'summons', 'summons_recipients'], c.table_name::text)
               LOOP
                 EXECUTE q;
               END LOOP;
             END $$;
             ANALYZE plans; ANALYZE summons; ANALYZE summons_recipients;
             SELECT pg_stat_force_next_flush();",
        )
        .await;
    }
    let (entries, read) = app
        .rows_read_by("summons_recipients", |c| {
            sip::db::worklists::unanswered_summons(c, "SE2321000016-OTH9", None, None, 51)
        })
        .await;
    assert!(entries.is_empty());
    if let Some(read) = read {
        assert!(read < 1_000, "the worklist read {read} recipients");
    }
}

on_both_databases!(
    a_new_intervention_comes_last_until_the_plan_is_full,
    a_worklist_reads_the_units_rows_not_every_recipient,
    a_whole_adult_plan_from_need_to_closure,
    a_childs_plan_with_guardian_consent,
    a_plan_after_discharge,
    summons_need_consent_covering_every_recipient,
    forwarding_a_summons_adds_the_right_unit,
    the_meeting_checks_the_laws_minimum_content,
    withdrawal_closes_the_plan_in_every_state,
    renewing_a_consent_keeps_the_plan_where_it_is,
    a_revision_keeps_the_history,
    worklists_show_what_is_late,
);
