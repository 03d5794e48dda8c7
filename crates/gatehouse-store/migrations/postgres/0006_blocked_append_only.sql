-- The blocked-request log is append-only like the audit trail (AU-2): nothing in
-- Gatehouse updates, deletes or truncates a refused request, and the database
-- refuses it too. Its hourly counts and totals are kept by the AFTER INSERT
-- trigger, which these leave alone. The owner of the database can drop these
-- triggers; every refusal is also a record in the hash chain, which catches that.
CREATE FUNCTION blocked_requests_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'blocked requests are append-only';
END
$$;
CREATE TRIGGER blocked_requests_append_only BEFORE UPDATE OR DELETE ON blocked_requests
    FOR EACH ROW EXECUTE FUNCTION blocked_requests_append_only();
CREATE TRIGGER blocked_requests_no_truncate BEFORE TRUNCATE ON blocked_requests
    FOR EACH STATEMENT EXECUTE FUNCTION blocked_requests_append_only();
