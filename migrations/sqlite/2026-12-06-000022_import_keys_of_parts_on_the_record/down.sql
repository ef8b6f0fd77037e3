-- Each part's key back in a row of its own. SQLite's SQL cannot decode base64, so the keys the
-- service wrote in compact form since this migration (`db::imports::compact`: ids and fingerprints
-- in base64url, or kept behind `=`) cannot be given back as the earlier version reads them: rather
-- than restore ids it would not find, this migration then fails (the CHECK below), and nothing is
-- changed. Keys this migration itself moved are restored as they were.
CREATE TEMP TABLE compact_import_keys_cannot_be_restored_in_sqlite (none_found INTEGER CHECK (none_found = 1));
INSERT INTO compact_import_keys_cannot_be_restored_in_sqlite
SELECT NOT EXISTS (
    SELECT 1 FROM import_keys AS r, json_each(r.parts) AS e
     WHERE r.kind = 'record'
       AND (length(json_extract(e.value, '$[0]')) IN (22, 43)
            OR length(json_extract(e.value, '$[1]')) IN (22, 43)
            OR substr(json_extract(e.value, '$[0]'), 1, 1) = '='
            OR substr(json_extract(e.value, '$[1]'), 1, 1) = '='));
DROP TABLE compact_import_keys_cannot_be_restored_in_sqlite;

INSERT INTO import_keys (source_system, kind, external_id, resource_id, plan_id, fingerprint, updated_at)
SELECT r.source_system,
       CASE WHEN instr(e.key, '/') > 0 THEN substr(e.key, 1, instr(e.key, '/') - 1) ELSE e.key END,
       r.external_id || CASE WHEN instr(e.key, '/') > 0 THEN substr(e.key, instr(e.key, '/')) ELSE '' END,
       json_extract(e.value, '$[0]'), r.plan_id, json_extract(e.value, '$[1]'), r.updated_at
  FROM import_keys AS r, json_each(r.parts) AS e
 WHERE r.kind = 'record' AND r.parts IS NOT NULL;

ALTER TABLE import_keys DROP COLUMN parts;
