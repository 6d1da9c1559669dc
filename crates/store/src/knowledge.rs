//! Knowledge: sources and their chunks.

use sitechat_core::{
    model::{Chunk, Source, SourceKind},
    AccountId, BotId, ChunkId, SourceId,
};
use sqlx::Row;

use crate::{error::StoreError, page_of, Page, PageRequest, Result, Store};

/// A source with its chunks, ids already chosen by the caller so that it can index them.
#[derive(Debug, Clone)]
pub struct NewSource {
    pub source: Source,
    pub content_hash: String,
    pub chunks: Vec<Chunk>,
}

fn source_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Source> {
    let kind: String = row.try_get("kind")?;
    Ok(Source {
        id: SourceId::from_trusted(row.try_get("id")?),
        bot_id: BotId::from_trusted(row.try_get("bot_id")?),
        kind: SourceKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("source kind {kind}")))?,
        title: row.try_get("title")?,
        url: row.try_get("url")?,
        characters: row.try_get("characters")?,
        chunks: row.try_get("chunk_count")?,
        created_at: row.try_get("created_at")?,
    })
}

/// A chunk from a row of `chunks` joined with its source's kind (as `source_kind`).
fn chunk_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Chunk> {
    let kind: String = row.try_get("source_kind")?;
    Ok(Chunk {
        id: ChunkId::from_trusted(row.try_get("id")?),
        bot_id: BotId::from_trusted(row.try_get("bot_id")?),
        source_id: SourceId::from_trusted(row.try_get("source_id")?),
        ordinal: row.try_get("ordinal")?,
        title: row.try_get("title")?,
        heading: row.try_get("heading")?,
        anchor: row.try_get("anchor")?,
        url: row.try_get("url")?,
        text: row.try_get("text")?,
        curated: kind == SourceKind::Qa.as_str(),
    })
}

const SOURCE_COLUMNS: &str =
    "s.seq, s.id, s.bot_id, s.kind, s.title, s.url, s.characters, s.created_at,
    (SELECT COUNT(*) FROM chunks c WHERE c.source_id = s.id) AS chunk_count";

pub(crate) async fn insert_chunk(
    conn: &mut sqlx::SqliteConnection,
    c: &Chunk,
    source: &SourceId,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO chunks (id, bot_id, source_id, ordinal, title, heading, anchor, url, text)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(c.id.as_str())
    .bind(c.bot_id.as_str())
    .bind(source.as_str())
    .bind(c.ordinal)
    .bind(&c.title)
    .bind(&c.heading)
    .bind(&c.anchor)
    .bind(&c.url)
    .bind(&c.text)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Notes, in the transaction that changes a bot's chunks, that its index has a write to catch up.
pub(crate) async fn mark_index_pending(
    conn: &mut sqlx::SqliteConnection,
    bot: &BotId,
) -> Result<()> {
    sqlx::query("UPDATE bots SET index_pending = index_pending + 1 WHERE id = ?")
        .bind(bot.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

impl Store {
    /// Records that one pending write reached the bot's index.
    pub async fn index_caught_up(&self, bot: &BotId) -> Result<()> {
        self.index_caught_up_by(bot, 1).await
    }

    /// Records that `n` pending writes reached the bot's index.
    pub async fn index_caught_up_by(&self, bot: &BotId, n: u64) -> Result<()> {
        sqlx::query("UPDATE bots SET index_pending = MAX(index_pending - ?, 0) WHERE id = ?")
            .bind(n as i64)
            .bind(bot.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Whether a bot has chunk writes its index may not have (after a crash).
    pub async fn index_pending(&self, bot: &BotId) -> Result<bool> {
        let n: Option<i64> = sqlx::query_scalar("SELECT index_pending FROM bots WHERE id = ?")
            .bind(bot.as_str())
            .fetch_optional(&self.pool)
            .await?;
        Ok(n.unwrap_or(0) > 0)
    }

    /// Marks a bot's index as matching the database (after a rebuild).
    pub async fn clear_index_pending(&self, bot: &BotId) -> Result<()> {
        sqlx::query("UPDATE bots SET index_pending = 0 WHERE id = ?")
            .bind(bot.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Stores a source and all its chunks in one transaction, after checking that the bot belongs
    /// to the account.
    pub async fn insert_source(&self, account: &AccountId, new: &NewSource) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let owned: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM bots WHERE id = ? AND account_id = ?")
                .bind(new.source.bot_id.as_str())
                .bind(account.as_str())
                .fetch_optional(&mut *tx)
                .await?;
        if owned.is_none() {
            return Err(StoreError::not_found("bot"));
        }
        let s = &new.source;
        sqlx::query(
            "INSERT INTO sources (id, bot_id, kind, title, url, characters, content_hash, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(s.id.as_str())
        .bind(s.bot_id.as_str())
        .bind(s.kind.as_str())
        .bind(&s.title)
        .bind(&s.url)
        .bind(s.characters)
        .bind(&new.content_hash)
        .bind(s.created_at)
        .execute(&mut *tx)
        .await?;
        for c in &new.chunks {
            insert_chunk(&mut tx, c, &s.id).await?;
        }
        mark_index_pending(&mut tx, &s.bot_id).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn list_sources(
        &self,
        account: &AccountId,
        bot: &BotId,
        page: PageRequest,
    ) -> Result<Page<Source>> {
        self.get_bot(account, bot).await?;
        let sql = format!(
            "SELECT {SOURCE_COLUMNS} FROM sources s WHERE s.bot_id = ? AND s.seq > ? ORDER BY s.seq LIMIT ?"
        );
        let rows = sqlx::query(&sql)
            .bind(bot.as_str())
            .bind(page.after_seq())
            .bind(page.fetch_limit())
            .fetch_all(&self.pool)
            .await?;
        page_of(&rows, page, source_from_row)
    }

    pub async fn get_source(
        &self,
        account: &AccountId,
        bot: &BotId,
        id: &SourceId,
    ) -> Result<Source> {
        let sql = format!(
            "SELECT {SOURCE_COLUMNS} FROM sources s JOIN bots b ON b.id = s.bot_id
             WHERE s.id = ? AND s.bot_id = ? AND b.account_id = ?"
        );
        let row = sqlx::query(&sql)
            .bind(id.as_str())
            .bind(bot.as_str())
            .bind(account.as_str())
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found("source"))?;
        source_from_row(&row)
    }

    /// Deletes a source and its chunks; returns the ids of the chunks that were removed.
    pub async fn delete_source(
        &self,
        account: &AccountId,
        bot: &BotId,
        id: &SourceId,
    ) -> Result<Vec<ChunkId>> {
        let mut tx = self.begin_write().await?;
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM sources s JOIN bots b ON b.id = s.bot_id
             WHERE s.id = ? AND s.bot_id = ? AND b.account_id = ?",
        )
        .bind(id.as_str())
        .bind(bot.as_str())
        .bind(account.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        if found.is_none() {
            return Err(StoreError::not_found("source"));
        }
        let chunk_ids: Vec<String> =
            sqlx::query_scalar("SELECT id FROM chunks WHERE source_id = ?")
                .bind(id.as_str())
                .fetch_all(&mut *tx)
                .await?;
        sqlx::query("DELETE FROM sources WHERE id = ?")
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?;
        mark_index_pending(&mut tx, bot).await?;
        tx.commit().await?;
        Ok(chunk_ids.into_iter().map(ChunkId::from_trusted).collect())
    }

    /// Every chunk of a bot, in batches, for rebuilding its index (with `curated` set from its
    /// source's kind). Not scoped to an account: only the operator's `reindex` and the start-up
    /// consistency check call it.
    pub async fn bot_chunks(
        &self,
        bot: &BotId,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<(i64, Chunk)>> {
        let rows = sqlx::query(
            "SELECT c.*, s.kind AS source_kind FROM chunks c JOIN sources s ON s.id = c.source_id
                 WHERE c.bot_id = ? AND c.seq > ? ORDER BY c.seq LIMIT ?",
        )
        .bind(bot.as_str())
        .bind(after_seq)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("seq")?, chunk_from_row(r)?)))
            .collect()
    }

    /// How many chunks a bot has.
    pub async fn count_bot_chunks(&self, bot: &BotId) -> Result<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM chunks WHERE bot_id = ?")
            .bind(bot.as_str())
            .fetch_one(&self.pool)
            .await?;
        Ok(n as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{bot, source, store};

    #[tokio::test]
    async fn chunks_read_back_for_an_index_rebuild_know_whether_they_are_curated() {
        let (store, _dir, account) = store().await;
        let bot = bot(&store, &account).await;
        let text = source(&bot, SourceKind::Text, "Refunds", "Refunds within 30 days.");
        let qa = source(
            &bot,
            SourceKind::Qa,
            "How long does a refund take?",
            "60 days for members.",
        );
        store.insert_source(&account, &text).await.unwrap();
        store.insert_source(&account, &qa).await.unwrap();
        let chunks = store.bot_chunks(&bot, 0, 10).await.unwrap();
        let flags: Vec<(String, bool)> = chunks
            .into_iter()
            .map(|(_, c)| (c.text, c.curated))
            .collect();
        assert_eq!(
            flags,
            [
                ("Refunds within 30 days.".to_owned(), false),
                ("60 days for members.".to_owned(), true)
            ]
        );
        assert_eq!(
            store
                .get_source(&account, &bot, &qa.source.id)
                .await
                .unwrap()
                .kind,
            SourceKind::Qa
        );
    }
}
