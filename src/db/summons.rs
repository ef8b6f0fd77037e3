//! Summons (kallelser) and their recipients.

use super::native::NativeRunQueryDsl;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::journal::{self, Journal};
use super::schema::{summons, summons_preparations, summons_recipients};
use super::DbConn;
use crate::domain::consent::PartyKind;
use crate::domain::identity::HsaId;
use crate::domain::ids::{PlanId, RecipientId, SummonsId};
use crate::domain::process::MeetingForm;
use crate::domain::process::Obligation;
use crate::domain::process::Response;
use crate::domain::Principal;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Deserialize)]
#[diesel(table_name = summons, treat_none_as_default_value = false)]
pub struct SummonsRow {
    pub id: SummonsId,
    pub plan_id: PlanId,
    pub purpose: String,
    /// JSON array of strings.
    pub questions: String,
    pub meeting_at: NaiveDateTime,
    pub meeting_place: String,
    pub meeting_form: MeetingForm,
    pub support_person: Option<String>,
    pub interpreter_language: Option<String>,
    pub adaptations: Option<String>,
    pub sent_at: NaiveDateTime,
    pub sent_by: String,
    pub sent_by_unit: HsaId,
    pub meeting_within_deadline: bool,
    pub summons_within_discharge_deadline: Option<bool>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, serde::Deserialize)]
#[diesel(table_name = summons_recipients, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct RecipientRow {
    pub id: RecipientId,
    pub summons_id: SummonsId,
    pub plan_id: PlanId,
    pub position: i32,
    pub kind: PartyKind,
    pub hsa_id: Option<HsaId>,
    pub name: String,
    pub principal: Principal,
    pub obligation: Obligation,
    pub answer_by: NaiveDate,
    pub response: Option<Response>,
    /// JSON array of names.
    pub attendees: Option<String>,
    pub substitute: Option<String>,
    pub forwarded_from: Option<String>,
    pub answered_at: Option<NaiveDateTime>,
    pub answered_by: Option<String>,
    pub attended: Option<bool>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A summons with its recipients in their order.
#[derive(Debug, Clone)]
pub struct SummonsRecord {
    pub summons: SummonsRow,
    pub recipients: Vec<RecipientRow>,
    /// What the individual wrote before the meeting, if they did.
    pub preparation: Option<PreparationRow>,
}

/// The individual's preparation for the meeting (`/api/v1/me`): their questions, and whether they
/// bring a support person. One per summons, replaced as they change it.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, serde::Deserialize)]
#[diesel(table_name = summons_preparations, treat_none_as_default_value = false)]
pub struct PreparationRow {
    pub summons_id: SummonsId,
    pub plan_id: PlanId,
    /// JSON array of strings.
    pub questions: String,
    pub brings_support_person: bool,
    /// Who wrote it: `individual`, `guardian:<id>` or `legal_representative:<consent id>`.
    pub prepared_by: String,
    pub version: i64,
    pub prepared_at: NaiveDateTime,
}

/// Stores the individual's preparation for a summons: the first, or a new version of it.
pub fn save_preparation(conn: &mut DbConn, row: &PreparationRow) -> Result<()> {
    if row.version == 1 {
        diesel::insert_into(summons_preparations::table)
            .values(row)
            .execute_native(conn)?;
    } else {
        diesel::update(summons_preparations::table.find(&row.summons_id))
            .set(row)
            .execute_native(conn)?;
    }
    Ok(())
}

/// Stores a new summons with its access-log row and change event (one statement on PostgreSQL,
/// `journal::write_with`), then its recipients in one statement.
pub fn insert_journaled(conn: &mut DbConn, record: &SummonsRecord, journal: Journal) -> Result<()> {
    journal::write_with(
        conn,
        diesel::insert_into(summons::table).values(&record.summons),
        journal,
    )?;
    if !record.recipients.is_empty() {
        super::insert_rows!(conn, summons_recipients::table, &record.recipients)?;
    }
    Ok(())
}

pub fn insert_recipient(conn: &mut DbConn, row: &RecipientRow) -> Result<()> {
    diesel::insert_into(summons_recipients::table)
        .values(row)
        .execute_native(conn)?;
    Ok(())
}

/// Stores `row` with its journal if the stored version is still `row.version - 1`; `Err(lost)` if
/// not.
pub fn update_recipient(
    conn: &mut DbConn,
    row: &RecipientRow,
    journal: Journal,
    lost: Error,
) -> Result<()> {
    super::prepared::update_journaled!(conn, summons_recipients, row, journal, lost)
}

/// Every summons of a plan, oldest first, with their recipients and the individual's
/// preparation: two queries (the preparation comes with its summons, by a left join).
pub fn of_plan(conn: &mut DbConn, plan_id: &str) -> Result<Vec<SummonsRecord>> {
    let rows = summons::table
        .left_join(summons_preparations::table)
        .filter(summons::plan_id.eq(plan_id))
        .order(summons::id)
        .select((
            super::native::columns::<SummonsRow>(),
            super::native::columns::<PreparationRow>().nullable(),
        ))
        .load_native(conn)?;
    let recipients = summons_recipients::table
        .filter(summons_recipients::plan_id.eq(plan_id))
        .order((summons_recipients::summons_id, summons_recipients::position))
        .select(super::native::columns::<RecipientRow>())
        .load_native(conn)?;
    Ok(assemble(rows, recipients))
}

/// Summons with their recipients, each list in its stored order, and each its preparation.
pub(super) fn assemble(
    rows: Vec<(SummonsRow, Option<PreparationRow>)>,
    recipients: Vec<RecipientRow>,
) -> Vec<SummonsRecord> {
    let mut recipients_of = super::grouped(recipients, |r| r.summons_id.clone());
    rows.into_iter()
        .map(|(summons, preparation)| SummonsRecord {
            recipients: recipients_of.remove(&summons.id).unwrap_or_default(),
            summons,
            preparation,
        })
        .collect()
}

pub fn find(conn: &mut DbConn, plan_id: &str, id: &str) -> Result<Option<SummonsRecord>> {
    Ok(of_plan(conn, plan_id)?
        .into_iter()
        .find(|s| s.summons.id == id))
}
