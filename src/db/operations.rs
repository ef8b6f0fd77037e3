//! What operations watch, read when `/metrics` is scraped: counts and ages only, never an id.

use super::native::NativeRunQueryDsl;
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{imports, subscriptions, webhook_deliveries};
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
    ])
}
