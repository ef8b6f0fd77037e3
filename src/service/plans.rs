//! Opening, reading, listing and updating plans.

use super::Context;
use crate::domain::identity::HsaId;
use crate::domain::ids::{IndividualId, PlanId};
use chrono::NaiveDate;

use crate::db::consents as consent_store;
use crate::db::documents::{self, DocumentRows};
use crate::db::plans::{self as store, PlanFilter, PlanRow};
use crate::db::DbConn;
use crate::domain::ensure_version;
use crate::domain::events::{EventType, ResourceType};
use crate::domain::plan::{check_details, PlanAction, PlanDetails, PlanStatus, Transition};
use crate::error::{Error, FieldError, Result};

use super::{journal_of, json_list, naive, Change};
use crate::policy::{plan_reader, PlanReader};

pub use crate::db::plans::PlanRecord;

fn not_found() -> Error {
    Error::NotFound("no plan has this id".into())
}

/// The plan, if the caller may see it (404 otherwise: a plan's existence is itself personal data).
/// The bulk import reaches the plans it imported however their consents stand today.
pub fn load(conn: &mut DbConn, ctx: &Context, id: &PlanId) -> Result<PlanRow> {
    let found = match plan_reader(&ctx.caller) {
        PlanReader::Import => store::find_for_import(conn, id)?,
        PlanReader::Individual => {
            let reach = super::me::reach(conn, ctx)?;
            let records = reach.record_ids();
            store::find_of_individuals(conn, &records, id)?
        }
        PlanReader::Unit(unit) => store::find(conn, unit, id, ctx.today())?,
    };
    found.ok_or_else(not_found)
}

pub fn create(
    conn: &mut DbConn,
    ctx: &Context,
    individual_id: &IndividualId,
    details: PlanDetails,
) -> Result<PlanRecord> {
    let mut errors = check_details(&details, ctx.now);
    // A hidden person (protected identity) is answered for exactly as an unknown id: only units
    // that may already see her open a plan for her.
    if !super::individuals::is_visible(conn, ctx, individual_id)? {
        errors.insert(
            0,
            FieldError::new(
                "$.individual_id",
                "no individual has this id: register the individual first",
            ),
        );
    }
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    let at = naive(ctx.now);
    let plan = PlanRow {
        what_matters: details.what_matters,
        topics_to_avoid: json_list(&details.topics_to_avoid),
        follows_discharge: details.follows_discharge,
        discharge_ready_at: details.discharge_ready_at.map(naive),
        ..PlanRow::opened(
            individual_id.clone(),
            ctx.caller.unit.clone(),
            ctx.caller.principal,
            ctx.caller.subject.clone(),
            details.need_reason,
            at,
        )
    };
    let journal = journal_of(
        ctx,
        at,
        Change {
            event_type: EventType::PlanCreated,
            resource_type: ResourceType::Plan,
            resource_id: &plan.id,
            plan_id: Some(&plan.id),
            version: plan.version,
            from_status: None,
            to_status: Some(PlanStatus::NeedIdentified.as_str()),
            reason: None,
            note: None,
        },
    );
    store::insert_journaled(conn, &plan, journal)?;
    Ok(PlanRecord {
        plan,
        active_consent_until: None,
    })
}

/// The plan as the caller reads it on `today`, with its consent state that day.
pub fn get(conn: &mut DbConn, ctx: &Context, id: &PlanId, today: NaiveDate) -> Result<PlanRecord> {
    Ok(PlanRecord::on(load(conn, ctx, id)?, today))
}

/// [`get`] with the rows of the plan's whole document. A unit's read — the common one — is decided
/// by the same rule as [`get`]'s (`db::plans::visible_to`) in the statement that reads the rows:
/// one round trip on PostgreSQL. The import and an individual read the plan as [`get`] does, then
/// its rows.
pub fn get_with_document_rows(
    conn: &mut DbConn,
    ctx: &Context,
    id: &PlanId,
    today: NaiveDate,
) -> Result<(PlanRecord, DocumentRows)> {
    match plan_reader(&ctx.caller) {
        PlanReader::Unit(unit) => {
            let (plan, rows) =
                documents::visible_plan_with_rows(conn, unit, id, today)?.ok_or_else(not_found)?;
            Ok((PlanRecord::on(plan, today), rows))
        }
        PlanReader::Import | PlanReader::Individual => {
            let plan = get(conn, ctx, id, today)?;
            let rows = documents::of_plan(conn, &plan.plan.id, &plan.plan.individual_id)?;
            Ok((plan, rows))
        }
    }
}

/// One page of plans and the cursor of the next page, if there is one.
pub fn list(
    conn: &mut DbConn,
    ctx: &Context,
    filter: &PlanFilter,
    cursor: Option<&str>,
    limit: i64,
    today: NaiveDate,
) -> Result<(Vec<PlanRecord>, Option<String>)> {
    let plans = store::list(conn, &ctx.caller.unit, filter, cursor, limit + 1, today)?;
    let (plans, next) = super::page(plans, limit, |p| p.id.to_string());
    let records = plans
        .into_iter()
        .map(|plan| PlanRecord::on(plan, today))
        .collect();
    Ok((records, next))
}

pub fn update(
    conn: &mut DbConn,
    ctx: &Context,
    id: &PlanId,
    individual_id: &IndividualId,
    expected_version: Option<crate::domain::Versions>,
    details: PlanDetails,
) -> Result<PlanRecord> {
    let current = load(conn, ctx, id)?;
    current.status.ensure_allows(PlanAction::Update)?;
    ensure_version(&expected_version, current.version)?;
    let mut errors = check_details(&details, ctx.now);
    if *individual_id != current.individual_id {
        errors.insert(
            0,
            FieldError::new(
                "$.individual_id",
                "a plan's individual cannot change: open a new plan for the other individual",
            ),
        );
    }
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    let mut plan = current;
    plan.need_reason = details.need_reason;
    plan.what_matters = details.what_matters;
    plan.topics_to_avoid = json_list(&details.topics_to_avoid);
    plan.follows_discharge = details.follows_discharge;
    plan.discharge_ready_at = details.discharge_ready_at.map(naive);
    save(conn, ctx, &mut plan, EventType::PlanUpdated, None)?;
    Ok(PlanRecord::on(plan, ctx.today()))
}

/// Stores a changed plan with the next version, moving its status when `transition` says so, and
/// records the change. Every write under a plan goes through here, so the plan's version and ETag
/// change whenever anything in it does.
pub fn save(
    conn: &mut DbConn,
    ctx: &Context,
    plan: &mut PlanRow,
    event_type: EventType,
    transition: Option<Transition>,
) -> Result<()> {
    let at = naive(ctx.now);
    plan.version += 1;
    plan.updated_at = at;
    let moved = transition.filter(|t| t.from != t.to);
    if let Some(t) = moved {
        plan.status = t.to;
        if t.to.is_read_only() {
            plan.closed_at = Some(at);
            plan.closing_reason = t.closing_reason;
        }
    }
    let journal = journal_of(
        ctx,
        at,
        Change {
            event_type,
            resource_type: ResourceType::Plan,
            resource_id: &plan.id,
            plan_id: Some(&plan.id),
            version: plan.version,
            from_status: moved.map(|t| t.from.as_str()),
            to_status: moved.map(|t| t.to.as_str()),
            reason: moved.and_then(|t| t.closing_reason).map(|r| r.as_str()),
            note: None,
        },
    );
    // The plan's row with its journal: one statement on PostgreSQL.
    store::update_journaled(conn, plan, journal, super::concurrent_update(plan.version))?;
    if moved.is_some_and(|t| t.to == PlanStatus::Closed) {
        record_units_to_notify(conn, &plan.id)?;
    }
    Ok(())
}

/// Everyone involved must learn that a closed plan no longer applies. Closing notifies nobody by
/// itself yet (the change feed will), but records each unit and actor to tell: those the consents
/// covered, the summons' recipients and the meeting's participating units.
fn record_units_to_notify(conn: &mut DbConn, plan_id: &PlanId) -> Result<()> {
    use crate::db::meetings::{insert_closure_notices, meeting_of, ClosureNoticeRow};
    let mut parties: Vec<(Option<HsaId>, String, crate::domain::Principal)> = Vec::new();
    for consent in consent_store::all_for_plan(conn, plan_id)? {
        for p in consent.parties {
            parties.push((p.hsa_id, p.name, p.principal));
        }
    }
    for summons in crate::db::summons::of_plan(conn, plan_id)? {
        for r in summons.recipients {
            parties.push((r.hsa_id, r.name, r.principal));
        }
    }
    if let Some(meeting) = meeting_of(conn, plan_id)? {
        let participants: Vec<crate::domain::process::Participant> =
            serde_json::from_str(&meeting.participants).map_err(|_| {
                Error::Internal("a stored meeting's participants are not a list of them".into())
            })?;
        for p in participants {
            if let (Some(hsa_id), Some(principal)) = (p.hsa_id, p.principal) {
                parties.push((Some(HsaId::checked(&hsa_id)?), p.name, principal));
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    let rows: Vec<ClosureNoticeRow> = parties
        .into_iter()
        .filter(|(hsa_id, name, _)| {
            seen.insert(match hsa_id {
                Some(unit) => unit.to_string(),
                None => name.trim().to_lowercase(),
            })
        })
        .enumerate()
        .map(|(i, (hsa_id, name, principal))| ClosureNoticeRow {
            plan_id: plan_id.clone(),
            position: i as i32,
            hsa_id,
            name,
            principal,
        })
        .collect();
    insert_closure_notices(conn, &rows)
}

/// A page of the plan's history after the feed position `after`, and the cursor of the next page.
pub fn history(
    conn: &mut DbConn,
    ctx: &Context,
    plan_id: &PlanId,
    after: i64,
    limit: i64,
) -> Result<(Vec<crate::db::events::ChangeEventRow>, Option<String>)> {
    let plan = load(conn, ctx, plan_id)?;
    // The history's cursor is the feed position: events committed before this read get theirs.
    crate::db::events::position_committed(conn)?;
    let events = crate::db::events::page_of_plan(conn, &plan.id, after, limit + 1)?;
    let (events, next) = super::page(events, limit, |e| e.position().to_string());
    Ok((events, next))
}

/// The plan's revisions: number, time, who.
pub fn revisions(
    conn: &mut DbConn,
    ctx: &Context,
    plan_id: &PlanId,
) -> Result<Vec<(i32, chrono::NaiveDateTime, String)>> {
    let plan = load(conn, ctx, plan_id)?;
    crate::db::meetings::revisions_of(conn, &plan.id)
}

/// What the plan said at `revision`, as the stored JSON document.
pub fn revision(
    conn: &mut DbConn,
    ctx: &Context,
    plan_id: &PlanId,
    revision: i32,
) -> Result<String> {
    let plan = load(conn, ctx, plan_id)?;
    crate::db::meetings::revision(conn, &plan.id, revision)?
        .map(|r| r.document)
        .ok_or_else(|| Error::NotFound("this plan has no such revision".into()))
}
