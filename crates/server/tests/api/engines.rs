//! The `openai` engine against a local OpenAI-compatible server started by the test: its words,
//! retrieval's sources and confidence; and a clean fall back to the extractive answer when the
//! endpoint fails, stalls or is not allowed.

use crate::common;

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode as AxumStatus},
    response::IntoResponse,
    routing::post,
    Json, Router,
};
use common::{TestApp, SHOP_FAQ};
use reqwest::StatusCode;
use serde_json::{json, Value};

const WORDED: &str = "We are open on Saturdays from 10am to 4pm.";

/// How the fake endpoint behaves.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Answer,
    Fail,
    Stall,
    Decline,
}

/// Each request the fake endpoint got: its Authorization header and its body.
type Seen = Arc<Mutex<Vec<(Option<String>, Value)>>>;

#[derive(Clone)]
struct Fake {
    mode: Arc<Mutex<Mode>>,
    seen: Seen,
}

async fn completions(
    State(fake): State<Fake>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> axum::response::Response {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    fake.seen.lock().unwrap().push((auth, body.clone()));
    let mode = *fake.mode.lock().unwrap();
    let text = match mode {
        Mode::Fail => {
            return (
                AxumStatus::INTERNAL_SERVER_ERROR,
                Json(json!({"error": {"message": "model overloaded"}})),
            )
                .into_response()
        }
        Mode::Stall => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            WORDED
        }
        Mode::Decline => "NO_ANSWER",
        Mode::Answer => WORDED,
    };
    if body["stream"] == true {
        let mut sse = String::new();
        for piece in text.split_inclusive(' ') {
            let chunk = json!({"choices": [{"delta": {"content": piece}}]});
            sse.push_str(&format!("data: {chunk}\n\n"));
        }
        sse.push_str("data: [DONE]\n\n");
        return ([("content-type", "text/event-stream")], sse).into_response();
    }
    Json(json!({"choices": [{"message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]}))
        .into_response()
}

async fn fake() -> (Fake, String) {
    let fake = Fake {
        mode: Arc::new(Mutex::new(Mode::Answer)),
        seen: Arc::default(),
    };
    let app = Router::new()
        .route("/v1/chat/completions", post(completions))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (fake, format!("http://{addr}/v1"))
}

async fn bot_with_engine(app: &TestApp, key: &str, base_url: &str) -> String {
    let bot = app.create_bot(key, "Shop").await;
    app.add_text(key, &bot, "FAQ", SHOP_FAQ).await;
    let r = app
        .patch(
            &format!("/v1/bots/{bot}"),
            key,
            json!({"settings": {"engine": {"kind": "openai", "base_url": base_url, "model": "tiny", "api_key": "sk-test-secret", "timeout_seconds": 1}}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(!r.text.contains("sk-test-secret"), "the key is never shown");
    assert!(r.body["settings"]["engine"]["api_key_sealed"]
        .as_str()
        .unwrap()
        .starts_with("v1:"));
    bot
}

#[tokio::test]
async fn the_openai_engine_words_the_answer_with_retrievals_sources() {
    let (fake, base_url) = fake().await;
    let app = TestApp::start_with(|c| c.allow_private_networks = true).await;
    let key = app.create_account("pro").await;
    let bot = bot_with_engine(&app, &key, &base_url).await;
    let r = app
        .chat(
            &key,
            &bot,
            json!({"message": "When are you open on Saturdays?"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["reply"], WORDED, "{}", r.text);
    assert_eq!(r.body["outcome"], "answered");
    assert!(r.body["confidence"].as_f64().unwrap() > 0.45);
    assert_eq!(
        r.body["sources"][0]["title"], "FAQ › Opening hours",
        "{}",
        r.text
    );
    let seen = fake.seen.lock().unwrap().clone();
    let (auth, body) = seen.last().unwrap();
    assert_eq!(
        auth.as_deref(),
        Some("Bearer sk-test-secret"),
        "the sealed key is used"
    );
    assert_eq!(body["model"], "tiny");
    let prompt = body["messages"].to_string();
    assert!(
        prompt.contains("10am to 4pm"),
        "the passages are in the prompt"
    );

    // The recent turns go with the next question of the conversation.
    let conversation = r.body["conversation_id"].as_str().unwrap().to_owned();
    app.chat(
        &key,
        &bot,
        json!({"message": "And on Sundays, are you open?", "conversation_id": conversation}),
    )
    .await;
    let seen = fake.seen.lock().unwrap().clone();
    let prompt = seen.last().unwrap().1["messages"].to_string();
    assert!(
        prompt.contains("When are you open on Saturdays?"),
        "{prompt}"
    );
    assert!(prompt.contains(WORDED), "{prompt}");

    // Streamed: the model's own deltas, then the same reply.
    let r = app
        .client
        .post(format!("{}/v1/bots/{bot}/chat", app.base))
        .bearer_auth(&key)
        .json(&json!({"message": "When are you open on Saturdays?", "stream": true}))
        .send()
        .await
        .unwrap();
    let body = r.text().await.unwrap();
    assert!(body.contains("event: delta"), "{body}");
    assert!(body.contains(&format!("\"reply\":\"{WORDED}\"")), "{body}");

    // The model finding nothing in the passages is a fallback.
    *fake.mode.lock().unwrap() = Mode::Decline;
    let r = app
        .chat(
            &key,
            &bot,
            json!({"message": "When are you open on Saturdays?"}),
        )
        .await;
    assert_eq!(r.body["outcome"], "fallback", "{}", r.text);
}

#[tokio::test]
async fn a_failing_or_stalled_endpoint_falls_back_to_the_extractive_answer() {
    let (fake, base_url) = fake().await;
    let app = TestApp::start_with(|c| c.allow_private_networks = true).await;
    let key = app.create_account("pro").await;
    let plain = app.create_bot(&key, "Plain").await;
    app.add_text(&key, &plain, "FAQ", SHOP_FAQ).await;
    let question = json!({"message": "When are you open on Saturdays?"});
    let extractive = app.chat(&key, &plain, question.clone()).await;
    let bot = bot_with_engine(&app, &key, &base_url).await;

    *fake.mode.lock().unwrap() = Mode::Fail;
    let r = app.chat(&key, &bot, question.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["reply"], extractive.body["reply"], "{}", r.text);
    assert_eq!(r.body["outcome"], "answered");

    *fake.mode.lock().unwrap() = Mode::Stall;
    let started = std::time::Instant::now();
    let r = app.chat(&key, &bot, question.clone()).await;
    assert_eq!(r.body["reply"], extractive.body["reply"], "{}", r.text);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the timeout applies"
    );

    // Streamed, a stalled endpoint ends in the extractive answer too.
    let r = app
        .client
        .post(format!("{}/v1/bots/{bot}/chat", app.base))
        .bearer_auth(&key)
        .json(&json!({"message": "When are you open on Saturdays?", "stream": true}))
        .send()
        .await
        .unwrap();
    let body = r.text().await.unwrap();
    assert!(body.contains("event: done"), "{body}");
    assert!(
        body.contains(&extractive.body["reply"].to_string()),
        "{body}"
    );
}

#[tokio::test]
async fn the_endpoint_passes_the_ssrf_guard() {
    let (fake, base_url) = fake().await;
    // Private networks are not allowed: the loopback endpoint is refused, the answer extractive.
    let app = TestApp::start().await;
    let key = app.create_account("pro").await;
    let bot = bot_with_engine(&app, &key, &base_url).await;
    let r = app
        .chat(
            &key,
            &bot,
            json!({"message": "When are you open on Saturdays?"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_ne!(r.body["reply"], WORDED);
    assert!(r.body["reply"].as_str().unwrap().contains("10am"));
    assert!(
        fake.seen.lock().unwrap().is_empty(),
        "no request reached it"
    );
}

#[tokio::test]
async fn engine_settings_are_checked_and_the_key_stays_with_its_endpoint() {
    let app = TestApp::start().await;
    let key = app.create_account("pro").await;
    let bot = app.create_bot(&key, "Shop").await;
    let path = format!("/v1/bots/{bot}");
    for (engine, field) in [
        (
            json!({"kind": "openai", "base_url": "not a url", "model": "m"}),
            "settings.engine.base_url",
        ),
        (
            json!({"kind": "openai", "base_url": "https://llm.example/v1", "model": " "}),
            "settings.engine.model",
        ),
        (
            json!({"kind": "openai", "base_url": "https://llm.example/v1", "model": "m", "timeout_seconds": 0}),
            "settings.engine.timeout_seconds",
        ),
        (json!({"kind": "magic"}), "engine"),
    ] {
        let r = app
            .patch(&path, &key, json!({"settings": {"engine": engine}}))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{engine}: {}", r.text);
        assert!(r.text.contains(field), "{field}: {}", r.text);
    }
    let set = |base: &str, api_key: Option<&str>| {
        let mut engine = json!({"kind": "openai", "base_url": base, "model": "m"});
        if let Some(k) = api_key {
            engine["api_key"] = json!(k);
        }
        json!({"settings": {"engine": engine}})
    };
    let r = app
        .patch(&path, &key, set("https://llm.example/v1", Some("sk-1")))
        .await;
    let sealed = r.body["settings"]["engine"]["api_key_sealed"].clone();
    assert!(sealed.is_string());
    let r = app
        .patch(&path, &key, set("https://llm.example/v1", None))
        .await;
    assert_eq!(
        r.body["settings"]["engine"]["api_key_sealed"], sealed,
        "kept for the same endpoint"
    );
    let r = app
        .patch(&path, &key, set("https://elsewhere.example/v1", None))
        .await;
    assert!(
        r.body["settings"]["engine"]["api_key_sealed"].is_null(),
        "not sent to another host"
    );
    let r = app
        .patch(
            &path,
            &key,
            json!({"settings": {"engine": {"kind": "extractive"}}}),
        )
        .await;
    assert_eq!(r.body["settings"]["engine"], json!({"kind": "extractive"}));
}
