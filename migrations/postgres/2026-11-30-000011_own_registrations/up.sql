-- Who registered each individual, and a unit's own registration of a number that was hidden from
-- it (a person with protected identity whom the unit may not see): such a registration is a record
-- of its own, so that nothing the unit is told reveals that a protected person has the number.
-- The identity number stays unique among the records that are nobody's own registration, and a
-- unit has at most one own registration of a number.
ALTER TABLE individuals ADD COLUMN registered_by_unit TEXT;
ALTER TABLE individuals ADD COLUMN duplicate_of TEXT COLLATE "C" REFERENCES individuals (id);
UPDATE individuals i SET registered_by_unit = e.unit
  FROM change_events e
 WHERE e.resource_type = 'individual' AND e.resource_id = i.id
   AND e.event_type = 'individual.created';
ALTER TABLE individuals DROP CONSTRAINT individuals_identity_number_key;
CREATE UNIQUE INDEX individuals_identity_number_idx ON individuals (identity_number)
    WHERE duplicate_of IS NULL;
CREATE UNIQUE INDEX individuals_own_registration_idx ON individuals (identity_number, registered_by_unit)
    WHERE duplicate_of IS NOT NULL;
