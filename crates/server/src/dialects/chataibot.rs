//! ChatAIBot's "API as a channel" (`seeds/001`), at `/compat/chataibot/api/v1`.
//!
//! Decisions where the document is vague:
//! - `bot_key` is the native bot's `bot_key`; the request is authenticated by the API key in
//!   `Authorization: Bearer`, like every sitechat request.
//! - `from.user_external_id` (mandatory) is the contact's `external_id`; `variables.contact`
//!   (name, email, phone) fills the contact, `variables.system` becomes the contact's `system`
//!   variables, `variables.conversation` the conversation's variables. `channel` is lower-cased
//!   (`API` → `api`).
//! - The first message is answered at once; the bot's replies (to it and to later visitor
//!   messages) reach the account's webhooks as `message.sent` events, the document's way of
//!   delivering them. `message_id` is the id of the stored visitor message.
//! - `conversation.created_at` is written as the document shows (`2025-02-10 20:21:03.913000`,
//!   UTC). `assignee` is the bot (`{"id": "bot", "to": null}`, also while the conversation waits
//!   for an agent, none being assigned yet) or the agent who took over, whom `to` names
//!   (`{"id": "Marie", "to": "Marie"}`).
//!   `contact.visitor_key` is `<user_external_id>_<account_id>` as documented.
//! - Only `text` messages are supported (400 otherwise). Errors are `{"ok": false, "error":
//!   {"code", "message"}}` with the native status code.

use axum::{extract::State, middleware, response::Response, Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sitechat_core::{
    model::Conversation,
    validate::{ChatText, ExternalId, ValidationError},
    ConversationId, MessageId,
};
use sitechat_store::ContactInput;
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{Document, KeySchemes};
use crate::{
    auth::{self, Caller},
    error::{ApiError, ApiResult},
    extract::{ApiJson, ApiPath},
    routes::chat::channel,
    routes::docs::Credential,
    services::chat::{self, VisitorMessage},
    state::AppState,
};

/// Where the dialect is mounted: the seed's base URL (`https://app.chataibot.io/api/v1`).
pub const BASE: &str = "/compat/chataibot/api/v1";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ChatAIBot API as a channel (sitechat dialect)",
        description = "ChatAIBot's \"API as a channel\", spoken by sitechat: start a conversation \
            for a unique visitor, then send the visitor's messages to it, with a sitechat API key \
            in `Authorization: Bearer`. The bot's replies reach the account's webhooks as \
            `message.sent` events. Errors are \
            `{\"ok\": false, \"error\": {\"code\", \"message\"}}`."
    ),
    modifiers(&KeySchemes),
    components(schemas(ChatAiBotError))
)]
struct Doc;

/// The dialect's routes and their document, both from the handlers' annotations.
pub fn router(state: AppState) -> (Router, Document) {
    let (router, spec) = OpenApiRouter::with_openapi(Doc::openapi())
        .routes(routes!(start))
        .routes(routes!(message))
        .split_for_parts();
    let router = router
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            crate::idempotency::idempotency,
        ))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_key,
        ))
        .fallback(super::unknown_route)
        .method_not_allowed_fallback(super::method_not_allowed)
        .layer(middleware::map_response(errors))
        .with_state(state);
    (
        router,
        Document::new("chataibot", BASE, spec, Credential::Key, "ChatAiBotError"),
    )
}

/// ChatAIBot's error body.
#[derive(Serialize, ToSchema)]
struct ChatAiBotError {
    /// Always false.
    ok: bool,
    error: ChatAiBotErrorDetail,
}

#[derive(Serialize, ToSchema)]
struct ChatAiBotErrorDetail {
    /// sitechat's stable code (`INVALID_REQUEST`, `INVALID_API_KEY`, `RESOURCE_NOT_FOUND`, …).
    code: String,
    /// What went wrong and how to fix it.
    message: String,
}

async fn errors(response: Response) -> Response {
    match super::native_error(response).await {
        Ok(e) => {
            let body = ChatAiBotError {
                ok: false,
                error: ChatAiBotErrorDetail {
                    code: e.code.clone(),
                    message: e.message.clone(),
                },
            };
            e.render(body)
        }
        Err(response) => response,
    }
}

#[derive(Deserialize, ToSchema)]
struct MessageData {
    /// The visitor's message.
    #[schema(example = "Hello")]
    body: String,
}

/// A visitor's message.
#[derive(Deserialize, ToSchema)]
struct IncomingMessage {
    data: MessageData,
    /// Only `text` (the default) is supported.
    #[serde(rename = "type", default = "text_type")]
    #[schema(example = "text")]
    kind: String,
}

fn text_type() -> String {
    "text".to_owned()
}

impl IncomingMessage {
    fn text(&self) -> ApiResult<ChatText> {
        if self.kind != "text" {
            return Err(ApiError::invalid(format!(
                "message.type: only `text` messages are supported (got `{}`)",
                self.kind
            )));
        }
        Ok(ChatText::parse("message.data.body", &self.data.body)?)
    }
}

/// Who writes.
#[derive(Deserialize, ToSchema)]
#[schema(as = Visitor)]
struct From {
    /// The visitor's unique id (mandatory): the contact's `external_id`.
    #[schema(example = "visitor-42")]
    user_external_id: String,
    /// `VISITOR`.
    #[serde(rename = "type")]
    #[schema(example = "VISITOR")]
    _kind: Option<String>,
}

/// A conversation to start for a unique visitor, with its first message.
#[derive(Deserialize, ToSchema)]
#[schema(as = StartConversation)]
struct StartBody {
    /// The conversation's channel, lower-cased (default `api`).
    #[schema(example = "API")]
    channel: Option<String>,
    /// The first message, answered at once.
    message: Option<IncomingMessage>,
    /// Optional variables.
    #[schema(value_type = Option<StartVariables>)]
    variables: Option<Value>,
    /// The bot's `bot_key`.
    bot_key: String,
    from: From,
}

/// The variables of `POST /conversations` (each optional).
#[derive(ToSchema)]
#[allow(dead_code)] // read as JSON by the handler; this type documents its shape
struct StartVariables {
    /// Kept as the contact's `system` variables.
    #[schema(value_type = Option<Object>)]
    system: Option<Value>,
    /// Fills the contact.
    contact: Option<ContactVariables>,
    /// Kept as the conversation's variables.
    #[schema(value_type = Option<Object>)]
    conversation: Option<Value>,
}

#[derive(ToSchema)]
#[allow(dead_code)] // read as JSON by the handler; this type documents its shape
struct ContactVariables {
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
}

/// The conversation started.
#[derive(Serialize, ToSchema)]
struct Started {
    /// Always true.
    ok: bool,
    conversation: StartedConversation,
    contact: StartedContact,
}

#[derive(Serialize, ToSchema)]
struct StartedConversation {
    id: ConversationId,
    /// UTC, as `2025-02-10 20:21:03.913000`.
    #[schema(example = "2025-02-10 20:21:03.913000")]
    created_at: String,
    assignee: Assignee,
}

/// Who has the conversation.
#[derive(Serialize, ToSchema)]
struct Assignee {
    /// `bot`, or the agent who took it over.
    id: String,
    /// The agent; null while the bot has the conversation.
    to: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct StartedContact {
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    /// `<user_external_id>_<account_id>`.
    visitor_key: String,
}

fn created_at(c: &Conversation) -> String {
    super::utc(
        c.created_at,
        time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second].[subsecond digits:6]"
        ),
    )
}

/// Who has the conversation: the agent who took it over (`to` names them), else the bot (`to`
/// is null; a conversation waiting for an agent has none assigned yet).
fn assignee(c: &Conversation) -> Assignee {
    match &c.assignee {
        Some(agent) => Assignee {
            id: agent.clone(),
            to: Some(agent.clone()),
        },
        None => Assignee {
            id: "bot".to_owned(),
            to: None,
        },
    }
}

/// `POST /conversations`: starts a conversation for a unique visitor, answering its first message.
#[utoipa::path(post, path = "/conversations", request_body = StartBody,
    responses((status = 200, body = Started)), security(("bearer" = []), ("api_key" = [])))]
async fn start(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<StartBody>,
) -> ApiResult<Json<Started>> {
    let bot = state
        .store
        .bot_by_key(&caller.account.id, body.bot_key.trim())
        .await?;
    let external =
        ExternalId::parse("from.user_external_id", &body.from.user_external_id)?.into_inner();
    let variables = body.variables.unwrap_or_else(|| json!({}));
    if !variables.is_object() {
        return Err(ValidationError::new(
            "variables",
            "must be an object with system, contact and conversation",
        )
        .into());
    }
    let contact_vars = &variables["contact"];
    let text_of = |k: &str| {
        contact_vars[k]
            .as_str()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let contact = ContactInput {
        external_id: external.clone(),
        name: text_of("name"),
        email: text_of("email"),
        phone: text_of("phone"),
        variables: variables.get("system").map(|s| json!({"system": s})),
    };
    let conversation_vars = variables.get("conversation").cloned();
    let channel = channel(body.channel.map(|c| c.to_lowercase()))?;
    let conversation = match body.message {
        Some(message) => {
            let input = VisitorMessage {
                bot: bot.id.clone(),
                text: message.text()?,
                conversation: None,
                contact: Some(contact),
                channel,
                variables: conversation_vars,
                connection: None,
            };
            chat::send(&state, &caller, input).await?.conversation
        }
        None => {
            let new = sitechat_store::NewConversation {
                contact: Some(contact),
                channel,
                variables: conversation_vars,
            };
            crate::services::conversations::start(&state, &caller, &bot.id, new).await?
        }
    };
    let stored = match &conversation.contact_id {
        Some(id) => Some(state.store.get_contact(&caller.account.id, id).await?),
        None => None,
    };
    Ok(Json(Started {
        ok: true,
        conversation: StartedConversation {
            created_at: created_at(&conversation),
            assignee: assignee(&conversation),
            id: conversation.id,
        },
        contact: StartedContact {
            name: stored.as_ref().and_then(|c| c.name.clone()),
            email: stored.as_ref().and_then(|c| c.email.clone()),
            phone: stored.as_ref().and_then(|c| c.phone.clone()),
            visitor_key: format!("{external}_{}", caller.account.id),
        },
    }))
}

/// A visitor's message in a conversation.
#[derive(Deserialize, ToSchema)]
#[schema(as = VisitorMessage)]
struct MessageBody {
    message: IncomingMessage,
    /// `{"type": "VISITOR"}`: only visitors' messages are sent here.
    #[schema(value_type = Option<Object>, example = json!({"type": "VISITOR"}))]
    user: Option<Value>,
}

/// The stored visitor message.
#[derive(Serialize, ToSchema)]
struct MessageSent {
    /// Always true.
    ok: bool,
    message_id: MessageId,
}

/// `POST /conversation/{conversation_id}/messages`: a visitor's message; the reply follows as a
/// webhook event.
#[utoipa::path(post, path = "/conversation/{conversation_id}/messages",
    params(("conversation_id" = String, Path, description = "The conversation's id (`conv_…`)")),
    request_body = MessageBody,
    responses((status = 200, body = MessageSent)), security(("bearer" = []), ("api_key" = [])))]
async fn message(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<MessageBody>,
) -> ApiResult<Json<MessageSent>> {
    let id = ConversationId::parse(&id)?;
    if let Some(kind) = body.user.as_ref().and_then(|u| u["type"].as_str()) {
        if kind != "VISITOR" {
            return Err(ApiError::invalid(format!(
                "user.type: only VISITOR messages are sent here (got `{kind}`)"
            )));
        }
    }
    let conversation = chat::conversation(&state, &caller, &id).await?;
    let input = VisitorMessage {
        bot: conversation.bot_id,
        text: body.message.text()?,
        conversation: Some(id),
        contact: None,
        channel: conversation.channel,
        variables: None,
        connection: None,
    };
    let reply = chat::send(&state, &caller, input).await?;
    Ok(Json(MessageSent {
        ok: true,
        message_id: reply.visitor_message.id,
    }))
}

#[cfg(test)]
mod tests {
    use sitechat_core::{
        model::{ConversationStatus, HandoffReason},
        BotId, ConversationId,
    };

    use super::*;

    fn conversation(status: ConversationStatus, assignee: Option<&str>) -> Conversation {
        let now = time::OffsetDateTime::now_utc();
        Conversation {
            id: ConversationId::generate(),
            bot_id: BotId::generate(),
            contact_id: None,
            external_id: None,
            channel: "api".to_owned(),
            status,
            assignee: assignee.map(str::to_owned),
            handoff_reason: (status != ConversationStatus::Bot).then_some(HandoffReason::Api),
            variables: json!({}),
            rating: None,
            created_at: now,
            updated_at: now,
            ended_at: None,
        }
    }

    #[test]
    fn assignee_to_names_the_agent_and_is_null_only_without_one() {
        assert_eq!(
            json!(assignee(&conversation(ConversationStatus::Bot, None))),
            json!({"id": "bot", "to": null})
        );
        assert_eq!(
            json!(assignee(&conversation(
                ConversationStatus::WaitingForAgent,
                None
            ))),
            json!({"id": "bot", "to": null})
        );
        assert_eq!(
            json!(assignee(&conversation(
                ConversationStatus::Agent,
                Some("Marie")
            ))),
            json!({"id": "Marie", "to": "Marie"})
        );
    }
}
