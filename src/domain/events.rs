//! The kinds of change the service records. Every change is one event of one of these types, written
//! in the transaction of the change itself: the plan's history, the change feed and the webhooks all
//! read the same events. Events carry ids, versions and codes — never personal data.

use serde::{Deserialize, Serialize};

crate::schema::string_schema!(
    /// An event type of the `EventType` schema, or `<resource>.*` for all of one resource's.
    EventTypeName, 3, 64, Some("^[a-z_]+\\.([a-z_]+|\\*)$"),
    "an event type (see the EventType schema) or `<resource>.*`"
);
use utoipa::ToSchema;

use super::deviation::DeviationAction;

/// What a recorded change is about: the resource whose id the event carries (`resource_type`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    diesel::expression::AsExpression,
    diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[serde(rename_all = "snake_case")]
pub enum ResourceType {
    Individual,
    Plan,
    Consent,
    Summons,
    /// One recipient of a summons: their answer, a forwarding, their attendance.
    SummonsRecipient,
    Meeting,
    Goal,
    Intervention,
    FollowUp,
    Deviation,
}

super::text_enum!(ResourceType {
    Individual => "individual",
    Plan => "plan",
    Consent => "consent",
    Summons => "summons",
    SummonsRecipient => "summons_recipient",
    Meeting => "meeting",
    Goal => "goal",
    Intervention => "intervention",
    FollowUp => "follow_up",
    Deviation => "deviation",
});

/// The type of a recorded change: `<resource>.<what happened>`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    diesel::expression::AsExpression,
    diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum EventType {
    /// An individual was registered.
    #[serde(rename = "individual.created")]
    IndividualCreated,
    /// An individual's details (names, guardians, protected identity) were replaced.
    #[serde(rename = "individual.updated")]
    IndividualUpdated,
    /// A plan was opened (`need_identified`).
    #[serde(rename = "plan.created")]
    PlanCreated,
    /// A plan's details were replaced.
    #[serde(rename = "plan.updated")]
    PlanUpdated,
    /// A consent or refusal was recorded on the plan (→ `consented` or `refused`).
    #[serde(rename = "plan.consent_recorded")]
    PlanConsentRecorded,
    /// A summons was sent (→ `summoned`).
    #[serde(rename = "plan.summoned")]
    PlanSummoned,
    /// A recipient answered a summons.
    #[serde(rename = "plan.summons_answered")]
    PlanSummonsAnswered,
    /// Goals, interventions or intervention statuses changed.
    #[serde(rename = "plan.content_changed")]
    PlanContentChanged,
    /// The meeting established the plan (→ `established`).
    #[serde(rename = "plan.established")]
    PlanEstablished,
    /// A follow-up was scheduled.
    #[serde(rename = "plan.follow_up_scheduled")]
    PlanFollowUpScheduled,
    /// A follow-up was held and its decision recorded (continue; revise → `revising`; close → `closed`).
    #[serde(rename = "plan.followed_up")]
    PlanFollowedUp,
    /// A revision was completed (→ `established`, next revision).
    #[serde(rename = "plan.revised")]
    PlanRevised,
    /// The plan was closed, by decision or because consent was withdrawn.
    #[serde(rename = "plan.closed")]
    PlanClosed,
    #[serde(rename = "consent.recorded")]
    ConsentRecorded,
    #[serde(rename = "consent.withdrawn")]
    ConsentWithdrawn,
    #[serde(rename = "summons.sent")]
    SummonsSent,
    #[serde(rename = "summons.answered")]
    SummonsAnswered,
    /// A recipient forwarded the summons to another unit, which became a recipient.
    #[serde(rename = "summons.forwarded")]
    SummonsForwarded,
    /// A recipient's attendance at the meeting was recorded.
    #[serde(rename = "summons.attendance_recorded")]
    SummonsAttendanceRecorded,
    #[serde(rename = "meeting.recorded")]
    MeetingRecorded,
    #[serde(rename = "goal.created")]
    GoalCreated,
    #[serde(rename = "goal.updated")]
    GoalUpdated,
    /// A follow-up gave the goal an outcome.
    #[serde(rename = "goal.outcome_recorded")]
    GoalOutcomeRecorded,
    #[serde(rename = "intervention.created")]
    InterventionCreated,
    #[serde(rename = "intervention.updated")]
    InterventionUpdated,
    #[serde(rename = "intervention.status_changed")]
    InterventionStatusChanged,
    /// A revision carried the intervention over into the revised plan.
    #[serde(rename = "intervention.carried_over")]
    InterventionCarriedOver,
    #[serde(rename = "follow_up.scheduled")]
    FollowUpScheduled,
    #[serde(rename = "follow_up.recorded")]
    FollowUpRecorded,
    /// The service filed a suggested deviation from what the process recorded.
    #[serde(rename = "deviation.filed")]
    DeviationFiled,
    /// A unit reported a deviation.
    #[serde(rename = "deviation.reported")]
    DeviationReported,
    #[serde(rename = "deviation.confirmed")]
    DeviationConfirmed,
    #[serde(rename = "deviation.dismissed")]
    DeviationDismissed,
    #[serde(rename = "deviation.investigation_started")]
    DeviationInvestigationStarted,
    #[serde(rename = "deviation.feedback_given")]
    DeviationFeedbackGiven,
    #[serde(rename = "deviation.closed")]
    DeviationClosed,
    #[serde(rename = "deviation.updated")]
    DeviationUpdated,
}

super::text_enum!(EventType {
    IndividualCreated => "individual.created",
    IndividualUpdated => "individual.updated",
    PlanCreated => "plan.created",
    PlanUpdated => "plan.updated",
    PlanConsentRecorded => "plan.consent_recorded",
    PlanSummoned => "plan.summoned",
    PlanSummonsAnswered => "plan.summons_answered",
    PlanContentChanged => "plan.content_changed",
    PlanEstablished => "plan.established",
    PlanFollowUpScheduled => "plan.follow_up_scheduled",
    PlanFollowedUp => "plan.followed_up",
    PlanRevised => "plan.revised",
    PlanClosed => "plan.closed",
    ConsentRecorded => "consent.recorded",
    ConsentWithdrawn => "consent.withdrawn",
    SummonsSent => "summons.sent",
    SummonsAnswered => "summons.answered",
    SummonsForwarded => "summons.forwarded",
    SummonsAttendanceRecorded => "summons.attendance_recorded",
    MeetingRecorded => "meeting.recorded",
    GoalCreated => "goal.created",
    GoalUpdated => "goal.updated",
    GoalOutcomeRecorded => "goal.outcome_recorded",
    InterventionCreated => "intervention.created",
    InterventionUpdated => "intervention.updated",
    InterventionStatusChanged => "intervention.status_changed",
    InterventionCarriedOver => "intervention.carried_over",
    FollowUpScheduled => "follow_up.scheduled",
    FollowUpRecorded => "follow_up.recorded",
    DeviationFiled => "deviation.filed",
    DeviationReported => "deviation.reported",
    DeviationConfirmed => "deviation.confirmed",
    DeviationDismissed => "deviation.dismissed",
    DeviationInvestigationStarted => "deviation.investigation_started",
    DeviationFeedbackGiven => "deviation.feedback_given",
    DeviationClosed => "deviation.closed",
    DeviationUpdated => "deviation.updated",
});

impl EventType {
    /// The event a step of a deviation's flow records.
    pub fn of_deviation_action(action: DeviationAction) -> EventType {
        match action {
            DeviationAction::Confirm => EventType::DeviationConfirmed,
            DeviationAction::Dismiss => EventType::DeviationDismissed,
            DeviationAction::Investigate => EventType::DeviationInvestigationStarted,
            DeviationAction::GiveFeedback => EventType::DeviationFeedbackGiven,
            DeviationAction::Close => EventType::DeviationClosed,
            DeviationAction::Update => EventType::DeviationUpdated,
        }
    }

    /// The resource part of the name (`plan` of `plan.closed`).
    pub fn resource(self) -> &'static str {
        self.as_str().split('.').next().unwrap_or("")
    }
}

/// A subscriber's choice of event types: exact names (`plan.closed`) or every type of a resource
/// (`plan.*`). An empty selection means every type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSelection(Vec<String>);

impl EventSelection {
    /// Checks each pattern against the catalogue; returns the index and the reason of each bad one.
    pub fn parse(patterns: &[String]) -> Result<EventSelection, Vec<(usize, String)>> {
        let mut errors = Vec::new();
        let mut kept: Vec<String> = Vec::new();
        for (i, pattern) in patterns.iter().enumerate() {
            let pattern = pattern.trim();
            let known = match pattern.strip_suffix(".*") {
                Some(resource) => EventType::ALL.iter().any(|t| t.resource() == resource),
                None => EventType::parse(pattern).is_some(),
            };
            if !known {
                errors.push((
                    i,
                    "not an event type nor `<resource>.*` of one (see the EventType schema)"
                        .to_string(),
                ));
            } else if kept.iter().any(|k| k == pattern) {
                errors.push((i, "this event type is listed twice".into()));
            } else {
                kept.push(pattern.to_string());
            }
        }
        if errors.is_empty() {
            Ok(EventSelection(kept))
        } else {
            Err(errors)
        }
    }

    /// A selection as stored, checked when it was made: a pattern that names no type (any more)
    /// simply matches nothing.
    pub fn stored(patterns: Vec<String>) -> EventSelection {
        EventSelection(patterns)
    }

    pub fn patterns(&self) -> &[String] {
        &self.0
    }

    pub fn matches(&self, event_type: &str) -> bool {
        self.0.is_empty()
            || self.0.iter().any(|p| match p.strip_suffix(".*") {
                Some(resource) => event_type.split('.').next() == Some(resource),
                None => p == event_type,
            })
    }
}

/// How long the feed keeps serving events (`FEED_RETENTION_DAYS`). The events themselves stay: they
/// are the plans' history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedSettings {
    pub retention_days: i64,
}

impl Default for FeedSettings {
    fn default() -> Self {
        FeedSettings { retention_days: 30 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde() {
        for t in EventType::ALL {
            let json = serde_json::to_string(t).unwrap();
            assert_eq!(json, format!("\"{}\"", t.as_str()));
            assert_eq!(EventType::parse(t.as_str()), Some(*t));
        }
    }

    #[test]
    fn a_selection_takes_names_and_resource_wildcards() {
        let all = EventSelection::parse(&[]).unwrap();
        assert!(all.matches("plan.closed"));
        let some = EventSelection::parse(&["plan.closed".into(), "intervention.*".into()]).unwrap();
        assert!(some.matches("plan.closed"));
        assert!(some.matches("intervention.status_changed"));
        assert!(!some.matches("plan.created"));
        let bad = EventSelection::parse(&[
            "plan.closed".into(),
            "plan.exploded".into(),
            "nothing.*".into(),
            "plan.closed".into(),
        ])
        .unwrap_err();
        assert_eq!(
            bad.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
    }
}
