//! Webhook subscriptions (a unit's own) and the dispatcher's steps. Each function is one
//! transaction; the HTTP call of a delivery happens between two of them, never inside one.

use chrono::{DateTime, Duration, Utc};

use super::feed::{self, FeedSettings};
use super::Context;
use super::{json_list, naive, new_id};
use crate::auth::Caller;
use crate::db::webhooks::{self as store, AttemptRow, DeliveryRow, SubscriptionRow};
use crate::db::DbConn;
use crate::domain::ensure_version;
use crate::domain::events::EventSelection;
use crate::domain::ids::{Id, SubscriptionId};
use crate::domain::webhook::{
    backoff, new_secret, pauses, DeliveryStatus, Endpoint, SubscriptionStatus, WebhookSettings,
};
use crate::error::{Error, FieldError, Result};
use crate::views::feed::FeedEvent;
use crate::views::webhook::WebhookPayload;

/// What a unit asks to be sent, checked.
#[derive(Debug, Clone)]
pub struct SubscriptionSpec {
    pub endpoint: Endpoint,
    pub events: EventSelection,
    pub description: Option<String>,
}

impl SubscriptionSpec {
    /// Checks the endpoint and the event types, naming every field at fault.
    pub fn check(
        url: &str,
        event_types: &[String],
        description: Option<String>,
        settings: &WebhookSettings,
    ) -> Result<SubscriptionSpec> {
        let mut errors = Vec::new();
        let endpoint = Endpoint::parse(url, &settings.allowed_hosts)
            .map_err(|m| errors.push(FieldError::new("$.url", m)))
            .ok();
        let events = EventSelection::parse(event_types)
            .map_err(|bad| {
                errors.extend(
                    bad.into_iter()
                        .map(|(i, m)| FieldError::new(format!("$.event_types[{i}]"), m)),
                )
            })
            .ok();
        match (endpoint, events) {
            (Some(endpoint), Some(events)) if errors.is_empty() => Ok(SubscriptionSpec {
                endpoint,
                events,
                description,
            }),
            _ => Err(Error::Validation(errors)),
        }
    }
}

fn not_found() -> Error {
    Error::NotFound("your unit has no subscription with this id".into())
}

/// The subscription, if it is the caller's unit's.
pub fn get(conn: &mut DbConn, ctx: &Context, id: &SubscriptionId) -> Result<SubscriptionRow> {
    store::find(conn, ctx.caller.unit.as_str(), id)?.ok_or_else(not_found)
}

/// Deliveries waiting, for each subscription.
pub fn pending_counts(conn: &mut DbConn, rows: &[SubscriptionRow]) -> Result<Vec<i64>> {
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let counts = store::pending_counts(conn, &ids)?;
    Ok(rows
        .iter()
        .map(|r| {
            counts
                .iter()
                .find(|(id, _)| *id == r.id)
                .map_or(0, |(_, n)| *n)
        })
        .collect())
}

/// Subscribes the caller's unit. Deliveries start after `start_after` (by default the feed's
/// head: from now on); an earlier position must still be within the feed's retention.
pub fn create(
    conn: &mut DbConn,
    ctx: &Context,
    spec: SubscriptionSpec,
    start_after: Option<i64>,
    feed_settings: FeedSettings,
) -> Result<SubscriptionRow> {
    let head = feed::head(conn)?;
    let after_position = match start_after {
        None => head,
        Some(p) if p < 0 || p > head => {
            return Err(Error::validation(
                "$.start_after",
                format!("must be a position of the feed, 0 to {head}"),
            ))
        }
        Some(p) => {
            feed::ensure_retained(conn, p, head, ctx.now, feed_settings).map_err(|_| {
                Error::validation(
                    "$.start_after",
                    "the events after this position have left the feed's retention window",
                )
            })?;
            p
        }
    };
    let at = naive(ctx.now);
    let row = SubscriptionRow {
        id: Id::new(),
        unit: ctx.caller.unit.clone(),
        principal: ctx.caller.principal,
        url: spec.endpoint.as_str().into(),
        event_types: json_list(spec.events.patterns()),
        description: spec.description,
        secret: new_secret(),
        status: SubscriptionStatus::Active,
        paused_reason: None,
        paused_at: None,
        after_position,
        consecutive_failures: 0,
        next_attempt_at: None,
        last_success_at: None,
        last_failure_at: None,
        lease_owner: None,
        lease_until: None,
        created_by: ctx.caller.subject.clone(),
        version: 1,
        created_at: at,
        updated_at: at,
    };
    store::insert(conn, &row)?;
    Ok(row)
}

/// A change of a subscription by its unit: settings, status or secret.
pub enum Change {
    Settings(SubscriptionSpec),
    Pause,
    Resume,
    RotateSecret,
}

pub fn change(
    conn: &mut DbConn,
    ctx: &Context,
    id: &SubscriptionId,
    expected_version: Option<crate::domain::Versions>,
    change: Change,
) -> Result<SubscriptionRow> {
    let mut row = get(conn, ctx, id)?;
    ensure_version(&expected_version, row.version)?;
    let at = naive(ctx.now);
    match change {
        Change::Settings(spec) => {
            row.url = spec.endpoint.as_str().into();
            row.event_types = json_list(spec.events.patterns());
            row.description = spec.description;
        }
        Change::Pause => {
            row.status = SubscriptionStatus::Paused;
            row.paused_reason = Some(format!("paused by {}", ctx.caller.subject));
            row.paused_at = Some(at);
        }
        Change::Resume => {
            // The queue continues where it stopped; failures start counting anew.
            row.status = SubscriptionStatus::Active;
            row.paused_reason = None;
            row.paused_at = None;
            row.consecutive_failures = 0;
            row.next_attempt_at = None;
        }
        Change::RotateSecret => row.secret = new_secret(),
    }
    row.version += 1;
    row.updated_at = at;
    if !store::update(conn, &row)? {
        return Err(super::concurrent_update(row.version));
    }
    Ok(row)
}

pub fn delete(
    conn: &mut DbConn,
    ctx: &Context,
    id: &SubscriptionId,
    expected_version: Option<crate::domain::Versions>,
) -> Result<()> {
    let row = get(conn, ctx, id)?;
    ensure_version(&expected_version, row.version)?;
    store::delete(conn, &row.id)
}

/// How many attempts each delivery of the log shows.
const ATTEMPTS_SHOWN: usize = 20;

/// A delivery with its latest attempts.
pub type LoggedDelivery = (DeliveryRow, Vec<AttemptRow>);

/// One page of a subscription's delivery log, newest first, with each delivery's latest attempts.
pub fn deliveries(
    conn: &mut DbConn,
    ctx: &Context,
    id: &SubscriptionId,
    status: Option<DeliveryStatus>,
    before_seq: Option<i64>,
    limit: i64,
) -> Result<(Vec<LoggedDelivery>, Option<String>)> {
    let subscription = get(conn, ctx, id)?;
    let rows = store::deliveries(
        conn,
        &subscription.id,
        status.map(DeliveryStatus::as_str),
        before_seq,
        limit + 1,
    )?;
    let (rows, next) = super::page(rows, limit, |d| d.event_seq.to_string());
    let ids: Vec<&str> = rows.iter().map(|d| d.id.as_str()).collect();
    let mut attempts = store::attempts_of(conn, &ids, ATTEMPTS_SHOWN)?;
    let with_attempts = rows
        .into_iter()
        .map(|d| {
            let (mine, rest) = attempts.drain(..).partition(|a| a.delivery_id == d.id);
            attempts = rest;
            (d, mine)
        })
        .collect();
    Ok((with_attempts, next))
}

// --- The dispatcher's steps ----------------------------------------------------------------------

/// How many events one step queues for one subscription.
const QUEUE_STEP: usize = 200;

/// The subscribing unit at `now`, as the feed's access rules see it (they use no deadline).
fn subscriber(row: &SubscriptionRow, now: DateTime<Utc>) -> Context {
    let unit = Caller::new(
        format!("subscription:{}", row.id),
        row.unit.clone(),
        row.principal,
        &[],
    );
    Context::new(unit, now, Default::default())
}

/// Takes subscription `id` for this dispatcher and queues the new events its unit may see and
/// asked for. Returns the subscription when this dispatcher holds it and it is active.
pub fn take_and_queue(
    conn: &mut DbConn,
    id: &str,
    owner: &str,
    now: DateTime<Utc>,
    settings: &WebhookSettings,
    feed_settings: FeedSettings,
) -> Result<Option<SubscriptionRow>> {
    let at = naive(now);
    let lease = Duration::from_std(settings.lease).unwrap_or(Duration::seconds(60));
    if !store::claim(conn, id, owner, at, at + lease)? {
        return Ok(None);
    }
    let Some(row) = store::get(conn, id)? else {
        return Ok(None);
    };
    if row.status != SubscriptionStatus::Active {
        return Ok(None);
    }
    let selection = EventSelection::stored(super::parse_json_list(
        &row.event_types,
        "subscription event types",
    )?);
    let page = match feed::page(
        conn,
        &subscriber(&row, now),
        row.after_position,
        QUEUE_STEP,
        feed_settings,
    ) {
        Ok(page) => page,
        Err(Error::Gone { resume_after, .. }) => {
            store::pause_active(
                conn,
                &row.id,
                &format!(
                    "the subscription fell behind the feed's retention window and events were lost: \
                     re-read your plans, then resume (deliveries continue after position {resume_after})"
                ),
                at,
            )?;
            store::advance(conn, &row.id, resume_after)?;
            return Ok(None);
        }
        Err(other) => return Err(other),
    };
    for event in page
        .events
        .into_iter()
        .filter(|e| selection.matches(e.event_type.as_str()))
    {
        let delivery_id = new_id();
        let payload = WebhookPayload {
            delivery_id: delivery_id.clone(),
            subscription_id: row.id.to_string(),
            event: FeedEvent::from(event),
        };
        let body = serde_json::to_string(&payload)
            .map_err(|e| Error::Internal(format!("cannot serialise a delivery: {e}")))?;
        store::insert_delivery(
            conn,
            &DeliveryRow {
                id: delivery_id,
                subscription_id: row.id.clone(),
                event_seq: payload.event.seq,
                event_type: payload.event.event_type.clone(),
                payload: body,
                status: DeliveryStatus::Pending,
                attempts: 0,
                last_attempt_at: None,
                last_status_code: None,
                last_error: None,
                delivered_at: None,
                created_at: at,
            },
        )?;
    }
    if page.next_after != row.after_position {
        store::advance(conn, &row.id, page.next_after)?;
    }
    Ok(Some(row))
}

/// The next delivery to send of subscription `id`, oldest first, taken under this dispatcher's
/// lease — renewed here for long enough to cover the send and its recording
/// ([`WebhookSettings::hold`]). None when another dispatcher holds the subscription, when it is
/// not active, while a failure's backoff runs, or when nothing is pending. Read afresh before every
/// send, so a dispatcher that lost the subscription and got it back never sends from a stale list.
pub fn next_to_send(
    conn: &mut DbConn,
    id: &str,
    owner: &str,
    now: DateTime<Utc>,
    settings: &WebhookSettings,
) -> Result<Option<(SubscriptionRow, DeliveryRow)>> {
    let at = naive(now);
    if !hold(conn, id, owner, at, settings)? {
        return Ok(None);
    }
    let Some(row) = store::get(conn, id)? else {
        return Ok(None);
    };
    if row.status != SubscriptionStatus::Active || row.next_attempt_at.is_some_and(|t| t > at) {
        return Ok(None);
    }
    Ok(store::pending(conn, id, 1)?.pop().map(|d| (row, d)))
}

/// Takes or renews `owner`'s lease on subscription `id` for one delivery; false when another
/// dispatcher holds it.
fn hold(
    conn: &mut DbConn,
    id: &str,
    owner: &str,
    at: chrono::NaiveDateTime,
    settings: &WebhookSettings,
) -> Result<bool> {
    let hold = Duration::from_std(settings.hold()).unwrap_or(Duration::seconds(60));
    store::claim(conn, id, owner, at, at + hold)
}

/// What became of one attempt.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub attempted_at: DateTime<Utc>,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: i32,
}

impl Outcome {
    pub fn succeeded(&self) -> bool {
        self.status_code.is_some_and(|s| (200..300).contains(&s))
    }
}

/// Records an attempt in the delivery log and what follows from it: the delivery is done, or the
/// subscription waits (doubling) before the next attempt, and pauses after too many failures.
/// Returns whether the next delivery may be sent right away — or `None`, recording nothing, when
/// `owner` no longer holds the subscription (it stalled past its lease and another dispatcher took
/// over, which sends the delivery again: receivers deduplicate by `X-SIP-Delivery`). The attempt
/// ended at `now`.
pub fn record_attempt(
    conn: &mut DbConn,
    subscription_id: &SubscriptionId,
    owner: &str,
    mut delivery: DeliveryRow,
    outcome: &Outcome,
    settings: &WebhookSettings,
    now: DateTime<Utc>,
) -> Result<Option<bool>> {
    if !hold(conn, subscription_id, owner, naive(now), settings)? {
        return Ok(None);
    }
    let at = naive(outcome.attempted_at);
    let succeeded = outcome.succeeded();
    store::insert_attempt(
        conn,
        &AttemptRow {
            id: new_id(),
            delivery_id: delivery.id.clone(),
            subscription_id: subscription_id.clone(),
            attempted_at: at,
            succeeded,
            status_code: outcome.status_code.map(i32::from),
            error: outcome.error.clone(),
            duration_ms: outcome.duration_ms,
        },
    )?;
    delivery.attempts += 1;
    delivery.last_attempt_at = Some(at);
    delivery.last_status_code = outcome.status_code.map(i32::from);
    delivery.last_error = outcome.error.clone();
    if succeeded {
        delivery.status = DeliveryStatus::Delivered;
        delivery.delivered_at = Some(at);
    }
    store::update_delivery(conn, &delivery)?;
    let Some(subscription) = store::get(conn, subscription_id)? else {
        return Ok(Some(false));
    };
    if succeeded {
        store::succeeded(conn, subscription_id, at)?;
        return Ok(Some(true));
    }
    let failures = u32::try_from(subscription.consecutive_failures).unwrap_or(0) + 1;
    let wait = Duration::from_std(backoff(failures, settings)).unwrap_or(Duration::hours(1));
    store::failed(conn, subscription_id, failures as i32, at, at + wait)?;
    if pauses(failures, settings) {
        let last = match (outcome.status_code, &outcome.error) {
            (Some(code), _) => format!("HTTP {code}"),
            (None, Some(error)) => error.clone(),
            (None, None) => "no answer".into(),
        };
        store::pause_active(
            conn,
            subscription_id,
            &format!(
                "{failures} deliveries in a row failed (the last: {last}); fix the endpoint, then resume"
            ),
            at,
        )?;
    }
    Ok(Some(false))
}

/// Gives back the subscriptions a stopping dispatcher holds.
pub fn release(conn: &mut DbConn, owner: &str) -> Result<()> {
    store::release(conn, owner)
}

/// The active subscriptions this dispatcher may work on now that have work: events after their
/// queue's end, or deliveries due. Without subscriptions it only reads; with them it may position
/// the feed (`feed::head`), as any reader of positions does.
pub fn with_work(
    conn: &mut DbConn,
    owner: &str,
    now: DateTime<Utc>,
) -> Result<Vec<SubscriptionRow>> {
    let rows = store::workable(conn, owner, naive(now), 100)?;
    if rows.is_empty() {
        return Ok(rows);
    }
    let head = feed::head(conn)?;
    let pending = pending_counts(conn, &rows)?;
    let at = naive(now);
    Ok(rows
        .into_iter()
        .zip(pending)
        .filter(|(row, pending)| {
            let retry_due = row.next_attempt_at.is_none_or(|t| t <= at);
            row.after_position < head || (*pending > 0 && retry_due)
        })
        .map(|(row, _)| row)
        .collect())
}
