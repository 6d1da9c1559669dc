//! The webhook delivery worker.
//!
//! Deliveries are rows queued in the transaction of the event they carry. The worker claims due
//! rows one at a time with an atomic `UPDATE … RETURNING` under a lease, and sends up to
//! [`MAX_IN_FLIGHT`] at once, at most one per endpoint, each with its own timeout: an endpoint
//! that hangs only holds its own slot. Every attempt is recorded; failures are retried on the
//! configured schedule with jitter, honouring a longer `Retry-After`. On stop, attempts in flight
//! are abandoned and their rows return to the queue at the next start (at-least-once).

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
    time::{Duration, Instant},
};

use base64::Engine;
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;
use sitechat_crawl::FetchConfig;
use sitechat_store::{AttemptOutcome, AttemptRecord, ClaimedDelivery};
use tokio::{sync::watch, task::JoinSet};

use crate::state::AppState;

/// Deliveries sent at once.
pub const MAX_IN_FLIGHT: usize = 8;
/// Longest wait between two looks at the queue when nothing is due.
const POLL: Duration = Duration::from_millis(500);
/// Most of a response body kept in the attempt log.
const EXCERPT_BYTES: usize = 1024;

type HmacSha256 = Hmac<Sha256>;

/// The Standard Webhooks signature `v1,<base64>` of `{id}.{timestamp}.{body}`, keyed with the
/// secret's bytes.
pub fn standard_signature(secret: &str, id: &str, timestamp: i64, body: &str) -> String {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}

/// The hex HMAC-SHA256 of the raw body (the `X-Webhook-Signature` header).
pub fn body_signature(secret: &str, body: &str) -> String {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The running delivery worker.
pub struct DeliveryWorker {
    stop: watch::Sender<bool>,
    handle: tokio::task::JoinHandle<()>,
}

impl DeliveryWorker {
    /// Parses the retry schedule and starts the worker.
    pub fn spawn(state: AppState) -> anyhow::Result<Self> {
        let schedule =
            sitechat_core::config::parse_retry_schedule(&state.config.webhook_retry_schedule)
                .map_err(|e| anyhow::anyhow!("invalid webhook_retry_schedule: {e}"))?;
        let (stop, rx) = watch::channel(false);
        let handle = tokio::spawn(run(state, Arc::new(schedule), rx));
        Ok(DeliveryWorker { stop, handle })
    }

    /// Stops the worker; attempts in flight are abandoned and sent again after the next start.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.handle.await;
    }
}

struct Sender {
    state: AppState,
    client: reqwest::Client,
    schedule: Arc<Vec<Duration>>,
    timeout: Duration,
}

async fn run(state: AppState, schedule: Arc<Vec<Duration>>, mut stop: watch::Receiver<bool>) {
    match state.store.release_delivery_leases().await {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            deliveries = n,
            "webhook deliveries interrupted by the last stop resume now"
        ),
        Err(e) => tracing::warn!(error = %e, "could not release webhook delivery leases"),
    }
    let timeout = Duration::from_secs(state.config.webhook_timeout_seconds.max(1));
    let client = crate::services::webhooks::guard(&state.config).client(&FetchConfig {
        user_agent: "sitechat-webhooks".to_owned(),
        timeout,
        connect_timeout: timeout.min(Duration::from_secs(5)),
        max_bytes: EXCERPT_BYTES,
        // A webhook endpoint answers; it does not send us elsewhere.
        max_redirects: 0,
        allow_private: state.config.allow_private_networks,
    });
    let lease = time::Duration::seconds(timeout.as_secs() as i64 + 60);
    let sender = Arc::new(Sender {
        state: state.clone(),
        client,
        schedule,
        timeout,
    });
    let wake = Arc::clone(&state.webhooks_wake);
    let mut in_flight: JoinSet<()> = JoinSet::new();
    let mut busy: HashMap<tokio::task::Id, String> = HashMap::new();
    loop {
        if *stop.borrow() {
            break;
        }
        while in_flight.len() < MAX_IN_FLIGHT {
            let endpoints: Vec<String> = busy
                .values()
                .cloned()
                .collect::<HashSet<_>>()
                .into_iter()
                .collect();
            match state.store.claim_delivery(lease, &endpoints).await {
                Ok(Some(claimed)) => {
                    let webhook = claimed.webhook_id.to_string();
                    let sender = Arc::clone(&sender);
                    let handle = in_flight.spawn(async move { sender.attempt(claimed).await });
                    busy.insert(handle.id(), webhook);
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::error!(error = %e, "could not claim a webhook delivery");
                    break;
                }
            }
        }
        let wait = match state.store.next_delivery_due().await {
            Ok(Some(due)) => {
                let until = due - sitechat_core::now();
                Duration::try_from(until)
                    .unwrap_or(Duration::ZERO)
                    .min(POLL)
            }
            _ => POLL,
        };
        // Something due at once but not claimable (its endpoint is busy): wait for a slot.
        let wait = if wait.is_zero() { POLL } else { wait };
        tokio::select! {
            Some(done) = in_flight.join_next_with_id() => {
                let id = match done {
                    Ok((id, ())) => id,
                    Err(e) => {
                        tracing::error!(error = %e, "a webhook delivery task failed");
                        e.id()
                    }
                };
                busy.remove(&id);
            }
            _ = wake.notified() => {}
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => {}
        }
    }
    in_flight.shutdown().await;
}

impl Sender {
    /// Sends one attempt of a delivery and records it.
    async fn attempt(&self, delivery: ClaimedDelivery) {
        let number = delivery.attempts + 1;
        let started_at = sitechat_core::now();
        let clock = Instant::now();
        let result = self.send(&delivery).await;
        let latency_ms = clock.elapsed().as_millis() as i64;
        let (status, excerpt, error, outcome) = match result {
            Ok(Sent {
                status,
                excerpt,
                retry_after,
            }) => {
                let outcome = if (200..300).contains(&status) {
                    AttemptOutcome::Delivered
                } else if matches!(status, 408 | 429) || status >= 500 {
                    self.retry(&delivery, retry_after)
                } else {
                    AttemptOutcome::Failed
                };
                let error = (outcome != AttemptOutcome::Delivered)
                    .then(|| format!("the endpoint answered {status}"));
                (Some(status), Some(excerpt), error, outcome)
            }
            Err(SendError::Final(message)) => (None, None, Some(message), AttemptOutcome::Failed),
            Err(SendError::Retry(message)) => {
                (None, None, Some(message), self.retry(&delivery, None))
            }
        };
        tracing::info!(delivery = %delivery.id, webhook = %delivery.webhook_id, attempt = number,
            status = ?status, latency_ms, outcome = ?outcome, "webhook delivery attempt");
        let record = AttemptRecord {
            attempt: number,
            started_at,
            status,
            latency_ms,
            response_excerpt: excerpt,
            error,
        };
        let days = self.state.config.webhook_disable_after_days;
        let disable_after = (days > 0).then(|| time::Duration::days(days as i64));
        if let Err(e) = self
            .state
            .store
            .record_delivery_attempt(&delivery, &record, outcome, disable_after)
            .await
        {
            tracing::error!(delivery = %delivery.id, error = %e, "could not record a webhook delivery attempt");
        }
    }

    /// When to try again after a failed attempt, or `Failed` when the schedule is exhausted.
    fn retry(&self, delivery: &ClaimedDelivery, retry_after: Option<Duration>) -> AttemptOutcome {
        let Some(step) = self.schedule.get(delivery.retries as usize) else {
            return AttemptOutcome::Failed;
        };
        let jitter_ms = (step.as_millis() as u64) / 10;
        let jitter = Duration::from_millis(rand::thread_rng().gen_range(0..=jitter_ms));
        let mut delay = *step + jitter;
        if let Some(after) = retry_after {
            delay = delay.max(after);
        }
        let delay = time::Duration::try_from(delay).unwrap_or(time::Duration::days(1));
        AttemptOutcome::Retry(sitechat_core::now() + delay)
    }

    async fn send(&self, delivery: &ClaimedDelivery) -> Result<Sent, SendError> {
        let target = self
            .state
            .store
            .webhook_target(&delivery.webhook_id)
            .await
            .map_err(|e| SendError::Retry(format!("could not read the endpoint: {e}")))?;
        let url = url::Url::parse(&target.url)
            .map_err(|e| SendError::Final(format!("invalid URL: {e}")))?;
        crate::services::webhooks::guard(&self.state.config)
            .check_url(&url)
            .map_err(|e| SendError::Final(format!("refused: {e}")))?;
        let mut target = target;
        let open = |stored: &str| -> Result<String, SendError> {
            if crate::secrets::Sealer::is_sealed(stored) {
                self.state.sealer.unseal(stored).map_err(|e| {
                    SendError::Final(format!("the signing secret cannot be opened: {e}"))
                })
            } else {
                Ok(stored.to_owned())
            }
        };
        target.secret = open(&target.secret)?;
        target.previous_secret = target.previous_secret.as_deref().map(open).transpose()?;
        let timestamp = time::OffsetDateTime::now_utc().unix_timestamp();
        let id = delivery.event_id.as_str();
        let body = &delivery.payload;
        let mut signatures = vec![standard_signature(&target.secret, id, timestamp, body)];
        if let Some(previous) = &target.previous_secret {
            signatures.push(standard_signature(previous, id, timestamp, body));
        }
        let request = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("user-agent", "sitechat-webhooks")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signatures.join(" "))
            .header("x-webhook-signature", body_signature(&target.secret, body))
            .body(body.clone());
        let response = tokio::time::timeout(self.timeout, request.send())
            .await
            .map_err(|_| SendError::Retry(format!("timed out after {}s", self.timeout.as_secs())))?
            .map_err(|e| {
                if e.is_redirect() {
                    SendError::Final(
                        "the endpoint answered with a redirect; give its final URL".to_owned(),
                    )
                } else if e.is_timeout() {
                    SendError::Retry(format!("timed out after {}s", self.timeout.as_secs()))
                } else {
                    SendError::Retry(describe(&e))
                }
            })?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let excerpt = read_excerpt(response).await;
        Ok(Sent {
            status,
            excerpt,
            retry_after,
        })
    }
}

/// At most [`EXCERPT_BYTES`] of a response body, read within a short time.
async fn read_excerpt(mut response: reqwest::Response) -> String {
    let mut bytes = Vec::new();
    let read = async {
        while bytes.len() < EXCERPT_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
                _ => break,
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), read).await;
    bytes.truncate(EXCERPT_BYTES);
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    // A cut multi-byte character becomes U+FFFD; keep the excerpt within its limit.
    while text.len() > EXCERPT_BYTES {
        text.pop();
    }
    text
}

/// The cause chain of a request error (connection refused, refused by the guard, …).
fn describe(e: &reqwest::Error) -> String {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

struct Sent {
    status: u16,
    excerpt: String,
    retry_after: Option<Duration>,
}

enum SendError {
    /// Worth trying again (timeout, connection error).
    Retry(String),
    /// Not worth trying again.
    Final(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_signature_matches_the_reference_construction() {
        let sig = standard_signature("whsec_test", "evt_1", 1_700_000_000, "{}");
        assert!(sig.starts_with("v1,"));
        let mut mac = HmacSha256::new_from_slice(b"whsec_test").unwrap();
        mac.update(b"evt_1.1700000000.{}");
        let expected =
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        assert_eq!(sig, format!("v1,{expected}"));
    }

    #[test]
    fn the_body_signature_is_hex() {
        let sig = body_signature("k", "body");
        assert_eq!(sig.len(), 64);
        assert!(sig.bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
