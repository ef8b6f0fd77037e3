//! Bulk import: the import resource, and one record replayed through the use cases of the API.
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

use super::Context;
use crate::domain::calendar::swedish_date;
use crate::domain::ids::{
    ConsentId, FollowUpId, Goal, Id, IdKind, ImportId, IndividualId, Intervention, InterventionId,
    PlanId, SummonsId,
};
use chrono::{DateTime, Utc};
use std::cell::RefCell;
use std::collections::HashMap;

use super::{consents, content, individuals, meetings, naive, plans, summons};
use crate::auth::Caller;
use crate::db::imports::{self as store, Counts, ImportRow, KeyRow, RecordRow};
use crate::db::DbConn;
use crate::domain::identity::HsaId;
use crate::domain::import::{fingerprint, is_party, Fingerprint, ImportRecord, Step, Timed};
use crate::domain::plan::PlanDetails;
use crate::domain::process::{Attendance, Deadlines};
use crate::domain::Principal;
use crate::error::{Error, FieldError, Result};
use crate::service::individuals::IndividualRecord;

pub use crate::domain::import::{ImportStatus, RecordOutcome};

// --- The import resource ------------------------------------------------------------------------

fn not_found() -> Error {
    Error::NotFound("your unit has no import with this id".into())
}

pub fn create(
    conn: &mut DbConn,
    ctx: &Context,
    source_system: String,
    dry_run: bool,
) -> Result<ImportRow> {
    let at = naive(ctx.now);
    let row = ImportRow {
        id: Id::new(),
        source_system,
        dry_run,
        status: ImportStatus::AwaitingData,
        failure: None,
        unit: ctx.caller.unit.clone(),
        principal: ctx.caller.principal,
        created_by: ctx.caller.subject.clone(),
        lines_read: 0,
        created_count: 0,
        updated_count: 0,
        unchanged_count: 0,
        failed_count: 0,
        started_at: None,
        finished_at: None,
        version: 1,
        created_at: at,
        updated_at: at,
        alive_at: None,
    };
    store::insert(conn, &row)?;
    Ok(row)
}

pub fn get(conn: &mut DbConn, ctx: &Context, id: &ImportId) -> Result<ImportRow> {
    store::find(conn, ctx.caller.unit.as_str(), id)?.ok_or_else(not_found)
}

/// Starts reading an import's records: only once, from `awaiting_data`, and only while no other
/// import of the same source system runs — two imports of overlapping files at once would race for
/// the same import keys. An import whose instance stopped (no heartbeat) is failed first, so a crash
/// never blocks its source system.
pub fn start(conn: &mut DbConn, ctx: &Context, id: &ImportId) -> Result<ImportRow> {
    let row = get(conn, ctx, id)?;
    if row.status != ImportStatus::AwaitingData {
        return Err(records_taken(row.status));
    }
    fail_stalled(conn, ctx.now)?;
    if let Some(running) = store::running(conn, &row.source_system)? {
        return Err(source_busy(&row.source_system, Some(&running)));
    }
    let moved = store::set_status(
        conn,
        &row.id,
        ImportStatus::AwaitingData.as_str(),
        ImportStatus::Running.as_str(),
        None,
        naive(ctx.now),
    );
    match moved {
        Ok(true) => get(conn, ctx, id),
        // Another upload to this import started in between.
        Ok(false) => Err(records_taken(ImportStatus::Running)),
        // Another import of the source started in between (the unique index on running imports).
        Err(Error::Duplicate(_)) => Err(source_busy(&row.source_system, None)),
        Err(other) => Err(other),
    }
}

fn records_taken(current_state: ImportStatus) -> Error {
    Error::InvalidState {
        detail:
            "this import has already received its records: create a new import to send a file again"
                .into(),
        current_state: current_state.as_str().into(),
        allowed_actions: vec![],
    }
}

/// The import waits: send its records again once the running one has finished. The running import
/// is named (its id and unit: no personal data) so its owner can be found.
fn source_busy(source_system: &str, running: Option<&ImportRow>) -> Error {
    let which = running.map_or_else(
        || "another import".to_string(),
        |r| format!("import {} of unit {}", r.id, r.unit),
    );
    Error::InvalidState {
        detail: format!(
            "{which} is importing records of source system '{source_system}': one import of a source system runs at a time; send these records once it has finished"
        ),
        current_state: ImportStatus::AwaitingData.as_str().into(),
        allowed_actions: vec!["upload_records".into()],
    }
}

/// The heartbeat of a running import (see `domain::import::HEARTBEAT`).
pub fn mark_alive(conn: &mut DbConn, id: &str, now: DateTime<Utc>) -> Result<()> {
    store::mark_alive(conn, id, naive(now))
}

/// Ends a running import: `completed`, or `failed` with the reason.
pub fn finish(
    conn: &mut DbConn,
    id: &str,
    failure: Option<&str>,
    now: DateTime<Utc>,
) -> Result<()> {
    let to = if failure.is_some() {
        ImportStatus::Failed
    } else {
        ImportStatus::Completed
    };
    store::set_status(
        conn,
        id,
        ImportStatus::Running.as_str(),
        to.as_str(),
        failure,
        naive(now),
    )?;
    Ok(())
}

/// Stores the outcomes of a batch of records and adds them to the import's counts, in one commit.
pub fn report(
    conn: &mut DbConn,
    import_id: &ImportId,
    rows: &[RecordRow],
    now: DateTime<Utc>,
) -> Result<()> {
    let mut counts = Counts {
        lines: rows.len() as i64,
        ..Counts::default()
    };
    for row in rows {
        store::insert_record(conn, row)?;
        match row.outcome {
            RecordOutcome::Created => counts.created += 1,
            RecordOutcome::Updated => counts.updated += 1,
            RecordOutcome::Unchanged => counts.unchanged += 1,
            RecordOutcome::Failed => counts.failed += 1,
        }
    }
    store::add_counts(conn, import_id, counts, naive(now))
}

/// Marks imports whose instance stopped while they ran (no heartbeat for `STALLED_AFTER`) as
/// failed, so nobody waits for them and their source system can import again.
pub fn fail_stalled(conn: &mut DbConn, now: DateTime<Utc>) -> Result<usize> {
    let stalled = store::stalled(conn, naive(now - crate::domain::import::STALLED_AFTER))?;
    for id in &stalled {
        finish(
            conn,
            id,
            Some("the service stopped while the records were read: what was imported stays; send the file again in a new import, and records already imported are unchanged"),
            now,
        )?;
    }
    Ok(stalled.len())
}

// --- One record --------------------------------------------------------------------------------

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
    /// The keys this record has read and added (start with `RecordKeys::default()`).
    pub keys: RecordKeys,
}

/// The import keys of one record: each read at most once, and those it adds stored together at
/// its end — one statement for all of them instead of a lookup, an update that finds nothing and
/// an insert for each part. Lives as long as the record's transaction: dropped with it when the
/// record fails.
#[derive(Default)]
pub struct RecordKeys(RefCell<KeysSeen>);

#[derive(Default)]
struct KeysSeen {
    /// Every key looked up or put during this record; `None`: known not to be stored.
    known: HashMap<(String, String), Option<KeyRow>>,
    /// For a record never imported before, the prefix of its parts' keys: none of them can be
    /// stored (they are stored only in the transaction that stores the record's own key), so they
    /// are not looked up. (Individuals' keys are not the record's: they are always looked up.)
    new_parts: Option<String>,
    /// Keys to insert when the record ends.
    added: Vec<KeyRow>,
}

impl RecordKeys {
    fn get(&self, conn: &mut DbConn, source: &str, kind: &str, id: &str) -> Result<Option<KeyRow>> {
        let mut seen = self.0.borrow_mut();
        let lookup = (kind.to_string(), id.to_string());
        if let Some(known) = seen.known.get(&lookup) {
            return Ok(known.clone());
        }
        let found = match &seen.new_parts {
            Some(prefix) if kind != "individual" && id.starts_with(prefix.as_str()) => None,
            _ => store::key(conn, source, kind, id)?,
        };
        seen.known.insert(lookup, found.clone());
        Ok(found)
    }

    fn put(&self, conn: &mut DbConn, row: KeyRow) -> Result<()> {
        let mut seen = self.0.borrow_mut();
        let lookup = (row.kind.clone(), row.external_id.clone());
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

    fn new_record(&self, external_id: &str) {
        self.0.borrow_mut().new_parts = Some(format!("{external_id}/"));
    }

    fn store_added(&self, conn: &mut DbConn) -> Result<()> {
        let added = std::mem::take(&mut self.0.borrow_mut().added);
        store::insert_keys(conn, &added)
    }
}

impl ImportContext<'_> {
    /// The import acting as `unit` (see `Caller::for_import`), now; a replayed step acts at its
    /// own time (`Context::at`).
    fn acting(&self, unit: &str, principal: Principal) -> Result<Context> {
        let unit = HsaId::parse(unit)
            .map_err(|m| Error::validation("$.plan.initiating_unit.hsa_id", m))?;
        let caller = Caller::for_import(
            self.importer,
            unit,
            principal,
            format!("import:{}:{}", self.import_id, self.line),
        );
        Ok(Context::new(caller, self.now, self.deadlines))
    }

    fn key(&self, conn: &mut DbConn, kind: &str, external_id: &str) -> Result<Option<KeyRow>> {
        self.keys.get(conn, self.source, kind, external_id)
    }

    fn put(
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
}

/// The external id of the follow-up chain's `n`th item, to map the follow-up scheduled for it.
fn follow_up_key(record: &ImportRecord, n: usize) -> Option<&str> {
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
        });
    }
    if previous.is_none() {
        ctx.keys.new_record(&record.external_id);
    }
    let unit = &record.plan.initiating_unit;
    let initiator = ctx.acting(&unit.hsa_id, unit.principal)?;
    let (individual_id, mut changed) = individual(conn, ctx, record, &initiator)?;
    let mut replay = Replay {
        ctx,
        record,
        initiator,
        individual_id,
        plan_id: PlanId::new(),
    };
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
    let outcome = match (previous, changed) {
        (None, _) => RecordOutcome::Created,
        (Some(_), true) => RecordOutcome::Updated,
        (Some(_), false) => RecordOutcome::Unchanged,
    };
    Ok(Imported { outcome, plan_id })
}

/// Registers, links or updates the record's individual.
fn individual(
    conn: &mut DbConn,
    ctx: &ImportContext<'_>,
    record: &ImportRecord,
    initiator: &Context,
) -> Result<(IndividualId, bool)> {
    const PATH: &str = "$.individual.details";
    let now = ctx.now;
    let item = &record.individual;
    let print = fingerprint(&item.details);
    let key = ctx.key(conn, "individual", &item.external_id)?;
    if let Some(key) = key.as_ref().filter(|k| print.matches(&k.fingerprint)) {
        return Ok((Id::stored(key.resource_id.clone()), false));
    }
    let data = item
        .details
        .clone()
        .into_data(swedish_date(now))
        .map_err(|e| in_record(PATH, e))?;
    let existing = match &key {
        Some(key) => Some(individuals::load(conn, &key.resource_id)?),
        None => {
            crate::db::individuals::find_by_identity_number(conn, data.identity_number.as_str())?
                .map(|row| individuals::load(conn, &row.id))
                .transpose()?
        }
    };
    let (id, changed) = match existing {
        Some(current) if same_person(&current, &data) => (current.individual.id, false),
        Some(current) => {
            let id = current.individual.id;
            individuals::update(conn, initiator, &id, None, data)
                .map_err(|e| in_record(PATH, e))?;
            (id, true)
        }
        None => {
            let created =
                individuals::create(conn, initiator, data).map_err(|e| in_record(PATH, e))?;
            (created.individual.id, true)
        }
    };
    ctx.put(
        conn,
        "individual",
        &item.external_id,
        &id,
        None,
        print.into_string(),
    )?;
    Ok((id, changed))
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

/// Replays the steps of one record.
struct Replay<'a> {
    ctx: &'a ImportContext<'a>,
    record: &'a ImportRecord,
    /// The initiating unit, which does most steps.
    initiator: Context,
    individual_id: IndividualId,
    /// Set by the plan step, which every record begins with (`Step::OpenPlan`); until then an id
    /// that names nothing.
    plan_id: PlanId,
}

/// A recorded part of the process, which the process never changes afterwards.
fn fixed(what: &str) -> Error {
    Error::validation(
        "$",
        format!("{what} was imported before and has changed since: it cannot change once recorded"),
    )
}

impl Replay<'_> {
    /// Applies one step unless it was imported before just like this; returns whether it changed
    /// anything.
    fn step(&mut self, conn: &mut DbConn, timed: Timed) -> Result<bool> {
        let Timed { at, step } = timed;
        let record = self.record;
        match step {
            Step::OpenPlan => self.open_plan(conn, at),
            Step::Consent(i) => {
                let item = &record.consents[i];
                let mut without_withdrawal = item.clone();
                without_withdrawal.withdrawal = None;
                self.once(
                    conn,
                    "consent",
                    &item.external_id,
                    fingerprint(&without_withdrawal),
                    "the consent",
                    |this, conn| {
                        let mut consent = item.consent.clone();
                        this.map_guardians(conn, &mut consent)?;
                        let recorded = consents::record_consent(
                            conn,
                            &this.initiator.at(at),
                            &this.plan_id,
                            consent,
                        )?;
                        Ok(recorded.consent.id.into())
                    },
                )
            }
            Step::Withdrawal(i) => {
                let item = &record.consents[i];
                let Some(withdrawal) = &item.withdrawal else {
                    return Ok(false);
                };
                let consent_id: ConsentId = self.id_of(conn, "consent", &item.external_id)?;
                self.once(
                    conn,
                    "withdrawal",
                    &item.external_id,
                    fingerprint(withdrawal),
                    "the withdrawal",
                    |this, conn| {
                        let current =
                            consents::get(conn, &this.initiator, &this.plan_id, &consent_id)?;
                        // Withdrawing one consent withdraws them all: a record may list each.
                        if current.consent.withdrawn_at.is_none() {
                            consents::withdraw(
                                conn,
                                &this.initiator.at(at),
                                &this.plan_id,
                                &consent_id,
                                None,
                                withdrawal.reason.clone(),
                            )?;
                        }
                        Ok(consent_id.to_string())
                    },
                )
            }
            Step::Goal(i) => self.goal(conn, i, at),
            Step::Intervention(i) => self.intervention(conn, i, at),
            Step::StatusChange(i, n) => {
                let item = &record.interventions[i];
                let change = &item.status_history[n];
                let intervention_id: InterventionId =
                    self.id_of(conn, "intervention", &item.external_id)?;
                let key = format!("{}#{n}", item.external_id);
                self.once(
                    conn,
                    "status",
                    &key,
                    fingerprint(change),
                    "the status change",
                    |this, conn| {
                        let unit = item.intervention.responsible_unit.clone();
                        let acting = match unit {
                            Some(unit) => {
                                this.ctx.acting(&unit, this.initiator.caller.principal)?
                            }
                            None => this.initiator.clone(),
                        };
                        content::change_intervention_status(
                            conn,
                            &acting.at(at),
                            &this.plan_id,
                            &intervention_id,
                            None,
                            change.change.clone(),
                        )?;
                        Ok(intervention_id.to_string())
                    },
                )
            }
            Step::Summons(s) => {
                let item = &record.summons[s];
                self.once(
                    conn,
                    "summons",
                    &item.external_id,
                    fingerprint(&(item.sent_at, &item.summons)),
                    "the summons",
                    |this, conn| {
                        let sent = summons::send(
                            conn,
                            &this.initiator.at(at),
                            &this.plan_id,
                            item.summons.clone(),
                        )?;
                        Ok(sent.summons.id.into())
                    },
                )
            }
            Step::Answer(s, a) => {
                let item = &record.summons[s];
                let answer = &item.answers[a];
                let summons_id: SummonsId = self.id_of(conn, "summons", &item.external_id)?;
                let key = format!("{}#{}", item.external_id, answer.recipient.to_lowercase());
                self.once(
                    conn,
                    "answer",
                    &key,
                    fingerprint(answer),
                    "the answer",
                    |this, conn| {
                        let sent = summons::list(conn, &this.initiator, &this.plan_id)?
                            .into_iter()
                            .find(|r| r.summons.id == summons_id)
                            .ok_or_else(|| {
                                Error::Internal("an imported summons is missing".into())
                            })?;
                        let recipient = sent
                            .recipients
                            .iter()
                            .find(|r| is_party(r.hsa_id.as_deref(), &r.name, &answer.recipient))
                            .ok_or_else(|| {
                                Error::validation("$", "names no recipient of the summons")
                            })?;
                        summons::answer(
                            conn,
                            &this.initiator.at(at),
                            &this.plan_id,
                            &summons_id,
                            &recipient.id,
                            None,
                            answer.answer.clone(),
                        )?;
                        Ok(recipient.id.to_string())
                    },
                )
            }
            Step::Meeting => {
                let Some(meeting) = &record.meeting else {
                    return Ok(false);
                };
                let external = record.external_id.clone();
                self.once(
                    conn,
                    "meeting",
                    &external,
                    fingerprint(meeting),
                    "the meeting",
                    |this, conn| {
                        let summons_id: SummonsId =
                            this.id_of(conn, "summons", &meeting.summons_id)?;
                        let sent = summons::list(conn, &this.initiator, &this.plan_id)?
                            .into_iter()
                            .find(|r| r.summons.id == summons_id)
                            .ok_or_else(|| {
                                Error::Internal("an imported summons is missing".into())
                            })?;
                        let mut input = meeting.clone();
                        input.summons_id = summons_id.into();
                        input.attendance = meeting
                            .attendance
                            .iter()
                            .enumerate()
                            .map(|(i, a)| {
                                sent.recipients
                                    .iter()
                                    .find(|r| {
                                        is_party(r.hsa_id.as_deref(), &r.name, &a.recipient_id)
                                    })
                                    .map(|r| Attendance {
                                        recipient_id: r.id.to_string(),
                                        attended: a.attended,
                                    })
                                    .ok_or_else(|| {
                                        Error::validation(
                                            format!("$.attendance[{i}].recipient_id"),
                                            "names no recipient of the summons",
                                        )
                                    })
                            })
                            .collect::<Result<_>>()?;
                        meetings::record_meeting(
                            conn,
                            &this.initiator.at(at),
                            &this.plan_id,
                            input,
                        )?;
                        this.map_next_follow_up(conn, 0)?;
                        Ok(this.plan_id.to_string())
                    },
                )
            }
            Step::FollowUp(f) => self.follow_up(conn, f, at),
            Step::CompleteRevision(f) => {
                let item = &record.follow_ups[f];
                let Some(revision) = &item.revision else {
                    return Ok(false);
                };
                self.once(
                    conn,
                    "revision",
                    &item.external_id,
                    fingerprint(revision),
                    "the revision",
                    |this, conn| {
                        let mut completion = revision.completion.clone();
                        for decision in completion.intervention_decisions.iter_mut() {
                            decision.intervention_id = this
                                .id_of::<Intervention>(
                                    conn,
                                    "intervention",
                                    &decision.intervention_id,
                                )?
                                .into();
                        }
                        let coordinator = this.coordinator(conn)?.at(at);
                        meetings::complete_revision(conn, &coordinator, &this.plan_id, completion)?;
                        this.map_next_follow_up(conn, f + 1)?;
                        Ok(this.plan_id.to_string())
                    },
                )
            }
            Step::Close => {
                let Some(closing) = &record.closing else {
                    return Ok(false);
                };
                let external = record.external_id.clone();
                self.once(
                    conn,
                    "closing",
                    &external,
                    fingerprint(closing),
                    "the closing",
                    |this, conn| {
                        let coordinator = this.coordinator(conn)?.at(at);
                        meetings::close(
                            conn,
                            &coordinator,
                            &this.plan_id,
                            None,
                            closing.reason,
                            closing.note.clone(),
                        )?;
                        Ok(this.plan_id.to_string())
                    },
                )
            }
        }
    }

    /// The key of a part of this plan: the external ids of a plan's parts need only be unique
    /// within the plan.
    fn scoped(&self, external_id: &str) -> String {
        format!("{}/{external_id}", self.record.external_id)
    }

    /// Does `apply` once for the key: skipped when it was imported with the same fingerprint,
    /// refused when it was imported differently (it cannot change).
    fn once(
        &mut self,
        conn: &mut DbConn,
        kind: &str,
        external_id: &str,
        print: Fingerprint,
        what: &str,
        apply: impl FnOnce(&mut Self, &mut DbConn) -> Result<String>,
    ) -> Result<bool> {
        let external_id = &self.scoped(external_id);
        match self.ctx.key(conn, kind, external_id)? {
            Some(key) if print.matches(&key.fingerprint) => Ok(false),
            Some(_) => Err(fixed(what)),
            None => {
                let id = apply(self, conn)?;
                let plan_id = self.plan_id.clone();
                self.ctx.put(
                    conn,
                    kind,
                    external_id,
                    &id,
                    Some(&plan_id),
                    print.into_string(),
                )?;
                Ok(true)
            }
        }
    }

    /// Our id of something of this plan imported before (or earlier in this record).
    fn id_of<K: IdKind>(&self, conn: &mut DbConn, kind: &str, external_id: &str) -> Result<Id<K>> {
        self.ctx
            .key(conn, kind, &self.scoped(external_id))?
            .filter(|k| k.plan_id.as_deref() == Some(self.plan_id.as_str()))
            .map(|k| Id::stored(k.resource_id))
            .ok_or_else(|| {
                Error::validation(
                    "$",
                    format!("refers to {kind} {external_id:?}, which is not in the plan yet at this point"),
                )
            })
    }

    fn open_plan(&mut self, conn: &mut DbConn, at: DateTime<Utc>) -> Result<bool> {
        let plan = &self.record.plan;
        let details = PlanDetails {
            need_reason: plan.need_reason.clone(),
            what_matters: plan.what_matters.clone(),
            topics_to_avoid: plan.topics_to_avoid.clone(),
            follows_discharge: plan.follows_discharge,
            discharge_ready_at: plan
                .discharge_ready_at
                .map(crate::domain::truncate_to_micros),
        };
        let print = fingerprint(plan);
        let external = self.record.external_id.clone();
        match self.ctx.key(conn, "plan", &external)? {
            Some(key) if print.matches(&key.fingerprint) => {
                self.plan_id = Id::stored(key.resource_id);
                Ok(false)
            }
            Some(key) => {
                self.plan_id = Id::stored(key.resource_id.clone());
                let current = plans::load(conn, &self.initiator, &self.plan_id)?;
                if *current.initiating_unit != plan.initiating_unit.hsa_id.to_uppercase() {
                    return Err(Error::validation(
                        "$.initiating_unit",
                        "a plan's initiating unit cannot change",
                    ));
                }
                plans::update(
                    conn,
                    &self.initiator,
                    &self.plan_id,
                    &self.individual_id,
                    None,
                    details,
                )?;
                self.ctx.put(
                    conn,
                    "plan",
                    &external,
                    &key.resource_id,
                    Some(&self.plan_id),
                    print.into_string(),
                )?;
                Ok(true)
            }
            None => {
                let created =
                    plans::create(conn, &self.initiator.at(at), &self.individual_id, details)?;
                self.plan_id = created.plan.id;
                let id = &self.plan_id;
                self.ctx
                    .put(conn, "plan", &external, id, Some(id), print.into_string())?;
                Ok(true)
            }
        }
    }

    /// A part of the plan's content (a goal, an intervention): added when it is new, updated when
    /// it changed — where the plan's state allows a change of content, as through the API.
    fn content<K: IdKind>(
        &self,
        conn: &mut DbConn,
        kind: &str,
        external_id: &str,
        print: Fingerprint,
        update: impl FnOnce(&mut DbConn, &Id<K>) -> Result<()>,
        add: impl FnOnce(&mut DbConn) -> Result<Id<K>>,
    ) -> Result<bool> {
        let key = self.scoped(external_id);
        let id = match self.ctx.key(conn, kind, &key)? {
            Some(stored) if print.matches(&stored.fingerprint) => return Ok(false),
            Some(stored) => {
                let id = Id::stored(stored.resource_id);
                update(conn, &id)?;
                id
            }
            None => add(conn)?,
        };
        self.ctx.put(
            conn,
            kind,
            &key,
            &id,
            Some(&self.plan_id),
            print.into_string(),
        )?;
        Ok(true)
    }

    fn goal(&mut self, conn: &mut DbConn, i: usize, at: DateTime<Utc>) -> Result<bool> {
        let item = &self.record.goals[i];
        let mut input = item.goal.clone();
        if let Some(parent) = &item.goal.parent_id {
            input.parent_id = Some(
                self.id_of::<Goal>(conn, "goal", parent)
                    .map_err(|_| {
                        Error::validation(
                            "$.parent_id",
                            "list a long-term goal before its sub-goals",
                        )
                    })?
                    .into(),
            );
        }
        let (initiator, plan) = (&self.initiator, &self.plan_id);
        let changed = input.clone();
        self.content(
            conn,
            "goal",
            &item.external_id,
            fingerprint(&item.goal),
            |c, id| content::update_goal(c, initiator, plan, id, None, changed).map(|_| ()),
            |c| Ok(content::add_goal(c, &initiator.at(at), plan, input)?.id),
        )
    }

    fn intervention(&mut self, conn: &mut DbConn, i: usize, at: DateTime<Utc>) -> Result<bool> {
        let item = &self.record.interventions[i];
        let mut input = item.intervention.clone();
        input.goal_ids = item
            .intervention
            .goal_ids
            .iter()
            .map(|g| self.id_of::<Goal>(conn, "goal", g).map(String::from))
            .collect::<Result<_>>()?;
        let (initiator, plan) = (&self.initiator, &self.plan_id);
        let changed = input.clone();
        self.content(
            conn,
            "intervention",
            &item.external_id,
            fingerprint(&item.intervention),
            |c, id| content::update_intervention(c, initiator, plan, id, None, changed).map(|_| ()),
            |c| {
                Ok(
                    content::add_intervention(c, &initiator.at(at), plan, input)?
                        .intervention
                        .id,
                )
            },
        )
    }

    fn follow_up(&mut self, conn: &mut DbConn, f: usize, at: DateTime<Utc>) -> Result<bool> {
        let item = &self.record.follow_ups[f];
        let Some(held) = &item.record else {
            return Ok(false);
        };
        let follow_up_id: FollowUpId = self.id_of(conn, "follow_up", &item.external_id).map_err(|_| {
            Error::validation(
                "$",
                "no follow-up of the plan was scheduled for this one: the meeting schedules the first, each held follow-up or revision the next",
            )
        })?;
        let key = format!("{}#record", item.external_id);
        self.once(
            conn,
            "follow_up_record",
            &key,
            fingerprint(held),
            "the held follow-up",
            |this, conn| {
                let mut input = held.clone();
                for outcome in input.goal_outcomes.iter_mut() {
                    outcome.goal_id = this.id_of::<Goal>(conn, "goal", &outcome.goal_id)?.into();
                }
                for review in input.intervention_reviews.iter_mut() {
                    review.intervention_id = this
                        .id_of::<Intervention>(conn, "intervention", &review.intervention_id)?
                        .into();
                }
                let coordinator = this.coordinator(conn)?.at(at);
                meetings::record_follow_up(
                    conn,
                    &coordinator,
                    &this.plan_id,
                    &follow_up_id,
                    None,
                    input,
                )?;
                this.map_next_follow_up(conn, f + 1)?;
                Ok(follow_up_id.to_string())
            },
        )
    }

    /// The coordinator's unit, which follows the plan up (before one is appointed, the initiator).
    fn coordinator(&self, conn: &mut DbConn) -> Result<Context> {
        let plan = plans::load(conn, &self.initiator, &self.plan_id)?;
        match plan.coordinator_unit {
            Some(unit) => {
                // Appointed with the meeting, which also names the responsible principal.
                let principal = plan
                    .responsible_principal
                    .unwrap_or(self.initiator.caller.principal);
                self.ctx.acting(&unit, principal)
            }
            None => Ok(self.initiator.clone()),
        }
    }

    /// The follow-up just scheduled (the plan's open one) is the chain's item `n`.
    fn map_next_follow_up(&self, conn: &mut DbConn, n: usize) -> Result<()> {
        let Some(external) = follow_up_key(self.record, n) else {
            return Ok(());
        };
        let open = crate::db::meetings::follow_ups_of(conn, &self.plan_id)?
            .into_iter()
            .filter(|f| f.held_on.is_none())
            .max_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        if let Some(open) = open {
            let key = self.scoped(external);
            self.ctx.put(
                conn,
                "follow_up",
                &key,
                &open.id,
                Some(&self.plan_id),
                String::new(),
            )?;
        }
        Ok(())
    }

    /// A guardian who consents is named in a record by identity number or name: our guardian id.
    fn map_guardians(
        &self,
        conn: &mut DbConn,
        consent: &mut crate::domain::consent::NewConsent,
    ) -> Result<()> {
        let guardians = crate::db::individuals::guardians_of(conn, &[&self.individual_id])?;
        for (i, giver) in consent.givers.iter_mut().enumerate() {
            let Some(named) = giver.guardian_id.as_deref() else {
                continue;
            };
            let digits: String = named.chars().filter(char::is_ascii_digit).collect();
            let found = guardians.iter().find(|g| {
                g.identity_number
                    .as_deref()
                    .is_some_and(|n| !digits.is_empty() && n == digits)
                    || g.name.trim().eq_ignore_ascii_case(named.trim())
            });
            match found {
                Some(g) => giver.guardian_id = Some(g.id.clone()),
                None => {
                    return Err(Error::validation(
                        format!("$.givers[{i}].guardian_id"),
                        "names no guardian of the individual (give the guardian's identity number or name)",
                    ))
                }
            }
        }
        Ok(())
    }
}
