//! Bots.

use sitechat_core::{
    model::{Bot, BotSettings, JobState},
    now, AccountId, BotId, JobId,
};
use sqlx::Row;

use crate::{error::StoreError, page_of, Page, PageRequest, Result, Store};

/// A bot to create; its values are already validated.
#[derive(Debug, Clone)]
pub struct NewBot {
    pub name: String,
    pub website_url: Option<String>,
    pub language: String,
    pub industry: Option<String>,
    pub settings: BotSettings,
}

/// Changes to a bot; `None` leaves a field as it is, `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default)]
pub struct BotPatch {
    pub name: Option<String>,
    pub website_url: Option<Option<String>>,
    pub language: Option<String>,
    pub industry: Option<Option<String>>,
    pub settings: Option<BotSettings>,
}

pub(crate) const BOT_COLUMNS: &str = "b.*,
    (SELECT state FROM jobs j WHERE j.bot_id = b.id ORDER BY j.seq DESC LIMIT 1) AS training_status,
    (SELECT id FROM jobs j WHERE j.bot_id = b.id ORDER BY j.seq DESC LIMIT 1) AS last_job_id,
    (SELECT MAX(finished_at) FROM jobs j WHERE j.bot_id = b.id AND j.state = 'succeeded') AS last_trained_at";

pub(crate) fn bot_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Bot> {
    let settings: String = row.try_get("settings")?;
    let training_status: Option<String> = row.try_get("training_status")?;
    let settings: BotSettings = serde_json::from_str(&settings)
        .map_err(|e| StoreError::Corrupt(format!("bot settings: {e}")))?;
    let language: String = row.try_get("language")?;
    let embedding_model = settings.embedding_model_for(&language).to_owned();
    Ok(Bot {
        id: BotId::from_trusted(row.try_get("id")?),
        website_id: row.try_get("seq")?,
        bot_key: row
            .try_get::<Option<String>, _>("bot_key")?
            .unwrap_or_default(),
        chat_api_token: None,
        chat_api_token_prefix: row.try_get("chat_api_token_prefix")?,
        name: row.try_get("name")?,
        website_url: row.try_get("website_url")?,
        language,
        industry: row.try_get("industry")?,
        embedding_model,
        embedding: None,
        settings,
        training_status: training_status.as_deref().and_then(JobState::parse),
        last_job_id: row
            .try_get::<Option<String>, _>("last_job_id")?
            .map(JobId::from_trusted),
        last_trained_at: row.try_get("last_trained_at")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn settings_json(settings: &BotSettings) -> Result<String> {
    serde_json::to_string(settings).map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl Store {
    /// Creates a bot, refusing when the account already has `max_bots`.
    pub async fn create_bot(
        &self,
        account: &AccountId,
        new: NewBot,
        max_bots: Option<u32>,
    ) -> Result<Bot> {
        let at = now();
        let bot = Bot {
            id: BotId::generate(),
            website_id: 0,
            bot_key: format!("bk_{}", sitechat_core::random_token(24)),
            chat_api_token: None,
            chat_api_token_prefix: None,
            name: new.name,
            website_url: new.website_url,
            embedding_model: new.settings.embedding_model_for(&new.language).to_owned(),
            embedding: None,
            language: new.language,
            industry: new.industry,
            settings: new.settings,
            training_status: None,
            last_job_id: None,
            last_trained_at: None,
            created_at: at,
            updated_at: at,
        };
        let mut tx = self.begin_write().await?;
        if let Some(max) = max_bots {
            let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM bots WHERE account_id = ?")
                .bind(account.as_str())
                .fetch_one(&mut *tx)
                .await?;
            if count >= i64::from(max) {
                return Err(StoreError::Conflict(format!(
                    "the account's plan allows {max} bot(s); delete one or change plan"
                )));
            }
        }
        sqlx::query(
            "INSERT INTO bots (id, account_id, name, website_url, language, industry, settings, created_at, updated_at, bot_key)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(bot.id.as_str())
        .bind(account.as_str())
        .bind(&bot.name)
        .bind(&bot.website_url)
        .bind(&bot.language)
        .bind(&bot.industry)
        .bind(settings_json(&bot.settings)?)
        .bind(bot.created_at)
        .bind(bot.updated_at)
        .bind(&bot.bot_key)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.get_bot(account, &bot.id).await
    }

    /// A bot of the account.
    pub async fn get_bot(&self, account: &AccountId, id: &BotId) -> Result<Bot> {
        let sql = format!("SELECT {BOT_COLUMNS} FROM bots b WHERE b.id = ? AND b.account_id = ?");
        let row = sqlx::query(&sql)
            .bind(id.as_str())
            .bind(account.as_str())
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found("bot"))?;
        bot_from_row(&row)
    }

    pub async fn list_bots(&self, account: &AccountId, page: PageRequest) -> Result<Page<Bot>> {
        let sql = format!(
            "SELECT {BOT_COLUMNS} FROM bots b WHERE b.account_id = ? AND b.seq > ? ORDER BY b.seq LIMIT ?"
        );
        let rows = sqlx::query(&sql)
            .bind(account.as_str())
            .bind(page.after_seq())
            .bind(page.fetch_limit())
            .fetch_all(&self.pool)
            .await?;
        page_of(&rows, page, bot_from_row)
    }

    /// Every bot id with its language, across accounts (for rebuilding indexes).
    pub async fn all_bots(&self) -> Result<Vec<(BotId, String)>> {
        let rows = sqlx::query("SELECT id, language FROM bots ORDER BY seq")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    BotId::from_trusted(r.try_get("id")?),
                    r.try_get("language")?,
                ))
            })
            .collect()
    }

    pub async fn update_bot(
        &self,
        account: &AccountId,
        id: &BotId,
        patch: BotPatch,
    ) -> Result<Bot> {
        let mut tx = self.begin_write().await?;
        let sql = format!("SELECT {BOT_COLUMNS} FROM bots b WHERE b.id = ? AND b.account_id = ?");
        let row = sqlx::query(&sql)
            .bind(id.as_str())
            .bind(account.as_str())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::not_found("bot"))?;
        let mut bot = bot_from_row(&row)?;
        if let Some(name) = patch.name {
            bot.name = name;
        }
        if let Some(url) = patch.website_url {
            bot.website_url = url;
        }
        if let Some(language) = patch.language {
            bot.language = language;
        }
        if let Some(industry) = patch.industry {
            bot.industry = industry;
        }
        if let Some(settings) = patch.settings {
            bot.settings = settings;
        }
        bot.embedding_model = bot.settings.embedding_model_for(&bot.language).to_owned();
        bot.updated_at = now();
        sqlx::query(
            "UPDATE bots SET name = ?, website_url = ?, language = ?, industry = ?, settings = ?, updated_at = ?
             WHERE id = ? AND account_id = ?",
        )
        .bind(&bot.name)
        .bind(&bot.website_url)
        .bind(&bot.language)
        .bind(&bot.industry)
        .bind(settings_json(&bot.settings)?)
        .bind(bot.updated_at)
        .bind(id.as_str())
        .bind(account.as_str())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(bot)
    }

    /// Deletes a bot with its knowledge and conversations.
    pub async fn delete_bot(&self, account: &AccountId, id: &BotId) -> Result<()> {
        let done = sqlx::query("DELETE FROM bots WHERE id = ? AND account_id = ?")
            .bind(id.as_str())
            .bind(account.as_str())
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("bot"));
        }
        Ok(())
    }
}
