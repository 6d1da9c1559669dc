//! Extractors whose rejections are rendered as [`ApiError`]s.

use axum::extract::{FromRequest, FromRequestParts, Request};

use crate::error::{is_json, ApiError};

/// A JSON body; malformed JSON, wrong types, a body not sent as JSON and oversized bodies become
/// clear 4xx errors.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// A query string.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// Path parameters.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// A JSON body that may be left out: an empty body is `None`. A body that is sent must be JSON,
/// as for [`ApiJson`]: `Content-Type: application/json`, well-formed, and within the size limit.
#[derive(Debug)]
pub struct MaybeJson<T>(pub Option<T>);

impl<S, T> FromRequest<S> for MaybeJson<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let json = is_json(request.headers());
        let bytes = axum::body::Bytes::from_request(request, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(None));
        }
        if !json {
            return Err(ApiError::not_json());
        }
        serde_json::from_slice(&bytes)
            .map(|v| Self(Some(v)))
            .map_err(|e| match e.classify() {
                serde_json::error::Category::Data => ApiError::invalid(e.to_string()),
                _ => ApiError::invalid(format!("the body is not valid JSON: {e}")),
            })
    }
}

/// A `multipart/form-data` body; a body of another type says how to send the file.
#[derive(Debug)]
pub struct ApiMultipart(pub axum::extract::Multipart);

impl<S> FromRequest<S> for ApiMultipart
where
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        Ok(Self(
            axum::extract::Multipart::from_request(request, state).await?,
        ))
    }
}

/// A JSON body kept as the client's own text, byte for byte: it must be sent as JSON
/// (`Content-Type: application/json`), be well-formed (any JSON value) and fit the size limit,
/// but it is not parsed into anything, so key order, spacing and number spelling are kept.
#[derive(Debug)]
pub struct RawJson(pub String);

impl<S> FromRequest<S> for RawJson
where
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let json = is_json(request.headers());
        let bytes = axum::body::Bytes::from_request(request, state).await?;
        if !json {
            return Err(ApiError::not_json());
        }
        let text = String::from_utf8(bytes.to_vec())
            .map_err(|_| ApiError::invalid("the body is not valid JSON: it is not UTF-8 text"))?;
        serde_json::from_str::<serde::de::IgnoredAny>(&text)
            .map_err(|e| ApiError::invalid(format!("the body is not valid JSON: {e}")))?;
        Ok(Self(text))
    }
}
