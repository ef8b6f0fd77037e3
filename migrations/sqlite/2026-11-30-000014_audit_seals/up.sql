-- Tamper evidence for the access log (see the PostgreSQL migration of the same name).
CREATE TABLE audit_seals (
    chain_seq INTEGER PRIMARY KEY,
    event_id  INTEGER NOT NULL UNIQUE,
    hash      TEXT NOT NULL,
    sealed_at TIMESTAMP NOT NULL
);
CREATE TRIGGER audit_seals_no_update BEFORE UPDATE ON audit_seals
BEGIN
    SELECT RAISE(ABORT, 'audit_seals is append-only');
END;
CREATE TRIGGER audit_seals_no_delete BEFORE DELETE ON audit_seals
BEGIN
    SELECT RAISE(ABORT, 'audit_seals is append-only');
END;
