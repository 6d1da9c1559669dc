//! API keys: their format, their hashing, and the middleware that turns a request's key (or a
//! dashboard session's cookie, see [`crate::sessions`]) into a [`Caller`].
//!
//! A key is `sk_` followed by 40 random lowercase alphanumerics (about 206 bits). Only its SHA-256
//! is stored: with that much entropy a slow password hash would add nothing but latency. The first
//! 11 characters (`sk_` and 8 more) are kept in clear as the key's visible prefix. Keys are read
//! from `Authorization: Bearer …` or `X-API-Key: …`.

use axum::{
    extract::{FromRequestParts, Request, State},
    http::{request::Parts, HeaderMap, HeaderValue},
    middleware::Next,
    response::{IntoResponse, Response},
};
use sha2::{Digest, Sha256};
use sitechat_core::{
    model::{Account, User},
    random_token, Scope,
};

use crate::{error::ApiError, limits::RateStatus, state::AppState};

pub const KEY_PREFIX: &str = "sk_";
const VISIBLE_PREFIX_LEN: usize = 11;

/// A new secret key and what is stored of it.
pub struct GeneratedKey {
    pub secret: String,
    pub prefix: String,
    pub hash: String,
}

pub fn generate_key() -> GeneratedKey {
    let secret = format!("{KEY_PREFIX}{}", random_token(40));
    describe_key(&secret)
}

/// The stored form of a given secret.
pub fn describe_key(secret: &str) -> GeneratedKey {
    GeneratedKey {
        secret: secret.to_owned(),
        prefix: secret.chars().take(VISIBLE_PREFIX_LEN).collect(),
        hash: hash_key(secret),
    }
}

pub fn hash_key(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Who is calling: a key or a signed-in person, their account and what they may do.
#[derive(Debug, Clone)]
pub struct Caller {
    pub account: Account,
    /// A key's scopes, or those of a person's role ([`sitechat_core::model::UserRole::scopes`]).
    pub scopes: Vec<Scope>,
    /// The person, when the caller signed in to the dashboard.
    pub user: Option<User>,
}

impl Caller {
    /// A signed-in person, with the scopes of their role.
    pub fn person(account: Account, user: User) -> Caller {
        Caller {
            account,
            scopes: user.role.scopes(),
            user: Some(user),
        }
    }

    /// Refuses with 403 unless the key (or the person's role) holds `scope` (or `admin`).
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if sitechat_core::scope::grants_any(&self.scopes, scope) {
            Ok(())
        } else if let Some(user) = &self.user {
            Err(ApiError::forbidden(format!(
                "your role ({}) does not allow this; ask an owner or admin of the account",
                user.role.as_str()
            )))
        } else {
            Err(ApiError::forbidden(format!(
                "this API key lacks the `{}` scope needed here",
                scope.as_str()
            )))
        }
    }

    /// Refuses with 403 unless the caller is the operator's admin.
    pub fn require_operator(&self) -> Result<(), ApiError> {
        self.require(Scope::Admin)?;
        if self.account.is_operator {
            Ok(())
        } else {
            Err(ApiError::forbidden("only the operator account may do this"))
        }
    }
}

impl Caller {
    /// The caller behind a channel that is not authenticated by an API key (a Chat API token, the
    /// public widget): the bot's account, allowed to chat and nothing else.
    pub fn channel(account: Account) -> Caller {
        Caller {
            account,
            scopes: vec![Scope::Chat],
            user: None,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError::internal("route is missing the authentication layer"))
    }
}

/// The key a request carries, if any.
pub fn presented_key(headers: &HeaderMap) -> Option<&str> {
    if let Some(value) = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let value = value.trim();
        if let Some(token) = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
        {
            return Some(token.trim());
        }
    }
    headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// Finds the caller of a request by its key.
pub async fn authenticate_key(state: &AppState, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let secret = presented_key(headers).ok_or_else(|| {
        ApiError::InvalidApiKey(
            "send it as `Authorization: Bearer sk_…` or `X-API-Key: sk_…`".to_owned(),
        )
    })?;
    let record = state
        .store
        .find_key(&hash_key(secret))
        .await?
        .ok_or_else(|| {
            ApiError::InvalidApiKey("no such key; check for typos or create a new key".to_owned())
        })?;
    // `last_used_at` is bookkeeping: written at most once a minute per key, so that reads do not
    // queue behind SQLite's single writer; a failed write must not fail the request.
    let due = record
        .key
        .last_used_at
        .is_none_or(|last| sitechat_core::now() - last > time::Duration::minutes(1));
    if due {
        if let Err(e) = state
            .store
            .touch_key(&record.key.id, sitechat_core::now())
            .await
        {
            tracing::warn!(error = %e, "could not record key use");
        }
    }
    Ok(Caller {
        scopes: record.key.scopes,
        account: record.account,
        user: None,
    })
}

pub(crate) fn rate_headers(headers: &mut HeaderMap, status: &RateStatus) {
    for (name, value) in [
        ("x-ratelimit-limit", status.limit.to_string()),
        ("x-ratelimit-remaining", status.remaining.to_string()),
        ("x-ratelimit-reset", status.reset.to_string()),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    }
}

/// Counts a request against the caller's plan: the rate to report, or the 429 to send.
#[allow(clippy::result_large_err)] // The refusal is the response itself.
pub fn count_request(state: &AppState, caller: &Caller) -> Result<Option<RateStatus>, Response> {
    let rate = state.limits.check(caller.account.plan, &caller.account.id);
    if let Some(status) = rate.filter(|s| s.retry_after.is_some()) {
        return Err(rate_limited(
            &status,
            format!(
                "the {} plan allows {} requests an hour",
                caller.account.plan, status.limit
            ),
        ));
    }
    Ok(rate)
}

/// The 429 of a refused request: what the allowance is ("a visitor may send 60 messages an
/// hour"), when to retry, and the rate headers.
pub fn rate_limited(status: &RateStatus, allowance: String) -> Response {
    let mut response = ApiError::RateLimited {
        message: format!(
            "{allowance}; retry after {} s",
            status.retry_after.unwrap_or(1)
        ),
        retry_after_secs: status.retry_after,
    }
    .into_response();
    rate_headers(response.headers_mut(), status);
    response
}

/// The address of the client: the connection's peer, or the left-most `X-Forwarded-For` entry
/// when the server is configured to trust it.
pub fn client_ip(state: &AppState, request: &Request) -> Option<std::net::IpAddr> {
    let peer = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0);
    client_ip_of(state, request.headers(), peer)
}

/// [`client_ip`] from a request's headers and peer address.
pub fn client_ip_of(
    state: &AppState,
    headers: &HeaderMap,
    peer: Option<std::net::SocketAddr>,
) -> Option<std::net::IpAddr> {
    if state.config.trust_forwarded_for {
        let forwarded = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|v| v.trim().parse().ok());
        if forwarded.is_some() {
            return forwarded;
        }
    }
    peer.map(|p| p.ip())
}

/// Authenticates the request by its key, or else by its dashboard session (whose changes must
/// carry the session's CSRF token), applies the account's hourly limit and passes the [`Caller`]
/// on.
pub async fn require_key(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let found = if presented_key(request.headers()).is_none()
        && crate::sessions::session_token(request.headers()).is_some()
    {
        crate::sessions::authenticate(&state, request.method(), request.headers()).await
    } else {
        authenticate_key(&state, request.headers()).await
    };
    let caller = match found {
        Ok(caller) => caller,
        Err(e) => return e.into_response(),
    };
    let rate = match count_request(&state, &caller) {
        Ok(rate) => rate,
        Err(refused) => return refused,
    };
    request.extensions_mut().insert(caller);
    let mut response = next.run(request).await;
    if let Some(status) = rate {
        rate_headers(response.headers_mut(), &status);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_shows_only_its_prefix() {
        let key = generate_key();
        assert!(key.secret.starts_with("sk_"));
        assert_eq!(key.secret.len(), 43);
        assert_eq!(key.prefix, key.secret[..11]);
        assert_eq!(key.hash, hash_key(&key.secret));
        assert_ne!(key.hash, key.secret);
    }

    #[test]
    fn a_key_is_read_from_either_header() {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", HeaderValue::from_static("Bearer sk_abc"));
        assert_eq!(presented_key(&headers), Some("sk_abc"));
        let mut headers = HeaderMap::new();
        headers.insert("x-api-key", HeaderValue::from_static("sk_def"));
        assert_eq!(presented_key(&headers), Some("sk_def"));
        assert_eq!(presented_key(&HeaderMap::new()), None);
    }
}
