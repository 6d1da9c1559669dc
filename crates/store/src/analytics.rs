//! Per-day figures of an account's (or one bot's) conversations, computed by the database.

use std::collections::BTreeMap;

use sitechat_core::{AccountId, BotId};
use sqlx::Row;
use time::OffsetDateTime;

use crate::{Result, Store};

/// What happened on one day (UTC), by what the day's rows say.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DayFigures {
    /// Conversations started.
    pub conversations: i64,
    /// Of them, those that went to a person (asked for, escalated or taken over).
    pub handed_off: i64,
    /// Messages of every role.
    pub messages: i64,
    /// Bot replies answered from knowledge (`answered` or `curated`).
    pub answered: i64,
    /// Bot replies that were the fallback.
    pub fallbacks: i64,
    /// Ratings given to the day's conversations, and their sum.
    pub ratings: i64,
    pub rating_sum: i64,
    /// Leads captured.
    pub leads: i64,
    /// Milliseconds from each visitor message to the bot's reply to it.
    pub response_ms: Vec<f64>,
}

impl Store {
    /// Per-day figures for `[from, to)`, keyed by `YYYY-MM-DD`; days without activity are absent.
    pub async fn analytics_days(
        &self,
        account: &AccountId,
        bot: Option<&BotId>,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<BTreeMap<String, DayFigures>> {
        let mut days: BTreeMap<String, DayFigures> = BTreeMap::new();
        let scoped = |sql: &str| {
            let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(sql);
            q.push_bind(account.as_str().to_owned());
            if let Some(bot) = bot {
                q.push(" AND b.id = ").push_bind(bot.as_str().to_owned());
            }
            q
        };
        let within = |q: &mut sqlx::QueryBuilder<'_, sqlx::Sqlite>, column: &str| {
            q.push(format!(" AND julianday({column}) >= julianday("))
                .push_bind(from)
                .push(format!(") AND julianday({column}) < julianday("))
                .push_bind(to)
                .push(")");
        };

        let mut q = scoped(
            "SELECT substr(c.created_at, 1, 10) AS day, COUNT(*) AS n,
                SUM(c.rating IS NOT NULL) AS rated, SUM(COALESCE(c.rating, 0)) AS rating_sum,
                SUM(c.handoff_reason IS NOT NULL OR EXISTS (SELECT 1 FROM messages x
                    WHERE x.conversation_id = c.id AND (x.role = 'agent' OR x.outcome = 'handoff'))) AS handed
             FROM conversations c JOIN bots b ON b.id = c.bot_id WHERE b.account_id = ",
        );
        within(&mut q, "c.created_at");
        q.push(" GROUP BY day");
        for row in q.build().fetch_all(&self.pool).await? {
            let d = days.entry(row.try_get("day")?).or_default();
            d.conversations = row.try_get("n")?;
            d.ratings = row.try_get("rated")?;
            d.rating_sum = row.try_get("rating_sum")?;
            d.handed_off = row.try_get("handed")?;
        }

        let mut q = scoped(
            "SELECT substr(m.created_at, 1, 10) AS day, COUNT(*) AS n,
                SUM(m.role = 'bot' AND m.outcome IN ('answered', 'curated')) AS answered,
                SUM(m.role = 'bot' AND m.outcome = 'fallback') AS fallbacks
             FROM messages m JOIN conversations c ON c.id = m.conversation_id
             JOIN bots b ON b.id = c.bot_id WHERE b.account_id = ",
        );
        within(&mut q, "m.created_at");
        q.push(" GROUP BY day");
        for row in q.build().fetch_all(&self.pool).await? {
            let d = days.entry(row.try_get("day")?).or_default();
            d.messages = row.try_get("n")?;
            d.answered = row.try_get("answered")?;
            d.fallbacks = row.try_get("fallbacks")?;
        }

        let mut q = scoped(
            "SELECT substr(r.created_at, 1, 10) AS day,
                (julianday(r.created_at) - julianday(v.created_at)) * 86400000.0 AS ms
             FROM messages r JOIN messages v ON v.id = r.reply_to
             JOIN conversations c ON c.id = r.conversation_id
             JOIN bots b ON b.id = c.bot_id WHERE b.account_id = ",
        );
        within(&mut q, "r.created_at");
        for row in q.build().fetch_all(&self.pool).await? {
            let ms: f64 = row.try_get("ms")?;
            days.entry(row.try_get("day")?)
                .or_default()
                .response_ms
                .push(ms.max(0.0));
        }

        let mut q = scoped(
            "SELECT substr(l.created_at, 1, 10) AS day, COUNT(*) AS n
             FROM leads l JOIN bots b ON b.id = l.bot_id WHERE b.account_id = ",
        );
        within(&mut q, "l.created_at");
        q.push(" GROUP BY day");
        for row in q.build().fetch_all(&self.pool).await? {
            days.entry(row.try_get("day")?).or_default().leads = row.try_get("n")?;
        }
        Ok(days)
    }
}

impl Store {
    /// The visitor messages of `[from, to)` (at most `limit`, newest first) with the outcome of
    /// the bot's reply to each (`None`: no reply, as while a person owns the conversation).
    pub async fn visitor_questions(
        &self,
        account: &AccountId,
        bot: Option<&BotId>,
        from: OffsetDateTime,
        to: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<(String, Option<String>)>> {
        let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "SELECT v.text, r.outcome FROM messages v
             LEFT JOIN messages r ON r.reply_to = v.id
             JOIN conversations c ON c.id = v.conversation_id
             JOIN bots b ON b.id = c.bot_id
             WHERE v.role = 'visitor' AND b.account_id = ",
        );
        q.push_bind(account.as_str().to_owned());
        if let Some(bot) = bot {
            q.push(" AND b.id = ").push_bind(bot.as_str().to_owned());
        }
        q.push(" AND julianday(v.created_at) >= julianday(")
            .push_bind(from)
            .push(") AND julianday(v.created_at) < julianday(")
            .push_bind(to)
            .push(") ORDER BY v.seq DESC LIMIT ")
            .push_bind(i64::from(limit));
        q.build()
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| Ok((r.try_get("text")?, r.try_get("outcome")?)))
            .collect()
    }
}
