-- Webhooks: endpoints, the transactional outbox of deliveries, and the log of every attempt.

CREATE TABLE webhooks (
    seq                        INTEGER PRIMARY KEY AUTOINCREMENT,
    id                         TEXT NOT NULL UNIQUE,
    account_id                 TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    -- Only events of this bot when set.
    bot_id                     TEXT REFERENCES bots(id) ON DELETE CASCADE,
    url                        TEXT NOT NULL,
    -- JSON array of event types, `*` for all.
    events                     TEXT NOT NULL,
    -- The signing secret, as is: signing needs it raw. Never returned after creation.
    secret                     TEXT NOT NULL,
    -- The secret before the last rotation, still signing until it expires.
    previous_secret            TEXT,
    previous_secret_expires_at TEXT,
    active                     INTEGER NOT NULL DEFAULT 1,
    disabled_reason            TEXT,
    -- Start of the current run of failed attempts (NULL after a success).
    failing_since              TEXT,
    last_success_at            TEXT,
    created_at                 TEXT NOT NULL,
    updated_at                 TEXT NOT NULL
);
CREATE INDEX webhooks_account ON webhooks(account_id, seq);

CREATE TABLE webhook_deliveries (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,
    webhook_id      TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event_id        TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    conversation_id TEXT,
    -- The JSON body, frozen when the delivery was queued.
    payload         TEXT NOT NULL,
    -- pending, delivered, failed
    state           TEXT NOT NULL,
    -- Attempts in all (numbering of the attempt log).
    attempts        INTEGER NOT NULL DEFAULT 0,
    -- Failed attempts since the delivery was (re)queued: the position in the retry schedule.
    retries         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    lease_expires_at TEXT,
    last_status     INTEGER,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    delivered_at    TEXT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(state, next_attempt_at);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries(webhook_id, seq);
CREATE INDEX webhook_deliveries_order ON webhook_deliveries(webhook_id, conversation_id, state, seq);

CREATE TABLE webhook_attempts (
    delivery_id      TEXT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    attempt          INTEGER NOT NULL,
    started_at       TEXT NOT NULL,
    status           INTEGER,
    latency_ms       INTEGER NOT NULL,
    -- At most 1 KiB of the response body.
    response_excerpt TEXT,
    error            TEXT,
    PRIMARY KEY (delivery_id, attempt)
);
