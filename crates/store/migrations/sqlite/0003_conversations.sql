-- Conversations as a service: contact details, handoff, events, leads, idempotency, chat state,
-- message statuses and feedback.

ALTER TABLE contacts ADD COLUMN name TEXT;
ALTER TABLE contacts ADD COLUMN email TEXT;
ALTER TABLE contacts ADD COLUMN phone TEXT;
-- Variables by scope: {"system": {…}, "contact": {…}}.
ALTER TABLE contacts ADD COLUMN variables TEXT NOT NULL DEFAULT '{}';
ALTER TABLE contacts ADD COLUMN updated_at TEXT;

ALTER TABLE conversations ADD COLUMN assignee TEXT;
ALTER TABLE conversations ADD COLUMN handoff_reason TEXT;
ALTER TABLE conversations ADD COLUMN variables TEXT NOT NULL DEFAULT '{}';
ALTER TABLE conversations ADD COLUMN ended_at TEXT;
ALTER TABLE conversations ADD COLUMN fallback_streak INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN rating INTEGER;
ALTER TABLE conversations ADD COLUMN rating_comment TEXT;
CREATE INDEX conversations_status ON conversations(status, seq);

-- Delivery status of bot and agent messages (SENT, DELIVERED, READ, NOT_SENT), quick-reply
-- buttons, and the visitor's feedback on a bot message.
ALTER TABLE messages ADD COLUMN status TEXT;
ALTER TABLE messages ADD COLUMN buttons TEXT NOT NULL DEFAULT '[]';
ALTER TABLE messages ADD COLUMN author TEXT;
ALTER TABLE messages ADD COLUMN feedback TEXT;
ALTER TABLE messages ADD COLUMN feedback_comment TEXT;

-- The append-only event log. Written in the same transaction as the change it records; `seq`
-- orders it (SQLite has one writer at a time, so rows become visible in `seq` order).
CREATE TABLE events (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,
    account_id      TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    bot_id          TEXT,
    conversation_id TEXT,
    type            TEXT NOT NULL,
    data            TEXT NOT NULL,
    created_at      TEXT NOT NULL
);
CREATE INDEX events_account ON events(account_id, seq);
CREATE INDEX events_conversation ON events(conversation_id, seq);

CREATE TABLE leads (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,
    account_id      TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    bot_id          TEXT NOT NULL REFERENCES bots(id) ON DELETE CASCADE,
    contact_id      TEXT REFERENCES contacts(id) ON DELETE SET NULL,
    conversation_id TEXT REFERENCES conversations(id) ON DELETE SET NULL,
    email           TEXT,
    phone           TEXT,
    created_at      TEXT NOT NULL
);
CREATE INDEX leads_account ON leads(account_id, seq);
CREATE UNIQUE INDEX leads_once ON leads(bot_id, COALESCE(email, ''), COALESCE(phone, ''));

-- A retried POST with the same Idempotency-Key gets the first response back.
CREATE TABLE idempotency_keys (
    account_id  TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status      INTEGER NOT NULL,
    response    TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (account_id, key)
);

-- Opaque chat application state per contact and bot.
CREATE TABLE chat_states (
    bot_id     TEXT NOT NULL REFERENCES bots(id) ON DELETE CASCADE,
    contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    state      TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (bot_id, contact_id)
);
