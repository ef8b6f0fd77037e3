//! Imports and their reports as the API shows them.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::page_of;
use crate::db::imports::{ImportRow, RecordRow};
use crate::domain::import::{ImportStatus, RecordOutcome};
use crate::error::{Error, FieldError, Result};

/// How many records of an import have gone each way so far.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportCounts {
    /// Records read (lines that are not blank).
    pub lines_read: i64,
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub failed: i64,
}

/// A bulk import of plans from a source system: its status, and how its records went so far.
#[derive(Debug, Serialize, ToSchema)]
pub struct Import {
    #[schema(format = Uuid)]
    pub id: String,
    /// The system the records come from: external ids are that system's.
    pub source_system: String,
    /// Only check the records: nothing is stored, and the report says what would happen.
    pub dry_run: bool,
    pub status: ImportStatus,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub failure: Option<String>,
    pub counts: ImportCounts,
    /// The importing unit (from its token).
    pub unit: String,
    pub created_by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub finished_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Import {
    pub fn from_row(row: ImportRow) -> Result<Import> {
        Ok(Import {
            status: row.status,
            counts: ImportCounts {
                lines_read: row.lines_read,
                created: row.created_count,
                updated: row.updated_count,
                unchanged: row.unchanged_count,
                failed: row.failed_count,
            },
            started_at: row.started_at.map(|t| t.and_utc()),
            finished_at: row.finished_at.map(|t| t.and_utc()),
            created_at: row.created_at.and_utc(),
            updated_at: row.updated_at.and_utc(),
            id: row.id.into(),
            source_system: row.source_system,
            dry_run: row.dry_run,
            failure: row.failure,
            unit: row.unit.into(),
            created_by: row.created_by,
            version: row.version,
        })
    }
}

page_of!(ImportPage, Import, "imports");

/// How one record (line) of an import went.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportedRecord {
    /// The line of the file, from 1.
    pub line: i64,
    /// The record's `external_id`, when it could be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub external_id: Option<String>,
    pub outcome: RecordOutcome,
    /// The plan the record is (in a dry run: would be) — our id for the source system's plan.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Uuid, nullable = false)]
    pub plan_id: Option<String>,
    /// For a failed record: each rule it breaks, by the JSON path in the record.
    pub errors: Vec<FieldError>,
}

impl ImportedRecord {
    pub fn from_row(row: RecordRow) -> Result<ImportedRecord> {
        // Stored by the runner as `[{"field": …, "message": …}]`; anything else is corrupt data.
        let errors: Vec<(String, String)> = match row.errors.as_deref() {
            None => Vec::new(),
            Some(text) => serde_json::from_str::<Vec<serde_json::Value>>(text)
                .ok()
                .and_then(|stored| {
                    stored
                        .iter()
                        .map(|e| Some((e["field"].as_str()?.into(), e["message"].as_str()?.into())))
                        .collect()
                })
                .ok_or_else(|| {
                    Error::Internal(
                        "an imported record's stored errors are not a list of them".into(),
                    )
                })?,
        };
        Ok(ImportedRecord {
            outcome: row.outcome,
            errors: errors
                .into_iter()
                .map(|(field, message)| FieldError::new(field, message))
                .collect(),
            line: row.line,
            external_id: row.external_id,
            plan_id: row.plan_id.map(String::from),
        })
    }
}

page_of!(
    ImportedRecordPage,
    ImportedRecord,
    "an import's records, in line order"
);
