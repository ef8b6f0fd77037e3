//! Webhook subscriptions, their deliveries and the body a delivery carries.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::feed::FeedEvent;
use super::page_of;
use crate::db::parse_json_list;
use crate::db::webhooks::{AttemptRow, DeliveryRow, SubscriptionRow};
use crate::domain::events::EventType;
use crate::domain::webhook::{DeliveryStatus, SubscriptionStatus};
use crate::error::Result;

/// A unit's subscription to the change feed: its events are POSTed to `url` as they happen.
#[derive(Debug, Serialize, ToSchema)]
pub struct Subscription {
    #[schema(format = Uuid)]
    pub id: String,
    /// The subscribing unit (from its token): the events delivered are those it may see.
    pub unit: String,
    pub url: String,
    /// The event types delivered (names or `<resource>.*`); empty: every type.
    #[schema(value_type = Vec<crate::domain::events::EventTypeName>, example = json!(["plan.*", "intervention.status_changed"]))]
    pub event_types: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub description: Option<String>,
    pub status: SubscriptionStatus,
    /// Why it is paused: by the unit, or after failing deliveries.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub paused_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub paused_at: Option<DateTime<Utc>>,
    /// The feed position up to which events have been queued for delivery.
    pub queued_up_to: i64,
    /// Deliveries waiting to reach the endpoint.
    pub pending_deliveries: i64,
    /// Failed attempts in a row; they pause the subscription at `WEBHOOK_PAUSE_AFTER_FAILURES`.
    pub consecutive_failures: i32,
    /// When a failing delivery is tried again.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub next_attempt_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub last_success_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub last_failure_at: Option<DateTime<Utc>>,
    /// Changes with the subscription's settings and status.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Subscription {
    pub fn from_row(row: SubscriptionRow, pending_deliveries: i64) -> Result<Subscription> {
        Ok(Subscription {
            status: row.status,
            event_types: parse_json_list(&row.event_types, "subscription event types")?,
            paused_at: row.paused_at.map(|t| t.and_utc()),
            next_attempt_at: row.next_attempt_at.map(|t| t.and_utc()),
            last_success_at: row.last_success_at.map(|t| t.and_utc()),
            last_failure_at: row.last_failure_at.map(|t| t.and_utc()),
            created_at: row.created_at.and_utc(),
            updated_at: row.updated_at.and_utc(),
            queued_up_to: row.after_position,
            pending_deliveries,
            id: row.id.into(),
            unit: row.unit.into(),
            url: row.url,
            description: row.description,
            paused_reason: row.paused_reason,
            consecutive_failures: row.consecutive_failures,
            version: row.version,
        })
    }
}

/// A subscription with its signing secret: shown only when the subscription is created and when
/// its secret is rotated. Keep it: it is never shown again.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionWithSecret {
    #[serde(flatten)]
    pub subscription: Subscription,
    /// The key of the deliveries' HMAC-SHA256 signature (`X-SIP-Signature`).
    #[schema(example = "whsec_4f1c2e3d4b5a69788796a5b4c3d2e1f04f1c2e3d4b5a69788796a5b4c3d2e1f0")]
    pub secret: String,
}

page_of!(SubscriptionPage, Subscription, "subscriptions");

/// One attempt to deliver.
#[derive(Debug, Serialize, ToSchema)]
pub struct Attempt {
    pub attempted_at: DateTime<Utc>,
    /// The endpoint answered 2xx.
    pub succeeded: bool,
    /// The endpoint's HTTP status, when it answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub status_code: Option<i32>,
    /// Why no answer came (connection refused, timeout, TLS …).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub error: Option<String>,
    pub duration_ms: i32,
}

impl From<AttemptRow> for Attempt {
    fn from(a: AttemptRow) -> Self {
        Attempt {
            attempted_at: a.attempted_at.and_utc(),
            succeeded: a.succeeded,
            status_code: a.status_code,
            error: a.error,
            duration_ms: a.duration_ms,
        }
    }
}

/// One event queued for a subscription, with its latest attempts.
#[derive(Debug, Serialize, ToSchema)]
pub struct Delivery {
    #[schema(format = Uuid)]
    pub id: String,
    /// The event's `seq` in the change feed.
    pub event_seq: i64,
    #[schema(value_type = EventType)]
    pub event_type: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub last_attempt_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub last_status_code: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub last_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// The latest attempts (at most 20), oldest first.
    pub attempt_log: Vec<Attempt>,
}

impl Delivery {
    pub fn from_row(d: DeliveryRow, attempts: Vec<Attempt>) -> Result<Delivery> {
        Ok(Delivery {
            status: d.status,
            last_attempt_at: d.last_attempt_at.map(|t| t.and_utc()),
            delivered_at: d.delivered_at.map(|t| t.and_utc()),
            created_at: d.created_at.and_utc(),
            id: d.id,
            event_seq: d.event_seq,
            event_type: d.event_type,
            attempts: d.attempts,
            last_status_code: d.last_status_code,
            last_error: d.last_error,
            attempt_log: attempts,
        })
    }
}

page_of!(DeliveryPage, Delivery, "deliveries, newest first");

/// The body of every webhook delivery (POST, `application/json`).
///
/// Headers: `X-SIP-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the
/// subscription's secret>`, `X-SIP-Delivery` (the delivery id), `X-SIP-Event-Seq`,
/// `X-SIP-Event-Type`. Verify the signature over the raw body, refuse a `t` more than five minutes
/// old, answer 2xx quickly, and use `event.seq` to recognise a delivery you already handled:
/// deliveries are at least once, in feed order per subscription.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookPayload {
    #[schema(format = Uuid)]
    pub delivery_id: String,
    #[schema(format = Uuid)]
    pub subscription_id: String,
    pub event: FeedEvent,
}
