//! `Idempotency-Key`: a POST retried with the same key gets the first response back, and nothing
//! is written twice — even when the server was killed while it handled the first request.
//!
//! The first successful (2xx) response to a key is stored with a fingerprint of the request
//! (method, path and body). A retry with the same key and the same request replays it, marked
//! `Idempotent-Replayed: true`; the same key with a different request is refused (422), since it
//! is a client bug. Requests with the same key are serialised, so two concurrent retries cannot
//! both run. Keys are per account.
//!
//! A request that stores a visitor message (any chat path, native or dialect) records its key,
//! as *pending* on that message, in the transaction that stores the message: the key is taken by
//! the chat service from the request's [`Claim`]. A retry that finds a pending key does not store
//! the message again: it finishes it — answers it if it has no reply yet, or returns the reply it
//! has — and that response is remembered. So a request that was accepted and then lost (the
//! server died, or answering failed with an error) is completed by its retry, never duplicated,
//! and an error after the message was stored never blocks a correct retry.
//!
//! A streamed response (`text/event-stream`) goes to the client as it comes and is remembered
//! when it ends, with its content type, so a retry replays the same events. A stream the client
//! abandons before its end, or that ends with an `error` event, is not remembered: a retry then
//! finishes the stored message (and streams the reply) instead.

use std::{
    cell::RefCell,
    collections::HashMap,
    sync::{Arc, Mutex},
};

use axum::{
    body::Body,
    extract::{Request, State},
    http::{HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use sha2::{Digest, Sha256};

use futures_util::StreamExt;
use sitechat_core::AccountId;
use sitechat_core::MessageId;
use sitechat_store::{KeyState, KeyedRequest, RememberedResponse};

use crate::{auth::Caller, error::ApiError, state::AppState};

/// What a keyed request lets the service that stores its visitor message do.
#[derive(Debug, Clone)]
pub enum Claim {
    /// The key is unused: record it, pending, with the visitor message the request stores.
    Fresh(KeyedRequest),
    /// An earlier attempt stored this visitor message and did not finish: finish it instead of
    /// storing the text again.
    Resume(MessageId),
}

tokio::task_local! {
    /// The claim of the keyed request being handled, until a service takes it.
    static CLAIM: RefCell<Option<Claim>>;
}

/// Takes the claim of the keyed request being handled (once: a second visitor message in the
/// same request is stored without it). `None` outside a keyed request.
pub fn take_claim() -> Option<Claim> {
    CLAIM.try_with(|c| c.borrow_mut().take()).ok().flatten()
}

/// Per-key locks of requests in flight.
#[derive(Default)]
pub struct KeyLocks {
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// Runs `work` as a keyed request holding `claim`: the visitor message it stores is bound to the
/// claim's key (how a channel's inbound messages are deduplicated by their platform id).
pub async fn with_claim<F: std::future::Future>(claim: Claim, work: F) -> F::Output {
    CLAIM.scope(RefCell::new(Some(claim)), work).await
}

impl KeyLocks {
    /// The lock of one key: requests holding it run one at a time.
    pub(crate) fn get(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        locks.retain(|_, lock| Arc::strong_count(lock) > 1);
        locks.entry(key.to_owned()).or_default().clone()
    }
}

pub async fn idempotency(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let Some(key) = request.headers().get("idempotency-key").cloned() else {
        return next.run(request).await;
    };
    let key = match key.to_str() {
        Ok(k) if !k.trim().is_empty() && k.len() <= 255 => k.trim().to_owned(),
        _ => {
            return ApiError::invalid("Idempotency-Key must be 1 to 255 visible characters")
                .into_response()
        }
    };
    let Some(caller) = request.extensions().get::<Caller>().cloned() else {
        return ApiError::internal("idempotency layer without authentication").into_response();
    };
    let (parts, body) = request.into_parts();
    let limit = state
        .config
        .max_upload_bytes
        .max(state.config.max_body_bytes);
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) => {
            return ApiError::InvalidRequest {
                message: "the request body is larger than this server accepts".to_owned(),
                details: None,
                status: StatusCode::PAYLOAD_TOO_LARGE,
            }
            .into_response()
        }
    };
    let fingerprint = fingerprint(&parts.method, parts.uri.path(), &bytes);

    let lock = state
        .idempotency
        .get(&format!("{}:{key}", caller.account.id));
    // Held until the response is remembered (for a stream: until it ends), so a concurrent retry
    // waits and then replays it.
    let held = lock.lock_owned().await;
    let claim = match state.store.idempotency_key(&caller.account.id, &key).await {
        Ok(Some(KeyState::Done(first))) => {
            if first.fingerprint != fingerprint {
                return reused_key();
            }
            let mut response = Response::new(Body::from(first.body));
            *response.status_mut() = StatusCode::from_u16(first.status).unwrap_or(StatusCode::OK);
            let content_type = HeaderValue::from_str(&first.content_type)
                .unwrap_or(HeaderValue::from_static("application/json"));
            response.headers_mut().insert("content-type", content_type);
            response
                .headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            return response;
        }
        Ok(Some(KeyState::Pending {
            fingerprint: first,
            message,
        })) => {
            if first != fingerprint {
                return reused_key();
            }
            Claim::Resume(message)
        }
        Ok(None) => Claim::Fresh(KeyedRequest {
            key: key.clone(),
            fingerprint: fingerprint.clone(),
        }),
        Err(e) => return ApiError::from(e).into_response(),
    };
    let response = CLAIM
        .scope(
            RefCell::new(Some(claim)),
            next.run(Request::from_parts(parts, Body::from(bytes))),
        )
        .await;
    if !response.status().is_success() {
        return response;
    }
    let (parts, body) = response.into_parts();
    let content_type = parts
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_owned();
    let streamed = content_type.starts_with("text/event-stream");
    let remember = move |body: &[u8]| RememberedResponse {
        fingerprint,
        status: parts.status.as_u16(),
        content_type,
        body: String::from_utf8_lossy(body).into_owned(),
    };
    if streamed {
        // A stream goes to the client as it comes, and is remembered once it has ended.
        let account = caller.account.id.clone();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let tee = seen.clone();
        let chunks = body.into_data_stream().inspect(move |chunk| {
            if let Ok(bytes) = chunk {
                tee.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .extend_from_slice(bytes);
            }
        });
        let end = futures_util::stream::once(async move {
            let body = std::mem::take(&mut *seen.lock().unwrap_or_else(|p| p.into_inner()));
            // A stream that ended in an error is not the answer: a retry finishes the message.
            if !ends_in_error(&body) {
                store(&state, &account, &key, &remember(&body)).await;
            }
            drop(held);
            Ok(axum::body::Bytes::new())
        });
        return Response::from_parts(parts, Body::from_stream(chunks.chain(end)));
    }
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => {
            return ApiError::internal(format!("could not read a response: {e}")).into_response()
        }
    };
    store(&state, &caller.account.id, &key, &remember(&bytes)).await;
    drop(held);
    Response::from_parts(parts, Body::from(bytes))
}

/// What identifies a request for its key: its method, path and body, hashed.
pub fn fingerprint(method: &Method, path: &str, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(method.as_str());
    hasher.update(b" ");
    hasher.update(path);
    hasher.update(b"\n");
    hasher.update(body);
    hex::encode(hasher.finalize())
}

fn reused_key() -> Response {
    ApiError::InvalidRequest {
        message: "this Idempotency-Key was already used with a different request; use a new key for a new request".to_owned(),
        details: None,
        status: StatusCode::UNPROCESSABLE_ENTITY,
    }
    .into_response()
}

/// Whether a server-sent event stream's last event is an `error`.
fn ends_in_error(stream: &[u8]) -> bool {
    let text = String::from_utf8_lossy(stream);
    text.split("\n\n")
        .filter(|block| !block.trim().is_empty())
        .last()
        .is_some_and(|last| {
            last.lines()
                .any(|line| line.strip_prefix("event:").map(str::trim) == Some("error"))
        })
}

async fn store(state: &AppState, account: &AccountId, key: &str, response: &RememberedResponse) {
    if let Err(e) = state.store.remember_response(account, key, response).await {
        tracing::error!(error = %e, "could not remember an idempotent response");
    }
}

#[cfg(test)]
mod tests {
    use super::ends_in_error;

    #[test]
    fn a_stream_is_known_to_end_in_an_error_by_its_last_event() {
        assert!(ends_in_error(
            b"event: delta\ndata: {}\n\nevent: error\ndata: {}\n\n"
        ));
        assert!(!ends_in_error(
            b"event: error\ndata: {}\n\nevent: done\ndata: {}\n\n"
        ));
        assert!(!ends_in_error(b""));
    }
}
