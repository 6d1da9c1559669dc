//! Conversations around the answers: starting them, the human handoff, agent messages, delivery
//! statuses, feedback, chat state, contacts, leads and the event log.

use serde_json::json;
use sitechat_core::{
    model::{
        Button, Contact, Conversation, ConversationStatus, Event, HandoffAction, HandoffReason,
        Lead, Message, MessageStatus, Role, Thumb,
    },
    BotId, ContactId, ConversationId, MessageId, Scope,
};
use sitechat_store::{
    ContactInput, ConversationFilter, EventFilter, LeadFilter, NewConversation, NewMessage, Page,
    PageRequest,
};

use crate::{
    auth::Caller,
    error::{ApiError, ApiResult},
    state::AppState,
};

/// Refuses unless the caller may read conversations (`read` or `chat`).
pub fn require_read(caller: &Caller) -> ApiResult<()> {
    caller
        .require(Scope::Read)
        .or_else(|_| caller.require(Scope::Chat))
}

/// Starts a conversation explicitly (ChatAIBot's "API as a channel").
pub async fn start(
    state: &AppState,
    caller: &Caller,
    bot: &BotId,
    new: NewConversation,
) -> ApiResult<Conversation> {
    caller.require(Scope::Chat)?;
    let conversation = state
        .store
        .start_conversation(&caller.account.id, bot, &new)
        .await?;
    Ok(conversation)
}

/// A visitor's conversation on a channel: for a known user (`user`, the client's key for
/// them), their latest conversation with the bot that has not ended, whatever device it was
/// started on; otherwise a new one.
pub async fn start_visit(
    state: &AppState,
    caller: &Caller,
    bot: &BotId,
    channel: &str,
    user: Option<&str>,
) -> ApiResult<Conversation> {
    caller.require(Scope::Chat)?;
    if let Some(user) = user {
        let known = state
            .store
            .contact_by_external_id(&caller.account.id, bot, user)
            .await?;
        if let Some(contact) = known {
            let filter = ConversationFilter {
                bot: Some(bot.clone()),
                contact: Some(contact.id),
                ..ConversationFilter::default()
            };
            let recent = state
                .store
                .list_conversations(
                    &caller.account.id,
                    &filter,
                    PageRequest {
                        limit: 20,
                        after: None,
                    },
                )
                .await?;
            if let Some(open) = recent
                .items
                .into_iter()
                .filter(|c| c.status != ConversationStatus::Ended)
                .max_by_key(|c| c.created_at)
            {
                return Ok(open);
            }
        }
    }
    start(
        state,
        caller,
        bot,
        NewConversation {
            contact: user.map(|u| ContactInput {
                external_id: u.to_owned(),
                ..ContactInput::default()
            }),
            channel: channel.to_owned(),
            variables: None,
        },
    )
    .await
}

pub async fn list(
    state: &AppState,
    caller: &Caller,
    filter: &ConversationFilter,
    page: PageRequest,
) -> ApiResult<Page<Conversation>> {
    require_read(caller)?;
    Ok(state
        .store
        .list_conversations(&caller.account.id, filter, page)
        .await?)
}

/// The agents' inbox: a page of conversations of one status (the queue oldest first, others
/// newest first; `offset` rows skipped), with their bot, contact, last message and what the
/// signed-in person has not read, and the count in each status.
pub async fn inbox(
    state: &AppState,
    caller: &Caller,
    status: Option<ConversationStatus>,
    offset: u32,
    limit: u32,
) -> ApiResult<(Vec<sitechat_store::InboxRow>, Vec<(String, i64)>)> {
    require_read(caller)?;
    let reader = caller.user.as_ref().map(|u| &u.id);
    let rows = state
        .store
        .inbox(&caller.account.id, status, reader, offset, limit)
        .await?;
    let counts = state.store.status_counts(&caller.account.id).await?;
    Ok((rows, counts))
}

/// Marks a conversation read up to its newest message by the signed-in person (nothing for a
/// key: a machine reads nothing).
pub async fn mark_read(state: &AppState, caller: &Caller, id: &ConversationId) -> ApiResult<()> {
    require_read(caller)?;
    if let Some(user) = &caller.user {
        state.store.get_conversation(&caller.account.id, id).await?;
        state.store.mark_read(&user.id, id).await?;
    }
    Ok(())
}

/// Moves a conversation through the handoff state machine and tells live listeners.
pub async fn handoff(
    state: &AppState,
    caller: &Caller,
    id: &ConversationId,
    action: HandoffAction,
    agent: Option<&str>,
    reason: Option<HandoffReason>,
) -> ApiResult<Conversation> {
    caller.require(Scope::Chat)?;
    let conversation = state
        .store
        .transition(&caller.account.id, id, action, agent, reason)
        .await?;
    state.live.publish(
        id,
        "status",
        json!({"status": conversation.status, "assignee": conversation.assignee, "handoff_reason": conversation.handoff_reason}),
    );
    Ok(conversation)
}

/// An agent's (or a system) message in a conversation.
pub async fn post_staff_message(
    state: &AppState,
    caller: &Caller,
    id: &ConversationId,
    role: Role,
    text: String,
    author: Option<String>,
    buttons: Vec<Button>,
) -> ApiResult<Message> {
    caller.require(Scope::Chat)?;
    let conversation = state.store.get_conversation(&caller.account.id, id).await?;
    crate::services::channels::check_staff_message(state, id, role).await?;
    // A signed-in person's messages carry their name, not one they typed.
    let signed_in = caller
        .user
        .as_ref()
        .filter(|_| role == Role::Agent)
        .map(|u| u.name.clone());
    let author = signed_in.or(author).or_else(|| {
        if role == Role::Agent {
            conversation.assignee.clone()
        } else {
            None
        }
    });
    let message = state
        .store
        .append_staff_message(
            &caller.account.id,
            id,
            NewMessage {
                role,
                text,
                author,
                confidence: None,
                outcome: None,
                sources: Vec::new(),
                buttons,
            },
        )
        .await?;
    state.live.publish(id, "message", json!(message));
    Ok(message)
}

/// Tells live listeners that someone is typing.
pub async fn typing(
    state: &AppState,
    caller: &Caller,
    id: &ConversationId,
    role: Role,
    author: Option<String>,
) -> ApiResult<()> {
    caller.require(Scope::Chat)?;
    state.store.get_conversation(&caller.account.id, id).await?;
    state
        .live
        .publish(id, "typing", json!({"role": role, "author": author}));
    Ok(())
}

pub async fn message(state: &AppState, caller: &Caller, id: &MessageId) -> ApiResult<Message> {
    require_read(caller)?;
    Ok(state.store.get_message(&caller.account.id, id).await?)
}

pub async fn set_status(
    state: &AppState,
    caller: &Caller,
    ids: &[MessageId],
    status: MessageStatus,
) -> ApiResult<Vec<Message>> {
    caller.require(Scope::Chat)?;
    Ok(state
        .store
        .set_message_status(&caller.account.id, ids, status)
        .await?)
}

/// The longest comment a visitor leaves with feedback or a rating.
const MAX_COMMENT_CHARS: usize = 2000;

fn check_comment(comment: Option<&str>) -> ApiResult<()> {
    match comment {
        Some(c) if c.chars().count() > MAX_COMMENT_CHARS => Err(ApiError::invalid(format!(
            "comment: at most {MAX_COMMENT_CHARS} characters"
        ))),
        _ => Ok(()),
    }
}

/// Contact details a visitor leaves through a form: the conversation's contact gets them and a
/// lead is captured, as when they are written in a message. At least one is needed; each must
/// be what it says (a phone number as the bot's region reads it).
pub async fn leave_contact(
    state: &AppState,
    caller: &Caller,
    bot: &sitechat_core::model::Bot,
    id: &ConversationId,
    email: Option<&str>,
    phone: Option<&str>,
) -> ApiResult<Option<sitechat_core::model::Lead>> {
    caller.require(Scope::Chat)?;
    let region = bot.settings.region.as_deref().unwrap_or("");
    let given = |field: &str,
                 value: Option<&str>,
                 pick: fn(sitechat_answer::leads::Found) -> Option<String>| {
        value
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(|v| {
                pick(sitechat_answer::leads::extract(v, region)).ok_or_else(|| {
                    ApiError::invalid(format!("{field}: `{v}` is not {}", match field {
                        "email" => "an email address",
                        _ => "a phone number (write it with its country code, e.g. +44 20 7946 0018)",
                    }))
                })
            })
            .transpose()
    };
    let email = given("email", email, |f| f.emails.into_iter().next())?;
    let phone = given("phone", phone, |f| f.phones.into_iter().next())?;
    if email.is_none() && phone.is_none() {
        return Err(ApiError::invalid(
            "give an email address or a phone number (or both)",
        ));
    }
    Ok(state
        .store
        .capture_lead(&caller.account.id, id, email.as_deref(), phone.as_deref())
        .await?)
}

pub async fn feedback(
    state: &AppState,
    caller: &Caller,
    id: &MessageId,
    thumb: Thumb,
    comment: Option<&str>,
) -> ApiResult<Message> {
    caller.require(Scope::Chat)?;
    check_comment(comment)?;
    Ok(state
        .store
        .message_feedback(&caller.account.id, id, thumb, comment)
        .await?)
}

pub async fn rate(
    state: &AppState,
    caller: &Caller,
    id: &ConversationId,
    rating: i64,
    comment: Option<&str>,
) -> ApiResult<Conversation> {
    caller.require(Scope::Chat)?;
    if !(1..=5).contains(&rating) {
        return Err(ApiError::invalid(format!(
            "rating: must be 1 to 5 (got {rating})"
        )));
    }
    check_comment(comment)?;
    Ok(state
        .store
        .rate_conversation(&caller.account.id, id, rating, comment)
        .await?)
}

pub async fn contacts(
    state: &AppState,
    caller: &Caller,
    bot: &BotId,
    page: PageRequest,
) -> ApiResult<Page<Contact>> {
    require_read(caller)?;
    Ok(state
        .store
        .list_contacts(&caller.account.id, bot, page)
        .await?)
}

pub async fn contact(state: &AppState, caller: &Caller, id: &ContactId) -> ApiResult<Contact> {
    require_read(caller)?;
    Ok(state.store.get_contact(&caller.account.id, id).await?)
}

pub async fn save_contact(
    state: &AppState,
    caller: &Caller,
    bot: &BotId,
    input: ContactInput,
) -> ApiResult<Contact> {
    caller.require(Scope::Chat)?;
    Ok(state
        .store
        .save_contact(&caller.account.id, bot, &input)
        .await?)
}

pub async fn unread(state: &AppState, caller: &Caller, contact: &ContactId) -> ApiResult<i64> {
    require_read(caller)?;
    Ok(state
        .store
        .unread_count(&caller.account.id, contact)
        .await?)
}

/// Saves a contact's chat state: `document` is well-formed JSON text, stored as given.
pub async fn save_state(
    state: &AppState,
    caller: &Caller,
    contact: &ContactId,
    document: &str,
) -> ApiResult<()> {
    caller.require(Scope::Chat)?;
    let contact = state.store.get_contact(&caller.account.id, contact).await?;
    Ok(state
        .store
        .save_chat_state(&caller.account.id, &contact.bot_id, &contact.id, document)
        .await?)
}

/// A contact's chat state, the JSON text exactly as saved (`None` when never saved).
pub async fn load_state(
    state: &AppState,
    caller: &Caller,
    contact: &ContactId,
) -> ApiResult<Option<String>> {
    require_read(caller)?;
    let contact = state.store.get_contact(&caller.account.id, contact).await?;
    Ok(state
        .store
        .load_chat_state(&caller.account.id, &contact.bot_id, &contact.id)
        .await?)
}

pub async fn leads(
    state: &AppState,
    caller: &Caller,
    filter: &LeadFilter,
    page: PageRequest,
) -> ApiResult<Page<Lead>> {
    require_read(caller)?;
    Ok(state
        .store
        .list_leads(&caller.account.id, filter, page)
        .await?)
}

pub async fn events(
    state: &AppState,
    caller: &Caller,
    filter: &EventFilter,
    limit: u32,
) -> ApiResult<Vec<(i64, Event)>> {
    require_read(caller)?;
    Ok(state
        .store
        .list_events(&caller.account.id, filter, limit)
        .await?)
}
