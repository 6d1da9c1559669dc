//! Embedding throughput with the real models: `cargo bench -p sitechat-embed` (needs `make models`).
//!
//! Both models run the same workloads in the same run: all-MiniLM-L6-v2, then
//! multilingual-e5-small with its 4-bit weights dequantised to f32 at load (what sitechat loads;
//! both run on `encoder.rs`: a question's linear layers through `few_rows` over e5's bytes,
//! batches through candle's matrix product). With `EMBED_BENCH_Q4=1`, e5 also runs with its
//! weights kept in Q4_0 (candle's quantised matmul; about 8 more minutes, and 2–4 times slower,
//! which is why sitechat dequantises). e5 embeds the queries with `query: ` and the chunks and
//! sentences with `passage: `. Each figure is the median of several runs after one warm-up run:
//! - one short query, alone (latency; the median of 51 runs);
//! - 32 short queries in one `embed` call (queries/s);
//! - ~225-token chunks, as ingest produces them, in one `embed` call (chunks/s);
//! - the sentences of the same chunks, in one `embed` call, as ingest embeds them after the
//!   chunks so that questions need not (chunks/s and sentences/s).
//!
//! The allocator is mimalloc, as in the `sitechat` binary (glibc's malloc gives the large
//! attention buffers back to the kernel and faults them in again: a third slower on chunks).
//!
//! With `SITECHAT_TORCH_PYTHON` naming a Python that has CPU PyTorch and sentence-transformers
//! (`scripts/bench/torch-setup.sh` makes one outside the clone; `make bench` does), the chunks
//! are also embedded by sentence-transformers with the same all-MiniLM-L6-v2 files
//! (`scripts/bench/torch-embed.py`), in rounds that alternate with sitechat's, and the bench
//! prints the ratio of sitechat's chunks/s to PyTorch's in each round and their median
//! (issue 21's floor: at least 1.0).

use std::time::{Duration, Instant};

use sitechat_embed::{
    default_models_dir, locate, locate_e5, E5Embedder, E5Weights, EmbedError, Embedder, Role,
};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const RUNS: usize = 7;
/// Rounds of the side-by-side comparison with PyTorch, each sitechat's median then PyTorch's.
const TORCH_ROUNDS: usize = 3;
/// Runs of the one-query latency: a run takes milliseconds, and 7 of them were at the mercy of
/// the shared machine's noise (three runs of the bench gave e5 47.6, 21.4 and 27.8 ms).
const QUERY_RUNS: usize = 51;
const CHUNK_RUNS: usize = 5;
const CHUNKS: usize = 32;

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn time(runs: usize, mut f: impl FnMut()) -> Duration {
    f(); // warm-up
    median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .collect(),
    )
}

const WORDS: &[&str] = &[
    "the",
    "account",
    "settings",
    "page",
    "lets",
    "you",
    "change",
    "your",
    "password",
    "billing",
    "address",
    "and",
    "notification",
    "preferences",
    "invoices",
    "are",
    "sent",
    "monthly",
    "to",
    "email",
    "on",
    "file",
    "refunds",
    "take",
    "five",
    "business",
    "days",
    "after",
    "we",
    "receive",
    "returned",
    "item",
    "support",
    "is",
    "open",
    "from",
    "9am",
    "until",
    "5pm",
    "shipping",
    "abroad",
    "costs",
    "extra",
    "depending",
    "destination",
    "country",
    "orders",
    "over",
    "fifty",
    "euros",
    "ship",
    "free",
];

/// A deterministic pseudo-prose chunk of about `words` words (~225 tokens for 190 words).
fn chunk(seed: usize, words: usize) -> String {
    let mut s = String::new();
    let mut x = seed.wrapping_mul(2654435761) | 1;
    for i in 0..words {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if i > 0 {
            s.push(if i % 15 == 0 { '.' } else { ' ' });
            if i % 15 == 0 {
                s.push(' ');
            }
        }
        s.push_str(WORDS[x % WORDS.len()]);
    }
    s.push('.');
    s
}

/// One model's way of embedding texts in a role.
type EmbedFn<'a> = Box<dyn Fn(&[&str], Role) -> Result<Vec<Vec<f32>>, EmbedError> + 'a>;

fn main() {
    let dir = default_models_dir();
    let files = locate(&dir).unwrap_or_else(|e| panic!("{e}"));
    let e5_files = locate_e5(&dir).unwrap_or_else(|e| panic!("{e}"));
    let t = Instant::now();
    let minilm = Embedder::load(&files).expect("load all-MiniLM-L6-v2");
    println!("all-MiniLM-L6-v2 loaded in {} ms", t.elapsed().as_millis());
    let e5_q4 = std::env::var_os("EMBED_BENCH_Q4").map(|_| {
        let t = Instant::now();
        let e5 = E5Embedder::load_with(&e5_files, E5Weights::Q4).expect("load e5 (Q4_0)");
        println!(
            "multilingual-e5-small (Q4_0) loaded in {} ms",
            t.elapsed().as_millis()
        );
        e5
    });
    let t = Instant::now();
    let e5_f32 = E5Embedder::load_with(&e5_files, E5Weights::F32).expect("load e5 (f32)");
    println!(
        "multilingual-e5-small (dequantised to f32) loaded in {} ms",
        t.elapsed().as_millis()
    );
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        // Other work on the machine skews the figures: say how busy it was.
        println!("load average before the runs: {}", load.trim());
    }

    let queries: Vec<String> = (0..32)
        .map(|i| {
            format!(
                "how do I {} my {} {i}?",
                WORDS[i % 7 + 5],
                WORDS[i % 11 + 9]
            )
        })
        .collect();
    let queries: Vec<&str> = queries.iter().map(String::as_str).collect();
    let chunks: Vec<String> = (0..CHUNKS).map(|i| chunk(i + 1, 186 + i % 9)).collect();
    let chunks: Vec<&str> = chunks.iter().map(String::as_str).collect();
    for (name, path) in [
        ("all-MiniLM-L6-v2", &files.tokenizer),
        ("multilingual-e5-small", &e5_files.tokenizer),
    ] {
        let mut tokenizer = tokenizers::Tokenizer::from_file(path).expect("tokenizer");
        tokenizer.with_truncation(None).expect("no truncation");
        let tokens: usize = chunks
            .iter()
            .map(|c| tokenizer.encode_fast(*c, true).expect("encode").len())
            .sum();
        println!("chunks: {} {name} tokens on average", tokens / CHUNKS);
    }
    let sentences: Vec<&str> = chunks
        .iter()
        .flat_map(|c| c.split_inclusive(". "))
        .map(str::trim)
        .collect();

    let mut models: Vec<(&str, EmbedFn)> = vec![(
        "all-MiniLM-L6-v2",
        Box::new(|texts: &[&str], _| minilm.embed(texts)),
    )];
    if let Some(e5_q4) = &e5_q4 {
        models.push((
            "multilingual-e5-small, Q4_0 matmul",
            Box::new(|texts: &[&str], role| e5_q4.embed(texts, role)),
        ));
    }
    models.push((
        "multilingual-e5-small, f32 dequantised",
        Box::new(|texts: &[&str], role| e5_f32.embed(texts, role)),
    ));
    for (name, embed) in &models {
        let one = time(QUERY_RUNS, || {
            embed(&["What are your business hours?"], Role::Query).unwrap();
        });
        let batch = time(RUNS, || {
            embed(&queries, Role::Query).unwrap();
        });
        let long = time(CHUNK_RUNS, || {
            embed(&chunks, Role::Passage).unwrap();
        });
        let split = time(CHUNK_RUNS, || {
            embed(&sentences, Role::Passage).unwrap();
        });

        println!();
        println!(
            "{:<40} {:>12}",
            format!("sitechat-embed ({name})"),
            "median"
        );
        println!(
            "{:<40} {:>9.1} ms",
            "1 short query",
            one.as_secs_f64() * 1e3
        );
        println!(
            "{:<40} {:>7.0} q/s  ({:.0} ms per call)",
            "32 short queries, one call",
            32.0 / batch.as_secs_f64(),
            batch.as_secs_f64() * 1e3
        );
        println!(
            "{:<40} {:>7.1} chunks/s  ({:.2} s per call)",
            format!("{CHUNKS} chunks of ~225 tokens, one call"),
            CHUNKS as f64 / long.as_secs_f64(),
            long.as_secs_f64()
        );
        println!(
            "{:<40} {:>7.1} chunks/s  ({:.0} sentences/s, {:.2} s per call)",
            format!("their {} sentences, one call", sentences.len()),
            CHUNKS as f64 / split.as_secs_f64(),
            sentences.len() as f64 / split.as_secs_f64(),
            split.as_secs_f64()
        );
    }

    match std::env::var_os("SITECHAT_TORCH_PYTHON") {
        Some(python) => against_pytorch(&minilm, &files, &chunks, python.as_ref()),
        None => println!(
            "\nnot compared with PyTorch: set SITECHAT_TORCH_PYTHON to the python that \
             scripts/bench/torch-setup.sh prints (make bench does)"
        ),
    }
}

/// sitechat's all-MiniLM-L6-v2 against sentence-transformers on PyTorch, on the same chunks and
/// the same model files, in alternating rounds so that both see the same machine.
fn against_pytorch(
    minilm: &Embedder,
    files: &sitechat_embed::ModelFiles,
    chunks: &[&str],
    python: &std::path::Path,
) {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scripts/bench/torch-embed.py"
    );
    let model_dir = files.weights.parent().expect("the model's folder");
    let texts = tempfile::NamedTempFile::new().expect("a temporary file");
    std::fs::write(
        texts.path(),
        serde_json::to_vec(chunks).expect("chunks as JSON"),
    )
    .expect("write the chunks");
    println!();
    println!(
        "{CHUNKS} chunks of ~225 tokens, one call: sitechat against sentence-transformers \
         (medians of {CHUNK_RUNS} calls per round)"
    );
    let mut ratios = Vec::new();
    for round in 1..=TORCH_ROUNDS {
        let ours = time(CHUNK_RUNS, || {
            minilm.embed(chunks).unwrap();
        });
        let out = std::process::Command::new(python)
            .arg(script)
            .arg(model_dir)
            .arg(texts.path())
            .arg(CHUNK_RUNS.to_string())
            .output()
            .expect("run scripts/bench/torch-embed.py");
        assert!(
            out.status.success(),
            "torch-embed.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let torch: serde_json::Value =
            serde_json::from_slice(&out.stdout).expect("torch-embed.py prints JSON");
        let theirs = torch["seconds"].as_f64().expect("seconds");
        let ours_rate = CHUNKS as f64 / ours.as_secs_f64();
        let theirs_rate = CHUNKS as f64 / theirs;
        ratios.push(ours_rate / theirs_rate);
        println!(
            "round {round}: sitechat {ours_rate:.1} chunks/s, PyTorch {} ({} threads) \
             {theirs_rate:.1} chunks/s, ratio {:.2}",
            torch["torch"].as_str().unwrap_or("?"),
            torch["threads"],
            ours_rate / theirs_rate
        );
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "sitechat / PyTorch chunks/s, median of {TORCH_ROUNDS} rounds: {:.2}",
        ratios[ratios.len() / 2]
    );
}
