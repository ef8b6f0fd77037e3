DROP INDEX change_events_recorded_idx;
DROP INDEX change_events_plan_idx;
CREATE INDEX change_events_plan_idx ON change_events (plan_id, seq);
DROP INDEX change_events_position_idx;
ALTER TABLE change_events DROP COLUMN recorded_at;
ALTER TABLE change_events DROP COLUMN position;
