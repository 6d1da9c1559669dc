//! Bots.

use sitechat_core::{
    model::{Bot, EmbeddingProgress},
    validate::ValidationError,
    BotId, Scope,
};
use sitechat_store::{BotPatch, NewBot, Page, PageRequest};

use crate::{auth::Caller, error::ApiResult, services::knowledge, state::AppState};

pub async fn create(state: &AppState, caller: &Caller, new: NewBot) -> ApiResult<Bot> {
    caller.require(Scope::Admin)?;
    let max = caller.account.plan.limits().bots;
    let bot = state.store.create_bot(&caller.account.id, new, max).await?;
    tracing::info!(bot = %bot.id, account = %caller.account.id, "bot created");
    // Every bot gets a Chat API channel token, shown in this response only.
    let mut bot = set_chat_api_token(state, caller, &bot.id, None).await?;
    if bot.website_url.is_some() {
        // A bot made from a website starts learning it at once.
        crate::services::training::start(state, caller, &bot.id, false, true).await?;
        let token = bot.chat_api_token.take();
        bot = state.store.get_bot(&caller.account.id, &bot.id).await?;
        bot.chat_api_token = token;
    }
    Ok(bot)
}

/// The Chat API token's prefix shown in clear.
const TOKEN_VISIBLE: usize = 8;

/// Sets the bot's Chat API channel token — the one given (to keep a token clients already use)
/// or a new random one — and returns the bot with the token, shown this once.
pub async fn set_chat_api_token(
    state: &AppState,
    caller: &Caller,
    id: &BotId,
    chosen: Option<ChatApiToken>,
) -> ApiResult<Bot> {
    caller.require(Scope::Admin)?;
    let token = match chosen {
        Some(t) => t.0,
        None => format!("ct_{}", sitechat_core::random_token(40)),
    };
    let prefix: String = token.chars().take(TOKEN_VISIBLE).collect();
    let hash = crate::auth::hash_key(&token);
    let mut bot = state
        .store
        .set_chat_api_token(&caller.account.id, id, Some((&hash, &prefix)))
        .await?;
    bot.chat_api_token = Some(token);
    Ok(bot)
}

/// Makes a new key that verifies the identity of the bot's widget visitors (`is_…`), shown
/// once: it is kept sealed. The previous key stops verifying.
pub async fn set_identity_secret(
    state: &AppState,
    caller: &Caller,
    id: &BotId,
) -> ApiResult<String> {
    caller.require(Scope::Admin)?;
    let secret = format!("is_{}", sitechat_core::random_token(40));
    set_sealed_identity_secret(state, caller, id, Some(state.sealer.seal(&secret))).await?;
    Ok(secret)
}

/// Stops verifying identities: the bot's widget visitors are anonymous again.
pub async fn remove_identity_secret(
    state: &AppState,
    caller: &Caller,
    id: &BotId,
) -> ApiResult<()> {
    caller.require(Scope::Admin)?;
    set_sealed_identity_secret(state, caller, id, None).await
}

async fn set_sealed_identity_secret(
    state: &AppState,
    caller: &Caller,
    id: &BotId,
    sealed: Option<String>,
) -> ApiResult<()> {
    let mut settings = state.store.get_bot(&caller.account.id, id).await?.settings;
    settings.identity_secret_sealed = sealed;
    state
        .store
        .update_bot(
            &caller.account.id,
            id,
            BotPatch {
                settings: Some(settings),
                ..BotPatch::default()
            },
        )
        .await?;
    Ok(())
}

/// Turns the bot's Chat API channel off: its token stops working.
pub async fn remove_chat_api_token(state: &AppState, caller: &Caller, id: &BotId) -> ApiResult<()> {
    caller.require(Scope::Admin)?;
    state
        .store
        .set_chat_api_token(&caller.account.id, id, None)
        .await?;
    Ok(())
}

/// A Chat API token chosen by the client: 16 to 128 characters that are safe in a URL path.
pub struct ChatApiToken(String);

impl ChatApiToken {
    pub fn parse(field: &str, value: &str) -> Result<Self, ValidationError> {
        let value = value.trim();
        let safe = |c: char| c.is_ascii_alphanumeric() || "-._~:".contains(c);
        if !(16..=128).contains(&value.len()) || !value.chars().all(safe) {
            return Err(ValidationError::new(
                field,
                "must be 16 to 128 characters among letters, digits and - . _ ~ :",
            ));
        }
        Ok(Self(value.to_owned()))
    }
}

pub async fn get(state: &AppState, caller: &Caller, id: &BotId) -> ApiResult<Bot> {
    caller
        .require(Scope::Read)
        .or_else(|_| caller.require(Scope::Chat))?;
    Ok(state.store.get_bot(&caller.account.id, id).await?)
}

/// A bot as shown to the people who run it (`GET /v1/bots/{id}`, the dashboard's bot page):
/// with how far its knowledge is embedded with its model. Two counts, so not for every caller
/// that only needs the bot.
pub async fn get_shown(state: &AppState, caller: &Caller, id: &BotId) -> ApiResult<Bot> {
    let mut bot = get(state, caller, id).await?;
    bot.embedding = Some(embedding_progress(state, &bot).await?);
    Ok(bot)
}

/// How many of the bot's passages have a vector of its embedding model.
pub async fn embedding_progress(state: &AppState, bot: &Bot) -> ApiResult<EmbeddingProgress> {
    let (embedded, passages) = state
        .store
        .vector_progress(&bot.id, &bot.embedding_model)
        .await?;
    Ok(EmbeddingProgress { passages, embedded })
}

pub async fn list(state: &AppState, caller: &Caller, page: PageRequest) -> ApiResult<Page<Bot>> {
    caller
        .require(Scope::Read)
        .or_else(|_| caller.require(Scope::Chat))?;
    Ok(state.store.list_bots(&caller.account.id, page).await?)
}

/// Updates a bot. A new language changes how text is analysed, so the bot's index is rebuilt;
/// a new embedding model (named, or chosen by the new language) re-embeds its knowledge.
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
    if bot.embedding_model != before.embedding_model {
        // Answers keep the old vectors until the new model's cover as many passages.
        tracing::info!(bot = %bot.id, from = %before.embedding_model, to = %bot.embedding_model, "embedding model changed: embedding the knowledge again");
        super::embeddings::spawn_embed_bot(state, &bot);
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
