//! The plan's lifecycle: its states, the actions each state allows, and the transitions.
//!
//! | state | meaning | actions |
//! |---|---|---|
//! | `need_identified` | a need for coordination was seen; consent not yet recorded | `update`, `record_consent` (given → `consented`, refused → `refused`) |
//! | `consented` | the individual (or guardian, representative) consented | `update`, `record_consent`, `withdraw_consent` (→ `closed`) |
//! | `closed` | the plan no longer applies; read-only | — |
//! | `refused` | the individual said no; the refusal is documented; read-only | — |
//!
//! Only the server moves the status: clients take actions, and this module decides.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::Error;

/// Where the plan is in the SIP process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlanStatus {
    /// Behov identifierat: a need for coordination was seen; consent is not yet recorded.
    NeedIdentified,
    /// Samtycke inhämtat: consent was given; summons may be prepared.
    Consented,
    /// Avslutad: the plan no longer applies (see `closing_reason`). Read-only.
    Closed,
    /// Samtycke nekat: the individual did not consent; the refusal is documented. Read-only.
    Refused,
}

super::text_enum!(PlanStatus {
    NeedIdentified => "need_identified",
    Consented => "consented",
    Closed => "closed",
    Refused => "refused",
});

/// Why a plan was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClosingReason {
    /// The goals are met.
    GoalsMet,
    /// Coordination is no longer needed.
    CoordinationNoLongerNeeded,
    /// The consent was withdrawn.
    ConsentWithdrawn,
    /// A new plan replaces this one (e.g. the long-term goal changed).
    ReplacedByNewPlan,
    /// Consent was refused; the plan never started (status `refused`).
    ConsentRefused,
    /// Another reason, given in `closing_note`.
    Other,
}

super::text_enum!(ClosingReason {
    GoalsMet => "goals_met",
    CoordinationNoLongerNeeded => "coordination_no_longer_needed",
    ConsentWithdrawn => "consent_withdrawn",
    ReplacedByNewPlan => "replaced_by_new_plan",
    ConsentRefused => "consent_refused",
    Other => "other",
});

/// What a client can ask of a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlanAction {
    Update,
    RecordConsent,
    WithdrawConsent,
}

super::text_enum!(PlanAction {
    Update => "update",
    RecordConsent => "record_consent",
    WithdrawConsent => "withdraw_consent",
});

impl PlanStatus {
    pub fn allowed_actions(self) -> &'static [PlanAction] {
        use PlanAction::*;
        match self {
            PlanStatus::NeedIdentified => &[Update, RecordConsent],
            PlanStatus::Consented => &[Update, RecordConsent, WithdrawConsent],
            PlanStatus::Closed | PlanStatus::Refused => &[],
        }
    }

    pub fn is_read_only(self) -> bool {
        self.allowed_actions().is_empty()
    }

    /// 409 with the current state and the allowed actions when `action` is not allowed.
    pub fn ensure_allows(self, action: PlanAction) -> Result<(), Error> {
        if self.allowed_actions().contains(&action) {
            return Ok(());
        }
        let why = if self.is_read_only() {
            format!("the plan is {self} and read-only")
        } else {
            format!("a plan in state {self} does not allow this")
        };
        Err(Error::InvalidState {
            detail: format!("cannot {}: {why}", action.as_str().replace('_', " ")),
            current_state: self.as_str().into(),
            allowed_actions: self
                .allowed_actions()
                .iter()
                .map(|a| a.as_str().to_string())
                .collect(),
        })
    }
}

/// A move of the plan's status, with the reason when it closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub from: PlanStatus,
    pub to: PlanStatus,
    pub closing_reason: Option<ClosingReason>,
}

/// Recording a consent's outcome. A refusal is documented before the process starts (step 1 of
/// the guidelines); once consent has been given, the individual says no by withdrawing it.
pub fn on_consent_recorded(status: PlanStatus, given: bool) -> Result<Transition, Error> {
    status.ensure_allows(PlanAction::RecordConsent)?;
    let (to, closing_reason) = match (status, given) {
        (_, true) => (PlanStatus::Consented, None),
        (PlanStatus::NeedIdentified, false) => (PlanStatus::Refused, Some(ClosingReason::ConsentRefused)),
        (_, false) => {
            return Err(Error::InvalidState {
                detail: "consent has already been given for this plan: to record that the individual no longer consents, withdraw the consent".into(),
                current_state: status.as_str().into(),
                allowed_actions: status.allowed_actions().iter().map(|a| a.as_str().into()).collect(),
            })
        }
    };
    Ok(Transition {
        from: status,
        to,
        closing_reason,
    })
}

/// Withdrawing consent ends the plan (DOMAIN: "withdrawal ends the plan").
pub fn on_consent_withdrawn(status: PlanStatus) -> Result<Transition, Error> {
    status.ensure_allows(PlanAction::WithdrawConsent)?;
    Ok(Transition {
        from: status,
        to: PlanStatus::Closed,
        closing_reason: Some(ClosingReason::ConsentWithdrawn),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_consent_moves_a_new_plan_to_consented() {
        let t = on_consent_recorded(PlanStatus::NeedIdentified, true).unwrap();
        assert_eq!(t.to, PlanStatus::Consented);
        assert_eq!(t.closing_reason, None);
        // A further consent (e.g. an extension) keeps the plan consented.
        assert_eq!(
            on_consent_recorded(PlanStatus::Consented, true).unwrap().to,
            PlanStatus::Consented
        );
    }

    #[test]
    fn refusal_before_consent_refuses_the_plan_but_after_consent_must_be_a_withdrawal() {
        let t = on_consent_recorded(PlanStatus::NeedIdentified, false).unwrap();
        assert_eq!(
            (t.to, t.closing_reason),
            (PlanStatus::Refused, Some(ClosingReason::ConsentRefused))
        );
        assert!(matches!(
            on_consent_recorded(PlanStatus::Consented, false),
            Err(Error::InvalidState { .. })
        ));
    }

    #[test]
    fn withdrawal_closes_and_needs_a_consented_plan() {
        let t = on_consent_withdrawn(PlanStatus::Consented).unwrap();
        assert_eq!(
            (t.to, t.closing_reason),
            (PlanStatus::Closed, Some(ClosingReason::ConsentWithdrawn))
        );
        assert!(on_consent_withdrawn(PlanStatus::NeedIdentified).is_err());
    }

    #[test]
    fn closed_and_refused_plans_are_read_only_and_say_so() {
        for status in [PlanStatus::Closed, PlanStatus::Refused] {
            assert!(status.is_read_only());
            match status.ensure_allows(PlanAction::Update) {
                Err(Error::InvalidState {
                    current_state,
                    allowed_actions,
                    detail,
                }) => {
                    assert_eq!(current_state, status.as_str());
                    assert!(allowed_actions.is_empty());
                    assert!(detail.contains("read-only"));
                }
                other => panic!("expected InvalidState, got {other:?}"),
            }
        }
    }
}

/// What the initiating unit records when it opens a plan, and may later update.
#[derive(Debug, Clone)]
pub struct PlanDetails {
    pub need_reason: String,
    pub what_matters: Option<String>,
    pub topics_to_avoid: Vec<String>,
    pub follows_discharge: bool,
    pub discharge_ready_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// A plan after in-patient care carries the time the patient was notified ready for discharge
/// (utskrivningsklar): the 3-day summons deadline runs from it. Without a discharge there is none.
pub fn check_details(
    details: &PlanDetails,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<crate::error::FieldError> {
    use crate::error::FieldError;
    let mut errors = Vec::new();
    match (details.follows_discharge, details.discharge_ready_at) {
        (true, None) => errors.push(FieldError::new(
            "$.discharge_ready_at",
            "a plan after discharge from in-patient care needs the time the patient was ready for discharge",
        )),
        (false, Some(_)) => errors.push(FieldError::new(
            "$.discharge_ready_at",
            "only a plan that follows a discharge (follows_discharge: true) has a discharge-ready time",
        )),
        (true, Some(at)) if at > now + chrono::Duration::minutes(5) => errors.push(FieldError::new(
            "$.discharge_ready_at",
            "the discharge-ready notice cannot lie in the future",
        )),
        _ => {}
    }
    if details.need_reason.trim().is_empty() {
        errors.push(FieldError::new(
            "$.need_reason",
            "say why coordination is needed",
        ));
    }
    errors
}

#[cfg(test)]
mod details_tests {
    use super::*;
    use chrono::{Duration, Utc};

    fn details(follows: bool, at: Option<chrono::DateTime<Utc>>) -> PlanDetails {
        PlanDetails {
            need_reason: "needs from both principals".into(),
            what_matters: None,
            topics_to_avoid: vec![],
            follows_discharge: follows,
            discharge_ready_at: at,
        }
    }

    #[test]
    fn discharge_time_goes_with_a_discharge_and_not_in_the_future() {
        let now = Utc::now();
        assert!(check_details(&details(false, None), now).is_empty());
        assert!(check_details(&details(true, Some(now - Duration::hours(2))), now).is_empty());
        for bad in [
            details(true, None),
            details(false, Some(now)),
            details(true, Some(now + Duration::days(1))),
        ] {
            assert_eq!(check_details(&bad, now)[0].field, "$.discharge_ready_at");
        }
    }
}
