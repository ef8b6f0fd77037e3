//! Authentication (JWT bearer tokens) and the caller's identity and roles.
//!
//! Every `/api/v1` request passes [`authenticate`]; handlers receive the verified [`Caller`].
//! Tokens are signed with HS256 and a shared secret (development, tests), or with RS256/ES256 and
//! the identity provider's public key (production). The algorithm is pinned to the configured key,
//! so `alg: none` and tokens signed for another algorithm are refused.

use std::collections::HashSet;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{http::header, web, FromRequest, HttpMessage, HttpRequest};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

pub mod limits;
pub mod published;

use crate::config::{IndividualClaimNames, JwtKeySetting, JwtSettings, StaffClaimNames};
use crate::domain::identity::{HsaId, IdentityNumber};
use crate::domain::Principal;
use crate::error::Error;

crate::domain::text_enum! {
    /// What a caller may do. `admin` includes every other role; `report` alone grants the aggregated
    /// reports and no plan, `audit` the access log and no plan.
    pub enum Role {
        Read => "read",
        Write => "write",
        Admin => "admin",
        /// The aggregated reports only.
        Report => "report",
        /// The access log only.
        Audit => "audit",
        /// Bulk import (reserved for the import endpoint).
        Import => "import",
    }
}

/// The claims this service reads and the token command writes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The person or system acting (e.g. an HSA-id of a person, or a system's client id).
    pub sub: String,
    pub iss: String,
    pub aud: String,
    pub exp: i64,
    pub nbf: i64,
    pub iat: i64,
    /// The caller's organisation unit (HSA-id).
    pub unit: String,
    /// The unit's principal.
    pub principal: Principal,
    pub roles: Vec<String>,
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub subject: String,
    /// The request's id (`X-Request-Id`), for the access log.
    pub request_id: String,
    pub unit: HsaId,
    pub principal: Principal,
    roles: HashSet<Role>,
    /// Set only by the bulk import, never by a token: see [`Caller::for_import`].
    import_agent: bool,
    /// The person an individual's token names (an e-service acting after the person's e-ID
    /// login); `None` for staff. Such a caller has no unit and no role: it reaches only `/me`.
    person: Option<IdentityNumber>,
}

impl Caller {
    pub fn new(
        subject: impl Into<String>,
        unit: HsaId,
        principal: Principal,
        roles: &[Role],
    ) -> Caller {
        Caller {
            subject: subject.into(),
            request_id: String::new(),
            unit,
            principal,
            roles: roles.iter().copied().collect(),
            import_agent: false,
            person: None,
        }
    }

    /// An individual, identified by e-ID through an e-service: no unit (an empty HSA-id, which
    /// matches no unit's rows), no principal of their own, no role. Recorded in the logs as
    /// `individual` until a use case knows for whom they act (`Caller::acting_as`).
    pub fn individual(person: IdentityNumber) -> Caller {
        Caller {
            subject: "individual".into(),
            request_id: String::new(),
            unit: HsaId::none(),
            principal: Principal::Other,
            roles: HashSet::new(),
            import_agent: false,
            person: Some(person),
        }
    }

    /// The person an individual's token names, if this is one.
    pub fn person(&self) -> Option<&IdentityNumber> {
        self.person.as_ref()
    }

    /// The same individual, recorded as acting in the role `subject` (e.g. `guardian:<id>`).
    pub fn acting_as(&self, subject: String) -> Caller {
        Caller {
            subject,
            ..self.clone()
        }
    }

    /// The bulk import, replaying a plan of a source system as `unit` did it there. It writes with
    /// the importer's identity (subject) for the access log, under the process rules like anyone,
    /// but the source system has already decided who could see and do what: it finds the plans it
    /// imports whatever the consent says today, and the per-unit policies (who records follow-ups)
    /// do not apply. Only the import service makes one; no token can.
    pub fn for_import(
        importer: &Caller,
        unit: HsaId,
        principal: Principal,
        request_id: String,
    ) -> Caller {
        Caller {
            subject: importer.subject.clone(),
            request_id,
            unit,
            principal,
            roles: [Role::Write].into_iter().collect(),
            import_agent: true,
            person: None,
        }
    }

    /// Whether this is the bulk import acting for a unit (see [`Caller::for_import`]).
    pub fn is_import_agent(&self) -> bool {
        self.import_agent
    }

    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role) || self.roles.contains(&Role::Admin)
    }

    /// 403 unless the caller has `role`.
    pub fn require(&self, role: Role) -> Result<(), Error> {
        if self.has(role) {
            Ok(())
        } else {
            Err(Error::Forbidden(format!(
                "this operation needs the {role} role; the token grants: {}",
                self.role_list()
            )))
        }
    }

    fn role_list(&self) -> String {
        let mut roles: Vec<_> = self.roles.iter().map(|r| r.as_str()).collect();
        roles.sort_unstable();
        if roles.is_empty() {
            "no known role".into()
        } else {
            roles.join(", ")
        }
    }
}

impl FromRequest for Caller {
    type Error = Error;
    type Future = std::future::Ready<Result<Self, Error>>;

    /// The staff caller of an operation: an individual's token is refused here (403), so no staff
    /// operation ever has to ask whether its caller is a citizen; `/me` takes [`Individual`].
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(verified_caller(req).and_then(|caller| match caller.person {
            None => Ok(caller),
            Some(_) => Err(Error::Forbidden(
                "an individual's token reaches only the operations under /api/v1/me".into(),
            )),
        }))
    }
}

fn verified_caller(req: &HttpRequest) -> Result<Caller, Error> {
    req.extensions()
        .get::<Caller>()
        .cloned()
        .ok_or_else(|| Error::Unauthorized("a bearer token is required".into()))
}

/// The caller of a `/me` operation: an individual's verified token (403 for a staff token).
#[derive(Debug, Clone)]
pub struct Individual(pub Caller);

impl FromRequest for Individual {
    type Error = Error;
    type Future = std::future::Ready<Result<Self, Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(verified_caller(req).and_then(|caller| match caller.person {
            Some(_) => Ok(Individual(caller)),
            None => Err(Error::Forbidden(
                "the operations under /api/v1/me are for an individual's token (an e-service after e-ID login)".into(),
            )),
        }))
    }
}

/// A role an operation needs: a handler names it through its context extractor (`Reader`,
/// `Writer`, … in `api::extract`), which answers 403 without it before anything else of the
/// request is read.
pub trait RequiredRole {
    const ROLE: Role;
}

macro_rules! required_roles {
    ($($marker:ident => $role:ident),+ $(,)?) => {$(
        #[doc = concat!("Marks the `", stringify!($role), "` role as required.")]
        pub struct $marker;
        impl RequiredRole for $marker {
            const ROLE: Role = Role::$role;
        }
    )+};
}

required_roles! {
    NeedsRead => Read,
    NeedsWrite => Write,
    NeedsAudit => Audit,
    NeedsReport => Report,
    NeedsImport => Import,
}

/// Verifies tokens against the configured keys, issuer and audience. Several public keys can be
/// configured at once, each with its key id (`kid`), so an identity provider can rotate its keys
/// without a moment when valid tokens are refused.
pub struct TokenVerifier {
    keys: Keys,
    validation: Validation,
    individual: IndividualClaimNames,
    staff: StaffClaimNames,
    /// `JWT_ROLE_MAP`, its role names checked: the provider's value and the role it grants.
    role_map: Vec<(String, Role)>,
}

/// The role names of `JWT_ROLE_MAP`, checked.
fn role_map(settings: &JwtSettings) -> Result<Vec<(String, Role)>, String> {
    settings
        .staff
        .role_map
        .iter()
        .map(|(value, name)| {
            Role::parse(name)
                .map(|role| (value.clone(), role))
                .ok_or_else(|| {
                    format!("JWT_ROLE_MAP: {name:?} is not a role (read, write, admin, report, audit, import)")
                })
        })
        .collect()
}

/// Where the keys come from: configured (a shared secret, the provider's public keys as PEM
/// files), or as the identity provider publishes them (`JWT_ISSUER_URL`).
enum Keys {
    /// (kid, key), all for `algorithm`. A single key configured without a kid verifies every
    /// token whatever `kid` it names (most providers always send one).
    Fixed {
        algorithm: Algorithm,
        keys: Vec<(Option<String>, DecodingKey)>,
    },
    Published(std::sync::Arc<published::PublishedKeys>),
}

impl TokenVerifier {
    pub fn new(settings: &JwtSettings) -> Result<TokenVerifier, String> {
        let (algorithm, keys) = match &settings.key {
            // The algorithm is each published key's own, set per token.
            JwtKeySetting::Issuer {
                url,
                refresh_seconds,
            } => (
                Algorithm::RS256,
                Keys::Published(published::PublishedKeys::start(
                    url,
                    std::time::Duration::from_secs(*refresh_seconds),
                )?),
            ),
            JwtKeySetting::Hs256Secret(secret) => {
                fixed(Algorithm::HS256, vec![(None, secret_key(secret))])
            }
            JwtKeySetting::DevelopmentKeyFile(path) => {
                let secret = development_secret(path)?;
                fixed(Algorithm::HS256, vec![(None, secret_key(&secret))])
            }
            JwtKeySetting::PublicKeys { algorithm, keys } => {
                let algorithm = if algorithm == "RS256" {
                    Algorithm::RS256
                } else {
                    Algorithm::ES256
                };
                let mut loaded: Vec<(Option<String>, DecodingKey)> = Vec::new();
                for (kid, path) in keys {
                    if loaded.iter().any(|(k, _)| k == kid) {
                        return Err(format!(
                            "JWT_PUBLIC_KEY_FILE names the key id {kid:?} twice: each kid names one key"
                        ));
                    }
                    let pem = std::fs::read(path).map_err(|e| {
                        format!("cannot read the JWT public key {}: {e}", path.display())
                    })?;
                    // A private key would load as one and then fail every token: refuse it now,
                    // and keep a secret out of a setting meant for public material.
                    if String::from_utf8_lossy(&pem).contains("PRIVATE KEY-----") {
                        return Err(format!(
                            "{} is a private key: JWT_PUBLIC_KEY_FILE takes the identity provider's public key (-----BEGIN PUBLIC KEY-----)",
                            path.display()
                        ));
                    }
                    let key = match algorithm {
                        Algorithm::RS256 => DecodingKey::from_rsa_pem(&pem),
                        _ => DecodingKey::from_ec_pem(&pem),
                    }
                    .map_err(|e| {
                        format!("{} is not a {algorithm:?} public key: {e}", path.display())
                    })?;
                    loaded.push((kid.clone(), key));
                }
                if let [(None, _)] = loaded.as_slice() {
                    log::info!("one token key is configured without a key id: it verifies tokens whatever key id (kid) they name");
                }
                fixed(algorithm, loaded)
            }
        };
        Ok(TokenVerifier {
            keys,
            validation: validation(settings, algorithm),
            individual: settings.individual.clone(),
            staff: settings.staff.clone(),
            role_map: role_map(settings)?,
        })
    }

    /// How the identity provider's published keys stand (`None` with configured keys).
    pub fn key_status(&self) -> Option<published::KeyStatus> {
        match &self.keys {
            Keys::Published(keys) => Some(keys.status()),
            Keys::Fixed { .. } => None,
        }
    }

    /// Whether `token` names a key the provider may have published since the keys were fetched:
    /// the caller then has them fetched again (`refresh_keys`, off the request threads) first.
    pub fn names_unknown_key(&self, token: &str) -> bool {
        let Keys::Published(keys) = &self.keys else {
            return false;
        };
        jsonwebtoken::decode_header(token)
            .ok()
            .and_then(|h| h.kid)
            .is_some_and(|kid| keys.get(&kid).is_none())
    }

    /// Fetches the provider's keys again, unless that was done within the last ten seconds.
    pub fn refresh_keys(&self) {
        if let Keys::Published(keys) = &self.keys {
            keys.refresh(false);
        }
    }

    /// The key for the token's `kid`, and the one algorithm the token may be signed with.
    fn key_for(&self, token: &str) -> Result<(Algorithm, DecodingKey), Error> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| Error::Unauthorized("the token's header cannot be read".into()))?;
        let unknown = || {
            Error::Unauthorized(
                "the token's key id (kid) is not one of the keys of its issuer".into(),
            )
        };
        match &self.keys {
            Keys::Fixed { algorithm, keys } => {
                let found = match (header.kid.as_deref(), keys.as_slice()) {
                    (_, [(None, key)]) | (None, [(_, key)]) => Some(key),
                    (Some(kid), _) => keys
                        .iter()
                        .find(|(k, _)| k.as_deref() == Some(kid))
                        .map(|(_, key)| key),
                    (None, _) => None,
                };
                found
                    .map(|key| (*algorithm, key.clone()))
                    .ok_or_else(unknown)
            }
            Keys::Published(keys) => {
                let found = match header.kid.as_deref() {
                    Some(kid) => keys.get(kid),
                    None => keys.only(),
                };
                found.map(|k| (k.algorithm, k.key)).ok_or_else(unknown)
            }
        }
    }

    pub fn verify(&self, token: &str) -> Result<Caller, Error> {
        use jsonwebtoken::errors::ErrorKind;
        let (algorithm, key) = self.key_for(token)?;
        let mut validation = self.validation.clone();
        validation.algorithms = vec![algorithm];
        let data = jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(
            token,
            &key,
            &validation,
        )
        .map_err(|e| {
            let why = match e.kind() {
                ErrorKind::ExpiredSignature => "the token has expired",
                ErrorKind::ImmatureSignature => "the token is not valid yet (nbf)",
                ErrorKind::InvalidAudience => "the token is for another audience",
                ErrorKind::InvalidIssuer => "the token is from an unknown issuer",
                ErrorKind::InvalidSignature => "the token's signature does not verify",
                ErrorKind::InvalidAlgorithm => "the token is signed with another algorithm",
                ErrorKind::MissingRequiredClaim(_) => {
                    "the token lacks a required claim (exp, nbf, iss, aud, sub)"
                }
                _ => "the token is malformed",
            };
            Error::Unauthorized(why.into())
        })?;
        let claims = data.claims;
        if claims.contains_key(&self.individual.identity_number) {
            return self.individual_caller(&claims);
        }
        self.staff_caller(&claims)
    }

    /// A unit's token, its claims read by the names configured for the identity provider.
    fn staff_caller(
        &self,
        claims: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Caller, Error> {
        let names = &self.staff;
        let text = |name: &str| claims.get(name).and_then(|v| v.as_str());
        let missing = |what: &str, name: &str| {
            Error::Unauthorized(format!(
                "the token's {what} claim ({name}) is missing or not text: sub, unit, principal and roles are required (or, for an individual, the identity number and assurance claims)"
            ))
        };
        let subject = text(&names.subject)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| missing("subject", &names.subject))?;
        let unit = HsaId::parse(text(&names.unit).ok_or_else(|| missing("unit", &names.unit))?)
            .map_err(|_| Error::Unauthorized("the token's unit claim is not an HSA-id".into()))?;
        let principal = text(&names.principal)
            .and_then(Principal::parse)
            .ok_or_else(|| {
                Error::Unauthorized(format!(
                    "the token's principal claim ({}) must be region, municipality or other",
                    names.principal
                ))
            })?;
        // A list, or one space-separated text (as OAuth scopes are written).
        let values: Vec<&str> = match claims.get(&names.roles) {
            Some(serde_json::Value::Array(items)) => {
                items.iter().filter_map(|v| v.as_str()).collect()
            }
            Some(serde_json::Value::String(text)) => text.split_whitespace().collect(),
            _ => return Err(missing("roles", &names.roles)),
        };
        // Unknown values are ignored, so a provider can carry roles of other systems.
        let roles: Vec<Role> = if self.role_map.is_empty() {
            values.iter().filter_map(|v| Role::parse(v)).collect()
        } else {
            values
                .iter()
                .flat_map(|v| self.role_map.iter().filter(move |(value, _)| value == v))
                .map(|(_, role)| *role)
                .collect()
        };
        Ok(Caller::new(subject, unit, principal, &roles))
    }

    /// An individual's token: it names a person by identity number after an e-ID login of
    /// assurance level 3 or higher, and carries no unit and no role (a token that mixes the two
    /// kinds is refused, so a staff token can never be read as a citizen's or the other way round).
    fn individual_caller(
        &self,
        claims: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Caller, Error> {
        let names = &self.individual;
        if claims.contains_key(&self.staff.unit) || claims.contains_key(&self.staff.roles) {
            return Err(Error::Unauthorized(
                "a token names either an individual or a staff unit with roles, not both".into(),
            ));
        }
        let level = claims.get(&names.assurance).and_then(assurance_level);
        if level.is_none_or(|level| level < MIN_ASSURANCE_LEVEL) {
            return Err(Error::Unauthorized(format!(
                "an individual's token needs an e-ID login of assurance level {MIN_ASSURANCE_LEVEL} or higher in its {} claim",
                names.assurance
            )));
        }
        let today = crate::domain::calendar::swedish_date(chrono::Utc::now());
        let person = claims
            .get(&names.identity_number)
            .and_then(|v| v.as_str())
            .and_then(|n| IdentityNumber::parse(n, today).ok())
            .ok_or_else(|| {
                Error::Unauthorized(format!(
                    "the token's {} claim is not a personnummer or samordningsnummer",
                    names.identity_number
                ))
            })?;
        Ok(Caller::individual(person))
    }
}

/// The lowest assurance level (tillitsnivå, LoA) of an individual's login: 3, as for e-ID such as
/// BankID and Freja+ under DIGG's framework, which 1177 asks of a login to health records.
pub const MIN_ASSURANCE_LEVEL: u8 = 3;

/// The assurance level a claim states: a URI or word ending in `loa<N>` (DIGG's
/// `http://id.elegnamnden.se/loa/1.0/loa3`, Sweden Connect's `…/uncertified-loa3`), or the number.
fn assurance_level(value: &serde_json::Value) -> Option<u8> {
    if let Some(n) = value.as_u64() {
        return u8::try_from(n).ok();
    }
    let text = value.as_str()?.trim().to_ascii_lowercase();
    let digits = match text.rfind("loa") {
        Some(at) => &text[at + 3..],
        None => text.as_str(),
    };
    digits.parse().ok()
}

fn secret_key(secret: &str) -> DecodingKey {
    DecodingKey::from_secret(secret.as_bytes())
}

/// Configured keys, all for `algorithm`.
fn fixed(algorithm: Algorithm, keys: Vec<(Option<String>, DecodingKey)>) -> (Algorithm, Keys) {
    (algorithm, Keys::Fixed { algorithm, keys })
}

/// The checks every token passes: issuer, audience, the required claims, and time with leeway.
fn validation(settings: &JwtSettings, algorithm: Algorithm) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.set_issuer(&[&settings.issuer]);
    validation.set_audience(&[&settings.audience]);
    validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.leeway = settings.leeway_seconds;
    validation
}

/// The id of one request: the client's `X-Request-Id` when it is a sane token (so a journal system
/// can trace its own calls), otherwise a new UUID. Echoed in the response and in the access log;
/// set by the request-id middleware (`app.rs`), which runs before authentication.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Middleware on `/api/v1`: no request reaches a handler without a verified caller. A refusal is
/// answered here as a response (not an `Err`), so it passes through the outer middleware like any
/// other answer.
pub async fn authenticate(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    // A token naming a key the provider may have published since its keys were fetched: fetch them
    // again first (at most once in ten seconds), on the blocking pool.
    if let (Some(verifier), Some(token)) = (
        req.app_data::<web::Data<TokenVerifier>>().cloned(),
        bearer_token(&req),
    ) {
        if verifier.names_unknown_key(&token) {
            let _ = web::block(move || verifier.refresh_keys()).await;
        }
    }
    match verify_request(&req) {
        Ok(mut caller) => {
            if let Some(limiters) = req.app_data::<web::Data<limits::Limiters>>() {
                // The bulk import's upload stream: one request is many records by design.
                let upload = req.method() == actix_web::http::Method::POST
                    && req.path().ends_with("/records")
                    && caller.has(Role::Import);
                if let Err(error) = limiters.check(&caller, upload) {
                    return Ok(req.error_response(error).map_into_right_body());
                }
            }
            if let Some(id) = req.extensions().get::<RequestId>() {
                caller.request_id = id.0.clone();
            }
            req.extensions_mut().insert(caller);
            Ok(next.call(req).await?.map_into_left_body())
        }
        Err(error) => Ok(req.error_response(error).map_into_right_body()),
    }
}

fn verify_request(req: &ServiceRequest) -> Result<Caller, Error> {
    let verifier = req
        .app_data::<web::Data<TokenVerifier>>()
        .ok_or_else(|| Error::Internal("no token verifier configured".into()))?;
    let authorization = req
        .headers()
        .get_all(header::AUTHORIZATION)
        .collect::<Vec<_>>();
    // Exactly one: with two, a gateway that checked one and we that used the other could be
    // played against each other.
    if authorization.len() > 1 {
        return Err(Error::Unauthorized(
            "send exactly one Authorization header".into(),
        ));
    }
    let token = bearer_token(req)
        .ok_or_else(|| Error::Unauthorized("send Authorization: Bearer <token>".into()))?;
    verifier.verify(&token)
}

/// The token of the request's one `Authorization: Bearer` header.
fn bearer_token(req: &ServiceRequest) -> Option<String> {
    let mut headers = req.headers().get_all(header::AUTHORIZATION);
    let value = headers.next()?;
    if headers.next().is_some() {
        return None;
    }
    let (scheme, token) = value.to_str().ok()?.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

/// The development signing secret: read from `path`, created there on first use.
pub fn development_secret(path: &std::path::Path) -> Result<String, String> {
    if let Ok(secret) = std::fs::read_to_string(path) {
        let secret = secret.trim().to_string();
        if secret.len() >= 32 {
            return Ok(secret);
        }
    }
    if let Some(dir) = path.parent() {
        crate::config::create_private_dir(dir)?;
    }
    // Two random v4 UUIDs: 244 bits from the operating system's random source.
    let secret = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    write_private_file(path, &secret)
        .map_err(|e| format!("cannot write the development key {}: {e}", path.display()))?;
    log::warn!(
        "created a development signing key in {}: set JWT_PUBLIC_KEY_FILE (or JWT_HS256_SECRET) in production",
        path.display()
    );
    Ok(secret)
}

fn write_private_file(path: &std::path::Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(content.as_bytes())
}

/// The HS256 secret development and test tokens are signed with.
fn signing_secret(settings: &JwtSettings) -> Result<String, String> {
    match &settings.key {
        JwtKeySetting::Hs256Secret(secret) => Ok(secret.clone()),
        JwtKeySetting::DevelopmentKeyFile(path) => development_secret(path),
        JwtKeySetting::PublicKeys { .. } | JwtKeySetting::Issuer { .. } => Err("with JWT_PUBLIC_KEY_FILE or JWT_ISSUER_URL the identity provider issues tokens; this command signs only with the development key or JWT_HS256_SECRET".into()),
    }
}

/// Mints an HS256 token for an individual, as an e-service's identity provider would issue it
/// after an e-ID login of assurance level 3 (`sip-service token --individual …`).
pub fn mint_individual_token(
    settings: &JwtSettings,
    person: &IdentityNumber,
    valid_for_seconds: i64,
) -> Result<String, String> {
    let secret = signing_secret(settings)?;
    let now = chrono::Utc::now().timestamp();
    let claims = serde_json::json!({
        // A pairwise pseudonym, as identity providers give e-services; never the number itself.
        "sub": uuid::Uuid::new_v4().to_string(),
        "iss": settings.issuer,
        "aud": settings.audience,
        "exp": now + valid_for_seconds,
        "nbf": now - 1,
        "iat": now,
        settings.individual.identity_number.clone(): person.as_str(),
        settings.individual.assurance.clone(): "http://id.elegnamnden.se/loa/1.0/loa3",
    });
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .map_err(|e| format!("cannot sign the token: {e}"))
}

/// Mints an HS256 token for development and tests (`sip-service token …`).
pub fn mint_token(
    settings: &JwtSettings,
    subject: &str,
    unit: &HsaId,
    principal: Principal,
    roles: &[Role],
    valid_for_seconds: i64,
) -> Result<String, String> {
    let secret = signing_secret(settings)?;
    let now = chrono::Utc::now().timestamp();
    let claims = Claims {
        sub: subject.to_string(),
        iss: settings.issuer.clone(),
        aud: settings.audience.clone(),
        exp: now + valid_for_seconds,
        nbf: now - 1,
        iat: now,
        unit: unit.as_str().to_string(),
        principal,
        roles: roles.iter().map(|r| r.as_str().to_string()).collect(),
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .map_err(|e| format!("cannot sign the token: {e}"))
}
