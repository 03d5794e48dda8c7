-- What refused a gateway request, for the blocked dashboard's breakdowns (GW-6,
-- CO-5): the bot verdict the gateway gave the request (`human`, `bot`,
-- `bad_bot`; NULL for the API's own refusals) and what matched it (the WAF
-- rule that decided a `waf` block, the decoy a `honeypot` source hit, the tool a
-- `bot` block recognised). Counted by the same trigger, in three dimensions:
-- 'bot' (every verdict), 'waf_rule' and 'decoy'.
ALTER TABLE blocked_requests ADD COLUMN bot TEXT;
ALTER TABLE blocked_requests ADD COLUMN matched TEXT;

CREATE OR REPLACE FUNCTION blocked_requests_hourly() RETURNS trigger AS $$
DECLARE
    hour BIGINT := (NEW.time_us / 3600000000) * 3600000000;
BEGIN
    INSERT INTO blocked_hourly (dimension, hour_us, key, count)
        SELECT d, hour, k, 1 FROM (VALUES
            ('reason', NEW.reason),
            ('source', NEW.source_ip),
            ('route', NEW.route),
            ('identity', NEW.identity),
            ('bot', NEW.bot),
            ('waf_rule', CASE WHEN NEW.reason = 'waf' THEN NEW.matched END),
            ('decoy', CASE WHEN NEW.reason = 'honeypot' THEN NEW.matched END)
        ) AS v(d, k) WHERE k IS NOT NULL
    ON CONFLICT (dimension, hour_us, key) DO UPDATE SET count = blocked_hourly.count + 1;
    INSERT INTO blocked_totals (dimension, key, count)
        SELECT d, k, 1 FROM (VALUES
            ('reason', NEW.reason),
            ('source', NEW.source_ip),
            ('route', NEW.route),
            ('identity', NEW.identity),
            ('bot', NEW.bot),
            ('waf_rule', CASE WHEN NEW.reason = 'waf' THEN NEW.matched END),
            ('decoy', CASE WHEN NEW.reason = 'honeypot' THEN NEW.matched END)
        ) AS v(d, k) WHERE k IS NOT NULL
    ON CONFLICT (dimension, key) DO UPDATE SET count = blocked_totals.count + 1;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
