CREATE TABLE audit_event_targets (
    event_id      INTEGER NOT NULL,
    position      INTEGER NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id   TEXT,
    plan_id       TEXT,
    individual_id TEXT,
    PRIMARY KEY (event_id, position)
);
INSERT INTO audit_event_targets
SELECT e.id, t.key, t.value ->> 0, t.value ->> 1, t.value ->> 2, t.value ->> 3
  FROM audit_events e, json_each(e.targets) t
 WHERE e.targets IS NOT NULL;
CREATE INDEX audit_event_targets_individual_idx ON audit_event_targets (individual_id, event_id)
    WHERE individual_id IS NOT NULL;
CREATE INDEX audit_event_targets_plan_idx ON audit_event_targets (plan_id, event_id)
    WHERE individual_id IS NULL AND plan_id IS NOT NULL;
CREATE TRIGGER audit_event_targets_no_update BEFORE UPDATE ON audit_event_targets
BEGIN
    SELECT RAISE(ABORT, 'audit_event_targets is append-only');
END;
CREATE TRIGGER audit_event_targets_no_delete BEFORE DELETE ON audit_event_targets
BEGIN
    SELECT RAISE(ABORT, 'audit_event_targets is append-only');
END;
DROP TABLE audit_targets_about;
ALTER TABLE audit_events DROP COLUMN targets;
