-- Who registered each individual, and a unit's own registration of a number that was hidden from
-- it (a person with protected identity whom the unit may not see): such a registration is a record
-- of its own, so that nothing the unit is told reveals that a protected person has the number.
-- The identity number stays unique among the records that are nobody's own registration, and a
-- unit has at most one own registration of a number.
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE individuals_rebuilt (
    id                 TEXT PRIMARY KEY,
    identity_number    TEXT NOT NULL,
    identity_kind      TEXT NOT NULL CHECK (identity_kind IN ('personnummer', 'samordningsnummer')),
    given_name         TEXT NOT NULL,
    family_name        TEXT NOT NULL,
    protected_identity BOOLEAN NOT NULL DEFAULT FALSE,
    version            BIGINT NOT NULL,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL,
    registered_by_unit TEXT,
    duplicate_of       TEXT REFERENCES individuals (id)
);
INSERT INTO individuals_rebuilt
SELECT i.id, i.identity_number, i.identity_kind, i.given_name, i.family_name, i.protected_identity,
       i.version, i.created_at, i.updated_at,
       (SELECT e.unit FROM change_events e
         WHERE e.resource_type = 'individual' AND e.resource_id = i.id
           AND e.event_type = 'individual.created'
         LIMIT 1),
       NULL
  FROM individuals i;
DROP TABLE individuals;
ALTER TABLE individuals_rebuilt RENAME TO individuals;
CREATE UNIQUE INDEX individuals_identity_number_idx ON individuals (identity_number)
    WHERE duplicate_of IS NULL;
CREATE UNIQUE INDEX individuals_own_registration_idx ON individuals (identity_number, registered_by_unit)
    WHERE duplicate_of IS NOT NULL;
COMMIT;
PRAGMA foreign_keys = ON;
PRAGMA foreign_key_check;
