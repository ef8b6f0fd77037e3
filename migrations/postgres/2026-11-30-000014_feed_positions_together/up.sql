-- A transaction that records many events (an imported record replays a plan's whole history: some
-- forty) gave each its feed position with an UPDATE of its own at commit, each leaving a dead row
-- version behind. Now the first of its events to reach the commit-time trigger positions all of the
-- transaction's events at once, in `seq` order, under the same lock and at the same moment as
-- before; the trigger then finds the others positioned. A row without a position is always one of
-- the running transaction's own: another transaction's rows are either committed (and positioned
-- before they committed) or not visible to it.
CREATE INDEX change_events_unpositioned_idx ON change_events (seq) WHERE position IS NULL;

CREATE OR REPLACE FUNCTION change_events_assign_position() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM change_events WHERE seq = NEW.seq AND position IS NOT NULL) THEN
        RETURN NULL;
    END IF;
    -- 5 370 707 is an arbitrary key naming the feed's lock; nothing else uses advisory locks.
    PERFORM pg_advisory_xact_lock(5370707);
    UPDATE change_events e SET position = p.position
      FROM (SELECT seq, nextval('change_events_position_seq') AS position
              FROM (SELECT seq FROM change_events WHERE position IS NULL ORDER BY seq) unpositioned
           ) p
     WHERE e.seq = p.seq;
    PERFORM pg_notify('sip_feed', '');
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
