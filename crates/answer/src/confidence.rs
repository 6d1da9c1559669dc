//! How sure the engine is that a draft answers the question: a probability fitted, not set by
//! hand, from what retrieval and composition measured on the way to the draft ([`Signals`]).
//!
//! The model is a logistic regression, `confidence = 1 / (1 + e^−(b + Σ wᵢ·xᵢ))`, whose weights
//! are the data file `calibration.json` next to this crate's sources. `make calibrate` refits them
//! (`eval/calibrate.py`) on the tune halves of every evaluation corpus together, from the signals
//! `sitechat eval` records for each question (the chat's `explain` option), and prints the ROC AUC
//! and the threshold trade-off on the test halves. A question the corpus marks answerable is a
//! positive example and one it marks unanswerable a negative one, weighed so that both classes
//! count equally: 0.5 is where the two are equally likely.
//!
//! There are two models. `dense` is used when the bot's passages are embedded, and reads every
//! signal; `lexical` is used without meaning (no embedding model, or passages not embedded yet),
//! and reads only the signals that words alone give.
//!
//! A multilingual model's calibration has a third, `foreign`, for a question in another of the
//! bot languages than the bot's (a Spanish visitor on a French bot): its words share nothing
//! with the knowledge, so it reads only what meaning measured, and it is fitted on such
//! questions (`eval/cross/`).
//!
//! Each embedding model has its own calibration: `calibration.json` is all-MiniLM-L6-v2's (and
//! the one without meaning), `calibration-multilingual-e5-small.json` multilingual-e5-small's,
//! fitted on corpora in several languages, cross-lingual questions among them, where the
//! question's words say less.

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

/// What retrieval and composition measured about a reply, from which its confidence (a fitted
/// logistic regression) was computed. Shares are of the question's information: the BM25
/// inverse document frequencies of its terms over the bot's passages, with generic words of
/// phrasing that no passage uses weighing a quarter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(as = ConfidenceSignals)]
pub struct Signals {
    /// The share of the question's information that the reply has (a sentence counts with its
    /// passage's heading).
    pub coverage: f64,
    /// The share that the answering passage's heading has: a question-shaped heading is the
    /// strongest signal a support site gives.
    pub heading: f64,
    /// The share in terms that no passage of the bot uses ("helicopters" in a garden shop).
    pub unseen: f64,
    /// The best cosine similarity of a sentence of the best passages to the question.
    pub sentence: Option<f64>,
    /// How far `sentence` stands out: it minus the median similarity of the sentences weighed.
    pub contrast: Option<f64>,
    /// The cosine similarity of the answering passage to the question.
    pub passage: Option<f64>,
    /// `1 / (1 + rank)` of the answering passage among BM25's candidates; 0 when BM25 did not
    /// find it.
    pub keyword_rank: f64,
    /// The same among the dense candidates (`None` without meaning).
    pub dense_rank: Option<f64>,
    /// How far the answering passage's retrieval score is ahead of the best passage of another
    /// page, relative to its own: `(a − b) / a`, in [−1, 1]; 1 when no other page was found.
    pub margin: f64,
    /// How little the bot knows: `1 / (1 + its passages)`, 0.5 for a bot that knows one short
    /// text and near 0 for a website. A bot that knows a few sentences uses few words, so most
    /// of a question's words are unseen by it even when it answers the question.
    pub tiny: f64,
    /// 1 when the question is in another of the bot languages than the bot's (a Spanish visitor
    /// on a French bot), whose words then say nothing of whether the knowledge answers it; 0 for
    /// a question in the bot's language ([`sitechat_core::language::foreign`]). It chooses the
    /// `foreign` model where the calibration has one. `native` is `1 − foreign`.
    pub foreign: f64,
}

impl Signals {
    /// The signals by name, in a fixed order (what the calibration file's weights name).
    pub fn named(&self) -> [(&'static str, Option<f64>); 12] {
        [
            ("coverage", Some(self.coverage)),
            ("heading", Some(self.heading)),
            ("unseen", Some(self.unseen)),
            ("sentence", self.sentence),
            ("contrast", self.contrast),
            ("passage", self.passage),
            ("keyword_rank", Some(self.keyword_rank)),
            ("dense_rank", self.dense_rank),
            ("margin", Some(self.margin)),
            ("tiny", Some(self.tiny)),
            ("foreign", Some(self.foreign)),
            ("native", Some(1.0 - self.foreign)),
        ]
    }

    /// Whether meaning was measured: the dense model applies.
    pub fn dense(&self) -> bool {
        self.sentence.is_some() && self.passage.is_some() && self.dense_rank.is_some()
    }
}

/// A fitted logistic regression over named signals. A weight's name is a signal's, or signals'
/// joined by `*` for their product (`unseen*tiny`).
#[derive(Debug, Clone, Deserialize)]
pub struct Model {
    pub intercept: f64,
    pub weights: Vec<(String, f64)>,
}

impl Model {
    /// The probability that the draft answers the question. A signal the model weighs but the
    /// draft does not have counts as 0.
    pub fn probability(&self, signals: &Signals) -> f64 {
        let named = signals.named();
        let value = |name: &str| {
            named
                .iter()
                .find(|(n, _)| *n == name)
                .and_then(|(_, x)| *x)
                .unwrap_or(0.0)
        };
        let z = self.weights.iter().fold(self.intercept, |z, (name, w)| {
            z + w * name.split('*').map(value).product::<f64>()
        });
        1.0 / (1.0 + (-z).exp())
    }
}

/// The fitted models (see the module documentation).
#[derive(Debug, Clone, Deserialize)]
pub struct Calibration {
    pub dense: Model,
    pub lexical: Model,
    /// For a question in another bot language, when its passages are embedded (multilingual
    /// models only).
    #[serde(default)]
    pub foreign: Option<Model>,
}

impl Calibration {
    /// The calibration shipped with this build.
    pub fn shipped() -> &'static Calibration {
        static SHIPPED: LazyLock<Calibration> = LazyLock::new(|| {
            serde_json::from_str(include_str!("../calibration.json"))
                .expect("crates/answer/calibration.json is a calibration (see eval/calibrate.py)")
        });
        &SHIPPED
    }

    /// The calibration of the embedding model named `model` (as [`sitechat_search::VectorSet::model`]
    /// names it); MiniLM's, the shipped one, for any other.
    pub fn for_model(model: &str) -> &'static Calibration {
        static E5: LazyLock<Calibration> = LazyLock::new(|| {
            serde_json::from_str(include_str!("../calibration-multilingual-e5-small.json")).expect(
                "crates/answer/calibration-multilingual-e5-small.json is a calibration (see eval/calibrate.py)",
            )
        });
        if model == "multilingual-e5-small" {
            &E5
        } else {
            Self::shipped()
        }
    }

    /// The confidence of a draft with these signals.
    pub fn confidence(&self, signals: &Signals) -> f64 {
        if let (true, true, Some(foreign)) =
            (signals.dense(), signals.foreign >= 0.5, &self.foreign)
        {
            foreign.probability(signals)
        } else if signals.dense() {
            self.dense.probability(signals)
        } else {
            self.lexical.probability(signals)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_calibrations_read_and_name_only_known_signals() {
        let known = Signals::default().named().map(|(n, _)| n);
        let models = ["all-MiniLM-L6-v2", "multilingual-e5-small"]
            .map(Calibration::for_model)
            .into_iter()
            .flat_map(|c| [Some(&c.dense), Some(&c.lexical), c.foreign.as_ref()])
            .flatten();
        for model in models {
            assert!(!model.weights.is_empty());
            for (name, w) in &model.weights {
                for factor in name.split('*') {
                    assert!(known.contains(&factor), "unknown signal {factor} in {name}");
                }
                assert!(w.is_finite());
            }
        }
        assert!(
            Calibration::for_model("multilingual-e5-small")
                .foreign
                .is_some(),
            "the multilingual model answers visitors in other bot languages"
        );
        assert!(Calibration::shipped().foreign.is_none());
        for (name, _) in &Calibration::shipped().lexical.weights {
            for factor in name.split('*') {
                assert!(
                    !["sentence", "contrast", "passage", "dense_rank"].contains(&factor),
                    "the lexical model reads {name}, which needs meaning"
                );
            }
        }
    }

    #[test]
    fn a_foreign_question_is_judged_by_meaning_not_by_the_words_it_cannot_share() {
        let calibration = Calibration::for_model("multilingual-e5-small");
        // A Spanish question on a French bot whose passage means the same: no word in common.
        let close = Signals {
            coverage: 0.05,
            heading: 0.0,
            unseen: 0.9,
            sentence: Some(0.88),
            contrast: Some(0.05),
            passage: Some(0.87),
            keyword_rank: 0.0,
            dense_rank: Some(1.0),
            margin: 0.3,
            tiny: 0.02,
            foreign: 1.0,
        };
        let far = Signals {
            sentence: Some(0.78),
            passage: Some(0.76),
            ..close
        };
        let native = |s: Signals| Signals { foreign: 0.0, ..s };
        assert!(calibration.confidence(&close) > calibration.confidence(&native(close)));
        assert!(calibration.confidence(&close) > calibration.confidence(&far));
    }

    #[test]
    fn a_draft_that_covers_the_question_in_words_and_meaning_is_surer_than_one_that_does_not() {
        let calibration = Calibration::shipped();
        let sure = Signals {
            coverage: 1.0,
            heading: 0.8,
            unseen: 0.0,
            sentence: Some(0.8),
            contrast: Some(0.4),
            passage: Some(0.7),
            keyword_rank: 1.0,
            dense_rank: Some(1.0),
            margin: 0.5,
            tiny: 0.02,
            foreign: 0.0,
        };
        let unsure = Signals {
            coverage: 0.2,
            heading: 0.0,
            unseen: 0.7,
            sentence: Some(0.3),
            contrast: Some(0.05),
            passage: Some(0.2),
            keyword_rank: 0.1,
            dense_rank: Some(0.1),
            margin: 0.0,
            tiny: 0.02,
            foreign: 0.0,
        };
        assert!(calibration.confidence(&sure) > 0.8);
        assert!(calibration.confidence(&unsure) < 0.2);
        let words = |s: Signals| Signals {
            sentence: None,
            contrast: None,
            passage: None,
            dense_rank: None,
            ..s
        };
        assert!(calibration.confidence(&words(sure)) > calibration.confidence(&words(unsure)));
    }
}
