//! The whole plan in one read, its history, and what it said at each revision.

use actix_web::{http::header, web, HttpRequest, HttpResponse};
use utoipa::ToSchema;

use super::extract::Reader;
use super::pagination::PageQuery;
use crate::audit::{AuditTargets, Target};
use crate::db::Db;
use crate::domain::ids::PlanId;
use crate::error::{Error, Result};
use crate::service::plans as service;
use crate::views::document::{PlanDocument, RevisionSummary};
use crate::views::printout::{self, Printout};
use crate::views::process::{HistoryEvent, HistoryPage};

/// Read the whole plan in one request: the plan, the individual, consents, summons with answers,
/// the meeting, goals, interventions, follow-ups and, once closed, the units to tell.
///
/// By `Accept`: JSON for systems (the default), or the plan as the individual is given it — in plain
/// Swedish, addressed to them — as one self-contained HTML page (`text/html`, printable on A4) or a
/// PDF/A (`application/pdf`). Both state the interventions grouped by who is responsible (region,
/// municipality, others, the individual), the overall responsibility, the coordinator, the
/// follow-up, the meeting's participants and the consent; never the topics not to raise. Reading
/// any form is an access, logged like the JSON.
#[utoipa::path(
    get, path = "/api/v1/plans/{plan_id}/document", operation_id = "get_plan_document", tag = "plans",
    params(("plan_id" = String, Path, format = Uuid, description = "The plan's id")),
    responses(
        (status = 200, description = "The whole plan", content((PlanDocument = "application/json"), (String = "text/html"), (PdfFile = "application/pdf")),
         headers(("ETag" = String, description = "The plan's version"), ("Vary" = String, description = "`Accept`"))),
        (status = 404, description = "No such plan"),
        (status = 406, description = "`Accept` rules out JSON, HTML and PDF"),
    )
)]
pub async fn document(
    db: web::Data<Db>,
    ctx: Reader,
    req: HttpRequest,
    path: web::Path<PlanId>,
) -> Result<HttpResponse> {
    let form = super::extract::negotiate(&req, DOCUMENT_FORMS)?;
    let plan_id = path.into_inner();
    let today = ctx.today();
    let document = db
        .read(move |c| crate::service::documents::load(c, &ctx, &plan_id))
        .await?;
    let mut response = if form == JSON {
        super::extract::ok(document.plan.version, &document)
    } else {
        let mut response = printed(Printout::of(&document, today), form, PLAN_PDF).await?;
        response.headers_mut().insert(
            header::ETAG,
            header::HeaderValue::from_str(&super::extract::etag(document.plan.version))
                .expect("an ETag is a header value"),
        );
        response
    };
    response
        .headers_mut()
        .insert(header::VARY, header::HeaderValue::from_static("Accept"));
    response.extensions_mut().insert(read_of(&document));
    Ok(response)
}

pub(super) const JSON: &str = "application/json";

/// The forms a plan's document is given in: JSON for systems first, then the individual's.
pub(super) const DOCUMENT_FORMS: &[&str] = &[
    JSON,
    printout::html::MEDIA_TYPE_ESSENCE,
    printout::pdf::MEDIA_TYPE,
];

/// A PDF file: only a schema for the OpenAPI document, never built.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)]
pub struct PdfFile(Vec<u8>);

/// The file name a plan's PDF is offered under.
pub(super) const PLAN_PDF: &str = "samordnad-individuell-plan.pdf";

/// A document as the individual reads it, in `form` (HTML or PDF). The PDF is laid out and its
/// fonts subset off the request threads.
pub(super) async fn printed(
    printout: Printout,
    form: &str,
    filename: &'static str,
) -> Result<HttpResponse> {
    if form == printout::pdf::MEDIA_TYPE {
        let pdf = web::block(move || printout::pdf::render(&printout))
            .await
            .map_err(|e| Error::Internal(format!("the PDF was not written: {e}")))??;
        Ok(HttpResponse::Ok()
            .content_type(printout::pdf::MEDIA_TYPE)
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{filename}\""),
            ))
            .body(pdf))
    } else {
        Ok(HttpResponse::Ok()
            .content_type(printout::html::MEDIA_TYPE)
            // The page is self-contained: nothing may load, and no script may run, whatever a
            // client wrote into the plan.
            .insert_header((
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'",
            ))
            .body(printout::html::render(&printout)))
    }
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
        subject: None,
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
///
/// As JSON, or by `Accept` as the HTML page or PDF the individual was given at that revision
/// (see the plan's document): rendered from what was stored then, so it never shows later changes.
#[utoipa::path(
    get, path = "/api/v1/plans/{plan_id}/revisions/{revision}", operation_id = "get_plan_revision", tag = "plans",
    params(
        ("plan_id" = String, Path, format = Uuid, description = "The plan's id"),
        ("revision" = i32, Path, description = "The revision number, from 1"),
    ),
    responses(
        (status = 200, description = "The plan as it was", content((PlanDocument = "application/json"), (String = "text/html"), (PdfFile = "application/pdf")),
         headers(("Vary" = String, description = "`Accept`"))),
        (status = 404, description = "No such plan or revision"),
        (status = 406, description = "`Accept` rules out JSON, HTML and PDF"),
    )
)]
pub async fn revision(
    db: web::Data<Db>,
    ctx: Reader,
    req: HttpRequest,
    path: web::Path<(PlanId, String)>,
) -> Result<HttpResponse> {
    let form = super::extract::negotiate(&req, DOCUMENT_FORMS)?;
    let (plan_id, number) = path.into_inner();
    let number: i32 = number
        .parse()
        .map_err(|_| Error::NotFound("revisions are numbered from 1".into()))?;
    let today = ctx.today();
    let stored = db
        .read(move |c| service::revision(c, &ctx, &plan_id, number))
        .await?;
    let mut response = if form == JSON {
        HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, JSON))
            .body(stored)
    } else {
        let document: PlanDocument = serde_json::from_str(&stored).map_err(|e| {
            Error::Internal(format!(
                "a stored revision does not read as a plan document: {e}"
            ))
        })?;
        printed(Printout::of(&document, today), form, PLAN_PDF).await?
    };
    response
        .headers_mut()
        .insert(header::VARY, header::HeaderValue::from_static("Accept"));
    Ok(response)
}
