/* cwctl alerts list|ack|resolve (alerts are described in storage/EVENTS.md). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "audit.h"
#include "cwctl.h"
#include "event_store.h"
#include "timeutil.h"

#define LIST_DEFAULT_LIMIT 100

/* What the command line alone can get wrong is exit 2 (usage). */
static gboolean
parse_alert_id(const char *text, gint64 *id)
{
  guint64 v = 0;
  if (g_ascii_string_to_unsigned(text, 10, 1, G_MAXINT64, &v, NULL)) {
    *id = (gint64)v;
    return TRUE;
  }
  char *quoted = cw_error_quote(text);
  fprintf(stderr, "cwctl: ID: '%s' is not an alert id (a positive number)\n", quoted);
  g_free(quoted);
  return FALSE;
}

/* ---- list -------------------------------------------------------------- */

static const char *
member_string(JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member(o, name);
  return n && JSON_NODE_HOLDS_VALUE(n) ? json_node_get_string(n) : NULL;
}

/* A timestamptz from the database as "2026-11-29T06:37:00Z": seconds are
 * what a person scans a table for. */
static char *
short_time(const char *text)
{
  gint64 us = 0;
  if (!text || cw_time_parse(text, &us, NULL) < 0)
    return g_strdup(text ? text : "-");
  GDateTime *dt = g_date_time_new_from_unix_utc(us / G_USEC_PER_SEC);
  char *s = dt ? g_date_time_format(dt, "%Y-%m-%dT%H:%M:%SZ") : g_strdup(text);
  if (dt)
    g_date_time_unref(dt);
  return s;
}

static void
print_alert_row(const char *json)
{
  JsonNode *root = json_from_string(json, NULL);
  if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
    if (root)
      json_node_unref(root);
    return;
  }
  JsonObject *o = json_node_get_object(root);
  char camera[96];
  const char *name = member_string(o, "camera_name");
  if (json_object_get_null_member(o, "camera_id"))
    g_snprintf(camera, sizeof camera, "node %s", member_string(o, "node"));
  else if (name)
    g_snprintf(camera, sizeof camera, "%" G_GINT64_FORMAT " %s",
               json_object_get_int_member(o, "camera_id"), name);
  else
    g_snprintf(camera, sizeof camera, "%" G_GINT64_FORMAT,
               json_object_get_int_member(o, "camera_id"));
  char *opened = short_time(member_string(o, "opened_at"));
  char *last = short_time(member_string(o, "last_event_at"));
  printf("%-6" G_GINT64_FORMAT " %-12s %-8s %-24s %-26s %-20s %-20s %6" G_GINT64_FORMAT "\n",
         json_object_get_int_member(o, "id"), member_string(o, "state"),
         member_string(o, "severity"), camera, member_string(o, "kind"), opened, last,
         json_object_get_int_member(o, "events"));
  g_free(opened);
  g_free(last);
  json_node_unref(root);
}

typedef struct {
  char *state, *kind, *camera;
  int limit;
  gboolean json;
} list_flags_t;

static gboolean
check_list_flags(list_flags_t *f, const char **state)
{
  static const char *const states[] = {"open", "acknowledged", "resolved", "unresolved", "all"};
  *state = f->state ? f->state : "unresolved";
  gboolean known = FALSE;
  for (guint i = 0; i < G_N_ELEMENTS(states); i++)
    known = known || strcmp(*state, states[i]) == 0;
  if (!known) {
    char *quoted = cw_error_quote(*state);
    fprintf(stderr, "cwctl: --state: '%s' is not open, acknowledged, resolved, unresolved or all\n",
            quoted);
    g_free(quoted);
    return FALSE;
  }
  if (strcmp(*state, "all") == 0)
    *state = NULL;
  if (f->limit < 1 || f->limit > 100000) {
    fprintf(stderr, "cwctl: --limit: must be 1..100000, not %d\n", f->limit);
    return FALSE;
  }
  if (f->kind && !*f->kind) {
    fprintf(stderr, "cwctl: --kind: empty\n");
    return FALSE;
  }
  return TRUE;
}

static int
cmd_list(cwctl_t *ctl, int argc, char **argv)
{
  list_flags_t f = {.limit = LIST_DEFAULT_LIMIT};
  GOptionEntry entries[] = {
      {"state", 0, 0, G_OPTION_ARG_STRING, &f.state,
       "open, acknowledged, resolved, unresolved (the default: open or acknowledged) or all", "S"},
      {"kind", 0, 0, G_OPTION_ARG_STRING, &f.kind, "Only alerts of this event kind", "K"},
      {"camera", 0, 0, G_OPTION_ARG_STRING, &f.camera, "Camera id or name", "N"},
      {"limit", 0, 0, G_OPTION_ARG_INT, &f.limit, "At most this many, newest first (100)", "N"},
      {"json", 0, 0, G_OPTION_ARG_NONE, &f.json, "Print JSON", NULL},
      G_OPTION_ENTRY_NULL};
  int rc = CWCTL_USAGE;
  const char *state = NULL;
  GPtrArray *alerts = NULL;
  cw_error_t err;
  if (!cwctl_parse(ctl, &argc, &argv,
                   "alerts list [--state S] [--kind K] [--camera N] [--limit N] [--json]", entries,
                   0) ||
      !check_list_flags(&f, &state))
    goto out;
  rc = CWCTL_FAILED;
  PGconn *conn = cwctl_db(ctl);
  gint64 camera_id = 0;
  if (!conn)
    goto out;
  if ((f.camera && cwctl_camera_id(conn, f.camera, &camera_id, &err) < 0) ||
      cw_alerts_list(conn, state, f.kind, camera_id, (guint)f.limit, &alerts, &err) < 0) {
    rc = cwctl_fail(&err);
    goto out;
  }
  if (f.json) {
    cwctl_print_json(alerts, FALSE);
  } else {
    printf("%-6s %-12s %-8s %-24s %-26s %-20s %-20s %6s\n", "ID", "STATE", "SEVERITY", "CAMERA",
           "KIND", "OPENED", "LAST EVENT", "EVENTS");
    for (guint i = 0; i < alerts->len; i++)
      print_alert_row(alerts->pdata[i]);
  }
  rc = CWCTL_OK;
out:
  if (alerts)
    g_ptr_array_free(alerts, TRUE);
  g_free(f.state);
  g_free(f.kind);
  g_free(f.camera);
  return rc;
}

/* ---- ack and resolve --------------------------------------------------- */

static int
cmd_ack_or_resolve(cwctl_t *ctl, gboolean ack, int argc, char **argv)
{
  char *note = NULL;
  GOptionEntry entries[] = {
      {"note", 0, 0, G_OPTION_ARG_STRING, &note, "What was done or found (required)", "TEXT"},
      G_OPTION_ENTRY_NULL};
  int rc = CWCTL_USAGE;
  char *actor = NULL;
  gint64 id = 0;
  cw_error_t err;
  if (!cwctl_parse(ctl, &argc, &argv, ack ? "alerts ack ID" : "alerts resolve ID --note TEXT",
                   ack ? NULL : entries, 1) ||
      !parse_alert_id(argv[1], &id))
    goto out;
  if (!ack && (!note || !*note)) {
    fprintf(stderr, "cwctl: --note: required (what was done or found)\n");
    goto out;
  }
  rc = CWCTL_FAILED;
  PGconn *conn = cwctl_db(ctl);
  if (!conn)
    goto out;
  actor = cw_audit_cli_actor();
  if ((ack ? cw_alert_ack(conn, id, actor, &err) : cw_alert_resolve(conn, id, actor, note, &err)) <
      0) {
    rc = cwctl_fail(&err);
    goto out;
  }
  printf("alert %" G_GINT64_FORMAT " %s by %s\n", id, ack ? "acknowledged" : "resolved", actor);
  rc = CWCTL_OK;
out:
  g_free(actor);
  g_free(note);
  return rc;
}

int
cwctl_alerts(cwctl_t *ctl, const char *verb, int argc, char **argv)
{
  if (!verb) {
    fprintf(stderr, "cwctl: alerts: missing command (list, ack, resolve)\n");
    return CWCTL_USAGE;
  }
  if (strcmp(verb, "list") == 0)
    return cmd_list(ctl, argc, argv);
  if (strcmp(verb, "ack") == 0 || strcmp(verb, "resolve") == 0)
    return cmd_ack_or_resolve(ctl, verb[0] == 'a', argc, argv);
  fprintf(stderr, "cwctl: unknown alerts command '%s' (list, ack, resolve)\n", verb);
  return CWCTL_USAGE;
}
