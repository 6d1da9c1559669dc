//! The append-only event log.

use sitechat_core::{model::Event, now, AccountId, BotId, ConversationId, EventId};
use sqlx::Row;

use crate::{error::StoreError, Result, Store};

/// Appends an event inside the caller's transaction, so it is written with the change it records.
pub(crate) async fn append(
    conn: &mut sqlx::SqliteConnection,
    account: &AccountId,
    bot: Option<&BotId>,
    conversation: Option<&ConversationId>,
    kind: &str,
    data: serde_json::Value,
) -> Result<Event> {
    let event = Event {
        id: EventId::generate(),
        kind: kind.to_owned(),
        bot_id: bot.cloned(),
        conversation_id: conversation.cloned(),
        data,
        created_at: now(),
    };
    sqlx::query(
        "INSERT INTO events (id, account_id, bot_id, conversation_id, type, data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(event.id.as_str())
    .bind(account.as_str())
    .bind(bot.map(BotId::as_str))
    .bind(conversation.map(ConversationId::as_str))
    .bind(kind)
    .bind(event.data.to_string())
    .bind(event.created_at)
    .execute(&mut *conn)
    .await?;
    crate::webhooks::enqueue_for_event(conn, account, &event).await?;
    Ok(event)
}

/// Which events to read.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Only events after this position (the `seq` of the last event read).
    pub after: i64,
    /// Only events at or after this time.
    pub since: Option<time::OffsetDateTime>,
    pub types: Vec<String>,
    pub bot: Option<BotId>,
    pub conversation: Option<ConversationId>,
}

fn event_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Event> {
    let data: String = row.try_get("data")?;
    Ok(Event {
        id: EventId::from_trusted(row.try_get("id")?),
        kind: row.try_get("type")?,
        bot_id: row
            .try_get::<Option<String>, _>("bot_id")?
            .map(BotId::from_trusted),
        conversation_id: row
            .try_get::<Option<String>, _>("conversation_id")?
            .map(ConversationId::from_trusted),
        data: serde_json::from_str(&data).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        created_at: row.try_get("created_at")?,
    })
}

impl Store {
    /// Events of the account in the order they were written, with each one's position.
    pub async fn list_events(
        &self,
        account: &AccountId,
        filter: &EventFilter,
        limit: u32,
    ) -> Result<Vec<(i64, Event)>> {
        let mut query =
            sqlx::QueryBuilder::<sqlx::Sqlite>::new("SELECT * FROM events WHERE account_id = ");
        query
            .push_bind(account.as_str())
            .push(" AND seq > ")
            .push_bind(filter.after);
        if let Some(since) = filter.since {
            query
                .push(" AND julianday(created_at) >= julianday(")
                .push_bind(since)
                .push(")");
        }
        if !filter.types.is_empty() {
            query.push(" AND type IN (");
            let mut types = query.separated(", ");
            for t in &filter.types {
                types.push_bind(t);
            }
            query.push(")");
        }
        if let Some(bot) = &filter.bot {
            query.push(" AND bot_id = ").push_bind(bot.as_str());
        }
        if let Some(conversation) = &filter.conversation {
            query
                .push(" AND conversation_id = ")
                .push_bind(conversation.as_str());
        }
        query
            .push(" ORDER BY seq LIMIT ")
            .push_bind(i64::from(limit));
        let rows = query.build().fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| Ok((r.try_get("seq")?, event_from_row(r)?)))
            .collect()
    }

    /// Records an event on its own (for changes that are a single statement elsewhere).
    pub async fn record_event(
        &self,
        account: &AccountId,
        bot: Option<&BotId>,
        conversation: Option<&ConversationId>,
        kind: &str,
        data: serde_json::Value,
    ) -> Result<Event> {
        let mut tx = self.begin_write().await?;
        let event = append(&mut tx, account, bot, conversation, kind, data).await?;
        tx.commit().await?;
        Ok(event)
    }
}
