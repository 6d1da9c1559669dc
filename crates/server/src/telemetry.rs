//! Prometheus metrics (one registry per server, so servers in one process never mix counts) and
//! the middleware that records every request.

use std::time::Instant;

use axum::{
    extract::{MatchedPath, Request, State},
    http::header,
    middleware::Next,
    response::{IntoResponse, Response},
};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use sitechat_core::model::Outcome;
use subtle::ConstantTimeEq;

use crate::{error::ApiError, state::AppState};

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    answers: IntCounterVec,
    sentence_vectors: IntCounterVec,
    sentences_ingested: IntCounterVec,
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "sitechat_http_requests_total",
                "HTTP requests by route and status",
            ),
            &["method", "route", "status"],
        )
        .expect("valid metric");
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "sitechat_http_request_duration_seconds",
                "HTTP request latency by route",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            &["method", "route"],
        )
        .expect("valid metric");
        let answers = IntCounterVec::new(
            Opts::new("sitechat_answers_total", "Bot replies by outcome"),
            &["outcome"],
        )
        .expect("valid metric");
        let sentence_vectors = IntCounterVec::new(
            Opts::new(
                "sitechat_sentence_vectors_total",
                "Vectors of passages' sentences weighed for questions, by where they came from: \
                 cache (memory), stored (embedded at ingest) or model (embedded for the question)",
            ),
            &["from"],
        )
        .expect("valid metric");
        let sentences_ingested = IntCounterVec::new(
            Opts::new(
                "sitechat_sentences_ingested_total",
                "Sentences of passages given a vector at ingest, by how: model (embedded) or \
                 reused (the same text met earlier in the batch or still in memory)",
            ),
            &["from"],
        )
        .expect("valid metric");
        for metric in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(answers.clone()),
            Box::new(sentence_vectors.clone()),
            Box::new(sentences_ingested.clone()),
        ] {
            registry.register(metric).expect("metric registered once");
        }
        for outcome in Outcome::ALL {
            answers.with_label_values(&[outcome.as_str()]);
        }
        for from in SentenceVectorsFrom::ALL {
            sentence_vectors.with_label_values(&[from.as_str()]);
        }
        for from in ["model", "reused"] {
            sentences_ingested.with_label_values(&[from]);
        }
        Self {
            registry,
            requests,
            latency,
            answers,
            sentence_vectors,
            sentences_ingested,
        }
    }

    /// Counts sentence vectors used for a question.
    pub fn sentence_vectors(&self, from: SentenceVectorsFrom, count: usize) {
        self.sentence_vectors
            .with_label_values(&[from.as_str()])
            .inc_by(count as u64);
    }

    /// Counts sentences given a vector at ingest: `embedded` by the model, `reused` from
    /// another sentence of the same text.
    pub fn sentences_ingested(&self, embedded: usize, reused: usize) {
        let count = |from: &str, n: usize| {
            self.sentences_ingested
                .with_label_values(&[from])
                .inc_by(n as u64);
        };
        count("model", embedded);
        count("reused", reused);
    }

    pub fn answer(&self, outcome: Outcome) {
        self.answers.with_label_values(&[outcome.as_str()]).inc();
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        // Encoding into a Vec cannot fail for well-formed metrics.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buffer);
        String::from_utf8(buffer).unwrap_or_default()
    }
}

/// Where a sentence vector used for a question came from.
#[derive(Debug, Clone, Copy)]
pub enum SentenceVectorsFrom {
    Cache,
    Stored,
    Model,
}

impl SentenceVectorsFrom {
    const ALL: [Self; 3] = [Self::Cache, Self::Stored, Self::Model];

    fn as_str(self) -> &'static str {
        match self {
            Self::Cache => "cache",
            Self::Stored => "stored",
            Self::Model => "model",
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Records each request's route (the matched pattern, never the raw path), status and latency.
pub async fn record(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    state
        .metrics
        .requests
        .with_label_values(&[&method, &route, &status])
        .inc();
    state
        .metrics
        .latency
        .with_label_values(&[&method, &route])
        .observe(started.elapsed().as_secs_f64());
    response
}

/// The route of the Prometheus exposition.
pub const METRICS_PATH: &str = "/metrics";

/// Guards `/metrics` with the configured `metrics_token`: when one is set, the request must carry
/// `Authorization: Bearer <token>` (401 otherwise); when none is set, `/metrics` is open.
pub async fn require_metrics_token(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let guarded = request
        .extensions()
        .get::<MatchedPath>()
        .is_some_and(|p| p.as_str() == METRICS_PATH);
    if let (true, Some(token)) = (guarded, &state.config.metrics_token) {
        let presented = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if !presented.is_some_and(|given| token_matches(token, given.trim())) {
            let mut refused = ApiError::Unauthorized(
                "/metrics needs the header `Authorization: Bearer <metrics_token>` \
                 (the server's SITECHAT_METRICS_TOKEN)"
                    .to_owned(),
            )
            .into_response();
            refused.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"metrics\""),
            );
            return refused;
        }
    }
    next.run(request).await
}

/// Compares a presented token with the configured one in constant time (both are hashed first,
/// so neither their contents nor their lengths show in the time taken).
fn token_matches(expected: &SecretString, given: &str) -> bool {
    let expected = Sha256::digest(expected.expose_secret().as_bytes());
    let given = Sha256::digest(given.as_bytes());
    expected.ct_eq(&given).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_configured_token_matches() {
        let token = SecretString::from("metrics-token-0123456789");
        assert!(token_matches(&token, "metrics-token-0123456789"));
        assert!(!token_matches(&token, "metrics-token-012345678"));
        assert!(!token_matches(&token, ""));
        assert!(!token_matches(&token, "METRICS-TOKEN-0123456789"));
    }
}
