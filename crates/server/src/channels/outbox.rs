//! The outbox worker: sends the messages the store queued for channels.
//!
//! Rows are claimed one at a time under a lease (in order per conversation: a conversation's
//! next message waits until the one before it is sent or has failed for good), and up to
//! [`MAX_IN_FLIGHT`] are sent at once. A 429, 408, 5xx, timeout or connection error is retried on
//! `channel_retry_schedule`, waiting longer when the platform says so (`Retry-After`, or
//! Telegram's `retry_after`); another 4xx, or the schedule running out, fails the message for
//! good: it becomes `NOT_SENT` and `message.not_sent` is recorded. On stop, sends in flight are
//! finished (each is bounded by its timeout) and their outcome recorded, so a restart sends
//! nothing twice; only a crash mid-send leaves a row that is due again at the next start and may
//! reach the platform twice (at-least-once: the platforms take no idempotency key).

use std::{sync::Arc, time::Duration};

use rand::Rng;
use serde_json::json;
use sitechat_crawl::FetchConfig;
use sitechat_store::{ClaimedSend, SendOutcome, StoreError};
use tokio::{sync::watch, task::JoinSet};

use crate::state::AppState;

/// Messages sent at once.
pub const MAX_IN_FLIGHT: usize = 8;
/// Longest wait between two looks at the outbox.
const POLL: Duration = Duration::from_millis(200);
/// Timeout of one send.
const TIMEOUT: Duration = Duration::from_secs(15);

/// The running worker.
pub struct OutboxWorker {
    stop: watch::Sender<bool>,
    handle: tokio::task::JoinHandle<()>,
}

impl OutboxWorker {
    /// Parses the retry schedule and starts the worker.
    pub fn spawn(state: AppState) -> anyhow::Result<Self> {
        let schedule =
            sitechat_core::config::parse_retry_schedule(&state.config.channel_retry_schedule)
                .map_err(|e| anyhow::anyhow!("invalid channel_retry_schedule: {e}"))?;
        let (stop, rx) = watch::channel(false);
        let handle = tokio::spawn(run(state, Arc::new(schedule), rx));
        Ok(OutboxWorker { stop, handle })
    }

    /// Stops the worker once the sends in flight are over; nothing new is claimed meanwhile.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.handle.await;
    }
}

/// The HTTP client channels use: through the SSRF guard, no redirects.
pub fn client(state: &AppState) -> reqwest::Client {
    crate::services::webhooks::guard(&state.config).client(&FetchConfig {
        user_agent: "sitechat-channels".to_owned(),
        timeout: TIMEOUT,
        connect_timeout: Duration::from_secs(5),
        max_bytes: 64 * 1024,
        max_redirects: 0,
        allow_private: state.config.allow_private_networks,
    })
}

struct Sender {
    state: AppState,
    client: reqwest::Client,
    schedule: Arc<Vec<Duration>>,
}

async fn run(state: AppState, schedule: Arc<Vec<Duration>>, mut stop: watch::Receiver<bool>) {
    match state.store.release_send_leases().await {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            messages = n,
            "channel sends interrupted by the last stop are due again"
        ),
        Err(e) => tracing::warn!(error = %e, "could not release channel send leases"),
    }
    let sender = Arc::new(Sender {
        client: client(&state),
        state: state.clone(),
        schedule,
    });
    let lease = time::Duration::seconds(TIMEOUT.as_secs() as i64 + 60);
    let mut in_flight: JoinSet<()> = JoinSet::new();
    loop {
        if *stop.borrow() {
            break;
        }
        while in_flight.len() < MAX_IN_FLIGHT {
            match state.store.claim_send(lease).await {
                Ok(Some(claimed)) => {
                    let sender = Arc::clone(&sender);
                    in_flight.spawn(async move { sender.attempt(claimed).await });
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::error!(error = %e, "could not claim a channel send");
                    break;
                }
            }
        }
        let wait = match state.store.next_send_due().await {
            Ok(Some(due)) => Duration::try_from(due - sitechat_core::now())
                .unwrap_or(Duration::ZERO)
                .clamp(Duration::from_millis(20), POLL),
            _ => POLL,
        };
        tokio::select! {
            Some(done) = in_flight.join_next() => {
                if let Err(e) = done {
                    tracing::error!(error = %e, "a channel send task failed");
                }
            }
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => {}
        }
    }
    // A send the platform may already have accepted is not cut off: cut off, it would be made
    // again at the next start and reach the visitor twice.
    let finished = tokio::time::timeout(TIMEOUT + Duration::from_secs(1), async {
        while in_flight.join_next().await.is_some() {}
    })
    .await;
    if finished.is_err() {
        tracing::warn!("channel sends still in flight at the stop are abandoned; they are due again at the next start");
        in_flight.shutdown().await;
    }
}

/// How an attempt went, before the retry schedule is applied.
enum Attempt {
    Sent(Option<String>),
    Retry(String, Option<Duration>),
    Failed(String),
}

impl Sender {
    async fn attempt(&self, claimed: ClaimedSend) {
        let attempt = match self.send(&claimed).await {
            Ok(a) => a,
            Err(e) => Attempt::Retry(e, None),
        };
        let outcome = match attempt {
            Attempt::Sent(id) => SendOutcome::Sent(id),
            Attempt::Failed(error) => SendOutcome::Failed(error),
            Attempt::Retry(error, after) => {
                match self.schedule.get((claimed.attempts - 1).max(0) as usize) {
                    None => SendOutcome::Failed(format!(
                        "{error} (gave up after {} attempts)",
                        claimed.attempts
                    )),
                    Some(step) => {
                        let jitter_ms = (step.as_millis() as u64) / 10;
                        let mut delay = *step
                            + Duration::from_millis(rand::thread_rng().gen_range(0..=jitter_ms));
                        if let Some(after) = after {
                            delay = delay.max(after);
                        }
                        let delay =
                            time::Duration::try_from(delay).unwrap_or(time::Duration::days(1));
                        SendOutcome::Retry(sitechat_core::now() + delay, error)
                    }
                }
            }
        };
        tracing::info!(message = %claimed.message_id, channel = %claimed.channel_id,
            attempt = claimed.attempts, outcome = ?outcome, "channel send attempt");
        match self.state.store.record_send(&claimed, &outcome).await {
            Ok(()) => {
                if let SendOutcome::Failed(error) = &outcome {
                    self.state.live.publish(
                        &claimed.conversation_id,
                        "message_status",
                        json!({"message_id": claimed.message_id, "status": "NOT_SENT", "error": error}),
                    );
                }
            }
            Err(e) => {
                tracing::error!(message = %claimed.message_id, error = %e, "could not record a channel send")
            }
        }
    }

    async fn send(&self, claimed: &ClaimedSend) -> Result<Attempt, String> {
        let channel = match self.state.store.channel(&claimed.channel_id).await {
            Ok(c) => c,
            Err(StoreError::NotFound { .. }) => {
                return Ok(Attempt::Failed("the channel was deleted".to_owned()))
            }
            Err(e) => return Err(format!("could not read the channel: {e}")),
        };
        let platform = match super::adapter(&channel, &self.state.sealer) {
            Ok(p) => p,
            Err(e) => {
                return Ok(Attempt::Failed(format!(
                    "the channel's credentials cannot be opened: {e}"
                )))
            }
        };
        let message = self
            .state
            .store
            .outbound_message(&claimed.message_id)
            .await
            .map_err(|e| format!("could not read the message: {e}"))?;
        let Some(to) = super::recipient(&channel.kind, &claimed.recipient) else {
            return Ok(Attempt::Failed(
                "the contact is not a user of the platform".to_owned(),
            ));
        };
        let request = platform.render(to, &message);
        let url = url::Url::parse(&request.url).map_err(|e| format!("invalid URL: {e}"))?;
        if let Err(e) = crate::services::webhooks::guard(&self.state.config).check_url(&url) {
            return Ok(Attempt::Failed(format!("refused: {e}")));
        }
        let mut http = self.client.post(url).json(&request.body);
        if let Some(token) = &request.bearer {
            http = http.bearer_auth(token);
        }
        let response = http.send().await.map_err(|e| {
            if e.is_timeout() {
                format!("timed out after {}s", TIMEOUT.as_secs())
            } else {
                format!("could not reach the platform: {e}")
            }
        })?;
        let status = response.status().as_u16();
        let header_wait = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = response.text().await.unwrap_or_default();
        let answer: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        let excerpt: String = text.chars().take(300).collect();
        Ok(if (200..300).contains(&status) {
            Attempt::Sent(platform.sent_id(&answer))
        } else if matches!(status, 408 | 429) || status >= 500 {
            let wait = header_wait.or_else(|| platform.retry_after(&answer));
            Attempt::Retry(format!("the platform answered {status}: {excerpt}"), wait)
        } else {
            Attempt::Failed(format!("the platform answered {status}: {excerpt}"))
        })
    }
}
