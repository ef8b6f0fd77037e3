//! Individuals (den enskilde) and their guardians.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{guardians, individuals};
use super::DbConn;
use crate::error::Result;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = individuals)]
pub struct IndividualRow {
    pub id: String,
    pub identity_number: String,
    pub identity_kind: String,
    pub given_name: String,
    pub family_name: String,
    pub protected_identity: bool,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = guardians)]
pub struct GuardianRow {
    pub id: String,
    pub individual_id: String,
    pub position: i32,
    pub name: String,
    pub identity_number: Option<String>,
}

pub fn insert(conn: &mut DbConn, row: &IndividualRow) -> Result<()> {
    diesel::insert_into(individuals::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConn, id: &str) -> Result<Option<IndividualRow>> {
    Ok(individuals::table
        .find(id)
        .select(IndividualRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_by_identity_number(conn: &mut DbConn, number: &str) -> Result<Option<IndividualRow>> {
    Ok(individuals::table
        .filter(individuals::identity_number.eq(number))
        .select(IndividualRow::as_select())
        .first(conn)
        .optional()?)
}

/// Stores `row` if the stored version is still `row.version - 1`; false when someone else won.
pub fn update(conn: &mut DbConn, row: &IndividualRow) -> Result<bool> {
    let changed = diesel::update(
        individuals::table
            .filter(individuals::id.eq(&row.id))
            .filter(individuals::version.eq(row.version - 1)),
    )
    .set(row)
    .execute(conn)?;
    Ok(changed == 1)
}

/// The guardians of each individual in `ids`, in their given order (one query for any number).
pub fn guardians_of(conn: &mut DbConn, ids: &[&str]) -> Result<Vec<GuardianRow>> {
    Ok(guardians::table
        .filter(guardians::individual_id.eq_any(ids))
        .order((guardians::individual_id, guardians::position))
        .select(GuardianRow::as_select())
        .load(conn)?)
}

pub fn replace_guardians(
    conn: &mut DbConn,
    individual_id: &str,
    rows: &[GuardianRow],
) -> Result<()> {
    diesel::delete(guardians::table.filter(guardians::individual_id.eq(individual_id)))
        .execute(conn)?;
    for row in rows {
        diesel::insert_into(guardians::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}
