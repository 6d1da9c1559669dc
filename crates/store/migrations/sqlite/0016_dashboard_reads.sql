-- What the dashboard reads often.

-- The agents' inbox lists an account's conversations of one status by their last change.
CREATE INDEX conversations_status_updated ON conversations(status, updated_at);
CREATE INDEX conversations_updated ON conversations(updated_at);

-- Reports read a range of days: timestamps are RFC 3339 UTC text, so a range of days is a range
-- of text.
CREATE INDEX conversations_created ON conversations(created_at);
CREATE INDEX messages_created ON messages(created_at);
CREATE INDEX leads_created ON leads(created_at);

-- The figures of each bot's days that are over, kept once computed (see store/src/analytics.rs);
-- a change to an old day's conversation deletes that day's row.
CREATE TABLE analytics_days (
    bot_id        TEXT NOT NULL REFERENCES bots(id) ON DELETE CASCADE,
    day           TEXT NOT NULL,
    conversations INTEGER NOT NULL,
    handed_off    INTEGER NOT NULL,
    messages      INTEGER NOT NULL,
    answered      INTEGER NOT NULL,
    fallbacks     INTEGER NOT NULL,
    ratings       INTEGER NOT NULL,
    rating_sum    INTEGER NOT NULL,
    leads         INTEGER NOT NULL,
    -- JSON array of the day's response times in milliseconds.
    response_ms   TEXT NOT NULL,
    PRIMARY KEY (bot_id, day)
);
