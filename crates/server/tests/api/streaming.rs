//! `POST /v1/bots/{id}/chat` with `"stream": true`: server-sent `delta` events, then `done`.

use crate::common;

use common::{events, TestApp, SHOP_FAQ};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_streamed_answer_equals_the_non_streamed_one() {
    let app = TestApp::start().await;
    let key = app.create_account("pro").await;
    let bot = app.create_bot(&key, "Shop").await;
    app.add_text(&key, &bot, "FAQ", SHOP_FAQ).await;
    for question in [
        "When are you open on Saturdays?",
        "Do you sell helicopters?",
        "hello!",
    ] {
        let plain = app.chat(&key, &bot, json!({"message": question})).await;
        assert_eq!(plain.status, StatusCode::OK, "{}", plain.text);

        let r = app
            .client
            .post(format!("{}/v1/bots/{bot}/chat", app.base))
            .bearer_auth(&key)
            .json(&json!({"message": question, "stream": true}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream"));
        let events = events(&r.text().await.unwrap());
        let (last, deltas) = events.split_last().expect("events");
        assert_eq!(last.0, "done", "{events:?}");
        assert!(deltas.iter().all(|(name, _)| name == "delta"), "{events:?}");
        assert!(deltas.len() > 1, "the text comes in pieces: {events:?}");
        let streamed: String = deltas
            .iter()
            .map(|(_, d)| d["text"].as_str().unwrap())
            .collect();
        let done = &last.1;
        assert_eq!(streamed, done["reply"].as_str().unwrap());
        assert_eq!(done["reply"], plain.body["reply"], "{question}");
        assert_eq!(done["outcome"], plain.body["outcome"], "{question}");
        assert_eq!(done["confidence"], plain.body["confidence"], "{question}");
        assert_eq!(
            done["sources"].as_array().unwrap().len(),
            plain.body["sources"].as_array().unwrap().len()
        );
        assert!(done["message_id"].as_str().unwrap().starts_with("msg_"));
        // The streamed reply is stored like any other.
        let conversation = done["conversation_id"].as_str().unwrap();
        let history = app
            .get(&format!("/v1/conversations/{conversation}/messages"), &key)
            .await;
        assert_eq!(history.body["data"][1]["text"], done["reply"]);
    }
}

#[tokio::test]
async fn a_streamed_request_with_bad_input_is_an_ordinary_error() {
    let app = TestApp::start().await;
    let key = app.create_account("pro").await;
    let bot = app.create_bot(&key, "Shop").await;
    let r = app
        .chat(
            &key,
            &bot,
            json!({"message": "hi", "stream": true, "async": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.message().contains("stream"), "{}", r.text);
    let r = app
        .chat(&key, &bot, json!({"message": "  ", "stream": true}))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let other = app.create_account("pro").await;
    let r = app
        .chat(&other, &bot, json!({"message": "hello", "stream": true}))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let list = app
        .get(&format!("/v1/conversations?bot_id={bot}"), &key)
        .await;
    assert_eq!(list.body["data"], json!([]), "nothing stored");
}

#[tokio::test]
async fn a_streamed_answer_retried_with_its_idempotency_key_is_replayed_as_a_stream() {
    let app = TestApp::start().await;
    let key = app.create_account("pro").await;
    let bot = app.create_bot(&key, "Shop").await;
    app.add_text(&key, &bot, "FAQ", SHOP_FAQ).await;
    let send = || {
        app.client
            .post(format!("{}/v1/bots/{bot}/chat", app.base))
            .bearer_auth(&key)
            .header("Idempotency-Key", "stream-1")
            .json(&json!({"message": "When are you open on Saturdays?", "stream": true}))
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first = first.text().await.unwrap();
    let streamed = events(&first);
    assert_eq!(streamed.last().unwrap().0, "done", "{streamed:?}");
    assert!(streamed.len() > 2, "still streamed in pieces: {streamed:?}");

    let again = send().await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert!(again.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    assert_eq!(again.text().await.unwrap(), first, "the same events");

    // Nothing was written twice: one question, one reply.
    let done = &streamed.last().unwrap().1;
    let conversation = done["conversation_id"].as_str().unwrap();
    let history = app
        .get(&format!("/v1/conversations/{conversation}/messages"), &key)
        .await;
    assert_eq!(history.body["data"].as_array().unwrap().len(), 2);
}
