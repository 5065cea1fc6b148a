/* cwctl footage find|hold|release|retention; export and verify are in
 * cwctl_export.c. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "camera_store.h"
#include "cwctl.h"
#include "footage.h"
#include "timeutil.h"

typedef struct {
  char *camera, *from, *to, *case_id, *days;
  gboolean json;
  gint64 from_us, to_us;
} footage_flags_t;

static void
footage_flags_clear(footage_flags_t *f)
{
  g_free(f->camera);
  g_free(f->from);
  g_free(f->to);
  g_free(f->case_id);
  g_free(f->days);
}

#define ENTRY_CAMERA(f)                                                                            \
  {                                                                                                \
    "camera", 0, 0, G_OPTION_ARG_STRING, &(f).camera, "Camera id or name", "N"                     \
  }
#define ENTRY_FROM(f)                                                                              \
  {                                                                                                \
    "from", 0, 0, G_OPTION_ARG_STRING, &(f).from, "Start, ISO 8601 with a zone", "T"               \
  }
#define ENTRY_TO(f)                                                                                \
  {                                                                                                \
    "to", 0, 0, G_OPTION_ARG_STRING, &(f).to, "End (exclusive), ISO 8601 with a zone", "T"         \
  }
#define ENTRY_CASE(f)                                                                              \
  {                                                                                                \
    "case", 0, 0, G_OPTION_ARG_STRING, &(f).case_id, "Case reference", "CASE"                      \
  }

static gboolean
need(const char *flag, const char *value)
{
  if (value && *value)
    return TRUE;
  fprintf(stderr, "cwctl: %s: required\n", flag);
  return FALSE;
}

/* What the command line alone can get wrong: exit 2. */
static gboolean
check_range(footage_flags_t *f)
{
  if (!need("--camera", f->camera) || !need("--from", f->from) || !need("--to", f->to))
    return FALSE;
  cw_error_t err;
  if (cw_time_parse(f->from, &f->from_us, &err) < 0) {
    fprintf(stderr, "cwctl: --from: %s\n", err.msg);
    return FALSE;
  }
  if (cw_time_parse(f->to, &f->to_us, &err) < 0) {
    fprintf(stderr, "cwctl: --to: %s\n", err.msg);
    return FALSE;
  }
  if (f->from_us >= f->to_us) {
    fprintf(stderr, "cwctl: --to: must be after --from\n");
    return FALSE;
  }
  return TRUE;
}

int
cwctl_camera_id(PGconn *conn, const char *text, gint64 *id, cw_error_t *err)
{
  guint64 v = 0;
  if (g_ascii_string_to_unsigned(text, 10, 1, G_MAXINT64, &v, NULL)) {
    *id = (gint64)v;
    return 0;
  }
  cw_camera_t *cam = NULL;
  int rc = cw_camera_store_get(conn, text, &cam, err);
  if (rc < 0) {
    cw_error_prefix(err, "--camera");
    return rc;
  }
  *id = cam->id;
  cw_camera_free(cam);
  return 0;
}

/* ---- find -------------------------------------------------------------- */

static void
print_gap(const cw_time_range_t *g)
{
  char *from = cw_time_format(g->from_us), *to = cw_time_format(g->to_us);
  printf("GAP      %s  %s  %9.1f s%s\n", from, to, (double)(g->to_us - g->from_us) / G_USEC_PER_SEC,
         g->open ? "  (recording now: the newest part is in the segment still open)" : "");
  g_free(from);
  g_free(to);
}

static void
print_segment(const cw_segment_row_t *r)
{
  char *from = cw_time_format(r->info.start_us), *to = cw_time_format(r->info.end_us);
  char size[32] = "-";
  if (r->info.width > 0 && r->info.height > 0)
    g_snprintf(size, sizeof size, "%dx%d", r->info.width, r->info.height);
  printf("SEGMENT  %s  %s  %9.1f s  %s %-9s %12" G_GINT64_FORMAT " B  %s  %s%s\n", from, to,
         (double)(r->info.end_us - r->info.start_us) / G_USEC_PER_SEC, cw_codec_name(r->info.codec),
         size, r->info.bytes, r->node, r->info.path, r->info.repaired ? "  (repaired)" : "");
  g_free(from);
  g_free(to);
}

/* Segments and gaps, merged in time order, then one summary line. */
static void
print_footage(const cw_footage_t *f)
{
  char *from = cw_time_format(f->from_us), *to = cw_time_format(f->to_us);
  printf("camera %" G_GINT64_FORMAT ", %s .. %s\n", f->camera_id, from, to);
  guint s = 0, g = 0;
  while (s < f->segments->len || g < f->gaps->len) {
    const cw_segment_row_t *r = s < f->segments->len ? f->segments->pdata[s] : NULL;
    const cw_time_range_t *gap =
        g < f->gaps->len ? &g_array_index(f->gaps, cw_time_range_t, g) : NULL;
    if (gap && (!r || gap->from_us <= r->info.start_us)) {
      print_gap(gap);
      g++;
    } else {
      print_segment(r);
      s++;
    }
  }
  double span = (double)(f->to_us - f->from_us) / G_USEC_PER_SEC;
  double covered = (double)f->covered_us / G_USEC_PER_SEC;
  gint64 gap_us = 0;
  for (guint i = 0; i < f->gaps->len; i++) {
    const cw_time_range_t *gr = &g_array_index(f->gaps, cw_time_range_t, i);
    gap_us += gr->to_us - gr->from_us;
  }
  printf("covered %.1f s of %.1f s (%.1f%%) in %u segment%s; %u gap%s, %.1f s\n", covered, span,
         100.0 * covered / span, f->segments->len, f->segments->len == 1 ? "" : "s", f->gaps->len,
         f->gaps->len == 1 ? "" : "s", (double)gap_us / G_USEC_PER_SEC);
  g_free(from);
  g_free(to);
}

static int
cmd_find(cwctl_t *ctl, int argc, char **argv)
{
  footage_flags_t f = {0};
  GOptionEntry entries[] = {ENTRY_CAMERA(f),
                            ENTRY_FROM(f),
                            ENTRY_TO(f),
                            {"json", 0, 0, G_OPTION_ARG_NONE, &f.json, "Print JSON", NULL},
                            G_OPTION_ENTRY_NULL};
  int rc = CWCTL_USAGE;
  cw_footage_t *footage = NULL;
  cw_error_t err;
  if (!cwctl_parse(ctl, &argc, &argv, "footage find --camera N --from T --to T [--json]", entries,
                   0) ||
      !check_range(&f))
    goto out;
  rc = CWCTL_FAILED;
  PGconn *conn = cwctl_db(ctl);
  gint64 id = 0;
  if (!conn)
    goto out;
  if (cwctl_camera_id(conn, f.camera, &id, &err) < 0 ||
      cw_footage_find(conn, id, f.from_us, f.to_us, &footage, &err) < 0) {
    rc = cwctl_fail(&err);
    goto out;
  }
  if (f.json) {
    char *text = cw_footage_to_json(footage);
    GPtrArray *texts = g_ptr_array_new();
    g_ptr_array_add(texts, text);
    cwctl_print_json(texts, TRUE);
    g_ptr_array_free(texts, TRUE);
    g_free(text);
  } else {
    print_footage(footage);
  }
  rc = CWCTL_OK;
out:
  cw_footage_free(footage);
  footage_flags_clear(&f);
  return rc;
}

/* ---- hold and release -------------------------------------------------- */

static int
cmd_hold_or_release(cwctl_t *ctl, gboolean hold, int argc, char **argv)
{
  footage_flags_t f = {0};
  GOptionEntry entries[] = {ENTRY_CAMERA(f), ENTRY_FROM(f), ENTRY_TO(f), ENTRY_CASE(f),
                            G_OPTION_ENTRY_NULL};
  int rc = CWCTL_USAGE;
  char *actor = NULL;
  cw_error_t err;
  if (!cwctl_parse(ctl, &argc, &argv,
                   hold ? "footage hold --camera N --from T --to T --case CASE"
                        : "footage release --camera N --from T --to T --case CASE",
                   entries, 0) ||
      !check_range(&f) || !need("--case", f.case_id))
    goto out;
  rc = CWCTL_FAILED;
  PGconn *conn = cwctl_db(ctl);
  gint64 id = 0, hold_id = 0;
  guint released = 0;
  if (!conn)
    goto out;
  actor = cw_audit_cli_actor();
  if (cwctl_camera_id(conn, f.camera, &id, &err) < 0 ||
      (hold ? cw_footage_hold(conn, id, f.from_us, f.to_us, f.case_id, actor, &hold_id, &err)
            : cw_footage_release(conn, id, f.from_us, f.to_us, f.case_id, actor, &released, &err)) <
          0) {
    rc = cwctl_fail(&err);
    goto out;
  }
  char *from = cw_time_format(f.from_us), *to = cw_time_format(f.to_us);
  if (hold)
    printf("held camera %" G_GINT64_FORMAT " %s .. %s for case %s (hold %" G_GINT64_FORMAT ")\n",
           id, from, to, f.case_id, hold_id);
  else
    printf("released %u hold%s of case %s on camera %" G_GINT64_FORMAT " inside %s .. %s\n",
           released, released == 1 ? "" : "s", f.case_id, id, from, to);
  g_free(from);
  g_free(to);
  rc = CWCTL_OK;
out:
  g_free(actor);
  footage_flags_clear(&f);
  return rc;
}

/* ---- retention ---------------------------------------------------------- */

static gboolean
parse_days(const char *text, int *days)
{
  guint64 v = 0;
  if (strcmp(text, "default") == 0) {
    *days = 0;
    return TRUE;
  }
  if (!g_ascii_string_to_unsigned(text, 10, 1, 3650, &v, NULL)) {
    char *quoted = cw_error_quote(text);
    fprintf(stderr, "cwctl: --days: '%s' is not a number of days from 1 to 3650 or 'default'\n",
            quoted);
    g_free(quoted);
    return FALSE;
  }
  *days = (int)v;
  return TRUE;
}

static int
cmd_retention(cwctl_t *ctl, int argc, char **argv)
{
  footage_flags_t f = {0};
  GOptionEntry entries[] = {ENTRY_CAMERA(f),
                            {"days", 0, 0, G_OPTION_ARG_STRING, &f.days,
                             "Days of footage kept, 1..3650, or 'default' for the node's",
                             "D|default"},
                            G_OPTION_ENTRY_NULL};
  int rc = CWCTL_USAGE;
  char *actor = NULL;
  int days = 0;
  cw_error_t err;
  if (!cwctl_parse(ctl, &argc, &argv, "footage retention --camera N --days D|default", entries,
                   0) ||
      !need("--camera", f.camera) || !need("--days", f.days) || !parse_days(f.days, &days))
    goto out;
  rc = CWCTL_FAILED;
  PGconn *conn = cwctl_db(ctl);
  gint64 id = 0;
  if (!conn)
    goto out;
  actor = cw_audit_cli_actor();
  if (cwctl_camera_id(conn, f.camera, &id, &err) < 0 ||
      cw_footage_set_retention(conn, id, days, actor, &err) < 0) {
    rc = cwctl_fail(&err);
    goto out;
  }
  if (days)
    printf("camera %" G_GINT64_FORMAT ": footage kept %d day%s\n", id, days, days == 1 ? "" : "s");
  else
    printf("camera %" G_GINT64_FORMAT ": footage kept for the node's default "
           "([recording] retention_days)\n",
           id);
  rc = CWCTL_OK;
out:
  g_free(actor);
  footage_flags_clear(&f);
  return rc;
}

int
cwctl_footage(cwctl_t *ctl, const char *verb, int argc, char **argv)
{
  if (strcmp(verb, "find") == 0)
    return cmd_find(ctl, argc, argv);
  if (strcmp(verb, "hold") == 0 || strcmp(verb, "release") == 0)
    return cmd_hold_or_release(ctl, verb[0] == 'h', argc, argv);
  if (strcmp(verb, "retention") == 0)
    return cmd_retention(ctl, argc, argv);
  if (strcmp(verb, "export") == 0)
    return cwctl_footage_export(ctl, argc, argv);
  if (strcmp(verb, "verify") == 0)
    return cwctl_footage_verify(ctl, argc, argv);
  fprintf(stderr,
          "cwctl: unknown footage command '%s' (find, export, verify, hold, release, "
          "retention)\n",
          verb);
  return CWCTL_USAGE;
}
