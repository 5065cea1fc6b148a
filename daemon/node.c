#include "node.h"

#include <string.h>

#include "db.h"
#include "ingest_store.h"
#include "json_build.h"
#include "log.h"

struct cw_node {
  uv_loop_t *loop;
  char *name, *conninfo;
  cw_ingest_pool_t *pool;
  const cw_secret_key_t *key;
  PGconn *conn;
  gboolean db_down_logged;
  uv_timer_t poll_timer, health_timer;
  cw_recorder_t *recorder;   /* NULL: recording off */
  cw_event_writer_t *events; /* NULL: no events */
  cw_snapshotter_t *snapshots; /* NULL: events without pictures */
  cw_analytics_t *analytics;   /* NULL: analytics off */
  GHashTable *analysed;        /* camera id -> rate_t: frames analysed at the last report */
  char *metrics_file;          /* NULL: none */
  gboolean metrics_failed_logged;
  GHashTable *up;            /* camera id -> told_t: what the last event said */
  guint64 poll_ms, health_ms;
  GHashTable *applied; /* camera id -> updated_at the workers have */
};

static cw_rtsp_transport_pref_t
transport_of(const char *t)
{
  if (g_strcmp0(t, "tcp") == 0)
    return CW_RTSP_TRANSPORT_TCP;
  if (g_strcmp0(t, "udp") == 0)
    return CW_RTSP_TRANSPORT_UDP;
  return CW_RTSP_TRANSPORT_AUTO;
}

/* A connection, reopened after an outage; NULL while the database is away
 * (logged once per outage, not once per tick). */
static PGconn *
db(cw_node_t *n)
{
  if (n->conn && PQstatus(n->conn) == CONNECTION_OK)
    return n->conn;
  if (n->conn) {
    PQfinish(n->conn);
    n->conn = NULL;
  }
  cw_error_t err;
  n->conn = cw_db_connect(n->conninfo, "citywatchd", &err);
  if (!n->conn) {
    if (!n->db_down_logged)
      cw_log_warn("node", "%s; ingest carries on, registry changes and health wait", err.msg);
    n->db_down_logged = TRUE;
    return NULL;
  }
  if (n->db_down_logged)
    cw_log_info("node", "database reachable again");
  n->db_down_logged = FALSE;
  return n->conn;
}

static void
sync_registry(cw_node_t *n)
{
  PGconn *conn = db(n);
  if (!conn)
    return;
  GPtrArray *sources = NULL;
  cw_error_t err;
  if (cw_ingest_store_load(conn, n->key, &sources, &err) < 0) {
    cw_log_warn("node", "reading cameras: %s", err.msg);
    return;
  }
  GHashTable *seen = g_hash_table_new(g_int64_hash, g_int64_equal);
  for (guint i = 0; i < sources->len; i++) {
    cw_camera_source_t *s = sources->pdata[i];
    g_hash_table_add(seen, &s->id);
    const char *had = g_hash_table_lookup(n->applied, &s->id);
    if (had && strcmp(had, s->updated_at) == 0)
      continue;
    if (s->problem)
      cw_log_error("node", "camera %s: %s", s->name, s->problem);
    cw_camera_config_t cfg = {
        .id = s->id,
        .name = s->name,
        .url = s->url,
        .username = s->username,
        .password = s->password,
        .transport = transport_of(s->transport),
        .enabled = s->enabled,
    };
    cw_ingest_pool_put(n->pool, &cfg);
    if (n->analytics && s->enabled)
      cw_analytics_camera(n->analytics, s->id, s->name, s->analytics);
    else if (n->analytics)
      cw_analytics_forget(n->analytics, s->id);
    gint64 *key = g_new(gint64, 1);
    *key = s->id;
    g_hash_table_replace(n->applied, key, g_strdup(s->updated_at));
  }
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init(&it, n->applied);
  while (g_hash_table_iter_next(&it, &key, NULL)) {
    if (!g_hash_table_contains(seen, key)) {
      cw_ingest_pool_remove(n->pool, *(gint64 *)key);
      if (n->analytics)
        cw_analytics_forget(n->analytics, *(gint64 *)key);
      g_hash_table_iter_remove(&it);
    }
  }
  g_hash_table_destroy(seen);
  g_ptr_array_free(sources, TRUE);
}

static const char *
codec_name(cw_codec_t c)
{
  return c == CW_CODEC_H264 ? "H264" : c == CW_CODEC_H265 ? "H265" : NULL;
}

static const char *
recording_state_name(cw_recording_state_t s)
{
  switch (s) {
  case CW_RECORDING_IDLE:
    return "idle";
  case CW_RECORDING_WAITING_KEY:
    return "waiting_key";
  case CW_RECORDING_ACTIVE:
    return "recording";
  case CW_RECORDING_ERROR:
    return "error";
  }
  return NULL;
}

/* camera id -> its cw_recorder_camera_status_t inside statuses. */
static GHashTable *
recording_by_camera(GArray *statuses)
{
  GHashTable *by = g_hash_table_new(g_int64_hash, g_int64_equal);
  for (guint i = 0; statuses && i < statuses->len; i++) {
    cw_recorder_camera_status_t *s = &g_array_index(statuses, cw_recorder_camera_status_t, i);
    g_hash_table_insert(by, &s->camera_id, s);
  }
  return by;
}

/* camera id -> its cw_analytics_camera_stats_t inside stats. */
static GHashTable *
analytics_by_camera(GArray *stats)
{
  GHashTable *by = g_hash_table_new(g_int64_hash, g_int64_equal);
  for (guint i = 0; stats && i < stats->len; i++) {
    cw_analytics_camera_stats_t *s = &g_array_index(stats, cw_analytics_camera_stats_t, i);
    g_hash_table_insert(by, &s->camera_id, s);
  }
  return by;
}

typedef struct {
  guint64 frames;
  gint64 at_us;
} rate_t;

/* The analysis as health shows it: the rate measured since the last
 * report, and what the budget or a full queue made it skip. */
static void
fill_analytics(cw_node_t *n, cw_camera_health_row_t *row, const cw_analytics_camera_stats_t *a)
{
  if (!n->analytics) {
    row->analytics_state = "off";
    return;
  }
  if (!a)
    return;
  gint64 now = g_get_monotonic_time();
  rate_t *r = g_hash_table_lookup(n->analysed, &a->camera_id);
  if (!r) {
    gint64 *key = g_new(gint64, 1);
    *key = a->camera_id;
    r = g_new0(rate_t, 1);
    *r = (rate_t){a->frames_analysed, now};
    g_hash_table_insert(n->analysed, key, r);
  }
  if (now > r->at_us && a->frames_analysed >= r->frames)
    row->analytics_fps = (double)(a->frames_analysed - r->frames) * G_USEC_PER_SEC /
                         (double)(now - r->at_us);
  *r = (rate_t){a->frames_analysed, now};
  row->analytics_skipped = a->dropped_queue + a->skipped_budget;
  row->analytics_error = a->error[0] ? a->error : NULL;
  row->analytics_state = a->error[0]              ? "error"
                         : a->frames_analysed == 0 ? "waiting_key"
                         : a->keyframes_only       ? "keyframes_only"
                                                   : "analysing";
}

static gboolean
state_is_down(const char *state)
{
  return g_strcmp0(state, "backoff") == 0 || g_strcmp0(state, "failed") == 0 ||
         g_strcmp0(state, "stalled") == 0;
}

/* camera.offline when a camera that was up (or not yet told) goes down,
 * camera.online when a camera told down plays again, and also the first
 * time it plays after this node started: an earlier run (or a node that
 * crashed, its last events still in the journal) may have told it down, and
 * only an online event resolves that alert. Connecting and describing are
 * neither: every reconnect passes through them. */
typedef struct {
  gint state;        /* 1 told up, 2 told down */
  gint64 down_since; /* µs; when told down */
} told_t;

static void
emit_state_events(cw_node_t *n, const cw_camera_health_row_t *r, const char *last_error)
{
  if (!n->events)
    return;
  told_t *told = g_hash_table_lookup(n->up, &r->camera_id);
  gint was = told ? told->state : 0;
  gboolean playing = g_strcmp0(r->state, "playing") == 0, down = state_is_down(r->state);
  gint64 at = r->state_since_us > 0 ? r->state_since_us : g_get_real_time();
  const char *kind = NULL;
  if (down && was != 2)
    kind = "camera.offline";
  else if (playing && was != 1)
    kind = "camera.online";
  if (!kind)
    return;
  gint64 down_since = was == 2 ? told->down_since : 0;
  if (!told) {
    gint64 *key = g_new(gint64, 1);
    *key = r->camera_id;
    told = g_new0(told_t, 1);
    g_hash_table_insert(n->up, key, told);
  }
  told->state = playing ? 1 : 2;
  told->down_since = down ? at : 0;

  JsonBuilder *b = json_builder_new();
  json_builder_begin_object(b);
  cw_json_member_string(b, "node", n->name);
  if (down) {
    cw_json_member_string(b, "state", r->state);
    cw_json_member_string(b, "error", last_error && *last_error ? last_error : NULL);
  } else {
    cw_json_member_string(b, "codec", r->codec);
    json_builder_set_member_name(b, "width");
    json_builder_add_int_value(b, r->width);
    json_builder_set_member_name(b, "height");
    json_builder_add_int_value(b, r->height);
    if (down_since > 0) {
      json_builder_set_member_name(b, "offline_s");
      json_builder_add_double_value(b, (double)(at - down_since) / G_USEC_PER_SEC);
    }
    if (was == 0) {
      json_builder_set_member_name(b, "after_start");
      json_builder_add_boolean_value(b, TRUE);
    }
  }
  json_builder_end_object(b);
  char *attrs = cw_json_builder_finish(b);
  cw_event_t ev = {
      .camera_id = r->camera_id,
      .kind = kind,
      .start_us = at,
      .attributes = attrs,
  };
  cw_event_new_id(ev.id);
  /* What the camera shows as it comes back: its next keyframe, written
   * shortly after the event is; a reader must expect it to be missing. */
  char *snapshot = NULL;
  if (n->snapshots && playing) {
    snapshot = cw_snapshot_relpath(r->camera_id, ev.start_us, ev.id);
    if (cw_snapshotter_request(n->snapshots, r->camera_id, snapshot))
      ev.snapshot = snapshot;
  }
  if (!cw_event_writer_submit(n->events, &ev))
    cw_log_error("node",
                 "camera %" G_GINT64_FORMAT ": %s event not accepted: the event queue is full",
                 r->camera_id, kind);
  g_free(snapshot);
  g_free(attrs);
}

static void
write_health(cw_node_t *n)
{
  GArray *health = cw_ingest_pool_health(n->pool);
  GArray *recording = n->recorder ? cw_recorder_status(n->recorder) : NULL;
  GHashTable *rec_by = recording_by_camera(recording);
  GArray *analysis = n->analytics ? cw_analytics_pool_stats(cw_analytics_pool(n->analytics)) : NULL;
  GHashTable *ana_by = analytics_by_camera(analysis);
  /* Rows are built even while the database is away: the events they give
   * rise to go to the journal, which does not need it. */
  {
    cw_camera_health_row_t *rows = g_new0(cw_camera_health_row_t, health->len);
    for (guint i = 0; i < health->len; i++) {
      const cw_camera_health_t *h = &g_array_index(health, cw_camera_health_t, i);
      rows[i] = (cw_camera_health_row_t){
          .camera_id = h->id,
          .state = cw_camera_state_name(h->state),
          .state_since_us = h->since_us,
          .codec = codec_name(h->codec),
          .width = h->width,
          .height = h->height,
          .fps = h->fps,
          .bitrate_bps = h->bitrate_bps,
          .transport = h->transport,
          .last_frame_us = h->last_frame_us,
          .reconnects = h->reconnects,
          .access_units = h->access_units,
          .damaged_units = h->damaged,
          .lost_packets = h->lost,
          .last_error = h->last_error,
          .recording_state = n->recorder ? "idle" : "off",
      };
      const cw_recorder_camera_status_t *rs = g_hash_table_lookup(rec_by, &h->id);
      if (rs) {
        rows[i].recording_state = recording_state_name(rs->state);
        rows[i].recording_error = rs->error;
      }
      fill_analytics(n, &rows[i], g_hash_table_lookup(ana_by, &h->id));
      emit_state_events(n, &rows[i], h->last_error);
    }
    PGconn *conn = health->len ? db(n) : NULL;
    cw_error_t err;
    if (conn && cw_ingest_store_write_health(conn, n->name, rows, health->len, &err) < 0)
      cw_log_warn("node", "writing camera health: %s", err.msg);
    g_free(rows);
  }
  g_hash_table_destroy(rec_by);
  g_hash_table_destroy(ana_by);
  if (analysis)
    g_array_free(analysis, TRUE);
  if (recording)
    g_array_free(recording, TRUE);
  g_array_free(health, TRUE);
}

/* The node's metrics for a Prometheus node_exporter textfile collector,
 * written even (above all) while the database is away: the journal
 * filling up is what monitoring must see then. Renamed into place, so the
 * collector never reads half a file. */
static void
write_metrics(cw_node_t *n)
{
  if (!n->metrics_file || !n->events)
    return;
  cw_event_writer_stats_t st;
  cw_event_writer_stats(n->events, &st);
  GString *m = g_string_new(NULL);
  const struct {
    const char *name, *type, *help;
    guint64 value;
  } rows[] = {
      {"citywatch_events_journal_bytes", "gauge", "Bytes of the event journal", st.journal_bytes},
      {"citywatch_events_journal_max_bytes", "gauge", "The journal's bound ([events] journal_max_mb)",
       st.journal_max_bytes},
      {"citywatch_events_journal_records", "gauge",
       "Events the journal holds (a committed one until its file is trimmed)",
       st.journal_records},
      {"citywatch_events_submitted_total", "counter", "Events handed to the writer", st.submitted},
      {"citywatch_events_accepted_total", "counter", "Events journaled and synced", st.accepted},
      {"citywatch_events_committed_total", "counter", "Events PostgreSQL has committed",
       st.committed},
      {"citywatch_events_refused_total", "counter",
       "Events refused: hand-off queue or journal full", st.refused_queue_full + st.refused_journal_full},
      {"citywatch_events_rejected_total", "counter", "Events PostgreSQL refused for good",
       st.rejected},
      {"citywatch_events_reconnects_total", "counter", "Reconnections of the event writer",
       st.reconnects},
      {"citywatch_events_db_connected", "gauge", "1 while the event writer is connected",
       st.db_connected ? 1 : 0},
  };
  for (guint i = 0; i < G_N_ELEMENTS(rows); i++)
    g_string_append_printf(m, "# HELP %s %s\n# TYPE %s %s\n%s{node=\"%s\"} %" G_GUINT64_FORMAT "\n",
                           rows[i].name, rows[i].help, rows[i].name, rows[i].type, rows[i].name,
                           n->name, rows[i].value);
  GError *gerr = NULL;
  if (!g_file_set_contents(n->metrics_file, m->str, (gssize)m->len, &gerr)) {
    if (!n->metrics_failed_logged)
      cw_log_warn("node", "[node] metrics_file: %s", gerr->message);
    n->metrics_failed_logged = TRUE;
    g_error_free(gerr);
  } else {
    n->metrics_failed_logged = FALSE;
  }
  g_string_free(m, TRUE);
}

static void
on_poll(uv_timer_t *t)
{
  sync_registry(t->data);
}

static void
on_health(uv_timer_t *t)
{
  write_health(t->data);
  write_metrics(t->data);
}

cw_node_t *
cw_node_new(uv_loop_t *loop, const char *name, const char *conninfo, const cw_config_t *cfg,
            cw_ingest_pool_t *pool, const cw_secret_key_t *key)
{
  cw_node_t *n = g_new0(cw_node_t, 1);
  n->loop = loop;
  n->name = g_strdup(name);
  n->conninfo = g_strdup(conninfo);
  n->pool = pool;
  n->key = key;
  n->poll_ms = (guint64)(cw_config_get_double(cfg, "ingest", "camera_poll_interval") * 1000);
  n->health_ms = (guint64)(cw_config_get_double(cfg, "ingest", "health_interval") * 1000);
  const char *metrics = cw_config_get_string(cfg, "node", "metrics_file");
  n->metrics_file = *metrics ? g_strdup(metrics) : NULL;
  n->applied = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
  n->up = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
  n->analysed = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
  uv_timer_init(loop, &n->poll_timer);
  uv_timer_init(loop, &n->health_timer);
  n->poll_timer.data = n->health_timer.data = n;
  return n;
}

void
cw_node_set_recorder(cw_node_t *n, cw_recorder_t *recorder)
{
  n->recorder = recorder;
}

void
cw_node_set_events(cw_node_t *n, cw_event_writer_t *events, cw_snapshotter_t *snapshots)
{
  n->events = events;
  n->snapshots = snapshots;
}

void
cw_node_set_analytics(cw_node_t *n, cw_analytics_t *analytics)
{
  n->analytics = analytics;
}

void
cw_node_start(cw_node_t *n)
{
  sync_registry(n);
  uv_timer_start(&n->poll_timer, on_poll, n->poll_ms, n->poll_ms);
  uv_timer_start(&n->health_timer, on_health, n->health_ms, n->health_ms);
}

void
cw_node_stop(cw_node_t *n)
{
  uv_timer_stop(&n->poll_timer);
  uv_timer_stop(&n->health_timer);
  write_health(n);
}

void
cw_node_free(cw_node_t *n)
{
  if (!n)
    return;
  if (n->conn)
    PQfinish(n->conn);
  g_hash_table_destroy(n->applied);
  g_hash_table_destroy(n->up);
  g_hash_table_destroy(n->analysed);
  g_free(n->metrics_file);
  g_free(n->name);
  g_free(n->conninfo);
  g_free(n);
}
