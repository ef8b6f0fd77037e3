//! The meeting that establishes the plan, follow-ups, revision and closure.

use super::Context;
use crate::domain::identity::HsaId;
use crate::domain::ids::{FollowUpId, Id, PlanId};
use chrono::{DateTime, Utc};

use super::content::set_intervention_status;
use super::deviations::{file_automatically, Automatic};
use super::plans::{load as load_plan, save as save_plan, PlanRecord};
use super::summons::coverage;
use super::{concurrent_update, journal_of, naive, new_id, record, Change};
use crate::db::goals as content_store;
use crate::db::meetings::{self as store, FollowUpRow, MeetingRow};
use crate::db::plans::PlanRow;
use crate::db::summons as summons_store;
use crate::db::DbConn;
use crate::domain::deviation::Category;
use crate::domain::ensure_version;
use crate::domain::events::{EventType, ResourceType};
use crate::domain::plan::{apply, on_close, ClosingReason, PlanAction, Step};
use crate::domain::process::{
    check_follow_up, check_meeting, check_revision, procedure_code, CarryOver, Decision,
    FollowUpRecord, FollowUpSlot, InterventionStatus, MeetingContext, NewMeeting, Obligation,
    Response, RevisionCompletion,
};
use crate::error::{Error, Result};

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

fn new_follow_up(plan_id: &PlanId, slot: &FollowUpSlot, now: DateTime<Utc>) -> FollowUpRow {
    let at = naive(now);
    FollowUpRow {
        id: Id::new(),
        plan_id: plan_id.clone(),
        scheduled_on: slot.date,
        place: slot.place.clone(),
        held_on: None,
        goal_outcomes: None,
        intervention_reviews: None,
        new_circumstances: None,
        decision: None,
        closing_reason: None,
        recorded_by: None,
        recorded_by_unit: None,
        version: 1,
        created_at: at,
        updated_at: at,
    }
}

fn schedule(
    conn: &mut DbConn,
    ctx: &Context,
    plan: &mut PlanRow,
    slot: &FollowUpSlot,
) -> Result<FollowUpRow> {
    let row = new_follow_up(&plan.id, slot, ctx.now);
    store::insert_follow_up(conn, &row)?;
    record(
        conn,
        ctx,
        naive(ctx.now),
        Change::of(
            EventType::FollowUpScheduled,
            ResourceType::FollowUp,
            &row.id,
            &plan.id,
            1,
        ),
    )?;
    plan.next_follow_up_on = store::next_follow_up_on(conn, &plan.id)?;
    Ok(row)
}

/// Records the SIP meeting: this establishes the plan (procedure code AU124, or AU125 after a
/// discharge) once the law's minimum content is there.
pub fn record_meeting(
    conn: &mut DbConn,
    ctx: &Context,
    plan_id: &PlanId,
    mut input: NewMeeting,
) -> Result<PlanRecord> {
    let mut plan = load_plan(conn, ctx, plan_id)?;
    let status = plan.status;
    status.ensure_allows(PlanAction::RecordMeeting)?;
    if !coverage(conn, &plan.id, ctx.today())?.permits_establishing {
        return Err(status.conflict(
            "the plan can be established only while the individual's active consent permits it (establish_plan)".into(),
        ));
    }
    let summons = summons_store::find(conn, &plan.id, &input.summons_id)?
        .ok_or_else(|| Error::validation("$.summons_id", "not a summons of this plan"))?;
    let interventions = content_store::interventions_of(conn, &plan.id)?;
    let standing = interventions
        .iter()
        .filter(|i| i.intervention.status != InterventionStatus::Cancelled)
        .count();
    let expected: Vec<String> = summons
        .recipients
        .iter()
        .filter(|r| r.response != Some(Response::Forwarded))
        .map(|r| r.id.to_string())
        .collect();
    let context = MeetingContext {
        interventions: standing,
        expected_recipients: &expected,
        summons_sent_at: summons.summons.sent_at.and_utc(),
        follows_discharge: plan.follows_discharge,
    };
    let held_within_deadline =
        check_meeting(&mut input, &context, ctx.now, ctx.deadlines).map_err(Error::Validation)?;

    let at = naive(ctx.now);
    let code = procedure_code(context.follows_discharge);
    let meeting = MeetingRow {
        id: new_id(),
        plan_id: plan.id.clone(),
        summons_id: summons.summons.id.clone(),
        held_at: naive(crate::domain::truncate_to_micros(input.held_at)),
        leader_name: input.leader.name.clone(),
        leader_unit: input
            .leader
            .hsa_id
            .as_deref()
            .map(HsaId::checked)
            .transpose()?,
        secretary_name: input.secretary.name.clone(),
        secretary_unit: input
            .secretary
            .hsa_id
            .as_deref()
            .map(HsaId::checked)
            .transpose()?,
        participants: json(&input.participants),
        disagreements: input.disagreements.clone(),
        individual_agreed: input.individual_agreed,
        individual_received_plan: input.individual_received_plan,
        sip_survey_offered: input.sip_survey_offered,
        visible_in_1177: input.visible_in_1177,
        held_within_deadline,
        procedure_code: code.into(),
        recorded_by: ctx.caller.subject.clone(),
        recorded_by_unit: ctx.caller.unit.clone(),
        created_at: at,
    };
    store::insert_meeting(conn, &meeting)?;
    record(
        conn,
        ctx,
        at,
        Change::of(
            EventType::MeetingRecorded,
            ResourceType::Meeting,
            &meeting.id,
            &plan.id,
            1,
        ),
    )?;

    for attendance in &input.attendance {
        if let Some(r) = summons
            .recipients
            .iter()
            .find(|r| r.id == attendance.recipient_id)
        {
            let mut r = r.clone();
            r.attended = Some(attendance.attended);
            r.version += 1;
            r.updated_at = at;
            // A summoned unit recorded absent is a deviation in the guidelines' sense: this event
            // and the recipient row hold what the deviation report needs.
            let mut change = Change::of(
                EventType::SummonsAttendanceRecorded,
                ResourceType::SummonsRecipient,
                &r.id,
                &plan.id,
                r.version,
            );
            change.to_status = Some(if attendance.attended {
                "attended"
            } else {
                "absent"
            });
            change.reason = Some(r.obligation.as_str());
            let journal = journal_of(ctx, at, change);
            summons_store::update_recipient(conn, &r, journal, concurrent_update(r.version))?;
            if !attendance.attended && r.obligation == Obligation::Summoned {
                file_absence(
                    conn,
                    ctx,
                    &plan,
                    &r,
                    crate::domain::calendar::swedish_date_of(meeting.held_at),
                )?;
            }
        }
    }

    plan.revision = 1;
    plan.procedure_code = Some(code.into());
    plan.responsible_principal = Some(input.responsible_principal);
    plan.coordinator_name = Some(input.coordinator.name.clone());
    plan.coordinator_unit = Some(HsaId::checked(&input.coordinator.hsa_id)?);
    schedule(conn, ctx, &mut plan, &input.first_follow_up)?;
    let moved = apply(status, Step::RecordMeeting)?;
    save_plan(
        conn,
        ctx,
        &mut plan,
        EventType::PlanEstablished,
        Some(moved),
    )?;
    super::documents::snapshot(conn, ctx, &plan)?;
    Ok(PlanRecord::on(plan, ctx.today()))
}

/// A summoned unit that did not come is a deviation (summoned_unit_absent), filed for the unit that
/// runs the plan to confirm or dismiss.
fn file_absence(
    conn: &mut DbConn,
    ctx: &Context,
    plan: &PlanRow,
    recipient: &crate::db::summons::RecipientRow,
    day: chrono::NaiveDate,
) -> Result<()> {
    let deviation = Automatic {
        category: Category::SummonedUnitAbsent,
        source_key: format!("absent:{}", recipient.id),
        reporting_unit: &plan.initiating_unit,
        reporting_principal: plan.initiating_principal,
        concerned_unit: recipient.hsa_id.clone(),
        concerned_name: Some(recipient.name.clone()),
        concerned_principal: recipient.principal,
        plan_id: &plan.id,
        description: format!(
            "{} was summoned to the SIP meeting on {day} and did not attend",
            recipient.name
        ),
    };
    file_automatically(conn, ctx, deviation)
}

/// Schedules a further follow-up of an established plan.
pub fn schedule_follow_up(
    conn: &mut DbConn,
    ctx: &Context,
    plan_id: &PlanId,
    slot: FollowUpSlot,
) -> Result<FollowUpRow> {
    let mut plan = load_plan(conn, ctx, plan_id)?;
    plan.status.ensure_allows(PlanAction::ScheduleFollowUp)?;
    if slot.date <= ctx.today() {
        return Err(Error::validation(
            "$.date",
            "a follow-up is scheduled in the future",
        ));
    }
    crate::domain::process::check_room(store::follow_ups_of(conn, &plan.id)?.len(), "follow-ups")?;
    let row = schedule(conn, ctx, &mut plan, &slot)?;
    save_plan(conn, ctx, &mut plan, EventType::PlanFollowUpScheduled, None)?;
    Ok(row)
}

/// Records a held follow-up (AW010): goal outcomes, intervention reviews, and the decision to
/// continue, revise or close.
pub fn record_follow_up(
    conn: &mut DbConn,
    ctx: &Context,
    plan_id: &PlanId,
    follow_up_id: &FollowUpId,
    expected_version: Option<crate::domain::Versions>,
    input: FollowUpRecord,
) -> Result<FollowUpRow> {
    let mut plan = load_plan(conn, ctx, plan_id)?;
    let status = plan.status;
    status.ensure_allows(PlanAction::RecordFollowUp)?;
    crate::policy::may_follow_up(&ctx.caller, &plan)?;
    let mut follow_up = store::follow_ups_of(conn, &plan.id)?
        .into_iter()
        .find(|f| f.id == *follow_up_id)
        .ok_or_else(|| Error::NotFound("this plan has no follow-up with this id".into()))?;
    if follow_up.held_on.is_some() {
        return Err(Error::InvalidState {
            detail: "this follow-up is already recorded; schedule a new one".into(),
            current_state: "held".into(),
            allowed_actions: vec![],
        });
    }
    ensure_version(&expected_version, follow_up.version)?;
    let goals = content_store::goals_of(conn, &plan.id)?;
    let open_goals: Vec<String> = goals
        .iter()
        .filter(|g| g.status.is_open())
        .map(|g| g.id.to_string())
        .collect();
    let open_interventions: Vec<String> = content_store::interventions_of(conn, &plan.id)?
        .into_iter()
        .filter(|i| i.intervention.status.is_open())
        .map(|i| i.intervention.id.into())
        .collect();
    let today = ctx.today();
    check_follow_up(&input, &open_goals, &open_interventions, today).map_err(Error::Validation)?;
    let moved = match input.decision {
        Decision::Continue => apply(status, Step::FollowUpContinues)?,
        Decision::Revise => apply(status, Step::FollowUpRevises)?,
        Decision::Close => {
            let reason = input.closing_reason.unwrap_or(ClosingReason::Other);
            plan.closing_note = input.closing_note.clone();
            on_close(
                status,
                Step::FollowUpCloses,
                reason,
                input.closing_note.as_deref(),
            )?
        }
    };

    let at = naive(ctx.now);
    for outcome in &input.goal_outcomes {
        if let Some(goal) = goals.iter().find(|g| g.id == outcome.goal_id) {
            let mut goal = goal.clone();
            let from = goal.status;
            goal.status = outcome.outcome.status();
            goal.version += 1;
            goal.updated_at = at;
            let mut change = Change::of(
                EventType::GoalOutcomeRecorded,
                ResourceType::Goal,
                &goal.id,
                &plan.id,
                goal.version,
            );
            change.from_status = Some(from.as_str());
            change.to_status = Some(goal.status.as_str());
            let journal = journal_of(ctx, at, change);
            content_store::update_goal(conn, &goal, journal, concurrent_update(goal.version))?;
        }
    }
    follow_up.held_on = Some(input.held_on);
    follow_up.goal_outcomes = Some(json(&input.goal_outcomes));
    follow_up.intervention_reviews = Some(json(&input.intervention_reviews));
    follow_up.new_circumstances = input.new_circumstances.clone();
    follow_up.decision = Some(input.decision);
    follow_up.closing_reason = input.closing_reason;
    follow_up.recorded_by = Some(ctx.caller.subject.clone());
    follow_up.recorded_by_unit = Some(ctx.caller.unit.clone());
    follow_up.version += 1;
    follow_up.updated_at = at;
    let mut change = Change::of(
        EventType::FollowUpRecorded,
        ResourceType::FollowUp,
        &follow_up.id,
        &plan.id,
        follow_up.version,
    );
    change.to_status = Some(input.decision.as_str());
    let journal = journal_of(ctx, at, change);
    store::update_follow_up(
        conn,
        &follow_up,
        journal,
        concurrent_update(follow_up.version),
    )?;
    plan.next_follow_up_on = store::next_follow_up_on(conn, &plan.id)?;
    if let (Decision::Continue, Some(next)) = (input.decision, &input.next_follow_up) {
        schedule(conn, ctx, &mut plan, next)?;
    }
    save_plan(conn, ctx, &mut plan, EventType::PlanFollowedUp, Some(moved))?;
    Ok(follow_up)
}

/// Completes a revision: each intervention open when it began is carried over or cancelled with a
/// reason, the next follow-up is set, and the revised plan is established as a new revision.
pub fn complete_revision(
    conn: &mut DbConn,
    ctx: &Context,
    plan_id: &PlanId,
    input: RevisionCompletion,
) -> Result<PlanRecord> {
    let mut plan = load_plan(conn, ctx, plan_id)?;
    let status = plan.status;
    status.ensure_allows(PlanAction::CompleteRevision)?;
    crate::policy::may_follow_up(&ctx.caller, &plan)?;
    let interventions = content_store::interventions_of(conn, &plan.id)?;
    let open: Vec<_> = interventions
        .into_iter()
        .filter(|i| i.intervention.status.is_open())
        .collect();
    let to_review: Vec<String> = open
        .iter()
        .filter(|i| i.intervention.reviewed_in_revision <= plan.revision)
        .map(|i| i.intervention.id.to_string())
        .collect();
    let cancelled = input
        .intervention_decisions
        .iter()
        .filter(|d| d.decision == CarryOver::Cancel)
        .count();
    let open_after = open.len().saturating_sub(cancelled);
    check_revision(&input, &to_review, open_after, ctx.today()).map_err(Error::Validation)?;

    let at = naive(ctx.now);
    for decision in &input.intervention_decisions {
        let Some(found) = open
            .iter()
            .find(|i| i.intervention.id == decision.intervention_id)
        else {
            continue;
        };
        let mut row = found.intervention.clone();
        match decision.decision {
            CarryOver::CarryOver => {
                row.reviewed_in_revision = plan.revision + 1;
                row.version += 1;
                row.updated_at = at;
                let mut change = Change::of(
                    EventType::InterventionCarriedOver,
                    ResourceType::Intervention,
                    &row.id,
                    &plan.id,
                    row.version,
                );
                change.reason = Some("revision");
                let journal = journal_of(ctx, at, change);
                let lost = concurrent_update(row.version);
                content_store::update_intervention(conn, &row, None, journal, lost)?;
            }
            CarryOver::Cancel => {
                row.reviewed_in_revision = plan.revision + 1;
                set_intervention_status(
                    conn,
                    ctx,
                    &plan.id,
                    &mut row,
                    InterventionStatus::Cancelled,
                    decision.reason.clone(),
                )?;
            }
        }
    }
    schedule(conn, ctx, &mut plan, &input.next_follow_up)?;
    plan.revision += 1;
    let moved = apply(status, Step::CompleteRevision)?;
    save_plan(conn, ctx, &mut plan, EventType::PlanRevised, Some(moved))?;
    super::documents::snapshot(conn, ctx, &plan)?;
    Ok(PlanRecord::on(plan, ctx.today()))
}

/// Closes the plan by decision, with a reason.
pub fn close(
    conn: &mut DbConn,
    ctx: &Context,
    plan_id: &PlanId,
    expected_version: Option<crate::domain::Versions>,
    reason: ClosingReason,
    note: Option<String>,
) -> Result<PlanRecord> {
    let mut plan = load_plan(conn, ctx, plan_id)?;
    let moved = on_close(plan.status, Step::Close, reason, note.as_deref())?;
    ensure_version(&expected_version, plan.version)?;
    plan.closing_note = note;
    save_plan(conn, ctx, &mut plan, EventType::PlanClosed, Some(moved))?;
    Ok(PlanRecord::on(plan, ctx.today()))
}

pub fn follow_ups(conn: &mut DbConn, ctx: &Context, plan_id: &PlanId) -> Result<Vec<FollowUpRow>> {
    let plan = load_plan(conn, ctx, plan_id)?;
    store::follow_ups_of(conn, &plan.id)
}

pub fn meeting(conn: &mut DbConn, ctx: &Context, plan_id: &PlanId) -> Result<MeetingRow> {
    let plan = load_plan(conn, ctx, plan_id)?;
    store::meeting_of(conn, &plan.id)?
        .ok_or_else(|| Error::NotFound("no meeting has been recorded for this plan".into()))
}
