//! Bulk import (role `import`): the import resource — created, started by an upload, reported on
//! as it runs, finished or failed — with the runner that reads the upload ([`runner`]) and the
//! replay of one record through the use cases of the API ([`record`], [`replay`]).

mod record;
mod replay;
pub mod runner;

pub use record::{
    access_of, import_record, in_record, prepare_record, replay_prepared, stage_record,
    ImportContext, Imported, Prepared, RecordKeys, IMPORTED, REIMPORTED,
};

use crate::domain::ids::{Id, ImportId};
use crate::service::Context;
use chrono::{DateTime, Utc};

use crate::db::imports::{self as store, Counts, ImportRow, RecordRow};
use crate::db::DbConn;
use crate::error::{Error, Result};
use crate::service::naive;

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

/// After an import that wrote plans: the database's planner learns what it now holds
/// ([`store::refresh_statistics`]), so the first reads after a bulk load are planned for it.
pub fn refresh_statistics(conn: &mut DbConn, finished: &ImportRow) -> Result<()> {
    let written = finished.created_count + finished.updated_count;
    if !finished.dry_run && written > 0 {
        store::refresh_statistics(conn, written)?;
    }
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
    store::insert_records(conn, rows)?;
    for row in rows {
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
