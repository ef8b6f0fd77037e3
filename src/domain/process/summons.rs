//! The summons (kallelse) to the SIP meeting and the recipients' answers.

use std::collections::HashSet;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::{blank, errors_or, Coverage, Deadlines};
use crate::domain::calendar::swedish_date;
use crate::domain::consent::{each_text_fits, Party, PartyKind};
use crate::domain::identity::HsaId;
use crate::domain::Principal;
use crate::error::FieldError;

crate::domain::text_enum! {
    /// Where the meeting is held.
    pub enum MeetingForm {
        /// In a unit's premises.
        Premises => "premises",
        /// In the individual's home.
        Home => "home",
        Video => "video",
        Phone => "phone",
    }
}

crate::domain::text_enum! {
    /// Units of a region or municipality are summoned (obliged to come); other actors are invited.
    pub enum Obligation {
        Summoned => "summoned",
        Invited => "invited",
    }
}

impl Obligation {
    pub fn of(principal: Principal) -> Obligation {
        match principal {
            Principal::Region | Principal::Municipality => Obligation::Summoned,
            Principal::Other => Obligation::Invited,
        }
    }
}

/// When and where the meeting is.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct MeetingSlot {
    pub starts_at: DateTime<Utc>,
    #[validate(length(min = 1, max = 500))]
    #[schema(
        example = "Vårdcentralen Söder, rum 3",
        min_length = 1,
        max_length = 500
    )]
    pub place: String,
    pub form: MeetingForm,
}

/// A summons (kallelse) to the SIP meeting.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "purpose": "To get going with work training",
    "questions": ["Who supports Lisa in the mornings?", "When can work training start?"],
    "meeting": {"starts_at": "2026-12-03T09:00:00Z", "place": "Vårdcentralen Söder, rum 3", "form": "premises"},
    "support_person": "Her sister",
    "recipients": [
        {"kind": "unit", "hsa_id": "SE2321000016-PSY1", "name": "Psykiatrisk öppenvård", "principal": "region"},
        {"kind": "unit", "hsa_id": "SE2120001314-SOC1", "name": "Socialtjänsten", "principal": "municipality"},
        {"kind": "actor", "name": "Arbetsförmedlingen", "principal": "other"}
    ]
}))]
pub struct NewSummons {
    /// The purpose: the individual's long-term goal.
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000)]
    pub purpose: String,
    /// The questions the meeting must answer (frågeställningar), so those summoned can prepare.
    #[validate(length(min = 1, max = 20), custom(function = "each_text_fits"))]
    #[schema(min_items = 1, max_items = 20, value_type = Vec<crate::domain::consent::ShortText>)]
    pub questions: Vec<String>,
    #[validate(nested)]
    pub meeting: MeetingSlot,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200, nullable = false)]
    pub support_person: Option<String>,
    /// The language, when an interpreter is needed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100, nullable = false)]
    pub interpreter_language: Option<String>,
    /// Other communicative, cognitive or physical adaptations.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000, nullable = false)]
    pub adaptations: Option<String>,
    /// The day by which each recipient must answer; defaults to two days before the meeting.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub answer_by: Option<NaiveDate>,
    /// Units and other actors; each must be covered by the individual's consent.
    #[validate(length(min = 1, max = 30), nested)]
    #[schema(min_items = 1, max_items = 30)]
    pub recipients: Vec<Party>,
}

/// What the server derives when a summons is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummonsFacts {
    pub answer_by: NaiveDate,
    pub meeting_within_deadline: bool,
    /// Only for a plan after discharge.
    pub summons_within_discharge_deadline: Option<bool>,
}

/// Summons go only to units and actors the individual's consent covers, for a meeting in the future.
pub fn check_summons(
    summons: &mut NewSummons,
    coverage: &Coverage,
    discharge_ready_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    deadlines: Deadlines,
) -> Result<SummonsFacts, Vec<FieldError>> {
    let mut errors = Vec::new();
    let meeting_at = summons.meeting.starts_at;
    if meeting_at <= now {
        errors.push(FieldError::new(
            "$.meeting.starts_at",
            "the meeting must lie in the future",
        ));
    }
    let today = swedish_date(now);
    let answer_by = summons
        .answer_by
        .unwrap_or_else(|| (swedish_date(meeting_at) - Duration::days(2)).max(today));
    if answer_by < today || answer_by > swedish_date(meeting_at) {
        errors.push(FieldError::new(
            "$.answer_by",
            "must be between today and the day of the meeting",
        ));
    }
    let mut seen = HashSet::new();
    for (i, recipient) in summons.recipients.iter_mut().enumerate() {
        let path = format!("$.recipients[{i}]");
        if let Err(e) = normalise_party(recipient, &path) {
            errors.push(e);
            continue;
        }
        let key = recipient
            .hsa_id
            .clone()
            .unwrap_or_else(|| recipient.name.trim().to_lowercase());
        if !seen.insert(key) {
            errors.push(FieldError::new(path, "this recipient is listed twice"));
        } else if !coverage.covers(recipient) {
            errors.push(FieldError::new(
                path,
                format!(
                    "{} is not covered by the individual's active consent",
                    recipient.name
                ),
            ));
        }
    }
    errors_or(errors)?;
    Ok(SummonsFacts {
        answer_by,
        meeting_within_deadline: meeting_at <= now + Duration::days(deadlines.meeting_days),
        summons_within_discharge_deadline: discharge_ready_at
            .map(|ready| now <= ready + Duration::days(deadlines.discharge_summons_days)),
    })
}

/// A unit needs a valid HSA-id (stored upper-cased); an actor may have one.
pub fn normalise_party(party: &mut Party, path: &str) -> Result<(), FieldError> {
    match (&party.hsa_id, party.kind) {
        (None, PartyKind::Unit) => Err(FieldError::new(
            format!("{path}.hsa_id"),
            "a unit is identified by its HSA-id",
        )),
        (None, PartyKind::Actor) => Ok(()),
        (Some(raw), _) => {
            let id = HsaId::parse(raw).map_err(|m| FieldError::new(format!("{path}.hsa_id"), m))?;
            party.hsa_id = Some(id.into_string());
            Ok(())
        }
    }
}

crate::domain::text_enum! {
    /// A recipient's answer to a summons.
    pub enum Response {
        /// Comes; `attendees` names who.
        Accepted => "accepted",
        /// Cannot come; `substitute` names who comes instead.
        Declined => "declined",
        /// Not the right unit: `forward_to` names another unit of the same principal, which becomes a
        /// recipient.
        Forwarded => "forwarded",
    }
}

/// A recipient's answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"response": "accepted", "attendees": ["Anna Lind, case manager"]}))]
pub struct SummonsAnswer {
    pub response: Response,
    /// For `accepted`: who will attend.
    #[serde(default)]
    #[validate(length(max = 10), custom(function = "each_text_fits"))]
    #[schema(max_items = 10, value_type = Vec<crate::domain::consent::ShortText>)]
    pub attendees: Vec<String>,
    /// For `declined`: the substitute who comes instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200, nullable = false)]
    pub substitute: Option<String>,
    /// For `forwarded`: the unit of the same principal that is the right one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(nested)]
    #[schema(nullable = false)]
    pub forward_to: Option<Party>,
}

/// The recipient as the answer rules need it.
pub struct RecipientState<'a> {
    pub principal: Principal,
    pub current_response: Option<Response>,
    pub hsa_id: Option<&'a str>,
}

pub fn check_answer(
    answer: &mut SummonsAnswer,
    recipient: &RecipientState<'_>,
    coverage: &Coverage,
) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    if recipient.current_response == Some(Response::Forwarded) {
        errors.push(FieldError::new(
            "$.response",
            "this recipient forwarded the summons; the unit it was forwarded to answers now",
        ));
    }
    match answer.response {
        Response::Accepted if answer.attendees.is_empty() => {
            errors.push(FieldError::new("$.attendees", "name who will attend"))
        }
        Response::Declined if blank(&answer.substitute) => errors.push(FieldError::new(
            "$.substitute",
            "a summoned unit that cannot come sends a substitute: name them",
        )),
        Response::Forwarded => match answer.forward_to.as_mut() {
            None => errors.push(FieldError::new(
                "$.forward_to",
                "name the unit the summons is forwarded to",
            )),
            Some(unit) => {
                if let Err(e) = normalise_party(unit, "$.forward_to") {
                    errors.push(e);
                } else if unit.kind != PartyKind::Unit || unit.principal != recipient.principal {
                    errors.push(FieldError::new(
                        "$.forward_to",
                        "a summons is forwarded only to another unit of the same principal",
                    ));
                } else if unit.hsa_id.as_deref() == recipient.hsa_id {
                    errors.push(FieldError::new(
                        "$.forward_to",
                        "the summons cannot be forwarded to the same unit",
                    ));
                } else if !coverage.covers(unit) {
                    errors.push(FieldError::new(
                        "$.forward_to",
                        format!(
                            "{} is not covered by the individual's active consent",
                            unit.name
                        ),
                    ));
                }
            }
        },
        _ => {}
    }
    if answer.response != Response::Forwarded && answer.forward_to.is_some() {
        errors.push(FieldError::new(
            "$.forward_to",
            "only a forwarded summons names another unit",
        ));
    }
    errors_or(errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-11-22T10:00:00Z".parse().unwrap()
    }

    fn party(kind: PartyKind, hsa: Option<&str>, name: &str, principal: Principal) -> Party {
        Party {
            kind,
            hsa_id: hsa.map(String::from),
            name: name.into(),
            principal,
        }
    }

    fn coverage() -> Coverage {
        Coverage {
            units: ["SE2321000016-PSY1".to_string()].into(),
            actors: ["arbetsförmedlingen".to_string()].into(),
            permits_summons: true,
            permits_establishing: true,
        }
    }

    fn summons(days_ahead: i64, recipients: Vec<Party>) -> NewSummons {
        NewSummons {
            purpose: "work".into(),
            questions: vec!["who?".into()],
            meeting: MeetingSlot {
                starts_at: now() + Duration::days(days_ahead),
                place: "here".into(),
                form: MeetingForm::Video,
            },
            support_person: None,
            interpreter_language: None,
            adaptations: None,
            answer_by: None,
            recipients,
        }
    }

    #[test]
    fn summons_go_only_to_covered_parties() {
        let mut s = summons(
            10,
            vec![
                party(
                    PartyKind::Unit,
                    Some("se2321000016-psy1"),
                    "Psykiatri",
                    Principal::Region,
                ),
                party(
                    PartyKind::Actor,
                    None,
                    "Arbetsförmedlingen ",
                    Principal::Other,
                ),
                party(
                    PartyKind::Unit,
                    Some("SE2120001314-SOC1"),
                    "Socialtjänsten",
                    Principal::Municipality,
                ),
                party(PartyKind::Actor, None, "The school", Principal::Other),
            ],
        );
        let errors =
            check_summons(&mut s, &coverage(), None, now(), Deadlines::default()).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["$.recipients[2]", "$.recipients[3]"]);
        assert!(errors[0].message.contains("Socialtjänsten"));
    }

    #[test]
    fn deadlines_are_recorded_not_enforced() {
        let psy = || {
            vec![party(
                PartyKind::Unit,
                Some("SE2321000016-PSY1"),
                "Psykiatri",
                Principal::Region,
            )]
        };
        let facts = check_summons(
            &mut summons(10, psy()),
            &coverage(),
            None,
            now(),
            Deadlines::default(),
        )
        .unwrap();
        assert!(facts.meeting_within_deadline);
        assert_eq!(facts.summons_within_discharge_deadline, None);
        assert_eq!(facts.answer_by, swedish_date(now() + Duration::days(8)));
        let late = check_summons(
            &mut summons(30, psy()),
            &coverage(),
            None,
            now(),
            Deadlines::default(),
        )
        .unwrap();
        assert!(!late.meeting_within_deadline);
        let halland = Deadlines {
            meeting_days: 30,
            ..Deadlines::default()
        };
        assert!(
            check_summons(&mut summons(30, psy()), &coverage(), None, now(), halland)
                .unwrap()
                .meeting_within_deadline
        );
        let ready = now() - Duration::days(4);
        let after_discharge = check_summons(
            &mut summons(5, psy()),
            &coverage(),
            Some(ready),
            now(),
            Deadlines::default(),
        )
        .unwrap();
        assert_eq!(
            after_discharge.summons_within_discharge_deadline,
            Some(false)
        );
        let ready = now() - Duration::days(2);
        let in_time = check_summons(
            &mut summons(5, psy()),
            &coverage(),
            Some(ready),
            now(),
            Deadlines::default(),
        )
        .unwrap();
        assert_eq!(in_time.summons_within_discharge_deadline, Some(true));
    }

    #[test]
    fn forwarding_stays_within_the_principal() {
        let recipient = RecipientState {
            principal: Principal::Region,
            current_response: None,
            hsa_id: Some("SE2321000016-PSY1"),
        };
        let mut cov = coverage();
        cov.units.insert("SE2321000016-VC01".into());
        cov.units.insert("SE2120001314-SOC1".into());
        let forward = |hsa: &str, principal| SummonsAnswer {
            response: Response::Forwarded,
            attendees: vec![],
            substitute: None,
            forward_to: Some(party(PartyKind::Unit, Some(hsa), "x", principal)),
        };
        assert!(check_answer(
            &mut forward("SE2321000016-VC01", Principal::Region),
            &recipient,
            &cov
        )
        .is_ok());
        assert!(check_answer(
            &mut forward("SE2120001314-SOC1", Principal::Municipality),
            &recipient,
            &cov
        )
        .is_err());
        let mut declined = SummonsAnswer {
            response: Response::Declined,
            attendees: vec![],
            substitute: None,
            forward_to: None,
        };
        assert_eq!(
            check_answer(&mut declined, &recipient, &cov).unwrap_err()[0].field,
            "$.substitute"
        );
    }
}

/// The individual's preparation for a meeting, as they send it (`/api/v1/me`).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "questions": ["Can I keep my apartment while in treatment?", "Who do I call when things get worse?"],
    "brings_support_person": true
}))]
pub struct PreparationInput {
    /// What they want the meeting to answer, in their own words.
    #[serde(default)]
    #[validate(
        length(max = 10),
        custom(function = "crate::domain::consent::each_text_fits")
    )]
    #[schema(max_items = 10, value_type = Vec<crate::domain::consent::ShortText>)]
    pub questions: Vec<String>,
    /// Whether they bring a support person (stödperson) to the meeting.
    pub brings_support_person: bool,
}

/// The individual prepares for a meeting only before it starts: after that the meeting has heard
/// them, and the plan records what was said.
pub fn check_preparation(
    meeting_at: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), crate::error::Error> {
    if now >= meeting_at {
        return Err(crate::error::Error::InvalidState {
            detail: "the meeting has begun: questions for it can be sent only before it starts"
                .into(),
            current_state: "meeting_begun".into(),
            allowed_actions: vec![],
        });
    }
    Ok(())
}
