//! How well each model's vectors separate the 200 visitor questions of
//! eval/questions/groups.json (20 known groups of 10), independent of any clustering:
//!
//! - the "supervised bound": each question is put in the known group whose other members it is
//!   closest to on average (cosine, itself excluded), and the adjusted Rand index of that
//!   assignment against the known groups is printed: what a grouping that knew the groups'
//!   members but not where this question goes could reach;
//! - the mean cosine between questions of the same group and of different groups, and the gap.
//!
//! ```text
//! cargo run --release -p sitechat-embed --example group_bound
//! ```
//!
//! multilingual-e5-small embeds the questions with `query: ` (a symmetric task). Needs
//! `make models`. Each model is measured as it is, centred (the questions' mean vector
//! subtracted), and both models' centred vectors side by side. On 2026-12-06: MiniLM 0.789,
//! centred 0.798; e5 0.642, centred 0.685; both centred 0.836, the only one above issue 18's 0.8.

use sitechat_embed::{
    cosine, default_models_dir,
    groups::{adjusted_rand_index, centred, side_by_side},
    AnyEmbedder, Model, Role,
};

#[derive(serde::Deserialize)]
struct Group {
    group: String,
    questions: Vec<String>,
}

fn main() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../eval/questions/groups.json"
    );
    let groups: Vec<Group> =
        serde_json::from_str(&std::fs::read_to_string(path).expect("read groups.json"))
            .expect("groups.json");
    let mut texts = Vec::new();
    let mut truth = Vec::new();
    for (g, group) in groups.iter().enumerate() {
        for q in &group.questions {
            texts.push(q.as_str());
            truth.push(g);
        }
    }
    println!(
        "{} questions in {} groups (eval/questions/groups.json)\n",
        texts.len(),
        groups.len()
    );
    println!(
        "{:<24} {:>16} {:>13} {:>14} {:>8}",
        "model", "supervised ARI", "within-group", "between-group", "gap"
    );
    let mut raw = Vec::new();
    for model in Model::ALL {
        let embedder = AnyEmbedder::load(model, &default_models_dir())
            .unwrap_or_else(|e| panic!("{model}: {e}"));
        raw.push((
            model.name(),
            embedder.embed(&texts, Role::Query).expect("embed"),
        ));
    }
    // Variants: each model's vectors as they are, centred (the mean vector of these questions
    // subtracted, then normalised again: e5's cosines sit in a narrow band), and both models'
    // centred vectors side by side.
    let mut variants: Vec<(String, Vec<Vec<f32>>)> = Vec::new();
    for (name, v) in &raw {
        variants.push((name.to_string(), v.clone()));
        variants.push((format!("{name}, centred"), centred(v)));
    }
    let both: Vec<Vec<f32>> = {
        let parts: Vec<Vec<Vec<f32>>> = raw.iter().map(|(_, v)| centred(v)).collect();
        let weight = 1.0 / parts.len() as f32;
        let parts: Vec<(&[Vec<f32>], f32)> = parts.iter().map(|p| (&p[..], weight)).collect();
        side_by_side(&parts)
    };
    variants.push(("both, centred".to_owned(), both));
    for (name, v) in &variants {
        report(name, v, &truth, &groups, &texts);
    }
}

fn report(name: &str, v: &[Vec<f32>], truth: &[usize], groups: &[Group], texts: &[&str]) {
    {
        let n = v.len();
        let sim: Vec<Vec<f32>> = (0..n)
            .map(|i| (0..n).map(|j| cosine(&v[i], &v[j])).collect())
            .collect();
        let (mut within, mut within_n, mut between, mut between_n) = (0f64, 0usize, 0f64, 0usize);
        let mut found = Vec::with_capacity(n);
        for i in 0..n {
            let mut sums = vec![0f64; groups.len()];
            let mut counts = vec![0usize; groups.len()];
            for j in (0..n).filter(|&j| j != i) {
                sums[truth[j]] += f64::from(sim[i][j]);
                counts[truth[j]] += 1;
                if truth[i] == truth[j] {
                    within += f64::from(sim[i][j]);
                    within_n += 1;
                } else {
                    between += f64::from(sim[i][j]);
                    between_n += 1;
                }
            }
            let best = (0..groups.len())
                .max_by(|&a, &b| {
                    (sums[a] / counts[a] as f64).total_cmp(&(sums[b] / counts[b] as f64))
                })
                .expect("groups");
            found.push(best);
        }
        let ari = adjusted_rand_index(truth, &found);
        let (within, between) = (within / within_n as f64, between / between_n as f64);
        println!(
            "{:<24} {:>16.3} {:>13.3} {:>14.3} {:>8.3}",
            name,
            ari,
            within,
            between,
            within - between
        );
        let misplaced: Vec<String> = (0..n)
            .filter(|&i| found[i] != truth[i])
            .map(|i| format!("{:?} -> {}", texts[i], groups[found[i]].group))
            .collect();
        println!(
            "  {} misplaced, e.g. {:?}",
            misplaced.len(),
            &misplaced[..misplaced.len().min(3)]
        );
    }
}
