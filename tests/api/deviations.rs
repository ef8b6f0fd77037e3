//! Deviations and reports: failures of coordination made visible — to the units involved, and in
//! aggregate figures checked against a fixture computed by hand.

use actix_web::http::Method;
use chrono::{Duration, Utc};
use serde_json::{json, Value};
use sip::auth::Role;
use sip::domain::Principal;

use crate::common::*;
use crate::on_both_databases;

const OTHER_UNIT: &str = "SE2321000016-XYZ9";

fn reporter() -> Who {
    region_writer()
}

fn concerned() -> Who {
    municipality_writer()
}

fn outsider() -> Who {
    Who {
        unit: OTHER_UNIT,
        principal: Principal::Region,
        roles: vec![Role::Read, Role::Write],
    }
}

fn report_reader() -> Who {
    Who {
        unit: REGION_UNIT,
        principal: Principal::Region,
        roles: vec![Role::Report],
    }
}

fn deviation(category: &str, plan_id: Option<&str>) -> Value {
    let mut body = json!({
        "category": category,
        "concerned_unit": MUNICIPALITY_UNIT,
        "concerned_principal": "municipality",
        "occurred_at": (Utc::now() - Duration::hours(2)).to_rfc3339(),
        "description": format!("a {category} deviation"),
    });
    if let Some(plan_id) = plan_id {
        body["plan_id"] = json!(plan_id);
    }
    body
}

const CATEGORIES: [(&str, bool); 12] = [
    ("summoned_unit_absent", true),
    ("summons_not_answered", true),
    ("summons_late", true),
    ("intervention_not_carried_out", true),
    ("follow_up_not_held", true),
    ("plan_not_given", true),
    ("parties_disagree", true),
    ("sip_not_initiated", false),
    ("consent_not_respected", true),
    ("individual_treated_badly", false),
    ("guideline_not_followed", false),
    ("other", false),
];

async fn every_category_can_be_reported(app: TestApp) {
    let plan = app.lisas_plan().await;
    for (category, needs_plan) in CATEGORIES {
        if needs_plan {
            let reply = app
                .post("/api/v1/deviations", &reporter(), deviation(category, None))
                .await
                .expect(422);
            assert_eq!(reply.error_fields(), ["$.plan_id"], "{category}");
        }
        let plan_id = needs_plan.then(|| id(&plan));
        let reply = app
            .post(
                "/api/v1/deviations",
                &reporter(),
                deviation(category, plan_id),
            )
            .await
            .expect(201);
        assert_eq!(reply.body["category"], category);
        assert_eq!(reply.body["status"], "reported");
        assert_eq!(reply.body["source"], "manual");
        assert_eq!(reply.body["reporting_unit"], REGION_UNIT);
        assert_eq!(reply.body["feedback_late"], false);
    }
    let list = app
        .get("/api/v1/deviations?limit=200", &reporter())
        .await
        .expect(200)
        .body;
    assert_eq!(list["items"].as_array().unwrap().len(), 12);
    let by_category = app
        .get("/api/v1/deviations?category=summons_late", &concerned())
        .await
        .expect(200)
        .body;
    assert_eq!(by_category["items"].as_array().unwrap().len(), 1);
    let reply = app
        .post(
            "/api/v1/deviations",
            &reporter(),
            deviation("plan_not_given", Some(&uuid::Uuid::new_v4().to_string())),
        )
        .await
        .expect(422);
    assert_eq!(reply.error_fields(), ["$.plan_id"]);
    let mut itself = deviation("other", None);
    itself["concerned_unit"] = json!(REGION_UNIT);
    app.post("/api/v1/deviations", &reporter(), itself)
        .await
        .expect(422);
}

async fn the_status_flow_and_who_moves_it(app: TestApp) {
    let created = app
        .post(
            "/api/v1/deviations",
            &reporter(),
            deviation("sip_not_initiated", None),
        )
        .await
        .expect(201)
        .body;
    let uri = format!("/api/v1/deviations/{}", id(&created));
    app.post(&format!("{uri}/confirm"), &reporter(), json!({}))
        .await
        .expect(409);
    app.send(
        Method::POST,
        &format!("{uri}/investigate"),
        Some(&concerned()),
        None,
        &[],
    )
    .await
    .expect(200);
    let reply = app
        .post(
            &format!("{uri}/feedback"),
            &reporter(),
            json!({"text": "x"}),
        )
        .await
        .expect(403);
    assert!(reply.body["detail"]
        .as_str()
        .unwrap()
        .contains("concerned unit"));
    let fed = app
        .post(
            &format!("{uri}/feedback"),
            &concerned(),
            json!({"text": "We have changed our routine"}),
        )
        .await
        .expect(200)
        .body;
    assert!(fed["feedback_at"].is_string());
    assert_eq!(fed["feedback_late"], false);
    let closure =
        json!({"analysis": "The need was not recognised", "action_taken": "Training for staff"});
    app.post(&format!("{uri}/close"), &concerned(), closure.clone())
        .await
        .expect(403);
    let closed = app
        .post(&format!("{uri}/close"), &reporter(), closure.clone())
        .await
        .expect(200)
        .body;
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["allowed_actions"], json!([]));
    let reply = app
        .post(&format!("{uri}/close"), &reporter(), closure)
        .await
        .expect(409);
    assert_eq!(reply.body["current_state"], "closed");

    // An open deviation can be marked system-level with a temporary division of responsibility.
    let other = app
        .post("/api/v1/deviations", &reporter(), deviation("other", None))
        .await
        .expect(201);
    let other_uri = format!("/api/v1/deviations/{}", id(&other.body));
    let change = json!({"description": "Dispute on who pays", "system_level": true, "temporary_division": "The region pays until March"});
    app.put(&other_uri, &reporter(), change.clone(), None)
        .await
        .expect(428);
    let updated = app
        .put(&other_uri, &reporter(), change, Some(&other.etag()))
        .await
        .expect(200)
        .body;
    assert_eq!(updated["system_level"], true);
}

async fn only_the_units_involved_see_a_deviation(app: TestApp) {
    let created = app
        .post("/api/v1/deviations", &reporter(), deviation("other", None))
        .await
        .expect(201)
        .body;
    let uri = format!("/api/v1/deviations/{}", id(&created));
    app.get(&uri, &reporter()).await.expect(200);
    app.get(&uri, &concerned()).await.expect(200);
    app.get(&uri, &outsider()).await.expect(404);
    app.post(
        &format!("{uri}/close"),
        &outsider(),
        json!({"analysis": "a", "action_taken": "b"}),
    )
    .await
    .expect(404);
    let list = app
        .get("/api/v1/deviations", &outsider())
        .await
        .expect(200)
        .body;
    assert!(list["items"].as_array().unwrap().is_empty());
    let mine = app
        .get("/api/v1/deviations?role=concerned", &concerned())
        .await
        .expect(200)
        .body;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    let reported = app
        .get("/api/v1/deviations?role=reported", &concerned())
        .await
        .expect(200)
        .body;
    assert!(reported["items"].as_array().unwrap().is_empty());
}

async fn late_feedback_is_visible(app: TestApp) {
    let created = app
        .post("/api/v1/deviations", &reporter(), deviation("other", None))
        .await
        .expect(201)
        .body;
    let due =
        chrono::NaiveDate::parse_from_str(created["feedback_due"].as_str().unwrap(), "%Y-%m-%d")
            .unwrap();
    assert_eq!(due, app.today() + Duration::days(60));
    // The feedback is due on its 60th day, and late from the next.
    for days in [0, 60] {
        app.pass_days(days);
        let late = app
            .get("/api/v1/deviations?feedback_late=true", &reporter())
            .await
            .expect(200)
            .body;
        assert!(late["items"].as_array().unwrap().is_empty());
    }
    app.pass_days(1);
    let late = app
        .get("/api/v1/deviations?feedback_late=true", &reporter())
        .await
        .expect(200)
        .body;
    assert_eq!(late["items"][0]["id"], created["id"]);
    assert_eq!(late["items"][0]["feedback_late"], true);
}

/// A summoned unit recorded absent, and an intervention marked not carried out, are filed
/// automatically as suggestions for the unit running the plan — once per event.
async fn deviations_are_filed_automatically_once(app: TestApp) {
    let (plan, summons) = summoned_plan(&app).await;
    let mut meeting = meeting_body(&summons, true);
    meeting["attendance"][1]["attended"] = json!(false); // the municipality unit did not come
    meeting["attendance"][2]["attended"] = json!(false); // Arbetsförmedlingen, only invited
    app.post(&plan_uri(&plan, "/meeting"), &region_writer(), meeting)
        .await
        .expect(200);

    let suggested = app
        .get("/api/v1/deviations?status=suggested", &reporter())
        .await
        .expect(200)
        .body;
    let items = suggested["items"].as_array().unwrap();
    assert_eq!(
        items.len(),
        1,
        "only the summoned unit's absence is a deviation: {suggested}"
    );
    assert_eq!(items[0]["category"], "summoned_unit_absent");
    assert_eq!(items[0]["source"], "automatic");
    assert_eq!(items[0]["concerned_unit"], MUNICIPALITY_UNIT);
    assert_eq!(items[0]["plan_id"], plan["id"]);
    let concerned_sees = app
        .get("/api/v1/deviations", &concerned())
        .await
        .expect(200)
        .body;
    assert_eq!(concerned_sees["items"].as_array().unwrap().len(), 1);

    // Confirm or dismiss: only the reporting unit.
    let uri = format!("/api/v1/deviations/{}", id(&items[0]));
    app.send(
        Method::POST,
        &format!("{uri}/confirm"),
        Some(&concerned()),
        None,
        &[],
    )
    .await
    .expect(403);
    let confirmed = app
        .send(
            Method::POST,
            &format!("{uri}/confirm"),
            Some(&reporter()),
            None,
            &[],
        )
        .await
        .expect(200)
        .body;
    assert_eq!(confirmed["status"], "reported");

    let interventions = app
        .get(&plan_uri(&plan, "/interventions"), &reader())
        .await
        .expect(200)
        .body;
    let status_uri = format!(
        "{}/interventions/{}/status",
        plan_uri(&plan, ""),
        id(&interventions["items"][0])
    );
    let not_done = json!({"status": "not_carried_out", "reason": "no staff"});
    app.post(&status_uri, &region_writer(), not_done.clone())
        .await
        .expect(200);
    app.post(&status_uri, &region_writer(), json!({"status": "ongoing"}))
        .await
        .expect(200);
    app.post(&status_uri, &region_writer(), not_done)
        .await
        .expect(200);
    let filed = app
        .get(
            "/api/v1/deviations?category=intervention_not_carried_out",
            &reporter(),
        )
        .await
        .expect(200)
        .body;
    let filed = filed["items"].as_array().unwrap();
    assert_eq!(
        filed.len(),
        1,
        "the same event recorded twice files one deviation"
    );
    assert_eq!(filed[0]["status"], "suggested");
    assert_eq!(filed[0]["concerned_principal"], "region");
    let dismissed = app
        .post(
            &format!("/api/v1/deviations/{}/dismiss", id(&filed[0])),
            &reporter(),
            json!({"text": "resumed the next week"}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(dismissed["status"], "dismissed");
}

fn rows(report: &Value) -> &Vec<Value> {
    report["rows"].as_array().unwrap()
}

fn figure<'a>(report: &'a Value, indicator: &str, unit: &str) -> &'a Value {
    rows(report)
        .iter()
        .find(|r| r["indicator"] == indicator && r["unit"] == unit)
        .unwrap_or_else(|| panic!("no {indicator} for {unit} in {report}"))
}

/// The reports on a fixture whose figures are known by hand:
/// - P1 (AU124): the individual got the plan; the municipality unit was absent; its first follow-up
///   is held (on time) and closes the plan because the goals were met.
/// - P2 (AU125, after a discharge): the individual did not get the plan; everyone attended.
/// - P3: closed before any meeting because coordination was no longer needed.
async fn reports_match_a_fixture_computed_by_hand(app: TestApp) {
    let (p1, s1) = summoned_plan(&app).await;
    let mut meeting = meeting_body(&s1, true);
    meeting["attendance"][1]["attended"] = json!(false);
    app.post(&plan_uri(&p1, "/meeting"), &region_writer(), meeting)
        .await
        .expect(200);
    let follow_up = app
        .get(&plan_uri(&p1, "/follow-ups"), &reader())
        .await
        .expect(200)
        .body["items"][0]
        .clone();
    let interventions = app
        .get(&plan_uri(&p1, "/interventions"), &reader())
        .await
        .expect(200)
        .body;
    app.post(
        &format!("{}/follow-ups/{}/record", plan_uri(&p1, ""), id(&follow_up)),
        &region_writer(),
        json!({
            "held_on": days(0),
            "intervention_reviews": [{"intervention_id": interventions["items"][0]["id"], "carried_out": true}],
            "decision": "close",
            "closing_reason": "goals_met"
        }),
    )
    .await
    .expect(200);

    let lisa = p1["individual_id"].as_str().unwrap();
    let p2 = app
        .post(
            "/api/v1/plans",
            &region_writer(),
            json!({"individual_id": lisa, "need_reason": "discharge", "follows_discharge": true,
                   "discharge_ready_at": (Utc::now() - Duration::hours(5)).to_rfc3339()}),
        )
        .await
        .expect(201)
        .body;
    app.post(
        &plan_uri(&p2, "/consents"),
        &region_writer(),
        lisas_consent(),
    )
    .await
    .expect(201);
    add_intervention(&app, &p2, municipality_intervention()).await;
    let s2 = app
        .post(
            &plan_uri(&p2, "/summons"),
            &region_writer(),
            summons_body(region_and_municipality()),
        )
        .await
        .expect(201)
        .body;
    let mut meeting = meeting_body(&s2, true);
    meeting["individual_received_plan"] = json!(false);
    app.post(&plan_uri(&p2, "/meeting"), &region_writer(), meeting)
        .await
        .expect(200);

    let p3 = consented_plan(&app).await;
    app.post(
        &plan_uri(&p3, "/close"),
        &region_writer(),
        json!({"reason": "coordination_no_longer_needed"}),
    )
    .await
    .expect(200);

    let period = format!("from={}&to={}", days(-1), days(365));

    // The report role sees figures and no plan; a plain reader sees no figures.
    app.get(&format!("/api/v1/reports/plans?{period}"), &reader())
        .await
        .expect(403);
    app.get(&plan_uri(&p1, ""), &report_reader())
        .await
        .expect(403);
    app.get(
        "/api/v1/reports/plans?from=2026-02-01&to=2026-01-01",
        &report_reader(),
    )
    .await
    .expect(422);
    app.get("/api/v1/reports/plans", &report_reader())
        .await
        .expect(400);

    let plans = app
        .get(&format!("/api/v1/reports/plans?{period}"), &report_reader())
        .await
        .expect(200)
        .body;
    let unit = rows(&plans)
        .iter()
        .find(|r| r["unit"] == REGION_UNIT)
        .unwrap();
    assert_eq!(
        (
            unit["established_au124"].as_u64(),
            unit["established_au125"].as_u64(),
            unit["followed_up_aw010"].as_u64()
        ),
        (Some(1), Some(1), Some(1))
    );
    let all = rows(&plans).iter().find(|r| r["unit"] == "all").unwrap();
    assert_eq!(all["principal"], "all");
    // The total comes last, as the document says.
    assert_eq!(rows(&plans).last().unwrap()["principal"], "all");

    let report = app
        .get(
            &format!("/api/v1/reports/indicators?{period}"),
            &report_reader(),
        )
        .await
        .expect(200)
        .body;
    let check = |indicator: &str,
                 unit: &str,
                 numerator: Option<u64>,
                 denominator: u64,
                 value: Option<f64>| {
        let f = figure(&report, indicator, unit);
        assert_eq!(f["numerator"].as_u64(), numerator, "{indicator} {unit}");
        assert_eq!(
            f["denominator"].as_u64(),
            Some(denominator),
            "{indicator} {unit}"
        );
        match value {
            Some(v) => assert!(
                (f["value"].as_f64().unwrap() - v).abs() < 1e-9,
                "{indicator} {unit}: {f}"
            ),
            None => assert!(f.get("value").is_none()),
        }
    };
    check("followed_up_by_date", REGION_UNIT, Some(1), 1, Some(1.0));
    check(
        "summoned_units_attended",
        REGION_UNIT,
        Some(2),
        2,
        Some(1.0),
    );
    check(
        "summoned_units_attended",
        MUNICIPALITY_UNIT,
        Some(1),
        2,
        Some(0.5),
    );
    check("summoned_units_attended", "all", Some(3), 4, Some(0.75));
    check(
        "plan_given_to_individual",
        REGION_UNIT,
        Some(1),
        2,
        Some(0.5),
    );
    check(
        "meetings_within_deadline",
        REGION_UNIT,
        Some(2),
        2,
        Some(1.0),
    );
    check(
        "days_from_consent_to_meeting",
        REGION_UNIT,
        None,
        2,
        Some(0.0),
    );
    check(
        "closed_because_goals_met",
        REGION_UNIT,
        Some(1),
        2,
        Some(0.5),
    );

    // The absence was filed; close one manual deviation the same day for the median.
    let manual = app
        .post("/api/v1/deviations", &reporter(), deviation("other", None))
        .await
        .expect(201)
        .body;
    app.post(
        &format!("/api/v1/deviations/{}/close", id(&manual)),
        &reporter(),
        json!({"analysis": "a", "action_taken": "b"}),
    )
    .await
    .expect(200);
    let deviations = app
        .get(
            &format!("/api/v1/reports/deviations?{period}"),
            &report_reader(),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(rows(&deviations).last().unwrap()["principal"], "all");
    let absent = rows(&deviations)
        .iter()
        .find(|r| r["unit"] == MUNICIPALITY_UNIT && r["category"] == "summoned_unit_absent")
        .unwrap();
    assert_eq!(
        (absent["total"].as_u64(), absent["suggested"].as_u64()),
        (Some(1), Some(1))
    );
    assert!(absent.get("median_days_to_close").is_none());
    let other = rows(&deviations)
        .iter()
        .find(|r| r["unit"] == MUNICIPALITY_UNIT && r["category"] == "other")
        .unwrap();
    assert_eq!(
        (
            other["closed"].as_u64(),
            other["median_days_to_close"].as_f64()
        ),
        (Some(1), Some(0.0))
    );

    // CSV: the same rows, parseable.
    for (path, json_report) in [
        ("indicators", &report),
        ("plans", &plans),
        ("deviations", &deviations),
    ] {
        let reply = app
            .send(
                Method::GET,
                &format!("/api/v1/reports/{path}?{period}"),
                Some(&report_reader()),
                None,
                &[("accept", "text/csv")],
            )
            .await
            .expect(200);
        assert_eq!(
            reply.header("content-type").as_deref(),
            Some("text/csv; charset=utf-8")
        );
        let text = reply.body.as_str().unwrap().to_string();
        let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
        assert_eq!(
            lines.len(),
            rows(json_report).len() + 1,
            "{path}: a header and one line a row"
        );
        let columns = lines[0].split(',').count();
        assert!(
            lines.iter().all(|l| l.split(',').count() == columns),
            "{path}: every line has {columns} fields"
        );
    }
}

/// A unit's list of deviations reads the deviations it may see, not every deviation: with 20,000
/// of another unit's in place, a unit with none finds its list empty without reading them.
/// Counted on PostgreSQL in rows read (the statement runs planned for the unit), not in time.
async fn a_units_deviations_are_found_without_reading_everyone_elses(app: TestApp) {
    app.post("/api/v1/deviations", &reporter(), deviation("other", None))
        .await
        .expect(201);
    app.copy_first_row(
        "deviations",
        20_000,
        &[("id", "x.id || '-' || g"), ("source_key", "NULL")],
    )
    .await;
    let (found, read) = app
        .rows_read_by("deviations", |c| {
            sip::db::deviations::list(c, "SE2321000016-OTH9", &Default::default(), None, 51)
        })
        .await;
    assert!(found.is_empty());
    if let Some(read) = read {
        assert!(read < 1_000, "the list read {read} deviations");
    }
}

/// A unit's list holds what it reported and what concerns it as one list in id order: paged two
/// at a time, the pages together are every deviation once, whichever of the two each one is.
async fn a_units_list_pages_through_what_it_reported_and_what_concerns_it(app: TestApp) {
    let about_the_region = || {
        let mut body = deviation("other", None);
        body["concerned_unit"] = json!(REGION_UNIT);
        body["concerned_principal"] = json!("region");
        body
    };
    let mut expected = Vec::new();
    for n in 0..5 {
        let (who, body) = if n % 2 == 0 {
            (reporter(), deviation("other", None))
        } else {
            (concerned(), about_the_region())
        };
        let created = app
            .post("/api/v1/deviations", &who, body)
            .await
            .expect(201)
            .body;
        expected.push(id(&created).to_string());
    }
    app.post("/api/v1/deviations", &outsider(), deviation("other", None))
        .await
        .expect(201);
    expected.sort();
    let seen = app
        .every_id("/api/v1/deviations?limit=2", &reporter())
        .await;
    assert_eq!(seen, expected);
    let mine = reporter();
    let reported = app
        .every_id("/api/v1/deviations?role=reported", &mine)
        .await;
    assert_eq!(reported.len(), 3);
    let concerning = app
        .every_id("/api/v1/deviations?role=concerned", &mine)
        .await;
    assert_eq!(concerning.len(), 2);
}

on_both_databases!(
    a_units_deviations_are_found_without_reading_everyone_elses,
    a_units_list_pages_through_what_it_reported_and_what_concerns_it,
    every_category_can_be_reported,
    the_status_flow_and_who_moves_it,
    only_the_units_involved_see_a_deviation,
    late_feedback_is_visible,
    deviations_are_filed_automatically_once,
    reports_match_a_fixture_computed_by_hand,
);
