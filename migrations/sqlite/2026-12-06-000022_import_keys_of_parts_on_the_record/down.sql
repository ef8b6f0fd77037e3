INSERT INTO import_keys (source_system, kind, external_id, resource_id, plan_id, fingerprint, updated_at)
SELECT r.source_system,
       CASE WHEN instr(e.key, '/') > 0 THEN substr(e.key, 1, instr(e.key, '/') - 1) ELSE e.key END,
       r.external_id || CASE WHEN instr(e.key, '/') > 0 THEN substr(e.key, instr(e.key, '/')) ELSE '' END,
       json_extract(e.value, '$[0]'), r.plan_id, json_extract(e.value, '$[1]'), r.updated_at
  FROM import_keys AS r, json_each(r.parts) AS e
 WHERE r.kind = 'record' AND r.parts IS NOT NULL;

ALTER TABLE import_keys DROP COLUMN parts;
