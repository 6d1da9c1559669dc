//! Exhaustive dense search over quantised vectors (what [`VectorSet`] holds: a byte per
//! dimension and a scale per vector; it ranks with the question quantised too, then scores the
//! best candidates again with the `f32` question) against the same search over `f32` vectors
//! (what it held before), on synthetic unit vectors of 384 dimensions in clusters. For 10,000,
//! 100,000 and 1,000,000 vectors (from 50,000 on, the set scans in as many threads as the CPU
//! has, up to 8): the memory of the vectors, the median and p99 latency of a top-20 search
//! over 200 questions, and how many of the `f32` search's top 10 the quantised search keeps; and
//! the same for the integer ranking alone, without the second scoring.
//!
//! `cargo bench -p sitechat-search --bench dense`

mod common;

use std::cmp::Ordering;

use common::measure;

use rand::{rngs::StdRng, Rng, SeedableRng};
use sitechat_core::{
    vector::{dot_i8_i8, Quantised},
    ChunkId,
};
use sitechat_search::{dot, VectorSet};

const DIM: usize = 384;
const QUESTIONS: usize = 200;

/// Unit vectors around `centres` (passages on a few hundred topics).
fn clustered(rng: &mut StdRng, centres: &[Vec<f32>], count: usize) -> Vec<Vec<f32>> {
    (0..count)
        .map(|_| {
            let centre = &centres[rng.gen_range(0..centres.len())];
            let v: Vec<f32> = centre
                .iter()
                .map(|c| c + 0.7 * rng.gen_range(-1.0f32..1.0))
                .collect();
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.into_iter().map(|x| x / norm).collect()
        })
        .collect()
}

/// The search as it was over `f32`s: every row's dot product, the best `k`.
fn f32_top_k(data: &[f32], query: &[f32], k: usize) -> Vec<(usize, f32)> {
    best(data.chunks_exact(DIM).map(|row| dot(row, query)), k)
}

/// The search with the question quantised too, without scoring the best again with the `f32`
/// question (for comparison).
fn i8_i8_top_k(data: &[i8], scales: &[f32], query: &[f32], k: usize) -> Vec<(usize, f32)> {
    let q = Quantised::new(query);
    let scores = data
        .chunks_exact(DIM)
        .zip(scales)
        .map(|(row, s)| dot_i8_i8(row, q.values()) as f32 * s * q.scale());
    best(scores, k)
}

/// The `k` best of the scores, by index, best first.
fn best(scores: impl Iterator<Item = f32>, k: usize) -> Vec<(usize, f32)> {
    let mut scored: Vec<(usize, f32)> = scores.enumerate().collect();
    let by_score =
        |a: &(usize, f32), b: &(usize, f32)| b.1.partial_cmp(&a.1).unwrap_or(Ordering::Equal);
    scored.select_nth_unstable_by(k - 1, by_score);
    scored.truncate(k);
    scored.sort_by(by_score);
    scored
}

fn main() {
    println!("dense top-20 search, {QUESTIONS} questions per figure, {DIM} dimensions");
    println!(
        "{:>8}  {:>10}  {:>17}  {:>10}  {:>17}  {:>8}  {:>13}",
        "vectors",
        "f32 MB",
        "f32 p50/p99 ms",
        "int8 MB",
        "int8 p50/p99 ms",
        "speed-up",
        "top-10 kept"
    );
    for size in [10_000usize, 100_000, 1_000_000] {
        let mut rng = StdRng::seed_from_u64(11);
        let centres: Vec<Vec<f32>> = (0..300)
            .map(|_| (0..DIM).map(|_| rng.gen_range(-1.0f32..1.0)).collect())
            .collect();
        let vectors = clustered(&mut rng, &centres, size);
        let questions = clustered(&mut rng, &centres, QUESTIONS);
        let ids: Vec<ChunkId> = (0..size).map(|_| ChunkId::generate()).collect();
        let data: Vec<f32> = vectors.iter().flatten().copied().collect();
        let quantised: Vec<Quantised> = vectors.iter().map(|v| Quantised::new(v)).collect();
        let bytes: Vec<i8> = quantised.iter().flat_map(|q| q.values().to_vec()).collect();
        let scales: Vec<f32> = quantised.iter().map(Quantised::scale).collect();
        let mut set = VectorSet::new(DIM);
        set.extend(ids.iter().cloned().zip(vectors));

        let f32_times = measure(QUESTIONS, |i| {
            std::hint::black_box(f32_top_k(&data, &questions[i], 20));
        });
        let int8_times = measure(QUESTIONS, |i| {
            std::hint::black_box(set.top_k(&questions[i], 20));
        });
        let i8_times = measure(QUESTIONS, |i| {
            std::hint::black_box(i8_i8_top_k(&bytes, &scales, &questions[i], 20));
        });
        let (mut kept, mut kept_i8) = (0, 0);
        for q in &questions {
            let quantised = set.top_k(q, 10);
            let both = i8_i8_top_k(&bytes, &scales, q, 10);
            for (row, _) in f32_top_k(&data, q, 10) {
                kept += usize::from(quantised.iter().any(|(id, _)| *id == ids[row]));
                kept_i8 += usize::from(both.iter().any(|(r, _)| *r == row));
            }
        }
        println!(
            "{size:>8}  {:>10.1}  {:>7.2} / {:>7.2}  {:>10.1}  {:>7.2} / {:>7.2}  {:>7.2}x  {:>13.3}   \
             (integer ranking alone: {:.2} / {:.2} ms, top-10 kept {:.3})",
            (data.len() * 4) as f64 / 1e6,
            f32_times.0,
            f32_times.1,
            set.vector_bytes() as f64 / 1e6,
            int8_times.0,
            int8_times.1,
            f32_times.0 / int8_times.0,
            kept as f64 / (10 * QUESTIONS) as f64,
            i8_times.0,
            i8_times.1,
            kept_i8 as f64 / (10 * QUESTIONS) as f64,
        );
    }
}
