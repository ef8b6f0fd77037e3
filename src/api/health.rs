//! Liveness and readiness probes, open without a token.

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::Db;
use crate::error::Result;

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: String,
    /// With `JWT_ISSUER_URL`: how the identity provider's published keys stand — how many are
    /// held, when they were fetched, and since when the provider cannot be reached (the keys held
    /// keep working meanwhile).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub identity_provider: Option<crate::auth::published::KeyStatus>,
}

/// The process is alive.
#[utoipa::path(get, path = "/health", operation_id = "health", tag = "operations",
    responses((status = 200, description = "Alive", body = Health)))]
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok".into(),
        identity_provider: None,
    })
}

/// The database answers and tokens can be verified: the service can take traffic.
///
/// With `JWT_ISSUER_URL`, not ready until the identity provider's keys have been fetched once; when
/// the provider cannot be reached later, still ready (the keys held keep working), and
/// `identity_provider.unreachable_since` says so.
#[utoipa::path(get, path = "/ready", operation_id = "ready", tag = "operations",
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "The database does not answer, or no key of the identity provider has been fetched yet"),
    ))]
pub async fn ready(
    db: web::Data<Db>,
    verifier: web::Data<crate::auth::TokenVerifier>,
) -> Result<HttpResponse> {
    db.ping().await?;
    let identity_provider = verifier.key_status();
    if identity_provider.as_ref().is_some_and(|s| s.keys == 0) {
        return Err(crate::error::Error::Unavailable(
            "no key of the identity provider (JWT_ISSUER_URL) has been fetched yet".into(),
        ));
    }
    Ok(HttpResponse::Ok().json(Health {
        status: "ready".into(),
        identity_provider,
    }))
}

/// Prometheus metrics, in the text exposition format (when `METRICS_ENABLED` is set; 404 otherwise).
///
/// `sip_http_requests_total` and `sip_http_request_duration_seconds` by route template, method
/// and status class; `sip_db_pool_wait_seconds`; the access-log writer's
/// `sip_access_log_queue`, `sip_access_log_group_records` and `sip_access_log_commit_seconds`;
/// on SQLite `sip_sqlite_write_group_writes` (requests' writes per group commit);
/// `sip_state{name=…}` for the pool's connections, the change feed's head, the webhook backlog and
/// paused subscriptions, running imports, and the access log's records not yet sealed into its
/// hash chain (how many, and the oldest one's age in seconds); `sip_build_info`. No label holds an
/// id or personal data. Meant for the operators' network: put it behind the proxy's access rules.
#[utoipa::path(get, path = "/metrics", operation_id = "metrics", tag = "operations",
    responses(
        (status = 200, description = "The metrics", body = String, content_type = "text/plain; version=0.0.4"),
        (status = 404, description = "Metrics are not enabled (METRICS_ENABLED)"),
        (status = 503, description = "The database does not answer"),
    ))]
pub async fn metrics(
    db: web::Data<Db>,
    enabled: web::Data<crate::metrics::MetricsEnabled>,
    clock: web::Data<crate::clock::Clock>,
) -> Result<HttpResponse> {
    if !enabled.0 {
        return Err(crate::error::Error::RouteNotFound);
    }
    let now = clock.now().naive_utc();
    let mut state = db
        .read(move |c| crate::db::operations::state(c, now))
        .await?;
    let (open, in_use) = db.pool_state();
    state.push(("db_pool_connections", i64::from(open)));
    state.push(("db_pool_in_use", i64::from(in_use)));
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(crate::metrics::metrics().render_with_state(&state)))
}
