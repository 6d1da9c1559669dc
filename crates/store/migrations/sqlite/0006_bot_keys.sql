-- The key a ChatAIBot-style client addresses a bot by (not a credential: requests still carry an
-- API key).
ALTER TABLE bots ADD COLUMN bot_key TEXT;
UPDATE bots SET bot_key = 'bk_' || lower(hex(randomblob(12))) WHERE bot_key IS NULL;
CREATE UNIQUE INDEX bots_bot_key ON bots(bot_key);
