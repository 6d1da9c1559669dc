-- The Chat API channel token of a bot (Aimylogic's `/chatapi/{token}`): a credential, so only its
-- SHA-256 is kept, with a visible prefix to recognise it by.
ALTER TABLE bots ADD COLUMN chat_api_token_hash TEXT;
ALTER TABLE bots ADD COLUMN chat_api_token_prefix TEXT;
CREATE UNIQUE INDEX bots_chat_api_token ON bots(chat_api_token_hash);

-- The client connection (a browser page, an app session) a visitor message came from, so that a
-- client can ask for what happened on its other connections.
ALTER TABLE messages ADD COLUMN connection_id TEXT;
