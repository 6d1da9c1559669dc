-- Accounts, keys, bots, knowledge, conversations and usage counters.
-- Every table with a public id also has `seq`, a stable ordering for cursor paging.

CREATE TABLE accounts (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    plan        TEXT NOT NULL,
    is_operator INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL
);

CREATE TABLE api_keys (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL UNIQUE,
    account_id   TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    -- SHA-256 of the whole secret, hex. Keys carry 120 random bits, so a fast hash is safe.
    secret_hash  TEXT NOT NULL UNIQUE,
    scopes       TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    last_used_at TEXT
);
CREATE INDEX api_keys_account ON api_keys(account_id, seq);

CREATE TABLE bots (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    account_id  TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    website_url TEXT,
    language    TEXT NOT NULL,
    industry    TEXT,
    settings    TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX bots_account ON bots(account_id, seq);

CREATE TABLE sources (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL UNIQUE,
    bot_id       TEXT NOT NULL REFERENCES bots(id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    title        TEXT NOT NULL,
    url          TEXT,
    characters   INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX sources_bot ON sources(bot_id, seq);

CREATE TABLE chunks (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    id        TEXT NOT NULL UNIQUE,
    bot_id    TEXT NOT NULL REFERENCES bots(id) ON DELETE CASCADE,
    source_id TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    ordinal   INTEGER NOT NULL,
    title     TEXT NOT NULL,
    heading   TEXT NOT NULL,
    anchor    TEXT,
    url       TEXT,
    text      TEXT NOT NULL
);
CREATE INDEX chunks_bot ON chunks(bot_id, seq);
CREATE INDEX chunks_source ON chunks(source_id, ordinal);

CREATE TABLE contacts (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    bot_id      TEXT NOT NULL REFERENCES bots(id) ON DELETE CASCADE,
    external_id TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    UNIQUE (bot_id, external_id)
);

CREATE TABLE conversations (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL UNIQUE,
    bot_id     TEXT NOT NULL REFERENCES bots(id) ON DELETE CASCADE,
    contact_id TEXT REFERENCES contacts(id) ON DELETE SET NULL,
    channel    TEXT NOT NULL,
    status     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX conversations_bot ON conversations(bot_id, seq);
CREATE INDEX conversations_contact ON conversations(contact_id, seq);

CREATE TABLE messages (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    role            TEXT NOT NULL,
    text            TEXT NOT NULL,
    confidence      REAL,
    outcome         TEXT,
    sources         TEXT NOT NULL DEFAULT '[]',
    created_at      TEXT NOT NULL
);
CREATE INDEX messages_conversation ON messages(conversation_id, seq);

-- Quota counters: `period` is a day (YYYY-MM-DD) or a month (YYYY-MM), `kind` what is counted.
CREATE TABLE usage_counters (
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    period     TEXT NOT NULL,
    amount     INTEGER NOT NULL,
    PRIMARY KEY (account_id, kind, period)
);
