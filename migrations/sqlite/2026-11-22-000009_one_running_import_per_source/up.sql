-- A source system's records are imported by one import at a time: two imports of overlapping files
-- running at once would race for the same import keys (a record reported as a duplicate, or two
-- batches waiting on each other). Should several run side by side already, the oldest of each
-- source system keeps running and the others are failed, so that the index below can be built.
UPDATE imports
   SET status = 'failed',
       failure = 'the service was upgraded while two imports of this source system ran; send the file again in a new import',
       finished_at = updated_at,
       version = version + 1
 WHERE status = 'running'
   AND id NOT IN (SELECT MIN(id) FROM imports WHERE status = 'running' GROUP BY source_system);

CREATE UNIQUE INDEX imports_one_running_per_source ON imports (source_system) WHERE status = 'running';

-- When a running import last showed that the instance reading it is alive (a heartbeat while the
-- file streams in): an import whose instance died is failed by the next import of its source.
ALTER TABLE imports ADD COLUMN alive_at TIMESTAMP;
