-- Alarm lifecycle (issue 7): alarm state and timers on alerts, alarm
-- conditions, people and rosters, escalation and suppression settings,
-- per-patient limits and the notification outbox. Docs: docs/alarms.md.

-- The lifecycle of each alert (alerts.alarm_state_machine). Timers are due
-- times, so a restarted service finds every pending escalation, pause end
-- and re-announce here.
ALTER TABLE alerts
    ADD COLUMN source             text NOT NULL DEFAULT '',  -- the device, for device-level technical alarms
    ADD COLUMN condition_present  boolean NOT NULL DEFAULT true,
    ADD COLUMN escalation_level   integer NOT NULL DEFAULT 0,
    ADD COLUMN escalation_due_at  timestamptz,
    ADD COLUMN paused_until       timestamptz,
    ADD COLUMN reannounce_at      timestamptz,
    ADD COLUMN due_at             timestamptz,
    ADD COLUMN acknowledged_by    text,
    ADD COLUMN acknowledged_at    timestamptz,
    ADD COLUMN resolved_at        timestamptz,
    ADD COLUMN trigger_count      integer NOT NULL DEFAULT 1,
    ADD COLUMN last_value         double precision,
    ADD COLUMN worst_severity     double precision NOT NULL DEFAULT 0,
    ADD COLUMN seq                integer NOT NULL DEFAULT 1,
    ADD COLUMN updated_at         timestamptz NOT NULL DEFAULT now();
ALTER TABLE alerts ADD CONSTRAINT alerts_state_known
    CHECK (state IN ('active', 'escalated', 'acknowledged', 'paused', 'resolved'));
CREATE INDEX alerts_due ON alerts (due_at) WHERE due_at IS NOT NULL;
-- The open alarm of a condition (the engine keeps it to one: repeated
-- triggers update it; not a unique index, so tools may still insert alerts).
CREATE INDEX alerts_open_condition ON alerts (patient_id, rule, source) WHERE state <> 'resolved';

-- New kinds of alert_events (the storage branch declares kinds in a table;
-- without that table the event column is free text).
DO $$
BEGIN
    IF to_regclass('alert_event_kinds') IS NOT NULL THEN
        INSERT INTO alert_event_kinds (kind, description) VALUES
            ('condition_cleared', 'the condition ended; a latching alarm waits for acknowledgement'),
            ('condition_returned', 'the condition of a latched alarm came back'),
            ('reannounced', 'an acknowledged alarm sounded again: its condition persists'),
            ('notify_failed', 'a channel gave up on a notification (dead letter)')
        ON CONFLICT (kind) DO NOTHING;
    END IF;
END $$;

-- Per patient, rule and source: the suppression state (alerts.suppression)
-- as JSON, with the columns the timer loop and the signal-loss check query.
CREATE TABLE alarm_conditions (
    patient_id  text NOT NULL,
    rule        text NOT NULL,
    source      text NOT NULL DEFAULT '',
    phase       text NOT NULL CHECK (phase IN ('idle', 'pending', 'present', 'clearing')),
    state       jsonb NOT NULL,
    alarm_id    text,
    due_at      timestamptz,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (patient_id, rule, source)
);
CREATE INDEX alarm_conditions_due ON alarm_conditions (due_at) WHERE due_at IS NOT NULL;

-- People who can be called. The id is the user id where the person also
-- signs in to the console.
CREATE TABLE responders (
    id            text PRIMARY KEY,
    display_name  text NOT NULL,
    phone         text,
    locale        text NOT NULL DEFAULT 'vi' CHECK (locale IN ('vi', 'en')),
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- The roster: who holds which role where, from when to when (editable;
-- every change is in audit_log). ward_id NULL: hospital-wide (rapid response).
CREATE TABLE roster_shifts (
    id            bigserial PRIMARY KEY,
    responder_id  text NOT NULL REFERENCES responders (id),
    role          text NOT NULL CHECK (role IN ('nurse', 'charge_nurse', 'rapid_response')),
    ward_id       text REFERENCES wards (id),
    beds          text[],
    starts_at     timestamptz NOT NULL,
    ends_at       timestamptz NOT NULL,
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at > starts_at)
);
CREATE INDEX roster_shifts_time ON roster_shifts (ward_id, ends_at);

-- Home patients: their care team (commune health station, family doctor).
CREATE TABLE care_teams (
    id           text PRIMARY KEY,
    name         text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('commune_health_station', 'family_doctor', 'outreach')),
    quiet_start  time,
    quiet_end    time,
    timezone     text NOT NULL DEFAULT 'Asia/Ho_Chi_Minh'
);
CREATE TABLE care_team_members (
    team_id       text NOT NULL REFERENCES care_teams (id),
    responder_id  text NOT NULL REFERENCES responders (id),
    role          text NOT NULL CHECK (role IN ('primary', 'backup')),
    PRIMARY KEY (team_id, responder_id)
);
CREATE TABLE patient_care_teams (
    patient_id  text PRIMARY KEY REFERENCES patients (id),
    team_id     text NOT NULL REFERENCES care_teams (id)
);

-- Escalation chains replacing the declared defaults (alerts.escalation_policy):
-- scope = a ward id, '*' (every ward) or 'home'.
CREATE TABLE escalation_steps (
    scope     text NOT NULL,
    priority  text NOT NULL CHECK (priority IN ('high', 'medium', 'low')),
    level     integer NOT NULL CHECK (level >= 1),
    after_s   double precision NOT NULL CHECK (after_s > 0),
    target    text NOT NULL CHECK (target IN ('nurse', 'charge_nurse', 'rapid_response')),
    PRIMARY KEY (scope, priority, level)
);

-- Suppression settings replacing the declared defaults (alerts.suppression_policy)
-- for one ward; NULL inherits.
CREATE TABLE alarm_settings (
    ward_id             text NOT NULL REFERENCES wards (id),
    rule                text NOT NULL,
    delay_s             double precision CHECK (delay_s >= 0),
    area                double precision CHECK (area > 0),
    immediate_severity  double precision CHECK (immediate_severity > 0),
    clear_evaluations   integer CHECK (clear_evaluations >= 1),
    clear_hold_s        double precision CHECK (clear_hold_s > 0),
    stale_after_s       double precision CHECK (stale_after_s > 0),
    max_gap_s           double precision CHECK (max_gap_s > 0),
    artifact_gated      boolean,
    PRIMARY KEY (ward_id, rule)
);

-- A clinician's limit for one patient and rule (audited in audit_log).
CREATE TABLE patient_alarm_limits (
    patient_id   text NOT NULL REFERENCES patients (id),
    rule         text NOT NULL,
    limit_value  double precision NOT NULL,
    reason       text NOT NULL,
    set_by       text NOT NULL,
    set_at       timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    PRIMARY KEY (patient_id, rule)
);

-- Notifications to send, written in the same transaction as the alarm
-- change they announce (transactional outbox): a channel outage delays a
-- notification, never loses it, and never holds up the other channels.
CREATE TABLE notification_outbox (
    id               bigserial PRIMARY KEY,
    dedup_key        text NOT NULL UNIQUE,
    alert_id         text NOT NULL REFERENCES alerts (id),
    seq              integer NOT NULL,
    channel          text NOT NULL CHECK (channel IN ('webhook', 'sms')),
    recipient        text NOT NULL,
    address          text NOT NULL,
    body             text NOT NULL,
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'dead')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    sent_at          timestamptz
);
CREATE INDEX notification_outbox_due ON notification_outbox (channel, next_attempt_at) WHERE status = 'pending';
