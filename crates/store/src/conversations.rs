//! Contacts, conversations and messages.

use sitechat_core::{
    model::{Conversation, ConversationStatus, Message, Outcome, Role, SourceRef},
    now, AccountId, BotId, ContactId, ConversationId, MessageId,
};
use sqlx::Row;

use crate::{error::StoreError, paginate, Page, PageRequest, Result, Store};

/// How to find or start the conversation a visitor message belongs to.
#[derive(Debug, Clone)]
pub enum StartConversation {
    /// Continue this conversation (it must belong to the bot).
    Existing(ConversationId),
    /// Start a new one, for the visitor with this external key if given.
    New {
        external_id: Option<String>,
        channel: String,
    },
}

/// A message to append.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub role: Role,
    pub text: String,
    pub confidence: Option<f64>,
    pub outcome: Option<Outcome>,
    pub sources: Vec<SourceRef>,
}

const CONVERSATION_COLUMNS: &str =
    "c.seq, c.id, c.bot_id, c.contact_id, c.channel, c.status, c.created_at, c.updated_at,
     (SELECT external_id FROM contacts t WHERE t.id = c.contact_id) AS external_id";

fn conversation_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Conversation> {
    let status: String = row.try_get("status")?;
    Ok(Conversation {
        id: ConversationId::from_trusted(row.try_get("id")?),
        bot_id: BotId::from_trusted(row.try_get("bot_id")?),
        contact_id: row
            .try_get::<Option<String>, _>("contact_id")?
            .map(ContactId::from_trusted),
        external_id: row.try_get("external_id")?,
        channel: row.try_get("channel")?,
        status: ConversationStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("conversation status {status}")))?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn message_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Message> {
    let role: String = row.try_get("role")?;
    let outcome: Option<String> = row.try_get("outcome")?;
    let sources: String = row.try_get("sources")?;
    Ok(Message {
        id: MessageId::from_trusted(row.try_get("id")?),
        conversation_id: ConversationId::from_trusted(row.try_get("conversation_id")?),
        role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("role {role}")))?,
        text: row.try_get("text")?,
        confidence: row.try_get("confidence")?,
        outcome: outcome
            .map(|o| Outcome::parse(&o).ok_or_else(|| StoreError::Corrupt(format!("outcome {o}"))))
            .transpose()?,
        sources: serde_json::from_str(&sources)
            .map_err(|e| StoreError::Corrupt(format!("sources: {e}")))?,
        created_at: row.try_get("created_at")?,
    })
}

async fn insert_message(
    conn: &mut sqlx::SqliteConnection,
    conversation: &ConversationId,
    new: NewMessage,
) -> Result<Message> {
    let message = Message {
        id: MessageId::generate(),
        conversation_id: conversation.clone(),
        role: new.role,
        text: new.text,
        confidence: new.confidence,
        outcome: new.outcome,
        sources: new.sources,
        created_at: now(),
    };
    let sources =
        serde_json::to_string(&message.sources).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    sqlx::query(
        "INSERT INTO messages (id, conversation_id, role, text, confidence, outcome, sources, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(message.id.as_str())
    .bind(message.conversation_id.as_str())
    .bind(message.role.as_str())
    .bind(&message.text)
    .bind(message.confidence)
    .bind(message.outcome.map(Outcome::as_str))
    .bind(sources)
    .bind(message.created_at)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE conversations SET updated_at = ? WHERE id = ?")
        .bind(message.created_at)
        .bind(conversation.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(message)
}

impl Store {
    /// Stores a visitor's message, starting its conversation (and the visitor's contact) first
    /// when needed, in one transaction. Returns the conversation and the stored message.
    pub async fn record_visitor_message(
        &self,
        account: &AccountId,
        bot: &BotId,
        target: StartConversation,
        text: String,
    ) -> Result<(Conversation, Message)> {
        let mut tx = self.begin_write().await?;
        let owned: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM bots WHERE id = ? AND account_id = ?")
                .bind(bot.as_str())
                .bind(account.as_str())
                .fetch_optional(&mut *tx)
                .await?;
        if owned.is_none() {
            return Err(StoreError::not_found("bot"));
        }
        let conversation_id = match target {
            StartConversation::Existing(id) => {
                let status: Option<String> = sqlx::query_scalar(
                    "SELECT status FROM conversations WHERE id = ? AND bot_id = ?",
                )
                .bind(id.as_str())
                .bind(bot.as_str())
                .fetch_optional(&mut *tx)
                .await?;
                match status.as_deref() {
                    None => return Err(StoreError::not_found("conversation")),
                    Some("ended") => {
                        return Err(StoreError::Conflict(
                            "this conversation has ended; start a new one by leaving out conversation_id".to_owned(),
                        ))
                    }
                    Some(_) => id,
                }
            }
            StartConversation::New {
                external_id,
                channel,
            } => {
                let at = now();
                let contact_id = match external_id {
                    Some(external) => {
                        sqlx::query(
                            "INSERT INTO contacts (id, bot_id, external_id, created_at) VALUES (?, ?, ?, ?)
                             ON CONFLICT (bot_id, external_id) DO NOTHING",
                        )
                        .bind(ContactId::generate().as_str())
                        .bind(bot.as_str())
                        .bind(&external)
                        .bind(at)
                        .execute(&mut *tx)
                        .await?;
                        let id: String = sqlx::query_scalar(
                            "SELECT id FROM contacts WHERE bot_id = ? AND external_id = ?",
                        )
                        .bind(bot.as_str())
                        .bind(&external)
                        .fetch_one(&mut *tx)
                        .await?;
                        Some(id)
                    }
                    None => None,
                };
                let id = ConversationId::generate();
                sqlx::query(
                    "INSERT INTO conversations (id, bot_id, contact_id, channel, status, created_at, updated_at)
                     VALUES (?, ?, ?, ?, 'bot', ?, ?)",
                )
                .bind(id.as_str())
                .bind(bot.as_str())
                .bind(contact_id)
                .bind(&channel)
                .bind(at)
                .bind(at)
                .execute(&mut *tx)
                .await?;
                id
            }
        };
        let message = insert_message(
            &mut tx,
            &conversation_id,
            NewMessage {
                role: Role::Visitor,
                text,
                confidence: None,
                outcome: None,
                sources: Vec::new(),
            },
        )
        .await?;
        let sql = format!("SELECT {CONVERSATION_COLUMNS} FROM conversations c WHERE c.id = ?");
        let row = sqlx::query(&sql)
            .bind(conversation_id.as_str())
            .fetch_one(&mut *tx)
            .await?;
        let conversation = conversation_from_row(&row)?;
        tx.commit().await?;
        Ok((conversation, message))
    }

    /// Appends a message to a conversation of the account.
    pub async fn append_message(
        &self,
        account: &AccountId,
        conversation: &ConversationId,
        new: NewMessage,
    ) -> Result<Message> {
        let mut tx = self.begin_write().await?;
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM conversations c JOIN bots b ON b.id = c.bot_id WHERE c.id = ? AND b.account_id = ?",
        )
        .bind(conversation.as_str())
        .bind(account.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        if found.is_none() {
            return Err(StoreError::not_found("conversation"));
        }
        let message = insert_message(&mut tx, conversation, new).await?;
        tx.commit().await?;
        Ok(message)
    }

    pub async fn get_conversation(
        &self,
        account: &AccountId,
        id: &ConversationId,
    ) -> Result<Conversation> {
        let sql = format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations c JOIN bots b ON b.id = c.bot_id
             WHERE c.id = ? AND b.account_id = ?"
        );
        let row = sqlx::query(&sql)
            .bind(id.as_str())
            .bind(account.as_str())
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found("conversation"))?;
        conversation_from_row(&row)
    }

    /// A conversation's messages, oldest first.
    pub async fn list_messages(
        &self,
        account: &AccountId,
        conversation: &ConversationId,
        page: PageRequest,
    ) -> Result<Page<Message>> {
        self.get_conversation(account, conversation).await?;
        let rows = sqlx::query(
            "SELECT * FROM messages WHERE conversation_id = ? AND seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(conversation.as_str())
        .bind(page.after_seq())
        .bind(page.fetch_limit())
        .fetch_all(&self.pool)
        .await?;
        let items = rows
            .iter()
            .map(|r| Ok((r.try_get("seq")?, message_from_row(r)?)))
            .collect::<Result<Vec<_>>>()?;
        Ok(paginate(items, page))
    }

    /// The last `n` messages of a conversation, oldest first (context for follow-up questions).
    pub async fn recent_messages(
        &self,
        conversation: &ConversationId,
        n: u32,
    ) -> Result<Vec<Message>> {
        let rows = sqlx::query(
            "SELECT * FROM (SELECT * FROM messages WHERE conversation_id = ? ORDER BY seq DESC LIMIT ?)
             ORDER BY seq",
        )
        .bind(conversation.as_str())
        .bind(i64::from(n))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(message_from_row).collect()
    }
}
