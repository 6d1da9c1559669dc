//! What every handler and service shares.

use std::sync::Arc;

use sitechat_answer::AnswerEngine;
use sitechat_core::config::Config;
use sitechat_search::SearchIndex;
use sitechat_store::Store;

use crate::{limits::RateLimits, telemetry::Metrics};

/// The application: configuration, database, search indexes, answer engine, limits, metrics.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Store,
    pub index: Arc<SearchIndex>,
    pub engine: AnswerEngine,
    pub limits: Arc<RateLimits>,
    pub metrics: Arc<Metrics>,
    /// Wakes the job workers when a job is enqueued.
    pub jobs_wake: Arc<tokio::sync::Notify>,
    /// Wakes the webhook delivery worker when deliveries are queued by hand (test, redeliver).
    pub webhooks_wake: Arc<tokio::sync::Notify>,
    /// Live updates of conversations.
    pub live: Arc<crate::live::Live>,
    /// Requests in flight per idempotency key.
    pub idempotency: Arc<crate::idempotency::KeyLocks>,
    /// The local models (embeddings).
    pub models: Arc<crate::models::Models>,
    /// Bots whose chunks are being embedded now (one embedding run per bot at a time).
    pub embedding: Arc<std::sync::Mutex<std::collections::HashSet<sitechat_core::BotId>>>,
    /// Seals secrets that must be used again (a bot's model API key).
    pub sealer: Arc<crate::secrets::Sealer>,
}
