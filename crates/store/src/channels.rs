//! Messaging channels and their outbox.
//!
//! A channel's outbox rows are written by [`enqueue_outbound`] in the transaction that stores a
//! bot, agent or system message of one of its conversations, so a message is never stored
//! without being queued for its platform. The outbox worker claims due rows with one atomic
//! `UPDATE … RETURNING` under a lease, one at a time per conversation and in order, and records
//! how each attempt ended: sent (with the platform's message id), retried later, or failed for
//! good — the message is then `NOT_SENT` and `message.not_sent` is recorded with it.

use serde_json::{json, Value};
use sitechat_core::{
    model::{Message, MessageStatus},
    now, AccountId, BotId, ChannelId, ConversationId, MessageId,
};
use sqlx::Row;
use time::{Duration, OffsetDateTime};

use crate::{
    conversations::message_from_row, error::StoreError, events, page_of, Page, PageRequest, Result,
    Store,
};

/// A channel as stored; `credentials` is sealed by the server and opaque here.
#[derive(Clone)]
pub struct ChannelRecord {
    pub id: ChannelId,
    pub account_id: AccountId,
    pub bot_id: BotId,
    pub kind: String,
    pub settings: Value,
    pub credentials: String,
    pub created_at: OffsetDateTime,
}

impl std::fmt::Debug for ChannelRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelRecord")
            .field("id", &self.id)
            .field("bot_id", &self.bot_id)
            .field("kind", &self.kind)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// An outbound message claimed by the worker.
#[derive(Debug, Clone)]
pub struct ClaimedSend {
    pub seq: i64,
    pub channel_id: ChannelId,
    pub message_id: MessageId,
    pub conversation_id: ConversationId,
    /// The contact's external id, `{kind}:{platform user id}`.
    pub recipient: String,
    /// Attempts started, this one included.
    pub attempts: i64,
}

/// How an attempt to send ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// The platform took it, under this id.
    Sent(Option<String>),
    /// Failed; try again at this time.
    Retry(OffsetDateTime, String),
    /// Failed for good.
    Failed(String),
}

/// A message's place in the outbox, as the API shows it.
#[derive(Debug, Clone)]
pub struct OutboxState {
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub platform_message_id: Option<String>,
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

fn channel_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<ChannelRecord> {
    let settings: String = row.try_get("settings")?;
    Ok(ChannelRecord {
        id: ChannelId::from_trusted(row.try_get("id")?),
        account_id: AccountId::from_trusted(row.try_get("account_id")?),
        bot_id: BotId::from_trusted(row.try_get("bot_id")?),
        kind: row.try_get("kind")?,
        settings: serde_json::from_str(&settings).map_err(corrupt)?,
        credentials: row.try_get("credentials")?,
        created_at: row.try_get("created_at")?,
    })
}

/// Queues `message` for its conversation's channel, if the conversation has one, inside the
/// caller's transaction. Visitor messages are never queued.
pub(crate) async fn enqueue_outbound(
    conn: &mut sqlx::SqliteConnection,
    conversation: &ConversationId,
    message: &Message,
) -> Result<()> {
    if message.role == sitechat_core::model::Role::Visitor {
        return Ok(());
    }
    let at = now();
    sqlx::query(
        "INSERT INTO channel_outbox (channel_id, message_id, conversation_id, recipient, state, next_attempt_at, created_at)
         SELECT ch.id, ?1, c.id, t.external_id, 'pending', ?2, ?2
         FROM conversations c JOIN contacts t ON t.id = c.contact_id
              JOIN channels ch ON ch.bot_id = c.bot_id AND ch.kind = c.channel
         WHERE c.id = ?3 AND substr(t.external_id, 1, length(ch.kind) + 1) = ch.kind || ':'",
    )
    .bind(message.id.as_str())
    .bind(at)
    .bind(conversation.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The rank of a delivery status: a status never goes back (a late `delivered` after `read`).
fn rank(status: MessageStatus) -> i64 {
    match status {
        MessageStatus::Sent => 1,
        MessageStatus::Delivered => 2,
        MessageStatus::Read => 3,
        MessageStatus::NotSent => 4,
    }
}

/// Marks a message `NOT_SENT` and records `message.not_sent`, inside the caller's transaction.
async fn not_sent(
    conn: &mut sqlx::SqliteConnection,
    channel: &ChannelId,
    message: &str,
    reason: &str,
) -> Result<()> {
    let row = sqlx::query(
        "UPDATE messages SET status = 'NOT_SENT' WHERE id = ? AND COALESCE(status, '') != 'NOT_SENT'
         RETURNING conversation_id",
    )
    .bind(message)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(()) };
    let conversation = ConversationId::from_trusted(row.try_get("conversation_id")?);
    let owner = sqlx::query("SELECT account_id, bot_id FROM channels WHERE id = ?")
        .bind(channel.as_str())
        .fetch_one(&mut *conn)
        .await?;
    let account = AccountId::from_trusted(owner.try_get("account_id")?);
    let bot = BotId::from_trusted(owner.try_get("bot_id")?);
    events::append(
        conn,
        &account,
        Some(&bot),
        Some(&conversation),
        "message.not_sent",
        json!({"conversation_id": conversation, "bot_id": bot, "channel_id": channel,
               "message_id": message, "error": reason}),
    )
    .await?;
    Ok(())
}

impl Store {
    /// Stores a channel. A bot has at most one channel of each kind: a second is a conflict.
    pub async fn create_channel(&self, record: &ChannelRecord) -> Result<ChannelRecord> {
        self.get_bot(&record.account_id, &record.bot_id).await?;
        let inserted = sqlx::query(
            "INSERT INTO channels (id, account_id, bot_id, kind, settings, credentials, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(record.id.as_str())
        .bind(record.account_id.as_str())
        .bind(record.bot_id.as_str())
        .bind(&record.kind)
        .bind(record.settings.to_string())
        .bind(&record.credentials)
        .bind(record.created_at)
        .execute(&self.pool)
        .await;
        match inserted {
            Ok(_) => self.channel(&record.id).await,
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                Err(StoreError::Conflict(format!(
                    "the bot already has a {} channel; delete it first to connect another",
                    record.kind
                )))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Whether the bot already has a channel of this kind.
    pub async fn has_channel(&self, bot: &BotId, kind: &str) -> Result<bool> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM channels WHERE bot_id = ? AND kind = ?")
                .bind(bot.as_str())
                .bind(kind)
                .fetch_optional(&self.pool)
                .await?;
        Ok(found.is_some())
    }

    /// A channel by id alone, for its inbound webhook and the outbox worker.
    pub async fn channel(&self, id: &ChannelId) -> Result<ChannelRecord> {
        let row = sqlx::query("SELECT * FROM channels WHERE id = ?")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found("channel"))?;
        channel_from_row(&row)
    }

    /// A channel of a bot of the account.
    pub async fn get_channel(
        &self,
        account: &AccountId,
        bot: &BotId,
        id: &ChannelId,
    ) -> Result<ChannelRecord> {
        let row =
            sqlx::query("SELECT * FROM channels WHERE id = ? AND bot_id = ? AND account_id = ?")
                .bind(id.as_str())
                .bind(bot.as_str())
                .bind(account.as_str())
                .fetch_optional(&self.pool)
                .await?
                .ok_or_else(|| StoreError::not_found("channel"))?;
        channel_from_row(&row)
    }

    /// A bot's channels, oldest first.
    pub async fn list_channels(
        &self,
        account: &AccountId,
        bot: &BotId,
        page: PageRequest,
    ) -> Result<Page<ChannelRecord>> {
        self.get_bot(account, bot).await?;
        let rows = sqlx::query(
            "SELECT * FROM channels WHERE bot_id = ?1 AND account_id = ?2 AND seq > ?3
             ORDER BY seq LIMIT ?4",
        )
        .bind(bot.as_str())
        .bind(account.as_str())
        .bind(page.after_seq())
        .bind(page.fetch_limit())
        .fetch_all(&self.pool)
        .await?;
        page_of(&rows, page, channel_from_row)
    }

    /// Deletes a channel; messages still waiting to be sent through it are dropped.
    pub async fn delete_channel(
        &self,
        account: &AccountId,
        bot: &BotId,
        id: &ChannelId,
    ) -> Result<()> {
        let done =
            sqlx::query("DELETE FROM channels WHERE id = ? AND bot_id = ? AND account_id = ?")
                .bind(id.as_str())
                .bind(bot.as_str())
                .bind(account.as_str())
                .execute(&self.pool)
                .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("channel"));
        }
        Ok(())
    }

    /// The channel a conversation goes out through, if any.
    pub async fn channel_of_conversation(
        &self,
        conversation: &ConversationId,
    ) -> Result<Option<ChannelRecord>> {
        let row = sqlx::query(
            "SELECT ch.* FROM conversations c JOIN contacts t ON t.id = c.contact_id
                  JOIN channels ch ON ch.bot_id = c.bot_id AND ch.kind = c.channel
             WHERE c.id = ? AND substr(t.external_id, 1, length(ch.kind) + 1) = ch.kind || ':'",
        )
        .bind(conversation.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(channel_from_row).transpose()
    }

    /// When the visitor last wrote in a conversation.
    pub async fn last_visitor_message_at(
        &self,
        conversation: &ConversationId,
    ) -> Result<Option<OffsetDateTime>> {
        Ok(sqlx::query_scalar(
            "SELECT created_at FROM messages WHERE conversation_id = ? AND role = 'visitor'
             ORDER BY seq DESC LIMIT 1",
        )
        .bind(conversation.as_str())
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Claims the oldest due outbound message whose conversation has no earlier one waiting.
    pub async fn claim_send(&self, lease: Duration) -> Result<Option<ClaimedSend>> {
        let at = now();
        let row = sqlx::query(
            "UPDATE channel_outbox SET attempts = attempts + 1, lease_expires_at = ?1
             WHERE seq = (SELECT o.seq FROM channel_outbox o
                          WHERE o.state = 'pending' AND o.next_attempt_at <= ?2
                            AND (o.lease_expires_at IS NULL OR o.lease_expires_at < ?2)
                            AND NOT EXISTS (SELECT 1 FROM channel_outbox p WHERE p.conversation_id = o.conversation_id
                                            AND p.state = 'pending' AND p.seq < o.seq)
                          ORDER BY o.next_attempt_at, o.seq LIMIT 1)
             RETURNING seq, channel_id, message_id, conversation_id, recipient, attempts",
        )
        .bind(at + lease)
        .bind(at)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(ClaimedSend {
            seq: row.try_get("seq")?,
            channel_id: ChannelId::from_trusted(row.try_get("channel_id")?),
            message_id: MessageId::from_trusted(row.try_get("message_id")?),
            conversation_id: ConversationId::from_trusted(row.try_get("conversation_id")?),
            recipient: row.try_get("recipient")?,
            attempts: row.try_get("attempts")?,
        }))
    }

    /// At start-up, outbound messages claimed by a process that is gone are due again at once
    /// (at-least-once: a send cut by a crash may have reached the platform).
    pub async fn release_send_leases(&self) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE channel_outbox SET lease_expires_at = NULL WHERE lease_expires_at IS NOT NULL",
        )
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// When the next pending outbound message falls due.
    pub async fn next_send_due(&self) -> Result<Option<OffsetDateTime>> {
        Ok(sqlx::query_scalar(
            "SELECT MIN(COALESCE(MAX(next_attempt_at, lease_expires_at), next_attempt_at))
             FROM channel_outbox WHERE state = 'pending'",
        )
        .fetch_one(&self.pool)
        .await?)
    }

    /// A message to send, by id alone.
    pub async fn outbound_message(&self, id: &MessageId) -> Result<Message> {
        let row = sqlx::query("SELECT * FROM messages WHERE id = ?")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found("message"))?;
        message_from_row(&row)
    }

    /// Records how an attempt ended.
    pub async fn record_send(&self, claimed: &ClaimedSend, outcome: &SendOutcome) -> Result<()> {
        let mut tx = self.begin_write().await?;
        match outcome {
            SendOutcome::Sent(platform_id) => {
                sqlx::query(
                    "UPDATE channel_outbox SET state = 'sent', platform_message_id = ?, sent_at = ?,
                     lease_expires_at = NULL, last_error = NULL WHERE seq = ?",
                )
                .bind(platform_id)
                .bind(now())
                .bind(claimed.seq)
                .execute(&mut *tx)
                .await?;
            }
            SendOutcome::Retry(at, error) => {
                sqlx::query(
                    "UPDATE channel_outbox SET next_attempt_at = ?, lease_expires_at = NULL, last_error = ?
                     WHERE seq = ?",
                )
                .bind(*at)
                .bind(error)
                .bind(claimed.seq)
                .execute(&mut *tx)
                .await?;
            }
            SendOutcome::Failed(error) => {
                sqlx::query(
                    "UPDATE channel_outbox SET state = 'failed', lease_expires_at = NULL, last_error = ?
                     WHERE seq = ?",
                )
                .bind(error)
                .bind(claimed.seq)
                .execute(&mut *tx)
                .await?;
                not_sent(
                    &mut tx,
                    &claimed.channel_id,
                    claimed.message_id.as_str(),
                    error,
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Applies a platform's delivery status to the message it sent under `platform_id`: a status
    /// only moves forward, and `failed` makes the message `NOT_SENT` (with its event). Returns the
    /// message, or `None` when no message of the channel has that id.
    pub async fn platform_status(
        &self,
        channel: &ChannelId,
        platform_id: &str,
        status: MessageStatus,
        reason: Option<&str>,
    ) -> Result<Option<Message>> {
        let mut tx = self.begin_write().await?;
        let message: Option<String> = sqlx::query_scalar(
            "SELECT message_id FROM channel_outbox WHERE channel_id = ? AND platform_message_id = ?",
        )
        .bind(channel.as_str())
        .bind(platform_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(message) = message else {
            return Ok(None);
        };
        if status == MessageStatus::NotSent {
            not_sent(
                &mut tx,
                channel,
                &message,
                reason.unwrap_or("the platform reported the message as failed"),
            )
            .await?;
        } else {
            let current: Option<String> =
                sqlx::query_scalar("SELECT status FROM messages WHERE id = ?")
                    .bind(&message)
                    .fetch_one(&mut *tx)
                    .await?;
            let current = current.as_deref().and_then(MessageStatus::parse);
            if current.is_none_or(|c| rank(c) < rank(status)) {
                sqlx::query("UPDATE messages SET status = ? WHERE id = ?")
                    .bind(status.as_str())
                    .bind(&message)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        let row = sqlx::query("SELECT * FROM messages WHERE id = ?")
            .bind(&message)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(message_from_row(&row)?))
    }

    /// Where a message stands in its channel's outbox, if it went to one.
    pub async fn outbox_state(&self, message: &MessageId) -> Result<Option<OutboxState>> {
        let row = sqlx::query(
            "SELECT state, attempts, last_error, platform_message_id FROM channel_outbox WHERE message_id = ?",
        )
        .bind(message.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(OutboxState {
                state: r.try_get("state")?,
                attempts: r.try_get("attempts")?,
                last_error: r.try_get("last_error")?,
                platform_message_id: r.try_get("platform_message_id")?,
            })
        })
        .transpose()
    }
}
