//! Messaging channels: a bot's connections to Telegram and WhatsApp (`/v1/bots/{id}/channels`),
//! and the webhooks those platforms call (`/channels/{kind}/{channel_id}`).

use std::collections::HashMap;

use axum::{
    body::Bytes,
    extract::{Query, State},
    http::{HeaderMap, StatusCode},
    Json,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sitechat_core::{BotId, ChannelId};
use sitechat_store::ChannelRecord;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    auth::Caller,
    channels::{telegram, whatsapp, ChannelKind},
    error::{ApiError, ApiResult, ErrorBody},
    extract::{ApiJson, ApiPath, ApiQuery},
    routes::{List, PageQuery},
    services::channels::{self, NewChannel},
    state::AppState,
};

/// The management routes (they take a key).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_channel, list_channels))
        .routes(routes!(get_channel, delete_channel))
}

/// The platforms' webhooks (authenticated by each platform's secret, not a key).
pub fn inbound_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(telegram_update))
        .routes(routes!(whatsapp_verify, whatsapp_notification))
}

/// A channel to connect. `kind` says which fields apply.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateChannelBody {
    /// `telegram` or `whatsapp`.
    #[schema(example = "telegram")]
    pub kind: String,
    /// telegram: the token BotFather gave (`123456:ABC-…`).
    pub bot_token: Option<String>,
    /// telegram: the Bot API's base URL (default `https://api.telegram.org`).
    pub api_base: Option<String>,
    /// whatsapp: the phone number id of WhatsApp Manager's API setup.
    pub phone_number_id: Option<String>,
    /// whatsapp: a system user's access token with `whatsapp_business_messaging`.
    pub access_token: Option<String>,
    /// whatsapp: the Meta app's secret, which signs webhooks (`X-Hub-Signature-256`).
    pub app_secret: Option<String>,
    /// whatsapp: the token Meta's webhook verification must present (generated when absent).
    pub verify_token: Option<String>,
    /// whatsapp: the Graph API's base URL (default `https://graph.facebook.com`).
    pub graph_base: Option<String>,
    /// whatsapp: the Graph API version (default `v21.0`).
    pub api_version: Option<String>,
    /// Where the platform reaches this server (default: the scheme and host of this request):
    /// the channel's webhook is `{webhook_base_url}/channels/{kind}/{channel_id}`.
    pub webhook_base_url: Option<String>,
}

/// A connected channel. Its credentials are never shown.
#[derive(Serialize, ToSchema)]
pub struct ChannelView {
    /// Channel id (`chn_…`).
    pub id: ChannelId,
    pub bot_id: BotId,
    /// `telegram` or `whatsapp`.
    pub kind: String,
    /// Where the platform sends this channel's updates.
    pub webhook_url: String,
    /// telegram: the Bot API's base URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_base: Option<String>,
    /// whatsapp: the Graph API's base URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub graph_base: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number_id: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
}

impl From<ChannelRecord> for ChannelView {
    fn from(c: ChannelRecord) -> Self {
        let text = |field: &str| c.settings[field].as_str().map(str::to_owned);
        ChannelView {
            webhook_url: text("webhook_url").unwrap_or_default(),
            api_base: text("api_base"),
            graph_base: text("graph_base"),
            api_version: text("api_version"),
            phone_number_id: text("phone_number_id"),
            id: c.id,
            bot_id: c.bot_id,
            kind: c.kind,
            created_at: c.created_at,
        }
    }
}

/// A channel just connected: the only time its WhatsApp verify token is shown.
#[derive(Serialize, ToSchema)]
pub struct CreatedChannel {
    #[serde(flatten)]
    pub channel: ChannelView,
    /// whatsapp: enter it, with `webhook_url`, in the Meta app's webhook settings. Not shown
    /// again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify_token: Option<String>,
}

/// A required credential of a kind, present and plausible.
fn required(kind: &str, field: &str, value: Option<String>) -> ApiResult<String> {
    let value = value.map(|v| v.trim().to_owned()).unwrap_or_default();
    if value.is_empty() {
        return Err(ApiError::invalid(format!(
            "{field}: required for a {kind} channel"
        )));
    }
    if value.len() > 1024 || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ApiError::invalid(format!(
            "{field}: must be at most 1024 characters, without spaces"
        )));
    }
    Ok(value)
}

/// Fields that belong to the other kind are refused rather than ignored.
fn unused(kind: &str, fields: &[(&str, bool)]) -> ApiResult<()> {
    match fields.iter().find(|(_, given)| *given) {
        Some((field, _)) => Err(ApiError::invalid(format!(
            "{field}: not a setting of a {kind} channel"
        ))),
        None => Ok(()),
    }
}

fn parse_new(state: &AppState, body: CreateChannelBody) -> ApiResult<NewChannel> {
    let kind = body.kind.trim().to_ascii_lowercase();
    match ChannelKind::parse(&kind) {
        Some(ChannelKind::Telegram) => {
            unused(
                &kind,
                &[
                    ("phone_number_id", body.phone_number_id.is_some()),
                    ("access_token", body.access_token.is_some()),
                    ("app_secret", body.app_secret.is_some()),
                    ("verify_token", body.verify_token.is_some()),
                    ("graph_base", body.graph_base.is_some()),
                    ("api_version", body.api_version.is_some()),
                ],
            )?;
            let bot_token = required(&kind, "bot_token", body.bot_token)?;
            if !bot_token.contains(':') {
                return Err(ApiError::invalid(
                    "bot_token: a Telegram bot token looks like 123456789:AAE…, as BotFather gives it",
                ));
            }
            Ok(NewChannel::Telegram {
                bot_token,
                api_base: channels::parse_base(
                    "api_base",
                    body.api_base.as_deref(),
                    telegram::DEFAULT_API_BASE,
                    state,
                )?,
            })
        }
        Some(ChannelKind::WhatsApp) => {
            unused(
                &kind,
                &[
                    ("bot_token", body.bot_token.is_some()),
                    ("api_base", body.api_base.is_some()),
                ],
            )?;
            let phone_number_id = required(&kind, "phone_number_id", body.phone_number_id)?;
            if !phone_number_id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ApiError::invalid(
                    "phone_number_id: the phone number id is digits (WhatsApp Manager, API setup); it is not the phone number",
                ));
            }
            let api_version = body
                .api_version
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| whatsapp::DEFAULT_API_VERSION.to_owned());
            let valid_version = api_version.strip_prefix('v').is_some_and(|n| {
                !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit() || b == b'.')
            });
            if !valid_version {
                return Err(ApiError::invalid(format!(
                    "api_version: `{api_version}` is not a Graph API version, like v21.0"
                )));
            }
            let verify_token = match body.verify_token {
                Some(token) => Some(required(&kind, "verify_token", Some(token))?),
                None => None,
            };
            Ok(NewChannel::WhatsApp {
                phone_number_id,
                access_token: required(&kind, "access_token", body.access_token)?,
                app_secret: required(&kind, "app_secret", body.app_secret)?,
                verify_token,
                graph_base: channels::parse_base(
                    "graph_base",
                    body.graph_base.as_deref(),
                    whatsapp::DEFAULT_GRAPH_BASE,
                    state,
                )?,
                api_version,
            })
        }
        None => Err(ApiError::invalid(format!(
            "kind: `{}` is not a channel kind; use telegram or whatsapp",
            body.kind
        ))),
    }
}

/// Where the platform reaches this server: the body's `webhook_base_url`, else this request's
/// scheme and host.
fn webhook_base(state: &AppState, headers: &HeaderMap, given: Option<&str>) -> ApiResult<String> {
    if let Some(given) = given.map(str::trim).filter(|g| !g.is_empty()) {
        let url = url::Url::parse(given).map_err(|e| {
            ApiError::invalid(format!(
                "webhook_base_url: `{given}` is not an absolute URL ({e})"
            ))
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.query().is_some() {
            return Err(ApiError::invalid(
                "webhook_base_url: give the http(s) address this server is reached at, like https://chat.example.com",
            ));
        }
        return Ok(url.as_str().trim_end_matches('/').to_owned());
    }
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1:8080");
    let scheme = if crate::sessions::is_https(state, headers) {
        "https"
    } else {
        "http"
    };
    Ok(format!("{scheme}://{host}"))
}

/// A platform's webhook body: JSON (415 for another content type, 400 when it does not parse),
/// checked before the channel or its credentials are looked at, like any JSON route.
fn json_body(headers: &HeaderMap, body: &[u8]) -> ApiResult<()> {
    let json = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim()
                .to_ascii_lowercase()
                .starts_with("application/json")
        });
    if !json {
        return Err(ApiError::not_json());
    }
    serde_json::from_slice::<serde::de::IgnoredAny>(body)
        .map_err(|e| ApiError::invalid(format!("the body is not valid JSON: {e}")))?;
    Ok(())
}

fn ids(id: &str, channel: &str) -> ApiResult<(BotId, ChannelId)> {
    Ok((BotId::parse(id)?, ChannelId::parse(channel)?))
}

/// Connects a messaging channel to a bot. Credentials are sealed and never shown again; a
/// Telegram channel sets its webhook now (a token Telegram refuses is a 400), a WhatsApp channel
/// returns the `webhook_url` and `verify_token` to enter in the Meta app. One channel of each
/// kind per bot (409 for a second).
#[utoipa::path(post, path = "/v1/bots/{id}/channels", tag = "channels", request_body = CreateChannelBody,
    params(("id" = String, Path, description = "Bot id (`bot_…`)")),
    responses((status = 201, body = CreatedChannel), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 503, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn create_channel(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<CreateChannelBody>,
) -> ApiResult<(StatusCode, Json<CreatedChannel>)> {
    let bot = BotId::parse(&id)?;
    let base = webhook_base(&state, &headers, body.webhook_base_url.as_deref())?;
    let new = parse_new(&state, body)?;
    let created = channels::create(&state, &caller, &bot, &base, new).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedChannel {
            channel: created.channel.into(),
            verify_token: created.verify_token,
        }),
    ))
}

/// A bot's channels, oldest first; credentials are never shown.
#[utoipa::path(get, path = "/v1/bots/{id}/channels", tag = "channels",
    params(("id" = String, Path, description = "Bot id (`bot_…`)"), PageQuery),
    responses((status = 200, body = List<ChannelView>), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn list_channels(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<List<ChannelView>>> {
    let bot = BotId::parse(&id)?;
    let page = channels::list(&state, &caller, &bot, page.parse()?).await?;
    Ok(Json(List::from_page(page, ChannelView::from)))
}

/// One channel of a bot.
#[utoipa::path(get, path = "/v1/bots/{id}/channels/{channel_id}", tag = "channels",
    params(("id" = String, Path, description = "Bot id"), ("channel_id" = String, Path, description = "Channel id (`chn_…`)")),
    responses((status = 200, body = ChannelView), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn get_channel(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, channel)): ApiPath<(String, String)>,
) -> ApiResult<Json<ChannelView>> {
    let (bot, channel) = ids(&id, &channel)?;
    Ok(Json(
        channels::get(&state, &caller, &bot, &channel).await?.into(),
    ))
}

/// Disconnects a channel: its webhook answers 404 from now on and messages still waiting to go
/// out through it are dropped.
#[utoipa::path(delete, path = "/v1/bots/{id}/channels/{channel_id}", tag = "channels",
    params(("id" = String, Path, description = "Bot id"), ("channel_id" = String, Path, description = "Channel id (`chn_…`)")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn delete_channel(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, channel)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    let (bot, channel) = ids(&id, &channel)?;
    channels::delete(&state, &caller, &bot, &channel).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Telegram's updates for a channel (set with `setWebhook`). Accepted only with the channel's
/// `X-Telegram-Bot-Api-Secret-Token` (401 otherwise, nothing stored); an update already
/// processed (same `update_id`) is acknowledged and not processed again.
#[utoipa::path(post, path = "/channels/telegram/{channel_id}", tag = "channels",
    request_body(content = Object, description = "A Telegram `Update`"),
    params(("channel_id" = String, Path, description = "Channel id (`chn_…`)"),
        ("X-Telegram-Bot-Api-Secret-Token" = String, Header, description = "The secret token given to setWebhook")),
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 415, body = ErrorBody)))]
pub async fn telegram_update(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    json_body(&headers, &body)?;
    channels::receive(&state, ChannelKind::Telegram, &id, &headers, &body).await?;
    Ok(Json(json!({"ok": true})))
}

/// Meta's webhook verification: answers `hub.challenge` when `hub.mode` is `subscribe` and
/// `hub.verify_token` is the channel's (403 otherwise).
#[utoipa::path(get, path = "/channels/whatsapp/{channel_id}", tag = "channels",
    params(("channel_id" = String, Path, description = "Channel id (`chn_…`)"),
        ("hub.mode" = Option<String>, Query, description = "`subscribe`"),
        ("hub.verify_token" = Option<String>, Query, description = "The channel's verify token"),
        ("hub.challenge" = Option<String>, Query, description = "Echoed back")),
    responses((status = 200, body = String, content_type = "text/plain"), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn whatsapp_verify(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<String> {
    let field = |name: &str| query.get(name).map(String::as_str);
    channels::verify_subscription(
        &state,
        &id,
        field("hub.mode"),
        field("hub.verify_token"),
        field("hub.challenge"),
    )
    .await
}

/// WhatsApp's messages and statuses for a channel. Accepted only with `X-Hub-Signature-256`, the
/// HMAC-SHA256 of the raw body under the app secret (401 otherwise, nothing stored); a message
/// already processed (same message id) is acknowledged and not processed again.
#[utoipa::path(post, path = "/channels/whatsapp/{channel_id}", tag = "channels",
    request_body(content = Object, description = "A WhatsApp Cloud API webhook notification"),
    params(("channel_id" = String, Path, description = "Channel id (`chn_…`)"),
        ("X-Hub-Signature-256" = String, Header, description = "`sha256=` and the hex HMAC-SHA256 of the body under the app secret")),
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 415, body = ErrorBody)))]
pub async fn whatsapp_notification(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    json_body(&headers, &body)?;
    channels::receive(&state, ChannelKind::WhatsApp, &id, &headers, &body).await?;
    Ok(Json(json!({"ok": true})))
}
