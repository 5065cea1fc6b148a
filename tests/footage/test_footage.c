/* The footage index against a real PostgreSQL (run under with-pg, which
 * sets PG* for a fresh database): adding, day partitions, find with gaps,
 * retention by age, quota eviction, holds, and the queries the recorder
 * asks at start-up. Each test uses cameras and nodes of its own, so the
 * order they run in does not matter. */
#include <errno.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "audit.h"
#include "db.h"
#include "footage.h"
#include "migrate.h"
#include "test_db.h"
#include "test_support.h"
#include "timeutil.h"

static PGconn *conn;

#define SEC CW_TEST_SEC
#define MINUTE CW_TEST_MINUTE
#define HOUR CW_TEST_HOUR
#define DAY CW_TEST_DAY

static cw_segment_info_t *
seg(gint64 camera, gint64 start, gint64 dur, gint64 bytes)
{
  cw_segment_info_t *s = g_new0(cw_segment_info_t, 1);
  s->camera_id = camera;
  s->path = cw_segment_relpath(camera, start);
  s->start_us = start;
  s->end_us = start + dur;
  s->bytes = bytes;
  s->codec = CW_CODEC_H264;
  s->width = 640;
  s->height = 360;
  return s;
}

/* Adds the array's segments (and frees it); returns how many were new. */
static guint
add_all(const char *node, GPtrArray *segs)
{
  guint added = 0;
  cw_error_t err;
  int rc = cw_footage_add(conn, node, (const cw_segment_info_t *const *)segs->pdata, segs->len,
                          &added, &err);
  if (rc < 0)
    g_error("cw_footage_add: %s", err.msg);
  g_ptr_array_free(segs, TRUE);
  return added;
}

static GPtrArray *
segs_new(void)
{
  return g_ptr_array_new_with_free_func(cw_segment_info_free);
}

static gint64
sql_int(const char *sql)
{
  PGresult *res = PQexec(conn, sql);
  if (PQresultStatus(res) != PGRES_TUPLES_OK)
    g_error("%s: %s", sql, PQerrorMessage(conn));
  gint64 v = g_ascii_strtoll(PQgetvalue(res, 0, 0), NULL, 10);
  PQclear(res);
  return v;
}

static void
sql_exec(const char *sql)
{
  cw_error_t err;
  if (cw_db_exec(conn, sql, &err) < 0)
    g_error("%s: %s", sql, err.msg);
}

static gint64
camera_register(const char *name)
{
  char *sql = g_strdup_printf("INSERT INTO cameras (name, url) VALUES ('%s', 'rtsp://cam/%s')"
                              " RETURNING id",
                              name, name);
  gint64 id = sql_int(sql);
  g_free(sql);
  return id;
}

/* ---- add ------------------------------------------------------------- */

static void
test_add_idempotent(void)
{
  gint64 t0 = cw_test_time("2026-03-01T10:00:00Z");
  GPtrArray *s = segs_new();
  for (int i = 0; i < 3; i++)
    g_ptr_array_add(s, seg(101, t0 + i * MINUTE, MINUTE, 1000 + i));
  g_assert_cmpuint(add_all("n-add", s), ==, 3);

  /* A retry of the same batch plus one more: only the new one counts, and
   * the rows already there keep what they had. */
  s = segs_new();
  for (int i = 0; i < 4; i++)
    g_ptr_array_add(s, seg(101, t0 + i * MINUTE, MINUTE, 5000));
  g_assert_cmpuint(add_all("n-add", s), ==, 1);
  g_assert_cmpint(sql_int("SELECT count(*) FROM segments WHERE camera_id = 101"), ==, 4);
  g_assert_cmpint(sql_int("SELECT sum(bytes) FROM segments WHERE camera_id = 101"), ==,
                  1000 + 1001 + 1002 + 5000);

  /* Times go in and come back to the microsecond. */
  cw_footage_t *f = NULL;
  cw_error_t err;
  g_assert_cmpint(cw_footage_find(conn, 101, t0, t0 + 4 * MINUTE, &f, &err), ==, 0);
  g_assert_cmpuint(f->segments->len, ==, 4);
  cw_segment_row_t *r = f->segments->pdata[1];
  g_assert_cmpint(r->info.start_us, ==, t0 + MINUTE);
  g_assert_cmpint(r->info.end_us, ==, t0 + 2 * MINUTE);
  g_assert_cmpstr(r->node, ==, "n-add");
  g_assert_cmpint(r->info.codec, ==, CW_CODEC_H264);
  g_assert_cmpint(r->info.width, ==, 640);
  g_assert_false(r->info.repaired);
  cw_footage_free(f);

  guint added = 99;
  g_assert_cmpint(cw_footage_add(conn, "n-add", NULL, 0, &added, &err), ==, 0);
  g_assert_cmpuint(added, ==, 0);
}

static void
test_add_microseconds(void)
{
  gint64 t0 = cw_test_time("2026-03-01T11:00:00.123457Z");
  GPtrArray *s = segs_new();
  cw_segment_info_t *one = seg(102, t0, 59 * SEC + 999999, 10);
  one->codec = CW_CODEC_H265;
  one->width = one->height = 0;
  one->repaired = TRUE;
  g_ptr_array_add(s, one);
  g_assert_cmpuint(add_all("n-add", s), ==, 1);
  cw_footage_t *f = NULL;
  g_assert_cmpint(cw_footage_find(conn, 102, t0, t0 + MINUTE, &f, NULL), ==, 0);
  cw_segment_row_t *r = f->segments->pdata[0];
  g_assert_cmpint(r->info.start_us, ==, t0);
  g_assert_cmpint(r->info.end_us, ==, t0 + 59 * SEC + 999999);
  g_assert_cmpint(r->info.codec, ==, CW_CODEC_H265);
  g_assert_cmpint(r->info.width, ==, 0);
  g_assert_true(r->info.repaired);
  cw_footage_free(f);
}

static void
test_add_refuses(void)
{
  gint64 t0 = cw_test_time("2026-03-01T12:00:00Z");
  struct {
    const char *what, *want;
  } cases[] = {
      {"absolute path", "path must be relative"},
      {"dotdot path", "without '..'"},
      {"no codec", "codec"},
      {"end before start", "end must be after start"},
      {"longer than an hour", "by at most an hour"},
      {"no bytes", "bytes must be positive"},
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    cw_segment_info_t *good = seg(103, t0, MINUTE, 10), *bad = seg(103, t0 + MINUTE, MINUTE, 10);
    switch (i) {
    case 0:
      g_free(bad->path);
      bad->path = g_strdup("/etc/passwd");
      break;
    case 1:
      g_free(bad->path);
      bad->path = g_strdup("103/../../x.mp4");
      break;
    case 2:
      bad->codec = CW_CODEC_NONE;
      break;
    case 3:
      bad->end_us = bad->start_us;
      break;
    case 4:
      bad->end_us = bad->start_us + HOUR + 1;
      break;
    default:
      bad->bytes = 0;
    }
    const cw_segment_info_t *batch[] = {good, bad};
    cw_error_t err = {0};
    guint added = 7;
    g_test_message("case: %s", cases[i].what);
    g_assert_cmpint(cw_footage_add(conn, "n-add", batch, 2, &added, &err), ==, -EINVAL);
    g_assert_nonnull(strstr(err.msg, cases[i].want));
    g_assert_nonnull(strstr(err.msg, "segment "));
    g_assert_cmpuint(added, ==, 0);
    cw_segment_info_free(good);
    cw_segment_info_free(bad);
  }
  /* Nothing of a refused batch went in. */
  g_assert_cmpint(sql_int("SELECT count(*) FROM segments WHERE camera_id = 103"), ==, 0);
}

/* Rows land in the partition of their start's UTC day, made on first use;
 * a segment across midnight belongs to the day it started. */
static void
test_add_partitions(void)
{
  GPtrArray *s = segs_new();
  g_ptr_array_add(s, seg(104, cw_test_time("2026-04-01T12:00:00Z"), MINUTE, 10));
  g_ptr_array_add(s, seg(104, cw_test_time("2026-04-01T23:59:30Z"), MINUTE, 10));
  g_ptr_array_add(s, seg(104, cw_test_time("2026-04-03T00:00:00Z"), MINUTE, 10));
  g_ptr_array_add(s, seg(104, cw_test_time("2026-04-02T23:30:00+01:00"), MINUTE, 10)); /* 22:30Z */
  g_assert_cmpuint(add_all("n-part", s), ==, 4);
  g_assert_cmpint(sql_int("SELECT count(*) FROM pg_inherits i"
                          " JOIN pg_class c ON c.oid = i.inhrelid"
                          " WHERE i.inhparent = 'segments'::regclass"
                          " AND c.relname IN ('segments_20260401', 'segments_20260402',"
                          " 'segments_20260403')"),
                  ==, 3);
  g_assert_cmpint(sql_int("SELECT count(*) FROM segments_20260401 WHERE camera_id = 104"), ==, 2);
  g_assert_cmpint(sql_int("SELECT count(*) FROM segments_20260402 WHERE camera_id = 104"), ==, 1);
  g_assert_cmpint(sql_int("SELECT count(*) FROM segments_20260403 WHERE camera_id = 104"), ==, 1);
  /* A later batch for a day that exists makes nothing new. */
  gint64 before =
      sql_int("SELECT count(*) FROM pg_inherits WHERE inhparent = 'segments'::regclass");
  s = segs_new();
  g_ptr_array_add(s, seg(104, cw_test_time("2026-04-01T13:00:00Z"), MINUTE, 10));
  g_assert_cmpuint(add_all("n-part", s), ==, 1);
  g_assert_cmpint(
      sql_int("SELECT count(*) FROM pg_inherits WHERE inhparent = 'segments'::regclass"), ==,
      before);
}

/* ---- find ------------------------------------------------------------ */

static cw_footage_t *
find(gint64 camera, const char *from, const char *to)
{
  cw_footage_t *f = NULL;
  cw_error_t err;
  if (cw_footage_find(conn, camera, cw_test_time(from), cw_test_time(to), &f, &err) < 0)
    g_error("cw_footage_find: %s", err.msg);
  return f;
}

static void
assert_gap(const cw_footage_t *f, guint i, const char *from, const char *to)
{
  g_assert_cmpuint(i, <, f->gaps->len);
  const cw_time_range_t *g = &g_array_index(f->gaps, cw_time_range_t, i);
  char *got_from = cw_time_format(g->from_us), *got_to = cw_time_format(g->to_us);
  char *want_from = cw_time_format(cw_test_time(from)), *want_to = cw_time_format(cw_test_time(to));
  g_assert_cmpstr(got_from, ==, want_from);
  g_assert_cmpstr(got_to, ==, want_to);
  g_free(got_from);
  g_free(got_to);
  g_free(want_from);
  g_free(want_to);
}

/* Camera 201: 10:00-10:01, 10:01:00.1-10:02 (a 100 ms hole: not a gap),
 * 10:05-10:06 and 10:05:30-10:06:30 (overlapping). */
static void
find_fixture(void)
{
  static gboolean done;
  if (done)
    return;
  done = TRUE;
  GPtrArray *s = segs_new();
  g_ptr_array_add(s, seg(201, cw_test_time("2026-05-01T10:00:00Z"), MINUTE, 100));
  g_ptr_array_add(s, seg(201, cw_test_time("2026-05-01T10:01:00.1Z"), MINUTE - SEC / 10, 100));
  g_ptr_array_add(s, seg(201, cw_test_time("2026-05-01T10:05:00Z"), MINUTE, 100));
  g_ptr_array_add(s, seg(201, cw_test_time("2026-05-01T10:05:30Z"), MINUTE, 100));
  add_all("n-find", s);
}

static void
test_find_gaps(void)
{
  find_fixture();
  cw_footage_t *f = find(201, "2026-05-01T09:59:00Z", "2026-05-01T10:08:00Z");
  g_assert_cmpuint(f->segments->len, ==, 4);
  g_assert_cmpuint(f->gaps->len, ==, 3);
  assert_gap(f, 0, "2026-05-01T09:59:00Z", "2026-05-01T10:00:00Z"); /* start */
  assert_gap(f, 1, "2026-05-01T10:02:00Z", "2026-05-01T10:05:00Z"); /* middle */
  assert_gap(f, 2, "2026-05-01T10:06:30Z", "2026-05-01T10:08:00Z"); /* end */
  /* 60 + 59.9 + 90 s: overlap counted once. */
  g_assert_cmpint(f->covered_us, ==, 209 * SEC + 9 * SEC / 10);
  cw_footage_free(f);
}

static void
test_find_no_gap(void)
{
  find_fixture();
  /* Starts inside a segment that began before from; crosses the 100 ms hole. */
  cw_footage_t *f = find(201, "2026-05-01T10:00:30Z", "2026-05-01T10:01:30Z");
  g_assert_cmpuint(f->segments->len, ==, 2);
  g_assert_cmpuint(f->gaps->len, ==, 0);
  g_assert_cmpint(f->covered_us, ==, 59 * SEC + 9 * SEC / 10);
  cw_footage_free(f);

  f = find(201, "2026-05-01T10:00:10Z", "2026-05-01T10:00:50Z");
  g_assert_cmpuint(f->segments->len, ==, 1);
  g_assert_cmpuint(f->gaps->len, ==, 0);
  g_assert_cmpint(f->covered_us, ==, 40 * SEC);
  cw_footage_free(f);

  /* Segments that touch the range only at its edges are not in it. */
  f = find(201, "2026-05-01T10:02:00Z", "2026-05-01T10:05:00Z");
  g_assert_cmpuint(f->segments->len, ==, 0);
  g_assert_cmpuint(f->gaps->len, ==, 1);
  assert_gap(f, 0, "2026-05-01T10:02:00Z", "2026-05-01T10:05:00Z");
  cw_footage_free(f);
}

static void
test_find_inside_gap(void)
{
  find_fixture();
  cw_footage_t *f = find(201, "2026-05-01T10:03:00Z", "2026-05-01T10:04:00Z");
  g_assert_cmpuint(f->segments->len, ==, 0);
  g_assert_cmpuint(f->gaps->len, ==, 1);
  assert_gap(f, 0, "2026-05-01T10:03:00Z", "2026-05-01T10:04:00Z");
  g_assert_cmpint(f->covered_us, ==, 0);
  cw_footage_free(f);
  /* A day with no partition at all. */
  f = find(201, "2027-01-01T00:00:00Z", "2027-01-02T00:00:00Z");
  g_assert_cmpuint(f->segments->len, ==, 0);
  g_assert_cmpuint(f->gaps->len, ==, 1);
  cw_footage_free(f);
}

/* A hole of exactly the tolerance is a gap; one microsecond less is not. */
static void
test_find_tolerance(void)
{
  gint64 t0 = cw_test_time("2026-05-02T10:00:00Z");
  GPtrArray *s = segs_new();
  g_ptr_array_add(s, seg(202, t0, MINUTE, 100));
  g_ptr_array_add(s, seg(202, t0 + MINUTE + CW_FOOTAGE_GAP_TOLERANCE_US - 1, MINUTE, 100));
  g_ptr_array_add(s, seg(203, t0, MINUTE, 100));
  g_ptr_array_add(s, seg(203, t0 + MINUTE + CW_FOOTAGE_GAP_TOLERANCE_US, MINUTE, 100));
  add_all("n-find", s);
  cw_footage_t *f = NULL;
  g_assert_cmpint(cw_footage_find(conn, 202, t0, t0 + 2 * MINUTE, &f, NULL), ==, 0);
  g_assert_cmpuint(f->gaps->len, ==, 0);
  cw_footage_free(f);
  g_assert_cmpint(cw_footage_find(conn, 203, t0, t0 + 2 * MINUTE, &f, NULL), ==, 0);
  g_assert_cmpuint(f->gaps->len, ==, 1);
  const cw_time_range_t *g = &g_array_index(f->gaps, cw_time_range_t, 0);
  g_assert_cmpint(g->from_us, ==, t0 + MINUTE);
  g_assert_cmpint(g->to_us, ==, t0 + MINUTE + CW_FOOTAGE_GAP_TOLERANCE_US);
  cw_footage_free(f);
}

/* A segment of the longest length, begun just under an hour before from. */
static void
test_find_long_segment(void)
{
  gint64 t0 = cw_test_time("2026-05-03T00:30:00Z");
  GPtrArray *s = segs_new();
  g_ptr_array_add(s, seg(204, t0, HOUR, 100));
  add_all("n-find", s);
  cw_footage_t *f = NULL;
  g_assert_cmpint(cw_footage_find(conn, 204, t0 + HOUR - SEC, t0 + HOUR + MINUTE, &f, NULL), ==, 0);
  g_assert_cmpuint(f->segments->len, ==, 1);
  g_assert_cmpuint(f->gaps->len, ==, 1);
  g_assert_cmpint(f->covered_us, ==, SEC);
  cw_footage_free(f);
}

static void
test_find_cameras(void)
{
  find_fixture();
  cw_footage_t *f = NULL;
  cw_error_t err = {0};
  g_assert_cmpint(cw_footage_find(conn, 299, cw_test_time("2026-05-01T10:00:00Z"),
                                  cw_test_time("2026-05-01T11:00:00Z"), &f, &err),
                  ==, -ENOENT);
  g_assert_cmpstr(err.msg, ==, "camera 299: no such camera");
  g_assert_null(f);
  /* Registered, never recorded: known, and all gap. */
  gint64 id = camera_register("find-empty");
  g_assert_cmpint(cw_footage_find(conn, id, cw_test_time("2026-05-01T10:00:00Z"),
                                  cw_test_time("2026-05-01T11:00:00Z"), &f, &err),
                  ==, 0);
  g_assert_cmpuint(f->gaps->len, ==, 1);
  cw_footage_free(f);
  /* Camera 201 is not registered (or was removed) but has footage:
   * outside its footage it is still a camera with a gap. */
  g_assert_cmpint(cw_footage_find(conn, 201, cw_test_time("2026-06-01T10:00:00Z"),
                                  cw_test_time("2026-06-01T11:00:00Z"), &f, &err),
                  ==, 0);
  g_assert_cmpuint(f->gaps->len, ==, 1);
  cw_footage_free(f);
  gint64 t = cw_test_time("2026-05-01T10:00:00Z");
  g_assert_cmpint(cw_footage_find(conn, 201, t, t, &f, &err), ==, -EINVAL);
  g_assert_cmpint(cw_footage_find(conn, 201, t, t - 1, &f, &err), ==, -EINVAL);
}

static void
test_find_json(void)
{
  find_fixture();
  cw_footage_t *f = find(201, "2026-05-01T09:59:00Z", "2026-05-01T10:08:00Z");
  cw_segment_row_t *r = f->segments->pdata[0];
  r->info.width = 0; /* unknown: null */
  char *text = cw_footage_to_json(f);
  cw_footage_free(f);
  GError *gerr = NULL;
  JsonNode *root = json_from_string(text, &gerr);
  g_assert_no_error(gerr);
  JsonObject *o = json_node_get_object(root);
  g_assert_cmpint(json_object_get_int_member(o, "camera_id"), ==, 201);
  g_assert_cmpstr(json_object_get_string_member(o, "from"), ==, "2026-05-01T09:59:00.000000Z");
  g_assert_cmpstr(json_object_get_string_member(o, "to"), ==, "2026-05-01T10:08:00.000000Z");
  g_assert_cmpfloat_with_epsilon(json_object_get_double_member(o, "covered_seconds"), 209.9, 1e-9);
  JsonArray *segs = json_object_get_array_member(o, "segments");
  g_assert_cmpuint(json_array_get_length(segs), ==, 4);
  JsonObject *s0 = json_array_get_object_element(segs, 0);
  g_assert_cmpstr(json_object_get_string_member(s0, "start"), ==, "2026-05-01T10:00:00.000000Z");
  g_assert_cmpstr(json_object_get_string_member(s0, "end"), ==, "2026-05-01T10:01:00.000000Z");
  g_assert_cmpstr(json_object_get_string_member(s0, "node"), ==, "n-find");
  g_assert_cmpstr(json_object_get_string_member(s0, "path"), ==,
                  "201/2026-05-01/10/201-20260501T100000.000Z.mp4");
  g_assert_cmpint(json_object_get_int_member(s0, "bytes"), ==, 100);
  g_assert_cmpstr(json_object_get_string_member(s0, "codec"), ==, "h264");
  g_assert_true(json_object_get_null_member(s0, "width"));
  g_assert_cmpint(json_object_get_int_member(s0, "height"), ==, 360);
  g_assert_false(json_object_get_boolean_member(s0, "repaired"));
  JsonArray *gaps = json_object_get_array_member(o, "gaps");
  g_assert_cmpuint(json_array_get_length(gaps), ==, 3);
  JsonObject *g1 = json_array_get_object_element(gaps, 1);
  g_assert_cmpstr(json_object_get_string_member(g1, "from"), ==, "2026-05-01T10:02:00.000000Z");
  g_assert_cmpstr(json_object_get_string_member(g1, "to"), ==, "2026-05-01T10:05:00.000000Z");
  json_node_unref(root);
  g_free(text);
}

/* auto_explain hands the plan of the real query back as a notice. */
static void
collect_notice(void *arg, const char *message)
{
  g_string_append((GString *)arg, message);
}

/* The find must be one index scan on one day's partition, not a walk over
 * every day: that is what keeps it at milliseconds on a large index. */
static void
test_find_plan(void)
{
  GPtrArray *s = segs_new();
  for (int d = 0; d < 5; d++)
    for (int m = 0; m < 3; m++)
      g_ptr_array_add(
          s, seg(205, cw_test_time("2026-07-01T10:00:00Z") + d * DAY + m * MINUTE, MINUTE, 100));
  add_all("n-plan", s);
  sql_exec("ANALYZE segments");
  GString *plan = g_string_new(NULL);
  PQnoticeProcessor old = PQsetNoticeProcessor(conn, collect_notice, plan);
  sql_exec("SET client_min_messages = notice"); /* cw_migrate_apply raised it */
  sql_exec("LOAD 'auto_explain'");
  sql_exec("SET auto_explain.log_min_duration = 0");
  sql_exec("SET auto_explain.log_level = 'notice'");
  sql_exec("SET enable_seqscan = off"); /* a few rows would make a seq scan cheapest */
  g_string_truncate(plan, 0);
  cw_footage_t *f = find(205, "2026-07-03T10:00:30Z", "2026-07-03T10:01:30Z");
  g_assert_cmpuint(f->segments->len, ==, 2);
  cw_footage_free(f);
  sql_exec("RESET enable_seqscan");
  sql_exec("SET auto_explain.log_min_duration = -1");
  PQsetNoticeProcessor(conn, old, NULL);
  g_test_message("plan:\n%s", plan->str);
  g_assert_nonnull(strstr(plan->str, "segments_20260703_pkey"));
  g_assert_null(strstr(plan->str, "segments_20260702"));
  g_assert_null(strstr(plan->str, "segments_20260704"));
  g_assert_null(strstr(plan->str, "Seq Scan"));
  g_string_free(plan, TRUE);
}

/* ---- retention and quota ---------------------------------------------- */

static GPtrArray *
expire(const char *node, gint64 now, int default_days, guint limit)
{
  GPtrArray *removed = NULL;
  cw_error_t err;
  if (cw_footage_expire(conn, node, now, default_days, limit, &removed, &err) < 0)
    g_error("cw_footage_expire: %s", err.msg);
  return removed;
}

static guint
count_camera(GPtrArray *rows, gint64 camera)
{
  guint n = 0;
  for (guint i = 0; i < rows->len; i++)
    n += ((cw_segment_row_t *)rows->pdata[i])->info.camera_id == camera;
  return n;
}

static void
assert_oldest_first(GPtrArray *rows)
{
  for (guint i = 1; i < rows->len; i++)
    g_assert_cmpint(((cw_segment_row_t *)rows->pdata[i - 1])->info.start_us, <=,
                    ((cw_segment_row_t *)rows->pdata[i])->info.start_us);
}

/* Three cameras with a one-minute segment at noon on each of ten days:
 * one registered with 2 days of retention, one registered on the default,
 * one no longer registered (also the default). Default 5 days, now is the
 * start of day 10. */
static void
test_expire(void)
{
  gint64 a = camera_register("expire-a"), b = camera_register("expire-b"), c = 301;
  char *sql =
      g_strdup_printf("UPDATE cameras SET retention_days = 2 WHERE id = %" G_GINT64_FORMAT, a);
  sql_exec(sql);
  g_free(sql);
  gint64 day0 = cw_test_time("2026-08-01T00:00:00Z"), now = day0 + 10 * DAY;
  GPtrArray *s = segs_new();
  for (int d = 0; d < 10; d++) {
    g_ptr_array_add(s, seg(a, day0 + d * DAY + 12 * HOUR, MINUTE, 10));
    g_ptr_array_add(s, seg(b, day0 + d * DAY + 12 * HOUR, MINUTE, 10));
    g_ptr_array_add(s, seg(c, day0 + d * DAY + 12 * HOUR, MINUTE, 10));
  }
  g_assert_cmpuint(add_all("n-expire", s), ==, 30);
  /* Another node's footage is its own retention's business. */
  s = segs_new();
  g_ptr_array_add(s, seg(b, day0 + 30 * SEC, MINUTE, 10));
  add_all("n-other", s);
  /* Camera a, day 3 is under hold. */
  cw_error_t err;
  g_assert_cmpint(
      cw_footage_hold(conn, a, day0 + 3 * DAY, day0 + 4 * DAY, "C-EXP", "test", NULL, &err), ==, 0);

  GPtrArray *first = expire("n-expire", now, 5, 4);
  g_assert_cmpuint(first->len, ==, 4);
  assert_oldest_first(first);
  for (guint i = 0; i < first->len; i++) {
    cw_segment_row_t *r = first->pdata[i];
    g_assert_cmpint(r->info.start_us, <, day0 + 2 * DAY);
    g_assert_cmpstr(r->node, ==, "n-expire");
    g_assert_nonnull(r->info.path);
    g_assert_cmpint(r->info.bytes, ==, 10);
  }
  GPtrArray *rest = expire("n-expire", now, 5, 1000);
  /* a: days 0-7 less the held day 3 = 7; b and c: days 0-4 = 5 each. */
  g_assert_cmpuint(first->len + rest->len, ==, 17);
  g_assert_cmpuint(count_camera(first, a) + count_camera(rest, a), ==, 7);
  g_assert_cmpuint(count_camera(first, b) + count_camera(rest, b), ==, 5);
  g_assert_cmpuint(count_camera(first, c) + count_camera(rest, c), ==, 5);
  assert_oldest_first(rest);
  g_ptr_array_free(first, TRUE);
  g_ptr_array_free(rest, TRUE);
  /* The rows went with the answer; a second pass finds nothing. */
  GPtrArray *none = expire("n-expire", now, 5, 1000);
  g_assert_cmpuint(none->len, ==, 0);
  g_ptr_array_free(none, TRUE);
  g_assert_cmpint(sql_int("SELECT count(*) FROM segments WHERE node = 'n-expire'"), ==, 13);
  g_assert_cmpint(sql_int("SELECT count(*) FROM segments WHERE node = 'n-other'"), ==, 1);
  sql = g_strdup_printf("SELECT count(*) FROM segments WHERE camera_id = %" G_GINT64_FORMAT
                        " AND start_time < '2026-08-08Z'",
                        a);
  g_assert_cmpint(sql_int(sql), ==, 1); /* the held one */
  g_free(sql);

  /* Released, it goes on the next pass. */
  guint released = 0;
  g_assert_cmpint(
      cw_footage_release(conn, a, day0, day0 + 5 * DAY, "C-EXP", "test", &released, &err), ==, 0);
  g_assert_cmpuint(released, ==, 1);
  GPtrArray *held = expire("n-expire", now, 5, 1000);
  g_assert_cmpuint(held->len, ==, 1);
  g_assert_cmpint(((cw_segment_row_t *)held->pdata[0])->info.start_us, ==,
                  day0 + 3 * DAY + 12 * HOUR);
  g_ptr_array_free(held, TRUE);

  /* Back to the default: camera a keeps days 5-9 now. */
  g_assert_cmpint(cw_footage_set_retention(conn, a, 0, "test", &err), ==, 0);
  GPtrArray *after = expire("n-expire", now + DAY, 5, 1000);
  /* One more day for everyone: b and c lose day 5; a had lost it already. */
  g_assert_cmpuint(after->len, ==, 2);
  g_assert_cmpuint(count_camera(after, a), ==, 0);
  g_ptr_array_free(after, TRUE);
  GPtrArray *bad = NULL;
  g_assert_cmpint(cw_footage_expire(conn, "n-expire", now, 0, 10, &bad, &err), ==, -EINVAL);
  g_assert_null(bad);
}

static GPtrArray *
evict(const char *node, gint64 want, guint limit)
{
  GPtrArray *removed = NULL;
  cw_error_t err;
  if (cw_footage_evict(conn, node, want, limit, &removed, &err) < 0)
    g_error("cw_footage_evict: %s", err.msg);
  return removed;
}

/* Ten 1000-byte segments a minute apart over two cameras; the second
 * oldest is held. */
static void
test_evict(void)
{
  gint64 t0 = cw_test_time("2026-08-20T10:00:00Z");
  GPtrArray *s = segs_new();
  for (int i = 0; i < 10; i++)
    g_ptr_array_add(s, seg(401 + i % 2, t0 + i * MINUTE, MINUTE, 1000));
  add_all("n-evict", s);
  s = segs_new();
  g_ptr_array_add(s, seg(401, t0 - DAY, MINUTE, 1000)); /* older, but another node's */
  add_all("n-other", s);
  cw_error_t err;
  gint64 hold_id = 0;
  g_assert_cmpint(
      cw_footage_hold(conn, 402, t0 + MINUTE, t0 + 2 * MINUTE, "C-EVICT", "test", &hold_id, &err),
      ==, 0);
  g_assert_cmpint(hold_id, >, 0);

  /* 2500 bytes: the three oldest that are not held (the third overshoots). */
  GPtrArray *r = evict("n-evict", 2500, 100);
  g_assert_cmpuint(r->len, ==, 3);
  gint64 want_starts[] = {t0, t0 + 2 * MINUTE, t0 + 3 * MINUTE};
  for (guint i = 0; i < r->len; i++)
    g_assert_cmpint(((cw_segment_row_t *)r->pdata[i])->info.start_us, ==, want_starts[i]);
  g_ptr_array_free(r, TRUE);

  /* Exactly 2000: two rows, no more. */
  r = evict("n-evict", 2000, 100);
  g_assert_cmpuint(r->len, ==, 2);
  g_assert_cmpint(((cw_segment_row_t *)r->pdata[0])->info.start_us, ==, t0 + 4 * MINUTE);
  g_ptr_array_free(r, TRUE);

  /* The row limit wins over the byte target. */
  r = evict("n-evict", G_GINT64_CONSTANT(1) << 40, 2);
  g_assert_cmpuint(r->len, ==, 2);
  g_ptr_array_free(r, TRUE);

  r = evict("n-evict", 0, 100);
  g_assert_cmpuint(r->len, ==, 0);
  g_ptr_array_free(r, TRUE);

  /* All that is left is the held one and two of the newest. */
  r = evict("n-evict", G_GINT64_CONSTANT(1) << 40, 100);
  g_assert_cmpuint(r->len, ==, 2);
  g_ptr_array_free(r, TRUE);
  g_assert_cmpint(sql_int("SELECT count(*) FROM segments WHERE node = 'n-evict'"), ==, 1);
  r = evict("n-evict", G_GINT64_CONSTANT(1) << 40, 100);
  g_assert_cmpuint(r->len, ==, 0);
  g_ptr_array_free(r, TRUE);
  g_assert_cmpint(sql_int("SELECT count(*) FROM segments WHERE node = 'n-other'"), >=, 1);
}

static void
test_last_starts_and_bytes(void)
{
  gint64 t0 = cw_test_time("2026-09-01T10:00:00Z");
  GPtrArray *s = segs_new();
  for (int i = 0; i < 5; i++) {
    g_ptr_array_add(s, seg(501, t0 + i * MINUTE, MINUTE, 100 + i));
    g_ptr_array_add(s, seg(502, t0 + DAY + i * MINUTE, MINUTE, 1000));
  }
  add_all("n-last", s);
  s = segs_new();
  g_ptr_array_add(s, seg(501, t0 + 2 * DAY, MINUTE, 7)); /* newer, but another node's */
  add_all("n-last-other", s);

  GHashTable *last = NULL;
  cw_error_t err;
  g_assert_cmpint(cw_footage_last_starts(conn, "n-last", &last, &err), ==, 0);
  g_assert_cmpuint(g_hash_table_size(last), ==, 2);
  gint64 k501 = 501, k502 = 502;
  g_assert_cmpint(*(gint64 *)g_hash_table_lookup(last, &k501), ==, t0 + 4 * MINUTE);
  g_assert_cmpint(*(gint64 *)g_hash_table_lookup(last, &k502), ==, t0 + DAY + 4 * MINUTE);
  g_hash_table_unref(last);
  g_assert_cmpint(cw_footage_last_starts(conn, "n-nobody", &last, &err), ==, 0);
  g_assert_cmpuint(g_hash_table_size(last), ==, 0);
  g_hash_table_unref(last);

  gint64 bytes = -1;
  g_assert_cmpint(cw_footage_node_bytes(conn, "n-last", &bytes, &err), ==, 0);
  g_assert_cmpint(bytes, ==, 100 + 101 + 102 + 103 + 104 + 5 * 1000);
  g_assert_cmpint(cw_footage_node_bytes(conn, "n-nobody", &bytes, &err), ==, 0);
  g_assert_cmpint(bytes, ==, 0);
}

/* ---- holds and retention settings --------------------------------------- */

static void
test_hold_release(void)
{
  gint64 cam = camera_register("hold-cam");
  gint64 t0 = cw_test_time("2026-10-01T10:00:00Z");
  cw_error_t err = {0};
  gint64 id1 = 0, id2 = 0;
  g_assert_cmpint(cw_footage_hold(conn, 601, t0, t0 + HOUR, "C-1", "test", &id1, &err), ==,
                  -ENOENT);
  g_assert_cmpstr(err.msg, ==, "camera 601: no such camera");
  g_assert_cmpint(cw_footage_hold(conn, cam, t0, t0, "C-1", "test", &id1, &err), ==, -EINVAL);
  g_assert_cmpint(cw_footage_hold(conn, cam, t0, t0 + HOUR, "", "test", &id1, &err), ==, -EINVAL);
  char long_case[130];
  memset(long_case, 'x', sizeof long_case - 1);
  long_case[sizeof long_case - 1] = '\0';
  g_assert_cmpint(cw_footage_hold(conn, cam, t0, t0 + HOUR, long_case, "test", &id1, &err), ==,
                  -EINVAL);
  gint64 audits = sql_int("SELECT count(*) FROM audit_log");

  g_assert_cmpint(cw_footage_hold(conn, cam, t0, t0 + HOUR, "C-1", "alice", &id1, &err), ==, 0);
  g_assert_cmpint(
      cw_footage_hold(conn, cam, t0 + 2 * HOUR, t0 + 3 * HOUR, "C-1", "alice", &id2, &err), ==, 0);
  g_assert_cmpint(id2, >, id1);
  g_assert_cmpint(sql_int("SELECT count(*) FROM audit_log"), ==, audits + 2);
  char *sql = g_strdup_printf(
      "SELECT count(*) FROM audit_log WHERE action = 'footage.hold' AND actor = 'alice'"
      " AND object = 'camera:%" G_GINT64_FORMAT "' AND details->>'case' = 'C-1'"
      " AND details->>'from' = '2026-10-01T10:00:00.000000Z'"
      " AND details->>'to' = '2026-10-01T11:00:00.000000Z'"
      " AND (details->>'hold_id')::bigint = %" G_GINT64_FORMAT,
      cam, id1);
  g_assert_cmpint(sql_int(sql), ==, 1);
  g_free(sql);
  sql = g_strdup_printf("SELECT footage_is_held(%" G_GINT64_FORMAT
                        ", '2026-10-01T10:30:00Z', '2026-10-01T10:31:00Z')::int",
                        cam);
  g_assert_cmpint(sql_int(sql), ==, 1);

  guint released = 9;
  /* Another case, or a range that holds neither: nothing to release. */
  g_assert_cmpint(cw_footage_release(conn, cam, t0, t0 + 4 * HOUR, "C-2", "bob", &released, &err),
                  ==, -ENOENT);
  g_assert_nonnull(strstr(err.msg, "no active hold for case 'C-2'"));
  g_assert_cmpuint(released, ==, 0);
  g_assert_cmpint(cw_footage_release(conn, cam, t0 + 30 * MINUTE, t0 + 150 * MINUTE, "C-1", "bob",
                                     &released, &err),
                  ==, -ENOENT);
  g_assert_cmpint(sql_int("SELECT count(*) FROM audit_log"), ==, audits + 2);
  /* The whole range: both holds, one audit row each. */
  g_assert_cmpint(cw_footage_release(conn, cam, t0, t0 + 4 * HOUR, "C-1", "bob", &released, &err),
                  ==, 0);
  g_assert_cmpuint(released, ==, 2);
  g_assert_cmpint(sql_int("SELECT count(*) FROM audit_log WHERE action = 'footage.release'"
                          " AND actor = 'bob' AND details->>'case' = 'C-1'"),
                  ==, 2);
  g_assert_cmpint(sql_int(sql), ==, 0);
  g_free(sql);
  g_assert_cmpint(cw_footage_release(conn, cam, t0, t0 + 4 * HOUR, "C-1", "bob", &released, &err),
                  ==, -ENOENT);
  gint64 rows = 0;
  g_assert_cmpint(cw_audit_verify(conn, &rows, &err), ==, 0);
  g_assert_cmpint(rows, >=, audits + 4);

  /* Footage alone makes a camera known: a removed camera can be held. */
  GPtrArray *s = segs_new();
  g_ptr_array_add(s, seg(602, t0, MINUTE, 10));
  add_all("n-hold", s);
  g_assert_cmpint(cw_footage_hold(conn, 602, t0, t0 + MINUTE, "C-3", "alice", NULL, &err), ==, 0);
}

static void
test_set_retention(void)
{
  gint64 cam = camera_register("retention-cam");
  cw_error_t err = {0};
  char *sql = g_strdup_printf(
      "SELECT coalesce(retention_days, 0) FROM cameras WHERE id = %" G_GINT64_FORMAT, cam);
  g_assert_cmpint(cw_footage_set_retention(conn, cam, 7, "carol", &err), ==, 0);
  g_assert_cmpint(sql_int(sql), ==, 7);
  g_assert_cmpint(cw_footage_set_retention(conn, cam, 0, "carol", &err), ==, 0);
  g_assert_cmpint(sql_int(sql), ==, 0);
  g_free(sql);
  g_assert_cmpint(cw_footage_set_retention(conn, cam, 3651, "carol", &err), ==, -EINVAL);
  g_assert_cmpint(cw_footage_set_retention(conn, cam, -1, "carol", &err), ==, -EINVAL);
  g_assert_cmpint(cw_footage_set_retention(conn, 699, 7, "carol", &err), ==, -ENOENT);
  g_assert_cmpstr(err.msg, ==, "camera 699: no such camera");
  g_assert_cmpint(sql_int("SELECT count(*) FROM audit_log WHERE action = 'camera.retention'"
                          " AND actor = 'carol' AND object = 'camera:retention-cam'"
                          " AND ((before->>'retention_days') IS NULL"
                          " AND (after->>'retention_days')::int = 7"
                          " OR (before->>'retention_days')::int = 7"
                          " AND (after->>'retention_days') IS NULL)"),
                  ==, 2);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  conn = cw_test_db("test_footage");
  g_test_add_func("/footage/add/idempotent", test_add_idempotent);
  g_test_add_func("/footage/add/microseconds", test_add_microseconds);
  g_test_add_func("/footage/add/refuses", test_add_refuses);
  g_test_add_func("/footage/add/partitions", test_add_partitions);
  g_test_add_func("/footage/find/gaps", test_find_gaps);
  g_test_add_func("/footage/find/no-gap", test_find_no_gap);
  g_test_add_func("/footage/find/inside-gap", test_find_inside_gap);
  g_test_add_func("/footage/find/tolerance", test_find_tolerance);
  g_test_add_func("/footage/find/long-segment", test_find_long_segment);
  g_test_add_func("/footage/find/cameras", test_find_cameras);
  g_test_add_func("/footage/find/json", test_find_json);
  g_test_add_func("/footage/find/plan", test_find_plan);
  g_test_add_func("/footage/expire", test_expire);
  g_test_add_func("/footage/evict", test_evict);
  g_test_add_func("/footage/last-starts-and-bytes", test_last_starts_and_bytes);
  g_test_add_func("/footage/hold-release", test_hold_release);
  g_test_add_func("/footage/set-retention", test_set_retention);
  int rc = g_test_run();
  PQfinish(conn);
  return rc;
}
