-- Durable training jobs, crawled-page bookkeeping and index consistency.

CREATE TABLE jobs (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    id               TEXT NOT NULL UNIQUE,
    account_id       TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    bot_id           TEXT NOT NULL REFERENCES bots(id) ON DELETE CASCADE,
    kind             TEXT NOT NULL,
    state            TEXT NOT NULL,
    params           TEXT NOT NULL DEFAULT '{}',
    progress         TEXT NOT NULL DEFAULT '{}',
    error            TEXT,
    attempts         INTEGER NOT NULL DEFAULT 0,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    lease_expires_at TEXT,
    created_at       TEXT NOT NULL,
    started_at       TEXT,
    finished_at      TEXT,
    updated_at       TEXT NOT NULL
);
CREATE INDEX jobs_bot ON jobs(bot_id, seq);
CREATE INDEX jobs_state ON jobs(state, seq);
-- One queued or running training per bot.
CREATE UNIQUE INDEX jobs_one_active_per_bot ON jobs(bot_id) WHERE state IN ('queued', 'running');

-- Pages a job skipped, with the reason.
CREATE TABLE job_skips (
    job_id  TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    url     TEXT NOT NULL,
    reason  TEXT NOT NULL,
    message TEXT NOT NULL,
    PRIMARY KEY (job_id, url)
);

-- Validators of fetched pages, for conditional requests on retrain.
ALTER TABLE sources ADD COLUMN etag TEXT;
ALTER TABLE sources ADD COLUMN last_modified TEXT;
ALTER TABLE sources ADD COLUMN updated_at TEXT;
CREATE UNIQUE INDEX sources_bot_website_url ON sources(bot_id, url) WHERE kind = 'website';

-- Index writes committed to the database but not yet to the bot's search index. Non-zero at
-- start-up means a crash between the two: the index is rebuilt from the database.
ALTER TABLE bots ADD COLUMN index_pending INTEGER NOT NULL DEFAULT 0;
