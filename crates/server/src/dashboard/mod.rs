//! The dashboard at `/dashboard`: pages rendered on the server with maud, from the same services
//! the API calls, for a signed-in person of the account.
//!
//! Pages only read. Every change a page offers is a request to the native API made by the
//! page's script (`web/dashboard/dashboard.js`) with the session cookie and its CSRF token, so
//! that a change has one implementation, one validation and one error message whether a person
//! or a machine makes it. Live parts (training progress, the inbox, the playground) use the API
//! the same way. Assets are embedded in the binary.

mod analytics;
mod bots;
mod inbox;
mod settings;

use axum::{
    extract::{FromRequestParts, State},
    http::{header, request::Parts, StatusCode},
    response::{IntoResponse, Redirect, Response},
    routing::get,
    Router,
};
use maud::{html, Markup, DOCTYPE};
use sitechat_core::model::UserRole;
use sitechat_store::LinkPurpose;

use crate::{
    auth::Caller,
    error::ApiError,
    extract::ApiPath,
    services::users,
    sessions::{self, Session},
    state::AppState,
};

const CSS: &str = include_str!("../../../../web/dashboard/dashboard.css");
const JS: &str = include_str!("../../../../web/dashboard/dashboard.js");

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/dashboard") }))
        .route("/dashboard", get(home))
        .route("/dashboard/", get(home))
        .route("/dashboard/sign-in", get(sign_in))
        .route("/dashboard/join/{token}", get(join))
        .route("/dashboard/reset/{token}", get(reset))
        .route("/dashboard/assets/dashboard.css", get(css))
        .route("/dashboard/assets/dashboard.js", get(js))
        .merge(bots::router())
        .merge(inbox::router())
        .merge(analytics::router())
        .merge(settings::router())
        .with_state(state)
}

async fn css() -> Response {
    asset("text/css; charset=utf-8", CSS)
}

async fn js() -> Response {
    asset("text/javascript; charset=utf-8", JS)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// A signed-in person opening a page; without a session, the page redirects to the sign-in page
/// and back.
pub struct Page {
    pub session: Session,
}

impl Page {
    pub fn caller(&self) -> &Caller {
        &self.session.caller
    }

    fn role(&self) -> UserRole {
        self.session
            .caller
            .user
            .as_ref()
            .map_or(UserRole::Agent, |u| u.role)
    }

    /// Whether the person may change bots, knowledge, keys, webhooks and people.
    pub fn manages(&self) -> bool {
        self.role().manages()
    }
}

impl FromRequestParts<AppState> for Page {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let path = parts
            .uri
            .path_and_query()
            .map_or("/dashboard", |p| p.as_str())
            .to_owned();
        match sessions::current(state, &parts.headers).await {
            Ok(Some(session)) => Ok(Page { session }),
            Ok(None) => {
                let next =
                    url::form_urlencoded::byte_serialize(path.as_bytes()).collect::<String>();
                Err(Redirect::to(&format!("/dashboard/sign-in?next={next}")).into_response())
            }
            Err(e) => Err(e.into_response()),
        }
    }
}

/// The sections of the left navigation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Bots,
    Inbox,
    Leads,
    Analytics,
    Webhooks,
    Settings,
}

const SECTIONS: [(Section, &str, &str); 6] = [
    (Section::Bots, "Bots", "/dashboard/bots"),
    (Section::Inbox, "Inbox", "/dashboard/inbox"),
    (Section::Leads, "Leads", "/dashboard/leads"),
    (Section::Analytics, "Analytics", "/dashboard/analytics"),
    (Section::Webhooks, "Webhooks", "/dashboard/webhooks"),
    (Section::Settings, "Settings", "/dashboard/settings"),
];

fn head(title: &str, csrf: Option<&str>) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · sitechat" }
            @if let Some(csrf) = csrf {
                meta name="csrf-token" content=(csrf);
            }
            link rel="stylesheet" href="/dashboard/assets/dashboard.css";
            script src="/dashboard/assets/dashboard.js" defer {}
        }
    }
}

/// A page of the dashboard: navigation on the left, the content on the right.
pub fn layout(page: &Page, section: Section, title: &str, content: Markup) -> Response {
    let user = page.session.caller.user.as_ref();
    let body = html! {
        (DOCTYPE)
        html lang="en" {
            (head(title, Some(&page.session.csrf)))
            body {
                a.skip href="#main" { "Skip to content" }
                div.shell {
                    header.nav {
                        a.brand href="/dashboard" { "sitechat" }
                        nav aria-label="Main" {
                            ul {
                                @for (s, label, href) in SECTIONS {
                                    li {
                                        @if s == section {
                                            a href=(href) aria-current="page" { (label) }
                                        } @else {
                                            a href=(href) { (label) }
                                        }
                                    }
                                }
                            }
                        }
                        div.who {
                            @if let Some(user) = user {
                                span { (user.name) }
                                span.muted { (user.role.as_str()) " · " (page.session.caller.account.name) }
                            }
                            button.link type="button" data-sign-out { "Sign out" }
                        }
                    }
                    main #main {
                        h1 { (title) }
                        (content)
                    }
                }
            }
        }
    };
    html_response(body)
}

/// What a dashboard page may load: only this server's script, styles and frames (the widget
/// preview), nothing inline that runs; and no other site may frame it (clickjacking).
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; frame-src 'self'; connect-src 'self'; frame-ancestors 'none'; \
     base-uri 'none'; form-action 'self'";

fn html_response(body: Markup) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::REFERRER_POLICY, "same-origin"),
        ],
        body.0,
    )
        .into_response()
}

/// A page for someone not signed in (sign-in, joining, a new password).
fn bare(title: &str, content: Markup) -> Response {
    html_response(html! {
        (DOCTYPE)
        html lang="en" {
            (head(title, None))
            body.bare {
                main #main.card {
                    p.brand { "sitechat" }
                    h1 { (title) }
                    (content)
                }
            }
        }
    })
}

/// The error line of a form the script fills.
pub fn form_error() -> Markup {
    html! { p.form-error role="alert" hidden {} }
}

/// A labelled input.
pub fn field(label: &str, name: &str, kind: &str, value: &str, hint: Option<&str>) -> Markup {
    let id = format!("f-{}", name.replace('.', "-"));
    html! {
        div.field {
            label for=(id) { (label) }
            @if let Some(hint) = hint {
                input id=(id) name=(name) type=(kind) value=(value) aria-describedby=(format!("{id}-hint"));
                p.hint id=(format!("{id}-hint")) { (hint) }
            } @else {
                input id=(id) name=(name) type=(kind) value=(value);
            }
        }
    }
}

/// A labelled text area.
pub fn area(label: &str, name: &str, value: &str, rows: u32) -> Markup {
    let id = format!("f-{}", name.replace('.', "-"));
    html! {
        div.field {
            label for=(id) { (label) }
            textarea id=(id) name=(name) rows=(rows) { (value) }
        }
    }
}

/// The bot filter of a list: every bot of the account, or one.
pub fn bot_select(
    bots: &[sitechat_core::model::Bot],
    selected: Option<&sitechat_core::BotId>,
) -> Markup {
    html! {
        div.field {
            label for="f-bot" { "Bot" }
            select #f-bot name="bot" {
                option value="" { "All bots" }
                @for b in bots { option value=(b.id) selected[selected == Some(&b.id)] { (b.name) } }
            }
        }
    }
}

/// A date and time as people read it (UTC).
pub fn when(at: time::OffsetDateTime) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    at.format(&format).unwrap_or_default()
}

/// A service's refusal shown as the page's error page.
#[allow(clippy::result_large_err)] // The refusal is the response itself, sent at once.
pub trait OrPage<T> {
    fn or_page(self, page: &Page, section: Section) -> Result<T, Response>;
}

impl<T, E: Into<ApiError>> OrPage<T> for Result<T, E> {
    fn or_page(self, page: &Page, section: Section) -> Result<T, Response> {
        self.map_err(|e| error_page(page, section, e.into()))
    }
}

/// "1 source", "2 sources".
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// The links between the pages of a long list: back to its first page, and on to the next.
pub fn pager(first: Option<&str>, next: Option<&str>, next_label: &str) -> Markup {
    html! {
        @if first.is_some() || next.is_some() {
            nav.pager aria-label="Pages" {
                @if let Some(first) = first { a href=(first) { "First page" } }
                @if let Some(next) = next { a href=(next) { (next_label) } }
            }
        }
    }
}

/// An error page inside the layout.
pub fn error_page(page: &Page, section: Section, error: ApiError) -> Response {
    let status = error.status();
    let message = error.to_string();
    let mut response = layout(
        page,
        section,
        "Something is wrong",
        html! { p.notice.error role="alert" { (message) } },
    );
    *response.status_mut() = status;
    response
}

async fn home(page: Result<Page, Response>) -> Response {
    match page {
        Ok(page) if page.manages() => Redirect::to("/dashboard/bots").into_response(),
        Ok(_) => Redirect::to("/dashboard/inbox").into_response(),
        Err(to_sign_in) => to_sign_in,
    }
}

#[derive(serde::Deserialize)]
struct Next {
    next: Option<String>,
}

/// Where to go after signing in: a dashboard path only, never another site.
fn safe_next(next: Option<&str>) -> &str {
    next.filter(|n| n.starts_with("/dashboard") && !n.starts_with("//"))
        .unwrap_or("/dashboard")
}

async fn sign_in(axum::extract::Query(next): axum::extract::Query<Next>) -> Response {
    let next = safe_next(next.next.as_deref());
    bare(
        "Sign in",
        html! {
            form data-api="/v1/session" data-then=(next) {
                (field("Email", "email", "email", "", None))
                (field("Password", "password", "password", "", None))
                (form_error())
                button.primary type="submit" { "Sign in" }
            }
            p.muted { "No account yet? Ask an owner of your team for an invitation. The operator makes the first owner with " code { "sitechat users create" } "." }
        },
    )
}

async fn join(State(state): State<AppState>, ApiPath(token): ApiPath<String>) -> Response {
    match users::peek_link(&state, LinkPurpose::Invite, &token).await {
        Ok(link) => bare(
            "Join your team",
            html! {
                p { "You are invited as " strong { (link.role.as_str()) } " with " strong { (link.email) } "." }
                form data-api=(format!("/v1/invitations/{token}")) data-then="/dashboard" {
                    (field("Your name", "name", "text", "", Some("Visitors see it on your replies.")))
                    (field("Password", "password", "password", "", Some("At least 10 characters.")))
                    (form_error())
                    button.primary type="submit" { "Join" }
                }
            },
        ),
        Err(e) => link_gone(e),
    }
}

async fn reset(State(state): State<AppState>, ApiPath(token): ApiPath<String>) -> Response {
    match users::peek_link(&state, LinkPurpose::Reset, &token).await {
        Ok(link) => bare(
            "Choose a new password",
            html! {
                p { "For " strong { (link.email) } ". Your other sessions end when you save it." }
                form data-api=(format!("/v1/password-resets/{token}")) data-then="/dashboard" {
                    (field("New password", "password", "password", "", Some("At least 10 characters.")))
                    (form_error())
                    button.primary type="submit" { "Save and sign in" }
                }
            },
        ),
        Err(e) => link_gone(e),
    }
}

fn link_gone(error: ApiError) -> Response {
    let mut response = bare(
        "This link cannot be used",
        html! {
            p.notice.error role="alert" { (error.to_string()) }
            p { a href="/dashboard/sign-in" { "Go to sign in" } }
        },
    );
    *response.status_mut() = StatusCode::NOT_FOUND;
    response
}
