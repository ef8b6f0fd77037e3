//! The calendar the process runs on: Swedish dates.
//!
//! Every date in a plan — a consent's last valid day, a summons' answer-by day, a follow-up's day,
//! a deviation's feedback day — is a day in Sweden, so "today" is the date in Sweden, not in UTC:
//! between midnight and 01:00 (02:00 in summer) Swedish time, UTC still shows yesterday, and a
//! consent that ended yesterday would still look valid. Sweden keeps Central European Time (UTC+1)
//! with the EU's summer time (UTC+2) from 01:00 UTC on the last Sunday of March to 01:00 UTC on the
//! last Sunday of October.
//!
//! Not `chrono-tz`, on purpose: the rule is EU law (Directive 2000/84/EC) for every member state,
//! fits in a few lines and is tested at both changes below; the crate would carry and build the
//! whole time-zone database for one zone. If the EU ends clock changes, this rule changes with the
//! law, as a dependency update would.

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveDateTime, Utc};

/// The date in Sweden at the instant `at`.
pub fn swedish_date(at: DateTime<Utc>) -> NaiveDate {
    #[allow(clippy::disallowed_methods)] // the instant is in Swedish time here: the one place
    at.with_timezone(&swedish_offset(at)).date_naive()
}

/// The date in Sweden at a stored instant (the database keeps UTC).
pub fn swedish_date_of(at: NaiveDateTime) -> NaiveDate {
    swedish_date(at.and_utc())
}

/// The first instant of `day` in Sweden, as stored (UTC). Summer time never changes at midnight,
/// so the offset at that UTC midnight is the offset at the Swedish one.
pub fn swedish_midnight(day: NaiveDate) -> NaiveDateTime {
    let midnight = day.and_time(chrono::NaiveTime::MIN);
    midnight - swedish_offset(midnight.and_utc())
}

/// Sweden's offset from UTC at the instant `at`: +02:00 in summer time, +01:00 otherwise.
pub fn swedish_offset(at: DateTime<Utc>) -> FixedOffset {
    let year = at.year();
    let summer_starts = last_sunday(year, 3)
        .and_hms_opt(1, 0, 0)
        .map(|t| t.and_utc());
    let summer_ends = last_sunday(year, 10)
        .and_hms_opt(1, 0, 0)
        .map(|t| t.and_utc());
    let summer = matches!((summer_starts, summer_ends), (Some(s), Some(e)) if s <= at && at < e);
    let hours = if summer { 2 } else { 1 };
    // One or two hours east are always valid offsets; UTC stands in rather than a panic.
    FixedOffset::east_opt(hours * 3600).unwrap_or_else(|| chrono::Offset::fix(&Utc))
}

/// The last Sunday of `month` (March or October here) in `year`.
fn last_sunday(year: i32, month: u32) -> NaiveDate {
    let last_day = NaiveDate::from_ymd_opt(year, month + 1, 1)
        .map(|first_of_next| first_of_next - Duration::days(1))
        .unwrap_or(NaiveDate::MIN);
    last_day - Duration::days(last_day.weekday().num_days_from_sunday().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn after_midnight_in_sweden_it_is_already_tomorrow() {
        // Winter: 23:30 UTC is 00:30 in Stockholm.
        let at = utc("2026-11-22T23:30:00Z");
        #[allow(clippy::disallowed_methods)] // the UTC date, to show it differs
        let utc_date = at.date_naive();
        assert_eq!(utc_date.to_string(), "2026-11-22");
        assert_eq!(swedish_date(at).to_string(), "2026-11-23");
        // Summer: 22:30 UTC is 00:30 in Stockholm; 21:59 UTC is still 23:59.
        assert_eq!(
            swedish_date(utc("2026-07-01T22:30:00Z")).to_string(),
            "2026-07-02"
        );
        assert_eq!(
            swedish_date(utc("2026-07-01T21:59:00Z")).to_string(),
            "2026-07-01"
        );
    }

    #[test]
    fn summer_time_begins_and_ends_at_one_utc_on_the_last_sundays() {
        // 2026: 29 March and 25 October.
        assert_eq!(last_sunday(2026, 3).to_string(), "2026-03-29");
        assert_eq!(last_sunday(2026, 10).to_string(), "2026-10-25");
        let hours = |t: &str| swedish_offset(utc(t)).local_minus_utc() / 3600;
        assert_eq!(hours("2026-03-29T00:59:59Z"), 1);
        assert_eq!(hours("2026-03-29T01:00:00Z"), 2);
        assert_eq!(hours("2026-10-25T00:59:59Z"), 2);
        assert_eq!(hours("2026-10-25T01:00:00Z"), 1);
        // A year whose last day of March is itself a Sunday (2024: 31 March).
        assert_eq!(last_sunday(2024, 3).to_string(), "2024-03-31");
    }

    #[test]
    fn a_swedish_day_begins_at_its_midnight() {
        let day = |d: &str| d.parse::<NaiveDate>().unwrap();
        assert_eq!(
            swedish_midnight(day("2026-01-16")).to_string(),
            "2026-01-15 23:00:00"
        );
        assert_eq!(
            swedish_midnight(day("2026-07-02")).to_string(),
            "2026-07-01 22:00:00"
        );
        // The days summer time begins and ends start at the old offset.
        assert_eq!(
            swedish_midnight(day("2026-03-29")).to_string(),
            "2026-03-28 23:00:00"
        );
        assert_eq!(
            swedish_midnight(day("2026-10-25")).to_string(),
            "2026-10-24 22:00:00"
        );
    }

    #[test]
    fn a_stored_instant_has_its_swedish_date() {
        let stored = utc("2026-01-15T23:10:00Z").naive_utc();
        assert_eq!(swedish_date_of(stored).to_string(), "2026-01-16");
    }
}
