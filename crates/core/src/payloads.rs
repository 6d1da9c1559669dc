//! Webhook payloads, in each format an endpoint can ask for: sitechat's own, or the shape a seed
//! service's document shows for its webhooks. The store renders a delivery's body with
//! [`render`] when it queues the delivery (in the transaction of the event), so the body is fixed
//! once, signed as it is, and sent the same on every attempt.
//!
//! | format | envelope | what fires it |
//! |---|---|---|
//! | `sitechat` | `{id, type, created_at, data}` | every event, as recorded |
//! | `aisa` | `{event, timestamp, data: {conversation_id, user_id, phone_number, …}}` | AISA's events; its `message.received` once the AI response exists |
//! | `asyntai` | `{event, timestamp, data: {session_id, website_id, source, …}}` | Asyntai's events; its `message.received` once the visitor has the response |
//! | `aimylogic` | `[{token, clientId, questionId, data: {nlpClass, confidence, replies, answer, …}, timestamp, blockForm}]` | replies to `/async` requests and agents' replies on the Chat API channel |

use serde_json::{json, Value};
use time::{format_description::well_known::Rfc3339, OffsetDateTime};

use crate::model::{Button, Event, Outcome};

/// The payload shape of a webhook endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum WebhookFormat {
    #[default]
    Sitechat,
    Aisa,
    Asyntai,
    Aimylogic,
}

/// AISA's webhook events (seed 000).
pub const AISA_EVENTS: &[&str] = &[
    "message.received",
    "conversation.started",
    "conversation.ended",
    "lead.captured",
];

/// Asyntai's webhook events (seed 002).
pub const ASYNTAI_EVENTS: &[&str] = &[
    "message.received",
    "conversation.started",
    "escalation.requested",
    "takeover.started",
];

/// What an Aimylogic-format endpoint receives: the Chat API's replies (seed 004 has no event
/// names; this is the sitechat event that carries them).
pub const AIMYLOGIC_EVENTS: &[&str] = &["message.sent"];

impl WebhookFormat {
    pub const ALL: [WebhookFormat; 4] = [
        WebhookFormat::Sitechat,
        WebhookFormat::Aisa,
        WebhookFormat::Asyntai,
        WebhookFormat::Aimylogic,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WebhookFormat::Sitechat => "sitechat",
            WebhookFormat::Aisa => "aisa",
            WebhookFormat::Asyntai => "asyntai",
            WebhookFormat::Aimylogic => "aimylogic",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == value)
    }

    /// The event names an endpoint of this format subscribes to (besides `*`); `None` for
    /// sitechat's own, whose vocabulary is the event log's.
    pub fn events(self) -> Option<&'static [&'static str]> {
        match self {
            WebhookFormat::Sitechat => None,
            WebhookFormat::Aisa => Some(AISA_EVENTS),
            WebhookFormat::Asyntai => Some(ASYNTAI_EVENTS),
            WebhookFormat::Aimylogic => Some(AIMYLOGIC_EVENTS),
        }
    }
}

/// The visitor message a message event is about: the one a bot reply answers, or the latest
/// one before an agent's message.
#[derive(Debug, Clone, Default)]
pub struct Question {
    pub id: String,
    pub text: String,
    /// Sent asynchronously (Aimylogic's `/async`, the native `async` mode).
    pub asynchronous: bool,
    /// The first visitor message of its conversation (it started the session).
    pub first: bool,
    /// The event's message is the bot's reply to this one (not just a message after it).
    pub answered_by_event: bool,
}

/// What a dialect's payload says beside the event's own data, read where the delivery is queued.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// The contact's key: AISA's `user_id`, Asyntai's `session_id`, Aimylogic's `clientId`.
    pub external_id: Option<String>,
    /// The contact's phone number (AISA's `phone_number`).
    pub phone: Option<String>,
    /// The bot's website number (Asyntai's `website_id`).
    pub website_id: Option<i64>,
    /// The conversation's channel (Asyntai's `source`).
    pub channel: Option<String>,
    pub conversation_ended: bool,
    /// The visible prefix of the bot's Chat API token (Aimylogic's `token`; the token itself is
    /// stored hashed).
    pub token_prefix: Option<String>,
    pub question: Option<Question>,
}

/// A delivery's body and the event name it is delivered (and subscribed to) as.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub event: String,
    pub body: String,
}

/// The body of a sitechat-format delivery: `{id, type, created_at, data}`.
pub fn sitechat(
    id: &crate::EventId,
    kind: &str,
    created_at: OffsetDateTime,
    data: &Value,
) -> String {
    json!({
        "id": id,
        "type": kind,
        "created_at": created_at.format(&Rfc3339).unwrap_or_default(),
        "data": data,
    })
    .to_string()
}

/// The event in `format`, or `None` when an endpoint of that format does not get it.
pub fn render(format: WebhookFormat, event: &Event, context: &Context) -> Option<Rendered> {
    match format {
        WebhookFormat::Sitechat => Some(Rendered {
            event: event.kind.clone(),
            body: sitechat(&event.id, &event.kind, event.created_at, &event.data),
        }),
        WebhookFormat::Aisa => aisa(event, context),
        WebhookFormat::Asyntai => asyntai(event, context),
        WebhookFormat::Aimylogic => aimylogic::render(event, context),
    }
}

/// A time as AISA's and Asyntai's documents write it: UTC, whole seconds, `Z`
/// (`2025-08-09T14:30:00Z`).
pub fn utc_seconds(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
        ))
        .unwrap_or_default()
}

/// The event's message, when it is a message event.
struct MessageData<'a> {
    role: &'a str,
    text: &'a str,
    confidence: Option<f64>,
    outcome: Option<Outcome>,
    buttons: Vec<Button>,
}

fn message_of(event: &Event) -> Option<MessageData<'_>> {
    let m = event.data.get("message")?;
    Some(MessageData {
        role: m.get("role")?.as_str()?,
        text: m.get("text")?.as_str().unwrap_or_default(),
        confidence: m.get("confidence").and_then(Value::as_f64),
        outcome: m
            .get("outcome")
            .and_then(|o| serde_json::from_value(o.clone()).ok()),
        buttons: m
            .get("buttons")
            .and_then(|b| serde_json::from_value(b.clone()).ok())
            .unwrap_or_default(),
    })
}

/// The bot's reply to a visitor message, with that message: what AISA's and Asyntai's
/// `message.received` carry ("a user sent a message and received a response").
fn exchange<'a>(event: &'a Event, context: &'a Context) -> Option<(&'a Question, MessageData<'a>)> {
    if event.kind != "message.sent" {
        return None;
    }
    let message = message_of(event)?;
    let question = context.question.as_ref()?;
    (message.role == "bot" && question.answered_by_event).then_some((question, message))
}

fn envelope(event: &str, at: OffsetDateTime, data: Value) -> Rendered {
    Rendered {
        event: event.to_owned(),
        body: json!({"event": event, "timestamp": utc_seconds(at), "data": data}).to_string(),
    }
}

/// AISA: `{"event", "timestamp", "data": {conversation_id, user_id, phone_number, message,
/// ai_response, confidence_score}}`; the other events carry the conversation and user fields.
fn aisa(event: &Event, context: &Context) -> Option<Rendered> {
    let mut data = json!({
        "conversation_id": event.conversation_id,
        "user_id": context.external_id,
        "phone_number": context.phone,
    });
    let name = match event.kind.as_str() {
        "message.sent" => {
            let (question, reply) = exchange(event, context)?;
            data["message"] = json!(question.text);
            data["ai_response"] = json!(reply.text);
            data["confidence_score"] = json!(reply.confidence);
            "message.received"
        }
        "conversation.started" | "conversation.ended" => event.kind.as_str(),
        "lead.captured" => {
            data["email"] = event.data["email"].clone();
            if let Some(phone) = event.data["phone"].as_str() {
                data["phone_number"] = json!(phone);
            }
            "lead.captured"
        }
        "webhook.test" => return Some(envelope(&event.kind, event.created_at, event.data.clone())),
        _ => return None,
    };
    Some(envelope(name, event.created_at, data))
}

/// Asyntai (its document shows no payload): the same envelope, with Asyntai's own names for the
/// fields — `session_id`, `website_id`, `source`, and `message` and `response` as its `/chat/`
/// says them.
fn asyntai(event: &Event, context: &Context) -> Option<Rendered> {
    let mut data = json!({
        "session_id": context.external_id,
        "website_id": context.website_id,
        "source": context.channel,
    });
    let name = match event.kind.as_str() {
        "message.sent" => {
            let (question, reply) = exchange(event, context)?;
            data["message"] = json!(question.text);
            data["response"] = json!(reply.text);
            "message.received"
        }
        "conversation.started" => "conversation.started",
        "escalation.requested" => {
            data["reason"] = event.data["handoff_reason"].clone();
            "escalation.requested"
        }
        "takeover.started" => {
            data["agent"] = event.data["assignee"].clone();
            "takeover.started"
        }
        "webhook.test" => return Some(envelope(&event.kind, event.created_at, event.data.clone())),
        _ => return None,
    };
    Some(envelope(name, event.created_at, data))
}

/// Aimylogic's Chat API: what its synchronous answers and its webhook share.
pub mod aimylogic {
    use super::*;

    /// A time as the document writes it: UTC, milliseconds, no zone (`2022-09-28T12:32:13.262`).
    pub fn timestamp(t: OffsetDateTime) -> String {
        t.to_offset(time::UtcOffset::UTC)
            .format(time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]"
            ))
            .unwrap_or_default()
    }

    /// The answer's class and state, from its outcome (`None`: an agent's message).
    pub fn nlp_class(outcome: Option<Outcome>) -> &'static str {
        match outcome {
            Some(Outcome::Fallback) => "/CatchAll",
            Some(Outcome::Answered) => "/answered",
            Some(Outcome::Curated) => "/curated",
            Some(Outcome::Smalltalk) => "/smalltalk",
            Some(Outcome::Handoff) => "/handoff",
            None => "/agent",
        }
    }

    /// A bot or agent message as the document's `replies`: its text, and its buttons if any.
    pub fn replies(text: &str, outcome: Option<Outcome>, buttons: &[Button]) -> Vec<Value> {
        let state = nlp_class(outcome);
        let mut replies = vec![json!({"type": "text", "text": text, "state": state})];
        if !buttons.is_empty() {
            let buttons: Vec<Value> = buttons
                .iter()
                .map(|b| json!({"text": b.title, "payload": b.payload}))
                .collect();
            replies.push(json!({"type": "buttons", "buttons": buttons, "state": state}));
        }
        replies
    }

    /// The webhook's array of `{token, clientId, questionId, data, timestamp, blockForm}`: for
    /// the bot's reply to an asynchronous request, and for an agent's reply, on the Chat API
    /// channel. Replies to synchronous requests were in their response and are not sent again.
    pub(super) fn render(event: &Event, context: &Context) -> Option<Rendered> {
        if event.kind != "message.sent" || context.channel.as_deref() != Some("chatapi") {
            return None;
        }
        let message = message_of(event)?;
        let question = context.question.as_ref()?;
        let client = context.external_id.as_deref()?;
        let wanted = match message.role {
            "bot" => question.answered_by_event && question.asynchronous,
            "agent" => true,
            _ => false,
        };
        if !wanted {
            return None;
        }
        let outcome = if message.role == "agent" {
            None
        } else {
            message.outcome
        };
        let body = json!([{
            "token": context.token_prefix,
            "clientId": client,
            "questionId": question.id,
            "data": {
                "nlpClass": nlp_class(outcome),
                "confidence": message.confidence.unwrap_or(0.0),
                "replies": replies(message.text, outcome, &message.buttons),
                "answer": message.text,
                "newSessionStarted": question.first && question.answered_by_event,
                "debugData": [],
                "endSession": context.conversation_ended,
            },
            "timestamp": timestamp(event.created_at),
            "blockForm": false,
        }]);
        Some(Rendered {
            event: event.kind.clone(),
            body: body.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ConversationId, EventId};

    fn event(kind: &str, data: Value) -> Event {
        Event {
            id: EventId::generate(),
            kind: kind.to_owned(),
            bot_id: None,
            conversation_id: Some(ConversationId::generate()),
            data,
            created_at: time::macros::datetime!(2025-08-09 14:30:00.123456 UTC),
        }
    }

    fn reply(role: &str) -> Event {
        event(
            "message.sent",
            json!({"message": {"id": "msg_r", "role": role, "text": "We're open 9 to 6.", "confidence": 0.95, "outcome": if role == "bot" { json!("answered") } else { Value::Null }, "buttons": []}}),
        )
    }

    fn context(asynchronous: bool, answered: bool) -> Context {
        Context {
            external_id: Some("user_12345".into()),
            phone: Some("+60123456789".into()),
            website_id: Some(3),
            channel: Some("chatapi".into()),
            conversation_ended: false,
            token_prefix: Some("ct_abcde".into()),
            question: Some(Question {
                id: "msg_q".into(),
                text: "What are your business hours?".into(),
                asynchronous,
                first: true,
                answered_by_event: answered,
            }),
        }
    }

    fn body(r: &Rendered) -> Value {
        serde_json::from_str(&r.body).unwrap()
    }

    #[test]
    fn formats_are_parsed_by_name() {
        for f in WebhookFormat::ALL {
            assert_eq!(WebhookFormat::parse(f.as_str()), Some(f));
        }
        assert_eq!(WebhookFormat::parse("AISA"), None);
    }

    #[test]
    fn aisa_message_received_is_the_bot_reply_with_its_question() {
        let r = render(WebhookFormat::Aisa, &reply("bot"), &context(false, true)).unwrap();
        assert_eq!(r.event, "message.received");
        let b = body(&r);
        assert_eq!(b["event"], "message.received");
        assert_eq!(b["timestamp"], "2025-08-09T14:30:00Z");
        assert_eq!(b["data"]["user_id"], "user_12345");
        assert_eq!(b["data"]["phone_number"], "+60123456789");
        assert_eq!(b["data"]["message"], "What are your business hours?");
        assert_eq!(b["data"]["ai_response"], "We're open 9 to 6.");
        assert_eq!(b["data"]["confidence_score"], 0.95);
        // The visitor's message alone and an agent's message are not AISA's message.received.
        let visitor = event(
            "message.received",
            json!({"message": {"role": "visitor", "text": "hi"}}),
        );
        assert!(render(WebhookFormat::Aisa, &visitor, &context(false, true)).is_none());
        assert!(render(WebhookFormat::Aisa, &reply("agent"), &context(false, false)).is_none());
        assert!(render(
            WebhookFormat::Asyntai,
            &reply("agent"),
            &context(false, false)
        )
        .is_none());
    }

    #[test]
    fn aimylogic_gets_replies_to_asynchronous_requests_and_agents_only() {
        assert!(render(
            WebhookFormat::Aimylogic,
            &reply("bot"),
            &context(false, true)
        )
        .is_none());
        let r = render(
            WebhookFormat::Aimylogic,
            &reply("bot"),
            &context(true, true),
        )
        .unwrap();
        let b = body(&r);
        assert_eq!(b[0]["questionId"], "msg_q");
        assert_eq!(b[0]["timestamp"], "2025-08-09T14:30:00.123");
        assert_eq!(b[0]["data"]["nlpClass"], "/answered");
        assert_eq!(b[0]["data"]["newSessionStarted"], true);
        let r = render(
            WebhookFormat::Aimylogic,
            &reply("agent"),
            &context(false, false),
        )
        .unwrap();
        assert_eq!(body(&r)[0]["data"]["nlpClass"], "/agent");
        assert_eq!(body(&r)[0]["data"]["newSessionStarted"], false);
        let mut other = context(true, true);
        other.channel = Some("widget".into());
        assert!(render(WebhookFormat::Aimylogic, &reply("bot"), &other).is_none());
    }
}
