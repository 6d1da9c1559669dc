//! A BERT encoder for batches of texts on plain vectors, without padding (issue 21: passages
//! embedded at PyTorch's speed).
//!
//! Both models are BERT encoders of the same width (384, 12 heads of 32, a 1,536 feed-forward
//! layer); all-MiniLM-L6-v2 has 6 layers, multilingual-e5-small 12. candle's general tensor
//! path pads every text of a batch to the longest, masks the padding in every attention score,
//! and runs some two hundred tensor operations a pass, each allocating its output; its GELU
//! calls a scalar `erf` per value and its softmax a scalar `exp`. Here:
//! - the tokens of every text of a batch are the rows of one matrix (ragged: no padding, no
//!   mask), so each linear layer is one matrix product over all of them: in 16-bit integers
//!   where the CPU has AVX2 and the matrix more than [`TRANSPOSED_ROWS`] rows ([`crate::wide`]:
//!   1.35× f32's speed for the whole pass, cosine 0.9999 to its vectors), else candle's
//!   (`gemm`);
//! - attention runs per text and head on its own tokens, the texts split over rayon's threads:
//!   queries' scores, their softmax and the values they weigh, written straight into the
//!   text's rows of the result; where the CPU has AVX2, four queries at a time in registers
//!   ([`crate::heads`]: 1.10× the whole pass), elsewhere one at a time in plain arithmetic that
//!   the compiler vectorises ([`TextAttention`]); a matrix product per text and head wrote and
//!   copied the scores of every query, and its outputs were copied three times more;
//! - each layer's products go into the buffers of the layer before, which have the right
//!   length already (zeroing fresh ones took 4 % of a pass);
//! - GELU is bias, `erf` and product in one pass, with a rational `erf` that the compiler
//!   vectorises ([`erf`]), and layer norm, residuals and pooling are loops over rows.
//!
//! Hand-written because it is the cost of training a bot, which sitechat promises in minutes.

use candle_core::{Device, Tensor};
use rayon::prelude::*;

/// Width of both models' hidden states.
pub(crate) const HIDDEN: usize = 384;
/// Attention heads.
pub(crate) const HEADS: usize = 12;
/// Width of one head.
pub(crate) const HEAD: usize = HIDDEN / HEADS;

/// Values in a GGML Q4_0 block, and its bytes: an f16 scale and 16 bytes of 4-bit values.
pub(crate) const BLOCK: usize = 32;
pub(crate) const Q4_0_BLOCK_BYTES: usize = 18;

/// Most rows of `x` (tokens of all the texts of a batch) that [`few_rows`] multiplies; more go
/// through candle's matrix product, which is faster from about 20 rows. Measured on a 384 →
/// 1,536 layer with its weights in the cache, `few_rows` against candle: 10 rows 0.20 against
/// 0.32 ms, 16 rows 0.35 against 0.46, 24 rows 0.71 against 0.60, 64 rows 1.6 against 0.96.
const FEW_ROWS: usize = 24;

/// Most rows of `x` for which a linear layer computes `(W xᵀ)ᵀ` rather than `x Wᵀ`: the same
/// numbers, but gemm then packs the few rows of `x` instead of all of `W` on every call.
/// `query_time`, all-MiniLM-L6-v2, one question (about 10 tokens), medians of 100 in four runs
/// each, in turn: 9.9–12.0 ms before, 8.1–9.8 ms after; `chunk_time` on 8 questions at once
/// (about 80 rows) was no faster, so it is used only below that.
const TRANSPOSED_ROWS: usize = 32;

/// `y = x Wᵀ + b` with `W` as the checkpoint stores it (`out × in`, f32).
pub(crate) struct Dense {
    weight: Tensor,
    bias: Vec<f32>,
    /// The same weights as bytes, if they came from Q4_0, for [`few_rows`].
    rows: Option<Int8Rows>,
    /// The same weights as 16-bit integers for more than [`TRANSPOSED_ROWS`] rows, where the
    /// CPU has AVX2 ([`crate::wide`]).
    #[cfg(target_arch = "x86_64")]
    wide: Option<crate::wide::Packed>,
}

impl Dense {
    pub(crate) fn new(weight: Tensor, bias: Vec<f32>) -> candle_core::Result<Dense> {
        let (out, _) = weight.dims2()?;
        if bias.len() != out {
            candle_core::bail!("bias of {} for {out} outputs", bias.len());
        }
        #[cfg(target_arch = "x86_64")]
        let wide = crate::wide::Packed::new(&weight.flatten_all()?.to_vec1::<f32>()?, out, &bias);
        Ok(Dense {
            weight,
            bias,
            rows: None,
            #[cfg(target_arch = "x86_64")]
            wide,
        })
    }

    /// Runs a few rows (a question) through `rows`, which must hold the same weights.
    pub(crate) fn with_rows(self, rows: Int8Rows) -> Dense {
        Dense {
            rows: Some(rows),
            ..self
        }
    }

    fn outputs(&self) -> usize {
        self.bias.len()
    }

    /// The byte rows, when `x` (the layer's input, row-major) has few enough rows for
    /// [`few_rows`]; and its number of rows and columns.
    fn shape(&self, x: &[f32]) -> candle_core::Result<(Option<&Int8Rows>, usize, usize)> {
        let (_, cols) = self.weight.dims2()?;
        let rows = x.len() / cols;
        Ok((self.rows.as_ref().filter(|_| rows <= FEW_ROWS), rows, cols))
    }

    /// `x Wᵀ + b` in 16-bit integers ([`crate::wide`]) into `y` for more than
    /// [`TRANSPOSED_ROWS`] rows, where the CPU runs it; `false` otherwise.
    fn wide(&self, x: &[f32], y: &mut Vec<f32>) -> bool {
        #[cfg(target_arch = "x86_64")]
        if let Some(wide) = self
            .wide
            .as_ref()
            .filter(|wide| x.len() / wide.inputs() > TRANSPOSED_ROWS)
        {
            wide.apply_into(x, y);
            return true;
        }
        let _ = (x, y);
        false
    }

    /// `x` holds `rows` rows of the layer's input width, row-major.
    #[cfg(test)]
    fn apply(&self, x: &[f32]) -> candle_core::Result<Vec<f32>> {
        let mut y = Vec::new();
        self.apply_into(x, &mut y)?;
        Ok(y)
    }

    /// [`Dense::apply`] into `y`: a buffer of the right length from an earlier layer is
    /// reused as it is where the products are [`crate::wide`]'s.
    fn apply_into(&self, x: &[f32], y: &mut Vec<f32>) -> candle_core::Result<()> {
        if self.wide(x, y) {
            return Ok(());
        }
        *y = match self.shape(x)? {
            (Some(int8), _, _) => few_rows(x, int8, &self.bias),
            (None, rows, cols) => {
                self.product(Tensor::from_slice(x, (rows, cols), &Device::Cpu)?)?
            }
        };
        Ok(())
    }

    /// `x Wᵀ + b` through candle's matrix product.
    fn product(&self, x: Tensor) -> candle_core::Result<Vec<f32>> {
        let (out, _) = self.weight.dims2()?;
        let rows = x.dims2()?.0;
        let y = if rows <= TRANSPOSED_ROWS {
            self.weight.matmul(&x.t()?)?.t()?.contiguous()?
        } else {
            x.matmul(&self.weight.t()?)?
        };
        let mut y = y.flatten_all()?.to_vec1::<f32>()?;
        y.par_chunks_mut(out * 64).for_each(|rows| {
            for row in rows.chunks_exact_mut(out) {
                row.iter_mut().zip(&self.bias).for_each(|(v, b)| *v += b);
            }
        });
        Ok(y)
    }
}

/// A layer norm's weights as plain vectors.
pub(crate) struct Norm {
    pub(crate) weight: Vec<f32>,
    pub(crate) bias: Vec<f32>,
    pub(crate) eps: f32,
}

impl Norm {
    /// Normalises each row of `x` in place (as candle's `LayerNorm`: the population variance).
    pub(crate) fn apply(&self, x: &mut [f32]) {
        x.par_chunks_mut(HIDDEN * 64).for_each(|rows| {
            for row in rows.chunks_exact_mut(HIDDEN) {
                let mean = row.iter().sum::<f32>() / HIDDEN as f32;
                let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / HIDDEN as f32;
                let scale = 1.0 / (var + self.eps).sqrt();
                for ((v, w), b) in row.iter_mut().zip(&self.weight).zip(&self.bias) {
                    *v = (*v - mean) * scale * w + b;
                }
            }
        });
    }
}

/// A linear layer's weights (`out × cols`, row-major) as the 4-bit values of their Q4_0
/// blocks, one signed byte each, and each block's scale: the same numbers as the f32
/// dequantised weights (`scale × value`), in a quarter of their bytes, for [`few_rows`].
///
/// One question reads every weight of the model once (85 MB in f32, which do not stay in the
/// caches from one question to the next); [`few_rows`] widens each row to f32 in the cache just
/// before its dot products. `query_time`, medians of 100 questions, three runs each in turn:
/// f32 rows 24.7–28.8 ms, these rows 22.5–24.4 ms, with the same kernel. (Unpacking the 4-bit
/// nibbles themselves did not vectorise: 41–47 ms.)
pub(crate) struct Int8Rows {
    values: Vec<i8>,
    /// One per [`BLOCK`] values of a row.
    scales: Vec<f32>,
    cols: usize,
}

impl Int8Rows {
    /// From GGML Q4_0 blocks: an f16 scale, then 16 bytes whose low nibbles are the block's first
    /// 16 values and whose high nibbles are the last 16, each stored plus 8.
    pub(crate) fn from_q4_0(bytes: &[u8], rows: usize, cols: usize) -> Int8Rows {
        debug_assert!(cols.is_multiple_of(BLOCK));
        debug_assert_eq!(bytes.len(), rows * cols / BLOCK * Q4_0_BLOCK_BYTES);
        let blocks = bytes.len() / Q4_0_BLOCK_BYTES;
        let mut values = vec![0i8; blocks * BLOCK];
        let mut scales = Vec::with_capacity(blocks);
        for (block, out) in bytes
            .chunks_exact(Q4_0_BLOCK_BYTES)
            .zip(values.chunks_exact_mut(BLOCK))
        {
            scales.push(half::f16::from_le_bytes([block[0], block[1]]).to_f32());
            let (low, high) = out.split_at_mut(BLOCK / 2);
            for ((&b, l), h) in block[2..].iter().zip(low).zip(high) {
                *l = (b & 0x0f) as i8 - 8;
                *h = (b >> 4) as i8 - 8;
            }
        }
        Int8Rows {
            values,
            scales,
            cols,
        }
    }

    fn out(&self) -> usize {
        self.values.len() / self.cols
    }
}

/// `x Wᵀ + b` for a few rows of `x` (`rows × cols`, row-major) and `W` (`out × cols`, row-major,
/// as a linear layer stores it): each weight row is read once, in memory order, and multiplied
/// with every row of `x` while it is in the cache; the outputs are split among rayon's threads.
/// A question is a handful of tokens, and a general matrix product (candle's packs `W` into
/// panels on every call) is built for many.
fn few_rows(x: &[f32], w: &Int8Rows, bias: &[f32]) -> Vec<f32> {
    use rayon::prelude::*;
    let cols = w.cols;
    let rows = x.len() / cols;
    let out = w.out();
    debug_assert_eq!(bias.len(), out);
    if rows == 0 {
        return Vec::new();
    }
    // Each thread's outputs, output-major (`out_chunk × rows`), then laid out row-major.
    const CHUNK: usize = 64;
    let parts: Vec<Vec<f32>> = (0..out.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let outputs = c * CHUNK..((c + 1) * CHUNK).min(out);
            let mut part = Vec::with_capacity(outputs.len() * rows);
            // In the CPU's vector instructions (AVX2 and FMA here), chosen at run time: the
            // build targets baseline x86-64, whose SSE2 the compiler would otherwise use.
            pulp::Arch::new().dispatch(Outputs {
                x,
                w,
                bias,
                outputs,
                part: &mut part,
            });
            part
        })
        .collect();
    let mut y = vec![0f32; rows * out];
    for (c, part) in parts.iter().enumerate() {
        for (i, values) in part.chunks_exact(rows).enumerate() {
            let o = c * CHUNK + i;
            for (r, &v) in values.iter().enumerate() {
                y[r * out + o] = v;
            }
        }
    }
    y
}

/// The outputs `outputs` of every row of `x`, output-major, appended to `part`.
struct Outputs<'a> {
    x: &'a [f32],
    w: &'a Int8Rows,
    bias: &'a [f32],
    outputs: std::ops::Range<usize>,
    part: &'a mut Vec<f32>,
}

impl pulp::WithSimd for Outputs<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, simd: S) {
        let Outputs {
            x,
            w,
            bias,
            outputs,
            part,
        } = self;
        let cols = w.cols;
        let rows = x.len() / cols;
        let row = |r: usize| S::as_simd_f32s(&x[r * cols..(r + 1) * cols]);
        let mut widened = vec![0f32; cols];
        for o in outputs {
            // The row of weights in f32, block by block (vectorised in the CPU's instructions
            // like the rest of this function).
            let values = w.values[o * cols..(o + 1) * cols].chunks_exact(BLOCK);
            let scales = &w.scales[o * cols / BLOCK..(o + 1) * cols / BLOCK];
            for ((out, block), &scale) in widened.chunks_exact_mut(BLOCK).zip(values).zip(scales) {
                // Fixed-size blocks: the compiler then widens eight values an instruction.
                let out: &mut [f32; BLOCK] = out.try_into().expect("a block");
                let block: &[i8; BLOCK] = block.try_into().expect("a block");
                for j in 0..BLOCK {
                    out[j] = f32::from(block[j]) * scale;
                }
            }
            let (weights, rest) = S::as_simd_f32s(&widened);
            // Four rows of `x` at a time against one row of weights, each weight loaded once,
            // each row's sum in two registers: eight independent chains of multiply-adds keep
            // both of the CPU's FMA units busy. The last one to three rows repeat a row rather
            // than run alone, which would wait on one chain.
            let mut r = 0;
            while r < rows {
                let take = (rows - r).min(4);
                let pick = |i: usize| row(r + i.min(take - 1));
                let ((x0, t0), (x1, t1), (x2, t2), (x3, t3)) = (pick(0), pick(1), pick(2), pick(3));
                let zero = simd.splat_f32s(0.0);
                let mut a = [zero; 8];
                let pairs = weights.chunks_exact(2);
                let odd = pairs.remainder();
                for ((((w, v0), v1), v2), v3) in pairs
                    .zip(x0.chunks_exact(2))
                    .zip(x1.chunks_exact(2))
                    .zip(x2.chunks_exact(2))
                    .zip(x3.chunks_exact(2))
                {
                    a[0] = simd.mul_add_e_f32s(w[0], v0[0], a[0]);
                    a[1] = simd.mul_add_e_f32s(w[0], v1[0], a[1]);
                    a[2] = simd.mul_add_e_f32s(w[0], v2[0], a[2]);
                    a[3] = simd.mul_add_e_f32s(w[0], v3[0], a[3]);
                    a[4] = simd.mul_add_e_f32s(w[1], v0[1], a[4]);
                    a[5] = simd.mul_add_e_f32s(w[1], v1[1], a[5]);
                    a[6] = simd.mul_add_e_f32s(w[1], v2[1], a[6]);
                    a[7] = simd.mul_add_e_f32s(w[1], v3[1], a[7]);
                }
                let last = weights.len() - odd.len();
                for (i, (head, tail)) in [(x0, t0), (x1, t1), (x2, t2), (x3, t3)]
                    .into_iter()
                    .take(take)
                    .enumerate()
                {
                    let mut sum = simd.add_f32s(a[i], a[i + 4]);
                    for (&wv, &xv) in odd.iter().zip(&head[last..]) {
                        sum = simd.mul_add_e_f32s(wv, xv, sum);
                    }
                    let rest: f32 = rest.iter().zip(tail).map(|(p, q)| p * q).sum();
                    part.push(simd.reduce_sum_f32s(sum) + rest + bias[o]);
                }
                r += take;
            }
        }
    }
}

/// One encoder layer.
pub(crate) struct Layer {
    /// Query, key and value projections side by side (`3 × 384` outputs).
    pub(crate) qkv: Dense,
    pub(crate) attention_out: Dense,
    pub(crate) attention_norm: Norm,
    pub(crate) intermediate: Dense,
    pub(crate) output: Dense,
    pub(crate) output_norm: Norm,
}

/// A whole encoder: the embeddings' positions, token type and layer norm, then the layers, then
/// mean pooling. Each model looks its tokens' word embeddings up its own way (MiniLM from an
/// f32 table, e5 from its 4-bit one) and hands them to [`Encoder::vectors`].
pub(crate) struct Encoder {
    pub(crate) layers: Vec<Layer>,
    pub(crate) embedding_norm: Norm,
    /// `positions × 384`.
    pub(crate) position: Vec<f32>,
    /// The first token type's embedding (384): every token is of type 0.
    pub(crate) token_type: Vec<f32>,
}

impl Encoder {
    /// One unit-length vector per text, the mean of its last hidden states. `words` holds each
    /// token's word embedding (`tokens × 384`, row-major), the texts one after the other;
    /// `lens` their token counts.
    pub(crate) fn vectors(
        &self,
        mut words: Vec<f32>,
        lens: &[usize],
    ) -> candle_core::Result<Vec<Vec<f32>>> {
        if lens.iter().sum::<usize>() * HIDDEN != words.len() {
            candle_core::bail!("{} values for texts of {lens:?} tokens", words.len());
        }
        let positions = self.position.len() / HIDDEN;
        if let Some(len) = lens.iter().find(|&&len| len > positions) {
            candle_core::bail!("{len} tokens, more than the model's {positions} positions");
        }
        let mut rows = words.chunks_exact_mut(HIDDEN);
        for &len in lens {
            for (row, position) in rows
                .by_ref()
                .take(len)
                .zip(self.position.chunks_exact(HIDDEN))
            {
                for ((v, p), t) in row.iter_mut().zip(position).zip(&self.token_type) {
                    *v += p + t;
                }
            }
        }
        self.embedding_norm.apply(&mut words);
        let hidden = encode(&self.layers, words, lens)?;
        Ok(mean_pool(&hidden, lens))
    }
}

/// The last hidden states of the texts whose embeddings are the rows of `x` (`tokens × 384`,
/// row-major, each text's tokens one after the other; `lens` their counts).
fn encode(layers: &[Layer], mut x: Vec<f32>, lens: &[usize]) -> candle_core::Result<Vec<f32>> {
    debug_assert_eq!(lens.iter().sum::<usize>() * HIDDEN, x.len());
    // Each layer's intermediate results, in buffers that the next layer reuses.
    let (mut qkv, mut context, mut attended) = (Vec::new(), Vec::new(), Vec::new());
    let (mut mid, mut out) = (Vec::new(), Vec::new());
    for layer in layers {
        if layer.qkv.outputs() != 3 * HIDDEN
            || layer.intermediate.outputs() != layer.output.weight.dims2()?.1
        {
            candle_core::bail!("layer shapes are not BERT's at width {HIDDEN}");
        }
        layer.qkv.apply_into(&x, &mut qkv)?;
        attention(&qkv, lens, &mut context)?;
        layer.attention_out.apply_into(&context, &mut attended)?;
        add(&mut x, &attended);
        layer.attention_norm.apply(&mut x);
        layer.intermediate.apply_into(&x, &mut mid)?;
        mid.par_chunks_mut(4096).for_each(gelu);
        layer.output.apply_into(&mid, &mut out)?;
        add(&mut x, &out);
        layer.output_norm.apply(&mut x);
    }
    Ok(x)
}

fn add(x: &mut [f32], y: &[f32]) {
    x.par_chunks_mut(4096)
        .zip(y.par_chunks(4096))
        .for_each(|(x, y)| x.iter_mut().zip(y).for_each(|(a, b)| *a += b));
}

/// Each text's mean hidden state, L2-normalised.
fn mean_pool(hidden: &[f32], lens: &[usize]) -> Vec<Vec<f32>> {
    let mut start = 0;
    lens.iter()
        .map(|&len| {
            let rows = &hidden[start * HIDDEN..(start + len) * HIDDEN];
            start += len;
            let mut mean = vec![0f32; HIDDEN];
            for row in rows.chunks_exact(HIDDEN) {
                mean.iter_mut().zip(row).for_each(|(m, v)| *m += v);
            }
            let count = len.max(1) as f32;
            mean.iter_mut().for_each(|m| *m /= count);
            let norm = mean.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
            mean.iter_mut().for_each(|v| *v /= norm);
            mean
        })
        .collect()
}

/// Self-attention of every text over its own tokens: `qkv` holds each token's query, key and
/// value side by side (`tokens × 3 × 384`); returns the heads' outputs side by side
/// (`tokens × 384`). The texts are split over rayon's threads, each written straight into its
/// rows of the result by [`crate::heads`] where the CPU has AVX2, else by [`TextAttention`].
fn attention(qkv: &[f32], lens: &[usize], out: &mut Vec<f32>) -> candle_core::Result<()> {
    let tokens: usize = lens.iter().sum();
    if qkv.len() != tokens * 3 * HIDDEN {
        candle_core::bail!(
            "{} values for the queries, keys and values of {tokens} tokens",
            qkv.len()
        );
    }
    // Every value is written below: a buffer of the right length is reused as it is.
    out.resize(tokens * HIDDEN, 0.0);
    let mut texts = Vec::with_capacity(lens.len());
    let (mut rest, mut start) = (out.as_mut_slice(), 0);
    for &len in lens {
        let (text, tail) = rest.split_at_mut(len * HIDDEN);
        texts.push((&qkv[start * 3 * HIDDEN..(start + len) * 3 * HIDDEN], text));
        rest = tail;
        start += len;
    }
    #[cfg(target_arch = "x86_64")]
    let avx2 = pulp::x86::V3::try_new();
    texts.into_par_iter().for_each(|(qkv, out)| {
        #[cfg(target_arch = "x86_64")]
        if let Some(simd) = avx2 {
            return crate::heads::attend(simd, qkv, out);
        }
        pulp::Arch::new().dispatch(TextAttention { qkv, out })
    });
    Ok(())
}

/// One text's attention (see [`attention`]), head by head and query by query, in plain
/// arithmetic that the compiler vectorises: a query's scores against every key (the head's keys
/// laid out dimension-major once, so that the scores are sums of whole rows), their softmax,
/// then the values weighed by it (the head's values gathered once too, one after the other).
/// The scores of one query are all that is held (a row of `len` values), where a matrix product
/// for all queries at once writes and reads back `heads × len × len` of them.
struct TextAttention<'a> {
    qkv: &'a [f32],
    out: &'a mut [f32],
}

impl pulp::WithSimd for TextAttention<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        /// Keys scored at once: their sums stay in registers across the head's dimensions.
        const KEYS: usize = 32;
        let TextAttention { qkv, out } = self;
        let len = out.len() / HIDDEN;
        let scale = 1.0 / (HEAD as f32).sqrt();
        let mut keys = vec![0f32; HEAD * len];
        let mut values = vec![0f32; len * HEAD];
        let mut scores = vec![0f32; len];
        for h in 0..HEADS {
            for ((j, token), value) in qkv
                .chunks_exact(3 * HIDDEN)
                .enumerate()
                .zip(values.chunks_exact_mut(HEAD))
            {
                for (d, &k) in token[HIDDEN + h * HEAD..][..HEAD].iter().enumerate() {
                    keys[d * len + j] = k;
                }
                value.copy_from_slice(&token[2 * HIDDEN + h * HEAD..][..HEAD]);
            }
            for (token, out) in qkv
                .chunks_exact(3 * HIDDEN)
                .zip(out.chunks_exact_mut(HIDDEN))
            {
                let mut query = [0f32; HEAD];
                query
                    .iter_mut()
                    .zip(&token[h * HEAD..][..HEAD])
                    .for_each(|(a, q)| *a = q * scale);
                let whole = len / KEYS * KEYS;
                for first in (0..whole).step_by(KEYS) {
                    let mut sums = [0f32; KEYS];
                    for (d, &q) in query.iter().enumerate() {
                        let row: &[f32; KEYS] =
                            keys[d * len + first..][..KEYS].try_into().expect("a block");
                        for t in 0..KEYS {
                            sums[t] = q.mul_add(row[t], sums[t]);
                        }
                    }
                    scores[first..first + KEYS].copy_from_slice(&sums);
                }
                scores[whole..].fill(0.0);
                for (d, &q) in query.iter().enumerate() {
                    for (s, &k) in scores[whole..]
                        .iter_mut()
                        .zip(&keys[d * len + whole..(d + 1) * len])
                    {
                        *s = q.mul_add(k, *s);
                    }
                }
                let inverse = softmax_unnormalised(&mut scores);
                let mut context = [0f32; HEAD];
                for (&p, value) in scores.iter().zip(values.chunks_exact(HEAD)) {
                    let value: &[f32; HEAD] = value.try_into().expect("a head");
                    for t in 0..HEAD {
                        context[t] = p.mul_add(value[t], context[t]);
                    }
                }
                out[h * HEAD..][..HEAD]
                    .iter_mut()
                    .zip(&context)
                    .for_each(|(o, c)| *o = c * inverse);
            }
        }
    }
}

/// The softmax of `scores` but for its normalisation: each becomes `e^(score − max)`, and the
/// factor that makes them sum to 1 is returned (the caller applies it to what it weighs with
/// them, once, instead of to every weight). Plain arithmetic, vectorised where it is inlined.
#[inline(always)]
pub(crate) fn softmax_unnormalised(scores: &mut [f32]) -> f32 {
    let top = scores.iter().copied().fold(f32::MIN, f32::max);
    scores.iter_mut().for_each(|v| *v = exp(*v - top));
    1.0 / lanes_sum(scores)
}

/// The sum of `x`, in eight running sums that the compiler keeps in one vector register (a
/// plain `sum()` must add the values one after the other, in order).
#[inline(always)]
fn lanes_sum(x: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let chunks = x.chunks_exact(8);
    let rest: f32 = chunks.remainder().iter().sum();
    for chunk in chunks {
        lanes.iter_mut().zip(chunk).for_each(|(l, v)| *l += v);
    }
    lanes.iter().sum::<f32>() + rest
}

/// `e^x` for `x ≤ 88`, within two units in the last place: `2^n · e^r` with `n` the nearest
/// integer to `x / ln 2` and `e^r` Cephes' polynomial on `|r| ≤ ln 2 / 2`. Plain arithmetic, so
/// a loop of it vectorises, where the C library's `expf` is a call per value (a tenth of the
/// time of a batch went to it). Below −87 it gives about 1e-38 instead of smaller numbers,
/// which a softmax cannot tell from 0.
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    // 1.5 · 2²³: adding it rounds a float below 2²² to the nearest integer (ties to even),
    // which then sits in the low bits of the sum's mantissa. This keeps the conversion to an
    // integer in vector registers, where `as i32` (which saturates) is done value by value.
    const ROUNDER: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let shifted = x * std::f32::consts::LOG2_E + ROUNDER;
    let n = shifted - ROUNDER;
    let r = x - n * 0.693_359_4 - n * -2.121_944_4e-4;
    let mut p = 1.987_569_1e-4;
    p = p * r + 1.398_2e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 0.166_666_65;
    p = p * r + 0.5;
    let e = p * r * r + r + 1.0;
    // The low bits of `shifted` hold n (from −126 to 127) plus 2²² (0x40_0000); 2ⁿ is n + 127
    // in the exponent field.
    let biased = shifted.to_bits().wrapping_sub(ROUNDER.to_bits() - 127);
    e * f32::from_bits(biased << 23)
}

/// GELU (`x Φ(x)`, with `erf`) of every value, in place.
fn gelu(x: &mut [f32]) {
    struct Gelu<'a>(&'a mut [f32]);
    impl pulp::WithSimd for Gelu<'_> {
        type Output = ();
        #[inline(always)]
        fn with_simd<S: pulp::Simd>(self, _: S) {
            // Plain arithmetic, which the compiler vectorises with the target's instructions.
            for v in self.0.iter_mut() {
                *v = 0.5 * *v * (1.0 + erf(*v * std::f32::consts::FRAC_1_SQRT_2));
            }
        }
    }
    pulp::Arch::new().dispatch(Gelu(x));
}

/// `erf(x)` as a rational function of `x` clamped to [-4, 4] (beyond, erf is ±1 in f32): the
/// approximation Eigen and XLA use for f32, within a few units in the last place. Only
/// multiplications, additions and one division, so a loop of it vectorises, where the C
/// library's `erff` is a call per value.
#[inline(always)]
pub(crate) fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = x2 * -2.726_142_3e-10 + 2.770_681_4e-8;
    p = x2 * p + -2.101_024e-6;
    p = x2 * p + -5.692_506_4e-5;
    p = x2 * p + -7.349_906_3e-4;
    p = x2 * p + -2.9546e-3;
    p = x2 * p + -1.609_603_3e-2;
    p *= x;
    let mut q = x2 * -1.456_607_2e-5 + -2.133_740_6e-4;
    q = x2 * q + -1.682_827e-3;
    q = x2 * q + -7.373_329e-3;
    q = x2 * q + -1.426_474e-2;
    p / q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn few_rows_is_the_matrix_product() {
        // Rows not a multiple of 4, outputs not a multiple of the chunk; three blocks a row.
        let (rows, cols, out) = (7, 3 * BLOCK, 131);
        let value = |i: usize| ((i * 7919) % 113) as f32 / 56.0 - 1.0;
        let x: Vec<f32> = (0..rows * cols).map(value).collect();
        let int8 = Int8Rows {
            values: (0..out * cols).map(|i| ((i * 31) % 16) as i8 - 8).collect(),
            scales: (0..out * cols / BLOCK)
                .map(|i| value(i + 3) / 8.0)
                .collect(),
            cols,
        };
        let w: Vec<f32> = (0..out * cols)
            .map(|i| f32::from(int8.values[i]) * int8.scales[i / BLOCK])
            .collect();
        let bias: Vec<f32> = (0..out).map(|i| value(i + 11)).collect();
        let y = few_rows(&x, &int8, &bias);
        for r in 0..rows {
            for o in 0..out {
                let want: f32 = (0..cols)
                    .map(|c| x[r * cols + c] * w[o * cols + c])
                    .sum::<f32>()
                    + bias[o];
                assert!((y[r * out + o] - want).abs() < 1e-4, "{r},{o}");
            }
        }
        // And through a dense layer: few rows take `few_rows`, many candle's product; without
        // the byte rows, 7 rows take candle's product transposed (`TRANSPOSED_ROWS`), 72 not.
        let weight = Tensor::from_vec(w, (out, cols), &Device::Cpu).unwrap();
        let dense = Dense::new(weight.clone(), bias.clone())
            .unwrap()
            .with_rows(int8);
        let general = Dense::new(weight, bias).unwrap();
        for n in [rows, 3 * FEW_ROWS] {
            let x: Vec<f32> = (0..n * cols).map(value).collect();
            let (a, b) = (dense.apply(&x).unwrap(), general.apply(&x).unwrap());
            assert_eq!(a.len(), n * out);
            let gap = a
                .iter()
                .zip(&b)
                .map(|(p, q)| (p - q).abs())
                .fold(0f32, f32::max);
            assert!(gap < 1e-4, "{n} rows: {gap}");
        }
    }

    #[test]
    fn int8_rows_hold_the_q4_0_values() {
        // One row of two blocks: scale 0.5 then 2.0 (f16), bytes whose nibbles count up.
        let mut bytes = Vec::new();
        for scale in [0.5f32, 2.0] {
            bytes.extend(half::f16::from_f32(scale).to_le_bytes());
            bytes.extend((0..16u8).map(|j| j | ((15 - j) << 4)));
        }
        let rows = Int8Rows::from_q4_0(&bytes, 1, 2 * BLOCK);
        assert_eq!(rows.scales, [0.5, 2.0]);
        assert_eq!(rows.out(), 1);
        let first: Vec<i8> = (0..16)
            .map(|j| j - 8)
            .chain((0..16).map(|j| 7 - j))
            .collect();
        assert_eq!(&rows.values[..BLOCK], &first[..]);
        assert_eq!(&rows.values[BLOCK..], &first[..]);
        // And the same numbers as candle's dequantisation.
        use candle_core::quantized::{ggml_file::qtensor_from_ggml, GgmlDType};
        let q =
            qtensor_from_ggml(GgmlDType::Q4_0, &bytes, vec![1, 2 * BLOCK], &Device::Cpu).unwrap();
        let f: Vec<f32> = q
            .dequantize(&Device::Cpu)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        for (i, v) in f.iter().enumerate() {
            assert_eq!(
                *v,
                f32::from(rows.values[i]) * rows.scales[i / BLOCK],
                "{i}"
            );
        }
    }

    #[test]
    fn exp_is_the_c_librarys_within_two_units_in_the_last_place() {
        let mut worst = 0f32;
        for i in -870_000..=880_000 {
            let x = i as f32 / 10_000.0;
            let want = x.exp();
            worst = worst.max(((exp(x) - want) / want).abs());
        }
        assert!(worst < 2.5e-7, "{worst}");
        assert!(exp(-1000.0) < 1e-37);
        let mut row = vec![1.0, 2.0, 3.0];
        let inverse = softmax_unnormalised(&mut row);
        let e: Vec<f32> = [1f32, 2.0, 3.0].iter().map(|v| v.exp()).collect();
        let total: f32 = e.iter().sum();
        for (a, b) in row.iter().zip(&e) {
            assert!((a * inverse - b / total).abs() < 1e-6);
        }
        // Eleven values: the eight running sums and a remainder of three.
        let mut row = vec![-1e9, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        let inverse = softmax_unnormalised(&mut row);
        assert!(row[0] < 1e-37);
        assert!((row[1] * inverse - 0.1).abs() < 1e-6);
    }

    #[test]
    fn erf_is_the_c_librarys_within_a_millionth() {
        let mut worst = 0f32;
        for i in -80_000..=80_000 {
            let x = i as f32 / 10_000.0; // -8 … 8
            let want = candle_core::cpu::erf::erf_f32(x);
            worst = worst.max((erf(x) - want).abs());
        }
        assert!(worst < 1e-6, "{worst}");
    }

    #[test]
    fn gelu_of_a_few_values() {
        let mut x = vec![-3.0, -1.0, 0.0, 0.5, 2.0];
        let want: Vec<f32> = x
            .iter()
            .map(|&v: &f32| 0.5 * v * (1.0 + candle_core::cpu::erf::erf_f32(v / 2f32.sqrt())))
            .collect();
        gelu(&mut x);
        for (a, b) in x.iter().zip(&want) {
            assert!((a - b).abs() < 1e-6, "{a} {b}");
        }
    }

    /// Attention of a text written out the slow way.
    fn attention_by_hand(qkv: &[f32], len: usize) -> Vec<f32> {
        let mut out = vec![0f32; len * HIDDEN];
        for h in 0..HEADS {
            for i in 0..len {
                let q = &qkv[i * 3 * HIDDEN + h * HEAD..][..HEAD];
                let scores: Vec<f32> = (0..len)
                    .map(|j| {
                        let k = &qkv[j * 3 * HIDDEN + HIDDEN + h * HEAD..][..HEAD];
                        q.iter().zip(k).map(|(a, b)| a * b).sum::<f32>() / (HEAD as f32).sqrt()
                    })
                    .collect();
                let top = scores.iter().copied().fold(f32::MIN, f32::max);
                let e: Vec<f32> = scores.iter().map(|s| (s - top).exp()).collect();
                let total: f32 = e.iter().sum();
                for (j, p) in e.iter().enumerate() {
                    let v = &qkv[j * 3 * HIDDEN + 2 * HIDDEN + h * HEAD..][..HEAD];
                    for c in 0..HEAD {
                        out[i * HIDDEN + h * HEAD + c] += p / total * v[c];
                    }
                }
            }
        }
        out
    }

    #[test]
    fn each_text_attends_to_its_own_tokens_only() {
        // 70: two whole blocks of 32 keys for the portable attention and six more; 17 groups of
        // four queries and two more, and 5 blocks of 16 keys (the last one padded), for AVX2's.
        let lens = [3, 1, 70, 5, 6, 16, 17];
        let tokens: usize = lens.iter().sum();
        let qkv: Vec<f32> = (0..tokens * 3 * HIDDEN)
            .map(|i| ((i * 7919) % 113) as f32 / 56.0 - 1.0)
            .collect();
        let mut got = Vec::new();
        attention(&qkv, &lens, &mut got).unwrap();
        let mut start = 0;
        for len in lens {
            let text = &qkv[start * 3 * HIDDEN..(start + len) * 3 * HIDDEN];
            let want = attention_by_hand(text, len);
            // The portable attention, which `attention` leaves for CPUs without AVX2 here.
            let mut portable = vec![0f32; len * HIDDEN];
            pulp::Arch::new().dispatch(TextAttention {
                qkv: text,
                out: &mut portable,
            });
            let part = &got[start * HIDDEN..(start + len) * HIDDEN];
            for ((a, p), b) in part.iter().zip(&portable).zip(&want) {
                assert!((a - b).abs() < 1e-5, "{a} {b}");
                assert!((p - b).abs() < 1e-5, "{p} {b}");
            }
            start += len;
        }
    }

    #[test]
    fn mean_pool_is_each_texts_normalised_mean() {
        let lens = [2, 1];
        let mut hidden = vec![0f32; 3 * HIDDEN];
        hidden[0] = 1.0; // text 0, token 0
        hidden[HIDDEN] = 3.0; // text 0, token 1
        hidden[2 * HIDDEN + 1] = -2.0; // text 1
        let v = mean_pool(&hidden, &lens);
        assert_eq!(v.len(), 2);
        assert!((v[0][0] - 1.0).abs() < 1e-6);
        assert!((v[1][1] + 1.0).abs() < 1e-6);
    }
}
