-- The agents' inbox lists an account's conversations of one status by their last change.
CREATE INDEX conversations_status_updated ON conversations(status, updated_at);
CREATE INDEX conversations_updated ON conversations(updated_at);
