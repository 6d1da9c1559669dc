//! Fits the line that reads multilingual-e5-small's cosine similarities on all-MiniLM-L6-v2's
//! scale (`sitechat_search::Scale::E5_SMALL`): the answer engine's thresholds and its fitted
//! confidence were set on MiniLM's cosines, and e5's sit in a narrow band near 0.8.
//!
//! Input: JSON lines `{"question", "sentences": [..], "answerable"}` (`eval/e5/pairs.py` writes
//! them from the tune halves of the English dev corpora). Each question is embedded as a query
//! and its sentences as passages by both models. Printed: the least-squares line of MiniLM's
//! cosine on e5's over every pair, and over each question's best sentence (what the confidence
//! reads), with the correlation, and the mean best cosine of answerable and unanswerable
//! questions under MiniLM and under e5 mapped by each line.
//!
//! ```text
//! python3 eval/e5/pairs.py > /tmp/pairs.jsonl
//! cargo run --release -p sitechat-embed --example scale_fit -- /tmp/pairs.jsonl
//! ```

use sitechat_embed::{cosine, default_models_dir, AnyEmbedder, Model, Role};

#[derive(serde::Deserialize)]
struct Pair {
    question: String,
    sentences: Vec<String>,
    #[serde(default = "yes")]
    answerable: bool,
}

fn yes() -> bool {
    true
}

/// Slope, offset and correlation of the least-squares line y = a x + b.
fn line(xy: &[(f64, f64)]) -> (f64, f64, f64) {
    let n = xy.len() as f64;
    let (mx, my) = (
        xy.iter().map(|p| p.0).sum::<f64>() / n,
        xy.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let sxy: f64 = xy.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
    let sxx: f64 = xy.iter().map(|(x, _)| (x - mx).powi(2)).sum();
    let syy: f64 = xy.iter().map(|(_, y)| (y - my).powi(2)).sum();
    let a = sxy / sxx;
    (a, my - a * mx, sxy / (sxx * syy).sqrt())
}

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: scale_fit PAIRS.jsonl");
    let pairs: Vec<Pair> = std::fs::read_to_string(&path)
        .expect("read the pairs")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("a pair"))
        .collect();
    let dir = default_models_dir();
    let models = [Model::MiniLm, Model::MultilingualE5Small]
        .map(|m| AnyEmbedder::load(m, &dir).expect("make models"));
    // cosines[model][question][sentence]
    let mut cosines: Vec<Vec<Vec<f64>>> = Vec::new();
    for model in &models {
        let mut per_question = Vec::new();
        for pair in &pairs {
            let q = model.embed_one(&pair.question, Role::Query).expect("embed");
            let refs: Vec<&str> = pair.sentences.iter().map(String::as_str).collect();
            let s = model.embed(&refs, Role::Passage).expect("embed");
            per_question.push(s.iter().map(|v| f64::from(cosine(&q, v))).collect());
        }
        cosines.push(per_question);
    }
    let all: Vec<(f64, f64)> = cosines[1]
        .iter()
        .flatten()
        .zip(cosines[0].iter().flatten())
        .map(|(&e5, &mini)| (e5, mini))
        .collect();
    let best = |c: &[f64]| c.iter().copied().fold(f64::MIN, f64::max);
    let bests: Vec<(f64, f64)> = (0..pairs.len())
        .filter(|&i| !pairs[i].sentences.is_empty())
        .map(|i| (best(&cosines[1][i]), best(&cosines[0][i])))
        .collect();
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    for (what, xy) in [("every pair", &all), ("best sentence", &bests)] {
        let (a, b, r) = line(xy);
        println!(
            "{what}: n = {}, MiniLM = {a:.3} * e5 + {b:.3} (r = {r:.3})",
            xy.len()
        );
        for answerable in [true, false] {
            let of: Vec<usize> = (0..pairs.len())
                .filter(|&i| pairs[i].answerable == answerable && !pairs[i].sentences.is_empty())
                .collect();
            let mini: Vec<f64> = of.iter().map(|&i| best(&cosines[0][i])).collect();
            let e5: Vec<f64> = of.iter().map(|&i| a * best(&cosines[1][i]) + b).collect();
            println!(
                "  {}: {} questions, best cosine MiniLM {:.3}, e5 mapped {:.3}",
                if answerable {
                    "answerable"
                } else {
                    "unanswerable"
                },
                of.len(),
                mean(&mini),
                mean(&e5)
            );
        }
    }
}
