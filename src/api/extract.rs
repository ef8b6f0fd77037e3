//! Request extractors that turn every kind of bad input into our one [`Error`] with field paths:
//! the JSON body (size limit, media type, unknown fields, types, validation rules), `If-Match`,
//! path ids and query strings.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use validator::Validate;

use crate::auth::{
    Caller, NeedsAudit, NeedsImport, NeedsRead, NeedsReport, NeedsWrite, RequiredRole,
};
use crate::clock::Clock;
use crate::decode::{field_errors, parse_json, parse_query};
use crate::domain::process::Deadlines;
use crate::domain::Versions;
use crate::error::{Error, FieldError};
use crate::service::Context;

/// The request's [`Context`] for a caller holding the role `R`: the verified caller, now from the
/// application's clock, and the region's deadlines. A handler declares the role its operation needs
/// by the extractor it takes (`ctx: Writer`); without the role the answer is 403, before anything
/// else of the request is read. Derefs to [`Context`], which is what the use cases take.
pub struct Acting<R>(Context, std::marker::PhantomData<R>);

/// A caller with the `read` role.
pub type Reader = Acting<NeedsRead>;
/// A caller with the `write` role.
pub type Writer = Acting<NeedsWrite>;
/// A caller with the `audit` role.
pub type Auditor = Acting<NeedsAudit>;
/// A caller with the `report` role.
pub type Reporter = Acting<NeedsReport>;
/// A caller with the `import` role.
pub type Importer = Acting<NeedsImport>;

impl<R> Acting<R> {
    pub fn into_inner(self) -> Context {
        self.0
    }
}

impl<R> std::ops::Deref for Acting<R> {
    type Target = Context;

    fn deref(&self) -> &Context {
        &self.0
    }
}

impl<R: RequiredRole> FromRequest for Acting<R> {
    type Error = Error;
    type Future = std::future::Ready<Result<Self, Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        std::future::ready(acting(req, payload, R::ROLE).map(|ctx| Acting(ctx, Default::default())))
    }
}

fn acting(
    req: &HttpRequest,
    payload: &mut Payload,
    role: crate::auth::Role,
) -> Result<Context, Error> {
    let caller = Caller::from_request(req, payload).into_inner()?;
    caller.require(role)?;
    context(req, caller)
}

/// The request's [`Context`] for an individual's token: the `/api/v1/me` operations take it, and a
/// staff token gets 403 there (as an individual's token gets 403 on every other operation).
pub struct AsIndividual(Context);

impl std::ops::Deref for AsIndividual {
    type Target = Context;

    fn deref(&self) -> &Context {
        &self.0
    }
}

impl FromRequest for AsIndividual {
    type Error = Error;
    type Future = std::future::Ready<Result<Self, Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        std::future::ready(
            crate::auth::Individual::from_request(req, payload)
                .into_inner()
                .and_then(|individual| context(req, individual.0))
                .map(AsIndividual),
        )
    }
}

fn context(req: &HttpRequest, ctx: Caller) -> Result<Context, Error> {
    let clock = req
        .app_data::<web::Data<Clock>>()
        .ok_or_else(|| Error::Internal("the application has no clock".into()))?;
    let deadlines = req
        .app_data::<web::Data<Deadlines>>()
        .map(|d| *d.get_ref())
        .ok_or_else(|| Error::Internal("the application has no deadlines".into()))?;
    Ok(Context::new(ctx, clock.now(), deadlines))
}

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
        let body = read_body(req, payload, "application/json", |essence| {
            essence == "application/json" || essence.ends_with("+json")
        });
        Box::pin(async move {
            let value: T = parse_json(&body.await?)?;
            value
                .validate()
                .map_err(|e| Error::Validation(field_errors(&e)))?;
            Ok(Json(value))
        })
    }
}

/// A form body (`application/x-www-form-urlencoded`), deserialised strictly like a query string;
/// errors name its fields as `body.<name>`. For searches whose parameters must stay out of URLs.
pub struct Form<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Form<T> {
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self, Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = read_body(req, payload, FORM, |essence| essence == FORM);
        Box::pin(async move {
            let body = body.await?;
            let text = std::str::from_utf8(&body)
                .map_err(|_| Error::bad_request("the form is not UTF-8"))?;
            Ok(Form(crate::decode::parse_urlencoded(text, "body")?))
        })
    }
}

const FORM: &str = "application/x-www-form-urlencoded";

/// The request body, at most the configured size, when its media type is one `accepts` (by its
/// lower-cased essence); 415 naming `expected` otherwise.
fn read_body(
    req: &HttpRequest,
    payload: &mut Payload,
    expected: &'static str,
    accepts: fn(&str) -> bool,
) -> LocalBoxFuture<'static, Result<web::BytesMut, Error>> {
    let limit = req
        .app_data::<BodyLimit>()
        .map_or(256 * 1024, |limit| limit.0);
    let content_type_ok = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            accepts(
                &v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase(),
            )
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
            return Err(Error::UnsupportedMediaType { expected });
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
        Ok(body)
    })
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

/// 200 with a page of a list, written into a buffer sized for it from the start (`per_item` bytes
/// an item): grown by doubling, a 40 KB page cost a list about a tenth of its CPU in reallocation,
/// copying and the allocator's consolidation of freed chunks (BENCHMARKS.md).
pub fn page<T: serde::Serialize>(
    body: &T,
    items: usize,
    per_item: usize,
) -> Result<actix_web::HttpResponse, Error> {
    let mut buffer = Vec::with_capacity(256 + items * per_item);
    serde_json::to_writer(&mut buffer, body)
        .map_err(|e| Error::Internal(format!("a response could not be written as JSON: {e}")))?;
    Ok(actix_web::HttpResponse::Ok()
        .content_type(header::ContentType::json())
        .body(buffer))
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

/// Configures the built-in path extractor to answer with our problems: an id that is not a UUID
/// names nothing (404). The typed ids (`domain::ids`) fail with their kind's text ("no plan has
/// this id"), which is used as it is; any other failure gets a general text — never the error's
/// own, which could repeat the path.
pub fn configure_extractors(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::PathConfig::default().error_handler(|error, _| {
        let text = match &error {
            actix_web::error::PathError::Deserialize(e) => {
                crate::domain::ids::not_found_text(&e.to_string())
            }
            _ => None,
        };
        Error::NotFound(
            text.unwrap_or("no resource has this id (ids are UUIDs)")
                .into(),
        )
        .into()
    }));
}

/// Chooses among the media types an operation answers in (`offered`, the service's preference
/// first) by the request's `Accept`: the offered type the client rates highest, the most specific
/// of its ranges deciding (`text/html` over `text/*` over `*/*`), a tie going to the service's
/// preference. No `Accept` (or one that does not parse) takes the first; a header that rules out
/// every offered type (only `image/png`, or `application/pdf;q=0`) is 406.
pub fn negotiate(
    req: &HttpRequest,
    offered: &'static [&'static str],
) -> Result<&'static str, Error> {
    use actix_web::http::header::{Accept, Header, Quality};
    let Ok(accept) = Accept::parse(req) else {
        return Ok(offered[0]);
    };
    if accept.0.is_empty() {
        return Ok(offered[0]);
    }
    let rating = |offer: &str| -> Quality {
        let kind = offer.split_once('/').map_or(offer, |(kind, _)| kind);
        accept
            .0
            .iter()
            .filter_map(|range| {
                let (rk, rs) = (range.item.type_().as_str(), range.item.subtype().as_str());
                // The whole essence, so a structured suffix counts (`application/fhir+json`).
                let specificity = match (rk, rs) {
                    _ if range.item.essence_str() == offer => 2,
                    _ if rk == kind && rs == "*" => 1,
                    ("*", "*") => 0,
                    _ => return None,
                };
                Some((specificity, range.quality))
            })
            .max_by_key(|(specificity, _)| *specificity)
            .map_or(Quality::ZERO, |(_, quality)| quality)
    };
    let mut best: Option<(&'static str, Quality)> = None;
    for &offer in offered {
        let quality = rating(offer);
        if quality > Quality::ZERO && best.is_none_or(|(_, q)| quality > q) {
            best = Some((offer, quality));
        }
    }
    best.map(|(offer, _)| offer)
        .ok_or(Error::NotAcceptable(offered))
}

#[cfg(test)]
mod tests {
    use super::*;

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
