//! The kinds of change the service records. Every change is one event of one of these types, written
//! in the transaction of the change itself: the plan's history, the change feed and the webhooks all
//! read the same events. Events carry ids, versions and codes — never personal data.

crate::schema::string_schema!(
    /// An event type of the `EventType` schema, or `<resource>.*` for all of one resource's.
    EventTypeName, 3, 64, Some("^[a-z_]+\\.([a-z_]+|\\*)$"),
    "an event type (see the EventType schema) or `<resource>.*`"
);

use super::deviation::DeviationAction;

crate::domain::text_enum! {
    /// What a recorded change is about: the resource whose id the event carries (`resource_type`).
    pub enum ResourceType {
        Individual => "individual",
        Plan => "plan",
        Consent => "consent",
        Summons => "summons",
        /// One recipient of a summons: their answer, a forwarding, their attendance.
        SummonsRecipient => "summons_recipient",
        Meeting => "meeting",
        Goal => "goal",
        Intervention => "intervention",
        FollowUp => "follow_up",
        Deviation => "deviation",
    }
}

crate::domain::text_enum! {
    /// The type of a recorded change: `<resource>.<what happened>`.
    pub enum EventType {
        /// An individual was registered.
        IndividualCreated => "individual.created",
        /// An individual's details (names, guardians, protected identity) were replaced.
        IndividualUpdated => "individual.updated",
        /// A plan was opened (`need_identified`).
        PlanCreated => "plan.created",
        /// A plan's details were replaced.
        PlanUpdated => "plan.updated",
        /// A consent or refusal was recorded on the plan (→ `consented` or `refused`).
        PlanConsentRecorded => "plan.consent_recorded",
        /// A summons was sent (→ `summoned`).
        PlanSummoned => "plan.summoned",
        /// A recipient answered a summons.
        PlanSummonsAnswered => "plan.summons_answered",
        /// Goals, interventions or intervention statuses changed.
        PlanContentChanged => "plan.content_changed",
        /// The meeting established the plan (→ `established`).
        PlanEstablished => "plan.established",
        /// A follow-up was scheduled.
        PlanFollowUpScheduled => "plan.follow_up_scheduled",
        /// A follow-up was held and its decision recorded (continue; revise → `revising`; close → `closed`).
        PlanFollowedUp => "plan.followed_up",
        /// A revision was completed (→ `established`, next revision).
        PlanRevised => "plan.revised",
        /// The plan was closed, by decision or because consent was withdrawn.
        PlanClosed => "plan.closed",
        ConsentRecorded => "consent.recorded",
        ConsentWithdrawn => "consent.withdrawn",
        SummonsSent => "summons.sent",
        SummonsAnswered => "summons.answered",
        /// The individual wrote (or changed) their questions for the meeting, through an e-service.
        SummonsPrepared => "summons.prepared",
        /// A recipient forwarded the summons to another unit, which became a recipient.
        SummonsForwarded => "summons.forwarded",
        /// A recipient's attendance at the meeting was recorded.
        SummonsAttendanceRecorded => "summons.attendance_recorded",
        MeetingRecorded => "meeting.recorded",
        GoalCreated => "goal.created",
        GoalUpdated => "goal.updated",
        /// A follow-up gave the goal an outcome.
        GoalOutcomeRecorded => "goal.outcome_recorded",
        InterventionCreated => "intervention.created",
        InterventionUpdated => "intervention.updated",
        InterventionStatusChanged => "intervention.status_changed",
        /// A revision carried the intervention over into the revised plan.
        InterventionCarriedOver => "intervention.carried_over",
        FollowUpScheduled => "follow_up.scheduled",
        FollowUpRecorded => "follow_up.recorded",
        /// The service filed a suggested deviation from what the process recorded.
        DeviationFiled => "deviation.filed",
        /// A unit reported a deviation.
        DeviationReported => "deviation.reported",
        DeviationConfirmed => "deviation.confirmed",
        DeviationDismissed => "deviation.dismissed",
        DeviationInvestigationStarted => "deviation.investigation_started",
        DeviationFeedbackGiven => "deviation.feedback_given",
        DeviationClosed => "deviation.closed",
        DeviationUpdated => "deviation.updated",
    }
}

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
