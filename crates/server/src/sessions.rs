//! Dashboard sessions: passwords, the session cookie and its CSRF token.
//!
//! - Passwords are hashed with argon2id (the `argon2` crate's defaults: 19 MiB, 2 passes), off
//!   the async threads.
//! - A session is a random token in an HttpOnly, SameSite=Lax cookie (`Secure` when the request
//!   came over https through a trusted proxy); only its SHA-256 is stored, like an API key's.
//! - Each session has a CSRF token. A request authenticated by the cookie that changes anything
//!   (any method but GET, HEAD and OPTIONS) must carry it, in the `X-CSRF-Token` header (the
//!   dashboard's scripts) or in the form's `csrf` field (its forms): a cross-site page can make the
//!   browser send the cookie, but cannot read the token.

use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use axum::http::{HeaderMap, HeaderValue, Method};
use cookie::{Cookie, SameSite};
use sitechat_core::random_token;
use subtle::ConstantTimeEq;

use crate::{
    auth::{hash_key, Caller},
    error::{ApiError, ApiResult},
    state::AppState,
};

pub const COOKIE: &str = "sitechat_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// How long a session lasts.
pub const LIFETIME: time::Duration = time::Duration::days(7);
pub const MIN_PASSWORD_CHARS: usize = 10;
pub const MAX_PASSWORD_CHARS: usize = 256;

/// Checks a new password's length; the message says what to fix.
pub fn check_new_password(password: &str) -> ApiResult<()> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(ApiError::invalid(format!(
            "password: use at least {MIN_PASSWORD_CHARS} characters (got {n})"
        )));
    }
    if n > MAX_PASSWORD_CHARS {
        return Err(ApiError::invalid(format!(
            "password: use at most {MAX_PASSWORD_CHARS} characters"
        )));
    }
    Ok(())
}

/// The argon2id PHC string of a password.
pub async fn hash_password(password: &str) -> ApiResult<String> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| ApiError::internal(format!("cannot hash a password: {e}")))
    })
    .await
    .map_err(|e| ApiError::internal(format!("password hashing stopped: {e}")))?
}

/// Whether `password` matches the stored hash. Without a stored hash (no such person), a hash
/// is still computed, so that the answer takes as long whether or not the email is known.
pub async fn verify_password(stored: Option<String>, password: &str) -> bool {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        let stored = stored.unwrap_or_else(|| {
            // A fixed hash of a random secret: verifying against it costs what a real check does.
            static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
            DUMMY
                .get_or_init(|| {
                    let salt = SaltString::generate(&mut OsRng);
                    Argon2::default()
                        .hash_password(random_token(32).as_bytes(), &salt)
                        .map(|h| h.to_string())
                        .unwrap_or_default()
                })
                .clone()
        });
        PasswordHash::new(&stored)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// A new session's secrets.
pub struct NewSession {
    pub token: String,
    pub token_hash: String,
    pub csrf: String,
}

pub fn new_session() -> NewSession {
    let token = random_token(40);
    NewSession {
        token_hash: hash_key(&token),
        token,
        csrf: random_token(32),
    }
}

/// Whether the request reached us over https (as a trusted proxy says).
pub fn is_https(state: &AppState, headers: &HeaderMap) -> bool {
    state.config.trust_forwarded_for
        && headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// The `Set-Cookie` value that starts a session (`token`) or ends it (`None`).
pub fn set_cookie(token: Option<&str>, secure: bool) -> HeaderValue {
    let mut cookie = Cookie::build((COOKIE, token.unwrap_or("").to_owned()))
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax);
    cookie = match token {
        Some(_) => cookie.max_age(cookie::time::Duration::seconds(LIFETIME.whole_seconds())),
        None => cookie.max_age(cookie::time::Duration::ZERO),
    };
    HeaderValue::from_str(&cookie.build().to_string())
        .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The session token a request's cookies carry.
pub fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == COOKIE && !c.value().is_empty())
        .map(|c| c.value().to_owned())
}

/// A signed-in person and their session's CSRF token.
#[derive(Debug, Clone)]
pub struct Session {
    pub caller: Caller,
    pub csrf: String,
    pub token_hash: String,
}

impl Session {
    /// Whether `presented` is this session's CSRF token.
    pub fn csrf_matches(&self, presented: Option<&str>) -> bool {
        presented.is_some_and(|p| bool::from(p.as_bytes().ct_eq(self.csrf.as_bytes())))
    }
}

/// The live session of a request's cookie, if any.
pub async fn current(state: &AppState, headers: &HeaderMap) -> ApiResult<Option<Session>> {
    let Some(token) = session_token(headers) else {
        return Ok(None);
    };
    let token_hash = hash_key(&token);
    Ok(state
        .store
        .find_session(&token_hash)
        .await?
        .map(|record| Session {
            caller: Caller::person(record.account, record.user),
            csrf: record.csrf,
            token_hash,
        }))
}

/// The caller of an API request authenticated by the session cookie: refused without a live
/// session, and for a change without the session's CSRF token in `X-CSRF-Token`.
pub async fn authenticate(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
) -> ApiResult<Caller> {
    let session = current(state, headers).await?.ok_or_else(|| {
        ApiError::Unauthorized(
            "the session has ended; sign in again, or send an API key as `Authorization: Bearer sk_…`"
                .to_owned(),
        )
    })?;
    let safe = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    let presented = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
    if !safe && !session.csrf_matches(presented) {
        return Err(ApiError::forbidden(
            "a change made with the session cookie must carry the session's CSRF token in `X-CSRF-Token`",
        ));
    }
    Ok(session.caller)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_password_verifies_against_its_hash_only() {
        let hash = hash_password("correct horse battery").await.unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password(Some(hash.clone()), "correct horse battery").await);
        assert!(!verify_password(Some(hash), "correct horse battery!").await);
        assert!(!verify_password(None, "anything at all").await);
    }

    #[test]
    fn the_cookie_is_http_only_and_lax() {
        let value = set_cookie(Some("abc"), false);
        let text = value.to_str().unwrap();
        assert!(text.starts_with("sitechat_session=abc"), "{text}");
        assert!(
            text.contains("HttpOnly") && text.contains("SameSite=Lax"),
            "{text}"
        );
        assert!(!text.contains("Secure"), "{text}");
        assert!(set_cookie(Some("abc"), true)
            .to_str()
            .unwrap()
            .contains("Secure"));
        let mut headers = HeaderMap::new();
        headers.insert(
            axum::http::header::COOKIE,
            HeaderValue::from_static("a=1; sitechat_session=tok; b=2"),
        );
        assert_eq!(session_token(&headers).as_deref(), Some("tok"));
    }
}
