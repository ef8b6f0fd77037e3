-- The individual takes part through an e-service (/api/v1/me).

-- A legal representative named on a consent may act for the person in the e-service while the
-- consent stands: the e-service knows them by the identity number their e-ID login gives.
ALTER TABLE consent_givers ADD COLUMN identity_number TEXT;
CREATE INDEX consent_givers_identity_number_idx ON consent_givers (identity_number)
    WHERE identity_number IS NOT NULL;
-- A guardian acts for a child registered with the guardian's identity number.
CREATE INDEX guardians_identity_number_idx ON guardians (identity_number)
    WHERE identity_number IS NOT NULL;

-- What the individual wants the meeting to answer, and whether they bring a support person:
-- written by the individual before the meeting, shown to the invited units with the summons.
CREATE TABLE summons_preparations (
    summons_id            TEXT PRIMARY KEY REFERENCES summons (id),
    plan_id               TEXT NOT NULL REFERENCES plans (id),
    questions             TEXT NOT NULL,
    brings_support_person BOOLEAN NOT NULL,
    prepared_by           TEXT NOT NULL,
    version               BIGINT NOT NULL,
    prepared_at           TIMESTAMP NOT NULL
);

-- SIP-kollen. A survey code is handed out on paper at a meeting that offered the survey; only its
-- SHA-256 is kept, with the principal kind and the last day it can be used — nothing that names a
-- person, a plan, a meeting or a unit — and the row is deleted when the code is spent.
CREATE TABLE survey_codes (
    code_hash  TEXT PRIMARY KEY,
    principal  TEXT NOT NULL CHECK (principal IN ('region', 'municipality', 'other')),
    expires_on DATE NOT NULL
);
-- That a meeting's one code has been handed out (a meeting gets one code, for the individual).
CREATE TABLE survey_code_issues (
    meeting_id TEXT PRIMARY KEY REFERENCES meetings (id)
);
-- An answer keeps the month it was given and the principal kind, and a random id: no reference to
-- the code, and no time that could be matched with a log line.
CREATE TABLE survey_answers (
    id            TEXT PRIMARY KEY,
    month         TEXT NOT NULL,
    principal     TEXT NOT NULL CHECK (principal IN ('region', 'municipality', 'other')),
    participation INTEGER NOT NULL CHECK (participation BETWEEN 1 AND 5),
    listened_to   INTEGER NOT NULL CHECK (listened_to BETWEEN 1 AND 5),
    language      INTEGER NOT NULL CHECK (language BETWEEN 1 AND 5),
    coordinator   INTEGER NOT NULL CHECK (coordinator BETWEEN 1 AND 5),
    roles_clear   INTEGER NOT NULL CHECK (roles_clear BETWEEN 1 AND 5),
    got_plan      INTEGER NOT NULL CHECK (got_plan BETWEEN 1 AND 5)
);
CREATE INDEX survey_answers_month_idx ON survey_answers (month);
