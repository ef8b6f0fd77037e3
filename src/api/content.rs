//! `/api/v1/plans/{plan_id}/goals` and `/interventions`: the plan's content.

use actix_web::{web, HttpResponse};

use super::extract::{created, ok, IfMatch, Json};
use super::extract::{Reader, Writer};
use crate::db::Db;
use crate::domain::ids::{GoalId, InterventionId, PlanId};
use crate::domain::process::{GoalInput, InterventionInput, InterventionStatusChange};
use crate::error::Result;
use crate::service::content as service;
use crate::views::process::{Goal, GoalList, Intervention, InterventionList};

/// Add a goal (a long-term goal, or a sub-goal with `parent_id`). Goals are kept in the order added.
///
/// While the plan is prepared (`consented`, `summoned`) or revised (`revising`).
#[utoipa::path(
    post, path = "/api/v1/plans/{plan_id}/goals", operation_id = "add_goal", tag = "goals",
    params(("plan_id" = String, Path, format = Uuid, description = "The plan's id")),
    request_body = GoalInput,
    responses(
        (status = 201, description = "Added", body = Goal, headers(("ETag" = String), ("Location" = String))),
        (status = 404, description = "No such plan"),
        (status = 409, description = "The plan's state forbids changing its content"),
        (status = 422, description = "A value breaks a rule"),
    )
)]
pub async fn add_goal(
    db: web::Data<Db>,
    ctx: Writer,
    path: web::Path<PlanId>,
    body: Json<GoalInput>,
) -> Result<HttpResponse> {
    let plan_id = path.into_inner();
    let row = db
        .write(move |c| service::add_goal(c, &ctx, &plan_id, body.0))
        .await?;
    let view = Goal::from_row(row)?;
    let location = format!("/api/v1/plans/{}/goals/{}", view.plan_id, view.id);
    Ok(created(location, view.version, &view))
}

/// List a plan's goals in order.
#[utoipa::path(
    get, path = "/api/v1/plans/{plan_id}/goals", operation_id = "list_goals", tag = "goals",
    params(("plan_id" = String, Path, format = Uuid, description = "The plan's id")),
    responses(
        (status = 200, description = "The goals", body = GoalList),
        (status = 404, description = "No such plan"),
    )
)]
pub async fn list_goals(
    db: web::Data<Db>,
    ctx: Reader,
    path: web::Path<PlanId>,
) -> Result<HttpResponse> {
    let plan_id = path.into_inner();
    let rows = db.read(move |c| service::goals(c, &ctx, &plan_id)).await?;
    let items = rows
        .into_iter()
        .map(Goal::from_row)
        .collect::<Result<_>>()?;
    Ok(HttpResponse::Ok().json(GoalList { items }))
}

/// Replace a goal's text, measure and target date (`If-Match` required; the parent cannot change).
#[utoipa::path(
    put, path = "/api/v1/plans/{plan_id}/goals/{item_id}", operation_id = "update_goal", tag = "goals",
    params(("plan_id" = String, Path, format = Uuid, description = "The plan's id."), ("item_id" = String, Path, format = Uuid, description = "The item's id."), ("If-Match" = String, Header, max_length = 1000, pattern = r#"^\s*(\*|(W/)?"[^"]*"(\s*,\s*(W/)?"[^"]*")*)\s*$"#, description = "The goal's ETag")),
    request_body = GoalInput,
    responses(
        (status = 200, description = "Updated", body = Goal, headers(("ETag" = String))),
        (status = 404, description = "No such plan or goal"),
        (status = 409, description = "The plan's state forbids changing its content"),
        (status = 412, description = "The goal has changed"),
        (status = 422, description = "A value breaks a rule"),
        (status = 428, description = "If-Match is missing"),
    )
)]
pub async fn update_goal(
    db: web::Data<Db>,
    ctx: Writer,
    path: web::Path<(PlanId, GoalId)>,
    if_match: IfMatch,
    body: Json<GoalInput>,
) -> Result<HttpResponse> {
    let (plan_id, id) = path.into_inner();
    let expected = if_match.required()?;
    let row = db
        .write(move |c| service::update_goal(c, &ctx, &plan_id, &id, expected, body.0))
        .await?;
    let view = Goal::from_row(row)?;
    Ok(ok(view.version, &view))
}

/// Add an intervention, linked to the goals it serves.
///
/// While the plan is prepared (`consented`, `summoned`) or revised (`revising`).
#[utoipa::path(
    post, path = "/api/v1/plans/{plan_id}/interventions", operation_id = "add_intervention", tag = "interventions",
    params(("plan_id" = String, Path, format = Uuid, description = "The plan's id")),
    request_body = InterventionInput,
    responses(
        (status = 201, description = "Added", body = Intervention, headers(("ETag" = String), ("Location" = String))),
        (status = 404, description = "No such plan"),
        (status = 409, description = "The plan's state forbids changing its content"),
        (status = 422, description = "A value breaks a rule"),
    )
)]
pub async fn add_intervention(
    db: web::Data<Db>,
    ctx: Writer,
    path: web::Path<PlanId>,
    body: Json<InterventionInput>,
) -> Result<HttpResponse> {
    let plan_id = path.into_inner();
    let record = db
        .write(move |c| service::add_intervention(c, &ctx, &plan_id, body.0))
        .await?;
    let view = Intervention::from_record(record)?;
    let location = format!("/api/v1/plans/{}/interventions/{}", view.plan_id, view.id);
    Ok(created(location, view.version, &view))
}

/// List a plan's interventions in order.
#[utoipa::path(
    get, path = "/api/v1/plans/{plan_id}/interventions", operation_id = "list_interventions", tag = "interventions",
    params(("plan_id" = String, Path, format = Uuid, description = "The plan's id")),
    responses(
        (status = 200, description = "The interventions", body = InterventionList),
        (status = 404, description = "No such plan"),
    )
)]
pub async fn list_interventions(
    db: web::Data<Db>,
    ctx: Reader,
    path: web::Path<PlanId>,
) -> Result<HttpResponse> {
    let plan_id = path.into_inner();
    let records = db
        .read(move |c| service::interventions(c, &ctx, &plan_id))
        .await?;
    let items = records
        .into_iter()
        .map(Intervention::from_record)
        .collect::<Result<_>>()?;
    Ok(HttpResponse::Ok().json(InterventionList { items }))
}

/// Replace a planned or ongoing intervention (`If-Match` required).
#[utoipa::path(
    put, path = "/api/v1/plans/{plan_id}/interventions/{item_id}", operation_id = "update_intervention", tag = "interventions",
    params(("plan_id" = String, Path, format = Uuid, description = "The plan's id."), ("item_id" = String, Path, format = Uuid, description = "The item's id."), ("If-Match" = String, Header, max_length = 1000, pattern = r#"^\s*(\*|(W/)?"[^"]*"(\s*,\s*(W/)?"[^"]*")*)\s*$"#, description = "The intervention's ETag")),
    request_body = InterventionInput,
    responses(
        (status = 200, description = "Updated", body = Intervention, headers(("ETag" = String))),
        (status = 404, description = "No such plan or intervention"),
        (status = 409, description = "The plan's or the intervention's state forbids it"),
        (status = 412, description = "The intervention has changed"),
        (status = 422, description = "A value breaks a rule"),
        (status = 428, description = "If-Match is missing"),
    )
)]
pub async fn update_intervention(
    db: web::Data<Db>,
    ctx: Writer,
    path: web::Path<(PlanId, InterventionId)>,
    if_match: IfMatch,
    body: Json<InterventionInput>,
) -> Result<HttpResponse> {
    let (plan_id, id) = path.into_inner();
    let expected = if_match.required()?;
    let record = db
        .write(move |c| service::update_intervention(c, &ctx, &plan_id, &id, expected, body.0))
        .await?;
    let view = Intervention::from_record(record)?;
    Ok(ok(view.version, &view))
}

/// Record an intervention's new status (ongoing, completed, cancelled or not carried out — the last
/// two with a reason). The history keeps every earlier status.
#[utoipa::path(
    post, path = "/api/v1/plans/{plan_id}/interventions/{item_id}/status", operation_id = "change_intervention_status",
    tag = "interventions",
    params(("plan_id" = String, Path, format = Uuid, description = "The plan's id."), ("item_id" = String, Path, format = Uuid, description = "The item's id."), ("If-Match" = Option<String>, Header, max_length = 1000, pattern = r#"^\s*(\*|(W/)?"[^"]*"(\s*,\s*(W/)?"[^"]*")*)\s*$"#, description = "The intervention's ETag (optional)")),
    request_body = InterventionStatusChange,
    responses(
        (status = 200, description = "Recorded", body = Intervention, headers(("ETag" = String))),
        (status = 404, description = "No such plan or intervention"),
        (status = 409, description = "The plan's state forbids it"),
        (status = 412, description = "The intervention has changed"),
        (status = 422, description = "A reason is missing, or the status is final"),
    )
)]
pub async fn change_intervention_status(
    db: web::Data<Db>,
    ctx: Writer,
    path: web::Path<(PlanId, InterventionId)>,
    if_match: IfMatch,
    body: Json<InterventionStatusChange>,
) -> Result<HttpResponse> {
    let (plan_id, id) = path.into_inner();
    let expected = if_match.optional()?;
    let record = db
        .write(move |c| {
            service::change_intervention_status(c, &ctx, &plan_id, &id, expected, body.0)
        })
        .await?;
    let view = Intervention::from_record(record)?;
    Ok(ok(view.version, &view))
}
