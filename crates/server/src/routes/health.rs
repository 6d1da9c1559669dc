//! Health and metrics.

use axum::{extract::State, http::StatusCode, response::IntoResponse, Json};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    models::{EmbeddingModel, ModelState},
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(metrics))
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`, or `degraded` when a component is down.
    pub status: &'static str,
    pub version: &'static str,
    pub database: Component,
    pub search: Component,
    pub models: Models,
}

#[derive(Serialize, ToSchema)]
pub struct Component {
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Models {
    /// The embedding model: `loaded`, `not_loaded` (found, loaded at first use), `missing` (run
    /// `make models`), `failed` or `disabled`. Only `loaded`/`not_loaded` give hybrid retrieval.
    pub embedding: &'static str,
    /// Why the embedding model is not usable, when it is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embedding_detail: Option<String>,
    /// Every embedding model, as `embedding` says of all-MiniLM-L6-v2 (English bots'). Bots in
    /// other languages use multilingual-e5-small; a bot's own is its `embedding_model`.
    pub embedding_models: Vec<EmbeddingModelHealth>,
    /// How questions are matched to passages.
    pub retrieval: &'static str,
    /// The `local` engine's language model: `loaded`, `not_loaded` (found, loaded at first
    /// use), `missing` (run `make models`, or check `local_model`) or `failed`. Without it, bots
    /// with the `local` engine get the extractive answer.
    pub generation: &'static str,
    /// Why the generation model is not usable, when it is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generation_detail: Option<String>,
    /// Engines available to bots (`local` only when its model is there and loads).
    pub engines: Vec<&'static str>,
}

/// Where one embedding model stands.
#[derive(Serialize, ToSchema)]
pub struct EmbeddingModelHealth {
    /// `all-MiniLM-L6-v2` or `multilingual-e5-small`.
    pub name: &'static str,
    /// As `embedding`: `loaded`, `not_loaded`, `missing`, `failed` or `disabled`.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Reports whether the database and the search indexes work, and which models are loaded.
/// Answers 503 when the database does not respond.
#[utoipa::path(get, path = "/health", tag = "operations",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let database = match state.store.ping().await {
        Ok(()) => Component {
            status: "ok",
            detail: None,
        },
        Err(e) => {
            tracing::error!(error = %e, "health: database check failed");
            Component {
                status: "down",
                detail: Some("the database does not respond".to_owned()),
            }
        }
    };
    let search = Component {
        status: "ok",
        detail: Some("per-bot BM25 indexes (tantivy)".to_owned()),
    };
    let ok = database.status == "ok";
    let model = state.models.state(EmbeddingModel::MiniLm);
    let generation = state.models.generation_state();
    let detail = |state: &ModelState| match state {
        ModelState::Missing(e) | ModelState::Failed(e) => Some(e.clone()),
        _ => None,
    };
    let embedding_models = EmbeddingModel::ALL
        .into_iter()
        .map(|m| {
            let state = state.models.state(m);
            EmbeddingModelHealth {
                name: m.name(),
                status: state.as_str(),
                detail: detail(&state),
            }
        })
        .collect();
    let mut engines = vec!["extractive", "openai"];
    if matches!(generation, ModelState::Loaded | ModelState::NotLoaded) {
        engines.push("local");
    }
    let body = Health {
        status: if ok { "ok" } else { "degraded" },
        version: env!("CARGO_PKG_VERSION"),
        database,
        search,
        models: Models {
            embedding: model.as_str(),
            embedding_detail: detail(&model),
            embedding_models,
            retrieval: if state.models.any_available() {
                "hybrid"
            } else {
                "bm25"
            },
            generation: generation.as_str(),
            generation_detail: detail(&generation),
            engines,
        },
    };
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}

/// Prometheus metrics: requests by route and status, request latency, answers by outcome. When
/// the server has a `metrics_token`, only requests bearing it are answered.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain"),
        (status = 401, body = crate::error::ErrorBody, description = "`metrics_token` is set and the request does not bear it")),
    security((), ("metrics_token" = [])))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
}
