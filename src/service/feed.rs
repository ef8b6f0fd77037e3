//! The change feed: the recorded changes a unit may see, in the order they became visible, after a
//! position.
//!
//! A reader keeps the position of the last event it has handled and asks for the events after it.
//! Positions are given in the order events become visible (see `db::events`), so such a reader
//! never misses an event and never sees one twice. Whether a unit sees an event is decided when it
//! reads, by the access rules of what the event concerns (`policy::EventAccess`). Webhook
//! deliveries are made from the same pages (`service::webhooks`).

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};

use super::Context;
use crate::db::events::{self as store, ChangeEventRow};
use crate::db::{deviations, meetings, plans, DbConn};
use crate::domain::events::ResourceType;
use crate::error::{Error, Result};
use crate::policy::EventAccess;

/// How many events one read examines at a time, and at most in all: a unit that sees few of the
/// service's events still gets an answer in bounded time, and moves on with `next_after`.
const SCAN_CHUNK: i64 = 500;
const SCAN_BUDGET: usize = 10_000;

pub use crate::domain::events::FeedSettings;

/// One page of the feed.
#[derive(Debug)]
pub struct FeedPage {
    pub events: Vec<ChangeEventRow>,
    /// The position to ask after next: the last event returned, or further on when events the
    /// reader may not see were passed over.
    pub next_after: i64,
    /// The latest position in the feed.
    pub head: i64,
}

impl FeedPage {
    /// Nothing new for this reader, and nothing left to examine.
    pub fn caught_up(&self) -> bool {
        self.events.is_empty() && self.next_after >= self.head
    }
}

/// The events after `after` that `caller`'s unit may see, at most `limit`.
pub fn page(
    conn: &mut DbConn,
    ctx: &Context,
    after: i64,
    limit: usize,
    settings: FeedSettings,
) -> Result<FeedPage> {
    let head = head(conn)?;
    if after > head {
        return Err(Error::AheadOfFeed { head });
    }
    ensure_retained(conn, after, head, ctx.now, settings)?;
    let mut events = Vec::new();
    let mut cursor = after;
    let mut examined = 0;
    'scan: loop {
        let chunk = store::after(conn, cursor, SCAN_CHUNK)?;
        let full_chunk = chunk.len() as i64 == SCAN_CHUNK;
        examined += chunk.len();
        let access = access_to(conn, ctx, &chunk)?;
        for event in chunk {
            cursor = event.position();
            if access.allows(&event) {
                events.push(event);
                if events.len() == limit {
                    break 'scan;
                }
            }
        }
        if !full_chunk || examined >= SCAN_BUDGET {
            break;
        }
    }
    Ok(FeedPage {
        events,
        next_after: cursor,
        head: head.max(cursor),
    })
}

/// 410 when the next event after `after` has left the retention window: the reader missed events
/// it can no longer get, and must re-read its plans before it continues from the head.
pub fn ensure_retained(
    conn: &mut DbConn,
    after: i64,
    head: i64,
    now: DateTime<Utc>,
    settings: FeedSettings,
) -> Result<()> {
    let cutoff = (now - Duration::days(settings.retention_days)).naive_utc();
    match store::next_after(conn, after)? {
        Some((_, recorded_at)) if recorded_at < cutoff => Err(Error::Gone {
            detail: format!(
                "the feed keeps events for {} days and the events after position {after} are older: \
                 re-read your plans (GET /api/v1/plans?updated_since=…), then continue with after={head}",
                settings.retention_days
            ),
            resume_after: head,
        }),
        _ => Ok(()),
    }
}

/// Everything the access rules need to decide on `events`, in five queries whatever their number.
pub fn access_to(
    conn: &mut DbConn,
    ctx: &Context,
    events: &[ChangeEventRow],
) -> Result<EventAccess> {
    fn distinct<'a>(ids: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
        let mut seen = HashSet::new();
        ids.filter(|id| seen.insert(*id)).collect()
    }
    let of_type = |kind: ResourceType| {
        distinct(
            events
                .iter()
                .filter(move |e| e.resource_type == kind)
                .map(|e| e.resource_id.as_str()),
        )
    };
    let plan_ids = distinct(
        events
            .iter()
            .filter(|e| e.resource_type != ResourceType::Deviation)
            .filter_map(|e| e.plan_id.as_deref()),
    );
    let closed = distinct(
        events
            .iter()
            .filter(|e| {
                e.resource_type == ResourceType::Plan && e.to_status.as_deref() == Some("closed")
            })
            .map(|e| e.resource_id.as_str()),
    );
    let unit = ctx.caller.unit.as_str();
    Ok(EventAccess {
        plans: plans::visible_ids(conn, &ctx.caller.unit, &plan_ids, ctx.today())?
            .into_iter()
            .collect(),
        notified_of_closing: meetings::notifying(conn, unit, &closed)?
            .into_iter()
            .collect(),
        individuals: plans::individuals_with_visible_plan(
            conn,
            &ctx.caller.unit,
            &of_type(ResourceType::Individual),
            ctx.today(),
        )?
        .into_iter()
        .chain(crate::db::individuals::registered_by(
            conn,
            unit,
            &of_type(ResourceType::Individual),
        )?)
        .collect(),
        deviations: deviations::visible_ids(conn, unit, &of_type(ResourceType::Deviation))?
            .into_iter()
            .collect(),
    })
}

/// The latest position in the feed: where a new reader (or a new subscription) starts. Every event
/// committed before the call is positioned first, so none of them can later appear after it.
pub fn head(conn: &mut DbConn) -> Result<i64> {
    store::position_committed(conn)?;
    store::head(conn)
}
