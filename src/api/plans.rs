//! `/api/v1/plans`: coordinated individual plans (SIP).

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::extract::{created, ok, IfMatch, Json};
use super::extract::{Reader, Writer};
use super::pagination;
use crate::audit::{AuditTargets, Target};
use crate::db::plans::PlanFilter;
use crate::db::Db;
use crate::domain::identity::HsaId;
use crate::domain::ids::{IndividualId, PlanId};
use crate::domain::plan::{PlanDetails, PlanStatus};
use crate::error::{Error, Result};
use crate::service::naive;
use crate::service::plans::{self as service};
use crate::views::plan::{Plan, PlanPage};

/// A plan as opened or replaced (the whole representation; `individual_id` cannot change).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "individual_id": "019a8b3c-5d2e-7f10-8a4b-3c2d1e0f9a8b",
    "need_reason": "Psychosis and substance use: needs from psychiatry and social services at once",
    "what_matters": "To get going with work training",
    "topics_to_avoid": ["her brother's illness"],
    "follows_discharge": false
}))]
pub struct PlanInput {
    /// The individual the plan is for (register them first).
    #[schema(format = Uuid)]
    pub individual_id: String,
    /// Why a SIP is needed: which needs call for coordination.
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000)]
    pub need_reason: String,
    /// "Vad är viktigt för dig?" — the long-term goal in the individual's own words.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000, nullable = false)]
    pub what_matters: Option<String>,
    /// Topics that must not be raised at the meeting.
    #[serde(default)]
    #[validate(
        length(max = 20),
        custom(function = "crate::domain::consent::each_text_fits")
    )]
    #[schema(max_items = 20, value_type = Vec<crate::domain::consent::ShortText>)]
    pub topics_to_avoid: Vec<String>,
    /// The plan follows a discharge from in-patient care (lag 2017:612).
    #[serde(default)]
    pub follows_discharge: bool,
    /// When the patient was notified ready for discharge (utskrivningsklar); required with
    /// `follows_discharge`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub discharge_ready_at: Option<DateTime<Utc>>,
}

impl PlanInput {
    fn into_parts(self) -> Result<(IndividualId, PlanDetails)> {
        let individual_id = IndividualId::parse(&self.individual_id).map_err(|_| {
            Error::validation(
                "$.individual_id",
                "must be the UUID of a registered individual",
            )
        })?;
        Ok((
            individual_id,
            PlanDetails {
                need_reason: self.need_reason,
                what_matters: self.what_matters,
                topics_to_avoid: self.topics_to_avoid,
                follows_discharge: self.follows_discharge,
                discharge_ready_at: self
                    .discharge_ready_at
                    .map(crate::domain::truncate_to_micros),
            },
        ))
    }
}

/// Filters and paging of the plan list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PlanListQuery {
    /// Only plans in this state.
    pub status: Option<PlanStatus>,
    /// Only plans for this individual.
    #[param(format = Uuid)]
    pub individual_id: Option<String>,
    /// Only plans initiated by this unit (HSA-id).
    #[param(
        pattern = "^[Ss][Ee][0-9]{10}-[A-Za-z0-9]+$",
        min_length = 14,
        max_length = 31
    )]
    pub initiating_unit: Option<String>,
    /// Only plans changed at or after this time.
    pub updated_since: Option<DateTime<Utc>>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(max_length = 200)]
    pub cursor: Option<String>,
}

impl PlanListQuery {
    fn filter(&self) -> Result<PlanFilter> {
        let individual_id = match &self.individual_id {
            None => None,
            Some(id) => Some(
                IndividualId::parse(id)
                    .map_err(|_| Error::validation("query.individual_id", "must be a UUID"))?,
            ),
        };
        let initiating_unit = match &self.initiating_unit {
            None => None,
            Some(unit) => Some(
                HsaId::parse(unit)
                    .map_err(|m| Error::validation("query.initiating_unit", m))?
                    .into_string(),
            ),
        };
        Ok(PlanFilter {
            status: self.status.map(|s| s.as_str().to_string()),
            individual_id,
            initiating_unit,
            updated_since: self.updated_since.map(naive),
        })
    }
}

/// Open a plan for an individual.
///
/// The plan starts in `need_identified`; the caller's unit (from the token) is the initiating unit.
///
/// Anyone may open a plan for an individual it may see. For a person with protected identity
/// (skyddad identitet) that is the unit that registered her and the units that see one of her
/// plans (the initiating unit, and units an active consent covers): any of them may start a second
/// plan for her. To every other unit her id is unknown: 422 on `$.individual_id`, word for word
/// the answer for an id that does not exist.
#[utoipa::path(
    post, path = "/api/v1/plans", operation_id = "create_plan", tag = "plans",
    request_body = PlanInput,
    responses(
        (status = 201, description = "Opened", body = Plan,
         headers(("ETag" = String, description = "The version"), ("Location" = String, description = "The new plan's URL"))),
        (status = 422, description = "A value breaks a rule (e.g. unknown individual, discharge time missing)"),
    )
)]
pub async fn create(db: web::Data<Db>, ctx: Writer, body: Json<PlanInput>) -> Result<HttpResponse> {
    let (individual_id, details) = body.0.into_parts()?;
    let record = db
        .write(move |c| service::create(c, &ctx, &individual_id, details))
        .await?;
    let view = Plan::from_record(record)?;
    let location = format!("/api/v1/plans/{}", view.id);
    Ok(created(location, view.version, &view))
}

/// Read a plan.
#[utoipa::path(
    get, path = "/api/v1/plans/{plan_id}", operation_id = "get_plan", tag = "plans",
    params(("plan_id" = String, Path, format = Uuid, description = "The plan's id")),
    responses(
        (status = 200, description = "The plan", body = Plan, headers(("ETag" = String, description = "The version"))),
        (status = 404, description = "No such plan"),
    )
)]
pub async fn get(db: web::Data<Db>, ctx: Reader, path: web::Path<PlanId>) -> Result<HttpResponse> {
    let id = path.into_inner();
    let today = ctx.today();
    let record = db.read(move |c| service::get(c, &ctx, &id, today)).await?;
    let view = Plan::from_record(record)?;
    Ok(ok(view.version, &view))
}

/// List plans, oldest first, a page at a time.
#[utoipa::path(
    get, path = "/api/v1/plans", operation_id = "list_plans", tag = "plans",
    params(PlanListQuery),
    responses(
        (status = 200, description = "One page of plans", body = PlanPage),
        (status = 422, description = "A filter value is invalid"),
    )
)]
pub async fn list(
    db: web::Data<Db>,
    ctx: Reader,
    query: super::extract::Query<PlanListQuery>,
) -> Result<HttpResponse> {
    let filter = query.filter()?;
    let limit = pagination::limit(query.limit)?;
    let cursor = pagination::cursor(query.cursor.as_deref())?;
    let today = ctx.today();
    let (records, next_cursor) = db
        .read(move |c| service::list(c, &ctx, &filter, cursor.as_deref(), limit, today))
        .await?;
    let items = records
        .into_iter()
        .map(Plan::from_record)
        .collect::<Result<Vec<_>>>()?;
    let read = AuditTargets(
        items
            .iter()
            .map(|p: &Plan| Target {
                action: None,
                subject: None,
                resource_type: "plans".into(),
                resource_id: Some(p.id.clone()),
                plan_id: Some(p.id.clone()),
                individual_id: Some(p.individual_id.clone()),
            })
            .collect(),
    );
    let count = items.len();
    let mut response = super::extract::page(&PlanPage { items, next_cursor }, count, 1024)?;
    response.extensions_mut().insert(read);
    Ok(response)
}

/// Replace a plan's details (`If-Match` required).
///
/// Only the details change here; the status moves by actions (recording and withdrawing consent, …).
/// A closed or refused plan is read-only (409).
#[utoipa::path(
    put, path = "/api/v1/plans/{plan_id}", operation_id = "update_plan", tag = "plans",
    params(
        ("plan_id" = String, Path, format = Uuid, description = "The plan's id"),
        ("If-Match" = String, Header, max_length = 1000, pattern = r#"^\s*(\*|(W/)?"[^"]*"(\s*,\s*(W/)?"[^"]*")*)\s*$"#, description = "The ETag of the version you read"),
    ),
    request_body = PlanInput,
    responses(
        (status = 200, description = "Updated", body = Plan, headers(("ETag" = String, description = "The new version"))),
        (status = 404, description = "No such plan"),
        (status = 409, description = "The plan is closed or refused"),
        (status = 412, description = "The plan has changed since you read it"),
        (status = 422, description = "A value breaks a rule"),
        (status = 428, description = "If-Match is missing"),
    )
)]
pub async fn update(
    db: web::Data<Db>,
    ctx: Writer,
    path: web::Path<PlanId>,
    if_match: IfMatch,
    body: Json<PlanInput>,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    let expected = if_match.required()?;
    let (individual_id, details) = body.0.into_parts()?;
    let record = db
        .write(move |c| service::update(c, &ctx, &id, &individual_id, expected, details))
        .await?;
    let view = Plan::from_record(record)?;
    Ok(ok(view.version, &view))
}
