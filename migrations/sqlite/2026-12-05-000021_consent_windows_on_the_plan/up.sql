-- A plan's consent windows on its own row: see the PostgreSQL migration of the same name.
ALTER TABLE plans ADD COLUMN consent_windows TEXT NOT NULL DEFAULT '[]';

UPDATE plans
   SET consent_windows = (
       SELECT json_group_array(json_object('valid_from', c.valid_from, 'valid_until', c.valid_until))
         FROM (SELECT valid_from, valid_until FROM consents
                WHERE plan_id = plans.id AND outcome = 'given' AND withdrawn_at IS NULL
                  AND valid_from IS NOT NULL AND valid_until IS NOT NULL
                ORDER BY id) c)
 WHERE EXISTS (SELECT 1 FROM consents
                WHERE plan_id = plans.id AND outcome = 'given' AND withdrawn_at IS NULL
                  AND valid_from IS NOT NULL AND valid_until IS NOT NULL);
