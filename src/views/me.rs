//! What an individual is shown through an e-service (`/api/v1/me`): only what a plan document
//! shows them — never internal notes, topics not to raise, staff names or identity numbers of
//! others.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::consent::Consent;
use super::glossary::{self, Swedish};
use super::printout::{Block, Fact, Item, Printout, Section};
use super::process::{Preparation, Summons};
use crate::db::audit::AuditRecord;
use crate::db::individuals::IndividualRow;
use crate::db::plans::PlanRecord;
use crate::domain::access::Interaction;
use crate::domain::consent::{ConsentOutcome, ConsentPermissions, GiverRole};
use crate::domain::plan::PlanStatus;
use crate::domain::process::MeetingForm;
use crate::domain::representation::ActingAs;
use crate::domain::Principal;

/// A person the caller acts for.
#[derive(Debug, Serialize, ToSchema)]
pub struct Person {
    /// The person's id: use it to pick whose access log to read.
    #[schema(format = Uuid)]
    pub individual_id: String,
    pub given_name: String,
    pub family_name: String,
    pub acting_as: ActingAs,
}

impl Person {
    pub fn of(person: &IndividualRow, acting_as: ActingAs) -> Person {
        Person {
            individual_id: person.id.to_string(),
            given_name: person.given_name.clone(),
            family_name: person.family_name.clone(),
            acting_as,
        }
    }
}

/// Who the caller is to the service: the people they may act for today (themselves from 16, a
/// child under 13 as a registered guardian, a person whose standing consent names them as legal
/// representative). Empty when they may act for no one.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub acting_for: Vec<Person>,
}

/// One of the caller's plans, in a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct MyPlanSummary {
    #[schema(format = Uuid)]
    pub id: String,
    /// Whose plan it is.
    pub person: Person,
    pub status: PlanStatus,
    /// Where the plan stands, in plain Swedish.
    pub status_text: String,
    pub version: i64,
    pub updated_at: DateTime<Utc>,
}

impl MyPlanSummary {
    pub fn of(person: Person, record: &PlanRecord) -> MyPlanSummary {
        let plan = &record.plan;
        MyPlanSummary {
            id: plan.id.to_string(),
            person,
            status: plan.status,
            status_text: plan.status.swedish().to_string(),
            version: plan.version,
            updated_at: plan.updated_at.and_utc(),
        }
    }
}

/// The caller's plans (a person has a handful: all of them, oldest first).
#[derive(Debug, Serialize, ToSchema)]
pub struct MyPlans {
    pub items: Vec<MyPlanSummary>,
}

/// A plan as the individual reads it: the same sections, in the same words, as the HTML and PDF.
#[derive(Debug, Serialize, ToSchema)]
pub struct MyPlan {
    #[schema(format = Uuid)]
    pub id: String,
    pub person: Person,
    pub version: i64,
    pub document: Printout,
}

/// One party a consent covers, or a unit invited to a meeting, as the individual is shown it.
#[derive(Debug, Serialize, ToSchema)]
pub struct NamedParty {
    pub name: String,
    pub principal: Principal,
}

/// Who gave a consent.
#[derive(Debug, Serialize, ToSchema)]
pub struct Giver {
    pub role: GiverRole,
    /// The guardian's or representative's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub name: Option<String>,
}

/// A consent as the individual sees it: who may take part, what is shared, until when.
#[derive(Debug, Serialize, ToSchema)]
pub struct MyConsent {
    #[schema(format = Uuid)]
    pub id: String,
    #[schema(format = Uuid)]
    pub plan_id: String,
    pub outcome: ConsentOutcome,
    /// Given, not withdrawn, and today within its validity.
    pub active: bool,
    /// Where the consent stands, in plain Swedish.
    pub state_text: String,
    pub given_by: Vec<Giver>,
    /// Who may take part in the plan and share information.
    pub covered_parties: Vec<NamedParty>,
    pub permissions: ConsentPermissions,
    /// What the individual does not consent to.
    pub not_consented_to: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub valid_from: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub valid_until: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub withdrawn_at: Option<DateTime<Utc>>,
    pub version: i64,
}

impl MyConsent {
    /// The individual's view of a consent: without the staff's note, who documented it, who
    /// recorded it, and any identity number.
    pub fn of(consent: Consent) -> MyConsent {
        let state_text = match (consent.outcome, consent.withdrawn_at, consent.active) {
            (ConsentOutcome::Refused, _, _) => "Du sa nej".to_string(),
            (_, Some(at), _) => format!("Återkallat {}", glossary::day(at)),
            (_, None, true) => match consent.valid_until {
                Some(until) => format!("Gäller till och med {}", glossary::date(until)),
                None => "Gäller".to_string(),
            },
            (_, None, false) => "Gäller inte i dag".to_string(),
        };
        MyConsent {
            id: consent.id,
            plan_id: consent.plan_id,
            outcome: consent.outcome,
            active: consent.active,
            state_text,
            given_by: consent
                .givers
                .into_iter()
                .map(|g| Giver {
                    role: g.role,
                    name: g.name,
                })
                .collect(),
            covered_parties: consent
                .covered_parties
                .into_iter()
                .map(|p| NamedParty {
                    name: p.name,
                    principal: p.principal,
                })
                .collect(),
            permissions: consent.permissions,
            not_consented_to: consent.not_consented_to,
            valid_from: consent.valid_from,
            valid_until: consent.valid_until,
            withdrawn_at: consent.withdrawn_at,
            version: consent.version,
        }
    }
}

/// The consents of a plan.
#[derive(Debug, Serialize, ToSchema)]
pub struct MyConsents {
    pub items: Vec<MyConsent>,
}

/// A summons as the individual sees it: when, where, who is invited, why — and what they wrote.
#[derive(Debug, Serialize, ToSchema)]
pub struct MySummons {
    #[schema(format = Uuid)]
    pub id: String,
    #[schema(format = Uuid)]
    pub plan_id: String,
    pub purpose: String,
    /// The questions the summons asks the meeting to answer.
    pub questions: Vec<String>,
    pub meeting_at: DateTime<Utc>,
    /// When, in plain Swedish.
    pub meeting_at_text: String,
    pub meeting_place: String,
    pub meeting_form: MeetingForm,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub interpreter_language: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub adaptations: Option<String>,
    /// Who is invited.
    pub invited: Vec<NamedParty>,
    /// What the individual wrote for the meeting (absent until they do).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub my_preparation: Option<Preparation>,
}

impl MySummons {
    pub fn of(summons: Summons) -> MySummons {
        MySummons {
            meeting_at_text: glossary::moment(summons.meeting_at),
            id: summons.id,
            plan_id: summons.plan_id,
            purpose: summons.purpose,
            questions: summons.questions,
            meeting_at: summons.meeting_at,
            meeting_place: summons.meeting_place,
            meeting_form: summons.meeting_form,
            interpreter_language: summons.interpreter_language,
            adaptations: summons.adaptations,
            invited: summons
                .recipients
                .into_iter()
                .map(|r| NamedParty {
                    name: r.name,
                    principal: r.principal,
                })
                .collect(),
            my_preparation: summons.individual_preparation,
        }
    }
}

/// The summons of a plan.
#[derive(Debug, Serialize, ToSchema)]
pub struct MySummonsList {
    pub items: Vec<MySummons>,
}

/// What kind of access an entry of the access log is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccessKind {
    Read,
    Change,
    Search,
    /// An attempt that was refused.
    Denied,
}

impl AccessKind {
    fn of(action: &str, resource_type: &str, result: &str) -> AccessKind {
        if result != "allowed" {
            return AccessKind::Denied;
        }
        match Interaction::of(action, resource_type) {
            Interaction::Read => AccessKind::Read,
            Interaction::Search => AccessKind::Search,
            Interaction::Create | Interaction::Update => AccessKind::Change,
        }
    }

    fn swedish(self) -> &'static str {
        match self {
            AccessKind::Read => "Läste",
            AccessKind::Change => "Ändrade",
            AccessKind::Search => "Sökte",
            AccessKind::Denied => "Försökte nå, men fick inte",
        }
    }
}

/// Who made an access, as the individual is told it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccessedBy {
    /// Staff of a unit (the person is not named: see the README).
    Unit,
    /// The individual themselves, through an e-service.
    Themselves,
    /// A guardian, through an e-service.
    Guardian,
    /// A legal representative, through an e-service.
    LegalRepresentative,
}

/// One access to the person's data.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccessEntry {
    pub at: DateTime<Utc>,
    pub kind: AccessKind,
    pub by: AccessedBy,
    /// The unit (HSA-id) for `by: unit` — absent for a person with protected identity, whose
    /// extract names no unit, so it locates nobody if it falls into the wrong hands.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub unit: Option<String>,
    /// The organisation kind: region, municipality, or other.
    pub principal: Principal,
    /// What was accessed: `plans`, `individuals`, `document`, `consents`, … (the resource).
    pub resource: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, format = Uuid)]
    pub plan_id: Option<String>,
}

/// The person's access log (loggutdrag): who has read or changed their data, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccessExtract {
    pub person: Person,
    pub items: Vec<AccessEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub next_cursor: Option<String>,
}

impl AccessExtract {
    /// The extract of `person`'s accesses; for a person with protected identity it names no unit.
    pub fn of(
        person: Person,
        protected_identity: bool,
        records: Vec<AuditRecord>,
        next_cursor: Option<String>,
    ) -> Self {
        let items = records
            .into_iter()
            .map(|r| {
                let e = r.event;
                let by = if crate::domain::representation::ActingAs::is_individual_subject(
                    &e.subject,
                    e.unit.as_str(),
                ) {
                    match ActingAs::of_subject(&e.subject) {
                        ActingAs::Themselves => AccessedBy::Themselves,
                        ActingAs::Guardian => AccessedBy::Guardian,
                        ActingAs::LegalRepresentative => AccessedBy::LegalRepresentative,
                    }
                } else {
                    AccessedBy::Unit
                };
                let plan_id = e
                    .plan_id
                    .clone()
                    .or_else(|| r.targets.iter().find_map(|t| t.plan_id.clone()));
                AccessEntry {
                    at: e.occurred_at.and_utc(),
                    kind: AccessKind::of(&e.action, &e.resource_type, &e.result),
                    by,
                    unit: (by == AccessedBy::Unit && !protected_identity)
                        .then(|| e.unit.to_string()),
                    principal: e.principal,
                    resource: e.resource_type,
                    plan_id,
                }
            })
            .collect();
        AccessExtract {
            person,
            items,
            next_cursor,
        }
    }

    /// The extract as a printable document in Swedish.
    pub fn printout(&self, printed_on: NaiveDate, more: bool) -> Printout {
        let who = format!("{} {}", self.person.given_name, self.person.family_name);
        let entries: Vec<Item> = self
            .items
            .iter()
            .map(|e| Item {
                title: format!("{} – {}", glossary::moment(e.at), e.kind.swedish()),
                facts: vec![
                    Fact {
                        label: "Vem",
                        value: accessor(e),
                    },
                    Fact {
                        label: "Vad",
                        value: resource_text(&e.resource).to_string(),
                    },
                ],
                children: vec![],
            })
            .collect();
        let count = if more {
            format!(
                "De {} första åtkomsterna. Fler finns: hämta nästa del av utdraget.",
                self.items.len()
            )
        } else {
            format!("{} åtkomster", self.items.len())
        };
        Printout {
            title: format!("Loggutdrag för {who}"),
            printed_on,
            closing: "Fråga enheten eller dess dataskyddsombud om något i utdraget är oklart.".into(),
            sections: vec![
                Section {
                    id: "om-utdraget",
                    heading: "Om utdraget",
                    blocks: vec![
                        Block::Text("Här ser du vilka som har läst eller ändrat dina uppgifter i din samordnade individuella plan, i alla regioner och kommuner som använder tjänsten.".into()),
                        Block::Facts(vec![
                            Fact { label: "Gäller", value: who.clone() },
                            Fact { label: "Utskrivet", value: glossary::date(printed_on) },
                            Fact { label: "Antal", value: count },
                        ]),
                    ],
                },
                Section {
                    id: "atkomster",
                    heading: "Åtkomster",
                    blocks: if entries.is_empty() {
                        vec![Block::Text("Ingen har läst eller ändrat dina uppgifter.".into())]
                    } else {
                        vec![Block::Items(entries)]
                    },
                },
                Section {
                    id: "om-loggen",
                    heading: "Om loggen",
                    blocks: vec![Block::Text("Utdraget visar enheten och om den hör till en region eller en kommun, men inte namnen på de som arbetar där. Vill du veta vem som läste, eller tror du att någon har läst utan att få, kontakta enheten eller regionens eller kommunens dataskyddsombud. Du har rätt att få veta det enligt patientdatalagen (8 kap. 1 §).".into())],
                },
            ],
        }
    }
}

fn accessor(e: &AccessEntry) -> String {
    match e.by {
        AccessedBy::Themselves => "Du själv, i e-tjänsten".into(),
        AccessedBy::Guardian => "Din vårdnadshavare, i e-tjänsten".into(),
        AccessedBy::LegalRepresentative => "Din företrädare, i e-tjänsten".into(),
        AccessedBy::Unit => {
            let organisation = match e.principal {
                Principal::Region => "En enhet i regionen",
                Principal::Municipality => "En enhet i kommunen",
                Principal::Other => "En annan aktör",
            };
            match &e.unit {
                Some(unit) => format!("{organisation} ({unit})"),
                None => organisation.into(),
            }
        }
    }
}

fn resource_text(resource: &str) -> &'static str {
    match resource {
        "individuals" | "individual" | "search" => "Dina personuppgifter",
        "consents" | "consent" | "withdraw" => "Ditt samtycke",
        "summons" | "answer" | "preparation" => "Kallelsen till mötet",
        "document" | "revisions" | "fhir" | "DocumentReference" | "_search" => "Hela planen",
        "goals" | "goal" => "Målen i planen",
        "interventions" | "intervention" | "status" => "Insatserna i planen",
        "follow-ups" | "follow_up" | "record" => "Uppföljningen av planen",
        "meeting" => "Mötet om planen",
        _ => "Planen",
    }
}

/// A survey code to hand out on paper at the meeting.
#[derive(Debug, Serialize, ToSchema)]
pub struct SurveyCode {
    /// Give it to the individual; it is shown once and stored only as a hash.
    #[schema(example = "K7QM-3WXR-9P")]
    pub code: String,
    /// The last day it can be used.
    pub expires_on: NaiveDate,
}
