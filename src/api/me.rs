//! `/api/v1/me`: the individual, through an e-service after e-ID login (a token that names the
//! person: see the README's "For e-services"). Only these operations take such a token, and they
//! take no other; every one of them is logged as an access by the individual, or by the guardian
//! or representative acting for them.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::extract::{negotiate, ok, AsIndividual, Json};
use super::records::{printed, DOCUMENT_FORMS, JSON, PLAN_PDF};
use crate::audit::{ActedAs, AuditTargets, Target};
use crate::db::Db;
use crate::domain::ids::{ConsentId, IndividualId, PlanId, SummonsId};
use crate::domain::process::PreparationInput;
use crate::domain::survey::SurveyAnswer;
use crate::error::{Error, Result};
use crate::service::me::{self as service, Reached};
use crate::views::consent::Consent;
use crate::views::me::{
    AccessExtract, Me, MyConsent, MyConsents, MyPlan, MyPlanSummary, MyPlans, MySummons,
    MySummonsList, Person,
};
use crate::views::printout::Printout;
use crate::views::process::Summons;

/// What a read about one person showed: a target of the request's access, which is recorded under
/// the capacity the caller read it in (`ActedAs`).
fn read_of(reached: &Reached, plan_id: Option<String>) -> AuditTargets {
    let mut targets = people_read([(reached, plan_id)]);
    for target in &mut targets.0 {
        target.subject = None;
    }
    targets
}

/// What a read about all the people the caller acts for showed (`/me`, `/me/plans`): each person
/// recorded as an access of its own, under the capacity the caller read them in (themselves, a
/// guardian, a representative), so each person's access log says who read their data.
fn people_read<'a>(
    people: impl IntoIterator<Item = (&'a Reached, Option<String>)>,
) -> AuditTargets {
    AuditTargets(
        people
            .into_iter()
            .map(|(reached, plan_id)| {
                let individual_id = reached.person.id.to_string();
                Target {
                    action: None,
                    subject: Some(reached.subject.clone()),
                    resource_type: if plan_id.is_some() {
                        "plans"
                    } else {
                        "individuals"
                    }
                    .into(),
                    resource_id: plan_id.clone().or_else(|| Some(individual_id.clone())),
                    plan_id,
                    individual_id: Some(individual_id),
                }
            })
            .collect(),
    )
}

/// Who I am to the service: the people I may act for today.
///
/// Yourself from 16; a child under 13 on whose record you are a registered guardian; a person whose
/// standing consent names you, by identity number, as their legal representative. A person with
/// protected identity is reached only by themselves. Empty when you may act for no one.
#[utoipa::path(
    get, path = "/api/v1/me", operation_id = "get_me", tag = "me",
    responses((status = 200, description = "The people you may act for", body = Me)),
)]
pub async fn me(db: web::Data<Db>, ctx: AsIndividual) -> Result<HttpResponse> {
    let reach = db.read(move |c| service::reach(c, &ctx)).await?;
    let acting_for: Vec<Person> = reach
        .0
        .iter()
        .map(|r| Person::of(&r.person, r.acting_as))
        .collect();
    let mut response = HttpResponse::Ok().json(Me { acting_for });
    response
        .extensions_mut()
        .insert(people_read(reach.0.iter().map(|r| (r, None))));
    Ok(response)
}

/// My plans, and those of the people I act for (all of them, oldest first).
#[utoipa::path(
    get, path = "/api/v1/me/plans", operation_id = "list_my_plans", tag = "me",
    responses((status = 200, description = "The plans", body = MyPlans)),
)]
pub async fn plans(db: web::Data<Db>, ctx: AsIndividual) -> Result<HttpResponse> {
    let plans = db.read(move |c| service::list_plans(c, &ctx)).await?;
    let read = people_read(plans.iter().map(|(r, p)| (r, Some(p.plan.id.to_string()))));
    let items = plans
        .iter()
        .map(|(r, p)| MyPlanSummary::of(Person::of(&r.person, r.acting_as), p))
        .collect();
    let mut response = HttpResponse::Ok().json(MyPlans { items });
    response.extensions_mut().insert(read);
    Ok(response)
}

/// Read one of my plans: as JSON, or as the HTML page or PDF a person is given.
///
/// All three say the same, in plain Swedish addressed to the individual: the sections of the plan
/// document (`GET /api/v1/plans/{plan_id}/document`), never the topics not to raise, internal
/// notes or staff-only fields. The JSON is the document's sections, for an e-service to lay out.
#[utoipa::path(
    get, path = "/api/v1/me/plans/{plan_id}", operation_id = "get_my_plan", tag = "me",
    params(("plan_id" = String, Path, format = Uuid, description = "The plan's id")),
    responses(
        (status = 200, description = "The plan", content((MyPlan = "application/json"), (String = "text/html"), (super::records::PdfFile = "application/pdf")),
         headers(("Vary" = String, description = "`Accept`"))),
        (status = 404, description = "Not one of your plans, or those of someone you act for"),
        (status = 406, description = "`Accept` rules out JSON, HTML and PDF"),
    )
)]
pub async fn plan(
    db: web::Data<Db>,
    ctx: AsIndividual,
    req: HttpRequest,
    path: web::Path<PlanId>,
) -> Result<HttpResponse> {
    let form = negotiate(&req, DOCUMENT_FORMS)?;
    let plan_id = path.into_inner();
    let today = ctx.today();
    let (reached, document) = db
        .read(move |c| service::plan_document(c, &ctx, &plan_id))
        .await?;
    let printout = Printout::of(&document, today);
    let mut response = if form == JSON {
        let view = MyPlan {
            id: document.plan.id.clone(),
            person: Person::of(&reached.person, reached.acting_as),
            version: document.plan.version,
            document: printout,
        };
        ok(view.version, &view)
    } else {
        printed(printout, form, PLAN_PDF).await?
    };
    response.headers_mut().insert(
        actix_web::http::header::VARY,
        actix_web::http::header::HeaderValue::from_static("Accept"),
    );
    {
        let mut extensions = response.extensions_mut();
        extensions.insert(read_of(&reached, Some(document.plan.id.clone())));
        extensions.insert(ActedAs(reached.subject));
    }
    Ok(response)
}

/// The consents of one of my plans: who may take part, what is shared, until when.
#[utoipa::path(
    get, path = "/api/v1/me/plans/{plan_id}/consents", operation_id = "list_my_consents", tag = "me",
    params(("plan_id" = String, Path, format = Uuid, description = "The plan's id")),
    responses(
        (status = 200, description = "The consents", body = MyConsents),
        (status = 404, description = "Not one of your plans, or those of someone you act for"),
    )
)]
pub async fn consents(
    db: web::Data<Db>,
    ctx: AsIndividual,
    path: web::Path<PlanId>,
) -> Result<HttpResponse> {
    let plan_id = path.into_inner();
    let today = ctx.today();
    let (reached, records) = db
        .read(move |c| service::consents(c, &ctx, &plan_id))
        .await?;
    let items = records
        .into_iter()
        .map(|r| Consent::from_record(r, today).map(MyConsent::of))
        .collect::<Result<Vec<_>>>()?;
    let mut response = HttpResponse::Ok().json(MyConsents { items });
    response.extensions_mut().insert(ActedAs(reached.subject));
    Ok(response)
}

/// Why the individual withdraws their consent (optional).
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "Jag vill inte längre ha en samordnad plan."}))]
pub struct MyWithdrawal {
    #[serde(default)]
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000, nullable = false)]
    pub reason: Option<String>,
}

/// Withdraw a consent: the same as when staff record it — the plan closes, every unit's access
/// through the consent ends at once, and the parties are told through the change feed and their
/// webhooks.
#[utoipa::path(
    post, path = "/api/v1/me/plans/{plan_id}/consents/{consent_id}/withdraw", operation_id = "withdraw_my_consent", tag = "me",
    params(
        ("plan_id" = String, Path, format = Uuid, description = "The plan's id"),
        ("consent_id" = String, Path, format = Uuid, description = "The consent's id"),
    ),
    request_body = MyWithdrawal,
    responses(
        (status = 200, description = "Withdrawn", body = MyConsent),
        (status = 404, description = "Not one of your plans, or no such consent"),
        (status = 409, description = "The consent is already withdrawn, or was a refusal"),
    )
)]
pub async fn withdraw_consent(
    db: web::Data<Db>,
    ctx: AsIndividual,
    path: web::Path<(PlanId, ConsentId)>,
    body: Json<MyWithdrawal>,
) -> Result<HttpResponse> {
    let (plan_id, consent_id) = path.into_inner();
    let today = ctx.today();
    let record = db
        .write(move |c| service::withdraw_consent(c, &ctx, &plan_id, &consent_id, body.0.reason))
        .await?;
    let view = MyConsent::of(Consent::from_record(record, today)?);
    Ok(ok(view.version, &view))
}

/// The summons of one of my plans: when and where the meeting is, who is invited, why — and what
/// I have written for it.
#[utoipa::path(
    get, path = "/api/v1/me/plans/{plan_id}/summons", operation_id = "list_my_summons", tag = "me",
    params(("plan_id" = String, Path, format = Uuid, description = "The plan's id")),
    responses(
        (status = 200, description = "The summons", body = MySummonsList),
        (status = 404, description = "Not one of your plans, or those of someone you act for"),
    )
)]
pub async fn summons(
    db: web::Data<Db>,
    ctx: AsIndividual,
    path: web::Path<PlanId>,
) -> Result<HttpResponse> {
    let plan_id = path.into_inner();
    let (reached, records) = db
        .read(move |c| service::summons(c, &ctx, &plan_id))
        .await?;
    let items = records
        .into_iter()
        .map(|r| Summons::from_record(r).map(MySummons::of))
        .collect::<Result<Vec<_>>>()?;
    let mut response = HttpResponse::Ok().json(MySummonsList { items });
    response.extensions_mut().insert(ActedAs(reached.subject));
    Ok(response)
}

/// Before the meeting: the questions I want it to answer, and whether I bring a support person.
///
/// Replaces what was written before; the invited units see it with the summons
/// (`individual_preparation`). Only while the plan is summoned and before the meeting starts (409).
#[utoipa::path(
    put, path = "/api/v1/me/plans/{plan_id}/summons/{summons_id}/preparation", operation_id = "prepare_for_my_meeting", tag = "me",
    params(
        ("plan_id" = String, Path, format = Uuid, description = "The plan's id"),
        ("summons_id" = String, Path, format = Uuid, description = "The summons' id"),
    ),
    request_body = PreparationInput,
    responses(
        (status = 200, description = "Saved", body = MySummons),
        (status = 404, description = "Not one of your plans, or no such summons"),
        (status = 409, description = "The meeting has begun, or the plan is past the meeting"),
    )
)]
pub async fn prepare(
    db: web::Data<Db>,
    ctx: AsIndividual,
    path: web::Path<(PlanId, SummonsId)>,
    body: Json<PreparationInput>,
) -> Result<HttpResponse> {
    let (plan_id, summons_id) = path.into_inner();
    let record = db
        .write(move |c| service::prepare(c, &ctx, &plan_id, &summons_id, body.0))
        .await?;
    Ok(HttpResponse::Ok().json(MySummons::of(Summons::from_record(record)?)))
}

/// Whose access log, and which part of it.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AccessLogQuery {
    /// One of the people you act for (`GET /api/v1/me`); yourself when absent.
    #[param(format = Uuid)]
    pub individual_id: Option<String>,
    /// Page size of the JSON, 1 to 1000 (default 100). The HTML and PDF extract the first 1000.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(max_length = 200)]
    pub cursor: Option<String>,
}

/// Who has read my data (loggutdrag): every access to the record and the plans, by every region
/// and municipality, oldest first — when, which unit and what kind of organisation, what kind of
/// access (read, change, search, a refused attempt) and which plan.
///
/// As JSON, or as a printable extract in Swedish (HTML or PDF). Staff are not named (the unit is;
/// the README says why). A person with protected identity gets an extract that names no unit.
#[utoipa::path(
    get, path = "/api/v1/me/access-log", operation_id = "get_my_access_log", tag = "me",
    params(AccessLogQuery),
    responses(
        (status = 200, description = "The extract", content((AccessExtract = "application/json"), (String = "text/html"), (super::records::PdfFile = "application/pdf")),
         headers(("Vary" = String, description = "`Accept`"))),
        (status = 404, description = "Not someone you act for"),
        (status = 406, description = "`Accept` rules out JSON, HTML and PDF"),
    )
)]
pub async fn access_log(
    db: web::Data<Db>,
    ctx: AsIndividual,
    req: HttpRequest,
    query: super::extract::Query<AccessLogQuery>,
) -> Result<HttpResponse> {
    let form = negotiate(&req, DOCUMENT_FORMS)?;
    let individual = match &query.individual_id {
        None => None,
        Some(id) => Some(
            IndividualId::parse(id)
                .map_err(|_| Error::validation("query.individual_id", "must be a UUID"))?,
        ),
    };
    let limit = if form == JSON {
        match query.limit {
            None => 100,
            Some(n @ 1..=1000) => i64::from(n),
            Some(_) => {
                return Err(Error::validation(
                    "query.limit",
                    "must be between 1 and 1000",
                ))
            }
        }
    } else {
        service::MAX_EXTRACT
    };
    let after = super::pagination::position_cursor(query.cursor.as_deref())?.unwrap_or(0);
    let today = ctx.today();
    let (reached, records, next) = db
        .read(move |c| service::access_log(c, &ctx, individual.as_ref(), after, limit))
        .await?;
    let person = Person::of(&reached.person, reached.acting_as);
    let extract = AccessExtract::of(person, reached.protected_identity, records, next);
    let mut response = if form == JSON {
        HttpResponse::Ok().json(&extract)
    } else {
        let more = extract.next_cursor.is_some();
        printed(extract.printout(today, more), form, "loggutdrag.pdf").await?
    };
    response.headers_mut().insert(
        actix_web::http::header::VARY,
        actix_web::http::header::HeaderValue::from_static("Accept"),
    );
    {
        let mut extensions = response.extensions_mut();
        extensions.insert(read_of(&reached, None));
        extensions.insert(ActedAs(reached.subject));
    }
    Ok(response)
}

/// Answer SIP-kollen, the anonymous survey after a SIP meeting, with the code given at the meeting.
///
/// The answer cannot be linked to you, your plan, the meeting or the unit: the service keeps the
/// month, whether a region or a municipality handed out the code, and the six scores — nothing
/// else, and no log line names who answered. A code is spent by its answer; a code that is
/// unknown, used or too old (90 days) gets one and the same 422.
#[utoipa::path(
    post, path = "/api/v1/me/survey-answers", operation_id = "answer_survey", tag = "me",
    request_body = SurveyAnswer,
    responses(
        (status = 204, description = "Received, thank you"),
        (status = 422, description = "A score is outside 1–5, or the code cannot be used"),
    )
)]
pub async fn answer_survey(
    db: web::Data<Db>,
    ctx: AsIndividual,
    body: Json<SurveyAnswer>,
) -> Result<HttpResponse> {
    db.write(move |c| service::answer_survey(c, &ctx, body.0))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
