//! The seed services' APIs, spoken as dialects: each module is a translation table between one
//! service's documented requests and responses and sitechat's services, with no behaviour of its
//! own. Errors raised anywhere below a dialect (authentication included) are re-rendered in the
//! dialect's error shape by one response layer.

pub mod aimylogic;
pub mod aisa;
pub mod askia;
pub mod asyntai;
pub mod chataibot;

use axum::{
    body::Body,
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    Json,
};

/// A native error read back from its response, to be rendered in a dialect's shape.
pub(crate) struct NativeError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    /// The response's headers (rate limits, `Retry-After`, request id), kept in the new shape.
    headers: axum::http::HeaderMap,
}

impl NativeError {
    /// The error as `body`, with the original status and headers.
    pub fn render(self, body: serde_json::Value) -> Response {
        let mut response = json(self.status, body);
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

/// A JSON response with a status.
pub(crate) fn json(status: StatusCode, body: serde_json::Value) -> Response {
    (status, Json(body)).into_response()
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
