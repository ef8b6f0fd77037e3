//! `/api/v1/individuals`: the people plans are for (den enskilde).

use super::extract::{Reader, Writer};
use crate::domain::calendar::swedish_date;
use crate::domain::ids::IndividualId;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;
use validator::Validate;

use super::extract::{created, ok, IfMatch, Json};
use crate::audit::{AuditTargets, Target};
use crate::db::Db;
use crate::domain::identity::IdentityNumber;
use crate::domain::individual::IndividualInput;
use crate::error::{Error, Result};
use crate::service::individuals as service;
use crate::views::individual::Individual;

/// Finds an individual by identity number; the number travels in the body, never in a URL.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"identity_number": "19121212-1212"}))]
pub struct IndividualSearch {
    /// Personnummer or samordningsnummer, with or without the hyphen.
    #[schema(example = "19121212-1212", pattern = "^[0-9]{8}-?[0-9]{4}$")]
    pub identity_number: String,
}

fn not_registered() -> Error {
    Error::NotFound("no individual is registered with this identity number".into())
}

/// Register an individual.
///
/// A number that is already registered answers 409 when your unit may see the record that has
/// it (find it with the search). A person with protected identity (skyddad identitet) is seen
/// only by the unit that registered her and units that see one of her plans; for every other
/// unit she does not exist, on every operation. Registering her number from such a unit answers
/// 201, exactly as for a number nobody has: the unit gets a record of its own, which no other unit
/// sees unless it sees one of that record's plans, and the attempt is written in her access log.
#[utoipa::path(
    post, path = "/api/v1/individuals", operation_id = "create_individual", tag = "individuals",
    request_body = IndividualInput,
    responses(
        (status = 201, description = "Registered", body = Individual,
         headers(("ETag" = String, description = "The version"), ("Location" = String, description = "The new individual's URL"))),
        (status = 409, description = "An individual your unit may see has this identity number"),
        (status = 422, description = "Invalid identity number, or guardians for an adult"),
    )
)]
pub async fn create(
    db: web::Data<Db>,
    ctx: Writer,
    body: Json<IndividualInput>,
) -> Result<HttpResponse> {
    let now = ctx.now;
    let data = body.0.into_data(swedish_date(now))?;
    let record = db.write(move |c| service::create(c, &ctx, data)).await?;
    let view = Individual::from_record(record, swedish_date(now))?;
    let location = format!("/api/v1/individuals/{}", view.id);
    Ok(created(location, view.version, &view))
}

/// Read an individual.
///
/// A person with protected identity is shown only to the unit that registered her and units that
/// see one of her plans; to any other unit this answers 404, as for an id that does not exist.
#[utoipa::path(
    get, path = "/api/v1/individuals/{individual_id}", operation_id = "get_individual", tag = "individuals",
    params(("individual_id" = String, Path, format = Uuid, description = "The individual's id")),
    responses(
        (status = 200, description = "The individual", body = Individual, headers(("ETag" = String, description = "The version"))),
        (status = 404, description = "No such individual"),
    )
)]
pub async fn get(
    db: web::Data<Db>,
    ctx: Reader,
    path: web::Path<IndividualId>,
) -> Result<HttpResponse> {
    let (id, today) = (path.into_inner(), ctx.today());
    let record = db.read(move |c| service::get(c, &ctx, &id)).await?;
    let view = Individual::from_record(record, today)?;
    Ok(ok(view.version, &view))
}

/// Replace an individual's details (`If-Match` required).
///
/// Guardians are replaced as a whole and get new ids; consents already given keep the guardians'
/// names as they were.
#[utoipa::path(
    put, path = "/api/v1/individuals/{individual_id}", operation_id = "update_individual", tag = "individuals",
    params(
        ("individual_id" = String, Path, format = Uuid, description = "The individual's id"),
        ("If-Match" = String, Header, max_length = 1000, pattern = r#"^\s*(\*|(W/)?"[^"]*"(\s*,\s*(W/)?"[^"]*")*)\s*$"#, description = "The ETag of the version you read"),
    ),
    request_body = IndividualInput,
    responses(
        (status = 200, description = "Updated", body = Individual, headers(("ETag" = String, description = "The new version"))),
        (status = 404, description = "No such individual"),
        (status = 409, description = "Another individual has this identity number"),
        (status = 412, description = "The individual has changed since you read it"),
        (status = 422, description = "A value breaks a rule"),
        (status = 428, description = "If-Match is missing"),
    )
)]
pub async fn update(
    db: web::Data<Db>,
    ctx: Writer,
    path: web::Path<IndividualId>,
    if_match: IfMatch,
    body: Json<IndividualInput>,
) -> Result<HttpResponse> {
    let now = ctx.now;
    let id = path.into_inner();
    let expected = if_match.required()?;
    let data = body.0.into_data(swedish_date(now))?;
    let record = db
        .write(move |c| service::update(c, &ctx, &id, expected, data))
        .await?;
    let view = Individual::from_record(record, swedish_date(now))?;
    Ok(ok(view.version, &view))
}

/// Find an individual by personnummer or samordningsnummer.
///
/// A POST, so that the identity number never appears in a URL, a proxy log or a browser history.
/// A person with protected identity whom your unit may not see is not found (404, as for a number
/// nobody has); the denied search is written in her access log.
#[utoipa::path(
    post, path = "/api/v1/individuals/search", operation_id = "search_individual", tag = "individuals",
    request_body = IndividualSearch,
    responses(
        (status = 200, description = "The individual", body = Individual, headers(("ETag" = String, description = "The version"))),
        (status = 404, description = "No individual has this number"),
        (status = 422, description = "Not a valid identity number"),
    )
)]
pub async fn search(
    db: web::Data<Db>,
    ctx: Reader,
    body: Json<IndividualSearch>,
) -> Result<HttpResponse> {
    let today = ctx.today();
    let number = IdentityNumber::parse(&body.0.identity_number, today)
        .map_err(|m| Error::validation("$.identity_number", m))?;
    let found = db
        .read(move |c| service::find_by_identity_number(c, &ctx, &number))
        .await?;
    // The access log records the read — or the denied search, under the person the caller was not
    // let see, so that "who has tried to find me" can be answered.
    let (mut response, individual_id, action) = match found {
        service::Search::Found(record) => {
            let view = Individual::from_record(*record, today)?;
            let id = view.id.clone();
            (ok(view.version, &view), Some(id), None)
        }
        service::Search::NotFound { hidden } => (
            actix_web::ResponseError::error_response(&not_registered()),
            hidden.map(String::from),
            Some(crate::db::audit::SEARCH_DENIED),
        ),
    };
    if let Some(id) = individual_id {
        response.extensions_mut().insert(AuditTargets(vec![Target {
            action,
            subject: None,
            resource_type: "individuals".into(),
            resource_id: Some(id.clone()),
            plan_id: None,
            individual_id: Some(id),
        }]));
    }
    Ok(response)
}
