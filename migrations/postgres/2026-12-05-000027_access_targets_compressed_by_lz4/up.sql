-- An access's targets (a list's fifty plans, ~5 KB of JSON) are compressed as they are stored:
-- with PostgreSQL's default, pglz, that compression was ~3 % of all CPU under the list scenario
-- (the access log's group insert, which every read waits on). lz4 compresses such JSON several
-- times faster. PostgreSQL built without lz4 refuses the setting; the column then keeps pglz, as
-- before, and nothing else changes (values already stored stay as they were compressed either way).
DO $$
BEGIN
    ALTER TABLE audit_events ALTER COLUMN targets SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'this PostgreSQL has no lz4: the access targets stay compressed by pglz';
END
$$;
