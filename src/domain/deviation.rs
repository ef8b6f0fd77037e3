//! Deviations (avvikelser): when the process or the plan is not followed. A deviation is reported by
//! a unit, concerns a unit or principal, is analysed locally and closed; the concerned unit owes
//! feedback within a set time. Some are filed automatically from what the process records, in the
//! status `suggested` that the reporting unit confirms or dismisses.
//!
//! | status | actions (who) |
//! |---|---|
//! | `suggested` | `confirm` → `reported`, `dismiss` → `dismissed` (reporting unit) |
//! | `reported` | `investigate` → `under_investigation` (either unit), `give_feedback` (concerned unit), `close` → `closed` (reporting unit), `update` |
//! | `under_investigation` | `give_feedback` (concerned unit), `close` → `closed` (reporting unit), `update` |
//! | `closed`, `dismissed` | — |

use crate::domain::calendar::swedish_date;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::identity::HsaId;
use super::Principal;
use crate::error::{Error, FieldError};

crate::domain::text_enum! {
    pub enum Category {
        /// A summoned unit did not attend the meeting.
        SummonedUnitAbsent => "summoned_unit_absent",
        /// A summons was not answered.
        SummonsNotAnswered => "summons_not_answered",
        /// A summons was sent late (e.g. more than 3 days after the discharge-ready notice).
        SummonsLate => "summons_late",
        /// An agreed intervention was not carried out.
        InterventionNotCarriedOut => "intervention_not_carried_out",
        /// A follow-up was not held.
        FollowUpNotHeld => "follow_up_not_held",
        /// The individual did not get the plan.
        PlanNotGiven => "plan_not_given",
        /// The parties do not agree.
        PartiesDisagree => "parties_disagree",
        /// A SIP was not initiated although the need was clear.
        SipNotInitiated => "sip_not_initiated",
        /// The individual's consent was not respected.
        ConsentNotRespected => "consent_not_respected",
        /// The individual was treated badly.
        IndividualTreatedBadly => "individual_treated_badly",
        /// A guideline was not followed.
        GuidelineNotFollowed => "guideline_not_followed",
        Other => "other",
    }
}

impl Category {
    /// Deviations about a plan's own process name the plan; the others may stand alone (a SIP
    /// that was never initiated has no plan).
    pub fn needs_plan(self) -> bool {
        !matches!(
            self,
            Category::SipNotInitiated
                | Category::IndividualTreatedBadly
                | Category::GuidelineNotFollowed
                | Category::Other
        )
    }
}

crate::domain::text_enum! {
    pub enum DeviationStatus {
        /// Filed automatically; the reporting unit confirms or dismisses it.
        Suggested => "suggested",
        Reported => "reported",
        UnderInvestigation => "under_investigation",
        Closed => "closed",
        /// A suggestion the reporting unit did not confirm.
        Dismissed => "dismissed",
    }
}

crate::domain::text_enum! {
    pub enum DeviationAction {
        Confirm => "confirm",
        Dismiss => "dismiss",
        Investigate => "investigate",
        GiveFeedback => "give_feedback",
        Close => "close",
        Update => "update",
    }
}

/// The caller's part in a deviation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parties {
    pub reporting: bool,
    pub concerned: bool,
}

impl DeviationStatus {
    pub fn allowed_actions(self) -> &'static [DeviationAction] {
        use DeviationAction::*;
        match self {
            DeviationStatus::Suggested => &[Confirm, Dismiss, Update],
            DeviationStatus::Reported => &[Investigate, GiveFeedback, Close, Update],
            DeviationStatus::UnderInvestigation => &[GiveFeedback, Close, Update],
            DeviationStatus::Closed | DeviationStatus::Dismissed => &[],
        }
    }

    /// The status after `action`, if the state allows it and the caller's unit may take it.
    pub fn apply(
        self,
        action: DeviationAction,
        parties: Parties,
    ) -> Result<DeviationStatus, Error> {
        if !self.allowed_actions().contains(&action) {
            return Err(Error::InvalidState {
                detail: format!("a deviation that is {self} does not allow {action}"),
                current_state: self.as_str().into(),
                allowed_actions: self
                    .allowed_actions()
                    .iter()
                    .map(|a| a.as_str().into())
                    .collect(),
            });
        }
        let may = match action {
            DeviationAction::GiveFeedback => parties.concerned,
            DeviationAction::Investigate => parties.reporting || parties.concerned,
            _ => parties.reporting,
        };
        if !may {
            let who = if action == DeviationAction::GiveFeedback {
                "the concerned unit"
            } else {
                "the reporting unit"
            };
            return Err(Error::Forbidden(format!(
                "only {who} may {action} this deviation"
            )));
        }
        Ok(match action {
            DeviationAction::Confirm => DeviationStatus::Reported,
            DeviationAction::Dismiss => DeviationStatus::Dismissed,
            DeviationAction::Investigate => DeviationStatus::UnderInvestigation,
            DeviationAction::Close => DeviationStatus::Closed,
            DeviationAction::GiveFeedback | DeviationAction::Update => self,
        })
    }
}

/// Whether the concerned unit's feedback is late: not given by the day it was due (or given after).
pub fn feedback_late(due: NaiveDate, given_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    match given_at {
        Some(at) => swedish_date(at) > due,
        None => swedish_date(now) > due,
    }
}

/// A deviation as a unit reports it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "category": "summoned_unit_absent",
    "concerned_unit": "SE2321000016-PSY1",
    "concerned_principal": "region",
    "plan_id": "019a8b3c-5d2e-7f10-8a4b-3c2d1e0f9a8b",
    "occurred_at": "2027-02-03T09:00:00Z",
    "description": "Psychiatry did not come to the first follow-up and sent no substitute"
}))]
pub struct NewDeviation {
    pub category: Category,
    /// The unit it concerns (HSA-id), if a unit.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(
        nullable = false,
        pattern = "^[Ss][Ee][0-9]{10}-[A-Za-z0-9]+$",
        min_length = 14,
        max_length = 31
    )]
    pub concerned_unit: Option<String>,
    /// The principal it concerns.
    pub concerned_principal: Principal,
    /// The plan it concerns; required except for `sip_not_initiated`, `individual_treated_badly`,
    /// `guideline_not_followed` and `other`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Uuid, nullable = false)]
    pub plan_id: Option<String>,
    pub occurred_at: DateTime<Utc>,
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000)]
    pub description: String,
    /// A system-level issue for the regional body.
    #[serde(default)]
    pub system_level: bool,
    /// A temporary division of responsibility agreed while a dispute between principals is solved.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000, nullable = false)]
    pub temporary_division: Option<String>,
}

/// The rules of a reported deviation: the concerned unit is a real HSA-id and not the reporter's
/// own, it has already happened, and a deviation about a plan's process names the plan. Returns the
/// normalised concerned unit and every broken rule.
pub fn check_new_deviation(
    input: &NewDeviation,
    reporting_unit: &str,
    now: DateTime<Utc>,
) -> (Option<HsaId>, Vec<FieldError>) {
    let mut errors = Vec::new();
    let concerned_unit = match input.concerned_unit.as_deref().map(HsaId::parse) {
        None => None,
        Some(Ok(id)) => Some(id),
        Some(Err(m)) => {
            errors.push(FieldError::new("$.concerned_unit", m));
            None
        }
    };
    if concerned_unit.as_deref() == Some(reporting_unit) {
        errors.push(FieldError::new(
            "$.concerned_unit",
            "a unit does not report a deviation concerning itself",
        ));
    }
    if input.occurred_at > now + chrono::Duration::minutes(5) {
        errors.push(FieldError::new(
            "$.occurred_at",
            "a deviation is reported after it happened",
        ));
    }
    if input.plan_id.is_none() && input.category.needs_plan() {
        errors.push(FieldError::new(
            "$.plan_id",
            format!("a {} deviation names the plan", input.category),
        ));
    }
    (concerned_unit, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORTING: Parties = Parties {
        reporting: true,
        concerned: false,
    };
    const CONCERNED: Parties = Parties {
        reporting: false,
        concerned: true,
    };

    #[test]
    fn the_flow_and_who_may_move_it() {
        use DeviationAction::*;
        use DeviationStatus::*;
        assert_eq!(Suggested.apply(Confirm, REPORTING).unwrap(), Reported);
        assert_eq!(Suggested.apply(Dismiss, REPORTING).unwrap(), Dismissed);
        assert!(matches!(
            Suggested.apply(Confirm, CONCERNED),
            Err(Error::Forbidden(_))
        ));
        assert_eq!(
            Reported.apply(Investigate, CONCERNED).unwrap(),
            UnderInvestigation
        );
        assert_eq!(
            UnderInvestigation.apply(GiveFeedback, CONCERNED).unwrap(),
            UnderInvestigation
        );
        assert!(matches!(
            UnderInvestigation.apply(GiveFeedback, REPORTING),
            Err(Error::Forbidden(_))
        ));
        assert_eq!(UnderInvestigation.apply(Close, REPORTING).unwrap(), Closed);
        assert!(matches!(
            Closed.apply(Update, REPORTING),
            Err(Error::InvalidState { .. })
        ));
        assert!(matches!(
            Suggested.apply(Close, REPORTING),
            Err(Error::InvalidState { .. })
        ));
    }

    #[test]
    fn feedback_is_late_after_its_day() {
        let due = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let at = |d: &str| d.parse::<DateTime<Utc>>().unwrap();
        // The day ends at midnight in Sweden: 23:00 UTC in winter.
        assert!(!feedback_late(due, None, at("2026-12-01T22:59:59Z")));
        assert!(feedback_late(due, None, at("2026-12-01T23:00:00Z")));
        assert!(!feedback_late(
            due,
            Some(at("2026-11-30T10:00:00Z")),
            at("2027-01-01T00:00:00Z")
        ));
        assert!(feedback_late(
            due,
            Some(at("2026-12-05T10:00:00Z")),
            at("2027-01-01T00:00:00Z")
        ));
    }

    #[test]
    fn a_reported_deviation_is_checked_whole() {
        let now = Utc::now();
        let input = NewDeviation {
            category: Category::PlanNotGiven,
            concerned_unit: Some("se2321000016-rep1".into()),
            concerned_principal: Principal::Region,
            plan_id: None,
            occurred_at: now + chrono::Duration::days(1),
            description: "x".into(),
            system_level: false,
            temporary_division: None,
        };
        let (unit, errors) = check_new_deviation(&input, "SE2321000016-REP1", now);
        assert_eq!(unit.as_deref(), Some("SE2321000016-REP1"));
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["$.concerned_unit", "$.occurred_at", "$.plan_id"]);
    }

    #[test]
    fn plans_are_named_for_process_deviations() {
        assert!(Category::SummonedUnitAbsent.needs_plan());
        assert!(!Category::SipNotInitiated.needs_plan());
    }
}
