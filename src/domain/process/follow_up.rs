//! Follow-ups (uppföljning) and their decisions, and the revision a follow-up can start.

use std::collections::HashSet;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::content::GoalStatus;
use super::meeting::FollowUpSlot;
use super::{blank, errors_or};
use crate::domain::plan::ClosingReason;
use crate::error::FieldError;

/// How a goal went, at a follow-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GoalOutcomeValue {
    Fulfilled,
    PartlyFulfilled,
    NotFulfilled,
}

impl GoalOutcomeValue {
    pub fn status(self) -> GoalStatus {
        match self {
            GoalOutcomeValue::Fulfilled => GoalStatus::Fulfilled,
            GoalOutcomeValue::PartlyFulfilled => GoalStatus::PartlyFulfilled,
            GoalOutcomeValue::NotFulfilled => GoalStatus::NotFulfilled,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct GoalOutcome {
    /// The goal's id (in an `ImportRecord`: the record's own `external_id` of it).
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub goal_id: String,
    pub outcome: GoalOutcomeValue,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct InterventionReview {
    /// The intervention's id (in an `ImportRecord`: the record's own `external_id` of it).
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub intervention_id: String,
    pub carried_out: bool,
    /// What effect it had.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000, nullable = false)]
    pub effect: Option<String>,
}

crate::domain::text_enum! {
    /// The decision of a follow-up.
    pub enum Decision {
        /// Continue as planned; `next_follow_up` is required.
        Continue => "continue",
        /// Revise the plan: goals and interventions may change (status `revising`).
        Revise => "revise",
        /// Close the plan; `closing_reason` is required.
        Close => "close",
    }
}

/// A held follow-up (uppföljning; procedure code AW010).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "held_on": "2027-02-03",
    "goal_outcomes": [{"goal_id": "019a8b3c-7000-7f10-8a4b-3c2d1e0f9a8b", "outcome": "partly_fulfilled"}],
    "intervention_reviews": [
        {"intervention_id": "019a8b3c-7100-7f10-8a4b-3c2d1e0f9a8b", "carried_out": true, "effect": "Lisa is up four days a week"}
    ],
    "new_circumstances": "Lisa has moved to her own flat",
    "decision": "continue",
    "next_follow_up": {"date": "2027-05-03", "place": "Video"}
}))]
pub struct FollowUpRecord {
    pub held_on: NaiveDate,
    /// How each open goal went.
    #[serde(default)]
    #[validate(length(max = 100), nested)]
    #[schema(max_items = 100)]
    pub goal_outcomes: Vec<GoalOutcome>,
    /// Whether each open intervention was carried out, and its effect.
    #[serde(default)]
    #[validate(length(max = 100), nested)]
    #[schema(max_items = 100)]
    pub intervention_reviews: Vec<InterventionReview>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000, nullable = false)]
    pub new_circumstances: Option<String>,
    pub decision: Decision,
    /// Required to continue.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(nested)]
    #[schema(nullable = false)]
    pub next_follow_up: Option<FollowUpSlot>,
    /// Required to close.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub closing_reason: Option<ClosingReason>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000, nullable = false)]
    pub closing_note: Option<String>,
}

/// Every open goal gets an outcome and every open intervention a review: a follow-up may not skip
/// any. The decision carries what it needs.
pub fn check_follow_up(
    record: &FollowUpRecord,
    open_goals: &[String],
    open_interventions: &[String],
    today: NaiveDate,
) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    if record.held_on > today {
        errors.push(FieldError::new(
            "$.held_on",
            "record a follow-up after it was held",
        ));
    }
    check_covers_each(
        record.goal_outcomes.iter().map(|g| g.goal_id.as_str()),
        open_goals,
        "$.goal_outcomes",
        "goal_id",
        "an open goal of this plan",
        &mut errors,
    );
    check_covers_each(
        record
            .intervention_reviews
            .iter()
            .map(|r| r.intervention_id.as_str()),
        open_interventions,
        "$.intervention_reviews",
        "intervention_id",
        "an open intervention of this plan",
        &mut errors,
    );
    match record.decision {
        Decision::Continue => match &record.next_follow_up {
            None => errors.push(FieldError::new(
                "$.next_follow_up",
                "to continue, set the next follow-up",
            )),
            Some(next) if next.date <= today => errors.push(FieldError::new(
                "$.next_follow_up.date",
                "the next follow-up must lie in the future",
            )),
            Some(_) => {}
        },
        Decision::Close if record.closing_reason.is_none() => errors.push(FieldError::new(
            "$.closing_reason",
            "to close, give the reason",
        )),
        _ => {}
    }
    if record.decision != Decision::Close && record.closing_reason.is_some() {
        errors.push(FieldError::new(
            "$.closing_reason",
            "only a decision to close has a closing reason",
        ));
    }
    errors_or(errors)
}

/// Each listed id must be one of `expected`, once, and every expected id must be listed.
fn check_covers_each<'a>(
    listed: impl Iterator<Item = &'a str>,
    expected: &[String],
    path: &str,
    id_field: &str,
    what: &str,
    errors: &mut Vec<FieldError>,
) {
    let mut seen = HashSet::new();
    for (i, id) in listed.enumerate() {
        if !expected.iter().any(|e| e == id) {
            errors.push(FieldError::new(
                format!("{path}[{i}].{id_field}"),
                format!("not {what}"),
            ));
        } else if !seen.insert(id) {
            errors.push(FieldError::new(
                format!("{path}[{i}].{id_field}"),
                "listed twice",
            ));
        }
    }
    let missing = expected
        .iter()
        .filter(|e| !seen.contains(e.as_str()))
        .count();
    if missing > 0 {
        errors.push(FieldError::new(
            path,
            format!("{missing} missing: every {what} must be listed"),
        ));
    }
}

/// What happens to an intervention that was open when the revision began.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CarryOver {
    /// It continues in the revised plan.
    CarryOver,
    /// It ends; `reason` is required.
    Cancel,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct InterventionDecision {
    /// The intervention's id (in an `ImportRecord`: the record's own `external_id` of it).
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub intervention_id: String,
    pub decision: CarryOver,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000, nullable = false)]
    pub reason: Option<String>,
}

/// Completes a revision: every intervention that was open when it began is carried over or
/// cancelled with a reason — none is silently left behind.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "intervention_decisions": [
        {"intervention_id": "019a8b3c-7100-7f10-8a4b-3c2d1e0f9a8b", "decision": "carry_over"},
        {"intervention_id": "019a8b3c-7101-7f10-8a4b-3c2d1e0f9a8b", "decision": "cancel", "reason": "Replaced by home care"}
    ],
    "next_follow_up": {"date": "2027-05-03", "place": "The nursing home"}
}))]
pub struct RevisionCompletion {
    #[serde(default)]
    #[validate(length(max = 100), nested)]
    #[schema(max_items = 100)]
    pub intervention_decisions: Vec<InterventionDecision>,
    #[validate(nested)]
    pub next_follow_up: FollowUpSlot,
}

pub fn check_revision(
    completion: &RevisionCompletion,
    to_review: &[String],
    open_after_revision: usize,
    today: NaiveDate,
) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    check_covers_each(
        completion
            .intervention_decisions
            .iter()
            .map(|d| d.intervention_id.as_str()),
        to_review,
        "$.intervention_decisions",
        "intervention_id",
        "an intervention that was open when the revision began",
        &mut errors,
    );
    for (i, d) in completion.intervention_decisions.iter().enumerate() {
        if d.decision == CarryOver::Cancel && blank(&d.reason) {
            errors.push(FieldError::new(
                format!("$.intervention_decisions[{i}].reason"),
                "say why it is cancelled",
            ));
        }
    }
    if completion.next_follow_up.date <= today {
        errors.push(FieldError::new(
            "$.next_follow_up.date",
            "the next follow-up must lie in the future",
        ));
    }
    if open_after_revision == 0 {
        errors.push(FieldError::new(
            "plan.interventions",
            "the revised plan needs at least one intervention; to end coordination, close the plan",
        ));
    }
    errors_or(errors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn a_follow_up_covers_every_open_goal_and_intervention() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let record = FollowUpRecord {
            held_on: today,
            goal_outcomes: vec![GoalOutcome {
                goal_id: "g1".into(),
                outcome: GoalOutcomeValue::PartlyFulfilled,
            }],
            intervention_reviews: vec![],
            new_circumstances: None,
            decision: Decision::Continue,
            next_follow_up: None,
            closing_reason: None,
            closing_note: None,
        };
        let errors = check_follow_up(&record, &["g1".into(), "g2".into()], &["i1".into()], today)
            .unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "$.goal_outcomes",
                "$.intervention_reviews",
                "$.next_follow_up"
            ]
        );
    }

    #[test]
    fn a_revision_reviews_every_open_intervention() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let completion = RevisionCompletion {
            intervention_decisions: vec![InterventionDecision {
                intervention_id: "i1".into(),
                decision: CarryOver::Cancel,
                reason: None,
            }],
            next_follow_up: FollowUpSlot {
                date: today + Duration::days(30),
                place: "x".into(),
            },
        };
        let errors =
            check_revision(&completion, &["i1".into(), "i2".into()], 1, today).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "$.intervention_decisions",
                "$.intervention_decisions[0].reason"
            ]
        );
    }
}
