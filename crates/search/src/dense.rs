//! Dense (semantic) retrieval: a bot's chunk embeddings in memory, searched exhaustively, and
//! fused with BM25 by reciprocal rank.
//!
//! Exhaustive search needs no index structure to keep consistent: a vector added is searched at
//! once, and nothing is rebuilt at start. The vectors are held as one signed byte per dimension
//! and a scale per vector ([`Quantised`]): 100,000 chunks of 384 dimensions are 39 MB (150 MB as
//! `f32`), and one query is 38 M integer multiply-adds of a byte by a byte of the question
//! quantised too (then the best candidates are scored again with the question's `f32`s): about
//! 4–6 ms on the 2-core development machine, against 12.5–14 ms over `f32`s. From 50,000 vectors
//! the rows are scanned in several threads at once. From 200,000, reading every row's bytes is
//! what costs (a million rows are 388 MB: 35 ms at best on two cores), so each row also keeps the
//! signs of its values, a bit each, and only the rows whose signs agree most with the question's
//! (1 in 50) are ranked by their bytes. `cargo bench -p sitechat-search --bench dense` measures
//! each against exact `f32` search; the figures are in `eval/README.md`.

use std::{cmp::Ordering, collections::HashMap};

use sitechat_core::{
    vector::{dot_i8, dot_i8_i8, quantise_into, Quantised},
    ChunkId,
};

/// How a model's cosine similarities read on the scale the answer engine's thresholds and fitted
/// confidence were set on (all-MiniLM-L6-v2's): `slope * cosine + offset`. A model whose
/// cosines sit in a narrower band (multilingual-e5-small's: unrelated texts near 0.7, paraphrases
/// near 0.9) is mapped onto MiniLM's. Ranks do not change (the slope is positive).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scale {
    pub slope: f32,
    pub offset: f32,
}

impl Scale {
    /// Cosines as they are (all-MiniLM-L6-v2).
    pub const IDENTITY: Scale = Scale {
        slope: 1.0,
        offset: 0.0,
    };

    /// multilingual-e5-small onto all-MiniLM-L6-v2: the least-squares line between the two
    /// models' cosines of each question's closest sentence, over the 124 questions of the tune
    /// halves of the English dev corpora `shop` and `short` (r = 0.81; `cargo run --release -p
    /// sitechat-embed --example scale_fit`, see `eval/README.md`).
    pub const E5_SMALL: Scale = Scale {
        slope: 4.31,
        offset: -3.17,
    };

    /// A cosine similarity on the engine's scale.
    pub fn apply(self, cosine: f32) -> f32 {
        self.slope * cosine + self.offset
    }
}

impl Default for Scale {
    fn default() -> Self {
        Scale::IDENTITY
    }
}

/// The embeddings of one bot's chunks (L2-normalised, all of one dimension, quantised), and the
/// [`Scale`] their model's similarities are read on.
#[derive(Debug, Default, Clone)]
pub struct VectorSet {
    dim: usize,
    /// The model that made the vectors (vectors of different models are not comparable).
    model: String,
    scale: Scale,
    ids: Vec<ChunkId>,
    /// The quantised values, `dim` a row.
    data: Vec<i8>,
    /// The quantisation scale of each row.
    row_scales: Vec<f32>,
    /// The sign of each value, a bit each (set when positive), [`VectorSet::words`] `u64`s a
    /// row: what a very large set shortlists its rows by before ranking them.
    signs: Vec<u64>,
    /// Row of each chunk.
    rows: HashMap<ChunkId, usize>,
}

impl VectorSet {
    pub fn new(dim: usize) -> Self {
        Self {
            dim,
            ..Self::default()
        }
    }

    /// The same, holding vectors of `model`, whose similarities are read on `scale`.
    pub fn of_model(mut self, model: &str, scale: Scale) -> Self {
        model.clone_into(&mut self.model);
        self.scale = scale;
        self
    }

    /// The model that made the vectors (`""` when not said).
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The scale of this set's similarities.
    pub fn scale(&self) -> Scale {
        self.scale
    }

    /// Adds vectors (quantised); those of another dimension are ignored (a model change
    /// re-embeds).
    pub fn extend(&mut self, vectors: impl IntoIterator<Item = (ChunkId, Vec<f32>)>) {
        let mut values = Vec::new();
        for (id, v) in vectors {
            values.clear();
            let scale = quantise_into(&v, &mut values);
            self.put(id, scale, &values);
        }
    }

    /// Adds vectors already quantised (as stored); those of another dimension are ignored.
    pub fn extend_quantised(&mut self, vectors: impl IntoIterator<Item = (ChunkId, Quantised)>) {
        for (id, v) in vectors {
            self.put(id, v.scale(), v.values());
        }
    }

    fn put(&mut self, id: ChunkId, scale: f32, values: &[i8]) {
        if self.dim == 0 {
            self.dim = values.len();
        }
        if values.len() != self.dim || self.dim == 0 {
            return;
        }
        let words = self.words();
        match self.rows.get(&id) {
            Some(&row) => {
                self.data[row * self.dim..(row + 1) * self.dim].copy_from_slice(values);
                self.row_scales[row] = scale;
                sign_bits(values, &mut self.signs[row * words..(row + 1) * words]);
            }
            None => {
                self.rows.insert(id.clone(), self.ids.len());
                self.ids.push(id);
                self.data.extend_from_slice(values);
                self.row_scales.push(scale);
                let from = self.signs.len();
                self.signs.resize(from + words, 0);
                sign_bits(values, &mut self.signs[from..]);
            }
        }
    }

    /// `u64`s of sign bits a row.
    fn words(&self) -> usize {
        self.dim.div_ceil(64)
    }

    /// The `n` rows (or a few more) whose values' signs agree most with the question's: the
    /// smallest Hamming distances between sign bits, counted in `parts` slices at once.
    /// Distances are small integers, so the `n` closest are found by counting how many rows lie
    /// at each distance, not by sorting.
    fn closest_signs(&self, question: &[i8], n: usize, parts: usize) -> Vec<usize> {
        let (words, rows) = (self.words(), self.row_scales.len());
        let mut signs = vec![0u64; words];
        sign_bits(question, &mut signs);
        let mut distances = vec![0u16; rows];
        let step = rows.div_ceil(parts.max(1)).max(1);
        let count = |codes: &[u64], out: &mut [u16]| {
            let mut at = vec![0usize; self.dim + 1];
            for (code, d) in codes.chunks_exact(words).zip(out.iter_mut()) {
                let differ: u32 = code
                    .iter()
                    .zip(&signs)
                    .map(|(a, b)| (a ^ b).count_ones())
                    .sum();
                *d = differ as u16;
                at[differ as usize] += 1;
            }
            at
        };
        let at = std::thread::scope(|scope| {
            let mut slices = distances
                .chunks_mut(step)
                .zip(self.signs.chunks(step * words));
            let first = slices.next();
            let others: Vec<_> = slices
                .map(|(out, codes)| scope.spawn(move || count(codes, out)))
                .collect();
            let mut at = first.map_or_else(Vec::new, |(out, codes)| count(codes, out));
            for other in others {
                for (total, c) in at.iter_mut().zip(other.join().unwrap_or_default()) {
                    *total += c;
                }
            }
            at
        });
        // The distance within which the n closest lie: all rows nearer, and rows at it up to n.
        let (mut within, mut cut) = (0, self.dim);
        for (d, &c) in at.iter().enumerate() {
            if within + c >= n {
                cut = d;
                break;
            }
            within += c;
        }
        let mut at_cut = n.saturating_sub(within);
        let cut = cut as u16;
        let mut list = Vec::with_capacity(n);
        for (row, &d) in distances.iter().enumerate() {
            if d < cut {
                list.push(row);
            } else if d == cut && at_cut > 0 {
                at_cut -= 1;
                list.push(row);
            }
        }
        list
    }

    /// The bytes its vectors take (values, scales and sign bits).
    pub fn vector_bytes(&self) -> usize {
        self.data.len() + self.row_scales.len() * 4 + self.signs.len() * 8
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The similarity of a chunk to `query` (its cosine on this set's [`Scale`]), if the chunk has
    /// a vector.
    pub fn similarity(&self, id: &ChunkId, query: &[f32]) -> Option<f32> {
        if query.len() != self.dim {
            return None;
        }
        let row = *self.rows.get(id)?;
        let v = &self.data[row * self.dim..(row + 1) * self.dim];
        Some(self.scale.apply(dot_i8(v, query) * self.row_scales[row]))
    }

    /// The `k` chunks most similar to `query` (cosine, as the vectors are normalised, on this
    /// set's [`Scale`]), best first.
    pub fn top_k(&self, query: &[f32], k: usize) -> Vec<(ChunkId, f32)> {
        if query.len() != self.dim || k == 0 || self.ids.is_empty() {
            return Vec::new();
        }
        // Every row is ranked by its integer dot product with the question quantised too (about
        // twice as fast as by the question's f32s), then the best candidates are scored again
        // with the f32 question: the scores are those of `similarity`, and a near tie that the
        // question's rounding put just below the first k is caught among the spare ones.
        let question = Quantised::new(query);
        let candidates = k.saturating_mul(2).max(k + RESCORED_SPARE);
        let rows = self.row_scales.len();
        let parts = if rows >= PARALLEL_FROM_ROWS {
            std::thread::available_parallelism()
                .map_or(1, usize::from)
                .clamp(1, MAX_SCAN_THREADS)
        } else {
            1
        };
        if rows >= SHORTLIST_FROM_ROWS {
            // A very large set: only the rows whose signs agree most with the question's are
            // ranked (a bit a value, an eighth of the bytes to read).
            let mut best = Best::new(candidates);
            for row in self.closest_signs(question.values(), shortlist_len(rows), parts) {
                let values = &self.data[row * self.dim..(row + 1) * self.dim];
                best.offer(
                    row,
                    dot_i8_i8(values, question.values()) as f32 * self.row_scales[row],
                );
            }
            return self.rescored(best.into_best(), query, k);
        }
        let scan = |from: usize, to: usize| {
            let mut best = Best::new(candidates);
            let data = &self.data[from * self.dim..to * self.dim];
            for (i, (row, scale)) in data
                .chunks_exact(self.dim)
                .zip(&self.row_scales[from..to])
                .enumerate()
            {
                best.offer(from + i, dot_i8_i8(row, question.values()) as f32 * scale);
            }
            best.into_best()
        };
        let scored: Vec<(usize, f32)> = if parts == 1 {
            scan(0, rows)
        } else {
            // A large set is scanned in `parts` slices at once, each keeping its own best.
            let step = rows.div_ceil(parts);
            std::thread::scope(|scope| {
                let others: Vec<_> = (1..parts)
                    .map(|p| {
                        let (from, to) = (p * step, ((p + 1) * step).min(rows));
                        scope.spawn(move || scan(from, to))
                    })
                    .collect();
                let mut all = scan(0, step.min(rows));
                for other in others {
                    all.extend(other.join().unwrap_or_default());
                }
                all
            })
        };
        self.rescored(scored, query, k)
    }

    /// The best `k` of `scored` (candidate rows with their integer scores), scored again with the
    /// question's `f32`s and put on the set's scale, best first.
    fn rescored(
        &self,
        mut scored: Vec<(usize, f32)>,
        query: &[f32],
        k: usize,
    ) -> Vec<(ChunkId, f32)> {
        let by_score =
            |a: &(usize, f32), b: &(usize, f32)| b.1.partial_cmp(&a.1).unwrap_or(Ordering::Equal);
        let candidates = k.saturating_mul(2).max(k + RESCORED_SPARE);
        if scored.len() > candidates {
            scored.select_nth_unstable_by(candidates - 1, by_score);
            scored.truncate(candidates);
        }
        for (row, score) in &mut scored {
            let values = &self.data[*row * self.dim..(*row + 1) * self.dim];
            *score = dot_i8(values, query) * self.row_scales[*row];
        }
        scored.sort_by(by_score);
        scored.truncate(k);
        scored
            .into_iter()
            .map(|(i, s)| (self.ids[i].clone(), self.scale.apply(s)))
            .collect()
    }
}

/// At least how many candidates beyond the `k` asked for [`VectorSet::top_k`] scores again.
const RESCORED_SPARE: usize = 16;

/// From how many vectors [`VectorSet::top_k`] scans in several threads at once: below it a
/// thread's start costs more than it saves.
const PARALLEL_FROM_ROWS: usize = 50_000;

/// At most how many threads one search uses.
const MAX_SCAN_THREADS: usize = 8;

/// From how many vectors [`VectorSet::top_k`] ranks only a shortlist: the rows whose values'
/// signs agree most with the question's. Below it every row is ranked.
const SHORTLIST_FROM_ROWS: usize = 200_000;

/// How many rows the shortlist of a set of `rows` holds: 1 in 50 (20,000 of a million), and at
/// least 4,000. Ranking them costs little next to reading every row's signs; fewer lose true
/// neighbours where many passages are alike (`cargo bench -p sitechat-search --bench dense`).
fn shortlist_len(rows: usize) -> usize {
    (rows / 50).max(4_000)
}

/// The signs of `values` as bits (set when positive), 64 a word, into `out`.
fn sign_bits(values: &[i8], out: &mut [u64]) {
    out.fill(0);
    for (i, _) in values.iter().enumerate().filter(|(_, &v)| v > 0) {
        out[i / 64] |= 1 << (i % 64);
    }
}

/// The best `n` of a stream of scored rows (and a few more), kept without holding every score:
/// a row below the worst of the best `n` so far is not kept.
struct Best {
    n: usize,
    kept: Vec<(usize, f32)>,
    /// Rows scoring at or below this cannot be among the best `n`.
    floor: f32,
}

impl Best {
    fn new(n: usize) -> Self {
        Self {
            n,
            kept: Vec::with_capacity(2 * n),
            floor: f32::NEG_INFINITY,
        }
    }

    fn offer(&mut self, row: usize, score: f32) {
        if score <= self.floor {
            return;
        }
        self.kept.push((row, score));
        if self.kept.len() == 2 * self.n {
            // Keep the best n; the worst of them is the new floor.
            self.kept.select_nth_unstable_by(self.n - 1, |a, b| {
                b.1.partial_cmp(&a.1).unwrap_or(Ordering::Equal)
            });
            self.kept.truncate(self.n);
            self.floor = self
                .kept
                .iter()
                .map(|&(_, s)| s)
                .fold(f32::INFINITY, f32::min);
        }
    }

    /// The rows kept: the best `n` among them, in no order.
    fn into_best(self) -> Vec<(usize, f32)> {
        self.kept
    }
}

/// A dot product in eight independent lanes: the compiler keeps them in one SIMD register (a
/// single running sum would have to be added in order, one element at a time). For unit
/// vectors it is their cosine similarity.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let (a8, a_rest) = a.split_at(a.len() - a.len() % 8);
    let (b8, b_rest) = b.split_at(b.len() - b.len() % 8);
    for (x, y) in a8.chunks_exact(8).zip(b8.chunks_exact(8)) {
        for i in 0..8 {
            lanes[i] += x[i] * y[i];
        }
    }
    let tail: f32 = a_rest.iter().zip(b_rest).map(|(x, y)| x * y).sum();
    lanes.iter().sum::<f32>() + tail
}

/// The constant of reciprocal rank fusion: a result at rank r of a list adds weight/(K + r).
pub const RRF_K: f32 = 60.0;

/// The weight of the dense retriever's list against BM25's 1.0 in the fusion. On the evaluation
/// set, 1.25 and 1.5 raised hit@5 from 0.877 to 0.904 and MRR from 0.702 to 0.722; 2 and 3 did
/// as well on hit@5 but lost MRR, and answerable questions declined rose again. Meaning finds the
/// page for a question asked in a visitor's words; the keywords still decide between pages that
/// meaning finds alike.
pub const DENSE_WEIGHT: f32 = 1.5;

/// The dense list's weight when a word of the question is in none of the bot's passages: BM25
/// can match only part of the question (a visitor's own word for what the site calls otherwise,
/// "parcel" for "delivery"), so meaning decides more. Fitted on the tune halves of the
/// evaluation (2.5, 4 and 6 tried): shop's hit@1 rose from 0.828 to 0.862, its facts from 42 to
/// 43 of 58; on the test halves shop's hit@1 rose from 0.797 to 0.814 and nothing else moved.
/// A question BM25 can match whole keeps [`DENSE_WEIGHT`]: postgres, where nearly every
/// question's words are in the manual, lost hit@1 and facts with a heavier dense list.
pub const DENSE_WEIGHT_UNKNOWN_WORDS: f32 = 4.0;

/// What a result at `rank` (0 for the first) of a list of this weight adds to its fused score.
pub(crate) fn reciprocal_rank(rank: usize, weight: f32) -> f32 {
    weight / (RRF_K + rank as f32 + 1.0)
}

/// Fuses weighted ranked lists of chunk ids by reciprocal rank: the best first, with their fused
/// scores.
pub fn reciprocal_rank_fusion(lists: &[(&[ChunkId], f32)]) -> Vec<(ChunkId, f32)> {
    let mut scores: HashMap<&ChunkId, f32> = HashMap::new();
    let mut first_seen: Vec<&ChunkId> = Vec::new();
    for &(list, weight) in lists {
        for (rank, id) in list.iter().enumerate() {
            let entry = scores.entry(id).or_insert_with(|| {
                first_seen.push(id);
                0.0
            });
            *entry += reciprocal_rank(rank, weight);
        }
    }
    let mut fused: Vec<(ChunkId, f32)> = first_seen
        .into_iter()
        .map(|id| (id.clone(), scores[id]))
        .collect();
    // Stable: ties keep the order of first appearance (the first list wins).
    fused.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap_or(Ordering::Equal));
    fused
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> ChunkId {
        ChunkId::from_trusted(s.to_owned())
    }

    #[test]
    fn the_lane_dot_product_is_the_dot_product() {
        let a: Vec<f32> = (0..389).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..389).map(|i| (i as f32 * 0.11).cos()).collect();
        let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - plain).abs() < 1e-4);
    }

    #[test]
    fn top_k_ranks_by_cosine() {
        let mut set = VectorSet::new(2);
        set.extend([
            (id("chk_a"), vec![1.0, 0.0]),
            (id("chk_b"), vec![0.0, 1.0]),
            (id("chk_c"), vec![0.6, 0.8]),
        ]);
        let top = set.top_k(&[0.0, 1.0], 2);
        assert_eq!(top[0].0, id("chk_b"));
        assert_eq!(top[1].0, id("chk_c"));
        assert!((top[1].1 - 0.8).abs() < 1e-5);
        assert!(set.top_k(&[1.0, 0.0, 0.0], 2).is_empty(), "wrong dimension");
    }

    /// Deterministic unit vectors in clusters (as embeddings of passages on a few topics are),
    /// and questions near some of them.
    fn clustered(count: usize, dim: usize, seed: u64) -> Vec<Vec<f32>> {
        let mut state = seed;
        let mut next = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((state >> 33) as f32 / (1u64 << 31) as f32) * 2.0 - 1.0
        };
        let centres: Vec<Vec<f32>> = (0..20)
            .map(|_| (0..dim).map(|_| next()).collect())
            .collect();
        (0..count)
            .map(|i| {
                let v: Vec<f32> = centres[i % centres.len()]
                    .iter()
                    .map(|c| c + 0.8 * next())
                    .collect();
                let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                v.into_iter().map(|x| x / norm).collect()
            })
            .collect()
    }

    /// The id of the `i`th vector of a numbered set.
    fn numbered(i: usize) -> ChunkId {
        id(&format!("chk_{i}"))
    }

    /// A set of `vectors`, the `i`th one [`numbered`] `i`.
    fn numbered_set(vectors: &[Vec<f32>]) -> VectorSet {
        let mut set = VectorSet::new(vectors.first().map_or(0, Vec::len));
        set.extend(
            vectors
                .iter()
                .enumerate()
                .map(|(i, v)| (numbered(i), v.clone())),
        );
        set
    }

    /// Exact `f32` search, as the set did before it held bytes.
    fn exact_top_k(vectors: &[Vec<f32>], query: &[f32], k: usize) -> Vec<(usize, f32)> {
        let mut scored: Vec<(usize, f32)> =
            vectors.iter().map(|v| dot(v, query)).enumerate().collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1));
        scored.truncate(k);
        scored
    }

    #[test]
    fn quantised_search_ranks_as_the_f32_search() {
        let vectors = clustered(2_000, 384, 7);
        let queries = clustered(60, 384, 99);
        let set = numbered_set(&vectors);
        assert_eq!(set.vector_bytes(), 2_000 * (384 + 4 + 48));
        let (mut same_first, mut overlap, mut worst) = (0, 0, 0.0f32);
        for q in &queries {
            let exact = exact_top_k(&vectors, q, 10);
            let quantised = set.top_k(q, 10);
            if quantised[0].0 == numbered(exact[0].0) {
                same_first += 1;
            }
            for (i, score) in &exact {
                let chunk = numbered(*i);
                overlap += usize::from(quantised.iter().any(|(c, _)| *c == chunk));
                let similarity = set.similarity(&chunk, q).unwrap();
                worst = worst.max((similarity - score).abs());
            }
        }
        assert!(worst < 2e-3, "largest similarity error {worst}");
        assert!(same_first >= 58, "the same first in {same_first} of 60");
        assert!(overlap >= 590, "{overlap} of 600 of the top 10 kept");
        // A copy searches the same.
        let copy = set.clone();
        assert_eq!(copy.top_k(&queries[0], 5), set.top_k(&queries[0], 5));
    }

    #[test]
    fn a_large_set_scanned_in_slices_finds_the_best_of_all_of_them() {
        let count = PARALLEL_FROM_ROWS + 1_234;
        let vectors = clustered(count, 16, 3);
        let set = numbered_set(&vectors);
        for q in clustered(5, 16, 42) {
            let mut every: Vec<(ChunkId, f32)> = (0..count)
                .map(|i| {
                    let chunk = numbered(i);
                    let s = set.similarity(&chunk, &q).unwrap();
                    (chunk, s)
                })
                .collect();
            every.sort_by(|a, b| b.1.total_cmp(&a.1));
            let top = set.top_k(&q, 10);
            assert_eq!(top.len(), 10);
            // The same scores as one by one, best first (rows that tie may swap).
            for (got, want) in top.iter().zip(&every) {
                assert!((got.1 - want.1).abs() < 1e-6, "{got:?} against {want:?}");
            }
        }
    }

    #[test]
    fn a_very_large_set_ranks_a_shortlist_by_signs_and_keeps_the_best() {
        let (count, dim) = (SHORTLIST_FROM_ROWS, 96);
        // Questions from the same clusters as the passages: the same seed goes on past them.
        let mut vectors = clustered(count + 10, dim, 5);
        let questions = vectors.split_off(count);
        let set = numbered_set(&vectors);
        assert_eq!(set.vector_bytes(), count * (dim + 4 + 16));
        let mut kept = 0;
        for q in questions {
            let exact = exact_top_k(&vectors, &q, 10);
            let top = set.top_k(&q, 10);
            assert_eq!(top.len(), 10);
            kept += exact
                .iter()
                .filter(|(i, _)| top.iter().any(|(c, _)| *c == numbered(*i)))
                .count();
        }
        // 96 sign bits tell near vectors apart less well than a model's 384 (the bench keeps
        // 0.978 of a million such vectors' top 10); a shortlist that missed would keep few.
        assert!(kept >= 90, "{kept} of the exact top 10s' 100 kept");
    }

    #[test]
    fn stored_vectors_join_as_they_are() {
        let vectors = clustered(3, 8, 1);
        let mut from_f32 = VectorSet::new(0);
        from_f32.extend([
            (id("chk_a"), vectors[0].clone()),
            (id("chk_b"), vectors[1].clone()),
        ]);
        let mut stored = VectorSet::new(0);
        stored.extend_quantised([
            (id("chk_a"), Quantised::new(&vectors[0])),
            (id("chk_b"), Quantised::new(&vectors[1])),
            (id("chk_c"), Quantised::new(&[1.0, 0.0])),
        ]);
        assert_eq!(stored.len(), 2, "another dimension is left out");
        assert_eq!(from_f32.top_k(&vectors[2], 2), stored.top_k(&vectors[2], 2));
        // A vector given again replaces the old one.
        stored.extend([(id("chk_a"), vectors[2].clone())]);
        assert_eq!(stored.len(), 2);
        assert_eq!(stored.top_k(&vectors[2], 1)[0].0, id("chk_a"));
    }

    #[test]
    fn fusion_rewards_agreement_between_lists() {
        let keyword = [id("a"), id("b"), id("c")];
        let semantic = [id("d"), id("b"), id("c")];
        let fused = reciprocal_rank_fusion(&[(&keyword, 1.0), (&semantic, 1.0)]);
        assert_eq!(fused[0].0, id("b"), "second in both beats first in one");
        assert_eq!(fused.len(), 4);
        assert!(fused.iter().any(|(i, _)| *i == id("d")));
        // A heavier list wins a tie of ranks.
        let fused = reciprocal_rank_fusion(&[(&keyword, 1.0), (&semantic, DENSE_WEIGHT)]);
        let order: Vec<&ChunkId> = fused.iter().map(|(i, _)| i).collect();
        assert_eq!(
            order,
            [&id("b"), &id("c"), &id("d"), &id("a")],
            "d first in the heavier list"
        );
    }
}
