-- Jobs of other kinds (asynchronous replies) run beside a bot's training: only trainings are
-- limited to one at a time per bot.
DROP INDEX jobs_one_active_per_bot;
CREATE UNIQUE INDEX jobs_one_training_per_bot ON jobs(bot_id) WHERE state IN ('queued', 'running') AND kind = 'train';
