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
