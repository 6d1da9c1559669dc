//! The latency of one short question, alone, for each model: `cargo run --release -p
//! sitechat-embed --example query_time [-- RUNS]` (needs `make models`). The same figure as the
//! first line of each model in `cargo bench -p sitechat-embed`, without the bench's other
//! workloads, for trying a change to the forward pass quickly.

use std::time::{Duration, Instant};

use sitechat_embed::{
    default_models_dir, locate, locate_e5, E5Embedder, E5Weights, Embedder, Role,
};

fn median(mut xs: Vec<Duration>) -> f64 {
    xs.sort();
    xs[xs.len() / 2].as_secs_f64() * 1e3
}

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(50);
    let dir = default_models_dir();
    let minilm = Embedder::load(&locate(&dir).expect("MiniLM")).expect("load MiniLM");
    // E5_WEIGHTS=q4 or f16 runs the linear layers another way than the default (f32).
    let weights = match std::env::var("E5_WEIGHTS").as_deref() {
        Ok("q4") => E5Weights::Q4,
        Ok("f16") => E5Weights::F16,
        _ => E5Weights::F32,
    };
    let e5 = E5Embedder::load_with(&locate_e5(&dir).expect("e5"), weights).expect("load e5");
    let questions = [
        "What are your business hours?",
        "how long do I have to send something back",
        "Comment retourner un produit ?",
        "can I pay with a card at the Bath shop",
    ];
    // The median time of `f(i)` for the i-th question, taken in turn after one warm-up each.
    let time = |f: &dyn Fn(usize)| {
        (0..questions.len()).for_each(f);
        median(
            (0..runs)
                .map(|i| {
                    let t = Instant::now();
                    f(i % questions.len());
                    t.elapsed()
                })
                .collect(),
        )
    };
    let m = time(&|i| {
        minilm.embed(&[questions[i]]).unwrap();
    });
    let e = time(&|i| {
        e5.embed(&[questions[i]], Role::Query).unwrap();
    });
    let tokens = time(&|i| {
        e5.token_ids(questions[i], Role::Query).unwrap();
    });
    let ids: Vec<Vec<u32>> = questions
        .iter()
        .map(|q| e5.token_ids(q, Role::Query).unwrap())
        .collect();
    let forward = time(&|i| {
        e5.embed_ids(&[&ids[i]]).unwrap();
    });
    println!("one question, median of {runs}: all-MiniLM-L6-v2 {m:.1} ms, multilingual-e5-small {e:.1} ms (tokenising {tokens:.2} ms, the forward pass alone {forward:.1} ms)");
}
