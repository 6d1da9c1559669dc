//! AskIA's public widget API (`seeds/003`), at `/compat/askia/api`.
//!
//! These endpoints take no key, as the document says. They are protected as the native visitor
//! API is (see [`crate::visitor`]): a public widget only, allowed origins, a per-IP hourly
//! allowance (`public_requests_per_hour_per_ip`, 200 by default; the peer address, or
//! `X-Forwarded-For` with `trust_forwarded_for`), and the bot's account's plan.
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
    extract::State,
    http::HeaderMap,
    middleware,
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde::Deserialize;
use serde_json::{json, Value};
use sitechat_core::{validate::ChatText, ConversationId};

use super::rfc3339;
use crate::{
    auth,
    error::{ApiError, ApiResult},
    extract::{ApiJson, ApiPath},
    services::chat::{self, VisitorMessage},
    state::AppState,
    visitor::{self, preflight, public_bot},
};

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/widget/chat", post(widget_chat).options(preflight))
        .route("/bots/{id}", get(bot_info).options(preflight))
        .route("/bots/{id}/branding", get(branding).options(preflight))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            visitor::per_ip_limit,
        ))
        .fallback(super::unknown_route)
        .method_not_allowed_fallback(super::method_not_allowed)
        .layer(middleware::map_response(errors))
        .layer(middleware::from_fn(visitor::cors))
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
