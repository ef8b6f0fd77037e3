//! The whole plan in one document: for a journal system, for the printout the individual gets,
//! and as the record of what the plan said at each revision. Loaded in a fixed number of queries,
//! whatever the plan holds.

use crate::domain::calendar::swedish_date;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::consent::Consent;
use super::individual::Individual;
use super::plan::Plan;
use super::process::{FollowUp, Goal, Intervention, Meeting, Summons};
use crate::auth::Caller;
use crate::db::meetings::{self as meeting_store, RevisionRow};
use crate::db::plans::PlanRow;
use crate::db::{documents, DbConn};
use crate::domain::Principal;
use crate::error::Result;
use crate::service::individuals::IndividualRecord;
use crate::service::{naive, plans};

/// A unit or actor to tell that the plan has closed.
#[derive(Debug, Serialize, ToSchema)]
pub struct Notice {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub hsa_id: Option<String>,
    pub name: String,
    pub principal: Principal,
}

/// The whole plan.
#[derive(Debug, Serialize, ToSchema)]
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

pub fn load(
    conn: &mut DbConn,
    caller: &Caller,
    plan_id: &str,
    now: DateTime<Utc>,
) -> Result<PlanDocument> {
    let today = swedish_date(now);
    let plan = plans::get(conn, caller, plan_id, today)?;
    let rows = documents::of_plan(conn, &plan.plan.id, &plan.plan.individual_id)?;
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
        meeting: rows.meeting.map(Meeting::from_row),
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
            .collect(),
        units_to_notify: rows
            .closure_notices
            .into_iter()
            .map(|n| Notice {
                hsa_id: n.hsa_id,
                name: n.name,
                principal: Principal::parse(&n.principal).unwrap_or(Principal::Other),
            })
            .collect(),
    })
}

/// Stores what the plan says now as its current revision: never rewritten, so what it said before a
/// revision can always be read back.
pub fn snapshot(
    conn: &mut DbConn,
    caller: &Caller,
    plan: &PlanRow,
    now: DateTime<Utc>,
) -> Result<()> {
    let document = load(conn, caller, &plan.id, now)?;
    let json = serde_json::to_string(&document).map_err(|e| {
        crate::error::Error::Internal(format!("cannot serialise a plan document: {e}"))
    })?;
    meeting_store::insert_revision(
        conn,
        &RevisionRow {
            plan_id: plan.id.clone(),
            revision: plan.revision,
            established_at: naive(now),
            established_by: caller.subject.clone(),
            document: json,
        },
    )
}

/// A revision of the plan: when it was established and by whom.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevisionSummary {
    pub revision: i32,
    pub established_at: DateTime<Utc>,
    pub established_by: String,
}
