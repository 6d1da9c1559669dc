//! Prometheus metrics (one registry per server, so servers in one process never mix counts) and
//! the middleware that records every request.

use std::time::Instant;

use axum::{
    extract::{MatchedPath, Request, State},
    middleware::Next,
    response::Response,
};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};
use sitechat_core::model::Outcome;

use crate::state::AppState;

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    answers: IntCounterVec,
    sentence_vectors: IntCounterVec,
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
        for metric in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(answers.clone()),
            Box::new(sentence_vectors.clone()),
        ] {
            registry.register(metric).expect("metric registered once");
        }
        for outcome in Outcome::ALL {
            answers.with_label_values(&[outcome.as_str()]);
        }
        for from in SentenceVectorsFrom::ALL {
            sentence_vectors.with_label_values(&[from.as_str()]);
        }
        Self {
            registry,
            requests,
            latency,
            answers,
            sentence_vectors,
        }
    }

    /// Counts sentence vectors used for a question.
    pub fn sentence_vectors(&self, from: SentenceVectorsFrom, count: usize) {
        self.sentence_vectors
            .with_label_values(&[from.as_str()])
            .inc_by(count as u64);
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
