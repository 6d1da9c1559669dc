//! The agents' inbox (three panes: the list, the thread, the contact) and the leads table.

use axum::{
    extract::{Query, State},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use maud::{html, Markup};
use serde::Deserialize;
use sitechat_core::{
    model::{ConversationStatus, HandoffReason, Role},
    ConversationId,
};
use sitechat_store::{InboxRow, LeadFilter, PageRequest};

use super::{bot_select, bots::all_bots, form_error, layout, pager, when, OrPage, Page, Section};
use crate::{
    auth::Caller,
    error::{ApiError, ApiResult},
    services::{chat, conversations},
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dashboard/inbox", get(inbox))
        .route("/dashboard/inbox/list", get(list_fragment))
        .route("/dashboard/leads", get(leads))
}

const STATUSES: [(&str, &str); 5] = [
    ("waiting_for_agent", "Waiting"),
    ("agent", "With an agent"),
    ("bot", "With the bot"),
    ("ended", "Ended"),
    ("all", "All"),
];

#[derive(Deserialize)]
struct InboxQuery {
    status: Option<String>,
    c: Option<String>,
    /// Which page of the list, from 1.
    page: Option<String>,
}

/// Conversations on one page of the inbox's list.
const INBOX_PAGE: u32 = 50;

/// One page of the inbox's list, and whether another follows.
async fn inbox_page(
    state: &AppState,
    caller: &Caller,
    status: Option<ConversationStatus>,
    page: u32,
) -> ApiResult<(Vec<InboxRow>, bool, Vec<(String, i64)>)> {
    let offset = (page - 1).saturating_mul(INBOX_PAGE);
    let (mut rows, counts) =
        conversations::inbox(state, caller, status, offset, INBOX_PAGE + 1).await?;
    let more = rows.len() > INBOX_PAGE as usize;
    rows.truncate(INBOX_PAGE as usize);
    Ok((rows, more, counts))
}

fn page_of(value: Option<&str>) -> ApiResult<u32> {
    match value.filter(|v| !v.is_empty()).map(str::parse::<u32>) {
        None => Ok(1),
        Some(Ok(n @ 1..=100_000)) => Ok(n),
        Some(_) => Err(ApiError::invalid("page: a number from 1")),
    }
}

fn status_of(value: Option<&str>) -> ApiResult<(&'static str, Option<ConversationStatus>)> {
    match value.unwrap_or("waiting_for_agent") {
        "all" => Ok(("all", None)),
        other => {
            let status = ConversationStatus::parse(other).ok_or_else(|| {
                ApiError::invalid(format!(
                    "status: `{other}` is not one of waiting_for_agent, agent, bot, ended, all"
                ))
            })?;
            Ok((status.as_str(), Some(status)))
        }
    }
}

fn status_label(status: ConversationStatus) -> &'static str {
    match status {
        ConversationStatus::WaitingForAgent => "waiting",
        ConversationStatus::Agent => "with an agent",
        ConversationStatus::Bot => "with the bot",
        ConversationStatus::Ended => "ended",
    }
}

/// Where the list is: its status, the open conversation and the page.
struct ListAt<'a> {
    status: &'a str,
    selected: Option<&'a ConversationId>,
    page: u32,
    more: bool,
}

impl ListAt<'_> {
    /// The inbox on `page` of this list, with the open conversation.
    fn href(&self, page: u32) -> String {
        self.href_with(page, self.selected)
    }

    /// The inbox on `page` of this list with `selected` open.
    fn href_with(&self, page: u32, selected: Option<&ConversationId>) -> String {
        let c = selected.map(|c| format!("&c={c}")).unwrap_or_default();
        let p = if page > 1 {
            format!("&page={page}")
        } else {
            String::new()
        };
        format!("/dashboard/inbox?status={}{c}{p}", self.status)
    }
}

fn list_pane(rows: &[InboxRow], at: &ListAt) -> Markup {
    let (status, selected) = (at.status, at.selected);
    html! {
        @if rows.is_empty() {
            p.empty { @if status == "waiting_for_agent" { "Nobody is waiting for an agent." } @else { "No conversations here." } }
        } @else {
            ul.conversations {
                @for row in rows {
                    @let c = &row.conversation;
                    @let who = row.contact_name.clone().or(row.contact_email.clone()).unwrap_or_else(|| "Visitor".to_owned());
                    li {
                        a href=(at.href_with(at.page, Some(&c.id))) aria-current=[(selected == Some(&c.id)).then_some("true")] data-conversation=(c.id) {
                            span.who { (who) }
                            @let unread = row.unread.unwrap_or(row.unanswered);
                            @if unread > 0 {
                                span.unread aria-label=(format!("{unread} unread")) { (unread) }
                            }
                            span.muted.small { (row.bot_name) " · " (status_label(c.status)) " · " (when(c.updated_at)) }
                            @if let Some(text) = &row.last_text {
                                span.last { (text.chars().take(90).collect::<String>()) }
                            }
                        }
                    }
                }
            }
        }
        @if at.page > 1 || at.more {
            nav.pager aria-label="Pages" {
                @if at.page > 1 { a href=(at.href(at.page - 1)) { "Previous " (INBOX_PAGE) } }
                @if at.more { a href=(at.href(at.page + 1)) { "Next " (INBOX_PAGE) } }
            }
        }
    }
}

async fn list_fragment(
    State(state): State<AppState>,
    page: Page,
    Query(q): Query<InboxQuery>,
) -> Response {
    let result = async {
        let (name, status) = status_of(q.status.as_deref())?;
        let selected = q.c.as_deref().map(ConversationId::parse).transpose()?;
        let number = page_of(q.page.as_deref())?;
        // The open conversation shows its messages as they come: they are read.
        if let Some(c) = &selected {
            conversations::mark_read(&state, page.caller(), c).await?;
        }
        let (rows, more, _) = inbox_page(&state, page.caller(), status, number).await?;
        let at = ListAt {
            status: name,
            selected: selected.as_ref(),
            page: number,
            more,
        };
        Ok::<_, ApiError>(list_pane(&rows, &at))
    }
    .await;
    match result {
        Ok(markup) => markup.into_response(),
        Err(e) => e.into_response(),
    }
}

async fn inbox(
    State(state): State<AppState>,
    page: Page,
    Query(q): Query<InboxQuery>,
) -> Result<Response, Response> {
    let (name, status) = status_of(q.status.as_deref()).or_page(&page, Section::Inbox)?;
    let number = page_of(q.page.as_deref()).or_page(&page, Section::Inbox)?;
    let selected =
        q.c.as_deref()
            .map(ConversationId::parse)
            .transpose()
            .or_page(&page, Section::Inbox)?;
    // Opening a conversation reads it, before the list counts what is unread.
    if let Some(c) = &selected {
        conversations::mark_read(&state, page.caller(), c)
            .await
            .or_page(&page, Section::Inbox)?;
    }
    let (rows, more, counts) = inbox_page(&state, page.caller(), status, number)
        .await
        .or_page(&page, Section::Inbox)?;
    let thread = match &selected {
        Some(id) => Some(
            thread(&state, &page, id)
                .await
                .or_page(&page, Section::Inbox)?,
        ),
        None => None,
    };
    let count = |s: &str| -> i64 {
        if s == "all" {
            counts.iter().map(|(_, n)| n).sum()
        } else {
            counts.iter().find(|(k, _)| k == s).map_or(0, |(_, n)| *n)
        }
    };
    let content = html! {
        div.inbox {
            section.pane.list aria-label="Conversations" {
                nav.filters aria-label="Status" {
                    @for (key, label) in STATUSES {
                        @if key == name {
                            a href=(format!("/dashboard/inbox?status={key}")) aria-current="page" { (label) " " span.count { (count(key)) } }
                        } @else {
                            a href=(format!("/dashboard/inbox?status={key}")) { (label) " " span.count { (count(key)) } }
                        }
                    }
                }
                @let at = ListAt { status: name, selected: selected.as_ref(), page: number, more };
                div data-inbox-list=(at.href(number).replacen("/dashboard/inbox?", "/dashboard/inbox/list?", 1)) aria-live="polite" {
                    (list_pane(&rows, &at))
                }
            }
            @match thread {
                Some(t) => (t),
                None => section.pane.thread aria-label="Conversation" { p.empty { "Choose a conversation." } },
            }
        }
    };
    Ok(layout(&page, Section::Inbox, "Inbox", content))
}

/// The thread and the contact panes of one conversation.
async fn thread(state: &AppState, page: &Page, id: &ConversationId) -> ApiResult<Markup> {
    let caller = page.caller();
    let conversation = chat::conversation(state, caller, id).await?;
    let messages = chat::history(state, caller, id, PageRequest::first(100)).await?;
    let contact = match &conversation.contact_id {
        Some(c) => conversations::contact(state, caller, c).await.ok(),
        None => None,
    };
    let me = caller
        .user
        .as_ref()
        .map(|u| u.name.clone())
        .unwrap_or_default();
    let mine = conversation.status == ConversationStatus::Agent
        && conversation.assignee.as_deref() == Some(me.as_str());
    let c = &conversation;
    Ok(html! {
        section.pane.thread aria-label="Conversation" data-thread=(c.id) data-status=(c.status.as_str()) {
            header.thread-head {
                h2 { (contact.as_ref().and_then(|t| t.name.clone()).unwrap_or_else(|| "Visitor".to_owned())) }
                p.muted.small data-status-line {
                    (status_label(c.status))
                    @if let Some(a) = &c.assignee { " · " (a) }
                }
                div.actions {
                    @match c.status {
                        ConversationStatus::Bot | ConversationStatus::WaitingForAgent => {
                            button.primary type="button" data-api=(format!("/v1/conversations/{}/takeover", c.id)) data-body="{}" data-then="reload" { "Take over" }
                        }
                        ConversationStatus::Agent => {
                            button type="button" data-api=(format!("/v1/conversations/{}/release", c.id)) data-body="{}" data-then="reload" { "Hand back to the bot" }
                        }
                        ConversationStatus::Ended => {}
                    }
                    @if c.status != ConversationStatus::Ended {
                        button.danger type="button" data-api=(format!("/v1/conversations/{}/end", c.id)) data-body="{}" data-confirm="End this conversation?" data-then="reload" { "End" }
                    }
                }
            }
            ol.messages data-messages {
                @for m in &messages.items {
                    (message(m.role, m.author.as_deref(), &m.text, &m.sources.iter().map(|s| (s.title.clone(), s.url.clone())).collect::<Vec<_>>()))
                }
            }
            p.typing.muted.small data-typing aria-live="polite" {}
            @if mine {
                form.reply data-api=(format!("/v1/conversations/{}/messages", c.id)) data-then="clear" data-typing-to=(c.id) {
                    input type="hidden" name="role" value="agent";
                    label.sr-only for="f-reply" { "Reply" }
                    textarea #f-reply name="text" rows="2" placeholder="Write a reply…" {}
                    (form_error())
                    button.primary type="submit" { "Send" }
                }
            } @else if c.status != ConversationStatus::Ended {
                p.muted.small { "Take the conversation over to reply." }
            }
        }
        aside.pane.contact aria-label="Contact" {
            h2 { "Contact" }
            dl {
                @if let Some(t) = &contact {
                    dt { "Name" } dd { (t.name.as_deref().unwrap_or("—")) }
                    dt { "Email" } dd { (t.email.as_deref().unwrap_or("—")) }
                    dt { "Phone" } dd { (t.phone.as_deref().unwrap_or("—")) }
                    dt { "Visitor id" } dd { code { (t.external_id) } }
                }
                dt { "Channel" } dd { (c.channel) }
                dt { "Started" } dd { (when(c.created_at)) }
                @if let Some(r) = c.rating { dt { "Rating" } dd { (r) " / 5" } }
                @if let Some(reason) = c.handoff_reason { dt { "Handed over" } dd { (handed_over(reason)) } }
            }
            @if c.variables.as_object().is_some_and(|o| !o.is_empty()) {
                h3 { "Variables" }
                pre.vars { (serde_json::to_string_pretty(&c.variables).unwrap_or_default()) }
            }
            @if let Some(t) = contact.as_ref().filter(|t| t.variables.as_object().is_some_and(|o| !o.is_empty())) {
                h3 { "Contact variables" }
                pre.vars { (serde_json::to_string_pretty(&t.variables).unwrap_or_default()) }
            }
        }
    })
}

/// One message of a thread (the script renders live ones the same way).
fn message(
    role: Role,
    author: Option<&str>,
    text: &str,
    sources: &[(String, Option<String>)],
) -> Markup {
    let who = match role {
        Role::Visitor => "Visitor".to_owned(),
        Role::Bot => "Bot".to_owned(),
        Role::Agent => author.unwrap_or("Agent").to_owned(),
        Role::System => "System".to_owned(),
    };
    html! {
        li class=(format!("msg {}", role.as_str())) {
            span.author { (who) }
            div.text { (text) }
            @if !sources.is_empty() {
                ul.sources {
                    @for (title, url) in sources {
                        li { @if let Some(u) = url { a href=(u) rel="noreferrer" { (title) } } @else { (title) } }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize)]
struct LeadsQuery {
    bot: Option<String>,
    /// First and last day captured, `YYYY-MM-DD` (UTC); absent: no bound.
    from: Option<String>,
    to: Option<String>,
    /// The page after this one's `next_cursor`.
    cursor: Option<String>,
}

/// A day of a filter (`YYYY-MM-DD`), as the time its day starts; `next` the day after.
fn day_bound(
    field: &str,
    value: Option<&str>,
    next: bool,
) -> ApiResult<Option<time::OffsetDateTime>> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let date = time::Date::parse(
        value,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|_| ApiError::invalid(format!("{field}: `{value}` is not a day (YYYY-MM-DD)")))?;
    let date = if next {
        date.next_day().unwrap_or(date)
    } else {
        date
    };
    Ok(Some(date.midnight().assume_utc()))
}

async fn leads(
    State(state): State<AppState>,
    page: Page,
    Query(q): Query<LeadsQuery>,
) -> Result<Response, Response> {
    let bots = all_bots(&state, &page)
        .await
        .or_page(&page, Section::Leads)?;
    let bot = q
        .bot
        .as_deref()
        .filter(|b| !b.is_empty())
        .map(sitechat_core::BotId::parse)
        .transpose()
        .or_page(&page, Section::Leads)?;
    let filter = LeadFilter {
        bot: bot.clone(),
        since: day_bound("from", q.from.as_deref(), false).or_page(&page, Section::Leads)?,
        until: day_bound("to", q.to.as_deref(), true).or_page(&page, Section::Leads)?,
    };
    let after = crate::routes::cursor_of(q.cursor.as_deref()).or_page(&page, Section::Leads)?;
    let request = PageRequest { limit: 100, after };
    let listed = conversations::leads(&state, page.caller(), &filter, request)
        .await
        .or_page(&page, Section::Leads)?;
    // The filters as query parameters, for the CSV and the next page.
    let rfc3339 = |t: Option<time::OffsetDateTime>| {
        t.and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
    };
    let mut filters: Vec<(&str, String)> = Vec::new();
    if let Some(b) = &bot {
        filters.push(("bot_id", b.to_string()));
    }
    if let Some(since) = rfc3339(filter.since) {
        filters.push(("since", since));
    }
    if let Some(until) = rfc3339(filter.until) {
        filters.push(("until", until));
    }
    let encode = |pairs: &[(&str, String)]| {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
    };
    let csv = format!("/v1/leads?format=csv&{}", encode(&filters));
    let next = listed.next_cursor.map(|c| {
        let mut pairs: Vec<(&str, String)> = vec![
            (
                "bot",
                bot.as_ref().map(|b| b.to_string()).unwrap_or_default(),
            ),
            ("from", q.from.clone().unwrap_or_default()),
            ("to", q.to.clone().unwrap_or_default()),
        ];
        pairs.push(("cursor", c.encode()));
        format!("/dashboard/leads?{}", encode(&pairs))
    });
    let bot_name = |id: &sitechat_core::BotId| {
        bots.iter()
            .find(|b| &b.id == id)
            .map_or("—", |b| b.name.as_str())
    };
    let content = html! {
        form.filters-row method="get" {
            (bot_select(&bots, bot.as_ref()))
            div.field { label for="f-from" { "From" } input #f-from name="from" type="date" value=(q.from.as_deref().unwrap_or("")); }
            div.field { label for="f-to" { "To" } input #f-to name="to" type="date" value=(q.to.as_deref().unwrap_or("")); }
            button type="submit" { "Filter" }
            a.button href=(csv) download { "Export CSV" }
        }
        @if listed.items.is_empty() {
            p.empty { "No leads yet: visitors who leave an email or phone number appear here." }
        } @else {
            table data-sortable data-stack {
                caption.sr-only { "Leads" }
                thead { tr { th scope="col" { "Captured" } th scope="col" { "Name" } th scope="col" { "Email" } th scope="col" { "Phone" } th scope="col" { "Bot" } th scope="col" { "Conversation" } } }
                tbody {
                    @for lead in &listed.items {
                        tr {
                            td { (when(lead.created_at)) }
                            td { (lead.name.as_deref().unwrap_or("—")) }
                            td { (lead.email.as_deref().unwrap_or("—")) }
                            td { (lead.phone.as_deref().unwrap_or("—")) }
                            td { (bot_name(&lead.bot_id)) }
                            td { @if let Some(c) = &lead.conversation_id { a href=(format!("/dashboard/inbox?status=all&c={c}")) { "Open" } } @else { "—" } }
                        }
                    }
                }
            }
            @let first = q.cursor.as_deref().filter(|c| !c.is_empty()).map(|_| {
                let pairs = [("bot", bot.as_ref().map(|b| b.to_string()).unwrap_or_default()), ("from", q.from.clone().unwrap_or_default()), ("to", q.to.clone().unwrap_or_default())];
                format!("/dashboard/leads?{}", encode(&pairs))
            });
            (pager(first.as_deref(), next.as_deref(), "Next 100 leads"))
            @if next.is_some() { p.muted { "The CSV has them all." } }
        }
    };
    Ok(layout(&page, Section::Leads, "Leads", content))
}

/// Why a conversation reached an agent, in the agent's words (the API's `handoff_reason` is
/// `visitor_asked`, `low_confidence` or `api`).
fn handed_over(reason: HandoffReason) -> &'static str {
    match reason {
        HandoffReason::VisitorAsked => "The visitor asked for a person",
        HandoffReason::LowConfidence => "The bot could not answer",
        HandoffReason::Api => "By an agent or an integration",
    }
}
