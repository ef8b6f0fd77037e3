//! Rate limits per token subject and per unit (`RATE_LIMIT_*`): a caller that sends more than its
//! share gets 429 problem+json with `Retry-After`, before its request reaches any operation. The
//! bulk import's upload stream is exempt: one upload is many records by design.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::Caller;
use crate::config::{Limit, RateLimits};
use crate::error::Error;

/// A limit as governor's quota: `per_second` sustained, `burst` at once (each at least 1).
fn quota(limit: Limit) -> Quota {
    let per_second = NonZeroU32::new(limit.per_second).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(limit.burst.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::per_second(per_second).allow_burst(burst)
}

/// The limiters of a running service.
pub struct Limiters {
    subjects: Option<DefaultKeyedRateLimiter<String>>,
    units: Option<DefaultKeyedRateLimiter<String>>,
    checks: AtomicU64,
}

impl Limiters {
    pub fn new(limits: RateLimits) -> Limiters {
        Limiters {
            subjects: limits.per_subject.map(|l| RateLimiter::keyed(quota(l))),
            units: limits.per_unit.map(|l| RateLimiter::keyed(quota(l))),
            checks: AtomicU64::new(0),
        }
    }

    /// 429 when the caller's subject or unit is over its limit. An individual is limited by
    /// subject (the e-service's pairwise id is not kept: the person's `individual` subject and the
    /// token are one caller).
    pub fn check(&self, caller: &Caller, exempt: bool) -> Result<(), Error> {
        if exempt {
            return Ok(());
        }
        // The keyed stores keep a state for each key seen: forget idle ones now and then.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 10_000 == 9_999 {
            for limiter in [&self.subjects, &self.units].into_iter().flatten() {
                limiter.retain_recent();
            }
        }
        let subject = match caller.person() {
            Some(person) => format!("person:{}", person.as_str()),
            None => format!("{}:{}", caller.unit.as_str(), caller.subject),
        };
        for (limiter, key, limit) in [
            (&self.subjects, subject, "subject"),
            (&self.units, caller.unit.as_str().to_string(), "unit"),
        ] {
            let Some(limiter) = limiter else { continue };
            if caller.person().is_some() && limit == "unit" {
                continue;
            }
            if let Err(not_until) = limiter.check_key(&key) {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                return Err(Error::TooManyRequests {
                    limit,
                    retry_after_seconds: wait.as_secs() + 1,
                });
            }
        }
        Ok(())
    }
}
