//! Summons, the meeting, goals, interventions, follow-ups and history as the API shows them.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::events::ChangeEventRow;
use crate::db::goals::{GoalRow, InterventionRecord};
use crate::db::meetings::{FollowUpRow, MeetingRow};
use crate::db::summons::{RecipientRow, SummonsRecord};
use crate::db::{parse_json_column, parse_json_list};
use crate::domain::consent::PartyKind;
use crate::domain::plan::ClosingReason;
use crate::domain::process::{
    Decision, GoalOutcome, GoalStatus, InterventionReview, InterventionStatus, MeetingForm,
    Obligation, Participant, Response, ResponsibleParty,
};
use crate::domain::Principal;
use crate::error::Result;

/// A recipient of a summons and their answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Recipient {
    #[schema(format = Uuid)]
    pub id: String,
    pub kind: PartyKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub hsa_id: Option<String>,
    pub name: String,
    pub principal: Principal,
    /// `summoned` (a region's or municipality's unit, obliged to come) or `invited`.
    pub obligation: Obligation,
    pub answer_by: NaiveDate,
    /// Absent until the recipient answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub response: Option<Response>,
    #[schema(value_type = Vec<crate::domain::consent::ShortText>)]
    pub attendees: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub substitute: Option<String>,
    /// The recipient that forwarded the summons to this one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub forwarded_from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub answered_at: Option<DateTime<Utc>>,
    /// Recorded after the meeting.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub attended: Option<bool>,
    pub version: i64,
}

impl Recipient {
    pub fn from_row(r: RecipientRow) -> Result<Recipient> {
        Ok(Recipient {
            kind: r.kind,
            principal: r.principal,
            obligation: r.obligation,
            response: r.response,
            attendees: r
                .attendees
                .as_deref()
                .map(|a| parse_json_list(a, "recipient attendees"))
                .transpose()?
                .unwrap_or_default(),
            answered_at: r.answered_at.map(|t| t.and_utc()),
            id: r.id.into(),
            hsa_id: r.hsa_id.map(String::from),
            name: r.name,
            answer_by: r.answer_by,
            substitute: r.substitute,
            forwarded_from: r.forwarded_from,
            attended: r.attended,
            version: r.version,
        })
    }
}

/// A summons to the SIP meeting, with its recipients.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Summons {
    #[schema(format = Uuid)]
    pub id: String,
    #[schema(format = Uuid)]
    pub plan_id: String,
    pub purpose: String,
    #[schema(value_type = Vec<crate::domain::consent::ShortText>)]
    pub questions: Vec<String>,
    pub meeting_at: DateTime<Utc>,
    pub meeting_place: String,
    pub meeting_form: MeetingForm,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub support_person: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub interpreter_language: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub adaptations: Option<String>,
    pub sent_at: DateTime<Utc>,
    pub sent_by_unit: String,
    /// The meeting is planned within the deadline (`MEETING_DEADLINE_DAYS` after the summons).
    pub meeting_within_deadline: bool,
    /// After a discharge: the summons went out within `DISCHARGE_SUMMONS_DEADLINE_DAYS` of the
    /// discharge-ready notice.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub summons_within_discharge_deadline: Option<bool>,
    pub recipients: Vec<Recipient>,
    /// What the individual wants the meeting to answer, and whether they bring a support person,
    /// as they wrote it through an e-service before the meeting (absent until they do).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub individual_preparation: Option<Preparation>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
}

/// The individual's own preparation for the meeting (förberedelse inför mötet).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Preparation {
    /// The questions they want the meeting to answer, in their words.
    #[schema(value_type = Vec<crate::domain::consent::ShortText>)]
    pub questions: Vec<String>,
    /// They bring a support person (stödperson) to the meeting.
    pub brings_support_person: bool,
    /// Who wrote it: the individual themselves, or a guardian or legal representative for them.
    pub written_by: crate::domain::representation::ActingAs,
    pub written_at: DateTime<Utc>,
    pub version: i64,
}

impl Preparation {
    pub fn from_row(row: crate::db::summons::PreparationRow) -> Result<Preparation> {
        Ok(Preparation {
            questions: parse_json_list(&row.questions, "the individual's questions")?,
            brings_support_person: row.brings_support_person,
            written_by: crate::domain::representation::ActingAs::of_subject(&row.prepared_by),
            written_at: row.prepared_at.and_utc(),
            version: row.version,
        })
    }
}

impl Summons {
    pub fn from_record(record: SummonsRecord) -> Result<Summons> {
        let s = record.summons;
        Ok(Summons {
            meeting_form: s.meeting_form,
            questions: parse_json_list(&s.questions, "summons questions")?,
            recipients: record
                .recipients
                .into_iter()
                .map(Recipient::from_row)
                .collect::<Result<_>>()?,
            meeting_at: s.meeting_at.and_utc(),
            sent_at: s.sent_at.and_utc(),
            created_at: s.created_at.and_utc(),
            id: s.id.into(),
            plan_id: s.plan_id.into(),
            purpose: s.purpose,
            meeting_place: s.meeting_place,
            support_person: s.support_person,
            interpreter_language: s.interpreter_language,
            adaptations: s.adaptations,
            sent_by_unit: s.sent_by_unit.into(),
            meeting_within_deadline: s.meeting_within_deadline,
            summons_within_discharge_deadline: s.summons_within_discharge_deadline,
            individual_preparation: record.preparation.map(Preparation::from_row).transpose()?,
            version: s.version,
        })
    }
}

/// The meeting's leader or secretary (mötesledare, mötessekreterare), with their unit's HSA-id.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MeetingOfficer {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub hsa_id: Option<String>,
}

/// The SIP meeting that established the plan.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Meeting {
    #[schema(format = Uuid)]
    pub id: String,
    #[schema(format = Uuid)]
    pub summons_id: String,
    pub held_at: DateTime<Utc>,
    pub leader: MeetingOfficer,
    pub secretary: MeetingOfficer,
    pub participants: Vec<Participant>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub disagreements: Option<String>,
    pub individual_agreed: bool,
    pub individual_received_plan: bool,
    pub sip_survey_offered: bool,
    pub visible_in_1177: bool,
    /// Held within `MEETING_DEADLINE_DAYS` of the summons.
    pub held_within_deadline: bool,
    /// `AU124`, or `AU125` after a discharge.
    pub procedure_code: String,
    pub recorded_by_unit: String,
    pub created_at: DateTime<Utc>,
}

impl Meeting {
    pub fn from_row(m: MeetingRow) -> Result<Meeting> {
        Ok(Meeting {
            participants: parse_json_column(&m.participants, "meeting participants")?,
            leader: MeetingOfficer {
                name: m.leader_name,
                hsa_id: m.leader_unit.map(String::from),
            },
            secretary: MeetingOfficer {
                name: m.secretary_name,
                hsa_id: m.secretary_unit.map(String::from),
            },
            held_at: m.held_at.and_utc(),
            created_at: m.created_at.and_utc(),
            id: m.id,
            summons_id: m.summons_id.into(),
            disagreements: m.disagreements,
            individual_agreed: m.individual_agreed,
            individual_received_plan: m.individual_received_plan,
            sip_survey_offered: m.sip_survey_offered,
            visible_in_1177: m.visible_in_1177,
            held_within_deadline: m.held_within_deadline,
            procedure_code: m.procedure_code,
            recorded_by_unit: m.recorded_by_unit.into(),
        })
    }
}

/// A goal of the individual's.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Goal {
    #[schema(format = Uuid)]
    pub id: String,
    #[schema(format = Uuid)]
    pub plan_id: String,
    /// The long-term goal this is a sub-goal of.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Uuid, nullable = false)]
    pub parent_id: Option<String>,
    /// Order among the plan's goals.
    pub position: i32,
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub measure: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub target_date: Option<NaiveDate>,
    pub status: GoalStatus,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Goal {
    pub fn from_row(g: GoalRow) -> Result<Goal> {
        Ok(Goal {
            status: g.status,
            created_at: g.created_at.and_utc(),
            updated_at: g.updated_at.and_utc(),
            id: g.id.into(),
            plan_id: g.plan_id.into(),
            parent_id: g.parent_id.map(String::from),
            position: g.position,
            text: g.text,
            measure: g.measure,
            target_date: g.target_date,
            version: g.version,
        })
    }
}

/// An intervention.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Intervention {
    #[schema(format = Uuid)]
    pub id: String,
    #[schema(format = Uuid)]
    pub plan_id: String,
    pub position: i32,
    pub description: String,
    #[schema(value_type = Vec<uuid::Uuid>)]
    pub goal_ids: Vec<String>,
    pub responsible: ResponsibleParty,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub responsible_unit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub responsible_actor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub performer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub start_date: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub frequency: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub place: Option<String>,
    pub status: InterventionStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub status_reason: Option<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Intervention {
    pub fn from_record(record: InterventionRecord) -> Result<Intervention> {
        let i = record.intervention;
        Ok(Intervention {
            responsible: i.responsible_principal,
            status: i.status,
            goal_ids: record.goal_ids,
            created_at: i.created_at.and_utc(),
            updated_at: i.updated_at.and_utc(),
            id: i.id.into(),
            plan_id: i.plan_id.into(),
            position: i.position,
            description: i.description,
            responsible_unit: i.responsible_unit.map(String::from),
            responsible_actor: i.responsible_actor,
            performer: i.performer,
            start_date: i.start_date,
            frequency: i.frequency,
            place: i.place,
            status_reason: i.status_reason,
            version: i.version,
        })
    }
}

/// A follow-up: scheduled, then held (procedure code AW010).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FollowUp {
    #[schema(format = Uuid)]
    pub id: String,
    #[schema(format = Uuid)]
    pub plan_id: String,
    pub scheduled_on: NaiveDate,
    pub place: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub held_on: Option<NaiveDate>,
    pub goal_outcomes: Vec<GoalOutcome>,
    pub intervention_reviews: Vec<InterventionReview>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub new_circumstances: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub decision: Option<Decision>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub closing_reason: Option<ClosingReason>,
    /// `AW010` once held.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub procedure_code: Option<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl FollowUp {
    pub fn from_row(f: FollowUpRow) -> Result<FollowUp> {
        Ok(FollowUp {
            goal_outcomes: f
                .goal_outcomes
                .as_deref()
                .map(|t| parse_json_column(t, "follow-up goal outcomes"))
                .transpose()?
                .unwrap_or_default(),
            intervention_reviews: f
                .intervention_reviews
                .as_deref()
                .map(|t| parse_json_column(t, "follow-up intervention reviews"))
                .transpose()?
                .unwrap_or_default(),
            decision: f.decision,
            closing_reason: f.closing_reason,
            procedure_code: f.held_on.map(|_| "AW010".to_string()),
            created_at: f.created_at.and_utc(),
            updated_at: f.updated_at.and_utc(),
            id: f.id.into(),
            plan_id: f.plan_id.into(),
            scheduled_on: f.scheduled_on,
            place: f.place,
            held_on: f.held_on,
            new_circumstances: f.new_circumstances,
            version: f.version,
        })
    }
}

/// One recorded change of the plan or of something in it. Never rewritten.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HistoryEvent {
    /// The event's position in the change feed (`GET /api/v1/events`): strictly increasing over
    /// the whole service, in the order the changes became visible.
    pub seq: i64,
    #[schema(example = "intervention.status_changed")]
    pub event_type: String,
    pub resource_type: String,
    #[schema(format = Uuid)]
    pub resource_id: String,
    /// The resource's version after the change.
    pub version: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub from_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub to_status: Option<String>,
    /// A reason code (e.g. a closing reason).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub reason: Option<String>,
    /// Why, in words (e.g. why an intervention was cancelled).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub note: Option<String>,
    /// Who: the token's subject and unit.
    pub subject: String,
    pub unit: String,
    pub occurred_at: DateTime<Utc>,
}

impl From<ChangeEventRow> for HistoryEvent {
    fn from(e: ChangeEventRow) -> Self {
        HistoryEvent {
            seq: e.position(),
            event_type: e.event_type.as_str().into(),
            resource_type: e.resource_type.as_str().into(),
            resource_id: e.resource_id,
            version: e.version,
            from_status: e.from_status,
            to_status: e.to_status,
            reason: e.reason,
            note: e.note,
            subject: e.subject,
            unit: e.unit.into_string(),
            occurred_at: e.occurred_at.and_utc(),
        }
    }
}

super::page_of!(HistoryPage, HistoryEvent, "history events");
super::list_of!(SummonsList, Summons, "summons");
super::list_of!(GoalList, Goal, "goals");
super::list_of!(InterventionList, Intervention, "interventions");
super::list_of!(FollowUpList, FollowUp, "follow-ups");
