//! Analytics: a bot's or the account's figures over a range of days, a chart per measure
//! (SVG drawn here, each with its table), and the questions grouped by meaning.

use axum::{
    extract::{Query, State},
    response::Response,
    routing::get,
    Router,
};
use maud::{html, Markup};
use serde::Deserialize;
use sitechat_core::BotId;

use super::{bot_select, bots::all_bots, form_error, layout, OrPage, Page, Section};
use crate::{
    error::ApiResult,
    services::analytics::{self, Day, Figures, QuestionGroup, Report},
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new().route("/dashboard/analytics", get(page))
}

#[derive(Deserialize)]
struct AnalyticsQuery {
    bot: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// One measure of a day, as a chart shows it.
struct Measure {
    title: &'static str,
    unit: &'static str,
    value: fn(&Figures) -> Option<f64>,
}

const MEASURES: [Measure; 9] = [
    Measure {
        title: "Conversations",
        unit: "",
        value: |f| Some(f.conversations as f64),
    },
    Measure {
        title: "Messages",
        unit: "",
        value: |f| Some(f.messages as f64),
    },
    Measure {
        title: "Answer rate",
        unit: "%",
        value: |f| f.answer_rate.map(|r| r * 100.0),
    },
    Measure {
        title: "Fallback rate",
        unit: "%",
        value: |f| f.fallback_rate.map(|r| r * 100.0),
    },
    Measure {
        title: "Handoff rate",
        unit: "%",
        value: |f| f.handoff_rate.map(|r| r * 100.0),
    },
    Measure {
        title: "Satisfaction",
        unit: "/5",
        value: |f| f.satisfaction,
    },
    Measure {
        title: "Leads",
        unit: "",
        value: |f| Some(f.leads as f64),
    },
    Measure {
        title: "Median response time",
        unit: "ms",
        value: |f| f.response_ms_median,
    },
    Measure {
        title: "95th percentile response time",
        unit: "ms",
        value: |f| f.response_ms_p95,
    },
];

fn shown(value: Option<f64>, unit: &str) -> String {
    match value {
        None => "—".to_owned(),
        Some(v) if unit == "%" => format!("{v:.0}%"),
        Some(v) if unit == "/5" => format!("{v:.1}/5"),
        Some(v) if unit == "ms" => format!("{v:.0} ms"),
        Some(v) => format!("{v:.0}"),
    }
}

/// A bar chart of one measure per day, with its values on hover and focus, and a table view.
fn chart(index: usize, measure: &Measure, days: &[Day]) -> Markup {
    const W: f64 = 640.0;
    const H: f64 = 160.0;
    const LEFT: f64 = 44.0;
    const BOTTOM: f64 = 22.0;
    let values: Vec<Option<f64>> = days.iter().map(|d| (measure.value)(&d.figures)).collect();
    let max = values.iter().flatten().copied().fold(0.0_f64, f64::max);
    let top = if measure.unit == "%" {
        100.0
    } else if measure.unit == "/5" {
        5.0
    } else {
        max.max(1.0)
    };
    let n = days.len().max(1) as f64;
    let step = (W - LEFT) / n;
    let bar = (step * 0.7).max(1.0);
    let id = format!("chart-{index}");
    html! {
        figure.chart {
            figcaption id=(id) {
                (measure.title) @if !measure.unit.is_empty() { " (" (measure.unit) ")" }
                output.readout aria-live="polite" {}
            }
            svg viewBox=(format!("0 0 {W} {H}")) role="group" aria-labelledby=(id) {
                line.axis x1=(LEFT) y1=(H - BOTTOM) x2=(W) y2=(H - BOTTOM) {}
                line.axis x1=(LEFT) y1="4" x2=(LEFT) y2=(H - BOTTOM) {}
                text.tick x=(LEFT - 4.0) y="12" text-anchor="end" { (shown(Some(top), measure.unit)) }
                text.tick x=(LEFT - 4.0) y=(H - BOTTOM) text-anchor="end" { "0" }
                @if let (Some(first), Some(last)) = (days.first(), days.last()) {
                    text.tick x=(LEFT) y=(H - 6.0) { (first.date) }
                    text.tick x=(W) y=(H - 6.0) text-anchor="end" { (last.date) }
                }
                @for (i, (day, value)) in days.iter().zip(&values).enumerate() {
                    @let v = value.unwrap_or(0.0);
                    @let h = ((v / top) * (H - BOTTOM - 8.0)).max(if value.is_some() && v > 0.0 { 1.0 } else { 0.0 });
                    @let x = LEFT + step * i as f64 + (step - bar) / 2.0;
                    @let label = format!("{}: {}", day.date, shown(*value, measure.unit));
                    g.pt tabindex="0" role="img" aria-label=(label) {
                        title { (label) }
                        rect x=(format!("{x:.1}")) y=(format!("{:.1}", H - BOTTOM - h)) width=(format!("{bar:.1}")) height=(format!("{h:.1}")) {}
                        rect.hit x=(format!("{:.1}", LEFT + step * i as f64)) y="0" width=(format!("{step:.1}")) height=(H - BOTTOM) {}
                    }
                }
            }
            details {
                summary { "Table: " (measure.title) }
                table {
                    thead { tr { th scope="col" { "Day" } th.num scope="col" { (measure.title) } } }
                    tbody {
                        @for (day, value) in days.iter().zip(&values) {
                            tr { td { (day.date) } td.num { (shown(*value, measure.unit)) } }
                        }
                    }
                }
            }
        }
    }
}

fn groups_table(groups: &[QuestionGroup], caption: &str, bot: Option<&BotId>, fix: bool) -> Markup {
    // "Add a curated answer" sits under the question it answers, not in a column of its own: a
    // fifth column does not fit a phone's width.
    html! {
        table {
            caption { (caption) }
            thead { tr { th scope="col" { "Question (most asked wording)" } th.num scope="col" { "Asked" } th.num scope="col" { "Answered" } th.num scope="col" { "Not answered" } } }
            tbody {
                @for g in groups {
                    tr {
                        td {
                            (g.question)
                            @if !g.examples.is_empty() {
                                span.muted.small.block { "Also: " (g.examples.join(" · ")) }
                            }
                            @if fix {
                                @if let Some(bot) = bot {
                                    a.block.small data-fix href=(format!("/dashboard/bots/{bot}/playground?q={}", url::form_urlencoded::byte_serialize(g.question.as_bytes()).collect::<String>())) { "Add a curated answer" }
                                } @else {
                                    span.muted.small.block { "Choose a bot to answer it" }
                                }
                            }
                        }
                        td.num { (g.count) }
                        td.num { (g.answered) }
                        td.num { (g.unanswered) }
                    }
                }
            }
        }
    }
}

async fn load(
    state: &AppState,
    page: &Page,
    q: &AnalyticsQuery,
) -> ApiResult<(
    Option<BotId>,
    Report,
    Vec<QuestionGroup>,
    Vec<QuestionGroup>,
)> {
    let bot = q
        .bot
        .as_deref()
        .filter(|b| !b.is_empty())
        .map(BotId::parse)
        .transpose()?;
    let (from, to) = analytics::days(
        ("from", q.from.as_deref().filter(|v| !v.is_empty())),
        ("to", q.to.as_deref().filter(|v| !v.is_empty())),
    )?;
    let caller = page.caller();
    let report = analytics::report(state, caller, bot.as_ref(), from, to).await?;
    let top = analytics::questions(state, caller, bot.as_ref(), from, to, false).await?;
    let unanswered = analytics::unanswered(&top);
    Ok((bot, report, top, unanswered))
}

async fn page(
    State(state): State<AppState>,
    page: Page,
    Query(q): Query<AnalyticsQuery>,
) -> Result<Response, Response> {
    let bots = all_bots(&state, &page)
        .await
        .or_page(&page, Section::Analytics)?;
    let (bot, report, top, unanswered) = load(&state, &page, &q)
        .await
        .or_page(&page, Section::Analytics)?;
    let t = &report.totals;
    let query = format!(
        "from={}&to={}{}",
        report.from,
        report.to,
        bot.as_ref()
            .map(|b| format!("&bot_id={b}"))
            .unwrap_or_default()
    );
    let content = html! {
        form.filters-row method="get" {
            (bot_select(&bots, bot.as_ref()))
            div.field { label for="f-from" { "From" } input #f-from name="from" type="date" value=(report.from); }
            div.field { label for="f-to" { "To" } input #f-to name="to" type="date" value=(report.to); }
            (form_error())
            button type="submit" { "Show" }
            a.button href=(format!("/v1/analytics?format=csv&{query}")) download { "Export CSV" }
        }
        section aria-labelledby="totals" {
            h2 #totals { "From " (report.from) " to " (report.to) }
            dl.cards data-totals {
                div { dt { "Conversations" } dd data-total="conversations" { (t.conversations) } }
                div { dt { "Messages" } dd data-total="messages" { (t.messages) } }
                div { dt { "Answer rate" } dd data-total="answer_rate" { (shown(t.answer_rate.map(|r| r * 100.0), "%")) } }
                div { dt { "Fallback rate" } dd data-total="fallback_rate" { (shown(t.fallback_rate.map(|r| r * 100.0), "%")) } }
                div { dt { "Handoff rate" } dd data-total="handoff_rate" { (shown(t.handoff_rate.map(|r| r * 100.0), "%")) } }
                div { dt { "Satisfaction" } dd data-total="satisfaction" { (shown(t.satisfaction, "/5")) } }
                div { dt { "Leads" } dd data-total="leads" { (t.leads) } }
                div { dt { "Median response" } dd data-total="response_ms_median" { (shown(t.response_ms_median, "ms")) } }
                div { dt { "95th percentile response" } dd data-total="response_ms_p95" { (shown(t.response_ms_p95, "ms")) } }
            }
        }
        section aria-labelledby="charts" {
            h2 #charts { "Per day" }
            div.charts {
                @for (i, m) in MEASURES.iter().enumerate() {
                    (chart(i, m, &report.days))
                }
            }
        }
        section aria-labelledby="questions" {
            h2 #questions { "Top questions, grouped by meaning" }
            @if top.is_empty() {
                p.empty { "No questions in this range yet." }
            } @else {
                (groups_table(&top.iter().take(20).cloned().collect::<Vec<_>>(), "Questions that mean the same are counted together", bot.as_ref(), false))
            }
            p { a href=(format!("/v1/analytics/questions?format=csv&{query}")) download { "Export the question groups as CSV" } }
        }
        section aria-labelledby="unanswered" {
            h2 #unanswered { "Questions the bot could not answer" }
            @if unanswered.is_empty() {
                p.empty { "Every question in this range was answered." }
            } @else {
                (groups_table(&unanswered.iter().take(20).cloned().collect::<Vec<_>>(), "Most unanswered first", bot.as_ref(), true))
            }
        }
    };
    Ok(layout(&page, Section::Analytics, "Analytics", content))
}
