//! Webhook endpoints and their transactional outbox.
//!
//! A delivery is a row written by [`crate::events::append`] in the same transaction as the event
//! it carries, so an event is never recorded without its deliveries nor delivered without being
//! recorded. The delivery worker claims due rows with one atomic `UPDATE … RETURNING` under a
//! lease, and records every attempt with its outcome.

use sitechat_core::{
    ids::random_token,
    model::Event,
    now,
    payloads::{self, Context, Question, WebhookFormat},
    AccountId, BotId, ConversationId, EventId, WebhookId,
};
use sqlx::Row;
use time::{format_description::well_known::Rfc3339, Duration, OffsetDateTime};

use crate::{error::StoreError, page_of, Page, PageRequest, Result, Store};

/// Prefix of delivery ids.
pub const DELIVERY_PREFIX: &str = "dlv_";

/// A webhook endpoint, without its secrets.
#[derive(Debug, Clone)]
pub struct WebhookRecord {
    pub id: WebhookId,
    pub bot_id: Option<BotId>,
    pub url: String,
    pub events: Vec<String>,
    /// The payload shape the endpoint gets.
    pub format: WebhookFormat,
    pub active: bool,
    pub disabled_reason: Option<String>,
    /// Until when the secret replaced by the last rotation still signs deliveries.
    pub previous_secret_expires_at: Option<OffsetDateTime>,
    pub failing_since: Option<OffsetDateTime>,
    pub last_success_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// A new endpoint.
#[derive(Clone)]
pub struct NewWebhook {
    pub url: String,
    pub events: Vec<String>,
    pub bot_id: Option<BotId>,
    pub format: WebhookFormat,
    pub secret: String,
}

impl std::fmt::Debug for NewWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewWebhook")
            .field("url", &self.url)
            .field("events", &self.events)
            .field("bot_id", &self.bot_id)
            .field("format", &self.format)
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// Changes to an endpoint; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct WebhookPatch {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub active: Option<bool>,
}

/// What the worker needs to sign and send: the URL and the secrets valid now.
#[derive(Clone)]
pub struct WebhookTarget {
    pub url: String,
    pub active: bool,
    pub secret: String,
    /// The secret before the last rotation, while its grace period lasts.
    pub previous_secret: Option<String>,
}

impl std::fmt::Debug for WebhookTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookTarget")
            .field("url", &self.url)
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

/// State of a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    Pending,
    Delivered,
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "pending" => Some(DeliveryState::Pending),
            "delivered" => Some(DeliveryState::Delivered),
            "failed" => Some(DeliveryState::Failed),
            _ => None,
        }
    }
}

/// One attempt of a delivery.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub attempt: i64,
    pub started_at: OffsetDateTime,
    pub status: Option<u16>,
    pub latency_ms: i64,
    pub response_excerpt: Option<String>,
    pub error: Option<String>,
}

/// A delivery with its attempts.
#[derive(Debug, Clone)]
pub struct DeliveryRecord {
    pub id: String,
    pub webhook_id: WebhookId,
    pub event_id: EventId,
    pub event_type: String,
    pub state: DeliveryState,
    pub attempt_count: i64,
    pub next_attempt_at: Option<OffsetDateTime>,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub created_at: OffsetDateTime,
    pub delivered_at: Option<OffsetDateTime>,
    pub payload: serde_json::Value,
    pub attempts: Vec<AttemptRecord>,
}

/// A delivery claimed by the worker.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub id: String,
    pub webhook_id: WebhookId,
    pub event_id: EventId,
    pub payload: String,
    /// Attempts made before this one, in all.
    pub attempts: i64,
    /// Failed attempts since the delivery was (re)queued.
    pub retries: i64,
}

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    Delivered,
    /// Failed; try again at this time.
    Retry(OffsetDateTime),
    /// Failed for good.
    Failed,
}

fn new_delivery_id() -> String {
    format!("{DELIVERY_PREFIX}{}", random_token(20))
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

fn webhook_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<WebhookRecord> {
    let events: String = row.try_get("events")?;
    Ok(WebhookRecord {
        id: WebhookId::from_trusted(row.try_get("id")?),
        bot_id: row
            .try_get::<Option<String>, _>("bot_id")?
            .map(BotId::from_trusted),
        url: row.try_get("url")?,
        events: serde_json::from_str(&events).map_err(corrupt)?,
        format: format_of(&row.try_get::<String, _>("format")?)?,
        active: row.try_get::<i64, _>("active")? != 0,
        disabled_reason: row.try_get("disabled_reason")?,
        previous_secret_expires_at: row
            .try_get::<Option<OffsetDateTime>, _>("previous_secret_expires_at")?
            .filter(|at| *at > now()),
        failing_since: row.try_get("failing_since")?,
        last_success_at: row.try_get("last_success_at")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn delivery_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<DeliveryRecord> {
    let state: String = row.try_get("state")?;
    let payload: String = row.try_get("payload")?;
    let state =
        DeliveryState::parse(&state).ok_or_else(|| corrupt(format!("delivery state {state}")))?;
    Ok(DeliveryRecord {
        id: row.try_get("id")?,
        webhook_id: WebhookId::from_trusted(row.try_get("webhook_id")?),
        event_id: EventId::from_trusted(row.try_get("event_id")?),
        event_type: row.try_get("event_type")?,
        state,
        attempt_count: row.try_get("attempts")?,
        next_attempt_at: if state == DeliveryState::Pending {
            row.try_get("next_attempt_at")?
        } else {
            None
        },
        last_status: row
            .try_get::<Option<i64>, _>("last_status")?
            .map(|s| s as u16),
        last_error: row.try_get("last_error")?,
        created_at: row.try_get("created_at")?,
        delivered_at: row.try_get("delivered_at")?,
        payload: serde_json::from_str(&payload).map_err(corrupt)?,
        attempts: Vec::new(),
    })
}

fn format_of(value: &str) -> Result<WebhookFormat> {
    WebhookFormat::parse(value).ok_or_else(|| corrupt(format!("webhook format {value}")))
}

/// Queues a delivery of `event` to every active endpoint of the account whose bot scope
/// matches and that subscribes to the event as its format names it, inside the caller's
/// transaction. The body is rendered here, in the endpoint's format, once per format.
pub(crate) async fn enqueue_for_event(
    conn: &mut sqlx::SqliteConnection,
    account: &AccountId,
    event: &Event,
) -> Result<()> {
    let rows = sqlx::query(
        "SELECT w.id, w.events, w.format FROM webhooks w
         WHERE w.account_id = ?1 AND w.active = 1 AND (w.bot_id IS NULL OR w.bot_id = ?2)
         ORDER BY w.seq",
    )
    .bind(account.as_str())
    .bind(event.bot_id.as_ref().map(BotId::as_str))
    .fetch_all(&mut *conn)
    .await?;
    if rows.is_empty() {
        return Ok(());
    }
    let mut context: Option<Context> = None;
    let mut rendered: Vec<(WebhookFormat, Option<payloads::Rendered>)> = Vec::new();
    for row in rows {
        let webhook: String = row.try_get("id")?;
        let events: Vec<String> =
            serde_json::from_str(&row.try_get::<String, _>("events")?).map_err(corrupt)?;
        let format = format_of(&row.try_get::<String, _>("format")?)?;
        if !rendered.iter().any(|(f, _)| *f == format) {
            if format != WebhookFormat::Sitechat && context.is_none() {
                context = Some(context_of(conn, event).await?);
            }
            let body = payloads::render(
                format,
                event,
                context.as_ref().unwrap_or(&Context::default()),
            );
            rendered.push((format, body));
        }
        let Some(Some(body)) = rendered.iter().find(|(f, _)| *f == format).map(|(_, b)| b) else {
            continue;
        };
        if !events.iter().any(|e| e == "*" || *e == body.event) {
            continue;
        }
        insert_delivery(
            conn,
            &webhook,
            &event.id,
            &body.event,
            event.conversation_id.as_ref(),
            &body.body,
        )
        .await?;
    }
    Ok(())
}

/// What the dialects' payloads say beside the event's data: the conversation's contact, channel
/// and bot, and for a message event the visitor message it answers or follows.
async fn context_of(conn: &mut sqlx::SqliteConnection, event: &Event) -> Result<Context> {
    let mut context = Context::default();
    let Some(conversation) = &event.conversation_id else {
        return Ok(context);
    };
    let row = sqlx::query(
        "SELECT c.channel, c.status, ct.external_id, ct.phone, b.seq AS website_id,
                b.chat_api_token_prefix AS token_prefix
         FROM conversations c JOIN bots b ON b.id = c.bot_id LEFT JOIN contacts ct ON ct.id = c.contact_id
         WHERE c.id = ?",
    )
    .bind(conversation.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(row) = row {
        context.channel = row.try_get("channel")?;
        context.conversation_ended = row.try_get::<String, _>("status")? == "ended";
        context.external_id = row.try_get("external_id")?;
        context.phone = row.try_get("phone")?;
        context.website_id = row.try_get("website_id")?;
        context.token_prefix = row.try_get("token_prefix")?;
    }
    let Some(message) = event.data["message"]["id"].as_str() else {
        return Ok(context);
    };
    let row = sqlx::query(
        "SELECT q.id, q.text, q.asynchronous, m.reply_to = q.id AS answered,
                NOT EXISTS (SELECT 1 FROM messages p WHERE p.conversation_id = q.conversation_id
                            AND p.role = 'visitor' AND p.seq < q.seq) AS first
         FROM messages m JOIN messages q ON q.id = COALESCE(m.reply_to,
             (SELECT v.id FROM messages v WHERE v.conversation_id = m.conversation_id
              AND v.role = 'visitor' AND v.seq <= m.seq ORDER BY v.seq DESC LIMIT 1))
         WHERE m.id = ?",
    )
    .bind(message)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(row) = row {
        context.question = Some(Question {
            id: row.try_get("id")?,
            text: row.try_get("text")?,
            asynchronous: row.try_get::<i64, _>("asynchronous")? != 0,
            first: row.try_get::<i64, _>("first")? != 0,
            answered_by_event: row.try_get::<Option<i64>, _>("answered")?.unwrap_or(0) != 0,
        });
    }
    Ok(context)
}

async fn insert_delivery(
    conn: &mut sqlx::SqliteConnection,
    webhook: &str,
    event: &EventId,
    kind: &str,
    conversation: Option<&ConversationId>,
    payload: &str,
) -> Result<String> {
    let id = new_delivery_id();
    let at = now();
    sqlx::query(
        "INSERT INTO webhook_deliveries (id, webhook_id, event_id, event_type, conversation_id, payload, state, next_attempt_at, created_at)
         VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
    )
    .bind(&id)
    .bind(webhook)
    .bind(event.as_str())
    .bind(kind)
    .bind(conversation.map(ConversationId::as_str))
    .bind(payload)
    .bind(at)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

impl Store {
    /// Creates an endpoint. A bot scope must be a bot of the account.
    pub async fn create_webhook(
        &self,
        account: &AccountId,
        new: NewWebhook,
    ) -> Result<WebhookRecord> {
        if let Some(bot) = &new.bot_id {
            self.get_bot(account, bot).await?;
        }
        let id = WebhookId::generate();
        let at = now();
        sqlx::query(
            "INSERT INTO webhooks (id, account_id, bot_id, url, events, format, secret, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id.as_str())
        .bind(account.as_str())
        .bind(new.bot_id.as_ref().map(BotId::as_str))
        .bind(&new.url)
        .bind(serde_json::to_string(&new.events).map_err(corrupt)?)
        .bind(new.format.as_str())
        .bind(&new.secret)
        .bind(at)
        .bind(at)
        .execute(&self.pool)
        .await?;
        self.get_webhook(account, &id).await
    }

    pub async fn get_webhook(&self, account: &AccountId, id: &WebhookId) -> Result<WebhookRecord> {
        let row = sqlx::query("SELECT * FROM webhooks WHERE id = ? AND account_id = ?")
            .bind(id.as_str())
            .bind(account.as_str())
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found("webhook"))?;
        webhook_from_row(&row)
    }

    /// The account's endpoints, oldest first.
    pub async fn list_webhooks(
        &self,
        account: &AccountId,
        page: PageRequest,
    ) -> Result<Page<WebhookRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM webhooks WHERE account_id = ? AND seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(account.as_str())
        .bind(page.after_seq())
        .bind(page.fetch_limit())
        .fetch_all(&self.pool)
        .await?;
        page_of(&rows, page, webhook_from_row)
    }

    /// Changes an endpoint. Re-activating one clears its disabled reason and failure streak.
    pub async fn update_webhook(
        &self,
        account: &AccountId,
        id: &WebhookId,
        patch: WebhookPatch,
    ) -> Result<WebhookRecord> {
        let events = match &patch.events {
            Some(events) => Some(serde_json::to_string(events).map_err(corrupt)?),
            None => None,
        };
        let done = sqlx::query(
            "UPDATE webhooks SET url = COALESCE(?1, url), events = COALESCE(?2, events),
                    active = COALESCE(?3, active),
                    disabled_reason = CASE WHEN ?3 = 1 THEN NULL ELSE disabled_reason END,
                    failing_since = CASE WHEN ?3 = 1 AND active = 0 THEN NULL ELSE failing_since END,
                    updated_at = ?4
             WHERE id = ?5 AND account_id = ?6",
        )
        .bind(patch.url.as_deref())
        .bind(events)
        .bind(patch.active.map(i64::from))
        .bind(now())
        .bind(id.as_str())
        .bind(account.as_str())
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("webhook"));
        }
        self.get_webhook(account, id).await
    }

    /// Deletes an endpoint with its deliveries.
    pub async fn delete_webhook(&self, account: &AccountId, id: &WebhookId) -> Result<()> {
        let done = sqlx::query("DELETE FROM webhooks WHERE id = ? AND account_id = ?")
            .bind(id.as_str())
            .bind(account.as_str())
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("webhook"));
        }
        Ok(())
    }

    /// Endpoints whose secrets are stored in clear (not starting with `v1:`): id, secret and
    /// previous secret. Not scoped to an account: start-up sealing only.
    pub async fn webhook_secrets_in_clear(
        &self,
    ) -> Result<Vec<(WebhookId, String, Option<String>)>> {
        let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
            "SELECT id, secret, previous_secret FROM webhooks
             WHERE secret NOT LIKE 'v1:%' OR (previous_secret IS NOT NULL AND previous_secret NOT LIKE 'v1:%')",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, s, p)| (WebhookId::from_trusted(id), s, p))
            .collect())
    }

    /// Replaces the stored form of an endpoint's secrets (sealing them).
    pub async fn set_webhook_secrets(
        &self,
        id: &WebhookId,
        secret: &str,
        previous: Option<&str>,
    ) -> Result<()> {
        sqlx::query("UPDATE webhooks SET secret = ?, previous_secret = ? WHERE id = ?")
            .bind(secret)
            .bind(previous)
            .bind(id.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Replaces the secret; the old one keeps signing for `grace`.
    pub async fn rotate_webhook_secret(
        &self,
        account: &AccountId,
        id: &WebhookId,
        secret: &str,
        grace: Duration,
    ) -> Result<WebhookRecord> {
        let at = now();
        let done = sqlx::query(
            "UPDATE webhooks SET previous_secret = secret, previous_secret_expires_at = ?1,
                    secret = ?2, updated_at = ?3
             WHERE id = ?4 AND account_id = ?5",
        )
        .bind(at + grace)
        .bind(secret)
        .bind(at)
        .bind(id.as_str())
        .bind(account.as_str())
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("webhook"));
        }
        self.get_webhook(account, id).await
    }

    /// Queues a `webhook.test` delivery to this endpoint only (not recorded in the event log).
    pub async fn enqueue_test_delivery(
        &self,
        account: &AccountId,
        id: &WebhookId,
    ) -> Result<DeliveryRecord> {
        let webhook = self.get_webhook(account, id).await?;
        let test = Event {
            id: EventId::generate(),
            kind: "webhook.test".to_owned(),
            bot_id: webhook.bot_id.clone(),
            conversation_id: None,
            data: serde_json::json!({"webhook_id": webhook.id, "message": "a test delivery from sitechat"}),
            created_at: now(),
        };
        // In the endpoint's envelope where its format has one; sitechat's otherwise (Aimylogic's
        // webhook only carries replies).
        let payload = payloads::render(webhook.format, &test, &Context::default())
            .map(|r| r.body)
            .unwrap_or_else(|| {
                payloads::sitechat(&test.id, &test.kind, test.created_at, &test.data)
            });
        let event = test.id;
        let mut tx = self.begin_write().await?;
        let delivery =
            insert_delivery(&mut tx, id.as_str(), &event, "webhook.test", None, &payload).await?;
        tx.commit().await?;
        self.get_delivery(account, id, &delivery).await
    }

    /// One delivery of an endpoint of the account, with its attempts.
    pub async fn get_delivery(
        &self,
        account: &AccountId,
        webhook: &WebhookId,
        id: &str,
    ) -> Result<DeliveryRecord> {
        let row = sqlx::query(
            "SELECT d.* FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
             WHERE d.id = ? AND d.webhook_id = ? AND w.account_id = ?",
        )
        .bind(id)
        .bind(webhook.as_str())
        .bind(account.as_str())
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::not_found("delivery"))?;
        let mut delivery = delivery_from_row(&row)?;
        delivery.attempts = self.delivery_attempts(&delivery.id).await?;
        Ok(delivery)
    }

    async fn delivery_attempts(&self, delivery: &str) -> Result<Vec<AttemptRecord>> {
        let rows =
            sqlx::query("SELECT * FROM webhook_attempts WHERE delivery_id = ? ORDER BY attempt")
                .bind(delivery)
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                Ok(AttemptRecord {
                    attempt: r.try_get("attempt")?,
                    started_at: r.try_get("started_at")?,
                    status: r.try_get::<Option<i64>, _>("status")?.map(|s| s as u16),
                    latency_ms: r.try_get("latency_ms")?,
                    response_excerpt: r.try_get("response_excerpt")?,
                    error: r.try_get("error")?,
                })
            })
            .collect()
    }

    /// An endpoint's deliveries, newest first, each with its attempts.
    pub async fn list_deliveries(
        &self,
        account: &AccountId,
        webhook: &WebhookId,
        state: Option<DeliveryState>,
        page: PageRequest,
    ) -> Result<Page<DeliveryRecord>> {
        self.get_webhook(account, webhook).await?;
        let rows = sqlx::query(
            "SELECT * FROM webhook_deliveries WHERE webhook_id = ?1 AND (?2 IS NULL OR state = ?2)
               AND (?3 = 0 OR seq < ?3) ORDER BY seq DESC LIMIT ?4",
        )
        .bind(webhook.as_str())
        .bind(state.map(DeliveryState::as_str))
        .bind(page.after_seq())
        .bind(page.fetch_limit())
        .fetch_all(&self.pool)
        .await?;
        let mut page = page_of(&rows, page, delivery_from_row)?;
        for delivery in &mut page.items {
            delivery.attempts = self.delivery_attempts(&delivery.id).await?;
        }
        Ok(page)
    }

    /// Queues a delivery again, due now, with a fresh retry schedule.
    pub async fn redeliver(
        &self,
        account: &AccountId,
        webhook: &WebhookId,
        id: &str,
    ) -> Result<DeliveryRecord> {
        self.get_delivery(account, webhook, id).await?;
        sqlx::query(
            "UPDATE webhook_deliveries SET state = 'pending', retries = 0, next_attempt_at = ?1,
                    lease_expires_at = NULL, delivered_at = NULL
             WHERE id = ?2 AND webhook_id = ?3",
        )
        .bind(now())
        .bind(id)
        .bind(webhook.as_str())
        .execute(&self.pool)
        .await?;
        self.get_delivery(account, webhook, id).await
    }

    /// Queues again every failed delivery of the endpoint created at or after `since`.
    pub async fn redeliver_failed_since(
        &self,
        account: &AccountId,
        webhook: &WebhookId,
        since: OffsetDateTime,
    ) -> Result<u64> {
        self.get_webhook(account, webhook).await?;
        let done = sqlx::query(
            "UPDATE webhook_deliveries SET state = 'pending', retries = 0, next_attempt_at = ?1,
                    lease_expires_at = NULL
             WHERE webhook_id = ?2 AND state = 'failed' AND julianday(created_at) >= julianday(?3)",
        )
        .bind(now())
        .bind(webhook.as_str())
        .bind(since)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Claims the oldest due delivery of an active endpoint not in `busy`, under a lease. A
    /// delivery waits while an older one of the same endpoint and conversation is pending.
    pub async fn claim_delivery(
        &self,
        lease: Duration,
        busy: &[String],
    ) -> Result<Option<ClaimedDelivery>> {
        let at = now();
        let busy = serde_json::to_string(busy).map_err(corrupt)?;
        let row = sqlx::query(
            "UPDATE webhook_deliveries SET lease_expires_at = ?1
             WHERE id = (
                SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
                WHERE d.state = 'pending' AND d.next_attempt_at <= ?2
                  AND (d.lease_expires_at IS NULL OR d.lease_expires_at < ?2)
                  AND w.active = 1
                  AND d.webhook_id NOT IN (SELECT value FROM json_each(?3))
                  AND (d.conversation_id IS NULL OR NOT EXISTS (
                        SELECT 1 FROM webhook_deliveries o
                        WHERE o.webhook_id = d.webhook_id AND o.conversation_id = d.conversation_id
                          AND o.state = 'pending' AND o.seq < d.seq))
                ORDER BY d.next_attempt_at, d.seq LIMIT 1)
             RETURNING id, webhook_id, event_id, payload, attempts, retries",
        )
        .bind(at + lease)
        .bind(at)
        .bind(busy)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(ClaimedDelivery {
            id: row.try_get("id")?,
            webhook_id: WebhookId::from_trusted(row.try_get("webhook_id")?),
            event_id: EventId::from_trusted(row.try_get("event_id")?),
            payload: row.try_get("payload")?,
            attempts: row.try_get("attempts")?,
            retries: row.try_get("retries")?,
        }))
    }

    /// When the next pending delivery of an active endpoint falls due.
    pub async fn next_delivery_due(&self) -> Result<Option<OffsetDateTime>> {
        Ok(sqlx::query_scalar(
            "SELECT MIN(d.next_attempt_at) FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
             WHERE d.state = 'pending' AND w.active = 1 AND d.lease_expires_at IS NULL",
        )
        .fetch_one(&self.pool)
        .await?)
    }

    /// Returns every leased delivery to the queue (a single node starting up holds none).
    pub async fn release_delivery_leases(&self) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE webhook_deliveries SET lease_expires_at = NULL WHERE lease_expires_at IS NOT NULL",
        )
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// The URL and valid secrets of an endpoint, for its worker.
    pub async fn webhook_target(&self, id: &WebhookId) -> Result<WebhookTarget> {
        let row = sqlx::query(
            "SELECT url, active, secret, previous_secret, previous_secret_expires_at FROM webhooks WHERE id = ?",
        )
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::not_found("webhook"))?;
        let expires: Option<OffsetDateTime> = row.try_get("previous_secret_expires_at")?;
        let previous: Option<String> = row.try_get("previous_secret")?;
        Ok(WebhookTarget {
            url: row.try_get("url")?,
            active: row.try_get::<i64, _>("active")? != 0,
            secret: row.try_get("secret")?,
            previous_secret: previous.filter(|_| expires.is_some_and(|e| e > now())),
        })
    }

    /// Records an attempt and its outcome, releases the lease, and keeps the endpoint's failure
    /// streak: an endpoint whose attempts have all failed for `disable_after` (when set) is
    /// disabled, recording `webhook.disabled`.
    pub async fn record_delivery_attempt(
        &self,
        delivery: &ClaimedDelivery,
        attempt: &AttemptRecord,
        outcome: AttemptOutcome,
        disable_after: Option<Duration>,
    ) -> Result<()> {
        let at = now();
        let mut tx = self.begin_write().await?;
        let exists: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM webhook_deliveries WHERE id = ?")
                .bind(&delivery.id)
                .fetch_optional(&mut *tx)
                .await?;
        if exists.is_none() {
            // Deleted with its endpoint while in flight.
            return Ok(());
        }
        sqlx::query(
            "INSERT OR REPLACE INTO webhook_attempts (delivery_id, attempt, started_at, status, latency_ms, response_excerpt, error)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&delivery.id)
        .bind(attempt.attempt)
        .bind(attempt.started_at)
        .bind(attempt.status.map(i64::from))
        .bind(attempt.latency_ms)
        .bind(&attempt.response_excerpt)
        .bind(&attempt.error)
        .execute(&mut *tx)
        .await?;
        let (state, next, retries_add, delivered_at) = match outcome {
            AttemptOutcome::Delivered => ("delivered", at, 0, Some(at)),
            AttemptOutcome::Retry(next) => ("pending", next, 1, None),
            AttemptOutcome::Failed => ("failed", at, 1, None),
        };
        sqlx::query(
            "UPDATE webhook_deliveries SET state = ?1, next_attempt_at = ?2, attempts = ?3,
                    retries = retries + ?4, last_status = ?5, last_error = ?6,
                    delivered_at = COALESCE(?7, delivered_at), lease_expires_at = NULL
             WHERE id = ?8",
        )
        .bind(state)
        .bind(next)
        .bind(attempt.attempt)
        .bind(retries_add)
        .bind(attempt.status.map(i64::from))
        .bind(&attempt.error)
        .bind(delivered_at)
        .bind(&delivery.id)
        .execute(&mut *tx)
        .await?;
        if outcome == AttemptOutcome::Delivered {
            sqlx::query(
                "UPDATE webhooks SET failing_since = NULL, last_success_at = ? WHERE id = ?",
            )
            .bind(at)
            .bind(delivery.webhook_id.as_str())
            .execute(&mut *tx)
            .await?;
        } else {
            let row = sqlx::query(
                "UPDATE webhooks SET failing_since = COALESCE(failing_since, ?1) WHERE id = ?2
                 RETURNING account_id, bot_id, url, active, failing_since",
            )
            .bind(at)
            .bind(delivery.webhook_id.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            if let (Some(row), Some(after)) = (row, disable_after) {
                let since: OffsetDateTime = row.try_get("failing_since")?;
                let active = row.try_get::<i64, _>("active")? != 0;
                if active && at - since >= after {
                    let reason = format!(
                        "every delivery attempt failed since {}",
                        since.format(&Rfc3339).unwrap_or_default()
                    );
                    sqlx::query("UPDATE webhooks SET active = 0, disabled_reason = ?, updated_at = ? WHERE id = ?")
                        .bind(&reason)
                        .bind(at)
                        .bind(delivery.webhook_id.as_str())
                        .execute(&mut *tx)
                        .await?;
                    let account = AccountId::from_trusted(row.try_get("account_id")?);
                    let bot = row
                        .try_get::<Option<String>, _>("bot_id")?
                        .map(BotId::from_trusted);
                    let url: String = row.try_get("url")?;
                    let data = serde_json::json!({"webhook_id": delivery.webhook_id, "url": url, "reason": reason});
                    crate::events::append(
                        &mut tx,
                        &account,
                        bot.as_ref(),
                        None,
                        "webhook.disabled",
                        data,
                    )
                    .await?;
                    tracing::warn!(webhook = %delivery.webhook_id, "webhook disabled after failing for too long");
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{testing::store, EventFilter};

    async fn endpoint(store: &Store, account: &AccountId, events: &[&str]) -> WebhookId {
        store
            .create_webhook(
                account,
                NewWebhook {
                    url: "https://example.com/h".into(),
                    events: events.iter().map(|e| (*e).to_owned()).collect(),
                    bot_id: None,
                    format: WebhookFormat::Sitechat,
                    secret: "whsec_0123456789abcdef".into(),
                },
            )
            .await
            .unwrap()
            .id
    }

    fn attempt(n: i64) -> AttemptRecord {
        AttemptRecord {
            attempt: n,
            started_at: now(),
            status: Some(500),
            latency_ms: 1,
            response_excerpt: None,
            error: Some("the endpoint answered 500".into()),
        }
    }

    #[tokio::test]
    async fn a_delivery_waits_for_older_ones_of_its_conversation() {
        let (store, _dir, account) = store().await;
        let hook = endpoint(&store, &account, &["*"]).await;
        let c = ConversationId::generate();
        let d = ConversationId::generate();
        let data = serde_json::json!({});
        let first = store
            .record_event(&account, None, Some(&c), "message.received", data.clone())
            .await
            .unwrap();
        let second = store
            .record_event(&account, None, Some(&c), "message.sent", data.clone())
            .await
            .unwrap();
        let other = store
            .record_event(&account, None, Some(&d), "message.received", data)
            .await
            .unwrap();
        let lease = Duration::seconds(60);
        let a = store.claim_delivery(lease, &[]).await.unwrap().unwrap();
        assert_eq!(a.event_id, first.id);
        // The second of conversation C waits; D's goes ahead.
        let b = store.claim_delivery(lease, &[]).await.unwrap().unwrap();
        assert_eq!(b.event_id, other.id);
        assert!(store.claim_delivery(lease, &[]).await.unwrap().is_none());
        // Waiting for a retry still holds it back.
        store
            .record_delivery_attempt(
                &a,
                &attempt(1),
                AttemptOutcome::Retry(now() + Duration::hours(1)),
                None,
            )
            .await
            .unwrap();
        assert!(store.claim_delivery(lease, &[]).await.unwrap().is_none());
        // Once the older one has failed for good, the next goes.
        let a = ClaimedDelivery {
            attempts: 1,
            retries: 1,
            ..a
        };
        store
            .record_delivery_attempt(&a, &attempt(2), AttemptOutcome::Failed, None)
            .await
            .unwrap();
        let next = store.claim_delivery(lease, &[]).await.unwrap().unwrap();
        assert_eq!(next.event_id, second.id);
        // A busy endpoint is skipped.
        store.release_delivery_leases().await.unwrap();
        assert!(store
            .claim_delivery(lease, &[hook.to_string()])
            .await
            .unwrap()
            .is_none());
    }

    #[tokio::test]
    async fn an_endpoint_failing_for_too_long_is_disabled_with_an_event() {
        let (store, _dir, account) = store().await;
        let failing = endpoint(&store, &account, &["*"]).await;
        let watcher = endpoint(&store, &account, &["webhook.disabled"]).await;
        store
            .record_event(
                &account,
                None,
                None,
                "training.failed",
                serde_json::json!({}),
            )
            .await
            .unwrap();
        let claimed = store
            .claim_delivery(Duration::seconds(60), &[])
            .await
            .unwrap()
            .unwrap();
        assert_eq!(claimed.webhook_id, failing);
        store
            .record_delivery_attempt(
                &claimed,
                &attempt(1),
                AttemptOutcome::Failed,
                Some(Duration::ZERO),
            )
            .await
            .unwrap();
        let hook = store.get_webhook(&account, &failing).await.unwrap();
        assert!(!hook.active);
        assert!(hook.disabled_reason.is_some());
        let events = store
            .list_events(
                &account,
                &EventFilter {
                    types: vec!["webhook.disabled".into()],
                    ..Default::default()
                },
                10,
            )
            .await
            .unwrap();
        assert_eq!(events.len(), 1);
        let page = PageRequest {
            limit: 10,
            after: None,
        };
        let to_failing = store
            .list_deliveries(&account, &failing, None, page)
            .await
            .unwrap();
        assert!(to_failing
            .items
            .iter()
            .all(|d| d.event_type != "webhook.disabled"));
        let to_watcher = store
            .list_deliveries(&account, &watcher, None, page)
            .await
            .unwrap();
        assert_eq!(to_watcher.items.len(), 1);
        assert_eq!(to_watcher.items[0].event_type, "webhook.disabled");
        // Re-activating clears the reason and the failure streak.
        let hook = store
            .update_webhook(
                &account,
                &failing,
                WebhookPatch {
                    active: Some(true),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert!(hook.active && hook.disabled_reason.is_none() && hook.failing_since.is_none());
    }

    #[tokio::test]
    async fn the_previous_secret_signs_only_during_its_grace_period() {
        let (store, _dir, account) = store().await;
        let hook = endpoint(&store, &account, &["*"]).await;
        store
            .rotate_webhook_secret(
                &account,
                &hook,
                "whsec_new_one_0123456789",
                Duration::hours(1),
            )
            .await
            .unwrap();
        let target = store.webhook_target(&hook).await.unwrap();
        assert_eq!(target.secret, "whsec_new_one_0123456789");
        assert_eq!(
            target.previous_secret.as_deref(),
            Some("whsec_0123456789abcdef")
        );
        store
            .rotate_webhook_secret(&account, &hook, "whsec_third_0123456789", Duration::ZERO)
            .await
            .unwrap();
        assert!(store
            .webhook_target(&hook)
            .await
            .unwrap()
            .previous_secret
            .is_none());
        assert!(!format!("{target:?}").contains("whsec_"));
    }
}
