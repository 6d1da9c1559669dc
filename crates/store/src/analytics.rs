//! Per-day figures of an account's (or one bot's) conversations, computed by the database.
//!
//! A day that is over (UTC) changes little: its conversations were started, its messages and
//! leads written. Its figures per bot are kept in `analytics_days` once computed, so a report
//! over a month reads a few rows per bot and computes only today from the conversations. What
//! can still change an old day — a rating, a handoff or an agent's message in one of its
//! conversations — forgets that day's row in the same transaction ([`forget_day_of`]), and the
//! next report computes it again.

use std::collections::BTreeMap;

use sitechat_core::{now, AccountId, BotId, ConversationId};
use sqlx::Row;
use time::{Date, OffsetDateTime};

use crate::{Result, Store, StoreError};

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

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

impl DayFigures {
    fn add(&mut self, other: &DayFigures) {
        self.conversations += other.conversations;
        self.handed_off += other.handed_off;
        self.messages += other.messages;
        self.answered += other.answered;
        self.fallbacks += other.fallbacks;
        self.ratings += other.ratings;
        self.rating_sum += other.rating_sum;
        self.leads += other.leads;
        self.response_ms.extend_from_slice(&other.response_ms);
    }
}

/// `YYYY-MM-DD`: how a day starts every timestamp the store writes (RFC 3339, UTC), so that a
/// range of days is a range of text and the `created_at` indexes serve it.
fn day(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// Forgets the kept figures of the day a conversation started: a change to it (a rating, a
/// handoff, an agent's message) changes that day's figures.
pub(crate) async fn forget_day_of(
    conn: &mut sqlx::SqliteConnection,
    conversation: &ConversationId,
) -> Result<()> {
    sqlx::query(
        "DELETE FROM analytics_days WHERE (bot_id, day) IN
            (SELECT bot_id, substr(created_at, 1, 10) FROM conversations WHERE id = ?)",
    )
    .bind(conversation.as_str())
    .execute(conn)
    .await?;
    Ok(())
}

/// Figures per (bot, day) computed from the rows, for the days `[from, to)` (`YYYY-MM-DD`).
/// `recent` (today): the rows are found by their date (`created_at` indexes), few of them among
/// all the account's; otherwise by the account's bots.
async fn compute(
    conn: &mut sqlx::SqliteConnection,
    account: &AccountId,
    bot: Option<&BotId>,
    from: &str,
    to: &str,
    recent: bool,
) -> Result<BTreeMap<(String, String), DayFigures>> {
    let mut days: BTreeMap<(String, String), DayFigures> = BTreeMap::new();
    // Without statistics SQLite walks the account's bots and all their conversations; for a
    // day's rows the date index is what finds them.
    let by_date = |index: &str| {
        if recent {
            format!(" INDEXED BY {index}")
        } else {
            String::new()
        }
    };
    let scoped = |sql: &str, column: &str| {
        let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(sql);
        q.push_bind(account.as_str().to_owned());
        if let Some(bot) = bot {
            q.push(" AND b.id = ").push_bind(bot.as_str().to_owned());
        }
        q.push(format!(" AND {column} >= "))
            .push_bind(from.to_owned())
            .push(format!(" AND {column} < "))
            .push_bind(to.to_owned());
        q
    };
    let key = |row: &sqlx::sqlite::SqliteRow| -> Result<(String, String)> {
        Ok((row.try_get("bot")?, row.try_get("day")?))
    };

    let mut q = scoped(
        &format!(
            "SELECT b.id AS bot, substr(c.created_at, 1, 10) AS day, COUNT(*) AS n,
            SUM(c.rating IS NOT NULL) AS rated, SUM(COALESCE(c.rating, 0)) AS rating_sum,
            SUM(c.handoff_reason IS NOT NULL OR EXISTS (SELECT 1 FROM messages x
                WHERE x.conversation_id = c.id AND (x.role = 'agent' OR x.outcome = 'handoff'))) AS handed
         FROM conversations c{} JOIN bots b ON b.id = c.bot_id WHERE b.account_id = ",
            by_date("conversations_created")
        ),
        "c.created_at",
    );
    q.push(" GROUP BY bot, day");
    for row in q.build().fetch_all(&mut *conn).await? {
        let d = days.entry(key(&row)?).or_default();
        d.conversations = row.try_get("n")?;
        d.ratings = row.try_get("rated")?;
        d.rating_sum = row.try_get("rating_sum")?;
        d.handed_off = row.try_get("handed")?;
    }

    let mut q = scoped(
        &format!(
            "SELECT b.id AS bot, substr(m.created_at, 1, 10) AS day, COUNT(*) AS n,
            SUM(m.role = 'bot' AND m.outcome IN ('answered', 'curated')) AS answered,
            SUM(m.role = 'bot' AND m.outcome = 'fallback') AS fallbacks
         FROM messages m{} JOIN conversations c ON c.id = m.conversation_id
         JOIN bots b ON b.id = c.bot_id WHERE b.account_id = ",
            by_date("messages_created")
        ),
        "m.created_at",
    );
    q.push(" GROUP BY bot, day");
    for row in q.build().fetch_all(&mut *conn).await? {
        let d = days.entry(key(&row)?).or_default();
        d.messages = row.try_get("n")?;
        d.answered = row.try_get("answered")?;
        d.fallbacks = row.try_get("fallbacks")?;
    }

    let q = &mut scoped(
        &format!(
            "SELECT b.id AS bot, substr(r.created_at, 1, 10) AS day,
            (julianday(r.created_at) - julianday(v.created_at)) * 86400000.0 AS ms
         FROM messages r{} JOIN messages v ON v.id = r.reply_to
         JOIN conversations c ON c.id = r.conversation_id
         JOIN bots b ON b.id = c.bot_id WHERE b.account_id = ",
            by_date("messages_created")
        ),
        "r.created_at",
    );
    for row in q.build().fetch_all(&mut *conn).await? {
        // To the microsecond, which the kept JSON then holds exactly.
        let ms: f64 = row.try_get("ms")?;
        days.entry(key(&row)?)
            .or_default()
            .response_ms
            .push((ms.max(0.0) * 1000.0).round() / 1000.0);
    }

    let mut q = scoped(
        &format!(
            "SELECT b.id AS bot, substr(l.created_at, 1, 10) AS day, COUNT(*) AS n
         FROM leads l{} JOIN bots b ON b.id = l.bot_id WHERE b.account_id = ",
            by_date("leads_created")
        ),
        "l.created_at",
    );
    q.push(" GROUP BY bot, day");
    for row in q.build().fetch_all(&mut *conn).await? {
        days.entry(key(&row)?).or_default().leads = row.try_get("n")?;
    }
    Ok(days)
}

fn figures_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<DayFigures> {
    let response_ms: String = row.try_get("response_ms")?;
    Ok(DayFigures {
        conversations: row.try_get("conversations")?,
        handed_off: row.try_get("handed_off")?,
        messages: row.try_get("messages")?,
        answered: row.try_get("answered")?,
        fallbacks: row.try_get("fallbacks")?,
        ratings: row.try_get("ratings")?,
        rating_sum: row.try_get("rating_sum")?,
        leads: row.try_get("leads")?,
        response_ms: serde_json::from_str(&response_ms).map_err(corrupt)?,
    })
}

impl Store {
    /// Per-day figures for the days `from` to `to` (both included, UTC), keyed by `YYYY-MM-DD`;
    /// days without activity are absent. Days before today come from the kept figures, computed
    /// and kept the first time they are asked for; today is computed from the rows.
    pub async fn analytics_days(
        &self,
        account: &AccountId,
        bot: Option<&BotId>,
        from: Date,
        to: Date,
    ) -> Result<BTreeMap<String, DayFigures>> {
        let today = now().date();
        let first = day(from);
        let after = day(to.next_day().unwrap_or(to));
        let closed_end = day(today).min(after.clone());
        let mut days: BTreeMap<String, DayFigures> = BTreeMap::new();
        if first < closed_end {
            for (d, figures) in self.closed_days(account, bot, &first, &closed_end).await? {
                days.entry(d).or_default().add(&figures);
            }
        }
        let open_start = first.max(day(today));
        if open_start < after {
            let mut conn = self.pool.acquire().await?;
            for ((_, d), figures) in
                compute(&mut conn, account, bot, &open_start, &after, true).await?
            {
                days.entry(d).or_default().add(&figures);
            }
        }
        days.retain(|_, f| *f != DayFigures::default());
        Ok(days)
    }

    /// The kept figures of the days `[from, to)`, all before today, per (day, bot); days not
    /// kept yet are computed and kept first, in one write transaction so that no change slips
    /// between computing a day and keeping it.
    async fn closed_days(
        &self,
        account: &AccountId,
        bot: Option<&BotId>,
        from: &str,
        to: &str,
    ) -> Result<Vec<(String, DayFigures)>> {
        let bots: Vec<String> = match bot {
            Some(bot) => vec![bot.as_str().to_owned()],
            None => {
                sqlx::query_scalar("SELECT id FROM bots WHERE account_id = ?")
                    .bind(account.as_str())
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        let span = days_between(from, to);
        let kept = |rows: &[sqlx::sqlite::SqliteRow]| -> Result<Vec<(String, String, DayFigures)>> {
            rows.iter()
                .map(|r| {
                    Ok((
                        r.try_get("bot_id")?,
                        r.try_get("day")?,
                        figures_from_row(r)?,
                    ))
                })
                .collect()
        };
        let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "SELECT d.* FROM analytics_days d JOIN bots b ON b.id = d.bot_id WHERE b.account_id = ",
        );
        q.push_bind(account.as_str().to_owned());
        if let Some(bot) = bot {
            q.push(" AND d.bot_id = ")
                .push_bind(bot.as_str().to_owned());
        }
        q.push(" AND d.day >= ")
            .push_bind(from.to_owned())
            .push(" AND d.day < ")
            .push_bind(to.to_owned());
        let rows = kept(&q.build().fetch_all(&self.pool).await?)?;
        if rows.len() == bots.len() * span.len() {
            return Ok(rows.into_iter().map(|(_, d, f)| (d, f)).collect());
        }
        // Some days are not kept yet: compute the whole span once and keep every (bot, day),
        // empty ones too, so that they are not computed again.
        let mut tx = self.begin_write().await?;
        let computed = compute(&mut tx, account, bot, from, to, false).await?;
        for bot in &bots {
            for d in &span {
                let figures = computed
                    .get(&(bot.clone(), d.clone()))
                    .cloned()
                    .unwrap_or_default();
                sqlx::query(
                    "INSERT OR REPLACE INTO analytics_days (bot_id, day, conversations, handed_off,
                        messages, answered, fallbacks, ratings, rating_sum, leads, response_ms)
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(bot)
                .bind(d)
                .bind(figures.conversations)
                .bind(figures.handed_off)
                .bind(figures.messages)
                .bind(figures.answered)
                .bind(figures.fallbacks)
                .bind(figures.ratings)
                .bind(figures.rating_sum)
                .bind(figures.leads)
                .bind(serde_json::to_string(&figures.response_ms).map_err(corrupt)?)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(computed.into_iter().map(|((_, d), f)| (d, f)).collect())
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
        q.push(" AND v.created_at >= ")
            .push_bind(day(from.date()))
            .push(" AND v.created_at < ")
            .push_bind(day(to.date()))
            .push(" ORDER BY v.seq DESC LIMIT ")
            .push_bind(i64::from(limit));
        q.build()
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| Ok((r.try_get("text")?, r.try_get("outcome")?)))
            .collect()
    }
}

/// Every `YYYY-MM-DD` of `[from, to)`.
fn days_between(from: &str, to: &str) -> Vec<String> {
    let parse =
        |s: &str| Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).ok();
    let (Some(mut date), Some(end)) = (parse(from), parse(to)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    while date < end {
        out.push(day(date));
        match date.next_day() {
            Some(next) => date = next,
            None => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use sitechat_core::model::{Outcome, Role};

    use super::*;
    use crate::{
        testing::{bot, store},
        NewConversation, NewMessage, StartConversation,
    };

    /// A conversation with a question and an answered reply, `days` days ago.
    async fn exchange(
        store: &Store,
        account: &AccountId,
        bot: &BotId,
        days: i64,
    ) -> ConversationId {
        let (conversation, visitor, _) = store
            .record_visitor_message(
                account,
                bot,
                StartConversation::New(NewConversation {
                    channel: "widget".to_owned(),
                    ..Default::default()
                }),
                "How long do refunds take?".to_owned(),
                None,
                None,
            )
            .await
            .unwrap();
        let mut reply = NewMessage::text(Role::Bot, "Five days.");
        reply.outcome = Some(Outcome::Answered);
        store
            .append_bot_message(account, &conversation.id, &visitor.id, reply)
            .await
            .unwrap();
        if days > 0 {
            store
                .backdate_conversation(&conversation.id, days)
                .await
                .unwrap();
        }
        conversation.id
    }

    #[tokio::test]
    async fn kept_days_say_what_the_rows_say_until_an_old_conversation_changes() {
        let (store, _dir, account) = store().await;
        let bot = bot(&store, &account).await;
        let old = exchange(&store, &account, &bot, 3).await;
        exchange(&store, &account, &bot, 3).await;
        exchange(&store, &account, &bot, 1).await;
        exchange(&store, &account, &bot, 0).await;
        let today = now().date();
        let from = today - time::Duration::days(6);
        let first = store
            .analytics_days(&account, None, from, today)
            .await
            .unwrap();
        let three = day(today - time::Duration::days(3));
        assert_eq!(first[&three].conversations, 2);
        assert_eq!(first[&three].messages, 4);
        assert_eq!(first[&three].answered, 2);
        assert_eq!(first[&three].response_ms.len(), 2);
        assert_eq!(first[&day(today)].conversations, 1);
        assert_eq!(first.len(), 3, "days without activity are absent");
        // Read again: from the kept rows, the same figures; one bot's the same as the account's.
        let kept: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM analytics_days")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(kept, 6, "every day before today is kept, empty ones too");
        assert_eq!(
            store
                .analytics_days(&account, None, from, today)
                .await
                .unwrap(),
            first
        );
        assert_eq!(
            store
                .analytics_days(&account, Some(&bot), from, today)
                .await
                .unwrap(),
            first
        );
        // Rating an old conversation changes its day.
        store
            .rate_conversation(&account, &old, 4, None)
            .await
            .unwrap();
        let after = store
            .analytics_days(&account, None, from, today)
            .await
            .unwrap();
        assert_eq!(after[&three].ratings, 1);
        assert_eq!(after[&three].rating_sum, 4);
        // An agent's message today hands an old conversation off, on the day it started.
        let recent = exchange(&store, &account, &bot, 0).await;
        store.backdate_conversation(&recent, 1).await.unwrap();
        store
            .analytics_days(&account, None, from, today)
            .await
            .unwrap();
        store
            .transition(
                &account,
                &recent,
                sitechat_core::model::HandoffAction::Takeover,
                Some("Sam"),
                None,
            )
            .await
            .unwrap();
        store
            .append_staff_message(
                &account,
                &recent,
                NewMessage::text(Role::Agent, "Hi, Sam here."),
            )
            .await
            .unwrap();
        let handed = store
            .analytics_days(&account, None, from, today)
            .await
            .unwrap();
        assert_eq!(handed[&day(today - time::Duration::days(1))].handed_off, 1);
        assert_eq!(
            handed[&day(today - time::Duration::days(1))].conversations,
            2
        );
        // Another account sees none of it.
        let other = store
            .create_account("other", sitechat_core::Plan::Free, false)
            .await
            .unwrap();
        assert!(store
            .analytics_days(&other.id, None, from, today)
            .await
            .unwrap()
            .is_empty());
    }
}
