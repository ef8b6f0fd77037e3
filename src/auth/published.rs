//! The identity provider's published keys (`JWT_ISSUER_URL`): read from its OpenID configuration's
//! `jwks_uri`, kept in memory, refreshed in the background, and fetched again when a token names a
//! key id not yet known — at most once per [`MIN_REFETCH`], so tokens with made-up key ids cannot
//! make the service hammer the provider. When the provider cannot be reached, the keys already
//! fetched keep working and `/ready` says so; a key the provider retires is dropped at the next
//! successful fetch. Only public keys of an allowed algorithm are taken (RS256, ES256): a
//! symmetric key or another algorithm published in the set is ignored, with a warning.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Serialize;
use utoipa::ToSchema;

/// Unknown key ids trigger at most one fetch of the key set in this interval.
pub const MIN_REFETCH: Duration = Duration::from_secs(10);
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// A key the provider published, with the one algorithm a token signed with it may name.
#[derive(Clone)]
pub struct PublishedKey {
    pub algorithm: Algorithm,
    pub key: DecodingKey,
}

#[derive(Default)]
struct Fetched {
    keys: HashMap<String, PublishedKey>,
    at: Option<DateTime<Utc>>,
}

#[derive(Default)]
struct Attempts {
    jwks_uri: Option<String>,
    /// The last fetch an unknown key id asked for (the periodic ones do not count).
    last_on_demand: Option<Instant>,
    failure: Option<(DateTime<Utc>, String)>,
}

/// The keys of one issuer.
pub struct PublishedKeys {
    issuer_url: String,
    agent: ureq::Agent,
    fetched: RwLock<Fetched>,
    attempts: Mutex<Attempts>,
}

/// How the identity provider's keys stand, for `/ready`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KeyStatus {
    /// How many keys are held.
    pub keys: usize,
    /// When the key set was last fetched.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub fetched_at: Option<DateTime<Utc>>,
    /// The last fetch failed: the provider could not be reached or answered badly (the keys held
    /// keep working).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub unreachable_since: Option<DateTime<Utc>>,
}

impl PublishedKeys {
    /// Reads the provider's configuration and keys now (a failure is kept and retried: the service
    /// starts, and is not ready until it has keys), and refreshes them every `refresh` after.
    pub fn start(issuer_url: &str, refresh: Duration) -> Result<Arc<PublishedKeys>, String> {
        let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
            .iter()
            .any(|p| issuer_url.starts_with(p));
        if !issuer_url.starts_with("https://") && !loopback {
            return Err("JWT_ISSUER_URL must be an https:// URL".into());
        }
        let keys = Arc::new(PublishedKeys {
            issuer_url: issuer_url.trim_end_matches('/').to_string(),
            agent: ureq::Agent::config_builder()
                .timeout_global(Some(FETCH_TIMEOUT))
                .max_redirects(0)
                .build()
                .new_agent(),
            fetched: RwLock::default(),
            attempts: Mutex::default(),
        });
        keys.refresh(true);
        let weak: Weak<PublishedKeys> = Arc::downgrade(&keys);
        std::thread::Builder::new()
            .name("jwks-refresh".into())
            .spawn(move || loop {
                std::thread::sleep(refresh);
                match weak.upgrade() {
                    Some(keys) => keys.refresh(true),
                    None => return,
                }
            })
            .map_err(|e| format!("cannot start the key refresher: {e}"))?;
        Ok(keys)
    }

    /// The key with this id, if it is held.
    pub fn get(&self, kid: &str) -> Option<PublishedKey> {
        self.read().keys.get(kid).cloned()
    }

    /// The only key, when exactly one is held (for a token without a key id).
    pub fn only(&self) -> Option<PublishedKey> {
        let fetched = self.read();
        match fetched.keys.len() {
            1 => fetched.keys.values().next().cloned(),
            _ => None,
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Fetched> {
        self.fetched.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn status(&self) -> KeyStatus {
        let fetched = self.read();
        let attempts = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
        KeyStatus {
            keys: fetched.keys.len(),
            fetched_at: fetched.at,
            unreachable_since: attempts.failure.as_ref().map(|(at, _)| *at),
        }
    }

    /// Fetches the key set again: `periodic`ally (and at start), or because a token named an
    /// unknown key — then at most once per [`MIN_REFETCH`]. One fetch at a time: callers that
    /// arrive meanwhile wait for it and then find its keys.
    pub fn refresh(&self, periodic: bool) {
        let mut attempts = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
        if !periodic {
            if attempts
                .last_on_demand
                .is_some_and(|at| at.elapsed() < MIN_REFETCH)
            {
                return;
            }
            attempts.last_on_demand = Some(Instant::now());
        }
        match self.fetch(&mut attempts) {
            Ok(keys) => {
                let mut fetched = self.fetched.write().unwrap_or_else(|e| e.into_inner());
                *fetched = Fetched {
                    keys,
                    at: Some(Utc::now()),
                };
                if attempts.failure.take().is_some() {
                    log::info!("the identity provider's keys are fetched again");
                }
            }
            Err(why) => {
                log::warn!(
                    "cannot fetch the identity provider's keys ({why}); the keys held keep working"
                );
                if attempts.failure.is_none() {
                    attempts.failure = Some((Utc::now(), why));
                }
            }
        }
    }

    fn fetch(&self, attempts: &mut Attempts) -> Result<HashMap<String, PublishedKey>, String> {
        let jwks_uri = match &attempts.jwks_uri {
            Some(uri) => uri.clone(),
            None => {
                let url = format!("{}/.well-known/openid-configuration", self.issuer_url);
                let configuration: serde_json::Value = self.get_json(&url)?;
                let uri = configuration["jwks_uri"]
                    .as_str()
                    .ok_or("the OpenID configuration has no jwks_uri")?
                    .to_string();
                attempts.jwks_uri = Some(uri.clone());
                uri
            }
        };
        let set: JwkSet = serde_json::from_value(self.get_json(&jwks_uri)?)
            .map_err(|e| format!("the key set cannot be read: {e}"))?;
        Ok(accepted_keys(&set))
    }

    fn get_json(&self, url: &str) -> Result<serde_json::Value, String> {
        let mut response = self
            .agent
            .get(url)
            .call()
            .map_err(|e| format!("{url}: {e}"))?;
        if response.status().as_u16() != 200 {
            return Err(format!("{url}: status {}", response.status().as_u16()));
        }
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|e| format!("{url}: {e}"))?;
        serde_json::from_str(&text).map_err(|e| format!("{url}: not JSON: {e}"))
    }
}

/// The keys of a set this service accepts, by key id: public RSA or P-256 keys for RS256 or
/// ES256, with a key id. Anything else is left out, with a warning naming the key id.
pub fn accepted_keys(set: &JwkSet) -> HashMap<String, PublishedKey> {
    let mut keys = HashMap::new();
    for jwk in &set.keys {
        let Some(kid) = jwk.common.key_id.clone() else {
            log::warn!("the identity provider publishes a key without a key id: ignored");
            continue;
        };
        let algorithm = match (&jwk.algorithm, jwk.common.key_algorithm) {
            (AlgorithmParameters::RSA(_), None | Some(KeyAlgorithm::RS256)) => Algorithm::RS256,
            (AlgorithmParameters::EllipticCurve(p), None | Some(KeyAlgorithm::ES256))
                if p.curve == EllipticCurve::P256 =>
            {
                Algorithm::ES256
            }
            _ => {
                log::warn!(
                    "the identity provider publishes key {kid:?} of a type or algorithm this service does not accept (RS256, ES256): ignored"
                );
                continue;
            }
        };
        match DecodingKey::from_jwk(jwk) {
            Ok(key) => {
                keys.insert(kid, PublishedKey { algorithm, key });
            }
            Err(e) => log::warn!("the identity provider's key {kid:?} cannot be read: {e}"),
        }
    }
    keys
}
