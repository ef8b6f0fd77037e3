//! Consent (samtycke): who may give it, what it must say, and when it is active.
//!
//! The rules, from DOMAIN.md and the guidelines (seeds 000, 001):
//! - consent is given before the process starts, written or verbal; a verbal consent names who
//!   documented it;
//! - it names which units and other actors may take part, what it permits, and it is time-limited;
//! - a child under 18 is informed and heard, and the guardians consent: every guardian registered
//!   for the child must be among those who give it, unless a legal representative gives it;
//! - someone who cannot consent is not shut out: a legal representative (god man, förvaltare,
//!   fullmakt, framtidsfullmakt) may consent for them;
//! - a refusal is documented as its own outcome, by the one who saw the need.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::identity::{HsaId, IdentityNumber};
use super::Principal;
use crate::error::FieldError;

crate::domain::text_enum! {
    pub enum ConsentOutcome {
        /// The consent was given.
        Given => "given",
        /// The individual (or guardian, representative) said no: a documented refusal.
        Refused => "refused",
    }
}

crate::domain::text_enum! {
    pub enum ConsentForm {
        /// Skriftligt samtycke.
        Written => "written",
        /// Muntligt samtycke: `documented_by` names who documented it in their journal.
        Verbal => "verbal",
    }
}

crate::domain::text_enum! {
    /// Who gives the consent.
    pub enum GiverRole {
        /// Den enskilde: the individual.
        Individual => "individual",
        /// Vårdnadshavare: a guardian of a child under 18 (refer to it by `guardian_id`).
        Guardian => "guardian",
        /// Företrädare: a legal representative (give `name` and `representative_kind`).
        LegalRepresentative => "legal_representative",
    }
}

crate::domain::text_enum! {
    /// The kind of legal representative.
    pub enum RepresentativeKind {
        /// God man.
        Trustee => "trustee",
        /// Förvaltare.
        Administrator => "administrator",
        /// Fullmakt.
        PowerOfAttorney => "power_of_attorney",
        /// Framtidsfullmakt.
        ContinuingPowerOfAttorney => "continuing_power_of_attorney",
    }
}

crate::domain::text_enum! {
    /// A party the consent covers.
    pub enum PartyKind {
        /// An organisation unit of a principal, identified by HSA-id.
        Unit => "unit",
        /// Another actor, e.g. the school, Arbetsförmedlingen, Försäkringskassan, an NGO.
        Actor => "actor",
    }
}

/// What the consent permits. Some regions (Stockholm) ask for each separately.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentPermissions {
    /// Sharing information between the parties (informationsöverföring).
    #[serde(default)]
    pub share_information: bool,
    /// Sending summons to the SIP meeting.
    #[serde(default)]
    pub send_summons: bool,
    /// Establishing the plan.
    #[serde(default)]
    pub establish_plan: bool,
    /// Involving relatives (närstående).
    #[serde(default)]
    pub involve_relatives: bool,
}

/// One person who gave (or refused) the consent.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ConsentGiver {
    pub role: GiverRole,
    /// For `guardian`: the id of one of the individual's registered guardians (in an
    /// `ImportRecord`: the guardian's identity number or name).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(length(min = 1, max = 200))]
    #[schema(nullable = false, min_length = 1, max_length = 200)]
    pub guardian_id: Option<String>,
    /// For `legal_representative`: the representative's name. For `guardian`, the server fills in
    /// the registered guardian's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200, nullable = false)]
    pub name: Option<String>,
    /// For `legal_representative`: the kind of representation.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub representative_kind: Option<RepresentativeKind>,
    /// For `legal_representative`, optional: their personnummer or samordningsnummer. With it they
    /// may act for the individual in an e-service (`/api/v1/me`) while this consent stands.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(
        example = "19530901-1913",
        nullable = false,
        pattern = "^[0-9]{8}-?[0-9]{4}$"
    )]
    pub identity_number: Option<String>,
}

/// A unit (by HSA-id) or another actor: covered by a consent, or a recipient of a summons.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct Party {
    pub kind: PartyKind,
    /// HSA-id; required for a `unit`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(
        example = "SE2321000016-PSY1",
        nullable = false,
        pattern = "^[Ss][Ee][0-9]{10}-[A-Za-z0-9]+$",
        min_length = 14,
        max_length = 31
    )]
    pub hsa_id: Option<String>,
    #[validate(length(min = 1, max = 200))]
    #[schema(
        example = "Psykiatrisk öppenvård Södermalm",
        min_length = 1,
        max_length = 200
    )]
    pub name: String,
    pub principal: Principal,
}

/// Records a consent — or a documented refusal — for a plan.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "outcome": "given",
    "form": "written",
    "givers": [{"role": "individual"}],
    "covered_parties": [
        {"kind": "unit", "hsa_id": "SE2321000016-PSY1", "name": "Psykiatrisk öppenvård Södermalm", "principal": "region"},
        {"kind": "unit", "hsa_id": "SE2120001314-SOC1", "name": "Socialtjänsten, beroendeenheten", "principal": "municipality"},
        {"kind": "actor", "name": "Arbetsförmedlingen", "principal": "other"}
    ],
    "permissions": {"share_information": true, "send_summons": true, "establish_plan": true, "involve_relatives": false},
    "not_consented_to": ["information about the custody case"],
    "valid_from": "2026-11-22",
    "valid_until": "2027-11-21"
}))]
pub struct NewConsent {
    pub outcome: ConsentOutcome,
    pub form: ConsentForm,
    /// Who documented a verbal consent or a refusal (name and role, e.g. "Kim Berg, kurator").
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200, nullable = false)]
    pub documented_by: Option<String>,
    /// Who gave or refused the consent.
    #[validate(length(min = 1, max = 10), nested)]
    #[schema(min_items = 1, max_items = 10)]
    pub givers: Vec<ConsentGiver>,
    /// The units and other actors that may take part and share information. Required when given.
    #[serde(default)]
    #[validate(length(max = 50), nested)]
    #[schema(max_items = 50)]
    pub covered_parties: Vec<Party>,
    #[serde(default)]
    pub permissions: ConsentPermissions,
    /// What the individual explicitly does not consent to.
    #[serde(default)]
    #[validate(
        length(max = 20),
        custom(function = "crate::domain::consent::each_text_fits")
    )]
    #[schema(max_items = 20, value_type = Vec<ShortText>)]
    pub not_consented_to: Vec<String>,
    /// First day the consent applies; defaults to today. Required with `valid_until` when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub valid_from: Option<NaiveDate>,
    /// Last day the consent applies (consent is time-limited). Required when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub valid_until: Option<NaiveDate>,
    /// Free text, e.g. the reason for a refusal.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000, nullable = false)]
    pub note: Option<String>,
}

/// Each item of a list of short texts: 1–500 characters, not blank (the `ShortText` schema).
pub fn each_text_fits(items: &[String]) -> Result<(), validator::ValidationError> {
    super::each_item_fits(items, SHORT_TEXT_MAX, |t| t.trim().is_empty())
}

/// The longest item of a list of short texts.
pub const SHORT_TEXT_MAX: usize = 500;

crate::schema::string_schema!(
    /// One item of a list of short texts (questions, topics to avoid, what is not consented to,
    /// attendees), checked by [`each_text_fits`].
    ShortText, 1, SHORT_TEXT_MAX, None, "1 to 500 characters, not blank"
);

/// The individual a consent is for, as far as the rules need them.
pub struct ConsentSubject<'a> {
    pub identity_number: &'a IdentityNumber,
    /// The registered guardians: (id, name).
    pub guardians: &'a [(String, String)],
}

/// The longest a consent may run. The guidelines say "time-limited" without a number; a year is
/// what the regions' consent forms commonly use, and a longer plan renews its consent.
pub const MAX_CONSENT_DAYS: i64 = 3 * 366;

/// Checks a consent against the rules above and fills in defaults (`valid_from` = today, the names
/// of guardians). Returns every broken rule at once, each with the JSON path of its field.
pub fn check_new_consent(
    consent: &mut NewConsent,
    subject: &ConsentSubject<'_>,
    today: NaiveDate,
) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut fail = |field: &str, message: &str| errors.push(FieldError::new(field, message));

    if consent.form == ConsentForm::Verbal && consent.documented_by.is_none() {
        fail(
            "$.documented_by",
            "a verbal consent must name who documented it",
        );
    }

    let given = consent.outcome == ConsentOutcome::Given;
    if given {
        let from = *consent.valid_from.get_or_insert(today);
        match consent.valid_until {
            None => fail(
                "$.valid_until",
                "consent is time-limited: give the last day it applies",
            ),
            Some(until) if until < from => fail("$.valid_until", "must not be before valid_from"),
            Some(until) if until < today => {
                fail("$.valid_until", "the consent has already expired")
            }
            Some(until) if (until - from).num_days() > MAX_CONSENT_DAYS => fail(
                "$.valid_until",
                "a consent may run at most three years; record a new consent to renew it",
            ),
            Some(_) => {}
        }
        if consent.covered_parties.is_empty() {
            fail(
                "$.covered_parties",
                "a given consent must name the units and actors it covers",
            );
        }
        let p = consent.permissions;
        if !(p.share_information || p.send_summons || p.establish_plan || p.involve_relatives) {
            fail(
                "$.permissions",
                "a given consent must permit at least one thing",
            );
        }
    } else if !consent.covered_parties.is_empty()
        || consent.permissions != ConsentPermissions::default()
    {
        fail("$.outcome", "a refusal covers no parties and permits nothing: leave covered_parties and permissions out");
    }

    let mut seen_units = std::collections::HashSet::new();
    for (i, party) in consent.covered_parties.iter_mut().enumerate() {
        let path = format!("$.covered_parties[{i}]");
        match (party.kind, party.hsa_id.as_deref()) {
            (PartyKind::Unit, None) => fail(
                &format!("{path}.hsa_id"),
                "a unit is identified by its HSA-id",
            ),
            (_, Some(raw)) => match HsaId::parse(raw) {
                Ok(id) => {
                    if !seen_units.insert(id.as_str().to_string()) {
                        fail(&format!("{path}.hsa_id"), "this unit is listed twice");
                    }
                    party.hsa_id = Some(id.into_string());
                }
                Err(message) => fail(&format!("{path}.hsa_id"), message),
            },
            (PartyKind::Actor, None) => {}
        }
    }

    check_givers(consent, subject, today, &mut fail);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn check_givers(
    consent: &mut NewConsent,
    subject: &ConsentSubject<'_>,
    today: NaiveDate,
    fail: &mut impl FnMut(&str, &str),
) {
    let on = consent.valid_from.unwrap_or(today).min(today);
    let child = subject.identity_number.is_child_on(on);
    let mut guardians_giving = std::collections::HashSet::new();
    let mut has_representative = false;
    for (i, giver) in consent.givers.iter_mut().enumerate() {
        let path = format!("$.givers[{i}]");
        match giver.role {
            GiverRole::Individual | GiverRole::Guardian if giver.identity_number.is_some() => {
                fail(
                    &format!("{path}.identity_number"),
                    "only a legal representative is given by identity number (a guardian is referred to by guardian_id)",
                );
            }
            GiverRole::Individual => {
                if giver.guardian_id.is_some() || giver.representative_kind.is_some() {
                    fail(&path, "the individual is given by role alone: leave guardian_id and representative_kind out");
                }
            }
            GiverRole::Guardian => {
                if !child {
                    fail(&format!("{path}.role"), "guardians consent only for a child under 18; an adult consents themself or through a legal representative");
                }
                let known = giver
                    .guardian_id
                    .as_deref()
                    .and_then(|id| subject.guardians.iter().find(|(gid, _)| gid == id));
                match known {
                    Some((id, name)) => {
                        if !guardians_giving.insert(id.clone()) {
                            fail(
                                &format!("{path}.guardian_id"),
                                "this guardian is listed twice",
                            );
                        }
                        giver.name = Some(name.clone());
                    }
                    None => fail(
                        &format!("{path}.guardian_id"),
                        "must be the id of one of the individual's registered guardians",
                    ),
                }
            }
            GiverRole::LegalRepresentative => {
                has_representative = true;
                if giver.name.is_none() {
                    fail(&format!("{path}.name"), "name the legal representative");
                }
                if giver.representative_kind.is_none() {
                    fail(
                        &format!("{path}.representative_kind"),
                        "say which kind of legal representative",
                    );
                }
                if let Some(number) = giver.identity_number.take() {
                    match IdentityNumber::parse(&number, today) {
                        Ok(n) if &n == subject.identity_number => fail(
                            &format!("{path}.identity_number"),
                            "a legal representative cannot be the individual themself",
                        ),
                        Ok(n) => giver.identity_number = Some(n.as_str().to_string()),
                        Err(message) => fail(&format!("{path}.identity_number"), message),
                    }
                }
            }
        }
    }
    if child && !has_representative {
        let missing = subject
            .guardians
            .iter()
            .filter(|(id, _)| !guardians_giving.contains(id))
            .count();
        if subject.guardians.is_empty() {
            fail("$.givers", "the individual is a child: register their guardians first, then record the guardians' consent");
        } else if missing > 0 {
            fail(
                "$.givers",
                "the individual is a child: every registered guardian must give the consent",
            );
        }
    }
}

/// A consent applies on `today` when it was given, is not withdrawn, and `today` is within its
/// validity (both days included).
pub fn is_active(
    outcome: ConsentOutcome,
    withdrawn_at: Option<DateTime<Utc>>,
    valid_from: Option<NaiveDate>,
    valid_until: Option<NaiveDate>,
    today: NaiveDate,
) -> bool {
    outcome == ConsentOutcome::Given
        && withdrawn_at.is_none()
        && valid_from.is_some_and(|from| from <= today)
        && valid_until.is_some_and(|until| today <= until)
}

/// The days on which a plan's consents hold (samtyckets giltighetstid): one window for each given
/// consent that is not withdrawn, in the order they were recorded. The plan keeps them on its own
/// row, written in the transaction that records or withdraws a consent, so that every read of a
/// plan — one, a page of fifty, the whole document — knows whether a consent is active on the day
/// it is read without reading the plan's consents (on PostgreSQL that per-plan subquery was a
/// third of a list's time in the database). Who may see the plan is decided elsewhere, by the
/// grants (`db::access`); these windows only answer "is a consent active, and until when".
#[derive(
    Debug,
    Clone,
    Default,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    diesel::expression::AsExpression,
    diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[serde(transparent)]
pub struct ConsentWindows(Vec<ConsentWindow>);

/// The first and last day of one given consent (both included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct ConsentWindow {
    valid_from: NaiveDate,
    valid_until: NaiveDate,
}

impl ConsentWindows {
    /// A plan before any consent is given.
    pub fn none() -> ConsentWindows {
        ConsentWindows(Vec::new())
    }

    /// The windows once a consent with this outcome and these days is recorded: a given consent
    /// adds its window; a refusal, or a consent without both days (which never applies,
    /// [`is_active`]), adds none.
    pub fn with_recorded(
        mut self,
        outcome: ConsentOutcome,
        valid_from: Option<NaiveDate>,
        valid_until: Option<NaiveDate>,
    ) -> ConsentWindows {
        if let (ConsentOutcome::Given, Some(valid_from), Some(valid_until)) =
            (outcome, valid_from, valid_until)
        {
            self.0.push(ConsentWindow {
                valid_from,
                valid_until,
            });
        }
        self
    }

    /// The last day of the longest-running consent active on `today`, if one is: the rule of
    /// [`is_active`] over the consents that are given and not withdrawn.
    pub fn active_until(&self, today: NaiveDate) -> Option<NaiveDate> {
        self.0
            .iter()
            .filter(|w| w.valid_from <= today && today <= w.valid_until)
            .map(|w| w.valid_until)
            .max()
    }

    /// As stored in the plan's row: a JSON array of `{"valid_from", "valid_until"}`.
    pub fn to_stored(&self) -> String {
        // Dates in a list of plain structs always serialise; the fallback only satisfies the type.
        serde_json::to_string(self).unwrap_or_else(|_| "[]".into())
    }

    /// The windows a plan's row holds; none when the text is not what [`Self::to_stored`] writes.
    pub fn from_stored(text: &str) -> Option<ConsentWindows> {
        serde_json::from_str(text).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn today() -> NaiveDate {
        day(2026, 11, 22)
    }

    fn adult() -> IdentityNumber {
        IdentityNumber::parse("191212121212", today()).unwrap()
    }

    fn child() -> IdentityNumber {
        // Born 2012-05-05: check digit computed by hand (Luhn over 120505238).
        IdentityNumber::parse("201205052382", today()).unwrap()
    }

    fn party() -> Party {
        Party {
            kind: PartyKind::Unit,
            hsa_id: Some("se2321000016-psy1".into()),
            name: "Psykiatri".into(),
            principal: Principal::Region,
        }
    }

    fn consent(givers: Vec<ConsentGiver>) -> NewConsent {
        NewConsent {
            outcome: ConsentOutcome::Given,
            form: ConsentForm::Written,
            documented_by: None,
            givers,
            covered_parties: vec![party()],
            permissions: ConsentPermissions {
                share_information: true,
                ..Default::default()
            },
            not_consented_to: vec![],
            valid_from: None,
            valid_until: Some(day(2027, 6, 1)),
            note: None,
        }
    }

    fn giver(role: GiverRole) -> ConsentGiver {
        ConsentGiver {
            role,
            guardian_id: None,
            name: None,
            representative_kind: None,
            identity_number: None,
        }
    }

    fn fields(result: Result<(), Vec<FieldError>>) -> Vec<String> {
        result
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn an_adults_own_written_consent_passes_and_gets_defaults() {
        let id = adult();
        let subject = ConsentSubject {
            identity_number: &id,
            guardians: &[],
        };
        let mut c = consent(vec![giver(GiverRole::Individual)]);
        assert_eq!(check_new_consent(&mut c, &subject, today()), Ok(()));
        assert_eq!(c.valid_from, Some(today()));
        assert_eq!(
            c.covered_parties[0].hsa_id.as_deref(),
            Some("SE2321000016-PSY1")
        );
    }

    #[test]
    fn consent_must_be_time_limited_documented_and_cover_someone() {
        let id = adult();
        let subject = ConsentSubject {
            identity_number: &id,
            guardians: &[],
        };
        let mut c = consent(vec![giver(GiverRole::Individual)]);
        c.form = ConsentForm::Verbal;
        c.valid_until = None;
        c.covered_parties.clear();
        c.permissions = ConsentPermissions::default();
        assert_eq!(
            fields(check_new_consent(&mut c, &subject, today())),
            [
                "$.documented_by",
                "$.valid_until",
                "$.covered_parties",
                "$.permissions"
            ]
        );
        let mut c = consent(vec![giver(GiverRole::Individual)]);
        c.valid_until = Some(day(2030, 1, 1));
        assert_eq!(
            fields(check_new_consent(&mut c, &subject, today())),
            ["$.valid_until"]
        );
    }

    #[test]
    fn a_childs_consent_needs_every_registered_guardian() {
        let id = child();
        let guardians = [
            ("g1".to_string(), "Anna".to_string()),
            ("g2".to_string(), "Bo".to_string()),
        ];
        let subject = ConsentSubject {
            identity_number: &id,
            guardians: &guardians,
        };
        let mut only_child = consent(vec![giver(GiverRole::Individual)]);
        assert_eq!(
            fields(check_new_consent(&mut only_child, &subject, today())),
            ["$.givers"]
        );

        let guardian = |id: &str| ConsentGiver {
            guardian_id: Some(id.into()),
            ..giver(GiverRole::Guardian)
        };
        let mut one = consent(vec![giver(GiverRole::Individual), guardian("g1")]);
        assert_eq!(
            fields(check_new_consent(&mut one, &subject, today())),
            ["$.givers"]
        );

        let mut both = consent(vec![
            giver(GiverRole::Individual),
            guardian("g1"),
            guardian("g2"),
        ]);
        assert_eq!(check_new_consent(&mut both, &subject, today()), Ok(()));
        assert_eq!(both.givers[2].name.as_deref(), Some("Bo"));

        let mut unknown = consent(vec![guardian("g1"), guardian("nope")]);
        assert_eq!(
            fields(check_new_consent(&mut unknown, &subject, today())),
            ["$.givers[1].guardian_id", "$.givers"]
        );
    }

    #[test]
    fn guardians_do_not_consent_for_adults_but_representatives_do() {
        let id = adult();
        let subject = ConsentSubject {
            identity_number: &id,
            guardians: &[],
        };
        let mut c = consent(vec![ConsentGiver {
            guardian_id: Some("g".into()),
            ..giver(GiverRole::Guardian)
        }]);
        assert_eq!(
            fields(check_new_consent(&mut c, &subject, today())),
            ["$.givers[0].role", "$.givers[0].guardian_id"]
        );
        let mut incomplete = consent(vec![giver(GiverRole::LegalRepresentative)]);
        assert_eq!(
            fields(check_new_consent(&mut incomplete, &subject, today())),
            ["$.givers[0].name", "$.givers[0].representative_kind"]
        );
        let mut god_man = consent(vec![ConsentGiver {
            name: Some("Gun Andersson".into()),
            representative_kind: Some(RepresentativeKind::Trustee),
            ..giver(GiverRole::LegalRepresentative)
        }]);
        assert_eq!(check_new_consent(&mut god_man, &subject, today()), Ok(()));
    }

    #[test]
    fn a_refusal_permits_nothing() {
        let id = adult();
        let subject = ConsentSubject {
            identity_number: &id,
            guardians: &[],
        };
        let mut c = consent(vec![giver(GiverRole::Individual)]);
        c.outcome = ConsentOutcome::Refused;
        assert_eq!(
            fields(check_new_consent(&mut c, &subject, today())),
            ["$.outcome"]
        );
        c.covered_parties.clear();
        c.permissions = ConsentPermissions::default();
        c.valid_until = None;
        assert_eq!(check_new_consent(&mut c, &subject, today()), Ok(()));
    }

    #[test]
    fn activity_follows_outcome_withdrawal_and_validity() {
        let t = today();
        let active = |o, w, f, u| is_active(o, w, f, u, t);
        assert!(active(ConsentOutcome::Given, None, Some(t), Some(t)));
        assert!(!active(ConsentOutcome::Refused, None, Some(t), Some(t)));
        assert!(!active(
            ConsentOutcome::Given,
            Some(Utc::now()),
            Some(t),
            Some(t)
        ));
        assert!(!active(
            ConsentOutcome::Given,
            None,
            Some(day(2026, 11, 23)),
            Some(day(2027, 1, 1))
        ));
        assert!(!active(
            ConsentOutcome::Given,
            None,
            Some(day(2026, 1, 1)),
            Some(day(2026, 11, 21))
        ));
    }

    #[test]
    fn the_plans_consent_windows_answer_as_its_consents_would() {
        let t = today();
        let cases = [
            (ConsentOutcome::Given, Some(t), Some(t)),
            (ConsentOutcome::Refused, Some(t), Some(t)),
            (ConsentOutcome::Given, None, Some(t)),
            (ConsentOutcome::Given, Some(t), None),
            (
                ConsentOutcome::Given,
                Some(day(2026, 11, 23)),
                Some(day(2027, 1, 1)),
            ),
            (
                ConsentOutcome::Given,
                Some(day(2026, 1, 1)),
                Some(day(2026, 11, 21)),
            ),
            (
                ConsentOutcome::Given,
                Some(day(2026, 1, 1)),
                Some(day(2027, 6, 30)),
            ),
        ];
        for (outcome, from, until) in cases {
            let one = ConsentWindows::none().with_recorded(outcome, from, until);
            let active = is_active(outcome, None, from, until, t);
            assert_eq!(one.active_until(t), until.filter(|_| active));
        }
        // Several: the latest last day among those active today, whatever their order.
        let several = cases.iter().fold(ConsentWindows::none(), |w, &(o, f, u)| {
            w.with_recorded(o, f, u)
        });
        assert_eq!(several.active_until(t), Some(day(2027, 6, 30)));
        assert_eq!(several.active_until(day(2025, 12, 31)), None);
        assert_eq!(ConsentWindows::none().active_until(t), None);
    }

    #[test]
    fn consent_windows_are_stored_as_json_and_read_back() {
        let windows = ConsentWindows::none().with_recorded(
            ConsentOutcome::Given,
            Some(day(2026, 1, 1)),
            Some(day(2026, 12, 31)),
        );
        let stored = windows.to_stored();
        assert_eq!(
            stored,
            r#"[{"valid_from":"2026-01-01","valid_until":"2026-12-31"}]"#
        );
        assert_eq!(ConsentWindows::from_stored(&stored), Some(windows));
        assert_eq!(
            ConsentWindows::from_stored("[]"),
            Some(ConsentWindows::none())
        );
        // PostgreSQL's json_build_object spaces its output: the migration's text reads the same.
        assert!(ConsentWindows::from_stored(
            r#"[{"valid_from" : "2026-01-01", "valid_until" : "2026-12-31"}]"#
        )
        .is_some());
        assert_eq!(ConsentWindows::from_stored("not json"), None);
    }
}
