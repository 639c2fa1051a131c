-- Node-local caches (src/store/node_cache) learn of every change that ends or alters a
-- cached session, access token, API key, user or allowed origin from these triggers: they
-- notify channel tessera_cache in the changing transaction itself, so no write path can
-- forget it (the server, the CLI in another process, SQL typed by hand). Payloads, read by
-- node_cache::Message: session:HEX, token:HEX (the stored hash), user:ID, site:ID (its
-- state, settings or origins), key:ID.
-- A purge of expired rows notifies nobody (it sets tessera.purging for its transaction):
-- a cache refuses an expired row by itself.

-- Rows deleted by one statement (TG_ARGV: the payload's kind and the row's hashed secret
-- column; then the kind and column to name instead when too many are gone at once).
CREATE FUNCTION tessera_rows_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('tessera.purging', true) = 'on' THEN
        RETURN NULL;
    END IF;
    IF (SELECT count(*) FROM gone) <= 1000 THEN
        EXECUTE format('SELECT pg_notify(''tessera_cache'', %L || encode(%I, ''hex'')) FROM gone',
                       TG_ARGV[0] || ':', TG_ARGV[1]);
    ELSE
        EXECUTE format('SELECT pg_notify(''tessera_cache'', %L || %I) FROM (SELECT DISTINCT %I FROM gone) AS scopes',
                       TG_ARGV[2] || ':', TG_ARGV[3], TG_ARGV[3]);
    END IF;
    RETURN NULL;
END $$;

-- Many sessions at once (a site's): one notification per user instead.
CREATE TRIGGER sessions_gone AFTER DELETE ON sessions
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_rows_gone('session', 'session_hash', 'user', 'user_id');

-- A slide (last use and idle expiry moving forward) changes nothing a node must drop:
-- a node whose copy looks idle-expired reads the row again.
-- One row changed, named by its hashed secret (TG_ARGV: the payload's kind, the column).
CREATE FUNCTION tessera_secret_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('SELECT pg_notify(''tessera_cache'', %L || encode($1.%I, ''hex''))',
                   TG_ARGV[0] || ':', TG_ARGV[1]) USING OLD;
    RETURN NULL;
END $$;

CREATE TRIGGER session_changed AFTER UPDATE ON sessions
    FOR EACH ROW
    WHEN (NOT (NEW.last_seen_at >= OLD.last_seen_at
               AND NEW.idle_expires_at >= OLD.idle_expires_at
               AND (NEW.session_hash, NEW.site_id, NEW.user_id, NEW.kind, NEW.created_at,
                    NEW.expires_at, NEW.reverify_at)
                   IS NOT DISTINCT FROM
                   (OLD.session_hash, OLD.site_id, OLD.user_id, OLD.kind, OLD.created_at,
                    OLD.expires_at, OLD.reverify_at)))
    EXECUTE FUNCTION tessera_secret_changed('session', 'session_hash');

CREATE TRIGGER access_tokens_gone AFTER DELETE ON access_tokens
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_rows_gone('token', 'token_hash', 'key', 'key_id');

CREATE TRIGGER access_token_changed AFTER UPDATE ON access_tokens
    FOR EACH ROW EXECUTE FUNCTION tessera_secret_changed('token', 'token_hash');

-- A row changed or deleted, named by its id (TG_ARGV: the payload's kind, the id column).
CREATE FUNCTION tessera_row_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('tessera_cache', TG_ARGV[0] || ':' || (to_jsonb(OLD) ->> TG_ARGV[1]));
    RETURN NULL;
END $$;

-- A user changed in any way (its time of change alone is nothing): what a cached session
-- shows of it, whether it may still log in, and the profile a login compares with.
CREATE TRIGGER user_changed AFTER UPDATE ON users
    FOR EACH ROW
    WHEN ((to_jsonb(NEW) - 'updated_at' - 'search_text')
          IS DISTINCT FROM (to_jsonb(OLD) - 'updated_at' - 'search_text'))
    EXECUTE FUNCTION tessera_row_changed('user', 'user_id');

CREATE TRIGGER user_gone AFTER DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION tessera_row_changed('user', 'user_id');

-- Disabled or enabled, settings changed (the time of a change alone is nothing).
CREATE TRIGGER site_changed AFTER UPDATE ON sites
    FOR EACH ROW
    WHEN ((NEW.active, NEW.settings) IS DISTINCT FROM (OLD.active, OLD.settings))
    EXECUTE FUNCTION tessera_row_changed('site', 'site_id');

CREATE TRIGGER site_gone AFTER DELETE ON sites
    FOR EACH ROW EXECUTE FUNCTION tessera_row_changed('site', 'site_id');

-- Deleted, or its secret or site changed (its last use alone is nothing).
CREATE TRIGGER api_key_changed AFTER UPDATE ON api_keys
    FOR EACH ROW
    WHEN ((NEW.secret_hash, NEW.site_id) IS DISTINCT FROM (OLD.secret_hash, OLD.site_id))
    EXECUTE FUNCTION tessera_row_changed('key', 'key_id');

CREATE TRIGGER api_key_gone AFTER DELETE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION tessera_row_changed('key', 'key_id');

-- A site's allowed browser origins: added ones matter as much as removed ones (a cached
-- "no" becomes wrong).
CREATE FUNCTION tessera_site_origin_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM pg_notify('tessera_cache', 'site:' || NEW.site_id);
    ELSE
        PERFORM pg_notify('tessera_cache', 'site:' || OLD.site_id);
        IF TG_OP = 'UPDATE' THEN
            PERFORM pg_notify('tessera_cache', 'site:' || NEW.site_id);
        END IF;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER site_origin_changed AFTER INSERT OR UPDATE OR DELETE ON site_origins
    FOR EACH ROW EXECUTE FUNCTION tessera_site_origin_changed();
