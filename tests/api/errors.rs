//! Every error class answers problem+json with the right status, and nothing a client sends causes
//! a 500.

use actix_web::http::Method;
use actix_web::test::TestRequest;
use serde_json::json;

use crate::common::*;
use crate::on_both_databases;

async fn unknown_routes_and_methods(app: TestApp) {
    app.send(Method::GET, "/nowhere", None, None, &[])
        .await
        .expect(404);
    app.get("/api/v1/nowhere", &reader()).await.expect(404);
    app.send(
        Method::DELETE,
        "/api/v1/plans",
        Some(&region_writer()),
        None,
        &[],
    )
    .await
    .expect(405);
    app.send(Method::POST, "/health", None, None, &[])
        .await
        .expect(405);
    // Every route of the document answers a method it lacks with 405 and `Allow` listing the
    // methods it has (RFC 9110), for a caller with a token and for one without.
    let doc: serde_json::Value = serde_json::from_str(&sip::api::openapi_json()).unwrap();
    let some_id = uuid::Uuid::new_v4().to_string();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let methods: Vec<String> = ["get", "put", "post", "delete", "patch"]
            .iter()
            .filter(|m| item.get(**m).is_some())
            .map(|m| m.to_uppercase())
            .collect();
        let mut uri = path
            .replace("{worklist}", "overdue-follow-ups")
            .replace("{revision}", "1");
        while let (Some(start), Some(end)) = (uri.find('{'), uri.find('}')) {
            uri.replace_range(start..=end, &some_id);
        }
        let reply = app
            .send(Method::PATCH, &uri, Some(&region_writer()), None, &[])
            .await
            .expect(405);
        assert_eq!(
            reply.header("allow").as_deref(),
            Some(methods.join(", ").as_str()),
            "{path}"
        );
    }
}

async fn malformed_bodies_are_400_with_the_field(app: TestApp) {
    let who = region_writer();
    let raw = |body: &'static str| {
        TestRequest::post()
            .uri("/api/v1/individuals")
            .insert_header(("authorization", format!("Bearer {}", app.token(&who))))
            .insert_header(("content-type", "application/json"))
            .set_payload(body)
    };
    let reply = app
        .send_request(raw("{\"identity_number\": "))
        .await
        .expect(400);
    assert_eq!(reply.body["type"], "/problems/bad-request");
    app.send_request(raw("")).await.expect(400);
    app.send_request(raw("[]")).await.expect(400);

    let reply = app
        .post(
            "/api/v1/individuals",
            &who,
            json!({"identity_number": LISA_PNR, "given_name": "Lisa", "family_name": "T", "nickname": "L"}),
        )
        .await
        .expect(400);
    assert_eq!(reply.error_fields(), ["$.nickname"]);
    assert!(reply.body["detail"]
        .as_str()
        .unwrap()
        .contains("unknown field"));

    let reply = app
        .post(
            "/api/v1/individuals",
            &who,
            json!({"identity_number": LISA_PNR, "given_name": "Lisa", "family_name": "T", "guardians": [{"name": 7}]}),
        )
        .await
        .expect(400);
    assert_eq!(reply.error_fields(), ["$.guardians[0].name"]);

    let reply = app
        .post(
            "/api/v1/individuals",
            &who,
            json!({"given_name": "Lisa", "family_name": "T"}),
        )
        .await
        .expect(400);
    assert_eq!(reply.error_fields(), ["$.identity_number"]);
}

async fn wrong_media_type_and_oversized_bodies(app: TestApp) {
    let who = region_writer();
    let reply = app
        .send_request(
            TestRequest::post()
                .uri("/api/v1/individuals")
                .insert_header(("authorization", format!("Bearer {}", app.token(&who))))
                .insert_header(("content-type", "text/plain"))
                .set_payload("{}"),
        )
        .await
        .expect(415);
    assert_eq!(reply.body["type"], "/problems/unsupported-media-type");
    let huge = "x".repeat(70 * 1024);
    app.post(
        "/api/v1/individuals",
        &who,
        json!({"identity_number": LISA_PNR, "given_name": huge, "family_name": "T"}),
    )
    .await
    .expect(413);
}

/// `null` is never a value: absent means not given, in every body, and the answer names the
/// field — an optional one, a required one, or an item of a list.
async fn null_is_refused_everywhere_naming_the_field(app: TestApp) {
    let who = region_writer();
    for (body, field) in [
        (
            json!({"identity_number": LISA_PNR, "given_name": "Lisa", "family_name": "T", "guardians": null}),
            "$.guardians",
        ),
        (
            json!({"identity_number": null, "given_name": "Lisa", "family_name": "T"}),
            "$.identity_number",
        ),
        (
            json!({"identity_number": ALEX_PNR, "given_name": "Alex", "family_name": "T", "guardians": [{"name": "G", "identity_number": null}]}),
            "$.guardians[0].identity_number",
        ),
    ] {
        let reply = app
            .post("/api/v1/individuals", &who, body)
            .await
            .expect(400);
        assert_eq!(reply.error_fields(), [field]);
        assert!(reply.body["detail"].as_str().unwrap().contains("null"));
    }
}

async fn bad_queries_and_ids(app: TestApp) {
    let r = reader();
    let reply = app.get("/api/v1/plans?limit=abc", &r).await.expect(400);
    assert_eq!(reply.error_fields(), ["query.limit"]);
    assert!(!reply.body.to_string().contains("abc"));
    let reply = app.get("/api/v1/plans?colour=blue", &r).await.expect(400);
    assert!(reply.body["detail"].as_str().unwrap().contains("colour"));
    let reply = app.get("/api/v1/plans?limit=0", &r).await.expect(422);
    assert_eq!(reply.error_fields(), ["query.limit"]);
    app.get("/api/v1/plans?limit=201", &r).await.expect(422);
    let reply = app
        .get("/api/v1/plans?cursor=yesterday", &r)
        .await
        .expect(400);
    assert_eq!(reply.error_fields(), ["query.cursor"]);
    app.get("/api/v1/plans?status=dreaming", &r)
        .await
        .expect(400);
    let reply = app
        .get("/api/v1/plans?initiating_unit=ward7", &r)
        .await
        .expect(422);
    assert_eq!(reply.error_fields(), ["query.initiating_unit"]);
    // An id that is not a UUID names nothing: the kind's own 404, never repeating the input.
    for (uri, detail) in [
        (
            "/api/v1/plans/not-a-uuid".to_string(),
            "no plan has this id",
        ),
        (
            format!("/api/v1/plans/{}/consents/not-a-uuid", uuid::Uuid::new_v4()),
            "no consent has this id",
        ),
        (
            "/api/v1/individuals/42".to_string(),
            "no individual has this id",
        ),
    ] {
        let reply = app.get(&uri, &r).await.expect(404);
        assert_problem(&reply);
        assert_eq!(reply.body["detail"], detail, "{uri}");
        let body = reply.body.to_string();
        assert!(
            !body.contains("not-a-uuid") && !body.contains("42\""),
            "{body}"
        );
    }
    app.get(&format!("/api/v1/plans/{}", uuid::Uuid::new_v4()), &r)
        .await
        .expect(404);
    app.get(&format!("/api/v1/individuals/{}", uuid::Uuid::new_v4()), &r)
        .await
        .expect(404);
}

/// Stored data the service did not write as it does (a hand-edited row, a bad restore) is a fault of
/// the service: 500, logged by the column's name — not an empty value that would show the plan
/// without what the individual asked not to be raised.
async fn corrupt_stored_data_is_an_internal_error_not_an_empty_value(app: TestApp) {
    let plan = app.lisas_plan().await;
    let uri = format!("/api/v1/plans/{}", plan["id"].as_str().unwrap());
    app.get(&uri, &reader()).await.expect(200);
    assert!(
        app.try_sql("UPDATE plans SET topics_to_avoid = 'not a list'")
            .await
    );
    let reply = app.get(&uri, &reader()).await.expect(500);
    assert_eq!(
        reply.header("content-type").as_deref(),
        Some("application/problem+json")
    );
    assert!(
        !reply.body.to_string().contains("not a list"),
        "{}",
        reply.body
    );
    // A typed column (an HSA-id, read through `db::columns`) holding what is not one: the same.
    assert!(
        app.try_sql("UPDATE plans SET topics_to_avoid = '[]', initiating_unit = 'ward seven'")
            .await
    );
    let reply = app.get(&uri, &reader()).await.expect(500);
    assert_problem(&reply);
    assert!(
        !reply.body.to_string().contains("ward seven"),
        "{}",
        reply.body
    );
}

on_both_databases!(
    corrupt_stored_data_is_an_internal_error_not_an_empty_value,
    unknown_routes_and_methods,
    null_is_refused_everywhere_naming_the_field,
    malformed_bodies_are_400_with_the_field,
    wrong_media_type_and_oversized_bodies,
    bad_queries_and_ids,
);
