//! AskIA's public widget API (`seeds/003`), at `/compat/askia/api`.
//!
//! These endpoints take no key, as the document says. They are protected as the native visitor
//! API is (see [`crate::visitor`]): a public widget only, allowed origins, a per-IP hourly
//! allowance (`public_requests_per_hour_per_ip`, 200 by default; the peer address, or
//! `X-Forwarded-For` with `trust_forwarded_for`), and the bot's account's plan.
//!
//! Decisions where the document is vague:
//! - `POST /widget/chat` without `conversationId` starts a conversation (channel `widget`,
//!   anonymous visitor). The document's own example passes a client-chosen id
//!   (`'optional-conversation-id'`): a `conversationId` the bot has not seen starts a
//!   conversation under that id, and the response and later requests name it by the client's id.
//!   Client ids are scoped to the bot (the same id on another bot, or another account's bot, is
//!   another conversation) and are at most 200 characters long. sitechat's own conversation ids
//!   are accepted too (404 for another bot's). A conversation that has ended answers 409. If two
//!   first requests race with the same new id, the first conversation named keeps it.
//! - `messageId` is the bot's reply; when a human owns the conversation there is no reply:
//!   `reply` is `""` and `messageId` is the visitor's message. Beside the documented fields the
//!   response carries `sources`, `outcome`, `confidence` and `status`.
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

/// The longest client-chosen `conversationId`.
const MAX_CONVERSATION_ID: usize = 200;

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
    let chosen = body
        .conversation_id
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    // The conversation to continue, and the client-chosen id the client knows it by.
    let (conversation, client_id) = match chosen {
        None => (None, None),
        Some(c) if c.chars().count() > MAX_CONVERSATION_ID => {
            return Err(ApiError::invalid(format!(
                "conversationId must be at most {MAX_CONVERSATION_ID} characters long"
            )));
        }
        Some(c) => match state
            .store
            .client_conversation(&caller.account.id, &bot.id, c)
            .await?
        {
            Some(id) => (Some(id), Some(c)),
            None => match ConversationId::parse(c) {
                // sitechat's own id: that conversation of this bot (404 for another bot's).
                Ok(id) => (Some(id), None),
                // A new client-chosen id: a new conversation, named by it.
                Err(_) => (None, Some(c)),
            },
        },
    };
    let starts_named = conversation.is_none() && client_id.is_some();
    let input = VisitorMessage {
        bot: bot.id.clone(),
        text: ChatText::parse("message", &body.message)?,
        conversation,
        contact: None,
        channel: "widget".to_owned(),
        variables: None,
        connection: None,
    };
    let reply = chat::send(&state, &caller, input).await?;
    if let (true, Some(c)) = (starts_named, client_id) {
        state
            .store
            .name_client_conversation(&caller.account.id, &bot.id, c, &reply.conversation.id)
            .await?;
    }
    let conversation_id =
        client_id.map_or_else(|| reply.conversation.id.to_string(), str::to_owned);
    let mut response = Json(json!({
        "reply": reply.message.as_ref().map_or("", |m| m.text.as_str()),
        "conversationId": conversation_id,
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
