//! The individual takes part through an e-service (`/api/v1/me`): their plans in every form, who has
//! read their data, their consent, the meeting, SIP-kollen — for themselves, as a guardian of a
//! young child, as a legal representative — and never anyone else's.

use actix_web::http::Method;
use serde_json::{json, Value};

use crate::common::*;
use crate::on_both_databases;

fn lisa() -> Who {
    Who::individual(LISA_PNR)
}

fn erik() -> Who {
    Who::individual(ERIK_PNR)
}

/// `path` with its `{…}` segments replaced, in order, by `ids`.
fn fill(path: &str, ids: &[&str]) -> String {
    let mut ids = ids.iter();
    path.split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                ids.next()
                    .map_or_else(|| uuid::Uuid::new_v4().to_string(), |id| id.to_string())
            } else {
                segment.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Every operation of the document, as (method, path).
fn operations() -> Vec<(Method, String)> {
    let doc: Value = serde_json::from_str(&sip::api::openapi_json()).unwrap();
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, name) in [
            (Method::GET, "get"),
            (Method::POST, "post"),
            (Method::PUT, "put"),
            (Method::DELETE, "delete"),
        ] {
            if !item[name].is_null() {
                out.push((method, path.clone()));
            }
        }
    }
    out
}

async fn an_individual_reads_their_plans_in_every_form(app: TestApp) {
    let plan = established_plan(&app).await;
    let me = app.get("/api/v1/me", &lisa()).await.expect(200).body;
    assert_eq!(me["acting_for"].as_array().unwrap().len(), 1, "{me}");
    assert_eq!(me["acting_for"][0]["acting_as"], "themselves");
    assert_eq!(me["acting_for"][0]["given_name"], "Lisa");

    let plans = app.get("/api/v1/me/plans", &lisa()).await.expect(200).body;
    assert_eq!(plans["items"].as_array().unwrap().len(), 1);
    assert_eq!(plans["items"][0]["id"], plan["id"]);
    assert_eq!(plans["items"][0]["status"], "established");
    assert_eq!(plans["items"][0]["status_text"], "Planen gäller");

    let uri = format!("/api/v1/me/plans/{}", id(&plan));
    let json = app.get(&uri, &lisa()).await.expect(200);
    let text = json.body.to_string();
    assert!(
        text.contains("Det här ska hända") && text.contains("Ditt samtycke"),
        "{text}"
    );
    // Only what the plan document shows: no staff fields, no internal ids of recorders.
    for hidden in ["recorded_by", "topics_to_avoid", "tester", "documented_by"] {
        assert!(!text.contains(hidden), "{hidden} in {text}");
    }
    let html = app
        .get_accepting(&uri, &lisa(), "text/html")
        .await
        .expect(200);
    assert!(html
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    assert!(html.body.as_str().unwrap().contains("<html lang=\"sv\">"));
    let pdf = app
        .get_accepting(&uri, &lisa(), "application/pdf")
        .await
        .expect(200);
    assert!(pdf.bytes.starts_with(b"%PDF-"));

    // Each read is logged as the individual's own access.
    let own = app
        .count(format!(
            "SELECT COUNT(*) AS n FROM audit_events WHERE subject = 'individual' AND unit = '' AND plan_id = '{}'",
            id(&plan)
        ))
        .await;
    assert!(own >= 3, "{own} reads logged");
}

/// Another person's token finds nothing of Lisa's through any `/me` operation: the same 404 as
/// for ids that exist nowhere, empty lists, and the one answer every unusable survey code gets.
async fn another_person_finds_nothing(app: TestApp) {
    let (plan, summons) = summoned_plan(&app).await;
    let consents = app
        .get(&plan_uri(&plan, "/consents"), &reader())
        .await
        .expect(200)
        .body;
    let consent_id = consents["items"][0]["id"].as_str().unwrap().to_string();
    let lisa_id = app.get("/api/v1/me", &lisa()).await.expect(200).body["acting_for"][0]
        ["individual_id"]
        .as_str()
        .unwrap()
        .to_string();
    app.individual(ERIK_PNR, "Erik", json!([])).await;
    let ids = [id(&plan), consent_id.as_str()];
    let mut walked = 0;
    for (method, path) in operations() {
        if !path.starts_with("/api/v1/me") {
            continue;
        }
        walked += 1;
        let uri = if path.contains("/summons/") {
            fill(&path, &[id(&plan), id(&summons)])
        } else if path == "/api/v1/me/access-log" {
            format!("{path}?individual_id={lisa_id}")
        } else {
            fill(&path, &ids)
        };
        let body = match path.as_str() {
            p if p.ends_with("/withdraw") => Some(json!({})),
            p if p.ends_with("/preparation") => {
                Some(json!({"questions": ["x"], "brings_support_person": false}))
            }
            p if p.ends_with("/survey-answers") => Some(json!({
                "code": "K7QM-3WXR-9P", "participation": 3, "listened_to": 3, "language": 3,
                "coordinator": 3, "roles_clear": 3, "got_plan": 3
            })),
            _ => None,
        };
        let reply = app
            .send(method.clone(), &uri, Some(&erik()), body.as_ref(), &[])
            .await;
        let text = reply.body.to_string();
        match path.as_str() {
            "/api/v1/me" => assert_eq!(reply.body["acting_for"].as_array().unwrap().len(), 1),
            "/api/v1/me/plans" => assert_eq!(reply.body["items"], json!([]), "{text}"),
            "/api/v1/me/survey-answers" => {
                assert_eq!(reply.status.as_u16(), 422, "{text}");
                assert_eq!(reply.error_fields(), vec!["$.code"]);
            }
            _ => {
                assert_eq!(reply.status.as_u16(), 404, "{method} {path}: {text}");
                assert_problem(&reply);
                assert!(!text.contains("Lisa") && !text.contains(&lisa_id), "{text}");
            }
        }
    }
    assert!(walked >= 9, "only {walked} /me operations walked");
    // Nothing of Lisa's changed.
    assert_eq!(status_of(&app, &plan).await["status"], "summoned");
}

/// Noah, 6, with Erik registered as his guardian, and a plan of his.
async fn noahs_plan(app: &TestApp) -> (Value, Value) {
    let noah = app
        .individual(
            NOAH_PNR,
            "Noah",
            json!([{"name": "Erik Testsson", "identity_number": ERIK_PNR}]),
        )
        .await;
    let plan = app.plan_for(id(&noah)).await;
    (noah, plan)
}

/// A guardian acts for a child under 13 registered with them, and not once the child turns 13 or
/// the guardianship is removed from the record; the child acts for themselves from 16.
async fn guardians_act_for_a_young_child(app: TestApp) {
    let guardian = Who::individual(ERIK_PNR);
    let (noah, plan) = noahs_plan(&app).await;
    let me = app.get("/api/v1/me", &guardian).await.expect(200).body;
    let people = me["acting_for"].as_array().unwrap();
    assert_eq!(people.len(), 1, "{me}");
    assert_eq!(people[0]["acting_as"], "guardian");
    let uri = format!("/api/v1/me/plans/{}", id(&plan));
    let listed = app
        .get("/api/v1/me/plans", &guardian)
        .await
        .expect(200)
        .body;
    assert_eq!(
        listed["items"][0]["person"]["acting_as"], "guardian",
        "{listed}"
    );
    app.get(&uri, &guardian).await.expect(200);
    // Both reads are recorded as the guardian's, for the child.
    let by_guardian = app
        .count(format!(
            "SELECT COUNT(*) AS n FROM audit_events WHERE subject LIKE 'guardian:%' AND plan_id = '{}'",
            id(&plan)
        ))
        .await;
    assert_eq!(by_guardian, 2);
    // Noah cannot act for himself at 6.
    let noah_himself = Who::individual(NOAH_PNR);
    let own = app.get("/api/v1/me", &noah_himself).await.expect(200).body;
    assert_eq!(own["acting_for"], json!([]));
    app.get(&uri, &noah_himself).await.expect(404);

    // The guardianship is removed from the record: access ends at once.
    let record = app
        .get(&format!("/api/v1/individuals/{}", id(&noah)), &reader())
        .await
        .expect(200);
    let etag = record.etag();
    app.put(
        &format!("/api/v1/individuals/{}", id(&noah)),
        &region_writer(),
        json!({"identity_number": NOAH_PNR, "given_name": "Noah", "family_name": "Testsson", "guardians": [{"name": "Someone Else"}]}),
        Some(&etag),
    )
    .await
    .expect(200);
    app.get(&uri, &guardian).await.expect(404);
    assert_eq!(
        app.get("/api/v1/me/plans", &guardian)
            .await
            .expect(200)
            .body["items"],
        json!([])
    );
}

async fn a_guardian_no_longer_acts_once_the_child_is_13(app: TestApp) {
    let guardian = Who::individual(ERIK_PNR);
    let (_, plan) = noahs_plan(&app).await;
    let uri = format!("/api/v1/me/plans/{}", id(&plan));
    app.get(&uri, &guardian).await.expect(200);
    // Noah turns 13 (born 2020-03-03).
    let days_to_13 =
        (chrono::NaiveDate::from_ymd_opt(2033, 3, 3).unwrap() - app.today()).num_days();
    app.pass_days(days_to_13);
    app.get(&uri, &guardian).await.expect(404);
    app.get(&uri, &Who::individual(NOAH_PNR)).await.expect(404);
    // At 16 he reads his own plan.
    app.pass_days(3 * 366);
    app.get(&uri, &Who::individual(NOAH_PNR)).await.expect(200);
}

/// A legal representative named by identity number on a consent acts for the person while the
/// consent stands; withdrawing it ends that too.
async fn a_legal_representative_acts_while_the_consent_stands(app: TestApp) {
    let plan = app.lisas_plan().await;
    let mut consent = lisas_consent();
    consent["givers"] = json!([{
        "role": "legal_representative", "name": "Erik Testsson",
        "representative_kind": "trustee", "identity_number": ERIK_PNR
    }]);
    let recorded = app
        .post(&plan_uri(&plan, "/consents"), &region_writer(), consent)
        .await
        .expect(201)
        .body;
    assert_eq!(recorded["givers"][0]["identity_number"], "195309011913");
    let me = app.get("/api/v1/me", &erik()).await.expect(200).body;
    let representing = me["acting_for"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["acting_as"] == "legal_representative")
        .cloned()
        .unwrap_or_else(|| panic!("{me}"));
    assert_eq!(representing["given_name"], "Lisa");
    let uri = format!("/api/v1/me/plans/{}", id(&plan));
    app.get(&uri, &erik()).await.expect(200);
    // The representative withdraws the consent for her: recorded as the representative's act.
    app.post(
        &format!(
            "/api/v1/me/plans/{}/consents/{}/withdraw",
            id(&plan),
            id(&recorded)
        ),
        &erik(),
        json!({"reason": "Lisa vill inte längre"}),
    )
    .await
    .expect(200);
    let by = app
        .count(format!(
            "SELECT COUNT(*) AS n FROM change_events WHERE event_type = 'consent.withdrawn' AND subject LIKE 'legal_representative:%' AND plan_id = '{}'",
            id(&plan)
        ))
        .await;
    assert_eq!(by, 1);
    // The consent no longer stands: the representative reaches nothing.
    app.get(&uri, &erik()).await.expect(404);
    // A representative's number is checked like any.
    let mut bad = lisas_consent();
    bad["givers"] = json!([{"role": "individual", "identity_number": ERIK_PNR}]);
    let other = app.lisas_plan().await;
    let reply = app
        .post(&plan_uri(&other, "/consents"), &region_writer(), bad)
        .await
        .expect(422);
    assert_eq!(reply.error_fields(), vec!["$.givers[0].identity_number"]);
    assert!(
        !reply.body.to_string().contains("19530901"),
        "{}",
        reply.body
    );
}

/// The individual withdraws their consent: the plan closes as when staff record it, the parties
/// see it in the feed, and a second withdrawal is a clear 409.
async fn withdrawing_consent_closes_the_plan(app: TestApp) {
    let plan = established_plan(&app).await;
    let consents = app
        .get(&format!("/api/v1/me/plans/{}/consents", id(&plan)), &lisa())
        .await
        .expect(200)
        .body;
    let consent = &consents["items"][0];
    assert_eq!(consent["active"], true);
    assert!(consent.get("recorded_by").is_none() && consent.get("note").is_none());
    assert_eq!(consent["covered_parties"].as_array().unwrap().len(), 3);
    let uri = format!(
        "/api/v1/me/plans/{}/consents/{}/withdraw",
        id(&plan),
        id(consent)
    );
    let withdrawn = app.post(&uri, &lisa(), json!({})).await.expect(200).body;
    assert_eq!(withdrawn["active"], false);
    assert!(withdrawn["withdrawn_at"].is_string());
    // The plan is closed; the municipality's access through the consent has ended.
    let me = app
        .get(&format!("/api/v1/me/plans/{}", id(&plan)), &lisa())
        .await
        .expect(200);
    assert!(
        me.body.to_string().contains("Planen är avslutad"),
        "{}",
        me.body
    );
    app.get(&plan_uri(&plan, ""), &municipality_writer())
        .await
        .expect(404);
    let feed = app
        .get("/api/v1/events?limit=200", &reader())
        .await
        .expect(200)
        .body;
    let withdrawal = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event_type"] == "consent.withdrawn")
        .cloned()
        .unwrap_or_else(|| panic!("{feed}"));
    // Made by no unit: the individual, through the e-service.
    assert_eq!(withdrawal["unit"], "");
    assert_eq!(withdrawal["to_status"], "withdrawn");
    // Twice: 409, naming the state.
    let again = app.post(&uri, &lisa(), json!({})).await.expect(409);
    assert_problem(&again);
    assert!(again.body["detail"].as_str().unwrap().contains("withdrawn"));
}

/// Before the meeting the individual writes their questions; the invited units see them with the
/// summons; after the meeting, no more.
async fn the_individual_prepares_for_the_meeting(app: TestApp) {
    let (plan, summons) = summoned_plan(&app).await;
    let listed = app
        .get(&format!("/api/v1/me/plans/{}/summons", id(&plan)), &lisa())
        .await
        .expect(200)
        .body;
    let mine = &listed["items"][0];
    assert_eq!(mine["meeting_place"], "Vårdcentralen Söder");
    assert_eq!(mine["invited"].as_array().unwrap().len(), 3);
    assert!(mine.get("my_preparation").is_none());
    let uri = format!(
        "/api/v1/me/plans/{}/summons/{}/preparation",
        id(&plan),
        id(&summons)
    );
    let body =
        json!({"questions": ["Kan jag få hjälp på morgnarna?"], "brings_support_person": true});
    let saved = app
        .put(&uri, &lisa(), body.clone(), None)
        .await
        .expect(200)
        .body;
    assert_eq!(
        saved["my_preparation"]["questions"][0],
        "Kan jag få hjälp på morgnarna?"
    );
    assert_eq!(saved["my_preparation"]["written_by"], "themselves");
    // The municipality, invited, sees it with the summons.
    let staff = app
        .get(&plan_uri(&plan, "/summons"), &municipality_writer())
        .await
        .expect(200)
        .body;
    let preparation = &staff["items"][0]["individual_preparation"];
    assert_eq!(preparation["brings_support_person"], true);
    assert_eq!(preparation["version"], 1);
    // A change replaces it.
    let changed = json!({"questions": [], "brings_support_person": false});
    let saved = app.put(&uri, &lisa(), changed, None).await.expect(200).body;
    assert_eq!(saved["my_preparation"]["version"], 2);
    // Too long a question names its place, not its text.
    let long = json!({"questions": ["x".repeat(2000)], "brings_support_person": false});
    let reply = app.put(&uri, &lisa(), long, None).await.expect(422);
    assert_eq!(reply.error_fields(), vec!["$.questions[0]"]);
    // After the meeting, the plan is past it.
    let summons_now = app
        .get(&plan_uri(&plan, "/summons"), &reader())
        .await
        .expect(200)
        .body;
    app.post(
        &plan_uri(&plan, "/meeting"),
        &region_writer(),
        meeting_body(&summons_now["items"][0], true),
    )
    .await
    .expect(200);
    app.put(&uri, &lisa(), body, None).await.expect(409);
}

/// Loggutdrag: every organisation's accesses to the person's data, in JSON and as a printable
/// extract; staff are never named; a protected person's extract names no unit.
async fn the_access_log_extract(app: TestApp) {
    let plan = established_plan(&app).await;
    app.get(&plan_uri(&plan, "/document"), &municipality_writer())
        .await
        .expect(200);
    // A search by her number is told as a search ("Sökte"), not a read.
    app.post(
        "/api/v1/individuals/search",
        &municipality_writer(),
        json!({"identity_number": LISA_PNR}),
    )
    .await
    .expect(200);
    let extract = app
        .get("/api/v1/me/access-log", &lisa())
        .await
        .expect(200)
        .body;
    let items = extract["items"].as_array().unwrap();
    let read = items
        .iter()
        .find(|e| e["kind"] == "read" && e["unit"] == MUNICIPALITY_UNIT)
        .unwrap_or_else(|| panic!("{extract}"));
    assert_eq!(read["by"], "unit");
    assert_eq!(read["principal"], "municipality");
    assert_eq!(read["plan_id"], plan["id"]);
    assert!(items.iter().any(|e| e["kind"] == "change"), "{extract}");
    assert!(
        items
            .iter()
            .any(|e| e["kind"] == "search" && e["unit"] == MUNICIPALITY_UNIT),
        "{extract}"
    );
    assert!(
        !extract.to_string().contains("tester"),
        "staff are not named"
    );
    // Printable, in Swedish.
    let html = app
        .get_accepting("/api/v1/me/access-log", &lisa(), "text/html")
        .await
        .expect(200);
    let page = html.body.as_str().unwrap();
    assert!(page.contains("Loggutdrag för Lisa Testsson") && page.contains("En enhet i kommunen"));
    assert!(page.contains("Sökte"), "{page}");
    assert!(page.contains("dataskyddsombud") && !page.contains("Planen är din"));
    // For the accessibility check in a browser (`make a11y`).
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/documents");
    std::fs::create_dir_all(&dir).unwrap();
    let backend = if app.postgres_database().is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    std::fs::write(dir.join(format!("loggutdrag-{backend}.html")), page).unwrap();
    let pdf = app
        .get_accepting("/api/v1/me/access-log", &lisa(), "application/pdf")
        .await
        .expect(200);
    assert!(pdf.bytes.starts_with(b"%PDF-"));
    // Paging.
    let first = app
        .get("/api/v1/me/access-log?limit=1", &lisa())
        .await
        .expect(200)
        .body;
    let cursor = first["next_cursor"].as_str().unwrap().to_string();
    let second = app
        .get(
            &format!("/api/v1/me/access-log?limit=1&cursor={cursor}"),
            &lisa(),
        )
        .await
        .expect(200)
        .body;
    assert_ne!(first["items"][0], second["items"][0]);

    // A protected person's extract names no unit.
    let hidden = app
        .post(
            "/api/v1/individuals",
            &region_writer(),
            json!({"identity_number": ERIK_PNR, "given_name": "Erik", "family_name": "Testsson", "protected_identity": true}),
        )
        .await
        .expect(201)
        .body;
    app.get(
        &format!("/api/v1/individuals/{}", id(&hidden)),
        &region_writer(),
    )
    .await
    .expect(200);
    let extract = app
        .get("/api/v1/me/access-log", &erik())
        .await
        .expect(200)
        .body;
    assert!(
        !extract["items"].as_array().unwrap().is_empty(),
        "{extract}"
    );
    assert!(!extract.to_string().contains(REGION_UNIT), "{extract}");
}

/// SIP-kollen: one code a meeting that offered it, an answer spends it, unusable codes all get the
/// same answer, nothing links an answer to anyone, and the report suppresses small groups.
async fn sip_kollen(app: TestApp) {
    let plan = established_plan(&app).await;
    let uri = plan_uri(&plan, "/meeting/survey-code");
    let issued = app
        .post(&uri, &region_writer(), json!({}))
        .await
        .expect(201)
        .body;
    let code = issued["code"].as_str().unwrap().to_string();
    assert_eq!(code.len(), 12);
    app.post(&uri, &region_writer(), json!({}))
        .await
        .expect(409);
    // The code is in no table, and no table ties a code to the plan.
    assert_eq!(
        app.count(format!(
            "SELECT COUNT(*) AS n FROM survey_codes WHERE code_hash = '{code}'"
        ))
        .await,
        0
    );
    let answer = |code: &str| {
        json!({"code": code, "participation": 4, "listened_to": 5, "language": 4,
               "coordinator": 5, "roles_clear": 3, "got_plan": 5})
    };
    let typed = code.to_lowercase().replace('-', " ");
    app.post("/api/v1/me/survey-answers", &lisa(), answer(&typed))
        .await
        .expect(204);
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM survey_codes".into())
            .await,
        0
    );
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM survey_answers".into())
            .await,
        1
    );
    // Spent and unknown codes get one and the same answer.
    let spent = app
        .post("/api/v1/me/survey-answers", &lisa(), answer(&code))
        .await
        .expect(422);
    let unknown = app
        .post("/api/v1/me/survey-answers", &lisa(), answer("AAAA-BBBB-CC"))
        .await
        .expect(422);
    assert_eq!(spent.body, unknown.body);
    // A score outside 1–5 names its field.
    let mut bad = answer(&code);
    bad["got_plan"] = json!(6);
    let reply = app
        .post("/api/v1/me/survey-answers", &lisa(), bad)
        .await
        .expect(422);
    assert_eq!(reply.error_fields(), vec!["$.got_plan"]);
    // The answer was not logged as anyone's access.
    assert_eq!(
        app.count(
            "SELECT COUNT(*) AS n FROM audit_events WHERE resource_type = 'survey-answers'".into()
        )
        .await,
        0
    );
    // The report: one answer is a group too small to show.
    let reporter = Who {
        roles: vec![sip::auth::Role::Report],
        ..reader()
    };
    let today = app.today();
    let report_uri = format!("/api/v1/reports/survey?from={today}&to={today}");
    let report = app.get(&report_uri, &reporter).await.expect(200).body;
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 4 * 6, "{report}");
    assert!(
        rows.iter()
            .all(|r| r["suppressed"] == true && r.get("mean").is_none()),
        "{report}"
    );
    let csv = app
        .get_accepting(&report_uri, &reporter, "text/csv")
        .await
        .expect(200);
    assert!(csv
        .body
        .as_str()
        .unwrap()
        .starts_with("principal,question,answers,suppressed"));
    // A meeting that did not offer it has no code.
    let other = {
        let (plan, summons) = summoned_plan(&app).await;
        let mut body = meeting_body(&summons, true);
        body["sip_survey_offered"] = json!(false);
        app.post(&plan_uri(&plan, "/meeting"), &region_writer(), body)
            .await
            .expect(200);
        plan
    };
    app.post(
        &plan_uri(&other, "/meeting/survey-code"),
        &region_writer(),
        json!({}),
    )
    .await
    .expect(409);
}

/// An individual's token needs an e-ID login of assurance level 3 and cannot also carry a unit.
async fn an_individuals_token_is_checked(app: TestApp) {
    let now = chrono::Utc::now().timestamp();
    let token = |claims: Value| {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap()
    };
    let base = json!({"sub": "x", "iss": ISSUER, "aud": AUDIENCE, "exp": now + 600, "nbf": now - 10,
                      "personal_identity_number": "191212121212",
                      "acr": "http://id.elegnamnden.se/loa/1.0/loa3"});
    let call = |t: String| {
        let app = &app;
        async move {
            app.send(
                Method::GET,
                "/api/v1/me",
                None,
                None,
                &[("authorization", &format!("Bearer {t}"))],
            )
            .await
        }
    };
    call(token(base.clone())).await.expect(200);
    let mut loa2 = base.clone();
    loa2["acr"] = json!("http://id.elegnamnden.se/loa/1.0/loa2");
    let reply = call(token(loa2)).await.expect(401);
    assert!(reply.body["detail"]
        .as_str()
        .unwrap()
        .contains("assurance level 3"));
    let mut mixed = base.clone();
    mixed["unit"] = json!(REGION_UNIT);
    mixed["roles"] = json!(["read"]);
    call(token(mixed)).await.expect(401);
    let mut bad = base.clone();
    bad["personal_identity_number"] = json!("191212121213");
    let reply = call(token(bad)).await.expect(401);
    assert!(!reply.body.to_string().contains("191212121213"));
}

on_both_databases!(
    an_individual_reads_their_plans_in_every_form,
    another_person_finds_nothing,
    guardians_act_for_a_young_child,
    a_guardian_no_longer_acts_once_the_child_is_13,
    a_legal_representative_acts_while_the_consent_stands,
    withdrawing_consent_closes_the_plan,
    the_individual_prepares_for_the_meeting,
    the_access_log_extract,
    sip_kollen,
    an_individuals_token_is_checked,
);
