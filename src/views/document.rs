//! The whole plan in one document: for a journal system, for the printout the individual gets,
//! and as the record of what the plan said at each revision. Built from rows read in a fixed
//! number of queries, whatever the plan holds (`service::documents`).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::consent::Consent;
use super::individual::Individual;
use super::plan::Plan;
use super::process::{FollowUp, Goal, Intervention, Meeting, Summons};
use crate::db::documents::DocumentRows;
use crate::db::individuals::IndividualRecord;
use crate::db::plans::PlanRecord;
use crate::domain::Principal;
use crate::error::Result;

/// A unit or actor to tell that the plan has closed.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Notice {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub hsa_id: Option<String>,
    pub name: String,
    pub principal: Principal,
}

/// The whole plan.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PlanDocument {
    pub plan: Plan,
    pub individual: Individual,
    pub consents: Vec<Consent>,
    pub summons: Vec<Summons>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub meeting: Option<Meeting>,
    pub goals: Vec<Goal>,
    pub interventions: Vec<Intervention>,
    pub follow_ups: Vec<FollowUp>,
    /// For a closed plan: everyone involved, who must learn that it no longer applies.
    pub units_to_notify: Vec<Notice>,
}

impl PlanDocument {
    /// The document of a plan from its rows, as it reads on `today`.
    pub fn build(plan: PlanRecord, rows: DocumentRows, today: NaiveDate) -> Result<PlanDocument> {
        let individual = IndividualRecord {
            individual: rows.individual,
            guardians: rows.guardians,
        };
        Ok(PlanDocument {
            plan: Plan::from_record(plan)?,
            individual: Individual::from_record(individual, today)?,
            consents: rows
                .consents
                .into_iter()
                .map(|c| Consent::from_record(c, today))
                .collect::<Result<_>>()?,
            summons: rows
                .summons
                .into_iter()
                .map(Summons::from_record)
                .collect::<Result<_>>()?,
            meeting: rows.meeting.map(Meeting::from_row).transpose()?,
            goals: rows
                .goals
                .into_iter()
                .map(Goal::from_row)
                .collect::<Result<_>>()?,
            interventions: rows
                .interventions
                .into_iter()
                .map(Intervention::from_record)
                .collect::<Result<_>>()?,
            follow_ups: rows
                .follow_ups
                .into_iter()
                .map(FollowUp::from_row)
                .collect::<Result<_>>()?,
            units_to_notify: rows
                .closure_notices
                .into_iter()
                .map(|n| -> Result<Notice> {
                    Ok(Notice {
                        principal: n.principal,
                        hsa_id: n.hsa_id.map(String::from),
                        name: n.name,
                    })
                })
                .collect::<Result<_>>()?,
        })
    }
}

/// A revision of the plan: when it was established and by whom.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RevisionSummary {
    pub revision: i32,
    pub established_at: DateTime<Utc>,
    pub established_by: String,
}
