-- Messaging channels (Telegram, WhatsApp Cloud API): a bot's connection to a platform, and the
-- outbox of messages to send through it.
--
-- A conversation goes out through a channel when its `channel` label is the channel's kind and
-- its contact's external id is `{kind}:{platform user id}`: one channel of each kind per bot, so
-- the pair names one channel. Inbound deduplication needs no table of its own: each platform
-- message is stored with the idempotency key `channel:{channel id}:{platform id}` in the
-- transaction that stores it (the primary key of idempotency_keys is the unique index).

CREATE TABLE channels (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    account_id  TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    bot_id      TEXT NOT NULL REFERENCES bots(id) ON DELETE CASCADE,
    -- telegram, whatsapp
    kind        TEXT NOT NULL,
    -- What may be shown: API base URL, phone number id, API version, webhook URL (JSON).
    settings    TEXT NOT NULL DEFAULT '{}',
    -- The credentials (JSON), sealed; never shown after creation.
    credentials TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX channels_one_kind_per_bot ON channels(bot_id, kind);

-- Bot, agent and system messages of channel conversations, queued in the transaction that stores
-- the message; the outbox worker sends them in order per conversation, with retries.
CREATE TABLE channel_outbox (
    seq                 INTEGER PRIMARY KEY AUTOINCREMENT,
    channel_id          TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    message_id          TEXT NOT NULL UNIQUE,
    conversation_id     TEXT NOT NULL,
    -- The contact's external id, `{kind}:{platform user id}`.
    recipient           TEXT NOT NULL,
    -- pending, sent, failed
    state               TEXT NOT NULL,
    -- Attempts started (a claim counts, so an attempt cut by a crash counts too).
    attempts            INTEGER NOT NULL DEFAULT 0,
    next_attempt_at     TEXT NOT NULL,
    lease_expires_at    TEXT,
    -- The platform's id of the sent message, which its status updates name.
    platform_message_id TEXT,
    last_error          TEXT,
    created_at          TEXT NOT NULL,
    sent_at             TEXT
);
CREATE INDEX channel_outbox_due ON channel_outbox(state, next_attempt_at);
CREATE INDEX channel_outbox_order ON channel_outbox(conversation_id, state, seq);
CREATE INDEX channel_outbox_platform ON channel_outbox(channel_id, platform_message_id);
