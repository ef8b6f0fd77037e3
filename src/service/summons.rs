//! Sending summons and recording the recipients' answers.

use super::Context;
use crate::domain::identity::HsaId;
use crate::domain::ids::{Id, PlanId, RecipientId, SummonsId};
use chrono::NaiveDate;

use super::plans::{load as load_plan, save as save_plan};
use super::{journal_of, json_list, naive, record, Change};
use crate::db::consents as consent_store;
use crate::db::summons::{self as store, RecipientRow, SummonsRecord, SummonsRow};
use crate::db::DbConn;
use crate::domain::consent::PartyKind;
use crate::domain::ensure_version;
use crate::domain::events::{EventType, ResourceType};
use crate::domain::plan::{apply, PlanAction, Step};
use crate::domain::process::{
    check_answer, check_summons, Coverage, NewSummons, Obligation, RecipientState, SummonsAnswer,
};
use crate::error::{Error, Result};

/// What the plan's active consents cover today.
pub fn coverage(conn: &mut DbConn, plan_id: &PlanId, today: NaiveDate) -> Result<Coverage> {
    let mut coverage = Coverage::default();
    for consent in consent_store::active_for_plan(conn, plan_id, today)? {
        coverage.permits_summons |= consent.consent.permits_summons;
        coverage.permits_establishing |= consent.consent.permits_establishing;
        for party in consent.parties {
            match party.hsa_id {
                Some(hsa_id) => coverage.units.insert(hsa_id.into_string()),
                None => coverage.actors.insert(party.name.trim().to_lowercase()),
            };
        }
    }
    Ok(coverage)
}

pub fn send(
    conn: &mut DbConn,
    ctx: &Context,
    plan_id: &PlanId,
    mut input: NewSummons,
) -> Result<SummonsRecord> {
    let mut plan = load_plan(conn, ctx, plan_id)?;
    let status = plan.status;
    status.ensure_allows(PlanAction::SendSummons)?;
    let coverage = coverage(conn, &plan.id, ctx.today())?;
    if !coverage.permits_summons {
        return Err(status.conflict(
            "summons can be sent only while the individual's active consent permits it (send_summons): record a consent first".into(),
        ));
    }
    crate::domain::process::check_room(store::of_plan(conn, &plan.id)?.len(), "summons")?;
    let discharge = plan
        .discharge_ready_at
        .map(|t| t.and_utc())
        .filter(|_| plan.follows_discharge);
    let facts = check_summons(&mut input, &coverage, discharge, ctx.now, ctx.deadlines)
        .map_err(Error::Validation)?;

    let at = naive(ctx.now);
    let id = SummonsId::new();
    let recipients = input
        .recipients
        .iter()
        .enumerate()
        .map(|(i, r)| {
            Ok(RecipientRow {
                id: Id::new(),
                summons_id: id.clone(),
                plan_id: plan.id.clone(),
                position: i as i32,
                kind: r.kind,
                hsa_id: r.hsa_id.as_deref().map(HsaId::checked).transpose()?,
                name: r.name.clone(),
                principal: r.principal,
                obligation: Obligation::of(r.principal),
                answer_by: facts.answer_by,
                response: None,
                attendees: None,
                substitute: None,
                forwarded_from: None,
                answered_at: None,
                answered_by: None,
                attended: None,
                version: 1,
                created_at: at,
                updated_at: at,
            })
        })
        .collect::<Result<_>>()?;
    let summons = SummonsRecord {
        summons: SummonsRow {
            id: id.clone(),
            plan_id: plan.id.clone(),
            purpose: input.purpose,
            questions: json_list(&input.questions),
            meeting_at: naive(crate::domain::truncate_to_micros(input.meeting.starts_at)),
            meeting_place: input.meeting.place,
            meeting_form: input.meeting.form,
            support_person: input.support_person,
            interpreter_language: input.interpreter_language,
            adaptations: input.adaptations,
            sent_at: at,
            sent_by: ctx.caller.subject.clone(),
            sent_by_unit: ctx.caller.unit.clone(),
            meeting_within_deadline: facts.meeting_within_deadline,
            summons_within_discharge_deadline: facts.summons_within_discharge_deadline,
            version: 1,
            created_at: at,
            updated_at: at,
        },
        recipients,
        preparation: None,
    };
    let journal = journal_of(
        ctx,
        at,
        Change::of(
            EventType::SummonsSent,
            ResourceType::Summons,
            &id,
            &plan.id,
            1,
        ),
    );
    store::insert_journaled(conn, &summons, journal)?;
    let moved = apply(status, Step::SendSummons)?;
    save_plan(conn, ctx, &mut plan, EventType::PlanSummoned, Some(moved))?;
    Ok(summons)
}

fn not_found() -> Error {
    Error::NotFound("this plan has no summons with this id".into())
}

/// Records a recipient's answer. A forward adds the named unit as a new recipient.
pub fn answer(
    conn: &mut DbConn,
    ctx: &Context,
    plan_id: &PlanId,
    summons_id: &SummonsId,
    recipient_id: &RecipientId,
    expected_version: Option<crate::domain::Versions>,
    mut input: SummonsAnswer,
) -> Result<SummonsRecord> {
    let mut plan = load_plan(conn, ctx, plan_id)?;
    plan.status.ensure_allows(PlanAction::AnswerSummons)?;
    let summons = store::find(conn, &plan.id, summons_id)?.ok_or_else(not_found)?;
    let mut recipient = summons
        .recipients
        .iter()
        .find(|r| r.id == *recipient_id)
        .cloned()
        .ok_or_else(|| Error::NotFound("this summons has no recipient with this id".into()))?;
    ensure_version(&expected_version, recipient.version)?;
    let state = RecipientState {
        principal: recipient.principal,
        current_response: recipient.response,
        hsa_id: recipient.hsa_id.as_deref(),
    };
    let coverage = coverage(conn, &plan.id, ctx.today())?;
    check_answer(&mut input, &state, &coverage).map_err(Error::Validation)?;

    let at = naive(ctx.now);
    recipient.response = Some(input.response);
    recipient.attendees = (!input.attendees.is_empty()).then(|| json_list(&input.attendees));
    recipient.substitute = input.substitute;
    recipient.answered_at = Some(at);
    recipient.answered_by = Some(ctx.caller.subject.clone());
    recipient.version += 1;
    recipient.updated_at = at;
    let mut change = Change::of(
        EventType::SummonsAnswered,
        ResourceType::SummonsRecipient,
        &recipient.id,
        &plan.id,
        recipient.version,
    );
    change.to_status = Some(input.response.as_str());
    let journal = journal_of(ctx, at, change);
    let lost = super::concurrent_update(recipient.version);
    store::update_recipient(conn, &recipient, journal, lost)?;
    if let Some(unit) = input.forward_to {
        let forwarded = RecipientRow {
            id: Id::new(),
            position: summons
                .recipients
                .iter()
                .map(|r| r.position)
                .max()
                .unwrap_or(0)
                + 1,
            kind: PartyKind::Unit,
            hsa_id: unit.hsa_id.as_deref().map(HsaId::checked).transpose()?,
            name: unit.name,
            obligation: Obligation::of(unit.principal),
            response: None,
            attendees: None,
            substitute: None,
            forwarded_from: Some(recipient.id.to_string()),
            answered_at: None,
            answered_by: None,
            attended: None,
            version: 1,
            created_at: at,
            updated_at: at,
            ..recipient.clone()
        };
        store::insert_recipient(conn, &forwarded)?;
        record(
            conn,
            ctx,
            at,
            Change::of(
                EventType::SummonsForwarded,
                ResourceType::SummonsRecipient,
                &forwarded.id,
                &plan.id,
                1,
            ),
        )?;
    }
    save_plan(conn, ctx, &mut plan, EventType::PlanSummonsAnswered, None)?;
    store::find(conn, &plan.id, summons_id)?.ok_or_else(not_found)
}

pub fn list(conn: &mut DbConn, ctx: &Context, plan_id: &PlanId) -> Result<Vec<SummonsRecord>> {
    let plan = load_plan(conn, ctx, plan_id)?;
    store::of_plan(conn, &plan.id)
}
