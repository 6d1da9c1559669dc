//! Webhook endpoints: their URL, event subscriptions and secret, and their delivery log.
//!
//! Deliveries are queued by the store in the transaction of each event (the outbox) and sent by
//! [`crate::delivery`]; this module only manages endpoints and re-queues deliveries.

use sitechat_core::{
    config::Config, model::EVENT_TYPES, payloads::WebhookFormat, BotId, Scope, WebhookId,
};
use sitechat_crawl::{ResolveError, SsrfGuard};
use sitechat_store::{
    DeliveryRecord, DeliveryState, NewWebhook, Page, PageRequest, WebhookPatch, WebhookRecord,
};
use url::Url;

use crate::{
    auth::Caller,
    error::{ApiError, ApiResult},
    state::AppState,
};

/// Event types only webhooks know (not part of the conversation event log's vocabulary).
pub const WEBHOOK_ONLY_EVENTS: &[&str] = &["webhook.disabled"];

/// A webhook URL that passed the scheme and SSRF checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(Url);

impl WebhookUrl {
    /// Parses a URL: http(s) only, HTTPS unless `allow_http_webhooks`, no credentials, and no
    /// loopback, private, link-local or metadata address unless `allow_private_networks`.
    pub fn parse(value: &str, config: &Config) -> ApiResult<Self> {
        let value = value.trim();
        let url = Url::parse(value).map_err(|e| {
            ApiError::invalid(format!(
                "url: `{value}` is not an absolute URL ({e}); give one like https://example.com/hooks"
            ))
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ApiError::invalid(format!(
                "url: the scheme `{}` is not supported; webhooks are sent over https",
                url.scheme()
            )));
        }
        if url.scheme() == "http" && !config.allow_http_webhooks {
            return Err(ApiError::invalid(
                "url: webhooks must use https (the server's allow_http_webhooks setting is off)",
            ));
        }
        guard(config)
            .check_url(&url)
            .map_err(|e| refused(&e.to_string()))?;
        Ok(WebhookUrl(url))
    }

    /// Also checks, when the host is a name that resolves, every address it resolves to. A name
    /// that does not resolve yet is accepted: every delivery resolves and checks it again.
    pub async fn check_resolution(&self, config: &Config) -> ApiResult<()> {
        let Some(url::Host::Domain(host)) = self.0.host() else {
            return Ok(());
        };
        let guard = guard(config);
        match tokio::time::timeout(std::time::Duration::from_secs(3), guard.resolve(host)).await {
            Ok(Err(ResolveError::Blocked(e))) => Err(refused(&e.to_string())),
            _ => Ok(()),
        }
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

fn refused(reason: &str) -> ApiError {
    ApiError::invalid(format!(
        "url: refused: {reason}; webhooks may only target public addresses"
    ))
}

/// The SSRF guard webhooks go through, at creation and at every delivery.
pub fn guard(config: &Config) -> SsrfGuard {
    SsrfGuard::new(config.allow_private_networks)
}

/// Parses a payload format: `sitechat` (the default), `aisa`, `asyntai` or `aimylogic`.
pub fn parse_format(format: Option<&str>) -> ApiResult<WebhookFormat> {
    let Some(format) = format.map(str::trim).filter(|f| !f.is_empty()) else {
        return Ok(WebhookFormat::Sitechat);
    };
    WebhookFormat::parse(&format.to_ascii_lowercase()).ok_or_else(|| {
        let names: Vec<&str> = WebhookFormat::ALL.iter().map(|f| f.as_str()).collect();
        ApiError::invalid(format!(
            "format: `{format}` is not a payload format; use one of {}",
            names.join(", ")
        ))
    })
}

/// Parses a list of event subscriptions: event types of the format's vocabulary (the event
/// log's for sitechat's own, the seed document's for a dialect's) or `*`, at least one. An
/// Aimylogic-format endpoint, whose document names no events, defaults to `*`.
pub fn parse_events(format: WebhookFormat, events: Option<Vec<String>>) -> ApiResult<Vec<String>> {
    let events = match events {
        None if format == WebhookFormat::Aimylogic => vec!["*".to_owned()],
        events => events.unwrap_or_default(),
    };
    let known: Vec<&str> = match format.events() {
        Some(names) => names.to_vec(),
        None => EVENT_TYPES
            .iter()
            .chain(WEBHOOK_ONLY_EVENTS)
            .copied()
            .collect(),
    };
    let vocabulary = match format {
        WebhookFormat::Sitechat => String::new(),
        other => format!(" of the {} format", other.as_str()),
    };
    if events.is_empty() {
        return Err(ApiError::invalid(format!(
            "events: give at least one event type{vocabulary} ({}) or `*` for all",
            known.join(", ")
        )));
    }
    let mut parsed = Vec::with_capacity(events.len());
    for event in events {
        let event = event.trim();
        if event != "*" && !known.contains(&event) {
            return Err(ApiError::invalid(format!(
                "events: `{event}` is not an event type{vocabulary}; use one of {} or `*`",
                known.join(", ")
            )));
        }
        if !parsed.iter().any(|e| e == event) {
            parsed.push(event.to_owned());
        }
    }
    Ok(parsed)
}

/// A secret given by the client: 16 to 200 visible characters.
pub fn parse_secret(secret: Option<String>) -> ApiResult<String> {
    match secret {
        None => Ok(generate_secret()),
        Some(secret) => {
            let ok =
                (16..=200).contains(&secret.len()) && secret.bytes().all(|b| b.is_ascii_graphic());
            if ok {
                Ok(secret)
            } else {
                Err(ApiError::invalid(
                    "secret: give 16 to 200 visible ASCII characters, or leave it out to have one generated",
                ))
            }
        }
    }
}

/// A new secret: `whsec_` and 32 random alphanumerics.
pub fn generate_secret() -> String {
    format!("whsec_{}", sitechat_core::ids::random_token(32))
}

/// An endpoint just created or rotated, with the secret shown this once.
pub struct WithSecret {
    pub webhook: WebhookRecord,
    pub secret: String,
}

/// What a new endpoint is made of, parsed.
pub struct CreateWebhook {
    pub url: WebhookUrl,
    pub events: Vec<String>,
    pub bot_id: Option<BotId>,
    /// The payload shape deliveries take.
    pub format: WebhookFormat,
    pub secret: String,
}

#[tracing::instrument(skip_all, fields(account = %caller.account.id))]
pub async fn create(
    state: &AppState,
    caller: &Caller,
    new: CreateWebhook,
) -> ApiResult<WithSecret> {
    caller.require(Scope::Admin)?;
    new.url.check_resolution(&state.config).await?;
    if let Some(bot) = &new.bot_id {
        state
            .store
            .get_bot(&caller.account.id, bot)
            .await
            .map_err(|_| {
                ApiError::invalid(format!("bot_id: there is no bot `{bot}` in this account"))
            })?;
    }
    let webhook = state
        .store
        .create_webhook(
            &caller.account.id,
            NewWebhook {
                url: new.url.as_str().to_owned(),
                events: new.events,
                bot_id: new.bot_id,
                format: new.format,
                // Signing needs the secret itself: it is stored sealed, not hashed.
                secret: state.sealer.seal(&new.secret),
            },
        )
        .await?;
    tracing::info!(webhook = %webhook.id, "webhook created");
    Ok(WithSecret {
        webhook,
        secret: new.secret,
    })
}

pub async fn get(state: &AppState, caller: &Caller, id: &WebhookId) -> ApiResult<WebhookRecord> {
    caller.require(Scope::Read)?;
    Ok(state.store.get_webhook(&caller.account.id, id).await?)
}

pub async fn list(
    state: &AppState,
    caller: &Caller,
    page: PageRequest,
) -> ApiResult<Page<WebhookRecord>> {
    caller.require(Scope::Read)?;
    Ok(state.store.list_webhooks(&caller.account.id, page).await?)
}

/// Changes the URL, the subscriptions (read in the endpoint's format) or whether the endpoint
/// is active.
#[tracing::instrument(skip_all, fields(account = %caller.account.id, webhook = %id))]
pub async fn update(
    state: &AppState,
    caller: &Caller,
    id: &WebhookId,
    url: Option<WebhookUrl>,
    events: Option<Vec<String>>,
    active: Option<bool>,
) -> ApiResult<WebhookRecord> {
    caller.require(Scope::Admin)?;
    let current = state.store.get_webhook(&caller.account.id, id).await?;
    let events = events
        .map(|e| parse_events(current.format, Some(e)))
        .transpose()?;
    if let Some(url) = &url {
        url.check_resolution(&state.config).await?;
    }
    let webhook = state
        .store
        .update_webhook(
            &caller.account.id,
            id,
            WebhookPatch {
                url: url.map(|u| u.as_str().to_owned()),
                events,
                active,
            },
        )
        .await?;
    state.webhooks_wake.notify_one();
    Ok(webhook)
}

pub async fn delete(state: &AppState, caller: &Caller, id: &WebhookId) -> ApiResult<()> {
    caller.require(Scope::Admin)?;
    state.store.delete_webhook(&caller.account.id, id).await?;
    tracing::info!(webhook = %id, "webhook deleted");
    Ok(())
}

/// Seals the signing secrets still stored in clear (written before secrets were sealed).
pub async fn seal_clear_secrets(state: &AppState) -> ApiResult<u64> {
    let clear = state.store.webhook_secrets_in_clear().await?;
    let mut sealed = 0;
    for (id, secret, previous) in clear {
        let seal = |s: &str| {
            if crate::secrets::Sealer::is_sealed(s) {
                s.to_owned()
            } else {
                state.sealer.seal(s)
            }
        };
        state
            .store
            .set_webhook_secrets(
                &id,
                &seal(&secret),
                previous.as_deref().map(seal).as_deref(),
            )
            .await?;
        sealed += 1;
    }
    Ok(sealed)
}

/// Replaces the secret; the old one keeps signing for the configured grace period.
#[tracing::instrument(skip_all, fields(account = %caller.account.id, webhook = %id))]
pub async fn rotate(state: &AppState, caller: &Caller, id: &WebhookId) -> ApiResult<WithSecret> {
    caller.require(Scope::Admin)?;
    let secret = generate_secret();
    let grace = time::Duration::seconds(
        i64::try_from(state.config.webhook_secret_grace_seconds).unwrap_or(i64::MAX / 2),
    );
    let webhook = state
        .store
        .rotate_webhook_secret(&caller.account.id, id, &state.sealer.seal(&secret), grace)
        .await?;
    Ok(WithSecret { webhook, secret })
}

/// Queues a `webhook.test` delivery to this endpoint only.
pub async fn test(state: &AppState, caller: &Caller, id: &WebhookId) -> ApiResult<DeliveryRecord> {
    caller.require(Scope::Admin)?;
    let delivery = state
        .store
        .enqueue_test_delivery(&caller.account.id, id)
        .await?;
    state.webhooks_wake.notify_one();
    Ok(delivery)
}

pub async fn deliveries(
    state: &AppState,
    caller: &Caller,
    id: &WebhookId,
    filter: Option<DeliveryState>,
    page: PageRequest,
) -> ApiResult<Page<DeliveryRecord>> {
    caller.require(Scope::Read)?;
    Ok(state
        .store
        .list_deliveries(&caller.account.id, id, filter, page)
        .await?)
}

/// Queues one delivery again, due now.
pub async fn redeliver(
    state: &AppState,
    caller: &Caller,
    id: &WebhookId,
    delivery: &str,
) -> ApiResult<DeliveryRecord> {
    caller.require(Scope::Admin)?;
    let delivery = state
        .store
        .redeliver(&caller.account.id, id, delivery)
        .await?;
    state.webhooks_wake.notify_one();
    Ok(delivery)
}

/// Queues again every failed delivery created since a time.
pub async fn redeliver_failed(
    state: &AppState,
    caller: &Caller,
    id: &WebhookId,
    since: time::OffsetDateTime,
) -> ApiResult<u64> {
    caller.require(Scope::Admin)?;
    let n = state
        .store
        .redeliver_failed_since(&caller.account.id, id, since)
        .await?;
    state.webhooks_wake.notify_one();
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(private: bool, http: bool) -> Config {
        Config {
            allow_private_networks: private,
            allow_http_webhooks: http,
            ..Config::default()
        }
    }

    #[test]
    fn a_private_address_is_refused() {
        for url in [
            "https://127.0.0.1/h",
            "https://10.0.0.1/",
            "https://169.254.169.254/",
            "https://localhost/x",
        ] {
            assert!(
                WebhookUrl::parse(url, &config(false, false)).is_err(),
                "{url}"
            );
        }
        assert!(WebhookUrl::parse("https://127.0.0.1/h", &config(true, false)).is_ok());
    }

    #[test]
    fn plain_http_needs_the_setting() {
        assert!(WebhookUrl::parse("http://example.com/h", &config(false, false)).is_err());
        assert!(WebhookUrl::parse("http://example.com/h", &config(false, true)).is_ok());
        assert!(WebhookUrl::parse("ftp://example.com/h", &config(false, true)).is_err());
    }

    #[test]
    fn events_are_known_types_or_the_wildcard() {
        let sitechat = WebhookFormat::Sitechat;
        assert_eq!(
            parse_events(
                sitechat,
                Some(vec!["*".into(), "lead.captured".into(), "*".into()])
            )
            .unwrap(),
            ["*", "lead.captured"]
        );
        assert!(parse_events(sitechat, Some(vec!["lead.lost".into()])).is_err());
        assert!(parse_events(sitechat, None).is_err());
        assert!(parse_events(sitechat, Some(vec!["webhook.disabled".into()])).is_ok());
    }

    #[test]
    fn a_dialect_format_takes_its_documents_events() {
        let aisa = WebhookFormat::Aisa;
        assert!(parse_events(aisa, Some(vec!["lead.captured".into()])).is_ok());
        let e = parse_events(aisa, Some(vec!["takeover.started".into()]))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("aisa format"), "{e}");
        assert!(parse_events(
            WebhookFormat::Asyntai,
            Some(vec!["takeover.started".into()])
        )
        .is_ok());
        assert_eq!(parse_events(WebhookFormat::Aimylogic, None).unwrap(), ["*"]);
        assert_eq!(parse_format(None).unwrap(), WebhookFormat::Sitechat);
        assert_eq!(parse_format(Some("AISA")).unwrap(), WebhookFormat::Aisa);
        let e = parse_format(Some("zapier")).err().unwrap().to_string();
        assert!(
            e.contains("format: `zapier`") && e.contains("aimylogic"),
            "{e}"
        );
    }

    #[test]
    fn a_generated_secret_has_its_prefix() {
        let secret = generate_secret();
        assert!(secret.starts_with("whsec_"));
        assert_eq!(secret.len(), 6 + 32);
    }
}
