//! Which units may see which plan (`plan_access`), kept in step with the plans and consents it is
//! derived from, in their transactions: the plan's initiating unit sees it always; a unit a given
//! consent covers sees it on the consent's days, until the consent is withdrawn. The rule reads
//! these rows through [`super::plans`]' `visible_to`, so it is one indexed semi-join whatever the
//! number of consents in the database.

use chrono::NaiveDate;
use diesel::prelude::*;

use super::consents::ConsentRecord;
use super::schema::plan_access;
use super::DbConn;
use crate::domain::consent::ConsentOutcome;
use crate::error::Result;

#[derive(Insertable)]
#[diesel(table_name = plan_access)]
struct Grant<'a> {
    plan_id: &'a str,
    unit: &'a str,
    consent_id: Option<&'a str>,
    /// No date: no bound (the initiating unit's grant).
    valid_from: Option<NaiveDate>,
    valid_until: Option<NaiveDate>,
}

/// The unit that opened the plan sees it from now on, whatever becomes of its consents.
pub(super) fn grant_initiating_unit(conn: &mut DbConn, plan_id: &str, unit: &str) -> Result<()> {
    diesel::insert_into(plan_access::table)
        .values(Grant {
            plan_id,
            unit,
            consent_id: None,
            valid_from: None,
            valid_until: None,
        })
        .execute(conn)?;
    Ok(())
}

/// A given consent lets the units it covers see the plan on its days. A refusal, or a consent
/// without both dates, lets no one.
pub(super) fn grant_consent(conn: &mut DbConn, record: &ConsentRecord) -> Result<()> {
    let consent = &record.consent;
    let (Some(from), Some(until)) = (consent.valid_from, consent.valid_until) else {
        return Ok(());
    };
    if consent.outcome != ConsentOutcome::Given || consent.withdrawn_at.is_some() {
        return Ok(());
    }
    let grants: Vec<Grant> = record
        .parties
        .iter()
        .filter_map(|party| party.hsa_id.as_deref())
        .map(|unit| Grant {
            plan_id: &consent.plan_id,
            unit,
            consent_id: Some(&consent.id),
            valid_from: Some(from),
            valid_until: Some(until),
        })
        .collect();
    if grants.is_empty() {
        return Ok(());
    }
    super::insert_rows!(conn, plan_access::table, &grants)?;
    Ok(())
}

/// Withdrawn consents let no one see the plan any longer, from this transaction on.
pub(super) fn revoke_consents(conn: &mut DbConn, consent_ids: &[&str]) -> Result<()> {
    if consent_ids.is_empty() {
        return Ok(());
    }
    diesel::delete(plan_access::table.filter(plan_access::consent_id.eq_any(consent_ids)))
        .execute(conn)?;
    Ok(())
}
