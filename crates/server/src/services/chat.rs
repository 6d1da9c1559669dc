//! The path of one visitor message: quota → persist the visitor's message (starting the
//! conversation if needed) → answer from the bot's knowledge → persist the reply → respond.
//!
//! The visitor's message is committed before the answer is composed, so a failure while answering
//! never loses what the visitor said.

use sitechat_core::{
    model::{Conversation, Message, Outcome, SourceRef},
    now,
    validate::ChatText,
    BotId, ConversationId, Scope,
};
use sitechat_store::{NewMessage, Page, PageRequest, StartConversation};

use crate::{
    auth::Caller,
    error::{ApiError, ApiResult},
    services::blocking,
    state::AppState,
};

/// A visitor's message as the services take it.
pub struct VisitorMessage {
    pub bot: BotId,
    pub text: ChatText,
    pub conversation: Option<ConversationId>,
    /// The client's own key for the visitor.
    pub external_id: Option<String>,
    pub channel: String,
}

/// The bot's reply.
pub struct Reply {
    pub conversation: Conversation,
    pub visitor_message: Message,
    pub message: Message,
    pub outcome: Outcome,
    pub confidence: f64,
    pub sources: Vec<SourceRef>,
}

fn this_month() -> String {
    let d = now().date();
    format!("{:04}-{:02}", d.year(), u8::from(d.month()))
}

/// Handles one visitor message and returns the bot's reply.
#[tracing::instrument(skip_all, fields(bot = %input.bot))]
pub async fn send(state: &AppState, caller: &Caller, input: VisitorMessage) -> ApiResult<Reply> {
    caller.require(Scope::Chat)?;
    let bot = state.store.get_bot(&caller.account.id, &input.bot).await?;
    if let Some(id) = &input.conversation {
        // Unknown or foreign conversations are refused before anything is counted or written.
        let conversation = state.store.get_conversation(&caller.account.id, id).await?;
        if conversation.bot_id != bot.id {
            return Err(ApiError::not_found("conversation"));
        }
    }
    consume_message_quota(state, caller).await?;

    let target = match input.conversation {
        Some(id) => StartConversation::Existing(id),
        None => StartConversation::New {
            external_id: input.external_id,
            channel: input.channel,
        },
    };
    let question = input.text.into_inner();
    let (conversation, visitor_message) = state
        .store
        .record_visitor_message(&caller.account.id, &bot.id, target, question.clone())
        .await?;

    let engine = state.engine.clone();
    let (bot_id, language, settings) = (bot.id.clone(), bot.language.clone(), bot.settings.clone());
    let answer =
        blocking(move || Ok(engine.answer(&bot_id, &language, &settings, &question)?)).await?;

    let message = state
        .store
        .append_message(
            &caller.account.id,
            &conversation.id,
            NewMessage {
                role: sitechat_core::model::Role::Bot,
                text: answer.text,
                confidence: Some(answer.confidence),
                outcome: Some(answer.outcome),
                sources: answer.sources.clone(),
            },
        )
        .await?;
    state.metrics.answer(answer.outcome);
    tracing::info!(conversation = %conversation.id, outcome = answer.outcome.as_str(), confidence = answer.confidence, "answered");
    Ok(Reply {
        conversation,
        visitor_message,
        message,
        outcome: answer.outcome,
        confidence: answer.confidence,
        sources: answer.sources,
    })
}

async fn consume_message_quota(state: &AppState, caller: &Caller) -> ApiResult<()> {
    if !state.config.rate_limits {
        return Ok(());
    }
    let Some(limit) = caller.account.plan.limits().messages_per_month else {
        return Ok(());
    };
    let consumed = state
        .store
        .consume_quota(
            &caller.account.id,
            "messages",
            &this_month(),
            1,
            Some(i64::from(limit)),
        )
        .await?;
    if consumed.is_none() {
        return Err(ApiError::RateLimited {
            message: format!(
                "the {} plan includes {limit} messages a month and they are used up; the quota renews on the 1st (UTC)",
                caller.account.plan
            ),
            retry_after_secs: None,
        });
    }
    Ok(())
}

pub async fn conversation(
    state: &AppState,
    caller: &Caller,
    id: &ConversationId,
) -> ApiResult<Conversation> {
    caller
        .require(Scope::Read)
        .or_else(|_| caller.require(Scope::Chat))?;
    Ok(state.store.get_conversation(&caller.account.id, id).await?)
}

pub async fn history(
    state: &AppState,
    caller: &Caller,
    id: &ConversationId,
    page: PageRequest,
) -> ApiResult<Page<Message>> {
    caller
        .require(Scope::Read)
        .or_else(|_| caller.require(Scope::Chat))?;
    Ok(state
        .store
        .list_messages(&caller.account.id, id, page)
        .await?)
}
