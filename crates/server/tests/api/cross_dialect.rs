//! One bot, five ways in: trained through AISA, asked through AskIA's public widget and
//! Aimylogic's Chat API token URL, its history read through Asyntai and the native API. The
//! objects are shared: every dialect sees what the others did, and one conversation reaches an
//! AISA webhook and an Aimylogic webhook each in its own format.

use crate::common;

use std::time::Duration;

use common::{
    receiver::Receiver,
    site::{html_page, Site},
    TestApp,
};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn site() -> String {
    let site = Site::default();
    site.set(
        "",
        "text/html",
        html_page(
            "Kedai Kopi",
            "Opening hours",
            "Our café is open every day from 8 AM to 10 PM. On public holidays we close at 6 PM.",
            &["menu"],
        ),
    );
    site.set(
        "menu",
        "text/html",
        html_page(
            "Menu",
            "Drinks",
            "A flat white costs 12 ringgit. Iced kopi costs 6 ringgit.",
            &[""],
        ),
    );
    let addr = site.serve().await;
    std::mem::forget(site);
    format!("http://{addr}/")
}

#[tokio::test]
async fn train_through_aisa_chat_through_askia_and_aimylogic_read_through_asyntai_and_native() {
    let url = site().await;
    let (aisa_hook, aisa_addr) = Receiver::start().await;
    let (aimylogic_hook, aimylogic_addr) = Receiver::start().await;
    let app = TestApp::start_with(|c| {
        c.allow_private_networks = true;
        c.allow_http_webhooks = true;
        c.crawl.delay_ms = 0;
    })
    .await;
    let key = app.create_account("pro").await;
    // An AISA client configures its webhook.
    let r = app
        .post(
            "/compat/aisa/v1/webhooks/configure",
            &key,
            json!({"url": format!("http://{aisa_addr}/hook"), "events": ["message.received"], "secret": "your_webhook_secret"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);

    // Train through AISA.
    let r = app
        .post(
            "/compat/aisa/v1/chatbot/create",
            &key,
            json!({"website_url": url, "chatbot_name": "Kedai Kopi", "language": "en"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let bot = r.body["chatbot_id"].as_str().unwrap().to_owned();
    let mut trained = Value::Null;
    for _ in 0..300 {
        trained = app
            .get(&format!("/compat/aisa/v1/chatbot/{bot}"), &key)
            .await
            .body;
        if trained["training_status"] != "in_progress" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(trained["training_status"], "completed", "{trained}");

    // The owner opens the public widget and gets a Chat API token, through the native API.
    let r = app
        .patch(
            &format!("/v1/bots/{bot}"),
            &key,
            json!({"settings": {"public_widget": true}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = app
        .post(&format!("/v1/bots/{bot}/chat-api-token"), &key, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let token = r.body["chat_api_token"].as_str().unwrap().to_owned();

    // Chat through AskIA's widget endpoint (no key).
    let r = TestApp::read(
        app.client
            .request(
                Method::POST,
                format!("{}/compat/askia/api/widget/chat", app.base),
            )
            .json(&json!({"botId": bot, "message": "How much is a flat white?"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        r.body["reply"].as_str().unwrap().contains("12 ringgit"),
        "{}",
        r.text
    );
    let widget_conversation = r.body["conversationId"].as_str().unwrap().to_owned();

    // Chat through Aimylogic's token URL (no key), as client `kopi-fan`.
    let r = app
        .request(
            Method::POST,
            &format!("/compat/aimylogic/chatapi/{token}"),
            None,
            Some(json!({"clientId": "kopi-fan", "query": "When are you open?"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let answer = r.body["data"]["answer"].as_str().unwrap();
    assert!(answer.contains("8 AM to 10 PM"), "{answer}");

    // Asyntai reads the Aimylogic client's session by its key, and sees the bot as a website.
    let r = app
        .get(
            "/compat/asyntai/api/v1/conversations/?session_id=kopi-fan",
            &key,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let messages = r.body["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2, "{}", r.text);
    assert_eq!(messages[0]["role"], "user");
    assert_eq!(messages[0]["content"], "When are you open?");
    assert_eq!(messages[1]["role"], "assistant");
    assert_eq!(messages[1]["content"], answer);
    let r = app.get("/compat/asyntai/api/v1/sessions/", &key).await;
    let sessions = r.body["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2, "{}", r.text);
    assert!(sessions
        .iter()
        .any(|s| s["session_id"] == "kopi-fan" && s["source"] == "chatapi"));

    // The native API sees both conversations, with their channels and messages.
    let r = app
        .get(&format!("/v1/conversations?bot_id={bot}"), &key)
        .await;
    let conversations = r.body["data"].as_array().unwrap();
    assert_eq!(conversations.len(), 2, "{}", r.text);
    let channels: Vec<&str> = conversations
        .iter()
        .map(|c| c["channel"].as_str().unwrap())
        .collect();
    assert!(
        channels.contains(&"widget") && channels.contains(&"chatapi"),
        "{channels:?}"
    );
    let r = app
        .get(
            &format!("/v1/conversations/{widget_conversation}/messages"),
            &key,
        )
        .await;
    let texts: Vec<&str> = r.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts[0], "How much is a flat white?");
    assert!(texts[1].contains("12 ringgit"));

    // AISA's history of the Aimylogic client, and Aimylogic's history, agree.
    let r = app
        .get("/compat/aisa/v1/message/history?user_id=kopi-fan", &key)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["total_count"], 1, "{}", r.text);
    assert_eq!(r.body["messages"][0]["user_message"], "When are you open?");
    assert_eq!(r.body["messages"][0]["ai_response"], answer);
    let r = app
        .request(
            Method::GET,
            &format!("/compat/aimylogic/chatapi/{token}/client/kopi-fan/history"),
            None,
            None,
        )
        .await;
    assert_eq!(
        r.body["messages"].as_array().unwrap().len(),
        2,
        "{}",
        r.text
    );

    // The Aimylogic channel's webhook (a native endpoint in Aimylogic's format), then an
    // asynchronous request in the same conversation: the AISA webhook gets AISA's payload and
    // the Aimylogic webhook the document's array, for the same exchange.
    let r = app
        .post(
            "/v1/webhooks",
            &key,
            json!({"url": format!("http://{aimylogic_addr}/hook"), "format": "aimylogic", "bot_id": bot}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = app
        .request(
            Method::POST,
            &format!("/compat/aimylogic/chatapi/{token}/async"),
            None,
            Some(json!({"clientId": "kopi-fan", "query": "How much is iced kopi?"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let question = r.body["questionId"].as_str().unwrap().to_owned();
    let item = aimylogic_hook
        .wait_until("Aimylogic's async reply", |b| {
            b[0]["questionId"] == question.as_str()
        })
        .await
        .json()[0]
        .clone();
    assert_eq!(item["clientId"], "kopi-fan");
    let reply = item["data"]["answer"].as_str().unwrap().to_owned();
    assert!(reply.contains("6 ringgit"), "{item}");
    let aisa = aisa_hook
        .wait_until("AISA's message.received of the async request", |b| {
            b["event"] == "message.received" && b["data"]["message"] == "How much is iced kopi?"
        })
        .await;
    assert!(aisa.signed_with("your_webhook_secret"));
    let aisa = aisa.json();
    assert_eq!(aisa["data"]["user_id"], "kopi-fan", "{aisa}");
    assert_eq!(aisa["data"]["ai_response"], reply.as_str(), "{aisa}");
    // The AISA webhook also had the synchronous exchange; the Aimylogic one only the async reply.
    let aisa_messages: Vec<Value> = aisa_hook
        .bodies()
        .into_iter()
        .filter(|b| b["event"] == "message.received" && b["data"]["user_id"] == "kopi-fan")
        .collect();
    assert_eq!(aisa_messages.len(), 2, "{aisa_messages:?}");
    assert_eq!(
        aimylogic_hook.bodies().len(),
        1,
        "{:?}",
        aimylogic_hook.bodies()
    );
}
