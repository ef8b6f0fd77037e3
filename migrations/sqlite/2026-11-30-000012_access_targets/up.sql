-- What a read showed besides what its path names — each plan of a list, the individual of a whole
-- plan, a search's match — as narrow rows under the read's one access-log row, instead of a full
-- access-log row each (see the PostgreSQL migration of the same name). Append-only.
CREATE TABLE audit_event_targets (
    event_id      INTEGER NOT NULL,
    position      INTEGER NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id   TEXT,
    plan_id       TEXT,
    individual_id TEXT,
    PRIMARY KEY (event_id, position)
);
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
