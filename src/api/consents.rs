//! `/api/v1/plans/{plan_id}/consents`: the individual's consent (samtycke), or its documented refusal.

use super::extract::{Reader, Writer};
use crate::domain::ids::{ConsentId, PlanId};
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;
use validator::Validate;

use super::extract::{created, ok, IfMatch, Json};
use super::pagination::{self, PageQuery};
use crate::db::Db;
use crate::domain::consent::NewConsent;
use crate::error::Result;
use crate::service::consents as service;
use crate::views::consent::{Consent, ConsentPage};

/// Withdraws consent (återkallat samtycke).
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "The individual no longer wants coordinated planning"}))]
pub struct Withdrawal {
    /// Why, as the individual put it.
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000)]
    pub reason: String,
}

/// Record a consent, or a documented refusal, for a plan.
///
/// A given consent moves a new plan to `consented`; a refusal before any consent moves it to
/// `refused` (read-only). Consent is time-limited, names the units and actors it covers and what
/// it permits. A child's consent is given by every registered guardian (or a legal
/// representative); an adult consents themself or through a legal representative.
#[utoipa::path(
    post, path = "/api/v1/plans/{plan_id}/consents", operation_id = "record_consent", tag = "consents",
    params(("plan_id" = String, Path, format = Uuid, description = "The plan's id")),
    request_body = NewConsent,
    responses(
        (status = 201, description = "Recorded", body = Consent,
         headers(("ETag" = String, description = "The version"), ("Location" = String, description = "The consent's URL"))),
        (status = 404, description = "No such plan"),
        (status = 409, description = "The plan's state forbids it (closed, refused, or a refusal after consent was given)"),
        (status = 422, description = "The consent breaks a rule"),
    )
)]
pub async fn create(
    db: web::Data<Db>,
    ctx: Writer,
    path: web::Path<PlanId>,
    body: Json<NewConsent>,
) -> Result<HttpResponse> {
    let plan_id = path.into_inner();
    let consent = body.0;
    let today = ctx.today();
    let record = db
        .write(move |c| service::record_consent(c, &ctx, &plan_id, consent))
        .await?;
    let view = Consent::from_record(record, today)?;
    let location = format!("/api/v1/plans/{}/consents/{}", view.plan_id, view.id);
    Ok(created(location, view.version, &view))
}

/// List a plan's consents, oldest first.
#[utoipa::path(
    get, path = "/api/v1/plans/{plan_id}/consents", operation_id = "list_consents", tag = "consents",
    params(("plan_id" = String, Path, format = Uuid, description = "The plan's id"), PageQuery),
    responses(
        (status = 200, description = "One page of consents", body = ConsentPage),
        (status = 404, description = "No such plan"),
    )
)]
pub async fn list(
    db: web::Data<Db>,
    ctx: Reader,
    path: web::Path<PlanId>,
    query: super::extract::Query<PageQuery>,
) -> Result<HttpResponse> {
    let plan_id = path.into_inner();
    let limit = pagination::limit(query.limit)?;
    let cursor = pagination::cursor(query.cursor.as_deref())?;
    let today = ctx.today();
    let (records, next_cursor) = db
        .read(move |c| service::list(c, &ctx, &plan_id, cursor.as_deref(), limit))
        .await?;
    let items = records
        .into_iter()
        .map(|r| Consent::from_record(r, today))
        .collect::<Result<Vec<_>>>()?;
    Ok(HttpResponse::Ok().json(ConsentPage { items, next_cursor }))
}

/// Read one consent.
#[utoipa::path(
    get, path = "/api/v1/plans/{plan_id}/consents/{consent_id}", operation_id = "get_consent", tag = "consents",
    params(
        ("plan_id" = String, Path, format = Uuid, description = "The plan's id"),
        ("consent_id" = String, Path, format = Uuid, description = "The consent's id"),
    ),
    responses(
        (status = 200, description = "The consent", body = Consent, headers(("ETag" = String, description = "The version"))),
        (status = 404, description = "No such plan or consent"),
    )
)]
pub async fn get(
    db: web::Data<Db>,
    ctx: Reader,
    path: web::Path<(PlanId, ConsentId)>,
) -> Result<HttpResponse> {
    let (plan_id, id) = path.into_inner();
    let today = ctx.today();
    let record = db
        .read(move |c| service::get(c, &ctx, &plan_id, &id))
        .await?;
    let view = Consent::from_record(record, today)?;
    Ok(ok(view.version, &view))
}

/// Withdraw consent: this ends the plan.
///
/// The plan is closed with reason `consent_withdrawn`, and every given consent of the plan is
/// withdrawn with it. `If-Match` (the consent's ETag) is honoured when sent.
#[utoipa::path(
    post, path = "/api/v1/plans/{plan_id}/consents/{consent_id}/withdraw", operation_id = "withdraw_consent", tag = "consents",
    params(
        ("plan_id" = String, Path, format = Uuid, description = "The plan's id"),
        ("consent_id" = String, Path, format = Uuid, description = "The consent's id"),
        ("If-Match" = Option<String>, Header, max_length = 1000, pattern = r#"^\s*(\*|(W/)?"[^"]*"(\s*,\s*(W/)?"[^"]*")*)\s*$"#, description = "The ETag of the consent you read (optional)"),
    ),
    request_body = Withdrawal,
    responses(
        (status = 200, description = "Withdrawn; the plan is closed", body = Consent, headers(("ETag" = String, description = "The new version"))),
        (status = 404, description = "No such plan or consent"),
        (status = 409, description = "The consent is refused or already withdrawn, or the plan is closed"),
        (status = 412, description = "The consent has changed since you read it"),
    )
)]
pub async fn withdraw(
    db: web::Data<Db>,
    ctx: Writer,
    path: web::Path<(PlanId, ConsentId)>,
    if_match: IfMatch,
    body: Json<Withdrawal>,
) -> Result<HttpResponse> {
    let (plan_id, id) = path.into_inner();
    let expected = if_match.optional()?;
    let reason = body.0.reason;
    let today = ctx.today();
    let record = db
        .write(move |c| service::withdraw(c, &ctx, &plan_id, &id, expected, reason))
        .await?;
    let view = Consent::from_record(record, today)?;
    Ok(ok(view.version, &view))
}
