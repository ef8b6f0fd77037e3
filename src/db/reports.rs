//! The facts behind the reports, for a period. They carry units and principals, never people.

use std::collections::HashMap;

use super::native::NativeRunQueryDsl;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::schema::{consents, follow_ups, meetings, plans, summons, summons_recipients};
use super::DbConn;
use crate::domain::consent::ConsentOutcome;
use crate::domain::indicators::{AttendanceFact, ClosureFact, FollowUpFact, MeetingFact, Period};
use crate::domain::plan::{ClosingReason, PlanStatus};
use crate::error::Result;

/// Meetings held in the period, with the time of their plan's first given consent.
pub fn meetings(conn: &mut DbConn, period: Period) -> Result<Vec<MeetingFact>> {
    let (start, end) = period.bounds();
    let rows: Vec<(String, String, String, String, NaiveDateTime, bool, bool)> = meetings::table
        .inner_join(plans::table)
        .filter(meetings::held_at.ge(start))
        .filter(meetings::held_at.lt(end))
        .select((
            plans::id,
            plans::initiating_principal,
            plans::initiating_unit,
            meetings::procedure_code,
            meetings::held_at,
            meetings::individual_received_plan,
            meetings::held_within_deadline,
        ))
        .load_native(conn)?;
    let consent_times: Vec<(String, NaiveDateTime)> = consents::table
        .inner_join(plans::table.inner_join(meetings::table))
        .filter(meetings::held_at.ge(start))
        .filter(meetings::held_at.lt(end))
        .filter(consents::outcome.eq(ConsentOutcome::Given.as_str()))
        .select((consents::plan_id, consents::created_at))
        .load_native(conn)?;
    let mut first: HashMap<String, NaiveDateTime> = HashMap::new();
    for (plan_id, at) in consent_times {
        first
            .entry(plan_id)
            .and_modify(|t| *t = (*t).min(at))
            .or_insert(at);
    }
    Ok(rows
        .into_iter()
        .map(
            |(plan_id, principal, unit, code, held_at, received, within)| MeetingFact {
                group: (principal, unit),
                procedure_code: code,
                held_at,
                individual_received_plan: received,
                held_within_deadline: within,
                first_consent_at: first.get(&plan_id).copied(),
            },
        )
        .collect())
}

/// Follow-ups scheduled in the period.
pub fn follow_ups_scheduled(conn: &mut DbConn, period: Period) -> Result<Vec<FollowUpFact>> {
    let rows: Vec<(String, String, NaiveDate, Option<NaiveDate>)> = follow_ups::table
        .inner_join(plans::table)
        .filter(follow_ups::scheduled_on.ge(period.from))
        .filter(follow_ups::scheduled_on.le(period.to))
        .select((
            plans::initiating_principal,
            plans::initiating_unit,
            follow_ups::scheduled_on,
            follow_ups::held_on,
        ))
        .load_native(conn)?;
    Ok(rows
        .into_iter()
        .map(|(principal, unit, scheduled_on, held_on)| FollowUpFact {
            group: (principal, unit),
            scheduled_on,
            held_on,
        })
        .collect())
}

/// Follow-ups held in the period (AW010), by the plan's initiating principal and unit.
pub fn follow_ups_held(conn: &mut DbConn, period: Period) -> Result<Vec<(String, String)>> {
    Ok(follow_ups::table
        .inner_join(plans::table)
        .filter(follow_ups::held_on.ge(period.from))
        .filter(follow_ups::held_on.le(period.to))
        .select((plans::initiating_principal, plans::initiating_unit))
        .load_native(conn)?)
}

/// The attendance of summoned units at meetings held in the period.
pub fn attendance(conn: &mut DbConn, period: Period) -> Result<Vec<AttendanceFact>> {
    let (start, end) = period.bounds();
    let rows: Vec<(String, Option<String>, String, Option<bool>)> = summons_recipients::table
        .inner_join(summons::table.inner_join(meetings::table))
        .filter(meetings::held_at.ge(start))
        .filter(meetings::held_at.lt(end))
        .filter(summons_recipients::obligation.eq("summoned"))
        .filter(summons_recipients::attended.is_not_null())
        .select((
            summons_recipients::principal,
            summons_recipients::hsa_id,
            summons_recipients::name,
            summons_recipients::attended,
        ))
        .load_native(conn)?;
    Ok(rows
        .into_iter()
        .map(|(principal, hsa_id, name, attended)| AttendanceFact {
            group: (principal, hsa_id.unwrap_or(name)),
            attended: attended.unwrap_or(false),
        })
        .collect())
}

/// Plans closed in the period (refused plans never started and are not counted).
pub fn closures(conn: &mut DbConn, period: Period) -> Result<Vec<ClosureFact>> {
    let (start, end) = period.bounds();
    let rows: Vec<(String, String, Option<String>)> = plans::table
        .filter(plans::status.eq(PlanStatus::Closed.as_str()))
        .filter(plans::closed_at.ge(start))
        .filter(plans::closed_at.lt(end))
        .select((
            plans::initiating_principal,
            plans::initiating_unit,
            plans::closing_reason,
        ))
        .load_native(conn)?;
    Ok(rows
        .into_iter()
        .map(|(principal, unit, reason)| ClosureFact {
            group: (principal, unit),
            goals_met: reason.as_deref() == Some(ClosingReason::GoalsMet.as_str()),
        })
        .collect())
}
