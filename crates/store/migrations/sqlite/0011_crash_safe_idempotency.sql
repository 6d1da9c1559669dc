-- Crash-safe idempotency. A keyed chat request records its key, as pending, in the transaction
-- that stores the visitor's message; the response is filled in once it is produced. A retry
-- after a crash finds the pending key and finishes that message instead of storing it again.
--
-- `status`, `content_type` and `response` are NULL while the key is pending; `message_id` is the
-- visitor message the key stored (NULL for requests that are not chat messages). SQLite cannot
-- relax NOT NULL in place, so the table is rebuilt; nothing references it.
CREATE TABLE idempotency_keys_new (
    account_id   TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    key          TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    message_id   TEXT,
    status       INTEGER,
    content_type TEXT,
    response     TEXT,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (account_id, key)
);
INSERT INTO idempotency_keys_new (account_id, key, fingerprint, status, content_type, response, created_at)
    SELECT account_id, key, fingerprint, status, content_type, response, created_at FROM idempotency_keys;
DROP TABLE idempotency_keys;
ALTER TABLE idempotency_keys_new RENAME TO idempotency_keys;

-- The visitor message a bot message answers. One reply per visitor message, whoever answers it
-- (the request, its retry, a reply job): a second answer finds the first instead of adding one.
ALTER TABLE messages ADD COLUMN reply_to TEXT;
CREATE UNIQUE INDEX messages_reply_to ON messages(reply_to) WHERE reply_to IS NOT NULL;
