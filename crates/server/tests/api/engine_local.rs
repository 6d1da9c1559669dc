//! The `local` engine with the real SmolLM2-135M-Instruct model: the model words the answer
//! and retrieval keeps its sources; streamed pieces make the reply; without the model the reply
//! is the extractive answer; its settings are checked.
//!
//! These tests need the model: run `make models` first. Without it they fail, on purpose.

use crate::common;

use common::{events, TestApp, SHOP_FAQ};
use reqwest::StatusCode;
use serde_json::{json, Value};

const QUESTION: &str = "When are you open on Saturdays?";

fn require_the_model() {
    let dir = sitechat_embed::default_models_dir();
    if let Err(e) = sitechat_local::locate(&dir) {
        panic!("{e} (these tests need the model: run make models)");
    }
}

/// The title and snippet of each source (two bots' sources differ in their ids).
fn sources(reply: &Value) -> Vec<(Value, Value)> {
    reply["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .map(|s| (s["title"].clone(), s["snippet"].clone()))
        .collect()
}

/// A bot answering from the shop FAQ with the given engine.
async fn shop_bot(app: &TestApp, key: &str, engine: Value) -> String {
    let bot = app.create_bot(key, "Shop").await;
    app.add_text(key, &bot, "FAQ", SHOP_FAQ).await;
    let r = app
        .patch(
            &format!("/v1/bots/{bot}"),
            key,
            json!({"settings": {"engine": engine}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    bot
}

#[tokio::test]
async fn the_local_model_words_the_answer_with_retrievals_sources() {
    require_the_model();
    let app = TestApp::start().await;
    let key = app.create_account("pro").await;
    let health = app.get("/health", &key).await;
    assert_ne!(
        health.body["models"]["generation"], "missing",
        "{}",
        health.text
    );
    assert!(health.body["models"]["engines"]
        .as_array()
        .unwrap()
        .contains(&json!("local")));

    let plain = app.create_bot(&key, "Plain").await;
    app.add_text(&key, &plain, "FAQ", SHOP_FAQ).await;
    let extractive = app.chat(&key, &plain, json!({"message": QUESTION})).await;

    let bot = shop_bot(&app, &key, json!({"kind": "local", "max_tokens": 60})).await;
    let r = app.get(&format!("/v1/bots/{bot}"), &key).await;
    assert_eq!(
        r.body["settings"]["engine"],
        json!({"kind": "local", "max_tokens": 60, "temperature": 0.0})
    );

    let r = app.chat(&key, &bot, json!({"message": QUESTION})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let reply = r.body["reply"].as_str().unwrap();
    println!("local reply: {reply:?}");
    assert_eq!(r.body["outcome"], "answered", "{}", r.text);
    assert!(!reply.trim().is_empty());
    assert_eq!(reply, reply.trim());
    // Retrieval's sources and confidence, whoever words the reply.
    assert!(!sources(&r.body).is_empty());
    assert_eq!(sources(&r.body), sources(&extractive.body), "{}", r.text);
    assert_eq!(r.body["confidence"], extractive.body["confidence"]);
    let health = app.get("/health", &key).await;
    assert_eq!(
        health.body["models"]["generation"], "loaded",
        "{}",
        health.text
    );

    // Greedy: the same question gets the same words, streamed in pieces that make the reply.
    let response = app
        .client
        .post(format!("{}/v1/bots/{bot}/chat", app.base))
        .bearer_auth(&key)
        .json(&json!({"message": QUESTION, "stream": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let events = events(&response.text().await.unwrap());
    let (last, deltas) = events.split_last().expect("events");
    assert_eq!(last.0, "done", "{events:?}");
    assert!(
        deltas.iter().all(|(name, _)| name == "delta"),
        "no reset, no error: {events:?}"
    );
    assert!(deltas.len() > 1, "the text comes in pieces: {events:?}");
    let streamed: String = deltas
        .iter()
        .map(|(_, d)| d["text"].as_str().unwrap())
        .collect();
    assert_eq!(streamed, last.1["reply"].as_str().unwrap());
    assert_eq!(last.1["reply"], reply, "greedy generation is repeatable");
    assert_eq!(last.1["sources"], r.body["sources"]);
}

#[tokio::test]
async fn without_the_model_the_reply_is_the_extractive_answer() {
    let app = TestApp::start_with(|c| {
        c.local_model = Some("/nonexistent/model.gguf".into());
    })
    .await;
    let key = app.create_account("pro").await;
    let health = app.get("/health", &key).await;
    assert_eq!(
        health.body["models"]["generation"], "missing",
        "{}",
        health.text
    );
    assert!(health.body["models"]["generation_detail"]
        .as_str()
        .unwrap()
        .contains("/nonexistent/model.gguf"));
    assert!(!health.body["models"]["engines"]
        .as_array()
        .unwrap()
        .contains(&json!("local")));

    let plain = app.create_bot(&key, "Plain").await;
    app.add_text(&key, &plain, "FAQ", SHOP_FAQ).await;
    let extractive = app.chat(&key, &plain, json!({"message": QUESTION})).await;
    assert_eq!(
        extractive.body["outcome"], "answered",
        "{}",
        extractive.text
    );

    let bot = shop_bot(&app, &key, json!({"kind": "local"})).await;
    let r = app.chat(&key, &bot, json!({"message": QUESTION})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["reply"], extractive.body["reply"], "{}", r.text);
    assert_eq!(r.body["outcome"], "answered");
    assert_eq!(sources(&r.body), sources(&extractive.body));

    // Streamed: the pieces after the last reset make the extractive answer.
    let response = app
        .client
        .post(format!("{}/v1/bots/{bot}/chat", app.base))
        .bearer_auth(&key)
        .json(&json!({"message": QUESTION, "stream": true}))
        .send()
        .await
        .unwrap();
    let events = events(&response.text().await.unwrap());
    let (last, rest) = events.split_last().expect("events");
    assert_eq!(last.0, "done", "{events:?}");
    assert_eq!(last.1["reply"], extractive.body["reply"]);
    let after_reset = rest
        .iter()
        .rposition(|(name, _)| name == "reset")
        .map_or(0, |i| i + 1);
    let streamed: String = rest[after_reset..]
        .iter()
        .map(|(_, d)| d["text"].as_str().unwrap())
        .collect();
    assert_eq!(streamed, extractive.body["reply"].as_str().unwrap());
}

#[tokio::test]
async fn local_engine_settings_are_checked() {
    let app = TestApp::start().await;
    let key = app.create_account("pro").await;
    let bot = app.create_bot(&key, "Shop").await;
    let path = format!("/v1/bots/{bot}");
    for (engine, field) in [
        (
            json!({"kind": "local", "max_tokens": 0}),
            "settings.engine.max_tokens",
        ),
        (
            json!({"kind": "local", "max_tokens": 5000}),
            "settings.engine.max_tokens",
        ),
        (
            json!({"kind": "local", "temperature": 5}),
            "settings.engine.temperature",
        ),
        (
            json!({"kind": "local", "temperature": -0.5}),
            "settings.engine.temperature",
        ),
        // The model file is the operator's, never a bot's.
        (json!({"kind": "local", "model": "/etc/passwd"}), "model"),
    ] {
        let r = app
            .patch(&path, &key, json!({"settings": {"engine": engine}}))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{engine}: {}", r.text);
        assert!(r.text.contains(field), "{field}: {}", r.text);
    }
    let r = app
        .patch(
            &path,
            &key,
            json!({"settings": {"engine": {"kind": "local", "max_tokens": 1024, "temperature": 0.7}}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let engine = &r.body["settings"]["engine"];
    assert_eq!(engine["kind"], "local");
    assert_eq!(engine["max_tokens"], 1024);
    assert!((engine["temperature"].as_f64().unwrap() - 0.7).abs() < 1e-6);
    let r = app
        .patch(
            &path,
            &key,
            json!({"settings": {"engine": {"kind": "local"}}}),
        )
        .await;
    assert_eq!(
        r.body["settings"]["engine"],
        json!({"kind": "local", "max_tokens": 200, "temperature": 0.0})
    );

    // The OpenAPI document describes the engine.
    let docs = app.get("/openapi.json", &key).await;
    assert!(docs.text.contains("LocalSettings"), "{}", docs.text.len());
}
