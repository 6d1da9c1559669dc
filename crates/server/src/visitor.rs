//! Who may use a bot's public widget, and the visitor tokens of its conversations.
//!
//! The public endpoints (the native visitor API under `/v1/public` and AskIA's widget API) take
//! no key. What protects them instead:
//! - They answer only for bots whose owner turned the public widget on
//!   (`settings.public_widget`); for any other id — unknown, another tenant's private bot — the
//!   answer is the same 404, so ids cannot be probed.
//! - When the bot lists `settings.allowed_origins`, a request must carry one of them in its
//!   `Origin` header (403 otherwise, also for requests without `Origin`); an empty list allows
//!   any origin. Browsers get CORS headers for the origin they send: the check, made on every
//!   request, is what keeps other sites out.
//! - Every request counts against a per-IP hourly allowance (`public_requests_per_hour_per_ip`),
//!   each visitor's message against the visitor's own (`visitor_messages_per_hour`, per
//!   conversation), and each message against the bot's account: its plan's hourly requests and
//!   monthly messages.
//!
//! A conversation started through the visitor API comes with a **visitor token**: `vt1.`, then
//! the base64url of `conversation|bot|expiry` and of its HMAC-SHA256 under a key derived from
//! the server's secret key ([`crate::secrets::Sealer::sign`]). Nothing of it is stored. It opens
//! that one conversation of that bot until it expires, and nothing else: not another
//! conversation, not the bot's settings, not the account.

use axum::{
    extract::{FromRequestParts, Request, State},
    http::{header, request::Parts, HeaderMap, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use base64::Engine;
use sitechat_core::{model::Bot, BotId, ConversationId};
use time::OffsetDateTime;

use crate::{
    auth::{self, Caller},
    error::{ApiError, ApiResult},
    secrets::Sealer,
    state::AppState,
};

/// How long a visitor token opens its conversation.
pub const TOKEN_LIFETIME: time::Duration = time::Duration::days(30);

const TOKEN_PREFIX: &str = "vt1.";

/// What a visitor token says.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub conversation: ConversationId,
    pub bot: BotId,
    pub expires_at: OffsetDateTime,
}

impl Token {
    /// A token for a conversation of a bot, valid for [`TOKEN_LIFETIME`] from `now`.
    pub fn new(conversation: ConversationId, bot: BotId, now: OffsetDateTime) -> Self {
        Self {
            conversation,
            bot,
            expires_at: now + TOKEN_LIFETIME,
        }
    }

    /// The token as the visitor keeps it.
    pub fn issue(&self, sealer: &Sealer) -> String {
        let payload = format!(
            "{}|{}|{}",
            self.conversation,
            self.bot,
            self.expires_at.unix_timestamp()
        );
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{TOKEN_PREFIX}{}.{}",
            b64.encode(&payload),
            b64.encode(sealer.sign(payload.as_bytes()))
        )
    }

    /// The token a visitor sent, when this server issued it and it has not expired.
    pub fn verify(sealer: &Sealer, token: &str, now: OffsetDateTime) -> Result<Self, ApiError> {
        let refused = |why: &str| {
            ApiError::Unauthorized(format!(
                "the visitor token {why}; start a conversation with POST \
                 /v1/public/bots/{{id}}/conversations to get one"
            ))
        };
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let (payload, mac) = token
            .strip_prefix(TOKEN_PREFIX)
            .and_then(|rest| rest.split_once('.'))
            .ok_or_else(|| refused("is not one (it starts with vt1.)"))?;
        let payload = b64.decode(payload).map_err(|_| refused("is damaged"))?;
        let mac = b64.decode(mac).map_err(|_| refused("is damaged"))?;
        if !sealer.verify(&payload, &mac) {
            return Err(refused("was not issued by this server"));
        }
        let payload = String::from_utf8(payload).map_err(|_| refused("is damaged"))?;
        let mut parts = payload.split('|');
        let (Some(conversation), Some(bot), Some(expires), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(refused("is damaged"));
        };
        let expires_at = expires
            .parse::<i64>()
            .ok()
            .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
            .ok_or_else(|| refused("is damaged"))?;
        if expires_at <= now {
            return Err(refused("has expired"));
        }
        Ok(Self {
            conversation: ConversationId::from_trusted(conversation.to_owned()),
            bot: BotId::from_trusted(bot.to_owned()),
            expires_at,
        })
    }
}

/// A request of a widget visitor: the bot (public, asked from an allowed origin), who acts for
/// it, and the one conversation the visitor's token opens.
pub struct Visitor {
    pub caller: Caller,
    pub bot: Bot,
    pub token: Token,
}

impl Visitor {
    /// The conversation a path names, when it is the visitor's own (404 otherwise: another
    /// conversation's existence is not revealed).
    pub fn conversation(&self, path: &str) -> ApiResult<ConversationId> {
        if path.trim() == self.token.conversation.as_str() {
            Ok(self.token.conversation.clone())
        } else {
            Err(ApiError::not_found(format!(
                "conversation {} (a visitor token opens only its own conversation)",
                path.trim()
            )))
        }
    }
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // Browsers' EventSource cannot set headers: the live stream takes `?token=`.
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let query = parts.uri.query().and_then(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "token")
                .map(|(_, v)| v.into_owned())
        });
        let token =
            match (header, query) {
                (Some(token), _) => token.to_owned(),
                (None, Some(token)) => token,
                (None, None) => return Err(ApiError::Unauthorized(
                    "a visitor token is needed (Authorization: Bearer vt1.…, or ?token= on the \
                     live stream); start a conversation with POST \
                     /v1/public/bots/{id}/conversations to get one"
                        .to_owned(),
                )),
            };
        let token = Token::verify(&state.sealer, &token, sitechat_core::now())?;
        let (caller, bot) = public_bot(state, &parts.headers, token.bot.as_str()).await?;
        Ok(Visitor { caller, bot, token })
    }
}

/// Checks a signed-in visitor's identity as the host page vouches for it: `user_hash` must be
/// the lowercase hex HMAC-SHA256 of `user_id` under the bot's identity secret.
pub fn verify_identity(
    state: &AppState,
    bot: &Bot,
    user_id: &str,
    user_hash: &str,
) -> ApiResult<()> {
    let Some(sealed) = &bot.settings.identity_secret_sealed else {
        return Err(ApiError::invalid(
            "user_id: this bot does not verify visitors' identities; its owner turns it on \
             with POST /v1/bots/{id}/identity-secret",
        ));
    };
    let secret = state.sealer.unseal(sealed).map_err(ApiError::internal)?;
    let expected: String = crate::secrets::hmac_sha256(secret.as_bytes(), user_id.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    use subtle::ConstantTimeEq;
    let given = user_hash.trim().to_ascii_lowercase();
    if bool::from(expected.as_bytes().ct_eq(given.as_bytes())) {
        Ok(())
    } else {
        Err(ApiError::Unauthorized(
            "user_hash is not the HMAC-SHA256 of user_id under the bot's identity secret"
                .to_owned(),
        ))
    }
}

/// The bot behind a public request, if its widget is public and the request's origin allowed,
/// and who acts for it: the bot's account, allowed to chat and nothing else.
pub async fn public_bot(
    state: &AppState,
    headers: &HeaderMap,
    id: &str,
) -> ApiResult<(Caller, Bot)> {
    let hidden = || {
        ApiError::not_found(
            "bot with a public widget (its owner turns it on with settings.public_widget)",
        )
    };
    let id = BotId::parse(id.trim()).map_err(|_| hidden())?;
    let (account, bot) = match state.store.bot_anywhere(&id).await {
        Ok(found) => found,
        Err(sitechat_store::StoreError::NotFound { .. }) => return Err(hidden()),
        Err(e) => return Err(e.into()),
    };
    if !bot.settings.public_widget {
        return Err(hidden());
    }
    let allowed = &bot.settings.allowed_origins;
    if !allowed.is_empty() {
        let origin = headers
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .map(|o| o.trim_end_matches('/').to_ascii_lowercase());
        match origin {
            Some(o) if allowed.contains(&o) => {}
            Some(o) => {
                return Err(ApiError::forbidden(format!(
                    "this bot's widget is not allowed on {o}; its owner can add the origin to settings.allowed_origins"
                )))
            }
            None => {
                return Err(ApiError::forbidden(
                    "this bot's widget only answers pages of its allowed origins, and the request has no Origin header",
                ))
            }
        }
    }
    Ok((Caller::channel(account), bot))
}

/// Preflights are answered by [`cors`]; this only gives `OPTIONS` a route.
pub async fn preflight() -> StatusCode {
    StatusCode::NO_CONTENT
}

/// CORS for the widget: preflights are answered for any origin, and responses carry the origin
/// they were asked from; whether an origin may use a bot is decided per request, per bot.
pub async fn cors(request: Request, next: Next) -> Response {
    let origin = request.headers().get(header::ORIGIN).cloned();
    let mut response = if request.method() == Method::OPTIONS {
        let mut preflight = StatusCode::NO_CONTENT.into_response();
        let headers = preflight.headers_mut();
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, OPTIONS"),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("content-type, authorization"),
        );
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        preflight
    } else {
        next.run(request).await
    };
    if let Some(origin) = origin {
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("x-request-id, retry-after"),
        );
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
    }
    response
}

/// The per-IP allowance of the public endpoints.
pub async fn per_ip_limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let status = auth::client_ip(&state, &request).and_then(|ip| state.limits.check_ip(ip));
    if let Some(status) = status.filter(|s| s.retry_after.is_some()) {
        return auth::rate_limited(
            &status,
            format!(
                "this address may make {} requests an hour to the public widget",
                status.limit
            ),
        );
    }
    let mut response = next.run(request).await;
    if let Some(status) = status {
        auth::rate_headers(response.headers_mut(), &status);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_opens_its_conversation_until_it_expires_and_only_under_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let sealer = Sealer::open_or_create(dir.path()).unwrap();
        let now = sitechat_core::now();
        let token = Token::new(ConversationId::generate(), BotId::generate(), now);
        let issued = token.issue(&sealer);
        let read = Token::verify(&sealer, &issued, now).unwrap();
        assert_eq!(read.conversation, token.conversation);
        assert_eq!(read.bot, token.bot);
        // Expired.
        let later = now + TOKEN_LIFETIME + time::Duration::seconds(1);
        assert!(Token::verify(&sealer, &issued, later).is_err());
        // Another server's key.
        let other = Sealer::open_or_create(tempfile::tempdir().unwrap().path()).unwrap();
        assert!(Token::verify(&other, &issued, now).is_err());
        // Another conversation written into the payload, with the old signature.
        let (_, mac) = issued.rsplit_once('.').unwrap();
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let forged_payload = format!(
            "{}|{}|{}",
            ConversationId::generate(),
            token.bot,
            token.expires_at.unix_timestamp()
        );
        let forged = format!("vt1.{}.{mac}", b64.encode(forged_payload));
        assert!(Token::verify(&sealer, &forged, now).is_err());
        for junk in ["", "vt1.", "vt1.a.b", "sk_live", "vt1.!!!.???"] {
            assert!(Token::verify(&sealer, junk, now).is_err(), "{junk}");
        }
    }
}
