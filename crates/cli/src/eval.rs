//! `sitechat eval`: measures a bot against a file of questions, through the running server.
//!
//! Each question is asked in a new conversation on channel `eval` (`POST /v1/bots/{id}/chat`, no
//! `conversation_id`, so questions cannot influence each other), and the same question goes to
//! `POST /v1/bots/{id}/search` with `k = max(--k, 10)` to see which passages the chat retrieves.
//! A follow-up (`previous`) is asked after the messages it follows, in their conversation; the
//! search still gets the follow-up's own words, as the search endpoint has no conversation.
//!
//! The questions file has one JSON object a line (blank lines are skipped):
//! `{"question": str, "page"?: str, "answer_contains"?: [str], "answerable"?: bool,
//! "previous"?: str | [str], "expect"?: "handoff", "split"?: "tune" | "test", "language"?: str}`
//! (`answerable` defaults to true; an unanswerable question takes neither `page` nor
//! `answer_contains`; `expect: "handoff"` marks a request for a person, which takes none of
//! `page`, `answer_contains` and `answerable`; `language` is a note for people). `--split` keeps
//! the lines of one split. Every line is checked before any request is sent; bad lines are
//! reported with their line numbers.
//!
//! Definitions:
//! - **page match**: a passage's `url` matches the expected `page` when its path (ignoring the
//!   query and the `#anchor`) ends with `/` + page, or equals page, so `page` may be
//!   `datatype-numeric.html` or a full path (or a full URL: then the whole URL without query and
//!   anchor must be the same). Several passages can come from the same page: ranks count
//!   distinct pages in order of first appearance (a passage without a URL, such as a text source,
//!   counts as the page of its source).
//! - **hit@k**: the expected page is among the first k distinct pages of the search results
//!   (hit@1 is also reported whatever k is).
//!   **Reciprocal rank**: 1 / the rank of the expected page among the distinct pages of the
//!   search results (0 when absent); MRR is its mean. **Cited**: the expected page is among the
//!   chat answer's `sources`. **First cited**: the first of the chat answer's `sources` is the
//!   expected page (false when the answer cites nothing). These are over the questions that have
//!   a `page`.
//! - **answer contains**: every `answer_contains` string is in the reply, compared as [`folded`]
//!   (case, runs of white space and hyphens between letters do not count); over
//!   the answerable questions that have `answer_contains`, and only when the outcome is
//!   `answered` or `curated` (a declined answer contains nothing).
//! - **answer in passages**: every `answer_contains` string is in one of the passages the chat
//!   answers from (the first [`CHAT_PASSAGES`] of the search results, their whole `text`),
//!   compared the same way; over the same questions as *answer contains*, whatever the outcome. It
//!   is what the best choice of sentences could reach: the gap between the two is the
//!   composer's, the rest retrieval's.
//! - **declined**: the outcome is `fallback` or `handoff`. An unanswerable question is correctly
//!   declined when declined, and answered wrongly when its outcome is `answered` or `curated`.
//!   For answerable questions the declined rate is a miss rate.
//! - **mean confidence, correct / wrong answers**: over the replies with outcome `answered` or
//!   `curated`: correct when the question is answerable and the reply contains every
//!   `answer_contains` string (or, without `answer_contains`, cites the expected page); wrong when
//!   the question is unanswerable or the reply misses those; answers to questions with neither
//!   `answer_contains` nor `page` are not judged. It shows whether the confidence threshold
//!   separates right answers from wrong ones.
//! - **person requests recognised**: a request for a person (`expect: "handoff"`) gets the
//!   outcome `handoff`. These lines count neither as answerable nor as unanswerable.
//! - **latency**: the wall time of the chat request, in milliseconds (p50 and p95, nearest rank).
//!
//! A question whose request fails with a server error (5xx) or a timeout is reported and counted
//! as a miss everywhere; an unreachable server, a refused key, an unknown bot or another client
//! error stops the run at once with a non-zero exit code.

use std::{
    collections::{BTreeSet, HashSet},
    fmt::Write as _,
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{anyhow, Context};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Map, Value};

use crate::client::Client;

/// The definitions, shown by `sitechat eval --help`.
pub const DEFINITIONS: &str = "\
Questions file: one JSON object a line (blank lines are skipped):
  {\"question\": str, \"page\"?: str, \"answer_contains\"?: [str], \"answerable\"?: bool,
   \"previous\"?: str | [str], \"expect\"?: \"handoff\", \"split\"?: \"tune\" | \"test\", \"language\"?: str,
   \"bot\"?: str}
answerable defaults to true; an unanswerable question takes neither page nor answer_contains.
expect: \"handoff\" marks a request for a person (no page, answer_contains or answerable).
previous: the message(s) a follow-up follows, asked first in the same conversation.
bot: with several bots (--bot NAME=bot_… each, a corpus of small knowledge bases), which NAME.
--split keeps the lines of one split. Every line is checked before any request is sent. Each
question is asked in a new conversation on channel `eval` (POST /v1/bots/ID/chat) and searched
(POST /v1/bots/ID/search with k = max(--k, 10); a follow-up is searched with its own words).

Definitions:
  page match       a passage's url matches the expected page when its path (ignoring the query
                   and the #anchor) ends with \"/\" + page, or equals page: page may be
                   \"datatype-numeric.html\" or a full path (or a full URL). Ranks count distinct
                   pages in order of first appearance (a passage without a url counts as the page
                   of its source).
  hit@k            the expected page is among the first k distinct pages of the search results
                   (hit@1 is reported too).
  MRR              mean of 1/rank of the expected page among the distinct pages of the search
                   results (0 when absent).
  cited            the expected page is among the chat answer's sources.
  first cited      the first of the chat answer's sources is the expected page.
                   (hit@k, MRR, cited and first cited are over the questions that have a page.)
  answer contains  every answer_contains string is in the reply, ignoring case, runs of white
                   space and hyphens between letters (\"row level\" is in \"Row-Level\"); over the
                   answerable questions with answer_contains, and only when the outcome is
                   answered or curated (a declined answer contains nothing).
  answer in        every answer_contains string is in one of the passages the chat answers from
  passages         (the first 8 search results, their whole text), compared the same way; whatever
                   the outcome. The gap to answer contains is the composer's, the rest retrieval's.
  declined         the outcome is fallback or handoff. For answerable questions it is a miss; an
                   unanswerable question is correctly declined when declined, and answered
                   wrongly when the outcome is answered or curated.
  mean confidence  over replies with outcome answered or curated: correct when the question is
                   answerable and the reply contains every answer_contains string (without
                   answer_contains: cites the expected page), wrong when the question is
                   unanswerable or the reply misses them.
  person requests  a request for a person (expect: handoff) gets the outcome handoff; these
                   count neither as answerable nor as unanswerable.
  latency          wall time of the chat request, ms; p50 and p95 (nearest rank).

A question whose request fails with a server error (5xx) or a timeout is reported and counted as
a miss. An unreachable server, a refused key, an unknown bot or another client error stops the
run with a non-zero exit code; otherwise the exit code is 0 whatever the figures.";

/// `fields! {"a": x, "b": y}`: (name, JSON value) pairs, in order.
macro_rules! fields {
    ($($name:literal: $value:expr),* $(,)?) => {
        vec![$(($name, json!($value))),*]
    };
}

/// How many passages the chat answers from: the first of the search results.
pub const CHAT_PASSAGES: usize = sitechat_answer::RETRIEVE_K;

/// The longest question the chat accepts, in characters.
const MAX_QUESTION_CHARS: usize = 4_000;
/// How long one request may take before the question is counted as failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// How many times a rate-limited request is retried, and the longest wait accepted.
const RATE_LIMIT_RETRIES: u32 = 5;
const RATE_LIMIT_MAX_WAIT_SECS: u64 = 60;

#[derive(Args)]
pub struct EvalArgs {
    /// The bot to measure (`bot_…`). A corpus of several small knowledge bases names one bot
    /// per base, `--bot NAME=bot_…` each, and its questions say which they are for (`"bot":
    /// "NAME"`).
    #[arg(long, value_name = "ID", required = true)]
    bot: Vec<String>,
    /// The questions, one JSON object a line (format: see --help).
    #[arg(long, value_name = "FILE.jsonl")]
    questions: PathBuf,
    /// Count a hit when the expected page is among the first K distinct pages retrieved.
    #[arg(long = "k", value_name = "K", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..=50))]
    k: u32,
    /// Also write every figure and every question's details to this JSON file.
    #[arg(long = "json", value_name = "OUT")]
    json: Option<PathBuf>,
    /// Ask only the questions of this split (`tune` or `test`; `all`: every line).
    #[arg(long, value_name = "SPLIT", default_value = "all",
          value_parser = ["all", "tune", "test"])]
    split: String,
    /// Ask only the first N questions of the file (of the split).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    limit: Option<u64>,
    /// How many questions are asked at the same time.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=32))]
    concurrency: u32,
    #[command(flatten)]
    remote: super::Remote,
}

/// One line of the questions file.
#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    /// Its line number in the file, from 1.
    pub line: usize,
    pub question: String,
    pub page: Option<String>,
    pub answer_contains: Vec<String>,
    pub answerable: bool,
    /// A request for a person (`"expect": "handoff"`); then `answerable` is false.
    pub handoff: bool,
    /// The messages a follow-up follows, asked first in the same conversation.
    pub previous: Vec<String>,
    /// `tune` or `test`, when the line says.
    pub split: Option<String>,
    /// Which of several bots (`--bot NAME=…`) the question is for.
    pub bot: Option<String>,
}

/// Reads every line; on failure, every bad line's number and problem.
pub fn parse_questions(text: &str) -> Result<Vec<Question>, Vec<(usize, String)>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut questions = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match parse_line(i + 1, line) {
            Ok(q) => questions.push(q),
            Err(e) => errors.push((i + 1, e)),
        }
    }
    if errors.is_empty() {
        Ok(questions)
    } else {
        Err(errors)
    }
}

fn parse_line(line: usize, text: &str) -> Result<Question, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON ({e})"))?;
    let Value::Object(object) = value else {
        return Err("not a JSON object".to_owned());
    };
    for key in object.keys() {
        if !matches!(
            key.as_str(),
            "question"
                | "page"
                | "answer_contains"
                | "answerable"
                | "previous"
                | "expect"
                | "split"
                | "language"
                | "bot"
        ) {
            return Err(format!(
                "unknown field `{key}` (expected question, page, answer_contains, answerable, \
                 previous, expect, split, language, bot)"
            ));
        }
    }
    let question = match object.get("question") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
        Some(Value::String(_)) => return Err("`question` is empty".to_owned()),
        Some(_) => return Err("`question` must be a string".to_owned()),
        None => return Err("`question` is missing".to_owned()),
    };
    let chars = question.chars().count();
    if chars > MAX_QUESTION_CHARS {
        return Err(format!(
            "`question` is {chars} characters long; the chat takes at most {MAX_QUESTION_CHARS}"
        ));
    }
    let page = match object.get("page") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !strip_query(s.trim()).is_empty() => Some(s.trim().to_owned()),
        Some(Value::String(_)) => return Err("`page` is empty".to_owned()),
        Some(_) => return Err("`page` must be a string".to_owned()),
    };
    let answer_contains = match object.get("answer_contains") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
                Value::String(_) => Err("`answer_contains` has an empty string".to_owned()),
                _ => Err("`answer_contains` must be an array of strings".to_owned()),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("`answer_contains` must be an array of strings".to_owned()),
    };
    let answerable = match object.get("answerable") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err("`answerable` must be true or false".to_owned()),
    };
    let handoff = match object.get("expect") {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) if s == "handoff" => true,
        Some(_) => return Err("`expect` can only be \"handoff\"".to_owned()),
    };
    if handoff
        && (object.contains_key("answerable") || page.is_some() || !answer_contains.is_empty())
    {
        return Err(
            "a request for a person takes no `answerable`, `page` or `answer_contains`".to_owned(),
        );
    }
    let previous = match object.get("previous") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) if !s.trim().is_empty() => vec![s.trim().to_owned()],
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|item| match item {
                Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
                _ => Err("`previous` must be a string or an array of non-empty strings".to_owned()),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err("`previous` must be a string or an array of non-empty strings".to_owned())
        }
    };
    let split = match object.get("split") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s == "tune" || s == "test" => Some(s.clone()),
        Some(_) => return Err("`split` must be \"tune\" or \"test\"".to_owned()),
    };
    if let Some(language) = object.get("language") {
        if !language.is_string() {
            return Err("`language` must be a string".to_owned());
        }
    }
    let bot = match object.get("bot") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Some(_) => {
            return Err(
                "`bot` must be a non-empty string (a name given with --bot NAME=…)".to_owned(),
            )
        }
    };
    let answerable = answerable && !handoff;
    if !answerable && page.is_some() {
        return Err("an unanswerable question cannot have a `page`".to_owned());
    }
    if !answerable && !answer_contains.is_empty() {
        return Err("an unanswerable question cannot have `answer_contains`".to_owned());
    }
    Ok(Question {
        line,
        question,
        page,
        answer_contains,
        answerable,
        handoff,
        previous,
        split,
        bot,
    })
}

/// The URL or path without its `#anchor` and query.
fn strip_query(s: &str) -> &str {
    let s = s.split('#').next().unwrap_or_default();
    s.split('?').next().unwrap_or_default()
}

/// Decodes `%XX` escapes, so `caf%C3%A9.html` and `café.html` compare equal.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Splits a URL without query and anchor into its lower-cased `scheme://host` and its path.
fn split_url(url: &str) -> (String, &str) {
    let url = strip_query(url);
    match url.find("://") {
        Some(i) => {
            let after = &url[i + 3..];
            let end = after.find('/').map_or(url.len(), |j| i + 3 + j);
            let path = if end == url.len() { "/" } else { &url[end..] };
            (url[..end].to_ascii_lowercase(), path)
        }
        None => (String::new(), url),
    }
}

/// Text as `answer_contains` compares it: lower-cased, every run of white space one space, and a
/// hyphen joining two letters a space ("Row-Level Security" holds "row level security"). A
/// hyphen elsewhere stays ("--jobs", "->>").
pub fn folded(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        let joins_letters = matches!(c, '-' | '\u{2010}' | '\u{2011}')
            && i > 0
            && chars[i - 1].is_alphabetic()
            && chars.get(i + 1).is_some_and(|n| n.is_alphabetic());
        if c.is_whitespace() || joins_letters {
            if !out.ends_with(' ') {
                out.push(' ');
            }
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// Whether a passage's URL is the expected page (see the module documentation).
pub fn page_matches(url: &str, page: &str) -> bool {
    let trim = |s: &str| s.trim_end_matches('/').to_owned();
    let page = page.trim();
    let (url_origin, url_path) = split_url(url);
    let url_path = trim(&percent_decode(url_path));
    if page.contains("://") {
        let (page_origin, page_path) = split_url(page);
        return url_origin == page_origin && url_path == trim(&percent_decode(page_path));
    }
    let page = trim(&percent_decode(strip_query(page)));
    url_path == page || url_path.ends_with(&format!("/{page}"))
}

/// One distinct page of a result list.
#[derive(Debug, Clone, PartialEq)]
struct Page {
    /// The URL without its anchor, or the source id of a passage without a URL.
    key: String,
    url: Option<String>,
}

/// The distinct pages of a list of passages (`url`, `source_id`), in order of first appearance.
fn distinct_pages(passages: &[Value]) -> Vec<Page> {
    let mut seen = HashSet::new();
    let mut pages = Vec::new();
    for passage in passages {
        let url = passage["url"].as_str().filter(|u| !u.is_empty());
        let key = match url {
            Some(u) => u.split('#').next().unwrap_or_default().to_owned(),
            None => passage["source_id"].as_str().unwrap_or_default().to_owned(),
        };
        if seen.insert(key.clone()) {
            pages.push(Page {
                key,
                url: url.map(str::to_owned),
            });
        }
    }
    pages
}

/// The rank (from 1) of the expected page among distinct pages.
fn rank_of(pages: &[Page], page: &str) -> Option<usize> {
    pages
        .iter()
        .position(|p| p.url.as_deref().is_some_and(|u| page_matches(u, page)))
        .map(|i| i + 1)
}

/// What happened to one question.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub reply: Option<String>,
    /// `answered`, `curated`, `fallback`, `smalltalk` or `handoff`; `None` when the chat failed.
    pub outcome: Option<String>,
    pub confidence: Option<f64>,
    /// What the confidence was fitted from (the chat's `explain`), when the reply was composed
    /// from passages: what `make calibrate` fits the confidence model on.
    pub signals: Option<Value>,
    /// The conversation the question was asked in.
    pub conversation_id: Option<String>,
    /// The chat answer's sources, as the server sent them.
    pub sources: Vec<Value>,
    /// Distinct pages of the search results (URL without anchor, or the source id).
    search_pages: Vec<Page>,
    /// The whole text of the first [`CHAT_PASSAGES`] search results.
    search_texts: Vec<String>,
    /// The retrieval mode the search reported.
    pub retrieval: Option<String>,
    pub latency_ms: Option<u64>,
    /// Requests that failed for this question only.
    pub errors: Vec<String>,
}

/// A question with its outcome and what follows from it.
#[derive(Debug, Clone)]
pub struct Scored {
    pub question: Question,
    pub outcome: Outcome,
    /// Rank of the expected page among the search's distinct pages (questions with a page).
    pub rank: Option<usize>,
    pub hit: Option<bool>,
    /// Whether the expected page is the first of the search's distinct pages.
    pub hit_at_1: Option<bool>,
    pub cited: Option<bool>,
    /// Whether the first source the answer cites is the expected page.
    pub first_cited: Option<bool>,
    /// For requests for a person: whether the outcome is `handoff`.
    pub handoff_recognised: Option<bool>,
    /// For answerable questions with `answer_contains`: each string and whether it is in the reply.
    pub contains: Option<Vec<(String, bool)>>,
    /// For the same questions: whether every string is in one passage the chat answers from.
    pub in_passages: Option<bool>,
    pub declined: bool,
    /// Whether the reply is an answer (`answered` or `curated`).
    pub answered: bool,
    /// For answers: whether the answer is right (see the module documentation).
    pub correct: Option<bool>,
}

impl Scored {
    pub fn new(question: Question, outcome: Outcome, k: usize) -> Self {
        let kind = outcome.outcome.as_deref();
        let answered = matches!(kind, Some("answered" | "curated"));
        let declined = matches!(kind, Some("fallback" | "handoff"));
        let rank = question
            .page
            .as_deref()
            .and_then(|p| rank_of(&outcome.search_pages, p));
        let hit = question.page.as_ref().map(|_| rank.is_some_and(|r| r <= k));
        let hit_at_1 = question.page.as_ref().map(|_| rank == Some(1));
        let cited = question.page.as_deref().map(|p| {
            outcome
                .sources
                .iter()
                .filter_map(|s| s["url"].as_str())
                .any(|u| page_matches(u, p))
        });
        let first_cited = question.page.as_deref().map(|p| {
            outcome
                .sources
                .first()
                .and_then(|s| s["url"].as_str())
                .is_some_and(|u| page_matches(u, p))
        });
        let handoff_recognised = question.handoff.then_some(kind == Some("handoff"));
        let contains = (question.answerable && !question.answer_contains.is_empty()).then(|| {
            let reply = folded(outcome.reply.as_deref().unwrap_or_default());
            question
                .answer_contains
                .iter()
                .map(|s| (s.clone(), answered && reply.contains(&folded(s))))
                .collect::<Vec<_>>()
        });
        let in_passages = contains.as_ref().map(|_| {
            outcome.search_texts.iter().any(|text| {
                let text = folded(text);
                question
                    .answer_contains
                    .iter()
                    .all(|s| text.contains(&folded(s)))
            })
        });
        let correct = if !answered {
            None
        } else if !question.answerable {
            Some(false)
        } else if let Some(c) = &contains {
            Some(c.iter().all(|(_, found)| *found))
        } else {
            cited
        };
        Scored {
            question,
            outcome,
            rank,
            hit,
            hit_at_1,
            cited,
            first_cited,
            handoff_recognised,
            contains,
            in_passages,
            declined,
            answered,
            correct,
        }
    }

    fn reciprocal_rank(&self) -> Option<f64> {
        self.question
            .page
            .as_ref()
            .map(|_| self.rank.map_or(0.0, |r| 1.0 / r as f64))
    }

    fn contains_all(&self) -> Option<bool> {
        self.contains
            .as_ref()
            .map(|c| c.iter().all(|(_, found)| *found))
    }

    /// The question's line of the JSON report, in this order.
    fn fields(&self) -> Vec<(&'static str, Value)> {
        let q = &self.question;
        fields! {
            "line": q.line,
            "question": q.question,
            "page": q.page,
            "expected": q.answer_contains,
            "answerable": q.answerable,
            "expect": q.handoff.then_some("handoff"),
            "previous": q.previous,
            "split": q.split,
            "bot": q.bot,
            "conversation_id": self.outcome.conversation_id,
            "reply": self.outcome.reply,
            "outcome": self.outcome.outcome,
            "confidence": self.outcome.confidence,
            "signals": self.outcome.signals,
            "sources": self.outcome.sources,
            "search_pages": self.outcome.search_pages.iter().map(|p| p.key.clone()).collect::<Vec<_>>(),
            "retrieval": self.outcome.retrieval,
            "hit": self.hit,
            "rank": self.rank,
            "reciprocal_rank": self.reciprocal_rank(),
            "cited": self.cited,
            "first_cited": self.first_cited,
            "handoff_recognised": self.handoff_recognised,
            "contains": self.contains.as_ref().map(|c| {
                c.iter().map(|(s, found)| (s.clone(), Value::Bool(*found))).collect::<Map<_, _>>()
            }),
            "in_passages": self.in_passages,
            "declined": self.declined,
            "latency_ms": self.outcome.latency_ms,
            "errors": self.outcome.errors,
        }
    }
}

/// A count out of a total.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Ratio {
    pub count: usize,
    pub total: usize,
}

impl Ratio {
    fn of(items: impl Iterator<Item = Option<bool>>) -> Self {
        let mut r = Ratio::default();
        for b in items.flatten() {
            r.total += 1;
            r.count += usize::from(b);
        }
        r
    }

    pub fn rate(&self) -> Option<f64> {
        (self.total > 0).then(|| self.count as f64 / self.total as f64)
    }
}

/// The run's figures.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub k: usize,
    /// The split asked (`all`, `tune` or `test`); empty when unknown.
    pub split: String,
    pub questions: usize,
    pub answerable: usize,
    pub unanswerable: usize,
    /// Requests for a person.
    pub person_requests: usize,
    pub hit_at_1: Ratio,
    pub hit_at_k: Ratio,
    /// Mean reciprocal rank, and over how many questions.
    pub mrr: Option<f64>,
    pub cited: Ratio,
    pub first_cited: Ratio,
    pub answer_contains: Ratio,
    /// See the module documentation.
    pub answer_in_passages: Ratio,
    pub answerable_declined: Ratio,
    pub unanswerable_declined: Ratio,
    pub unanswerable_answered: usize,
    pub handoff_recognised: Ratio,
    pub confidence_correct: (Option<f64>, usize),
    pub confidence_wrong: (Option<f64>, usize),
    pub latency_p50_ms: Option<u64>,
    pub latency_p95_ms: Option<u64>,
    pub retrieval: Option<String>,
    pub errors: usize,
}

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// The nearest-rank percentile of sorted values.
fn percentile(sorted: &[u64], p: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

impl Summary {
    pub fn of(scored: &[Scored], k: usize) -> Self {
        let answerable: Vec<_> = scored.iter().filter(|s| s.question.answerable).collect();
        let unanswerable: Vec<_> = scored
            .iter()
            .filter(|s| !s.question.answerable && !s.question.handoff)
            .collect();
        let rrs: Vec<f64> = scored.iter().filter_map(Scored::reciprocal_rank).collect();
        let confidences = |want: bool| {
            let values: Vec<f64> = scored
                .iter()
                .filter(|s| s.correct == Some(want))
                .filter_map(|s| s.outcome.confidence)
                .collect();
            (mean(&values), values.len())
        };
        let mut latencies: Vec<u64> = scored.iter().filter_map(|s| s.outcome.latency_ms).collect();
        latencies.sort_unstable();
        let modes: BTreeSet<&str> = scored
            .iter()
            .filter_map(|s| s.outcome.retrieval.as_deref())
            .collect();
        Summary {
            k,
            split: String::new(),
            questions: scored.len(),
            answerable: answerable.len(),
            unanswerable: unanswerable.len(),
            person_requests: scored.iter().filter(|s| s.question.handoff).count(),
            hit_at_1: Ratio::of(scored.iter().map(|s| s.hit_at_1)),
            hit_at_k: Ratio::of(scored.iter().map(|s| s.hit)),
            mrr: mean(&rrs),
            cited: Ratio::of(scored.iter().map(|s| s.cited)),
            first_cited: Ratio::of(scored.iter().map(|s| s.first_cited)),
            answer_contains: Ratio::of(scored.iter().map(Scored::contains_all)),
            answer_in_passages: Ratio::of(scored.iter().map(|s| s.in_passages)),
            answerable_declined: Ratio {
                count: answerable.iter().filter(|s| s.declined).count(),
                total: answerable.len(),
            },
            unanswerable_declined: Ratio {
                count: unanswerable.iter().filter(|s| s.declined).count(),
                total: unanswerable.len(),
            },
            unanswerable_answered: unanswerable.iter().filter(|s| s.answered).count(),
            handoff_recognised: Ratio::of(scored.iter().map(|s| s.handoff_recognised)),
            confidence_correct: confidences(true),
            confidence_wrong: confidences(false),
            latency_p50_ms: percentile(&latencies, 0.50),
            latency_p95_ms: percentile(&latencies, 0.95),
            retrieval: (!modes.is_empty())
                .then(|| modes.into_iter().collect::<Vec<_>>().join(", ")),
            errors: scored
                .iter()
                .filter(|s| !s.outcome.errors.is_empty())
                .count(),
        }
    }

    /// The summary of the JSON report, in this order.
    pub fn fields(&self) -> Vec<(&'static str, Value)> {
        fields! {
            "k": self.k,
            "split": self.split,
            "questions": self.questions,
            "answerable": self.answerable,
            "unanswerable": self.unanswerable,
            "person_requests": self.person_requests,
            "with_page": self.hit_at_k.total,
            "hit_at_1": self.hit_at_1.rate(),
            "hits": self.hit_at_k.count,
            "hit_at_k": self.hit_at_k.rate(),
            "mrr": self.mrr,
            "cited": self.cited.count,
            "cited_rate": self.cited.rate(),
            "first_cited": self.first_cited.count,
            "first_cited_rate": self.first_cited.rate(),
            "with_answer_contains": self.answer_contains.total,
            "answer_contains": self.answer_contains.count,
            "answer_contains_rate": self.answer_contains.rate(),
            "answer_in_passages": self.answer_in_passages.count,
            "answer_in_passages_rate": self.answer_in_passages.rate(),
            "answerable_declined": self.answerable_declined.count,
            "answerable_declined_rate": self.answerable_declined.rate(),
            "unanswerable_declined": self.unanswerable_declined.count,
            "unanswerable_declined_rate": self.unanswerable_declined.rate(),
            "unanswerable_answered": self.unanswerable_answered,
            "person_requests_recognised": self.handoff_recognised.count,
            "person_requests_recognised_rate": self.handoff_recognised.rate(),
            "mean_confidence_correct": self.confidence_correct.0,
            "correct_answers": self.confidence_correct.1,
            "mean_confidence_wrong": self.confidence_wrong.0,
            "wrong_answers": self.confidence_wrong.1,
            "latency_ms_p50": self.latency_p50_ms,
            "latency_ms_p95": self.latency_p95_ms,
            "retrieval": self.retrieval,
            "errors": self.errors,
        }
    }

    /// The summary table: figure, value, what it is over.
    pub fn table(&self) -> String {
        let ratio = |r: &Ratio, over: &str| -> [String; 3] {
            match r.rate() {
                Some(v) => [
                    format!("{v:.3}"),
                    format!("{}/{}", r.count, r.total),
                    over.to_owned(),
                ],
                None => ["-".to_owned(), "0/0".to_owned(), over.to_owned()],
            }
        };
        let number = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.3}"));
        let ms = |v: Option<u64>| v.map_or("-".to_owned(), |v| format!("{v} ms"));
        let mut rows: Vec<[String; 4]> = Vec::new();
        let mut push = |name: &str, cells: [String; 3]| {
            let [a, b, c] = cells;
            rows.push([name.to_owned(), a, b, c]);
        };
        push(
            "questions",
            [
                self.questions.to_string(),
                String::new(),
                format!(
                    "{} answerable, {} unanswerable, {} person requests",
                    self.answerable, self.unanswerable, self.person_requests
                ),
            ],
        );
        push("hit@1", ratio(&self.hit_at_1, "questions with a page"));
        push(
            &format!("hit@{}", self.k),
            ratio(&self.hit_at_k, "questions with a page"),
        );
        push(
            "MRR",
            [
                number(self.mrr),
                String::new(),
                "questions with a page".to_owned(),
            ],
        );
        push("cited", ratio(&self.cited, "questions with a page"));
        push(
            "first cited",
            ratio(&self.first_cited, "questions with a page"),
        );
        push(
            "answer contains",
            ratio(&self.answer_contains, "answerable with answer_contains"),
        );
        push(
            "answer in passages",
            ratio(
                &self.answer_in_passages,
                "the same, in a passage the chat answers from",
            ),
        );
        push(
            "answerable declined",
            ratio(&self.answerable_declined, "answerable questions"),
        );
        push(
            "unanswerable declined",
            ratio(
                &self.unanswerable_declined,
                "unanswerable questions (correct)",
            ),
        );
        push(
            "unanswerable answered",
            [
                self.unanswerable_answered.to_string(),
                String::new(),
                "unanswerable questions answered (wrong)".to_owned(),
            ],
        );
        push(
            "person requests",
            ratio(&self.handoff_recognised, "recognised (outcome handoff)"),
        );
        push(
            "confidence, correct",
            [
                number(self.confidence_correct.0),
                format!("n={}", self.confidence_correct.1),
                "mean, over correct answers".to_owned(),
            ],
        );
        push(
            "confidence, wrong",
            [
                number(self.confidence_wrong.0),
                format!("n={}", self.confidence_wrong.1),
                "mean, over wrong answers".to_owned(),
            ],
        );
        push(
            "latency p50",
            [ms(self.latency_p50_ms), String::new(), "chat".to_owned()],
        );
        push(
            "latency p95",
            [ms(self.latency_p95_ms), String::new(), "chat".to_owned()],
        );
        push(
            "retrieval",
            [
                self.retrieval.clone().unwrap_or_else(|| "-".to_owned()),
                String::new(),
                "as the server reported".to_owned(),
            ],
        );
        if self.errors > 0 {
            push(
                "errors",
                [
                    self.errors.to_string(),
                    String::new(),
                    "questions with a failed request (counted as misses)".to_owned(),
                ],
            );
        }
        render(&["figure", "value", "count", "over"], &rows)
    }
}

/// Plain-text columns, left-aligned, two spaces apart; trailing spaces trimmed.
fn render<const N: usize>(header: &[&str; N], rows: &[[String; N]]) -> String {
    let mut widths = header.map(|h| h.chars().count());
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let _ = write!(text, "{cell:<width$}  ", width = widths[i]);
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
}

/// One line per question.
fn question_table(scored: &[Scored]) -> String {
    let flag = |b: Option<bool>| match b {
        Some(true) => "yes",
        Some(false) => "no",
        None => "-",
    };
    let rows: Vec<[String; 10]> = scored
        .iter()
        .map(|s| {
            let mut question: String = s.question.question.chars().take(60).collect();
            if s.question.question.chars().count() > 60 {
                question.push('…');
            }
            [
                s.question.line.to_string(),
                match (s.question.answerable, s.question.handoff) {
                    (_, true) => "person",
                    (true, _) => "yes",
                    _ => "no",
                }
                .to_owned(),
                flag(s.hit).to_owned(),
                s.rank.map_or("-".to_owned(), |r| r.to_string()),
                flag(s.cited).to_owned(),
                s.contains.as_ref().map_or("-".to_owned(), |c| {
                    format!("{}/{}", c.iter().filter(|(_, f)| *f).count(), c.len())
                }),
                s.outcome
                    .outcome
                    .clone()
                    .unwrap_or_else(|| "error".to_owned()),
                s.outcome
                    .confidence
                    .map_or("-".to_owned(), |c| format!("{c:.2}")),
                s.outcome
                    .latency_ms
                    .map_or("-".to_owned(), |l| l.to_string()),
                question,
            ]
        })
        .collect();
    render(
        &[
            "line",
            "answerable",
            "hit",
            "rank",
            "cited",
            "contains",
            "outcome",
            "conf",
            "ms",
            "question",
        ],
        &rows,
    )
}

/// Pretty JSON of an object whose fields keep their order (`serde_json` maps sort their keys).
fn ordered_object(fields: Vec<(&str, String)>) -> String {
    if fields.is_empty() {
        return "{}".to_owned();
    }
    let fields: Vec<String> = fields
        .into_iter()
        .map(|(name, value)| format!("  {}: {}", Value::from(name), value.replace('\n', "\n  ")))
        .collect();
    format!("{{\n{}\n}}", fields.join(",\n"))
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".to_owned())
}

fn pretty_fields(fields: Vec<(&'static str, Value)>) -> String {
    ordered_object(fields.iter().map(|(n, v)| (*n, pretty(v))).collect())
}

/// The JSON report: `{"summary": {…}, "questions": [{…}, …]}`, fields in a readable order.
fn report(summary: &Summary, scored: &[Scored]) -> String {
    let questions: Vec<String> = scored
        .iter()
        .map(|s| format!("  {}", pretty_fields(s.fields()).replace('\n', "\n  ")))
        .collect();
    let questions = if questions.is_empty() {
        "[]".to_owned()
    } else {
        format!("[\n{}\n]", questions.join(",\n"))
    };
    let mut document = ordered_object(vec![
        ("summary", pretty_fields(summary.fields())),
        ("questions", questions),
    ]);
    document.push('\n');
    document
}

/// The `answer_contains` strings each answer lacks, one question a line.
fn missing_strings(scored: &[Scored]) -> String {
    let mut out = String::new();
    for s in scored {
        let Some(contains) = &s.contains else {
            continue;
        };
        let missing: Vec<String> = contains
            .iter()
            .filter(|(_, found)| !found)
            .map(|(text, _)| Value::from(text.as_str()).to_string())
            .collect();
        if !missing.is_empty() {
            if out.is_empty() {
                out.push_str("missing from the answers:\n");
            }
            let _ = writeln!(out, "  line {}: {}", s.question.line, missing.join(", "));
        }
    }
    out
}

/// Why a request did not give a usable answer.
enum Failure {
    /// Stops the run: the server cannot be reached, the key is refused, the bot is unknown…
    Fatal(anyhow::Error),
    /// Only this question suffers (a 5xx, a timeout).
    Question(String),
}

/// POSTs, retrying while rate limited; returns the body and the time the answer took.
async fn call(client: &Client, path: &str, body: &Value) -> Result<(Value, Duration), Failure> {
    let mut attempt = 0;
    loop {
        let started = Instant::now();
        let response = match client.post_raw(path, body, REQUEST_TIMEOUT).await {
            Ok(r) => r,
            Err(e) if e.is_connect() => {
                return Err(Failure::Fatal(anyhow!(
                    "cannot reach the server at {}: {e}",
                    client.base()
                )))
            }
            Err(e) if e.is_timeout() => {
                return Err(Failure::Question(format!(
                    "POST {path}: no answer within {} s",
                    REQUEST_TIMEOUT.as_secs()
                )))
            }
            Err(e) => return Err(Failure::Question(format!("POST {path}: {e}"))),
        };
        let elapsed = started.elapsed();
        let status = response.status;
        if status.is_success() {
            if !response.body.is_object() {
                return Err(Failure::Fatal(anyhow!(
                    "POST {path}: the answer is not a JSON object: is {} a sitechat server?",
                    client.base()
                )));
            }
            return Ok((response.body, elapsed));
        }
        let message = response.body["error"]["message"]
            .as_str()
            .unwrap_or("no details")
            .to_owned();
        let fatal = |what: String| Err(Failure::Fatal(anyhow!("{what}")));
        match status.as_u16() {
            401 => {
                return fatal(format!(
                    "the server refused the API key ({status}): {message}"
                ))
            }
            403 => {
                return fatal(format!(
                    "the API key may not do POST {path} ({status}): {message}"
                ))
            }
            404 => return fatal(format!("POST {path}: {status}: {message}")),
            429 => {
                let wait = response.retry_after.unwrap_or(1);
                if attempt >= RATE_LIMIT_RETRIES || wait > RATE_LIMIT_MAX_WAIT_SECS {
                    return fatal(format!(
                        "rate limited on POST {path} ({message}); retry in {wait} s"
                    ));
                }
                attempt += 1;
                tokio::time::sleep(Duration::from_secs(wait.max(1))).await;
            }
            _ if status.is_server_error() => {
                return Err(Failure::Question(format!(
                    "POST {path}: the server answered {status}: {message}"
                )))
            }
            _ => {
                return fatal(format!(
                    "POST {path}: the server answered {status}: {message}"
                ))
            }
        }
    }
}

/// Asks one question (search, then chat, so the chat's latency is its own).
async fn ask(
    client: &Client,
    bot: &str,
    question: &Question,
    search_k: usize,
) -> Result<Outcome, anyhow::Error> {
    let mut outcome = Outcome::default();
    match call(
        client,
        &format!("/v1/bots/{bot}/search"),
        &json!({"query": question.question, "k": search_k}),
    )
    .await
    {
        Ok((body, _)) => {
            let passages = body["data"].as_array().cloned().unwrap_or_default();
            outcome.search_pages = distinct_pages(&passages);
            outcome.search_texts = passages
                .iter()
                .take(CHAT_PASSAGES)
                .filter_map(|p| p["text"].as_str().map(str::to_owned))
                .collect();
            outcome.retrieval = body["retrieval"].as_str().map(str::to_owned);
        }
        Err(Failure::Fatal(e)) => return Err(e),
        Err(Failure::Question(e)) => outcome.errors.push(e),
    }
    // A follow-up: the messages it follows first, in one new conversation.
    let mut conversation: Option<String> = None;
    for earlier in &question.previous {
        let mut body = json!({"message": earlier, "channel": "eval"});
        if let Some(id) = &conversation {
            body["conversation_id"] = json!(id);
        }
        match call(client, &format!("/v1/bots/{bot}/chat"), &body).await {
            Ok((body, _)) => match body["conversation_id"].as_str() {
                Some(id) => conversation = Some(id.to_owned()),
                None => {
                    outcome
                        .errors
                        .push("the chat answer has no conversation_id".to_owned());
                    return Ok(outcome);
                }
            },
            Err(Failure::Fatal(e)) => return Err(e),
            Err(Failure::Question(e)) => {
                outcome.errors.push(e);
                return Ok(outcome);
            }
        }
    }
    let mut body = json!({"message": question.question, "channel": "eval", "explain": true});
    if let Some(id) = &conversation {
        body["conversation_id"] = json!(id);
    }
    match call(client, &format!("/v1/bots/{bot}/chat"), &body).await {
        Ok((body, elapsed)) => {
            outcome.reply = body["reply"].as_str().map(str::to_owned);
            outcome.outcome = body["outcome"].as_str().map(str::to_owned);
            outcome.confidence = body["confidence"].as_f64();
            outcome.signals = body.get("signals").cloned();
            outcome.conversation_id = body["conversation_id"].as_str().map(str::to_owned);
            outcome.sources = body["sources"].as_array().cloned().unwrap_or_default();
            outcome.latency_ms = Some(u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX));
            if outcome.outcome.is_none() {
                outcome
                    .errors
                    .push("the chat answer has no outcome (is a human handling it?)".to_owned());
            }
        }
        Err(Failure::Fatal(e)) => return Err(e),
        Err(Failure::Question(e)) => outcome.errors.push(e),
    }
    Ok(outcome)
}

fn read_questions(path: &Path) -> anyhow::Result<Vec<Question>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the questions file {}", path.display()))?;
    let questions = parse_questions(&text).map_err(|errors| {
        let mut message = format!(
            "{}: {} bad line{}",
            path.display(),
            errors.len(),
            if errors.len() == 1 { "" } else { "s" }
        );
        for (line, error) in errors.iter().take(20) {
            let _ = write!(message, "\n  line {line}: {error}");
        }
        if errors.len() > 20 {
            let _ = write!(message, "\n  … and {} more", errors.len() - 20);
        }
        anyhow!(message)
    })?;
    if questions.is_empty() {
        anyhow::bail!("{}: no questions", path.display());
    }
    Ok(questions)
}

/// The bots of `--bot`: `(None, id)` for a bot given alone, `(Some(name), id)` for `NAME=id`.
fn bots(given: &[String]) -> anyhow::Result<Vec<(Option<String>, String)>> {
    let mut out: Vec<(Option<String>, String)> = Vec::new();
    for value in given {
        let (name, id) = match value.split_once('=') {
            Some((name, id)) if !name.trim().is_empty() => (Some(name.trim().to_owned()), id),
            Some(_) => anyhow::bail!("--bot `{value}`: the name before `=` is empty"),
            None => (None, value.as_str()),
        };
        let id_ok = id.strip_prefix("bot_").is_some_and(|rest| {
            !rest.is_empty()
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        });
        if !id_ok {
            anyhow::bail!("`{id}` is not a bot id (bot_…)");
        }
        if out.iter().any(|(n, _)| *n == name) {
            anyhow::bail!(
                "--bot {} is given twice",
                name.as_deref().unwrap_or("(without a name)")
            );
        }
        out.push((name, id.to_owned()));
    }
    if out.len() > 1 && out.iter().any(|(n, _)| n.is_none()) {
        anyhow::bail!("several bots need a name each: --bot NAME=bot_…");
    }
    Ok(out)
}

/// The bot a question is asked: the one its `bot` names, or the only one.
fn bot_of<'a>(bots: &'a [(Option<String>, String)], q: &Question) -> Result<&'a str, String> {
    match (&q.bot, bots) {
        (None, [(_, id)]) => Ok(id),
        (None, _) => Err("the question names no `bot`, and there are several".to_owned()),
        (Some(name), _) => bots
            .iter()
            .find(|(n, _)| n.as_deref() == Some(name.as_str()))
            .map(|(_, id)| id.as_str())
            .ok_or_else(|| format!("`bot` is `{name}`, which no --bot NAME=… names")),
    }
}

/// Runs `sitechat eval`.
pub async fn run(args: EvalArgs) -> anyhow::Result<()> {
    let bots = bots(&args.bot)?;
    let mut questions = read_questions(&args.questions)?;
    for q in &questions {
        bot_of(&bots, q)
            .map_err(|e| anyhow!("{}: line {}: {e}", args.questions.display(), q.line))?;
    }
    if args.split != "all" {
        questions.retain(|q| q.split.as_deref() == Some(args.split.as_str()));
        if questions.is_empty() {
            anyhow::bail!(
                "{}: no question of the split `{}`",
                args.questions.display(),
                args.split
            );
        }
    }
    if let Some(limit) = args.limit {
        questions.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    }
    // Fail on an unwritable output before the run, not after it, without clobbering an earlier
    // report when the run fails.
    let existed = args.json.as_ref().is_some_and(|p| p.exists());
    let json_file = args
        .json
        .as_ref()
        .map(|p| {
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .open(p)
                .with_context(|| format!("cannot write {}", p.display()))
        })
        .transpose()?;
    let scored = match evaluate(&args, &bots, questions).await {
        Ok(scored) => scored,
        Err(e) => {
            if let (Some(path), false) = (&args.json, existed) {
                let _ = std::fs::remove_file(path);
            }
            return Err(e);
        }
    };
    let k = args.k as usize;
    let mut summary = Summary::of(&scored, k);
    summary.split = args.split.clone();

    println!("{}", question_table(&scored));
    let missing = missing_strings(&scored);
    if !missing.is_empty() {
        println!("{missing}");
    }
    println!(
        "sitechat eval: bot {}, {} questions from {} (split: {})",
        args.bot.join(", "),
        scored.len(),
        args.questions.display(),
        args.split
    );
    print!("{}", summary.table());

    if let (Some(path), Some(mut file)) = (&args.json, json_file) {
        let document = report(&summary, &scored);
        file.set_len(0)
            .and_then(|()| std::io::Write::write_all(&mut file, document.as_bytes()))
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

/// Asks every question, `--concurrency` at a time, with a progress bar; stops at the first fatal
/// error.
async fn evaluate(
    args: &EvalArgs,
    bots: &[(Option<String>, String)],
    questions: Vec<Question>,
) -> anyhow::Result<Vec<Scored>> {
    let client = Arc::new(Client::new(
        &args.remote.server,
        args.remote.key.clone(),
        &args.remote.data_dir,
    )?);
    let k = args.k as usize;
    let search_k = k.max(10).max(CHAT_PASSAGES);
    let total = questions.len();

    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:32} {pos}/{len} questions  {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));

    let mut results: Vec<Option<Scored>> = vec![None; total];
    let mut tasks = tokio::task::JoinSet::new();
    let mut next = 0;
    let (mut hits, mut with_page, mut declined) = (0, 0, 0);
    loop {
        while next < total && tasks.len() < args.concurrency as usize {
            let bot: Arc<str> = Arc::from(bot_of(bots, &questions[next]).map_err(|e| anyhow!(e))?);
            let (client, question) = (client.clone(), questions[next].clone());
            let index = next;
            tasks.spawn(async move {
                let outcome = ask(&client, &bot, &question, search_k).await;
                (index, question, outcome)
            });
            next += 1;
        }
        let Some(joined) = tasks.join_next().await else {
            break;
        };
        let (index, question, outcome) = joined.context("a question's task failed")?;
        let outcome = match outcome {
            Ok(o) => o,
            Err(e) => {
                tasks.abort_all();
                bar.abandon();
                let done = results.iter().filter(|r| r.is_some()).count();
                return Err(e.context(format!(
                    "evaluation stopped after {done} of {total} questions"
                )));
            }
        };
        for error in &outcome.errors {
            bar.suspend(|| eprintln!("line {}: {error}", question.line));
        }
        let scored = Scored::new(question, outcome, k);
        if let Some(hit) = scored.hit {
            with_page += 1;
            hits += usize::from(hit);
        }
        declined += usize::from(scored.declined);
        bar.set_message(format!("hit@{k} {hits}/{with_page}, declined {declined}"));
        bar.inc(1);
        results[index] = Some(scored);
    }
    bar.finish_and_clear();
    Ok(results.into_iter().flatten().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_strings_ignore_case_spacing_and_hyphens_between_letters() {
        let reply = folded("Also known as Row-Level  Security.\nUse pg_dump --jobs=4 or ->>.");
        assert!(reply.contains(&folded("ROW LEVEL SECURITY")));
        assert!(reply.contains(&folded("row-level security")));
        assert!(reply.contains(&folded("--jobs")));
        assert!(reply.contains(&folded("->>")));
        assert!(reply.contains(&folded("security. use")));
        // A hyphen that does not join two letters is kept: "jobs" is not "--jobs".
        assert!(!folded("the number of jobs").contains(&folded("--jobs")));
        assert!(!folded("rowlevel").contains(&folded("row level")));
    }

    #[test]
    fn pages_match_by_path_suffix_or_whole_path() {
        let url = "https://www.postgresql.org/docs/current/datatype-numeric.html#DATATYPE-INT";
        assert!(page_matches(url, "datatype-numeric.html"));
        assert!(page_matches(url, "current/datatype-numeric.html"));
        assert!(page_matches(url, "/docs/current/datatype-numeric.html"));
        assert!(page_matches(
            url,
            "https://WWW.postgresql.org/docs/current/datatype-numeric.html?x=1"
        ));
        assert!(!page_matches(url, "numeric.html"));
        assert!(!page_matches(url, "/current/datatype-numeric.html"));
        assert!(!page_matches(
            url,
            "http://other.org/docs/current/datatype-numeric.html"
        ));
        assert!(page_matches("http://h/faq/?a=1#top", "faq"));
        assert!(page_matches("http://h/faq", "faq/"));
        assert!(page_matches("http://h/", "/"));
        assert!(!page_matches("http://h/faq", "/"));
        assert!(page_matches("http://h/caf%C3%A9.html", "café.html"));
    }

    #[test]
    fn ranks_count_distinct_pages() {
        let passages = vec![
            json!({"url": "http://h/a#one", "source_id": "src_1"}),
            json!({"url": "http://h/a#two", "source_id": "src_1"}),
            json!({"url": null, "source_id": "src_2"}),
            json!({"url": null, "source_id": "src_2"}),
            json!({"url": "http://h/b", "source_id": "src_3"}),
        ];
        let pages = distinct_pages(&passages);
        let keys: Vec<_> = pages.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["http://h/a", "src_2", "http://h/b"]);
        assert_eq!(rank_of(&pages, "b"), Some(3));
        assert_eq!(rank_of(&pages, "a"), Some(1));
        assert_eq!(rank_of(&pages, "src_2"), None);
    }

    #[test]
    fn bad_lines_are_reported_with_their_numbers() {
        let text = "{\"question\": \"ok\"}\n\n{\"question\": 3}\nnot json\n{\"question\": \"q\", \"answerable\": false, \"page\": \"x\"}\n{\"question\": \"q\", \"pgae\": \"x\"}\n";
        let errors = parse_questions(text).unwrap_err();
        let lines: Vec<_> = errors.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, [3, 4, 5, 6], "{errors:?}");
        assert!(errors[3].1.contains("pgae"));
        let ok = parse_questions(
            "\u{feff}{\"question\": \" Hours? \", \"page\": \"a.html\", \"answer_contains\": [\"9am\"]}\n",
        )
        .unwrap();
        assert_eq!(ok[0].question, "Hours?");
        assert!(ok[0].answerable);
        assert_eq!(ok[0].answer_contains, ["9am"]);
    }

    fn question(page: Option<&str>, contains: &[&str], answerable: bool) -> Question {
        Question {
            line: 1,
            question: "q".into(),
            page: page.map(str::to_owned),
            answer_contains: contains.iter().map(|s| s.to_string()).collect(),
            answerable,
            handoff: false,
            previous: Vec::new(),
            split: None,
            bot: None,
        }
    }

    #[test]
    fn several_bots_are_named_and_each_question_goes_to_the_one_it_names() {
        let named = bots(&["bakery=bot_a1".into(), "dentist=bot_b2".into()]).unwrap();
        let mut q = question(None, &[], true);
        assert!(bot_of(&named, &q).unwrap_err().contains("names no `bot`"));
        q.bot = Some("dentist".into());
        assert_eq!(bot_of(&named, &q).unwrap(), "bot_b2");
        q.bot = Some("florist".into());
        assert!(bot_of(&named, &q).unwrap_err().contains("florist"));
        let alone = bots(&["bot_a1".into()]).unwrap();
        q.bot = None;
        assert_eq!(bot_of(&alone, &q).unwrap(), "bot_a1");
        assert!(bots(&["bot_a1".into(), "x=bot_b2".into()]).is_err());
        assert!(bots(&["x=bot_a1".into(), "x=bot_b2".into()]).is_err());
        assert!(bots(&["x=nope".into()]).is_err());
        assert!(bots(&["=bot_a1".into()]).is_err());
    }

    fn outcome(
        kind: &str,
        reply: &str,
        confidence: f64,
        search: &[&str],
        sources: &[&str],
        ms: u64,
    ) -> Outcome {
        Outcome {
            reply: Some(reply.into()),
            outcome: Some(kind.into()),
            confidence: Some(confidence),
            signals: None,
            conversation_id: None,
            sources: sources
                .iter()
                .map(|u| json!({"url": u, "source_id": "s"}))
                .collect(),
            search_texts: vec!["We open at Nine AM on weekdays.".into()],
            search_pages: distinct_pages(
                &search
                    .iter()
                    .map(|u| json!({"url": u, "source_id": "s"}))
                    .collect::<Vec<_>>(),
            ),
            retrieval: Some("bm25".into()),
            latency_ms: Some(ms),
            errors: Vec::new(),
        }
    }

    #[test]
    fn splits_follow_ups_and_person_requests_are_read_and_checked() {
        let text = "{\"question\": \"And on Sundays?\", \"previous\": \"Hours on Saturdays?\", \"page\": \"a.html\", \"split\": \"test\"}\n\
            {\"question\": \"un conseiller svp\", \"expect\": \"handoff\", \"language\": \"fr\", \"split\": \"tune\"}\n\
            {\"question\": \"q\", \"previous\": [\"one\", \"two\"]}\n";
        let q = parse_questions(text).unwrap();
        assert_eq!(q[0].previous, ["Hours on Saturdays?"]);
        assert_eq!(q[0].split.as_deref(), Some("test"));
        assert!(q[0].answerable && !q[0].handoff);
        assert!(q[1].handoff && !q[1].answerable);
        assert_eq!(q[1].split.as_deref(), Some("tune"));
        assert_eq!(q[2].previous, ["one", "two"]);
        assert_eq!(q[2].split, None);
        let bad = "{\"question\": \"q\", \"split\": \"train\"}\n\
            {\"question\": \"q\", \"expect\": \"handoff\", \"page\": \"a.html\"}\n\
            {\"question\": \"q\", \"expect\": \"answer\"}\n\
            {\"question\": \"q\", \"previous\": []}\n\
            {\"question\": \"q\", \"expect\": \"handoff\", \"answerable\": false}\n";
        let errors = parse_questions(bad).unwrap_err();
        let lines: Vec<_> = errors.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, [1, 2, 3, 4, 5], "{errors:?}");
    }

    #[test]
    fn person_requests_count_apart_and_the_first_source_is_judged_alone() {
        let mut person = question(None, &[], false);
        person.handoff = true;
        let scored = vec![
            Scored::new(
                person.clone(),
                outcome("handoff", "Someone is coming.", 1.0, &[], &[], 5),
                5,
            ),
            Scored::new(person, outcome("fallback", "Sorry", 0.1, &[], &[], 5), 5),
            // Cites the expected page, but second: cited, not first cited.
            Scored::new(
                question(Some("2"), &[], true),
                outcome(
                    "answered",
                    "Yes",
                    0.8,
                    &["http://h/2"],
                    &["http://h/1", "http://h/2#b"],
                    5,
                ),
                5,
            ),
        ];
        let s = Summary::of(&scored, 5);
        assert_eq!((s.answerable, s.unanswerable, s.person_requests), (1, 0, 2));
        assert_eq!(s.handoff_recognised, Ratio { count: 1, total: 2 });
        assert_eq!(s.cited, Ratio { count: 1, total: 1 });
        assert_eq!(s.first_cited, Ratio { count: 0, total: 1 });
        assert_eq!(s.hit_at_1, Ratio { count: 1, total: 1 });
        assert_eq!(s.unanswerable_declined, Ratio::default());
        let table = s.table();
        assert!(
            table.contains("person requests") && table.contains("0.500  1/2"),
            "{table}"
        );
        let document: Value = serde_json::from_str(&report(&s, &scored)).unwrap();
        assert_eq!(document["summary"]["person_requests_recognised_rate"], 0.5);
        assert_eq!(document["questions"][0]["expect"], "handoff");
        assert_eq!(document["questions"][0]["handoff_recognised"], true);
        assert_eq!(document["questions"][2]["first_cited"], false);
    }

    #[test]
    fn the_definitions_name_how_many_passages_the_chat_answers_from() {
        let said = format!("(the first {CHAT_PASSAGES} search results");
        assert!(DEFINITIONS.contains(&said), "{DEFINITIONS}");
    }

    #[test]
    fn the_summary_follows_the_definitions() {
        let pages = [
            "http://h/1",
            "http://h/2",
            "http://h/3",
            "http://h/4",
            "http://h/5",
            "http://h/6",
        ];
        let scored = vec![
            // Hit at rank 1, cited, contains everything.
            Scored::new(
                question(Some("1"), &["Nine AM"], true),
                outcome(
                    "answered",
                    "We open at nine am.",
                    0.9,
                    &pages,
                    &["http://h/1#x"],
                    10,
                ),
                5,
            ),
            // Rank 6: no hit@5, reciprocal rank 1/6; declined, so contains nothing.
            Scored::new(
                question(Some("6"), &["refund"], true),
                outcome("fallback", "Sorry, refund?", 0.2, &pages, &[], 30),
                5,
            ),
            // Declined as it should be.
            Scored::new(
                question(None, &[], false),
                outcome("fallback", "Sorry", 0.1, &[], &[], 20),
                5,
            ),
            // Answered wrongly.
            Scored::new(
                question(None, &[], false),
                outcome("answered", "Yes", 0.5, &[], &[], 40),
                5,
            ),
        ];
        let s = Summary::of(&scored, 5);
        assert_eq!((s.questions, s.answerable, s.unanswerable), (4, 2, 2));
        assert_eq!(s.hit_at_k, Ratio { count: 1, total: 2 });
        assert!((s.mrr.unwrap() - (1.0 + 1.0 / 6.0) / 2.0).abs() < 1e-9);
        assert_eq!(s.cited, Ratio { count: 1, total: 2 });
        assert_eq!(s.first_cited, Ratio { count: 1, total: 2 });
        assert_eq!(s.hit_at_1, Ratio { count: 1, total: 2 });
        assert_eq!(s.person_requests, 0);
        assert_eq!(s.handoff_recognised, Ratio::default());
        assert_eq!(s.answer_contains, Ratio { count: 1, total: 2 });
        // "Nine AM" is in a passage; "refund" in none, and declined or not makes no difference.
        assert_eq!(s.answer_in_passages, Ratio { count: 1, total: 2 });
        assert_eq!(s.answerable_declined, Ratio { count: 1, total: 2 });
        assert_eq!(s.unanswerable_declined, Ratio { count: 1, total: 2 });
        assert_eq!(s.unanswerable_answered, 1);
        assert_eq!(s.confidence_correct, (Some(0.9), 1));
        assert_eq!(s.confidence_wrong, (Some(0.5), 1));
        assert_eq!((s.latency_p50_ms, s.latency_p95_ms), (Some(20), Some(40)));
        assert_eq!(s.retrieval.as_deref(), Some("bm25"));
        let document: Value = serde_json::from_str(&report(&s, &scored)).unwrap();
        assert_eq!(document["summary"]["hit_at_k"], 0.5);
        assert_eq!(
            document["questions"][0]["contains"],
            json!({"Nine AM": true})
        );
        assert_eq!(document["questions"][1]["reciprocal_rank"], 1.0 / 6.0);
        assert_eq!(document["questions"][1]["in_passages"], false);
        assert_eq!(document["summary"]["answer_in_passages_rate"], 0.5);
        assert!(report(&s, &scored).starts_with("{\n  \"summary\": {\n    \"k\": 5,"));
        assert_eq!(
            missing_strings(&scored),
            "missing from the answers:\n  line 1: \"refund\"\n"
        );
        let table = s.table();
        assert!(
            table.contains("hit@5") && table.contains("0.500  1/2"),
            "{table}"
        );
    }
}
