//! API key scopes.
//!
//! - `admin`: everything in the key's account (bots, knowledge, keys, conversations).
//! - `chat`: talk to the account's bots and read the conversations it takes part in.
//! - `read`: read everything in the account, change nothing.
//!
//! An operator account's `admin` keys may also create accounts.

use serde::{Deserialize, Serialize};

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Admin,
    Chat,
    Read,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Admin => "admin",
            Scope::Chat => "chat",
            Scope::Read => "read",
        }
    }

    pub fn parse(value: &str) -> Option<Scope> {
        match value {
            "admin" => Some(Scope::Admin),
            "chat" => Some(Scope::Chat),
            "read" => Some(Scope::Read),
            _ => None,
        }
    }

    /// Whether a key holding `self` may do what needs `required`. `admin` implies the others.
    pub fn grants(self, required: Scope) -> bool {
        self == Scope::Admin || self == required
    }
}

/// The scopes a key holds.
pub fn grants_any(held: &[Scope], required: Scope) -> bool {
    held.iter().any(|s| s.grants(required))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_implies_every_other_scope() {
        assert!(Scope::Admin.grants(Scope::Chat));
        assert!(Scope::Admin.grants(Scope::Read));
    }

    #[test]
    fn read_does_not_grant_chat() {
        assert!(!Scope::Read.grants(Scope::Chat));
        assert!(!Scope::Chat.grants(Scope::Admin));
        assert!(grants_any(&[Scope::Read, Scope::Chat], Scope::Chat));
    }
}
