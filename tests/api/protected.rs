//! Protected identity (skyddad identitet) on every operation that takes an individual. The list of
//! such operations is derived from the OpenAPI document — any parameter, in the path or the query,
//! or any request-body field named `individual_id` or `identity_number` — so a new operation that
//! takes an individual is covered the day it is added. For each, a unit outside her circle acts on
//! a protected person and on an id or number nobody has, and must get the same answer; nothing about
//! her may appear in the body, the headers, its change feed or its webhook deliveries.

use std::collections::HashSet;

use actix_web::http::Method;
use serde_json::{json, Value};
use sip::auth::Role;
use sip::domain::Principal;

use crate::access::example_body;
use crate::common::*;
use crate::on_both_databases;
use crate::webhooks::{quick, sub_uri, subscribe, Receiver};

/// A unit of another organisation, with every role an integrator's system could hold.
fn outsider() -> Who {
    Who {
        unit: "SE5565594230-OUT1",
        principal: Principal::Other,
        roles: vec![Role::Read, Role::Write, Role::Audit],
    }
}

const NAMES: [&str; 3] = ["individual_id", "identity_number", "patient.identifier"];

/// The names that take an identity number rather than an id: the body's field, and the FHIR
/// search's token (`system|number`, or the number alone).
const NUMBERS: [&str; 2] = ["identity_number", "patient.identifier"];

/// Where an operation takes an individual.
#[derive(Debug, Clone, PartialEq)]
enum Input {
    Path,
    Query(String),
    Body(&'static str),
    /// A field of a form body (`application/x-www-form-urlencoded`).
    Form(String),
}

#[derive(Debug, Clone)]
struct Case {
    method: Method,
    path: String,
    operation_id: String,
    input: Input,
    body: Option<Value>,
    /// The media types the operation answers in besides JSON (FHIR, CSV, HTML, PDF): each is a
    /// way out of her data of its own.
    forms: Vec<String>,
}

/// Where an individual is named deeper inside a request body: (operation, path). Each is either
/// exercised as a top-level case or classified here with its reason; a new one fails the test
/// until it is one or the other.
const NESTED_AND_WHY: &[(&str, &str, &str)] = &[
    (
        "create_individual",
        "$.guardians[].identity_number",
        "a guardian's number is stored as given, never looked up: it finds no one",
    ),
    (
        "update_individual",
        "$.guardians[].identity_number",
        "a guardian's number is stored as given, never looked up: it finds no one",
    ),
    (
        "record_consent",
        "$.givers[].identity_number",
        "a legal representative's number is stored as given, never looked up for a unit: only the representative's own e-ID login is matched with it (/me)",
    ),
    (
        "upload_import_records",
        "$.consents[].consent.givers[].identity_number",
        "the bulk import needs the `import` role, which sees every record by design (403 to a unit)",
    ),
    (
        "upload_import_records",
        "$.individual.details.identity_number",
        "the bulk import needs the `import` role, which sees every record by design (403 to a unit)",
    ),
    (
        "upload_import_records",
        "$.individual.details.guardians[].identity_number",
        "the bulk import needs the `import` role, which sees every record by design (403 to a unit)",
    ),
];

/// Every path below the top level of a request body's schema where a field naming an individual
/// stands.
fn nested(doc: &Value, schema: &Value, at: &str, depth: usize, out: &mut Vec<String>) {
    if depth > 6 {
        return;
    }
    let schema = match schema["$ref"].as_str().and_then(|r| r.rsplit('/').next()) {
        Some(name) => &doc["components"]["schemas"][name],
        None => schema,
    };
    for key in ["oneOf", "anyOf", "allOf"] {
        for alt in schema[key].as_array().into_iter().flatten() {
            nested(doc, alt, at, depth + 1, out);
        }
    }
    for (field, property) in schema["properties"].as_object().into_iter().flatten() {
        let path = format!("{at}.{field}");
        if depth > 0 && NAMES.contains(&field.as_str()) {
            out.push(path.clone());
        }
        nested(doc, property, &path, depth + 1, out);
        if property["items"].is_object() {
            nested(
                doc,
                &property["items"],
                &format!("{path}[]"),
                depth + 1,
                out,
            );
        }
    }
}

#[test]
fn every_place_a_body_names_an_individual_is_covered() {
    let doc: Value = serde_json::from_str(&sip::api::openapi_json()).unwrap();
    let mut found = Vec::new();
    for item in doc["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            for content in op["requestBody"]["content"]
                .as_object()
                .into_iter()
                .flatten()
            {
                let mut paths = Vec::new();
                nested(&doc, &content.1["schema"], "$", 0, &mut paths);
                for path in paths {
                    found.push((op["operationId"].as_str().unwrap().to_string(), path));
                }
            }
        }
    }
    found.sort();
    found.dedup();
    let mut classified: Vec<(String, String)> = NESTED_AND_WHY
        .iter()
        .map(|(op, path, _)| (op.to_string(), path.to_string()))
        .collect();
    classified.sort();
    assert_eq!(
        found, classified,
        "a request body names an individual below its top level: exercise it in the protected test or classify it with its reason"
    );
}

/// Every (operation, place) that names an individual, from the document.
fn cases(doc: &Value) -> Vec<Case> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let operation_id = op["operationId"].as_str().unwrap().to_string();
            let body = example_body(doc, op);
            let forms: Vec<String> = ["200", "201"]
                .iter()
                .filter_map(|status| op["responses"][status]["content"].as_object())
                .flat_map(|content| content.keys().cloned())
                .filter(|form| form != "application/json")
                .collect();
            let case = |input| Case {
                method: method.clone(),
                path: path.clone(),
                operation_id: operation_id.clone(),
                input,
                body: body.clone(),
                forms: forms.clone(),
            };
            for param in op["parameters"].as_array().into_iter().flatten() {
                if NAMES.contains(&param["name"].as_str().unwrap()) {
                    match param["in"].as_str().unwrap() {
                        "path" => out.push(case(Input::Path)),
                        "query" => out.push(case(Input::Query(
                            param["name"].as_str().unwrap().to_string(),
                        ))),
                        other => panic!("{operation_id}: an individual in the {other}"),
                    }
                }
            }
            let form = &op["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"];
            if let Some(name) = form["$ref"].as_str().and_then(|r| r.rsplit('/').next()) {
                let properties = &doc["components"]["schemas"][name]["properties"];
                for field in NAMES {
                    if properties.get(field).is_some() {
                        out.push(case(Input::Form(field.to_string())));
                    }
                }
            }
            let schema = &op["requestBody"]["content"]["application/json"]["schema"];
            if let Some(name) = schema["$ref"].as_str().and_then(|r| r.rsplit('/').next()) {
                let properties = &doc["components"]["schemas"][name]["properties"];
                for field in NAMES {
                    if properties.get(field).is_some() {
                        out.push(case(Input::Body(field)));
                    }
                }
            }
        }
    }
    out
}

/// A valid personnummer nobody else in this test has (Luhn check digit over the last ten digits).
fn fresh_number(used: &mut HashSet<String>) -> String {
    loop {
        let n = uuid::Uuid::new_v4().as_u128();
        let base = format!(
            "1980{:02}{:02}{:03}",
            1 + (n % 12),
            1 + ((n >> 8) % 28),
            (n >> 16) % 1000
        );
        let digits: Vec<u32> = base[2..].chars().map(|c| c.to_digit(10).unwrap()).collect();
        let sum: u32 = digits
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let v = if i % 2 == 0 { d * 2 } else { *d };
                v / 10 + v % 10
            })
            .sum();
        let number = format!("{base}{}", (10 - sum % 10) % 10);
        if used.insert(number.clone()) {
            return number;
        }
    }
}

/// A protected person registered by the region unit, with a plan that a consent lets the
/// municipality unit see: she is known to two units, and to nobody else.
struct Protected {
    id: String,
    number: String,
    plan_id: String,
}

const GIVEN: &str = "Hemlig";
const FAMILY: &str = "Skyddadsdotter";

async fn protected_person(app: &TestApp, used: &mut HashSet<String>) -> Protected {
    let number = fresh_number(used);
    let person = app
        .post(
            "/api/v1/individuals",
            &region_writer(),
            json!({"identity_number": number, "given_name": GIVEN, "family_name": FAMILY, "protected_identity": true}),
        )
        .await
        .expect(201)
        .body;
    let id = person["id"].as_str().unwrap().to_string();
    let plan = app.plan_for(&id).await;
    let plan_id = plan["id"].as_str().unwrap().to_string();
    app.post(
        &format!("/api/v1/plans/{plan_id}/consents"),
        &region_writer(),
        lisas_consent(),
    )
    .await
    .expect(201);
    Protected {
        id,
        number,
        plan_id,
    }
}

/// An individual of the outsider's own (not protected), for operations that change one.
async fn own_individual(app: &TestApp, used: &mut HashSet<String>) -> String {
    let number = fresh_number(used);
    app.post(
        "/api/v1/individuals",
        &outsider(),
        json!({"identity_number": number, "given_name": "Egen", "family_name": "Person"}),
    )
    .await
    .expect(201)
    .body["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Sends `case` as the outsider with `value` where the individual goes.
async fn send(
    app: &TestApp,
    case: &Case,
    value: &str,
    own: Option<&str>,
    accept: Option<&str>,
) -> Reply {
    let some_id = uuid::Uuid::new_v4().to_string();
    let mut uri = case.path.clone();
    if case.input == Input::Path {
        uri = uri.replace("{individual_id}", value);
    } else if let Some(own) = own {
        uri = uri.replace("{individual_id}", own);
    }
    while let (Some(start), Some(end)) = (uri.find('{'), uri.find('}')) {
        uri.replace_range(start..=end, &some_id);
    }
    if let Input::Query(name) = &case.input {
        uri += &format!("?{name}={value}");
    }
    if let Input::Form(name) = &case.input {
        let form = actix_web::test::TestRequest::default()
            .method(case.method.clone())
            .uri(&uri)
            .insert_header((
                "Authorization",
                format!("Bearer {}", app.token(&outsider())),
            ))
            .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
            .insert_header(("Accept", accept.unwrap_or("application/json")))
            .set_payload(format!("{name}={value}"));
        return app.send_request(form).await;
    }
    let mut body = case.body.clone();
    if let (Input::Body(field), Some(body)) = (&case.input, body.as_mut()) {
        body[*field] = json!(value);
    }
    app.send(
        case.method.clone(),
        &uri,
        Some(&outsider()),
        body.as_ref(),
        &[
            ("if-match", "\"1\""),
            ("accept", accept.unwrap_or("application/json")),
        ],
    )
    .await
}

/// What of an answer must be the same for her and for nobody: the status, the problem's title,
/// detail and field errors, and the shape of a success.
fn answer(reply: &Reply) -> Value {
    if reply.status.as_u16() >= 400 {
        json!({
            "status": reply.status.as_u16(),
            "title": reply.body["title"],
            "detail": reply.body["detail"],
            "errors": reply.body["errors"],
        })
    } else {
        let mut keys: Vec<&String> = reply
            .body
            .as_object()
            .map(|o| o.keys().collect())
            .unwrap_or_default();
        keys.sort();
        let items = reply.body["items"].as_array().map(|i| i.len());
        // A FHIR searchset's matches.
        let entries = reply.body["entry"].as_array().map(|e| e.len());
        json!({"status": reply.status.as_u16(), "keys": keys, "items": items, "entries": entries})
    }
}

/// Nothing of her: not her id, her plan's id, her names — nor her number, unless the outsider
/// sent it itself on a record of its own that the answer shows back.
fn assert_nothing_of(her: &Protected, text: &str, number_allowed: bool, what: &str) {
    for secret in [her.id.as_str(), her.plan_id.as_str(), GIVEN, FAMILY] {
        assert!(!text.contains(secret), "{what} mentions her: {text}");
    }
    if !number_allowed {
        let plain = her.number.replace('-', "");
        assert!(
            !text.contains(&plain) && !text.contains(&plain[2..]),
            "{what} mentions her number: {text}"
        );
    }
}

async fn a_protected_person_does_not_exist_for_an_outside_unit_on_any_operation(app: TestApp) {
    let doc: Value = serde_json::from_str(&sip::api::openapi_json()).unwrap();
    let cases = cases(&doc);
    let covered: HashSet<&str> = cases.iter().map(|c| c.operation_id.as_str()).collect();
    for expected in [
        "create_individual",
        "search_individual",
        "get_individual",
        "update_individual",
        "create_plan",
        "list_plans",
        "list_audit_events",
        "search_document_references",
        "search_document_references_by_form",
    ] {
        assert!(covered.contains(expected), "{expected} takes an individual");
    }
    assert!(
        cases.iter().any(|c| c.operation_id == "list_audit_events"
            && c.forms.iter().any(|f| f == "application/fhir+json")),
        "the walk asks for every form an operation answers in"
    );

    let receiver = Receiver::start(200);
    let subscription = subscribe(&app, &outsider(), &receiver.url, json!([])).await;
    let _dispatcher = app.start_webhooks(quick(5));

    let mut used = HashSet::new();
    let mut people = Vec::new();
    for case in &cases {
        let her = protected_person(&app, &mut used).await;
        let is_number = match &case.input {
            Input::Body(name) => NUMBERS.contains(name),
            Input::Query(name) | Input::Form(name) => NUMBERS.contains(&name.as_str()),
            Input::Path => false,
        };
        // An id nobody has, or a number nobody has.
        let nobody = if is_number {
            fresh_number(&mut used)
        } else {
            uuid::Uuid::new_v4().to_string()
        };
        let hers = if is_number {
            her.number.clone()
        } else {
            her.id.clone()
        };
        // An operation that changes an individual changes one of the outsider's own.
        let changes_one = case.path.contains("{individual_id}") && case.input != Input::Path;
        let (own_a, own_b) = if changes_one {
            (
                Some(own_individual(&app, &mut used).await),
                Some(own_individual(&app, &mut used).await),
            )
        } else {
            (None, None)
        };
        let to_her = send(&app, case, &hers, own_a.as_deref(), None).await;
        let to_nobody = send(&app, case, &nobody, own_b.as_deref(), None).await;
        let what = format!("{} {} ({:?})", case.method, case.path, case.input);
        assert_eq!(
            answer(&to_her),
            answer(&to_nobody),
            "{what}: {:#}",
            to_her.body
        );
        if to_her.status.as_u16() >= 400 {
            assert_problem(&to_her);
        }
        let number_allowed = is_number && to_her.status.is_success();
        assert_nothing_of(&her, &to_her.body.to_string(), number_allowed, &what);
        let headers: String = to_her
            .headers
            .iter()
            .map(|(n, v)| format!("{n}: {}\n", v.to_str().unwrap_or("")))
            .collect();
        assert_nothing_of(&her, &headers, false, &format!("{what} headers"));
        // Every other form the operation answers in tells no more (a read changes nothing, so
        // asking again is harmless; a write answers in JSON only).
        if case.method == Method::GET {
            for form in &case.forms {
                let to_her = send(&app, case, &hers, own_a.as_deref(), Some(form)).await;
                let to_nobody = send(&app, case, &nobody, own_b.as_deref(), Some(form)).await;
                let what = format!("{what} as {form}");
                assert_eq!(to_her.status, to_nobody.status, "{what}");
                if form.ends_with("json") {
                    assert_eq!(answer(&to_her), answer(&to_nobody), "{what}");
                }
                // A PDF's text is compressed: its status and its JSON twin say what it holds.
                if form != "application/pdf" {
                    let text = String::from_utf8_lossy(&to_her.bytes);
                    assert_nothing_of(&her, &text, number_allowed, &what);
                }
            }
        }
        people.push(her);
    }

    // Her units still see her, and see one record of her: the outsider's own registrations are
    // its own.
    for her in &people {
        let found = app
            .post(
                "/api/v1/individuals/search",
                &municipality_writer(),
                json!({"identity_number": her.number}),
            )
            .await
            .expect(200)
            .body;
        assert_eq!(found["id"], json!(her.id));
    }

    // The outsider's change feed and webhook deliveries say nothing of any of them.
    let (events, head) = crate::feed::read_feed(&app, &outsider(), 0, 200).await;
    let feed = serde_json::to_string(&events).unwrap();
    for her in &people {
        assert_nothing_of(her, &feed, true, "the outsider's feed");
    }
    eventually("the outsider's deliveries", || async {
        let s = app
            .get(&sub_uri(&subscription, ""), &outsider())
            .await
            .expect(200)
            .body;
        let queued = s["queued_up_to"].as_i64().unwrap() >= head;
        (queued && receiver.received().len() >= events.len()).then_some(())
    })
    .await;
    let delivered: String = receiver
        .received()
        .iter()
        .map(|d| String::from_utf8_lossy(&d.body).into_owned())
        .collect();
    assert_eq!(receiver.received().len(), events.len());
    for her in &people {
        assert_nothing_of(her, &delivered, true, "the outsider's webhook deliveries");
    }
}

/// Her units are told what they always were; the outsider's registration of her number is a record
/// of its own; each denied attempt is in her access log, for her registering organisation's
/// auditors — and not in the outsider's organisation's, whose staff must not learn whose number it is.
async fn attempts_to_find_her_are_in_her_log_for_her_organisation(app: TestApp) {
    let mut used = HashSet::new();
    let her = protected_person(&app, &mut used).await;
    // The region unit that registered her is told 409 as for anyone it may see.
    app.post(
        "/api/v1/individuals",
        &region_writer(),
        json!({"identity_number": her.number, "given_name": "A", "family_name": "B"}),
    )
    .await
    .expect(409);
    // The outsider: not found, then registered as a record of its own, which it then finds.
    app.post(
        "/api/v1/individuals/search",
        &outsider(),
        json!({"identity_number": her.number}),
    )
    .await
    .expect(404);
    let own = app
        .post(
            "/api/v1/individuals",
            &outsider(),
            json!({"identity_number": her.number, "given_name": "Annan", "family_name": "Person"}),
        )
        .await
        .expect(201)
        .body;
    assert_ne!(own["id"], json!(her.id));
    assert_eq!(own["protected_identity"], false);
    let found = app
        .post(
            "/api/v1/individuals/search",
            &outsider(),
            json!({"identity_number": her.number}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(found["id"], own["id"]);
    // A second registration of the number by the outsider is a duplicate of its own record.
    app.post(
        "/api/v1/individuals",
        &outsider(),
        json!({"identity_number": her.number, "given_name": "Annan", "family_name": "Person"}),
    )
    .await
    .expect(409);
    // Her own units never see the outsider's record.
    app.get(
        &format!("/api/v1/individuals/{}", own["id"].as_str().unwrap()),
        &region_writer(),
    )
    .await
    .expect(404);

    let region_auditor = Who {
        unit: "SE2321000016-AUD1",
        principal: Principal::Region,
        roles: vec![Role::Audit],
    };
    let log = app
        .get(
            &format!("/api/v1/audit-events?individual_id={}&limit=200", her.id),
            &region_auditor,
        )
        .await
        .expect(200)
        .body;
    let attempts: Vec<(&str, &str)> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["unit"] == outsider().unit)
        .map(|e| (e["action"].as_str().unwrap(), e["result"].as_str().unwrap()))
        .collect();
    assert_eq!(
        attempts,
        vec![("search_denied", "denied"), ("register_denied", "denied")]
    );
    // The same log as FHIR AuditEvents names her by the service's id only: her number does not
    // leave in an export, as it is in no row of the JSON log.
    let exported = app
        .send(
            Method::GET,
            &format!("/api/v1/audit-events?individual_id={}&limit=200", her.id),
            Some(&region_auditor),
            None,
            &[("accept", "application/fhir+json")],
        )
        .await
        .expect(200);
    let text = String::from_utf8_lossy(&exported.bytes);
    assert!(text.contains(&format!("Patient/{}", her.id)), "{text}");
    let plain = her.number.replace('-', "");
    assert!(
        !text.contains(&plain) && !text.contains(&plain[2..]),
        "the export names her number: {text}"
    );
    let outsiders_auditor = app
        .send(
            Method::GET,
            "/api/v1/audit-events?limit=200",
            Some(&outsider()),
            None,
            &[],
        )
        .await
        .expect(200)
        .body;
    assert_nothing_of(
        &her,
        &outsiders_auditor.to_string(),
        true,
        "the outsider's audit log",
    );
}

on_both_databases!(
    a_protected_person_does_not_exist_for_an_outside_unit_on_any_operation,
    attempts_to_find_her_are_in_her_log_for_her_organisation,
);
