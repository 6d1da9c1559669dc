//! Domain records as the native API shows them.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::{
    AccountId, BotId, ChunkId, ContactId, ConversationId, KeyId, MessageId, Plan, Scope, SourceId,
    UserId,
};

/// A tenant.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Account {
    pub id: AccountId,
    pub name: String,
    pub plan: Plan,
    /// The operator account may create other accounts.
    pub is_operator: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// What a person may do in their account.
///
/// - `owner`: everything, including the account's other owners.
/// - `admin`: everything but changing or removing an owner.
/// - `agent`: answer conversations (the inbox) and read the rest; no bots, knowledge, keys,
///   webhooks or users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UserRole {
    Owner,
    Admin,
    Agent,
}

impl UserRole {
    pub const ALL: [UserRole; 3] = [UserRole::Owner, UserRole::Admin, UserRole::Agent];

    pub fn as_str(self) -> &'static str {
        match self {
            UserRole::Owner => "owner",
            UserRole::Admin => "admin",
            UserRole::Agent => "agent",
        }
    }

    pub fn parse(value: &str) -> Option<UserRole> {
        Self::ALL.into_iter().find(|r| r.as_str() == value)
    }

    /// The API scopes a signed-in person of this role holds: the same checks as for a key.
    pub fn scopes(self) -> Vec<Scope> {
        match self {
            UserRole::Owner | UserRole::Admin => vec![Scope::Admin],
            UserRole::Agent => vec![Scope::Chat, Scope::Read],
        }
    }

    /// Whether this role may manage people and keys.
    pub fn manages(self) -> bool {
        matches!(self, UserRole::Owner | UserRole::Admin)
    }
}

/// A person of an account who signs in with email and password.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct User {
    pub id: UserId,
    pub account_id: AccountId,
    pub email: String,
    pub name: String,
    pub role: UserRole,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// An API key as listed: never the secret, only its visible prefix.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiKey {
    pub id: KeyId,
    pub account_id: AccountId,
    pub name: String,
    /// The first characters of the secret, enough to recognise it (`sk_ab12cd34…`).
    pub prefix: String,
    pub scopes: Vec<Scope>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
}

/// How a bot behaves when it answers.
///
/// The texts (`greeting`, `fallback_message`, `contact_prompt`, `away_message`, `consent_text`)
/// default to the
/// bot's language (en, fr, es, de, ms or id; English otherwise); a new language replaces those
/// still at a default and keeps those the owner wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BotSettings {
    /// The first message a visitor sees.
    pub greeting: String,
    /// What the bot says when its knowledge does not answer the question well enough.
    pub fallback_message: String,
    /// Answers whose confidence is below this are replaced by the fallback message.
    pub confidence_threshold: f64,
    /// Longest extractive reply, in characters (a list or code sample that answers is kept whole
    /// even when longer).
    #[serde(default = "default_answer_max_chars")]
    pub answer_max_chars: u32,
    /// How the bot's website is crawled.
    #[serde(default)]
    pub crawl: CrawlSettings,
    /// Country (ISO 3166 alpha-2, e.g. `FR`) for reading local phone numbers in messages.
    #[serde(default)]
    pub region: Option<String>,
    /// Hand the conversation to a human after this many fallbacks in a row; 0 never does.
    #[serde(default = "default_handoff_after_fallbacks")]
    pub handoff_after_fallbacks: u32,
    /// After a fallback, ask visitors who left no email or phone for one.
    #[serde(default = "default_true")]
    pub ask_for_contact: bool,
    /// The words used to ask for contact details.
    #[serde(default = "default_contact_prompt")]
    pub contact_prompt: String,
    /// Shown above the widget's contact form: what the visitor's details are used for (your
    /// privacy wording).
    #[serde(default = "default_consent_text")]
    pub consent_text: String,
    /// When humans are around to take over; unset: always.
    #[serde(default)]
    pub business_hours: Option<crate::hours::BusinessHours>,
    /// What the bot says when a human is asked for outside business hours (the next opening
    /// time follows it).
    #[serde(default = "default_away_message")]
    pub away_message: String,
    /// A short description of the bot, shown by the public widget's bot endpoint.
    #[serde(default)]
    pub description: Option<String>,
    /// Whether the public widget endpoints (no key: AskIA's `/widget/chat`, `/bots/{id}`)
    /// answer for this bot.
    #[serde(default)]
    pub public_widget: bool,
    /// Web origins (`https://shop.example`) allowed to use the public widget endpoints; empty:
    /// any origin.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// How the chat widget looks.
    #[serde(default)]
    pub branding: Branding,
    /// Who writes the reply from the retrieved passages.
    #[serde(default)]
    pub engine: EngineSettings,
    /// The key that verifies the identity of the public widget's visitors (`user_hash` is the
    /// HMAC-SHA256 of `user_id` under it), sealed with the server's secret key and never shown
    /// in clear; `null`: visitors are anonymous. Set with `POST /v1/bots/{id}/identity-secret`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_secret_sealed: Option<String>,
    /// The sentence-embedding model of the bot's semantic retrieval (one of
    /// [`EMBEDDING_MODELS`]); unset: chosen from the bot's language
    /// ([`BotSettings::embedding_model_for`]). Changing it re-embeds the bot's knowledge in the
    /// background; the bot answers with the vectors it has meanwhile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedding_model: Option<String>,
}

/// The sentence-embedding models a bot can use: all-MiniLM-L6-v2 (English) and
/// multilingual-e5-small (about 100 languages, cross-lingual).
pub const EMBEDDING_MODELS: [&str; 2] = ["all-MiniLM-L6-v2", "multilingual-e5-small"];

/// The answer engine of a bot. Retrieval, sources and confidence are the same for every engine;
/// the engine only words the reply.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EngineSettings {
    /// Sentences of the bot's own passages, never a word of its own (the default).
    #[default]
    Extractive,
    /// Any OpenAI-compatible chat-completions endpoint, given only the retrieved passages and
    /// the recent turns; when it fails, the extractive answer is sent instead.
    Openai(OpenAiSettings),
    /// A small language model run by the server itself on its CPU (SmolLM2-135M-Instruct
    /// unless the operator configured another GGUF file), given only the retrieved passages and
    /// the recent turns; when it is missing or fails, the extractive answer is sent instead. The
    /// model file is a server setting (`local_model`), never a bot's.
    Local(LocalSettings),
}

/// An OpenAI-compatible endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OpenAiSettings {
    /// The API's base URL, e.g. `https://api.openai.com/v1` or `http://127.0.0.1:11434/v1`.
    pub base_url: String,
    pub model: String,
    /// The API key, sealed with the server's secret key (never shown in clear); `null`: none.
    #[serde(default)]
    pub api_key_sealed: Option<String>,
    /// Seconds to wait for the first token and between tokens.
    #[serde(default = "default_engine_timeout")]
    pub timeout_seconds: u32,
    /// Most tokens in a reply.
    #[serde(default = "default_engine_max_tokens")]
    pub max_tokens: u32,
}

/// The server's own small language model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LocalSettings {
    /// Most tokens in a reply (1–1024).
    #[serde(default = "default_local_max_tokens")]
    pub max_tokens: u32,
    /// Sampling temperature (0–2); 0 always picks the likeliest word, so the same question
    /// gets the same reply.
    #[serde(default)]
    pub temperature: f32,
}

impl Default for LocalSettings {
    fn default() -> Self {
        Self {
            max_tokens: default_local_max_tokens(),
            temperature: 0.0,
        }
    }
}

fn default_local_max_tokens() -> u32 {
    200
}

fn default_engine_timeout() -> u32 {
    20
}

fn default_engine_max_tokens() -> u32 {
    300
}

/// The chat widget's look.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Branding {
    /// `#rrggbb`.
    pub primary_color: String,
    pub background_color: String,
    pub text_color: String,
    pub logo_url: Option<String>,
    /// `bottom-right`, `bottom-left`, `top-right` or `top-left`.
    pub position: String,
    /// `light`, `dark` or `auto`.
    pub theme: String,
    /// Shown once a visit in a small bubble beside the launcher (up to 80 characters); `null`:
    /// none.
    #[serde(default)]
    pub launcher_text: Option<String>,
}

impl Branding {
    pub const POSITIONS: [&'static str; 4] =
        ["bottom-right", "bottom-left", "top-right", "top-left"];
    pub const THEMES: [&'static str; 3] = ["light", "dark", "auto"];

    /// Checks colours, position, theme and logo URL, naming the field at fault.
    pub fn validate(&self) -> Result<(), crate::validate::ValidationError> {
        use crate::validate::ValidationError;
        for (field, value) in [
            ("settings.branding.primary_color", &self.primary_color),
            ("settings.branding.background_color", &self.background_color),
            ("settings.branding.text_color", &self.text_color),
        ] {
            let hex = value.strip_prefix('#').unwrap_or("");
            if !(hex.len() == 6 || hex.len() == 3) || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(ValidationError::new(
                    field,
                    format!("`{value}` is not a colour such as #6366f1"),
                ));
            }
        }
        if !Self::POSITIONS.contains(&self.position.as_str()) {
            return Err(ValidationError::new(
                "settings.branding.position",
                format!(
                    "must be one of {} (got `{}`)",
                    Self::POSITIONS.join(", "),
                    self.position
                ),
            ));
        }
        if !Self::THEMES.contains(&self.theme.as_str()) {
            return Err(ValidationError::new(
                "settings.branding.theme",
                format!(
                    "must be one of {} (got `{}`)",
                    Self::THEMES.join(", "),
                    self.theme
                ),
            ));
        }
        if let Some(logo) = &self.logo_url {
            crate::validate::HttpUrl::parse("settings.branding.logo_url", logo)?;
        }
        if let Some(text) = &self.launcher_text {
            let chars = text.chars().count();
            if chars > 80 || text.trim().is_empty() {
                return Err(ValidationError::new(
                    "settings.branding.launcher_text",
                    format!("must be 1 to 80 characters (got {chars})"),
                ));
            }
        }
        Ok(())
    }
}

impl Default for Branding {
    fn default() -> Self {
        Self {
            primary_color: "#6366f1".to_owned(),
            background_color: "#ffffff".to_owned(),
            text_color: "#1f2937".to_owned(),
            logo_url: None,
            position: "bottom-right".to_owned(),
            theme: "light".to_owned(),
            launcher_text: None,
        }
    }
}

fn default_away_message() -> String {
    crate::texts::defaults("en").away_message.to_owned()
}

fn default_handoff_after_fallbacks() -> u32 {
    3
}

fn default_answer_max_chars() -> u32 {
    BotSettings::DEFAULT_ANSWER_MAX_CHARS
}

fn default_true() -> bool {
    true
}

fn default_consent_text() -> String {
    crate::texts::defaults("en").consent.to_owned()
}

fn default_contact_prompt() -> String {
    crate::texts::defaults("en").contact_prompt.to_owned()
}

/// Per-bot crawl settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CrawlSettings {
    /// Only URL paths matching one of these globs are crawled (e.g. `/help/**`); empty: all.
    pub include: Vec<String>,
    /// URL paths matching one of these globs are skipped (e.g. `/blog/**`).
    pub exclude: Vec<String>,
    /// Most pages to index (the server's limit applies when larger or unset).
    pub max_pages: Option<usize>,
    /// Re-crawl the website every this many hours; unset: only when asked.
    pub recrawl_hours: Option<u32>,
}

impl BotSettings {
    pub const DEFAULT_THRESHOLD: f64 = 0.45;
    pub const DEFAULT_ANSWER_MAX_CHARS: u32 = 600;
    /// The range `answer_max_chars` may be set in.
    pub const ANSWER_MAX_CHARS_RANGE: std::ops::RangeInclusive<u32> = 100..=4000;

    /// The embedding model a bot speaking `language` uses: the one its settings name, else
    /// all-MiniLM-L6-v2 for English and multilingual-e5-small for any other language.
    pub fn embedding_model_for(&self, language: &str) -> &'static str {
        let named = self
            .embedding_model
            .as_deref()
            .and_then(|m| EMBEDDING_MODELS.iter().find(|e| e.eq_ignore_ascii_case(m)));
        match named {
            Some(model) => model,
            None if language.eq_ignore_ascii_case("en") => EMBEDDING_MODELS[0],
            None => EMBEDDING_MODELS[1],
        }
    }

    /// The default settings of a bot speaking `language`: its texts in that language
    /// ([`crate::texts::defaults`]).
    pub fn for_language(language: &str) -> Self {
        let mut settings = Self::default();
        settings.switch_language(language);
        settings
    }

    /// The texts the bot says that are still a default (of any language: the owner did not
    /// write them) become the defaults of `language`; texts the owner wrote are kept.
    pub fn switch_language(&mut self, language: &str) {
        let to = crate::texts::defaults(language);
        let fields: [(&mut String, crate::texts::Text); 5] = [
            (&mut self.greeting, |t| t.greeting),
            (&mut self.fallback_message, |t| t.fallback_message),
            (&mut self.contact_prompt, |t| t.contact_prompt),
            (&mut self.away_message, |t| t.away_message),
            (&mut self.consent_text, |t| t.consent),
        ];
        for (text, default) in fields {
            let is_default = crate::texts::LANGUAGES
                .iter()
                .any(|l| text.as_str() == default(crate::texts::defaults(l)));
            if is_default {
                default(to).clone_into(text);
            }
        }
    }
}

impl Default for BotSettings {
    /// English texts; see [`BotSettings::for_language`].
    fn default() -> Self {
        let texts = crate::texts::defaults("en");
        Self {
            greeting: texts.greeting.to_owned(),
            fallback_message: texts.fallback_message.to_owned(),
            confidence_threshold: Self::DEFAULT_THRESHOLD,
            answer_max_chars: Self::DEFAULT_ANSWER_MAX_CHARS,
            crawl: CrawlSettings::default(),
            region: None,
            handoff_after_fallbacks: default_handoff_after_fallbacks(),
            ask_for_contact: true,
            contact_prompt: default_contact_prompt(),
            consent_text: default_consent_text(),
            business_hours: None,
            away_message: default_away_message(),
            description: None,
            public_widget: false,
            allowed_origins: Vec::new(),
            branding: Branding::default(),
            engine: EngineSettings::default(),
            identity_secret_sealed: None,
            embedding_model: None,
        }
    }
}

/// How far a bot's knowledge is embedded with its model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct EmbeddingProgress {
    /// The bot's passages.
    pub passages: u64,
    /// Passages with a vector of the bot's `embedding_model`.
    pub embedded: u64,
}

/// An assistant trained on one website.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Bot {
    pub id: BotId,
    /// The bot's number, for APIs that address a website by an integer (Asyntai's `website_id`).
    pub website_id: i64,
    /// The key ChatAIBot-style clients address the bot by (`bot_key`); not a credential.
    pub bot_key: String,
    /// The Chat API channel token (Aimylogic's `/chatapi/{token}`): a credential, stored hashed,
    /// so shown only in the response that creates it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat_api_token: Option<String>,
    /// The first characters of the Chat API token, enough to recognise it; `null` when the
    /// channel is off.
    pub chat_api_token_prefix: Option<String>,
    pub name: String,
    pub website_url: Option<String>,
    /// Language code of the bot's content and replies.
    pub language: String,
    pub industry: Option<String>,
    pub settings: BotSettings,
    /// The embedding model the bot's knowledge is embedded with: `settings.embedding_model`, or
    /// the one its language chooses.
    pub embedding_model: String,
    /// How much of the knowledge `embedding_model` has embedded (shown by `GET /v1/bots/{id}`):
    /// after a change of model, the bot answers with the old vectors until the new ones cover
    /// as many passages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embedding: Option<EmbeddingProgress>,
    /// State of the latest training job, if any.
    pub training_status: Option<JobState>,
    pub last_job_id: Option<crate::JobId>,
    /// When the latest successful training finished.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_trained_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// The kind of a knowledge entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    Text,
    Url,
    Website,
    Spreadsheet,
    File,
    /// Curated answers: question and answer pairs, one per chunk (heading = the question,
    /// text = the answer). A visitor question that matches a curated question closely enough
    /// gets the curated answer verbatim.
    Qa,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Text => "text",
            SourceKind::Url => "url",
            SourceKind::Website => "website",
            SourceKind::Spreadsheet => "spreadsheet",
            SourceKind::File => "file",
            SourceKind::Qa => "qa",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [
            Self::Text,
            Self::Url,
            Self::Website,
            Self::Spreadsheet,
            Self::File,
            Self::Qa,
        ]
        .into_iter()
        .find(|k| k.as_str() == value)
    }
}

/// One knowledge entry.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Source {
    pub id: SourceId,
    pub bot_id: BotId,
    pub kind: SourceKind,
    pub title: String,
    pub url: Option<String>,
    /// Characters of text the source holds.
    pub characters: i64,
    pub chunks: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A passage of a source, the unit of retrieval.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    pub id: ChunkId,
    pub bot_id: BotId,
    pub source_id: SourceId,
    /// Position of the chunk in its source, from 0.
    pub ordinal: i64,
    /// The source's (or page's) title.
    pub title: String,
    /// The headings above the passage, outermost first, joined by " › ".
    pub heading: String,
    /// Fragment identifier of the nearest heading, if any.
    pub anchor: Option<String>,
    pub url: Option<String>,
    pub text: String,
    /// A curated answer (its source is of kind [`SourceKind::Qa`]): `heading` is the question and
    /// `text` the answer, returned verbatim when a visitor asks the question.
    pub curated: bool,
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Visitor,
    Bot,
    Agent,
    System,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Visitor => "visitor",
            Role::Bot => "bot",
            Role::Agent => "agent",
            Role::System => "system",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "visitor" => Some(Role::Visitor),
            "bot" => Some(Role::Bot),
            "agent" => Some(Role::Agent),
            "system" => Some(Role::System),
            _ => None,
        }
    }
}

/// What kind of answer a bot message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Composed from the bot's knowledge, with sources.
    Answered,
    /// A curated answer returned verbatim.
    Curated,
    /// Nothing good enough to answer from: the fallback message.
    Fallback,
    /// A greeting, thanks or goodbye.
    Smalltalk,
    /// The visitor asked for a human.
    Handoff,
}

impl Outcome {
    pub const ALL: [Outcome; 5] = [
        Outcome::Answered,
        Outcome::Curated,
        Outcome::Fallback,
        Outcome::Smalltalk,
        Outcome::Handoff,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Answered => "answered",
            Outcome::Curated => "curated",
            Outcome::Fallback => "fallback",
            Outcome::Smalltalk => "smalltalk",
            Outcome::Handoff => "handoff",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == value)
    }
}

/// Where part of an answer came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SourceRef {
    pub source_id: SourceId,
    pub chunk_id: ChunkId,
    pub title: String,
    /// The page, with the anchor of the nearest heading when there is one.
    pub url: Option<String>,
    /// The passage text the answer was taken from, shortened.
    pub snippet: String,
}

/// Who owns a conversation: the handoff state machine
/// `bot → waiting_for_agent → agent → bot | ended` (an agent may also take over straight from
/// the bot, and a waiting conversation may be released back to the bot).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConversationStatus {
    /// The bot answers.
    Bot,
    /// A human was asked for; the bot is silent until an agent takes over or releases it.
    WaitingForAgent,
    /// A human agent owns the conversation; the bot is silent.
    Agent,
    Ended,
}

/// Something that moves a conversation through the handoff state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandoffAction {
    /// Ask for a human.
    Escalate,
    /// An agent takes the conversation.
    Takeover,
    /// Back to the bot.
    Release,
    End,
}

impl ConversationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationStatus::Bot => "bot",
            ConversationStatus::WaitingForAgent => "waiting_for_agent",
            ConversationStatus::Agent => "agent",
            ConversationStatus::Ended => "ended",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::Bot, Self::WaitingForAgent, Self::Agent, Self::Ended]
            .into_iter()
            .find(|s| s.as_str() == value)
    }

    /// The state an action leads to, or why it is not allowed from here.
    pub fn next(self, action: HandoffAction) -> Result<ConversationStatus, String> {
        use ConversationStatus::*;
        use HandoffAction::*;
        match (self, action) {
            (Ended, _) => Err("the conversation has ended".to_owned()),
            (Bot, Escalate) => Ok(WaitingForAgent),
            (WaitingForAgent, Escalate) => Err(
                "a human was already asked for; the conversation is waiting for an agent"
                    .to_owned(),
            ),
            (Agent, Escalate) => Err("an agent already owns the conversation".to_owned()),
            (Bot | WaitingForAgent, Takeover) => Ok(Agent),
            (Agent, Takeover) => {
                Err("an agent already owns the conversation; release it first".to_owned())
            }
            (WaitingForAgent | Agent, Release) => Ok(Bot),
            (Bot, Release) => Err("the bot already owns the conversation".to_owned()),
            (_, End) => Ok(Ended),
        }
    }

    /// Whether the bot answers visitor messages in this state.
    pub fn bot_answers(self) -> bool {
        self == ConversationStatus::Bot
    }
}

/// Why a conversation was handed to a human.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HandoffReason {
    /// The visitor asked for a person.
    VisitorAsked,
    /// The bot could not answer several times in a row.
    LowConfidence,
    /// An API call (an agent or an integration).
    Api,
}

impl HandoffReason {
    pub fn as_str(self) -> &'static str {
        match self {
            HandoffReason::VisitorAsked => "visitor_asked",
            HandoffReason::LowConfidence => "low_confidence",
            HandoffReason::Api => "api",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::VisitorAsked, Self::LowConfidence, Self::Api]
            .into_iter()
            .find(|s| s.as_str() == value)
    }
}

/// A visitor, identified by the client's own key, unique per bot.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Contact {
    pub id: ContactId,
    pub bot_id: BotId,
    pub external_id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    /// E.164.
    pub phone: Option<String>,
    /// Variables by scope: `{"system": {…}, "contact": {…}}`.
    #[schema(value_type = Object)]
    pub variables: serde_json::Value,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// One thread between a visitor and a bot.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Conversation {
    pub id: ConversationId,
    pub bot_id: BotId,
    pub contact_id: Option<ContactId>,
    /// The visitor's own key for themselves, when the client gave one.
    pub external_id: Option<String>,
    /// `api`, `widget`, `whatsapp`, …
    pub channel: String,
    pub status: ConversationStatus,
    /// The agent who owns the conversation, while one does.
    pub assignee: Option<String>,
    pub handoff_reason: Option<HandoffReason>,
    /// Conversation-scoped variables.
    #[schema(value_type = Object)]
    pub variables: serde_json::Value,
    /// The visitor's 1–5 rating of the conversation.
    pub rating: Option<i64>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub ended_at: Option<OffsetDateTime>,
}

/// Delivery status of a bot or agent message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MessageStatus {
    Sent,
    Delivered,
    Read,
    NotSent,
}

impl MessageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Sent => "SENT",
            MessageStatus::Delivered => "DELIVERED",
            MessageStatus::Read => "READ",
            MessageStatus::NotSent => "NOT_SENT",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::Sent, Self::Delivered, Self::Read, Self::NotSent]
            .into_iter()
            .find(|s| s.as_str() == value)
    }
}

/// A quick-reply button offered with a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Button {
    pub title: String,
    /// What is sent back when the button is pressed (the title when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
}

/// A visitor's judgement of a bot message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Thumb {
    Up,
    Down,
}

/// One message of a conversation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Message {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    pub role: Role,
    pub text: String,
    /// For agent messages: the agent's name.
    pub author: Option<String>,
    /// For bot messages: how sure the bot is that the text answers the question, in [0, 1].
    pub confidence: Option<f64>,
    /// For bot messages: what kind of answer this is.
    pub outcome: Option<Outcome>,
    pub sources: Vec<SourceRef>,
    pub buttons: Vec<Button>,
    /// For bot and agent messages: SENT, DELIVERED, READ or NOT_SENT.
    pub status: Option<MessageStatus>,
    pub feedback: Option<Thumb>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// Contact details captured in a conversation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Lead {
    pub id: crate::LeadId,
    pub bot_id: BotId,
    pub contact_id: Option<ContactId>,
    pub conversation_id: Option<ConversationId>,
    pub external_id: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// An entry of the append-only event log.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Event {
    pub id: crate::EventId,
    /// `conversation.started`, `message.received`, `lead.captured`, …
    #[serde(rename = "type")]
    pub kind: String,
    pub bot_id: Option<BotId>,
    pub conversation_id: Option<ConversationId>,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// Every event type sitechat records.
pub const EVENT_TYPES: &[&str] = &[
    "conversation.started",
    "conversation.ended",
    "message.received",
    "message.sent",
    "message.not_sent",
    "lead.captured",
    "escalation.requested",
    "takeover.started",
    "takeover.ended",
    "feedback.received",
    "training.succeeded",
    "training.failed",
    "webhook.disabled",
];

/// A job's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [
            Self::Queued,
            Self::Running,
            Self::Succeeded,
            Self::Failed,
            Self::Cancelled,
        ]
        .into_iter()
        .find(|s| s.as_str() == value)
    }

    pub fn is_finished(self) -> bool {
        matches!(
            self,
            JobState::Succeeded | JobState::Failed | JobState::Cancelled
        )
    }
}

/// What a training job was asked to do.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct TrainParams {
    /// The URL to crawl (the bot's website at the time the job was created).
    pub url: String,
    /// Re-fetch and re-index every page even when unchanged.
    pub force_retrain: bool,
    /// Follow links to pages not indexed before (false: only refresh known pages).
    pub include_new_pages: bool,
}

/// Counters of a training job.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct JobProgress {
    pub pages_discovered: u64,
    pub pages_fetched: u64,
    pub pages_indexed: u64,
    pub pages_unchanged: u64,
    pub pages_skipped: u64,
    pub pages_removed: u64,
    pub chunks_created: u64,
    /// Passages embedded for semantic retrieval (the last phase; the bot answers on keywords
    /// meanwhile).
    pub chunks_embedded: u64,
    /// Passages whose sentences were embedded, after the passages themselves: a question then
    /// weighs the sentences of its passages by meaning without embedding them.
    pub sentences_embedded: u64,
    /// Why the crawl stopped early, if it did (`max_pages`, `max_total_time`).
    pub stopped_by: Option<String>,
    /// The phases so far, in order, each with when it started and (once over) ended: the last
    /// one without an end is the one running. The job's view derives its rates and estimated
    /// completion from them.
    pub phases: Vec<PhaseTiming>,
    /// The embedding model the job embeds with (whose measured rate estimates the embedding
    /// still to come).
    pub embedding_model: Option<String>,
}

/// What a training job is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TrainingPhase {
    /// Finding, fetching and indexing pages; the bot answers on keywords as pages are indexed.
    Crawl,
    /// Embedding the new passages, for retrieval by meaning.
    EmbedPassages,
    /// Embedding those passages' sentences, for choosing an answer's sentences by meaning.
    EmbedSentences,
}

/// When one phase of a training job ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PhaseTiming {
    pub phase: TrainingPhase,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub started_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished_at: Option<OffsetDateTime>,
}

impl JobProgress {
    /// Ends the running phase (if any) and starts `phase` at `at`.
    pub fn enter(&mut self, phase: TrainingPhase, at: OffsetDateTime) {
        self.finish_phase(at);
        self.phases.push(PhaseTiming {
            phase,
            started_at: at,
            finished_at: None,
        });
    }

    /// Ends the running phase, if any.
    pub fn finish_phase(&mut self, at: OffsetDateTime) {
        if let Some(last) = self.phases.last_mut().filter(|p| p.finished_at.is_none()) {
            last.finished_at = Some(at);
        }
    }

    /// The phase running now.
    pub fn phase(&self) -> Option<TrainingPhase> {
        self.phases
            .last()
            .filter(|p| p.finished_at.is_none())
            .map(|p| p.phase)
    }

    /// Seconds spent in `phase` so far (until `now` for the running one).
    pub fn seconds_in(&self, phase: TrainingPhase, now: OffsetDateTime) -> f64 {
        self.phases
            .iter()
            .filter(|p| p.phase == phase)
            .map(|p| (p.finished_at.unwrap_or(now) - p.started_at).as_seconds_f64())
            .sum()
    }
}

/// A page a job did not index, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SkippedPage {
    pub url: String,
    /// Stable reason code: `robots_disallowed`, `http_status`, `duplicate_content`, …
    pub reason: String,
    pub message: String,
}

/// A durable background job.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Job {
    pub id: crate::JobId,
    pub bot_id: BotId,
    /// `train` (crawl and index the bot's website) or `reply` (answer a message sent with
    /// `"async": true`).
    pub kind: String,
    pub state: JobState,
    /// What the job was asked to do: a [`TrainParams`] for trainings.
    #[schema(value_type = Object)]
    pub params: serde_json::Value,
    #[serde(flatten)]
    pub progress: JobProgress,
    pub error: Option<String>,
    pub attempts: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub started_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::texts::{defaults, LANGUAGES};

    #[test]
    fn a_bot_made_in_a_language_says_everything_in_it() {
        for language in LANGUAGES {
            let settings = BotSettings::for_language(language);
            let texts = defaults(language);
            assert_eq!(settings.greeting, texts.greeting);
            assert_eq!(settings.fallback_message, texts.fallback_message);
            assert_eq!(settings.contact_prompt, texts.contact_prompt);
            assert_eq!(settings.consent_text, texts.consent);
            assert_eq!(settings.away_message, texts.away_message);
        }
        assert_eq!(BotSettings::for_language("en"), BotSettings::default());
    }

    #[test]
    fn a_new_language_replaces_the_defaults_and_keeps_what_the_owner_wrote() {
        let mut settings = BotSettings::for_language("fr");
        settings.fallback_message = "Je ne sais pas, écrivez-nous.".to_owned();
        settings.switch_language("de-DE");
        assert_eq!(settings.fallback_message, "Je ne sais pas, écrivez-nous.");
        assert_eq!(settings.greeting, defaults("de").greeting);
        assert_eq!(settings.contact_prompt, defaults("de").contact_prompt);
        assert_eq!(settings.consent_text, defaults("de").consent);
        assert_eq!(settings.away_message, defaults("de").away_message);
        // A bot whose language had no texts of its own yet (English defaults) gets them too.
        let mut settings = BotSettings::default();
        settings.switch_language("id");
        assert_eq!(settings, BotSettings::for_language("id"));
    }
}
