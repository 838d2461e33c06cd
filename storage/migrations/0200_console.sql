-- Console sign-in (issue 8): the charge nurse role, sessions and login
-- attempts. Numbered 0200 so it sorts after the alarm lifecycle (0100) and
-- leaves room for storage's own migrations.

INSERT INTO roles (id, description) VALUES
    ('charge_nurse', 'charge nurse: a ward nurse who also receives escalated alarms')
ON CONFLICT (id) DO NOTHING;

-- Server-side sessions: revocable at once (sign-out, disabled user), shared
-- by every console replica, and nothing to sign with a key that would have
-- to be distributed. Only a SHA-256 of the token is kept, so a leaked table
-- does not hand out live sessions.
CREATE TABLE console_sessions (
    token_hash   bytea PRIMARY KEY,
    user_id      text NOT NULL REFERENCES users (id),
    csrf_token   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen    timestamptz NOT NULL DEFAULT now(),
    -- Absolute end (a shift); idle expiry is last_seen + the idle timeout.
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    user_agent   text
);
CREATE INDEX console_sessions_user ON console_sessions (user_id);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);

-- Every sign-in attempt, to rate-limit wrong passwords per user name and
-- per client address across replicas and restarts.
CREATE TABLE login_attempts (
    id         bigserial PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    username   text NOT NULL,
    client     text NOT NULL,
    ok         boolean NOT NULL
);
CREATE INDEX login_attempts_user ON login_attempts (username, at);
CREATE INDEX login_attempts_client ON login_attempts (client, at);
