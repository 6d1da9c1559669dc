//! Telegram Bot API: updates arrive at the webhook set with `setWebhook` and carry the
//! `X-Telegram-Bot-Api-Secret-Token` header given then; replies go out with `sendMessage`, quick
//! replies as an inline keyboard whose presses come back as callback queries.
//!
//! Reference: <https://core.telegram.org/bots/api> (`Update`, `setWebhook`, `sendMessage`,
//! `InlineKeyboardMarkup`).

use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sitechat_core::model::Message;

use super::{
    button_payload, clip, clip_bytes, text_with_sources, Content, Inbound, Platform, PlatformUser,
    SendRequest,
};

/// Where the Bot API lives unless a channel says otherwise (tests point it at a local fake).
pub const DEFAULT_API_BASE: &str = "https://api.telegram.org";
/// `sendMessage` takes at most 4096 characters of text.
const MAX_TEXT: usize = 4096;
/// An inline button's `callback_data` is at most 64 bytes.
const MAX_CALLBACK_BYTES: usize = 64;
/// Buttons sent with one message (one per row).
const MAX_BUTTONS: usize = 10;
/// The secret token header Telegram sends with each update.
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// What is sealed.
#[derive(Serialize, Deserialize)]
pub struct Credentials {
    pub bot_token: String,
    /// Given to `setWebhook`; every update carries it.
    pub secret_token: String,
}

/// What may be shown.
#[derive(Serialize, Deserialize)]
pub struct Settings {
    pub api_base: String,
    pub webhook_url: String,
}

pub struct Telegram {
    api_base: String,
    credentials: Credentials,
}

impl Telegram {
    pub fn open(settings: &Value, credentials: &str) -> Result<Self, String> {
        let settings: Settings =
            serde_json::from_value(settings.clone()).map_err(|e| e.to_string())?;
        Ok(Telegram {
            api_base: settings.api_base,
            credentials: serde_json::from_str(credentials).map_err(|e| e.to_string())?,
        })
    }

    pub fn new(api_base: &str, credentials: Credentials) -> Self {
        Telegram {
            api_base: api_base.trim_end_matches('/').to_owned(),
            credentials,
        }
    }

    /// The URL of a Bot API method.
    pub fn method_url(&self, method: &str) -> String {
        format!(
            "{}/bot{}/{method}",
            self.api_base, self.credentials.bot_token
        )
    }

    /// The `setWebhook` call that points the bot's updates at `url`.
    pub fn set_webhook(&self, url: &str) -> SendRequest {
        SendRequest {
            url: self.method_url("setWebhook"),
            bearer: None,
            body: json!({
                "url": url,
                "secret_token": self.credentials.secret_token,
                "allowed_updates": ["message", "callback_query"],
            }),
        }
    }
}

#[derive(Deserialize)]
struct Update {
    update_id: i64,
    message: Option<TgMessage>,
    callback_query: Option<CallbackQuery>,
}

#[derive(Deserialize)]
struct TgMessage {
    chat: Chat,
    from: Option<User>,
    text: Option<String>,
    #[serde(flatten)]
    rest: serde_json::Map<String, Value>,
}

#[derive(Deserialize)]
struct Chat {
    id: i64,
}

#[derive(Deserialize)]
struct User {
    id: i64,
    first_name: Option<String>,
    last_name: Option<String>,
}

#[derive(Deserialize)]
struct CallbackQuery {
    id: String,
    from: User,
    message: Option<CallbackMessage>,
    data: Option<String>,
}

#[derive(Deserialize)]
struct CallbackMessage {
    chat: Chat,
}

fn name_of(user: Option<&User>) -> Option<String> {
    let user = user?;
    let name = [user.first_name.as_deref(), user.last_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    (!name.trim().is_empty()).then_some(name)
}

/// The kinds of Telegram messages named in the polite refusal, by their field.
const KINDS: &[(&str, &str)] = &[
    ("photo", "photo"),
    ("voice", "voice"),
    ("audio", "audio"),
    ("video", "video"),
    ("video_note", "video"),
    ("document", "file"),
    ("sticker", "sticker"),
    ("animation", "GIF"),
    ("location", "location"),
    ("contact", "contact"),
    ("poll", "poll"),
];

impl Platform for Telegram {
    fn verify(&self, headers: &HeaderMap, _body: &[u8]) -> bool {
        use subtle::ConstantTimeEq;
        headers
            .get(SECRET_HEADER)
            .map(|v| bool::from(v.as_bytes().ct_eq(self.credentials.secret_token.as_bytes())))
            .unwrap_or(false)
    }

    fn parse(&self, body: &[u8]) -> Result<Vec<Inbound>, String> {
        let update: Update =
            serde_json::from_slice(body).map_err(|e| format!("not a Telegram update: {e}"))?;
        let platform_id = format!("update:{}", update.update_id);
        if let Some(query) = update.callback_query {
            let chat = query.message.as_ref().map_or(query.from.id, |m| m.chat.id);
            let acknowledge = Inbound::Acknowledge(SendRequest {
                url: self.method_url("answerCallbackQuery"),
                bearer: None,
                body: json!({"callback_query_id": query.id}),
            });
            let Some(data) = query.data.filter(|d| !d.trim().is_empty()) else {
                return Ok(vec![acknowledge]);
            };
            return Ok(vec![
                acknowledge,
                Inbound::Message {
                    platform_id,
                    user: PlatformUser {
                        id: chat.to_string(),
                        name: name_of(Some(&query.from)),
                        phone: None,
                    },
                    content: Content::Text(data),
                },
            ]);
        }
        let Some(message) = update.message else {
            // Edits, channel posts and other updates sitechat did not ask for.
            return Ok(Vec::new());
        };
        let content = match message.text {
            Some(text) if !text.trim().is_empty() => Content::Text(text),
            _ => Content::Unsupported(
                KINDS
                    .iter()
                    .find(|(field, _)| message.rest.contains_key(*field))
                    .map_or("these", |(_, name)| name)
                    .to_owned(),
            ),
        };
        Ok(vec![Inbound::Message {
            platform_id,
            user: PlatformUser {
                id: message.chat.id.to_string(),
                name: name_of(message.from.as_ref()),
                phone: None,
            },
            content,
        }])
    }

    fn render(&self, to: &str, message: &Message) -> SendRequest {
        let mut body = json!({
            "chat_id": to,
            "text": clip(&text_with_sources(message), MAX_TEXT),
        });
        if !message.buttons.is_empty() {
            let rows: Vec<Value> = message
                .buttons
                .iter()
                .take(MAX_BUTTONS)
                .map(|b| {
                    json!([{
                        "text": b.title,
                        "callback_data": clip_bytes(button_payload(b), MAX_CALLBACK_BYTES),
                    }])
                })
                .collect();
            body["reply_markup"] = json!({ "inline_keyboard": rows });
        }
        SendRequest {
            url: self.method_url("sendMessage"),
            bearer: None,
            body,
        }
    }

    fn sent_id(&self, answer: &Value) -> Option<String> {
        answer["result"]["message_id"]
            .as_i64()
            .map(|id| id.to_string())
    }

    fn retry_after(&self, answer: &Value) -> Option<std::time::Duration> {
        answer["parameters"]["retry_after"]
            .as_u64()
            .map(std::time::Duration::from_secs)
    }

    fn disconnect(&self) -> Option<SendRequest> {
        Some(SendRequest {
            url: self.method_url("deleteWebhook"),
            bearer: None,
            body: json!({}),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn telegram() -> Telegram {
        Telegram::new(
            "https://api.telegram.org/",
            Credentials {
                bot_token: "123:ABC".to_owned(),
                secret_token: "s3cret".to_owned(),
            },
        )
    }

    #[test]
    fn only_the_secret_token_given_to_set_webhook_is_accepted() {
        let t = telegram();
        let mut headers = HeaderMap::new();
        assert!(!t.verify(&headers, b"{}"));
        headers.insert(SECRET_HEADER, "wrong".parse().unwrap());
        assert!(!t.verify(&headers, b"{}"));
        headers.insert(SECRET_HEADER, "s3cret".parse().unwrap());
        assert!(t.verify(&headers, b"{}"));
        assert_eq!(
            t.set_webhook("https://x/y").url,
            "https://api.telegram.org/bot123:ABC/setWebhook"
        );
    }

    #[test]
    fn a_text_a_callback_and_a_photo_are_read() {
        let t = telegram();
        let text = br#"{"update_id": 7, "message": {"message_id": 1, "date": 0, "chat": {"id": 42, "type": "private"}, "from": {"id": 42, "is_bot": false, "first_name": "Ada", "last_name": "L"}, "text": "hi"}}"#;
        assert_eq!(
            t.parse(text).unwrap(),
            vec![Inbound::Message {
                platform_id: "update:7".to_owned(),
                user: PlatformUser {
                    id: "42".to_owned(),
                    name: Some("Ada L".to_owned()),
                    phone: None
                },
                content: Content::Text("hi".to_owned()),
            }]
        );
        let callback = br#"{"update_id": 8, "callback_query": {"id": "c1", "from": {"id": 42, "is_bot": false, "first_name": "Ada"}, "message": {"message_id": 2, "date": 0, "chat": {"id": 42, "type": "private"}}, "chat_instance": "x", "data": "Talk to a person"}}"#;
        let pressed = t.parse(callback).unwrap();
        assert!(matches!(&pressed[0],
            Inbound::Acknowledge(r) if r.url.ends_with("/answerCallbackQuery") && r.body["callback_query_id"] == "c1"));
        assert!(matches!(&pressed[1],
            Inbound::Message { content: Content::Text(t), .. } if t == "Talk to a person"));
        let photo = br#"{"update_id": 9, "message": {"message_id": 3, "date": 0, "chat": {"id": 42, "type": "private"}, "photo": [{"file_id": "f"}]}}"#;
        assert!(matches!(&t.parse(photo).unwrap()[0],
            Inbound::Message { content: Content::Unsupported(k), .. } if k == "photo"));
        assert!(t.parse(b"not json").is_err());
    }
}
