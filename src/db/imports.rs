//! Imports, their per-line report, and the keys that map a source system's ids to ours.

use super::native::NativeRunQueryDsl;
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{import_keys, import_records, imports};
use super::DbConn;
use crate::domain::identity::HsaId;
use crate::domain::ids::{ImportId, PlanId};
use crate::domain::import::ImportStatus;
use crate::domain::import::RecordOutcome;
use crate::domain::Principal;
use crate::error::Result;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = imports, treat_none_as_default_value = false)]
pub struct ImportRow {
    pub id: ImportId,
    pub source_system: String,
    pub dry_run: bool,
    pub status: ImportStatus,
    pub failure: Option<String>,
    pub unit: HsaId,
    pub principal: Principal,
    pub created_by: String,
    pub lines_read: i64,
    pub created_count: i64,
    pub updated_count: i64,
    pub unchanged_count: i64,
    pub failed_count: i64,
    pub started_at: Option<NaiveDateTime>,
    pub finished_at: Option<NaiveDateTime>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// While it runs: when the instance reading it last showed it is alive.
    pub alive_at: Option<NaiveDateTime>,
}

/// What a batch of lines added to an import's counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub lines: i64,
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub failed: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = import_records, treat_none_as_default_value = false)]
pub struct RecordRow {
    pub import_id: ImportId,
    pub line: i64,
    pub external_id: Option<String>,
    pub outcome: RecordOutcome,
    pub plan_id: Option<PlanId>,
    /// JSON array of `{field, message}`.
    pub errors: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = import_keys, treat_none_as_default_value = false)]
pub struct KeyRow {
    pub source_system: String,
    pub kind: String,
    pub external_id: String,
    pub resource_id: String,
    pub plan_id: Option<PlanId>,
    pub fingerprint: String,
    pub updated_at: NaiveDateTime,
    /// A record's key only: the keys of its parts (see [`parts_of`]); `None` on any other key.
    pub parts: Option<String>,
}

/// The kind of a record's own key: the source's id of a whole record, mapped to the plan.
pub const RECORD: &str = "record";
/// The kind of an individual's key: the source's id of a person, across its records.
pub const INDIVIDUAL: &str = "individual";

/// Whether keys of `kind` are rows of their own. Every other kind is a part of one record (its
/// plan, a goal, a consent, a meeting …), whose key is stored on the record's own key
/// ([`parts_of`]).
pub fn is_stored_alone(kind: &str) -> bool {
    kind == RECORD || kind == INDIVIDUAL
}

/// The keys of a record's parts, stored on the record's key: one row per imported record instead
/// of one per part (19 rows, 5.6 KB a plan, the largest table after the change events). The
/// column holds one JSON object: each part's kind and its external id less the record's own id
/// (`"goal/g1"`, `"plan"`) to its id and fingerprint, each in [`compact`] form. Every part's key
/// is of the record's plan and was stored when the record's was.
pub fn parts_of(record: &KeyRow) -> Result<Vec<KeyRow>> {
    let Some(parts) = record.parts.as_deref() else {
        return Ok(Vec::new());
    };
    let parts: std::collections::BTreeMap<String, (String, String)> =
        serde_json::from_str(parts)
            .map_err(|e| crate::error::Error::Internal(format!("an import key's parts: {e}")))?;
    Ok(parts
        .into_iter()
        .map(|(part, (resource_id, fingerprint))| {
            let (kind, within) = match part.split_once('/') {
                Some((kind, rest)) => (kind.to_string(), format!("/{rest}")),
                None => (part, String::new()),
            };
            KeyRow {
                source_system: record.source_system.clone(),
                kind,
                external_id: format!("{}{within}", record.external_id),
                resource_id: expand(&resource_id),
                plan_id: record.plan_id.clone(),
                fingerprint: expand(&fingerprint),
                updated_at: record.updated_at,
                parts: None,
            }
        })
        .collect())
}

/// An id or a fingerprint as a part's key stores it: a UUID in 22 characters and a version-2
/// fingerprint in 43 (the base64url of their 16 and 32 bytes) instead of 36 and 67 — with ~19 parts
/// a record, the difference between two records' keys in one SQLite page and one. Anything else
/// is kept as it is, behind `=` where [`expand`] would otherwise take it for a compact form.
fn compact(value: &str) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    if let Ok(id) = uuid::Uuid::parse_str(value) {
        if id.hyphenated().to_string() == value {
            return URL_SAFE_NO_PAD.encode(id.as_bytes());
        }
    }
    if let Some(digest) = value.strip_prefix(FINGERPRINT_V2).and_then(lowercase_hex) {
        if digest.len() == 32 {
            return URL_SAFE_NO_PAD.encode(digest);
        }
    }
    if value.starts_with('=') || compact_bytes(value).is_some() {
        return format!("={value}");
    }
    value.to_string()
}

/// The value [`compact`] was given.
fn expand(stored: &str) -> String {
    if let Some(value) = stored.strip_prefix('=') {
        return value.to_string();
    }
    match compact_bytes(stored) {
        Some(bytes) if bytes.len() == 16 => uuid::Uuid::from_slice(&bytes)
            .map(|id| id.hyphenated().to_string())
            .unwrap_or_else(|_| stored.to_string()),
        Some(bytes) => {
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            format!("{FINGERPRINT_V2}{hex}")
        }
        None => stored.to_string(),
    }
}

/// `domain::import::Fingerprint`'s version-2 prefix.
const FINGERPRINT_V2: &str = "v2:";

/// The bytes of a compact UUID (22 characters) or fingerprint (43).
fn compact_bytes(value: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    let expected = match value.len() {
        22 => 16,
        43 => 32,
        _ => return None,
    };
    URL_SAFE_NO_PAD
        .decode(value)
        .ok()
        .filter(|bytes| bytes.len() == expected)
}

fn lowercase_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2)
        || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

/// Stores `parts`, the keys of the record's parts, on the record's key `record` ([`parts_of`]).
pub fn set_parts<'a>(
    record: &mut KeyRow,
    parts: impl IntoIterator<Item = &'a KeyRow>,
) -> Result<()> {
    let mut stored = std::collections::BTreeMap::new();
    for part in parts {
        let within = part
            .external_id
            .strip_prefix(record.external_id.as_str())
            .filter(|rest| rest.is_empty() || rest.starts_with('/'))
            .ok_or_else(|| {
                crate::error::Error::Internal(format!(
                    "a key of kind {} is not of the record it is stored with",
                    part.kind
                ))
            })?;
        stored.insert(
            format!("{}{within}", part.kind),
            (compact(&part.resource_id), compact(&part.fingerprint)),
        );
    }
    let parts = serde_json::to_string(&stored)
        .map_err(|e| crate::error::Error::Internal(format!("an import key's parts: {e}")))?;
    record.parts = Some(parts);
    Ok(())
}

pub fn insert(conn: &mut DbConn, row: &ImportRow) -> Result<()> {
    diesel::insert_into(imports::table)
        .values(row)
        .execute_native(conn)?;
    Ok(())
}

/// The import `id` of `unit`.
pub fn find(conn: &mut DbConn, unit: &str, id: &str) -> Result<Option<ImportRow>> {
    Ok(imports::table
        .filter(imports::id.eq(id))
        .filter(imports::unit.eq(unit))
        .select(super::native::columns::<ImportRow>())
        .first_native(conn)
        .optional()?)
}

pub fn list(
    conn: &mut DbConn,
    unit: &str,
    cursor: Option<&str>,
    limit: i64,
) -> Result<Vec<ImportRow>> {
    let mut query = imports::table.filter(imports::unit.eq(unit)).into_boxed();
    if let Some(after) = cursor {
        query = query.filter(imports::id.gt(after.to_string()));
    }
    Ok(query
        .order(imports::id)
        .limit(limit)
        .select(super::native::columns::<ImportRow>())
        .load(conn)?)
}

/// Moves an import from `from` to `to` (a new version); false when it is not in `from`.
pub fn set_status(
    conn: &mut DbConn,
    id: &str,
    from: &str,
    to: &str,
    failure: Option<&str>,
    at: NaiveDateTime,
) -> Result<bool> {
    let started = (to == "running").then_some(at);
    let finished = matches!(to, "completed" | "failed").then_some(at);
    let changed = diesel::update(
        imports::table
            .filter(imports::id.eq(id))
            .filter(imports::status.eq(from)),
    )
    .set((
        imports::status.eq(to),
        imports::failure.eq(failure),
        imports::version.eq(imports::version + 1),
        imports::updated_at.eq(at),
    ))
    .execute_native(conn)?;
    if changed == 1 {
        if let Some(started) = started {
            diesel::update(imports::table.filter(imports::id.eq(id)))
                .set((
                    imports::started_at.eq(started),
                    imports::alive_at.eq(started),
                ))
                .execute_native(conn)?;
        }
        if let Some(finished) = finished {
            diesel::update(imports::table.filter(imports::id.eq(id)))
                .set(imports::finished_at.eq(finished))
                .execute_native(conn)?;
        }
    }
    Ok(changed == 1)
}

/// Adds a batch's counts to an import (progress, readable while it runs).
pub fn add_counts(conn: &mut DbConn, id: &str, counts: Counts, at: NaiveDateTime) -> Result<()> {
    diesel::update(imports::table.filter(imports::id.eq(id)))
        .set((
            imports::lines_read.eq(imports::lines_read + counts.lines),
            imports::created_count.eq(imports::created_count + counts.created),
            imports::updated_count.eq(imports::updated_count + counts.updated),
            imports::unchanged_count.eq(imports::unchanged_count + counts.unchanged),
            imports::failed_count.eq(imports::failed_count + counts.failed),
            imports::updated_at.eq(at),
        ))
        .execute_native(conn)?;
    Ok(())
}

/// Stores the outcomes of a batch of records in one statement (a batch is at most a few hundred
/// lines; SQLite binds at most 32,766 values in one statement, 6 columns a row).
pub fn insert_records(conn: &mut DbConn, rows: &[RecordRow]) -> Result<()> {
    for chunk in rows.chunks(4_000) {
        super::insert_rows!(conn, import_records::table, chunk)?;
    }
    Ok(())
}

/// One page of an import's report, in line order.
pub fn records(
    conn: &mut DbConn,
    import_id: &str,
    outcome: Option<&str>,
    after_line: i64,
    limit: i64,
) -> Result<Vec<RecordRow>> {
    let mut query = import_records::table
        .filter(import_records::import_id.eq(import_id))
        .filter(import_records::line.gt(after_line))
        .into_boxed();
    if let Some(outcome) = outcome {
        query = query.filter(import_records::outcome.eq(outcome.to_string()));
    }
    Ok(query
        .order(import_records::line)
        .limit(limit)
        .select(super::native::columns::<RecordRow>())
        .load(conn)?)
}

pub fn key(
    conn: &mut DbConn,
    source: &str,
    kind: &str,
    external_id: &str,
) -> Result<Option<KeyRow>> {
    Ok(import_keys::table
        .filter(import_keys::source_system.eq(source))
        .filter(import_keys::kind.eq(kind))
        .filter(import_keys::external_id.eq(external_id))
        .select(super::native::columns::<KeyRow>())
        .first_native(conn)
        .optional()?)
}

/// The stored keys of `kinds` among `external_ids`, in one statement: what a batch of records
/// would otherwise look up one key at a time.
pub fn keys_among(
    conn: &mut DbConn,
    source: &str,
    kinds: &[&str],
    external_ids: &[&str],
) -> Result<Vec<KeyRow>> {
    if external_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(import_keys::table
        .filter(import_keys::source_system.eq(source))
        .filter(import_keys::kind.eq_any(kinds))
        .filter(import_keys::external_id.eq_any(external_ids))
        .filter(super::native::planned_for_its_values())
        .select(super::native::columns::<KeyRow>())
        .load_native(conn)?)
}

/// Stores a key, or moves an existing one to the new resource and fingerprint.
pub fn put_key(conn: &mut DbConn, row: &KeyRow) -> Result<()> {
    let changed = diesel::update(
        import_keys::table
            .filter(import_keys::source_system.eq(&row.source_system))
            .filter(import_keys::kind.eq(&row.kind))
            .filter(import_keys::external_id.eq(&row.external_id)),
    )
    .set((
        import_keys::resource_id.eq(&row.resource_id),
        import_keys::plan_id.eq(&row.plan_id),
        import_keys::fingerprint.eq(&row.fingerprint),
        import_keys::updated_at.eq(row.updated_at),
        import_keys::parts.eq(&row.parts),
    ))
    .execute_native(conn)?;
    if changed == 0 {
        diesel::insert_into(import_keys::table)
            .values(row)
            .execute_native(conn)?;
    }
    Ok(())
}

/// Stores new keys (none of them stored yet) in one statement.
pub fn insert_keys(conn: &mut DbConn, rows: &[KeyRow]) -> Result<()> {
    // SQLite binds at most 32,766 values in one statement; 8 columns a row.
    for chunk in rows.chunks(4_000) {
        super::insert_rows!(conn, import_keys::table, chunk)?;
    }
    Ok(())
}

/// Imports still marked running that have shown no sign of life since `before`: the instance
/// reading them stopped.
pub fn stalled(conn: &mut DbConn, before: NaiveDateTime) -> Result<Vec<String>> {
    Ok(imports::table
        .filter(imports::status.eq("running"))
        .filter(
            imports::alive_at.lt(before).or(imports::alive_at
                .is_null()
                .and(imports::updated_at.lt(before))),
        )
        .select(imports::id)
        .load_native(conn)?)
}

/// The import of `source_system` that is running, if one is (there is at most one).
pub fn running(conn: &mut DbConn, source_system: &str) -> Result<Option<ImportRow>> {
    Ok(imports::table
        .filter(imports::source_system.eq(source_system))
        .filter(imports::status.eq("running"))
        .select(super::native::columns::<ImportRow>())
        .first_native(conn)
        .optional()?)
}

/// A running import's heartbeat: the instance reading it is alive.
pub fn mark_alive(conn: &mut DbConn, id: &str, at: NaiveDateTime) -> Result<()> {
    diesel::update(
        imports::table
            .filter(imports::id.eq(id))
            .filter(imports::status.eq("running")),
    )
    .set(imports::alive_at.eq(at))
    .execute_native(conn)?;
    Ok(())
}

/// The tables an imported plan's records fill, whose planner statistics an import brings up to date.
const IMPORTED_TABLES: &str = "individuals, guardians, plans, plan_access, consents, \
    consent_givers, consent_parties, summons, summons_recipients, meetings, goals, interventions, \
    intervention_goals, follow_ups, plan_revisions, closure_notices, import_keys";

/// Brings PostgreSQL's planner statistics of the tables an import fills up to date (`ANALYZE`)
/// when the import wrote `plans_written` plans into a database whose statistics do not know of
/// them: plans never analysed, or fewer than ten times the plans written. A first import into a
/// new database otherwise left the planner guessing until autovacuum came by (up to a minute):
/// the whole-plan read then joined `intervention_goals` by a sequential scan, 0.73 ms a call
/// instead of 0.28 right after 1,000 plans, growing with the table. A small import into a large
/// database changes no estimate that matters and is left to autovacuum, so a region's daily
/// import does not sample seventeen large tables (`ANALYZE` reads up to 30,000 rows of each).
/// SQLite: nothing — its planner runs without statistics here, and the queries are written for it.
pub fn refresh_statistics(conn: &mut DbConn, plans_written: i64) -> Result<()> {
    #[derive(QueryableByName)]
    struct Estimate {
        #[diesel(sql_type = diesel::sql_types::Float)]
        reltuples: f32,
    }
    if let DbConn::Postgres(pg) = conn {
        let known =
            diesel::sql_query("SELECT reltuples FROM pg_class WHERE oid = 'plans'::regclass")
                .get_result::<Estimate>(pg)?
                .reltuples;
        if planner_does_not_know_of(plans_written, known) {
            diesel::sql_query(format!("ANALYZE {IMPORTED_TABLES}")).execute(pg)?;
        }
    }
    Ok(())
}

/// The rule of [`refresh_statistics`]: the planner's estimate of the plans (`reltuples`, -1 when
/// the table was never analysed) does not know of `plans_written` new plans when it was never
/// taken or is under ten times their number.
fn planner_does_not_know_of(plans_written: i64, estimated_plans: f32) -> bool {
    estimated_plans < 0.0 || (plans_written as f32) * 10.0 >= estimated_plans
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(kind: &str, external_id: &str, resource_id: &str, fingerprint: &str) -> KeyRow {
        KeyRow {
            source_system: "journal".into(),
            kind: kind.into(),
            external_id: external_id.into(),
            resource_id: resource_id.into(),
            plan_id: Some(PlanId::stored("plan-a".to_string())),
            fingerprint: fingerprint.into(),
            updated_at: NaiveDateTime::default(),
            parts: None,
        }
    }

    #[test]
    fn a_records_parts_are_read_back_as_they_were_put() {
        let mut record = key(RECORD, "rec/1", "plan-a", "v2:r");
        let parts = [
            key("plan", "rec/1", "plan-a", "v2:p"),
            key("goal", "rec/1/g/1", "goal-a", "v2:g"),
            key("goal", "rec/1/", "goal-b", "v2:h"),
            key("follow_up", "rec/1/f1", "fu-a", ""),
        ];
        set_parts(&mut record, &parts).unwrap();
        assert_eq!(
            record.parts.as_deref(),
            Some(
                r#"{"follow_up/f1":["fu-a",""],"goal/":["goal-b","v2:h"],"goal/g/1":["goal-a","v2:g"],"plan":["plan-a","v2:p"]}"#
            )
        );
        let mut read = parts_of(&record).unwrap();
        read.sort_by(|a, b| (&a.kind, &a.external_id).cmp(&(&b.kind, &b.external_id)));
        let ids = |keys: &[KeyRow]| -> Vec<(String, String, String, String)> {
            keys.iter()
                .map(|k| {
                    (
                        k.kind.clone(),
                        k.external_id.clone(),
                        k.resource_id.clone(),
                        k.fingerprint.clone(),
                    )
                })
                .collect()
        };
        let mut expected = parts.to_vec();
        expected.sort_by(|a, b| (&a.kind, &a.external_id).cmp(&(&b.kind, &b.external_id)));
        assert_eq!(ids(&read), ids(&expected));
        assert!(read
            .iter()
            .all(|k| k.plan_id.as_deref() == Some("plan-a") && k.parts.is_none()));
        // Ids and fingerprints of the service's own forms are stored compact.
        let id = "01a24948-c96f-719f-b9f4-85971f6d2d2a";
        let print = format!(
            "v2:{}",
            "b9ab08a001c20ca1b8f431c40630523407ea32cf026b9a79628a4f4fb86b5dac"
        );
        set_parts(&mut record, &[key("goal", "rec/1/g", id, &print)]).unwrap();
        assert_eq!(
            record.parts.as_deref(),
            Some(
                r#"{"goal/g":["AaJJSMlvcZ-59IWXH20tKg","uasIoAHCDKG49DHEBjBSNAfqMs8Ca5p5YopPT7hrXaw"]}"#
            )
        );
        let read = parts_of(&record).unwrap();
        assert_eq!(
            (read[0].resource_id.as_str(), read[0].fingerprint.as_str()),
            (id, print.as_str())
        );
    }

    #[test]
    fn every_id_and_fingerprint_is_read_back_as_it_was_stored() {
        let values = [
            "01a24948-c96f-719f-b9f4-85971f6d2d2a",
            "01A24948-C96F-719F-B9F4-85971F6D2D2A",
            "01a24948c96f719fb9f485971f6d2d2a",
            "v2:b9ab08a001c20ca1b8f431c40630523407ea32cf026b9a79628a4f4fb86b5dac",
            "v2:B9AB08A001C20CA1B8F431C40630523407EA32CF026B9A79628A4F4FB86B5DAC",
            "v2:b9ab08a001c20ca1b8f431c40630523407ea32cf026b9a79628a4f4fb86b",
            "b9ab08a001c20ca1b8f431c40630523407ea32cf026b9a79628a4f4fb86b5dac",
            // Of a compact form's length and alphabet, and escaped forms.
            "AaJJSMlvcZ-59IWXH20tKg",
            "uasIoAHCDKG49DHEBjBSNAfqMs8Ca5p5YopPT7hrXaw",
            "=AaJJSMlvcZ-59IWXH20tKg",
            "=",
            "",
            "v2:other",
            "goal-a",
        ];
        for value in values {
            let stored = compact(value);
            assert_eq!(expand(&stored), value, "stored as {stored}");
        }
        assert_eq!(compact(values[0]).len(), 22);
        assert_eq!(compact(values[3]).len(), 43);
    }

    #[test]
    fn a_key_of_another_record_is_not_stored_on_this_one() {
        let mut record = key(RECORD, "rec-1", "plan-a", "v2:r");
        for other in ["rec-10/g1", "rec-2", "g1"] {
            assert!(
                set_parts(&mut record, &[key("goal", other, "goal-a", "v2:g")]).is_err(),
                "{other}"
            );
        }
        assert_eq!(record.parts, None);
        assert!(parts_of(&record).unwrap().is_empty());
    }

    #[test]
    fn an_import_is_analysed_only_while_the_planner_does_not_know_of_its_plans() {
        // Never analysed (a new database): always.
        assert!(planner_does_not_know_of(1, -1.0));
        // Analysed while empty, then a first import.
        assert!(planner_does_not_know_of(1_000, 0.0));
        // The plans written are a tenth or more of what the planner knows: the estimate is stale.
        assert!(planner_does_not_know_of(100, 1_000.0));
        assert!(planner_does_not_know_of(20_000, 100_000.0));
        // A region's small daily import into a large database: left to autovacuum.
        assert!(!planner_does_not_know_of(99, 1_000.0));
        assert!(!planner_does_not_know_of(1, 100_000.0));
    }
}
