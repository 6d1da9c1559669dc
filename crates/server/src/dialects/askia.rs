//! AskIA's public widget API (`seeds/003`), at `/compat/askia/api`.
//!
//! These endpoints take no key, as the document says. What protects them instead:
//! - They answer only for bots whose owner turned the public widget on
//!   (`settings.public_widget`, set with `PATCH /v1/bots/{id}`); for any other id — unknown,
//!   another tenant's private bot — the answer is the same 404, so ids cannot be probed.
//! - When the bot lists `settings.allowed_origins`, a request must carry one of them in its
//!   `Origin` header (403 otherwise, also for requests without `Origin`); an empty list allows
//!   any origin. Browsers get CORS headers for the origin they send: the check above, made on
//!   every request, is what keeps other sites out.
//! - Every request counts against a per-IP hourly allowance (`public_requests_per_hour_per_ip`,
//!   200 by default; the peer address, or `X-Forwarded-For` with `trust_forwarded_for`), and
//!   each message against the bot's account: its plan's hourly requests and monthly messages.
//!
//! Decisions where the document is vague:
//! - `POST /widget/chat` without `conversationId` starts a conversation (channel `widget`,
//!   anonymous visitor); with it, continues that conversation of the bot (404 for another bot's,
//!   409 when it has ended). `messageId` is the bot's reply; when a human owns the conversation
//!   there is no reply: `reply` is `""` and `messageId` is the visitor's message. Beside the
//!   documented fields the response carries `sources`, `outcome`, `confidence` and `status`.
//! - `GET /bots/{id}`: `description` is `settings.description`, `category` the bot's `industry`.
//! - `GET /bots/{id}/branding` is `settings.branding`.
//! - Errors are `{"error": message, "code": CODE}` with the status codes the document lists
//!   (400, 403, 404, 409, 429 with `Retry-After`, 500).

use axum::{
    extract::{Request, State},
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde::Deserialize;
use serde_json::{json, Value};
use sitechat_core::{model::Bot, validate::ChatText, BotId, ConversationId};

use super::rfc3339;
use crate::{
    auth::{self, Caller},
    error::{ApiError, ApiResult},
    extract::{ApiJson, ApiPath},
    services::chat::{self, VisitorMessage},
    state::AppState,
};

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/widget/chat", post(widget_chat).options(preflight))
        .route("/bots/{id}", get(bot_info).options(preflight))
        .route("/bots/{id}/branding", get(branding).options(preflight))
        .route_layer(middleware::from_fn_with_state(state.clone(), per_ip_limit))
        .fallback(super::unknown_route)
        .method_not_allowed_fallback(super::method_not_allowed)
        .layer(middleware::map_response(errors))
        .layer(middleware::from_fn(cors))
        .with_state(state)
}

async fn errors(response: Response) -> Response {
    match super::native_error(response).await {
        Ok(e) => {
            let body = json!({"error": e.message, "code": e.code});
            e.render(body)
        }
        Err(response) => response,
    }
}

/// Preflights are answered by [`cors`]; this only gives `OPTIONS` a route.
async fn preflight() -> StatusCode {
    StatusCode::NO_CONTENT
}

/// CORS for the widget: preflights are answered for any origin, and responses carry the origin
/// they were asked from; whether an origin may use a bot is decided per request, per bot.
async fn cors(request: Request, next: Next) -> Response {
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
            HeaderValue::from_static("content-type"),
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
async fn per_ip_limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let status = auth::client_ip(&state, &request).and_then(|ip| state.limits.check_ip(ip));
    if let Some(status) = status.filter(|s| s.retry_after.is_some()) {
        let mut response = ApiError::RateLimited {
            message: format!(
                "this address may make {} requests an hour to the public widget; retry after {} s",
                status.limit,
                status.retry_after.unwrap_or(1)
            ),
            retry_after_secs: status.retry_after,
        }
        .into_response();
        auth::rate_headers(response.headers_mut(), &status);
        return response;
    }
    let mut response = next.run(request).await;
    if let Some(status) = status {
        auth::rate_headers(response.headers_mut(), &status);
    }
    response
}

/// The bot behind a public request, if its widget is public and the request's origin allowed,
/// and who acts for it.
async fn public_bot(state: &AppState, headers: &HeaderMap, id: &str) -> ApiResult<(Caller, Bot)> {
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
    Ok((Caller::channel(account, "widget"), bot))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChatBody {
    bot_id: String,
    message: String,
    conversation_id: Option<String>,
}

/// `POST /widget/chat`: a visitor's message and the bot's reply.
async fn widget_chat(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ChatBody>,
) -> ApiResult<Response> {
    let (caller, bot) = public_bot(&state, &headers, &body.bot_id).await?;
    let rate = match auth::count_request(&state, &caller) {
        Ok(rate) => rate,
        Err(refused) => return Ok(refused),
    };
    let conversation = body
        .conversation_id
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| {
            ConversationId::parse(c)
                .map_err(|_| ApiError::not_found(format!("conversation {c} of this bot")))
        })
        .transpose()?;
    let input = VisitorMessage {
        bot: bot.id,
        text: ChatText::parse("message", &body.message)?,
        conversation,
        contact: None,
        channel: "widget".to_owned(),
        variables: None,
        connection: None,
    };
    let reply = chat::send(&state, &caller, input).await?;
    let mut response = Json(json!({
        "reply": reply.message.as_ref().map_or("", |m| m.text.as_str()),
        "conversationId": reply.conversation.id,
        "messageId": reply.message.as_ref().map_or(&reply.visitor_message.id, |m| &m.id),
        "sources": reply.sources,
        "outcome": reply.outcome,
        "confidence": reply.confidence,
        "status": reply.conversation.status,
    }))
    .into_response();
    if let Some(rate) = rate {
        auth::rate_headers(response.headers_mut(), &rate);
    }
    Ok(response)
}

/// `GET /bots/{id}`: the bot's public metadata.
async fn bot_info(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    let (_, bot) = public_bot(&state, &headers, &id).await?;
    Ok(Json(json!({
        "id": bot.id,
        "name": bot.name,
        "description": bot.settings.description,
        "category": bot.industry,
        "language": bot.language,
        "createdAt": rfc3339(bot.created_at),
    })))
}

/// `GET /bots/{id}/branding`: how the widget looks.
async fn branding(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    let (_, bot) = public_bot(&state, &headers, &id).await?;
    let b = &bot.settings.branding;
    Ok(Json(json!({
        "primaryColor": b.primary_color,
        "backgroundColor": b.background_color,
        "textColor": b.text_color,
        "logoUrl": b.logo_url,
        "position": b.position,
        "theme": b.theme,
    })))
}
