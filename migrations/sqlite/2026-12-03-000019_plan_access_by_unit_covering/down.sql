DROP INDEX plan_access_unit_idx;
CREATE INDEX plan_access_unit_idx ON plan_access (unit, plan_id);
