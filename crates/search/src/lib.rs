//! Per-bot search indexes.
//!
//! Each bot has its own tantivy index in its own directory (`<root>/<bot_id>/`), so one bot can
//! never retrieve another's passages: isolation is by construction, not by a filter that a query
//! could forget. The database is the source of truth; an index can always be rebuilt from it.
//!
//! Text is analysed per bot language: split into words, lower-cased, folded to ASCII, stop words
//! removed and stemmed (for the languages tantivy has stemmers for). The same analysis serves the
//! answer composer ([`SearchIndex::analyze`]) so that "match" means the same thing everywhere.
//!
//! Curated answers' passages carry a stored `curated` flag ([`Hit::curated`]), taken from
//! [`Chunk::curated`] when they are indexed, so an index rebuilt from the database keeps it. An
//! index written with an older schema is started afresh when opened (and then found empty and
//! rebuilt by the server's start-up check).
//!
//! All methods block (disk I/O, index commits): call them from a blocking pool.

mod dense;

use dense::reciprocal_rank;
pub use dense::{
    dot, reciprocal_rank_fusion, Scale, VectorSet, DENSE_WEIGHT, DENSE_WEIGHT_UNKNOWN_WORDS,
};

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, OnceLock, RwLock},
};

use sitechat_core::{model::Chunk, BotId, ChunkId, SourceId};
use tantivy::{
    collector::{Count, TopDocs},
    query::{BooleanQuery, BoostQuery, Occur, PhraseQuery, Query, TermQuery},
    schema::{
        Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, STORED, STRING,
    },
    tokenizer::{
        AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
        StopWordFilter, TokenStream,
    },
    Index, IndexReader, ReloadPolicy, TantivyDocument, Term,
};

/// What can go wrong in an index.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index error: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error("search index I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("search index directory error: {0}")]
    Directory(#[from] tantivy::directory::error::OpenDirectoryError),
}

pub use tantivy::tokenizer::TextAnalyzer;

pub type Result<T, E = SearchError> = std::result::Result<T, E>;

/// Budget of one index writer. Writers live only for the duration of a write.
const WRITER_MEMORY: usize = 32 * 1024 * 1024;
const ANALYZER: &str = "sitechat";

/// A passage found by a search, with everything needed to cite it.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub chunk_id: ChunkId,
    pub source_id: SourceId,
    pub title: String,
    pub heading: String,
    pub anchor: Option<String>,
    pub url: Option<String>,
    pub text: String,
    /// Retrieval score (higher is better; not comparable across questions): BM25, or the fused
    /// reciprocal-rank score of a hybrid search.
    pub score: f32,
    /// Cosine similarity of the passage to the question, when retrieval used embeddings.
    pub similarity: Option<f32>,
    /// A curated answer: `heading` is its question and `text` its answer.
    pub curated: bool,
    /// The passage's position in its source (a page's passages in order: the one under a
    /// heading with the lowest ordinal opens the section).
    pub ordinal: i64,
    /// Where each retriever ranked the passage, before fusion.
    pub ranks: Ranks,
}

impl Hit {
    /// The page the passage is from: its URL without the fragment, or its source when it has
    /// no URL.
    pub fn page(&self) -> &str {
        page_of(self.url.as_deref(), &self.source_id)
    }
}

/// A passage's page: its URL without the fragment, or its source when it has no URL.
fn page_of<'a>(url: Option<&'a str>, source: &'a SourceId) -> &'a str {
    match url {
        Some(url) => url.split('#').next().unwrap_or(url),
        None => source.as_str(),
    }
}

/// A passage's rank (0 = first) in the keyword (BM25) and dense (meaning) candidate lists of a
/// search; `None` when that list did not have it. How much the two retrievers agree on the
/// passage that answers is one of the signals confidence is fitted from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ranks {
    pub keyword: Option<u32>,
    pub dense: Option<u32>,
}

#[derive(Clone, Copy)]
struct Fields {
    chunk_id: Field,
    source_id: Field,
    title: Field,
    heading: Field,
    anchor: Field,
    url: Field,
    text: Field,
    /// `"1"` on curated answers' passages.
    curated: Field,
    /// The passage's position in its source.
    ordinal: Field,
    /// The passage's page ([`Hit::page`]), indexed whole: a page's passages are found by it.
    page: Field,
}

fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let analysed = TextOptions::default()
        .set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(ANALYZER)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        )
        .set_stored();
    let fields = Fields {
        chunk_id: builder.add_text_field("chunk_id", STRING | STORED),
        source_id: builder.add_text_field("source_id", STRING | STORED),
        title: builder.add_text_field("title", analysed.clone()),
        heading: builder.add_text_field("heading", analysed.clone()),
        anchor: builder.add_text_field("anchor", STORED),
        url: builder.add_text_field("url", STORED),
        text: builder.add_text_field("text", analysed),
        curated: builder.add_text_field("curated", STRING | STORED),
        ordinal: builder.add_i64_field("ordinal", STORED),
        page: builder.add_text_field("page", STRING),
    };
    (builder.build(), fields)
}

/// tantivy's language for a language code, when it has a stemmer for it.
fn tantivy_language(code: &str) -> Option<Language> {
    let primary = code.split('-').next().unwrap_or(code);
    Some(match primary {
        "ar" => Language::Arabic,
        "da" => Language::Danish,
        "nl" => Language::Dutch,
        "en" => Language::English,
        "fi" => Language::Finnish,
        "fr" => Language::French,
        "de" => Language::German,
        "el" => Language::Greek,
        "hu" => Language::Hungarian,
        "it" => Language::Italian,
        "no" | "nb" | "nn" => Language::Norwegian,
        "pt" => Language::Portuguese,
        "ro" => Language::Romanian,
        "ru" => Language::Russian,
        "es" => Language::Spanish,
        "sv" => Language::Swedish,
        "ta" => Language::Tamil,
        "tr" => Language::Turkish,
        _ => return None,
    })
}

/// Stop words of a language: NLTK's lists (which, unlike tantivy's built-in ones, include question
/// words such as "what" and "how", so a question's weight rests on the words that carry its
/// meaning). Malay shares Indonesian's function words.
fn stop_words(primary: &str) -> Option<Vec<String>> {
    let code = if primary == "ms" { "id" } else { primary };
    stop_words::lookup(code).map(|words| words.iter().map(|w| (*w).to_owned()).collect())
}

/// The analyser for a bot's language (built once per language, then cloned).
pub fn analyzer(language: &str) -> TextAnalyzer {
    static CACHE: OnceLock<Mutex<HashMap<String, TextAnalyzer>>> = OnceLock::new();
    let primary = language.split('-').next().unwrap_or(language).to_owned();
    let mut cache = CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    cache
        .entry(primary.clone())
        .or_insert_with(|| build_analyzer(&primary))
        .clone()
}

fn build_analyzer(primary: &str) -> TextAnalyzer {
    let mut builder = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(48))
        .filter(LowerCaser)
        .dynamic();
    if let Some(words) = stop_words(primary) {
        builder = builder.filter_dynamic(StopWordFilter::remove(words));
    }
    builder = builder.filter_dynamic(AsciiFoldingFilter);
    if let Some(lang) = tantivy_language(primary) {
        builder = builder.filter_dynamic(Stemmer::new(lang));
    }
    builder.build()
}

/// The terms of a text, as the bot's index sees them (in order, repeats kept).
pub fn analyze_with(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut stream = analyzer.token_stream(text);
    let mut terms = Vec::new();
    while let Some(token) = stream.next() {
        terms.push(token.text.clone());
    }
    terms
}

struct BotIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    language: String,
    /// Serialises writers of this bot's index.
    write_lock: Mutex<()>,
    /// The bot's chunk embeddings in memory, when loaded, and their generation.
    dense: RwLock<Dense>,
}

impl BotIndex {
    fn open(dir: &Path, language: &str) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        let (schema, fields) = schema();
        let directory = tantivy::directory::MmapDirectory::open(dir)?;
        let index = match Index::open_or_create(directory, schema.clone()) {
            Ok(index) => index,
            // An index written by an older version (another schema): start it afresh. The
            // start-up check finds it empty and rebuilds it from the database.
            Err(tantivy::TantivyError::SchemaError(_)) => {
                std::fs::remove_dir_all(dir)?;
                std::fs::create_dir_all(dir)?;
                Index::open_or_create(tantivy::directory::MmapDirectory::open(dir)?, schema)?
            }
            Err(e) => return Err(e.into()),
        };
        index.tokenizers().register(ANALYZER, analyzer(language));
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Self {
            index,
            reader,
            fields,
            language: language.to_owned(),
            write_lock: Mutex::new(()),
            dense: RwLock::new(Dense::default()),
        })
    }

    fn write(
        &self,
        f: impl FnOnce(&mut tantivy::IndexWriter, &Fields) -> Result<()>,
    ) -> Result<()> {
        let _guard = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut writer = self.index.writer_with_num_threads(1, WRITER_MEMORY)?;
        f(&mut writer, &self.fields)?;
        writer.commit()?;
        writer.wait_merging_threads()?;
        self.reader.reload()?;
        // Passages changed: the vectors in memory are reloaded on the next dense search.
        self.dense
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .invalidate();
        Ok(())
    }
}

/// A bot's vectors in memory: `None` until loaded, or after its passages changed.
#[derive(Default)]
struct Dense {
    generation: u64,
    set: Option<Arc<VectorSet>>,
}

impl Dense {
    fn invalidate(&mut self) {
        self.generation += 1;
        self.set = None;
    }
}

/// How many candidates each retriever gives to the fusion.
const FUSION_DEPTH: usize = 20;

/// What an exact match of one of the question's identifiers adds to a fused score: more than
/// the best rank in one list is worth (1/61, 1.5/61 in the dense list at [`DENSE_WEIGHT`]), so
/// "product 123" finds product 123 and not the product 12 that means nearly the same to an
/// embedding. When a word of the question is in no passage the dense list's best rank is worth
/// 4/61 ([`DENSE_WEIGHT_UNKNOWN_WORDS`]): the identifier in a passage's title (two matches, 2/30)
/// still outweighs it, one in its text alone no longer does.
const IDENTIFIER_BONUS: f32 = 1.0 / 30.0;

/// The question's identifiers: words with a digit in them (numbers, SKUs, versions, `R-12`).
fn identifiers(question: &str) -> Vec<String> {
    question
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '?' | '!' | '(' | ')' | '"'))
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .filter(|w| w.chars().any(|c| c.is_ascii_digit()))
        .collect()
}

/// How many of the identifiers a passage contains as whole words, those in its title or heading
/// counting twice: the page named after product 123 beats the page of product 113 that costs
/// 123 euros.
fn exact_matches(identifiers: &[String], hit: &Hit) -> usize {
    if identifiers.is_empty() {
        return 0;
    }
    let names = format!("{} {}", hit.title, hit.heading).to_lowercase();
    let text = hit.text.to_lowercase();
    // A whole word: not inside a longer word, nor a part of a dotted number ("3" is not in
    // "9.3. Mathematical Functions", nor in "version 15.3").
    let has = |haystack: &str, id: &str| {
        haystack.match_indices(id).any(|(at, _)| {
            let mut before = haystack[..at].chars().rev();
            let mut after = haystack[at + id.len()..].chars();
            let edge = |next: Option<char>, beyond: Option<char>| match next {
                None => true,
                Some('.') => !beyond.is_some_and(|c| c.is_ascii_digit()),
                Some(c) => !c.is_alphanumeric(),
            };
            edge(before.next(), before.next()) && edge(after.next(), after.next())
        })
    };
    identifiers
        .iter()
        .map(|id| match (has(&names, id), has(&text, id)) {
            (true, _) => 2,
            (false, true) => 1,
            (false, false) => 0,
        })
        .sum()
}

/// All bots' indexes under one root directory.
pub struct SearchIndex {
    root: PathBuf,
    open: RwLock<HashMap<BotId, Arc<BotIndex>>>,
}

impl SearchIndex {
    /// Uses `root` for the indexes, creating it if needed.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(&root)?;
        Ok(Self {
            root,
            open: RwLock::new(HashMap::new()),
        })
    }

    fn bot(&self, bot: &BotId, language: &str) -> Result<Arc<BotIndex>> {
        if let Some(index) = self.open.read().unwrap_or_else(|p| p.into_inner()).get(bot) {
            if index.language == language {
                return Ok(index.clone());
            }
        }
        let mut open = self.open.write().unwrap_or_else(|p| p.into_inner());
        if let Some(index) = open.get(bot) {
            if index.language == language {
                return Ok(index.clone());
            }
        }
        let index = Arc::new(BotIndex::open(&self.root.join(bot.as_str()), language)?);
        open.insert(bot.clone(), index.clone());
        Ok(index)
    }

    /// Adds passages to a bot's index and makes them searchable.
    pub fn add_chunks(&self, bot: &BotId, language: &str, chunks: &[Chunk]) -> Result<()> {
        if chunks.is_empty() {
            return Ok(());
        }
        let index = self.bot(bot, language)?;
        index.write(|writer, f| {
            for chunk in chunks {
                writer.add_document(chunk_document(f, chunk))?;
            }
            Ok(())
        })
    }

    /// Replaces sources in one commit: every passage of `remove` leaves the index, then `add`
    /// enters it (a re-crawled page is in `remove` and its new passages in `add`).
    pub fn apply(
        &self,
        bot: &BotId,
        language: &str,
        remove: &[SourceId],
        add: &[Chunk],
    ) -> Result<()> {
        if remove.is_empty() && add.is_empty() {
            return Ok(());
        }
        let index = self.bot(bot, language)?;
        index.write(|writer, f| {
            for source in remove {
                writer.delete_term(Term::from_field_text(f.source_id, source.as_str()));
            }
            for chunk in add {
                writer.add_document(chunk_document(f, chunk))?;
            }
            Ok(())
        })
    }

    /// Removes every passage of a source from a bot's index.
    pub fn delete_source(&self, bot: &BotId, language: &str, source: &SourceId) -> Result<()> {
        let index = self.bot(bot, language)?;
        index.write(|writer, f| {
            writer.delete_term(Term::from_field_text(f.source_id, source.as_str()));
            Ok(())
        })
    }

    /// Replaces a bot's whole index with the given passages (all of them, in batches).
    pub fn rebuild<I>(&self, bot: &BotId, language: &str, batches: I) -> Result<u64>
    where
        I: IntoIterator<Item = Result<Vec<Chunk>>>,
    {
        self.forget(bot);
        let dir = self.root.join(bot.as_str());
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        let index = self.bot(bot, language)?;
        let mut count = 0;
        index.write(|writer, f| {
            for batch in batches {
                for chunk in batch? {
                    writer.add_document(chunk_document(f, &chunk))?;
                    count += 1;
                }
            }
            Ok(())
        })?;
        Ok(count)
    }

    /// Deletes a bot's index from disk.
    pub fn drop_bot(&self, bot: &BotId) -> Result<()> {
        self.forget(bot);
        let dir = self.root.join(bot.as_str());
        if dir.exists() {
            std::fs::remove_dir_all(dir)?;
        }
        Ok(())
    }

    fn forget(&self, bot: &BotId) {
        self.open
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(bot);
    }

    /// How many passages a bot's index holds.
    pub fn doc_count(&self, bot: &BotId, language: &str) -> Result<u64> {
        Ok(self.bot(bot, language)?.reader.searcher().num_docs())
    }

    /// The best `limit` passages for a question, by BM25 over text, title and headings.
    pub fn search(
        &self,
        bot: &BotId,
        language: &str,
        question: &str,
        limit: usize,
    ) -> Result<Vec<Hit>> {
        let index = self.bot(bot, language)?;
        let f = index.fields;
        let mut analyzer = analyzer(language);
        let mut terms = analyze_with(&mut analyzer, question);
        terms.sort();
        terms.dedup();
        if terms.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for term in &terms {
            for (field, boost) in [(f.text, 1.0), (f.title, 1.5), (f.heading, 1.2)] {
                let query = TermQuery::new(
                    Term::from_field_text(field, term),
                    IndexRecordOption::WithFreqs,
                );
                clauses.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(Box::new(query), boost)),
                ));
            }
        }
        let query = BooleanQuery::new(clauses);
        let searcher = index.reader.searcher();
        let top = searcher.search(&query, &TopDocs::with_limit(limit))?;
        let mut hits = Vec::with_capacity(top.len());
        for (rank, (score, address)) in top.into_iter().enumerate() {
            let doc: TantivyDocument = searcher.doc(address)?;
            let mut hit = hit_of(&f, &doc, score);
            hit.ranks.keyword = u32::try_from(rank).ok();
            hits.push(hit);
        }
        Ok(hits)
    }

    /// The inverse document frequency of a term that is in none of the bot's passages (the
    /// highest there is).
    pub fn unseen_idf(&self, bot: &BotId, language: &str) -> Result<f32> {
        let n = self.bot(bot, language)?.reader.searcher().num_docs() as f32;
        Ok((1.0 + (n + 0.5) / 0.5).ln())
    }

    /// Whether each term (analysed) is in the text, a heading or a title of the bot's passages.
    pub fn knows_all(&self, bot: &BotId, language: &str, terms: &[String]) -> Result<bool> {
        let index = self.bot(bot, language)?;
        let searcher = index.reader.searcher();
        let fields = [index.fields.text, index.fields.heading, index.fields.title];
        'terms: for term in terms {
            for field in fields {
                if searcher.doc_freq(&Term::from_field_text(field, term))? > 0 {
                    continue 'terms;
                }
            }
            return Ok(false);
        }
        Ok(true)
    }

    /// The passages of a page ([`Hit::page`]) in their order on it, at most `limit` of the
    /// first ones, with no score: what the page says beside a passage retrieval found (the
    /// Bristol shop's opening hours beside the Bath shop's).
    pub fn page_passages(
        &self,
        bot: &BotId,
        language: &str,
        page: &str,
        limit: usize,
    ) -> Result<Vec<Hit>> {
        let index = self.bot(bot, language)?;
        let searcher = index.reader.searcher();
        let query = TermQuery::new(
            Term::from_field_text(index.fields.page, page),
            IndexRecordOption::Basic,
        );
        let mut hits = Vec::new();
        for (_, address) in searcher.search(&query, &TopDocs::with_limit(PAGE_PASSAGES))? {
            let doc: TantivyDocument = searcher.doc(address)?;
            hits.push(hit_of(&index.fields, &doc, 0.0));
        }
        hits.sort_by_key(|h| h.ordinal);
        hits.truncate(limit);
        Ok(hits)
    }

    /// Whether the bot's passages have these analysed terms side by side, in this order, in a
    /// text, a heading or a title: "3.12" analysed is `["3", "12"]`, which the index cannot
    /// tell from "3" and "12" apart. One term is
    /// [`SearchIndex::knows_all`], and no terms are trivially known.
    pub fn knows_phrase(&self, bot: &BotId, language: &str, terms: &[String]) -> Result<bool> {
        if terms.len() < 2 {
            return self.knows_all(bot, language, terms);
        }
        let index = self.bot(bot, language)?;
        let searcher = index.reader.searcher();
        for field in [index.fields.text, index.fields.heading, index.fields.title] {
            let phrase = PhraseQuery::new(
                terms
                    .iter()
                    .map(|t| Term::from_field_text(field, t))
                    .collect(),
            );
            if searcher.search(&phrase, &Count)? > 0 {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Inverse document frequencies of terms in a bot's passages (BM25's idf: a term in no passage
    /// gets the highest weight, a term in every passage almost none).
    pub fn idf(&self, bot: &BotId, language: &str, terms: &[String]) -> Result<Vec<f32>> {
        let index = self.bot(bot, language)?;
        let searcher = index.reader.searcher();
        let n = searcher.num_docs() as f32;
        terms
            .iter()
            .map(|term| {
                let df = searcher.doc_freq(&Term::from_field_text(index.fields.text, term))? as f32;
                Ok((1.0 + (n - df + 0.5) / (df + 0.5)).ln())
            })
            .collect()
    }

    /// The bot's vectors in memory and their generation; `None` when they are to be loaded
    /// (then load them and give them to [`SearchIndex::set_vectors`] with this generation).
    pub fn vectors(&self, bot: &BotId, language: &str) -> Result<(u64, Option<Arc<VectorSet>>)> {
        let index = self.bot(bot, language)?;
        let dense = index.dense.read().unwrap_or_else(|p| p.into_inner());
        Ok((dense.generation, dense.set.clone()))
    }

    /// Forgets the bot's vectors in memory: the next dense search loads them again (another
    /// model's vectors are complete).
    pub fn forget_vectors(&self, bot: &BotId, language: &str) -> Result<()> {
        let index = self.bot(bot, language)?;
        index
            .dense
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .invalidate();
        Ok(())
    }

    /// Keeps loaded vectors in memory, unless the passages changed since `generation` was read.
    pub fn set_vectors(
        &self,
        bot: &BotId,
        language: &str,
        generation: u64,
        set: VectorSet,
    ) -> Result<Arc<VectorSet>> {
        let set = Arc::new(set);
        let index = self.bot(bot, language)?;
        let mut dense = index.dense.write().unwrap_or_else(|p| p.into_inner());
        if dense.generation == generation {
            dense.set = Some(set.clone());
        }
        Ok(set)
    }

    /// New vectors of `model` were saved: they join the vectors in memory without a reload when
    /// those are loaded and of the same model.
    pub fn add_vectors(
        &self,
        bot: &BotId,
        language: &str,
        model: &str,
        vectors: &[(ChunkId, Vec<f32>)],
    ) -> Result<()> {
        let index = self.bot(bot, language)?;
        let mut dense = index.dense.write().unwrap_or_else(|p| p.into_inner());
        if dense.set.as_ref().is_some_and(|set| set.model() != model) {
            return Ok(());
        }
        if let Some(current) = dense.set.take() {
            let mut set = Arc::try_unwrap(current).unwrap_or_else(|shared| (*shared).clone());
            set.extend(vectors.iter().cloned());
            dense.set = Some(Arc::new(set));
        }
        Ok(())
    }

    /// The passages with these ids, in this order (ids no longer in the index are left out).
    pub fn passages(&self, bot: &BotId, language: &str, ids: &[ChunkId]) -> Result<Vec<Hit>> {
        let index = self.bot(bot, language)?;
        let f = index.fields;
        let searcher = index.reader.searcher();
        let mut hits = Vec::with_capacity(ids.len());
        for id in ids {
            let query = TermQuery::new(
                Term::from_field_text(f.chunk_id, id.as_str()),
                IndexRecordOption::Basic,
            );
            if let Some((_, address)) = searcher.search(&query, &TopDocs::with_limit(1))?.first() {
                let doc: TantivyDocument = searcher.doc(*address)?;
                hits.push(hit_of(&f, &doc, 0.0));
            }
        }
        Ok(hits)
    }

    /// The weight of the dense list in the fusion for this question: how much evidence BM25 has.
    /// [`DENSE_WEIGHT`] when every word of the question (analysed) is in the bot's passages,
    /// [`DENSE_WEIGHT_UNKNOWN_WORDS`] when one is in none of them, so BM25 cannot match the whole
    /// question.
    pub fn dense_weight(&self, bot: &BotId, language: &str, question: &str) -> Result<f32> {
        let terms = analyze_with(&mut analyzer(language), question);
        Ok(if self.knows_all(bot, language, &terms)? {
            DENSE_WEIGHT
        } else {
            DENSE_WEIGHT_UNKNOWN_WORDS
        })
    }

    /// The best `limit` passages by keywords and meaning: BM25's and the dense retriever's
    /// candidates fused by reciprocal rank, at most [`PER_PAGE`] of a page. Meaning weighs
    /// [`SearchIndex::dense_weight`] against BM25's 1: [`DENSE_WEIGHT`], or
    /// [`DENSE_WEIGHT_UNKNOWN_WORDS`] when a word of the question is in no passage (BM25 has
    /// less evidence for it). `score` is the fused score, with [`IDENTIFIER_BONUS`] for each
    /// exact identifier. Without a query vector or vectors, BM25's list alone is ranked the same
    /// way, so "product 123" finds product 123 before the passages are embedded too; while only
    /// some are embedded, a passage without a vector counts in the dense list at its BM25 rank.
    pub fn hybrid_search(
        &self,
        bot: &BotId,
        language: &str,
        question: &str,
        dense: Option<(&[f32], &VectorSet)>,
        limit: usize,
    ) -> Result<Vec<Hit>> {
        let dense = dense.filter(|(_, v)| !v.is_empty());
        // Candidates deep enough that an exact identifier match can lift one into the top.
        let depth = (limit * 2).max(FUSION_DEPTH);
        let keyword = self.search(bot, language, question, depth)?;
        let semantic: Vec<ChunkId> = dense
            .map(|(query, vectors)| vectors.top_k(query, FUSION_DEPTH.max(limit)))
            .unwrap_or_default()
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        let keyword_ids: Vec<ChunkId> = keyword.iter().map(|h| h.chunk_id.clone()).collect();
        let dense_weight = self.dense_weight(bot, language, question)?;
        let fused = reciprocal_rank_fusion(&[(&keyword_ids, 1.0), (&semantic, dense_weight)]);
        let dense_rank: HashMap<&ChunkId, usize> = semantic
            .iter()
            .enumerate()
            .map(|(rank, id)| (id, rank))
            .collect();
        let keyword_rank: HashMap<&ChunkId, usize> = keyword_ids
            .iter()
            .enumerate()
            .map(|(rank, id)| (id, rank))
            .collect();
        let mut known: HashMap<ChunkId, Hit> = keyword
            .into_iter()
            .map(|h| (h.chunk_id.clone(), h))
            .collect();
        // Every candidate is ranked with its identifier bonus before the list is cut: the dense
        // list weighs more, so its 20th passage outranks BM25's first in the fusion alone, and a
        // passage not yet embedded (or far in meaning) that names the product asked about would
        // be cut before its bonus counted.
        let missing: Vec<ChunkId> = fused
            .iter()
            .filter(|(id, _)| !known.contains_key(id))
            .map(|(id, _)| id.clone())
            .collect();
        if !missing.is_empty() {
            for hit in self.passages(bot, language, &missing)? {
                known.insert(hit.chunk_id.clone(), hit);
            }
        }
        let identifiers = identifiers(question);
        let mut ranked: Vec<Hit> = fused
            .into_iter()
            .filter_map(|(id, score)| {
                known.remove(&id).map(|mut hit| {
                    hit.similarity =
                        dense.and_then(|(query, vectors)| vectors.similarity(&hit.chunk_id, query));
                    // A passage without a vector yet (its bot is still embedding) cannot be in
                    // the dense list: it counts there at its BM25 rank, or meaning, which could
                    // not see it, would bury the page that answers under twenty that do not.
                    let unseen = match (dense, hit.similarity, keyword_rank.get(&id)) {
                        (Some(_), None, Some(&rank)) => reciprocal_rank(rank, dense_weight),
                        _ => 0.0,
                    };
                    let rank = |r: Option<&usize>| r.and_then(|&r| u32::try_from(r).ok());
                    hit.ranks = Ranks {
                        keyword: rank(keyword_rank.get(&id)),
                        dense: rank(dense_rank.get(&id)),
                    };
                    let exact = exact_matches(&identifiers, &hit);
                    hit.score = score + unseen + exact as f32 * IDENTIFIER_BONUS;
                    hit
                })
            })
            .collect();
        ranked.sort_by(|a, b| {
            b.score
                .partial_cmp(&a.score)
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        ranked.truncate(depth);
        Ok(per_page(ranked, limit))
    }
}

/// Most passages of a page that [`SearchIndex::page_passages`] reads (of a longer page, any of
/// them) before it keeps the first.
const PAGE_PASSAGES: usize = 256;

/// Passages of one page ranked before other pages' passages: more would crowd other pages out
/// of the top (on the evaluation set, 3 raised hit@5 from 0.868 to 0.886; 2 did too, but cost
/// answers whose sentence was in a page's third passage).
pub const PER_PAGE: usize = 3;

/// The first `limit` hits, with at most [`PER_PAGE`] of each page (its URL without the
/// fragment, or its source when it has none) before the passages of other pages; a page's
/// further passages come after those, so a bot with a single large document still gets `limit`.
fn per_page(hits: Vec<Hit>, limit: usize) -> Vec<Hit> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let (mut first, later): (Vec<Hit>, Vec<Hit>) = hits.into_iter().partition(|hit| {
        let n = seen.entry(hit.page().to_owned()).or_default();
        *n += 1;
        *n <= PER_PAGE
    });
    first.extend(later);
    first.truncate(limit);
    first
}

fn hit_of(f: &Fields, doc: &TantivyDocument, score: f32) -> Hit {
    let text = |field: Field| {
        doc.get_first(field)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    let optional = |field: Field| {
        doc.get_first(field)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    Hit {
        chunk_id: ChunkId::from_trusted(text(f.chunk_id)),
        source_id: SourceId::from_trusted(text(f.source_id)),
        title: text(f.title),
        heading: text(f.heading),
        anchor: optional(f.anchor),
        url: optional(f.url),
        text: text(f.text),
        score,
        similarity: None,
        curated: doc.get_first(f.curated).and_then(|v| v.as_str()) == Some("1"),
        ordinal: doc
            .get_first(f.ordinal)
            .and_then(|v| v.as_i64())
            .unwrap_or(0),
        ranks: Ranks::default(),
    }
}

fn chunk_document(f: &Fields, chunk: &Chunk) -> TantivyDocument {
    let mut doc = TantivyDocument::default();
    doc.add_text(f.chunk_id, chunk.id.as_str());
    doc.add_text(f.source_id, chunk.source_id.as_str());
    doc.add_text(f.title, &chunk.title);
    doc.add_text(f.heading, &chunk.heading);
    if let Some(anchor) = &chunk.anchor {
        doc.add_text(f.anchor, anchor);
    }
    if let Some(url) = &chunk.url {
        doc.add_text(f.url, url);
    }
    doc.add_text(f.text, &chunk.text);
    if chunk.curated {
        doc.add_text(f.curated, "1");
    }
    doc.add_i64(f.ordinal, chunk.ordinal);
    doc.add_text(f.page, page_of(chunk.url.as_deref(), &chunk.source_id));
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_words_with_digits() {
        assert_eq!(
            identifiers("What is the warranty of product 123? And SKU-44a?"),
            ["123", "sku-44a"]
        );
        assert!(identifiers("How do refunds work?").is_empty());
    }

    /// An index of two passages, `right` and `decoy` (texts, titles), where the embedding puts
    /// the question ([1, 0]) closer to the decoy.
    fn right_and_decoy(
        right: (&str, &str),
        decoy: (&str, &str),
    ) -> (tempfile::TempDir, SearchIndex, BotId, ChunkId, VectorSet) {
        let dir = tempfile::tempdir().unwrap();
        let index = SearchIndex::open(dir.path()).unwrap();
        let bot = BotId::generate();
        let source = SourceId::generate();
        let passage = |(text, title): (&str, &str)| {
            let mut c = chunk(&bot, &source, text);
            c.title = title.into();
            c
        };
        let (right, decoy) = (passage(right), passage(decoy));
        index
            .add_chunks(&bot, "en", &[right.clone(), decoy.clone()])
            .unwrap();
        let mut vectors = VectorSet::new(2);
        vectors.extend([
            (decoy.id.clone(), vec![1.0, 0.0]),
            (right.id.clone(), vec![0.6, 0.8]),
        ]);
        (dir, index, bot, right.id, vectors)
    }

    #[test]
    fn a_pages_passages_are_found_by_its_url_in_their_order() {
        let dir = tempfile::tempdir().unwrap();
        let index = SearchIndex::open(dir.path()).unwrap();
        let bot = BotId::generate();
        let (site, text) = (SourceId::generate(), SourceId::generate());
        let at = |url: Option<&str>, source: &SourceId, ordinal: i64, body: &str| {
            let mut c = chunk(&bot, source, body);
            c.url = url.map(str::to_owned);
            c.ordinal = ordinal;
            c
        };
        let stores = "https://shop.example/stores.html";
        index
            .add_chunks(
                &bot,
                "en",
                &[
                    at(
                        Some(&format!("{stores}#bristol")),
                        &site,
                        2,
                        "Bristol hours",
                    ),
                    at(Some(&format!("{stores}#bath")), &site, 1, "Bath hours"),
                    at(
                        Some("https://shop.example/returns.html"),
                        &site,
                        0,
                        "Returns",
                    ),
                    at(None, &text, 0, "Pasted text"),
                ],
            )
            .unwrap();
        let texts = |page: &str, limit: usize| {
            index
                .page_passages(&bot, "en", page, limit)
                .unwrap()
                .into_iter()
                .map(|h| h.text)
                .collect::<Vec<_>>()
        };
        assert_eq!(texts(stores, 10), ["Bath hours", "Bristol hours"]);
        assert_eq!(texts(stores, 1), ["Bath hours"]);
        // A passage without a URL is on its source's page.
        assert_eq!(texts(text.as_str(), 10), ["Pasted text"]);
        assert!(texts("https://shop.example/", 10).is_empty());
    }

    #[test]
    fn a_version_is_known_only_with_its_parts_side_by_side() {
        let dir = tempfile::tempdir().unwrap();
        let index = SearchIndex::open(dir.path()).unwrap();
        let bot = BotId::generate();
        let source = SourceId::generate();
        let mut passage = chunk(
            &bot,
            &source,
            "Python 3.11 runs on 12 platforms, 3 of them new.",
        );
        passage.heading = "Changed in version 2.7.18".into();
        index.add_chunks(&bot, "en", &[passage]).unwrap();
        let known = |version: &str| {
            let terms = analyze_with(&mut analyzer("en"), version);
            index.knows_phrase(&bot, "en", &terms).unwrap()
        };
        assert!(known("3.11") && known("2.7.18") && known("python"));
        // "3" and "12" are both in the text, but not as "3.12"; "11.3" is the wrong order.
        assert!(!known("3.12") && !known("11.3") && !known("2.7.19"));
    }

    #[test]
    fn an_exact_identifier_beats_a_close_meaning() {
        let (_dir, index, bot, right, vectors) = right_and_decoy(
            ("Product number 123 has a warranty of 3 years.", "Shop"),
            ("Product number 12 has a warranty of 2 years.", "Shop"),
        );
        let question = "What is the warranty of product 123?";
        let hits = index
            .hybrid_search(&bot, "en", question, Some((&[1.0, 0.0], &vectors)), 2)
            .unwrap();
        assert_eq!(hits[0].chunk_id, right, "{hits:?}");
        assert!(hits[0].similarity.is_some());
    }

    /// The best hit for `question` among [`FUSION_DEPTH`] embedded passages (`embedded(n)`), all
    /// as close to the question ([1, 0]) as can be, and one passage not embedded yet (`waiting`):
    /// a bot in the middle of embedding. Returns the hit and the waiting passage's id.
    fn best_while_embedding(
        embedded: impl Fn(usize) -> String,
        waiting: &str,
        question: &str,
    ) -> (Hit, ChunkId) {
        let dir = tempfile::tempdir().unwrap();
        let index = SearchIndex::open(dir.path()).unwrap();
        let bot = BotId::generate();
        let source = SourceId::generate();
        let embedded: Vec<Chunk> = (0..FUSION_DEPTH)
            .map(|n| chunk(&bot, &source, &embedded(n)))
            .collect();
        let waiting = chunk(&bot, &source, waiting);
        let mut all = embedded.clone();
        all.push(waiting.clone());
        index.add_chunks(&bot, "en", &all).unwrap();
        let mut vectors = VectorSet::new(2);
        vectors.extend(embedded.iter().map(|c| (c.id.clone(), vec![1.0, 0.0])));
        let hits = index
            .hybrid_search(&bot, "en", question, Some((&[1.0, 0.0], &vectors)), 8)
            .unwrap();
        (hits[0].clone(), waiting.id)
    }

    #[test]
    fn a_passage_not_yet_embedded_that_names_the_identifier_is_found() {
        // Twenty embedded pages are closer in meaning; the page asked about has no vector yet.
        let (best, waiting) = best_while_embedding(
            |n| format!("Product number {n} ships in a week."),
            "Product number 123 has a warranty of 3 years.",
            "What is the warranty of product 123?",
        );
        assert_eq!(best.chunk_id, waiting, "{best:?}");
        assert!(best.similarity.is_none());
    }

    #[test]
    fn a_passage_not_yet_embedded_counts_in_the_dense_list_at_its_bm25_rank() {
        let (best, waiting) = best_while_embedding(
            |n| format!("Garden tool {n} is sold in our stores."),
            "Refunds are paid within 30 days.",
            "How long do refunds take?",
        );
        assert_eq!(best.chunk_id, waiting, "{best:?}");
    }

    #[test]
    fn the_page_named_after_an_identifier_beats_a_page_that_mentions_it() {
        let (_dir, index, bot, named, vectors) = right_and_decoy(
            ("It ships in 4 days and costs 133 euros.", "Product 123"),
            ("It ships in 2 days and costs 123 euros.", "Product 113"),
        );
        let hits = index
            .hybrid_search(
                &bot,
                "en",
                "How much is product 123?",
                Some((&[1.0, 0.0], &vectors)),
                2,
            )
            .unwrap();
        assert_eq!(hits[0].chunk_id, named, "{hits:?}");
        // Before the passages are embedded, BM25 alone: the same.
        let hits = index
            .hybrid_search(&bot, "en", "How much is product 123?", None, 2)
            .unwrap();
        assert_eq!(hits[0].chunk_id, named, "{hits:?}");
        assert!(hits[0].similarity.is_none());
        // A section number is not the number asked about.
        let mut section = hits[0].clone();
        section.title = "9.3. Mathematical Functions".into();
        section.text = "Version 15.3 rounds to 2 places.".into();
        let ids = identifiers("round to 3 places, or 2");
        assert_eq!(ids, ["3", "2"]);
        assert_eq!(exact_matches(&ids, &section), 1, "only the 2 of the text");
        section.title = "Product 3".into();
        assert_eq!(exact_matches(&ids, &section), 3);
    }

    #[test]
    fn a_word_no_passage_uses_gives_meaning_more_weight() {
        // The passage with the question's words is only 26th in meaning; the closest in meaning
        // names none of them, nor do the 24 passages between.
        let dir = tempfile::tempdir().unwrap();
        let index = SearchIndex::open(dir.path()).unwrap();
        let bot = BotId::generate();
        let source = SourceId::generate();
        let closest = chunk(&bot, &source, "Parcels leave our warehouse every morning.");
        let between: Vec<Chunk> = (0..24)
            .map(|n| {
                chunk(
                    &bot,
                    &source,
                    &format!("Garden tool {n} is sold in our stores."),
                )
            })
            .collect();
        let worded = chunk(&bot, &source, "Delivery takes two working days.");
        let mut all = vec![closest.clone(), worded.clone()];
        all.extend(between.iter().cloned());
        index.add_chunks(&bot, "en", &all).unwrap();
        let mut vectors = VectorSet::new(2);
        let at = |angle: f32| vec![angle.cos(), angle.sin()];
        vectors.extend([(closest.id.clone(), at(0.0)), (worded.id.clone(), at(1.5))]);
        vectors.extend(
            between
                .iter()
                .enumerate()
                .map(|(n, c)| (c.id.clone(), at(0.05 * (n + 1) as f32))),
        );
        let best = |question: &str| {
            index
                .hybrid_search(&bot, "en", question, Some((&[1.0, 0.0], &vectors)), 30)
                .unwrap()[0]
                .chunk_id
                .clone()
        };
        assert_eq!(
            index.dense_weight(&bot, "en", "delivery days").unwrap(),
            DENSE_WEIGHT
        );
        assert_eq!(
            best("delivery days"),
            worded.id,
            "BM25 matches the whole question"
        );
        assert_eq!(
            index
                .dense_weight(&bot, "en", "delivery days, mate")
                .unwrap(),
            DENSE_WEIGHT_UNKNOWN_WORDS
        );
        assert_eq!(
            best("delivery days, mate"),
            closest.id,
            "BM25 misses a word"
        );
    }

    #[test]
    fn a_page_has_at_most_three_passages_before_other_pages() {
        let hit = |url: Option<&str>, source: &SourceId, n: usize| Hit {
            chunk_id: ChunkId::generate(),
            source_id: source.clone(),
            title: format!("passage {n}"),
            heading: String::new(),
            anchor: None,
            url: url.map(str::to_owned),
            text: String::new(),
            score: 1.0,
            similarity: None,
            curated: false,
            ordinal: 0,
            ranks: Ranks::default(),
        };
        let (a, b) = (SourceId::generate(), SourceId::generate());
        let hits = vec![
            hit(Some("https://x.test/a#one"), &a, 1),
            hit(Some("https://x.test/a#two"), &a, 2),
            hit(Some("https://x.test/a"), &a, 3),
            hit(Some("https://x.test/a#four"), &a, 4),
            hit(Some("https://x.test/b"), &b, 5),
            hit(None, &b, 6),
        ];
        let titles = |hits: &[Hit]| hits.iter().map(|h| h.title.clone()).collect::<Vec<_>>();
        assert_eq!(
            titles(&per_page(hits.clone(), 5)),
            [
                "passage 1",
                "passage 2",
                "passage 3",
                "passage 5",
                "passage 6"
            ]
        );
        // A page's further passages still fill the list when there is nothing else.
        assert_eq!(
            titles(&per_page(hits[..4].to_vec(), 4)),
            ["passage 1", "passage 2", "passage 3", "passage 4"]
        );
    }

    fn chunk(bot: &BotId, source: &SourceId, text: &str) -> Chunk {
        Chunk {
            id: ChunkId::generate(),
            bot_id: bot.clone(),
            source_id: source.clone(),
            ordinal: 0,
            title: "Shop".into(),
            heading: String::new(),
            anchor: None,
            url: None,
            text: text.into(),
            curated: false,
        }
    }

    #[test]
    fn a_bot_never_sees_another_bots_passages() {
        let dir = tempfile::tempdir().unwrap();
        let index = SearchIndex::open(dir.path()).unwrap();
        let (a, b) = (BotId::generate(), BotId::generate());
        let src = SourceId::generate();
        index
            .add_chunks(
                &a,
                "en",
                &[chunk(&a, &src, "Our opening hours are nine to five.")],
            )
            .unwrap();
        index
            .add_chunks(&b, "en", &[chunk(&b, &src, "Shipping takes three days.")])
            .unwrap();
        assert_eq!(index.search(&a, "en", "opening hours", 5).unwrap().len(), 1);
        assert!(index
            .search(&b, "en", "opening hours", 5)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn stemming_matches_other_forms_of_a_word() {
        let dir = tempfile::tempdir().unwrap();
        let index = SearchIndex::open(dir.path()).unwrap();
        let bot = BotId::generate();
        let src = SourceId::generate();
        index
            .add_chunks(
                &bot,
                "en",
                &[chunk(&bot, &src, "We ship orders worldwide.")],
            )
            .unwrap();
        let hits = index.search(&bot, "en", "Do you do shipping?", 5).unwrap();
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].text, "We ship orders worldwide.");
    }

    #[test]
    fn deleting_a_source_removes_its_passages_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let index = SearchIndex::open(dir.path()).unwrap();
        let bot = BotId::generate();
        let (s1, s2) = (SourceId::generate(), SourceId::generate());
        index
            .add_chunks(
                &bot,
                "en",
                &[
                    chunk(&bot, &s1, "Refunds within 30 days."),
                    chunk(&bot, &s2, "Refunds are free."),
                ],
            )
            .unwrap();
        index.delete_source(&bot, "en", &s1).unwrap();
        let hits = index.search(&bot, "en", "refunds", 5).unwrap();
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].source_id, s2);
    }

    #[test]
    fn a_term_absent_from_every_passage_weighs_most() {
        let dir = tempfile::tempdir().unwrap();
        let index = SearchIndex::open(dir.path()).unwrap();
        let bot = BotId::generate();
        let src = SourceId::generate();
        index
            .add_chunks(
                &bot,
                "en",
                &[
                    chunk(&bot, &src, "parcel tracking"),
                    chunk(&bot, &src, "parcel returns"),
                ],
            )
            .unwrap();
        let idf = index
            .idf(
                &bot,
                "en",
                &["parcel".into(), "track".into(), "helicopt".into()],
            )
            .unwrap();
        assert!(idf[0] < idf[1] && idf[1] < idf[2], "{idf:?}");
    }

    #[test]
    fn the_curated_flag_and_the_ordinal_survive_indexing_and_a_rebuild() {
        let dir = tempfile::tempdir().unwrap();
        let index = SearchIndex::open(dir.path()).unwrap();
        let bot = BotId::generate();
        let src = SourceId::generate();
        let plain = chunk(&bot, &src, "Refunds within 30 days.");
        let mut curated = chunk(&bot, &src, "60 days for members.");
        curated.heading = "How long does a refund take?".into();
        curated.curated = true;
        curated.ordinal = 7;
        let chunks = vec![plain, curated];
        index.add_chunks(&bot, "en", &chunks).unwrap();
        let flags = |index: &SearchIndex| {
            let mut hits = index.search(&bot, "en", "refund days", 5).unwrap();
            hits.sort_by(|a, b| a.text.cmp(&b.text));
            hits.into_iter()
                .map(|h| (h.text, h.curated, h.ordinal))
                .collect::<Vec<_>>()
        };
        let expected = vec![
            ("60 days for members.".to_owned(), true, 7),
            ("Refunds within 30 days.".to_owned(), false, 0),
        ];
        assert_eq!(flags(&index), expected);
        index.rebuild(&bot, "en", [Ok(chunks.clone())]).unwrap();
        assert_eq!(flags(&index), expected);
        // Reopened from disk.
        let reopened = SearchIndex::open(dir.path()).unwrap();
        assert_eq!(flags(&reopened), expected);
    }

    #[test]
    fn an_index_with_an_older_schema_is_started_afresh() {
        let dir = tempfile::tempdir().unwrap();
        let bot = BotId::generate();
        let bot_dir = dir.path().join(bot.as_str());
        std::fs::create_dir_all(&bot_dir).unwrap();
        let mut old = Schema::builder();
        old.add_text_field("chunk_id", STRING | STORED);
        let old = Index::create_in_dir(&bot_dir, old.build()).unwrap();
        let mut writer = old.writer_with_num_threads(1, WRITER_MEMORY).unwrap();
        writer.add_document(TantivyDocument::default()).unwrap();
        writer.commit().unwrap();
        drop(writer);
        drop(old);
        let index = SearchIndex::open(dir.path()).unwrap();
        assert_eq!(index.doc_count(&bot, "en").unwrap(), 0);
    }

    #[test]
    fn stop_words_are_not_terms() {
        let mut a = analyzer("en");
        assert_eq!(
            analyze_with(&mut a, "What are your opening hours?"),
            vec!["open", "hour"]
        );
        let mut fr = analyzer("fr");
        assert_eq!(
            analyze_with(&mut fr, "Quels sont vos horaires ?"),
            vec!["quel", "horair"]
        );
    }
}
