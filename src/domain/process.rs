//! The steps of the SIP process after consent: summons, the meeting that establishes the plan,
//! goals, interventions, follow-ups and revision. Each `check_*` function holds the rules of one
//! step and returns every broken rule at once, with the JSON path of its field.

use crate::domain::calendar::swedish_date;
use std::collections::HashSet;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::consent::{each_text_fits, Party, PartyKind};
use super::identity::HsaId;
use super::plan::ClosingReason;
use super::Principal;
use crate::error::FieldError;

/// Deadlines of the guidelines. Regions differ, so both are settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    /// The meeting is held within this many days of the summons: 21 in Västra Götaland ("within 3
    /// weeks"), 30 in Halland.
    pub meeting_days: i64,
    /// After in-patient care the summons goes out within this many days of the notice that the
    /// patient is ready for discharge (lag 2017:612: 3).
    pub discharge_summons_days: i64,
    /// The unit a deviation concerns gives feedback within this many days (default 60).
    pub deviation_feedback_days: i64,
}

impl Default for Deadlines {
    fn default() -> Self {
        Deadlines {
            meeting_days: 21,
            discharge_summons_days: 3,
            deviation_feedback_days: 60,
        }
    }
}

/// The most goals, interventions, summons or follow-ups one plan holds: a plan for one person is
/// never larger, and the bound keeps every per-plan list a single response.
pub const MAX_PER_PLAN: usize = 200;

/// 422 when a plan already holds [`MAX_PER_PLAN`] of something.
pub fn check_room(existing: usize, what: &str) -> Result<(), crate::error::Error> {
    if existing >= MAX_PER_PLAN {
        Err(crate::error::Error::validation(
            "$",
            format!("a plan holds at most {MAX_PER_PLAN} {what}"),
        ))
    } else {
        Ok(())
    }
}

fn errors_or(errors: Vec<FieldError>) -> Result<(), Vec<FieldError>> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn blank(text: &Option<String>) -> bool {
    text.as_deref().is_none_or(|t| t.trim().is_empty())
}

/// What the plan's active consents allow: the union of the parties they cover.
#[derive(Debug, Default, Clone)]
pub struct Coverage {
    pub units: HashSet<String>,
    /// Names of other actors, lower-cased.
    pub actors: HashSet<String>,
    pub permits_summons: bool,
    pub permits_establishing: bool,
}

impl Coverage {
    pub fn covers(&self, party: &Party) -> bool {
        match (&party.hsa_id, party.kind) {
            (Some(hsa_id), _) => self.units.contains(hsa_id),
            (None, PartyKind::Actor) => self.actors.contains(&party.name.trim().to_lowercase()),
            (None, PartyKind::Unit) => false,
        }
    }
}

// --- Summons --------------------------------------------------------------------------------

/// Where the meeting is held.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    ToSchema,
    diesel::expression::AsExpression,
    diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[serde(rename_all = "snake_case")]
pub enum MeetingForm {
    /// In a unit's premises.
    Premises,
    /// In the individual's home.
    Home,
    Video,
    Phone,
}
super::text_enum!(MeetingForm { Premises => "premises", Home => "home", Video => "video", Phone => "phone" });

/// Units of a region or municipality are summoned (obliged to come); other actors are invited.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    ToSchema,
    diesel::expression::AsExpression,
    diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[serde(rename_all = "snake_case")]
pub enum Obligation {
    Summoned,
    Invited,
}
super::text_enum!(Obligation { Summoned => "summoned", Invited => "invited" });

impl Obligation {
    pub fn of(principal: Principal) -> Obligation {
        match principal {
            Principal::Region | Principal::Municipality => Obligation::Summoned,
            Principal::Other => Obligation::Invited,
        }
    }
}

/// When and where the meeting is.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct MeetingSlot {
    pub starts_at: DateTime<Utc>,
    #[validate(length(min = 1, max = 500))]
    #[schema(
        example = "Vårdcentralen Söder, rum 3",
        min_length = 1,
        max_length = 500
    )]
    pub place: String,
    pub form: MeetingForm,
}

/// A summons (kallelse) to the SIP meeting.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "purpose": "To get going with work training",
    "questions": ["Who supports Lisa in the mornings?", "When can work training start?"],
    "meeting": {"starts_at": "2026-12-03T09:00:00Z", "place": "Vårdcentralen Söder, rum 3", "form": "premises"},
    "support_person": "Her sister",
    "recipients": [
        {"kind": "unit", "hsa_id": "SE2321000016-PSY1", "name": "Psykiatrisk öppenvård", "principal": "region"},
        {"kind": "unit", "hsa_id": "SE2120001314-SOC1", "name": "Socialtjänsten", "principal": "municipality"},
        {"kind": "actor", "name": "Arbetsförmedlingen", "principal": "other"}
    ]
}))]
pub struct NewSummons {
    /// The purpose: the individual's long-term goal.
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000)]
    pub purpose: String,
    /// The questions the meeting must answer (frågeställningar), so those summoned can prepare.
    #[validate(length(min = 1, max = 20), custom(function = "each_text_fits"))]
    #[schema(min_items = 1, max_items = 20, value_type = Vec<super::consent::ShortText>)]
    pub questions: Vec<String>,
    #[validate(nested)]
    pub meeting: MeetingSlot,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200, nullable = false)]
    pub support_person: Option<String>,
    /// The language, when an interpreter is needed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100, nullable = false)]
    pub interpreter_language: Option<String>,
    /// Other communicative, cognitive or physical adaptations.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000, nullable = false)]
    pub adaptations: Option<String>,
    /// The day by which each recipient must answer; defaults to two days before the meeting.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub answer_by: Option<NaiveDate>,
    /// Units and other actors; each must be covered by the individual's consent.
    #[validate(length(min = 1, max = 30), nested)]
    #[schema(min_items = 1, max_items = 30)]
    pub recipients: Vec<Party>,
}

/// What the server derives when a summons is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummonsFacts {
    pub answer_by: NaiveDate,
    pub meeting_within_deadline: bool,
    /// Only for a plan after discharge.
    pub summons_within_discharge_deadline: Option<bool>,
}

/// Summons go only to units and actors the individual's consent covers, for a meeting in the future.
pub fn check_summons(
    summons: &mut NewSummons,
    coverage: &Coverage,
    discharge_ready_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    deadlines: Deadlines,
) -> Result<SummonsFacts, Vec<FieldError>> {
    let mut errors = Vec::new();
    let meeting_at = summons.meeting.starts_at;
    if meeting_at <= now {
        errors.push(FieldError::new(
            "$.meeting.starts_at",
            "the meeting must lie in the future",
        ));
    }
    let today = swedish_date(now);
    let answer_by = summons
        .answer_by
        .unwrap_or_else(|| (swedish_date(meeting_at) - Duration::days(2)).max(today));
    if answer_by < today || answer_by > swedish_date(meeting_at) {
        errors.push(FieldError::new(
            "$.answer_by",
            "must be between today and the day of the meeting",
        ));
    }
    let mut seen = HashSet::new();
    for (i, recipient) in summons.recipients.iter_mut().enumerate() {
        let path = format!("$.recipients[{i}]");
        if let Err(e) = normalise_party(recipient, &path) {
            errors.push(e);
            continue;
        }
        let key = recipient
            .hsa_id
            .clone()
            .unwrap_or_else(|| recipient.name.trim().to_lowercase());
        if !seen.insert(key) {
            errors.push(FieldError::new(path, "this recipient is listed twice"));
        } else if !coverage.covers(recipient) {
            errors.push(FieldError::new(
                path,
                format!(
                    "{} is not covered by the individual's active consent",
                    recipient.name
                ),
            ));
        }
    }
    errors_or(errors)?;
    Ok(SummonsFacts {
        answer_by,
        meeting_within_deadline: meeting_at <= now + Duration::days(deadlines.meeting_days),
        summons_within_discharge_deadline: discharge_ready_at
            .map(|ready| now <= ready + Duration::days(deadlines.discharge_summons_days)),
    })
}

/// A unit needs a valid HSA-id (stored upper-cased); an actor may have one.
pub fn normalise_party(party: &mut Party, path: &str) -> Result<(), FieldError> {
    match (&party.hsa_id, party.kind) {
        (None, PartyKind::Unit) => Err(FieldError::new(
            format!("{path}.hsa_id"),
            "a unit is identified by its HSA-id",
        )),
        (None, PartyKind::Actor) => Ok(()),
        (Some(raw), _) => {
            let id = HsaId::parse(raw).map_err(|m| FieldError::new(format!("{path}.hsa_id"), m))?;
            party.hsa_id = Some(id.into_string());
            Ok(())
        }
    }
}

/// A recipient's answer to a summons.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    ToSchema,
    diesel::expression::AsExpression,
    diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[serde(rename_all = "snake_case")]
pub enum Response {
    /// Comes; `attendees` names who.
    Accepted,
    /// Cannot come; `substitute` names who comes instead.
    Declined,
    /// Not the right unit: `forward_to` names another unit of the same principal, which becomes a
    /// recipient.
    Forwarded,
}
super::text_enum!(Response { Accepted => "accepted", Declined => "declined", Forwarded => "forwarded" });

/// A recipient's answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"response": "accepted", "attendees": ["Anna Lind, case manager"]}))]
pub struct SummonsAnswer {
    pub response: Response,
    /// For `accepted`: who will attend.
    #[serde(default)]
    #[validate(length(max = 10), custom(function = "each_text_fits"))]
    #[schema(max_items = 10, value_type = Vec<super::consent::ShortText>)]
    pub attendees: Vec<String>,
    /// For `declined`: the substitute who comes instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200, nullable = false)]
    pub substitute: Option<String>,
    /// For `forwarded`: the unit of the same principal that is the right one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(nested)]
    #[schema(nullable = false)]
    pub forward_to: Option<Party>,
}

/// The recipient as the answer rules need it.
pub struct RecipientState<'a> {
    pub principal: Principal,
    pub current_response: Option<Response>,
    pub hsa_id: Option<&'a str>,
}

pub fn check_answer(
    answer: &mut SummonsAnswer,
    recipient: &RecipientState<'_>,
    coverage: &Coverage,
) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    if recipient.current_response == Some(Response::Forwarded) {
        errors.push(FieldError::new(
            "$.response",
            "this recipient forwarded the summons; the unit it was forwarded to answers now",
        ));
    }
    match answer.response {
        Response::Accepted if answer.attendees.is_empty() => {
            errors.push(FieldError::new("$.attendees", "name who will attend"))
        }
        Response::Declined if blank(&answer.substitute) => errors.push(FieldError::new(
            "$.substitute",
            "a summoned unit that cannot come sends a substitute: name them",
        )),
        Response::Forwarded => match answer.forward_to.as_mut() {
            None => errors.push(FieldError::new(
                "$.forward_to",
                "name the unit the summons is forwarded to",
            )),
            Some(unit) => {
                if let Err(e) = normalise_party(unit, "$.forward_to") {
                    errors.push(e);
                } else if unit.kind != PartyKind::Unit || unit.principal != recipient.principal {
                    errors.push(FieldError::new(
                        "$.forward_to",
                        "a summons is forwarded only to another unit of the same principal",
                    ));
                } else if unit.hsa_id.as_deref() == recipient.hsa_id {
                    errors.push(FieldError::new(
                        "$.forward_to",
                        "the summons cannot be forwarded to the same unit",
                    ));
                } else if !coverage.covers(unit) {
                    errors.push(FieldError::new(
                        "$.forward_to",
                        format!(
                            "{} is not covered by the individual's active consent",
                            unit.name
                        ),
                    ));
                }
            }
        },
        _ => {}
    }
    if answer.response != Response::Forwarded && answer.forward_to.is_some() {
        errors.push(FieldError::new(
            "$.forward_to",
            "only a forwarded summons names another unit",
        ));
    }
    errors_or(errors)
}

// --- The meeting ------------------------------------------------------------------------------

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

fn normalise_hsa(hsa_id: &mut Option<String>, path: &str, errors: &mut Vec<FieldError>) {
    if let Some(raw) = hsa_id.as_deref() {
        match HsaId::parse(raw) {
            Ok(id) => *hsa_id = Some(id.into_string()),
            Err(m) => errors.push(FieldError::new(path, m)),
        }
    }
}

// --- Goals and interventions ------------------------------------------------------------------

/// Where a goal stands; set by follow-ups (`dropped` when a revision removes it).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    ToSchema,
    diesel::expression::AsExpression,
    diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[serde(rename_all = "snake_case")]
pub enum GoalStatus {
    Active,
    Fulfilled,
    PartlyFulfilled,
    NotFulfilled,
    Dropped,
}
super::text_enum!(GoalStatus {
    Active => "active",
    Fulfilled => "fulfilled",
    PartlyFulfilled => "partly_fulfilled",
    NotFulfilled => "not_fulfilled",
    Dropped => "dropped",
});

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

/// Who is responsible for an intervention.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    ToSchema,
    diesel::expression::AsExpression,
    diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[serde(rename_all = "snake_case")]
pub enum ResponsibleParty {
    Region,
    Municipality,
    /// Another actor, e.g. Arbetsförmedlingen or the school.
    Other,
    /// The individual themself.
    Individual,
}
super::text_enum!(ResponsibleParty {
    Region => "region",
    Municipality => "municipality",
    Other => "other",
    Individual => "individual",
});

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    ToSchema,
    diesel::expression::AsExpression,
    diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[serde(rename_all = "snake_case")]
pub enum InterventionStatus {
    Planned,
    Ongoing,
    Completed,
    /// Cancelled, with a reason (e.g. at a revision).
    Cancelled,
    /// Agreed but not carried out, with a reason: a deviation in the guidelines' sense.
    NotCarriedOut,
}
super::text_enum!(InterventionStatus {
    Planned => "planned",
    Ongoing => "ongoing",
    Completed => "completed",
    Cancelled => "cancelled",
    NotCarriedOut => "not_carried_out",
});

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
    #[validate(length(max = 20), custom(function = "super::each_reference_fits"))]
    #[schema(max_items = 20, value_type = Vec<super::Reference>)]
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

// --- Follow-ups and revision ------------------------------------------------------------------

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

/// The decision of a follow-up.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    ToSchema,
    diesel::expression::AsExpression,
    diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Continue as planned; `next_follow_up` is required.
    Continue,
    /// Revise the plan: goals and interventions may change (status `revising`).
    Revise,
    /// Close the plan; `closing_reason` is required.
    Close,
}
super::text_enum!(Decision { Continue => "continue", Revise => "revise", Close => "close" });

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

    fn now() -> DateTime<Utc> {
        "2026-11-22T10:00:00Z".parse().unwrap()
    }

    fn party(kind: PartyKind, hsa: Option<&str>, name: &str, principal: Principal) -> Party {
        Party {
            kind,
            hsa_id: hsa.map(String::from),
            name: name.into(),
            principal,
        }
    }

    fn coverage() -> Coverage {
        Coverage {
            units: ["SE2321000016-PSY1".to_string()].into(),
            actors: ["arbetsförmedlingen".to_string()].into(),
            permits_summons: true,
            permits_establishing: true,
        }
    }

    fn summons(days_ahead: i64, recipients: Vec<Party>) -> NewSummons {
        NewSummons {
            purpose: "work".into(),
            questions: vec!["who?".into()],
            meeting: MeetingSlot {
                starts_at: now() + Duration::days(days_ahead),
                place: "here".into(),
                form: MeetingForm::Video,
            },
            support_person: None,
            interpreter_language: None,
            adaptations: None,
            answer_by: None,
            recipients,
        }
    }

    #[test]
    fn summons_go_only_to_covered_parties() {
        let mut s = summons(
            10,
            vec![
                party(
                    PartyKind::Unit,
                    Some("se2321000016-psy1"),
                    "Psykiatri",
                    Principal::Region,
                ),
                party(
                    PartyKind::Actor,
                    None,
                    "Arbetsförmedlingen ",
                    Principal::Other,
                ),
                party(
                    PartyKind::Unit,
                    Some("SE2120001314-SOC1"),
                    "Socialtjänsten",
                    Principal::Municipality,
                ),
                party(PartyKind::Actor, None, "The school", Principal::Other),
            ],
        );
        let errors =
            check_summons(&mut s, &coverage(), None, now(), Deadlines::default()).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["$.recipients[2]", "$.recipients[3]"]);
        assert!(errors[0].message.contains("Socialtjänsten"));
    }

    #[test]
    fn deadlines_are_recorded_not_enforced() {
        let psy = || {
            vec![party(
                PartyKind::Unit,
                Some("SE2321000016-PSY1"),
                "Psykiatri",
                Principal::Region,
            )]
        };
        let facts = check_summons(
            &mut summons(10, psy()),
            &coverage(),
            None,
            now(),
            Deadlines::default(),
        )
        .unwrap();
        assert!(facts.meeting_within_deadline);
        assert_eq!(facts.summons_within_discharge_deadline, None);
        assert_eq!(facts.answer_by, swedish_date(now() + Duration::days(8)));
        let late = check_summons(
            &mut summons(30, psy()),
            &coverage(),
            None,
            now(),
            Deadlines::default(),
        )
        .unwrap();
        assert!(!late.meeting_within_deadline);
        let halland = Deadlines {
            meeting_days: 30,
            ..Deadlines::default()
        };
        assert!(
            check_summons(&mut summons(30, psy()), &coverage(), None, now(), halland)
                .unwrap()
                .meeting_within_deadline
        );
        let ready = now() - Duration::days(4);
        let after_discharge = check_summons(
            &mut summons(5, psy()),
            &coverage(),
            Some(ready),
            now(),
            Deadlines::default(),
        )
        .unwrap();
        assert_eq!(
            after_discharge.summons_within_discharge_deadline,
            Some(false)
        );
        let ready = now() - Duration::days(2);
        let in_time = check_summons(
            &mut summons(5, psy()),
            &coverage(),
            Some(ready),
            now(),
            Deadlines::default(),
        )
        .unwrap();
        assert_eq!(in_time.summons_within_discharge_deadline, Some(true));
    }

    #[test]
    fn forwarding_stays_within_the_principal() {
        let recipient = RecipientState {
            principal: Principal::Region,
            current_response: None,
            hsa_id: Some("SE2321000016-PSY1"),
        };
        let mut cov = coverage();
        cov.units.insert("SE2321000016-VC01".into());
        cov.units.insert("SE2120001314-SOC1".into());
        let forward = |hsa: &str, principal| SummonsAnswer {
            response: Response::Forwarded,
            attendees: vec![],
            substitute: None,
            forward_to: Some(party(PartyKind::Unit, Some(hsa), "x", principal)),
        };
        assert!(check_answer(
            &mut forward("SE2321000016-VC01", Principal::Region),
            &recipient,
            &cov
        )
        .is_ok());
        assert!(check_answer(
            &mut forward("SE2120001314-SOC1", Principal::Municipality),
            &recipient,
            &cov
        )
        .is_err());
        let mut declined = SummonsAnswer {
            response: Response::Declined,
            attendees: vec![],
            substitute: None,
            forward_to: None,
        };
        assert_eq!(
            check_answer(&mut declined, &recipient, &cov).unwrap_err()[0].field,
            "$.substitute"
        );
    }

    #[test]
    fn leader_and_secretary_differ_even_in_spelling() {
        assert!(same_person("Anna  Lind", "anna lind"));
        assert!(!same_person("Anna Lind", "Anna Linde"));
    }

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
