//! Contacts, conversations, messages, the handoff state machine, leads, statuses, chat state and
//! feedback. Every change that the event log records appends its event in the same transaction.

use serde_json::{json, Value};
use sitechat_core::{
    model::{
        Button, Contact, Conversation, ConversationStatus, HandoffAction, HandoffReason, Lead,
        Message, MessageStatus, Outcome, Role, SourceRef, Thumb,
    },
    now, AccountId, BotId, ContactId, ConversationId, LeadId, MessageId, UserId,
};
use sqlx::Row;
use time::OffsetDateTime;

use crate::{error::StoreError, events, page_of, Page, PageRequest, Result, Store};

/// A request that carries an `Idempotency-Key`: the key, and what identifies the request.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyedRequest {
    pub key: String,
    /// What identifies the request (its method, path and body, hashed).
    pub fingerprint: String,
}

/// What an idempotency key has recorded so far.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyState {
    /// The request ended: its response, to replay.
    Done(RememberedResponse),
    /// The request stored its visitor message and did not finish (the server stopped, or the
    /// answer failed): a retry finishes that message.
    Pending {
        fingerprint: String,
        message: MessageId,
    },
}

/// The first successful response to a request with an idempotency key.
#[derive(Debug, Clone, PartialEq)]
pub struct RememberedResponse {
    /// What identifies the request (its method, path and body, hashed).
    pub fingerprint: String,
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

/// What a client tells about a visitor.
#[derive(Debug, Clone, Default)]
pub struct ContactInput {
    pub external_id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// Scoped variables to merge into the contact's (`{"system": {…}, "contact": {…}}`).
    pub variables: Option<Value>,
}

/// How to find or start the conversation a visitor message belongs to.
#[derive(Debug, Clone)]
pub enum StartConversation {
    /// Continue this conversation (it must belong to the bot).
    Existing(ConversationId),
    /// Start a new one.
    New(NewConversation),
}

/// A conversation to start.
#[derive(Debug, Clone, Default)]
pub struct NewConversation {
    pub contact: Option<ContactInput>,
    pub channel: String,
    /// Conversation-scoped variables.
    pub variables: Option<Value>,
}

/// A message to append.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub role: Role,
    pub text: String,
    pub author: Option<String>,
    pub confidence: Option<f64>,
    pub outcome: Option<Outcome>,
    pub sources: Vec<SourceRef>,
    pub buttons: Vec<Button>,
}

impl NewMessage {
    pub fn text(role: Role, text: impl Into<String>) -> Self {
        Self {
            role,
            text: text.into(),
            author: None,
            confidence: None,
            outcome: None,
            sources: Vec::new(),
            buttons: Vec::new(),
        }
    }
}

/// Filters of the conversation list.
#[derive(Debug, Clone, Default)]
pub struct ConversationFilter {
    pub bot: Option<BotId>,
    pub channel: Option<String>,
    pub status: Option<ConversationStatus>,
    pub contact: Option<ContactId>,
    pub since: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
}

/// Filters of the lead list.
#[derive(Debug, Clone, Default)]
pub struct LeadFilter {
    pub bot: Option<BotId>,
    pub since: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
}

/// A bot reply that was stored, with the conversation's run of fallbacks after it.
#[derive(Debug, Clone)]
pub struct StoredReply {
    pub message: Message,
    pub fallback_streak: i64,
}

/// What became of a bot reply given to the store.
#[derive(Debug, Clone)]
pub enum BotReply {
    /// Stored: the visitor message's answer.
    Stored(StoredReply),
    /// The visitor message was answered already (by an earlier attempt): that answer, and
    /// nothing stored.
    Existing(Message),
    /// A human owns the conversation: nothing stored, the bot stays silent.
    Silent,
}

const CONVERSATION_COLUMNS: &str =
    "c.seq, c.id, c.bot_id, c.contact_id, c.channel, c.status, c.assignee, c.handoff_reason,
     c.variables, c.rating, c.created_at, c.updated_at, c.ended_at,
     (SELECT external_id FROM contacts t WHERE t.id = c.contact_id) AS external_id";

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

fn conversation_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Conversation> {
    let status: String = row.try_get("status")?;
    let reason: Option<String> = row.try_get("handoff_reason")?;
    let variables: String = row.try_get("variables")?;
    Ok(Conversation {
        id: ConversationId::from_trusted(row.try_get("id")?),
        bot_id: BotId::from_trusted(row.try_get("bot_id")?),
        contact_id: row
            .try_get::<Option<String>, _>("contact_id")?
            .map(ContactId::from_trusted),
        external_id: row.try_get("external_id")?,
        channel: row.try_get("channel")?,
        status: ConversationStatus::parse(&status)
            .ok_or_else(|| corrupt(format!("conversation status {status}")))?,
        assignee: row.try_get("assignee")?,
        handoff_reason: reason.as_deref().and_then(HandoffReason::parse),
        variables: serde_json::from_str(&variables).map_err(corrupt)?,
        rating: row.try_get("rating")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        ended_at: row.try_get("ended_at")?,
    })
}

pub(crate) fn message_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Message> {
    let role: String = row.try_get("role")?;
    let outcome: Option<String> = row.try_get("outcome")?;
    let sources: String = row.try_get("sources")?;
    let buttons: String = row.try_get("buttons")?;
    let status: Option<String> = row.try_get("status")?;
    let feedback: Option<String> = row.try_get("feedback")?;
    Ok(Message {
        id: MessageId::from_trusted(row.try_get("id")?),
        conversation_id: ConversationId::from_trusted(row.try_get("conversation_id")?),
        role: Role::parse(&role).ok_or_else(|| corrupt(format!("role {role}")))?,
        text: row.try_get("text")?,
        author: row.try_get("author")?,
        confidence: row.try_get("confidence")?,
        outcome: outcome
            .map(|o| Outcome::parse(&o).ok_or_else(|| corrupt(format!("outcome {o}"))))
            .transpose()?,
        sources: serde_json::from_str(&sources).map_err(corrupt)?,
        buttons: serde_json::from_str(&buttons).map_err(corrupt)?,
        status: status.as_deref().and_then(MessageStatus::parse),
        feedback: feedback
            .as_deref()
            .map(|f| if f == "up" { Thumb::Up } else { Thumb::Down }),
        created_at: row.try_get("created_at")?,
    })
}

pub(crate) fn contact_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Contact> {
    let variables: String = row.try_get("variables")?;
    Ok(Contact {
        id: ContactId::from_trusted(row.try_get("id")?),
        bot_id: BotId::from_trusted(row.try_get("bot_id")?),
        external_id: row.try_get("external_id")?,
        name: row.try_get("name")?,
        email: row.try_get("email")?,
        phone: row.try_get("phone")?,
        variables: serde_json::from_str(&variables).map_err(corrupt)?,
        created_at: row.try_get("created_at")?,
    })
}

/// Merges `patch` into `base` one level deep per scope (`{"system": {…}}` keys merge).
fn merge_variables(base: &mut Value, patch: &Value) {
    let (Some(base), Some(patch)) = (base.as_object_mut(), patch.as_object()) else {
        return;
    };
    for (scope, values) in patch {
        match (
            base.get_mut(scope).and_then(Value::as_object_mut),
            values.as_object(),
        ) {
            (Some(existing), Some(new)) => {
                for (k, v) in new {
                    existing.insert(k.clone(), v.clone());
                }
            }
            _ => {
                base.insert(scope.clone(), values.clone());
            }
        }
    }
}

async fn owned_bot(
    conn: &mut sqlx::SqliteConnection,
    account: &AccountId,
    bot: &BotId,
) -> Result<()> {
    let owned: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM bots WHERE id = ? AND account_id = ?")
            .bind(bot.as_str())
            .bind(account.as_str())
            .fetch_optional(&mut *conn)
            .await?;
    owned
        .map(|_| ())
        .ok_or_else(|| StoreError::not_found("bot"))
}

/// Creates or updates a contact from what a client says about it; returns its id.
async fn upsert_contact(
    conn: &mut sqlx::SqliteConnection,
    bot: &BotId,
    input: &ContactInput,
) -> Result<ContactId> {
    let at = now();
    let existing = sqlx::query("SELECT * FROM contacts WHERE bot_id = ? AND external_id = ?")
        .bind(bot.as_str())
        .bind(&input.external_id)
        .fetch_optional(&mut *conn)
        .await?;
    match existing {
        Some(row) => {
            let contact = contact_from_row(&row)?;
            let mut variables = contact.variables.clone();
            if let Some(patch) = &input.variables {
                merge_variables(&mut variables, patch);
            }
            sqlx::query(
                "UPDATE contacts SET name = COALESCE(?, name), email = COALESCE(?, email), phone = COALESCE(?, phone),
                 variables = ?, updated_at = ? WHERE id = ?",
            )
            .bind(&input.name)
            .bind(&input.email)
            .bind(&input.phone)
            .bind(variables.to_string())
            .bind(at)
            .bind(contact.id.as_str())
            .execute(&mut *conn)
            .await?;
            Ok(contact.id)
        }
        None => {
            let id = ContactId::generate();
            let mut variables = json!({});
            if let Some(patch) = &input.variables {
                merge_variables(&mut variables, patch);
            }
            sqlx::query(
                "INSERT INTO contacts (id, bot_id, external_id, name, email, phone, variables, created_at, updated_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(id.as_str())
            .bind(bot.as_str())
            .bind(&input.external_id)
            .bind(&input.name)
            .bind(&input.email)
            .bind(&input.phone)
            .bind(variables.to_string())
            .bind(at)
            .bind(at)
            .execute(&mut *conn)
            .await?;
            Ok(id)
        }
    }
}

async fn insert_conversation(
    conn: &mut sqlx::SqliteConnection,
    account: &AccountId,
    bot: &BotId,
    new: &NewConversation,
) -> Result<ConversationId> {
    let at = now();
    let contact_id = match &new.contact {
        Some(contact) => Some(upsert_contact(conn, bot, contact).await?),
        None => None,
    };
    let id = ConversationId::generate();
    let variables = new.variables.clone().unwrap_or_else(|| json!({}));
    sqlx::query(
        "INSERT INTO conversations (id, bot_id, contact_id, channel, status, variables, created_at, updated_at)
         VALUES (?, ?, ?, ?, 'bot', ?, ?, ?)",
    )
    .bind(id.as_str())
    .bind(bot.as_str())
    .bind(contact_id.as_ref().map(ContactId::as_str))
    .bind(&new.channel)
    .bind(variables.to_string())
    .bind(at)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    events::append(
        conn,
        account,
        Some(bot),
        Some(&id),
        "conversation.started",
        json!({
            "conversation_id": id, "bot_id": bot, "channel": new.channel,
            "contact_id": contact_id, "external_id": new.contact.as_ref().map(|c| &c.external_id),
        }),
    )
    .await?;
    Ok(id)
}

async fn load_conversation(
    conn: &mut sqlx::SqliteConnection,
    id: &ConversationId,
) -> Result<Conversation> {
    let sql = format!("SELECT {CONVERSATION_COLUMNS} FROM conversations c WHERE c.id = ?");
    let row = sqlx::query(&sql)
        .bind(id.as_str())
        .fetch_one(&mut *conn)
        .await?;
    conversation_from_row(&row)
}

async fn insert_message(
    conn: &mut sqlx::SqliteConnection,
    conversation: &ConversationId,
    new: NewMessage,
) -> Result<Message> {
    let status = matches!(new.role, Role::Bot | Role::Agent).then_some(MessageStatus::Sent);
    let message = Message {
        id: MessageId::generate(),
        conversation_id: conversation.clone(),
        role: new.role,
        text: new.text,
        author: new.author,
        confidence: new.confidence,
        outcome: new.outcome,
        sources: new.sources,
        buttons: new.buttons,
        status,
        feedback: None,
        created_at: now(),
    };
    sqlx::query(
        "INSERT INTO messages (id, conversation_id, role, text, author, confidence, outcome, sources, buttons, status, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(message.id.as_str())
    .bind(message.conversation_id.as_str())
    .bind(message.role.as_str())
    .bind(&message.text)
    .bind(&message.author)
    .bind(message.confidence)
    .bind(message.outcome.map(Outcome::as_str))
    .bind(serde_json::to_string(&message.sources).map_err(corrupt)?)
    .bind(serde_json::to_string(&message.buttons).map_err(corrupt)?)
    .bind(message.status.map(MessageStatus::as_str))
    .bind(message.created_at)
    .execute(&mut *conn)
    .await?;
    if message.role == Role::Agent || message.outcome == Some(Outcome::Handoff) {
        // The conversation now went to a person: its start day's figures change.
        crate::analytics::forget_day_of(&mut *conn, conversation).await?;
    }
    sqlx::query("UPDATE conversations SET updated_at = ? WHERE id = ?")
        .bind(message.created_at)
        .bind(conversation.as_str())
        .execute(&mut *conn)
        .await?;
    crate::channels::enqueue_outbound(conn, conversation, &message).await?;
    Ok(message)
}

fn message_event(conversation: &Conversation, message: &Message) -> Value {
    json!({
        "conversation_id": conversation.id, "bot_id": conversation.bot_id, "contact_id": conversation.contact_id,
        "external_id": conversation.external_id, "channel": conversation.channel,
        "message": {"id": message.id, "role": message.role, "text": message.text, "author": message.author,
                    "confidence": message.confidence, "outcome": message.outcome, "buttons": message.buttons},
    })
}

/// The account that owns a conversation, checked.
async fn conversation_of(
    conn: &mut sqlx::SqliteConnection,
    account: &AccountId,
    id: &ConversationId,
) -> Result<Conversation> {
    let sql = format!(
        "SELECT {CONVERSATION_COLUMNS} FROM conversations c JOIN bots b ON b.id = c.bot_id WHERE c.id = ? AND b.account_id = ?"
    );
    let row = sqlx::query(&sql)
        .bind(id.as_str())
        .bind(account.as_str())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StoreError::not_found("conversation"))?;
    conversation_from_row(&row)
}

impl Store {
    /// Starts a conversation (and creates or updates its contact), recording
    /// `conversation.started`.
    pub async fn start_conversation(
        &self,
        account: &AccountId,
        bot: &BotId,
        new: &NewConversation,
    ) -> Result<Conversation> {
        let mut tx = self.begin_write().await?;
        owned_bot(&mut tx, account, bot).await?;
        let id = insert_conversation(&mut tx, account, bot, new).await?;
        let conversation = load_conversation(&mut tx, &id).await?;
        tx.commit().await?;
        Ok(conversation)
    }

    /// Stores a visitor's message, starting its conversation first when needed, in one
    /// transaction with its events — and with the request's idempotency key, as pending on this
    /// message, when it carries one (a key already bound to another stored message is a
    /// conflict, and nothing is stored). Returns the conversation (as it is after the message),
    /// the message, and whether the conversation was started by it.
    pub async fn record_visitor_message(
        &self,
        account: &AccountId,
        bot: &BotId,
        target: StartConversation,
        text: String,
        connection: Option<&str>,
        keyed: Option<&KeyedRequest>,
    ) -> Result<(Conversation, Message, bool)> {
        let mut tx = self.begin_write().await?;
        owned_bot(&mut tx, account, bot).await?;
        let (id, started) = match target {
            StartConversation::Existing(id) => {
                let conversation = conversation_of(&mut tx, account, &id).await?;
                if conversation.bot_id != *bot {
                    return Err(StoreError::not_found("conversation"));
                }
                if conversation.status == ConversationStatus::Ended {
                    return Err(StoreError::Conflict(
                        "this conversation has ended; start a new one by leaving out conversation_id".to_owned(),
                    ));
                }
                (id, false)
            }
            StartConversation::New(new) => (
                insert_conversation(&mut tx, account, bot, &new).await?,
                true,
            ),
        };
        let message = insert_message(&mut tx, &id, NewMessage::text(Role::Visitor, text)).await?;
        if let Some(connection) = connection {
            sqlx::query("UPDATE messages SET connection_id = ? WHERE id = ?")
                .bind(connection)
                .bind(message.id.as_str())
                .execute(&mut *tx)
                .await?;
        }
        if let Some(keyed) = keyed {
            // A key whose message is gone (its conversation was deleted) is free again.
            let bound = sqlx::query(
                "INSERT INTO idempotency_keys (account_id, key, fingerprint, message_id, created_at) VALUES (?, ?, ?, ?, ?)
                 ON CONFLICT (account_id, key) DO UPDATE
                 SET fingerprint = excluded.fingerprint, message_id = excluded.message_id, created_at = excluded.created_at
                 WHERE idempotency_keys.response IS NULL
                   AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = idempotency_keys.message_id)",
            )
            .bind(account.as_str())
            .bind(&keyed.key)
            .bind(&keyed.fingerprint)
            .bind(message.id.as_str())
            .bind(message.created_at)
            .execute(&mut *tx)
            .await?;
            if bound.rows_affected() == 0 {
                return Err(StoreError::Conflict(
                    "this Idempotency-Key was already used by another request; use a new key for a new request".to_owned(),
                ));
            }
        }
        let conversation = load_conversation(&mut tx, &id).await?;
        events::append(
            &mut tx,
            account,
            Some(bot),
            Some(&id),
            "message.received",
            message_event(&conversation, &message),
        )
        .await?;
        tx.commit().await?;
        Ok((conversation, message, started))
    }

    /// Marks a visitor message as sent asynchronously: its reply, composed later, is what an
    /// Aimylogic-format webhook receives.
    pub async fn mark_asynchronous(&self, account: &AccountId, message: &MessageId) -> Result<()> {
        sqlx::query(
            "UPDATE messages SET asynchronous = 1 WHERE id = ?1 AND role = 'visitor' AND conversation_id IN
               (SELECT c.id FROM conversations c JOIN bots b ON b.id = c.bot_id WHERE b.account_id = ?2)",
        )
        .bind(message.as_str())
        .bind(account.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Stores the bot's reply to a visitor message — only if the bot still owns the conversation
    /// (an agent may have taken over while the answer was composed: the reply is then dropped),
    /// and only if the message has no reply yet (an earlier attempt answered it: that answer is
    /// returned). Keeps the conversation's run of consecutive fallbacks.
    pub async fn append_bot_message(
        &self,
        account: &AccountId,
        conversation: &ConversationId,
        reply_to: &MessageId,
        new: NewMessage,
    ) -> Result<BotReply> {
        let mut tx = self.begin_write().await?;
        let current = conversation_of(&mut tx, account, conversation).await?;
        if let Some(row) = sqlx::query("SELECT * FROM messages WHERE reply_to = ?")
            .bind(reply_to.as_str())
            .fetch_optional(&mut *tx)
            .await?
        {
            return Ok(BotReply::Existing(message_from_row(&row)?));
        }
        if !current.status.bot_answers() {
            return Ok(BotReply::Silent);
        }
        let fallback = new.outcome == Some(Outcome::Fallback);
        let message = insert_message(&mut tx, conversation, new).await?;
        sqlx::query("UPDATE messages SET reply_to = ? WHERE id = ?")
            .bind(reply_to.as_str())
            .bind(message.id.as_str())
            .execute(&mut *tx)
            .await?;
        let streak: i64 = sqlx::query_scalar(
            "UPDATE conversations SET fallback_streak = CASE WHEN ? THEN fallback_streak + 1 ELSE 0 END WHERE id = ?
             RETURNING fallback_streak",
        )
        .bind(fallback)
        .bind(conversation.as_str())
        .fetch_one(&mut *tx)
        .await?;
        events::append(
            &mut tx,
            account,
            Some(&current.bot_id),
            Some(conversation),
            "message.sent",
            message_event(&current, &message),
        )
        .await?;
        tx.commit().await?;
        Ok(BotReply::Stored(StoredReply {
            message,
            fallback_streak: streak,
        }))
    }

    /// The bot's reply to a visitor message, if it has one.
    pub async fn reply_to(
        &self,
        account: &AccountId,
        visitor_message: &MessageId,
    ) -> Result<Option<Message>> {
        let row = sqlx::query(
            "SELECT m.* FROM messages m JOIN conversations c ON c.id = m.conversation_id JOIN bots b ON b.id = c.bot_id
             WHERE m.reply_to = ? AND b.account_id = ?",
        )
        .bind(visitor_message.as_str())
        .bind(account.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(message_from_row).transpose()
    }

    /// Stores an agent's (or a system) message. An agent writes only in a conversation an agent
    /// owns.
    pub async fn append_staff_message(
        &self,
        account: &AccountId,
        conversation: &ConversationId,
        new: NewMessage,
    ) -> Result<Message> {
        let mut tx = self.begin_write().await?;
        let current = conversation_of(&mut tx, account, conversation).await?;
        if current.status == ConversationStatus::Ended {
            return Err(StoreError::Conflict(
                "the conversation has ended".to_owned(),
            ));
        }
        if new.role == Role::Agent && current.status != ConversationStatus::Agent {
            return Err(StoreError::Conflict(format!(
                "the conversation is {}; take it over before writing as an agent",
                current.status.as_str()
            )));
        }
        let message = insert_message(&mut tx, conversation, new).await?;
        events::append(
            &mut tx,
            account,
            Some(&current.bot_id),
            Some(conversation),
            "message.sent",
            message_event(&current, &message),
        )
        .await?;
        tx.commit().await?;
        Ok(message)
    }

    /// Moves a conversation through the handoff state machine, recording the matching event.
    /// An illegal move is a conflict that says why.
    pub async fn transition(
        &self,
        account: &AccountId,
        conversation: &ConversationId,
        action: HandoffAction,
        agent: Option<&str>,
        reason: Option<HandoffReason>,
    ) -> Result<Conversation> {
        let mut tx = self.begin_write().await?;
        let current = conversation_of(&mut tx, account, conversation).await?;
        let next = current.status.next(action).map_err(StoreError::Conflict)?;
        crate::analytics::forget_day_of(&mut tx, conversation).await?;
        let at = now();
        let (assignee, handoff_reason) = match action {
            HandoffAction::Escalate => (None, reason.or(Some(HandoffReason::Api))),
            HandoffAction::Takeover => (
                agent.map(str::to_owned),
                current
                    .handoff_reason
                    .or(reason)
                    .or(Some(HandoffReason::Api)),
            ),
            HandoffAction::Release => (None, None),
            HandoffAction::End => (current.assignee.clone(), current.handoff_reason),
        };
        sqlx::query(
            "UPDATE conversations SET status = ?, assignee = ?, handoff_reason = ?, updated_at = ?,
             ended_at = CASE WHEN ? = 'ended' THEN ? ELSE ended_at END,
             fallback_streak = CASE WHEN ? = 'bot' THEN 0 ELSE fallback_streak END
             WHERE id = ?",
        )
        .bind(next.as_str())
        .bind(&assignee)
        .bind(handoff_reason.map(HandoffReason::as_str))
        .bind(at)
        .bind(next.as_str())
        .bind(at)
        .bind(next.as_str())
        .bind(conversation.as_str())
        .execute(&mut *tx)
        .await?;
        let after = load_conversation(&mut tx, conversation).await?;
        let data = json!({
            "conversation_id": after.id, "bot_id": after.bot_id, "contact_id": after.contact_id,
            "external_id": after.external_id, "channel": after.channel, "status": after.status,
            "previous_status": current.status, "assignee": agent.map(str::to_owned).or(current.assignee.clone()),
            "handoff_reason": handoff_reason,
        });
        let bot = Some(&after.bot_id);
        match (action, current.status) {
            (HandoffAction::Escalate, _) => {
                events::append(
                    &mut tx,
                    account,
                    bot,
                    Some(conversation),
                    "escalation.requested",
                    data,
                )
                .await?;
            }
            (HandoffAction::Takeover, _) => {
                events::append(
                    &mut tx,
                    account,
                    bot,
                    Some(conversation),
                    "takeover.started",
                    data,
                )
                .await?;
            }
            (HandoffAction::Release, ConversationStatus::Agent) => {
                events::append(
                    &mut tx,
                    account,
                    bot,
                    Some(conversation),
                    "takeover.ended",
                    data,
                )
                .await?;
            }
            (HandoffAction::Release, _) => {}
            (HandoffAction::End, previous) => {
                if previous == ConversationStatus::Agent {
                    events::append(
                        &mut tx,
                        account,
                        bot,
                        Some(conversation),
                        "takeover.ended",
                        data.clone(),
                    )
                    .await?;
                }
                events::append(
                    &mut tx,
                    account,
                    bot,
                    Some(conversation),
                    "conversation.ended",
                    data,
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(after)
    }

    /// Ends conversations of the account's bots that have been quiet since `before`.
    pub async fn end_idle_conversations(
        &self,
        before: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<(AccountId, ConversationId)>> {
        let rows = sqlx::query(
            "SELECT c.id, b.account_id FROM conversations c JOIN bots b ON b.id = c.bot_id
             WHERE c.status != 'ended' AND julianday(c.updated_at) < julianday(?) ORDER BY c.updated_at LIMIT ?",
        )
        .bind(before)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let mut ended = Vec::new();
        for row in rows {
            let account = AccountId::from_trusted(row.try_get("account_id")?);
            let id = ConversationId::from_trusted(row.try_get("id")?);
            match self
                .transition(&account, &id, HandoffAction::End, None, None)
                .await
            {
                Ok(_) => ended.push((account, id)),
                // Ended meanwhile by someone else: nothing to do.
                Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(ended)
    }

    pub async fn get_conversation(
        &self,
        account: &AccountId,
        id: &ConversationId,
    ) -> Result<Conversation> {
        let mut conn = self.pool.acquire().await?;
        conversation_of(&mut conn, account, id).await
    }

    /// The account's conversations, newest activity last (by start), filtered.
    pub async fn list_conversations(
        &self,
        account: &AccountId,
        filter: &ConversationFilter,
        page: PageRequest,
    ) -> Result<Page<Conversation>> {
        // QueryBuilder keeps each condition next to its bound value.
        let mut query = sqlx::QueryBuilder::<sqlx::Sqlite>::new(format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations c JOIN bots b ON b.id = c.bot_id WHERE b.account_id = "
        ));
        query
            .push_bind(account.as_str())
            .push(" AND c.seq > ")
            .push_bind(page.after_seq());
        if let Some(bot) = &filter.bot {
            query.push(" AND c.bot_id = ").push_bind(bot.as_str());
        }
        if let Some(channel) = &filter.channel {
            query.push(" AND c.channel = ").push_bind(channel);
        }
        if let Some(status) = filter.status {
            query.push(" AND c.status = ").push_bind(status.as_str());
        }
        if let Some(contact) = &filter.contact {
            query
                .push(" AND c.contact_id = ")
                .push_bind(contact.as_str());
        }
        if let Some(since) = filter.since {
            query
                .push(" AND julianday(c.created_at) >= julianday(")
                .push_bind(since)
                .push(")");
        }
        if let Some(until) = filter.until {
            query
                .push(" AND julianday(c.created_at) < julianday(")
                .push_bind(until)
                .push(")");
        }
        query
            .push(" ORDER BY c.seq LIMIT ")
            .push_bind(page.fetch_limit());
        let rows = query.build().fetch_all(&self.pool).await?;
        page_of(&rows, page, conversation_from_row)
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
        page_of(&rows, page, message_from_row)
    }

    /// The last `n` messages of a conversation, oldest first. Not scoped to an account: for a
    /// conversation the caller already holds.
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

    /// The text of the visitor's message before this one in its conversation, if any.
    pub async fn previous_visitor_text(&self, message: &MessageId) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT p.text FROM messages m JOIN messages p ON p.conversation_id = m.conversation_id
             WHERE m.id = ? AND p.role = 'visitor' AND p.seq < m.seq ORDER BY p.seq DESC LIMIT 1",
        )
        .bind(message.as_str())
        .fetch_optional(&self.pool)
        .await?)
    }

    /// One message of the account.
    pub async fn get_message(&self, account: &AccountId, id: &MessageId) -> Result<Message> {
        let row = sqlx::query(
            "SELECT m.* FROM messages m JOIN conversations c ON c.id = m.conversation_id JOIN bots b ON b.id = c.bot_id
             WHERE m.id = ? AND b.account_id = ?",
        )
        .bind(id.as_str())
        .bind(account.as_str())
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::not_found("message"))?;
        message_from_row(&row)
    }

    /// Sets the delivery status of bot and agent messages of the account, all or nothing: an id
    /// that is unknown, foreign, or a visitor's message fails the whole update.
    pub async fn set_message_status(
        &self,
        account: &AccountId,
        ids: &[MessageId],
        status: MessageStatus,
    ) -> Result<Vec<Message>> {
        let mut tx = self.begin_write().await?;
        let mut updated = Vec::with_capacity(ids.len());
        for id in ids {
            let role: Option<String> = sqlx::query_scalar(
                "SELECT m.role FROM messages m JOIN conversations c ON c.id = m.conversation_id JOIN bots b ON b.id = c.bot_id
                 WHERE m.id = ? AND b.account_id = ?",
            )
            .bind(id.as_str())
            .bind(account.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            match role.as_deref() {
                None => return Err(StoreError::NotFound { entity: "message" }),
                Some("visitor") => {
                    return Err(StoreError::Conflict(format!("{id} is a visitor's message; only bot and agent messages have a delivery status")))
                }
                Some(_) => {}
            }
            let row = sqlx::query("UPDATE messages SET status = ? WHERE id = ? RETURNING *")
                .bind(status.as_str())
                .bind(id.as_str())
                .fetch_one(&mut *tx)
                .await?;
            updated.push(message_from_row(&row)?);
        }
        tx.commit().await?;
        Ok(updated)
    }

    /// How many bot and agent messages a contact has not read yet.
    pub async fn unread_count(&self, account: &AccountId, contact: &ContactId) -> Result<i64> {
        self.get_contact(account, contact).await?;
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id
             WHERE c.contact_id = ? AND m.role IN ('bot', 'agent') AND (m.status IS NULL OR m.status != 'READ')",
        )
        .bind(contact.as_str())
        .fetch_one(&self.pool)
        .await?)
    }

    /// Records a visitor's thumbs up or down on a bot message.
    pub async fn message_feedback(
        &self,
        account: &AccountId,
        id: &MessageId,
        thumb: Thumb,
        comment: Option<&str>,
    ) -> Result<Message> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "SELECT m.role, c.id AS conversation_id, c.bot_id FROM messages m JOIN conversations c ON c.id = m.conversation_id
             JOIN bots b ON b.id = c.bot_id WHERE m.id = ? AND b.account_id = ?",
        )
        .bind(id.as_str())
        .bind(account.as_str())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::not_found("message"))?;
        let role: String = row.try_get("role")?;
        if role != "bot" {
            return Err(StoreError::Conflict(
                "feedback is given on the bot's messages only".to_owned(),
            ));
        }
        let conversation = ConversationId::from_trusted(row.try_get("conversation_id")?);
        let bot = BotId::from_trusted(row.try_get("bot_id")?);
        let thumb_text = if thumb == Thumb::Up { "up" } else { "down" };
        let row = sqlx::query(
            "UPDATE messages SET feedback = ?, feedback_comment = ? WHERE id = ? RETURNING *",
        )
        .bind(thumb_text)
        .bind(comment)
        .bind(id.as_str())
        .fetch_one(&mut *tx)
        .await?;
        let message = message_from_row(&row)?;
        events::append(
            &mut tx,
            account,
            Some(&bot),
            Some(&conversation),
            "feedback.received",
            json!({"conversation_id": conversation, "bot_id": bot, "message_id": id, "thumb": thumb_text, "comment": comment}),
        )
        .await?;
        tx.commit().await?;
        Ok(message)
    }

    /// Records the visitor's 1–5 rating of a conversation.
    pub async fn rate_conversation(
        &self,
        account: &AccountId,
        id: &ConversationId,
        rating: i64,
        comment: Option<&str>,
    ) -> Result<Conversation> {
        let mut tx = self.begin_write().await?;
        let current = conversation_of(&mut tx, account, id).await?;
        crate::analytics::forget_day_of(&mut tx, id).await?;
        sqlx::query("UPDATE conversations SET rating = ?, rating_comment = ? WHERE id = ?")
            .bind(rating)
            .bind(comment)
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?;
        events::append(
            &mut tx,
            account,
            Some(&current.bot_id),
            Some(id),
            "feedback.received",
            json!({"conversation_id": id, "bot_id": current.bot_id, "rating": rating, "comment": comment}),
        )
        .await?;
        let after = load_conversation(&mut tx, id).await?;
        tx.commit().await?;
        Ok(after)
    }

    /// A contact of the account.
    pub async fn get_contact(&self, account: &AccountId, id: &ContactId) -> Result<Contact> {
        let row = sqlx::query("SELECT t.* FROM contacts t JOIN bots b ON b.id = t.bot_id WHERE t.id = ? AND b.account_id = ?")
            .bind(id.as_str())
            .bind(account.as_str())
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found("contact"))?;
        contact_from_row(&row)
    }

    /// A bot's contacts.
    pub async fn list_contacts(
        &self,
        account: &AccountId,
        bot: &BotId,
        page: PageRequest,
    ) -> Result<Page<Contact>> {
        self.get_bot(account, bot).await?;
        let rows =
            sqlx::query("SELECT * FROM contacts WHERE bot_id = ? AND seq > ? ORDER BY seq LIMIT ?")
                .bind(bot.as_str())
                .bind(page.after_seq())
                .bind(page.fetch_limit())
                .fetch_all(&self.pool)
                .await?;
        page_of(&rows, page, contact_from_row)
    }

    /// Creates or updates a contact of the bot.
    pub async fn save_contact(
        &self,
        account: &AccountId,
        bot: &BotId,
        input: &ContactInput,
    ) -> Result<Contact> {
        let mut tx = self.begin_write().await?;
        owned_bot(&mut tx, account, bot).await?;
        let id = upsert_contact(&mut tx, bot, input).await?;
        let row = sqlx::query("SELECT * FROM contacts WHERE id = ?")
            .bind(id.as_str())
            .fetch_one(&mut *tx)
            .await?;
        let contact = contact_from_row(&row)?;
        tx.commit().await?;
        Ok(contact)
    }

    /// Records contact details found in a conversation: the contact is updated (or created for
    /// an anonymous visitor) and a lead is created once per bot and detail; `lead.captured` is
    /// recorded with it. Returns the new lead, or `None` when the details were already known.
    pub async fn capture_lead(
        &self,
        account: &AccountId,
        conversation: &ConversationId,
        email: Option<&str>,
        phone: Option<&str>,
    ) -> Result<Option<Lead>> {
        if email.is_none() && phone.is_none() {
            return Ok(None);
        }
        let mut tx = self.begin_write().await?;
        let current = conversation_of(&mut tx, account, conversation).await?;
        let contact_id = match &current.contact_id {
            Some(id) => id.clone(),
            None => {
                // An anonymous visitor who leaves details becomes a contact, keyed by the conversation.
                let input = ContactInput {
                    external_id: format!("conversation:{}", current.id),
                    ..ContactInput::default()
                };
                let id = upsert_contact(&mut tx, &current.bot_id, &input).await?;
                sqlx::query("UPDATE conversations SET contact_id = ? WHERE id = ?")
                    .bind(id.as_str())
                    .bind(current.id.as_str())
                    .execute(&mut *tx)
                    .await?;
                id
            }
        };
        sqlx::query("UPDATE contacts SET email = COALESCE(?, email), phone = COALESCE(?, phone), updated_at = ? WHERE id = ?")
            .bind(email)
            .bind(phone)
            .bind(now())
            .bind(contact_id.as_str())
            .execute(&mut *tx)
            .await?;
        let id = LeadId::generate();
        let at = now();
        let inserted = sqlx::query(
            "INSERT INTO leads (id, account_id, bot_id, contact_id, conversation_id, email, phone, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(id.as_str())
        .bind(account.as_str())
        .bind(current.bot_id.as_str())
        .bind(contact_id.as_str())
        .bind(current.id.as_str())
        .bind(email)
        .bind(phone)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            tx.commit().await?;
            return Ok(None);
        }
        let row = sqlx::query(LEAD_SELECT_BY_ID)
            .bind(id.as_str())
            .fetch_one(&mut *tx)
            .await?;
        let lead = lead_from_row(&row)?;
        events::append(
            &mut tx,
            account,
            Some(&current.bot_id),
            Some(&current.id),
            "lead.captured",
            json!({"lead_id": lead.id, "conversation_id": current.id, "bot_id": current.bot_id, "contact_id": contact_id,
                   "external_id": lead.external_id, "email": email, "phone": phone}),
        )
        .await?;
        tx.commit().await?;
        Ok(Some(lead))
    }

    /// The account's leads, oldest first, filtered.
    pub async fn list_leads(
        &self,
        account: &AccountId,
        filter: &LeadFilter,
        page: PageRequest,
    ) -> Result<Page<Lead>> {
        let mut query =
            sqlx::QueryBuilder::<sqlx::Sqlite>::new(format!("{LEAD_SELECT} WHERE l.account_id = "));
        query
            .push_bind(account.as_str())
            .push(" AND l.seq > ")
            .push_bind(page.after_seq());
        if let Some(bot) = &filter.bot {
            query.push(" AND l.bot_id = ").push_bind(bot.as_str());
        }
        if let Some(since) = filter.since {
            query
                .push(" AND julianday(l.created_at) >= julianday(")
                .push_bind(since)
                .push(")");
        }
        if let Some(until) = filter.until {
            query
                .push(" AND julianday(l.created_at) < julianday(")
                .push_bind(until)
                .push(")");
        }
        query
            .push(" ORDER BY l.seq LIMIT ")
            .push_bind(page.fetch_limit());
        let rows = query.build().fetch_all(&self.pool).await?;
        page_of(&rows, page, lead_from_row)
    }

    /// Saves a contact's chat application state for a bot: an opaque JSON document, kept as the
    /// text given (key order and spacing included).
    pub async fn save_chat_state(
        &self,
        account: &AccountId,
        bot: &BotId,
        contact: &ContactId,
        state: &str,
    ) -> Result<()> {
        self.get_contact(account, contact).await?;
        sqlx::query(
            "INSERT INTO chat_states (bot_id, contact_id, state, updated_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (bot_id, contact_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
        )
        .bind(bot.as_str())
        .bind(contact.as_str())
        .bind(state)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Loads a contact's chat application state for a bot, the text exactly as saved (`None`
    /// when never saved).
    pub async fn load_chat_state(
        &self,
        account: &AccountId,
        bot: &BotId,
        contact: &ContactId,
    ) -> Result<Option<String>> {
        self.get_contact(account, contact).await?;
        Ok(
            sqlx::query_scalar("SELECT state FROM chat_states WHERE bot_id = ? AND contact_id = ?")
                .bind(bot.as_str())
                .bind(contact.as_str())
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// What a request with this idempotency key recorded: its response, or the visitor message
    /// it stored without finishing. `None` when the key is unused, or bound to a message that no
    /// longer exists.
    pub async fn idempotency_key(
        &self,
        account: &AccountId,
        key: &str,
    ) -> Result<Option<KeyState>> {
        let row = sqlx::query(
            "SELECT k.fingerprint, k.status, k.content_type, k.response, m.id AS message_id
             FROM idempotency_keys k LEFT JOIN messages m ON m.id = k.message_id
             WHERE k.account_id = ? AND k.key = ?",
        )
        .bind(account.as_str())
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let fingerprint: String = r.try_get("fingerprint")?;
        let status: Option<i64> = r.try_get("status")?;
        let response: Option<String> = r.try_get("response")?;
        if let (Some(status), Some(body)) = (status, response) {
            return Ok(Some(KeyState::Done(RememberedResponse {
                fingerprint,
                status: status as u16,
                content_type: r
                    .try_get::<Option<String>, _>("content_type")?
                    .unwrap_or_else(|| "application/json".to_owned()),
                body,
            })));
        }
        Ok(r.try_get::<Option<String>, _>("message_id")?
            .map(|id| KeyState::Pending {
                fingerprint,
                message: MessageId::from_trusted(id),
            }))
    }

    /// Remembers the response to a request with an idempotency key, on the key's pending row
    /// when the request stored a message (the first response wins).
    pub async fn remember_response(
        &self,
        account: &AccountId,
        key: &str,
        response: &RememberedResponse,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO idempotency_keys (account_id, key, fingerprint, status, content_type, response, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (account_id, key) DO UPDATE
             SET status = excluded.status, content_type = excluded.content_type, response = excluded.response
             WHERE idempotency_keys.response IS NULL AND idempotency_keys.fingerprint = excluded.fingerprint",
        )
        .bind(account.as_str())
        .bind(key)
        .bind(&response.fingerprint)
        .bind(i64::from(response.status))
        .bind(&response.content_type)
        .bind(&response.body)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

const LEAD_SELECT: &str =
    "SELECT l.*, t.external_id, t.name FROM leads l LEFT JOIN contacts t ON t.id = l.contact_id";
const LEAD_SELECT_BY_ID: &str = "SELECT l.*, t.external_id, t.name FROM leads l LEFT JOIN contacts t ON t.id = l.contact_id WHERE l.id = ?";

fn lead_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Lead> {
    Ok(Lead {
        id: LeadId::from_trusted(row.try_get("id")?),
        bot_id: BotId::from_trusted(row.try_get("bot_id")?),
        contact_id: row
            .try_get::<Option<String>, _>("contact_id")?
            .map(ContactId::from_trusted),
        conversation_id: row
            .try_get::<Option<String>, _>("conversation_id")?
            .map(ConversationId::from_trusted),
        external_id: row.try_get("external_id")?,
        name: row.try_get("name")?,
        email: row.try_get("email")?,
        phone: row.try_get("phone")?,
        created_at: row.try_get("created_at")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    fn keyed(key: &str, fingerprint: &str) -> KeyedRequest {
        KeyedRequest {
            key: key.to_owned(),
            fingerprint: fingerprint.to_owned(),
        }
    }

    fn answer(text: &str) -> NewMessage {
        NewMessage::text(Role::Bot, text)
    }

    async fn visitor(
        store: &Store,
        account: &AccountId,
        bot: &BotId,
        text: &str,
        key: Option<&KeyedRequest>,
    ) -> Result<(Conversation, Message, bool)> {
        store
            .record_visitor_message(
                account,
                bot,
                StartConversation::New(NewConversation {
                    channel: "api".into(),
                    ..NewConversation::default()
                }),
                text.to_owned(),
                None,
                key,
            )
            .await
    }

    #[tokio::test]
    async fn a_key_is_pending_on_its_message_until_its_response_is_remembered() {
        let (store, _dir, account) = testing::store().await;
        let bot = testing::bot(&store, &account).await;
        assert_eq!(store.idempotency_key(&account, "k1").await.unwrap(), None);
        let (_, message, _) = visitor(&store, &account, &bot, "hello", Some(&keyed("k1", "f1")))
            .await
            .unwrap();
        assert_eq!(
            store.idempotency_key(&account, "k1").await.unwrap(),
            Some(KeyState::Pending {
                fingerprint: "f1".into(),
                message: message.id.clone()
            })
        );
        let response = RememberedResponse {
            fingerprint: "f1".into(),
            status: 200,
            content_type: "application/json".into(),
            body: "{}".into(),
        };
        store
            .remember_response(&account, "k1", &response)
            .await
            .unwrap();
        assert_eq!(
            store.idempotency_key(&account, "k1").await.unwrap(),
            Some(KeyState::Done(response.clone()))
        );
        // The first response wins.
        let later = RememberedResponse {
            body: "{\"later\": true}".into(),
            ..response.clone()
        };
        store
            .remember_response(&account, "k1", &later)
            .await
            .unwrap();
        assert_eq!(
            store.idempotency_key(&account, "k1").await.unwrap(),
            Some(KeyState::Done(response))
        );
    }

    #[tokio::test]
    async fn a_key_bound_to_a_stored_message_stores_nothing_more() {
        let (store, _dir, account) = testing::store().await;
        let bot = testing::bot(&store, &account).await;
        visitor(&store, &account, &bot, "hello", Some(&keyed("k1", "f1")))
            .await
            .unwrap();
        let again = visitor(&store, &account, &bot, "hello", Some(&keyed("k1", "f1"))).await;
        assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
        let conversations = store
            .list_conversations(
                &account,
                &ConversationFilter::default(),
                PageRequest {
                    limit: 50,
                    after: None,
                },
            )
            .await
            .unwrap();
        assert_eq!(
            conversations.items.len(),
            1,
            "the second message was rolled back"
        );
    }

    #[tokio::test]
    async fn a_visitor_message_gets_one_reply_however_often_it_is_answered() {
        let (store, _dir, account) = testing::store().await;
        let bot = testing::bot(&store, &account).await;
        let (conversation, message, _) = visitor(&store, &account, &bot, "hello", None)
            .await
            .unwrap();
        assert!(store
            .reply_to(&account, &message.id)
            .await
            .unwrap()
            .is_none());
        let BotReply::Stored(first) = store
            .append_bot_message(&account, &conversation.id, &message.id, answer("first"))
            .await
            .unwrap()
        else {
            panic!("the first answer is stored");
        };
        let second = store
            .append_bot_message(&account, &conversation.id, &message.id, answer("second"))
            .await
            .unwrap();
        assert!(
            matches!(&second, BotReply::Existing(m) if m.id == first.message.id && m.text == "first"),
            "{second:?}"
        );
        assert_eq!(
            store
                .reply_to(&account, &message.id)
                .await
                .unwrap()
                .map(|m| m.id),
            Some(first.message.id)
        );
        let all = store
            .list_messages(
                &account,
                &conversation.id,
                PageRequest {
                    limit: 50,
                    after: None,
                },
            )
            .await
            .unwrap();
        assert_eq!(all.items.len(), 2);
    }

    #[test]
    fn variables_merge_per_scope() {
        let mut base = json!({"system": {"a": 1, "b": 2}, "contact": {"x": "y"}});
        merge_variables(
            &mut base,
            &json!({"system": {"b": 3, "c": 4}, "conversation": {"z": true}}),
        );
        assert_eq!(
            base,
            json!({"system": {"a": 1, "b": 3, "c": 4}, "contact": {"x": "y"}, "conversation": {"z": true}})
        );
    }
}

/// A line of the agents' inbox: the conversation, whose bot, who, and what was said last.
#[derive(Debug, Clone)]
pub struct InboxRow {
    pub conversation: Conversation,
    pub bot_name: String,
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
    pub last_text: Option<String>,
    /// Visitor messages after the last agent or bot message.
    pub unanswered: i64,
    /// Visitor messages the reader has not seen (`None` without a reader).
    pub unread: Option<i64>,
}

impl Store {
    /// The inbox of an account: conversations of one status (or all), the agents' queue oldest
    /// first (who waited longest is served first), every other list most recent first.
    pub async fn inbox(
        &self,
        account: &AccountId,
        status: Option<ConversationStatus>,
        reader: Option<&UserId>,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<InboxRow>> {
        let order = if status == Some(ConversationStatus::WaitingForAgent) {
            "c.updated_at ASC"
        } else {
            "c.updated_at DESC"
        };
        // The page of conversations is chosen first; only its rows get their last message and
        // unanswered count (SQLite would compute them for every row before sorting).
        let mut query = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "WITH chosen AS (SELECT c.id FROM conversations c JOIN bots b ON b.id = c.bot_id
             WHERE b.account_id = ",
        );
        query.push_bind(account.as_str());
        if let Some(status) = status {
            query.push(" AND c.status = ").push_bind(status.as_str());
        }
        query
            .push(format!(" ORDER BY {order}, c.id LIMIT "))
            .push_bind(i64::from(limit))
            .push(" OFFSET ")
            .push_bind(i64::from(offset));
        query.push(format!(
            ")
             SELECT {CONVERSATION_COLUMNS}, b.name AS bot_name, t.name AS contact_name,
                    t.email AS contact_email,
                    CASE WHEN "
        ));
        query.push_bind(reader.map(UserId::as_str));
        query.push(
            " IS NULL THEN NULL ELSE
                    (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id
                     AND m.role = 'visitor' AND m.seq > COALESCE((SELECT r.seq
                         FROM conversation_reads r WHERE r.conversation_id = c.id AND r.user_id = ",
        );
        query.push_bind(reader.map(UserId::as_str));
        query.push(format!(
            "), 0)) END AS unread,
                    (SELECT m.text FROM messages m WHERE m.conversation_id = c.id
                     ORDER BY m.seq DESC LIMIT 1) AS last_text,
                    (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id
                     AND m.role = 'visitor' AND m.seq > COALESCE((SELECT MAX(n.seq) FROM messages n
                         WHERE n.conversation_id = c.id AND n.role IN ('agent', 'bot')), 0)) AS unanswered
             FROM chosen JOIN conversations c ON c.id = chosen.id JOIN bots b ON b.id = c.bot_id
             LEFT JOIN contacts t ON t.id = c.contact_id
             ORDER BY {order}, c.id"
        ));
        let rows = query.build().fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                Ok(InboxRow {
                    conversation: conversation_from_row(r)?,
                    bot_name: r.try_get("bot_name")?,
                    contact_name: r.try_get("contact_name")?,
                    contact_email: r.try_get("contact_email")?,
                    last_text: r.try_get("last_text")?,
                    unanswered: r.try_get("unanswered")?,
                    unread: r.try_get("unread")?,
                })
            })
            .collect()
    }

    /// Marks a conversation read by a person up to its newest message (never back).
    pub async fn mark_read(&self, user: &UserId, conversation: &ConversationId) -> Result<()> {
        sqlx::query(
            "INSERT INTO conversation_reads (user_id, conversation_id, seq)
             SELECT ?, ?, COALESCE(MAX(seq), 0) FROM messages WHERE conversation_id = ?
             ON CONFLICT (user_id, conversation_id) DO UPDATE SET seq = MAX(seq, excluded.seq)",
        )
        .bind(user.as_str())
        .bind(conversation.as_str())
        .bind(conversation.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// How many conversations of the account are in each status.
    pub async fn status_counts(&self, account: &AccountId) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT c.status, COUNT(*) AS n FROM conversations c JOIN bots b ON b.id = c.bot_id
             WHERE b.account_id = ? GROUP BY c.status",
        )
        .bind(account.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("status")?, r.try_get("n")?)))
            .collect()
    }
}

#[cfg(any(test, feature = "testing"))]
impl Store {
    /// Moves a conversation, its messages and its leads `days` days into the past, for tests and
    /// benchmarks of old days (the store itself only ever writes the present).
    pub async fn backdate_conversation(&self, id: &ConversationId, days: i64) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let shift = |table: &str, column: &str| {
            format!(
                "UPDATE {table} SET created_at = strftime('%Y-%m-%dT%H:%M:%fZ', julianday(created_at) - ?1)
                 WHERE {column} = ?2"
            )
        };
        for (table, column) in [
            ("conversations", "id"),
            ("messages", "conversation_id"),
            ("leads", "conversation_id"),
        ] {
            sqlx::query(&shift(table, column))
                .bind(days as f64)
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("UPDATE conversations SET updated_at = created_at WHERE id = ?")
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
