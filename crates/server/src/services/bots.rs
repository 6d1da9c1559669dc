//! Bots.

use sitechat_core::{model::Bot, BotId, Scope};
use sitechat_store::{BotPatch, NewBot, Page, PageRequest};

use crate::{auth::Caller, error::ApiResult, services::knowledge, state::AppState};

pub async fn create(state: &AppState, caller: &Caller, new: NewBot) -> ApiResult<Bot> {
    caller.require(Scope::Admin)?;
    let max = caller.account.plan.limits().bots;
    let bot = state.store.create_bot(&caller.account.id, new, max).await?;
    tracing::info!(bot = %bot.id, account = %caller.account.id, "bot created");
    if bot.website_url.is_some() {
        // A bot made from a website starts learning it at once.
        crate::services::training::start(state, caller, &bot.id, false, true).await?;
        return Ok(state.store.get_bot(&caller.account.id, &bot.id).await?);
    }
    Ok(bot)
}

pub async fn get(state: &AppState, caller: &Caller, id: &BotId) -> ApiResult<Bot> {
    caller
        .require(Scope::Read)
        .or_else(|_| caller.require(Scope::Chat))?;
    Ok(state.store.get_bot(&caller.account.id, id).await?)
}

pub async fn list(state: &AppState, caller: &Caller, page: PageRequest) -> ApiResult<Page<Bot>> {
    caller
        .require(Scope::Read)
        .or_else(|_| caller.require(Scope::Chat))?;
    Ok(state.store.list_bots(&caller.account.id, page).await?)
}

/// Updates a bot. A new language changes how text is analysed, so the bot's index is rebuilt.
pub async fn update(
    state: &AppState,
    caller: &Caller,
    id: &BotId,
    patch: BotPatch,
) -> ApiResult<Bot> {
    caller.require(Scope::Admin)?;
    let before = state.store.get_bot(&caller.account.id, id).await?;
    let bot = state
        .store
        .update_bot(&caller.account.id, id, patch)
        .await?;
    if bot.language != before.language {
        knowledge::rebuild_index(state, &bot.id, &bot.language).await?;
    }
    Ok(bot)
}

/// Deletes a bot, its knowledge, its conversations and its index.
pub async fn delete(state: &AppState, caller: &Caller, id: &BotId) -> ApiResult<()> {
    caller.require(Scope::Admin)?;
    state.store.delete_bot(&caller.account.id, id).await?;
    let index = state.index.clone();
    let bot = id.clone();
    if let Err(e) = tokio::task::spawn_blocking(move || index.drop_bot(&bot)).await? {
        // The rows are gone; a leftover directory is only disk space, never served.
        tracing::warn!(bot = %id, error = %e, "could not remove the bot's index directory");
    }
    Ok(())
}
