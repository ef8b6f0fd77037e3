-- The change events' indexes, slimmer (see the PostgreSQL migration of the same name):
-- `change_events_recorded_idx` served only a lookup by recording time that nothing asks any more,
-- and a plan's history finds its events by `plan_id` alone and orders the few it has by position.
DROP INDEX change_events_recorded_idx;
DROP INDEX change_events_plan_idx;
CREATE INDEX change_events_plan_idx ON change_events (plan_id);
