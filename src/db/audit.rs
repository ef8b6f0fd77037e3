//! The access log (`audit_events`): appended to, never changed.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{audit_events, individuals, plans};
use super::DbConn;
use crate::error::Result;

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = audit_events)]
pub struct NewAuditEvent {
    pub occurred_at: NaiveDateTime,
    pub subject: String,
    pub unit: String,
    pub principal: String,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    pub plan_id: Option<String>,
    pub individual_id: Option<String>,
    /// `allowed` or `denied`.
    pub result: String,
    pub status: i32,
    pub request_id: String,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct AuditEventRow {
    pub id: i64,
    pub occurred_at: NaiveDateTime,
    pub subject: String,
    pub unit: String,
    pub principal: String,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    pub plan_id: Option<String>,
    pub individual_id: Option<String>,
    pub result: String,
    pub status: i32,
    pub request_id: String,
}

pub fn insert(conn: &mut DbConn, event: &NewAuditEvent) -> Result<()> {
    diesel::insert_into(audit_events::table)
        .values(event)
        .execute(conn)?;
    Ok(())
}

/// Stores many records in as few statements as the backend allows: one multi-row `INSERT` per
/// chunk (the multi-backend connection has none, so each backend's own connection does it). A
/// list of 50 plans is one statement, not 51.
pub fn insert_all(conn: &mut DbConn, events: &[NewAuditEvent]) -> Result<()> {
    // SQLite binds at most 32,766 values in one statement; 13 columns a row.
    const ROWS_PER_STATEMENT: usize = 2_000;
    for chunk in events.chunks(ROWS_PER_STATEMENT) {
        super::insert_rows!(conn, audit_events::table, chunk)?;
    }
    Ok(())
}

/// A unit searched for, or registered, the identity number of a person hidden from it (protected
/// identity). Recorded under her, so that "who has tried to find me" can be answered — and shown
/// to the auditors of the organisation that registered her, not to the searching organisation's,
/// whose staff must not learn through the log which person the number belongs to.
pub const SEARCH_DENIED: &str = "search_denied";
pub const REGISTER_DENIED: &str = "register_denied";
const HIDDEN_MATCHES: [&str; 2] = [SEARCH_DENIED, REGISTER_DENIED];

/// Filters of the audit query, combined with AND; all but the organisation optional.
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    /// Only accesses made by units of this organisation (`SE` + organisation number): an
    /// organisation follows up its own staff's accesses, and sees no other organisation's.
    pub organisation: String,
    /// Everything read or written about this individual: their own record and their plans.
    pub individual_id: Option<String>,
    pub subject: Option<String>,
    pub unit: Option<String>,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
}

pub fn list(
    conn: &mut DbConn,
    filter: &AuditFilter,
    after: i64,
    limit: i64,
) -> Result<Vec<AuditEventRow>> {
    let own_units = format!("{}-%", filter.organisation);
    let registered_here = individuals::table
        .filter(individuals::registered_by_unit.like(own_units.clone()))
        .select(individuals::id.nullable());
    let mut query = audit_events::table
        .filter(audit_events::id.gt(after))
        .filter(
            audit_events::unit
                .like(own_units)
                .and(audit_events::action.ne_all(HIDDEN_MATCHES))
                .or(audit_events::action
                    .eq_any(HIDDEN_MATCHES)
                    .and(audit_events::individual_id.eq_any(registered_here))),
        )
        .into_boxed();
    if let Some(individual) = &filter.individual_id {
        let their_plans = plans::table
            .filter(plans::individual_id.eq(individual.clone()))
            .select(plans::id.nullable());
        query = query.filter(
            audit_events::individual_id
                .eq(individual.clone())
                .or(audit_events::plan_id.eq_any(their_plans)),
        );
    }
    if let Some(subject) = &filter.subject {
        query = query.filter(audit_events::subject.eq(subject.clone()));
    }
    if let Some(unit) = &filter.unit {
        query = query.filter(audit_events::unit.eq(unit.clone()));
    }
    if let Some(from) = filter.from {
        query = query.filter(audit_events::occurred_at.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(audit_events::occurred_at.lt(to));
    }
    Ok(query
        .order(audit_events::id)
        .limit(limit)
        .select(AuditEventRow::as_select())
        .load(conn)?)
}
