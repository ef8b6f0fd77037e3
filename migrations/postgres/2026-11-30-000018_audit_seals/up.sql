-- Tamper evidence for the access log: each access, once committed, is sealed into one hash chain
-- (`sip-service audit verify` checks it). A seal holds the event's place in the chain and
-- SHA-256(previous seal's hash, the event and its targets); changing, removing or inserting an
-- event or a seal breaks the chain from there on. Append-only, like the log itself.
CREATE TABLE audit_seals (
    chain_seq BIGINT PRIMARY KEY,
    event_id  BIGINT NOT NULL UNIQUE,
    hash      TEXT NOT NULL,
    sealed_at TIMESTAMP NOT NULL
);
CREATE TRIGGER audit_seals_no_update BEFORE UPDATE OR DELETE ON audit_seals
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_seals_no_truncate BEFORE TRUNCATE ON audit_seals
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
