//! The plan as the API shows it.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{page_of, time};
use crate::db::parse_json_list;
use crate::db::plans::PlanRecord;
use crate::domain::plan::{ClosingReason, PlanAction, PlanStatus};
use crate::domain::Principal;
use crate::error::Result;

/// A unit identified by HSA-id, with its principal.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UnitRef {
    #[schema(example = "SE2321000016-PSY1")]
    pub hsa_id: String,
    pub principal: Principal,
}

/// A coordinated individual plan.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Plan {
    #[schema(format = Uuid)]
    pub id: String,
    #[schema(format = Uuid)]
    pub individual_id: String,
    /// The unit that initiated the plan (from its token).
    pub initiating_unit: UnitRef,
    /// The subject (person or system) that opened the plan.
    pub created_by: String,
    pub need_reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub what_matters: Option<String>,
    #[schema(value_type = Vec<crate::domain::consent::ShortText>)]
    pub topics_to_avoid: Vec<String>,
    pub follows_discharge: bool,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "time::optional_instant"
    )]
    #[schema(nullable = false)]
    pub discharge_ready_at: Option<DateTime<Utc>>,
    pub status: PlanStatus,
    /// What the current status allows; empty when the plan is read-only.
    pub allowed_actions: Vec<PlanAction>,
    /// Whether a given, unwithdrawn, unexpired consent covers today.
    pub has_active_consent: bool,
    /// The last day of the active consent.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "time::optional_day"
    )]
    #[schema(nullable = false)]
    pub active_consent_until: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub closing_reason: Option<ClosingReason>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub closing_note: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "time::optional_instant"
    )]
    #[schema(nullable = false)]
    pub closed_at: Option<DateTime<Utc>>,
    /// 0 until the meeting establishes the plan; 1, 2, … after each revision.
    pub revision: i32,
    /// The earliest follow-up not yet held.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "time::optional_day"
    )]
    #[schema(nullable = false)]
    pub next_follow_up_on: Option<NaiveDate>,
    /// KVÅ code of the establishment: `AU124`, or `AU125` after a discharge.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub procedure_code: Option<String>,
    /// Huvudansvarig huvudman, set at the meeting.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub responsible_principal: Option<Principal>,
    /// Samordnare, set at the meeting.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub coordinator: Option<CoordinatorRef>,
    pub version: i64,
    #[serde(serialize_with = "time::instant")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "time::instant")]
    pub updated_at: DateTime<Utc>,
}

/// The plan's coordinator.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CoordinatorRef {
    pub name: String,
    pub hsa_id: String,
}

page_of!(PlanPage, Plan, "plans");

impl Plan {
    pub fn from_record(record: PlanRecord) -> Result<Plan> {
        let p = record.plan;
        let status = p.status;
        Ok(Plan {
            initiating_unit: UnitRef {
                hsa_id: p.initiating_unit.into(),
                principal: p.initiating_principal,
            },
            allowed_actions: status.allowed_actions().to_vec(),
            status,
            has_active_consent: record.active_consent_until.is_some(),
            active_consent_until: record.active_consent_until,
            topics_to_avoid: parse_json_list(&p.topics_to_avoid, "plan topics to avoid")?,
            closing_reason: p.closing_reason,
            id: p.id.into(),
            individual_id: p.individual_id.into(),
            created_by: p.created_by,
            need_reason: p.need_reason,
            what_matters: p.what_matters,
            follows_discharge: p.follows_discharge,
            discharge_ready_at: p.discharge_ready_at.map(|t| t.and_utc()),
            closing_note: p.closing_note,
            closed_at: p.closed_at.map(|t| t.and_utc()),
            revision: p.revision,
            next_follow_up_on: p.next_follow_up_on,
            procedure_code: p.procedure_code,
            responsible_principal: p.responsible_principal,
            coordinator: match (p.coordinator_name, p.coordinator_unit) {
                (Some(name), Some(hsa_id)) => Some(CoordinatorRef {
                    name,
                    hsa_id: hsa_id.into_string(),
                }),
                _ => None,
            },
            version: p.version,
            created_at: p.created_at.and_utc(),
            updated_at: p.updated_at.and_utc(),
        })
    }
}
