//! A bot's knowledge sources.

use axum::{extract::State, http::StatusCode, Json};
use serde::{Deserialize, Serialize};
use sitechat_core::{
    model::Source,
    validate::{SourceTitle, TextContent},
    BotId, SourceId,
};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    auth::Caller,
    error::{ApiResult, ErrorBody},
    extract::{ApiJson, ApiPath, ApiQuery},
    routes::{List, PageQuery},
    services::knowledge,
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(add_text))
        .routes(routes!(list_sources))
        .routes(routes!(get_source, delete_source))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddText {
    pub title: String,
    /// At least 10 characters. Markdown-style `#` headings structure the passages.
    pub content: String,
}

#[derive(Serialize, ToSchema)]
pub struct AddedSource {
    pub id: SourceId,
    pub title: String,
    pub chunks_created: usize,
    #[serde(flatten)]
    pub source: Source,
}

/// Adds a text entry to the bot's knowledge; it is searchable when this returns.
#[utoipa::path(post, path = "/v1/bots/{id}/sources/text", tag = "knowledge", request_body = AddText,
    params(("id" = String, Path, description = "Bot id (`bot_…`)")),
    responses((status = 201, body = AddedSource), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 429, description = "daily upload allowance used up", body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn add_text(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<AddText>,
) -> ApiResult<(StatusCode, Json<AddedSource>)> {
    let bot = BotId::parse(&id)?;
    let title = SourceTitle::parse("title", &body.title)?;
    let content = TextContent::parse("content", &body.content)?;
    let added = knowledge::add_text(&state, &caller, &bot, title, content).await?;
    Ok((
        StatusCode::CREATED,
        Json(AddedSource {
            id: added.source.id.clone(),
            title: added.source.title.clone(),
            chunks_created: added.chunks_created,
            source: added.source,
        }),
    ))
}

/// Lists a bot's sources, oldest first.
#[utoipa::path(get, path = "/v1/bots/{id}/sources", tag = "knowledge",
    params(("id" = String, Path, description = "Bot id (`bot_…`)"), PageQuery),
    responses((status = 200, body = List<Source>), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn list_sources(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<List<Source>>> {
    let bot = BotId::parse(&id)?;
    let page = knowledge::list(&state, &caller, &bot, page.parse()?).await?;
    Ok(Json(List::from_page(page, |s| s)))
}

/// One source of a bot.
#[utoipa::path(get, path = "/v1/bots/{id}/sources/{source_id}", tag = "knowledge",
    params(("id" = String, Path, description = "Bot id"), ("source_id" = String, Path, description = "Source id (`src_…`)")),
    responses((status = 200, body = Source), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn get_source(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, source_id)): ApiPath<(String, String)>,
) -> ApiResult<Json<Source>> {
    let (bot, source) = (BotId::parse(&id)?, SourceId::parse(&source_id)?);
    Ok(Json(knowledge::get(&state, &caller, &bot, &source).await?))
}

/// Deletes a source; its passages leave the bot's index before the response.
#[utoipa::path(delete, path = "/v1/bots/{id}/sources/{source_id}", tag = "knowledge",
    params(("id" = String, Path, description = "Bot id"), ("source_id" = String, Path, description = "Source id (`src_…`)")),
    responses((status = 204), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn delete_source(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, source_id)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    let (bot, source) = (BotId::parse(&id)?, SourceId::parse(&source_id)?);
    knowledge::delete(&state, &caller, &bot, &source).await?;
    Ok(StatusCode::NO_CONTENT)
}
