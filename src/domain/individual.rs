//! Rules about the individual the plan is for.

use chrono::NaiveDate;

use super::identity::IdentityNumber;
use crate::error::FieldError;

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
