CREATE TABLE audit_event_targets (
    event_id      BIGINT NOT NULL,
    position      INTEGER NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id   TEXT,
    plan_id       TEXT COLLATE "C",
    individual_id TEXT COLLATE "C",
    PRIMARY KEY (event_id, position)
);
INSERT INTO audit_event_targets
SELECT e.id, (t.n - 1)::int, t.value->>0, t.value->>1, t.value->>2, t.value->>3
  FROM audit_events e, json_array_elements(e.targets::json) WITH ORDINALITY AS t(value, n)
 WHERE e.targets IS NOT NULL;
CREATE INDEX audit_event_targets_individual_idx ON audit_event_targets (individual_id, event_id)
    WHERE individual_id IS NOT NULL;
CREATE INDEX audit_event_targets_plan_idx ON audit_event_targets (plan_id, event_id)
    WHERE individual_id IS NULL AND plan_id IS NOT NULL;
CREATE TRIGGER audit_event_targets_no_update BEFORE UPDATE OR DELETE ON audit_event_targets
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_event_targets_no_truncate BEFORE TRUNCATE ON audit_event_targets
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
DROP INDEX audit_events_targets_about_idx;
ALTER TABLE audit_events DROP COLUMN targets, DROP COLUMN targets_about;
