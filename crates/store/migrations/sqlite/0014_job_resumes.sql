-- How many times a job was found running after the process died (a crash or kill, not a graceful
-- stop): past a limit it fails with `crashed_the_server` instead of resuming into a crash loop.
ALTER TABLE jobs ADD COLUMN resumes INTEGER NOT NULL DEFAULT 0;
