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

/// What the plan's consents say of it today: whether one is active, and the last day of the
/// longest-running active one — read from the consents themselves.
async fn consent_state_by_its_consents(
    app: &TestApp,
    plan: &serde_json::Value,
) -> (bool, serde_json::Value) {
    let consents = app
        .get(&consents_uri(plan), &reader())
        .await
        .expect(200)
        .body;
    let until = consents["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["active"] == true)
        .filter_map(|c| c["valid_until"].as_str())
        .max()
        .map(String::from);
    (until.is_some(), json!(until))
}

/// The consent state every read of a plan tells: the plan, the list (unfiltered and by individual)
/// and the whole plan.
async fn consent_state_as_read(
    app: &TestApp,
    plan: &serde_json::Value,
) -> Vec<(bool, serde_json::Value)> {
    let state = |p: &serde_json::Value| {
        (
            p["has_active_consent"].as_bool().unwrap(),
            p["active_consent_until"].clone(),
        )
    };
    let in_list = |page: serde_json::Value| {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == plan["id"])
            .map(state)
            .expect("the plan is on the page")
    };
    let by_individual = format!(
        "/api/v1/plans?individual_id={}",
        plan["individual_id"].as_str().unwrap()
    );
    let document = format!("{}/document", plan_uri(plan));
    vec![
        state(&app.get(&plan_uri(plan), &reader()).await.expect(200).body),
        in_list(
            app.get("/api/v1/plans?limit=200", &reader())
                .await
                .expect(200)
                .body,
        ),
        in_list(app.get(&by_individual, &reader()).await.expect(200).body),
        state(&app.get(&document, &reader()).await.expect(200).body["plan"]),
    ]
}

/// The plan keeps the days its consents hold on in its own row (`ConsentWindows`): every read of
/// it tells the same consent state as its consents do, through consents that start later, two at
/// once, and a withdrawal that ends them all.
async fn every_read_of_a_plan_tells_its_consent_as_its_consents_do(app: TestApp) {
    let plan = app.lisas_plan().await;
    let today = sip::clock::Clock::system().today();
    let day = |days: i64| (today + chrono::Duration::days(days)).to_string();
    let check = |expected: (bool, serde_json::Value), step: &str| {
        let plan = plan.clone();
        let app = &app;
        let step = step.to_string();
        async move {
            assert_eq!(
                consent_state_by_its_consents(app, &plan).await,
                expected,
                "{step}"
            );
            for (i, read) in consent_state_as_read(app, &plan)
                .await
                .into_iter()
                .enumerate()
            {
                assert_eq!(read, expected, "{step}: read {i}");
            }
        }
    };
    check((false, json!(null)), "no consent yet").await;

    let mut later = lisas_consent();
    later["valid_from"] = json!(day(3));
    later["valid_until"] = json!(day(100));
    app.post(&consents_uri(&plan), &region_writer(), later)
        .await
        .expect(201);
    check((false, json!(null)), "a consent that starts later").await;
    // No read shows a consent that has not started, so the row is asked: its window is kept.
    let stored = || {
        let id = plan["id"].as_str().unwrap().to_string();
        app.db()
            .read_now(move |c| sip::db::plans::find_for_import(c, &id))
            .unwrap()
            .unwrap()
            .consent_windows
    };
    assert_eq!(
        stored().active_until(today + chrono::Duration::days(3)),
        Some(today + chrono::Duration::days(100))
    );

    let now = app
        .post(&consents_uri(&plan), &region_writer(), lisas_consent())
        .await
        .expect(201)
        .body;
    check((true, json!(day(365))), "a consent from today").await;

    let mut shorter = lisas_consent();
    shorter["valid_until"] = json!(day(30));
    app.post(&consents_uri(&plan), &municipality_writer(), shorter)
        .await
        .expect(201);
    check((true, json!(day(365))), "a second, shorter consent").await;

    let withdraw = format!(
        "{}/{}/withdraw",
        consents_uri(&plan),
        now["id"].as_str().unwrap()
    );
    app.post(
        &withdraw,
        &region_writer(),
        json!({"reason": "no longer wants a plan"}),
    )
    .await
    .expect(200);
    check((false, json!(null)), "withdrawn").await;
    // A closed plan tells no consent whatever its row holds; the row holds none either.
    assert_eq!(stored(), sip::domain::consent::ConsentWindows::none());
}

on_both_databases!(
    every_read_of_a_plan_tells_its_consent_as_its_consents_do,
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

/// Plans whose consents were recorded before their rows kept the consents' days (migration
/// `consent_windows_on_the_plan`) read the same consent state after it: the given consents that
/// are not withdrawn move onto their plan, refusals and withdrawn consents do not.
#[test]
fn consents_recorded_before_are_on_their_plans_after_the_migration() {
    use sip::domain::consent::ConsentWindows;
    let individual = uuid::Uuid::new_v4().to_string();
    let plans: Vec<String> = (0..4).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let before = |backend: &str| {
        let at = "'2026-12-01 10:00:00'";
        let no = if backend == "sqlite" { "0" } else { "false" };
        let mut sql = format!(
            "INSERT INTO individuals (id, identity_number, identity_kind, given_name, family_name, protected_identity, version, created_at, updated_at)
               VALUES ('{individual}', '199001012389', 'personnummer', 'Lisa', 'Test', {no}, 1, {at}, {at});"
        );
        for plan in &plans {
            sql.push_str(&format!(
                "INSERT INTO plans (id, individual_id, initiating_unit, initiating_principal, created_by, need_reason, topics_to_avoid, follows_discharge, status, version, created_at, updated_at)
                   VALUES ('{plan}', '{individual}', 'SE2321000016-PSY1', 'region', 'tester', 'needs', '[]', {no}, 'consented', 2, {at}, {at});"
            ));
        }
        // (plan, outcome, from, until, withdrawn)
        let consents = [
            (0, "given", "'2026-01-01'", "'2099-12-31'", false),
            (0, "refused", "NULL", "NULL", false),
            (1, "given", "'2026-01-01'", "'2099-12-31'", true),
            (2, "given", "'2020-01-01'", "'2020-12-31'", false),
            (2, "given", "'2099-01-01'", "'2099-06-30'", false),
        ];
        for (plan, outcome, from, until, withdrawn) in consents {
            let withdrawn = if withdrawn { at } else { "NULL" };
            sql.push_str(&format!(
                "INSERT INTO consents (id, plan_id, outcome, form, permits_sharing, permits_summons, permits_establishing, permits_relatives, not_consented_to, valid_from, valid_until, withdrawn_at, recorded_by, recorded_by_unit, version, created_at, updated_at)
                   VALUES ('{}', '{}', '{outcome}', 'written', {no}, {no}, {no}, {no}, '[]', {from}, {until}, {withdrawn}, 'tester', 'SE2321000016-PSY1', 1, {at}, {at});",
                uuid::Uuid::now_v7(),
                plans[plan]
            ));
        }
        sql
    };
    let day = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap();
    crate::common::across_a_migration("consent_windows_on_the_plan", before, |db| {
        let windows = |plan: &str| -> ConsentWindows {
            db.read_now(|c| sip::db::plans::find_for_import(c, plan))
                .unwrap()
                .expect("the plan is still there")
                .consent_windows
        };
        let today = day(2026, 12, 5);
        // A given consent: active now, to its last day; the refusal adds nothing.
        assert_eq!(
            windows(&plans[0]).active_until(today),
            Some(day(2099, 12, 31))
        );
        // A withdrawn consent holds on no day.
        assert_eq!(windows(&plans[1]), ConsentWindows::none());
        // One that has ended and one that starts later: neither now, each on its own days.
        let both = windows(&plans[2]);
        assert_eq!(both.active_until(today), None);
        assert_eq!(both.active_until(day(2020, 6, 1)), Some(day(2020, 12, 31)));
        assert_eq!(both.active_until(day(2099, 3, 1)), Some(day(2099, 6, 30)));
        // No consent at all.
        assert_eq!(windows(&plans[3]), ConsentWindows::none());
    });
}
