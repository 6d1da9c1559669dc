//! The public visitor API: what a website's chat widget calls, with no key (see
//! [`crate::visitor`] for what protects it). A visitor starts a conversation with a bot whose
//! owner made its widget public and gets a visitor token; the token opens that conversation
//! only: send messages (streamed if asked), read it, follow it live, rate it, give feedback on
//! a reply, leave contact details, ask for a person, say they are typing.

use std::convert::Infallible;

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{sse::Event as SseEvent, IntoResponse, Response, Sse},
    Json,
};
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use sitechat_core::{
    model::{
        Branding, Conversation, ConversationStatus, HandoffAction, HandoffReason, Message, Role,
    },
    validate::{ChatText, ExternalId},
    ConversationId, LeadId, MessageId,
};
use sitechat_store::PageRequest;
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    chat::{stream_response, ChatResponse},
    conversations::{live, Feedback, Rating},
};
use crate::{
    auth,
    error::{ApiError, ApiResult, ErrorBody},
    extract::{ApiJson, ApiPath, MaybeJson},
    services::{
        chat::{self, VisitorMessage},
        conversations,
    },
    state::AppState,
    visitor::{public_bot, verify_identity, Token, Visitor},
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(public_bot_info))
        .routes(routes!(start))
        .routes(routes!(get_conversation))
        .routes(routes!(send))
        .routes(routes!(stream))
        .routes(routes!(rate))
        .routes(routes!(feedback))
        .routes(routes!(contact))
        .routes(routes!(handoff))
        .routes(routes!(typing))
}

/// What a widget shows of a bot before a conversation starts.
#[derive(Serialize, ToSchema)]
pub struct PublicBot {
    pub id: String,
    pub name: String,
    /// The bot's language (BCP 47), for the widget's own texts.
    pub language: String,
    pub greeting: String,
    pub branding: Branding,
    /// Whether the team is within its business hours now (always, without business hours).
    pub open: bool,
    /// Shown with "Talk to a person" outside business hours.
    pub away_message: Option<String>,
    /// Shown above the widget's contact form.
    pub consent_text: String,
}

/// A bot's public face: name, greeting, branding, language, and whether its team is in.
#[utoipa::path(get, path = "/v1/public/bots/{id}", tag = "visitor",
    params(("id" = String, Path, description = "Bot id (`bot_…`)")),
    responses((status = 200, body = PublicBot), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, description = "the address's hourly allowance of the public widget is used up", body = ErrorBody)))]
pub async fn public_bot_info(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<PublicBot>> {
    let (_, bot) = public_bot(&state, &headers, &id).await?;
    let open = bot
        .settings
        .business_hours
        .as_ref()
        .is_none_or(|h| h.is_open(sitechat_core::now()));
    Ok(Json(PublicBot {
        id: bot.id.to_string(),
        name: bot.name,
        language: bot.language,
        greeting: bot.settings.greeting,
        branding: bot.settings.branding,
        open,
        away_message: (!open).then_some(bot.settings.away_message),
        consent_text: bot.settings.consent_text,
    }))
}

/// Who the visitor is, when the host page vouches for a signed-in user (identity
/// verification): both or neither.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct StartVisit {
    /// The host site's id of its signed-in user (1–128 characters).
    pub user_id: Option<String>,
    /// The lowercase hex HMAC-SHA256 of `user_id` under the bot's identity secret, computed by
    /// the host site's server.
    pub user_hash: Option<String>,
}

/// A conversation a visitor started, and the token that opens it.
#[derive(Serialize, ToSchema)]
pub struct Visit {
    pub conversation_id: ConversationId,
    /// Send it as `Authorization: Bearer …` (or `?token=` on the live stream). It opens this
    /// conversation only, until `expires_at`.
    pub token: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: OffsetDateTime,
    pub status: ConversationStatus,
    /// The bot's greeting, to show first.
    pub greeting: String,
}

/// Starts a visitor's conversation with a bot (channel `widget`) and returns its visitor token.
/// The bot's widget must be public and the page's origin allowed. A verified visitor
/// (`user_id` with its `user_hash`) gets their latest conversation that has not ended, on any
/// device, or a new one; a wrong hash is 401.
#[utoipa::path(post, path = "/v1/public/bots/{id}/conversations", tag = "visitor",
    request_body(content = Option<StartVisit>, description = "nothing, or a verified visitor's identity"),
    params(("id" = String, Path, description = "Bot id (`bot_…`)")),
    responses((status = 201, body = Visit), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn start(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    MaybeJson(body): MaybeJson<StartVisit>,
) -> ApiResult<Response> {
    let (caller, bot) = public_bot(&state, &headers, &id).await?;
    let user = match body.unwrap_or_default() {
        StartVisit {
            user_id: None,
            user_hash: None,
        } => None,
        StartVisit {
            user_id: Some(user),
            user_hash: Some(hash),
        } => {
            let user = ExternalId::parse("user_id", &user)?.into_inner();
            verify_identity(&state, &bot, &user, &hash)?;
            Some(user)
        }
        StartVisit { user_id: None, .. } => {
            return Err(ApiError::invalid("user_hash: comes with user_id"))
        }
        StartVisit {
            user_hash: None, ..
        } => {
            return Err(ApiError::invalid(
                "user_id: comes with user_hash, the HMAC-SHA256 of user_id under the bot's \
                 identity secret (computed by your server, never in the page)",
            ))
        }
    };
    let rate = match auth::count_request(&state, &caller) {
        Ok(rate) => rate,
        Err(refused) => return Ok(refused),
    };
    let conversation =
        conversations::start_visit(&state, &caller, &bot.id, "widget", user.as_deref()).await?;
    let token = Token::new(
        conversation.id.clone(),
        bot.id.clone(),
        sitechat_core::now(),
    );
    let mut response = (
        StatusCode::CREATED,
        Json(Visit {
            token: token.issue(&state.sealer),
            expires_at: token.expires_at,
            conversation_id: conversation.id,
            status: conversation.status,
            greeting: bot.settings.greeting,
        }),
    )
        .into_response();
    if let Some(rate) = rate {
        auth::rate_headers(response.headers_mut(), &rate);
    }
    Ok(response)
}

/// A visitor's conversation as the widget shows it.
#[derive(Serialize, ToSchema)]
pub struct VisitorConversation {
    pub id: ConversationId,
    /// `bot`, `waiting_for_agent`, `agent` or `ended`.
    pub status: ConversationStatus,
    /// The agent who took it over, when one did.
    pub assignee: Option<String>,
    /// The last 100 messages, oldest first.
    pub messages: Vec<Message>,
}

/// The visitor's conversation: its status and its messages, to show again after a reload.
#[utoipa::path(get, path = "/v1/public/conversations/{id}", tag = "visitor", operation_id = "visitor_get_conversation",
    params(("id" = String, Path, description = "The visitor's conversation (`conv_…`)")),
    responses((status = 200, body = VisitorConversation), (status = 401, body = ErrorBody), (status = 403, description = "the page's origin is not one of the bot's allowed origins", body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, description = "the address's hourly allowance of the public widget is used up", body = ErrorBody)),
    security(("visitor_token" = [])))]
pub async fn get_conversation(
    State(state): State<AppState>,
    visitor: Visitor,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<VisitorConversation>> {
    let id = visitor.conversation(&id)?;
    let conversation: Conversation = chat::conversation(&state, &visitor.caller, &id).await?;
    let page = chat::history(
        &state,
        &visitor.caller,
        &id,
        PageRequest {
            limit: 100,
            after: None,
        },
    )
    .await?;
    Ok(Json(VisitorConversation {
        id,
        status: conversation.status,
        assignee: conversation.assignee,
        messages: page.items,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitorMessageBody {
    /// The visitor's message (1–4,000 characters).
    pub message: String,
    /// Answer as server-sent events, as `POST /v1/bots/{id}/chat` does with `stream`.
    #[serde(default)]
    pub stream: bool,
}

/// Sends the visitor's message; the reply comes back as `POST /v1/bots/{id}/chat` gives it (or
/// streamed). While a person owns the conversation the bot stays silent and the agent's reply
/// arrives on the live stream.
#[utoipa::path(post, path = "/v1/public/conversations/{id}/messages", tag = "visitor", request_body = VisitorMessageBody,
    params(("id" = String, Path, description = "The visitor's conversation")),
    responses((status = 200, description = "the reply; with `stream`: `text/event-stream` (see the chat endpoint)", body = ChatResponse),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, description = "the page's origin is not one of the bot's allowed origins", body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 429, body = ErrorBody)),
    security(("visitor_token" = [])))]
pub async fn send(
    State(state): State<AppState>,
    visitor: Visitor,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<VisitorMessageBody>,
) -> ApiResult<Response> {
    let id = visitor.conversation(&id)?;
    if let Some(status) = state
        .limits
        .check_visitor(id.as_str())
        .filter(|s| s.retry_after.is_some())
    {
        return Ok(auth::rate_limited(
            &status,
            format!("a visitor may send {} messages an hour", status.limit),
        ));
    }
    let rate = match auth::count_request(&state, &visitor.caller) {
        Ok(rate) => rate,
        Err(refused) => return Ok(refused),
    };
    let input = VisitorMessage {
        bot: visitor.bot.id.clone(),
        text: ChatText::parse("message", &body.message)?,
        conversation: Some(id),
        contact: None,
        channel: "widget".to_owned(),
        variables: None,
        connection: None,
    };
    let mut response = if body.stream {
        stream_response(
            chat::send_streaming(&state, &visitor.caller, input).await?,
            false,
        )
    } else {
        let reply = chat::send(&state, &visitor.caller, input).await?;
        Json(ChatResponse::from(reply)).into_response()
    };
    if let Some(rate) = rate {
        auth::rate_headers(response.headers_mut(), &rate);
    }
    Ok(response)
}

/// The conversation live, as server-sent events: `message` (the visitor's, the bot's and an
/// agent's), `status` (a person asked for, taking over, handing back, ending) and `typing`.
/// Browsers' EventSource cannot set headers: pass the token as `?token=`.
#[utoipa::path(get, path = "/v1/public/conversations/{id}/stream", operation_id = "visitor_stream", tag = "visitor",
    params(("id" = String, Path, description = "The visitor's conversation"),
           ("token" = Option<String>, Query, description = "The visitor token, when it cannot be a header")),
    responses((status = 200, description = "text/event-stream", content_type = "text/event-stream"),
              (status = 401, body = ErrorBody), (status = 403, description = "the page's origin is not one of the bot's allowed origins", body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, description = "the address's hourly allowance of the public widget is used up", body = ErrorBody)),
    security(("visitor_token" = [])))]
pub async fn stream(
    State(state): State<AppState>,
    visitor: Visitor,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>> {
    let id = visitor.conversation(&id)?;
    chat::conversation(&state, &visitor.caller, &id).await?;
    Ok(live(&state, &id))
}

/// The visitor's 1–5 rating of the conversation, with an optional comment.
#[utoipa::path(post, path = "/v1/public/conversations/{id}/rating", operation_id = "visitor_rate", tag = "visitor", request_body = Rating,
    params(("id" = String, Path, description = "The visitor's conversation")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, description = "the page's origin is not one of the bot's allowed origins", body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, description = "the address's hourly allowance of the public widget is used up", body = ErrorBody)),
    security(("visitor_token" = [])))]
pub async fn rate(
    State(state): State<AppState>,
    visitor: Visitor,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<Rating>,
) -> ApiResult<StatusCode> {
    let id = visitor.conversation(&id)?;
    conversations::rate(
        &state,
        &visitor.caller,
        &id,
        body.rating,
        body.comment.as_deref(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Thumbs up or down on one of the bot's replies in the visitor's conversation.
#[utoipa::path(post, path = "/v1/public/conversations/{id}/messages/{message_id}/feedback", operation_id = "visitor_feedback", tag = "visitor",
    request_body = Feedback,
    params(("id" = String, Path, description = "The visitor's conversation"),
           ("message_id" = String, Path, description = "A bot reply in it (`msg_…`)")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, description = "the page's origin is not one of the bot's allowed origins", body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, description = "the address's hourly allowance of the public widget is used up", body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("visitor_token" = [])))]
pub async fn feedback(
    State(state): State<AppState>,
    visitor: Visitor,
    ApiPath((id, message_id)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<Feedback>,
) -> ApiResult<StatusCode> {
    let id = visitor.conversation(&id)?;
    let message_id = MessageId::parse(&message_id)?;
    let message = conversations::message(&state, &visitor.caller, &message_id).await?;
    if message.conversation_id != id {
        return Err(ApiError::not_found(format!(
            "message {message_id} in this conversation"
        )));
    }
    conversations::feedback(
        &state,
        &visitor.caller,
        &message_id,
        body.thumb,
        body.comment.as_deref(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Contact details a visitor leaves through the widget's form.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactDetails {
    pub email: Option<String>,
    /// A phone number, international (+44…) or in the bot's region.
    pub phone: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct LeadCaptured {
    pub lead_id: Option<LeadId>,
}

/// The visitor's email address and/or phone number: the conversation's contact gets them and a
/// lead is captured (as when they are written in a message).
#[utoipa::path(post, path = "/v1/public/conversations/{id}/contact", tag = "visitor", request_body = ContactDetails,
    params(("id" = String, Path, description = "The visitor's conversation")),
    responses((status = 200, body = LeadCaptured), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, description = "the page's origin is not one of the bot's allowed origins", body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, description = "the address's hourly allowance of the public widget is used up", body = ErrorBody)),
    security(("visitor_token" = [])))]
pub async fn contact(
    State(state): State<AppState>,
    visitor: Visitor,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ContactDetails>,
) -> ApiResult<Json<LeadCaptured>> {
    let id = visitor.conversation(&id)?;
    let lead = conversations::leave_contact(
        &state,
        &visitor.caller,
        &visitor.bot,
        &id,
        body.email.as_deref(),
        body.phone.as_deref(),
    )
    .await?;
    Ok(Json(LeadCaptured {
        lead_id: lead.map(|l| l.id),
    }))
}

/// The visitor asks for a person: the conversation joins the agents' queue (reason
/// `visitor_asked`). 409 unless the bot owns it.
#[utoipa::path(post, path = "/v1/public/conversations/{id}/handoff", tag = "visitor",
    params(("id" = String, Path, description = "The visitor's conversation")),
    responses((status = 200, body = Conversation), (status = 401, body = ErrorBody), (status = 403, description = "the page's origin is not one of the bot's allowed origins", body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, description = "the address's hourly allowance of the public widget is used up", body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("visitor_token" = [])))]
pub async fn handoff(
    State(state): State<AppState>,
    visitor: Visitor,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Conversation>> {
    let id = visitor.conversation(&id)?;
    Ok(Json(
        conversations::handoff(
            &state,
            &visitor.caller,
            &id,
            HandoffAction::Escalate,
            None,
            Some(HandoffReason::VisitorAsked),
        )
        .await?,
    ))
}

/// Tells the agent that the visitor is typing.
#[utoipa::path(post, path = "/v1/public/conversations/{id}/typing", operation_id = "visitor_typing", tag = "visitor",
    params(("id" = String, Path, description = "The visitor's conversation")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, description = "the page's origin is not one of the bot's allowed origins", body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, description = "the address's hourly allowance of the public widget is used up", body = ErrorBody)),
    security(("visitor_token" = [])))]
pub async fn typing(
    State(state): State<AppState>,
    visitor: Visitor,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let id = visitor.conversation(&id)?;
    conversations::typing(&state, &visitor.caller, &id, Role::Visitor, None).await?;
    Ok(StatusCode::NO_CONTENT)
}
