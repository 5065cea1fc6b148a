-- Foundation: the camera registry, people, their sessions, and the audit log.
-- Applied in one transaction by `cwctl db migrate`; never edit after release,
-- write the next numbered file instead.

CREATE TABLE cameras (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text NOT NULL CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
  -- Never holds user information: credentials live in the columns below.
  url text NOT NULL CHECK (url ~ '^rtsps?://[^@/]+(/|$)' AND length(url) <= 2048),
  substream_url text CHECK (substream_url ~ '^rtsps?://[^@/]+(/|$)' AND length(substream_url) <= 2048),
  username text CHECK (length(username) <= 256),
  -- libsodium secretbox: nonce || MAC || ciphertext, under key password_key_id.
  password_enc bytea,
  password_key_id text,
  lat double precision CHECK (lat BETWEEN -90 AND 90),
  lon double precision CHECK (lon BETWEEN -180 AND 180),
  road text CHECK (length(road) <= 128),
  direction text CHECK (direction IN ('N', 'NE', 'E', 'SE', 'S', 'SW', 'W', 'NW')),
  tags text[] NOT NULL DEFAULT '{}',
  enabled boolean NOT NULL DEFAULT true,
  analytics jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT cameras_password_key CHECK ((password_enc IS NULL) = (password_key_id IS NULL)),
  CONSTRAINT cameras_password_needs_username CHECK (password_enc IS NULL OR username IS NOT NULL),
  CONSTRAINT cameras_lat_lon_together CHECK ((lat IS NULL) = (lon IS NULL))
);
-- "Bridge-North" and "bridge-north" are the same camera to an operator.
CREATE UNIQUE INDEX cameras_name_key ON cameras (lower(name));

-- What may leave the database about a camera: everything but the password.
-- json, not jsonb, so listings keep this order; audit rows store it as jsonb.
CREATE FUNCTION camera_public_json(c cameras) RETURNS json
LANGUAGE sql STABLE AS $$
  SELECT json_build_object(
    'id', c.id, 'name', c.name, 'url', c.url, 'substream_url', c.substream_url,
    'username', c.username, 'has_password', c.password_enc IS NOT NULL,
    'lat', c.lat, 'lon', c.lon, 'road', c.road, 'direction', c.direction,
    'tags', to_jsonb(c.tags), 'enabled', c.enabled, 'analytics', c.analytics,
    'created_at', c.created_at, 'updated_at', c.updated_at)
$$;

CREATE TABLE users (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text NOT NULL CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$'),
  role text NOT NULL CHECK (role IN ('operator', 'investigator', 'engineer', 'admin', 'auditor')),
  -- Argon2id, libsodium's crypto_pwhash_str encoding.
  password_hash text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
  created_at timestamptz NOT NULL DEFAULT now(),
  disabled_at timestamptz
);
CREATE UNIQUE INDEX users_name_key ON users (lower(name));

CREATE TABLE sessions (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  kind text NOT NULL CHECK (kind IN ('browser', 'bearer')),
  -- Only hashes: a database dump must not let anyone log in.
  token_hash bytea NOT NULL UNIQUE,
  csrf_hash bytea,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

-- Append-only; each row's hash covers the previous row's hash and its own
-- content, so an edited or deleted row breaks the chain.
CREATE SEQUENCE audit_log_id_seq AS bigint;
CREATE TABLE audit_log (
  id bigint PRIMARY KEY,
  at timestamptz NOT NULL,
  actor text NOT NULL,
  action text NOT NULL,
  object text,
  before jsonb,
  after jsonb,
  details jsonb,
  prev_hash bytea NOT NULL,
  hash bytea NOT NULL
);
ALTER SEQUENCE audit_log_id_seq OWNED BY audit_log.id;

CREATE FUNCTION audit_log_digest(prev bytea, r audit_log) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
  SELECT sha256(prev || convert_to(concat_ws(chr(31),
    r.id::text,
    to_char(r.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    r.actor, r.action, coalesce(r.object, ''),
    coalesce(r.before::text, ''), coalesce(r.after::text, ''),
    coalesce(r.details::text, '')), 'UTF8'))
$$;

CREATE FUNCTION audit_log_append() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  prev bytea;
BEGIN
  -- Appenders queue here until commit, so ids, times and the chain agree
  -- with commit order even under concurrent writers.
  PERFORM pg_advisory_xact_lock(7261, 1);
  SELECT a.hash INTO prev FROM audit_log a ORDER BY a.id DESC LIMIT 1;
  NEW.id := nextval('audit_log_id_seq');
  NEW.at := clock_timestamp();
  NEW.prev_hash := coalesce(prev, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea);
  NEW.hash := audit_log_digest(NEW.prev_hash, NEW);
  RETURN NEW;
END
$$;
CREATE TRIGGER audit_log_append BEFORE INSERT ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append();

CREATE FUNCTION audit_log_refuse() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_refuse();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse();

-- First row whose chain does not hold (NULL when the whole log verifies).
CREATE FUNCTION audit_log_first_broken() RETURNS TABLE (id bigint, reason text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  r audit_log;
  prev bytea := '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea;
BEGIN
  FOR r IN SELECT * FROM audit_log ORDER BY audit_log.id LOOP
    IF r.prev_hash <> prev THEN
      id := r.id; reason := 'previous row missing or changed'; RETURN NEXT; RETURN;
    END IF;
    IF r.hash <> audit_log_digest(prev, r) THEN
      id := r.id; reason := 'row content changed'; RETURN NEXT; RETURN;
    END IF;
    prev := r.hash;
  END LOOP;
END
$$;
