-- Alerts and their lifecycle, glucose metrics, service heartbeats: tables
-- that are the same on plain PostgreSQL and on TimescaleDB.
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

-- What can happen to an alert (IEC 60601-1-8 lifecycle). A table, not a
-- CHECK, so a new kind is one INSERT in a later migration.
CREATE TABLE alert_event_kinds (
    kind         text PRIMARY KEY,
    description  text NOT NULL
);
INSERT INTO alert_event_kinds (kind, description) VALUES
    ('raised', 'the alert service raised the alert'),
    ('notified', 'sent on a channel (console push, SMS, webhook)'),
    ('acknowledged', 'a user acknowledged it'),
    ('paused', 'audio paused by a user for a limited time'),
    ('unpaused', 'the pause ended or was cancelled'),
    ('escalated', 'not acknowledged in time: escalated to the next responder'),
    ('resolved', 'the condition ended or a user resolved it');

-- Every action on an alert, by whom and when. Append-only like audit_log.
CREATE TABLE alert_events (
    id        bigserial PRIMARY KEY,
    alert_id  text NOT NULL REFERENCES alerts (id),
    event     text NOT NULL REFERENCES alert_event_kinds (kind),
    actor     text NOT NULL,
    at        timestamptz NOT NULL DEFAULT now(),
    detail    jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX alert_events_alert ON alert_events (alert_id, at);
CREATE TRIGGER alert_events_no_update BEFORE UPDATE OR DELETE ON alert_events
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER alert_events_no_truncate BEFORE TRUNCATE ON alert_events
    FOR EACH STATEMENT EXECUTE FUNCTION append_only();

-- Consensus CGM metrics over a period (Battelino 2019), as computed by the
-- stream workers; the query API also computes daily metrics from raw readings.
CREATE TABLE glucose_metrics (
    patient_id        text NOT NULL,
    period_start      timestamptz NOT NULL,
    period_end        timestamptz NOT NULL,
    n_samples         integer NOT NULL,
    expected_samples  double precision NOT NULL,
    coverage_pct      double precision NOT NULL,
    mean_mg_dl        double precision NOT NULL,
    sd_mg_dl          double precision,
    cv_pct            double precision,
    gmi_pct           double precision NOT NULL,
    below_54_pct      double precision NOT NULL,
    below_70_pct      double precision NOT NULL,
    in_70_180_pct     double precision NOT NULL,
    above_180_pct     double precision NOT NULL,
    above_250_pct     double precision NOT NULL,
    computed_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (patient_id, period_start, period_end),
    CHECK (period_end > period_start)
);

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
