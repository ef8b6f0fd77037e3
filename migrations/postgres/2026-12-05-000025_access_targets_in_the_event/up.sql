-- An access's targets (each plan of a list, the individual of a whole plan, a search's match) move
-- into the access's own row: `targets`, one JSON array of `[resource_type, resource_id, plan_id,
-- individual_id]` in their order, and `targets_about`, the individuals they name (or, for a target
-- that names none, its plan), which a GIN index answers "who has read this person's data" from.
-- A list of 50 was 51 rows and 150 B-tree entries (`audit_event_targets`, its key and its
-- individual's index, ~6.5 µs of PostgreSQL's time a target, ~44 % of its time in a list); it is
-- one row whose GIN entries are appended to the index's pending list as one write and merged into
-- it in bulk. A target's resource id is NULL where it is the target's own plan or individual, as
-- it was stored before (`db::audit::NewAuditTarget::stored_resource_id`).
ALTER TABLE audit_events ADD COLUMN targets TEXT, ADD COLUMN targets_about TEXT[] COLLATE "C";

-- The rows logged so far take their targets along. The log is append-only; this one rewrite is the
-- migration's, with the guard lifted for it alone. Their seals still verify: a seal hashes the
-- event and its targets as values, not as they are stored (`db::seals::link`).
ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update;
UPDATE audit_events e
   SET targets = t.targets, targets_about = t.about
  FROM (SELECT event_id,
               json_agg(json_build_array(resource_type, resource_id, plan_id, individual_id)
                        ORDER BY position)::text AS targets,
               array_agg(DISTINCT coalesce(individual_id, plan_id))
                   FILTER (WHERE coalesce(individual_id, plan_id) IS NOT NULL) AS about
          FROM audit_event_targets GROUP BY event_id) t
 WHERE e.id = t.event_id;
ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update;
DROP TABLE audit_event_targets;

-- Without a pending list (`fastupdate = off`): each list's entries go into the index as it is
-- written. With one, entries wait in a list of up to 4 MB that the next writer past the limit
-- merges: with 50 people a page drawn from 100,000, one insert in ~2,000 took 150 ms — a stall of
-- the access log's writer, which every read waits on — and every search read the whole list.
-- Merged at once, a list costs ~40 µs more of PostgreSQL's time and the slowest insert 11 ms
-- (synthetic loop, BENCHMARKS.md, thirtieth session).
CREATE INDEX audit_events_targets_about_idx ON audit_events USING gin (targets_about)
    WITH (fastupdate = off) WHERE targets_about IS NOT NULL;
