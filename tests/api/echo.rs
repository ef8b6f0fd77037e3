//! No answer and no log line repeats a value the client sent. Every operation of the OpenAPI
//! document with a body or parameters gets wrong-typed and invalid values carrying a marker string
//! and a marker number — in each body field (nested too), each path and query parameter, the
//! `If-Match`, `Authorization` and `X-Request-Id` headers, a malformed body and the lines of a
//! bulk import — while the real binary logs at `trace`. The markers appear in no error answer
//! and in no log line.

use std::path::Path;

use serde_json::{json, Value};

use crate::common::TempPostgres;
use crate::process::{http_with, start, token_with_roles};

const MARK: &str = "ZQXMARK7";
const MARK_NUMBER: u64 = 918273645546;

/// Every way to put a marker in place of one part of `value`, down to `depth` levels.
fn variants(value: &Value, depth: usize) -> Vec<Value> {
    let mut out = match value {
        Value::String(_) => vec![json!(MARK_NUMBER), json!(MARK), json!([MARK])],
        Value::Number(_) | Value::Bool(_) | Value::Null => vec![json!(MARK), json!([MARK_NUMBER])],
        Value::Array(_) => vec![
            json!(MARK),
            json!(MARK_NUMBER),
            json!({ format!("{MARK}-"): MARK }),
        ],
        Value::Object(_) => vec![json!(MARK), json!([MARK_NUMBER])],
    };
    if depth == 0 {
        return out;
    }
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                for variant in variants(inner, depth - 1) {
                    let mut changed = value.clone();
                    changed[key] = variant;
                    out.push(changed);
                }
            }
            // An unknown field whose name is no field name (the markers, with a hyphen) and whose
            // value is a marker: a field-like name is a path and may be named, this may not.
            let mut extra = value.clone();
            extra[format!("{MARK}-{MARK_NUMBER}")] = json!(MARK);
            out.push(extra);
        }
        Value::Array(items) if !items.is_empty() => {
            for variant in variants(&items[0], depth - 1) {
                let mut changed = items.clone();
                changed[0] = variant;
                out.push(Value::Array(changed));
            }
        }
        _ => {}
    }
    out
}

fn example_of(doc: &Value, schema: &Value) -> Option<Value> {
    let name = schema["$ref"].as_str()?.rsplit('/').next()?;
    let example = doc["components"]["schemas"][name]["example"].clone();
    example.is_object().then_some(example)
}

fn assert_no_marker(text: &str, what: &str) {
    assert!(
        !has_marker(text),
        "{what} repeats what the client sent:\n{text}"
    );
}

fn has_marker(text: &str) -> bool {
    text.contains(MARK) || text.contains(&MARK_NUMBER.to_string())
}

fn markers_never_come_back(database_url: Option<&str>) {
    let data_dir = std::env::temp_dir().join(format!("sip-echo-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&data_dir).unwrap();
    let log = data_dir.join("service.log");
    let server = start(&data_dir, database_url, &log);
    let port = server.port;
    let token = token_with_roles(
        &data_dir,
        "SE2321000016-ABC1",
        "read,write,admin,report,audit,import",
    );
    let bearer = format!("Bearer {token}");
    let doc: Value = serde_json::from_str(&sip::api::openapi_json()).unwrap();
    let mut sent = 0;
    let echoed: std::cell::RefCell<Vec<String>> = Default::default();
    let mut send = |method: &str, uri: &str, headers: &[(&str, &str)], body: Option<&str>| {
        let mut all = vec![("Authorization", bearer.as_str())];
        all.extend_from_slice(headers);
        let (status, head, reply) = http_with(port, method, uri, &all, body)
            .unwrap_or_else(|| panic!("{method} {uri}: no answer"));
        sent += 1;
        if status >= 400 && has_marker(&format!("{head}\n{reply}")) {
            echoed
                .borrow_mut()
                .push(format!("{method} {uri} ({status}): {reply}"));
        }
        (status, reply)
    };

    let some_id = uuid::Uuid::new_v4().to_string();
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !path.starts_with("/api/v1/") {
            continue;
        }
        for (method, op) in item.as_object().unwrap() {
            let method = method.to_uppercase();
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            let fill = |marked: Option<&str>| {
                let mut uri = path.clone();
                for p in params.iter().filter(|p| p["in"] == "path") {
                    let name = format!("{{{}}}", p["name"].as_str().unwrap());
                    let value = match (marked, p["name"].as_str().unwrap()) {
                        (Some(n), this) if n == this => MARK.to_string(),
                        (_, "worklist") => "overdue-follow-ups".to_string(),
                        (_, "revision") => "1".to_string(),
                        _ => some_id.clone(),
                    };
                    uri = uri.replace(&name, &value);
                }
                uri
            };
            let schema = &op["requestBody"]["content"]["application/json"]["schema"];
            let example = example_of(&doc, schema);
            let body = example.as_ref().map(|e| e.to_string());
            let json_type = [("Content-Type", "application/json")];
            let plain = fill(None);
            // Path parameters.
            for p in params.iter().filter(|p| p["in"] == "path") {
                let uri = fill(p["name"].as_str());
                send(&method, &uri, &json_type, body.as_deref());
            }
            // Query parameters, each marked in turn.
            for p in params.iter().filter(|p| p["in"] == "query") {
                for value in [MARK.to_string(), MARK_NUMBER.to_string()] {
                    let uri = format!("{plain}?{}={value}", p["name"].as_str().unwrap());
                    send(&method, &uri, &json_type, body.as_deref());
                }
            }
            // Headers.
            for headers in [
                vec![
                    ("If-Match", "\"ZQXMARK7\""),
                    ("Content-Type", "application/json"),
                ],
                vec![
                    ("If-Match", "W/\"918273645546\""),
                    ("Content-Type", "application/json"),
                ],
                vec![
                    ("X-Request-Id", "ZQXMARK7 918273645546"),
                    ("Content-Type", "application/json"),
                ],
            ] {
                send(&method, &plain, &headers, body.as_deref());
            }
            // The body: every part marked, and a malformed body around the markers.
            if let Some(example) = &example {
                for variant in variants(example, 3) {
                    send(&method, &plain, &json_type, Some(&variant.to_string()));
                }
                let broken = format!("{{\"{MARK}-\": {MARK_NUMBER}, \"x\": \"{MARK}");
                send(&method, &plain, &json_type, Some(&broken));
            }
        }
    }
    {
        let echoed = echoed.borrow();
        assert!(
            echoed.is_empty(),
            "{} answers repeat what the client sent:\n{}",
            echoed.len(),
            echoed.join("\n")
        );
    }
    // A token that is the marker.
    let (status, head, reply) = http_with(
        port,
        "GET",
        "/api/v1/plans",
        &[("Authorization", "Bearer ZQXMARK7.918273645546.ZQXMARK7")],
        None,
    )
    .unwrap();
    assert_eq!(status, 401);
    assert_no_marker(&format!("{head}\n{reply}"), "a marker token");

    // The lines of a bulk import: each line one marked record; the answer and the per-line
    // report name fields, never values.
    let new_import = example_of(
        &doc,
        &doc["paths"]["/api/v1/imports"]["post"]["requestBody"]["content"]["application/json"]
            ["schema"],
    )
    .expect("an example import");
    let (status, created) = send(
        "POST",
        "/api/v1/imports",
        &[("Content-Type", "application/json")],
        Some(&new_import.to_string()),
    );
    assert_eq!(status, 201, "{created}");
    let import_id = serde_json::from_str::<Value>(&created).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let record = example_of(
        &doc,
        &doc["paths"]["/api/v1/imports/{import_id}/records"]["post"]["requestBody"]["content"]
            ["application/x-ndjson"]["schema"],
    )
    .expect("an example import record");
    let mut lines: Vec<String> = variants(&record, 3).iter().map(Value::to_string).collect();
    lines.push(format!("{{\"{MARK}-\": {MARK_NUMBER}"));
    let ndjson = lines.join("\n") + "\n";
    let uri = format!("/api/v1/imports/{import_id}/records");
    let (status, head, reply) = http_with(
        port,
        "POST",
        &uri,
        &[
            ("Authorization", bearer.as_str()),
            ("Content-Type", "application/x-ndjson"),
        ],
        Some(&ndjson),
    )
    .unwrap();
    assert!(status < 500, "{status} {reply}");
    assert_no_marker(&format!("{head}\n{reply}"), "the import's answer");
    let (status, report) = send("GET", &format!("{uri}?limit=200"), &[], None);
    assert_eq!(status, 200, "{report}");
    // A record is named by its line and by the `external_id` its source system gave it (the key
    // to reconcile with); its errors name fields, never values.
    let report: Value = serde_json::from_str(&report).unwrap();
    let errors: Vec<&Value> = report["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| &item["errors"])
        .collect();
    assert!(errors.len() > 10, "{report}");
    assert_no_marker(
        &serde_json::to_string(&errors).unwrap(),
        "the import's per-line errors",
    );

    // A FHIR search puts a person's identity number in the query string: it finds her, and the
    // number is in no log line (checked below with the markers).
    let (status, created) = send(
        "POST",
        "/api/v1/individuals",
        &[("Content-Type", "application/json")],
        Some(
            r#"{"identity_number": "19121212-1212", "given_name": "Lisa", "family_name": "Loggfri"}"#,
        ),
    );
    // (The examples above may have registered her already.)
    assert!(status == 201 || status == 409, "{created}");
    let (status, found) = send(
        "GET",
        "/api/v1/fhir/DocumentReference?patient.identifier=urn:oid:1.2.752.129.2.1.3.1%7C191212121212",
        &[],
        None,
    );
    assert_eq!(status, 200, "{found}");
    assert!(found.contains("\"resourceType\":\"Bundle\""), "{found}");

    drop(server);
    let log_text = std::fs::read_to_string(&log).unwrap();
    for number in ["191212121212", "121212-1212", "1212121212"] {
        assert!(
            !log_text.contains(number),
            "a log line holds an identity number from a query"
        );
    }
    assert!(sent > 500, "sent {sent} requests");
    assert!(log_text.contains("sip::access"), "the log is written");
    for line in log_text.lines() {
        assert_no_marker(line, "a log line");
    }
    let _ = std::fs::remove_dir_all(Path::new(&data_dir));
}

#[test]
fn no_answer_or_log_line_repeats_a_clients_value_sqlite() {
    markers_never_come_back(None);
}

#[test]
fn no_answer_or_log_line_repeats_a_clients_value_postgres() {
    // Empty: the binary applies every migration at its start, as on a new installation.
    let database = TempPostgres::create_empty();
    markers_never_come_back(Some(&database.url));
}
