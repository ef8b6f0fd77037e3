//! Use cases: each function is one request's work inside one transaction. They load what the
//! domain rules need, apply the rules, persist, and record the change — so a handler only
//! extracts input, calls one of these, and renders the result.

pub mod audit;
pub mod consents;
pub mod content;
pub mod deviations;
pub mod documents;
pub mod feed;
pub mod imports;
pub mod individuals;
pub mod meetings;
pub mod plans;
pub mod reports;
pub mod summons;
pub mod webhooks;
pub mod worklists;

use chrono::{DateTime, NaiveDateTime, Utc};

use crate::auth::Caller;
use crate::db::events::NewChangeEvent;
use crate::db::DbConn;
use crate::domain::events::EventType;
use crate::error::{Error, Result};

/// A new time-ordered id (UUIDv7): ids sort in creation order, which cursors rely on.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

pub fn naive(at: DateTime<Utc>) -> NaiveDateTime {
    at.naive_utc()
}

pub use crate::db::{json_list, parse_json_list};

/// One change of a resource, as the change log records it.
pub struct Change<'a> {
    pub event_type: EventType,
    pub resource_type: &'a str,
    pub resource_id: &'a str,
    pub plan_id: Option<&'a str>,
    pub version: i64,
    pub from_status: Option<&'a str>,
    pub to_status: Option<&'a str>,
    pub reason: Option<&'a str>,
    /// Free text for the plan's history (e.g. why an intervention was cancelled).
    pub note: Option<&'a str>,
}

impl<'a> Change<'a> {
    /// A change of a resource under a plan, without a status move.
    pub fn of(
        event_type: EventType,
        resource_type: &'a str,
        resource_id: &'a str,
        plan_id: &'a str,
        version: i64,
    ) -> Self {
        Change {
            event_type,
            resource_type,
            resource_id,
            plan_id: Some(plan_id),
            version,
            from_status: None,
            to_status: None,
            reason: None,
            note: None,
        }
    }
}

/// Records a change in the change log and, as a write of personal data, in the access log — both
/// in the transaction of the change itself. `at` is when the change happened (an import replays
/// changes of the past); the access log and the feed's retention use the wall clock.
pub fn record(
    conn: &mut DbConn,
    caller: &Caller,
    at: NaiveDateTime,
    change: Change<'_>,
) -> Result<()> {
    let recorded_at = crate::domain::now().naive_utc();
    crate::db::journal::write(
        conn,
        crate::db::audit::NewAuditEvent {
            occurred_at: recorded_at,
            subject: caller.subject.clone(),
            unit: caller.unit.as_str().to_string(),
            principal: caller.principal.as_str().to_string(),
            action: change.event_type.as_str().to_string(),
            resource_type: change.resource_type.to_string(),
            resource_id: Some(change.resource_id.to_string()),
            plan_id: change.plan_id.map(String::from),
            individual_id: (change.resource_type == "individual")
                .then(|| change.resource_id.to_string()),
            result: "allowed".into(),
            status: 200,
            request_id: caller.request_id.clone(),
        },
        NewChangeEvent {
            event_type: change.event_type.as_str().to_string(),
            resource_type: change.resource_type.to_string(),
            resource_id: change.resource_id.to_string(),
            plan_id: change.plan_id.map(String::from),
            version: change.version,
            from_status: change.from_status.map(String::from),
            to_status: change.to_status.map(String::from),
            reason: change.reason.map(String::from),
            subject: caller.subject.clone(),
            unit: caller.unit.as_str().to_string(),
            occurred_at: at,
            note: change.note.map(String::from),
            recorded_at,
        },
    )
}

/// Cuts a list fetched with `limit + 1` rows to one page, and gives the next page's cursor (the
/// last row's key) when there is more.
pub fn page<T>(
    mut items: Vec<T>,
    limit: i64,
    cursor_of: impl Fn(&T) -> String,
) -> (Vec<T>, Option<String>) {
    if items.len() as i64 > limit {
        items.truncate(limit as usize);
        let next = items.last().map(&cursor_of);
        (items, next)
    } else {
        (items, None)
    }
}

/// A lost race with a concurrent writer that passed the same version check.
pub fn concurrent_update(current_version: i64) -> Error {
    Error::PreconditionFailed { current_version }
}
