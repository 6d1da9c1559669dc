//! AISA's API (`seeds/000`), at `/compat/aisa/v1`.
//!
//! AISA's error body is sitechat's own (`{"error": {code, message, details}}`, same codes), and
//! its rate-limit headers are the native ones, so errors pass through unchanged.
//!
//! Decisions where the document is vague:
//! - Unknown fields of a body or a query are ignored, as hosted APIs commonly do (and the other
//!   dialects do). `POST /message/send` takes the message as `user_message` (the REST example)
//!   or `message` (the SDK examples).
//! - `chatbot_id` is the bot id. Creating a chatbot from a URL starts its training;
//!   `training_status` is `in_progress` (queued or running), `completed`, `failed` or `cancelled`,
//!   and `estimated_completion` is a human string ("about 3 minutes", "a few minutes" before the
//!   crawl has a pace, "done" once finished), as in the document's example.
//! - `status` of a chatbot is `training` while it trains for the first time, else `active`.
//! - `user_id` is the visitor's key (a contact's `external_id`); a message continues that user's
//!   open conversation with the chatbot. `phone_number`, when given, is stored on the contact and
//!   the conversation's channel is `whatsapp` (AISA's main channel), else `api`.
//! - `GET /message/history` lists the user's messages newest first, each with the answer that
//!   followed it; `offset` pages through them.
//! - Analytics: `start_date` inclusive, `end_date` inclusive (whole days, UTC; default the last 30
//!   days), the figures of the native `GET /v1/analytics`; `avg_response_time` is the mean delay
//!   from a visitor message to the bot's reply to it, as "0.8s"; `customer_satisfaction` is the
//!   mean 1–5 conversation rating (null when none); `daily_breakdown` lists every day of the
//!   range; `top_queries` are the most frequent visitor messages.
//! - `POST /webhooks/configure` creates an account-wide webhook in AISA's format with the given
//!   secret (one is generated when none is given and returned once); its events are AISA's four.
//!   Deliveries are the document's payload `{"event", "timestamp", "data": {conversation_id,
//!   user_id, phone_number, message, ai_response, confidence_score}}`, rendered by
//!   `sitechat_core::payloads`: `message.received` is sent once the AI response exists (a user
//!   message a person answers has none). They are signed with the Standard Webhooks headers and
//!   `X-Webhook-Signature` (hex HMAC-SHA256 of the body with the secret).

use axum::{extract::State, middleware, Json, Router};
use serde::{Deserialize, Serialize};
use sitechat_core::{
    model::{Bot, BotSettings, JobState},
    now,
    validate::{BotName, ChatText, ExternalId, HttpUrl, Language},
    BotId, ConversationId, JobId, MessageId, Scope, WebhookId,
};
use sitechat_store::NewBot;
use utoipa::{IntoParams, OpenApi, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{rfc3339, Document, KeySchemes};
use crate::{
    auth::{self, Caller},
    error::{ApiError, ApiResult, ErrorBody},
    extract::{ApiJson, ApiPath, ApiQuery, MaybeJson},
    routes::docs::Credential,
    services::{
        bots,
        chat::{self, VisitorMessage},
        training,
    },
    state::AppState,
};

/// Where the dialect is mounted: the seed's base URL (`https://api.ai-serviceagent.com/v1`).
pub const BASE: &str = "/compat/aisa/v1";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "AISA API (sitechat dialect)",
        description = "AISA's API (ai-serviceagent), spoken by sitechat: a client written for AISA \
            works by changing its base URL to this server's `/compat/aisa/v1` and using a sitechat \
            API key. Chatbots created from a website URL, messages with a confidence score, \
            message history, conversation analytics and webhooks. Errors are \
            `{\"error\": {\"code\", \"message\", \"details\"}}` with AISA's codes; responses carry \
            `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset`."
    ),
    modifiers(&KeySchemes),
    components(schemas(ErrorBody))
)]
struct Doc;

/// The dialect's routes and their document, both from the handlers' annotations.
pub fn router(state: AppState) -> (Router, Document) {
    let (router, spec) = OpenApiRouter::with_openapi(Doc::openapi())
        .routes(routes!(create))
        .routes(routes!(chatbot))
        .routes(routes!(retrain))
        .routes(routes!(send))
        .routes(routes!(history))
        .routes(routes!(analytics))
        .routes(routes!(configure_webhook))
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
        .with_state(state);
    (
        router,
        Document::new("aisa", BASE, spec, Credential::Key, "ErrorBody"),
    )
}

/// AISA's training status and estimated completion of a bot's latest job.
async fn training_view(
    state: &AppState,
    caller: &Caller,
    bot: &Bot,
) -> ApiResult<(&'static str, Option<String>)> {
    let Some(job_id) = &bot.last_job_id else {
        return Ok(("not_trained", None));
    };
    let job = training::get(state, caller, job_id).await?;
    let status = match job.state {
        JobState::Queued | JobState::Running => "in_progress",
        JobState::Succeeded => "completed",
        JobState::Failed => "failed",
        JobState::Cancelled => "cancelled",
    };
    let estimate = match job.state {
        JobState::Queued | JobState::Running => {
            match training::estimated_completion(&job, state.config.crawl.max_pages) {
                Some(at) => {
                    let minutes = ((at - now()).whole_seconds().max(0) + 59) / 60;
                    if minutes <= 1 {
                        "about 1 minute".to_owned()
                    } else {
                        format!("about {minutes} minutes")
                    }
                }
                None => "a few minutes".to_owned(),
            }
        }
        _ => "done".to_owned(),
    };
    Ok((status, Some(estimate)))
}

/// A chatbot to create from a website.
#[derive(Deserialize, ToSchema)]
#[schema(as = CreateChatbot)]
struct CreateBody {
    /// The website the chatbot learns, crawled at once.
    #[schema(example = "https://your-website.com")]
    website_url: String,
    /// The chatbot's name (default: the website's host name).
    #[schema(example = "My Business Chatbot")]
    chatbot_name: Option<String>,
    /// Language code (default `en`).
    #[schema(example = "en")]
    language: Option<String>,
    #[schema(example = "e-commerce")]
    industry: Option<String>,
}

/// A chatbot's training, as `POST /chatbot/create` answers it.
#[derive(Serialize, ToSchema)]
struct Created {
    /// `success`.
    status: &'static str,
    chatbot_id: BotId,
    /// `in_progress` (queued or running), `completed`, `failed`, `cancelled` or `not_trained`.
    training_status: &'static str,
    /// A human estimate: `about 3 minutes`, `a few minutes` before the crawl has a pace, `done`
    /// once finished; null before any training.
    estimated_completion: Option<String>,
}

/// `POST /chatbot/create`: a chatbot from a website URL, training at once.
#[utoipa::path(post, path = "/chatbot/create", request_body = CreateBody,
    responses((status = 200, body = Created)), security(("bearer" = []), ("api_key" = [])))]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateBody>,
) -> ApiResult<Json<Created>> {
    let url = HttpUrl::parse("website_url", &body.website_url)?;
    let name = body
        .chatbot_name
        .unwrap_or_else(|| url.as_url().host_str().unwrap_or("chatbot").to_owned());
    let language = Language::parse("language", body.language.as_deref().unwrap_or("en"))?;
    let new = NewBot {
        name: BotName::parse("chatbot_name", &name)?.into_inner(),
        website_url: Some(url.as_str().to_owned()),
        settings: BotSettings::for_language(language.as_str()),
        language: language.as_str().to_owned(),
        industry: body
            .industry
            .map(|i| BotName::parse("industry", &i).map(BotName::into_inner))
            .transpose()?,
    };
    let bot = bots::create(&state, &caller, new).await?;
    let (training_status, estimated_completion) = training_view(&state, &caller, &bot).await?;
    Ok(Json(Created {
        status: "success",
        chatbot_id: bot.id,
        training_status,
        estimated_completion,
    }))
}

/// A chatbot's details and training status.
#[derive(Serialize, ToSchema)]
struct Chatbot {
    chatbot_id: BotId,
    name: String,
    /// `training` during its first training, else `active`.
    status: &'static str,
    website_url: Option<String>,
    /// RFC 3339.
    created_at: String,
    /// RFC 3339; null before the first training finished.
    last_trained: Option<String>,
    /// As in `POST /chatbot/create`.
    training_status: &'static str,
    estimated_completion: Option<String>,
    language: String,
    industry: Option<String>,
}

/// `GET /chatbot/{chatbot_id}`: the chatbot's details and training status.
#[utoipa::path(get, path = "/chatbot/{chatbot_id}",
    params(("chatbot_id" = String, Path, description = "The chatbot's id (`bot_…`)")),
    responses((status = 200, body = Chatbot)), security(("bearer" = []), ("api_key" = [])))]
async fn chatbot(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Chatbot>> {
    let bot = bots::get(&state, &caller, &BotId::parse(&id)?).await?;
    let (training_status, estimated_completion) = training_view(&state, &caller, &bot).await?;
    let status = if training_status == "in_progress" && bot.last_trained_at.is_none() {
        "training"
    } else {
        "active"
    };
    Ok(Json(Chatbot {
        chatbot_id: bot.id,
        name: bot.name,
        status,
        website_url: bot.website_url,
        created_at: rfc3339(bot.created_at),
        last_trained: bot.last_trained_at.map(rfc3339),
        training_status,
        estimated_completion,
        language: bot.language,
        industry: bot.industry,
    }))
}

/// How to retrain; the body is optional.
#[derive(Deserialize, Default, ToSchema)]
#[serde(default)]
#[schema(as = Retrain)]
struct RetrainBody {
    /// Fetch every page again, even unchanged ones (default false).
    force_retrain: bool,
    /// Follow links to pages not known yet (default true).
    include_new_pages: Option<bool>,
}

/// A retraining that started.
#[derive(Serialize, ToSchema)]
struct Retraining {
    /// `success`.
    status: &'static str,
    chatbot_id: BotId,
    /// The training job.
    job_id: JobId,
    training_status: &'static str,
    estimated_completion: Option<String>,
}

/// `PUT /chatbot/{chatbot_id}/retrain`: learns the website again (409 while it trains).
#[utoipa::path(put, path = "/chatbot/{chatbot_id}/retrain",
    params(("chatbot_id" = String, Path, description = "The chatbot's id (`bot_…`)")),
    request_body(content = Option<RetrainBody>, description = "Optional"),
    responses((status = 200, body = Retraining),
        (status = 409, description = "the chatbot is training already", body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
async fn retrain(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    MaybeJson(body): MaybeJson<RetrainBody>,
) -> ApiResult<Json<Retraining>> {
    let id = BotId::parse(&id)?;
    let body = body.unwrap_or_default();
    let job = training::start(
        &state,
        &caller,
        &id,
        body.force_retrain,
        body.include_new_pages.unwrap_or(true),
    )
    .await?;
    let bot = bots::get(&state, &caller, &id).await?;
    let (training_status, estimated_completion) = training_view(&state, &caller, &bot).await?;
    Ok(Json(Retraining {
        status: "success",
        chatbot_id: bot.id,
        job_id: job.id,
        training_status,
        estimated_completion,
    }))
}

/// A user's message to a chatbot: `user_message` or `message` is required.
#[derive(Deserialize, ToSchema)]
#[schema(as = SendMessage)]
struct SendBody {
    #[schema(example = "bot_0123456789abcdefghij")]
    chatbot_id: String,
    /// The REST example's name for the message; the SDK examples send `message`.
    #[schema(example = "What are your business hours?")]
    user_message: Option<String>,
    /// The SDK examples' name for `user_message`.
    message: Option<String>,
    /// The user's key: a message continues that user's open conversation with the chatbot.
    #[schema(example = "user_12345")]
    user_id: Option<String>,
    /// International form; stored on the user, and the conversation's channel is `whatsapp`.
    #[schema(example = "+60123456789")]
    phone_number: Option<String>,
}

/// The chatbot's answer.
#[derive(Serialize, ToSchema)]
struct Sent {
    /// `success`.
    status: &'static str,
    /// The answer; null when a person owns the conversation (the bot is silent).
    response: Option<String>,
    /// The exchange (the user's message and its answer), as `/message/history` names it.
    message_id: MessageId,
    /// 0 to 1; null when no answer was composed.
    confidence_score: Option<f64>,
    conversation_id: ConversationId,
}

/// `POST /message/send`: a user's message and the chatbot's answer, with its confidence.
#[utoipa::path(post, path = "/message/send", request_body = SendBody,
    responses((status = 200, body = Sent)), security(("bearer" = []), ("api_key" = [])))]
async fn send(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<SendBody>,
) -> ApiResult<Json<Sent>> {
    let bot = BotId::parse(&body.chatbot_id)?;
    let user = body
        .user_id
        .as_deref()
        .map(|u| ExternalId::parse("user_id", u).map(ExternalId::into_inner))
        .transpose()?;
    let phone = body.phone_number.as_deref().map(|p| {
        let found = sitechat_answer::leads::extract(p, "");
        found.phones.into_iter().next().ok_or_else(|| {
            ApiError::invalid(format!(
                "phone_number: `{p}` is not an international number such as +60123456789"
            ))
        })
    });
    let phone = phone.transpose()?;
    let Some(message) = body.user_message.as_deref().or(body.message.as_deref()) else {
        return Err(ApiError::invalid(
            "user_message: is missing (the visitor's message, as `user_message` or `message`)",
        ));
    };
    let text = ChatText::parse("user_message", message)?;
    let channel = if phone.is_some() { "whatsapp" } else { "api" };
    let input = match user {
        Some(user) => {
            let mut input =
                chat::client_message(&state, &caller, &bot, &user, text, channel).await?;
            if let Some(contact) = input.contact.as_mut() {
                contact.phone = phone;
            }
            input
        }
        None => VisitorMessage {
            bot,
            text,
            conversation: None,
            contact: None,
            channel: channel.to_owned(),
            variables: None,
            connection: None,
        },
    };
    let reply = chat::send(&state, &caller, input).await?;
    Ok(Json(Sent {
        status: "success",
        response: reply.message.map(|m| m.text),
        // An exchange (the user's message and the reply to it) is named by the user's message,
        // as `/message/history` names it.
        message_id: reply.visitor_message.id,
        confidence_score: reply.confidence,
        conversation_id: reply.conversation.id,
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct HistoryQuery {
    /// The user's key (required).
    user_id: Option<String>,
    /// Only this chatbot's messages.
    chatbot_id: Option<String>,
    /// 1 to 200 (default 50).
    limit: Option<u32>,
    /// How many messages to skip (default 0).
    offset: Option<u32>,
}

/// A user's messages, newest first.
#[derive(Serialize, ToSchema)]
struct History {
    messages: Vec<Exchange>,
    total_count: i64,
    has_more: bool,
}

/// A user's message and the answer that followed it.
#[derive(Serialize, ToSchema)]
struct Exchange {
    /// The user's message, as `/message/send` names the exchange.
    message_id: MessageId,
    user_message: String,
    /// Null when no answer followed.
    ai_response: Option<String>,
    /// RFC 3339.
    timestamp: String,
    confidence_score: Option<f64>,
}

/// `GET /message/history?user_id&limit&offset`: a user's messages, newest first, each with
/// its answer.
#[utoipa::path(get, path = "/message/history", params(HistoryQuery),
    responses((status = 200, body = History)), security(("bearer" = []), ("api_key" = [])))]
async fn history(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> ApiResult<Json<History>> {
    caller
        .require(Scope::Read)
        .or_else(|_| caller.require(Scope::Chat))?;
    let user = q
        .user_id
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| ApiError::invalid("user_id is required"))?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::invalid(format!(
            "limit must be between 1 and 200 (got {limit})"
        )));
    }
    let offset = q.offset.unwrap_or(0);
    let bot = q.chatbot_id.as_deref().map(BotId::parse).transpose()?;
    if let Some(bot) = &bot {
        bots::get(&state, &caller, bot).await?;
    }
    let (items, total) = state
        .store
        .exchanges(&caller.account.id, bot.as_ref(), &user, limit, offset)
        .await?;
    let has_more = i64::from(offset) + (items.len() as i64) < total;
    let messages = items
        .into_iter()
        .map(|e| Exchange {
            message_id: e.message_id,
            user_message: e.user_message,
            ai_response: e.ai_response,
            timestamp: rfc3339(e.timestamp),
            confidence_score: e.confidence,
        })
        .collect();
    Ok(Json(History {
        messages,
        total_count: total,
        has_more,
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AnalyticsQuery {
    /// First day, `YYYY-MM-DD` (UTC, inclusive; default 30 days ago).
    start_date: Option<String>,
    /// Last day, `YYYY-MM-DD` (UTC, inclusive; default today).
    end_date: Option<String>,
    /// Only this chatbot.
    chatbot_id: Option<String>,
}

/// Conversation analytics of a range of days.
#[derive(Serialize, ToSchema)]
struct Analytics {
    total_conversations: i64,
    total_messages: i64,
    /// Mean delay from a user message to the answer, as `0.8s`; null without answers.
    avg_response_time: Option<String>,
    /// Mean 1–5 conversation rating; null without ratings.
    customer_satisfaction: Option<f64>,
    /// The most frequent user messages.
    top_queries: Vec<String>,
    /// Every day of the range, days without activity included.
    daily_breakdown: Vec<AnalyticsDay>,
}

#[derive(Serialize, ToSchema)]
struct AnalyticsDay {
    /// `YYYY-MM-DD`.
    date: String,
    conversations: i64,
    messages: i64,
}

/// `GET /analytics/conversations?start_date&end_date&chatbot_id`: totals, top queries and every
/// day of the range.
#[utoipa::path(get, path = "/analytics/conversations", params(AnalyticsQuery),
    responses((status = 200, body = Analytics)), security(("bearer" = []), ("api_key" = [])))]
async fn analytics(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<AnalyticsQuery>,
) -> ApiResult<Json<Analytics>> {
    caller.require(Scope::Read)?;
    let (start, end) = crate::services::analytics::days(
        ("start_date", q.start_date.as_deref()),
        ("end_date", q.end_date.as_deref()),
    )?;
    let bot = q.chatbot_id.as_deref().map(BotId::parse).transpose()?;
    // The figures are the native analytics' (GET /v1/analytics); the most asked messages are
    // AISA's own.
    let report =
        crate::services::analytics::report(&state, &caller, bot.as_ref(), start, end).await?;
    let top_queries =
        crate::services::analytics::top_queries(&state, &caller, bot.as_ref(), start, end, 10)
            .await?;
    let daily_breakdown = report
        .days
        .iter()
        .map(|d| AnalyticsDay {
            date: d.date.clone(),
            conversations: d.figures.conversations,
            messages: d.figures.messages,
        })
        .collect();
    let t = &report.totals;
    Ok(Json(Analytics {
        total_conversations: t.conversations,
        total_messages: t.messages,
        avg_response_time: t.response_ms_mean.map(|ms| format!("{:.1}s", ms / 1000.0)),
        customer_satisfaction: t.satisfaction.map(|s| (s * 10.0).round() / 10.0),
        top_queries,
        daily_breakdown,
    }))
}

/// A webhook for the account's conversations, in AISA's payload format.
#[derive(Deserialize, ToSchema)]
#[schema(as = ConfigureWebhook)]
struct ConfigureBody {
    #[schema(example = "https://your-server.com/webhook")]
    url: String,
    /// Any of `message.received`, `conversation.started`, `conversation.ended`,
    /// `lead.captured`.
    #[schema(example = json!(["message.received", "conversation.started", "conversation.ended"]))]
    events: Vec<String>,
    /// The signing secret; one is generated (and returned once) when none is given.
    #[schema(example = "your_webhook_secret")]
    secret: Option<String>,
}

/// The webhook created.
#[derive(Serialize, ToSchema)]
struct Configured {
    /// `success`.
    status: &'static str,
    webhook_id: WebhookId,
    url: String,
    events: Vec<String>,
    active: bool,
    /// RFC 3339.
    created_at: String,
    /// The generated secret, in this response only; absent when the request gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

/// `POST /webhooks/configure`: an account-wide webhook in AISA's payload format.
#[utoipa::path(post, path = "/webhooks/configure", request_body = ConfigureBody,
    responses((status = 201, body = Configured)), security(("bearer" = []), ("api_key" = [])))]
async fn configure_webhook(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ConfigureBody>,
) -> ApiResult<(axum::http::StatusCode, Json<Configured>)> {
    use crate::services::webhooks;
    use sitechat_core::payloads::WebhookFormat;
    let given = body.secret.is_some();
    let new = webhooks::CreateWebhook {
        url: webhooks::WebhookUrl::parse(&body.url, &state.config)?,
        events: webhooks::parse_events(WebhookFormat::Aisa, Some(body.events))?,
        bot_id: None,
        format: WebhookFormat::Aisa,
        secret: webhooks::parse_secret(body.secret)?,
    };
    let created = webhooks::create(&state, &caller, new).await?;
    let w = created.webhook;
    Ok((
        axum::http::StatusCode::CREATED,
        Json(Configured {
            status: "success",
            webhook_id: w.id,
            url: w.url,
            events: w.events,
            active: w.active,
            created_at: rfc3339(w.created_at),
            secret: (!given).then_some(created.secret),
        }),
    ))
}
