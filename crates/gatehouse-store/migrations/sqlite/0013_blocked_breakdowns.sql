-- What refused a gateway request, for the blocked dashboard's breakdowns (GW-6,
-- CO-5): the bot verdict the gateway gave the request (`human`, `bot`,
-- `bad_bot`; NULL for the API's own refusals) and what matched it (the WAF
-- rule that decided a `waf` block, the decoy a `honeypot` source hit, the tool a
-- `bot` block recognised). Counted by the same trigger, in three dimensions:
-- 'bot' (every verdict), 'waf_rule' and 'decoy'.
ALTER TABLE blocked_requests ADD COLUMN bot TEXT;
ALTER TABLE blocked_requests ADD COLUMN matched TEXT;

DROP TRIGGER blocked_requests_hourly;

CREATE TRIGGER blocked_requests_hourly AFTER INSERT ON blocked_requests
BEGIN
    INSERT INTO blocked_hourly (dimension, hour_us, key, count) VALUES
        ('reason', (NEW.time_us / 3600000000) * 3600000000, NEW.reason, 1),
        ('source', (NEW.time_us / 3600000000) * 3600000000, NEW.source_ip, 1),
        ('route', (NEW.time_us / 3600000000) * 3600000000, NEW.route, 1)
    ON CONFLICT (dimension, hour_us, key) DO UPDATE SET count = count + 1;
    INSERT INTO blocked_hourly (dimension, hour_us, key, count)
        SELECT 'identity', (NEW.time_us / 3600000000) * 3600000000, NEW.identity, 1
        WHERE NEW.identity IS NOT NULL
        UNION ALL
        SELECT 'bot', (NEW.time_us / 3600000000) * 3600000000, NEW.bot, 1
        WHERE NEW.bot IS NOT NULL
        UNION ALL
        SELECT 'waf_rule', (NEW.time_us / 3600000000) * 3600000000, NEW.matched, 1
        WHERE NEW.reason = 'waf' AND NEW.matched IS NOT NULL
        UNION ALL
        SELECT 'decoy', (NEW.time_us / 3600000000) * 3600000000, NEW.matched, 1
        WHERE NEW.reason = 'honeypot' AND NEW.matched IS NOT NULL
    ON CONFLICT (dimension, hour_us, key) DO UPDATE SET count = count + 1;
    INSERT INTO blocked_totals (dimension, key, count) VALUES
        ('reason', NEW.reason, 1),
        ('source', NEW.source_ip, 1),
        ('route', NEW.route, 1)
    ON CONFLICT (dimension, key) DO UPDATE SET count = count + 1;
    INSERT INTO blocked_totals (dimension, key, count)
        SELECT 'identity', NEW.identity, 1
        WHERE NEW.identity IS NOT NULL
        UNION ALL
        SELECT 'bot', NEW.bot, 1
        WHERE NEW.bot IS NOT NULL
        UNION ALL
        SELECT 'waf_rule', NEW.matched, 1
        WHERE NEW.reason = 'waf' AND NEW.matched IS NOT NULL
        UNION ALL
        SELECT 'decoy', NEW.matched, 1
        WHERE NEW.reason = 'honeypot' AND NEW.matched IS NOT NULL
    ON CONFLICT (dimension, key) DO UPDATE SET count = count + 1;
END;
