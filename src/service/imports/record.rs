//! One record of an import, replayed through the use cases of the API: what the import is for the
//! record ([`ImportContext`]), its import keys, its individual, and its errors rebased onto the
//! record.
//!
//! A record is replayed step by step in the order it happened (`domain::import::timeline`), each
//! step through the same function the API calls, at the step's own time: every process rule applies
//! — consent before summons, leader not secretary, the law's minimum content, the follow-up chain —
//! and a record that breaks one is reported with the path of the step in the record, and stored
//! nowhere (the caller runs each record in a transaction of its own).
//!
//! Import keys map the source system's ids to ours with a fingerprint of what was imported. A step
//! whose key exists with the same fingerprint is skipped, so the same file imported again changes
//! nothing; a step that changed is applied as a change (an updated plan, goal or intervention —
//! where the plan's state still allows it) or refused (what the process never changes: a recorded
//! consent, a sent summons, a held meeting).

use crate::domain::calendar::swedish_date;
use crate::domain::ids::{Id, IndividualId, PlanId};
use crate::service::Context;
use chrono::{DateTime, Utc};
use std::cell::RefCell;
use std::collections::HashMap;

use crate::auth::Caller;
use crate::db::imports::{self as store, KeyRow};
use crate::db::individuals::IndividualRow;
use crate::db::DbConn;
use crate::domain::identity::HsaId;
use crate::domain::import::{fingerprint, Fingerprint, ImportRecord, Timed};
use crate::domain::process::Deadlines;
use crate::domain::Principal;
use crate::error::{Error, FieldError, Result};
use crate::service::individuals::IndividualRecord;
use crate::service::{individuals, naive};

pub use crate::domain::import::RecordOutcome;

use super::replay::Replay;
use crate::db::audit::NewAuditEvent;
use crate::db::scratch::Scratch;
use crate::domain::events::ResourceType;

/// What one import is, for one of its records.
pub struct ImportContext<'a> {
    pub import_id: &'a str,
    pub source: &'a str,
    pub importer: &'a Caller,
    pub deadlines: Deadlines,
    pub line: i64,
    /// The wall clock of this record's import: when keys are stored, and when a change of
    /// something imported before is applied.
    pub now: DateTime<Utc>,
    /// The keys this record has read and added: `RecordKeys::default()`, or what its batch read
    /// ahead for it (`RecordKeys::read`).
    pub keys: RecordKeys,
}

/// The import keys of one record: each read at most once, and those it adds stored together at
/// its end — one statement for all of them instead of a lookup, an update that finds nothing and
/// an insert for each part. The keys of the record's parts are stored on the record's own key
/// (`db::imports::parts_of`): they are known once the record's key is read, and written with it.
/// Lives as long as the record's transaction: dropped with it when the record fails. It may start
/// with what its batch has read ahead for it ([`RecordKeys::read`]).
#[derive(Default)]
pub struct RecordKeys(RefCell<KeysSeen>);

#[derive(Default)]
struct KeysSeen {
    /// Every key looked up or put during this record; `None`: known not to be stored.
    known: HashMap<(String, String), Option<KeyRow>>,
    /// The records of an identity number (`db::individuals::registrations_of_number`), once read.
    registrations: HashMap<String, Vec<IndividualRow>>,
    /// Whether the record's own key was looked up: its parts' keys are known from then on.
    record_read: bool,
    /// Whether the record's own key was put: its parts' keys went with it.
    record_put: bool,
    /// Keys to insert when the record ends.
    added: Vec<KeyRow>,
}

impl KeysSeen {
    /// Remembers a key as found (or known absent); a record's key brings its parts' keys.
    fn learn(&mut self, lookup: (String, String), found: Option<KeyRow>) -> Result<()> {
        if let Some(record) = found.as_ref().filter(|k| k.kind == store::RECORD) {
            for part in store::parts_of(record)? {
                self.known
                    .insert((part.kind.clone(), part.external_id.clone()), Some(part));
            }
        }
        self.known.insert(lookup, found);
        Ok(())
    }
}

impl RecordKeys {
    /// Keys (`(kind, external id)`, `None` when not stored) and the records of identity numbers
    /// already read for this record, as they are in the record's transaction.
    pub fn read(
        keys: impl IntoIterator<Item = ((String, String), Option<KeyRow>)>,
        registrations: impl IntoIterator<Item = (String, Vec<IndividualRow>)>,
    ) -> Result<RecordKeys> {
        let mut seen = KeysSeen {
            registrations: registrations.into_iter().collect(),
            ..KeysSeen::default()
        };
        for (lookup, found) in keys {
            seen.learn(lookup, found)?;
        }
        Ok(RecordKeys(RefCell::new(seen)))
    }

    /// Every record of the identity number `number`, read once.
    fn registrations(&self, conn: &mut DbConn, number: &str) -> Result<Vec<IndividualRow>> {
        if let Some(rows) = self.0.borrow().registrations.get(number) {
            return Ok(rows.clone());
        }
        let rows = crate::db::individuals::registrations_of_number(conn, number)?;
        let mut seen = self.0.borrow_mut();
        seen.registrations.insert(number.to_string(), rows.clone());
        Ok(rows)
    }

    fn get(&self, conn: &mut DbConn, source: &str, kind: &str, id: &str) -> Result<Option<KeyRow>> {
        let mut seen = self.0.borrow_mut();
        seen.record_read |= kind == store::RECORD;
        let lookup = (kind.to_string(), id.to_string());
        if let Some(known) = seen.known.get(&lookup) {
            return Ok(known.clone());
        }
        if !store::is_stored_alone(kind) {
            // A part's key came with its record's (`learn`), or is not stored.
            if !seen.record_read {
                return Err(Error::Internal(format!(
                    "the key of a {kind} looked up before its record's"
                )));
            }
            return Ok(None);
        }
        let found = store::key(conn, source, kind, id)?;
        seen.learn(lookup, found.clone())?;
        Ok(found)
    }

    pub(super) fn put(&self, conn: &mut DbConn, mut row: KeyRow) -> Result<()> {
        let mut seen = self.0.borrow_mut();
        let lookup = (row.kind.clone(), row.external_id.clone());
        if !store::is_stored_alone(&row.kind) {
            if seen.record_put {
                return Err(Error::Internal(format!(
                    "the key of a {} put after its record's",
                    row.kind
                )));
            }
            seen.known.insert(lookup, Some(row));
            return Ok(());
        }
        if row.kind == store::RECORD {
            let parts = seen
                .known
                .iter()
                .filter(|((kind, _), _)| !store::is_stored_alone(kind))
                .filter_map(|(_, part)| part.as_ref());
            store::set_parts(&mut row, parts)?;
            seen.record_put = true;
        }
        if let Some(pending) = seen
            .added
            .iter_mut()
            .find(|k| k.kind == row.kind && k.external_id == row.external_id)
        {
            *pending = row.clone();
        } else if let Some(None) = seen.known.get(&lookup) {
            seen.added.push(row.clone());
        } else {
            store::put_key(conn, &row)?;
        }
        seen.known.insert(lookup, Some(row));
        Ok(())
    }

    fn store_added(&self, conn: &mut DbConn) -> Result<()> {
        let added = std::mem::take(&mut self.0.borrow_mut().added);
        store::insert_keys(conn, &added)
    }
}

impl ImportContext<'_> {
    /// The import acting as `unit` (see `Caller::for_import`), now; a replayed step acts at its
    /// own time (`Context::at`).
    pub(super) fn acting(&self, unit: &str, principal: Principal) -> Result<Context> {
        let unit = HsaId::parse(unit)
            .map_err(|m| Error::validation("$.plan.initiating_unit.hsa_id", m))?;
        let caller = Caller::for_import(self.importer, unit, principal, request_id(self));
        Ok(Context::new(caller, self.now, self.deadlines))
    }

    pub(super) fn key(
        &self,
        conn: &mut DbConn,
        kind: &str,
        external_id: &str,
    ) -> Result<Option<KeyRow>> {
        self.keys.get(conn, self.source, kind, external_id)
    }

    pub(super) fn put(
        &self,
        conn: &mut DbConn,
        kind: &str,
        external_id: &str,
        resource_id: &str,
        plan_id: Option<&PlanId>,
        fingerprint: String,
    ) -> Result<()> {
        self.keys.put(
            conn,
            KeyRow {
                source_system: self.source.into(),
                kind: kind.into(),
                external_id: external_id.into(),
                resource_id: resource_id.into(),
                plan_id: plan_id.cloned(),
                fingerprint,
                updated_at: naive(self.now),
                parts: None,
            },
        )
    }
}

/// Rewrites an error of a use case as the record's problem at `path`: field paths become paths in
/// the record; a refusal by the plan's state, an unknown id or a forbidden step is that step's
/// error. Faults of the service itself pass unchanged.
pub fn in_record(path: &str, error: Error) -> Error {
    let at = |message: String| Error::Validation(vec![FieldError::new(path, message)]);
    match error {
        Error::Validation(errors) => Error::Validation(
            errors
                .into_iter()
                .map(|e| FieldError::new(rebase(path, &e.field), e.message))
                .collect(),
        ),
        Error::BadRequest { detail, errors } if errors.is_empty() => at(detail),
        Error::BadRequest { errors, .. } => Error::Validation(
            errors
                .into_iter()
                .map(|e| FieldError::new(rebase(path, &e.field), e.message))
                .collect(),
        ),
        Error::InvalidState {
            detail,
            current_state,
            ..
        } => at(format!(
            "{detail} (the plan is {current_state} at this step)"
        )),
        Error::NotFound(detail) | Error::Forbidden(detail) | Error::Duplicate(detail) => at(detail),
        Error::PreconditionFailed { .. } => {
            at("the plan changed while this record was imported: import it again".into())
        }
        other => other,
    }
}

fn rebase(prefix: &str, field: &str) -> String {
    if let Some(rest) = field.strip_prefix('$') {
        format!("{prefix}{rest}")
    } else if let Some(rest) = field.strip_prefix("plan.") {
        format!("$.{rest}")
    } else {
        format!("{prefix}.{field}")
    }
}

/// What importing one record did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    pub outcome: RecordOutcome,
    pub plan_id: PlanId,
    /// The plan's individual, when the record changed anything.
    pub individual_id: Option<IndividualId>,
}

/// The access-log row of a record the import stored: one row for the record, whatever it changed
/// — importing a record is one act of writing one person's plan, as a source system's whole
/// history of it — naming the plan and the individual, so that "who has written this person's
/// data" finds it. (The change events keep every step: the plan's history shows them.)
pub fn access_of(
    ctx: &ImportContext<'_>,
    record: &ImportRecord,
    imported: &Imported,
) -> NewAuditEvent {
    let unit = &record.plan.initiating_unit;
    let created = imported.outcome == RecordOutcome::Created;
    NewAuditEvent {
        occurred_at: naive(ctx.now),
        subject: ctx.importer.subject.clone(),
        unit: unit.hsa_id.to_uppercase(),
        principal: unit.principal.as_str().to_string(),
        action: if created { IMPORTED } else { REIMPORTED }.to_string(),
        resource_type: ResourceType::Plan.to_string(),
        resource_id: Some(imported.plan_id.to_string()),
        plan_id: Some(imported.plan_id.to_string()),
        individual_id: imported.individual_id.as_ref().map(|id| id.to_string()),
        result: "allowed".into(),
        status: if created { 201 } else { 200 },
        request_id: request_id(ctx),
    }
}

/// The access-log action of a record imported for the first time, and of one imported again with
/// changes.
pub const IMPORTED: &str = "plan.imported";
pub const REIMPORTED: &str = "plan.reimported";

/// What the access log and the change events name as the request of a record's import.
fn request_id(ctx: &ImportContext<'_>) -> String {
    format!("import:{}:{}", ctx.import_id, ctx.line)
}

/// The external id of the follow-up chain's `n`th item, to map the follow-up scheduled for it.
pub(super) fn follow_up_key(record: &ImportRecord, n: usize) -> Option<&str> {
    record.follow_ups.get(n).map(|f| f.external_id.as_str())
}

/// Imports one record: the individual, the plan and everything in it, in the order it happened.
/// Runs in the caller's transaction; on error the caller rolls it back, so nothing is stored.
pub fn import_record(
    conn: &mut DbConn,
    ctx: &ImportContext<'_>,
    record: &ImportRecord,
    steps: &[Timed],
) -> Result<Imported> {
    let whole = fingerprint(record);
    let previous = ctx.key(conn, "record", &record.external_id)?;
    if let Some(previous) = previous.as_ref().filter(|k| whole.matches(&k.fingerprint)) {
        return Ok(Imported {
            outcome: RecordOutcome::Unchanged,
            plan_id: Id::stored(previous.resource_id.clone()),
            individual_id: None,
        });
    }
    let initiator = initiator(ctx, record)?;
    let (individual, individual_changed) = individual(conn, ctx, record, &initiator)?;
    let (plan_id, plan_changed) =
        replay(conn, ctx, record, steps, initiator, individual.id(), whole)?;
    let outcome = match (previous, individual_changed || plan_changed) {
        (None, _) => RecordOutcome::Created,
        (Some(_), true) => RecordOutcome::Updated,
        (Some(_), false) => RecordOutcome::Unchanged,
    };
    Ok(Imported {
        outcome,
        plan_id,
        individual_id: Some(individual.id()),
    })
}

/// Imports a record this source never imported before, its plan replayed in the `scratch`
/// database (see `db::scratch`): its individual is registered, linked or updated in the service's
/// database `conn` (where the next record looks for them), then lent to the scratch, where the
/// plan and everything in it is replayed through the use cases, step by step, as
/// [`import_record`] does it — every rule alike. The caller moves the scratch's rows into `conn`
/// with the rest of the batch. `None`: the record was imported before; the caller imports it
/// with [`import_record`] (its key is known by then: nothing is read twice).
pub fn stage_record(
    conn: &mut DbConn,
    scratch: &mut Scratch,
    ctx: &ImportContext<'_>,
    record: &ImportRecord,
    steps: &[Timed],
) -> Result<Option<Imported>> {
    match prepare_record(conn, scratch, ctx, record)? {
        Some(prepared) => replay_prepared(scratch, ctx, record, steps, prepared).map(Some),
        None => Ok(None),
    }
}

/// A new record whose individual is settled in the service's database and lent to the scratch
/// its plan is to be replayed in.
pub struct Prepared {
    initiator: Context,
    individual_id: IndividualId,
}

/// The first half of [`stage_record`], in the service's database `conn`: `None` when the record
/// was imported before; otherwise its individual registered, linked or updated there and lent to
/// `scratch`. Its plan is then replayed by [`replay_prepared`] — on another thread, in a batch
/// whose records are replayed side by side (`runner`).
pub fn prepare_record(
    conn: &mut DbConn,
    scratch: &mut Scratch,
    ctx: &ImportContext<'_>,
    record: &ImportRecord,
) -> Result<Option<Prepared>> {
    if ctx.key(conn, "record", &record.external_id)?.is_some() {
        return Ok(None);
    }
    let initiator = initiator(ctx, record)?;
    let (individual, _) = individual(conn, ctx, record, &initiator)?;
    // The individual's key goes where the batch's next records look for it.
    ctx.keys.store_added(conn)?;
    match &individual {
        Person::Read(known) => scratch.lend(known)?,
        Person::Known(id) => scratch.borrow_individual(conn, id)?,
    }
    Ok(Some(Prepared {
        initiator,
        individual_id: individual.id(),
    }))
}

/// The second half of [`stage_record`]: the prepared record's plan replayed in `scratch` alone,
/// in a savepoint of its own there (a record that fails leaves nothing in the scratch). `ctx`
/// must carry the keys [`prepare_record`] read.
pub fn replay_prepared(
    scratch: &mut Scratch,
    ctx: &ImportContext<'_>,
    record: &ImportRecord,
    steps: &[Timed],
    prepared: Prepared,
) -> Result<Imported> {
    let Prepared {
        initiator,
        individual_id,
    } = prepared;
    let (plan_id, _) = crate::db::nested(scratch.conn(), |s| {
        replay(
            s,
            ctx,
            record,
            steps,
            initiator,
            individual_id.clone(),
            fingerprint(record),
        )
    })?;
    Ok(Imported {
        outcome: RecordOutcome::Created,
        plan_id,
        individual_id: Some(individual_id),
    })
}

fn initiator(ctx: &ImportContext<'_>, record: &ImportRecord) -> Result<Context> {
    let unit = &record.plan.initiating_unit;
    ctx.acting(&unit.hsa_id, unit.principal)
}

/// Replays the record's plan, step by step, and stores its keys (the record's with `whole`, its
/// fingerprint): the plan's id and whether a step changed anything.
fn replay(
    conn: &mut DbConn,
    ctx: &ImportContext<'_>,
    record: &ImportRecord,
    steps: &[Timed],
    initiator: Context,
    individual_id: IndividualId,
    whole: Fingerprint,
) -> Result<(PlanId, bool)> {
    let mut replay = Replay {
        ctx,
        record,
        initiator,
        individual_id,
        plan_id: PlanId::new(),
    };
    let mut changed = false;
    for timed in steps {
        let applied = replay
            .step(conn, *timed)
            .map_err(|e| in_record(&timed.step.path(), e))?;
        changed |= applied;
    }
    let plan_id = replay.plan_id;
    ctx.put(
        conn,
        "record",
        &record.external_id,
        &plan_id,
        Some(&plan_id),
        whole.into_string(),
    )?;
    ctx.keys.store_added(conn)?;
    Ok((plan_id, changed))
}

/// The record's individual, as far as the import has read them.
enum Person {
    /// Known by their key, unchanged since: not read.
    Known(IndividualId),
    /// Read (or just written), with their guardians.
    Read(Box<IndividualRecord>),
}

impl Person {
    fn id(&self) -> IndividualId {
        match self {
            Person::Known(id) => id.clone(),
            Person::Read(record) => record.individual.id.clone(),
        }
    }
}

/// Registers, links or updates the record's individual.
fn individual(
    conn: &mut DbConn,
    ctx: &ImportContext<'_>,
    record: &ImportRecord,
    initiator: &Context,
) -> Result<(Person, bool)> {
    const PATH: &str = "$.individual.details";
    let now = ctx.now;
    let item = &record.individual;
    let print = fingerprint(&item.details);
    let key = ctx.key(conn, "individual", &item.external_id)?;
    if let Some(key) = key.as_ref().filter(|k| print.matches(&k.fingerprint)) {
        return Ok((Person::Known(Id::stored(key.resource_id.clone())), false));
    }
    let data = item
        .details
        .clone()
        .into_data(swedish_date(now))
        .map_err(|e| in_record(PATH, e))?;
    // Her shared record — nobody's own registration —, or every record of her number.
    let existing = match &key {
        Some(key) => Ok(individuals::load(conn, &key.resource_id)?),
        None => {
            let rows = ctx
                .keys
                .registrations(conn, data.identity_number.as_str())?;
            match rows.iter().find(|row| row.duplicate_of.is_none()) {
                Some(row) => Ok(individuals::load(conn, &row.id)?),
                None => Err(rows),
            }
        }
    };
    let (person, changed) = match existing {
        Ok(current) if same_person(&current, &data) => (current, false),
        Ok(current) => {
            let id = current.individual.id;
            let updated = individuals::update(conn, initiator, &id, None, data)
                .map_err(|e| in_record(PATH, e))?;
            (updated, true)
        }
        Err(registrations) => {
            let created = individuals::create_among(conn, initiator, data, registrations)
                .map_err(|e| in_record(PATH, e))?;
            (created, true)
        }
    };
    ctx.put(
        conn,
        "individual",
        &item.external_id,
        &person.individual.id,
        None,
        print.into_string(),
    )?;
    Ok((Person::Read(Box::new(person)), changed))
}

fn same_person(current: &IndividualRecord, data: &individuals::IndividualData) -> bool {
    let i = &current.individual;
    i.identity_number == data.identity_number.as_str()
        && i.given_name == data.given_name
        && i.family_name == data.family_name
        && i.protected_identity == data.protected_identity
        && current.guardians.len() == data.guardians.len()
        && current.guardians.iter().zip(&data.guardians).all(|(g, d)| {
            g.name == d.name
                && g.identity_number.as_deref() == d.identity_number.as_ref().map(|n| n.as_str())
        })
}
