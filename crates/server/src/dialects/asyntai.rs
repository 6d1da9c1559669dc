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
    middleware,
    response::{IntoResponse, Response},
    Json, Router,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sitechat_core::{
    model::{Bot, Role, SourceKind},
    random_token,
    validate::{ChatText, ExternalId, HttpUrl, SourceTitle, TextContent},
    Plan, SourceId, WebhookId,
};
use sitechat_store::{LeadFilter, PageRequest};
use utoipa::{IntoParams, OpenApi, ToSchema};
use utoipa_axum::{
    router::{OpenApiRouter, UtoipaMethodRouter},
    routes,
};

use super::{rfc3339, Document, KeySchemes};
use crate::{
    auth::{self, Caller},
    error::{ApiError, ApiResult},
    extract::{ApiJson, ApiMultipart, ApiPath, ApiQuery},
    routes::docs::Credential,
    services::{chat, conversations, knowledge},
    state::AppState,
};

/// Where the dialect is mounted: the seed's base URL (`https://asyntai.com/api/v1/`).
pub const BASE: &str = "/compat/asyntai/api/v1";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Asyntai API (sitechat dialect)",
        description = "Asyntai's REST API, spoken by sitechat: a client written for Asyntai works \
            by changing its base URL to this server's `/compat/asyntai/api/v1/` and using a \
            sitechat API key (`Authorization: Bearer` or `X-API-Key`). Chat in sessions, websites, \
            sessions, conversation history, leads, account usage, the knowledge base and webhooks. \
            Every path also works without its trailing slash. API access requires a paid plan: an \
            account on the free plan gets 403. Errors are \
            `{\"success\": false, \"error\": \"…\"}`."
    ),
    modifiers(&KeySchemes),
    components(schemas(AsyntaiError))
)]
struct Doc;

/// Adds a route at its documented path (the seed's, with its trailing slash) and, undocumented,
/// at the same path without the slash.
fn with_and_without_slash(
    router: OpenApiRouter<AppState>,
    route: UtoipaMethodRouter<AppState>,
) -> OpenApiRouter<AppState> {
    let bare: Vec<String> = route
        .1
        .paths
        .keys()
        .map(|path| path.trim_end_matches('/').to_owned())
        .collect();
    let method_router = route.2.clone();
    bare.iter().fold(router.routes(route), |router, path| {
        router.route(path, method_router.clone())
    })
}

/// The dialect's routes and their document, both from the handlers' annotations.
pub fn router(state: AppState) -> (Router, Document) {
    let (router, spec) = [
        routes!(chat),
        routes!(websites),
        routes!(history),
        routes!(sessions),
        routes!(leads),
        routes!(account),
        routes!(list_knowledge),
        routes!(add_text),
        routes!(add_url),
        routes!(add_spreadsheet),
        routes!(delete_knowledge),
        routes!(list_webhooks, create_webhook),
        routes!(delete_webhook),
    ]
    .into_iter()
    .fold(
        OpenApiRouter::with_openapi(Doc::openapi()),
        with_and_without_slash,
    )
    .split_for_parts();
    let router = router
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
        .with_state(state);
    (
        router,
        Document::new("asyntai", BASE, spec, Credential::Key, "AsyntaiError"),
    )
}

/// Asyntai's error body.
#[derive(Serialize, ToSchema)]
struct AsyntaiError {
    /// Always false.
    success: bool,
    /// What went wrong and how to fix it.
    error: String,
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
            let body = AsyntaiError {
                success: false,
                error: e.message.clone(),
            };
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

/// The host name of a website's URL.
fn domain(url: Option<&str>) -> Option<String> {
    url.and_then(|u| url::Url::parse(u).ok())
        .and_then(|u| u.host_str().map(str::to_owned))
}

/// A website's id, as a number or a string (the document uses both).
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)] // read as JSON by `website_number`; this type documents its shape
enum WebsiteId {
    Number(i64),
    Text(String),
}

/// A user's message.
#[derive(Deserialize, ToSchema)]
#[schema(as = ChatRequest)]
struct ChatBody {
    #[schema(example = "What are your business hours?")]
    message: String,
    /// The session to continue (a new `session_…` id is made without one).
    #[schema(example = "user_123")]
    session_id: Option<String>,
    /// The website (default: the primary website).
    #[schema(value_type = Option<WebsiteId>)]
    website_id: Option<Value>,
}

/// The AI's response.
#[derive(Serialize, ToSchema)]
struct ChatReply {
    /// Always true.
    success: bool,
    /// The response; while a person owns the conversation, the notice the bot shows instead.
    response: String,
    session_id: String,
}

/// `POST /chat/`: a visitor message in a session; the reply and the session id.
#[utoipa::path(post, path = "/chat/", request_body = ChatBody,
    responses((status = 200, body = ChatReply)), security(("bearer" = []), ("api_key" = [])))]
async fn chat(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ChatBody>,
) -> ApiResult<Json<ChatReply>> {
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
    Ok(Json(ChatReply {
        success: true,
        response,
        session_id: session,
    }))
}

/// The account's websites.
#[derive(Serialize, ToSchema)]
struct Websites {
    /// Always true.
    success: bool,
    websites: Vec<Website>,
}

/// A website: a bot.
#[derive(Serialize, ToSchema)]
struct Website {
    /// The bot's `website_id`.
    id: i64,
    name: String,
    /// The host of the bot's website URL.
    domain: Option<String>,
    /// Whether it is the account's first bot.
    is_primary: bool,
}

/// `GET /websites/`: the account's bots as websites.
#[utoipa::path(get, path = "/websites/", responses((status = 200, body = Websites)), security(("bearer" = []), ("api_key" = [])))]
async fn websites(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Websites>> {
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
    let websites = page
        .items
        .iter()
        .map(|b| Website {
            id: b.website_id,
            name: b.name.clone(),
            domain: domain(b.website_url.as_deref()),
            is_primary: Some(&b.id) == primary.as_ref(),
        })
        .collect();
    Ok(Json(Websites {
        success: true,
        websites,
    }))
}

/// A `limit` query parameter: the document gives each a maximum of 100, so a larger one is
/// capped at 100 rather than refused; 0 is refused.
fn limit(value: Option<u64>, default: u32) -> ApiResult<u32> {
    match value.unwrap_or(u64::from(default)) {
        0 => Err(ApiError::invalid("limit must be at least 1 (got 0)")),
        n => Ok(u32::try_from(n.min(100)).unwrap_or(100)),
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct HistoryQuery {
    /// The session (required).
    session_id: Option<String>,
    /// Most messages to return (default 50, at most 100: larger is capped).
    limit: Option<u64>,
}

/// A session's conversation history.
#[derive(Serialize, ToSchema)]
struct History {
    /// Always true.
    success: bool,
    session_id: String,
    /// Oldest first.
    messages: Vec<HistoryMessage>,
}

#[derive(Serialize, ToSchema)]
struct HistoryMessage {
    /// `user` (the visitor) or `assistant` (the bot or an agent).
    role: &'static str,
    content: String,
    /// RFC 3339.
    timestamp: String,
}

/// `GET /conversations/?session_id`: the session's latest conversation, oldest message first.
#[utoipa::path(get, path = "/conversations/", params(HistoryQuery),
    responses((status = 200, body = History)), security(("bearer" = []), ("api_key" = [])))]
async fn history(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> ApiResult<Json<History>> {
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
    let messages = page
        .items
        .into_iter()
        .filter(|m| m.role != Role::System)
        .map(|m| HistoryMessage {
            role: if m.role == Role::Visitor {
                "user"
            } else {
                "assistant"
            },
            content: m.text,
            timestamp: m
                .created_at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
        })
        .collect();
    Ok(Json(History {
        success: true,
        session_id: session,
        messages,
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct SessionsQuery {
    /// Most sessions to return (default 20, at most 100: larger is capped).
    limit: Option<u64>,
    /// Only this website's sessions.
    website_id: Option<String>,
    /// Only sessions of this source: `widget`, `api`, `whatsapp`, …
    source: Option<String>,
}

/// Recent sessions, newest first.
#[derive(Serialize, ToSchema)]
struct Sessions {
    /// Always true.
    success: bool,
    sessions: Vec<Session>,
}

#[derive(Serialize, ToSchema)]
struct Session {
    /// Pass to `/conversations/`.
    session_id: String,
    /// The conversation's channel.
    source: String,
    message_count: i64,
    first_message: Option<String>,
    /// RFC 3339.
    first_message_at: Option<String>,
    /// RFC 3339.
    last_message_at: String,
    website_domain: Option<String>,
}

/// `GET /sessions/`: recent sessions, newest first, by website and source (channel).
#[utoipa::path(get, path = "/sessions/", params(SessionsQuery),
    responses((status = 200, body = Sessions)), security(("bearer" = []), ("api_key" = [])))]
async fn sessions(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<SessionsQuery>,
) -> ApiResult<Json<Sessions>> {
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
    let sessions = rows
        .into_iter()
        .map(|s| Session {
            website_domain: domain(s.website_url.as_deref()),
            session_id: s
                .external_id
                .unwrap_or_else(|| s.conversation_id.to_string()),
            source: s.channel,
            message_count: s.message_count,
            first_message: s.first_message,
            first_message_at: s.first_message_at.map(rfc3339),
            last_message_at: rfc3339(s.last_message_at),
        })
        .collect();
    Ok(Json(Sessions {
        success: true,
        sessions,
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct LeadsQuery {
    /// Most leads to return (default 50, at most 100: larger is capped).
    limit: Option<u64>,
    /// Only this website's leads.
    website_id: Option<String>,
}

/// Captured leads.
#[derive(Serialize, ToSchema)]
struct Leads {
    /// Always true.
    success: bool,
    leads: Vec<Lead>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = AsyntaiLead)]
struct Lead {
    /// The visitor's session.
    session_id: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    /// Always null: sitechat does not record the page.
    page_url: Option<String>,
    /// RFC 3339: when the session started.
    started_at: String,
}

/// `GET /leads/`: captured emails and phone numbers.
#[utoipa::path(get, path = "/leads/", params(LeadsQuery),
    responses((status = 200, body = Leads)), security(("bearer" = []), ("api_key" = [])))]
async fn leads(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<LeadsQuery>,
) -> ApiResult<Json<Leads>> {
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
        leads.push(Lead {
            session_id: l.external_id,
            email: l.email,
            phone: l.phone,
            page_url: None,
            started_at: rfc3339(started.unwrap_or(l.created_at)),
        });
    }
    Ok(Json(Leads {
        success: true,
        leads,
    }))
}

/// The account and its usage.
#[derive(Serialize, ToSchema)]
struct AccountReply {
    /// Always true.
    success: bool,
    account: Account,
}

#[derive(Serialize, ToSchema)]
#[schema(as = AsyntaiAccount)]
struct Account {
    /// Always null: sitechat accounts have no e-mail address.
    email: Option<String>,
    name: String,
    plan: Plan,
    /// Messages answered this calendar month (UTC).
    messages_used: i64,
    /// The plan's monthly messages; null: no limit.
    messages_limit: Option<u32>,
}

/// `GET /account/`: plan and this month's message usage.
#[utoipa::path(get, path = "/account/", responses((status = 200, body = AccountReply)), security(("bearer" = []), ("api_key" = [])))]
async fn account(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<AccountReply>> {
    let used = crate::services::accounts::usage(&state, &caller)
        .await?
        .messages_this_month;
    Ok(Json(AccountReply {
        success: true,
        account: Account {
            email: None,
            name: caller.account.name.clone(),
            plan: caller.account.plan,
            messages_used: used,
            messages_limit: caller.account.plan.limits().messages_per_month,
        },
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct KnowledgeQuery {
    /// Most entries to return (default 50, at most 100: larger is capped).
    limit: Option<u64>,
    /// The website (default: the primary website).
    website_id: Option<String>,
}

/// A website's knowledge base.
#[derive(Serialize, ToSchema)]
struct Entries {
    /// Always true.
    success: bool,
    entries: Vec<Entry>,
}

#[derive(Serialize, ToSchema)]
struct Entry {
    id: SourceId,
    /// `text`, `url`, `spreadsheet`, `file` or `qa`.
    #[serde(rename = "type")]
    kind: &'static str,
    title: String,
    /// What the entry holds, as `Manual text content (150 characters)`.
    description: String,
    /// RFC 3339.
    created_at: String,
}

/// `GET /knowledge/`: the website's knowledge entries.
#[utoipa::path(get, path = "/knowledge/", params(KnowledgeQuery),
    responses((status = 200, body = Entries)), security(("bearer" = []), ("api_key" = [])))]
async fn list_knowledge(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<KnowledgeQuery>,
) -> ApiResult<Json<Entries>> {
    let limit = limit(q.limit, 50)?;
    let bot = website(&state, &caller, &q.website_id.map(Value::String)).await?;
    let page =
        knowledge::list(&state, &caller, &bot.id, PageRequest { limit, after: None }).await?;
    let entries = page
        .items
        .iter()
        .map(|s| {
            let description = match s.kind {
                SourceKind::Text => format!("Manual text content ({} characters)", s.characters),
                SourceKind::Url | SourceKind::Website => {
                    format!("Content from {}", s.url.as_deref().unwrap_or(""))
                }
                SourceKind::Spreadsheet => format!("Spreadsheet ({} rows)", s.chunks),
                SourceKind::File => format!("Uploaded file ({} characters)", s.characters),
                SourceKind::Qa => format!("Curated answers ({} questions)", s.chunks),
            };
            let kind = match s.kind {
                SourceKind::Website => "url",
                other => other.as_str(),
            };
            Entry {
                id: s.id.clone(),
                kind,
                title: s.title.clone(),
                description,
                created_at: rfc3339(s.created_at),
            }
        })
        .collect();
    Ok(Json(Entries {
        success: true,
        entries,
    }))
}

/// Text to add to the knowledge base.
#[derive(Deserialize, ToSchema)]
#[schema(as = AddText)]
struct TextBody {
    #[schema(example = "Return Policy")]
    title: String,
    /// At least 10 characters.
    content: String,
    /// The website (default: the primary website).
    #[schema(value_type = Option<WebsiteId>)]
    website_id: Option<Value>,
}

/// An entry added.
#[derive(Serialize, ToSchema)]
struct Added {
    /// Always true.
    success: bool,
    id: SourceId,
    title: String,
    /// The page's URL (`POST /knowledge/url/` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    chunks_created: usize,
}

impl Added {
    fn of(added: knowledge::Added, with_url: bool) -> Self {
        Self {
            success: true,
            url: if with_url { added.source.url } else { None },
            id: added.source.id,
            title: added.source.title,
            chunks_created: added.chunks_created,
        }
    }
}

/// `POST /knowledge/text/`: adds text to the website's knowledge base.
#[utoipa::path(post, path = "/knowledge/text/", request_body = TextBody,
    responses((status = 200, body = Added)), security(("bearer" = []), ("api_key" = [])))]
async fn add_text(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<TextBody>,
) -> ApiResult<Json<Added>> {
    let bot = website(&state, &caller, &body.website_id).await?;
    let title = SourceTitle::parse("title", &body.title)?;
    let content = TextContent::parse("content", &body.content)?;
    let added = knowledge::add_text(&state, &caller, &bot.id, title, content).await?;
    Ok(Json(Added::of(added, false)))
}

/// A web page to add to the knowledge base.
#[derive(Deserialize, ToSchema)]
#[schema(as = AddUrl)]
struct UrlBody {
    #[schema(example = "https://example.com/faq")]
    url: String,
    /// The website (default: the primary website).
    #[schema(value_type = Option<WebsiteId>)]
    website_id: Option<Value>,
}

/// `POST /knowledge/url/`: fetches a web page into the website's knowledge base.
#[utoipa::path(post, path = "/knowledge/url/", request_body = UrlBody,
    responses((status = 200, body = Added)), security(("bearer" = []), ("api_key" = [])))]
async fn add_url(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<UrlBody>,
) -> ApiResult<Json<Added>> {
    let bot = website(&state, &caller, &body.website_id).await?;
    let url = HttpUrl::parse("url", &body.url)?;
    let added = knowledge::add_url(&state, &caller, &bot.id, url).await?;
    Ok(Json(Added::of(added, true)))
}

/// A spreadsheet upload, as `multipart/form-data`.
#[derive(ToSchema)]
#[allow(dead_code)] // read as multipart by the handler; this type documents its fields
struct SpreadsheetUpload {
    /// A `.csv` or `.xlsx` file whose first row holds the column headers; each row becomes an
    /// entry.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// The website (default: the primary website).
    website_id: Option<String>,
}

/// A spreadsheet added.
#[derive(Serialize, ToSchema)]
struct SheetAdded {
    /// Always true.
    success: bool,
    id: SourceId,
    /// The file's name.
    title: String,
    rows_processed: usize,
    chunks_created: usize,
    /// Rows in the file, beside the documented fields.
    total_rows: usize,
    /// Whether rows beyond the plan's cap were left out.
    truncated: bool,
}

/// `POST /knowledge/spreadsheet/` (multipart `file`, optional `website_id` field).
#[utoipa::path(post, path = "/knowledge/spreadsheet/",
    request_body(content = SpreadsheetUpload, content_type = "multipart/form-data"),
    responses((status = 200, body = SheetAdded)), security(("bearer" = []), ("api_key" = [])))]
async fn add_spreadsheet(
    State(state): State<AppState>,
    caller: Caller,
    ApiMultipart(mut multipart): ApiMultipart,
) -> ApiResult<Json<SheetAdded>> {
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
    Ok(Json(SheetAdded {
        success: true,
        id: sheet.added.source.id,
        title: sheet.added.source.title,
        rows_processed: sheet.rows_processed,
        chunks_created: sheet.added.chunks_created,
        total_rows: sheet.total_rows,
        truncated: sheet.truncated,
    }))
}

/// Something deleted.
#[derive(Serialize, ToSchema)]
struct Deleted {
    /// Always true.
    success: bool,
    /// `Knowledge base entry deleted` or `Webhook deleted`.
    message: &'static str,
}

/// `DELETE /knowledge/{id}/`: deletes an entry of any of the account's websites.
#[utoipa::path(delete, path = "/knowledge/{id}/",
    params(("id" = String, Path, description = "The entry's id (`src_…`)")),
    responses((status = 200, body = Deleted)), security(("bearer" = []), ("api_key" = [])))]
async fn delete_knowledge(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Deleted>> {
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
            return Ok(Json(Deleted {
                success: true,
                message: "Knowledge base entry deleted",
            }));
        }
    }
    Err(ApiError::not_found("knowledge base entry"))
}

/// A webhook to register, in Asyntai's payload format.
#[derive(Deserialize, ToSchema)]
#[schema(as = CreateWebhook)]
struct WebhookBody {
    #[schema(example = "https://example.com/webhook")]
    url: String,
    /// Any of `message.received`, `conversation.started`, `escalation.requested`,
    /// `takeover.started`.
    #[schema(example = json!(["message.received", "escalation.requested"]))]
    events: Vec<String>,
    /// The website (default: the primary website).
    #[schema(value_type = Option<WebsiteId>)]
    website_id: Option<Value>,
}

/// A registered webhook.
#[derive(Serialize, ToSchema)]
struct Webhook {
    id: WebhookId,
    url: String,
    events: Vec<String>,
    is_active: bool,
    /// RFC 3339.
    created_at: String,
    /// The signing secret: in the creation response only.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

impl Webhook {
    fn of(w: &sitechat_store::WebhookRecord) -> Self {
        Self {
            id: w.id.clone(),
            url: w.url.clone(),
            events: w.events.clone(),
            is_active: w.active,
            created_at: rfc3339(w.created_at),
            secret: None,
        }
    }
}

/// The account's webhooks.
#[derive(Serialize, ToSchema)]
struct Webhooks {
    /// Always true.
    success: bool,
    webhooks: Vec<Webhook>,
}

/// A webhook registered.
#[derive(Serialize, ToSchema)]
struct WebhookCreated {
    /// Always true.
    success: bool,
    webhook: Webhook,
}

/// `GET /webhooks/`: the account's webhooks (never their secrets).
#[utoipa::path(get, path = "/webhooks/", responses((status = 200, body = Webhooks)), security(("bearer" = []), ("api_key" = [])))]
async fn list_webhooks(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Webhooks>> {
    let page = crate::services::webhooks::list(
        &state,
        &caller,
        PageRequest {
            limit: 100,
            after: None,
        },
    )
    .await?;
    Ok(Json(Webhooks {
        success: true,
        webhooks: page.items.iter().map(Webhook::of).collect(),
    }))
}

/// `POST /webhooks/`: the secret is shown in this response only.
#[utoipa::path(post, path = "/webhooks/", request_body = WebhookBody,
    responses((status = 200, body = WebhookCreated)), security(("bearer" = []), ("api_key" = [])))]
async fn create_webhook(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<WebhookBody>,
) -> ApiResult<Json<WebhookCreated>> {
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
    let mut webhook = Webhook::of(&created.webhook);
    webhook.secret = Some(created.secret);
    Ok(Json(WebhookCreated {
        success: true,
        webhook,
    }))
}

/// `DELETE /webhooks/{id}/`: deletes a webhook.
#[utoipa::path(delete, path = "/webhooks/{id}/",
    params(("id" = String, Path, description = "The webhook's id (`whk_…`)")),
    responses((status = 200, body = Deleted)), security(("bearer" = []), ("api_key" = [])))]
async fn delete_webhook(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Deleted>> {
    let id = WebhookId::parse(&id)?;
    crate::services::webhooks::delete(&state, &caller, &id).await?;
    Ok(Json(Deleted {
        success: true,
        message: "Webhook deleted",
    }))
}
