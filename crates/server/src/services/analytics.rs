//! What an account's bots did over a range of days: the figures the native analytics API and
//! AISA's analytics dialect both read.

use serde::Serialize;
use sitechat_core::{BotId, Scope};
use sitechat_store::DayFigures;
use time::Date;
use utoipa::ToSchema;

use crate::{auth::Caller, error::ApiError, error::ApiResult, services::bots, state::AppState};

/// The longest range one report covers, in days.
pub const MAX_DAYS: i64 = 366;

/// Figures of a day or of a whole range. Rates are `null` when there is nothing to divide by.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct Figures {
    /// Conversations started.
    pub conversations: i64,
    /// Messages of every role (visitor, bot, agent, system).
    pub messages: i64,
    /// Bot replies answered from the bot's knowledge (outcome `answered` or `curated`).
    pub answered: i64,
    /// Bot replies that were the fallback.
    pub fallbacks: i64,
    /// `answered / (answered + fallbacks)`: the questions the bot could answer.
    pub answer_rate: Option<f64>,
    /// `fallbacks / (answered + fallbacks)`.
    pub fallback_rate: Option<f64>,
    /// Conversations that went to a person (asked for, escalated or taken over).
    pub handed_off: i64,
    /// `handed_off / conversations`.
    pub handoff_rate: Option<f64>,
    /// Conversations rated, and their mean 1–5 rating.
    pub ratings: i64,
    pub satisfaction: Option<f64>,
    /// Leads captured.
    pub leads: i64,
    /// Milliseconds from a visitor's message to the bot's reply: mean, median and 95th percentile
    /// (nearest rank).
    pub response_ms_mean: Option<f64>,
    pub response_ms_median: Option<f64>,
    pub response_ms_p95: Option<f64>,
}

/// One day's figures.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Day {
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    #[serde(flatten)]
    pub figures: Figures,
}

/// A range's figures: the totals, then every day of the range, days without activity included.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Report {
    /// `null`: every bot of the account.
    pub bot_id: Option<BotId>,
    pub from: String,
    pub to: String,
    pub totals: Figures,
    pub days: Vec<Day>,
}

fn ratio(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    Some(sorted[rank.min(sorted.len()) - 1])
}

fn figures(days: &[&DayFigures]) -> Figures {
    let sum = |f: fn(&DayFigures) -> i64| days.iter().map(|d| f(d)).sum::<i64>();
    let (conversations, answered, fallbacks, handed_off, ratings) = (
        sum(|d| d.conversations),
        sum(|d| d.answered),
        sum(|d| d.fallbacks),
        sum(|d| d.handed_off),
        sum(|d| d.ratings),
    );
    let mut times: Vec<f64> = days
        .iter()
        .flat_map(|d| d.response_ms.iter().copied())
        .collect();
    times.sort_by(f64::total_cmp);
    let round = |x: f64| (x * 10.0).round() / 10.0;
    Figures {
        conversations,
        messages: sum(|d| d.messages),
        answered,
        fallbacks,
        answer_rate: ratio(answered, answered + fallbacks),
        fallback_rate: ratio(fallbacks, answered + fallbacks),
        handed_off,
        handoff_rate: ratio(handed_off, conversations),
        ratings,
        satisfaction: (ratings > 0).then(|| sum(|d| d.rating_sum) as f64 / ratings as f64),
        leads: sum(|d| d.leads),
        response_ms_mean: (!times.is_empty())
            .then(|| round(times.iter().sum::<f64>() / times.len() as f64)),
        response_ms_median: percentile(&times, 50.0).map(round),
        response_ms_p95: percentile(&times, 95.0).map(round),
    }
}

/// The report of the account's bots (or one bot) for the days `from` to `to`, both included.
pub async fn report(
    state: &AppState,
    caller: &Caller,
    bot: Option<&BotId>,
    from: Date,
    to: Date,
) -> ApiResult<Report> {
    caller.require(Scope::Read)?;
    if from > to {
        return Err(ApiError::invalid("from: must not be after `to`"));
    }
    if (to - from).whole_days() >= MAX_DAYS {
        return Err(ApiError::invalid(format!(
            "to: a report covers at most {MAX_DAYS} days; ask for a shorter range"
        )));
    }
    if let Some(bot) = bot {
        bots::get(state, caller, bot).await?;
    }
    let by_day = state
        .store
        .analytics_days(
            &caller.account.id,
            bot,
            from.midnight().assume_utc(),
            (to + time::Duration::days(1)).midnight().assume_utc(),
        )
        .await?;
    let empty = DayFigures::default();
    let mut days = Vec::new();
    let mut date = from;
    loop {
        let key = date_string(date);
        let day = by_day.get(&key).unwrap_or(&empty);
        days.push(Day {
            date: key,
            figures: figures(&[day]),
        });
        if date >= to {
            break;
        }
        date = date.next_day().unwrap_or(to);
    }
    let all: Vec<&DayFigures> = by_day.values().collect();
    Ok(Report {
        bot_id: bot.cloned(),
        from: date_string(from),
        to: date_string(to),
        totals: figures(&all),
        days,
    })
}

pub fn date_string(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// The report's days as CSV, one line a day.
pub fn csv(report: &Report) -> String {
    let mut out = String::from(
        "date,conversations,messages,answered,fallbacks,answer_rate,handed_off,handoff_rate,ratings,satisfaction,leads,response_ms_median,response_ms_p95\n",
    );
    let opt = |x: Option<f64>| x.map_or(String::new(), |x| format!("{x:.3}"));
    for d in &report.days {
        let f = &d.figures;
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
            d.date,
            f.conversations,
            f.messages,
            f.answered,
            f.fallbacks,
            opt(f.answer_rate),
            f.handed_off,
            opt(f.handoff_rate),
            f.ratings,
            opt(f.satisfaction),
            f.leads,
            opt(f.response_ms_median),
            opt(f.response_ms_p95),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_add_up_over_days() {
        let a = DayFigures {
            conversations: 2,
            handed_off: 1,
            messages: 6,
            answered: 2,
            fallbacks: 1,
            ratings: 1,
            rating_sum: 4,
            leads: 1,
            response_ms: vec![10.0, 30.0],
        };
        let b = DayFigures {
            conversations: 2,
            answered: 1,
            ratings: 1,
            rating_sum: 2,
            response_ms: vec![20.0, 40.0],
            ..DayFigures::default()
        };
        let f = figures(&[&a, &b]);
        assert_eq!((f.conversations, f.answered, f.fallbacks), (4, 3, 1));
        assert_eq!(f.answer_rate, Some(0.75));
        assert_eq!(f.handoff_rate, Some(0.25));
        assert_eq!(f.satisfaction, Some(3.0));
        assert_eq!(f.response_ms_median, Some(20.0));
        assert_eq!(f.response_ms_p95, Some(40.0));
        assert_eq!(f.response_ms_mean, Some(25.0));
        let none = figures(&[]);
        assert_eq!(
            (none.answer_rate, none.satisfaction, none.response_ms_p95),
            (None, None, None)
        );
    }
}
