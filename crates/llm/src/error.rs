//! The one error type of this crate.

/// Why a language-model call produced no answer.
///
/// Every variant is a reason for the caller to fall back to the extractive answer and log the
/// error. The messages never contain the API key, and never the endpoint URL either (the caller
/// knows which endpoint it configured, and a URL can carry credentials).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LlmError {
    /// The endpoint did not answer within the configured timeout: no response headers in time,
    /// a whole non-streamed response not in time, a gap between two streamed events longer than
    /// the timeout, or a stream longer than four times the timeout.
    #[error("the language model endpoint did not answer in time")]
    Timeout,
    /// The endpoint answered with a non-success HTTP status; `message` is the endpoint's own
    /// error message (`error.message` of an OpenAI-style error body, else the start of the body,
    /// else the status's reason phrase). Also used for an `{"error": …}` object sent inside a
    /// stream, with the error's numeric `code` when it has one, else the response's status.
    #[error("the language model endpoint answered HTTP {status}: {message}")]
    Status {
        /// The HTTP status code.
        status: u16,
        /// The endpoint's error message.
        message: String,
    },
    /// The endpoint could not be reached, or the connection broke: connection refused, DNS or
    /// TLS failure, connection reset mid-response, or a request that could not even be built
    /// (an unusable base URL, an API key that is not a valid header value).
    #[error("could not reach the language model endpoint: {0}")]
    Connect(String),
    /// The endpoint answered, but not with a chat completion: invalid JSON, no `choices`, a
    /// stream that is not valid server-sent events or ended before `[DONE]`, or a response
    /// larger than the crate accepts.
    #[error("the language model endpoint sent a malformed response: {0}")]
    Malformed(String),
    /// The model answered with no text (nothing but whitespace).
    #[error("the language model returned an empty answer")]
    Empty,
}

impl LlmError {
    /// A stable, lower-case name for the kind of failure, for logs and metric labels.
    pub fn code(&self) -> &'static str {
        match self {
            LlmError::Timeout => "timeout",
            LlmError::Status { .. } => "status",
            LlmError::Connect(_) => "connect",
            LlmError::Malformed(_) => "malformed",
            LlmError::Empty => "empty",
        }
    }
}

/// Turns a reqwest error into an [`LlmError`], with its whole cause chain (the top-level
/// message alone says only "error sending request") and without the URL.
pub(crate) fn from_reqwest(err: reqwest::Error) -> LlmError {
    if err.is_timeout() {
        return LlmError::Timeout;
    }
    let is_decode = err.is_decode();
    let message = error_chain(&err.without_url());
    if is_decode {
        LlmError::Malformed(message)
    } else {
        LlmError::Connect(message)
    }
}

/// `outer: cause: cause…`, skipping causes whose text the previous level already contains.
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !text.is_empty() && !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}
