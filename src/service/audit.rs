//! Reading the access log.

use crate::db::audit::{self as store, AuditEventRow, AuditFilter};
use crate::db::DbConn;
use crate::error::Result;

/// A page of the access log after event `after`, and the cursor of the next page.
pub fn list(
    conn: &mut DbConn,
    filter: &AuditFilter,
    after: i64,
    limit: i64,
) -> Result<(Vec<AuditEventRow>, Option<String>)> {
    let rows = store::list(conn, filter, after, limit + 1)?;
    Ok(super::page(rows, limit, |r| r.id.to_string()))
}
