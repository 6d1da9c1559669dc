//! Bots.

use axum::{extract::State, http::StatusCode, Json};
use serde::{Deserialize, Serialize};
use sitechat_core::{
    model::{
        Bot, BotSettings, Branding, CrawlSettings, EngineSettings, LocalSettings, OpenAiSettings,
    },
    validate::{self, threshold, BotMessage, BotName, HttpUrl, Language, ValidationError},
    BotId,
};
use sitechat_store::{BotPatch, NewBot};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    auth::Caller,
    error::{ApiResult, ErrorBody},
    extract::{ApiJson, ApiPath, ApiQuery, MaybeJson},
    routes::{double_option, non_empty, List, PageQuery},
    services::bots,
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_bot, list_bots))
        .routes(routes!(get_bot, update_bot, delete_bot))
        .routes(routes!(set_chat_api_token, remove_chat_api_token))
        .routes(routes!(set_identity_secret, remove_identity_secret))
        .routes(routes!(super::widget::embed))
}

/// Settings to change; absent fields keep their value.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsPatch {
    pub greeting: Option<String>,
    pub fallback_message: Option<String>,
    /// In [0, 1]; answers less confident than this get the fallback message.
    pub confidence_threshold: Option<f64>,
    /// Longest extractive reply in characters, 100–4000 (default 600).
    pub answer_max_chars: Option<u32>,
    /// How the website is crawled (replaces the current crawl settings as a whole).
    pub crawl: Option<CrawlSettings>,
    /// Country (ISO 3166 alpha-2, e.g. `FR`) for reading local phone numbers; `""` clears it.
    pub region: Option<String>,
    /// Hand over to a human after this many fallbacks in a row (0 never does).
    pub handoff_after_fallbacks: Option<u32>,
    /// After a fallback, ask visitors who left no contact details for them.
    pub ask_for_contact: Option<bool>,
    /// The words used to ask for contact details.
    pub contact_prompt: Option<String>,
    /// Shown above the widget's contact form: what the visitor's details are used for.
    pub consent_text: Option<String>,
    /// When humans are around (`null` clears them: always).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<sitechat_core::hours::BusinessHours>)]
    pub business_hours: Option<Option<sitechat_core::hours::BusinessHours>>,
    /// Said when a human is asked for outside business hours, before the next opening time.
    pub away_message: Option<String>,
    /// A short description shown by the public widget's bot endpoint; `""` clears it.
    pub description: Option<String>,
    /// Whether the public widget endpoints (no key) answer for this bot.
    pub public_widget: Option<bool>,
    /// Origins allowed to use the public widget endpoints (`https://shop.example`); empty: any.
    pub allowed_origins: Option<Vec<String>>,
    /// The chat widget's look; absent fields keep their value.
    pub branding: Option<BrandingPatch>,
    /// Who words the replies: `{"kind": "extractive"}` (default), `{"kind": "openai",
    /// "base_url", "model", "api_key"?, "timeout_seconds"?, "max_tokens"?}` or `{"kind":
    /// "local", "max_tokens"? (1–1024, default 200), "temperature"? (0–2, default 0)}` (the
    /// server's own small model). The API key is sealed when stored and never shown; leaving it
    /// out keeps the current one for the same base URL.
    pub engine: Option<EnginePatch>,
    /// The embedding model of semantic retrieval: `all-MiniLM-L6-v2` (English) or
    /// `multilingual-e5-small` (other languages, cross-lingual); `null`: chosen from the bot's
    /// language (the default). A change re-embeds the knowledge in the background.
    #[serde(default, deserialize_with = "double_option")]
    pub embedding_model: Option<Option<String>>,
}

/// A bot's engine, as written.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EnginePatch {
    Extractive,
    Openai {
        base_url: String,
        model: String,
        api_key: Option<String>,
        timeout_seconds: Option<u32>,
        max_tokens: Option<u32>,
    },
    /// The server's own small language model.
    Local(LocalPatch),
}

/// The `local` engine, as written; absent fields take their defaults.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocalPatch {
    /// Most tokens in a reply, 1–1024 (default 200).
    pub max_tokens: Option<u32>,
    /// Sampling temperature, 0–2 (default 0: the same question gets the same reply).
    pub temperature: Option<f32>,
}

impl LocalPatch {
    fn apply(self) -> Result<LocalSettings, ValidationError> {
        let defaults = LocalSettings::default();
        let max_tokens = self.max_tokens.unwrap_or(defaults.max_tokens);
        if !(1..=1024).contains(&max_tokens) {
            return Err(ValidationError::new(
                "settings.engine.max_tokens",
                "must be between 1 and 1024",
            ));
        }
        let temperature = self.temperature.unwrap_or(defaults.temperature);
        if !(0.0..=2.0).contains(&temperature) {
            return Err(ValidationError::new(
                "settings.engine.temperature",
                "must be between 0 and 2",
            ));
        }
        Ok(LocalSettings {
            max_tokens,
            temperature,
        })
    }
}

impl EnginePatch {
    fn apply(
        self,
        current: &EngineSettings,
        seal: &dyn Fn(&str) -> String,
    ) -> Result<EngineSettings, ValidationError> {
        let (base_url, model, api_key, timeout_seconds, max_tokens) = match self {
            EnginePatch::Extractive => return Ok(EngineSettings::Extractive),
            EnginePatch::Local(local) => return Ok(EngineSettings::Local(local.apply()?)),
            EnginePatch::Openai {
                base_url,
                model,
                api_key,
                timeout_seconds,
                max_tokens,
            } => (base_url, model, api_key, timeout_seconds, max_tokens),
        };
        let base_url = HttpUrl::parse("settings.engine.base_url", &base_url)?
            .as_str()
            .to_owned();
        let model = model.trim().to_owned();
        if model.is_empty() || model.chars().count() > 200 {
            return Err(ValidationError::new(
                "settings.engine.model",
                "must name the model (1–200 characters), e.g. gpt-4o-mini",
            ));
        }
        let timeout_seconds = timeout_seconds.unwrap_or(20);
        if !(1..=120).contains(&timeout_seconds) {
            return Err(ValidationError::new(
                "settings.engine.timeout_seconds",
                "must be between 1 and 120",
            ));
        }
        let max_tokens = max_tokens.unwrap_or(300);
        if !(16..=4000).contains(&max_tokens) {
            return Err(ValidationError::new(
                "settings.engine.max_tokens",
                "must be between 16 and 4000",
            ));
        }
        let api_key_sealed = match api_key.map(|k| k.trim().to_owned()) {
            Some(k) if k.is_empty() => None,
            Some(k) if k.len() > 500 => {
                return Err(ValidationError::new(
                    "settings.engine.api_key",
                    "must be at most 500 characters long",
                ))
            }
            Some(k) => Some(seal(&k)),
            // The key stays with the endpoint it was given for.
            None => match current {
                EngineSettings::Openai(c) if c.base_url == base_url => c.api_key_sealed.clone(),
                _ => None,
            },
        };
        Ok(EngineSettings::Openai(OpenAiSettings {
            base_url,
            model,
            api_key_sealed,
            timeout_seconds,
            max_tokens,
        }))
    }
}

/// Branding to change; absent fields keep their value.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BrandingPatch {
    pub primary_color: Option<String>,
    pub background_color: Option<String>,
    pub text_color: Option<String>,
    /// `null` or `""` removes the logo.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub logo_url: Option<Option<String>>,
    pub position: Option<String>,
    pub theme: Option<String>,
    /// Shown once a visit beside the launcher (up to 80 characters); `null` or `""` removes it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub launcher_text: Option<Option<String>>,
}

impl BrandingPatch {
    fn apply(self, mut branding: Branding) -> Result<Branding, ValidationError> {
        let trimmed = |v: String| v.trim().to_ascii_lowercase();
        if let Some(v) = self.primary_color {
            branding.primary_color = trimmed(v);
        }
        if let Some(v) = self.background_color {
            branding.background_color = trimmed(v);
        }
        if let Some(v) = self.text_color {
            branding.text_color = trimmed(v);
        }
        if let Some(v) = self.logo_url {
            branding.logo_url = v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        }
        if let Some(v) = self.position {
            branding.position = trimmed(v);
        }
        if let Some(v) = self.theme {
            branding.theme = trimmed(v);
        }
        if let Some(v) = self.launcher_text {
            branding.launcher_text = v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        }
        branding.validate()?;
        Ok(branding)
    }
}

/// Checks crawl settings: glob patterns that compile, sensible limits.
fn crawl_settings(crawl: CrawlSettings) -> Result<CrawlSettings, ValidationError> {
    let config = sitechat_crawl::CrawlConfig {
        include: crawl.include.clone(),
        exclude: crawl.exclude.clone(),
        ..Default::default()
    };
    if let Err(e) = sitechat_crawl::Crawler::new(config) {
        return Err(ValidationError::new("settings.crawl", e.to_string()));
    }
    if crawl.max_pages == Some(0) {
        return Err(ValidationError::new(
            "settings.crawl.max_pages",
            "must be at least 1",
        ));
    }
    if let Some(hours) = crawl.recrawl_hours {
        if !(1..=8760).contains(&hours) {
            return Err(ValidationError::new(
                "settings.crawl.recrawl_hours",
                format!("must be between 1 and 8760 hours (got {hours})"),
            ));
        }
    }
    Ok(crawl)
}

impl SettingsPatch {
    fn apply(
        self,
        mut settings: BotSettings,
        seal: &dyn Fn(&str) -> String,
    ) -> Result<BotSettings, ValidationError> {
        if let Some(engine) = self.engine {
            settings.engine = engine.apply(&settings.engine, seal)?;
        }
        if let Some(g) = self.greeting {
            settings.greeting = BotMessage::parse("settings.greeting", &g)?.into_inner();
        }
        if let Some(f) = self.fallback_message {
            settings.fallback_message =
                BotMessage::parse("settings.fallback_message", &f)?.into_inner();
        }
        if let Some(t) = self.confidence_threshold {
            settings.confidence_threshold = threshold("settings.confidence_threshold", t)?;
        }
        if let Some(model) = self.embedding_model {
            settings.embedding_model = model
                .map(|m| {
                    sitechat_core::model::EMBEDDING_MODELS
                        .into_iter()
                        .find(|e| e.eq_ignore_ascii_case(m.trim()))
                        .map(str::to_owned)
                        .ok_or_else(|| {
                            ValidationError::new(
                                "settings.embedding_model",
                                format!(
                                    "`{m}` is not a model sitechat has: use {} or null (chosen from the language)",
                                    sitechat_core::model::EMBEDDING_MODELS.join(" or ")
                                ),
                            )
                        })
                })
                .transpose()?;
        }
        if let Some(n) = self.answer_max_chars {
            let range = BotSettings::ANSWER_MAX_CHARS_RANGE;
            if !range.contains(&n) {
                return Err(ValidationError::new(
                    "settings.answer_max_chars",
                    format!(
                        "must be {} to {} characters, not {n}",
                        range.start(),
                        range.end()
                    ),
                ));
            }
            settings.answer_max_chars = n;
        }
        if let Some(crawl) = self.crawl {
            settings.crawl = crawl_settings(crawl)?;
        }
        if let Some(region) = self.region {
            let region = region.trim().to_ascii_uppercase();
            if region.is_empty() {
                settings.region = None;
            } else if region.len() == 2 && region.bytes().all(|b| b.is_ascii_uppercase()) {
                settings.region = Some(region);
            } else {
                return Err(ValidationError::new(
                    "settings.region",
                    format!("`{region}` is not a two-letter country code such as FR, US or MY"),
                ));
            }
        }
        if let Some(n) = self.handoff_after_fallbacks {
            if n > 20 {
                return Err(ValidationError::new(
                    "settings.handoff_after_fallbacks",
                    "must be 0 (never) to 20",
                ));
            }
            settings.handoff_after_fallbacks = n;
        }
        if let Some(ask) = self.ask_for_contact {
            settings.ask_for_contact = ask;
        }
        if let Some(hours) = self.business_hours {
            if let Some(h) = &hours {
                h.validate()?;
            }
            settings.business_hours = hours;
        }
        if let Some(away) = self.away_message {
            settings.away_message = BotMessage::parse("settings.away_message", &away)?.into_inner();
        }
        if let Some(consent) = self.consent_text {
            settings.consent_text =
                BotMessage::parse("settings.consent_text", &consent)?.into_inner();
        }
        if let Some(prompt) = self.contact_prompt {
            settings.contact_prompt =
                BotMessage::parse("settings.contact_prompt", &prompt)?.into_inner();
        }
        if let Some(description) = self.description {
            let description = description.trim().to_owned();
            if description.chars().count() > 500 {
                return Err(ValidationError::new(
                    "settings.description",
                    "must be at most 500 characters long",
                ));
            }
            settings.description = Some(description).filter(|d| !d.is_empty());
        }
        if let Some(public) = self.public_widget {
            settings.public_widget = public;
        }
        if let Some(origins) = self.allowed_origins {
            if origins.len() > 50 {
                return Err(ValidationError::new(
                    "settings.allowed_origins",
                    "at most 50 origins",
                ));
            }
            let mut parsed = Vec::with_capacity(origins.len());
            for (i, o) in origins.iter().enumerate() {
                let origin = validate::origin(&format!("settings.allowed_origins[{i}]"), o)?;
                if !parsed.contains(&origin) {
                    parsed.push(origin);
                }
            }
            settings.allowed_origins = parsed;
        }
        if let Some(branding) = self.branding {
            settings.branding = branding.apply(settings.branding)?;
        }
        Ok(settings)
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBot {
    pub name: String,
    /// The website the bot is about (crawling it comes with training).
    pub website_url: Option<String>,
    /// Language of the content and replies (default `en`). The texts the bot says by default
    /// (greeting, fallback message, contact prompt, away message…) are in this language when it
    /// is one of en, fr, es, de, ms, id, and in English otherwise.
    pub language: Option<String>,
    pub industry: Option<String>,
    pub settings: Option<SettingsPatch>,
}

impl CreateBot {
    fn parse(self, seal: &dyn Fn(&str) -> String) -> Result<NewBot, ValidationError> {
        let language = Language::parse("language", self.language.as_deref().unwrap_or("en"))?;
        Ok(NewBot {
            name: BotName::parse("name", &self.name)?.into_inner(),
            website_url: non_empty(self.website_url)
                .map(|u| HttpUrl::parse("website_url", &u).map(|u| u.as_str().to_owned()))
                .transpose()?,
            industry: non_empty(self.industry)
                .map(|i| BotName::parse("industry", &i).map(BotName::into_inner))
                .transpose()?,
            settings: self
                .settings
                .unwrap_or_default()
                .apply(BotSettings::for_language(language.as_str()), seal)?,
            language: language.as_str().to_owned(),
        })
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateBot {
    pub name: Option<String>,
    /// A URL, or `null` to clear it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub website_url: Option<Option<String>>,
    /// A new language: the texts still at their default (greeting, fallback message, contact
    /// prompt, away message) switch to the new language's; texts you wrote are kept.
    pub language: Option<String>,
    /// A text, or `null` to clear it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub industry: Option<Option<String>>,
    pub settings: Option<SettingsPatch>,
}

impl UpdateBot {
    fn parse(
        self,
        current: &Bot,
        seal: &dyn Fn(&str) -> String,
    ) -> Result<BotPatch, ValidationError> {
        let language = self
            .language
            .map(|l| Language::parse("language", &l).map(|l| l.as_str().to_owned()))
            .transpose()?;
        // A new language: the texts still at a default become the new language's, then the
        // texts given here apply.
        let settings = match (&language, self.settings) {
            (None, None) => None,
            (language, patch) => {
                let mut base = current.settings.clone();
                if let Some(language) = language {
                    base.switch_language(language);
                }
                Some(patch.unwrap_or_default().apply(base, seal)?)
            }
        };
        Ok(BotPatch {
            name: self
                .name
                .map(|n| BotName::parse("name", &n).map(BotName::into_inner))
                .transpose()?,
            website_url: self
                .website_url
                .map(|u| {
                    non_empty(u)
                        .map(|u| HttpUrl::parse("website_url", &u).map(|u| u.as_str().to_owned()))
                        .transpose()
                })
                .transpose()?,
            language,
            industry: self
                .industry
                .map(|i| {
                    non_empty(i)
                        .map(|i| BotName::parse("industry", &i).map(BotName::into_inner))
                        .transpose()
                })
                .transpose()?,
            settings,
        })
    }
}

/// Creates a bot. Refused with 409 when the plan's bot allowance is used up.
#[utoipa::path(post, path = "/v1/bots", tag = "bots", request_body = CreateBot,
    responses((status = 201, body = Bot), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn create_bot(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateBot>,
) -> ApiResult<(StatusCode, Json<Bot>)> {
    let seal = |k: &str| state.sealer.seal(k);
    let bot = bots::create(&state, &caller, body.parse(&seal)?).await?;
    Ok((StatusCode::CREATED, Json(bot)))
}

/// Lists the account's bots, oldest first.
#[utoipa::path(get, path = "/v1/bots", tag = "bots", params(PageQuery),
    responses((status = 200, body = List<Bot>), (status = 400, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn list_bots(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<List<Bot>>> {
    let page = bots::list(&state, &caller, page.parse()?).await?;
    Ok(Json(List::from_page(page, |b| b)))
}

/// One bot of the account; another account's bot is not found.
#[utoipa::path(get, path = "/v1/bots/{id}", tag = "bots",
    params(("id" = String, Path, description = "Bot id (`bot_…`)")),
    responses((status = 200, body = Bot), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn get_bot(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Bot>> {
    let id = BotId::parse(&id)?;
    Ok(Json(bots::get_shown(&state, &caller, &id).await?))
}

/// Changes a bot's name, website, language, industry or settings. Changing the language
/// re-analyses its knowledge and switches the texts still at their default to the new language.
#[utoipa::path(patch, path = "/v1/bots/{id}", tag = "bots", request_body = UpdateBot,
    params(("id" = String, Path, description = "Bot id (`bot_…`)")),
    responses((status = 200, body = Bot), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn update_bot(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateBot>,
) -> ApiResult<Json<Bot>> {
    let id = BotId::parse(&id)?;
    let current = bots::get(&state, &caller, &id).await?;
    let seal = |k: &str| state.sealer.seal(k);
    let patch = body.parse(&current, &seal)?;
    Ok(Json(bots::update(&state, &caller, &id, patch).await?))
}

/// Deletes a bot with all its knowledge and conversations.
#[utoipa::path(delete, path = "/v1/bots/{id}", tag = "bots",
    params(("id" = String, Path, description = "Bot id (`bot_…`)")),
    responses((status = 204), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn delete_bot(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let id = BotId::parse(&id)?;
    bots::delete(&state, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatApiTokenBody {
    /// The token to use (16–128 URL-safe characters), e.g. the one your clients already call
    /// another service with; absent: sitechat makes one.
    pub token: Option<String>,
}

/// Sets or rotates the bot's Chat API channel token (`/compat/aimylogic/chatapi/{token}`). The
/// token is stored hashed and shown in this response only; the previous one stops working.
#[utoipa::path(post, path = "/v1/bots/{id}/chat-api-token", tag = "bots", request_body = ChatApiTokenBody,
    params(("id" = String, Path, description = "Bot id (`bot_…`)")),
    responses((status = 201, body = Bot, description = "the bot, with `chat_api_token` shown once"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn set_chat_api_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    MaybeJson(body): MaybeJson<ChatApiTokenBody>,
) -> ApiResult<(StatusCode, Json<Bot>)> {
    let id = BotId::parse(&id)?;
    let chosen = body
        .and_then(|b| b.token)
        .map(|t| bots::ChatApiToken::parse("token", &t))
        .transpose()?;
    Ok((
        StatusCode::CREATED,
        Json(bots::set_chat_api_token(&state, &caller, &id, chosen).await?),
    ))
}

/// Turns the bot's Chat API channel off: its token stops working.
#[utoipa::path(delete, path = "/v1/bots/{id}/chat-api-token", tag = "bots",
    params(("id" = String, Path, description = "Bot id (`bot_…`)")),
    responses((status = 204), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn remove_chat_api_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let id = BotId::parse(&id)?;
    bots::remove_chat_api_token(&state, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct IdentitySecret {
    /// Shown once. The host page's server signs a signed-in visitor's id with it: `user_hash`
    /// is the lowercase hex HMAC-SHA256 of `user_id` under this key.
    pub identity_secret: String,
}

/// Makes a new key that verifies the identity of the bot's widget visitors; the previous one
/// stops verifying. A visitor whose page passes `user_id` and its `user_hash` keeps one
/// conversation across devices; a wrong hash is refused.
#[utoipa::path(post, path = "/v1/bots/{id}/identity-secret", tag = "bots",
    params(("id" = String, Path, description = "Bot id (`bot_…`)")),
    responses((status = 201, body = IdentitySecret), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn set_identity_secret(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<(StatusCode, Json<IdentitySecret>)> {
    let id = BotId::parse(&id)?;
    Ok((
        StatusCode::CREATED,
        Json(IdentitySecret {
            identity_secret: bots::set_identity_secret(&state, &caller, &id).await?,
        }),
    ))
}

/// Stops verifying visitors' identities: the bot's widget visitors are anonymous again.
#[utoipa::path(delete, path = "/v1/bots/{id}/identity-secret", tag = "bots",
    params(("id" = String, Path, description = "Bot id (`bot_…`)")),
    responses((status = 204), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn remove_identity_secret(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let id = BotId::parse(&id)?;
    bots::remove_identity_secret(&state, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
