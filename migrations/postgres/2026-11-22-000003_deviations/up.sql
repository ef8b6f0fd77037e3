-- Deviations (avvikelser): reported by a unit, concerning a unit or principal, analysed and closed.
CREATE TABLE deviations (
    id                   TEXT COLLATE "C" PRIMARY KEY,
    category             TEXT NOT NULL CHECK (category IN (
        'summoned_unit_absent', 'summons_not_answered', 'summons_late', 'intervention_not_carried_out',
        'follow_up_not_held', 'plan_not_given', 'parties_disagree', 'sip_not_initiated',
        'consent_not_respected', 'individual_treated_badly', 'guideline_not_followed', 'other')),
    status               TEXT NOT NULL CHECK (status IN ('suggested', 'reported', 'under_investigation', 'closed', 'dismissed')),
    source               TEXT NOT NULL CHECK (source IN ('manual', 'automatic')),
    -- For automatic filing: the event it was filed for, so recording it twice files it once.
    source_key           TEXT UNIQUE,
    reporting_unit       TEXT NOT NULL,
    reporting_principal  TEXT NOT NULL CHECK (reporting_principal IN ('region', 'municipality', 'other')),
    concerned_unit       TEXT,
    concerned_name       TEXT,
    concerned_principal  TEXT NOT NULL CHECK (concerned_principal IN ('region', 'municipality', 'other')),
    plan_id              TEXT COLLATE "C" REFERENCES plans (id),
    occurred_at          TIMESTAMP NOT NULL,
    description          TEXT NOT NULL,
    system_level         BOOLEAN NOT NULL,
    temporary_division   TEXT,
    feedback_due         DATE NOT NULL,
    feedback             TEXT,
    feedback_at          TIMESTAMP,
    analysis             TEXT,
    action_taken         TEXT,
    dismissal_reason     TEXT,
    closed_at            TIMESTAMP,
    created_by           TEXT NOT NULL,
    version              BIGINT NOT NULL,
    created_at           TIMESTAMP NOT NULL,
    updated_at           TIMESTAMP NOT NULL
);
CREATE INDEX deviations_reporting_idx ON deviations (reporting_unit, id);
CREATE INDEX deviations_concerned_idx ON deviations (concerned_unit, id);
CREATE INDEX deviations_occurred_idx ON deviations (occurred_at);
CREATE INDEX meetings_held_idx ON meetings (held_at);
CREATE INDEX follow_ups_scheduled_idx ON follow_ups (scheduled_on);
CREATE INDEX plans_closed_idx ON plans (closed_at);
