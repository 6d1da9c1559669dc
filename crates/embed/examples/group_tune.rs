//! Tunes the grouping of visitor questions by meaning (`sitechat_embed::groups`, which the
//! analytics service runs) offline: embeds the questions once with both models, then for each
//! variant of the vectors grid-searches the thresholds on the tune sets and measures the chosen
//! thresholds once on the held-out set (the 200 shop questions in 20 groups of
//! eval/questions/groups.json, never tuned on). Prints the adjusted Rand index of each.
//!
//! The tune sets: the 50 shop questions in 10 groups of eval/questions/tune.json (those of the
//! analytics test, far apart in topic) and the 162 of eval/questions/tune-hard.json, 18 groups
//! of 9 of three other businesses (a gym, a hotel, a software subscription), six groups each
//! that are close neighbours in topic (cancelling, pausing and changing a membership; opening,
//! holiday hours and the class timetable; check-in and late check-out; cancelling and moving a
//! booking). Each business is one bot's questions and is grouped apart; the hard index is the
//! mean of the three. Thresholds are chosen on the mean of the old 50's index and the hard one
//! (`TUNE_ON=old` or `TUNE_ON=hard`: on one alone).
//!
//! ```text
//! cargo run --release -p sitechat-embed --example group_tune
//! ```
//!
//! Needs `make models` (both models). The thresholds chosen are the tune target's best adjusted
//! Rand index, ties broken by the mean index of the neighbouring thresholds (a plateau rather than
//! a peak). Questions are embedded as the service embeds them: lower-cased, `query: ` for e5.
//! "Centred" is less each set's own mean; "fixed mean" is less the mean of both tune sets (212
//! questions) for every set, the held-out one included: a background that could ship as data.
//! An argument keeps only the variants whose names contain one of its `|`-separated parts.
//!
//! On 2026-12-06 (thresholds chosen on the mean of old 50 and hard; adjusted Rand index on the
//! old 50 / the hard 162 (mean of its 3 businesses) / the held-out 200):
//!
//! | variant | same, close, straggler | old 50 | hard | held-out 200 |
//! |---|---|---|---|---|
//! | MiniLM, the service's `GROUPING` (not tuned here) | 0.45, 0.30, 2 | **0.951** | 0.558 | 0.630 |
//! | MiniLM | 0.425, 0.025, 2 | **0.951** | 0.610 | 0.669 |
//! | MiniLM, centred | 0.175, 0.075, 1 | 0.916 | 0.623 | 0.653 |
//! | MiniLM, fixed mean | 0.375, 0.00, 3 | 0.903 | **0.679** | **0.732** |
//! | e5, fixed mean | 0.30, 0.20, 2 | 0.839 | 0.513 | 0.547 |
//! | both centred, 1:1 | 0.125, 0.00, 1 | 0.877 | 0.640 | 0.601 |
//! | both, fixed mean, 1:1 | 0.275, 0.00, 3 | 0.786 | 0.627 | 0.679 |
//! | both, fixed mean, 0.6:0.4 (MiniLM:e5) | 0.25, 0.00, 3 | 0.786 | 0.659 | 0.703 |
//! | both, fixed mean, 0.4:0.6 | 0.275, 0.075, 3 | 0.786 | 0.614 | 0.727 |
//! | both, fixed mean, 0.3:0.7 | 0.275, 0.05, 3 | 0.786 | 0.602 | 0.643 |
//!
//! Tuned on the hard set alone (its 162 grouped together, businesses mixed: an earlier form of
//! this example): MiniLM 0.800 / 0.571 / 0.655, MiniLM fixed mean 0.903 / 0.615 / 0.695, both
//! fixed mean 1:1 0.786 / 0.596 / 0.664. On the old 50 alone (before the hard set; reassignment
//! rounds, tried then, never raised the index): MiniLM 0.951 / 0.639 held-out, both centred 1:1
//! 0.900 / 0.670, both centred on the other set's mean 0.877 / 0.694.
//!
//! No variant reaches issue 18's 0.8 on the held-out 200: the best, MiniLM less the fixed mean,
//! reaches 0.732, and the supervised bounds of `group_bound` (thresholds chosen on the held-out
//! set itself) are 0.79 for MiniLM and 0.84 for both centred, so average-linkage thresholds on
//! these vectors leave little room. The hard set is harder than the held-out one (0.56–0.68 for
//! every variant). MiniLM less the fixed mean wins on the hard set and the held-out one but loses
//! on the old 50 (0.903 against 0.951), so the service keeps MiniLM as it is.
//!
//! Tried on 2026-12-07 (stop 36) with variants since removed, thresholds chosen the same way
//! (old 50 / hard / held-out 200):
//! - the questions' words beside the vectors (lower-cased, stop words out, stemmed, tf-idf over
//!   the set, unit vectors side by side at weight 0.2–0.4): held-out 0.548–0.654, MiniLM less the
//!   fixed mean + words 0.2 the best (0.877 / 0.614 / 0.654); words alone 0.271;
//! - MiniLM whitened by the tune sets' within-group scatter (`(S + λ tr(S)/d I)^-1/2`, λ 0.1–3):
//!   1.000 / 0.906–1.000 on the tune sets it was learned from, 0.323–0.592 held out;
//! - average linkage cut where the mean silhouette is highest (no threshold): held-out 0.403
//!   (MiniLM), 0.712 (fixed mean), 0.579 (both centred);
//! - Ward's linkage cut at a height tuned the same way: held-out 0.671 (MiniLM), 0.676 (centred),
//!   0.671 (fixed mean); the best height chosen on the held-out set itself reaches only 0.683,
//!   0.701 and 0.712.
//!
//! So no clustering of these vectors reached 0.8 on the held-out set, even with its cut chosen
//! on that set.
//!
//! Tried on 2026-12-07 (stop 38): similarities that correct for hubs (texts close to
//! everything), the usual remedy when nearest neighbours in an embedding space crowd around a
//! few points, under the same clustering. Measured with a NumPy copy of [`group`] run on this
//! example's vectors (it gives the service's thresholds 0.951 on the old 50 and 0.558 on the
//! hard set, as here, and 0.638 on the held-out 200), thresholds on a 24-step grid between the
//! tune sets' median and 99.9th-percentile similarity, chosen on the mean of old 50 and hard
//! (old 50 / hard / held-out 200; in brackets the best held-out index over the grid):
//! - cross-domain similarity local scaling (the cosine less the mean of each text's cosines
//!   to its k nearest), k 3, 5, 10: MiniLM 0.856–0.898 / 0.655–0.680 / 0.676–0.715 (0.701–0.734),
//!   less the fixed mean 0.898 / 0.666–0.679 / 0.662–0.700 (0.719–0.761);
//! - mutual proximity (the product of each text's Gaussian tail probability of the cosine):
//!   MiniLM 0.908 / 0.675 / 0.676 (0.706), less the fixed mean 0.908 / 0.675 / 0.708 (0.724),
//!   both models less the fixed mean 1:1 0.852 / 0.666 / 0.734 (0.758);
//! - shared nearest neighbours (the share of two texts' k nearest they have in common), k 5
//!   and 10: 0.527–0.687 / 0.630–0.644 / 0.638–0.723 (0.722–0.748).
//!
//! None reaches 0.8 held out even with its thresholds chosen there: the vectors, not the
//! clustering, set the limit.
//!
//! Tried on 2026-12-08 (stop 39): embedding only the question's topic, as the answer engine
//! reads it (`sitechat_answer::question::read`, which drops interrogative phrases: "can i pay
//! by card" becomes "pay by card", "i need a vat receipt" becomes "i a vat receipt"), with this
//! example's thresholds: MiniLM 0.850 / 0.669 / 0.615, less the fixed mean 0.903 / 0.661 /
//! 0.677, both centred 1:1 0.763 / 0.627 / 0.683, each lower held out than the whole question
//! (0.669, 0.732, 0.601 → only the last gains). What the phrasing asks ("i need", "can i") is
//! part of the need.

use sitechat_embed::{
    default_models_dir,
    groups::{self, adjusted_rand_index, centred, group, side_by_side, Grouping},
    AnyEmbedder, Model, Role,
};

#[derive(serde::Deserialize)]
struct Group {
    group: String,
    questions: Vec<String>,
}

/// A set's questions, in the order the service reads them (most asked, then by text), with
/// their known group.
struct Set {
    texts: Vec<String>,
    truth: Vec<usize>,
}

/// The questions of `file`, of the groups whose names start with `business` if given.
fn set(file: &str, business: &str, asked_more: Option<&str>) -> Set {
    let path = format!("{}/../../eval/questions/{file}", env!("CARGO_MANIFEST_DIR"));
    let mut groups: Vec<Group> =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
    groups.retain(|g| g.group.starts_with(business));
    let mut rows: Vec<(String, usize)> = groups
        .iter()
        .enumerate()
        .flat_map(|(g, group)| group.questions.iter().map(move |q| (q.clone(), g)))
        .collect();
    rows.sort_by(|a, b| {
        let more = |q: &str| Some(q) == asked_more;
        more(&b.0).cmp(&more(&a.0)).then_with(|| a.0.cmp(&b.0))
    });
    Set {
        texts: rows.iter().map(|r| r.0.clone()).collect(),
        truth: rows.iter().map(|r| r.1).collect(),
    }
}

fn ari(vectors: &[Vec<f32>], truth: &[usize], how: &Grouping) -> f64 {
    let mut found = vec![0; truth.len()];
    let groups = group(vectors, how);
    for (g, members) in groups.iter().enumerate() {
        for &i in members {
            found[i] = g;
        }
    }
    adjusted_rand_index(truth, &found)
}

/// One way of making the vectors: from each model's raw vectors of a set, and each model's raw
/// vectors of the fixed background (the two tune sets), the vectors grouped.
type Make = Box<dyn Fn(&[Vec<Vec<f32>>], &[Vec<Vec<f32>>]) -> Vec<Vec<f32>>>;
type Variant = (&'static str, Make);

/// `vectors` less the mean of `background`, normalised again.
fn centred_on(vectors: &[Vec<f32>], background: &[Vec<f32>]) -> Vec<Vec<f32>> {
    let mean = groups::mean(background);
    groups::centred_on(vectors, &mean)
}

/// What the thresholds are chosen on.
#[derive(Clone, Copy, PartialEq)]
enum Target {
    /// The hard tune set alone.
    Hard,
    /// The mean index of the old 50 and the hard set, each grouped alone.
    Mean,
    /// The old 50 alone (as before the hard set).
    Old,
}

fn main() {
    let old = set("tune.json", "", Some("How long do refunds take?"));
    // Each business's questions are one bot's, grouped apart.
    let hard: Vec<Set> = ["gym:", "hotel:", "software:"]
        .map(|b| set("tune-hard.json", b, None))
        .into();
    let held_out = set("groups.json", "", None);
    let target = match std::env::var("TUNE_ON").as_deref() {
        Ok("old") => Target::Old,
        Ok("hard") => Target::Hard,
        _ => Target::Mean,
    };
    let embedders: Vec<AnyEmbedder> = Model::ALL
        .into_iter()
        .map(|m| AnyEmbedder::load(m, &default_models_dir()).unwrap_or_else(|e| panic!("{m}: {e}")))
        .collect();
    let embed = |s: &Set| -> Vec<Vec<Vec<f32>>> {
        let lower: Vec<String> = s.texts.iter().map(|t| t.trim().to_lowercase()).collect();
        let refs: Vec<&str> = lower.iter().map(String::as_str).collect();
        embedders
            .iter()
            .map(|e| e.embed(&refs, Role::Query).expect("embed"))
            .collect()
    };
    let old_raw = embed(&old);
    let hard_raw: Vec<_> = hard.iter().map(&embed).collect();
    let held_raw = embed(&held_out);
    // The fixed background: both tune sets, never the held-out one.
    let background: Vec<Vec<Vec<f32>>> = (0..embedders.len())
        .map(|m| {
            let mut all = old_raw[m].clone();
            hard_raw
                .iter()
                .for_each(|h| all.extend(h[m].iter().cloned()));
            all
        })
        .collect();
    let both = |w: f32| -> Make {
        Box::new(move |own, _| {
            let (a, b) = (centred(&own[0]), centred(&own[1]));
            side_by_side(&[(&a[..], w), (&b[..], 1.0 - w)])
        })
    };
    let both_fixed = |w: f32| -> Make {
        Box::new(move |own, bg| {
            let (a, b) = (centred_on(&own[0], &bg[0]), centred_on(&own[1], &bg[1]));
            side_by_side(&[(&a[..], w), (&b[..], 1.0 - w)])
        })
    };
    let variants: Vec<Variant> = vec![
        ("MiniLM", Box::new(|own, _| own[0].clone())),
        ("MiniLM, centred", Box::new(|own, _| centred(&own[0]))),
        (
            "MiniLM, fixed mean",
            Box::new(|own, bg| centred_on(&own[0], &bg[0])),
        ),
        (
            "e5, fixed mean",
            Box::new(|own, bg| centred_on(&own[1], &bg[1])),
        ),
        ("both, centred, 1:1", both(0.5)),
        ("both, fixed mean, 1:1", both_fixed(0.5)),
        ("both, fixed mean, 0.6:0.4", both_fixed(0.6)),
        ("both, fixed mean, 0.4:0.6", both_fixed(0.4)),
        ("both, fixed mean, 0.3:0.7", both_fixed(0.3)),
    ];
    let only = std::env::args().nth(1);
    println!(
        "{:<30} {:>6} {:>6} {:>4} {:>7} {:>7} {:>8}",
        "variant", "same", "close", "strg", "old 50", "hard", "held 200"
    );
    // The service's grouping (`GROUPING` of crates/server/src/services/analytics.rs: MiniLM as
    // it is), not tuned here.
    let service = Grouping {
        same_meaning: 0.45,
        straggler: 2,
        close_enough: 0.3,
        clustered: 400,
        reassign: 0,
    };
    let hard_service = hard_raw
        .iter()
        .zip(&hard)
        .map(|(h, s)| ari(&h[0], &s.truth, &service))
        .sum::<f64>()
        / hard.len() as f64;
    println!(
        "{:<30} {:>6.3} {:>6.3} {:>4} {:>7.3} {:>7.3} {:>8.3}",
        "MiniLM, the service's",
        service.same_meaning,
        service.close_enough,
        service.straggler,
        ari(&old_raw[0], &old.truth, &service),
        hard_service,
        ari(&held_raw[0], &held_out.truth, &service)
    );
    for (name, make) in &variants {
        if only
            .as_deref()
            .is_some_and(|o| !o.split('|').any(|o| name.contains(o)))
        {
            continue;
        }
        let (ov, xv) = (make(&old_raw, &background), make(&held_raw, &background));
        let hv: Vec<Vec<Vec<f32>>> = hard_raw.iter().map(|h| make(h, &background)).collect();
        // The hard set's index: the mean of its businesses'.
        let hard_ari = |how: &Grouping| {
            hv.iter()
                .zip(&hard)
                .map(|(v, s)| ari(v, &s.truth, how))
                .sum::<f64>()
                / hard.len() as f64
        };
        let score = |how: &Grouping| -> (f64, f64) {
            let o = || ari(&ov, &old.truth, how);
            let h = || hard_ari(how);
            match target {
                Target::Old => (o(), 0.0),
                Target::Hard => (h(), 0.0),
                Target::Mean => {
                    let (o, h) = (o(), h());
                    ((o + h) / 2.0, o.min(h))
                }
            }
        };
        // The tune target's best over every straggler rule and thresholds.
        let mut best = (f64::MIN, f64::MIN, None);
        for straggler in [1, 2, 3] {
            let steps: Vec<f32> = (0..=32).map(|i| i as f32 * 0.025).collect();
            let how = |i: usize, j: usize| Grouping {
                same_meaning: steps[i],
                straggler,
                close_enough: steps[j],
                clustered: 400,
                reassign: 0,
            };
            // Stragglers join at most as readily as groups merge: only `j <= i` is a
            // candidate, `j = i + 1` is kept for the neighbours' mean.
            let n = steps.len();
            let grid: Vec<Vec<Option<f64>>> = std::thread::scope(|s| {
                let rows: Vec<_> = (0..n)
                    .map(|i| {
                        let how = &how;
                        let score = &score;
                        s.spawn(move || {
                            (0..n)
                                .map(|j| (j <= i + 1).then(|| score(&how(i, j)).0))
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                rows.into_iter().map(|r| r.join().expect("row")).collect()
            });
            let around = |i: usize, j: usize| {
                let near: Vec<f64> = grid
                    .iter()
                    .skip(i.saturating_sub(1))
                    .take(if i == 0 { 2 } else { 3 })
                    .flat_map(|r| {
                        r.iter()
                            .skip(j.saturating_sub(1))
                            .take(if j == 0 { 2 } else { 3 })
                    })
                    .flatten()
                    .copied()
                    .collect();
                near.iter().sum::<f64>() / near.len() as f64
            };
            let mut row = (f64::MIN, f64::MIN, 0, 0);
            for (i, scores) in grid.iter().enumerate() {
                for (j, score) in scores.iter().enumerate().take(i + 1) {
                    let key = (score.expect("scored"), around(i, j));
                    if key > (row.0, row.1) {
                        row = (key.0, key.1, i, j);
                    }
                }
            }
            if (row.0, row.1) > (best.0, best.1) {
                best = (row.0, row.1, Some(how(row.2, row.3)));
            }
        }
        let how = best.2.expect("a grid");
        println!(
            "{:<30} {:>6.3} {:>6.3} {:>4} {:>7.3} {:>7.3} {:>8.3}",
            name,
            how.same_meaning,
            how.close_enough,
            how.straggler,
            ari(&ov, &old.truth, &how),
            hard_ari(&how),
            ari(&xv, &held_out.truth, &how)
        );
    }
}
