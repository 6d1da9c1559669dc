//! Conversations: starting, listing, history, the human handoff, agent messages, typing, rating,
//! live updates; and messages' delivery statuses and feedback.

use std::{collections::HashMap, convert::Infallible, time::Duration};

use axum::{
    extract::State,
    http::StatusCode,
    response::sse::{Event as SseEvent, KeepAlive, Sse},
    Json,
};
use futures_util::stream::{self, Stream};
use serde::{Deserialize, Serialize};
use sitechat_core::{
    model::{
        Button, Conversation, ConversationStatus, HandoffAction, HandoffReason, Message,
        MessageStatus, Role, Thumb,
    },
    validate::{ChatText, Label, ValidationError},
    BotId, ContactId, ConversationId, MessageId,
};
use sitechat_store::{ConversationFilter, NewConversation};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    auth::Caller,
    error::{ApiError, ApiResult, ErrorBody},
    extract::{ApiJson, ApiPath, ApiQuery},
    routes::{
        chat::{channel, ChatResponse, ContactBody},
        List, PageQuery,
    },
    services::{
        chat::{self, VisitorMessage},
        conversations,
    },
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(start_conversation, list_conversations))
        .routes(routes!(get_conversation))
        .routes(routes!(list_messages, post_message))
        .routes(routes!(takeover))
        .routes(routes!(release))
        .routes(routes!(escalate))
        .routes(routes!(end))
        .routes(routes!(typing))
        .routes(routes!(rate))
        .routes(routes!(stream))
        .routes(routes!(inbox_stream))
        .routes(routes!(get_message))
        .routes(routes!(set_status))
        .routes(routes!(set_statuses))
        .routes(routes!(feedback))
}

/// A time in a query string: RFC 3339.
pub(crate) fn parse_time(
    field: &str,
    value: Option<&str>,
) -> Result<Option<time::OffsetDateTime>, ValidationError> {
    value
        .map(|v| {
            time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339).map_err(
                |_| {
                    ValidationError::new(
                        field,
                        format!("`{v}` is not an RFC 3339 time such as 2026-01-31T09:00:00Z"),
                    )
                },
            )
        })
        .transpose()
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartConversation {
    pub bot_id: String,
    /// Who the visitor is.
    pub contact: Option<ContactBody>,
    /// `api` (default), `widget`, `whatsapp`, `instagram`, `messenger`, …
    pub channel: Option<String>,
    /// Conversation-scoped variables.
    #[schema(value_type = Option<Object>)]
    pub variables: Option<serde_json::Value>,
    /// A first visitor message, answered at once.
    pub message: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct StartedConversation {
    #[serde(flatten)]
    pub conversation: Conversation,
    /// The answer to `message`, when one was sent.
    pub reply: Option<ChatResponse>,
}

/// Starts a conversation for a visitor, optionally with a first message.
#[utoipa::path(post, path = "/v1/conversations", tag = "conversations", request_body = StartConversation,
    responses((status = 201, body = StartedConversation), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn start_conversation(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<StartConversation>,
) -> ApiResult<(StatusCode, Json<StartedConversation>)> {
    let bot = BotId::parse(&body.bot_id)?;
    let contact = body.contact.map(ContactBody::parse).transpose()?;
    let channel = channel(body.channel)?;
    if body.variables.as_ref().is_some_and(|v| !v.is_object()) {
        return Err(ValidationError::new("variables", "must be an object").into());
    }
    match body.message {
        Some(message) => {
            let input = VisitorMessage {
                bot,
                text: ChatText::parse("message", &message)?,
                conversation: None,
                contact,
                channel,
                variables: body.variables,
                connection: None,
            };
            let reply = chat::send(&state, &caller, input).await?;
            let conversation = reply.conversation.clone();
            Ok((
                StatusCode::CREATED,
                Json(StartedConversation {
                    conversation,
                    reply: Some(reply.into()),
                }),
            ))
        }
        None => {
            let new = NewConversation {
                contact,
                channel,
                variables: body.variables,
            };
            let conversation = conversations::start(&state, &caller, &bot, new).await?;
            Ok((
                StatusCode::CREATED,
                Json(StartedConversation {
                    conversation,
                    reply: None,
                }),
            ))
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ConversationQuery {
    pub bot_id: Option<String>,
    pub channel: Option<String>,
    /// `bot`, `waiting_for_agent` (the agents' queue), `agent` or `ended`.
    pub status: Option<String>,
    pub contact_id: Option<String>,
    /// Started at or after this time (RFC 3339).
    pub since: Option<String>,
    /// Started before this time (RFC 3339).
    pub until: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Lists conversations, oldest first, by bot, channel, status, contact and time.
/// `status=waiting_for_agent` is the agents' queue.
#[utoipa::path(get, path = "/v1/conversations", tag = "conversations", params(ConversationQuery),
    responses((status = 200, body = List<Conversation>), (status = 400, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn list_conversations(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ConversationQuery>,
) -> ApiResult<Json<List<Conversation>>> {
    let filter = ConversationFilter {
        bot: q
            .bot_id
            .as_deref()
            .map(BotId::parse)
            .transpose()
            .map_err(|e| ApiError::invalid(e.to_string()))?,
        channel: q.channel,
        status: q
            .status
            .as_deref()
            .map(|s| {
                ConversationStatus::parse(s).ok_or_else(|| {
                    ApiError::invalid(format!(
                        "status: `{s}` is not one of bot, waiting_for_agent, agent, ended"
                    ))
                })
            })
            .transpose()?,
        contact: q
            .contact_id
            .as_deref()
            .map(ContactId::parse)
            .transpose()
            .map_err(|e| ApiError::invalid(e.to_string()))?,
        since: parse_time("since", q.since.as_deref())?,
        until: parse_time("until", q.until.as_deref())?,
    };
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    }
    .parse()?;
    let page = conversations::list(&state, &caller, &filter, page).await?;
    Ok(Json(List::from_page(page, |c| c)))
}

/// One conversation: status, assignee, handoff reason, variables, rating.
#[utoipa::path(get, path = "/v1/conversations/{id}", tag = "conversations",
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

/// A conversation's messages, oldest first, each with its role, text, author, confidence,
/// outcome, sources, buttons, delivery status and time.
#[utoipa::path(get, path = "/v1/conversations/{id}/messages", tag = "conversations",
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

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostMessage {
    /// `agent` (the conversation must be taken over), `system`, or `visitor` (answered like chat).
    pub role: String,
    pub text: String,
    /// The agent's name (defaults to the assignee). With a dashboard session it is the
    /// signed-in person, whatever is given here.
    pub author: Option<String>,
    /// Quick-reply buttons offered with an agent or system message.
    #[serde(default)]
    pub buttons: Vec<Button>,
}

#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum Posted {
    Message(Message),
    Reply(ChatResponse),
}

/// Posts a message into a conversation: an agent's reply (409 unless an agent owns the
/// conversation), a system note, or a visitor message (answered as by chat).
#[utoipa::path(post, path = "/v1/conversations/{id}/messages", tag = "conversations", request_body = PostMessage,
    params(("id" = String, Path, description = "Conversation id (`conv_…`)")),
    responses((status = 201, body = Posted), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn post_message(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<PostMessage>,
) -> ApiResult<(StatusCode, Json<Posted>)> {
    let id = ConversationId::parse(&id)?;
    let text = ChatText::parse("text", &body.text)?.into_inner();
    let author = body
        .author
        .map(|a| Label::parse("author", &a).map(Label::into_inner))
        .transpose()?;
    if body.buttons.len() > 10
        || body
            .buttons
            .iter()
            .any(|b| b.title.trim().is_empty() || b.title.chars().count() > 80)
    {
        return Err(ApiError::invalid(
            "buttons: at most 10, each with a title of 1 to 80 characters",
        ));
    }
    match body.role.as_str() {
        "agent" | "system" => {
            let role = if body.role == "agent" {
                Role::Agent
            } else {
                Role::System
            };
            let message = conversations::post_staff_message(
                &state,
                &caller,
                &id,
                role,
                text,
                author,
                body.buttons,
            )
            .await?;
            Ok((StatusCode::CREATED, Json(Posted::Message(message))))
        }
        "visitor" => {
            let conversation = chat::conversation(&state, &caller, &id).await?;
            let input = VisitorMessage {
                bot: conversation.bot_id,
                text: ChatText::parse("text", &text)?,
                conversation: Some(id),
                contact: None,
                channel: conversation.channel,
                variables: None,
                connection: None,
            };
            let reply = chat::send(&state, &caller, input).await?;
            Ok((StatusCode::CREATED, Json(Posted::Reply(reply.into()))))
        }
        other => Err(ApiError::invalid(format!(
            "role: `{other}` is not one of agent, system, visitor"
        ))),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Takeover {
    /// The agent taking the conversation; required with an API key. With a dashboard session it
    /// is the signed-in person, whatever is given here.
    pub agent: Option<String>,
}

/// An agent takes the conversation (from the queue, or straight from the bot); the bot falls
/// silent. 409 when an agent already owns it or it has ended.
#[utoipa::path(post, path = "/v1/conversations/{id}/takeover", tag = "conversations", request_body = Takeover,
    params(("id" = String, Path, description = "Conversation id")),
    responses((status = 200, body = Conversation), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn takeover(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<Takeover>,
) -> ApiResult<Json<Conversation>> {
    let id = ConversationId::parse(&id)?;
    let agent = match (&caller.user, body.agent.as_deref()) {
        (Some(user), _) => user.name.clone(),
        (None, Some(agent)) => Label::parse("agent", agent)?.as_str().to_owned(),
        (None, None) => {
            return Err(ApiError::invalid(
                "agent: name the agent taking the conversation",
            ))
        }
    };
    Ok(Json(
        conversations::handoff(
            &state,
            &caller,
            &id,
            HandoffAction::Takeover,
            Some(agent.as_str()),
            Some(HandoffReason::Api),
        )
        .await?,
    ))
}

/// Hands the conversation back to the bot. 409 when the bot already owns it or it has ended.
#[utoipa::path(post, path = "/v1/conversations/{id}/release", tag = "conversations",
    params(("id" = String, Path, description = "Conversation id")),
    responses((status = 200, body = Conversation), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn release(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Conversation>> {
    let id = ConversationId::parse(&id)?;
    Ok(Json(
        conversations::handoff(&state, &caller, &id, HandoffAction::Release, None, None).await?,
    ))
}

/// Puts the conversation in the agents' queue (reason `api`). 409 unless the bot owns it.
#[utoipa::path(post, path = "/v1/conversations/{id}/escalate", tag = "conversations",
    params(("id" = String, Path, description = "Conversation id")),
    responses((status = 200, body = Conversation), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn escalate(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Conversation>> {
    let id = ConversationId::parse(&id)?;
    Ok(Json(
        conversations::handoff(
            &state,
            &caller,
            &id,
            HandoffAction::Escalate,
            None,
            Some(HandoffReason::Api),
        )
        .await?,
    ))
}

/// Ends the conversation. 409 when it has already ended.
#[utoipa::path(post, path = "/v1/conversations/{id}/end", tag = "conversations",
    params(("id" = String, Path, description = "Conversation id")),
    responses((status = 200, body = Conversation), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn end(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Conversation>> {
    let id = ConversationId::parse(&id)?;
    Ok(Json(
        conversations::handoff(&state, &caller, &id, HandoffAction::End, None, None).await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Typing {
    /// `visitor` or `agent`.
    pub role: String,
    pub author: Option<String>,
}

/// Tells live listeners that the visitor or the agent is typing.
#[utoipa::path(post, path = "/v1/conversations/{id}/typing", tag = "conversations", request_body = Typing,
    params(("id" = String, Path, description = "Conversation id")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn typing(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<Typing>,
) -> ApiResult<StatusCode> {
    let id = ConversationId::parse(&id)?;
    let role = match body.role.as_str() {
        "visitor" => Role::Visitor,
        "agent" => Role::Agent,
        other => {
            return Err(ApiError::invalid(format!(
                "role: `{other}` is not visitor or agent"
            )))
        }
    };
    conversations::typing(&state, &caller, &id, role, body.author).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rating {
    /// 1 (bad) to 5 (excellent).
    pub rating: i64,
    pub comment: Option<String>,
}

/// The visitor's 1–5 rating of the conversation.
#[utoipa::path(post, path = "/v1/conversations/{id}/rating", tag = "conversations", request_body = Rating,
    params(("id" = String, Path, description = "Conversation id")),
    responses((status = 200, body = Conversation), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn rate(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<Rating>,
) -> ApiResult<Json<Conversation>> {
    let id = ConversationId::parse(&id)?;
    Ok(Json(
        conversations::rate(&state, &caller, &id, body.rating, body.comment.as_deref()).await?,
    ))
}

/// Live updates of a conversation as server-sent events: `message` (visitor, bot and agent
/// messages), `status` (handoff changes) and `typing`.
#[utoipa::path(get, path = "/v1/conversations/{id}/stream", tag = "conversations",
    params(("id" = String, Path, description = "Conversation id")),
    responses((status = 200, description = "text/event-stream", content_type = "text/event-stream"), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn stream(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>> {
    let id = ConversationId::parse(&id)?;
    chat::conversation(&state, &caller, &id).await?;
    Ok(live(&state, &id))
}

/// Live updates of every conversation of the account, for an inbox, as server-sent events
/// named `conversation`: `{"conversation_id", "kind"}` where `kind` is `message`, `status` or
/// `typing`. Read the conversation (or the inbox) again to see what changed.
#[utoipa::path(get, path = "/v1/inbox/stream", tag = "conversations",
    responses((status = 200, description = "text/event-stream", content_type = "text/event-stream")),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn inbox_stream(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>> {
    conversations::require_read(&caller)?;
    let receiver = state.live.subscribe_all();
    // Whether each conversation seen is the account's: looked up once, since a conversation
    // never changes account.
    let owned: HashMap<ConversationId, bool> = HashMap::new();
    let events = stream::unfold(
        (receiver, state, caller, owned),
        |(mut receiver, state, caller, mut owned)| async move {
            loop {
                match receiver.recv().await {
                    Ok((id, event)) => {
                        let ours = match owned.get(&id) {
                            Some(&ours) => ours,
                            None => {
                                let ours = chat::conversation(&state, &caller, &id).await.is_ok();
                                owned.insert(id.clone(), ours);
                                ours
                            }
                        };
                        if !ours {
                            continue;
                        }
                        let sse = SseEvent::default()
                            .event("conversation")
                            .json_data(
                                serde_json::json!({"conversation_id": id, "kind": event.kind}),
                            )
                            .unwrap_or_default();
                        return Some((Ok(sse), (receiver, state, caller, owned)));
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                }
            }
        },
    );
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// A conversation's live events as server-sent events, kept alive every 15 s (for the native
/// stream and the widget visitor's).
pub(crate) fn live(
    state: &AppState,
    id: &ConversationId,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let receiver = state.live.subscribe(id);
    let events = stream::unfold(receiver, |mut receiver| async move {
        loop {
            match receiver.recv().await {
                Ok(event) => {
                    let sse = SseEvent::default()
                        .event(event.kind)
                        .json_data(&event.data)
                        .unwrap_or_default();
                    return Some((Ok(sse), receiver));
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

/// One message with its delivery status.
#[utoipa::path(get, path = "/v1/messages/{id}", tag = "conversations",
    params(("id" = String, Path, description = "Message id (`msg_…`)")),
    responses((status = 200, body = Message), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn get_message(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Message>> {
    let id = MessageId::parse(&id)?;
    Ok(Json(conversations::message(&state, &caller, &id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetStatus {
    /// `SENT`, `DELIVERED`, `READ` or `NOT_SENT`.
    pub status: String,
}

fn status(value: &str) -> ApiResult<MessageStatus> {
    MessageStatus::parse(value).ok_or_else(|| {
        ApiError::invalid(format!(
            "status: `{value}` is not one of SENT, DELIVERED, READ, NOT_SENT"
        ))
    })
}

/// Sets the delivery status of a bot or agent message.
#[utoipa::path(put, path = "/v1/messages/{id}/status", tag = "conversations", request_body = SetStatus,
    params(("id" = String, Path, description = "Message id")),
    responses((status = 200, body = Message), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn set_status(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<SetStatus>,
) -> ApiResult<Json<Message>> {
    let id = MessageId::parse(&id)?;
    let mut updated =
        conversations::set_status(&state, &caller, &[id], status(&body.status)?).await?;
    Ok(Json(updated.remove(0)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetStatuses {
    pub message_ids: Vec<String>,
    pub status: String,
}

#[derive(Serialize, ToSchema)]
pub struct Updated {
    pub updated: usize,
    pub data: Vec<Message>,
}

/// Sets the delivery status of many messages at once, all or nothing (up to 500).
#[utoipa::path(post, path = "/v1/messages/statuses", tag = "conversations", request_body = SetStatuses,
    responses((status = 200, body = Updated), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn set_statuses(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<SetStatuses>,
) -> ApiResult<Json<Updated>> {
    if body.message_ids.is_empty() || body.message_ids.len() > 500 {
        return Err(ApiError::invalid("message_ids: give 1 to 500 message ids"));
    }
    let ids = body
        .message_ids
        .iter()
        .map(|m| MessageId::parse(m))
        .collect::<Result<Vec<_>, _>>()?;
    let data = conversations::set_status(&state, &caller, &ids, status(&body.status)?).await?;
    Ok(Json(Updated {
        updated: data.len(),
        data,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Feedback {
    /// `up` or `down`.
    pub thumb: Thumb,
    pub comment: Option<String>,
}

/// A visitor's thumbs up or down on a bot message, with an optional comment.
#[utoipa::path(post, path = "/v1/messages/{id}/feedback", tag = "conversations", request_body = Feedback,
    params(("id" = String, Path, description = "Message id")),
    responses((status = 200, body = Message), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn feedback(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<Feedback>,
) -> ApiResult<Json<Message>> {
    let id = MessageId::parse(&id)?;
    Ok(Json(
        conversations::feedback(&state, &caller, &id, body.thumb, body.comment.as_deref()).await?,
    ))
}
