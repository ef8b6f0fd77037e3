-- Feed positions are given after the commit, no longer at it.
--
-- The commit-time trigger (2026-11-22-000005, -000014, -000016) took the feed's advisory lock just
-- before COMMIT, and a transaction-level lock is released only once the commit record is flushed:
-- every writer's WAL flush waited for the one before, so concurrent writes could not share a flush
-- (group commit). Its `pg_notify` did the same a second time: PostgreSQL queues notifications under
-- a lock held through the commit too.
--
-- Now a writer commits its events without a position, takes no lock and notifies no one. Committed
-- events are positioned afterwards by this function, in `seq` order, under the same advisory lock,
-- in a transaction of its own: the service's listener runs it every 50 ms, and every reader of
-- positions (the feed, a plan's history, a new subscription's start) runs it before it reads, so an
-- event committed before a read began is positioned when the read looks. Why a reader still never
-- misses an event and never sees one twice: positions are only given here, one run at a time (the
-- lock), each run's positions drawn from the sequence after every earlier run's and made visible
-- all at once by its commit, which is visible before the lock is released. An event committed
-- after a run's snapshot is simply positioned by the next run, after everything already visible.
--
-- `most` bounds one run (its transaction, its locks, the dead row versions it leaves); the caller
-- runs it again while it positions that many. It returns how many it positioned, and notifies
-- channel `sip_feed` (other instances' listeners) when that is any.
DROP TRIGGER change_events_position ON change_events;
DROP FUNCTION change_events_assign_position();

CREATE FUNCTION change_events_position_committed(most BIGINT) RETURNS BIGINT AS $$
DECLARE
    positioned BIGINT;
BEGIN
    -- Nothing to do is the common case of a read: answered from the partial index, without the lock.
    IF NOT EXISTS (SELECT 1 FROM change_events WHERE position IS NULL) THEN
        RETURN 0;
    END IF;
    -- 5 370 707 is an arbitrary key naming the feed's lock. The UPDATE below is a statement of its
    -- own, so (READ COMMITTED) its snapshot is taken after the lock is held: it sees every earlier
    -- run's positions and every event committed before it.
    PERFORM pg_advisory_xact_lock(5370707);
    WITH given AS (
        UPDATE change_events e SET position = p.position
          FROM (SELECT seq, nextval('change_events_position_seq') AS position
                  FROM (SELECT seq FROM change_events WHERE position IS NULL
                         ORDER BY seq LIMIT most) unpositioned
               ) p
         WHERE e.seq = p.seq
        RETURNING 1
    )
    SELECT count(*) INTO positioned FROM given;
    IF positioned > 0 THEN
        PERFORM pg_notify('sip_feed', '');
    END IF;
    RETURN positioned;
END
$$ LANGUAGE plpgsql;
