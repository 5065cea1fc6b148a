#include "camera_store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

#define CAMERA_COLUMNS                                                                             \
  "c.id, c.name, c.url, c.substream_url, c.username, c.password_enc IS NOT NULL, c.lat, "          \
  "c.lon, c.road, c.direction, array_to_string(c.tags, ','), c.enabled, "                          \
  "to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "                   \
  "to_char(c.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "                   \
  "camera_listing_json(c, h)::text, c.transport, "                                                 \
  "CASE WHEN NOT c.enabled THEN 'disabled' ELSE h.state END, h.node, h.last_error, h.codec, "      \
  "h.width, h.height, h.fps, h.bitrate_bps, h.reconnects, "                                        \
  "to_char(h.state_since_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "               \
  "to_char(h.last_frame_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "                \
  "h.recording_state, h.recording_error, c.retention_days"

void
cw_camera_free(cw_camera_t *cam)
{
  if (!cam)
    return;
  g_free(cam->name);
  g_free(cam->url);
  g_free(cam->substream_url);
  g_free(cam->username);
  g_free(cam->road);
  g_free(cam->direction);
  g_strfreev(cam->tags);
  g_free(cam->created_at);
  g_free(cam->updated_at);
  g_free(cam->json);
  g_free(cam->transport);
  g_free(cam->state);
  g_free(cam->node);
  g_free(cam->last_error);
  g_free(cam->codec);
  g_free(cam->state_since_at);
  g_free(cam->last_frame_at);
  g_free(cam->recording_state);
  g_free(cam->recording_error);
  g_free(cam);
}

static char *
opt_value(const PGresult *res, int row, int col)
{
  return PQgetisnull(res, row, col) ? NULL : g_strdup(PQgetvalue(res, row, col));
}

static cw_camera_t *
camera_from_row(const PGresult *res, int row)
{
  cw_camera_t *c = g_new0(cw_camera_t, 1);
  c->id = g_ascii_strtoll(PQgetvalue(res, row, 0), NULL, 10);
  c->name = opt_value(res, row, 1);
  c->url = opt_value(res, row, 2);
  c->substream_url = opt_value(res, row, 3);
  c->username = opt_value(res, row, 4);
  c->has_password = PQgetvalue(res, row, 5)[0] == 't';
  c->has_location = !PQgetisnull(res, row, 6);
  if (c->has_location) {
    c->lat = g_ascii_strtod(PQgetvalue(res, row, 6), NULL);
    c->lon = g_ascii_strtod(PQgetvalue(res, row, 7), NULL);
  }
  c->road = opt_value(res, row, 8);
  c->direction = opt_value(res, row, 9);
  const char *tags = PQgetvalue(res, row, 10);
  c->tags = *tags ? g_strsplit(tags, ",", -1) : g_new0(char *, 1);
  c->enabled = PQgetvalue(res, row, 11)[0] == 't';
  c->created_at = opt_value(res, row, 12);
  c->updated_at = opt_value(res, row, 13);
  c->json = opt_value(res, row, 14);
  c->transport = opt_value(res, row, 15);
  c->state = opt_value(res, row, 16);
  c->node = opt_value(res, row, 17);
  c->last_error = opt_value(res, row, 18);
  c->codec = opt_value(res, row, 19);
  c->width = PQgetisnull(res, row, 20) ? 0 : atoi(PQgetvalue(res, row, 20));
  c->height = PQgetisnull(res, row, 21) ? 0 : atoi(PQgetvalue(res, row, 21));
  c->fps = PQgetisnull(res, row, 22) ? 0 : g_ascii_strtod(PQgetvalue(res, row, 22), NULL);
  c->bitrate_bps = PQgetisnull(res, row, 23) ? 0 : g_ascii_strtod(PQgetvalue(res, row, 23), NULL);
  c->reconnects =
      PQgetisnull(res, row, 24) ? 0 : g_ascii_strtoll(PQgetvalue(res, row, 24), NULL, 10);
  c->state_since_at = opt_value(res, row, 25);
  c->last_frame_at = opt_value(res, row, 26);
  c->recording_state = opt_value(res, row, 27);
  c->recording_error = opt_value(res, row, 28);
  c->retention_days = PQgetisnull(res, row, 29) ? 0 : atoi(PQgetvalue(res, row, 29));
  return c;
}

/* Turns a failed write into words about the field that caused it. */
static int
write_error(PGconn *conn, PGresult *res, ExecStatusType expected, const char *name, cw_error_t *err)
{
  if (res && PQresultStatus(res) == expected)
    return 0;
  const char *state = cw_db_sqlstate(res);
  const char *constraint = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
  if (strcmp(state, "23505") == 0 && constraint && strcmp(constraint, "cameras_name_key") == 0)
    return cw_error_set(err, -EEXIST,
                        "name: a camera named '%s' already exists (names are "
                        "compared regardless of case)",
                        name);
  if (strcmp(state, "23514") == 0 && constraint) {
    if (strcmp(constraint, "cameras_password_needs_username") == 0)
      return cw_error_set(err, -EINVAL, "username: required when a password is given");
    if (strcmp(constraint, "cameras_lat_lon_together") == 0)
      return cw_error_set(err, -EINVAL, "lat: lat and lon go together; give both or neither");
  }
  return cw_db_check(conn, res, expected, err);
}

static char *
bytea_hex(GBytes *b)
{
  gsize len = 0;
  const guint8 *p = g_bytes_get_data(b, &len);
  GString *s = g_string_sized_new(2 * len + 3);
  g_string_append(s, "\\x");
  for (gsize i = 0; i < len; i++)
    g_string_append_printf(s, "%02x", p[i]);
  return g_string_free(s, FALSE);
}

/* One deployment, one key: refuse to seal under a key other than the one
 * the stored passwords use, which would leave half the cameras unreadable. */
static int
check_same_key(PGconn *conn, const cw_secret_key_t *key, cw_error_t *err)
{
  const char *params[] = {cw_secret_key_id(key)};
  PGresult *res = PQexecParams(conn,
                               "SELECT password_key_id FROM cameras WHERE password_key_id <> $1"
                               " LIMIT 1",
                               1, NULL, params, NULL, NULL, 0);
  int rc = cw_db_check(conn, res, PGRES_TUPLES_OK, err);
  if (rc == 0 && PQntuples(res) > 0)
    rc = cw_error_set(err, -EKEYREJECTED,
                      "credential key: stored camera passwords use key %s but this key file "
                      "holds key %s; use the same key file on every node and CLI",
                      PQgetvalue(res, 0, 0), cw_secret_key_id(key));
  PQclear(res);
  return rc;
}

/* Callers run check_same_key() once before sealing anything. */
static int
seal(const cw_secret_key_t *key, const char *password, char **hex, cw_error_t *err)
{
  if (!key)
    return cw_error_set(err, -EINVAL, "password: no credential key loaded to encrypt it with");
  GBytes *box = cw_secret_seal(key, password);
  *hex = bytea_hex(box);
  g_bytes_unref(box);
  return 0;
}

static char *
tags_literal(char **tags)
{
  /* Every element quoted, so a tag spelled "null" stays a tag. */
  GString *s = g_string_new("{");
  for (char **t = tags; t && *t; t++)
    g_string_append_printf(s, "%s\"%s\"", t == tags ? "" : ",", *t);
  g_string_append_c(s, '}');
  return g_string_free(s, FALSE);
}

/* Parameters for every column a spec may set, in one fixed order. */
typedef struct {
  const char *values[14];
  char *owned[6];
} column_params_t;

enum {
  P_NAME,
  P_URL,
  P_SUB,
  P_USER,
  P_PASS,
  P_KEYID,
  P_LAT,
  P_LON,
  P_ROAD,
  P_DIR,
  P_TAGS,
  P_EN,
  P_TRANSPORT,
  P_COUNT
};

static int
column_params(const cw_secret_key_t *key, const cw_camera_spec_t *spec, column_params_t *p,
              cw_error_t *err)
{
  memset(p, 0, sizeof *p);
  p->values[P_NAME] = spec->name;
  p->values[P_URL] = spec->url;
  p->values[P_SUB] = spec->substream_url;
  p->values[P_USER] = spec->username;
  if (spec->password) {
    int rc = seal(key, spec->password, &p->owned[0], err);
    if (rc < 0)
      return rc;
    p->values[P_PASS] = p->owned[0];
    p->values[P_KEYID] = cw_secret_key_id(key);
  }
  if (spec->has_lat && spec->has_lon) {
    p->values[P_LAT] = p->owned[1] = g_strdup_printf("%.9g", spec->lat);
    p->values[P_LON] = p->owned[2] = g_strdup_printf("%.9g", spec->lon);
  }
  p->values[P_ROAD] = spec->road;
  p->values[P_DIR] = spec->direction;
  p->values[P_TAGS] = p->owned[3] = tags_literal(spec->tags);
  p->values[P_EN] = (spec->set & CW_CAM_ENABLED) && !spec->enabled ? "false" : "true";
  p->values[P_TRANSPORT] = spec->transport ? spec->transport : "auto";
  return 0;
}

static void
column_params_clear(column_params_t *p)
{
  for (guint i = 0; i < G_N_ELEMENTS(p->owned); i++)
    g_free(p->owned[i]);
}

/* column_params() for a single-camera write, after the key check. */
static int
spec_params(PGconn *conn, const cw_secret_key_t *key, const cw_camera_spec_t *spec,
            column_params_t *p, cw_error_t *err)
{
  int rc = 0;
  if (spec->password && key && (rc = check_same_key(conn, key, err)) < 0)
    return rc;
  return column_params(key, spec, p, err);
}

int
cw_camera_store_add(PGconn *conn, const cw_secret_key_t *key, const cw_camera_spec_t *spec,
                    const char *actor, gint64 *id_out, cw_error_t *err)
{
  column_params_t p;
  int rc = spec_params(conn, key, spec, &p, err);
  if (rc < 0)
    return rc;
  p.values[P_COUNT] = actor;
  /* One statement: the camera and its audit row commit together or not at all. */
  PGresult *res = PQexecParams(
      conn,
      "WITH c AS (INSERT INTO cameras (name, url, substream_url, username, password_enc,"
      " password_key_id, lat, lon, road, direction, tags, enabled, transport)"
      " VALUES ($1, $2, $3, $4, $5::bytea, $6, $7::float8, $8::float8, $9, $10, $11::text[],"
      " $12::boolean, $13) RETURNING cameras AS r)"
      " INSERT INTO audit_log (actor, action, object, after)"
      " SELECT $14, 'camera.add', 'camera:' || (c.r).name, camera_public_json(c.r)::jsonb FROM c"
      " RETURNING (SELECT (r).id FROM c)",
      P_COUNT + 1, NULL, p.values, NULL, NULL, 0);
  rc = write_error(conn, res, PGRES_TUPLES_OK, spec->name, err);
  if (rc == 0 && id_out)
    *id_out = g_ascii_strtoll(PQgetvalue(res, 0, 0), NULL, 10);
  PQclear(res);
  column_params_clear(&p);
  return rc;
}

int
cw_camera_store_edit(PGconn *conn, const cw_secret_key_t *key, const char *name,
                     const cw_camera_spec_t *spec, const char *action, const char *actor,
                     cw_error_t *err)
{
  column_params_t p;
  int rc = spec_params(conn, key, spec, &p, err);
  if (rc < 0)
    return rc;
  /* SET clauses only for the fields given; the SQL text is built from
   * constant fragments, the values stay out of line. */
  static const struct {
    guint bit;
    const char *sql;
  } sets[] = {
      {CW_CAM_NAME, "name = $1"},
      {CW_CAM_URL, "url = $2"},
      {CW_CAM_SUBSTREAM, "substream_url = $3"},
      {CW_CAM_USERNAME, "username = $4"},
      {CW_CAM_PASSWORD, "password_enc = $5::bytea, password_key_id = $6"},
      {CW_CAM_LATLON, "lat = $7::float8, lon = $8::float8"},
      {CW_CAM_ROAD, "road = $9"},
      {CW_CAM_DIRECTION, "direction = $10"},
      {CW_CAM_TAGS, "tags = $11::text[]"},
      {CW_CAM_ENABLED, "enabled = $12::boolean"},
      {CW_CAM_TRANSPORT, "transport = $13"},
  };
  GString *sql = g_string_new("WITH o AS (SELECT c AS r FROM cameras c"
                              " WHERE lower(c.name) = lower($14) FOR UPDATE),"
                              " u AS (UPDATE cameras SET updated_at = now()");
  for (guint i = 0; i < G_N_ELEMENTS(sets); i++)
    if (spec->set & sets[i].bit)
      g_string_append_printf(sql, ", %s", sets[i].sql);
  g_string_append(sql, " FROM o WHERE cameras.id = (o.r).id RETURNING cameras AS r)"
                       " INSERT INTO audit_log (actor, action, object, before, after)"
                       " SELECT $15, $16, 'camera:' || (u.r).name, camera_public_json(o.r)::jsonb,"
                       " camera_public_json(u.r)::jsonb FROM o, u RETURNING 1");
  const char *values[P_COUNT + 3];
  memcpy(values, p.values, P_COUNT * sizeof values[0]);
  values[P_COUNT] = name;
  values[P_COUNT + 1] = actor;
  values[P_COUNT + 2] = action;
  /* Typed, because an edit leaves some parameters unreferenced. */
  Oid types[P_COUNT + 3];
  for (guint i = 0; i < G_N_ELEMENTS(types); i++)
    types[i] = 25; /* TEXTOID; the SQL casts where it needs another type */
  PGresult *res = PQexecParams(conn, sql->str, P_COUNT + 3, types, values, NULL, NULL, 0);
  rc = write_error(conn, res, PGRES_TUPLES_OK, spec->name ? spec->name : name, err);
  if (rc == 0 && PQntuples(res) == 0)
    rc = cw_error_set(err, -ENOENT, "no camera named '%s'", name);
  PQclear(res);
  g_string_free(sql, TRUE);
  column_params_clear(&p);
  return rc;
}

int
cw_camera_store_remove(PGconn *conn, const char *name, const char *actor, cw_error_t *err)
{
  const char *params[] = {name, actor};
  PGresult *res = PQexecParams(
      conn,
      "WITH d AS (DELETE FROM cameras WHERE lower(name) = lower($1) RETURNING cameras AS r)"
      " INSERT INTO audit_log (actor, action, object, before)"
      " SELECT $2, 'camera.remove', 'camera:' || (d.r).name, camera_public_json(d.r)::jsonb FROM d"
      " RETURNING 1",
      2, NULL, params, NULL, NULL, 0);
  int rc = cw_db_check(conn, res, PGRES_TUPLES_OK, err);
  if (rc == 0 && PQntuples(res) == 0)
    rc = cw_error_set(err, -ENOENT, "no camera named '%s'", name);
  PQclear(res);
  return rc;
}

static int
query_cameras(PGconn *conn, const char *where, const char *param, GPtrArray **out, cw_error_t *err)
{
  char *sql =
      g_strdup_printf("SELECT " CAMERA_COLUMNS " FROM cameras c"
                      " LEFT JOIN camera_health h ON h.camera_id = c.id %s ORDER BY lower(c.name)",
                      where);
  const char *params[] = {param};
  PGresult *res = PQexecParams(conn, sql, param ? 1 : 0, NULL, params, NULL, NULL, 0);
  g_free(sql);
  int rc = cw_db_check(conn, res, PGRES_TUPLES_OK, err);
  if (rc == 0) {
    *out = g_ptr_array_new_full(PQntuples(res), (GDestroyNotify)cw_camera_free);
    for (int i = 0; i < PQntuples(res); i++)
      g_ptr_array_add(*out, camera_from_row(res, i));
  }
  PQclear(res);
  return rc;
}

int
cw_camera_store_list(PGconn *conn, GPtrArray **out, cw_error_t *err)
{
  return query_cameras(conn, "", NULL, out, err);
}

int
cw_camera_store_get(PGconn *conn, const char *name, cw_camera_t **out, cw_error_t *err)
{
  GPtrArray *rows = NULL;
  int rc = query_cameras(conn, "WHERE lower(c.name) = lower($1)", name, &rows, err);
  if (rc < 0)
    return rc;
  if (rows->len == 0)
    rc = cw_error_set(err, -ENOENT, "no camera named '%s'", name);
  else
    *out = g_ptr_array_steal_index(rows, 0);
  g_ptr_array_free(rows, TRUE);
  return rc;
}

/* COPY text format: backslash escapes, \N for NULL. */
static void
copy_field(GString *line, const char *value, gboolean last)
{
  if (!value) {
    g_string_append(line, "\\N");
  } else {
    for (const char *c = value; *c; c++) {
      switch (*c) {
      case '\\':
        g_string_append(line, "\\\\");
        break;
      case '\t':
        g_string_append(line, "\\t");
        break;
      case '\n':
        g_string_append(line, "\\n");
        break;
      case '\r':
        g_string_append(line, "\\r");
        break;
      default:
        g_string_append_c(line, *c);
      }
    }
  }
  g_string_append_c(line, last ? '\n' : '\t');
}

static int
copy_specs(PGconn *conn, const cw_secret_key_t *key, GPtrArray *specs, const guint *lines,
           cw_error_t *err)
{
  PGresult *res = PQexec(conn, "COPY camera_import FROM STDIN");
  int rc = cw_db_check(conn, res, PGRES_COPY_IN, err);
  PQclear(res);
  if (rc < 0)
    return rc;
  GString *buf = g_string_sized_new(1 << 16);
  for (guint i = 0; i < specs->len && rc == 0; i++) {
    column_params_t p;
    if ((rc = column_params(key, specs->pdata[i], &p, err)) < 0)
      break;
    char line[16];
    g_snprintf(line, sizeof line, "%u", lines[i]);
    copy_field(buf, line, FALSE);
    for (int c = P_NAME; c < P_COUNT; c++)
      copy_field(buf, p.values[c], c == P_COUNT - 1);
    column_params_clear(&p);
    if (buf->len > (1 << 16) || i + 1 == specs->len) {
      if (PQputCopyData(conn, buf->str, (int)buf->len) != 1)
        rc = cw_error_set(err, -EIO, "database: COPY failed: %s", PQerrorMessage(conn));
      g_string_truncate(buf, 0);
    }
  }
  g_string_free(buf, TRUE);
  if (PQputCopyEnd(conn, rc == 0 ? NULL : "aborted") != 1 && rc == 0)
    rc = cw_error_set(err, -EIO, "database: COPY failed: %s", PQerrorMessage(conn));
  res = PQgetResult(conn);
  if (rc == 0)
    rc = cw_db_check(conn, res, PGRES_COMMAND_OK, err);
  PQclear(res);
  while ((res = PQgetResult(conn)))
    PQclear(res);
  return rc;
}

int
cw_camera_store_import(PGconn *conn, const cw_secret_key_t *key, GPtrArray *specs,
                       const guint *lines, const char *source, const char *actor, GString *problems,
                       cw_error_t *err)
{
  PGresult *res = NULL;
  int rc = cw_db_exec(conn, "BEGIN", err);
  if (rc < 0)
    return rc;
  gboolean any_password = FALSE;
  for (guint i = 0; i < specs->len; i++)
    any_password = any_password || ((cw_camera_spec_t *)specs->pdata[i])->password;
  if (any_password && key && (rc = check_same_key(conn, key, err)) < 0)
    goto out;
  /* Staged through COPY, then moved with one INSERT ... SELECT that also
   * writes the audit rows: fast, and all or nothing. */
  if ((rc = cw_db_exec(conn,
                       "CREATE TEMP TABLE camera_import (line integer, name text, url text,"
                       " substream_url text, username text, password_enc bytea,"
                       " password_key_id text, lat float8, lon float8, road text,"
                       " direction text, tags text[], enabled boolean, transport text)"
                       " ON COMMIT DROP",
                       err)) < 0 ||
      (rc = copy_specs(conn, key, specs, lines, err)) < 0)
    goto out;
  res = PQexec(conn, "SELECT i.line, c.name, c.id FROM camera_import i"
                     " JOIN cameras c ON lower(c.name) = lower(i.name) ORDER BY i.line");
  if ((rc = cw_db_check(conn, res, PGRES_TUPLES_OK, err)) < 0)
    goto out;
  for (int i = 0; i < PQntuples(res); i++)
    g_string_append_printf(problems, "%s:%s: name: a camera named '%s' already exists (id %s)\n",
                           source, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
                           PQgetvalue(res, i, 2));
  if (PQntuples(res) > 0) {
    rc = cw_error_set(err, -EEXIST, "%s: %d camera name(s) already in use; nothing imported",
                      source, PQntuples(res));
    goto out;
  }
  PQclear(res);
  const char *params[] = {actor, source};
  res = PQexecParams(
      conn,
      "WITH ins AS (INSERT INTO cameras (name, url, substream_url, username, password_enc,"
      " password_key_id, lat, lon, road, direction, tags, enabled, transport)"
      " SELECT name, url, substream_url, username, password_enc, password_key_id, lat, lon,"
      " road, direction, tags, enabled, transport FROM camera_import ORDER BY line"
      " RETURNING cameras AS r)"
      " INSERT INTO audit_log (actor, action, object, after, details)"
      " SELECT $1, 'camera.add', 'camera:' || (ins.r).name, camera_public_json(ins.r)::jsonb,"
      " jsonb_build_object('import', $2::text) FROM ins",
      2, NULL, params, NULL, NULL, 0);
  if ((rc = write_error(conn, res, PGRES_COMMAND_OK, "", err)) < 0)
    goto out;
  rc = cw_db_exec(conn, "COMMIT", err);
out:
  PQclear(res);
  if (rc < 0) {
    res = PQexec(conn, "ROLLBACK");
    PQclear(res);
  }
  return rc;
}

int
cw_camera_store_status(PGconn *conn, int stale_s, GArray **counts, gint64 *total, gint64 *stale,
                       char **json, cw_error_t *err)
{
  char stale_text[16];
  g_snprintf(stale_text, sizeof stale_text, "%d", stale_s);
  const char *params[] = {stale_text};
  PGresult *res = PQexecParams(
      conn,
      "WITH s AS (SELECT coalesce(CASE WHEN NOT c.enabled THEN 'disabled' ELSE h.state END,"
      " 'unknown') AS state, c.enabled AND h.updated_at < now() - make_interval(secs => $1::int)"
      " AS stale FROM cameras c LEFT JOIN camera_health h ON h.camera_id = c.id)"
      " SELECT state, count(*), sum(count(*)) OVER (), sum(count(*) FILTER (WHERE stale)) OVER (),"
      " json_build_object('total', sum(count(*)) OVER (), 'stale_reports',"
      " sum(count(*) FILTER (WHERE stale)) OVER (),"
      " 'by_state', json_object_agg(state, count(*)) OVER ())"
      " FROM s GROUP BY state ORDER BY state",
      1, NULL, params, NULL, NULL, 0);
  int rc = cw_db_check(conn, res, PGRES_TUPLES_OK, err);
  if (rc == 0) {
    *counts = g_array_new(FALSE, FALSE, sizeof(cw_state_count_t));
    *total = *stale = 0;
    for (int i = 0; i < PQntuples(res); i++) {
      cw_state_count_t c = {g_strdup(PQgetvalue(res, i, 0)),
                            g_ascii_strtoll(PQgetvalue(res, i, 1), NULL, 10)};
      g_array_append_val(*counts, c);
      *total = g_ascii_strtoll(PQgetvalue(res, i, 2), NULL, 10);
      *stale = g_ascii_strtoll(PQgetvalue(res, i, 3), NULL, 10);
    }
    *json = PQntuples(res) ? g_strdup(PQgetvalue(res, 0, 4))
                           : g_strdup("{\"total\": 0, \"stale_reports\": 0, \"by_state\": {}}");
  }
  PQclear(res);
  return rc;
}

int
cw_camera_store_set_analytics(PGconn *conn, gint64 camera_id, const char *json, const char *actor,
                              cw_error_t *err)
{
  char camera[24];
  g_snprintf(camera, sizeof camera, "%" G_GINT64_FORMAT, camera_id);
  const char *params[] = {camera, json, actor};
  /* updated_at moves: the node re-applies the camera, and with it this. */
  PGresult *res = PQexecParams(
      conn,
      "WITH o AS (SELECT id, name, analytics FROM cameras WHERE id = $1::bigint FOR UPDATE),"
      " u AS (UPDATE cameras c SET analytics = $2::jsonb, updated_at = now() FROM o"
      " WHERE c.id = o.id RETURNING c.id, c.name, c.analytics)"
      " INSERT INTO audit_log (actor, action, object, before, after)"
      " SELECT $3, 'camera.analytics', 'camera:' || u.name,"
      " jsonb_build_object('analytics', o.analytics), jsonb_build_object('analytics', u.analytics)"
      " FROM o JOIN u ON u.id = o.id RETURNING 1",
      3, NULL, params, NULL, NULL, 0);
  int rc = cw_db_check(conn, res, PGRES_TUPLES_OK, err);
  if (rc == 0 && PQntuples(res) == 0)
    rc = cw_error_set(err, -ENOENT, "camera %s: no such camera", camera);
  PQclear(res);
  return rc;
}

int
cw_camera_store_get_analytics(PGconn *conn, gint64 camera_id, char **json, cw_error_t *err)
{
  char camera[24];
  g_snprintf(camera, sizeof camera, "%" G_GINT64_FORMAT, camera_id);
  const char *params[] = {camera};
  PGresult *res = PQexecParams(conn, "SELECT jsonb_pretty(analytics) FROM cameras WHERE id = $1",
                               1, NULL, params, NULL, NULL, 0);
  int rc = cw_db_check(conn, res, PGRES_TUPLES_OK, err);
  if (rc == 0 && PQntuples(res) == 0)
    rc = cw_error_set(err, -ENOENT, "camera %s: no such camera", camera);
  else if (rc == 0)
    *json = g_strdup(PQgetvalue(res, 0, 0));
  PQclear(res);
  return rc;
}
