//! What the store's tests set up: a store in a temporary directory with an account, bots, and
//! sources of one chunk.

use sitechat_core::{
    model::{BotSettings, Chunk, Source, SourceKind},
    now, AccountId, BotId, ChunkId, Plan, SourceId,
};

use crate::{NewBot, NewSource, Store};

/// A store in a temporary directory (kept while the returned directory lives), with an account.
pub async fn store() -> (Store, tempfile::TempDir, AccountId) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("t.db")).await.unwrap();
    let account = store
        .create_account("t", Plan::Unlimited, false)
        .await
        .unwrap();
    (store, dir, account.id)
}

/// A new English bot of the account.
pub async fn bot(store: &Store, account: &AccountId) -> BotId {
    store
        .create_bot(
            account,
            NewBot {
                name: "Shop".into(),
                website_url: None,
                language: "en".into(),
                industry: None,
                settings: BotSettings::default(),
            },
            None,
        )
        .await
        .unwrap()
        .id
}

/// A source of one chunk, titled and headed `heading`.
pub fn source(bot: &BotId, kind: SourceKind, heading: &str, text: &str) -> NewSource {
    let id = SourceId::generate();
    NewSource {
        source: Source {
            id: id.clone(),
            bot_id: bot.clone(),
            kind,
            title: heading.to_owned(),
            url: None,
            characters: text.len() as i64,
            chunks: 1,
            created_at: now(),
        },
        content_hash: "h".into(),
        chunks: vec![Chunk {
            id: ChunkId::generate(),
            bot_id: bot.clone(),
            source_id: id,
            ordinal: 0,
            title: heading.to_owned(),
            heading: heading.to_owned(),
            anchor: None,
            url: None,
            text: text.to_owned(),
            // Whatever the caller says, reading back takes the flag from the source's kind.
            curated: false,
        }],
    }
}
