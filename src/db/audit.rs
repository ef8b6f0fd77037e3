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

/// Stores many records in as few statements as the backend allows. PostgreSQL takes any number
/// of rows as one `INSERT … SELECT FROM unnest(…)` of twelve arrays: one short statement however
/// many rows a group commit holds, instead of a multi-row `VALUES` of twelve binds a row that it
/// would parse anew each time (a thousand-row group is 12,000 binds). SQLite, in process, takes
/// multi-row `VALUES` in chunks under its bind limit. On PostgreSQL it is one statement, so the
/// access-log writer runs it without a transaction (`Db::append_now`).
pub fn insert_all(conn: &mut DbConn, events: &[NewAuditEvent]) -> Result<()> {
    match conn {
        DbConn::Postgres(c) => insert_all_postgres(c, events),
        DbConn::Sqlite(c) => {
            // SQLite binds at most 32,766 values in one statement; 12 columns a row.
            const ROWS_PER_STATEMENT: usize = 2_000;
            for chunk in events.chunks(ROWS_PER_STATEMENT) {
                diesel::insert_into(audit_events::table)
                    .values(chunk)
                    .execute(c)?;
            }
            Ok(())
        }
    }
}

fn insert_all_postgres(conn: &mut diesel::PgConnection, events: &[NewAuditEvent]) -> Result<()> {
    use diesel::sql_types::{Array, Integer, Nullable, Text, Timestamp};
    if events.is_empty() {
        return Ok(());
    }
    fn column<'a, T>(
        events: &'a [NewAuditEvent],
        value: impl Fn(&'a NewAuditEvent) -> T,
    ) -> Vec<T> {
        events.iter().map(value).collect()
    }
    diesel::sql_query(
        "INSERT INTO audit_events (occurred_at, subject, unit, principal, action, resource_type, \
         resource_id, plan_id, individual_id, result, status, request_id) \
         SELECT * FROM unnest($1::timestamp[], $2::text[], $3::text[], $4::text[], $5::text[], \
         $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::int4[], $12::text[])",
    )
    .bind::<Array<Timestamp>, _>(column(events, |e| e.occurred_at))
    .bind::<Array<Text>, _>(column(events, |e| e.subject.as_str()))
    .bind::<Array<Text>, _>(column(events, |e| e.unit.as_str()))
    .bind::<Array<Text>, _>(column(events, |e| e.principal.as_str()))
    .bind::<Array<Text>, _>(column(events, |e| e.action.as_str()))
    .bind::<Array<Text>, _>(column(events, |e| e.resource_type.as_str()))
    .bind::<Array<Nullable<Text>>, _>(column(events, |e| e.resource_id.as_deref()))
    .bind::<Array<Nullable<Text>>, _>(column(events, |e| e.plan_id.as_deref()))
    .bind::<Array<Nullable<Text>>, _>(column(events, |e| e.individual_id.as_deref()))
    .bind::<Array<Text>, _>(column(events, |e| e.result.as_str()))
    .bind::<Array<Integer>, _>(column(events, |e| e.status))
    .bind::<Array<Text>, _>(column(events, |e| e.request_id.as_str()))
    .execute(conn)?;
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
