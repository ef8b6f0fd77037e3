-- The change feed: every event gets a feed position in commit order. SQLite has one writer at a
-- time, holding the write lock from its first write until it commits, and AUTOINCREMENT never
-- reuses a value: the row's seq is already in commit order, so the position is the seq — a
-- generated column, indexed, at no cost to the insert.
ALTER TABLE change_events ADD COLUMN position BIGINT GENERATED ALWAYS AS (seq) VIRTUAL;
-- When the event was recorded (wall clock), for the feed's retention window. `occurred_at` is the
-- time of the change itself, which an import may set in the past.
ALTER TABLE change_events ADD COLUMN recorded_at TIMESTAMP;
UPDATE change_events SET recorded_at = occurred_at;

CREATE UNIQUE INDEX change_events_position_idx ON change_events (position);
CREATE INDEX change_events_recorded_idx ON change_events (recorded_at);
-- A plan's history is read in feed order too.
DROP INDEX change_events_plan_idx;
CREATE INDEX change_events_plan_idx ON change_events (plan_id, position);
