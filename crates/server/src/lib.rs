//! sitechat's HTTP server: the native API (`/v1`), health, metrics and the API reference.
//!
//! [`Server::start`] is what `sitechat serve` and the integration tests both call: it opens the
//! data directory, applies migrations, makes sure the operator can log in, reconciles the search
//! indexes with the database and serves until it is stopped.

#![forbid(unsafe_code)]

pub mod auth;
pub mod batch;
pub mod channels;
pub mod config;
pub mod dashboard;
pub mod delivery;
pub mod dialects;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod jobs;
pub mod limits;
pub mod live;
pub mod models;
pub mod routes;
pub mod secrets;
pub mod services;
pub mod sessions;
pub mod state;
pub mod telemetry;
pub mod visitor;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use axum::{
    extract::{DefaultBodyLimit, Request},
    http::{HeaderName, HeaderValue, Method},
    middleware,
    response::{Html, IntoResponse},
    Json, Router,
};
use sitechat_answer::AnswerEngine;
use sitechat_core::config::Config;
use sitechat_search::SearchIndex;
use sitechat_store::Store;
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use tower_http::{
    cors::{AllowOrigin, CorsLayer},
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};
use utoipa::{
    openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
    Modify, OpenApi,
};
use utoipa_axum::router::OpenApiRouter;

pub use services::accounts::Bootstrap;

use crate::{error::ApiError, limits::RateLimits, state::AppState, telemetry::Metrics};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "sitechat",
        description = "A self-hosted AI customer-support agent: bots trained on your content answer visitors with sources."
    ),
    modifiers(&SecurityAddon),
    tags(
        (name = "bots", description = "Assistants, one per website"),
        (name = "knowledge", description = "What a bot knows"),
        (name = "training", description = "Learning a website, as durable jobs"),
        (name = "chat", description = "Visitor messages"),
        (name = "conversations", description = "Conversations, the human handoff, messages, live updates"),
        (name = "contacts", description = "Visitors, their state, leads, and the event log"),
        (name = "accounts", description = "Tenants"),
        (name = "keys", description = "API keys"),
        (name = "users", description = "People who sign in to the dashboard, their roles and sessions"),
        (name = "operations", description = "Health and metrics"),
        (name = "webhooks", description = "Signed event deliveries to your endpoints, with their log"),
        (name = "channels", description = "Messaging channels (Telegram, WhatsApp): connecting a bot, and the platforms' webhooks"),
    )
)]
struct ApiDoc;

struct SecurityAddon;

impl Modify for SecurityAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        // `bearer` and `api_key`: a key in either header, as the keyed dialects take it too.
        dialects::KeySchemes.modify(openapi);
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "metrics_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "the server's `metrics_token` (SITECHAT_METRICS_TOKEN), when one is set",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "sitechat_session",
                "the dashboard's session cookie (POST /v1/session); a change made with it must \
                 carry the session's CSRF token in `X-CSRF-Token`",
            ))),
        );
        components.add_security_scheme(
            "visitor_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "a widget visitor's token (`vt1.…`), from POST \
                         /v1/public/bots/{id}/conversations: it opens that one conversation",
                    ))
                    .build(),
            ),
        );
    }
}

/// The API's routes with the OpenAPI document describing them: the routes that take a key (and
/// the health and metrics routes), the public visitor routes (which take no key and answer each
/// bot's own allowed origins), and the document of both.
pub fn api(state: AppState) -> (Router, Router, utoipa::openapi::OpenApi) {
    let (authenticated, spec) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(routes::accounts::router())
        .merge(routes::analytics::router())
        .merge(routes::keys::router())
        .merge(routes::bots::router())
        .merge(routes::sources::router(state.config.max_upload_bytes))
        .merge(routes::chat::router())
        .merge(routes::conversations::router())
        .merge(routes::contacts::router())
        .merge(routes::training::router())
        .merge(routes::webhooks::router())
        .merge(routes::channels::router())
        .merge(routes::users::router())
        .split_for_parts();
    // Layers run outermost last-added: the key is checked first, then idempotency.
    let authenticated = authenticated
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            idempotency::idempotency,
        ))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_key,
        ));
    let (public, public_spec) = routes::health::router().split_for_parts();
    let (open, mut open_spec) = routes::users::open_router()
        .merge(routes::channels::inbound_router())
        .split_for_parts();
    routes::docs::document_open_errors(&mut open_spec);
    let public = public.route_layer(middleware::from_fn_with_state(
        state.clone(),
        telemetry::require_metrics_token,
    ));
    let (visitor, mut visitor_spec) = routes::public::router().split_for_parts();
    routes::docs::document_visitor_errors(&mut visitor_spec);
    let visitor = visitor
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            visitor::per_ip_limit,
        ))
        .layer(middleware::from_fn(visitor::cors))
        .with_state(state.clone());
    let mut spec = spec;
    routes::docs::document_shared_errors(&mut spec);
    spec.merge(public_spec);
    spec.merge(visitor_spec);
    spec.merge(open_spec);
    let router = authenticated.merge(public).merge(open).with_state(state);
    (router, visitor, spec)
}

/// The whole application: API, docs, and the layers every request passes through.
pub fn app(state: AppState) -> Router {
    let (router, visitor, spec) = api(state.clone());
    let (aisa, aisa_doc) = dialects::aisa::router(state.clone());
    let (asyntai, asyntai_doc) = dialects::asyntai::router(state.clone());
    let (chataibot, chataibot_doc) = dialects::chataibot::router(state.clone());
    let (askia, askia_doc) = dialects::askia::router(state.clone());
    let (aimylogic, aimylogic_doc) = dialects::aimylogic::router(state.clone());
    let documents = [
        aisa_doc,
        asyntai_doc,
        chataibot_doc,
        askia_doc,
        aimylogic_doc,
    ];
    let spec_json = serde_json::to_value(&spec).unwrap_or_default();
    let reference = Arc::new(routes::docs::render_reference(&spec_json, &documents));
    let spec_json = Arc::new(spec_json);
    let request_id = HeaderName::from_static("x-request-id");

    let app = router
        .nest(dialects::aisa::BASE, aisa)
        .merge(dialects::documents(&documents))
        .nest(dialects::chataibot::BASE, chataibot)
        .nest(dialects::asyntai::BASE, asyntai)
        .route(
            "/openapi.json",
            axum::routing::get(move || async move { Json((*spec_json).clone()) }),
        )
        .route(
            "/docs",
            axum::routing::get(move || async move { Html((*reference).clone()) }),
        )
        .merge(dashboard::router(state.clone()))
        .route("/widget.js", axum::routing::get(routes::widget::script))
        .route("/preview/{id}", axum::routing::get(routes::widget::preview))
        .nest(dialects::aimylogic::BASE, aimylogic);
    let mut app = app
        .fallback(|request: Request| async move {
            ApiError::not_found(format!(
                "route {} {}",
                request.method(),
                request.uri().path()
            ))
        })
        .method_not_allowed_fallback(|request: Request| async move {
            let mut response = ApiError::InvalidRequest {
                message: format!(
                    "{} is not allowed on {}",
                    request.method(),
                    request.uri().path()
                ),
                details: None,
                status: axum::http::StatusCode::METHOD_NOT_ALLOWED,
            }
            .into_response();
            *response.status_mut() = axum::http::StatusCode::METHOD_NOT_ALLOWED;
            response
        });
    // The configured CORS applies to everything but the public widget, which answers each bot's
    // own allowed origins.
    if let Some(cors) = cors_layer(&state.config.cors_origins) {
        app = app.layer(cors);
    }
    // Every error leaves as JSON, whichever layer or extractor of axum refused the request.
    let app = app
        .merge(Router::new().nest(dialects::askia::BASE, askia))
        .merge(visitor)
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(middleware::from_fn(error::json_errors))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            telemetry::record,
        ));
    app.layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
            let id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}

fn cors_layer(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let layer = CorsLayer::new()
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PATCH,
            Method::PUT,
            Method::DELETE,
        ])
        .allow_headers([
            axum::http::header::AUTHORIZATION,
            axum::http::header::CONTENT_TYPE,
            HeaderName::from_static("x-api-key"),
        ])
        .expose_headers([
            HeaderName::from_static("x-request-id"),
            HeaderName::from_static("x-ratelimit-limit"),
            HeaderName::from_static("x-ratelimit-remaining"),
            HeaderName::from_static("x-ratelimit-reset"),
        ])
        .max_age(Duration::from_secs(600));
    if origins.iter().any(|o| o == "*") {
        return Some(layer.allow_origin(AllowOrigin::any()));
    }
    let list: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    Some(layer.allow_origin(list))
}

/// Opens the data directory: database (migrated) and search indexes, reconciled.
pub async fn open_state(config: Config) -> anyhow::Result<AppState> {
    std::fs::create_dir_all(&config.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            config.data_dir.display()
        )
    })?;
    let store = Store::open(&config.data_dir.join("sitechat.db"))
        .await
        .context("cannot open the database")?;
    let index = Arc::new(
        SearchIndex::open(config.data_dir.join("index"))
            .context("cannot open the search indexes")?,
    );
    Ok(AppState {
        engine: AnswerEngine::new(index.clone()),
        limits: Arc::new(
            RateLimits::with_public_limit(
                config.rate_limits,
                config.public_requests_per_hour_per_ip,
                config.visitor_messages_per_hour,
            )
            .with_sign_in_limit(config.sign_in_attempts_per_hour),
        ),
        metrics: Arc::new(Metrics::new()),
        jobs_wake: Arc::new(tokio::sync::Notify::new()),
        webhooks_wake: Arc::new(tokio::sync::Notify::new()),
        live: Arc::new(live::Live::default()),
        idempotency: Arc::new(idempotency::KeyLocks::default()),
        models: Arc::new(models::Models::new(
            config.models_dir.clone(),
            config.embeddings,
            config.local_model.clone(),
        )),
        embedding: Arc::default(),
        sealer: Arc::new(
            secrets::Sealer::open_or_create(&config.data_dir)
                .context("cannot open the secret key")?,
        ),
        config: Arc::new(config),
        store,
        index,
    })
}

/// A running server.
pub struct Server {
    addr: SocketAddr,
    bootstrap: Bootstrap,
    state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
    workers: Option<jobs::Workers>,
    deliveries: Option<delivery::DeliveryWorker>,
    outbox: Option<channels::outbox::OutboxWorker>,
}

impl Server {
    /// Starts serving on the configured address (port 0 picks a free one).
    pub async fn start(config: Config) -> anyhow::Result<Server> {
        let bind = config.bind;
        let admin_key = config.admin_key.clone();
        let state = open_state(config).await?;
        let bootstrap = services::accounts::bootstrap_operator(
            &state.store,
            &state.config.data_dir,
            admin_key.as_ref(),
        )
        .await?;
        let rebuilt = services::knowledge::reconcile_indexes(&state.store, &state.index, false)
            .await
            .map_err(|e| anyhow::anyhow!("cannot reconcile the search indexes: {e}"))?;
        if !rebuilt.is_empty() {
            tracing::warn!(
                bots = rebuilt.len(),
                "search indexes rebuilt from the database"
            );
        }
        match services::webhooks::seal_clear_secrets(&state).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                webhooks = n,
                "webhook secrets stored in clear are now sealed"
            ),
            Err(e) => {
                tracing::warn!(error = %e, "could not seal the webhook secrets stored in clear")
            }
        }
        let (resumed, failed) = state
            .store
            .resume_interrupted_jobs(state.config.max_job_resumes)
            .await?;
        if resumed > 0 {
            tracing::info!(
                jobs = resumed,
                "jobs interrupted by the last stop resume now"
            );
        }
        for job in failed {
            tracing::error!(%job, resumes = state.config.max_job_resumes, "a job was running each time the server stopped; it failed with crashed_the_server instead of resuming");
        }
        let deliveries = delivery::DeliveryWorker::spawn(state.clone())?;
        let outbox = channels::outbox::OutboxWorker::spawn(state.clone())?;
        let workers = jobs::Workers::spawn(state.clone(), state.config.training_workers.max(1));
        let listener = TcpListener::bind(bind)
            .await
            .with_context(|| format!("cannot listen on {bind}"))?;
        let addr = listener.local_addr()?;
        let (tx, rx) = oneshot::channel::<()>();
        let app = app(state.clone());
        let task = tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await
        });
        tracing::info!(%addr, "sitechat is listening");
        Ok(Server {
            addr,
            bootstrap,
            state,
            shutdown: Some(tx),
            task,
            workers: Some(workers),
            deliveries: Some(deliveries),
            outbox: Some(outbox),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What start-up did about the operator key (a generated key is to be shown once).
    pub fn bootstrap(&self) -> &Bootstrap {
        &self.bootstrap
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Stops accepting requests, lets those in flight finish, and closes the database.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        (&mut self.task).await??;
        if let Some(workers) = self.workers.take() {
            workers.stop().await;
        }
        if let Some(deliveries) = self.deliveries.take() {
            deliveries.stop().await;
        }
        if let Some(outbox) = self.outbox.take() {
            outbox.stop().await;
        }
        self.state.store.close().await;
        Ok(())
    }

    /// Serves until `signal` completes, then stops gracefully.
    pub async fn run_until(
        self,
        signal: impl std::future::Future<Output = ()>,
    ) -> anyhow::Result<()> {
        signal.await;
        tracing::info!("shutting down");
        self.stop().await
    }
}
