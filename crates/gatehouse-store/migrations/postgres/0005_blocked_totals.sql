-- All-time counts of the blocked-request log per reason, source, identity and
-- route, kept by the same trigger as the hourly counts. A range that covers most
-- of the log is summed as these totals minus the hours outside it: a 30-day top
-- of 50,000 sources reads 50,000 totals instead of a million hourly counts.
-- Nothing deletes from the blocked log; if that changes, this must follow.
CREATE TABLE blocked_totals (
    dimension TEXT   NOT NULL,   -- 'reason', 'source', 'identity' or 'route'
    key       TEXT   NOT NULL,
    count     BIGINT NOT NULL,
    PRIMARY KEY (dimension, key)
);

INSERT INTO blocked_totals (dimension, key, count)
SELECT dimension, key, SUM(count) FROM blocked_hourly GROUP BY dimension, key;

CREATE OR REPLACE FUNCTION blocked_requests_hourly() RETURNS trigger AS $$
BEGIN
    INSERT INTO blocked_hourly (dimension, hour_us, key, count) VALUES
        ('reason', (NEW.time_us / 3600000000) * 3600000000, NEW.reason, 1),
        ('source', (NEW.time_us / 3600000000) * 3600000000, NEW.source_ip, 1),
        ('route', (NEW.time_us / 3600000000) * 3600000000, NEW.route, 1)
    ON CONFLICT (dimension, hour_us, key) DO UPDATE SET count = blocked_hourly.count + 1;
    INSERT INTO blocked_totals (dimension, key, count) VALUES
        ('reason', NEW.reason, 1),
        ('source', NEW.source_ip, 1),
        ('route', NEW.route, 1)
    ON CONFLICT (dimension, key) DO UPDATE SET count = blocked_totals.count + 1;
    IF NEW.identity IS NOT NULL THEN
        INSERT INTO blocked_hourly (dimension, hour_us, key, count) VALUES
            ('identity', (NEW.time_us / 3600000000) * 3600000000, NEW.identity, 1)
        ON CONFLICT (dimension, hour_us, key) DO UPDATE SET count = blocked_hourly.count + 1;
        INSERT INTO blocked_totals (dimension, key, count) VALUES
            ('identity', NEW.identity, 1)
        ON CONFLICT (dimension, key) DO UPDATE SET count = blocked_totals.count + 1;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
