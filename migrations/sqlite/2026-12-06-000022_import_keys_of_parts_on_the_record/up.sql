-- The keys of a record's parts move onto the record's own key: see the PostgreSQL migration of the
-- same name.
ALTER TABLE import_keys ADD COLUMN parts TEXT;

UPDATE import_keys
   SET parts = (
       SELECT json_group_object(part.kind || substr(part.external_id, length(import_keys.external_id) + 1),
                                json_array(part.resource_id, part.fingerprint))
         FROM import_keys AS part
        WHERE part.source_system = import_keys.source_system
          AND part.plan_id = import_keys.plan_id
          AND part.kind NOT IN ('record', 'individual')
          AND substr(part.external_id, 1, length(import_keys.external_id)) = import_keys.external_id)
 WHERE kind = 'record';

DELETE FROM import_keys WHERE kind NOT IN ('record', 'individual');
