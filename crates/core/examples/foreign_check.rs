//! Counts how `language::foreign` classifies the eval questions: a cross-lingual set
//! (eval/cross/<lang>.jsonl, each question's `language` against the bot's) and a corpus's own.
//!
//!     cargo run -p sitechat-core --example foreign_check
use std::collections::BTreeMap;

fn main() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../eval");
    let sets = [
        ("cross/fr.jsonl", "fr"),
        ("cross/es.jsonl", "es"),
        ("cross/de.jsonl", "de"),
        ("shop-fr/questions.jsonl", "fr"),
        ("shop-es/questions.jsonl", "es"),
        ("shop-de/questions.jsonl", "de"),
        ("shop/questions.jsonl", "en"),
    ];
    let mut counts: BTreeMap<(bool, bool), usize> = BTreeMap::new();
    for (file, bot) in sets {
        let text = std::fs::read_to_string(format!("{root}/{file}")).unwrap();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let q: serde_json::Value = serde_json::from_str(line).unwrap();
            if q["expect"] == "handoff" {
                continue;
            }
            let language = q["language"].as_str().unwrap_or("en");
            let question = q["question"].as_str().unwrap();
            let truth = language != bot;
            let found = sitechat_core::language::foreign(question, bot) > 0.5;
            *counts.entry((truth, found)).or_default() += 1;
            if truth != found && std::env::args().any(|a| a == "-v") {
                println!("{file} {bot}: foreign {truth}, found {found}: {question}");
            }
        }
    }
    for ((truth, found), n) in counts {
        println!("foreign {truth:5}, found {found:5}: {n}");
    }
}
