//! Queries that the dialects need beyond the native API: numbered websites, client-keyed
//! sessions.

use sitechat_core::{
    model::{Account, Bot, Message},
    now, AccountId, BotId, ConversationId, MessageId,
};
use sqlx::Row;
use time::OffsetDateTime;

use crate::{error::StoreError, Result, Store};

/// A visitor's conversation seen as a session keyed by the client's visitor id.
#[derive(Debug, Clone)]
pub struct SessionSummary {
    pub conversation_id: ConversationId,
    pub bot_id: BotId,
    pub external_id: Option<String>,
    pub channel: String,
    pub message_count: i64,
    pub first_message: Option<String>,
    pub first_message_at: Option<OffsetDateTime>,
    pub last_message_at: OffsetDateTime,
    pub website_url: Option<String>,
}

/// A message of a client (a contact known by its external id), with what the Chat API dialect
/// tells about it.
#[derive(Debug, Clone)]
pub struct ClientMessage {
    pub message: Message,
    /// The visitor message this message is (or answers): the message itself for a visitor's.
    pub question_id: Option<MessageId>,
    /// The client connection of that visitor message.
    pub connection: Option<String>,
}

/// Which of a client's messages to read.
#[derive(Debug, Clone, Default)]
pub struct ClientWindow {
    /// Only messages at or after this time.
    pub from: Option<OffsetDateTime>,
    /// Only messages at or before this time.
    pub to: Option<OffsetDateTime>,
    pub limit: u32,
    pub offset: u32,
}

const CLIENT_MESSAGE_COLUMNS: &str = "m.*,
    (SELECT v.id FROM messages v WHERE v.conversation_id = m.conversation_id AND v.role = 'visitor' AND v.seq <= m.seq ORDER BY v.seq DESC LIMIT 1) AS question_id,
    (SELECT v.connection_id FROM messages v WHERE v.conversation_id = m.conversation_id AND v.role = 'visitor' AND v.seq <= m.seq ORDER BY v.seq DESC LIMIT 1) AS question_connection";

fn client_message_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<ClientMessage> {
    Ok(ClientMessage {
        message: crate::conversations::message_from_row(row)?,
        question_id: row
            .try_get::<Option<String>, _>("question_id")?
            .map(MessageId::from_trusted),
        connection: row.try_get("question_connection")?,
    })
}

impl Store {
    /// The bot (and its account) whose Chat API channel token has this hash.
    pub async fn bot_by_chat_api_token(&self, token_hash: &str) -> Result<(Account, Bot)> {
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT account_id, id FROM bots WHERE chat_api_token_hash = ?")
                .bind(token_hash)
                .fetch_optional(&self.pool)
                .await?;
        let (account, bot) = row.ok_or_else(|| StoreError::NotFound {
            entity: "Chat API channel (token)",
        })?;
        let account = self.get_account(&AccountId::from_trusted(account)).await?;
        let bot = self.get_bot(&account.id, &BotId::from_trusted(bot)).await?;
        Ok((account, bot))
    }

    /// Any account's bot by its id, with its account: for endpoints that need no key and answer
    /// only for bots that opted in (the public widget).
    pub async fn bot_anywhere(&self, bot: &BotId) -> Result<(Account, Bot)> {
        let account: Option<String> =
            sqlx::query_scalar("SELECT account_id FROM bots WHERE id = ?")
                .bind(bot.as_str())
                .fetch_optional(&self.pool)
                .await?;
        let account = account.ok_or_else(|| StoreError::not_found("bot"))?;
        let account = self.get_account(&AccountId::from_trusted(account)).await?;
        let bot = self.get_bot(&account.id, bot).await?;
        Ok((account, bot))
    }

    /// Sets (or, with `None`, removes) the bot's Chat API token: its hash and visible prefix.
    pub async fn set_chat_api_token(
        &self,
        account: &AccountId,
        bot: &BotId,
        token: Option<(&str, &str)>,
    ) -> Result<Bot> {
        let result = sqlx::query(
            "UPDATE bots SET chat_api_token_hash = ?, chat_api_token_prefix = ?, updated_at = ?
             WHERE id = ? AND account_id = ?",
        )
        .bind(token.map(|t| t.0))
        .bind(token.map(|t| t.1))
        .bind(now())
        .bind(bot.as_str())
        .bind(account.as_str())
        .execute(&self.pool)
        .await;
        match result {
            Ok(done) if done.rows_affected() == 0 => Err(StoreError::not_found("bot")),
            Ok(_) => self.get_bot(account, bot).await,
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(StoreError::Conflict(
                "this token is already another bot's; choose another or let sitechat make one"
                    .to_owned(),
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// A client's messages with a bot, across its conversations, oldest first.
    pub async fn client_messages(
        &self,
        account: &AccountId,
        bot: &BotId,
        external_id: &str,
        window: &ClientWindow,
    ) -> Result<Vec<ClientMessage>> {
        let mut query = sqlx::QueryBuilder::<sqlx::Sqlite>::new(format!(
            "SELECT {CLIENT_MESSAGE_COLUMNS} FROM messages m
             JOIN conversations c ON c.id = m.conversation_id
             JOIN contacts t ON t.id = c.contact_id
             JOIN bots b ON b.id = c.bot_id
             WHERE b.account_id = "
        ));
        query.push_bind(account.as_str());
        query.push(" AND c.bot_id = ").push_bind(bot.as_str());
        query.push(" AND t.external_id = ").push_bind(external_id);
        // SQLite compares times to the millisecond: the bounds are widened by one here and
        // applied exactly below.
        let slack = time::Duration::milliseconds(1);
        if let Some(from) = window.from {
            query
                .push(" AND julianday(m.created_at) >= julianday(")
                .push_bind(from - slack)
                .push(")");
        }
        if let Some(to) = window.to {
            query
                .push(" AND julianday(m.created_at) <= julianday(")
                .push_bind(to + slack)
                .push(")");
        }
        query
            .push(" ORDER BY m.seq LIMIT ")
            .push_bind(i64::from(window.limit))
            .push(" OFFSET ")
            .push_bind(i64::from(window.offset));
        let rows = query.build().fetch_all(&self.pool).await?;
        let mut messages = rows
            .iter()
            .map(client_message_from_row)
            .collect::<Result<Vec<_>>>()?;
        messages.retain(|m| {
            window.from.is_none_or(|f| m.message.created_at >= f)
                && window.to.is_none_or(|t| m.message.created_at <= t)
        });
        Ok(messages)
    }

    /// A bot's contact by the client's key for it.
    pub async fn contact_by_external_id(
        &self,
        account: &AccountId,
        bot: &BotId,
        external_id: &str,
    ) -> Result<Option<sitechat_core::model::Contact>> {
        let row = sqlx::query(
            "SELECT t.* FROM contacts t JOIN bots b ON b.id = t.bot_id
             WHERE b.account_id = ? AND t.bot_id = ? AND t.external_id = ?",
        )
        .bind(account.as_str())
        .bind(bot.as_str())
        .bind(external_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref()
            .map(crate::conversations::contact_from_row)
            .transpose()
    }

    /// When a client last sent the bot a message.
    pub async fn last_client_request_at(
        &self,
        account: &AccountId,
        bot: &BotId,
        external_id: &str,
    ) -> Result<Option<OffsetDateTime>> {
        Ok(sqlx::query_scalar(
            "SELECT m.created_at FROM messages m
             JOIN conversations c ON c.id = m.conversation_id
             JOIN contacts t ON t.id = c.contact_id
             JOIN bots b ON b.id = c.bot_id
             WHERE b.account_id = ? AND c.bot_id = ? AND t.external_id = ? AND m.role = 'visitor'
             ORDER BY m.seq DESC LIMIT 1",
        )
        .bind(account.as_str())
        .bind(bot.as_str())
        .bind(external_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// One message of a client, by id.
    pub async fn client_message(
        &self,
        account: &AccountId,
        bot: &BotId,
        external_id: &str,
        id: &MessageId,
    ) -> Result<ClientMessage> {
        let row = sqlx::query(&format!(
            "SELECT {CLIENT_MESSAGE_COLUMNS} FROM messages m
             JOIN conversations c ON c.id = m.conversation_id
             JOIN contacts t ON t.id = c.contact_id
             JOIN bots b ON b.id = c.bot_id
             WHERE b.account_id = ? AND c.bot_id = ? AND t.external_id = ? AND m.id = ?"
        ))
        .bind(account.as_str())
        .bind(bot.as_str())
        .bind(external_id)
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::not_found("message"))?;
        client_message_from_row(&row)
    }

    /// The bot's and agents' messages that answer a visitor message: those after it, up to the
    /// visitor's next message.
    pub async fn answers_to(&self, question: &Message) -> Result<Vec<Message>> {
        let rows = sqlx::query(
            "SELECT m.* FROM messages m, messages q
             WHERE q.id = ? AND m.conversation_id = q.conversation_id AND m.seq > q.seq
               AND m.role IN ('bot', 'agent')
               AND NOT EXISTS (SELECT 1 FROM messages v WHERE v.conversation_id = q.conversation_id
                               AND v.role = 'visitor' AND v.seq > q.seq AND v.seq < m.seq)
             ORDER BY m.seq",
        )
        .bind(question.id.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(crate::conversations::message_from_row)
            .collect()
    }
    /// The account's bot with this website number (its `website_id`).
    pub async fn bot_by_number(&self, account: &AccountId, number: i64) -> Result<Bot> {
        let id: Option<String> =
            sqlx::query_scalar("SELECT id FROM bots WHERE seq = ? AND account_id = ?")
                .bind(number)
                .bind(account.as_str())
                .fetch_optional(&self.pool)
                .await?;
        let id = id.ok_or_else(|| StoreError::NotFound { entity: "website" })?;
        self.get_bot(account, &BotId::from_trusted(id)).await
    }

    /// The account's bot with this `bot_key`.
    pub async fn bot_by_key(&self, account: &AccountId, key: &str) -> Result<Bot> {
        let id: Option<String> =
            sqlx::query_scalar("SELECT id FROM bots WHERE bot_key = ? AND account_id = ?")
                .bind(key)
                .bind(account.as_str())
                .fetch_optional(&self.pool)
                .await?;
        let id = id.ok_or_else(|| StoreError::NotFound {
            entity: "bot (bot_key)",
        })?;
        self.get_bot(account, &BotId::from_trusted(id)).await
    }

    /// The account's first bot, its "primary website".
    pub async fn primary_bot(&self, account: &AccountId) -> Result<Bot> {
        let id: Option<String> =
            sqlx::query_scalar("SELECT id FROM bots WHERE account_id = ? ORDER BY seq LIMIT 1")
                .bind(account.as_str())
                .fetch_optional(&self.pool)
                .await?;
        let id = id.ok_or_else(|| StoreError::NotFound {
            entity: "website (the account has no bot yet)",
        })?;
        self.get_bot(account, &BotId::from_trusted(id)).await
    }

    /// The latest conversation of a bot's visitor that has not ended.
    pub async fn open_conversation_of(
        &self,
        account: &AccountId,
        bot: &BotId,
        external_id: &str,
    ) -> Result<Option<ConversationId>> {
        let id: Option<String> = sqlx::query_scalar(
            "SELECT c.id FROM conversations c JOIN contacts t ON t.id = c.contact_id JOIN bots b ON b.id = c.bot_id
             WHERE b.account_id = ? AND c.bot_id = ? AND t.external_id = ? AND c.status != 'ended'
             ORDER BY c.seq DESC LIMIT 1",
        )
        .bind(account.as_str())
        .bind(bot.as_str())
        .bind(external_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(id.map(ConversationId::from_trusted))
    }

    /// The conversation of the bot that a client-chosen conversation id names (AskIA's
    /// `conversationId`), if the client used it with this bot before.
    pub async fn client_conversation(
        &self,
        account: &AccountId,
        bot: &BotId,
        client_id: &str,
    ) -> Result<Option<ConversationId>> {
        let id: Option<String> = sqlx::query_scalar(
            "SELECT m.conversation_id FROM client_conversation_ids m JOIN bots b ON b.id = m.bot_id
             WHERE b.account_id = ? AND m.bot_id = ? AND m.client_id = ?",
        )
        .bind(account.as_str())
        .bind(bot.as_str())
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(id.map(ConversationId::from_trusted))
    }

    /// Names a conversation of the bot with a client-chosen id. When two requests race to name
    /// the same id, the first one wins: the conversation the id names afterwards is returned.
    pub async fn name_client_conversation(
        &self,
        account: &AccountId,
        bot: &BotId,
        client_id: &str,
        conversation: &ConversationId,
    ) -> Result<ConversationId> {
        let inserted = sqlx::query(
            "INSERT INTO client_conversation_ids (bot_id, client_id, conversation_id, created_at)
             SELECT c.bot_id, ?, c.id, ? FROM conversations c JOIN bots b ON b.id = c.bot_id
             WHERE b.account_id = ? AND c.bot_id = ? AND c.id = ?
             ON CONFLICT (bot_id, client_id) DO NOTHING",
        )
        .bind(client_id)
        .bind(now())
        .bind(account.as_str())
        .bind(bot.as_str())
        .bind(conversation.as_str())
        .execute(&self.pool)
        .await?;
        if inserted.rows_affected() == 0 {
            self.get_conversation(account, conversation).await?;
        }
        self.client_conversation(account, bot, client_id)
            .await?
            .ok_or_else(|| StoreError::not_found("conversation"))
    }

    /// The latest conversation, across the account's bots, of the visitor with this key.
    pub async fn latest_conversation_of(
        &self,
        account: &AccountId,
        external_id: &str,
    ) -> Result<Option<ConversationId>> {
        let id: Option<String> = sqlx::query_scalar(
            "SELECT c.id FROM conversations c JOIN contacts t ON t.id = c.contact_id JOIN bots b ON b.id = c.bot_id
             WHERE b.account_id = ? AND t.external_id = ? ORDER BY c.seq DESC LIMIT 1",
        )
        .bind(account.as_str())
        .bind(external_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(id.map(ConversationId::from_trusted))
    }

    /// Recent conversations as sessions, newest first.
    pub async fn recent_sessions(
        &self,
        account: &AccountId,
        bot: Option<&BotId>,
        channel: Option<&str>,
        limit: u32,
    ) -> Result<Vec<SessionSummary>> {
        let mut query = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "SELECT c.id, c.bot_id, c.channel, c.updated_at, b.website_url,
                    (SELECT external_id FROM contacts t WHERE t.id = c.contact_id) AS external_id,
                    (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id) AS message_count,
                    (SELECT text FROM messages m WHERE m.conversation_id = c.id AND m.role = 'visitor' ORDER BY m.seq LIMIT 1) AS first_message,
                    (SELECT created_at FROM messages m WHERE m.conversation_id = c.id ORDER BY m.seq LIMIT 1) AS first_message_at
             FROM conversations c JOIN bots b ON b.id = c.bot_id WHERE b.account_id = ",
        );
        query.push_bind(account.as_str());
        if let Some(bot) = bot {
            query.push(" AND c.bot_id = ").push_bind(bot.as_str());
        }
        if let Some(channel) = channel {
            query.push(" AND c.channel = ").push_bind(channel);
        }
        query
            .push(" ORDER BY c.updated_at DESC, c.seq DESC LIMIT ")
            .push_bind(i64::from(limit));
        let rows = query.build().fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                Ok(SessionSummary {
                    conversation_id: ConversationId::from_trusted(r.try_get("id")?),
                    bot_id: BotId::from_trusted(r.try_get("bot_id")?),
                    external_id: r.try_get("external_id")?,
                    channel: r.try_get("channel")?,
                    message_count: r.try_get("message_count")?,
                    first_message: r.try_get("first_message")?,
                    first_message_at: r.try_get("first_message_at")?,
                    last_message_at: r
                        .try_get::<Option<OffsetDateTime>, _>("updated_at")?
                        .unwrap_or_else(now),
                    website_url: r.try_get("website_url")?,
                })
            })
            .collect()
    }
}

/// A visitor message with the bot's answer to it (AISA's history items).
#[derive(Debug, Clone)]
pub struct Exchange {
    pub message_id: sitechat_core::MessageId,
    pub user_message: String,
    pub ai_response: Option<String>,
    pub confidence: Option<f64>,
    pub timestamp: OffsetDateTime,
}

impl Store {
    /// A visitor's exchanges across the account's bots (optionally one bot), newest first, with the
    /// total count.
    pub async fn exchanges(
        &self,
        account: &AccountId,
        bot: Option<&BotId>,
        external_id: &str,
        limit: u32,
        offset: u32,
    ) -> Result<(Vec<Exchange>, i64)> {
        let mut count = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "SELECT COUNT(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id JOIN contacts t ON t.id = c.contact_id
             JOIN bots b ON b.id = c.bot_id WHERE m.role = 'visitor' AND b.account_id = ",
        );
        count
            .push_bind(account.as_str())
            .push(" AND t.external_id = ")
            .push_bind(external_id);
        if let Some(bot) = bot {
            count.push(" AND c.bot_id = ").push_bind(bot.as_str());
        }
        let total: i64 = count.build_query_scalar().fetch_one(&self.pool).await?;
        let mut query = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "SELECT m.id, m.text, m.created_at,
                    (SELECT r.text FROM messages r WHERE r.conversation_id = m.conversation_id AND r.seq > m.seq AND r.role IN ('bot', 'agent') ORDER BY r.seq LIMIT 1) AS reply,
                    (SELECT r.confidence FROM messages r WHERE r.conversation_id = m.conversation_id AND r.seq > m.seq AND r.role IN ('bot', 'agent') ORDER BY r.seq LIMIT 1) AS confidence
             FROM messages m JOIN conversations c ON c.id = m.conversation_id JOIN contacts t ON t.id = c.contact_id
             JOIN bots b ON b.id = c.bot_id WHERE m.role = 'visitor' AND b.account_id = ",
        );
        query
            .push_bind(account.as_str())
            .push(" AND t.external_id = ")
            .push_bind(external_id);
        if let Some(bot) = bot {
            query.push(" AND c.bot_id = ").push_bind(bot.as_str());
        }
        query
            .push(" ORDER BY m.seq DESC LIMIT ")
            .push_bind(i64::from(limit))
            .push(" OFFSET ")
            .push_bind(i64::from(offset));
        let rows = query.build().fetch_all(&self.pool).await?;
        let items = rows
            .iter()
            .map(|r| {
                Ok(Exchange {
                    message_id: sitechat_core::MessageId::from_trusted(r.try_get("id")?),
                    user_message: r.try_get("text")?,
                    ai_response: r.try_get("reply")?,
                    confidence: r.try_get("confidence")?,
                    timestamp: r.try_get("created_at")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((items, total))
    }
}
