-- Hourly counts of the blocked-request log by reason, source, identity and route,
-- kept by a trigger as each refused request is logged, so that a summary over
-- weeks reads hours instead of every request (the blocked dashboard, CO-5).
-- Whole hours inside a range come from here; the partial hours at its ends from
-- blocked_requests itself, so every summary stays exact.
CREATE TABLE blocked_hourly (
    dimension TEXT   NOT NULL,   -- 'reason', 'source', 'identity' or 'route'
    hour_us   BIGINT NOT NULL,   -- the hour's start, unix microseconds
    key       TEXT   NOT NULL,
    count     BIGINT NOT NULL,
    PRIMARY KEY (dimension, hour_us, key)
);

INSERT INTO blocked_hourly (dimension, hour_us, key, count)
SELECT 'reason', (time_us / 3600000000) * 3600000000, reason, COUNT(*)
FROM blocked_requests GROUP BY 2, 3;
INSERT INTO blocked_hourly (dimension, hour_us, key, count)
SELECT 'source', (time_us / 3600000000) * 3600000000, source_ip, COUNT(*)
FROM blocked_requests GROUP BY 2, 3;
INSERT INTO blocked_hourly (dimension, hour_us, key, count)
SELECT 'identity', (time_us / 3600000000) * 3600000000, identity, COUNT(*)
FROM blocked_requests WHERE identity IS NOT NULL GROUP BY 2, 3;
INSERT INTO blocked_hourly (dimension, hour_us, key, count)
SELECT 'route', (time_us / 3600000000) * 3600000000, route, COUNT(*)
FROM blocked_requests GROUP BY 2, 3;

CREATE FUNCTION blocked_requests_hourly() RETURNS trigger AS $$
BEGIN
    INSERT INTO blocked_hourly (dimension, hour_us, key, count) VALUES
        ('reason', (NEW.time_us / 3600000000) * 3600000000, NEW.reason, 1),
        ('source', (NEW.time_us / 3600000000) * 3600000000, NEW.source_ip, 1),
        ('route', (NEW.time_us / 3600000000) * 3600000000, NEW.route, 1)
    ON CONFLICT (dimension, hour_us, key) DO UPDATE SET count = blocked_hourly.count + 1;
    IF NEW.identity IS NOT NULL THEN
        INSERT INTO blocked_hourly (dimension, hour_us, key, count) VALUES
            ('identity', (NEW.time_us / 3600000000) * 3600000000, NEW.identity, 1)
        ON CONFLICT (dimension, hour_us, key) DO UPDATE SET count = blocked_hourly.count + 1;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER blocked_requests_hourly AFTER INSERT ON blocked_requests
    FOR EACH ROW EXECUTE FUNCTION blocked_requests_hourly();
