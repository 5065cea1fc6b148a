/* The analytics pool (analytics/pool.h) fed access units as ingest would:
 * cameras analysed on the pool's threads with their events reported, a
 * refused configuration naming its member, removal; and the budget: with
 * a budget far below what the cameras cost, the pool lowers every
 * camera's rate, then puts cameras on keyframes only in turn, and counts
 * what it skipped, while the feeding thread goes on unblocked. */
#include <string.h>

#include <gst/gst.h>

#include "pool.h"
#include "test_clip.h"

#define FPS 25
#define GOP 25

static char *work_dir;
static cw_test_clip_t *clip;

typedef struct {
  GMutex lock;
  guint events, counts;
} seen_t;

static void
on_event(void *opaque, gint64 camera_id, const cw_analytics_event_t *ev, gint64 offset_us)
{
  seen_t *s = opaque;
  g_mutex_lock(&s->lock);
  s->events++;
  if (strcmp(ev->kind, "traffic.count") == 0)
    s->counts++;
  g_mutex_unlock(&s->lock);
}

/* Feeds n cameras (ids 1..n) seconds of the clip at its frame rate. */
static void
feed(cw_analytics_pool_t *p, guint n, double seconds)
{
  guint frames = (guint)(seconds * FPS);
  gint64 t0 = g_get_monotonic_time();
  for (guint f = 0; f < frames; f++) {
    for (guint c = 1; c <= n; c++) {
      cw_access_unit_t *au = cw_test_clip_unit(clip, f, c);
      au->wallclock_us = g_get_real_time();
      cw_analytics_pool_push(p, au);
      cw_access_unit_unref(au);
    }
    gint64 due = t0 + (gint64)(f + 1) * G_USEC_PER_SEC / FPS;
    gint64 now = g_get_monotonic_time();
    if (due > now)
      g_usleep((gulong)(due - now));
  }
}

static const cw_analytics_camera_stats_t *
stats_of(GArray *st, gint64 id)
{
  for (guint i = 0; i < st->len; i++)
    if (g_array_index(st, cw_analytics_camera_stats_t, i).camera_id == id)
      return &g_array_index(st, cw_analytics_camera_stats_t, i);
  return NULL;
}

static void
test_analyses(void)
{
  seen_t seen = {0};
  g_mutex_init(&seen.lock);
  cw_analytics_pool_options_t o = {.threads = 2, .emit = on_event, .emit_opaque = &seen};
  cw_error_t err;
  cw_analytics_pool_t *p = cw_analytics_pool_new(&o, &err);
  g_assert_nonnull(p);
  /* A counting line every second: the per-interval counts show the
   * cameras are analysed, whatever crosses the line. */
  const char *cfg = "{\"lines\": [{\"id\": \"L1\", \"from\": [0.5, 0.0], \"to\": [0.5, 1.0]}],"
                    " \"thresholds\": {\"count_interval_s\": 1}}";
  for (gint64 id = 1; id <= 3; id++)
    g_assert_cmpint(cw_analytics_pool_set_camera(p, id, cfg, 5, FALSE, &err), ==, 0);
  g_assert_cmpint(cw_analytics_pool_set_camera(p, 4, "{\"zones\": [{}]}", 5, FALSE, &err), <, 0);
  g_assert_nonnull(strstr(err.msg, "camera 4: zones[0]"));
  feed(p, 4, 3.0);
  GArray *st = cw_analytics_pool_stats(p);
  g_assert_cmpuint(st->len, ==, 3); /* camera 4 was refused, so not analysed */
  for (gint64 id = 1; id <= 3; id++) {
    const cw_analytics_camera_stats_t *s = stats_of(st, id);
    g_assert_nonnull(s);
    g_assert_cmpuint(s->units_in, ==, 3 * FPS);
    g_assert_cmpuint(s->decoded, >, 0);
    g_assert_cmpuint(s->frames_analysed, >=, 5);
    g_assert_cmpstr(s->error, ==, "");
  }
  g_array_free(st, TRUE);
  cw_analytics_pool_remove_camera(p, 2);
  st = cw_analytics_pool_stats(p);
  g_assert_null(stats_of(st, 2));
  g_array_free(st, TRUE);
  cw_analytics_pool_free(p);
  /* Freeing flushed every camera: counts up to the end, for the removed
   * camera too. */
  g_assert_cmpuint(seen.counts, >=, 3 * 2);
  g_mutex_clear(&seen.lock);
}

static void
test_budget(void)
{
  seen_t seen = {0};
  g_mutex_init(&seen.lock);
  /* A budget no thread can keep with 8 cameras decoding at 25 fps. */
  cw_analytics_pool_options_t o = {
      .threads = 1, .budget = 0.05, .emit = on_event, .emit_opaque = &seen};
  cw_error_t err;
  cw_analytics_pool_t *p = cw_analytics_pool_new(&o, &err);
  g_assert_nonnull(p);
  for (gint64 id = 1; id <= 8; id++)
    g_assert_cmpint(cw_analytics_pool_set_camera(p, id, NULL, 5, FALSE, &err), ==, 0);
  /* Rates step down every 2 s over budget (4 steps), then keyframes-only. */
  feed(p, 8, 16.0);
  GArray *st = cw_analytics_pool_stats(p);
  guint lowered = 0, kf_only = 0;
  guint64 skipped = 0, units = 0, handled = 0;
  for (guint i = 0; i < st->len; i++) {
    const cw_analytics_camera_stats_t *s = &g_array_index(st, cw_analytics_camera_stats_t, i);
    g_test_message("camera %" G_GINT64_FORMAT ": fps %.1f of %.1f, keyframes only %d, in %" G_GUINT64_FORMAT
                   ", decoded %" G_GUINT64_FORMAT ", skipped %" G_GUINT64_FORMAT " (budget) %" G_GUINT64_FORMAT
                   " (queue) %" G_GUINT64_FORMAT " (resync), analysed %" G_GUINT64_FORMAT,
                   s->camera_id, s->fps_now, s->fps_configured, s->budget_keyframes_only,
                   s->units_in, s->decoded, s->skipped_budget, s->dropped_queue,
                   s->skipped_resync, s->frames_analysed);
    lowered += s->fps_now < s->fps_configured;
    kf_only += s->budget_keyframes_only;
    skipped += s->skipped_budget + s->dropped_queue;
    units += s->units_in;
    handled += s->decoded + s->skipped_budget + s->dropped_queue + s->skipped_resync;
  }
  g_assert_cmpuint(lowered, ==, 8);  /* every camera's rate, fairly */
  g_assert_cmpuint(kf_only, >=, 1);  /* then keyframes only, in turn */
  g_assert_cmpuint(skipped, >, 0);   /* and what was skipped is counted */
  g_assert_cmpuint(units, ==, 8 * 16 * FPS); /* nothing refused at the door */
  g_assert_cmpuint(handled, <=, units);
  g_array_free(st, TRUE);
  cw_analytics_pool_free(p);
  g_mutex_clear(&seen.lock);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  gst_init(&argc, &argv);
  work_dir = g_dir_make_tmp("cw-pool-XXXXXX", NULL);
  clip = cw_test_clip_new(work_dir, CW_CODEC_H264, "320x240", FPS, GOP, 4.0);
  g_test_add_func("/pool/analyses", test_analyses);
  g_test_add_func("/pool/budget", test_budget);
  int rc = g_test_run();
  cw_test_clip_free(clip);
  const char *rm[] = {"rm", "-rf", work_dir, NULL};
  g_spawn_sync(NULL, (char **)rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
  g_free(work_dir);
  return rc;
}
