//! Deviations. Every read is for one unit: it sees the deviations it reported or that concern it.

use super::native::NativeRunQueryDsl;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::schema::deviations;
use super::{DbConn, MultiBackend};
use crate::domain::deviation::Category;
use crate::domain::deviation::DeviationStatus;
use crate::domain::identity::HsaId;
use crate::domain::ids::{DeviationId, PlanId};
use crate::domain::Principal;
use crate::error::Result;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = deviations, treat_none_as_null = true)]
pub struct DeviationRow {
    pub id: DeviationId,
    pub category: Category,
    pub status: DeviationStatus,
    pub source: String,
    pub source_key: Option<String>,
    pub reporting_unit: HsaId,
    pub reporting_principal: Principal,
    pub concerned_unit: Option<HsaId>,
    pub concerned_name: Option<String>,
    pub concerned_principal: Principal,
    pub plan_id: Option<PlanId>,
    pub occurred_at: NaiveDateTime,
    pub description: String,
    pub system_level: bool,
    pub temporary_division: Option<String>,
    pub feedback_due: NaiveDate,
    pub feedback: Option<String>,
    pub feedback_at: Option<NaiveDateTime>,
    pub analysis: Option<String>,
    pub action_taken: Option<String>,
    pub dismissal_reason: Option<String>,
    pub closed_at: Option<NaiveDateTime>,
    pub created_by: String,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Filters of the deviation list.
#[derive(Debug, Default, Clone)]
pub struct DeviationFilter {
    pub status: Option<String>,
    pub category: Option<String>,
    /// Only those the unit reported (`Some(true)`) or that concern it (`Some(false)`).
    pub reported_by_me: Option<bool>,
    pub plan_id: Option<PlanId>,
    /// Only those whose feedback is due before this day and not given.
    pub feedback_missing_before: Option<NaiveDate>,
}

/// The deviations `unit` may see: it reported them or they concern it.
fn visible_to(unit: &str) -> deviations::BoxedQuery<'static, MultiBackend> {
    deviations::table
        .filter(
            deviations::reporting_unit
                .eq(unit.to_string())
                .or(deviations::concerned_unit.eq(unit.to_string())),
        )
        .into_boxed()
}

pub fn insert(conn: &mut DbConn, row: &DeviationRow) -> Result<()> {
    diesel::insert_into(deviations::table)
        .values(row)
        .execute_native(conn)?;
    Ok(())
}

pub fn exists_for_source(conn: &mut DbConn, source_key: &str) -> Result<bool> {
    let n: i64 = deviations::table
        .filter(deviations::source_key.eq(source_key))
        .count()
        .get_result_native(conn)?;
    Ok(n > 0)
}

pub fn find(conn: &mut DbConn, unit: &str, id: &str) -> Result<Option<DeviationRow>> {
    Ok(visible_to(unit)
        .filter(deviations::id.eq(id.to_string()))
        .select(super::native::columns::<DeviationRow>())
        .first(conn)
        .optional()?)
}

pub fn update(conn: &mut DbConn, row: &DeviationRow) -> Result<bool> {
    Ok(super::prepared::update_versioned!(conn, deviations, row)?)
}

/// The deviations `unit` may see that the filter selects, in id order from the cursor. Planned
/// for its values (`native::with_plans_for_the_values`): a unit's deviations are a few among
/// many or most of them, and planned without the unit the list walked every deviation in id order
/// (20,001 rows read for a unit with none, in the test of it).
pub fn list(
    conn: &mut DbConn,
    unit: &str,
    filter: &DeviationFilter,
    cursor: Option<&str>,
    limit: i64,
) -> Result<Vec<DeviationRow>> {
    super::native::with_plans_for_the_values(conn, |conn| {
        let mut query = visible_to(unit);
        if let Some(status) = &filter.status {
            query = query.filter(deviations::status.eq(status.clone()));
        }
        if let Some(category) = &filter.category {
            query = query.filter(deviations::category.eq(category.clone()));
        }
        match filter.reported_by_me {
            Some(true) => query = query.filter(deviations::reporting_unit.eq(unit.to_string())),
            Some(false) => query = query.filter(deviations::concerned_unit.eq(unit.to_string())),
            None => {}
        }
        if let Some(plan_id) = &filter.plan_id {
            query = query.filter(deviations::plan_id.eq(plan_id.clone()));
        }
        if let Some(day) = filter.feedback_missing_before {
            query = query
                .filter(deviations::feedback_at.is_null())
                .filter(deviations::feedback_due.lt(day))
                .filter(deviations::status.eq_any(["reported", "under_investigation"]));
        }
        if let Some(after) = cursor {
            query = query.filter(deviations::id.gt(after.to_string()));
        }
        Ok(query
            .order(deviations::id)
            .limit(limit)
            .select(super::native::columns::<DeviationRow>())
            .load(conn)?)
    })
}

/// Every deviation that occurred in the period (for the reports; no personal data leaves them).
pub fn occurred_between(
    conn: &mut DbConn,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<Vec<DeviationRow>> {
    Ok(deviations::table
        .filter(deviations::occurred_at.ge(from))
        .filter(deviations::occurred_at.lt(to))
        .select(super::native::columns::<DeviationRow>())
        .load_native(conn)?)
}

/// Of the deviations `ids`, those `unit` may see.
pub fn visible_ids(conn: &mut DbConn, unit: &str, ids: &[&str]) -> Result<Vec<String>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(visible_to(unit)
        .filter(deviations::id.eq_any(ids.iter().map(|id| id.to_string())))
        .select(deviations::id)
        .load(conn)?)
}
