-- Analytics (issue 6): per-minute traffic counts, the end of lasting
-- incidents, and each camera's analysis in its health.

-- Counts per camera, line and interval, one row per traffic.count event
-- (its attributes: line, interval_s, forward, reverse), filled as the event
-- is stored, so a retried batch adds nothing twice here either. minute is
-- the interval's start (the event's start_time is its end).
CREATE TABLE traffic_counts (
  camera_id bigint NOT NULL,
  line text NOT NULL,
  minute timestamptz NOT NULL,
  interval_s real NOT NULL CHECK (interval_s > 0),
  forward integer NOT NULL CHECK (forward >= 0),
  reverse integer NOT NULL CHECK (reverse >= 0),
  node text NOT NULL,
  event_id uuid NOT NULL,
  PRIMARY KEY (camera_id, line, minute)
);
CREATE INDEX traffic_counts_minute_idx ON traffic_counts (minute);

-- One statement per batch, not one call per row: counts are a small share
-- of events, and the flood (every kind) passes the transition table once.
CREATE FUNCTION traffic_counts_from_events() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO traffic_counts (camera_id, line, minute, interval_s, forward, reverse, node,
                              event_id)
  SELECT n.camera_id, n.attributes->>'line',
         n.start_time - make_interval(secs => (n.attributes->>'interval_s')::float8),
         (n.attributes->>'interval_s')::real,
         coalesce((n.attributes->>'forward')::int, 0), coalesce((n.attributes->>'reverse')::int, 0),
         n.node, n.id
  FROM new_events n
  WHERE n.kind = 'traffic.count' AND n.camera_id IS NOT NULL
    AND n.attributes ? 'line' AND (n.attributes->>'interval_s')::float8 > 0
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END
$$;

CREATE TRIGGER events_traffic_counts AFTER INSERT ON events
  REFERENCING NEW TABLE AS new_events
  FOR EACH STATEMENT EXECUTE FUNCTION traffic_counts_from_events();

-- A lasting incident is one row: its producer sends the start (end_time
-- NULL), and when it is over the same event again (same id and start) with
-- end_time set. That second arrival fills in the stored row's end instead
-- of being refused as a repeat; it adds no row and changes no alert. Before
-- the start has been stored (it was refused), the end is stored as the
-- whole incident. A retry finds the end already set and changes nothing.
CREATE FUNCTION events_fill_end() RETURNS trigger
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  UPDATE events SET end_time = NEW.end_time, attributes = attributes || NEW.attributes
  WHERE id = NEW.id AND start_time = NEW.start_time AND end_time IS NULL;
  IF FOUND THEN
    RETURN NULL;
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER events_fill_end BEFORE INSERT ON events
  FOR EACH ROW WHEN (NEW.end_time IS NOT NULL)
  EXECUTE FUNCTION events_fill_end();

-- What the node's analytics pool says about each camera.
ALTER TABLE camera_health
  ADD COLUMN analytics_state text
    CHECK (analytics_state IN ('off', 'waiting_key', 'analysing', 'keyframes_only', 'error')),
  ADD COLUMN analytics_fps real,
  ADD COLUMN analytics_skipped bigint,
  ADD COLUMN analytics_error text;

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
      'analytics_state', h.analytics_state, 'analytics_fps', h.analytics_fps,
      'analytics_skipped', h.analytics_skipped, 'analytics_error', h.analytics_error,
      'updated_at', h.updated_at) END)
$$;
