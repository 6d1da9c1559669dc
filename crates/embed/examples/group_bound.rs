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

use sitechat_embed::{cosine, default_models_dir, AnyEmbedder, Model, Role};

#[derive(serde::Deserialize)]
struct Group {
    group: String,
    questions: Vec<String>,
}

/// The adjusted Rand index of two labellings of the same items.
fn adjusted_rand_index(truth: &[usize], found: &[usize]) -> f64 {
    let pairs = |n: f64| n * (n - 1.0) / 2.0;
    let rows = truth.iter().max().map_or(0, |m| m + 1);
    let cols = found.iter().max().map_or(0, |m| m + 1);
    let mut table = vec![vec![0f64; cols]; rows];
    for (&t, &f) in truth.iter().zip(found) {
        table[t][f] += 1.0;
    }
    let index: f64 = table.iter().flatten().map(|&n| pairs(n)).sum();
    let a: f64 = table.iter().map(|r| pairs(r.iter().sum())).sum();
    let b: f64 = (0..cols)
        .map(|j| pairs(table.iter().map(|r| r[j]).sum()))
        .sum();
    let expected = a * b / pairs(truth.len() as f64);
    let max = (a + b) / 2.0;
    if max == expected {
        return 1.0;
    }
    (index - expected) / (max - expected)
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
        (0..texts.len())
            .map(|i| normalised(parts.iter().flat_map(|p| p[i].iter().copied()).collect()))
            .collect()
    };
    variants.push(("both, centred".to_owned(), both));
    for (name, v) in &variants {
        report(name, v, &truth, &groups, &texts);
    }
}

fn normalised(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.iter_mut().for_each(|x| *x /= norm);
    v
}

fn centred(v: &[Vec<f32>]) -> Vec<Vec<f32>> {
    let dims = v[0].len();
    let mut mean = vec![0f32; dims];
    for x in v {
        mean.iter_mut()
            .zip(x)
            .for_each(|(m, a)| *m += a / v.len() as f32);
    }
    v.iter()
        .map(|x| normalised(x.iter().zip(&mean).map(|(a, m)| a - m).collect()))
        .collect()
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
