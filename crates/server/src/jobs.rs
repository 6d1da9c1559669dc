//! The workers that run durable jobs.
//!
//! Each worker claims a job row, runs it, and finishes it; when the queue is empty it waits for a
//! wake-up (a job was enqueued) or a short poll interval, so jobs queued by another process or
//! left by a crashed one are picked up too. On shutdown a running job is handed back to the queue
//! and resumes at the next start. Nothing here is a bare fire-and-forget task: the row is the
//! work, the task only executes it. A scheduler task queues the periodic re-crawls bots ask for.

use std::{panic::AssertUnwindSafe, sync::Arc, time::Duration};

use futures_util::FutureExt;
use sitechat_core::{config::Config, model::JobState};
use sitechat_store::ClaimedJob;
use tokio::{sync::watch, task::JoinHandle};

use crate::{services::training, state::AppState};

/// How long a claimed job stays this worker's without its lease being renewed
/// (`job_lease_seconds`). A running job's lease is renewed every quarter of that by a task of
/// its own, however long one step of the job takes (a batch of passages on a busy machine can
/// take minutes); only a worker that stopped running (its process died or froze) lets it run
/// out, and then another worker claims the job.
pub fn lease(config: &Config) -> time::Duration {
    time::Duration::seconds(i64::try_from(config.job_lease_seconds.max(1)).unwrap_or(i64::MAX))
}

const POLL: Duration = Duration::from_secs(2);

/// The running workers.
pub struct Workers {
    stop: watch::Sender<bool>,
    handles: Vec<JoinHandle<()>>,
}

impl Workers {
    /// Starts `n` workers.
    pub fn spawn(state: AppState, n: usize) -> Self {
        let (stop, _) = watch::channel(false);
        let mut handles: Vec<JoinHandle<()>> = (0..n)
            .map(|i| {
                let state = state.clone();
                let stop = stop.subscribe();
                tokio::spawn(async move { work(i, state, stop).await })
            })
            .collect();
        let scheduler_stop = stop.subscribe();
        handles.push(tokio::spawn(async move {
            schedule(state, scheduler_stop).await
        }));
        Workers { stop, handles }
    }

    /// Asks every worker to stop and waits for them; running jobs go back to the queue.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for handle in self.handles {
            let _ = handle.await;
        }
    }
}

async fn work(worker: usize, state: AppState, mut stop: watch::Receiver<bool>) {
    let wake = Arc::clone(&state.jobs_wake);
    loop {
        if *stop.borrow() {
            break;
        }
        match state
            .store
            .claim_job(lease(&state.config), state.config.max_job_resumes)
            .await
        {
            Ok(Some(claimed)) => {
                tracing::info!(worker, job = %claimed.job.id, bot = %claimed.job.bot_id, attempt = claimed.job.attempts, "job claimed");
                let job = claimed.job.clone();
                let keeper = tokio::spawn(keep_lease(state.clone(), job.clone()));
                // A panic fails this one job; the worker, and the process, go on.
                let run = AssertUnwindSafe(run(&state, claimed, stop.clone())).catch_unwind();
                let outcome = run.await;
                keeper.abort();
                if let Err(panic) = outcome {
                    let cause = panic_message(panic.as_ref());
                    tracing::error!(job = %job.id, bot = %job.bot_id, cause, "a job panicked");
                    if let Err(e) = state
                        .store
                        .finish_claimed_job(
                            &job.id,
                            job.attempts,
                            JobState::Failed,
                            &job.progress,
                            Some("an internal error stopped the job; see the server log"),
                        )
                        .await
                    {
                        tracing::error!(job = %job.id, error = %e, "could not record a failed job");
                    }
                }
            }
            Ok(None) => {
                tokio::select! {
                    _ = wake.notified() => {}
                    _ = tokio::time::sleep(POLL) => {}
                    _ = stop.changed() => {}
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "could not claim a job");
                tokio::select! {
                    _ = tokio::time::sleep(POLL) => {}
                    _ = stop.changed() => {}
                }
            }
        }
    }
}

/// Renews a running job's lease until the job ends (the caller aborts this task) or the claim is
/// lost. A lost claim is the job's own report's business: its next progress report tells it to
/// stop, and its end is not recorded over the new claim's.
async fn keep_lease(state: AppState, job: sitechat_core::model::Job) {
    let lease = lease(&state.config);
    let every = Duration::from_millis(u64::try_from(lease.whole_milliseconds() / 4).unwrap_or(1));
    loop {
        tokio::time::sleep(every).await;
        match state
            .store
            .renew_job_lease(&job.id, job.attempts, lease)
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(job = %job.id, attempt = job.attempts, "the job is no longer this worker's; its lease is not renewed");
                break;
            }
            Err(e) => tracing::warn!(job = %job.id, error = %e, "could not renew a job's lease"),
        }
    }
}

/// Runs a claimed job of any kind.
async fn run(state: &AppState, claimed: ClaimedJob, stop: watch::Receiver<bool>) {
    match claimed.job.kind.as_str() {
        "train" => training::run(state, claimed, stop).await,
        "reply" => crate::services::chat::run_reply_job(state, claimed).await,
        other => {
            tracing::error!(kind = other, "unknown job kind");
            let _ = state
                .store
                .finish_job(
                    &claimed.job.id,
                    JobState::Failed,
                    &claimed.job.progress,
                    Some("unknown job kind"),
                )
                .await;
        }
    }
}

/// The message a panic was raised with.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic without a message")
}

/// Queues scheduled re-crawls as they fall due, and ends conversations left idle. The schedule lives in the bots' settings and the
/// jobs table, so it needs no state of its own and survives restarts.
async fn schedule(state: AppState, mut stop: watch::Receiver<bool>) {
    let every = Duration::from_secs(state.config.scheduler_interval_seconds.max(1));
    loop {
        if let Err(e) = crate::services::embeddings::sweep(&state).await {
            tracing::warn!(error = %e, "could not look for chunks to embed");
        }
        match training::enqueue_due_recrawls(&state).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(jobs = n, "scheduled re-crawls queued"),
            Err(e) => tracing::warn!(error = %e, "could not check re-crawl schedules"),
        }
        let idle = state.config.conversation_idle_seconds;
        if idle > 0 {
            let before = sitechat_core::now() - time::Duration::seconds(idle as i64);
            match state.store.end_idle_conversations(before, 500).await {
                Ok(ended) if !ended.is_empty() => {
                    tracing::info!(conversations = ended.len(), "idle conversations ended")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "could not end idle conversations"),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => break,
        }
    }
}
