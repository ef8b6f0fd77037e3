//! Identity federation: tokens verified with the keys an identity provider publishes
//! (`JWT_ISSUER_URL`: OpenID configuration and JWKS), served here by a small issuer on 127.0.0.1.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use sip::config::JwtKeySetting;

use crate::common::*;

/// An identity provider on 127.0.0.1: its OpenID configuration, and the key set the test publishes.
struct Issuer {
    url: String,
    keys: Arc<Mutex<Vec<Value>>>,
    up: Arc<Mutex<bool>>,
    fetches: Arc<AtomicUsize>,
}

impl Issuer {
    fn start(keys: Vec<Value>) -> Issuer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let issuer = Issuer {
            url: url.clone(),
            keys: Arc::new(Mutex::new(keys)),
            up: Arc::new(Mutex::new(true)),
            fetches: Arc::new(AtomicUsize::new(0)),
        };
        let (keys, up, fetches) = (
            issuer.keys.clone(),
            issuer.up.clone(),
            issuer.fetches.clone(),
        );
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut request = Vec::new();
                let mut buffer = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buffer) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let line = String::from_utf8_lossy(&request);
                let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                let (status, body) = if !*up.lock().unwrap() {
                    ("503 Service Unavailable", String::new())
                } else if path == "/.well-known/openid-configuration" {
                    let jwks_uri = format!("{url}/jwks");
                    (
                        "200 OK",
                        json!({"issuer": url, "jwks_uri": jwks_uri}).to_string(),
                    )
                } else if path == "/jwks" {
                    fetches.fetch_add(1, Ordering::SeqCst);
                    ("200 OK", json!({"keys": *keys.lock().unwrap()}).to_string())
                } else {
                    ("404 Not Found", String::new())
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        issuer
    }

    fn publish(&self, keys: Vec<Value>) {
        *self.keys.lock().unwrap() = keys;
    }

    fn set_up(&self, up: bool) {
        *self.up.lock().unwrap() = up;
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    async fn app(&self) -> TestApp {
        let mut jwt = jwt_settings(JwtKeySetting::Issuer {
            url: self.url.clone(),
            refresh_seconds: 300,
        });
        jwt.issuer = self.url.clone();
        TestApp::sqlite_with_jwt(jwt).await
    }

    /// The status of a request with a token signed with `private_key` and naming `kid`.
    async fn call(&self, app: &TestApp, algorithm: Algorithm, private_key: &str, kid: &str) -> u16 {
        call(app, &self.token(algorithm, private_key, kid)).await
    }

    /// A unit's token as the provider issues it, signed with `private_key` and naming `kid`.
    fn token(&self, algorithm: Algorithm, private_key: &str, kid: &str) -> String {
        let pem = std::fs::read(fixture(private_key)).unwrap();
        let key = match algorithm {
            Algorithm::ES256 => EncodingKey::from_ec_pem(&pem).unwrap(),
            _ => EncodingKey::from_rsa_pem(&pem).unwrap(),
        };
        let mut header = Header::new(algorithm);
        header.kid = Some(kid.into());
        jsonwebtoken::encode(&header, &self.claims(), &key).unwrap()
    }

    fn claims(&self) -> Value {
        let now = chrono::Utc::now().timestamp();
        json!({"sub": "tester", "iss": self.url, "aud": AUDIENCE, "exp": now + 600, "nbf": now - 10,
               "unit": REGION_UNIT, "principal": "region", "roles": ["read"]})
    }
}

/// The public key of a fixture as a JWK with the key id `kid`.
fn jwk(name: &str, kid: &str) -> Value {
    let all: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("public-jwks.json")).unwrap())
            .unwrap();
    let mut key = all[name].clone();
    key["kid"] = json!(kid);
    key
}

async fn call(app: &TestApp, token: &str) -> u16 {
    app.send(
        actix_web::http::Method::GET,
        "/api/v1/plans",
        None,
        None,
        &[("authorization", &format!("Bearer {token}"))],
    )
    .await
    .status
    .as_u16()
}

#[actix_web::test]
async fn published_keys_verify_tokens_and_unknown_key_ids_are_fetched_for_at_most_once() {
    let issuer = Issuer::start(vec![jwk("rs256", "a"), jwk("es256", "e")]);
    let app = issuer.app().await;
    assert_eq!(
        issuer
            .call(&app, Algorithm::RS256, "rs256-private.pem", "a")
            .await,
        200
    );
    assert_eq!(
        issuer
            .call(&app, Algorithm::ES256, "es256-private.pem", "e")
            .await,
        200
    );
    let at_start = issuer.fetches();
    // A key id nobody published: fetched for once, then refused without asking again.
    for _ in 0..5 {
        let made_up = issuer.token(Algorithm::RS256, "rs256-private.pem", "made-up");
        assert_eq!(call(&app, &made_up).await, 401);
    }
    assert_eq!(issuer.fetches(), at_start + 1);
    // A key signed for one algorithm cannot be used with another, nor a key for another's kid.
    assert_eq!(
        issuer
            .call(&app, Algorithm::RS256, "rs256b-private.pem", "a")
            .await,
        401
    );
    let ready = app
        .send(actix_web::http::Method::GET, "/ready", None, None, &[])
        .await
        .expect(200);
    assert_eq!(ready.body["identity_provider"]["keys"], 2);
}

/// The provider publishes a new key, switches its tokens to it, and retires the old one: under a
/// steady stream of requests with the tokens it issues at each moment, not one fails.
#[actix_web::test]
async fn keys_roll_over_under_load_with_no_failure() {
    let issuer = Issuer::start(vec![jwk("rs256", "2026-1")]);
    let app = issuer.app().await;
    let old = issuer.token(Algorithm::RS256, "rs256-private.pem", "2026-1");
    let new = issuer.token(Algorithm::RS256, "rs256b-private.pem", "2026-2");
    let burst = |tokens: Vec<String>| {
        let app = &app;
        async move { futures_util::future::join_all(tokens.iter().map(|t| call(app, t))).await }
    };
    assert!(burst(vec![old.clone(); 20]).await.iter().all(|s| *s == 200));
    // The new key is published; tokens of both keys are in flight while the provider switches.
    issuer.publish(vec![jwk("rs256", "2026-1"), jwk("rs256b", "2026-2")]);
    let mixed: Vec<String> = (0..40)
        .map(|i| if i % 2 == 0 { old.clone() } else { new.clone() })
        .collect();
    let statuses = burst(mixed).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    // The old key is retired; the provider issues only new tokens.
    issuer.publish(vec![jwk("rs256b", "2026-2")]);
    assert!(burst(vec![new.clone(); 20]).await.iter().all(|s| *s == 200));
}

/// When the provider cannot be reached, the keys held keep working and `/ready` says so.
#[actix_web::test]
async fn the_keys_held_keep_working_while_the_issuer_is_down() {
    let issuer = Issuer::start(vec![jwk("rs256", "a")]);
    let app = issuer.app().await;
    let token = issuer.token(Algorithm::RS256, "rs256-private.pem", "a");
    assert_eq!(call(&app, &token).await, 200);
    issuer.set_up(false);
    // An unknown key id makes the service try to fetch the keys again, and fail.
    let unknown = issuer.token(Algorithm::RS256, "rs256-private.pem", "b");
    assert_eq!(call(&app, &unknown).await, 401);
    assert_eq!(call(&app, &token).await, 200);
    let ready = app
        .send(actix_web::http::Method::GET, "/ready", None, None, &[])
        .await
        .expect(200);
    assert!(
        ready.body["identity_provider"]["unreachable_since"].is_string(),
        "{}",
        ready.body
    );
    assert_eq!(ready.body["identity_provider"]["keys"], 1);
}

/// A service whose provider was never reached is not ready, and verifies nothing.
#[actix_web::test]
async fn without_the_providers_keys_the_service_is_not_ready() {
    let issuer = Issuer::start(vec![jwk("rs256", "a")]);
    issuer.set_up(false);
    let app = issuer.app().await;
    let ready = app
        .send(actix_web::http::Method::GET, "/ready", None, None, &[])
        .await
        .expect(503);
    assert_problem(&ready);
    let token = issuer.token(Algorithm::RS256, "rs256-private.pem", "a");
    assert_eq!(call(&app, &token).await, 401);
}

/// Only public keys of an allowed algorithm are taken from the set: a symmetric key published by
/// mistake, or an RSA key for another algorithm, verifies nothing; and a token cannot choose an
/// algorithm outside the allow-list for a key.
#[actix_web::test]
async fn keys_of_the_wrong_type_and_algorithms_outside_the_allow_list_are_refused() {
    let secret = b"a-symmetric-key-published-by-mistake-0123456789";
    let mut rs512 = jwk("rs256b", "rs512");
    rs512["alg"] = json!("RS512");
    let issuer = Issuer::start(vec![
        jwk("rs256", "a"),
        // The base64url of `secret`.
        json!({"kty": "oct", "kid": "sym", "k": "YS1zeW1tZXRyaWMta2V5LXB1Ymxpc2hlZC1ieS1taXN0YWtlLTAxMjM0NTY3ODk"}),
        rs512,
    ]);
    let app = issuer.app().await;
    let hs = |kid: &str, key: &[u8]| {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(kid.into());
        jsonwebtoken::encode(&header, &issuer.claims(), &EncodingKey::from_secret(key)).unwrap()
    };
    assert_eq!(call(&app, &hs("sym", secret)).await, 401);
    // alg HS256 against the RSA key "a": refused, whatever it was signed with.
    assert_eq!(call(&app, &hs("a", b"anything")).await, 401);
    let rs512_token = issuer.token(Algorithm::RS256, "rs256b-private.pem", "rs512");
    assert_eq!(call(&app, &rs512_token).await, 401);
    assert_eq!(
        issuer
            .call(&app, Algorithm::RS256, "rs256-private.pem", "a")
            .await,
        200
    );
}

/// One configured public key without a key id verifies tokens whatever `kid` they carry (most
/// providers always send one).
#[actix_web::test]
async fn a_single_configured_key_accepts_any_key_id() {
    let app = TestApp::sqlite_with_jwt(jwt_settings(JwtKeySetting::PublicKeys {
        algorithm: "RS256".into(),
        keys: vec![(None, fixture("rs256-public.pem"))],
    }))
    .await;
    let pem = std::fs::read(fixture("rs256-private.pem")).unwrap();
    let now = chrono::Utc::now().timestamp();
    let claims = json!({"sub": "tester", "iss": ISSUER, "aud": AUDIENCE, "exp": now + 600, "nbf": now - 10,
                        "unit": REGION_UNIT, "principal": "region", "roles": ["read"]});
    for kid in [Some("whatever-the-idp-sends"), None] {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = kid.map(String::from);
        let token =
            jsonwebtoken::encode(&header, &claims, &EncodingKey::from_rsa_pem(&pem).unwrap())
                .unwrap();
        assert_eq!(call(&app, &token).await, 200, "kid {kid:?}");
    }
}

/// A region maps its provider's claims without code: the names of the subject, unit, principal
/// and roles claims, and which of its role values grant which role.
#[actix_web::test]
async fn the_providers_claim_names_and_role_values_are_mapped() {
    let mut jwt = jwt_settings(JwtKeySetting::Hs256Secret(SECRET.into()));
    jwt.staff = sip::config::StaffClaimNames {
        subject: "hsa_person_id".into(),
        unit: "care_unit".into(),
        principal: "organisation_kind".into(),
        roles: "scope".into(),
        role_map: vec![
            ("sip.read".into(), "read".into()),
            ("sip.write".into(), "write".into()),
        ],
    };
    let app = TestApp::sqlite_with_jwt(jwt).await;
    let token = |scope: &str| {
        let now = chrono::Utc::now().timestamp();
        let claims = json!({"sub": "pairwise-1", "iss": ISSUER, "aud": AUDIENCE, "exp": now + 600, "nbf": now - 10,
                            "hsa_person_id": "SE2321000016-P001", "care_unit": REGION_UNIT,
                            "organisation_kind": "region", "scope": scope});
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap()
    };
    assert_eq!(call(&app, &token("openid sip.read")).await, 200);
    let create = |t: String| {
        let app = &app;
        async move {
            app.send(
                actix_web::http::Method::POST,
                "/api/v1/individuals",
                None,
                Some(&json!({"identity_number": LISA_PNR, "given_name": "Lisa", "family_name": "Testsson"})),
                &[("authorization", &format!("Bearer {t}"))],
            )
            .await
        }
    };
    create(token("openid sip.read")).await.expect(403);
    create(token("openid sip.read sip.write")).await.expect(201);
    // Recorded under the configured subject claim.
    let by = app
        .count("SELECT COUNT(*) AS n FROM audit_events WHERE subject = 'SE2321000016-P001'".into())
        .await;
    assert!(by >= 1);
    // The default names mean nothing to this configuration.
    let now = chrono::Utc::now().timestamp();
    let plain = json!({"sub": "x", "iss": ISSUER, "aud": AUDIENCE, "exp": now + 600, "nbf": now - 10,
                       "unit": REGION_UNIT, "principal": "region", "roles": ["read"]});
    let plain = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &plain,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap();
    assert_eq!(call(&app, &plain).await, 401);
}
