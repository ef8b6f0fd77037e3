//! Individuals: identity numbers validated and unique, guardians for children, updates with If-Match.

use serde_json::json;

use crate::common::*;
use crate::on_both_databases;

async fn registering_stores_the_canonical_number(app: TestApp) {
    let reply = app
        .post(
            "/api/v1/individuals",
            &region_writer(),
            json!({"identity_number": LISA_PNR, "given_name": "Lisa", "family_name": "Testsson"}),
        )
        .await
        .expect(201);
    let lisa = &reply.body;
    assert_eq!(lisa["identity_number"], "191212121212");
    assert_eq!(lisa["identity_kind"], "personnummer");
    assert_eq!(lisa["birth_date"], "1912-12-12");
    assert_eq!(lisa["protected_identity"], false);
    assert_eq!(lisa["version"], 1);
    assert_eq!(reply.etag(), "\"1\"");
    let location = reply.header("location").unwrap();
    assert_eq!(
        location,
        format!("/api/v1/individuals/{}", lisa["id"].as_str().unwrap())
    );
    let read = app.get(&location, &reader()).await.expect(200);
    assert_eq!(&read.body, lisa);
}

async fn samordningsnummer_are_accepted_and_marked(app: TestApp) {
    let reply = app
        .post(
            "/api/v1/individuals",
            &region_writer(),
            json!({"identity_number": "19701063-2391", "given_name": "Sam", "family_name": "Ordning"}),
        )
        .await
        .expect(201);
    assert_eq!(reply.body["identity_kind"], "samordningsnummer");
    assert_eq!(reply.body["birth_date"], "1970-10-03");
}

async fn invalid_numbers_are_422_naming_the_field(app: TestApp) {
    for (number, message) in [
        ("19121212-1213", "check digit"),
        ("19121312-1212", "calendar date"),
        ("121212-1212", "12 digits"),
    ] {
        let reply = app
            .post(
                "/api/v1/individuals",
                &region_writer(),
                json!({"identity_number": number, "given_name": "A", "family_name": "B"}),
            )
            .await
            .expect(422);
        assert_eq!(reply.error_fields(), ["$.identity_number"]);
        assert!(
            reply.body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains(message),
            "{number}"
        );
        // The number itself is not echoed back.
        assert!(!reply.body.to_string().contains(number));
    }
    let reply = app
        .post(
            "/api/v1/individuals",
            &region_writer(),
            json!({"identity_number": LISA_PNR, "given_name": "", "family_name": "B"}),
        )
        .await
        .expect(422);
    assert_eq!(reply.error_fields(), ["$.given_name"]);
}

async fn one_individual_per_number(app: TestApp) {
    app.individual(LISA_PNR, "Lisa", json!([])).await;
    // The same number written without the hyphen is the same person.
    let reply = app
        .post(
            "/api/v1/individuals",
            &region_writer(),
            json!({"identity_number": "191212121212", "given_name": "Other", "family_name": "Name"}),
        )
        .await
        .expect(409);
    assert_eq!(reply.body["type"], "/problems/duplicate");
    assert!(!reply.body.to_string().contains("191212121212"));
}

async fn search_by_number_in_the_body(app: TestApp) {
    let lisa = app.individual(LISA_PNR, "Lisa", json!([])).await;
    let found = app
        .post(
            "/api/v1/individuals/search",
            &reader(),
            json!({"identity_number": "191212121212"}),
        )
        .await
        .expect(200);
    assert_eq!(found.body["id"], lisa["id"]);
    app.post(
        "/api/v1/individuals/search",
        &reader(),
        json!({"identity_number": ERIK_PNR}),
    )
    .await
    .expect(404);
    app.post(
        "/api/v1/individuals/search",
        &reader(),
        json!({"identity_number": "12"}),
    )
    .await
    .expect(422);
}

async fn guardians_belong_to_children(app: TestApp) {
    let alex = app
        .individual(
            ALEX_PNR,
            "Alex",
            json!([{"name": "Maria"}, {"name": "Jonas", "identity_number": LISA_PNR}]),
        )
        .await;
    assert_eq!(alex["guardians"].as_array().unwrap().len(), 2);
    assert_eq!(alex["guardians"][1]["identity_number"], "191212121212");
    let reply = app
        .post(
            "/api/v1/individuals",
            &region_writer(),
            json!({"identity_number": ERIK_PNR, "given_name": "Erik", "family_name": "T", "guardians": [{"name": "X"}]}),
        )
        .await
        .expect(422);
    assert_eq!(reply.error_fields(), ["$.guardians"]);
}

async fn updates_need_the_current_version(app: TestApp) {
    let lisa = app.individual(LISA_PNR, "Lisa", json!([])).await;
    // Her plan lets the unit keep seeing her once her identity becomes protected.
    app.plan_for(lisa["id"].as_str().unwrap()).await;
    let uri = format!("/api/v1/individuals/{}", lisa["id"].as_str().unwrap());
    let change = json!({"identity_number": LISA_PNR, "given_name": "Lisa", "family_name": "Married", "protected_identity": true});
    app.put(&uri, &region_writer(), change.clone(), None)
        .await
        .expect(428);
    app.put(&uri, &region_writer(), change.clone(), Some("\"7\""))
        .await
        .expect(412);
    let updated = app
        .put(&uri, &region_writer(), change.clone(), Some("\"1\""))
        .await
        .expect(200);
    assert_eq!(updated.body["family_name"], "Married");
    assert_eq!(updated.body["protected_identity"], true);
    assert_eq!(updated.body["version"], 2);
    assert_eq!(updated.etag(), "\"2\"");
    // The old ETag is stale now.
    app.put(&uri, &region_writer(), change, Some("\"1\""))
        .await
        .expect(412);
}

on_both_databases!(
    registering_stores_the_canonical_number,
    samordningsnummer_are_accepted_and_marked,
    invalid_numbers_are_422_naming_the_field,
    one_individual_per_number,
    search_by_number_in_the_body,
    guardians_belong_to_children,
    updates_need_the_current_version,
);
