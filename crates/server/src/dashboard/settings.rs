//! Settings: the account's plan and usage, its people, its API keys; and its webhooks.

use axum::{extract::State, response::Response, routing::get, Router};
use maud::{html, Markup};
use sitechat_core::model::UserRole;
use sitechat_store::PageRequest;

use super::{field, form_error, layout, when, OrPage, Page, Section};
use crate::{
    error::ApiResult,
    services::{accounts, users, webhooks},
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dashboard/settings", get(settings))
        .route("/dashboard/webhooks", get(webhooks_page))
}

fn limit(value: Option<impl std::fmt::Display>) -> String {
    value.map_or_else(|| "no limit".to_owned(), grouped)
}

/// A whole number with its thousands grouped: "2,000,000".
fn grouped(value: impl std::fmt::Display) -> String {
    let digits = value.to_string();
    let (sign, digits) = digits
        .strip_prefix('-')
        .map_or(("", digits.as_str()), |d| ("-", d));
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{sign}{out}")
}

/// A form whose success shows a secret once, with a copy button.
fn secret_output(label: &str) -> Markup {
    html! {
        div.secret hidden data-secret {
            p { strong { (label) } " It is shown only now." }
            div.copy-row {
                input type="text" readonly aria-label=(label);
                button type="button" data-copy-prev { "Copy" }
            }
        }
    }
}

async fn settings(State(state): State<AppState>, page: Page) -> Result<Response, Response> {
    let loaded: ApiResult<_> = async {
        let people = users::list(&state, page.caller()).await?;
        let keys = if page.manages() {
            accounts::list_keys(&state, page.caller(), PageRequest::first(100))
                .await?
                .items
        } else {
            Vec::new()
        };
        let usage = accounts::usage(&state, page.caller()).await?;
        Ok((people, keys, usage))
    }
    .await;
    let (people, keys, usage) = loaded.or_page(&page, Section::Settings)?;
    let account = &page.caller().account;
    let limits = account.plan.limits();
    let me = page.caller().user.as_ref().map(|u| u.id.clone());
    let i_am_owner = page
        .caller()
        .user
        .as_ref()
        .is_some_and(|u| u.role == UserRole::Owner);
    let content = html! {
        section.panel aria-labelledby="plan" {
            h2 #plan { "Plan" }
            dl.cards {
                div { dt { "Account" } dd { (account.name) } }
                div { dt { "Plan" } dd { (account.plan.to_string()) } }
                div { dt { "Messages this month" } dd { (grouped(usage.messages_this_month)) " of " (limit(limits.messages_per_month)) } }
                div { dt { "Characters uploaded today" } dd { (grouped(usage.upload_chars_today)) " of " (limit(limits.upload_chars_per_day)) } }
                div { dt { "Bots allowed" } dd { (limit(limits.bots)) } }
                div { dt { "API requests an hour" } dd { (limit(limits.requests_per_hour)) } }
            }
        }
        section.panel aria-labelledby="people" {
            h2 #people { "People" }
            table data-stack {
                caption.sr-only { "People of the account" }
                thead { tr { th scope="col" { "Name" } th scope="col" { "Email" } th scope="col" { "Role" } th scope="col" { "Since" } @if page.manages() { th scope="col" { span.sr-only { "Actions" } } } } }
                tbody {
                    @for person in &people {
                        @let can = page.manages() && (person.role != UserRole::Owner || i_am_owner) && me.as_ref() != Some(&person.id);
                        tr {
                            td { (person.name) }
                            td { (person.email) }
                            td {
                                @if can {
                                    label.sr-only for=(format!("role-{}", person.id)) { "Role of " (person.name) }
                                    select id=(format!("role-{}", person.id)) data-role-of=(person.id) {
                                        @for role in UserRole::ALL {
                                            @if role != UserRole::Owner || i_am_owner {
                                                option value=(role.as_str()) selected[role == person.role] { (role.as_str()) }
                                            }
                                        }
                                    }
                                } @else {
                                    (person.role.as_str())
                                }
                            }
                            td { (when(person.created_at)) }
                            @if page.manages() {
                                td.actions {
                                    @if can {
                                        button.link type="button" data-api=(format!("/v1/users/{}/password-reset", person.id)) data-body="{}" data-then="link" { "Reset link" span.sr-only { " for " (person.name) } }
                                        button.link.danger type="button" data-api=(format!("/v1/users/{}", person.id)) data-method="DELETE" data-confirm=(format!("Remove {} ({}) from the account?", person.name, person.email)) data-then="reload" { "Remove" span.sr-only { " " (person.name) } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            p.form-error role="alert" hidden data-table-error {}
            div.link-out hidden data-link-out {
                p { strong { "One-time link:" } " pass it on; it works once, for three days." }
                div.copy-row { input type="text" readonly aria-label="One-time link"; button type="button" data-copy-prev { "Copy" } }
            }
            @if page.manages() {
                form.inline data-api="/v1/users/invitations" data-then="link" {
                    h3 { "Invite someone" }
                    (field("Email", "email", "email", "", None))
                    div.field {
                        label for="f-invite-role" { "Role" }
                        select #f-invite-role name="role" {
                            option value="agent" { "agent: answers the inbox" }
                            option value="admin" { "admin: everything but owners" }
                            @if i_am_owner { option value="owner" { "owner" } }
                        }
                    }
                    (form_error())
                    button.primary type="submit" { "Make an invitation link" }
                }
            }
        }
        @if page.manages() {
            section.panel aria-labelledby="keys" {
                h2 #keys { "API keys" }
                p.muted { "For machines: every endpoint of " a href="/docs" { "the API" } " takes one." }
                @if keys.is_empty() {
                    p.empty { "No keys." }
                } @else {
                    table data-stack {
                        caption.sr-only { "API keys" }
                        thead { tr { th scope="col" { "Name" } th scope="col" { "Key" } th scope="col" { "Scopes" } th scope="col" { "Last used" } th scope="col" { span.sr-only { "Actions" } } } }
                        tbody {
                            @for key in &keys {
                                tr {
                                    td { (key.name) }
                                    td { code { (key.prefix) "…" } }
                                    td { (key.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")) }
                                    td { (key.last_used_at.map(when).unwrap_or_else(|| "never".to_owned())) }
                                    td { button.link.danger type="button" data-api=(format!("/v1/keys/{}", key.id)) data-method="DELETE" data-confirm=(format!("Revoke the key “{}” ({}…)? Programs using it stop working at once.", key.name, key.prefix)) data-then="reload" { "Revoke" span.sr-only { " " (key.name) } } }
                                }
                            }
                        }
                    }
                }
                form.inline data-api="/v1/keys" data-then="secret" {
                    h3 { "New key" }
                    (field("Name", "name", "text", "", None))
                    div.field {
                        label for="f-scope" { "Scope" }
                        select #f-scope name="scopes" data-type="list" {
                            option value="chat" { "chat: talk to bots" }
                            option value="read" { "read: read everything" }
                            option value="admin" { "admin: everything" }
                        }
                    }
                    (form_error())
                    button.primary type="submit" { "Create key" }
                    (secret_output("The new key."))
                }
            }
        }
    };
    Ok(layout(&page, Section::Settings, "Settings", content))
}

async fn webhooks_page(State(state): State<AppState>, page: Page) -> Result<Response, Response> {
    let loaded: ApiResult<_> = async {
        let hooks = webhooks::list(&state, page.caller(), PageRequest::first(100))
            .await?
            .items;
        let mut with_deliveries = Vec::new();
        for hook in hooks {
            let deliveries = webhooks::deliveries(
                &state,
                page.caller(),
                &hook.id,
                None,
                PageRequest::first(10),
            )
            .await?
            .items;
            with_deliveries.push((hook, deliveries));
        }
        Ok(with_deliveries)
    }
    .await;
    let hooks = loaded.or_page(&page, Section::Webhooks)?;
    let content = html! {
        @if page.manages() {
            section.panel aria-labelledby="new-hook" {
                h2 #new-hook { "New endpoint" }
                form.inline data-api="/v1/webhooks" data-then="secret" data-omit-empty {
                    (field("URL", "url", "url", "", Some("https; sitechat signs every delivery with the endpoint's secret.")))
                    div.field {
                        label for="f-events" { "Events, comma-separated (empty: all)" }
                        input #f-events name="events" type="text" data-type="csv" placeholder="conversation.started, lead.captured";
                    }
                    div.field {
                        label for="f-format" { "Payload format" }
                        select #f-format name="format" aria-describedby="f-format-hint" {
                            @for f in sitechat_core::payloads::WebhookFormat::ALL { option value=(f.as_str()) { (f.as_str()) } }
                        }
                        p.hint #f-format-hint { "sitechat's own, or the shape an AISA, Asyntai or Aimylogic client expects." }
                    }
                    (form_error())
                    button.primary type="submit" { "Add endpoint" }
                    (secret_output("The signing secret."))
                }
            }
        }
        @if hooks.is_empty() {
            p.empty { "No endpoints: add one to be told of new conversations, leads and handoffs." }
        }
        @for (hook, deliveries) in &hooks {
            section.panel aria-label=(format!("Endpoint {}", hook.url)) {
                h2.url { (hook.url) }
                p.muted {
                    @if hook.active { "Active" } @else { "Disabled" @if let Some(r) = &hook.disabled_reason { ": " (r) } }
                    " · format: " (hook.format.as_str())
                    " · events: " (if hook.events.is_empty() { "all".to_owned() } else { hook.events.join(", ") })
                    @if let Some(at) = hook.last_success_at { " · last success " (when(at)) }
                }
                @if page.manages() {
                    div.actions {
                        button type="button" data-api=(format!("/v1/webhooks/{}/test", hook.id)) data-body="{}" data-then="reload" { "Send a test" }
                        button type="button" data-api=(format!("/v1/webhooks/{}/rotate", hook.id)) data-body="{}" data-confirm=(format!("Rotate the secret of {}? The old one keeps working for a grace period.", hook.url)) data-then="secret" { "Rotate secret" }
                        button.danger type="button" data-api=(format!("/v1/webhooks/{}", hook.id)) data-method="DELETE" data-confirm=(format!("Delete the endpoint {}?", hook.url)) data-then="reload" { "Delete" }
                        (secret_output("The new signing secret."))
                    }
                }
                @if deliveries.is_empty() {
                    p.empty { "No deliveries yet." }
                } @else {
                    table data-stack {
                        caption { "Latest deliveries" }
                        thead { tr { th scope="col" { "Event" } th scope="col" { "State" } th.num scope="col" { "Attempts" } th scope="col" { "Last status" } th scope="col" { "Created" } @if page.manages() { th scope="col" { span.sr-only { "Actions" } } } } }
                        tbody {
                            @for d in deliveries {
                                tr {
                                    td { (d.event_type) }
                                    td { span class=(format!("badge {}", d.state.as_str())) { (d.state.as_str()) } }
                                    td.num {
                                        details {
                                            summary { (d.attempt_count) }
                                            ul.attempts {
                                                @for a in &d.attempts {
                                                    li { "#" (a.attempt) " " (when(a.started_at)) ": " (a.status.map(|s| s.to_string()).unwrap_or_else(|| a.error.clone().unwrap_or_default())) " in " (a.latency_ms) " ms" }
                                                }
                                            }
                                        }
                                    }
                                    td { (d.last_status.map(|s| s.to_string()).or(d.last_error.clone()).unwrap_or_else(|| "—".to_owned())) }
                                    td { (when(d.created_at)) }
                                    @if page.manages() {
                                        td { button.link type="button" data-api=(format!("/v1/webhooks/{}/deliveries/{}/redeliver", hook.id, d.id)) data-body="{}" data-then="reload" { "Redeliver" } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout(&page, Section::Webhooks, "Webhooks", content))
}

#[cfg(test)]
mod tests {
    use super::grouped;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(2_000_000_u64), "2,000,000");
        assert_eq!(grouped(-12345), "-12,345");
    }
}
