//! Semantic retrieval's half of knowledge: chunks are embedded after they are indexed (a bot
//! answers on BM25 until then), and a bot's vectors are loaded into memory for its questions.
//! Then the sentences of each embedded chunk are embedded too, as the composer splits them, so
//! that a question weighs the sentences of its passages by meaning without embedding them (a
//! cold question otherwise embeds up to 80 sentences, about half a second on two cores).
//!
//! Embedding runs (1) inline when a small source is added, so its answers are hybrid as soon as
//! the call returns; (2) as the last phases of a training job, which reports `chunks_embedded`
//! and `sentences_embedded`; (3) in the background for whatever is left (a large upload, a model
//! installed later, a stop in the middle, passages embedded before sentences were), swept by the
//! scheduler. One run per bot at a time; vectors are stored with their chunk, so a run that stops
//! loses nothing but the batch in hand.
//!
//! Each bot embeds with its own model ([`crate::models::model_of`]: all-MiniLM-L6-v2 for English,
//! multilingual-e5-small otherwise, or the one its settings name). When a bot changes model, its
//! knowledge is embedded again in the background; its questions are answered with the model
//! whose vectors cover more of its passages, so on the old vectors until the new ones catch up.
//! Then the old vectors are deleted.

use std::{
    collections::HashMap,
    sync::{Arc, LazyLock, Mutex},
};

use sha2::{Digest, Sha256};
use sitechat_answer::{Dense, Meaning, SentenceEmbedder, SentenceRef};
use sitechat_core::{model::Bot, vector::Quantised, BotId, ChunkId};
use sitechat_search::VectorSet;
use sitechat_store::Store;

use crate::{
    error::ApiResult,
    models::{model_of, scale_of, EmbeddingModel, Models},
    services::blocking,
    state::AppState,
    telemetry::{Metrics, SentenceVectorsFrom},
};

/// Chunks embedded per batch.
const BATCH: u32 = 32;

/// Chunks whose sentences are embedded per batch (about ten sentences each): small, so that a
/// question waiting for the model waits little.
const SENTENCE_BATCH: u32 = 8;

/// What an embedding step embeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Chunks without a vector, for retrieval.
    Chunks,
    /// The sentences of chunks with a vector, for choosing an answer's sentences.
    Sentences,
}

impl Phase {
    /// Both, in order.
    pub const ALL: [Phase; 2] = [Phase::Chunks, Phase::Sentences];
}

/// The key a sentence's vector is stored under: the first 8 bytes of its text's SHA-256. A
/// question finds a stored vector by its sentence's text, so a passage that a later version
/// splits differently only misses the sentences that changed.
fn sentence_key(text: &str) -> u64 {
    let digest = Sha256::digest(text.as_bytes());
    let mut key = [0u8; 8];
    key.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(key)
}

/// Sources up to this many passages are embedded before the call that adds them returns.
pub const INLINE_CHUNKS: usize = 64;

/// Sources up to this many passages have their sentences embedded before the call returns too
/// (well under a second); a larger one's are embedded just after, in the background, since they
/// cost about as much again as the passages (52 passages: 5.3 s for the call, 9.8 s with their
/// sentences).
pub const INLINE_SENTENCE_CHUNKS: usize = 8;

/// Marks a bot as being embedded; unmarks it when dropped.
pub struct Running {
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

/// Claims a bot for an embedding run: `None` when another run is embedding it (or its model is
/// not available). The claim ends when the returned value is dropped.
pub fn claim(state: &AppState, bot: &Bot) -> Option<Running> {
    if !state.models.available(model_of(bot)) {
        return None;
    }
    let claimed = state
        .embedding
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(bot.id.clone());
    claimed.then(|| Running {
        state: state.clone(),
        bot: bot.id.clone(),
    })
}

/// Embeds one batch of the bot's chunks that have no vector yet, or of the sentences of chunks
/// that have one. Returns how many chunks were embedded, `None` when none is left (or the model
/// cannot run).
pub async fn embed_batch(state: &AppState, bot: &Bot, phase: Phase) -> ApiResult<Option<u64>> {
    let model = model_of(bot);
    let started = std::time::Instant::now();
    let embedded = match phase {
        Phase::Chunks => embed_chunks(state, bot, model).await,
        Phase::Sentences => embed_sentences(state, &bot.id, model).await,
    }?;
    if let Some(n) = embedded {
        record_rate(model.name(), phase, n, started.elapsed().as_secs_f64());
    }
    Ok(embedded)
}

/// The embedding rates measured in this process, per model and phase: (passages, seconds), each
/// batch's added to the past's weighed by [`RATE_MEMORY`], so that the latest batches count
/// most (a machine gets busier or quieter).
static RATES: LazyLock<Mutex<HashMap<(String, Phase), Measured>>> = LazyLock::new(Default::default);

/// Passages embedded and the seconds it took, decayed.
type Measured = (f64, f64);

/// How much of the measured past each new batch keeps.
const RATE_MEMORY: f64 = 0.8;

pub(crate) fn record_rate(model: &str, phase: Phase, passages: u64, seconds: f64) {
    let mut rates = RATES.lock().unwrap_or_else(|p| p.into_inner());
    let (n, t) = rates.entry((model.to_owned(), phase)).or_insert((0.0, 0.0));
    *n = *n * RATE_MEMORY + passages as f64;
    *t = *t * RATE_MEMORY + seconds;
}

/// Passages per second that `model` embeds in `phase` (for sentences: passages whose sentences
/// it embeds), as measured in this process; `None` before it has embedded any.
pub fn measured_rate(model: &str, phase: Phase) -> Option<f64> {
    let rates = RATES.lock().unwrap_or_else(|p| p.into_inner());
    rates
        .get(&(model.to_owned(), phase))
        .filter(|(n, t)| *n > 0.0 && *t > 0.0)
        .map(|(n, t)| n / t)
}

/// Embeds passages (or sentences) with `model` on a blocking thread: `None` when the model
/// cannot run.
async fn embed_texts(
    models: Arc<Models>,
    model: EmbeddingModel,
    texts: Vec<String>,
) -> ApiResult<Option<Vec<Vec<f32>>>> {
    blocking(move || {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        models
            .embed_passages(model, &refs)
            .transpose()
            .map_err(|e| crate::error::ApiError::internal(format!("embedding: {e}")))
    })
    .await
}

async fn embed_chunks(
    state: &AppState,
    bot: &Bot,
    model: EmbeddingModel,
) -> ApiResult<Option<u64>> {
    let batch = state
        .store
        .chunks_to_embed(&bot.id, model.name(), BATCH)
        .await?;
    if batch.is_empty() {
        return Ok(None);
    }
    let texts: Vec<String> = batch.iter().map(|c| c.text.clone()).collect();
    let Some(vectors) = embed_texts(state.models.clone(), model, texts).await? else {
        return Ok(None);
    };
    let pairs: Vec<_> = batch.into_iter().map(|c| c.id).zip(vectors).collect();
    state
        .store
        .save_vectors(&bot.id, model.name(), &pairs)
        .await?;
    let count = pairs.len() as u64;
    let (index, id, language) = (state.index.clone(), bot.id.clone(), bot.language.clone());
    blocking(move || Ok(index.add_vectors(&id, &language, model.name(), &pairs)?)).await?;
    Ok(Some(count))
}

async fn embed_sentences(
    state: &AppState,
    bot: &BotId,
    model: EmbeddingModel,
) -> ApiResult<Option<u64>> {
    let batch = state
        .store
        .chunks_without_sentences(bot, model.name(), SENTENCE_BATCH)
        .await?;
    if batch.is_empty() {
        return Ok(None);
    }
    let sentences: Vec<Vec<String>> = batch
        .iter()
        .map(|(_, text)| sitechat_answer::sentence_texts(text))
        .collect();
    // A sentence met before (in this batch, or recently in the process: a site's repeated notes
    // and boilerplate) is not embedded again.
    let texts: Vec<String> = sentences.iter().flatten().cloned().collect();
    let models = state.models.clone();
    let vectors = blocking(move || {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        Ok(models.sentence_vectors(model, &refs))
    })
    .await?;
    let embedded = vectors.map(|(vectors, embedded)| {
        state
            .metrics
            .sentences_ingested(embedded, vectors.len() - embedded);
        let mut vectors = vectors.into_iter();
        batch
            .into_iter()
            .zip(&sentences)
            .map(|((id, _), texts)| {
                let vectors = texts
                    .iter()
                    .zip(vectors.by_ref())
                    .map(|(text, vector)| (sentence_key(text), vector.to_f32()))
                    .collect();
                (id, vectors)
            })
            .collect::<Vec<(ChunkId, sitechat_store::SentenceVectors)>>()
    });
    let Some(keyed) = embedded else {
        return Ok(None);
    };
    state
        .store
        .save_sentence_vectors(bot, model.name(), &keyed)
        .await?;
    Ok(Some(keyed.len() as u64))
}

/// Runs the `phases` (see [`Phase::ALL`]) for the bot: every chunk that has no vector yet, then
/// the sentences of every chunk that has. Returns how many chunks were embedded; 0 when the
/// model is not available or another run is embedding this bot.
pub async fn embed_bot(state: &AppState, bot: &Bot, phases: &[Phase]) -> ApiResult<u64> {
    let Some(claim) = claim(state, bot) else {
        return Ok(0);
    };
    run(state, bot, phases, claim).await
}

/// Like [`embed_bot`], for a caller that promises the bot's passages are embedded when it
/// returns (a small source added through the API): when another run holds the bot (the
/// background sweep may have picked up the new passages first), it waits for that run to end
/// and then embeds what is left, instead of returning at once.
pub async fn embed_bot_now(state: &AppState, bot: &Bot, phases: &[Phase]) -> ApiResult<u64> {
    const WAIT: std::time::Duration = std::time::Duration::from_millis(20);
    const PATIENCE: std::time::Duration = std::time::Duration::from_secs(120);
    let started = std::time::Instant::now();
    loop {
        if let Some(claim) = claim(state, bot) {
            return run(state, bot, phases, claim).await;
        }
        if !state.models.available(model_of(bot)) || started.elapsed() > PATIENCE {
            return Ok(0);
        }
        tokio::time::sleep(WAIT).await;
    }
}

async fn run(state: &AppState, bot: &Bot, phases: &[Phase], _claim: Running) -> ApiResult<u64> {
    let (mut chunks, mut sentences) = (0, 0);
    for &phase in phases {
        while let Some(embedded) = embed_batch(state, bot, phase).await? {
            match phase {
                Phase::Chunks => chunks += embedded,
                Phase::Sentences => sentences += embedded,
            }
        }
    }
    if chunks + sentences > 0 {
        tracing::info!(bot = %bot.id, model = %model_of(bot), chunks, chunks_with_sentences = sentences, "embedded");
    }
    if chunks > 0 {
        finish_model_change(state, bot).await?;
    }
    Ok(chunks)
}

/// After a run of the bot's model: once its vectors cover every passage, another model's
/// vectors (from before a change of model) are deleted, and the vectors in memory, if they are
/// the other model's, are dropped so that the next question loads the new ones.
pub async fn finish_model_change(state: &AppState, bot: &Bot) -> ApiResult<()> {
    let model = model_of(bot);
    let (embedded, passages) = state.store.vector_progress(&bot.id, model.name()).await?;
    if embedded < passages {
        return Ok(());
    }
    let deleted = state
        .store
        .delete_vectors_of_other_models(&bot.id, model.name())
        .await?;
    let (index, id, language) = (state.index.clone(), bot.id.clone(), bot.language.clone());
    let name = model.name();
    blocking(move || {
        let (_, loaded) = index.vectors(&id, &language)?;
        if loaded.is_some_and(|set| set.model() != name) {
            index.forget_vectors(&id, &language)?;
        }
        Ok(())
    })
    .await?;
    if deleted > 0 {
        tracing::info!(bot = %bot.id, %model, deleted, "the bot answers with its new embedding model; the old vectors are deleted");
    }
    Ok(())
}

/// Embeds a bot's new chunks (or all of them, for a new model) in the background.
pub fn spawn_embed_bot(state: &AppState, bot: &Bot) {
    if !state.models.available(model_of(bot)) {
        return;
    }
    let (state, bot) = (state.clone(), bot.clone());
    tokio::spawn(async move {
        if let Err(e) = embed_bot(&state, &bot, &Phase::ALL).await {
            tracing::warn!(bot = %bot.id, error = %e, "background embedding stopped; the next sweep resumes it");
        }
    });
}

/// Starts background embedding for every bot with chunks left to embed with its model.
pub async fn sweep(state: &AppState) -> ApiResult<usize> {
    let mut started = 0;
    for model in EmbeddingModel::ALL {
        if !state.models.available(model) {
            continue;
        }
        for bot in state.store.bots_to_embed(model.name()).await? {
            if model_of(&bot) == model {
                spawn_embed_bot(state, &bot);
                started += 1;
            }
        }
    }
    Ok(started)
}

/// The model a bot's questions are answered with: its own, unless another available model's
/// vectors cover more of its passages (it changed model and is being embedded again). `None`
/// when no model can run for it.
async fn answering_model(state: &AppState, bot: &Bot) -> ApiResult<Option<EmbeddingModel>> {
    let own = model_of(bot);
    let mut best: Option<(EmbeddingModel, u64)> = None;
    for model in std::iter::once(own).chain(EmbeddingModel::ALL.into_iter().filter(|&m| m != own)) {
        if !state.models.available(model) {
            continue;
        }
        let (embedded, _) = state.store.vector_progress(&bot.id, model.name()).await?;
        if best.is_none_or(|(_, most)| embedded > most) {
            best = Some((model, embedded));
        }
    }
    Ok(best.map(|(model, _)| model))
}

/// The bot's vectors for a question: loaded from the database into the index's memory on first
/// use (and after its passages or its model change). `None` when no model is available or the
/// bot has no vectors yet.
pub async fn vectors(state: &AppState, bot: &Bot) -> ApiResult<Option<Arc<VectorSet>>> {
    if !state.models.any_available() {
        return Ok(None);
    }
    let (index, id, lang) = (state.index.clone(), bot.id.clone(), bot.language.clone());
    let (generation, loaded) = blocking(move || Ok(index.vectors(&id, &lang)?)).await?;
    let set = match loaded {
        Some(set) => set,
        None => {
            let Some(model) = answering_model(state, bot).await? else {
                return Ok(None);
            };
            let rows = state.store.bot_vectors(&bot.id, model.name()).await?;
            let mut set =
                VectorSet::new(sitechat_embed::DIMENSIONS).of_model(model.name(), scale_of(model));
            set.extend_quantised(rows);
            let (index, id, lang) = (state.index.clone(), bot.id.clone(), bot.language.clone());
            blocking(move || Ok(index.set_vectors(&id, &lang, generation, set)?)).await?
        }
    };
    Ok((!set.is_empty()).then_some(set))
}

/// What semantic retrieval needs for one bot's questions: its vectors (when it has any and their
/// model is there), the model to embed the question with, and its sentence vectors.
pub struct Semantics {
    vectors: Option<Arc<VectorSet>>,
    /// Also holds the models the question is embedded with.
    sentences: SentenceVectors,
}

impl Semantics {
    /// The bot's vectors, loaded if needed.
    pub async fn of(state: &AppState, bot: &Bot) -> ApiResult<Self> {
        let vectors = vectors(state, bot).await?;
        let model = vectors
            .as_ref()
            .and_then(|v| EmbeddingModel::from_name(v.model()))
            .unwrap_or_else(|| model_of(bot));
        Ok(Self {
            vectors,
            sentences: SentenceVectors {
                model,
                models: state.models.clone(),
                store: state.store.clone(),
                bot: bot.id.clone(),
                metrics: state.metrics.clone(),
                runtime: tokio::runtime::Handle::current(),
            },
        })
    }
}

impl sitechat_answer::Semantic for Semantics {
    /// Runs `f` with the question's embedding, the bot's vectors and a sentence embedder, or
    /// with `None` (BM25 alone) when either is missing. Blocks (the question is embedded,
    /// cached): call from a blocking thread.
    fn with<T>(&self, question: &str, f: impl FnOnce(Dense<'_>) -> T) -> T {
        let embedded = self.vectors.as_ref().and_then(|_| {
            self.sentences
                .models
                .embed_query(self.sentences.model, question)
        });
        f(embedded
            .as_deref()
            .zip(self.vectors.as_deref())
            .map(|(q, v)| Meaning {
                question: q.as_slice(),
                vectors: v,
                sentences: Some(&self.sentences),
            }))
    }
}

/// The vectors of the sentences of one bot's passages, for its questions: from the cache, else
/// as stored at ingest, else embedded now (a passage whose sentences are not embedded yet).
struct SentenceVectors {
    /// The model of the bot's vectors in memory.
    model: EmbeddingModel,
    models: Arc<Models>,
    store: Store,
    bot: BotId,
    metrics: Arc<Metrics>,
    /// Reads the stored vectors from the blocking thread that answers.
    runtime: tokio::runtime::Handle,
}

impl SentenceVectors {
    /// The stored vectors of the passages of `sentences` where `out` has none, filled in; how
    /// many were found.
    fn fill_stored(
        &self,
        sentences: &[SentenceRef<'_>],
        out: &mut [Option<Arc<Quantised>>],
    ) -> usize {
        let mut chunks: Vec<ChunkId> = Vec::new();
        for (i, (chunk, _)) in sentences.iter().enumerate() {
            if out[i].is_none() && !chunks.contains(chunk) {
                chunks.push((*chunk).clone());
            }
        }
        if chunks.is_empty() {
            return 0;
        }
        let read = self
            .store
            .sentence_vectors(&self.bot, self.model.name(), &chunks);
        let stored: HashMap<u64, Arc<Quantised>> = match self.runtime.block_on(read) {
            Ok(rows) => rows
                .into_iter()
                .filter(|(_, v)| v.len() == sitechat_embed::DIMENSIONS)
                .map(|(key, v)| (key, Arc::new(v)))
                .collect(),
            Err(e) => {
                tracing::warn!(error = %e, "could not read stored sentence vectors: embedding them");
                return 0;
            }
        };
        let mut found = Vec::new();
        for (i, (_, text)) in sentences.iter().enumerate() {
            if out[i].is_some() {
                continue;
            }
            if let Some(vector) = stored.get(&sentence_key(text)) {
                out[i] = Some(vector.clone());
                found.push((*text, vector.clone()));
            }
        }
        let count = found.len();
        self.models.cache_sentences(self.model, found);
        count
    }
}

impl SentenceEmbedder for SentenceVectors {
    fn embed(&self, sentences: &[SentenceRef<'_>]) -> Option<Vec<Arc<Quantised>>> {
        let texts: Vec<&str> = sentences.iter().map(|(_, text)| *text).collect();
        let mut out = self.models.cached_sentences(self.model, &texts);
        let cached = out.iter().flatten().count();
        let stored = self.fill_stored(sentences, &mut out);
        let missing: Vec<usize> = (0..out.len()).filter(|&i| out[i].is_none()).collect();
        if !missing.is_empty() {
            let texts: Vec<&str> = missing.iter().map(|&i| texts[i]).collect();
            let vectors = self.models.embed_sentences(self.model, &texts)?;
            for (&i, vector) in missing.iter().zip(vectors) {
                out[i] = Some(vector);
            }
        }
        self.metrics
            .sentence_vectors(SentenceVectorsFrom::Cache, cached);
        self.metrics
            .sentence_vectors(SentenceVectorsFrom::Stored, stored);
        self.metrics
            .sentence_vectors(SentenceVectorsFrom::Model, missing.len());
        out.into_iter().collect()
    }
}
