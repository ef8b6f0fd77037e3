//! The application, built the same way for `main` and for the tests.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::{
    from_fn, DefaultHeaders, ErrorHandlerResponse, ErrorHandlers, Logger, Next,
};
use actix_web::HttpMessage;
use actix_web::{http::header, web, App, HttpResponse};
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use crate::api::extract::{configure_extractors, BodyLimit};
use crate::auth::TokenVerifier;
use crate::db::Db;
use crate::error::Error;

/// What every request can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub verifier: web::Data<TokenVerifier>,
    pub max_body_bytes: usize,
    /// The guidelines' deadlines, as configured for this region.
    pub deadlines: crate::domain::process::Deadlines,
}

pub fn build_app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(web::Data::new(state.db.clone()))
        .app_data(state.verifier.clone())
        .app_data(BodyLimit(state.max_body_bytes))
        .app_data(web::Data::new(state.deadlines))
        .configure(configure_extractors)
        .configure(crate::api::routes)
        .service(web::resource("/docs").get(|| async {
            HttpResponse::PermanentRedirect()
                .insert_header((header::LOCATION, "/docs/"))
                .finish()
        }))
        .service(
            SwaggerUi::new("/docs/{_:.*}")
                .url("/api-docs/openapi.json", crate::api::ApiDoc::openapi()),
        )
        .default_service(web::to(|| async {
            Err::<HttpResponse, _>(Error::RouteNotFound)
        }))
        .wrap(ErrorHandlers::new().default_handler(problem_fallback))
        .wrap(
            DefaultHeaders::new()
                .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
                .add((header::X_FRAME_OPTIONS, "DENY"))
                .add((header::REFERRER_POLICY, "no-referrer"))
                // Responses carry personal data: no cache on the way may keep them.
                .add((header::CACHE_CONTROL, "no-store")),
        )
        .wrap(from_fn(request_id))
        // Method and path only (`%U` has no query string): query strings and bodies may carry
        // personal data, so they are never logged.
        .wrap(
            Logger::new("%{method}xi %U %s %Dms request_id=%{x-request-id}o")
                .custom_request_replace("method", |req| req.method().to_string())
                .log_target("sip::access"),
        )
}

/// A last safety net: an error response that did not come from our [`Error`] (a framework default)
/// is rewritten as problem+json, so a client never has to parse two error formats.
fn problem_fallback<B: MessageBody + 'static>(
    response: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if is_problem {
        return Ok(ErrorHandlerResponse::Response(
            response.map_into_left_body(),
        ));
    }
    let status = response.status();
    let error = match status.as_u16() {
        404 => Error::RouteNotFound,
        405 => Error::MethodNotAllowed,
        413 => Error::PayloadTooLarge { limit: 0 },
        415 => Error::UnsupportedMediaType,
        400..=499 => Error::bad_request(status.canonical_reason().unwrap_or("bad request")),
        503 => Error::Unavailable("the service is unavailable".into()),
        _ => Error::Internal(format!("unhandled status {status}")),
    };
    let (request, _) = response.into_parts();
    let mut replacement = actix_web::ResponseError::error_response(&error);
    *replacement.status_mut() = status;
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(request, replacement).map_into_right_body(),
    ))
}

/// The id of one request: the client's `X-Request-Id` when it is a sane token (so a journal system
/// can trace its own calls), otherwise a new UUID. Echoed in the response and in the access log.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

async fn request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    const NAME: &str = "x-request-id";
    let id = req
        .headers()
        .get(NAME)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        })
        .map(String::from)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let mut response = next.call(req).await?;
    if let Ok(value) = header::HeaderValue::from_str(&id) {
        response
            .headers_mut()
            .insert(header::HeaderName::from_static(NAME), value);
    }
    Ok(response)
}
