-- Foundation: individuals, their guardians, plans, consents and the change log.
-- Ids are UUID strings stored as TEXT; SQLite compares TEXT byte-wise (the PostgreSQL schema
-- uses the "C" collation to match).

CREATE TABLE individuals (
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

CREATE TABLE guardians (
    id              TEXT PRIMARY KEY,
    individual_id   TEXT NOT NULL REFERENCES individuals (id),
    position        INTEGER NOT NULL,
    name            TEXT NOT NULL,
    identity_number TEXT,
    UNIQUE (individual_id, position)
);

CREATE TABLE plans (
    id                   TEXT PRIMARY KEY,
    individual_id        TEXT NOT NULL REFERENCES individuals (id),
    initiating_unit      TEXT NOT NULL,
    initiating_principal TEXT NOT NULL CHECK (initiating_principal IN ('region', 'municipality', 'other')),
    created_by           TEXT NOT NULL,
    need_reason          TEXT NOT NULL,
    what_matters         TEXT,
    topics_to_avoid      TEXT NOT NULL,
    follows_discharge    BOOLEAN NOT NULL,
    discharge_ready_at   TIMESTAMP,
    status               TEXT NOT NULL CHECK (status IN ('need_identified', 'consented', 'summoned', 'established', 'revising', 'closed', 'refused')),
    closing_reason       TEXT CHECK (closing_reason IN ('goals_met', 'coordination_no_longer_needed', 'consent_withdrawn', 'replaced_by_new_plan', 'consent_refused', 'other')),
    closing_note         TEXT,
    closed_at            TIMESTAMP,
    version              BIGINT NOT NULL,
    created_at           TIMESTAMP NOT NULL,
    updated_at           TIMESTAMP NOT NULL
);
CREATE INDEX plans_individual_idx ON plans (individual_id, id);
CREATE INDEX plans_initiating_unit_idx ON plans (initiating_unit, id);
CREATE INDEX plans_status_idx ON plans (status, id);
CREATE INDEX plans_updated_at_idx ON plans (updated_at);

CREATE TABLE consents (
    id                     TEXT PRIMARY KEY,
    plan_id                TEXT NOT NULL REFERENCES plans (id),
    outcome                TEXT NOT NULL CHECK (outcome IN ('given', 'refused')),
    form                   TEXT NOT NULL CHECK (form IN ('written', 'verbal')),
    documented_by          TEXT,
    permits_sharing        BOOLEAN NOT NULL,
    permits_summons        BOOLEAN NOT NULL,
    permits_establishing   BOOLEAN NOT NULL,
    permits_relatives      BOOLEAN NOT NULL,
    not_consented_to       TEXT NOT NULL,
    valid_from             DATE,
    valid_until            DATE,
    note                   TEXT,
    withdrawn_at           TIMESTAMP,
    withdrawal_reason      TEXT,
    recorded_by            TEXT NOT NULL,
    recorded_by_unit       TEXT NOT NULL,
    version                BIGINT NOT NULL,
    created_at             TIMESTAMP NOT NULL,
    updated_at             TIMESTAMP NOT NULL
);
CREATE INDEX consents_plan_idx ON consents (plan_id, id);

-- Who gave (or refused) a consent: the individual, a guardian, or a legal representative.
CREATE TABLE consent_givers (
    consent_id          TEXT NOT NULL REFERENCES consents (id),
    position            INTEGER NOT NULL,
    role                TEXT NOT NULL CHECK (role IN ('individual', 'guardian', 'legal_representative')),
    guardian_id         TEXT,
    name                TEXT,
    representative_kind TEXT CHECK (representative_kind IN ('trustee', 'administrator', 'power_of_attorney', 'continuing_power_of_attorney')),
    PRIMARY KEY (consent_id, position)
);

-- The units (by HSA-id) and other actors a consent covers.
CREATE TABLE consent_parties (
    consent_id TEXT NOT NULL REFERENCES consents (id),
    position   INTEGER NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('unit', 'actor')),
    hsa_id     TEXT,
    name       TEXT NOT NULL,
    principal  TEXT NOT NULL CHECK (principal IN ('region', 'municipality', 'other')),
    PRIMARY KEY (consent_id, position)
);
CREATE INDEX consent_parties_hsa_idx ON consent_parties (hsa_id);

-- Every change, recorded once in the same transaction as the change itself: the base of the plan
-- history and of the coming change feed. Ids and states only, never personal data.
CREATE TABLE change_events (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    event_type    TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id   TEXT NOT NULL,
    plan_id       TEXT,
    version       BIGINT NOT NULL,
    from_status   TEXT,
    to_status     TEXT,
    reason        TEXT,
    subject       TEXT NOT NULL,
    unit          TEXT NOT NULL,
    occurred_at   TIMESTAMP NOT NULL
);
CREATE INDEX change_events_plan_idx ON change_events (plan_id, seq);
