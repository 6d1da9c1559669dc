//! Knowledge: sources, their passages and the search index that serves them.
//!
//! The database is the source of truth. A source and its chunks are written in one transaction,
//! then indexed; if indexing fails the source is removed again, so a client never sees a source
//! that cannot be searched. At start-up every bot's index is compared with the database and
//! rebuilt when they disagree (after a crash between the two writes, say).
//!
//! Curated answers are sources of kind `qa`, one question and answer pair per passage (heading
//! and title = the question, text = the answer), flagged `curated` in the index: one pair from
//! `POST …/sources/qa`, or one per row from a spreadsheet whose header row names a question and
//! an answer column (one source for the whole sheet, so that deleting it removes them all, as for
//! any spreadsheet).

use sha2::{Digest, Sha256};
use sitechat_core::{
    model::{Chunk, Source, SourceKind},
    now,
    validate::{CuratedAnswer, CuratedQuestion, HttpUrl, SourceTitle, TextContent},
    BotId, ChunkId, Scope, SourceId,
};
use sitechat_store::{NewSource, Page, PageRequest, Store};

use crate::{
    auth::Caller,
    error::{ApiError, ApiResult},
    services::{
        blocking,
        embeddings::{self, Phase},
    },
    state::AppState,
};

/// A source just added.
pub struct Added {
    pub source: Source,
    pub chunks_created: usize,
}

pub(crate) fn today() -> String {
    let d = now().date();
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// Adds a text entry to a bot's knowledge (Markdown-style `#` headings structure it).
pub async fn add_text(
    state: &AppState,
    caller: &Caller,
    bot: &BotId,
    title: SourceTitle,
    content: TextContent,
) -> ApiResult<Added> {
    let hash = hex::encode(Sha256::digest(content.as_str().as_bytes()));
    let document =
        blocking(move || Ok(sitechat_ingest::extract::markdown(content.as_str()))).await?;
    store_passages(
        state,
        caller,
        bot,
        NewEntry {
            kind: SourceKind::Text,
            title: title.into_inner(),
            url: None,
            hash,
            passages: Passages::Document(document),
        },
    )
    .await
}

/// Adds one curated answer: when a visitor asks its question closely enough, the answer is the
/// reply, verbatim.
pub async fn add_qa(
    state: &AppState,
    caller: &Caller,
    bot: &BotId,
    question: CuratedQuestion,
    answer: CuratedAnswer,
) -> ApiResult<Added> {
    let (question, answer) = (question.into_inner(), answer.into_inner());
    let hash = hex::encode(Sha256::digest(format!("{question}\n{answer}").as_bytes()));
    store_passages(
        state,
        caller,
        bot,
        NewEntry {
            kind: SourceKind::Qa,
            title: question.clone(),
            url: None,
            hash,
            passages: Passages::Qa(vec![(question, answer)]),
        },
    )
    .await
}

/// What an entry's passages are made from.
pub enum Passages {
    /// A document, cut into passages.
    Document(sitechat_ingest::Document),
    /// Ready-made entries, one passage each (spreadsheet rows).
    Rows(Vec<String>),
    /// Curated answers, `(question, answer)`, one passage each (for [`SourceKind::Qa`]).
    Qa(Vec<(String, String)>),
}

/// A knowledge entry about to be stored.
pub struct NewEntry {
    pub kind: SourceKind,
    pub title: String,
    pub url: Option<String>,
    /// Hash of the raw content.
    pub hash: String,
    pub passages: Passages,
}

/// The one path by which knowledge enters a bot: quota, passages, one transaction, the index.
pub async fn store_passages(
    state: &AppState,
    caller: &Caller,
    bot: &BotId,
    entry: NewEntry,
) -> ApiResult<Added> {
    caller.require(Scope::Admin)?;
    let bot = state.store.get_bot(&caller.account.id, bot).await?;
    // Chunking is CPU work on content from outside: on the blocking pool, where a panic fails
    // this request alone.
    let passages: Vec<sitechat_ingest::Passage> = match entry.passages {
        Passages::Document(doc) => {
            blocking(move || Ok(sitechat_ingest::chunk_document(&doc))).await?
        }
        Passages::Rows(rows) => rows
            .into_iter()
            .map(|text| sitechat_ingest::Passage {
                heading: String::new(),
                anchor: None,
                text,
            })
            .collect(),
        Passages::Qa(pairs) => pairs
            .into_iter()
            .map(|(question, answer)| sitechat_ingest::Passage {
                heading: question,
                anchor: None,
                text: answer,
            })
            .collect(),
    };
    let curated = entry.kind == SourceKind::Qa;
    if passages.is_empty() {
        return Err(ApiError::invalid(
            "the content has no text to answer from (only headings, or nothing readable)",
        ));
    }
    // A curated answer's question is content too.
    let characters: i64 = passages
        .iter()
        .map(|p| {
            p.text.chars().count()
                + if curated {
                    p.heading.chars().count()
                } else {
                    0
                }
        })
        .sum::<usize>() as i64;
    consume_upload_quota(state, caller, characters).await?;

    let source_id = SourceId::generate();
    let chunks: Vec<Chunk> = passages
        .into_iter()
        .enumerate()
        .map(|(i, p)| Chunk {
            id: ChunkId::generate(),
            bot_id: bot.id.clone(),
            source_id: source_id.clone(),
            ordinal: i as i64,
            // A curated answer is cited by its question.
            title: if curated {
                p.heading.clone()
            } else {
                entry.title.clone()
            },
            heading: p.heading,
            anchor: p.anchor,
            url: entry.url.clone(),
            text: p.text,
            curated,
        })
        .collect();
    let source = Source {
        id: source_id,
        bot_id: bot.id.clone(),
        kind: entry.kind,
        title: entry.title,
        url: entry.url,
        characters,
        chunks: chunks.len() as i64,
        created_at: now(),
    };
    let new = NewSource {
        source: source.clone(),
        content_hash: entry.hash,
        chunks,
    };
    state.store.insert_source(&caller.account.id, &new).await?;

    let index = state.index.clone();
    let language = bot.language.clone();
    let chunks = new.chunks;
    let count = chunks.len();
    let bot_id = bot.id.clone();
    let indexed = blocking(move || Ok(index.add_chunks(&bot_id, &language, &chunks)?)).await;
    if indexed.is_ok() {
        state.store.index_caught_up(&bot.id).await?;
    }
    if let Err(e) = indexed {
        // Undo, so that nothing half-written stays behind.
        if let Err(undo) = state
            .store
            .delete_source(&caller.account.id, &bot.id, &source.id)
            .await
        {
            tracing::error!(error = %undo, source = %source.id, "could not undo a source whose indexing failed");
        }
        return Err(e);
    }
    tracing::info!(bot = %bot.id, source = %source.id, kind = source.kind.as_str(), chunks = count, "source added");
    // Small sources answer with meaning as soon as they are added; large ones get there in the
    // background, answering on keywords meanwhile. The sentences of all but the smallest follow
    // in the background too.
    if count <= embeddings::INLINE_CHUNKS {
        let inline: &[Phase] = if count <= embeddings::INLINE_SENTENCE_CHUNKS {
            &Phase::ALL
        } else {
            &[Phase::Chunks]
        };
        if let Err(e) = embeddings::embed_bot_now(state, &bot, inline).await {
            tracing::warn!(bot = %bot.id, error = %e, "embedding the new source failed; it is retried in the background");
        }
    }
    if count > embeddings::INLINE_SENTENCE_CHUNKS {
        embeddings::spawn_embed_bot(state, &bot);
    }
    Ok(Added {
        source,
        chunks_created: count,
    })
}

/// Fetches one web page or document (through the SSRF guard) and adds it to the bot's knowledge.
pub async fn add_url(
    state: &AppState,
    caller: &Caller,
    bot: &BotId,
    url: HttpUrl,
) -> ApiResult<Added> {
    caller.require(Scope::Admin)?;
    state.store.get_bot(&caller.account.id, bot).await?;
    let limits = &state.config.crawl;
    let fetcher = sitechat_crawl::Fetcher::new(sitechat_crawl::FetchConfig {
        timeout: std::time::Duration::from_secs(limits.timeout_seconds),
        max_bytes: limits.max_page_bytes,
        allow_private: state.config.allow_private_networks,
        ..sitechat_crawl::FetchConfig::default()
    });
    let fetched = fetcher
        .fetch(url.as_url(), None)
        .await
        .map_err(|e| ApiError::invalid(format!("url: could not fetch {}: {e}", url.as_str())))?;
    let final_url = fetched.final_url.clone();
    let content_type = fetched.content_type.clone();
    let body = fetched.body;
    let base = final_url.clone();
    let document = blocking(move || {
        let kind = sitechat_ingest::detect_kind(content_type.as_deref(), Some(base.path()), &body).ok_or_else(|| {
            ApiError::invalid(format!(
                "url: {} is {}, which sitechat cannot read; give a web page, a PDF or a text document",
                base,
                content_type.as_deref().unwrap_or("binary content")
            ))
        })?;
        document_of(kind, &body, content_type.as_deref(), Some(&base))
    })
    .await?;
    let title = if document.title.trim().is_empty() {
        final_url.to_string()
    } else {
        document.title.clone()
    };
    let hash = sitechat_crawl::content_hash(&document);
    store_passages(
        state,
        caller,
        bot,
        NewEntry {
            kind: SourceKind::Url,
            title,
            url: Some(final_url.to_string()),
            hash,
            passages: Passages::Document(document),
        },
    )
    .await
}

/// Reads a document of a known kind. Spreadsheets are refused here: they have their own endpoint.
fn document_of(
    kind: sitechat_ingest::FileKind,
    bytes: &[u8],
    content_type: Option<&str>,
    base: Option<&url::Url>,
) -> ApiResult<sitechat_ingest::Document> {
    use sitechat_ingest::{extract, FileKind};
    let charset =
        content_type.and_then(|c| c.split(';').find_map(|p| p.trim().strip_prefix("charset=")));
    let doc = match kind {
        FileKind::Html => extract::html(&sitechat_ingest::decode_text(bytes, charset), base),
        FileKind::Markdown => extract::markdown(&sitechat_ingest::decode_text(bytes, charset)),
        FileKind::Plain => extract::plain(&sitechat_ingest::decode_text(bytes, charset)),
        FileKind::Pdf => extract::pdf(bytes).map_err(|e| ApiError::invalid(format!("file: {e}")))?,
        FileKind::Docx => extract::docx(bytes).map_err(|e| ApiError::invalid(format!("file: {e}")))?,
        FileKind::Csv | FileKind::Xlsx => {
            return Err(ApiError::invalid(
                "file: this is a spreadsheet; upload it to /v1/bots/{id}/sources/spreadsheet, where each row becomes one entry",
            ))
        }
    };
    Ok(doc)
}

/// An uploaded file.
pub struct Upload {
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

fn upload_title(upload: &Upload, fallback: &str) -> String {
    upload
        .filename
        .as_deref()
        .map(|f| f.rsplit(['/', '\\']).next().unwrap_or(f).trim().to_owned())
        .filter(|f| !f.is_empty())
        .unwrap_or_else(|| fallback.to_owned())
}

/// Adds an uploaded document (PDF, DOCX, Markdown, plain text, HTML).
pub async fn add_file(
    state: &AppState,
    caller: &Caller,
    bot: &BotId,
    upload: Upload,
) -> ApiResult<Added> {
    caller.require(Scope::Admin)?;
    state.store.get_bot(&caller.account.id, bot).await?;
    if upload.bytes.is_empty() {
        return Err(ApiError::invalid("file: the file is empty"));
    }
    let title = upload_title(&upload, "document");
    let hash = hex::encode(Sha256::digest(&upload.bytes));
    let document = blocking(move || {
        let kind = sitechat_ingest::detect_kind(upload.content_type.as_deref(), upload.filename.as_deref(), &upload.bytes)
            .ok_or_else(|| ApiError::invalid("file: unsupported file type; upload a PDF, DOCX, Markdown, HTML or plain-text file"))?;
        document_of(kind, &upload.bytes, upload.content_type.as_deref(), None)
    })
    .await?;
    let title = if document.title.trim().is_empty() {
        title
    } else {
        format!("{title} — {}", document.title.trim())
    };
    store_passages(
        state,
        caller,
        bot,
        NewEntry {
            kind: SourceKind::File,
            title,
            url: None,
            hash,
            passages: Passages::Document(document),
        },
    )
    .await
}

/// A spreadsheet just added.
pub struct AddedSheet {
    pub added: Added,
    pub rows_processed: usize,
    pub total_rows: usize,
    pub truncated: bool,
    /// Curated answers only: rows left out for an empty (or too long) question or answer.
    pub skipped_rows: usize,
}

/// Adds a CSV or XLSX upload: each row one entry, written as "Header: value" lines; rows beyond
/// the plan's cap are left out and reported. A sheet with a question and an answer column
/// ([`sitechat_ingest::qa_columns`]) is a source of curated answers instead, one per row; rows
/// with an empty or too long question or answer are skipped and counted.
pub async fn add_spreadsheet(
    state: &AppState,
    caller: &Caller,
    bot: &BotId,
    upload: Upload,
) -> ApiResult<AddedSheet> {
    caller.require(Scope::Admin)?;
    state.store.get_bot(&caller.account.id, bot).await?;
    if upload.bytes.is_empty() {
        return Err(ApiError::invalid("file: the file is empty"));
    }
    let max_rows = if state.config.rate_limits {
        caller
            .account
            .plan
            .limits()
            .spreadsheet_rows
            .map(|r| r as usize)
    } else {
        None
    };
    let title = upload_title(&upload, "spreadsheet");
    let hash = hex::encode(Sha256::digest(&upload.bytes));
    let sheet = blocking(move || {
        let kind = match sitechat_ingest::detect_kind(
            upload.content_type.as_deref(),
            upload.filename.as_deref(),
            &upload.bytes,
        ) {
            Some(sitechat_ingest::FileKind::Csv) => sitechat_ingest::SheetKind::Csv,
            Some(sitechat_ingest::FileKind::Xlsx) => sitechat_ingest::SheetKind::Xlsx,
            // Text without a known extension is read as CSV; the parser says if it is not.
            Some(sitechat_ingest::FileKind::Plain) => sitechat_ingest::SheetKind::Csv,
            _ => {
                return Err(ApiError::invalid(
                    "file: upload a .csv or .xlsx file (first row: column names)",
                ))
            }
        };
        sitechat_ingest::read_sheet(&upload.bytes, kind, max_rows)
            .map_err(|e| ApiError::invalid(format!("file: {e}")))
    })
    .await?;
    let qa = sheet.qa_pairs(|question, answer| {
        CuratedQuestion::parse("question", question).is_ok()
            && CuratedAnswer::parse("answer", answer).is_ok()
    });
    let (kind, rows_processed, skipped_rows, passages) = match qa {
        Some(qa) if qa.pairs.is_empty() => {
            return Err(ApiError::invalid(format!(
                "file: no row has both a question and an answer (of at most {} and {} characters); {} rows were skipped",
                CuratedQuestion::MAX_CHARS,
                CuratedAnswer::MAX_CHARS,
                qa.skipped
            )))
        }
        Some(qa) => (
            SourceKind::Qa,
            qa.pairs.len(),
            qa.skipped,
            Passages::Qa(qa.pairs),
        ),
        None => (
            SourceKind::Spreadsheet,
            sheet.rows.len(),
            0,
            Passages::Rows(sheet.rows),
        ),
    };
    let added = store_passages(
        state,
        caller,
        bot,
        NewEntry {
            kind,
            title,
            url: None,
            hash,
            passages,
        },
    )
    .await?;
    Ok(AddedSheet {
        added,
        rows_processed,
        total_rows: sheet.total_rows,
        truncated: sheet.truncated,
        skipped_rows,
    })
}

/// Counts uploaded characters against the plan's daily allowance.
async fn consume_upload_quota(state: &AppState, caller: &Caller, characters: i64) -> ApiResult<()> {
    if !state.config.rate_limits {
        return Ok(());
    }
    let limit = caller.account.plan.limits().upload_chars_per_day;
    let Some(limit) = limit else { return Ok(()) };
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let consumed = state
        .store
        .consume_quota(
            &caller.account.id,
            "upload_chars",
            &today(),
            characters,
            Some(limit),
        )
        .await?;
    if consumed.is_none() {
        let used = state
            .store
            .usage(&caller.account.id, "upload_chars", &today())
            .await?;
        return Err(ApiError::RateLimited {
            message: format!(
                "the {} plan allows {limit} characters of knowledge uploads a day; {used} are used today and this upload has {characters}",
                caller.account.plan
            ),
            retry_after_secs: None,
        });
    }
    Ok(())
}

pub async fn list(
    state: &AppState,
    caller: &Caller,
    bot: &BotId,
    page: PageRequest,
) -> ApiResult<Page<Source>> {
    caller.require(Scope::Read)?;
    Ok(state
        .store
        .list_sources(&caller.account.id, bot, page)
        .await?)
}

pub async fn get(
    state: &AppState,
    caller: &Caller,
    bot: &BotId,
    id: &SourceId,
) -> ApiResult<Source> {
    caller.require(Scope::Read)?;
    Ok(state.store.get_source(&caller.account.id, bot, id).await?)
}

/// Deletes a source; its passages leave the index before this returns.
pub async fn delete(
    state: &AppState,
    caller: &Caller,
    bot: &BotId,
    id: &SourceId,
) -> ApiResult<()> {
    caller.require(Scope::Admin)?;
    let bot = state.store.get_bot(&caller.account.id, bot).await?;
    state
        .store
        .delete_source(&caller.account.id, &bot.id, id)
        .await?;
    let index = state.index.clone();
    let (bot_id, language, source) = (bot.id.clone(), bot.language.clone(), id.clone());
    let removed = blocking(move || Ok(index.delete_source(&bot_id, &language, &source)?)).await;
    if removed.is_ok() {
        state.store.index_caught_up(&bot.id).await?;
    }
    if let Err(e) = removed {
        tracing::error!(error = %e, bot = %bot.id, "could not remove a deleted source from the index; rebuilding it");
        rebuild_index(state, &bot.id, &bot.language).await?;
    }
    Ok(())
}

/// Rebuilds one bot's index from the database.
pub async fn rebuild_index(state: &AppState, bot: &BotId, language: &str) -> ApiResult<u64> {
    rebuild_from_store(&state.store, &state.index, bot, language).await
}

pub(crate) async fn rebuild_from_store(
    store: &Store,
    index: &std::sync::Arc<sitechat_search::SearchIndex>,
    bot: &BotId,
    language: &str,
) -> ApiResult<u64> {
    // Cleared first: a write that lands during the rebuild marks the bot pending again.
    store.clear_index_pending(bot).await?;
    const BATCH: u32 = 500;
    let (store, index, bot, language) = (
        store.clone(),
        index.clone(),
        bot.clone(),
        language.to_owned(),
    );
    let handle = tokio::runtime::Handle::current();
    blocking(move || {
        let mut after = 0;
        let mut done = false;
        let batches = std::iter::from_fn(|| {
            if done {
                return None;
            }
            match handle.block_on(store.bot_chunks(&bot, after, BATCH)) {
                Ok(rows) => {
                    done = rows.len() < BATCH as usize;
                    after = rows.last().map_or(after, |(seq, _)| *seq);
                    if rows.is_empty() {
                        return None;
                    }
                    Some(Ok(rows.into_iter().map(|(_, c)| c).collect()))
                }
                Err(e) => {
                    done = true;
                    Some(Err(sitechat_search::SearchError::Io(
                        std::io::Error::other(e.to_string()),
                    )))
                }
            }
        });
        Ok(index.rebuild(&bot, &language, batches)?)
    })
    .await
}

/// Compares every bot's index with the database and rebuilds those that disagree. Returns the
/// bots rebuilt.
pub async fn reconcile_indexes(
    store: &Store,
    index: &std::sync::Arc<sitechat_search::SearchIndex>,
    force: bool,
) -> ApiResult<Vec<(BotId, u64)>> {
    let mut rebuilt = Vec::new();
    for (bot, language) in store.all_bots().await? {
        let expected = store.count_bot_chunks(&bot).await?;
        let (idx, b, l) = (index.clone(), bot.clone(), language.clone());
        let actual = blocking(move || Ok(idx.doc_count(&b, &l)?)).await?;
        let pending = store.index_pending(&bot).await?;
        if force || pending || actual != expected {
            tracing::warn!(bot = %bot, expected, actual, pending, "rebuilding search index");
            let n = rebuild_from_store(store, index, &bot, &language).await?;
            rebuilt.push((bot, n));
        }
    }
    Ok(rebuilt)
}
