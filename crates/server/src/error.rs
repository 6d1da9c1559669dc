//! The native API's error type, rendered once as
//! `{"error": {"code": "RESOURCE_NOT_FOUND", "message": "…", "details": …}}`.
//!
//! Codes are stable and each carries its HTTP status. Internal errors are logged with their cause
//! and the client only learns that something went wrong on our side.

use axum::{
    extract::{
        multipart::MultipartRejection,
        path::ErrorKind,
        rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection},
    },
    http::{header, HeaderMap, Method, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;
use serde_json::Value;
use sitechat_core::{IdError, ValidationError};
use sitechat_search::SearchError;
use sitechat_store::StoreError;
use utoipa::ToSchema;

/// Every error the native API answers with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    InvalidRequest {
        message: String,
        details: Option<Value>,
        status: StatusCode,
    },
    #[error("the API key is missing, invalid or revoked")]
    InvalidApiKey(String),
    /// A credential other than an API key (the metrics token) is missing or wrong.
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    InsufficientPermissions(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after_secs: Option<u64>,
    },
    #[error("internal error: {0}")]
    Internal(String),
    #[error("service unavailable: {0}")]
    Unavailable(String),
}

/// The error body.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code: INVALID_REQUEST, INVALID_API_KEY, UNAUTHORIZED (the metrics
    /// token), INSUFFICIENT_PERMISSIONS, RESOURCE_NOT_FOUND, CONFLICT, PAYLOAD_TOO_LARGE,
    /// RATE_LIMIT_EXCEEDED, INTERNAL_ERROR, SERVICE_UNAVAILABLE.
    pub code: &'static str,
    /// What went wrong and how to fix it.
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
}

impl ApiError {
    pub fn invalid(message: impl Into<String>) -> Self {
        ApiError::InvalidRequest {
            message: message.into(),
            details: None,
            status: StatusCode::BAD_REQUEST,
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError::InsufficientPermissions(message.into())
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        ApiError::NotFound(what.into())
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        ApiError::Internal(cause.to_string())
    }

    /// A body larger than the server accepts.
    pub fn too_large() -> Self {
        ApiError::InvalidRequest {
            message: TOO_LARGE.to_owned(),
            details: None,
            status: StatusCode::PAYLOAD_TOO_LARGE,
        }
    }

    /// A body that is not sent as JSON.
    pub fn not_json() -> Self {
        ApiError::InvalidRequest {
            message: NOT_JSON.to_owned(),
            details: None,
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
        }
    }

    /// The error a bare status stands for, with `message` saying what to fix: the code follows
    /// the status (any other 4xx is `INVALID_REQUEST` with that status, any other 5xx
    /// `INTERNAL_ERROR`).
    pub fn from_status(status: StatusCode, message: String) -> Self {
        match status {
            StatusCode::UNAUTHORIZED => ApiError::Unauthorized(message),
            StatusCode::FORBIDDEN => ApiError::InsufficientPermissions(message),
            StatusCode::NOT_FOUND => ApiError::NotFound(message),
            StatusCode::CONFLICT => ApiError::Conflict(message),
            StatusCode::TOO_MANY_REQUESTS => ApiError::RateLimited {
                message,
                retry_after_secs: None,
            },
            StatusCode::SERVICE_UNAVAILABLE => ApiError::Unavailable(message),
            s if s.is_server_error() => ApiError::Internal(message),
            status => ApiError::InvalidRequest {
                message,
                details: None,
                status,
            },
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::InvalidRequest { status, .. } => *status,
            ApiError::InvalidApiKey(_) | ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::InsufficientPermissions(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidRequest { status, .. } if *status == StatusCode::PAYLOAD_TOO_LARGE => {
                "PAYLOAD_TOO_LARGE"
            }
            ApiError::InvalidRequest { .. } => "INVALID_REQUEST",
            ApiError::InvalidApiKey(_) => "INVALID_API_KEY",
            ApiError::Unauthorized(_) => "UNAUTHORIZED",
            ApiError::InsufficientPermissions(_) => "INSUFFICIENT_PERMISSIONS",
            ApiError::NotFound(_) => "RESOURCE_NOT_FOUND",
            ApiError::Conflict(_) => "CONFLICT",
            ApiError::RateLimited { .. } => "RATE_LIMIT_EXCEEDED",
            ApiError::Internal(_) => "INTERNAL_ERROR",
            ApiError::Unavailable(_) => "SERVICE_UNAVAILABLE",
        }
    }

    /// The message a client sees (never an internal cause).
    pub fn public_message(&self) -> String {
        match self {
            ApiError::Internal(_) => {
                "something went wrong on our side; the request can be retried".to_owned()
            }
            ApiError::InvalidApiKey(hint) => {
                format!("the API key is missing, invalid or revoked: {hint}")
            }
            other => other.to_string(),
        }
    }

    fn details(&self) -> Option<Value> {
        match self {
            ApiError::InvalidRequest { details, .. } => details.clone(),
            _ => None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(cause) = &self {
            tracing::error!(%cause, "internal error");
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code(),
                message: self.public_message(),
                details: self.details(),
            },
        };
        let mut response = (self.status(), Json(body)).into_response();
        if let ApiError::RateLimited {
            retry_after_secs: Some(secs),
            ..
        } = self
        {
            if let Ok(value) = secs.to_string().parse() {
                response
                    .headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, value);
            }
        }
        response
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        ApiError::InvalidRequest {
            message: e.to_string(),
            details: Some(serde_json::json!({ "field": e.field })),
            status: StatusCode::BAD_REQUEST,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { entity } => ApiError::NotFound(entity.to_owned()),
            StoreError::Conflict(message) => ApiError::Conflict(message),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<SearchError> for ApiError {
    fn from(e: SearchError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl From<IdError> for ApiError {
    /// An id that cannot exist is simply not found.
    fn from(e: IdError) -> Self {
        ApiError::NotFound(format!("{} `{}`", e.kind, e.value))
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let (status, message) = match &rejection {
            JsonRejection::MissingJsonContentType(_) => return ApiError::not_json(),
            JsonRejection::JsonSyntaxError(_) => (
                StatusCode::BAD_REQUEST,
                format!("the body is not valid JSON: {}", rejection.body_text()),
            ),
            JsonRejection::JsonDataError(_) => (StatusCode::BAD_REQUEST, rejection.body_text()),
            JsonRejection::BytesRejection(_)
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                return ApiError::too_large()
            }
            _ => (rejection.status(), rejection.body_text()),
        };
        ApiError::InvalidRequest {
            message,
            details: None,
            status,
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::invalid(format!("invalid query string: {}", rejection.body_text()))
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        match rejection {
            PathRejection::FailedToDeserializePathParams(e) => match e.into_kind() {
                ErrorKind::InvalidUtf8InPathParam { key } => ApiError::invalid(format!(
                    "the path segment `{key}` is not valid UTF-8 once percent-decoded; \
                     percent-encode the UTF-8 bytes of the value (ids are plain ASCII)"
                )),
                ErrorKind::UnsupportedType { name } => {
                    ApiError::Internal(format!("path parameters of unsupported type {name}"))
                }
                kind => ApiError::invalid(format!("invalid path: {kind}")),
            },
            other => ApiError::Internal(other.body_text()),
        }
    }
}

impl From<BytesRejection> for ApiError {
    fn from(rejection: BytesRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::too_large()
        } else {
            ApiError::invalid(format!(
                "the request body cannot be read: {}",
                rejection.body_text()
            ))
        }
    }
}

impl From<MultipartRejection> for ApiError {
    fn from(rejection: MultipartRejection) -> Self {
        ApiError::invalid(format!(
            "send the body as multipart/form-data (`Content-Type: multipart/form-data; \
             boundary=…`) with the file in a field named `file` ({})",
            rejection.body_text()
        ))
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> Self {
        ApiError::Internal(format!("background task failed: {e}"))
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

const TOO_LARGE: &str =
    "the request body is larger than this server accepts; send less content per request";
const NOT_JSON: &str = "send the body as JSON with the header `Content-Type: application/json`";

/// Whether a response or request says its body is JSON (`application/json` or `…+json`).
pub fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|essence| essence.trim().to_ascii_lowercase())
        .is_some_and(|essence| {
            essence == "application/json"
                || (essence.starts_with("application/") && essence.ends_with("+json"))
        })
}

/// Renders an error response whose body is not JSON — axum's own rejections and fallbacks (an
/// unknown method, a body over the limit, a malformed URL, …) — in the JSON error shape, keeping
/// its status and headers. `request` (method and path) makes the message of a 404 or 405 name
/// what was asked. Successes, and errors already in JSON, are returned as they are.
pub async fn json_error(response: Response, request: Option<(&Method, &str)>) -> Response {
    let status = response.status();
    // The dashboard's pages say what went wrong in HTML, inside the page.
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if !(status.is_client_error() || status.is_server_error())
        || is_json(response.headers())
        || html
    {
        return response;
    }
    let (parts, body) = response.into_parts();
    // axum's rejection texts are one short line; anything longer is not worth echoing.
    let text = axum::body::to_bytes(body, 4 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let allowed = parts
        .headers
        .get(header::ALLOW)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty());
    let (method, path) = request.map_or(
        ("this method".to_owned(), "this route".to_owned()),
        |(m, p)| (m.to_string(), p.to_owned()),
    );
    let error = match status {
        StatusCode::NOT_FOUND => ApiError::not_found(format!("route {method} {path}")),
        StatusCode::METHOD_NOT_ALLOWED => ApiError::InvalidRequest {
            message: match allowed {
                Some(allowed) => format!("{method} is not allowed on {path}; use {allowed}"),
                None => format!("{method} is not allowed on {path}"),
            },
            details: None,
            status,
        },
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::too_large(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE if text.contains("application/json") => {
            ApiError::not_json()
        }
        _ if text.is_empty() => ApiError::from_status(
            status,
            status
                .canonical_reason()
                .unwrap_or("the request cannot be served")
                .to_lowercase(),
        ),
        _ => ApiError::from_status(status, text),
    };
    let mut rendered = error.into_response();
    *rendered.status_mut() = status;
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            rendered.headers_mut().append(name, value.clone());
        }
    }
    rendered
}

/// The outermost layer: every error response leaves the server as JSON (see [`json_error`]).
pub async fn json_errors(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    json_error(response, Some((&method, &path))).await
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(response: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn a_plain_text_rejection_becomes_the_json_error_shape_with_its_status_and_headers() {
        let mut plain = (StatusCode::BAD_REQUEST, "Invalid `boundary`").into_response();
        plain
            .headers_mut()
            .insert("x-request-id", "abc".parse().unwrap());
        let json = json_error(plain, None).await;
        assert_eq!(json.status(), StatusCode::BAD_REQUEST);
        assert!(is_json(json.headers()));
        assert_eq!(json.headers()["x-request-id"], "abc");
        let body = body(json).await;
        assert_eq!(body["error"]["code"], "INVALID_REQUEST");
        assert_eq!(body["error"]["message"], "Invalid `boundary`");
    }

    #[tokio::test]
    async fn an_empty_405_names_the_methods_to_use_and_a_413_the_limit() {
        let mut empty = StatusCode::METHOD_NOT_ALLOWED.into_response();
        empty
            .headers_mut()
            .insert(header::ALLOW, "GET,HEAD".parse().unwrap());
        let json = json_error(empty, Some((&Method::PUT, "/v1/x"))).await;
        assert_eq!(json.status(), StatusCode::METHOD_NOT_ALLOWED);
        let refused = body(json).await;
        assert_eq!(refused["error"]["code"], "INVALID_REQUEST");
        assert_eq!(
            refused["error"]["message"],
            "PUT is not allowed on /v1/x; use GET,HEAD"
        );
        let too_large = (
            StatusCode::PAYLOAD_TOO_LARGE,
            "Failed to buffer the request body",
        );
        let refused = body(json_error(too_large.into_response(), None).await).await;
        assert_eq!(refused["error"]["code"], "PAYLOAD_TOO_LARGE");
    }

    #[tokio::test]
    async fn successes_and_json_errors_are_left_alone() {
        let html = axum::response::Html("<p>hi</p>").into_response();
        let kept = json_error(html, None).await;
        assert_eq!(
            kept.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        let own = ApiError::not_found("bot").into_response();
        let body = body(json_error(own, None).await).await;
        assert_eq!(body["error"]["message"], "bot not found");
    }

    #[test]
    fn json_content_types_are_recognised() {
        let mut headers = HeaderMap::new();
        for (value, json) in [
            ("application/json", true),
            ("Application/JSON; charset=utf-8", true),
            ("application/problem+json", true),
            ("text/plain", false),
            ("text/json", false),
        ] {
            headers.insert(header::CONTENT_TYPE, value.parse().unwrap());
            assert_eq!(is_json(&headers), json, "{value}");
        }
        assert!(!is_json(&HeaderMap::new()));
    }
}
