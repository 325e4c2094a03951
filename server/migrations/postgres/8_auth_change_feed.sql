-- Every instance caches live sessions for a moment (auth/session_cache.rs). Any change to an account or
-- a session, made by whoever (another instance, a CLI, an operator in psql), is announced on the
-- `neoforge_auth` channel with the user's id; each instance listens and forgets that user's sessions.
-- NOTIFY is delivered at commit, and not at all when the transaction rolls back.
CREATE FUNCTION neoforge_auth_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'users' THEN
        PERFORM pg_notify('neoforge_auth', OLD.id::text);
    ELSE
        PERFORM pg_notify('neoforge_auth', OLD.user_id::text);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER users_auth_changed AFTER UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION neoforge_auth_changed();
CREATE TRIGGER sessions_auth_changed AFTER UPDATE OR DELETE ON sessions
    FOR EACH ROW EXECUTE FUNCTION neoforge_auth_changed();
