-- Recording: the footage index (segments, partitioned by day), legal holds
-- and evidence exports.

-- Days of footage kept for a camera; NULL means the node's configured
-- default ([recording] retention_days).
ALTER TABLE cameras ADD COLUMN retention_days integer
  CHECK (retention_days BETWEEN 1 AND 3650);

-- One row per closed segment file. A gap in a camera's footage is the
-- absence of rows: nothing is written for the time a camera was offline.
-- The key includes the partition key, as PostgreSQL requires; it is also
-- what makes a retried insert of the same segment a no-op.
CREATE TABLE segments (
  camera_id bigint NOT NULL,
  start_time timestamptz NOT NULL,
  end_time timestamptz NOT NULL,
  node text NOT NULL,
  path text NOT NULL CHECK (path <> '' AND path NOT LIKE '/%' AND path NOT LIKE '%..%'),
  bytes bigint NOT NULL CHECK (bytes > 0),
  codec text NOT NULL CHECK (codec IN ('h264', 'h265')),
  width integer CHECK (width >= 0),
  height integer CHECK (height >= 0),
  -- Closed by crash recovery or after a write error rather than normally.
  repaired boolean NOT NULL DEFAULT false,
  indexed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (camera_id, start_time),
  -- Bounded length lets a range query start its index scan at from - 1 hour.
  CHECK (end_time > start_time AND end_time <= start_time + interval '1 hour')
) PARTITION BY RANGE (start_time);
-- Retention and quota walk a node's footage oldest first.
CREATE INDEX segments_node_start_idx ON segments (node, start_time);

-- The partition for a UTC day, created on first use. Serialised by an
-- advisory lock so two nodes closing their first segment of a day do not
-- race on the DDL.
CREATE FUNCTION segments_partition_ensure(day date) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  part text := 'segments_' || to_char(day, 'YYYYMMDD');
BEGIN
  IF to_regclass(part) IS NOT NULL THEN
    RETURN;
  END IF;
  PERFORM pg_advisory_xact_lock(7261, 3);
  IF to_regclass(part) IS NOT NULL THEN
    RETURN;
  END IF;
  EXECUTE format('CREATE TABLE %I PARTITION OF segments FOR VALUES FROM (%L) TO (%L)',
                 part, (day::timestamp AT TIME ZONE 'UTC'),
                 ((day + 1)::timestamp AT TIME ZONE 'UTC'));
END
$$;

-- Indexes a batch (a JSON array of segment rows): creates the days'
-- partitions, inserts, and ignores rows already there (a retry after a lost
-- reply). Returns how many rows were new.
CREATE FUNCTION segments_add(batch json) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  d date;
  n integer;
BEGIN
  FOR d IN SELECT DISTINCT (r.start_time AT TIME ZONE 'UTC')::date
           FROM json_populate_recordset(NULL::segments, batch) r LOOP
    PERFORM segments_partition_ensure(d);
  END LOOP;
  INSERT INTO segments (camera_id, start_time, end_time, node, path, bytes, codec, width,
                        height, repaired)
  SELECT r.camera_id, r.start_time, r.end_time, r.node, r.path, r.bytes, r.codec, r.width,
         r.height, coalesce(r.repaired, false)
  FROM json_populate_recordset(NULL::segments, batch) r
  ON CONFLICT DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END
$$;

-- Legal holds: footage of a camera over a time range that retention and
-- quota must not delete until the hold is released.
CREATE TABLE footage_holds (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  camera_id bigint NOT NULL,
  from_time timestamptz NOT NULL,
  to_time timestamptz NOT NULL,
  case_id text NOT NULL CHECK (length(case_id) BETWEEN 1 AND 128),
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  released_by text,
  released_at timestamptz,
  CHECK (to_time > from_time)
);
CREATE INDEX footage_holds_active_idx ON footage_holds (camera_id, from_time)
  WHERE released_at IS NULL;

CREATE FUNCTION footage_is_held(cam bigint, t_from timestamptz, t_to timestamptz)
RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT EXISTS (SELECT 1 FROM footage_holds h
                 WHERE h.camera_id = cam AND h.released_at IS NULL
                   AND h.from_time < t_to AND h.to_time > t_from)
$$;

-- Evidence exports: what was handed out, by whom, for which case; the
-- manifest as written beside the clip.
CREATE TABLE footage_exports (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  camera_id bigint NOT NULL,
  requested_from timestamptz NOT NULL,
  requested_to timestamptz NOT NULL,
  actual_from timestamptz,
  actual_to timestamptz,
  case_id text NOT NULL CHECK (length(case_id) BETWEEN 1 AND 128),
  reason text NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
  user_name text NOT NULL,
  clip_sha256 text NOT NULL CHECK (clip_sha256 ~ '^[0-9a-f]{64}$'),
  manifest jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX footage_exports_clip_idx ON footage_exports (clip_sha256);

-- What the node's recorder says about each camera, beside ingest's health:
-- a full disk must show on the camera, not only in a log.
ALTER TABLE camera_health
  ADD COLUMN recording_state text
    CHECK (recording_state IN ('off', 'idle', 'waiting_key', 'recording', 'error')),
  ADD COLUMN recording_error text;

CREATE OR REPLACE FUNCTION camera_listing_json(c cameras, h camera_health) RETURNS json
LANGUAGE sql STABLE AS $$
  SELECT json_build_object(
    'id', c.id, 'name', c.name, 'url', c.url, 'substream_url', c.substream_url,
    'username', c.username, 'has_password', c.password_enc IS NOT NULL,
    'lat', c.lat, 'lon', c.lon, 'road', c.road, 'direction', c.direction,
    'tags', to_jsonb(c.tags), 'enabled', c.enabled, 'transport', c.transport,
    'analytics', c.analytics, 'retention_days', c.retention_days,
    'created_at', c.created_at, 'updated_at', c.updated_at,
    'state', CASE WHEN NOT c.enabled THEN 'disabled' ELSE h.state END,
    'health', CASE WHEN h.camera_id IS NULL THEN NULL ELSE json_build_object(
      'node', h.node, 'state', h.state, 'state_since_at', h.state_since_at,
      'codec', h.codec, 'width', h.width, 'height', h.height, 'fps', h.fps,
      'bitrate_bps', h.bitrate_bps, 'transport', h.transport,
      'last_frame_at', h.last_frame_at, 'reconnects', h.reconnects,
      'access_units', h.access_units, 'damaged_units', h.damaged_units,
      'lost_packets', h.lost_packets, 'last_error', h.last_error,
      'recording_state', h.recording_state, 'recording_error', h.recording_error,
      'updated_at', h.updated_at) END)
$$;
