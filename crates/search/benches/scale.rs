//! Retrieval at scale: one bot with 1,000 and with 100,000 passages, synthetic text and
//! synthetic unit vectors (real embeddings of 100,000 passages would take hours on this CPU; the
//! cost of a dense search depends only on the count and the dimension). For each size: the
//! median and p99 latency of BM25 alone (the baseline), of the exhaustive dense search alone,
//! and of the hybrid search (both, fused, with passage look-ups), over 200 questions.
//!
//! `cargo bench -p sitechat-search --bench scale`

mod common;

use std::time::Instant;

use common::measure;

use rand::{rngs::StdRng, Rng, SeedableRng};
use sitechat_core::{model::Chunk, BotId, ChunkId, SourceId};
use sitechat_search::{SearchIndex, VectorSet};

const DIM: usize = 384;
const QUESTIONS: usize = 200;

const WORDS: &[&str] = &[
    "order",
    "refund",
    "shipping",
    "delivery",
    "warranty",
    "battery",
    "kettle",
    "toaster",
    "store",
    "opening",
    "hours",
    "saturday",
    "invoice",
    "payment",
    "card",
    "account",
    "password",
    "reset",
    "discount",
    "member",
    "return",
    "exchange",
    "size",
    "colour",
    "stock",
    "pickup",
    "parcel",
    "tracking",
    "customs",
    "europe",
    "express",
    "standard",
    "gift",
    "voucher",
    "loyalty",
    "points",
    "subscription",
    "cancel",
    "upgrade",
    "plan",
    "price",
    "euros",
    "days",
    "weeks",
    "repair",
    "spare",
    "parts",
    "manual",
    "install",
    "cleaning",
    "descaling",
    "filter",
    "lid",
];

fn sentence(rng: &mut StdRng, words: usize) -> String {
    (0..words)
        .map(|_| WORDS[rng.gen_range(0..WORDS.len())])
        .collect::<Vec<_>>()
        .join(" ")
}

fn unit_vector(rng: &mut StdRng) -> Vec<f32> {
    let v: Vec<f32> = (0..DIM).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.into_iter().map(|x| x / norm).collect()
}

fn main() {
    println!(
        "retrieval at scale: {QUESTIONS} questions per figure, synthetic passages and vectors"
    );
    println!(
        "{:>9}  {:>16}  {:>16}  {:>16}  {:>10}",
        "passages", "bm25 p50/p99 ms", "dense p50/p99 ms", "hybrid p50/p99", "hybrid/bm25"
    );
    for size in [1_000usize, 100_000] {
        let mut rng = StdRng::seed_from_u64(7);
        let dir = tempfile::tempdir().expect("temp dir");
        let index = SearchIndex::open(dir.path()).expect("index");
        let bot = BotId::generate();
        let source = SourceId::generate();
        let chunks: Vec<Chunk> = (0..size)
            .map(|i| Chunk {
                id: ChunkId::generate(),
                bot_id: bot.clone(),
                source_id: source.clone(),
                ordinal: i as i64,
                title: format!("Page {}", i / 10),
                heading: sentence(&mut rng, 3),
                anchor: None,
                url: Some(format!("https://shop.example/p/{}", i / 10)),
                text: sentence(&mut rng, 120),
                curated: false,
            })
            .collect();
        let started = Instant::now();
        for batch in chunks.chunks(10_000) {
            index.add_chunks(&bot, "en", batch).expect("indexed");
        }
        let indexing = started.elapsed();
        let mut vectors = VectorSet::new(DIM);
        vectors.extend(chunks.iter().map(|c| (c.id.clone(), unit_vector(&mut rng))));
        let questions: Vec<(String, Vec<f32>)> = (0..QUESTIONS)
            .map(|_| (sentence(&mut rng, 6), unit_vector(&mut rng)))
            .collect();

        let bm25 = measure(QUESTIONS, |i| {
            std::hint::black_box(
                index
                    .search(&bot, "en", &questions[i].0, 8)
                    .expect("search"),
            );
        });
        let dense = measure(QUESTIONS, |i| {
            std::hint::black_box(vectors.top_k(&questions[i].1, 20));
        });
        let hybrid = measure(QUESTIONS, |i| {
            let (q, v) = &questions[i];
            std::hint::black_box(
                index
                    .hybrid_search(&bot, "en", q, Some((v, &vectors)), 8)
                    .expect("hybrid"),
            );
        });
        println!(
            "{size:>9}  {:>7.2} / {:>6.2}  {:>7.2} / {:>6.2}  {:>7.2} / {:>6.2}  {:>9.2}x   (indexed in {:.1} s)",
            bm25.0,
            bm25.1,
            dense.0,
            dense.1,
            hybrid.0,
            hybrid.1,
            hybrid.0 / bm25.0,
            indexing.as_secs_f64()
        );
    }
}
