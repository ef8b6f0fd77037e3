DROP INDEX change_events_plan_idx;
CREATE INDEX change_events_plan_idx ON change_events (plan_id, position);
CREATE INDEX change_events_recorded_idx ON change_events (recorded_at);
