-- Registry and people: wards, patients, devices, assignments, users and
-- roles, and the append-only audit log. Devices never send patient
-- identity; it lives only here. Every object is created in the schema first
-- on the search_path (no hard-coded schema), so one database can hold
-- isolated deployments or test schemas.
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
CREATE INDEX patients_ward ON patients (ward_id, bed);

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

-- Users of the console and API. Authentication secrets are optional here
-- (a hospital may authenticate through its own identity provider); roles
-- decide what a user may see, optionally limited to one ward.
CREATE TABLE roles (
    id           text PRIMARY KEY,
    description  text NOT NULL
);
INSERT INTO roles (id, description) VALUES
    ('nurse', 'ward nurse: live alert console, acknowledges and pauses alerts'),
    ('clinician', 'physician: trend review, NEWS2 and glucose history, exports'),
    ('patient', 'a patient at home: own readings only'),
    ('auditor', 'reads the audit log, no patient data'),
    ('admin', 'manages users, devices and assignments');

CREATE TABLE users (
    id             text PRIMARY KEY,
    display_name   text NOT NULL,
    locale         text NOT NULL DEFAULT 'vi' CHECK (locale IN ('vi', 'en')),
    password_hash  text,
    -- Set only for a patient's own account (home monitoring view).
    patient_id     text REFERENCES patients (id),
    created_at     timestamptz NOT NULL DEFAULT now(),
    disabled_at    timestamptz
);

CREATE TABLE user_roles (
    user_id     text NOT NULL REFERENCES users (id),
    role_id     text NOT NULL REFERENCES roles (id),
    -- NULL = every ward.
    ward_id     text REFERENCES wards (id),
    granted_by  text NOT NULL,
    granted_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX user_roles_unique ON user_roles (user_id, role_id, coalesce(ward_id, ''));

-- Append-only audit log: who read or changed what. Rows can be added,
-- never changed, deleted or truncated (auditors ask who saw what).
CREATE TABLE audit_log (
    id       bigserial PRIMARY KEY,
    at       timestamptz NOT NULL DEFAULT now(),
    actor    text NOT NULL,
    action   text NOT NULL,
    subject  text,
    detail   jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_subject ON audit_log (subject, at);
CREATE INDEX audit_log_actor ON audit_log (actor, at);

CREATE FUNCTION append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END $$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION append_only();
