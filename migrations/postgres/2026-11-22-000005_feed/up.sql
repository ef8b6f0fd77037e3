-- The change feed: every event gets a feed position in COMMIT order, so a reader that asks for the
-- events after the last position it saw never misses one and never sees one twice.
--
-- A BIGSERIAL is taken when a row is inserted, not when its transaction commits: two writers can
-- commit in the opposite order of their sequence values, and a reader that already moved past the
-- later value would never see the earlier one. So the position is given at commit instead: a
-- deferred trigger runs just before COMMIT, takes a transaction-level advisory lock (held until the
-- commit is visible to everyone) and only then draws the next position. Writers still run
-- concurrently; only the step from "about to commit" to "committed" is taken one at a time.
ALTER TABLE change_events ADD COLUMN position BIGINT;
-- When the event was recorded (wall clock), for the feed's retention window. `occurred_at` is the
-- time of the change itself, which an import may set in the past.
ALTER TABLE change_events ADD COLUMN recorded_at TIMESTAMP;
UPDATE change_events SET position = seq, recorded_at = occurred_at;
ALTER TABLE change_events ALTER COLUMN recorded_at SET NOT NULL;

CREATE SEQUENCE change_events_position_seq;
SELECT setval('change_events_position_seq', COALESCE((SELECT max(seq) FROM change_events), 0) + 1, false);

CREATE UNIQUE INDEX change_events_position_idx ON change_events (position);
CREATE INDEX change_events_recorded_idx ON change_events (recorded_at);
-- A plan's history is read in feed order too.
DROP INDEX change_events_plan_idx;
CREATE INDEX change_events_plan_idx ON change_events (plan_id, position);

CREATE FUNCTION change_events_assign_position() RETURNS trigger AS $$
BEGIN
    -- 5 370 707 is an arbitrary key naming the feed's lock; nothing else uses advisory locks.
    PERFORM pg_advisory_xact_lock(5370707);
    UPDATE change_events SET position = nextval('change_events_position_seq') WHERE seq = NEW.seq;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER change_events_position AFTER INSERT ON change_events
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION change_events_assign_position();
