-- An access's targets move into the access's own row (see the PostgreSQL migration of the same
-- name): `targets`, one JSON array of `[resource_type, resource_id, plan_id, individual_id]` in
-- their order. SQLite has no arrays to index, so what they are about — the individuals they name,
-- or for a target that names none its plan — is one narrow row each in `audit_targets_about`,
-- a table that is its own index (WITHOUT ROWID): one B-tree entry a person instead of three
-- (`audit_event_targets`' rows, its key and its individual's index) a target.
ALTER TABLE audit_events ADD COLUMN targets TEXT;

-- The rows logged so far take their targets along: the log is append-only, and this one rewrite is
-- the migration's, its guard dropped for it and put back as it was. Their seals still verify: a
-- seal hashes the event and its targets as values, not as they are stored (`db::seals::link`).
DROP TRIGGER audit_events_no_update;
UPDATE audit_events
   SET targets = (SELECT json_group_array(json(target))
                    FROM (SELECT json_array(resource_type, resource_id, plan_id, individual_id)
                                 AS target
                            FROM audit_event_targets t WHERE t.event_id = audit_events.id
                           ORDER BY position))
 WHERE id IN (SELECT event_id FROM audit_event_targets);
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;

CREATE TABLE audit_targets_about (
    about    TEXT NOT NULL,
    event_id INTEGER NOT NULL,
    PRIMARY KEY (about, event_id)
) WITHOUT ROWID;
INSERT INTO audit_targets_about (about, event_id)
SELECT DISTINCT coalesce(individual_id, plan_id), event_id FROM audit_event_targets
 WHERE coalesce(individual_id, plan_id) IS NOT NULL;
CREATE TRIGGER audit_targets_about_no_update BEFORE UPDATE ON audit_targets_about
BEGIN
    SELECT RAISE(ABORT, 'audit_targets_about is append-only');
END;
CREATE TRIGGER audit_targets_about_no_delete BEFORE DELETE ON audit_targets_about
BEGIN
    SELECT RAISE(ABORT, 'audit_targets_about is append-only');
END;

DROP TABLE audit_event_targets;
