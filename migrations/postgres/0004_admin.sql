-- Administration (admin API and console): user search, per-user token cut-off,
-- the client IP of a session, and audit events indexed by the user they are about.

-- Password-login JWTs issued before this time (ms) are refused: "log out everywhere".
ALTER TABLE users ADD COLUMN tokens_not_before BIGINT;

-- Where the login that started the session came from (shown to the site's admins).
ALTER TABLE sessions ADD COLUMN client_ip TEXT;

-- The user an event is about (a copy of detail.user_id, for filtering and for
-- a user's last login without reading every event of the site).
ALTER TABLE audit_events ADD COLUMN user_id BIGINT;
CREATE INDEX audit_events_by_user ON audit_events (site_id, user_id, event_id);
CREATE INDEX audit_events_by_action ON audit_events (site_id, action, event_id);

-- Newest-first user lists of one site page on this index.
CREATE INDEX users_by_site ON users (site_id, user_id);

-- Case-insensitive substring search over a user's identifiers: a generated column
-- (so no code path that writes users can forget it) with a trigram index, which
-- answers LIKE '%q%' for patterns of three characters or more.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
ALTER TABLE users ADD COLUMN search_text TEXT GENERATED ALWAYS AS (
    lower(COALESCE(external_id, '') || chr(31) || COALESCE(username, '') || chr(31) ||
          display_name || chr(31) || COALESCE(email, ''))
) STORED;
CREATE INDEX users_search ON users USING gin (search_text gin_trgm_ops);
