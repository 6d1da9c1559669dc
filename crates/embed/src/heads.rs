//! One text's self-attention in AVX2 registers (issue 21: a site learnt in minutes).
//!
//! [`crate::encoder`]'s portable attention takes one query at a time: its scores against 32
//! keys are four running sums, each waiting on its own previous multiply-add (four cycles on
//! Zen 3), so the two FMA units run at half speed, and a short sentence's keys past the last
//! whole 32 are summed one lane at a time. Here four queries are scored at once against 16
//! keys (eight independent sums), the keys laid out in blocks of 16 padded with zeros, and the
//! values are weighed for two queries at once (eight sums again). The arithmetic is the same:
//! scores, the softmax of [`crate::encoder`], values weighed, up to the order of the sums.
//!
//! Hand-written because attention is about a fifth of the time of embedding a passage once the
//! linear layers run in 16-bit integers ([`crate::wide`]).

use crate::encoder::{softmax_unnormalised, HEAD, HEADS, HIDDEN};
use pulp::x86::V3;
use std::arch::x86_64::__m256;

/// Keys scored at once: two registers.
const KEYS: usize = 16;
/// Queries scored at once.
const QUERIES: usize = 4;

/// Self-attention of one text: `qkv` holds each of its tokens' query, key and value side by side
/// (`len × 3 × 384`); the heads' outputs are written side by side into `out` (`len × 384`).
pub(crate) fn attend(simd: V3, qkv: &[f32], out: &mut [f32]) {
    simd.vectorize(Text { simd, qkv, out });
}

struct Text<'a> {
    simd: V3,
    qkv: &'a [f32],
    out: &'a mut [f32],
}

impl pulp::NullaryFnOnce for Text<'_> {
    type Output = ();

    #[inline(always)]
    fn call(self) {
        let Text { simd, qkv, out } = self;
        let len = out.len() / HIDDEN;
        let padded = len.next_multiple_of(KEYS);
        let scale = 1.0 / (HEAD as f32).sqrt();
        // Per block of KEYS keys, per dimension of the head, the block's values of it (scaled):
        // the keys past `len` stay 0 in every head, and their scores are left out of the softmax.
        let mut keys = vec![0f32; padded * HEAD];
        let mut values = vec![0f32; len * HEAD];
        let mut scores = vec![0f32; QUERIES * padded];
        for h in 0..HEADS {
            for (j, (token, value)) in qkv
                .chunks_exact(3 * HIDDEN)
                .zip(values.chunks_exact_mut(HEAD))
                .enumerate()
            {
                let block = &mut keys[j / KEYS * KEYS * HEAD..][..KEYS * HEAD];
                for (d, &k) in token[HIDDEN + h * HEAD..][..HEAD].iter().enumerate() {
                    block[d * KEYS + j % KEYS] = k * scale;
                }
                value.copy_from_slice(&token[2 * HIDDEN + h * HEAD..][..HEAD]);
            }
            let mut first = 0;
            while first < len {
                let n = (len - first).min(QUERIES);
                let group = Group {
                    simd,
                    h,
                    queries: &qkv[first * 3 * HIDDEN..(first + n) * 3 * HIDDEN],
                    keys: &keys,
                    values: &values,
                    scores: &mut scores,
                    out: &mut out[first * HIDDEN..(first + n) * HIDDEN],
                };
                match n {
                    4 => group.run::<4>(),
                    3 => group.run::<3>(),
                    2 => group.run::<2>(),
                    _ => group.run::<1>(),
                }
                first += n;
            }
        }
    }
}

/// Up to [`QUERIES`] consecutive tokens' attention in head `h`.
struct Group<'a> {
    simd: V3,
    h: usize,
    /// The tokens' queries, keys and values (`Q × 3 × 384`).
    queries: &'a [f32],
    keys: &'a [f32],
    values: &'a [f32],
    /// Room for [`QUERIES`] rows of scores, each as long as the padded keys.
    scores: &'a mut [f32],
    /// The tokens' rows of the result.
    out: &'a mut [f32],
}

impl Group<'_> {
    #[inline(always)]
    fn run<const Q: usize>(self) {
        let Group {
            simd,
            h,
            queries,
            keys,
            values,
            scores,
            out,
        } = self;
        let len = values.len() / HEAD;
        let padded = scores.len() / QUERIES;
        let mut query = [[0f32; HEAD]; Q];
        for (q, token) in query.iter_mut().zip(queries.chunks_exact(3 * HIDDEN)) {
            q.copy_from_slice(&token[h * HEAD..][..HEAD]);
        }
        let (blocks, _) = pulp::as_arrays::<{ KEYS * HEAD }, f32>(keys);
        for (b, block) in blocks.iter().enumerate() {
            let mut sums = [[simd.avx._mm256_setzero_ps(); 2]; Q];
            let (rows, _) = pulp::as_arrays::<KEYS, f32>(block);
            for (d, row) in rows.iter().enumerate() {
                let [low, high]: [__m256; 2] = pulp::cast(*row);
                for (sum, query) in sums.iter_mut().zip(&query) {
                    let q = simd.avx._mm256_set1_ps(query[d]);
                    sum[0] = simd.fma._mm256_fmadd_ps(q, low, sum[0]);
                    sum[1] = simd.fma._mm256_fmadd_ps(q, high, sum[1]);
                }
            }
            for (row, sum) in scores.chunks_exact_mut(padded).zip(&sums) {
                let sum: [f32; KEYS] = pulp::cast(*sum);
                row[b * KEYS..][..KEYS].copy_from_slice(&sum);
            }
        }
        let mut inverse = [0f32; Q];
        for (inverse, row) in inverse.iter_mut().zip(scores.chunks_exact_mut(padded)) {
            *inverse = softmax_unnormalised(&mut row[..len]);
        }
        let mut q = 0;
        while q < Q {
            let rows = &scores[q * padded..];
            let out = &mut out[q * HIDDEN..];
            if Q - q >= 2 {
                weigh::<2>(simd, values, rows, padded, &inverse[q..], out, h * HEAD);
                q += 2;
            } else {
                weigh::<1>(simd, values, rows, padded, &inverse[q..], out, h * HEAD);
                q += 1;
            }
        }
    }
}

/// The values weighed by `P` rows of softmax weights (`padded` apart in `weights`), each
/// scaled by its `inverse`, written at `at` in rows `HIDDEN` apart of `out`.
#[inline(always)]
fn weigh<const P: usize>(
    simd: V3,
    values: &[f32],
    weights: &[f32],
    padded: usize,
    inverse: &[f32],
    out: &mut [f32],
    at: usize,
) {
    let len = values.len() / HEAD;
    let rows: [&[f32]; P] = std::array::from_fn(|p| &weights[p * padded..][..len]);
    let mut sums = [[simd.avx._mm256_setzero_ps(); 4]; P];
    let (values, _) = pulp::as_arrays::<HEAD, f32>(values);
    for (j, value) in values.iter().enumerate() {
        let value: [__m256; 4] = pulp::cast(*value);
        for (sum, row) in sums.iter_mut().zip(&rows) {
            let w = simd.avx._mm256_set1_ps(row[j]);
            for (s, v) in sum.iter_mut().zip(&value) {
                *s = simd.fma._mm256_fmadd_ps(w, *v, *s);
            }
        }
    }
    for (p, sum) in sums.iter().enumerate() {
        let scale = simd.avx._mm256_set1_ps(inverse[p]);
        let sum: [__m256; 4] = std::array::from_fn(|i| simd.avx._mm256_mul_ps(sum[i], scale));
        let sum: [f32; HEAD] = pulp::cast(sum);
        out[p * HIDDEN + at..][..HEAD].copy_from_slice(&sum);
    }
}
