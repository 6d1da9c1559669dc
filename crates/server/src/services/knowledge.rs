//! Knowledge: sources, their passages and the search index that serves them.
//!
//! The database is the source of truth. A source and its chunks are written in one transaction,
//! then indexed; if indexing fails the source is removed again, so a client never sees a source
//! that cannot be searched. At start-up every bot's index is compared with the database and
//! rebuilt when they disagree (after a crash between the two writes, say).

use sha2::{Digest, Sha256};
use sitechat_core::{
    model::{Chunk, Source, SourceKind},
    now,
    validate::{SourceTitle, TextContent},
    BotId, ChunkId, Scope, SourceId,
};
use sitechat_store::{NewSource, Page, PageRequest, Store};

use crate::{
    auth::Caller,
    error::{ApiError, ApiResult},
    services::blocking,
    state::AppState,
};

/// A source just added.
pub struct Added {
    pub source: Source,
    pub chunks_created: usize,
}

fn today() -> String {
    let d = now().date();
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// Adds a text entry to a bot's knowledge.
pub async fn add_text(
    state: &AppState,
    caller: &Caller,
    bot: &BotId,
    title: SourceTitle,
    content: TextContent,
) -> ApiResult<Added> {
    caller.require(Scope::Admin)?;
    let bot = state.store.get_bot(&caller.account.id, bot).await?;
    let characters = content.as_str().chars().count() as i64;
    consume_upload_quota(state, caller, characters).await?;

    let source_id = SourceId::generate();
    let chunks: Vec<Chunk> = sitechat_ingest::chunk_text(content.as_str())
        .into_iter()
        .enumerate()
        .map(|(i, p)| Chunk {
            id: ChunkId::generate(),
            bot_id: bot.id.clone(),
            source_id: source_id.clone(),
            ordinal: i as i64,
            title: title.as_str().to_owned(),
            heading: p.heading,
            anchor: p.anchor,
            url: None,
            text: p.text,
        })
        .collect();
    let source = Source {
        id: source_id,
        bot_id: bot.id.clone(),
        kind: SourceKind::Text,
        title: title.into_inner(),
        url: None,
        characters,
        chunks: chunks.len() as i64,
        created_at: now(),
    };
    let new = NewSource {
        source: source.clone(),
        content_hash: hex::encode(Sha256::digest(content.as_str().as_bytes())),
        chunks,
    };
    state.store.insert_source(&caller.account.id, &new).await?;

    let index = state.index.clone();
    let language = bot.language.clone();
    let chunks = new.chunks;
    let count = chunks.len();
    let indexed =
        blocking(move || Ok(index.add_chunks(&chunks[0].bot_id, &language, &chunks)?)).await;
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
    tracing::info!(bot = %bot.id, source = %source.id, chunks = count, "text source added");
    Ok(Added {
        source,
        chunks_created: count,
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
        if force || actual != expected {
            tracing::warn!(bot = %bot, expected, actual, "rebuilding search index");
            let n = rebuild_from_store(store, index, &bot, &language).await?;
            rebuilt.push((bot, n));
        }
    }
    Ok(rebuilt)
}
