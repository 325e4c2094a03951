-- Per-user counts of owned rows for the quotas (MAX_PROJECTS_PER_USER, MAX_POSTS_PER_USER,
-- MAX_TICKETS_PER_USER). Triggers keep them, so no write path can skip one; a quota check reads one row
-- instead of counting the user's rows (a cost that grew with every row the user made). The insert's
-- counter update holds the user's counter row until commit, so one user's concurrent creates count one
-- at a time (this replaces locking the user's row).
CREATE TABLE quota_usage (
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    resource TEXT NOT NULL,
    used BIGINT NOT NULL,
    PRIMARY KEY (user_id, resource)
);

INSERT INTO quota_usage (user_id, resource, used)
    SELECT owner_id, 'projects', COUNT(*) FROM projects GROUP BY owner_id;
INSERT INTO quota_usage (user_id, resource, used)
    SELECT author_id, 'community_posts', COUNT(*) FROM community_posts GROUP BY author_id;
INSERT INTO quota_usage (user_id, resource, used)
    SELECT user_id, 'support_tickets', COUNT(*) FROM support_tickets WHERE user_id IS NOT NULL GROUP BY user_id;

-- Statement-level triggers with transition tables: one counter update per owner and statement, so a bulk
-- insert (a seed, an import) costs one update of each owner's row, not one per inserted row (a row-level
-- trigger made a 100,000-row seed crawl). Static SQL, so PL/pgSQL keeps the plans.
CREATE FUNCTION projects_quota() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO quota_usage (user_id, resource, used)
            SELECT owner_id, 'projects', COUNT(*) FROM inserted WHERE owner_id IS NOT NULL GROUP BY owner_id
        ON CONFLICT (user_id, resource) DO UPDATE SET used = quota_usage.used + excluded.used;
    ELSE
        UPDATE quota_usage q SET used = q.used - d.n
            FROM (SELECT owner_id AS owner, COUNT(*) AS n FROM removed WHERE owner_id IS NOT NULL GROUP BY owner_id) d
            WHERE q.user_id = d.owner AND q.resource = 'projects';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER projects_quota_added AFTER INSERT ON projects REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION projects_quota();
CREATE TRIGGER projects_quota_removed AFTER DELETE ON projects REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION projects_quota();

CREATE FUNCTION posts_quota() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO quota_usage (user_id, resource, used)
            SELECT author_id, 'community_posts', COUNT(*) FROM inserted WHERE author_id IS NOT NULL GROUP BY author_id
        ON CONFLICT (user_id, resource) DO UPDATE SET used = quota_usage.used + excluded.used;
    ELSE
        UPDATE quota_usage q SET used = q.used - d.n
            FROM (SELECT author_id AS owner, COUNT(*) AS n FROM removed WHERE author_id IS NOT NULL GROUP BY author_id) d
            WHERE q.user_id = d.owner AND q.resource = 'community_posts';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER community_posts_quota_added AFTER INSERT ON community_posts REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION posts_quota();
CREATE TRIGGER community_posts_quota_removed AFTER DELETE ON community_posts REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION posts_quota();

-- Anonymous tickets (user_id NULL) count for nobody; a deleted account's tickets keep no counter.
CREATE FUNCTION tickets_quota() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO quota_usage (user_id, resource, used)
            SELECT user_id, 'support_tickets', COUNT(*) FROM inserted WHERE user_id IS NOT NULL GROUP BY user_id
        ON CONFLICT (user_id, resource) DO UPDATE SET used = quota_usage.used + excluded.used;
    ELSE
        UPDATE quota_usage q SET used = q.used - d.n
            FROM (SELECT user_id AS owner, COUNT(*) AS n FROM removed WHERE user_id IS NOT NULL GROUP BY user_id) d
            WHERE q.user_id = d.owner AND q.resource = 'support_tickets';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER support_tickets_quota_added AFTER INSERT ON support_tickets REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION tickets_quota();
CREATE TRIGGER support_tickets_quota_removed AFTER DELETE ON support_tickets REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION tickets_quota();
