//! The plan's lifecycle: its states, the actions each state allows, and the transitions.
//!
//! | state | meaning | actions |
//! |---|---|---|
//! | `need_identified` | a need for coordination was seen; no consent yet | `update`, `record_consent` (given → `consented`, refused → `refused`), `close` |
//! | `consented` | consent given; the meeting is prepared | `update`, `record_consent`, `withdraw_consent`, `edit_content`, `send_summons` (→ `summoned`), `close` |
//! | `summoned` | summons sent; waiting for answers and the meeting | `update`, `record_consent`, `withdraw_consent`, `edit_content`, `send_summons`, `answer_summons`, `prepare_for_meeting` (the individual, through an e-service), `record_meeting` (→ `established`), `close` |
//! | `established` | the plan applies: interventions are carried out and followed up | `update`, `record_consent`, `withdraw_consent`, `answer_summons`, `update_intervention_status`, `schedule_follow_up`, `record_follow_up` (continue; revise → `revising`; close → `closed`), `close` |
//! | `revising` | a follow-up decided to revise: goals and interventions may change | `update`, `record_consent`, `withdraw_consent`, `edit_content`, `update_intervention_status`, `complete_revision` (→ `established`), `close` |
//! | `closed` | the plan no longer applies; read-only | — |
//! | `refused` | the individual did not consent; the refusal is documented; read-only | — |
//!
//! A consent recorded as given moves a new plan to `consented`; in every later open state it is a
//! renewal or extension and keeps the plan where it is. Withdrawing consent closes the plan from
//! any open state. The table is [`next_status`]; the list above is tested against it pair by pair. Only the server moves the status:
//! clients take actions, and this module decides.

use crate::error::Error;

crate::domain::text_enum! {
    /// Where the plan is in the SIP process.
    pub enum PlanStatus {
        /// Behov identifierat: a need for coordination was seen; consent is not yet recorded.
        NeedIdentified => "need_identified",
        /// Samtycke inhämtat: consent was given; the meeting is being prepared.
        Consented => "consented",
        /// Kallad: summons sent; answers and the meeting are pending.
        Summoned => "summoned",
        /// Upprättad: the meeting established the plan; it is carried out and followed up.
        Established => "established",
        /// Under revidering: a follow-up decided to revise the plan.
        Revising => "revising",
        /// Avslutad: the plan no longer applies (see `closing_reason`). Read-only.
        Closed => "closed",
        /// Samtycke nekat: the individual did not consent; the refusal is documented. Read-only.
        Refused => "refused",
    }
}

crate::domain::text_enum! {
    /// Why a plan was closed.
    pub enum ClosingReason {
        /// The goals are met.
        GoalsMet => "goals_met",
        /// Coordination is no longer needed.
        CoordinationNoLongerNeeded => "coordination_no_longer_needed",
        /// The consent was withdrawn (only through withdrawing the consent).
        ConsentWithdrawn => "consent_withdrawn",
        /// A new plan replaces this one (e.g. the long-term goal changed much).
        ReplacedByNewPlan => "replaced_by_new_plan",
        /// Consent was refused; the plan never started (status `refused`).
        ConsentRefused => "consent_refused",
        /// Another reason, given in `closing_note`.
        Other => "other",
    }
}

impl ClosingReason {
    /// Reasons a client may give when closing; the other two follow from consent actions.
    pub fn is_chosen_by_client(self) -> bool {
        !matches!(
            self,
            ClosingReason::ConsentWithdrawn | ClosingReason::ConsentRefused
        )
    }
}

crate::domain::text_enum! {
    /// What a client can ask of a plan.
    pub enum PlanAction {
        Update => "update",
        RecordConsent => "record_consent",
        WithdrawConsent => "withdraw_consent",
        EditContent => "edit_content",
        SendSummons => "send_summons",
        AnswerSummons => "answer_summons",
        /// The individual writes their questions for the meeting (through an e-service).
        PrepareForMeeting => "prepare_for_meeting",
        RecordMeeting => "record_meeting",
        UpdateInterventionStatus => "update_intervention_status",
        ScheduleFollowUp => "schedule_follow_up",
        RecordFollowUp => "record_follow_up",
        CompleteRevision => "complete_revision",
        Close => "close",
    }
}

/// Declares [`Step`] and its list [`Step::ALL`] from one list of variants.
macro_rules! steps {
    ($($name:ident),+ $(,)?) => {
        /// One step of the process, as finely as the lifecycle tells them apart: the API's
        /// actions, with the outcome of a consent and the decision of a follow-up made explicit.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Step {
            $($name),+
        }

        impl Step {
            /// Every step, in the order of the table's columns.
            pub const ALL: &'static [Step] = &[$(Step::$name),+];
        }
    };
}

steps!(
    Update,
    GiveConsent,
    RefuseConsent,
    WithdrawConsent,
    EditContent,
    SendSummons,
    AnswerSummons,
    PrepareForMeeting,
    RecordMeeting,
    UpdateInterventionStatus,
    ScheduleFollowUp,
    FollowUpContinues,
    FollowUpRevises,
    FollowUpCloses,
    CompleteRevision,
    Close,
);

impl Step {
    /// The action a client takes for this step (what `allowed_actions` names).
    pub fn action(self) -> PlanAction {
        match self {
            Step::Update => PlanAction::Update,
            Step::GiveConsent | Step::RefuseConsent => PlanAction::RecordConsent,
            Step::WithdrawConsent => PlanAction::WithdrawConsent,
            Step::EditContent => PlanAction::EditContent,
            Step::SendSummons => PlanAction::SendSummons,
            Step::AnswerSummons => PlanAction::AnswerSummons,
            Step::PrepareForMeeting => PlanAction::PrepareForMeeting,
            Step::RecordMeeting => PlanAction::RecordMeeting,
            Step::UpdateInterventionStatus => PlanAction::UpdateInterventionStatus,
            Step::ScheduleFollowUp => PlanAction::ScheduleFollowUp,
            Step::FollowUpContinues | Step::FollowUpRevises | Step::FollowUpCloses => {
                PlanAction::RecordFollowUp
            }
            Step::CompleteRevision => PlanAction::CompleteRevision,
            Step::Close => PlanAction::Close,
        }
    }
}

/// **The lifecycle table**: the status a plan in `status` has after `step`, or `None` when the
/// step is not allowed there. Every use case and the import ask this one function (through
/// [`apply`]); none of them picks a status itself. Steps that are not a move keep the status:
/// a renewed consent, for one, extends access and leaves the plan where it is.
pub fn next_status(status: PlanStatus, step: Step) -> Option<PlanStatus> {
    use PlanStatus::*;
    use Step as S;
    let next = match (status, step) {
        (Closed | Refused, _) => return None,
        (_, S::Update) => status,
        (_, S::Close) => Closed,
        (NeedIdentified, S::GiveConsent) => Consented,
        (NeedIdentified, S::RefuseConsent) => Refused,
        (_, S::GiveConsent) => status,
        (NeedIdentified, S::WithdrawConsent) => return None,
        (_, S::WithdrawConsent) => Closed,
        (Consented | Summoned | Revising, S::EditContent) => status,
        (Consented | Summoned, S::SendSummons) => Summoned,
        (Summoned | Established, S::AnswerSummons) => status,
        (Summoned, S::PrepareForMeeting) => status,
        (Summoned, S::RecordMeeting) => Established,
        (Established | Revising, S::UpdateInterventionStatus) => status,
        (Established, S::ScheduleFollowUp | S::FollowUpContinues) => status,
        (Established, S::FollowUpRevises) => Revising,
        (Established, S::FollowUpCloses) => Closed,
        (Revising, S::CompleteRevision) => Established,
        _ => return None,
    };
    Some(next)
}

impl PlanStatus {
    /// The actions the table allows in this state, in the order of [`Step::ALL`]: read off
    /// [`next_status`] once for every status (each listed plan asks twice), not per call.
    pub fn allowed_actions(self) -> &'static [PlanAction] {
        static BY_STATUS: std::sync::OnceLock<Vec<(PlanStatus, Vec<PlanAction>)>> =
            std::sync::OnceLock::new();
        BY_STATUS
            .get_or_init(|| {
                PlanStatus::ALL
                    .iter()
                    .map(|&status| (status, status.actions_by_the_table()))
                    .collect()
            })
            .iter()
            .find(|(status, _)| *status == self)
            .map_or(&[], |(_, actions)| actions.as_slice())
    }

    fn actions_by_the_table(self) -> Vec<PlanAction> {
        let mut actions = Vec::new();
        for &step in Step::ALL {
            if next_status(self, step).is_some() && !actions.contains(&step.action()) {
                actions.push(step.action());
            }
        }
        actions
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
        Err(self.conflict(format!(
            "cannot {}: {why}",
            action.as_str().replace('_', " ")
        )))
    }

    /// A 409 carrying this state and its allowed actions.
    pub fn conflict(self, detail: String) -> Error {
        Error::InvalidState {
            detail,
            current_state: self.as_str().into(),
            allowed_actions: self
                .allowed_actions()
                .iter()
                .map(|a| a.as_str().to_string())
                .collect(),
        }
    }
}

/// A move of the plan's status, with the reason when it closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub from: PlanStatus,
    pub to: PlanStatus,
    pub closing_reason: Option<ClosingReason>,
}

/// Takes `step` on a plan in `status`, as the lifecycle table says, or refuses with a 409 that
/// names the allowed actions. The closing reason of the steps that close by themselves is set
/// here; a closing by decision gets its reason from [`on_close`].
pub fn apply(status: PlanStatus, step: Step) -> Result<Transition, Error> {
    let Some(to) = next_status(status, step) else {
        status.ensure_allows(step.action())?;
        // The action is allowed here, but not with this outcome.
        return Err(match step {
            Step::RefuseConsent => status.conflict(
                "consent has already been given for this plan: to record that the individual no longer consents, withdraw the consent".into(),
            ),
            _ => status.conflict(format!(
                "cannot {} this way in state {status}",
                step.action().as_str().replace('_', " ")
            )),
        });
    };
    let closing_reason = match step {
        Step::RefuseConsent => Some(ClosingReason::ConsentRefused),
        Step::WithdrawConsent => Some(ClosingReason::ConsentWithdrawn),
        _ => None,
    };
    Ok(Transition {
        from: status,
        to,
        closing_reason,
    })
}

/// Recording a consent's outcome. A refusal is documented before the process starts (step 1 of
/// the guidelines); once consent has been given, the individual says no by withdrawing it. A
/// renewed or extended consent keeps the plan where it is.
pub fn on_consent_recorded(status: PlanStatus, given: bool) -> Result<Transition, Error> {
    apply(
        status,
        if given {
            Step::GiveConsent
        } else {
            Step::RefuseConsent
        },
    )
}

/// Closing by decision (at a follow-up or otherwise) needs one of the client's reasons, and a note
/// when the reason is `other`.
pub fn on_close(
    status: PlanStatus,
    step: Step,
    reason: ClosingReason,
    note: Option<&str>,
) -> Result<Transition, Error> {
    let moved = apply(status, step)?;
    if !reason.is_chosen_by_client() {
        return Err(Error::validation(
            "$.reason",
            "consent_withdrawn and consent_refused follow from withdrawing or refusing consent; use those actions",
        ));
    }
    if reason == ClosingReason::Other && note.is_none_or(|n| n.trim().is_empty()) {
        return Err(Error::validation(
            "$.note",
            "closing for another reason needs a note saying why",
        ));
    }
    Ok(Transition {
        closing_reason: Some(reason),
        ..moved
    })
}

/// Withdrawing consent ends the plan (DOMAIN: "withdrawal ends the plan").
pub fn on_consent_withdrawn(status: PlanStatus) -> Result<Transition, Error> {
    apply(status, Step::WithdrawConsent)
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
    fn withdrawal_is_possible_in_every_open_state_but_the_first() {
        for status in [
            PlanStatus::Consented,
            PlanStatus::Summoned,
            PlanStatus::Established,
            PlanStatus::Revising,
        ] {
            assert_eq!(
                on_consent_withdrawn(status).unwrap().to,
                PlanStatus::Closed,
                "{status}"
            );
        }
    }

    #[test]
    fn closing_needs_a_clients_reason_and_a_note_for_other() {
        let close = |status, reason, note| on_close(status, Step::Close, reason, note);
        assert!(close(PlanStatus::Established, ClosingReason::GoalsMet, None).is_ok());
        assert!(close(PlanStatus::Established, ClosingReason::Other, None).is_err());
        assert!(close(
            PlanStatus::Established,
            ClosingReason::Other,
            Some("moved abroad")
        )
        .is_ok());
        assert!(close(
            PlanStatus::Established,
            ClosingReason::ConsentWithdrawn,
            None
        )
        .is_err());
        assert!(close(PlanStatus::Closed, ClosingReason::GoalsMet, None).is_err());
    }

    /// The lifecycle as documented at the top of this module, written out pair by pair: `=` keeps
    /// the status, a status is where the step leads, `-` is refused. Every (status, step) pair of
    /// the table is checked against it, so a change of the table is a change of this test.
    #[test]
    fn the_table_is_the_documented_lifecycle_for_every_status_and_step() {
        use PlanStatus::*;
        // Steps in the order of Step::ALL:
        // update, give, refuse, withdraw, edit, summon, answer, prepare, meeting, intervention status,
        // schedule follow-up, follow-up continue / revise / close, complete revision, close.
        let expected: [(PlanStatus, [&str; 16]); 7] = [
            (
                NeedIdentified,
                [
                    "=",
                    "consented",
                    "refused",
                    "-",
                    "-",
                    "-",
                    "-",
                    "-",
                    "-",
                    "-",
                    "-",
                    "-",
                    "-",
                    "-",
                    "-",
                    "closed",
                ],
            ),
            (
                Consented,
                [
                    "=", "=", "-", "closed", "=", "summoned", "-", "-", "-", "-", "-", "-", "-",
                    "-", "-", "closed",
                ],
            ),
            (
                Summoned,
                [
                    "=",
                    "=",
                    "-",
                    "closed",
                    "=",
                    "=",
                    "=",
                    "=",
                    "established",
                    "-",
                    "-",
                    "-",
                    "-",
                    "-",
                    "-",
                    "closed",
                ],
            ),
            (
                Established,
                [
                    "=", "=", "-", "closed", "-", "-", "=", "-", "-", "=", "=", "=", "revising",
                    "closed", "-", "closed",
                ],
            ),
            (
                Revising,
                [
                    "=",
                    "=",
                    "-",
                    "closed",
                    "=",
                    "-",
                    "-",
                    "-",
                    "-",
                    "=",
                    "-",
                    "-",
                    "-",
                    "-",
                    "established",
                    "closed",
                ],
            ),
            (Closed, ["-"; 16]),
            (Refused, ["-"; 16]),
        ];
        assert_eq!(expected.len(), PlanStatus::ALL.len());
        for (status, row) in expected {
            for (&step, want) in Step::ALL.iter().zip(row) {
                let got = match next_status(status, step) {
                    None => "-".to_string(),
                    Some(to) if to == status => "=".to_string(),
                    Some(to) => to.as_str().to_string(),
                };
                assert_eq!(got, want, "{status} / {step:?}");
                // apply() answers as the table does, refusing with the allowed actions.
                match (apply(status, step), want) {
                    (
                        Err(Error::InvalidState {
                            allowed_actions,
                            current_state,
                            ..
                        }),
                        "-",
                    ) => {
                        assert_eq!(current_state, status.as_str());
                        let allowed: Vec<String> = status
                            .allowed_actions()
                            .iter()
                            .map(|a| a.as_str().to_string())
                            .collect();
                        assert_eq!(allowed_actions, allowed);
                    }
                    (Ok(t), w) if w != "-" => assert_eq!(t.from, status),
                    (other, _) => panic!("{status} / {step:?}: {other:?}"),
                }
            }
        }
    }

    #[test]
    fn a_renewed_consent_keeps_the_plan_where_it_is() {
        for status in [
            PlanStatus::Consented,
            PlanStatus::Summoned,
            PlanStatus::Established,
            PlanStatus::Revising,
        ] {
            let t = on_consent_recorded(status, true).unwrap();
            assert_eq!((t.from, t.to), (status, status));
        }
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
