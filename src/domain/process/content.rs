//! The plan's content: goals (mål, delmål) and interventions (insatser), and an intervention's status.

use std::collections::HashSet;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::meeting::normalise_hsa;
use super::{blank, errors_or};
use crate::error::FieldError;

crate::domain::text_enum! {
    /// Where a goal stands; set by follow-ups (`dropped` when a revision removes it).
    pub enum GoalStatus {
        Active => "active",
        Fulfilled => "fulfilled",
        PartlyFulfilled => "partly_fulfilled",
        NotFulfilled => "not_fulfilled",
        Dropped => "dropped",
    }
}

impl GoalStatus {
    /// Goals still worked towards: each follow-up says how they went.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            GoalStatus::Active | GoalStatus::PartlyFulfilled | GoalStatus::NotFulfilled
        )
    }
}

/// A goal: something *the individual* does. Without `parent_id` a long-term goal, with one a
/// sub-goal of it (delmål).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"text": "Lisa gets up and ready in the morning", "measure": "days a week", "target_date": "2027-03-01"}))]
pub struct GoalInput {
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000)]
    pub text: String,
    /// How it is measured (SMART: measurable).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(length(min = 1, max = 1000))]
    #[schema(min_length = 1, max_length = 1000, nullable = false)]
    pub measure: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub target_date: Option<NaiveDate>,
    /// The id of the long-term goal this is a sub-goal of (in an `ImportRecord`: the record's own `external_id` of it). Cannot change after
    /// creation.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(length(min = 1, max = 200))]
    #[schema(nullable = false, min_length = 1, max_length = 200)]
    pub parent_id: Option<String>,
}

crate::domain::text_enum! {
    /// Who is responsible for an intervention.
    pub enum ResponsibleParty {
        Region => "region",
        Municipality => "municipality",
        /// Another actor, e.g. Arbetsförmedlingen or the school.
        Other => "other",
        /// The individual themself.
        Individual => "individual",
    }
}

crate::domain::text_enum! {
    pub enum InterventionStatus {
        Planned => "planned",
        Ongoing => "ongoing",
        Completed => "completed",
        /// Cancelled, with a reason (e.g. at a revision).
        Cancelled => "cancelled",
        /// Agreed but not carried out, with a reason: a deviation in the guidelines' sense.
        NotCarriedOut => "not_carried_out",
    }
}

impl InterventionStatus {
    pub fn is_open(self) -> bool {
        matches!(
            self,
            InterventionStatus::Planned | InterventionStatus::Ongoing
        )
    }

    pub fn is_final(self) -> bool {
        matches!(
            self,
            InterventionStatus::Completed | InterventionStatus::Cancelled
        )
    }
}

/// An intervention (insats): what is done, by whom, when, how often, where.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "description": "Housing support three times a week",
    "goal_ids": [],
    "responsible": "municipality",
    "responsible_unit": "SE2120001314-SOC1",
    "performer": "Boendestödet",
    "start_date": "2026-12-07",
    "frequency": "3 times a week",
    "place": "Lisa's home"
}))]
pub struct InterventionInput {
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000)]
    pub description: String,
    /// The ids of the goals it serves (in an `ImportRecord`: the record's own `external_id` of each).
    #[serde(default)]
    #[validate(
        length(max = 20),
        custom(function = "crate::domain::each_reference_fits")
    )]
    #[schema(max_items = 20, value_type = Vec<crate::domain::Reference>)]
    pub goal_ids: Vec<String>,
    pub responsible: ResponsibleParty,
    /// The responsible unit (HSA-id): required for a region or municipality.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(
        nullable = false,
        pattern = "^[Ss][Ee][0-9]{10}-[A-Za-z0-9]+$",
        min_length = 14,
        max_length = 31
    )]
    pub responsible_unit: Option<String>,
    /// The responsible actor's name, for `other` without an HSA-id.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200, nullable = false)]
    pub responsible_actor: Option<String>,
    /// Who performs it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200, nullable = false)]
    pub performer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub start_date: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200, nullable = false)]
    pub frequency: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(length(min = 1, max = 500))]
    #[schema(min_length = 1, max_length = 500, nullable = false)]
    pub place: Option<String>,
}

pub fn check_intervention(
    input: &mut InterventionInput,
    plan_goals: &[String],
) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    normalise_hsa(
        &mut input.responsible_unit,
        "$.responsible_unit",
        &mut errors,
    );
    match input.responsible {
        ResponsibleParty::Region | ResponsibleParty::Municipality
            if input.responsible_unit.is_none() =>
        {
            errors.push(FieldError::new(
                "$.responsible_unit",
                "name the responsible unit of the region or municipality",
            ))
        }
        ResponsibleParty::Other
            if input.responsible_unit.is_none() && blank(&input.responsible_actor) =>
        {
            errors.push(FieldError::new(
                "$.responsible_actor",
                "name the responsible actor",
            ))
        }
        _ => {}
    }
    let mut seen = HashSet::new();
    for (i, goal) in input.goal_ids.iter().enumerate() {
        if !plan_goals.contains(goal) {
            errors.push(FieldError::new(
                format!("$.goal_ids[{i}]"),
                "not a goal of this plan",
            ));
        } else if !seen.insert(goal) {
            errors.push(FieldError::new(format!("$.goal_ids[{i}]"), "listed twice"));
        }
    }
    errors_or(errors)
}

/// A change of an intervention's status.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "not_carried_out", "reason": "No work-training place was available"}))]
pub struct InterventionStatusChange {
    pub status: InterventionStatus,
    /// Required for `cancelled` and `not_carried_out`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000, nullable = false)]
    pub reason: Option<String>,
}

pub fn check_status_change(
    current: InterventionStatus,
    change: &InterventionStatusChange,
) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    if current.is_final() {
        errors.push(FieldError::new(
            "$.status",
            format!("the intervention is {current}; that is final"),
        ));
    } else if change.status == current {
        errors.push(FieldError::new(
            "$.status",
            format!("the intervention is already {current}"),
        ));
    }
    let needs_reason = matches!(
        change.status,
        InterventionStatus::Cancelled | InterventionStatus::NotCarriedOut
    );
    if needs_reason && blank(&change.reason) {
        errors.push(FieldError::new(
            "$.reason",
            format!("say why the intervention is {}", change.status),
        ));
    }
    errors_or(errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervention_status_rules() {
        let change = |status, reason: Option<&str>| InterventionStatusChange {
            status,
            reason: reason.map(String::from),
        };
        assert!(check_status_change(
            InterventionStatus::Planned,
            &change(InterventionStatus::Ongoing, None)
        )
        .is_ok());
        assert!(check_status_change(
            InterventionStatus::Ongoing,
            &change(InterventionStatus::NotCarriedOut, None)
        )
        .is_err());
        assert!(check_status_change(
            InterventionStatus::Ongoing,
            &change(InterventionStatus::NotCarriedOut, Some("no staff"))
        )
        .is_ok());
        assert!(check_status_change(
            InterventionStatus::Completed,
            &change(InterventionStatus::Ongoing, None)
        )
        .is_err());
        assert!(check_status_change(
            InterventionStatus::NotCarriedOut,
            &change(InterventionStatus::Ongoing, None)
        )
        .is_ok());
    }
}
