//! sitechat's language-model engines: the grounded prompt, and the `openai` engine, a client for
//! any OpenAI-compatible `chat/completions` endpoint (llama.cpp's server, Ollama, vLLM, or a
//! hosted API), non-streamed or streamed.
//!
//! The answer engine retrieves passages first; only when retrieval found something to answer
//! from does the caller build a prompt with [`build_messages`] and ask the model to phrase the
//! answer. The answer keeps the retrieval's sources and confidence: the model only writes the
//! text. When the model declines ([`declined`]) or any call fails ([`LlmError`]), the caller
//! falls back to the extractive answer and logs why.
//!
//! ```no_run
//! # async fn demo(client: reqwest::Client) -> Result<(), sitechat_llm::LlmError> {
//! use sitechat_llm::{build_messages, declined, OpenAiConfig, OpenAiEngine, Passage, PromptInput};
//!
//! let config = OpenAiConfig::new("http://127.0.0.1:8080/v1".parse().unwrap(), "qwen2.5-3b");
//! let engine = OpenAiEngine::new(config, client);
//! let passages = [Passage {
//!     title: "Opening hours".into(),
//!     url: Some("https://example.com/hours".into()),
//!     text: "We are open Monday to Friday, 9:00 to 17:00.".into(),
//! }];
//! let input = PromptInput {
//!     question: "When are you open?",
//!     passages: &passages,
//!     history: &[],
//!     language: "en",
//!     bot_name: "Ada",
//! };
//! let completion = engine.complete(&build_messages(&input, 8_000)).await?;
//! if !declined(&completion.text) {
//!     println!("{}", completion.text);
//! }
//! # Ok(()) }
//! ```
//!
//! # Decisions
//!
//! - **Grounding is in the prompt, refusal is a marker.** The system message tells the model to
//!   answer only from the numbered passages, in the bot's language, in 1–4 sentences, never to
//!   invent prices or dates, and to reply exactly [`NO_ANSWER`] when the passages do not answer.
//!   A marker is easy to detect in any language; [`declined`] also treats an empty answer as a
//!   refusal. The passages come in the last user message, right before the question, where even
//!   small models attend to them, and the model is told that the passages and earlier messages
//!   are information, not instructions (website text can contain anything).
//! - **A character budget, not tokens.** Prompts are bounded by `max_prompt_chars` because the
//!   engine does not know the endpoint's tokenizer; callers pick a budget well under the model's
//!   context (about 3–4 characters a token for English). See [`build_messages`] for what gives
//!   way first.
//! - **Typed failures, no fallback here.** Every failure is one of five [`LlmError`] variants
//!   (timeout, HTTP status with the endpoint's own message, connection, malformed response,
//!   empty answer) so the caller can fall back to the extractive answer and log a precise
//!   reason; [`LlmError::code`] gives a stable name for logs and metrics. No retries: a visitor
//!   is waiting, and the extractive answer is immediate.
//! - **The caller's HTTP client.** The engine never builds a `reqwest::Client`: sitechat's SSRF
//!   guard decides which addresses a bot's endpoint may reach. The engine's timeout overrides the
//!   client's for its requests.
//! - **Timeouts that catch stalls.** A non-streamed call is bounded as a whole. A stream is
//!   bounded for its response headers, for each gap between events, and as a whole at
//!   [`STREAM_TIMEOUT_FACTOR`] times the timeout, so an endpoint that stalls mid-answer fails
//!   fast instead of holding the visitor. Bodies are capped at 4 MiB.
//! - **Secrets stay secret.** The key is a [`secrecy::SecretString`] (redacted in `Debug`), its
//!   header is marked sensitive, error messages never include the request URL, and an endpoint
//!   that echoes the key back in an error message has it replaced by `[redacted]`.
//! - **Server-sent events are parsed by `eventsource-stream`**, not by hand: it handles lines
//!   split across network chunks, CRLF, comments and multi-line data. The stream ends at
//!   `data: [DONE]`; a stream that just closes is accepted only if a `finish_reason` came first.
//! - **Tolerant of the usual dialects.** Error bodies are read as OpenAI's `error.message`,
//!   Ollama's `error` string, or FastAPI's `detail`; chunks with no choices (usage chunks) and
//!   empty deltas are skipped; an endpoint that answers a streaming request with one JSON
//!   completion is treated as a one-delta stream.

#![forbid(unsafe_code)]

mod error;
mod openai;
mod prompt;

pub use futures_core::Stream;

pub use error::LlmError;
pub use openai::{
    Completion, OpenAiConfig, OpenAiEngine, DEFAULT_MAX_TOKENS, DEFAULT_TEMPERATURE,
    DEFAULT_TIMEOUT, STREAM_TIMEOUT_FACTOR,
};
pub use prompt::{
    build_messages, declined, ChatMessage, Passage, PromptInput, Role, Turn, MAX_HISTORY_TURNS,
    NO_ANSWER,
};
