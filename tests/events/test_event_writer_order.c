/* The event writer keeps two batches in flight: when the first is refused
 * (an event the database will never take), the second must not run before
 * the first's good events are in, or an alert opened in the first would
 * never see the event that resolves it in the second. Run under with-pg. */
#include <string.h>

#include <glib/gstdio.h>

#include "event_writer.h"
#include "test_db.h"
#include "test_support.h"

static PGconn *conn;

static gint64
sql_int(const char *sql)
{
  PGresult *res = PQexec(conn, sql);
  if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
    g_error("%s: %s", sql, PQerrorMessage(conn));
  gint64 v = g_ascii_strtoll(PQgetvalue(res, 0, 0), NULL, 10);
  PQclear(res);
  return v;
}

static void
wait_for(cw_event_writer_t *w, gboolean (*done)(const cw_event_writer_stats_t *))
{
  cw_event_writer_stats_t st;
  gint64 deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
  do {
    g_usleep(10 * 1000);
    cw_event_writer_stats(w, &st);
  } while (!done(&st) && g_get_monotonic_time() < deadline);
  g_assert_true(done(&st));
}

static gboolean
connected(const cw_event_writer_stats_t *st)
{
  return st->db_connected;
}

static gboolean
drained(const cw_event_writer_stats_t *st)
{
  return st->accepted == st->submitted && st->committed + st->rejected == st->accepted;
}

static void
submit(cw_event_writer_t *w, guint n, gint64 camera, const char *kind, gint64 start)
{
  cw_event_t e = {.camera_id = camera, .kind = kind, .start_us = start};
  g_snprintf(e.id, sizeof e.id, "00000000-0000-4000-8000-%012x", n);
  g_assert_true(cw_event_writer_submit(w, &e));
}

static void
test_refused_batch_first(void)
{
  char *dir = g_dir_make_tmp("cw-evorder-XXXXXX", NULL);
  /* Batches of 4, all 8 events synced at one tick: both batches go out
   * before the first is answered. */
  cw_event_writer_options_t o = {
      .journal_dir = dir, .batch_max = 4, .sync_ms = 200, .conninfo = "", .node = "n-order"};
  cw_error_t err;
  cw_event_writer_t *w = cw_event_writer_new(&o, &err);
  g_assert_nonnull(w);
  wait_for(w, connected);
  gint64 t0 = cw_test_time("2026-04-10T08:00:00Z");
  submit(w, 1, 301, "camera.offline", t0);
  submit(w, 2, 301, "traffic.count", t0);
  submit(w, 3, 301, "traffic.count", t0);
  submit(w, 4, 301, "no.such.kind", t0); /* refused for good */
  submit(w, 5, 301, "camera.online", t0 + CW_TEST_MINUTE);
  submit(w, 6, 301, "traffic.count", t0 + CW_TEST_MINUTE);
  submit(w, 7, 301, "camera.offline", t0 + 2 * CW_TEST_MINUTE);
  submit(w, 8, 301, "traffic.count", t0 + 2 * CW_TEST_MINUTE);
  wait_for(w, drained);
  cw_event_writer_stats_t st;
  cw_event_writer_stats(w, &st);
  g_assert_cmpuint(st.committed, ==, 7);
  g_assert_cmpuint(st.inserted, ==, 7);
  g_assert_cmpuint(st.rejected, ==, 1);
  cw_event_writer_free(w, 1000);

  g_assert_cmpint(sql_int("SELECT count(*) FROM events WHERE camera_id = 301"), ==, 7);
  /* Down, back, down again, in that order: the first alert resolved by the
   * return, the second open. */
  g_assert_cmpint(sql_int("SELECT count(*) FROM alerts WHERE camera_id = 301"
                          " AND state = 'resolved' AND auto_resolved"
                          " AND first_event_id = '00000000-0000-4000-8000-000000000001'"),
                  ==, 1);
  g_assert_cmpint(sql_int("SELECT count(*) FROM alerts WHERE camera_id = 301 AND state = 'open'"
                          " AND first_event_id = '00000000-0000-4000-8000-000000000007'"),
                  ==, 1);
  g_assert_cmpint(sql_int("SELECT count(*) FROM alerts WHERE camera_id = 301"), ==, 2);

  GDir *d = g_dir_open(dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name(d))) {
    char *path = g_build_filename(dir, name, NULL);
    g_unlink(path);
    g_free(path);
  }
  if (d)
    g_dir_close(d);
  g_rmdir(dir);
  g_free(dir);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  conn = cw_test_db("test_event_writer_order");
  g_test_add_func("/event_writer/refused_batch_first", test_refused_batch_first);
  int rc = g_test_run();
  PQfinish(conn);
  return rc;
}
