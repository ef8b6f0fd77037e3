//! Reading the access log.

use super::Context;
use crate::db::audit::{self as store, AuditFilter, AuditRecord};
use crate::db::DbConn;
use crate::error::Result;

/// A page of the access log after event `after`, and the cursor of the next page. Log follow-up
/// is per organisation: whatever the filter asks, the caller sees the accesses of its own
/// organisation's units (and the attempts to find the protected people it registered).
pub fn list(
    conn: &mut DbConn,
    ctx: &Context,
    filter: AuditFilter,
    after: i64,
    limit: i64,
) -> Result<(Vec<AuditRecord>, Option<String>)> {
    let filter = AuditFilter {
        organisation: Some(ctx.caller.unit.organisation().to_string()),
        ..filter
    };
    let rows = store::list(conn, &filter, after, limit + 1)?;
    Ok(super::page(rows, limit, |r| r.event.id.to_string()))
}

/// The patients of the accesses `records`: each plan's individual, and the identity number of
/// every individual named or reached through a plan — for the FHIR AuditEvents' patient entities.
pub fn patients_of(
    conn: &mut DbConn,
    records: &[AuditRecord],
) -> Result<crate::views::balp::Patients> {
    let mut plan_ids: Vec<String> = records
        .iter()
        .flat_map(|r| {
            r.event
                .plan_id
                .iter()
                .chain(r.targets.iter().filter_map(|t| t.plan_id.as_ref()))
                .cloned()
        })
        .collect();
    plan_ids.sort();
    plan_ids.dedup();
    let of_plan: std::collections::HashMap<String, String> =
        crate::db::plans::individuals_of(conn, &plan_ids)?
            .into_iter()
            .collect();
    let mut ids: Vec<String> = records
        .iter()
        .flat_map(|r| {
            r.event
                .individual_id
                .iter()
                .chain(r.targets.iter().filter_map(|t| t.individual_id.as_ref()))
                .cloned()
        })
        .chain(of_plan.values().cloned())
        .collect();
    ids.sort();
    ids.dedup();
    // A person with protected identity is named by the service's id only, as in the JSON log:
    // her number does not leave in a log export that may travel to the region's own tools.
    let numbers = crate::db::individuals::numbers_of(conn, &ids)?
        .into_iter()
        .filter(|(_, _, _, protected)| !protected)
        .filter_map(|(id, number, kind, _)| {
            let kind = crate::domain::identity::IdentityKind::parse(&kind)?;
            Some((id, crate::views::balp::PatientNumber { number, kind }))
        })
        .collect();
    Ok(crate::views::balp::Patients { numbers, of_plan })
}
