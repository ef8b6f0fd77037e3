//! The plan as a FHIR R4 Bundle: checked here for what it says, and parsed by an independent FHIR
//! R4 model library (fhir.resources, in `tools/fhir_validate.py`) for whether it is valid FHIR.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use crate::common::*;
use crate::on_both_databases;

/// Runs the independent validator over `bundles`. `make test` installs it (`.venv-fhir`, pinned in
/// `tools/fhir-requirements.txt`) and names its Python in `FHIR_VALIDATOR_PYTHON`; the test fails
/// rather than skip when it is missing.
pub(crate) fn validate_with_fhir_resources(bundles: &[Value]) {
    let root = env!("CARGO_MANIFEST_DIR");
    let python = std::env::var("FHIR_VALIDATOR_PYTHON")
        .unwrap_or_else(|_| format!("{root}/.venv-fhir/bin/python"));
    assert!(
        std::path::Path::new(&python).exists(),
        "the FHIR validator is not installed at {python}: run `make test`, which installs it"
    );
    let mut child = Command::new(&python)
        .arg(format!("{root}/tools/fhir_validate.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the FHIR validator starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(bundles).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "fhir.resources rejects a bundle:\n{report}"
    );
    assert!(report.contains("valid"), "{report}");
}

async fn fhir_of(app: &TestApp, plan: &Value) -> Value {
    let reply = app
        .get(&plan_uri(plan, "/fhir"), &reader())
        .await
        .expect(200);
    assert_eq!(
        reply.header("content-type").as_deref(),
        Some("application/fhir+json")
    );
    assert_eq!(
        reply.etag(),
        format!("\"{}\"", status_of(app, plan).await["version"])
    );
    reply.body
}

fn resources<'a>(bundle: &'a Value, kind: &str) -> Vec<&'a Value> {
    bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .filter(|r| r["resourceType"] == kind)
        .collect()
}

fn the<'a>(bundle: &'a Value, kind: &str) -> &'a Value {
    let found = resources(bundle, kind);
    assert_eq!(found.len(), 1, "one {kind}");
    found[0]
}

/// Lisa's plan, established with goals, a sub-goal and interventions of three kinds, followed up
/// once.
async fn lisas_established_plan(app: &TestApp) -> Value {
    let plan = consented_plan(app).await;
    let goal = add_goal(app, &plan, "Lisa gets going with work training", None).await;
    let sub = add_goal(
        app,
        &plan,
        "Lisa gets up and ready in the morning",
        Some(id(&goal)),
    )
    .await;
    let case_manager = add_intervention(app, &plan, region_intervention(json!([id(&sub)]))).await;
    add_intervention(app, &plan, municipality_intervention()).await;
    add_intervention(
        app,
        &plan,
        json!({"description": "Work-training place", "responsible": "other", "responsible_actor": "Arbetsförmedlingen", "goal_ids": [id(&goal)]}),
    )
    .await;
    add_intervention(
        app,
        &plan,
        json!({"description": "Lisa sets two alarms", "responsible": "individual", "goal_ids": [id(&sub)]}),
    )
    .await;
    summon_and_meet(app, &plan).await;
    app.post(
        &format!(
            "{}/interventions/{}/status",
            plan_uri(&plan, ""),
            id(&case_manager)
        ),
        &region_writer(),
        json!({"status": "completed"}),
    )
    .await
    .expect(200);
    let follow_up = app
        .get(&plan_uri(&plan, "/follow-ups"), &reader())
        .await
        .expect(200)
        .body["items"][0]
        .clone();
    let interventions = app
        .get(&plan_uri(&plan, "/interventions"), &reader())
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
    app.post(
        &format!("{}/follow-ups/{}/record", plan_uri(&plan, ""), id(&follow_up)),
        &region_writer(),
        json!({
            "held_on": days(0),
            "goal_outcomes": [{"goal_id": id(&goal), "outcome": "partly_fulfilled"}, {"goal_id": id(&sub), "outcome": "fulfilled"}],
            "intervention_reviews": reviews,
            "decision": "continue",
            "next_follow_up": {"date": days(90), "place": "Video"}
        }),
    )
    .await
    .expect(200);
    plan
}

async fn an_established_plan_is_a_care_plan_with_its_team_goals_and_interventions(app: TestApp) {
    let plan = lisas_established_plan(&app).await;
    let bundle = fhir_of(&app, &plan).await;
    assert_eq!(bundle["resourceType"], "Bundle");
    assert_eq!(bundle["type"], "collection");
    let current = status_of(&app, &plan).await;
    assert_eq!(
        bundle["id"],
        format!("{}-{}", id(&plan), current["version"])
    );

    let care_plan = the(&bundle, "CarePlan");
    assert_eq!(care_plan["id"], plan["id"]);
    assert_eq!(care_plan["status"], "active");
    assert_eq!(care_plan["intent"], "plan");
    assert_eq!(
        care_plan["category"][0]["coding"][0],
        json!({"system": "https://fhir.inera.se/CodeSystem/typeofcareplan-cs", "code": "SIP", "display": "SIP"})
    );
    assert_eq!(care_plan["description"], "to get going with work training");
    assert_eq!(care_plan["extension"][0]["valueCode"], "municipality");
    assert!(care_plan["period"]["start"].is_string());
    // Four interventions referenced, and two follow-ups (one held) as appointment activities.
    let activities = care_plan["activity"].as_array().unwrap();
    assert_eq!(
        activities
            .iter()
            .filter(|a| a.get("reference").is_some())
            .count(),
        4
    );
    let follow_ups: Vec<&str> = activities
        .iter()
        .filter_map(|a| a["detail"]["status"].as_str())
        .collect();
    assert_eq!(follow_ups, vec!["completed", "scheduled"]);

    // The patient by personnummer; nothing of Lisa beyond what the plan's reader already sees.
    let patient = the(&bundle, "Patient");
    assert_eq!(
        patient["identifier"][0],
        json!({"system": "urn:oid:1.2.752.129.2.1.3.1", "value": "191212121212"})
    );
    assert_eq!(
        care_plan["subject"]["reference"],
        format!("urn:uuid:{}", patient["id"].as_str().unwrap())
    );

    // Units by HSA-id, once each; Arbetsförmedlingen by name.
    let organizations = resources(&bundle, "Organization");
    let hsa: Vec<&str> = organizations
        .iter()
        .filter_map(|o| o["identifier"][0]["value"].as_str())
        .collect();
    assert!(
        hsa.contains(&REGION_UNIT) && hsa.contains(&MUNICIPALITY_UNIT),
        "{hsa:?}"
    );
    assert!(organizations.iter().all(|o| o.get("identifier").is_none()
        || o["identifier"][0]["system"] == "urn:oid:1.2.752.129.2.1.4.1"));
    assert!(organizations
        .iter()
        .any(|o| o["name"] == "Arbetsförmedlingen"));
    let mut distinct = hsa.clone();
    distinct.dedup();
    assert_eq!(distinct.len(), hsa.len());

    // The team, with the coordinator.
    let team = the(&bundle, "CareTeam");
    assert_eq!(team["status"], "active");
    assert!(team["participant"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["role"][0]["text"] == "samordnare" && p["member"]["display"] == "Anna Lind"));

    // Goals with their achievement from the follow-up; the long-term goal names its sub-goal.
    let goals = resources(&bundle, "Goal");
    assert_eq!(goals.len(), 2);
    let achievement = |g: &Value| g["achievementStatus"]["coding"][0]["code"].clone();
    assert_eq!(achievement(goals[0]), "improving");
    assert_eq!(achievement(goals[1]), "achieved");
    assert_eq!(goals[1]["lifecycleStatus"], "completed");
    assert_eq!(
        goals[0]["extension"][0]["extension"][1]["valueReference"]["reference"],
        format!("urn:uuid:{}", goals[1]["id"].as_str().unwrap())
    );

    // Interventions as service requests: who performs them, how often, toward which goals.
    let requests = resources(&bundle, "ServiceRequest");
    assert_eq!(requests.len(), 4);
    assert_eq!(requests[0]["status"], "completed");
    assert_eq!(requests[0]["occurrenceTiming"]["code"]["text"], "weekly");
    assert_eq!(
        requests[0]["supportingInfo"][0]["reference"],
        format!("urn:uuid:{}", goals[1]["id"].as_str().unwrap())
    );
    assert_eq!(
        requests[3]["performer"][0]["reference"],
        format!("urn:uuid:{}", patient["id"].as_str().unwrap())
    );
    assert_eq!(
        requests[1]["basedOn"][0]["reference"],
        format!("urn:uuid:{}", id(&plan))
    );

    // The consent and the meeting.
    let consent = the(&bundle, "Consent");
    assert_eq!(consent["status"], "active");
    assert_eq!(consent["provision"]["type"], "permit");
    assert_eq!(consent["provision"]["actor"].as_array().unwrap().len(), 3);
    let meeting = the(&bundle, "Appointment");
    assert_eq!(meeting["status"], "fulfilled");
    assert_eq!(meeting["participant"].as_array().unwrap().len(), 4);

    // The same plan version gives the same bundle.
    assert_eq!(fhir_of(&app, &plan).await, bundle);
    validate_with_fhir_resources(&[bundle]);
}

async fn every_state_of_a_plan_is_valid_fhir(app: TestApp) {
    let mut bundles = Vec::new();

    // A new plan, and one whose consent was refused.
    let new = app.lisas_plan().await;
    let bundle = fhir_of(&app, &new).await;
    assert_eq!(the(&bundle, "CarePlan")["status"], "draft");
    assert_eq!(the(&bundle, "CareTeam")["status"], "proposed");
    bundles.push(bundle);
    let refused = app.lisas_plan().await;
    let mut refusal = lisas_consent();
    refusal["outcome"] = json!("refused");
    refusal["covered_parties"] = json!([]);
    refusal["permissions"] = json!({});
    refusal["note"] = json!("does not want a plan now");
    app.post(&plan_uri(&refused, "/consents"), &region_writer(), refusal)
        .await
        .expect(201);
    let bundle = fhir_of(&app, &refused).await;
    assert_eq!(the(&bundle, "CarePlan")["status"], "revoked");
    assert_eq!(the(&bundle, "Consent")["status"], "rejected");
    assert_eq!(the(&bundle, "Consent")["provision"]["type"], "deny");
    bundles.push(bundle);

    // Summoned: the meeting is booked.
    let (summoned, _) = summoned_plan(&app).await;
    let bundle = fhir_of(&app, &summoned).await;
    assert_eq!(the(&bundle, "Appointment")["status"], "booked");
    bundles.push(bundle);

    // Established and followed up, then closed because the goals are met.
    let closed = lisas_established_plan(&app).await;
    app.post(
        &plan_uri(&closed, "/close"),
        &region_writer(),
        json!({"reason": "goals_met"}),
    )
    .await
    .expect(200);
    let bundle = fhir_of(&app, &closed).await;
    assert_eq!(the(&bundle, "CarePlan")["status"], "completed");
    assert!(the(&bundle, "CarePlan")["period"]["end"].is_string());
    bundles.push(bundle);

    // Withdrawn consent: revoked, the consent inactive.
    let withdrawn = consented_plan(&app).await;
    let consent = app
        .get(&plan_uri(&withdrawn, "/consents"), &reader())
        .await
        .expect(200)
        .body["items"][0]
        .clone();
    app.post(
        &plan_uri(&withdrawn, &format!("/consents/{}/withdraw", id(&consent))),
        &region_writer(),
        json!({"reason": "no longer wants a plan"}),
    )
    .await
    .expect(200);
    let bundle = fhir_of(&app, &withdrawn).await;
    assert_eq!(the(&bundle, "CarePlan")["status"], "revoked");
    assert_eq!(the(&bundle, "Consent")["status"], "inactive");
    bundles.push(bundle);

    // Alex, 14: both guardians consent; Erik with samordningsnummer and protected identity.
    let alex = app
        .individual(
            ALEX_PNR,
            "Alex",
            json!([{"name": "Maria Testsson"}, {"name": "Jonas Testsson"}]),
        )
        .await;
    let alex_plan = app.plan_for(id(&alex)).await;
    let guardians: Vec<Value> = alex["guardians"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| json!({"role": "guardian", "guardian_id": g["id"]}))
        .collect();
    let mut consent = lisas_consent();
    consent["givers"] = json!(guardians);
    app.post(
        &plan_uri(&alex_plan, "/consents"),
        &region_writer(),
        consent,
    )
    .await
    .expect(201);
    let bundle = fhir_of(&app, &alex_plan).await;
    assert_eq!(
        the(&bundle, "Patient")["contact"].as_array().unwrap().len(),
        2
    );
    assert_eq!(
        the(&bundle, "Consent")["performer"][0]["display"],
        "Maria Testsson"
    );
    bundles.push(bundle);
    let erik = app
        .post(
            "/api/v1/individuals",
            &region_writer(),
            json!({"identity_number": "19701063-2391", "given_name": "Erik", "family_name": "Testsson", "protected_identity": true}),
        )
        .await
        .expect(201)
        .body;
    let erik_plan = app.plan_for(id(&erik)).await;
    let bundle = fhir_of(&app, &erik_plan).await;
    let patient = the(&bundle, "Patient");
    assert_eq!(
        patient["identifier"][0]["system"],
        "urn:oid:1.2.752.129.2.1.3.3"
    );
    assert_eq!(patient["meta"]["security"][0]["code"], "R");
    bundles.push(bundle);

    validate_with_fhir_resources(&bundles);

    // The validator is not a rubber stamp: a broken bundle fails it.
    let mut broken = bundles[0].clone();
    broken["entry"][1]["resource"]["status"] = json!("underway");
    broken["entry"][1]["resource"]["subject"] = json!({"reference": "urn:uuid:nobody"});
    let result = std::panic::catch_unwind(|| validate_with_fhir_resources(&[broken]));
    assert!(
        result.is_err(),
        "the validator must reject an invalid bundle"
    );
}

const LISA_TOKEN: &str = "urn:oid:1.2.752.129.2.1.3.1%7C191212121212";

async fn search(app: &TestApp, query: &str, who: &Who) -> Reply {
    app.get(&format!("/api/v1/fhir/DocumentReference?{query}"), who)
        .await
}

async fn a_persons_plans_are_document_references_that_lead_to_the_document(app: TestApp) {
    let established = established_plan(&app).await;
    let draft = app.lisas_plan().await;
    let reply = search(&app, &format!("patient.identifier={LISA_TOKEN}"), &reader())
        .await
        .expect(200);
    assert_eq!(
        reply.header("content-type").as_deref(),
        Some("application/fhir+json")
    );
    let bundle = reply.body;
    validate_with_fhir_resources(std::slice::from_ref(&bundle));
    assert_eq!(bundle["type"], "searchset");
    assert_eq!(bundle["total"], 2);
    let references = resources(&bundle, "DocumentReference");
    let of = |plan: &Value| {
        *references
            .iter()
            .find(|r| r["id"] == plan["id"])
            .expect("each plan is a DocumentReference")
    };
    let doc = of(&established);
    assert_eq!(doc["status"], "current");
    assert_eq!(doc["docStatus"], "final");
    assert_eq!(of(&draft)["docStatus"], "preliminary");
    assert_eq!(
        doc["type"]["coding"][0]["system"],
        "https://fhir.inera.se/CodeSystem/typeofcareplan-cs"
    );
    assert_eq!(doc["type"]["coding"][0]["code"], "SIP");
    assert_eq!(
        doc["subject"]["identifier"],
        json!({"system": "urn:oid:1.2.752.129.2.1.3.1", "value": "191212121212"})
    );
    let unit = json!({"system": "urn:oid:1.2.752.129.2.1.4.1", "value": REGION_UNIT});
    assert_eq!(doc["author"][0]["identifier"], unit);
    assert_eq!(doc["author"][0]["type"], "Organization");
    assert_eq!(doc["custodian"]["identifier"], unit);
    assert_eq!(doc["extension"][0]["valueString"], "1", "the revision");
    assert!(doc["context"]["period"]["start"].is_string());
    let attachments: Vec<&Value> = doc["content"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["attachment"])
        .collect();
    let types: Vec<&str> = attachments
        .iter()
        .map(|a| a["contentType"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["application/pdf", "text/html"]);
    for attachment in attachments {
        assert_eq!(attachment["language"], "sv");
        let url = attachment["url"].as_str().unwrap();
        assert_eq!(
            url,
            format!("{PUBLIC_URL}{}", plan_uri(&established, "/document"))
        );
        let url = url.strip_prefix(PUBLIC_URL).unwrap();
        let accept = attachment["contentType"].as_str().unwrap();
        let fetched = app
            .send(
                actix_web::http::Method::GET,
                url,
                Some(&reader()),
                None,
                &[("Accept", accept)],
            )
            .await
            .expect(200);
        assert!(fetched.header("content-type").unwrap().starts_with(accept));
    }

    // Narrowed by type and by plan; what cannot match is an empty searchset.
    let total = |bundle: &Value| bundle["total"].as_u64().unwrap();
    for (query, expected) in [
        (format!("patient.identifier={LISA_TOKEN}&type=SIP"), 2),
        (format!("patient.identifier={LISA_TOKEN}&type=https://fhir.inera.se/CodeSystem/typeofcareplan-cs%7CSIP"), 2),
        (format!("patient.identifier={LISA_TOKEN}&type=http://loinc.org%7C18776-5"), 0),
        (format!("patient.identifier=191212121212&_id={}", id(&established)), 1),
        (format!("_id={}", id(&draft)), 1),
        (format!("_id={}", uuid::Uuid::new_v4()), 0),
        ("_id=not-a-plan".to_string(), 0),
        // A personnummer under the samordningsnummer system names nobody.
        ("patient.identifier=urn:oid:1.2.752.129.2.1.3.3%7C191212121212".to_string(), 0),
        (format!("patient.identifier=urn:oid:1.2.752.129.2.1.3.1%7C{}", ERIK_PNR), 0),
    ] {
        let found = search(&app, &query, &reader()).await.expect(200).body;
        assert_eq!(total(&found), expected, "{query}");
        validate_with_fhir_resources(std::slice::from_ref(&found));
    }
    let other_persons = {
        let erik = app.individual(ERIK_PNR, "Erik", json!([])).await;
        app.plan_for(id(&erik)).await
    };
    let mixed = format!("patient.identifier={LISA_TOKEN}&_id={}", id(&other_persons));
    assert_eq!(
        total(&search(&app, &mixed, &reader()).await.expect(200).body),
        0
    );

    // The _search form: the same answer, the number in no URL.
    let by_query = search(&app, &format!("patient.identifier={LISA_TOKEN}"), &reader())
        .await
        .expect(200)
        .body;
    let by_form = search_by_form(&app, &format!("patient.identifier={LISA_TOKEN}"))
        .await
        .expect(200);
    assert_eq!(
        by_form.header("content-type").as_deref(),
        Some("application/fhir+json")
    );
    assert_eq!(by_form.body["entry"], by_query["entry"]);
    let bad = search_by_form(&app, "patient.identifier=191212121213")
        .await
        .expect(422);
    assert_eq!(bad.error_fields(), ["body.patient.identifier"]);
    let not_a_form = app
        .post(
            "/api/v1/fhir/DocumentReference/_search",
            &reader(),
            json!({"_id": id(&draft)}),
        )
        .await
        .expect(415);
    assert!(not_a_form.body["detail"]
        .as_str()
        .unwrap()
        .contains("application/x-www-form-urlencoded"));
}

async fn search_by_form(app: &TestApp, form: &str) -> Reply {
    let request = actix_web::test::TestRequest::post()
        .uri("/api/v1/fhir/DocumentReference/_search")
        .insert_header(("Authorization", format!("Bearer {}", app.token(&reader()))))
        .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
        .set_payload(form.to_string());
    app.send_request(request).await
}

async fn a_search_finds_only_what_the_callers_consent_covers(app: TestApp) {
    let plan = established_plan(&app).await;
    let outsider = Who {
        unit: "SE2321000016-XYZ9",
        principal: sip::domain::Principal::Region,
        roles: vec![sip::auth::Role::Read],
    };
    let mine = search(&app, &format!("patient.identifier={LISA_TOKEN}"), &reader())
        .await
        .expect(200);
    assert_eq!(mine.body["total"], 1);
    for query in [
        format!("patient.identifier={LISA_TOKEN}"),
        format!("_id={}", id(&plan)),
    ] {
        let theirs = search(&app, &query, &outsider).await.expect(200);
        assert_eq!(theirs.body["total"], 0, "{query}");
        assert_eq!(theirs.body["entry"], json!([]));
    }
    // The reads are in Lisa's access log, each plan a target of the search.
    let targets = format!(
        "SELECT COUNT(*) AS n FROM audit_events \
         WHERE resource_type = 'DocumentReference' AND targets LIKE '%\"{}\"%'",
        id(&plan)
    );
    assert_eq!(app.count(targets).await, 1);
}

async fn a_search_that_names_no_person_is_a_problem_naming_the_parameter(app: TestApp) {
    for (query, status, field) in [
        ("", 400, "query"),
        ("type=SIP", 400, "query"),
        (
            "patient.identifier=urn:oid:1.2.752.129.2.1.3.1%7C191212121213",
            422,
            "query.patient.identifier",
        ),
        (
            "patient.identifier=urn:oid:9.9.9%7C191212121212",
            422,
            "query.patient.identifier",
        ),
        (
            "patient.identifier=191212121212&subject=x",
            400,
            "query.subject",
        ),
    ] {
        let reply = search(&app, query, &reader()).await.expect(status);
        assert_eq!(reply.error_fields(), [field], "{query}");
        assert!(!reply.body.to_string().contains("191212121213"), "{query}");
    }
}

on_both_databases!(
    an_established_plan_is_a_care_plan_with_its_team_goals_and_interventions,
    every_state_of_a_plan_is_valid_fhir,
    a_persons_plans_are_document_references_that_lead_to_the_document,
    a_search_finds_only_what_the_callers_consent_covers,
    a_search_that_names_no_person_is_a_problem_naming_the_parameter,
);
