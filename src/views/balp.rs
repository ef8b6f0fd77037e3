//! The access log as FHIR R4 `AuditEvent`s following IHE Basic Audit Log Patterns (BALP), for a
//! region's own log follow-up tools: one AuditEvent per access, in a `searchset` Bundle.
//!
//! - `type` is a RESTful operation and `subtype` its interaction (read, search, create, update);
//!   `action` is BALP's R, E, C or U; `outcome` 0 (success) or 4 (a refused attempt).
//! - `agent`: the acting user (by HSA-id when the subject is one), with the requesting unit as the
//!   organisation it acts for (`agent.who` of the unit, by HSA-id), and the service as the server.
//! - `entity`: the patient (by personnummer or samordningsnummer, and the service's id; by the id
//!   only for a person with protected identity), the plan,
//!   and each further target the access showed (a list's plans), with the request id as the
//!   transaction (`entity.what.identifier` of type `XcorrelationId`).
//! - `meta.profile` names the BALP profile each event follows (PatientRead, PatientQuery,
//!   PatientCreate, PatientUpdate; the non-patient Read/Query/Create/Update where no patient is named).

use std::collections::HashMap;

use serde::Serialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::fhir::{HSA_ID, PERSONNUMMER, SAMORDNINGSNUMMER};
use crate::db::audit::AuditRecord;
use crate::domain::access::Interaction;
use crate::domain::identity::{HsaId, IdentityKind};

const BALP: &str = "https://profiles.ihe.net/ITI/BALP/StructureDefinition/";

/// BALP's codes for an interaction: (subtype code, action code, profile without and with a
/// patient).
fn codes(interaction: Interaction) -> (&'static str, &'static str, &'static str, &'static str) {
    match interaction {
        Interaction::Read => (
            "read",
            "R",
            "IHE.BasicAudit.Read",
            "IHE.BasicAudit.PatientRead",
        ),
        Interaction::Search => (
            "search",
            "E",
            "IHE.BasicAudit.Query",
            "IHE.BasicAudit.PatientQuery",
        ),
        Interaction::Create => (
            "create",
            "C",
            "IHE.BasicAudit.Create",
            "IHE.BasicAudit.PatientCreate",
        ),
        Interaction::Update => (
            "update",
            "U",
            "IHE.BasicAudit.Update",
            "IHE.BasicAudit.PatientUpdate",
        ),
    }
}

/// Who the patients of a page of accesses are.
#[derive(Default)]
pub struct Patients {
    /// The identity number of each individual, by the service's id.
    pub numbers: HashMap<String, PatientNumber>,
    /// The individual of each plan, by plan id.
    pub of_plan: HashMap<String, String>,
}

/// An identity number of an individual, as the Bundle names the patient.
pub struct PatientNumber {
    pub number: String,
    pub kind: IdentityKind,
}

/// A FHIR R4 Bundle of type `searchset`: one page of the access log, one BALP `AuditEvent` per
/// access (loggpost). Shown here in outline.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEventBundle {
    /// Always `Bundle`.
    #[schema(example = "Bundle")]
    pub resource_type: String,
    /// Always `searchset`.
    #[serde(rename = "type")]
    #[schema(example = "searchset")]
    pub bundle_type: String,
    /// How many AuditEvents this page holds.
    pub total: usize,
    pub entry: Vec<AuditEventEntry>,
    /// The next page (`relation: next`), when there is one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub link: Vec<BundleLink>,
}

/// One access of the page.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEventEntry {
    /// `<public URL>/api/v1/audit-events/<id>`.
    pub full_url: String,
    /// A FHIR R4 `AuditEvent` following its BALP profile.
    #[schema(value_type = Object)]
    pub resource: Value,
    /// `{"mode": "match"}`.
    #[schema(value_type = Object)]
    pub search: Value,
}

/// A link of a Bundle: `next` leads to the following page.
#[derive(Debug, Serialize, ToSchema)]
pub struct BundleLink {
    #[schema(example = "next")]
    pub relation: String,
    pub url: String,
}

/// The page of the access log as a `searchset` Bundle of AuditEvents. `patients` gives the
/// identity number of each individual the page names (by the service's id).
pub fn bundle(
    records: &[AuditRecord],
    patients: &Patients,
    public_url: &str,
    next_cursor: Option<&str>,
) -> AuditEventBundle {
    let entry: Vec<AuditEventEntry> = records
        .iter()
        .map(|record| AuditEventEntry {
            full_url: format!("{public_url}/api/v1/audit-events/{}", record.event.id),
            resource: audit_event(record, patients),
            search: json!({"mode": "match"}),
        })
        .collect();
    AuditEventBundle {
        resource_type: "Bundle".into(),
        bundle_type: "searchset".into(),
        total: entry.len(),
        entry,
        link: next_cursor
            .map(|next| BundleLink {
                relation: "next".into(),
                url: format!("{public_url}/api/v1/audit-events?cursor={next}"),
            })
            .into_iter()
            .collect(),
    }
}

fn audit_event(record: &AuditRecord, patients: &Patients) -> Value {
    let e = &record.event;
    let interaction = Interaction::of(&e.action, &e.resource_type);
    let (subtype, action, profile, patient_profile) = codes(interaction);
    let mut entities = Vec::new();
    // The patient is the individual an access names, or the individual of a plan it names.
    let plans_named = e
        .plan_id
        .iter()
        .chain(record.targets.iter().filter_map(|t| t.plan_id.as_ref()));
    let individuals: Vec<&String> = e
        .individual_id
        .iter()
        .chain(
            record
                .targets
                .iter()
                .filter_map(|t| t.individual_id.as_ref()),
        )
        .chain(plans_named.filter_map(|plan| patients.of_plan.get(plan)))
        .collect();
    let mut seen = std::collections::HashSet::new();
    for individual in individuals {
        if seen.insert(individual.clone()) {
            entities.push(patient_entity(individual, patients.numbers.get(individual)));
        }
    }
    let has_patient = !entities.is_empty();
    let plans: Vec<&String> = e
        .plan_id
        .iter()
        .chain(record.targets.iter().filter_map(|t| t.plan_id.as_ref()))
        .collect();
    let mut seen_plans = std::collections::HashSet::new();
    for plan in plans {
        if seen_plans.insert(plan.clone()) {
            entities.push(json!({
                "what": {"reference": format!("CarePlan/{plan}")},
                "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "2", "display": "System Object"},
                "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "4", "display": "Domain Resource"},
            }));
        }
    }
    entities.push(json!({
        "what": {"identifier": {
            "type": {"coding": [{"system": "https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType", "code": "XrequestId"}]},
            "value": e.request_id,
        }},
        "type": {"system": "https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType", "code": "XrequestId"},
    }));
    let user = match HsaId::parse(&e.subject) {
        Ok(hsa) => json!({"system": HSA_ID, "value": hsa.as_str()}),
        Err(_) => json!({"system": "urn:sip-service:subject", "value": e.subject}),
    };
    let mut agents = vec![json!({
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP", "display": "information recipient"}]},
        "who": {"identifier": user},
        "requestor": true,
    })];
    if !e.unit.as_str().is_empty() {
        agents.push(json!({
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-RoleClass", "code": "PROV", "display": "healthcare provider"}]},
            "who": {"identifier": {"system": HSA_ID, "value": e.unit.as_str()}},
            "requestor": false,
        }));
    }
    agents.push(json!({
        "type": {"coding": [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110153", "display": "Source Role ID"}]},
        "who": {"display": "sip-service"},
        "requestor": false,
    }));
    let denied = e.result != "allowed";
    let mut event = json!({
        "resourceType": "AuditEvent",
        "id": e.id.to_string(),
        "meta": {"profile": [format!("{BALP}{}", if has_patient { patient_profile } else { profile })]},
        "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest", "display": "RESTful Operation"},
        "subtype": [{"system": "http://hl7.org/fhir/restful-interaction", "code": subtype}],
        "action": action,
        "recorded": format!("{}Z", e.occurred_at.format("%Y-%m-%dT%H:%M:%S%.6f")),
        "outcome": if denied { "4" } else { "0" },
        "agent": agents,
        "source": {
            "observer": {"display": "sip-service"},
            "type": [{"system": "http://terminology.hl7.org/CodeSystem/security-source-type", "code": "4", "display": "Application Server"}],
        },
        "entity": entities,
    });
    if denied {
        event["outcomeDesc"] = json!(format!("refused (HTTP {})", e.status));
    }
    event
}

fn patient_entity(individual: &str, number: Option<&PatientNumber>) -> Value {
    let mut what = json!({"reference": format!("Patient/{individual}")});
    if let Some(n) = number {
        let system = match n.kind {
            IdentityKind::Personnummer => PERSONNUMMER,
            IdentityKind::Samordningsnummer => SAMORDNINGSNUMMER,
        };
        what["identifier"] = json!({"system": system, "value": n.number});
    }
    json!({
        "what": what,
        "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "1", "display": "Person"},
        "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1", "display": "Patient"},
    })
}
