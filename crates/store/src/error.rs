use thiserror::Error;

/// What can go wrong in the store. `NotFound` and `Conflict` are values a caller acts on; the
/// others are internal and never shown to clients.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("{entity} not found")]
    NotFound { entity: &'static str },
    #[error("{0}")]
    Conflict(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// A database file that cannot serve as sitechat's (damaged, or someone else's): said when a
    /// backup is checked.
    #[error("{0}")]
    Unusable(String),
}

impl StoreError {
    pub(crate) fn not_found(entity: &'static str) -> Self {
        StoreError::NotFound { entity }
    }
}

/// Turns a unique-constraint violation into a conflict with the given message.
pub(crate) fn conflict_on_unique(err: sqlx::Error, message: impl FnOnce() -> String) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(message()),
        _ => StoreError::Database(err),
    }
}
