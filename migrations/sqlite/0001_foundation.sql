-- Foundation schema: sites, API keys, access tokens, users, sessions, audit events.
-- Times are epoch milliseconds (BIGINT) on both backends so that every query is
-- written once and compares times the same way on SQLite and PostgreSQL.

CREATE TABLE sites (
    site_id     INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL,
    active      BOOLEAN NOT NULL DEFAULT TRUE,
    -- Typed settings (cookie login, general toggles) serialised as JSON; see store::sites::SiteSettings.
    settings    TEXT    NOT NULL DEFAULT '{}',
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);

-- Allowed browser origins. Indexed by origin so a CORS preflight, which carries no
-- site id, can be answered with one lookup.
CREATE TABLE site_origins (
    site_id BIGINT NOT NULL REFERENCES sites (site_id) ON DELETE CASCADE,
    origin  TEXT   NOT NULL,
    PRIMARY KEY (site_id, origin)
);
CREATE INDEX site_origins_by_origin ON site_origins (origin);

CREATE TABLE api_keys (
    key_id       INTEGER PRIMARY KEY AUTOINCREMENT,
    site_id      BIGINT  NOT NULL REFERENCES sites (site_id) ON DELETE CASCADE,
    prefix       TEXT    NOT NULL,
    secret_hash  BLOB    NOT NULL UNIQUE,
    label        TEXT    NOT NULL DEFAULT '',
    created_at   BIGINT  NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX api_keys_by_site ON api_keys (site_id);

CREATE TABLE access_tokens (
    token_hash BLOB    PRIMARY KEY,
    site_id    BIGINT  NOT NULL REFERENCES sites (site_id) ON DELETE CASCADE,
    key_id     BIGINT  NOT NULL REFERENCES api_keys (key_id) ON DELETE CASCADE,
    scope      TEXT    NOT NULL,
    issued_at  BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL
) WITHOUT ROWID;
CREATE INDEX access_tokens_by_key ON access_tokens (key_id);
CREATE INDEX access_tokens_by_expiry ON access_tokens (expires_at);

CREATE TABLE users (
    user_id        INTEGER PRIMARY KEY AUTOINCREMENT,
    site_id        BIGINT  NOT NULL REFERENCES sites (site_id) ON DELETE CASCADE,
    external_id    TEXT,
    username       TEXT,
    -- Lower-cased copies for case-insensitive lookup, identical on both backends.
    username_key   TEXT,
    email          TEXT,
    email_key      TEXT,
    display_name   TEXT    NOT NULL DEFAULT '',
    first_name     TEXT    NOT NULL DEFAULT '',
    last_name      TEXT    NOT NULL DEFAULT '',
    photo_url      TEXT,
    social_data    TEXT,
    role           TEXT    NOT NULL DEFAULT 'user',
    password_hash  TEXT,
    language       TEXT,
    active         BOOLEAN NOT NULL DEFAULT TRUE,
    deleted        BOOLEAN NOT NULL DEFAULT FALSE,
    -- A ban is present when banned_at is set; ban_ends_at NULL means permanent.
    banned_at      BIGINT,
    ban_ends_at    BIGINT,
    ban_reason     TEXT,
    ban_note       TEXT,
    created_at     BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL
);
CREATE UNIQUE INDEX users_by_external_id ON users (site_id, external_id);
CREATE UNIQUE INDEX users_by_username ON users (site_id, username_key);
CREATE INDEX users_by_email ON users (site_id, email_key);

CREATE TABLE sessions (
    session_hash    BLOB    PRIMARY KEY,
    site_id         BIGINT  NOT NULL REFERENCES sites (site_id) ON DELETE CASCADE,
    user_id         BIGINT  NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    -- 'server' (accounts API), 'cookie' (cookie login), 'console' (admin console).
    kind            TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL,
    last_seen_at    BIGINT  NOT NULL,
    idle_expires_at BIGINT  NOT NULL,
    expires_at      BIGINT  NOT NULL,
    reverify_at     BIGINT
) WITHOUT ROWID;
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_idle_expiry ON sessions (idle_expires_at);

CREATE TABLE audit_events (
    event_id   INTEGER PRIMARY KEY AUTOINCREMENT,
    site_id    BIGINT,
    at         BIGINT NOT NULL,
    actor      TEXT   NOT NULL,
    action     TEXT   NOT NULL,
    outcome    TEXT   NOT NULL,
    client_ip  TEXT,
    detail     TEXT   NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_by_site ON audit_events (site_id, event_id);
