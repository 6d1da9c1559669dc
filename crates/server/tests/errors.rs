//! Every error case of the native API: the right status and code, a message that says what to fix,
//! and nothing written.

mod common;

use common::{TestApp, SHOP_FAQ};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn a_missing_or_unknown_key_is_refused() {
    let app = TestApp::start().await;
    let r = app.request(Method::GET, "/v1/bots", None, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.code(), "INVALID_API_KEY");
    assert!(
        r.message().contains("Authorization: Bearer"),
        "{}",
        r.message()
    );

    let r = app
        .get("/v1/bots", "sk_not_a_real_key_at_all_000000000000")
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.code(), "INVALID_API_KEY");

    let r = app
        .client
        .get(format!("{}/v1/bots", app.base))
        .header("X-API-Key", &app.admin_key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "X-API-Key works as well as Bearer"
    );
}

#[tokio::test]
async fn a_key_without_the_needed_scope_is_forbidden() {
    let app = TestApp::start().await;
    let key = app.admin_key.clone();
    let bot = app.create_bot(&key, "Shop").await;
    let read = app
        .post(
            "/v1/keys",
            &key,
            json!({"name": "dashboard", "scopes": ["read"]}),
        )
        .await;
    assert_eq!(read.status, StatusCode::CREATED, "{}", read.text);
    let read_key = read.body["secret"].as_str().unwrap();

    let r = app.post("/v1/bots", read_key, json!({"name": "x"})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.code(), "INSUFFICIENT_PERMISSIONS");
    assert!(r.message().contains("admin"), "{}", r.message());
    let r = app.chat(read_key, &bot, json!({"message": "hi"})).await;
    assert_eq!(
        r.code(),
        "INSUFFICIENT_PERMISSIONS",
        "read does not grant chat"
    );
    assert_eq!(
        app.get(&format!("/v1/bots/{bot}"), read_key).await.status,
        StatusCode::OK
    );

    let chat = app
        .post(
            "/v1/keys",
            &key,
            json!({"name": "widget", "scopes": ["chat"]}),
        )
        .await;
    let chat_key = chat.body["secret"].as_str().unwrap();
    assert_eq!(
        app.chat(chat_key, &bot, json!({"message": "hi"}))
            .await
            .status,
        StatusCode::OK
    );
    let r = app
        .post(
            &format!("/v1/bots/{bot}/sources/text"),
            chat_key,
            json!({"title": "t", "content": SHOP_FAQ}),
        )
        .await;
    assert_eq!(r.code(), "INSUFFICIENT_PERMISSIONS");

    let tenant = app.create_account("pro").await;
    let r = app
        .post(
            "/v1/accounts",
            &tenant,
            json!({"name": "n", "plan": "free"}),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "only the operator creates accounts"
    );
    assert!(r.message().contains("operator"));
}

#[tokio::test]
async fn malformed_json_wrong_types_and_unknown_fields_say_what_to_fix() {
    let app = TestApp::start().await;
    let key = app.admin_key.clone();

    let r = app
        .client
        .post(format!("{}/v1/bots", app.base))
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    let r = TestApp::read(r).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.code(), "INVALID_REQUEST");
    assert!(r.message().contains("not valid JSON"), "{}", r.message());

    let r = app.post("/v1/bots", &key, json!({"name": 42})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.message().contains("name") && r.message().contains("expected a string"),
        "{}",
        r.message()
    );

    let r = app.post("/v1/bots", &key, json!({"nmae": "typo"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.message().contains("unknown field `nmae`"),
        "{}",
        r.message()
    );

    let r = app.post("/v1/bots", &key, json!({})).await;
    assert!(
        r.message().contains("missing field `name`"),
        "{}",
        r.message()
    );

    let r = app
        .client
        .post(format!("{}/v1/bots", app.base))
        .bearer_auth(&key)
        .body("{\"name\": \"x\"}")
        .send()
        .await
        .unwrap();
    let r = TestApp::read(r).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(
        r.message().contains("Content-Type: application/json"),
        "{}",
        r.message()
    );

    let r = app
        .post(
            "/v1/bots",
            &key,
            json!({"name": "x", "website_url": "ftp://example.com"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.message().starts_with("website_url:"), "{}", r.message());
    assert_eq!(r.body["error"]["details"]["field"], "website_url");

    let r = app
        .post(
            "/v1/bots",
            &key,
            json!({"name": "x", "settings": {"confidence_threshold": 2}}),
        )
        .await;
    assert!(r.message().contains("between 0 and 1"), "{}", r.message());

    let bots = app.get("/v1/bots", &key).await;
    assert!(
        bots.body["data"].as_array().unwrap().is_empty(),
        "no refused request created a bot"
    );
}

#[tokio::test]
async fn short_or_empty_knowledge_is_refused_and_nothing_is_written() {
    let app = TestApp::start().await;
    let key = app.admin_key.clone();
    let bot = app.create_bot(&key, "Shop").await;
    let path = format!("/v1/bots/{bot}/sources/text");

    let r = app
        .post(&path, &key, json!({"title": "Hours", "content": "9 to 5"}))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.code(), "INVALID_REQUEST");
    assert!(
        r.message().contains("at least 10 characters"),
        "{}",
        r.message()
    );

    let r = app
        .post(&path, &key, json!({"title": "  ", "content": SHOP_FAQ}))
        .await;
    assert!(r.message().starts_with("title:"), "{}", r.message());

    let sources = app.get(&format!("/v1/bots/{bot}/sources"), &key).await;
    assert!(sources.body["data"].as_array().unwrap().is_empty());
    let r = app
        .chat(&key, &bot, json!({"message": "opening hours"}))
        .await;
    assert_eq!(r.body["outcome"], "fallback");
}

#[tokio::test]
async fn an_oversized_body_is_refused_with_413() {
    let app = TestApp::start_with(|c| c.max_body_bytes = 64 * 1024).await;
    let key = app.admin_key.clone();
    let bot = app.create_bot(&key, "Shop").await;
    let big = "word ".repeat(20_000);
    let r = app
        .post(
            &format!("/v1/bots/{bot}/sources/text"),
            &key,
            json!({"title": "big", "content": big}),
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text);
    assert_eq!(r.code(), "PAYLOAD_TOO_LARGE");
    assert!(r.message().contains("larger than this server accepts"));
    let sources = app.get(&format!("/v1/bots/{bot}/sources"), &key).await;
    assert!(sources.body["data"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn unknown_and_malformed_ids_are_not_found() {
    let app = TestApp::start().await;
    let key = app.admin_key.clone();
    let bot = app.create_bot(&key, "Shop").await;
    for path in [
        "/v1/bots/bot_doesnotexist00000000".to_owned(),
        "/v1/bots/not-an-id".to_owned(),
        format!("/v1/bots/{bot}/sources/src_doesnotexist0000000"),
        "/v1/conversations/conv_doesnotexist0000000".to_owned(),
        "/v1/conversations/conv_doesnotexist0000000/messages".to_owned(),
        format!("/v1/conversations/{bot}"),
    ] {
        let r = app.get(&path, &key).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.text);
        assert_eq!(r.code(), "RESOURCE_NOT_FOUND", "{path}");
    }
    let r = app
        .chat(
            &key,
            &bot,
            json!({"message": "hi", "conversation_id": "conv_doesnotexist0000000"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.message().contains("conversation"), "{}", r.message());
    let r = app
        .chat(&key, "bot_doesnotexist00000000", json!({"message": "hi"}))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.delete("/v1/keys/key_doesnotexist00000000", &key)
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    let r = app.get("/v1/nothing-here", &key).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.code(), "RESOURCE_NOT_FOUND");
    let r = app.request(Method::PUT, "/v1/bots", Some(&key), None).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.code(), "INVALID_REQUEST");
}

#[tokio::test]
async fn a_conversation_of_another_bot_is_not_found_and_nothing_is_written() {
    let app = TestApp::start().await;
    let key = app.admin_key.clone();
    let (a, b) = (
        app.create_bot(&key, "A").await,
        app.create_bot(&key, "B").await,
    );
    let r = app.chat(&key, &a, json!({"message": "hello"})).await;
    let conv = r.body["conversation_id"].as_str().unwrap();
    let r = app
        .chat(
            &key,
            &b,
            json!({"message": "hello", "conversation_id": conv}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let history = app
        .get(&format!("/v1/conversations/{conv}/messages"), &key)
        .await;
    assert_eq!(history.body["data"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn chat_input_is_checked() {
    let app = TestApp::start().await;
    let key = app.admin_key.clone();
    let bot = app.create_bot(&key, "Shop").await;
    let r = app.chat(&key, &bot, json!({"message": "   "})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.message().starts_with("message:"), "{}", r.message());
    let r = app
        .chat(&key, &bot, json!({"message": "x".repeat(4_001)}))
        .await;
    assert!(r.message().contains("at most 4000"), "{}", r.message());
    let r = app
        .chat(
            &key,
            &bot,
            json!({"message": "hi", "contact_id": "c".repeat(129)}),
        )
        .await;
    assert!(r.message().starts_with("contact_id:"), "{}", r.message());
}

#[tokio::test]
async fn paging_parameters_are_checked_and_pages_cover_everything_once() {
    let app = TestApp::start().await;
    let key = app.admin_key.clone();
    let mut created = Vec::new();
    for i in 0..5 {
        created.push(app.create_bot(&key, &format!("bot {i}")).await);
    }
    let r = app.get("/v1/bots?limit=0", &key).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.message().contains("limit must be between 1 and 100"),
        "{}",
        r.message()
    );
    let r = app.get("/v1/bots?limit=abc", &key).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.message().contains("invalid query string"),
        "{}",
        r.message()
    );
    let r = app.get("/v1/bots?cursor=garbage", &key).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.message().contains("cursor"));
    let r = app.get("/v1/bots?page=2", &key).await;
    assert!(
        r.message().contains("unknown field `page`"),
        "{}",
        r.message()
    );

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/bots?limit=2&cursor={c}"),
            None => "/v1/bots?limit=2".to_owned(),
        };
        let r = app.get(&path, &key).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        seen.extend(
            r.body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b["id"].as_str().unwrap().to_owned()),
        );
        if !r.body["has_more"].as_bool().unwrap() {
            assert!(r.body["next_cursor"].is_null());
            break;
        }
        cursor = Some(r.body["next_cursor"].as_str().unwrap().to_owned());
    }
    assert_eq!(seen, created, "every bot once, oldest first");
}

#[tokio::test]
async fn the_free_plan_is_limited_to_a_hundred_requests_an_hour() {
    let app = TestApp::start().await;
    let key = app.create_account("free").await;
    let first = app.get("/v1/account", &key).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.headers["x-ratelimit-limit"], "100");
    assert_eq!(first.headers["x-ratelimit-remaining"], "99");
    let reset: u64 = first.headers["x-ratelimit-reset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(reset > 1_700_000_000);
    for _ in 0..99 {
        assert_eq!(app.get("/v1/account", &key).await.status, StatusCode::OK);
    }
    let r = app.get("/v1/account", &key).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.code(), "RATE_LIMIT_EXCEEDED");
    assert!(
        r.message().contains("100 requests an hour"),
        "{}",
        r.message()
    );
    assert_eq!(r.headers["x-ratelimit-remaining"], "0");
    assert!(r.headers.contains_key("retry-after"));
    // The operator's own traffic is not limited by a tenant's allowance.
    assert_eq!(
        app.get("/v1/account", &app.admin_key).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_monthly_message_quota_stops_chat_before_anything_is_written() {
    let app = TestApp::start().await;
    let key = app.create_account("free").await;
    let bot = app.create_bot(&key, "Shop").await;
    // The free plan answers 100 messages a month; the hourly limit (100 requests) allows 98 more
    // requests after the two above, so exhaust the quota directly in the store.
    let server_state_account = app.get("/v1/account", &key).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let store = sitechat_store::Store::open(&app.data_dir.join("sitechat.db"))
        .await
        .unwrap();
    let month = {
        let now = time::OffsetDateTime::now_utc();
        format!("{:04}-{:02}", now.year(), u8::from(now.month()))
    };
    let account = sitechat_core::AccountId::parse(&server_state_account).unwrap();
    store
        .consume_quota(&account, "messages", &month, 100, Some(100))
        .await
        .unwrap()
        .unwrap();
    let r = app.chat(&key, &bot, json!({"message": "hello"})).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    assert_eq!(r.code(), "RATE_LIMIT_EXCEEDED");
    assert!(
        r.message().contains("100 messages a month"),
        "{}",
        r.message()
    );
}
