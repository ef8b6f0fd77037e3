CREATE OR REPLACE FUNCTION change_events_assign_position() RETURNS trigger AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(5370707);
    UPDATE change_events SET position = nextval('change_events_position_seq') WHERE seq = NEW.seq;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
