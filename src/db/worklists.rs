//! The queries behind a unit's worklists: what is late or about to be.
//!
//! Each runs planned for its values (`native::with_plans_for_the_values`): how many plans,
//! summons or consents a unit has, and how many are in a status, decides which index answers. A
//! plan made without them walked every summons recipient in id order for a unit with none:
//! 51 ms at 20,000 plans against 0.09 ms planned for the unit (`BENCHMARKS.md`, nineteenth
//! session). Journal systems poll these lists.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::schema::{consents, plans, summons, summons_recipients};
use super::DbConn;
use crate::domain::consent::ConsentOutcome;
use crate::domain::ids::{ConsentId, PlanId};
use crate::domain::plan::PlanStatus;
use crate::error::Result;

/// One entry of a worklist.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The key the list is ordered and paged by.
    pub key: String,
    pub plan_id: PlanId,
    pub due: NaiveDate,
    pub recipient: Option<(String, String)>,
    pub consent_id: Option<ConsentId>,
}

/// Established or revised plans that `unit` initiated or coordinates whose next follow-up date has
/// passed without a held follow-up.
pub fn overdue_follow_ups(
    conn: &mut DbConn,
    unit: &str,
    today: NaiveDate,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Entry>> {
    super::native::with_plans_for_the_values(conn, |conn| {
        let mut query = plans::table
            .filter(
                plans::initiating_unit
                    .eq(unit.to_string())
                    .or(plans::coordinator_unit.eq(unit.to_string())),
            )
            .filter(plans::status.eq_any([
                PlanStatus::Established.as_str(),
                PlanStatus::Revising.as_str(),
            ]))
            .filter(plans::next_follow_up_on.lt(today))
            .into_boxed();
        if let Some(after) = after {
            query = query.filter(plans::id.gt(after.to_string()));
        }
        let rows: Vec<(PlanId, Option<NaiveDate>)> = query
            .order(plans::id)
            .limit(limit)
            .select((plans::id, plans::next_follow_up_on))
            .load(conn)?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, due)| {
                Some(Entry {
                    key: id.to_string(),
                    plan_id: id,
                    due: due?,
                    recipient: None,
                    consent_id: None,
                })
            })
            .collect())
    })
}

/// Recipients that have not answered summons sent by `unit` for meetings still to be held (with
/// `due`, only those whose answer day is on or before it).
pub fn unanswered_summons(
    conn: &mut DbConn,
    unit: &str,
    due: Option<NaiveDate>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Entry>> {
    super::native::with_plans_for_the_values(conn, |conn| {
        let mut query = summons_recipients::table
            .inner_join(summons::table.inner_join(plans::table))
            .filter(summons::sent_by_unit.eq(unit.to_string()))
            .filter(plans::status.eq(PlanStatus::Summoned.as_str()))
            .filter(summons_recipients::response.is_null())
            .into_boxed();
        if let Some(due) = due {
            query = query.filter(summons_recipients::answer_by.le(due));
        }
        if let Some(after) = after {
            query = query.filter(summons_recipients::id.gt(after.to_string()));
        }
        let rows: Vec<(String, PlanId, String, NaiveDate)> = query
            .order(summons_recipients::id)
            .limit(limit)
            .select((
                summons_recipients::id,
                summons_recipients::plan_id,
                summons_recipients::name,
                summons_recipients::answer_by,
            ))
            .load(conn)?;
        Ok(rows
            .into_iter()
            .map(|(id, plan_id, name, due)| Entry {
                key: id.clone(),
                plan_id,
                due,
                recipient: Some((id, name)),
                consent_id: None,
            })
            .collect())
    })
}

/// Plans `unit` initiated that are still `summoned` although the last planned meeting has passed:
/// a meeting held without an established plan (or not held at all).
pub fn meetings_without_plan(
    conn: &mut DbConn,
    unit: &str,
    now: NaiveDateTime,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Entry>> {
    super::native::with_plans_for_the_values(conn, |conn| {
        let mut query = plans::table
            .inner_join(summons::table)
            .filter(plans::initiating_unit.eq(unit.to_string()))
            .filter(plans::status.eq(PlanStatus::Summoned.as_str()))
            .into_boxed();
        if let Some(after) = after {
            query = query.filter(plans::id.gt(after.to_string()));
        }
        // A plan has few summons (a rescheduled meeting adds one), so the latest meeting per plan is
        // taken here rather than with GROUP BY.
        let rows: Vec<(PlanId, NaiveDateTime)> = query
            .order((plans::id, summons::meeting_at))
            .select((plans::id, summons::meeting_at))
            .load(conn)?;
        let mut latest: Vec<(PlanId, NaiveDateTime)> = Vec::new();
        for (id, at) in rows {
            match latest.last_mut() {
                Some(last) if last.0 == id => last.1 = last.1.max(at),
                _ => latest.push((id, at)),
            }
        }
        Ok(latest
            .into_iter()
            .filter(|(_, at)| *at < now)
            .take(limit as usize)
            .map(|(id, at)| Entry {
                key: id.to_string(),
                plan_id: id,
                due: crate::domain::calendar::swedish_date_of(at),
                recipient: None,
                consent_id: None,
            })
            .collect())
    })
}

/// Active consents of open plans `unit` initiated that end between `today` and `until`.
pub fn expiring_consents(
    conn: &mut DbConn,
    unit: &str,
    today: NaiveDate,
    until: NaiveDate,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Entry>> {
    super::native::with_plans_for_the_values(conn, |conn| {
        let open = [
            PlanStatus::Consented.as_str(),
            PlanStatus::Summoned.as_str(),
            PlanStatus::Established.as_str(),
            PlanStatus::Revising.as_str(),
        ];
        let mut query = consents::table
            .inner_join(plans::table)
            .filter(plans::initiating_unit.eq(unit.to_string()))
            .filter(plans::status.eq_any(open))
            .filter(consents::outcome.eq(ConsentOutcome::Given.as_str()))
            .filter(consents::withdrawn_at.is_null())
            .filter(consents::valid_from.le(today))
            .filter(consents::valid_until.ge(today))
            .filter(consents::valid_until.le(until))
            .into_boxed();
        if let Some(after) = after {
            query = query.filter(consents::id.gt(after.to_string()));
        }
        let rows: Vec<(ConsentId, PlanId, Option<NaiveDate>)> = query
            .order(consents::id)
            .limit(limit)
            .select((consents::id, consents::plan_id, consents::valid_until))
            .load(conn)?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, plan_id, until)| {
                Some(Entry {
                    key: id.to_string(),
                    plan_id,
                    due: until?,
                    recipient: None,
                    consent_id: Some(id),
                })
            })
            .collect())
    })
}
