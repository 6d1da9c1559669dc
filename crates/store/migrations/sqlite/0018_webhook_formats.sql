-- The payload shape an endpoint gets: sitechat's own `{id, type, created_at, data}`, or the one a
-- seed service's document shows (`aisa`, `asyntai`, `aimylogic`), rendered when a delivery is
-- queued.
ALTER TABLE webhooks ADD COLUMN format TEXT NOT NULL DEFAULT 'sitechat';

-- A visitor message sent asynchronously (its reply is composed later and goes to webhooks, as
-- Aimylogic's `/async` says): only its replies reach an Aimylogic-format webhook.
ALTER TABLE messages ADD COLUMN asynchronous INTEGER NOT NULL DEFAULT 0;
