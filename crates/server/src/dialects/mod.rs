//! The seed services' APIs, spoken as dialects: each module is a translation table between one
//! service's documented requests and responses and sitechat's services, with no behaviour of its
//! own. Errors raised anywhere below a dialect (authentication included) are re-rendered in the
//! dialect's error shape by one response layer.
//!
//! Each dialect's router is built from its handlers' `#[utoipa::path]` annotations (utoipa-axum's
//! `routes!`), and its handlers answer typed bodies that derive their schemas: the OpenAPI
//! document served at `/compat/{name}/openapi.json` lists exactly the routes the router serves,
//! with the shapes they answer.

pub mod aimylogic;
pub mod aisa;
pub mod askia;
pub mod asyntai;
pub mod chataibot;

use axum::{
    body::Body,
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    Json, Router,
};
use utoipa::{
    openapi::{
        security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
        server::Server,
        OpenApi,
    },
    Modify,
};

use crate::routes::docs::Credential;

/// A dialect's OpenAPI document, built from the annotations of the handlers its router was built
/// from, and served at `/compat/{name}/openapi.json`.
pub struct Document {
    /// The dialect's name in `/compat/{name}/…`.
    pub name: &'static str,
    pub spec: OpenApi,
}

impl Document {
    /// The document of a dialect's routes: its server is where the dialect is mounted (so its
    /// paths are the seed's own), and every operation documents the errors of the dialect's
    /// layers (`credential`) in the dialect's error shape (`error_schema`, a schema of `spec`).
    pub(crate) fn new(
        name: &'static str,
        base: &str,
        mut spec: OpenApi,
        credential: Credential,
        error_schema: &str,
    ) -> Self {
        spec.servers = Some(vec![Server::new(base)]);
        crate::routes::docs::document_errors(&mut spec, credential, error_schema);
        Self { name, spec }
    }

    /// Where the document is served.
    pub fn path(&self) -> String {
        format!("/compat/{}/openapi.json", self.name)
    }
}

/// `GET /compat/{name}/openapi.json` for each dialect's document, open like `/openapi.json`. A
/// name that is no dialect's falls through to the application's 404.
pub(crate) fn documents(documents: &[Document]) -> Router {
    documents.iter().fold(Router::new(), |router, document| {
        let json = std::sync::Arc::new(serde_json::to_value(&document.spec).unwrap_or_default());
        router.route(
            &document.path(),
            axum::routing::get(move || async move { Json((*json).clone()) }),
        )
    })
}

/// The security schemes of the dialects that take a sitechat API key, which every keyed request
/// accepts in either header: `bearer` (`Authorization: Bearer sk_…`) and `api_key`
/// (`X-API-Key: sk_…`).
pub(crate) struct KeySchemes;

impl Modify for KeySchemes {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("sk_…")
                    .description(Some("a sitechat API key"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-API-Key",
                "a sitechat API key",
            ))),
        );
    }
}

/// A native error read back from its response, to be rendered in a dialect's shape.
pub(crate) struct NativeError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    /// The response's headers (rate limits, `Retry-After`, request id), kept in the new shape.
    headers: axum::http::HeaderMap,
}

impl NativeError {
    /// The error as `body` (the dialect's documented error shape), with the original status and
    /// headers.
    pub fn render(self, body: impl serde::Serialize) -> Response {
        let mut response = (self.status, Json(body)).into_response();
        for (name, value) in &self.headers {
            if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
                response.headers_mut().append(name, value.clone());
            }
        }
        response
    }
}

/// Reads a native error response back into its status, code and message, so that a dialect can
/// render it in its own shape. An error response that is not JSON (axum's own rejections, such as
/// an empty 405) is first made a native error. Responses that are not errors are returned
/// untouched.
pub(crate) async fn native_error(response: Response) -> Result<NativeError, Response> {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return Err(response);
    }
    let response = crate::error::json_error(response, None).await;
    let (parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, 64 * 1024).await {
        Ok(b) => b,
        Err(_) => return Err(Response::from_parts(parts, Body::empty())),
    };
    let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    match (
        value["error"]["code"].as_str(),
        value["error"]["message"].as_str(),
    ) {
        (Some(code), Some(message)) => Ok(NativeError {
            status,
            code: code.to_owned(),
            message: message.to_owned(),
            headers: parts.headers,
        }),
        _ => Err(Response::from_parts(parts, Body::from(bytes))),
    }
}

/// The fallback of a dialect's router: an unknown route under the dialect's prefix is a 404 that
/// the dialect's error layer renders in its shape.
pub(crate) async fn unknown_route(request: axum::extract::Request) -> Response {
    let path = original_path(&request);
    crate::error::ApiError::not_found(format!("route {} {path}", request.method())).into_response()
}

/// The path as the client sent it: nested routers see theirs without the prefix.
fn original_path(request: &axum::extract::Request) -> &str {
    request
        .extensions()
        .get::<axum::extract::OriginalUri>()
        .map_or_else(|| request.uri().path(), |uri| uri.0.path())
}

/// The method-not-allowed fallback of a dialect's router: a route known under another method is
/// a 405 that the dialect's error layer renders in its shape (axum answers it outside the route's
/// layers otherwise).
pub(crate) async fn method_not_allowed(request: axum::extract::Request) -> Response {
    let path = original_path(&request);
    crate::error::ApiError::InvalidRequest {
        message: format!("{} is not allowed on {path}", request.method()),
        details: None,
        status: StatusCode::METHOD_NOT_ALLOWED,
    }
    .into_response()
}

/// A time as RFC 3339, as every dialect writes times.
pub(crate) fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// A time in UTC in a dialect's own format (`time`'s format description syntax).
pub(crate) fn utc(
    t: time::OffsetDateTime,
    format: &[time::format_description::BorrowedFormatItem<'_>],
) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(format)
        .unwrap_or_default()
}
