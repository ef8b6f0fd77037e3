-- The keys of a record's parts (its plan, goals, interventions, consents, summons, meetings …) move
-- onto the record's own key, one JSON object (`db::imports::parts_of`): one row per imported record
-- instead of ~19, which held 5.6 KB of the ~33 KB a plan takes. Each part is found by its plan
-- (the record's key's plan) and by its external id, which starts with the record's.
ALTER TABLE import_keys ADD COLUMN parts TEXT;

UPDATE import_keys AS r
   SET parts = p.parts
  FROM (SELECT rec.source_system, rec.external_id,
               json_object_agg(part.kind || substr(part.external_id, length(rec.external_id) + 1),
                               json_build_array(part.resource_id, part.fingerprint))::text AS parts
          FROM import_keys rec
          JOIN import_keys part
            ON part.source_system = rec.source_system
           AND part.plan_id = rec.plan_id
           AND part.kind NOT IN ('record', 'individual')
           AND left(part.external_id, length(rec.external_id)) = rec.external_id
         WHERE rec.kind = 'record'
         GROUP BY rec.source_system, rec.external_id) AS p
 WHERE r.kind = 'record'
   AND r.source_system = p.source_system
   AND r.external_id = p.external_id;

DELETE FROM import_keys WHERE kind NOT IN ('record', 'individual');
