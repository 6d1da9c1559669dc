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
    Json, Router,
};
use serde::{Deserialize, Serialize};
use sitechat_core::{
    model::{ConversationStatus, Outcome, SourceRef},
    validate::ChatText,
    BotId, ConversationId, MessageId,
};
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::{
    router::{OpenApiRouter, UtoipaMethodRouterExt},
    routes,
};

use super::{rfc3339, Document};
use crate::{
    auth,
    error::{ApiError, ApiResult},
    extract::{ApiJson, ApiPath},
    routes::docs::Credential,
    services::chat::{self, VisitorMessage},
    state::AppState,
    visitor::{self, preflight, public_bot},
};

/// The longest client-chosen `conversationId`.
const MAX_CONVERSATION_ID: usize = 200;

/// Where the dialect is mounted: the seed's base URL (`askiabot.com/api`).
pub const BASE: &str = "/compat/askia/api";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "AskIA REST API (sitechat dialect)",
        description = "AskIA's public widget API, spoken by sitechat: a widget written for AskIA \
            works by changing its base URL to this server's `/compat/askia/api`. No key, as the \
            document says: the routes answer only for bots with a public widget, from their \
            allowed origins, within a per-address hourly allowance. Errors are \
            `{\"error\": \"…\", \"code\": \"…\"}`."
    ),
    components(schemas(AskiaError))
)]
struct Doc;

/// The dialect's routes and their document, both from the handlers' annotations. Each route
/// also answers its CORS preflight (`OPTIONS`).
pub fn router(state: AppState) -> (Router, Document) {
    let (router, spec) = OpenApiRouter::with_openapi(Doc::openapi())
        .routes(routes!(widget_chat).map(|route| route.options(preflight)))
        .routes(routes!(bot_info).map(|route| route.options(preflight)))
        .routes(routes!(branding).map(|route| route.options(preflight)))
        .split_for_parts();
    let router = router
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            visitor::per_ip_limit,
        ))
        .fallback(super::unknown_route)
        .method_not_allowed_fallback(super::method_not_allowed)
        .layer(middleware::map_response(errors))
        .layer(middleware::from_fn(visitor::cors))
        .with_state(state);
    (
        router,
        Document::new("askia", BASE, spec, Credential::Visitor, "AskiaError"),
    )
}

/// AskIA's error body.
#[derive(Serialize, ToSchema)]
struct AskiaError {
    /// What went wrong and how to fix it.
    error: String,
    /// sitechat's stable code (`INVALID_REQUEST`, `RESOURCE_NOT_FOUND`, `RATE_LIMIT_EXCEEDED`, …).
    code: String,
}

async fn errors(response: Response) -> Response {
    match super::native_error(response).await {
        Ok(e) => {
            let body = AskiaError {
                error: e.message.clone(),
                code: e.code.clone(),
            };
            e.render(body)
        }
        Err(response) => response,
    }
}

/// A visitor's message.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = WidgetChat)]
struct ChatBody {
    /// The bot's id (`bot_…`); its widget must be public.
    #[schema(example = "bot_0123456789abcdefghij")]
    bot_id: String,
    #[schema(example = "What are your pricing plans?")]
    message: String,
    /// The conversation to continue: one this API returned, or a new id of the client's
    /// choosing (at most 200 characters), which starts a conversation under it.
    #[schema(example = "optional-conversation-id")]
    conversation_id: Option<String>,
}

/// The bot's reply.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct WidgetReply {
    /// The reply; `""` when a human owns the conversation (the bot is silent).
    reply: String,
    /// The conversation: the client's own id when it chose one.
    conversation_id: String,
    /// The bot's reply, or the visitor's message when there is none.
    message_id: MessageId,
    /// Where the reply came from (beside the documented fields).
    sources: Vec<SourceRef>,
    /// What kind of reply it is; null when there is none.
    outcome: Option<Outcome>,
    /// 0 to 1; null when no answer was composed.
    confidence: Option<f64>,
    /// Who owns the conversation now.
    status: ConversationStatus,
}

/// `POST /widget/chat`: a visitor's message and the bot's reply.
#[utoipa::path(post, path = "/widget/chat", request_body = ChatBody,
    responses((status = 200, body = WidgetReply),
        (status = 409, description = "the conversation has ended", body = AskiaError)))]
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
    let (reply_text, message_id) = match reply.message {
        Some(m) => (m.text, m.id),
        None => (String::new(), reply.visitor_message.id),
    };
    let mut response = Json(WidgetReply {
        reply: reply_text,
        conversation_id,
        message_id,
        sources: reply.sources,
        outcome: reply.outcome,
        confidence: reply.confidence,
        status: reply.conversation.status,
    })
    .into_response();
    if let Some(rate) = rate {
        auth::rate_headers(response.headers_mut(), &rate);
    }
    Ok(response)
}

/// A bot's public metadata.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct BotInfo {
    id: BotId,
    name: String,
    /// The bot's `settings.description`.
    description: Option<String>,
    /// The bot's industry.
    category: Option<String>,
    language: String,
    /// RFC 3339.
    created_at: String,
}

/// `GET /bots/{id}`: the bot's public metadata.
#[utoipa::path(get, path = "/bots/{id}",
    params(("id" = String, Path, description = "The bot's id (`bot_…`)")),
    responses((status = 200, body = BotInfo)))]
async fn bot_info(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<BotInfo>> {
    let (_, bot) = public_bot(&state, &headers, &id).await?;
    Ok(Json(BotInfo {
        id: bot.id,
        name: bot.name,
        description: bot.settings.description,
        category: bot.industry,
        language: bot.language,
        created_at: rfc3339(bot.created_at),
    }))
}

/// How a bot's widget looks: its `settings.branding`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = WidgetBranding)]
struct Branding {
    /// `#rrggbb`.
    primary_color: String,
    background_color: String,
    text_color: String,
    logo_url: Option<String>,
    /// `bottom-right`, `bottom-left`, `top-right` or `top-left`.
    position: String,
    /// `light`, `dark` or `auto`.
    theme: String,
}

/// `GET /bots/{id}/branding`: how the widget looks.
#[utoipa::path(get, path = "/bots/{id}/branding",
    params(("id" = String, Path, description = "The bot's id (`bot_…`)")),
    responses((status = 200, body = Branding)))]
async fn branding(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Branding>> {
    let (_, bot) = public_bot(&state, &headers, &id).await?;
    let b = bot.settings.branding;
    Ok(Json(Branding {
        primary_color: b.primary_color,
        background_color: b.background_color,
        text_color: b.text_color,
        logo_url: b.logo_url,
        position: b.position,
        theme: b.theme,
    }))
}
