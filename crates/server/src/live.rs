//! Live updates of conversations for connected clients (server-sent events).
//!
//! A broadcast channel per conversation with listeners, and one for every conversation (the
//! agents' inbox, which filters it by account). Services publish after the change is committed;
//! a client that is not connected misses nothing durable, since everything published here is also
//! in the history and the event log.

use std::{collections::HashMap, sync::Mutex};

use serde::Serialize;
use sitechat_core::ConversationId;
use tokio::sync::broadcast;

/// One live update.
#[derive(Debug, Clone, Serialize)]
pub struct LiveEvent {
    /// `message`, `status` or `typing`.
    pub kind: &'static str,
    pub data: serde_json::Value,
}

pub struct Live {
    channels: Mutex<HashMap<ConversationId, broadcast::Sender<LiveEvent>>>,
    /// Every conversation's updates, with the conversation they are about.
    all: broadcast::Sender<(ConversationId, LiveEvent)>,
}

impl Default for Live {
    fn default() -> Self {
        Self {
            channels: Mutex::default(),
            all: broadcast::channel(256).0,
        }
    }
}

impl Live {
    /// Listens to a conversation.
    pub fn subscribe(&self, conversation: &ConversationId) -> broadcast::Receiver<LiveEvent> {
        let mut channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        channels.retain(|_, sender| sender.receiver_count() > 0);
        channels
            .entry(conversation.clone())
            .or_insert_with(|| broadcast::channel(64).0)
            .subscribe()
    }

    /// Listens to every conversation (the caller keeps only its account's).
    pub fn subscribe_all(&self) -> broadcast::Receiver<(ConversationId, LiveEvent)> {
        self.all.subscribe()
    }

    /// Sends an update to whoever listens to the conversation, and to every inbox.
    pub fn publish(
        &self,
        conversation: &ConversationId,
        kind: &'static str,
        data: serde_json::Value,
    ) {
        let event = LiveEvent { kind, data };
        if self.all.receiver_count() > 0 {
            let _ = self.all.send((conversation.clone(), event.clone()));
        }
        let channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(sender) = channels.get(conversation) {
            let _ = sender.send(event);
        }
    }
}
