PRAGMA foreign_keys = OFF;
BEGIN;
DELETE FROM individuals WHERE duplicate_of IS NOT NULL;
CREATE TABLE individuals_rebuilt (
    id                 TEXT PRIMARY KEY,
    identity_number    TEXT NOT NULL UNIQUE,
    identity_kind      TEXT NOT NULL CHECK (identity_kind IN ('personnummer', 'samordningsnummer')),
    given_name         TEXT NOT NULL,
    family_name        TEXT NOT NULL,
    protected_identity BOOLEAN NOT NULL DEFAULT FALSE,
    version            BIGINT NOT NULL,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL
);
INSERT INTO individuals_rebuilt
SELECT id, identity_number, identity_kind, given_name, family_name, protected_identity, version,
       created_at, updated_at
  FROM individuals;
DROP TABLE individuals;
ALTER TABLE individuals_rebuilt RENAME TO individuals;
COMMIT;
PRAGMA foreign_keys = ON;
