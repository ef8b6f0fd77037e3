//! Decoding what clients send — a JSON body, an NDJSON record of an import, a query string — into
//! typed values, and every failure into our one [`Error`] with the JSON path of the field at
//! fault. No message ever repeats a value the client sent (a wrong value may be personal data).
//! Independent of the web framework: the API's extractors (`api::extract`) and the bulk import
//! (`import`) decode through here.

use serde::de::DeserializeOwned;
use validator::{ValidationErrors, ValidationErrorsKind};

use crate::error::{Error, FieldError};

/// Deserialises JSON, naming the field at fault by its JSON path.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::bad_request(
            "the request body is empty; send a JSON object",
        ));
    }
    // Most bodies are well-formed and hold no `null`: read them straight into `T`, once. Any
    // other body — a `null` in it, or anything the direct read refuses — is read the careful
    // way below, which finds the rule it breaks and names the field (so a body is accepted or
    // refused, and its error worded, exactly as that way alone would).
    if !has_null_literal(body) {
        let mut deserializer = serde_json::Deserializer::from_slice(body);
        if let Ok(value) = <T as serde::Deserialize>::deserialize(&mut deserializer) {
            if deserializer.end().is_ok() {
                return Ok(value);
            }
        }
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let json: serde_json::Value =
        serde_path_to_error::deserialize(&mut deserializer).map_err(|e| parse_error(&e))?;
    deserializer
        .end()
        .map_err(|_| Error::bad_request("unexpected data after the JSON value"))?;
    // One rule for every body: a field that has no value is left out; `null` is never a value
    // (as in our answers, which leave out what has no value).
    if let Some(at) = first_null(&json, String::from("$")) {
        return Err(Error::BadRequest {
            detail: format!("{at}: null is not a value here; leave the field out"),
            errors: vec![FieldError::new(
                at,
                "null is not a value here; leave the field out",
            )],
        });
    }
    serde_path_to_error::deserialize(json).map_err(|e| parse_error(&e))
}

/// A JSON fault as a problem: the path to it and what was expected, never the client's value.
fn parse_error<E: std::fmt::Display>(e: &serde_path_to_error::Error<E>) -> Error {
    let raw = e.inner().to_string();
    let path = known_path(e.path(), &raw);
    let field = missing_field(&raw)
        .map(|name| join_path(&path, &name))
        .unwrap_or_else(|| join_path(&path, ""));
    let message = without_client_value(&raw);
    Error::BadRequest {
        detail: format!("{field}: {message}"),
        errors: vec![FieldError::new(field, message)],
    }
}

/// Whether `body` has a `null` outside its strings: the one JSON literal that begins with `n`
/// (anything else there that begins with `n` is no JSON, and is refused by the careful read).
fn has_null_literal(body: &[u8]) -> bool {
    let mut in_string = false;
    let mut escaped = false;
    for &byte in body {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
        } else {
            match byte {
                b'"' => in_string = true,
                b'n' => return true,
                _ => {}
            }
        }
    }
    false
}

/// The JSON path of the first `null` in `value`.
fn first_null(value: &serde_json::Value, at: String) -> Option<String> {
    use serde_json::Value;
    match value {
        Value::Null => Some(at),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| first_null(item, format!("{at}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(key, item)| {
            // A key that is no field name is the client's text: the path stops at its object.
            let path = if is_field_name(key) {
                format!("{at}.{key}")
            } else {
                at.clone()
            };
            first_null(item, path)
        }),
        _ => None,
    }
}

/// The path to the fault as serde_path_to_error found it (`givers[0].name`). An unknown field is
/// named when its name looks like a field name (a letter, then letters, digits or `_`, at most 64);
/// any other key is the client's text like a value, so the path stops at the object it is in,
/// and the message lists the fields expected there.
fn known_path(path: &serde_path_to_error::Path, message: &str) -> String {
    use serde_path_to_error::Segment;
    let mut segments: Vec<&Segment> = path.iter().collect();
    if message.starts_with("unknown field") {
        if let Some(Segment::Map { key }) = segments.last() {
            if !is_field_name(key) {
                segments.pop();
            }
        }
    }
    let mut out = String::new();
    for segment in segments {
        match segment {
            Segment::Seq { index } => out += &format!("[{index}]"),
            Segment::Map { key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out += key;
            }
            Segment::Enum { variant } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out += variant;
            }
            Segment::Unknown => out += ".?",
        }
    }
    if out.is_empty() {
        ".".into()
    } else {
        out
    }
}

/// Whether a key the client sent looks like a field name (a letter, then letters, digits or `_`,
/// at most 64): only such a key is named in a path; any other is the client's text, like a value.
fn is_field_name(key: &str) -> bool {
    key.len() <= 64
        && key.starts_with(|c: char| c.is_ascii_alphabetic())
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// serde names a missing field in its message, one level below the path (an unknown field is
/// already the last segment of the path).
fn missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    Some(rest[..rest.find('`')?].to_string())
}

/// serde's message without what the client sent. serde quotes the offending value
/// (``invalid type: integer `199104122388`, expected a string``); a problem detail and a log line
/// must never repeat it, so only the kind of fault and what was expected (which comes from our
/// types) are kept. A message of a form not known here may carry the value: it becomes
/// "invalid value".
pub fn without_client_value(message: &str) -> String {
    // Messages that carry no value of the client's: syntax faults (serde_json), missing or duplicate
    // fields (a name from our types), and the date-time parser's faults (chrono).
    const VALUE_FREE: &[&str] = &[
        "missing field",
        "duplicate field",
        "EOF while parsing",
        "expected ",
        "invalid escape",
        "invalid number",
        "number out of range",
        "invalid unicode code point",
        "control character",
        "key must be",
        "lone leading surrogate",
        "trailing comma",
        "trailing characters",
        "unexpected end of hex escape",
        "recursion limit exceeded",
        "float key must be finite",
        "invalid digit found in string",
        "cannot parse integer from empty string",
        "number too large to fit in target type",
        "number too small to fit in target type",
        "invalid float literal",
        "input contains invalid characters",
        "premature end of input",
        "input is out of range",
        "trailing input",
        "input is not enough for unique date and time",
        "no possible date and time matching input",
        "bad or unsupported format string",
    ];
    // Messages of the form "<fault>: <the client's value>, expected <ours>".
    const WITH_VALUE: &[(&str, &str)] = &[
        ("invalid type", "invalid type"),
        ("invalid value", "invalid value"),
        ("invalid length", "invalid length"),
        ("unknown variant", "unknown value"),
        ("unknown field", "unknown field"),
    ];
    let message = without_position(message);
    if VALUE_FREE.iter().any(|p| message.starts_with(p)) {
        return message;
    }
    let Some((_, fault)) = WITH_VALUE.iter().find(|(p, _)| message.starts_with(p)) else {
        return "invalid value".into();
    };
    // What was expected comes last and from our types; the client's value stands before it.
    match message.rfind(", expected ") {
        Some(i) => format!("{fault}, {}", &message[i + 2..]),
        None => fault.to_string(),
    }
}

/// `$.givers[0].name` from serde_path_to_error's `givers[0]` and `name`.
fn join_path(path: &str, field: &str) -> String {
    let mut out = String::from("$");
    if path != "." {
        if !path.starts_with('[') {
            out.push('.');
        }
        out.push_str(path);
    }
    if !field.is_empty() {
        out.push('.');
        out.push_str(field);
    }
    out
}

/// serde_json appends " at line 1 column 42" to its messages; the path says more.
fn without_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// validator's nested errors as a flat, sorted list of JSON paths.
pub fn field_errors(errors: &ValidationErrors) -> Vec<FieldError> {
    fn walk(errors: &ValidationErrors, prefix: &str, out: &mut Vec<FieldError>) {
        for (field, kind) in errors.errors() {
            let path = format!("{prefix}.{field}");
            match kind {
                ValidationErrorsKind::Field(list) => {
                    for e in list {
                        // A rule over a list's items names each item at fault.
                        match e.params.get("items").and_then(|v| v.as_array()) {
                            Some(items) => {
                                for i in items.iter().filter_map(|i| i.as_u64()) {
                                    out.push(FieldError::new(format!("{path}[{i}]"), describe(e)));
                                }
                            }
                            None => out.push(FieldError::new(path.clone(), describe(e))),
                        }
                    }
                }
                ValidationErrorsKind::Struct(inner) => walk(inner, &path, out),
                ValidationErrorsKind::List(items) => {
                    for (index, inner) in items {
                        walk(inner, &format!("{path}[{index}]"), out);
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(errors, "$", &mut out);
    out.sort_by(|a, b| a.field.cmp(&b.field));
    out
}

fn describe(e: &validator::ValidationError) -> String {
    if let Some(message) = &e.message {
        return message.to_string();
    }
    let param = |name: &str| e.params.get(name).map(|v| v.to_string());
    match e.code.as_ref() {
        "length" => match (param("min"), param("max")) {
            (Some(min), Some(max)) => format!("length must be between {min} and {max}"),
            (None, Some(max)) => format!("length must be at most {max}"),
            (Some(min), None) => format!("length must be at least {min}"),
            _ => "invalid length".into(),
        },
        "range" => match (param("min"), param("max")) {
            (Some(min), Some(max)) => format!("must be between {min} and {max}"),
            _ => "out of range".into(),
        },
        code => format!("invalid value ({code})"),
    }
}

/// Deserialises a query string, naming the parameter at fault.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, Error> {
    parse_urlencoded(query, "query")
}

/// URL-encoded parameters found in `place` (`query`, or `body` for a form), with the parameter at
/// fault named as `<place>.<name>`.
pub fn parse_urlencoded<T: DeserializeOwned>(text: &str, place: &str) -> Result<T, Error> {
    let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(text.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let message = e.inner().to_string();
        let name = missing_field(&message).or_else(|| {
            let path = known_path(e.path(), &message);
            (path != ".").then_some(path)
        });
        let field = name.map_or_else(|| place.to_string(), |n| format!("{place}.{n}"));
        let message = without_client_value(&message);
        let what = if place == "query" {
            "the query string"
        } else {
            "the form"
        };
        Error::BadRequest {
            detail: format!("{what} is malformed: {field}: {message}"),
            errors: vec![FieldError::new(field, message)],
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Item {
        name: String,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        items: Vec<Item>,
    }

    fn field_of(body: &str) -> String {
        match parse_json::<Outer>(body.as_bytes()) {
            Err(Error::BadRequest { errors, .. }) => errors[0].field.clone(),
            other => panic!("expected a bad request, got {other:?}"),
        }
    }

    #[test]
    fn json_errors_name_the_field_by_path() {
        assert_eq!(
            field_of(r#"{"items":[{"name":"a"},{"name":1}]}"#),
            "$.items[1].name"
        );
        assert_eq!(
            field_of(r#"{"items":[{"name":"a","extra":1}]}"#),
            "$.items[0].extra"
        );
        // A key that is no field name is the client's text: the path names the object it is in.
        assert_eq!(
            field_of(r#"{"items":[{"name":"a","19121212-1212":1}]}"#),
            "$.items[0]"
        );
        assert_eq!(field_of(r#"{"items":[{}]}"#), "$.items[0].name");
        assert_eq!(field_of(r#"{}"#), "$.items");
        assert!(field_of(r#"[1]"#).starts_with('$'));
    }

    /// A body without `null` is read straight into its type; the outcome is the careful read's.
    #[test]
    fn the_direct_read_accepts_and_refuses_as_the_careful_one() {
        let names = |body: &str| -> Vec<String> {
            parse_json::<Outer>(body.as_bytes())
                .unwrap()
                .items
                .into_iter()
                .map(|i| i.name)
                .collect()
        };
        // `null` as text, also after an escaped quote, is a value like any other.
        assert_eq!(names(r#"{"items":[{"name":"null"}]}"#), ["null"]);
        assert_eq!(names(r#"{"items":[{"name":"a\"null"}]}"#), ["a\"null"]);
        assert_eq!(names(r#"{"items":[{"name":"a\\"}]}"#), ["a\\"]);
        // A key given twice: the careful read keeps the last, as it always has.
        assert_eq!(names(r#"{"items":[{"name":"a","name":"b"}]}"#), ["b"]);
        // `null` outside a string is refused, with its path, whatever else the body holds.
        assert_eq!(
            field_of(r#"{"items":[{"name":"n\"x"},{"name":null}]}"#),
            "$.items[1].name"
        );
        assert!(matches!(
            parse_json::<Outer>(br#"{"items":[]} {}"#),
            Err(Error::BadRequest { .. })
        ));
        assert!(has_null_literal(br#"{"a":[1,null]}"#));
        assert!(!has_null_literal(br#"{"a":"null","b":"\\","c":"\"null"}"#));
    }

    #[test]
    fn errors_never_repeat_the_clients_value() {
        let marker = "ZQX-1991-04-12";
        for body in [
            r#"{"items":[{"name":199104122388}]}"#.to_string(),
            format!(r#"{{"items":"{marker}"}}"#),
            format!(r#"{{"items":[{{"name":["{marker}"]}}]}}"#),
            format!(r#"{{"items":[{{"name":"a", "{marker}":1}}]}}"#),
            format!(r#"{{"items":[], "x": "{marker}""#),
        ] {
            match parse_json::<Outer>(body.as_bytes()) {
                Err(Error::BadRequest { detail, errors }) => {
                    let text = format!("{detail} {errors:?}");
                    assert!(!text.contains("199104122388"), "{text}");
                    assert!(!text.contains("1991-04-12"), "{text}");
                }
                other => panic!("expected a bad request, got {other:?}"),
            }
        }
        assert_eq!(
            without_client_value("invalid type: string \"a, expected b\", expected a number"),
            "invalid type, expected a number"
        );
        assert_eq!(
            without_client_value("unknown variant `secret`, expected one of `a`, `b`"),
            "unknown value, expected one of `a`, `b`"
        );
        assert_eq!(
            without_client_value("something new: secret"),
            "invalid value"
        );
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Params {
        limit: Option<u32>,
        status: Option<crate::domain::plan::PlanStatus>,
    }

    #[test]
    fn query_errors_name_the_parameter_and_not_its_value() {
        for (query, field) in [
            ("limit=ZQX991", "query.limit"),
            ("status=ZQX991", "query.status"),
            ("colour=ZQX991", "query.colour"),
            ("ZQX991-x=1", "query"),
        ] {
            match parse_query::<Params>(query) {
                Err(Error::BadRequest { detail, errors }) => {
                    assert_eq!(errors[0].field, field, "{query}");
                    assert!(!detail.contains("ZQX991"), "{detail}");
                    assert!(!errors[0].message.contains("ZQX991"));
                }
                other => panic!("{query}: {other:?}"),
            }
        }
        assert_eq!(parse_query::<Params>("limit=5").unwrap().limit, Some(5));
    }
}
