//! ChatAIBot dialect contract tests: the two documented requests of `seeds/001` (ids and keys
//! adapted), every documented response field and its type, the reply delivered to the account's
//! webhooks, and errors.

use crate::common;

use common::{receiver::Receiver, TestApp, SHOP_FAQ};
use reqwest::StatusCode;
use serde_json::json;

const BASE: &str = "/compat/chataibot/api/v1";

#[tokio::test]
async fn start_conversation_then_send_visitor_messages_with_replies_on_webhooks() {
    let (receiver, addr) = Receiver::start().await;
    let app = TestApp::start_with(|c| {
        c.allow_private_networks = true;
        c.allow_http_webhooks = true;
    })
    .await;
    let key = app.create_account("pro").await;
    let bot = app.post("/v1/bots", &key, json!({"name": "Shop"})).await;
    let bot_id = bot.body["id"].as_str().unwrap().to_owned();
    let bot_key = bot.body["bot_key"].as_str().unwrap().to_owned();
    assert!(bot_key.starts_with("bk_"));
    app.add_text(&key, &bot_id, "FAQ", SHOP_FAQ).await;
    let hook = app
        .post(
            "/v1/webhooks",
            &key,
            json!({"url": format!("http://{addr}/hook"), "events": ["message.sent"]}),
        )
        .await;
    assert_eq!(hook.status, StatusCode::CREATED, "{}", hook.text);

    let r = app
        .post(
            &format!("{BASE}/conversations"),
            &key,
            json!({
                "channel": "API",
                "message": {"data": {"body": "Hello"}, "type": "text"},
                "variables": {
                    "system": {"timezone": "Asia/Calcutta", "referrerUrl": "https://chataibot.io", "browserLanguage": "en-GB"},
                    "contact": {"name": "User Name", "email": "example@domain.com", "phone": "1234567890"},
                    "conversation": {"variable": "value"}
                },
                "bot_key": bot_key,
                "from": {"user_external_id": "visitor-1", "type": "VISITOR"}
            }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["ok"], true);
    let conversation = r.body["conversation"]["id"].as_str().unwrap().to_owned();
    let created = r.body["conversation"]["created_at"].as_str().unwrap();
    assert!(
        created.len() == 26 && created.as_bytes()[10] == b' ',
        "{created}"
    );
    assert_eq!(r.body["conversation"]["assignee"]["id"], "bot");
    assert!(
        r.body["conversation"]["assignee"]["to"].is_null(),
        "{}",
        r.text
    );
    assert_eq!(r.body["contact"]["name"], "User Name");
    assert_eq!(r.body["contact"]["email"], "example@domain.com");
    assert_eq!(r.body["contact"]["phone"], "1234567890");
    assert!(r.body["contact"]["visitor_key"]
        .as_str()
        .unwrap()
        .starts_with("visitor-1_acc_"));

    let native = app
        .get(&format!("/v1/conversations/{conversation}"), &key)
        .await;
    assert_eq!(native.body["channel"], "api");
    assert_eq!(native.body["variables"], json!({"variable": "value"}));
    let contact = app
        .get(
            &format!(
                "/v1/contacts/{}",
                native.body["contact_id"].as_str().unwrap()
            ),
            &key,
        )
        .await;
    assert_eq!(
        contact.body["variables"]["system"]["timezone"],
        "Asia/Calcutta"
    );

    let r = app
        .post(&format!("{BASE}/conversation/{conversation}/messages"), &key, json!({"message": {"data": {"body": "Is delivery free?"}, "type": "text"}, "user": {"type": "VISITOR"}}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["ok"], true);
    assert!(r.body["message_id"].as_str().unwrap().starts_with("msg_"));

    // The bot's replies reach the account's webhooks.
    for _ in 0..200 {
        let replies: Vec<String> = receiver
            .received
            .lock()
            .unwrap()
            .iter()
            .map(|d| {
                d.json()["data"]["message"]["text"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned()
            })
            .collect();
        if replies
            .iter()
            .any(|t| t.contains("free for orders over 50 euros"))
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the bot's reply was not delivered to the webhook");
}

#[tokio::test]
async fn errors_say_what_to_fix() {
    let app = TestApp::start().await;
    let key = app.create_account("pro").await;
    let r = app
        .post(
            &format!("{BASE}/conversations"),
            &key,
            json!({"bot_key": "bk_nope", "from": {"user_external_id": "v"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.body["ok"], false);
    assert_eq!(r.body["error"]["code"], "RESOURCE_NOT_FOUND");
    let bot = app.post("/v1/bots", &key, json!({"name": "Shop"})).await;
    let bot_key = bot.body["bot_key"].as_str().unwrap();
    let r = app
        .post(
            &format!("{BASE}/conversations"),
            &key,
            json!({"bot_key": bot_key}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("from"),
        "{}",
        r.text
    );
    let r = app.post(&format!("{BASE}/conversations"), &key, json!({"bot_key": bot_key, "from": {"user_external_id": "v"}, "message": {"data": {"body": "x"}, "type": "image"}})).await;
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("only `text`"),
        "{}",
        r.text
    );
    let r = app
        .post(
            &format!("{BASE}/conversation/conv_doesnotexist0000000/messages"),
            &key,
            json!({"message": {"data": {"body": "hi"}, "type": "text"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let other = app.create_account("pro").await;
    let r = app
        .post(
            &format!("{BASE}/conversations"),
            &other,
            json!({"bot_key": bot_key, "from": {"user_external_id": "v"}}),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "another tenant's bot_key is not found"
    );
    let r = app
        .request(
            reqwest::Method::POST,
            &format!("{BASE}/conversations"),
            None,
            Some(json!({})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.body["error"]["code"], "INVALID_API_KEY");
}
