#include "ingest_store.h"

#include <errno.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "db.h"
#include "json_build.h"

void
cw_camera_source_free(cw_camera_source_t *s)
{
  if (!s)
    return;
  g_free(s->name);
  g_free(s->url);
  g_free(s->username);
  cw_secret_wipe_free(s->password);
  g_free(s->transport);
  g_free(s->updated_at);
  g_free(s->analytics);
  g_free(s->problem);
  g_free(s);
}

int
cw_ingest_store_load(PGconn *conn, const cw_secret_key_t *key, GPtrArray **out, cw_error_t *err)
{
  /* Binary result: password_enc arrives as raw bytes. */
  PGresult *res = PQexecParams(conn,
                               "SELECT id, name, url, username, password_enc, password_key_id,"
                               " transport, enabled::text, updated_at::text, analytics::text"
                               " FROM cameras"
                               " ORDER BY id",
                               0, NULL, NULL, NULL, NULL, 1);
  int rc = cw_db_check(conn, res, PGRES_TUPLES_OK, err);
  if (rc < 0) {
    PQclear(res);
    return rc;
  }
  *out = g_ptr_array_new_with_free_func((GDestroyNotify)cw_camera_source_free);
  for (int i = 0; i < PQntuples(res); i++) {
    cw_camera_source_t *s = g_new0(cw_camera_source_t, 1);
    guint64 id_be;
    memcpy(&id_be, PQgetvalue(res, i, 0), sizeof id_be);
    s->id = (gint64)GUINT64_FROM_BE(id_be);
    s->name = g_strdup(PQgetvalue(res, i, 1));
    s->url = g_strdup(PQgetvalue(res, i, 2));
    s->username = PQgetisnull(res, i, 3) ? NULL : g_strdup(PQgetvalue(res, i, 3));
    s->transport = g_strdup(PQgetvalue(res, i, 6));
    s->enabled = strcmp(PQgetvalue(res, i, 7), "true") == 0;
    s->updated_at = g_strdup(PQgetvalue(res, i, 8));
    s->analytics = g_strdup(PQgetvalue(res, i, 9));
    if (!PQgetisnull(res, i, 4)) {
      cw_error_t why;
      if (!key)
        s->problem = g_strdup("password stored but no credential key file loaded");
      else if (cw_secret_open(key, PQgetvalue(res, i, 5), (const guint8 *)PQgetvalue(res, i, 4),
                              (gsize)PQgetlength(res, i, 4), &s->password, &why) < 0)
        s->problem = g_strdup_printf("password cannot be opened: %s", why.msg);
    }
    g_ptr_array_add(*out, s);
  }
  PQclear(res);
  return 0;
}

/* A time never set (0) is null. */
static void
add_time(JsonBuilder *b, const char *name, gint64 us)
{
  if (us > 0)
    cw_json_member_time(b, name, us);
  else
    cw_json_member_string(b, name, NULL);
}

/* An empty text is null too. */
static void
add_string(JsonBuilder *b, const char *name, const char *value)
{
  cw_json_member_string(b, name, value && *value ? value : NULL);
}

int
cw_ingest_store_write_health(PGconn *conn, const char *node, const cw_camera_health_row_t *rows,
                             guint n, cw_error_t *err)
{
  if (n == 0)
    return 0;
  /* One JSON array, one statement: a few thousand rows per round trip. */
  JsonBuilder *b = json_builder_new();
  json_builder_begin_array(b);
  for (guint i = 0; i < n; i++) {
    const cw_camera_health_row_t *r = &rows[i];
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "camera_id");
    json_builder_add_int_value(b, r->camera_id);
    add_string(b, "node", node);
    add_string(b, "state", r->state);
    add_time(b, "state_since_at", r->state_since_us);
    add_string(b, "codec", r->codec);
    json_builder_set_member_name(b, "width");
    json_builder_add_int_value(b, r->width);
    json_builder_set_member_name(b, "height");
    json_builder_add_int_value(b, r->height);
    json_builder_set_member_name(b, "fps");
    json_builder_add_double_value(b, r->fps);
    json_builder_set_member_name(b, "bitrate_bps");
    json_builder_add_int_value(b, (gint64)r->bitrate_bps);
    add_string(b, "transport", r->transport);
    add_time(b, "last_frame_at", r->last_frame_us);
    json_builder_set_member_name(b, "reconnects");
    json_builder_add_int_value(b, (gint64)r->reconnects);
    json_builder_set_member_name(b, "access_units");
    json_builder_add_int_value(b, (gint64)r->access_units);
    json_builder_set_member_name(b, "damaged_units");
    json_builder_add_int_value(b, (gint64)r->damaged_units);
    json_builder_set_member_name(b, "lost_packets");
    json_builder_add_int_value(b, (gint64)r->lost_packets);
    add_string(b, "last_error", r->last_error);
    add_string(b, "recording_state", r->recording_state);
    add_string(b, "recording_error", r->recording_error);
    add_string(b, "analytics_state", r->analytics_state);
    if (r->analytics_state) {
      json_builder_set_member_name(b, "analytics_fps");
      json_builder_add_double_value(b, r->analytics_fps);
      json_builder_set_member_name(b, "analytics_skipped");
      json_builder_add_int_value(b, (gint64)r->analytics_skipped);
    }
    add_string(b, "analytics_error", r->analytics_error);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  char *text = cw_json_builder_finish(b);

  const char *params[] = {text};
  PGresult *res = PQexecParams(
      conn,
      "INSERT INTO camera_health (camera_id, node, state, state_since_at, codec, width, height,"
      " fps, bitrate_bps, transport, last_frame_at, reconnects, access_units, damaged_units,"
      " lost_packets, last_error, recording_state, recording_error, analytics_state,"
      " analytics_fps, analytics_skipped, analytics_error, updated_at)"
      " SELECT r.camera_id, r.node, r.state, r.state_since_at, r.codec, r.width, r.height,"
      " r.fps, r.bitrate_bps, r.transport, r.last_frame_at, r.reconnects, r.access_units,"
      " r.damaged_units, r.lost_packets, r.last_error, r.recording_state, r.recording_error,"
      " r.analytics_state, r.analytics_fps, r.analytics_skipped, r.analytics_error, now()"
      " FROM json_populate_recordset(NULL::camera_health, $1::json) r"
      " JOIN cameras c ON c.id = r.camera_id"
      " ON CONFLICT (camera_id) DO UPDATE SET node = EXCLUDED.node, state = EXCLUDED.state,"
      " state_since_at = EXCLUDED.state_since_at, codec = EXCLUDED.codec,"
      " width = EXCLUDED.width, height = EXCLUDED.height, fps = EXCLUDED.fps,"
      " bitrate_bps = EXCLUDED.bitrate_bps, transport = EXCLUDED.transport,"
      " last_frame_at = EXCLUDED.last_frame_at, reconnects = EXCLUDED.reconnects,"
      " access_units = EXCLUDED.access_units, damaged_units = EXCLUDED.damaged_units,"
      " lost_packets = EXCLUDED.lost_packets, last_error = EXCLUDED.last_error,"
      " recording_state = EXCLUDED.recording_state, recording_error = EXCLUDED.recording_error,"
      " analytics_state = EXCLUDED.analytics_state, analytics_fps = EXCLUDED.analytics_fps,"
      " analytics_skipped = EXCLUDED.analytics_skipped,"
      " analytics_error = EXCLUDED.analytics_error, updated_at = now()",
      1, NULL, params, NULL, NULL, 0);
  int rc = cw_db_check(conn, res, PGRES_COMMAND_OK, err);
  PQclear(res);
  g_free(text);
  return rc;
}
