/* Events and alerts in PostgreSQL: see event_store.h, storage/EVENTS.md and
 * storage/sql/004_events.sql. The rules (idempotent add, alert upkeep,
 * NOTIFY) live in the SQL, so the blocking calls here and the event
 * writer's non-blocking statement behave the same. */
#include "event_store.h"

#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "db.h"
#include "event_rows_priv.h"

void
cw_event_new_id(char id[CW_EVENT_ID_LEN + 1])
{
  guint8 b[16];
  randombytes_buf(b, sizeof b);
  b[6] = (b[6] & 0x0f) | 0x40; /* version 4 */
  b[8] = (b[8] & 0x3f) | 0x80; /* RFC 4122 variant */
  g_snprintf(id, CW_EVENT_ID_LEN + 1,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
}

static gboolean
is_uuid(const char *s)
{
  for (int i = 0; i < CW_EVENT_ID_LEN; i++) {
    gboolean dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !g_ascii_isxdigit(s[i]))
      return FALSE;
  }
  return s[CW_EVENT_ID_LEN] == '\0';
}

static gboolean
attributes_ok(const char *text)
{
  return !text || cw_event_json_is_object(text, strlen(text));
}

/* What the client can tell before the database does, naming the event.
 * The kind itself is checked by events_add against event_kinds. */
static int
check_event(const cw_event_t *e, cw_error_t *err)
{
  if (!is_uuid(e->id))
    return cw_error_set(err, -EINVAL, "event id '%.40s': not a UUID", e->id);
  if (!e->kind || !*e->kind)
    return cw_error_set(err, -EINVAL, "event %s: no kind", e->id);
  if (e->severity && strcmp(e->severity, "info") != 0 && strcmp(e->severity, "warning") != 0 &&
      strcmp(e->severity, "critical") != 0) {
    char *quoted = cw_error_quote(e->severity);
    int rc = cw_error_set(err, -EINVAL, "event %s: severity '%s' is not info, warning or critical",
                          e->id, quoted);
    g_free(quoted);
    return rc;
  }
  if (e->start_us <= 0)
    return cw_error_set(err, -EINVAL, "event %s: no start time", e->id);
  if (e->end_us != 0 && e->end_us < e->start_us)
    return cw_error_set(err, -EINVAL, "event %s: end before start", e->id);
  if (e->camera_id < 0)
    return cw_error_set(err, -EINVAL, "event %s: camera id %" G_GINT64_FORMAT " is not valid",
                        e->id, e->camera_id);
  if (!attributes_ok(e->attributes))
    return cw_error_set(err, -EINVAL, "event %s: attributes are not a JSON object", e->id);
  if (e->snapshot && *e->snapshot && (e->snapshot[0] == '/' || strstr(e->snapshot, "..")))
    return cw_error_set(err, -EINVAL,
                        "event %s: snapshot must be relative to the snapshot root, without '..'",
                        e->id);
  return 0;
}

int
cw_event_store_add(PGconn *conn, const char *node, const cw_event_t *const *events, guint n,
                   guint *added, cw_error_t *err)
{
  if (added)
    *added = 0;
  if (!node || !*node)
    return cw_error_set(err, -EINVAL, "events: node name is empty");
  for (guint i = 0; i < n; i++) {
    int rc = check_event(events[i], err);
    if (rc < 0)
      return rc;
  }
  if (n == 0)
    return 0;
  /* As the event writer sends it: each event's JSON into columns; a batch
   * with an event the columns do not take goes as JSON. */
  GString *one = g_string_new(NULL);
  cw_event_rows_t *rows = cw_event_rows_new();
  for (guint i = 0; i < n && cw_event_rows_len(rows) == i; i++) {
    g_string_truncate(one, 0);
    cw_event_json_append(one, node, events[i]);
    cw_event_rows_add_json(rows, one->str, one->len);
  }
  g_string_free(one, TRUE);
  PGresult *res;
  char *text = NULL;
  if (cw_event_rows_len(rows) == n) {
    cw_event_rows_params_t p;
    cw_event_rows_params(rows, &p);
    res = PQexecParams(conn, CW_EVENT_ADD_ROWS_SQL, CW_EVENT_ROWS_NPARAMS, p.types, p.values,
                       p.lengths, p.formats, 0);
  } else {
    text = cw_event_batch_json(node, events, n);
    const char *params[] = {text};
    res = PQexecParams(conn, CW_EVENT_ADD_SQL, 1, NULL, params, NULL, NULL, 0);
  }
  cw_event_rows_free(rows);
  int rc = 0;
  if (res && PQresultStatus(res) != PGRES_TUPLES_OK && strcmp(cw_db_sqlstate(res), "22023") == 0) {
    /* events_check's own words already name the event; drop libpq's
     * "ERROR:" and context lines. */
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    rc = cw_error_set(err, -EINVAL, "%s", msg ? msg : "events: refused");
  } else {
    rc = cw_db_check(conn, res, PGRES_TUPLES_OK, err);
  }
  if (rc == 0 && added)
    *added = (guint)g_ascii_strtoull(PQgetvalue(res, 0, 0), NULL, 10);
  PQclear(res);
  g_free(text);
  return rc;
}

/* ---- alerts ------------------------------------------------------------ */

int
cw_alerts_list(PGconn *conn, const char *state, const char *kind, gint64 camera_id, guint limit,
               GPtrArray **out, cw_error_t *err)
{
  if (state && strcmp(state, "open") != 0 && strcmp(state, "acknowledged") != 0 &&
      strcmp(state, "resolved") != 0 && strcmp(state, "unresolved") != 0) {
    char *quoted = cw_error_quote(state);
    int rc = cw_error_set(err, -EINVAL,
                          "state: '%s' is not open, acknowledged, resolved or unresolved", quoted);
    g_free(quoted);
    return rc;
  }
  char cam[24], lim[16];
  g_snprintf(cam, sizeof cam, "%" G_GINT64_FORMAT, camera_id);
  g_snprintf(lim, sizeof lim, "%u", limit ? limit : G_MAXINT32);
  const char *params[] = {state, kind, camera_id > 0 ? cam : NULL, lim};
  PGresult *res = PQexecParams(conn,
                               "SELECT alert_json(a)::text FROM alerts a"
                               " WHERE ($1::text IS NULL OR a.state = $1"
                               " OR ($1 = 'unresolved' AND a.state <> 'resolved'))"
                               " AND ($2::text IS NULL OR a.kind = $2)"
                               " AND ($3::bigint IS NULL OR a.camera_id = $3)"
                               " ORDER BY a.opened_at DESC, a.id DESC LIMIT $4::bigint",
                               4, NULL, params, NULL, NULL, 0);
  int rc = cw_db_check(conn, res, PGRES_TUPLES_OK, err);
  if (rc == 0) {
    *out = g_ptr_array_new_full(PQntuples(res), g_free);
    for (int i = 0; i < PQntuples(res); i++)
      g_ptr_array_add(*out, g_strdup(PQgetvalue(res, i, 0)));
  }
  PQclear(res);
  return rc;
}

/* Runs a state change (the UPDATE in sql moves the alert when its old
 * state allows; the same statement writes the audit row) and tells a
 * missing alert from one in the wrong state. */
static int
alert_change(PGconn *conn, const char *update, const char *const *params, int nparams,
             gint64 alert_id, const char *verb, cw_error_t *err)
{
  char *sql = g_strdup_printf(
      "WITH o AS (SELECT a.* FROM alerts a WHERE a.id = $1::bigint FOR UPDATE),"
      " u AS (%s RETURNING alerts.*),"
      " l AS (INSERT INTO audit_log (actor, action, object, before, after, details)"
      " SELECT $2, 'alert.' || $3::text, 'alert:' || u.id,"
      " jsonb_build_object('state', o.state),"
      " jsonb_build_object('state', u.state, 'kind', u.kind, 'camera_id', u.camera_id),"
      " CASE WHEN u.resolution_note IS NULL THEN NULL"
      " ELSE jsonb_build_object('note', u.resolution_note) END"
      " FROM o JOIN u ON u.id = o.id RETURNING 1)"
      " SELECT o.state, (SELECT count(*) FROM l), coalesce(o.resolved_by, o.acknowledged_by),"
      " to_char(coalesce(o.resolved_at, o.acknowledged_at) AT TIME ZONE 'UTC',"
      " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM o",
      update);
  PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
  g_free(sql);
  int rc = cw_db_check(conn, res, PGRES_TUPLES_OK, err);
  if (rc == 0 && PQntuples(res) == 0)
    rc = cw_error_set(err, -ENOENT, "alert %" G_GINT64_FORMAT ": no such alert", alert_id);
  else if (rc == 0 && strcmp(PQgetvalue(res, 0, 1), "0") == 0)
    rc = cw_error_set(
        err, -EALREADY, "alert %" G_GINT64_FORMAT ": cannot %s an alert that is %s (by %s at %s)",
        alert_id, verb, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3));
  PQclear(res);
  return rc;
}

int
cw_alert_ack(PGconn *conn, gint64 alert_id, const char *actor, cw_error_t *err)
{
  if (!actor || !*actor)
    return cw_error_set(err, -EINVAL, "alert %" G_GINT64_FORMAT ": no actor", alert_id);
  char id[24];
  g_snprintf(id, sizeof id, "%" G_GINT64_FORMAT, alert_id);
  const char *params[] = {id, actor, "ack"};
  return alert_change(conn,
                      "UPDATE alerts SET state = 'acknowledged', acknowledged_by = $2,"
                      " acknowledged_at = now() FROM o"
                      " WHERE alerts.id = o.id AND o.state = 'open'",
                      params, 3, alert_id, "acknowledge", err);
}

int
cw_alert_resolve(PGconn *conn, gint64 alert_id, const char *actor, const char *note,
                 cw_error_t *err)
{
  if (!actor || !*actor)
    return cw_error_set(err, -EINVAL, "alert %" G_GINT64_FORMAT ": no actor", alert_id);
  if (!note || !*note)
    return cw_error_set(err, -EINVAL, "alert %" G_GINT64_FORMAT ": a resolution note is required",
                        alert_id);
  if (g_utf8_strlen(note, -1) > 2000)
    return cw_error_set(err, -EINVAL,
                        "alert %" G_GINT64_FORMAT ": the note is longer than 2000 characters",
                        alert_id);
  char id[24];
  g_snprintf(id, sizeof id, "%" G_GINT64_FORMAT, alert_id);
  const char *params[] = {id, actor, "resolve", note};
  return alert_change(conn,
                      "UPDATE alerts SET state = 'resolved', resolved_by = $2, resolved_at = now(),"
                      " resolution_note = $4 FROM o"
                      " WHERE alerts.id = o.id AND o.state <> 'resolved'",
                      params, 4, alert_id, "resolve", err);
}
