//! Bots: the list, one bot's training and settings, its knowledge, its playground and its
//! widget.

use axum::{
    extract::{Query, State},
    http::HeaderMap,
    response::Response,
    routing::get,
    Router,
};
use maud::{html, Markup};
use sitechat_core::{
    hours::BusinessHours,
    model::{Bot, EngineSettings, JobState, SourceKind, EMBEDDING_MODELS},
    BotId,
};
use sitechat_store::PageRequest;

use super::{area, count, field, form_error, layout, pager, when, OrPage, Page, Section};
use crate::{
    error::ApiResult,
    extract::ApiPath,
    routes::widget::embed_of,
    services::{bots, knowledge, training},
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dashboard/bots", get(list))
        .route("/dashboard/bots/{id}", get(overview))
        .route("/dashboard/bots/{id}/knowledge", get(sources))
        .route("/dashboard/bots/{id}/playground", get(playground))
        .route("/dashboard/bots/{id}/widget", get(widget))
}

/// Every bot of the account (a plan allows at most a few hundred).
pub async fn all_bots(state: &AppState, page: &Page) -> ApiResult<Vec<Bot>> {
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let listed = bots::list(state, page.caller(), PageRequest { limit: 100, after }).await?;
        all.extend(listed.items);
        match listed.next_cursor {
            Some(c) => after = Some(c),
            None => return Ok(all),
        }
    }
}

fn training_badge(bot: &Bot) -> Markup {
    match bot.training_status {
        Some(state) => {
            html! { span class=(format!("badge {}", state.as_str())) { (state.as_str()) } }
        }
        None => html! { span.badge { "not trained" } },
    }
}

async fn list(State(state): State<AppState>, page: Page) -> Result<Response, Response> {
    let bots = all_bots(&state, &page)
        .await
        .or_page(&page, Section::Bots)?;
    let content = html! {
        @if page.manages() {
            section.panel aria-labelledby="new-bot" {
                h2 #new-bot { "New bot" }
                form.inline data-api="/v1/bots" data-then="/dashboard/bots/{id}" data-omit-empty {
                    (field("Name", "name", "text", "", None))
                    (field("Website", "website_url", "url", "", Some("sitechat learns every page of it; you can add text and files later.")))
                    (form_error())
                    button.primary type="submit" { "Create and train" }
                }
            }
        }
        @if bots.is_empty() {
            p.empty { "No bots yet: create one from your website's URL." }
        } @else {
            table data-sortable data-stack {
                caption.sr-only { "Bots of the account" }
                thead { tr { th scope="col" { "Name" } th scope="col" { "Website" } th scope="col" { "Training" } th scope="col" { "Last trained" } } }
                tbody {
                    @for bot in &bots {
                        tr {
                            td { a href=(format!("/dashboard/bots/{}", bot.id)) { (bot.name) } }
                            td { (bot.website_url.as_deref().unwrap_or("—")) }
                            td { (training_badge(bot)) }
                            td { (bot.last_trained_at.map(when).unwrap_or_else(|| "—".to_owned())) }
                        }
                    }
                }
            }
        }
    };
    Ok(layout(&page, Section::Bots, "Bots", content))
}

#[derive(Clone, Copy, PartialEq)]
enum Tab {
    Overview,
    Knowledge,
    Playground,
    Widget,
}

fn tabs(bot: &Bot, current: Tab) -> Markup {
    let items = [
        (
            Tab::Overview,
            "Training & settings",
            format!("/dashboard/bots/{}", bot.id),
        ),
        (
            Tab::Knowledge,
            "Knowledge",
            format!("/dashboard/bots/{}/knowledge", bot.id),
        ),
        (
            Tab::Playground,
            "Playground",
            format!("/dashboard/bots/{}/playground", bot.id),
        ),
        (
            Tab::Widget,
            "Widget",
            format!("/dashboard/bots/{}/widget", bot.id),
        ),
    ];
    html! {
        nav.tabs aria-label="Bot" {
            @for (tab, label, href) in items {
                @if tab == current {
                    a href=(href) aria-current="page" { (label) }
                } @else {
                    a href=(href) { (label) }
                }
            }
        }
    }
}

/// The bot of a page's path, or the page that says why not.
async fn bot_of(state: &AppState, page: &Page, id: &str) -> Result<Bot, Response> {
    let found = match BotId::parse(id) {
        Ok(id) => bots::get(state, page.caller(), &id).await,
        Err(e) => Err(e.into()),
    };
    found.or_page(page, Section::Bots)
}

async fn overview(
    State(state): State<AppState>,
    page: Page,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, Response> {
    let mut bot = bot_of(&state, &page, &id).await?;
    bot.embedding = bots::embedding_progress(&state, &bot).await.ok();
    // The latest training (a bot's jobs also include replies sent with `async`).
    let job = training::list(&state, page.caller(), &bot.id, PageRequest::first(20))
        .await
        .ok()
        .and_then(|jobs| jobs.items.into_iter().find(|j| j.kind == "train"));
    let s = &bot.settings;
    let engine = match &s.engine {
        EngineSettings::Extractive => "extractive",
        EngineSettings::Openai(_) => "openai",
        EngineSettings::Local(_) => "local",
    };
    let training = matches!(
        bot.training_status,
        Some(JobState::Queued | JobState::Running)
    );
    let content = html! {
        (tabs(&bot, Tab::Overview))
        section.panel aria-labelledby="training" {
            h2 #training { "Training" }
            @if let Some(job) = &job {
                div.progress data-job=(job.id) {
                    p.phase aria-live="polite" { "Training " (job.state.as_str()) }
                    div.bar role="progressbar" aria-label="Training progress" aria-valuemin="0" aria-valuemax="100" aria-valuenow="0" { span {} }
                    dl.counts {
                        div { dt { "Pages found" } dd data-count="pages_discovered" { (job.progress.pages_discovered) } }
                        div { dt { "Fetched" } dd data-count="pages_fetched" { (job.progress.pages_fetched) } }
                        div { dt { "Indexed" } dd data-count="pages_indexed" { (job.progress.pages_indexed) } }
                        div { dt { "Skipped" } dd data-count="pages_skipped" { (job.progress.pages_skipped) } }
                        div { dt { "Passages" } dd data-count="chunks_created" { (job.progress.chunks_created) } }
                        div { dt { "Embedded" } dd data-count="chunks_embedded" { (job.progress.chunks_embedded) } }
                    }
                    p.eta.muted {}
                    details.skipped hidden {
                        summary { "Skipped pages and why" }
                        ul {}
                    }
                }
            } @else {
                p.empty { "Not trained yet." }
            }
            @if page.manages() && bot.website_url.is_some() {
                div.actions {
                    button type="button" data-api=(format!("/v1/bots/{}/retrain", bot.id)) data-body="{}" data-then="reload" { "Re-sync the website now" }
                }
            }
        }
        section.panel aria-labelledby="settings" {
            h2 #settings { "Settings" }
            form data-api=(format!("/v1/bots/{}", bot.id)) data-method="PATCH" data-then="saved" {
                fieldset disabled[!page.manages()] {
                    legend.sr-only { "Bot settings" }
                    (field("Name", "name", "text", &bot.name, None))
                    (field("Language", "language", "text", &bot.language, Some("en, fr, es, de, ms, id… The texts the bot says by default follow it.")))
                    div.field {
                        label for="f-embedding" { "Embedding model" }
                        select #f-embedding name="settings.embedding_model" data-type="json" aria-describedby="f-embedding-hint" {
                            option value="null" selected[s.embedding_model.is_none()] { "Automatic (" (bot.embedding_model) ")" }
                            @for model in EMBEDDING_MODELS {
                                option value=(format!("\"{model}\"")) selected[s.embedding_model.as_deref() == Some(model)] { (model) }
                            }
                        }
                        p.hint #f-embedding-hint {
                            "all-MiniLM-L6-v2 for English, multilingual-e5-small for other languages (a Spanish visitor is answered from a French page). A change embeds the knowledge again in the background; the bot answers meanwhile."
                            // While training, its own panel counts what is embedded, live.
                            @if let Some(e) = bot.embedding.filter(|e| e.embedded < e.passages && !training) {
                                " Embedded with " (bot.embedding_model) ": " (e.embedded) " of " (e.passages) " passages."
                            }
                        }
                    }
                    (area("Greeting", "settings.greeting", &s.greeting, 2))
                    (area("Fallback message", "settings.fallback_message", &s.fallback_message, 2))
                    div.field {
                        label for="f-threshold" { "Confidence threshold" }
                        input #f-threshold name="settings.confidence_threshold" type="number" min="0" max="1" step="0.01" value=(s.confidence_threshold) aria-describedby="f-threshold-hint";
                        p.hint #f-threshold-hint { "Answers less sure than this get the fallback message." }
                    }
                    div.field {
                        label for="f-handoff" { "Hand over to a person after this many fallbacks in a row (0: never)" }
                        input #f-handoff name="settings.handoff_after_fallbacks" type="number" min="0" max="20" value=(s.handoff_after_fallbacks);
                    }
                    div.field.check {
                        input #f-ask name="settings.ask_for_contact" type="checkbox" checked[s.ask_for_contact];
                        label for="f-ask" { "After a fallback, ask for an email or phone number" }
                    }
                    (area("Contact prompt", "settings.contact_prompt", &s.contact_prompt, 2))
                    (area("Away message (outside business hours)", "settings.away_message", &s.away_message, 2))
                    (hours_editor(s.business_hours.as_ref()))
                    div.field {
                        label for="f-engine" { "Engine" }
                        select #f-engine name="settings.engine.kind" data-engine {
                            @for kind in ["extractive", "local", "openai"] {
                                option value=(kind) selected[kind == engine] { (kind) }
                            }
                        }
                    }
                    fieldset.openai data-engine-fields="openai" disabled[engine != "openai"] {
                        legend { "OpenAI-compatible endpoint" }
                        @let (base_url, model) = match &s.engine { EngineSettings::Openai(o) => (o.base_url.clone(), o.model.clone()), _ => (String::new(), String::new()) };
                        (field("Base URL", "settings.engine.base_url", "url", &base_url, None))
                        (field("Model", "settings.engine.model", "text", &model, None))
                        (field("API key (kept sealed; leave empty to keep the current one)", "settings.engine.api_key", "password", "", None))
                    }
                    (form_error())
                    p.form-ok role="status" hidden { "Saved." }
                    @if page.manages() {
                        button.primary type="submit" { "Save settings" }
                    }
                }
            }
        }
        @if page.manages() {
            section.panel.danger aria-labelledby="danger" {
                h2 #danger { "Delete" }
                p { "Deleting the bot removes its knowledge, conversations and leads." }
                button.danger type="button" data-api=(format!("/v1/bots/{}", bot.id)) data-method="DELETE" data-confirm=(format!("Delete the bot “{}” and everything it knows?", bot.name)) data-then="/dashboard/bots" { "Delete “" (bot.name) "”" }
            }
        }
    };
    Ok(layout(&page, Section::Bots, &bot.name, content))
}

/// Business hours as a week of days, each closed or open in one or more slots, in a time zone.
/// The page's script reads it into the API's `business_hours` (`data-hours`); "always open"
/// sends `null`.
fn hours_editor(hours: Option<&BusinessHours>) -> Markup {
    const NAMES: [&str; 7] = [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ];
    let zone = hours
        .and_then(|h| h.time_zone.clone().or_else(|| h.utc_offset.clone()))
        .unwrap_or_default();
    let zones = sitechat_core::hours::time_zone_names();
    html! {
        fieldset.hours data-hours="settings.business_hours" {
            legend { "Business hours" }
            div.field.check {
                input #f-always type="checkbox" data-hours-always checked[hours.is_none()];
                label for="f-always" { "Always open: people can take over at any time" }
            }
            fieldset.week data-hours-week disabled[hours.is_none()] {
                legend.sr-only { "Opening days and times" }
                div.field {
                    label for="f-zone" { "Time zone" }
                    input #f-zone type="text" list="time-zones" value=(zone) data-hours-zone autocomplete="off" aria-describedby="f-zone-hint";
                    datalist #time-zones { @for z in zones { option value=(z) {} } }
                    p.hint #f-zone-hint { "A time zone such as Europe/Paris follows its daylight saving; a fixed offset such as +02:00 does not." }
                }
                @for (i, (day, _)) in sitechat_core::hours::DAYS.iter().enumerate() {
                    @let slots: Vec<_> = hours.map(|h| h.slots.iter().filter(|s| s.day == *day).collect()).unwrap_or_default();
                    div.day role="group" aria-labelledby=(format!("d-{day}")) data-day=(day) {
                        span.day-name id=(format!("d-{day}")) { (NAMES[i]) }
                        span.check {
                            input id=(format!("o-{day}")) type="checkbox" data-open-day checked[!slots.is_empty()];
                            label for=(format!("o-{day}")) { "Open" }
                        }
                        span.slots {
                            @if slots.is_empty() {
                                (slot_inputs(NAMES[i], 0, "09:00", "17:00"))
                            }
                            @for (n, slot) in slots.iter().enumerate() {
                                (slot_inputs(NAMES[i], n, &slot.open, &slot.close))
                            }
                        }
                        button.link type="button" data-add-slot aria-label=(format!("Add opening hours on {}", NAMES[i])) { "+ hours" }
                    }
                }
            }
        }
    }
}

/// One opening slot's two times.
fn slot_inputs(day: &str, n: usize, open: &str, close: &str) -> Markup {
    let which = if n == 0 {
        String::new()
    } else {
        format!(" ({})", n + 1)
    };
    html! {
        span.slot {
            input type="time" value=(open) aria-label=(format!("{day} opens{which}"));
            span aria-hidden="true" { "–" }
            input type="time" value=(close) aria-label=(format!("{day} closes{which}"));
        }
    }
}

fn kind_label(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Text => "Text",
        SourceKind::Url => "Page",
        SourceKind::Website => "Website page",
        SourceKind::Spreadsheet => "Spreadsheet",
        SourceKind::File => "File",
        SourceKind::Qa => "Curated answer",
    }
}

#[derive(serde::Deserialize)]
struct SourcesQuery {
    /// The page after this one's `next_cursor`.
    cursor: Option<String>,
}

async fn sources(
    State(state): State<AppState>,
    page: Page,
    ApiPath(id): ApiPath<String>,
    Query(q): Query<SourcesQuery>,
) -> Result<Response, Response> {
    let bot = bot_of(&state, &page, &id).await?;
    let after = crate::routes::cursor_of(q.cursor.as_deref()).or_page(&page, Section::Bots)?;
    let request = PageRequest { limit: 100, after };
    let listed = knowledge::list(&state, page.caller(), &bot.id, request).await;
    let listed = listed.or_page(&page, Section::Bots)?;
    let here = format!("/dashboard/bots/{}/knowledge", bot.id);
    let first = after.map(|_| here.clone());
    let next = listed
        .next_cursor
        .map(|c| format!("{here}?cursor={}", c.encode()));
    let jobs = training::list(&state, page.caller(), &bot.id, PageRequest::first(10))
        .await
        .map(|p| {
            p.items
                .into_iter()
                .filter(|j| j.kind == "train")
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let passages: i64 = listed.items.iter().map(|s| s.chunks).sum();
    let passages = usize::try_from(passages).unwrap_or_default();
    let content = html! {
        (tabs(&bot, Tab::Knowledge))
        @if page.manages() {
            section.panel aria-labelledby="add" {
                h2 #add { "Add knowledge" }
                div.grid2 {
                    form data-api=(format!("/v1/bots/{}/sources/text", bot.id)) data-then="reload" {
                        h3 { "Text" }
                        (field("Title", "title", "text", "", None))
                        (area("Content", "content", "", 5))
                        (form_error())
                        button.primary type="submit" { "Add text" }
                    }
                    form data-api=(format!("/v1/bots/{}/sources/url", bot.id)) data-then="reload" {
                        h3 { "One page" }
                        (field("URL", "url", "url", "", None))
                        (form_error())
                        button.primary type="submit" { "Add page" }
                    }
                    form data-api=(format!("/v1/bots/{}/sources/qa", bot.id)) data-then="reload" {
                        h3 { "Curated answer" }
                        (field("Question", "question", "text", "", Some("As visitors ask it.")))
                        (area("Answer", "answer", "", 4))
                        (form_error())
                        button.primary type="submit" { "Add curated answer" }
                    }
                    form data-upload=(format!("/v1/bots/{}/sources/file", bot.id)) data-upload-sheet=(format!("/v1/bots/{}/sources/spreadsheet", bot.id)) {
                        h3 { "File or spreadsheet" }
                        div.field {
                            label for="f-file" { "PDF, DOCX, Markdown, HTML, text, CSV or XLSX" }
                            input #f-file name="file" type="file";
                        }
                        (form_error())
                        button.primary type="submit" { "Upload" }
                    }
                }
            }
        }
        section.panel aria-labelledby="sources" {
            h2 #sources { "Sources" }
            @if first.is_some() || next.is_some() {
                p.muted { (count(listed.items.len(), "source")) " on this page, " (count(passages, "passage")) "." }
            } @else {
                p.muted { (count(listed.items.len(), "source")) ", " (count(passages, "passage")) "." }
            }
            @if listed.items.is_empty() {
                p.empty { "Nothing learned yet: train the website or add text, a page or a file above." }
            } @else {
                table data-sortable data-stack {
                    caption.sr-only { "Sources" }
                    thead { tr { th scope="col" { "Title" } th scope="col" { "Kind" } th.num scope="col" { "Passages" } th scope="col" { "Added" } @if page.manages() { th scope="col" { span.sr-only { "Actions" } } } } }
                    tbody {
                        @for source in &listed.items {
                            tr {
                                td {
                                    @if let Some(url) = &source.url { a href=(url) rel="noreferrer" { (source.title) } } @else { (source.title) }
                                }
                                td { (kind_label(source.kind)) }
                                td.num { (source.chunks) }
                                td { (when(source.created_at)) }
                                @if page.manages() {
                                    td { button.link.danger type="button" data-api=(format!("/v1/bots/{}/sources/{}", bot.id, source.id)) data-method="DELETE" data-confirm=(format!("Delete the source “{}”?", source.title)) data-then="reload" { "Delete" span.sr-only { " " (source.title) } } }
                                }
                            }
                        }
                    }
                }
                (pager(first.as_deref(), next.as_deref(), "Next 100 sources"))
            }
        }
        section.panel aria-labelledby="sync" {
            h2 #sync { "Re-sync and the sync log" }
            @let crawl = &bot.settings.crawl;
            form data-api=(format!("/v1/bots/{}", bot.id)) data-method="PATCH" data-then="saved" {
                fieldset.grid2 disabled[!page.manages()] {
                    legend { "How the website is crawled; unchanged pages are kept at each re-sync" }
                    div.field {
                        label for="f-recrawl" { "Re-sync every (hours; empty: only when asked)" }
                        input #f-recrawl name="settings.crawl.recrawl_hours" type="number" min="1" value=[crawl.recrawl_hours];
                    }
                    div.field {
                        label for="f-max-pages" { "At most this many pages (empty: the server's limit)" }
                        input #f-max-pages name="settings.crawl.max_pages" type="number" min="1" value=[crawl.max_pages];
                    }
                    div.field {
                        label for="f-include" { "Only paths matching (globs, one per line; empty: all)" }
                        textarea #f-include name="settings.crawl.include" data-type="lines" rows="2" { (crawl.include.join("\n")) }
                    }
                    div.field {
                        label for="f-exclude" { "Skip paths matching (globs, one per line)" }
                        textarea #f-exclude name="settings.crawl.exclude" data-type="lines" rows="2" { (crawl.exclude.join("\n")) }
                    }
                    (form_error())
                    p.form-ok role="status" hidden { "Saved." }
                    @if page.manages() { div { button.primary type="submit" { "Save crawl settings" } } }
                }
            }
            @if jobs.is_empty() {
                p.empty { "No training yet." }
            } @else {
                table data-stack {
                    caption.sr-only { "Training runs" }
                    thead { tr { th scope="col" { "Started" } th scope="col" { "Kind" } th scope="col" { "State" } th.num scope="col" { "Indexed" } th.num scope="col" { "Unchanged" } th.num scope="col" { "Skipped" } th.num scope="col" { "Removed" } } }
                    tbody {
                        @for job in &jobs {
                            tr {
                                td { (when(job.created_at)) }
                                td { (job.kind) }
                                td { span class=(format!("badge {}", job.state.as_str())) { (job.state.as_str()) } }
                                td.num { (job.progress.pages_indexed) }
                                td.num { (job.progress.pages_unchanged) }
                                td.num { (job.progress.pages_skipped) }
                                td.num { (job.progress.pages_removed) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout(
        &page,
        Section::Bots,
        &format!("{} · knowledge", bot.name),
        content,
    ))
}

async fn playground(
    State(state): State<AppState>,
    page: Page,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, Response> {
    let bot = bot_of(&state, &page, &id).await?;
    let content = html! {
        (tabs(&bot, Tab::Playground))
        section.panel aria-labelledby="ask" {
            h2 #ask { "Ask " (bot.name) }
            p.muted { "Questions asked here are real conversations of the bot (channel " code { "playground" } ") and count in its analytics." }
            form data-playground=(bot.id) {
                div.field {
                    label for="f-question" { "Question" }
                    input #f-question name="message" type="text" autocomplete="off";
                }
                (form_error())
                button.primary type="submit" { "Ask" }
            }
            div.playground-result aria-live="polite" {}
        }
        @if page.manages() {
            section.panel hidden data-fix aria-labelledby="fix" {
                h2 #fix { "Fix this answer" }
                p.muted { "The question becomes a curated answer: visitors who ask it (or something close) get your answer, word for word." }
                form data-api=(format!("/v1/bots/{}/sources/qa", bot.id)) data-then="fixed" {
                    (field("Question", "question", "text", "", None))
                    (area("Answer", "answer", "", 4))
                    (form_error())
                    p.form-ok role="status" hidden { "Saved: ask again to see it." }
                    button.primary type="submit" { "Save curated answer" }
                }
            }
        }
    };
    Ok(layout(
        &page,
        Section::Bots,
        &format!("{} · playground", bot.name),
        content,
    ))
}

async fn widget(
    State(state): State<AppState>,
    page: Page,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, Response> {
    let bot = bot_of(&state, &page, &id).await?;
    let embed = embed_of(&state, &headers, &bot);
    let b = &bot.settings.branding;
    let content = html! {
        (tabs(&bot, Tab::Widget))
        section.panel aria-labelledby="embed" {
            h2 #embed { "Put it on your site" }
            // Shown while the widget is not public; the page's script hides or shows it when the
            // branding is saved.
            p.notice data-private-notice hidden[embed.public_widget] { "The widget does not answer yet: turn on “Public widget” below." }
            div.field {
                label for="f-snippet" { "Paste before " code { "</body>" } }
                textarea #f-snippet readonly rows="2" { (embed.snippet) }
            }
            button type="button" data-copy="#f-snippet" { "Copy snippet" }
            " "
            a href=(embed.preview_url) target="_blank" rel="noopener" { "Open the preview page" }
        }
        section.panel aria-labelledby="branding" {
            h2 #branding { "Branding" }
            div.grid2 {
                form data-api=(format!("/v1/bots/{}", bot.id)) data-method="PATCH" data-then="saved" data-preview {
                    fieldset disabled[!page.manages()] {
                        legend.sr-only { "Widget settings" }
                        div.field.check {
                            input #f-public name="settings.public_widget" type="checkbox" checked[bot.settings.public_widget];
                            label for="f-public" { "Public widget (answers visitors without a key)" }
                        }
                        div.field {
                            label for="f-origins" { "Allowed origins, one per line (empty: any)" }
                            textarea #f-origins name="settings.allowed_origins" data-type="lines" rows="2" { (bot.settings.allowed_origins.join("\n")) }
                        }
                        (field("Colour", "settings.branding.primary_color", "color", &b.primary_color, None))
                        div.field {
                            label for="f-position" { "Position" }
                            select #f-position name="settings.branding.position" {
                                @for p in sitechat_core::model::Branding::POSITIONS { option value=(p) selected[p == b.position] { (p) } }
                            }
                        }
                        div.field {
                            label for="f-theme" { "Theme" }
                            select #f-theme name="settings.branding.theme" {
                                @for t in sitechat_core::model::Branding::THEMES { option value=(t) selected[t == b.theme] { (t) } }
                            }
                        }
                        (field("Launcher text", "settings.branding.launcher_text", "text", b.launcher_text.as_deref().unwrap_or(""), Some("A short line beside the button, once per visit.")))
                        (form_error())
                        p.form-ok role="status" hidden { "Saved." }
                        @if page.manages() { button.primary type="submit" { "Save branding" } }
                    }
                }
                div.preview {
                    p.muted { "Live preview" }
                    iframe title="Widget preview" src=(format!("/preview/{}", bot.id)) loading="lazy" {}
                }
            }
        }
    };
    Ok(layout(
        &page,
        Section::Bots,
        &format!("{} · widget", bot.name),
        content,
    ))
}
