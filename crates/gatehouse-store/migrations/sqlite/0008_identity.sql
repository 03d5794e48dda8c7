-- User types (ID-3): each one's definition (declared attributes, sign-in methods,
-- second factor, console role) as the JSON of gatehouse_identity::UserType.
CREATE TABLE user_types (
    name          TEXT    PRIMARY KEY NOT NULL,
    definition    TEXT    NOT NULL,
    created_at_us INTEGER NOT NULL,
    updated_at_us INTEGER NOT NULL
);

-- Registration flows (ID-2), one per user type, as the JSON of
-- gatehouse_identity::flow::RegistrationFlow.
CREATE TABLE registration_flows (
    user_type     TEXT    PRIMARY KEY NOT NULL REFERENCES user_types (name),
    definition    TEXT    NOT NULL,
    updated_at_us INTEGER NOT NULL
);

-- Users (ID-3). Contact points are unique when present; attributes (a JSON
-- object) and entitlements (a JSON array) are also spread into user_attributes
-- and user_entitlements, written in the same transaction, so that filters are
-- indexed lookups with the same SQL on both databases. An automatic lockout is
-- locked_until_us, with the times of the failures of the last hour in
-- recent_failures (a JSON array, at most 100; ID-7); status 'locked' is an
-- administrator's lock.
CREATE TABLE users (
    id                     TEXT    PRIMARY KEY NOT NULL,
    user_type              TEXT    NOT NULL REFERENCES user_types (name),
    status                 TEXT    NOT NULL CHECK (status IN ('pending', 'active', 'locked', 'disabled')),
    display_name           TEXT    NOT NULL,
    search_name            TEXT    NOT NULL,
    email                  TEXT,
    is_email_verified      BOOLEAN NOT NULL,
    phone                  TEXT,
    is_phone_verified      BOOLEAN NOT NULL,
    attributes             TEXT    NOT NULL,
    entitlements           TEXT    NOT NULL,
    source                 TEXT    NOT NULL CHECK (source IN ('local', 'directory')),
    directory_dn           TEXT,
    created_at_us          INTEGER NOT NULL,
    created_by             TEXT    NOT NULL,
    updated_at_us          INTEGER NOT NULL,
    recent_failures        TEXT    NOT NULL,
    locked_until_us        INTEGER
);
CREATE UNIQUE INDEX users_email ON users (email) WHERE email IS NOT NULL;
CREATE UNIQUE INDEX users_phone ON users (phone) WHERE phone IS NOT NULL;
CREATE UNIQUE INDEX users_directory_dn ON users (directory_dn) WHERE directory_dn IS NOT NULL;
CREATE INDEX users_type ON users (user_type, id);
CREATE INDEX users_status ON users (status, id);

CREATE TABLE user_attributes (
    user_id TEXT NOT NULL REFERENCES users (id),
    name    TEXT NOT NULL,
    value   TEXT NOT NULL,
    PRIMARY KEY (user_id, name, value)
);
CREATE INDEX user_attributes_lookup ON user_attributes (name, value, user_id);

CREATE TABLE user_entitlements (
    user_id     TEXT NOT NULL REFERENCES users (id),
    entitlement TEXT NOT NULL,
    PRIMARY KEY (user_id, entitlement)
);
CREATE INDEX user_entitlements_lookup ON user_entitlements (entitlement, user_id);
