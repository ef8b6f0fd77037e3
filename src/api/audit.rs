//! `/api/v1/audit-events`: the access log, for the `audit` role — who read or changed whose data.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::Auditor;
use crate::db::audit::{AuditFilter, AuditRecord, AuditTargetRow};
use crate::db::Db;
use crate::domain::ids::IndividualId;
use crate::error::{Error, FieldError, Result};
use crate::service::{audit as service, naive};

const CSV: &str = "text/csv";

/// The forms of the access log: JSON (the default), CSV, and FHIR AuditEvents (IHE BALP).
const AUDIT_FORMS: &[&str] = &["application/json", CSV, crate::views::fhir::MEDIA_TYPE];

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Everything read or written about this individual: their own record and all their plans.
    #[param(format = Uuid)]
    pub individual_id: Option<String>,
    /// Only this subject's accesses.
    #[param(max_length = 200)]
    pub subject: Option<String>,
    /// Only this unit's accesses (HSA-id).
    #[param(max_length = 31)]
    pub unit: Option<String>,
    /// From this time (included).
    pub from: Option<DateTime<Utc>>,
    /// Until this time (excluded).
    pub to: Option<DateTime<Utc>>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(max_length = 200)]
    pub cursor: Option<String>,
}

/// One access to personal data (one request, or one change), or a denied attempt. Never changed
/// or deleted.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEvent {
    /// Strictly increasing.
    pub id: i64,
    pub occurred_at: DateTime<Utc>,
    pub subject: String,
    pub unit: String,
    pub principal: String,
    /// `read`, a change's event type (e.g. `plan.created`), a record of the bulk import with all its
    /// changes (`plan.imported`, `plan.reimported`), or the method of a denied attempt.
    pub action: String,
    pub resource_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub resource_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Uuid, nullable = false)]
    pub plan_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Uuid, nullable = false)]
    pub individual_id: Option<String>,
    /// `allowed` or `denied`.
    pub result: String,
    /// The HTTP status answered (writes recorded with their change: 200).
    pub status: i32,
    pub request_id: String,
    /// What the answer showed besides what the request names: each plan of a list, the individual
    /// of a whole plan, a search's match. Filtered by `individual_id`, only those about that
    /// individual.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<AuditTarget>,
}

/// Something an access showed besides what its request names.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditTarget {
    /// `plans`, `individuals`, `deviations`, …
    pub resource_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub resource_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Uuid, nullable = false)]
    pub plan_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Uuid, nullable = false)]
    pub individual_id: Option<String>,
}

impl From<AuditTargetRow> for AuditTarget {
    fn from(t: AuditTargetRow) -> Self {
        AuditTarget {
            resource_type: t.resource_type,
            resource_id: t.resource_id,
            plan_id: t.plan_id,
            individual_id: t.individual_id,
        }
    }
}

impl From<AuditRecord> for AuditEvent {
    fn from(AuditRecord { event: r, targets }: AuditRecord) -> Self {
        AuditEvent {
            id: r.id,
            occurred_at: r.occurred_at.and_utc(),
            subject: r.subject,
            unit: r.unit.into_string(),
            principal: r.principal.as_str().into(),
            action: r.action,
            resource_type: r.resource_type,
            resource_id: r.resource_id,
            plan_id: r.plan_id,
            individual_id: r.individual_id,
            result: r.result,
            status: r.status,
            request_id: r.request_id,
            targets: targets.into_iter().map(AuditTarget::from).collect(),
        }
    }
}

crate::views::page_of!(AuditPage, AuditEvent, "access-log events");

fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

/// One line an access, and one more for each of its targets — the event's columns with the
/// target's resource, plan and individual — so a spreadsheet has a line for everything read.
fn csv(events: &[AuditEvent]) -> String {
    let mut out = String::from(
        "id,occurred_at,subject,unit,principal,action,resource_type,resource_id,plan_id,individual_id,result,status,request_id\r\n",
    );
    for e in events {
        let lines = std::iter::once((
            &e.resource_type,
            &e.resource_id,
            &e.plan_id,
            &e.individual_id,
        ))
        .chain(e.targets.iter().map(|t| {
            (
                &t.resource_type,
                &t.resource_id,
                &t.plan_id,
                &t.individual_id,
            )
        }));
        for (resource_type, resource_id, plan_id, individual_id) in lines {
            let cells = [
                e.id.to_string(),
                e.occurred_at.to_rfc3339(),
                e.subject.clone(),
                e.unit.clone(),
                e.principal.clone(),
                e.action.clone(),
                resource_type.clone(),
                resource_id.clone().unwrap_or_default(),
                plan_id.clone().unwrap_or_default(),
                individual_id.clone().unwrap_or_default(),
                e.result.clone(),
                e.status.to_string(),
                e.request_id.clone(),
            ];
            out += &cells
                .iter()
                .map(|c| csv_field(c))
                .collect::<Vec<_>>()
                .join(",");
            out += "\r\n";
        }
    }
    out
}

/// Query the access log (role `audit`): by individual ("who has read this person's data"), by
/// subject, by unit, by period; oldest first, paged; CSV with `Accept: text/csv`.
///
/// **FHIR** with `Accept: application/fhir+json`: the page as a `searchset` Bundle of FHIR R4
/// `AuditEvent`s following IHE Basic Audit Log Patterns (BALP) — one per access, `meta.profile`
/// naming its BALP profile (PatientRead, PatientQuery, PatientCreate, PatientUpdate), the user and
/// the unit (HSA-id) as agents, the patient (personnummer or samordningsnummer; a person with
/// protected identity by the service's id only), the plan and the request id as entities, outcome 0 or 4 (a refused attempt); a `next` link pages on. For a
/// region's own log follow-up tools.
///
/// **Log follow-up is per organisation** (vårdgivare or municipality), as Swedish patient-data law
/// has it: an `audit` caller sees the accesses made by the units of its own organisation — the
/// part of the HSA-id before the hyphen, `SE2321000016` in `SE2321000016-PSY1` — and nothing
/// else, whichever filters it gives. Another organisation's accesses to the same individual or
/// plan are its own auditors' to follow up. (The individual's own log extract, across
/// organisations, is a separate operation.)
#[utoipa::path(
    get, path = "/api/v1/audit-events", operation_id = "list_audit_events", tag = "audit",
    params(AuditQuery),
    responses(
        (status = 200, description = "One page of the access log", content((AuditPage = "application/json"), (String = "text/csv"), (crate::views::balp::AuditEventBundle = "application/fhir+json"))),
        (status = 406, description = "`Accept` rules out JSON, CSV and FHIR"),
    )
)]
pub async fn list(
    db: web::Data<Db>,
    public_url: web::Data<crate::config::PublicUrl>,
    ctx: Auditor,
    query: super::extract::Query<AuditQuery>,
    req: HttpRequest,
) -> Result<HttpResponse> {
    let individual_id = match &query.individual_id {
        None => None,
        Some(id) => Some(
            IndividualId::parse(id)
                .map_err(|_| Error::validation("query.individual_id", "must be a UUID"))?,
        ),
    };
    let too_long = [
        ("query.subject", query.subject.as_deref(), 200),
        ("query.unit", query.unit.as_deref(), 31),
    ]
    .into_iter()
    .filter(|(_, value, max)| value.is_some_and(|v| v.chars().count() > *max))
    .map(|(field, _, max)| FieldError::new(field, format!("at most {max} characters")))
    .collect::<Vec<_>>();
    if !too_long.is_empty() {
        return Err(Error::Validation(too_long));
    }
    let filter = AuditFilter {
        individual_id,
        subject: query.subject.clone(),
        unit: query.unit.as_deref().map(|u| u.trim().to_ascii_uppercase()),
        from: query.from.map(naive),
        to: query.to.map(naive),
        // The organisation is the caller's: set by the use case.
        ..Default::default()
    };
    let limit = super::pagination::limit(query.limit)?;
    let after = match query.cursor.as_deref() {
        None => 0,
        Some(c) => c.parse::<i64>().map_err(|_| Error::BadRequest {
            detail: "query.cursor: not a cursor from this API".into(),
            errors: vec![FieldError::new(
                "query.cursor",
                "not a cursor from this API",
            )],
        })?,
    };
    let form = super::extract::negotiate(&req, AUDIT_FORMS)?;
    let fhir = form == crate::views::fhir::MEDIA_TYPE;
    let (rows, next_cursor, patients) = db
        .read(move |c| {
            let (rows, next) = service::list(c, &ctx, filter.clone(), after, limit)?;
            let patients = if fhir {
                service::patients_of(c, &rows)?
            } else {
                Default::default()
            };
            Ok((rows, next, patients))
        })
        .await?;
    if fhir {
        let bundle =
            crate::views::balp::bundle(&rows, &patients, &public_url.0, next_cursor.as_deref());
        return Ok(HttpResponse::Ok()
            .content_type(crate::views::fhir::MEDIA_TYPE)
            .json(bundle));
    }
    let items: Vec<AuditEvent> = rows.into_iter().map(AuditEvent::from).collect();
    Ok(if form == CSV {
        HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .body(csv(&items))
    } else {
        HttpResponse::Ok().json(AuditPage { items, next_cursor })
    })
}
