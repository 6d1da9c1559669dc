//! The native API's error type, rendered once as
//! `{"error": {"code": "RESOURCE_NOT_FOUND", "message": "…", "details": …}}`.
//!
//! Codes are stable and each carries its HTTP status. Internal errors are logged with their cause
//! and the client only learns that something went wrong on our side.

use axum::{
    extract::rejection::{JsonRejection, PathRejection, QueryRejection},
    http::StatusCode,
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
    /// Stable machine-readable code: INVALID_REQUEST, INVALID_API_KEY, INSUFFICIENT_PERMISSIONS,
    /// RESOURCE_NOT_FOUND, CONFLICT, PAYLOAD_TOO_LARGE, RATE_LIMIT_EXCEEDED, INTERNAL_ERROR,
    /// SERVICE_UNAVAILABLE.
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

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::InvalidRequest { status, .. } => *status,
            ApiError::InvalidApiKey(_) => StatusCode::UNAUTHORIZED,
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
            JsonRejection::MissingJsonContentType(_) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "send the body as JSON with the header `Content-Type: application/json`".to_owned(),
            ),
            JsonRejection::JsonSyntaxError(_) => {
                (StatusCode::BAD_REQUEST, format!("the body is not valid JSON: {}", rejection.body_text()))
            }
            JsonRejection::JsonDataError(_) => (StatusCode::BAD_REQUEST, rejection.body_text()),
            JsonRejection::BytesRejection(_) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "the request body is larger than this server accepts; send less content per request".to_owned(),
            ),
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
        ApiError::NotFound(rejection.body_text())
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> Self {
        ApiError::Internal(format!("background task failed: {e}"))
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
