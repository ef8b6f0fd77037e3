//! The deviation as the API shows it.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::page_of;
use crate::db::deviations::DeviationRow;
use crate::domain::deviation::{feedback_late, Category, DeviationAction, DeviationStatus};
use crate::domain::Principal;
use crate::error::Result;

/// A deviation (avvikelse).
#[derive(Debug, Serialize, ToSchema)]
pub struct Deviation {
    #[schema(format = Uuid)]
    pub id: String,
    pub category: Category,
    pub status: DeviationStatus,
    /// What the status allows (which unit may take each: see the description).
    pub allowed_actions: Vec<DeviationAction>,
    /// `manual`, or `automatic` when the service filed it from the process.
    pub source: String,
    pub reporting_unit: String,
    pub reporting_principal: Principal,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub concerned_unit: Option<String>,
    /// The concerned unit's or actor's name, where known.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub concerned_name: Option<String>,
    pub concerned_principal: Principal,
    /// The plan it concerns: its id only; the plan's data stays behind the plan's own access rules.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Uuid, nullable = false)]
    pub plan_id: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub description: String,
    /// A system-level issue for the regional body.
    pub system_level: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub temporary_division: Option<String>,
    /// The day the concerned unit's feedback is due (`DEVIATION_FEEDBACK_DAYS` after filing).
    pub feedback_due: NaiveDate,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub feedback: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub feedback_at: Option<DateTime<Utc>>,
    /// The feedback came after its day, or has not come and the day has passed.
    pub feedback_late: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub analysis: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub action_taken: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub dismissal_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub closed_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

page_of!(DeviationPage, Deviation, "deviations");

impl Deviation {
    pub fn from_row(d: DeviationRow, now: DateTime<Utc>) -> Result<Deviation> {
        let status = d.status;
        let feedback_at = d.feedback_at.map(|t| t.and_utc());
        let open = matches!(
            status,
            DeviationStatus::Reported | DeviationStatus::UnderInvestigation
        );
        Ok(Deviation {
            category: d.category,
            allowed_actions: status.allowed_actions().to_vec(),
            status,
            reporting_principal: d.reporting_principal,
            concerned_principal: d.concerned_principal,
            occurred_at: d.occurred_at.and_utc(),
            feedback_late: (open || feedback_at.is_some())
                && feedback_late(d.feedback_due, feedback_at, now),
            feedback_at,
            closed_at: d.closed_at.map(|t| t.and_utc()),
            created_at: d.created_at.and_utc(),
            updated_at: d.updated_at.and_utc(),
            id: d.id.into(),
            source: d.source,
            reporting_unit: d.reporting_unit.into(),
            concerned_unit: d.concerned_unit.map(String::from),
            concerned_name: d.concerned_name,
            plan_id: d.plan_id.map(String::from),
            description: d.description,
            system_level: d.system_level,
            temporary_division: d.temporary_division,
            feedback_due: d.feedback_due,
            feedback: d.feedback,
            analysis: d.analysis,
            action_taken: d.action_taken,
            dismissal_reason: d.dismissal_reason,
            version: d.version,
        })
    }
}
