//! Registering, finding and updating individuals.

use chrono::{DateTime, Utc};

use crate::auth::Caller;
use crate::db::individuals::{self as store, GuardianRow, IndividualRow};
use crate::db::DbConn;
use crate::domain::events::EventType;
use crate::domain::identity::IdentityNumber;
use crate::error::{Error, Result};

use super::{naive, new_id, record, Change};

/// An individual with their guardians.
#[derive(Debug, Clone)]
pub struct IndividualRecord {
    pub individual: IndividualRow,
    pub guardians: Vec<GuardianRow>,
}

/// A validated individual, as the API hands it over.
#[derive(Debug, Clone)]
pub struct IndividualData {
    pub identity_number: IdentityNumber,
    pub given_name: String,
    pub family_name: String,
    pub protected_identity: bool,
    pub guardians: Vec<GuardianData>,
}

#[derive(Debug, Clone)]
pub struct GuardianData {
    pub name: String,
    pub identity_number: Option<IdentityNumber>,
}

fn duplicate() -> Error {
    Error::Duplicate(
        "an individual with this identity number is already registered: find them with POST /api/v1/individuals/search".into(),
    )
}

fn guardian_rows(individual_id: &str, guardians: &[GuardianData]) -> Vec<GuardianRow> {
    guardians
        .iter()
        .enumerate()
        .map(|(i, g)| GuardianRow {
            id: new_id(),
            individual_id: individual_id.to_string(),
            position: i as i32,
            name: g.name.clone(),
            identity_number: g.identity_number.as_ref().map(|n| n.as_str().to_string()),
        })
        .collect()
}

pub fn create(
    conn: &mut DbConn,
    caller: &Caller,
    data: IndividualData,
    now: DateTime<Utc>,
) -> Result<IndividualRecord> {
    if store::find_by_identity_number(conn, data.identity_number.as_str())?.is_some() {
        return Err(duplicate());
    }
    let at = naive(now);
    let row = IndividualRow {
        id: new_id(),
        identity_number: data.identity_number.as_str().to_string(),
        identity_kind: data.identity_number.kind().as_str().to_string(),
        given_name: data.given_name,
        family_name: data.family_name,
        protected_identity: data.protected_identity,
        version: 1,
        created_at: at,
        updated_at: at,
    };
    store::insert(conn, &row)?;
    let guardians = guardian_rows(&row.id, &data.guardians);
    store::replace_guardians(conn, &row.id, &guardians)?;
    record(
        conn,
        caller,
        at,
        Change {
            event_type: EventType::IndividualCreated,
            resource_type: "individual",
            resource_id: &row.id,
            plan_id: None,
            version: row.version,
            from_status: None,
            to_status: None,
            reason: None,
            note: None,
        },
    )?;
    Ok(IndividualRecord {
        individual: row,
        guardians,
    })
}

fn with_guardians(conn: &mut DbConn, individual: IndividualRow) -> Result<IndividualRecord> {
    let guardians = store::guardians_of(conn, &[&individual.id])?;
    Ok(IndividualRecord {
        individual,
        guardians,
    })
}

/// The individual, for a caller whose access was decided elsewhere (e.g. through their plan).
pub fn load(conn: &mut DbConn, id: &str) -> Result<IndividualRecord> {
    let individual = store::find(conn, id)?
        .ok_or_else(|| Error::NotFound("no individual has this id".into()))?;
    with_guardians(conn, individual)
}

/// Protected identity (skyddad identitet): such a person's record is shown only to units that see
/// one of their plans; to every other unit it does not exist.
fn ensure_may_see(
    conn: &mut DbConn,
    caller: &Caller,
    individual: &IndividualRow,
    missing: &str,
) -> Result<()> {
    if !individual.protected_identity || caller.is_import_agent() {
        return Ok(());
    }
    let theirs = crate::db::plans::PlanFilter {
        individual_id: Some(individual.id.clone()),
        ..Default::default()
    };
    if crate::db::plans::list(conn, caller, &theirs, None, 1)?.is_empty() {
        Err(Error::NotFound(missing.into()))
    } else {
        Ok(())
    }
}

pub fn get(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<IndividualRecord> {
    let record = load(conn, id)?;
    ensure_may_see(
        conn,
        caller,
        &record.individual,
        "no individual has this id",
    )?;
    Ok(record)
}

pub fn find_by_identity_number(
    conn: &mut DbConn,
    caller: &Caller,
    number: &IdentityNumber,
) -> Result<IndividualRecord> {
    const MISSING: &str = "no individual is registered with this identity number";
    let individual = store::find_by_identity_number(conn, number.as_str())?
        .ok_or_else(|| Error::NotFound(MISSING.into()))?;
    ensure_may_see(conn, caller, &individual, MISSING)?;
    with_guardians(conn, individual)
}

/// Replaces the individual's details; `expected_version` from `If-Match`.
pub fn update(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    expected_version: Option<i64>,
    data: IndividualData,
    now: DateTime<Utc>,
) -> Result<IndividualRecord> {
    let current = get(conn, caller, id)?.individual;
    crate::domain::ensure_version(expected_version, current.version)?;
    if data.identity_number.as_str() != current.identity_number
        && store::find_by_identity_number(conn, data.identity_number.as_str())?.is_some()
    {
        return Err(duplicate());
    }
    let at = naive(now);
    let row = IndividualRow {
        identity_number: data.identity_number.as_str().to_string(),
        identity_kind: data.identity_number.kind().as_str().to_string(),
        given_name: data.given_name,
        family_name: data.family_name,
        protected_identity: data.protected_identity,
        version: current.version + 1,
        updated_at: at,
        ..current
    };
    if !store::update(conn, &row)? {
        return Err(super::concurrent_update(current.version + 1));
    }
    let guardians = guardian_rows(&row.id, &data.guardians);
    store::replace_guardians(conn, &row.id, &guardians)?;
    record(
        conn,
        caller,
        at,
        Change {
            event_type: EventType::IndividualUpdated,
            resource_type: "individual",
            resource_id: &row.id,
            plan_id: None,
            version: row.version,
            from_status: None,
            to_status: None,
            reason: None,
            note: None,
        },
    )?;
    Ok(IndividualRecord {
        individual: row,
        guardians,
    })
}
