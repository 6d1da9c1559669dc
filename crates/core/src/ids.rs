//! Prefixed, opaque identifiers (`bot_…`, `conv_…`, …).
//!
//! Every id is its prefix, an underscore and 20 random lowercase alphanumerics (about 103 bits), so
//! ids cannot be guessed or enumerated. Parsing checks the prefix, which makes a conversation id
//! passed where a bot id belongs a clear "not found" instead of a silent mismatch.

use std::fmt;

use rand::Rng;
use serde::{Deserialize, Serialize};

const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
const RANDOM_LEN: usize = 20;

/// Random lowercase alphanumerics of the given length, from the OS-seeded thread RNG.
pub fn random_token(len: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

/// The id was not of the expected kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a valid {kind} id (expected `{prefix}_…`)")]
pub struct IdError {
    pub kind: &'static str,
    pub prefix: &'static str,
    pub value: String,
}

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident, $prefix:literal, $kind:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(transparent)]
        #[schema(value_type = String, example = json!(concat!($prefix, "_0123456789abcdefghij")))]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            /// A new random id.
            pub fn generate() -> Self {
                Self(format!("{}_{}", $prefix, random_token(RANDOM_LEN)))
            }

            /// Parses an id, checking its prefix and alphabet.
            pub fn parse(value: &str) -> Result<Self, IdError> {
                let ok = value
                    .strip_prefix(concat!($prefix, "_"))
                    .is_some_and(|rest| {
                        !rest.is_empty()
                            && rest.len() <= 64
                            && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                    });
                if ok {
                    Ok(Self(value.to_owned()))
                } else {
                    Err(IdError { kind: $kind, prefix: $prefix, value: value.chars().take(80).collect() })
                }
            }

            /// Wraps a value read back from the store, which only ever holds valid ids.
            pub fn from_trusted(value: String) -> Self {
                Self(value)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
    };
}

id_type!(/// A tenant.
    AccountId, "acc", "account");
id_type!(/// An API key (its public handle, not the secret).
    KeyId, "key", "API key");
id_type!(/// An assistant trained on one website.
    BotId, "bot", "bot");
id_type!(/// One knowledge entry.
    SourceId, "src", "source");
id_type!(/// One passage of a source.
    ChunkId, "chk", "chunk");
id_type!(/// A visitor.
    ContactId, "cnt", "contact");
id_type!(/// One thread between a contact and a bot.
    ConversationId, "conv", "conversation");
id_type!(/// One message of a conversation.
    MessageId, "msg", "message");
id_type!(/// A durable background job.
    JobId, "job", "job");
id_type!(/// A webhook endpoint.
    WebhookId, "whk", "webhook");
id_type!(/// An entry of the event log.
    EventId, "evt", "event");
id_type!(/// A bot's connection to a messaging platform (Telegram, WhatsApp).
    ChannelId, "chn", "channel");
id_type!(/// Captured contact details.
    LeadId, "lead", "lead");
id_type!(/// A person who signs in to the dashboard.
    UserId, "usr", "user");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_id_parses_back() {
        let id = BotId::generate();
        assert!(id.as_str().starts_with("bot_"));
        assert_eq!(id.as_str().len(), 4 + RANDOM_LEN);
        assert_eq!(BotId::parse(id.as_str()).unwrap(), id);
    }

    #[test]
    fn an_id_of_another_kind_is_refused() {
        let conv = ConversationId::generate();
        let err = BotId::parse(conv.as_str()).unwrap_err();
        assert_eq!(err.kind, "bot");
        assert!(err.to_string().contains("bot_"));
    }

    #[test]
    fn an_id_with_odd_characters_is_refused() {
        assert!(BotId::parse("bot_").is_err());
        assert!(BotId::parse("bot_abc/../x").is_err());
        assert!(BotId::parse("bot_abc def").is_err());
    }

    #[test]
    fn two_generated_ids_differ() {
        assert_ne!(MessageId::generate(), MessageId::generate());
    }
}
