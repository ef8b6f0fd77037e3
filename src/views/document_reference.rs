//! The plan as a FHIR R4 `DocumentReference`, the way Swedish national services fetch care plans
//! (Inera's profiles: a SIP is a document of care-plan type, searched by patient, with the document
//! itself as PDF or HTML attachments). A projection of [`PlanDocument`], like `fhir::bundle`.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::document::PlanDocument;
use super::fhir::{HSA_ID, PERSONNUMMER, SAMORDNINGSNUMMER, TYPE_OF_CARE_PLAN};
use super::printout;
use crate::domain::identity::IdentityKind;

/// R4 has no `DocumentReference.version`; R5's element, carried into R4 by FHIR's cross-version
/// extension, holds the plan's revision.
pub const VERSION_EXTENSION: &str =
    "http://hl7.org/fhir/5.0/StructureDefinition/extension-DocumentReference.version";

/// The type code of a SIP in Inera's TypeOfCarePlan.
pub const SIP_CODE: &str = "SIP";

/// A FHIR R4 Bundle of type `searchset`: the plans the caller may see that match the search, one
/// `DocumentReference` each. Shown here in outline.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchBundle {
    /// Always `Bundle`.
    #[schema(example = "Bundle")]
    pub resource_type: String,
    /// Always `searchset`.
    #[serde(rename = "type")]
    #[schema(example = "searchset")]
    pub bundle_type: String,
    pub timestamp: String,
    /// How many matched: all of them are in `entry`.
    pub total: usize,
    pub entry: Vec<SearchEntry>,
}

/// One match of a search.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchEntry {
    /// `urn:uuid:<plan id>`.
    pub full_url: String,
    /// A FHIR R4 `DocumentReference`.
    #[schema(value_type = Object)]
    pub resource: Value,
    /// `{"mode": "match"}`.
    #[schema(value_type = Object)]
    pub search: Value,
}

/// The search's answer, made at `now`; links start with `public_url`.
pub fn search_bundle(
    documents: &[PlanDocument],
    now: DateTime<Utc>,
    public_url: &str,
) -> SearchBundle {
    SearchBundle {
        resource_type: "Bundle".into(),
        bundle_type: "searchset".into(),
        timestamp: instant(now),
        total: documents.len(),
        entry: documents
            .iter()
            .map(|doc| SearchEntry {
                full_url: format!("urn:uuid:{}", doc.plan.id),
                resource: document_reference(doc, public_url),
                search: json!({ "mode": "match" }),
            })
            .collect(),
    }
}

fn instant(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// The plan as a DocumentReference: the document's attachments point at the plan's document
/// operation (`/api/v1/plans/{id}/document`), which answers PDF or HTML by `Accept` and logs the
/// read like any other.
pub fn document_reference(doc: &PlanDocument, public_url: &str) -> Value {
    let plan = &doc.plan;
    let person = &doc.individual;
    let system = match person.identity_kind {
        IdentityKind::Personnummer => PERSONNUMMER,
        IdentityKind::Samordningsnummer => SAMORDNINGSNUMMER,
    };
    let title = format!(
        "Samordnad individuell plan för {} {}",
        person.given_name, person.family_name
    );
    let unit = &plan.initiating_unit.hsa_id;
    let unit_name = doc
        .consents
        .iter()
        .flat_map(|c| &c.covered_parties)
        .find(|p| p.hsa_id.as_deref() == Some(unit.as_str()))
        .map(|p| p.name.clone());
    let mut organization = json!({
        "type": "Organization",
        "identifier": { "system": HSA_ID, "value": unit },
    });
    if let Some(name) = unit_name {
        organization["display"] = json!(name);
    }
    let url = format!("{public_url}/api/v1/plans/{}/document", plan.id);
    let attachment = |content_type: &str| {
        json!({ "attachment": {
            "contentType": content_type,
            "language": "sv",
            "url": url,
            "title": title,
            "creation": instant(plan.updated_at),
        }})
    };
    let start = doc.meeting.as_ref().map_or(plan.created_at, |m| m.held_at);
    let mut period = json!({ "start": instant(start) });
    if let Some(end) = plan.closed_at {
        period["end"] = json!(instant(end));
    }
    let mut reference = json!({
        "resourceType": "DocumentReference",
        "id": plan.id,
        "meta": { "versionId": plan.version.to_string(), "lastUpdated": instant(plan.updated_at) },
        "extension": [{ "url": VERSION_EXTENSION, "valueString": plan.revision.to_string() }],
        "status": "current",
        // Before the meeting establishes it, the plan is a draft of what will be agreed.
        "docStatus": if plan.revision > 0 { "final" } else { "preliminary" },
        "type": {
            "coding": [{ "system": TYPE_OF_CARE_PLAN, "code": SIP_CODE, "display": "SIP" }],
            "text": "Samordnad individuell plan",
        },
        "category": [{ "coding": [{
            "system": "http://loinc.org",
            "code": "18776-5",
            "display": "Plan of care note",
        }]}],
        "subject": {
            "type": "Patient",
            "identifier": { "system": system, "value": person.identity_number },
            "display": format!("{} {}", person.given_name, person.family_name),
        },
        "date": instant(plan.updated_at),
        "author": [organization],
        "custodian": organization,
        "description": title,
        "content": [
            attachment(printout::pdf::MEDIA_TYPE),
            attachment(printout::html::MEDIA_TYPE_ESSENCE),
        ],
        "context": { "period": period },
    });
    if person.protected_identity {
        // Skyddad identitet: restricted, as on the Patient of the plan's bundle.
        reference["securityLabel"] = json!([{ "coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
            "code": "R",
            "display": "restricted",
        }]}]);
    }
    reference
}
