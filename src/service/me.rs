//! What an individual does through an e-service (`/api/v1/me`): reads their plans, sees who has
//! read their data, withdraws consent, prepares for the meeting and answers SIP-kollen — for
//! themselves, or for the people they act for (`domain::representation`).
//!
//! Every use case starts from [`reach`]: the people the caller may act for today, worked out from
//! the records at each request, so a guardianship removed or a consent withdrawn ends access at
//! once. A plan outside the reach is 404, word for word the answer for a plan that does not exist.

use chrono::Duration;

use super::{naive, plans, record, Change, Context};
use crate::db::audit::{self as audit_store, AuditFilter, AuditRecord};
use crate::db::consents::{self as consent_store, ConsentRecord};
use crate::db::individuals::{self as individual_store, IndividualRow};
use crate::db::plans::{self as plan_store, PlanRecord};
use crate::db::summons::{self as summons_store, PreparationRow, SummonsRecord};
use crate::db::survey as survey_store;
use crate::db::DbConn;
use crate::domain::events::{EventType, ResourceType};
use crate::domain::identity::IdentityNumber;
use crate::domain::ids::{ConsentId, IndividualId, PlanId, SummonsId};
use crate::domain::plan::PlanAction;
use crate::domain::process::{check_preparation, PreparationInput};
use crate::domain::representation::{may_act_for, ActingAs};
use crate::domain::survey::{self, SurveyAnswer};
use crate::error::{Error, FieldError, Result};
use crate::views::document::PlanDocument;

/// A person the caller may act for, and how.
#[derive(Debug, Clone)]
pub struct Reached {
    /// The person's record (the one that is nobody's own registration, when there is one).
    pub person: IndividualRow,
    /// Every record of the person's identity number: units register a protected person anew.
    pub records: Vec<IndividualId>,
    pub protected_identity: bool,
    pub acting_as: ActingAs,
    /// How the logs name the one acting (`ActingAs::subject`).
    pub subject: String,
}

/// The people the caller may act for today: themselves first, then children, then the people whose
/// legal representative they are.
#[derive(Debug, Clone, Default)]
pub struct Reach(pub Vec<Reached>);

impl Reach {
    pub fn record_ids(&self) -> Vec<IndividualId> {
        self.0.iter().flat_map(|r| r.records.clone()).collect()
    }

    /// The person a record belongs to, if the caller reaches them.
    pub fn of_record(&self, id: &IndividualId) -> Option<&Reached> {
        self.0.iter().find(|r| r.records.contains(id))
    }
}

/// Who the caller may act for, read from the records now.
pub fn reach(conn: &mut DbConn, ctx: &Context) -> Result<Reach> {
    let Some(number) = ctx.caller.person() else {
        return Ok(Reach::default());
    };
    let mut reach = Reach::default();
    let mut candidates: Vec<(ActingAs, String, String)> = vec![(
        ActingAs::Themselves,
        number.as_str().to_string(),
        String::new(),
    )];
    for (guardian_id, child) in individual_store::guarded_by(conn, number.as_str())? {
        candidates.push((ActingAs::Guardian, child.identity_number, guardian_id));
    }
    for (consent_id, person) in
        individual_store::represented_by(conn, number.as_str(), ctx.today())?
    {
        candidates.push((
            ActingAs::LegalRepresentative,
            person.identity_number,
            consent_id,
        ));
    }
    let numbers: Vec<&str> = candidates.iter().map(|(_, n, _)| n.as_str()).collect();
    let registrations = individual_store::registrations_of_numbers(conn, &numbers)?;
    for (acting_as, their_number, entitlement) in candidates {
        // A person is reached in the first capacity that lets the caller act for them
        // (themselves before a guardian, a guardian before a representative).
        let reached_already = reach
            .0
            .iter()
            .any(|r| r.person.identity_number == their_number);
        let Some(records) = registrations.get(&their_number) else {
            continue;
        };
        if reached_already {
            continue;
        }
        if let Some(reached) = person(ctx, acting_as, &their_number, records, &entitlement) {
            reach.0.push(reached);
        }
    }
    Ok(reach)
}

fn person(
    ctx: &Context,
    acting_as: ActingAs,
    number: &str,
    records: &[IndividualRow],
    entitlement: &str,
) -> Option<Reached> {
    let first = records.first()?;
    let identity = IdentityNumber::parse(number, ctx.today()).ok()?;
    let protected_identity = records.iter().any(|r| r.protected_identity);
    if !may_act_for(acting_as, &identity, protected_identity, ctx.today()) {
        return None;
    }
    Some(Reached {
        person: first.clone(),
        records: records.iter().map(|r| r.id.clone()).collect(),
        protected_identity,
        acting_as,
        subject: acting_as.subject(entitlement),
    })
}

/// The most plans the list gives: a person has a handful.
const MAX_PLANS: i64 = 200;

/// The plans of everyone the caller acts for, oldest first, each with whose it is.
pub fn list_plans(conn: &mut DbConn, ctx: &Context) -> Result<Vec<(Reached, PlanRecord)>> {
    let reach = reach(conn, ctx)?;
    let plans = plan_store::of_individuals(conn, &reach.record_ids(), MAX_PLANS)?;
    let today = ctx.today();
    Ok(plans
        .into_iter()
        .filter_map(|plan| {
            let reached = reach.of_record(&plan.individual_id)?.clone();
            Some((reached, PlanRecord::on(plan, today)))
        })
        .collect())
}

/// A plan the caller reaches, and for whom they act on it (404 for any other plan).
fn reached_plan(conn: &mut DbConn, ctx: &Context, plan_id: &PlanId) -> Result<(Reached, Context)> {
    let reach = reach(conn, ctx)?;
    let plan = plan_store::find_of_individuals(conn, &reach.record_ids(), plan_id.as_str())?
        .ok_or_else(|| Error::NotFound("no plan has this id".into()))?;
    let reached = reach
        .of_record(&plan.individual_id)
        .cloned()
        .ok_or_else(|| Error::NotFound("no plan has this id".into()))?;
    let acting = Context {
        caller: ctx.caller.acting_as(reached.subject.clone()),
        ..ctx.clone()
    };
    Ok((reached, acting))
}

/// The plan's document, as the individual is given it, and for whom the caller reads it.
pub fn plan_document(
    conn: &mut DbConn,
    ctx: &Context,
    plan_id: &PlanId,
) -> Result<(Reached, PlanDocument)> {
    let (reached, acting) = reached_plan(conn, ctx, plan_id)?;
    let document = super::documents::load(conn, &acting, plan_id)?;
    Ok((reached, document))
}

/// The consents of a plan the caller reaches.
pub fn consents(
    conn: &mut DbConn,
    ctx: &Context,
    plan_id: &PlanId,
) -> Result<(Reached, Vec<ConsentRecord>)> {
    let (reached, _) = reached_plan(conn, ctx, plan_id)?;
    Ok((
        reached,
        consent_store::all_for_plan(conn, plan_id.as_str())?,
    ))
}

/// Withdraws a consent for the person, with the same effect as a withdrawal staff record: the plan
/// closes, access ends, and the parties learn it from the feed and their webhooks.
pub fn withdraw_consent(
    conn: &mut DbConn,
    ctx: &Context,
    plan_id: &PlanId,
    consent_id: &ConsentId,
    reason: Option<String>,
) -> Result<ConsentRecord> {
    let (_, acting) = reached_plan(conn, ctx, plan_id)?;
    let reason = reason.unwrap_or_else(|| "återkallat av den enskilde i e-tjänst".into());
    super::consents::withdraw(conn, &acting, plan_id, consent_id, None, reason)
}

/// The summons of a plan the caller reaches.
pub fn summons(
    conn: &mut DbConn,
    ctx: &Context,
    plan_id: &PlanId,
) -> Result<(Reached, Vec<SummonsRecord>)> {
    let (reached, _) = reached_plan(conn, ctx, plan_id)?;
    Ok((reached, summons_store::of_plan(conn, plan_id.as_str())?))
}

/// Stores the person's questions for the meeting and whether they bring a support person, before
/// the meeting starts; the invited units see them with the summons.
pub fn prepare(
    conn: &mut DbConn,
    ctx: &Context,
    plan_id: &PlanId,
    summons_id: &SummonsId,
    input: PreparationInput,
) -> Result<SummonsRecord> {
    let (_, acting) = reached_plan(conn, ctx, plan_id)?;
    let plan = plans::load(conn, &acting, plan_id)?;
    plan.status.ensure_allows(PlanAction::PrepareForMeeting)?;
    let summons = summons_store::find(conn, plan_id.as_str(), summons_id.as_str())?
        .ok_or_else(|| Error::NotFound("this plan has no summons with this id".into()))?;
    check_preparation(summons.summons.meeting_at.and_utc(), ctx.now)?;
    let version = summons.preparation.as_ref().map_or(1, |p| p.version + 1);
    let at = naive(ctx.now);
    summons_store::save_preparation(
        conn,
        &PreparationRow {
            summons_id: summons.summons.id.clone(),
            plan_id: plan.id.clone(),
            questions: super::json_list(&input.questions),
            brings_support_person: input.brings_support_person,
            prepared_by: acting.caller.subject.clone(),
            version,
            prepared_at: at,
        },
    )?;
    record(
        conn,
        &acting,
        at,
        Change::of(
            EventType::SummonsPrepared,
            ResourceType::Summons,
            summons.summons.id.as_str(),
            plan.id.as_str(),
            summons.summons.version,
        ),
    )?;
    summons_store::find(conn, plan_id.as_str(), summons_id.as_str())?
        .ok_or_else(|| Error::Internal("a summons just prepared is gone".into()))
}

/// The most accesses one extract gives; the JSON pages through the rest.
pub const MAX_EXTRACT: i64 = 1000;

/// The person's access log (loggutdrag): every access to their record and their plans, by every
/// organisation, after event `after`; `individual` picks one of the people the caller acts for
/// (themselves by default).
pub fn access_log(
    conn: &mut DbConn,
    ctx: &Context,
    individual: Option<&IndividualId>,
    after: i64,
    limit: i64,
) -> Result<(Reached, Vec<AuditRecord>, Option<String>)> {
    let reach = reach(conn, ctx)?;
    let reached = match individual {
        Some(id) => reach.of_record(id),
        None => reach.0.iter().find(|r| r.acting_as == ActingAs::Themselves),
    }
    .cloned()
    .ok_or_else(|| Error::NotFound("no individual has this id".into()))?;
    let mut events: std::collections::BTreeMap<i64, AuditRecord> = Default::default();
    for record in &reached.records {
        let filter = AuditFilter {
            organisation: None,
            individual_id: Some(record.clone()),
            ..Default::default()
        };
        for event in audit_store::list(conn, &filter, after, limit + 1)? {
            events.entry(event.event.id).or_insert(event);
        }
    }
    let rows: Vec<AuditRecord> = events.into_values().collect();
    let (rows, next) = super::page(rows, limit, |r| r.event.id.to_string());
    Ok((reached, rows, next))
}

/// Hands out the one survey code of a plan's meeting, when the meeting offered SIP-kollen. Only
/// the code's hash and the principal kind of the unit that hands it out are kept.
pub fn issue_survey_code(
    conn: &mut DbConn,
    ctx: &Context,
    plan_id: &PlanId,
) -> Result<(String, chrono::NaiveDate)> {
    let plan = plans::load(conn, ctx, plan_id)?;
    let meeting = crate::db::meetings::meeting_of(conn, plan.id.as_str())?
        .ok_or_else(|| Error::NotFound("this plan has no meeting yet".into()))?;
    if !meeting.sip_survey_offered {
        return Err(Error::InvalidState {
            detail: "the meeting did not offer SIP-kollen (sip_survey_offered is false)".into(),
            current_state: "survey_not_offered".into(),
            allowed_actions: vec![],
        });
    }
    if !survey_store::mark_code_issued(conn, &meeting.id)? {
        return Err(Error::InvalidState {
            detail: "this meeting's survey code has already been handed out: one code a meeting"
                .into(),
            current_state: "survey_code_issued".into(),
            allowed_actions: vec![],
        });
    }
    let code = survey::new_code(*uuid::Uuid::new_v4().as_bytes());
    let normalised = survey::normalise_code(&code)
        .ok_or_else(|| Error::Internal("a new survey code does not read back".into()))?;
    let expires_on = ctx.today() + Duration::days(survey::CODE_VALID_DAYS);
    survey_store::insert_code(
        conn,
        &survey::code_hash(&normalised),
        ctx.caller.principal.as_str(),
        expires_on,
    )?;
    // The hand-out is an act on the plan, logged like one; the code itself is in no log.
    audit_store::insert(
        conn,
        &crate::audit::event(
            &ctx.caller,
            naive(ctx.recorded_at),
            "survey_code_issued",
            201,
            crate::audit::Target {
                action: None,
                subject: None,
                resource_type: "meeting".into(),
                resource_id: Some(meeting.id.clone()),
                plan_id: Some(plan.id.to_string()),
                individual_id: None,
            },
        ),
    )?;
    Ok((code, expires_on))
}

/// Stores one answer to SIP-kollen and spends its code. Unknown, expired and spent codes get the
/// same answer, so a code cannot be probed.
pub fn answer_survey(conn: &mut DbConn, ctx: &Context, answer: SurveyAnswer) -> Result<()> {
    let unusable = || {
        Error::Validation(vec![FieldError::new(
            "$.code",
            "is not a survey code that can be used: it may be mistyped, used already, or too old",
        )])
    };
    let code = survey::normalise_code(&answer.code).ok_or_else(unusable)?;
    let principal = survey_store::spend_code(conn, &survey::code_hash(&code), ctx.today())?
        .ok_or_else(unusable)?;
    let [participation, listened_to, language, coordinator, roles_clear, got_plan] =
        answer.scores().map(i32::from);
    survey_store::insert_answer(
        conn,
        &survey_store::AnswerRow {
            // Version 4: random, with no time in it (a v7 id would date the answer to the ms).
            id: uuid::Uuid::new_v4().to_string(),
            month: survey::month_of(ctx.today()),
            principal,
            participation,
            listened_to,
            language,
            coordinator,
            roles_clear,
            got_plan,
        },
    )
}
