#include "snapshots.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "log.h"

#define MOD "snapshots"
#define PRUNE_EVERY_MS (3600 * 1000) /* days are what is kept: hourly is plenty */

struct cw_snapshots {
  cw_snapshotter_t *snapshotter;
  char *root;
  guint days;
  uv_timer_t timer;
  uv_work_t work;
  gboolean pruning; /* a pass is on the thread pool: never two at once */
  int pruned;
  cw_error_t err;
};

static void
on_done(void *opaque, gint64 camera_id, const char *relpath, const char *error)
{
  if (error)
    cw_log_warn(MOD, "camera %" G_GINT64_FORMAT ": no snapshot %s: %s", camera_id, relpath, error);
}

/* On the thread pool: a pass walks the whole tree. */
static void
prune_work(uv_work_t *w)
{
  cw_snapshots_t *s = w->data;
  gint64 before = g_get_real_time() - (gint64)s->days * 86400 * G_USEC_PER_SEC;
  s->pruned = cw_snapshot_prune(s->root, before, &s->err);
}

static void
prune_done(uv_work_t *w, int status)
{
  cw_snapshots_t *s = w->data;
  s->pruning = FALSE;
  if (status == 0 && s->pruned < 0)
    cw_log_warn(MOD, "pruning %s: %s", s->root, s->err.msg);
  else if (status == 0 && s->pruned > 0)
    cw_log_info(MOD, "removed %d snapshots older than %u days", s->pruned, s->days);
}

static void
on_timer(uv_timer_t *t)
{
  cw_snapshots_t *s = t->data;
  if (s->pruning)
    return;
  s->pruning = TRUE;
  s->work.data = s;
  if (uv_queue_work(t->loop, &s->work, prune_work, prune_done) < 0)
    s->pruning = FALSE;
}

cw_snapshots_t *
cw_snapshots_start(uv_loop_t *loop, const cw_config_t *cfg, cw_error_t *err)
{
  const char *root = cw_config_get_string(cfg, "events", "snapshot_dir");
  if (!*root) {
    cw_error_set(err, -EINVAL, "[events] snapshot_dir: empty");
    return NULL;
  }
  if (g_mkdir_with_parents(root, 0750) < 0 || access(root, W_OK) < 0) {
    cw_error_set(err, -errno, "[events] snapshot_dir: cannot write %s: %s", root,
                 g_strerror(errno));
    return NULL;
  }
  cw_snapshotter_options_t o = {
      .root = root,
      .max_width = (guint)cw_config_get_int(cfg, "events", "snapshot_width"),
      .done = on_done,
  };
  cw_snapshotter_t *snap = cw_snapshotter_new(&o, err);
  if (!snap)
    return NULL;
  cw_snapshots_t *s = g_new0(cw_snapshots_t, 1);
  s->snapshotter = snap;
  s->root = g_strdup(root);
  s->days = (guint)cw_config_get_int(cfg, "events", "snapshot_days");
  uv_timer_init(loop, &s->timer);
  s->timer.data = s;
  /* A first pass soon after start, then hourly. */
  uv_timer_start(&s->timer, on_timer, 5000, PRUNE_EVERY_MS);
  return s;
}

cw_snapshotter_t *
cw_snapshots_snapshotter(cw_snapshots_t *s)
{
  return s ? s->snapshotter : NULL;
}

void
cw_snapshots_stop(cw_snapshots_t *s)
{
  if (!s)
    return;
  uv_timer_stop(&s->timer);
  cw_snapshotter_free(s->snapshotter);
  s->snapshotter = NULL;
}

void
cw_snapshots_free(cw_snapshots_t *s)
{
  if (!s)
    return;
  g_free(s->root);
  g_free(s);
}
