//! The one error type of the service and its mapping to HTTP (RFC 9457 problem details).
//!
//! Every failure, from a JSON parse error to an unreachable database, becomes an [`Error`] and is
//! answered as `application/problem+json` in [`Error::error_response`]: this is the only place
//! where status codes are chosen.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

/// One field that broke a rule, named by its JSON path (`$.guardians[1].name`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// JSON path of the offending value in the request, e.g. `$.covered_parties[0].hsa_id`;
    /// for query parameters `query.limit`, for headers `header.If-Match`.
    #[schema(example = "$.identity_number")]
    pub field: String,
    /// What is wrong, in words an integrator can act on.
    #[schema(
        example = "not a valid personnummer or samordningsnummer: the check digit does not match"
    )]
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

crate::schema::string_schema!(
    /// An action of a resource's lifecycle, e.g. `send_summons`.
    ActionName, 1, 64, Some("^[a-z_]+$"), "an action, e.g. `send_summons`"
);

/// The error body of every failed request (RFC 9457 problem details).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "/problems/validation",
    "title": "The request breaks a rule",
    "status": 422,
    "detail": "1 field breaks a rule",
    "errors": [{"field": "$.identity_number", "message": "not a valid personnummer or samordningsnummer: the check digit does not match"}]
}))]
pub struct Problem {
    /// A URI reference naming the kind of problem; stable, so clients can branch on it.
    #[serde(rename = "type")]
    #[schema(example = "/problems/validation")]
    pub problem_type: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong in this request.
    pub detail: String,
    /// The fields that broke a rule (validation problems).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// For a state conflict: the state the resource is in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_state: Option<String>,
    /// For a state conflict: the actions the current state allows.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<ActionName>>)]
    pub allowed_actions: Option<Vec<String>>,
    /// From the change feed: for 410, the position to continue from (`after=`) once you have
    /// re-read your plans; for a position beyond the head (422), the real head.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resume_after: Option<i64>,
}

#[derive(Debug)]
pub enum Error {
    /// The request could not be read: malformed JSON, unknown field, wrong type, bad query string.
    BadRequest {
        detail: String,
        errors: Vec<FieldError>,
    },
    /// Well-formed input that breaks a rule.
    Validation(Vec<FieldError>),
    /// Missing, malformed, expired or otherwise unacceptable token.
    Unauthorized(String),
    /// A valid token without the role the operation needs.
    Forbidden(String),
    /// Unknown id (or a resource the caller may not know exists).
    NotFound(String),
    /// Unknown route.
    RouteNotFound,
    /// The route exists but not with this method; `allow` lists the methods it has (RFC 9110).
    MethodNotAllowed {
        allow: String,
    },
    /// The resource already exists (e.g. a second individual with one identity number).
    Duplicate(String),
    /// The resource's state forbids the action.
    InvalidState {
        detail: String,
        current_state: String,
        allowed_actions: Vec<String>,
    },
    /// What was asked for is no longer kept (a change-feed position past the retention window).
    Gone {
        detail: String,
        resume_after: i64,
    },
    /// A change-feed position beyond the feed's head: the reader's position is wrong (mistyped,
    /// or restored from a backup of another database); it would miss every event until the feed
    /// passed it.
    AheadOfFeed {
        head: i64,
    },
    /// `If-Match` does not match the current version.
    PreconditionFailed {
        current_version: i64,
    },
    /// An update came without `If-Match`.
    PreconditionRequired,
    PayloadTooLarge {
        limit: usize,
    },
    /// The request's header fields are larger than the service reads.
    HeadersTooLarge {
        limit: usize,
    },
    /// The body is not of the media type the operation reads.
    UnsupportedMediaType {
        expected: &'static str,
    },
    /// The client's `Accept` rules out every media type the operation answers in.
    NotAcceptable(&'static [&'static str]),
    /// The caller sent more requests than its rate limit allows (per subject or per unit).
    TooManyRequests {
        /// Whose limit: `subject` or `unit`.
        limit: &'static str,
        retry_after_seconds: u64,
    },
    /// The database cannot be reached or is overloaded.
    Unavailable(String),
    /// The connection to the database was lost during the request (a restart, a terminated
    /// session): 503 like `Unavailable`, and the database is then taken to be down until a
    /// connection can be had again.
    DatabaseLost,
    /// A fault of ours. The detail is logged, never sent.
    Internal(String),
}

impl Error {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Validation(vec![FieldError::new(field, message)])
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Error::BadRequest {
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        use Error::*;
        match self {
            BadRequest { .. } => (
                StatusCode::BAD_REQUEST,
                "bad-request",
                "The request is malformed",
            ),
            Validation(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation",
                "The request breaks a rule",
            ),
            Unauthorized(_) => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Authentication required",
            ),
            Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "Not allowed"),
            NotFound(_) => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            RouteNotFound => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            MethodNotAllowed { .. } => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
            ),
            Duplicate(_) => (StatusCode::CONFLICT, "duplicate", "Already exists"),
            InvalidState { .. } => (
                StatusCode::CONFLICT,
                "invalid-state",
                "The current state forbids this action",
            ),
            Gone { .. } => (StatusCode::GONE, "gone", "No longer available"),
            AheadOfFeed { .. } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "feed-position-ahead",
                "The position is beyond the feed's head",
            ),
            PreconditionFailed { .. } => (
                StatusCode::PRECONDITION_FAILED,
                "stale-version",
                "The resource has changed",
            ),
            PreconditionRequired => (
                StatusCode::PRECONDITION_REQUIRED,
                "if-match-required",
                "If-Match is required",
            ),
            PayloadTooLarge { .. } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "The request body is too large",
            ),
            HeadersTooLarge { .. } => (
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "headers-too-large",
                "The request's header fields are too large",
            ),
            UnsupportedMediaType { .. } => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
            ),
            NotAcceptable(_) => (
                StatusCode::NOT_ACCEPTABLE,
                "not-acceptable",
                "Not acceptable",
            ),
            TooManyRequests { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "too-many-requests",
                "Too many requests",
            ),
            Unavailable(_) | DatabaseLost => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "The service is temporarily unavailable",
            ),
            Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
            ),
        }
    }

    pub fn to_problem(&self) -> Problem {
        use Error::*;
        let (status, slug, title) = self.parts();
        let mut problem = Problem {
            problem_type: format!("/problems/{slug}"),
            title: title.to_string(),
            status: status.as_u16(),
            detail: String::new(),
            errors: Vec::new(),
            current_state: None,
            allowed_actions: None,
            resume_after: None,
        };
        problem.detail = match self {
            BadRequest { detail, errors } => {
                problem.errors = errors.clone();
                detail.clone()
            }
            Validation(errors) => {
                problem.errors = errors.clone();
                match errors.as_slice() {
                    [one] => format!("{}: {}", one.field, one.message),
                    _ => format!("{} fields break a rule", errors.len()),
                }
            }
            Unauthorized(d) | Forbidden(d) | NotFound(d) | Duplicate(d) | Unavailable(d) => {
                d.clone()
            }
            RouteNotFound => "no such route; the API lives under /api/v1 (see /docs)".into(),
            MethodNotAllowed { allow } if !allow.is_empty() => {
                format!("this route accepts {allow}")
            }
            MethodNotAllowed { .. } => "this route does not accept that method".into(),
            InvalidState {
                detail,
                current_state,
                allowed_actions,
            } => {
                problem.current_state = Some(current_state.clone());
                problem.allowed_actions = Some(allowed_actions.clone());
                detail.clone()
            }
            Gone {
                detail,
                resume_after,
            } => {
                problem.resume_after = Some(*resume_after);
                detail.clone()
            }
            AheadOfFeed { head } => {
                problem.resume_after = Some(*head);
                let message = format!(
                    "beyond the feed's head, {head}: no event has this position yet; \
                     check the position you kept (continue from {head} to get only new events)"
                );
                problem.errors = vec![FieldError::new("query.after", message.clone())];
                format!("query.after: {message}")
            }
            PreconditionFailed { current_version } => format!(
                "If-Match does not match the current version {current_version}: read the resource again and retry"
            ),
            PreconditionRequired => {
                "send If-Match with the ETag from your last read, so that no update is lost".into()
            }
            PayloadTooLarge { limit } => format!("the body exceeds the limit of {limit} bytes"),
            HeadersTooLarge { limit } => {
                format!("the header fields exceed the limit of {limit} bytes in all")
            }
            UnsupportedMediaType { expected } => format!("send the body as {expected}"),
            NotAcceptable(offered) => format!("this resource is available as {}", offered.join(", ")),
            TooManyRequests {
                limit,
                retry_after_seconds,
            } => format!(
                "the requests of this {limit} exceed its rate limit: retry after {retry_after_seconds} s"
            ),
            DatabaseLost => "the connection to the database was lost; retry".into(),
            Internal(_) => "an internal error occurred; it has been logged".into(),
        };
        problem
    }
}

impl Error {
    /// The same failure for another request that shared its cause (a group of SQLite writes whose
    /// commit failed): the same answer class, without the parts only the first could own.
    pub fn shared(&self) -> Error {
        match self {
            Error::DatabaseLost => Error::DatabaseLost,
            Error::Unavailable(d) => Error::Unavailable(d.clone()),
            Error::Internal(d) => Error::Internal(d.clone()),
            other => Error::Internal(format!("a shared write failed: {other}")),
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // Internal details go to the log only (they never hold request data, see `From` below).
            Error::Internal(d) => write!(f, "internal error: {d}"),
            other => write!(f, "{}", other.to_problem().detail),
        }
    }
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        self.parts().0
    }

    fn error_response(&self) -> HttpResponse {
        // Faults are logged by the request-id middleware (`app::request_id`), which sees this error
        // on the response and writes it with the request's id.
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        match self {
            Error::Unauthorized(_) => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            Error::MethodNotAllowed { allow } if !allow.is_empty() => {
                response.insert_header((header::ALLOW, allow.as_str()));
            }
            Error::Unavailable(_) | Error::DatabaseLost => {
                response.insert_header((header::RETRY_AFTER, "5"));
            }
            Error::TooManyRequests {
                retry_after_seconds,
                ..
            } => {
                response.insert_header((header::RETRY_AFTER, retry_after_seconds.to_string()));
            }
            _ => {}
        }
        let body = serde_json::to_string(&self.to_problem()).unwrap_or_else(|_| {
            r#"{"type":"/problems/internal","title":"Internal error","status":500,"detail":""}"#
                .into()
        });
        response.body(body)
    }
}

impl From<diesel::result::Error> for Error {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error as D};
        match e {
            D::NotFound => Error::NotFound("not found".into()),
            // Unique violations that the service layer did not foresee are still the client's
            // duplicate, not our fault. Database messages may quote values, so they are not echoed.
            D::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                Error::Duplicate("a resource with these values already exists".into())
            }
            D::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => Error::Unavailable(
                "the database could not serialise concurrent writes; retry".into(),
            ),
            D::DatabaseError(kind, info) if connection_lost(kind, info.message()) => {
                Error::DatabaseLost
            }
            D::DatabaseError(kind, info) => {
                let message = info.message();
                if message.contains("database is locked") || message.contains("busy") {
                    Error::Unavailable("the database is busy; retry".into())
                } else {
                    Error::Internal(format!("database error {kind:?}: {}", message))
                }
            }
            // A transaction whose connection died cannot be rolled back or committed: the loss,
            // not a fault of ours.
            D::RollbackErrorOnCommit { commit_error, .. } => Error::from(*commit_error),
            D::BrokenTransactionManager | D::RollbackTransaction => Error::DatabaseLost,
            other => Error::Internal(format!("database error: {other}")),
        }
    }
}

/// Whether an error means the connection to the database is gone — a restart, a terminated
/// session (PostgreSQL's 57P0x), any connection exception (class 08) — so the answer is 503 with
/// `Retry-After`, never 500. diesel keeps the SQLSTATE to itself; libpq's messages for these are
/// fixed texts.
fn connection_lost(kind: diesel::result::DatabaseErrorKind, message: &str) -> bool {
    use diesel::result::DatabaseErrorKind as K;
    const LOST: &[&str] = &[
        "no connection to the server",
        "server closed the connection",
        "terminating connection",
        "connection to server",
        "could not receive data from server",
        "could not send data to server",
        "the database system is shutting down",
        "the database system is starting up",
        "the database system is in recovery mode",
        "the database system is not yet accepting connections",
        "SSL connection has been closed",
        "connection pointer is NULL",
        "lost synchronization with server",
    ];
    matches!(kind, K::ClosedConnection)
        || (matches!(kind, K::UnableToSendCommand | K::Unknown)
            && LOST.iter().any(|text| message.contains(text)))
}

impl From<diesel::r2d2::PoolError> for Error {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        Error::Unavailable(format!("no database connection: {e}"))
    }
}

impl From<actix_web::error::BlockingError> for Error {
    fn from(_: actix_web::error::BlockingError) -> Self {
        Error::Unavailable("the worker pool is shutting down".into())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::result::{DatabaseErrorKind, Error as D};

    fn database_error(kind: DatabaseErrorKind, message: &str) -> Error {
        Error::from(D::DatabaseError(kind, Box::new(message.to_string())))
    }

    #[test]
    fn every_loss_of_the_database_is_503() {
        for (kind, message) in [
            (
                DatabaseErrorKind::UnableToSendCommand,
                "no connection to the server\n",
            ),
            (DatabaseErrorKind::ClosedConnection, "anything"),
            (
                DatabaseErrorKind::Unknown,
                "terminating connection due to administrator command",
            ),
            (
                DatabaseErrorKind::Unknown,
                "server closed the connection unexpectedly",
            ),
            (
                DatabaseErrorKind::Unknown,
                "FATAL:  the database system is shutting down",
            ),
        ] {
            assert!(
                matches!(database_error(kind, message), Error::DatabaseLost),
                "{kind:?} {message}"
            );
        }
        assert!(matches!(
            Error::from(D::BrokenTransactionManager),
            Error::DatabaseLost
        ));
        // A protocol fault that is not a lost connection stays ours.
        assert!(matches!(
            database_error(
                DatabaseErrorKind::UnableToSendCommand,
                "too many bind parameters"
            ),
            Error::Internal(_)
        ));
    }
}
