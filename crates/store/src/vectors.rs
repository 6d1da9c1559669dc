//! Chunk embeddings: what is still to embed, saving vectors, loading a bot's vectors; and the
//! vectors of each chunk's sentences, embedded after the chunk's own.

use sitechat_core::{
    model::Bot,
    vector::{quantise_into, Quantised},
    BotId, ChunkId,
};
use sqlx::Row;

use crate::{
    bots::{bot_from_row, BOT_COLUMNS},
    Result, Store,
};

/// A chunk's text as it is embedded: its heading (or title) as context, then its text.
#[derive(Debug, Clone)]
pub struct ChunkToEmbed {
    pub id: ChunkId,
    pub text: String,
}

/// The first byte of a compact record (one signed byte per dimension and a scale per vector,
/// [`Quantised`]). Records written before it are bare little-endian `f32`s, whose length is a
/// multiple of 4; a compact record is padded to a length of 3 modulo 4, so the two never mix up
/// and a database written by an earlier version is read as it is, without embedding again.
const COMPACT: u8 = 1;

/// Zero bytes after a compact record's content, to make its length 3 modulo 4.
fn pad_compact(out: &mut Vec<u8>) {
    while out.len() % 4 != 3 {
        out.push(0);
    }
}

/// One vector of a compact record: its dimensions (`u16`), its scale and its values. `None` for
/// a vector of more than `u16::MAX` dimensions (no embedding model has that many).
fn put_compact(out: &mut Vec<u8>, vector: &[f32]) -> Option<()> {
    let dims = u16::try_from(vector.len()).ok()?;
    let mut values = Vec::with_capacity(vector.len());
    let scale = quantise_into(vector, &mut values);
    out.extend(dims.to_le_bytes());
    out.extend(scale.to_le_bytes());
    out.extend(values.iter().map(|v| v.to_le_bytes()[0]));
    Some(())
}

/// Reads one vector of a compact record, returning it and the rest.
fn take_compact(bytes: &[u8]) -> Option<(Quantised, &[u8])> {
    let (dims, rest) = bytes.split_first_chunk::<2>()?;
    let (scale, rest) = rest.split_first_chunk::<4>()?;
    let dims = usize::from(u16::from_le_bytes(*dims));
    if rest.len() < dims {
        return None;
    }
    let values: Vec<i8> = rest[..dims]
        .iter()
        .map(|&b| i8::from_le_bytes([b]))
        .collect();
    Some((
        Quantised::from_parts(f32::from_le_bytes(*scale), values),
        &rest[dims..],
    ))
}

/// A passage's vector as stored: compact, or as `f32`s if it cannot be.
fn vector_to_bytes(vector: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(vector.len() + 8);
    out.push(COMPACT);
    if put_compact(&mut out, vector).is_none() {
        return to_bytes(vector);
    }
    pad_compact(&mut out);
    out
}

/// A stored passage vector, of either format.
fn vector_from_bytes(bytes: &[u8]) -> Result<Quantised> {
    if bytes.len().is_multiple_of(4) {
        return Ok(Quantised::new(&from_bytes(bytes)));
    }
    let corrupt = || crate::StoreError::Corrupt("passage vector".to_owned());
    let rest = match bytes.split_first() {
        Some((&COMPACT, rest)) if bytes.len() % 4 == 3 => rest,
        _ => return Err(corrupt()),
    };
    let (vector, padding) = take_compact(rest).ok_or_else(corrupt)?;
    if padding.len() >= 4 {
        return Err(corrupt());
    }
    Ok(vector)
}

/// The `f32` format, as written before the compact one (still read).
fn to_bytes(vector: &[f32]) -> Vec<u8> {
    vector.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn from_bytes(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// The vectors of a chunk's sentences, each with its sentence's key, as embedded.
pub type SentenceVectors = Vec<(u64, Vec<f32>)>;

/// The vectors of a chunk's sentences, each with its sentence's key, as stored and held.
pub type StoredSentenceVectors = Vec<(u64, Quantised)>;

/// A chunk's sentence vectors as stored: [`COMPACT`], then for each its key and its vector,
/// then the padding. (The `f32` format, still read: for each, its key, its dimensions as a
/// `u32` and its values.)
fn sentences_to_bytes(sentences: &[(u64, Vec<f32>)]) -> Vec<u8> {
    let mut out =
        Vec::with_capacity(1 + sentences.iter().map(|(_, v)| 14 + v.len()).sum::<usize>());
    out.push(COMPACT);
    for (key, vector) in sentences {
        out.extend(key.to_le_bytes());
        if put_compact(&mut out, vector).is_none() {
            return sentences_to_f32_bytes(sentences);
        }
    }
    pad_compact(&mut out);
    out
}

/// The `f32` format of sentence vectors, as written before the compact one.
fn sentences_to_f32_bytes(sentences: &[(u64, Vec<f32>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (key, vector) in sentences {
        out.extend(key.to_le_bytes());
        out.extend(
            u32::try_from(vector.len())
                .unwrap_or(u32::MAX)
                .to_le_bytes(),
        );
        out.extend(to_bytes(vector));
    }
    out
}

fn sentences_from_bytes(bytes: &[u8]) -> Result<StoredSentenceVectors> {
    let corrupt = || crate::StoreError::Corrupt("sentence vectors".to_owned());
    if bytes.len().is_multiple_of(4) {
        return sentences_from_f32_bytes(bytes);
    }
    let mut bytes = match bytes.split_first() {
        Some((&COMPACT, rest)) if bytes.len() % 4 == 3 => rest,
        _ => return Err(corrupt()),
    };
    let mut out = Vec::new();
    // A record is at least 14 bytes: what is shorter is the padding.
    while bytes.len() >= 4 {
        let (key, rest) = bytes.split_first_chunk::<8>().ok_or_else(corrupt)?;
        let (vector, rest) = take_compact(rest).ok_or_else(corrupt)?;
        out.push((u64::from_le_bytes(*key), vector));
        bytes = rest;
    }
    Ok(out)
}

fn sentences_from_f32_bytes(mut bytes: &[u8]) -> Result<StoredSentenceVectors> {
    let corrupt = || crate::StoreError::Corrupt("sentence vectors".to_owned());
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let (key, rest) = bytes.split_first_chunk::<8>().ok_or_else(corrupt)?;
        let (dims, rest) = rest.split_first_chunk::<4>().ok_or_else(corrupt)?;
        let len = usize::try_from(u32::from_le_bytes(*dims)).map_err(|_| corrupt())? * 4;
        if rest.len() < len {
            return Err(corrupt());
        }
        out.push((
            u64::from_le_bytes(*key),
            Quantised::new(&from_bytes(&rest[..len])),
        ));
        bytes = &rest[len..];
    }
    Ok(out)
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

    /// Bots that have chunks without a vector of `model`, or without the vectors of their
    /// sentences (whatever model each bot uses now: the caller keeps those that use `model`).
    pub async fn bots_to_embed(&self, model: &str) -> Result<Vec<Bot>> {
        let sql = format!(
            "SELECT {BOT_COLUMNS} FROM bots b WHERE EXISTS
               (SELECT 1 FROM chunks c WHERE c.bot_id = b.id AND NOT EXISTS
                  (SELECT 1 FROM chunk_vectors v WHERE v.chunk_id = c.id AND v.model = ?1))
             OR EXISTS (SELECT 1 FROM chunk_vectors v
                        WHERE v.bot_id = b.id AND v.model = ?1 AND v.sentences IS NULL)"
        );
        let rows = sqlx::query(&sql).bind(model).fetch_all(&self.pool).await?;
        rows.iter().map(bot_from_row).collect()
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
            .bind(vector_to_bytes(vector))
            .bind(id.as_str())
            .bind(bot.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        Ok(saved)
    }

    /// Chunks of a bot with a vector of `model` but not the vectors of their sentences yet, in
    /// the order their vectors were stored, with their text.
    pub async fn chunks_without_sentences(
        &self,
        bot: &BotId,
        model: &str,
        limit: u32,
    ) -> Result<Vec<(ChunkId, String)>> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT c.id, c.text FROM chunk_vectors v JOIN chunks c ON c.id = v.chunk_id
             WHERE v.bot_id = ? AND v.model = ? AND v.sentences IS NULL
             ORDER BY v.rowid LIMIT ?",
        )
        .bind(bot.as_str())
        .bind(model)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, text)| (ChunkId::from_trusted(id), text))
            .collect())
    }

    /// Saves the vectors of the sentences of a bot's chunks (each with its key), next to the
    /// chunk's vector of `model`; chunks deleted meanwhile, or without a vector of `model`, are
    /// skipped. Returns how many chunks were saved.
    pub async fn save_sentence_vectors(
        &self,
        bot: &BotId,
        model: &str,
        chunks: &[(ChunkId, SentenceVectors)],
    ) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        let mut saved = 0;
        for (id, sentences) in chunks {
            saved += sqlx::query(
                "UPDATE chunk_vectors SET sentences = ?
                 WHERE chunk_id = ? AND bot_id = ? AND model = ?",
            )
            .bind(sentences_to_bytes(sentences))
            .bind(id.as_str())
            .bind(bot.as_str())
            .bind(model)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        Ok(saved)
    }

    /// The stored sentence vectors of `model` of some of a bot's chunks, with their keys; chunks
    /// of other bots give none.
    pub async fn sentence_vectors(
        &self,
        bot: &BotId,
        model: &str,
        chunks: &[ChunkId],
    ) -> Result<StoredSentenceVectors> {
        if chunks.is_empty() {
            return Ok(Vec::new());
        }
        let marks = vec!["?"; chunks.len()].join(", ");
        let sql = format!(
            "SELECT sentences FROM chunk_vectors
             WHERE bot_id = ? AND model = ? AND sentences IS NOT NULL AND chunk_id IN ({marks})"
        );
        let mut query = sqlx::query_scalar::<_, Vec<u8>>(&sql)
            .bind(bot.as_str())
            .bind(model);
        for id in chunks {
            query = query.bind(id.as_str());
        }
        let mut out = Vec::new();
        for bytes in query.fetch_all(&self.pool).await? {
            out.extend(sentences_from_bytes(&bytes)?);
        }
        Ok(out)
    }

    /// Every vector of `model` of a bot.
    pub async fn bot_vectors(&self, bot: &BotId, model: &str) -> Result<Vec<(ChunkId, Quantised)>> {
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
                    vector_from_bytes(&bytes)?,
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

    /// Deletes a bot's vectors of every model but `keep` (after the bot changed model and its
    /// knowledge is embedded with the new one). Returns how many passages' vectors went.
    pub async fn delete_vectors_of_other_models(&self, bot: &BotId, keep: &str) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        let deleted = sqlx::query("DELETE FROM chunk_vectors WHERE bot_id = ? AND model <> ?")
            .bind(bot.as_str())
            .bind(keep)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(deleted)
    }
}

#[cfg(test)]
mod tests {
    use sitechat_core::{model::SourceKind, AccountId, SourceId};

    use super::*;
    use crate::testing::{bot, source, store};

    /// A bot with one source of one chunk, whose vector is stored.
    async fn bot_with_a_chunk(store: &Store, account: &AccountId) -> (BotId, SourceId, ChunkId) {
        let bot = bot(store, account).await;
        let new = source(&bot, SourceKind::Text, "t", "One sentence. Another one.");
        let chunk = new.chunks[0].id.clone();
        store.insert_source(account, &new).await.unwrap();
        store
            .save_vectors(&bot, "m", &[(chunk.clone(), vec![1.0, 0.0])])
            .await
            .unwrap();
        (bot, new.source.id, chunk)
    }

    #[tokio::test]
    async fn sentence_vectors_are_kept_with_their_chunk_and_their_bot() {
        let (store, _dir, account) = store().await;
        let (bot, source, chunk) = bot_with_a_chunk(&store, &account).await;
        let (other, _, other_chunk) = bot_with_a_chunk(&store, &account).await;
        let pending = store.chunks_without_sentences(&bot, "m", 10).await.unwrap();
        assert_eq!(
            pending,
            vec![(chunk.clone(), "One sentence. Another one.".to_owned())]
        );
        assert!(store
            .bots_to_embed("m")
            .await
            .unwrap()
            .iter()
            .any(|b| b.id == bot));

        let sentences = vec![(7u64, vec![0.6, 0.8]), (u64::MAX, vec![-1.0, 0.0])];
        let saved = store
            .save_sentence_vectors(&bot, "m", &[(chunk.clone(), sentences.clone())])
            .await
            .unwrap();
        assert_eq!(saved, 1);
        assert!(store
            .chunks_without_sentences(&bot, "m", 10)
            .await
            .unwrap()
            .is_empty());
        assert!(!store
            .bots_to_embed("m")
            .await
            .unwrap()
            .iter()
            .any(|b| b.id == bot));
        let ids = [chunk.clone(), other_chunk.clone()];
        assert_eq!(
            store.sentence_vectors(&bot, "m", &ids).await.unwrap(),
            quantised(&sentences)
        );
        // Another bot reads none of them, nor does another model; and it cannot write them.
        assert!(store
            .sentence_vectors(&other, "m", &ids)
            .await
            .unwrap()
            .is_empty());
        assert!(store
            .sentence_vectors(&bot, "n", &ids)
            .await
            .unwrap()
            .is_empty());
        let written = store
            .save_sentence_vectors(&other, "m", &[(chunk.clone(), vec![(1, vec![0.0, 1.0])])])
            .await
            .unwrap();
        assert_eq!(written, 0);
        assert_eq!(
            store.sentence_vectors(&bot, "m", &ids).await.unwrap(),
            quantised(&sentences)
        );
        // They go with their chunk.
        store.delete_source(&account, &bot, &source).await.unwrap();
        assert!(store
            .sentence_vectors(&bot, "m", &ids)
            .await
            .unwrap()
            .is_empty());
    }

    fn quantised(sentences: &[(u64, Vec<f32>)]) -> StoredSentenceVectors {
        sentences
            .iter()
            .map(|(key, v)| (*key, Quantised::new(v)))
            .collect()
    }

    /// A unit vector of 384 dimensions, spread like an embedding's.
    fn unit(seed: f32) -> Vec<f32> {
        let v: Vec<f32> = (0..384)
            .map(|i| ((i as f32 + 1.0) * seed).sin() * (i as f32 * 0.7 + seed).cos())
            .collect();
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.into_iter().map(|x| x / norm).collect()
    }

    #[test]
    fn sentence_vectors_round_trip_through_bytes_and_refuse_a_cut_record() {
        let sentences = vec![(1u64, vec![0.5f32, -0.5]), (2, vec![]), (3, vec![1.0])];
        let bytes = sentences_to_bytes(&sentences);
        assert_eq!(bytes[0], COMPACT);
        assert_eq!(bytes.len() % 4, 3);
        assert_eq!(sentences_from_bytes(&bytes).unwrap(), quantised(&sentences));
        assert!(sentences_from_bytes(&bytes[..bytes.len() - 1]).is_err());
        assert!(sentences_from_bytes(&bytes[..5]).is_err());
        assert!(sentences_from_bytes(&bytes[..bytes.len() - 4]).is_err());
        assert_eq!(
            sentences_from_bytes(&sentences_to_bytes(&[])).unwrap(),
            vec![]
        );
    }

    #[test]
    fn vectors_round_trip_through_bytes() {
        let v = unit(0.3);
        let bytes = vector_to_bytes(&v);
        assert_eq!(
            bytes.len(),
            391,
            "a marker, the dimensions, the scale and a byte each"
        );
        let read = vector_from_bytes(&bytes).unwrap();
        assert_eq!(read, Quantised::new(&v));
        assert!(sitechat_core::vector::cosine(&v, &read.to_f32()) > 0.9999);
        // (Cut by 3, it would read as an `f32` record of 97 dimensions, which is dropped as of
        // another model's.)
        for cut in [1, 2, 4, 100] {
            assert!(
                vector_from_bytes(&bytes[..bytes.len() - cut]).is_err(),
                "{cut}"
            );
        }
        // Any dimension gets its padding.
        for dims in 0..9 {
            let v = vec![0.25f32; dims];
            let bytes = vector_to_bytes(&v);
            assert_eq!(bytes.len() % 4, 3);
            assert_eq!(vector_from_bytes(&bytes).unwrap(), Quantised::new(&v));
        }
    }

    #[test]
    fn records_of_the_f32_format_are_still_read() {
        let (a, b) = (unit(0.3), unit(1.7));
        let read = vector_from_bytes(&to_bytes(&a)).unwrap();
        assert_eq!(read, Quantised::new(&a));
        let old = sentences_to_f32_bytes(&[(5, a.clone()), (6, b.clone())]);
        assert_eq!(old.len(), 2 * (8 + 4 + 384 * 4));
        assert_eq!(
            sentences_from_bytes(&old).unwrap(),
            vec![(5, Quantised::new(&a)), (6, Quantised::new(&b))]
        );
        // The compact records are about a quarter of the size.
        let new = sentences_to_bytes(&[(5, a.clone()), (6, b)]);
        assert_eq!(new.len(), 1 + 2 * (8 + 2 + 4 + 384) + 2);
        assert!(vector_to_bytes(&a).len() * 100 / to_bytes(&a).len() <= 26);
    }

    /// A database written by the version before the compact format (its rows hold `f32`s) is
    /// read as it is: passages and sentences keep their vectors, and new ones are compact.
    #[tokio::test]
    async fn a_database_of_f32_vectors_is_read_without_embedding_again() {
        let (store, _dir, account) = store().await;
        let bot = bot(&store, &account).await;
        let new = source(&bot, SourceKind::Text, "t", "One sentence. Another one.");
        let chunk = new.chunks[0].id.clone();
        store.insert_source(&account, &new).await.unwrap();
        let (a, b) = (unit(0.3), unit(0.9));
        // As the earlier version wrote them.
        sqlx::query(
            "INSERT INTO chunk_vectors (chunk_id, bot_id, model, vector, sentences)
             VALUES (?, ?, 'm', ?, ?)",
        )
        .bind(chunk.as_str())
        .bind(bot.as_str())
        .bind(to_bytes(&a))
        .bind(sentences_to_f32_bytes(&[(9, b.clone())]))
        .execute(&store.pool)
        .await
        .unwrap();
        assert_eq!(
            store.bot_vectors(&bot, "m").await.unwrap(),
            vec![(chunk.clone(), Quantised::new(&a))]
        );
        assert_eq!(
            store
                .sentence_vectors(&bot, "m", std::slice::from_ref(&chunk))
                .await
                .unwrap(),
            vec![(9, Quantised::new(&b))]
        );
        assert!(store
            .chunks_to_embed(&bot, "m", 10)
            .await
            .unwrap()
            .is_empty());
        assert!(store
            .chunks_without_sentences(&bot, "m", 10)
            .await
            .unwrap()
            .is_empty());
        // Written again, they are compact, and read the same.
        store
            .save_vectors(&bot, "m", &[(chunk.clone(), a.clone())])
            .await
            .unwrap();
        store
            .save_sentence_vectors(&bot, "m", &[(chunk.clone(), vec![(9, b.clone())])])
            .await
            .unwrap();
        let (vector, sentences): (Vec<u8>, Vec<u8>) =
            sqlx::query_as("SELECT vector, sentences FROM chunk_vectors WHERE chunk_id = ?")
                .bind(chunk.as_str())
                .fetch_one(&store.pool)
                .await
                .unwrap();
        assert_eq!((vector.len(), sentences.len()), (391, 399));
        assert_eq!(
            store.bot_vectors(&bot, "m").await.unwrap(),
            vec![(chunk.clone(), Quantised::new(&a))]
        );
        assert_eq!(
            store.sentence_vectors(&bot, "m", &[chunk]).await.unwrap(),
            vec![(9, Quantised::new(&b))]
        );
    }
}
