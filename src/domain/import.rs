//! Bulk import of existing plans: the record (one NDJSON line: one plan with everything in it), the
//! rules of its shape, and the order in which its steps happened.
//!
//! A record nests the API's own request bodies — `NewConsent`, `GoalInput`, `InterventionInput`,
//! `NewSummons`, `SummonsAnswer`, `NewMeeting`, `FollowUpRecord`, `RevisionCompletion` — so an
//! integrator who knows the API knows the format. Inside a record every id field holds the source
//! system's own id (`external_id`) of what it refers to: `GoalInput.parent_id`,
//! `InterventionInput.goal_ids`, `NewMeeting.summons_id`, the goal and intervention ids of a
//! follow-up and of a revision. A recipient (in answers and attendance) is named by its HSA-id, or
//! an actor by its name; a guardian who consents by their identity number or name.
//!
//! The service replays a record through the same use cases as the API, in the order its steps
//! happened, each at its own time ([`timeline`]): every process rule applies as if the plan had
//! been kept here from the start.

use std::collections::HashSet;

use chrono::{DateTime, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use validator::Validate;

use super::consent::NewConsent;
use super::individual::IndividualInput;
use super::plan::ClosingReason;
use super::process::{
    Decision, FollowUpRecord, GoalInput, InterventionInput, InterventionStatusChange, NewMeeting,
    NewSummons, RevisionCompletion, SummonsAnswer,
};
use super::Principal;
use crate::error::FieldError;

/// How often a running import shows that the instance reading it is alive, however slowly its
/// file arrives.
pub const HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(30);
/// A running import without a heartbeat for this long has lost its instance: it is failed, and its
/// source system can import again. Ten heartbeats, so a busy database does not end a live import.
pub const STALLED_AFTER: chrono::TimeDelta = chrono::TimeDelta::minutes(5);

/// A source system's own id.
fn external_id_fits(id: &str) -> Result<(), validator::ValidationError> {
    if id.trim().is_empty() || id.chars().count() > 200 {
        Err(validator::ValidationError::new("length")
            .with_message("an external id is 1 to 200 characters".into()))
    } else {
        Ok(())
    }
}

/// One plan, with everything in it, as a source system kept it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "external_id": "cosmic-sip-4711",
    "individual": {"external_id": "pat-1001", "details": {"identity_number": "19121212-1212", "given_name": "Lisa", "family_name": "Testsson"}},
    "plan": {
        "opened_at": "2026-01-12T09:00:00Z",
        "initiating_unit": {"hsa_id": "SE2321000016-PSY1", "principal": "region"},
        "need_reason": "Psychosis and substance use: needs from psychiatry and social services at once",
        "what_matters": "To get going with work training"
    },
    "consents": [{
        "external_id": "c-1",
        "recorded_at": "2026-01-14T10:00:00Z",
        "consent": {
            "outcome": "given", "form": "written", "givers": [{"role": "individual"}],
            "covered_parties": [
                {"kind": "unit", "hsa_id": "SE2321000016-PSY1", "name": "Psykiatrisk öppenvård", "principal": "region"},
                {"kind": "unit", "hsa_id": "SE2120001314-SOC1", "name": "Socialtjänsten", "principal": "municipality"}
            ],
            "permissions": {"share_information": true, "send_summons": true, "establish_plan": true},
            "valid_from": "2026-01-14", "valid_until": "2027-01-13"
        }
    }],
    "goals": [{"external_id": "g-1", "goal": {"text": "Lisa gets up and ready in the morning", "measure": "days a week"}}],
    "interventions": [{
        "external_id": "i-1",
        "intervention": {"description": "Case manager meets Lisa weekly", "goal_ids": ["g-1"], "responsible": "region", "responsible_unit": "SE2321000016-PSY1", "frequency": "weekly"},
        "status_history": [{"at": "2026-02-10T08:00:00Z", "change": {"status": "ongoing"}}]
    }],
    "summons": [{
        "external_id": "s-1",
        "sent_at": "2026-01-15T09:00:00Z",
        "summons": {
            "purpose": "To get going with work training", "questions": ["Who supports Lisa in the mornings?"],
            "meeting": {"starts_at": "2026-02-02T09:00:00Z", "place": "Vårdcentralen Söder", "form": "premises"},
            "recipients": [
                {"kind": "unit", "hsa_id": "SE2321000016-PSY1", "name": "Psykiatrisk öppenvård", "principal": "region"},
                {"kind": "unit", "hsa_id": "SE2120001314-SOC1", "name": "Socialtjänsten", "principal": "municipality"}
            ]
        },
        "answers": [{"recipient": "SE2120001314-SOC1", "answered_at": "2026-01-20T13:00:00Z", "answer": {"response": "accepted", "attendees": ["Bo Ek"]}}]
    }],
    "meeting": {
        "summons_id": "s-1", "held_at": "2026-02-02T09:00:00Z",
        "leader": {"name": "Anna Lind", "hsa_id": "SE2321000016-PSY1", "principal": "region"},
        "secretary": {"name": "Bo Ek", "hsa_id": "SE2120001314-SOC1", "principal": "municipality"},
        "participants": [
            {"name": "Anna Lind", "hsa_id": "SE2321000016-PSY1", "principal": "region"},
            {"name": "Bo Ek", "hsa_id": "SE2120001314-SOC1", "principal": "municipality"}
        ],
        "attendance": [{"recipient_id": "SE2321000016-PSY1", "attended": true}, {"recipient_id": "SE2120001314-SOC1", "attended": true}],
        "coordinator": {"name": "Anna Lind", "hsa_id": "SE2321000016-PSY1", "principal": "region"},
        "responsible_principal": "municipality",
        "individual_agreed": true, "individual_received_plan": true, "sip_survey_offered": true, "visible_in_1177": true,
        "first_follow_up": {"date": "2026-05-04", "place": "Vårdcentralen Söder"}
    },
    "follow_ups": [{"external_id": "f-1"}]
}))]
pub struct ImportRecord {
    /// The plan's id in the source system.
    #[validate(custom(function = "external_id_fits"))]
    #[schema(min_length = 1, max_length = 200)]
    pub external_id: String,
    #[validate(nested)]
    pub individual: ImportIndividual,
    #[validate(nested)]
    pub plan: ImportPlan,
    /// Consents and refusals, in any order (they are replayed by `recorded_at`).
    #[serde(default)]
    #[validate(length(max = 20), nested)]
    #[schema(max_items = 20)]
    pub consents: Vec<ImportConsent>,
    #[serde(default)]
    #[validate(length(max = 200), nested)]
    #[schema(max_items = 200)]
    pub goals: Vec<ImportGoal>,
    #[serde(default)]
    #[validate(length(max = 200), nested)]
    #[schema(max_items = 200)]
    pub interventions: Vec<ImportIntervention>,
    #[serde(default)]
    #[validate(length(max = 20), nested)]
    #[schema(max_items = 20)]
    pub summons: Vec<ImportSummons>,
    /// The meeting that established the plan; `summons_id` names its summons' `external_id`, and
    /// each `attendance[].recipient_id` a recipient's HSA-id (an actor's name).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(nested)]
    #[schema(nullable = false)]
    pub meeting: Option<NewMeeting>,
    /// The follow-ups, in order: the first is the one the meeting scheduled (`first_follow_up`),
    /// each next one the one its predecessor scheduled (`next_follow_up` of a record that
    /// continues, or of the revision). Only the last may be not yet held.
    #[serde(default)]
    #[validate(length(max = 100), nested)]
    #[schema(max_items = 100)]
    pub follow_ups: Vec<ImportFollowUp>,
    /// The plan was closed by decision (a follow-up's decision to close needs no closing here).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(nested)]
    #[schema(nullable = false)]
    pub closing: Option<ImportClosing>,
}

/// The individual, by the source system's id; registered if new, linked by identity number if
/// already registered, updated if their details changed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ImportIndividual {
    #[validate(custom(function = "external_id_fits"))]
    #[schema(min_length = 1, max_length = 200)]
    pub external_id: String,
    #[validate(nested)]
    pub details: IndividualInput,
}

/// A unit with its principal.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportUnit {
    #[schema(
        example = "SE2321000016-PSY1",
        pattern = "^[Ss][Ee][0-9]{10}-[A-Za-z0-9]+$",
        min_length = 14,
        max_length = 31
    )]
    pub hsa_id: String,
    pub principal: Principal,
}

/// The plan as opened.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ImportPlan {
    /// When the need was identified and the plan opened.
    pub opened_at: DateTime<Utc>,
    /// The unit that initiated the plan: it keeps access to it.
    pub initiating_unit: ImportUnit,
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000)]
    pub need_reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000, nullable = false)]
    pub what_matters: Option<String>,
    #[serde(default)]
    #[validate(length(max = 20), custom(function = "super::consent::each_text_fits"))]
    #[schema(max_items = 20, value_type = Vec<super::consent::ShortText>)]
    pub topics_to_avoid: Vec<String>,
    #[serde(default)]
    pub follows_discharge: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub discharge_ready_at: Option<DateTime<Utc>>,
}

/// A consent or refusal, and its withdrawal.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ImportConsent {
    #[validate(custom(function = "external_id_fits"))]
    #[schema(min_length = 1, max_length = 200)]
    pub external_id: String,
    pub recorded_at: DateTime<Utc>,
    /// A guardian giving it is named by `guardian_id` = the guardian's identity number or name.
    #[validate(nested)]
    pub consent: NewConsent,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(nested)]
    #[schema(nullable = false)]
    pub withdrawal: Option<ImportWithdrawal>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ImportWithdrawal {
    pub at: DateTime<Utc>,
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000)]
    pub reason: String,
}

/// A goal; `goal.parent_id` is the long-term goal's `external_id`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ImportGoal {
    #[validate(custom(function = "external_id_fits"))]
    #[schema(min_length = 1, max_length = 200)]
    pub external_id: String,
    #[validate(nested)]
    pub goal: GoalInput,
    /// Added during a revision: the revision it belongs to (2 for the first). Absent: part of the
    /// plan as first established.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(range(min = 2, max = 1000))]
    #[schema(minimum = 2, maximum = 1000, nullable = false)]
    pub added_in_revision: Option<i32>,
}

/// An intervention; `intervention.goal_ids` are goals' `external_id`s.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ImportIntervention {
    #[validate(custom(function = "external_id_fits"))]
    #[schema(min_length = 1, max_length = 200)]
    pub external_id: String,
    #[validate(nested)]
    pub intervention: InterventionInput,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(range(min = 2, max = 1000))]
    #[schema(minimum = 2, maximum = 1000, nullable = false)]
    pub added_in_revision: Option<i32>,
    /// Its status changes after the plan was established, in order.
    #[serde(default)]
    #[validate(length(max = 20), nested)]
    #[schema(max_items = 20)]
    pub status_history: Vec<ImportStatusChange>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ImportStatusChange {
    pub at: DateTime<Utc>,
    #[validate(nested)]
    pub change: InterventionStatusChange,
}

/// A summons and the recipients' answers.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ImportSummons {
    #[validate(custom(function = "external_id_fits"))]
    #[schema(min_length = 1, max_length = 200)]
    pub external_id: String,
    pub sent_at: DateTime<Utc>,
    #[validate(nested)]
    pub summons: NewSummons,
    #[serde(default)]
    #[validate(length(max = 40), nested)]
    #[schema(max_items = 40)]
    pub answers: Vec<ImportAnswer>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ImportAnswer {
    /// The recipient's HSA-id, or an actor's name.
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub recipient: String,
    pub answered_at: DateTime<Utc>,
    #[validate(nested)]
    pub answer: SummonsAnswer,
}

/// A follow-up of the chain; without `record` it is scheduled and not yet held.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ImportFollowUp {
    #[validate(custom(function = "external_id_fits"))]
    #[schema(min_length = 1, max_length = 200)]
    pub external_id: String,
    /// The held follow-up; goal and intervention ids are `external_id`s.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(nested)]
    #[schema(nullable = false)]
    pub record: Option<FollowUpRecord>,
    /// For a decision to revise: the completed revision.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(nested)]
    #[schema(nullable = false)]
    pub revision: Option<ImportRevision>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ImportRevision {
    pub completed_at: DateTime<Utc>,
    /// Intervention ids are `external_id`s.
    #[validate(nested)]
    pub completion: RevisionCompletion,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ImportClosing {
    pub closed_at: DateTime<Utc>,
    pub reason: ClosingReason,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000, nullable = false)]
    pub note: Option<String>,
}

/// What a record asks, step by step, in the order it happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    OpenPlan,
    Consent(usize),
    Goal(usize),
    Intervention(usize),
    Summons(usize),
    Answer(usize, usize),
    Meeting,
    StatusChange(usize, usize),
    FollowUp(usize),
    CompleteRevision(usize),
    Withdrawal(usize),
    Close,
}

impl Step {
    /// The JSON path, in the record, of what the step replays: a rule it breaks is reported there.
    pub fn path(self) -> String {
        match self {
            Step::OpenPlan => "$.plan".into(),
            Step::Consent(i) => format!("$.consents[{i}].consent"),
            Step::Goal(i) => format!("$.goals[{i}].goal"),
            Step::Intervention(i) => format!("$.interventions[{i}].intervention"),
            Step::Summons(i) => format!("$.summons[{i}].summons"),
            Step::Answer(s, a) => format!("$.summons[{s}].answers[{a}].answer"),
            Step::Meeting => "$.meeting".into(),
            Step::StatusChange(i, n) => format!("$.interventions[{i}].status_history[{n}].change"),
            Step::FollowUp(f) => format!("$.follow_ups[{f}].record"),
            Step::CompleteRevision(f) => format!("$.follow_ups[{f}].revision.completion"),
            Step::Withdrawal(i) => format!("$.consents[{i}].withdrawal"),
            Step::Close => "$.closing".into(),
        }
    }
}

/// A step and when it happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timed {
    pub at: DateTime<Utc>,
    pub step: Step,
}

/// The day a follow-up was held, as a time: noon UTC, after a meeting held the same morning.
pub fn held_time(day: chrono::NaiveDate) -> DateTime<Utc> {
    day.and_time(NaiveTime::from_hms_opt(12, 0, 0).unwrap_or_default())
        .and_utc()
}

/// The record's steps in the order they happened: by time, and at the same time in the process's
/// own order (a consent before the content it permits, answers after their summons, …). Goals and
/// interventions of the plan as first established are added when the first consent was recorded;
/// those of a revision when it was completed.
pub fn timeline(record: &ImportRecord) -> Vec<Timed> {
    let mut steps: Vec<(DateTime<Utc>, u8, Timed)> = Vec::new();
    let mut push =
        |at: DateTime<Utc>, rank: u8, step: Step| steps.push((at, rank, Timed { at, step }));
    push(record.plan.opened_at, 0, Step::OpenPlan);
    let content_at = record
        .consents
        .iter()
        .map(|c| c.recorded_at)
        .min()
        .unwrap_or(record.plan.opened_at);
    for (i, c) in record.consents.iter().enumerate() {
        push(c.recorded_at, 1, Step::Consent(i));
        if let Some(w) = &c.withdrawal {
            push(w.at, 12, Step::Withdrawal(i));
        }
    }
    // Revision r (2, 3, …) is completed by the (r-1)th follow-up that decides to revise.
    let revisions: Vec<(usize, DateTime<Utc>)> = record
        .follow_ups
        .iter()
        .enumerate()
        .filter(|(_, f)| {
            f.record
                .as_ref()
                .is_some_and(|r| r.decision == Decision::Revise)
        })
        .filter_map(|(i, f)| f.revision.as_ref().map(|r| (i, r.completed_at)))
        .collect();
    let content_time = |revision: Option<i32>| match revision {
        None | Some(1) => Some((content_at, 2)),
        Some(r) => revisions
            .get(usize::try_from(r - 2).ok()?)
            .map(|(_, at)| (*at, 10)),
    };
    for (i, g) in record.goals.iter().enumerate() {
        if let Some((at, rank)) = content_time(g.added_in_revision) {
            push(at, rank, Step::Goal(i));
        }
    }
    for (i, item) in record.interventions.iter().enumerate() {
        if let Some((at, rank)) = content_time(item.added_in_revision) {
            push(at, rank + 1, Step::Intervention(i));
        }
        for (n, change) in item.status_history.iter().enumerate() {
            push(change.at, 8, Step::StatusChange(i, n));
        }
    }
    for (s, summons) in record.summons.iter().enumerate() {
        push(summons.sent_at, 4, Step::Summons(s));
        for (a, answer) in summons.answers.iter().enumerate() {
            push(answer.answered_at, 5, Step::Answer(s, a));
        }
    }
    if let Some(meeting) = &record.meeting {
        push(meeting.held_at, 6, Step::Meeting);
    }
    for (f, item) in record.follow_ups.iter().enumerate() {
        if let Some(held) = &item.record {
            push(held_time(held.held_on), 9, Step::FollowUp(f));
        }
        if let Some(revision) = &item.revision {
            push(revision.completed_at, 11, Step::CompleteRevision(f));
        }
    }
    if let Some(closing) = &record.closing {
        push(closing.closed_at, 13, Step::Close);
    }
    steps.sort_by_key(|(at, rank, _)| (*at, *rank));
    steps.into_iter().map(|(_, _, t)| t).collect()
}

/// The record's own shape: unique external ids, references that resolve inside it, and a follow-up
/// chain that can have happened. The process rules themselves are checked by replaying it.
pub fn check_record(record: &ImportRecord) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut unique = |kind: &str, ids: Vec<&str>| {
        let mut seen = HashSet::new();
        for (i, id) in ids.into_iter().enumerate() {
            if !seen.insert(id) {
                errors.push(FieldError::new(
                    format!("$.{kind}[{i}].external_id"),
                    "this external id is used twice in the record",
                ));
            }
        }
    };
    unique(
        "consents",
        record
            .consents
            .iter()
            .map(|c| c.external_id.as_str())
            .collect(),
    );
    unique(
        "goals",
        record
            .goals
            .iter()
            .map(|g| g.external_id.as_str())
            .collect(),
    );
    unique(
        "interventions",
        record
            .interventions
            .iter()
            .map(|i| i.external_id.as_str())
            .collect(),
    );
    unique(
        "summons",
        record
            .summons
            .iter()
            .map(|s| s.external_id.as_str())
            .collect(),
    );
    unique(
        "follow_ups",
        record
            .follow_ups
            .iter()
            .map(|f| f.external_id.as_str())
            .collect(),
    );

    let goals: HashSet<&str> = record
        .goals
        .iter()
        .map(|g| g.external_id.as_str())
        .collect();
    let interventions: HashSet<&str> = record
        .interventions
        .iter()
        .map(|i| i.external_id.as_str())
        .collect();
    for (i, g) in record.goals.iter().enumerate() {
        if let Some(parent) = &g.goal.parent_id {
            if !goals.contains(parent.as_str()) {
                errors.push(unknown(format!("$.goals[{i}].goal.parent_id"), "goal"));
            }
        }
    }
    for (i, item) in record.interventions.iter().enumerate() {
        for (j, goal) in item.intervention.goal_ids.iter().enumerate() {
            if !goals.contains(goal.as_str()) {
                errors.push(unknown(
                    format!("$.interventions[{i}].intervention.goal_ids[{j}]"),
                    "goal",
                ));
            }
        }
    }
    for (s, summons) in record.summons.iter().enumerate() {
        for (a, answer) in summons.answers.iter().enumerate() {
            if !names_recipient(&summons.summons, &answer.recipient) {
                errors.push(unknown(
                    format!("$.summons[{s}].answers[{a}].recipient"),
                    "recipient of the summons",
                ));
            }
        }
    }
    if let Some(meeting) = &record.meeting {
        match record
            .summons
            .iter()
            .find(|s| s.external_id == meeting.summons_id)
        {
            None => errors.push(unknown("$.meeting.summons_id".into(), "summons")),
            Some(summons) => {
                for (i, a) in meeting.attendance.iter().enumerate() {
                    if !names_recipient(&summons.summons, &a.recipient_id)
                        && !summons.answers.iter().any(|ans| {
                            ans.answer.forward_to.as_ref().is_some_and(|to| {
                                to.hsa_id.as_deref() == Some(a.recipient_id.as_str())
                            })
                        })
                    {
                        errors.push(unknown(
                            format!("$.meeting.attendance[{i}].recipient_id"),
                            "recipient of the summons",
                        ));
                    }
                }
            }
        }
    }
    let last = record.follow_ups.len().saturating_sub(1);
    for (f, item) in record.follow_ups.iter().enumerate() {
        let path = format!("$.follow_ups[{f}]");
        match &item.record {
            None if f < last => errors.push(FieldError::new(
                format!("{path}.record"),
                "only the last follow-up may be not yet held: each one before it scheduled the next",
            )),
            None if item.revision.is_some() => errors.push(FieldError::new(
                format!("{path}.revision"),
                "a revision follows a held follow-up that decided to revise",
            )),
            None => {}
            Some(held) => {
                for (j, o) in held.goal_outcomes.iter().enumerate() {
                    if !goals.contains(o.goal_id.as_str()) {
                        errors.push(unknown(format!("{path}.record.goal_outcomes[{j}].goal_id"), "goal"));
                    }
                }
                for (j, r) in held.intervention_reviews.iter().enumerate() {
                    if !interventions.contains(r.intervention_id.as_str()) {
                        errors.push(unknown(format!("{path}.record.intervention_reviews[{j}].intervention_id"), "intervention"));
                    }
                }
                match (held.decision, &item.revision) {
                    (Decision::Revise, None) if f < last => errors.push(FieldError::new(
                        format!("{path}.revision"),
                        "the decision to revise is followed by the completed revision, which schedules the next follow-up",
                    )),
                    (Decision::Revise, _) => {}
                    (_, Some(_)) => errors.push(FieldError::new(
                        format!("{path}.revision"),
                        "only a follow-up that decides to revise has a revision",
                    )),
                    (Decision::Close, None) if f < last => errors.push(FieldError::new(
                        format!("{path}.record.decision"),
                        "a follow-up that closes the plan is the last",
                    )),
                    _ => {}
                }
                if let Some(revision) = &item.revision {
                    for (j, d) in revision.completion.intervention_decisions.iter().enumerate() {
                        if !interventions.contains(d.intervention_id.as_str()) {
                            errors.push(unknown(
                                format!("{path}.revision.completion.intervention_decisions[{j}].intervention_id"),
                                "intervention",
                            ));
                        }
                    }
                }
            }
        }
    }
    if !record.follow_ups.is_empty() && record.meeting.is_none() {
        errors.push(FieldError::new(
            "$.follow_ups",
            "follow-ups come after the meeting that established the plan",
        ));
    }
    let revisions = record
        .follow_ups
        .iter()
        .filter(|f| f.revision.is_some())
        .count() as i32;
    let beyond = |r: Option<i32>| r.is_some_and(|r| r > revisions + 1);
    for (i, g) in record.goals.iter().enumerate() {
        if beyond(g.added_in_revision) {
            errors.push(FieldError::new(
                format!("$.goals[{i}].added_in_revision"),
                "the record has no such revision",
            ));
        }
    }
    for (i, item) in record.interventions.iter().enumerate() {
        if beyond(item.added_in_revision) {
            errors.push(FieldError::new(
                format!("$.interventions[{i}].added_in_revision"),
                "the record has no such revision",
            ));
        }
    }
    errors
}

fn unknown(path: String, what: &str) -> FieldError {
    FieldError::new(
        path,
        format!("names no {what} of this record (use its external_id)"),
    )
}

/// Whether `name` (an HSA-id, or an actor's name) is one of the summons' recipients.
pub fn names_recipient(summons: &NewSummons, name: &str) -> bool {
    summons
        .recipients
        .iter()
        .any(|r| is_party(r.hsa_id.as_deref(), &r.name, name))
}

/// A party named by its HSA-id (any case), or, without one, by its name.
pub fn is_party(hsa_id: Option<&str>, party_name: &str, name: &str) -> bool {
    match hsa_id {
        Some(hsa) => hsa.eq_ignore_ascii_case(name.trim()),
        None => party_name.trim().eq_ignore_ascii_case(name.trim()),
    }
}

/// A stable digest of what was imported, to tell a changed record (or part) from the same again.
/// What an import key remembers of what was imported, to tell an unchanged record from a changed
/// one when a file is imported again.
///
/// Version 2 (`v2:` + SHA-256) hashes a canonical form: object keys sorted, and absent values left
/// out — `null`, `false`, `""`, `[]` and `{}`, the defaults of optional fields. So a record format
/// that grows a field, or reorders its fields, still fingerprints an unchanged record the same.
/// Version 1 (a bare SHA-256 of the serialized record, the keys stored before version 2) still
/// matches an unchanged record in the format it was made with; new keys are always version 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// `v2:` and the SHA-256 of the canonical form, in hex.
    current: String,
    /// The value serialized as version 1 hashed it. Hashed only when a stored key is of version 1
    /// (keys stored before versioning), not for every part of every record an import reads: the
    /// second digest was a sixth of what fingerprinting cost the import.
    raw: Vec<u8>,
}

const FINGERPRINT_VERSION: &str = "v2:";

impl Fingerprint {
    /// Whether a stored fingerprint, of either version, is of this content.
    pub fn matches(&self, stored: &str) -> bool {
        if stored.starts_with(FINGERPRINT_VERSION) {
            stored == self.current
        } else {
            stored == sha256_hex(&self.raw)
        }
    }

    /// The version-2 form, to store.
    pub fn into_string(self) -> String {
        self.current
    }
}

pub fn fingerprint<T: Serialize>(value: &T) -> Fingerprint {
    let raw = serde_json::to_vec(value).unwrap_or_default();
    let canonical = serde_json::to_value(value)
        .ok()
        .and_then(canonical)
        .map(|v| v.to_string())
        .unwrap_or_default();
    Fingerprint {
        current: FINGERPRINT_VERSION.to_owned() + &sha256_hex(canonical.as_bytes()),
        raw,
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    crate::domain::lower_hex(&Sha256::digest(bytes))
}

/// `value` with object keys sorted and absent values dropped (None when it is absent itself).
fn canonical(value: serde_json::Value) -> Option<serde_json::Value> {
    use serde_json::Value;
    match value {
        Value::Null | Value::Bool(false) => None,
        Value::String(s) if s.is_empty() => None,
        Value::Array(items) if items.is_empty() => None,
        // Items keep their places (an absent item becomes null): positions carry meaning.
        Value::Array(items) => Some(Value::Array(
            items
                .into_iter()
                .map(|item| canonical(item).unwrap_or(Value::Null))
                .collect(),
        )),
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map
                .into_iter()
                .filter_map(|(k, v)| canonical(v).map(|v| (k, v)))
                .collect();
            if entries.is_empty() {
                return None;
            }
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Some(Value::Object(entries.into_iter().collect()))
        }
        other => Some(other),
    }
}

crate::domain::text_enum! {
    /// An import's status.
    pub enum ImportStatus {
        /// Created; the records are sent next (`POST …/records`).
        AwaitingData => "awaiting_data",
        /// Records are being read and imported; the counts grow as it goes.
        Running => "running",
        /// Every record was read; the report says how each went.
        Completed => "completed",
        /// The upload broke off or the service stopped: what was imported stays; send the file again.
        Failed => "failed",
    }
}

crate::domain::text_enum! {
    /// How one record went.
    pub enum RecordOutcome {
        /// A new plan (in a dry run: would be).
        Created => "created",
        /// An imported plan changed.
        Updated => "updated",
        /// Nothing to change: imported before, just like this.
        Unchanged => "unchanged",
        /// The record breaks a rule; nothing of it was stored. `errors` says where and why.
        Failed => "failed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> ImportRecord {
        let doc = <ImportRecord as utoipa::PartialSchema>::schema();
        let json = serde_json::to_value(doc).unwrap();
        serde_json::from_value(json["example"].clone()).expect("the documented example parses")
    }

    #[test]
    fn the_documented_example_is_a_sound_record() {
        let record = example();
        assert!(record.validate().is_ok());
        assert_eq!(check_record(&record), vec![]);
    }

    #[test]
    fn steps_run_in_the_order_they_happened() {
        let record = example();
        let steps: Vec<Step> = timeline(&record).into_iter().map(|t| t.step).collect();
        assert_eq!(
            steps,
            vec![
                Step::OpenPlan,
                Step::Consent(0),
                Step::Goal(0),
                Step::Intervention(0),
                Step::Summons(0),
                Step::Answer(0, 0),
                Step::Meeting,
                Step::StatusChange(0, 0),
            ]
        );
    }

    #[test]
    fn references_must_resolve_inside_the_record() {
        let mut record = example();
        record.interventions[0].intervention.goal_ids = vec!["g-9".into()];
        record.meeting.as_mut().unwrap().summons_id = "s-9".into();
        record.goals.push(record.goals[0].clone());
        let fields: Vec<String> = check_record(&record).into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            vec![
                "$.goals[1].external_id",
                "$.interventions[0].intervention.goal_ids[0]",
                "$.meeting.summons_id",
            ]
        );
    }

    #[test]
    fn the_follow_up_chain_must_be_possible() {
        let mut record = example();
        record.follow_ups.push(ImportFollowUp {
            external_id: "f-2".into(),
            record: None,
            revision: None,
        });
        let fields: Vec<String> = check_record(&record).into_iter().map(|e| e.field).collect();
        assert_eq!(fields, vec!["$.follow_ups[0].record"]);
    }

    #[test]
    fn fingerprints_tell_changes_apart() {
        let record = example();
        let mut changed = record.clone();
        changed.plan.need_reason.push('!');
        assert_eq!(fingerprint(&record), fingerprint(&record.clone()));
        assert_ne!(fingerprint(&record), fingerprint(&changed));
        let stored = fingerprint(&record).into_string();
        assert!(stored.starts_with("v2:"));
        assert!(!fingerprint(&changed).matches(&stored));
    }

    /// A consent as it was, and the same consent type after it grew optional fields.
    #[derive(Serialize)]
    struct ConsentBefore {
        outcome: &'static str,
        note: Option<&'static str>,
    }

    #[derive(Serialize)]
    struct ConsentAfter {
        scope: Option<&'static str>,
        outcome: &'static str,
        note: Option<&'static str>,
        languages: Vec<&'static str>,
        by_video: bool,
    }

    #[test]
    fn an_unchanged_record_keeps_its_fingerprint_when_the_format_grows() {
        let before = ConsentBefore {
            outcome: "given",
            note: None,
        };
        let after = ConsentAfter {
            scope: None,
            outcome: "given",
            note: None,
            languages: vec![],
            by_video: false,
        };
        let stored = fingerprint(&before).into_string();
        assert!(fingerprint(&after).matches(&stored));
        // A field that is given is a change.
        let given = ConsentAfter {
            scope: Some("all"),
            ..after
        };
        assert!(!fingerprint(&given).matches(&stored));
    }

    /// Stored keys hold these strings: the way they are computed may change, their value may not.
    #[test]
    fn a_fingerprint_is_the_same_string_from_release_to_release() {
        let consent = ConsentAfter {
            scope: Some("all"),
            outcome: "given",
            note: None,
            languages: vec!["sv", ""],
            by_video: true,
        };
        assert_eq!(
            fingerprint(&consent).into_string(),
            "v2:3763ff77e12a7fcf8f54a16c1b4ba377b45b40ede187472c0f9e240799bd22f4"
        );
    }

    #[test]
    fn a_fingerprint_stored_before_versioning_still_matches_the_unchanged_record() {
        let record = example();
        let version_1: String = Sha256::digest(serde_json::to_vec(&record).unwrap())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(fingerprint(&record).matches(&version_1));
        let mut changed = record.clone();
        changed.plan.need_reason.push('!');
        assert!(!fingerprint(&changed).matches(&version_1));
    }
}
