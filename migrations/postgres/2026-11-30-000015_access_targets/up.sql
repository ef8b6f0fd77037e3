-- What a read showed besides what its path names — each plan of a list, the individual of a whole
-- plan, a search's match — as narrow rows under the read's one access-log row, instead of a full
-- access-log row each. A list of 50 plans was 51 rows of `audit_events` with six indexes each
-- (306 index entries); it is now one row and 50 targets with two index entries each (106).
-- "Who has read this person's data" finds her targets by individual (or, for a target that names
-- only a plan, by plan). Append-only like the log itself.
CREATE TABLE audit_event_targets (
    event_id      BIGINT NOT NULL,
    position      INTEGER NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id   TEXT,
    plan_id       TEXT COLLATE "C",
    individual_id TEXT COLLATE "C",
    PRIMARY KEY (event_id, position)
);
CREATE INDEX audit_event_targets_individual_idx ON audit_event_targets (individual_id, event_id)
    WHERE individual_id IS NOT NULL;
CREATE INDEX audit_event_targets_plan_idx ON audit_event_targets (plan_id, event_id)
    WHERE individual_id IS NULL AND plan_id IS NOT NULL;

CREATE TRIGGER audit_event_targets_no_update BEFORE UPDATE OR DELETE ON audit_event_targets
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_event_targets_no_truncate BEFORE TRUNCATE ON audit_event_targets
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
