/* cwctl status: the fleet at a glance. */
#include <stdio.h>
#include <string.h>

#include "camera_store.h"
#include "cwctl.h"

/* Health older than this means the node pulling the camera is not
 * reporting: its figures are not to be trusted. */
#define STALE_S 30

int
cwctl_status(cwctl_t *ctl, int argc, char **argv)
{
  gboolean json = FALSE;
  GOptionEntry entries[] = {{"json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL},
                            G_OPTION_ENTRY_NULL};
  if (!cwctl_parse(ctl, &argc, &argv, "status [--json]", entries, 0))
    return CWCTL_USAGE;
  PGconn *conn = cwctl_db(ctl);
  if (!conn)
    return CWCTL_FAILED;
  GArray *counts = NULL;
  gint64 total = 0, stale = 0;
  char *text = NULL;
  cw_error_t err;
  if (cw_camera_store_status(conn, STALE_S, &counts, &total, &stale, &text, &err) < 0)
    return cwctl_fail(&err);
  if (json) {
    GPtrArray *one = g_ptr_array_new();
    g_ptr_array_add(one, text);
    cwctl_print_json(one, TRUE);
    g_ptr_array_free(one, TRUE);
  } else {
    printf("cameras: %" G_GINT64_FORMAT "\n", total);
    for (guint i = 0; i < counts->len; i++) {
      cw_state_count_t *c = &g_array_index(counts, cw_state_count_t, i);
      printf("  %-12s %" G_GINT64_FORMAT "\n", c->state, c->count);
    }
    if (stale > 0)
      printf("warning: %" G_GINT64_FORMAT " camera%s last reported more than %d s ago (is "
             "their node running?)\n",
             stale, stale == 1 ? "" : "s", STALE_S);
  }
  for (guint i = 0; i < counts->len; i++)
    g_free(g_array_index(counts, cw_state_count_t, i).state);
  g_array_free(counts, TRUE);
  g_free(text);
  return CWCTL_OK;
}
