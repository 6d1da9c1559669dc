-- Conversation ids a client chose itself (AskIA's `conversationId`), each naming one conversation
-- of one bot: the same client id on another bot is another conversation.
CREATE TABLE client_conversation_ids (
    bot_id          TEXT NOT NULL REFERENCES bots(id) ON DELETE CASCADE,
    client_id       TEXT NOT NULL,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (bot_id, client_id)
);
