-- Adding events as columns (issue 5, item 7): the event writer sends a
-- batch as nine arrays in binary (one per column of events), so the server
-- parses no JSON but the attributes, and a batch with no repeat and no
-- alerting kind is one plain INSERT. The rules are events_add's (004):
-- refused whole with SQLSTATE 22023 naming the first bad event, the days'
-- partitions made on first use, a retried batch adds nothing and changes
-- no alert, and new alerting events open or update their alert, and a
-- camera.online resolves, in event time order. events_add(json) now hands
-- its batch to this function, so both keep the same rules.

CREATE FUNCTION events_add_rows(ids uuid[], camera_ids bigint[], nodes text[], kinds text[],
                                severities text[], start_times timestamptz[],
                                end_times timestamptz[], attributes jsonb[], snapshots text[])
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  touches_alerts boolean;
  repeats boolean := false;
  checked boolean := false;
  batch json;
  days date[];
  d date;
  n integer;
  todo events[];
  e events;
BEGIN
  -- Only a batch holding a kind that opens or resolves alerts needs to know
  -- which of its rows were new; the flood (traffic counts) does not.
  SELECT coalesce(kinds && array_agg(k.kind), false) INTO touches_alerts
  FROM event_kinds k WHERE k.alerting OR k.resolves <> '{}';
  -- First as a plain INSERT: a batch seen for the first time (the usual
  -- case) conflicts with nothing, and ON CONFLICT costs every row a
  -- speculative insertion. A repeat (a retry after a lost reply, a restart
  -- resending its journal) raises unique_violation, and the batch goes
  -- again with ON CONFLICT DO NOTHING. A refusal by the table's constraints
  -- (a day without its partition, an unknown kind, a bad field) has the
  -- batch checked, to name the fault or make the partitions, and inserted
  -- once more.
  FOR attempt IN 1..3 LOOP
    BEGIN
      IF touches_alerts OR repeats THEN
        WITH ins AS (
          INSERT INTO events (id, camera_id, node, kind, severity, start_time, end_time,
                              attributes, snapshot)
          SELECT u.id, nullif(u.camera_id, 0), u.node, u.kind, coalesce(u.severity, k.severity),
                 u.start_time, u.end_time, coalesce(u.attributes, '{}'), u.snapshot
          FROM unnest(ids, camera_ids, nodes, kinds, severities, start_times, end_times,
                      attributes, snapshots)
               u (id, camera_id, node, kind, severity, start_time, end_time, attributes, snapshot)
          LEFT JOIN event_kinds k ON k.kind = u.kind
          ON CONFLICT DO NOTHING
          RETURNING events.*)
        SELECT count(*),
               array_agg(ins ORDER BY ins.start_time, ins.id)
                 FILTER (WHERE k.alerting OR k.resolves <> '{}')
        INTO n, todo
        FROM ins JOIN event_kinds k ON k.kind = ins.kind;
      ELSE
        INSERT INTO events (id, camera_id, node, kind, severity, start_time, end_time,
                            attributes, snapshot)
        SELECT u.id, nullif(u.camera_id, 0), u.node, u.kind, coalesce(u.severity, k.severity),
               u.start_time, u.end_time, coalesce(u.attributes, '{}'), u.snapshot
        FROM unnest(ids, camera_ids, nodes, kinds, severities, start_times, end_times,
                    attributes, snapshots)
             u (id, camera_id, node, kind, severity, start_time, end_time, attributes, snapshot)
        LEFT JOIN event_kinds k ON k.kind = u.kind;
        GET DIAGNOSTICS n = ROW_COUNT;
      END IF;
      EXIT;
    EXCEPTION
      WHEN unique_violation THEN
        IF repeats THEN
          RAISE;
        END IF;
        repeats := true;
      WHEN check_violation OR foreign_key_violation OR not_null_violation THEN
        IF checked THEN
          RAISE;
        END IF;
        checked := true;
        -- events_check names the first bad event (22023); the batch as the
        -- JSON it reads, built only on this slow path.
        SELECT json_agg(json_build_object('id', u.id, 'camera_id', u.camera_id, 'node', u.node,
                                          'kind', u.kind, 'severity', u.severity,
                                          'start_time', u.start_time, 'end_time', u.end_time,
                                          'snapshot', u.snapshot)),
               array_agg(DISTINCT (u.start_time AT TIME ZONE 'UTC')::date)
                 FILTER (WHERE u.start_time IS NOT NULL)
        INTO batch, days
        FROM unnest(ids, camera_ids, nodes, kinds, severities, start_times, end_times,
                    snapshots)
             u (id, camera_id, node, kind, severity, start_time, end_time, snapshot);
        IF batch IS NOT NULL THEN
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

-- The JSON batch (cw_event_batch_json; what writers before this migration
-- journaled and sent) as columns, added by events_add_rows.
CREATE OR REPLACE FUNCTION events_add(batch json) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  n integer;
BEGIN
  SELECT events_add_rows(
           coalesce(array_agg(r.id ORDER BY r.o), '{}'),
           coalesce(array_agg(r.camera_id ORDER BY r.o), '{}'),
           coalesce(array_agg(r.node ORDER BY r.o), '{}'),
           coalesce(array_agg(r.kind ORDER BY r.o), '{}'),
           coalesce(array_agg(r.severity ORDER BY r.o), '{}'),
           coalesce(array_agg(r.start_time ORDER BY r.o), '{}'),
           coalesce(array_agg(r.end_time ORDER BY r.o), '{}'),
           coalesce(array_agg(r.attributes ORDER BY r.o), '{}'),
           coalesce(array_agg(r.snapshot ORDER BY r.o), '{}'))
  INTO n
  FROM json_populate_recordset(NULL::events, batch) WITH ORDINALITY
       r (id, camera_id, node, kind, severity, start_time, end_time, attributes, snapshot,
          inserted_at, o);
  RETURN n;
END
$$;

-- The event writer keeps two batches in flight on its connection, each its
-- own transaction, so the server works on one while the next is on its
-- way. The second must not run when the first failed: alerts follow events
-- in event time order, and the writer sends the first again (or its
-- halves, to find a bad event) before anything after it. So each batch
-- names its turn and the turn that must have committed before it in the
-- same session (after: 0 when nothing is in flight before it); a batch
-- whose predecessor did not commit is skipped, changing nothing, with
-- SQLSTATE 40001 (the writer sends it again, in order, after the one before
-- it). The writer numbers a connection's turns from a random start, so a
-- turn recorded by an earlier client of the same server session never
-- matches.
CREATE FUNCTION events_add_rows_in_turn(after bigint, turn bigint, ids uuid[],
                                        camera_ids bigint[], nodes text[], kinds text[],
                                        severities text[], start_times timestamptz[],
                                        end_times timestamptz[], attributes jsonb[],
                                        snapshots text[])
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  n integer;
BEGIN
  IF after <> 0
     AND coalesce(nullif(current_setting('citywatch.events_turn', true), ''), '0')::bigint <> after
  THEN
    RAISE EXCEPTION 'events: batch % skipped: batch % before it did not commit', turn, after
      USING ERRCODE = 'serialization_failure';
  END IF;
  n := events_add_rows(ids, camera_ids, nodes, kinds, severities, start_times, end_times,
                       attributes, snapshots);
  -- Session-wide, but undone with the transaction if it does not commit.
  PERFORM set_config('citywatch.events_turn', turn::text, false);
  RETURN n;
END
$$;
