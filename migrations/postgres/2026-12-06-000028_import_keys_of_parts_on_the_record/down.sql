INSERT INTO import_keys (source_system, kind, external_id, resource_id, plan_id, fingerprint, updated_at)
SELECT r.source_system,
       split_part(e.key, '/', 1),
       r.external_id || CASE WHEN position('/' IN e.key) > 0
                             THEN substr(e.key, position('/' IN e.key)) ELSE '' END,
       e.value->>0, r.plan_id, e.value->>1, r.updated_at
  FROM import_keys r, json_each(r.parts::json) e
 WHERE r.kind = 'record' AND r.parts IS NOT NULL;

ALTER TABLE import_keys DROP COLUMN parts;
