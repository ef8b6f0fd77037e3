//! Recording consent (or its refusal) and withdrawing it.

use super::Context;
use crate::domain::identity::HsaId;
use crate::domain::ids::{ConsentId, PlanId};

use crate::db::consents::{self as store, ConsentRecord, ConsentRow, GiverRow, PartyRow};
use crate::db::individuals as individual_store;
use crate::db::DbConn;
use crate::domain::consent::{
    check_new_consent, ConsentOutcome, ConsentSubject, ConsentWindows, NewConsent,
};
use crate::domain::ensure_version;
use crate::domain::events::{EventType, ResourceType};
use crate::domain::identity::IdentityNumber;
use crate::domain::plan::{on_consent_recorded, on_consent_withdrawn};
use crate::error::{Error, Result};

use super::plans::{load as load_plan, save as save_plan};
use super::{journal_of, json_list, naive, record, Change};

fn not_found() -> Error {
    Error::NotFound("this plan has no consent with this id".into())
}

/// Records a consent on a plan and moves the plan: given → `consented`, refused → `refused`.
pub fn record_consent(
    conn: &mut DbConn,
    ctx: &Context,
    plan_id: &PlanId,
    mut consent: NewConsent,
) -> Result<ConsentRecord> {
    let mut plan = load_plan(conn, ctx, plan_id)?;
    let transition = on_consent_recorded(plan.status, consent.outcome == ConsentOutcome::Given)?;

    let individual = individual_store::find(conn, &plan.individual_id)?
        .ok_or_else(|| Error::Internal("a plan refers to a missing individual".into()))?;
    let today = ctx.today();
    let identity_number = IdentityNumber::parse(&individual.identity_number, today)
        .map_err(|_| Error::Internal("a stored identity number does not parse".into()))?;
    let guardians: Vec<(String, String)> = individual_store::guardians_of(conn, &individual.id)?
        .into_iter()
        .map(|g| (g.id, g.name))
        .collect();
    let subject = ConsentSubject {
        identity_number: &identity_number,
        guardians: &guardians,
    };
    check_new_consent(&mut consent, &subject, today).map_err(Error::Validation)?;

    let at = naive(ctx.now);
    let id = ConsentId::new();
    let record_ = ConsentRecord {
        consent: ConsentRow {
            id: id.clone(),
            plan_id: plan.id.clone(),
            outcome: consent.outcome,
            form: consent.form,
            documented_by: consent.documented_by,
            permits_sharing: consent.permissions.share_information,
            permits_summons: consent.permissions.send_summons,
            permits_establishing: consent.permissions.establish_plan,
            permits_relatives: consent.permissions.involve_relatives,
            not_consented_to: json_list(&consent.not_consented_to),
            valid_from: consent.valid_from,
            valid_until: consent.valid_until,
            note: consent.note,
            withdrawn_at: None,
            withdrawal_reason: None,
            recorded_by: ctx.caller.subject.clone(),
            recorded_by_unit: ctx.caller.unit.clone(),
            version: 1,
            created_at: at,
            updated_at: at,
        },
        givers: consent
            .givers
            .into_iter()
            .enumerate()
            .map(|(i, g)| GiverRow {
                consent_id: id.clone(),
                position: i as i32,
                role: g.role,
                guardian_id: g.guardian_id,
                name: g.name,
                representative_kind: g.representative_kind,
                identity_number: g.identity_number,
            })
            .collect(),
        parties: consent
            .covered_parties
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                Ok(PartyRow {
                    consent_id: id.clone(),
                    position: i as i32,
                    kind: p.kind,
                    hsa_id: p.hsa_id.as_deref().map(HsaId::checked).transpose()?,
                    name: p.name,
                    principal: p.principal,
                })
            })
            .collect::<Result<_>>()?,
    };
    let journal = journal_of(
        ctx,
        at,
        Change {
            event_type: EventType::ConsentRecorded,
            resource_type: ResourceType::Consent,
            resource_id: &id,
            plan_id: Some(&plan.id),
            version: 1,
            from_status: None,
            to_status: Some(consent.outcome.as_str()),
            reason: None,
            note: None,
        },
    );
    store::insert_journaled(conn, &record_, journal)?;
    // The plan's row keeps the days its consents hold on, written by the same UPDATE as its status.
    let consent = &record_.consent;
    plan.consent_windows = std::mem::take(&mut plan.consent_windows).with_recorded(
        consent.outcome,
        consent.valid_from,
        consent.valid_until,
    );
    save_plan(
        conn,
        ctx,
        &mut plan,
        EventType::PlanConsentRecorded,
        Some(transition),
    )?;
    Ok(record_)
}

pub fn get(
    conn: &mut DbConn,
    ctx: &Context,
    plan_id: &PlanId,
    id: &ConsentId,
) -> Result<ConsentRecord> {
    let plan = load_plan(conn, ctx, plan_id)?;
    store::find(conn, &plan.id, id)?.ok_or_else(not_found)
}

pub fn list(
    conn: &mut DbConn,
    ctx: &Context,
    plan_id: &PlanId,
    cursor: Option<&str>,
    limit: i64,
) -> Result<(Vec<ConsentRecord>, Option<String>)> {
    let plan = load_plan(conn, ctx, plan_id)?;
    let items = store::list_for_plan(conn, &plan.id, cursor, limit + 1)?;
    let (items, next) = super::page(items, limit, |c| c.consent.id.to_string());
    Ok((items, next))
}

/// Withdraws consent: it ends the plan (status `closed`, reason `consent_withdrawn`). Every given
/// consent of the plan ends with it, since the individual no longer consents to the plan.
pub fn withdraw(
    conn: &mut DbConn,
    ctx: &Context,
    plan_id: &PlanId,
    id: &ConsentId,
    expected_version: Option<crate::domain::Versions>,
    reason: String,
) -> Result<ConsentRecord> {
    let mut plan = load_plan(conn, ctx, plan_id)?;
    let target = store::find(conn, &plan.id, id)?.ok_or_else(not_found)?;
    let state = match (target.consent.outcome.as_str(), target.consent.withdrawn_at) {
        ("refused", _) => Some("refused"),
        (_, Some(_)) => Some("withdrawn"),
        _ => None,
    };
    if let Some(state) = state {
        return Err(Error::InvalidState {
            detail: format!("this consent is {state}: only a given consent can be withdrawn"),
            current_state: state.into(),
            allowed_actions: vec![],
        });
    }
    ensure_version(&expected_version, target.consent.version)?;
    let transition = on_consent_withdrawn(plan.status)?;

    let at = naive(ctx.now);
    // Every given consent ends here, so the plan holds no consent's days any longer.
    plan.consent_windows = ConsentWindows::none();
    for (consent_id, version) in store::withdraw_all(conn, &plan.id, &reason, at)? {
        record(
            conn,
            ctx,
            at,
            Change {
                event_type: EventType::ConsentWithdrawn,
                resource_type: ResourceType::Consent,
                resource_id: &consent_id,
                plan_id: Some(&plan.id),
                version,
                from_status: Some("given"),
                to_status: Some("withdrawn"),
                reason: None,
                note: Some(&reason),
            },
        )?;
    }
    save_plan(
        conn,
        ctx,
        &mut plan,
        EventType::PlanClosed,
        Some(transition),
    )?;
    store::find(conn, &plan.id, id)?.ok_or_else(not_found)
}
