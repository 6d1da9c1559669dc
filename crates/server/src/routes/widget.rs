//! The chat widget as the binary serves it: `/widget.js` (embedded at build time from
//! `web/widget/widget.js`), a preview page that shows a bot's widget on a neutral page, and the
//! embed snippet an owner copies into their site.

use std::sync::LazyLock;

use axum::{
    extract::State,
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{Html, IntoResponse, Response},
    Json,
};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sitechat_core::BotId;
use utoipa::ToSchema;

use crate::{
    auth::Caller,
    error::{ApiResult, ErrorBody},
    extract::ApiPath,
    services::bots,
    state::AppState,
};

/// The widget's script, as built into the binary.
pub const WIDGET_JS: &str = include_str!("../../../../web/widget/widget.js");

/// The script's entity tag: a hash of its content, so a new build is fetched again.
static ETAG: LazyLock<String> = LazyLock::new(|| {
    let digest = Sha256::digest(WIDGET_JS.as_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
});

/// `GET /widget.js`: cached for a day, revalidated by its ETag (304 when unchanged).
pub async fn script(headers: HeaderMap) -> Response {
    let etag = HeaderValue::from_str(&ETAG).unwrap_or(HeaderValue::from_static("\"0\""));
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == ETAG.as_str()));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/javascript; charset=utf-8"),
            )],
            WIDGET_JS,
        )
            .into_response()
    };
    let headers = response.headers_mut();
    headers.insert(header::ETAG, etag);
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400, stale-while-revalidate=604800"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

/// `GET /preview/{id}`: the bot's widget on a neutral page (the bot's widget must be public).
pub async fn preview(ApiPath(id): ApiPath<String>) -> ApiResult<Html<String>> {
    let id = BotId::parse(&id)?;
    Ok(Html(format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Widget preview</title>\
         <style>body{{font:16px/1.5 system-ui,sans-serif;margin:0;padding:48px 24px;color:#1f2937;background:#f9fafb}}\
         main{{max-width:640px;margin:auto}}code{{background:#e5e7eb;padding:2px 4px;border-radius:4px}}</style></head>\
         <body><main><h1>Widget preview</h1><p>This page shows the chat widget of bot <code>{id}</code> \
         as visitors of your site will see it: the button at the bottom right opens it.</p></main>\
         <script src=\"/widget.js\" data-bot=\"{id}\" async></script></body></html>\n"
    )))
}

/// How to put a bot's widget on a site.
#[derive(Serialize, ToSchema)]
pub struct Embed {
    /// The one tag to paste before `</body>`.
    pub snippet: String,
    /// A page of this server that shows the widget.
    pub preview_url: String,
    /// Whether the widget answers yet (`settings.public_widget`).
    pub public_widget: bool,
    /// The origins it answers (empty: any).
    pub allowed_origins: Vec<String>,
}

/// The embed snippet of the bot's chat widget and a preview page. The widget answers only once
/// `settings.public_widget` is on, and only on `settings.allowed_origins` (any when empty).
#[utoipa::path(get, path = "/v1/bots/{id}/widget", tag = "bots",
    params(("id" = String, Path, description = "Bot id (`bot_…`)")),
    responses((status = 200, body = Embed), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn embed(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Embed>> {
    let id = BotId::parse(&id)?;
    let bot = bots::get(&state, &caller, &id).await?;
    Ok(Json(embed_of(&state, &headers, &bot)))
}

/// The embed snippet and preview page of a bot, as reached through this request's host.
pub fn embed_of(state: &AppState, headers: &HeaderMap, bot: &sitechat_core::model::Bot) -> Embed {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1:8080");
    let secure = crate::sessions::is_https(state, headers);
    let base = format!("{}://{host}", if secure { "https" } else { "http" });
    let id = &bot.id;
    Embed {
        snippet: format!("<script src=\"{base}/widget.js\" data-bot=\"{id}\" async></script>"),
        preview_url: format!("{base}/preview/{id}"),
        public_widget: bot.settings.public_widget,
        allowed_origins: bot.settings.allowed_origins.clone(),
    }
}
