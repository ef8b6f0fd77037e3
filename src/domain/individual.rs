//! Rules about the individual the plan is for, and the individual as clients send it.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::identity::IdentityNumber;
use crate::error::{Error, FieldError, Result};

/// A validated individual, as the API hands it over.
#[derive(Debug, Clone)]
pub struct IndividualData {
    pub identity_number: IdentityNumber,
    pub given_name: String,
    pub family_name: String,
    pub protected_identity: bool,
    pub guardians: Vec<GuardianData>,
}

#[derive(Debug, Clone)]
pub struct GuardianData {
    pub name: String,
    pub identity_number: Option<IdentityNumber>,
}

/// Guardians (vårdnadshavare) are registered for a child under 18: they consent for the child.
/// An adult who cannot consent has a legal representative instead, named on the consent itself.
pub fn check_guardians(
    identity_number: &IdentityNumber,
    guardian_numbers: &[Option<&IdentityNumber>],
    today: NaiveDate,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if !guardian_numbers.is_empty() && !identity_number.is_child_on(today) {
        errors.push(FieldError::new(
            "$.guardians",
            "guardians are registered only for a child under 18; an adult is represented by a legal representative on the consent",
        ));
    }
    for (i, number) in guardian_numbers.iter().enumerate() {
        if number.is_some_and(|n| n == identity_number) {
            errors.push(FieldError::new(
                format!("$.guardians[{i}].identity_number"),
                "a guardian cannot be the individual themself",
            ));
        }
    }
    errors
}

/// A guardian (vårdnadshavare) of a child.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct GuardianInput {
    #[validate(length(min = 1, max = 200))]
    #[schema(example = "Maria Svensson", min_length = 1, max_length = 200)]
    pub name: String,
    /// The guardian's personnummer, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(
        example = "19530901-1913",
        nullable = false,
        pattern = "^[0-9]{8}-?[0-9]{4}$"
    )]
    pub identity_number: Option<String>,
}

/// An individual as registered or updated (the whole representation).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "identity_number": "19121212-1212",
    "given_name": "Lisa",
    "family_name": "Testsson",
    "protected_identity": false
}))]
pub struct IndividualInput {
    /// Personnummer or samordningsnummer: `YYYYMMDDNNNC` or `YYYYMMDD-NNNC`, with a valid date and
    /// check digit. Stored without the hyphen.
    #[schema(example = "19121212-1212", pattern = "^[0-9]{8}-?[0-9]{4}$")]
    pub identity_number: String,
    #[validate(length(min = 1, max = 100))]
    #[schema(example = "Lisa", min_length = 1, max_length = 100)]
    pub given_name: String,
    #[validate(length(min = 1, max = 100))]
    #[schema(example = "Testsson", min_length = 1, max_length = 100)]
    pub family_name: String,
    /// Skyddad identitet: name and identity number are then never shown in lists.
    #[serde(default)]
    pub protected_identity: bool,
    /// Guardians of a child under 18 (they consent for the child).
    #[serde(default)]
    #[validate(length(max = 4), nested)]
    #[schema(max_items = 4)]
    pub guardians: Vec<GuardianInput>,
}

impl IndividualInput {
    /// Validates the identity numbers and the guardian rule: the one conversion from the wire to
    /// the domain.
    pub fn into_data(self, today: NaiveDate) -> Result<IndividualData> {
        let mut errors = Vec::new();
        let identity_number = IdentityNumber::parse(&self.identity_number, today)
            .map_err(|m| errors.push(FieldError::new("$.identity_number", m)))
            .ok();
        let mut guardians = Vec::new();
        for (i, g) in self.guardians.into_iter().enumerate() {
            let number = match g
                .identity_number
                .as_deref()
                .map(|n| IdentityNumber::parse(n, today))
            {
                None => None,
                Some(Ok(n)) => Some(n),
                Some(Err(m)) => {
                    errors.push(FieldError::new(
                        format!("$.guardians[{i}].identity_number"),
                        m,
                    ));
                    None
                }
            };
            guardians.push(GuardianData {
                name: g.name,
                identity_number: number,
            });
        }
        if let Some(n) = &identity_number {
            let numbers: Vec<_> = guardians
                .iter()
                .map(|g| g.identity_number.as_ref())
                .collect();
            errors.extend(check_guardians(n, &numbers, today));
        }
        match identity_number {
            Some(identity_number) if errors.is_empty() => Ok(IndividualData {
                identity_number,
                given_name: self.given_name,
                family_name: self.family_name,
                protected_identity: self.protected_identity,
                guardians,
            }),
            _ => Err(Error::Validation(errors)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_children_have_guardians_and_not_themselves() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let adult = IdentityNumber::parse("191212121212", today).unwrap();
        let child = IdentityNumber::parse("201205052382", today).unwrap();
        assert!(check_guardians(&child, &[None, Some(&adult)], today).is_empty());
        assert_eq!(
            check_guardians(&adult, &[None], today)[0].field,
            "$.guardians"
        );
        assert_eq!(
            check_guardians(&child, &[Some(&child)], today)[0].field,
            "$.guardians[0].identity_number"
        );
        assert!(check_guardians(&adult, &[], today).is_empty());
    }
}
