//! The answering policy in one place: what the bot replies to a visitor's message, and whether
//! the conversation goes to a person after it.
//!
//! The steps, in order:
//!
//! 1. [`Responder::intent`]: a request for a person, a greeting, thanks or a goodbye, or a message
//!    that only gives contact details, is answered without retrieval.
//! 2. [`Responder::answer`]: otherwise the engine answers from the bot's knowledge. A follow-up
//!    ("and on Saturdays?") is answered both on its own and read with the visitor's previous
//!    message, and the surer answer is given: "And how much is shipping?" after a product's price
//!    asks about shipping; "is there parking there?" after "where's the Bath shop?" asks about
//!    Bath's parking, not the parking another shop's page mentions.
//! 3. [`Responder::word`]: a bot with a language-model engine has the answer worded by a
//!    [`Generator`] from the passages retrieval found; the extractive answer keeps its sources and
//!    confidence. A model that finds no answer in the passages turns it into a fallback; a model
//!    that fails leaves the extractive answer.
//! 4. [`Responder::reply`]: a fallback asks for contact details when the conversation has none
//!    and the bot asks for them, and offers up to three topics near the question and a person as
//!    quick replies.
//! 5. [`Responder::handoff`]: once the reply is stored, a request for a person, or as many
//!    fallbacks in a row as the bot allows, hands the conversation to a person.
//!
//! The server accepts the message, persists, streams and publishes; it calls these steps and
//! decides nothing about the reply itself. Step 2 blocks (retrieval): the server runs it on a
//! blocking thread.

use std::future::Future;

use sitechat_core::model::{
    BotSettings, Button, ConversationStatus, HandoffReason, Outcome, SourceRef,
};
use sitechat_core::BotId;
use sitechat_search::{Hit, SearchError};
use time::OffsetDateTime;

use crate::{
    intents::{self, Intent},
    question, Answer, AnswerEngine, Dense, Signals,
};

/// A visitor's message as the policy reads it.
#[derive(Debug, Clone)]
pub struct Turn {
    /// The message without the contact details it gave (the whole message when it gave none).
    pub text: String,
    /// The message gave contact details and asked nothing.
    pub only_contact: bool,
    /// The visitor's message before this one in the conversation.
    pub previous: Option<String>,
    /// The conversation's contact has an email address or a phone number already (read only
    /// when [`Responder::asks_for_contact`] says the reply may ask for them).
    pub has_contact: bool,
    /// When the message arrived (business hours decide what a request for a person gets).
    pub at: OffsetDateTime,
}

/// The meaning of a question, when the bot's passages are embedded: the server's embeddings.
pub trait Semantic {
    /// Runs `f` with the question's embedding, the bot's vectors and a sentence embedder, or with
    /// `None` (words alone) when there are none.
    fn with<T>(&self, question: &str, f: impl FnOnce(Dense<'_>) -> T) -> T;
}

/// A language model that words a reply from the passages retrieval found (the `openai` and
/// `local` engines).
pub trait Generator {
    /// The reply to `question` from `passages` (best first). `Ok(None)`: the model found no
    /// answer in them. `Err`: it failed, and the extractive answer stands.
    fn word(
        &self,
        question: &str,
        passages: &[Hit],
    ) -> impl Future<Output = Result<Option<String>, String>> + Send;
}

/// What the engine answered, and the question it answered (the message, or the message read
/// with the one before it).
#[derive(Debug, Clone)]
pub struct Asked {
    pub answer: Answer,
    pub question: String,
}

/// What wording by a language model did to an answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Wording {
    /// The answer was not for wording (not answered from passages).
    NotAsked,
    /// The model worded it.
    Worded,
    /// The model found no answer in the passages: the answer is now the fallback.
    Declined,
    /// The model failed: the extractive answer stands.
    Failed(String),
}

/// The bot's reply.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub text: String,
    pub outcome: Outcome,
    pub confidence: f64,
    pub sources: Vec<SourceRef>,
    pub buttons: Vec<Button>,
    /// What the confidence was fitted from, for a reply composed from passages.
    pub signals: Option<Signals>,
}

impl Response {
    fn fixed(text: String, outcome: Outcome) -> Self {
        Self {
            text,
            outcome,
            confidence: 1.0,
            sources: Vec::new(),
            buttons: Vec::new(),
            signals: None,
        }
    }
}

/// The answering policy of one bot.
#[derive(Debug, Clone, Copy)]
pub struct Responder<'a> {
    language: &'a str,
    settings: &'a BotSettings,
}

impl<'a> Responder<'a> {
    pub fn new(language: &'a str, settings: &'a BotSettings) -> Self {
        Self { language, settings }
    }

    /// Step 1: the reply to a message that needs no retrieval, or `None` for a question.
    pub fn intent(&self, turn: &Turn) -> Option<Response> {
        match intents::detect(&turn.text, self.language) {
            Some(Intent::Human) => Some(Response::fixed(
                self.handoff_text(turn.at),
                Outcome::Handoff,
            )),
            Some(Intent::Greeting) => Some(Response::fixed(
                self.settings.greeting.clone(),
                Outcome::Smalltalk,
            )),
            Some(intent) => Some(Response::fixed(
                intents::reply(intent, self.language).to_owned(),
                Outcome::Smalltalk,
            )),
            None if turn.only_contact => Some(Response::fixed(
                sitechat_core::texts::defaults(self.language)
                    .lead_thanks
                    .to_owned(),
                Outcome::Smalltalk,
            )),
            None => None,
        }
    }

    /// Step 2: the engine's answer from the bot's knowledge. A follow-up is asked twice, on its
    /// own and read with the previous message ([`question::in_context`]), and the surer answer
    /// wins (a curated one first). Blocks: call from a blocking pool.
    pub fn answer<S: Semantic>(
        &self,
        engine: &AnswerEngine,
        bot: &BotId,
        turn: &Turn,
        semantics: &S,
    ) -> Result<Asked, SearchError> {
        let ask = |question: &str| {
            semantics.with(question, |dense| {
                engine.answer(bot, self.language, self.settings, question, dense)
            })
        };
        let in_context = question::in_context(self.language, &turn.text, turn.previous.as_deref());
        let with_context = ask(&in_context)?;
        if in_context != turn.text {
            let alone = ask(&turn.text)?;
            let surer = match (alone.outcome, with_context.outcome) {
                (Outcome::Curated, _) => true,
                (Outcome::Answered, Outcome::Answered) => {
                    alone.confidence >= with_context.confidence
                }
                (Outcome::Answered, Outcome::Curated) => false,
                (Outcome::Answered, _) => true,
                _ => false,
            };
            if surer {
                return Ok(Asked {
                    answer: alone,
                    question: turn.text.clone(),
                });
            }
        }
        Ok(Asked {
            answer: with_context,
            question: in_context,
        })
    }

    /// Step 3: the answer worded by a language model, when it was answered from passages.
    pub async fn word<G: Generator>(&self, asked: &mut Asked, generator: &G) -> Wording {
        if asked.answer.outcome != Outcome::Answered {
            return Wording::NotAsked;
        }
        match generator
            .word(&asked.question, &asked.answer.passages)
            .await
        {
            Ok(Some(text)) => {
                asked.answer.text = text;
                Wording::Worded
            }
            Ok(None) => {
                asked.answer.outcome = Outcome::Fallback;
                asked.answer.text = self.settings.fallback_message.clone();
                asked.answer.sources.clear();
                Wording::Declined
            }
            Err(e) => Wording::Failed(e),
        }
    }

    /// Whether the reply to this answer asks for contact details unless the conversation has
    /// them: a fallback, when the bot asks. Only then is [`Turn::has_contact`] needed.
    pub fn asks_for_contact(&self, answer: &Answer) -> bool {
        answer.outcome == Outcome::Fallback && self.settings.ask_for_contact
    }

    /// Step 4: the reply to send for an answer.
    pub fn reply(&self, answer: Answer, turn: &Turn) -> Response {
        let fallback = answer.outcome == Outcome::Fallback;
        let asks = self.asks_for_contact(&answer);
        let mut text = answer.text;
        if asks && !turn.has_contact {
            text = format!("{text} {}", self.settings.contact_prompt);
        }
        // A fallback offers what the bot can answer about nearby, and a person.
        let mut buttons: Vec<Button> = answer
            .suggestions
            .into_iter()
            .map(|title| Button {
                title,
                payload: None,
            })
            .collect();
        if fallback {
            buttons.push(Button {
                title: intents::human_offer(self.language).to_owned(),
                payload: None,
            });
        }
        Response {
            text,
            outcome: answer.outcome,
            confidence: answer.confidence,
            sources: answer.sources,
            buttons,
            signals: answer.signals,
        }
    }

    /// Step 5: whether the conversation goes to a person after a reply of this outcome, the
    /// reply being the `fallback_streak`-th fallback in a row (0 when it is not one).
    pub fn handoff(&self, outcome: Outcome, fallback_streak: i64) -> Option<HandoffReason> {
        let after = self.settings.handoff_after_fallbacks;
        match outcome {
            Outcome::Handoff => Some(HandoffReason::VisitorAsked),
            Outcome::Fallback if after > 0 && fallback_streak >= i64::from(after) => {
                Some(HandoffReason::LowConfidence)
            }
            _ => None,
        }
    }

    /// What stands for the bot's reply while a person owns the conversation (the bot is silent
    /// then), for clients that need a text there: while the conversation waits for an agent,
    /// what the bot said when a person was asked for; once an agent has it, that a person is
    /// answering.
    pub fn human_notice(&self, status: ConversationStatus, at: OffsetDateTime) -> String {
        match status {
            ConversationStatus::Agent => sitechat_core::texts::defaults(self.language)
                .with_agent
                .to_owned(),
            _ => self.handoff_text(at),
        }
    }

    /// What the bot says when a person is asked for: that one is coming, or, outside business
    /// hours, when the team is back and how to leave contact details.
    fn handoff_text(&self, at: OffsetDateTime) -> String {
        match &self.settings.business_hours {
            Some(hours) if !hours.is_open(at) => {
                let texts = sitechat_core::texts::defaults(self.language);
                let back = hours
                    .next_opening(at)
                    .map(|t| format!(" {}.", texts.back_at(t)))
                    .unwrap_or_else(|| ".".to_owned());
                format!(
                    "{}{back} {}",
                    self.settings.away_message, self.settings.contact_prompt
                )
            }
            _ => intents::reply(Intent::Human, self.language).to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::{
        pin::pin,
        sync::Arc,
        task::{Context, Poll, Waker},
    };

    use sitechat_core::hours::BusinessHours;
    use sitechat_core::model::Chunk;
    use sitechat_core::{ChunkId, SourceId};
    use sitechat_search::SearchIndex;

    use super::*;

    /// Words without meaning: BM25 alone.
    struct Lexical;

    impl Semantic for Lexical {
        fn with<T>(&self, _question: &str, f: impl FnOnce(Dense<'_>) -> T) -> T {
            f(None)
        }
    }

    /// Runs a future that does not wait on anything (the test generators answer at once).
    fn ready<T>(future: impl Future<Output = T>) -> T {
        let mut future = pin!(future);
        match future
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
        {
            Poll::Ready(v) => v,
            Poll::Pending => panic!("the test generator waited"),
        }
    }

    struct Fixed(Result<Option<String>, String>);

    impl Generator for Fixed {
        fn word(
            &self,
            _question: &str,
            passages: &[Hit],
        ) -> impl Future<Output = Result<Option<String>, String>> + Send {
            assert!(!passages.is_empty(), "a generator is given the passages");
            std::future::ready(self.0.clone())
        }
    }

    fn turn(text: &str) -> Turn {
        Turn {
            text: text.to_owned(),
            only_contact: false,
            previous: None,
            has_contact: false,
            at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn knowledge() -> (AnswerEngine, BotId, tempfile::TempDir) {
        knowledge_of(&[
            (
                "Shipping",
                "Shipping costs £4.95 in the UK and is free on orders over £60.",
            ),
            ("Opening hours", "On weekdays we open from 9am to 6pm."),
            ("Saturdays", "On Saturdays we open from 10am to 4pm."),
        ])
    }

    /// A bot knowing these passages (heading, text), as one source.
    fn knowledge_of(passages: &[(&str, &str)]) -> (AnswerEngine, BotId, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let index = Arc::new(SearchIndex::open(dir.path()).unwrap());
        let bot = BotId::generate();
        let source = SourceId::generate();
        let chunks: Vec<Chunk> = passages
            .iter()
            .copied()
            .enumerate()
            .map(|(i, (heading, text))| Chunk {
                id: ChunkId::generate(),
                bot_id: bot.clone(),
                source_id: source.clone(),
                ordinal: i as i64,
                title: "Help".into(),
                heading: heading.into(),
                anchor: None,
                url: None,
                text: text.into(),
                curated: false,
            })
            .collect();
        index.add_chunks(&bot, "en", &chunks).unwrap();
        (AnswerEngine::new(index), bot, dir)
    }

    #[test]
    fn what_needs_no_retrieval_is_answered_at_once() {
        let settings = BotSettings::default();
        let responder = Responder::new("en", &settings);
        let r = responder
            .intent(&turn("get me a real human please"))
            .unwrap();
        assert_eq!(r.outcome, Outcome::Handoff);
        let r = responder.intent(&turn("hello")).unwrap();
        assert_eq!(
            (r.outcome, r.text),
            (Outcome::Smalltalk, settings.greeting.clone())
        );
        let only = Turn {
            only_contact: true,
            ..turn("")
        };
        let r = responder.intent(&only).unwrap();
        assert_eq!(r.outcome, Outcome::Smalltalk);
        assert!(responder.intent(&turn("How much is shipping?")).is_none());
    }

    #[test]
    fn a_person_asked_for_out_of_hours_gets_when_the_team_is_back() {
        let settings = BotSettings {
            business_hours: Some(
                serde_json::from_value::<BusinessHours>(serde_json::json!({
                    "utc_offset": "+00:00",
                    "slots": [{"day": "mon", "open": "09:00", "close": "17:00"}]
                }))
                .unwrap(),
            ),
            ..BotSettings::default()
        };
        let responder = Responder::new("en", &settings);
        // 1 January 1970 was a Thursday: the team is away.
        let r = responder.intent(&turn("operator!!")).unwrap();
        assert_eq!(r.outcome, Outcome::Handoff);
        assert!(r.text.starts_with(&settings.away_message), "{}", r.text);
        assert!(r.text.ends_with(&settings.contact_prompt), "{}", r.text);
    }

    #[test]
    fn a_fallback_asks_for_contact_details_once_and_offers_topics_and_a_person() {
        let (engine, bot, _dir) = knowledge();
        let settings = BotSettings::default();
        let responder = Responder::new("en", &settings);
        let question = turn("Do you sell helicopters?");
        let asked = responder
            .answer(&engine, &bot, &question, &Lexical)
            .unwrap();
        assert_eq!(asked.answer.outcome, Outcome::Fallback);
        let r = responder.reply(asked.answer.clone(), &question);
        assert!(r.text.starts_with(&settings.fallback_message));
        assert!(r.text.ends_with(&settings.contact_prompt), "{}", r.text);
        assert_eq!(
            r.buttons.last().unwrap().title,
            intents::human_offer("en"),
            "{r:?}"
        );
        let known = Turn {
            has_contact: true,
            ..question
        };
        let r = responder.reply(asked.answer, &known);
        assert_eq!(r.text, settings.fallback_message);
    }

    #[test]
    fn a_follow_up_gets_the_surer_of_its_answers_alone_and_with_the_question_before_it() {
        let (engine, bot, _dir) = knowledge();
        let settings = BotSettings::default();
        let responder = Responder::new("en", &settings);
        // Nothing to answer on its own: read with the question before it.
        let follow_up = Turn {
            previous: Some("When do you open on Saturdays?".into()),
            ..turn("and until when?")
        };
        let asked = responder
            .answer(&engine, &bot, &follow_up, &Lexical)
            .unwrap();
        assert!(asked.answer.text.contains("4pm"), "{asked:?}");
        assert_ne!(asked.question, "and until when?");
        let own = Turn {
            previous: Some("When do you open on weekdays?".into()),
            ..turn("And how much is shipping?")
        };
        let asked = responder.answer(&engine, &bot, &own, &Lexical).unwrap();
        assert_eq!(asked.question, "And how much is shipping?");
        assert!(asked.answer.text.contains("£4.95"), "{asked:?}");

        // Answered both ways: the surer answer, here the one read with the question before it.
        let (engine, bot, _dir) = knowledge_of(&[
            (
                "Bristol shop",
                "Parking: 12 free parking spaces behind the shop.",
            ),
            ("Shipping", "Shipping costs £4.95 in the UK."),
            ("Returns", "Returns are free within 30 days."),
            (
                "Bath shop",
                "The Bath shop is at 41 Walcot Street. It has no car park; the nearest is \
                 Podium.",
            ),
        ]);
        let question = "is there parking there?";
        let alone = responder
            .answer(&engine, &bot, &turn(question), &Lexical)
            .unwrap();
        assert!(alone.answer.text.contains("12 free parking"), "{alone:?}");
        let follow_up = Turn {
            previous: Some("where's the Bath shop?".into()),
            ..turn(question)
        };
        let asked = responder
            .answer(&engine, &bot, &follow_up, &Lexical)
            .unwrap();
        assert!(asked.answer.text.contains("Podium"), "{asked:?}");
        assert!(asked.answer.confidence > alone.answer.confidence);
    }

    #[test]
    fn a_language_model_words_the_answer_or_declines_it_and_a_failure_keeps_the_answer() {
        let (engine, bot, _dir) = knowledge();
        let settings = BotSettings::default();
        let responder = Responder::new("en", &settings);
        let question = turn("How much is shipping?");
        let asked = responder
            .answer(&engine, &bot, &question, &Lexical)
            .unwrap();
        assert_eq!(asked.answer.outcome, Outcome::Answered);

        let mut worded = asked.clone();
        let generator = Fixed(Ok(Some("It is £4.95.".into())));
        assert_eq!(
            ready(responder.word(&mut worded, &generator)),
            Wording::Worded
        );
        assert_eq!(worded.answer.text, "It is £4.95.");
        assert_eq!(worded.answer.sources, asked.answer.sources);

        let mut declined = asked.clone();
        let wording = ready(responder.word(&mut declined, &Fixed(Ok(None))));
        assert_eq!(wording, Wording::Declined);
        assert_eq!(declined.answer.outcome, Outcome::Fallback);
        assert!(declined.answer.sources.is_empty());

        let mut failed = asked.clone();
        let wording = ready(responder.word(&mut failed, &Fixed(Err("down".into()))));
        assert_eq!(wording, Wording::Failed("down".into()));
        assert_eq!(failed.answer, asked.answer);

        // A fallback is not worded.
        let mut fallback = responder
            .answer(&engine, &bot, &turn("Do you sell helicopters?"), &Lexical)
            .unwrap();
        let wording = ready(responder.word(&mut fallback, &Fixed(Ok(Some("x".into())))));
        assert_eq!(wording, Wording::NotAsked);
    }

    #[test]
    fn repeated_fallbacks_hand_over_when_the_bot_says_so() {
        let mut settings = BotSettings {
            handoff_after_fallbacks: 2,
            ..BotSettings::default()
        };
        let responder = Responder::new("en", &settings);
        assert_eq!(responder.handoff(Outcome::Fallback, 1), None);
        assert_eq!(
            responder.handoff(Outcome::Fallback, 2),
            Some(HandoffReason::LowConfidence)
        );
        assert_eq!(
            responder.handoff(Outcome::Handoff, 0),
            Some(HandoffReason::VisitorAsked)
        );
        assert_eq!(responder.handoff(Outcome::Answered, 0), None);
        settings.handoff_after_fallbacks = 0;
        let responder = Responder::new("en", &settings);
        assert_eq!(responder.handoff(Outcome::Fallback, 9), None);
    }

    #[test]
    fn while_a_person_owns_the_conversation_the_notice_is_in_the_bots_language() {
        let at = OffsetDateTime::UNIX_EPOCH;
        let settings = BotSettings::for_language("fr");
        let responder = Responder::new("fr", &settings);
        assert_eq!(
            responder.human_notice(ConversationStatus::WaitingForAgent, at),
            intents::reply(Intent::Human, "fr")
        );
        assert_eq!(
            responder.human_notice(ConversationStatus::Agent, at),
            "Un conseiller vous répond"
        );
    }
}
