//! Asyntai's REST API (`seeds/002`), at `/compat/asyntai/api/v1`.
//!
//! Decisions where the document is vague:
//! - `website_id` is the bot's `website_id` number (the native bot shows it); without it the
//!   "primary website" is the account's first bot. It is accepted as a number or a string, as the
//!   document uses both.
//! - `session_id` is the visitor's key (a contact's `external_id`). A chat continues the
//!   session's open conversation with that bot, or starts one; without `session_id` a new session
//!   id is made and returned. `GET /conversations/` returns the session's latest conversation.
//! - `response` is always a string, as the document shows it: while a person owns the
//!   conversation the bot is silent, and `response` is the notice the bot would show instead
//!   (what it said when a person was asked for while the conversation waits for an agent, then
//!   "A person is answering" in the bot's language once an agent has it).
//! - Roles: visitor messages are `user`; bot and agent messages are `assistant`; system notes are
//!   left out.
//! - `limit` above the document's maximum of 100 is capped at 100, not refused.
//! - "Paid Plan Required": an account on the free plan gets 403 on every route here (the
//!   document lists no status for it; 403 says the key is right but not allowed).
//! - Paths work with and without their trailing slash. Errors are
//!   `{"success": false, "error": "…"}` with the native status code.
//! - Webhooks are sitechat's endpoints in Asyntai's format: a new one is scoped to the
//!   `website_id` given, or to the primary website as the document says; its events are the
//!   document's four, and its secret is in the creation response only. The document shows no
//!   payload, so deliveries take AISA's envelope with Asyntai's own field names
//!   (`sitechat_core::payloads`): `{"event", "timestamp", "data": {session_id, website_id,
//!   source, …}}`, where `message.received` ("a visitor sent a message and received a
//!   response") is sent once the bot's response exists and adds `message` and `response`,
//!   `escalation.requested` adds `reason` and `takeover.started` `agent`. They carry Asyntai's
//!   `X-Webhook-Signature` (hex HMAC-SHA256 of the body) beside the Standard Webhooks headers.

use axum::{
    extract::State,
    http::StatusCode,
    middleware,
    response::{IntoResponse, Response},
    routing::{delete, get, post},
    Json, Router,
};
use serde::Deserialize;
use serde_json::{json, Value};
use sitechat_core::{
    model::{Bot, Role, SourceKind},
    random_token,
    validate::{ChatText, ExternalId, HttpUrl, SourceTitle, TextContent},
    Plan, SourceId,
};
use sitechat_store::{LeadFilter, PageRequest};

use super::rfc3339;
use crate::{
    auth::{self, Caller},
    error::{ApiError, ApiResult},
    extract::{ApiJson, ApiMultipart, ApiPath, ApiQuery},
    services::{chat, conversations, knowledge},
    state::AppState,
};

pub fn router(state: AppState) -> Router {
    let mut router = Router::new();
    for (path, route) in [
        ("/chat", post(chat)),
        ("/websites", get(websites)),
        ("/conversations", get(history)),
        ("/sessions", get(sessions)),
        ("/leads", get(leads)),
        ("/account", get(account)),
        ("/knowledge", get(list_knowledge)),
        ("/knowledge/text", post(add_text)),
        ("/knowledge/url", post(add_url)),
        ("/knowledge/spreadsheet", post(add_spreadsheet)),
        ("/knowledge/{id}", delete(delete_knowledge)),
        ("/webhooks", get(list_webhooks).post(create_webhook)),
        ("/webhooks/{id}", delete(delete_webhook)),
    ] {
        router = router
            .route(path, route.clone())
            .route(&format!("{path}/"), route);
    }
    router
        .layer(axum::extract::DefaultBodyLimit::max(
            state.config.max_upload_bytes,
        ))
        .route_layer(middleware::from_fn(paid_plan))
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
        .with_state(state)
}

/// Asyntai's API is for paid plans ("API access is available on Starter, Standard, and Pro
/// plans"): an account on the free plan is refused here, with Asyntai's error shape, and keeps
/// the native API and the other dialects.
async fn paid_plan(request: axum::extract::Request, next: middleware::Next) -> Response {
    let free = request
        .extensions()
        .get::<Caller>()
        .is_some_and(|c| c.account.plan == Plan::Free);
    if free {
        return ApiError::forbidden(
            "API access requires a paid plan: Starter, Standard or Pro; this account is on the \
             free plan",
        )
        .into_response();
    }
    next.run(request).await
}

/// Renders every error as Asyntai does.
async fn errors(response: Response) -> Response {
    match super::native_error(response).await {
        Ok(e) => {
            let body = json!({"success": false, "error": e.message});
            e.render(body)
        }
        Err(response) => response,
    }
}

/// A `website_id` given as a number or a string.
fn website_number(value: &Option<Value>) -> ApiResult<Option<i64>> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| ApiError::invalid("website_id must be a whole number")),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| ApiError::invalid(format!("website_id `{s}` is not a website id"))),
        Some(_) => Err(ApiError::invalid("website_id must be a number")),
    }
}

/// The bot a request addresses: its `website_id`, or the primary website.
async fn website(state: &AppState, caller: &Caller, id: &Option<Value>) -> ApiResult<Bot> {
    caller
        .require(sitechat_core::Scope::Read)
        .or_else(|_| caller.require(sitechat_core::Scope::Chat))?;
    Ok(match website_number(id)? {
        Some(n) => state.store.bot_by_number(&caller.account.id, n).await?,
        None => state.store.primary_bot(&caller.account.id).await?,
    })
}

fn domain(bot: &Bot) -> Value {
    bot.website_url
        .as_deref()
        .and_then(|u| url::Url::parse(u).ok())
        .and_then(|u| u.host_str().map(|h| json!(h)))
        .unwrap_or(Value::Null)
}

#[derive(Deserialize)]
struct ChatBody {
    message: String,
    session_id: Option<String>,
    website_id: Option<Value>,
}

/// `POST /chat/`: a visitor message in a session; the reply and the session id.
async fn chat(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ChatBody>,
) -> ApiResult<Response> {
    let bot = website(&state, &caller, &body.website_id).await?;
    let session = match body
        .session_id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(s) => ExternalId::parse("session_id", s)?.into_inner(),
        None => format!("session_{}", random_token(12)),
    };
    let text = ChatText::parse("message", &body.message)?;
    let input = chat::client_message(&state, &caller, &bot.id, &session, text, "api").await?;
    let reply = chat::send(&state, &caller, input).await?;
    let response = match reply.message {
        Some(m) => m.text,
        None => chat::human_notice(&bot, &reply.conversation),
    };
    Ok(Json(json!({
        "success": true,
        "response": response,
        "session_id": session,
    }))
    .into_response())
}

/// `GET /websites/`: the account's bots as websites.
async fn websites(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    let page = crate::services::bots::list(
        &state,
        &caller,
        PageRequest {
            limit: 100,
            after: None,
        },
    )
    .await?;
    let primary = page.items.first().map(|b| b.id.clone());
    let websites: Vec<Value> = page
        .items
        .iter()
        .map(|b| json!({"id": b.website_id, "name": b.name, "domain": domain(b), "is_primary": Some(&b.id) == primary.as_ref()}))
        .collect();
    Ok(Json(json!({"success": true, "websites": websites})))
}

/// A `limit` query parameter: the document gives each a maximum of 100, so a larger one is
/// capped at 100 rather than refused; 0 is refused.
fn limit(value: Option<u64>, default: u32) -> ApiResult<u32> {
    match value.unwrap_or(u64::from(default)) {
        0 => Err(ApiError::invalid("limit must be at least 1 (got 0)")),
        n => Ok(u32::try_from(n.min(100)).unwrap_or(100)),
    }
}

#[derive(Deserialize)]
struct HistoryQuery {
    session_id: Option<String>,
    limit: Option<u64>,
}

/// `GET /conversations/?session_id`: the session's latest conversation, oldest message first.
async fn history(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> ApiResult<Json<Value>> {
    let session = q
        .session_id
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| ApiError::invalid("session_id is required"))?;
    let limit = limit(q.limit, 50)?;
    let conversation = state
        .store
        .latest_conversation_of(&caller.account.id, &session)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("session `{session}`")))?;
    let page = chat::history(
        &state,
        &caller,
        &conversation,
        PageRequest { limit, after: None },
    )
    .await?;
    let messages: Vec<Value> = page
        .items
        .iter()
        .filter(|m| m.role != Role::System)
        .map(|m| {
            json!({
                "role": if m.role == Role::Visitor { "user" } else { "assistant" },
                "content": m.text,
                "timestamp": m.created_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
            })
        })
        .collect();
    Ok(Json(
        json!({"success": true, "session_id": session, "messages": messages}),
    ))
}

#[derive(Deserialize)]
struct SessionsQuery {
    limit: Option<u64>,
    website_id: Option<String>,
    source: Option<String>,
}

/// `GET /sessions/`: recent sessions, newest first, by website and source (channel).
async fn sessions(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<SessionsQuery>,
) -> ApiResult<Json<Value>> {
    caller.require(sitechat_core::Scope::Read)?;
    let limit = limit(q.limit, 20)?;
    let bot = match website_number(&q.website_id.map(Value::String))? {
        Some(n) => Some(state.store.bot_by_number(&caller.account.id, n).await?),
        None => None,
    };
    let rows = state
        .store
        .recent_sessions(
            &caller.account.id,
            bot.as_ref().map(|b| &b.id),
            q.source.as_deref(),
            limit,
        )
        .await?;
    let sessions: Vec<Value> = rows
        .into_iter()
        .map(|s| {
            json!({
                "session_id": s.external_id.unwrap_or_else(|| s.conversation_id.to_string()),
                "source": s.channel,
                "message_count": s.message_count,
                "first_message": s.first_message,
                "first_message_at": s.first_message_at.map(rfc3339),
                "last_message_at": rfc3339(s.last_message_at),
                "website_domain": s.website_url.as_deref().and_then(|u| url::Url::parse(u).ok()).and_then(|u| u.host_str().map(str::to_owned)),
            })
        })
        .collect();
    Ok(Json(json!({"success": true, "sessions": sessions})))
}

#[derive(Deserialize)]
struct LeadsQuery {
    limit: Option<u64>,
    website_id: Option<String>,
}

/// `GET /leads/`: captured emails and phone numbers.
async fn leads(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<LeadsQuery>,
) -> ApiResult<Json<Value>> {
    let limit = limit(q.limit, 50)?;
    let bot = match website_number(&q.website_id.map(Value::String))? {
        Some(n) => Some(state.store.bot_by_number(&caller.account.id, n).await?.id),
        None => None,
    };
    let page = conversations::leads(
        &state,
        &caller,
        &LeadFilter {
            bot,
            ..LeadFilter::default()
        },
        PageRequest { limit, after: None },
    )
    .await?;
    let mut leads = Vec::new();
    for l in page.items {
        let started = match &l.conversation_id {
            Some(c) => state
                .store
                .get_conversation(&caller.account.id, c)
                .await
                .ok()
                .map(|c| c.created_at),
            None => None,
        };
        leads.push(json!({
            "session_id": l.external_id,
            "email": l.email,
            "phone": l.phone,
            "page_url": Value::Null,
            "started_at": rfc3339(started.unwrap_or(l.created_at)),
        }));
    }
    Ok(Json(json!({"success": true, "leads": leads})))
}

/// `GET /account/`: plan and this month's message usage.
async fn account(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    let used = crate::services::accounts::usage(&state, &caller)
        .await?
        .messages_this_month;
    Ok(Json(json!({
        "success": true,
        "account": {
            "email": Value::Null,
            "name": caller.account.name,
            "plan": caller.account.plan,
            "messages_used": used,
            "messages_limit": caller.account.plan.limits().messages_per_month,
        }
    })))
}

#[derive(Deserialize)]
struct KnowledgeQuery {
    limit: Option<u64>,
    website_id: Option<String>,
}

/// `GET /knowledge/`: the website's knowledge entries.
async fn list_knowledge(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<KnowledgeQuery>,
) -> ApiResult<Json<Value>> {
    let limit = limit(q.limit, 50)?;
    let bot = website(&state, &caller, &q.website_id.map(Value::String)).await?;
    let page =
        knowledge::list(&state, &caller, &bot.id, PageRequest { limit, after: None }).await?;
    let entries: Vec<Value> = page
        .items
        .iter()
        .map(|s| {
            let description = match s.kind {
                SourceKind::Text => format!("Manual text content ({} characters)", s.characters),
                SourceKind::Url | SourceKind::Website => format!("Content from {}", s.url.as_deref().unwrap_or("")),
                SourceKind::Spreadsheet => format!("Spreadsheet ({} rows)", s.chunks),
                SourceKind::File => format!("Uploaded file ({} characters)", s.characters),
                SourceKind::Qa => format!("Curated answers ({} questions)", s.chunks),
            };
            let kind = match s.kind {
                SourceKind::Website => "url",
                other => other.as_str(),
            };
            json!({"id": s.id, "type": kind, "title": s.title, "description": description, "created_at": rfc3339(s.created_at)})
        })
        .collect();
    Ok(Json(json!({"success": true, "entries": entries})))
}

#[derive(Deserialize)]
struct TextBody {
    title: String,
    content: String,
    website_id: Option<Value>,
}

/// `POST /knowledge/text/`.
async fn add_text(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<TextBody>,
) -> ApiResult<Json<Value>> {
    let bot = website(&state, &caller, &body.website_id).await?;
    let title = SourceTitle::parse("title", &body.title)?;
    let content = TextContent::parse("content", &body.content)?;
    let added = knowledge::add_text(&state, &caller, &bot.id, title, content).await?;
    Ok(Json(
        json!({"success": true, "id": added.source.id, "title": added.source.title, "chunks_created": added.chunks_created}),
    ))
}

#[derive(Deserialize)]
struct UrlBody {
    url: String,
    website_id: Option<Value>,
}

/// `POST /knowledge/url/`.
async fn add_url(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<UrlBody>,
) -> ApiResult<Json<Value>> {
    let bot = website(&state, &caller, &body.website_id).await?;
    let url = HttpUrl::parse("url", &body.url)?;
    let added = knowledge::add_url(&state, &caller, &bot.id, url).await?;
    Ok(Json(json!({
        "success": true, "id": added.source.id, "title": added.source.title,
        "url": added.source.url, "chunks_created": added.chunks_created,
    })))
}

/// `POST /knowledge/spreadsheet/` (multipart `file`, optional `website_id` field).
async fn add_spreadsheet(
    State(state): State<AppState>,
    caller: Caller,
    ApiMultipart(mut multipart): ApiMultipart,
) -> ApiResult<Json<Value>> {
    let mut upload = None;
    let mut website_id = None;
    while let Some(field) = multipart.next_field().await.map_err(|e| {
        ApiError::invalid(format!(
            "the multipart body cannot be read: {}",
            e.body_text()
        ))
    })? {
        match field.name() {
            Some("file") => {
                let filename = field.file_name().map(str::to_owned);
                let content_type = field.content_type().map(str::to_owned);
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|e| {
                        ApiError::invalid(format!("the file cannot be read: {}", e.body_text()))
                    })?
                    .to_vec();
                upload = Some(knowledge::Upload {
                    filename,
                    content_type,
                    bytes,
                });
            }
            Some("website_id") => {
                website_id = Some(Value::String(field.text().await.unwrap_or_default()))
            }
            _ => {}
        }
    }
    let upload = upload.ok_or_else(|| {
        ApiError::invalid("send the spreadsheet as multipart/form-data in a field named `file`")
    })?;
    let bot = website(&state, &caller, &website_id).await?;
    let sheet = knowledge::add_spreadsheet(&state, &caller, &bot.id, upload).await?;
    Ok(Json(json!({
        "success": true, "id": sheet.added.source.id, "title": sheet.added.source.title,
        "rows_processed": sheet.rows_processed, "chunks_created": sheet.added.chunks_created,
        "total_rows": sheet.total_rows, "truncated": sheet.truncated,
    })))
}

/// `DELETE /knowledge/{id}/`: deletes an entry of any of the account's websites.
async fn delete_knowledge(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    let source = SourceId::parse(&id)?;
    let bots = crate::services::bots::list(
        &state,
        &caller,
        PageRequest {
            limit: 100,
            after: None,
        },
    )
    .await?;
    for bot in bots.items {
        if state
            .store
            .get_source(&caller.account.id, &bot.id, &source)
            .await
            .is_ok()
        {
            knowledge::delete(&state, &caller, &bot.id, &source).await?;
            return Ok((
                StatusCode::OK,
                Json(json!({"success": true, "message": "Knowledge base entry deleted"})),
            )
                .into_response());
        }
    }
    Err(ApiError::not_found("knowledge base entry"))
}

#[derive(Deserialize)]
struct WebhookBody {
    url: String,
    events: Vec<String>,
    website_id: Option<Value>,
}

fn webhook_json(w: &sitechat_store::WebhookRecord) -> Value {
    json!({"id": w.id, "url": w.url, "events": w.events, "is_active": w.active, "created_at": rfc3339(w.created_at)})
}

/// `GET /webhooks/`.
async fn list_webhooks(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    let page = crate::services::webhooks::list(
        &state,
        &caller,
        PageRequest {
            limit: 100,
            after: None,
        },
    )
    .await?;
    let webhooks: Vec<Value> = page.items.iter().map(webhook_json).collect();
    Ok(Json(json!({"success": true, "webhooks": webhooks})))
}

/// `POST /webhooks/`: the secret is shown in this response only.
async fn create_webhook(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<WebhookBody>,
) -> ApiResult<Json<Value>> {
    use crate::services::webhooks;
    use sitechat_core::payloads::WebhookFormat;
    let bot = match website_number(&body.website_id)? {
        Some(n) => Some(state.store.bot_by_number(&caller.account.id, n).await?.id),
        None => state
            .store
            .primary_bot(&caller.account.id)
            .await
            .ok()
            .map(|b| b.id),
    };
    let new = webhooks::CreateWebhook {
        url: webhooks::WebhookUrl::parse(&body.url, &state.config)?,
        events: webhooks::parse_events(WebhookFormat::Asyntai, Some(body.events))?,
        bot_id: bot,
        format: WebhookFormat::Asyntai,
        secret: webhooks::generate_secret(),
    };
    let created = webhooks::create(&state, &caller, new).await?;
    let mut webhook = webhook_json(&created.webhook);
    webhook["secret"] = json!(created.secret);
    Ok(Json(json!({"success": true, "webhook": webhook})))
}

/// `DELETE /webhooks/{id}/`.
async fn delete_webhook(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    let id = sitechat_core::WebhookId::parse(&id)?;
    crate::services::webhooks::delete(&state, &caller, &id).await?;
    Ok(Json(json!({"success": true, "message": "Webhook deleted"})))
}
