//! Webhooks: the rules of a subscription's endpoint, of retrying a failed delivery, and of signing
//! one. Pure: the dispatcher (`crate::webhooks`) does the I/O.

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

crate::domain::text_enum! {
    /// Whether a subscription's events are being delivered.
    pub enum SubscriptionStatus {
        /// Events are delivered as they happen.
        Active => "active",
        /// Nothing is delivered: the unit paused it, or deliveries kept failing (`paused_reason`).
        /// Events are not lost meanwhile: resuming delivers them, within the feed's retention.
        Paused => "paused",
    }
}

crate::domain::text_enum! {
    /// Whether a delivery has reached the endpoint.
    pub enum DeliveryStatus {
        /// Not yet acknowledged with a 2xx; it is retried.
        Pending => "pending",
        /// The endpoint answered 2xx.
        Delivered => "delivered",
    }
}

/// Deliveries: how hosts are allowed, how long to wait, when to retry and when to give up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSettings {
    /// `WEBHOOK_ALLOWED_HOSTS`: hosts endpoints may be on (`host` or `*.domain`); empty = any.
    pub allowed_hosts: Vec<String>,
    /// `WEBHOOK_RETRY_BASE_SECONDS` (30): the wait after the first failure, doubled after each
    /// further one …
    pub retry_base: Duration,
    /// … up to `WEBHOOK_RETRY_MAX_SECONDS` (3600).
    pub retry_max: Duration,
    /// `WEBHOOK_PAUSE_AFTER_FAILURES` (15): this many failures in a row pause the subscription
    /// (with the defaults, after about nine hours of failing).
    pub pause_after_failures: u32,
    /// `WEBHOOK_TIMEOUT_SECONDS` (10): how long one delivery may take.
    pub timeout: Duration,
    /// How long a dispatcher holds a subscription before another instance may take it over.
    pub lease: Duration,
    /// How often an idle dispatcher looks for work that other instances committed.
    pub idle_poll: Duration,
}

impl WebhookSettings {
    /// How long a dispatcher holds a subscription for one delivery: the lease, and at least twice
    /// the longest a send may take, so that a send and its recording never outlive the lease they
    /// were made under (the lease is renewed before every delivery).
    pub fn hold(&self) -> Duration {
        self.lease.max(self.timeout * 2)
    }
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            allowed_hosts: Vec::new(),
            retry_base: Duration::from_secs(30),
            retry_max: Duration::from_secs(3600),
            pause_after_failures: 15,
            timeout: Duration::from_secs(10),
            lease: Duration::from_secs(60),
            idle_poll: Duration::from_secs(1),
        }
    }
}

/// A checked endpoint URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint(String);

impl Endpoint {
    /// An endpoint is HTTPS; plain HTTP is allowed only to this machine (loopback), for development.
    /// It carries no credentials, and its host must be one of `allowed_hosts` when any are set.
    pub fn parse(url: &str, allowed_hosts: &[String]) -> Result<Endpoint, String> {
        let url = url.trim();
        if url.len() > 2000 {
            return Err("at most 2000 characters".into());
        }
        let uri: ureq::http::Uri = url
            .parse()
            .map_err(|_| "not a URL (https://host/path)".to_string())?;
        let authority = uri
            .authority()
            .ok_or("not an absolute URL (https://host/path)")?;
        if authority.as_str().contains('@') {
            return Err("an endpoint carries no user name or password: the deliveries are signed with the subscription's secret".into());
        }
        let host = uri.host().unwrap_or("").to_ascii_lowercase();
        if host.is_empty() {
            return Err("the URL names no host".into());
        }
        match uri.scheme_str() {
            Some("https") => {}
            Some("http") if is_loopback(&host) => {}
            Some("http") => {
                return Err(
                    "deliveries carry health and social-care events: use https (plain http only to 127.0.0.1, ::1 or localhost, for development)"
                        .into(),
                )
            }
            _ => return Err("the scheme must be https".into()),
        }
        if !allowed_hosts.is_empty() && !allowed_hosts.iter().any(|a| host_matches(&host, a)) {
            return Err(format!(
                "{host} is not among the hosts webhooks may be delivered to (WEBHOOK_ALLOWED_HOSTS)"
            ));
        }
        Ok(Endpoint(url.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare == "localhost"
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn host_matches(host: &str, allowed: &str) -> bool {
    let allowed = allowed.trim().to_ascii_lowercase();
    match allowed.strip_prefix("*.") {
        Some(domain) => host.ends_with(&format!(".{domain}")),
        None => host == allowed,
    }
}

/// How long to wait before the next attempt after `failures` failures in a row: the base doubled
/// after each failure, at most the maximum.
pub fn backoff(failures: u32, settings: &WebhookSettings) -> Duration {
    let doublings = failures.saturating_sub(1).min(20);
    settings
        .retry_base
        .saturating_mul(1u32 << doublings)
        .min(settings.retry_max)
}

/// Whether `failures` failures in a row pause the subscription.
pub fn pauses(failures: u32, settings: &WebhookSettings) -> bool {
    failures >= settings.pause_after_failures
}

/// The signature header of a delivery: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`
/// with the subscription's secret. The timestamp is signed too, so a receiver that refuses
/// signatures older than a few minutes cannot be fed an old delivery again.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC takes a key of any length; `new_from_slice` cannot fail for it.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of every length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    format!("t={timestamp},v1={}", super::lower_hex(&digest))
}

/// A new signing secret: 244 random bits from the operating system, as text.
pub fn new_secret() -> String {
    format!(
        "whsec_{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_https_or_loopback_http_and_on_allowed_hosts() {
        let any: Vec<String> = vec![];
        assert!(Endpoint::parse("https://journal.region.se/sip/hooks", &any).is_ok());
        assert!(Endpoint::parse("http://127.0.0.1:9000/hook", &any).is_ok());
        assert!(Endpoint::parse("http://localhost/hook", &any).is_ok());
        assert!(Endpoint::parse("http://[::1]:8000/hook", &any).is_ok());
        for bad in [
            "http://journal.region.se/hook",
            "ftp://journal.region.se/",
            "journal.region.se/hook",
            "https://user:pw@journal.region.se/",
            "/relative",
            "",
        ] {
            assert!(Endpoint::parse(bad, &any).is_err(), "{bad}");
        }
        let allowed = vec!["*.region.se".to_string(), "127.0.0.1".to_string()];
        assert!(Endpoint::parse("https://journal.region.se/", &allowed).is_ok());
        assert!(Endpoint::parse("http://127.0.0.1:1/", &allowed).is_ok());
        assert!(Endpoint::parse("https://region.se.evil.example/", &allowed).is_err());
        assert!(Endpoint::parse("https://evil.example/", &allowed).is_err());
    }

    #[test]
    fn a_delivery_is_held_for_at_least_twice_its_timeout() {
        let defaults = WebhookSettings::default();
        assert_eq!(defaults.hold(), Duration::from_secs(60));
        let slow = WebhookSettings {
            timeout: Duration::from_secs(45),
            ..WebhookSettings::default()
        };
        assert_eq!(slow.hold(), Duration::from_secs(90));
    }

    #[test]
    fn backoff_doubles_to_a_maximum_and_failures_pause() {
        let settings = WebhookSettings::default();
        assert_eq!(backoff(1, &settings), Duration::from_secs(30));
        assert_eq!(backoff(2, &settings), Duration::from_secs(60));
        assert_eq!(backoff(5, &settings), Duration::from_secs(480));
        assert_eq!(backoff(9, &settings), Duration::from_secs(3600));
        assert_eq!(backoff(60, &settings), Duration::from_secs(3600));
        assert!(!pauses(14, &settings));
        assert!(pauses(15, &settings));
    }

    #[test]
    fn the_signature_is_hmac_sha256_over_the_timestamp_and_the_body() {
        // Computed independently: Python's hmac.new(b"Jefe", b"42.what do ya want for nothing?",
        // hashlib.sha256).hexdigest().
        assert_eq!(
            signature("Jefe", 42, b"what do ya want for nothing?"),
            "t=42,v1=246ed6bd2fdb55df4737c62ddbd57a0a74d18becf897aa14e71f8be0b5203c3d"
        );
        assert_eq!(
            signature("Jefe", 0, b""),
            signature("Jefe", 0, b""),
            "deterministic"
        );
        assert_ne!(signature("Jefe", 1, b"x"), signature("Jefe", 2, b"x"));
        assert!(new_secret().starts_with("whsec_") && new_secret().len() == 70);
    }
}
