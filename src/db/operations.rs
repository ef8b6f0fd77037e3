//! What operations watch, read when `/metrics` is scraped: counts and ages only, never an id.

use super::native::NativeRunQueryDsl;
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{audit_events, audit_seals, imports, subscriptions, webhook_deliveries};
use super::DbConn;
use crate::error::Result;

/// The service's state as gauges: (name, value).
pub fn state(conn: &mut DbConn, now: NaiveDateTime) -> Result<Vec<(&'static str, i64)>> {
    let head = super::events::head(conn)?;
    let behind: Option<i64> = subscriptions::table
        .filter(subscriptions::status.eq("active"))
        .select(diesel::dsl::min(subscriptions::after_position))
        .first_native(conn)?;
    let paused: i64 = subscriptions::table
        .filter(subscriptions::status.eq("paused"))
        .count()
        .get_result_native(conn)?;
    let oldest_pending: Option<NaiveDateTime> = webhook_deliveries::table
        .filter(webhook_deliveries::status.eq("pending"))
        .select(diesel::dsl::min(webhook_deliveries::created_at))
        .first_native(conn)?;
    let running: i64 = imports::table
        .filter(imports::status.eq("running"))
        .count()
        .get_result_native(conn)?;
    // A handful at most (one running import per source system).
    let lines: i64 = imports::table
        .filter(imports::status.eq("running"))
        .select(imports::lines_read)
        .load::<i64>(conn)?
        .iter()
        .sum();
    let (unsealed, oldest_unsealed) = unsealed_access_records(conn)?;
    Ok(vec![
        ("feed_head_position", head),
        (
            "webhook_backlog_events",
            behind.map_or(0, |after| (head - after).max(0)),
        ),
        (
            "webhook_oldest_pending_delivery_seconds",
            oldest_pending.map_or(0, |at| (now - at).num_seconds().max(0)),
        ),
        ("webhook_subscriptions_paused", paused),
        ("imports_running", running),
        ("imports_running_lines_read", lines),
        ("access_log_unsealed_records", unsealed),
        (
            "access_log_oldest_unsealed_seconds",
            oldest_unsealed.map_or(0, |at| (now - at).num_seconds().max(0)),
        ),
    ])
}

/// How far the access log's sealing (`db::seals`) is behind: the records after the last sealed
/// one, and when the first of them was made. A record is open to undetected change until it is
/// sealed, and the sealer takes at most a batch a second, so under a sustained peak these grow
/// (and shrink once it has passed). The records are counted as the ids drawn after the last
/// sealed one — the log's ids come from one sequence, so that is the count but for a write
/// rolled back — and a record that committed late, below it, is sealed by the next run and not
/// counted. Each answer is an index's first or last entry, whatever the size of the log.
fn unsealed_access_records(conn: &mut DbConn) -> Result<(i64, Option<NaiveDateTime>)> {
    let sealed_up_to: i64 = audit_seals::table
        .select(diesel::dsl::max(audit_seals::event_id))
        .first_native::<Option<i64>>(conn)?
        .unwrap_or(0);
    let last: i64 = audit_events::table
        .select(diesel::dsl::max(audit_events::id))
        .first_native::<Option<i64>>(conn)?
        .unwrap_or(0);
    let oldest: Option<NaiveDateTime> = audit_events::table
        .filter(audit_events::id.gt(sealed_up_to))
        .order(audit_events::id)
        .select(audit_events::occurred_at)
        .first_native(conn)
        .optional()?;
    Ok(((last - sealed_up_to).max(0), oldest))
}
