ALTER TABLE audit_events ALTER COLUMN targets SET COMPRESSION default;
