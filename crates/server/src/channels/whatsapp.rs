//! WhatsApp Cloud API: Meta verifies the webhook with a `GET` (`hub.mode`, `hub.verify_token`,
//! `hub.challenge`), then POSTs messages and statuses signed with `X-Hub-Signature-256` (the
//! HMAC-SHA256 of the raw body under the app secret). Replies go to
//! `POST {graph_base}/{version}/{phone_number_id}/messages`; quick replies become reply buttons
//! (up to 3) or a list (up to 10).
//!
//! Reference: <https://developers.facebook.com/docs/whatsapp/cloud-api> (webhooks payloads,
//! messages, interactive messages).

use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sitechat_core::model::{Message, MessageStatus};

use super::{
    button_payload, clip, text_with_sources, Content, Inbound, Platform, PlatformUser, SendRequest,
};

pub const DEFAULT_GRAPH_BASE: &str = "https://graph.facebook.com";
pub const DEFAULT_API_VERSION: &str = "v21.0";
pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";
/// A text message's body: at most 4096 characters.
const MAX_TEXT: usize = 4096;
/// An interactive message's body: at most 1024 characters.
const MAX_INTERACTIVE_TEXT: usize = 1024;
/// Reply buttons: at most 3, titles of at most 20 characters.
const MAX_REPLY_BUTTONS: usize = 3;
const MAX_BUTTON_TITLE: usize = 20;
/// List rows: at most 10, titles of at most 24 characters.
const MAX_LIST_ROWS: usize = 10;
const MAX_ROW_TITLE: usize = 24;
/// Ids of buttons and rows: at most 256 characters.
const MAX_ID: usize = 256;
/// How long after the customer's last message a business may write freely.
pub const SERVICE_WINDOW: time::Duration = time::Duration::hours(24);

/// What is sealed.
#[derive(Serialize, Deserialize)]
pub struct Credentials {
    pub access_token: String,
    pub app_secret: String,
    pub verify_token: String,
}

/// What may be shown.
#[derive(Serialize, Deserialize)]
pub struct Settings {
    pub graph_base: String,
    pub api_version: String,
    pub phone_number_id: String,
    pub webhook_url: String,
}

pub struct WhatsApp {
    settings: Settings,
    credentials: Credentials,
}

impl WhatsApp {
    pub fn open(settings: &Value, credentials: &str) -> Result<Self, String> {
        Ok(WhatsApp {
            settings: serde_json::from_value(settings.clone()).map_err(|e| e.to_string())?,
            credentials: serde_json::from_str(credentials).map_err(|e| e.to_string())?,
        })
    }

    /// Whether a verification request's token is the channel's.
    pub fn verify_token_matches(&self, token: &str) -> bool {
        use subtle::ConstantTimeEq;
        bool::from(
            token
                .as_bytes()
                .ct_eq(self.credentials.verify_token.as_bytes()),
        )
    }
}

/// `sha256=` and the hex HMAC-SHA256 of `body` under `secret`: the `X-Hub-Signature-256` value.
pub fn signature(secret: &str, body: &[u8]) -> String {
    format!(
        "sha256={}",
        hex::encode(crate::secrets::hmac_sha256(secret.as_bytes(), body))
    )
}

#[derive(Deserialize)]
struct Notification {
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    changes: Vec<Change>,
}

#[derive(Deserialize)]
struct Change {
    value: ChangeValue,
}

#[derive(Deserialize)]
struct ChangeValue {
    #[serde(default)]
    contacts: Vec<WaContact>,
    #[serde(default)]
    messages: Vec<Value>,
    #[serde(default)]
    statuses: Vec<WaStatus>,
}

#[derive(Deserialize)]
struct WaContact {
    wa_id: String,
    profile: Option<Profile>,
}

#[derive(Deserialize)]
struct Profile {
    name: Option<String>,
}

#[derive(Deserialize)]
struct WaStatus {
    id: String,
    status: String,
    #[serde(default)]
    errors: Vec<Value>,
}

/// The text a message of a kind sitechat reads carries, or the name of a kind it cannot read.
fn content_of(message: &Value) -> Content {
    let kind = message["type"].as_str().unwrap_or("unknown");
    let text = match kind {
        "text" => message["text"]["body"].as_str(),
        "interactive" => match message["interactive"]["type"].as_str() {
            Some("button_reply") => message["interactive"]["button_reply"]["id"].as_str(),
            Some("list_reply") => message["interactive"]["list_reply"]["id"].as_str(),
            _ => None,
        },
        // A template's quick-reply button.
        "button" => message["button"]["payload"]
            .as_str()
            .or(message["button"]["text"].as_str()),
        _ => None,
    };
    match text.filter(|t| !t.trim().is_empty()) {
        Some(text) => Content::Text(text.to_owned()),
        None => Content::Unsupported(
            match kind {
                "image" => "image",
                "audio" => "voice or audio",
                "video" => "video",
                "document" => "file",
                "sticker" => "sticker",
                "location" => "location",
                "contacts" => "contact card",
                "reaction" => "reaction",
                _ => "these",
            }
            .to_owned(),
        ),
    }
}

impl Platform for WhatsApp {
    fn verify(&self, headers: &HeaderMap, body: &[u8]) -> bool {
        use subtle::ConstantTimeEq;
        let Some(given) = headers.get(SIGNATURE_HEADER) else {
            return false;
        };
        let expected = signature(&self.credentials.app_secret, body);
        bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
    }

    fn parse(&self, body: &[u8]) -> Result<Vec<Inbound>, String> {
        let notification: Notification = serde_json::from_slice(body)
            .map_err(|e| format!("not a WhatsApp webhook notification: {e}"))?;
        let mut inbound = Vec::new();
        for change in notification.entry.into_iter().flat_map(|e| e.changes) {
            let value = change.value;
            for message in &value.messages {
                let (Some(id), Some(from)) = (message["id"].as_str(), message["from"].as_str())
                else {
                    continue;
                };
                // A reaction to one of our messages is no message to answer.
                if message["type"] == "reaction" {
                    continue;
                }
                let name = value
                    .contacts
                    .iter()
                    .find(|c| c.wa_id == from)
                    .and_then(|c| c.profile.as_ref()?.name.clone());
                let digits: String = from.chars().filter(char::is_ascii_digit).collect();
                inbound.push(Inbound::Message {
                    platform_id: id.to_owned(),
                    user: PlatformUser {
                        id: from.to_owned(),
                        name,
                        phone: (!digits.is_empty()).then(|| format!("+{digits}")),
                    },
                    content: content_of(message),
                });
            }
            for status in value.statuses {
                let mapped = match status.status.as_str() {
                    "sent" => MessageStatus::Sent,
                    "delivered" => MessageStatus::Delivered,
                    "read" => MessageStatus::Read,
                    "failed" => MessageStatus::NotSent,
                    _ => continue,
                };
                let error = status.errors.first().map(|e| {
                    format!(
                        "WhatsApp error {}: {}",
                        e["code"],
                        e["title"].as_str().unwrap_or("failed")
                    )
                });
                inbound.push(Inbound::Status {
                    platform_message_id: status.id,
                    status: mapped,
                    error,
                });
            }
        }
        Ok(inbound)
    }

    fn render(&self, to: &str, message: &Message) -> SendRequest {
        let text = text_with_sources(message);
        let mut body = json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
        });
        let buttons = &message.buttons;
        if buttons.is_empty() {
            body["type"] = json!("text");
            body["text"] = json!({"preview_url": false, "body": clip(&text, MAX_TEXT)});
        } else if buttons.len() <= MAX_REPLY_BUTTONS {
            body["type"] = json!("interactive");
            body["interactive"] = json!({
                "type": "button",
                "body": {"text": clip(&text, MAX_INTERACTIVE_TEXT)},
                "action": {"buttons": buttons.iter().map(|b| json!({
                    "type": "reply",
                    "reply": {"id": clip(button_payload(b), MAX_ID), "title": clip(&b.title, MAX_BUTTON_TITLE)},
                })).collect::<Vec<_>>()},
            });
        } else {
            body["type"] = json!("interactive");
            body["interactive"] = json!({
                "type": "list",
                "body": {"text": clip(&text, MAX_INTERACTIVE_TEXT)},
                "action": {
                    "button": "Options",
                    "sections": [{"title": "Options", "rows": buttons.iter().take(MAX_LIST_ROWS).map(|b| json!({
                        "id": clip(button_payload(b), MAX_ID),
                        "title": clip(&b.title, MAX_ROW_TITLE),
                    })).collect::<Vec<_>>()}],
                },
            });
        }
        SendRequest {
            url: format!(
                "{}/{}/{}/messages",
                self.settings.graph_base.trim_end_matches('/'),
                self.settings.api_version,
                self.settings.phone_number_id
            ),
            bearer: Some(self.credentials.access_token.clone()),
            body,
        }
    }

    fn sent_id(&self, answer: &Value) -> Option<String> {
        answer["messages"][0]["id"].as_str().map(str::to_owned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sitechat_core::model::Button;

    fn whatsapp() -> WhatsApp {
        WhatsApp {
            settings: Settings {
                graph_base: "https://graph.facebook.com".to_owned(),
                api_version: "v21.0".to_owned(),
                phone_number_id: "106540352242922".to_owned(),
                webhook_url: "https://x/y".to_owned(),
            },
            credentials: Credentials {
                access_token: "EAAG".to_owned(),
                app_secret: "appsecret".to_owned(),
                verify_token: "vt".to_owned(),
            },
        }
    }

    #[test]
    fn only_a_body_signed_with_the_app_secret_is_accepted() {
        let w = whatsapp();
        let body = br#"{"object":"whatsapp_business_account","entry":[]}"#;
        let mut headers = HeaderMap::new();
        assert!(!w.verify(&headers, body));
        headers.insert(SIGNATURE_HEADER, signature("other", body).parse().unwrap());
        assert!(!w.verify(&headers, body));
        headers.insert(
            SIGNATURE_HEADER,
            signature("appsecret", body).parse().unwrap(),
        );
        assert!(w.verify(&headers, body));
        assert!(!w.verify(&headers, b"{}"), "the signature covers the body");
    }

    #[test]
    fn texts_replies_statuses_and_images_are_read() {
        let body = br#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
            "messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001","phone_number_id":"1065"},
            "contacts":[{"profile":{"name":"Kerry"},"wa_id":"16315551234"}],
            "messages":[
              {"from":"16315551234","id":"wamid.1","timestamp":"1","type":"text","text":{"body":"hours?"}},
              {"from":"16315551234","id":"wamid.2","timestamp":"1","type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"Returns","title":"Returns"}}},
              {"from":"16315551234","id":"wamid.3","timestamp":"1","type":"interactive","interactive":{"type":"list_reply","list_reply":{"id":"Shipping","title":"Shipping"}}},
              {"from":"16315551234","id":"wamid.4","timestamp":"1","type":"image","image":{"id":"m"}}],
            "statuses":[{"id":"wamid.out","status":"read","timestamp":"1","recipient_id":"16315551234"}]}}]}]}"#;
        let read = whatsapp().parse(body).unwrap();
        assert_eq!(read.len(), 5);
        assert_eq!(
            read[0],
            Inbound::Message {
                platform_id: "wamid.1".to_owned(),
                user: PlatformUser {
                    id: "16315551234".to_owned(),
                    name: Some("Kerry".to_owned()),
                    phone: Some("+16315551234".to_owned())
                },
                content: Content::Text("hours?".to_owned()),
            }
        );
        assert!(
            matches!(&read[1], Inbound::Message { content: Content::Text(t), .. } if t == "Returns")
        );
        assert!(
            matches!(&read[2], Inbound::Message { content: Content::Text(t), .. } if t == "Shipping")
        );
        assert!(
            matches!(&read[3], Inbound::Message { content: Content::Unsupported(k), .. } if k == "image")
        );
        assert_eq!(
            read[4],
            Inbound::Status {
                platform_message_id: "wamid.out".to_owned(),
                status: MessageStatus::Read,
                error: None
            }
        );
    }

    #[test]
    fn buttons_become_reply_buttons_up_to_three_and_a_list_beyond() {
        let w = whatsapp();
        let mut m = crate::channels::sample_message("Pick one", &[]);
        let plain = w.render("16315551234", &m);
        assert_eq!(
            plain.url,
            "https://graph.facebook.com/v21.0/106540352242922/messages"
        );
        assert_eq!(plain.body["type"], "text");
        m.buttons = vec![Button {
            title: "Talk to a person, please, right now".to_owned(),
            payload: None,
        }];
        let one = w.render("16315551234", &m);
        assert_eq!(one.body["interactive"]["type"], "button");
        let title = one.body["interactive"]["action"]["buttons"][0]["reply"]["title"]
            .as_str()
            .unwrap();
        assert!(title.chars().count() <= 20, "{title}");
        m.buttons = (0..5)
            .map(|i| Button {
                title: format!("Topic {i}"),
                payload: None,
            })
            .collect();
        let list = w.render("16315551234", &m);
        assert_eq!(list.body["interactive"]["type"], "list");
        assert_eq!(
            list.body["interactive"]["action"]["sections"][0]["rows"]
                .as_array()
                .unwrap()
                .len(),
            5
        );
    }
}
