/* cwctl: the engineers' and administrators' command-line tool.
 * Parses the command, loads the configuration, and hands over to the
 * command file of the group (cwctl_camera.c, cwctl_user.c, ...). */
#include "cwctl.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "db.h"
#include "log.h"

static const char usage_text[] =
    "usage: cwctl [-c FILE] [--db CONNINFO] GROUP VERB [OPTIONS] [ARGS]\n"
    "\n"
    "  db migrate                      apply pending schema migrations\n"
    "  camera add|list|show|edit|rm|enable|disable|import\n"
    "  user add|list\n"
    "  footage find|export|verify|hold|release|retention\n"
    "  alerts list|ack|resolve\n"
    "  audit verify                    check the audit log's hash chain\n"
    "  status                          cameras by state\n"
    "\n"
    "The database is found as libpq finds it (PG* variables), or by --db, or by\n"
    "[database] conninfo in the config file. `cwctl GROUP VERB --help` for more.\n";

static const GOptionEntry global_entries[] = {
    {"config", 'c', 0, G_OPTION_ARG_FILENAME, NULL, "Configuration file (INI)", "FILE"},
    {"db", 0, 0, G_OPTION_ARG_STRING, NULL, "libpq connection string or URI", "CONNINFO"},
    G_OPTION_ENTRY_NULL};

int
cwctl_fail(const cw_error_t *err)
{
  fprintf(stderr, "cwctl: %s\n", err->msg);
  return CWCTL_FAILED;
}

PGconn *
cwctl_db(cwctl_t *ctl)
{
  if (ctl->conn)
    return ctl->conn;
  const char *conninfo = ctl->db;
  if (!conninfo && ctl->cfg)
    conninfo = cw_config_get_string(ctl->cfg, "database", "conninfo");
  cw_error_t err;
  ctl->conn = cw_db_connect(conninfo, "cwctl", &err);
  if (!ctl->conn)
    cwctl_fail(&err);
  return ctl->conn;
}

gboolean
cwctl_parse(cwctl_t *ctl, int *argc, char ***argv, const char *usage, const GOptionEntry *entries,
            int positional)
{
  GOptionContext *oc = g_option_context_new(usage);
  GOptionEntry globals[G_N_ELEMENTS(global_entries)];
  memcpy(globals, global_entries, sizeof globals);
  globals[0].arg_data = &ctl->config_path;
  globals[1].arg_data = &ctl->db;
  g_option_context_add_main_entries(oc, globals, NULL);
  if (entries)
    g_option_context_add_main_entries(oc, entries, NULL);
  GError *gerr = NULL;
  gboolean ok = g_option_context_parse(oc, argc, argv, &gerr);
  if (!ok) {
    fprintf(stderr, "cwctl: %s\n", gerr->message);
    g_clear_error(&gerr);
  } else if (positional >= 0 && *argc - 1 != positional) {
    fprintf(stderr, "cwctl: expected %d argument%s: %s\n", positional, positional == 1 ? "" : "s",
            usage);
    ok = FALSE;
  }
  g_option_context_free(oc);
  if (ok && !ctl->cfg) {
    cw_error_t err;
    if (cw_config_load(ctl->config_path, &ctl->cfg, &err) < 0) {
      cwctl_fail(&err);
      ctl->config_failed = TRUE;
      ok = FALSE;
    }
  }
  return ok;
}

void
cwctl_print_json(GPtrArray *texts, gboolean single)
{
  JsonArray *array = json_array_new();
  for (guint i = 0; i < texts->len; i++) {
    JsonNode *node = json_from_string(texts->pdata[i], NULL);
    if (node)
      json_array_add_element(array, node);
  }
  JsonNode *root = json_node_new(JSON_NODE_ARRAY);
  json_node_take_array(root, array);
  JsonNode *out = single && texts->len == 1 ? json_array_get_element(array, 0) : root;
  char *text = json_to_string(out, TRUE);
  printf("%s\n", text);
  g_free(text);
  json_node_unref(root);
}

/* Global options may come before GROUP VERB (`cwctl -c FILE db migrate`);
 * find the two words, skipping option values. */
static gboolean
find_command(int argc, char **argv, int *group, int *verb)
{
  *group = *verb = -1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0)
      break;
    if (a[0] == '-') {
      if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0 || strcmp(a, "--db") == 0)
        i++;
      continue;
    }
    if (*group < 0) {
      *group = i;
    } else {
      *verb = i;
      return TRUE;
    }
  }
  return FALSE;
}

int
main(int argc, char **argv)
{
  setlocale(LC_ALL, "");
  int group_i, verb_i;
  if (argc >= 2 &&
      (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help"))) {
    fputs(usage_text, stdout);
    return CWCTL_OK;
  }
  find_command(argc, argv, &group_i, &verb_i);
  /* `status` is the one command without a verb. */
  if (group_i >= 0 && strcmp(argv[group_i], "status") == 0)
    verb_i = -1;
  else if (verb_i < 0) {
    fputs(usage_text, stderr);
    return CWCTL_USAGE;
  }
  const char *group = argv[group_i], *verb = verb_i >= 0 ? argv[verb_i] : NULL;
  /* What remains for the verb's option parser: argv[0] and everything but
   * the two command words. */
  char **rest = g_new0(char *, argc + 1);
  int n = 0;
  for (int i = 0; i < argc; i++)
    if (i != group_i && i != verb_i)
      rest[n++] = argv[i];
  char **rest_owned = rest; /* g_option_context_parse permutes the array */

  cwctl_t ctl = {0};
  int rc;
  if (strcmp(group, "status") == 0)
    rc = cwctl_status(&ctl, n, rest);
  else if (strcmp(group, "camera") == 0)
    rc = cwctl_camera(&ctl, verb, n, rest);
  else if (strcmp(group, "user") == 0)
    rc = cwctl_user(&ctl, verb, n, rest);
  else if (strcmp(group, "db") == 0)
    rc = cwctl_db_cmd(&ctl, verb, n, rest);
  else if (strcmp(group, "alerts") == 0)
    rc = cwctl_alerts(&ctl, verb, n, rest);
  else if (strcmp(group, "footage") == 0)
    rc = cwctl_footage(&ctl, verb, n, rest);
  else if (strcmp(group, "audit") == 0)
    rc = cwctl_audit(&ctl, verb, n, rest);
  else {
    fprintf(stderr, "cwctl: unknown command group '%s'\n%s", group, usage_text);
    rc = CWCTL_USAGE;
  }
  if (ctl.config_failed)
    rc = CWCTL_FAILED;
  if (ctl.conn)
    PQfinish(ctl.conn);
  cw_config_free(ctl.cfg);
  g_free(ctl.config_path);
  g_free(ctl.db);
  g_free(rest_owned);
  return rc;
}
