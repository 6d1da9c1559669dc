//! The answer engine: retrieve → compose → confidence → sources → fallback decision.
//!
//! The default (and for now only) engine is **extractive**: it never writes a word of its own. It
//! retrieves the bot's best passages with BM25, splits them into sentences, and returns the
//! sentences that cover the question best, with the passages they came from as sources.
//!
//! ## Confidence
//!
//! The confidence of an answer is the share of the question's information that the answer's
//! sentences contain (a sentence counts with the heading of its passage, which is its context):
//!
//! ```text
//! confidence = Σ idf(t) for question terms t found in the answer
//!              ─────────────────────────────────────────────────
//!              Σ idf(t) for all question terms t
//! ```
//!
//! Terms are the question's words as the bot's index analyses them (stop words removed, stemmed),
//! and `idf` is BM25's inverse document frequency over the bot's passages, so rare, specific words
//! ("refund", "Saturday", a product name) count for much and common ones for little. A word that
//! appears in none of the bot's passages has the highest weight of all: a question about something
//! the site never mentions ("do you sell helicopters?") scores low even if its other words match.
//! A generic word of phrasing ("take", "long") that appears in none of the passages weighs a
//! quarter, so "how long do refunds take?" is not held against a page that never says "take".
//! 1.0 means every informative word of the question is in the answer; 0 means none is. An answer
//! below the bot's threshold is replaced by its fallback message.

mod compose;
pub mod intents;
pub mod leads;
pub mod question;

use std::sync::Arc;

use sitechat_core::{
    model::{BotSettings, Outcome, SourceRef},
    BotId,
};
use sitechat_search::{Hit, SearchError, SearchIndex};

pub use compose::{cite, compose, split_sentences, Draft};

/// How many passages are retrieved for a question.
pub const RETRIEVE_K: usize = 8;

/// What the bot replies.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub outcome: Outcome,
    pub text: String,
    pub confidence: f64,
    pub sources: Vec<SourceRef>,
}

/// The extractive answer engine over the bots' indexes.
#[derive(Clone)]
pub struct AnswerEngine {
    index: Arc<SearchIndex>,
}

impl AnswerEngine {
    pub fn new(index: Arc<SearchIndex>) -> Self {
        Self { index }
    }

    /// Answers a question from a bot's knowledge, or falls back when the knowledge does not
    /// answer it well enough. Blocks: call from a blocking pool.
    pub fn answer(
        &self,
        bot: &BotId,
        language: &str,
        settings: &BotSettings,
        question: &str,
    ) -> Result<Answer, SearchError> {
        let draft = self.draft(bot, language, question)?;
        Ok(decide(draft, settings))
    }

    /// The passages the engine answers a question from, best first: what `draft` composes from.
    /// Blocks: call from a blocking pool.
    pub fn retrieve(
        &self,
        bot: &BotId,
        language: &str,
        question: &str,
        k: usize,
    ) -> Result<Vec<Hit>, SearchError> {
        let question = question::read(language, question);
        self.index.search(bot, language, &question.topic, k)
    }

    /// The best extractive answer with its confidence, before the threshold is applied.
    pub fn draft(
        &self,
        bot: &BotId,
        language: &str,
        question: &str,
    ) -> Result<Option<Draft>, SearchError> {
        let question = question::read(language, question);
        let mut analyzer = sitechat_search::analyzer(language);
        let mut terms = sitechat_search::analyze_with(&mut analyzer, &question.topic);
        terms.sort();
        terms.dedup();
        if terms.is_empty() {
            return Ok(None);
        }
        let hits = self
            .index
            .search(bot, language, &question.topic, RETRIEVE_K)?;
        if hits.is_empty() {
            return Ok(None);
        }
        let mut idf = self.index.idf(bot, language, &terms)?;
        // A generic word that the bot's knowledge never uses ("take" in "how long do refunds
        // take?") is phrasing, not topic: it weighs a quarter. A specific word the knowledge never
        // uses ("helicopters") keeps its full weight and keeps the confidence low.
        let generic = question::generic_terms(language, &question.topic, &mut analyzer);
        let absent = self.index.unseen_idf(bot, language)?;
        for (term, weight) in terms.iter().zip(idf.iter_mut()) {
            if generic.contains(term) && (*weight - absent).abs() < 1e-6 {
                *weight *= 0.25;
            }
        }
        Ok(compose(
            &terms,
            &idf,
            &hits,
            question.multi_part,
            &mut analyzer,
        ))
    }
}

/// Applies the bot's threshold: a confident draft is the answer, anything else the fallback.
pub fn decide(draft: Option<Draft>, settings: &BotSettings) -> Answer {
    match draft {
        Some(d) if d.confidence >= settings.confidence_threshold && d.confidence > 0.0 => Answer {
            outcome: Outcome::Answered,
            text: d.text,
            confidence: d.confidence,
            sources: d.sources,
        },
        other => Answer {
            outcome: Outcome::Fallback,
            text: settings.fallback_message.clone(),
            confidence: other.map_or(0.0, |d| d.confidence),
            sources: Vec::new(),
        },
    }
}
