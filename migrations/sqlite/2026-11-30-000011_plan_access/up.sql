-- Which units may see which plan, as rows an index can find: the plan's initiating unit (no
-- dates: always), and each unit a given consent covers, for the consent's days. A withdrawn
-- consent's rows are deleted in the transaction that withdraws it; a consent without both dates
-- never granted access and has none. Maintained with the plans and consents it derives from
-- (src/db/access.rs), so the visibility rule is one indexed semi-join instead of a search through
-- every consent for each request.
CREATE TABLE plan_access (
    id          INTEGER PRIMARY KEY,
    plan_id     TEXT NOT NULL REFERENCES plans (id),
    unit        TEXT NOT NULL,
    consent_id  TEXT REFERENCES consents (id),
    valid_from  DATE,
    valid_until DATE
);
CREATE INDEX plan_access_plan_idx ON plan_access (plan_id, unit, valid_from, valid_until);
CREATE INDEX plan_access_unit_idx ON plan_access (unit, plan_id);
CREATE INDEX plan_access_consent_idx ON plan_access (consent_id);

INSERT INTO plan_access (plan_id, unit) SELECT id, initiating_unit FROM plans;
INSERT INTO plan_access (plan_id, unit, consent_id, valid_from, valid_until)
SELECT c.plan_id, p.hsa_id, c.id, c.valid_from, c.valid_until
  FROM consents c JOIN consent_parties p ON p.consent_id = c.id
 WHERE c.outcome = 'given' AND c.withdrawn_at IS NULL
   AND c.valid_from IS NOT NULL AND c.valid_until IS NOT NULL AND p.hsa_id IS NOT NULL;
