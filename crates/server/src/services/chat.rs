//! The path of one visitor message: quota → persist the visitor's message (starting the
//! conversation and its contact if needed) → if a human owns the conversation, stop → contact
//! details become a lead → greetings, thanks, goodbyes and requests for a human are answered
//! without retrieval → a message that only gives contact details is acknowledged → otherwise
//! the answer engine, given the message without its contact details → persist the reply → hand
//! over to a human after repeated fallbacks → publish to live listeners.
//!
//! The visitor's message is committed before the answer is composed, so a failure while answering
//! never loses what the visitor said; the reply is stored only if the bot still owns the
//! conversation at that moment, so the bot never speaks over an agent. A visitor message gets at
//! most one reply: whoever answers it second (a retry, a rerun reply job) gets the first answer.
//!
//! A request with an `Idempotency-Key` records the key with the visitor message, in the same
//! transaction; its retry after a crash finishes that message instead of storing it again (see
//! [`crate::idempotency`]).

use serde_json::json;
use sitechat_answer::{leads, Generator, Responder, Response, Semantic, Turn, Wording};
use sitechat_core::{
    model::{
        Bot, Conversation, ConversationStatus, EngineSettings, HandoffAction, JobState, Lead,
        LocalSettings, Message, OpenAiSettings, Outcome, Role, SourceRef,
    },
    now,
    validate::ChatText,
    AccountId, BotId, ConversationId, Scope,
};
use sitechat_store::{
    BotReply, ClaimedJob, ContactInput, NewConversation, NewMessage, Page, PageRequest,
    StartConversation,
};

use crate::{
    auth::Caller,
    error::{ApiError, ApiResult},
    idempotency::Claim,
    services::{blocking, embeddings},
    state::AppState,
};

/// A visitor's message as the services take it.
pub struct VisitorMessage {
    pub bot: BotId,
    pub text: ChatText,
    pub conversation: Option<ConversationId>,
    /// Who the visitor is, when the client says.
    pub contact: Option<ContactInput>,
    pub channel: String,
    /// Conversation-scoped variables for a new conversation.
    pub variables: Option<serde_json::Value>,
    /// The client connection (browser page, app session) the message comes from, if the client
    /// names one.
    pub connection: Option<String>,
}

/// What happened to a visitor's message.
pub struct Reply {
    /// The conversation as it is after the message (and any handoff).
    pub conversation: Conversation,
    pub visitor_message: Message,
    /// The bot's reply; `None` when a human owns the conversation.
    pub message: Option<Message>,
    pub outcome: Option<Outcome>,
    pub confidence: Option<f64>,
    /// What the confidence was fitted from, when the reply was composed now from the bot's
    /// passages (not for intents, curated answers or a reply stored by an earlier attempt).
    pub signals: Option<sitechat_answer::Signals>,
    pub sources: Vec<SourceRef>,
    /// A lead created from this message.
    pub lead: Option<Lead>,
    /// Whether the message started the conversation.
    pub started: bool,
}

pub(crate) fn this_month() -> String {
    let d = now().date();
    format!("{:04}-{:02}", d.year(), u8::from(d.month()))
}

/// The passages a bot would answer a question from, best first (what its chat retrieves).
pub async fn search(
    state: &AppState,
    caller: &Caller,
    bot: &BotId,
    query: ChatText,
    k: usize,
) -> ApiResult<Vec<sitechat_search::Hit>> {
    caller
        .require(Scope::Read)
        .or_else(|_| caller.require(Scope::Chat))?;
    let bot = state.store.get_bot(&caller.account.id, bot).await?;
    let semantics = embeddings::Semantics::of(state, &bot).await?;
    let engine = state.engine.clone();
    blocking(move || {
        semantics.with(query.as_str(), |dense| {
            Ok(engine.retrieve(&bot.id, &bot.language, query.as_str(), dense, k)?)
        })
    })
    .await
}

/// A message from a visitor whom the client knows by its own key (`external_id`): it continues
/// the visitor's open conversation with the bot, or starts one (and the contact with it).
pub async fn client_message(
    state: &AppState,
    caller: &Caller,
    bot: &BotId,
    external_id: &str,
    text: ChatText,
    channel: &str,
) -> ApiResult<VisitorMessage> {
    let conversation = state
        .store
        .open_conversation_of(&caller.account.id, bot, external_id)
        .await?;
    Ok(VisitorMessage {
        bot: bot.clone(),
        text,
        contact: conversation.is_none().then(|| ContactInput {
            external_id: external_id.to_owned(),
            ..ContactInput::default()
        }),
        conversation,
        channel: channel.to_owned(),
        variables: None,
        connection: None,
    })
}

/// Handles one visitor message and returns what the bot did with it.
#[tracing::instrument(skip_all, fields(bot = %input.bot))]
pub async fn send(state: &AppState, caller: &Caller, input: VisitorMessage) -> ApiResult<Reply> {
    let accepted = accept(state, caller, input).await?;
    respond(state, &caller.account.id, accepted, None).await
}

/// What stands for the bot's reply in a client that needs a text where the bot stays silent
/// because a person owns `conversation`: the bot's own words for waiting for an agent, or that
/// an agent is answering (see [`Responder::human_notice`]).
pub fn human_notice(bot: &Bot, conversation: &Conversation) -> String {
    Responder::new(&bot.language, &bot.settings).human_notice(conversation.status, now())
}

/// Stores a visitor message and returns at once; the bot's reply is composed by a durable `reply`
/// job and arrives as a `message.sent` event (and on the conversation's live stream).
pub async fn send_async(
    state: &AppState,
    caller: &Caller,
    input: VisitorMessage,
) -> ApiResult<Reply> {
    let accepted = accept(state, caller, input).await?;
    let answered = accepted.resumed
        && state
            .store
            .reply_to(&caller.account.id, &accepted.reply.visitor_message.id)
            .await?
            .is_some();
    if accepted.reply.conversation.status.bot_answers() && !answered {
        state
            .store
            .mark_asynchronous(&caller.account.id, &accepted.reply.visitor_message.id)
            .await?;
        // A resumed request may enqueue a second job for the message: the message still gets
        // one reply.
        let params = json!({"conversation_id": accepted.reply.conversation.id, "message_id": accepted.reply.visitor_message.id});
        state
            .store
            .enqueue_job(&caller.account.id, &accepted.bot.id, "reply", &params)
            .await?;
        state.jobs_wake.notify_one();
    }
    Ok(accepted.reply)
}

/// Stores a visitor message that the bot does not run through its answering, and replies with
/// `reply` as it is (a messaging channel's polite refusal of a picture it cannot read). As with
/// any message, the reply is stored once, and only while the bot owns the conversation.
pub async fn send_fixed(
    state: &AppState,
    caller: &Caller,
    input: VisitorMessage,
    reply: String,
) -> ApiResult<Reply> {
    let accepted = accept(state, caller, input).await?;
    let mut reply_out = accepted.reply;
    let stored = state
        .store
        .append_bot_message(
            &caller.account.id,
            &reply_out.conversation.id,
            &reply_out.visitor_message.id,
            NewMessage {
                outcome: Some(Outcome::Smalltalk),
                confidence: Some(1.0),
                ..NewMessage::text(Role::Bot, reply)
            },
        )
        .await?;
    let message = match stored {
        BotReply::Stored(stored) => stored.message,
        BotReply::Existing(message) => message,
        BotReply::Silent => return Ok(reply_out),
    };
    state
        .live
        .publish(&reply_out.conversation.id, "message", json!(message));
    reply_out.outcome = message.outcome;
    reply_out.confidence = message.confidence;
    reply_out.message = Some(message);
    Ok(reply_out)
}

/// A visitor message that is stored and waits for the bot's answer.
pub struct Accepted {
    bot: Bot,
    /// The message read for contact details and what it asks beside them.
    split: leads::Split,
    reply: Reply,
    /// Stored by an earlier attempt, which may have answered it already.
    resumed: bool,
}

/// Checks, counts and stores a visitor message (with any contact details it carries). In a
/// request with an `Idempotency-Key`, the key is stored with the message; when an earlier attempt
/// with the key stored the message already, that message is taken up again instead.
async fn accept(state: &AppState, caller: &Caller, input: VisitorMessage) -> ApiResult<Accepted> {
    caller.require(Scope::Chat)?;
    let account = &caller.account.id;
    let bot = state.store.get_bot(account, &input.bot).await?;
    let keyed = match crate::idempotency::take_claim() {
        Some(Claim::Resume(message)) => return resume(state, account, bot, &input, &message).await,
        Some(Claim::Fresh(keyed)) => Some(keyed),
        None => None,
    };
    if let Some(id) = &input.conversation {
        // Unknown, foreign or ended conversations are refused before anything is counted or written.
        let conversation = state.store.get_conversation(account, id).await?;
        if conversation.bot_id != bot.id {
            return Err(ApiError::not_found("conversation"));
        }
        if conversation.status == ConversationStatus::Ended {
            return Err(ApiError::Conflict(
                "this conversation has ended; start a new one by leaving out conversation_id"
                    .to_owned(),
            ));
        }
    }
    consume_message_quota(state, caller).await?;

    let target = match input.conversation {
        Some(id) => StartConversation::Existing(id),
        None => StartConversation::New(NewConversation {
            contact: input.contact,
            channel: input.channel,
            variables: input.variables,
        }),
    };
    let (conversation, visitor_message, started) = state
        .store
        .record_visitor_message(
            account,
            &bot.id,
            target,
            input.text.into_inner(),
            input.connection.as_deref(),
            keyed.as_ref(),
        )
        .await?;
    state
        .live
        .publish(&conversation.id, "message", json!(visitor_message));

    accepted(
        state,
        account,
        bot,
        conversation,
        visitor_message,
        started,
        false,
    )
    .await
}

/// A stored visitor message, ready to answer. Contact details are captured whoever owns the
/// conversation (for a resumed message: the lead its first attempt did not get to record).
async fn accepted(
    state: &AppState,
    account: &AccountId,
    bot: Bot,
    conversation: Conversation,
    visitor_message: Message,
    started: bool,
    resumed: bool,
) -> ApiResult<Accepted> {
    let split = read_contact_details(&bot, &visitor_message.text);
    let lead = state
        .store
        .capture_lead(
            account,
            &conversation.id,
            split.found.emails.first().map(String::as_str),
            split.found.phones.first().map(String::as_str),
        )
        .await?;
    let reply = Reply {
        conversation,
        visitor_message,
        message: None,
        outcome: None,
        confidence: None,
        signals: None,
        sources: Vec::new(),
        lead,
        started,
    };
    Ok(Accepted {
        bot,
        split,
        reply,
        resumed,
    })
}

/// The contact details a visitor message gives, and what it asks beside them.
fn read_contact_details(bot: &Bot, text: &str) -> leads::Split {
    leads::split(text, bot.settings.region.as_deref().unwrap_or(""))
}

/// Takes up a visitor message that an earlier attempt of the same request stored: nothing is
/// counted or stored again (a lead that attempt did not get to record is recorded now).
async fn resume(
    state: &AppState,
    account: &AccountId,
    bot: Bot,
    input: &VisitorMessage,
    message: &sitechat_core::MessageId,
) -> ApiResult<Accepted> {
    let visitor_message = state.store.get_message(account, message).await?;
    let conversation = state
        .store
        .get_conversation(account, &visitor_message.conversation_id)
        .await?;
    if conversation.bot_id != bot.id || visitor_message.role != Role::Visitor {
        return Err(ApiError::InvalidRequest {
            message: "this Idempotency-Key was already used with a different request; use a new key for a new request".to_owned(),
            details: None,
            status: axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        });
    }
    tracing::info!(conversation = %conversation.id, message = %visitor_message.id, "a retried request finishes its stored message");
    let started = input.conversation.is_none();
    accepted(
        state,
        account,
        bot,
        conversation,
        visitor_message,
        started,
        true,
    )
    .await
}

/// What a streamed reply sends, in order: text deltas, then the whole reply (or an error).
pub enum StreamEvent {
    /// The next piece of the reply's text.
    Delta(String),
    /// Forget the pieces sent so far: the engine failed midway and the reply is sent again.
    Reset,
    /// The reply, stored: what a non-streamed request returns.
    Done(Box<Reply>),
    /// Answering failed after the message was stored.
    Failed(ApiError),
}

/// Handles one visitor message like [`send`], streaming the reply: the message is checked and
/// stored before this returns (so bad input is an ordinary error), and the reply's text then
/// arrives on the channel piece by piece, followed by the whole reply.
pub async fn send_streaming(
    state: &AppState,
    caller: &Caller,
    input: VisitorMessage,
) -> ApiResult<tokio::sync::mpsc::Receiver<StreamEvent>> {
    let accepted = accept(state, caller, input).await?;
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    let (state, account) = (state.clone(), caller.account.id.clone());
    tokio::spawn(async move {
        let event = match respond(&state, &account, accepted, Some(&tx)).await {
            Ok(reply) => StreamEvent::Done(Box::new(reply)),
            Err(e) => StreamEvent::Failed(e),
        };
        // The client may have gone: the reply is stored either way.
        let _ = tx.send(event).await;
    });
    Ok(rx)
}

/// How long a prompt may be, in characters (passages are cut to fit).
const MAX_PROMPT_CHARS: usize = 12_000;

/// How many of the retrieved passages a language model is given.
const ENGINE_PASSAGES: usize = 5;

/// The `local` engine's smaller prompt: its model has a small context and reads the prompt on
/// the server's CPU (SmolLM2-135M: a few hundred tokens a second), so it gets fewer passages
/// and fewer characters.
const LOCAL_PASSAGES: usize = 3;
const LOCAL_PROMPT_CHARS: usize = 3_000;
/// The most prompt tokens the `local` engine runs; a prompt over it is rebuilt smaller.
const LOCAL_PROMPT_TOKENS: usize = 1_500;
/// How long a `local` reply waits for the model lane before the extractive answer is sent.
const LOCAL_QUEUE_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// What a language model words the reply from: the question, the passages retrieval found and
/// the conversation's recent turns.
struct GroundedPrompt {
    question: String,
    passages: Vec<sitechat_llm::Passage>,
    history: Vec<sitechat_llm::Turn>,
    language: String,
    bot_name: String,
}

impl GroundedPrompt {
    /// The best `passages` hits and the turns before the visitor's message.
    async fn gather(
        state: &AppState,
        bot: &Bot,
        reply: &Reply,
        question: &str,
        hits: &[sitechat_search::Hit],
        passages: usize,
    ) -> Result<Self, String> {
        let passages: Vec<sitechat_llm::Passage> = hits
            .iter()
            .take(passages)
            .map(|h| sitechat_llm::Passage {
                title: if h.heading.is_empty() {
                    h.title.clone()
                } else {
                    format!("{} › {}", h.title, h.heading)
                },
                url: h.url.clone(),
                text: h.text.clone(),
            })
            .collect();
        // The turns before this message (the prompt keeps the last six).
        let earlier = state
            .store
            .recent_messages(&reply.conversation.id, 8)
            .await
            .map_err(|e| e.to_string())?;
        let history: Vec<sitechat_llm::Turn> = earlier
            .iter()
            .filter(|m| m.id != reply.visitor_message.id)
            .filter_map(|m| {
                let role = match m.role {
                    Role::Visitor => sitechat_llm::Role::Visitor,
                    Role::Bot | Role::Agent => sitechat_llm::Role::Assistant,
                    Role::System => return None,
                };
                Some(sitechat_llm::Turn {
                    role,
                    text: m.text.clone(),
                })
            })
            .collect();
        Ok(Self {
            question: question.to_owned(),
            passages,
            history,
            language: bot.language.clone(),
            bot_name: bot.name.clone(),
        })
    }

    /// The chat messages, at most `max_chars` characters in all.
    fn messages(&self, max_chars: usize) -> Vec<sitechat_llm::ChatMessage> {
        sitechat_llm::build_messages(
            &sitechat_llm::PromptInput {
                question: &self.question,
                passages: &self.passages,
                history: &self.history,
                language: &self.language,
                bot_name: &self.bot_name,
            },
            max_chars,
        )
    }
}

/// The bot's language-model engine (`openai` or `local`), as the responder's [`Generator`]:
/// given the conversation's recent turns, streaming to the visitor when the visitor streams.
struct EngineGenerator<'a> {
    state: &'a AppState,
    bot: &'a Bot,
    reply: &'a Reply,
    deltas: Option<&'a tokio::sync::mpsc::Sender<StreamEvent>>,
}

impl EngineGenerator<'_> {
    fn name(&self) -> &'static str {
        match self.bot.settings.engine {
            EngineSettings::Local(_) => "local",
            EngineSettings::Openai(_) => "openai",
            EngineSettings::Extractive => "extractive",
        }
    }
}

impl Generator for EngineGenerator<'_> {
    #[allow(clippy::manual_async_fn)] // the trait's future is `Send`, which `async fn` cannot say
    fn word(
        &self,
        question: &str,
        passages: &[sitechat_search::Hit],
    ) -> impl std::future::Future<Output = Result<Option<String>, String>> + Send {
        async move {
            let count = match self.bot.settings.engine {
                EngineSettings::Local(_) => LOCAL_PASSAGES,
                _ => ENGINE_PASSAGES,
            };
            let prompt =
                GroundedPrompt::gather(self.state, self.bot, self.reply, question, passages, count)
                    .await?;
            match &self.bot.settings.engine {
                EngineSettings::Openai(settings) => {
                    engine_reply(self.state, settings, prompt, self.deltas).await
                }
                EngineSettings::Local(settings) => {
                    local_reply(self.state, settings, prompt, self.deltas).await
                }
                EngineSettings::Extractive => Err("no language model".to_owned()),
            }
        }
    }
}

/// Words the reply with the bot's OpenAI-compatible engine, from the passages retrieval found
/// and the recent turns, streaming its tokens when the visitor streams. `Ok(None)`: the model
/// found no answer in the passages. An error: the caller sends the extractive answer.
async fn engine_reply(
    state: &AppState,
    settings: &OpenAiSettings,
    prompt: GroundedPrompt,
    deltas: Option<&tokio::sync::mpsc::Sender<StreamEvent>>,
) -> Result<Option<String>, String> {
    let messages = prompt.messages(MAX_PROMPT_CHARS);
    let base_url = url::Url::parse(&settings.base_url).map_err(|e| e.to_string())?;
    let mut config = sitechat_llm::OpenAiConfig::new(base_url.clone(), settings.model.clone());
    config.timeout = std::time::Duration::from_secs(u64::from(settings.timeout_seconds.max(1)));
    config.max_tokens = settings.max_tokens;
    if let Some(sealed) = &settings.api_key_sealed {
        config.api_key = Some(state.sealer.unseal(sealed)?.into());
    }
    // The endpoint is fetched on the bot owner's behalf: through the SSRF guard (the URL here,
    // the addresses its name resolves to in the client).
    let guard = crate::services::webhooks::guard(&state.config);
    guard.check_url(&base_url).map_err(|e| e.to_string())?;
    let client = guard.client(&sitechat_crawl::FetchConfig {
        user_agent: "sitechat-engine".to_owned(),
        timeout: config.timeout * sitechat_llm::STREAM_TIMEOUT_FACTOR,
        connect_timeout: config.timeout.min(std::time::Duration::from_secs(5)),
        max_redirects: 0,
        ..sitechat_crawl::FetchConfig::default()
    });
    let llm = sitechat_llm::OpenAiEngine::new(config, client);
    let text = match deltas {
        None => {
            llm.complete(&messages)
                .await
                .map_err(|e| e.to_string())?
                .text
        }
        Some(tx) => {
            use futures_util::StreamExt;
            let stream = llm.stream(&messages).await.map_err(|e| e.to_string())?;
            let mut stream = std::pin::pin!(stream);
            let mut text = String::new();
            while let Some(delta) = stream.next().await {
                let delta = delta.map_err(|e| e.to_string())?;
                text.push_str(&delta);
                let _ = tx.send(StreamEvent::Delta(delta)).await;
            }
            text
        }
    };
    if sitechat_llm::declined(&text) {
        return Ok(None);
    }
    Ok(Some(text.trim().to_owned()))
}

/// Words the reply with the server's own model (the `local` engine), like [`engine_reply`]:
/// one generation at a time in the process (the model lane), on a blocking thread, its pieces
/// streamed as they come when the visitor streams. `Ok(None)`: the model found no answer in
/// the passages. An error (no model, a model that does not load, a failed generation, a lane
/// busy for too long): the caller sends the extractive answer.
async fn local_reply(
    state: &AppState,
    settings: &LocalSettings,
    prompt: GroundedPrompt,
    deltas: Option<&tokio::sync::mpsc::Sender<StreamEvent>>,
) -> Result<Option<String>, String> {
    // Before queueing: a missing model is known at once.
    if let crate::models::ModelState::Missing(e) = state.models.generation_state() {
        return Err(e);
    }
    let lane = tokio::time::timeout(LOCAL_QUEUE_WAIT, crate::models::generation_lane().acquire())
        .await
        .map_err(|_| "the local model was busy for too long".to_owned())?
        .map_err(|e| e.to_string())?;
    let models = state.models.clone();
    let params = sitechat_local::GenParams {
        max_tokens: settings.max_tokens,
        temperature: f64::from(settings.temperature),
        seed: rand::random(),
        stop: Vec::new(),
        max_prompt_tokens: LOCAL_PROMPT_TOKENS,
        ..sitechat_local::GenParams::default()
    };
    let tx = deltas.cloned();
    let generation = tokio::task::spawn_blocking(move || {
        let _lane = lane;
        let model = models.generator()?;
        let tokenizer = model.tokenizer();
        // Fit the prompt in the token budget: a language with many tokens per character gets
        // a shorter prompt rather than one that loses its beginning.
        let mut chars = LOCAL_PROMPT_CHARS;
        let mut messages = prompt.messages(chars);
        for _ in 0..3 {
            let tokens = tokenizer
                .chat_prompt(&messages)
                .map_err(|e| e.to_string())?
                .len();
            if tokens <= LOCAL_PROMPT_TOKENS {
                break;
            }
            chars = chars * LOCAL_PROMPT_TOKENS * 9 / (tokens * 10);
            messages = prompt.messages(chars);
        }
        let mut client_gone = false;
        // The reply is the text trimmed: whitespace before the first word is dropped, and
        // whitespace is held back until a word follows it.
        let (mut started, mut pending) = (false, String::new());
        model
            .generate(&messages, &params, &mut |piece| {
                let Some(tx) = tx.as_ref().filter(|_| !client_gone) else {
                    return std::ops::ControlFlow::Continue(());
                };
                pending.push_str(if started { piece } else { piece.trim_start() });
                let words = pending.trim_end().len();
                if words > 0 {
                    started = true;
                    let rest = pending.split_off(words);
                    let send = std::mem::replace(&mut pending, rest);
                    // A visitor who left still gets the whole reply stored.
                    client_gone = tx.blocking_send(StreamEvent::Delta(send)).is_err();
                }
                std::ops::ControlFlow::Continue(())
            })
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())??;
    tracing::debug!(
        prompt_tokens = generation.prompt_tokens,
        generated_tokens = generation.generated_tokens,
        prompt_ms = (generation.prompt_seconds * 1000.0) as u64,
        generation_ms = (generation.generation_seconds * 1000.0) as u64,
        "local reply generated"
    );
    if sitechat_llm::declined(&generation.text) {
        return Ok(None);
    }
    Ok(Some(generation.text.trim().to_owned()))
}

/// The pieces a reply's text is streamed in: words with the space that follows them, so that
/// the pieces joined are the text.
fn pieces(text: &str) -> impl Iterator<Item = &str> {
    text.split_inclusive(char::is_whitespace)
}

async fn respond(
    state: &AppState,
    account: &AccountId,
    accepted: Accepted,
    deltas: Option<&tokio::sync::mpsc::Sender<StreamEvent>>,
) -> ApiResult<Reply> {
    let Accepted {
        bot,
        split,
        mut reply,
        resumed,
    } = accepted;
    if resumed {
        if let Some(answer) = state
            .store
            .reply_to(account, &reply.visitor_message.id)
            .await?
        {
            return Ok(answered(reply, answer, deltas).await);
        }
    }
    if !reply.conversation.status.bot_answers() {
        return Ok(reply);
    }

    // Whether the engine streamed the text already, and whether what it streamed is to be
    // replaced (it failed midway).
    let mut streamed = false;
    let mut streamed_reset = false;
    // What the visitor asks, without the contact details they gave (the whole message when
    // they gave none): a detail and a question get both a lead and an answer.
    let responder = Responder::new(&bot.language, &bot.settings);
    let only_contact = split.only_contact();
    let mut turn = Turn {
        text: split.rest,
        only_contact,
        previous: None,
        has_contact: false,
        at: now(),
    };
    let response = match responder.intent(&turn) {
        Some(response) => response,
        None => {
            let semantics = embeddings::Semantics::of(state, &bot).await?;
            turn.previous = state
                .store
                .previous_visitor_text(&reply.visitor_message.id)
                .await?;
            let engine = state.engine.clone();
            let (bot_id, language, settings, asking) = (
                bot.id.clone(),
                bot.language.clone(),
                bot.settings.clone(),
                turn.clone(),
            );
            let mut asked = blocking(move || {
                Ok(Responder::new(&language, &settings)
                    .answer(&engine, &bot_id, &asking, &semantics)?)
            })
            .await?;
            if bot.settings.engine != EngineSettings::Extractive {
                // A language model words the answer (retrieval keeps its sources and confidence).
                let generator = EngineGenerator {
                    state,
                    bot: &bot,
                    reply: &reply,
                    deltas,
                };
                match responder.word(&mut asked, &generator).await {
                    Wording::NotAsked => {}
                    Wording::Worded => streamed = deltas.is_some(),
                    Wording::Declined => {
                        // The model found no answer in the passages: its streamed refusal is
                        // replaced by the fallback.
                        streamed = deltas.is_some();
                        streamed_reset = true;
                    }
                    Wording::Failed(e) => {
                        tracing::warn!(bot = %bot.id, engine = generator.name(), error = %e, "the language model engine failed; the extractive answer is sent");
                        streamed = deltas.is_some();
                        streamed_reset = true;
                    }
                }
            }
            // Only a reply that may ask for contact details needs to know whether they are there.
            if responder.asks_for_contact(&asked.answer) {
                turn.has_contact = has_contact_details(state, account, &reply.conversation).await?;
            }
            responder.reply(asked.answer, &turn)
        }
    };
    let Response {
        text,
        outcome,
        confidence,
        sources,
        buttons,
        signals,
    } = response;
    let stored = state
        .store
        .append_bot_message(
            account,
            &reply.conversation.id,
            &reply.visitor_message.id,
            NewMessage {
                role: Role::Bot,
                text,
                author: None,
                confidence: Some(confidence),
                outcome: Some(outcome),
                sources: sources.clone(),
                buttons,
            },
        )
        .await?;
    let stored = match stored {
        BotReply::Stored(stored) => stored,
        BotReply::Existing(answer) => {
            // Another attempt answered the message meanwhile: its answer stands.
            if streamed {
                if let Some(tx) = deltas {
                    let _ = tx.send(StreamEvent::Reset).await;
                }
            }
            return Ok(answered(reply, answer, deltas).await);
        }
        BotReply::Silent => {
            // An agent took over while the answer was being composed: the bot stays silent.
            reply.conversation = state
                .store
                .get_conversation(account, &reply.conversation.id)
                .await?;
            return Ok(reply);
        }
    };
    if let Some(tx) = deltas.filter(|_| !streamed || streamed_reset) {
        if streamed_reset {
            let _ = tx.send(StreamEvent::Reset).await;
        }
        for piece in pieces(&stored.message.text) {
            if tx.send(StreamEvent::Delta(piece.to_owned())).await.is_err() {
                break;
            }
        }
    }
    state.metrics.answer(outcome);
    state
        .live
        .publish(&reply.conversation.id, "message", json!(stored.message));
    tracing::info!(conversation = %reply.conversation.id, outcome = outcome.as_str(), confidence, "answered");

    let handoff = responder.handoff(outcome, stored.fallback_streak);
    if let Some(reason) = handoff {
        match state
            .store
            .transition(
                account,
                &reply.conversation.id,
                HandoffAction::Escalate,
                None,
                Some(reason),
            )
            .await
        {
            Ok(conversation) => {
                state.live.publish(
                    &conversation.id,
                    "status",
                    json!({"status": conversation.status, "handoff_reason": reason}),
                );
                reply.conversation = conversation;
            }
            // Someone else moved it meanwhile (an agent took over): that is fine.
            Err(sitechat_store::StoreError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    reply.message = Some(stored.message);
    reply.outcome = Some(outcome);
    reply.confidence = Some(confidence);
    reply.signals = signals;
    reply.sources = sources;
    Ok(reply)
}

/// The reply an earlier attempt stored for the message, as this attempt's (its text streamed in
/// pieces when the visitor streams).
async fn answered(
    mut reply: Reply,
    answer: Message,
    deltas: Option<&tokio::sync::mpsc::Sender<StreamEvent>>,
) -> Reply {
    if let Some(tx) = deltas {
        for piece in pieces(&answer.text) {
            if tx.send(StreamEvent::Delta(piece.to_owned())).await.is_err() {
                break;
            }
        }
    }
    reply.outcome = answer.outcome;
    reply.confidence = answer.confidence;
    reply.sources = answer.sources.clone();
    reply.message = Some(answer);
    reply
}

/// Runs a `reply` job: answers the visitor message it names (once: a job run again after a
/// crash finds the reply it stored).
pub async fn run_reply_job(state: &AppState, claimed: ClaimedJob) {
    let job = claimed.job.id.clone();
    let result: ApiResult<()> = async {
        let account = &claimed.account_id;
        let conversation_id = claimed.job.params["conversation_id"]
            .as_str()
            .map(|c| ConversationId::from_trusted(c.to_owned()));
        let message_id = claimed.job.params["message_id"]
            .as_str()
            .map(|m| sitechat_core::MessageId::from_trusted(m.to_owned()));
        let (Some(conversation_id), Some(message_id)) = (conversation_id, message_id) else {
            return Err(ApiError::internal(
                "a reply job without its conversation and message",
            ));
        };
        let conversation = state
            .store
            .get_conversation(account, &conversation_id)
            .await?;
        let visitor_message = state.store.get_message(account, &message_id).await?;
        let bot = state.store.get_bot(account, &conversation.bot_id).await?;
        let split = read_contact_details(&bot, &visitor_message.text);
        let reply = Reply {
            conversation,
            visitor_message,
            message: None,
            outcome: None,
            confidence: None,
            signals: None,
            sources: Vec::new(),
            lead: None,
            started: false,
        };
        respond(
            state,
            account,
            Accepted {
                bot,
                split,
                reply,
                resumed: true,
            },
            None,
        )
        .await?;
        Ok(())
    }
    .await;
    let (state_now, error) = match &result {
        Ok(()) => (JobState::Succeeded, None),
        Err(e) => {
            tracing::error!(job = %job, error = %e, "reply job failed");
            (JobState::Failed, Some(e.public_message()))
        }
    };
    if let Err(e) = state
        .store
        .finish_job(&job, state_now, &Default::default(), error.as_deref())
        .await
    {
        tracing::error!(job = %job, error = %e, "could not record the end of a job");
    }
}

async fn has_contact_details(
    state: &AppState,
    account: &AccountId,
    conversation: &Conversation,
) -> ApiResult<bool> {
    let Some(contact) = &conversation.contact_id else {
        return Ok(false);
    };
    let contact = state.store.get_contact(account, contact).await?;
    Ok(contact.email.is_some() || contact.phone.is_some())
}

async fn consume_message_quota(state: &AppState, caller: &Caller) -> ApiResult<()> {
    if !state.config.rate_limits {
        return Ok(());
    }
    let Some(limit) = caller.account.plan.limits().messages_per_month else {
        return Ok(());
    };
    let consumed = state
        .store
        .consume_quota(
            &caller.account.id,
            "messages",
            &this_month(),
            1,
            Some(i64::from(limit)),
        )
        .await?;
    if consumed.is_none() {
        return Err(ApiError::RateLimited {
            message: format!(
                "the {} plan includes {limit} messages a month and they are used up; the quota renews on the 1st (UTC)",
                caller.account.plan
            ),
            retry_after_secs: None,
        });
    }
    Ok(())
}

pub async fn conversation(
    state: &AppState,
    caller: &Caller,
    id: &ConversationId,
) -> ApiResult<Conversation> {
    caller
        .require(Scope::Read)
        .or_else(|_| caller.require(Scope::Chat))?;
    Ok(state.store.get_conversation(&caller.account.id, id).await?)
}

pub async fn history(
    state: &AppState,
    caller: &Caller,
    id: &ConversationId,
    page: PageRequest,
) -> ApiResult<Page<Message>> {
    caller
        .require(Scope::Read)
        .or_else(|_| caller.require(Scope::Chat))?;
    Ok(state
        .store
        .list_messages(&caller.account.id, id, page)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::pieces;

    #[test]
    fn the_pieces_of_a_text_make_the_text() {
        let text = "On Saturdays we open\nfrom 10am to 4pm.  Closed on Sundays.";
        assert_eq!(pieces(text).collect::<String>(), text);
        assert!(pieces(text).count() > 5);
    }
}
