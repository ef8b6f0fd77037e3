//! The HTTP surface: routes, the OpenAPI document, and the handlers (one file per resource).

pub mod audit;
pub mod consents;
pub mod content;
pub mod deviations;
pub mod document_references;
pub mod events;
pub mod extract;
pub mod health;
pub mod imports;
pub mod individuals;
pub mod me;
pub mod meetings;
pub mod pagination;
pub mod plans;
pub mod records;
pub mod reports;
pub mod subscriptions;
pub mod summons;
pub mod worklists;

use actix_web::{middleware::from_fn, web, HttpResponse};
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::Response;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr};
use utoipa::{Modify, OpenApi};

use crate::error::Error;

/// The methods the OpenAPI document gives the route `pattern` (`/api/v1/plans/{plan_id}`), for
/// the `Allow` header of a 405: the document is the one list of what each route accepts.
pub fn allowed_methods(pattern: Option<&str>) -> String {
    use std::collections::HashMap;
    use std::sync::OnceLock;
    static METHODS: OnceLock<HashMap<String, String>> = OnceLock::new();
    let methods = METHODS.get_or_init(|| {
        let doc: serde_json::Value =
            serde_json::from_str(&openapi_json()).unwrap_or(serde_json::Value::Null);
        let mut out = HashMap::new();
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            let names: Vec<String> = ["get", "put", "post", "delete", "patch"]
                .iter()
                .filter(|m| item.get(**m).is_some())
                .map(|m| m.to_uppercase())
                .collect();
            out.insert(path.clone(), names.join(", "));
        }
        out
    });
    pattern
        .and_then(|p| methods.get(p))
        .cloned()
        .unwrap_or_default()
}

/// Registers every route: the probes at the root, the rest under `/api/v1` behind authentication
/// and the access log. Both tables come from [`operations!`], the one list of operations.
pub fn routes(cfg: &mut web::ServiceConfig) {
    root_resources(cfg);
    cfg.service(
        api_resources(web::scope("/api/v1"))
            .wrap(from_fn(crate::audit::record_access))
            .wrap(from_fn(crate::auth::authenticate))
            .default_service(web::to(|| async {
                Err::<HttpResponse, _>(Error::RouteNotFound)
            })),
    );
}

/// A wrong method on a known path: 405, with `Allow` naming the methods the path has.
fn method_not_allowed() -> actix_web::Route {
    web::to(|req: actix_web::HttpRequest| async move {
        Err::<HttpResponse, _>(Error::MethodNotAllowed {
            allow: allowed_methods(req.match_pattern().as_deref()),
        })
    })
}

/// One path: its methods' handlers, and 405 with `Allow` for any other method.
macro_rules! resource {
    ($path:literal, $( $method:ident : $($handler:ident)::+ ),+) => {
        web::resource($path)
            $( .route(web::$method().to($($handler)::+)) )+
            .default_service(method_not_allowed())
    };
}

/// The one list of operations: each path with its methods and handlers, registered as one
/// `web::resource` per path (so a wrong method answers 405) and listed, in the same order, in the
/// OpenAPI document. A handler's `#[utoipa::path]` states the same path; a test checks that every
/// registered route is in the document with the same methods, and the other way round.
macro_rules! operations {
    (
        root { $( $root_path:literal { $( $root_method:ident : $($root_handler:ident)::+ ),+ $(,)? } ),+ $(,)? }
        api { $( $path:literal { $( $method:ident : $($handler:ident)::+ ),+ $(,)? } ),+ $(,)? }
    ) => {
        fn root_resources(cfg: &mut web::ServiceConfig) {
            $( cfg.service(resource!($root_path, $( $root_method: $($root_handler)::+ ),+)); )+
        }

        fn api_resources(scope: actix_web::Scope) -> actix_web::Scope {
            scope $( .service(resource!($path, $( $method: $($handler)::+ ),+)) )+
        }

        /// The routes as registered: (method, full path pattern), for the test that holds them
        /// and the OpenAPI document to each other.
        pub fn registered_routes() -> Vec<(&'static str, String)> {
            let mut routes = Vec::new();
            $( $( routes.push((stringify!($root_method), $root_path.to_string())); )+ )+
            $( $( routes.push((stringify!($method), format!("/api/v1{}", $path))); )+ )+
            routes
        }

        #[derive(OpenApi)]
        #[openapi(
            info(
                title = "SIP — samordnad individuell plan",
                description = include_str!("../../openapi/description.md"),
                license(name = "MIT OR Apache-2.0"),
            ),
            paths( $( $( $($root_handler)::+ ),+ ),+ , $( $( $($handler)::+ ),+ ),+ ),
            components(schemas(
                crate::error::Problem,
                crate::error::FieldError,
                crate::service::worklists::Worklist,
                crate::domain::events::EventType,
                crate::views::webhook::WebhookPayload,
                deviations::DeviationRole,
            )),
            modifiers(&CommonResponses, &Document),
            tags(
                (name = "individuals", description = "The people plans are for (den enskilde)"),
                (name = "plans", description = "Coordinated individual plans (SIP) and their lifecycle"),
                (name = "consents", description = "Consent (samtycke): given, refused, withdrawn"),
                (name = "summons", description = "Summons (kallelse) to the SIP meeting and the recipients' answers"),
                (name = "meeting", description = "The SIP meeting, which establishes the plan"),
                (name = "goals", description = "The individual's goals (mål, delmål)"),
                (name = "interventions", description = "Interventions (insatser): who does what, when"),
                (name = "follow-ups", description = "Follow-ups (uppföljning) and their decisions"),
                (name = "worklists", description = "What the caller's unit must act on"),
                (name = "deviations", description = "Deviations (avvikelser): reported, filed automatically, investigated, closed"),
                (name = "reports", description = "Aggregated figures with no personal data (role `report`)"),
                (name = "audit", description = "The access log: who read or changed whose data (role `audit`)"),
                (name = "events", description = "The change feed: every change, in commit order, for systems that must not miss one"),
                (name = "imports", description = "Bulk import of existing plans from a source system, NDJSON, idempotent (role `import`)"),
                (name = "webhooks", description = "Subscriptions: the change feed POSTed to a unit's endpoint, signed, retried, logged (the body is `WebhookPayload`)"),
                (name = "me", description = "The individual, through an e-service after e-ID login: their plans, who has read their data, their consent, the meeting, SIP-kollen (an individual's token; no other operation takes one)"),
                (name = "operations", description = "Health and readiness probes (no token)"),
            )
        )]
        pub struct ApiDoc;
    };
}

operations! {
    root {
        "/health" { get: health::health },
        "/ready" { get: health::ready },
        "/metrics" { get: health::metrics },
    }
    api {
        "/individuals" { post: individuals::create },
        "/individuals/search" { post: individuals::search },
        "/individuals/{individual_id}" { get: individuals::get, put: individuals::update },
        "/plans" { post: plans::create, get: plans::list },
        "/plans/{plan_id}" { get: plans::get, put: plans::update },
        "/plans/{plan_id}/consents" { post: consents::create, get: consents::list },
        "/plans/{plan_id}/consents/{consent_id}" { get: consents::get },
        "/plans/{plan_id}/consents/{consent_id}/withdraw" { post: consents::withdraw },
        "/plans/{plan_id}/summons" { post: summons::send, get: summons::list },
        "/plans/{plan_id}/summons/{summons_id}/recipients/{recipient_id}/answer" { post: summons::answer },
        "/plans/{plan_id}/meeting" { post: meetings::record_meeting, get: meetings::get_meeting },
        "/plans/{plan_id}/meeting/survey-code" { post: meetings::issue_survey_code },
        "/plans/{plan_id}/goals" { post: content::add_goal, get: content::list_goals },
        "/plans/{plan_id}/goals/{item_id}" { put: content::update_goal },
        "/plans/{plan_id}/interventions" { post: content::add_intervention, get: content::list_interventions },
        "/plans/{plan_id}/interventions/{item_id}" { put: content::update_intervention },
        "/plans/{plan_id}/interventions/{item_id}/status" { post: content::change_intervention_status },
        "/plans/{plan_id}/follow-ups" { post: meetings::schedule_follow_up, get: meetings::list_follow_ups },
        "/plans/{plan_id}/follow-ups/{item_id}/record" { post: meetings::record_follow_up },
        "/plans/{plan_id}/revision" { post: meetings::complete_revision },
        "/plans/{plan_id}/close" { post: meetings::close },
        "/plans/{plan_id}/document" { get: records::document },
        "/plans/{plan_id}/fhir" { get: records::fhir },
        "/fhir/DocumentReference" { get: document_references::search },
        "/fhir/DocumentReference/_search" { post: document_references::search_by_form },
        "/plans/{plan_id}/history" { get: records::history },
        "/plans/{plan_id}/revisions" { get: records::revisions },
        "/plans/{plan_id}/revisions/{revision}" { get: records::revision },
        "/worklists/{worklist}" { get: worklists::worklist },
        "/deviations" { post: deviations::report, get: deviations::list },
        "/deviations/{deviation_id}" { get: deviations::get, put: deviations::update },
        "/deviations/{deviation_id}/confirm" { post: deviations::confirm },
        "/deviations/{deviation_id}/dismiss" { post: deviations::dismiss },
        "/deviations/{deviation_id}/investigate" { post: deviations::investigate },
        "/deviations/{deviation_id}/feedback" { post: deviations::feedback },
        "/deviations/{deviation_id}/close" { post: deviations::close },
        "/reports/plans" { get: reports::plans },
        "/reports/deviations" { get: reports::deviations },
        "/reports/indicators" { get: reports::indicators },
        "/reports/survey" { get: reports::survey },
        "/audit-events" { get: audit::list },
        "/events" { get: events::feed },
        "/subscriptions" { post: subscriptions::create, get: subscriptions::list },
        "/subscriptions/{subscription_id}" { get: subscriptions::get, put: subscriptions::update, delete: subscriptions::delete },
        "/subscriptions/{subscription_id}/pause" { post: subscriptions::pause },
        "/subscriptions/{subscription_id}/resume" { post: subscriptions::resume },
        "/subscriptions/{subscription_id}/rotate-secret" { post: subscriptions::rotate_secret },
        "/subscriptions/{subscription_id}/deliveries" { get: subscriptions::deliveries },
        "/imports" { post: imports::create, get: imports::list },
        "/imports/{import_id}/records" { post: imports::upload, get: imports::records },
        "/imports/{import_id}" { get: imports::get },
        "/me" { get: me::me },
        "/me/plans" { get: me::plans },
        "/me/plans/{plan_id}" { get: me::plan },
        "/me/plans/{plan_id}/consents" { get: me::consents },
        "/me/plans/{plan_id}/consents/{consent_id}/withdraw" { post: me::withdraw_consent },
        "/me/plans/{plan_id}/summons" { get: me::summons },
        "/me/plans/{plan_id}/summons/{summons_id}/preparation" { put: me::prepare },
        "/me/access-log" { get: me::access_log },
        "/me/survey-answers" { post: me::answer_survey },
    }
}

/// Adds the bearer scheme, its requirement on every `/api/v1` operation, and the error responses
/// every operation shares, so each handler's annotation lists only what is particular to it.
struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A JWT with iss, aud, exp, nbf, sub and — for staff — unit (HSA-id), principal and roles; for an individual (the `/me` operations) the identity-number and assurance-level claims instead (see the README).",
                    ))
                    .build(),
            ),
        );
        let problem = |description: &str| {
            Response::builder()
                .description(description)
                .content(
                    "application/problem+json",
                    Content::new(Some(Ref::from_schema_name("Problem"))),
                )
                .build()
        };
        for (name, description) in [
            ("BadRequest", "The request is malformed: invalid JSON, an unknown field, a wrong type, a malformed query"),
            ("Unauthorized", "The token is missing, malformed, expired, not yet valid, for another audience or issuer, or badly signed"),
            ("Forbidden", "The token lacks the role the operation needs"),
            ("PayloadTooLarge", "The body exceeds the size limit"),
            ("ValidationFailed", "A value breaks a rule; `errors` names each field by its JSON path"),
            ("UnsupportedMediaType", "The body is not application/json"),
            ("ServiceUnavailable", "The database is unreachable or busy; retry later"),
            ("TooManyRequests", "The token's subject or its unit is over its rate limit (RATE_LIMIT_PER_SUBJECT, RATE_LIMIT_PER_UNIT); retry after `Retry-After` seconds"),
            ("InternalError", "A fault of the service (never caused by the request); it is logged"),
        ] {
            components.responses.insert(name.into(), RefOr::T(problem(description)));
        }
        for (path, item) in openapi.paths.paths.iter_mut() {
            let api = path.starts_with("/api/");
            for operation in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                // An error an annotation names by status and description alone is a problem
                // document, like every error the service answers.
                for (status, response) in operation.responses.responses.iter_mut() {
                    if let (true, RefOr::T(response)) = (status.as_str() >= "400", response) {
                        if response.content.is_empty() {
                            response.content.insert(
                                "application/problem+json".into(),
                                RefOr::T(Content::new(Some(Ref::from_schema_name("Problem")))),
                            );
                        }
                    }
                }
                // Every `/api/v1` operation needs the bearer token; the probes need none (`Document`).
                if api && operation.security.is_none() {
                    operation.security = Some(vec![SecurityRequirement::new(
                        "bearer",
                        Vec::<String>::new(),
                    )]);
                }
                let has_body = operation.request_body.is_some();
                let has_params = operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
                let mut add = |status: &str, name: &str| {
                    add_response(operation, status, name);
                };
                if api {
                    add("401", "Unauthorized");
                    add("403", "Forbidden");
                    add("429", "TooManyRequests");
                }

                if has_body || has_params {
                    add("400", "BadRequest");
                }
                if has_body || has_params {
                    add("422", "ValidationFailed");
                }
                if has_body {
                    add("413", "PayloadTooLarge");
                    add("415", "UnsupportedMediaType");
                }
                add("500", "InternalError");
                add("503", "ServiceUnavailable");
            }
        }
    }
}

/// What the document says beyond its operations: where the API is, its license by SPDX id, that the
/// probes need no token, and the webhook a subscribed endpoint receives (OpenAPI 3.1 `webhooks`).
struct Document;

impl Modify for Document {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::{
            HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem,
        };
        use utoipa::openapi::request_body::RequestBodyBuilder;
        use utoipa::openapi::{
            LicenseBuilder, ObjectBuilder, PathsBuilder, Required, ServerBuilder, Type,
        };
        openapi.servers = Some(vec![ServerBuilder::new()
            .url("/")
            .description(Some("the service that serves this document"))
            .build()]);
        openapi.info.license = Some(
            LicenseBuilder::new()
                .name("MIT OR Apache-2.0")
                .identifier(Some("MIT OR Apache-2.0"))
                .build(),
        );
        for (path, item) in openapi.paths.paths.iter_mut() {
            if !path.starts_with("/api/") {
                if let Some(get) = item.get.as_mut() {
                    get.security = Some(Vec::new());
                }
            }
        }
        let header = |name: &str, description: &str| {
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Header)
                .required(Required::True)
                .description(Some(description))
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                .build()
        };
        let delivery = OperationBuilder::new()
            .operation_id(Some("receive_change_event"))
            .tag("webhooks")
            .summary(Some("An event, POSTed to a subscription's url"))
            .description(Some(
                "What your endpoint receives for each event of a subscription (see `POST /api/v1/subscriptions`). \
                 Verify `X-SIP-Signature` — `t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<raw body>\" with the subscription's secret>` — \
                 and refuse a `t` more than five minutes old. Answer 2xx quickly. Deliveries are at least once, in feed order: \
                 skip an `event.seq` you have handled. Any other answer, or none within `WEBHOOK_TIMEOUT_SECONDS`, is retried \
                 with doubling waits; later deliveries wait behind it.",
            ))
            .parameter(header("X-SIP-Signature", "`t=<unix seconds>,v1=<hex HMAC-SHA256>`"))
            .parameter(header("X-SIP-Delivery", "The delivery's id (the same at every attempt)"))
            .parameter(header("X-SIP-Event-Seq", "The event's position in the change feed"))
            .parameter(header("X-SIP-Event-Type", "The event's type"))
            .request_body(Some(
                RequestBodyBuilder::new()
                    .required(Some(Required::True))
                    .content(
                        "application/json",
                        Content::new(Some(Ref::from_schema_name("WebhookPayload"))),
                    )
                    .build(),
            ))
            // No OpenAPI security scheme: the receiver authenticates the sender by the signature.
            .securities(Some(Vec::<utoipa::openapi::security::SecurityRequirement>::new()))
            .response("2XX", Response::new("Received: the delivery is done"))
            .response(
                "default",
                Response::new("Not received: the delivery is retried, and the subscription paused after too many failures"),
            )
            .build();
        openapi.webhooks = Some(
            PathsBuilder::new()
                .path("changeEvent", PathItem::new(HttpMethod::Post, delivery))
                .build(),
        );
    }
}

fn add_response(operation: &mut Operation, status: &str, name: &str) {
    operation
        .responses
        .responses
        .entry(status.to_string())
        .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
}

/// The OpenAPI document as committed in `openapi/openapi.json`.
pub fn openapi_json() -> String {
    ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
        + "\n"
}
