-- Interoperability (issue 16): scopes of OAuth2 tokens issued to FHIR API
-- clients, and per-device tokens of Nightscout-compatible CGM uploaders.

-- A FHIR token is a console session (same expiry, revocation, audit and
-- sign-in rate limit as the console); this row narrows what it may read to
-- the SMART scopes granted at the token endpoint. A session without a row
-- is an ordinary console sign-in.
CREATE TABLE api_token_scopes (
    token_hash bytea PRIMARY KEY REFERENCES console_sessions (token_hash) ON DELETE CASCADE,
    scopes     text[] NOT NULL
);

-- Uploaders (xDrip+, AndroidAPS, Nightscout uploaders) send the SHA-1 hex of
-- their secret in the api-secret header. The table keeps only a SHA-256 of
-- that SHA-1, so a leaked table does not hand out uploads. A token belongs to
-- a device; the registry's assignment gives the patient at measurement time.
CREATE TABLE upload_tokens (
    secret_hash bytea PRIMARY KEY,
    device_id   text NOT NULL REFERENCES devices (id),
    label       text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
CREATE INDEX upload_tokens_device ON upload_tokens (device_id);
