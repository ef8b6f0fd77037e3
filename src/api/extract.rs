//! Request extractors that turn every kind of bad input into our one [`Error`] with field paths:
//! the JSON body (size limit, media type, unknown fields, types, validation rules), `If-Match`,
//! path ids and query strings.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use validator::{Validate, ValidationErrors, ValidationErrorsKind};

use crate::domain::Versions;
use crate::error::{Error, FieldError};

/// The largest accepted request body, in bytes (the `MAX_BODY_BYTES` setting).
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// A JSON request body, deserialised strictly (unknown fields are rejected) and validated.
pub struct Json<T>(pub T);

impl<T> FromRequest for Json<T>
where
    T: DeserializeOwned + Validate + 'static,
{
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self, Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<BodyLimit>()
            .map_or(256 * 1024, |limit| limit.0);
        let content_type_ok = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                let essence = v
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                essence == "application/json" || essence.ends_with("+json")
            })
            .unwrap_or(false);
        let declared_length = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if declared_length.is_some_and(|len| len > limit) {
                return Err(Error::PayloadTooLarge { limit });
            }
            if !content_type_ok {
                return Err(Error::UnsupportedMediaType {
                    expected: "application/json",
                });
            }
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk =
                    chunk.map_err(|_| Error::bad_request("the request body could not be read"))?;
                if body.len() + chunk.len() > limit {
                    return Err(Error::PayloadTooLarge { limit });
                }
                body.extend_from_slice(&chunk);
            }
            let value: T = parse_json(&body)?;
            value
                .validate()
                .map_err(|e| Error::Validation(field_errors(&e)))?;
            Ok(Json(value))
        })
    }
}

/// Deserialises JSON, naming the field at fault by its JSON path.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::bad_request(
            "the request body is empty; send a JSON object",
        ));
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

/// The syntax of `If-Match` (RFC 9110): `*`, or a comma-separated list of entity tags, strong
/// (`"3"`) or weak (`W/"3"`).
pub const IF_MATCH_PATTERN: &str = r#"^\s*(\*|(W/)?"[^"]*"(\s*,\s*(W/)?"[^"]*")*)\s*$"#;

/// What a client's `If-Match` says, for optimistic concurrency (RFC 9110 section 13.1.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfMatch {
    Absent,
    /// `*`: any current version.
    Any,
    /// A list of entity tags: the current version must be one of them. Compared strongly, so a
    /// weak tag never matches; a tag we never issued matches nothing.
    Tags(Versions),
    /// Not `*` nor a list of entity tags (an empty value among them).
    Malformed,
}

impl IfMatch {
    /// The versions an update must find, or 428 when the client sent no `If-Match`.
    pub fn required(self) -> Result<Option<Versions>, Error> {
        match self {
            IfMatch::Absent => Err(Error::PreconditionRequired),
            other => other.optional(),
        }
    }

    /// For actions where `If-Match` is optional.
    pub fn optional(self) -> Result<Option<Versions>, Error> {
        match self {
            IfMatch::Absent | IfMatch::Any => Ok(None),
            IfMatch::Tags(versions) => Ok(Some(versions)),
            IfMatch::Malformed => Err(Error::BadRequest {
                detail: "header.If-Match: expected * or a list of entity tags such as \"3\"".into(),
                errors: vec![FieldError::new(
                    "header.If-Match",
                    "expected * or a list of entity tags such as \"3\"",
                )],
            }),
        }
    }

    /// Reads the header's value: `*`, or entity tags separated by commas. An entity tag is an
    /// optional `W/` and an opaque tag in double quotes (which may itself hold commas).
    pub fn parse(value: &str) -> IfMatch {
        let value = value.trim();
        if value == "*" {
            return IfMatch::Any;
        }
        let mut versions = Vec::new();
        let mut rest = value;
        let mut tags = 0;
        loop {
            rest = rest.trim_start_matches([' ', '\t']);
            if rest.is_empty() {
                break;
            }
            let weak = rest.starts_with("W/");
            if weak {
                rest = &rest[2..];
            }
            let Some(quoted) = rest.strip_prefix('"') else {
                return IfMatch::Malformed;
            };
            let Some(end) = quoted.find('"') else {
                return IfMatch::Malformed;
            };
            let opaque = &quoted[..end];
            tags += 1;
            if !weak {
                if let Ok(version) = opaque.parse::<i64>() {
                    if etag(version) == format!("\"{opaque}\"") {
                        versions.push(version);
                    }
                }
            }
            rest = quoted[end + 1..].trim_start_matches([' ', '\t']);
            match rest.strip_prefix(',') {
                Some(after) => rest = after,
                None if rest.is_empty() => break,
                None => return IfMatch::Malformed,
            }
        }
        if tags == 0 {
            IfMatch::Malformed
        } else {
            IfMatch::Tags(Versions(versions))
        }
    }
}

/// The strong ETag of a resource version: `"3"`.
pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

/// 200 with the resource and its ETag.
pub fn ok<T: serde::Serialize>(version: i64, resource: &T) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .insert_header((header::ETAG, etag(version)))
        .json(resource)
}

/// 201 with the new resource, its ETag and its URL.
pub fn created<T: serde::Serialize>(
    location: String,
    version: i64,
    resource: &T,
) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Created()
        .insert_header((header::ETAG, etag(version)))
        .insert_header((header::LOCATION, location))
        .json(resource)
}

impl FromRequest for IfMatch {
    type Error = Error;
    type Future = std::future::Ready<Result<Self, Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // Several `If-Match` fields form one list (RFC 9110 section 5.3); a value that is not
        // text is malformed.
        let fields: Vec<Option<&str>> = req
            .headers()
            .get_all(header::IF_MATCH)
            .map(|v| v.to_str().ok())
            .collect();
        let value = if fields.is_empty() {
            IfMatch::Absent
        } else if fields.iter().any(Option::is_none) {
            IfMatch::Malformed
        } else {
            IfMatch::parse(&fields.into_iter().flatten().collect::<Vec<_>>().join(", "))
        };
        std::future::ready(Ok(value))
    }
}

/// A query string, deserialised strictly and naming the parameter at fault (`query.limit`) —
/// never its value.
pub struct Query<T>(pub T);

impl<T> std::ops::Deref for Query<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = Error;
    type Future = std::future::Ready<Result<Self, Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(parse_query(req.query_string()).map(Query))
    }
}

pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, Error> {
    let deserializer =
        serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let message = e.inner().to_string();
        let name = missing_field(&message).or_else(|| {
            let path = known_path(e.path(), &message);
            (path != ".").then_some(path)
        });
        let field = name.map_or_else(|| "query".to_string(), |n| format!("query.{n}"));
        let message = without_client_value(&message);
        Error::BadRequest {
            detail: format!("the query string is malformed: {field}: {message}"),
            errors: vec![FieldError::new(field, message)],
        }
    })
}

/// Configures the built-in path extractor to answer with our problems: an id that is not a UUID
/// cannot name a resource (404).
pub fn configure_extractors(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::PathConfig::default().error_handler(|_, _| {
        Error::NotFound("no resource has this id (ids are UUIDs)".into()).into()
    }));
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

    #[test]
    fn if_match_follows_rfc_9110() {
        assert!(matches!(
            IfMatch::Absent.required(),
            Err(Error::PreconditionRequired)
        ));
        assert_eq!(IfMatch::Any.required().unwrap(), None);
        assert_eq!(IfMatch::Absent.optional().unwrap(), None);
        let tags = |value: &str| match IfMatch::parse(value) {
            IfMatch::Tags(Versions(v)) => Some(v),
            _ => None,
        };
        assert_eq!(IfMatch::parse(" * "), IfMatch::Any);
        assert_eq!(tags("\"2\""), Some(vec![2]));
        // Strong comparison: a weak tag never matches.
        assert_eq!(tags("W/\"2\""), Some(vec![]));
        // A list matches when any tag in it does.
        assert_eq!(tags("\"1\", W/\"4\" ,\"3\""), Some(vec![1, 3]));
        // Tags we never issue match nothing, commas inside tags included.
        assert_eq!(tags("\"a,b\", \"07\""), Some(vec![]));
        for malformed in ["", "  ", "2", "\"2", "\"2\" \"3\"", "*, \"2\"", ","] {
            assert_eq!(
                IfMatch::parse(malformed),
                IfMatch::Malformed,
                "{malformed:?}"
            );
            assert!(matches!(
                IfMatch::parse(malformed).optional(),
                Err(Error::BadRequest { .. })
            ));
        }
    }
}
