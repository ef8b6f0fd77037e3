//! The plan's content: the individual's goals and the interventions that serve them.

use super::deviations::{file_automatically, Automatic};
use super::plans::{load as load_plan, save as save_plan};
use super::Context;
use super::{concurrent_update, journal_of, naive, Change};
use crate::db::goals::{self as store, GoalRow, InterventionRecord, InterventionRow};
use crate::db::plans::PlanRow;
use crate::db::DbConn;
use crate::domain::deviation::Category;
use crate::domain::ensure_version;
use crate::domain::events::{EventType, ResourceType};
use crate::domain::identity::HsaId;
use crate::domain::ids::{GoalId, InterventionId, PlanId};
use crate::domain::plan::PlanAction;
use crate::domain::process::ResponsibleParty;
use crate::domain::process::{
    check_intervention, check_room, check_status_change, GoalInput, GoalStatus, InterventionInput,
    InterventionStatus, InterventionStatusChange,
};
use crate::domain::Principal;
use crate::error::{Error, Result};

/// The new version of the plan a goal or intervention belongs to, saved after the goal's or
/// intervention's own change: anything under a plan changes the plan.
fn plan_content_changed(conn: &mut DbConn, ctx: &Context, plan: &mut PlanRow) -> Result<()> {
    save_plan(conn, ctx, plan, EventType::PlanContentChanged, None)
}

fn goal_not_found() -> Error {
    Error::NotFound("this plan has no goal with this id".into())
}

fn intervention_not_found() -> Error {
    Error::NotFound("this plan has no intervention with this id".into())
}

pub fn add_goal(
    conn: &mut DbConn,
    ctx: &Context,
    plan_id: &PlanId,
    input: GoalInput,
) -> Result<GoalRow> {
    let mut plan = load_plan(conn, ctx, plan_id)?;
    plan.status.ensure_allows(PlanAction::EditContent)?;
    let goals = store::goals_of(conn, &plan.id)?;
    check_room(goals.len(), "goals")?;
    let parent_id = match &input.parent_id {
        None => None,
        Some(parent) => Some(
            goals
                .iter()
                .find(|g| g.id == *parent && g.parent_id.is_none())
                .map(|g| g.id.clone())
                .ok_or_else(|| {
                    Error::validation(
                        "$.parent_id",
                        "must be a long-term goal of this plan (sub-goals have no sub-goals)",
                    )
                })?,
        ),
    };
    let at = naive(ctx.now);
    let goal = GoalRow {
        id: GoalId::new(),
        plan_id: plan.id.clone(),
        parent_id,
        position: goals.iter().map(|g| g.position).max().unwrap_or(-1) + 1,
        text: input.text,
        measure: input.measure,
        target_date: input.target_date,
        status: GoalStatus::Active,
        version: 1,
        created_at: at,
        updated_at: at,
    };
    let change = Change::of(
        EventType::GoalCreated,
        ResourceType::Goal,
        &goal.id,
        &goal.plan_id,
        1,
    );
    // The goal with its journal (one statement on PostgreSQL), then the plan's new version.
    store::insert_goal_journaled(conn, &goal, journal_of(ctx, naive(ctx.now), change))?;
    plan_content_changed(conn, ctx, &mut plan)?;
    Ok(goal)
}

pub fn update_goal(
    conn: &mut DbConn,
    ctx: &Context,
    plan_id: &PlanId,
    goal_id: &GoalId,
    expected_version: Option<crate::domain::Versions>,
    input: GoalInput,
) -> Result<GoalRow> {
    let mut plan = load_plan(conn, ctx, plan_id)?;
    plan.status.ensure_allows(PlanAction::EditContent)?;
    let mut goal = store::goals_of(conn, &plan.id)?
        .into_iter()
        .find(|g| g.id == *goal_id)
        .ok_or_else(goal_not_found)?;
    ensure_version(&expected_version, goal.version)?;
    if input.parent_id.as_deref() != goal.parent_id.as_deref() {
        return Err(Error::validation(
            "$.parent_id",
            "a goal's parent cannot change: add a new goal instead",
        ));
    }
    let at = naive(ctx.now);
    goal.text = input.text;
    goal.measure = input.measure;
    goal.target_date = input.target_date;
    goal.version += 1;
    goal.updated_at = at;
    let change = Change::of(
        EventType::GoalUpdated,
        ResourceType::Goal,
        &goal.id,
        &goal.plan_id,
        goal.version,
    );
    let journal = journal_of(ctx, at, change);
    store::update_goal(conn, &goal, journal, concurrent_update(goal.version))?;
    plan_content_changed(conn, ctx, &mut plan)?;
    Ok(goal)
}

pub fn add_intervention(
    conn: &mut DbConn,
    ctx: &Context,
    plan_id: &PlanId,
    mut input: InterventionInput,
) -> Result<InterventionRecord> {
    let mut plan = load_plan(conn, ctx, plan_id)?;
    plan.status.ensure_allows(PlanAction::EditContent)?;
    check_intervention(&mut input, &store::goal_ids_of(conn, &plan.id)?)
        .map_err(Error::Validation)?;
    let (existing, last_position) = store::intervention_count_and_last_position(conn, &plan.id)?;
    check_room(existing as usize, "interventions")?;
    let at = naive(ctx.now);
    let record_ = InterventionRecord {
        intervention: InterventionRow {
            id: InterventionId::new(),
            plan_id: plan.id.clone(),
            position: last_position.unwrap_or(-1) + 1,
            description: input.description,
            responsible_principal: input.responsible,
            responsible_unit: input
                .responsible_unit
                .as_deref()
                .map(HsaId::checked)
                .transpose()?,
            responsible_actor: input.responsible_actor,
            performer: input.performer,
            start_date: input.start_date,
            frequency: input.frequency,
            place: input.place,
            status: InterventionStatus::Planned,
            status_reason: None,
            // Added to the revision being prepared: it needs no carry-over review.
            reviewed_in_revision: plan.revision + 1,
            version: 1,
            created_at: at,
            updated_at: at,
        },
        goal_ids: input.goal_ids,
    };
    let mut change = Change::of(
        EventType::InterventionCreated,
        ResourceType::Intervention,
        &record_.intervention.id,
        &record_.intervention.plan_id,
        1,
    );
    change.to_status = Some(InterventionStatus::Planned.as_str());
    let journal = journal_of(ctx, naive(ctx.now), change);
    store::insert_intervention_journaled(conn, &record_, journal)?;
    plan_content_changed(conn, ctx, &mut plan)?;
    Ok(record_)
}

fn load_intervention(conn: &mut DbConn, plan_id: &str, id: &str) -> Result<InterventionRecord> {
    store::interventions_of(conn, plan_id)?
        .into_iter()
        .find(|i| i.intervention.id == id)
        .ok_or_else(intervention_not_found)
}

pub fn update_intervention(
    conn: &mut DbConn,
    ctx: &Context,
    plan_id: &PlanId,
    id: &InterventionId,
    expected_version: Option<crate::domain::Versions>,
    mut input: InterventionInput,
) -> Result<InterventionRecord> {
    let mut plan = load_plan(conn, ctx, plan_id)?;
    plan.status.ensure_allows(PlanAction::EditContent)?;
    let mut current = load_intervention(conn, &plan.id, id)?;
    ensure_version(&expected_version, current.intervention.version)?;
    let status = current.intervention.status;
    if !status.is_open() {
        return Err(Error::InvalidState {
            detail: format!(
                "the intervention is {status}: only a planned or ongoing intervention can change"
            ),
            current_state: status.as_str().into(),
            allowed_actions: vec![],
        });
    }
    check_intervention(&mut input, &store::goal_ids_of(conn, &plan.id)?)
        .map_err(Error::Validation)?;
    let at = naive(ctx.now);
    let row = &mut current.intervention;
    row.description = input.description;
    row.responsible_principal = input.responsible;
    row.responsible_unit = input
        .responsible_unit
        .as_deref()
        .map(HsaId::checked)
        .transpose()?;
    row.responsible_actor = input.responsible_actor;
    row.performer = input.performer;
    row.start_date = input.start_date;
    row.frequency = input.frequency;
    row.place = input.place;
    row.version += 1;
    row.updated_at = at;
    current.goal_ids = input.goal_ids;
    let row = &current.intervention;
    let change = Change::of(
        EventType::InterventionUpdated,
        ResourceType::Intervention,
        &row.id,
        &row.plan_id,
        row.version,
    );
    let journal = journal_of(ctx, at, change);
    let lost = concurrent_update(row.version);
    store::update_intervention(conn, row, Some(&current.goal_ids), journal, lost)?;
    plan_content_changed(conn, ctx, &mut plan)?;
    Ok(current)
}

/// Records a new status of an intervention; the history keeps every earlier one.
pub fn change_intervention_status(
    conn: &mut DbConn,
    ctx: &Context,
    plan_id: &PlanId,
    id: &InterventionId,
    expected_version: Option<crate::domain::Versions>,
    change: InterventionStatusChange,
) -> Result<InterventionRecord> {
    let mut plan = load_plan(conn, ctx, plan_id)?;
    plan.status
        .ensure_allows(PlanAction::UpdateInterventionStatus)?;
    let mut current = load_intervention(conn, &plan.id, id)?;
    ensure_version(&expected_version, current.intervention.version)?;
    crate::policy::may_change_intervention_status(&ctx.caller, &plan, &current.intervention)?;
    let from = current.intervention.status;
    check_status_change(from, &change).map_err(Error::Validation)?;
    set_intervention_status(
        conn,
        ctx,
        &plan.id,
        &mut current.intervention,
        change.status,
        change.reason,
    )?;
    if change.status == InterventionStatus::NotCarriedOut {
        file_not_carried_out(conn, ctx, &plan, &current.intervention)?;
    }
    plan_content_changed(conn, ctx, &mut plan)?;
    Ok(current)
}

/// An agreed intervention not carried out is a deviation (intervention_not_carried_out), filed for
/// the unit that runs the plan to confirm or dismiss. What the individual does themself is not.
fn file_not_carried_out(
    conn: &mut DbConn,
    ctx: &Context,
    plan: &crate::db::plans::PlanRow,
    intervention: &InterventionRow,
) -> Result<()> {
    let concerned_principal = match intervention.responsible_principal {
        ResponsibleParty::Region => Principal::Region,
        ResponsibleParty::Municipality => Principal::Municipality,
        ResponsibleParty::Other => Principal::Other,
        ResponsibleParty::Individual => return Ok(()),
    };
    let deviation = Automatic {
        category: Category::InterventionNotCarriedOut,
        source_key: format!("not_carried_out:{}", intervention.id),
        reporting_unit: &plan.initiating_unit,
        reporting_principal: plan.initiating_principal,
        concerned_unit: intervention.responsible_unit.clone(),
        concerned_name: intervention.responsible_actor.clone(),
        concerned_principal,
        plan_id: &plan.id,
        description: format!(
            "The agreed intervention \"{}\" was not carried out: {}",
            intervention.description,
            intervention
                .status_reason
                .as_deref()
                .unwrap_or("no reason given")
        ),
    };
    file_automatically(conn, ctx, deviation)
}

/// Moves an intervention to `status` and records the move with its reason.
pub fn set_intervention_status(
    conn: &mut DbConn,
    ctx: &Context,
    plan_id: &PlanId,
    row: &mut InterventionRow,
    status: InterventionStatus,
    reason: Option<String>,
) -> Result<()> {
    let from = row.status;
    let at = naive(ctx.now);
    row.status = status;
    row.status_reason = reason;
    row.version += 1;
    row.updated_at = at;
    let mut change = Change::of(
        EventType::InterventionStatusChanged,
        ResourceType::Intervention,
        &row.id,
        plan_id,
        row.version,
    );
    change.from_status = Some(from.as_str());
    change.to_status = Some(status.as_str());
    change.note = row.status_reason.as_deref();
    let journal = journal_of(ctx, at, change);
    store::update_intervention(conn, row, None, journal, concurrent_update(row.version))
}

pub fn goals(conn: &mut DbConn, ctx: &Context, plan_id: &PlanId) -> Result<Vec<GoalRow>> {
    let plan = load_plan(conn, ctx, plan_id)?;
    store::goals_of(conn, &plan.id)
}

pub fn interventions(
    conn: &mut DbConn,
    ctx: &Context,
    plan_id: &PlanId,
) -> Result<Vec<InterventionRecord>> {
    let plan = load_plan(conn, ctx, plan_id)?;
    store::interventions_of(conn, &plan.id)
}
