-- Each part's key back in a row of its own, its id and fingerprint as the service wrote them before
-- (`db::imports::compact`, undone: a UUID's or a version-2 fingerprint's base64url, or a value kept
-- behind `=`).
CREATE FUNCTION pg_temp.expanded(v TEXT) RETURNS TEXT LANGUAGE SQL IMMUTABLE AS $$
    SELECT CASE
        WHEN left(v, 1) = '=' THEN substr(v, 2)
        WHEN v ~ '^[A-Za-z0-9_-]{22}$'
            THEN encode(decode(translate(v, '-_', '+/') || '==', 'base64'), 'hex')::uuid::text
        WHEN v ~ '^[A-Za-z0-9_-]{43}$'
            THEN 'v2:' || encode(decode(translate(v, '-_', '+/') || '=', 'base64'), 'hex')
        ELSE v
    END
$$;

INSERT INTO import_keys (source_system, kind, external_id, resource_id, plan_id, fingerprint, updated_at)
SELECT r.source_system,
       split_part(e.key, '/', 1),
       r.external_id || CASE WHEN position('/' IN e.key) > 0
                             THEN substr(e.key, position('/' IN e.key)) ELSE '' END,
       pg_temp.expanded(e.value->>0), r.plan_id, pg_temp.expanded(e.value->>1), r.updated_at
  FROM import_keys r, json_each(r.parts::json) e
 WHERE r.kind = 'record' AND r.parts IS NOT NULL;

ALTER TABLE import_keys DROP COLUMN parts;
