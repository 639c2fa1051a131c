-- Token logins (SPEC §5.3, §5.4): the replay cache of ID tokens and signed SSO
-- tokens, and the per-site secrets that sign SSO tokens.

-- Tokens already used for a login, kept until they expire: the insert of a token
-- already here does nothing, which refuses the second use on every node at once.
-- token_hash is the SHA-256 of the flow, the site and the token's identity (an ID
-- token's signed part, an SSO token's jti); never the token itself.
CREATE TABLE used_tokens (
    token_hash BYTEA  PRIMARY KEY,
    site_id    BIGINT NOT NULL REFERENCES sites (site_id) ON DELETE CASCADE,
    used_at    BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX used_tokens_by_expiry ON used_tokens (expires_at);

-- HS256 secrets of signed-token SSO, at most two per site (a rotation keeps the old
-- one live until the site's servers sign with the new one). HS256 verification needs
-- the secret itself, so it is stored as the site signs with it: the database is the
-- trust anchor, as for the JWT signing keys. It is shown once, at creation, and never
-- returned, logged or printed afterwards.
CREATE TABLE sso_secrets (
    site_id    BIGINT NOT NULL REFERENCES sites (site_id) ON DELETE CASCADE,
    kid        TEXT   NOT NULL,
    secret     BYTEA  NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (site_id, kid)
);
