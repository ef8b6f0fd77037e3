//! `/api/v1/plans/{plan_id}/summons`: summons (kallelse) to the SIP meeting, and the answers.

use actix_web::{web, HttpResponse};

use super::extract::{created, ok, IfMatch, Json};
use super::extract::{Reader, Writer};
use crate::db::Db;
use crate::domain::ids::{PlanId, RecipientId, SummonsId};
use crate::domain::process::{NewSummons, SummonsAnswer};
use crate::error::Result;
use crate::service::summons as service;
use crate::views::process::{Summons, SummonsList};

/// Send a summons to the SIP meeting.
///
/// Only while the individual's active consent permits summons, and only to the units and actors it
/// covers (422 names each one that is not). Units of a region or municipality are *summoned*, other
/// actors *invited*. Whether the meeting lies within `MEETING_DEADLINE_DAYS` and, after a
/// discharge, whether the summons went out within `DISCHARGE_SUMMONS_DEADLINE_DAYS` are recorded,
/// not enforced. The plan moves to `summoned`.
#[utoipa::path(
    post, path = "/api/v1/plans/{plan_id}/summons", operation_id = "send_summons", tag = "summons",
    params(("plan_id" = String, Path, format = Uuid, description = "The plan's id")),
    request_body = NewSummons,
    responses(
        (status = 201, description = "Sent", body = Summons, headers(("ETag" = String), ("Location" = String))),
        (status = 404, description = "No such plan"),
        (status = 409, description = "The plan's state forbids it, or no active consent permits summons"),
        (status = 422, description = "A recipient is not covered by the consent, or another rule is broken"),
    )
)]
pub async fn send(
    db: web::Data<Db>,
    ctx: Writer,
    path: web::Path<PlanId>,
    body: Json<NewSummons>,
) -> Result<HttpResponse> {
    let plan_id = path.into_inner();
    let record = db
        .write(move |c| service::send(c, &ctx, &plan_id, body.0))
        .await?;
    let view = Summons::from_record(record)?;
    let location = format!("/api/v1/plans/{}/summons/{}", view.plan_id, view.id);
    Ok(created(location, view.version, &view))
}

/// List a plan's summons with their recipients and answers.
#[utoipa::path(
    get, path = "/api/v1/plans/{plan_id}/summons", operation_id = "list_summons", tag = "summons",
    params(("plan_id" = String, Path, format = Uuid, description = "The plan's id")),
    responses(
        (status = 200, description = "The summons", body = SummonsList),
        (status = 404, description = "No such plan"),
    )
)]
pub async fn list(db: web::Data<Db>, ctx: Reader, path: web::Path<PlanId>) -> Result<HttpResponse> {
    let plan_id = path.into_inner();
    let records = db.read(move |c| service::list(c, &ctx, &plan_id)).await?;
    let items = records
        .into_iter()
        .map(Summons::from_record)
        .collect::<Result<_>>()?;
    Ok(HttpResponse::Ok().json(SummonsList { items }))
}

/// Answer a summons for one recipient: accept (naming who attends), decline (naming a substitute),
/// or forward to another unit of the same principal, which becomes a recipient.
#[utoipa::path(
    post, path = "/api/v1/plans/{plan_id}/summons/{summons_id}/recipients/{recipient_id}/answer",
    operation_id = "answer_summons", tag = "summons",
    params(("plan_id" = String, Path, format = Uuid, description = "The plan's id."), ("summons_id" = String, Path, format = Uuid, description = "The summons' id."), ("recipient_id" = String, Path, format = Uuid, description = "The recipient's id."), ("If-Match" = Option<String>, Header, max_length = 1000, pattern = r#"^\s*(\*|(W/)?"[^"]*"(\s*,\s*(W/)?"[^"]*")*)\s*$"#, description = "The recipient's version (optional)")),
    request_body = SummonsAnswer,
    responses(
        (status = 200, description = "The summons with the answer", body = Summons),
        (status = 404, description = "No such plan, summons or recipient"),
        (status = 409, description = "The plan's state forbids it"),
        (status = 412, description = "The recipient has changed"),
        (status = 422, description = "The answer breaks a rule"),
    )
)]
pub async fn answer(
    db: web::Data<Db>,
    ctx: Writer,
    path: web::Path<(PlanId, SummonsId, RecipientId)>,
    if_match: IfMatch,
    body: Json<SummonsAnswer>,
) -> Result<HttpResponse> {
    let (plan_id, summons_id, recipient_id) = path.into_inner();
    let expected = if_match.optional()?;
    let record = db
        .write(move |c| {
            service::answer(
                c,
                &ctx,
                &plan_id,
                &summons_id,
                &recipient_id,
                expected,
                body.0,
            )
        })
        .await?;
    let view = Summons::from_record(record)?;
    Ok(ok(view.version, &view))
}
