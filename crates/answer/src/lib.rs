//! The answer engine: retrieve → compose → confidence → sources → fallback decision.
//!
//! The default engine is **extractive**: it never writes a word of its own. It retrieves the bot's
//! best passages (BM25, fused with dense retrieval when the bot's passages are embedded), splits
//! them into sentences, and returns the sentences that cover the question best, with the passages
//! they came from as sources. A question asking for a detail (a phone number, an address, a
//! price, a duration, a time of day: [`wanted`]) is answered by a sentence that gives one when
//! the passages have it.
//!
//! ## Confidence
//!
//! The confidence of an answer is the probability, fitted on the evaluation corpora, that the
//! draft answers the question ([`confidence`]). It is read from [`Signals`] that retrieval and
//! composition measure anyway:
//!
//! - **coverage**: the share of the question's information that the answer's sentences contain
//!   (a sentence counts with the heading of its passage, which is its context). Terms are the
//!   question's words as the bot's index analyses them (stop words removed, stemmed), weighed by
//!   BM25's inverse document frequency over the bot's passages, so rare, specific words
//!   ("refund", "Saturday", a product name) count for much and common ones for little. A generic
//!   word of phrasing ("take", "long") that appears in none of the passages weighs a quarter, so
//!   "how long do refunds take?" is not held against a page that never says "take";
//! - **heading**: the share in the answering passage's heading;
//! - **unseen**: the share in words no passage uses: a question about something the site never
//!   mentions ("do you sell helicopters?") has much of its information there;
//! - **sentence** and **passage**: the best cosine similarity of a sentence of the best passages
//!   to the question, and the answering passage's (with semantic retrieval). The sentences of the
//!   eight retrieved passages (at most 80, their first 240 characters; see [`sentence_texts`])
//!   have vectors the server embeds ahead, with each passage, or at question time for a passage
//!   not done yet; their similarity also helps choose the answering sentence (see [`compose()`]);
//! - **keyword_rank** and **dense_rank**: how BM25 and meaning ranked the answering passage
//!   before fusion (whether the two retrievers agree);
//! - **margin**: how far the answering passage is ahead of the best passage of another page.
//!
//! Without semantic retrieval, or while none of the bot's passages has a vector yet, a second
//! model fitted on the word signals alone applies. A passage found by meaning alone (no sentence
//! shares a word with the question, or no sentence vectors) is answered by its opening sentences,
//! with `coverage` 0, when it is surer than the sentences that share words.
//! `eval/README.md` has the fit's ROC AUC and the trade-off of threshold against wrong answers
//! and declines.
//!
//! An answer below the bot's threshold is replaced by its fallback message, with up to three
//! topics near the question that the bot can answer about.
//!
//! ## Curated answers
//!
//! Before composing, the engine looks among the retrieved passages for curated answers (sources
//! of kind `qa`: a question and its answer). When a curated question matches the visitor's
//! closely enough, its answer is the reply, verbatim, with outcome `curated`, the match score as
//! its confidence, and the curated answer as its only source (titled with its question). What
//! "closely enough" means is in [`curated`]. Otherwise curated answers are passages like any
//! other, which the composer may quote.

pub mod compose;
pub mod confidence;
pub mod curated;
pub mod intents;
pub mod leads;
pub mod question;
pub mod responder;
pub mod wanted;

use std::{collections::HashSet, sync::Arc};

use sitechat_core::{
    model::{BotSettings, Outcome, SourceRef},
    vector::Quantised,
    BotId,
};
use sitechat_search::{Hit, SearchError, SearchIndex, VectorSet};

/// What semantic retrieval and sentence choice need, when the bot's passages are embedded.
pub type Dense<'a> = Option<Meaning<'a>>;

/// A question's embedding, the bot's chunk embeddings, and a way to embed the sentences of the
/// retrieved passages (to pick the sentence that means what the question asks).
#[derive(Clone, Copy)]
pub struct Meaning<'a> {
    pub question: &'a [f32],
    pub vectors: &'a VectorSet,
    pub sentences: Option<&'a dyn SentenceEmbedder>,
}

/// Embeds sentences of the bot's passages with the model the passages were embedded with
/// (L2-normalised vectors). The server's implementation reads the vectors embedded at ingest
/// (each passage's [`sentence_texts`]) and caches them, since the same passages answer many
/// questions.
pub trait SentenceEmbedder: Sync {
    /// One vector per sentence, in order; `None` when the model cannot embed now.
    /// (Held quantised, as they are stored.)
    fn embed(&self, sentences: &[SentenceRef<'_>]) -> Option<Vec<Arc<Quantised>>>;
}

impl<'a> Meaning<'a> {
    fn retrieval(&self) -> (&'a [f32], &'a VectorSet) {
        (self.question, self.vectors)
    }

    /// The cosine similarity of each sentence to the question (`None` without a sentence
    /// embedder).
    fn similarities(&self, sentences: &[SentenceRef<'_>]) -> Option<Vec<f32>> {
        let vectors = self.sentences?.embed(sentences)?;
        Some(
            vectors
                .iter()
                .map(|v| self.vectors.scale().apply(v.dot(self.question)))
                .collect(),
        )
    }
}

pub use compose::{cite, compose, sentence_texts, Draft, SentenceRef};
pub use confidence::Signals;
pub use responder::{Asked, Generator, Responder, Response, Semantic, Turn, Wording};

/// How many passages are retrieved for a question.
pub const RETRIEVE_K: usize = 8;

/// What the bot replies.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub outcome: Outcome,
    pub text: String,
    pub confidence: f64,
    pub sources: Vec<SourceRef>,
    /// For a fallback: up to three topics the bot can answer about, near the question.
    pub suggestions: Vec<String>,
    /// The passages retrieved for the question, best first: what a language-model engine is
    /// given to word the reply from.
    pub passages: Vec<Hit>,
    /// What the confidence of a composed answer (or of the draft a fallback replaced) was
    /// fitted from; `None` for a curated answer or when nothing was composed.
    pub signals: Option<Signals>,
}

/// How many suggestions a fallback offers at most.
pub const MAX_SUGGESTIONS: usize = 3;

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
        dense: Dense<'_>,
    ) -> Result<Answer, SearchError> {
        let read = question::read(language, question);
        let hits = self.index.hybrid_search(
            bot,
            language,
            &read.topic,
            dense.as_ref().map(Meaning::retrieval),
            RETRIEVE_K,
        )?;
        if let Some(answer) = self.curated(bot, language, settings, question, &hits)? {
            return Ok(answer);
        }
        let max_chars = settings.answer_max_chars as usize;
        let draft = self.draft_from(bot, language, &read, &hits, dense.as_ref(), max_chars)?;
        let signals = draft.as_ref().map(|(_, s)| *s);
        let mut answer = decide(draft.map(|(d, _)| d), settings);
        answer.signals = signals;
        if answer.outcome == Outcome::Fallback {
            answer.suggestions = topics(&hits);
        }
        answer.passages = hits;
        Ok(answer)
    }

    /// The curated answer whose question best matches the visitor's, when one matches closely
    /// enough (see [`curated`]).
    pub fn curated(
        &self,
        bot: &BotId,
        language: &str,
        settings: &BotSettings,
        question: &str,
        hits: &[Hit],
    ) -> Result<Option<Answer>, SearchError> {
        let candidates: Vec<&Hit> = hits
            .iter()
            .filter(|h| h.curated && !h.heading.trim().is_empty())
            .collect();
        if candidates.is_empty() {
            return Ok(None);
        }
        let mut analyzer = sitechat_search::analyzer(language);
        let visitor = curated::terms(&mut analyzer, question);
        if visitor.is_empty() {
            return Ok(None);
        }
        let questions: Vec<Vec<String>> = candidates
            .iter()
            .map(|h| curated::terms(&mut analyzer, &h.heading))
            .collect();
        let mut all: Vec<String> = visitor
            .iter()
            .chain(questions.iter().flatten())
            .cloned()
            .collect();
        all.sort();
        all.dedup();
        let idf = self.index.idf(bot, language, &all)?;
        let weight = |term: &str| {
            all.binary_search_by(|t| t.as_str().cmp(term))
                .map_or(0.0, |i| f64::from(idf[i]))
        };
        let least = curated::MIN_MATCH.max(settings.confidence_threshold);
        let mut best: Option<(f64, &Hit)> = None;
        for (hit, terms) in candidates.into_iter().zip(&questions) {
            let lexical = curated::lexical(&visitor, terms, weight);
            let meaning = hit.similarity.map(semantic_score);
            let score = curated::score(lexical, meaning);
            if score >= least && best.is_none_or(|(b, _)| score > b) {
                best = Some((score, hit));
            }
        }
        Ok(best.map(|(score, hit)| Answer {
            outcome: Outcome::Curated,
            text: hit.text.clone(),
            confidence: score.min(1.0),
            sources: vec![curated::cite(hit)],
            suggestions: Vec::new(),
            passages: Vec::new(),
            signals: None,
        }))
    }

    /// The passages the engine answers a question from, best first: what `answer` composes from.
    /// Blocks: call from a blocking pool.
    pub fn retrieve(
        &self,
        bot: &BotId,
        language: &str,
        question: &str,
        dense: Dense<'_>,
        k: usize,
    ) -> Result<Vec<Hit>, SearchError> {
        let question = question::read(language, question);
        self.index.hybrid_search(
            bot,
            language,
            &question.topic,
            dense.as_ref().map(Meaning::retrieval),
            k,
        )
    }

    /// The best extractive answer from passages retrieved for the question.
    fn draft_from(
        &self,
        bot: &BotId,
        language: &str,
        question: &question::Question,
        hits: &[Hit],
        meaning: Option<&Meaning<'_>>,
        max_chars: usize,
    ) -> Result<Option<(Draft, Signals)>, SearchError> {
        let mut analyzer = sitechat_search::analyzer(language);
        let mut terms = sitechat_search::analyze_with(&mut analyzer, &question.topic);
        terms.sort();
        terms.dedup();
        if terms.is_empty() {
            return Ok(None);
        }
        if hits.is_empty() {
            return Ok(None);
        }
        // A product code, model or version that the knowledge never names ("psycopg2", "XR-7000")
        // is something the site does not cover: answering about a neighbour would mislead.
        let codes: Vec<String> = terms.iter().filter(|t| is_code(t)).cloned().collect();
        if !self.index.knows_all(bot, language, &codes)? {
            return Ok(None);
        }
        // So is a version the knowledge never names ("python 3.12" in a FAQ written for 3.11):
        // the index splits "3.12" into "3" and "12", which it knows apart, so it is looked up
        // as a phrase.
        for version in question::versions(language, question, &mut analyzer) {
            let parts = sitechat_search::analyze_with(&mut analyzer, &version);
            if !self.index.knows_phrase(bot, language, &parts)? {
                return Ok(None);
            }
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
        let total: f64 = idf.iter().map(|&w| f64::from(w)).sum();
        if total <= 0.0 {
            return Ok(None);
        }
        // The share of the question's information in the terms `has` picks (an empty sum is
        // −0.0, reported as 0).
        let share = |has: &dyn Fn(&String, f32) -> bool| {
            let sum: f64 = terms
                .iter()
                .zip(&idf)
                .filter(|(t, &w)| has(t, w))
                .map(|(_, &w)| f64::from(w))
                .sum();
            if sum > 0.0 {
                sum / total
            } else {
                0.0
            }
        };
        let unseen = share(&|_, w| (w - absent).abs() < 1e-6);
        let calibration = meaning.map_or_else(confidence::Calibration::shipped, |m| {
            confidence::Calibration::for_model(m.vectors.model())
        });
        // What retrieval and composition measured about a draft, and the confidence fitted from
        // it (see [`confidence`]).
        let judge = |d: &mut Draft, analyzer: &mut sitechat_search::TextAnalyzer| -> Signals {
            let hit = &hits[d.passage];
            let heading: HashSet<String> = sitechat_search::analyze_with(analyzer, &hit.heading)
                .into_iter()
                .collect();
            let other = hits
                .iter()
                .filter(|h| h.page() != hit.page())
                .map(|h| h.score)
                .reduce(f32::max);
            let margin = match other {
                Some(b) if hit.score > 0.0 => f64::from((hit.score - b) / hit.score),
                Some(_) => -1.0,
                None => 1.0,
            };
            let reciprocal = |rank: Option<u32>| rank.map_or(0.0, |r| 1.0 / (1.0 + f64::from(r)));
            let passage = hit.similarity.map(f64::from);
            let signals = Signals {
                coverage: d.confidence.max(0.0) + 0.0,
                heading: share(&|t, _| heading.contains(t)),
                unseen,
                sentence: d.similarity.map(f64::from).or(passage),
                contrast: d
                    .similarity
                    .zip(d.typical)
                    .map(|(best, typical)| f64::from(best - typical)),
                passage,
                keyword_rank: reciprocal(hit.ranks.keyword),
                dense_rank: passage.map(|_| reciprocal(hit.ranks.dense)),
                margin: margin.clamp(-1.0, 1.0),
                // BM25's idf of a term in no passage is ln(1 + (n + 0.5) / 0.5) = ln(2 (1 + n)).
                tiny: (2.0 * (-f64::from(absent)).exp()).min(1.0),
                foreign: question.foreign,
            };
            d.confidence = calibration.confidence(&signals);
            signals
        };
        let similarities =
            |sentences: &[SentenceRef<'_>]| meaning.and_then(|m| m.similarities(sentences));
        let by_sentence = meaning.is_some_and(|m| m.sentences.is_some());
        // Best effort: a page that cannot be read now only leaves the parallel table out.
        let page_mates = |hit: &Hit| {
            self.index
                .page_passages(bot, language, hit.page(), PAGE_MATES)
                .unwrap_or_default()
        };
        let draft = compose(
            &terms,
            &idf,
            hits,
            question,
            &mut analyzer,
            compose::Lookups {
                similarities: by_sentence.then_some(&similarities as compose::Similarities<'_>),
                page_mates: Some(&page_mates),
            },
            max_chars,
        )
        .map(|mut d| {
            let signals = judge(&mut d, &mut analyzer);
            (d, signals)
        });
        if draft.as_ref().is_some_and(|(d, _)| d.similarity.is_some()) {
            return Ok(draft);
        }
        // Without sentences weighed by meaning: the passage closest in meaning, answered by its
        // opening, when no sentence shares the question's words or when it is surer than the
        // sentences that do.
        let closest = hits
            .iter()
            .enumerate()
            .filter(|(_, h)| h.similarity.is_some())
            .max_by(|(_, a), (_, b)| {
                a.similarity
                    .partial_cmp(&b.similarity)
                    .unwrap_or(std::cmp::Ordering::Equal)
            })
            .map(|(i, hit)| {
                let mut d = compose::lead(hit, max_chars);
                d.passage = i;
                let signals = judge(&mut d, &mut analyzer);
                (d, signals)
            });
        Ok(match (draft, closest) {
            (Some(d), Some(c)) if c.0.confidence > d.0.confidence => Some(c),
            (None, c) => c,
            (d, _) => d,
        })
    }
}

/// Most passages of the answering passage's page read for a parallel table
/// ([`compose::PageMates`]).
const PAGE_MATES: usize = 64;

/// Whether an analysed term is a code: a letter, then digits among letters ("psycopg2",
/// "xr7000", "sha256"). Ordinals and amounts ("2nd", "9am", "5gb") start with their digits.
fn is_code(term: &str) -> bool {
    term.chars().count() >= 3
        && term.starts_with(char::is_alphabetic)
        && term.chars().any(|c| c.is_ascii_digit())
}

/// The headings (or titles) of retrieved passages, distinct, at most [`MAX_SUGGESTIONS`]: topics
/// near the question that the bot can answer about.
fn topics(hits: &[Hit]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for hit in hits {
        let topic = if hit.heading.trim().is_empty() {
            hit.title.trim()
        } else {
            hit.heading.trim()
        };
        let fits = !topic.is_empty() && topic.chars().count() <= 80;
        if fits && !out.iter().any(|t| t.eq_ignore_ascii_case(topic)) {
            out.push(topic.to_owned());
        }
        if out.len() == MAX_SUGGESTIONS {
            break;
        }
    }
    out
}

/// Similarity below which a passage says nothing about the question, and above which it surely
/// does (all-MiniLM-L6-v2 cosine).
const SIMILARITY_FLOOR: f32 = 0.30;
const SIMILARITY_CEILING: f32 = 0.70;

/// A cosine similarity mapped linearly from [`SIMILARITY_FLOOR`, `SIMILARITY_CEILING`] to [0, 1].
pub fn semantic_score(similarity: f32) -> f64 {
    f64::from(
        ((similarity - SIMILARITY_FLOOR) / (SIMILARITY_CEILING - SIMILARITY_FLOOR)).clamp(0.0, 1.0),
    )
}

/// Applies the bot's threshold: a confident draft is the answer, anything else the fallback.
pub fn decide(draft: Option<Draft>, settings: &BotSettings) -> Answer {
    match draft {
        Some(d) if d.confidence >= settings.confidence_threshold && d.confidence > 0.0 => Answer {
            outcome: Outcome::Answered,
            text: d.text,
            confidence: d.confidence,
            sources: d.sources,
            suggestions: Vec::new(),
            passages: Vec::new(),
            signals: None,
        },
        other => Answer {
            outcome: Outcome::Fallback,
            text: settings.fallback_message.clone(),
            confidence: other.map_or(0.0, |d| d.confidence),
            sources: Vec::new(),
            suggestions: Vec::new(),
            passages: Vec::new(),
            signals: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use sitechat_core::{model::Chunk, ChunkId, SourceId};

    use super::*;

    fn passage(bot: &BotId, title: &str, heading: &str, text: &str, curated: bool) -> Chunk {
        Chunk {
            id: ChunkId::generate(),
            bot_id: bot.clone(),
            source_id: SourceId::generate(),
            ordinal: 0,
            title: title.to_owned(),
            heading: heading.to_owned(),
            anchor: None,
            url: None,
            text: text.to_owned(),
            curated,
        }
    }

    fn engine() -> (AnswerEngine, BotId, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let index = Arc::new(SearchIndex::open(dir.path()).unwrap());
        let bot = BotId::generate();
        // A curated answer's question is its title and its heading.
        let chunk = |heading: &str, text: &str, curated: bool| {
            let title = if curated { heading } else { "Shop FAQ" };
            passage(&bot, title, heading, text, curated)
        };
        let chunks = [
            chunk(
                "Returns",
                "You can return any unused item within 30 days. Refunds take 5 business days.",
                false,
            ),
            chunk(
                "Opening hours",
                "On Saturdays we open from 10am to 4pm.",
                false,
            ),
            chunk(
                "Planters",
                "The PL200 planter holds 20 litres of soil and drains through its base. Its \
                 sensor needs firmware 2.1 or later.",
                false,
            ),
            chunk(
                "How long does a refund take?",
                "Refunds take up to 60 days for members.",
                true,
            ),
        ];
        index.add_chunks(&bot, "en", &chunks).unwrap();
        (AnswerEngine::new(index), bot, dir)
    }

    #[test]
    fn a_curated_answer_wins_over_a_passage() {
        let (engine, bot, _dir) = engine();
        let settings = BotSettings::default();
        let answer = engine
            .answer(&bot, "en", &settings, "How long do refunds take?", None)
            .unwrap();
        assert_eq!(answer.outcome, Outcome::Curated, "{answer:?}");
        assert_eq!(answer.text, "Refunds take up to 60 days for members.");
        assert!((answer.confidence - 1.0).abs() < 1e-9, "{answer:?}");
        assert_eq!(answer.sources.len(), 1);
        assert_eq!(answer.sources[0].title, "How long does a refund take?");
        assert_eq!(
            answer.sources[0].snippet,
            "Refunds take up to 60 days for members."
        );
    }

    #[test]
    fn other_questions_are_composed_from_the_passages() {
        let (engine, bot, _dir) = engine();
        let settings = BotSettings::default();
        for question in [
            "Are you open on Saturdays?",
            "Do you ship to Norway?",
            "Can I get a refund?",
        ] {
            let answer = engine
                .answer(&bot, "en", &settings, question, None)
                .unwrap();
            assert_ne!(answer.outcome, Outcome::Curated, "{question}: {answer:?}");
        }
        // A bot that wants more certainty than the match has gets no curated answer.
        let strict = BotSettings {
            confidence_threshold: 1.1,
            ..BotSettings::default()
        };
        let answer = engine
            .answer(&bot, "en", &strict, "How long do refunds take?", None)
            .unwrap();
        assert_ne!(answer.outcome, Outcome::Curated);
    }

    #[test]
    fn an_answer_from_a_passage_not_yet_embedded_is_judged_by_its_words() {
        // The bot is still embedding: the passage that answers has no vector yet, another has.
        let dir = tempfile::tempdir().unwrap();
        let index = Arc::new(SearchIndex::open(dir.path()).unwrap());
        let bot = BotId::generate();
        let (waiting, embedded) = (
            passage(
                &bot,
                "Shop FAQ",
                "",
                "On Saturdays we open from 10am to 4pm.",
                false,
            ),
            passage(
                &bot,
                "Shop FAQ",
                "",
                "Our planters are made of clay.",
                false,
            ),
        );
        index
            .add_chunks(&bot, "en", &[waiting.clone(), embedded.clone()])
            .unwrap();
        let mut vectors = VectorSet::new(2);
        vectors.extend([(embedded.id.clone(), vec![1.0, 0.0])]);
        let meaning = Meaning {
            question: &[1.0, 0.0],
            vectors: &vectors,
            sentences: None,
        };
        let answer = AnswerEngine::new(index)
            .answer(
                &bot,
                "en",
                &BotSettings::default(),
                "When do you open on Saturdays?",
                Some(meaning),
            )
            .unwrap();
        assert_eq!(answer.outcome, Outcome::Answered, "{answer:?}");
        assert_eq!(answer.sources[0].chunk_id, waiting.id);
        // Its words cover the question, and the meaning that could not be measured does not
        // count against it: the model of words alone judges it.
        let signals = answer.signals.unwrap();
        assert!(!signals.dense(), "{signals:?}");
        assert!((signals.coverage - 1.0).abs() < 1e-9, "{signals:?}");
        let words = confidence::Calibration::shipped()
            .lexical
            .probability(&signals);
        assert!((answer.confidence - words).abs() < 1e-9, "{answer:?}");
    }

    #[test]
    fn a_code_the_knowledge_never_names_is_not_answered_about_a_neighbour() {
        let (engine, bot, _dir) = engine();
        let settings = BotSettings::default();
        let known = engine
            .answer(
                &bot,
                "en",
                &settings,
                "How much soil does the PL200 planter hold?",
                None,
            )
            .unwrap();
        assert_eq!(known.outcome, Outcome::Answered, "{known:?}");
        assert!(known.text.contains("20 litres"), "{known:?}");
        let unknown = engine
            .answer(
                &bot,
                "en",
                &settings,
                "How much soil does the PL300 planter hold?",
                None,
            )
            .unwrap();
        assert_eq!(unknown.outcome, Outcome::Fallback, "{unknown:?}");
        // Ordinals and amounts are not codes.
        let amount = engine
            .answer(
                &bot,
                "en",
                &settings,
                "Are you open at 10am on Saturdays, the 2nd?",
                None,
            )
            .unwrap();
        assert_eq!(amount.outcome, Outcome::Answered, "{amount:?}");
        // A version is looked up whole: "2.2" is not known from the "2" and "1" of "2.1".
        let ask = |question: &str| {
            engine
                .answer(&bot, "en", &settings, question, None)
                .unwrap()
        };
        let version = ask("Does the PL200 sensor work with firmware 2.1?");
        assert_eq!(version.outcome, Outcome::Answered, "{version:?}");
        let unknown = ask("Does the PL200 sensor work with firmware 2.2?");
        assert_eq!(unknown.outcome, Outcome::Fallback, "{unknown:?}");
        assert!(is_code("psycopg2") && is_code("xr7000") && is_code("sha256"));
        assert!(!is_code("2nd") && !is_code("9am") && !is_code("255") && !is_code("v2"));
    }
}
