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

use axum::{
    extract::State,
    middleware,
    routing::{get, post, put},
    Json, Router,
};
use serde::Deserialize;
use serde_json::{json, Value};
use sitechat_core::{
    model::{Bot, BotSettings, JobState},
    now,
    validate::{BotName, ChatText, ExternalId, HttpUrl, Language},
    BotId, Scope,
};
use sitechat_store::NewBot;

use super::rfc3339;
use crate::{
    auth::{self, Caller},
    error::{ApiError, ApiResult},
    extract::{ApiJson, ApiPath, ApiQuery, MaybeJson},
    services::{
        bots,
        chat::{self, VisitorMessage},
        training,
    },
    state::AppState,
};

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/chatbot/create", post(create))
        .route("/chatbot/{id}", get(chatbot))
        .route("/chatbot/{id}/retrain", put(retrain))
        .route("/message/send", post(send))
        .route("/message/history", get(history))
        .route("/analytics/conversations", get(analytics))
        .route("/webhooks/configure", post(configure_webhook))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            crate::idempotency::idempotency,
        ))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_key,
        ))
        .with_state(state)
}

/// AISA's training status and estimated completion of a bot's latest job.
async fn training_view(state: &AppState, caller: &Caller, bot: &Bot) -> ApiResult<(Value, Value)> {
    let Some(job_id) = &bot.last_job_id else {
        return Ok((json!("not_trained"), Value::Null));
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
    Ok((json!(status), json!(estimate)))
}

#[derive(Deserialize)]
struct CreateBody {
    website_url: String,
    chatbot_name: Option<String>,
    language: Option<String>,
    industry: Option<String>,
}

/// `POST /chatbot/create`: a chatbot from a website URL, training at once.
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateBody>,
) -> ApiResult<Json<Value>> {
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
    Ok(Json(json!({
        "status": "success", "chatbot_id": bot.id, "training_status": training_status,
        "estimated_completion": estimated_completion,
    })))
}

/// `GET /chatbot/{chatbot_id}`.
async fn chatbot(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    let bot = bots::get(&state, &caller, &BotId::parse(&id)?).await?;
    let (training_status, estimated_completion) = training_view(&state, &caller, &bot).await?;
    let status = if training_status == "in_progress" && bot.last_trained_at.is_none() {
        "training"
    } else {
        "active"
    };
    Ok(Json(json!({
        "chatbot_id": bot.id, "name": bot.name, "status": status, "website_url": bot.website_url,
        "created_at": rfc3339(bot.created_at), "last_trained": bot.last_trained_at.map(rfc3339),
        "training_status": training_status, "estimated_completion": estimated_completion,
        "language": bot.language, "industry": bot.industry,
    })))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RetrainBody {
    force_retrain: bool,
    include_new_pages: Option<bool>,
}

/// `PUT /chatbot/{chatbot_id}/retrain`.
async fn retrain(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    MaybeJson(body): MaybeJson<RetrainBody>,
) -> ApiResult<Json<Value>> {
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
    Ok(Json(json!({
        "status": "success", "chatbot_id": bot.id, "job_id": job.id,
        "training_status": training_status, "estimated_completion": estimated_completion,
    })))
}

#[derive(Deserialize)]
struct SendBody {
    chatbot_id: String,
    /// The REST example's name for the message; the SDK examples send `message`.
    user_message: Option<String>,
    message: Option<String>,
    user_id: Option<String>,
    phone_number: Option<String>,
}

/// `POST /message/send`.
async fn send(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<SendBody>,
) -> ApiResult<Json<Value>> {
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
    Ok(Json(json!({
        "status": "success",
        "response": reply.message.as_ref().map(|m| m.text.clone()),
        // An exchange (the user's message and the reply to it) is named by the user's message,
        // as `/message/history` names it.
        "message_id": reply.visitor_message.id,
        "confidence_score": reply.confidence,
        "conversation_id": reply.conversation.id,
    })))
}

#[derive(Deserialize)]
struct HistoryQuery {
    user_id: Option<String>,
    chatbot_id: Option<String>,
    limit: Option<u32>,
    offset: Option<u32>,
}

/// `GET /message/history?user_id&limit&offset`.
async fn history(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> ApiResult<Json<Value>> {
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
    let messages: Vec<Value> = items
        .into_iter()
        .map(|e| {
            json!({
                "message_id": e.message_id, "user_message": e.user_message, "ai_response": e.ai_response,
                "timestamp": rfc3339(e.timestamp), "confidence_score": e.confidence,
            })
        })
        .collect();
    Ok(Json(
        json!({"messages": messages, "total_count": total, "has_more": has_more}),
    ))
}

#[derive(Deserialize)]
struct AnalyticsQuery {
    start_date: Option<String>,
    end_date: Option<String>,
    chatbot_id: Option<String>,
}

/// `GET /analytics/conversations?start_date&end_date&chatbot_id`.
async fn analytics(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<AnalyticsQuery>,
) -> ApiResult<Json<Value>> {
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
    let daily: Vec<Value> = report
        .days
        .iter()
        .map(|d| json!({"date": d.date, "conversations": d.figures.conversations, "messages": d.figures.messages}))
        .collect();
    let t = &report.totals;
    Ok(Json(json!({
        "total_conversations": t.conversations,
        "total_messages": t.messages,
        "avg_response_time": t.response_ms_mean.map(|ms| format!("{:.1}s", ms / 1000.0)),
        "customer_satisfaction": t.satisfaction.map(|s| (s * 10.0).round() / 10.0),
        "top_queries": top_queries,
        "daily_breakdown": daily,
    })))
}

#[derive(Deserialize)]
struct ConfigureBody {
    url: String,
    events: Vec<String>,
    secret: Option<String>,
}

/// `POST /webhooks/configure`.
async fn configure_webhook(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ConfigureBody>,
) -> ApiResult<(axum::http::StatusCode, Json<Value>)> {
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
    let w = &created.webhook;
    let mut out = json!({
        "status": "success", "webhook_id": w.id, "url": w.url, "events": w.events,
        "active": w.active, "created_at": rfc3339(w.created_at),
    });
    if !given {
        out["secret"] = json!(created.secret);
    }
    Ok((axum::http::StatusCode::CREATED, Json(out)))
}
