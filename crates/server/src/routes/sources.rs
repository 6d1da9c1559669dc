//! A bot's knowledge sources.

use axum::{
    extract::{Multipart, State},
    http::StatusCode,
    Json,
};
use serde::{Deserialize, Serialize};
use sitechat_core::{
    model::Source,
    validate::{CuratedAnswer, CuratedQuestion, HttpUrl, SourceTitle, TextContent},
    BotId, SourceId,
};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    auth::Caller,
    error::{ApiError, ApiResult, ErrorBody},
    extract::{ApiJson, ApiMultipart, ApiPath, ApiQuery},
    routes::{List, PageQuery},
    services::knowledge,
    state::AppState,
};

pub fn router(max_upload_bytes: usize) -> OpenApiRouter<AppState> {
    let uploads = OpenApiRouter::new()
        .routes(routes!(add_spreadsheet))
        .routes(routes!(add_file))
        .layer(axum::extract::DefaultBodyLimit::max(max_upload_bytes));
    OpenApiRouter::new()
        .routes(routes!(add_text))
        .routes(routes!(add_qa))
        .routes(routes!(add_url))
        .routes(routes!(list_sources))
        .routes(routes!(get_source, delete_source))
        .merge(uploads)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddUrl {
    /// An http(s) page or document (HTML, PDF, plain text) to fetch and learn.
    pub url: String,
}

/// A spreadsheet or document upload: `multipart/form-data` with the file in the `file` field.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct FileUpload {
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

#[derive(Serialize, ToSchema)]
pub struct AddedSpreadsheet {
    #[serde(flatten)]
    pub added: AddedSource,
    /// Rows stored, one entry each.
    pub rows_processed: usize,
    /// Data rows in the file.
    pub total_rows: usize,
    /// Whether rows beyond the plan's cap were left out.
    pub truncated: bool,
    /// A sheet of curated answers (question and answer columns): rows left out because their
    /// question or answer was empty or too long.
    pub skipped_rows: usize,
}

fn added(added: knowledge::Added) -> AddedSource {
    AddedSource {
        chunks_created: added.chunks_created,
        source: added.source,
    }
}

/// Reads the `file` field of a multipart upload.
async fn read_upload(mut multipart: Multipart) -> ApiResult<knowledge::Upload> {
    let too_large = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::InvalidRequest {
                message: "the file is larger than this server accepts (max_upload_bytes)"
                    .to_owned(),
                details: None,
                status: StatusCode::PAYLOAD_TOO_LARGE,
            }
        } else {
            ApiError::invalid(format!(
                "the multipart body cannot be read: {}",
                e.body_text()
            ))
        }
    };
    while let Some(field) = multipart.next_field().await.map_err(too_large)? {
        if field.name() != Some("file") {
            continue;
        }
        let filename = field.file_name().map(str::to_owned);
        let content_type = field.content_type().map(str::to_owned);
        let bytes = field.bytes().await.map_err(too_large)?.to_vec();
        return Ok(knowledge::Upload {
            filename,
            content_type,
            bytes,
        });
    }
    Err(ApiError::invalid(
        "send the file as multipart/form-data in a field named `file`",
    ))
}

/// Fetches one page or document (through the SSRF guard) and adds it to the bot's knowledge.
#[utoipa::path(post, path = "/v1/bots/{id}/sources/url", tag = "knowledge", request_body = AddUrl,
    params(("id" = String, Path, description = "Bot id (`bot_…`)")),
    responses((status = 201, body = AddedSource), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn add_url(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<AddUrl>,
) -> ApiResult<(StatusCode, Json<AddedSource>)> {
    let bot = BotId::parse(&id)?;
    let url = HttpUrl::parse("url", &body.url)?;
    let result = knowledge::add_url(&state, &caller, &bot, url).await?;
    Ok((StatusCode::CREATED, Json(added(result))))
}

/// Uploads a CSV or XLSX spreadsheet: the first row names the columns and each row becomes one
/// entry written as "Header: value" lines. Rows beyond the plan's cap are left out and reported.
///
/// When the header row names a question column and an answer column (`question`/`answer`,
/// `q`/`a`, `questions`/`answers`, `question`/`réponse`, `pregunta`/`respuesta`,
/// `frage`/`antwort`, any case), the sheet is a source of curated answers (kind `qa`), one per
/// row; other columns are ignored, and rows with an empty or too long question or answer are
/// skipped and counted in `skipped_rows`.
#[utoipa::path(post, path = "/v1/bots/{id}/sources/spreadsheet", tag = "knowledge",
    request_body(content = FileUpload, content_type = "multipart/form-data"),
    params(("id" = String, Path, description = "Bot id (`bot_…`)")),
    responses((status = 201, body = AddedSpreadsheet), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn add_spreadsheet(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiMultipart(multipart): ApiMultipart,
) -> ApiResult<(StatusCode, Json<AddedSpreadsheet>)> {
    let bot = BotId::parse(&id)?;
    let upload = read_upload(multipart).await?;
    let sheet = knowledge::add_spreadsheet(&state, &caller, &bot, upload).await?;
    Ok((
        StatusCode::CREATED,
        Json(AddedSpreadsheet {
            added: added(sheet.added),
            rows_processed: sheet.rows_processed,
            total_rows: sheet.total_rows,
            truncated: sheet.truncated,
            skipped_rows: sheet.skipped_rows,
        }),
    ))
}

/// Uploads a document: PDF, DOCX, Markdown, HTML or plain text.
#[utoipa::path(post, path = "/v1/bots/{id}/sources/file", tag = "knowledge",
    request_body(content = FileUpload, content_type = "multipart/form-data"),
    params(("id" = String, Path, description = "Bot id (`bot_…`)")),
    responses((status = 201, body = AddedSource), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn add_file(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiMultipart(multipart): ApiMultipart,
) -> ApiResult<(StatusCode, Json<AddedSource>)> {
    let bot = BotId::parse(&id)?;
    let upload = read_upload(multipart).await?;
    let result = knowledge::add_file(&state, &caller, &bot, upload).await?;
    Ok((StatusCode::CREATED, Json(added(result))))
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
    /// The source (its `id`, `title`, `kind`, …), with how many passages it gave.
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
    let result = knowledge::add_text(&state, &caller, &bot, title, content).await?;
    Ok((StatusCode::CREATED, Json(added(result))))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddQa {
    /// The question as visitors ask it (at most 300 characters); also the source's title.
    pub question: String,
    /// The answer, returned verbatim (at most 5,000 characters).
    pub answer: String,
}

/// Adds a curated answer. When a visitor's question matches its question closely enough, the
/// reply is this answer, verbatim, with outcome `curated` and this source cited. Searchable when
/// this returns.
#[utoipa::path(post, path = "/v1/bots/{id}/sources/qa", tag = "knowledge", request_body = AddQa,
    params(("id" = String, Path, description = "Bot id (`bot_…`)")),
    responses((status = 201, body = AddedSource), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 429, description = "daily upload allowance used up", body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn add_qa(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<AddQa>,
) -> ApiResult<(StatusCode, Json<AddedSource>)> {
    let bot = BotId::parse(&id)?;
    let question = CuratedQuestion::parse("question", &body.question)?;
    let answer = CuratedAnswer::parse("answer", &body.answer)?;
    let result = knowledge::add_qa(&state, &caller, &bot, question, answer).await?;
    Ok((StatusCode::CREATED, Json(added(result))))
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
