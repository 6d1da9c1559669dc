//! The `openai` engine against a real OpenAI-compatible server on 127.0.0.1, started per test.

use std::convert::Infallible;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use futures_util::StreamExt;
use serde_json::{json, Value};
use sitechat_llm::{
    build_messages, declined, ChatMessage, LlmError, OpenAiConfig, OpenAiEngine, Passage,
    PromptInput, Role, Turn, NO_ANSWER,
};
use url::Url;

const ANSWER: &str =
    "We are open Monday to Friday, from 9:00 to 17:00. On Saturdays we open at 10:00.";
/// The engine timeout in the tests that wait for one.
const SHORT: Duration = Duration::from_millis(300);

/// What the test server does with a chat completion request.
#[derive(Clone)]
enum Behavior {
    /// Answers `text`: one JSON completion, or a stream of small deltas with short pauses.
    Answer(&'static str),
    /// Answers with this status and body.
    Status(u16, &'static str),
    /// Never answers.
    Hang,
    /// Streams one delta, then nothing, without closing.
    StallAfterOne,
    /// Streams a delta every 100 ms, forever.
    Drip,
    /// Answers 200 with a body that is not a completion.
    Garbage,
}

#[derive(Clone)]
struct Recorded {
    path: String,
    authorization: Option<String>,
    body: Value,
}

#[derive(Clone)]
struct ServerState {
    behavior: Behavior,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

struct TestServer {
    base_url: Url,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl TestServer {
    async fn start(behavior: Behavior) -> Self {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let state = ServerState {
            behavior,
            requests: requests.clone(),
        };
        let app = Router::new()
            .route("/v1/chat/completions", post(chat_completions))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let base_url = format!("http://{address}/v1").parse().unwrap();
        Self { base_url, requests }
    }

    fn engine(&self, configure: impl FnOnce(&mut OpenAiConfig)) -> OpenAiEngine {
        let mut config = OpenAiConfig::new(self.base_url.clone(), "test-model");
        config.timeout = Duration::from_secs(5);
        configure(&mut config);
        OpenAiEngine::new(config, client())
    }

    fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

async fn chat_completions(
    State(state): State<ServerState>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let stream = body["stream"].as_bool().unwrap_or(false);
    state.requests.lock().unwrap().push(Recorded {
        path: "/v1/chat/completions".into(),
        authorization: headers
            .get(header::AUTHORIZATION)
            .map(|value| value.to_str().unwrap().to_string()),
        body,
    });
    match state.behavior {
        Behavior::Answer(text) if stream => sse(answer_events(text)),
        Behavior::Answer(text) => Json(json!({
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": "test-model",
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop"
            }],
            "usage": {"prompt_tokens": 321, "completion_tokens": 23, "total_tokens": 344}
        }))
        .into_response(),
        Behavior::Status(code, body) => (
            StatusCode::from_u16(code).unwrap(),
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response(),
        Behavior::Hang => std::future::pending().await,
        Behavior::StallAfterOne => {
            let first = futures_util::stream::iter([Ok::<_, Infallible>(delta_event("We are"))]);
            sse_body(first.chain(futures_util::stream::pending()))
        }
        Behavior::Drip => sse_body(futures_util::stream::repeat(()).then(|()| async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            Ok::<_, Infallible>(delta_event("more "))
        })),
        Behavior::Garbage if stream => sse(vec!["data: {\"choices\": [oops\n\n".to_string()]),
        Behavior::Garbage => (
            [(header::CONTENT_TYPE, "application/json")],
            "{\"choices\": oops",
        )
            .into_response(),
    }
}

/// The events of a streamed answer, as an OpenAI server sends them: a role chunk, the text in
/// pieces of a few characters, a finish chunk, then `[DONE]`.
fn answer_events(text: &str) -> Vec<String> {
    let mut events = vec![chunk_event(
        json!({"role": "assistant", "content": ""}),
        None,
    )];
    let chars: Vec<char> = text.chars().collect();
    for piece in chars.chunks(7) {
        events.push(delta_event(&piece.iter().collect::<String>()));
    }
    events.push(chunk_event(json!({}), Some("stop")));
    events.push("data: [DONE]\n\n".to_string());
    events
}

fn delta_event(content: &str) -> String {
    chunk_event(json!({"content": content}), None)
}

fn chunk_event(delta: Value, finish_reason: Option<&str>) -> String {
    let chunk = json!({
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "model": "test-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]
    });
    format!("data: {chunk}\n\n")
}

/// The events with a 15 ms pause before each.
fn sse(events: Vec<String>) -> Response {
    sse_body(futures_util::stream::iter(events).then(|event| async move {
        tokio::time::sleep(Duration::from_millis(15)).await;
        Ok::<_, Infallible>(event)
    }))
}

fn sse_body(
    events: impl futures_util::Stream<Item = Result<String, Infallible>> + Send + 'static,
) -> Response {
    (
        [(header::CONTENT_TYPE, "text/event-stream")],
        Body::from_stream(events),
    )
        .into_response()
}

/// Every test is bounded in time.
async fn bounded<T>(test: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(15), test)
        .await
        .expect("the test took longer than 15 s")
}

fn question() -> Vec<ChatMessage> {
    vec![
        ChatMessage::system("Answer briefly."),
        ChatMessage::user("When are you open?"),
    ]
}

/// Streams an answer and collects its items on a spawned task (which also checks that the stream
/// is `Send + 'static`, as a server handler needs).
async fn collect(engine: &OpenAiEngine) -> Result<Vec<Result<String, LlmError>>, LlmError> {
    let stream = engine.stream(&question()).await?;
    Ok(tokio::spawn(stream.collect::<Vec<_>>()).await.unwrap())
}

#[tokio::test]
async fn the_request_carries_the_model_messages_settings_and_key() {
    bounded(async {
        let server = TestServer::start(Behavior::Answer(ANSWER)).await;
        let engine = server.engine(|config| {
            config.api_key = Some("sk-test-123".into());
            config.max_tokens = 128;
            config.temperature = 0.1;
            config.stop = vec!["\nVisitor:".into(), "</s>".into()];
        });
        engine.complete(&question()).await.unwrap();

        let requests = server.requests();
        assert_eq!(requests.len(), 1);
        let request = &requests[0];
        assert_eq!(request.path, "/v1/chat/completions");
        assert_eq!(request.authorization.as_deref(), Some("Bearer sk-test-123"));
        let body = &request.body;
        assert_eq!(body["model"], "test-model");
        assert_eq!(body["stream"], false);
        assert_eq!(body["max_tokens"], 128);
        assert!((body["temperature"].as_f64().unwrap() - 0.1).abs() < 1e-6);
        assert_eq!(body["stop"], json!(["\nVisitor:", "</s>"]));
        let roles: Vec<&str> = body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["role"].as_str().unwrap())
            .collect();
        assert_eq!(roles, ["system", "user"]);
        assert_eq!(body["messages"][1]["content"], "When are you open?");
    })
    .await;
}

#[tokio::test]
async fn a_base_url_with_a_final_slash_and_no_key_work_too() {
    bounded(async {
        let server = TestServer::start(Behavior::Answer(ANSWER)).await;
        let mut config = OpenAiConfig::new(format!("{}/", server.base_url).parse().unwrap(), "m");
        config.timeout = Duration::from_secs(5);
        let engine = OpenAiEngine::new(config, client());
        engine.complete(&question()).await.unwrap();

        let request = &server.requests()[0];
        assert_eq!(request.authorization, None);
        assert!(
            request.body.get("stop").is_none(),
            "empty stop sequences are left out"
        );
    })
    .await;
}

#[tokio::test]
async fn a_non_streamed_answer_comes_with_its_usage() {
    bounded(async {
        let server = TestServer::start(Behavior::Answer(ANSWER)).await;
        let completion = server.engine(|_| {}).complete(&question()).await.unwrap();
        assert_eq!(completion.text, ANSWER);
        assert_eq!(completion.prompt_tokens, Some(321));
        assert_eq!(completion.completion_tokens, Some(23));
        assert_eq!(completion.finish_reason.as_deref(), Some("stop"));
        assert!(!declined(&completion.text));
    })
    .await;
}

#[tokio::test]
async fn a_streamed_answer_arrives_in_deltas_that_add_up_to_the_text() {
    bounded(async {
        let server = TestServer::start(Behavior::Answer(ANSWER)).await;
        let engine = server.engine(|config| config.api_key = Some("sk-stream".into()));
        let items = collect(&engine).await.unwrap();

        let deltas: Vec<String> = items.into_iter().map(Result::unwrap).collect();
        assert!(
            deltas.len() > 5,
            "the answer came in {} deltas",
            deltas.len()
        );
        assert_eq!(deltas.concat(), ANSWER);

        let request = &server.requests()[0];
        assert_eq!(request.body["stream"], true);
        assert_eq!(request.authorization.as_deref(), Some("Bearer sk-stream"));
    })
    .await;
}

#[tokio::test]
async fn deltas_are_yielded_as_they_arrive() {
    bounded(async {
        let server = TestServer::start(Behavior::StallAfterOne).await;
        let engine = server.engine(|config| config.timeout = Duration::from_secs(5));
        let mut stream = Box::pin(engine.stream(&question()).await.unwrap());
        // The server never finishes: the first delta must still come at once.
        let started = Instant::now();
        assert_eq!(stream.next().await.unwrap().unwrap(), "We are");
        assert!(started.elapsed() < Duration::from_secs(2));
    })
    .await;
}

#[tokio::test]
async fn an_unauthorized_request_is_a_status_error_with_the_endpoints_message() {
    bounded(async {
        let body = r#"{"error":{"message":"Incorrect API key provided.","type":"invalid_request_error","code":"invalid_api_key"}}"#;
        let server = TestServer::start(Behavior::Status(401, body)).await;
        let engine = server.engine(|config| config.api_key = Some("sk-wrong".into()));

        for err in [engine.complete(&question()).await.unwrap_err(), collect(&engine).await.err().unwrap()] {
            match &err {
                LlmError::Status { status, message } => {
                    assert_eq!(*status, 401);
                    assert_eq!(message, "Incorrect API key provided.");
                }
                other => panic!("expected Status, got {other:?}"),
            }
            assert_eq!(err.code(), "status");
            assert!(!err.to_string().contains("sk-wrong"));
        }
    })
    .await;
}

#[tokio::test]
async fn a_server_error_is_a_status_error_with_the_endpoints_message() {
    bounded(async {
        let server = TestServer::start(Behavior::Status(500, r#"{"error":"model 'x' not loaded"}"#)).await;
        let err = server.engine(|_| {}).complete(&question()).await.unwrap_err();
        assert!(
            matches!(&err, LlmError::Status { status: 500, message } if message == "model 'x' not loaded"),
            "{err:?}"
        );
        assert_eq!(err.to_string(), "the language model endpoint answered HTTP 500: model 'x' not loaded");
    })
    .await;
}

#[tokio::test]
async fn an_endpoint_that_echoes_the_key_has_it_redacted() {
    bounded(async {
        let body = r#"{"error":{"message":"Incorrect API key provided: sk-leaky-42"}}"#;
        let server = TestServer::start(Behavior::Status(401, body)).await;
        let engine = server.engine(|config| config.api_key = Some("sk-leaky-42".into()));
        let err = engine.complete(&question()).await.unwrap_err();
        assert!(!format!("{err} {err:?}").contains("sk-leaky-42"), "{err:?}");
        assert!(err.to_string().contains("[redacted]"));
    })
    .await;
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    bounded(async {
        let server = TestServer::start(Behavior::Hang).await;
        let engine = server.engine(|config| config.timeout = SHORT);

        let started = Instant::now();
        let err = engine.complete(&question()).await.unwrap_err();
        let elapsed = started.elapsed();
        assert!(matches!(err, LlmError::Timeout), "{err:?}");
        assert!(
            elapsed >= SHORT - Duration::from_millis(20) && elapsed < SHORT * 4,
            "{elapsed:?}"
        );

        let started = Instant::now();
        let err = collect(&engine).await.err().unwrap();
        let elapsed = started.elapsed();
        assert!(matches!(err, LlmError::Timeout), "{err:?}");
        assert!(
            elapsed >= SHORT - Duration::from_millis(20) && elapsed < SHORT * 4,
            "{elapsed:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_stream_that_stalls_after_one_delta_ends_with_a_timeout() {
    bounded(async {
        let server = TestServer::start(Behavior::StallAfterOne).await;
        let engine = server.engine(|config| config.timeout = SHORT);
        let started = Instant::now();
        let items = collect(&engine).await.unwrap();
        let elapsed = started.elapsed();

        assert_eq!(items.len(), 2, "{items:?}");
        assert_eq!(items[0].as_ref().unwrap(), "We are");
        assert!(matches!(items[1], Err(LlmError::Timeout)), "{items:?}");
        assert!(
            elapsed >= SHORT - Duration::from_millis(20) && elapsed < SHORT * 4,
            "{elapsed:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_stream_that_never_ends_is_cut_at_four_times_the_timeout() {
    bounded(async {
        let server = TestServer::start(Behavior::Drip).await;
        let engine = server.engine(|config| config.timeout = SHORT);
        let started = Instant::now();
        let items = collect(&engine).await.unwrap();
        let elapsed = started.elapsed();

        let (last, deltas) = items.split_last().unwrap();
        assert!(matches!(last, Err(LlmError::Timeout)), "{last:?}");
        assert!(
            deltas.len() >= 3 && deltas.iter().all(Result::is_ok),
            "{items:?}"
        );
        assert!(
            elapsed >= SHORT * 4 - Duration::from_millis(20)
                && elapsed < SHORT * 4 + Duration::from_secs(1),
            "{elapsed:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_closed_port_is_a_connection_error() {
    bounded(async {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let mut config =
            OpenAiConfig::new(format!("http://127.0.0.1:{port}/v1").parse().unwrap(), "m");
        config.timeout = Duration::from_secs(5);
        config.api_key = Some("sk-closed".into());
        let engine = OpenAiEngine::new(config, client());

        for err in [
            engine.complete(&question()).await.unwrap_err(),
            collect(&engine).await.err().unwrap(),
        ] {
            let LlmError::Connect(message) = &err else {
                panic!("expected Connect, got {err:?}");
            };
            assert!(message.to_lowercase().contains("connect"), "{message}");
            assert!(!message.contains("sk-closed"));
        }
    })
    .await;
}

#[tokio::test]
async fn garbage_is_a_malformed_response() {
    bounded(async {
        let server = TestServer::start(Behavior::Garbage).await;
        let engine = server.engine(|_| {});

        let err = engine.complete(&question()).await.unwrap_err();
        assert!(
            matches!(&err, LlmError::Malformed(message) if message.contains("oops")),
            "{err:?}"
        );

        let items = collect(&engine).await.unwrap();
        assert_eq!(items.len(), 1, "{items:?}");
        assert!(matches!(items[0], Err(LlmError::Malformed(_))), "{items:?}");
    })
    .await;
}

#[tokio::test]
async fn a_declining_model_is_detected() {
    bounded(async {
        let server = TestServer::start(Behavior::Answer(NO_ANSWER)).await;
        let engine = server.engine(|_| {});

        let completion = engine.complete(&question()).await.unwrap();
        assert!(declined(&completion.text));

        let streamed: String = collect(&engine)
            .await
            .unwrap()
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(streamed, NO_ANSWER);
        assert!(declined(&streamed));
        assert!(declined("  ") && !declined(ANSWER));
    })
    .await;
}

#[tokio::test]
async fn an_empty_answer_is_an_empty_error() {
    bounded(async {
        let server = TestServer::start(Behavior::Answer("  \n ")).await;
        let engine = server.engine(|_| {});

        let err = engine.complete(&question()).await.unwrap_err();
        assert!(matches!(err, LlmError::Empty), "{err:?}");

        let items = collect(&engine).await.unwrap();
        assert!(
            matches!(items.last(), Some(Err(LlmError::Empty))),
            "{items:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn the_grounded_prompt_reaches_the_endpoint() {
    bounded(async {
        let server = TestServer::start(Behavior::Answer(ANSWER)).await;
        let passages = passages(3, 200);
        let history = history(2);
        let input = PromptInput {
            question: "When are you open?",
            passages: &passages,
            history: &history,
            language: "en",
            bot_name: "Ada",
        };
        server
            .engine(|_| {})
            .complete(&build_messages(&input, 4_000))
            .await
            .unwrap();

        let body = &server.requests()[0].body;
        let roles: Vec<&str> = body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["role"].as_str().unwrap())
            .collect();
        assert_eq!(roles, ["system", "user", "assistant", "user"]);
        let last = body["messages"][3]["content"].as_str().unwrap();
        assert!(
            last.contains("[1] Page 1") && last.contains("[3] Page 3"),
            "{last}"
        );
        assert!(last.ends_with("Question: When are you open?"), "{last}");
    })
    .await;
}

fn passages(count: usize, text_chars: usize) -> Vec<Passage> {
    (1..=count)
        .map(|i| Passage {
            title: format!("Page {i}"),
            url: Some(format!("https://example.com/page-{i}")),
            text: "word ".repeat(text_chars / 5).trim_end().to_string(),
        })
        .collect()
}

fn history(count: usize) -> Vec<Turn> {
    (0..count)
        .map(|i| Turn {
            role: if i % 2 == 0 {
                Role::Visitor
            } else {
                Role::Assistant
            },
            text: format!("turn {i}: {}", "chat ".repeat(20)),
        })
        .collect()
}

fn prompt_chars(messages: &[ChatMessage]) -> usize {
    messages.iter().map(|m| m.content.chars().count()).sum()
}

#[test]
fn the_prompt_stays_under_the_budget_with_every_passage_numbered() {
    let passages = passages(8, 3_000);
    let history = history(10);
    let input = PromptInput {
        question: "Do you deliver to Lyon, and how much does it cost?",
        passages: &passages,
        history: &history,
        language: "fr",
        bot_name: "Ada",
    };
    for max in [3_000, 6_000, 12_000, 20_000] {
        let messages = build_messages(&input, max);
        assert!(
            prompt_chars(&messages) <= max,
            "{} > {max}",
            prompt_chars(&messages)
        );

        let system = &messages[0];
        assert_eq!(system.role, "system");
        assert!(system.content.contains("French"), "{}", system.content);
        assert!(system.content.contains(NO_ANSWER));
        assert!(system.content.contains("ONLY"));
        assert!(system.content.contains("Ada"));

        let last = messages.last().unwrap();
        assert_eq!(last.role, "user");
        for i in 1..=8 {
            assert!(
                last.content.contains(&format!("[{i}] Page {i}\n")),
                "passage {i} at {max}"
            );
            assert!(last
                .content
                .contains(&format!("https://example.com/page-{i}")));
        }
        assert!(!last.content.contains("[9]"));
        assert!(last.content.contains("Do you deliver to Lyon"));
        assert!(last.content.contains('…'), "the passages were cut at {max}");
        assert!(
            messages.len() - 2 <= 6,
            "{} history messages",
            messages.len() - 2
        );
    }

    // With room for everything, nothing is cut, and exactly the last 6 turns are kept.
    let messages = build_messages(&input, 1_000_000);
    assert!(!messages.last().unwrap().content.contains('…'));
    let history_messages = &messages[1..messages.len() - 1];
    assert_eq!(history_messages.len(), 6);
    assert!(
        history_messages[0].content.starts_with("turn 4:"),
        "{}",
        history_messages[0].content
    );
    assert!(history_messages[5].content.starts_with("turn 9:"));
    let roles: Vec<&str> = history_messages.iter().map(|m| m.role.as_str()).collect();
    assert_eq!(
        roles,
        [
            "user",
            "assistant",
            "user",
            "assistant",
            "user",
            "assistant"
        ]
    );
}

#[test]
fn short_passages_give_their_room_to_long_ones() {
    let mut passages = passages(3, 4_000);
    passages[0].text = "Short passage.".into();
    let input = PromptInput {
        question: "q",
        passages: &passages,
        history: &[],
        language: "English",
        bot_name: "",
    };
    let messages = build_messages(&input, 5_000);
    assert_eq!(messages.len(), 2);
    assert!(prompt_chars(&messages) <= 5_000);
    let user = &messages[1].content;
    assert!(
        user.contains("Short passage.\n"),
        "short passages are kept whole"
    );
    assert!(messages[0].content.contains("English"));
    // The remaining room is used, not wasted.
    assert!(
        prompt_chars(&messages) > 4_900,
        "{}",
        prompt_chars(&messages)
    );
}
