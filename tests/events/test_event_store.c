/* Events and alerts against a real PostgreSQL (run under with-pg, which
 * sets PG* for a fresh database): idempotent adds, day partitions, refused
 * batches, the alert lifecycle and its audit rows, and the NOTIFYs a
 * console streams. Each test uses cameras and nodes of its own, so the
 * order they run in does not matter. */
#include <errno.h>
#include <poll.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "audit.h"
#include "db.h"
#include "event_store.h"
#include "migrate.h"
#include "test_db.h"
#include "test_support.h"
#include "timeutil.h"

static PGconn *conn;

#define SEC CW_TEST_SEC
#define MINUTE CW_TEST_MINUTE
#define HOUR CW_TEST_HOUR
#define DAY CW_TEST_DAY

static cw_event_t *
ev(gint64 camera, const char *kind, gint64 start)
{
  cw_event_t *e = g_new0(cw_event_t, 1);
  cw_event_new_id(e->id);
  e->camera_id = camera;
  e->kind = kind;
  e->start_us = start;
  return e;
}

static GPtrArray *
batch_new(void)
{
  return g_ptr_array_new_with_free_func(g_free);
}

static int
add_batch(const char *node, GPtrArray *b, guint *added, cw_error_t *err)
{
  return cw_event_store_add(conn, node, (const cw_event_t *const *)b->pdata, b->len, added, err);
}

/* Adds the batch (kept: a test may retry it); returns how many were new. */
static guint
add_ok(const char *node, GPtrArray *b)
{
  guint added = 0;
  cw_error_t err;
  if (add_batch(node, b, &added, &err) < 0)
    g_error("cw_event_store_add: %s", err.msg);
  return added;
}

/* One event in a batch of its own. */
static guint
add_one(const char *node, cw_event_t *e)
{
  GPtrArray *b = batch_new();
  g_ptr_array_add(b, e);
  guint n = add_ok(node, b);
  g_ptr_array_free(b, TRUE);
  return n;
}

static char *
sql_text(const char *sql)
{
  PGresult *res = PQexec(conn, sql);
  if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
    g_error("%s: %s", sql, PQerrorMessage(conn));
  char *v = PQgetisnull(res, 0, 0) ? NULL : g_strdup(PQgetvalue(res, 0, 0));
  PQclear(res);
  return v;
}

static gint64 sql_int(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

static gint64
sql_int(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  char *sql = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  char *text = sql_text(sql);
  gint64 v = text ? g_ascii_strtoll(text, NULL, 10) : -1;
  g_free(text);
  g_free(sql);
  return v;
}

static gint64
alert_of(gint64 camera, const char *kind, const char *state)
{
  return sql_int("SELECT coalesce(max(id), 0) FROM alerts WHERE camera_id = %" G_GINT64_FORMAT
                 " AND kind = '%s' AND state = '%s'",
                 camera, kind, state);
}

/* ---- ids and batches ---------------------------------------------------- */

static void
test_new_id(void)
{
  GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  for (int i = 0; i < 1000; i++) {
    char id[CW_EVENT_ID_LEN + 1];
    cw_event_new_id(id);
    g_assert_cmpuint(strlen(id), ==, 36);
    g_assert_true(g_regex_match_simple(
        "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", id, 0, 0));
    g_assert_true(g_hash_table_add(seen, g_strdup(id)));
  }
  g_hash_table_unref(seen);
}

static void
test_batch_json(void)
{
  cw_event_t a = {.camera_id = 7,
                  .kind = "camera.offline",
                  .severity = "warning",
                  .start_us = cw_test_time("2026-04-01T10:00:00.000001Z"),
                  .end_us = cw_test_time("2026-04-01T10:00:05Z"),
                  .attributes = "{\"why\":\"refused\"}",
                  .snapshot = "7/a.jpg"};
  cw_event_t b = {.camera_id = 0,
                  .kind = "node.started",
                  .start_us = cw_test_time("2026-04-01T10:00:00Z"),
                  .attributes = "not json"};
  cw_event_new_id(a.id);
  cw_event_new_id(b.id);
  const cw_event_t *both[] = {&a, &b};
  char *text = cw_event_batch_json("node-j", both, 2);
  JsonNode *root = json_from_string(text, NULL);
  g_assert_nonnull(root);
  JsonArray *arr = json_node_get_array(root);
  g_assert_cmpuint(json_array_get_length(arr), ==, 2);
  JsonObject *o = json_array_get_object_element(arr, 0);
  g_assert_cmpstr(json_object_get_string_member(o, "id"), ==, a.id);
  g_assert_cmpint(json_object_get_int_member(o, "camera_id"), ==, 7);
  g_assert_cmpstr(json_object_get_string_member(o, "node"), ==, "node-j");
  g_assert_cmpstr(json_object_get_string_member(o, "start_time"), ==,
                  "2026-04-01T10:00:00.000001Z");
  g_assert_cmpstr(json_object_get_string_member(o, "end_time"), ==, "2026-04-01T10:00:05.000000Z");
  g_assert_cmpstr(
      json_object_get_string_member(json_object_get_object_member(o, "attributes"), "why"), ==,
      "refused");
  g_assert_cmpstr(json_object_get_string_member(o, "snapshot"), ==, "7/a.jpg");
  o = json_array_get_object_element(arr, 1);
  g_assert_true(json_object_get_null_member(o, "camera_id"));
  g_assert_true(json_object_get_null_member(o, "severity"));
  g_assert_true(json_object_get_null_member(o, "end_time"));
  g_assert_true(json_object_get_null_member(o, "snapshot"));
  /* Not an object: kept, quoted, so a batch already accepted still stores. */
  g_assert_cmpstr(
      json_object_get_string_member(json_object_get_object_member(o, "attributes"), "unparsed"), ==,
      "not json");
  json_node_unref(root);
  g_free(text);
}

/* The columns the writer sends take exactly what cw_event_json_append
 * writes, and refuse the rest (which then goes as JSON). */
static void
test_rows_json(void)
{
  cw_event_t e = {.camera_id = 12,
                  .kind = "camera.offline",
                  .severity = "critical",
                  .start_us = cw_test_time("2026-04-02T23:59:59.999999Z"),
                  .end_us = cw_test_time("2026-04-03T00:00:01Z"),
                  .attributes =
                      "{\"a\": [1, -2.5e3, true, null, {\"b\": \"\\u00e9\\ud83d\\ude00\"}]}",
                  .snapshot = "12/x.jpg"};
  cw_event_new_id(e.id);
  GString *one = g_string_new(NULL);
  cw_event_json_append(one, "n\"ode\\\n\xc3\xa9", &e);
  cw_event_rows_t *rows = cw_event_rows_new();
  g_assert_true(cw_event_rows_add_json(rows, one->str, one->len));
  g_assert_cmpuint(cw_event_rows_len(rows), ==, 1);
  static const char *const refused[] = {
      "{\"id\":\"00000000-0000-4000-8000-00000000000g\",\"start_time\":\"2026-04-02T10:00:00."
      "000000Z\"}",
      "{\"id\":\"00000000-0000-4000-8000-000000000001\",\"start_time\":\"2026-04-02T10:00:00Z\"}",
      "{\"id\":\"00000000-0000-4000-8000-000000000001\",\"start_time\":\"2026-02-30T10:00:00."
      "000000Z\"}",
      "{\"id\":\"00000000-0000-4000-8000-000000000001\",\"id\":\"00000000-0000-4000-8000-"
      "000000000002\","
      "\"start_time\":\"2026-04-02T10:00:00.000000Z\"}",
      "{\"id\":\"00000000-0000-4000-8000-000000000001\",\"start_time\":\"2026-04-02T10:00:00."
      "000000Z\"} x",
      "{\"id\":\"00000000-0000-4000-8000-000000000001\",\"start_time\":\"2026-04-02T10:00:00."
      "000000Z\","
      "\"attributes\":{\"a\":\"\\u0000\"}}",
      "{\"id\":\"00000000-0000-4000-8000-000000000001\",\"start_time\":\"2026-04-02T10:00:00."
      "000000Z\","
      "\"camera_id\":1.5}",
      "{\"kind\":\"traffic.count\",\"start_time\":\"2026-04-02T10:00:00.000000Z\"}",
      "[]",
  };
  for (gsize i = 0; i < G_N_ELEMENTS(refused); i++) {
    g_test_message("refused: %s", refused[i]);
    g_assert_false(cw_event_rows_add_json(rows, refused[i], strlen(refused[i])));
  }
  g_assert_cmpuint(cw_event_rows_len(rows), ==, 1);
  cw_event_rows_free(rows);

  /* Stored alike through the columns (cw_event_store_add) and as JSON
   * (CW_EVENT_ADD_SQL, what older writers sent). */
  const cw_event_t *one_ev[] = {&e};
  guint added = 0;
  cw_error_t err;
  g_assert_cmpint(cw_event_store_add(conn, "n\"ode\\\n\xc3\xa9", one_ev, 1, &added, &err), ==, 0);
  g_assert_cmpuint(added, ==, 1);
  cw_event_t f = e;
  cw_event_new_id(f.id);
  f.camera_id = 13;
  g_string_truncate(one, 0);
  g_string_append_c(one, '[');
  cw_event_json_append(one, "n\"ode\\\n\xc3\xa9", &f);
  g_string_append_c(one, ']');
  const char *params[] = {one->str};
  PGresult *res = PQexecParams(conn, CW_EVENT_ADD_SQL, 1, NULL, params, NULL, NULL, 0);
  g_assert_cmpint(PQresultStatus(res), ==, PGRES_TUPLES_OK);
  g_assert_cmpstr(PQgetvalue(res, 0, 0), ==, "1");
  PQclear(res);
  g_assert_cmpint(sql_int("SELECT count(DISTINCT (node, kind, severity, start_time, end_time,"
                          " attributes, snapshot)) FROM events WHERE camera_id IN (12, 13)"),
                  ==, 1);
  char *row = sql_text("SELECT node || '|' || start_time AT TIME ZONE 'UTC' || '|' ||"
                       " (attributes->'a'->4->>'b') FROM events WHERE camera_id = 12");
  g_assert_cmpstr(row, ==,
                  "n\"ode\\\n\xc3\xa9|2026-04-02 23:59:59.999999|\xc3\xa9\xf0\x9f\x98\x80");
  g_free(row);
  g_assert_cmpint(sql_int("SELECT count(*) FROM events_20260402 WHERE camera_id IN (12, 13)"), ==,
                  2);
  g_string_free(one, TRUE);
}

/* The writer's statement runs a batch only after the one named before it
 * committed in the same session (two batches in flight, in order). */
static void
test_add_in_turn(void)
{
  const char *sql = "SELECT events_add_rows_in_turn($1, $2, ARRAY[$3::uuid], ARRAY[7::bigint],"
                    " ARRAY['n-turn'], ARRAY['traffic.count'], ARRAY[NULL::text],"
                    " ARRAY['2026-04-05T10:00:00Z'::timestamptz], ARRAY[NULL::timestamptz],"
                    " ARRAY['{}'::jsonb], ARRAY[NULL::text])";
  PGconn *c = PQconnectdb("");
  g_assert_cmpint(PQstatus(c), ==, CONNECTION_OK);
  /* Batch 2 after 1, which this session never committed: skipped. */
  const char *skipped[] = {"1", "2", "00000000-0000-4000-8000-0000000007a1"};
  PGresult *res = PQexecParams(c, sql, 3, NULL, skipped, NULL, NULL, 0);
  g_assert_cmpint(PQresultStatus(res), ==, PGRES_FATAL_ERROR);
  g_assert_cmpstr(cw_db_sqlstate(res), ==, "40001");
  PQclear(res);
  const char *first[] = {"0", "1", "00000000-0000-4000-8000-0000000007a2"};
  res = PQexecParams(c, sql, 3, NULL, first, NULL, NULL, 0);
  g_assert_cmpint(PQresultStatus(res), ==, PGRES_TUPLES_OK);
  PQclear(res);
  /* A batch that fails does not count as committed: the next is skipped. */
  const char *bad[] = {"1", "2", "00000000-0000-4000-8000-0000000007a3"};
  res = PQexecParams(c,
                     "SELECT events_add_rows_in_turn($1, $2, ARRAY[$3::uuid], ARRAY[7::bigint],"
                     " ARRAY['n-turn'], ARRAY['no.such'], ARRAY[NULL::text],"
                     " ARRAY['2026-04-05T10:00:00Z'::timestamptz], ARRAY[NULL::timestamptz],"
                     " ARRAY['{}'::jsonb], ARRAY[NULL::text])",
                     3, NULL, bad, NULL, NULL, 0);
  g_assert_cmpstr(cw_db_sqlstate(res), ==, "22023");
  PQclear(res);
  const char *next[] = {"2", "3", "00000000-0000-4000-8000-0000000007a4"};
  res = PQexecParams(c, sql, 3, NULL, next, NULL, NULL, 0);
  g_assert_cmpstr(cw_db_sqlstate(res), ==, "40001");
  PQclear(res);
  const char *again[] = {"1", "3", "00000000-0000-4000-8000-0000000007a5"};
  res = PQexecParams(c, sql, 3, NULL, again, NULL, NULL, 0);
  g_assert_cmpint(PQresultStatus(res), ==, PGRES_TUPLES_OK);
  PQclear(res);
  PQfinish(c);
  g_assert_cmpint(sql_int("SELECT count(*) FROM events WHERE node = 'n-turn'"), ==, 2);
  g_assert_cmpint(sql_int("SELECT count(*) FROM events WHERE id IN"
                          " ('00000000-0000-4000-8000-0000000007a2',"
                          " '00000000-0000-4000-8000-0000000007a5')"),
                  ==, 2);
}

/* ---- adding -------------------------------------------------------------- */

static void
test_add_idempotent(void)
{
  gint64 t0 = cw_test_time("2026-03-01T10:00:00Z");
  GPtrArray *b = batch_new();
  g_ptr_array_add(b, ev(201, "camera.offline", t0));
  g_ptr_array_add(b, ev(201, "camera.offline", t0 + MINUTE));
  for (int i = 0; i < 3; i++) {
    cw_event_t *c = ev(201, "traffic.count", t0 + i * MINUTE);
    c->attributes = "{\"vehicles\": 12, \"lane\": 1}";
    g_ptr_array_add(b, c);
  }
  g_assert_cmpuint(add_ok("n-idem", b), ==, 5);
  gint64 audit = sql_int("SELECT count(*) FROM audit_log");
  /* The retry after a lost reply: nothing added, nothing changed. */
  g_assert_cmpuint(add_ok("n-idem", b), ==, 0);
  g_assert_cmpuint(add_ok("n-idem", b), ==, 0);
  g_assert_cmpint(sql_int("SELECT count(*) FROM events WHERE camera_id = 201"), ==, 5);
  g_assert_cmpint(sql_int("SELECT count(*) FROM alerts WHERE camera_id = 201"), ==, 1);
  g_assert_cmpint(sql_int("SELECT events FROM alerts WHERE camera_id = 201"), ==, 2);
  g_assert_cmpint(sql_int("SELECT count(*) FROM audit_log"), ==, audit);

  /* Defaults from event_kinds; attributes stored as given. */
  g_assert_cmpint(sql_int("SELECT count(*) FROM events WHERE camera_id = 201"
                          " AND kind = 'camera.offline' AND severity = 'critical'"),
                  ==, 2);
  g_assert_cmpint(sql_int("SELECT sum((attributes->>'vehicles')::int) FROM events"
                          " WHERE camera_id = 201 AND kind = 'traffic.count'"),
                  ==, 36);
  /* A retry plus one more: only the new one counts. */
  g_ptr_array_add(b, ev(201, "traffic.count", t0 + 5 * MINUTE));
  g_assert_cmpuint(add_ok("n-idem", b), ==, 1);
  g_ptr_array_free(b, TRUE);

  guint added = 9;
  cw_error_t err;
  g_assert_cmpint(cw_event_store_add(conn, "n-idem", NULL, 0, &added, &err), ==, 0);
  g_assert_cmpuint(added, ==, 0);
}

static void
test_partitions(void)
{
  gint64 t0 = cw_test_time("2026-05-10T23:59:59.999999Z");
  GPtrArray *b = batch_new();
  g_ptr_array_add(b, ev(202, "traffic.count", t0));
  g_ptr_array_add(b, ev(202, "traffic.count", t0 + 1));
  g_ptr_array_add(b, ev(202, "traffic.count", t0 + DAY));
  g_ptr_array_add(b, ev(202, "traffic.count", t0 + DAY + 2));
  g_assert_cmpuint(add_ok("n-part", b), ==, 4);
  g_ptr_array_free(b, TRUE);
  g_assert_cmpint(sql_int("SELECT count(*) FROM events_20260510 WHERE camera_id = 202"), ==, 1);
  g_assert_cmpint(sql_int("SELECT count(*) FROM events_20260511 WHERE camera_id = 202"), ==, 2);
  g_assert_cmpint(sql_int("SELECT count(*) FROM events_20260512 WHERE camera_id = 202"), ==, 1);
  /* A day that already has its partition makes no other. */
  gint64 parts = sql_int("SELECT count(*) FROM pg_inherits WHERE inhparent = 'events'::regclass");
  g_assert_cmpuint(add_one("n-part", ev(202, "traffic.count", t0 + HOUR)), ==, 1);
  g_assert_cmpint(sql_int("SELECT count(*) FROM pg_inherits WHERE inhparent = 'events'::regclass"),
                  ==, parts);
}

static void
expect_refused(cw_event_t *bad, const char *words)
{
  GPtrArray *b = batch_new();
  cw_event_t *good = ev(203, "traffic.count", cw_test_time("2026-03-03T10:00:00Z"));
  g_ptr_array_add(b, good);
  g_ptr_array_add(b, bad);
  guint added = 7;
  cw_error_t err;
  g_assert_cmpint(add_batch("n-bad", b, &added, &err), ==, -EINVAL);
  g_assert_cmpuint(added, ==, 0);
  g_test_message("%s", err.msg);
  g_assert_nonnull(strstr(err.msg, words));
  /* All or nothing: the good event of the batch is not stored either. */
  char *sql = g_strdup_printf("SELECT count(*) FROM events WHERE id = '%s'", good->id);
  g_assert_cmpint(sql_int("%s", sql), ==, 0);
  g_free(sql);
  g_ptr_array_free(b, TRUE);
}

static void
test_refused(void)
{
  gint64 t = cw_test_time("2026-03-03T10:00:00Z");
  cw_event_t *e = ev(203, "camera.exploded", t);
  char *want = g_strdup_printf("event %s: unknown kind 'camera.exploded'", e->id);
  expect_refused(e, want);
  g_free(want);

  e = ev(203, "camera.offline", t);
  e->severity = "dire";
  expect_refused(e, "severity 'dire' is not info, warning or critical");
  e = ev(203, "traffic.congestion", t);
  e->end_us = t - SEC;
  expect_refused(e, "end before start");
  e = ev(203, "traffic.count", t);
  e->attributes = "[1, 2]";
  expect_refused(e, "attributes are not a JSON object");
  e = ev(203, "traffic.count", t);
  e->snapshot = "../../etc/passwd";
  expect_refused(e, "snapshot must be relative");
  e = ev(203, "traffic.count", t);
  strcpy(e->id, "not-a-uuid");
  expect_refused(e, "event id 'not-a-uuid': not a UUID");
  e = ev(203, "traffic.count", 0);
  expect_refused(e, "no start time");
  g_assert_cmpint(sql_int("SELECT count(*) FROM events WHERE camera_id = 203"), ==, 0);

  /* The statement the writer sends checks the same, naming the event, with
   * SQLSTATE 22023 (a retry cannot help). */
  const char *params[] = {"[{\"id\": \"00000000-0000-4000-8000-000000000203\", \"node\": \"n\","
                          " \"kind\": \"no.such\", \"start_time\": \"2026-03-03T10:00:00Z\"}]"};
  PGresult *res = PQexecParams(conn, CW_EVENT_ADD_SQL, 1, NULL, params, NULL, NULL, 0);
  g_assert_cmpint(PQresultStatus(res), ==, PGRES_FATAL_ERROR);
  g_assert_cmpstr(cw_db_sqlstate(res), ==, "22023");
  g_assert_cmpstr(PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY), ==,
                  "event 00000000-0000-4000-8000-000000000203: unknown kind 'no.such' (see "
                  "storage/EVENTS.md)");
  PQclear(res);
}

/* ---- alerts --------------------------------------------------------------- */

static void
test_ongoing_incident(void)
{
  gint64 t0 = cw_test_time("2026-03-04T08:00:00Z");
  cw_event_t *first = ev(204, "traffic.congestion", t0);
  first->severity = "info";
  char first_id[CW_EVENT_ID_LEN + 1];
  strcpy(first_id, first->id);
  g_assert_cmpuint(add_one("n-ongoing", first), ==, 1);
  gint64 id = alert_of(204, "traffic.congestion", "open");
  g_assert_cmpint(id, >, 0);
  /* Same camera and kind while the alert is unresolved: the same alert. */
  g_assert_cmpuint(add_one("n-ongoing", ev(204, "traffic.congestion", t0 + 5 * MINUTE)), ==, 1);
  cw_error_t err;
  g_assert_cmpint(cw_alert_ack(conn, id, "tester", &err), ==, 0);
  cw_event_t *last = ev(204, "traffic.congestion", t0 + 10 * MINUTE);
  last->severity = "critical";
  char last_id[CW_EVENT_ID_LEN + 1];
  strcpy(last_id, last->id);
  g_assert_cmpuint(add_one("n-ongoing", last), ==, 1);
  /* An event that arrives late (older than the newest) counts, but does not
   * become the last one. */
  g_assert_cmpuint(add_one("n-ongoing", ev(204, "traffic.congestion", t0 + 7 * MINUTE)), ==, 1);

  g_assert_cmpint(sql_int("SELECT count(*) FROM alerts WHERE camera_id = 204"), ==, 1);
  char *sql = g_strdup_printf("SELECT events::text || ' ' || severity || ' ' || state || ' '"
                              " || first_event_id || ' ' || last_event_id || ' '"
                              " || to_char(last_event_at AT TIME ZONE 'UTC', 'HH24:MI')"
                              " FROM alerts WHERE id = %" G_GINT64_FORMAT,
                              id);
  char *row = sql_text(sql);
  char *want = g_strdup_printf("4 critical acknowledged %s %s 08:10", first_id, last_id);
  g_assert_cmpstr(row, ==, want);
  g_free(want);
  g_free(row);
  g_free(sql);

  /* Another camera's incident of the same kind is an alert of its own. */
  g_assert_cmpuint(add_one("n-ongoing", ev(205, "traffic.congestion", t0)), ==, 1);
  g_assert_cmpint(alert_of(205, "traffic.congestion", "open"), >, id);

  /* Not alerting: no alert. */
  g_assert_cmpuint(add_one("n-ongoing", ev(206, "traffic.count", t0)), ==, 1);
  g_assert_cmpint(sql_int("SELECT count(*) FROM alerts WHERE camera_id = 206"), ==, 0);
}

static void
test_new_after_resolution(void)
{
  gint64 t0 = cw_test_time("2026-03-05T08:00:00Z");
  g_assert_cmpuint(add_one("n-again", ev(207, "traffic.wrong_way", t0)), ==, 1);
  gint64 first = alert_of(207, "traffic.wrong_way", "open");
  cw_error_t err;
  g_assert_cmpint(cw_alert_resolve(conn, first, "tester", "towed", &err), ==, 0);
  g_assert_cmpuint(add_one("n-again", ev(207, "traffic.wrong_way", t0 + HOUR)), ==, 1);
  gint64 second = alert_of(207, "traffic.wrong_way", "open");
  g_assert_cmpint(second, >, first);
  g_assert_cmpint(sql_int("SELECT count(*) FROM alerts WHERE camera_id = 207"), ==, 2);
  g_assert_cmpint(sql_int("SELECT events FROM alerts WHERE id = %" G_GINT64_FORMAT, first), ==, 1);
  /* The unique index: a second unresolved alert cannot exist at all. */
  PGresult *res = PQexec(conn, "INSERT INTO alerts (camera_id, node, kind, severity,"
                               " first_event_id, last_event_id, opened_at, last_event_at)"
                               " SELECT camera_id, node, kind, severity, first_event_id,"
                               " last_event_id, opened_at, last_event_at FROM alerts"
                               " WHERE camera_id = 207 AND state = 'open'");
  g_assert_cmpstr(cw_db_sqlstate(res), ==, "23505");
  PQclear(res);
}

static void
test_node_alerts(void)
{
  gint64 t0 = cw_test_time("2026-03-06T08:00:00Z");
  g_assert_cmpuint(add_one("n-disk-1", ev(0, "node.disk_full", t0)), ==, 1);
  g_assert_cmpuint(add_one("n-disk-2", ev(0, "node.disk_full", t0)), ==, 1);
  g_assert_cmpuint(add_one("n-disk-1", ev(0, "node.disk_full", t0 + MINUTE)), ==, 1);
  g_assert_cmpint(sql_int("SELECT events FROM alerts WHERE node = 'n-disk-1'"
                          " AND camera_id IS NULL"),
                  ==, 2);
  g_assert_cmpint(sql_int("SELECT events FROM alerts WHERE node = 'n-disk-2'"
                          " AND camera_id IS NULL"),
                  ==, 1);
  g_assert_cmpint(sql_int("SELECT count(*) FROM events WHERE node = 'n-disk-1'"
                          " AND camera_id IS NULL"),
                  ==, 2);
}

static void
test_offline_online(void)
{
  gint64 t0 = cw_test_time("2026-03-07T08:00:00Z");
  g_assert_cmpuint(add_one("n-off", ev(208, "camera.offline", t0)), ==, 1);
  g_assert_cmpuint(add_one("n-off", ev(208, "camera.offline", t0 + MINUTE)), ==, 1);
  gint64 id = alert_of(208, "camera.offline", "open");
  g_assert_cmpint(id, >, 0);
  gint64 audit = sql_int("SELECT count(*) FROM audit_log");

  cw_event_t *back = ev(208, "camera.online", t0 + 5 * MINUTE);
  char back_id[CW_EVENT_ID_LEN + 1];
  strcpy(back_id, back->id);
  GPtrArray *b = batch_new();
  g_ptr_array_add(b, back);
  g_assert_cmpuint(add_ok("n-off", b), ==, 1);
  char *sql = g_strdup_printf("SELECT state || '|' || resolved_by || '|' || auto_resolved || '|'"
                              " || resolution_note FROM alerts WHERE id = %" G_GINT64_FORMAT,
                              id);
  char *row = sql_text(sql);
  char *want = g_strdup_printf("resolved|system|true|resolved automatically: the camera came back"
                               " (camera.online at 2026-03-07T08:05:00.000000Z, event %s)",
                               back_id);
  g_assert_cmpstr(row, ==, want);
  g_free(want);
  g_free(row);
  g_free(sql);
  g_assert_cmpint(sql_int("SELECT count(*) FROM audit_log"), ==, audit + 1);
  g_assert_cmpint(sql_int("SELECT count(*) FROM audit_log WHERE action = 'alert.resolve'"
                          " AND actor = 'system' AND object = 'alert:%" G_GINT64_FORMAT "'",
                          id),
                  ==, 1);
  /* camera.online opens no alert of its own; its retry resolves nothing more. */
  g_assert_cmpint(sql_int("SELECT count(*) FROM alerts WHERE camera_id = 208"), ==, 1);
  g_assert_cmpuint(add_ok("n-off", b), ==, 0);
  g_assert_cmpint(sql_int("SELECT count(*) FROM audit_log"), ==, audit + 1);
  g_ptr_array_free(b, TRUE);

  /* Offline again later: a new alert. An online event older than it (late
   * from a journal) must not resolve it. */
  g_assert_cmpuint(add_one("n-off", ev(208, "camera.offline", t0 + 20 * MINUTE)), ==, 1);
  gint64 again = alert_of(208, "camera.offline", "open");
  g_assert_cmpint(again, >, id);
  g_assert_cmpuint(add_one("n-off", ev(208, "camera.online", t0 + 10 * MINUTE)), ==, 1);
  g_assert_cmpint(alert_of(208, "camera.offline", "open"), ==, again);
  /* An acknowledged offline alert resolves itself too; another camera's does not. */
  g_assert_cmpuint(add_one("n-off", ev(209, "camera.offline", t0)), ==, 1);
  cw_error_t err;
  g_assert_cmpint(cw_alert_ack(conn, again, "tester", &err), ==, 0);
  g_assert_cmpuint(add_one("n-off", ev(208, "camera.online", t0 + 30 * MINUTE)), ==, 1);
  g_assert_cmpint(alert_of(208, "camera.offline", "resolved"), ==, again);
  g_assert_cmpint(alert_of(209, "camera.offline", "open"), >, 0);

  /* Down, up, down in one batch, in event time order: one resolved, one open. */
  b = batch_new();
  g_ptr_array_add(b, ev(210, "camera.offline", t0 + 2 * MINUTE));
  g_ptr_array_add(b, ev(210, "camera.online", t0 + 3 * MINUTE));
  g_ptr_array_add(b, ev(210, "camera.offline", t0));
  g_ptr_array_add(b, ev(210, "camera.offline", t0 + 4 * MINUTE));
  g_assert_cmpuint(add_ok("n-off", b), ==, 4);
  g_ptr_array_free(b, TRUE);
  g_assert_cmpint(sql_int("SELECT count(*) FROM alerts WHERE camera_id = 210"
                          " AND state = 'resolved' AND events = 2"),
                  ==, 1);
  g_assert_cmpint(sql_int("SELECT count(*) FROM alerts WHERE camera_id = 210"
                          " AND state = 'open' AND events = 1"),
                  ==, 1);
}

static void
test_lifecycle(void)
{
  gint64 t0 = cw_test_time("2026-03-08T08:00:00Z");
  g_assert_cmpuint(add_one("n-life", ev(211, "camera.tamper.blackout", t0)), ==, 1);
  gint64 id = alert_of(211, "camera.tamper.blackout", "open");
  gint64 audit = sql_int("SELECT count(*) FROM audit_log");
  cw_error_t err;
  char *want;

  g_assert_cmpint(cw_alert_ack(conn, id, "alice", &err), ==, 0);
  g_assert_cmpint(sql_int("SELECT count(*) FROM alerts WHERE id = %" G_GINT64_FORMAT
                          " AND state = 'acknowledged' AND acknowledged_by = 'alice'"
                          " AND acknowledged_at IS NOT NULL AND resolved_at IS NULL",
                          id),
                  ==, 1);
  g_assert_cmpint(cw_alert_ack(conn, id, "bob", &err), ==, -EALREADY);
  want = g_strdup_printf("alert %" G_GINT64_FORMAT
                         ": cannot acknowledge an alert that is acknowledged (by alice at ",
                         id);
  g_assert_nonnull(strstr(err.msg, want));
  g_free(want);
  g_assert_cmpint(cw_alert_resolve(conn, id, "bob", "", &err), ==, -EINVAL);
  g_assert_nonnull(strstr(err.msg, "note is required"));

  g_assert_cmpint(cw_alert_resolve(conn, id, "bob", "lens cleaned", &err), ==, 0);
  g_assert_cmpint(sql_int("SELECT count(*) FROM alerts WHERE id = %" G_GINT64_FORMAT
                          " AND state = 'resolved' AND resolved_by = 'bob' AND NOT auto_resolved"
                          " AND resolution_note = 'lens cleaned' AND acknowledged_by = 'alice'",
                          id),
                  ==, 1);
  g_assert_cmpint(cw_alert_resolve(conn, id, "carol", "again", &err), ==, -EALREADY);
  want = g_strdup_printf(
      "alert %" G_GINT64_FORMAT ": cannot resolve an alert that is resolved (by bob at ", id);
  g_assert_nonnull(strstr(err.msg, want));
  g_free(want);
  g_assert_cmpint(cw_alert_ack(conn, id, "carol", &err), ==, -EALREADY);

  g_assert_cmpint(cw_alert_ack(conn, 987654321, "carol", &err), ==, -ENOENT);
  g_assert_cmpstr(err.msg, ==, "alert 987654321: no such alert");
  g_assert_cmpint(cw_alert_resolve(conn, 987654321, "carol", "x", &err), ==, -ENOENT);

  /* Exactly one audit row per change, none for a refusal. */
  g_assert_cmpint(sql_int("SELECT count(*) FROM audit_log"), ==, audit + 2);
  g_assert_cmpint(sql_int("SELECT count(*) FROM audit_log WHERE object = 'alert:%" G_GINT64_FORMAT
                          "' AND ((action = 'alert.ack' AND actor = 'alice'"
                          " AND before->>'state' = 'open' AND after->>'state' = 'acknowledged')"
                          " OR (action = 'alert.resolve' AND actor = 'bob'"
                          " AND after->>'state' = 'resolved'"
                          " AND details->>'note' = 'lens cleaned'))",
                          id),
                  ==, 2);
  gint64 rows = 0;
  g_assert_cmpint(cw_audit_verify(conn, &rows, &err), ==, 0);

  /* Resolving straight from open is allowed. */
  g_assert_cmpuint(add_one("n-life", ev(212, "recording.error", t0)), ==, 1);
  gint64 other = alert_of(212, "recording.error", "open");
  g_assert_cmpint(cw_alert_resolve(conn, other, "bob", "disk replaced", &err), ==, 0);
}

static void
test_list(void)
{
  gint64 t0 = cw_test_time("2026-03-09T08:00:00Z");
  g_assert_cmpuint(add_one("n-list", ev(213, "camera.tamper.frozen", t0)), ==, 1);
  g_assert_cmpuint(add_one("n-list", ev(213, "camera.tamper.defocus", t0 + MINUTE)), ==, 1);
  g_assert_cmpuint(add_one("n-list", ev(213, "camera.stalled", t0 + 2 * MINUTE)), ==, 1);
  cw_error_t err;
  gint64 defocus = alert_of(213, "camera.tamper.defocus", "open");
  g_assert_cmpint(cw_alert_ack(conn, defocus, "alice", &err), ==, 0);

  GPtrArray *out = NULL;
  g_assert_cmpint(cw_alerts_list(conn, NULL, NULL, 213, 0, &out, &err), ==, 0);
  g_assert_cmpuint(out->len, ==, 3);
  /* Newest first. */
  g_assert_nonnull(strstr(out->pdata[0], "\"camera.stalled\""));
  g_assert_nonnull(strstr(out->pdata[2], "\"camera.tamper.frozen\""));
  JsonNode *root = json_from_string(out->pdata[1], NULL);
  JsonObject *o = json_node_get_object(root);
  g_assert_cmpint(json_object_get_int_member(o, "id"), ==, defocus);
  g_assert_cmpstr(json_object_get_string_member(o, "state"), ==, "acknowledged");
  g_assert_cmpstr(json_object_get_string_member(o, "acknowledged_by"), ==, "alice");
  g_assert_cmpint(json_object_get_int_member(o, "events"), ==, 1);
  json_node_unref(root);
  g_ptr_array_free(out, TRUE);

  g_assert_cmpint(cw_alerts_list(conn, "open", NULL, 213, 0, &out, &err), ==, 0);
  g_assert_cmpuint(out->len, ==, 2);
  g_ptr_array_free(out, TRUE);
  g_assert_cmpint(cw_alerts_list(conn, "unresolved", NULL, 213, 0, &out, &err), ==, 0);
  g_assert_cmpuint(out->len, ==, 3);
  g_ptr_array_free(out, TRUE);
  g_assert_cmpint(cw_alerts_list(conn, NULL, "camera.stalled", 213, 0, &out, &err), ==, 0);
  g_assert_cmpuint(out->len, ==, 1);
  g_ptr_array_free(out, TRUE);
  g_assert_cmpint(cw_alerts_list(conn, NULL, NULL, 213, 2, &out, &err), ==, 0);
  g_assert_cmpuint(out->len, ==, 2);
  g_ptr_array_free(out, TRUE);
  g_assert_cmpint(cw_alerts_list(conn, "gone", NULL, 0, 0, &out, &err), ==, -EINVAL);
  g_assert_nonnull(strstr(err.msg, "state: 'gone'"));
}

/* ---- NOTIFY ---------------------------------------------------------------- */

/* The next cw_alerts payload on the listening connection, waiting up to 5 s. */
static char *
next_notify(PGconn *listener)
{
  for (int waited = 0; waited < 50; waited++) {
    PGnotify *n = PQnotifies(listener);
    if (n) {
      g_assert_cmpstr(n->relname, ==, "cw_alerts");
      char *payload = g_strdup(n->extra);
      PQfreemem(n);
      return payload;
    }
    struct pollfd p = {.fd = PQsocket(listener), .events = POLLIN};
    poll(&p, 1, 100);
    g_assert_cmpint(PQconsumeInput(listener), ==, 1);
  }
  return NULL;
}

static void
expect_notify(PGconn *listener, gint64 id, const char *change, const char *state, gint64 events)
{
  char *payload = next_notify(listener);
  g_assert_nonnull(payload);
  g_test_message("cw_alerts: %s", payload);
  JsonNode *root = json_from_string(payload, NULL);
  g_assert_nonnull(root);
  JsonObject *o = json_node_get_object(root);
  g_assert_cmpint(json_object_get_int_member(o, "id"), ==, id);
  g_assert_cmpint(json_object_get_int_member(o, "camera_id"), ==, 214);
  g_assert_cmpstr(json_object_get_string_member(o, "kind"), ==, "traffic.stopped_vehicle");
  g_assert_cmpstr(json_object_get_string_member(o, "severity"), ==, "critical");
  g_assert_cmpstr(json_object_get_string_member(o, "state"), ==, state);
  g_assert_cmpstr(json_object_get_string_member(o, "change"), ==, change);
  g_assert_cmpint(json_object_get_int_member(o, "events"), ==, events);
  json_node_unref(root);
  g_free(payload);
}

static void
test_notify(void)
{
  PGconn *listener = PQconnectdb("");
  g_assert_cmpint(PQstatus(listener), ==, CONNECTION_OK);
  PGresult *res = PQexec(listener, "LISTEN cw_alerts");
  g_assert_cmpint(PQresultStatus(res), ==, PGRES_COMMAND_OK);
  PQclear(res);

  gint64 t0 = cw_test_time("2026-03-10T08:00:00Z");
  g_assert_cmpuint(add_one("n-notify", ev(214, "traffic.stopped_vehicle", t0)), ==, 1);
  gint64 id = alert_of(214, "traffic.stopped_vehicle", "open");
  expect_notify(listener, id, "opened", "open", 1);
  g_assert_cmpuint(add_one("n-notify", ev(214, "traffic.stopped_vehicle", t0 + MINUTE)), ==, 1);
  expect_notify(listener, id, "updated", "open", 2);
  /* Non-alerting events and retries say nothing. */
  g_assert_cmpuint(add_one("n-notify", ev(214, "traffic.count", t0)), ==, 1);
  cw_error_t err;
  g_assert_cmpint(cw_alert_ack(conn, id, "alice", &err), ==, 0);
  expect_notify(listener, id, "acknowledged", "acknowledged", 2);
  g_assert_cmpint(cw_alert_ack(conn, id, "alice", &err), ==, -EALREADY);
  g_assert_cmpint(cw_alert_resolve(conn, id, "alice", "cleared", &err), ==, 0);
  expect_notify(listener, id, "resolved", "resolved", 2);
  /* Nothing else queued: the refused ack and the traffic count were silent. */
  g_assert_cmpint(PQconsumeInput(listener), ==, 1);
  PGnotify *extra = PQnotifies(listener);
  g_assert_null(extra);
  PQfinish(listener);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  conn = cw_test_db("test_event_store");

  g_test_add_func("/events/new_id", test_new_id);
  g_test_add_func("/events/batch_json", test_batch_json);
  g_test_add_func("/events/rows_json", test_rows_json);
  g_test_add_func("/events/add_in_turn", test_add_in_turn);
  g_test_add_func("/events/add_idempotent", test_add_idempotent);
  g_test_add_func("/events/partitions", test_partitions);
  g_test_add_func("/events/refused", test_refused);
  g_test_add_func("/alerts/ongoing_incident", test_ongoing_incident);
  g_test_add_func("/alerts/new_after_resolution", test_new_after_resolution);
  g_test_add_func("/alerts/node", test_node_alerts);
  g_test_add_func("/alerts/offline_online", test_offline_online);
  g_test_add_func("/alerts/lifecycle", test_lifecycle);
  g_test_add_func("/alerts/list", test_list);
  g_test_add_func("/alerts/notify", test_notify);
  int rc = g_test_run();
  PQfinish(conn);
  return rc;
}
