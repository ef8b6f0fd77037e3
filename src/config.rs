//! All settings, read once from the environment. Every variable has a default that gives a
//! working development service; the README lists them.

use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct Settings {
    /// `BIND_ADDRESS`, default `127.0.0.1:8080`.
    pub bind_address: String,
    /// `PUBLIC_URL`, default `http://` and the bind address: where clients reach the service
    /// (e.g. `https://sip.region.se` behind a proxy), for the absolute links of FHIR resources.
    pub public_url: String,
    /// `DATABASE_URL`: `postgres://…` for PostgreSQL, otherwise a SQLite file path
    /// (default `data/sip.sqlite3`, optionally prefixed `sqlite://`).
    pub database_url: String,
    /// `DATABASE_POOL_SIZE`, default 8.
    pub pool_size: u32,
    /// `DATA_DIR`, default `data`: the SQLite database and the development signing key live here.
    pub data_dir: PathBuf,
    pub jwt: JwtSettings,
    /// `MAX_BODY_BYTES`, default 262144 (256 KiB): larger request bodies get 413.
    pub max_body_bytes: usize,
    /// `AUDIT_SEALING` (default true): seal the access log into its hash chain once a second.
    pub audit_sealing: bool,
    /// `METRICS_ENABLED` (default false): `GET /metrics` answers in the Prometheus text format.
    pub metrics_enabled: bool,
    /// `RATE_LIMIT_PER_SUBJECT`, `RATE_LIMIT_PER_UNIT`: none by default.
    pub rate_limits: RateLimits,
    /// `WORKERS`, default: the number of cores.
    pub workers: Option<usize>,
    /// `CORS_ALLOWED_ORIGINS`: comma-separated browser origins (e.g. `https://sip.region.se`) allowed
    /// to call the API; none by default.
    pub cors_origins: Vec<String>,
    /// `MEETING_DEADLINE_DAYS` (default 21), `DISCHARGE_SUMMONS_DEADLINE_DAYS` (default 3) and
    /// `DEVIATION_FEEDBACK_DAYS` (default 60).
    pub deadlines: crate::domain::process::Deadlines,
    /// `FEED_RETENTION_DAYS` (default 30): how far back the change feed serves events.
    pub feed: crate::domain::events::FeedSettings,
    /// `WEBHOOK_*`: where webhooks may go, and how failed deliveries are retried.
    pub webhooks: crate::domain::webhook::WebhookSettings,
}

#[derive(Debug, Clone)]
pub struct JwtSettings {
    /// `JWT_ISSUER`, default `sip-dev`.
    pub issuer: String,
    /// `JWT_AUDIENCE`, default `sip-api`.
    pub audience: String,
    pub key: JwtKeySetting,
    /// `JWT_LEEWAY_SECONDS`, default 30: tolerated clock skew for `exp` and `nbf`.
    pub leeway_seconds: u64,
    /// `INDIVIDUAL_IDENTITY_CLAIM` (default `personal_identity_number`) and
    /// `INDIVIDUAL_ASSURANCE_CLAIM` (default `acr`): the claims of an individual's token (an
    /// e-service's, after e-ID login) that name the person and the login's assurance level.
    pub individual: IndividualClaimNames,
    /// `JWT_SUBJECT_CLAIM`, `JWT_UNIT_CLAIM`, `JWT_PRINCIPAL_CLAIM`, `JWT_ROLES_CLAIM` and
    /// `JWT_ROLE_MAP`: where a unit's token carries who acts, their unit, its principal and their
    /// roles, so a region maps its identity provider without code.
    pub staff: StaffClaimNames,
}

/// The claims of a unit's token, by the names the identity provider gives them.
#[derive(Debug, Clone)]
pub struct StaffClaimNames {
    pub subject: String,
    pub unit: String,
    pub principal: String,
    pub roles: String,
    /// The provider's role values and the names of the roles they grant (`JWT_ROLE_MAP`, e.g.
    /// `sip.lasa=read,sip.skriva=write`; the token verifier checks the names at start); empty:
    /// the values are this service's role names.
    pub role_map: Vec<(String, String)>,
}

impl Default for StaffClaimNames {
    fn default() -> Self {
        StaffClaimNames {
            subject: "sub".into(),
            unit: "unit".into(),
            principal: "principal".into(),
            roles: "roles".into(),
            role_map: Vec::new(),
        }
    }
}

/// `JWT_ROLE_MAP`: `value=role` pairs, comma-separated.
fn role_map(text: &str) -> Result<Vec<(String, String)>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (value, role) = pair
                .split_once('=')
                .ok_or("JWT_ROLE_MAP takes value=role pairs, comma-separated")?;
            Ok((value.trim().to_string(), role.trim().to_string()))
        })
        .collect()
}

/// A limit: requests per second, and the burst allowed above it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub per_second: u32,
    pub burst: u32,
}

/// `RATE_LIMIT_PER_SUBJECT` and `RATE_LIMIT_PER_UNIT` (`<per second>[/<burst>]`; none: no limit).
#[derive(Debug, Clone, Copy, Default)]
pub struct RateLimits {
    pub per_subject: Option<Limit>,
    pub per_unit: Option<Limit>,
}

impl Limit {
    /// `50` or `50/100`.
    pub fn parse(text: &str) -> Result<Limit, String> {
        let (rate, burst) = match text.split_once('/') {
            Some((rate, burst)) => (rate, Some(burst)),
            None => (text, None),
        };
        let number = |t: &str| t.trim().parse::<u32>().ok().filter(|n| *n > 0);
        let per_second =
            number(rate).ok_or("a rate limit is <requests per second>[/<burst>], both above 0")?;
        let burst = match burst {
            Some(b) => number(b).ok_or("a rate limit's burst must be above 0")?,
            None => per_second,
        };
        Ok(Limit { per_second, burst })
    }
}

/// The names of the claims that make a token an individual's: the identity provider decides them.
#[derive(Debug, Clone)]
pub struct IndividualClaimNames {
    pub identity_number: String,
    pub assurance: String,
}

impl Default for IndividualClaimNames {
    fn default() -> Self {
        IndividualClaimNames {
            identity_number: "personal_identity_number".into(),
            assurance: "acr".into(),
        }
    }
}

#[derive(Debug, Clone)]
pub enum JwtKeySetting {
    /// `JWT_HS256_SECRET`: a shared secret (development, tests).
    Hs256Secret(String),
    /// `JWT_PUBLIC_KEY_FILE` with `JWT_ALGORITHM` = `RS256` or `ES256` (production): one PEM file,
    /// or for key rotation several as `kid=path,kid=path` (tokens then name their key in `kid`).
    PublicKeys {
        algorithm: String,
        keys: Vec<(Option<String>, PathBuf)>,
    },
    /// `JWT_ISSUER_URL`: the identity provider's keys, as it publishes them (OpenID configuration
    /// and JWKS), refreshed every `JWT_JWKS_REFRESH_SECONDS` (default 300).
    Issuer { url: String, refresh_seconds: u64 },
    /// Neither is set: a development secret is created in `DATA_DIR/dev-signing-key`.
    DevelopmentKeyFile(PathBuf),
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn parsed<T: std::str::FromStr>(name: &str, default: T) -> Result<T, String> {
    match var(name) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| format!("{name}={v:?} is not a valid value")),
    }
}

impl Settings {
    pub fn from_env() -> Result<Settings, String> {
        let data_dir = PathBuf::from(var("DATA_DIR").unwrap_or_else(|| "data".into()));
        let database_url = var("DATABASE_URL")
            .unwrap_or_else(|| data_dir.join("sip.sqlite3").to_string_lossy().into_owned());
        let issuer_url = var("JWT_ISSUER_URL");
        let key = match (var("JWT_HS256_SECRET"), var("JWT_PUBLIC_KEY_FILE")) {
            (Some(_), Some(_)) => {
                return Err("set either JWT_HS256_SECRET or JWT_PUBLIC_KEY_FILE, not both".into())
            }
            (Some(_), None) | (None, Some(_)) if issuer_url.is_some() => {
                return Err(
                    "set one of JWT_ISSUER_URL, JWT_PUBLIC_KEY_FILE and JWT_HS256_SECRET".into(),
                )
            }
            (None, None) if issuer_url.is_some() => JwtKeySetting::Issuer {
                url: issuer_url.clone().unwrap_or_default(),
                refresh_seconds: parsed("JWT_JWKS_REFRESH_SECONDS", 300u64)?.max(10),
            },
            (Some(secret), None) => {
                if secret.len() < 32 {
                    return Err("JWT_HS256_SECRET must be at least 32 characters".into());
                }
                JwtKeySetting::Hs256Secret(secret)
            }
            (None, Some(path)) => {
                let algorithm = var("JWT_ALGORITHM").unwrap_or_else(|| "RS256".into());
                if !matches!(algorithm.as_str(), "RS256" | "ES256") {
                    return Err("JWT_ALGORITHM must be RS256 or ES256".into());
                }
                JwtKeySetting::PublicKeys {
                    algorithm,
                    keys: public_keys(&path)?,
                }
            }
            (None, None) => JwtKeySetting::DevelopmentKeyFile(data_dir.join("dev-signing-key")),
        };
        let bind_address = var("BIND_ADDRESS").unwrap_or_else(|| "127.0.0.1:8080".into());
        let public_url = var("PUBLIC_URL").unwrap_or_else(|| format!("http://{bind_address}"));
        if !(public_url.starts_with("https://") || public_url.starts_with("http://"))
            || public_url.contains(char::is_whitespace)
        {
            return Err("PUBLIC_URL must be an http:// or https:// URL".into());
        }
        Ok(Settings {
            public_url: public_url.trim_end_matches('/').to_string(),
            bind_address,
            database_url,
            pool_size: parsed("DATABASE_POOL_SIZE", 8u32)?.max(1),
            data_dir,
            jwt: JwtSettings {
                // With an issuer URL, tokens name it as their issuer (OpenID Connect).
                issuer: var("JWT_ISSUER")
                    .or(issuer_url)
                    .unwrap_or_else(|| "sip-dev".into()),
                audience: var("JWT_AUDIENCE").unwrap_or_else(|| "sip-api".into()),
                key,
                leeway_seconds: parsed("JWT_LEEWAY_SECONDS", 30u64)?,
                staff: {
                    let defaults = StaffClaimNames::default();
                    StaffClaimNames {
                        subject: var("JWT_SUBJECT_CLAIM").unwrap_or(defaults.subject),
                        unit: var("JWT_UNIT_CLAIM").unwrap_or(defaults.unit),
                        principal: var("JWT_PRINCIPAL_CLAIM").unwrap_or(defaults.principal),
                        roles: var("JWT_ROLES_CLAIM").unwrap_or(defaults.roles),
                        role_map: role_map(&var("JWT_ROLE_MAP").unwrap_or_default())?,
                    }
                },
                individual: IndividualClaimNames {
                    identity_number: var("INDIVIDUAL_IDENTITY_CLAIM")
                        .unwrap_or_else(|| IndividualClaimNames::default().identity_number),
                    assurance: var("INDIVIDUAL_ASSURANCE_CLAIM")
                        .unwrap_or_else(|| IndividualClaimNames::default().assurance),
                },
            },
            max_body_bytes: parsed("MAX_BODY_BYTES", 256 * 1024usize)?,
            metrics_enabled: parsed("METRICS_ENABLED", false)?,
            audit_sealing: parsed("AUDIT_SEALING", true)?,
            rate_limits: RateLimits {
                per_subject: var("RATE_LIMIT_PER_SUBJECT")
                    .map(|v| Limit::parse(&v).map_err(|e| format!("RATE_LIMIT_PER_SUBJECT: {e}")))
                    .transpose()?,
                per_unit: var("RATE_LIMIT_PER_UNIT")
                    .map(|v| Limit::parse(&v).map_err(|e| format!("RATE_LIMIT_PER_UNIT: {e}")))
                    .transpose()?,
            },
            deadlines: {
                let defaults = crate::domain::process::Deadlines::default();
                crate::domain::process::Deadlines {
                    meeting_days: parsed("MEETING_DEADLINE_DAYS", defaults.meeting_days)?,
                    discharge_summons_days: parsed(
                        "DISCHARGE_SUMMONS_DEADLINE_DAYS",
                        defaults.discharge_summons_days,
                    )?,
                    deviation_feedback_days: parsed(
                        "DEVIATION_FEEDBACK_DAYS",
                        defaults.deviation_feedback_days,
                    )?,
                }
            },
            feed: crate::domain::events::FeedSettings {
                retention_days: parsed(
                    "FEED_RETENTION_DAYS",
                    crate::domain::events::FeedSettings::default().retention_days,
                )?
                .max(1),
            },
            webhooks: webhook_settings()?,
            cors_origins: list("CORS_ALLOWED_ORIGINS"),
            workers: match var("WORKERS") {
                None => None,
                Some(_) => Some(parsed("WORKERS", 1usize)?.max(1)),
            },
        })
    }
}

fn webhook_settings() -> Result<crate::domain::webhook::WebhookSettings, String> {
    use std::time::Duration;
    let defaults = crate::domain::webhook::WebhookSettings::default();
    let seconds = |name: &str, default: Duration| -> Result<Duration, String> {
        Ok(Duration::from_secs(parsed(name, default.as_secs())?.max(1)))
    };
    Ok(crate::domain::webhook::WebhookSettings {
        allowed_hosts: list("WEBHOOK_ALLOWED_HOSTS"),
        retry_base: seconds("WEBHOOK_RETRY_BASE_SECONDS", defaults.retry_base)?,
        retry_max: seconds("WEBHOOK_RETRY_MAX_SECONDS", defaults.retry_max)?,
        pause_after_failures: parsed(
            "WEBHOOK_PAUSE_AFTER_FAILURES",
            defaults.pause_after_failures,
        )?
        .max(1),
        timeout: seconds("WEBHOOK_TIMEOUT_SECONDS", defaults.timeout)?,
        ..defaults
    })
}

/// A comma-separated list.
fn list(name: &str) -> Vec<String> {
    var(name)
        .map(|v| {
            v.split(',')
                .map(|o| o.trim().trim_end_matches('/').to_string())
                .filter(|o| !o.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// `path`, or `kid=path,kid=path` for several keys during a rotation.
fn public_keys(setting: &str) -> Result<Vec<(Option<String>, PathBuf)>, String> {
    if !setting.contains('=') {
        return Ok(vec![(None, PathBuf::from(setting.trim()))]);
    }
    setting
        .split(',')
        .map(|entry| match entry.split_once('=') {
            Some((kid, path)) if !kid.trim().is_empty() && !path.trim().is_empty() => {
                Ok((Some(kid.trim().to_string()), PathBuf::from(path.trim())))
            }
            _ => Err(format!("JWT_PUBLIC_KEY_FILE: {entry:?} is not kid=path")),
        })
        .collect()
}

/// Creates `dir` (and its parents) for the service's user only (0700), when it does not exist: it
/// holds personal data and keys. An existing folder keeps its permissions (it may be a mounted
/// volume the operator set up).
pub fn create_private_dir(dir: &std::path::Path) -> Result<(), String> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.as_os_str().is_empty() || dir.exists() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))
}

/// The service's address as clients reach it, without a trailing `/`: the base of the absolute
/// links in FHIR resources.
#[derive(Debug, Clone)]
pub struct PublicUrl(pub String);
