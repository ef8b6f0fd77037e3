//! The whole plan in one read, its history, and what it said at each revision.

use actix_web::{http::header, web, HttpResponse};
use utoipa::ToSchema;

use super::extract::Reader;
use super::pagination::PageQuery;
use crate::audit::{AuditTargets, Target};
use crate::db::Db;
use crate::domain::ids::PlanId;
use crate::error::{Error, Result};
use crate::service::plans as service;
use crate::views::document::{PlanDocument, RevisionSummary};
use crate::views::process::{HistoryEvent, HistoryPage};

/// Read the whole plan in one request: the plan, the individual, consents, summons with answers,
/// the meeting, goals, interventions, follow-ups and, once closed, the units to tell.
#[utoipa::path(
    get, path = "/api/v1/plans/{plan_id}/document", operation_id = "get_plan_document", tag = "plans",
    params(("plan_id" = String, Path, format = Uuid, description = "The plan's id")),
    responses(
        (status = 200, description = "The whole plan", body = PlanDocument, headers(("ETag" = String, description = "The plan's version"))),
        (status = 404, description = "No such plan"),
    )
)]
pub async fn document(
    db: web::Data<Db>,
    ctx: Reader,
    path: web::Path<PlanId>,
) -> Result<HttpResponse> {
    let plan_id = path.into_inner();
    let document = db
        .read(move |c| crate::service::documents::load(c, &ctx, &plan_id))
        .await?;
    let mut response = super::extract::ok(document.plan.version, &document);
    response.extensions_mut().insert(read_of(&document));
    Ok(response)
}

/// Read the whole plan as a FHIR R4 Bundle.
///
/// For national services and FHIR-speaking journal systems: `CarePlan` (category `SIP` of Inera's
/// TypeOfCarePlan), the `Patient` (personnummer `urn:oid:1.2.752.129.2.1.3.1`, samordningsnummer
/// `urn:oid:1.2.752.129.2.1.3.3`), `CareTeam`, `Goal`s with their achievement from follow-ups,
/// interventions as `ServiceRequest`s referenced from `CarePlan.activity`, `Consent`s, the meeting
/// and its summons as `Appointment`s, and an `Organization` per unit (HSA-id
/// `urn:oid:1.2.752.129.2.1.4.1`). The README maps each field.
#[utoipa::path(
    get, path = "/api/v1/plans/{plan_id}/fhir", operation_id = "get_plan_fhir", tag = "plans",
    params(("plan_id" = String, Path, format = Uuid, description = "The plan's id")),
    responses(
        (status = 200, description = "The plan as a FHIR R4 Bundle", body = crate::views::fhir::FhirBundle, content_type = "application/fhir+json",
         headers(("ETag" = String, description = "The plan's version"))),
        (status = 404, description = "No such plan"),
    )
)]
pub async fn fhir(db: web::Data<Db>, ctx: Reader, path: web::Path<PlanId>) -> Result<HttpResponse> {
    let plan_id = path.into_inner();
    let document = db
        .read(move |c| crate::service::documents::load(c, &ctx, &plan_id))
        .await?;
    let bundle = crate::views::fhir::bundle(&document);
    let mut response = HttpResponse::Ok()
        .insert_header((header::ETAG, super::extract::etag(document.plan.version)))
        .content_type(crate::views::fhir::MEDIA_TYPE)
        .json(bundle);
    response.extensions_mut().insert(read_of(&document));
    Ok(response)
}

/// What reading a whole plan reads: the individual's data, in the plan.
fn read_of(document: &PlanDocument) -> AuditTargets {
    AuditTargets(vec![Target {
        action: None,
        resource_type: "individuals".into(),
        resource_id: Some(document.individual.id.clone()),
        plan_id: Some(document.plan.id.clone()),
        individual_id: Some(document.individual.id.clone()),
    }])
}

/// The plan's history: every status change of the plan, its summons, goals and interventions, and
/// every other change, in order — who, which unit, when, from, to, why. Never rewritten.
#[utoipa::path(
    get, path = "/api/v1/plans/{plan_id}/history", operation_id = "get_plan_history", tag = "plans",
    params(("plan_id" = String, Path, format = Uuid, description = "The plan's id"), PageQuery),
    responses(
        (status = 200, description = "One page of history", body = HistoryPage),
        (status = 404, description = "No such plan"),
    )
)]
pub async fn history(
    db: web::Data<Db>,
    ctx: Reader,
    path: web::Path<PlanId>,
    query: super::extract::Query<PageQuery>,
) -> Result<HttpResponse> {
    let plan_id = path.into_inner();
    let limit = super::pagination::limit(query.limit)?;
    let after = super::pagination::position_cursor(query.cursor.as_deref())?.unwrap_or(0);
    let (events, next_cursor) = db
        .read(move |c| service::history(c, &ctx, &plan_id, after, limit))
        .await?;
    let items = events.into_iter().map(HistoryEvent::from).collect();
    Ok(HttpResponse::Ok().json(HistoryPage { items, next_cursor }))
}

/// The plan's revisions.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct RevisionList {
    pub items: Vec<RevisionSummary>,
}

/// List the plan's revisions: the first is the plan the meeting established, each later one the
/// plan after a revision.
#[utoipa::path(
    get, path = "/api/v1/plans/{plan_id}/revisions", operation_id = "list_plan_revisions", tag = "plans",
    params(("plan_id" = String, Path, format = Uuid, description = "The plan's id")),
    responses(
        (status = 200, description = "The revisions", body = RevisionList),
        (status = 404, description = "No such plan"),
    )
)]
pub async fn revisions(
    db: web::Data<Db>,
    ctx: Reader,
    path: web::Path<PlanId>,
) -> Result<HttpResponse> {
    let plan_id = path.into_inner();
    let rows = db
        .read(move |c| service::revisions(c, &ctx, &plan_id))
        .await?;
    let items = rows
        .into_iter()
        .map(|(revision, at, by)| RevisionSummary {
            revision,
            established_at: at.and_utc(),
            established_by: by,
        })
        .collect();
    Ok(HttpResponse::Ok().json(RevisionList { items }))
}

/// Read what the plan said at one revision, exactly as it was established.
#[utoipa::path(
    get, path = "/api/v1/plans/{plan_id}/revisions/{revision}", operation_id = "get_plan_revision", tag = "plans",
    params(
        ("plan_id" = String, Path, format = Uuid, description = "The plan's id"),
        ("revision" = i32, Path, description = "The revision number, from 1"),
    ),
    responses(
        (status = 200, description = "The plan as it was", body = PlanDocument),
        (status = 404, description = "No such plan or revision"),
    )
)]
pub async fn revision(
    db: web::Data<Db>,
    ctx: Reader,
    path: web::Path<(PlanId, String)>,
) -> Result<HttpResponse> {
    let (plan_id, number) = path.into_inner();
    let number: i32 = number
        .parse()
        .map_err(|_| Error::NotFound("revisions are numbered from 1".into()))?;
    let document = db
        .read(move |c| service::revision(c, &ctx, &plan_id, number))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .body(document))
}
