//! The public visitor API (`/v1/public`): what a website's chat widget calls with no key. A
//! visitor token opens its own conversation and nothing else; only public bots answer, and only
//! to their allowed origins.

use crate::common;

use common::{TestApp, SHOP_FAQ};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const SHOP: &str = "https://shop.example";

/// A request without a key, from a page of `origin`, with a visitor token if given.
async fn visit(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    origin: Option<&str>,
    body: Option<Value>,
) -> common::Response {
    let mut request = app.client.request(method, format!("{}{path}", app.base));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    TestApp::read(request.send().await.unwrap()).await
}

/// A public bot that knows the shop's FAQ, and its owner's key.
async fn public_bot(app: &TestApp, origins: Value) -> (String, String) {
    let key = app.create_account("pro").await;
    let bot = app.create_bot(&key, "Hazel Shop").await;
    app.add_text(&key, &bot, "FAQ", SHOP_FAQ).await;
    let r = app
        .patch(
            &format!("/v1/bots/{bot}"),
            &key,
            json!({"settings": {"public_widget": true, "allowed_origins": origins}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    (key, bot)
}

/// Starts a visitor's conversation: its id and token.
async fn start(app: &TestApp, bot: &str) -> (String, String) {
    let r = visit(
        app,
        Method::POST,
        &format!("/v1/public/bots/{bot}/conversations"),
        None,
        Some(SHOP),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert!(r.body["token"].as_str().unwrap().starts_with("vt1."));
    assert_eq!(r.body["status"], "bot", "{}", r.text);
    (
        r.body["conversation_id"].as_str().unwrap().to_owned(),
        r.body["token"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn a_visitor_chats_reads_the_conversation_again_and_gets_streamed_replies() {
    let app = TestApp::start().await;
    let (_, bot) = public_bot(&app, json!([])).await;
    let r = visit(
        &app,
        Method::GET,
        &format!("/v1/public/bots/{bot}"),
        None,
        Some(SHOP),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["name"], "Hazel Shop");
    assert_eq!(r.body["open"], true);
    assert_eq!(r.headers["access-control-allow-origin"], SHOP);

    let (conversation, token) = start(&app, &bot).await;
    let path = format!("/v1/public/conversations/{conversation}");
    let r = visit(
        &app,
        Method::POST,
        &format!("{path}/messages"),
        Some(&token),
        Some(SHOP),
        Some(json!({"message": "How long do refunds take?"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["outcome"], "answered", "{}", r.text);
    assert!(
        r.body["reply"]
            .as_str()
            .unwrap()
            .contains("5 business days"),
        "{}",
        r.text
    );
    assert!(!r.body["sources"].as_array().unwrap().is_empty());

    // After a reload: the conversation with both messages.
    let r = visit(&app, Method::GET, &path, Some(&token), Some(SHOP), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["status"], "bot");
    let roles: Vec<&str> = r.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["visitor", "bot"], "{}", r.text);

    // Streamed: delta events, then done with the whole response.
    let response = app
        .client
        .post(format!("{}{path}/messages", app.base))
        .bearer_auth(&token)
        .json(&json!({"message": "Do you ship abroad?", "stream": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let text = response.text().await.unwrap();
    assert!(text.contains("event: delta"), "{text}");
    assert!(text.contains("event: done"), "{text}");
}

#[tokio::test]
async fn a_visitor_token_opens_its_own_conversation_and_nothing_else() {
    let app = TestApp::start().await;
    let (key, bot) = public_bot(&app, json!([])).await;
    let (mine, token) = start(&app, &bot).await;
    let (theirs, their_token) = start(&app, &bot).await;
    let (_, other_bot) = public_bot(&app, json!([])).await;
    let (elsewhere, _) = start(&app, &other_bot).await;
    // Something to read in the other conversations.
    let r = visit(
        &app,
        Method::POST,
        &format!("/v1/public/conversations/{theirs}/messages"),
        Some(&their_token),
        None,
        Some(json!({"message": "my email is secret@example.org"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let their_message = visit(
        &app,
        Method::GET,
        &format!("/v1/public/conversations/{theirs}"),
        Some(&their_token),
        None,
        None,
    )
    .await
    .body["messages"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    for other in [&theirs, &elsewhere] {
        let base = format!("/v1/public/conversations/{other}");
        for (method, path, body) in [
            (Method::GET, base.clone(), None),
            (Method::GET, format!("{base}/stream"), None),
            (
                Method::POST,
                format!("{base}/messages"),
                Some(json!({"message": "hi there, prices?"})),
            ),
            (
                Method::POST,
                format!("{base}/rating"),
                Some(json!({"rating": 1})),
            ),
            (
                Method::POST,
                format!("{base}/contact"),
                Some(json!({"email": "x@example.org"})),
            ),
            (Method::POST, format!("{base}/handoff"), None),
            (Method::POST, format!("{base}/typing"), None),
        ] {
            let r = visit(&app, method.clone(), &path, Some(&token), None, body).await;
            assert_eq!(
                r.status,
                StatusCode::NOT_FOUND,
                "{method} {path}: {}",
                r.text
            );
            assert!(!r.text.contains("secret@example.org"), "{}", r.text);
        }
    }
    // A message of another conversation, through the visitor's own conversation.
    let r = visit(
        &app,
        Method::POST,
        &format!("/v1/public/conversations/{mine}/messages/{their_message}/feedback"),
        Some(&token),
        None,
        Some(json!({"thumb": "down"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    // The token is no API key, and opens nothing of the account.
    for path in [
        format!("/v1/conversations/{mine}"),
        format!("/v1/bots/{bot}"),
        "/v1/bots".to_owned(),
        format!("/v1/conversations/{theirs}/messages"),
    ] {
        let r = app.get(&path, &token).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}: {}", r.text);
    }
    // Without a token, with a damaged or forged one.
    let path = format!("/v1/public/conversations/{mine}");
    let r = visit(&app, Method::GET, &path, None, None, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    assert!(r.message().contains("visitor token"), "{}", r.text);
    let mut forged = token.clone();
    forged.pop();
    forged.push(if token.ends_with('A') { 'B' } else { 'A' });
    for bad in [
        "vt1.nope.nope",
        "sk_live_123",
        forged.as_str(),
        key.as_str(),
    ] {
        let r = visit(&app, Method::GET, &path, Some(bad), None, None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{bad}: {}", r.text);
    }
    // Its own conversation it does open.
    let r = visit(&app, Method::GET, &path, Some(&token), None, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

#[tokio::test]
async fn only_public_bots_answer_and_only_to_their_allowed_origins() {
    let app = TestApp::start().await;
    let key = app.create_account("pro").await;
    let private = app.create_bot(&key, "Private").await;
    for path in [
        format!("/v1/public/bots/{private}"),
        format!("/v1/public/bots/{private}/conversations"),
        "/v1/public/bots/bot_doesnotexist".to_owned(),
        "/v1/public/bots/not-an-id".to_owned(),
    ] {
        let method = if path.ends_with("conversations") {
            Method::POST
        } else {
            Method::GET
        };
        let r = visit(&app, method, &path, None, Some(SHOP), None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.text);
        assert!(r.message().contains("public widget"), "{}", r.text);
    }

    let (owner, bot) = public_bot(&app, json!([SHOP])).await;
    let path = format!("/v1/public/bots/{bot}/conversations");
    for origin in [Some("https://evil.example"), None] {
        let r = visit(&app, Method::POST, &path, None, origin, None).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{origin:?}: {}", r.text);
        assert!(r.message().contains("allowed"), "{}", r.text);
    }
    let (conversation, token) = start(&app, &bot).await;
    // The token does not carry a page elsewhere either.
    let r = visit(
        &app,
        Method::GET,
        &format!("/v1/public/conversations/{conversation}"),
        Some(&token),
        Some("https://evil.example"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    // A bot made private again closes its conversations to visitors.
    let r = app
        .patch(
            &format!("/v1/bots/{bot}"),
            &owner,
            json!({"settings": {"public_widget": false}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = visit(
        &app,
        Method::GET,
        &format!("/v1/public/conversations/{conversation}"),
        Some(&token),
        Some(SHOP),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
}

#[tokio::test]
async fn a_visitor_rates_gives_feedback_leaves_details_and_gets_a_person_who_answers_live() {
    let app = TestApp::start().await;
    let (key, bot) = public_bot(&app, json!([])).await;
    let (conversation, token) = start(&app, &bot).await;
    let base = format!("/v1/public/conversations/{conversation}");
    let post = |path: String, body: Option<Value>| {
        let token = token.clone();
        let app = &app;
        async move { visit(app, Method::POST, &path, Some(&token), None, body).await }
    };
    let r = post(
        format!("{base}/messages"),
        Some(json!({"message": "How long do refunds take?"})),
    )
    .await;
    let reply = r.body["message_id"].as_str().unwrap().to_owned();

    // Feedback and rating, with their bad input.
    let r = post(
        format!("{base}/messages/{reply}/feedback"),
        Some(json!({"thumb": "up"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = post(
        format!("{base}/messages/{reply}/feedback"),
        Some(json!({"thumb": "sideways"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = post(format!("{base}/rating"), Some(json!({"rating": 6}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.message().contains("1 to 5"), "{}", r.text);
    let r = post(
        format!("{base}/rating"),
        Some(json!({"rating": 5, "comment": "x".repeat(2001)})),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = post(
        format!("{base}/rating"),
        Some(json!({"rating": 5, "comment": "great"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = app
        .get(&format!("/v1/conversations/{conversation}"), &key)
        .await;
    assert_eq!(r.body["rating"], 5, "{}", r.text);

    // Contact details through the form.
    for bad in [
        json!({}),
        json!({"email": "not an email"}),
        json!({"phone": "12"}),
        json!({"name": "Jane"}),
    ] {
        let r = post(format!("{base}/contact"), Some(bad.clone())).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.text);
    }
    let r = post(
        format!("{base}/contact"),
        Some(json!({"email": "jane@example.org"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        r.body["lead_id"].as_str().unwrap().starts_with("lead_"),
        "{}",
        r.text
    );
    let r = app.get("/v1/leads", &key).await;
    assert!(r.text.contains("jane@example.org"), "{}", r.text);

    // A person: the visitor asks, follows the conversation live, and the agent's reply arrives.
    let mut live = app
        .client
        .get(format!("{}{base}/stream?token={token}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), StatusCode::OK);
    let r = post(format!("{base}/handoff"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["status"], "waiting_for_agent", "{}", r.text);
    let r = post(format!("{base}/handoff"), None).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    let r = app
        .post(
            &format!("/v1/conversations/{conversation}/takeover"),
            &key,
            json!({"agent": "Marie"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = app
        .post(
            &format!("/v1/conversations/{conversation}/messages"),
            &key,
            json!({"role": "agent", "text": "Hi, Marie here. How can I help?"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let mut seen = String::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !seen.contains("Marie here") && std::time::Instant::now() < deadline {
        match tokio::time::timeout(std::time::Duration::from_secs(5), live.chunk()).await {
            Ok(Ok(Some(chunk))) => seen.push_str(&String::from_utf8_lossy(&chunk)),
            _ => break,
        }
    }
    assert!(seen.contains("event: status"), "{seen}");
    assert!(seen.contains("Marie here"), "{seen}");
    // The bot stays silent while Marie owns the conversation; the visitor can still type.
    let r = post(
        format!("{base}/messages"),
        Some(json!({"message": "thanks Marie, when do you open?"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.body["reply"].is_null(), "{}", r.text);
    let r = post(format!("{base}/typing"), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = visit(&app, Method::GET, &base, Some(&token), None, None).await;
    assert_eq!(r.body["status"], "agent", "{}", r.text);
    assert_eq!(r.body["assignee"], "Marie", "{}", r.text);
}

/// The `user_hash` a host site's server computes for a user.
fn user_hash(secret: &str, user: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(user.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn a_verified_visitor_keeps_their_conversation_across_devices_and_a_wrong_hash_is_refused() {
    let app = TestApp::start().await;
    let (key, bot) = public_bot(&app, json!([])).await;
    let path = format!("/v1/public/bots/{bot}/conversations");
    let begin = |body: Value| {
        let (app, path) = (&app, path.clone());
        async move { visit(app, Method::POST, &path, None, None, Some(body)).await }
    };
    // Before the owner sets a secret, identities cannot be verified.
    let r = begin(json!({"user_id": "u-42", "user_hash": "00"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.message().contains("identity-secret"), "{}", r.text);

    let r = app
        .post(&format!("/v1/bots/{bot}/identity-secret"), &key, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let secret = r.body["identity_secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("is_"), "{}", r.text);
    // It is kept sealed: the bot never shows it again.
    let r = app.get(&format!("/v1/bots/{bot}"), &key).await;
    assert!(!r.text.contains(&secret), "{}", r.text);

    for bad in [
        json!({"user_id": "u-42", "user_hash": user_hash(&secret, "u-43")}),
        json!({"user_id": "u-42", "user_hash": user_hash("is_another", "u-42")}),
        json!({"user_id": "u-42", "user_hash": ""}),
    ] {
        let r = begin(bad.clone()).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{bad}: {}", r.text);
    }
    for bad in [
        json!({"user_id": "u-42"}),
        json!({"user_hash": user_hash(&secret, "u-42")}),
        json!({"user_id": "", "user_hash": user_hash(&secret, "")}),
        json!({"user_id": "u-42", "user_hash": "x", "email": "a@b.c"}),
    ] {
        let r = begin(bad.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.text);
    }

    // On the phone: a conversation and a message.
    let me = json!({"user_id": "u-42", "user_hash": user_hash(&secret, "u-42")});
    let r = begin(me.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let conversation = r.body["conversation_id"].as_str().unwrap().to_owned();
    let phone = r.body["token"].as_str().unwrap().to_owned();
    let r = visit(
        &app,
        Method::POST,
        &format!("/v1/public/conversations/{conversation}/messages"),
        Some(&phone),
        None,
        Some(json!({"message": "How long do refunds take?"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // On the laptop: the same conversation, with its history.
    let r = begin(me).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(
        r.body["conversation_id"],
        conversation.as_str(),
        "{}",
        r.text
    );
    let laptop = r.body["token"].as_str().unwrap().to_owned();
    let r = visit(
        &app,
        Method::GET,
        &format!("/v1/public/conversations/{conversation}"),
        Some(&laptop),
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
    // Another user, and an anonymous visitor, get conversations of their own.
    let r = begin(json!({"user_id": "u-7", "user_hash": user_hash(&secret, "u-7")})).await;
    assert_ne!(
        r.body["conversation_id"],
        conversation.as_str(),
        "{}",
        r.text
    );
    let (anonymous, _) = start(&app, &bot).await;
    assert_ne!(anonymous, conversation);
    // Once the conversation has ended, the user starts a new one.
    let r = app
        .post(
            &format!("/v1/conversations/{conversation}/end"),
            &key,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = begin(json!({"user_id": "u-42", "user_hash": user_hash(&secret, "u-42")})).await;
    assert_ne!(
        r.body["conversation_id"],
        conversation.as_str(),
        "{}",
        r.text
    );
    // Without the secret, verification stops.
    let r = app
        .delete(&format!("/v1/bots/{bot}/identity-secret"), &key)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = begin(json!({"user_id": "u-42", "user_hash": user_hash(&secret, "u-42")})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
}

#[tokio::test]
async fn each_visitor_has_an_hourly_allowance_of_messages() {
    let app = TestApp::start_with(|c| c.visitor_messages_per_hour = 2).await;
    let (_, bot) = public_bot(&app, json!([])).await;
    let (conversation, token) = start(&app, &bot).await;
    let send = |conversation: String, token: String| {
        let app = &app;
        async move {
            visit(
                app,
                Method::POST,
                &format!("/v1/public/conversations/{conversation}/messages"),
                Some(&token),
                None,
                Some(json!({"message": "How long do refunds take?"})),
            )
            .await
        }
    };
    for _ in 0..2 {
        let r = send(conversation.clone(), token.clone()).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let r = send(conversation.clone(), token.clone()).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    assert!(
        r.message()
            .contains("a visitor may send 2 messages an hour"),
        "{}",
        r.text
    );
    assert!(r.headers.contains_key("retry-after"), "{:?}", r.headers);
    // Nothing of the refused message was stored.
    let r = visit(
        &app,
        Method::GET,
        &format!("/v1/public/conversations/{conversation}"),
        Some(&token),
        None,
        None,
    )
    .await;
    assert_eq!(
        r.body["messages"].as_array().unwrap().len(),
        4,
        "{}",
        r.text
    );
    // Another visitor is not held back.
    let (other, other_token) = start(&app, &bot).await;
    let r = send(other, other_token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}
