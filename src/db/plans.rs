//! Plans. Every read goes through [`visible_to`], the one place where a unit's access is
//! decided in SQL, so a list or a lookup can never show a plan the unit may not see.

use super::native::NativeRunQueryDsl;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::journal::{self, Journal};
use super::schema::plans;
use super::DbConn;
use crate::domain::consent::ConsentWindows;
use crate::domain::identity::HsaId;
use crate::domain::ids::{IndividualId, PlanId};
use crate::domain::plan::{ClosingReason, PlanStatus};
use crate::domain::Principal;
use crate::error::Result;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = plans, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct PlanRow {
    pub id: PlanId,
    pub individual_id: IndividualId,
    pub initiating_unit: HsaId,
    pub initiating_principal: Principal,
    pub created_by: String,
    pub need_reason: String,
    pub what_matters: Option<String>,
    /// JSON array of strings.
    pub topics_to_avoid: String,
    pub follows_discharge: bool,
    pub discharge_ready_at: Option<NaiveDateTime>,
    pub status: PlanStatus,
    pub closing_reason: Option<ClosingReason>,
    pub closing_note: Option<String>,
    pub closed_at: Option<NaiveDateTime>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// 0 until the meeting establishes the plan; then 1, 2, … after each revision.
    pub revision: i32,
    pub next_follow_up_on: Option<NaiveDate>,
    pub procedure_code: Option<String>,
    pub responsible_principal: Option<Principal>,
    pub coordinator_name: Option<String>,
    pub coordinator_unit: Option<HsaId>,
    /// The days its given consents hold on, kept with the consents' own writes: what a read of
    /// the plan answers "is a consent active today" from ([`PlanRecord::on`]).
    pub consent_windows: ConsentWindows,
}

impl PlanRow {
    /// A plan as it is opened: its need identified, nothing agreed yet, version 1. The caller
    /// sets what else the opening said (`what_matters`, the topics to avoid, a discharge).
    pub fn opened(
        individual_id: IndividualId,
        initiating_unit: HsaId,
        initiating_principal: Principal,
        created_by: String,
        need_reason: String,
        at: NaiveDateTime,
    ) -> PlanRow {
        PlanRow {
            id: PlanId::new(),
            individual_id,
            initiating_unit,
            initiating_principal,
            created_by,
            need_reason,
            what_matters: None,
            topics_to_avoid: "[]".into(),
            follows_discharge: false,
            discharge_ready_at: None,
            status: PlanStatus::NeedIdentified,
            closing_reason: None,
            closing_note: None,
            closed_at: None,
            version: 1,
            created_at: at,
            updated_at: at,
            revision: 0,
            next_follow_up_on: None,
            procedure_code: None,
            responsible_principal: None,
            coordinator_name: None,
            coordinator_unit: None,
            consent_windows: ConsentWindows::none(),
        }
    }
}

/// A plan with what is derived from its consents on the day it is read.
#[derive(Debug, Clone)]
pub struct PlanRecord {
    pub plan: PlanRow,
    /// The last day of the active consent, if one is active today.
    pub active_consent_until: Option<NaiveDate>,
}

impl PlanRecord {
    /// The plan as read on `today` (the date in Sweden), with the last day of its consent active
    /// that day, if any: a closed plan's consent applies no longer, whatever its consents said.
    pub fn on(plan: PlanRow, today: NaiveDate) -> PlanRecord {
        let open = !plan.status.is_read_only();
        PlanRecord {
            active_consent_until: plan.consent_windows.active_until(today).filter(|_| open),
            plan,
        }
    }
}

/// Filters of the plan list; all optional and combined with AND.
#[derive(Debug, Default, Clone)]
pub struct PlanFilter {
    pub status: Option<String>,
    pub individual_id: Option<IndividualId>,
    pub initiating_unit: Option<String>,
    pub updated_since: Option<NaiveDateTime>,
}

impl PlanFilter {
    /// Whether the filter may pass over some of the plans a unit's grants name, so that a page
    /// read from a page of grants can come back short while more grants follow (`list`). Every
    /// field is named, so a filter added later must be decided here before the list compiles.
    fn narrows_the_grants(&self) -> bool {
        let PlanFilter {
            status,
            // A list by individual never starts from the grants (`list`).
            individual_id: _,
            initiating_unit,
            updated_since,
        } = self;
        status.is_some() || initiating_unit.is_some() || updated_since.is_some()
    }
}

/// The plans `unit` may see on `today` (the date in Sweden): those it initiated, and those an
/// active consent covers it in (given, not withdrawn, valid that day). Summons go only to covered units, so recipients see
/// the plan exactly while the consent covers them. Withdrawn or expired consent removes access at
/// once; the initiating unit keeps it, to the documented refusal or withdrawal too. This is the one
/// place plan access is decided: every lookup and list goes through it. It reads the grants that
/// `plan_access` keeps in step with plans and consents (`super::access`): one indexed probe per
/// candidate plan, whatever the number of consents in the database.
///
/// A macro, not a function: the condition's type is spelled by the compiler, so a query built on
/// it is not boxed and each backend keeps its statement prepared under the query's type
/// (`super::native`). `$unit` is an `&HsaId`, `$today` a `NaiveDate`.
macro_rules! visible_to {
    ($unit:expr, $today:expr) => {
        diesel::dsl::exists(
            grants_holding!($unit, $today)
                .filter(super::schema::plan_access::plan_id.eq(plans::id))
                .select(super::schema::plan_access::id),
        )
    };
}

/// The grants of `$unit` that hold on `$today`: the rule of [`visible_to`], read from
/// `plan_access` alone — for a list that starts from what the unit may see.
macro_rules! grants_holding {
    ($unit:expr, $today:expr) => {
        super::schema::plan_access::table
            .filter(super::schema::plan_access::unit.eq($unit.as_str()))
            .filter(
                super::schema::plan_access::valid_from
                    .is_null()
                    .or(super::schema::plan_access::valid_from.le($today)),
            )
            .filter(
                super::schema::plan_access::valid_until
                    .is_null()
                    .or(super::schema::plan_access::valid_until.ge($today)),
            )
    };
}

/// Stores a new plan; the initiating unit's grant to see it comes with it ([`super::access`]).
/// A plan without its journal rows: the unit tests' setup (a create stores them together,
/// [`insert_journaled`]).
#[cfg(test)]
pub fn insert(conn: &mut DbConn, row: &PlanRow) -> Result<()> {
    diesel::insert_into(plans::table)
        .values(row)
        .execute_native(conn)?;
    Ok(())
}

/// Stores a new plan with its access-log row and change event (one statement on PostgreSQL:
/// [`journal::write_with`]).
pub fn insert_journaled(conn: &mut DbConn, row: &PlanRow, journal: Journal) -> Result<()> {
    journal::write_with(conn, diesel::insert_into(plans::table).values(row), journal)
}

pub fn find(
    conn: &mut DbConn,
    unit: &HsaId,
    id: &str,
    today: NaiveDate,
) -> Result<Option<PlanRow>> {
    Ok(plans::table
        .filter(visible_to!(unit, today))
        .filter(plans::id.eq(id))
        .select(super::native::columns::<PlanRow>())
        .first_native(conn)
        .optional()?)
}

diesel::define_sql_function! {
    /// PostgreSQL only (migration `2026-11-30-000012_plan_document`): the rows of a plan's whole
    /// document besides the plan itself, as one JSON object (parsed by [`super::documents`]).
    fn plan_document_rows(
        plan_id: diesel::sql_types::Text,
        individual_id: diesel::sql_types::Text,
    ) -> diesel::sql_types::Text;
}

/// [`find`] and, in the same statement, the rows of the plan's document as JSON: a whole-plan
/// read on PostgreSQL in one round trip. The rows are read only for a plan the unit may see (the
/// function is called in the select list of the row the filter lets through).
pub fn find_with_document_rows(
    conn: &mut diesel::PgConnection,
    unit: &HsaId,
    id: &str,
    today: NaiveDate,
) -> Result<Option<(PlanRow, String)>> {
    Ok(plans::table
        .filter(visible_to!(unit, today))
        .filter(plans::id.eq(id))
        .select((
            super::native::columns::<PlanRow>(),
            plan_document_rows(plans::id, plans::individual_id),
        ))
        .first(conn)
        .optional()?)
}

/// The plan, if it is one of the individuals `ids`' (an individual acting through an e-service:
/// their own records, or those of the people they act for).
pub fn find_of_individuals(
    conn: &mut DbConn,
    ids: &[IndividualId],
    id: &str,
) -> Result<Option<PlanRow>> {
    let ids: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
    Ok(plans::table
        .filter(plans::individual_id.eq_any(ids))
        .filter(plans::id.eq(id))
        .select(super::native::columns::<PlanRow>())
        .first_native(conn)
        .optional()?)
}

/// The plans of the individuals `ids`, oldest first (a person has a handful; `limit` bounds the
/// read whatever the data).
pub fn of_individuals(conn: &mut DbConn, ids: &[IndividualId], limit: i64) -> Result<Vec<PlanRow>> {
    let ids: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
    Ok(plans::table
        .filter(plans::individual_id.eq_any(ids))
        .order(plans::id)
        .limit(limit)
        .select(super::native::columns::<PlanRow>())
        .load_native(conn)?)
}

/// A plan by id whoever asks: for the bulk import, which reaches its plans by its own keys.
pub fn find_for_import(conn: &mut DbConn, id: &str) -> Result<Option<PlanRow>> {
    Ok(plans::table
        .filter(plans::id.eq(id.to_string()))
        .select(super::native::columns::<PlanRow>())
        .first_native(conn)
        .optional()?)
}

/// Stores `row` if the stored version is still `row.version - 1`; false when someone else won.
pub fn update(conn: &mut DbConn, row: &PlanRow) -> Result<bool> {
    Ok(super::prepared::update_versioned!(conn, plans, row)?)
}

/// Stores `row` as [`update`] does, with the change's access-log row and change event (one
/// statement on PostgreSQL, [`journal::update_with`]); `Err(lost)` when someone else won.
pub fn update_journaled(
    conn: &mut DbConn,
    row: &PlanRow,
    journal: Journal,
    lost: crate::error::Error,
) -> Result<()> {
    super::prepared::update_journaled!(conn, plans, row, journal, lost)
}

/// One page of plans `unit` may see on `today`, in id order (ids are UUIDv7, so this is creation
/// order), after `cursor`.
///
/// The page starts from the unit's own grants, in plan order: the plans among its next grants
/// that the filter selects — in one statement, the grants read first
/// ([`super::driven::driven_by`]). So an unfiltered list reads a page of the unit's grants,
/// however many plans the database holds; when a filter leaves that page short, the rest of it is
/// asked as before, planned for its values (below). Asked as "plans, where
/// a grant exists", PostgreSQL's plan (made without the unit's value: the pool's connections force
/// generic plans) walked the plans in id order beside the grants, and a unit with a few plans
/// read all the region's before its page was full. A filter by individual is the exception: her
/// plans are a handful, found through her own index, each checked for a grant.
pub fn list(
    conn: &mut DbConn,
    unit: &HsaId,
    filter: &PlanFilter,
    cursor: Option<&str>,
    limit: i64,
    today: NaiveDate,
) -> Result<Vec<PlanRow>> {
    if filter.individual_id.is_some() {
        return among(
            conn,
            unit,
            Candidates::Visible { cursor },
            filter,
            limit,
            today,
        );
    }
    let first = Candidates::NextGrants {
        cursor,
        most: limit,
    };
    let mut page = among(conn, unit, first, filter, limit, today)?;
    if (page.len() as i64) == limit || !filter.narrows_the_grants() {
        // Full, or every grant read is on the page: none left.
        return Ok(page);
    }
    // The filter left the page short and the unit has more grants than the statement read. The
    // rest of the page comes from the plans after those grants, asked as "plans where a grant
    // exists" and planned for the values: whether the unit's grants or the filter's index is the
    // shorter walk depends on both (a unit with most of the plans listing its few closed ones,
    // or a unit with few plans listing its established ones).
    let first_grants = granted_after(conn, unit, cursor, limit, today)?;
    let (Some(after), true) = (first_grants.last(), first_grants.len() as i64 == limit) else {
        return Ok(page);
    };
    let wanted = limit - page.len() as i64;
    let rest = Candidates::Visible {
        cursor: Some(after),
    };
    page.extend(super::native::with_plans_for_the_values(conn, |c| {
        among(c, unit, rest, filter, wanted, today)
    })?);
    Ok(page)
}

/// The plans a list's statement looks among.
#[derive(Clone, Copy)]
enum Candidates<'a> {
    /// Every plan the unit may see, after the cursor.
    Visible { cursor: Option<&'a str> },
    /// The plans of the unit's next `most` grants after the cursor, read in the same statement.
    NextGrants { cursor: Option<&'a str>, most: i64 },
}

/// The ids of the next `$most` plans `$unit` may see on `$today` after `$after`, in id order.
macro_rules! grants_after {
    ($unit:expr, $after:expr, $most:expr, $today:expr) => {
        grants_holding!($unit, $today)
            .filter(super::schema::plan_access::plan_id.gt($after))
            .select(super::schema::plan_access::plan_id)
            .distinct()
            .order(super::schema::plan_access::plan_id)
            .limit($most)
    };
}

fn granted_after(
    conn: &mut DbConn,
    unit: &HsaId,
    after: Option<&str>,
    most: i64,
    today: NaiveDate,
) -> Result<Vec<String>> {
    Ok(grants_after!(unit, after.unwrap_or(""), most, today).load_native(conn)?)
}

/// The plans `unit` may see that the filter selects, in id order, among `candidates`.
fn among(
    conn: &mut DbConn,
    unit: &HsaId,
    candidates: Candidates<'_>,
    filter: &PlanFilter,
    limit: i64,
    today: NaiveDate,
) -> Result<Vec<PlanRow>> {
    // Boxed for the optional filters, once for each backend's own connection (`super::native`).
    Ok(super::native::on_backend!(conn, |c| {
        let mut query = match candidates {
            Candidates::Visible { cursor } => {
                let query = plans::table.filter(visible_to!(unit, today)).into_boxed();
                match cursor {
                    Some(after) => query.filter(plans::id.gt(after)),
                    None => query,
                }
            }
            Candidates::NextGrants { cursor, most } => plans::table
                .filter(super::driven::driven_by(
                    plans::id,
                    grants_after!(unit, cursor.unwrap_or(""), most, today),
                ))
                .into_boxed(),
        };
        if let Some(status) = &filter.status {
            query = query.filter(plans::status.eq(status.as_str()));
        }
        if let Some(individual_id) = &filter.individual_id {
            query = query.filter(plans::individual_id.eq(individual_id));
        }
        if let Some(unit) = &filter.initiating_unit {
            query = query.filter(plans::initiating_unit.eq(unit.as_str()));
        }
        if let Some(since) = filter.updated_since {
            query = query.filter(plans::updated_at.ge(since));
        }
        query
            .order(plans::id)
            .limit(limit)
            .select(super::native::columns::<PlanRow>())
            .load(c)
    })?)
}

/// Of the plans `ids`, those `unit` may see (one query for a whole set, e.g. a feed page).
pub fn visible_ids(
    conn: &mut DbConn,
    unit: &HsaId,
    ids: &[&str],
    today: NaiveDate,
) -> Result<Vec<String>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(plans::table
        .filter(visible_to!(unit, today))
        .filter(plans::id.eq_any(ids))
        .select(plans::id)
        .load_native(conn)?)
}

/// Of the individuals `ids`, those with a plan `unit` may see.
pub fn individuals_with_visible_plan(
    conn: &mut DbConn,
    unit: &HsaId,
    ids: &[&str],
    today: NaiveDate,
) -> Result<Vec<IndividualId>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(plans::table
        .filter(visible_to!(unit, today))
        .filter(plans::individual_id.eq_any(ids))
        .select(plans::individual_id)
        .distinct()
        .load_native(conn)?)
}

/// The individual of each of the plans `ids`: (plan id, individual id).
pub fn individuals_of(conn: &mut DbConn, ids: &[String]) -> Result<Vec<(String, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(plans::table
        .filter(plans::id.eq_any(ids))
        .select((plans::id, plans::individual_id))
        .load::<(PlanId, IndividualId)>(conn)?
        .into_iter()
        .map(|(plan, individual)| (plan.to_string(), individual.to_string()))
        .collect())
}

/// A new plan's row, every optional column empty: for the persistence layer's own tests.
#[cfg(test)]
pub fn sample_row() -> PlanRow {
    let at = chrono::NaiveDate::from_ymd_opt(2026, 12, 1)
        .and_then(|d| d.and_hms_opt(9, 0, 0))
        .expect("a valid time");
    PlanRow::opened(
        IndividualId::new(),
        HsaId::parse("SE2321000016-PSY1").expect("a valid HSA-id"),
        Principal::Region,
        "tester".into(),
        "needs".into(),
        at,
    )
}
