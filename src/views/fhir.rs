//! The whole plan as a FHIR R4 (4.0.1) `Bundle`, for national services and FHIR-speaking journal
//! systems. A pure projection of [`PlanDocument`]: it reads nothing and invents nothing — what the
//! plan does not record is left out. The mapping, field by field, is in the README.

use crate::domain::calendar::swedish_date;
use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::consent::Consent;
use super::document::PlanDocument;
use super::process::{Goal, Intervention, Summons};
use crate::domain::consent::{ConsentOutcome, GiverRole};
use crate::domain::identity::IdentityKind;
use crate::domain::plan::{ClosingReason, PlanStatus};
use crate::domain::process::{
    GoalStatus, InterventionStatus, Obligation, Response, ResponsibleParty,
};
use crate::domain::Principal;

/// Inera's code system of care-plan types (clinicalprocess:logistics:logistics, TypeOfCarePlan).
pub const TYPE_OF_CARE_PLAN: &str = "https://fhir.inera.se/CodeSystem/typeofcareplan-cs";
pub const PERSONNUMMER: &str = "urn:oid:1.2.752.129.2.1.3.1";
pub const SAMORDNINGSNUMMER: &str = "urn:oid:1.2.752.129.2.1.3.3";
pub const HSA_ID: &str = "urn:oid:1.2.752.129.2.1.4.1";
/// The service's own extension: the responsible principal (huvudansvarig huvudman), which the law
/// requires every plan to name and FHIR has no element for.
pub const RESPONSIBLE_PRINCIPAL_EXTENSION: &str = "urn:sip-service:fhir:responsible-principal";

/// The media type of FHIR's JSON format.
pub const MEDIA_TYPE: &str = "application/fhir+json";

/// A FHIR R4 Bundle (`type: collection`) with the plan's resources. Shown here in outline; each
/// entry's `resource` is a FHIR R4 resource: Patient, Organization, CarePlan, CareTeam, Goal,
/// ServiceRequest, Consent, Appointment.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FhirBundle {
    /// Always `Bundle`.
    #[schema(example = "Bundle")]
    pub resource_type: String,
    /// `<plan id>-<plan version>`: the same plan version always gives the same bundle.
    pub id: String,
    /// Always `collection`.
    #[serde(rename = "type")]
    #[schema(example = "collection")]
    pub bundle_type: String,
    /// The plan's last change.
    pub timestamp: String,
    #[schema(value_type = Object)]
    pub meta: Value,
    pub entry: Vec<FhirEntry>,
}

/// One resource of the bundle.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FhirEntry {
    /// `urn:uuid:<id>`: references between the resources use it.
    pub full_url: String,
    /// A FHIR R4 resource.
    #[schema(value_type = Object)]
    pub resource: Value,
}

fn urn(id: &str) -> String {
    format!("urn:uuid:{id}")
}

fn reference(id: &str) -> Value {
    json!({ "reference": urn(id) })
}

fn instant(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn date(day: NaiveDate) -> String {
    day.to_string()
}

fn text(value: &str) -> Value {
    json!({ "text": value })
}

/// A stable id for something the plan names without one of its own (a unit, an actor, the care
/// team): the same name always gives the same id (a UUIDv8 from SHA-256).
fn derived_id(kind: &str, key: &str) -> String {
    let digest = Sha256::digest(format!("{kind}:{key}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Uuid::new_v8(bytes).to_string()
}

/// The units and actors the plan names, each once: an Organization each.
#[derive(Default)]
struct Organizations(BTreeMap<String, (String, Value)>);

impl Organizations {
    /// The id of the Organization for a unit (by HSA-id) or another actor (by name).
    fn of(&mut self, hsa_id: Option<&str>, name: &str, principal: Option<Principal>) -> String {
        let key = match hsa_id {
            Some(hsa) => format!("unit:{hsa}"),
            None => format!("actor:{}", name.trim().to_lowercase()),
        };
        let id = derived_id("organization", &key);
        let entry = self.0.entry(key).or_insert_with(|| {
            let mut org = json!({
                "resourceType": "Organization",
                "id": id,
                "active": true,
                "name": name,
            });
            if let Some(hsa) = hsa_id {
                org["identifier"] = json!([{ "system": HSA_ID, "value": hsa }]);
            }
            if let Some(p) = principal {
                org["type"] = json!([text(p.as_str())]);
            }
            (id.clone(), org)
        });
        // A later mention may know a better name than the bare HSA-id.
        if entry.1["name"] == json!(hsa_id.unwrap_or_default()) && !name.is_empty() {
            entry.1["name"] = json!(name);
        }
        entry.0.clone()
    }

    fn unit(&mut self, hsa_id: &str) -> String {
        self.of(Some(hsa_id), hsa_id, None)
    }
}

/// The plan as a FHIR R4 Bundle.
pub fn bundle(doc: &PlanDocument) -> FhirBundle {
    let plan = &doc.plan;
    let patient_id = doc.individual.id.clone();
    let mut orgs = Organizations::default();
    let author = orgs.of(
        Some(&plan.initiating_unit.hsa_id),
        &plan.initiating_unit.hsa_id,
        Some(plan.initiating_unit.principal),
    );
    // Names first, from where the plan records them, so each Organization carries one.
    for consent in &doc.consents {
        for p in &consent.covered_parties {
            orgs.of(p.hsa_id.as_deref(), &p.name, Some(p.principal));
        }
    }
    for summons in &doc.summons {
        for r in &summons.recipients {
            orgs.of(r.hsa_id.as_deref(), &r.name, Some(r.principal));
        }
    }

    let mut resources: Vec<Value> = vec![patient(doc)];
    let goals: Vec<Value> = doc
        .goals
        .iter()
        .map(|g| goal(g, doc, &patient_id))
        .collect();
    let requests: Vec<Value> = doc
        .interventions
        .iter()
        .map(|i| service_request(i, doc, &patient_id, &mut orgs))
        .collect();
    let consents: Vec<Value> = doc
        .consents
        .iter()
        .map(|c| consent(c, &patient_id, &mut orgs))
        .collect();
    let appointments: Vec<Value> = doc
        .summons
        .iter()
        .map(|s| appointment(s, doc, &patient_id, &mut orgs))
        .collect();
    let team = care_team(doc, &patient_id, &author, &mut orgs);
    let care_plan = care_plan(doc, &patient_id, &author, &team, &consents, &appointments);

    resources.push(care_plan);
    resources.push(team);
    resources.extend(goals);
    resources.extend(requests);
    resources.extend(consents);
    resources.extend(appointments);
    resources.extend(orgs.0.into_values().map(|(_, org)| org));

    FhirBundle {
        resource_type: "Bundle".into(),
        id: format!("{}-{}", plan.id, plan.version),
        bundle_type: "collection".into(),
        timestamp: instant(plan.updated_at),
        meta: json!({ "lastUpdated": instant(plan.updated_at) }),
        entry: resources
            .into_iter()
            .map(|resource| FhirEntry {
                full_url: urn(resource["id"].as_str().unwrap_or_default()),
                resource,
            })
            .collect(),
    }
}

fn patient(doc: &PlanDocument) -> Value {
    let person = &doc.individual;
    let system = match person.identity_kind {
        IdentityKind::Personnummer => PERSONNUMMER,
        IdentityKind::Samordningsnummer => SAMORDNINGSNUMMER,
    };
    let mut patient = json!({
        "resourceType": "Patient",
        "id": person.id,
        "identifier": [{ "system": system, "value": person.identity_number }],
        "name": [{ "family": person.family_name, "given": [person.given_name] }],
        "birthDate": date(person.birth_date),
    });
    if !person.guardians.is_empty() {
        patient["contact"] = Value::Array(
            person
                .guardians
                .iter()
                .map(|g| {
                    json!({
                        "relationship": [{
                            "coding": [{
                                "system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode",
                                "code": "GUARD",
                                "display": "guardian"
                            }],
                            "text": "vårdnadshavare"
                        }],
                        "name": { "text": g.name }
                    })
                })
                .collect(),
        );
    }
    if person.protected_identity {
        // Skyddad identitet: restricted, so a receiving system treats the record with care.
        patient["meta"] = json!({ "security": [{
            "system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
            "code": "R",
            "display": "restricted"
        }]});
    }
    patient
}

/// CarePlan.status from the plan's status: before the meeting a draft, after it active; a refused
/// plan or one ended by withdrawn consent was revoked, any other closed plan completed.
pub fn care_plan_status(status: PlanStatus, closing: Option<ClosingReason>) -> &'static str {
    match status {
        PlanStatus::NeedIdentified | PlanStatus::Consented | PlanStatus::Summoned => "draft",
        PlanStatus::Established | PlanStatus::Revising => "active",
        PlanStatus::Refused => "revoked",
        PlanStatus::Closed if closing == Some(ClosingReason::ConsentWithdrawn) => "revoked",
        PlanStatus::Closed => "completed",
    }
}

fn care_plan(
    doc: &PlanDocument,
    patient_id: &str,
    author: &str,
    team: &Value,
    consents: &[Value],
    appointments: &[Value],
) -> Value {
    let plan = &doc.plan;
    let mut care_plan = json!({
        "resourceType": "CarePlan",
        "id": plan.id,
        "identifier": [{ "system": "urn:ietf:rfc:3986", "value": urn(&plan.id) }],
        "status": care_plan_status(plan.status, plan.closing_reason),
        "intent": "plan",
        "category": [{
            "coding": [{ "system": TYPE_OF_CARE_PLAN, "code": "SIP", "display": "SIP" }],
            "text": "Samordnad individuell plan"
        }],
        "title": "Samordnad individuell plan",
        "subject": reference(patient_id),
        "created": instant(plan.created_at),
        "author": reference(author),
        "careTeam": [reference(team["id"].as_str().unwrap_or_default())],
    });
    if let Some(what_matters) = &plan.what_matters {
        care_plan["description"] = json!(what_matters);
    }
    let mut period = Map::new();
    if let Some(meeting) = &doc.meeting {
        period.insert("start".into(), json!(instant(meeting.held_at)));
    }
    if let Some(closed) = plan.closed_at {
        period.insert("end".into(), json!(instant(closed)));
    }
    if !period.is_empty() {
        care_plan["period"] = Value::Object(period);
    }
    if let Some(principal) = plan.responsible_principal {
        care_plan["extension"] = json!([{
            "url": RESPONSIBLE_PRINCIPAL_EXTENSION,
            "valueCode": principal.as_str()
        }]);
    }
    if !doc.goals.is_empty() {
        care_plan["goal"] = doc.goals.iter().map(|g| reference(&g.id)).collect();
    }
    let mut activities: Vec<Value> = doc
        .interventions
        .iter()
        .map(|i| json!({ "reference": reference(&i.id) }))
        .collect();
    activities.extend(doc.follow_ups.iter().map(|f| {
        let mut detail = json!({
            "kind": "Appointment",
            "code": text("Uppföljning av SIP"),
            "status": if f.held_on.is_some() { "completed" } else { "scheduled" },
            "scheduledPeriod": { "start": date(f.held_on.unwrap_or(f.scheduled_on)) },
            "location": { "display": f.place },
        });
        if let Some(decision) = f.decision {
            detail["description"] = json!(format!("Beslut: {}", decision.as_str()));
        }
        json!({ "detail": detail })
    }));
    if !activities.is_empty() {
        care_plan["activity"] = Value::Array(activities);
    }
    let supporting: Vec<Value> = consents
        .iter()
        .chain(appointments)
        .map(|r| reference(r["id"].as_str().unwrap_or_default()))
        .collect();
    if !supporting.is_empty() {
        care_plan["supportingInfo"] = Value::Array(supporting);
    }
    let mut notes = vec![json!({ "text": format!("Behov av samordning: {}", plan.need_reason) })];
    if let Some(disagreements) = doc.meeting.as_ref().and_then(|m| m.disagreements.as_ref()) {
        notes.push(json!({ "text": format!("Parterna är inte överens om: {disagreements}") }));
    }
    if let Some(note) = &plan.closing_note {
        notes.push(json!({ "text": format!("Avslutad: {note}") }));
    }
    care_plan["note"] = Value::Array(notes);
    care_plan
}

fn care_team(
    doc: &PlanDocument,
    patient_id: &str,
    author: &str,
    orgs: &mut Organizations,
) -> Value {
    let plan = &doc.plan;
    let status = match plan.status {
        PlanStatus::NeedIdentified | PlanStatus::Consented | PlanStatus::Summoned => "proposed",
        PlanStatus::Established | PlanStatus::Revising => "active",
        PlanStatus::Closed | PlanStatus::Refused => "inactive",
    };
    let mut members: Vec<String> = Vec::new();
    let mut add = |id: String| {
        if !members.contains(&id) {
            members.push(id);
        }
    };
    add(author.to_string());
    for consent in doc.consents.iter().filter(|c| c.active) {
        for p in &consent.covered_parties {
            add(orgs.of(p.hsa_id.as_deref(), &p.name, Some(p.principal)));
        }
    }
    for summons in &doc.summons {
        for r in summons
            .recipients
            .iter()
            .filter(|r| r.response != Some(Response::Forwarded))
        {
            add(orgs.of(r.hsa_id.as_deref(), &r.name, Some(r.principal)));
        }
    }
    if let Some(meeting) = &doc.meeting {
        for p in meeting.participants.iter() {
            if let Some(hsa) = &p.hsa_id {
                add(orgs.of(Some(hsa), hsa, p.principal));
            }
        }
    }
    let mut participants: Vec<Value> = members
        .iter()
        .map(|id| json!({ "role": [text("deltagande enhet")], "member": reference(id) }))
        .collect();
    if let Some(coordinator) = &plan.coordinator {
        participants.push(json!({
            "role": [text("samordnare")],
            "member": { "display": coordinator.name },
            "onBehalfOf": reference(&orgs.unit(&coordinator.hsa_id)),
        }));
    }
    json!({
        "resourceType": "CareTeam",
        "id": derived_id("careteam", &plan.id),
        "status": status,
        "name": "SIP",
        "subject": reference(patient_id),
        "participant": participants,
        "managingOrganization": [reference(author)],
    })
}

fn goal(goal: &Goal, doc: &PlanDocument, patient_id: &str) -> Value {
    let (lifecycle, achievement) = match goal.status {
        GoalStatus::Active => ("active", "in-progress"),
        GoalStatus::PartlyFulfilled => ("active", "improving"),
        GoalStatus::NotFulfilled => ("active", "not-achieved"),
        GoalStatus::Fulfilled => ("completed", "achieved"),
        GoalStatus::Dropped => ("cancelled", "not-attainable"),
    };
    let mut resource = json!({
        "resourceType": "Goal",
        "id": goal.id,
        "lifecycleStatus": lifecycle,
        "achievementStatus": {
            "coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/goal-achievement",
                "code": achievement
            }],
            "text": goal.status.as_str()
        },
        "category": [text(if goal.parent_id.is_some() { "delmål" } else { "långsiktigt mål" })],
        "description": text(&goal.text),
        "subject": reference(patient_id),
        "startDate": date(swedish_date(goal.created_at)),
        "statusDate": date(swedish_date(goal.updated_at)),
    });
    let mut target = Map::new();
    if let Some(measure) = &goal.measure {
        target.insert("measure".into(), text(measure));
    }
    if let Some(due) = goal.target_date {
        target.insert("dueDate".into(), json!(date(due)));
    }
    if !target.is_empty() {
        resource["target"] = json!([target]);
    }
    // A long-term goal names its sub-goals as components.
    let components: Vec<Value> = doc
        .goals
        .iter()
        .filter(|g| g.parent_id.as_deref() == Some(&goal.id))
        .map(|g| {
            json!({
                "url": "http://hl7.org/fhir/StructureDefinition/goal-relationship",
                "extension": [
                    { "url": "type", "valueCodeableConcept": { "coding": [{
                        "system": "http://terminology.hl7.org/CodeSystem/goal-relationship-type",
                        "code": "component"
                    }]}},
                    { "url": "target", "valueReference": reference(&g.id) }
                ]
            })
        })
        .collect();
    if !components.is_empty() {
        resource["extension"] = Value::Array(components);
    }
    resource
}

fn service_request(
    i: &Intervention,
    doc: &PlanDocument,
    patient_id: &str,
    orgs: &mut Organizations,
) -> Value {
    let status = match i.status {
        InterventionStatus::Planned | InterventionStatus::Ongoing => "active",
        InterventionStatus::Completed => "completed",
        InterventionStatus::Cancelled | InterventionStatus::NotCarriedOut => "revoked",
    };
    let mut performers = Vec::new();
    match i.responsible {
        ResponsibleParty::Individual => performers.push(reference(patient_id)),
        party => {
            let principal = match party {
                ResponsibleParty::Region => Principal::Region,
                ResponsibleParty::Municipality => Principal::Municipality,
                _ => Principal::Other,
            };
            if i.responsible_unit.is_some() || i.responsible_actor.is_some() {
                let name = i
                    .responsible_actor
                    .clone()
                    .or_else(|| i.responsible_unit.clone())
                    .unwrap_or_default();
                performers.push(reference(&orgs.of(
                    i.responsible_unit.as_deref(),
                    &name,
                    Some(principal),
                )));
            }
        }
    }
    if let Some(person) = &i.performer {
        performers.push(json!({ "display": person }));
    }
    let mut resource = json!({
        "resourceType": "ServiceRequest",
        "id": i.id,
        "basedOn": [reference(&doc.plan.id)],
        "status": status,
        "intent": "plan",
        "category": [text(i.responsible.as_str())],
        "code": text(&i.description),
        "subject": reference(patient_id),
        "authoredOn": instant(i.created_at),
    });
    if !performers.is_empty() {
        resource["performer"] = Value::Array(performers);
    }
    let mut timing = Map::new();
    if let Some(frequency) = &i.frequency {
        timing.insert("code".into(), text(frequency));
    }
    if let Some(start) = i.start_date {
        timing.insert(
            "repeat".into(),
            json!({ "boundsPeriod": { "start": date(start) } }),
        );
    }
    if !timing.is_empty() {
        resource["occurrenceTiming"] = Value::Object(timing);
    }
    if let Some(place) = &i.place {
        resource["locationCode"] = json!([text(place)]);
    }
    if !i.goal_ids.is_empty() {
        resource["supportingInfo"] = i.goal_ids.iter().map(|g| reference(g)).collect();
    }
    if let Some(reason) = &i.status_reason {
        resource["note"] = json!([{ "text": format!("{}: {reason}", i.status.as_str()) }]);
    }
    resource
}

fn consent(c: &Consent, patient_id: &str, orgs: &mut Organizations) -> Value {
    let given = c.outcome == ConsentOutcome::Given;
    let status = match (given, c.active) {
        (false, _) => "rejected",
        (true, true) => "active",
        (true, false) => "inactive",
    };
    let performers: Vec<Value> = c
        .givers
        .iter()
        .map(|g| match g.role {
            GiverRole::Individual => reference(patient_id),
            GiverRole::Guardian => {
                json!({ "display": g.name.clone().unwrap_or_else(|| "vårdnadshavare".into()) })
            }
            GiverRole::LegalRepresentative => json!({ "display": format!(
                "{} ({})",
                g.name.clone().unwrap_or_default(),
                g.representative_kind.map(|k| k.as_str()).unwrap_or("legal_representative")
            )}),
        })
        .collect();
    let actors: Vec<Value> = c
        .covered_parties
        .iter()
        .map(|p| {
            json!({
                "role": { "coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                    "code": "IRCP",
                    "display": "information recipient"
                }]},
                "reference": reference(&orgs.of(p.hsa_id.as_deref(), &p.name, Some(p.principal))),
            })
        })
        .collect();
    let permissions = [
        (c.permissions.share_information, "share_information"),
        (c.permissions.send_summons, "send_summons"),
        (c.permissions.establish_plan, "establish_plan"),
        (c.permissions.involve_relatives, "involve_relatives"),
    ];
    let actions: Vec<Value> = permissions
        .iter()
        .filter(|(permitted, _)| *permitted)
        .map(|(_, what)| text(what))
        .collect();
    let mut provision = json!({ "type": if given { "permit" } else { "deny" } });
    let mut period = Map::new();
    if let Some(from) = c.valid_from {
        period.insert("start".into(), json!(date(from)));
    }
    if let Some(until) = c.valid_until {
        period.insert("end".into(), json!(date(until)));
    }
    if !period.is_empty() {
        provision["period"] = Value::Object(period);
    }
    if !actors.is_empty() {
        provision["actor"] = Value::Array(actors);
    }
    if !actions.is_empty() {
        provision["action"] = Value::Array(actions);
    }
    if !c.not_consented_to.is_empty() {
        provision["provision"] = c
            .not_consented_to
            .iter()
            .map(|what| json!({ "type": "deny", "code": [text(what)] }))
            .collect();
    }
    let mut resource = json!({
        "resourceType": "Consent",
        "id": c.id,
        "status": status,
        "scope": { "coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/consentscope",
            "code": "patient-privacy",
            "display": "Privacy Consent"
        }]},
        "category": [{ "coding": [{
            "system": "http://loinc.org",
            "code": "59284-0",
            "display": "Patient Consent"
        }], "text": format!("samtycke ({})", c.form.as_str()) }],
        "patient": reference(patient_id),
        "dateTime": instant(c.created_at),
        "organization": [reference(&orgs.unit(&c.recorded_by.unit))],
        "policyRule": { "coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": if given { "OPTIN" } else { "OPTOUT" }
        }]},
        "provision": provision,
    });
    if !performers.is_empty() {
        resource["performer"] = Value::Array(performers);
    }
    resource
}

fn appointment(
    s: &Summons,
    doc: &PlanDocument,
    patient_id: &str,
    orgs: &mut Organizations,
) -> Value {
    let held = doc.meeting.as_ref().filter(|m| m.summons_id == s.id);
    let latest = doc.summons.last().is_some_and(|last| last.id == s.id);
    let status = match (held, latest, doc.plan.status) {
        (Some(_), _, _) => "fulfilled",
        (None, true, PlanStatus::Summoned) => "booked",
        // A later summons rescheduled it, or the plan ended before the meeting.
        _ => "cancelled",
    };
    // The service does not record how long a meeting lasts: the end is its start.
    let start = held.map_or(s.meeting_at, |m| m.held_at);
    let mut participants = vec![json!({
        "actor": reference(patient_id),
        "required": "required",
        "status": "accepted"
    })];
    participants.extend(s.recipients.iter().map(|r| {
        let answer = match r.response {
            None => "needs-action",
            Some(Response::Accepted) => "accepted",
            Some(Response::Declined) | Some(Response::Forwarded) => "declined",
        };
        json!({
            "actor": reference(&orgs.of(r.hsa_id.as_deref(), &r.name, Some(r.principal))),
            "required": if r.obligation == Obligation::Summoned { "required" } else { "optional" },
            "status": answer,
        })
    }));
    let mut resource = json!({
        "resourceType": "Appointment",
        "id": s.id,
        "status": status,
        "appointmentType": text("SIP-möte"),
        "description": s.purpose,
        "start": instant(start),
        "end": instant(start),
        "created": date(swedish_date(s.sent_at)),
        "comment": s.questions.join("\n"),
        "participant": participants,
    });
    resource["supportingInformation"] = json!([reference(&doc.plan.id)]);
    resource
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_states_map_to_care_plan_statuses() {
        assert_eq!(care_plan_status(PlanStatus::Consented, None), "draft");
        assert_eq!(care_plan_status(PlanStatus::Revising, None), "active");
        assert_eq!(
            care_plan_status(PlanStatus::Closed, Some(ClosingReason::GoalsMet)),
            "completed"
        );
        assert_eq!(
            care_plan_status(PlanStatus::Closed, Some(ClosingReason::ConsentWithdrawn)),
            "revoked"
        );
        assert_eq!(care_plan_status(PlanStatus::Refused, None), "revoked");
    }

    #[test]
    fn derived_ids_are_stable_uuids() {
        let a = derived_id("organization", "unit:SE2321000016-PSY1");
        assert_eq!(a, derived_id("organization", "unit:SE2321000016-PSY1"));
        assert_ne!(a, derived_id("organization", "unit:SE2120001314-SOC1"));
        assert!(uuid::Uuid::parse_str(&a).is_ok());
    }
}
