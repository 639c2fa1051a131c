-- Password login with JWT: signing keys, revoked token ids, failed-login counters.

-- Ed25519 signing keys, shared by every node. The current key is the newest one
-- not retired; retired keys stay to verify the tokens they signed (and refreshes
-- within the refresh window) and are purged afterwards.
CREATE TABLE jwt_keys (
    kid         TEXT   PRIMARY KEY,
    public_key  BYTEA  NOT NULL,
    -- The 32-byte Ed25519 seed. The database is the trust anchor of every node.
    private_key BYTEA  NOT NULL,
    created_at  BIGINT NOT NULL,
    retired_at  BIGINT
);

-- Revoked token ids (SHA-256 of the jti), kept while the token could still be used or refreshed.
CREATE TABLE revoked_jwts (
    jti_hash   BYTEA  PRIMARY KEY,
    revoked_at BIGINT NOT NULL,
    keep_until BIGINT NOT NULL
);
CREATE INDEX revoked_jwts_by_expiry ON revoked_jwts (keep_until);

-- Failed password logins per bucket (account or client IP) and fixed time window.
CREATE TABLE login_failures (
    bucket       TEXT   NOT NULL,
    window_start BIGINT NOT NULL,
    failures     BIGINT NOT NULL,
    PRIMARY KEY (bucket, window_start)
);
CREATE INDEX login_failures_by_window ON login_failures (window_start);
