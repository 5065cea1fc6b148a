-- Events and alerts: what cameras, analytics and nodes report (events,
-- partitioned by day), and the incidents operators work through (alerts).
-- Kinds and severities are documented in storage/EVENTS.md; a test checks
-- that file and event_kinds agree.

CREATE FUNCTION severity_rank(severity text) RETURNS integer
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE severity WHEN 'info' THEN 1 WHEN 'warning' THEN 2 WHEN 'critical' THEN 3 END
$$;

CREATE TABLE event_kinds (
  kind text PRIMARY KEY CHECK (kind ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$'),
  severity text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
  -- An event of an alerting kind opens (or updates) an alert.
  alerting boolean NOT NULL,
  -- A lasting incident has an end_time once it is over; others are instants.
  lasting boolean NOT NULL,
  -- When an event of this kind arrives for a camera, that camera's
  -- unresolved alerts of the kinds listed here resolve themselves.
  resolves text[] NOT NULL DEFAULT '{}',
  description text NOT NULL
);

INSERT INTO event_kinds (kind, severity, alerting, lasting, resolves, description) VALUES
  ('camera.offline', 'critical', true, true, '{}',
   'The node cannot pull the camera (refused, unreachable, or failing)'),
  ('camera.online', 'info', false, false, '{camera.offline,camera.stalled}',
   'The camera delivers frames again after being offline or stalled'),
  ('camera.stalled', 'warning', true, true, '{}',
   'Connected, but no frames have arrived for longer than the stall timeout'),
  ('camera.tamper.blackout', 'critical', true, true, '{}',
   'The picture went (nearly) black: covered lens or cut video'),
  ('camera.tamper.frozen', 'warning', true, true, '{}',
   'The picture stopped changing while frames still arrive'),
  ('camera.tamper.defocus', 'warning', true, true, '{}',
   'The picture lost its sharpness: defocused, fogged or smeared'),
  ('camera.tamper.scene_change', 'warning', true, false, '{}',
   'The camera points somewhere else than its reference scene'),
  ('traffic.count', 'info', false, false, '{}',
   'Vehicles counted over an interval, per class and lane'),
  ('traffic.congestion', 'warning', true, true, '{}',
   'Speeds or flow below the congestion threshold on a road'),
  ('traffic.stopped_vehicle', 'critical', true, true, '{}',
   'A vehicle stopped in a running lane for longer than the threshold'),
  ('traffic.wrong_way', 'critical', true, false, '{}',
   'A vehicle moving against the lane''s direction'),
  ('node.started', 'info', false, false, '{}',
   'citywatchd started on the node'),
  ('node.stopped', 'info', false, false, '{}',
   'citywatchd stopped on the node (orderly shutdown)'),
  ('node.journal_high', 'warning', true, false, '{}',
   'The event journal passed its warning fill level (the database is not taking events)'),
  ('node.disk_full', 'critical', true, false, '{}',
   'A recording or journal filesystem is full'),
  ('recording.error', 'critical', true, false, '{}',
   'The recorder could not write a camera''s footage');

-- One row per event. The key includes the partition key, as PostgreSQL
-- requires; the producer's id is what makes a retried batch a no-op.
CREATE TABLE events (
  id uuid NOT NULL,
  camera_id bigint, -- NULL: an event of the node itself
  node text NOT NULL CHECK (length(node) BETWEEN 1 AND 128),
  kind text NOT NULL REFERENCES event_kinds (kind),
  severity text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
  start_time timestamptz NOT NULL,
  end_time timestamptz CHECK (end_time >= start_time),
  attributes jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(attributes) = 'object'),
  -- A JPEG relative to the node's snapshot root, kept on that node's disk.
  snapshot text CHECK (snapshot <> '' AND snapshot NOT LIKE '/%' AND snapshot NOT LIKE '%..%'),
  inserted_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id, start_time)
) PARTITION BY RANGE (start_time);
CREATE INDEX events_camera_start_idx ON events (camera_id, start_time);
CREATE INDEX events_kind_start_idx ON events (kind, start_time);

-- The partition for a UTC day, created on first use; serialised like
-- segments_partition_ensure so two nodes do not race on the DDL.
CREATE FUNCTION events_partition_ensure(day date) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  part text := 'events_' || to_char(day, 'YYYYMMDD');
BEGIN
  IF to_regclass(part) IS NOT NULL THEN
    RETURN;
  END IF;
  PERFORM pg_advisory_xact_lock(7261, 5);
  IF to_regclass(part) IS NOT NULL THEN
    RETURN;
  END IF;
  EXECUTE format('CREATE TABLE %I PARTITION OF events FOR VALUES FROM (%L) TO (%L)',
                 part, (day::timestamp AT TIME ZONE 'UTC'),
                 ((day + 1)::timestamp AT TIME ZONE 'UTC'));
END
$$;

-- An incident: events of one alerting kind on one camera (or, for node
-- kinds, one node) until someone, or the camera's return, resolves it.
CREATE TABLE alerts (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  camera_id bigint, -- NULL: an alert about the node
  node text NOT NULL,
  kind text NOT NULL REFERENCES event_kinds (kind),
  severity text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
  state text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'acknowledged', 'resolved')),
  first_event_id uuid NOT NULL,
  last_event_id uuid NOT NULL,
  events integer NOT NULL DEFAULT 1 CHECK (events >= 1),
  -- Event times (start_time of the first and the latest event), not the
  -- times the rows were written.
  opened_at timestamptz NOT NULL,
  last_event_at timestamptz NOT NULL,
  acknowledged_by text,
  acknowledged_at timestamptz,
  resolved_by text,
  resolved_at timestamptz,
  resolution_note text CHECK (length(resolution_note) <= 2000),
  auto_resolved boolean NOT NULL DEFAULT false,
  CHECK ((acknowledged_at IS NULL) = (acknowledged_by IS NULL)),
  CHECK ((state = 'resolved') = (resolved_at IS NOT NULL AND resolved_by IS NOT NULL)),
  CHECK (state <> 'acknowledged' OR acknowledged_at IS NOT NULL)
);
-- At most one unresolved alert per camera and kind (per node for node
-- kinds): an ongoing incident updates it instead of opening another.
CREATE UNIQUE INDEX alerts_unresolved_key
  ON alerts (kind, coalesce(camera_id, 0), (CASE WHEN camera_id IS NULL THEN node ELSE '' END))
  WHERE state <> 'resolved';
CREATE INDEX alerts_opened_idx ON alerts (opened_at DESC, id DESC);

-- An alert as listings and cwctl --json show it.
CREATE FUNCTION alert_json(a alerts) RETURNS json
LANGUAGE sql STABLE AS $$
  SELECT json_build_object(
    'id', a.id, 'camera_id', a.camera_id,
    'camera_name', (SELECT c.name FROM cameras c WHERE c.id = a.camera_id),
    'node', a.node, 'kind', a.kind,
    'severity', a.severity, 'state', a.state, 'events', a.events,
    'first_event_id', a.first_event_id, 'last_event_id', a.last_event_id,
    'opened_at', a.opened_at, 'last_event_at', a.last_event_at,
    'acknowledged_by', a.acknowledged_by, 'acknowledged_at', a.acknowledged_at,
    'resolved_by', a.resolved_by, 'resolved_at', a.resolved_at,
    'resolution_note', a.resolution_note, 'auto_resolved', a.auto_resolved)
$$;

-- Live push: a console LISTENs on cw_alerts. The payload is small (well
-- under NOTIFY's 8000 bytes); a listener reads the rest with alert_json.
CREATE FUNCTION alerts_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('cw_alerts', json_build_object(
    'id', NEW.id, 'camera_id', NEW.camera_id, 'kind', NEW.kind, 'severity', NEW.severity,
    'state', NEW.state, 'events', NEW.events,
    'change', CASE WHEN TG_OP = 'INSERT' THEN 'opened'
                   WHEN NEW.state IS DISTINCT FROM OLD.state THEN NEW.state
                   ELSE 'updated' END)::text);
  RETURN NULL;
END
$$;
CREATE TRIGGER alerts_notify AFTER INSERT OR UPDATE ON alerts
  FOR EACH ROW EXECUTE FUNCTION alerts_notify();

-- Why a batch row cannot be stored, or NULL. The table would refuse most of
-- these too, but without naming the event; SQLSTATE 22023 tells a writer
-- that retrying the same batch cannot help.
CREATE FUNCTION events_check(batch json) RETURNS void
LANGUAGE plpgsql STABLE AS $$
DECLARE
  bad record;
BEGIN
  SELECT r.id, r.kind, r.severity, r.node, r.start_time, r.end_time, k.kind IS NULL AS unknown
  INTO bad
  FROM json_populate_recordset(NULL::events, batch) r
  LEFT JOIN event_kinds k ON k.kind = r.kind
  WHERE r.id IS NULL OR r.kind IS NULL OR k.kind IS NULL OR r.start_time IS NULL
     OR r.node IS NULL OR r.node = '' OR r.end_time < r.start_time
     OR (r.severity IS NOT NULL AND severity_rank(r.severity) IS NULL)
  LIMIT 1;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  RAISE EXCEPTION 'event %: %', coalesce(bad.id::text, '(no id)'),
    CASE WHEN bad.id IS NULL THEN 'no id'
         WHEN bad.kind IS NULL THEN 'no kind'
         WHEN bad.unknown THEN format('unknown kind %L (see storage/EVENTS.md)', bad.kind)
         WHEN bad.start_time IS NULL THEN 'no start_time'
         WHEN bad.node IS NULL OR bad.node = '' THEN 'no node'
         WHEN bad.end_time < bad.start_time THEN 'end_time before start_time'
         ELSE format('severity %L is not info, warning or critical', bad.severity) END
    USING ERRCODE = 'invalid_parameter_value';
END
$$;

-- Opens or updates the alert an alerting event belongs to.
CREATE FUNCTION alerts_take_event(e events) RETURNS void
LANGUAGE sql AS $$
  INSERT INTO alerts (camera_id, node, kind, severity, first_event_id, last_event_id,
                      opened_at, last_event_at)
  VALUES (e.camera_id, e.node, e.kind, e.severity, e.id, e.id, e.start_time, e.start_time)
  ON CONFLICT (kind, coalesce(camera_id, 0), (CASE WHEN camera_id IS NULL THEN node ELSE '' END))
    WHERE state <> 'resolved'
  DO UPDATE SET
    events = alerts.events + 1,
    node = EXCLUDED.node,
    severity = CASE WHEN severity_rank(EXCLUDED.severity) > severity_rank(alerts.severity)
                    THEN EXCLUDED.severity ELSE alerts.severity END,
    last_event_id = CASE WHEN EXCLUDED.last_event_at >= alerts.last_event_at
                         THEN EXCLUDED.last_event_id ELSE alerts.last_event_id END,
    last_event_at = greatest(alerts.last_event_at, EXCLUDED.last_event_at)
$$;

-- A camera's return resolves its offline (and stalled) alert, saying so.
-- Only alerts opened before the return: a late, older event must not close
-- a newer incident. Audited like an operator's resolve, by 'system'.
CREATE FUNCTION alerts_resolve_by_event(e events) RETURNS void
LANGUAGE sql AS $$
  WITH r AS (
    UPDATE alerts a SET state = 'resolved', resolved_by = 'system', resolved_at = now(),
      auto_resolved = true,
      resolution_note = format('resolved automatically: the camera came back (%s at %s, event %s)',
        e.kind, to_char(e.start_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), e.id)
    FROM event_kinds k
    WHERE k.kind = e.kind AND a.kind = ANY (k.resolves) AND a.camera_id = e.camera_id
      AND a.state <> 'resolved' AND a.opened_at <= e.start_time
    RETURNING a.id, a.kind, a.camera_id, a.resolution_note)
  INSERT INTO audit_log (actor, action, object, after, details)
  SELECT 'system', 'alert.resolve', 'alert:' || r.id,
         jsonb_build_object('state', 'resolved', 'kind', r.kind, 'camera_id', r.camera_id),
         jsonb_build_object('note', r.resolution_note, 'auto', true)
  FROM r ORDER BY r.id
$$;

-- Adds a batch (a JSON array of events rows, as cw_event_batch_json writes
-- it): checks it, creates the days' partitions, inserts what is new (a
-- retried batch adds nothing twice and changes no alert), then lets each
-- new alerting event open or update its alert and each new camera.online
-- resolve what it resolves, in event time order. Returns how many events
-- were new.
CREATE FUNCTION events_add(batch json) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  days date[];
  bad boolean;
  d date;
  n integer;
  todo events[];
  e events;
BEGIN
  -- The batch is parsed once and the table's constraints judge it. Only
  -- when they refuse it (a day without its partition, an unknown kind, a
  -- bad field) is it checked row by row, to name the fault or make the
  -- partitions, and inserted once more.
  FOR attempt IN 1..2 LOOP
    BEGIN
      WITH ins AS (
        INSERT INTO events (id, camera_id, node, kind, severity, start_time, end_time,
                            attributes, snapshot)
        SELECT r.id, nullif(r.camera_id, 0), r.node, r.kind, coalesce(r.severity, k.severity),
               r.start_time, r.end_time, coalesce(r.attributes, '{}'), r.snapshot
        FROM json_populate_recordset(NULL::events, batch) r
        LEFT JOIN event_kinds k ON k.kind = r.kind
        ON CONFLICT DO NOTHING
        RETURNING events.*)
      SELECT count(*),
             array_agg(ins ORDER BY ins.start_time, ins.id)
               FILTER (WHERE k.alerting OR k.resolves <> '{}')
      INTO n, todo
      FROM ins JOIN event_kinds k ON k.kind = ins.kind;
      EXIT;
    EXCEPTION WHEN check_violation OR foreign_key_violation OR not_null_violation THEN
      IF attempt = 2 THEN
        RAISE;
      END IF;
      SELECT array_agg(DISTINCT (r.start_time AT TIME ZONE 'UTC')::date),
             bool_or(r.id IS NULL OR r.kind IS NULL OR k.kind IS NULL OR r.start_time IS NULL
                     OR r.node IS NULL OR r.node = '' OR r.end_time < r.start_time
                     OR (r.severity IS NOT NULL AND severity_rank(r.severity) IS NULL))
      INTO days, bad
      FROM json_populate_recordset(NULL::events, batch) r
      LEFT JOIN event_kinds k ON k.kind = r.kind;
      IF bad THEN
        PERFORM events_check(batch);
      END IF;
      FOREACH d IN ARRAY coalesce(days, '{}') LOOP
        PERFORM events_partition_ensure(d);
      END LOOP;
    END;
  END LOOP;
  IF todo IS NOT NULL THEN
    FOREACH e IN ARRAY todo LOOP
      IF (SELECT alerting FROM event_kinds WHERE kind = e.kind) THEN
        PERFORM alerts_take_event(e);
      END IF;
      IF e.camera_id IS NOT NULL THEN
        PERFORM alerts_resolve_by_event(e);
      END IF;
    END LOOP;
  END IF;
  RETURN n;
END
$$;
