CREATE OR REPLACE FUNCTION change_events_assign_position() RETURNS trigger AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(5370707);
    UPDATE change_events SET position = nextval('change_events_position_seq') WHERE seq = NEW.seq;
    PERFORM pg_notify('sip_feed', '');
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
DROP INDEX change_events_unpositioned_idx;
