-- Per-user counts of owned rows for the quotas (MAX_PROJECTS_PER_USER, MAX_POSTS_PER_USER,
-- MAX_TICKETS_PER_USER). Triggers keep them, so no write path can skip one; a quota check reads one row
-- instead of counting the user's rows (a cost that grew with every row the user made).
CREATE TABLE quota_usage (
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    resource TEXT NOT NULL,
    used INTEGER NOT NULL,
    PRIMARY KEY (user_id, resource)
) WITHOUT ROWID;

INSERT INTO quota_usage (user_id, resource, used)
    SELECT owner_id, 'projects', COUNT(*) FROM projects GROUP BY owner_id;
INSERT INTO quota_usage (user_id, resource, used)
    SELECT author_id, 'community_posts', COUNT(*) FROM community_posts GROUP BY author_id;
INSERT INTO quota_usage (user_id, resource, used)
    SELECT user_id, 'support_tickets', COUNT(*) FROM support_tickets WHERE user_id IS NOT NULL GROUP BY user_id;

CREATE TRIGGER projects_quota_insert AFTER INSERT ON projects BEGIN
    INSERT OR IGNORE INTO quota_usage (user_id, resource, used) VALUES (NEW.owner_id, 'projects', 0);
    UPDATE quota_usage SET used = used + 1 WHERE user_id = NEW.owner_id AND resource = 'projects';
END;
CREATE TRIGGER projects_quota_delete AFTER DELETE ON projects BEGIN
    UPDATE quota_usage SET used = used - 1 WHERE user_id = OLD.owner_id AND resource = 'projects';
END;

CREATE TRIGGER posts_quota_insert AFTER INSERT ON community_posts BEGIN
    INSERT OR IGNORE INTO quota_usage (user_id, resource, used) VALUES (NEW.author_id, 'community_posts', 0);
    UPDATE quota_usage SET used = used + 1 WHERE user_id = NEW.author_id AND resource = 'community_posts';
END;
CREATE TRIGGER posts_quota_delete AFTER DELETE ON community_posts BEGIN
    UPDATE quota_usage SET used = used - 1 WHERE user_id = OLD.author_id AND resource = 'community_posts';
END;

-- Anonymous tickets (user_id NULL) count for nobody; a deleted account's tickets keep no counter.
CREATE TRIGGER tickets_quota_insert AFTER INSERT ON support_tickets WHEN NEW.user_id IS NOT NULL BEGIN
    INSERT OR IGNORE INTO quota_usage (user_id, resource, used) VALUES (NEW.user_id, 'support_tickets', 0);
    UPDATE quota_usage SET used = used + 1 WHERE user_id = NEW.user_id AND resource = 'support_tickets';
END;
CREATE TRIGGER tickets_quota_delete AFTER DELETE ON support_tickets WHEN OLD.user_id IS NOT NULL BEGIN
    UPDATE quota_usage SET used = used - 1 WHERE user_id = OLD.user_id AND resource = 'support_tickets';
END;
