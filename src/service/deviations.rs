//! Reporting deviations, filing them automatically from the process, and moving them to closure.

use super::Context;
use crate::domain::identity::HsaId;
use crate::domain::ids::{DeviationId, Id, PlanId};
use chrono::Duration;

use super::{journal_of, naive, Change};
use crate::db::deviations::{self as store, DeviationFilter, DeviationRow};
use crate::db::DbConn;
use crate::domain::deviation::{
    check_new_deviation, Category, DeviationAction, DeviationStatus, NewDeviation, Parties,
};
use crate::domain::events::{EventType, ResourceType};
use crate::domain::{ensure_version, Principal};
use crate::error::{Error, FieldError, Result};

fn not_found() -> Error {
    Error::NotFound("no deviation with this id is visible to your unit".into())
}

/// The change of a deviation, as its change event and access-log row tell it.
fn change_of<'a>(row: &'a DeviationRow, event: EventType, from: Option<&'a str>) -> Change<'a> {
    Change {
        event_type: event,
        resource_type: ResourceType::Deviation,
        resource_id: &row.id,
        plan_id: row.plan_id.as_deref(),
        version: row.version,
        from_status: from,
        to_status: Some(row.status.as_str()),
        reason: Some(row.category.as_str()),
        note: None,
    }
}

/// Stores a new deviation, filed or reported, with its journal.
fn insert_new(
    conn: &mut DbConn,
    ctx: &Context,
    row: &DeviationRow,
    event: EventType,
) -> Result<()> {
    let journal = journal_of(ctx, naive(ctx.now), change_of(row, event, None));
    store::insert_journaled(conn, row, journal)
}

/// A deviation filed by the service itself from what the process recorded.
pub struct Automatic<'a> {
    pub category: Category,
    /// The event it is filed for: the same event recorded twice files one deviation.
    pub source_key: String,
    pub reporting_unit: &'a HsaId,
    pub reporting_principal: Principal,
    pub concerned_unit: Option<HsaId>,
    pub concerned_name: Option<String>,
    pub concerned_principal: Principal,
    pub plan_id: &'a PlanId,
    pub description: String,
}

/// Files a suggested deviation unless one was already filed for the same event.
pub fn file_automatically(
    conn: &mut DbConn,
    ctx: &Context,
    deviation: Automatic<'_>,
) -> Result<()> {
    if store::exists_for_source(conn, &deviation.source_key)? {
        return Ok(());
    }
    let at = naive(ctx.now);
    let row = DeviationRow {
        id: Id::new(),
        category: deviation.category,
        status: DeviationStatus::Suggested,
        source: "automatic".into(),
        source_key: Some(deviation.source_key),
        reporting_unit: deviation.reporting_unit.clone(),
        reporting_principal: deviation.reporting_principal,
        concerned_unit: deviation.concerned_unit,
        concerned_name: deviation.concerned_name,
        concerned_principal: deviation.concerned_principal,
        plan_id: Some(deviation.plan_id.clone()),
        occurred_at: at,
        description: deviation.description,
        system_level: false,
        temporary_division: None,
        feedback_due: ctx.today() + Duration::days(ctx.deadlines.deviation_feedback_days),
        feedback: None,
        feedback_at: None,
        analysis: None,
        action_taken: None,
        dismissal_reason: None,
        closed_at: None,
        created_by: ctx.caller.subject.clone(),
        version: 1,
        created_at: at,
        updated_at: at,
    };
    insert_new(conn, ctx, &row, EventType::DeviationFiled)
}

/// A unit reports a deviation.
pub fn report(conn: &mut DbConn, ctx: &Context, input: NewDeviation) -> Result<DeviationRow> {
    let (concerned_unit, mut errors) =
        check_new_deviation(&input, ctx.caller.unit.as_str(), ctx.now);
    // The domain decides whether a plan must be named; here only whether the caller sees it.
    let plan_id = match &input.plan_id {
        None => None,
        Some(id) => {
            let visible = PlanId::parse(id)
                .ok()
                .and_then(|id| super::plans::load(conn, ctx, &id).ok());
            match visible {
                Some(plan) => Some(plan.id),
                None => {
                    errors.push(FieldError::new(
                        "$.plan_id",
                        "no plan with this id is visible to your unit",
                    ));
                    None
                }
            }
        }
    };
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    let at = naive(ctx.now);
    let row = DeviationRow {
        id: Id::new(),
        category: input.category,
        status: DeviationStatus::Reported,
        source: "manual".into(),
        source_key: None,
        reporting_unit: ctx.caller.unit.clone(),
        reporting_principal: ctx.caller.principal,
        concerned_unit,
        concerned_name: None,
        concerned_principal: input.concerned_principal,
        plan_id,
        occurred_at: naive(crate::domain::truncate_to_micros(input.occurred_at)),
        description: input.description,
        system_level: input.system_level,
        temporary_division: input.temporary_division,
        feedback_due: ctx.today() + Duration::days(ctx.deadlines.deviation_feedback_days),
        feedback: None,
        feedback_at: None,
        analysis: None,
        action_taken: None,
        dismissal_reason: None,
        closed_at: None,
        created_by: ctx.caller.subject.clone(),
        version: 1,
        created_at: at,
        updated_at: at,
    };
    insert_new(conn, ctx, &row, EventType::DeviationReported)?;
    Ok(row)
}

pub fn get(conn: &mut DbConn, ctx: &Context, id: &DeviationId) -> Result<DeviationRow> {
    store::find(conn, ctx.caller.unit.as_str(), id)?.ok_or_else(not_found)
}

pub fn list(
    conn: &mut DbConn,
    ctx: &Context,
    filter: &DeviationFilter,
    cursor: Option<&str>,
    limit: i64,
) -> Result<(Vec<DeviationRow>, Option<String>)> {
    let rows = store::list(conn, ctx.caller.unit.as_str(), filter, cursor, limit + 1)?;
    let (rows, next) = super::page(rows, limit, |r| r.id.to_string());
    Ok((rows, next))
}

/// One step of a deviation, with what the step records.
pub enum Step {
    Confirm,
    Dismiss {
        reason: String,
    },
    Investigate,
    Feedback {
        feedback: String,
    },
    Close {
        analysis: String,
        action_taken: String,
    },
    Update {
        description: String,
        system_level: bool,
        temporary_division: Option<String>,
    },
}

pub fn act(
    conn: &mut DbConn,
    ctx: &Context,
    id: &DeviationId,
    expected_version: Option<crate::domain::Versions>,
    step: Step,
) -> Result<DeviationRow> {
    let mut row = get(conn, ctx, id)?;
    let unit = ctx.caller.unit.as_str();
    let parties = Parties {
        reporting: row.reporting_unit == unit,
        concerned: row.concerned_unit.as_deref() == Some(unit),
    };
    let action = match &step {
        Step::Confirm => DeviationAction::Confirm,
        Step::Dismiss { .. } => DeviationAction::Dismiss,
        Step::Investigate => DeviationAction::Investigate,
        Step::Feedback { .. } => DeviationAction::GiveFeedback,
        Step::Close { .. } => DeviationAction::Close,
        Step::Update { .. } => DeviationAction::Update,
    };
    let from = row.status;
    let to = from.apply(action, parties)?;
    ensure_version(&expected_version, row.version)?;
    let at = naive(ctx.now);
    match step {
        Step::Dismiss { reason } => row.dismissal_reason = Some(reason),
        Step::Feedback { feedback } => {
            row.feedback = Some(feedback);
            row.feedback_at = Some(at);
        }
        Step::Close {
            analysis,
            action_taken,
        } => {
            row.analysis = Some(analysis);
            row.action_taken = Some(action_taken);
            row.closed_at = Some(at);
        }
        Step::Update {
            description,
            system_level,
            temporary_division,
        } => {
            row.description = description;
            row.system_level = system_level;
            row.temporary_division = temporary_division;
        }
        Step::Confirm | Step::Investigate => {}
    }
    row.status = to;
    row.version += 1;
    row.updated_at = at;
    let event = EventType::of_deviation_action(action);
    let journal = journal_of(ctx, at, change_of(&row, event, Some(from.as_str())));
    store::update(conn, &row, journal, super::concurrent_update(row.version))?;
    Ok(row)
}
