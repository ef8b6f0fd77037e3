//! Who an individual may act for through an e-service (`/api/v1/me`): themselves, a child as
//! a registered guardian, a person as the legal representative named on a consent that stands.
//!
//! The ages follow 1177's rules for a person's own records, which Swedish e-services and their
//! users already know: a guardian acts for a child until the child turns 13, and a person acts for
//! themselves from 16. Between 13 and 16 nobody does through the e-service: the child's growing
//! right to privacy towards their guardians (föräldrabalken 6 kap. 11 §; OSL 12 kap. 3 §) is
//! weighed case by case by staff, which an e-service cannot do.

use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;

use super::identity::IdentityNumber;

/// A person acts for themselves in the e-service from this age.
pub const ACTS_FOR_THEMSELVES_FROM: i32 = 16;
/// A guardian acts for a child in the e-service until the child reaches this age.
pub const GUARDIANS_ACT_UNTIL: i32 = 13;

/// In what capacity the caller acts for a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActingAs {
    /// The person themselves.
    Themselves,
    /// A guardian (vårdnadshavare) registered on the child's record.
    Guardian,
    /// The legal representative (företrädare) named on a consent of the person's plan that stands.
    LegalRepresentative,
}

impl ActingAs {
    /// How the access log and the change feed name the one acting: never by identity number
    /// (a feed reaches other units), by the record that makes them entitled — `individual`,
    /// `guardian:<guardian id>`, `legal_representative:<consent id>`.
    pub fn subject(self, entitlement: &str) -> String {
        match self {
            ActingAs::Themselves => "individual".into(),
            ActingAs::Guardian => format!("guardian:{entitlement}"),
            ActingAs::LegalRepresentative => format!("legal_representative:{entitlement}"),
        }
    }

    /// The capacity a recorded subject names (see [`ActingAs::subject`]).
    pub fn of_subject(subject: &str) -> ActingAs {
        if subject.starts_with("guardian:") {
            ActingAs::Guardian
        } else if subject.starts_with("legal_representative:") {
            ActingAs::LegalRepresentative
        } else {
            ActingAs::Themselves
        }
    }

    /// Whether a recorded subject is an individual acting through an e-service (not staff).
    pub fn is_individual_subject(subject: &str, unit: &str) -> bool {
        unit.is_empty()
            && (subject == "individual"
                || subject.starts_with("guardian:")
                || subject.starts_with("legal_representative:"))
    }
}

/// Whether someone may act for `person` in `capacity` on `today`. A person with protected identity
/// (skyddad identitet) is reached only by themselves: a guardian or representative registered by
/// a unit may be the very person the protection is against, which the e-service cannot know.
pub fn may_act_for(
    capacity: ActingAs,
    person: &IdentityNumber,
    protected_identity: bool,
    today: NaiveDate,
) -> bool {
    let age = person.age_on(today);
    match capacity {
        ActingAs::Themselves => age >= ACTS_FOR_THEMSELVES_FROM,
        ActingAs::Guardian => !protected_identity && age < GUARDIANS_ACT_UNTIL,
        ActingAs::LegalRepresentative => !protected_identity,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn child() -> IdentityNumber {
        // Born 2012-05-05.
        IdentityNumber::parse("201205052382", on(2026, 1, 1)).unwrap()
    }

    #[test]
    fn a_guardian_acts_for_a_child_until_the_child_turns_13() {
        assert!(may_act_for(
            ActingAs::Guardian,
            &child(),
            false,
            on(2025, 5, 4)
        ));
        assert!(!may_act_for(
            ActingAs::Guardian,
            &child(),
            false,
            on(2025, 5, 5)
        ));
        assert!(!may_act_for(
            ActingAs::Guardian,
            &child(),
            true,
            on(2020, 1, 1)
        ));
    }

    #[test]
    fn a_person_acts_for_themselves_from_16() {
        assert!(!may_act_for(
            ActingAs::Themselves,
            &child(),
            false,
            on(2028, 5, 4)
        ));
        assert!(may_act_for(
            ActingAs::Themselves,
            &child(),
            false,
            on(2028, 5, 5)
        ));
        // Protected identity does not stop the person themselves.
        assert!(may_act_for(
            ActingAs::Themselves,
            &child(),
            true,
            on(2028, 5, 5)
        ));
    }

    #[test]
    fn a_representative_acts_unless_the_person_is_protected() {
        assert!(may_act_for(
            ActingAs::LegalRepresentative,
            &child(),
            false,
            on(2040, 1, 1)
        ));
        assert!(!may_act_for(
            ActingAs::LegalRepresentative,
            &child(),
            true,
            on(2040, 1, 1)
        ));
    }
}
