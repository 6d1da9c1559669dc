//! Chunk embeddings: what is still to embed, saving vectors, loading a bot's vectors.

use sitechat_core::{BotId, ChunkId};
use sqlx::Row;

use crate::{Result, Store};

/// A chunk's text as it is embedded: its heading (or title) as context, then its text.
#[derive(Debug, Clone)]
pub struct ChunkToEmbed {
    pub id: ChunkId,
    pub text: String,
}

fn to_bytes(vector: &[f32]) -> Vec<u8> {
    vector.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn from_bytes(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

impl Store {
    /// Chunks of a bot without a vector of `model`, oldest first.
    pub async fn chunks_to_embed(
        &self,
        bot: &BotId,
        model: &str,
        limit: u32,
    ) -> Result<Vec<ChunkToEmbed>> {
        let rows = sqlx::query(
            "SELECT c.id, c.title, c.heading, c.text FROM chunks c
             WHERE c.bot_id = ? AND NOT EXISTS
               (SELECT 1 FROM chunk_vectors v WHERE v.chunk_id = c.id AND v.model = ?)
             ORDER BY c.seq LIMIT ?",
        )
        .bind(bot.as_str())
        .bind(model)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let title: String = r.try_get("title")?;
                let heading: String = r.try_get("heading")?;
                let text: String = r.try_get("text")?;
                let context = if heading.is_empty() { title } else { heading };
                Ok(ChunkToEmbed {
                    id: ChunkId::from_trusted(r.try_get("id")?),
                    text: format!("{context}. {text}"),
                })
            })
            .collect()
    }

    /// Bots (and their language) that have chunks without a vector of `model`.
    pub async fn bots_to_embed(&self, model: &str) -> Result<Vec<(BotId, String)>> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT b.id, b.language FROM bots b WHERE EXISTS
               (SELECT 1 FROM chunks c WHERE c.bot_id = b.id AND NOT EXISTS
                  (SELECT 1 FROM chunk_vectors v WHERE v.chunk_id = c.id AND v.model = ?))",
        )
        .bind(model)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, language)| (BotId::from_trusted(id), language))
            .collect())
    }

    /// Saves vectors of a bot's chunks; chunks deleted meanwhile are skipped. Returns how many
    /// were saved.
    pub async fn save_vectors(
        &self,
        bot: &BotId,
        model: &str,
        vectors: &[(ChunkId, Vec<f32>)],
    ) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        let mut saved = 0;
        for (id, vector) in vectors {
            saved += sqlx::query(
                "INSERT OR REPLACE INTO chunk_vectors (chunk_id, bot_id, model, vector)
                 SELECT id, bot_id, ?, ? FROM chunks WHERE id = ? AND bot_id = ?",
            )
            .bind(model)
            .bind(to_bytes(vector))
            .bind(id.as_str())
            .bind(bot.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        Ok(saved)
    }

    /// Every vector of `model` of a bot.
    pub async fn bot_vectors(&self, bot: &BotId, model: &str) -> Result<Vec<(ChunkId, Vec<f32>)>> {
        let rows = sqlx::query(
            "SELECT chunk_id, vector FROM chunk_vectors WHERE bot_id = ? AND model = ?",
        )
        .bind(bot.as_str())
        .bind(model)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let bytes: Vec<u8> = r.try_get("vector")?;
                Ok((
                    ChunkId::from_trusted(r.try_get("chunk_id")?),
                    from_bytes(&bytes),
                ))
            })
            .collect()
    }

    /// How many of a bot's chunks have a vector of `model`, and how many chunks it has.
    pub async fn vector_progress(&self, bot: &BotId, model: &str) -> Result<(u64, u64)> {
        let (embedded, total): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM chunk_vectors WHERE bot_id = ?1 AND model = ?2),
                    (SELECT COUNT(*) FROM chunks WHERE bot_id = ?1)",
        )
        .bind(bot.as_str())
        .bind(model)
        .fetch_one(&self.pool)
        .await?;
        Ok((embedded as u64, total as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_round_trip_through_bytes() {
        let v = vec![0.5f32, -1.25, 3.0e-7, f32::MAX];
        assert_eq!(from_bytes(&to_bytes(&v)), v);
    }
}
