-- The gateway's WAF settings (GW-4), versioned like the policies: every change
-- is a new version naming who made it, written with its audit record; the
-- newest is in force (over the configuration file's) from the next start on.
CREATE TABLE waf_settings_versions (
    version       BIGINT PRIMARY KEY NOT NULL,
    settings      TEXT   NOT NULL,
    author        TEXT   NOT NULL,
    created_at_us BIGINT NOT NULL
);
