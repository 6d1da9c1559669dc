//! Fetching one URL, safely and within limits.
//!
//! [`Fetcher`] wraps a client built by the [`SsrfGuard`] (guarded resolver, guarded redirect
//! policy, no proxies) and adds what every caller needs: conditional requests from stored
//! [`Validators`] (`If-None-Match` / `If-Modified-Since`, a `304` comes back as
//! `not_modified`), a body read chunk by chunk that stops at `max_bytes` (and is refused up front
//! when `Content-Length` already says it is too large), the redirect chain, and errors that say
//! which limit or rule stopped the fetch ([`FetchError`]).

use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED};
use url::Url;

use crate::guard::{with_redirect_log, GuardError, RedirectError, SsrfGuard};

/// The default user agent: product token `sitechat`, which is also the name robots.txt rules
/// are matched against.
pub const DEFAULT_USER_AGENT: &str = concat!(
    "sitechat/",
    env!("CARGO_PKG_VERSION"),
    " (+https://github.com/sitechat)"
);

/// How outbound requests are made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchConfig {
    /// Sent as `User-Agent`; keep the `sitechat` product token first.
    pub user_agent: String,
    /// Whole request, body included.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Largest body read, in bytes.
    pub max_bytes: usize,
    /// Redirects followed before [`FetchError::TooManyRedirects`].
    pub max_redirects: usize,
    /// Fetch private, loopback and link-local addresses too (the operator's
    /// `allow_private_networks`).
    pub allow_private: bool,
}

impl Default for FetchConfig {
    fn default() -> Self {
        FetchConfig {
            user_agent: DEFAULT_USER_AGENT.to_owned(),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_bytes: 10 * 1024 * 1024,
            max_redirects: 10,
            allow_private: false,
        }
    }
}

/// HTTP cache validators of a response, sent back on the next request for the same URL.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

impl Validators {
    /// Neither an ETag nor a Last-Modified date.
    pub fn is_empty(&self) -> bool {
        self.etag.is_none() && self.last_modified.is_none()
    }
}

/// A fetched response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The URL asked for.
    pub requested: Url,
    /// The URL that answered, after redirects.
    pub final_url: Url,
    pub status: u16,
    pub content_type: Option<String>,
    /// Empty for a `304 Not Modified`.
    pub body: Vec<u8>,
    /// The response's validators; for a `304` without its own, the ones that were sent.
    pub validators: Validators,
    /// The server answered `304 Not Modified` to the validators that were sent.
    pub not_modified: bool,
    /// Each URL redirected to, in order (the last one is `final_url`); empty without redirects.
    pub redirects: Vec<Url>,
}

/// Why a fetch failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("invalid URL: {0}")]
    InvalidUrl(String),
    #[error(transparent)]
    Blocked(#[from] GuardError),
    #[error("timed out fetching {url}")]
    Timeout { url: String },
    #[error("could not connect to {url}: {message}")]
    Connect { url: String, message: String },
    #[error("{url} is larger than the limit of {limit} bytes")]
    TooLarge { url: String, limit: usize },
    #[error("{0}")]
    RedirectLoop(String),
    #[error("{0}")]
    TooManyRedirects(String),
    #[error("HTTP status {0}")]
    Status(u16),
    #[error("fetching {url} failed: {message}")]
    Request { url: String, message: String },
}

/// Fetches URLs through an SSRF-guarded client. Cheap to share (`Arc`) across tasks.
#[derive(Debug, Clone)]
pub struct Fetcher {
    config: FetchConfig,
    guard: SsrfGuard,
    client: reqwest::Client,
}

impl Fetcher {
    /// A fetcher whose guard allows private networks when `config.allow_private` is set.
    pub fn new(config: FetchConfig) -> Self {
        Self::with_guard(config.clone(), SsrfGuard::new(config.allow_private))
    }

    /// A fetcher with a given guard (for an operator's per-address exceptions).
    pub fn with_guard(config: FetchConfig, guard: SsrfGuard) -> Self {
        let client = guard.client(&config);
        Fetcher {
            config,
            guard,
            client,
        }
    }

    pub fn config(&self) -> &FetchConfig {
        &self.config
    }

    pub fn guard(&self) -> &SsrfGuard {
        &self.guard
    }

    /// Fetches `url` with a `GET`, sending `validators` as conditional headers, reading at most
    /// `config.max_bytes`. A status of 400 or more is [`FetchError::Status`]; a `304` is
    /// `Ok` with `not_modified`.
    pub async fn fetch(
        &self,
        url: &Url,
        validators: Option<&Validators>,
    ) -> Result<Fetched, FetchError> {
        self.fetch_limited(url, validators, self.config.max_bytes)
            .await
    }

    /// [`Fetcher::fetch`] with another body limit (robots.txt, sitemaps and pages each have
    /// their own).
    #[tracing::instrument(skip_all, fields(url = %url))]
    pub async fn fetch_limited(
        &self,
        url: &Url,
        validators: Option<&Validators>,
        max_bytes: usize,
    ) -> Result<Fetched, FetchError> {
        self.guard.check_url(url)?;
        let mut request = self.client.get(url.clone());
        if let Some(v) = validators {
            if let Some(etag) = &v.etag {
                request = request.header(IF_NONE_MATCH, etag);
            }
            if let Some(date) = &v.last_modified {
                request = request.header(IF_MODIFIED_SINCE, date);
            }
        }
        let (sent, redirects) = with_redirect_log(request.send()).await;
        let mut response = sent.map_err(|e| map_error(&e, url))?;

        let status = response.status().as_u16();
        let final_url = response.url().clone();
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let content_type = header(CONTENT_TYPE);
        let mut response_validators = Validators {
            etag: header(ETAG),
            last_modified: header(LAST_MODIFIED),
        };
        if status >= 400 {
            return Err(FetchError::Status(status));
        }
        let not_modified = status == 304;
        if not_modified {
            if let Some(sent) = validators {
                if response_validators.is_empty() {
                    response_validators = sent.clone();
                }
            }
        }

        let too_large = || FetchError::TooLarge {
            url: final_url.to_string(),
            limit: max_bytes,
        };
        let mut body = Vec::new();
        if !not_modified {
            if response
                .content_length()
                .is_some_and(|len| len > max_bytes as u64)
            {
                return Err(too_large());
            }
            while let Some(chunk) = response
                .chunk()
                .await
                .map_err(|e| map_error(&e, &final_url))?
            {
                if body.len() + chunk.len() > max_bytes {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
        }

        Ok(Fetched {
            requested: url.clone(),
            final_url,
            status,
            content_type,
            body,
            validators: response_validators,
            not_modified,
            redirects,
        })
    }
}

/// Maps a reqwest error to a [`FetchError`], finding the guard's and the redirect policy's own
/// errors in its source chain.
fn map_error(error: &reqwest::Error, url: &Url) -> FetchError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if let Some(guard) = e.downcast_ref::<GuardError>() {
            return FetchError::Blocked(guard.clone());
        }
        if let Some(redirect) = e.downcast_ref::<RedirectError>() {
            return match redirect {
                RedirectError::Blocked(guard) => FetchError::Blocked(guard.clone()),
                RedirectError::Loop { .. } => FetchError::RedirectLoop(redirect.to_string()),
                RedirectError::TooMany { .. } => FetchError::TooManyRedirects(redirect.to_string()),
            };
        }
        source = e.source();
    }
    let url = url.to_string();
    if error.is_timeout() {
        FetchError::Timeout { url }
    } else if error.is_connect() {
        FetchError::Connect {
            url,
            message: error_chain(error),
        }
    } else if error.is_builder() {
        FetchError::InvalidUrl(error_chain(error))
    } else {
        FetchError::Request {
            url,
            message: error_chain(error),
        }
    }
}

/// The error and its causes, without repeating the URL reqwest puts in its own message.
fn error_chain(error: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    let mut source = std::error::Error::source(error);
    while let Some(e) = source {
        let text = e.to_string();
        if !parts.contains(&text) {
            parts.push(text);
        }
        source = e.source();
    }
    if parts.is_empty() {
        parts.push(error.to_string());
    }
    parts.join(": ")
}
