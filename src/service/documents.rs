//! The whole plan as one document: read for a journal system or a printout, and stored as the
//! record of what the plan said at each revision.

use super::individuals::Search;
use super::Context;
use crate::db::meetings::{self as meeting_store, RevisionRow};
use crate::db::plans::PlanFilter;
use crate::db::plans::PlanRow;
use crate::db::DbConn;
use crate::domain::identity::IdentityNumber;
use crate::domain::ids::{IndividualId, PlanId};
use crate::error::{Error, Result};
use crate::views::document::PlanDocument;

use super::{naive, plans};

/// The plan's document as it reads at `now`, if the caller may see the plan (404 otherwise).
pub fn load(conn: &mut DbConn, ctx: &Context, plan_id: &PlanId) -> Result<PlanDocument> {
    let today = ctx.today();
    let (plan, rows) = plans::get_with_document_rows(conn, ctx, plan_id, today)?;
    PlanDocument::build(plan, rows, today)
}

/// Stores what the plan says now as its current revision: never rewritten, so what it said before a
/// revision can always be read back.
pub fn snapshot(conn: &mut DbConn, ctx: &Context, plan: &PlanRow) -> Result<()> {
    let document = load(conn, ctx, &plan.id)?;
    let json = serde_json::to_string(&document)
        .map_err(|e| Error::Internal(format!("cannot serialise a plan document: {e}")))?;
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

/// The most plans one person's document search answers with. A person has a handful; the bound
/// keeps one search a bounded read whatever the data.
pub const MAX_DOCUMENTS_PER_PERSON: i64 = 100;

/// What a search for plan documents found.
#[derive(Debug, Default)]
pub struct DocumentSearch {
    pub documents: Vec<PlanDocument>,
    /// The person the identity number names when the caller may not see them: the denied search
    /// is recorded in their access log, the caller finds nothing, as for a number nobody has.
    pub denied: Option<IndividualId>,
}

/// The documents of the plans the caller may see, of the person with `number` and/or with the id
/// `plan`: a plan outside the caller's consent, or of someone else, is simply not among them.
pub fn search(
    conn: &mut DbConn,
    ctx: &Context,
    number: Option<&IdentityNumber>,
    plan: Option<&PlanId>,
) -> Result<DocumentSearch> {
    let today = ctx.today();
    let individual = match number {
        None => None,
        Some(number) => match super::individuals::find_by_identity_number(conn, ctx, number)? {
            Search::Found(record) => Some(record.individual.id),
            Search::NotFound { hidden } => {
                return Ok(DocumentSearch {
                    documents: vec![],
                    denied: hidden,
                })
            }
        },
    };
    let plan_ids: Vec<PlanId> = match plan {
        Some(id) => vec![id.clone()],
        None => {
            let filter = PlanFilter {
                individual_id: individual.clone(),
                ..PlanFilter::default()
            };
            let (records, _) =
                plans::list(conn, ctx, &filter, None, MAX_DOCUMENTS_PER_PERSON, today)?;
            records.into_iter().map(|r| r.plan.id).collect()
        }
    };
    let mut documents = Vec::with_capacity(plan_ids.len());
    for id in plan_ids {
        let document = match load(conn, ctx, &id) {
            Ok(document) => document,
            Err(Error::NotFound(_)) => continue,
            Err(other) => return Err(other),
        };
        if individual
            .as_ref()
            .is_none_or(|i| i.as_str() == document.individual.id)
        {
            documents.push(document);
        }
    }
    Ok(DocumentSearch {
        documents,
        denied: None,
    })
}
