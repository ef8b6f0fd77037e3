//! The plan as the individual reads it: in plain Swedish, addressed to them, with every element the
//! law asks a plan to state (HSL 16 kap. 4 §, SoL 2 kap. 7 §). What it says is decided once, here,
//! as sections of text; `html` and `pdf` only lay the same sections out, so the two formats cannot
//! say different things. What the staff noted as topics not to raise at the meeting never appears.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::document::PlanDocument;
use super::glossary::{self, Swedish};
use super::process::{Goal, Intervention};
use crate::domain::consent::{ConsentOutcome, GiverRole};
use crate::domain::identity::IdentityKind;
use crate::domain::process::ResponsibleParty;

pub mod html;
pub mod pdf;

/// What the document says, before it is laid out: as JSON, the document's sections of plain
/// Swedish text for an e-service to show in its own layout.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Printout {
    pub title: String,
    /// The day it is printed, the PDF's creation date.
    pub printed_on: NaiveDate,
    pub sections: Vec<Section>,
    /// The last word to the reader (the HTML page's footer).
    pub closing: String,
}

/// A section of a document under its heading.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Section {
    /// A stable anchor for the section (HTML ids, tests).
    #[schema(value_type = String)]
    pub id: &'static str,
    #[schema(value_type = String)]
    pub heading: &'static str,
    pub blocks: Vec<Block>,
}

/// One part of a section: a paragraph, a subheading, labelled facts, or items (goals,
/// interventions, participants) — as `{"text": …}`, `{"subheading": …}`, `{"facts": […]}`,
/// `{"items": […]}`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Block {
    Text(String),
    Subheading(String),
    Facts(Vec<Fact>),
    Items(Vec<Item>),
}

/// A labelled value: "Klart senast: 3 mars 2027".
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Fact {
    #[schema(value_type = String)]
    pub label: &'static str,
    pub value: String,
}

/// A goal, an intervention, a participant: a title with its facts, perhaps with items under it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Item {
    pub title: String,
    pub facts: Vec<Fact>,
    /// Items under this one (a goal's sub-goals), of the same shape.
    #[schema(no_recursion)]
    pub children: Vec<Item>,
}

fn fact(label: &'static str, value: impl Into<String>) -> Fact {
    Fact {
        label,
        value: value.into(),
    }
}

/// Facts with the values that are there; an absent value is left out rather than shown empty.
fn facts<const N: usize>(pairs: [(&'static str, Option<String>); N]) -> Vec<Fact> {
    pairs
        .into_iter()
        .filter_map(|(label, value)| value.map(|v| fact(label, v)))
        .collect()
}

/// How a unit is named to the individual: by the name the plan gave it (in a consent or a
/// summons), by its HSA-id only when the plan never named it.
struct UnitNames(HashMap<String, String>);

impl UnitNames {
    fn of(doc: &PlanDocument) -> UnitNames {
        let from_consents = doc
            .consents
            .iter()
            .flat_map(|c| &c.covered_parties)
            .filter_map(|p| Some((p.hsa_id.clone()?, p.name.clone())));
        let from_summons = doc
            .summons
            .iter()
            .flat_map(|s| &s.recipients)
            .filter_map(|r| Some((r.hsa_id.clone()?, r.name.clone())));
        UnitNames(from_consents.chain(from_summons).collect())
    }

    fn name(&self, hsa_id: &str) -> String {
        self.0
            .get(hsa_id)
            .cloned()
            .unwrap_or_else(|| format!("enheten {hsa_id}"))
    }
}

/// The four groups the law and the guidelines sort interventions into, in the order they are read.
const PARTIES: [(ResponsibleParty, &str, &str); 4] = [
    (
        ResponsibleParty::Region,
        "Regionen gör",
        "Regionen har inga insatser i planen.",
    ),
    (
        ResponsibleParty::Municipality,
        "Kommunen gör",
        "Kommunen har inga insatser i planen.",
    ),
    (
        ResponsibleParty::Other,
        "Andra gör",
        "Ingen annan har insatser i planen.",
    ),
    (
        ResponsibleParty::Individual,
        "Du gör",
        "Du har inga egna insatser i planen.",
    ),
];

impl Printout {
    /// The plan document as the individual reads it, printed on `printed_on`.
    pub fn of(doc: &PlanDocument, printed_on: NaiveDate) -> Printout {
        let names = UnitNames::of(doc);
        let person = &doc.individual;
        Printout {
            printed_on,
            title: format!(
                "Samordnad individuell plan för {} {}",
                person.given_name, person.family_name
            ),
            closing: "Planen är din. Fråga din samordnare om något är oklart.".into(),
            sections: vec![
                about(doc, printed_on),
                Section {
                    id: "viktigt-for-dig",
                    heading: "Det här är viktigt för dig",
                    blocks: vec![Block::Text(doc.plan.what_matters.clone().unwrap_or_else(
                        || "Det är inte skrivet ännu vad som är viktigast för dig.".into(),
                    ))],
                },
                Section {
                    id: "darfor",
                    heading: "Därför har du en plan",
                    blocks: vec![Block::Text(doc.plan.need_reason.clone())],
                },
                goals(doc),
                interventions(doc, &names),
                disagreements(doc),
                responsibility(doc, &names),
                follow_up(doc),
                meeting(doc, &names),
                consent(doc, &names),
                Section {
                    id: "lagen",
                    heading: "Planen och lagen",
                    blocks: vec![Block::Text(
                        "Planen görs enligt 16 kapitlet 4 § hälso- och sjukvårdslagen och 2 kapitlet \
                         7 § socialtjänstlagen. När du behöver hjälp från både regionen och kommunen \
                         ska de göra en plan tillsammans med dig. Planen ska visa vilka insatser du \
                         får, vad regionen och kommunen ansvarar för, vad andra gör, vem som har det \
                         övergripande ansvaret och hur planen följs upp."
                            .into(),
                    )],
                },
            ],
        }
    }
}

fn about(doc: &PlanDocument, printed_on: NaiveDate) -> Section {
    let person = &doc.individual;
    let number_label = match person.identity_kind {
        IdentityKind::Personnummer => "Personnummer",
        IdentityKind::Samordningsnummer => "Samordningsnummer",
    };
    let mut status = doc.plan.status.swedish().to_string();
    if let Some(reason) = doc.plan.closing_reason {
        status = format!("{status}, eftersom {}", reason.swedish());
    }
    let version = (doc.plan.revision > 0).then(|| match &doc.meeting {
        Some(m) if doc.plan.revision == 1 => {
            format!("1, gjord på mötet {}", glossary::day(m.held_at))
        }
        _ => doc.plan.revision.to_string(),
    });
    Section {
        id: "om-planen",
        heading: "Om planen",
        blocks: vec![
            Block::Text(
                "Det här är din samordnade individuella plan. Den kallas ofta SIP. I planen står \
                 det som du, regionen och kommunen har kommit överens om: dina mål, vem som gör \
                 vad och när ni ska se hur det har gått."
                    .into(),
            ),
            Block::Facts(facts([
                (
                    "Namn",
                    Some(format!("{} {}", person.given_name, person.family_name)),
                ),
                (number_label, Some(readable_number(&person.identity_number))),
                ("Läge", Some(status)),
                ("Version", version),
                ("Utskriven", Some(glossary::date(printed_on))),
            ])),
        ],
    }
}

/// An identity number as it is written for people: `19121212-1212`.
fn readable_number(number: &str) -> String {
    if number.len() == 12 && number.bytes().all(|b| b.is_ascii_digit()) {
        format!("{}-{}", &number[..8], &number[8..])
    } else {
        number.to_string()
    }
}

fn goals(doc: &PlanDocument) -> Section {
    let mut goals: Vec<&Goal> = doc.goals.iter().collect();
    goals.sort_by_key(|g| g.position);
    let item = |g: &Goal, children: Vec<Item>| Item {
        title: g.text.clone(),
        facts: facts([
            ("Så ser vi hur det går", g.measure.clone()),
            ("Klart senast", g.target_date.map(glossary::date)),
            ("Läge", Some(g.status.swedish().into())),
        ]),
        children,
    };
    let items: Vec<Item> = goals
        .iter()
        .filter(|g| g.parent_id.is_none())
        .map(|top| {
            let subgoals = goals
                .iter()
                .filter(|g| g.parent_id.as_deref() == Some(&top.id))
                .map(|g| item(g, vec![]))
                .collect();
            item(top, subgoals)
        })
        .collect();
    let blocks = if items.is_empty() {
        vec![Block::Text("Inga mål är skrivna i planen ännu.".into())]
    } else {
        vec![
            Block::Text("Här står dina mål. Under ett mål står de delmål som leder dit.".into()),
            Block::Items(items),
        ]
    };
    Section {
        id: "mal",
        heading: "Dina mål",
        blocks,
    }
}

fn interventions(doc: &PlanDocument, names: &UnitNames) -> Section {
    let goal_text: HashMap<&str, &str> = doc
        .goals
        .iter()
        .map(|g| (g.id.as_str(), g.text.as_str()))
        .collect();
    let mut all: Vec<&Intervention> = doc.interventions.iter().collect();
    all.sort_by_key(|i| i.position);
    let mut blocks = vec![Block::Text(
        "Här står vad som ska hända, vem som ansvarar för det och vem som gör det.".into(),
    )];
    for (party, heading, none) in PARTIES {
        blocks.push(Block::Subheading(heading.into()));
        let items: Vec<Item> = all
            .iter()
            .filter(|i| i.responsible == party)
            .map(|i| intervention(i, names, &goal_text))
            .collect();
        blocks.push(if items.is_empty() {
            Block::Text(none.into())
        } else {
            Block::Items(items)
        });
    }
    Section {
        id: "insatser",
        heading: "Det här ska hända",
        blocks,
    }
}

fn intervention(i: &Intervention, names: &UnitNames, goal_text: &HashMap<&str, &str>) -> Item {
    let responsible = match (&i.responsible_unit, &i.responsible_actor) {
        (Some(unit), _) => Some(format!("{}, {}", i.responsible.swedish(), names.name(unit))),
        (None, Some(actor)) => Some(actor.clone()),
        (None, None) => Some(i.responsible.swedish().to_string()),
    };
    let goals: Vec<&str> = i
        .goal_ids
        .iter()
        .filter_map(|id| goal_text.get(id.as_str()).copied())
        .collect();
    let mut status = i.status.swedish().to_string();
    if let Some(reason) = &i.status_reason {
        status = format!("{status}: {reason}");
    }
    Item {
        title: i.description.clone(),
        facts: facts([
            ("Ansvarar", responsible),
            ("Vem gör det", i.performer.clone()),
            ("Var", i.place.clone()),
            ("Hur ofta", i.frequency.clone()),
            ("Börjar", i.start_date.map(glossary::date)),
            ("Läge", Some(status)),
            (
                "Hjälper dig mot",
                (!goals.is_empty()).then(|| goals.join("; ")),
            ),
        ]),
        children: vec![],
    }
}

fn disagreements(doc: &PlanDocument) -> Section {
    let text = match &doc.meeting {
        None => "Planen är inte bestämd på ett möte ännu.".to_string(),
        Some(m) => match &m.disagreements {
            Some(d) => format!("Ni var inte överens om det här: {d}"),
            None => "Ni var överens om allt i planen.".to_string(),
        },
    };
    Section {
        id: "inte-overens",
        heading: "Det här var ni inte överens om",
        blocks: vec![Block::Text(text)],
    }
}

fn responsibility(doc: &PlanDocument, names: &UnitNames) -> Section {
    let coordinator = match &doc.plan.coordinator {
        Some(c) => format!("{}, {}", c.name, names.name(&c.hsa_id)),
        None => "Du har ingen samordnare ännu.".into(),
    };
    let overall = match doc.plan.responsible_principal {
        Some(p) => format!("{} har det övergripande ansvaret för planen.", p.swedish()),
        None => "Det är inte bestämt ännu vem som har det övergripande ansvaret för planen.".into(),
    };
    Section {
        id: "ansvar",
        heading: "Din samordnare och vem som har ansvaret",
        blocks: vec![
            Block::Text("Din samordnare håller ihop planen och är den du kan fråga om den.".into()),
            Block::Facts(vec![
                fact("Din samordnare", coordinator),
                fact("Övergripande ansvar", overall),
            ]),
        ],
    }
}

fn follow_up(doc: &PlanDocument) -> Section {
    let next = doc
        .follow_ups
        .iter()
        .filter(|f| f.held_on.is_none())
        .min_by_key(|f| f.scheduled_on);
    let mut blocks = vec![Block::Text(match next {
        Some(f) => format!(
            "Nästa uppföljning är {} på {}. Då går ni igenom hur det har gått med målen och \
             insatserna och bestämmer om planen ska fortsätta, ändras eller avslutas.",
            glossary::date(f.scheduled_on),
            f.place
        ),
        None => match doc.plan.next_follow_up_on {
            Some(day) => format!("Nästa uppföljning är {}.", glossary::date(day)),
            None => "Dagen för nästa uppföljning är inte bestämd ännu.".into(),
        },
    })];
    let mut held: Vec<_> = doc
        .follow_ups
        .iter()
        .filter_map(|f| Some((f.held_on?, f)))
        .collect();
    held.sort_by_key(|(day, _)| *day);
    if !held.is_empty() {
        blocks.push(Block::Subheading(
            "Uppföljningar som redan är gjorda".into(),
        ));
        blocks.push(Block::Items(
            held.into_iter()
                .map(|(day, f)| Item {
                    title: format!("Uppföljning {}", glossary::date(day)),
                    facts: facts([
                        ("Var", Some(f.place.clone())),
                        ("Nytt sedan förra gången", f.new_circumstances.clone()),
                        ("Beslut", f.decision.map(|d| d.swedish().to_string())),
                    ]),
                    children: vec![],
                })
                .collect(),
        ));
    }
    Section {
        id: "uppfoljning",
        heading: "Uppföljning",
        blocks,
    }
}

fn meeting(doc: &PlanDocument, names: &UnitNames) -> Section {
    let Some(m) = &doc.meeting else {
        return Section {
            id: "motet",
            heading: "De som var med på mötet",
            blocks: vec![Block::Text("Mötet om planen har inte hållits ännu.".into())],
        };
    };
    let participants = m
        .participants
        .iter()
        .map(|p| Item {
            title: p.name.clone(),
            facts: facts([
                ("Roll", p.role.clone()),
                ("Från", p.hsa_id.as_deref().map(|h| names.name(h))),
            ]),
            children: vec![],
        })
        .collect();
    Section {
        id: "motet",
        heading: "De som var med på mötet",
        blocks: vec![
            Block::Text(format!("Mötet hölls {}.", glossary::moment(m.held_at))),
            Block::Facts(vec![
                fact("Ledde mötet", m.leader.name.clone()),
                fact("Skrev ner planen", m.secretary.name.clone()),
            ]),
            Block::Items(participants),
        ],
    }
}

fn consent(doc: &PlanDocument, names: &UnitNames) -> Section {
    let mut blocks = Vec::new();
    let given: Vec<Item> = doc
        .consents
        .iter()
        .filter(|c| c.outcome == ConsentOutcome::Given)
        .map(|c| {
            let parties: Vec<String> = c
                .covered_parties
                .iter()
                .map(|p| match &p.hsa_id {
                    Some(h) => names.name(h),
                    None => p.name.clone(),
                })
                .collect();
            let givers: Vec<String> = c
                .givers
                .iter()
                .map(|g| match (g.role, &g.name, g.representative_kind) {
                    (GiverRole::Individual, _, _) => "Du".to_string(),
                    (_, Some(name), Some(kind)) => format!("{name}, {}", kind.swedish()),
                    (role, Some(name), None) => format!("{name}, {}", role.swedish()),
                    (role, None, _) => role.swedish().to_string(),
                })
                .collect();
            let state = if let Some(at) = c.withdrawn_at {
                format!("Tillbakataget {}", glossary::day(at))
            } else if c.active {
                "Gäller".to_string()
            } else {
                "Gäller inte längre".to_string()
            };
            Item {
                title: match c.valid_from {
                    Some(from) => format!("Samtycke från {}", glossary::date(from)),
                    None => "Samtycke".to_string(),
                },
                facts: facts([
                    ("De som får vara med", Some(parties.join(", "))),
                    (
                        "Gäller till",
                        Some(
                            c.valid_until
                                .map(glossary::date)
                                .unwrap_or_else(|| "tills vidare".into()),
                        ),
                    ),
                    ("Gav samtycket", Some(givers.join(", "))),
                    (
                        "Det här får inte delas",
                        (!c.not_consented_to.is_empty()).then(|| c.not_consented_to.join("; ")),
                    ),
                    ("Läge", Some(state)),
                ]),
                children: vec![],
            }
        })
        .collect();
    if given.is_empty() {
        blocks.push(Block::Text("Det finns inget samtycke till planen.".into()));
    } else {
        blocks.push(Block::Text(
            "De som står här får vara med i planen och dela det som behövs med varandra, för \
             att du har sagt ja till det."
                .into(),
        ));
        blocks.push(Block::Items(given));
    }
    blocks.push(Block::Text(
        "Du kan ta tillbaka ditt samtycke när du vill. Säg det till din samordnare eller till \
         någon av dem som är med i planen. Då avslutas planen, och de som är med får inte längre \
         se den."
            .into(),
    ));
    Section {
        id: "samtycke",
        heading: "Ditt samtycke",
        blocks,
    }
}
