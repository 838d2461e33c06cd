-- Device registry: who wears what, where. Devices never send patient identity;
-- it lives only here.
CREATE TABLE wards (
    id          text PRIMARY KEY,
    name        text NOT NULL
);

CREATE TABLE patients (
    id            text PRIMARY KEY,
    display_name  text NOT NULL,
    ward_id       text REFERENCES wards (id),
    bed           text,
    -- NEWS2 SpO2 scale 2 applies only to patients with hypercapnic respiratory failure.
    spo2_scale    smallint NOT NULL DEFAULT 1 CHECK (spo2_scale IN (1, 2)),
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE devices (
    id          text PRIMARY KEY,
    kind        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    retired_at  timestamptz
);

CREATE TABLE assignments (
    id          bigserial PRIMARY KEY,
    device_id   text NOT NULL REFERENCES devices (id),
    patient_id  text NOT NULL REFERENCES patients (id),
    started_at  timestamptz NOT NULL,
    ended_at    timestamptz,
    CHECK (ended_at IS NULL OR ended_at > started_at)
);
-- At most one open assignment per device.
CREATE UNIQUE INDEX assignments_one_open ON assignments (device_id) WHERE ended_at IS NULL;
CREATE INDEX assignments_patient ON assignments (patient_id, started_at);

-- Append-only audit log: who read or changed what.
CREATE TABLE audit_log (
    id       bigserial PRIMARY KEY,
    at       timestamptz NOT NULL DEFAULT now(),
    actor    text NOT NULL,
    action   text NOT NULL,
    subject  text,
    detail   jsonb NOT NULL DEFAULT '{}'
);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END $$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
