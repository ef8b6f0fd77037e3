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
