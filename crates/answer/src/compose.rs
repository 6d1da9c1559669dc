//! The extractive composer: the sentences of the retrieved passages that answer the question.

use std::{borrow::Cow, collections::HashSet};

use sitechat_core::{model::SourceRef, ChunkId};
use sitechat_search::{analyze_with, Hit, TextAnalyzer};
use unicode_segmentation::UnicodeSegmentation;

use crate::{question::Question, wanted::Wanted};

/// Share of the question's weight in a passage's heading from which the reply starts at the
/// passage's opening and goes on as far as the length allows: under a heading that asks the
/// question, the passage is the answer. A heading that is a question ("Why must 'self' be used
/// explicitly?") leads whatever its words: on the FAQ corpus, that raised the replies holding
/// the expected facts from 0.730 to 0.838 (tune) and 0.622 to 0.730 (test), and changed nothing
/// on the shop and the small-business corpora and one PostgreSQL test reply of 57.
pub const HEADING_LEAD: f64 = 0.5;
/// Least similarity to the question of the next sentence of the paragraph for the reply to go on
/// to it when it shares none of the question's words (when sentences are weighed by meaning):
/// "Returns are accepted within 30 days." does not follow "We are open Monday to Friday, 9 AM to
/// 6 PM." into the reply to "When are you open?" (eval: 0.15 changed no reply's facts, 0.2 cut
/// the replies' unrelated last sentences and lost one shop test question's fact, 0.25 the same).
pub const PARAGRAPH_SIMILARITY: f32 = 0.2;
/// Most sentences the composer picks for an answer (the reply then holds what lies between
/// them in their passage).
pub const MAX_SENTENCES: usize = 4;
/// Share of the question's weight a sentence from another passage must add to join the answer.
pub const MIN_GAIN_ELSEWHERE: f64 = 0.3;
/// Longest snippet quoted with a source, in characters.
pub const SNIPPET_CHARS: usize = 240;
/// How many of the best passages have their sentences weighed by meaning: all that retrieval
/// gives (eval: 4 passages and 40 sentences gave answers 0.465, 6 and 60 gave 0.526, 8 and 80
/// gave 0.526 with answerable questions declined 0.105 → 0.079; a cold question costs ~20 %
/// more for each 20 sentences).
pub const MEANING_PASSAGES: usize = 8;
/// Most sentences embedded for one question, and the characters of each that are embedded.
pub const MEANING_SENTENCES: usize = 80;
pub const MEANING_CHARS: usize = 240;
/// The share of words in a sentence's score; meaning has the rest.
pub const WORDS_SHARE: f64 = 0.6;
/// The best sentence keeps the one after it when the two together are at most this long and the
/// next one is about the question too: this close in meaning, or (without meaning) sharing a
/// word with it.
pub const WITH_NEXT_CHARS: usize = 500;
pub const NEXT_SIMILARITY: f32 = 0.4;
/// Least similarity of a sentence that joins the answer for the question words it adds.
pub const ADDED_SIMILARITY: f32 = 0.3;
/// Least similarity of the sentence closest in meaning in the best sentence's passage for it to
/// join the answer (eval: answers 0.456 → 0.474 at 0.3 and at 0.4, 0.465 at 0.5).
pub const CLOSEST_SIMILARITY: f32 = 0.4;
/// What a sentence's passage being close in meaning to the question adds to the sentence's
/// score: a sentence is read in its context, and a passage about the question holds the answer
/// more often than a stray sentence elsewhere that shares its words (eval: answers 0.421 →
/// 0.447; 0.3 and 0.4 did no better).
pub const PASSAGE_SHARE: f64 = 0.2;
/// What a sentence's passage being ranked high by retrieval adds to the sentence's score:
/// `RANK_SHARE / (1 + rank)`, rank 0 for the best passage. Retrieval read the whole passage with
/// both BM25 and meaning, which a sentence's own words and similarity do not replace, so in a
/// close contest the better-ranked passage answers. (Eval, answers holding the facts, before →
/// after, tune / test halves: the four English corpora 132 → 135 / 129 → 129 of 188; the
/// French, Spanish and German shop bots and their cross-lingual visitors 169 → 171 / 141 → 149.
/// At 0.2 English gained more, 135 / 131, and the other languages less, 171 / 142; at 0.3
/// English fell back to 132 on tune.)
pub const RANK_SHARE: f64 = 0.1;
/// Least share of the best sentence's score that a sentence giving the detail the question
/// wants must have to be preferred for it (see `best_sentence`).
pub const WANTED_REACH: f64 = 0.5;

/// Most characters of what a sentence ending in a colon announces when it is not a list (a code
/// sample, an example): the lines beyond are left out.
pub const ANNOUNCED_CHARS: usize = 600;
/// Most items of a list announced by a sentence ending in a colon.
pub const ANNOUNCED_ITEMS: usize = 8;

/// A sentence weighed by meaning: the passage it is from, and its text as embedded (see
/// [`sentence_texts`]).
pub type SentenceRef<'a> = (&'a ChunkId, &'a str);

/// The cosine similarity of each sentence to the question, in order; `None` when meaning is
/// unavailable.
pub type Similarities<'a> = &'a dyn Fn(&[SentenceRef<'_>]) -> Option<Vec<f32>>;

/// The other passages of a passage's page, in their order on it: where a table parallel to the
/// one answering may be when retrieval did not find it.
pub type PageMates<'a> = &'a dyn Fn(&Hit) -> Vec<Hit>;

/// What [`compose`] may look up beside the passages it is given; each is optional.
#[derive(Clone, Copy, Default)]
pub struct Lookups<'a> {
    /// How close in meaning sentences are to the question.
    pub similarities: Option<Similarities<'a>>,
    /// The other passages of a page.
    pub page_mates: Option<PageMates<'a>>,
}

/// An answer before the bot's threshold is applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub text: String,
    /// The share of the question's information the answer covers; the engine replaces it with the
    /// fitted confidence (see the crate documentation).
    pub confidence: f64,
    pub sources: Vec<SourceRef>,
    /// The highest similarity of a sentence of the passages to the question, when sentences
    /// were weighed by meaning.
    pub similarity: Option<f32>,
    /// The passage the answer is from (its best sentence's), by its index among the hits.
    pub passage: usize,
    /// The median similarity to the question of the other sentences weighed by meaning (all
    /// but the closest): how close the knowledge comes to the question in general, against
    /// which the closest sentence stands out, or not. `None` with fewer than two.
    pub typical: Option<f32>,
}

struct Sentence {
    hit: usize,
    index: usize,
    text: String,
    /// The text's words, lower-cased: what tells a repeated sentence.
    key: String,
    line: usize,
    /// See [`Piece::paragraph`].
    paragraph: usize,
    /// The sentence ending in a colon that announces this one: "To add a column, use a command
    /// like:" for the code line after it, "To return an item:" for the steps below it.
    announced_by: Option<usize>,
    /// The sentence ends in a colon and announces what follows it.
    announces: bool,
    /// See [`Piece::row`].
    row: bool,
    /// See [`Piece::defines`].
    defines: bool,
    /// Question terms in the sentence or its passage's heading.
    terms: HashSet<String>,
    /// Question terms in the sentence itself.
    own: HashSet<String>,
    /// The sentence gives the detail the question wants ([`Wanted`]).
    gives: bool,
    /// Similarity to the question, for sentences of the best passages.
    similarity: Option<f32>,
    /// From a passage of the best sentence's page that retrieval did not find: it joins only as
    /// the same row of a parallel table ([`PageMates`]).
    mate: bool,
}

impl Sentence {
    /// Whether the sentence announces what follows it or is part of what another announces: such
    /// sentences are answered together, only when one of them is the best.
    fn in_announcement(&self) -> bool {
        self.announces || self.announced_by.is_some()
    }
}

/// A sentence's similarity to the question mapped to [0, 1]: 0.2 or less says nothing, 0.7 or
/// more is as close as sentences get.
fn closeness(similarity: Option<f32>) -> f64 {
    similarity.map_or(0.0, |s| f64::from(((s - 0.2) / 0.5).clamp(0.0, 1.0)))
}

fn is_list_item(s: &str) -> bool {
    let s = s.trim_start();
    s.starts_with("- ")
        || s.starts_with("* ")
        || s.starts_with("• ")
        || s.split_once(". ").is_some_and(|(n, _)| {
            !n.is_empty() && n.len() <= 3 && n.bytes().all(|b| b.is_ascii_digit())
        })
}

/// Whether a passage is a record of `Label: value` lines (a spreadsheet row, a spec sheet): such
/// a passage is answered whole, since its lines mean something only together. The lines follow
/// each other and their labels differ: rows of a table all start with the same column name, and
/// terms defined one paragraph each are separate answers.
fn is_record(text: &str) -> bool {
    let lines: Vec<&str> = text.trim().lines().collect();
    let mut labels = HashSet::new();
    lines.len() >= 2
        && lines
            .iter()
            .all(|l| label(l).is_some_and(|label| labels.insert(label)))
}

/// The labels of a table's row as the extraction writes it (`Day: Saturday; Hours: 9am – 6pm`):
/// `None` for a line with fewer than two.
fn row_labels(line: &str) -> Option<Vec<&str>> {
    let labels: Option<Vec<&str>> = line.split("; ").map(label).collect();
    labels.filter(|l| l.len() >= 2)
}

/// The label of a `Label: value` line: at most 40 characters.
fn label(line: &str) -> Option<&str> {
    line.split_once(": ")
        .map(|(label, _)| label.trim())
        .filter(|l| !l.is_empty() && l.chars().count() <= 40)
}

/// A sentence of a passage, with the line it is on.
struct Piece {
    text: String,
    line: usize,
    /// The paragraph the line is in: paragraphs are separated by blank lines, the lines of a
    /// list, a table or a code block by single line breaks.
    paragraph: usize,
    /// The piece of the same passage that announces this one (see [`announce`]).
    announced_by: Option<usize>,
    /// The piece ends in a colon and announces the pieces after it.
    announces: bool,
    /// The line is a row of a table: it starts with the same `Label: ` as a line next to it, or
    /// has cells (`a | b`).
    row: bool,
    /// The sentence opens a definition: "listen_addresses (string): Specifies the TCP/IP…".
    defines: bool,
}

/// Most words of a defined term that opens its definition's paragraph.
const TERM_WORDS: usize = 4;

/// Whether a line opens with a defined term, as the extraction renders a `dt` and its `dd`.
fn opens_definition(line: &str) -> bool {
    line.split_once(": ").is_some_and(|(term, _)| {
        let words = term.split_whitespace().count();
        (1..=TERM_WORDS).contains(&words) && !term.contains(['.', '!', '?', ':'])
    })
}

/// Marks what each sentence of a passage ending in a colon at the end of its line announces: the
/// list items after it, or else the lines of the paragraph after it (a code sample, an example),
/// at least one and at most [`ANNOUNCED_CHARS`].
fn announce(pieces: &mut [Piece]) {
    for intro in 0..pieces.len() {
        let first = intro + 1;
        let at_line_end = pieces
            .get(first)
            .is_some_and(|next| next.line != pieces[intro].line);
        if !pieces[intro].text.ends_with(':') || !at_line_end {
            continue;
        }
        let list = is_list_item(&pieces[first].text);
        let paragraph = pieces[first].paragraph;
        let mut chars = 0;
        for (n, p) in pieces[first..].iter_mut().enumerate() {
            chars += p.text.chars().count();
            let belongs = p.paragraph == paragraph
                && p.announced_by.is_none()
                && if list {
                    is_list_item(&p.text) && n < ANNOUNCED_ITEMS
                } else {
                    n == 0 || chars <= ANNOUNCED_CHARS
                };
            if !belongs {
                break;
            }
            p.announced_by = Some(intro);
        }
        pieces[intro].announces = pieces[first].announced_by == Some(intro);
    }
}

/// The sentences chosen for an answer so far.
#[derive(Default)]
struct Picked<'a> {
    chosen: Vec<usize>,
    /// The question terms they cover.
    covered: HashSet<String>,
    /// Their keys: a sentence said twice in the passages is said once.
    seen: HashSet<&'a str>,
    /// A row of another passage's table answers as the best one does: each part of the reply
    /// is told by its heading.
    parallel: bool,
}

impl<'a> Picked<'a> {
    /// Chooses sentence `i` with what belongs to it (see [`announce`]); returns how many
    /// sentences were added.
    fn take(&mut self, sentences: &'a [Sentence], i: usize) -> usize {
        let (intro, last) = unit(sentences, i);
        let before = self.chosen.len();
        for (j, s) in sentences.iter().enumerate().take(last + 1).skip(intro) {
            if !self.chosen.contains(&j) && !self.seen.contains(s.key.as_str()) {
                self.seen.insert(&s.key);
                self.covered.extend(s.terms.iter().cloned());
                self.chosen.push(j);
            }
        }
        self.chosen.len() - before
    }
}

/// Splits a passage into sentences: each line of a list or a table is a sentence of its own, a
/// record of `Label: value` lines stays one piece, and what a sentence ending in a colon
/// announces is marked.
fn pieces(text: &str) -> Vec<Piece> {
    if is_record(text) {
        return vec![Piece {
            text: text.trim().to_owned(),
            line: 0,
            paragraph: 0,
            announced_by: None,
            announces: false,
            row: false,
            defines: false,
        }];
    }
    let lines: Vec<&str> = text.lines().collect();
    let label = |i: usize| lines.get(i).and_then(|l| label(l));
    let paragraphs: Vec<usize> = lines
        .iter()
        .scan(0, |paragraph, line| {
            if line.trim().is_empty() {
                *paragraph += 1;
            }
            Some(*paragraph)
        })
        .collect();
    let mut pieces: Vec<Piece> = lines
        .iter()
        .enumerate()
        .flat_map(|(n, line)| {
            let paragraph = paragraphs[n];
            let row = line.contains(" | ")
                || label(n)
                    .is_some_and(|l| (n > 0 && label(n - 1) == Some(l)) || label(n + 1) == Some(l));
            let list = is_list_item(line);
            let texts: Vec<String> = if list {
                vec![line.trim().to_owned()]
            } else {
                line.split_sentence_bounds()
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect()
            };
            let defines = !row && !list && opens_definition(line);
            texts.into_iter().enumerate().map(move |(i, text)| Piece {
                text,
                line: n,
                paragraph,
                announced_by: None,
                announces: false,
                row,
                defines: defines && i == 0,
            })
        })
        .collect();
    announce(&mut pieces);
    pieces
}

/// What of a sentence is embedded: its first [`MEANING_CHARS`] characters.
fn meaning_text(text: &str) -> &str {
    match text.char_indices().nth(MEANING_CHARS) {
        Some((cut, _)) => &text[..cut],
        None => text,
    }
}

/// The sentences of a passage as the composer embeds them to weigh them by meaning, in order:
/// what can be embedded ahead of the questions.
pub fn sentence_texts(passage: &str) -> Vec<String> {
    pieces(passage)
        .iter()
        .map(|p| meaning_text(&p.text).to_owned())
        .collect()
}

fn snippet(text: &str, around: &str) -> String {
    let start = text.find(around).unwrap_or(0);
    // Start at the used sentence when it lies beyond the snippet, otherwise at the passage start.
    let from = if text[..start].chars().count() + around.chars().count() > SNIPPET_CHARS {
        start
    } else {
        0
    };
    let rest = &text[from..];
    if rest.chars().count() <= SNIPPET_CHARS {
        return rest.to_owned();
    }
    let cut: String = rest.chars().take(SNIPPET_CHARS).collect();
    let cut = match cut.rfind(char::is_whitespace) {
        Some(i) if i > SNIPPET_CHARS / 2 => &cut[..i],
        _ => cut.as_str(),
    };
    format!("{}…", cut.trim_end())
}

/// A passage's title and its heading path, each said once: a curated answer's question is its
/// title and its heading, and a page's heading path usually starts with the page's title
/// ("Chapter 8. Data Types › 8.4. Binary Data" under the title "Chapter 8. Data Types").
fn title(hit: &Hit) -> String {
    let heading = hit.heading.trim();
    let heading = heading
        .strip_prefix(hit.title.trim())
        .and_then(|rest| rest.strip_prefix(" › "))
        .unwrap_or(heading);
    if heading.is_empty() || heading == hit.title.trim() {
        hit.title.clone()
    } else {
        format!("{} › {heading}", hit.title)
    }
}

/// How a passage is cited when no sentence of it in particular is used.
pub fn cite(hit: &Hit) -> SourceRef {
    source_ref(hit, "")
}

fn source_ref(hit: &Hit, used: &str) -> SourceRef {
    let url = hit.url.as_ref().map(|u| match &hit.anchor {
        Some(anchor) if !u.contains('#') => format!("{u}#{anchor}"),
        _ => u.clone(),
    });
    SourceRef {
        source_id: hit.source_id.clone(),
        chunk_id: hit.chunk_id.clone(),
        title: title(hit),
        url,
        snippet: snippet(&hit.text, used),
    }
}

/// Composes an answer to a question from retrieved passages (best first). `terms` are the
/// question's distinct analysed terms and `idf` their weights, in the same order. With
/// `lookups.similarities`, the sentences of the [`MEANING_PASSAGES`] best passages are also
/// weighed by meaning: a sentence scores [`WORDS_SHARE`] for the question's words it has and
/// the rest for how close it is in meaning, so "Concatenates the text representations of all
/// the arguments" can answer "how do I glue two strings together?". Sentences of passages other
/// than the best sentence's join only a `multi_part` question, or as the same row of another
/// table giving the detail the question wants (one shop's hours and the other's). When the best
/// sentence is such a row, `lookups.page_mates` gives the other passages of its page, whose
/// rows may join it too. `None` when no sentence shares a single term with the question or
/// comes near it in meaning.
///
/// The steps: `split` the passages into sentences with the question terms each has, weigh
/// them by meaning (`weigh_by_meaning`), choose the `best_sentence`, `pick` what belongs with
/// it, find where the reply starts (`reply_start`), take the `window` of consecutive sentences
/// around it within `max_chars`, and `render` it with its sources.
pub fn compose(
    terms: &[String],
    idf: &[f32],
    hits: &[Hit],
    question: &Question,
    analyzer: &mut TextAnalyzer,
    lookups: Lookups<'_>,
    max_chars: usize,
) -> Option<Draft> {
    let Lookups {
        similarities,
        page_mates,
    } = lookups;
    let weights = Weights::new(terms, idf)?;
    if hits.is_empty() {
        return None;
    }
    let (mut sentences, heading_terms) = split(terms, hits, question.wants, analyzer);
    let meaning = similarities.and_then(|f| weigh_by_meaning(&mut sentences, hits, f));
    let best = best_sentence(&sentences, hits, &weights, meaning.is_some())?;
    let lead = &sentences[best];
    let mates = page_mates
        .filter(|_| lead.gives && lead.row)
        .map(|mates| {
            let mut found = mates(&hits[lead.hit]);
            found.retain(|m| !hits.iter().any(|h| h.chunk_id == m.chunk_id));
            found
        })
        .unwrap_or_default();
    let passages: Cow<'_, [Hit]> = if mates.is_empty() {
        Cow::Borrowed(hits)
    } else {
        let (first_hit, first) = (hits.len(), sentences.len());
        let (more, _) = split(terms, &mates, question.wants, analyzer);
        sentences.extend(more.into_iter().map(|mut s| {
            s.hit += first_hit;
            s.announced_by = s.announced_by.map(|a| a + first);
            s.mate = true;
            s
        }));
        Cow::Owned([hits, &mates[..]].concat())
    };
    let Picked {
        chosen,
        covered,
        parallel,
        ..
    } = pick(&sentences, best, &weights, question.multi_part);
    let by_heading = weights.of(&heading_terms[sentences[best].hit]) >= HEADING_LEAD;
    let (start, lead) = reply_start(&sentences, hits, best, by_heading);
    let chosen = window(&sentences, start, &chosen, lead, max_chars);
    let (text, sources) = render(&sentences, &chosen, &passages, parallel);
    Some(Draft {
        text,
        confidence: weights.of(&covered).clamp(0.0, 1.0),
        sources,
        similarity: meaning.map(|m| m.best),
        passage: sentences[best].hit,
        typical: meaning.and_then(|m| m.typical),
    })
}

/// The question's terms with their weights: what the terms a sentence (or a reply) covers are
/// worth, as a share of the question's information.
struct Weights<'a> {
    terms: &'a [String],
    idf: &'a [f32],
    total: f64,
}

impl<'a> Weights<'a> {
    /// `None` when the question weighs nothing.
    fn new(terms: &'a [String], idf: &'a [f32]) -> Option<Self> {
        let total: f64 = idf.iter().map(|&w| f64::from(w)).sum();
        (total > 0.0).then_some(Self { terms, idf, total })
    }

    fn of(&self, covered: &HashSet<String>) -> f64 {
        self.terms
            .iter()
            .zip(self.idf)
            .filter(|(t, _)| covered.contains(*t))
            .map(|(_, &w)| f64::from(w))
            .sum::<f64>()
            / self.total
    }
}

/// Step 1: the passages' sentences, in order, each with the question terms it has (with its
/// passage's heading's), and each passage's heading terms. A sentence that gives the detail the
/// question `wants` has the question's words naming it ("phone", "number"): the number says
/// them.
fn split(
    terms: &[String],
    hits: &[Hit],
    wants: Option<Wanted>,
    analyzer: &mut TextAnalyzer,
) -> (Vec<Sentence>, Vec<HashSet<String>>) {
    let question: HashSet<&String> = terms.iter().collect();
    let naming: HashSet<String> = wants
        .into_iter()
        .flat_map(Wanted::names)
        .flat_map(|name| analyze_with(analyzer, name))
        .filter(|t| question.contains(t))
        .collect();
    // A passage's heading is context for each of its sentences: under "Business hours", "We are
    // open 9 to 5" answers "what are your business hours?".
    let heading_terms: Vec<HashSet<String>> = hits
        .iter()
        .map(|hit| {
            analyze_with(analyzer, &hit.heading)
                .into_iter()
                .filter(|t| question.contains(t))
                .collect()
        })
        .collect();
    let mut sentences: Vec<Sentence> = hits
        .iter()
        .enumerate()
        .flat_map(|(h, hit)| {
            pieces(&hit.text)
                .into_iter()
                .enumerate()
                .map(move |(i, piece)| (h, i, piece))
        })
        .map(|(hit, index, piece)| {
            let Piece {
                text,
                line,
                paragraph,
                announced_by,
                announces,
                row,
                defines,
                ..
            } = piece;
            let gives = wants.is_some_and(|w| w.given_in(&text));
            let mut own: HashSet<String> = analyze_with(analyzer, &text)
                .into_iter()
                .filter(|t| question.contains(t))
                .collect();
            if gives {
                own.extend(naming.iter().cloned());
            }
            let mut terms = own.clone();
            terms.extend(heading_terms[hit].iter().cloned());
            Sentence {
                hit,
                index,
                key: normalise(&text),
                text,
                line,
                paragraph,
                announced_by,
                announces,
                row,
                defines,
                terms,
                own,
                gives,
                similarity: None,
                mate: false,
            }
        })
        .collect();
    // The sentence announcing another, found within its passage, by index among all sentences.
    for (i, s) in sentences.iter_mut().enumerate() {
        s.announced_by = s.announced_by.map(|within| i - s.index + within);
    }
    (sentences, heading_terms)
}

/// How close in meaning the sentences came to the question.
#[derive(Debug, Clone, Copy)]
struct Closeness {
    /// The closest sentence's similarity.
    best: f32,
    /// See [`Draft::typical`].
    typical: Option<f32>,
}

/// Step 2: the sentences of the [`MEANING_PASSAGES`] best passages weighed by meaning (their
/// `similarity` set); `None` when meaning is unavailable.
fn weigh_by_meaning(
    sentences: &mut [Sentence],
    hits: &[Hit],
    similarities: Similarities<'_>,
) -> Option<Closeness> {
    let weighed: Vec<usize> = (0..sentences.len())
        .filter(|&i| sentences[i].hit < MEANING_PASSAGES)
        .take(MEANING_SENTENCES)
        .collect();
    let texts: Vec<SentenceRef<'_>> = weighed
        .iter()
        .map(|&i| {
            let s = &sentences[i];
            (&hits[s.hit].chunk_id, meaning_text(&s.text))
        })
        .collect();
    let found = similarities(&texts).filter(|f| f.len() == weighed.len())?;
    for (&i, s) in weighed.iter().zip(found) {
        sentences[i].similarity = Some(s);
    }
    // The median of the others (the lower middle of an even count): with only two sentences,
    // the other one.
    let mut all: Vec<f32> = sentences.iter().filter_map(|s| s.similarity).collect();
    all.sort_by(f32::total_cmp);
    let best = all.pop()?;
    Some(Closeness {
        best,
        typical: all.get(all.len().saturating_sub(1) / 2).copied(),
    })
}

/// Step 3: the sentence that answers best. `None` when no sentence shares a term with the
/// question or comes near it in meaning.
fn best_sentence(
    sentences: &[Sentence],
    hits: &[Hit],
    weights: &Weights<'_>,
    by_meaning: bool,
) -> Option<usize> {
    // While a bot is still embedding its passages, some hits have no similarity yet: weighing the
    // others' closeness would favour a passage for being embedded first, so then none counts.
    let passages_weighed = hits.iter().all(|hit| hit.similarity.is_some());
    let score = |s: &Sentence| {
        let own = if by_meaning {
            WORDS_SHARE * weights.of(&s.terms) + (1.0 - WORDS_SHARE) * closeness(s.similarity)
        } else {
            weights.of(&s.terms)
        };
        // A curated answer's passage is close to the questions like its own, which the curated
        // match has already judged: its closeness is no sign that its sentences fit this one.
        let hit = &hits[s.hit];
        let passage = if hit.curated || !passages_weighed {
            0.0
        } else {
            closeness(hit.similarity)
        };
        own + PASSAGE_SHARE * passage
    };
    // What the passage's rank adds, once a sentence scores at all (the same holds for a curated
    // answer's rank as for its closeness).
    let ranked = |s: &Sentence| {
        if hits[s.hit].curated {
            0.0
        } else {
            RANK_SHARE / (1.0 + s.hit as f64)
        }
    };

    // A reply to "whats your phone number" without a phone number does not answer it: when a
    // sentence gives the detail the question wants, the best is one that does — one that scores
    // at least WANTED_REACH of the best sentence's, so that a price or a duration in some other
    // passage does not displace an answer that says it in words ("it depends on…").
    let scores: Vec<f64> = sentences.iter().map(score).collect();
    let total = |i: usize| scores[i] + ranked(&sentences[i]);
    let best = (0..sentences.len())
        .filter(|&i| scores[i] > 0.0)
        .map(total)
        .fold(0.0, f64::max);
    let giving = (0..sentences.len())
        .any(|i| sentences[i].gives && scores[i] > 0.0 && total(i) >= WANTED_REACH * best);

    // The best sentence: the best score (the question's weight, heading included, meaning, its
    // passage's meaning and rank), then most of the weight in the sentence itself; then the shorter
    // sentence, which says it more directly — or, when only the heading matches, the first
    // sentence under it; then the better-ranked passage.
    sentences
        .iter()
        .enumerate()
        .filter(|(_, s)| s.gives || !giving)
        .map(|(i, s)| (i, scores[i], weights.of(&s.own)))
        .filter(|(_, w, _)| *w > 0.0)
        .map(|(i, _, own)| (i, total(i), own))
        .max_by(|(ia, wa, oa), (ib, wb, ob)| {
            let words = |i: usize| sentences[i].text.unicode_words().count();
            let direct = if *oa > 0.0 {
                words(*ib).cmp(&words(*ia))
            } else {
                sentences[*ib].index.cmp(&sentences[*ia].index)
            };
            wa.total_cmp(wb)
                .then_with(|| oa.total_cmp(ob))
                .then(direct)
                .then_with(|| sentences[*ib].hit.cmp(&sentences[*ia].hit))
                .then(ib.cmp(ia))
        })
        .map(|(i, _, _)| i)
}

/// Step 4: the sentences the reply is built around: the best with what belongs to it, and
/// those that add to it.
fn pick<'a>(
    sentences: &'a [Sentence],
    best: usize,
    weights: &Weights<'_>,
    multi_part: bool,
) -> Picked<'a> {
    let mut picked = Picked::default();
    // A sentence comes with what belongs to it: a sentence announcing a list or a code sample
    // with what it announces, a line of a code sample with the sentence announcing it ("To add
    // a column, use a command like:" and "ALTER TABLE products ADD COLUMN description text;").
    // Each such unit counts as one sentence of the answer.
    let unit = picked.take(sentences, best);
    let mut extra = unit - 1;

    // A sentence inside a definition comes with the definition's opening, which names what it is
    // about: "listen_addresses (string): Specifies the TCP/IP address(es)… The special entry *
    // corresponds to all available IP interfaces."
    let opening = (0..best).find(|&i| {
        sentences[i].hit == sentences[best].hit && sentences[i].line == sentences[best].line
    });
    if let Some(i) = opening.filter(|&i| sentences[i].defines) {
        extra += picked.take(sentences, i);
    }

    // The sentence after the best one (or after what it announces) when the best one is too
    // short to stand alone, or when it is about the question too, since it often holds the
    // value the best one introduces ("Determines the maximum number of concurrent connections.
    // The default is typically 100 connections.").
    let lead = &sentences[best];
    let alone = unit == 1;
    let next = picked.chosen[..unit]
        .iter()
        .max()
        .map_or(best, |&last| last + 1);
    if let Some(s) = sentences.get(next).filter(|s| s.hit == lead.hit) {
        let too_short = alone && lead.text.chars().count() < 25 && !lead.text.ends_with('?');
        let related = match s.similarity {
            Some(similarity) => similarity >= NEXT_SIMILARITY,
            None => !s.own.is_empty(),
        };
        // The next row of a table is another record, not more of this one.
        let same_record = s.line == lead.line || !(lead.row || s.row);
        let follows = related
            && same_record
            && !s.in_announcement()
            && !lead.text.ends_with('?')
            && !is_list_item(&s.text)
            && lead.text.chars().count() + s.text.chars().count() <= WITH_NEXT_CHARS;
        if too_short || follows {
            extra += picked.take(sentences, next);
        }
    }

    // The sentence of the same passage closest in meaning, when it is close: words chose the best
    // sentence and meaning may know better ("What does peer authentication check?" — "Peer
    // authentication is only available on operating systems providing…" by its words, "The
    // peer authentication method works by obtaining the client's operating system user name…"
    // by its meaning).
    let closest = closest_in_meaning(sentences, |i, s| {
        !picked.chosen.contains(&i)
            && s.hit == sentences[best].hit
            && !s.in_announcement()
            && !picked.seen.contains(s.key.as_str())
            && s.similarity.is_some_and(|x| x >= CLOSEST_SIMILARITY)
    });
    if let Some(i) = closest {
        extra += picked.take(sentences, i) - 1;
    }

    // The detail the question wants, given as well by the same row of another passage's table
    // for all the question's words the best row has: "what time do you close on saturdays" has
    // one answer for each shop's opening hours, "what time does the Bristol shop close" only
    // Bristol's.
    let lead = &sentences[best];
    let lead_labels = (lead.gives && lead.row)
        .then(|| row_labels(&lead.text))
        .flatten();
    let parallel = lead_labels.and_then(|labels| {
        closest_in_meaning(sentences, |i, s| {
            s.gives
                && s.row
                && s.hit != lead.hit
                && !picked.chosen.contains(&i)
                && !picked.seen.contains(s.key.as_str())
                && s.terms.is_superset(&lead.terms)
                && row_labels(&s.text).is_some_and(|l| l == labels)
        })
    });
    if let Some(i) = parallel {
        extra += picked.take(sentences, i) - 1;
        picked.parallel = true;
    }

    // Then sentences that add question words not yet covered, most added weight first — and,
    // when meaning was weighed, that are not far from the question in meaning.
    while picked.chosen.len() < MAX_SENTENCES + extra {
        let base = weights.of(&picked.covered);
        let candidate = sentences
            .iter()
            .enumerate()
            .filter(|(i, s)| !picked.chosen.contains(i) && !picked.seen.contains(s.key.as_str()))
            .filter(|(_, s)| s.similarity.is_none_or(|x| x >= ADDED_SIMILARITY))
            .filter(|(_, s)| !s.in_announcement() && !s.mate)
            .map(|(i, s)| {
                let mut with = picked.covered.clone();
                with.extend(s.terms.iter().cloned());
                (i, weights.of(&with) - base)
            })
            // Another passage must add a real part of the question, not a stray common word.
            .filter(|(i, gain)| {
                let same_passage = picked
                    .chosen
                    .iter()
                    .any(|&c| sentences[c].hit == sentences[*i].hit);
                if same_passage {
                    *gain > 1e-9
                } else {
                    multi_part && *gain > MIN_GAIN_ELSEWHERE
                }
            })
            .max_by(|(ia, ga), (ib, gb)| ga.total_cmp(gb).then(ib.cmp(ia)));
        let Some((i, _)) = candidate else { break };
        extra += picked.take(sentences, i) - 1;
    }

    picked
}

/// Of the sentences that `may` be taken (by index), the closest to the question in meaning.
fn closest_in_meaning(
    sentences: &[Sentence],
    may: impl Fn(usize, &Sentence) -> bool,
) -> Option<usize> {
    sentences
        .iter()
        .enumerate()
        .filter(|&(i, s)| may(i, s))
        .max_by(|(_, a), (_, b)| {
            a.similarity
                .unwrap_or(0.0)
                .total_cmp(&b.similarity.unwrap_or(0.0))
        })
        .map(|(i, _)| i)
}

/// Step 5: where the reply starts, and whether it is the opening of its passage: under a
/// heading that asks a question (an FAQ's entry) or that holds most of the visitor's question,
/// the passage is the answer.
fn reply_start(
    sentences: &[Sentence],
    hits: &[Hit],
    best: usize,
    by_heading: bool,
) -> (usize, bool) {
    let asks = asks_a_question(&hits[sentences[best].hit].heading);
    let lead = by_heading || asks;
    // An FAQ answer that runs over several passages opens in the first of them, when retrieval
    // found it too: "Why must 'self' be used explicitly?" is answered from "The idea was
    // borrowed from Modula-3…", not from its third paragraph.
    let start = match asks.then(|| section_opening(hits, sentences[best].hit)) {
        Some(Some(opening)) => sentences
            .iter()
            .position(|s| s.hit == opening)
            .unwrap_or(best),
        _ => best,
    };
    (start, lead)
}

/// Whether a heading (its innermost part) is a question: "How do I return an item?",
/// "¿Puedo devolver un artículo?".
fn asks_a_question(heading: &str) -> bool {
    let inner = innermost_heading(heading);
    inner.ends_with('?') || inner.ends_with('？')
}

/// The retrieved passage that opens the section passage `h` is in, when it is another one: the
/// same page and heading, and an earlier place in the source.
fn section_opening(hits: &[Hit], h: usize) -> Option<usize> {
    let hit = &hits[h];
    hits.iter()
        .enumerate()
        .filter(|(_, o)| {
            o.source_id == hit.source_id
                && o.page() == hit.page()
                && o.heading == hit.heading
                && o.ordinal < hit.ordinal
        })
        .min_by_key(|(_, o)| o.ordinal)
        .map(|(i, _)| i)
}

/// The innermost part of a passage's heading (after the last " › "), trimmed.
fn innermost_heading(heading: &str) -> &str {
    heading.rsplit(" › ").next().unwrap_or(heading).trim()
}

/// The first and last sentence of the unit sentence `i` belongs to: a sentence announcing a list
/// or a code sample and what it announces (see [`announce`]), or the sentence alone.
fn unit(sentences: &[Sentence], i: usize) -> (usize, usize) {
    let intro = sentences[i].announced_by.unwrap_or(i);
    let last = (intro + 1..sentences.len())
        .take_while(|&j| sentences[j].announced_by == Some(intro))
        .last()
        .unwrap_or(intro);
    (intro, last)
}

/// The characters of sentences `from..=to` as a reply shows them, at most: each separator is
/// counted as a blank line.
fn span_chars(sentences: &[Sentence], from: usize, to: usize) -> usize {
    sentences[from..=to]
        .iter()
        .map(|s| s.text.chars().count() + 2)
        .sum::<usize>()
        .saturating_sub(2)
}

/// Words that open a sentence which leans on the one before it ("It", "This", "However"): a
/// reply starting there takes the sentence before too.
const LEANING_OPENERS: &[&str] = &[
    "it",
    "its",
    "this",
    "these",
    "that",
    "those",
    "they",
    "their",
    "them",
    "such",
    "then",
    "however",
    "but",
    "also",
    "so",
    "otherwise",
    "instead",
    "he",
    "she",
    "there",
    "here",
];

fn leans_back(text: &str) -> bool {
    text.unicode_words()
        .next()
        .is_some_and(|w| LEANING_OPENERS.contains(&w.to_lowercase().as_str()))
}

/// The sentences of the reply, in reading order: a contiguous part of the best sentence's passage
/// and, after it, what the composer picked in other passages (a two-part question), all within
/// `max_chars` (the best sentence's unit is kept whole even when it is longer).
///
/// The part of the passage spans the best sentence's unit and the sentences picked beside it,
/// with what lies between them. It starts at the passage's opening when the passage's heading
/// holds most of the question (`lead`: under "How do I return an item?" the passage is the
/// answer), or one sentence earlier when its first sentence leans on the one before ("It takes
/// two days."). It then goes on to the end of its paragraph (while the next sentence is not far
/// from the question in meaning, see [`PARAGRAPH_SIMILARITY`]), and beyond while the next sentence
/// is about the question too (or while the passage is answered from its opening); the next row
/// of a table only when it is about the question.
///
/// Measured against the picked sentences alone (`make eval`, tune halves with the test halves in
/// brackets), the share of replies holding the expected facts went 0.459 → 0.514 (0.486 → 0.486)
/// on the Python FAQ and 0.690 → 0.707 (0.729 → 0.780) on the shop. Stopping at the last
/// sentence about the question rather than at the paragraph's end did as well or worse on each
/// half; answering from the top-ranked passage rather than the best sentence's did worse on all
/// four (eval/README.md).
fn window(
    sentences: &[Sentence],
    best: usize,
    picked: &[usize],
    lead: bool,
    max_chars: usize,
) -> Vec<usize> {
    let passage = sentences[best].hit;
    let first = (0..=best)
        .rev()
        .take_while(|&i| sentences[i].hit == passage)
        .last()
        .unwrap_or(best);
    let last = (best..sentences.len())
        .take_while(|&i| sentences[i].hit == passage)
        .last()
        .unwrap_or(best);
    let (mut from, mut to) = unit(sentences, best);
    let fits = |from: usize, to: usize| span_chars(sentences, from, to) <= max_chars;
    // The sentences picked in the same passage, nearest first, with what lies between.
    let mut near: Vec<usize> = picked
        .iter()
        .copied()
        .filter(|&i| sentences[i].hit == passage)
        .collect();
    near.sort_by_key(|&i| i.abs_diff(best));
    for i in near {
        let (a, b) = unit(sentences, i);
        if fits(from.min(a), to.max(b)) {
            (from, to) = (from.min(a), to.max(b));
        }
    }
    if lead && fits(first, to) {
        from = first;
    } else if lead {
        // The best sentence is too far in to quote with the opening: the opening answers.
        (from, to) = (first, unit(sentences, first).1);
    } else if from > first && leans_back(&sentences[from].text) {
        let (a, _) = unit(sentences, from - 1);
        if fits(a, to) {
            from = a;
        }
    }
    while to < last {
        let (a, b) = unit(sentences, to + 1);
        if !fits(from, b) {
            break;
        }
        let related = sentences[a..=b].iter().any(|s| match s.similarity {
            Some(similarity) => similarity >= NEXT_SIMILARITY,
            None => !s.own.is_empty(),
        });
        // The next row of a table is another record, not more of this one.
        let record = sentences[to].row || sentences[a].row;
        // What follows a list or a code sample that answers is something else.
        let same_paragraph = sentences[a].paragraph == sentences[to].paragraph
            && !sentences[to].in_announcement()
            && sentences[a..=b]
                .iter()
                .any(|s| s.similarity.is_none_or(|x| x >= PARAGRAPH_SIMILARITY));
        if !(lead || ((related || same_paragraph) && !record)) {
            break;
        }
        to = b;
    }
    let mut chosen: Vec<usize> = (from..=to).collect();
    let mut total = span_chars(sentences, from, to);
    let mut others: Vec<usize> = picked
        .iter()
        .copied()
        .filter(|&i| sentences[i].hit != passage)
        .collect();
    others.sort_by_key(|&i| (sentences[i].hit, sentences[i].index));
    for i in others {
        let chars = sentences[i].text.chars().count() + 2;
        if total + chars <= max_chars {
            total += chars;
            chosen.push(i);
        }
    }
    chosen
}

/// The reply's text and its sources, the passage of the first sentence first. Sentences of a line
/// are joined by a space, lines by a line break (a list, a code sample or a table keeps its
/// lines, and an announced code sample follows its announcement on the next line), paragraphs
/// and passages by a blank line. `titled`: each passage's part opens with its heading's
/// innermost part on a line of its own.
fn render(
    sentences: &[Sentence],
    chosen: &[usize],
    hits: &[Hit],
    titled: bool,
) -> (String, Vec<SourceRef>) {
    let mut text = String::new();
    let mut sources: Vec<SourceRef> = Vec::new();
    let mut previous: Option<&Sentence> = None;
    for &i in chosen {
        let s = &sentences[i];
        let heading = innermost_heading(&hits[s.hit].heading);
        if titled && !heading.is_empty() && previous.is_none_or(|p| p.hit != s.hit) {
            if previous.is_some() {
                text.push_str("\n\n");
            }
            text.push_str(heading);
            text.push('\n');
            previous = None;
        }
        if let Some(p) = previous {
            let announced = s.announced_by.is_some() && s.hit == p.hit;
            text.push_str(if p.line != s.line && announced {
                "\n"
            } else if p.hit != s.hit || p.paragraph != s.paragraph {
                "\n\n"
            } else if p.line != s.line {
                "\n"
            } else {
                " "
            });
        }
        previous = Some(s);
        text.push_str(&s.text);
        let hit = &hits[s.hit];
        if !sources.iter().any(|r| r.chunk_id == hit.chunk_id) {
            sources.push(source_ref(hit, &s.text));
        }
    }
    (text, sources)
}

/// The opening of a passage as an answer, for a passage found by meaning rather than by the
/// question's words: its first sentence with what it announces, and the rest of its first
/// paragraph as far as `max_chars` allows. Its confidence is left at 0 and its passage index at 0 for the
/// caller to set.
pub fn lead(hit: &Hit, max_chars: usize) -> Draft {
    let pieces = pieces(&hit.text);
    let mut chosen: Vec<usize> = Vec::new();
    let mut chars = 0;
    for (i, piece) in pieces.iter().enumerate() {
        let announced = piece
            .announced_by
            .is_some_and(|intro| chosen.contains(&intro));
        let len = piece.text.chars().count() + 1;
        let goes_on = piece.paragraph == pieces[0].paragraph && chars + len <= max_chars;
        if chosen.is_empty() || announced || goes_on {
            chosen.push(i);
            chars += len;
        } else {
            break;
        }
    }
    let mut text = String::new();
    for (n, &i) in chosen.iter().enumerate() {
        let piece = &pieces[i];
        if n > 0 {
            let same_line = pieces[chosen[n - 1]].line == piece.line;
            text.push(separator(
                &piece.text,
                piece.announced_by.is_some(),
                same_line,
            ));
        }
        text.push_str(&piece.text);
    }
    let first = chosen.first().map_or("", |&i| pieces[i].text.as_str());
    Draft {
        text,
        confidence: 0.0,
        sources: vec![source_ref(hit, first)],
        similarity: None,
        passage: 0,
        typical: None,
    }
}

/// What goes between a sentence of an answer and the one before it: a line break before a list
/// item and before an announced line on a line of its own (a code sample stays readable), a
/// space otherwise.
fn separator(text: &str, announced: bool, same_line: bool) -> char {
    if is_list_item(text) || (announced && !same_line) {
        '\n'
    } else {
        ' '
    }
}

fn normalise(s: &str) -> String {
    s.unicode_words()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use sitechat_core::{ChunkId, SourceId};

    use super::*;

    fn hit(text: &str) -> Hit {
        Hit {
            chunk_id: ChunkId::generate(),
            source_id: SourceId::generate(),
            title: "Help".into(),
            heading: String::new(),
            anchor: Some("hours".into()),
            url: Some("https://shop.example/help".into()),
            text: text.into(),
            score: 1.0,
            similarity: None,
            curated: false,
            ordinal: 0,
            ranks: Default::default(),
        }
    }

    fn run(question: &str, idf: &[(&str, f32)], hits: &[Hit]) -> Option<Draft> {
        run_weighed(question, idf, hits, None)
    }

    /// Composes for `question` with the given term weights (terms not listed: 1.0).
    fn run_weighed(
        question: &str,
        idf: &[(&str, f32)],
        hits: &[Hit],
        similarities: Option<Similarities<'_>>,
    ) -> Option<Draft> {
        run_on_page(question, idf, hits, similarities, None)
    }

    /// [`run_weighed`], with the other passages of the best passage's page.
    fn run_on_page(
        question: &str,
        idf: &[(&str, f32)],
        hits: &[Hit],
        similarities: Option<Similarities<'_>>,
        page_mates: Option<PageMates<'_>>,
    ) -> Option<Draft> {
        let mut analyzer = sitechat_search::analyzer("en");
        let mut terms = analyze_with(&mut analyzer, question);
        terms.sort();
        terms.dedup();
        let weights: Vec<f32> = terms
            .iter()
            .map(|t| idf.iter().find(|(k, _)| k == t).map_or(1.0, |(_, w)| *w))
            .collect();
        compose(
            &terms,
            &weights,
            hits,
            &crate::question::read("en", question),
            &mut analyzer,
            Lookups {
                similarities,
                page_mates,
            },
            sitechat_core::model::BotSettings::DEFAULT_ANSWER_MAX_CHARS as usize,
        )
    }

    #[test]
    fn a_question_wanting_a_detail_is_answered_by_a_sentence_giving_one() {
        let hits = [
            hit(
                "Go to My account > Details to change your name, email address, phone number \
                 or saved addresses.",
            ),
            Hit {
                heading: "Phone and email".into(),
                ..hit(
                    "Customer service: 0117 496 0352, Monday to Friday 9am to 5pm. \
                       Email: hello@shop.example.",
                )
            },
        ];
        let draft = run("whats your phone number", &[], &hits).unwrap();
        assert!(draft.text.contains("0117 496 0352"), "{}", draft.text);
        assert_eq!(draft.passage, 1);
        // The visitor's own number is not wanted: the page about changing it answers.
        let draft = run("how do I change my phone number", &[], &hits).unwrap();
        assert_eq!(draft.passage, 0, "{}", draft.text);
        // "where's the Bath shop?" wants the address, not the sentence with both its words.
        let hits = [
            Hit {
                heading: "Calling a shop".into(),
                ..hit("Bristol shop: 0117 496 0350. Bath shop: 01225 496 0711.")
            },
            Hit {
                heading: "Bath – Walcot Street".into(),
                ..hit(
                    "Hazel & Moss, 41 Walcot Street, Bath BA1 5BN. A smaller shop for houseplants.",
                )
            },
        ];
        let draft = run("where's the Bath shop?", &[], &hits).unwrap();
        assert!(draft.text.contains("41 Walcot Street"), "{}", draft.text);
        // A duration far from the question does not displace an answer in words.
        let hits = [
            Hit {
                heading: "Guarantee".into(),
                ..hit("The guarantee depends on the product: its page says which applies.")
            },
            Hit {
                heading: "Delivery".into(),
                ..hit("Parcels arrive in 3 days, and the tracking link lasts a week.")
            },
        ];
        let idf = [("guarante", 2.0), ("last", 0.3), ("long", 0.1)];
        let draft = run("how long does the guarantee last?", &idf, &hits).unwrap();
        assert_eq!(draft.passage, 0, "{}", draft.text);
    }

    #[test]
    fn the_same_row_of_another_table_answers_too_each_under_its_heading() {
        let hours = |heading: &str, rows: &str| Hit {
            heading: heading.into(),
            ..hit(rows)
        };
        let hits = [
            hours(
                "Our stores › Bath – Walcot Street",
                "Day: Monday; Hours: Closed\nDay: Tuesday to Saturday; Hours: 9:30am – 5:30pm\n\
                 Day: Sunday; Hours: 11am – 4pm",
            ),
            hours(
                "Our stores › Bristol – Gloucester Road",
                "Day: Monday to Friday; Hours: 8:30am – 6pm\nDay: Saturday; Hours: 9am – 6pm\n\
                 Day: Sunday; Hours: 10am – 4pm",
            ),
        ];
        let draft = run("what time do you close on saturdays", &[], &hits).unwrap();
        assert!(
            draft.text.contains("9:30am – 5:30pm") && draft.text.contains("9am – 6pm"),
            "{}",
            draft.text
        );
        assert!(
            draft.text.contains("Bath – Walcot Street\n")
                && draft.text.contains("Bristol – Gloucester Road\n")
                && !draft.text.contains("Our stores"),
            "{}",
            draft.text
        );
        assert_eq!(draft.sources.len(), 2);
        // Naming a shop asks for its hours alone, and the reply is not titled.
        let draft = run(
            "what time does the Bristol shop close on saturdays",
            &[],
            &hits,
        )
        .unwrap();
        assert!(draft.text.contains("9am – 6pm"), "{}", draft.text);
        assert!(
            !draft.text.contains("5:30pm") && !draft.text.contains("Gloucester Road"),
            "{}",
            draft.text
        );
        // Rows with other columns are other tables, not another answer, though they give a
        // time on a Saturday too.
        let hits = [
            hits[0].clone(),
            hours(
                "Delivery",
                "Service: Saturday delivery; Order by: 1pm on Friday\n\
                 Service: Express; Order by: 1pm",
            ),
        ];
        let draft = run("what time do you close on saturdays", &[], &hits).unwrap();
        assert!(draft.text.contains("5:30pm"), "{}", draft.text);
        assert!(!draft.text.contains("1pm on Friday"), "{}", draft.text);
    }

    #[test]
    fn a_time_of_day_says_the_verb_of_opening_or_closing() {
        // "close" is not in the row, but its time answers "when do you close": the row covers
        // the whole question.
        let hits = [hit(
            "Day: Monday to Saturday; Hours: 9am – 6pm\nDay: Sunday; Hours: 11am – 4pm",
        )];
        let draft = run("when do you close on sundays", &[], &hits).unwrap();
        assert!(draft.text.contains("11am – 4pm"), "{}", draft.text);
        assert!((draft.confidence - 1.0).abs() < 1e-9, "{draft:?}");
    }

    #[test]
    fn the_same_row_of_a_table_on_the_same_page_answers_too_though_not_retrieved() {
        let on_stores = |heading: &str, text: &str| Hit {
            heading: heading.into(),
            url: Some("https://shop.example/stores".into()),
            ..hit(text)
        };
        let bath = on_stores(
            "Our stores › Bath – Walcot Street",
            "Day: Monday; Hours: Closed\nDay: Tuesday to Saturday; Hours: 9:30am – 5:30pm",
        );
        let bristol = on_stores(
            "Our stores › Bristol – Gloucester Road",
            "Day: Monday to Friday; Hours: 8:30am – 6pm\nDay: Saturday; Hours: 9am – 6pm",
        );
        let workshops = on_stores(
            "Our stores › Workshops",
            "Workshops are on Saturday mornings. Day: Saturday; Price: £25",
        );
        // Retrieval found Bath's table and an account page; the page has Bristol's too.
        let hits = [bath.clone(), hit("To close your account, go to Settings.")];
        let page = [bath.clone(), workshops.clone(), bristol.clone()];
        let asked = std::cell::Cell::new(0);
        let mates = |of: &Hit| {
            asked.set(asked.get() + 1);
            assert_eq!(of.chunk_id, bath.chunk_id);
            page.to_vec()
        };
        let question = "what time do you close on saturdays";
        let draft = run_on_page(question, &[], &hits, None, Some(&mates)).unwrap();
        assert!(
            draft.text.contains("Bath – Walcot Street\n")
                && draft.text.contains("9:30am – 5:30pm")
                && draft
                    .text
                    .contains("Bristol – Gloucester Road\nDay: Saturday; Hours: 9am – 6pm"),
            "{}",
            draft.text
        );
        assert!(!draft.text.contains("Workshops"), "{}", draft.text);
        assert_eq!(draft.passage, 0);
        assert_eq!(draft.sources.len(), 2, "{:?}", draft.sources);
        assert_eq!(draft.sources[1].chunk_id, bristol.chunk_id);
        // The page is read only when the best sentence is a row giving the detail wanted.
        assert_eq!(asked.get(), 1);
        let draft = run_on_page("how do I close my account", &[], &hits, None, Some(&mates));
        assert!(draft.unwrap().text.contains("Settings"));
        assert_eq!(asked.get(), 1);
        // Without the page, Bath's hours alone.
        let draft = run(question, &[], &hits).unwrap();
        assert!(!draft.text.contains("9am – 6pm"), "{}", draft.text);
    }

    #[test]
    fn a_better_ranked_passage_wins_a_close_contest() {
        // The second passage's sentence has one more of the question's words, a light one; the
        // first passage, which retrieval ranked higher, answers.
        let hits = [
            hit("Use ALTER TABLE products ADD COLUMN description text to add a column."),
            hit("ALTER TABLE can add a column to an existing table, or drop one."),
        ];
        let idf = [("exist", 0.05), ("tabl", 0.3)];
        let draft = run("add a column to an existing table", &idf, &hits).unwrap();
        assert_eq!(draft.passage, 0, "{}", draft.text);
        // Far apart, words still win: with "existing" weighing as much as "column", the second.
        let draft = run("add a column to an existing table", &[("tabl", 0.3)], &hits).unwrap();
        assert_eq!(draft.passage, 1, "{}", draft.text);
    }

    #[test]
    fn under_a_question_heading_the_reply_is_the_answers_opening() {
        let filler =
            "Our team checks every parcel that comes back before the refund is made. ".repeat(9);
        let mut faq = hit(&format!(
            "Send it back unused within 30 days and we refund you in full.\n\n{filler}\n\n\
             Parcels sent back by post need the label from your order email."
        ));
        faq.heading = "Help › Can I return an item?".into();
        let draft = run(
            "do you need a label for sending things back by post",
            &[("label", 3.0), ("post", 2.0), ("send", 1.0)],
            &[faq.clone()],
        )
        .unwrap();
        assert!(
            draft.text.starts_with("Send it back unused within 30 days"),
            "{}",
            draft.text
        );
        // The same passage under a heading that asks nothing is quoted where it answers.
        faq.heading = "Help › Returns".into();
        let draft = run(
            "do you need a label for sending things back by post",
            &[("label", 3.0), ("post", 2.0), ("send", 1.0)],
            &[faq],
        )
        .unwrap();
        assert!(draft.text.contains("need the label"), "{}", draft.text);
        assert!(!draft.text.starts_with("Send it back"), "{}", draft.text);
    }

    #[test]
    fn an_faq_answer_over_two_passages_is_quoted_from_its_opening() {
        let mut opening = hit("The idea was borrowed from Modula-3. It makes methods explicit.");
        opening.heading = "Design › Why must self be used explicitly?".into();
        opening.url = Some("https://x.test/design.html#why-self".into());
        let later = Hit {
            chunk_id: ChunkId::generate(),
            source_id: opening.source_id.clone(),
            text: "Finally, writing self in every method solves a problem with assignment.".into(),
            ordinal: 3,
            ..opening.clone()
        };
        let question = "why do i have to write self in every method";
        let idf = [("write", 2.0), ("method", 1.0), ("self", 1.0)];
        let draft = run(question, &idf, &[later.clone(), opening.clone()]).unwrap();
        assert!(
            draft.text.starts_with("The idea was borrowed"),
            "{}",
            draft.text
        );
        assert_eq!(draft.sources[0].chunk_id, opening.chunk_id);
        // Alone, the later passage is quoted where it answers.
        let draft = run(question, &idf, &[later]).unwrap();
        assert!(draft.text.starts_with("Finally"), "{}", draft.text);
    }

    #[test]
    fn the_answering_sentence_is_picked_out_of_its_passage() {
        let hits = [hit("Welcome to our shop, we love plants.\n\nOur shop is open from 9am to 6pm on weekdays.\n\nWe ship plants across Europe.")];
        let draft = run(
            "When is the shop open?",
            &[("shop", 0.5), ("open", 2.0)],
            &hits,
        )
        .unwrap();
        assert_eq!(draft.text, "Our shop is open from 9am to 6pm on weekdays.");
        assert!(
            (draft.confidence - 1.0).abs() < 1e-9,
            "{}",
            draft.confidence
        );
        assert_eq!(draft.sources.len(), 1);
        assert_eq!(
            draft.sources[0].url.as_deref(),
            Some("https://shop.example/help#hours")
        );
    }

    #[test]
    fn a_question_about_something_never_mentioned_has_low_confidence() {
        let hits = [hit("We sell garden plants and seeds.")];
        let draft = run(
            "Do you sell helicopters?",
            &[("sell", 0.3), ("helicopt", 1.4)],
            &hits,
        )
        .unwrap();
        assert!(draft.confidence < 0.3, "{}", draft.confidence);
    }

    #[test]
    fn a_list_announced_by_the_best_sentence_is_kept_whole() {
        let hits = [hit("To return an item:\n1. Log in\n2. Open your orders\n3. Press return\nRefunds take 5 days.\n\nOur café is upstairs.")];
        let draft = run(
            "How do I return an item?",
            &[("return", 2.0), ("item", 1.0)],
            &hits,
        )
        .unwrap();
        assert_eq!(
            draft.text,
            "To return an item:\n1. Log in\n2. Open your orders\n3. Press return"
        );
    }

    #[test]
    fn a_code_sample_comes_with_the_sentence_announcing_it() {
        let hits = [hit(
            "Tables can change after they are created. To add a column, use a command like:\n\n\
             ALTER TABLE products ADD COLUMN description text;\n\n\
             Existing rows get nulls in it.",
        )];
        let draft = run(
            "How do I add a column?",
            &[("add", 1.0), ("column", 2.0)],
            &hits,
        )
        .unwrap();
        assert_eq!(
            draft.text,
            "To add a column, use a command like:\nALTER TABLE products ADD COLUMN description text;"
        );
        // Chosen for its own words, the code line brings the sentence announcing it.
        let hits = [hit(
            "Row security is off by default. To turn it on for a table, run:\n\n\
             ALTER TABLE accounts ENABLE ROW LEVEL SECURITY;\n\n\
             Policies then decide what each user sees.",
        )];
        let draft = run(
            "How do I enable row level security?",
            &[("enabl", 2.0), ("row", 1.0), ("level", 1.0), ("secur", 1.0)],
            &hits,
        )
        .unwrap();
        assert_eq!(
            draft.text,
            "To turn it on for a table, run:\nALTER TABLE accounts ENABLE ROW LEVEL SECURITY;"
        );
    }

    #[test]
    fn sentences_from_several_passages_cover_a_two_part_question() {
        let hits = [
            hit("Shipping within France takes two days."),
            hit("Returns are accepted within thirty days of delivery."),
        ];
        let draft = run(
            "shipping time and returns policy",
            &[
                ("ship", 2.0),
                ("time", 0.5),
                ("return", 2.0),
                ("polici", 0.5),
            ],
            &hits,
        )
        .unwrap();
        assert!(
            draft.text.contains("Shipping within France"),
            "{}",
            draft.text
        );
        assert!(
            draft.text.contains("Returns are accepted"),
            "{}",
            draft.text
        );
        assert_eq!(draft.sources.len(), 2);
    }

    #[test]
    fn a_record_is_answered_whole() {
        let hits = [hit(
            "sku: A-200\nname: Balcony planter 60cm\nprice: 29.90\nstock: 5",
        )];
        let draft = run(
            "How much is the balcony planter?",
            &[("balconi", 1.0), ("planter", 1.0)],
            &hits,
        )
        .unwrap();
        assert_eq!(
            draft.text,
            "sku: A-200\nname: Balcony planter 60cm\nprice: 29.90\nstock: 5"
        );
    }

    #[test]
    fn a_sentence_inside_a_definition_comes_with_its_opening() {
        let hits = [hit(
            "listen_addresses (string): Specifies the addresses to listen on. Parking is free. \
             The special entry * stands for all interfaces.",
        )];
        let draft = run(
            "how do I use all interfaces?",
            &[("interfac", 2.0), ("use", 0.1)],
            &hits,
        )
        .unwrap();
        // The reply is contiguous: what lies between comes along.
        assert_eq!(
            draft.text,
            "listen_addresses (string): Specifies the addresses to listen on. Parking is free. \
             The special entry * stands for all interfaces."
        );
        // "Note: …" is not a term: a prose line keeps to its best sentence.
        let hits = [hit(
            "Note that this is prose: it says things. Parking is free. \
                         The special entry * stands for all interfaces.",
        )];
        let draft = run("all interfaces?", &[("interfac", 2.0)], &hits).unwrap();
        assert_eq!(draft.text, "The special entry * stands for all interfaces.");
    }

    #[test]
    fn rows_of_a_table_and_defined_terms_are_answered_one_by_one() {
        let table = "Name: smallint; Range: -32768 to +32767\n\
                     Name: integer; Range: -2147483648 to +2147483647\n\
                     Name: bigint; Range: -9223372036854775808 to +9223372036854775807";
        let draft = run(
            "What is the range of an integer?",
            &[("rang", 1.0), ("integ", 2.0)],
            &[hit(table)],
        )
        .unwrap();
        assert_eq!(
            draft.text,
            "Name: integer; Range: -2147483648 to +2147483647"
        );

        let terms = "work_mem: Sets the memory of a sort.\n\nport: Sets the TCP port.";
        let draft = run(
            "Which setting is the TCP port?",
            &[("tcp", 2.0), ("port", 2.0), ("set", 0.1)],
            &[hit(terms)],
        )
        .unwrap();
        assert_eq!(draft.text, "port: Sets the TCP port.");
    }

    #[test]
    fn a_heading_answers_for_the_sentences_under_it() {
        let mut h = hit("We are open Monday to Friday, 9 AM to 6 PM. Parking is behind the shop.");
        h.heading = "Business hours".into();
        let draft = run(
            "What are your business hours?",
            &[("busi", 1.0), ("hour", 1.0)],
            &[h],
        )
        .unwrap();
        // The heading asks the question: the passage is the answer, from its opening.
        assert_eq!(
            draft.text,
            "We are open Monday to Friday, 9 AM to 6 PM. Parking is behind the shop."
        );
        assert!((draft.confidence - 1.0).abs() < 1e-9);
    }

    #[test]
    fn a_passage_not_yet_embedded_is_not_outweighed_by_an_embedded_one() {
        let waiting = hit("Our shop is open from 9am to 6pm on weekdays.");
        let embedded = Hit {
            similarity: Some(0.7),
            ..hit("The shop is open when the owner is in, which is rarely the case on holidays.")
        };
        let draft = run(
            "When is the shop open?",
            &[("shop", 0.5), ("open", 2.0)],
            &[waiting, embedded],
        )
        .unwrap();
        assert_eq!(draft.text, "Our shop is open from 9am to 6pm on weekdays.");
    }

    #[test]
    fn duplicate_sentences_are_said_once() {
        let hits = [
            hit("Delivery is free over 50 euros."),
            hit("Delivery is free over 50 euros!"),
        ];
        let draft = run(
            "is delivery free",
            &[("deliveri", 1.0), ("free", 1.0)],
            &hits,
        )
        .unwrap();
        assert_eq!(draft.text.matches("Delivery").count(), 1, "{}", draft.text);
    }

    /// Composes with sentence similarities given by hand (sentences not listed: 0.1).
    fn run_with_meaning(
        question: &str,
        idf: &[(&str, f32)],
        hits: &[Hit],
        meaning: &[(&str, f32)],
    ) -> Option<Draft> {
        let similarities = |sentences: &[SentenceRef<'_>]| {
            Some(
                sentences
                    .iter()
                    .map(|(_, s)| {
                        meaning
                            .iter()
                            .find(|(m, _)| m == s)
                            .map_or(0.1, |(_, v)| *v)
                    })
                    .collect(),
            )
        };
        run_weighed(question, idf, hits, Some(&similarities))
    }

    #[test]
    fn meaning_picks_a_sentence_that_shares_no_word_with_the_question() {
        let hits = [hit(
            "Strings have a length.\n\nConcatenates the text representations of all the arguments.\n\nTrims spaces.",
        )];
        let draft = run_with_meaning(
            "how do I glue two strings together?",
            &[
                ("glue", 3.0),
                ("two", 1.0),
                ("string", 1.0),
                ("togeth", 1.0),
            ],
            &hits,
            &[(
                "Concatenates the text representations of all the arguments.",
                0.62,
            )],
        )
        .unwrap();
        assert_eq!(
            draft.text,
            "Concatenates the text representations of all the arguments."
        );
        assert_eq!(draft.similarity, Some(0.62));
    }

    #[test]
    fn the_sentence_closest_in_meaning_joins_the_one_chosen_by_words() {
        let text = "The peer method works by obtaining the client's operating system user name from the kernel. \
                    Parking is free. \
                    Peer authentication is only available on some operating systems.";
        let question = "What does peer authentication check?";
        let idf = [("peer", 2.0), ("authent", 1.0), ("check", 0.5)];
        let closest = "The peer method works by obtaining the client's operating system user name from the kernel.";
        let by_words = "Peer authentication is only available on some operating systems.";
        let draft = run_with_meaning(
            question,
            &idf,
            &[hit(text)],
            &[(closest, 0.55), (by_words, 0.45)],
        )
        .unwrap();
        // The reply is contiguous: what lies between comes along.
        assert_eq!(draft.text, format!("{closest} Parking is free. {by_words}"));
        // Not close enough: the sentence chosen by words stands alone.
        let draft = run_with_meaning(
            question,
            &idf,
            &[hit(text)],
            &[(closest, 0.35), (by_words, 0.45)],
        )
        .unwrap();
        assert_eq!(draft.text, by_words);
    }

    #[test]
    fn the_next_sentence_joins_when_it_is_about_the_question_too() {
        let text = "Determines the maximum number of concurrent connections.\n\nThe default is typically 100 connections.\n\nThis parameter can only be set at server start.";
        let question = "what is the maximum number of connections?";
        let idf = [("maximum", 1.0), ("number", 0.5), ("connect", 1.0)];
        let related = run_with_meaning(
            question,
            &idf,
            &[hit(text)],
            &[
                (
                    "Determines the maximum number of concurrent connections.",
                    0.7,
                ),
                ("The default is typically 100 connections.", 0.5),
            ],
        )
        .unwrap();
        assert_eq!(
            related.text,
            "Determines the maximum number of concurrent connections.\n\nThe default is typically 100 connections."
        );
        let unrelated = run_with_meaning(
            question,
            &idf,
            &[hit(text)],
            &[(
                "Determines the maximum number of concurrent connections.",
                0.7,
            )],
        )
        .unwrap();
        assert_eq!(
            unrelated.text,
            "Determines the maximum number of concurrent connections."
        );
    }

    #[test]
    fn a_reply_is_its_passage_from_the_best_sentence_to_its_paragraphs_end_within_the_length() {
        let text = "Welcome to the help pages.\n\n\
                    Parcels leave our warehouse in Lyon within a day. They travel by courier. \
                    Tracking links are sent by email. Signatures are needed above 200 euros.\n\n\
                    Our café is upstairs.";
        let question = "when do parcels leave the warehouse?";
        let idf = [("parcel", 2.0), ("leav", 1.0), ("warehous", 2.0)];
        let mut analyzer = sitechat_search::analyzer("en");
        let mut terms = analyze_with(&mut analyzer, question);
        terms.sort();
        terms.dedup();
        let weights: Vec<f32> = terms
            .iter()
            .map(|t| idf.iter().find(|(k, _)| k == t).map_or(1.0, |(_, w)| *w))
            .collect();
        let compose_within = |max_chars: usize| {
            compose(
                &terms,
                &weights,
                &[hit(text)],
                &crate::question::read("en", question),
                &mut sitechat_search::analyzer("en"),
                Lookups::default(),
                max_chars,
            )
            .unwrap()
            .text
        };
        assert_eq!(
            compose_within(600),
            "Parcels leave our warehouse in Lyon within a day. They travel by courier. \
             Tracking links are sent by email. Signatures are needed above 200 euros."
        );
        assert_eq!(
            compose_within(100),
            "Parcels leave our warehouse in Lyon within a day. They travel by courier."
        );
        // The best sentence is said even when it alone is longer than the length.
        assert_eq!(
            compose_within(20),
            "Parcels leave our warehouse in Lyon within a day."
        );
    }

    #[test]
    fn a_reply_starting_with_a_sentence_that_leans_back_takes_the_one_before() {
        let hits = [hit(
            "Parcels leave our warehouse in Lyon.\n\nThey arrive within three days.",
        )];
        let draft = run(
            "how many days until it arrives?",
            &[("day", 2.0), ("arriv", 2.0)],
            &hits,
        )
        .unwrap();
        assert_eq!(
            draft.text,
            "Parcels leave our warehouse in Lyon.\n\nThey arrive within three days."
        );
    }

    #[test]
    fn a_source_title_says_the_page_title_once() {
        let mut h = hit("Binary strings are sequences of octets.");
        h.title = "Chapter 8. Data Types".into();
        h.heading = "Chapter 8. Data Types › 8.4. Binary Data Types".into();
        assert_eq!(
            cite(&h).title,
            "Chapter 8. Data Types › 8.4. Binary Data Types"
        );
        h.heading = "Chapter 8. Data Types".into();
        assert_eq!(cite(&h).title, "Chapter 8. Data Types");
        h.heading = "Binary Data".into();
        assert_eq!(cite(&h).title, "Chapter 8. Data Types › Binary Data");
    }

    #[test]
    fn a_sentence_of_the_paragraph_far_from_the_question_ends_the_reply() {
        let hits = [hit(
            "We are open Monday to Friday, 9 AM to 6 PM. Returns are accepted within 30 days.",
        )];
        let open = "We are open Monday to Friday, 9 AM to 6 PM.";
        let draft = run_with_meaning(
            "When are you open?",
            &[("open", 2.0)],
            &hits,
            &[(open, 0.6)],
        )
        .unwrap();
        assert_eq!(draft.text, open);
        let draft = run_with_meaning(
            "When are you open?",
            &[("open", 2.0)],
            &hits,
            &[(open, 0.6), ("Returns are accepted within 30 days.", 0.25)],
        )
        .unwrap();
        assert_eq!(draft.text, hits[0].text);
    }

    #[test]
    fn nothing_in_common_means_no_draft() {
        let hits = [hit("We sell garden plants and seeds.")];
        assert!(run("parking", &[], &hits).is_none());
    }

    #[test]
    fn a_long_passage_is_quoted_around_the_used_sentence() {
        let filler = "Lorem ipsum dolor sit amet consectetur. ".repeat(10);
        let text = format!("{filler}Parking is free behind the store.");
        let s = snippet(&text, "Parking is free behind the store.");
        assert!(s.starts_with("Parking"), "{s}");
    }
}
