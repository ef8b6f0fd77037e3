-- A unit's plan list starts from its own grants, in plan order (`db::plans::list`): this index,
-- with the days a grant holds after its keys (SQLite has no INCLUDE), answers that from the index
-- alone. The PostgreSQL migration of the same name says why.
DROP INDEX plan_access_unit_idx;
CREATE INDEX plan_access_unit_idx ON plan_access (unit, plan_id, valid_from, valid_until);
