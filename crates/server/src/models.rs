//! The models sitechat runs locally: found in the models directory, loaded lazily on first use
//! (on a blocking thread), shared by every server in the process.
//!
//! Without the embedding model, sitechat answers on BM25 alone and says so in `/health`.

use std::{
    collections::HashMap,
    num::NonZeroUsize,
    path::PathBuf,
    sync::{Arc, Mutex, OnceLock},
};

use sitechat_embed::Embedder;

/// The embedding model's name as stored with each vector.
pub const EMBEDDING_MODEL: &str = "all-MiniLM-L6-v2";

/// Loaded embedders by weights file: one per process, however many servers (tests start many).
fn loaded() -> &'static Mutex<HashMap<PathBuf, Arc<Embedder>>> {
    static LOADED: OnceLock<Mutex<HashMap<PathBuf, Arc<Embedder>>>> = OnceLock::new();
    LOADED.get_or_init(Default::default)
}

/// Where the embedding model stands.
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

pub struct Models {
    files: Result<sitechat_embed::ModelFiles, String>,
    enabled: bool,
    embedder: OnceLock<Result<Arc<Embedder>, String>>,
    /// Embeddings of recent questions.
    queries: Mutex<lru::LruCache<String, Arc<Vec<f32>>>>,
}

impl Models {
    pub fn new(dir: Option<PathBuf>, enabled: bool) -> Self {
        let dir = dir.unwrap_or_else(sitechat_embed::default_models_dir);
        let files = sitechat_embed::locate(&dir).map_err(|e| e.to_string());
        match (&files, enabled) {
            (_, false) => tracing::info!("semantic retrieval is off: answers use BM25 alone"),
            (Err(e), true) => {
                tracing::warn!(error = %e, "no embedding model: answers use BM25 alone")
            }
            (Ok(f), true) => {
                tracing::info!(model = %f.weights.display(), "embedding model found")
            }
        }
        Self {
            files,
            enabled,
            embedder: OnceLock::new(),
            queries: Mutex::new(lru::LruCache::new(
                NonZeroUsize::new(4096).unwrap_or(NonZeroUsize::MIN),
            )),
        }
    }

    pub fn state(&self) -> ModelState {
        if !self.enabled {
            return ModelState::Disabled;
        }
        match (&self.files, self.embedder.get()) {
            (Err(e), _) => ModelState::Missing(e.clone()),
            (Ok(_), None) => ModelState::NotLoaded,
            (Ok(_), Some(Ok(_))) => ModelState::Loaded,
            (Ok(_), Some(Err(e))) => ModelState::Failed(e.clone()),
        }
    }

    /// Whether semantic retrieval can run (the model is enabled, found, and not broken).
    pub fn available(&self) -> bool {
        self.enabled && self.files.is_ok() && !matches!(self.embedder.get(), Some(Err(_)))
    }

    /// The embedder, loading it the first time. Blocks: call from a blocking thread.
    pub fn embedder(&self) -> Option<Arc<Embedder>> {
        if !self.enabled {
            return None;
        }
        let files = self.files.as_ref().ok()?;
        let result = self.embedder.get_or_init(|| {
            let mut cache = loaded().lock().unwrap_or_else(|p| p.into_inner());
            if let Some(e) = cache.get(&files.weights) {
                return Ok(e.clone());
            }
            let started = std::time::Instant::now();
            match Embedder::load(files) {
                Ok(e) => {
                    tracing::info!(ms = started.elapsed().as_millis() as u64, "embedding model loaded");
                    let e = Arc::new(e);
                    cache.insert(files.weights.clone(), e.clone());
                    Ok(e)
                }
                Err(e) => {
                    tracing::error!(error = %e, "the embedding model does not load: answers use BM25 alone");
                    Err(e.to_string())
                }
            }
        });
        result.as_ref().ok().cloned()
    }

    /// A question's embedding, from the cache or computed. Blocks.
    pub fn embed_query(&self, text: &str) -> Option<Arc<Vec<f32>>> {
        let key = text.trim().to_lowercase();
        if let Some(v) = self
            .queries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            return Some(v.clone());
        }
        let vector = match self.embedder()?.embed_one(&key) {
            Ok(v) => Arc::new(v),
            Err(e) => {
                tracing::warn!(error = %e, "could not embed a question: BM25 alone for it");
                return None;
            }
        };
        self.queries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .put(key, vector.clone());
        Some(vector)
    }
}
