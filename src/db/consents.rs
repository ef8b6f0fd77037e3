//! Consents with who gave them and whom they cover.

use super::native::NativeRunQueryDsl;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::journal::{self, Journal};
use super::schema::{consent_givers, consent_parties, consents};
use super::DbConn;
use crate::domain::consent::ConsentForm;
use crate::domain::consent::ConsentOutcome;
use crate::domain::consent::GiverRole;
use crate::domain::consent::PartyKind;
use crate::domain::consent::RepresentativeKind;
use crate::domain::identity::HsaId;
use crate::domain::ids::{ConsentId, PlanId};
use crate::domain::Principal;
use crate::error::Result;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, serde::Deserialize)]
#[diesel(table_name = consents, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct ConsentRow {
    pub id: ConsentId,
    pub plan_id: PlanId,
    pub outcome: ConsentOutcome,
    pub form: ConsentForm,
    pub documented_by: Option<String>,
    pub permits_sharing: bool,
    pub permits_summons: bool,
    pub permits_establishing: bool,
    pub permits_relatives: bool,
    /// JSON array of strings.
    pub not_consented_to: String,
    pub valid_from: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
    pub note: Option<String>,
    pub withdrawn_at: Option<NaiveDateTime>,
    pub withdrawal_reason: Option<String>,
    pub recorded_by: String,
    pub recorded_by_unit: HsaId,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Deserialize)]
#[diesel(table_name = consent_givers, treat_none_as_default_value = false)]
pub struct GiverRow {
    pub consent_id: ConsentId,
    pub position: i32,
    pub role: GiverRole,
    pub guardian_id: Option<String>,
    pub name: Option<String>,
    pub representative_kind: Option<RepresentativeKind>,
    /// A legal representative's identity number, when known: they may then act for the person
    /// in an e-service while the consent stands.
    pub identity_number: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Deserialize)]
#[diesel(table_name = consent_parties, treat_none_as_default_value = false)]
pub struct PartyRow {
    pub consent_id: ConsentId,
    pub position: i32,
    pub kind: PartyKind,
    pub hsa_id: Option<HsaId>,
    pub name: String,
    pub principal: Principal,
}

/// A consent with its givers and covered parties.
#[derive(Debug, Clone)]
pub struct ConsentRecord {
    pub consent: ConsentRow,
    pub givers: Vec<GiverRow>,
    pub parties: Vec<PartyRow>,
}

/// Stores a new consent with its access-log row and change event (one statement on PostgreSQL,
/// `journal::write_with`), then its givers and its parties (one statement each), then the grants
/// it gives.
pub fn insert_journaled(conn: &mut DbConn, record: &ConsentRecord, journal: Journal) -> Result<()> {
    journal::write_with(
        conn,
        diesel::insert_into(consents::table).values(&record.consent),
        journal,
    )?;
    insert_details(conn, record)
}

/// A new consent's givers and parties (one statement each), and the grants it gives.
fn insert_details(conn: &mut DbConn, record: &ConsentRecord) -> Result<()> {
    if !record.givers.is_empty() {
        super::insert_rows!(conn, consent_givers::table, &record.givers)?;
    }
    if !record.parties.is_empty() {
        super::insert_rows!(conn, consent_parties::table, &record.parties)?;
    }
    super::access::grant_consent(conn, record)
}

/// A consent without its journal: for this module's tests, whose scratch database refuses
/// access-log rows.
#[cfg(test)]
fn insert(conn: &mut DbConn, record: &ConsentRecord) -> Result<()> {
    diesel::insert_into(consents::table)
        .values(&record.consent)
        .execute_native(conn)?;
    insert_details(conn, record)
}

/// Consents of one plan, a page at a time in id (creation) order, with their givers and parties
/// loaded in two further queries whatever the page size.
pub fn list_for_plan(
    conn: &mut DbConn,
    plan_id: &str,
    cursor: Option<&str>,
    limit: i64,
) -> Result<Vec<ConsentRecord>> {
    let mut query = consents::table
        .filter(consents::plan_id.eq(plan_id.to_string()))
        .into_boxed();
    if let Some(after) = cursor {
        query = query.filter(consents::id.gt(after.to_string()));
    }
    let rows = query
        .order(consents::id)
        .limit(limit)
        .select(super::native::columns::<ConsentRow>())
        .load(conn)?;
    with_details(conn, rows)
}

pub fn find(conn: &mut DbConn, plan_id: &str, id: &str) -> Result<Option<ConsentRecord>> {
    let rows = consents::table
        .filter(consents::plan_id.eq(plan_id))
        .filter(consents::id.eq(id))
        .select(super::native::columns::<ConsentRow>())
        .load_native(conn)?;
    Ok(with_details(conn, rows)?.pop())
}

/// The givers and parties of `rows` — consents of one plan (a plan's page, or its consents in
/// force) — read as those of the plan's consents from the lowest id of `rows` to the highest: a
/// statement the connection keeps prepared, where an `IN` list of the ids was prepared anew each
/// time on SQLite. A consent in that range but not in `rows` has its givers read and left out.
fn with_details(conn: &mut DbConn, rows: Vec<ConsentRow>) -> Result<Vec<ConsentRecord>> {
    let ids = || rows.iter().map(|r| r.id.as_str());
    let (Some(first), Some(last), Some(row)) = (ids().min(), ids().max(), rows.first()) else {
        return Ok(Vec::new());
    };
    let plan_id = row.plan_id.as_str();
    let of_the_plan = consents::table
        .filter(consents::plan_id.eq(plan_id))
        .filter(consents::id.between(first, last))
        .select(consents::id);
    let givers = consent_givers::table
        .filter(consent_givers::consent_id.eq_any(of_the_plan))
        .order((consent_givers::consent_id, consent_givers::position))
        .select(super::native::columns::<GiverRow>())
        .load_native(conn)?;
    let parties = consent_parties::table
        .filter(consent_parties::consent_id.eq_any(of_the_plan))
        .order((consent_parties::consent_id, consent_parties::position))
        .select(super::native::columns::<PartyRow>())
        .load_native(conn)?;
    Ok(assemble(rows, givers, parties))
}

/// Consents with their givers and parties, each list in its stored order.
pub(super) fn assemble(
    rows: Vec<ConsentRow>,
    givers: Vec<GiverRow>,
    parties: Vec<PartyRow>,
) -> Vec<ConsentRecord> {
    let mut givers_of = super::grouped(givers, |g| g.consent_id.clone());
    let mut parties_of = super::grouped(parties, |p| p.consent_id.clone());
    rows.into_iter()
        .map(|consent| ConsentRecord {
            givers: givers_of.remove(&consent.id).unwrap_or_default(),
            parties: parties_of.remove(&consent.id).unwrap_or_default(),
            consent,
        })
        .collect()
}

/// Withdraws every given consent of a plan that is not withdrawn yet — withdrawal ends the plan,
/// so all of them end together — and returns their ids with their new versions.
pub fn withdraw_all(
    conn: &mut DbConn,
    plan_id: &str,
    reason: &str,
    at: NaiveDateTime,
) -> Result<Vec<(String, i64)>> {
    let open = consents::table
        .filter(consents::plan_id.eq(plan_id))
        .filter(consents::outcome.eq(ConsentOutcome::Given.as_str()))
        .filter(consents::withdrawn_at.is_null());
    let ids: Vec<(String, i64)> = open
        .select((consents::id, consents::version))
        .order(consents::id)
        .load_native(conn)?;
    diesel::update(open)
        .set((
            consents::withdrawn_at.eq(at),
            consents::withdrawal_reason.eq(reason),
            consents::version.eq(consents::version + 1),
            consents::updated_at.eq(at),
        ))
        .execute_native(conn)?;
    super::access::revoke_consents(
        conn,
        &ids.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(),
    )?;
    Ok(ids.into_iter().map(|(id, v)| (id, v + 1)).collect())
}

/// The plan's consents that are active on `today`, with their parties.
pub fn active_for_plan(
    conn: &mut DbConn,
    plan_id: &str,
    today: NaiveDate,
) -> Result<Vec<ConsentRecord>> {
    let rows = consents::table
        .filter(consents::plan_id.eq(plan_id))
        .filter(consents::outcome.eq(ConsentOutcome::Given.as_str()))
        .filter(consents::withdrawn_at.is_null())
        .filter(consents::valid_from.le(today))
        .filter(consents::valid_until.ge(today))
        .order(consents::id)
        .select(super::native::columns::<ConsentRow>())
        .load_native(conn)?;
    with_details(conn, rows)
}

/// Every consent of a plan, oldest first, with details (for the whole-plan document).
pub fn all_for_plan(conn: &mut DbConn, plan_id: &str) -> Result<Vec<ConsentRecord>> {
    let rows = consents::table
        .filter(consents::plan_id.eq(plan_id))
        .order(consents::id)
        .select(super::native::columns::<ConsentRow>())
        .load_native(conn)?;
    with_details(conn, rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::scratch::Scratch;
    use crate::domain::ids::Id;

    fn consent(plan: &super::super::plans::PlanRow, unit: &str, withdrawn: bool) -> ConsentRecord {
        let at = plan.created_at;
        let id: ConsentId = Id::new();
        ConsentRecord {
            consent: ConsentRow {
                id: id.clone(),
                plan_id: plan.id.clone(),
                outcome: ConsentOutcome::Given,
                form: ConsentForm::Written,
                documented_by: None,
                permits_sharing: true,
                permits_summons: true,
                permits_establishing: true,
                permits_relatives: false,
                not_consented_to: "[]".into(),
                valid_from: Some(at.date()),
                valid_until: Some(at.date() + chrono::Days::new(365)),
                note: None,
                withdrawn_at: withdrawn.then_some(at),
                withdrawal_reason: withdrawn.then(|| "withdrawn".into()),
                recorded_by: "tester".into(),
                recorded_by_unit: plan.initiating_unit.clone(),
                version: 1,
                created_at: at,
                updated_at: at,
            },
            givers: vec![GiverRow {
                consent_id: id.clone(),
                position: 0,
                role: GiverRole::Individual,
                guardian_id: None,
                name: Some(format!("giver for {unit}")),
                representative_kind: None,
                identity_number: None,
            }],
            parties: vec![PartyRow {
                consent_id: id,
                position: 0,
                kind: PartyKind::Unit,
                hsa_id: Some(HsaId::parse(unit).unwrap()),
                name: unit.into(),
                principal: crate::domain::Principal::Municipality,
            }],
        }
    }

    fn parties(records: &[ConsentRecord]) -> Vec<(String, String, String)> {
        let mut seen: Vec<_> = records
            .iter()
            .flat_map(|r| {
                r.parties.iter().map(move |p| {
                    let giver = r.givers[0].name.clone().unwrap_or_default();
                    (r.consent.id.to_string(), p.name.clone(), giver)
                })
            })
            .collect();
        seen.sort();
        seen
    }

    /// Givers and parties are read for a plan's consents by the range of their ids: each consent
    /// gets exactly its own, also when a consent inside the range is not one of those asked for
    /// (a withdrawn one between two in force).
    #[test]
    fn each_consent_gets_its_own_givers_and_parties() {
        let mut scratch = Scratch::open().unwrap();
        let conn = scratch.conn();
        let plan = super::super::plans::sample_row();
        super::super::plans::insert(conn, &plan).unwrap();
        let records = [
            consent(&plan, "SE2120000001-SOC1", false),
            consent(&plan, "SE2120000001-SOC2", true),
            consent(&plan, "SE2120000001-SOC3", false),
        ];
        for record in &records {
            insert(conn, record).unwrap();
        }
        let expected = |which: &[usize]| {
            parties(
                &which
                    .iter()
                    .map(|i| records[*i].clone())
                    .collect::<Vec<_>>(),
            )
        };
        let today = plan.created_at.date();
        let active = active_for_plan(conn, &plan.id, today).unwrap();
        assert_eq!(parties(&active), expected(&[0, 2]));
        let all = all_for_plan(conn, &plan.id).unwrap();
        assert_eq!(parties(&all), expected(&[0, 1, 2]));
        let middle = find(conn, &plan.id, &records[1].consent.id).unwrap();
        assert_eq!(
            parties(&middle.into_iter().collect::<Vec<_>>()),
            expected(&[1])
        );
        let page = list_for_plan(conn, &plan.id, Some(&records[0].consent.id), 1).unwrap();
        assert_eq!(parties(&page), expected(&[1]));
    }
}
