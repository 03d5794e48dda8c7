-- One-time codes (ID-8): only their HMAC (keyed outside the database), bound to
-- the challenge or registration that asked (`binding`) and to a purpose; at
-- most one live code per binding and purpose. Tries are counted in the row.
CREATE TABLE one_time_codes (
    binding       TEXT    NOT NULL,
    purpose       TEXT    NOT NULL,
    hash          BLOB    NOT NULL,
    expires_at_us INTEGER NOT NULL,
    checks        INTEGER NOT NULL,
    is_consumed   BOOLEAN NOT NULL,
    PRIMARY KEY (binding, purpose)
);
CREATE INDEX one_time_codes_expiry ON one_time_codes (expires_at_us);

-- Codes sent (ID-8): the destination's HMAC and when, for the per-destination
-- limit. Addresses with no account are counted alike.
CREATE TABLE code_sends (
    destination BLOB    NOT NULL,
    at_us       INTEGER NOT NULL
);
CREATE INDEX code_sends_destination ON code_sends (destination, at_us);
CREATE INDEX code_sends_at ON code_sends (at_us);

-- Sign-in challenges (ID-4, ID-5): one step proven, the next awaited. Only the
-- SHA-256 of the challenge id given to the caller is kept. `user_id` is NULL
-- for a decoy (an address with no account, answered as if it had one).
CREATE TABLE challenges (
    id_hash         BLOB    PRIMARY KEY NOT NULL,
    stage           TEXT    NOT NULL CHECK (stage IN ('first_factor', 'second_factor')),
    user_id         TEXT    REFERENCES users (id),
    methods         TEXT    NOT NULL,
    amr             TEXT    NOT NULL,
    destination     TEXT    NOT NULL,
    source_ip       TEXT    NOT NULL,
    created_at_us   INTEGER NOT NULL,
    expires_at_us   INTEGER NOT NULL,
    checks          INTEGER NOT NULL,
    completed_at_us INTEGER
);
CREATE INDEX challenges_expiry ON challenges (expires_at_us);

-- Sign-ups in progress (ID-1, ID-2): what the person gave and proved so far.
-- The user is created only when every step is proven, so an address is never
-- held by someone who has not proven it. `is_decoy`: the address already has
-- an account; the answers are the same, nothing is ever created.
CREATE TABLE registrations (
    id_hash       BLOB    PRIMARY KEY NOT NULL,
    user_type     TEXT    NOT NULL,
    email         TEXT,
    phone         TEXT,
    display_name  TEXT    NOT NULL,
    attributes    TEXT    NOT NULL,
    password      BLOB,
    totp_secret   BLOB,
    progress      TEXT    NOT NULL,
    is_decoy      BOOLEAN NOT NULL,
    source_ip     TEXT    NOT NULL,
    created_at_us INTEGER NOT NULL,
    expires_at_us INTEGER NOT NULL,
    user_id       TEXT,
    version       INTEGER NOT NULL
);
CREATE INDEX registrations_expiry ON registrations (expires_at_us);
