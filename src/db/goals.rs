//! Goals (mål, delmål) and interventions (insatser) with the goals they serve.

use super::native::NativeRunQueryDsl;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::journal::{self, Journal};
use super::schema::{goals, intervention_goals, interventions};
use super::DbConn;
use crate::domain::identity::HsaId;
use crate::domain::ids::{GoalId, InterventionId, PlanId};
use crate::domain::process::GoalStatus;
use crate::domain::process::InterventionStatus;
use crate::domain::process::ResponsibleParty;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, serde::Deserialize)]
#[diesel(table_name = goals, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct GoalRow {
    pub id: GoalId,
    pub plan_id: PlanId,
    pub parent_id: Option<GoalId>,
    pub position: i32,
    pub text: String,
    pub measure: Option<String>,
    pub target_date: Option<NaiveDate>,
    pub status: GoalStatus,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, serde::Deserialize)]
#[diesel(table_name = interventions, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct InterventionRow {
    pub id: InterventionId,
    pub plan_id: PlanId,
    pub position: i32,
    pub description: String,
    pub responsible_principal: ResponsibleParty,
    pub responsible_unit: Option<HsaId>,
    pub responsible_actor: Option<String>,
    pub performer: Option<String>,
    pub start_date: Option<NaiveDate>,
    pub frequency: Option<String>,
    pub place: Option<String>,
    pub status: InterventionStatus,
    pub status_reason: Option<String>,
    /// The plan revision that last decided this intervention belongs to the plan.
    pub reviewed_in_revision: i32,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// An intervention with the ids of the goals it serves.
#[derive(Debug, Clone)]
pub struct InterventionRecord {
    pub intervention: InterventionRow,
    pub goal_ids: Vec<String>,
}

/// Stores a new goal with its access-log row and change event: one statement on PostgreSQL
/// (`journal::write_with`).
pub fn insert_goal_journaled(conn: &mut DbConn, row: &GoalRow, journal: Journal) -> Result<()> {
    journal::write_with(conn, diesel::insert_into(goals::table).values(row), journal)
}

/// Stores `row` with its journal if its version is still the one before; `Err(lost)` if not.
pub fn update_goal(conn: &mut DbConn, row: &GoalRow, journal: Journal, lost: Error) -> Result<()> {
    super::prepared::update_journaled!(conn, goals, row, journal, lost)
}

/// A plan's goals in their order.
pub fn goals_of(conn: &mut DbConn, plan_id: &str) -> Result<Vec<GoalRow>> {
    Ok(goals::table
        .filter(goals::plan_id.eq(plan_id))
        .order((goals::position, goals::id))
        .select(super::native::columns::<GoalRow>())
        .load_native(conn)?)
}

/// The ids of a plan's goals (what an intervention may serve), without the rest of their rows.
pub fn goal_ids_of(conn: &mut DbConn, plan_id: &str) -> Result<Vec<String>> {
    Ok(goals::table
        .filter(goals::plan_id.eq(plan_id))
        .select(goals::id)
        .load_native(conn)?)
}

/// How many interventions a plan has, and the highest position among them: what a new one needs
/// (the room left, its place last) — one aggregate instead of every intervention and its goals.
pub fn intervention_count_and_last_position(
    conn: &mut DbConn,
    plan_id: &str,
) -> Result<(i64, Option<i32>)> {
    Ok(interventions::table
        .filter(interventions::plan_id.eq(plan_id))
        .select((
            diesel::dsl::count_star(),
            diesel::dsl::max(interventions::position),
        ))
        .first_native(conn)?)
}

/// Stores a new intervention with its access-log row and change event (one statement on
/// PostgreSQL, `journal::write_with`), then its goals.
pub fn insert_intervention_journaled(
    conn: &mut DbConn,
    record: &InterventionRecord,
    journal: Journal,
) -> Result<()> {
    journal::write_with(
        conn,
        diesel::insert_into(interventions::table).values(&record.intervention),
        journal,
    )?;
    link_goals(conn, &record.intervention.id, &record.goal_ids)
}

/// An intervention's goals, in one statement however many.
fn link_goals(conn: &mut DbConn, intervention_id: &str, goal_ids: &[String]) -> Result<()> {
    if goal_ids.is_empty() {
        return Ok(());
    }
    let links: Vec<_> = goal_ids
        .iter()
        .map(|goal_id| {
            (
                intervention_goals::intervention_id.eq(intervention_id),
                intervention_goals::goal_id.eq(goal_id),
            )
        })
        .collect();
    super::insert_rows!(conn, intervention_goals::table, &links)?;
    Ok(())
}

/// Stores the intervention with its journal (and, with `goal_ids`, its goals) if its version is
/// still the one before; `Err(lost)` if not.
pub fn update_intervention(
    conn: &mut DbConn,
    row: &InterventionRow,
    goal_ids: Option<&[String]>,
    journal: Journal,
    lost: Error,
) -> Result<()> {
    super::prepared::update_journaled!(conn, interventions, row, journal, lost)?;
    if let Some(goal_ids) = goal_ids {
        diesel::delete(
            intervention_goals::table.filter(intervention_goals::intervention_id.eq(&row.id)),
        )
        .execute_native(conn)?;
        link_goals(conn, &row.id, goal_ids)?;
    }
    Ok(())
}

/// A plan's interventions in their order, with their goals: two queries.
pub fn interventions_of(conn: &mut DbConn, plan_id: &str) -> Result<Vec<InterventionRecord>> {
    let rows = interventions::table
        .filter(interventions::plan_id.eq(plan_id))
        .order((interventions::position, interventions::id))
        .select(super::native::columns::<InterventionRow>())
        .load_native(conn)?;
    let links: Vec<(String, String)> = intervention_goals::table
        .inner_join(interventions::table)
        .filter(interventions::plan_id.eq(plan_id))
        .select((
            intervention_goals::intervention_id,
            intervention_goals::goal_id,
        ))
        .order((
            intervention_goals::intervention_id,
            intervention_goals::goal_id,
        ))
        .load_native(conn)?;
    Ok(assemble_interventions(rows, links))
}

/// Interventions with the ids of their goals; `links` are (intervention, goal) pairs.
pub(super) fn assemble_interventions(
    rows: Vec<InterventionRow>,
    links: Vec<(String, String)>,
) -> Vec<InterventionRecord> {
    rows.into_iter()
        .map(|intervention| InterventionRecord {
            goal_ids: links
                .iter()
                .filter(|(i, _)| *i == intervention.id)
                .map(|(_, g)| g.clone())
                .collect(),
            intervention,
        })
        .collect()
}
