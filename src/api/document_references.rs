//! The national way to fetch a person's plans: a FHIR `DocumentReference` search by patient.

use actix_web::{web, HttpResponse};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::extract::{Form, Query, Reader};
use crate::audit::{AuditTargets, Target};
use crate::config::PublicUrl;
use crate::db::Db;
use crate::domain::identity::{IdentityKind, IdentityNumber};
use crate::domain::ids::PlanId;
use crate::error::{Error, FieldError, Result};
use crate::service::documents::{self, DocumentSearch};
use crate::views::document_reference::{search_bundle, SearchBundle, SIP_CODE};
use crate::views::fhir::{MEDIA_TYPE, PERSONNUMMER, SAMORDNINGSNUMMER, TYPE_OF_CARE_PLAN};

/// FHIR search parameters of `DocumentReference` (token syntax `system|value`).
#[derive(Debug, Deserialize, IntoParams, ToSchema)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
#[schema(example = json!({
    "patient.identifier": "urn:oid:1.2.752.129.2.1.3.1|191212121212",
    "type": "https://fhir.inera.se/CodeSystem/typeofcareplan-cs|SIP"
}))]
pub struct DocumentReferenceQuery {
    /// The person: `urn:oid:1.2.752.129.2.1.3.1|<personnummer>` or
    /// `urn:oid:1.2.752.129.2.1.3.3|<samordningsnummer>` (12 digits; the system may be left out).
    #[serde(rename = "patient.identifier")]
    #[param(
        rename = "patient.identifier",
        max_length = 100,
        example = "urn:oid:1.2.752.129.2.1.3.1|191212121212"
    )]
    #[schema(nullable = false, max_length = 100)]
    pub patient_identifier: Option<String>,
    /// The plan's id (the DocumentReference's id).
    #[serde(rename = "_id")]
    #[param(rename = "_id", max_length = 100)]
    #[schema(nullable = false, max_length = 100)]
    pub id: Option<String>,
    /// The document type: `https://fhir.inera.se/CodeSystem/typeofcareplan-cs|SIP` or `SIP`.
    /// Another type matches nothing.
    #[serde(rename = "type")]
    #[param(rename = "type", max_length = 200)]
    #[schema(nullable = false, max_length = 200)]
    pub document_type: Option<String>,
}

/// Search the plans of a person, as FHIR `DocumentReference`s.
///
/// Inera's way to fetch a care plan: a searchset Bundle with one DocumentReference per plan the
/// caller may see (type SIP of TypeOfCarePlan, the person as subject by personnummer or
/// samordningsnummer, author and custodian the initiating unit by HSA-id, the revision in R5's
/// `version` extension, and PDF and HTML attachments whose `url` is the plan's document
/// operation). Give `patient.identifier`, `_id`, or both. A person the caller may not see is not
/// found, as a number nobody has; the denied search is written in their access log. The identity
/// number is in the query string because FHIR searches put it there: the service logs no query
/// string, at any level — but a proxy in front of it may; `POST …/_search` takes the same
/// parameters as a form, out of every URL.
#[utoipa::path(
    get, path = "/api/v1/fhir/DocumentReference", operation_id = "search_document_references", tag = "plans",
    params(DocumentReferenceQuery),
    responses(
        (status = 200, description = "The matching plans as a FHIR R4 searchset Bundle", body = SearchBundle, content_type = "application/fhir+json"),
        (status = 400, description = "Neither `patient.identifier` nor `_id`, or an unknown parameter"),
        (status = 422, description = "`patient.identifier` is not a personnummer or samordningsnummer of its system"),
    )
)]
pub async fn search(
    db: web::Data<Db>,
    ctx: Reader,
    public_url: web::Data<PublicUrl>,
    query: Query<DocumentReferenceQuery>,
) -> Result<HttpResponse> {
    answer(db, ctx, &public_url, query.0, "query").await
}

/// Search the plans of a person, as FHIR `DocumentReference`s, with the parameters in a form.
///
/// FHIR's `_search` form of the search (`application/x-www-form-urlencoded`, the same parameters
/// and answer): the identity number stays out of every URL, so no proxy or browser history
/// between the client and the service can log it.
#[utoipa::path(
    post, path = "/api/v1/fhir/DocumentReference/_search", operation_id = "search_document_references_by_form", tag = "plans",
    request_body(content = DocumentReferenceQuery, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The matching plans as a FHIR R4 searchset Bundle", body = SearchBundle, content_type = "application/fhir+json"),
        (status = 400, description = "Neither `patient.identifier` nor `_id`, or an unknown parameter"),
        (status = 415, description = "Not a form"),
        (status = 422, description = "`patient.identifier` is not a personnummer or samordningsnummer of its system"),
    )
)]
pub async fn search_by_form(
    db: web::Data<Db>,
    ctx: Reader,
    public_url: web::Data<PublicUrl>,
    form: Form<DocumentReferenceQuery>,
) -> Result<HttpResponse> {
    answer(db, ctx, &public_url, form.0, "body").await
}

/// The searchset for `params`, found in `place` (`query` or `body`, for the field paths of errors).
async fn answer(
    db: web::Data<Db>,
    ctx: Reader,
    public_url: &PublicUrl,
    params: DocumentReferenceQuery,
    place: &str,
) -> Result<HttpResponse> {
    let today = ctx.today();
    let now = ctx.now;
    let number = params
        .patient_identifier
        .as_deref()
        .map(|token| patient(token, today, &format!("{place}.patient.identifier")))
        .transpose()?;
    if number.is_none() && params.id.is_none() {
        return Err(Error::BadRequest {
            detail: "give patient.identifier, _id, or both".into(),
            errors: vec![FieldError::new(place, "give patient.identifier or _id")],
        });
    }
    // A search that cannot match (another type, an id that names no plan, a number of the other
    // kind than its system) is an empty searchset, as FHIR answers it.
    let plan = params.id.as_deref().map(|id| PlanId::parse(id).ok());
    let matches_type = params.document_type.as_deref().is_none_or(is_sip);
    let found = match (number, plan) {
        (Some(None), _) | (_, Some(None)) => DocumentSearch::default(),
        _ if !matches_type => DocumentSearch::default(),
        (number, plan) => {
            let (number, plan) = (number.flatten(), plan.flatten());
            db.read(move |c| documents::search(c, &ctx, number.as_ref(), plan.as_ref()))
                .await?
        }
    };
    let mut targets: Vec<Target> = found
        .documents
        .iter()
        .map(|d| Target {
            action: None,
            subject: None,
            resource_type: "individuals".into(),
            resource_id: Some(d.individual.id.clone()),
            plan_id: Some(d.plan.id.clone()),
            individual_id: Some(d.individual.id.clone()),
        })
        .collect();
    if let Some(hidden) = found.denied {
        let id = String::from(hidden);
        targets.push(Target {
            action: Some(crate::db::audit::SEARCH_DENIED),
            subject: None,
            resource_type: "individuals".into(),
            resource_id: Some(id.clone()),
            plan_id: None,
            individual_id: Some(id),
        });
    }
    let mut response = HttpResponse::Ok()
        .content_type(MEDIA_TYPE)
        .json(search_bundle(&found.documents, now, &public_url.0));
    response.extensions_mut().insert(AuditTargets(targets));
    Ok(response)
}

/// The identity number of a `patient.identifier` token; `None` when it is well-formed but can
/// match nobody (a samordningsnummer under the personnummer system, or the reverse).
fn patient(token: &str, today: NaiveDate, field: &str) -> Result<Option<IdentityNumber>> {
    let (system, value) = match token.split_once('|') {
        Some((system, value)) => (Some(system), value),
        None => (None, token),
    };
    let number = IdentityNumber::parse(value, today).map_err(|_| {
        Error::validation(
            field,
            "must be a personnummer or samordningsnummer, as system|number",
        )
    })?;
    let expected = match system {
        None | Some("") => return Ok(Some(number)),
        Some(PERSONNUMMER) => IdentityKind::Personnummer,
        Some(SAMORDNINGSNUMMER) => IdentityKind::Samordningsnummer,
        Some(_) => {
            return Err(Error::validation(
                field,
                format!("the system must be {PERSONNUMMER} (personnummer) or {SAMORDNINGSNUMMER} (samordningsnummer)"),
            ))
        }
    };
    Ok((number.kind() == expected).then_some(number))
}

/// Whether a `type` token names the SIP type of Inera's TypeOfCarePlan.
fn is_sip(token: &str) -> bool {
    match token.split_once('|') {
        Some((system, code)) => system == TYPE_OF_CARE_PLAN && code == SIP_CODE,
        None => token == SIP_CODE,
    }
}
