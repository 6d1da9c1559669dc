//! Semantic retrieval's half of knowledge: chunks are embedded after they are indexed (a bot
//! answers on BM25 until then), and a bot's vectors are loaded into memory for its questions.
//!
//! Embedding runs (1) inline when a small source is added, so its answers are hybrid as soon as
//! the call returns; (2) as the last phase of a training job, which reports `chunks_embedded`;
//! (3) in the background for whatever is left (a large upload, a model installed later, a stop
//! in the middle), swept by the scheduler. One run per bot at a time; vectors are stored with
//! their chunk, so a run that stops loses nothing but the batch in hand.

use std::sync::Arc;

use sitechat_answer::{Dense, Meaning};
use sitechat_core::BotId;
use sitechat_search::VectorSet;

use crate::{error::ApiResult, models::EMBEDDING_MODEL, services::blocking, state::AppState};

/// Chunks embedded per batch.
const BATCH: u32 = 32;

/// Sources up to this many passages are embedded before the call that adds them returns.
pub const INLINE_CHUNKS: usize = 64;

/// Marks a bot as being embedded; unmarks it when dropped.
struct Running {
    state: AppState,
    bot: BotId,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.state
            .embedding
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.bot);
    }
}

/// Claims a bot for an embedding run: `None` when another run is embedding it (or the model is
/// not available). The claim ends when the returned value is dropped.
pub fn claim(state: &AppState, bot: &BotId) -> Option<impl Drop> {
    if !state.models.available() {
        return None;
    }
    let claimed = state
        .embedding
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(bot.clone());
    claimed.then(|| Running {
        state: state.clone(),
        bot: bot.clone(),
    })
}

/// Embeds one batch of the bot's chunks that have no vector yet. Returns how many were
/// embedded, `None` when none is left (or the model cannot run).
pub async fn embed_batch(state: &AppState, bot: &BotId, language: &str) -> ApiResult<Option<u64>> {
    let batch = state
        .store
        .chunks_to_embed(bot, EMBEDDING_MODEL, BATCH)
        .await?;
    if batch.is_empty() {
        return Ok(None);
    }
    let models = state.models.clone();
    let texts: Vec<String> = batch.iter().map(|c| c.text.clone()).collect();
    let vectors = blocking(move || {
        let Some(embedder) = models.embedder() else {
            return Ok(None);
        };
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        embedder
            .embed(&refs)
            .map(Some)
            .map_err(|e| crate::error::ApiError::internal(format!("embedding: {e}")))
    })
    .await?;
    let Some(vectors) = vectors else {
        return Ok(None);
    };
    let pairs: Vec<_> = batch.into_iter().map(|c| c.id).zip(vectors).collect();
    state
        .store
        .save_vectors(bot, EMBEDDING_MODEL, &pairs)
        .await?;
    let count = pairs.len() as u64;
    let (index, id, language) = (state.index.clone(), bot.clone(), language.to_owned());
    blocking(move || Ok(index.add_vectors(&id, &language, &pairs)?)).await?;
    Ok(Some(count))
}

/// Embeds every chunk of the bot that has no vector yet. Returns how many were embedded; 0 when
/// the model is not available or another run is embedding this bot.
pub async fn embed_bot(state: &AppState, bot: &BotId, language: &str) -> ApiResult<u64> {
    let Some(_claim) = claim(state, bot) else {
        return Ok(0);
    };
    let mut done = 0;
    while let Some(n) = embed_batch(state, bot, language).await? {
        done += n;
    }
    if done > 0 {
        tracing::info!(bot = %bot, chunks = done, "chunks embedded");
    }
    Ok(done)
}

/// Embeds a bot's new chunks in the background.
pub fn spawn_embed_bot(state: &AppState, bot: &BotId, language: &str) {
    if !state.models.available() {
        return;
    }
    let (state, bot, language) = (state.clone(), bot.clone(), language.to_owned());
    tokio::spawn(async move {
        if let Err(e) = embed_bot(&state, &bot, &language).await {
            tracing::warn!(bot = %bot, error = %e, "background embedding stopped; the next sweep resumes it");
        }
    });
}

/// Starts background embedding for every bot with chunks left to embed.
pub async fn sweep(state: &AppState) -> ApiResult<usize> {
    if !state.models.available() {
        return Ok(0);
    }
    let bots = state.store.bots_to_embed(EMBEDDING_MODEL).await?;
    for (bot, language) in &bots {
        spawn_embed_bot(state, bot, language);
    }
    Ok(bots.len())
}

/// The bot's vectors for a question: loaded from the database into the index's memory on first
/// use (and after its passages change). `None` when the model is not available or the bot has no
/// vectors yet.
pub async fn vectors(
    state: &AppState,
    bot: &BotId,
    language: &str,
) -> ApiResult<Option<Arc<VectorSet>>> {
    if !state.models.available() {
        return Ok(None);
    }
    let (index, id, lang) = (state.index.clone(), bot.clone(), language.to_owned());
    let (generation, loaded) = blocking(move || Ok(index.vectors(&id, &lang)?)).await?;
    let set = match loaded {
        Some(set) => set,
        None => {
            let rows = state.store.bot_vectors(bot, EMBEDDING_MODEL).await?;
            let mut set = VectorSet::new(sitechat_embed::DIMENSIONS);
            set.extend(rows);
            let (index, id, lang) = (state.index.clone(), bot.clone(), language.to_owned());
            blocking(move || Ok(index.set_vectors(&id, &lang, generation, set)?)).await?
        }
    };
    Ok((!set.is_empty()).then_some(set))
}

/// What semantic retrieval needs for one bot's questions: its vectors (when it has any and the
/// model is there) and the model to embed the question with.
pub struct Semantics {
    vectors: Option<Arc<VectorSet>>,
    models: Arc<crate::models::Models>,
}

impl Semantics {
    /// The bot's vectors, loaded if needed.
    pub async fn of(state: &AppState, bot: &BotId, language: &str) -> ApiResult<Self> {
        Ok(Self {
            vectors: vectors(state, bot, language).await?,
            models: state.models.clone(),
        })
    }

    /// Runs `f` with the question's embedding, the bot's vectors and a sentence embedder, or
    /// with `None` (BM25 alone) when either is missing. Blocks (the question is embedded,
    /// cached): call from a blocking thread.
    pub fn with<T>(&self, question: &str, f: impl FnOnce(Dense<'_>) -> T) -> T {
        let embedded = self
            .vectors
            .as_ref()
            .and_then(|_| self.models.embed_query(question));
        f(embedded
            .as_deref()
            .zip(self.vectors.as_deref())
            .map(|(q, v)| Meaning {
                question: q.as_slice(),
                vectors: v,
                sentences: Some(&*self.models),
            }))
    }
}
