//! The change log: every change, recorded once, in the same transaction as the change. It holds ids,
//! types, versions, states and reason codes, plus an optional free-text note that only the plan's
//! history shows. It is the base of the plan history and of the coming change feed.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::change_events;
use super::DbConn;
use crate::error::Result;

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = change_events)]
pub struct NewChangeEvent<'a> {
    pub event_type: &'a str,
    pub resource_type: &'a str,
    pub resource_id: &'a str,
    pub plan_id: Option<&'a str>,
    pub version: i64,
    pub from_status: Option<&'a str>,
    pub to_status: Option<&'a str>,
    /// A reason *code* (e.g. a closing reason), never free text.
    pub reason: Option<&'a str>,
    pub subject: &'a str,
    pub unit: &'a str,
    pub occurred_at: NaiveDateTime,
    /// Free text (e.g. why an intervention was cancelled): for the plan's history only, never for
    /// the change feed.
    pub note: Option<&'a str>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = change_events)]
pub struct ChangeEventRow {
    pub seq: i64,
    pub event_type: String,
    pub resource_type: String,
    pub resource_id: String,
    pub plan_id: Option<String>,
    pub version: i64,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub reason: Option<String>,
    pub subject: String,
    pub unit: String,
    pub occurred_at: NaiveDateTime,
    pub note: Option<String>,
}

pub fn record(conn: &mut DbConn, event: &NewChangeEvent<'_>) -> Result<()> {
    diesel::insert_into(change_events::table)
        .values(event)
        .execute(conn)?;
    Ok(())
}

/// A page of one plan's events after `after_seq`.
pub fn page_of_plan(
    conn: &mut DbConn,
    plan_id: &str,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<ChangeEventRow>> {
    Ok(change_events::table
        .filter(change_events::plan_id.eq(plan_id))
        .filter(change_events::seq.gt(after_seq))
        .order(change_events::seq)
        .limit(limit)
        .select(ChangeEventRow::as_select())
        .load(conn)?)
}
