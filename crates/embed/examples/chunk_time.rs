//! Passage embedding throughput for each model: `cargo run --release -p sitechat-embed --example
//! chunk_time [-- RUNS [FILE]]` (needs `make models`). FILE is a JSON list of texts (for example
//! the chunks the embed bench hands to PyTorch); without it, 32 texts of about 220 tokens cut
//! from this crate's own source comments. Prints the median seconds of RUNS calls of `embed` on
//! all the texts at once, after one warm-up, as chunks/s: the same figure as the bench's chunk
//! line, quickly, for trying a change to the batch forward pass. `CHUNK_TIME_MODEL=minilm` (or
//! `e5`) times one model only. `CHUNK_TIME_CALL=32` hands the texts to `embed` that many at a
//! time, in order, as a training job does, instead of all at once. `CHUNK_TIME_VECTORS=file`
//! writes MiniLM's vectors of the texts there as a JSON list (e5's to `file.e5`), to compare
//! two builds.

use std::time::Instant;

use sitechat_embed::{default_models_dir, locate, locate_e5, E5Embedder, Embedder, Role};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let mut args = std::env::args().skip(1);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let texts: Vec<String> = match args.next() {
        Some(file) => serde_json::from_slice(&std::fs::read(file).expect("read the texts"))
            .expect("a JSON list of strings"),
        None => {
            let words: Vec<&str> = include_str!("../src/lib.rs")
                .lines()
                .filter_map(|l| l.trim().strip_prefix("//!"))
                .flat_map(str::split_whitespace)
                .collect();
            (0..32)
                .map(|i| {
                    (0..170)
                        .map(|j| words[(i * 37 + j) % words.len()])
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect()
        }
    };
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    let dir = default_models_dir();
    let only = std::env::var("CHUNK_TIME_MODEL").unwrap_or_default();
    let call: usize = std::env::var("CHUNK_TIME_CALL")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(texts.len())
        .max(1);
    let time = |f: &dyn Fn()| {
        f();
        let mut xs: Vec<f64> = (0..runs)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64()
            })
            .collect();
        xs.sort_by(f64::total_cmp);
        xs[xs.len() / 2]
    };
    let n = texts.len() as f64;
    println!("{} texts, median of {runs}:", texts.len());
    if only != "e5" {
        let minilm = Embedder::load(&locate(&dir).expect("MiniLM")).expect("load MiniLM");
        let a = time(&|| {
            for texts in texts.chunks(call) {
                minilm.embed(texts).unwrap();
            }
        });
        println!("  all-MiniLM-L6-v2 {:.1} chunks/s ({a:.2} s)", n / a);
        if let Ok(file) = std::env::var("CHUNK_TIME_VECTORS") {
            let vectors = minilm.embed(&texts).unwrap();
            std::fs::write(file, serde_json::to_vec(&vectors).unwrap()).expect("write the vectors");
        }
    }
    if only != "minilm" {
        let e5 = E5Embedder::load(&locate_e5(&dir).expect("e5")).expect("load e5");
        let b = time(&|| {
            for texts in texts.chunks(call) {
                e5.embed(texts, Role::Passage).unwrap();
            }
        });
        println!("  multilingual-e5-small {:.1} chunks/s ({b:.2} s)", n / b);
        if let Ok(file) = std::env::var("CHUNK_TIME_VECTORS") {
            let vectors = e5.embed(&texts, Role::Passage).unwrap();
            std::fs::write(format!("{file}.e5"), serde_json::to_vec(&vectors).unwrap())
                .expect("write the vectors");
        }
    }
}
