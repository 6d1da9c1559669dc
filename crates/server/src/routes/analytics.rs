//! `GET /v1/analytics`: what the account's bots did over a range of days.

use axum::{
    extract::State,
    http::{header, HeaderValue},
    response::{IntoResponse, Response},
    Json,
};
use serde::Deserialize;
use sitechat_core::BotId;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    auth::Caller,
    error::{ApiError, ApiResult, ErrorBody},
    extract::ApiQuery,
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

fn date(field: &str, value: &str) -> ApiResult<time::Date> {
    time::Date::parse(
        value.trim(),
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|_| {
        ApiError::invalid(format!(
            "{field}: `{value}` is not a date such as 2026-12-01 (YYYY-MM-DD)"
        ))
    })
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
    let to =
        q.to.as_deref()
            .map(|d| date("to", d))
            .transpose()?
            .unwrap_or_else(|| sitechat_core::now().date());
    let from = q
        .from
        .as_deref()
        .map(|d| date("from", d))
        .transpose()?
        .unwrap_or(to - time::Duration::days(29));
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "format: `{other}` is not json or csv"
            )))
        }
    };
    let bot = q.bot_id.as_deref().map(BotId::parse).transpose()?;
    let report = analytics::report(&state, &caller, bot.as_ref(), from, to).await?;
    if csv {
        let mut response = analytics::csv(&report).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8"),
        );
        return Ok(response);
    }
    Ok(Json(report).into_response())
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
    let to =
        q.to.as_deref()
            .map(|d| date("to", d))
            .transpose()?
            .unwrap_or_else(|| sitechat_core::now().date());
    let from = q
        .from
        .as_deref()
        .map(|d| date("from", d))
        .transpose()?
        .unwrap_or(to - time::Duration::days(29));
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "format: `{other}` is not json or csv"
            )))
        }
    };
    let bot = q.bot_id.as_deref().map(BotId::parse).transpose()?;
    let groups = analytics::questions(
        &state,
        &caller,
        bot.as_ref(),
        from,
        to,
        q.unanswered.unwrap_or(false),
    )
    .await?;
    if csv {
        let field = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
        let mut out = String::from("question,count,answered,unanswered\n");
        for g in &groups {
            out.push_str(&format!(
                "{},{},{},{}\n",
                field(&g.question),
                g.count,
                g.answered,
                g.unanswered
            ));
        }
        let mut response = out.into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8"),
        );
        return Ok(response);
    }
    Ok(Json(QuestionGroups { data: groups }).into_response())
}
