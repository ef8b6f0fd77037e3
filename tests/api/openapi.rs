//! The committed OpenAPI document is the one the code generates.

#[test]
fn committed_openapi_document_is_current() {
    let generated = sip::api::openapi_json();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi/openapi.json is stale: run `make openapi` and commit the result"
    );
}

#[test]
fn every_operation_documents_its_errors_as_problems() {
    let doc: serde_json::Value = serde_json::from_str(&sip::api::openapi_json()).unwrap();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses.contains_key("500"),
                "{method} {path} documents 500"
            );
            if path.starts_with("/api/v1") {
                for status in ["401", "403"] {
                    assert!(
                        responses.contains_key(status),
                        "{method} {path} documents {status}"
                    );
                }
                assert!(
                    op["security"].is_array(),
                    "{method} {path} needs the bearer token"
                );
            }
        }
    }
}

#[test]
fn every_reference_in_the_document_resolves() {
    fn walk<'a>(value: &'a serde_json::Value, refs: &mut Vec<&'a str>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, v) in map {
                    match (key.as_str(), v.as_str()) {
                        ("$ref", Some(r)) => refs.push(r),
                        _ => walk(v, refs),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, refs)),
            _ => {}
        }
    }
    let doc: serde_json::Value = serde_json::from_str(&sip::api::openapi_json()).unwrap();
    let mut refs = Vec::new();
    walk(&doc, &mut refs);
    assert!(!refs.is_empty());
    for r in refs {
        let pointer = r.strip_prefix('#').expect("a local reference");
        assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
    }
}

/// Every text a client sends has its limit in the document: each string, and each item of a
/// list of strings, in every request body (nested schemas included) and query parameter declares
/// a `maxLength`, an `enum`, a `format` or a `pattern` — the limits the server enforces, so a
/// generated client and a validator know them too.
#[test]
fn every_string_a_client_sends_declares_its_limit() {
    use serde_json::Value;
    let doc: serde_json::Value = serde_json::from_str(&sip::api::openapi_json()).unwrap();
    let schemas = &doc["components"]["schemas"];
    let limited = |s: &Value| {
        ["maxLength", "enum", "format", "pattern", "const"]
            .iter()
            .any(|k| s.get(*k).is_some())
    };
    fn is_string(s: &Value) -> bool {
        s["type"] == "string"
            || s["type"]
                .as_array()
                .is_some_and(|t| t.contains(&"string".into()))
    }
    let mut missing = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut stack: Vec<(String, Value)> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for content in op["requestBody"]["content"]
                .as_object()
                .into_iter()
                .flatten()
            {
                stack.push((format!("{method} {path}"), content.1["schema"].clone()));
            }
            for param in op["parameters"].as_array().into_iter().flatten() {
                let schema = &param["schema"];
                if is_string(schema) && !limited(schema) {
                    missing.push(format!("{method} {path} ?{}", param["name"]));
                }
            }
        }
    }
    while let Some((at, schema)) = stack.pop() {
        if let Some(name) = schema["$ref"].as_str().and_then(|r| r.rsplit('/').next()) {
            if seen.insert(name.to_string()) {
                stack.push((name.to_string(), schemas[name].clone()));
            }
            continue;
        }
        for key in ["oneOf", "anyOf", "allOf"] {
            for alt in schema[key].as_array().into_iter().flatten() {
                stack.push((at.clone(), alt.clone()));
            }
        }
        for (field, property) in schema["properties"].as_object().into_iter().flatten() {
            let item = &property["items"];
            for (what, s) in [(field.clone(), property), (format!("{field}[]"), item)] {
                if is_string(s) && !limited(s) {
                    missing.push(format!("{at}.{what}"));
                }
                if s.is_object() {
                    stack.push((format!("{at}.{what}"), s.clone()));
                }
            }
        }
    }
    assert!(seen.len() > 20, "walked {} schemas", seen.len());
    assert!(missing.is_empty(), "no declared limit: {missing:#?}");
}

/// Every `If-Match` of the document states the one syntax the server reads.
#[test]
fn every_if_match_states_the_syntax_the_server_reads() {
    let doc: serde_json::Value = serde_json::from_str(&sip::api::openapi_json()).unwrap();
    let mut seen = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for param in op["parameters"].as_array().into_iter().flatten() {
                if param["name"] == "If-Match" {
                    seen += 1;
                    assert_eq!(
                        param["schema"]["pattern"].as_str(),
                        Some(sip::api::extract::IF_MATCH_PATTERN),
                        "{method} {path}"
                    );
                }
            }
        }
    }
    assert!(seen > 10);
}

/// The route table and the document come from one list (`operations!` in `src/api/mod.rs`); each
/// handler's annotation states its path again, and this holds the two to each other: every route
/// the service answers is documented with the same method, and every documented operation is
/// routed.
#[test]
fn every_route_is_documented_and_every_documented_operation_is_routed() {
    use std::collections::BTreeSet;
    let doc: serde_json::Value = serde_json::from_str(&sip::api::openapi_json()).unwrap();
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|m| ["get", "put", "post", "delete", "patch"].contains(&m.as_str()))
                .map(move |m| (m.clone(), path.clone()))
        })
        .collect();
    let routed: BTreeSet<(String, String)> = sip::api::registered_routes()
        .into_iter()
        .map(|(method, path)| (method.to_string(), path))
        .collect();
    assert_eq!(
        routed.len(),
        documented.len(),
        "{routed:#?}\n{documented:#?}"
    );
    assert_eq!(routed, documented);
}

/// The harness's own check (`common::conformance`, run on every response of the suite) refuses a
/// body that breaks its documented schema, so a type registered under another type's name, or a
/// field the document does not know, fails the test that meets it.
#[test]
#[should_panic(expected = "does not match the OpenAPI document")]
fn a_response_that_breaks_its_documented_schema_fails_the_test_that_meets_it() {
    let mut headers = actix_web::http::header::HeaderMap::new();
    headers.insert(
        actix_web::http::header::CONTENT_TYPE,
        actix_web::http::header::HeaderValue::from_static("application/json"),
    );
    // A meeting whose leader is shaped like another schema's person.
    let body = serde_json::json!({"leader": {"individual_id": "x", "given_name": "Anna"}});
    crate::common::conformance::check(
        &actix_web::http::Method::GET,
        "/api/v1/plans/0190b5b0-0000-7000-8000-000000000000/meeting",
        actix_web::http::StatusCode::OK,
        &headers,
        &body,
    );
}
