//! The SIP process rules. Pure: no I/O, no clock (the current time is passed in), no HTTP.
//! Every rule the server enforces lives here, so it is found in one place and unit-tested.

pub mod access;
pub mod calendar;
pub mod consent;
pub mod deviation;
pub mod events;
pub mod identity;
pub mod ids;
pub mod import;
pub mod indicators;
pub mod individual;
pub mod plan;
pub mod process;
pub mod representation;
pub mod survey;
pub mod webhook;

use chrono::{DateTime, SubsecRound, Utc};

use crate::schema::string_schema;

/// The longest reference to another item of the request (a goal's id, or in an import the
/// record's own key for it).
pub const REFERENCE_MAX: usize = 100;

string_schema!(
    /// A reference to another item: its id, or in an `ImportRecord` the record's own key for it.
    Reference, 1, REFERENCE_MAX, None, "an id (in an import record: the record's own key), 1 to 100 characters"
);

/// Each reference of a list is 1–100 characters; the error names the items at fault.
pub fn each_reference_fits(items: &[String]) -> Result<(), validator::ValidationError> {
    each_item_fits(items, REFERENCE_MAX, |r| r.is_empty())
}

/// A rule over each item of a list of texts: at most `max` characters and not `empty`. The error
/// carries the positions of the items at fault, so the problem names each one
/// (`$.topics_to_avoid[2]`), never their text.
pub fn each_item_fits(
    items: &[String],
    max: usize,
    empty: impl Fn(&str) -> bool,
) -> Result<(), validator::ValidationError> {
    let at_fault: Vec<usize> = items
        .iter()
        .enumerate()
        .filter(|(_, item)| empty(item) || item.chars().count() > max)
        .map(|(i, _)| i)
        .collect();
    if at_fault.is_empty() {
        return Ok(());
    }
    let mut error = validator::ValidationError::new("length")
        .with_message(format!("must be 1 to {max} characters, not blank").into());
    error.add_param("items".into(), &at_fault);
    Err(error)
}

/// `bytes` in lowercase hex, two digits a byte: how digests (import fingerprints, access-log seals,
/// survey codes, webhook signatures) and trace ids are written.
pub fn lower_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(2 * bytes.len());
    for byte in bytes {
        hex.push(char::from(DIGITS[usize::from(byte >> 4)]));
        hex.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    hex
}

/// A time at the precision both databases keep (microseconds), so a value read back equals the
/// value written on SQLite and PostgreSQL alike. The current time is `crate::clock::Clock::now`.
pub fn truncate_to_micros(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(6)
}

/// Optimistic concurrency: 412 unless the stored version is the one the client read (`If-Match`).
/// `None` means the client accepts any version.
pub fn ensure_version(
    expected: &Option<Versions>,
    current: i64,
) -> Result<(), crate::error::Error> {
    match expected {
        Some(versions) if !versions.0.contains(&current) => {
            Err(crate::error::Error::PreconditionFailed {
                current_version: current,
            })
        }
        _ => Ok(()),
    }
}

/// The versions an `If-Match` accepts: the current one must be one of them (RFC 9110's strong
/// comparison over the listed entity tags). Empty when no listed tag can be one of ours (a weak
/// tag, or a tag we never issued): then nothing matches.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Versions(pub Vec<i64>);

text_enum! {
    /// The responsible authority (huvudman): a `region` (health care), a `municipality` (kommun: social
    /// services, municipal health care, school) or `other` (e.g. Arbetsförmedlingen, Försäkringskassan).
    pub enum Principal {
        Region => "region",
        Municipality => "municipality",
        Other => "other",
    }
}

/// A closed set of values, stored as TEXT (with a CHECK constraint in the migrations) and sent as a
/// JSON string: the enum with its derives, each variant's text as its serde name (so the stored
/// and the sent value are one by construction), `ALL`, `as_str`, `parse` and `Display`. The text
/// column conversions are in `db::columns`. (Each text is taken as a plain token, not a
/// `literal` fragment: utoipa's derive sees a rename only in that form.)
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        pub enum $ty:ident {
            $( $(#[$variant_meta:meta])* $variant:ident => $text:tt ),+ $(,)?
        }
    ) => {
        #[derive(
            Debug,
            Clone,
            Copy,
            PartialEq,
            Eq,
            Hash,
            ::serde::Serialize,
            ::serde::Deserialize,
            ::utoipa::ToSchema,
            ::diesel::expression::AsExpression,
            ::diesel::deserialize::FromSqlRow,
        )]
        #[diesel(sql_type = ::diesel::sql_types::Text)]
        $(#[$meta])*
        pub enum $ty {
            $( $(#[$variant_meta])* #[serde(rename = $text)] $variant, )+
        }

        impl $ty {
            pub const ALL: &'static [$ty] = &[$(<$ty>::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $(<$ty>::$variant => $text),+ }
            }
            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some(<$ty>::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use text_enum;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lowercase_two_digits_a_byte() {
        assert_eq!(lower_hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
        assert_eq!(lower_hex(&[]), "");
    }

    #[test]
    fn text_enums_round_trip_through_their_serde_names() {
        for p in Principal::ALL {
            let json = serde_json::to_string(p).unwrap();
            assert_eq!(json, format!("\"{}\"", p.as_str()));
            assert_eq!(Principal::parse(p.as_str()), Some(*p));
        }
    }
}
