//! multilingual-e5-small vectors for eval/e5/check.py, one JSON line per input line.
//!
//! ```text
//! cargo run --release -p sitechat-embed --example e5_vectors [f32|q4|f16] < inputs.jsonl
//! ```
//!
//! Each input line is `{"role": "query" | "passage", "text": "..."}` (embedded as sitechat
//! embeds it: NFC, prefix, tokenizer.json) or `{"ids": [0, ..., 2]}` (token ids run through the
//! encoder as they are). Each output line is `{"ids": [...], "vec": [384 floats]}`. The model is
//! found as `make models` leaves it (`$SITECHAT_MODELS_DIR`).

use std::io::{BufRead, Write};

use sitechat_embed::{default_models_dir, locate_e5, E5Embedder, E5Weights, Role};

fn main() {
    let weights = match std::env::args().nth(1).as_deref() {
        None | Some("f32") => E5Weights::F32,
        Some("q4") => E5Weights::Q4,
        Some("f16") => E5Weights::F16,
        Some(other) => panic!("weights {other:?}: q4, f32 or f16"),
    };
    let files = locate_e5(&default_models_dir()).unwrap_or_else(|e| panic!("{e}"));
    let embedder = E5Embedder::load_with(&files, weights).unwrap_or_else(|e| panic!("{e}"));
    let inputs: Vec<serde_json::Value> = std::io::stdin()
        .lock()
        .lines()
        .map(|l| l.expect("read stdin"))
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(&l).expect("a JSON line"))
        .collect();
    // All texts of a role in one call (sorted, padded sub-batches, as sitechat embeds them), all
    // id sequences in another.
    let mut ids: Vec<Vec<u32>> = Vec::with_capacity(inputs.len());
    let mut vecs: Vec<Vec<f32>> = vec![Vec::new(); inputs.len()];
    let mut by_role: Vec<(Role, Vec<usize>)> = vec![(Role::Query, vec![]), (Role::Passage, vec![])];
    let mut raw: Vec<usize> = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        if let Some(given) = input.get("ids") {
            ids.push(serde_json::from_value(given.clone()).expect("ids"));
            raw.push(i);
            continue;
        }
        let text = input["text"].as_str().expect("text");
        let role = match input["role"].as_str() {
            Some("query") => Role::Query,
            Some("passage") => Role::Passage,
            other => panic!("role {other:?}: query or passage"),
        };
        ids.push(embedder.token_ids(text, role).expect("tokenise"));
        by_role
            .iter_mut()
            .find(|(r, _)| *r == role)
            .expect("role")
            .1
            .push(i);
    }
    for (role, which) in &by_role {
        let texts: Vec<&str> = which
            .iter()
            .map(|&i| inputs[i]["text"].as_str().unwrap())
            .collect();
        for (&i, v) in which
            .iter()
            .zip(embedder.embed(&texts, *role).expect("embed"))
        {
            vecs[i] = v;
        }
    }
    let given: Vec<&[u32]> = raw.iter().map(|&i| ids[i].as_slice()).collect();
    for (&i, v) in raw
        .iter()
        .zip(embedder.embed_ids(&given).expect("embed ids"))
    {
        vecs[i] = v;
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for (ids, vec) in ids.iter().zip(&vecs) {
        serde_json::to_writer(&mut out, &serde_json::json!({"ids": ids, "vec": vec}))
            .expect("write");
        writeln!(out).expect("write");
    }
}
