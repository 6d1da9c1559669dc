//! AskIA dialect contract tests: the three request examples of `seeds/003` (ids adapted), every
//! documented response field and its type, the public widget's guards (opt-in, allowed origins,
//! per-IP limit), CORS, and the documented error codes.

use crate::common;

use common::{TestApp, SHOP_FAQ};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const BASE: &str = "/compat/askia/api";
const SHOP: &str = "https://shop.example";

/// A bot with knowledge and a public widget allowed on [`SHOP`]; returns (key, bot id).
async fn public_bot(app: &TestApp) -> (String, String) {
    let key = app.create_account("pro").await;
    let r = app
        .post(
            "/v1/bots",
            &key,
            json!({"name": "Customer Support Assistant", "industry": "support"}),
        )
        .await;
    let bot = r.body["id"].as_str().unwrap().to_owned();
    app.add_text(&key, &bot, "FAQ", SHOP_FAQ).await;
    let r = app
        .patch(
            &format!("/v1/bots/{bot}"),
            &key,
            json!({"settings": {"public_widget": true, "allowed_origins": [format!("{SHOP}/")], "description": "Helps customers with product questions"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["settings"]["allowed_origins"], json!([SHOP]));
    (key, bot)
}

/// A request without a key, from a page of `origin`.
async fn widget(
    app: &TestApp,
    method: Method,
    path: &str,
    origin: Option<&str>,
    body: Option<Value>,
) -> common::Response {
    let mut request = app
        .client
        .request(method, format!("{}{BASE}{path}", app.base));
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    TestApp::read(request.send().await.unwrap()).await
}

fn assert_error(r: &common::Response, status: StatusCode, code: &str) {
    assert_eq!(r.status, status, "{}", r.text);
    assert!(r.body["error"].is_string(), "{}", r.text);
    assert_eq!(r.body["code"], code, "{}", r.text);
}

#[tokio::test]
async fn the_documented_requests_and_responses() {
    let app = TestApp::start().await;
    let (key, bot) = public_bot(&app).await;

    // POST /api/widget/chat, as the document's example (with the bot's id).
    let r = widget(
        &app,
        Method::POST,
        "/widget/chat",
        Some(SHOP),
        Some(json!({"botId": bot, "message": "When are you open on Saturdays?"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let reply = r.body["reply"].as_str().unwrap();
    assert!(reply.contains("10am"), "{reply}");
    let conversation = r.body["conversationId"].as_str().unwrap().to_owned();
    assert!(conversation.starts_with("conv_"));
    assert!(r.body["messageId"].as_str().unwrap().starts_with("msg_"));
    assert!(r.body["sources"].as_array().is_some_and(|s| !s.is_empty()));
    assert_eq!(r.headers["access-control-allow-origin"], SHOP);

    // The conversation continues with its id.
    let r = widget(
        &app,
        Method::POST,
        "/widget/chat",
        Some(SHOP),
        Some(json!({"botId": bot, "message": "How long do refunds take?", "conversationId": conversation})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["conversationId"], conversation.as_str());
    assert!(r.body["reply"]
        .as_str()
        .unwrap()
        .contains("5 business days"));

    // The native API sees it, on the widget channel, with both exchanges.
    let native = app
        .get(&format!("/v1/conversations/{conversation}"), &key)
        .await;
    assert_eq!(native.body["channel"], "widget");
    let messages = app
        .get(&format!("/v1/conversations/{conversation}/messages"), &key)
        .await;
    assert_eq!(messages.body["data"].as_array().unwrap().len(), 4);

    // GET /api/bots/:id
    let r = widget(&app, Method::GET, &format!("/bots/{bot}"), Some(SHOP), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["id"], bot.as_str());
    assert_eq!(r.body["name"], "Customer Support Assistant");
    assert_eq!(
        r.body["description"],
        "Helps customers with product questions"
    );
    assert_eq!(r.body["category"], "support");
    assert_eq!(r.body["language"], "en");
    let created = r.body["createdAt"].as_str().unwrap();
    assert!(
        time::OffsetDateTime::parse(created, &time::format_description::well_known::Rfc3339)
            .is_ok(),
        "{created}"
    );

    // GET /api/bots/:id/branding: the defaults, then the owner's.
    let path = format!("/bots/{bot}/branding");
    let r = widget(&app, Method::GET, &path, Some(SHOP), None).await;
    assert_eq!(
        r.body,
        json!({"primaryColor": "#6366f1", "backgroundColor": "#ffffff", "textColor": "#1f2937", "logoUrl": null, "position": "bottom-right", "theme": "light"})
    );
    let r = app
        .patch(
            &format!("/v1/bots/{bot}"),
            &key,
            json!({"settings": {"branding": {"primaryColor": "x"}}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "unknown branding field");
    let r = app
        .patch(&format!("/v1/bots/{bot}"), &key, json!({"settings": {"branding": {"primary_color": "#FF0000", "logo_url": "https://example.com/logo.png", "theme": "dark", "position": "bottom-left"}}}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = widget(&app, Method::GET, &path, Some(SHOP), None).await;
    assert_eq!(r.body["primaryColor"], "#ff0000");
    assert_eq!(r.body["backgroundColor"], "#ffffff");
    assert_eq!(r.body["logoUrl"], "https://example.com/logo.png");
    assert_eq!(r.body["position"], "bottom-left");
    assert_eq!(r.body["theme"], "dark");
}

#[tokio::test]
async fn browsers_get_a_preflight_and_their_origin_back() {
    let app = TestApp::start_with(|c| c.cors_origins = vec!["https://admin.example".into()]).await;
    let (_, bot) = public_bot(&app).await;
    let r = app
        .client
        .request(Method::OPTIONS, format!("{}{BASE}/widget/chat", app.base))
        .header("origin", SHOP)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(r.headers()["access-control-allow-origin"], SHOP);
    let methods = r.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap();
    assert!(methods.contains("POST"), "{methods}");
    // The server-wide CORS list (for the keyed API) does not apply to the widget.
    let r = widget(&app, Method::GET, &format!("/bots/{bot}"), Some(SHOP), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.headers["access-control-allow-origin"], SHOP);
}

#[tokio::test]
async fn only_public_bots_answer_and_only_on_their_origins() {
    let app = TestApp::start().await;
    let (key, bot) = public_bot(&app).await;
    let chat = |bot: &str| json!({"botId": bot, "message": "Hello"});

    // Another origin, or none, is refused before anything is stored.
    let r = widget(
        &app,
        Method::POST,
        "/widget/chat",
        Some("https://evil.example"),
        Some(chat(&bot)),
    )
    .await;
    assert_error(&r, StatusCode::FORBIDDEN, "INSUFFICIENT_PERMISSIONS");
    assert!(r.body["error"]
        .as_str()
        .unwrap()
        .contains("allowed_origins"));
    let r = widget(&app, Method::POST, "/widget/chat", None, Some(chat(&bot))).await;
    assert_error(&r, StatusCode::FORBIDDEN, "INSUFFICIENT_PERMISSIONS");
    let r = widget(
        &app,
        Method::GET,
        &format!("/bots/{bot}/branding"),
        Some("https://evil.example"),
        None,
    )
    .await;
    assert_error(&r, StatusCode::FORBIDDEN, "INSUFFICIENT_PERMISSIONS");
    let list = app
        .get(&format!("/v1/conversations?bot_id={bot}"), &key)
        .await;
    assert_eq!(
        list.body["data"],
        json!([]),
        "a refused request stored nothing"
    );

    // An empty list allows any origin.
    app.patch(
        &format!("/v1/bots/{bot}"),
        &key,
        json!({"settings": {"allowed_origins": []}}),
    )
    .await;
    let r = widget(
        &app,
        Method::POST,
        "/widget/chat",
        Some("https://other.example"),
        Some(chat(&bot)),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    // A private bot, an unknown id and a malformed id all look the same.
    let private = app.create_bot(&key, "Private").await;
    for id in [private.as_str(), "bot_doesnotexist000000000", "nonsense"] {
        let r = widget(
            &app,
            Method::POST,
            "/widget/chat",
            Some(SHOP),
            Some(chat(id)),
        )
        .await;
        assert_error(&r, StatusCode::NOT_FOUND, "RESOURCE_NOT_FOUND");
        let r = widget(&app, Method::GET, &format!("/bots/{id}"), Some(SHOP), None).await;
        assert_error(&r, StatusCode::NOT_FOUND, "RESOURCE_NOT_FOUND");
    }
    // Turning the widget off closes it.
    app.patch(
        &format!("/v1/bots/{bot}"),
        &key,
        json!({"settings": {"public_widget": false}}),
    )
    .await;
    let r = widget(&app, Method::GET, &format!("/bots/{bot}"), Some(SHOP), None).await;
    assert_error(&r, StatusCode::NOT_FOUND, "RESOURCE_NOT_FOUND");
}

/// The bot's conversations, as the native API lists them.
async fn conversations_of(app: &TestApp, key: &str, bot: &str) -> Vec<Value> {
    let r = app
        .get(&format!("/v1/conversations?bot_id={bot}"), key)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["data"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_client_chosen_conversation_id_starts_a_conversation_of_the_bot_under_it() {
    let app = TestApp::start().await;
    let (key, bot) = public_bot(&app).await;
    let post = |body: Value| widget(&app, Method::POST, "/widget/chat", Some(SHOP), Some(body));
    // The document's own example.
    let chosen = "optional-conversation-id";

    let r = post(
        json!({"botId": bot, "message": "What are your pricing plans?", "conversationId": chosen}),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "a new client id starts a conversation: {}",
        r.text
    );
    assert_eq!(
        r.body["conversationId"], chosen,
        "named by the client's id: {}",
        r.text
    );
    assert!(
        r.body["reply"].as_str().is_some_and(|t| !t.is_empty()),
        "{}",
        r.text
    );
    let r = post(
        json!({"botId": bot, "message": "How long do refunds take?", "conversationId": chosen}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["conversationId"], chosen, "{}", r.text);
    let found = conversations_of(&app, &key, &bot).await;
    assert_eq!(
        found.len(),
        1,
        "both messages in one conversation: {found:?}"
    );
    let conversation = found[0]["id"].as_str().unwrap().to_owned();
    let messages = app
        .get(&format!("/v1/conversations/{conversation}/messages"), &key)
        .await;
    assert_eq!(
        messages.body["data"].as_array().unwrap().len(),
        4,
        "{}",
        messages.text
    );

    // The same id on another bot of the account, or on another account's bot, is another
    // conversation: it never reaches this one.
    let other = app.create_bot(&key, "Other").await;
    app.patch(
        &format!("/v1/bots/{other}"),
        &key,
        json!({"settings": {"public_widget": true}}),
    )
    .await;
    let (other_key, foreign) = public_bot(&app).await;
    for (owner, bot_id) in [(&key, &other), (&other_key, &foreign)] {
        let r = post(json!({"botId": bot_id, "message": "Hello", "conversationId": chosen})).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.body["conversationId"], chosen, "{}", r.text);
        let theirs = conversations_of(&app, owner, bot_id).await;
        assert_eq!(theirs.len(), 1, "{theirs:?}");
        assert_ne!(
            theirs[0]["id"],
            conversation.as_str(),
            "a conversation of its own"
        );
    }
    let messages = app
        .get(&format!("/v1/conversations/{conversation}/messages"), &key)
        .await;
    assert_eq!(
        messages.body["data"].as_array().unwrap().len(),
        4,
        "untouched: {}",
        messages.text
    );

    // sitechat's own id still continues the same conversation; an ended one is a 409.
    let r =
        post(json!({"botId": bot, "message": "Is delivery free?", "conversationId": conversation}))
            .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.body["conversationId"],
        conversation.as_str(),
        "{}",
        r.text
    );
    assert_eq!(conversations_of(&app, &key, &bot).await.len(), 1);
    let r = app
        .post(
            &format!("/v1/conversations/{conversation}/end"),
            &key,
            json!({}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text);
    let r = post(json!({"botId": bot, "message": "Hello again", "conversationId": chosen})).await;
    assert_error(&r, StatusCode::CONFLICT, "CONFLICT");

    // A client id has a length limit.
    let long = "c".repeat(201);
    let r = post(json!({"botId": bot, "message": "Hi", "conversationId": long})).await;
    assert_error(&r, StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    assert!(r.text.contains("conversationId"), "{}", r.text);
}

#[tokio::test]
async fn bad_requests_say_what_to_fix() {
    let app = TestApp::start().await;
    let (key, bot) = public_bot(&app).await;
    let post = |body: Value| widget(&app, Method::POST, "/widget/chat", Some(SHOP), Some(body));

    let r = post(json!({"message": "Hello"})).await;
    assert_error(&r, StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    assert!(
        r.body["error"].as_str().unwrap().contains("botId"),
        "{}",
        r.text
    );
    let r = post(json!({"botId": bot})).await;
    assert!(
        r.body["error"].as_str().unwrap().contains("message"),
        "{}",
        r.text
    );
    let r = post(json!({"botId": bot, "message": "   "})).await;
    assert_error(&r, StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    let r = post(
        json!({"botId": bot, "message": "Hi", "conversationId": "conv_unknown00000000000000"}),
    )
    .await;
    assert_error(&r, StatusCode::NOT_FOUND, "RESOURCE_NOT_FOUND");

    // Another bot's conversation cannot be continued through this bot.
    let other = app.create_bot(&key, "Other").await;
    app.patch(
        &format!("/v1/bots/{other}"),
        &key,
        json!({"settings": {"public_widget": true}}),
    )
    .await;
    let r = post(json!({"botId": other, "message": "Hello"})).await;
    let foreign = r.body["conversationId"].as_str().unwrap().to_owned();
    let r = post(json!({"botId": bot, "message": "Hello", "conversationId": foreign})).await;
    assert_error(&r, StatusCode::NOT_FOUND, "RESOURCE_NOT_FOUND");

    // Settings that the widget reads are checked when written.
    for (settings, field) in [
        (
            json!({"allowed_origins": ["https://shop.example/page"]}),
            "settings.allowed_origins[0]",
        ),
        (
            json!({"allowed_origins": ["not a url"]}),
            "settings.allowed_origins[0]",
        ),
        (
            json!({"branding": {"primary_color": "red"}}),
            "settings.branding.primary_color",
        ),
        (
            json!({"branding": {"position": "middle"}}),
            "settings.branding.position",
        ),
        (
            json!({"branding": {"theme": "neon"}}),
            "settings.branding.theme",
        ),
        (
            json!({"branding": {"logo_url": "ftp://x.example/logo.png"}}),
            "settings.branding.logo_url",
        ),
    ] {
        let r = app
            .patch(
                &format!("/v1/bots/{bot}"),
                &key,
                json!({"settings": settings}),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{settings}: {}", r.text);
        assert!(r.text.contains(field), "{field}: {}", r.text);
    }
    let r = app.get(&format!("/v1/bots/{bot}"), &key).await;
    assert_eq!(
        r.body["settings"]["allowed_origins"],
        json!([SHOP]),
        "nothing half-written"
    );
    assert_eq!(r.body["settings"]["branding"]["primary_color"], "#6366f1");
}

#[tokio::test]
async fn each_address_has_an_hourly_allowance() {
    let app = TestApp::start_with(|c| c.public_requests_per_hour_per_ip = 3).await;
    let (_, bot) = public_bot(&app).await;
    for i in 0..3 {
        let r = widget(&app, Method::GET, &format!("/bots/{bot}"), Some(SHOP), None).await;
        assert_eq!(r.status, StatusCode::OK, "request {i}: {}", r.text);
        assert_eq!(r.headers["x-ratelimit-limit"], "3");
    }
    let r = widget(
        &app,
        Method::POST,
        "/widget/chat",
        Some(SHOP),
        Some(json!({"botId": bot, "message": "Hello"})),
    )
    .await;
    assert_error(&r, StatusCode::TOO_MANY_REQUESTS, "RATE_LIMIT_EXCEEDED");
    assert!(r.headers.contains_key("retry-after"));
    assert_eq!(r.headers["x-ratelimit-remaining"], "0");
}
