//! Every error case of the native API: the right status and code, a message that says what to fix,
//! and nothing written.

use crate::common;

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

    for chars in [0, 99, 4001] {
        let r = app
            .post(
                "/v1/bots",
                &key,
                json!({"name": "x", "settings": {"answer_max_chars": chars}}),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            r.body["error"]["details"]["field"],
            "settings.answer_max_chars"
        );
        assert!(r.message().contains("100 to 4000"), "{}", r.message());
    }

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

/// A dialect's prefix, its error shape, and its routes (method, path, body kind).
type DialectRoutes<'a> = (&'a str, Shape, &'a [(&'a str, &'a str, BodyKind)]);
/// One rejection case: its name, path, content type, body and the status expected.
type Case<'a> = (
    &'a str,
    String,
    Option<&'a str>,
    Vec<u8>,
    Option<StatusCode>,
);

/// How a route reads its body.
#[derive(Debug, Clone, Copy, PartialEq)]
enum BodyKind {
    None,
    Json,
    Multipart,
}

/// The error shape of the API a route belongs to.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Shape {
    /// `{"error": {"code", "message"}}` (the native API and AISA).
    Native,
    /// `{"success": false, "error": "…"}`.
    Asyntai,
    /// `{"ok": false, "error": {"code", "message"}}`.
    ChatAiBot,
    /// `{"error": "…", "code": "…"}`.
    AskIa,
    /// `{"timestamp", "status", "error", "code", "message"}`.
    Aimylogic,
}

/// Asserts that `r` is an error in `shape`, never a 5xx.
fn assert_error_shape(shape: Shape, r: &common::Response, what: &str) {
    assert!(
        r.status.is_client_error(),
        "{what}: expected a 4xx, got {}: {}",
        r.status,
        r.text
    );
    let content_type = r
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(
        content_type.starts_with("application/json"),
        "{what}: {} with content type `{content_type}`: {}",
        r.status,
        r.text
    );
    let b = &r.body;
    let text = |v: &serde_json::Value| v.as_str().is_some_and(|s| !s.is_empty());
    let ok = match shape {
        Shape::Native => text(&b["error"]["code"]) && text(&b["error"]["message"]),
        Shape::Asyntai => b["success"] == false && text(&b["error"]),
        Shape::ChatAiBot => {
            b["ok"] == false && text(&b["error"]["code"]) && text(&b["error"]["message"])
        }
        Shape::AskIa => text(&b["error"]) && text(&b["code"]),
        Shape::Aimylogic => {
            b["status"] == r.status.as_u16()
                && text(&b["error"])
                && text(&b["code"])
                && text(&b["message"])
                && text(&b["timestamp"])
        }
    };
    assert!(ok, "{what}: not the {shape:?} error shape: {}", r.text);
}

/// Replaces each `{param}` of a route's path with `value(param)`.
fn fill(path: &str, value: impl Fn(&str) -> String) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let end = rest[start..].find('}').map_or(rest.len(), |e| start + e);
        out.push_str(&rest[..start]);
        out.push_str(&value(&rest[start + 1..end]));
        rest = &rest[(end + 1).min(rest.len())..];
    }
    out.push_str(rest);
    out
}

/// One route to walk: method, path template (with `{param}`s), body, error shape.
struct Route {
    method: Method,
    path: String,
    body: BodyKind,
    shape: Shape,
}

/// The dialects' routes, which no OpenAPI document describes, with their error shapes.
fn dialect_routes() -> Vec<Route> {
    use BodyKind::{Json, Multipart, None};
    let table: &[DialectRoutes] = &[
        (
            "/compat/aisa/v1",
            Shape::Native,
            &[
                ("POST", "/chatbot/create", Json),
                ("GET", "/chatbot/{id}", None),
                ("PUT", "/chatbot/{id}/retrain", Json),
                ("POST", "/message/send", Json),
                ("GET", "/message/history", None),
                ("GET", "/analytics/conversations", None),
                ("POST", "/webhooks/configure", Json),
            ],
        ),
        (
            "/compat/chataibot/api/v1",
            Shape::ChatAiBot,
            &[
                ("POST", "/conversations", Json),
                ("POST", "/conversation/{id}/messages", Json),
            ],
        ),
        (
            "/compat/asyntai/api/v1",
            Shape::Asyntai,
            &[
                ("POST", "/chat", Json),
                ("GET", "/websites", None),
                ("GET", "/conversations", None),
                ("GET", "/sessions", None),
                ("GET", "/leads", None),
                ("GET", "/account", None),
                ("GET", "/knowledge", None),
                ("POST", "/knowledge/text", Json),
                ("POST", "/knowledge/url", Json),
                ("POST", "/knowledge/spreadsheet", Multipart),
                ("DELETE", "/knowledge/{id}", None),
                ("GET", "/webhooks", None),
                ("POST", "/webhooks", Json),
                ("DELETE", "/webhooks/{id}", None),
            ],
        ),
        (
            "/compat/askia/api",
            Shape::AskIa,
            &[
                ("POST", "/widget/chat", Json),
                ("GET", "/bots/{id}", None),
                ("GET", "/bots/{id}/branding", None),
            ],
        ),
        (
            "/compat/aimylogic/chatapi",
            Shape::Aimylogic,
            &[
                ("POST", "/{token}", Json),
                ("GET", "/{token}", None),
                ("POST", "/{token}/async", Json),
                ("GET", "/{token}/events", None),
                ("GET", "/{token}/client/{client}/history", None),
                ("GET", "/{token}/client/{client}/state", None),
                ("POST", "/{token}/client/{client}/state", Json),
                (
                    "GET",
                    "/{token}/client/{client}/message/{question}/status",
                    None,
                ),
                (
                    "POST",
                    "/{token}/client/{client}/message/{question}/status",
                    Json,
                ),
                ("POST", "/{token}/client/{client}/message-statuses", Json),
                (
                    "GET",
                    "/{token}/client/{client}/message-not-read-count",
                    None,
                ),
            ],
        ),
    ];
    table
        .iter()
        .flat_map(|(prefix, shape, routes)| {
            routes.iter().map(move |(method, path, body)| Route {
                method: method.parse().unwrap(),
                path: format!("{prefix}{path}"),
                body: *body,
                shape: *shape,
            })
        })
        .collect()
}

/// The routes of an OpenAPI document, with the body each reads.
fn openapi_routes(spec: &serde_json::Value) -> Vec<Route> {
    let mut routes = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().unwrap() {
            let Ok(method) = method.to_uppercase().parse::<Method>() else {
                continue;
            };
            let content = &operation["requestBody"]["content"];
            let body = if content.get("multipart/form-data").is_some() {
                BodyKind::Multipart
            } else if content.get("application/json").is_some() {
                BodyKind::Json
            } else {
                BodyKind::None
            };
            routes.push(Route {
                method,
                path: path.clone(),
                body,
                shape: Shape::Native,
            });
        }
    }
    routes
}

#[tokio::test]
async fn every_route_refuses_bad_input_in_its_json_error_shape() {
    const MAX_BODY: usize = 8 * 1024;
    const MAX_UPLOAD: usize = 16 * 1024;
    let app = TestApp::start_with(|c| {
        c.max_body_bytes = MAX_BODY;
        c.max_upload_bytes = MAX_UPLOAD;
    })
    .await;
    let key = app.admin_key.clone();
    let bot = app.create_bot(&key, "Shop").await;
    let r = app
        .post(&format!("/v1/bots/{bot}/chat-api-token"), &key, json!({}))
        .await;
    let token = r.body["chat_api_token"].as_str().unwrap().to_owned();
    // The visitor routes take a visitor token instead of a key: one of the bot's public widget.
    let r = app
        .patch(
            &format!("/v1/bots/{bot}"),
            &key,
            json!({"settings": {"public_widget": true}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = app
        .request(
            Method::POST,
            &format!("/v1/public/bots/{bot}/conversations"),
            None,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let visitor = r.body["token"].as_str().unwrap().to_owned();

    let spec = app.request(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(spec.status, StatusCode::OK);
    let mut routes = openapi_routes(&spec.body);
    assert!(routes.len() >= 60, "{} routes documented", routes.len());
    routes.extend(dialect_routes());

    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .unwrap();
    let over_limit = vec![b' '; MAX_BODY.max(MAX_UPLOAD) + 1];
    let mut requests = 0;
    for route in &routes {
        // Parameters other than the Chat API token are ids that do not exist: a request that
        // got past its body would be refused as not found, and nothing is changed.
        let token_or = |bad: &str| {
            let token = token.clone();
            let bad = bad.to_owned();
            move |name: &str| {
                if name == "token" {
                    token.clone()
                } else {
                    bad.clone()
                }
            }
        };
        let path = fill(&route.path, token_or("x"));
        let mut cases: Vec<Case> = vec![];
        if route.path.contains('{') {
            // Invalid UTF-8 once percent-decoded, in every parameter, then in each alone.
            cases.push((
                "a %FF path segment",
                fill(&route.path, |_| "%FF".to_owned()),
                None,
                vec![],
                Some(StatusCode::BAD_REQUEST),
            ));
            cases.push((
                "a %FF id",
                fill(&route.path, token_or("%FF")),
                None,
                vec![],
                (route.path.matches('{').count() > usize::from(route.path.contains("{token}")))
                    .then_some(StatusCode::BAD_REQUEST),
            ));
        }
        let body_case =
            |expected: StatusCode, wanted: BodyKind| (route.body == wanted).then_some(expected);
        cases.push((
            "a body over the limit",
            path.clone(),
            Some("application/json"),
            over_limit.clone(),
            // A multipart route refuses a JSON content type before it reads the body.
            match route.body {
                BodyKind::None => None,
                BodyKind::Multipart => Some(StatusCode::BAD_REQUEST),
                _ => Some(StatusCode::PAYLOAD_TOO_LARGE),
            },
        ));
        cases.push((
            "a text/plain body",
            path.clone(),
            Some("text/plain"),
            br#"{"name": "x"}"#.to_vec(),
            body_case(StatusCode::UNSUPPORTED_MEDIA_TYPE, BodyKind::Json),
        ));
        cases.push((
            "malformed JSON",
            path.clone(),
            Some("application/json"),
            br#"{"name": "#.to_vec(),
            body_case(StatusCode::BAD_REQUEST, BodyKind::Json)
                .or(body_case(StatusCode::BAD_REQUEST, BodyKind::Multipart)),
        ));
        cases.push((
            "JSON to a multipart route",
            path.clone(),
            Some("application/json"),
            br#"{"file": "x"}"#.to_vec(),
            body_case(StatusCode::BAD_REQUEST, BodyKind::Multipart),
        ));
        for (case, path, content_type, body, expected) in cases {
            let what = format!("{} {} with {case}", route.method, path);
            let credential = if route.path.starts_with("/v1/public/conversations/") {
                &visitor
            } else {
                &key
            };
            let mut request = client
                .request(route.method.clone(), format!("{}{path}", app.base))
                .bearer_auth(credential);
            if let Some(content_type) = content_type {
                request = request.header("content-type", content_type).body(body);
            }
            let response = request
                .send()
                .await
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            requests += 1;
            let status = response.status();
            assert!(!status.is_server_error(), "{what}: {status}");
            let streaming = response
                .headers()
                .get("content-type")
                .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
            if streaming {
                assert!(
                    expected.is_none(),
                    "{what}: a stream instead of {expected:?}"
                );
                continue;
            }
            let r = TestApp::read(response).await;
            if let Some(expected) = expected {
                assert_eq!(r.status, expected, "{what}: {}", r.text);
            }
            if !r.status.is_success() {
                assert_error_shape(route.shape, &r, &what);
            }
        }
    }
    assert!(requests > 300, "{requests} requests");
}

/// Sends `body` as `content_type` and reads the answer.
async fn send_raw(
    app: &TestApp,
    method: Method,
    path: &str,
    key: Option<&str>,
    content_type: &str,
    body: Vec<u8>,
) -> common::Response {
    let mut request = app
        .client
        .request(method, format!("{}{path}", app.base))
        .header("content-type", content_type)
        .body(body);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    TestApp::read(request.send().await.unwrap()).await
}

#[tokio::test]
async fn a_retrain_body_over_the_limit_is_a_json_413_natively_and_on_aisa() {
    let app = TestApp::start_with(|c| c.max_body_bytes = 8 * 1024).await;
    let key = app.admin_key.clone();
    let bot = app.create_bot(&key, "Shop").await;
    let big = vec![b' '; 8 * 1024 + 1];
    for (method, path, shape) in [
        (
            Method::POST,
            format!("/v1/bots/{bot}/retrain"),
            Shape::Native,
        ),
        (
            Method::PUT,
            format!("/compat/aisa/v1/chatbot/{bot}/retrain"),
            Shape::Native,
        ),
    ] {
        let r = send_raw(
            &app,
            method,
            &path,
            Some(&key),
            "application/json",
            big.clone(),
        )
        .await;
        assert_eq!(
            r.status,
            StatusCode::PAYLOAD_TOO_LARGE,
            "{path}: {}",
            r.text
        );
        assert_error_shape(shape, &r, &path);
        assert_eq!(r.code(), "PAYLOAD_TOO_LARGE");
        assert!(r.message().contains("larger than this server accepts"));
    }
    let jobs = app.get(&format!("/v1/bots/{bot}/jobs"), &key).await;
    assert!(
        jobs.body["data"].as_array().unwrap().is_empty(),
        "no job started"
    );
}

#[tokio::test]
async fn an_id_with_invalid_utf8_is_a_json_400_on_the_dialect_routes() {
    let app = TestApp::start().await;
    let key = app.admin_key.clone();
    for (method, path, shape) in [
        (Method::GET, "/compat/aisa/v1/chatbot/%FF", Shape::Native),
        (
            Method::POST,
            "/compat/chataibot/api/v1/conversation/%FF/messages",
            Shape::ChatAiBot,
        ),
        (
            Method::DELETE,
            "/compat/asyntai/api/v1/knowledge/%FF",
            Shape::Asyntai,
        ),
        (Method::GET, "/compat/askia/api/bots/%FF", Shape::AskIa),
        (
            Method::GET,
            "/compat/aimylogic/chatapi/%FF/events",
            Shape::Aimylogic,
        ),
        (Method::GET, "/v1/bots/%FF", Shape::Native),
    ] {
        let r = app.request(method, path, Some(&key), None).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}: {}", r.text);
        assert_error_shape(shape, &r, path);
        assert!(r.text.contains("UTF-8"), "{path}: {}", r.text);
    }
}

#[tokio::test]
async fn json_sent_to_an_upload_route_says_to_send_multipart() {
    let app = TestApp::start().await;
    let key = app.admin_key.clone();
    let bot = app.create_bot(&key, "Shop").await;
    for (path, shape) in [
        (format!("/v1/bots/{bot}/sources/file"), Shape::Native),
        (format!("/v1/bots/{bot}/sources/spreadsheet"), Shape::Native),
        (
            "/compat/asyntai/api/v1/knowledge/spreadsheet".to_owned(),
            Shape::Asyntai,
        ),
    ] {
        let r = app.post(&path, &key, json!({"file": "faq.csv"})).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}: {}", r.text);
        assert_error_shape(shape, &r, &path);
        assert!(r.text.contains("multipart/form-data"), "{path}: {}", r.text);
    }
    let sources = app.get(&format!("/v1/bots/{bot}/sources"), &key).await;
    assert!(sources.body["data"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_json_route_refuses_a_text_plain_body_even_where_the_body_is_optional() {
    let app = TestApp::start().await;
    let key = app.admin_key.clone();
    let bot = app.create_bot(&key, "Shop").await;
    let before = app.get(&format!("/v1/bots/{bot}"), &key).await;
    for (method, path) in [
        (Method::POST, format!("/v1/bots/{bot}/retrain")),
        (
            Method::PUT,
            format!("/compat/aisa/v1/chatbot/{bot}/retrain"),
        ),
        (Method::POST, format!("/v1/bots/{bot}/chat-api-token")),
    ] {
        let r = send_raw(
            &app,
            method,
            &path,
            Some(&key),
            "text/plain",
            br#"{"force_retrain": true}"#.to_vec(),
        )
        .await;
        assert_eq!(
            r.status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{path}: {}",
            r.text
        );
        assert_error_shape(Shape::Native, &r, &path);
        assert!(
            r.message().contains("Content-Type: application/json"),
            "{}",
            r.message()
        );
    }
    let jobs = app.get(&format!("/v1/bots/{bot}/jobs"), &key).await;
    assert!(
        jobs.body["data"].as_array().unwrap().is_empty(),
        "no job started"
    );
    let after = app.get(&format!("/v1/bots/{bot}"), &key).await;
    assert_eq!(
        before.body["chat_api_token_prefix"], after.body["chat_api_token_prefix"],
        "the token is unchanged"
    );
    // An empty body still means the defaults.
    let r = send_raw(
        &app,
        Method::POST,
        &format!("/v1/bots/{bot}/chat-api-token"),
        Some(&key),
        "text/plain",
        vec![],
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
}

#[tokio::test]
async fn a_saved_contact_state_must_be_a_json_object() {
    let app = TestApp::start().await;
    let key = app.admin_key.clone();
    let bot = app.create_bot(&key, "Shop").await;
    let r = app
        .chat(
            &key,
            &bot,
            json!({"message": "hello", "contact_id": "visitor-1"}),
        )
        .await;
    let contact = r.body["contact_id"].as_str().unwrap().to_owned();
    let path = format!("/v1/contacts/{contact}/state");
    for document in [json!(null), json!([]), json!("str"), json!(123)] {
        let r = app
            .request(Method::PUT, &path, Some(&key), Some(document.clone()))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{document}: {}", r.text);
        assert_eq!(r.code(), "INVALID_REQUEST");
        assert!(
            r.message().starts_with("state: must be a JSON object"),
            "{}",
            r.message()
        );
    }
    assert_eq!(
        app.get(&path, &key).await.status,
        StatusCode::NOT_FOUND,
        "nothing saved"
    );
    let state = json!({"step": "checkout"});
    let r = app
        .request(Method::PUT, &path, Some(&key), Some(state.clone()))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(app.get(&path, &key).await.body, state);
}

#[tokio::test]
async fn chat_variables_must_be_a_json_object() {
    let app = TestApp::start().await;
    let key = app.admin_key.clone();
    let bot = app.create_bot(&key, "Shop").await;
    for variables in [json!(123), json!(true), json!([]), json!("x")] {
        let r = app
            .chat(
                &key,
                &bot,
                json!({"message": "hello", "variables": variables}),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{variables}: {}", r.text);
        assert!(
            r.message().starts_with("variables: must be a JSON object"),
            "{}",
            r.message()
        );
        assert_eq!(r.body["error"]["details"]["field"], "variables");
    }
    let conversations = app.get("/v1/conversations", &key).await;
    assert!(
        conversations.body["data"].as_array().unwrap().is_empty(),
        "no refused message started a conversation"
    );
    let r = app
        .chat(
            &key,
            &bot,
            json!({"message": "hello", "variables": {"order": "A-1"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

#[tokio::test]
async fn a_refused_request_is_told_to_reset_when_it_may_retry() {
    let app = TestApp::start().await;
    let key = app.create_account("free").await;
    for _ in 0..100 {
        app.get("/v1/account", &key).await;
    }
    let r = app.get("/v1/account", &key).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    let header = |name: &str| -> u64 { r.headers[name].to_str().unwrap().parse().unwrap() };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let (reset, retry_after) = (header("x-ratelimit-reset"), header("retry-after"));
    assert!(
        (1..=36).contains(&retry_after),
        "the free plan gives one request back every 36 s: {retry_after}"
    );
    assert!(
        reset + 1 >= now + retry_after && reset <= now + retry_after + 1,
        "X-RateLimit-Reset {reset} is {} s away, Retry-After says {retry_after} s",
        reset.saturating_sub(now)
    );
}

#[tokio::test]
async fn metrics_need_the_metrics_token_when_one_is_set() {
    let open = TestApp::start().await;
    let r = open.request(Method::GET, "/metrics", None, None).await;
    assert_eq!(r.status, StatusCode::OK, "without a token /metrics is open");

    let token = "metrics-secret-0123456789";
    let app = TestApp::start_with(|c| c.metrics_token = Some(token.to_owned().into())).await;
    let r = app.request(Method::GET, "/metrics", None, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    assert_error_shape(Shape::Native, &r, "/metrics without a token");
    assert_eq!(r.code(), "UNAUTHORIZED");
    assert!(
        r.message().contains("Authorization: Bearer"),
        "{}",
        r.message()
    );
    assert!(!r.text.contains(token));
    let r = app
        .request(
            Method::GET,
            "/metrics",
            Some("metrics-secret-012345678"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = app.get("/metrics", &app.admin_key).await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "an API key is not the token"
    );
    let r = app.get("/metrics", token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    assert!(r.text.contains("sitechat_http_requests_total"));
    // Health stays open to load balancers.
    let r = app.request(Method::GET, "/health", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    let config = format!(
        "{:?}",
        sitechat_core::config::Config {
            metrics_token: Some(token.to_owned().into()),
            ..Default::default()
        }
    );
    assert!(!config.contains(token), "the token is redacted in Debug");
}

#[tokio::test]
async fn successes_that_are_not_json_and_streams_are_left_as_they_are() {
    let app = TestApp::start().await;
    let key = app.admin_key.clone();
    let bot = app.create_bot(&key, "Shop").await;
    for (path, content_type) in [
        ("/metrics", "text/plain"),
        ("/docs", "text/html"),
        ("/openapi.json", "application/json"),
    ] {
        let r = app.request(Method::GET, path, None, None).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        let given = r.headers["content-type"].to_str().unwrap();
        assert!(given.starts_with(content_type), "{path}: {given}");
    }
    let r = app
        .chat(&key, &bot, json!({"message": "hello", "stream": true}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    assert!(common::events(&r.text)
        .iter()
        .any(|(name, _)| name == "done"));
}

#[tokio::test]
async fn unknown_methods_and_routes_of_a_dialect_answer_in_its_shape() {
    let app = TestApp::start().await;
    let key = app.admin_key.clone();
    for (method, path, shape, status) in [
        (
            Method::GET,
            "/compat/chataibot/api/v1/conversations",
            Shape::ChatAiBot,
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            Method::PUT,
            "/compat/asyntai/api/v1/chat",
            Shape::Asyntai,
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            Method::DELETE,
            "/compat/askia/api/widget/chat",
            Shape::AskIa,
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            Method::DELETE,
            "/compat/aisa/v1/chatbot/create",
            Shape::Native,
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            Method::DELETE,
            "/v1/bots",
            Shape::Native,
            StatusCode::METHOD_NOT_ALLOWED,
        ),
    ] {
        let r = app.request(method.clone(), path, Some(&key), None).await;
        assert_eq!(r.status, status, "{method} {path}: {}", r.text);
        assert_error_shape(shape, &r, path);
    }
    for (path, shape) in [
        ("/compat/chataibot/api/v1/nothing", Shape::ChatAiBot),
        ("/compat/asyntai/api/v1/nothing", Shape::Asyntai),
        ("/compat/askia/api/nothing", Shape::AskIa),
        (
            "/compat/aimylogic/chatapi/token/nothing/here",
            Shape::Aimylogic,
        ),
        ("/compat/aisa/v1/nothing", Shape::Native),
    ] {
        let r = app.get(path, &key).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.text);
        assert_error_shape(shape, &r, path);
        assert!(r.text.contains(path), "{path}: {}", r.text);
    }
}
