-- Webhooks: a unit subscribes an endpoint to the change feed. A dispatcher follows the feed for
-- each subscription (with the subscribing unit's access), queues a delivery per event here — so
-- deliveries survive a restart — and sends them in order, signed, retrying with backoff.
CREATE TABLE subscriptions (
    id                   TEXT COLLATE "C" PRIMARY KEY,
    unit                 TEXT NOT NULL,
    principal            TEXT NOT NULL CHECK (principal IN ('region', 'municipality', 'other')),
    url                  TEXT NOT NULL,
    -- JSON array of event types or "<resource>.*"; empty: every type.
    event_types          TEXT NOT NULL,
    description          TEXT,
    -- The HMAC key: kept to sign each delivery, shown to the unit only when created or rotated.
    secret               TEXT NOT NULL,
    status               TEXT NOT NULL CHECK (status IN ('active', 'paused')),
    paused_reason        TEXT,
    paused_at            TIMESTAMP,
    -- The feed position up to which events have been queued as deliveries.
    after_position       BIGINT NOT NULL,
    consecutive_failures INTEGER NOT NULL,
    next_attempt_at      TIMESTAMP,
    last_success_at      TIMESTAMP,
    last_failure_at      TIMESTAMP,
    -- Which dispatcher (service instance) works this subscription, and until when.
    lease_owner          TEXT,
    lease_until          TIMESTAMP,
    created_by           TEXT NOT NULL,
    version              BIGINT NOT NULL,
    created_at           TIMESTAMP NOT NULL,
    updated_at           TIMESTAMP NOT NULL
);
CREATE INDEX subscriptions_unit_idx ON subscriptions (unit, id);
CREATE INDEX subscriptions_status_idx ON subscriptions (status);

CREATE TABLE webhook_deliveries (
    id               TEXT COLLATE "C" PRIMARY KEY,
    subscription_id  TEXT COLLATE "C" NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    event_seq        BIGINT NOT NULL,
    event_type       TEXT NOT NULL,
    -- The exact body sent at every attempt.
    payload          TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'delivered')),
    attempts         INTEGER NOT NULL,
    last_attempt_at  TIMESTAMP,
    last_status_code INTEGER,
    last_error       TEXT,
    delivered_at     TIMESTAMP,
    created_at       TIMESTAMP NOT NULL,
    UNIQUE (subscription_id, event_seq)
);
CREATE INDEX webhook_deliveries_queue_idx ON webhook_deliveries (subscription_id, status, event_seq);

-- The delivery log: every attempt and its outcome.
CREATE TABLE webhook_attempts (
    id              TEXT COLLATE "C" PRIMARY KEY,
    delivery_id     TEXT COLLATE "C" NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    subscription_id TEXT COLLATE "C" NOT NULL,
    attempted_at    TIMESTAMP NOT NULL,
    succeeded       BOOLEAN NOT NULL,
    status_code     INTEGER,
    error           TEXT,
    duration_ms     INTEGER NOT NULL
);
CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts (delivery_id, id);
