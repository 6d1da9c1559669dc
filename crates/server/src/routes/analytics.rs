//! `GET /v1/analytics`: what the account's bots did over a range of days.

use axum::{
    extract::State,
    response::{IntoResponse, Response},
    Json,
};
use serde::Deserialize;
use sitechat_core::BotId;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    auth::Caller,
    error::{ApiResult, ErrorBody},
    extract::ApiQuery,
    routes::{csv_field, csv_response, Format},
    services::analytics::{self, QuestionGroup, Report},
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(report))
        .routes(routes!(questions))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AnalyticsQuery {
    /// One bot (`bot_…`); absent: every bot of the account.
    pub bot_id: Option<String>,
    /// First day, `YYYY-MM-DD` (UTC); default: 29 days before `to`.
    pub from: Option<String>,
    /// Last day, included; default: today.
    pub to: Option<String>,
    /// `json` (default) or `csv` (the days, one line each).
    pub format: Option<String>,
}

/// The bot, the range of days and the format a query asks for.
fn asked(
    bot_id: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
    format: Option<&str>,
) -> ApiResult<(Option<BotId>, time::Date, time::Date, Format)> {
    let (from, to) = analytics::days(("from", from), ("to", to))?;
    let format = Format::parse(format)?;
    let bot = bot_id.map(BotId::parse).transpose()?;
    Ok((bot, from, to, format))
}

/// The account's (or one bot's) figures over a range of days: conversations, messages, the
/// answer, fallback and handoff rates, satisfaction, leads and response times, in total and
/// for every day of the range (days without activity included). `format=csv` gives the days as
/// CSV.
#[utoipa::path(get, path = "/v1/analytics", tag = "analytics", params(AnalyticsQuery),
    responses((status = 200, body = Report, description = "the report; with `format=csv`, `text/csv` of its days"),
              (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn report(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<AnalyticsQuery>,
) -> ApiResult<Response> {
    let (bot, from, to, format) = asked(
        q.bot_id.as_deref(),
        q.from.as_deref(),
        q.to.as_deref(),
        q.format.as_deref(),
    )?;
    let report = analytics::report(&state, &caller, bot.as_ref(), from, to).await?;
    Ok(match format {
        Format::Csv => csv_response(analytics::csv(&report), "analytics.csv"),
        Format::Json => Json(report).into_response(),
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct QuestionsQuery {
    /// One bot (`bot_…`); absent: every bot of the account.
    pub bot_id: Option<String>,
    /// First day, `YYYY-MM-DD` (UTC); default: 29 days before `to`.
    pub from: Option<String>,
    /// Last day, included; default: today.
    pub to: Option<String>,
    /// `true`: only the groups the bot could not always answer, most unanswered first.
    pub unanswered: Option<bool>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct QuestionGroups {
    pub data: Vec<QuestionGroup>,
}

/// The visitors' questions over a range of days, grouped by meaning (questions that mean the
/// same are counted together, by their embeddings), most asked first, with how many were
/// answered; `unanswered=true` lists the groups the bot gave its fallback to, most first — each
/// a candidate for a curated answer.
#[utoipa::path(get, path = "/v1/analytics/questions", tag = "analytics", params(QuestionsQuery),
    responses((status = 200, body = QuestionGroups, description = "the groups; with `format=csv`, `text/csv`"),
              (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn questions(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<QuestionsQuery>,
) -> ApiResult<Response> {
    let (bot, from, to, format) = asked(
        q.bot_id.as_deref(),
        q.from.as_deref(),
        q.to.as_deref(),
        q.format.as_deref(),
    )?;
    let groups = analytics::questions(
        &state,
        &caller,
        bot.as_ref(),
        from,
        to,
        q.unanswered.unwrap_or(false),
    )
    .await?;
    if format == Format::Csv {
        let mut out = String::from("question,count,answered,unanswered\n");
        for g in &groups {
            out.push_str(&format!(
                "{},{},{},{}\n",
                csv_field(Some(&g.question)),
                g.count,
                g.answered,
                g.unanswered
            ));
        }
        return Ok(csv_response(out, "questions.csv"));
    }
    Ok(Json(QuestionGroups { data: groups }).into_response())
}
