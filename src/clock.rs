//! The service's one source of the current time. Every request, the access log, the import runner
//! and the webhook dispatcher read it from the application's [`Clock`]; nothing else asks the
//! system. The tests move an application's clock forward (a consent expires, a follow-up falls due,
//! an import stalls) instead of rewriting stored dates, so the service decides as it would in time.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

/// The system time plus an offset that only moves forward. Clones share the offset: the clock an
/// application, its access log and its background workers hold is one clock.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    /// How far ahead of the system time this clock runs, in microseconds; 0 in production.
    ahead_micros: Arc<AtomicI64>,
}

impl Clock {
    /// The system's clock.
    pub fn system() -> Clock {
        Clock::default()
    }

    /// The current time at the precision both databases keep (microseconds), so a value read back
    /// equals the value written on SQLite and PostgreSQL alike.
    pub fn now(&self) -> DateTime<Utc> {
        let ahead = chrono::Duration::microseconds(self.ahead_micros.load(Ordering::Relaxed));
        crate::domain::truncate_to_micros(Utc::now() + ahead)
    }

    /// Today's date in Sweden: the day every date of the process is compared with.
    pub fn today(&self) -> NaiveDate {
        crate::domain::calendar::swedish_date(self.now())
    }

    /// Moves this clock (and every clone of it) `by` ahead. For tests and demonstrations: the
    /// service itself never calls it. A negative duration is ignored, so time never runs back.
    pub fn advance(&self, by: chrono::Duration) {
        let micros = by.num_microseconds().unwrap_or(i64::MAX).max(0);
        self.ahead_micros.fetch_add(micros, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_advanced_clock_runs_ahead_and_its_clones_with_it() {
        let clock = Clock::system();
        let clone = clock.clone();
        let before = clock.now();
        clock.advance(chrono::Duration::days(30));
        assert!(clone.now() - before >= chrono::Duration::days(30));
        assert!(clone.now() - before < chrono::Duration::days(31));
    }

    #[test]
    fn time_never_runs_back() {
        let clock = Clock::system();
        let before = clock.now();
        clock.advance(chrono::Duration::days(-30));
        assert!(clock.now() >= before);
    }
}
