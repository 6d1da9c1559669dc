//! Webhook endpoints of the caller's account and their delivery log.

use axum::{extract::State, http::StatusCode, Json};
use serde::{Deserialize, Serialize};
use sitechat_core::{BotId, WebhookId};
use sitechat_store::{
    AttemptRecord, DeliveryRecord, DeliveryState, WebhookRecord, DELIVERY_PREFIX,
};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    auth::Caller,
    error::{ApiError, ApiResult, ErrorBody},
    extract::{ApiJson, ApiPath, ApiQuery},
    routes::{conversations::parse_time, List, PageQuery},
    services::webhooks::{self, CreateWebhook, WebhookUrl},
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_webhook, list_webhooks))
        .routes(routes!(get_webhook, update_webhook, delete_webhook))
        .routes(routes!(rotate_secret))
        .routes(routes!(test_webhook))
        .routes(routes!(list_deliveries))
        .routes(routes!(redeliver_one))
        .routes(routes!(redeliver_failed))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookBody {
    /// Where deliveries are POSTed; https (http only when the server allows it).
    pub url: String,
    /// Event types to receive, or `["*"]` for all.
    pub events: Option<Vec<String>>,
    /// Only events of this bot.
    pub bot_id: Option<String>,
    /// The signing secret (16 to 200 visible characters); generated (`whsec_…`) when absent.
    pub secret: Option<String>,
    /// The payload shape of deliveries: `sitechat` (the default, `{id, type, created_at, data}`),
    /// or the shape a seed service's document shows: `aisa` (`{event, timestamp, data}`, AISA's
    /// events), `asyntai` (the same envelope with Asyntai's names and events) or `aimylogic`
    /// (the Chat API's array of `{token, clientId, questionId, data, …}`, for replies to
    /// asynchronous requests and agents' replies). `events` are then the format's event names;
    /// see docs/dialects.md.
    #[schema(example = "sitechat")]
    pub format: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhookBody {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    /// `false` pauses the endpoint: pending deliveries wait and no new ones are queued; `true`
    /// resumes it, also after an automatic disable.
    pub active: Option<bool>,
}

/// An endpoint. Its secret is never shown again after creation or rotation.
#[derive(Serialize, ToSchema)]
pub struct WebhookView {
    pub id: WebhookId,
    pub url: String,
    pub events: Vec<String>,
    pub bot_id: Option<BotId>,
    /// The payload shape of deliveries: `sitechat`, `aisa`, `asyntai` or `aimylogic`.
    pub format: String,
    pub active: bool,
    /// Why the endpoint was disabled automatically.
    pub disabled_reason: Option<String>,
    /// Until when the secret replaced by the last rotation still signs deliveries.
    #[serde(with = "time::serde::rfc3339::option")]
    pub previous_secret_expires_at: Option<time::OffsetDateTime>,
    /// Since when every attempt has failed (absent while deliveries succeed).
    #[serde(with = "time::serde::rfc3339::option")]
    pub failing_since: Option<time::OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_success_at: Option<time::OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: time::OffsetDateTime,
}

impl From<WebhookRecord> for WebhookView {
    fn from(w: WebhookRecord) -> Self {
        WebhookView {
            id: w.id,
            url: w.url,
            events: w.events,
            bot_id: w.bot_id,
            format: w.format.as_str().to_owned(),
            active: w.active,
            disabled_reason: w.disabled_reason,
            previous_secret_expires_at: w.previous_secret_expires_at,
            failing_since: w.failing_since,
            last_success_at: w.last_success_at,
            created_at: w.created_at,
            updated_at: w.updated_at,
        }
    }
}

/// An endpoint with its secret: the only time the secret is shown.
#[derive(Serialize, ToSchema)]
pub struct WebhookWithSecret {
    #[serde(flatten)]
    pub webhook: WebhookView,
    /// The signing secret. Store it now: it is not shown again.
    pub secret: String,
}

/// One attempt of a delivery.
#[derive(Serialize, ToSchema)]
pub struct AttemptView {
    pub attempt: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: time::OffsetDateTime,
    /// HTTP status answered (absent on timeouts and connection errors).
    pub status: Option<u16>,
    pub latency_ms: i64,
    /// The first KiB of the response body.
    pub response_excerpt: Option<String>,
    pub error: Option<String>,
}

impl From<AttemptRecord> for AttemptView {
    fn from(a: AttemptRecord) -> Self {
        AttemptView {
            attempt: a.attempt,
            started_at: a.started_at,
            status: a.status,
            latency_ms: a.latency_ms,
            response_excerpt: a.response_excerpt,
            error: a.error,
        }
    }
}

/// One event sent (or to be sent) to one endpoint, with its attempts.
#[derive(Serialize, ToSchema)]
pub struct DeliveryView {
    /// Delivery id (`dlv_…`).
    pub id: String,
    pub webhook_id: WebhookId,
    /// The event id, sent as `webhook-id` (the same on every attempt and redelivery).
    pub event_id: String,
    pub event_type: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    pub attempt_count: i64,
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_attempt_at: Option<time::OffsetDateTime>,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub delivered_at: Option<time::OffsetDateTime>,
    /// The body sent, in the endpoint's format (`{id, type, created_at, data}` for sitechat's;
    /// an array for Aimylogic's).
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    pub attempts: Vec<AttemptView>,
}

impl From<DeliveryRecord> for DeliveryView {
    fn from(d: DeliveryRecord) -> Self {
        DeliveryView {
            id: d.id,
            webhook_id: d.webhook_id,
            event_id: d.event_id.to_string(),
            event_type: d.event_type,
            state: d.state.as_str().to_owned(),
            attempt_count: d.attempt_count,
            next_attempt_at: d.next_attempt_at,
            last_status: d.last_status,
            last_error: d.last_error,
            created_at: d.created_at,
            delivered_at: d.delivered_at,
            payload: d.payload,
            attempts: d.attempts.into_iter().map(AttemptView::from).collect(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// `pending`, `delivered` or `failed`.
    pub state: Option<String>,
    /// How many items to return, 1 to 100 (default 20).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeliverBody {
    /// Redeliver every failed delivery created at or after this time (RFC 3339).
    pub since: String,
}

#[derive(Serialize, ToSchema)]
pub struct Redelivered {
    /// How many deliveries were queued again.
    pub redelivered: u64,
}

fn webhook_id(id: &str) -> ApiResult<WebhookId> {
    Ok(WebhookId::parse(id)?)
}

fn delivery_id(id: &str) -> ApiResult<String> {
    let ok = id.strip_prefix(DELIVERY_PREFIX).is_some_and(|rest| {
        !rest.is_empty() && rest.len() <= 64 && rest.bytes().all(|b| b.is_ascii_alphanumeric())
    });
    if ok {
        Ok(id.to_owned())
    } else {
        Err(ApiError::not_found(format!(
            "delivery `{}`",
            id.chars().take(80).collect::<String>()
        )))
    }
}

/// Creates an endpoint. The URL must be public (SSRF guard) and https unless the server allows
/// http; events are known types or `*`. The secret is in this response and nowhere else.
#[utoipa::path(post, path = "/v1/webhooks", tag = "webhooks", request_body = CreateWebhookBody,
    responses((status = 201, body = WebhookWithSecret), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn create_webhook(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateWebhookBody>,
) -> ApiResult<(StatusCode, Json<WebhookWithSecret>)> {
    let url = WebhookUrl::parse(&body.url, &state.config)?;
    let format = webhooks::parse_format(body.format.as_deref())?;
    let events = webhooks::parse_events(format, body.events)?;
    let bot_id = match crate::routes::non_empty(body.bot_id) {
        Some(bot) => {
            Some(BotId::parse(&bot).map_err(|e| ApiError::invalid(format!("bot_id: {e}")))?)
        }
        None => None,
    };
    let secret = webhooks::parse_secret(body.secret)?;
    let created = webhooks::create(
        &state,
        &caller,
        CreateWebhook {
            url,
            events,
            bot_id,
            format,
            secret,
        },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(WebhookWithSecret {
            webhook: created.webhook.into(),
            secret: created.secret,
        }),
    ))
}

/// Lists the account's endpoints, oldest first; secrets are never shown.
#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks", params(PageQuery),
    responses((status = 200, body = List<WebhookView>)), security(("bearer" = []), ("api_key" = [])))]
pub async fn list_webhooks(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<List<WebhookView>>> {
    let page = webhooks::list(&state, &caller, page.parse()?).await?;
    Ok(Json(List::from_page(page, WebhookView::from)))
}

/// One endpoint of the account.
#[utoipa::path(get, path = "/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = String, Path, description = "Webhook id (`whk_…`)")),
    responses((status = 200, body = WebhookView), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn get_webhook(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<WebhookView>> {
    let id = webhook_id(&id)?;
    Ok(Json(webhooks::get(&state, &caller, &id).await?.into()))
}

/// Changes the URL (checked like at creation), the events, or pauses and resumes the endpoint.
#[utoipa::path(patch, path = "/v1/webhooks/{id}", tag = "webhooks", request_body = UpdateWebhookBody,
    params(("id" = String, Path, description = "Webhook id (`whk_…`)")),
    responses((status = 200, body = WebhookView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn update_webhook(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateWebhookBody>,
) -> ApiResult<Json<WebhookView>> {
    let id = webhook_id(&id)?;
    let url = body
        .url
        .as_deref()
        .map(|u| WebhookUrl::parse(u, &state.config))
        .transpose()?;
    let webhook = webhooks::update(&state, &caller, &id, url, body.events, body.active).await?;
    Ok(Json(webhook.into()))
}

/// Deletes an endpoint and its delivery log; pending deliveries are dropped.
#[utoipa::path(delete, path = "/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = String, Path, description = "Webhook id (`whk_…`)")),
    responses((status = 204), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn delete_webhook(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let id = webhook_id(&id)?;
    webhooks::delete(&state, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replaces the secret. The new one is in this response only; the old one keeps signing (a
/// second signature) until `previous_secret_expires_at`.
#[utoipa::path(post, path = "/v1/webhooks/{id}/rotate", tag = "webhooks",
    params(("id" = String, Path, description = "Webhook id (`whk_…`)")),
    responses((status = 200, body = WebhookWithSecret), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn rotate_secret(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<WebhookWithSecret>> {
    let id = webhook_id(&id)?;
    let rotated = webhooks::rotate(&state, &caller, &id).await?;
    Ok(Json(WebhookWithSecret {
        webhook: rotated.webhook.into(),
        secret: rotated.secret,
    }))
}

/// Queues a `webhook.test` delivery to this endpoint only.
#[utoipa::path(post, path = "/v1/webhooks/{id}/test", tag = "webhooks",
    params(("id" = String, Path, description = "Webhook id (`whk_…`)")),
    responses((status = 202, body = DeliveryView), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn test_webhook(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<(StatusCode, Json<DeliveryView>)> {
    let id = webhook_id(&id)?;
    let delivery = webhooks::test(&state, &caller, &id).await?;
    Ok((StatusCode::ACCEPTED, Json(delivery.into())))
}

/// The endpoint's deliveries, newest first, each with its attempts.
#[utoipa::path(get, path = "/v1/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = String, Path, description = "Webhook id (`whk_…`)"), DeliveryQuery),
    responses((status = 200, body = List<DeliveryView>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn list_deliveries(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<DeliveryQuery>,
) -> ApiResult<Json<List<DeliveryView>>> {
    let id = webhook_id(&id)?;
    let filter = match crate::routes::non_empty(query.state) {
        Some(s) => Some(DeliveryState::parse(&s).ok_or_else(|| {
            ApiError::invalid(format!(
                "state: `{s}` is not a state; use pending, delivered or failed"
            ))
        })?),
        None => None,
    };
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    }
    .parse()?;
    let page = webhooks::deliveries(&state, &caller, &id, filter, page).await?;
    Ok(Json(List::from_page(page, DeliveryView::from)))
}

/// Sends one delivery again now, with a fresh retry schedule (same event id).
#[utoipa::path(post, path = "/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver", tag = "webhooks",
    params(("id" = String, Path, description = "Webhook id (`whk_…`)"),
        ("delivery_id" = String, Path, description = "Delivery id (`dlv_…`)")),
    responses((status = 202, body = DeliveryView), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn redeliver_one(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, delivery)): ApiPath<(String, String)>,
) -> ApiResult<(StatusCode, Json<DeliveryView>)> {
    let id = webhook_id(&id)?;
    let delivery = delivery_id(&delivery)?;
    let delivery = webhooks::redeliver(&state, &caller, &id, &delivery).await?;
    Ok((StatusCode::ACCEPTED, Json(delivery.into())))
}

/// Sends again every failed delivery of the endpoint created since a time.
#[utoipa::path(post, path = "/v1/webhooks/{id}/redeliver", tag = "webhooks", request_body = RedeliverBody,
    params(("id" = String, Path, description = "Webhook id (`whk_…`)")),
    responses((status = 202, body = Redelivered), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn redeliver_failed(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<RedeliverBody>,
) -> ApiResult<(StatusCode, Json<Redelivered>)> {
    let id = webhook_id(&id)?;
    let since = parse_time("since", Some(body.since.trim()))?
        .ok_or_else(|| ApiError::invalid("since: give an RFC 3339 time"))?;
    let redelivered = webhooks::redeliver_failed(&state, &caller, &id, since).await?;
    Ok((StatusCode::ACCEPTED, Json(Redelivered { redelivered })))
}
