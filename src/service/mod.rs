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
pub mod me;
pub mod meetings;
pub mod plans;
pub mod reports;
pub mod summons;
pub mod webhooks;
pub mod worklists;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use crate::auth::Caller;
use crate::db::events::NewChangeEvent;
use crate::db::journal::Journal;
use crate::db::DbConn;
use crate::domain::events::{EventType, ResourceType};
use crate::domain::process::Deadlines;
use crate::error::{Error, Result};

/// What every use case is given besides its input: who acts, the moment it acts at, and the
/// region's settings of the process. Built once per request by the handler's extractor (`Reader`,
/// `Writer`, … in `api::extract`) from the verified token and the application's clock; the import
/// builds one for each party and step it replays.
#[derive(Debug, Clone)]
pub struct Context {
    pub caller: Caller,
    /// When the act happens: every date the use case stores or compares with comes from here. For
    /// a request, now by the application's clock (`crate::clock`); for a step an import replays,
    /// when the source system recorded it.
    pub now: DateTime<Utc>,
    /// When the service records the act: the time of its access-log row and change event, from
    /// which the feed's retention counts. Now by the application's clock, in an import too.
    pub recorded_at: DateTime<Utc>,
    /// The guidelines' deadlines as configured for this region.
    pub deadlines: Deadlines,
}

impl Context {
    /// A request's context: it acts and is recorded at `now`.
    pub fn new(caller: Caller, now: DateTime<Utc>, deadlines: Deadlines) -> Context {
        Context {
            caller,
            now,
            recorded_at: now,
            deadlines,
        }
    }

    /// Today's date in Sweden, the day the process's dates are compared with.
    pub fn today(&self) -> NaiveDate {
        crate::domain::calendar::swedish_date(self.now)
    }

    /// The same party acting at `at` (an import replaying a step of the past), recorded now.
    pub fn at(&self, at: DateTime<Utc>) -> Context {
        Context {
            now: at,
            ..self.clone()
        }
    }
}

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
    pub resource_type: ResourceType,
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
        resource_type: ResourceType,
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
/// changes of the past); it is recorded at `ctx.recorded_at`.
pub fn record(
    conn: &mut DbConn,
    ctx: &Context,
    at: NaiveDateTime,
    change: Change<'_>,
) -> Result<()> {
    let (access, event) = journal_of(ctx, at, change);
    crate::db::journal::write(conn, access, event)
}

/// The access-log row and change event of a change made at `at`, for a store function that writes
/// them with the change itself (`db::journal::write_with`).
pub fn journal_of(ctx: &Context, at: NaiveDateTime, change: Change<'_>) -> Journal {
    let recorded_at = ctx.recorded_at.naive_utc();
    (
        crate::db::audit::NewAuditEvent {
            occurred_at: recorded_at,
            subject: ctx.caller.subject.clone(),
            unit: ctx.caller.unit.as_str().to_string(),
            principal: ctx.caller.principal.as_str().to_string(),
            action: change.event_type.as_str().to_string(),
            resource_type: change.resource_type.to_string(),
            resource_id: Some(change.resource_id.to_string()),
            plan_id: change.plan_id.map(String::from),
            individual_id: (change.resource_type == ResourceType::Individual)
                .then(|| change.resource_id.to_string()),
            result: "allowed".into(),
            status: 200,
            request_id: ctx.caller.request_id.clone(),
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
            subject: ctx.caller.subject.clone(),
            unit: ctx.caller.unit.as_str().to_string(),
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
