-- The access log: every read and write of personal data, and every denied attempt (patientdatalagen).
-- Append-only: the database itself refuses UPDATE and DELETE.
CREATE TABLE audit_events (
    id            BIGSERIAL PRIMARY KEY,
    occurred_at   TIMESTAMP NOT NULL,
    subject       TEXT NOT NULL,
    unit          TEXT NOT NULL,
    principal     TEXT NOT NULL,
    action        TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id   TEXT,
    plan_id       TEXT COLLATE "C",
    individual_id TEXT COLLATE "C",
    result        TEXT NOT NULL CHECK (result IN ('allowed', 'denied')),
    status        INTEGER NOT NULL,
    request_id    TEXT NOT NULL
);
CREATE INDEX audit_events_individual_idx ON audit_events (individual_id, id);
CREATE INDEX audit_events_plan_idx ON audit_events (plan_id, id);
CREATE INDEX audit_events_subject_idx ON audit_events (subject, id);
CREATE INDEX audit_events_unit_idx ON audit_events (unit, id);
CREATE INDEX audit_events_time_idx ON audit_events (occurred_at);

CREATE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
