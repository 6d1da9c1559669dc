//! Quota counters per account and period.

use sitechat_core::AccountId;

use crate::{Result, Store};

impl Store {
    /// Adds `amount` to a counter if the result stays within `limit`; returns the new total, or
    /// `None` (and changes nothing) when the limit would be exceeded. One statement, so two
    /// concurrent callers cannot both squeeze past the limit.
    pub async fn consume_quota(
        &self,
        account: &AccountId,
        kind: &str,
        period: &str,
        amount: i64,
        limit: Option<i64>,
    ) -> Result<Option<i64>> {
        let limit = limit.unwrap_or(i64::MAX);
        if amount > limit {
            return Ok(None);
        }
        let total: Option<i64> = sqlx::query_scalar(
            "INSERT INTO usage_counters (account_id, kind, period, amount) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (account_id, kind, period) DO UPDATE SET amount = amount + excluded.amount
             WHERE usage_counters.amount + excluded.amount <= ?5
             RETURNING amount",
        )
        .bind(account.as_str())
        .bind(kind)
        .bind(period)
        .bind(amount)
        .bind(limit)
        .fetch_optional(&self.pool)
        .await?;
        Ok(total)
    }

    /// The current value of a counter.
    pub async fn usage(&self, account: &AccountId, kind: &str, period: &str) -> Result<i64> {
        let total: Option<i64> = sqlx::query_scalar(
            "SELECT amount FROM usage_counters WHERE account_id = ? AND kind = ? AND period = ?",
        )
        .bind(account.as_str())
        .bind(kind)
        .bind(period)
        .fetch_optional(&self.pool)
        .await?;
        Ok(total.unwrap_or(0))
    }
}
