//! Rate limits per token subject and per unit: 429 problem+json with `Retry-After`, before the
//! request reaches an operation; the bulk import's upload stream is exempt.

use actix_web::http::Method;
use serde_json::json;
use sip::auth::Role;
use sip::config::{Limit, RateLimits};
use sip::domain::Principal;

use crate::common::*;

#[actix_web::test]
async fn a_subject_over_its_limit_gets_429_with_retry_after() {
    let app = TestApp::sqlite_limited(RateLimits {
        per_subject: Some(Limit {
            per_second: 1,
            burst: 3,
        }),
        per_unit: None,
    })
    .await;
    let statuses = {
        let mut out = Vec::new();
        for _ in 0..5 {
            out.push(app.get("/api/v1/plans", &reader()).await);
        }
        out
    };
    assert!(statuses[..3].iter().all(|r| r.status.as_u16() == 200));
    let limited = statuses.last().unwrap();
    assert_eq!(limited.status.as_u16(), 429);
    assert_problem(limited);
    let wait: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&wait), "{wait}");
    assert!(limited.body["detail"].as_str().unwrap().contains("subject"));
    // An individual is limited on their own.
    let lisa = Who::individual(LISA_PNR);
    for _ in 0..3 {
        app.get("/api/v1/me", &lisa).await.expect(200);
    }
    app.get("/api/v1/me", &lisa).await.expect(429);
}

#[actix_web::test]
async fn a_unit_over_its_limit_gets_429_whoever_asks() {
    let app = TestApp::sqlite_limited(RateLimits {
        per_subject: None,
        per_unit: Some(Limit {
            per_second: 1,
            burst: 2,
        }),
    })
    .await;
    app.get("/api/v1/plans", &reader()).await.expect(200);
    app.get("/api/v1/plans", &region_writer()).await.expect(200);
    let reply = app.get("/api/v1/plans", &reader()).await.expect(429);
    assert!(reply.body["detail"].as_str().unwrap().contains("unit"));
    // Another unit has its own share.
    app.get("/api/v1/plans", &municipality_writer())
        .await
        .expect(200);
}

#[actix_web::test]
async fn the_import_upload_stream_is_exempt() {
    let app = TestApp::sqlite_limited(RateLimits {
        per_subject: Some(Limit {
            per_second: 1,
            burst: 2,
        }),
        per_unit: Some(Limit {
            per_second: 1,
            burst: 2,
        }),
    })
    .await;
    let importer = Who {
        unit: "SE2321000016-IMP1",
        principal: Principal::Region,
        roles: vec![Role::Import],
    };
    let import = app
        .post(
            "/api/v1/imports",
            &importer,
            json!({"source_system": "journal-x"}),
        )
        .await
        .expect(201)
        .body;
    for _ in 0..5 {
        let reply = app
            .send_request(
                actix_web::test::TestRequest::post()
                    .uri(&format!("/api/v1/imports/{}/records", id(&import)))
                    .insert_header(("authorization", format!("Bearer {}", app.token(&importer))))
                    .insert_header(("content-type", "application/x-ndjson"))
                    .set_payload("\n"),
            )
            .await;
        assert_ne!(reply.status.as_u16(), 429, "{}", reply.body);
    }
    // Its other operations are limited like any.
    let uri = format!("/api/v1/imports/{}", id(&import));
    let statuses: Vec<u16> = {
        let mut out = Vec::new();
        for _ in 0..3 {
            out.push(
                app.send(Method::GET, &uri, Some(&importer), None, &[])
                    .await
                    .status
                    .as_u16(),
            );
        }
        out
    };
    assert!(statuses.contains(&429), "{statuses:?}");
}
