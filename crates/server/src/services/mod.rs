//! Application services: every behaviour of sitechat lives here once. HTTP handlers (native and,
//! later, the dialects) parse, authenticate, call one service function and render its result.

pub mod accounts;
pub mod analytics;
pub mod bots;
pub mod channels;
pub mod chat;
pub mod conversations;
pub mod embeddings;
pub mod knowledge;
pub mod training;
pub mod users;
pub mod webhooks;

/// Runs blocking work (index access, CPU-bound composition) off the async runtime.
pub(crate) async fn blocking<T, F>(f: F) -> Result<T, crate::error::ApiError>
where
    F: FnOnce() -> Result<T, crate::error::ApiError> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f).await?
}
