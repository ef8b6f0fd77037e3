//! `/api/v1/subscriptions`: webhooks. A unit subscribes an endpoint to the change feed; the events
//! it may see are POSTed there, signed, as they happen.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::extract::{created, ok, IfMatch, Json};
use super::extract::{Reader, Writer};
use super::pagination::{self, PageQuery};
use crate::db::webhooks::SubscriptionRow;
use crate::db::Db;
use crate::domain::ids::SubscriptionId;
use crate::domain::webhook::{DeliveryStatus, WebhookSettings};
use crate::error::Result;
use crate::service::feed::FeedSettings;
use crate::service::webhooks::{self as service, Change, SubscriptionSpec};
use crate::views::webhook::{
    Attempt, Delivery, DeliveryPage, Subscription, SubscriptionPage, SubscriptionWithSecret,
};

/// A new subscription.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "url": "https://journal.region.example/sip/webhooks",
    "event_types": ["plan.*", "intervention.status_changed"],
    "description": "Psykiatrins journalsystem"
}))]
pub struct NewSubscription {
    /// Where the events are POSTed: `https://…` (plain `http://` only to 127.0.0.1, ::1 or
    /// localhost, for development).
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000)]
    pub url: String,
    /// Event types (see the `EventType` schema) or `<resource>.*`; empty or absent: every type.
    #[serde(default)]
    #[validate(length(max = 50))]
    #[schema(max_items = 50, value_type = Vec<crate::domain::events::EventTypeName>)]
    pub event_types: Vec<String>,
    #[validate(length(min = 1, max = 500))]
    #[schema(min_length = 1, max_length = 500, nullable = false)]
    pub description: Option<String>,
    /// Deliver the events after this feed position (to catch up from a position you read);
    /// absent: from now on.
    #[schema(minimum = 0, nullable = false)]
    pub start_after: Option<i64>,
}

/// A subscription's settings, replaced whole.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "url": "https://journal.region.example/sip/webhooks",
    "event_types": ["plan.*"],
    "description": "Psykiatrins journalsystem"
}))]
pub struct SubscriptionSettings {
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000)]
    pub url: String,
    #[serde(default)]
    #[validate(length(max = 50))]
    #[schema(max_items = 50, value_type = Vec<crate::domain::events::EventTypeName>)]
    pub event_types: Vec<String>,
    #[validate(length(min = 1, max = 500))]
    #[schema(min_length = 1, max_length = 500, nullable = false)]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveryListQuery {
    /// Only deliveries in this state.
    pub status: Option<DeliveryStatus>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(max_length = 200)]
    pub cursor: Option<String>,
}

async fn view(db: &Db, row: SubscriptionRow) -> Result<Subscription> {
    let one = row.clone();
    let pending = db
        .read(move |c| service::pending_counts(c, std::slice::from_ref(&one)))
        .await?;
    Subscription::from_row(row, pending.first().copied().unwrap_or(0))
}

/// Subscribe your unit to the change feed (webhooks).
///
/// Every event your unit may see (the feed's access rules) and the subscription selects is POSTed
/// to `url` as a `WebhookPayload`, signed with the secret returned here — **shown only now**.
/// Deliveries are queued in the database, sent in feed order, retried with doubling waits on
/// failure, and at least once: recognise repeats by `event.seq`. After
/// `WEBHOOK_PAUSE_AFTER_FAILURES` failures in a row the subscription is paused, visibly; resume it
/// when the endpoint works again, and nothing is lost.
#[utoipa::path(
    post, path = "/api/v1/subscriptions", operation_id = "create_subscription", tag = "webhooks",
    request_body = NewSubscription,
    responses(
        (status = 201, description = "Subscribed; keep the secret", body = SubscriptionWithSecret,
         headers(("ETag" = String, description = "The version"), ("Location" = String, description = "The subscription's URL"))),
        (status = 422, description = "The URL or an event type is not acceptable"),
    )
)]
pub async fn create(
    db: web::Data<Db>,
    settings: web::Data<WebhookSettings>,
    feed: web::Data<FeedSettings>,
    ctx: Writer,
    body: Json<NewSubscription>,
) -> Result<HttpResponse> {
    let input = body.0;
    let spec =
        SubscriptionSpec::check(&input.url, &input.event_types, input.description, &settings)?;
    let (start_after, feed) = (input.start_after, **feed);
    let row = db
        .write(move |c| service::create(c, &ctx, spec, start_after, feed))
        .await?;
    let secret = row.secret.clone();
    let subscription = view(&db, row).await?;
    let location = format!("/api/v1/subscriptions/{}", subscription.id);
    let version = subscription.version;
    Ok(created(
        location,
        version,
        &SubscriptionWithSecret {
            subscription,
            secret,
        },
    ))
}

/// List your unit's subscriptions.
#[utoipa::path(
    get, path = "/api/v1/subscriptions", operation_id = "list_subscriptions", tag = "webhooks",
    params(PageQuery),
    responses((status = 200, description = "One page of subscriptions", body = SubscriptionPage))
)]
pub async fn list(
    db: web::Data<Db>,
    ctx: Reader,
    query: super::extract::Query<PageQuery>,
) -> Result<HttpResponse> {
    let limit = pagination::limit(query.limit)?;
    let cursor = pagination::cursor(query.cursor.as_deref())?;
    let (rows, counts, next_cursor) = db
        .read(move |c| {
            let rows = crate::db::webhooks::list(
                c,
                ctx.caller.unit.as_str(),
                cursor.as_deref(),
                limit + 1,
            )?;
            let (rows, next) = crate::service::page(rows, limit, |r| r.id.to_string());
            let counts = service::pending_counts(c, &rows)?;
            Ok((rows, counts, next))
        })
        .await?;
    let items = rows
        .into_iter()
        .zip(counts)
        .map(|(row, pending)| Subscription::from_row(row, pending))
        .collect::<Result<Vec<_>>>()?;
    Ok(HttpResponse::Ok().json(SubscriptionPage { items, next_cursor }))
}

/// Read a subscription: its state, what waits, and when a failing delivery is tried again.
#[utoipa::path(
    get, path = "/api/v1/subscriptions/{subscription_id}", operation_id = "get_subscription", tag = "webhooks",
    params(("subscription_id" = String, Path, format = Uuid, description = "The subscription's id")),
    responses(
        (status = 200, description = "The subscription", body = Subscription, headers(("ETag" = String, description = "The version"))),
        (status = 404, description = "Your unit has no such subscription"),
    )
)]
pub async fn get(
    db: web::Data<Db>,
    ctx: Reader,
    path: web::Path<SubscriptionId>,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    let row = db.read(move |c| service::get(c, &ctx, &id)).await?;
    let subscription = view(&db, row).await?;
    Ok(ok(subscription.version, &subscription))
}

/// Replace a subscription's URL, event types and description (`If-Match` required).
#[utoipa::path(
    put, path = "/api/v1/subscriptions/{subscription_id}", operation_id = "update_subscription", tag = "webhooks",
    params(
        ("subscription_id" = String, Path, format = Uuid, description = "The subscription's id"),
        ("If-Match" = String, Header, max_length = 1000, pattern = r#"^\s*(\*|(W/)?"[^"]*"(\s*,\s*(W/)?"[^"]*")*)\s*$"#, description = "The ETag of the version you read"),
    ),
    request_body = SubscriptionSettings,
    responses(
        (status = 200, description = "Updated", body = Subscription, headers(("ETag" = String, description = "The new version"))),
        (status = 404, description = "Your unit has no such subscription"),
        (status = 412, description = "The subscription has changed since you read it"),
        (status = 422, description = "The URL or an event type is not acceptable"),
        (status = 428, description = "If-Match is missing"),
    )
)]
pub async fn update(
    db: web::Data<Db>,
    settings: web::Data<WebhookSettings>,
    ctx: Writer,
    path: web::Path<SubscriptionId>,
    if_match: IfMatch,
    body: Json<SubscriptionSettings>,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    let expected = if_match.required()?;
    let input = body.0;
    let spec =
        SubscriptionSpec::check(&input.url, &input.event_types, input.description, &settings)?;
    act(db, ctx, id, expected, Change::Settings(spec)).await
}

async fn act(
    db: web::Data<Db>,
    ctx: Writer,
    id: SubscriptionId,
    expected: Option<crate::domain::Versions>,
    change: Change,
) -> Result<HttpResponse> {
    let row = db
        .write(move |c| service::change(c, &ctx, &id, expected, change))
        .await?;
    let subscription = view(&db, row).await?;
    Ok(ok(subscription.version, &subscription))
}

/// Pause a subscription: nothing is delivered until it is resumed, and nothing is lost meanwhile
/// (within the feed's retention).
#[utoipa::path(
    post, path = "/api/v1/subscriptions/{subscription_id}/pause", operation_id = "pause_subscription", tag = "webhooks",
    params(
        ("subscription_id" = String, Path, format = Uuid, description = "The subscription's id"),
        ("If-Match" = Option<String>, Header, max_length = 1000, pattern = r#"^\s*(\*|(W/)?"[^"]*"(\s*,\s*(W/)?"[^"]*")*)\s*$"#, description = "The ETag of the version you read (optional)"),
    ),
    responses(
        (status = 200, description = "Paused", body = Subscription, headers(("ETag" = String, description = "The new version"))),
        (status = 404, description = "Your unit has no such subscription"),
        (status = 412, description = "The subscription has changed since you read it"),
    )
)]
pub async fn pause(
    db: web::Data<Db>,
    ctx: Writer,
    path: web::Path<SubscriptionId>,
    if_match: IfMatch,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    act(db, ctx, id, if_match.optional()?, Change::Pause).await
}

/// Resume a paused subscription: the waiting deliveries are sent, then the events since.
#[utoipa::path(
    post, path = "/api/v1/subscriptions/{subscription_id}/resume", operation_id = "resume_subscription", tag = "webhooks",
    params(
        ("subscription_id" = String, Path, format = Uuid, description = "The subscription's id"),
        ("If-Match" = Option<String>, Header, max_length = 1000, pattern = r#"^\s*(\*|(W/)?"[^"]*"(\s*,\s*(W/)?"[^"]*")*)\s*$"#, description = "The ETag of the version you read (optional)"),
    ),
    responses(
        (status = 200, description = "Active again", body = Subscription, headers(("ETag" = String, description = "The new version"))),
        (status = 404, description = "Your unit has no such subscription"),
        (status = 412, description = "The subscription has changed since you read it"),
    )
)]
pub async fn resume(
    db: web::Data<Db>,
    ctx: Writer,
    path: web::Path<SubscriptionId>,
    if_match: IfMatch,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    act(db, ctx, id, if_match.optional()?, Change::Resume).await
}

/// Give the subscription a new signing secret (shown only in this answer); deliveries are signed
/// with it from now on.
#[utoipa::path(
    post, path = "/api/v1/subscriptions/{subscription_id}/rotate-secret", operation_id = "rotate_subscription_secret", tag = "webhooks",
    params(
        ("subscription_id" = String, Path, format = Uuid, description = "The subscription's id"),
        ("If-Match" = Option<String>, Header, max_length = 1000, pattern = r#"^\s*(\*|(W/)?"[^"]*"(\s*,\s*(W/)?"[^"]*")*)\s*$"#, description = "The ETag of the version you read (optional)"),
    ),
    responses(
        (status = 200, description = "The new secret; keep it", body = SubscriptionWithSecret, headers(("ETag" = String, description = "The new version"))),
        (status = 404, description = "Your unit has no such subscription"),
        (status = 412, description = "The subscription has changed since you read it"),
    )
)]
pub async fn rotate_secret(
    db: web::Data<Db>,
    ctx: Writer,
    path: web::Path<SubscriptionId>,
    if_match: IfMatch,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    let expected = if_match.optional()?;
    let row = db
        .write(move |c| service::change(c, &ctx, &id, expected, Change::RotateSecret))
        .await?;
    let secret = row.secret.clone();
    let subscription = view(&db, row).await?;
    let version = subscription.version;
    Ok(ok(
        version,
        &SubscriptionWithSecret {
            subscription,
            secret,
        },
    ))
}

/// Delete a subscription, with its queued deliveries and their log.
#[utoipa::path(
    delete, path = "/api/v1/subscriptions/{subscription_id}", operation_id = "delete_subscription", tag = "webhooks",
    params(
        ("subscription_id" = String, Path, format = Uuid, description = "The subscription's id"),
        ("If-Match" = Option<String>, Header, max_length = 1000, pattern = r#"^\s*(\*|(W/)?"[^"]*"(\s*,\s*(W/)?"[^"]*")*)\s*$"#, description = "The ETag of the version you read (optional)"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "Your unit has no such subscription"),
        (status = 412, description = "The subscription has changed since you read it"),
    )
)]
pub async fn delete(
    db: web::Data<Db>,
    ctx: Writer,
    path: web::Path<SubscriptionId>,
    if_match: IfMatch,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    let expected = if_match.optional()?;
    db.write(move |c| service::delete(c, &ctx, &id, expected))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The delivery log: the subscription's deliveries, newest first, each with its attempts and
/// their outcomes.
#[utoipa::path(
    get, path = "/api/v1/subscriptions/{subscription_id}/deliveries", operation_id = "list_subscription_deliveries", tag = "webhooks",
    params(("subscription_id" = String, Path, format = Uuid, description = "The subscription's id"), DeliveryListQuery),
    responses(
        (status = 200, description = "One page of deliveries", body = DeliveryPage),
        (status = 404, description = "Your unit has no such subscription"),
    )
)]
pub async fn deliveries(
    db: web::Data<Db>,
    ctx: Reader,
    path: web::Path<SubscriptionId>,
    query: super::extract::Query<DeliveryListQuery>,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    let limit = pagination::limit(query.limit)?;
    let before = pagination::position_cursor(query.cursor.as_deref())?;
    let status = query.status;
    let (rows, next_cursor) = db
        .read(move |c| service::deliveries(c, &ctx, &id, status, before, limit))
        .await?;
    let items = rows
        .into_iter()
        .map(|(d, attempts)| {
            Delivery::from_row(d, attempts.into_iter().map(Attempt::from).collect())
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(HttpResponse::Ok().json(DeliveryPage { items, next_cursor }))
}
