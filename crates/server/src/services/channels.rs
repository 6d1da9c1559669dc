//! Messaging channels of a bot: connecting one (its credentials sealed, Telegram's webhook set),
//! listing and removing them, and what their platforms send — visitor messages handed to the
//! chat service, each processed once whatever the platform retries, and delivery statuses.

use axum::http::HeaderMap;
use serde_json::json;
use sitechat_core::{
    ids::random_token, model::Role, now, validate::ChatText, BotId, ChannelId, ConversationId,
    Scope,
};
use sitechat_store::{ChannelRecord, ContactInput, KeyState, KeyedRequest, Page, PageRequest};
use url::Url;

use crate::{
    auth::Caller,
    channels::{self, telegram, whatsapp, ChannelKind, Content, Inbound, Platform, PlatformUser},
    error::{ApiError, ApiResult},
    idempotency::Claim,
    services::chat::{self, VisitorMessage},
    state::AppState,
};

/// A channel to connect, as the API read it.
pub enum NewChannel {
    Telegram {
        bot_token: String,
        api_base: Url,
    },
    WhatsApp {
        phone_number_id: String,
        access_token: String,
        app_secret: String,
        verify_token: Option<String>,
        graph_base: Url,
        api_version: String,
    },
}

impl NewChannel {
    fn kind(&self) -> ChannelKind {
        match self {
            NewChannel::Telegram { .. } => ChannelKind::Telegram,
            NewChannel::WhatsApp { .. } => ChannelKind::WhatsApp,
        }
    }
}

/// A connected channel, with what is shown only now.
pub struct Created {
    pub channel: ChannelRecord,
    /// WhatsApp: the token to enter in Meta's webhook settings.
    pub verify_token: Option<String>,
}

/// Parses a platform's API base URL: http(s), no credentials, and through the SSRF guard (a
/// non-public base, such as a test's fake platform, needs `allow_private_networks`).
pub fn parse_base(
    field: &str,
    value: Option<&str>,
    default: &str,
    state: &AppState,
) -> ApiResult<Url> {
    let value = value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .unwrap_or(default);
    let url = Url::parse(value).map_err(|e| {
        ApiError::invalid(format!("{field}: `{value}` is not an absolute URL ({e})"))
    })?;
    if !matches!(url.scheme(), "http" | "https")
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(ApiError::invalid(format!(
            "{field}: give an http(s) URL without credentials, like {default}"
        )));
    }
    crate::services::webhooks::guard(&state.config)
        .check_url(&url)
        .map_err(|e| {
            ApiError::invalid(format!(
                "{field}: refused: {e}; a platform's API must be at a public address"
            ))
        })?;
    Ok(url)
}

fn base_of(url: &Url) -> String {
    url.as_str().trim_end_matches('/').to_owned()
}

/// Connects a channel to a bot. Telegram's webhook is set now (with a fresh secret token its
/// updates must carry), so a wrong bot token is refused here; WhatsApp's is set on Meta's side
/// with the `webhook_url` and `verify_token` returned.
#[tracing::instrument(skip_all, fields(bot = %bot))]
pub async fn create(
    state: &AppState,
    caller: &Caller,
    bot: &BotId,
    webhook_base: &str,
    new: NewChannel,
) -> ApiResult<Created> {
    caller.require(Scope::Admin)?;
    let account = &caller.account.id;
    state.store.get_bot(account, bot).await?;
    let kind = new.kind();
    if state.store.has_channel(bot, kind.as_str()).await? {
        return Err(ApiError::Conflict(format!(
            "the bot already has a {} channel; delete it first to connect another",
            kind.as_str()
        )));
    }
    let id = ChannelId::generate();
    let webhook_url = format!(
        "{}/channels/{}/{id}",
        webhook_base.trim_end_matches('/'),
        kind.as_str()
    );
    let (settings, credentials, verify_token) = match new {
        NewChannel::Telegram {
            bot_token,
            api_base,
        } => {
            let credentials = telegram::Credentials {
                bot_token,
                secret_token: random_token(48),
            };
            let settings = telegram::Settings {
                api_base: base_of(&api_base),
                webhook_url: webhook_url.clone(),
            };
            let credentials_json =
                serde_json::to_string(&credentials).map_err(ApiError::internal)?;
            let platform = telegram::Telegram::new(&settings.api_base, credentials);
            set_webhook(state, &platform, &webhook_url).await?;
            (json!(settings), credentials_json, None)
        }
        NewChannel::WhatsApp {
            phone_number_id,
            access_token,
            app_secret,
            verify_token,
            graph_base,
            api_version,
        } => {
            let verify_token = verify_token.unwrap_or_else(|| format!("vt_{}", random_token(32)));
            let credentials = whatsapp::Credentials {
                access_token,
                app_secret,
                verify_token: verify_token.clone(),
            };
            let settings = whatsapp::Settings {
                graph_base: base_of(&graph_base),
                api_version,
                phone_number_id,
                webhook_url,
            };
            (
                json!(settings),
                serde_json::to_string(&credentials).map_err(ApiError::internal)?,
                Some(verify_token),
            )
        }
    };
    let channel = state
        .store
        .create_channel(&ChannelRecord {
            id,
            account_id: account.clone(),
            bot_id: bot.clone(),
            kind: kind.as_str().to_owned(),
            settings,
            credentials: state.sealer.seal(&credentials),
            created_at: now(),
        })
        .await?;
    tracing::info!(channel = %channel.id, kind = %channel.kind, "channel connected");
    Ok(Created {
        channel,
        verify_token,
    })
}

/// Points the Telegram bot's updates at `url` (`setWebhook`), refusing the channel when Telegram
/// does not accept it.
async fn set_webhook(state: &AppState, platform: &telegram::Telegram, url: &str) -> ApiResult<()> {
    let request = platform.set_webhook(url);
    let response = crate::channels::outbox::client(state)
        .post(&request.url)
        .json(&request.body)
        .send()
        .await
        .map_err(|e| {
            ApiError::Unavailable(format!(
                "could not reach the Telegram Bot API to set the webhook: {e}"
            ))
        })?;
    let status = response.status();
    let answer: serde_json::Value = response.json().await.unwrap_or_default();
    if status.is_success() && answer["ok"] == true {
        return Ok(());
    }
    let description = answer["description"].as_str().unwrap_or("no description");
    Err(ApiError::invalid(format!(
        "bot_token: Telegram refused setWebhook ({status}: {description}); check the token \
         BotFather gave you"
    )))
}

pub async fn list(
    state: &AppState,
    caller: &Caller,
    bot: &BotId,
    page: PageRequest,
) -> ApiResult<Page<ChannelRecord>> {
    crate::services::conversations::require_read(caller)?;
    Ok(state
        .store
        .list_channels(&caller.account.id, bot, page)
        .await?)
}

pub async fn get(
    state: &AppState,
    caller: &Caller,
    bot: &BotId,
    id: &ChannelId,
) -> ApiResult<ChannelRecord> {
    crate::services::conversations::require_read(caller)?;
    Ok(state.store.get_channel(&caller.account.id, bot, id).await?)
}

/// Disconnects a channel: the platform is asked to stop sending its webhooks (Telegram's
/// `deleteWebhook`; best effort: a platform that cannot be reached does not keep the channel),
/// its inbound webhook answers 404 from now on, and messages still waiting to go out through it
/// are dropped.
pub async fn delete(
    state: &AppState,
    caller: &Caller,
    bot: &BotId,
    id: &ChannelId,
) -> ApiResult<()> {
    caller.require(Scope::Admin)?;
    let channel = state.store.get_channel(&caller.account.id, bot, id).await?;
    let disconnect = channels::adapter(&channel, &state.sealer)
        .ok()
        .and_then(|platform| platform.disconnect());
    if let Some(request) = disconnect {
        let sent = crate::channels::outbox::client(state)
            .post(&request.url)
            .json(&request.body)
            .send()
            .await;
        if let Err(e) = sent.and_then(reqwest::Response::error_for_status) {
            tracing::warn!(channel = %id, error = %e, "could not remove the platform's webhook; deleting the channel anyway");
        }
    }
    Ok(state
        .store
        .delete_channel(&caller.account.id, bot, id)
        .await?)
}

/// A stored channel of `kind` and its adapter, for its inbound webhook.
async fn inbound_channel(
    state: &AppState,
    kind: ChannelKind,
    id: &str,
) -> ApiResult<(ChannelRecord, Box<dyn Platform>)> {
    let id = ChannelId::parse(id).map_err(|_| ApiError::not_found("channel"))?;
    let channel = state.store.channel(&id).await?;
    if channel.kind != kind.as_str() {
        return Err(ApiError::not_found("channel"));
    }
    let platform = channels::adapter(&channel, &state.sealer).map_err(ApiError::internal)?;
    Ok((channel, platform))
}

/// WhatsApp's webhook verification: the challenge back when the mode is `subscribe` and the
/// token is the channel's; 403 otherwise.
pub async fn verify_subscription(
    state: &AppState,
    id: &str,
    mode: Option<&str>,
    token: Option<&str>,
    challenge: Option<&str>,
) -> ApiResult<String> {
    let (channel, _) = inbound_channel(state, ChannelKind::WhatsApp, id).await?;
    let credentials = state
        .sealer
        .unseal(&channel.credentials)
        .map_err(ApiError::internal)?;
    let platform =
        whatsapp::WhatsApp::open(&channel.settings, &credentials).map_err(ApiError::internal)?;
    match (mode, token, challenge) {
        (Some("subscribe"), Some(token), Some(challenge))
            if platform.verify_token_matches(token) =>
        {
            Ok(challenge.to_owned())
        }
        (Some("subscribe"), Some(_), Some(_)) => Err(ApiError::forbidden(
            "hub.verify_token is not this channel's verify token",
        )),
        _ => Err(ApiError::invalid(
            "a verification request has hub.mode=subscribe, hub.verify_token and hub.challenge",
        )),
    }
}

/// One inbound webhook of a channel: checked (a missing or wrong secret or signature is 401 and
/// nothing is read), then each message handed to the chat service once — a platform message
/// already stored is recognised by its platform id and not stored or answered again — and each
/// status applied. An error makes the platform deliver the webhook again, which is safe.
#[tracing::instrument(skip_all, fields(channel = %id))]
pub async fn receive(
    state: &AppState,
    kind: ChannelKind,
    id: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> ApiResult<()> {
    let (channel, platform) = inbound_channel(state, kind, id).await?;
    if !platform.verify(headers, body) {
        return Err(ApiError::Unauthorized(match kind {
            ChannelKind::Telegram => "the X-Telegram-Bot-Api-Secret-Token header is missing or is not this channel's".to_owned(),
            ChannelKind::WhatsApp => "the X-Hub-Signature-256 header is missing or is not the app secret's signature of the body".to_owned(),
        }));
    }
    let inbound = platform.parse(body).map_err(ApiError::invalid)?;
    let account = state.store.get_account(&channel.account_id).await?;
    let caller = Caller::channel(account);
    for item in inbound {
        match item {
            Inbound::Message {
                platform_id,
                user,
                content,
            } => {
                receive_message(state, &caller, &channel, kind, &platform_id, user, content).await?
            }
            Inbound::Acknowledge(request) => {
                // Off the webhook's path: the platform waits for its 200, not for this.
                let client = crate::channels::outbox::client(state);
                tokio::spawn(async move {
                    if let Err(e) = client.post(&request.url).json(&request.body).send().await {
                        tracing::warn!(error = %e, "could not acknowledge a platform callback");
                    }
                });
            }
            Inbound::Status {
                platform_message_id,
                status,
                error,
            } => {
                let updated = state
                    .store
                    .platform_status(&channel.id, &platform_message_id, status, error.as_deref())
                    .await?;
                if let Some(message) = updated {
                    state.live.publish(
                        &message.conversation_id,
                        "message_status",
                        json!({"message_id": message.id, "status": message.status}),
                    );
                }
            }
        }
    }
    Ok(())
}

async fn receive_message(
    state: &AppState,
    caller: &Caller,
    channel: &ChannelRecord,
    kind: ChannelKind,
    platform_id: &str,
    user: PlatformUser,
    content: Content,
) -> ApiResult<()> {
    let account = &caller.account.id;
    let key = format!("channel:{}:{platform_id}", channel.id);
    let lock = state.idempotency.get(&format!("{account}:{key}"));
    let _held = lock.lock_owned().await;
    let claim = match state.store.idempotency_key(account, &key).await? {
        // Stored by an earlier delivery: the chat service finishes it (answers it if the earlier
        // attempt did not get to queue its answer) and stores nothing again.
        Some(KeyState::Pending { message, .. }) => Claim::Resume(message),
        Some(KeyState::Done(_)) => return Ok(()),
        None => Claim::Fresh(KeyedRequest {
            key,
            fingerprint: "channel".to_owned(),
        }),
    };
    let (text, fixed) = match content {
        Content::Text(text) => (text, None),
        Content::Unsupported(what) => (
            format!("[{what}]"),
            Some(channels::unsupported_reply(&what)),
        ),
    };
    let text = ChatText::parse("text", &channels::clip(&text, ChatText::MAX_CHARS))
        .map_err(|e| ApiError::invalid(e.to_string()))?;
    let external_id = channels::external_id(kind, &user.id);
    let conversation = state
        .store
        .open_conversation_of(account, &channel.bot_id, &external_id)
        .await?;
    let input = VisitorMessage {
        bot: channel.bot_id.clone(),
        text,
        contact: conversation.is_none().then(|| ContactInput {
            external_id,
            name: user.name,
            phone: user.phone,
            ..ContactInput::default()
        }),
        conversation,
        channel: kind.as_str().to_owned(),
        variables: None,
        connection: None,
    };
    let done = match fixed {
        None => crate::idempotency::with_claim(claim, chat::send_async(state, caller, input)).await,
        Some(reply) => {
            crate::idempotency::with_claim(claim, chat::send_fixed(state, caller, input, reply))
                .await
        }
    };
    done.map(|_| ())
}

/// Refuses a message a person would send through a channel that cannot carry it now: WhatsApp
/// delivers free-form messages only within 24 hours of the customer's last message.
pub async fn check_staff_message(
    state: &AppState,
    conversation: &ConversationId,
    role: Role,
) -> ApiResult<()> {
    if role == Role::Visitor {
        return Ok(());
    }
    let Some(channel) = state.store.channel_of_conversation(conversation).await? else {
        return Ok(());
    };
    if channel.kind != ChannelKind::WhatsApp.as_str() {
        return Ok(());
    }
    let last = state.store.last_visitor_message_at(conversation).await?;
    let open = last.is_some_and(|at| now() - at < whatsapp::SERVICE_WINDOW);
    if open {
        return Ok(());
    }
    let since = last.map_or_else(
        || "has not written yet".to_owned(),
        |at| format!("last wrote {} hours ago", (now() - at).whole_hours()),
    );
    Err(ApiError::Conflict(format!(
        "WhatsApp's 24-hour customer service window is closed: the customer {since}. WhatsApp \
         delivers free-form messages only within 24 hours of the customer's last message; \
         outside it, reach them with an approved template message (WhatsApp Manager) and \
         answer here once they reply. Nothing was sent or stored."
    )))
}
