//! Webhook subscriptions, their queued deliveries and the log of delivery attempts. A subscription
//! belongs to one unit: every lookup for a caller is filtered by the caller's unit.

use super::native::NativeRunQueryDsl;
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{subscriptions, webhook_attempts, webhook_deliveries};
use super::DbConn;
use crate::domain::identity::HsaId;
use crate::domain::ids::SubscriptionId;
use crate::domain::webhook::DeliveryStatus;
use crate::domain::webhook::SubscriptionStatus;
use crate::domain::Principal;
use crate::error::Result;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = subscriptions, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct SubscriptionRow {
    pub id: SubscriptionId,
    pub unit: HsaId,
    pub principal: Principal,
    pub url: String,
    /// JSON array of event types or `<resource>.*` patterns.
    pub event_types: String,
    pub description: Option<String>,
    pub secret: String,
    pub status: SubscriptionStatus,
    pub paused_reason: Option<String>,
    pub paused_at: Option<NaiveDateTime>,
    pub after_position: i64,
    pub consecutive_failures: i32,
    pub next_attempt_at: Option<NaiveDateTime>,
    pub last_success_at: Option<NaiveDateTime>,
    pub last_failure_at: Option<NaiveDateTime>,
    pub lease_owner: Option<String>,
    pub lease_until: Option<NaiveDateTime>,
    pub created_by: String,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = webhook_deliveries, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct DeliveryRow {
    pub id: String,
    pub subscription_id: SubscriptionId,
    pub event_seq: i64,
    pub event_type: String,
    pub payload: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub last_attempt_at: Option<NaiveDateTime>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub delivered_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_attempts, treat_none_as_default_value = false)]
pub struct AttemptRow {
    pub id: String,
    pub delivery_id: String,
    pub subscription_id: SubscriptionId,
    pub attempted_at: NaiveDateTime,
    pub succeeded: bool,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i32,
}

pub fn insert(conn: &mut DbConn, row: &SubscriptionRow) -> Result<()> {
    diesel::insert_into(subscriptions::table)
        .values(row)
        .execute_native(conn)?;
    Ok(())
}

/// The subscription `id` of `unit`.
pub fn find(conn: &mut DbConn, unit: &str, id: &str) -> Result<Option<SubscriptionRow>> {
    Ok(subscriptions::table
        .filter(subscriptions::id.eq(id))
        .filter(subscriptions::unit.eq(unit))
        .select(super::native::columns::<SubscriptionRow>())
        .first_native(conn)
        .optional()?)
}

/// A subscription by id alone, for the dispatcher.
pub fn get(conn: &mut DbConn, id: &str) -> Result<Option<SubscriptionRow>> {
    Ok(subscriptions::table
        .filter(subscriptions::id.eq(id))
        .select(super::native::columns::<SubscriptionRow>())
        .first_native(conn)
        .optional()?)
}

/// One page of `unit`'s subscriptions, oldest first.
pub fn list(
    conn: &mut DbConn,
    unit: &str,
    cursor: Option<&str>,
    limit: i64,
) -> Result<Vec<SubscriptionRow>> {
    let mut query = subscriptions::table
        .filter(subscriptions::unit.eq(unit))
        .into_boxed();
    if let Some(after) = cursor {
        query = query.filter(subscriptions::id.gt(after.to_string()));
    }
    Ok(query
        .order(subscriptions::id)
        .limit(limit)
        .select(super::native::columns::<SubscriptionRow>())
        .load(conn)?)
}

/// Stores `row` if the stored version is still `row.version - 1`; false when someone else won.
pub fn update(conn: &mut DbConn, row: &SubscriptionRow) -> Result<bool> {
    let changed = diesel::update(
        subscriptions::table
            .filter(subscriptions::id.eq(&row.id))
            .filter(subscriptions::version.eq(row.version - 1)),
    )
    .set(row)
    .execute_native(conn)?;
    Ok(changed == 1)
}

/// Deletes a subscription with its deliveries and their attempts.
pub fn delete(conn: &mut DbConn, id: &str) -> Result<()> {
    let deliveries = webhook_deliveries::table
        .filter(webhook_deliveries::subscription_id.eq(id))
        .select(webhook_deliveries::id);
    diesel::delete(
        webhook_attempts::table.filter(webhook_attempts::delivery_id.eq_any(deliveries)),
    )
    .execute_native(conn)?;
    diesel::delete(webhook_deliveries::table.filter(webhook_deliveries::subscription_id.eq(id)))
        .execute_native(conn)?;
    diesel::delete(subscriptions::table.filter(subscriptions::id.eq(id))).execute_native(conn)?;
    Ok(())
}

/// The active subscriptions no other dispatcher holds at `now`, at most `limit`.
pub fn workable(
    conn: &mut DbConn,
    owner: &str,
    now: NaiveDateTime,
    limit: i64,
) -> Result<Vec<SubscriptionRow>> {
    Ok(subscriptions::table
        .filter(subscriptions::status.eq("active"))
        .filter(
            subscriptions::lease_until
                .is_null()
                .or(subscriptions::lease_until.lt(now))
                .or(subscriptions::lease_owner.eq(owner)),
        )
        .order(subscriptions::id)
        .limit(limit)
        .select(super::native::columns::<SubscriptionRow>())
        .load_native(conn)?)
}

/// Takes (or extends) the lease on subscription `id` for `owner` until `until`, unless another
/// dispatcher holds it. One statement, so two dispatchers can never both win.
pub fn claim(
    conn: &mut DbConn,
    id: &str,
    owner: &str,
    now: NaiveDateTime,
    until: NaiveDateTime,
) -> Result<bool> {
    let taken = diesel::update(
        subscriptions::table
            .filter(subscriptions::id.eq(id))
            .filter(
                subscriptions::lease_until
                    .is_null()
                    .or(subscriptions::lease_until.lt(now))
                    .or(subscriptions::lease_owner.eq(owner)),
            ),
    )
    .set((
        subscriptions::lease_owner.eq(owner),
        subscriptions::lease_until.eq(until),
    ))
    .execute_native(conn)?;
    Ok(taken == 1)
}

/// Gives back every lease `owner` holds (a dispatcher that stops).
pub fn release(conn: &mut DbConn, owner: &str) -> Result<()> {
    diesel::update(subscriptions::table.filter(subscriptions::lease_owner.eq(owner)))
        .set((
            subscriptions::lease_owner.eq(None::<String>),
            subscriptions::lease_until.eq(None::<NaiveDateTime>),
        ))
        .execute_native(conn)?;
    Ok(())
}

pub fn insert_delivery(conn: &mut DbConn, row: &DeliveryRow) -> Result<()> {
    diesel::insert_into(webhook_deliveries::table)
        .values(row)
        .execute_native(conn)?;
    Ok(())
}

/// The oldest undelivered deliveries of a subscription, in feed order.
pub fn pending(conn: &mut DbConn, subscription_id: &str, limit: i64) -> Result<Vec<DeliveryRow>> {
    Ok(webhook_deliveries::table
        .filter(webhook_deliveries::subscription_id.eq(subscription_id))
        .filter(webhook_deliveries::status.eq("pending"))
        .order(webhook_deliveries::event_seq)
        .limit(limit)
        .select(super::native::columns::<DeliveryRow>())
        .load_native(conn)?)
}

pub fn update_delivery(conn: &mut DbConn, row: &DeliveryRow) -> Result<()> {
    diesel::update(webhook_deliveries::table.filter(webhook_deliveries::id.eq(&row.id)))
        .set(row)
        .execute_native(conn)?;
    Ok(())
}

pub fn insert_attempt(conn: &mut DbConn, row: &AttemptRow) -> Result<()> {
    diesel::insert_into(webhook_attempts::table)
        .values(row)
        .execute_native(conn)?;
    Ok(())
}

/// How many deliveries of each subscription wait (one query for a page of subscriptions).
pub fn pending_counts(conn: &mut DbConn, ids: &[&str]) -> Result<Vec<(String, i64)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(webhook_deliveries::table
        .filter(webhook_deliveries::subscription_id.eq_any(ids.iter().map(|id| id.to_string())))
        .filter(webhook_deliveries::status.eq("pending"))
        .group_by(webhook_deliveries::subscription_id)
        .select((
            webhook_deliveries::subscription_id,
            diesel::dsl::count_star(),
        ))
        .load_native(conn)?)
}

/// One page of a subscription's deliveries, newest first (the log is read from the latest).
pub fn deliveries(
    conn: &mut DbConn,
    subscription_id: &str,
    status: Option<&str>,
    before_seq: Option<i64>,
    limit: i64,
) -> Result<Vec<DeliveryRow>> {
    let mut query = webhook_deliveries::table
        .filter(webhook_deliveries::subscription_id.eq(subscription_id))
        .into_boxed();
    if let Some(status) = status {
        query = query.filter(webhook_deliveries::status.eq(status.to_string()));
    }
    if let Some(before) = before_seq {
        query = query.filter(webhook_deliveries::event_seq.lt(before));
    }
    Ok(query
        .order(webhook_deliveries::event_seq.desc())
        .limit(limit)
        .select(super::native::columns::<DeliveryRow>())
        .load(conn)?)
}

/// The attempts of the deliveries `ids`, each delivery's latest `per_delivery` of them, in order.
pub fn attempts_of(
    conn: &mut DbConn,
    ids: &[&str],
    per_delivery: usize,
) -> Result<Vec<AttemptRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut rows: Vec<AttemptRow> = webhook_attempts::table
        .filter(webhook_attempts::delivery_id.eq_any(ids.iter().map(|id| id.to_string())))
        .order((webhook_attempts::delivery_id, webhook_attempts::id.desc()))
        .select(super::native::columns::<AttemptRow>())
        .load_native(conn)?;
    let mut kept = Vec::with_capacity(rows.len());
    let mut current: Option<String> = None;
    let mut count = 0;
    for row in rows.drain(..) {
        if current.as_deref() != Some(&row.delivery_id) {
            current = Some(row.delivery_id.clone());
            count = 0;
        }
        count += 1;
        if count <= per_delivery {
            kept.push(row);
        }
    }
    kept.reverse();
    Ok(kept)
}

// --- The dispatcher's bookkeeping: targeted updates that never touch what the unit edits (url,
// event types), so they cannot undo a concurrent PUT. Only a change of status moves the version.

/// Events up to `position` are queued as deliveries.
pub fn advance(conn: &mut DbConn, id: &str, position: i64) -> Result<()> {
    diesel::update(subscriptions::table.filter(subscriptions::id.eq(id)))
        .set(subscriptions::after_position.eq(position))
        .execute_native(conn)?;
    Ok(())
}

/// A delivery succeeded: the run of failures ends.
pub fn succeeded(conn: &mut DbConn, id: &str, at: NaiveDateTime) -> Result<()> {
    diesel::update(subscriptions::table.filter(subscriptions::id.eq(id)))
        .set((
            subscriptions::consecutive_failures.eq(0),
            subscriptions::next_attempt_at.eq(None::<NaiveDateTime>),
            subscriptions::last_success_at.eq(Some(at)),
        ))
        .execute_native(conn)?;
    Ok(())
}

/// A delivery failed: the next attempt waits until `retry_at`.
pub fn failed(
    conn: &mut DbConn,
    id: &str,
    failures: i32,
    at: NaiveDateTime,
    retry_at: NaiveDateTime,
) -> Result<()> {
    diesel::update(subscriptions::table.filter(subscriptions::id.eq(id)))
        .set((
            subscriptions::consecutive_failures.eq(failures),
            subscriptions::next_attempt_at.eq(Some(retry_at)),
            subscriptions::last_failure_at.eq(Some(at)),
        ))
        .execute_native(conn)?;
    Ok(())
}

/// The dispatcher pauses an active subscription, saying why.
pub fn pause_active(conn: &mut DbConn, id: &str, reason: &str, at: NaiveDateTime) -> Result<()> {
    diesel::update(
        subscriptions::table
            .filter(subscriptions::id.eq(id))
            .filter(subscriptions::status.eq("active")),
    )
    .set((
        subscriptions::status.eq("paused"),
        subscriptions::paused_reason.eq(Some(reason)),
        subscriptions::paused_at.eq(Some(at)),
        subscriptions::version.eq(subscriptions::version + 1),
        subscriptions::updated_at.eq(at),
    ))
    .execute_native(conn)?;
    Ok(())
}
