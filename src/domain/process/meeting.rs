//! The SIP meeting, which establishes the plan: who took part, the coordinator, the first follow-up.

use std::collections::HashSet;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::{errors_or, Deadlines};
use crate::domain::calendar::swedish_date;
use crate::domain::identity::HsaId;
use crate::domain::Principal;
use crate::error::FieldError;

/// A person at the meeting, with their unit.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct Participant {
    #[validate(length(min = 1, max = 200))]
    #[schema(example = "Anna Lind", min_length = 1, max_length = 200)]
    pub name: String,
    /// Their role, e.g. "case manager", "the individual", "sister".
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200, nullable = false)]
    pub role: Option<String>,
    /// The unit they represent, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(
        example = "SE2321000016-PSY1",
        nullable = false,
        pattern = "^[Ss][Ee][0-9]{10}-[A-Za-z0-9]+$",
        min_length = 14,
        max_length = 31
    )]
    pub hsa_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub principal: Option<Principal>,
}

/// The coordinator (samordnare), chosen with the individual.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct Coordinator {
    #[validate(length(min = 1, max = 200))]
    #[schema(example = "Anna Lind", min_length = 1, max_length = 200)]
    pub name: String,
    #[schema(
        example = "SE2321000016-PSY1",
        pattern = "^[Ss][Ee][0-9]{10}-[A-Za-z0-9]+$",
        min_length = 14,
        max_length = 31
    )]
    pub hsa_id: String,
    pub principal: Principal,
}

/// A date and place for a follow-up.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"date": "2027-02-03", "place": "Vårdcentralen Söder"}))]
pub struct FollowUpSlot {
    pub date: NaiveDate,
    #[validate(length(min = 1, max = 500))]
    #[schema(min_length = 1, max_length = 500)]
    pub place: String,
}

/// A recipient's attendance at the meeting.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct Attendance {
    /// The recipient's id (in an `ImportRecord`: its HSA-id, or an actor's name).
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub recipient_id: String,
    pub attended: bool,
}

/// The SIP meeting, recorded after it was held. Recording it establishes the plan.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "summons_id": "019a8b3c-6e00-7f10-8a4b-3c2d1e0f9a8b",
    "held_at": "2026-12-03T09:00:00Z",
    "leader": {"name": "Anna Lind", "hsa_id": "SE2321000016-PSY1", "principal": "region"},
    "secretary": {"name": "Bo Ek", "hsa_id": "SE2120001314-SOC1", "principal": "municipality"},
    "participants": [
        {"name": "Anna Lind", "role": "case manager", "hsa_id": "SE2321000016-PSY1", "principal": "region"},
        {"name": "Bo Ek", "role": "social worker", "hsa_id": "SE2120001314-SOC1", "principal": "municipality"},
        {"name": "Lisa", "role": "the individual"}
    ],
    "attendance": [
        {"recipient_id": "019a8b3c-6e01-7f10-8a4b-3c2d1e0f9a8b", "attended": true},
        {"recipient_id": "019a8b3c-6e02-7f10-8a4b-3c2d1e0f9a8b", "attended": false},
        {"recipient_id": "019a8b3c-6e03-7f10-8a4b-3c2d1e0f9a8b", "attended": true}
    ],
    "coordinator": {"name": "Anna Lind", "hsa_id": "SE2321000016-PSY1", "principal": "region"},
    "responsible_principal": "municipality",
    "disagreements": "Who pays for the transport to work training",
    "individual_agreed": true,
    "individual_received_plan": true,
    "sip_survey_offered": true,
    "visible_in_1177": true,
    "first_follow_up": {"date": "2027-02-03", "place": "Vårdcentralen Söder"}
}))]
pub struct NewMeeting {
    /// The id of the summons the meeting was held on (in an `ImportRecord`: the record's own `external_id` of it).
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub summons_id: String,
    pub held_at: DateTime<Utc>,
    /// Mötesledare.
    #[validate(nested)]
    pub leader: Participant,
    /// Mötessekreterare: another person than the leader.
    #[validate(nested)]
    pub secretary: Participant,
    /// Everyone who took part, with their units.
    #[validate(length(min = 1, max = 50), nested)]
    #[schema(min_items = 1, max_items = 50)]
    pub participants: Vec<Participant>,
    /// Whether each recipient of the summons came.
    #[serde(default)]
    #[schema(max_items = 60)]
    #[validate(length(max = 60), nested)]
    pub attendance: Vec<Attendance>,
    #[validate(nested)]
    pub coordinator: Coordinator,
    /// Huvudansvarig huvudman: `region` or `municipality`.
    pub responsible_principal: Principal,
    /// What the parties did not agree on.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000, nullable = false)]
    pub disagreements: Option<String>,
    pub individual_agreed: bool,
    pub individual_received_plan: bool,
    /// SIP-kollen, the anonymous survey, was offered.
    pub sip_survey_offered: bool,
    /// The plan may be shown to the individual in the national e-services (1177).
    pub visible_in_1177: bool,
    #[validate(nested)]
    pub first_follow_up: FollowUpSlot,
}

/// What the meeting rules need to know about the plan.
pub struct MeetingContext<'a> {
    /// Interventions that are not cancelled.
    pub interventions: usize,
    /// The summons' recipients still expected (not forwarded): their ids.
    pub expected_recipients: &'a [String],
    pub summons_sent_at: DateTime<Utc>,
    pub follows_discharge: bool,
}

/// The procedure code (KVÅ) of an established plan.
pub fn procedure_code(follows_discharge: bool) -> &'static str {
    if follows_discharge {
        "AU125"
    } else {
        "AU124"
    }
}

/// The law's minimum content and the meeting's own rules. Returns whether the meeting was held
/// within the deadline.
pub fn check_meeting(
    meeting: &mut NewMeeting,
    context: &MeetingContext<'_>,
    now: DateTime<Utc>,
    deadlines: Deadlines,
) -> Result<bool, Vec<FieldError>> {
    let mut errors = Vec::new();
    if meeting.held_at > now + Duration::minutes(5) {
        errors.push(FieldError::new(
            "$.held_at",
            "record the meeting after it was held",
        ));
    }
    if meeting.held_at < context.summons_sent_at {
        errors.push(FieldError::new(
            "$.held_at",
            "the meeting cannot be held before its summons was sent",
        ));
    }
    if same_person(&meeting.leader.name, &meeting.secretary.name) {
        errors.push(FieldError::new(
            "$.secretary.name",
            "the meeting leader and the secretary must be two different people",
        ));
    }
    for (path, person) in [
        ("$.leader", &mut meeting.leader),
        ("$.secretary", &mut meeting.secretary),
    ] {
        normalise_hsa(&mut person.hsa_id, &format!("{path}.hsa_id"), &mut errors);
    }
    for (i, p) in meeting.participants.iter_mut().enumerate() {
        normalise_hsa(
            &mut p.hsa_id,
            &format!("$.participants[{i}].hsa_id"),
            &mut errors,
        );
    }
    let has_unit_of = |principal| {
        meeting
            .participants
            .iter()
            .any(|p| p.principal == Some(principal) && p.hsa_id.is_some())
    };
    if !(has_unit_of(Principal::Region) && has_unit_of(Principal::Municipality)) {
        errors.push(FieldError::new(
            "$.participants",
            "a SIP is a joint plan: units of both a region and a municipality (with HSA-ids) must take part",
        ));
    }
    match HsaId::parse(&meeting.coordinator.hsa_id) {
        Ok(id) => meeting.coordinator.hsa_id = id.into_string(),
        Err(m) => errors.push(FieldError::new("$.coordinator.hsa_id", m)),
    }
    if meeting.responsible_principal == Principal::Other {
        errors.push(FieldError::new(
            "$.responsible_principal",
            "the responsible principal is the region or the municipality",
        ));
    }
    if meeting.first_follow_up.date <= swedish_date(now) {
        errors.push(FieldError::new(
            "$.first_follow_up.date",
            "the first follow-up must lie in the future",
        ));
    }
    if context.interventions == 0 {
        errors.push(FieldError::new(
            "plan.interventions",
            "the plan needs at least one intervention, each with a responsible principal",
        ));
    }
    let recorded: HashSet<&str> = meeting
        .attendance
        .iter()
        .map(|a| a.recipient_id.as_str())
        .collect();
    for (i, a) in meeting.attendance.iter().enumerate() {
        if !context.expected_recipients.contains(&a.recipient_id) {
            errors.push(FieldError::new(
                format!("$.attendance[{i}].recipient_id"),
                "not a recipient of this summons",
            ));
        }
    }
    if context
        .expected_recipients
        .iter()
        .any(|id| !recorded.contains(id.as_str()))
    {
        errors.push(FieldError::new(
            "$.attendance",
            "record the attendance of every recipient of the summons",
        ));
    }
    errors_or(errors)?;
    Ok(meeting.held_at <= context.summons_sent_at + Duration::days(deadlines.meeting_days))
}

fn same_person(a: &str, b: &str) -> bool {
    let normal = |s: &str| {
        s.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    };
    normal(a) == normal(b)
}

pub(super) fn normalise_hsa(hsa_id: &mut Option<String>, path: &str, errors: &mut Vec<FieldError>) {
    if let Some(raw) = hsa_id.as_deref() {
        match HsaId::parse(raw) {
            Ok(id) => *hsa_id = Some(id.into_string()),
            Err(m) => errors.push(FieldError::new(path, m)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leader_and_secretary_differ_even_in_spelling() {
        assert!(same_person("Anna  Lind", "anna lind"));
        assert!(!same_person("Anna Lind", "Anna Linde"));
    }
}
