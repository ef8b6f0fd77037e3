ALTER TABLE imports DROP COLUMN alive_at;
DROP INDEX imports_one_running_per_source;
