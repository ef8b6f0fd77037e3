//! `/api/v1/deviations`: deviations (avvikelser), seen by the reporting and the concerned unit.

use super::extract::{Reader, Writer};
use crate::domain::calendar::swedish_date;
use crate::domain::ids::{DeviationId, PlanId};
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::extract::{created, ok, IfMatch, Json};
use super::pagination;
use crate::audit::{AuditTargets, Target};
use crate::db::deviations::DeviationFilter;
use crate::db::Db;
use crate::domain::deviation::{Category, DeviationStatus, NewDeviation};
use crate::error::{Error, Result};
use crate::service::deviations::{self as service, Step};
use crate::views::deviation::{Deviation, DeviationPage};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeviationQuery {
    pub status: Option<DeviationStatus>,
    pub category: Option<Category>,
    /// `reported`: those your unit reported; `concerned`: those that concern your unit.
    pub role: Option<DeviationRole>,
    #[param(format = Uuid)]
    pub plan_id: Option<String>,
    /// Only open deviations whose feedback is overdue.
    pub feedback_late: Option<bool>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(max_length = 200)]
    pub cursor: Option<String>,
}

/// The caller's part in a deviation.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeviationRole {
    Reported,
    Concerned,
}

/// Text a step records: a dismissal's reason, the concerned unit's feedback.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"text": "We have changed our routine for answering summons"}))]
pub struct StepText {
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000)]
    pub text: String,
}

/// Closing a deviation: the local analysis and the action taken.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"analysis": "The summons reached the wrong unit", "action_taken": "The unit register is updated"}))]
pub struct DeviationClosure {
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000)]
    pub analysis: String,
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000)]
    pub action_taken: String,
}

/// What the reporting unit may change while a deviation is open.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "description": "The principals disagree on who pays for transport",
    "system_level": true,
    "temporary_division": "The region pays until the dispute is settled"
}))]
pub struct DeviationUpdate {
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000)]
    pub description: String,
    pub system_level: bool,
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000, nullable = false)]
    pub temporary_division: Option<String>,
}

/// Report a deviation. Your unit (from the token) is the reporting unit.
#[utoipa::path(
    post, path = "/api/v1/deviations", operation_id = "report_deviation", tag = "deviations",
    request_body = NewDeviation,
    responses(
        (status = 201, description = "Reported", body = Deviation, headers(("ETag" = String), ("Location" = String))),
        (status = 422, description = "A value breaks a rule (e.g. the category needs a plan your unit can see)"),
    )
)]
pub async fn report(
    db: web::Data<Db>,
    ctx: Writer,
    body: Json<NewDeviation>,
) -> Result<HttpResponse> {
    let now = ctx.now;
    let row = db.write(move |c| service::report(c, &ctx, body.0)).await?;
    let view = Deviation::from_row(row, now)?;
    Ok(created(
        format!("/api/v1/deviations/{}", view.id),
        view.version,
        &view,
    ))
}

/// List the deviations your unit reported or that concern it.
#[utoipa::path(
    get, path = "/api/v1/deviations", operation_id = "list_deviations", tag = "deviations",
    params(DeviationQuery),
    responses((status = 200, description = "One page of deviations", body = DeviationPage))
)]
pub async fn list(
    db: web::Data<Db>,
    ctx: Reader,
    query: super::extract::Query<DeviationQuery>,
) -> Result<HttpResponse> {
    let now = ctx.now;
    let plan_id = match &query.plan_id {
        None => None,
        Some(id) => Some(
            PlanId::parse(id).map_err(|_| Error::validation("query.plan_id", "must be a UUID"))?,
        ),
    };
    let filter = DeviationFilter {
        status: query.status.map(|s| s.as_str().to_string()),
        category: query.category.map(|c| c.as_str().to_string()),
        reported_by_me: query.role.map(|r| matches!(r, DeviationRole::Reported)),
        plan_id,
        feedback_missing_before: query
            .feedback_late
            .unwrap_or(false)
            .then(|| swedish_date(now)),
    };
    let limit = pagination::limit(query.limit)?;
    let cursor = pagination::cursor(query.cursor.as_deref())?;
    let (rows, next_cursor) = db
        .read(move |c| service::list(c, &ctx, &filter, cursor.as_deref(), limit))
        .await?;
    let items: Vec<Deviation> = rows
        .into_iter()
        .map(|r| Deviation::from_row(r, now))
        .collect::<Result<_>>()?;
    let read = AuditTargets(
        items
            .iter()
            .map(|d: &Deviation| Target {
                action: None,
                subject: None,
                resource_type: "deviations".into(),
                resource_id: Some(d.id.clone()),
                plan_id: d.plan_id.clone(),
                individual_id: None,
            })
            .collect(),
    );
    let mut response = HttpResponse::Ok().json(DeviationPage { items, next_cursor });
    response.extensions_mut().insert(read);
    Ok(response)
}

/// Read a deviation (your unit reported it or it concerns your unit).
#[utoipa::path(
    get, path = "/api/v1/deviations/{deviation_id}", operation_id = "get_deviation", tag = "deviations",
    params(("deviation_id" = String, Path, format = Uuid, description = "The deviation's id")),
    responses(
        (status = 200, description = "The deviation", body = Deviation, headers(("ETag" = String))),
        (status = 404, description = "No such deviation visible to your unit"),
    )
)]
pub async fn get(
    db: web::Data<Db>,
    ctx: Reader,
    path: web::Path<DeviationId>,
) -> Result<HttpResponse> {
    let now = ctx.now;
    let id = path.into_inner();
    let row = db.read(move |c| service::get(c, &ctx, &id)).await?;
    let view = Deviation::from_row(row, now)?;
    Ok(ok(view.version, &view))
}

async fn step(
    db: web::Data<Db>,
    ctx: Writer,
    id: DeviationId,
    if_match: IfMatch,
    step: Step,
) -> Result<HttpResponse> {
    let now = ctx.now;
    let expected = match step {
        Step::Update { .. } => if_match.required()?,
        _ => if_match.optional()?,
    };
    let row = db
        .write(move |c| service::act(c, &ctx, &id, expected, step))
        .await?;
    let view = Deviation::from_row(row, now)?;
    Ok(ok(view.version, &view))
}

/// Change an open deviation's description, system-level flag and temporary division of
/// responsibility (reporting unit; `If-Match` required).
#[utoipa::path(
    put, path = "/api/v1/deviations/{deviation_id}", operation_id = "update_deviation", tag = "deviations",
    params(
        ("deviation_id" = String, Path, format = Uuid, description = "The deviation's id"),
        ("If-Match" = String, Header, max_length = 1000, pattern = r#"^\s*(\*|(W/)?"[^"]*"(\s*,\s*(W/)?"[^"]*")*)\s*$"#, description = "The deviation's ETag"),
    ),
    request_body = DeviationUpdate,
    responses(
        (status = 200, description = "Updated", body = Deviation, headers(("ETag" = String))),
        (status = 404, description = "No such deviation visible to your unit"),
        (status = 409, description = "The deviation is closed or dismissed"),
        (status = 412, description = "The deviation has changed"),
        (status = 428, description = "If-Match is missing"),
    )
)]
pub async fn update(
    db: web::Data<Db>,
    ctx: Writer,
    path: web::Path<DeviationId>,
    if_match: IfMatch,
    body: Json<DeviationUpdate>,
) -> Result<HttpResponse> {
    let DeviationUpdate {
        description,
        system_level,
        temporary_division,
    } = body.0;
    step(
        db,
        ctx,
        path.into_inner(),
        if_match,
        Step::Update {
            description,
            system_level,
            temporary_division,
        },
    )
    .await
}

/// Confirm a deviation the service filed automatically (reporting unit): `suggested` → `reported`.
#[utoipa::path(
    post, path = "/api/v1/deviations/{deviation_id}/confirm", operation_id = "confirm_deviation", tag = "deviations",
    params(("deviation_id" = String, Path, format = Uuid, description = "The deviation's id")),
    responses(
        (status = 200, description = "Confirmed", body = Deviation),
        (status = 404, description = "No such deviation visible to your unit"),
        (status = 409, description = "The status forbids it"),
    )
)]
pub async fn confirm(
    db: web::Data<Db>,
    ctx: Writer,
    path: web::Path<DeviationId>,
    if_match: IfMatch,
) -> Result<HttpResponse> {
    step(db, ctx, path.into_inner(), if_match, Step::Confirm).await
}

/// Dismiss a suggested deviation, with the reason (reporting unit): `suggested` → `dismissed`.
#[utoipa::path(
    post, path = "/api/v1/deviations/{deviation_id}/dismiss", operation_id = "dismiss_deviation", tag = "deviations",
    params(("deviation_id" = String, Path, format = Uuid, description = "The deviation's id")),
    request_body = StepText,
    responses(
        (status = 200, description = "Dismissed", body = Deviation),
        (status = 404, description = "No such deviation visible to your unit"),
        (status = 409, description = "The status forbids it"),
    )
)]
pub async fn dismiss(
    db: web::Data<Db>,
    ctx: Writer,
    path: web::Path<DeviationId>,
    if_match: IfMatch,
    body: Json<StepText>,
) -> Result<HttpResponse> {
    step(
        db,
        ctx,
        path.into_inner(),
        if_match,
        Step::Dismiss {
            reason: body.0.text,
        },
    )
    .await
}

/// Start the investigation (either unit): `reported` → `under_investigation`.
#[utoipa::path(
    post, path = "/api/v1/deviations/{deviation_id}/investigate", operation_id = "investigate_deviation", tag = "deviations",
    params(("deviation_id" = String, Path, format = Uuid, description = "The deviation's id")),
    responses(
        (status = 200, description = "Under investigation", body = Deviation),
        (status = 404, description = "No such deviation visible to your unit"),
        (status = 409, description = "The status forbids it"),
    )
)]
pub async fn investigate(
    db: web::Data<Db>,
    ctx: Writer,
    path: web::Path<DeviationId>,
    if_match: IfMatch,
) -> Result<HttpResponse> {
    step(db, ctx, path.into_inner(), if_match, Step::Investigate).await
}

/// Give the feedback the concerned unit owes (concerned unit only).
#[utoipa::path(
    post, path = "/api/v1/deviations/{deviation_id}/feedback", operation_id = "give_deviation_feedback", tag = "deviations",
    params(("deviation_id" = String, Path, format = Uuid, description = "The deviation's id")),
    request_body = StepText,
    responses(
        (status = 200, description = "Recorded", body = Deviation),
        (status = 403, description = "Your unit is not the concerned unit"),
        (status = 404, description = "No such deviation visible to your unit"),
        (status = 409, description = "The status forbids it"),
    )
)]
pub async fn feedback(
    db: web::Data<Db>,
    ctx: Writer,
    path: web::Path<DeviationId>,
    if_match: IfMatch,
    body: Json<StepText>,
) -> Result<HttpResponse> {
    step(
        db,
        ctx,
        path.into_inner(),
        if_match,
        Step::Feedback {
            feedback: body.0.text,
        },
    )
    .await
}

/// Close the deviation with the analysis and the action taken (reporting unit).
#[utoipa::path(
    post, path = "/api/v1/deviations/{deviation_id}/close", operation_id = "close_deviation", tag = "deviations",
    params(("deviation_id" = String, Path, format = Uuid, description = "The deviation's id")),
    request_body = DeviationClosure,
    responses(
        (status = 200, description = "Closed", body = Deviation),
        (status = 403, description = "Your unit is not the reporting unit"),
        (status = 404, description = "No such deviation visible to your unit"),
        (status = 409, description = "The status forbids it"),
    )
)]
pub async fn close(
    db: web::Data<Db>,
    ctx: Writer,
    path: web::Path<DeviationId>,
    if_match: IfMatch,
    body: Json<DeviationClosure>,
) -> Result<HttpResponse> {
    let DeviationClosure {
        analysis,
        action_taken,
    } = body.0;
    step(
        db,
        ctx,
        path.into_inner(),
        if_match,
        Step::Close {
            analysis,
            action_taken,
        },
    )
    .await
}
