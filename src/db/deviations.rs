//! Deviations. Every read is for one unit: it sees the deviations it reported or that concern it.

use super::native::NativeRunQueryDsl;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::journal::{self, Journal};
use super::schema::deviations;
use super::{DbConn, MultiBackend};
use crate::domain::deviation::Category;
use crate::domain::deviation::DeviationStatus;
use crate::domain::identity::HsaId;
use crate::domain::ids::{DeviationId, PlanId};
use crate::domain::Principal;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = deviations, treat_none_as_null = true, treat_none_as_default_value = false)]
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

/// Stores a new deviation with its access-log row and change event: one statement on PostgreSQL
/// (`journal::write_with`).
pub fn insert_journaled(conn: &mut DbConn, row: &DeviationRow, journal: Journal) -> Result<()> {
    journal::write_with(
        conn,
        diesel::insert_into(deviations::table).values(row),
        journal,
    )
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

/// Stores `row` with its journal if its version is still the one before; `Err(lost)` if not.
pub fn update(conn: &mut DbConn, row: &DeviationRow, journal: Journal, lost: Error) -> Result<()> {
    super::prepared::update_journaled!(conn, deviations, row, journal, lost)
}

/// The deviations `unit` may see that the filter selects, in id order from the cursor.
///
/// Asked as two questions, the deviations the unit reported and those that concern it, each in
/// id order through its own `(unit, id)` index and stopping at a page, merged here: a plan made
/// without the unit's value (the pool's connections force generic plans) then still reads only the
/// unit's own rows. Asked as one query with an `OR`, that plan walked every deviation in id order
/// (20,001 rows read for a unit with none, in the test of it); planned for the values instead, in
/// a transaction of its own, the list cost four statements where these are two.
pub fn list(
    conn: &mut DbConn,
    unit: &str,
    filter: &DeviationFilter,
    cursor: Option<&str>,
    limit: i64,
) -> Result<Vec<DeviationRow>> {
    let reported = deviations::reporting_unit.eq(unit.to_string());
    let concerning = deviations::concerned_unit.eq(unit.to_string());
    let questions = match filter.reported_by_me {
        Some(true) => vec![page(filter, cursor, limit).filter(reported)],
        Some(false) => vec![page(filter, cursor, limit).filter(concerning)],
        None => vec![
            page(filter, cursor, limit).filter(reported),
            page(filter, cursor, limit).filter(concerning),
        ],
    };
    // By id: a deviation a unit reported about itself is an answer to both questions.
    let mut by_id = std::collections::BTreeMap::new();
    for question in questions {
        for row in question
            .select(super::native::columns::<DeviationRow>())
            .load::<DeviationRow>(conn)?
        {
            by_id.insert(row.id.to_string(), row);
        }
    }
    Ok(by_id
        .into_values()
        .take(usize::try_from(limit).unwrap_or(0))
        .collect())
}

/// One page, in id order from the cursor, of the deviations the filter's fields select — whoever
/// may see them: the caller adds which unit's.
fn page(
    filter: &DeviationFilter,
    cursor: Option<&str>,
    limit: i64,
) -> deviations::BoxedQuery<'static, MultiBackend> {
    let mut query = deviations::table.into_boxed();
    if let Some(status) = &filter.status {
        query = query.filter(deviations::status.eq(status.clone()));
    }
    if let Some(category) = &filter.category {
        query = query.filter(deviations::category.eq(category.clone()));
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
    query.order(deviations::id).limit(limit)
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
