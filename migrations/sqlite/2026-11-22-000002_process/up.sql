-- The SIP process: summons and their recipients, the meeting that establishes the plan, goals,
-- interventions, follow-ups, revisions, and the units to tell when a plan closes.

ALTER TABLE plans ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
ALTER TABLE plans ADD COLUMN next_follow_up_on DATE;
ALTER TABLE plans ADD COLUMN procedure_code TEXT;
ALTER TABLE plans ADD COLUMN responsible_principal TEXT;
ALTER TABLE plans ADD COLUMN coordinator_name TEXT;
ALTER TABLE plans ADD COLUMN coordinator_unit TEXT;
CREATE INDEX plans_next_follow_up_idx ON plans (next_follow_up_on);

-- Free-text reasons belong to the plan's history (behind the plan's access rules), never to the
-- change feed, which carries ids and codes only.
ALTER TABLE change_events ADD COLUMN note TEXT;

CREATE TABLE summons (
    id                   TEXT PRIMARY KEY,
    plan_id              TEXT NOT NULL REFERENCES plans (id),
    purpose              TEXT NOT NULL,
    questions            TEXT NOT NULL,
    meeting_at           TIMESTAMP NOT NULL,
    meeting_place        TEXT NOT NULL,
    meeting_form         TEXT NOT NULL CHECK (meeting_form IN ('premises', 'home', 'video', 'phone')),
    support_person       TEXT,
    interpreter_language TEXT,
    adaptations          TEXT,
    sent_at              TIMESTAMP NOT NULL,
    sent_by              TEXT NOT NULL,
    sent_by_unit         TEXT NOT NULL,
    meeting_within_deadline BOOLEAN NOT NULL,
    summons_within_discharge_deadline BOOLEAN,
    version              BIGINT NOT NULL,
    created_at           TIMESTAMP NOT NULL,
    updated_at           TIMESTAMP NOT NULL
);
CREATE INDEX summons_plan_idx ON summons (plan_id, id);
CREATE INDEX summons_sender_idx ON summons (sent_by_unit, meeting_at);

CREATE TABLE summons_recipients (
    id             TEXT PRIMARY KEY,
    summons_id     TEXT NOT NULL REFERENCES summons (id),
    plan_id        TEXT NOT NULL REFERENCES plans (id),
    position       INTEGER NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('unit', 'actor')),
    hsa_id         TEXT,
    name           TEXT NOT NULL,
    principal      TEXT NOT NULL CHECK (principal IN ('region', 'municipality', 'other')),
    obligation     TEXT NOT NULL CHECK (obligation IN ('summoned', 'invited')),
    answer_by      DATE NOT NULL,
    response       TEXT CHECK (response IN ('accepted', 'declined', 'forwarded')),
    attendees      TEXT,
    substitute     TEXT,
    forwarded_from TEXT,
    answered_at    TIMESTAMP,
    answered_by    TEXT,
    attended       BOOLEAN,
    version        BIGINT NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);
CREATE INDEX summons_recipients_summons_idx ON summons_recipients (summons_id, position);
CREATE INDEX summons_recipients_open_idx ON summons_recipients (answer_by) WHERE response IS NULL;

CREATE TABLE meetings (
    id                       TEXT PRIMARY KEY,
    plan_id                  TEXT NOT NULL REFERENCES plans (id),
    summons_id               TEXT NOT NULL REFERENCES summons (id),
    held_at                  TIMESTAMP NOT NULL,
    leader_name              TEXT NOT NULL,
    leader_unit              TEXT,
    secretary_name           TEXT NOT NULL,
    secretary_unit           TEXT,
    participants             TEXT NOT NULL,
    disagreements            TEXT,
    individual_agreed        BOOLEAN NOT NULL,
    individual_received_plan BOOLEAN NOT NULL,
    sip_survey_offered       BOOLEAN NOT NULL,
    visible_in_1177          BOOLEAN NOT NULL,
    held_within_deadline     BOOLEAN NOT NULL,
    procedure_code           TEXT NOT NULL CHECK (procedure_code IN ('AU124', 'AU125')),
    recorded_by              TEXT NOT NULL,
    recorded_by_unit         TEXT NOT NULL,
    created_at               TIMESTAMP NOT NULL,
    UNIQUE (plan_id)
);

CREATE TABLE goals (
    id          TEXT PRIMARY KEY,
    plan_id     TEXT NOT NULL REFERENCES plans (id),
    parent_id   TEXT REFERENCES goals (id),
    position    INTEGER NOT NULL,
    text        TEXT NOT NULL,
    measure     TEXT,
    target_date DATE,
    status      TEXT NOT NULL CHECK (status IN ('active', 'fulfilled', 'partly_fulfilled', 'not_fulfilled', 'dropped')),
    version     BIGINT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE INDEX goals_plan_idx ON goals (plan_id, position);

CREATE TABLE interventions (
    id                    TEXT PRIMARY KEY,
    plan_id               TEXT NOT NULL REFERENCES plans (id),
    position              INTEGER NOT NULL,
    description           TEXT NOT NULL,
    responsible_principal TEXT NOT NULL CHECK (responsible_principal IN ('region', 'municipality', 'other', 'individual')),
    responsible_unit      TEXT,
    responsible_actor     TEXT,
    performer             TEXT,
    start_date            DATE,
    frequency             TEXT,
    place                 TEXT,
    status                TEXT NOT NULL CHECK (status IN ('planned', 'ongoing', 'completed', 'cancelled', 'not_carried_out')),
    status_reason         TEXT,
    reviewed_in_revision  INTEGER NOT NULL,
    version               BIGINT NOT NULL,
    created_at            TIMESTAMP NOT NULL,
    updated_at            TIMESTAMP NOT NULL
);
CREATE INDEX interventions_plan_idx ON interventions (plan_id, position);

CREATE TABLE intervention_goals (
    intervention_id TEXT NOT NULL REFERENCES interventions (id),
    goal_id         TEXT NOT NULL REFERENCES goals (id),
    PRIMARY KEY (intervention_id, goal_id)
);

CREATE TABLE follow_ups (
    id                TEXT PRIMARY KEY,
    plan_id           TEXT NOT NULL REFERENCES plans (id),
    scheduled_on      DATE NOT NULL,
    place             TEXT NOT NULL,
    held_on           DATE,
    goal_outcomes     TEXT,
    intervention_reviews TEXT,
    new_circumstances TEXT,
    decision          TEXT CHECK (decision IN ('continue', 'revise', 'close')),
    closing_reason    TEXT,
    recorded_by       TEXT,
    recorded_by_unit  TEXT,
    version           BIGINT NOT NULL,
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL
);
CREATE INDEX follow_ups_plan_idx ON follow_ups (plan_id, scheduled_on);

-- What the plan said when it was established and after each revision: never rewritten.
CREATE TABLE plan_revisions (
    plan_id        TEXT NOT NULL REFERENCES plans (id),
    revision       INTEGER NOT NULL,
    established_at TIMESTAMP NOT NULL,
    established_by TEXT NOT NULL,
    document       TEXT NOT NULL,
    PRIMARY KEY (plan_id, revision)
);

-- Everyone involved must learn that a closed plan no longer applies (the coordinator's task).
CREATE TABLE closure_notices (
    plan_id   TEXT NOT NULL REFERENCES plans (id),
    position  INTEGER NOT NULL,
    hsa_id    TEXT,
    name      TEXT NOT NULL,
    principal TEXT NOT NULL,
    PRIMARY KEY (plan_id, position)
);
