//! Local generation speed with the real model: `cargo bench -p sitechat-local` (needs
//! `make models`; reads `SITECHAT_MODELS_DIR`, else `~/.cache/sitechat/models`).
//!
//! Loads the GGUF file twice, as it is (SmolLM2's Q4_1, the baseline) and requantised to Q8_0
//! (what sitechat runs), then answers a ~400-token grounded prompt (built by
//! `sitechat_llm::build_messages` from three passages, as the server does) greedily: one
//! warm-up run each, then 5 measured runs (3 of the slow baseline), alternating. Prints the load times, the medians
//! of prompt tokens/s and generation tokens/s, and the Q8_0/Q4_1 ratios. Other processes using
//! the CPU at the same time slow candle down far more than their share (its threads wait for
//! each other spinning): run it on a quiet machine.

use std::{ops::ControlFlow, path::PathBuf, time::Instant};

use sitechat_llm::{build_messages, ChatMessage, Passage, PromptInput};
use sitechat_local::{locate, GenParams, Generation, LoadOptions, LocalModel};

const RUNS: usize = 5;
/// The baseline is slow (its prompt alone takes ~15 s): fewer runs.
const BASELINE_RUNS: usize = 3;
const MAX_TOKENS: u32 = 64;

fn models_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SITECHAT_MODELS_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".cache").join("sitechat").join("models")
}

fn prompt() -> Vec<ChatMessage> {
    let passages = [
        Passage {
            title: "FAQ › Opening hours".into(),
            url: Some("https://shop.example/faq#hours".into()),
            text: "Our shop in Lyon is open Monday to Friday from 9am to 7pm and on Saturdays \
                   from 10am to 4pm. We are closed on Sundays and public holidays."
                .into(),
        },
        Passage {
            title: "FAQ › Returns".into(),
            url: Some("https://shop.example/faq#returns".into()),
            text: "You can return any item within 30 days of delivery for a full refund, as \
                   long as it is unused and in its original packaging. Print the prepaid label \
                   from your account page, drop the parcel at any post office, and the refund \
                   reaches your card within 5 working days of our receiving it."
                .into(),
        },
        Passage {
            title: "FAQ › Delivery".into(),
            url: Some("https://shop.example/faq#delivery".into()),
            text: "Standard delivery in France takes 2 to 4 working days and costs 4.90 euros, \
                   free above 60 euros. Express delivery arrives the next working day when \
                   ordered before 2pm and costs 9.90 euros. We ship to every country of the \
                   European Union in 3 to 7 working days."
                .into(),
        },
    ];
    build_messages(
        &PromptInput {
            question: "How long do I have to return an item, and how do I get my money back?",
            passages: &passages,
            history: &[],
            language: "en",
            bot_name: "Shop assistant",
        },
        3_000,
    )
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn load(path: &std::path::Path, requantize: bool) -> (LocalModel, f64) {
    let started = Instant::now();
    let model = LocalModel::load_with(path, LoadOptions { requantize }).expect("the model loads");
    (model, started.elapsed().as_secs_f64())
}

fn run(model: &LocalModel, messages: &[ChatMessage]) -> Generation {
    let params = GenParams {
        max_tokens: MAX_TOKENS,
        ..GenParams::default()
    };
    model
        .generate(messages, &params, &mut |_| ControlFlow::Continue(()))
        .expect("generation works")
}

fn report(label: &str, load_seconds: f64, runs: &[Generation]) -> (f64, f64) {
    let prompt = median(runs.iter().map(|g| g.prompt_tokens_per_second()).collect());
    let generation = median(
        runs.iter()
            .map(|g| g.generation_tokens_per_second())
            .collect(),
    );
    println!(
        "{label:<20} load {load_seconds:>4.2} s | prompt {} tokens: {prompt:>5.1} tokens/s, first token after {:.2} s | generation {generation:>4.1} tokens/s ({} tokens, {:?})",
        runs[0].prompt_tokens,
        median(runs.iter().map(|g| g.prompt_seconds).collect()),
        runs[0].generated_tokens,
        runs[0].stopped_by,
    );
    (prompt, generation)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs benchmarks as tests: skip.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let files = match locate(&models_dir()) {
        Ok(files) => files,
        Err(e) => panic!("{e}"),
    };
    println!(
        "{} (greedy, at most {MAX_TOKENS} tokens; medians of {RUNS} runs, {BASELINE_RUNS} as is, after a warm-up)",
        files.gguf.display()
    );
    let (as_is, as_is_load) = load(&files.gguf, false);
    let (q8, q8_load) = load(&files.gguf, true);
    let messages = prompt();
    // One warm-up each, then the runs alternate so that anything else running on the machine
    // slows both alike.
    let (as_is_sample, q8_sample) = (run(&as_is, &messages), run(&q8, &messages));
    let (mut as_is_runs, mut q8_runs) = (Vec::new(), Vec::new());
    for i in 0..RUNS {
        if i < BASELINE_RUNS {
            as_is_runs.push(run(&as_is, &messages));
        }
        q8_runs.push(run(&q8, &messages));
    }
    let (as_is_prompt, as_is_generation) = report("as is (Q4_1)", as_is_load, &as_is_runs);
    let (q8_prompt, q8_generation) = report("requantised to Q8_0", q8_load, &q8_runs);
    println!(
        "Q8_0 / Q4_1: prompt ×{:.2}, generation ×{:.2}",
        q8_prompt / as_is_prompt,
        q8_generation / as_is_generation,
    );
    println!("answer (Q8_0): {:?}", q8_sample.text);
    println!("answer (Q4_1): {:?}", as_is_sample.text);
}
