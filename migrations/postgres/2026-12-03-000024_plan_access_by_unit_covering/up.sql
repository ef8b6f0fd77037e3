-- A unit's plan list starts from its own grants, in plan order (`db::plans::list`): this index,
-- with the days a grant holds beside its keys, answers that from the index alone. Without them
-- PostgreSQL preferred the grants' other index (`plan_access_plan_idx`, by plan), which carries
-- the days, and read it from the cursor testing each entry's unit: a unit that one plan's consent
-- in a hundred covers read some 5,000 entries for a page of 50.
DROP INDEX plan_access_unit_idx;
CREATE INDEX plan_access_unit_idx ON plan_access (unit, plan_id) INCLUDE (valid_from, valid_until);
