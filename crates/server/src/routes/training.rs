//! Training a bot from its website, and the jobs that do it.

use axum::{extract::State, http::StatusCode, Json};
use serde::{Deserialize, Serialize};
use sitechat_core::{
    model::{Job, SkippedPage},
    BotId, JobId,
};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    auth::Caller,
    error::{ApiError, ApiResult, ErrorBody},
    extract::{ApiPath, ApiQuery, MaybeJson},
    routes::{List, PageQuery},
    services::training,
    state::AppState,
};

/// Skipped pages shown inline in a job; all of them are at `/v1/jobs/{id}/skipped`.
const INLINE_SKIPS: usize = 100;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(train))
        .routes(routes!(retrain))
        .routes(routes!(list_jobs))
        .routes(routes!(get_job, cancel_job))
        .routes(routes!(skipped_pages))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Retrain {
    /// Re-fetch and re-index every page, even unchanged ones.
    pub force_retrain: bool,
    /// Also index pages that were not indexed before (default true).
    pub include_new_pages: Option<bool>,
}

/// A job with its estimated completion and the first skipped pages.
#[derive(Serialize, ToSchema)]
pub struct JobView {
    #[serde(flatten)]
    pub job: Job,
    /// The phase running now (`crawl`, `embed_passages`, `embed_sentences`); `null` before
    /// the job starts and once it is over. `phases` has each one's start and end.
    pub phase: Option<sitechat_core::model::TrainingPhase>,
    /// How fast each phase goes.
    pub rates: training::JobRates,
    /// When the job should be done: the pages still to crawl at its pace so far, then the
    /// passages and sentences still to embed at their measured rates (its end once finished).
    #[serde(with = "time::serde::rfc3339::option")]
    pub estimated_completion: Option<time::OffsetDateTime>,
    /// Up to 100 skipped pages with their reasons.
    pub skipped: Vec<SkippedPage>,
}

async fn view(state: &AppState, caller: &Caller, job: Job) -> ApiResult<JobView> {
    let mut skipped = training::skipped(state, caller, &job.id).await?;
    skipped.truncate(INLINE_SKIPS);
    let estimated_completion = training::estimated_completion(&job, state.config.crawl.max_pages);
    Ok(JobView {
        phase: job.progress.phase(),
        rates: training::rates(&job, sitechat_core::now()),
        job,
        estimated_completion,
        skipped,
    })
}

/// A refused training with how to fix it through the native API. The training service says what
/// is wrong without naming native routes, as the dialects (AISA's retrain) call it too: its 400
/// is a bot without a `website_url`, its 409 a training already under way.
fn native_fix(e: ApiError) -> ApiError {
    match e {
        ApiError::InvalidRequest {
            message,
            details,
            status: StatusCode::BAD_REQUEST,
        } => ApiError::InvalidRequest {
            message: format!("{message}; set one with PATCH /v1/bots/{{id}}"),
            details,
            status: StatusCode::BAD_REQUEST,
        },
        ApiError::Conflict(message) => ApiError::Conflict(format!(
            "{message} or cancel it with DELETE /v1/jobs/{{id}}"
        )),
        e => e,
    }
}

/// Starts crawling and indexing the bot's website. 409 while the bot is already training.
#[utoipa::path(post, path = "/v1/bots/{id}/train", tag = "training",
    params(("id" = String, Path, description = "Bot id (`bot_…`)")),
    responses((status = 202, body = JobView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn train(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<(StatusCode, Json<JobView>)> {
    let bot = BotId::parse(&id)?;
    let job = training::start(&state, &caller, &bot, false, true)
        .await
        .map_err(native_fix)?;
    Ok((
        StatusCode::ACCEPTED,
        Json(view(&state, &caller, job).await?),
    ))
}

/// Re-crawls the bot's website: unchanged pages are kept as they are (conditional requests and
/// content hashes), changed ones re-indexed, vanished ones removed.
#[utoipa::path(post, path = "/v1/bots/{id}/retrain", tag = "training", request_body = Retrain,
    params(("id" = String, Path, description = "Bot id (`bot_…`)")),
    responses((status = 202, body = JobView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn retrain(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    MaybeJson(body): MaybeJson<Retrain>,
) -> ApiResult<(StatusCode, Json<JobView>)> {
    let bot = BotId::parse(&id)?;
    // AISA clients send the options; an empty body means the defaults.
    let body = body.unwrap_or_default();
    let job = training::start(
        &state,
        &caller,
        &bot,
        body.force_retrain,
        body.include_new_pages.unwrap_or(true),
    )
    .await
    .map_err(native_fix)?;
    Ok((
        StatusCode::ACCEPTED,
        Json(view(&state, &caller, job).await?),
    ))
}

/// The bot's training jobs, newest first.
#[utoipa::path(get, path = "/v1/bots/{id}/jobs", tag = "training",
    params(("id" = String, Path, description = "Bot id (`bot_…`)"), PageQuery),
    responses((status = 200, body = List<Job>), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn list_jobs(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<List<Job>>> {
    let bot = BotId::parse(&id)?;
    let page = training::list(&state, &caller, &bot, page.parse()?).await?;
    Ok(Json(List::from_page(page, |j| j)))
}

/// A job's state and progress: pages discovered, fetched, indexed, unchanged, skipped (with
/// reasons), removed, chunks created, times and estimated completion.
#[utoipa::path(get, path = "/v1/jobs/{id}", tag = "training",
    params(("id" = String, Path, description = "Job id (`job_…`)")),
    responses((status = 200, body = JobView), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn get_job(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<JobView>> {
    let id = JobId::parse(&id)?;
    let job = training::get(&state, &caller, &id).await?;
    Ok(Json(view(&state, &caller, job).await?))
}

/// Cancels a job: a queued one at once, a running one within a second or so. 409 once finished.
#[utoipa::path(delete, path = "/v1/jobs/{id}", tag = "training",
    params(("id" = String, Path, description = "Job id (`job_…`)")),
    responses((status = 200, body = JobView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn cancel_job(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<JobView>> {
    let id = JobId::parse(&id)?;
    let job = training::cancel(&state, &caller, &id).await?;
    Ok(Json(view(&state, &caller, job).await?))
}

/// Every page a job skipped, with its reason code and a message.
#[utoipa::path(get, path = "/v1/jobs/{id}/skipped", tag = "training",
    params(("id" = String, Path, description = "Job id (`job_…`)")),
    responses((status = 200, body = Vec<SkippedPage>), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn skipped_pages(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Vec<SkippedPage>>> {
    let id = JobId::parse(&id)?;
    Ok(Json(training::skipped(&state, &caller, &id).await?))
}
