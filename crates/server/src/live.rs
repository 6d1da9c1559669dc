//! Live updates of conversations for connected clients (server-sent events).
//!
//! A broadcast channel per conversation with listeners. Services publish after the change is
//! committed; a client that is not connected misses nothing durable, since everything published
//! here is also in the history and the event log.

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

#[derive(Default)]
pub struct Live {
    channels: Mutex<HashMap<ConversationId, broadcast::Sender<LiveEvent>>>,
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

    /// Sends an update to whoever listens to the conversation.
    pub fn publish(
        &self,
        conversation: &ConversationId,
        kind: &'static str,
        data: serde_json::Value,
    ) {
        let channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(sender) = channels.get(conversation) {
            let _ = sender.send(LiveEvent { kind, data });
        }
    }
}
