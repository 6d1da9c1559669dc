//! Chatting with a bot.

use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use serde::{Deserialize, Serialize};
use sitechat_core::{
    model::{ConversationStatus, HandoffReason, Outcome, SourceRef},
    validate::{ChatText, ExternalId, ValidationError},
    BotId, ContactId, ConversationId, LeadId, MessageId,
};
use sitechat_store::ContactInput;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    auth::Caller,
    error::{ApiResult, ErrorBody},
    extract::{ApiJson, ApiPath},
    services::chat::{self, Reply, VisitorMessage},
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(send_message))
        .routes(routes!(search))
}

/// Who the visitor is.
#[derive(Debug, Deserialize, ToSchema, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct ContactBody {
    /// Your own key for the visitor (up to 128 characters), unique per bot.
    pub external_id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// Variables by scope: `{"system": {…}, "contact": {…}}`, merged into the contact's.
    #[schema(value_type = Option<Object>)]
    pub variables: Option<serde_json::Value>,
}

impl ContactBody {
    pub fn parse(self) -> Result<ContactInput, ValidationError> {
        let text = |field: &str, v: Option<String>| {
            v.map(|v| sitechat_core::validate::Label::parse(field, &v).map(|l| l.into_inner()))
                .transpose()
        };
        if let Some(vars) = &self.variables {
            if !vars.is_object() {
                return Err(ValidationError::new(
                    "contact.variables",
                    "must be an object of scopes, e.g. {\"contact\": {\"plan\": \"gold\"}}",
                ));
            }
        }
        Ok(ContactInput {
            external_id: ExternalId::parse("contact.external_id", &self.external_id)?.into_inner(),
            name: text("contact.name", self.name)?,
            email: text("contact.email", self.email)?,
            phone: text("contact.phone", self.phone)?,
            variables: self.variables,
        })
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatRequest {
    /// The visitor's message (1–4,000 characters).
    pub message: String,
    /// Continue this conversation; leave out to start a new one.
    pub conversation_id: Option<String>,
    /// Shorthand for `contact.external_id`: your own key for the visitor.
    pub contact_id: Option<String>,
    /// Who the visitor is (for a new conversation).
    pub contact: Option<ContactBody>,
    /// The channel of a new conversation: `api` (default), `widget`, `whatsapp`, …
    pub channel: Option<String>,
    /// Conversation-scoped variables of a new conversation: a JSON object.
    #[schema(value_type = Option<Object>)]
    pub variables: Option<serde_json::Value>,
    /// Answer with 202 as soon as the message is stored; the reply arrives as a `message.sent`
    /// event and on the conversation's live stream.
    #[serde(rename = "async", default)]
    pub run_async: bool,
    /// Answer as server-sent events: `delta` events (`{"text"}`) whose texts joined are the
    /// reply, then one `done` event with the whole response (as without `stream`), or `error`.
    #[serde(default)]
    pub stream: bool,
    /// Add `signals` to the response: what the reply's confidence was fitted from (for tuning
    /// and for the evaluation's calibration; `sitechat eval` asks for it).
    #[serde(default)]
    pub explain: bool,
}

impl ChatRequest {
    pub fn parse(self, bot: BotId) -> Result<VisitorMessage, crate::error::ApiError> {
        if self.variables.as_ref().is_some_and(|v| !v.is_object()) {
            return Err(ValidationError::new(
                "variables",
                "must be a JSON object, e.g. {\"order_id\": \"A-1042\"}",
            )
            .into());
        }
        let mut contact = self.contact.map(ContactBody::parse).transpose()?;
        if let Some(key) = self.contact_id {
            let key = ExternalId::parse("contact_id", &key)?.into_inner();
            contact
                .get_or_insert_with(ContactInput::default)
                .external_id = key;
        }
        Ok(VisitorMessage {
            bot,
            text: ChatText::parse("message", &self.message)?,
            conversation: self
                .conversation_id
                .as_deref()
                .map(ConversationId::parse)
                .transpose()?,
            contact,
            channel: channel(self.channel)?,
            variables: self.variables,
            connection: None,
        })
    }
}

/// A channel name: lower-case letters, digits, `_` and `-`.
pub fn channel(value: Option<String>) -> Result<String, ValidationError> {
    let value = value.unwrap_or_else(|| "api".to_owned());
    let ok = !value.is_empty()
        && value.len() <= 32
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(value)
    } else {
        Err(ValidationError::new(
            "channel",
            "must be a short lower-case name such as api, widget, whatsapp, instagram, messenger",
        ))
    }
}

#[derive(Serialize, ToSchema)]
pub struct ChatResponse {
    /// The bot's reply; `null` while a human owns the conversation (the bot stays silent).
    pub reply: Option<String>,
    pub conversation_id: ConversationId,
    /// The id of the bot's reply.
    pub message_id: Option<MessageId>,
    /// The id of the visitor's message.
    pub visitor_message_id: MessageId,
    pub contact_id: Option<ContactId>,
    /// How much of the question the reply covers, in [0, 1] (see the docs).
    pub confidence: Option<f64>,
    /// `answered`, `curated`, `fallback`, `smalltalk` or `handoff`.
    pub outcome: Option<Outcome>,
    pub sources: Vec<SourceRef>,
    /// Who owns the conversation now: `bot`, `waiting_for_agent`, `agent`.
    pub status: ConversationStatus,
    pub handoff_reason: Option<HandoffReason>,
    /// The lead this message's contact details created, if any.
    pub lead_id: Option<LeadId>,
    /// With `explain`: what the confidence was fitted from, when the reply was composed from
    /// the bot's passages (absent for intents, curated answers and replies a human owns).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signals: Option<sitechat_answer::Signals>,
    /// Quick replies offered with the reply. After a fallback: up to three topics near the
    /// question that the bot can answer about, then an offer of a person (sending a button's
    /// title asks for it).
    pub buttons: Vec<sitechat_core::model::Button>,
}

impl From<Reply> for ChatResponse {
    fn from(reply: Reply) -> Self {
        ChatResponse {
            reply: reply.message.as_ref().map(|m| m.text.clone()),
            conversation_id: reply.conversation.id,
            buttons: reply
                .message
                .as_ref()
                .map(|m| m.buttons.clone())
                .unwrap_or_default(),
            message_id: reply.message.map(|m| m.id),
            visitor_message_id: reply.visitor_message.id,
            contact_id: reply.conversation.contact_id,
            confidence: reply.confidence,
            outcome: reply.outcome,
            sources: reply.sources,
            status: reply.conversation.status,
            handoff_reason: reply.conversation.handoff_reason,
            lead_id: reply.lead.map(|l| l.id),
            signals: None,
        }
    }
}

impl ChatResponse {
    /// The response with its confidence signals when they were asked for.
    fn explained(reply: Reply, explain: bool) -> Self {
        let signals = reply.signals.filter(|_| explain);
        ChatResponse {
            signals,
            ..ChatResponse::from(reply)
        }
    }
}

/// One server-sent event of a streamed reply, as an SSE client reads it.
#[derive(ToSchema)]
#[allow(dead_code)] // documents the stream's events; they are written by the SSE encoder
pub struct ChatStreamEvent {
    /// `delta` (the next piece of the reply's text), then `done` (the whole reply) or `error`.
    event: String,
    /// JSON: `{"text": "…"}` for a `delta`, a ChatResponse for `done`, an error body for `error`.
    data: String,
}

/// Sends a visitor message to a bot and returns its reply, grounded in the bot's knowledge with
/// sources. Without `conversation_id` a new conversation starts; an unknown one is a 404 and an
/// ended one a 409. While a human owns the conversation the message is stored and the bot stays
/// silent. Both messages are stored before the response. A retried request with the same
/// `Idempotency-Key` header gets the first response back. With `"async": true` the answer is
/// 202 as soon as the message is stored, and the reply follows as an event.
#[utoipa::path(post, path = "/v1/bots/{id}/chat", tag = "chat", request_body = ChatRequest,
    params(("id" = String, Path, description = "Bot id (`bot_…`)"),
           ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried request return the first result")),
    responses((status = 200, description = "the reply; with `stream`: `text/event-stream` of `delta` events then `done` (a ChatResponse)",
               content((ChatResponse = "application/json"), (ChatStreamEvent = "text/event-stream"))),
              (status = 202, description = "async: stored, the reply follows as an event", body = ChatResponse),
              (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 429, description = "rate limit or monthly message quota reached", body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn send_message(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ChatRequest>,
) -> ApiResult<Response> {
    let (run_async, stream, explain) = (body.run_async, body.stream, body.explain);
    if run_async && stream {
        return Err(ValidationError::new("stream", "cannot be combined with async").into());
    }
    let input = body.parse(BotId::parse(&id)?)?;
    if run_async {
        let accepted = chat::send_async(&state, &caller, input).await?;
        return Ok((StatusCode::ACCEPTED, Json(ChatResponse::from(accepted))).into_response());
    }
    if stream {
        let events = chat::send_streaming(&state, &caller, input).await?;
        return Ok(stream_response(events, explain));
    }
    let reply = chat::send(&state, &caller, input).await?;
    Ok((
        StatusCode::OK,
        Json(ChatResponse::explained(reply, explain)),
    )
        .into_response())
}

/// A streamed reply as server-sent events.
pub(crate) fn stream_response(
    events: tokio::sync::mpsc::Receiver<chat::StreamEvent>,
    explain: bool,
) -> Response {
    use axum::response::sse::{Event, Sse};
    let stream = futures_util::stream::unfold(events, move |mut events| async move {
        let event = match events.recv().await? {
            chat::StreamEvent::Delta(text) => Event::default()
                .event("delta")
                .json_data(serde_json::json!({ "text": text })),
            chat::StreamEvent::Reset => Ok(Event::default().event("reset").data("{}")),
            chat::StreamEvent::Done(reply) => Event::default()
                .event("done")
                .json_data(ChatResponse::explained(*reply, explain)),
            chat::StreamEvent::Failed(e) => {
                tracing::error!(error = %e, "a streamed reply failed");
                Event::default()
                    .event("error")
                    .json_data(serde_json::json!({
                        "error": {"code": e.code(), "message": e.public_message()}
                    }))
            }
        };
        Some((event, events))
    });
    Sse::new(stream).into_response()
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchBody {
    /// The question, as a visitor would ask it.
    pub query: String,
    /// How many passages (1–50, default 5).
    pub k: Option<usize>,
}

/// A passage found for a query.
#[derive(Debug, Serialize, ToSchema)]
pub struct Passage {
    /// 1 for the best.
    pub rank: usize,
    pub chunk_id: sitechat_core::ChunkId,
    pub source_id: sitechat_core::SourceId,
    pub title: String,
    pub heading: String,
    /// The page, with the anchor of the passage's heading when there is one.
    pub url: Option<String>,
    pub snippet: String,
    /// The whole passage, as indexed: what answers are composed from.
    pub text: String,
    /// The retrieval score (higher is better; comparable only within one response).
    pub score: f32,
    /// Cosine similarity of the passage to the query (hybrid retrieval only).
    pub similarity: Option<f32>,
    /// A curated answer (a `qa` source): its heading is the question.
    pub curated: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResults {
    pub data: Vec<Passage>,
    /// How the passages were found: `bm25` (keywords) or `hybrid` (keywords and meaning).
    pub retrieval: &'static str,
}

/// The passages the bot would answer a question from, best first — to check what it knows and
/// why it answers as it does. Nothing is stored.
#[utoipa::path(post, path = "/v1/bots/{id}/search", tag = "chat", request_body = SearchBody,
    params(("id" = String, Path, description = "Bot id (`bot_…`)")),
    responses((status = 200, body = SearchResults), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn search(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<SearchBody>,
) -> ApiResult<Json<SearchResults>> {
    let bot = BotId::parse(&id)?;
    let query = ChatText::parse("query", &body.query)?;
    let k = body.k.unwrap_or(5);
    if !(1..=50).contains(&k) {
        return Err(
            ValidationError::new("k", format!("must be between 1 and 50 (got {k})")).into(),
        );
    }
    let hits = chat::search(&state, &caller, &bot, query, k).await?;
    let retrieval = if hits.iter().any(|h| h.similarity.is_some()) {
        "hybrid"
    } else {
        "bm25"
    };
    let data = hits
        .into_iter()
        .enumerate()
        .map(|(i, h)| {
            let cited = sitechat_answer::cite(&h);
            Passage {
                rank: i + 1,
                chunk_id: h.chunk_id,
                source_id: h.source_id,
                title: h.title,
                heading: h.heading,
                url: cited.url,
                snippet: cited.snippet,
                text: h.text,
                score: h.score,
                similarity: h.similarity,
                curated: h.curated,
            }
        })
        .collect();
    Ok(Json(SearchResults { data, retrieval }))
}
