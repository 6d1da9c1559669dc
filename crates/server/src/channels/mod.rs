//! Messaging channels: a bot's connection to a messaging platform (Telegram, WhatsApp Cloud
//! API). Each platform is an adapter ([`Platform`]) that checks and reads the platform's
//! webhooks into visitor messages and delivery statuses, and renders a stored bot, agent or
//! system message as the platform's send request. Everything else is shared: the chat service
//! answers, the store queues each outgoing message in the transaction that stores it, and
//! [`outbox`] sends it with retries. A new platform is a new adapter, not a new path.

pub mod outbox;
pub mod telegram;
pub mod whatsapp;

use axum::http::HeaderMap;
use serde_json::Value;
use sitechat_core::model::{Button, Message, MessageStatus};
use sitechat_store::ChannelRecord;

use crate::secrets::Sealer;

/// The platforms sitechat connects to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelKind {
    Telegram,
    WhatsApp,
}

impl ChannelKind {
    pub const ALL: [ChannelKind; 2] = [ChannelKind::Telegram, ChannelKind::WhatsApp];

    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Telegram => "telegram",
            ChannelKind::WhatsApp => "whatsapp",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == value)
    }
}

/// Who wrote on the platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformUser {
    /// The platform's id of the user (Telegram's chat id, WhatsApp's `wa_id`).
    pub id: String,
    pub name: Option<String>,
    /// E.164, when the platform gives the number.
    pub phone: Option<String>,
}

/// What a visitor sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// Text, a command, or the payload of a button or list choice.
    Text(String),
    /// A kind the bot cannot read (an image, a voice note, a location…), by name.
    Unsupported(String),
}

/// One thing an inbound webhook carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    Message {
        /// The platform's id of the message or update: what deduplicates retried deliveries.
        platform_id: String,
        user: PlatformUser,
        content: Content,
    },
    /// A call the platform expects at once, before any reply (Telegram's
    /// `answerCallbackQuery`, which stops a pressed button's loading spinner). Best effort.
    Acknowledge(SendRequest),
    /// A delivery status of a message sitechat sent.
    Status {
        platform_message_id: String,
        status: MessageStatus,
        error: Option<String>,
    },
}

/// A send request, ready for the HTTP client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendRequest {
    pub url: String,
    pub bearer: Option<String>,
    pub body: Value,
}

/// One platform's side of a channel.
pub trait Platform: Send + Sync {
    /// Whether an inbound webhook really comes from the platform (its secret header, its
    /// signature of the raw body). Checked before anything is read or stored.
    fn verify(&self, headers: &HeaderMap, body: &[u8]) -> bool;

    /// Reads an inbound webhook; an error says what is wrong with it.
    fn parse(&self, body: &[u8]) -> Result<Vec<Inbound>, String>;

    /// The request that sends `message` to the platform user `to`.
    fn render(&self, to: &str, message: &Message) -> SendRequest;

    /// The platform's id of a message it accepted, from its answer.
    fn sent_id(&self, answer: &Value) -> Option<String>;

    /// How long the platform asks to wait, from the body of its 429 (besides `Retry-After`).
    fn retry_after(&self, _answer: &Value) -> Option<std::time::Duration> {
        None
    }

    /// The call that stops the platform sending this channel's webhooks, when the channel is
    /// deleted (Telegram's `deleteWebhook`; WhatsApp's subscription is the Meta app's).
    fn disconnect(&self) -> Option<SendRequest> {
        None
    }
}

/// The adapter of a stored channel, with its credentials opened.
pub fn adapter(record: &ChannelRecord, sealer: &Sealer) -> Result<Box<dyn Platform>, String> {
    let credentials = sealer.unseal(&record.credentials)?;
    match ChannelKind::parse(&record.kind) {
        Some(ChannelKind::Telegram) => Ok(Box::new(telegram::Telegram::open(
            &record.settings,
            &credentials,
        )?)),
        Some(ChannelKind::WhatsApp) => Ok(Box::new(whatsapp::WhatsApp::open(
            &record.settings,
            &credentials,
        )?)),
        None => Err(format!("unknown channel kind {}", record.kind)),
    }
}

/// The platform user a contact's external id (`{kind}:{id}`) names.
pub fn recipient<'a>(kind: &str, external_id: &'a str) -> Option<&'a str> {
    external_id
        .strip_prefix(kind)
        .and_then(|rest| rest.strip_prefix(':'))
}

/// The contact external id of a platform user.
pub fn external_id(kind: ChannelKind, user: &str) -> String {
    format!("{}:{user}", kind.as_str())
}

/// Most source links a message carries.
const MAX_LINKS: usize = 3;

/// A message's text as a messaging app shows it: the text, then the links of its sources (the
/// chat widget shows them as links; a messaging app has only the text), each once.
pub fn text_with_sources(message: &Message) -> String {
    let mut text = message.text.clone();
    let mut links: Vec<&str> = Vec::new();
    for source in &message.sources {
        if let Some(url) = source.url.as_deref() {
            let page = url.split('#').next().unwrap_or(url);
            if !links.iter().any(|l| l.split('#').next() == Some(page)) && links.len() < MAX_LINKS {
                links.push(url);
            }
        }
    }
    if !links.is_empty() {
        text.push_str("\n\n");
        text.push_str(&links.join("\n"));
    }
    text
}

/// What a pressed button sends back.
pub fn button_payload(button: &Button) -> &str {
    button.payload.as_deref().unwrap_or(&button.title)
}

/// `text` cut to at most `max` characters, with an ellipsis when cut.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut clipped: String = text.chars().take(max.saturating_sub(1)).collect();
    clipped.push('…');
    clipped
}

/// `text` cut to at most `max` bytes, on a character boundary.
pub fn clip_bytes(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// What the bot says to a message kind it cannot read.
pub fn unsupported_reply(kind: &str) -> String {
    format!(
        "Sorry, I can't read {kind} messages. Please write your question as text, or tap one of \
         the buttons I send."
    )
}

/// A bot message with sources at `urls`, for the adapters' tests.
#[cfg(test)]
pub(crate) fn sample_message(text: &str, urls: &[&str]) -> Message {
    use sitechat_core::{model::SourceRef, ChunkId, ConversationId, MessageId, SourceId};
    {
        Message {
            id: MessageId::generate(),
            conversation_id: ConversationId::generate(),
            role: sitechat_core::model::Role::Bot,
            text: text.to_owned(),
            author: None,
            confidence: None,
            outcome: None,
            sources: urls
                .iter()
                .map(|u| SourceRef {
                    source_id: SourceId::generate(),
                    chunk_id: ChunkId::generate(),
                    title: "t".to_owned(),
                    url: Some((*u).to_owned()),
                    snippet: String::new(),
                })
                .collect(),
            buttons: Vec::new(),
            status: None,
            feedback: None,
            created_at: sitechat_core::now(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(text: &str, urls: &[&str]) -> Message {
        sample_message(text, urls)
    }

    #[test]
    fn a_reply_carries_each_source_page_once() {
        let m = message(
            "Open 9 to 6.",
            &[
                "https://shop.example/hours#weekdays",
                "https://shop.example/hours#saturday",
                "https://shop.example/returns",
            ],
        );
        assert_eq!(
            text_with_sources(&m),
            "Open 9 to 6.\n\nhttps://shop.example/hours#weekdays\nhttps://shop.example/returns"
        );
        assert_eq!(text_with_sources(&message("Hi", &[])), "Hi");
    }

    #[test]
    fn a_clipped_text_ends_with_an_ellipsis_and_keeps_its_characters_whole() {
        assert_eq!(clip("Talk to a person", 20), "Talk to a person");
        assert_eq!(clip("Opening hours on Saturdays", 10), "Opening h…");
        assert_eq!(clip_bytes("héllo", 2), "h");
    }

    #[test]
    fn a_recipient_is_read_from_its_own_kind_only() {
        assert_eq!(recipient("telegram", "telegram:42"), Some("42"));
        assert_eq!(recipient("telegram", "whatsapp:42"), None);
        assert_eq!(recipient("telegram", "telegramx:42"), None);
    }
}
