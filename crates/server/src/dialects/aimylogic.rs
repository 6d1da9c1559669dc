//! Aimylogic's Chat API channel (`seeds/004`), at `/compat/aimylogic/chatapi`.
//!
//! The channel token in the path is the credential: each bot has one (`chat_api_token`, made
//! with the bot, shown once, stored hashed; `POST /v1/bots/{id}/chat-api-token` rotates it or
//! sets a token clients already use). An unknown token is a 404. Requests count against the
//! bot's account like keyed requests (plan hourly limit, monthly messages).
//!
//! Decisions where the document is vague:
//! - `clientId` is the contact's `external_id`; a request continues the client's open
//!   conversation with the bot or starts one (channel `chatapi`). `data`, an object, becomes the
//!   variables of a conversation it starts. `cid`, the connection id, is stored with the client's
//!   message.
//! - `questionId` is the id of the client's message (`msg_…`). A request with an `event` and no
//!   `query` stores nothing and is answered with the bot's greeting (`questionId` null).
//! - Synchronous `POST /{token}` answers with the document's payload: `data.replies` (text
//!   replies, and a `buttons` reply when the bot offers buttons), `data.answer`, `nlpClass` and
//!   `state` from the answer's outcome (`/answered`, `/curated`, `/CatchAll` for a fallback,
//!   `/smalltalk`, `/handoff`), `confidence`, `newSessionStarted`, `endSession`, plus `sources`.
//!   When a human owns the conversation, `replies` is empty: the agent's answer comes as an
//!   event. `GET /{token}?clientId&query&event` is the simplified form: `clientId`, `query`,
//!   `event`, `questionId`, `answer`, `timestamp`.
//! - `POST /{token}/async` stores the message and returns `{"questionId"}` at once; the reply is
//!   composed by a durable job and shows up in `/events`. The channel's "webhook for
//!   asynchronous requests" is a webhook with `format: "aimylogic"` (`POST /v1/webhooks`,
//!   `bot_id` for one channel): it gets the document's array of `{token, clientId, questionId,
//!   data{nlpClass, confidence, replies, answer, newSessionStarted, debugData, endSession},
//!   timestamp, blockForm}` for the bot's reply to each asynchronous request (`questionId` is the
//!   one `/async` returned) and for each agent's reply, rendered by `sitechat_core::payloads`.
//!   Replies to synchronous requests were in their response and are not sent again. `token` is
//!   the token's visible prefix (the token itself is stored hashed and never written out).
//! - `GET /{token}/events?clientId&ts&cid&all`: `clientId` is required. `ts` (ISO time, taken as
//!   UTC without a zone, or Unix milliseconds) is inclusive; without it, events since the
//!   client's last request. By default only agents' replies; with `all=true` also the client's
//!   requests and the bot's replies, leaving out those of connection `cid` (the connection asking
//!   already has them; agents' replies are always included). At most 250 events, oldest first,
//!   with `nextTs` to poll from: the instant just after the last event, written like the
//!   document's times but to the microsecond (`2022-09-28T12:32:13.262001`).
//! - `GET /{token}/client/{clientId}/history?from&to&limit&offset`: the client's messages, oldest
//!   first (limit 1–1000, default 100); each has its own `id` and the `questionId` it belongs to.
//! - State: `GET|POST /{token}/client/{clientId}/state` save and load the body byte for byte as
//!   it was sent (key order and spacing included). The document says "its contents are not
//!   checked", so any well-formed JSON value is kept, not only an object; the body must still be
//!   JSON (`Content-Type: application/json`, well-formed), since `GET` answers with it as JSON.
//!   Before anything was saved, `GET` returns `{}`.
//! - Statuses: `questionId` in the status paths is any message id from the history. For a
//!   client's message, the status is that of the bot's and agents' replies to it (the least
//!   advanced of them, `NOT_SENT` < `SENT` < `DELIVERED` < `READ`), and an update applies to
//!   all of them; for a reply, its own. A question the bot has not answered yet has no status
//!   (404). The bulk update checks every id before changing any.
//! - `GET /{token}/client/{clientId}/message-not-read-count` → `{"count"}`.
//! - Unknown query parameters (a browser client's cache-buster `_=…`) are ignored everywhere.
//! - Times are written as the document shows them, UTC without a zone:
//!   `2022-09-28T12:32:13.262`. Errors are `{"timestamp", "status", "error", "code",
//!   "message"}` with the native status code.

use std::collections::HashMap;

use axum::{
    extract::{Path, Request, State},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    Extension, Json, Router,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sitechat_core::{
    model::{Bot, Message, MessageStatus, Role, SourceRef},
    now,
    payloads::aimylogic::{nlp_class, timestamp},
    validate::{ChatText, ExternalId},
    MessageId,
};
use sitechat_store::{ClientMessage, ClientWindow, ContactInput};
use time::OffsetDateTime;
use utoipa::{IntoParams, OpenApi, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::Document;
use crate::{
    auth::{self, Caller},
    error::{ApiError, ApiResult},
    extract::{ApiJson, ApiPath, ApiQuery, RawJson},
    routes::docs::Credential,
    routes::json_text,
    services::{
        chat::{self, Reply, VisitorMessage},
        conversations,
    },
    state::AppState,
};

/// At most this many events per `/events` response, as the document says.
const MAX_EVENTS: usize = 250;

/// Where the dialect is mounted: the seed's `/chatapi`.
pub const BASE: &str = "/compat/aimylogic/chatapi";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Aimylogic Chat API (sitechat dialect)",
        description = "Aimylogic's Chat API channel, spoken by sitechat: a client written for it \
            works by changing its base URL to this server's `/compat/aimylogic/chatapi`. The \
            channel token in the path is the credential (each bot has one: \
            `POST /v1/bots/{id}/chat-api-token`); an unknown token is a 404. Synchronous and \
            asynchronous client requests, the events feed, the client's history, the chat \
            application's state and message statuses. Asynchronous replies reach a webhook with \
            `format: \"aimylogic\"`. Errors are \
            `{\"timestamp\", \"status\", \"error\", \"code\", \"message\"}`."
    ),
    components(schemas(AimylogicError))
)]
struct Doc;

/// The dialect's routes and their document, both from the handlers' annotations.
pub fn router(state: AppState) -> (Router, Document) {
    let (router, spec) = OpenApiRouter::with_openapi(Doc::openapi())
        .routes(routes!(request, simple_request))
        .routes(routes!(async_request))
        .routes(routes!(events))
        .routes(routes!(history))
        .routes(routes!(load_state, save_state))
        .routes(routes!(status, set_status))
        .routes(routes!(set_statuses))
        .routes(routes!(not_read_count))
        .split_for_parts();
    let router = router
        .route_layer(middleware::from_fn_with_state(state.clone(), channel))
        .fallback(super::unknown_route)
        .method_not_allowed_fallback(super::method_not_allowed)
        .layer(middleware::map_response(errors))
        .with_state(state);
    (
        router,
        Document::new(
            "aimylogic",
            BASE,
            spec,
            Credential::Channel,
            "AimylogicError",
        ),
    )
}

/// Aimylogic's error body (Spring's, as the service's own server answers).
#[derive(Serialize, ToSchema)]
struct AimylogicError {
    /// UTC, as `2022-09-28T12:32:13.262`.
    timestamp: String,
    /// The HTTP status.
    status: u16,
    /// The status's reason phrase.
    error: String,
    /// sitechat's stable code (`INVALID_REQUEST`, `RESOURCE_NOT_FOUND`, …).
    code: String,
    /// What went wrong and how to fix it.
    message: String,
}

async fn errors(response: Response) -> Response {
    match super::native_error(response).await {
        Ok(e) => {
            let body = AimylogicError {
                timestamp: timestamp(now()),
                status: e.status.as_u16(),
                error: e.status.canonical_reason().unwrap_or("Error").to_owned(),
                code: e.code.clone(),
                message: e.message.clone(),
            };
            e.render(body)
        }
        Err(response) => response,
    }
}

/// The bot a channel token opens.
#[derive(Clone)]
struct Channel {
    bot: Bot,
    token: String,
}

/// Finds the bot by the token in the path and counts the request against its account.
async fn channel(
    State(state): State<AppState>,
    Path(params): Path<HashMap<String, String>>,
    mut request: Request,
    next: Next,
) -> Response {
    let token = params.get("token").cloned().unwrap_or_default();
    let (account, bot) = match state
        .store
        .bot_by_chat_api_token(&auth::hash_key(&token))
        .await
    {
        Ok(found) => found,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let caller = Caller::channel(account);
    let rate = match auth::count_request(&state, &caller) {
        Ok(rate) => rate,
        Err(refused) => return refused,
    };
    request.extensions_mut().insert(caller);
    request.extensions_mut().insert(Channel { bot, token });
    let mut response = next.run(request).await;
    if let Some(rate) = rate {
        auth::rate_headers(response.headers_mut(), &rate);
    }
    response
}

/// Reads a time given as the document writes it (UTC), as RFC 3339, or as Unix milliseconds.
fn parse_time(field: &str, value: &str) -> ApiResult<OffsetDateTime> {
    let value = value.trim();
    if let Ok(ms) = value.parse::<i64>() {
        return OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
            .map_err(|_| ApiError::invalid(format!("{field}: {value} is out of range")));
    }
    if let Ok(t) = OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339) {
        return Ok(t);
    }
    let local = time::macros::format_description!(
        version = 2,
        "[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]"
    );
    time::PrimitiveDateTime::parse(value, local)
        .map(time::PrimitiveDateTime::assume_utc)
        .map_err(|_| {
            ApiError::invalid(format!(
                "{field}: `{value}` is not a time such as 2022-09-28T12:32:13.262 (UTC) or Unix milliseconds"
            ))
        })
}

fn client_id(value: &str) -> ApiResult<String> {
    Ok(ExternalId::parse("clientId", value)?.into_inner())
}

/// A client's request, as the body of `POST /{token}` and `/async` or the query of `GET /{token}`:
/// `query` or `event` is required.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ClientRequest {
    /// The client: the contact's `external_id`.
    #[schema(example = "test")]
    client_id: String,
    /// The client's message.
    #[schema(example = "Hello")]
    query: Option<String>,
    /// An event; without `query`, answered with the bot's greeting and stored nowhere.
    event: Option<String>,
    /// Variables of a conversation the request starts.
    #[schema(value_type = Option<Object>)]
    data: Option<Value>,
    /// The connection id, stored with the client's message (at most 200 characters).
    cid: Option<String>,
}

impl ClientRequest {
    /// The visitor message the request carries; `None` for an event alone.
    async fn message(
        &self,
        state: &AppState,
        caller: &Caller,
        bot: &Bot,
    ) -> ApiResult<Option<VisitorMessage>> {
        let client = client_id(&self.client_id)?;
        let query = self
            .query
            .as_deref()
            .filter(|q| !q.trim().is_empty() || self.event.is_none());
        let Some(query) = query else {
            if self.event.as_deref().is_none_or(|e| e.trim().is_empty()) {
                return Err(ApiError::invalid("query or event is required"));
            }
            return Ok(None);
        };
        let text = ChatText::parse("query", query)?;
        let mut input =
            chat::client_message(state, caller, &bot.id, &client, text, "chatapi").await?;
        if let Some(data) = &self.data {
            if !data.is_object() {
                return Err(ApiError::invalid("data must be a JSON object"));
            }
            if input.conversation.is_none() {
                input.variables = Some(data.clone());
            }
        }
        if let Some(cid) = &self.cid {
            if cid.len() > 200 {
                return Err(ApiError::invalid("cid must be at most 200 characters long"));
            }
            input.connection = Some(cid.clone());
        }
        Ok(Some(input))
    }
}

/// A bot or agent message as the document's `replies` (the webhook's are the same).
fn replies(message: &Message) -> Vec<Value> {
    sitechat_core::payloads::aimylogic::replies(&message.text, message.outcome, &message.buttons)
}

/// One of the bot's `replies`: a text, or the buttons it offers.
#[derive(ToSchema)]
#[allow(dead_code)] // built as JSON by `sitechat_core::payloads`; this type documents its shape
struct BotReply {
    /// `text` or `buttons`.
    r#type: String,
    /// The text (`text` replies).
    text: Option<String>,
    /// The buttons (`buttons` replies): each `{text, payload}`.
    #[schema(value_type = Option<Vec<Object>>)]
    buttons: Option<Vec<Value>>,
    /// The answer's state, as `nlpClass`.
    state: String,
}

/// The answer to a synchronous request: the webhook's payload, answered at once.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct SyncReply {
    /// The channel token.
    token: String,
    client_id: String,
    /// The client's message (`msg_…`); null for an event alone.
    question_id: Option<MessageId>,
    cid: Option<String>,
    data: SyncData,
    /// UTC, as `2022-09-28T12:32:13.262`.
    timestamp: String,
    /// Always false.
    block_form: bool,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct SyncData {
    /// The answer's outcome: `/answered`, `/curated`, `/CatchAll` (the fallback), `/smalltalk`,
    /// `/handoff`, or `/start` for an event.
    nlp_class: &'static str,
    confidence: f64,
    /// Empty while a human owns the conversation (the agent's answer comes as an event).
    #[schema(value_type = Vec<BotReply>)]
    replies: Vec<Value>,
    answer: String,
    new_session_started: bool,
    /// Always empty.
    #[schema(value_type = Vec<Object>)]
    debug_data: Vec<Value>,
    end_session: bool,
    /// Where the answer came from (beside the documented fields).
    sources: Vec<SourceRef>,
}

/// `POST /{token}`: a client request, answered synchronously with the document's payload.
#[utoipa::path(post, path = "/{token}", params(("token" = String, Path, description = "The channel token (the credential)")), request_body = ClientRequest,
    responses((status = 200, body = SyncReply)))]
async fn request(
    State(state): State<AppState>,
    caller: Caller,
    Extension(channel): Extension<Channel>,
    ApiJson(body): ApiJson<ClientRequest>,
) -> ApiResult<Json<SyncReply>> {
    let (reply, greeting) = answer(&state, &caller, &channel.bot, &body).await?;
    let (replies, answer, question) = match &reply {
        Some(r) => (
            r.message.as_ref().map(replies).unwrap_or_default(),
            r.message.as_ref().map_or("", |m| m.text.as_str()),
            Some(&r.visitor_message.id),
        ),
        None => (
            vec![json!({"type": "text", "text": greeting, "state": "/start"})],
            greeting.as_str(),
            None,
        ),
    };
    let outcome = reply.as_ref().and_then(|r| r.outcome);
    Ok(Json(SyncReply {
        token: channel.token,
        client_id: body.client_id.clone(),
        question_id: question.cloned(),
        cid: body.cid.clone(),
        data: SyncData {
            nlp_class: if reply.is_some() {
                nlp_class(outcome)
            } else {
                "/start"
            },
            confidence: reply.as_ref().and_then(|r| r.confidence).unwrap_or(0.0),
            replies,
            answer: answer.to_owned(),
            new_session_started: reply.as_ref().is_some_and(|r| r.started),
            debug_data: Vec::new(),
            end_session: reply.as_ref().is_some_and(|r| {
                r.conversation.status == sitechat_core::model::ConversationStatus::Ended
            }),
            sources: reply
                .as_ref()
                .map(|r| r.sources.clone())
                .unwrap_or_default(),
        },
        timestamp: timestamp(
            reply
                .as_ref()
                .map_or_else(now, |r| r.visitor_message.created_at),
        ),
        block_form: false,
    }))
}

/// Sends the request's message (if any) and returns the reply, or the greeting for an event.
async fn answer(
    state: &AppState,
    caller: &Caller,
    bot: &Bot,
    body: &ClientRequest,
) -> ApiResult<(Option<Reply>, String)> {
    match body.message(state, caller, bot).await? {
        Some(input) => Ok((Some(chat::send(state, caller, input).await?), String::new())),
        None => Ok((None, bot.settings.greeting.clone())),
    }
}

/// The answer to a simplified request.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct SimpleReply {
    client_id: String,
    query: Option<String>,
    event: Option<String>,
    /// The client's message (`msg_…`); null for an event alone.
    question_id: Option<MessageId>,
    /// The bot's answer (the greeting for an event); `""` while a human owns the conversation.
    answer: String,
    /// UTC, as `2022-09-28T12:32:13.262`.
    timestamp: String,
}

/// `GET /{token}?clientId&query&event`: the simplified synchronous request.
#[utoipa::path(get, path = "/{token}", params(("token" = String, Path, description = "The channel token (the credential)"),
        ("clientId" = String, Query, description = "The client: the contact's `external_id`"),
        ("query" = Option<String>, Query, description = "The client's message"),
        ("event" = Option<String>, Query, description = "An event, answered with the greeting"),
        ("cid" = Option<String>, Query, description = "The connection id")),
    responses((status = 200, body = SimpleReply)))]
async fn simple_request(
    State(state): State<AppState>,
    caller: Caller,
    Extension(channel): Extension<Channel>,
    ApiQuery(body): ApiQuery<ClientRequest>,
) -> ApiResult<Json<SimpleReply>> {
    let (reply, greeting) = answer(&state, &caller, &channel.bot, &body).await?;
    Ok(Json(SimpleReply {
        question_id: reply.as_ref().map(|r| r.visitor_message.id.clone()),
        answer: match reply {
            Some(r) => r.message.map(|m| m.text).unwrap_or_default(),
            None => greeting,
        },
        client_id: body.client_id,
        query: body.query,
        event: body.event,
        timestamp: timestamp(now()),
    }))
}

/// An asynchronous request accepted.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Accepted {
    /// The client's message (`msg_…`), as the webhook names the reply; null for an event alone.
    question_id: Option<MessageId>,
    client_id: String,
}

/// `POST /{token}/async`: stores the request and returns its id; the reply goes to webhooks.
#[utoipa::path(post, path = "/{token}/async", params(("token" = String, Path, description = "The channel token (the credential)")), request_body = ClientRequest,
    responses((status = 200, body = Accepted)))]
async fn async_request(
    State(state): State<AppState>,
    caller: Caller,
    Extension(channel): Extension<Channel>,
    ApiJson(body): ApiJson<ClientRequest>,
) -> ApiResult<Json<Accepted>> {
    let question = match body.message(&state, &caller, &channel.bot).await? {
        Some(input) => Some(
            chat::send_async(&state, &caller, input)
                .await?
                .visitor_message
                .id,
        ),
        None => None,
    };
    Ok(Json(Accepted {
        question_id: question,
        client_id: body.client_id,
    }))
}

/// Something that happened in a client's chat.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Event {
    /// `clientRequest`, `botResponse`, `agentResponse` or `systemMessage`.
    r#type: &'static str,
    client_id: String,
    /// The message (`msg_…`).
    id: MessageId,
    /// The client's message it is (or answers).
    question_id: Option<MessageId>,
    /// The connection of that client's message.
    cid: Option<String>,
    /// UTC, as `2022-09-28T12:32:13.262`.
    timestamp: String,
    #[schema(value_type = EventData)]
    data: Value,
}

/// An event's data: `query` for a client request, `replies` and `answer` for a response (and
/// `agent` for an agent's), `text` for a system message.
#[derive(ToSchema)]
#[allow(dead_code)] // built as JSON by `event`; this type documents its shape
struct EventData {
    query: Option<String>,
    replies: Option<Vec<BotReply>>,
    answer: Option<String>,
    agent: Option<String>,
    text: Option<String>,
}

fn event(client: &str, m: &ClientMessage) -> Event {
    let (kind, data) = match m.message.role {
        Role::Visitor => ("clientRequest", json!({"query": m.message.text})),
        Role::Bot => (
            "botResponse",
            json!({"replies": replies(&m.message), "answer": m.message.text}),
        ),
        Role::Agent => (
            "agentResponse",
            json!({"replies": replies(&m.message), "answer": m.message.text, "agent": m.message.author}),
        ),
        Role::System => ("systemMessage", json!({"text": m.message.text})),
    };
    Event {
        r#type: kind,
        client_id: client.to_owned(),
        id: m.message.id.clone(),
        question_id: m.question_id.clone(),
        cid: m.connection.clone(),
        timestamp: timestamp(m.message.created_at),
        data,
    }
}

/// Unknown query parameters (a cache-buster `_=…`) are ignored, as in every query here.
#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
struct EventsQuery {
    /// The client (required).
    client_id: Option<String>,
    /// Events from this time on (inclusive): UTC as `2022-09-28T12:32:13.262`, RFC 3339 or Unix
    /// milliseconds. Default: since the client's last request.
    ts: Option<String>,
    /// With `all`, leave out this connection's requests and bot replies.
    cid: Option<String>,
    /// Also the client's requests and the bot's replies (default: agents' replies only).
    all: Option<bool>,
}

/// The events feed.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Events {
    client_id: String,
    /// At most 250, oldest first.
    events: Vec<Event>,
    /// The time to poll from next: just after the last event, to the microsecond.
    #[schema(example = "2022-09-28T12:32:13.262001")]
    next_ts: String,
}

/// `GET /{token}/events`: what happened in the client's chat since a time.
#[utoipa::path(get, path = "/{token}/events", params(("token" = String, Path, description = "The channel token (the credential)"), EventsQuery),
    responses((status = 200, body = Events)))]
async fn events(
    State(state): State<AppState>,
    caller: Caller,
    Extension(channel): Extension<Channel>,
    ApiQuery(q): ApiQuery<EventsQuery>,
) -> ApiResult<Json<Events>> {
    let client = client_id(
        q.client_id
            .as_deref()
            .ok_or_else(|| ApiError::invalid("clientId is required"))?,
    )?;
    let account = &caller.account.id;
    let from = match q.ts.as_deref().filter(|t| !t.trim().is_empty()) {
        Some(ts) => Some(parse_time("ts", ts)?),
        None => {
            state
                .store
                .last_client_request_at(account, &channel.bot.id, &client)
                .await?
        }
    };
    let all = q.all.unwrap_or(false);
    let window = ClientWindow {
        from,
        to: None,
        limit: 1000,
        offset: 0,
    };
    let messages = state
        .store
        .client_messages(account, &channel.bot.id, &client, &window)
        .await?;
    let picked: Vec<&ClientMessage> = messages
        .iter()
        .filter(|m| match m.message.role {
            Role::Agent => true,
            _ if !all => false,
            _ => q.cid.is_none() || m.connection != q.cid,
        })
        .take(MAX_EVENTS)
        .collect();
    // The instant after the last event, to the microsecond (RFC 3339), so that polling from it
    // gives only what is new.
    let next = picked
        .last()
        .map(|m| m.message.created_at + time::Duration::microseconds(1))
        .or(from)
        .unwrap_or_else(now);
    let events = picked.iter().map(|m| event(&client, m)).collect();
    Ok(Json(Events {
        client_id: client,
        events,
        next_ts: super::utc(
            next,
            time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]"
            ),
        ),
    }))
}

/// Unknown query parameters are ignored.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct HistoryQuery {
    /// From this time (as `ts` of `/events`).
    from: Option<String>,
    /// Up to this time.
    to: Option<String>,
    /// 1 to 1000 (default 100).
    limit: Option<u32>,
    offset: Option<u32>,
}

/// A client's messages.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct History {
    client_id: String,
    /// Oldest first.
    messages: Vec<HistoryMessage>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct HistoryMessage {
    /// The message (`msg_…`).
    id: MessageId,
    /// The client's message it is (or answers).
    question_id: Option<MessageId>,
    /// `client`, `bot`, `agent` or `system`.
    r#type: &'static str,
    text: String,
    /// The agent who wrote it.
    agent: Option<String>,
    /// A bot's or agent's message's delivery status.
    status: Option<MessageStatus>,
    cid: Option<String>,
    sources: Vec<SourceRef>,
    /// UTC, as `2022-09-28T12:32:13.262`.
    timestamp: String,
}

/// `GET /{token}/client/{clientId}/history`: the client's messages in a time span.
#[utoipa::path(get, path = "/{token}/client/{clientId}/history", params(("token" = String, Path, description = "The channel token (the credential)"), ("clientId" = String, Path, description = "The client: the contact's `external_id`"), HistoryQuery),
    responses((status = 200, body = History)))]
async fn history(
    State(state): State<AppState>,
    caller: Caller,
    Extension(channel): Extension<Channel>,
    ApiPath(path): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> ApiResult<Json<History>> {
    let (_, client) = path;
    let client = client_id(&client)?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid(format!(
            "limit must be between 1 and 1000 (got {limit})"
        )));
    }
    let window = ClientWindow {
        from: q
            .from
            .as_deref()
            .map(|t| parse_time("from", t))
            .transpose()?,
        to: q.to.as_deref().map(|t| parse_time("to", t)).transpose()?,
        limit,
        offset: q.offset.unwrap_or(0),
    };
    if let (Some(from), Some(to)) = (window.from, window.to) {
        if from > to {
            return Err(ApiError::invalid("from must not be after to"));
        }
    }
    let messages = state
        .store
        .client_messages(&caller.account.id, &channel.bot.id, &client, &window)
        .await?;
    let messages = messages
        .into_iter()
        .map(|m| HistoryMessage {
            r#type: match m.message.role {
                Role::Visitor => "client",
                Role::Bot => "bot",
                Role::Agent => "agent",
                Role::System => "system",
            },
            timestamp: timestamp(m.message.created_at),
            id: m.message.id,
            question_id: m.question_id,
            text: m.message.text,
            agent: m.message.author,
            status: m.message.status,
            cid: m.connection,
            sources: m.message.sources,
        })
        .collect();
    Ok(Json(History {
        client_id: client,
        messages,
    }))
}

/// The bot's contact for a client, if the client has written or saved anything yet.
async fn contact(
    state: &AppState,
    caller: &Caller,
    channel: &Channel,
    client: &str,
) -> ApiResult<Option<sitechat_core::model::Contact>> {
    Ok(state
        .store
        .contact_by_external_id(&caller.account.id, &channel.bot.id, client)
        .await?)
}

/// `GET /{token}/client/{clientId}/state`: the saved state, byte for byte as it was sent (`{}`
/// before any).
#[utoipa::path(get, path = "/{token}/client/{clientId}/state", params(("token" = String, Path, description = "The channel token (the credential)"), ("clientId" = String, Path, description = "The client: the contact's `external_id`")),
    responses((status = 200, description = "The saved JSON document, as it was sent",
        body = serde_json::Value)))]
async fn load_state(
    State(state): State<AppState>,
    caller: Caller,
    Extension(channel): Extension<Channel>,
    ApiPath(path): ApiPath<(String, String)>,
) -> ApiResult<Response> {
    let (_, client) = path;
    let client = client_id(&client)?;
    let saved = match contact(&state, &caller, &channel, &client).await? {
        Some(c) => conversations::load_state(&state, &caller, &c.id).await?,
        None => None,
    };
    Ok(json_text(saved.unwrap_or_else(|| "{}".to_owned())))
}

/// `POST /{token}/client/{clientId}/state`: saves the request body as the client's state. The
/// document says "its contents are not checked": any well-formed JSON value is kept, as the
/// client's own text (key order, spacing and number spelling included), and echoed back.
#[utoipa::path(post, path = "/{token}/client/{clientId}/state", params(("token" = String, Path, description = "The channel token (the credential)"), ("clientId" = String, Path, description = "The client: the contact's `external_id`")),
    request_body(content = serde_json::Value, description = "Any JSON document; its contents are not checked"),
    responses((status = 200, description = "The document saved, as it was sent",
        body = serde_json::Value)))]
async fn save_state(
    State(state): State<AppState>,
    caller: Caller,
    Extension(channel): Extension<Channel>,
    ApiPath(path): ApiPath<(String, String)>,
    RawJson(document): RawJson,
) -> ApiResult<Response> {
    let (_, client) = path;
    let client = client_id(&client)?;
    let contact = conversations::save_contact(
        &state,
        &caller,
        &channel.bot.id,
        ContactInput {
            external_id: client,
            ..ContactInput::default()
        },
    )
    .await?;
    conversations::save_state(&state, &caller, &contact.id, &document).await?;
    Ok(json_text(document))
}

/// The messages whose status a `questionId` stands for: a client message's replies, or a reply.
async fn status_targets(
    state: &AppState,
    caller: &Caller,
    bot: &Bot,
    client: &str,
    question: &str,
) -> ApiResult<Vec<Message>> {
    let id = MessageId::parse(question.trim())
        .map_err(|_| ApiError::not_found(format!("message {question} of this client")))?;
    let found = state
        .store
        .client_message(&caller.account.id, &bot.id, client, &id)
        .await
        .map_err(|_| ApiError::not_found(format!("message {question} of this client")))?;
    if found.message.role == Role::Visitor {
        let answers = state.store.answers_to(&found.message).await?;
        if answers.is_empty() {
            return Err(ApiError::not_found(format!(
                "reply to {question} (the bot has not answered it yet)"
            )));
        }
        return Ok(answers);
    }
    if found.message.role == Role::System {
        return Err(ApiError::invalid(format!(
            "{question} is a system note; statuses are kept for the bot's and agents' messages"
        )));
    }
    Ok(vec![found.message])
}

fn rank(status: Option<MessageStatus>) -> u8 {
    match status.unwrap_or(MessageStatus::Sent) {
        MessageStatus::NotSent => 0,
        MessageStatus::Sent => 1,
        MessageStatus::Delivered => 2,
        MessageStatus::Read => 3,
    }
}

/// The least advanced status of messages.
fn overall(messages: &[Message]) -> MessageStatus {
    messages
        .iter()
        .map(|m| m.status.unwrap_or(MessageStatus::Sent))
        .min_by_key(|s| rank(Some(*s)))
        .unwrap_or(MessageStatus::Sent)
}

fn parse_status(field: &str, value: &str) -> ApiResult<MessageStatus> {
    MessageStatus::parse(value.trim()).ok_or_else(|| {
        ApiError::invalid(format!(
            "{field} must be SENT, DELIVERED, READ or NOT_SENT (got `{value}`)"
        ))
    })
}

/// A message's status.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct QuestionStatus {
    question_id: String,
    /// For a client's message, the least advanced status of its replies.
    status: MessageStatus,
}

/// `GET /{token}/client/{clientId}/message/{questionId}/status`: a message's delivery status.
#[utoipa::path(get, path = "/{token}/client/{clientId}/message/{questionId}/status",
    params(("token" = String, Path, description = "The channel token (the credential)"), ("clientId" = String, Path, description = "The client: the contact's `external_id`"), ("questionId" = String, Path, description = "A message id from the history (`msg_…`)")), responses((status = 200, body = QuestionStatus)))]
async fn status(
    State(state): State<AppState>,
    caller: Caller,
    Extension(channel): Extension<Channel>,
    ApiPath(path): ApiPath<(String, String, String)>,
) -> ApiResult<Json<QuestionStatus>> {
    let (_, client, question) = path;
    let client = client_id(&client)?;
    let targets = status_targets(&state, &caller, &channel.bot, &client, &question).await?;
    Ok(Json(QuestionStatus {
        question_id: question,
        status: overall(&targets),
    }))
}

/// A new status.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SetStatus)]
struct StatusBody {
    /// `SENT`, `DELIVERED`, `READ` or `NOT_SENT`.
    #[schema(example = "READ")]
    status: String,
}

/// `POST /{token}/client/{clientId}/message/{questionId}/status`: sets a message's status.
#[utoipa::path(post, path = "/{token}/client/{clientId}/message/{questionId}/status",
    params(("token" = String, Path, description = "The channel token (the credential)"), ("clientId" = String, Path, description = "The client: the contact's `external_id`"), ("questionId" = String, Path, description = "A message id from the history (`msg_…`)")), request_body = StatusBody,
    responses((status = 200, body = QuestionStatus)))]
async fn set_status(
    State(state): State<AppState>,
    caller: Caller,
    Extension(channel): Extension<Channel>,
    ApiPath(path): ApiPath<(String, String, String)>,
    ApiJson(body): ApiJson<StatusBody>,
) -> ApiResult<Json<QuestionStatus>> {
    let (_, client, question) = path;
    let client = client_id(&client)?;
    let status = parse_status("status", &body.status)?;
    let targets = status_targets(&state, &caller, &channel.bot, &client, &question).await?;
    let ids: Vec<MessageId> = targets.into_iter().map(|m| m.id).collect();
    let updated = conversations::set_status(&state, &caller, &ids, status).await?;
    Ok(Json(QuestionStatus {
        question_id: question,
        status: overall(&updated),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = SetStatusItem)]
struct StatusItem {
    question_id: String,
    /// `SENT`, `DELIVERED`, `READ` or `NOT_SENT`.
    status: String,
}

/// New statuses of several messages (1 to 500).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SetStatuses)]
struct StatusesBody {
    statuses: Vec<StatusItem>,
}

/// The statuses after the update.
#[derive(Serialize, ToSchema)]
struct Statuses {
    statuses: Vec<QuestionStatus>,
}

/// `POST /{token}/client/{clientId}/message-statuses`: several statuses, checked before any is
/// changed.
#[utoipa::path(post, path = "/{token}/client/{clientId}/message-statuses",
    params(("token" = String, Path, description = "The channel token (the credential)"), ("clientId" = String, Path, description = "The client: the contact's `external_id`")), request_body = StatusesBody,
    responses((status = 200, body = Statuses)))]
async fn set_statuses(
    State(state): State<AppState>,
    caller: Caller,
    Extension(channel): Extension<Channel>,
    ApiPath(path): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<StatusesBody>,
) -> ApiResult<Json<Statuses>> {
    let (_, client) = path;
    let client = client_id(&client)?;
    if body.statuses.is_empty() || body.statuses.len() > 500 {
        return Err(ApiError::invalid("statuses must hold 1 to 500 items"));
    }
    let mut planned: Vec<(String, MessageStatus, Vec<MessageId>)> = Vec::new();
    for (i, item) in body.statuses.iter().enumerate() {
        let status = parse_status(&format!("statuses[{i}].status"), &item.status)?;
        let targets =
            status_targets(&state, &caller, &channel.bot, &client, &item.question_id).await?;
        planned.push((
            item.question_id.clone(),
            status,
            targets.into_iter().map(|m| m.id).collect(),
        ));
    }
    let mut results = Vec::with_capacity(planned.len());
    for (question, status, ids) in planned {
        let updated = conversations::set_status(&state, &caller, &ids, status).await?;
        results.push(QuestionStatus {
            question_id: question,
            status: overall(&updated),
        });
    }
    Ok(Json(Statuses { statuses: results }))
}

/// How many of the bot's and agents' messages the client has not read.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct NotReadCount {
    client_id: String,
    count: i64,
}

/// `GET /{token}/client/{clientId}/message-not-read-count`: how many replies the client has
/// not read.
#[utoipa::path(get, path = "/{token}/client/{clientId}/message-not-read-count",
    params(("token" = String, Path, description = "The channel token (the credential)"), ("clientId" = String, Path, description = "The client: the contact's `external_id`")), responses((status = 200, body = NotReadCount)))]
async fn not_read_count(
    State(state): State<AppState>,
    caller: Caller,
    Extension(channel): Extension<Channel>,
    ApiPath(path): ApiPath<(String, String)>,
) -> ApiResult<Json<NotReadCount>> {
    let (_, client) = path;
    let client = client_id(&client)?;
    let count = match contact(&state, &caller, &channel, &client).await? {
        Some(c) => conversations::unread(&state, &caller, &c.id).await?,
        None => 0,
    };
    Ok(Json(NotReadCount {
        client_id: client,
        count,
    }))
}
