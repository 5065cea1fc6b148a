/* The footage index: see footage.h and storage/sql/003_recording.sql.
 *
 * Times cross to PostgreSQL as ISO 8601 text (cw_time_format) and come back
 * as whole microseconds (extract(epoch) is numeric since PostgreSQL 14, so
 * the conversion is exact). */
#include "footage.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "db.h"
#include "json_build.h"
#include "timeutil.h"

/* The columns read_row() expects, over a segments row aliased s. */
#define SEG_COLUMNS                                                                                \
  "s.camera_id, (extract(epoch FROM s.start_time) * 1000000)::bigint,"                             \
  " (extract(epoch FROM s.end_time) * 1000000)::bigint, s.node, s.path, s.bytes, s.codec,"         \
  " s.width, s.height, s.repaired"

/* The longest a segment may be (the CHECK on segments): a range query
 * starts its index scan this far before from. */
#define MAX_SEGMENT_US (G_GINT64_CONSTANT(3600) * G_USEC_PER_SEC)

void
cw_segment_row_free(gpointer p)
{
  cw_segment_row_t *r = p;
  if (!r)
    return;
  cw_segment_info_clear(&r->info);
  g_free(r->node);
  g_free(r);
}

static gint64
int_value(const PGresult *res, int row, int col)
{
  return PQgetisnull(res, row, col) ? 0 : g_ascii_strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static cw_segment_row_t *
read_row(const PGresult *res, int i)
{
  cw_segment_row_t *r = g_new0(cw_segment_row_t, 1);
  r->info.camera_id = int_value(res, i, 0);
  r->info.start_us = int_value(res, i, 1);
  r->info.end_us = int_value(res, i, 2);
  r->node = g_strdup(PQgetvalue(res, i, 3));
  r->info.path = g_strdup(PQgetvalue(res, i, 4));
  r->info.bytes = int_value(res, i, 5);
  /* The table's CHECK admits only names cw_codec_from_name knows. */
  cw_codec_from_name(PQgetvalue(res, i, 6), &r->info.codec);
  r->info.width = (int)int_value(res, i, 7);
  r->info.height = (int)int_value(res, i, 8);
  r->info.repaired = PQgetvalue(res, i, 9)[0] == 't';
  return r;
}

static GPtrArray *
read_rows(const PGresult *res)
{
  GPtrArray *rows = g_ptr_array_new_full(PQntuples(res), cw_segment_row_free);
  for (int i = 0; i < PQntuples(res); i++)
    g_ptr_array_add(rows, read_row(res, i));
  return rows;
}

/* ---- adding ------------------------------------------------------------ */

/* 0 is "unknown" in C and NULL in the table. */
static void
add_member_dim(JsonBuilder *b, const char *name, int v)
{
  json_builder_set_member_name(b, name);
  if (v > 0)
    json_builder_add_int_value(b, v);
  else
    json_builder_add_null_value(b);
}

/* The table refuses these too, but without saying which segment. */
static int
check_segment(const cw_segment_info_t *s, cw_error_t *err)
{
  const char *path = s->path ? s->path : "(no path)";
  if (s->camera_id <= 0)
    return cw_error_set(err, -EINVAL, "segment %s: camera id %" G_GINT64_FORMAT " is not valid",
                        path, s->camera_id);
  if (!s->path || !*s->path || s->path[0] == '/' || strstr(s->path, ".."))
    return cw_error_set(
        err, -EINVAL, "segment %s: path must be relative to the footage root, without '..'", path);
  if (!cw_codec_name(s->codec))
    return cw_error_set(err, -EINVAL, "segment %s: codec is neither h264 nor h265", path);
  if (s->end_us <= s->start_us || s->end_us - s->start_us > MAX_SEGMENT_US)
    return cw_error_set(err, -EINVAL, "segment %s: end must be after start, by at most an hour",
                        path);
  if (s->bytes <= 0)
    return cw_error_set(err, -EINVAL, "segment %s: bytes must be positive", path);
  return 0;
}

static char *
segments_json(const char *node, const cw_segment_info_t *const *segments, guint n)
{
  JsonBuilder *b = json_builder_new();
  json_builder_begin_array(b);
  for (guint i = 0; i < n; i++) {
    const cw_segment_info_t *s = segments[i];
    json_builder_begin_object(b);
    cw_json_member_int(b, "camera_id", s->camera_id);
    cw_json_member_time(b, "start_time", s->start_us);
    cw_json_member_time(b, "end_time", s->end_us);
    json_builder_set_member_name(b, "node");
    json_builder_add_string_value(b, node);
    json_builder_set_member_name(b, "path");
    json_builder_add_string_value(b, s->path);
    cw_json_member_int(b, "bytes", s->bytes);
    json_builder_set_member_name(b, "codec");
    json_builder_add_string_value(b, cw_codec_name(s->codec));
    add_member_dim(b, "width", s->width);
    add_member_dim(b, "height", s->height);
    json_builder_set_member_name(b, "repaired");
    json_builder_add_boolean_value(b, s->repaired);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  return cw_json_builder_finish(b);
}

int
cw_footage_add(PGconn *conn, const char *node, const cw_segment_info_t *const *segments, guint n,
               guint *added, cw_error_t *err)
{
  if (added)
    *added = 0;
  if (!node || !*node)
    return cw_error_set(err, -EINVAL, "footage: node name is empty");
  for (guint i = 0; i < n; i++) {
    int rc = check_segment(segments[i], err);
    if (rc < 0)
      return rc;
  }
  if (n == 0)
    return 0;
  /* One round trip for the whole batch: segments_add makes the day
   * partitions and skips rows already there. */
  char *text = segments_json(node, segments, n);
  const char *params[] = {text};
  PGresult *res =
      PQexecParams(conn, "SELECT segments_add($1::json)", 1, NULL, params, NULL, NULL, 0);
  int rc = cw_db_check(conn, res, PGRES_TUPLES_OK, err);
  if (rc == 0 && added)
    *added = (guint)int_value(res, 0, 0);
  PQclear(res);
  g_free(text);
  return rc;
}

/* ---- finding ----------------------------------------------------------- */

void
cw_footage_free(cw_footage_t *f)
{
  if (!f)
    return;
  if (f->segments)
    g_ptr_array_free(f->segments, TRUE);
  if (f->gaps)
    g_array_free(f->gaps, TRUE);
  g_free(f);
}

/* A camera removed from the registry keeps its footage until retention
 * takes it, so footage alone also makes a camera known. */
static int
camera_known(PGconn *conn, const char *camera, gboolean *known, cw_error_t *err)
{
  const char *params[] = {camera};
  PGresult *res = PQexecParams(conn,
                               "SELECT EXISTS (SELECT 1 FROM cameras WHERE id = $1::bigint)"
                               " OR EXISTS (SELECT 1 FROM segments WHERE camera_id = $1::bigint)",
                               1, NULL, params, NULL, NULL, 0);
  int rc = cw_db_check(conn, res, PGRES_TUPLES_OK, err);
  if (rc == 0)
    *known = PQgetvalue(res, 0, 0)[0] == 't';
  PQclear(res);
  return rc;
}

static void
add_gap(GArray *gaps, gint64 from, gint64 to)
{
  cw_time_range_t g = {.from_us = from, .to_us = to};
  g_array_append_val(gaps, g);
}

/* Walks the segments (by start) over [from, to): a hole of at least the
 * tolerance between what is covered so far and the next segment is a gap;
 * overlapping segments count their shared time once. */
static void
compute_gaps(cw_footage_t *f)
{
  gint64 cursor = f->from_us;
  f->covered_us = 0;
  for (guint i = 0; i < f->segments->len; i++) {
    const cw_segment_row_t *r = f->segments->pdata[i];
    gint64 s = MAX(r->info.start_us, f->from_us), e = MIN(r->info.end_us, f->to_us);
    if (e <= cursor)
      continue;
    if (s > cursor) {
      if (s - cursor >= CW_FOOTAGE_GAP_TOLERANCE_US)
        add_gap(f->gaps, cursor, s);
      f->covered_us += e - s;
    } else {
      f->covered_us += e - cursor;
    }
    cursor = e;
  }
  /* With nothing recorded the whole range is a gap, however short. */
  gint64 tail = f->to_us - cursor;
  if (tail > 0 && (tail >= CW_FOOTAGE_GAP_TOLERANCE_US || f->segments->len == 0))
    add_gap(f->gaps, cursor, f->to_us);
}

/* Health older than this is a node that stopped reporting, not a camera
 * being recorded. */
#define RECORDING_FRESH "30 seconds"

static int
mark_open_gap(PGconn *conn, const char *camera, cw_footage_t *f, cw_error_t *err)
{
  if (f->gaps->len == 0)
    return 0;
  cw_time_range_t *last = &g_array_index(f->gaps, cw_time_range_t, f->gaps->len - 1);
  if (last->to_us != f->to_us)
    return 0;
  const char *params[] = {camera};
  PGresult *res = PQexecParams(conn,
                               "SELECT 1 FROM camera_health WHERE camera_id = $1::bigint"
                               " AND recording_state = 'recording'"
                               " AND updated_at > now() - interval '" RECORDING_FRESH "'",
                               1, NULL, params, NULL, NULL, 0);
  int rc = cw_db_check(conn, res, PGRES_TUPLES_OK, err);
  if (rc == 0)
    last->open = PQntuples(res) > 0;
  PQclear(res);
  return rc;
}

int
cw_footage_find(PGconn *conn, gint64 camera_id, gint64 from_us, gint64 to_us, cw_footage_t **out,
                cw_error_t *err)
{
  *out = NULL;
  if (from_us >= to_us)
    return cw_error_set(err, -EINVAL, "footage: the range must end after it starts");
  char camera[24];
  g_snprintf(camera, sizeof camera, "%" G_GINT64_FORMAT, camera_id);
  char *scan_from = cw_time_format(from_us - MAX_SEGMENT_US);
  char *from = cw_time_format(from_us), *to = cw_time_format(to_us);
  const char *params[] = {camera, scan_from, from, to};
  /* The lower bound on start_time is what lets the primary key's index
   * (and partition pruning) bound the scan: no segment is longer than an
   * hour. It is a separate parameter so that pruning happens at plan time. */
  PGresult *res = PQexecParams(conn,
                               "SELECT " SEG_COLUMNS " FROM segments s"
                               " WHERE s.camera_id = $1::bigint"
                               " AND s.start_time > $2::timestamptz"
                               " AND s.start_time < $4::timestamptz"
                               " AND s.end_time > $3::timestamptz"
                               " ORDER BY s.start_time",
                               4, NULL, params, NULL, NULL, 0);
  int rc = cw_db_check(conn, res, PGRES_TUPLES_OK, err);
  if (rc == 0 && PQntuples(res) == 0) {
    gboolean known = FALSE;
    rc = camera_known(conn, camera, &known, err);
    if (rc == 0 && !known)
      rc = cw_error_set(err, -ENOENT, "camera %s: no such camera", camera);
  }
  if (rc == 0) {
    cw_footage_t *f = g_new0(cw_footage_t, 1);
    f->camera_id = camera_id;
    f->from_us = from_us;
    f->to_us = to_us;
    f->segments = read_rows(res);
    f->gaps = g_array_new(FALSE, FALSE, sizeof(cw_time_range_t));
    compute_gaps(f);
    rc = mark_open_gap(conn, camera, f, err);
    if (rc == 0)
      *out = f;
    else
      cw_footage_free(f);
  }
  PQclear(res);
  g_free(scan_from);
  g_free(from);
  g_free(to);
  return rc;
}

char *
cw_footage_to_json(const cw_footage_t *f)
{
  JsonBuilder *b = json_builder_new();
  json_builder_begin_object(b);
  cw_json_member_int(b, "camera_id", f->camera_id);
  cw_json_member_time(b, "from", f->from_us);
  cw_json_member_time(b, "to", f->to_us);
  json_builder_set_member_name(b, "covered_seconds");
  json_builder_add_double_value(b, (double)f->covered_us / G_USEC_PER_SEC);
  json_builder_set_member_name(b, "segments");
  json_builder_begin_array(b);
  for (guint i = 0; i < f->segments->len; i++) {
    const cw_segment_row_t *r = f->segments->pdata[i];
    json_builder_begin_object(b);
    cw_json_member_time(b, "start", r->info.start_us);
    cw_json_member_time(b, "end", r->info.end_us);
    json_builder_set_member_name(b, "node");
    json_builder_add_string_value(b, r->node);
    json_builder_set_member_name(b, "path");
    json_builder_add_string_value(b, r->info.path);
    cw_json_member_int(b, "bytes", r->info.bytes);
    json_builder_set_member_name(b, "codec");
    json_builder_add_string_value(b, cw_codec_name(r->info.codec));
    add_member_dim(b, "width", r->info.width);
    add_member_dim(b, "height", r->info.height);
    json_builder_set_member_name(b, "repaired");
    json_builder_add_boolean_value(b, r->info.repaired);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  json_builder_set_member_name(b, "gaps");
  json_builder_begin_array(b);
  for (guint i = 0; i < f->gaps->len; i++) {
    const cw_time_range_t *g = &g_array_index(f->gaps, cw_time_range_t, i);
    json_builder_begin_object(b);
    cw_json_member_time(b, "from", g->from_us);
    cw_json_member_time(b, "to", g->to_us);
    json_builder_set_member_name(b, "open");
    json_builder_add_boolean_value(b, g->open);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  json_builder_end_object(b);
  return cw_json_builder_finish(b);
}

/* ---- what the recorder and retention ask -------------------------------- */

int
cw_footage_last_starts(PGconn *conn, const char *node, GHashTable **out, cw_error_t *err)
{
  const char *params[] = {node};
  PGresult *res = PQexecParams(conn,
                               "SELECT camera_id, (extract(epoch FROM max(start_time))"
                               " * 1000000)::bigint FROM segments WHERE node = $1"
                               " GROUP BY camera_id",
                               1, NULL, params, NULL, NULL, 0);
  int rc = cw_db_check(conn, res, PGRES_TUPLES_OK, err);
  if (rc == 0) {
    *out = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
    for (int i = 0; i < PQntuples(res); i++) {
      gint64 *camera = g_new(gint64, 1), *start = g_new(gint64, 1);
      *camera = int_value(res, i, 0);
      *start = int_value(res, i, 1);
      g_hash_table_insert(*out, camera, start);
    }
  }
  PQclear(res);
  return rc;
}

int
cw_footage_node_bytes(PGconn *conn, const char *node, gint64 *bytes, cw_error_t *err)
{
  const char *params[] = {node};
  PGresult *res = PQexecParams(conn, "SELECT coalesce(sum(bytes), 0) FROM segments WHERE node = $1",
                               1, NULL, params, NULL, NULL, 0);
  int rc = cw_db_check(conn, res, PGRES_TUPLES_OK, err);
  if (rc == 0)
    *bytes = int_value(res, 0, 0);
  PQclear(res);
  return rc;
}

/* Runs a DELETE ... RETURNING SEG_COLUMNS and hands back its rows. */
static int
delete_rows(PGconn *conn, const char *sql, int n, const char *const *params, GPtrArray **removed,
            cw_error_t *err)
{
  *removed = NULL;
  PGresult *res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
  int rc = cw_db_check(conn, res, PGRES_TUPLES_OK, err);
  if (rc == 0)
    *removed = read_rows(res);
  PQclear(res);
  return rc;
}

int
cw_footage_expire(PGconn *conn, const char *node, gint64 now_us, int default_days, guint limit,
                  GPtrArray **removed, cw_error_t *err)
{
  *removed = NULL;
  if (default_days < 1)
    return cw_error_set(err, -EINVAL, "retention_days: must be at least 1, not %d", default_days);
  char *now = cw_time_format(now_us);
  char days[16], lim[16];
  g_snprintf(days, sizeof days, "%d", default_days);
  g_snprintf(lim, sizeof lim, "%u", limit);
  const char *params[] = {node, now, days, lim};
  /* Oldest first along (node, start_time). Nothing that started after
   * now minus the shortest retention in force can have expired, which
   * bounds the walk however much footage is kept. One statement, so the
   * rows picked are the rows deleted. */
  int rc = delete_rows(conn,
                       "WITH v AS (SELECT s.camera_id, s.start_time FROM segments s"
                       " LEFT JOIN cameras c ON c.id = s.camera_id"
                       " WHERE s.node = $1"
                       " AND s.start_time < $2::timestamptz - make_interval(days =>"
                       " (SELECT least($3::int, min(retention_days)) FROM cameras))"
                       " AND s.end_time < $2::timestamptz"
                       " - make_interval(days => coalesce(c.retention_days, $3::int))"
                       " AND NOT footage_is_held(s.camera_id, s.start_time, s.end_time)"
                       " ORDER BY s.start_time LIMIT $4::int)"
                       " DELETE FROM segments s USING v"
                       " WHERE s.camera_id = v.camera_id AND s.start_time = v.start_time"
                       " RETURNING " SEG_COLUMNS,
                       4, params, removed, err);
  g_free(now);
  return rc;
}

int
cw_footage_evict(PGconn *conn, const char *node, gint64 want_bytes, guint limit,
                 GPtrArray **removed, cw_error_t *err)
{
  char want[24], lim[16];
  g_snprintf(want, sizeof want, "%" G_GINT64_FORMAT, want_bytes);
  g_snprintf(lim, sizeof lim, "%u", limit);
  const char *params[] = {node, want, lim};
  /* A row goes while what went before it is still short of the target, so
   * the last one taken may overshoot it by one segment. */
  return delete_rows(conn,
                     "WITH o AS (SELECT s.camera_id, s.start_time, s.bytes,"
                     " sum(s.bytes) OVER (ORDER BY s.start_time ROWS UNBOUNDED PRECEDING) AS upto"
                     " FROM segments s WHERE s.node = $1"
                     " AND NOT footage_is_held(s.camera_id, s.start_time, s.end_time)"
                     " ORDER BY s.start_time LIMIT $3::int),"
                     " v AS (SELECT camera_id, start_time FROM o WHERE upto - bytes < $2::bigint)"
                     " DELETE FROM segments s USING v"
                     " WHERE s.camera_id = v.camera_id AND s.start_time = v.start_time"
                     " RETURNING " SEG_COLUMNS,
                     3, params, removed, err);
}

/* ---- legal holds and retention settings -------------------------------- */

static int
check_case(const char *case_id, cw_error_t *err)
{
  if (!case_id || !*case_id)
    return cw_error_set(err, -EINVAL, "case: required");
  if (strlen(case_id) > 128)
    return cw_error_set(err, -EINVAL, "case: longer than 128 characters");
  return 0;
}

int
cw_footage_hold(PGconn *conn, gint64 camera_id, gint64 from_us, gint64 to_us, const char *case_id,
                const char *actor, gint64 *id, cw_error_t *err)
{
  int rc = check_case(case_id, err);
  if (rc < 0)
    return rc;
  if (from_us >= to_us)
    return cw_error_set(err, -EINVAL, "hold: the range must end after it starts");
  char camera[24];
  g_snprintf(camera, sizeof camera, "%" G_GINT64_FORMAT, camera_id);
  char *from = cw_time_format(from_us), *to = cw_time_format(to_us);
  const char *params[] = {camera, from, to, case_id, actor};
  /* Typed as text, so $2::text in the details is the ISO text as given. */
  const Oid text_types[] = {25, 25, 25, 25, 25};
  /* The hold and its audit row commit together; a camera neither
   * registered nor recorded inserts nothing. */
  PGresult *res = PQexecParams(
      conn,
      "WITH h AS (INSERT INTO footage_holds (camera_id, from_time, to_time, case_id, created_by)"
      " SELECT $1::bigint, $2::timestamptz, $3::timestamptz, $4, $5"
      " WHERE EXISTS (SELECT 1 FROM cameras WHERE id = $1::bigint)"
      " OR EXISTS (SELECT 1 FROM segments WHERE camera_id = $1::bigint)"
      " RETURNING id)"
      " INSERT INTO audit_log (actor, action, object, details)"
      " SELECT $5, 'footage.hold', 'camera:' || $1::bigint,"
      " jsonb_build_object('case', $4::text, 'from', $2::text, 'to', $3::text, 'hold_id', h.id)"
      " FROM h RETURNING (SELECT id FROM h)",
      5, text_types, params, NULL, NULL, 0);
  rc = cw_db_check(conn, res, PGRES_TUPLES_OK, err);
  if (rc == 0 && PQntuples(res) == 0)
    rc = cw_error_set(err, -ENOENT, "camera %s: no such camera", camera);
  if (rc == 0 && id)
    *id = int_value(res, 0, 0);
  PQclear(res);
  g_free(from);
  g_free(to);
  return rc;
}

int
cw_footage_release(PGconn *conn, gint64 camera_id, gint64 from_us, gint64 to_us,
                   const char *case_id, const char *actor, guint *released, cw_error_t *err)
{
  if (released)
    *released = 0;
  int rc = check_case(case_id, err);
  if (rc < 0)
    return rc;
  if (from_us >= to_us)
    return cw_error_set(err, -EINVAL, "release: the range must end after it starts");
  char camera[24];
  g_snprintf(camera, sizeof camera, "%" G_GINT64_FORMAT, camera_id);
  char *from = cw_time_format(from_us), *to = cw_time_format(to_us);
  const char *params[] = {camera, from, to, case_id, actor};
  /* One audit row per hold released, naming the hold's own range. */
  PGresult *res = PQexecParams(
      conn,
      "WITH r AS (UPDATE footage_holds SET released_by = $5, released_at = now()"
      " WHERE camera_id = $1::bigint AND case_id = $4 AND released_at IS NULL"
      " AND from_time >= $2::timestamptz AND to_time <= $3::timestamptz"
      " RETURNING id, from_time, to_time)"
      " INSERT INTO audit_log (actor, action, object, details)"
      " SELECT $5, 'footage.release', 'camera:' || $1::bigint,"
      " jsonb_build_object('case', $4::text,"
      " 'from', to_char(r.from_time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
      " 'to', to_char(r.to_time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
      " 'hold_id', r.id)"
      " FROM (SELECT * FROM r ORDER BY id) r RETURNING 1",
      5, NULL, params, NULL, NULL, 0);
  rc = cw_db_check(conn, res, PGRES_TUPLES_OK, err);
  if (rc == 0 && PQntuples(res) == 0)
    rc = cw_error_set(err, -ENOENT, "camera %s: no active hold for case '%s' inside %s .. %s",
                      camera, case_id, from, to);
  if (rc == 0 && released)
    *released = (guint)PQntuples(res);
  PQclear(res);
  g_free(from);
  g_free(to);
  return rc;
}

int
cw_footage_set_retention(PGconn *conn, gint64 camera_id, int days, const char *actor,
                         cw_error_t *err)
{
  if (days < 0 || days > 3650)
    return cw_error_set(err, -EINVAL, "retention: days must be 1..3650 (or the default), not %d",
                        days);
  char camera[24], value[16];
  g_snprintf(camera, sizeof camera, "%" G_GINT64_FORMAT, camera_id);
  g_snprintf(value, sizeof value, "%d", days);
  const char *params[] = {camera, days > 0 ? value : NULL, actor};
  PGresult *res = PQexecParams(
      conn,
      "WITH o AS (SELECT id, name, retention_days FROM cameras WHERE id = $1::bigint FOR UPDATE),"
      " u AS (UPDATE cameras c SET retention_days = $2::int, updated_at = now() FROM o"
      " WHERE c.id = o.id RETURNING c.id, c.name, c.retention_days)"
      " INSERT INTO audit_log (actor, action, object, before, after)"
      " SELECT $3, 'camera.retention', 'camera:' || u.name,"
      " jsonb_build_object('retention_days', o.retention_days),"
      " jsonb_build_object('retention_days', u.retention_days)"
      " FROM o JOIN u ON u.id = o.id RETURNING 1",
      3, NULL, params, NULL, NULL, 0);
  int rc = cw_db_check(conn, res, PGRES_TUPLES_OK, err);
  if (rc == 0 && PQntuples(res) == 0)
    rc = cw_error_set(err, -ENOENT, "camera %s: no such camera", camera);
  PQclear(res);
  return rc;
}
