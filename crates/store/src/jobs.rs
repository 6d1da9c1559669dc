//! The durable job queue and the crawled-page bookkeeping of training jobs.
//!
//! A job is a row. Workers claim one with a single atomic `UPDATE … RETURNING` (on PostgreSQL this
//! will be `FOR UPDATE SKIP LOCKED`), hold it under a lease they renew as they report progress, and
//! finish it with its final state. A job whose lease ran out (its worker died) is claimed again;
//! at start-up a single node also returns its own `running` jobs to the queue at once.

use std::collections::HashMap;

use sitechat_core::{
    model::{Chunk, Job, JobProgress, JobState, SkippedPage},
    now, AccountId, BotId, JobId, SourceId,
};
use sqlx::Row;
use time::Duration;

use crate::{error::StoreError, page_of, Page, PageRequest, Result, Store};

/// The reason, at the start of its error, of a job that was running each time the process died
/// until it was no longer resumed.
pub const CRASHED_THE_SERVER: &str = "crashed_the_server";

/// What a worker holds of a claimed job.
#[derive(Debug, Clone)]
pub struct ClaimedJob {
    pub job: Job,
    pub account_id: AccountId,
    pub language: String,
}

/// A bot that re-crawls its website on a schedule.
#[derive(Debug, Clone)]
pub struct ScheduledBot {
    pub bot: BotId,
    pub account: AccountId,
    pub website_url: String,
    pub every_hours: u32,
    pub last_job_at: Option<time::OffsetDateTime>,
}

impl ScheduledBot {
    /// Whether a new crawl is due at `now`.
    pub fn is_due(&self, now: time::OffsetDateTime) -> bool {
        self.last_job_at
            .is_none_or(|last| now - last >= Duration::hours(i64::from(self.every_hours)))
    }
}

/// A page stored from an earlier crawl.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPage {
    pub source_id: SourceId,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub content_hash: String,
}

/// A crawled page to store as a `website` source, replacing the previous version of the same URL.
#[derive(Debug, Clone)]
pub struct PageWrite {
    pub bot_id: BotId,
    pub url: String,
    pub title: String,
    pub characters: i64,
    pub content_hash: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// Chunks with `source_id` left to the store (it fills in the page's source id).
    pub chunks: Vec<Chunk>,
}

fn job_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Job> {
    let state: String = row.try_get("state")?;
    let params: String = row.try_get("params")?;
    let progress: String = row.try_get("progress")?;
    Ok(Job {
        id: JobId::from_trusted(row.try_get("id")?),
        bot_id: BotId::from_trusted(row.try_get("bot_id")?),
        kind: row.try_get("kind")?,
        state: JobState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("job state {state}")))?,
        params: serde_json::from_str(&params).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        progress: serde_json::from_str::<JobProgress>(&progress)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        error: row.try_get("error")?,
        attempts: row.try_get("attempts")?,
        created_at: row.try_get("created_at")?,
        started_at: row.try_get("started_at")?,
        finished_at: row.try_get("finished_at")?,
    })
}

fn json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl Store {
    /// Queues a job for a bot of the account. A bot has at most one queued or running job: a
    /// second is a conflict naming the first.
    pub async fn enqueue_job(
        &self,
        account: &AccountId,
        bot: &BotId,
        kind: &str,
        params: &impl serde::Serialize,
    ) -> Result<Job> {
        let at = now();
        let id = JobId::generate();
        let inserted = sqlx::query(
            "INSERT INTO jobs (id, account_id, bot_id, kind, state, params, progress, created_at, updated_at)
             SELECT ?, ?, ?, ?, 'queued', ?, '{}', ?, ? WHERE EXISTS (SELECT 1 FROM bots WHERE id = ? AND account_id = ?)",
        )
        .bind(id.as_str())
        .bind(account.as_str())
        .bind(bot.as_str())
        .bind(kind)
        .bind(json(params)?)
        .bind(at)
        .bind(at)
        .bind(bot.as_str())
        .bind(account.as_str())
        .execute(&self.pool)
        .await;
        match inserted {
            Ok(done) if done.rows_affected() == 0 => Err(StoreError::not_found("bot")),
            Ok(_) => self.get_job(account, &id).await,
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                let active: Option<String> = sqlx::query_scalar(
                    "SELECT id FROM jobs WHERE bot_id = ? AND state IN ('queued', 'running') LIMIT 1",
                )
                .bind(bot.as_str())
                .fetch_optional(&self.pool)
                .await?;
                Err(StoreError::Conflict(format!(
                    "the bot is already training (job {}); wait for it to finish",
                    active.unwrap_or_default()
                )))
            }
            Err(e) => Err(e.into()),
        }
    }

    pub async fn get_job(&self, account: &AccountId, id: &JobId) -> Result<Job> {
        let row = sqlx::query("SELECT * FROM jobs WHERE id = ? AND account_id = ?")
            .bind(id.as_str())
            .bind(account.as_str())
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found("job"))?;
        job_from_row(&row)
    }

    /// A job by id alone, for its worker.
    pub async fn job(&self, id: &JobId) -> Result<Job> {
        let row = sqlx::query("SELECT * FROM jobs WHERE id = ?")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found("job"))?;
        job_from_row(&row)
    }

    /// A bot's jobs, newest first.
    pub async fn list_jobs(
        &self,
        account: &AccountId,
        bot: &BotId,
        page: PageRequest,
    ) -> Result<Page<Job>> {
        self.get_bot(account, bot).await?;
        let rows = sqlx::query(
            "SELECT * FROM jobs WHERE bot_id = ?1 AND account_id = ?2 AND (?3 = 0 OR seq < ?3)
             ORDER BY seq DESC LIMIT ?4",
        )
        .bind(bot.as_str())
        .bind(account.as_str())
        .bind(page.after_seq())
        .bind(page.fetch_limit())
        .fetch_all(&self.pool)
        .await?;
        page_of(&rows, page, job_from_row)
    }

    /// Claims the oldest queued job, or a running one whose lease expired (its worker died: that
    /// counts as a resume, see [`Store::resume_interrupted_jobs`]). A job whose lease expired
    /// after `max_resumes` resumes already fails with [`CRASHED_THE_SERVER`] instead.
    pub async fn claim_job(&self, lease: Duration, max_resumes: u32) -> Result<Option<ClaimedJob>> {
        let at = now();
        let abandoned: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM jobs WHERE state = 'running' AND lease_expires_at < ? AND resumes >= ?",
        )
        .bind(at)
        .bind(i64::from(max_resumes))
        .fetch_all(&self.pool)
        .await?;
        for id in abandoned {
            self.fail_crashed_job(&JobId::from_trusted(id), max_resumes)
                .await?;
        }
        let row = sqlx::query(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_expires_at = ?1,
                    resumes = resumes + (state = 'running'),
                    started_at = COALESCE(started_at, ?2), updated_at = ?2
             WHERE id = (SELECT id FROM jobs
                         WHERE state = 'queued' OR (state = 'running' AND lease_expires_at < ?2)
                         ORDER BY seq LIMIT 1)
             RETURNING *",
        )
        .bind(at + lease)
        .bind(at)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let job = job_from_row(&row)?;
        let account_id = AccountId::from_trusted(row.try_get("account_id")?);
        let language: String = sqlx::query_scalar("SELECT language FROM bots WHERE id = ?")
            .bind(job.bot_id.as_str())
            .fetch_one(&self.pool)
            .await?;
        Ok(Some(ClaimedJob {
            job,
            account_id,
            language,
        }))
    }

    /// Bots with a re-crawl schedule, with their account, website and when their last job was
    /// created (for the scheduler to decide which are due).
    pub async fn scheduled_bots(&self) -> Result<Vec<ScheduledBot>> {
        let rows = sqlx::query(
            "SELECT b.id, b.account_id, b.website_url,
                    CAST(json_extract(b.settings, '$.crawl.recrawl_hours') AS INTEGER) AS hours,
                    (SELECT MAX(j.created_at) FROM jobs j WHERE j.bot_id = b.id) AS last_job
             FROM bots b
             WHERE b.website_url IS NOT NULL AND json_extract(b.settings, '$.crawl.recrawl_hours') IS NOT NULL",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ScheduledBot {
                    bot: BotId::from_trusted(r.try_get("id")?),
                    account: AccountId::from_trusted(r.try_get("account_id")?),
                    website_url: r.try_get("website_url")?,
                    every_hours: r.try_get::<i64, _>("hours")?.max(1) as u32,
                    last_job_at: r.try_get("last_job")?,
                })
            })
            .collect()
    }

    /// Returns a running job to the queue, as a graceful stop does: the job was handed back, so
    /// this is not a resume after a crash. Only the claim `attempt` is handed back: a job that
    /// another worker has claimed since stays with it.
    pub async fn requeue_job(&self, id: &JobId, attempt: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE jobs SET state = 'queued', lease_expires_at = NULL
             WHERE id = ? AND state = 'running' AND attempts = ?",
        )
        .bind(id.as_str())
        .bind(attempt)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Keeps a claimed job's lease for another `lease`, if the job is still running under the
    /// claim `attempt`. Returns false when it no longer is (it finished, was handed back, or its
    /// lease ran out and another worker claimed it): the claim is lost.
    pub async fn renew_job_lease(&self, id: &JobId, attempt: i64, lease: Duration) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE jobs SET lease_expires_at = ? WHERE id = ? AND state = 'running' AND attempts = ?",
        )
        .bind(now() + lease)
        .bind(id.as_str())
        .bind(attempt)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// At start-up, the jobs still marked running were running when the process died without
    /// handing them back (a crash, a kill, a power cut). Each goes back to the queue at most
    /// `max_resumes` times; one that was running at more crashes than that fails with
    /// [`CRASHED_THE_SERVER`], so that an input which kills the process cannot hold the server
    /// in a crash loop, and its bot can be trained again. Returns the jobs resumed and the jobs
    /// failed.
    pub async fn resume_interrupted_jobs(&self, max_resumes: u32) -> Result<(u64, Vec<JobId>)> {
        let crashed: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM jobs WHERE state = 'running' AND resumes >= ? ORDER BY seq",
        )
        .bind(i64::from(max_resumes))
        .fetch_all(&self.pool)
        .await?;
        let mut failed = Vec::with_capacity(crashed.len());
        for id in crashed {
            let id = JobId::from_trusted(id);
            self.fail_crashed_job(&id, max_resumes).await?;
            failed.push(id);
        }
        let resumed = sqlx::query(
            "UPDATE jobs SET state = 'queued', resumes = resumes + 1, lease_expires_at = NULL
             WHERE state = 'running'",
        )
        .execute(&self.pool)
        .await?;
        Ok((resumed.rows_affected(), failed))
    }

    async fn fail_crashed_job(&self, id: &JobId, max_resumes: u32) -> Result<()> {
        let job = self.job(id).await?;
        let message = format!(
            "{CRASHED_THE_SERVER}: the server stopped while running this job and it was resumed \
             {max_resumes} times, so it is not resumed again; start it again to retry, and report \
             the site or file if it happens again"
        );
        self.finish_job(id, JobState::Failed, &job.progress, Some(&message))
            .await
    }

    /// Records the progress of the claim `attempt` of a job and renews its lease. Returns whether
    /// the job should stop: cancellation was requested, or the job is no longer running under
    /// this claim (cancelled while queued, deleted with its bot, or claimed by another worker).
    pub async fn job_progress(
        &self,
        id: &JobId,
        attempt: i64,
        progress: &JobProgress,
        lease: Duration,
    ) -> Result<bool> {
        let at = now();
        let cancel: Option<i64> = sqlx::query_scalar(
            "UPDATE jobs SET progress = ?, lease_expires_at = ?, updated_at = ?
             WHERE id = ? AND state = 'running' AND attempts = ?
             RETURNING cancel_requested",
        )
        .bind(json(progress)?)
        .bind(at + lease)
        .bind(at)
        .bind(id.as_str())
        .bind(attempt)
        .fetch_optional(&self.pool)
        .await?;
        Ok(cancel.is_none_or(|c| c != 0))
    }

    pub async fn add_job_skip(&self, id: &JobId, skip: &SkippedPage) -> Result<()> {
        sqlx::query(
            "INSERT OR REPLACE INTO job_skips (job_id, url, reason, message) VALUES (?, ?, ?, ?)",
        )
        .bind(id.as_str())
        .bind(&skip.url)
        .bind(&skip.reason)
        .bind(&skip.message)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The pages a job skipped, in URL order.
    pub async fn job_skips(&self, account: &AccountId, id: &JobId) -> Result<Vec<SkippedPage>> {
        self.get_job(account, id).await?;
        let rows =
            sqlx::query("SELECT url, reason, message FROM job_skips WHERE job_id = ? ORDER BY url")
                .bind(id.as_str())
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                Ok(SkippedPage {
                    url: r.try_get("url")?,
                    reason: r.try_get("reason")?,
                    message: r.try_get("message")?,
                })
            })
            .collect()
    }

    /// Ends a job, recording `training.succeeded` or `training.failed` with it.
    pub async fn finish_job(
        &self,
        id: &JobId,
        state: JobState,
        progress: &JobProgress,
        error: Option<&str>,
    ) -> Result<()> {
        self.finish(id, None, state, progress, error)
            .await
            .map(|_| ())
    }

    /// Finishes a job that its worker claimed as `attempt`, if it still runs under that claim
    /// (a worker that lost its claim must not overwrite the outcome of the one that has it).
    /// Returns whether it did.
    pub async fn finish_claimed_job(
        &self,
        id: &JobId,
        attempt: i64,
        state: JobState,
        progress: &JobProgress,
        error: Option<&str>,
    ) -> Result<bool> {
        self.finish(id, Some(attempt), state, progress, error).await
    }

    async fn finish(
        &self,
        id: &JobId,
        attempt: Option<i64>,
        state: JobState,
        progress: &JobProgress,
        error: Option<&str>,
    ) -> Result<bool> {
        let at = now();
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "UPDATE jobs SET state = ?, progress = ?, error = ?, finished_at = ?, updated_at = ?, lease_expires_at = NULL
             WHERE id = ? AND (?7 IS NULL OR (state = 'running' AND attempts = ?7))
             RETURNING account_id, bot_id, kind",
        )
        .bind(state.as_str())
        .bind(json(progress)?)
        .bind(error)
        .bind(at)
        .bind(at)
        .bind(id.as_str())
        .bind(attempt)
        .fetch_optional(&mut *tx)
        .await?;
        let finished = row.is_some();
        if let Some(row) = row {
            let account = AccountId::from_trusted(row.try_get("account_id")?);
            let bot = BotId::from_trusted(row.try_get("bot_id")?);
            let kind: String = row.try_get("kind")?;
            let event = match state {
                JobState::Succeeded => Some("training.succeeded"),
                JobState::Failed => Some("training.failed"),
                _ => None,
            };
            if let (Some(event), "train") = (event, kind.as_str()) {
                let data = serde_json::json!({"job_id": id, "bot_id": bot, "state": state, "error": error,
                    "pages_indexed": progress.pages_indexed, "pages_skipped": progress.pages_skipped,
                    "chunks_created": progress.chunks_created});
                crate::events::append(&mut tx, &account, Some(&bot), None, event, data).await?;
            }
        }
        tx.commit().await?;
        Ok(finished)
    }

    /// Cancels a job: a queued one at once, a running one at its worker's next progress report.
    pub async fn cancel_job(&self, account: &AccountId, id: &JobId) -> Result<Job> {
        let job = self.get_job(account, id).await?;
        match job.state {
            JobState::Queued => {
                sqlx::query("UPDATE jobs SET state = 'cancelled', finished_at = ?1, updated_at = ?1 WHERE id = ?2 AND state = 'queued'")
                    .bind(now())
                    .bind(id.as_str())
                    .execute(&self.pool)
                    .await?;
            }
            JobState::Running => {
                sqlx::query("UPDATE jobs SET cancel_requested = 1 WHERE id = ?")
                    .bind(id.as_str())
                    .execute(&self.pool)
                    .await?;
            }
            finished => {
                return Err(StoreError::Conflict(format!(
                    "the job has already {}",
                    match finished {
                        JobState::Succeeded => "succeeded",
                        JobState::Failed => "failed",
                        _ => "been cancelled",
                    }
                )))
            }
        }
        self.get_job(account, id).await
    }

    /// The website pages a bot has, by URL.
    pub async fn website_pages(&self, bot: &BotId) -> Result<HashMap<String, StoredPage>> {
        let rows = sqlx::query(
            "SELECT id, url, etag, last_modified, content_hash FROM sources WHERE bot_id = ? AND kind = 'website'",
        )
        .bind(bot.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get::<String, _>("url")?,
                    StoredPage {
                        source_id: SourceId::from_trusted(r.try_get("id")?),
                        etag: r.try_get("etag")?,
                        last_modified: r.try_get("last_modified")?,
                        content_hash: r.try_get("content_hash")?,
                    },
                ))
            })
            .collect()
    }

    /// Stores a crawled page, replacing the chunks of its earlier version, in one transaction.
    /// Returns the page's source id and the ids of the chunks it replaced.
    pub async fn write_page(
        &self,
        page: &PageWrite,
    ) -> Result<(SourceId, Vec<sitechat_core::ChunkId>)> {
        let at = now();
        let mut tx = self.begin_write().await?;
        let existing: Option<String> = sqlx::query_scalar(
            "SELECT id FROM sources WHERE bot_id = ? AND url = ? AND kind = 'website'",
        )
        .bind(page.bot_id.as_str())
        .bind(&page.url)
        .fetch_optional(&mut *tx)
        .await?;
        let (source_id, replaced) = match existing {
            Some(id) => {
                let old: Vec<String> =
                    sqlx::query_scalar("SELECT id FROM chunks WHERE source_id = ?")
                        .bind(&id)
                        .fetch_all(&mut *tx)
                        .await?;
                sqlx::query("DELETE FROM chunks WHERE source_id = ?")
                    .bind(&id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "UPDATE sources SET title = ?, characters = ?, content_hash = ?, etag = ?, last_modified = ?, updated_at = ?
                     WHERE id = ?",
                )
                .bind(&page.title)
                .bind(page.characters)
                .bind(&page.content_hash)
                .bind(&page.etag)
                .bind(&page.last_modified)
                .bind(at)
                .bind(&id)
                .execute(&mut *tx)
                .await?;
                (
                    SourceId::from_trusted(id),
                    old.into_iter()
                        .map(sitechat_core::ChunkId::from_trusted)
                        .collect(),
                )
            }
            None => {
                let id = SourceId::generate();
                sqlx::query(
                    "INSERT INTO sources (id, bot_id, kind, title, url, characters, content_hash, etag, last_modified, created_at, updated_at)
                     VALUES (?, ?, 'website', ?, ?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(id.as_str())
                .bind(page.bot_id.as_str())
                .bind(&page.title)
                .bind(&page.url)
                .bind(page.characters)
                .bind(&page.content_hash)
                .bind(&page.etag)
                .bind(&page.last_modified)
                .bind(at)
                .bind(at)
                .execute(&mut *tx)
                .await?;
                (id, Vec::new())
            }
        };
        for c in &page.chunks {
            crate::knowledge::insert_chunk(&mut tx, c, &source_id).await?;
        }
        crate::knowledge::mark_index_pending(&mut tx, &page.bot_id).await?;
        tx.commit().await?;
        Ok((source_id, replaced))
    }

    /// Deletes website pages that disappeared; returns how many.
    pub async fn delete_pages(&self, bot: &BotId, sources: &[SourceId]) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        let mut n = 0;
        for id in sources {
            n +=
                sqlx::query("DELETE FROM sources WHERE id = ? AND bot_id = ? AND kind = 'website'")
                    .bind(id.as_str())
                    .bind(bot.as_str())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
        }
        crate::knowledge::mark_index_pending(&mut tx, bot).await?;
        tx.commit().await?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use sitechat_core::model::JobState;

    use super::*;
    use crate::testing;

    /// A training job of a new bot, claimed: it is running, as at a crash.
    async fn running_job() -> (Store, tempfile::TempDir, AccountId, JobId) {
        let (store, dir, account) = testing::store().await;
        let bot = testing::bot(&store, &account).await;
        let job = store
            .enqueue_job(&account, &bot, "train", &serde_json::json!({}))
            .await
            .unwrap();
        let claimed = store.claim_job(Duration::seconds(60), 2).await.unwrap();
        assert_eq!(claimed.unwrap().job.id, job.id);
        (store, dir, account, job.id)
    }

    #[tokio::test]
    async fn a_job_running_at_each_crash_is_resumed_twice_then_fails_as_crashed_the_server() {
        let (store, _dir, account, id) = running_job().await;
        for resume in 1..=2 {
            let (resumed, failed) = store.resume_interrupted_jobs(2).await.unwrap();
            assert_eq!((resumed, failed.len()), (1, 0), "resume {resume}");
            assert_eq!(
                store.get_job(&account, &id).await.unwrap().state,
                JobState::Queued
            );
            store
                .claim_job(Duration::seconds(60), 2)
                .await
                .unwrap()
                .unwrap();
        }
        let (resumed, failed) = store.resume_interrupted_jobs(2).await.unwrap();
        assert_eq!((resumed, failed), (0, vec![id.clone()]));
        let job = store.get_job(&account, &id).await.unwrap();
        assert_eq!(job.state, JobState::Failed);
        assert!(job
            .error
            .as_deref()
            .unwrap()
            .starts_with("crashed_the_server: "));
        // The bot can be trained again.
        store
            .enqueue_job(&account, &job.bot_id, "train", &serde_json::json!({}))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_graceful_stop_does_not_count_as_a_crash() {
        let (store, _dir, account, id) = running_job().await;
        let mut attempt = 1;
        for _ in 0..5 {
            assert!(store.requeue_job(&id, attempt).await.unwrap());
            attempt = store
                .claim_job(Duration::seconds(60), 2)
                .await
                .unwrap()
                .unwrap()
                .job
                .attempts;
        }
        let (resumed, failed) = store.resume_interrupted_jobs(2).await.unwrap();
        assert_eq!((resumed, failed.len()), (1, 0));
        assert_eq!(
            store.get_job(&account, &id).await.unwrap().state,
            JobState::Queued
        );
    }

    #[tokio::test]
    async fn a_job_whose_worker_keeps_dying_fails_when_its_lease_runs_out() {
        let (store, _dir, account, id) = running_job().await;
        // Another node claims it each time the lease runs out (an expired lease: 0 s).
        store
            .job_progress(&id, 1, &JobProgress::default(), Duration::ZERO)
            .await
            .unwrap();
        for _ in 0..2 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            let again = store.claim_job(Duration::ZERO, 2).await.unwrap();
            assert_eq!(again.unwrap().job.id, id);
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        assert!(store.claim_job(Duration::ZERO, 2).await.unwrap().is_none());
        let job = store.get_job(&account, &id).await.unwrap();
        assert_eq!(job.state, JobState::Failed);
        assert!(job.error.unwrap().starts_with(CRASHED_THE_SERVER));
    }

    #[tokio::test]
    async fn a_worker_that_lost_its_claim_neither_reports_nor_finishes_the_job() {
        let (store, _dir, account, id) = running_job().await;
        // The first claim's lease runs out (its worker stalled) and another worker claims it.
        assert!(store.renew_job_lease(&id, 1, Duration::ZERO).await.unwrap());
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let second = store.claim_job(Duration::seconds(60), 2).await.unwrap();
        assert_eq!(second.unwrap().job.attempts, 2);
        // Its lease is live: no third worker takes it.
        assert!(store
            .claim_job(Duration::seconds(60), 2)
            .await
            .unwrap()
            .is_none());
        // The first worker is told to stop, and what it says changes nothing.
        let stale = JobProgress {
            pages_indexed: 99,
            ..JobProgress::default()
        };
        assert!(!store
            .renew_job_lease(&id, 1, Duration::seconds(60))
            .await
            .unwrap());
        assert!(store
            .job_progress(&id, 1, &stale, Duration::seconds(60))
            .await
            .unwrap());
        assert!(!store
            .finish_claimed_job(&id, 1, JobState::Succeeded, &stale, None)
            .await
            .unwrap());
        assert!(!store.requeue_job(&id, 1).await.unwrap());
        let job = store.get_job(&account, &id).await.unwrap();
        assert_eq!(
            (job.state, job.progress.pages_indexed),
            (JobState::Running, 0)
        );
        // The second worker's claim holds: it reports, renews and finishes.
        assert!(store
            .renew_job_lease(&id, 2, Duration::seconds(60))
            .await
            .unwrap());
        assert!(!store
            .job_progress(&id, 2, &JobProgress::default(), Duration::seconds(60))
            .await
            .unwrap());
        assert!(store
            .finish_claimed_job(&id, 2, JobState::Succeeded, &JobProgress::default(), None)
            .await
            .unwrap());
        let job = store.get_job(&account, &id).await.unwrap();
        assert_eq!(job.state, JobState::Succeeded);
    }
}
