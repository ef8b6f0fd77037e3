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
use crate::db::imports::RecordRow;
use crate::db::journal::Collected;
use crate::db::scratch::Scratch;
use crate::db::Db;
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
    import_id: ImportId,
    source: String,
    dry_run: bool,
    importer: Caller,
    deadlines: Deadlines,
    /// The application's clock: each record is imported at its own now.
    clock: Clock,
    /// The individuals this import has met: the first line that names one decides their details
    /// for the whole import (a later line that differs is reported), so importing the same file
    /// again gives the same result. Hashes only: 16 bytes an individual.
    individuals: HashMap<u64, (u64, i64)>,
    /// Where new records are replayed before their batch is moved into the database
    /// (`db::scratch`); none for a dry run, which stores nothing.
    scratch: Option<Scratch>,
    /// Every record imported in the database itself (see [`Runner::record_by_record`]).
    record_by_record: bool,
    /// How many records were replayed in the scratch and moved into the database.
    moved: usize,
}

/// What a batch has imported and not yet stored.
#[derive(Default)]
struct Batch {
    /// The access-log rows and change events of the batch's records, stored with them.
    rows: Collected,
    /// The records replayed in the scratch: one that comes again in the same batch is imported
    /// after them (its key must be in the database by then).
    staged: HashSet<String>,
    /// How many of the batch's records were replayed in the scratch.
    moved: usize,
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
            import_id: import.id.clone(),
            source: import.source_system.clone(),
            dry_run: import.dry_run,
            importer,
            deadlines,
            clock,
            individuals: HashMap::new(),
            scratch: None,
            record_by_record: false,
            moved: 0,
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

    /// Imports a batch of lines, each in a transaction of its own, and commits them with their
    /// report. Stops with an error only when the database is unavailable (the caller fails the
    /// import; the batch is not stored).
    ///
    /// New records are replayed in a scratch database and moved into the database together at the
    /// batch's end (`db::scratch`). Should that move fail — it never has: it would be a fault of
    /// the service, such as a table the scratch and the database see differently — the batch is
    /// rolled back and imported again record by record in the database itself, and the fault
    /// logged: a batch is never lost to the faster way.
    pub fn run(&mut self, lines: Vec<Line>) -> Result<()> {
        let db = self.db.clone();
        if self.dry_run || self.record_by_record {
            return db
                .write_now(|conn| self.run_in(conn, lines, false))
                .map(drop);
        }
        if self.scratch.is_none() {
            self.scratch = Some(Scratch::open()?);
        }
        match db.write_now(|conn| self.run_in(conn, lines.clone(), true)) {
            Ok(moved) => {
                self.moved += moved;
                Ok(())
            }
            Err(Error::Internal(detail)) => {
                log::error!(
                    "import {}: a batch could not be moved from the scratch database ({detail}); importing it record by record",
                    self.import_id
                );
                db.write_now(|conn| self.run_in(conn, lines, false))
                    .map(drop)
            }
            Err(other) => Err(other),
        }
    }

    fn run_in(
        &mut self,
        conn: &mut crate::db::DbConn,
        lines: Vec<Line>,
        staged: bool,
    ) -> Result<usize> {
        if let Some(scratch) = self.scratch.as_mut() {
            scratch.clear()?; // what a batch that failed left there
        }
        let mut batch = Batch::default();
        let mut report = Vec::with_capacity(lines.len());
        for (line, bytes) in lines {
            let (external_id, result) = match bytes {
                Err(error) => (None, Err(vec![error])),
                Ok(bytes) => self.one(conn, &mut batch, staged, line, &bytes)?,
            };
            report.push(match result {
                Ok(imported) => RecordRow {
                    import_id: self.import_id.clone(),
                    line,
                    external_id,
                    outcome: imported.outcome,
                    plan_id: Some(imported.plan_id),
                    errors: None,
                },
                Err(errors) => RecordRow {
                    import_id: self.import_id.clone(),
                    line,
                    external_id,
                    outcome: RecordOutcome::Failed,
                    plan_id: None,
                    errors: Some(serde_json::to_string(&errors).unwrap_or_else(|_| "[]".into())),
                },
            });
        }
        store(conn, self.scratch.as_mut(), &mut batch)?;
        service::report(conn, &self.import_id, &report, self.clock.now())?;
        Ok(batch.moved)
    }

    /// One line: read it, check its shape, import it.
    #[allow(clippy::type_complexity)]
    fn one(
        &mut self,
        conn: &mut crate::db::DbConn,
        batch: &mut Batch,
        staged: bool,
        line: i64,
        bytes: &[u8],
    ) -> Result<(
        Option<String>,
        std::result::Result<Imported, Vec<FieldError>>,
    )> {
        let record: ImportRecord = match crate::decode::parse_json(bytes) {
            Ok(record) => record,
            Err(Error::BadRequest { detail, errors }) => {
                let errors = if errors.is_empty() {
                    vec![FieldError::new("$", detail)]
                } else {
                    errors
                };
                return Ok((external_id_of(bytes), Err(errors)));
            }
            Err(other) => return Err(other),
        };
        let external_id = Some(record.external_id.clone());
        if let Err(e) = record.validate() {
            return Ok((external_id, Err(crate::decode::field_errors(&e))));
        }
        let shape = check_record(&record);
        if !shape.is_empty() {
            return Ok((external_id, Err(shape)));
        }
        if let Some(conflict) = self.individual_conflict(&record, line) {
            return Ok((external_id, Err(vec![conflict])));
        }
        let steps = timeline(&record);
        let ctx = ImportContext {
            import_id: &self.import_id,
            source: &self.source,
            importer: &self.importer,
            deadlines: self.deadlines,
            line,
            now: self.clock.now(),
            keys: Default::default(),
        };
        let result = if self.dry_run {
            crate::db::rehearse(conn, |c| {
                crate::db::journal::collecting(c, |c| {
                    service::import_record(c, &ctx, &record, &steps)
                })
            })
        } else {
            if batch.staged.contains(&record.external_id) {
                store(conn, self.scratch.as_mut(), batch)?;
            }
            let scratch = self.scratch.as_mut().filter(|_| staged);
            // The record's access-log rows and change events are stored with the batch.
            crate::db::nested(conn, |c| {
                crate::db::journal::kept(|| {
                    let staged = match scratch {
                        Some(scratch) => service::stage_record(c, scratch, &ctx, &record, &steps)?,
                        None => None,
                    };
                    match staged {
                        Some(imported) => Ok((imported, true)),
                        None => service::import_record(c, &ctx, &record, &steps)
                            .map(|imported| (imported, false)),
                    }
                })
            })
            .map(|((imported, in_scratch), mut rows)| {
                if !rows.is_empty() {
                    rows.as_one_access(service::access_of(&ctx, &record, &imported));
                }
                batch.rows.append(rows);
                if in_scratch {
                    batch.staged.insert(record.external_id.clone());
                    batch.moved += 1;
                }
                imported
            })
        };
        match result {
            Ok(imported) => Ok((external_id, Ok(imported))),
            Err(e @ (Error::Unavailable(_) | Error::DatabaseLost)) => Err(e),
            Err(Error::Validation(errors)) => Ok((external_id, Err(errors))),
            Err(Error::Internal(detail)) => {
                log::error!("import {} line {line}: {detail}", self.import_id);
                Ok((
                    external_id,
                    Err(vec![FieldError::new(
                        "$",
                        "the service failed on this record; the fault is logged",
                    )]),
                ))
            }
            Err(other) => Ok((
                external_id,
                Err(vec![FieldError::new("$", other.to_problem().detail)]),
            )),
        }
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

/// Stores what the batch has imported so far: the scratch's rows, then the journal's.
fn store(
    conn: &mut crate::db::DbConn,
    scratch: Option<&mut Scratch>,
    batch: &mut Batch,
) -> Result<()> {
    if let Some(scratch) = scratch {
        scratch.move_into(conn).map_err(|error| match error {
            Error::Unavailable(_) | Error::DatabaseLost => error,
            other => Error::Internal(format!(
                "moving the batch's plans: {}",
                other.to_problem().detail
            )),
        })?;
    }
    batch.staged.clear();
    std::mem::take(&mut batch.rows).store(conn)
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
