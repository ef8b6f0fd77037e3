//! The change feed as the API shows it: ids, types, versions and codes — never personal data.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::events::ChangeEventRow;
use crate::domain::events::EventType;

/// One recorded change. It names what changed, not how: read the resource for its new state.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "seq": 1042,
    "event_type": "plan.closed",
    "resource_type": "plan",
    "resource_id": "019a8b3c-5d2e-7f10-8a4b-3c2d1e0f9a8b",
    "plan_id": "019a8b3c-5d2e-7f10-8a4b-3c2d1e0f9a8b",
    "version": 9,
    "from_status": "established",
    "to_status": "closed",
    "reason": "goals_met",
    "unit": "SE2321000016-PSY1",
    "occurred_at": "2027-03-01T10:15:00Z"
}))]
pub struct FeedEvent {
    /// The position in the feed: strictly increasing, in the order the changes became visible (the
    /// changes of one resource in the order they were made). Keep the last one you handled; it is
    /// also the key to recognise a webhook delivered twice.
    pub seq: i64,
    #[schema(value_type = EventType)]
    pub event_type: String,
    /// `individual`, `plan`, `consent`, `summons`, `summons_recipient`, `meeting`, `goal`,
    /// `intervention`, `follow_up` or `deviation`.
    pub resource_type: String,
    #[schema(format = Uuid)]
    pub resource_id: String,
    /// The plan the resource belongs to (absent for an individual).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Uuid, nullable = false)]
    pub plan_id: Option<String>,
    /// The resource's version after the change (compare with its ETag).
    pub version: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub from_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub to_status: Option<String>,
    /// A reason code: a closing reason, a deviation category, a summons obligation.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub reason: Option<String>,
    /// The unit (HSA-id) whose user or system made the change: a journal system can recognise the
    /// changes it made itself. Empty for a change the individual made through an e-service (a
    /// withdrawn consent, their questions for the meeting).
    pub unit: String,
    /// When the change happened.
    pub occurred_at: DateTime<Utc>,
}

impl From<ChangeEventRow> for FeedEvent {
    fn from(e: ChangeEventRow) -> Self {
        FeedEvent {
            seq: e.position(),
            event_type: e.event_type.as_str().into(),
            resource_type: e.resource_type.as_str().into(),
            resource_id: e.resource_id,
            plan_id: e.plan_id,
            version: e.version,
            from_status: e.from_status,
            to_status: e.to_status,
            reason: e.reason,
            unit: e.unit.into_string(),
            occurred_at: e.occurred_at.and_utc(),
        }
    }
}

/// A page of the change feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedPage {
    /// The events after `after` that your unit may see, oldest first.
    pub items: Vec<FeedEvent>,
    /// Ask with `after` = this next. It is the `seq` of the last item, or further on when events
    /// your unit may not see were passed over: keep it, and you never miss an event nor see one
    /// twice.
    pub next_after: i64,
    /// The latest position in the feed when this page was read: `next_after` = `head` means you
    /// are caught up.
    pub head: i64,
}
