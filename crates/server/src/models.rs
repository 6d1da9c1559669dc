//! The models sitechat runs locally: found in the models directory, loaded lazily on first use
//! (on a blocking thread), shared by every server in the process.
//!
//! Without the embedding model, sitechat answers on BM25 alone and says so in `/health`. Without
//! the generation model (the `local` engine's), bots with that engine send the extractive
//! answer.

use std::{
    collections::HashMap,
    num::NonZeroUsize,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, OnceLock},
};

use sitechat_core::vector::Quantised;
use sitechat_embed::{AnyEmbedder, Role};
use sitechat_local::LocalModel;

use crate::batch::Batcher;

pub use sitechat_embed::Model as EmbeddingModel;

/// The embedding model a bot's knowledge is embedded with (see
/// [`sitechat_core::model::BotSettings::embedding_model_for`]).
pub fn model_of(bot: &sitechat_core::model::Bot) -> EmbeddingModel {
    EmbeddingModel::from_name(&bot.embedding_model).unwrap_or(EmbeddingModel::MiniLm)
}

/// How a model's cosine similarities read on the scale the answer engine was tuned on
/// (all-MiniLM-L6-v2's): multilingual-e5-small's sit in a narrow band near 0.8, so they are
/// mapped linearly onto MiniLM's (see `eval/README.md`, "Other languages").
pub fn scale_of(model: EmbeddingModel) -> sitechat_search::Scale {
    match model {
        EmbeddingModel::MiniLm => sitechat_search::Scale::IDENTITY,
        EmbeddingModel::MultilingualE5Small => sitechat_search::Scale::E5_SMALL,
    }
}

/// Loaded embedders by weights file: one per process, however many servers (tests start many).
fn loaded() -> &'static Mutex<HashMap<PathBuf, Arc<AnyEmbedder>>> {
    static LOADED: OnceLock<Mutex<HashMap<PathBuf, Arc<AnyEmbedder>>>> = OnceLock::new();
    LOADED.get_or_init(Default::default)
}

/// Loaded generation models by GGUF file, one per process like the embedders.
fn loaded_generators() -> &'static Mutex<HashMap<PathBuf, Arc<LocalModel>>> {
    static LOADED: OnceLock<Mutex<HashMap<PathBuf, Arc<LocalModel>>>> = OnceLock::new();
    LOADED.get_or_init(Default::default)
}

/// The model loaded from `path` in this process, or loads it (logged with how long it took, or
/// why it failed and `without` what the server goes on).
fn load_shared<T>(
    loaded: &Mutex<HashMap<PathBuf, Arc<T>>>,
    path: &Path,
    what: &str,
    without: &str,
    load: impl FnOnce() -> Result<T, String>,
) -> Result<Arc<T>, String> {
    let mut cache = loaded.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(m) = cache.get(path) {
        return Ok(m.clone());
    }
    let started = std::time::Instant::now();
    match load() {
        Ok(m) => {
            tracing::info!(
                ms = started.elapsed().as_millis() as u64,
                model = %path.display(),
                "{what} loaded"
            );
            let m = Arc::new(m);
            cache.insert(path.to_owned(), m.clone());
            Ok(m)
        }
        Err(e) => {
            tracing::error!(error = %e, "the {what} does not load: {without}");
            Err(e)
        }
    }
}

/// Where a model stands, from its file (found or why not) and its loading (not yet, done or
/// failed).
fn state_of<F, T>(file: &Result<F, String>, loading: &OnceLock<Result<T, String>>) -> ModelState {
    match (file, loading.get()) {
        (Err(e), _) => ModelState::Missing(e.clone()),
        (Ok(_), None) => ModelState::NotLoaded,
        (Ok(_), Some(Ok(_))) => ModelState::Loaded,
        (Ok(_), Some(Err(e))) => ModelState::Failed(e.clone()),
    }
}

/// The model lane: one generation at a time in the process. candle's thread pool serialises
/// concurrent callers anyway; queueing here keeps the blocking threads free for other work.
pub fn generation_lane() -> &'static tokio::sync::Semaphore {
    static LANE: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);
    &LANE
}

/// Where a model stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelState {
    /// Turned off in the configuration.
    Disabled,
    /// Its files are not in the models directory (`make models` fetches them).
    Missing(String),
    /// Found, loaded at first use.
    NotLoaded,
    Loaded,
    /// Its files are there but do not load.
    Failed(String),
}

impl ModelState {
    pub fn as_str(&self) -> &'static str {
        match self {
            ModelState::Disabled => "disabled",
            ModelState::Missing(_) => "missing",
            ModelState::NotLoaded => "not_loaded",
            ModelState::Loaded => "loaded",
            ModelState::Failed(_) => "failed",
        }
    }
}

/// One embedding model: where its weights are (or why they are not found), and the model once
/// loaded.
struct Embedding {
    model: EmbeddingModel,
    weights: Result<PathBuf, String>,
    loading: OnceLock<Result<Arc<AnyEmbedder>, String>>,
}

pub struct Models {
    dir: PathBuf,
    enabled: bool,
    /// Each of [`EmbeddingModel::ALL`], in that order.
    embedders: Vec<Embedding>,
    /// The `local` engine's GGUF file.
    generator_file: Result<PathBuf, String>,
    generator: OnceLock<Result<Arc<LocalModel>, String>>,
    /// Embeddings of recent questions, by model.
    queries: Mutex<lru::LruCache<ByModel, Arc<Vec<f32>>>>,
    /// Questions asked at the same moment, embedded together.
    query_batch: Batcher<EmbeddingModel>,
    /// Embeddings of sentences of passages, by model and text: the same passages answer many
    /// questions.
    sentences: Mutex<lru::LruCache<ByModel, Arc<Quantised>>>,
}

/// A text as one model embeds it: the key of the caches of vectors.
type ByModel = (EmbeddingModel, String);

/// Question vectors cached (about 19 MB): the analytics' grouping reads up to 5,000 distinct
/// wordings with each model.
const QUERY_CACHE: usize = 12_000;

/// Sentence vectors cached (quantised as stored: about 10 MB with their texts).
const SENTENCE_CACHE: usize = 20_000;

impl Models {
    /// The models under `dir` (default: [`sitechat_embed::default_models_dir`]); the `local`
    /// engine runs `local_model`, or the GGUF file `make models` put under `dir`.
    pub fn new(dir: Option<PathBuf>, enabled: bool, local_model: Option<PathBuf>) -> Self {
        let dir = dir.unwrap_or_else(sitechat_embed::default_models_dir);
        let generator_file = match local_model {
            Some(path) if path.is_file() => Ok(path),
            Some(path) => Err(format!("local_model {} is not a file", path.display())),
            None => sitechat_local::locate(&dir)
                .map(|f| f.gguf)
                .map_err(|e| e.to_string()),
        };
        match &generator_file {
            Ok(path) => {
                tracing::info!(model = %path.display(), "local language model found")
            }
            // Only bots with the `local` engine need it: not a warning.
            Err(e) => {
                tracing::info!(error = %e, "no local language model: the local engine sends extractive answers")
            }
        }
        let embedders: Vec<Embedding> = EmbeddingModel::ALL
            .into_iter()
            .map(|model| {
                let weights = match model {
                    EmbeddingModel::MiniLm => sitechat_embed::locate(&dir).map(|f| f.weights),
                    EmbeddingModel::MultilingualE5Small => {
                        sitechat_embed::locate_e5(&dir).map(|f| f.weights)
                    }
                }
                .map_err(|e| e.to_string());
                match (&weights, enabled) {
                    (_, false) => {}
                    (Err(e), true) => {
                        tracing::warn!(%model, error = %e, "embedding model missing: its bots answer on BM25 alone")
                    }
                    (Ok(w), true) => {
                        tracing::info!(%model, weights = %w.display(), "embedding model found")
                    }
                }
                Embedding {
                    model,
                    weights,
                    loading: OnceLock::new(),
                }
            })
            .collect();
        if !enabled {
            tracing::info!("semantic retrieval is off: answers use BM25 alone");
        }
        Self {
            dir,
            enabled,
            embedders,
            generator_file,
            generator: OnceLock::new(),
            queries: Mutex::new(lru::LruCache::new(
                NonZeroUsize::new(QUERY_CACHE).unwrap_or(NonZeroUsize::MIN),
            )),
            query_batch: Batcher::default(),
            sentences: Mutex::new(lru::LruCache::new(
                NonZeroUsize::new(SENTENCE_CACHE).unwrap_or(NonZeroUsize::MIN),
            )),
        }
    }

    fn slot(&self, model: EmbeddingModel) -> &Embedding {
        self.embedders
            .iter()
            .find(|e| e.model == model)
            .unwrap_or(&self.embedders[0])
    }

    /// Where an embedding model stands.
    pub fn state(&self, model: EmbeddingModel) -> ModelState {
        if !self.enabled {
            return ModelState::Disabled;
        }
        let slot = self.slot(model);
        state_of(&slot.weights, &slot.loading)
    }

    /// Where the `local` engine's model stands (never `disabled`).
    pub fn generation_state(&self) -> ModelState {
        state_of(&self.generator_file, &self.generator)
    }

    /// The `local` engine's model, loading it the first time (about a second). Blocks: call
    /// from a blocking thread. An error says why there is none.
    pub fn generator(&self) -> Result<Arc<LocalModel>, String> {
        let path = self.generator_file.as_ref()?;
        let result = self.generator.get_or_init(|| {
            load_shared(
                loaded_generators(),
                path,
                "local language model",
                "the local engine sends extractive answers",
                || LocalModel::load(path).map_err(|e| e.to_string()),
            )
        });
        result.clone()
    }

    /// Whether semantic retrieval can run with `model` (enabled, found, and not broken).
    pub fn available(&self, model: EmbeddingModel) -> bool {
        let slot = self.slot(model);
        self.enabled && slot.weights.is_ok() && !matches!(slot.loading.get(), Some(Err(_)))
    }

    /// Whether semantic retrieval can run with any model.
    pub fn any_available(&self) -> bool {
        EmbeddingModel::ALL.into_iter().any(|m| self.available(m))
    }

    /// The embedder of `model`, loading it the first time. Blocks: call from a blocking thread.
    pub fn embedder(&self, model: EmbeddingModel) -> Option<Arc<AnyEmbedder>> {
        if !self.enabled {
            return None;
        }
        let slot = self.slot(model);
        let weights = slot.weights.as_ref().ok()?;
        let result = slot.loading.get_or_init(|| {
            load_shared(
                loaded(),
                weights,
                &format!("embedding model {model}"),
                "its bots answer on BM25 alone",
                || AnyEmbedder::load(model, &self.dir).map_err(|e| e.to_string()),
            )
        });
        result.as_ref().ok().cloned()
    }

    /// Embeds passages (or their sentences) with `model`. Blocks.
    pub fn embed_passages(
        &self,
        model: EmbeddingModel,
        texts: &[&str],
    ) -> Option<Result<Vec<Vec<f32>>, sitechat_embed::EmbedError>> {
        Some(self.embedder(model)?.embed(texts, Role::Passage))
    }

    /// A question's embedding by `model`, from the cache or computed. Blocks.
    pub fn embed_query(&self, model: EmbeddingModel, text: &str) -> Option<Arc<Vec<f32>>> {
        self.embed_queries(model, &[text])?.pop()
    }

    /// Each question's embedding by `model` (as [`Models::embed_query`]: trimmed, lower-cased,
    /// the query role), from the cache when it is there; the others are embedded in one batch
    /// and cached. `None` when the model cannot embed now. Blocks.
    pub fn embed_queries(
        &self,
        model: EmbeddingModel,
        texts: &[&str],
    ) -> Option<Vec<Arc<Vec<f32>>>> {
        let keys: Vec<ByModel> = texts
            .iter()
            .map(|t| (model, t.trim().to_lowercase()))
            .collect();
        let mut found: Vec<Option<Arc<Vec<f32>>>> = {
            let mut cache = self.queries.lock().unwrap_or_else(|p| p.into_inner());
            keys.iter().map(|k| cache.get(k).cloned()).collect()
        };
        let missing: Vec<&str> = keys
            .iter()
            .zip(&found)
            .filter(|(_, v)| v.is_none())
            .map(|(k, _)| k.1.as_str())
            .collect();
        if !missing.is_empty() {
            let embedder = self.embedder(model)?;
            let pass = |model: EmbeddingModel, texts: &[&str]| {
                let embedder = if model == embedder.model() {
                    embedder.clone()
                } else {
                    self.embedder(model)
                        .ok_or_else(|| format!("{model} cannot embed now"))?
                };
                embedder
                    .embed(texts, Role::Query)
                    .map_err(|e| e.to_string())
            };
            let fresh = match self.query_batch.embed(model, &missing, pass) {
                Ok(v) => v,
                Err(e) => {
                    tracing::warn!(error = %e, "could not embed questions");
                    return None;
                }
            };
            let mut fresh = fresh.into_iter().map(Arc::new);
            let mut cache = self.queries.lock().unwrap_or_else(|p| p.into_inner());
            for (key, slot) in keys.iter().zip(found.iter_mut()) {
                if slot.is_none() {
                    *slot = fresh.next();
                    if let Some(v) = slot {
                        cache.put(key.clone(), v.clone());
                    }
                }
            }
        }
        found.into_iter().collect()
    }

    /// The cached vector of each sentence of passages, in order.
    pub fn cached_sentences(
        &self,
        model: EmbeddingModel,
        sentences: &[&str],
    ) -> Vec<Option<Arc<Quantised>>> {
        let mut cache = self.sentences.lock().unwrap_or_else(|p| p.into_inner());
        sentences
            .iter()
            .map(|s| cache.get(&(model, (*s).to_owned())).cloned())
            .collect()
    }

    /// Caches vectors of sentences of passages.
    pub fn cache_sentences<'a>(
        &self,
        model: EmbeddingModel,
        vectors: impl IntoIterator<Item = (&'a str, Arc<Quantised>)>,
    ) {
        let mut cache = self.sentences.lock().unwrap_or_else(|p| p.into_inner());
        for (text, vector) in vectors {
            cache.put((model, text.to_owned()), vector);
        }
    }

    /// Embeds sentences of passages in one batch, each distinct text once, and caches them;
    /// `None` when the model cannot embed now. Blocks.
    pub fn embed_sentences(
        &self,
        model: EmbeddingModel,
        sentences: &[&str],
    ) -> Option<Vec<Arc<Quantised>>> {
        self.embed_distinct(model, sentences)
            .map(|(vectors, _)| vectors)
    }

    /// [`Models::embed_sentences`], and how many distinct texts the model embedded.
    fn embed_distinct(
        &self,
        model: EmbeddingModel,
        sentences: &[&str],
    ) -> Option<(Vec<Arc<Quantised>>, usize)> {
        let mut distinct: Vec<&str> = Vec::new();
        let mut first: HashMap<&str, usize> = HashMap::new();
        let slots: Vec<usize> = sentences
            .iter()
            .map(|&text| {
                *first.entry(text).or_insert_with(|| {
                    distinct.push(text);
                    distinct.len() - 1
                })
            })
            .collect();
        let vectors: Vec<Arc<Quantised>> = match self.embed_passages(model, &distinct)? {
            Ok(v) => v.iter().map(|v| Arc::new(Quantised::new(v))).collect(),
            Err(e) => {
                tracing::warn!(error = %e, "could not embed sentences: words alone choose them");
                return None;
            }
        };
        self.cache_sentences(model, distinct.iter().copied().zip(vectors.iter().cloned()));
        let out = slots.into_iter().map(|i| vectors[i].clone()).collect();
        Some((out, distinct.len()))
    }

    /// The vectors of sentences of passages, for storing them at ingest: those in the cache
    /// from it, the others embedded, each distinct text once (a site repeats its notes and
    /// boilerplate: 15 % of the PostgreSQL manual's sentences are repeats). Returns them and
    /// how many the model embedded; `None` when some are not cached and the model cannot
    /// embed now. Blocks.
    pub fn sentence_vectors(
        &self,
        model: EmbeddingModel,
        sentences: &[&str],
    ) -> Option<(Vec<Arc<Quantised>>, usize)> {
        let mut out = self.cached_sentences(model, sentences);
        let missing: Vec<usize> = (0..out.len()).filter(|&i| out[i].is_none()).collect();
        let mut embedded = 0;
        if !missing.is_empty() {
            let texts: Vec<&str> = missing.iter().map(|&i| sentences[i]).collect();
            let vectors;
            (vectors, embedded) = self.embed_distinct(model, &texts)?;
            for (i, vector) in missing.into_iter().zip(vectors) {
                out[i] = Some(vector);
            }
        }
        Some((out.into_iter().collect::<Option<_>>()?, embedded))
    }
}
