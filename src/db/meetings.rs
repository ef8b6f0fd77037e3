//! The SIP meeting, follow-ups, revisions and closure notices.

use super::native::NativeRunQueryDsl;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::journal::Journal;
use super::schema::{closure_notices, follow_ups, meetings, plan_revisions};
use super::DbConn;
use crate::domain::identity::HsaId;
use crate::domain::ids::{FollowUpId, PlanId, SummonsId};
use crate::domain::plan::ClosingReason;
use crate::domain::process::Decision;
use crate::domain::Principal;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Deserialize)]
#[diesel(table_name = meetings, treat_none_as_default_value = false)]
pub struct MeetingRow {
    pub id: String,
    pub plan_id: PlanId,
    pub summons_id: SummonsId,
    pub held_at: NaiveDateTime,
    pub leader_name: String,
    pub leader_unit: Option<HsaId>,
    pub secretary_name: String,
    pub secretary_unit: Option<HsaId>,
    /// JSON array of participants.
    pub participants: String,
    pub disagreements: Option<String>,
    pub individual_agreed: bool,
    pub individual_received_plan: bool,
    pub sip_survey_offered: bool,
    pub visible_in_1177: bool,
    pub held_within_deadline: bool,
    pub procedure_code: String,
    pub recorded_by: String,
    pub recorded_by_unit: HsaId,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, serde::Deserialize)]
#[diesel(table_name = follow_ups, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct FollowUpRow {
    pub id: FollowUpId,
    pub plan_id: PlanId,
    pub scheduled_on: NaiveDate,
    pub place: String,
    pub held_on: Option<NaiveDate>,
    /// JSON array of goal outcomes.
    pub goal_outcomes: Option<String>,
    /// JSON array of intervention reviews.
    pub intervention_reviews: Option<String>,
    pub new_circumstances: Option<String>,
    pub decision: Option<Decision>,
    pub closing_reason: Option<ClosingReason>,
    pub recorded_by: Option<String>,
    pub recorded_by_unit: Option<HsaId>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = plan_revisions, treat_none_as_default_value = false)]
pub struct RevisionRow {
    pub plan_id: PlanId,
    pub revision: i32,
    pub established_at: NaiveDateTime,
    pub established_by: String,
    /// The whole plan document as JSON, as it was established.
    pub document: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Deserialize)]
#[diesel(table_name = closure_notices, treat_none_as_default_value = false)]
pub struct ClosureNoticeRow {
    pub plan_id: PlanId,
    pub position: i32,
    pub hsa_id: Option<HsaId>,
    pub name: String,
    pub principal: Principal,
}

pub fn insert_meeting(conn: &mut DbConn, row: &MeetingRow) -> Result<()> {
    diesel::insert_into(meetings::table)
        .values(row)
        .execute_native(conn)?;
    Ok(())
}

pub fn meeting_of(conn: &mut DbConn, plan_id: &str) -> Result<Option<MeetingRow>> {
    Ok(meetings::table
        .filter(meetings::plan_id.eq(plan_id))
        .select(super::native::columns::<MeetingRow>())
        .first_native(conn)
        .optional()?)
}

pub fn insert_follow_up(conn: &mut DbConn, row: &FollowUpRow) -> Result<()> {
    diesel::insert_into(follow_ups::table)
        .values(row)
        .execute_native(conn)?;
    Ok(())
}

/// Stores `row` with its journal if its version is still the one before; `Err(lost)` if not.
pub fn update_follow_up(
    conn: &mut DbConn,
    row: &FollowUpRow,
    journal: Journal,
    lost: Error,
) -> Result<()> {
    super::prepared::update_journaled!(conn, follow_ups, row, journal, lost)
}

/// A plan's follow-ups by scheduled date.
pub fn follow_ups_of(conn: &mut DbConn, plan_id: &str) -> Result<Vec<FollowUpRow>> {
    Ok(follow_ups::table
        .filter(follow_ups::plan_id.eq(plan_id))
        .order((follow_ups::scheduled_on, follow_ups::id))
        .select(super::native::columns::<FollowUpRow>())
        .load_native(conn)?)
}

/// The earliest follow-up not yet held: the plan's next follow-up date.
pub fn next_follow_up_on(conn: &mut DbConn, plan_id: &str) -> Result<Option<NaiveDate>> {
    Ok(follow_ups::table
        .filter(follow_ups::plan_id.eq(plan_id))
        .filter(follow_ups::held_on.is_null())
        .select(diesel::dsl::min(follow_ups::scheduled_on))
        .first_native(conn)?)
}

pub fn insert_revision(conn: &mut DbConn, row: &RevisionRow) -> Result<()> {
    let stored = RevisionRow {
        document: deflated(&row.document)?,
        ..row.clone()
    };
    diesel::insert_into(plan_revisions::table)
        .values(&stored)
        .execute_native(conn)?;
    Ok(())
}

/// How an established plan's document is stored: deflated, as base64 text after [`DEFLATED`].
/// The whole plan's JSON (~6.9 KB for an imported plan: 3 goals, 5 interventions, a meeting) was
/// the largest part of an imported plan on SQLite: 8.2 KB a plan, two pages each (SQLite does not
/// compress). Deflated it is ~2.3 KB (one page); PostgreSQL compressed it in TOAST already
/// (2.96 KB a plan), and takes the deflated text as it is. Text, not bytes, so the row moves out
/// of the import's scratch database as JSON like every other (`db::scratch`). Documents stored
/// before are plain JSON and read as they are.
const DEFLATED: &str = "deflate:";

fn deflated(document: &str) -> Result<String> {
    use base64::engine::general_purpose::STANDARD_NO_PAD;
    use base64::Engine as _;
    use std::io::Write as _;
    let mut encoder =
        flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    encoder
        .write_all(document.as_bytes())
        .and_then(|_| encoder.finish())
        .map(|bytes| format!("{DEFLATED}{}", STANDARD_NO_PAD.encode(bytes)))
        .map_err(|e| crate::error::Error::Internal(format!("deflating a plan's document: {e}")))
}

/// The document [`deflated`] stored (or a plain one, stored before documents were deflated).
fn inflated(stored: String) -> Result<String> {
    use base64::engine::general_purpose::STANDARD_NO_PAD;
    use base64::Engine as _;
    use std::io::Read as _;
    let Some(encoded) = stored.strip_prefix(DEFLATED) else {
        return Ok(stored);
    };
    let fault = |e: String| crate::error::Error::Internal(format!("a stored plan document: {e}"));
    let bytes = STANDARD_NO_PAD
        .decode(encoded)
        .map_err(|e| fault(e.to_string()))?;
    let mut document = String::new();
    flate2::read::DeflateDecoder::new(bytes.as_slice())
        .read_to_string(&mut document)
        .map_err(|e| fault(e.to_string()))?;
    Ok(document)
}

/// The revisions of a plan: number and time, without the documents.
pub fn revisions_of(conn: &mut DbConn, plan_id: &str) -> Result<Vec<(i32, NaiveDateTime, String)>> {
    Ok(plan_revisions::table
        .filter(plan_revisions::plan_id.eq(plan_id))
        .order(plan_revisions::revision)
        .select((
            plan_revisions::revision,
            plan_revisions::established_at,
            plan_revisions::established_by,
        ))
        .load_native(conn)?)
}

pub fn revision(conn: &mut DbConn, plan_id: &str, revision: i32) -> Result<Option<RevisionRow>> {
    plan_revisions::table
        .filter(plan_revisions::plan_id.eq(plan_id))
        .filter(plan_revisions::revision.eq(revision))
        .select(super::native::columns::<RevisionRow>())
        .first_native(conn)
        .optional()?
        .map(|row: RevisionRow| {
            Ok(RevisionRow {
                document: inflated(row.document)?,
                ..row
            })
        })
        .transpose()
}

pub fn insert_closure_notices(conn: &mut DbConn, rows: &[ClosureNoticeRow]) -> Result<()> {
    for row in rows {
        diesel::insert_into(closure_notices::table)
            .values(row)
            .execute_native(conn)?;
    }
    Ok(())
}

pub fn closure_notices_of(conn: &mut DbConn, plan_id: &str) -> Result<Vec<ClosureNoticeRow>> {
    Ok(closure_notices::table
        .filter(closure_notices::plan_id.eq(plan_id))
        .order(closure_notices::position)
        .select(super::native::columns::<ClosureNoticeRow>())
        .load_native(conn)?)
}

/// Of the closed plans `plan_ids`, those that name `unit` among the units to tell of the closing.
pub fn notifying(conn: &mut DbConn, unit: &str, plan_ids: &[&str]) -> Result<Vec<String>> {
    if plan_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(closure_notices::table
        .filter(closure_notices::hsa_id.eq(unit))
        .filter(closure_notices::plan_id.eq_any(plan_ids.iter().map(|id| id.to_string())))
        .select(closure_notices::plan_id)
        .distinct()
        .load_native(conn)?)
}

#[cfg(test)]
mod tests {
    use super::{deflated, inflated, DEFLATED};

    #[test]
    fn a_plan_document_is_stored_deflated_and_read_back_as_it_was() {
        let document = serde_json::json!({
            "plan": {"need_reason": "Behöver stöd från både psykiatri och socialtjänst", "status": "established"},
            "goals": (0..10).map(|n| serde_json::json!({"text": format!("Mål {n}: att komma igång med arbetsträning")})).collect::<Vec<_>>(),
        })
        .to_string();
        let stored = deflated(&document).unwrap();
        assert!(stored.starts_with(DEFLATED), "{stored}");
        assert!(
            stored.len() < document.len() / 2,
            "{} of {}",
            stored.len(),
            document.len()
        );
        assert_eq!(inflated(stored).unwrap(), document);
    }

    #[test]
    fn a_document_stored_before_deflating_is_read_as_it_is() {
        let plain = r#"{"plan":{"id":"a"}}"#.to_string();
        assert_eq!(inflated(plain.clone()).unwrap(), plain);
    }

    #[test]
    fn a_damaged_stored_document_is_a_fault_not_a_document() {
        assert!(inflated(format!("{DEFLATED}not base64!")).is_err());
        assert!(inflated(format!("{DEFLATED}AAAA")).is_err());
    }
}
