//! Training a bot from its website: the job that crawls, extracts, chunks and indexes.
//!
//! Every crawled page becomes (or replaces) one `website` source of the bot, keyed by its
//! canonical URL, in one transaction with its chunks; so a job resumed after a crash converges on
//! the same pages and chunks as an uninterrupted one, never duplicating any. Retrains send the
//! stored ETag / Last-Modified and compare content hashes, so an unchanged page costs one
//! conditional request and no re-chunking. When a crawl ends normally, pages that disappeared
//! from the site leave the knowledge and the index.

use std::{
    collections::{HashMap, HashSet},
    time::{Duration, Instant},
};

use sitechat_core::{
    model::{Chunk, Job, JobProgress, JobState, SkippedPage, TrainParams, TrainingPhase},
    now, BotId, ChunkId, JobId, Scope, SourceId,
};
use sitechat_crawl::{
    CrawlConfig, CrawlEvent, CrawledPage, Crawler, FetchConfig, KnownPage, Validators,
};
use sitechat_store::{ClaimedJob, PageWrite};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::{
    auth::Caller,
    error::{ApiError, ApiResult},
    jobs,
    services::{blocking, embeddings::Phase},
    state::AppState,
};

/// Pages written to the database between two index commits.
const INDEX_BATCH: usize = 25;
/// Longest time between two progress reports.
const REPORT_EVERY: Duration = Duration::from_millis(500);

/// Queues a training of the bot's website.
pub async fn start(
    state: &AppState,
    caller: &Caller,
    bot: &BotId,
    force_retrain: bool,
    include_new_pages: bool,
) -> ApiResult<Job> {
    caller.require(Scope::Admin)?;
    let bot = state.store.get_bot(&caller.account.id, bot).await?;
    // What is wrong, without naming a native route: the dialects call this too, and their
    // clients have no `/v1/` routes (the native routes add how to fix it with theirs).
    let url = bot
        .website_url
        .clone()
        .ok_or_else(|| ApiError::invalid("the bot has no website_url to train from"))?;
    let params = TrainParams {
        url,
        force_retrain,
        include_new_pages,
    };
    enqueue(state, &caller.account.id, &bot.id, &params).await
}

async fn enqueue(
    state: &AppState,
    account: &sitechat_core::AccountId,
    bot: &BotId,
    params: &TrainParams,
) -> ApiResult<Job> {
    let job = state
        .store
        .enqueue_job(account, bot, "train", params)
        .await?;
    state.jobs_wake.notify_one();
    tracing::info!(job = %job.id, bot = %bot, "training queued");
    Ok(job)
}

/// Queues the re-crawls that bots' schedules (`settings.crawl.recrawl_hours`) make due.
/// Returns how many were queued.
pub async fn enqueue_due_recrawls(state: &AppState) -> ApiResult<usize> {
    let mut queued = 0;
    let at = now();
    for scheduled in state.store.scheduled_bots().await? {
        if !scheduled.is_due(at) {
            continue;
        }
        let params = TrainParams {
            url: scheduled.website_url.clone(),
            force_retrain: false,
            include_new_pages: true,
        };
        match enqueue(state, &scheduled.account, &scheduled.bot, &params).await {
            Ok(_) => queued += 1,
            // Already training: the schedule is met by that job.
            Err(ApiError::Conflict(_)) => {}
            Err(e) => {
                tracing::warn!(bot = %scheduled.bot, error = %e, "could not queue a scheduled re-crawl")
            }
        }
    }
    Ok(queued)
}

pub async fn get(state: &AppState, caller: &Caller, id: &JobId) -> ApiResult<Job> {
    caller.require(Scope::Read)?;
    Ok(state.store.get_job(&caller.account.id, id).await?)
}

pub async fn skipped(state: &AppState, caller: &Caller, id: &JobId) -> ApiResult<Vec<SkippedPage>> {
    caller.require(Scope::Read)?;
    Ok(state.store.job_skips(&caller.account.id, id).await?)
}

pub async fn list(
    state: &AppState,
    caller: &Caller,
    bot: &BotId,
    page: sitechat_store::PageRequest,
) -> ApiResult<sitechat_store::Page<Job>> {
    caller.require(Scope::Read)?;
    Ok(state.store.list_jobs(&caller.account.id, bot, page).await?)
}

pub async fn cancel(state: &AppState, caller: &Caller, id: &JobId) -> ApiResult<Job> {
    caller.require(Scope::Admin)?;
    Ok(state.store.cancel_job(&caller.account.id, id).await?)
}

/// When a running job should be done: the pages still to crawl at the job's pace so far, then
/// the passages still to embed (those created, extrapolated to the pages to come) and their
/// sentences. Embedding goes at the rate this process last measured for the job's embedding
/// model, batch by batch (steadier than the job's own count over time, which stalls while a
/// batch runs), else at the job's own; sentences, before any are measured, at the passages'
/// rate, which costs about the same (one pass over the same text). Embedding is most of a
/// training's time, so an estimate from the crawl alone ends long before the job does.
pub fn estimated_completion(job: &Job, max_pages: usize) -> Option<time::OffsetDateTime> {
    match job.state {
        JobState::Queued => None,
        JobState::Running => {
            let started = job.started_at?;
            let at = now();
            let p = &job.progress;
            let crawling = p.phase().is_none_or(|phase| phase == TrainingPhase::Crawl);
            let (mut left, scale) = if crawling {
                let done = p.pages_fetched + p.pages_skipped;
                if done == 0 {
                    return None;
                }
                // Skipped pages count in `done` but not against `max_pages`: `done` may exceed it.
                let total = p.pages_discovered.min(max_pages as u64).max(done) as f64;
                let elapsed = if p.phases.is_empty() {
                    (at - started).as_seconds_f64()
                } else {
                    p.seconds_in(TrainingPhase::Crawl, at)
                };
                let done = done as f64;
                (elapsed * (total - done).max(0.0) / done, total / done)
            } else {
                (0.0, 1.0)
            };
            let own = rates(job, at);
            let passages = measured(p, Phase::Chunks).or(own.passages_per_second);
            let sentences = measured(p, Phase::Sentences)
                .or(own.sentence_passages_per_second)
                .or(passages);
            let expected = p.chunks_created as f64 * scale;
            for (done, rate) in [
                (p.chunks_embedded, passages),
                (p.sentences_embedded, sentences),
            ] {
                let remaining = (expected - done as f64).max(0.0);
                if let Some(rate) = rate.filter(|r| *r > 0.0) {
                    left += remaining / rate;
                }
            }
            Some(at + time::Duration::seconds_f64(left))
        }
        _ => job.finished_at,
    }
}

/// How fast a training job goes, per phase.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct JobRates {
    /// Pages fetched or skipped per second of crawling.
    pub pages_per_second: Option<f64>,
    /// Passages embedded per second: the job's own once it embeds, else what this server last
    /// measured for the job's embedding model (`null` when neither is known).
    pub passages_per_second: Option<f64>,
    /// Passages whose sentences are embedded per second, the same way.
    pub sentence_passages_per_second: Option<f64>,
}

/// A job's rates at `at` (see [`JobRates`]).
pub fn rates(job: &Job, at: time::OffsetDateTime) -> JobRates {
    let p = &job.progress;
    let own = |phase: TrainingPhase, count: u64| {
        let seconds = p.seconds_in(phase, at);
        (count > 0 && seconds > 0.0).then(|| count as f64 / seconds)
    };
    JobRates {
        pages_per_second: own(TrainingPhase::Crawl, p.pages_fetched + p.pages_skipped),
        passages_per_second: own(TrainingPhase::EmbedPassages, p.chunks_embedded)
            .or_else(|| measured(p, Phase::Chunks)),
        sentence_passages_per_second: own(TrainingPhase::EmbedSentences, p.sentences_embedded)
            .or_else(|| measured(p, Phase::Sentences)),
    }
}

/// The rate this process measured for the job's embedding model in `phase`.
fn measured(p: &JobProgress, phase: Phase) -> Option<f64> {
    let model = p.embedding_model.as_deref()?;
    super::embeddings::measured_rate(model, phase)
}

fn crawl_config(
    state: &AppState,
    bot_settings: &sitechat_core::model::CrawlSettings,
) -> CrawlConfig {
    let limits = &state.config.crawl;
    CrawlConfig {
        max_pages: bot_settings
            .max_pages
            .map_or(limits.max_pages, |m| m.min(limits.max_pages)),
        max_depth: limits.max_depth,
        max_page_bytes: limits.max_page_bytes,
        max_total_time: Duration::from_secs(limits.max_seconds),
        concurrency: limits.concurrency.max(1),
        min_delay_per_host: Duration::from_millis(limits.delay_ms),
        same_host: true,
        include: bot_settings.include.clone(),
        exclude: bot_settings.exclude.clone(),
        fetch: FetchConfig {
            timeout: Duration::from_secs(limits.timeout_seconds),
            max_bytes: limits.max_page_bytes,
            allow_private: state.config.allow_private_networks,
            ..FetchConfig::default()
        },
    }
}

/// Index writes waiting for one commit.
#[derive(Default)]
struct IndexBatch {
    remove: Vec<SourceId>,
    add: Vec<Chunk>,
    writes: u64,
}

struct Run<'a> {
    state: &'a AppState,
    job: Job,
    language: String,
    progress: JobProgress,
    batch: IndexBatch,
    seen: HashSet<String>,
    transient: HashSet<String>,
    last_report: Instant,
}

impl Run<'_> {
    async fn flush(&mut self) -> ApiResult<()> {
        let batch = std::mem::take(&mut self.batch);
        if batch.writes == 0 {
            return Ok(());
        }
        let (index, bot, language) = (
            self.state.index.clone(),
            self.job.bot_id.clone(),
            self.language.clone(),
        );
        blocking(move || Ok(index.apply(&bot, &language, &batch.remove, &batch.add)?)).await?;
        self.state
            .store
            .index_caught_up_by(&self.job.bot_id, batch.writes)
            .await?;
        Ok(())
    }

    /// Reports progress; returns whether the job should stop (cancelled).
    async fn report(&mut self, force: bool) -> ApiResult<bool> {
        if !force && self.last_report.elapsed() < REPORT_EVERY {
            return Ok(false);
        }
        self.last_report = Instant::now();
        Ok(self
            .state
            .store
            .job_progress(
                &self.job.id,
                self.job.attempts,
                &self.progress,
                jobs::lease(&self.state.config),
            )
            .await?)
    }

    async fn page(&mut self, mut page: CrawledPage) -> ApiResult<()> {
        self.progress.pages_fetched += 1;
        self.seen.insert(page.url.clone());
        let document = std::mem::take(&mut page.document);
        let characters = document.text_len() as i64;
        let passages =
            blocking(move || Ok(sitechat_ingest::chunk::chunk_document(&document))).await?;
        let title = if page.title.trim().is_empty() {
            page.url.clone()
        } else {
            page.title.clone()
        };
        let chunks: Vec<Chunk> = passages
            .into_iter()
            .enumerate()
            .map(|(i, p)| Chunk {
                id: ChunkId::generate(),
                bot_id: self.job.bot_id.clone(),
                source_id: SourceId::from_trusted(String::new()),
                ordinal: i as i64,
                title: title.clone(),
                heading: p.heading,
                anchor: p.anchor,
                url: Some(page.url.clone()),
                text: p.text,
                curated: false,
            })
            .collect();
        let write = PageWrite {
            bot_id: self.job.bot_id.clone(),
            url: page.url.clone(),
            title,
            characters,
            content_hash: page.content_hash.clone(),
            etag: page.validators.etag.clone(),
            last_modified: page.validators.last_modified.clone(),
            chunks,
        };
        let (source_id, _) = self.state.store.write_page(&write).await?;
        self.progress.pages_indexed += 1;
        self.progress.chunks_created += write.chunks.len() as u64;
        self.batch.remove.push(source_id.clone());
        self.batch.add.extend(write.chunks.into_iter().map(|mut c| {
            c.source_id = source_id.clone();
            c
        }));
        self.batch.writes += 1;
        if self.batch.writes as usize >= INDEX_BATCH {
            self.flush().await?;
        }
        Ok(())
    }
}

/// Runs a claimed training job to its end (or hands it back to the queue on shutdown).
pub async fn run(state: &AppState, claimed: ClaimedJob, mut stop: watch::Receiver<bool>) {
    let job_id = claimed.job.id.clone();
    let bot_id = claimed.job.bot_id.clone();
    let attempt = claimed.job.attempts;
    let outcome = execute(state, claimed, &mut stop).await;
    let result = match outcome {
        Ok((state_now, mut progress, error)) => {
            progress.finish_phase(now());
            tracing::info!(job = %job_id, bot = %bot_id, state = state_now.as_str(), indexed = progress.pages_indexed, skipped = progress.pages_skipped, "training finished");
            state
                .store
                .finish_claimed_job(&job_id, attempt, state_now, &progress, error.as_deref())
                .await
        }
        Err(Interrupted::Shutdown) => {
            tracing::info!(job = %job_id, "training interrupted by shutdown; it resumes at the next start");
            state.store.requeue_job(&job_id, attempt).await
        }
        Err(Interrupted::Failed(e, progress)) => {
            tracing::error!(job = %job_id, error = %e, "training failed");
            state
                .store
                .finish_claimed_job(
                    &job_id,
                    attempt,
                    JobState::Failed,
                    &progress,
                    Some("an internal error stopped the training; see the server log"),
                )
                .await
        }
    };
    match result {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!(job = %job_id, attempt, "the job was claimed by another worker meanwhile; this run's end is not recorded");
        }
        Err(e) => tracing::error!(job = %job_id, error = %e, "could not record the end of a job"),
    }
}

enum Interrupted {
    Shutdown,
    Failed(ApiError, Box<JobProgress>),
}

async fn execute(
    state: &AppState,
    claimed: ClaimedJob,
    stop: &mut watch::Receiver<bool>,
) -> Result<(JobState, JobProgress, Option<String>), Interrupted> {
    let account = claimed.account_id.clone();
    let bot = state
        .store
        .get_bot(&account, &claimed.job.bot_id)
        .await
        .map_err(|e| Interrupted::Failed(e.into(), Box::new(claimed.job.progress.clone())))?;
    let params: TrainParams =
        serde_json::from_value(claimed.job.params.clone()).unwrap_or_default();
    let start_url = url::Url::parse(&params.url).map_err(|e| {
        Interrupted::Failed(
            ApiError::invalid(format!("website_url: {e}")),
            Box::default(),
        )
    })?;
    let stored = state
        .store
        .website_pages(&bot.id)
        .await
        .map_err(|e| Interrupted::Failed(e.into(), Box::default()))?;
    let known: HashMap<String, KnownPage> = if params.force_retrain {
        HashMap::new()
    } else {
        stored
            .iter()
            .map(|(url, p)| {
                (
                    url.clone(),
                    KnownPage {
                        validators: Validators {
                            etag: p.etag.clone(),
                            last_modified: p.last_modified.clone(),
                        },
                        content_hash: p.content_hash.clone(),
                    },
                )
            })
            .collect()
    };

    let crawler = match Crawler::new(crawl_config(state, &bot.settings.crawl)) {
        Ok(crawler) => crawler,
        Err(e) => {
            return Ok((
                JobState::Failed,
                JobProgress::default(),
                Some(format!("settings.crawl: {e}")),
            ))
        }
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel::<CrawlEvent>(64);
    let cancel = CancellationToken::new();
    let crawl_cancel = cancel.clone();
    let crawl =
        tokio::spawn(async move { crawler.crawl(start_url, known, tx, crawl_cancel).await });

    let mut progress = JobProgress {
        embedding_model: Some(crate::models::model_of(&bot).name().to_owned()),
        ..JobProgress::default()
    };
    progress.enter(TrainingPhase::Crawl, now());
    let mut run = Run {
        state,
        job: claimed.job,
        language: claimed.language,
        progress,
        batch: IndexBatch::default(),
        seen: HashSet::new(),
        transient: HashSet::new(),
        last_report: Instant::now(),
    };
    let mut cancelled = false;
    let mut shutdown = false;
    let failed = |e: ApiError, p: &JobProgress| Interrupted::Failed(e, Box::new(p.clone()));
    loop {
        let event = tokio::select! {
            event = rx.recv() => event,
            _ = stop.changed() => {
                shutdown = true;
                cancel.cancel();
                None
            }
        };
        let Some(event) = event else { break };
        match event {
            CrawlEvent::Discovered { .. } => run.progress.pages_discovered += 1,
            CrawlEvent::Page(page) => {
                if !params.include_new_pages
                    && !params.force_retrain
                    && !stored.is_empty()
                    && !stored.contains_key(&page.url)
                {
                    run.progress.pages_skipped += 1;
                    let skip = SkippedPage {
                        url: page.url.clone(),
                        reason: "new_page_excluded".into(),
                        message:
                            "a new page, and this retrain was asked to refresh known pages only"
                                .into(),
                    };
                    state
                        .store
                        .add_job_skip(&run.job.id, &skip)
                        .await
                        .map_err(|e| failed(e.into(), &run.progress))?;
                    continue;
                }
                run.page(*page)
                    .await
                    .map_err(|e| failed(e, &run.progress))?;
            }
            CrawlEvent::Unchanged { url } => {
                run.progress.pages_fetched += 1;
                run.progress.pages_unchanged += 1;
                run.seen.insert(url);
            }
            CrawlEvent::Skipped { url, reason } => {
                run.progress.pages_skipped += 1;
                if matches!(
                    reason.code(),
                    "fetch_failed" | "max_pages" | "max_total_time" | "cancelled"
                ) || matches!(reason, sitechat_crawl::SkipReason::HttpStatus(s) if s >= 500)
                {
                    run.transient.insert(url.clone());
                }
                let skip = SkippedPage {
                    url,
                    reason: reason.code().to_owned(),
                    message: reason.to_string(),
                };
                state
                    .store
                    .add_job_skip(&run.job.id, &skip)
                    .await
                    .map_err(|e| failed(e.into(), &run.progress))?;
            }
        }
        if run
            .report(false)
            .await
            .map_err(|e| failed(e, &run.progress))?
            && !cancelled
        {
            cancelled = true;
            cancel.cancel();
        }
    }
    let summary = crawl.await.map_err(|e| failed(e.into(), &run.progress))?;
    run.flush().await.map_err(|e| failed(e, &run.progress))?;
    run.progress.stopped_by = summary.stopped_by.map(str::to_owned);
    if shutdown {
        run.report(true).await.ok();
        return Err(Interrupted::Shutdown);
    }
    if cancelled || summary.stopped_by == Some("cancelled") {
        return Ok((JobState::Cancelled, run.progress, None));
    }

    // Pages that disappeared leave the knowledge, unless the crawl was cut short or the page only
    // failed for a passing reason.
    if summary.stopped_by.is_none() {
        let gone: Vec<SourceId> = stored
            .iter()
            .filter(|(url, _)| !run.seen.contains(*url) && !run.transient.contains(*url))
            .map(|(_, p)| p.source_id.clone())
            .collect();
        if !gone.is_empty() {
            let removed = state
                .store
                .delete_pages(&bot.id, &gone)
                .await
                .map_err(|e| failed(e.into(), &run.progress))?;
            let (index, bot_id, language, ids) = (
                state.index.clone(),
                bot.id.clone(),
                run.language.clone(),
                gone.clone(),
            );
            blocking(move || Ok(index.apply(&bot_id, &language, &ids, &[])?))
                .await
                .map_err(|e| failed(e, &run.progress))?;
            state
                .store
                .index_caught_up_by(&bot.id, 1)
                .await
                .map_err(|e| failed(e.into(), &run.progress))?;
            run.progress.pages_removed = removed;
        }
    }
    if run.progress.pages_indexed + run.progress.pages_unchanged == 0 {
        let why = state
            .store
            .job_skips(&account, &run.job.id)
            .await
            .ok()
            .and_then(|s| s.into_iter().next())
            .map_or_else(
                || "no page could be fetched".to_owned(),
                |s| format!("{}: {}", s.url, s.message),
            );
        return Ok((
            JobState::Failed,
            run.progress,
            Some(format!("nothing could be indexed from the website ({why})")),
        ));
    }
    // Last phases: embed the new passages, then their sentences, reporting progress. The bot
    // already answers on keywords; a stop or a cancel here leaves the rest to the background
    // sweep.
    if let Some(_claim) = super::embeddings::claim(state, &bot) {
        'phases: for phase in Phase::ALL {
            run.progress.enter(
                match phase {
                    Phase::Chunks => TrainingPhase::EmbedPassages,
                    Phase::Sentences => TrainingPhase::EmbedSentences,
                },
                now(),
            );
            loop {
                if *stop.borrow() {
                    break 'phases;
                }
                let embedded = super::embeddings::embed_batch(state, &bot, phase)
                    .await
                    .map_err(|e| failed(e, &run.progress))?;
                let Some(n) = embedded else { break };
                match phase {
                    Phase::Chunks => run.progress.chunks_embedded += n,
                    Phase::Sentences => run.progress.sentences_embedded += n,
                }
                if run
                    .report(false)
                    .await
                    .map_err(|e| failed(e, &run.progress))?
                {
                    break 'phases;
                }
            }
        }
        if let Err(e) = super::embeddings::finish_model_change(state, &bot).await {
            tracing::warn!(bot = %bot.id, error = %e, "could not retire the old embedding model's vectors");
        }
    }
    Ok((JobState::Succeeded, run.progress, None))
}

#[cfg(test)]
mod tests {
    use sitechat_core::{model::JobProgress, BotId, JobId};

    use super::*;

    #[test]
    fn the_estimate_holds_when_skipped_pages_outnumber_the_page_limit() {
        let job = Job {
            id: JobId::generate(),
            bot_id: BotId::generate(),
            kind: "train".to_owned(),
            state: JobState::Running,
            params: serde_json::json!({}),
            progress: JobProgress {
                pages_discovered: 566,
                pages_fetched: 172,
                pages_skipped: 394,
                ..JobProgress::default()
            },
            error: None,
            attempts: 1,
            created_at: now(),
            started_at: Some(now() - time::Duration::seconds(10)),
            finished_at: None,
        };
        let at = estimated_completion(&job, 250).expect("an estimate");
        assert!(at >= now() - time::Duration::seconds(1));
    }

    fn running(progress: JobProgress) -> Job {
        Job {
            id: JobId::generate(),
            bot_id: BotId::generate(),
            kind: "train".to_owned(),
            state: JobState::Running,
            params: serde_json::json!({}),
            progress,
            error: None,
            attempts: 1,
            created_at: now(),
            started_at: Some(now() - time::Duration::seconds(10)),
            finished_at: None,
        }
    }

    /// Seconds from now to the job's estimated completion.
    fn seconds_left(job: &Job) -> f64 {
        (estimated_completion(job, 1000).expect("an estimate") - now()).as_seconds_f64()
    }

    #[test]
    fn the_estimate_counts_the_embedding_still_to_come_at_its_measured_rates() {
        // This process embedded passages of this model at 10 a second and their sentences at 5.
        let model = "estimate-test-model";
        super::super::embeddings::record_rate(model, Phase::Chunks, 100, 10.0);
        super::super::embeddings::record_rate(model, Phase::Sentences, 50, 10.0);
        // Half of 20 pages crawled in 10 s, with 100 passages so far: 10 s of crawling left,
        // then 200 passages to embed (20 s) and their sentences (40 s).
        let mut progress = JobProgress {
            pages_discovered: 20,
            pages_fetched: 10,
            chunks_created: 100,
            embedding_model: Some(model.to_owned()),
            ..JobProgress::default()
        };
        progress.enter(TrainingPhase::Crawl, now() - time::Duration::seconds(10));
        let left = seconds_left(&running(progress.clone()));
        assert!((65.0..75.0).contains(&left), "{left}");
        let first = rates(&running(progress.clone()), now());
        assert!((first.pages_per_second.unwrap() - 1.0).abs() < 0.1);
        assert_eq!(first.passages_per_second, Some(10.0));

        // Crawled; the job has embedded 50 of 200 passages: the 150 left at the measured 10 a
        // second (15 s), then the sentences at the measured 5 a second (40 s).
        progress.pages_fetched = 20;
        progress.chunks_created = 200;
        progress.chunks_embedded = 50;
        progress.enter(
            TrainingPhase::EmbedPassages,
            now() - time::Duration::seconds(10),
        );
        let left = seconds_left(&running(progress.clone()));
        assert!((50.0..60.0).contains(&left), "{left}");
        let own = rates(&running(progress.clone()), now())
            .passages_per_second
            .unwrap();
        assert!((own - 5.0).abs() < 0.01, "{own}");

        // A model this process never measured: the job's own pace (50 in 10 s) for the 150
        // passages left (30 s), and the same for the sentences of all 200 (40 s).
        progress.embedding_model = Some("never-measured".to_owned());
        let left = seconds_left(&running(progress));
        assert!((65.0..75.0).contains(&left), "{left}");
    }

    #[test]
    fn phases_follow_one_another_and_the_last_runs_until_finished() {
        let mut progress = JobProgress::default();
        let start = now() - time::Duration::seconds(30);
        progress.enter(TrainingPhase::Crawl, start);
        progress.enter(
            TrainingPhase::EmbedPassages,
            start + time::Duration::seconds(20),
        );
        assert_eq!(progress.phase(), Some(TrainingPhase::EmbedPassages));
        assert_eq!(
            progress.phases[0].finished_at,
            Some(start + time::Duration::seconds(20))
        );
        let crawl = progress.seconds_in(TrainingPhase::Crawl, now());
        assert!((crawl - 20.0).abs() < 0.01, "{crawl}");
        progress.finish_phase(start + time::Duration::seconds(25));
        assert_eq!(progress.phase(), None);
        assert!((progress.seconds_in(TrainingPhase::EmbedPassages, now()) - 5.0).abs() < 0.01);
    }
}
