//! Online backups of the database: a consistent copy taken while the server keeps writing, and the
//! check a copy must pass before it is used.
//!
//! Both work on a database file through one connection of their own and never apply migrations:
//! the database being copied belongs to a running server (perhaps of another version), and a copy
//! being checked must be judged as it was made.

use std::{path::Path, str::FromStr, time::Duration};

use sqlx::{
    sqlite::{SqliteConnectOptions, SqliteConnection},
    ConnectOptions, Connection,
};

use crate::{Result, Store, StoreError, MIGRATOR};

/// What a database file holds, as far as restoring it is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatabaseFile {
    /// The newest migration applied to it.
    pub schema_version: i64,
}

impl Store {
    /// Writes a consistent copy of the database at `db` into `dest`, a file that must not exist
    /// yet, with `VACUUM INTO`: one read transaction, so the copy holds exactly the transactions
    /// committed before it started, while writers carry on (WAL mode). The copy is then checked
    /// like [`Store::check_file`].
    #[tracing::instrument(skip_all, fields(db = %db.display()))]
    pub async fn backup_into(db: &Path, dest: &Path) -> Result<DatabaseFile> {
        let mut conn = connect(db).await?;
        let copied = sqlx::query("VACUUM INTO ?1")
            .bind(dest.to_string_lossy().into_owned())
            .execute(&mut conn)
            .await;
        conn.close().await?;
        copied?;
        Self::check_file(dest).await
    }

    /// Checks a database file without changing it: SQLite's `PRAGMA integrity_check` passes and
    /// it is a sitechat database (it has a migration history), whose schema version it returns.
    pub async fn check_file(db: &Path) -> Result<DatabaseFile> {
        let mut conn = connect(db).await?;
        let checked = check(&mut conn).await;
        conn.close().await?;
        checked
    }

    /// The newest schema version this build knows (a database beyond it was made by a newer
    /// sitechat).
    pub fn latest_schema_version() -> i64 {
        MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
    }
}

/// One connection to an existing database file, without migrations.
async fn connect(db: &Path) -> Result<SqliteConnection> {
    let options = SqliteConnectOptions::from_str("sqlite://")
        .map_err(StoreError::Database)?
        .filename(db)
        .create_if_missing(false)
        .busy_timeout(Duration::from_secs(10))
        .disable_statement_logging();
    Ok(options.connect().await?)
}

async fn check(conn: &mut SqliteConnection) -> Result<DatabaseFile> {
    let problems: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut *conn)
        .await?;
    if problems != ["ok"] {
        return Err(StoreError::Unusable(format!(
            "the database fails its integrity check: {}",
            problems.join("; ")
        )));
    }
    let has_history: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations')",
    )
    .fetch_one(&mut *conn)
    .await?;
    if !has_history {
        return Err(StoreError::Unusable(
            "not a sitechat database (no migration history)".to_owned(),
        ));
    }
    let version: Option<i64> =
        sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success = 1")
            .fetch_one(&mut *conn)
            .await?;
    Ok(DatabaseFile {
        schema_version: version.unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use sitechat_core::model::BotSettings;

    use crate::{testing, NewBot, Store, StoreError};

    #[tokio::test]
    async fn a_backup_is_a_checked_copy_that_opens_with_the_same_rows() {
        let (store, dir, account) = testing::store().await;
        let bot = testing::bot(&store, &account).await;
        let copy = dir.path().join("copy.db");
        let file = Store::backup_into(&dir.path().join("t.db"), &copy)
            .await
            .unwrap();
        assert_eq!(file.schema_version, Store::latest_schema_version());
        // Written after the copy: not in it.
        store
            .create_bot(
                &account,
                NewBot {
                    name: "Later".into(),
                    website_url: None,
                    language: "en".into(),
                    industry: None,
                    settings: BotSettings::default(),
                },
                None,
            )
            .await
            .unwrap();
        let restored = Store::open(&copy).await.unwrap();
        let bots: Vec<_> = restored
            .all_bots()
            .await
            .unwrap()
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(bots, vec![bot]);
    }

    #[tokio::test]
    async fn a_backup_never_overwrites_a_file() {
        let (_store, dir, _account) = testing::store().await;
        let taken = dir.path().join("taken.db");
        std::fs::write(&taken, b"precious").unwrap();
        assert!(Store::backup_into(&dir.path().join("t.db"), &taken)
            .await
            .is_err());
        assert_eq!(std::fs::read(&taken).unwrap(), b"precious");
    }

    #[tokio::test]
    async fn a_file_that_is_not_a_sitechat_database_fails_the_check() {
        let dir = tempfile::tempdir().unwrap();
        let text = dir.path().join("notes.db");
        std::fs::write(&text, vec![b'x'; 4096]).unwrap();
        assert!(Store::check_file(&text).await.is_err());
        assert!(
            Store::check_file(&dir.path().join("missing.db"))
                .await
                .is_err(),
            "a missing file is not created"
        );
        assert!(!dir.path().join("missing.db").exists());

        let other = dir.path().join("other.db");
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&other)
            .create_if_missing(true);
        let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
        sqlx::query("CREATE TABLE t (x)")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
        assert!(matches!(
            Store::check_file(&other).await,
            Err(StoreError::Unusable(m)) if m.contains("not a sitechat database")
        ));
    }
}
