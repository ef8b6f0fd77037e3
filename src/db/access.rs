//! Which units may see which plan (`plan_access`), kept in step with the plans and consents it is
//! derived from, in their transactions: the plan's initiating unit sees it always (its grant is
//! written by the plan's own INSERT, a trigger of migration `…_initiating_unit_grant_by_trigger`:
//! one statement and round trip fewer a plan); a unit a given consent covers sees it on the
//! consent's days, until the consent is withdrawn. The rule reads
//! these rows through [`super::plans`]' `visible_to`, so it is one indexed semi-join whatever the
//! number of consents in the database.

use super::native::NativeRunQueryDsl;
use chrono::NaiveDate;
use diesel::prelude::*;

use super::consents::ConsentRecord;
use super::schema::plan_access;
use super::DbConn;
use crate::domain::consent::ConsentOutcome;
use crate::error::Result;

#[derive(Insertable)]
#[diesel(table_name = plan_access, treat_none_as_default_value = false)]
struct Grant<'a> {
    plan_id: &'a str,
    unit: &'a str,
    consent_id: &'a str,
    valid_from: NaiveDate,
    valid_until: NaiveDate,
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
            consent_id: &consent.id,
            valid_from: from,
            valid_until: until,
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
        .execute_native(conn)?;
    Ok(())
}
