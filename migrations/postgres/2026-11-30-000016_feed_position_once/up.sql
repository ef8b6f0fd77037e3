-- The commit-time trigger fires once for every change event of the transaction. Its first run
-- positions them all (2026-11-30-000014); the others only had to find that out, and each asked the
-- table with a query of its own (an imported record's forty events: forty queries at commit). Now
-- the first run leaves a mark in a transaction-local setting, and the others read the mark — an
-- expression PL/pgSQL evaluates without the executor, not a statement. The setting ends with the
-- transaction, so the next transaction starts unmarked. Taking the lock, marking and queueing the
-- notification (delivered at commit, so its place in the function does not matter) are one
-- statement; the lock is still taken before the positions are drawn.
CREATE OR REPLACE FUNCTION change_events_assign_position() RETURNS trigger AS $$
BEGIN
    IF current_setting('sip.feed_positioned', true) = 'yes' THEN
        RETURN NULL;
    END IF;
    -- 5 370 707 is an arbitrary key naming the feed's lock; nothing else uses advisory locks.
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
