/* citywatchd: the node daemon. Parses options, checks the configuration and
 * the database schema, and wires the stages together on their loops. This
 * file holds no logic of its own beyond the wiring. */
#include <errno.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "config.h"
#include "db.h"
#include "log.h"
#include "migrate.h"
#include "node.h"
#include "recording.h"
#include "secret.h"
#include "snapshots.h"
#include "worker_pool.h"

typedef struct {
  uv_loop_t loop;
  uv_signal_t sigint, sigterm;
  int stop_signal;
} daemon_t;

static void
on_signal(uv_signal_t *h, int signum)
{
  daemon_t *d = h->data;
  d->stop_signal = signum;
  cw_log_info("citywatchd", "received %s, shutting down", strsignal(signum));
  uv_stop(&d->loop);
}

static void
close_handle(uv_handle_t *h, void *arg)
{
  if (!uv_is_closing(h))
    uv_close(h, NULL);
}

/* Ingest hands each unit to one sink; this one passes it to every stage
 * that takes units. Each borrows the unit and never blocks. */
typedef struct {
  cw_recorder_t *recorder;
  cw_snapshotter_t *snapshotter;
  cw_analytics_pool_t *analytics;
} unit_fanout_t;

static void
unit_fanout(void *opaque, cw_access_unit_t *au)
{
  unit_fanout_t *f = opaque;
  if (f->recorder)
    cw_recorder_push(f->recorder, au);
  if (f->snapshotter)
    cw_snapshotter_push(f->snapshotter, au);
  if (f->analytics)
    cw_analytics_pool_push(f->analytics, au);
}

static int
count_enabled(PGconn *conn, long *n, cw_error_t *err)
{
  PGresult *res = PQexec(conn, "SELECT count(*) FROM cameras WHERE enabled");
  int rc = cw_db_check(conn, res, PGRES_TUPLES_OK, err);
  if (rc == 0)
    *n = atol(PQgetvalue(res, 0, 0));
  PQclear(res);
  return rc;
}

int
main(int argc, char **argv)
{
  setlocale(LC_ALL, "");
  char *config_path = NULL, *node = NULL, *db = NULL;
  gboolean check_only = FALSE;
  GOptionEntry entries[] = {
      {"config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path, "Configuration file (INI)", "FILE"},
      {"node", 0, 0, G_OPTION_ARG_STRING, &node, "Node name (default: host name)", "NAME"},
      {"db", 0, 0, G_OPTION_ARG_STRING, &db, "libpq connection string or URI", "CONNINFO"},
      {"check", 0, 0, G_OPTION_ARG_NONE, &check_only, "Check configuration and database, then exit",
       NULL},
      G_OPTION_ENTRY_NULL};
  GOptionContext *oc = g_option_context_new("- citywatch node daemon");
  g_option_context_add_main_entries(oc, entries, NULL);
  GError *gerr = NULL;
  int status = 1;
  cw_config_t *cfg = NULL;
  PGconn *conn = NULL;
  cw_error_t err;
  daemon_t d = {0};
  gboolean loop_ready = FALSE;
  cw_secret_key_t *key = NULL;
  cw_ingest_pool_t *pool = NULL;
  cw_node_t *node_ctl = NULL;
  cw_recording_t *recording = NULL;
  cw_event_writer_t *events = NULL;
  cw_snapshots_t *snapshots = NULL;
  cw_analytics_t *analytics = NULL;
  unit_fanout_t fanout = {0};

  if (!g_option_context_parse(oc, &argc, &argv, &gerr)) {
    fprintf(stderr, "citywatchd: %s\n", gerr->message);
    g_error_free(gerr);
    status = 2;
    goto out;
  }
  if (argc > 1) {
    fprintf(stderr, "citywatchd: unexpected argument '%s'\n", argv[1]);
    status = 2;
    goto out;
  }
  if (cw_config_load(config_path, &cfg, &err) < 0) {
    fprintf(stderr, "citywatchd: %s\n", err.msg);
    goto out;
  }
  cw_log_level_t level = CW_LOG_INFO;
  cw_log_level_parse(cw_config_get_string(cfg, "log", "level"), &level);
  cw_log_set_level(level);
  if (!node || !*node) {
    const char *configured = cw_config_get_string(cfg, "node", "name");
    g_free(node);
    node = g_strdup(*configured ? configured : g_get_host_name());
  }

  conn = cw_db_connect(db ? db : cw_config_get_string(cfg, "database", "conninfo"), "citywatchd",
                       &err);
  if (!conn) {
    cw_log_error("citywatchd", "%s", err.msg);
    goto out;
  }
  /* Never run against a schema this build was not written for. */
  if (cw_migrate_check(conn, &err) < 0) {
    cw_log_error("citywatchd", "refusing to start: %s", err.msg);
    goto out;
  }
  long enabled = 0;
  if (count_enabled(conn, &enabled, &err) < 0) {
    cw_log_error("citywatchd", "%s", err.msg);
    goto out;
  }
  cw_log_info("citywatchd", "node %s: schema at migration %d, %ld enabled cameras", node,
              cw_migrations_count, enabled);
  gint64 quota_bytes;
  double quota_percent;
  if (cw_quota_parse(cw_config_get_string(cfg, "recording", "quota"), &quota_bytes, &quota_percent,
                     &err) < 0) {
    cw_log_error("citywatchd", "[recording] %s", err.msg);
    goto out;
  }
  if (check_only) {
    status = 0;
    goto out;
  }

  uv_loop_init(&d.loop);
  loop_ready = TRUE;
  uv_signal_init(&d.loop, &d.sigint);
  uv_signal_init(&d.loop, &d.sigterm);
  d.sigint.data = d.sigterm.data = &d;
  uv_signal_start(&d.sigint, on_signal, SIGINT);
  uv_signal_start(&d.sigterm, on_signal, SIGTERM);
  /* The key is needed only when some camera has a password; without one,
   * such cameras are reported, the others run. */
  const char *key_path = cw_secret_key_path(cw_config_get_string(cfg, "security", "key_file"));
  if (key_path && cw_secret_key_load(key_path, FALSE, &key, &err) < 0)
    cw_log_warn("citywatchd", "%s; cameras with a password cannot be pulled", err.msg);

  cw_camera_options_t opts = {
      .stall_ms = (guint)cw_config_get_int(cfg, "ingest", "stall_timeout") * 1000,
      .backoff_min_ms = (guint)(cw_config_get_double(cfg, "ingest", "backoff_min") * 1000),
      .backoff_max_ms = (guint)(cw_config_get_double(cfg, "ingest", "backoff_max") * 1000),
      .stable_ms = (guint)cw_config_get_int(cfg, "ingest", "stable_period") * 1000,
      .timeout_ms = (guint)cw_config_get_int(cfg, "ingest", "rtsp_timeout") * 1000,
      .sink = NULL, /* unit_fanout, below */
  };
  cw_event_writer_options_t eo = {
      .journal_dir = cw_config_get_string(cfg, "events", "journal_dir"),
      .journal_max_bytes = (gsize)cw_config_get_int(cfg, "events", "journal_max_mb") << 20,
      .sync_ms = (guint)cw_config_get_int(cfg, "events", "sync_ms"),
      .conninfo = db ? db : cw_config_get_string(cfg, "database", "conninfo"),
      .node = node,
  };
  events = cw_event_writer_new(&eo, &err);
  if (!events) {
    cw_log_error("citywatchd", "[events] journal_dir: %s", err.msg);
    goto out;
  }
  if (cw_config_get_bool(cfg, "recording", "enabled")) {
    recording = cw_recording_start(
        cfg, node, db ? db : cw_config_get_string(cfg, "database", "conninfo"), &err);
    if (!recording) {
      cw_log_error("citywatchd", "cannot record: %s", err.msg);
      goto out;
    }
    fanout.recorder = cw_recording_recorder(recording);
  }
  snapshots = cw_snapshots_start(&d.loop, cfg, &err);
  if (!snapshots) {
    cw_log_error("citywatchd", "%s", err.msg);
    goto out;
  }
  fanout.snapshotter = cw_snapshots_snapshotter(snapshots);
  analytics = cw_analytics_start(cfg, node, events, fanout.snapshotter, &err);
  if (!analytics && cw_config_get_bool(cfg, "analytics", "enabled")) {
    cw_log_error("citywatchd", "cannot analyse: %s", err.msg);
    goto out;
  }
  fanout.analytics = cw_analytics_pool(analytics);
  opts.sink = unit_fanout;
  opts.sink_opaque = &fanout;
  pool = cw_ingest_pool_new((guint)cw_config_get_int(cfg, "ingest", "workers"), &opts);
  node_ctl = cw_node_new(&d.loop, node, db ? db : cw_config_get_string(cfg, "database", "conninfo"),
                         cfg, pool, key);
  cw_node_set_recorder(node_ctl, cw_recording_recorder(recording));
  cw_node_set_events(node_ctl, events, fanout.snapshotter);
  cw_node_set_analytics(node_ctl, analytics);
  cw_node_start(node_ctl);
  cw_log_info("citywatchd", "node %s running: %u ingest workers", node,
              cw_ingest_pool_threads(pool));
  uv_run(&d.loop, UV_RUN_DEFAULT);
  cw_node_stop(node_ctl);
  status = 0;
out:
  /* Workers first: their cameras send TEARDOWN and close; then the
   * recorder, which nothing feeds any more, closes its segments. */
  cw_ingest_pool_free(pool);
  cw_recording_stop(recording);
  /* Before the snapshotter: incidents that end now may still ask it. */
  cw_analytics_stop(analytics);
  cw_snapshots_stop(snapshots);
  /* Last: what the stages reported on the way down is journaled, and sent
   * if the database takes it within two seconds. */
  cw_event_writer_free(events, 2000);
  if (loop_ready) {
    uv_walk(&d.loop, close_handle, NULL);
    uv_run(&d.loop, UV_RUN_DEFAULT);
    uv_loop_close(&d.loop);
  }
  cw_node_free(node_ctl);
  cw_snapshots_free(snapshots);
  cw_secret_key_free(key);
  if (conn)
    PQfinish(conn);
  cw_config_free(cfg);
  g_option_context_free(oc);
  g_free(config_path);
  g_free(node);
  g_free(db);
  return status;
}
