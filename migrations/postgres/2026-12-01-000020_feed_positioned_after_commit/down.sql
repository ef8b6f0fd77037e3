DROP FUNCTION change_events_position_committed(BIGINT);

CREATE FUNCTION change_events_assign_position() RETURNS trigger AS $$
BEGIN
    IF current_setting('sip.feed_positioned', true) = 'yes' THEN
        RETURN NULL;
    END IF;
    PERFORM pg_advisory_xact_lock(5370707),
            set_config('sip.feed_positioned', 'yes', true),
            pg_notify('sip_feed', '');
    UPDATE change_events e SET position = p.position
      FROM (SELECT seq, nextval('change_events_position_seq') AS position
              FROM (SELECT seq FROM change_events WHERE position IS NULL ORDER BY seq) unpositioned
           ) p
     WHERE e.seq = p.seq;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER change_events_position AFTER INSERT ON change_events
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION change_events_assign_position();
