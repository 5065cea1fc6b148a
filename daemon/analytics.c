#include "analytics.h"

#include <string.h>

#include "log.h"

#define MOD "analytics"

struct cw_analytics {
  cw_analytics_pool_t *pool;
  cw_event_writer_t *events;
  cw_snapshotter_t *snapshots;
  char *node;
  double fps;
  gboolean keyframes_only;
  GMutex lock;          /* pool threads report concurrently */
  GHashTable *incidents; /* "camera/kind/incident" -> incident_t */
};

/* A lasting incident between its start and its end: its event's id and
 * start, so the end lands on the same row. */
typedef struct {
  char id[CW_EVENT_ID_LEN + 1];
  gint64 start_us;
  char *snapshot;
} incident_t;

static void
incident_free(gpointer p)
{
  incident_t *i = p;
  g_free(i->snapshot);
  g_free(i);
}

static void
submit(cw_analytics_t *a, const cw_event_t *ev)
{
  if (!cw_event_writer_submit(a->events, ev))
    cw_log_error(MOD, "camera %" G_GINT64_FORMAT ": %s event not accepted: the event queue is full",
                 ev->camera_id, ev->kind);
}

static void
on_event(void *opaque, gint64 camera_id, const cw_analytics_event_t *e, gint64 offset_us)
{
  cw_analytics_t *a = opaque;
  if (!a->events)
    return;
  cw_event_t ev = {
      .camera_id = camera_id,
      .kind = e->kind,
      .start_us = e->start_us + offset_us,
      .attributes = e->attributes,
  };
  /* Rules and picture health number their incidents each from 1. */
  char key[128];
  g_snprintf(key, sizeof key, "%" G_GINT64_FORMAT "/%s/%u", camera_id, e->kind, e->incident);
  g_mutex_lock(&a->lock);
  incident_t *open = e->incident ? g_hash_table_lookup(a->incidents, key) : NULL;
  char *snapshot = NULL;
  switch (e->phase) {
  case CW_PHASE_END:
    if (!open)
      break; /* its start came before this node ran: nothing to close */
    memcpy(ev.id, open->id, sizeof ev.id);
    ev.start_us = open->start_us;
    ev.end_us = MAX(e->ts_us + offset_us, open->start_us);
    ev.snapshot = open->snapshot;
    submit(a, &ev);
    g_hash_table_remove(a->incidents, key);
    break;
  case CW_PHASE_START:
  case CW_PHASE_INSTANT:
  case CW_PHASE_UPDATE:
    cw_event_new_id(ev.id);
    /* Counts come every minute from every camera: no pictures for them. */
    if (a->snapshots && e->phase != CW_PHASE_UPDATE && strcmp(e->kind, "traffic.count") != 0) {
      snapshot = cw_snapshot_relpath(camera_id, ev.start_us, ev.id);
      if (cw_snapshotter_request(a->snapshots, camera_id, snapshot))
        ev.snapshot = snapshot;
    }
    submit(a, &ev);
    if (e->phase == CW_PHASE_START) {
      incident_t *i = g_new0(incident_t, 1);
      memcpy(i->id, ev.id, sizeof i->id);
      i->start_us = ev.start_us;
      i->snapshot = g_strdup(ev.snapshot);
      g_hash_table_replace(a->incidents, g_strdup(key), i);
    }
    break;
  }
  g_mutex_unlock(&a->lock);
  g_free(snapshot);
}

cw_analytics_t *
cw_analytics_start(const cw_config_t *cfg, const char *node, cw_event_writer_t *events,
                   cw_snapshotter_t *snapshots, cw_error_t *err)
{
  if (!cw_config_get_bool(cfg, "analytics", "enabled"))
    return NULL;
  cw_analytics_t *a = g_new0(cw_analytics_t, 1);
  a->events = events;
  a->snapshots = snapshots;
  a->node = g_strdup(node);
  a->fps = cw_config_get_double(cfg, "analytics", "fps");
  a->keyframes_only = cw_config_get_bool(cfg, "analytics", "keyframes_only");
  g_mutex_init(&a->lock);
  a->incidents = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, incident_free);
  cw_analytics_pool_options_t o = {
      .threads = (guint)cw_config_get_int(cfg, "analytics", "threads"),
      .budget = cw_config_get_double(cfg, "analytics", "budget"),
      .emit = on_event,
      .emit_opaque = a,
  };
  a->pool = cw_analytics_pool_new(&o, err);
  if (!a->pool) {
    cw_analytics_stop(a);
    return NULL;
  }
  cw_log_info(MOD, "analytics pool: %u threads, budget %.0f%%", o.threads, o.budget * 100);
  return a;
}

cw_analytics_pool_t *
cw_analytics_pool(cw_analytics_t *a)
{
  return a ? a->pool : NULL;
}

void
cw_analytics_camera(cw_analytics_t *a, gint64 camera_id, const char *name, const char *config)
{
  cw_error_t err;
  if (cw_analytics_pool_set_camera(a->pool, camera_id, config, a->fps, a->keyframes_only, &err) ==
      0)
    return;
  cw_log_error(MOD, "camera %s: analytics configuration refused: %s; picture health only", name,
               err.msg);
  cw_analytics_pool_set_camera(a->pool, camera_id, NULL, a->fps, a->keyframes_only, NULL);
}

void
cw_analytics_forget(cw_analytics_t *a, gint64 camera_id)
{
  cw_analytics_pool_remove_camera(a->pool, camera_id);
}

void
cw_analytics_stop(cw_analytics_t *a)
{
  if (!a)
    return;
  cw_analytics_pool_free(a->pool);
  g_hash_table_destroy(a->incidents);
  g_mutex_clear(&a->lock);
  g_free(a->node);
  g_free(a);
}
