//! Authentication: every /api/v1 call needs a valid token; roles decide what it may do.

use actix_web::http::Method;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use sip::auth::Role;
use sip::config::JwtKeySetting;

use crate::common::*;
use crate::on_both_databases;

fn claims(overrides: Value) -> Value {
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({
        "sub": "tester", "iss": ISSUER, "aud": AUDIENCE,
        "exp": now + 600, "nbf": now - 10, "iat": now - 10,
        "unit": REGION_UNIT, "principal": "region", "roles": ["read", "write"],
    });
    for (k, v) in overrides.as_object().unwrap() {
        if v.is_null() {
            claims.as_object_mut().unwrap().remove(k);
        } else {
            claims[k] = v.clone();
        }
    }
    claims
}

fn hs256(claims: &Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

async fn status_with(app: &TestApp, token: &str) -> Reply {
    app.send(
        Method::GET,
        "/api/v1/plans",
        None,
        None,
        &[("authorization", &format!("Bearer {token}"))],
    )
    .await
}

async fn missing_and_malformed_tokens_are_401(app: TestApp) {
    let reply = app
        .send(Method::GET, "/api/v1/plans", None, None, &[])
        .await
        .expect(401);
    assert_eq!(reply.header("www-authenticate").as_deref(), Some("Bearer"));
    app.send(
        Method::GET,
        "/api/v1/plans",
        None,
        None,
        &[("authorization", "Basic dXNlcjpwYXNz")],
    )
    .await
    .expect(401);
    status_with(&app, "not.a.jwt").await.expect(401);
    // Exactly one Authorization header: a good one beside a bad one (in either order), or two
    // good ones, is 401, so a gateway that checks one of them cannot be slipped past.
    let good = format!("Bearer {}", app.token(&reader()));
    for pair in [
        [good.as_str(), "Bearer not.a.jwt"],
        ["Bearer not.a.jwt", good.as_str()],
        [good.as_str(), good.as_str()],
    ] {
        let request = actix_web::test::TestRequest::get()
            .uri("/api/v1/plans")
            .append_header(("authorization", pair[0]))
            .append_header(("authorization", pair[1]));
        let reply = app.send_request(request).await.expect(401);
        assert!(reply.body["detail"]
            .as_str()
            .unwrap()
            .contains("exactly one"));
    }
    // Unknown routes under /api/v1 do not reveal themselves without a token either.
    app.send(Method::GET, "/api/v1/nothing-here", None, None, &[])
        .await
        .expect(401);
}

async fn every_bad_claim_is_refused(app: TestApp) {
    let now = chrono::Utc::now().timestamp();
    let cases = [
        ("expired", json!({"exp": now - 60}), "expired"),
        ("not yet valid", json!({"nbf": now + 600}), "not valid yet"),
        ("wrong audience", json!({"aud": "another-api"}), "audience"),
        ("wrong issuer", json!({"iss": "someone-else"}), "issuer"),
        ("no exp", json!({"exp": null}), "required claim"),
        (
            "no unit",
            json!({"unit": null}),
            "unit claim (unit) is missing",
        ),
        ("unit not an HSA-id", json!({"unit": "ward 7"}), "HSA-id"),
        (
            "unknown principal",
            json!({"principal": "county"}),
            "region, municipality or other",
        ),
    ];
    for (case, overrides, detail) in cases {
        let reply = status_with(&app, &hs256(&claims(overrides), SECRET))
            .await
            .expect(401);
        let got = reply.body["detail"].as_str().unwrap();
        assert!(got.contains(detail), "{case}: {got}");
    }
    let reply = status_with(
        &app,
        &hs256(&claims(json!({})), "another-secret-another-secret-another"),
    )
    .await
    .expect(401);
    assert!(reply.body["detail"].as_str().unwrap().contains("signature"));
    // The valid token passes.
    status_with(&app, &hs256(&claims(json!({})), SECRET))
        .await
        .expect(200);
}

async fn alg_none_is_refused(app: TestApp) {
    use base64_url as b64;
    let header = b64::encode(br#"{"alg":"none","typ":"JWT"}"#);
    let body = b64::encode(claims(json!({})).to_string().as_bytes());
    status_with(&app, &format!("{header}.{body}."))
        .await
        .expect(401);
}

/// Tiny base64url (no padding), so the alg:none token is built by hand.
mod base64_url {
    pub fn encode(bytes: &[u8]) -> String {
        const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
            for i in 0..=chunk.len() {
                out.push(ABC[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }
}

async fn a_missing_role_is_403(app: TestApp) {
    let lisa = app.individual(LISA_PNR, "Lisa", json!([])).await;
    let read_only = reader();
    let reply = app
        .post(
            "/api/v1/plans",
            &read_only,
            json!({"individual_id": lisa["id"], "need_reason": "x"}),
        )
        .await
        .expect(403);
    assert!(reply.body["detail"].as_str().unwrap().contains("write"));
    let nobody = Who {
        roles: vec![],
        ..reader()
    };
    app.get("/api/v1/plans", &nobody).await.expect(403);
    // admin includes read and write
    let admin = Who {
        roles: vec![Role::Admin],
        ..reader()
    };
    app.get("/api/v1/plans", &admin).await.expect(200);
}

/// Every operation under `/api/v1` declares the role it needs in its handler (`caller: Writer`),
/// checked before anything else of the request is read: a token without roles gets 403 from every
/// operation the document lists — not a 400, 404 or 422 that would tell it about ids or input
/// rules — so a new operation cannot forget its role. The same walk holds the two kinds of token
/// apart: an individual's token gets 403 from every staff operation, and a unit's token with
/// every role gets 403 from every `/me` operation.
async fn every_operation_needs_a_role_before_it_reads_the_request(app: TestApp) {
    let doc: Value = serde_json::from_str(&sip::api::openapi_json()).unwrap();
    let nobody = Who {
        roles: vec![],
        ..reader()
    };
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !path.starts_with("/api/v1/") {
            continue;
        }
        let uri = path
            .split('/')
            .map(|segment| {
                if segment.starts_with('{') {
                    uuid::Uuid::new_v4().to_string()
                } else {
                    segment.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        for (method, operation) in [
            (Method::GET, &item["get"]),
            (Method::POST, &item["post"]),
            (Method::PUT, &item["put"]),
            (Method::DELETE, &item["delete"]),
        ] {
            if operation.is_null() {
                continue;
            }
            let body = (method == Method::POST || method == Method::PUT).then(|| json!({}));
            let other_side = if path.starts_with("/api/v1/me") {
                Who {
                    roles: vec![Role::Admin],
                    ..reader()
                }
            } else {
                Who::individual(LISA_PNR)
            };
            for caller in [&nobody, &other_side] {
                let reply = app
                    .send(
                        method.clone(),
                        &uri,
                        Some(caller),
                        body.as_ref(),
                        &[("If-Match", "*")],
                    )
                    .await;
                assert_eq!(
                    reply.status.as_u16(),
                    403,
                    "{method} {path}: {}",
                    reply.body
                );
                assert_problem(&reply);
            }
            checked += 1;
        }
    }
    assert!(checked > 60, "only {checked} operations were walked");
}

async fn health_and_ready_need_no_token(app: TestApp) {
    let health = app
        .send(Method::GET, "/health", None, None, &[])
        .await
        .expect(200);
    assert_eq!(health.body["status"], "ok");
    let ready = app
        .send(Method::GET, "/ready", None, None, &[])
        .await
        .expect(200);
    assert_eq!(ready.body["status"], "ready");
}

on_both_databases!(
    missing_and_malformed_tokens_are_401,
    every_bad_claim_is_refused,
    alg_none_is_refused,
    a_missing_role_is_403,
    every_operation_needs_a_role_before_it_reads_the_request,
    health_and_ready_need_no_token,
);

// --- Public-key algorithms (production); the database does not matter here. ---------------------

async fn app_with_public_key(algorithm: &str, public_key: &str) -> TestApp {
    TestApp::sqlite_with_jwt(jwt_settings(JwtKeySetting::PublicKeys {
        algorithm: algorithm.into(),
        keys: vec![(None, fixture(public_key))],
    }))
    .await
}

fn signed(algorithm: Algorithm, private_key: &str) -> String {
    let pem = std::fs::read(fixture(private_key)).unwrap();
    let key = match algorithm {
        Algorithm::RS256 => EncodingKey::from_rsa_pem(&pem).unwrap(),
        _ => EncodingKey::from_ec_pem(&pem).unwrap(),
    };
    jsonwebtoken::encode(&Header::new(algorithm), &claims(json!({})), &key).unwrap()
}

#[actix_web::test]
async fn rs256_tokens_verify_with_the_public_key() {
    let app = app_with_public_key("RS256", "rs256-public.pem").await;
    status_with(&app, &signed(Algorithm::RS256, "rs256-private.pem"))
        .await
        .expect(200);
    // An ES256 token, or an HS256 token "signed" with the public key, is refused: alg is pinned.
    status_with(&app, &signed(Algorithm::ES256, "es256-private.pem"))
        .await
        .expect(401);
    let public_pem = std::fs::read_to_string(fixture("rs256-public.pem")).unwrap();
    status_with(&app, &hs256(&claims(json!({})), &public_pem))
        .await
        .expect(401);
}

#[actix_web::test]
async fn es256_tokens_verify_with_the_public_key() {
    let app = app_with_public_key("ES256", "es256-public.pem").await;
    status_with(&app, &signed(Algorithm::ES256, "es256-private.pem"))
        .await
        .expect(200);
    status_with(&app, &signed(Algorithm::RS256, "rs256-private.pem"))
        .await
        .expect(401);
}

fn signed_with_kid(private_key: &str, kid: Option<&str>) -> String {
    let pem = std::fs::read(fixture(private_key)).unwrap();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = kid.map(String::from);
    jsonwebtoken::encode(
        &header,
        &claims(json!({})),
        &EncodingKey::from_rsa_pem(&pem).unwrap(),
    )
    .unwrap()
}

/// Key rotation: several public keys at once, each chosen by the token's `kid`.
#[actix_web::test]
async fn keys_rotate_by_kid() {
    let app = TestApp::sqlite_with_jwt(jwt_settings(JwtKeySetting::PublicKeys {
        algorithm: "RS256".into(),
        keys: vec![
            (Some("2026-a".into()), fixture("rs256-public.pem")),
            (Some("2026-b".into()), fixture("rs256b-public.pem")),
        ],
    }))
    .await;
    status_with(&app, &signed_with_kid("rs256-private.pem", Some("2026-a")))
        .await
        .expect(200);
    status_with(&app, &signed_with_kid("rs256b-private.pem", Some("2026-b")))
        .await
        .expect(200);
    let reply = status_with(&app, &signed_with_kid("rs256-private.pem", Some("2026-b")))
        .await
        .expect(401);
    assert!(reply.body["detail"].as_str().unwrap().contains("signature"));
    let reply = status_with(&app, &signed_with_kid("rs256-private.pem", Some("2025-x")))
        .await
        .expect(401);
    assert!(reply.body["detail"].as_str().unwrap().contains("kid"));
    status_with(&app, &signed_with_kid("rs256-private.pem", None))
        .await
        .expect(401);
}

/// Clock skew: `exp` and `nbf` are checked with the configured leeway.
#[actix_web::test]
async fn the_leeway_tolerates_clock_skew_and_no_more() {
    let mut settings = jwt_settings(JwtKeySetting::Hs256Secret(SECRET.into()));
    settings.leeway_seconds = 60;
    let app = TestApp::sqlite_with_jwt(settings).await;
    let now = chrono::Utc::now().timestamp();
    status_with(&app, &hs256(&claims(json!({"exp": now - 30})), SECRET))
        .await
        .expect(200);
    status_with(&app, &hs256(&claims(json!({"nbf": now + 30})), SECRET))
        .await
        .expect(200);
    status_with(&app, &hs256(&claims(json!({"exp": now - 120})), SECRET))
        .await
        .expect(401);
}
