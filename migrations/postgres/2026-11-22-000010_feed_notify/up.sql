-- Other instances of the service learn of new events at once: the trigger that gives an event its
-- feed position also notifies channel `sip_feed`. PostgreSQL delivers a notification only when its
-- transaction commits, and folds the identical notifications of one transaction into one, so a
-- listener is woken once per committed write, never for one rolled back.
CREATE OR REPLACE FUNCTION change_events_assign_position() RETURNS trigger AS $$
BEGIN
    -- 5 370 707 is an arbitrary key naming the feed's lock; nothing else uses advisory locks.
    PERFORM pg_advisory_xact_lock(5370707);
    UPDATE change_events SET position = nextval('change_events_position_seq') WHERE seq = NEW.seq;
    PERFORM pg_notify('sip_feed', '');
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
