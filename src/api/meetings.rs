//! The meeting that establishes the plan, follow-ups, revision and closure.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;
use validator::Validate;

use super::extract::{created, ok, IfMatch, Json};
use super::extract::{Reader, Writer};
use crate::db::Db;
use crate::domain::ids::{FollowUpId, PlanId};
use crate::domain::plan::ClosingReason;
use crate::domain::process::{FollowUpRecord, FollowUpSlot, NewMeeting, RevisionCompletion};
use crate::error::Result;
use crate::service::meetings as service;
use crate::views::plan::Plan;
use crate::views::process::{FollowUp, FollowUpList, Meeting};

/// Closes a plan (avsluta), with the reason.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "coordination_no_longer_needed", "note": "Moved to a nursing home"}))]
pub struct PlanClosure {
    /// Not `consent_withdrawn` or `consent_refused`: those follow from the consent actions.
    pub reason: ClosingReason,
    /// Required for `other`.
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000, nullable = false)]
    pub note: Option<String>,
}

/// Record the SIP meeting: this establishes the plan.
///
/// The meeting needs a leader and a secretary who are two different people, the coordinator, the
/// responsible principal, the attendance of every recipient of the summons, and the first follow-up
/// (in the future). The law's minimum content is checked (422 naming what is missing): at least one
/// intervention, units of both a region and a municipality among the participants. The plan moves to
/// `established` with procedure code AU124 (AU125 after a discharge), and its first revision is kept.
#[utoipa::path(
    post, path = "/api/v1/plans/{plan_id}/meeting", operation_id = "record_meeting", tag = "meeting",
    params(("plan_id" = String, Path, format = Uuid, description = "The plan's id")),
    request_body = NewMeeting,
    responses(
        (status = 200, description = "The established plan", body = Plan, headers(("ETag" = String))),
        (status = 404, description = "No such plan"),
        (status = 409, description = "The plan's state forbids it, or no active consent permits establishing the plan"),
        (status = 422, description = "A rule is broken or minimum content is missing"),
    )
)]
pub async fn record_meeting(
    db: web::Data<Db>,
    ctx: Writer,
    path: web::Path<PlanId>,
    body: Json<NewMeeting>,
) -> Result<HttpResponse> {
    let plan_id = path.into_inner();
    let record = db
        .write(move |c| service::record_meeting(c, &ctx, &plan_id, body.0))
        .await?;
    let view = Plan::from_record(record)?;
    Ok(ok(view.version, &view))
}

/// Hand out the meeting's SIP-kollen code: one code a meeting that offered the survey
/// (`sip_survey_offered`), shown once, to give the individual on paper.
///
/// The service keeps only the code's hash, the principal kind of your unit and the last day it
/// can be used (90 days on) — nothing that ties it to the plan, the meeting or anyone — so the
/// individual's answer (`POST /api/v1/me/survey-answers`) cannot be traced back. A second request
/// for the same meeting is 409: a lost code is not replaced, or one person could answer twice.
#[utoipa::path(
    post, path = "/api/v1/plans/{plan_id}/meeting/survey-code", operation_id = "issue_survey_code", tag = "meeting",
    params(("plan_id" = String, Path, format = Uuid, description = "The plan's id")),
    responses(
        (status = 201, description = "The code to hand out", body = crate::views::me::SurveyCode),
        (status = 404, description = "No such plan, or no meeting yet"),
        (status = 409, description = "The meeting did not offer SIP-kollen, or its code is handed out"),
    )
)]
pub async fn issue_survey_code(
    db: web::Data<Db>,
    ctx: Writer,
    path: web::Path<PlanId>,
) -> Result<HttpResponse> {
    let plan_id = path.into_inner();
    let (code, expires_on) = db
        .write(move |c| crate::service::me::issue_survey_code(c, &ctx, &plan_id))
        .await?;
    Ok(HttpResponse::Created().json(crate::views::me::SurveyCode { code, expires_on }))
}

/// Read the meeting that established the plan.
#[utoipa::path(
    get, path = "/api/v1/plans/{plan_id}/meeting", operation_id = "get_meeting", tag = "meeting",
    params(("plan_id" = String, Path, format = Uuid, description = "The plan's id")),
    responses(
        (status = 200, description = "The meeting", body = Meeting),
        (status = 404, description = "No such plan, or no meeting yet"),
    )
)]
pub async fn get_meeting(
    db: web::Data<Db>,
    ctx: Reader,
    path: web::Path<PlanId>,
) -> Result<HttpResponse> {
    let plan_id = path.into_inner();
    let row = db
        .read(move |c| service::meeting(c, &ctx, &plan_id))
        .await?;
    Ok(HttpResponse::Ok().json(Meeting::from_row(row)?))
}

/// Schedule a further follow-up of an established plan.
#[utoipa::path(
    post, path = "/api/v1/plans/{plan_id}/follow-ups", operation_id = "schedule_follow_up", tag = "follow-ups",
    params(("plan_id" = String, Path, format = Uuid, description = "The plan's id")),
    request_body = FollowUpSlot,
    responses(
        (status = 201, description = "Scheduled", body = FollowUp, headers(("ETag" = String), ("Location" = String))),
        (status = 404, description = "No such plan"),
        (status = 409, description = "The plan's state forbids it"),
        (status = 422, description = "The date is not in the future"),
    )
)]
pub async fn schedule_follow_up(
    db: web::Data<Db>,
    ctx: Writer,
    path: web::Path<PlanId>,
    body: Json<FollowUpSlot>,
) -> Result<HttpResponse> {
    let plan_id = path.into_inner();
    let row = db
        .write(move |c| service::schedule_follow_up(c, &ctx, &plan_id, body.0))
        .await?;
    let view = FollowUp::from_row(row)?;
    let location = format!("/api/v1/plans/{}/follow-ups/{}", view.plan_id, view.id);
    Ok(created(location, view.version, &view))
}

/// List a plan's follow-ups by date.
#[utoipa::path(
    get, path = "/api/v1/plans/{plan_id}/follow-ups", operation_id = "list_follow_ups", tag = "follow-ups",
    params(("plan_id" = String, Path, format = Uuid, description = "The plan's id")),
    responses(
        (status = 200, description = "The follow-ups", body = FollowUpList),
        (status = 404, description = "No such plan"),
    )
)]
pub async fn list_follow_ups(
    db: web::Data<Db>,
    ctx: Reader,
    path: web::Path<PlanId>,
) -> Result<HttpResponse> {
    let plan_id = path.into_inner();
    let rows = db
        .read(move |c| service::follow_ups(c, &ctx, &plan_id))
        .await?;
    Ok(HttpResponse::Ok().json(FollowUpList {
        items: rows
            .into_iter()
            .map(FollowUp::from_row)
            .collect::<Result<_>>()?,
    }))
}

/// Record a held follow-up (AW010).
///
/// Every open goal gets an outcome and every open intervention a review. The decision: `continue`
/// (with the next follow-up), `revise` (the plan moves to `revising`), or `close` (with a reason).
#[utoipa::path(
    post, path = "/api/v1/plans/{plan_id}/follow-ups/{item_id}/record", operation_id = "record_follow_up",
    tag = "follow-ups",
    params(("plan_id" = String, Path, format = Uuid, description = "The plan's id."), ("item_id" = String, Path, format = Uuid, description = "The item's id."), ("If-Match" = Option<String>, Header, max_length = 1000, pattern = r#"^\s*(\*|(W/)?"[^"]*"(\s*,\s*(W/)?"[^"]*")*)\s*$"#, description = "The follow-up's ETag (optional)")),
    request_body = FollowUpRecord,
    responses(
        (status = 200, description = "Recorded", body = FollowUp, headers(("ETag" = String))),
        (status = 404, description = "No such plan or follow-up"),
        (status = 409, description = "The plan's state forbids it, or the follow-up is already recorded"),
        (status = 412, description = "The follow-up has changed"),
        (status = 422, description = "A goal or intervention is left out, or the decision lacks what it needs"),
    )
)]
pub async fn record_follow_up(
    db: web::Data<Db>,
    ctx: Writer,
    path: web::Path<(PlanId, FollowUpId)>,
    if_match: IfMatch,
    body: Json<FollowUpRecord>,
) -> Result<HttpResponse> {
    let (plan_id, id) = path.into_inner();
    let expected = if_match.optional()?;
    let row = db
        .write(move |c| service::record_follow_up(c, &ctx, &plan_id, &id, expected, body.0))
        .await?;
    let view = FollowUp::from_row(row)?;
    Ok(ok(view.version, &view))
}

/// Complete a revision: every intervention open when it began is carried over or cancelled with a
/// reason, the next follow-up is set, and the plan is established again as a new revision (what it
/// said before stays readable under `/revisions`).
#[utoipa::path(
    post, path = "/api/v1/plans/{plan_id}/revision", operation_id = "complete_revision", tag = "plans",
    params(("plan_id" = String, Path, format = Uuid, description = "The plan's id")),
    request_body = RevisionCompletion,
    responses(
        (status = 200, description = "The revised plan", body = Plan, headers(("ETag" = String))),
        (status = 404, description = "No such plan"),
        (status = 409, description = "The plan is not being revised"),
        (status = 422, description = "An intervention is left without a decision, or another rule is broken"),
    )
)]
pub async fn complete_revision(
    db: web::Data<Db>,
    ctx: Writer,
    path: web::Path<PlanId>,
    body: Json<RevisionCompletion>,
) -> Result<HttpResponse> {
    let plan_id = path.into_inner();
    let record = db
        .write(move |c| service::complete_revision(c, &ctx, &plan_id, body.0))
        .await?;
    let view = Plan::from_record(record)?;
    Ok(ok(view.version, &view))
}

/// Close the plan, with a reason (goals met, coordination no longer needed, replaced by a new plan,
/// other with a note). The plan becomes read-only, and the units to tell are recorded.
#[utoipa::path(
    post, path = "/api/v1/plans/{plan_id}/close", operation_id = "close_plan", tag = "plans",
    params(
        ("plan_id" = String, Path, format = Uuid, description = "The plan's id"),
        ("If-Match" = Option<String>, Header, max_length = 1000, pattern = r#"^\s*(\*|(W/)?"[^"]*"(\s*,\s*(W/)?"[^"]*")*)\s*$"#, description = "The plan's ETag (optional)"),
    ),
    request_body = PlanClosure,
    responses(
        (status = 200, description = "The closed plan", body = Plan, headers(("ETag" = String))),
        (status = 404, description = "No such plan"),
        (status = 409, description = "The plan is already closed or refused"),
        (status = 412, description = "The plan has changed"),
        (status = 422, description = "The reason is not one a client gives, or `other` lacks a note"),
    )
)]
pub async fn close(
    db: web::Data<Db>,
    ctx: Writer,
    path: web::Path<PlanId>,
    if_match: IfMatch,
    body: Json<PlanClosure>,
) -> Result<HttpResponse> {
    let plan_id = path.into_inner();
    let expected = if_match.optional()?;
    let PlanClosure { reason, note } = body.0;
    let record = db
        .write(move |c| service::close(c, &ctx, &plan_id, expected, reason, note))
        .await?;
    let view = Plan::from_record(record)?;
    Ok(ok(view.version, &view))
}
