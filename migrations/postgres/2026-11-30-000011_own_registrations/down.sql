DELETE FROM individuals WHERE duplicate_of IS NOT NULL;
DROP INDEX individuals_own_registration_idx;
DROP INDEX individuals_identity_number_idx;
ALTER TABLE individuals ADD CONSTRAINT individuals_identity_number_key UNIQUE (identity_number);
ALTER TABLE individuals DROP COLUMN duplicate_of;
ALTER TABLE individuals DROP COLUMN registered_by_unit;
