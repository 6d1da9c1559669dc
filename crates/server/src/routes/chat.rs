//! Chatting with a bot, and reading conversations.

use axum::{extract::State, Json};
use serde::{Deserialize, Serialize};
use sitechat_core::{
    model::{Conversation, Message, Outcome, SourceRef},
    validate::{ChatText, ExternalId},
    BotId, ContactId, ConversationId, MessageId,
};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    auth::Caller,
    error::{ApiResult, ErrorBody},
    extract::{ApiJson, ApiPath, ApiQuery},
    routes::{List, PageQuery},
    services::chat::{self, VisitorMessage},
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(send_message))
        .routes(routes!(get_conversation))
        .routes(routes!(list_messages))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatRequest {
    /// The visitor's message (1–4,000 characters).
    pub message: String,
    /// Continue this conversation; leave out to start a new one.
    pub conversation_id: Option<String>,
    /// Your own key for the visitor (up to 128 characters); their conversations are linked to
    /// one contact.
    pub contact_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ChatResponse {
    /// The bot's answer, or its fallback message when its knowledge does not answer well enough.
    pub reply: String,
    pub conversation_id: ConversationId,
    /// The id of the bot's reply.
    pub message_id: MessageId,
    /// The id of the visitor's message.
    pub visitor_message_id: MessageId,
    pub contact_id: Option<ContactId>,
    /// How much of the question the reply covers, in [0, 1] (see the docs).
    pub confidence: f64,
    pub outcome: Outcome,
    pub sources: Vec<SourceRef>,
}

/// Sends a visitor message to a bot and returns its reply, grounded in the bot's knowledge with
/// sources. Without `conversation_id` a new conversation starts; an unknown one is a 404. Both
/// messages are stored before the response.
#[utoipa::path(post, path = "/v1/bots/{id}/chat", tag = "chat", request_body = ChatRequest,
    params(("id" = String, Path, description = "Bot id (`bot_…`)")),
    responses((status = 200, body = ChatResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 429, description = "rate limit or monthly message quota reached", body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn send_message(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ChatRequest>,
) -> ApiResult<Json<ChatResponse>> {
    let input = VisitorMessage {
        bot: BotId::parse(&id)?,
        text: ChatText::parse("message", &body.message)?,
        conversation: body
            .conversation_id
            .as_deref()
            .map(ConversationId::parse)
            .transpose()?,
        external_id: body
            .contact_id
            .as_deref()
            .map(|c| ExternalId::parse("contact_id", c).map(ExternalId::into_inner))
            .transpose()?,
        channel: "api".to_owned(),
    };
    let reply = chat::send(&state, &caller, input).await?;
    Ok(Json(ChatResponse {
        reply: reply.message.text,
        conversation_id: reply.conversation.id,
        message_id: reply.message.id,
        visitor_message_id: reply.visitor_message.id,
        contact_id: reply.conversation.contact_id,
        confidence: reply.confidence,
        outcome: reply.outcome,
        sources: reply.sources,
    }))
}

/// One conversation of the account.
#[utoipa::path(get, path = "/v1/conversations/{id}", tag = "chat",
    params(("id" = String, Path, description = "Conversation id (`conv_…`)")),
    responses((status = 200, body = Conversation), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn get_conversation(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Conversation>> {
    let id = ConversationId::parse(&id)?;
    Ok(Json(chat::conversation(&state, &caller, &id).await?))
}

/// A conversation's messages, oldest first, each with its role, text, confidence, outcome,
/// sources and time.
#[utoipa::path(get, path = "/v1/conversations/{id}/messages", tag = "chat",
    params(("id" = String, Path, description = "Conversation id (`conv_…`)"), PageQuery),
    responses((status = 200, body = List<Message>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn list_messages(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<List<Message>>> {
    let id = ConversationId::parse(&id)?;
    let page = chat::history(&state, &caller, &id, page.parse()?).await?;
    Ok(Json(List::from_page(page, |m| m)))
}
