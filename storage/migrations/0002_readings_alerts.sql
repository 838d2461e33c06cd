-- Raw readings. The natural key (device, type, measurement time) makes a
-- replayed or re-uploaded reading a no-op.
CREATE TABLE readings (
    measured_at  timestamptz NOT NULL,
    patient_id   text NOT NULL,
    device_id    text NOT NULL,
    type         text NOT NULL,
    value        double precision NOT NULL,
    unit         text NOT NULL,
    flags        text[] NOT NULL DEFAULT '{}',
    seq          bigint NOT NULL,
    received_at  timestamptz NOT NULL,
    PRIMARY KEY (device_id, type, measured_at)
);
CREATE INDEX readings_patient_time ON readings (patient_id, type, measured_at DESC);

CREATE TABLE alerts (
    id            text PRIMARY KEY,
    patient_id    text NOT NULL,
    rule          text NOT NULL,
    parameter     text,
    priority      text NOT NULL CHECK (priority IN ('high', 'medium', 'low')),
    state         text NOT NULL DEFAULT 'active',
    value         double precision,
    threshold     double precision,
    message       text NOT NULL,
    window_start  timestamptz NOT NULL,
    window_end    timestamptz NOT NULL,
    detected_at   timestamptz NOT NULL,
    raised_at     timestamptz NOT NULL DEFAULT now(),
    evidence      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX alerts_recent ON alerts (raised_at DESC);
CREATE INDEX alerts_patient ON alerts (patient_id, raised_at DESC);

CREATE TABLE alert_events (
    id        bigserial PRIMARY KEY,
    alert_id  text NOT NULL REFERENCES alerts (id),
    event     text NOT NULL,
    actor     text NOT NULL,
    at        timestamptz NOT NULL DEFAULT now(),
    detail    jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX alert_events_alert ON alert_events (alert_id, at);

-- Each service process reports its state here, so the console's /healthz
-- can show every stage without knowing where the processes run.
CREATE TABLE service_heartbeats (
    service     text NOT NULL,
    instance    text NOT NULL,
    ready       boolean NOT NULL,
    detail      jsonb NOT NULL DEFAULT '{}',
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (service, instance)
);
