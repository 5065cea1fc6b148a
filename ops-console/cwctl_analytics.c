/* cwctl camera analytics: show, check and set a camera's analytics
 * configuration (the format is analytics/config.h's). A configuration is
 * checked by the same parser the node runs before it is stored, so a typo
 * is refused here, naming the file and the member, and never reaches a
 * node. */
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "camera_store.h"
#include "analytics_config.h"
#include "cwctl.h"

/* Reads FILE ('-' standard input) and checks it. *text new. */
static int
load_checked(const char *path, char **text, cw_analytics_config_t **cfg, cw_error_t *err)
{
  GError *gerr = NULL;
  gsize len = 0;
  gboolean ok;
  if (strcmp(path, "-") == 0) {
    GString *s = g_string_new(NULL);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, stdin)) > 0)
      g_string_append_len(s, buf, (gssize)n);
    len = s->len;
    *text = g_string_free(s, FALSE);
    ok = TRUE;
  } else {
    ok = g_file_get_contents(path, text, &len, &gerr);
  }
  if (!ok) {
    int rc = cw_error_set(err, -EIO, "%s", gerr->message);
    g_error_free(gerr);
    return rc;
  }
  if (strlen(*text) != len)
    return cw_error_set(err, -EINVAL, "%s: a NUL byte in the file", path);
  return cw_analytics_config_parse(*text, strcmp(path, "-") == 0 ? "standard input" : path, cfg,
                                   err);
}

int
cwctl_camera_analytics(cwctl_t *ctl, int argc, char **argv)
{
  char *set = NULL, *check = NULL, *actor = NULL, *text = NULL, *shown = NULL;
  GOptionEntry entries[] = {
      {"set", 0, 0, G_OPTION_ARG_FILENAME, &set, "Check FILE ('-': standard input) and store it",
       "FILE"},
      {"check", 0, 0, G_OPTION_ARG_FILENAME, &check,
       "Only check FILE; no camera, no database needed", "FILE"},
      G_OPTION_ENTRY_NULL};
  int rc = CWCTL_USAGE;
  cw_analytics_config_t *cfg = NULL;
  cw_error_t err;
  if (!cwctl_parse(ctl, &argc, &argv, "camera analytics CAMERA [--set FILE] | --check FILE",
                   entries, -1))
    goto out;
  if (check) {
    if (argc != 1 || set) {
      fprintf(stderr, "cwctl: camera analytics --check FILE takes no camera and no --set\n");
      goto out;
    }
    rc = load_checked(check, &text, &cfg, &err) < 0 ? cwctl_fail(&err) : CWCTL_OK;
    if (rc == CWCTL_OK)
      printf("%s: %u lines, %u lanes, %u zones: fine\n", check, cfg->lines->len, cfg->lanes->len,
             cfg->zones->len);
    goto out;
  }
  if (argc != 2) {
    fprintf(stderr, "cwctl: camera analytics needs one camera (a name or an id)\n");
    goto out;
  }
  rc = CWCTL_FAILED;
  if (set && load_checked(set, &text, &cfg, &err) < 0) {
    rc = cwctl_fail(&err);
    goto out;
  }
  PGconn *conn = cwctl_db(ctl);
  gint64 id = 0;
  if (!conn)
    goto out;
  if (cwctl_camera_id(conn, argv[1], &id, &err) < 0) {
    rc = cwctl_fail(&err);
    goto out;
  }
  if (set) {
    actor = cw_audit_cli_actor();
    if (cw_camera_store_set_analytics(conn, id, text, actor, &err) < 0) {
      rc = cwctl_fail(&err);
      goto out;
    }
    printf("camera %" G_GINT64_FORMAT ": analytics set: %u lines, %u lanes, %u zones\n", id,
           cfg->lines->len, cfg->lanes->len, cfg->zones->len);
  } else {
    if (cw_camera_store_get_analytics(conn, id, &shown, &err) < 0) {
      rc = cwctl_fail(&err);
      goto out;
    }
    printf("%s\n", shown);
  }
  rc = CWCTL_OK;
out:
  cw_analytics_config_free(cfg);
  g_free(shown);
  g_free(text);
  g_free(actor);
  g_free(set);
  g_free(check);
  return rc;
}
