//! Every response the suite receives is held to the OpenAPI document: its status must be one the
//! operation documents, and a JSON body must match the schema documented for that status and
//! media type. So a test that walks any path is also a test of what the document promises there —
//! a schema that two types write under one name, a field renamed in code but not in the document,
//! a status a handler answers but does not document, all fail the test that meets them, on the
//! request that shows them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use actix_web::http::{header, Method, StatusCode};
use serde_json::{json, Map, Value};

/// The document, parsed once for the whole test binary.
fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        serde_json::from_str(&sip::api::openapi_json()).expect("the OpenAPI document is JSON")
    })
}

/// The documented operation a request reaches: its path template and its object. Of templates
/// that match, the one with the most literal segments wins (`/individuals/search` over
/// `/individuals/{individual_id}`), as the router decides.
fn operation(method: &Method, path: &str) -> Option<(&'static str, &'static Value)> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let method = method.as_str().to_ascii_lowercase();
    document()["paths"]
        .as_object()?
        .iter()
        .filter_map(|(template, item)| {
            let parts: Vec<&str> = template.split('/').collect();
            let matches = parts.len() == segments.len()
                && parts
                    .iter()
                    .zip(&segments)
                    .all(|(part, segment)| part.starts_with('{') || part == segment);
            let literal = parts.iter().filter(|p| !p.starts_with('{')).count();
            (matches && item.get(&method).is_some())
                .then(|| (literal, template.as_str(), &item[&method]))
        })
        .max_by_key(|(literal, ..)| *literal)
        .map(|(_, template, op)| (template, op))
}

/// A response object with its `$ref` (to `#/components/responses/…`) followed.
fn resolved(response: &'static Value) -> &'static Value {
    match response["$ref"].as_str() {
        Some(reference) => {
            let name = reference.rsplit('/').next().unwrap_or_default();
            &document()["components"]["responses"][name]
        }
        None => response,
    }
}

type Validator = Arc<jsonschema::Validator>;

/// The validator of one schema of the document, built once: the schema with the document's
/// components beside it, so its `#/components/schemas/…` references resolve.
fn validator(key: String, schema: &Value) -> Validator {
    static VALIDATORS: OnceLock<Mutex<HashMap<String, Validator>>> = OnceLock::new();
    let mut validators = VALIDATORS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    validators
        .entry(key)
        .or_insert_with(|| {
            let mut root: Map<String, Value> = match schema {
                Value::Object(fields) => fields.clone(),
                other => panic!("a response schema that is not an object: {other}"),
            };
            root.insert("components".into(), document()["components"].clone());
            let built = jsonschema::options()
                .with_draft(jsonschema::Draft::Draft202012)
                .should_validate_formats(true)
                .build(&Value::Object(root))
                .unwrap_or_else(|e| panic!("a schema of the document does not compile: {e}"));
            Arc::new(built)
        })
        .clone()
}

/// Panics, naming the operation, when a response breaks what the document says of it. Requests
/// outside the document (an unknown path, a method not routed) are not held to it.
pub fn check(
    method: &Method,
    path: &str,
    status: StatusCode,
    headers: &header::HeaderMap,
    body: &Value,
) {
    let Some((template, op)) = operation(method, path) else {
        return;
    };
    let code = status.as_u16().to_string();
    let Some(response) = op["responses"]
        .get(&code)
        .or(op["responses"].get("default"))
    else {
        panic!(
            "{method} {template} answered {code}, which its OpenAPI operation does not document \
             (it documents {:?})",
            op["responses"]
                .as_object()
                .map(|r| r.keys().collect::<Vec<_>>())
        );
    };
    let response = resolved(response);
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().trim().to_string());
    let Some(media_type) = media_type.filter(|m| m.ends_with("json")) else {
        return;
    };
    let Some(content) = response["content"].as_object() else {
        panic!("{method} {template} answered {code} with {media_type}, documented with no body");
    };
    let Some(schema) = content.get(&media_type).map(|c| &c["schema"]) else {
        panic!(
            "{method} {template} answered {code} with {media_type}, documented only as {:?}",
            content.keys().collect::<Vec<_>>()
        );
    };
    let key = format!("{method} {template} {code} {media_type}");
    let validator = validator(key.clone(), schema);
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("at `{}`: {e}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "the response of {key} does not match the OpenAPI document:\n{}\nbody: {:#}",
        errors.join("\n"),
        json!(body)
    );
}
