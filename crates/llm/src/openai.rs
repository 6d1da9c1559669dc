//! The `openai` engine: a client for any OpenAI-compatible `chat/completions` endpoint.

use std::pin::Pin;
use std::time::Duration;

use eventsource_stream::{Event, EventStreamError, Eventsource};
use futures_core::Stream;
use futures_util::StreamExt;
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::time::Instant;
use url::Url;

use crate::error::{from_reqwest, LlmError};
use crate::prompt::ChatMessage;

/// Default [`OpenAiConfig::timeout`]: a model on a CPU can take this long to read a prompt.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default [`OpenAiConfig::max_tokens`]: room for 1–4 sentences and then some.
pub const DEFAULT_MAX_TOKENS: u32 = 300;
/// Default [`OpenAiConfig::temperature`]: low, for answers that stay close to the passages.
pub const DEFAULT_TEMPERATURE: f32 = 0.2;

/// A whole stream is cut off after this many times [`OpenAiConfig::timeout`].
pub const STREAM_TIMEOUT_FACTOR: u32 = 4;

/// The largest response body read (a non-streamed completion, or a whole stream).
const MAX_RESPONSE_BYTES: usize = 4 << 20;
/// How much of an error body is read to find the endpoint's message.
const MAX_ERROR_BODY_BYTES: usize = 64 << 10;
/// The longest endpoint error message passed on, and the longest body excerpt in `Malformed`.
const MAX_MESSAGE_CHARS: usize = 500;
const MAX_EXCERPT_CHARS: usize = 200;

/// How to reach one OpenAI-compatible endpoint, and how to sample from it. One per bot.
#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    /// The API's base, up to and including its version, e.g. `http://127.0.0.1:8080/v1` or
    /// `https://api.openai.com/v1/` (with or without the final `/`); `chat/completions` is
    /// appended to its path, and its query string is kept.
    pub base_url: Url,
    /// The model name the endpoint expects.
    pub model: String,
    /// Sent as `Authorization: Bearer …` when set and not empty. Never logged, never in errors.
    pub api_key: Option<SecretString>,
    /// For a non-streamed completion, the whole request; for a stream, the wait for the
    /// response headers and for each next event, with the whole stream capped at
    /// [`STREAM_TIMEOUT_FACTOR`] times this.
    pub timeout: Duration,
    /// `max_tokens`: the most tokens the model may generate.
    pub max_tokens: u32,
    /// `temperature`.
    pub temperature: f32,
    /// `stop` sequences; left out of the request when empty. (OpenAI itself accepts at most 4.)
    pub stop: Vec<String>,
}

impl OpenAiConfig {
    /// A configuration with no key, no stop sequences and the `DEFAULT_*` settings.
    pub fn new(base_url: Url, model: impl Into<String>) -> Self {
        Self {
            base_url,
            model: model.into(),
            api_key: None,
            timeout: DEFAULT_TIMEOUT,
            max_tokens: DEFAULT_MAX_TOKENS,
            temperature: DEFAULT_TEMPERATURE,
            stop: Vec::new(),
        }
    }
}

/// A non-streamed answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// The answer as the model wrote it (not trimmed); never empty or only whitespace.
    pub text: String,
    /// `usage.prompt_tokens`, when the endpoint reports it.
    pub prompt_tokens: Option<u32>,
    /// `usage.completion_tokens`, when the endpoint reports it.
    pub completion_tokens: Option<u32>,
    /// `stop`, `length`, …, when the endpoint reports it.
    pub finish_reason: Option<String>,
}

/// A client for one OpenAI-compatible endpoint. Cheap to clone.
#[derive(Debug, Clone)]
pub struct OpenAiEngine {
    config: OpenAiConfig,
    client: reqwest::Client,
    /// `{base_url}/chat/completions`, or why it cannot be made.
    endpoint: Result<Url, String>,
}

impl OpenAiEngine {
    /// `client` is built by the caller (sitechat's SSRF guard makes it); the engine never builds
    /// its own. Its own timeout, if any, is overridden per request by the engine's.
    pub fn new(config: OpenAiConfig, client: reqwest::Client) -> Self {
        let endpoint = completions_url(&config.base_url);
        Self {
            config,
            client,
            endpoint,
        }
    }

    /// The engine's configuration.
    pub fn config(&self) -> &OpenAiConfig {
        &self.config
    }

    /// Non-streaming: `POST {base_url}/chat/completions` with `stream: false`, the whole request
    /// bounded by [`OpenAiConfig::timeout`].
    #[tracing::instrument(skip_all, fields(model = %self.config.model))]
    pub async fn complete(&self, messages: &[ChatMessage]) -> Result<Completion, LlmError> {
        let timeout = self.config.timeout;
        let result = tokio::time::timeout(timeout, async {
            let response = self.send(messages, false, timeout).await?;
            let status = response.status();
            if !status.is_success() {
                return Err(status_error(response).await);
            }
            let body = read_body(response, MAX_RESPONSE_BYTES).await?;
            parse_completion(&body, status.as_u16())
        })
        .await
        .unwrap_or(Err(LlmError::Timeout));
        if let Ok(completion) = &result {
            tracing::debug!(
                prompt_tokens = completion.prompt_tokens,
                completion_tokens = completion.completion_tokens,
                finish_reason = completion.finish_reason.as_deref(),
                "completion received"
            );
        }
        result.map_err(|err| self.redact(err))
    }

    /// Streaming: the same request with `stream: true`. Resolves once the endpoint has answered
    /// with a success status (else the error), then yields the text deltas
    /// (`choices[0].delta.content` of each `data:` event) as they arrive, up to `data: [DONE]`.
    ///
    /// The stream ends after its first error item. Its errors: [`LlmError::Timeout`] when the
    /// gap before an event exceeds [`OpenAiConfig::timeout`] or the stream exceeds
    /// [`STREAM_TIMEOUT_FACTOR`] times it; [`LlmError::Status`] for an `error` object sent in the
    /// stream; [`LlmError::Malformed`] for an event that is not a completion chunk, or a stream
    /// that ends without `[DONE]` and without a `finish_reason`; [`LlmError::Connect`] for a
    /// broken connection; and [`LlmError::Empty`], as the last item, when nothing but whitespace
    /// was yielded before the end. An endpoint that ignores `stream: true` and answers with one
    /// JSON completion is accepted: its text comes as a single delta.
    #[tracing::instrument(skip_all, fields(model = %self.config.model))]
    pub async fn stream(
        &self,
        messages: &[ChatMessage],
    ) -> Result<impl Stream<Item = Result<String, LlmError>> + Send + 'static, LlmError> {
        self.open_stream(messages)
            .await
            .map_err(|err| self.redact(err))
    }

    async fn open_stream(&self, messages: &[ChatMessage]) -> Result<DeltaStream, LlmError> {
        let gap = self.config.timeout;
        let whole = gap.saturating_mul(STREAM_TIMEOUT_FACTOR);
        let deadline = Instant::now() + whole;

        let response = tokio::time::timeout(gap, self.send(messages, true, whole))
            .await
            .map_err(|_| LlmError::Timeout)??;
        let status = response.status();
        if !status.is_success() {
            return tokio::time::timeout(gap, status_error(response))
                .await
                .map_or(Err(LlmError::Timeout), Err);
        }

        let redactor = Redactor(self.config.api_key.clone());
        let is_json = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.trim_start().starts_with("application/json"));
        if is_json {
            let result = tokio::time::timeout_at(deadline, read_body(response, MAX_RESPONSE_BYTES))
                .await
                .unwrap_or(Err(LlmError::Timeout))
                .and_then(|body| parse_completion(&body, status.as_u16()))
                .map(|completion| completion.text)
                .map_err(|err| redactor.redact(err));
            return Ok(futures_util::stream::iter([result]).boxed());
        }

        let mut received = 0usize;
        let bytes = response.bytes_stream().map(move |chunk| {
            let chunk = chunk.map_err(from_reqwest)?;
            received += chunk.len();
            if received > MAX_RESPONSE_BYTES {
                return Err(LlmError::Malformed(format!(
                    "the stream is larger than {MAX_RESPONSE_BYTES} bytes"
                )));
            }
            Ok(chunk)
        });
        let state = SseState {
            events: bytes.eventsource().boxed(),
            gap,
            deadline,
            status: status.as_u16(),
            redactor,
            finished: false,
            saw_text: false,
            saw_finish: false,
        };
        Ok(futures_util::stream::unfold(state, |mut state| async move {
            let item = state.next_delta().await?;
            Some((item, state))
        })
        .boxed())
    }

    async fn send(
        &self,
        messages: &[ChatMessage],
        stream: bool,
        timeout: Duration,
    ) -> Result<reqwest::Response, LlmError> {
        let endpoint = self.endpoint.clone().map_err(LlmError::Connect)?;
        let body = ChatRequest {
            model: &self.config.model,
            messages,
            max_tokens: self.config.max_tokens,
            temperature: self.config.temperature,
            stop: &self.config.stop,
            stream,
        };
        let accept = if stream {
            "text/event-stream"
        } else {
            "application/json"
        };
        let mut request = self
            .client
            .post(endpoint)
            .timeout(timeout)
            .header(ACCEPT, accept)
            .json(&body);
        if let Some(key) = &self.config.api_key {
            let key = key.expose_secret();
            if !key.is_empty() {
                let mut value = HeaderValue::from_str(&format!("Bearer {key}")).map_err(|_| {
                    LlmError::Connect("the API key is not a valid HTTP header value".into())
                })?;
                value.set_sensitive(true);
                request = request.header(AUTHORIZATION, value);
            }
        }
        request.send().await.map_err(from_reqwest)
    }

    fn redact(&self, err: LlmError) -> LlmError {
        Redactor(self.config.api_key.clone()).redact(err)
    }
}

type DeltaStream = Pin<Box<dyn Stream<Item = Result<String, LlmError>> + Send>>;
type EventStream = Pin<Box<dyn Stream<Item = Result<Event, EventStreamError<LlmError>>> + Send>>;

/// Where a stream of server-sent events is.
struct SseState {
    events: EventStream,
    gap: Duration,
    deadline: Instant,
    status: u16,
    redactor: Redactor,
    finished: bool,
    /// Whether a delta with something other than whitespace was yielded.
    saw_text: bool,
    saw_finish: bool,
}

impl SseState {
    /// The next delta, the error that ends the stream, or `None` at its end.
    async fn next_delta(&mut self) -> Option<Result<String, LlmError>> {
        if self.finished {
            return None;
        }
        loop {
            let wait_until = (Instant::now() + self.gap).min(self.deadline);
            let event = match tokio::time::timeout_at(wait_until, self.events.next()).await {
                Err(_) => return self.fail(LlmError::Timeout),
                Ok(Some(Ok(event))) => event,
                Ok(Some(Err(err))) => return self.fail(event_stream_error(err)),
                Ok(None) if self.saw_finish => return self.end(),
                Ok(None) => {
                    return self.fail(LlmError::Malformed("the stream ended before [DONE]".into()))
                }
            };
            let data = event.data.trim();
            if data == "[DONE]" {
                return self.end();
            }
            if event.event == "error" {
                let message = error_message(data.as_bytes())
                    .unwrap_or_else(|| "the endpoint sent an error event".into());
                let status = self.status;
                return self.fail(LlmError::Status { status, message });
            }
            let chunk: StreamChunk = match serde_json::from_str(data) {
                Ok(chunk) => chunk,
                Err(err) => return self.fail(not_a_completion("stream chunk", &err, data)),
            };
            if let Some(error) = chunk.error {
                let err = endpoint_error(&error, self.status);
                return self.fail(err);
            }
            let Some(choices) = chunk.choices else {
                return self.fail(LlmError::Malformed("a stream chunk has no choices".into()));
            };
            // The first choice only (`n` is never set, so there is one).
            let Some(choice) = choices.into_iter().next() else {
                continue; // e.g. a final chunk that carries only `usage`
            };
            if choice.finish_reason.is_some() {
                self.saw_finish = true;
            }
            if let Some(content) = choice.delta.and_then(|delta| delta.content) {
                if !content.is_empty() {
                    self.saw_text |= !content.trim().is_empty();
                    return Some(Ok(content));
                }
            }
        }
    }

    fn end(&mut self) -> Option<Result<String, LlmError>> {
        self.finished = true;
        (!self.saw_text).then_some(Err(LlmError::Empty))
    }

    fn fail(&mut self, err: LlmError) -> Option<Result<String, LlmError>> {
        self.finished = true;
        let err = self.redactor.redact(err);
        tracing::debug!(error = %err, "stream failed");
        Some(Err(err))
    }
}

/// Removes the API key from an error message, should an endpoint echo it back.
#[derive(Clone)]
struct Redactor(Option<SecretString>);

impl Redactor {
    fn redact(&self, err: LlmError) -> LlmError {
        let Some(key) = self.0.as_ref().map(|key| key.expose_secret()) else {
            return err;
        };
        if key.is_empty() {
            return err;
        }
        let scrub = |text: String| {
            if text.contains(key) {
                text.replace(key, "[redacted]")
            } else {
                text
            }
        };
        match err {
            LlmError::Status { status, message } => LlmError::Status {
                status,
                message: scrub(message),
            },
            LlmError::Connect(message) => LlmError::Connect(scrub(message)),
            LlmError::Malformed(message) => LlmError::Malformed(scrub(message)),
            other => other,
        }
    }
}

#[derive(Serialize)]
struct ChatRequest<'a> {
    model: &'a str,
    messages: &'a [ChatMessage],
    max_tokens: u32,
    temperature: f32,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    stop: &'a [String],
    stream: bool,
}

#[derive(Deserialize)]
struct ChatResponse {
    choices: Option<Vec<ResponseChoice>>,
    usage: Option<Usage>,
    error: Option<Value>,
}

#[derive(Deserialize)]
struct ResponseChoice {
    message: Option<ResponseMessage>,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct ResponseMessage {
    content: Option<String>,
}

#[derive(Deserialize)]
struct Usage {
    prompt_tokens: Option<u32>,
    completion_tokens: Option<u32>,
}

#[derive(Deserialize)]
struct StreamChunk {
    choices: Option<Vec<StreamChoice>>,
    error: Option<Value>,
}

#[derive(Deserialize)]
struct StreamChoice {
    delta: Option<Delta>,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Delta {
    content: Option<String>,
}

/// `{base}/chat/completions`, whether or not `base` ends with `/`, keeping its query.
fn completions_url(base: &Url) -> Result<Url, String> {
    let mut url = base.clone();
    url.set_fragment(None);
    url.path_segments_mut()
        .map_err(|()| format!("the base URL {base} cannot take a path"))?
        .pop_if_empty()
        .extend(["chat", "completions"]);
    Ok(url)
}

fn parse_completion(body: &[u8], status: u16) -> Result<Completion, LlmError> {
    let text = String::from_utf8_lossy(body);
    let response: ChatResponse = serde_json::from_str(&text)
        .map_err(|err| not_a_completion("chat completion", &err, &text))?;
    if let Some(error) = response.error {
        return Err(endpoint_error(&error, status));
    }
    let choice = response
        .choices
        .and_then(|choices| choices.into_iter().next())
        .ok_or_else(|| LlmError::Malformed("the completion has no choices".into()))?;
    let text = choice
        .message
        .and_then(|message| message.content)
        .unwrap_or_default();
    if text.trim().is_empty() {
        return Err(LlmError::Empty);
    }
    let usage = response.usage;
    Ok(Completion {
        text,
        prompt_tokens: usage.as_ref().and_then(|usage| usage.prompt_tokens),
        completion_tokens: usage.as_ref().and_then(|usage| usage.completion_tokens),
        finish_reason: choice.finish_reason,
    })
}

/// The `Status` error for a non-success response, with the endpoint's own message.
async fn status_error(response: reqwest::Response) -> LlmError {
    let status = response.status();
    let reason = || status.canonical_reason().unwrap_or("error").to_string();
    let message = match read_prefix(response, MAX_ERROR_BODY_BYTES).await {
        Ok(body) => error_message(&body).unwrap_or_else(reason),
        Err(_) => reason(),
    };
    LlmError::Status {
        status: status.as_u16(),
        message,
    }
}

/// The `Status` error for an `error` object sent with a success status (inside a stream, or by
/// a proxy that answers errors with 200): its numeric `code` when it has one.
fn endpoint_error(error: &Value, status: u16) -> LlmError {
    let code = error
        .get("code")
        .and_then(|code| code.as_u64().or_else(|| code.as_str()?.parse().ok()))
        .and_then(|code| u16::try_from(code).ok())
        .filter(|code| (400..600).contains(code));
    let message = match error {
        Value::String(message) => Some(message.clone()),
        _ => error
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_string),
    }
    .map(|message| clip(&message, MAX_MESSAGE_CHARS))
    .unwrap_or_else(|| clip(&error.to_string(), MAX_MESSAGE_CHARS));
    LlmError::Status {
        status: code.unwrap_or(status),
        message,
    }
}

/// The endpoint's error message in an error body: `error.message` (OpenAI, vLLM, llama.cpp),
/// `error` as a string (Ollama), `message`, or `detail` (FastAPI); else the start of the body.
fn error_message(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let from_json = serde_json::from_str::<Value>(text).ok().and_then(|json| {
        let error = json.get("error");
        let found = error
            .and_then(|error| error.get("message"))
            .or(error.filter(|error| error.is_string()))
            .or_else(|| json.get("message"))
            .or_else(|| json.get("detail"))?;
        Some(match found {
            Value::String(message) => message.clone(),
            other => other.to_string(),
        })
    });
    let message = from_json.unwrap_or_else(|| text.to_string());
    let message = clip(message.trim(), MAX_MESSAGE_CHARS);
    (!message.is_empty()).then_some(message)
}

fn not_a_completion(what: &str, err: &serde_json::Error, body: &str) -> LlmError {
    LlmError::Malformed(format!(
        "expected a {what} (JSON): {err}; the body starts with: {:?}",
        clip(body.trim(), MAX_EXCERPT_CHARS)
    ))
}

fn event_stream_error(err: EventStreamError<LlmError>) -> LlmError {
    match err {
        EventStreamError::Transport(err) => err,
        EventStreamError::Utf8(_) => LlmError::Malformed("the stream is not valid UTF-8".into()),
        EventStreamError::Parser(err) => LlmError::Malformed(format!(
            "the stream is not valid server-sent events: {err:?}"
        )),
    }
}

async fn read_body(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, LlmError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(from_reqwest)? {
        if body.len() + chunk.len() > limit {
            return Err(LlmError::Malformed(format!(
                "the response is larger than {limit} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Up to `limit` bytes of the body; the rest is not read.
async fn read_prefix(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, LlmError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(from_reqwest)? {
        body.extend_from_slice(&chunk);
        if body.len() >= limit {
            body.truncate(limit);
            break;
        }
    }
    Ok(body)
}

/// At most `max` characters, on one line, with `…` when cut.
fn clip(text: &str, max: usize) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= max {
        return one_line;
    }
    let mut clipped: String = one_line.chars().take(max.saturating_sub(1)).collect();
    clipped.push('…');
    clipped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_is_joined_with_or_without_a_final_slash() {
        for base in ["http://h:1/v1", "http://h:1/v1/"] {
            let url = completions_url(&base.parse().unwrap()).unwrap();
            assert_eq!(url.as_str(), "http://h:1/v1/chat/completions");
        }
        let url = completions_url(&"http://h/openai/v1?api-version=2".parse().unwrap()).unwrap();
        assert_eq!(
            url.as_str(),
            "http://h/openai/v1/chat/completions?api-version=2"
        );
        assert!(completions_url(&"mailto:x@y".parse().unwrap()).is_err());
    }

    #[test]
    fn error_messages_are_found_in_the_usual_shapes() {
        let message = |body: &str| error_message(body.as_bytes());
        assert_eq!(
            message(r#"{"error":{"message":"bad key","type":"x"}}"#).unwrap(),
            "bad key"
        );
        assert_eq!(
            message(r#"{"error":"model not found"}"#).unwrap(),
            "model not found"
        );
        assert_eq!(message(r#"{"detail":"Not Found"}"#).unwrap(), "Not Found");
        assert_eq!(message("upstream\n down").unwrap(), "upstream down");
        assert_eq!(message("  "), None);
        assert!(message(&"x".repeat(10_000)).unwrap().chars().count() <= MAX_MESSAGE_CHARS);
    }

    #[test]
    fn an_echoed_key_is_redacted() {
        let redactor = Redactor(Some("sk-secret".into()));
        let err = redactor.redact(LlmError::Status {
            status: 401,
            message: "Incorrect API key provided: sk-secret".into(),
        });
        assert!(!err.to_string().contains("sk-secret"), "{err}");
    }

    #[test]
    fn the_key_is_not_in_debug_output() {
        let mut config = OpenAiConfig::new("http://h/v1".parse().unwrap(), "m");
        config.api_key = Some("sk-secret".into());
        let engine = OpenAiEngine::new(config, reqwest::Client::new());
        assert!(!format!("{engine:?}").contains("sk-secret"));
    }
}
