-- Ingest: how each camera is pulled, and what each node sees of it.

-- RTP over TCP interleaved ('tcp'), over UDP ('udp'), or TCP with a fall-back
-- to UDP when the camera refuses it ('auto', what most fleets need).
ALTER TABLE cameras ADD COLUMN transport text NOT NULL DEFAULT 'auto'
  CHECK (transport IN ('auto', 'tcp', 'udp'));

CREATE OR REPLACE FUNCTION camera_public_json(c cameras) RETURNS json
LANGUAGE sql STABLE AS $$
  SELECT json_build_object(
    'id', c.id, 'name', c.name, 'url', c.url, 'substream_url', c.substream_url,
    'username', c.username, 'has_password', c.password_enc IS NOT NULL,
    'lat', c.lat, 'lon', c.lon, 'road', c.road, 'direction', c.direction,
    'tags', to_jsonb(c.tags), 'enabled', c.enabled, 'transport', c.transport,
    'analytics', c.analytics, 'created_at', c.created_at, 'updated_at', c.updated_at)
$$;

-- One row per camera, written by the node pulling it at most every few
-- seconds; the console and `cwctl camera list` read it.
CREATE TABLE camera_health (
  camera_id bigint PRIMARY KEY REFERENCES cameras (id) ON DELETE CASCADE,
  node text NOT NULL,
  state text NOT NULL CHECK (state IN ('connecting', 'describing', 'playing', 'stalled',
                                       'failed', 'backoff', 'disabled')),
  state_since_at timestamptz NOT NULL,
  codec text,
  width integer,
  height integer,
  fps real,
  bitrate_bps bigint,
  transport text,
  last_frame_at timestamptz,
  reconnects bigint NOT NULL DEFAULT 0,
  access_units bigint NOT NULL DEFAULT 0,
  damaged_units bigint NOT NULL DEFAULT 0,
  lost_packets bigint NOT NULL DEFAULT 0,
  last_error text,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX camera_health_state_idx ON camera_health (state);

-- A camera as listings show it: its public fields and, when a node has
-- reported on it, its health.
CREATE FUNCTION camera_listing_json(c cameras, h camera_health) RETURNS json
LANGUAGE sql STABLE AS $$
  SELECT json_build_object(
    'id', c.id, 'name', c.name, 'url', c.url, 'substream_url', c.substream_url,
    'username', c.username, 'has_password', c.password_enc IS NOT NULL,
    'lat', c.lat, 'lon', c.lon, 'road', c.road, 'direction', c.direction,
    'tags', to_jsonb(c.tags), 'enabled', c.enabled, 'transport', c.transport,
    'analytics', c.analytics, 'created_at', c.created_at, 'updated_at', c.updated_at,
    'state', CASE WHEN NOT c.enabled THEN 'disabled' ELSE h.state END,
    'health', CASE WHEN h.camera_id IS NULL THEN NULL ELSE json_build_object(
      'node', h.node, 'state', h.state, 'state_since_at', h.state_since_at,
      'codec', h.codec, 'width', h.width, 'height', h.height, 'fps', h.fps,
      'bitrate_bps', h.bitrate_bps, 'transport', h.transport,
      'last_frame_at', h.last_frame_at, 'reconnects', h.reconnects,
      'access_units', h.access_units, 'damaged_units', h.damaged_units,
      'lost_packets', h.lost_packets, 'last_error', h.last_error,
      'updated_at', h.updated_at) END)
$$;
