//! The whole plan as one document: read for a journal system or a printout, and stored as the
//! record of what the plan said at each revision.

use super::Context;
use crate::db::meetings::{self as meeting_store, RevisionRow};
use crate::db::plans::PlanRow;
use crate::db::{documents, DbConn};
use crate::domain::calendar::swedish_date;
use crate::domain::ids::PlanId;
use crate::error::Result;
use crate::views::document::PlanDocument;

use super::{naive, plans};

/// The plan's document as it reads at `now`, if the caller may see the plan (404 otherwise).
pub fn load(conn: &mut DbConn, ctx: &Context, plan_id: &PlanId) -> Result<PlanDocument> {
    let today = swedish_date(ctx.now);
    let plan = plans::get(conn, ctx, plan_id, today)?;
    let rows = documents::of_plan(conn, &plan.plan.id, &plan.plan.individual_id)?;
    PlanDocument::build(plan, rows, today)
}

/// Stores what the plan says now as its current revision: never rewritten, so what it said before a
/// revision can always be read back.
pub fn snapshot(conn: &mut DbConn, ctx: &Context, plan: &PlanRow) -> Result<()> {
    let document = load(conn, ctx, &plan.id)?;
    let json = serde_json::to_string(&document).map_err(|e| {
        crate::error::Error::Internal(format!("cannot serialise a plan document: {e}"))
    })?;
    meeting_store::insert_revision(
        conn,
        &RevisionRow {
            plan_id: plan.id.clone(),
            revision: plan.revision,
            established_at: naive(ctx.now),
            established_by: ctx.caller.subject.clone(),
            document: json,
        },
    )
}
