//! Consent: recorded before anything else happens, time-limited, given by the right people; a
//! refusal or a withdrawal closes the plan.

use serde_json::json;

use crate::common::*;
use crate::on_both_databases;

fn consents_uri(plan: &serde_json::Value) -> String {
    format!("/api/v1/plans/{}/consents", plan["id"].as_str().unwrap())
}

fn plan_uri(plan: &serde_json::Value) -> String {
    format!("/api/v1/plans/{}", plan["id"].as_str().unwrap())
}

async fn given_consent_moves_the_plan_to_consented(app: TestApp) {
    let plan = app.lisas_plan().await;
    let reply = app
        .post(&consents_uri(&plan), &region_writer(), lisas_consent())
        .await
        .expect(201);
    let consent = &reply.body;
    assert_eq!(consent["outcome"], "given");
    assert_eq!(consent["active"], true);
    assert_eq!(consent["covered_parties"].as_array().unwrap().len(), 3);
    assert_eq!(consent["recorded_by"]["unit"], REGION_UNIT);
    assert_eq!(consent["permissions"]["involve_relatives"], false);
    assert_eq!(
        reply.header("location").unwrap(),
        format!(
            "{}/{}",
            consents_uri(&plan),
            consent["id"].as_str().unwrap()
        )
    );

    let plan_now = app.get(&plan_uri(&plan), &reader()).await.expect(200).body;
    assert_eq!(plan_now["status"], "consented");
    assert_eq!(plan_now["has_active_consent"], true);
    assert_eq!(plan_now["active_consent_until"], consent["valid_until"]);
    assert_eq!(
        plan_now["version"], 2,
        "a consent changes the plan's version"
    );
    assert_eq!(
        plan_now["allowed_actions"],
        json!([
            "update",
            "record_consent",
            "withdraw_consent",
            "edit_content",
            "send_summons",
            "close"
        ])
    );

    let list = app
        .get(&consents_uri(&plan), &reader())
        .await
        .expect(200)
        .body;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0], *consent);
}

async fn consent_that_starts_later_is_not_active_yet(app: TestApp) {
    let plan = app.lisas_plan().await;
    let mut consent = lisas_consent();
    let today = sip::clock::Clock::system().today();
    consent["valid_from"] = json!((today + chrono::Duration::days(3)).to_string());
    let reply = app
        .post(&consents_uri(&plan), &region_writer(), consent)
        .await
        .expect(201);
    assert_eq!(reply.body["active"], false);
    let plan_now = app.get(&plan_uri(&plan), &reader()).await.expect(200).body;
    assert_eq!(plan_now["has_active_consent"], false);
}

async fn consent_rules_are_422_and_store_nothing(app: TestApp) {
    let plan = app.lisas_plan().await;
    let mut consent = lisas_consent();
    consent["form"] = json!("verbal");
    consent.as_object_mut().unwrap().remove("valid_until");
    consent["covered_parties"][0]["hsa_id"] = json!("ward 7");
    let reply = app
        .post(&consents_uri(&plan), &region_writer(), consent)
        .await
        .expect(422);
    assert_eq!(
        reply.error_fields(),
        [
            "$.documented_by",
            "$.valid_until",
            "$.covered_parties[0].hsa_id"
        ]
    );
    let list = app
        .get(&consents_uri(&plan), &reader())
        .await
        .expect(200)
        .body;
    assert!(list["items"].as_array().unwrap().is_empty());
    let plan_now = app.get(&plan_uri(&plan), &reader()).await.expect(200).body;
    assert_eq!(plan_now["status"], "need_identified");
    assert_eq!(plan_now["version"], 1);

    let mut no_givers = lisas_consent();
    no_givers["givers"] = json!([]);
    let reply = app
        .post(&consents_uri(&plan), &region_writer(), no_givers)
        .await
        .expect(422);
    assert_eq!(reply.error_fields(), ["$.givers"]);
}

/// Alex, 14: both guardians consent; Alex is heard and agrees.
async fn a_childs_consent_is_given_by_every_guardian(app: TestApp) {
    let alex = app
        .individual(
            ALEX_PNR,
            "Alex",
            json!([{"name": "Maria"}, {"name": "Jonas"}]),
        )
        .await;
    let plan = app.plan_for(alex["id"].as_str().unwrap()).await;
    let (maria, jonas) = (
        alex["guardians"][0]["id"].clone(),
        alex["guardians"][1]["id"].clone(),
    );

    let mut consent = lisas_consent();
    consent["givers"] = json!([{"role": "individual"}, {"role": "guardian", "guardian_id": maria}]);
    let reply = app
        .post(&consents_uri(&plan), &region_writer(), consent.clone())
        .await
        .expect(422);
    assert_eq!(reply.error_fields(), ["$.givers"]);
    assert!(reply.body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("every registered guardian"));

    consent["givers"] = json!([
        {"role": "individual"},
        {"role": "guardian", "guardian_id": maria},
        {"role": "guardian", "guardian_id": jonas}
    ]);
    let given = app
        .post(&consents_uri(&plan), &region_writer(), consent)
        .await
        .expect(201)
        .body;
    assert_eq!(given["givers"][1]["name"], "Maria");
    assert_eq!(given["givers"][2]["name"], "Jonas");
}

/// Erik, 71, with dementia: his god man consents for him. Guardians do not consent for adults.
async fn a_legal_representative_consents_for_an_adult(app: TestApp) {
    let erik = app.individual(ERIK_PNR, "Erik", json!([])).await;
    let plan = app.plan_for(erik["id"].as_str().unwrap()).await;
    let mut consent = lisas_consent();
    consent["givers"] = json!([{"role": "guardian", "guardian_id": uuid::Uuid::new_v4()}]);
    let reply = app
        .post(&consents_uri(&plan), &region_writer(), consent.clone())
        .await
        .expect(422);
    assert_eq!(
        reply.error_fields(),
        ["$.givers[0].role", "$.givers[0].guardian_id"]
    );
    consent["givers"] = json!([{"role": "legal_representative", "name": "Gun Andersson", "representative_kind": "trustee"}]);
    let given = app
        .post(&consents_uri(&plan), &region_writer(), consent)
        .await
        .expect(201)
        .body;
    assert_eq!(given["givers"][0]["representative_kind"], "trustee");
}

async fn a_refusal_refuses_the_plan_which_is_then_read_only(app: TestApp) {
    let plan = app.lisas_plan().await;
    let refusal = lisas_refusal();
    let reply = app
        .post(&consents_uri(&plan), &region_writer(), refusal.clone())
        .await
        .expect(201);
    assert_eq!(reply.body["active"], false);
    let plan_now = app.get(&plan_uri(&plan), &reader()).await.expect(200).body;
    assert_eq!(plan_now["status"], "refused");
    assert_eq!(plan_now["closing_reason"], "consent_refused");
    assert!(plan_now["closed_at"].is_string());
    assert_eq!(plan_now["allowed_actions"], json!([]));

    let reply = app
        .post(&consents_uri(&plan), &region_writer(), lisas_consent())
        .await
        .expect(409);
    assert_eq!(reply.body["current_state"], "refused");
    assert_eq!(reply.body["allowed_actions"], json!([]));
    let change = json!({"individual_id": plan["individual_id"], "need_reason": "again"});
    let reply = app
        .put(&plan_uri(&plan), &region_writer(), change, Some("*"))
        .await
        .expect(409);
    assert!(reply.body["detail"].as_str().unwrap().contains("read-only"));
}

async fn a_refusal_after_consent_must_be_a_withdrawal(app: TestApp) {
    let plan = app.lisas_plan().await;
    app.post(&consents_uri(&plan), &region_writer(), lisas_consent())
        .await
        .expect(201);
    let refusal =
        json!({"outcome": "refused", "form": "written", "givers": [{"role": "individual"}]});
    let reply = app
        .post(&consents_uri(&plan), &region_writer(), refusal)
        .await
        .expect(409);
    assert!(reply.body["detail"].as_str().unwrap().contains("withdraw"));
}

async fn withdrawal_closes_the_plan(app: TestApp) {
    let plan = app.lisas_plan().await;
    let first = app
        .post(&consents_uri(&plan), &region_writer(), lisas_consent())
        .await
        .expect(201)
        .body;
    let second = app
        .post(
            &consents_uri(&plan),
            &municipality_writer(),
            lisas_consent(),
        )
        .await
        .expect(201)
        .body;
    let withdraw = format!(
        "{}/{}/withdraw",
        consents_uri(&plan),
        first["id"].as_str().unwrap()
    );
    let reason = json!({"reason": "no longer wants a plan"});

    app.post(&withdraw, &region_writer(), json!({}))
        .await
        .expect(400);
    app.post(&withdraw, &region_writer(), json!({"reason": ""}))
        .await
        .expect(422);
    app.send(
        actix_web::http::Method::POST,
        &withdraw,
        Some(&region_writer()),
        Some(&reason),
        &[("if-match", "\"9\"")],
    )
    .await
    .expect(412);

    let reply = app
        .post(&withdraw, &region_writer(), reason.clone())
        .await
        .expect(200);
    assert_eq!(reply.body["active"], false);
    assert!(reply.body["withdrawn_at"].is_string());
    assert_eq!(reply.body["withdrawal_reason"], "no longer wants a plan");
    assert_eq!(reply.body["version"], 2);

    let plan_now = app.get(&plan_uri(&plan), &reader()).await.expect(200).body;
    assert_eq!(plan_now["status"], "closed");
    assert_eq!(plan_now["closing_reason"], "consent_withdrawn");
    assert_eq!(plan_now["has_active_consent"], false);
    // Every consent of the plan ended with it.
    let other = app
        .get(
            &format!("{}/{}", consents_uri(&plan), second["id"].as_str().unwrap()),
            &reader(),
        )
        .await
        .expect(200);
    assert!(other.body["withdrawn_at"].is_string());

    let reply = app
        .post(&withdraw, &region_writer(), reason)
        .await
        .expect(409);
    assert_eq!(reply.body["current_state"], "withdrawn");
    app.post(&consents_uri(&plan), &region_writer(), lisas_consent())
        .await
        .expect(409);
}

async fn withdrawal_needs_a_given_consent(app: TestApp) {
    let plan = app.lisas_plan().await;
    let refusal =
        json!({"outcome": "refused", "form": "written", "givers": [{"role": "individual"}]});
    let refused = app
        .post(&consents_uri(&plan), &region_writer(), refusal)
        .await
        .expect(201)
        .body;
    let withdraw = format!(
        "{}/{}/withdraw",
        consents_uri(&plan),
        refused["id"].as_str().unwrap()
    );
    let reply = app
        .post(&withdraw, &region_writer(), json!({"reason": "x"}))
        .await
        .expect(409);
    assert_eq!(reply.body["current_state"], "refused");
    let unknown = format!("{}/{}/withdraw", consents_uri(&plan), uuid::Uuid::new_v4());
    app.post(&unknown, &region_writer(), json!({"reason": "x"}))
        .await
        .expect(404);
}

on_both_databases!(
    given_consent_moves_the_plan_to_consented,
    consent_that_starts_later_is_not_active_yet,
    consent_rules_are_422_and_store_nothing,
    a_childs_consent_is_given_by_every_guardian,
    a_legal_representative_consents_for_an_adult,
    a_refusal_refuses_the_plan_which_is_then_read_only,
    a_refusal_after_consent_must_be_a_withdrawal,
    withdrawal_closes_the_plan,
    withdrawal_needs_a_given_consent,
);
