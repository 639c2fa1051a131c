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

-- Case-insensitive substring search over a user's identifiers: an FTS5 trigram index
-- (rowid = user_id), kept in step with the users table by triggers, so that no code
-- path that writes users can forget it. Queries use LIKE '%q%' on it, which FTS5
-- answers from the trigram index for patterns of three characters or more.
CREATE VIRTUAL TABLE users_search USING fts5 (
    text,
    tokenize = 'trigram case_sensitive 0'
);

INSERT INTO users_search (rowid, text)
SELECT user_id,
       COALESCE(external_id, '') || char(31) || COALESCE(username, '') || char(31) ||
       display_name || char(31) || COALESCE(email, '')
FROM users;

CREATE TRIGGER users_search_insert AFTER INSERT ON users BEGIN
    INSERT INTO users_search (rowid, text) VALUES (
        new.user_id,
        COALESCE(new.external_id, '') || char(31) || COALESCE(new.username, '') || char(31) ||
        new.display_name || char(31) || COALESCE(new.email, ''));
END;

CREATE TRIGGER users_search_update
AFTER UPDATE OF external_id, username, display_name, email ON users BEGIN
    DELETE FROM users_search WHERE rowid = old.user_id;
    INSERT INTO users_search (rowid, text) VALUES (
        new.user_id,
        COALESCE(new.external_id, '') || char(31) || COALESCE(new.username, '') || char(31) ||
        new.display_name || char(31) || COALESCE(new.email, ''));
END;

CREATE TRIGGER users_search_delete AFTER DELETE ON users BEGIN
    DELETE FROM users_search WHERE rowid = old.user_id;
END;
