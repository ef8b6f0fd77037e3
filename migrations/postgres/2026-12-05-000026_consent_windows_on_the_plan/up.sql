-- A plan's consent windows on its own row (`domain::consent::ConsentWindows`): the first and last
-- day of each given consent that is not withdrawn, as a JSON array in the order they were
-- recorded. The service writes them in the transaction that records or withdraws a consent (the
-- same UPDATE that moves the plan's version), so a read of a plan, a page of plans or a whole plan
-- knows whether a consent is active on its day without a subquery over the consents for each plan
-- (a third of a list's time in the database). Who may see a plan is still decided by
-- `plan_access` alone.
ALTER TABLE plans ADD COLUMN consent_windows TEXT NOT NULL DEFAULT '[]';

UPDATE plans p
   SET consent_windows = w.windows
  FROM (SELECT plan_id,
               json_agg(json_build_object('valid_from', valid_from, 'valid_until', valid_until)
                        ORDER BY id)::text AS windows
          FROM consents
         WHERE outcome = 'given' AND withdrawn_at IS NULL
           AND valid_from IS NOT NULL AND valid_until IS NOT NULL
         GROUP BY plan_id) w
 WHERE w.plan_id = p.id;
