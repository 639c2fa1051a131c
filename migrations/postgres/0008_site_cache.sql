-- Sites are held in every node's cache too (every browser login reads its site first):
-- any change to a site's row now notifies, its name and its time of change included, so
-- that no node answers with a copy older than the change. Sites change rarely; each
-- change ends what the nodes hold of that site.
DROP TRIGGER site_changed ON sites;
CREATE TRIGGER site_changed AFTER UPDATE ON sites
    FOR EACH ROW
    WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION tessera_row_changed('site', 'site_id');
