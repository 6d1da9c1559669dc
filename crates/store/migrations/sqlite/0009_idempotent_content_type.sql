-- A remembered response is replayed with its own content type: a streamed chat reply is
-- `text/event-stream`, not JSON.
ALTER TABLE idempotency_keys ADD COLUMN content_type TEXT NOT NULL DEFAULT 'application/json';
