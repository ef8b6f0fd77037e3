//! The import runner: reads an NDJSON upload as it streams in, a batch of lines at a time, and
//! imports each record in a transaction of its own (`service::imports::import_record`): a record
//! that fails is rolled back alone and stored nowhere. A batch's records commit together with
//! their report and counts — one commit (one disk sync) per batch, not per record, and the report
//! always says what landed. Nothing of the file is held beyond the batch being imported, and the
//! progress can be read while the import runs.

use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};

use validator::Validate;

use super::{self as service, ImportContext, Imported, RecordOutcome};
use crate::auth::Caller;
use crate::clock::Clock;
use crate::db::imports::{KeyRow, RecordRow, INDIVIDUAL, RECORD};
use crate::db::individuals::IndividualRow;
use crate::db::journal::Collected;
use crate::db::scratch::{Rows, Scratch};
use crate::db::Db;
use crate::domain::identity::IdentityNumber;
use crate::domain::ids::ImportId;
use crate::domain::import::{check_record, fingerprint, timeline, ImportRecord};
use crate::domain::process::Deadlines;
use crate::error::{Error, FieldError, Result};

/// The longest line (one plan) read; a longer one is reported and skipped.
pub const MAX_LINE_BYTES: usize = 1024 * 1024;
/// How many lines are imported between two commits of the report.
pub const BATCH_LINES: usize = 50;
pub use crate::domain::import::{HEARTBEAT, STALLED_AFTER};

/// Cuts a byte stream into lines, whatever the chunks. A line longer than the limit is not kept:
/// it is returned as `Err` with its number once its end is found.
#[derive(Debug, Default)]
pub struct LineSplitter {
    buffer: Vec<u8>,
    line: i64,
    overlong: bool,
}

/// A line of the upload: its number (from 1) and its bytes, or the error it already has.
pub type Line = (i64, std::result::Result<Vec<u8>, FieldError>);

impl LineSplitter {
    /// The lines completed by `chunk`.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<Line> {
        let mut lines = Vec::new();
        let mut rest = chunk;
        while let Some(end) = rest.iter().position(|b| *b == b'\n') {
            self.take(&rest[..end]);
            if let Some(line) = self.complete() {
                lines.push(line);
            }
            rest = &rest[end + 1..];
        }
        self.take(rest);
        lines
    }

    /// The last line, when the file does not end with a newline.
    pub fn finish(&mut self) -> Option<Line> {
        if self.buffer.is_empty() && !self.overlong {
            return None;
        }
        self.complete()
    }

    fn take(&mut self, bytes: &[u8]) {
        if self.overlong {
            return;
        }
        if self.buffer.len() + bytes.len() > MAX_LINE_BYTES {
            self.overlong = true;
            self.buffer = Vec::new();
        } else {
            self.buffer.extend_from_slice(bytes);
        }
    }

    fn complete(&mut self) -> Option<Line> {
        self.line += 1;
        let bytes = std::mem::take(&mut self.buffer);
        if std::mem::replace(&mut self.overlong, false) {
            return Some((
                self.line,
                Err(FieldError::new(
                    "$",
                    format!("the line is longer than {MAX_LINE_BYTES} bytes"),
                )),
            ));
        }
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return None; // a blank line is no record
        }
        Some((self.line, Ok(bytes)))
    }
}

/// One import's run over its records.
pub struct Runner {
    db: Db,
    /// What each record's import is part of (`ImportContext`).
    of: ImportOf,
    dry_run: bool,
    /// The application's clock: each record is imported at its own now.
    clock: Clock,
    /// The individuals this import has met: the first line that names one decides their details
    /// for the whole import (a later line that differs is reported), so importing the same file
    /// again gives the same result. Hashes only: 16 bytes an individual.
    individuals: HashMap<u64, (u64, i64)>,
    /// Where new records are replayed before their batch is moved into the database
    /// (`db::scratch`), one for each round of each lane of replays running side by side (see
    /// [`Runner::replay_and_move`]); none for a dry run, which stores nothing.
    scratches: Vec<Scratch>,
    /// How many rounds each lane replays a batch in (`rounds`), a scratch each.
    rounds: usize,
    /// Whether the lanes' rows of a round are inserted together (`lanes_joined`).
    lanes_joined: bool,
    /// Every record imported in the database itself (see [`Runner::record_by_record`]).
    record_by_record: bool,
    /// Set when a record of a batch imported side by side failed — in the settling of its
    /// individual or in its plan's replay: the batch is rolled back and imported again one record
    /// after another (see [`Runner::run`]).
    failed_side_by_side: bool,
    /// How many records were replayed in the scratch and moved into the database.
    moved: usize,
    /// How many batches were imported again one record after another (`failed_side_by_side`).
    again: usize,
}

/// The import a runner runs: the same for each of its records.
struct ImportOf {
    import_id: ImportId,
    source: String,
    importer: Caller,
    deadlines: Deadlines,
}

impl ImportOf {
    /// The context of the record on `line`, imported at `now`, with the import keys it has read.
    fn record(
        &self,
        line: i64,
        now: chrono::DateTime<chrono::Utc>,
        keys: service::RecordKeys,
    ) -> ImportContext<'_> {
        ImportContext {
            import_id: &self.import_id,
            source: &self.source,
            importer: &self.importer,
            deadlines: self.deadlines,
            line,
            now,
            keys,
        }
    }
}

/// How a batch's new records are imported.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    /// Each record's individual settled in the database one after the other, then the plans
    /// replayed side by side, each lane on a thread of its own, in scratch databases whose rows
    /// are moved into the database as each round of a lane's replays ends.
    SideBySide,
    /// Each record settled and replayed before the next, in the first scratch.
    OneAfterAnother,
    /// Each record imported in the database itself (a dry run; a batch whose move failed).
    InDatabase,
}

/// How many lanes of replays run side by side: one a core, at least two (so the way is the same
/// on every machine) and at most four (the moves into the database are one after the other).
fn lanes() -> usize {
    std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .clamp(2, 4)
}

/// How many rounds each lane replays a batch's plans in, each round in a scratch of its own: a
/// round's rows are moved into the database while the lane replays its next round.
/// PostgreSQL: two, so that the database's work (its own process) and the replays overlap
/// instead of following each other. SQLite: one — its move is this process's own work on the same
/// cores as the replays, and overlapping them measured slower.
fn rounds(backend: crate::db::Backend) -> usize {
    match backend {
        crate::db::Backend::Postgres => 2,
        crate::db::Backend::Sqlite => 1,
    }
}

/// Whether a round's rows from all lanes are inserted together, once every lane has finished it
/// (one statement per table and round), or each lane's as soon as it has. PostgreSQL: together —
/// each statement is a round trip and a parse, and it halved them (+4.5 % plans/s, 10,000 plans,
/// three alternating runs). SQLite: each as it comes — there a statement costs no round trip,
/// and waiting for the slower lane measured slower.
fn lanes_joined(backend: crate::db::Backend) -> bool {
    backend == crate::db::Backend::Postgres
}

/// What a batch has imported and not yet stored.
#[derive(Default)]
struct Batch {
    /// The access-log rows and change events of the batch's records, each under its record's
    /// place in the batch: stored in the order of the file.
    rows: Vec<(usize, Collected)>,
    /// The records replayed, or waiting to be replayed, in the scratch: one that comes again in
    /// the same batch is imported after them (its key must be in the database by then).
    staged: HashSet<String>,
    /// New records settled in the database whose plans wait to be replayed.
    waiting: Vec<Waiting>,
    /// What the waiting records became once replayed, under their places in the batch.
    replayed: Vec<(usize, Imported)>,
    /// How many of the batch's records were replayed in the scratch.
    moved: usize,
}

/// What each record of a batch reads first — its own import key, its individual's, and the
/// records of her identity number — read for the whole batch in two statements before its first
/// record, instead of four round trips a record on the reading thread while the lanes wait.
/// A record may write what a later one of the batch would read (the same record again, the same
/// individual or number on another line): such a key or number is left for the later record to
/// read itself, in its own transaction.
struct ReadAhead {
    keys: HashMap<(String, String), Option<KeyRow>>,
    registrations: HashMap<String, Vec<IndividualRow>>,
    /// Keys and numbers an earlier record of the batch may have written.
    written: HashSet<(String, String)>,
    /// Set once an earlier record may have changed a stored individual, and with her details
    /// perhaps her number: from then on every record reads its number's records itself.
    numbers_written: bool,
}

/// The kind under which `ReadAhead::written` holds identity numbers.
const NUMBER: &str = "identity number";

/// The identity number of a record's individual as it is stored; `None` when it is not one (the
/// record fails on it).
fn number_of(record: &ImportRecord, today: chrono::NaiveDate) -> Option<String> {
    IdentityNumber::parse(&record.individual.details.identity_number, today)
        .ok()
        .map(|number| number.as_str().to_string())
}

impl ReadAhead {
    fn read<'r>(
        conn: &mut crate::db::DbConn,
        source: &str,
        records: impl Iterator<Item = &'r ImportRecord>,
        today: chrono::NaiveDate,
    ) -> Result<ReadAhead> {
        let mut keys: HashMap<(String, String), Option<KeyRow>> = HashMap::new();
        let mut numbers = Vec::new();
        for record in records {
            keys.insert((RECORD.into(), record.external_id.clone()), None);
            keys.insert(
                (INDIVIDUAL.into(), record.individual.external_id.clone()),
                None,
            );
            numbers.extend(number_of(record, today));
        }
        let ids: Vec<&str> = keys.keys().map(|(_, id)| id.as_str()).collect();
        let found = crate::db::imports::keys_among(conn, source, &[RECORD, INDIVIDUAL], &ids)?;
        for row in found {
            // Only the pairs asked for: a record's id may be another's individual's.
            if let Some(known) = keys.get_mut(&(row.kind.clone(), row.external_id.clone())) {
                *known = Some(row);
            }
        }
        let numbers: Vec<&str> = numbers.iter().map(String::as_str).collect();
        let mut registrations = if numbers.is_empty() {
            HashMap::new()
        } else {
            crate::db::individuals::registrations_of_numbers(conn, &numbers)?
        };
        for number in numbers {
            registrations.entry(number.to_string()).or_default();
        }
        Ok(ReadAhead {
            keys,
            registrations,
            written: HashSet::new(),
            numbers_written: false,
        })
    }

    /// What the batch read ahead for `record`, less what an earlier record may have written since.
    fn for_record(
        &mut self,
        record: &ImportRecord,
        today: chrono::NaiveDate,
    ) -> Result<service::RecordKeys> {
        let own = (RECORD.to_string(), record.external_id.clone());
        let individual = (
            INDIVIDUAL.to_string(),
            record.individual.external_id.clone(),
        );
        let number = number_of(record, today).map(|n| (NUMBER.to_string(), n));
        let keys: Vec<_> = [&own, &individual]
            .into_iter()
            .filter(|lookup| !self.written.contains(*lookup))
            .filter_map(|lookup| Some(((*lookup).clone(), self.keys.get(lookup)?.clone())))
            .collect();
        let registrations: Vec<_> = number
            .iter()
            .filter(|lookup| !self.numbers_written && !self.written.contains(*lookup))
            .filter_map(|(_, n)| Some((n.clone(), self.registrations.get(n)?.clone())))
            .collect();
        // What this record may write for the next ones: its own key; and, unless her key holds
        // these very details (she is linked, nothing written), her key and her number's records —
        // every number's, when the key she may have is not known to be absent (her stored record
        // may be updated to another number).
        let print = fingerprint(&record.individual.details);
        let key = keys.iter().find(|(lookup, _)| *lookup == individual);
        let linked = matches!(key, Some((_, Some(key))) if print.matches(&key.fingerprint));
        let new_to_the_source = matches!(key, Some((_, None)));
        self.written.insert(own);
        if !linked {
            self.written.insert(individual);
            self.written.extend(number);
            self.numbers_written |= !new_to_the_source;
        }
        service::RecordKeys::read(keys, registrations)
    }
}

/// A new record whose individual is settled in the database and lent to the scratch it is to be
/// replayed in: its plan waits to be replayed there with the batch's other new records.
struct Waiting {
    place: usize,
    line: i64,
    now: chrono::DateTime<chrono::Utc>,
    record: ImportRecord,
    steps: Vec<crate::domain::import::Timed>,
    keys: service::RecordKeys,
    prepared: service::Prepared,
    /// The rows of the individual's registration (or update), kept with the plan's.
    rows: Collected,
    /// Which of the runner's scratches it is replayed in (`Runner::replay_and_move`).
    scratch: usize,
}

/// A waiting record after its replay.
struct Replayed {
    place: usize,
    line: i64,
    now: chrono::DateTime<chrono::Utc>,
    record: ImportRecord,
    rows: Collected,
    imported: Imported,
    /// The journal rows of the plan's replayed changes.
    plan_rows: Collected,
}

/// A record imported whole, into the database or replayed in the scratch.
struct Settled {
    imported: Imported,
    in_scratch: bool,
}

fn hash(text: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    text.hash(&mut hasher);
    hasher.finish()
}

impl Runner {
    pub fn new(
        db: Db,
        import: &crate::db::imports::ImportRow,
        importer: Caller,
        deadlines: Deadlines,
        clock: Clock,
    ) -> Runner {
        Runner {
            db,
            of: ImportOf {
                import_id: import.id.clone(),
                source: import.source_system.clone(),
                importer,
                deadlines,
            },
            dry_run: import.dry_run,
            clock,
            individuals: HashMap::new(),
            scratches: Vec::new(),
            rounds: 1,
            lanes_joined: false,
            record_by_record: false,
            failed_side_by_side: false,
            moved: 0,
            again: 0,
        }
    }

    /// Imports every record in the database itself, one after the other, as a dry run does and
    /// as a batch is imported again when its move fails: the way a scratch's result is compared
    /// with.
    pub fn record_by_record(mut self) -> Runner {
        self.record_by_record = true;
        self
    }

    /// How many records were replayed in the scratch database and moved into the database.
    pub fn moved(&self) -> usize {
        self.moved
    }

    /// How many batches had a record fail side by side (settling its individual, or in its lane)
    /// and were imported again one record after another: a record that breaks a rule does so —
    /// and a fault of the side-by-side way would.
    pub fn imported_again(&self) -> usize {
        self.again
    }

    /// Imports a batch of lines, each in a transaction of its own, and commits them with their
    /// report. Stops with an error only when the database is unavailable (the caller fails the
    /// import; the batch is not stored).
    ///
    /// New records are replayed in scratch databases, side by side on the machine's cores, and
    /// moved into the database round by round (`db::scratch`, [`Runner::replay_and_move`]). A
    /// record's individual is settled in the database, without a savepoint of its own, before its
    /// plan is replayed, so a record that fails in either step would leave something behind: the
    /// batch is rolled back and imported again with each record settled and replayed before the
    /// next, each in a savepoint, where a failing record is rolled back alone.
    /// Should the move fail — it never has: it would be a fault of the service, such as a table
    /// the scratch and the database see differently — the batch is rolled back and imported again
    /// record by record in the database itself, and the fault logged: a batch is never lost to
    /// the faster ways.
    pub fn run(&mut self, lines: Vec<Line>) -> Result<()> {
        let db = self.db.clone();
        if self.dry_run || self.record_by_record {
            return db
                .write_now(|conn| self.run_in(conn, lines, Mode::InDatabase))
                .map(drop);
        }
        if self.scratches.is_empty() {
            self.rounds = rounds(db.backend());
            self.lanes_joined = lanes_joined(db.backend());
            self.scratches = (0..lanes() * self.rounds)
                .map(|_| Scratch::open())
                .collect::<Result<_>>()?;
        }
        let mut mode = Mode::SideBySide;
        loop {
            self.failed_side_by_side = false;
            match db.write_now(|conn| self.run_in(conn, lines.clone(), mode)) {
                Ok(moved) => {
                    self.moved += moved;
                    return Ok(());
                }
                Err(_) if self.failed_side_by_side => {
                    self.again += 1;
                    mode = Mode::OneAfterAnother;
                }
                Err(Error::Internal(detail)) => {
                    log::error!(
                        "import {}: a batch could not be moved from the scratch database ({detail}); importing it record by record",
                        self.of.import_id
                    );
                    return db
                        .write_now(|conn| self.run_in(conn, lines, Mode::InDatabase))
                        .map(drop);
                }
                Err(other) => return Err(other),
            }
        }
    }

    fn run_in(
        &mut self,
        conn: &mut crate::db::DbConn,
        lines: Vec<Line>,
        mode: Mode,
    ) -> Result<usize> {
        for scratch in &mut self.scratches {
            scratch.clear()?; // what a batch that failed left there
        }
        let mut batch = Batch::default();
        let mut read = Vec::with_capacity(lines.len());
        for (line, bytes) in lines {
            read.push(match bytes {
                Err(error) => (line, Err((None, vec![error]))),
                Ok(bytes) => (line, self.read(line, &bytes)?),
            });
        }
        let today = crate::domain::calendar::swedish_date(self.clock.now());
        let records = read.iter().filter_map(|(_, r)| r.as_ref().ok());
        let mut ahead = ReadAhead::read(conn, &self.of.source, records, today)?;
        let mut outcomes = Vec::with_capacity(read.len());
        for (line, record) in read {
            let place = outcomes.len();
            let (external_id, result) = match record {
                Err((external_id, errors)) => (external_id, Some(Err(errors))),
                Ok(record) => {
                    let keys = ahead.for_record(&record, today)?;
                    let external_id = Some(record.external_id.clone());
                    let result = self.one(conn, &mut batch, mode, place, line, record, keys)?;
                    (external_id, result)
                }
            };
            outcomes.push((line, external_id, result));
        }
        self.replay_and_move(conn, &mut batch)?;
        store(conn, &mut self.scratches, &mut batch)?;
        for (place, imported) in std::mem::take(&mut batch.replayed) {
            outcomes[place].2 = Some(Ok(imported));
        }
        let report: Vec<RecordRow> = outcomes
            .into_iter()
            .map(|(line, external_id, result)| match result {
                Some(Ok(imported)) => RecordRow {
                    import_id: self.of.import_id.clone(),
                    line,
                    external_id,
                    outcome: imported.outcome,
                    plan_id: Some(imported.plan_id),
                    errors: None,
                },
                Some(Err(errors)) => RecordRow {
                    import_id: self.of.import_id.clone(),
                    line,
                    external_id,
                    outcome: RecordOutcome::Failed,
                    plan_id: None,
                    errors: Some(serde_json::to_string(&errors).unwrap_or_else(|_| "[]".into())),
                },
                None => unreachable!("every waiting record was replayed before the report"),
            })
            .collect();
        service::report(conn, &self.of.import_id, &report, self.clock.now())?;
        Ok(batch.moved)
    }

    /// A line read as a record and its shape checked, or why it is no record (with its external
    /// id, as far as it can be read).
    #[allow(clippy::type_complexity)]
    fn read(
        &mut self,
        line: i64,
        bytes: &[u8],
    ) -> Result<std::result::Result<ImportRecord, (Option<String>, Vec<FieldError>)>> {
        let record: ImportRecord = match crate::decode::parse_json(bytes) {
            Ok(record) => record,
            Err(Error::BadRequest { detail, errors }) => {
                let errors = if errors.is_empty() {
                    vec![FieldError::new("$", detail)]
                } else {
                    errors
                };
                return Ok(Err((external_id_of(bytes), errors)));
            }
            Err(other) => return Err(other),
        };
        let external_id = Some(record.external_id.clone());
        if let Err(e) = record.validate() {
            return Ok(Err((external_id, crate::decode::field_errors(&e))));
        }
        let shape = check_record(&record);
        if !shape.is_empty() {
            return Ok(Err((external_id, shape)));
        }
        if let Some(conflict) = self.individual_conflict(&record, line) {
            return Ok(Err((external_id, vec![conflict])));
        }
        Ok(Ok(record))
    }

    /// One record: import it — or, side by side, settle its individual and leave its plan
    /// waiting (`None`).
    #[allow(clippy::too_many_arguments)]
    fn one(
        &mut self,
        conn: &mut crate::db::DbConn,
        batch: &mut Batch,
        mode: Mode,
        place: usize,
        line: i64,
        record: ImportRecord,
        keys: service::RecordKeys,
    ) -> Result<Option<std::result::Result<Imported, Vec<FieldError>>>> {
        if batch.staged.contains(&record.external_id) {
            self.replay_and_move(conn, batch)?;
            store(conn, &mut self.scratches, batch)?;
        }
        let steps = timeline(&record);
        let ctx = self.of.record(line, self.clock.now(), keys);
        if self.dry_run {
            let result = crate::db::rehearse(conn, |c| {
                crate::db::journal::collecting(c, |c| {
                    service::import_record(c, &ctx, &record, &steps)
                })
            });
            return Ok(Some(self.outcome(result, line)?));
        }
        if mode == Mode::SideBySide {
            // In turn, so that each lane's rounds are of a size.
            let scratch = batch.waiting.len() % self.scratches.len().max(1);
            // Without a savepoint of its own (two round trips a record, a seventh of an import's
            // time on PostgreSQL): a record whose individual cannot be settled fails the batch,
            // which is rolled back and imported again one record after another, where the record
            // fails alone — as a plan that breaks a rule in its replay does.
            let prepared = crate::db::journal::kept(|| {
                service::prepare_record(conn, &mut self.scratches[scratch], &ctx, &record)
            });
            match prepared {
                Ok((Some(prepared), rows)) => {
                    batch.staged.insert(record.external_id.clone());
                    batch.waiting.push(Waiting {
                        place,
                        line,
                        now: ctx.now,
                        keys: ctx.keys,
                        record,
                        steps,
                        prepared,
                        rows,
                        scratch,
                    });
                    return Ok(None);
                }
                // Imported before (nothing written): its update is imported below.
                Ok((None, _)) => {}
                Err(error) => {
                    self.failed_side_by_side =
                        !matches!(error, Error::Unavailable(_) | Error::DatabaseLost);
                    return Err(error);
                }
            }
        }
        let scratches = &mut self.scratches;
        // The record's access-log rows and change events are stored with the batch.
        let settled = crate::db::nested(conn, |c| {
            crate::db::journal::kept(|| {
                if mode == Mode::OneAfterAnother {
                    if let Some(imported) =
                        service::stage_record(c, &mut scratches[0], &ctx, &record, &steps)?
                    {
                        return Ok(Settled {
                            imported,
                            in_scratch: true,
                        });
                    }
                }
                service::import_record(c, &ctx, &record, &steps).map(|imported| Settled {
                    imported,
                    in_scratch: false,
                })
            })
        });
        let result = match settled {
            Ok((
                Settled {
                    imported,
                    in_scratch,
                },
                mut rows,
            )) => {
                if !rows.is_empty() {
                    rows.as_one_access(service::access_of(&ctx, &record, &imported));
                }
                batch.rows.push((place, rows));
                if in_scratch {
                    batch.staged.insert(record.external_id.clone());
                    batch.moved += 1;
                }
                Ok(imported)
            }
            Err(e) => Err(e),
        };
        Ok(Some(self.outcome(result, line)?))
    }

    /// A record's outcome for the report; only the database's unavailability stops the batch
    /// (the caller fails the import).
    fn outcome(
        &self,
        result: Result<Imported>,
        line: i64,
    ) -> Result<std::result::Result<Imported, Vec<FieldError>>> {
        Ok(match result {
            Ok(imported) => Ok(imported),
            Err(e @ (Error::Unavailable(_) | Error::DatabaseLost)) => return Err(e),
            Err(Error::Validation(errors)) => Err(errors),
            Err(Error::Internal(detail)) => {
                log::error!("import {} line {line}: {detail}", self.of.import_id);
                Err(vec![FieldError::new(
                    "$",
                    "the service failed on this record; the fault is logged",
                )])
            }
            Err(other) => Err(vec![FieldError::new("$", other.to_problem().detail)]),
        })
    }

    /// Replays the waiting records' plans and moves what they wrote into the database. Each lane
    /// runs on a thread of its own and replays its records in `rounds` rounds, each in a scratch
    /// of its own; as a lane finishes a round it reads the scratch's rows out and hands them over,
    /// and this thread inserts them into the database while the lanes replay on. When a replay fails, the batch is to be
    /// imported again one record after another (`failed_side_by_side`: its individual is already
    /// settled in the database), and nothing more is moved — the batch is rolled back.
    fn replay_and_move(&mut self, conn: &mut crate::db::DbConn, batch: &mut Batch) -> Result<()> {
        if batch.waiting.is_empty() {
            return Ok(());
        }
        let count = self.scratches.len();
        let mut waiting: Vec<Vec<Waiting>> = (0..count).map(|_| Vec::new()).collect();
        for record in std::mem::take(&mut batch.waiting) {
            waiting[record.scratch].push(record);
        }
        // Lane `l` replays in scratches `l`, `l + lanes`, … — its rounds, in that order.
        let lanes = count / self.rounds;
        let mut rounds: Vec<Vec<(&mut Scratch, Vec<Waiting>)>> =
            (0..lanes).map(|_| Vec::new()).collect();
        for (index, (scratch, records)) in self.scratches.iter_mut().zip(waiting).enumerate() {
            rounds[index % lanes].push((scratch, records));
        }
        let of = &self.of;
        let (done, finished) = std::sync::mpsc::channel();
        let mut replayed = Vec::new();
        let mut failure = None;
        std::thread::scope(|threads| {
            let running: Vec<_> = rounds
                .into_iter()
                .map(|lane| {
                    let done = done.clone();
                    threads.spawn(move || {
                        for (index, (scratch, records)) in lane.into_iter().enumerate() {
                            // The first replay that fails fails the round (and the batch).
                            let round: Result<Vec<Replayed>> = records
                                .into_iter()
                                .map(|w| replay(of, scratch, w))
                                .collect();
                            // Read out here, on the lane's thread, while the database takes the
                            // rows of other rounds.
                            let rows = scratch.take_rows();
                            if done.send((index, rows, round)).is_err() {
                                return; // the batch has failed: nothing more is moved
                            }
                        }
                    })
                })
                .collect();
            drop(done);
            // Every round of every lane, as each is finished; the channel ends once every lane has
            // ended (a lane that panicked ends it too). Where lanes are joined, a round's rows
            // are inserted once every lane has finished it: one statement per table and round.
            let needed = if self.lanes_joined { lanes } else { 1 };
            let mut gathered: Vec<(usize, Option<Rows>)> =
                (0..self.rounds).map(|_| (0, None)).collect();
            for (index, rows, round) in finished.iter() {
                if failure.is_some() {
                    continue;
                }
                let round = match round {
                    Ok(round) => round,
                    Err(error) => {
                        self.failed_side_by_side = true;
                        failure = Some(error);
                        continue;
                    }
                };
                replayed.extend(round);
                let rows = match rows {
                    Ok(rows) => rows,
                    Err(error) => {
                        failure = Some(moving(error));
                        continue;
                    }
                };
                let (arrived, joined) = &mut gathered[index];
                *arrived += 1;
                let all = match joined.take() {
                    Some(earlier) => earlier.join(rows),
                    None => rows,
                };
                if *arrived < needed {
                    *joined = Some(all);
                } else if let Err(error) = all.insert_into(conn).map_err(moving) {
                    failure = Some(error);
                }
            }
            for lane in running {
                if lane.join().is_err() && failure.is_none() {
                    self.failed_side_by_side = true;
                    failure = Some(Error::Internal("a lane of replays stopped".into()));
                }
            }
        });
        if let Some(error) = failure {
            return Err(error);
        }
        replayed.sort_by_key(|r| r.place);
        for r in replayed {
            let mut rows = r.rows;
            rows.append(r.plan_rows);
            let ctx = self.of.record(r.line, r.now, Default::default());
            rows.as_one_access(service::access_of(&ctx, &r.record, &r.imported));
            batch.rows.push((r.place, rows));
            batch.replayed.push((r.place, r.imported));
            batch.moved += 1;
        }
        Ok(())
    }

    fn individual_conflict(&mut self, record: &ImportRecord, line: i64) -> Option<FieldError> {
        let key = hash(&record.individual.external_id);
        let print = hash(&fingerprint(&record.individual.details).into_string());
        match self.individuals.get(&key) {
            Some((first, first_line)) if *first != print => Some(FieldError::new(
                "$.individual.details",
                format!(
                    "this individual's details differ from those on line {first_line} of the same import: one file gives one version of a person"
                ),
            )),
            Some(_) => None,
            None => {
                self.individuals.insert(key, (print, line));
                None
            }
        }
    }
}

/// A waiting record's plan replayed in its scratch, its changes' journal rows kept.
fn replay(of: &ImportOf, scratch: &mut Scratch, w: Waiting) -> Result<Replayed> {
    let ctx = of.record(w.line, w.now, w.keys);
    let (imported, plan_rows) = crate::db::journal::kept(|| {
        service::replay_prepared(scratch, &ctx, &w.record, &w.steps, w.prepared)
    })?;
    Ok(Replayed {
        place: w.place,
        line: w.line,
        now: w.now,
        record: w.record,
        rows: w.rows,
        imported,
        plan_rows,
    })
}

/// A failure to move a scratch's rows into the database: other than the database's, a fault of
/// the service (`Error::Internal`: the batch is then imported record by record).
fn moving(error: Error) -> Error {
    match error {
        Error::Unavailable(_) | Error::DatabaseLost => error,
        other => Error::Internal(format!(
            "moving the batch's plans: {}",
            other.to_problem().detail
        )),
    }
}

/// Stores what the batch has imported so far: the rows still in the scratches (a record staged
/// one after another), then the journal's in the order of the file.
fn store(conn: &mut crate::db::DbConn, scratches: &mut [Scratch], batch: &mut Batch) -> Result<()> {
    for scratch in scratches {
        scratch.move_into(conn).map_err(moving)?;
    }
    batch.staged.clear();
    let mut rows = std::mem::take(&mut batch.rows);
    rows.sort_by_key(|(place, _)| *place);
    let mut all = Collected::default();
    for (_, later) in rows {
        all.append(later);
    }
    all.store(conn)
}

/// The top-level `external_id` of a line that is not a valid record — even of broken JSON, as far
/// as it can be read — so the report names the record.
fn external_id_of(bytes: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(bytes).ok()?;
    let mut depth = 0usize;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '{' | '[' => depth += 1,
            '}' | ']' => depth = depth.saturating_sub(1),
            '"' => {
                let start = i + 1;
                // The closing quote; a line cut inside a string has none, and nothing more to read.
                let mut end = None;
                while let Some((j, c)) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '"' => {
                            end = Some(j);
                            break;
                        }
                        _ => {}
                    }
                }
                let end = end?;
                let after = text[end + 1..].trim_start();
                if depth == 1 && &text[start..end] == "external_id" && after.starts_with(':') {
                    let value = after[1..].trim_start().strip_prefix('"')?;
                    let id: String = value.chars().take_while(|c| *c != '"').take(200).collect();
                    return Some(id);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_cut_whatever_the_chunks() {
        let mut splitter = LineSplitter::default();
        let mut lines = splitter.push(b"{\"a\":1}\n{\"b\"");
        lines.extend(splitter.push(b":2}\n\n   \n{\"c\":3}"));
        lines.extend(splitter.finish());
        let got: Vec<(i64, Vec<u8>)> = lines.into_iter().map(|(n, l)| (n, l.unwrap())).collect();
        assert_eq!(
            got,
            vec![
                (1, b"{\"a\":1}".to_vec()),
                (2, b"{\"b\":2}".to_vec()),
                (5, b"{\"c\":3}".to_vec()),
            ]
        );
    }

    /// A line cut anywhere — inside a string, after an opening quote, inside a character of
    /// several bytes — is read without a panic: a client's bad input never stops the server.
    #[test]
    fn a_line_cut_anywhere_is_read_without_a_panic() {
        let line =
            r#"{"external_id": "sip-ö-1", "plan": {"need_reason": "é\"x"}, "z": "å"}"#.as_bytes();
        for cut in 0..=line.len() {
            let _ = external_id_of(&line[..cut]);
        }
        assert_eq!(external_id_of(br#"{""#), None);
        assert_eq!(external_id_of("{\"é".as_bytes()), None);
        assert_eq!(external_id_of(line), Some("sip-ö-1".into()));
    }

    #[test]
    fn a_broken_line_still_names_its_record() {
        assert_eq!(
            external_id_of(
                br#"{"individual": {"external_id": "p-1"}, "external_id": "sip-9", "plan": "#
            ),
            Some("sip-9".into())
        );
        assert_eq!(external_id_of(br#"{"plan": {"external_id": "x"}}"#), None);
        assert_eq!(external_id_of(b"not json"), None);
    }

    #[test]
    fn an_overlong_line_is_reported_and_the_next_one_read() {
        let mut splitter = LineSplitter::default();
        let long = vec![b'x'; MAX_LINE_BYTES + 1];
        let mut lines = splitter.push(&long);
        assert!(lines.is_empty());
        lines.extend(splitter.push(b"xx\n{}\n"));
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].0, 1);
        assert!(lines[0].1.is_err());
        assert_eq!(lines[1], (2, Ok(b"{}".to_vec())));
    }
}
