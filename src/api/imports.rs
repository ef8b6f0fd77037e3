//! `/api/v1/imports`: bulk import of existing plans from a source system (role `import`).

use std::time::Instant;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::extract::Importer;
use super::extract::{created, ok, Json};
use super::pagination::{self, PageQuery};
use crate::clock::Clock;
use crate::db::Db;
use crate::domain::ids::ImportId;
use crate::error::{Error, Result};
use crate::service::imports::runner::{Line, LineSplitter, Runner, BATCH_LINES, HEARTBEAT};
use crate::service::imports::{self as service, RecordOutcome};
use crate::views::import::{Import, ImportPage, ImportedRecord, ImportedRecordPage};

/// The media types of an upload: one JSON record per line.
const NDJSON: [&str; 2] = ["application/x-ndjson", "application/jsonl"];

/// A new import.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"source_system": "cosmic-region-example", "dry_run": false}))]
pub struct NewImport {
    /// The system the records come from. The external ids of its records are its own, so an
    /// import from the same system finds what an earlier one imported.
    #[validate(length(min = 1, max = 100), custom(function = "source_name"))]
    #[schema(min_length = 1, max_length = 100, pattern = "^[A-Za-z0-9._:-]+$")]
    pub source_system: String,
    /// Only check every record, store nothing: the report says what would happen.
    #[serde(default)]
    pub dry_run: bool,
}

fn source_name(name: &str) -> std::result::Result<(), validator::ValidationError> {
    if name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'))
    {
        Ok(())
    } else {
        Err(validator::ValidationError::new("source_system")
            .with_message("letters, digits and . _ : - only".into()))
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RecordListQuery {
    /// Only the records that went this way (`failed`: the error report).
    pub outcome: Option<RecordOutcome>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(max_length = 200)]
    pub cursor: Option<String>,
}

/// Create an import, then send its records (`POST …/{import_id}/records`).
///
/// Needs the `import` role. The importing system names its source: records are identified by
/// that source and their own `external_id`s, so importing the same file again changes nothing,
/// and a changed record updates what was imported for it — under the process rules.
#[utoipa::path(
    post, path = "/api/v1/imports", operation_id = "create_import", tag = "imports",
    request_body = NewImport,
    responses(
        (status = 201, description = "Created: send the records next", body = Import,
         headers(("ETag" = String, description = "The version"), ("Location" = String, description = "The import's URL"))),
        (status = 422, description = "The source system's name is not acceptable"),
    )
)]
pub async fn create(
    db: web::Data<Db>,
    ctx: Importer,
    body: Json<NewImport>,
) -> Result<HttpResponse> {
    let NewImport {
        source_system,
        dry_run,
    } = body.0;
    let row = db
        .write(move |c| service::create(c, &ctx, source_system, dry_run))
        .await?;
    let view = Import::from_row(row)?;
    let location = format!("/api/v1/imports/{}", view.id);
    Ok(created(location, view.version, &view))
}

/// Send an import's records: NDJSON, one `ImportRecord` (one plan with everything in it) per line.
///
/// The file is read as it arrives and never held whole: each record is imported in a transaction
/// of its own — replayed through the same steps as the API, at the times it records, so every
/// process rule applies. A record that breaks one is reported (line, external id, the field paths
/// and why) and stored nowhere; good records land. The counts and the report (`GET …/records`)
/// can be read while it runs; this answers when the last line is imported. A record imported
/// before and unchanged is `unchanged`; a changed one updates what it imported. In a dry run
/// every record is checked the same way and nothing is stored. Records are taken once: a second
/// upload to the same import answers 409. One import of a source system runs at a time (dry runs
/// too): while one runs, another of the same source answers 409 and waits for its records.
#[utoipa::path(
    post, path = "/api/v1/imports/{import_id}/records", operation_id = "upload_import_records", tag = "imports",
    params(("import_id" = String, Path, format = Uuid, description = "The import's id")),
    request_body(content = crate::domain::import::ImportRecord, content_type = "application/x-ndjson",
        description = "One ImportRecord per line (UTF-8, LF). `application/jsonl` is accepted too."),
    responses(
        (status = 200, description = "Every line was read; `counts` and the report say how each went", body = Import),
        (status = 404, description = "Your unit has no such import"),
        (status = 409, description = "This import has received its records already, or another import of its source system is running (send the records again once it has finished)"),
    )
)]
pub async fn upload(
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    ctx: Importer,
    path: web::Path<ImportId>,
    request: HttpRequest,
    mut payload: web::Payload,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    let is_ndjson = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| NDJSON.contains(&essence.trim().to_ascii_lowercase().as_str()));
    if !is_ndjson {
        return Err(Error::UnsupportedMediaType {
            expected: "application/x-ndjson",
        });
    }
    let importer = ctx.clone();
    let started = db.write(move |c| service::start(c, &ctx, &id)).await?;
    let import_id = started.id.clone();
    let clock = clock.get_ref().clone();
    let mut runner = Runner::new(
        db.get_ref().clone(),
        &started,
        importer.caller.clone(),
        importer.deadlines,
        clock.clone(),
    );
    let mut splitter = LineSplitter::default();
    let mut batch: Vec<Line> = Vec::new();
    let mut failure = None;
    let mut last_beat = Instant::now();
    loop {
        // Waiting for the next chunk is cut short for the heartbeat (`next` loses nothing when
        // cut), so a slow upload never looks like a stopped instance.
        let next = tokio::time::timeout(HEARTBEAT, payload.next()).await;
        if last_beat.elapsed() >= HEARTBEAT {
            if let Err(error) = heartbeat(&db, &clock, &import_id).await {
                // Not fatal: the next beat or batch may get through before the import looks stalled.
                log::warn!("import {import_id}: heartbeat not recorded: {error}");
            }
            last_beat = Instant::now();
        }
        let chunk = match next {
            Err(_waited) => continue,
            Ok(None) => break,
            Ok(Some(chunk)) => chunk,
        };
        let Ok(bytes) = chunk else {
            failure = Some("the upload broke off: what was imported stays; send the file again in a new import");
            break;
        };
        batch.extend(splitter.push(&bytes));
        if batch.len() >= BATCH_LINES {
            runner = run(runner, std::mem::take(&mut batch), &db, &clock, &import_id).await?;
        }
    }
    // Complete lines received before a break land too; only a broken last line is dropped.
    if failure.is_none() {
        batch.extend(splitter.finish());
    }
    runner = run(runner, batch, &db, &clock, &import_id).await?;
    drop(runner);
    let finished = {
        let id = import_id.clone();
        db.write(move |c| {
            service::finish(c, &id, failure, clock.now())?;
            service::get(c, &importer, &id)
        })
        .await?
    };
    let analysed = finished.clone();
    if let Err(error) = db
        .write(move |c| service::refresh_statistics(c, &analysed))
        .await
    {
        // The import is done and stored; autovacuum will analyse the tables in time.
        log::warn!("import {import_id}: planner statistics not refreshed: {error}");
    }
    let view = Import::from_row(finished)?;
    Ok(ok(view.version, &view))
}

/// Shows that this instance still reads the import. Written without waking the feed's readers:
/// a heartbeat is no news to them.
async fn heartbeat(db: &Db, clock: &Clock, import_id: &str) -> Result<()> {
    let (db, now) = (db.clone(), clock.now());
    let id = import_id.to_string();
    web::block(move || db.write_now(|c| service::mark_alive(c, &id, now))).await?
}

/// Imports a batch on a blocking thread; when the database is unavailable, fails the import.
async fn run(
    mut runner: Runner,
    lines: Vec<Line>,
    db: &Db,
    clock: &Clock,
    import_id: &str,
) -> Result<Runner> {
    if lines.is_empty() {
        return Ok(runner);
    }
    let (runner, result) = web::block(move || {
        let result = runner.run(lines);
        (runner, result)
    })
    .await?;
    if let Err(error) = result {
        let id = import_id.to_string();
        let reason = format!("the import stopped: {error}; what was imported stays");
        let now = clock.now();
        let _ = db
            .write(move |c| service::finish(c, &id, Some(&reason), now))
            .await;
        return Err(error);
    }
    Ok(runner)
}

/// Read an import: its status and how many records went each way — also while it runs.
#[utoipa::path(
    get, path = "/api/v1/imports/{import_id}", operation_id = "get_import", tag = "imports",
    params(("import_id" = String, Path, format = Uuid, description = "The import's id")),
    responses(
        (status = 200, description = "The import", body = Import, headers(("ETag" = String, description = "The version"))),
        (status = 404, description = "Your unit has no such import"),
    )
)]
pub async fn get(
    db: web::Data<Db>,
    ctx: Importer,
    path: web::Path<ImportId>,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    let row = db.read(move |c| service::get(c, &ctx, &id)).await?;
    let view = Import::from_row(row)?;
    Ok(ok(view.version, &view))
}

/// List your unit's imports, oldest first.
#[utoipa::path(
    get, path = "/api/v1/imports", operation_id = "list_imports", tag = "imports",
    params(PageQuery),
    responses((status = 200, description = "One page of imports", body = ImportPage))
)]
pub async fn list(
    db: web::Data<Db>,
    ctx: Importer,
    query: super::extract::Query<PageQuery>,
) -> Result<HttpResponse> {
    let limit = pagination::limit(query.limit)?;
    let cursor = pagination::cursor(query.cursor.as_deref())?;
    let (rows, next_cursor) = db
        .read(move |c| {
            let rows = crate::db::imports::list(
                c,
                ctx.caller.unit.as_str(),
                cursor.as_deref(),
                limit + 1,
            )?;
            Ok(crate::service::page(rows, limit, |r| r.id.to_string()))
        })
        .await?;
    let items = rows
        .into_iter()
        .map(Import::from_row)
        .collect::<Result<Vec<_>>>()?;
    Ok(HttpResponse::Ok().json(ImportPage { items, next_cursor }))
}

/// The import's report: how each record (line) went, with the plan it became and, for a failed
/// one, each rule it breaks by its path in the record. Readable while the import runs.
#[utoipa::path(
    get, path = "/api/v1/imports/{import_id}/records", operation_id = "list_import_records", tag = "imports",
    params(("import_id" = String, Path, format = Uuid, description = "The import's id"), RecordListQuery),
    responses(
        (status = 200, description = "One page of the report", body = ImportedRecordPage),
        (status = 404, description = "Your unit has no such import"),
    )
)]
pub async fn records(
    db: web::Data<Db>,
    ctx: Importer,
    path: web::Path<ImportId>,
    query: super::extract::Query<RecordListQuery>,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    let limit = pagination::limit(query.limit)?;
    let after = pagination::position_cursor(query.cursor.as_deref())?.unwrap_or(0);
    let outcome = query.outcome;
    let (rows, next_cursor) = db
        .read(move |c| {
            let import = service::get(c, &ctx, &id)?;
            let rows = crate::db::imports::records(
                c,
                &import.id,
                outcome.map(RecordOutcome::as_str),
                after,
                limit + 1,
            )?;
            Ok(crate::service::page(rows, limit, |r| r.line.to_string()))
        })
        .await?;
    let items = rows
        .into_iter()
        .map(ImportedRecord::from_row)
        .collect::<Result<Vec<_>>>()?;
    Ok(HttpResponse::Ok().json(ImportedRecordPage { items, next_cursor }))
}
