//! Tenant isolation: account B's key never reads or changes account A's bots, sources or
//! conversations; every such request is a 404, exactly as for an id that does not exist.

use crate::common;

use common::{TestApp, SHOP_FAQ};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn another_accounts_key_gets_not_found_on_every_endpoint() {
    let app = TestApp::start().await;
    let a = app.create_account("pro").await;
    let b = app.create_account("pro").await;

    let bot = app.create_bot(&a, "A's bot").await;
    let source = app.add_text(&a, &bot, "FAQ", SHOP_FAQ).await;
    let chat = app
        .chat(&a, &bot, json!({"message": "Is delivery free?"}))
        .await;
    let conv = chat.body["conversation_id"].as_str().unwrap().to_owned();
    let b_bot = app.create_bot(&b, "B's bot").await;

    let attempts: Vec<(Method, String, Option<serde_json::Value>)> = vec![
        (Method::GET, format!("/v1/bots/{bot}"), None),
        (
            Method::PATCH,
            format!("/v1/bots/{bot}"),
            Some(json!({"name": "stolen"})),
        ),
        (Method::DELETE, format!("/v1/bots/{bot}"), None),
        (Method::GET, format!("/v1/bots/{bot}/sources"), None),
        (
            Method::POST,
            format!("/v1/bots/{bot}/sources/text"),
            Some(json!({"title": "x", "content": "injected knowledge here"})),
        ),
        (
            Method::GET,
            format!("/v1/bots/{bot}/sources/{source}"),
            None,
        ),
        (
            Method::DELETE,
            format!("/v1/bots/{bot}/sources/{source}"),
            None,
        ),
        (
            Method::GET,
            format!("/v1/bots/{b_bot}/sources/{source}"),
            None,
        ),
        (
            Method::DELETE,
            format!("/v1/bots/{b_bot}/sources/{source}"),
            None,
        ),
        (
            Method::POST,
            format!("/v1/bots/{bot}/chat"),
            Some(json!({"message": "Is delivery free?"})),
        ),
        (
            Method::POST,
            format!("/v1/bots/{b_bot}/chat"),
            Some(json!({"message": "hi", "conversation_id": conv})),
        ),
        (Method::GET, format!("/v1/conversations/{conv}"), None),
        (
            Method::GET,
            format!("/v1/conversations/{conv}/messages"),
            None,
        ),
    ];
    for (method, path, body) in attempts {
        let r = app.request(method.clone(), &path, Some(&b), body).await;
        assert_eq!(
            r.status,
            StatusCode::NOT_FOUND,
            "{method} {path}: {}",
            r.text
        );
        assert_eq!(r.code(), "RESOURCE_NOT_FOUND", "{method} {path}");
    }

    // B's lists never show A's objects.
    let bots = app.get("/v1/bots", &b).await;
    let ids: Vec<_> = bots.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, vec![b_bot.clone()]);

    // B's own bot with the same question answers from B's (empty) knowledge only.
    let r = app
        .chat(&b, &b_bot, json!({"message": "Is delivery free?"}))
        .await;
    assert_eq!(r.body["outcome"], "fallback", "{}", r.text);

    // A's data is intact.
    let r = app.get(&format!("/v1/bots/{bot}"), &a).await;
    assert_eq!(r.body["name"], "A's bot");
    let r = app.get(&format!("/v1/bots/{bot}/sources"), &a).await;
    assert_eq!(r.body["data"].as_array().unwrap().len(), 1);
    let r = app
        .get(&format!("/v1/conversations/{conv}/messages"), &a)
        .await;
    assert_eq!(r.body["data"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn keys_are_scoped_to_their_account() {
    let app = TestApp::start().await;
    let a = app.create_account("pro").await;
    let b = app.create_account("pro").await;
    let created = app
        .post("/v1/keys", &a, json!({"name": "ci", "scopes": ["read"]}))
        .await;
    let key_id = created.body["id"].as_str().unwrap().to_owned();

    let b_keys = app.get("/v1/keys", &b).await;
    assert!(b_keys.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|k| k["id"] != key_id.as_str()));
    let r = app.delete(&format!("/v1/keys/{key_id}"), &b).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .get("/v1/account", created.body["secret"].as_str().unwrap())
        .await;
    assert_eq!(r.status, StatusCode::OK, "A's key still works");

    let accounts = app.get("/v1/accounts", &a).await;
    assert_eq!(
        accounts.status,
        StatusCode::FORBIDDEN,
        "tenants cannot list accounts"
    );
}
