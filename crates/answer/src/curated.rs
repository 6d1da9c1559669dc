//! Curated answers: when a visitor's question is, closely enough, one of the bot's curated
//! questions, its curated answer is the reply, verbatim.
//!
//! A curated answer is a passage whose `heading` is the curated question and whose `text` is the
//! answer ([`Hit::curated`]). Among the passages retrieved for a question, a curated one wins
//! when the **match score** of its question to the visitor's reaches [`MIN_MATCH`] (or the bot's
//! `confidence_threshold`, if that is higher):
//!
//! ```text
//! lexical = min(share(visitor → curated), share(curated → visitor))
//! share(a → b) = Σ idf(t) for terms t of question a that are in question b
//!                ──────────────────────────────────────────────────────────
//!                Σ idf(t) for all terms t of question a
//! meaning = clamp((cosine similarity of the passage to the question − 0.30) / 0.40, 0, 1)
//! match   = lexical                               without embeddings
//!         = max(lexical, (2 · lexical + meaning) / 3)   with them
//! ```
//!
//! - **Both directions.** The visitor's question must be in the curated one *and* the curated
//!   one in the visitor's: "refund?" does not match "How do refunds for gift cards bought abroad
//!   work?" (most of the curated question is missing from the visitor's), nor does "How long do
//!   refunds for gift cards take?" match "How long does a refund take?" (the visitor asks about
//!   something more specific). One shared word is never enough.
//! - **Terms and weights** are the composer's: the bot's analyser (stop words removed, stemmed)
//!   and BM25's idf over the bot's passages. Unlike the composer, the whole question is compared,
//!   interrogatives included, and phrasing words keep their full weight: two questions are
//!   compared, and "how long" or "take" are part of what is asked.
//! - **Meaning** (the embedding of the curated question with its answer, compared to the
//!   visitor's question) can only lift a near miss: at best it adds a third of what lexical lacks,
//!   so it carries a question whose words cover at least 70% both ways over the line, and never a
//!   paraphrase that shares few words. The passage's embedding includes the answer, which dilutes
//!   the question's meaning, so it is not trusted on its own — a wrong curated answer is returned
//!   verbatim and with confidence, which is worse than an extractive answer or a fallback.
//!
//! With the threshold at 0.8: "How long do refunds take?" matches "How long does a refund take?"
//! (the same terms: 1.0); "Do you ship to Norway?" does not (0); "Can I get a refund?" does not
//! (it shares "refund" only: at most 0.5).

use std::collections::HashSet;

use sitechat_core::model::SourceRef;
use sitechat_search::{analyze_with, Hit, TextAnalyzer};

/// The least match score for a curated answer to be returned.
pub const MIN_MATCH: f64 = 0.8;

/// The distinct analysed terms of a question, as compared here (interrogatives included).
pub fn terms(analyzer: &mut TextAnalyzer, question: &str) -> Vec<String> {
    let mut terms = analyze_with(analyzer, question);
    terms.sort();
    terms.dedup();
    terms
}

/// The IDF-weighted share of `from`'s terms found in `to`; 0 when `from` has none.
fn share(from: &[String], to: &HashSet<&str>, weight: &impl Fn(&str) -> f64) -> f64 {
    let total: f64 = from.iter().map(|t| weight(t)).sum();
    if total <= 0.0 {
        return 0.0;
    }
    let found: f64 = from
        .iter()
        .filter(|t| to.contains(t.as_str()))
        .map(|t| weight(t))
        .sum();
    found / total
}

/// How much two questions' terms overlap, in both directions (the lesser of the two shares).
pub fn lexical(visitor: &[String], curated: &[String], weight: impl Fn(&str) -> f64) -> f64 {
    let v: HashSet<&str> = visitor.iter().map(String::as_str).collect();
    let c: HashSet<&str> = curated.iter().map(String::as_str).collect();
    share(visitor, &c, &weight).min(share(curated, &v, &weight))
}

/// The match score from the lexical overlap and, when known, the meaning (0–1, see
/// [`crate::semantic_score`]).
pub fn score(lexical: f64, meaning: Option<f64>) -> f64 {
    match meaning {
        Some(m) => lexical.max((2.0 * lexical + m) / 3.0),
        None => lexical,
    }
}

/// How a curated answer is cited: its question as the title, its answer as the snippet.
pub fn cite(hit: &Hit) -> SourceRef {
    let mut cited = crate::compose::cite(hit);
    let question = hit.heading.trim();
    cited.title = if question.is_empty() {
        hit.title.clone()
    } else {
        question.to_owned()
    };
    cited
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weights(pairs: &'static [(&'static str, f64)]) -> impl Fn(&str) -> f64 {
        move |t| pairs.iter().find(|(k, _)| *k == t).map_or(1.8, |(_, w)| *w)
    }

    fn lexical_of(visitor: &str, curated: &str, w: impl Fn(&str) -> f64) -> f64 {
        let mut analyzer = sitechat_search::analyzer("en");
        let v = terms(&mut analyzer, visitor);
        let c = terms(&mut analyzer, curated);
        lexical(&v, &c, w)
    }

    const CURATED: &str = "How long does a refund take?";
    // "refund" is in many passages (a low idf); the other words in none.
    const IDF: &[(&str, f64)] = &[("refund", 0.4)];

    #[test]
    fn the_same_question_in_other_words_forms_matches() {
        let l = lexical_of("How long do refunds take?", CURATED, weights(IDF));
        assert!((l - 1.0).abs() < 1e-9, "{l}");
        assert!(score(l, None) >= MIN_MATCH);
        assert!(score(l, Some(0.0)) >= MIN_MATCH, "meaning never lowers it");
    }

    #[test]
    fn another_question_does_not_match() {
        let l = lexical_of("Do you ship to Norway?", CURATED, weights(IDF));
        assert_eq!(l, 0.0);
        assert!(score(l, Some(1.0)) < MIN_MATCH);
    }

    #[test]
    fn one_shared_word_is_not_enough_even_when_it_is_rare() {
        for idf in [IDF, &[("refund", 5.0)]] {
            for visitor in [
                "Can I get a refund?",
                "refund",
                "Do refunds apply to gift cards bought abroad?",
            ] {
                let l = lexical_of(visitor, CURATED, weights(idf));
                assert!(score(l, Some(1.0)) < MIN_MATCH, "{visitor}: {l}");
            }
        }
    }

    #[test]
    fn both_directions_count() {
        // The visitor's only word is in the curated question, but not the other way round.
        let l = lexical_of(
            "refunds",
            "How do refunds for gift cards bought abroad work?",
            weights(&[]),
        );
        assert!(l < 0.3, "{l}");
        // And a more specific question does not take a general answer.
        let l = lexical_of(
            "How long does a refund for gift cards take?",
            CURATED,
            weights(IDF),
        );
        assert!(score(l, Some(1.0)) < MIN_MATCH, "{l}");
    }

    #[test]
    fn meaning_lifts_only_a_near_miss() {
        assert!(score(0.72, Some(1.0)) >= MIN_MATCH);
        assert!(score(0.72, Some(0.3)) < MIN_MATCH);
        assert!(score(0.6, Some(1.0)) < MIN_MATCH);
        assert!(score(0.0, Some(1.0)) < MIN_MATCH);
    }
}
