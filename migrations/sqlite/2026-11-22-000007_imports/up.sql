-- Bulk import of existing plans: an import is a resource with a status; each line of its NDJSON gets
-- an outcome in its report; import keys map a source system's own ids to ours, so a second import
-- of the same file changes nothing and a changed record updates what it imported before.
CREATE TABLE imports (
    id             TEXT PRIMARY KEY,
    source_system  TEXT NOT NULL,
    dry_run        BOOLEAN NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('awaiting_data', 'running', 'completed', 'failed')),
    failure        TEXT,
    unit           TEXT NOT NULL,
    principal      TEXT NOT NULL CHECK (principal IN ('region', 'municipality', 'other')),
    created_by     TEXT NOT NULL,
    lines_read     BIGINT NOT NULL,
    created_count  BIGINT NOT NULL,
    updated_count  BIGINT NOT NULL,
    unchanged_count BIGINT NOT NULL,
    failed_count   BIGINT NOT NULL,
    started_at     TIMESTAMP,
    finished_at    TIMESTAMP,
    version        BIGINT NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);
CREATE INDEX imports_unit_idx ON imports (unit, id);

-- The report: one row per record (line) with its outcome, the plan it landed in, and its errors.
CREATE TABLE import_records (
    import_id   TEXT NOT NULL REFERENCES imports (id),
    line        BIGINT NOT NULL,
    external_id TEXT,
    outcome     TEXT NOT NULL CHECK (outcome IN ('created', 'updated', 'unchanged', 'failed')),
    plan_id     TEXT,
    -- JSON array of {field, message}.
    errors      TEXT,
    PRIMARY KEY (import_id, line)
);
CREATE INDEX import_records_outcome_idx ON import_records (import_id, outcome, line);

-- A source system's id of a plan or of something in it, mapped to ours, with a fingerprint of what
-- was imported for it last.
CREATE TABLE import_keys (
    source_system TEXT NOT NULL,
    kind          TEXT NOT NULL,
    external_id   TEXT NOT NULL,
    resource_id   TEXT NOT NULL,
    plan_id       TEXT,
    fingerprint   TEXT NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (source_system, kind, external_id)
);
