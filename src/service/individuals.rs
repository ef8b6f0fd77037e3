//! Registering, finding and updating individuals.

use super::Context;
use crate::db::individuals::{self as store, GuardianRow, IndividualRow};
use crate::db::DbConn;
use crate::domain::events::{EventType, ResourceType};
use crate::domain::identity::IdentityNumber;
use crate::domain::ids::{Id, IndividualId};
use crate::error::{Error, Result};

use super::{journal_of, naive, new_id, Change};

pub use crate::db::individuals::IndividualRecord;

pub use crate::domain::individual::{GuardianData, IndividualData};

fn duplicate() -> Error {
    Error::Duplicate(
        "an individual with this identity number is already registered: find them with POST /api/v1/individuals/search".into(),
    )
}

fn guardian_rows(individual_id: &IndividualId, guardians: &[GuardianData]) -> Vec<GuardianRow> {
    guardians
        .iter()
        .enumerate()
        .map(|(i, g)| GuardianRow {
            id: new_id(),
            individual_id: individual_id.clone(),
            position: i as i32,
            name: g.name.clone(),
            identity_number: g.identity_number.as_ref().map(|n| n.as_str().to_string()),
        })
        .collect()
}

/// Registers an individual. A number already registered is a 409 when the caller may see the
/// record that has it (it finds it with the search). When that record is hidden from the caller —
/// a person with protected identity — the caller is told exactly what it is told for a new number:
/// the registration succeeds, as a record of the caller's own that is not linked to hers for
/// anyone else, and the attempt is written in her access log. So nothing the caller receives
/// distinguishes "a protected person has this number" from "nobody has it".
pub fn create(conn: &mut DbConn, ctx: &Context, data: IndividualData) -> Result<IndividualRecord> {
    let registrations = store::registrations_of_number(conn, data.identity_number.as_str())?;
    create_among(conn, ctx, data, registrations)
}

/// [`create`], given every record of the number (`db::individuals::registrations_of_number`),
/// read before — as the import reads its batch's together.
pub fn create_among(
    conn: &mut DbConn,
    ctx: &Context,
    data: IndividualData,
    registrations: Vec<IndividualRow>,
) -> Result<IndividualRecord> {
    let hidden = hidden_among(conn, ctx, registrations, None)?;
    let at = naive(ctx.now);
    let row = IndividualRow {
        id: Id::new(),
        identity_number: data.identity_number.as_str().to_string(),
        identity_kind: data.identity_number.kind().as_str().to_string(),
        given_name: data.given_name,
        family_name: data.family_name,
        protected_identity: data.protected_identity,
        version: 1,
        created_at: at,
        updated_at: at,
        registered_by_unit: Some(ctx.caller.unit.clone()),
        duplicate_of: hidden.clone(),
    };
    let journal = journal_of(
        ctx,
        at,
        Change {
            event_type: EventType::IndividualCreated,
            resource_type: ResourceType::Individual,
            resource_id: &row.id,
            plan_id: None,
            version: row.version,
            from_status: None,
            to_status: None,
            reason: None,
            note: None,
        },
    );
    store::insert_journaled(conn, &row, journal)?;
    let guardians = guardian_rows(&row.id, &data.guardians);
    store::insert_guardians(conn, &guardians)?;
    if let Some(theirs) = hidden {
        record_hidden_match(conn, ctx, &theirs, 201)?;
    }
    Ok(IndividualRecord {
        individual: row,
        guardians,
    })
}

/// Before a number is stored on a record (other than `except`), given every record of the number
/// (`registrations`): 409 when the caller may see a record that has it; the id of the record that
/// has it when that one is hidden from the caller (the new record becomes the caller's own
/// registration); none when nobody has it.
fn hidden_among(
    conn: &mut DbConn,
    ctx: &Context,
    registrations: Vec<IndividualRow>,
    except: Option<&str>,
) -> Result<Option<String>> {
    let rows: Vec<IndividualRow> = registrations
        .into_iter()
        .filter(|row| Some(row.id.as_str()) != except)
        .collect();
    let visible = crate::policy::visible_individuals(conn, &ctx.caller, ctx.today(), &rows)?;
    if rows.iter().any(|row| visible.contains(&row.id)) {
        return Err(duplicate());
    }
    Ok(rows
        .into_iter()
        .find(|row| row.duplicate_of.is_none())
        .map(|row| row.id.into()))
}

/// Writes in a hidden person's access log that a unit asked for her number without being let see
/// her (a search or a registration), so that "who has tried to find me" can be answered.
fn record_hidden_match(
    conn: &mut DbConn,
    ctx: &Context,
    individual_id: &str,
    status: u16,
) -> Result<()> {
    let target = crate::audit::Target {
        action: Some(crate::db::audit::REGISTER_DENIED),
        subject: None,
        resource_type: "individuals".into(),
        resource_id: Some(individual_id.to_string()),
        plan_id: None,
        individual_id: Some(individual_id.to_string()),
    };
    let mut event = crate::audit::event(&ctx.caller, naive(ctx.now), "register", status, target);
    event.result = "denied".into();
    crate::db::audit::insert(conn, &event)
}

fn with_guardians(conn: &mut DbConn, individual: IndividualRow) -> Result<IndividualRecord> {
    let guardians = store::guardians_of(conn, &individual.id)?;
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

/// The individual if the caller may see them (`policy::may_see_individual`), else the answer for
/// an id that does not exist.
pub fn get(conn: &mut DbConn, ctx: &Context, id: &IndividualId) -> Result<IndividualRecord> {
    let record = load(conn, id)?;
    if !crate::policy::may_see_individual(conn, &ctx.caller, ctx.today(), &record.individual)? {
        return Err(Error::NotFound("no individual has this id".into()));
    }
    Ok(record)
}

/// Whether an individual id names someone the caller may see: for an operation that takes the id
/// in a body or a query, which answers for a hidden person exactly as for an unknown id.
pub fn is_visible(conn: &mut DbConn, ctx: &Context, id: &str) -> Result<bool> {
    match store::find(conn, id)? {
        Some(row) => crate::policy::may_see_individual(conn, &ctx.caller, ctx.today(), &row),
        None => Ok(false),
    }
}

/// What a search by identity number found.
#[derive(Debug)]
pub enum Search {
    Found(Box<IndividualRecord>),
    /// Nobody the caller may see has the number; `hidden` is the record it would have found had it
    /// been let see it (the caller is told 404 either way; the access log records the attempt
    /// under that record, with the denial).
    NotFound {
        hidden: Option<IndividualId>,
    },
}

/// Finds the record of an identity number the caller may see: the one that is nobody's own
/// registration when the caller may see it, else one the caller may see among the units' own
/// registrations (its own first).
pub fn find_by_identity_number(
    conn: &mut DbConn,
    ctx: &Context,
    number: &IdentityNumber,
) -> Result<Search> {
    let mut rows = store::registrations_of_number(conn, number.as_str())?;
    let own = ctx.caller.unit.as_str();
    rows.sort_by_key(|r| {
        (
            r.duplicate_of.is_some(),
            r.registered_by_unit.as_deref() != Some(own),
        )
    });
    let visible = crate::policy::visible_individuals(conn, &ctx.caller, ctx.today(), &rows)?;
    let hidden = rows
        .iter()
        .find(|row| row.duplicate_of.is_none() && !visible.contains(&row.id))
        .map(|row| row.id.clone());
    if let Some(row) = rows.into_iter().find(|row| visible.contains(&row.id)) {
        return Ok(Search::Found(Box::new(with_guardians(conn, row)?)));
    }
    Ok(Search::NotFound { hidden })
}

/// Replaces the individual's details; `expected_version` from `If-Match`.
pub fn update(
    conn: &mut DbConn,
    ctx: &Context,
    id: &IndividualId,
    expected_version: Option<crate::domain::Versions>,
    data: IndividualData,
) -> Result<IndividualRecord> {
    let current = get(conn, ctx, id)?.individual;
    crate::domain::ensure_version(&expected_version, current.version)?;
    // A new number is checked as a registration is: taken by someone the caller sees, 409; taken
    // by a hidden person, this record becomes the caller's own registration of it.
    let (duplicate_of, registered_by_unit) = if data.identity_number.as_str()
        == current.identity_number
    {
        (
            current.duplicate_of.clone(),
            current.registered_by_unit.clone(),
        )
    } else {
        let registrations = store::registrations_of_number(conn, data.identity_number.as_str())?;
        match hidden_among(conn, ctx, registrations, Some(&current.id))? {
            Some(theirs) => {
                record_hidden_match(conn, ctx, &theirs, 200)?;
                (Some(theirs), Some(ctx.caller.unit.clone()))
            }
            None => (None, current.registered_by_unit.clone()),
        }
    };
    let at = naive(ctx.now);
    let row = IndividualRow {
        identity_number: data.identity_number.as_str().to_string(),
        identity_kind: data.identity_number.kind().as_str().to_string(),
        given_name: data.given_name,
        family_name: data.family_name,
        protected_identity: data.protected_identity,
        version: current.version + 1,
        updated_at: at,
        registered_by_unit,
        duplicate_of,
        ..current
    };
    let journal = journal_of(
        ctx,
        at,
        Change {
            event_type: EventType::IndividualUpdated,
            resource_type: ResourceType::Individual,
            resource_id: &row.id,
            plan_id: None,
            version: row.version,
            from_status: None,
            to_status: None,
            reason: None,
            note: None,
        },
    );
    store::update_journaled(
        conn,
        &row,
        journal,
        super::concurrent_update(current.version + 1),
    )?;
    let guardians = guardian_rows(&row.id, &data.guardians);
    store::replace_guardians(conn, &row.id, &guardians)?;
    Ok(IndividualRecord {
        individual: row,
        guardians,
    })
}
