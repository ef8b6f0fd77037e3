//! Dates and times as the API writes them: the same text chrono's own serde gives (RFC 3339 in
//! UTC with `Z`, a fraction only when there is one; a day as `YYYY-MM-DD`), handed to the
//! serializer as one string.
//!
//! Why not chrono's own: it gives the value by `Display` (`collect_str`), which `serde_json`
//! writes a piece at a time, escaping each piece on its own. A list of 50 plans writes 200 of
//! them, and that was ~4 % of the service's CPU in a list (`BENCHMARKS.md`, twenty-eighth session).

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::Serializer;
use std::io::Write;

/// For a `DateTime<Utc>` field: `#[serde(serialize_with = "time::instant")]`.
pub fn instant<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&at.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

/// For an `Option<DateTime<Utc>>` field.
pub fn optional_instant<S: Serializer>(
    at: &Option<DateTime<Utc>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => instant(at, serializer),
        None => serializer.serialize_none(),
    }
}

/// For a `NaiveDate` field: `#[serde(serialize_with = "time::day")]`.
pub fn day<S: Serializer>(day: &NaiveDate, serializer: S) -> Result<S::Ok, S::Error> {
    // The longest a `NaiveDate` writes is 13 bytes (`+262142-12-31`).
    let mut text = [0u8; 16];
    let mut rest = &mut text[..];
    write!(rest, "{day}").map_err(serde::ser::Error::custom)?;
    let written = 16 - rest.len();
    let text = std::str::from_utf8(&text[..written]).map_err(serde::ser::Error::custom)?;
    serializer.serialize_str(text)
}

/// For an `Option<NaiveDate>` field.
pub fn optional_day<S: Serializer>(
    day: &Option<NaiveDate>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match day {
        Some(d) => self::day(d, serializer),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[derive(serde::Serialize)]
    struct Ours {
        #[serde(serialize_with = "instant")]
        at: DateTime<Utc>,
        #[serde(serialize_with = "optional_instant")]
        maybe_at: Option<DateTime<Utc>>,
        #[serde(serialize_with = "day")]
        on: NaiveDate,
        #[serde(serialize_with = "optional_day")]
        maybe_on: Option<NaiveDate>,
    }

    #[derive(serde::Serialize)]
    struct Chronos {
        at: DateTime<Utc>,
        maybe_at: Option<DateTime<Utc>>,
        on: NaiveDate,
        maybe_on: Option<NaiveDate>,
    }

    /// Clients parse what chrono wrote before: the text must not change by a byte.
    #[test]
    fn writes_what_chronos_own_serde_writes() {
        let second = Utc.with_ymd_and_hms(2026, 8, 7, 9, 0, 0).unwrap();
        let instants = [
            second,
            second + chrono::Duration::milliseconds(120),
            second + chrono::Duration::microseconds(123_456),
            second + chrono::Duration::nanoseconds(123_456_789),
            Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap(),
        ];
        let days = [
            NaiveDate::from_ymd_opt(2028, 7, 7).unwrap(),
            NaiveDate::from_ymd_opt(-44, 3, 15).unwrap(),
            NaiveDate::from_ymd_opt(12_345, 1, 2).unwrap(),
            NaiveDate::MIN,
            NaiveDate::MAX,
        ];
        for (at, on) in instants.into_iter().zip(days) {
            for (maybe_at, maybe_on) in [(Some(at), Some(on)), (None, None)] {
                let ours = serde_json::to_string(&Ours {
                    at,
                    maybe_at,
                    on,
                    maybe_on,
                })
                .unwrap();
                let chronos = serde_json::to_string(&Chronos {
                    at,
                    maybe_at,
                    on,
                    maybe_on,
                })
                .unwrap();
                assert_eq!(ours, chronos);
            }
        }
    }
}
