//! Persistence. This crate owns every SQL statement in sitechat.
//!
//! [`Store`] is the one boundary: SQLite in WAL mode now (the embedded default); the PostgreSQL
//! backend will sit behind the same methods, chosen from the database URL, with its own
//! migrations under `migrations/postgres`. Every read and write that belongs to a tenant takes the
//! tenant's [`AccountId`] and filters on it in SQL, so a key of one account can never reach another
//! account's rows: a row of another tenant is simply [`StoreError::NotFound`].

mod accounts;
mod analytics;
mod backup;
mod bots;
mod channels;
mod conversations;
mod dialects;
mod error;
mod events;
mod jobs;
mod knowledge;
#[cfg(test)]
mod testing;
mod usage;
mod users;
mod vectors;
mod webhooks;

use std::{path::Path, str::FromStr, time::Duration};

use base64::Engine;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub use accounts::{KeyRecord, NewKey};
pub use analytics::DayFigures;
pub use backup::DatabaseFile;
pub use bots::{BotPatch, NewBot};
pub use channels::{ChannelRecord, ClaimedSend, OutboxState, SendOutcome};
pub use conversations::{
    BotReply, ContactInput, ConversationFilter, InboxRow, KeyState, KeyedRequest, LeadFilter,
    NewConversation, NewMessage, RememberedResponse, StartConversation, StoredReply,
};
pub use dialects::{ClientMessage, ClientWindow, Exchange, SessionSummary};
pub use error::StoreError;
pub use events::EventFilter;
pub use jobs::{ClaimedJob, PageWrite, ScheduledBot, StoredPage, CRASHED_THE_SERVER};
pub use knowledge::NewSource;
pub use users::{LinkPurpose, NewUser, SessionRecord, UserLink};
pub use vectors::{ChunkToEmbed, SentenceVectors, StoredSentenceVectors};
pub use webhooks::{
    AttemptOutcome, AttemptRecord, ClaimedDelivery, DeliveryRecord, DeliveryState, NewWebhook,
    WebhookPatch, WebhookRecord, WebhookTarget, DELIVERY_PREFIX,
};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// The database. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
    /// Write transactions take turns here before they take SQLite's write lock (see
    /// [`Store::begin_write`]).
    write_turn: std::sync::Arc<tokio::sync::Mutex<()>>,
}

/// A write transaction and its turn among the process's writers. It reads and writes as the
/// connection it holds (`&mut *tx`); dropped without [`WriteTx::commit`], it rolls back.
pub(crate) struct WriteTx<'a> {
    // Fields drop in this order: the transaction ends before the next writer's turn.
    tx: sqlx::Transaction<'a, sqlx::Sqlite>,
    _turn: tokio::sync::MutexGuard<'a, ()>,
}

impl WriteTx<'_> {
    pub(crate) async fn commit(self) -> std::result::Result<(), sqlx::Error> {
        let WriteTx { tx, _turn } = self;
        tx.commit().await
    }
}

impl std::ops::Deref for WriteTx<'_> {
    type Target = sqlx::SqliteConnection;
    fn deref(&self) -> &sqlx::SqliteConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx<'_> {
    fn deref_mut(&mut self) -> &mut sqlx::SqliteConnection {
        &mut self.tx
    }
}

/// One page of a list, and where the next one starts.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<Cursor>,
}

/// A position in a list: opaque to clients, the row's `seq` inside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor(i64);

impl Cursor {
    /// Parses a cursor a client sent back; `None` if it is not one of ours.
    pub fn parse(value: &str) -> Option<Cursor> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(value)
            .ok()?;
        let text = std::str::from_utf8(&bytes).ok()?;
        text.strip_prefix("s:")?.parse().ok().map(Cursor)
    }

    /// A cursor at a position.
    pub fn at(position: i64) -> Cursor {
        Cursor(position)
    }

    /// The position inside.
    pub fn position(self) -> i64 {
        self.0
    }

    pub fn encode(self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("s:{}", self.0))
    }
}

/// What page of a list to read.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub limit: u32,
    pub after: Option<Cursor>,
}

impl PageRequest {
    /// The first `limit` rows.
    pub fn first(limit: u32) -> Self {
        Self { limit, after: None }
    }

    fn after_seq(&self) -> i64 {
        self.after.map_or(0, |c| c.0)
    }

    /// Asks for one row more than the limit, to know whether another page follows.
    fn fetch_limit(&self) -> i64 {
        i64::from(self.limit) + 1
    }
}

/// Cuts the extra row off and turns it into the next cursor.
fn paginate<T>(mut rows: Vec<(i64, T)>, page: PageRequest) -> Page<T> {
    let more = rows.len() > page.limit as usize;
    rows.truncate(page.limit as usize);
    let next_cursor = if more {
        rows.last().map(|(seq, _)| Cursor(*seq))
    } else {
        None
    };
    Page {
        items: rows.into_iter().map(|(_, item)| item).collect(),
        next_cursor,
    }
}

/// Reads rows into items and cuts them into a page (each row has its `seq`).
fn page_of<T>(
    rows: &[sqlx::sqlite::SqliteRow],
    page: PageRequest,
    from_row: impl Fn(&sqlx::sqlite::SqliteRow) -> Result<T>,
) -> Result<Page<T>> {
    use sqlx::Row;
    let items = rows
        .iter()
        .map(|r| Ok((r.try_get("seq")?, from_row(r)?)))
        .collect::<Result<Vec<_>>>()?;
    Ok(paginate(items, page))
}

impl Store {
    /// Opens (creating if needed) the SQLite database at `path` and applies pending migrations.
    pub async fn open(path: &Path) -> Result<Self> {
        let options = SqliteConnectOptions::from_str("sqlite://")
            .map_err(StoreError::Database)?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .min_connections(1)
            .connect_with(options)
            .await?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StoreError::Migration(e.to_string()))?;
        Ok(Self {
            pool,
            write_turn: Default::default(),
        })
    }

    /// Starts a write transaction. The process's write transactions first take turns, in the
    /// order they asked, then `BEGIN IMMEDIATE` takes SQLite's write lock at the start, so a
    /// transaction that reads before it writes cannot fail with "database is locked" when it
    /// would upgrade its read lock while another connection writes.
    ///
    /// Without the turns, writers that find the lock taken wait in SQLite's busy handler, which
    /// sleeps 1, 2, 5, 10 … up to 100 ms between tries and lets a newcomer take the lock first:
    /// with 8 clients chatting at once (`cargo bench -p sitechat-server --bench chat_load`), one
    /// reply in a hundred took 390–650 ms against a median of 17 ms.
    pub(crate) async fn begin_write(&self) -> Result<WriteTx<'_>> {
        let turn = self.write_turn.lock().await;
        let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        Ok(WriteTx { tx, _turn: turn })
    }

    /// Answers whether the database responds.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes every connection (for a clean shutdown).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
