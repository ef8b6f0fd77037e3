//! Identity numbers of people (personnummer, samordningsnummer) and of organisation units (HSA-id).

use chrono::{Datelike, NaiveDate};

crate::domain::text_enum! {
    /// Which kind of Swedish identity number an individual has.
    pub enum IdentityKind {
        /// Personnummer, from the population register.
        Personnummer => "personnummer",
        /// Samordningsnummer (coordination number): the day of birth plus 60.
        Samordningsnummer => "samordningsnummer",
    }
}

/// A validated personnummer or samordningsnummer in its canonical form: 12 digits, `YYYYMMDDNNNC`.
///
/// The check digit is a Luhn sum over the last ten digits *as written*. For a samordningsnummer that
/// includes the day plus 60 (Skatteverket SKV 707). The `personnummer` crate computes it over the
/// un-adjusted day and so rejects real samordningsnummer; that is why this check is our own.
#[derive(Clone, PartialEq, Eq)]
pub struct IdentityNumber {
    digits: String,
    kind: IdentityKind,
    birth_date: NaiveDate,
}

// Never print the number itself: it is personal data and must not reach a log line.
impl std::fmt::Debug for IdentityNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdentityNumber(****)")
    }
}

impl IdentityNumber {
    /// Accepts `YYYYMMDDNNNC` and `YYYYMMDD-NNNC`; `today` bounds the date of birth.
    pub fn parse(input: &str, today: NaiveDate) -> Result<Self, &'static str> {
        let input = input.trim();
        let digits: String = match input.len() {
            12 => input.to_string(),
            13 if input.as_bytes()[8] == b'-' => format!("{}{}", &input[..8], &input[9..]),
            _ => return Err("expected 12 digits as YYYYMMDDNNNC or YYYYMMDD-NNNC"),
        };
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err("expected 12 digits as YYYYMMDDNNNC or YYYYMMDD-NNNC");
        }
        let number =
            |range: std::ops::Range<usize>| -> u32 { digits[range].parse().unwrap_or_default() };
        let (year, month, day) = (number(0..4), number(4..6), number(6..8));
        let (kind, birth_day) = if day > 60 {
            (IdentityKind::Samordningsnummer, day - 60)
        } else {
            (IdentityKind::Personnummer, day)
        };
        let birth_date = NaiveDate::from_ymd_opt(year as i32, month, birth_day)
            .ok_or("the date of birth is not a real calendar date")?;
        if birth_date > today || year < 1800 {
            return Err("the date of birth is out of range");
        }
        if luhn_check_digit(&digits.as_bytes()[2..11]) != digits.as_bytes()[11] - b'0' {
            return Err("the check digit does not match");
        }
        Ok(IdentityNumber {
            digits,
            kind,
            birth_date,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.digits
    }

    pub fn kind(&self) -> IdentityKind {
        self.kind
    }

    pub fn birth_date(&self) -> NaiveDate {
        self.birth_date
    }

    /// Age in whole years on `date`.
    pub fn age_on(&self, date: NaiveDate) -> i32 {
        let b = self.birth_date;
        let had_birthday = (date.month(), date.day()) >= (b.month(), b.day());
        date.year() - b.year() - if had_birthday { 0 } else { 1 }
    }

    /// A child (under 18) on `date`: guardians consent for them.
    pub fn is_child_on(&self, date: NaiveDate) -> bool {
        self.age_on(date) < 18
    }
}

/// The Luhn check digit of ASCII digits (weights 2,1,2,1… from the left).
fn luhn_check_digit(digits: &[u8]) -> u8 {
    let sum: u32 = digits
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let v = u32::from(d - b'0') * if i % 2 == 0 { 2 } else { 1 };
            if v > 9 {
                v - 9
            } else {
                v
            }
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

/// An HSA-id of an organisation unit, e.g. `SE2321000016-ABC1`: `SE`, the ten-digit
/// organisation number of the care provider, a hyphen and the unit's own part (letters and digits),
/// at most 31 characters. Stored in upper case.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Hash,
    diesel::expression::AsExpression,
    diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub struct HsaId(String);

/// Read back from a row as JSON (the PostgreSQL whole-plan read): checked like any input.
impl<'de> serde::Deserialize<'de> for HsaId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        if text.is_empty() {
            return Ok(HsaId::none());
        }
        HsaId::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl std::fmt::Display for HsaId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Used as text wherever text is taken; text becomes an HSA-id only through `parse`.
impl std::ops::Deref for HsaId {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<HsaId> for String {
    fn from(id: HsaId) -> String {
        id.0
    }
}

impl PartialEq<str> for HsaId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for HsaId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl HsaId {
    pub const MAX_LEN: usize = 31;

    pub fn parse(input: &str) -> Result<Self, &'static str> {
        const FORMAT: &str = "expected an HSA-id such as SE2321000016-ABC1: SE, ten digits, a hyphen and letters or digits";
        let id = input.trim().to_ascii_uppercase();
        if id.len() > Self::MAX_LEN || id.len() < 14 {
            return Err(FORMAT);
        }
        let bytes = id.as_bytes();
        let ok = id.starts_with("SE")
            && bytes[2..12].iter().all(u8::is_ascii_digit)
            && bytes[12] == b'-'
            && bytes[13..].iter().all(u8::is_ascii_alphanumeric);
        if ok {
            Ok(HsaId(id))
        } else {
            Err(FORMAT)
        }
    }

    /// An HSA-id of a request that its step's rules have already checked and normalised
    /// (`normalise_hsa`, `normalise_party`), as the typed value a row holds. Failing here is a
    /// fault of the service, not the client's: the check let through what is not an HSA-id.
    pub fn checked(text: &str) -> Result<HsaId, crate::error::Error> {
        HsaId::parse(text).map_err(|_| {
            crate::error::Error::Internal("an HSA-id passed its check but is not one".into())
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// No unit: the caller is an individual (through an e-service), not a unit's staff. Empty, so
    /// it equals no unit's HSA-id and matches no unit's rows.
    pub fn none() -> HsaId {
        HsaId(String::new())
    }

    pub fn into_string(self) -> String {
        self.0
    }

    /// The organisation the unit belongs to: `SE` and the care provider's or municipality's
    /// organisation number, the part before the hyphen (`SE2321000016` of `SE2321000016-PSY1`).
    /// Log follow-up is done per organisation, for its own staff.
    pub fn organisation(&self) -> &str {
        self.0.get(..12).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
    }

    #[test]
    fn accepts_published_test_personnummer_in_both_forms() {
        let a = IdentityNumber::parse("19121212-1212", today()).unwrap();
        let b = IdentityNumber::parse("191212121212", today()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.as_str(), "191212121212");
        assert_eq!(a.kind(), IdentityKind::Personnummer);
        assert_eq!(
            a.birth_date(),
            NaiveDate::from_ymd_opt(1912, 12, 12).unwrap()
        );
    }

    #[test]
    fn accepts_a_samordningsnummer_with_the_check_digit_over_day_plus_60() {
        let s = IdentityNumber::parse("19701063-2391", today()).unwrap();
        assert_eq!(s.kind(), IdentityKind::Samordningsnummer);
        assert_eq!(
            s.birth_date(),
            NaiveDate::from_ymd_opt(1970, 10, 3).unwrap()
        );
    }

    #[test]
    fn rejects_wrong_check_digit_date_and_format() {
        let cases = [
            ("19121212-1213", "the check digit does not match"),
            (
                "19120230-1219",
                "the date of birth is not a real calendar date",
            ),
            (
                "1212121212",
                "expected 12 digits as YYYYMMDDNNNC or YYYYMMDD-NNNC",
            ),
            (
                "19121212+1212",
                "expected 12 digits as YYYYMMDDNNNC or YYYYMMDD-NNNC",
            ),
            (
                "1912121A1212",
                "expected 12 digits as YYYYMMDDNNNC or YYYYMMDD-NNNC",
            ),
            ("30121212-1212", "the date of birth is out of range"),
            ("", "expected 12 digits as YYYYMMDDNNNC or YYYYMMDD-NNNC"),
            (
                "1912121é212",
                "expected 12 digits as YYYYMMDDNNNC or YYYYMMDD-NNNC",
            ),
        ];
        for (input, message) in cases {
            assert_eq!(
                IdentityNumber::parse(input, today()).err(),
                Some(message),
                "{input}"
            );
        }
    }

    #[test]
    fn computes_age_and_childhood_on_a_date() {
        let child = IdentityNumber::parse("201205052382", today()).unwrap();
        assert_eq!(child.age_on(today()), 14);
        assert!(child.is_child_on(today()));
        assert!(child.is_child_on(NaiveDate::from_ymd_opt(2030, 5, 4).unwrap()));
        assert!(!child.is_child_on(NaiveDate::from_ymd_opt(2030, 5, 5).unwrap()));
    }

    #[test]
    fn debug_output_hides_the_number() {
        let n = IdentityNumber::parse("191212121212", today()).unwrap();
        assert!(!format!("{n:?}").contains("1212"));
    }

    #[test]
    fn an_hsa_ids_organisation_is_the_part_before_the_hyphen() {
        let unit = HsaId::parse("se2321000016-psy1").unwrap();
        assert_eq!(unit.organisation(), "SE2321000016");
    }

    #[test]
    fn hsa_ids_are_validated_and_upper_cased() {
        assert_eq!(
            HsaId::parse("se2321000016-abc1").unwrap().as_str(),
            "SE2321000016-ABC1"
        );
        for bad in [
            "",
            "SE2321000016",
            "SE232100001-ABC1",
            "XX2321000016-ABC1",
            "SE2321000016-AB C",
            "SE2321000016-ABCDEFGHIJKLMNOPQRS",
        ] {
            assert!(HsaId::parse(bad).is_err(), "{bad}");
        }
    }
}
