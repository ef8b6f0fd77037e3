//! Individuals (den enskilde) and their guardians.

use std::collections::HashMap;

use super::native::NativeRunQueryDsl;
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::journal::{self, Journal};
use super::schema::{guardians, individuals};
use super::DbConn;
use crate::domain::identity::HsaId;
use crate::domain::ids::IndividualId;
use crate::error::Result;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, serde::Deserialize)]
#[diesel(table_name = individuals, treat_none_as_default_value = false)]
pub struct IndividualRow {
    pub id: IndividualId,
    pub identity_number: String,
    pub identity_kind: String,
    pub given_name: String,
    pub family_name: String,
    pub protected_identity: bool,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The unit that registered the individual (unknown for some records older than this column).
    pub registered_by_unit: Option<HsaId>,
    /// Set on a unit's own registration of a number whose record was hidden from that unit (a
    /// person with protected identity): the record it duplicates. Never shown to a client.
    pub duplicate_of: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Deserialize)]
#[diesel(table_name = guardians, treat_none_as_default_value = false)]
pub struct GuardianRow {
    pub id: String,
    pub individual_id: IndividualId,
    pub position: i32,
    pub name: String,
    pub identity_number: Option<String>,
}

/// An individual with their guardians.
#[derive(Debug, Clone)]
pub struct IndividualRecord {
    pub individual: IndividualRow,
    pub guardians: Vec<GuardianRow>,
}

pub fn insert(conn: &mut DbConn, row: &IndividualRow) -> Result<()> {
    diesel::insert_into(individuals::table)
        .values(row)
        .execute_native(conn)?;
    Ok(())
}

/// Stores a new individual with its access-log row and change event (one statement on
/// PostgreSQL: [`journal::write_with`]).
pub fn insert_journaled(conn: &mut DbConn, row: &IndividualRow, journal: Journal) -> Result<()> {
    journal::write_with(
        conn,
        diesel::insert_into(individuals::table).values(row),
        journal,
    )
}

pub fn find(conn: &mut DbConn, id: &str) -> Result<Option<IndividualRow>> {
    Ok(individuals::table
        .find(id)
        .select(super::native::columns::<IndividualRow>())
        .first_native(conn)
        .optional()?)
}

/// The record of an identity number that is nobody's own registration (at most one).
pub fn find_by_identity_number(conn: &mut DbConn, number: &str) -> Result<Option<IndividualRow>> {
    Ok(individuals::table
        .filter(individuals::identity_number.eq(number))
        .filter(individuals::duplicate_of.is_null())
        .select(super::native::columns::<IndividualRow>())
        .first_native(conn)
        .optional()?)
}

/// Every record of an identity number: the one that is nobody's own registration first, then the
/// units' own registrations.
pub fn registrations_of_number(conn: &mut DbConn, number: &str) -> Result<Vec<IndividualRow>> {
    let mut rows: Vec<IndividualRow> = individuals::table
        .filter(individuals::identity_number.eq(number))
        .order(individuals::id)
        .select(super::native::columns::<IndividualRow>())
        .load_native(conn)?;
    rows.sort_by_key(|r| r.duplicate_of.is_some());
    Ok(rows)
}

/// The registrations of each of `numbers`, in one query: by number, each as
/// [`registrations_of_number`] orders them.
pub fn registrations_of_numbers(
    conn: &mut DbConn,
    numbers: &[&str],
) -> Result<HashMap<String, Vec<IndividualRow>>> {
    let rows: Vec<IndividualRow> = individuals::table
        .filter(individuals::identity_number.eq_any(numbers))
        .order(individuals::id)
        .select(super::native::columns::<IndividualRow>())
        .load_native(conn)?;
    let mut of_number = super::grouped(rows, |r| r.identity_number.clone());
    for rows in of_number.values_mut() {
        rows.sort_by_key(|r| r.duplicate_of.is_some());
    }
    Ok(of_number)
}

/// Of the individuals `ids`, those `unit` registered.
pub fn registered_by(conn: &mut DbConn, unit: &str, ids: &[&str]) -> Result<Vec<IndividualId>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(individuals::table
        .filter(individuals::id.eq_any(ids))
        .filter(individuals::registered_by_unit.eq(unit))
        .select(individuals::id)
        .load_native(conn)?)
}

/// Stores `row` if the stored version is still `row.version - 1`, with the change's access-log row
/// and change event — one statement on PostgreSQL ([`journal::update_with`]); `Err(lost)` when
/// someone else won. Not kept prepared as a plan's update is (`db::prepared`): the row leaves its
/// absent optional columns out, so the statement's SQL varies, and diesel prepares it anew.
pub fn update_journaled(
    conn: &mut DbConn,
    row: &IndividualRow,
    journal: Journal,
    lost: crate::error::Error,
) -> Result<()> {
    let update = diesel::update(
        individuals::table
            .filter(individuals::id.eq(&row.id))
            .filter(individuals::version.eq(row.version - 1)),
    )
    .set(row);
    journal::update_with(conn, update, journal, lost)
}

/// The individual's guardians, in their given order.
pub fn guardians_of(conn: &mut DbConn, individual_id: &str) -> Result<Vec<GuardianRow>> {
    Ok(guardians::table
        .filter(guardians::individual_id.eq(individual_id))
        .order(guardians::position)
        .select(super::native::columns::<GuardianRow>())
        .load_native(conn)?)
}

pub fn replace_guardians(
    conn: &mut DbConn,
    individual_id: &str,
    rows: &[GuardianRow],
) -> Result<()> {
    diesel::delete(guardians::table.filter(guardians::individual_id.eq(individual_id)))
        .execute_native(conn)?;
    insert_guardians(conn, rows)
}

/// Stores the guardians of a new record (it has none yet), in one statement.
pub fn insert_guardians(conn: &mut DbConn, rows: &[GuardianRow]) -> Result<()> {
    if !rows.is_empty() {
        super::insert_rows!(conn, guardians::table, rows)?;
    }
    Ok(())
}

/// The records on which a guardian with the identity number `number` is registered, with the
/// guardian's id on each (the e-service: a guardian acting for a child).
pub fn guarded_by(conn: &mut DbConn, number: &str) -> Result<Vec<(String, IndividualRow)>> {
    Ok(guardians::table
        .inner_join(individuals::table)
        .filter(guardians::identity_number.eq(number))
        .order(individuals::id)
        .select((guardians::id, super::native::columns::<IndividualRow>()))
        .load_native(conn)?)
}

/// The individuals whose plan has a consent that stands on `today` and names `number` as a legal
/// representative, with that consent's id (the e-service: a representative acting for a person).
pub fn represented_by(
    conn: &mut DbConn,
    number: &str,
    today: chrono::NaiveDate,
) -> Result<Vec<(String, IndividualRow)>> {
    use super::schema::{consent_givers, consents, plans};
    use crate::domain::consent::{ConsentOutcome, GiverRole};
    Ok(consent_givers::table
        .inner_join(consents::table.inner_join(plans::table.inner_join(individuals::table)))
        .filter(consent_givers::identity_number.eq(number))
        .filter(consent_givers::role.eq(GiverRole::LegalRepresentative.as_str()))
        .filter(consents::outcome.eq(ConsentOutcome::Given.as_str()))
        .filter(consents::withdrawn_at.is_null())
        .filter(consents::valid_from.le(today))
        .filter(consents::valid_until.ge(today))
        .order(consents::id)
        .select((consents::id, super::native::columns::<IndividualRow>()))
        .load_native(conn)?)
}

/// The identity number, its kind and whether it is protected, of each of the individuals `ids`
/// (one query for a page).
pub fn numbers_of(
    conn: &mut DbConn,
    ids: &[String],
) -> Result<Vec<(String, String, String, bool)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(individuals::table
        .filter(individuals::id.eq_any(ids))
        .select((
            individuals::id,
            individuals::identity_number,
            individuals::identity_kind,
            individuals::protected_identity,
        ))
        .load::<(IndividualId, String, String, bool)>(conn)?
        .into_iter()
        .map(|(id, number, kind, protected)| (id.to_string(), number, kind, protected))
        .collect())
}
