//! `POST /v1/bots/{id}/search`: the passages a bot answers from, best first.

mod common;

use common::{TestApp, SHOP_FAQ};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn search_returns_ranked_passages_with_what_cites_them() {
    let app = TestApp::start().await;
    let key = app.create_account("pro").await;
    let bot = app.create_bot(&key, "Shop").await;
    app.add_text(&key, &bot, "FAQ", SHOP_FAQ).await;
    let r = app
        .post(
            &format!("/v1/bots/{bot}/search"),
            &key,
            json!({"query": "How long do refunds take?", "k": 2}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let data = r.body["data"].as_array().unwrap();
    assert!(!data.is_empty() && data.len() <= 2, "{}", r.text);
    assert_eq!(data[0]["rank"], 1);
    assert_eq!(data[0]["heading"], "Returns");
    assert!(data[0]["snippet"].as_str().unwrap().contains("30 days"));
    assert!(data[0]["score"].as_f64().unwrap() > 0.0);
    assert!(data[0]["chunk_id"].as_str().unwrap().starts_with("chk_"));
    assert!(r.body["retrieval"].is_string());
    // Nothing was stored: searching is not chatting.
    let list = app
        .get(&format!("/v1/conversations?bot_id={bot}"), &key)
        .await;
    assert_eq!(list.body["data"], json!([]));
}

#[tokio::test]
async fn search_refuses_bad_input_and_other_tenants() {
    let app = TestApp::start().await;
    let key = app.create_account("pro").await;
    let bot = app.create_bot(&key, "Shop").await;
    let path = format!("/v1/bots/{bot}/search");
    for (body, field) in [
        (json!({"query": "  "}), "query"),
        (json!({"query": "refunds", "k": 0}), "k"),
        (json!({"query": "refunds", "k": 51}), "k"),
        (json!({"q": "refunds"}), "query"),
    ] {
        let r = app.post(&path, &key, body.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.text);
        assert!(r.text.contains(field), "{body}: {}", r.text);
    }
    let other = app.create_account("pro").await;
    let r = app.post(&path, &other, json!({"query": "refunds"})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    // An empty bot finds nothing, and says so with an empty list.
    let r = app.post(&path, &key, json!({"query": "refunds"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["data"], json!([]));
}
