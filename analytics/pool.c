#include "pool.h"

#include <errno.h>
#include <string.h>

#include <gst/gst.h>

#include "analytics_config.h"
#include "gstcwtraffic.h"
#include "log.h"

#define MOD "analytics"
#define BUDGET_WINDOW_US G_USEC_PER_SEC
#define OVER_WINDOWS 2   /* over budget this many windows in a row: cut */
#define UNDER_WINDOWS 10 /* well under for this many: give back */
#define FPS_STEPS 5      /* levels 1..4 scale every camera's rate; past them, keyframes-only */
#define ROTATE_US (30 * G_USEC_PER_SEC) /* who is keyframes-only changes this often */

typedef struct worker worker_t;

typedef struct {
  gint64 id;
  worker_t *w;
  /* Under w->lock: what set_camera asked for, and what ingest counts. */
  char *config;
  double fps;
  gboolean keyframes_only;
  guint generation;
  guint64 next_seq;
  cw_analytics_camera_stats_t st;
  /* The worker thread's own. */
  guint built_generation;
  cw_codec_t built_codec;
  GstElement *bin, *traffic;
  GstPad *src;
  guint64 last_seq;
  gboolean broken; /* a unit was lost: nothing is decoded before a keyframe */
  gint64 first_pts;
  gint64 offset_us;
  double fps_applied; /* what cwtraffic was last told */
  gboolean budget_kf;
} camera_t;

typedef struct {
  cw_access_unit_t *au; /* NULL: remove the camera */
  camera_t *cam;
  guint64 seq;
  gint64 queued_us;
} item_t;

struct worker {
  cw_analytics_pool_t *p;
  GThread *thread;
  GMutex lock;
  GCond cond;
  GQueue q; /* item_t* */
  gboolean stop;
  GHashTable *cams; /* id -> camera_t*; a removed camera leaves it at once */
  GPtrArray *all;   /* every camera_t the thread still holds (removal pending too) */
  /* Budget, the thread's own. */
  gint64 window_start, busy_us, last_rotate;
  guint over, under, level, rotation;
};

struct cw_analytics_pool {
  cw_analytics_pool_options_t o;
  worker_t *workers;
  guint n;
};

/* ---- the bin ------------------------------------------------------------ */

static GstBusSyncReply
on_bus(GstBus *bus, GstMessage *m, gpointer data)
{
  camera_t *c = data;
  const GstStructure *s = gst_message_get_structure(m);
  if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ELEMENT && s && gst_structure_has_name(s, "cw-event")) {
    guint64 ts = 0, start = 0;
    guint incident = 0;
    gst_structure_get_uint64(s, "timestamp", &ts);
    gst_structure_get_uint64(s, "start", &start);
    gst_structure_get_uint(s, "incident", &incident);
    const char *phase = gst_structure_get_string(s, "phase");
    cw_analytics_event_t ev = {
        .kind = gst_structure_get_string(s, "kind"),
        .phase = g_strcmp0(phase, "start") == 0    ? CW_PHASE_START
                 : g_strcmp0(phase, "update") == 0 ? CW_PHASE_UPDATE
                 : g_strcmp0(phase, "end") == 0    ? CW_PHASE_END
                                                   : CW_PHASE_INSTANT,
        .incident = incident,
        .ts_us = (gint64)(ts / GST_USECOND),
        .start_us = (gint64)(start / GST_USECOND),
        .attributes = gst_structure_get_string(s, "attributes"),
    };
    cw_analytics_pool_t *p = c->w->p;
    if (ev.kind && p->o.emit)
      p->o.emit(p->o.emit_opaque, c->id, &ev, c->offset_us);
  } else if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
    GError *e = NULL;
    gst_message_parse_error(m, &e, NULL);
    g_mutex_lock(&c->w->lock);
    g_strlcpy(c->st.error, e ? e->message : "error", sizeof c->st.error);
    g_mutex_unlock(&c->w->lock);
    cw_log_warn(MOD, "camera %" G_GINT64_FORMAT ": %s", c->id, e ? e->message : "error");
    g_clear_error(&e);
  }
  return GST_BUS_DROP;
}

static void
bin_destroy(camera_t *c, gboolean flush)
{
  if (!c->bin)
    return;
  /* EOS first: cwtraffic reports partial counts and ends open incidents. */
  if (flush)
    gst_pad_push_event(c->src, gst_event_new_eos());
  gst_element_set_state(c->bin, GST_STATE_NULL);
  gst_pad_set_active(c->src, FALSE);
  gst_object_unref(c->src);
  gst_object_unref(c->bin);
  c->bin = c->traffic = NULL;
  c->src = NULL;
}

static GstElement *
make(GstElement *bin, const char *factory)
{
  GstElement *e = gst_element_factory_make(factory, NULL);
  if (e)
    gst_bin_add(GST_BIN(bin), e);
  return e;
}

/* A bin for the camera's codec and configuration; FALSE with st.error set. */
static gboolean
bin_build(camera_t *c, cw_codec_t codec, const char *config, double fps)
{
  gboolean h265 = codec == CW_CODEC_H265;
  GstElement *bin = gst_bin_new(NULL);
  GstElement *parse = make(bin, h265 ? "h265parse" : "h264parse");
  GstElement *dec = make(bin, h265 ? "avdec_h265" : "avdec_h264");
  GstElement *conv = make(bin, "videoconvert");
  GstElement *traffic = make(bin, "cwtraffic");
  GstElement *sink = make(bin, "fakesink");
  const char *why = NULL;
  if (!parse || !dec || !conv || !traffic || !sink) {
    why = "a GStreamer element is missing (gst-plugins-bad, gstreamer1.0-libav)";
    goto fail;
  }
  /* The pool's thread is the only one: no decoder threads. */
  g_object_set(dec, "max-threads", 1, NULL);
  g_object_set(sink, "sync", FALSE, "async", FALSE, NULL);
  g_object_set(traffic, "config", config ? config : "", "analysis-fps", fps, "camera-id", c->id,
               NULL);
  if (!gst_element_link_many(parse, dec, conv, traffic, sink, NULL)) {
    why = "cannot link the analytics bin";
    goto fail;
  }
  GstPad *target = gst_element_get_static_pad(parse, "sink");
  GstPad *ghost = gst_ghost_pad_new("sink", target);
  gst_object_unref(target);
  gst_element_add_pad(bin, ghost);
  GstBus *bus = gst_bus_new();
  gst_bus_set_sync_handler(bus, on_bus, c, NULL);
  gst_element_set_bus(bin, bus);
  gst_object_unref(bus);
  if (gst_element_set_state(bin, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    why = NULL; /* the bus said why */
    goto fail_quiet;
  }
  GstPad *src = gst_pad_new("src", GST_PAD_SRC);
  gst_pad_set_active(src, TRUE);
  gst_pad_link(src, ghost);
  char *sid = g_strdup_printf("camera-%" G_GINT64_FORMAT, c->id);
  gst_pad_push_event(src, gst_event_new_stream_start(sid));
  g_free(sid);
  GstCaps *caps = gst_caps_new_simple(h265 ? "video/x-h265" : "video/x-h264", "stream-format",
                                      G_TYPE_STRING, "byte-stream", "alignment", G_TYPE_STRING,
                                      "au", NULL);
  gst_pad_push_event(src, gst_event_new_caps(caps));
  gst_caps_unref(caps);
  GstSegment seg;
  gst_segment_init(&seg, GST_FORMAT_TIME);
  gst_pad_push_event(src, gst_event_new_segment(&seg));
  c->bin = bin;
  c->traffic = traffic;
  c->src = src;
  c->built_codec = codec;
  c->first_pts = G_MININT64;
  return TRUE;
fail:
  g_mutex_lock(&c->w->lock);
  g_strlcpy(c->st.error, why, sizeof c->st.error);
  g_mutex_unlock(&c->w->lock);
  cw_log_warn(MOD, "camera %" G_GINT64_FORMAT ": %s", c->id, why);
fail_quiet:
  gst_element_set_state(bin, GST_STATE_NULL);
  gst_object_unref(bin);
  return FALSE;
}

/* ---- budget ------------------------------------------------------------- */

static double
level_fps(guint level, double fps)
{
  guint step = MIN(level, FPS_STEPS - 1);
  return MAX(1.0, fps * (FPS_STEPS - step) / FPS_STEPS);
}

/* Applies the worker's level to its cameras: rates for all, keyframes-only
 * for (level - 4) cameras in turn. Under w->lock; the worker tells the
 * bins (only it may touch them). */
static void
apply_level(worker_t *w)
{
  guint n = w->all->len, kf = w->level >= FPS_STEPS ? w->level - (FPS_STEPS - 1) : 0;
  for (guint i = 0; i < n; i++) {
    camera_t *c = g_ptr_array_index(w->all, i);
    c->budget_kf = kf > 0 && (i + n - w->rotation % MAX(n, 1)) % n < kf;
    c->st.budget_keyframes_only = c->budget_kf;
    c->st.fps_now = level_fps(w->level, c->fps);
  }
}

static void
budget_tick(worker_t *w, gint64 now)
{
  gint64 span = now - w->window_start;
  if (span < BUDGET_WINDOW_US)
    return;
  double share = (double)w->busy_us / (double)span;
  w->window_start = now;
  w->busy_us = 0;
  guint before = w->level;
  if (share > w->p->o.budget) {
    w->under = 0;
    if (++w->over >= OVER_WINDOWS && w->level < FPS_STEPS - 1 + w->all->len) {
      w->level++;
      w->over = 0;
    }
  } else if (share < w->p->o.budget * 0.6) {
    w->over = 0;
    if (++w->under >= UNDER_WINDOWS && w->level > 0) {
      w->level--;
      w->under = 0;
    }
  } else {
    w->over = w->under = 0;
  }
  gboolean rotate = w->level >= FPS_STEPS && now - w->last_rotate >= ROTATE_US;
  if (rotate) {
    w->rotation++;
    w->last_rotate = now;
  }
  if (w->level != before || rotate) {
    g_mutex_lock(&w->lock);
    apply_level(w);
    g_mutex_unlock(&w->lock);
    if (w->level != before)
      cw_log_info(MOD, "analytics thread %s budget: level %u (%.0f%% busy)",
                  w->level > before ? "over" : "back under", w->level, share * 100);
  }
}

/* ---- the worker thread -------------------------------------------------- */

static void
camera_free(camera_t *c)
{
  bin_destroy(c, TRUE);
  g_free(c->config);
  g_free(c);
}

/* Decides under w->lock what happens to a popped unit: -1 skip, 0 push,
 * 1 rebuild then push (the configuration is copied into *config). */
static int
decide(camera_t *c, const item_t *it, char **config, double *fps)
{
  *fps = c->st.fps_now;
  const cw_access_unit_t *au = it->au;
  if (it->seq != c->last_seq + 1)
    c->broken = TRUE;
  c->last_seq = it->seq;
  gboolean kf_only = c->keyframes_only || c->budget_kf;
  if (!au->keyframe && (c->broken || kf_only || !c->bin)) {
    if (kf_only && !c->broken)
      c->st.skipped_budget++;
    else
      c->st.skipped_resync++;
    return -1;
  }
  if (au->damaged) {
    c->broken = TRUE;
    c->st.skipped_resync++;
    return -1;
  }
  c->broken = FALSE;
  c->st.decoded++;
  if (c->bin && c->built_generation == c->generation && c->built_codec == au->codec)
    return 0;
  *config = g_strdup(c->config);
  c->built_generation = c->generation;
  c->st.error[0] = '\0';
  return 1;
}

static void
process(worker_t *w, item_t *it)
{
  camera_t *c = it->cam;
  char *config = NULL;
  double fps = 0;
  g_mutex_lock(&w->lock);
  int what = decide(c, it, &config, &fps);
  g_mutex_unlock(&w->lock);
  if (what < 0)
    return;
  if (what == 1) {
    bin_destroy(c, TRUE);
    gboolean ok = bin_build(c, it->au->codec, config, fps);
    g_free(config);
    if (!ok)
      return;
    c->fps_applied = fps;
  }
  if (fps != c->fps_applied) {
    g_object_set(c->traffic, "analysis-fps", fps, NULL);
    c->fps_applied = fps;
  }
  const cw_access_unit_t *au = it->au;
  if (c->first_pts == G_MININT64)
    c->first_pts = au->pts;
  GstClockTime pts =
      gst_util_uint64_scale_int((guint64)MAX(au->pts - c->first_pts, 0), GST_SECOND,
                                (gint)MAX(au->clock_rate, 1));
  gint64 wall = au->wallclock_us > 0 ? au->wallclock_us : it->queued_us;
  c->offset_us = wall - (gint64)(pts / GST_USECOND);
  GstBuffer *buf = gst_buffer_new_memdup(au->data, au->size);
  GST_BUFFER_PTS(buf) = pts;
  if (!au->keyframe)
    GST_BUFFER_FLAG_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT);
  GstFlowReturn fr = gst_pad_push(c->src, buf);
  guint64 analysed = 0;
  g_object_get(c->traffic, "frames-analysed", &analysed, NULL);
  g_mutex_lock(&w->lock);
  c->st.frames_analysed = analysed;
  g_mutex_unlock(&w->lock);
  if (fr != GST_FLOW_OK) {
    /* A bin that refuses data is rebuilt from the next keyframe. */
    cw_log_warn(MOD, "camera %" G_GINT64_FORMAT ": analytics bin: %s", c->id,
                gst_flow_get_name(fr));
    bin_destroy(c, FALSE);
    g_mutex_lock(&w->lock);
    c->broken = TRUE;
    c->built_generation = c->generation - 1;
    g_mutex_unlock(&w->lock);
  }
}

static gpointer
worker_main(gpointer data)
{
  worker_t *w = data;
  w->window_start = w->last_rotate = g_get_monotonic_time();
  for (;;) {
    g_mutex_lock(&w->lock);
    while (!w->stop && g_queue_is_empty(&w->q))
      if (!g_cond_wait_until(&w->cond, &w->lock, g_get_monotonic_time() + BUDGET_WINDOW_US))
        break;
    item_t *it = g_queue_pop_head(&w->q);
    gboolean stop = w->stop && !it;
    g_mutex_unlock(&w->lock);
    if (stop)
      break;
    gint64 t0 = g_get_monotonic_time();
    if (it && it->au) {
      process(w, it);
      cw_access_unit_unref(it->au);
    } else if (it) {
      g_mutex_lock(&w->lock);
      g_ptr_array_remove_fast(w->all, it->cam);
      g_mutex_unlock(&w->lock);
      camera_free(it->cam);
    }
    g_free(it);
    gint64 t1 = g_get_monotonic_time();
    w->busy_us += t1 - t0;
    budget_tick(w, t1);
  }
  for (guint i = 0; i < w->all->len; i++)
    bin_destroy(g_ptr_array_index(w->all, i), TRUE);
  return NULL;
}

/* ---- the API ------------------------------------------------------------ */

static worker_t *
worker_of(cw_analytics_pool_t *p, gint64 camera_id)
{
  return &p->workers[(guint64)camera_id % p->n];
}

cw_analytics_pool_t *
cw_analytics_pool_new(const cw_analytics_pool_options_t *options, cw_error_t *err)
{
  if (!gst_is_initialized())
    gst_init(NULL, NULL);
  GstElementFactory *f = gst_element_factory_find("cwtraffic");
  if (f) {
    gst_object_unref(f);
  } else if (!GST_ELEMENT_REGISTER(cwtraffic, NULL)) {
    cw_error_set(err, -ENOENT, "cannot register the cwtraffic element");
    return NULL;
  }
  cw_analytics_pool_t *p = g_new0(cw_analytics_pool_t, 1);
  p->o = *options;
  p->o.threads = p->o.threads ? p->o.threads : 1;
  p->o.queue_units = p->o.queue_units ? p->o.queue_units : 512;
  p->o.budget = p->o.budget > 0 && p->o.budget <= 1 ? p->o.budget : 0.8;
  p->n = p->o.threads;
  p->workers = g_new0(worker_t, p->n);
  for (guint i = 0; i < p->n; i++) {
    worker_t *w = &p->workers[i];
    w->p = p;
    g_mutex_init(&w->lock);
    g_cond_init(&w->cond);
    g_queue_init(&w->q);
    w->cams = g_hash_table_new(g_int64_hash, g_int64_equal);
    w->all = g_ptr_array_new();
    char *name = g_strdup_printf("cw-analytics-%u", i);
    w->thread = g_thread_new(name, worker_main, w);
    g_free(name);
  }
  return p;
}

int
cw_analytics_pool_set_camera(cw_analytics_pool_t *p, gint64 camera_id, const char *config,
                             double fps, gboolean keyframes_only, cw_error_t *err)
{
  char *where = g_strdup_printf("camera %" G_GINT64_FORMAT, camera_id);
  cw_analytics_config_t *cfg = NULL;
  int rc = cw_analytics_config_parse(config, where, &cfg, err);
  g_free(where);
  if (rc < 0)
    return rc;
  if (fps <= 0)
    fps = cfg->t.analysis_fps;
  cw_analytics_config_free(cfg);
  worker_t *w = worker_of(p, camera_id);
  g_mutex_lock(&w->lock);
  camera_t *c = g_hash_table_lookup(w->cams, &camera_id);
  if (!c) {
    c = g_new0(camera_t, 1);
    c->id = c->st.camera_id = camera_id;
    c->w = w;
    c->broken = TRUE;
    c->last_seq = G_MAXUINT64; /* the first unit's seq (0) follows it */
    g_hash_table_insert(w->cams, &c->id, c);
    g_ptr_array_add(w->all, c);
  } else if (g_strcmp0(c->config, config) == 0 && c->fps == fps &&
             c->keyframes_only == keyframes_only) {
    g_mutex_unlock(&w->lock);
    return 0;
  }
  g_free(c->config);
  c->config = g_strdup(config);
  c->fps = c->st.fps_configured = fps;
  c->keyframes_only = keyframes_only;
  c->generation++;
  apply_level(w);
  c->st.keyframes_only = keyframes_only;
  g_mutex_unlock(&w->lock);
  return 0;
}

void
cw_analytics_pool_remove_camera(cw_analytics_pool_t *p, gint64 camera_id)
{
  worker_t *w = worker_of(p, camera_id);
  g_mutex_lock(&w->lock);
  camera_t *c = g_hash_table_lookup(w->cams, &camera_id);
  if (c) {
    g_hash_table_remove(w->cams, &camera_id);
    /* Behind its queued units: the thread frees it after them. */
    item_t *it = g_new0(item_t, 1);
    it->cam = c;
    g_queue_push_tail(&w->q, it);
    g_cond_signal(&w->cond);
  }
  g_mutex_unlock(&w->lock);
}

/* A full queue gives up a non-key unit for a keyframe: the newest one,
 * whose camera then waits for its own next keyframe. */
static gboolean
evict_non_key(worker_t *w)
{
  for (GList *l = w->q.tail; l; l = l->prev) {
    item_t *it = l->data;
    if (it->au && !it->au->keyframe) {
      it->cam->st.dropped_queue++;
      cw_access_unit_unref(it->au);
      g_free(it);
      g_queue_delete_link(&w->q, l);
      return TRUE;
    }
  }
  return FALSE;
}

void
cw_analytics_pool_push(void *pool, cw_access_unit_t *au)
{
  cw_analytics_pool_t *p = pool;
  worker_t *w = worker_of(p, au->camera_id);
  g_mutex_lock(&w->lock);
  camera_t *c = g_hash_table_lookup(w->cams, &au->camera_id);
  if (!c) {
    g_mutex_unlock(&w->lock);
    return;
  }
  c->st.units_in++;
  guint64 seq = c->next_seq++;
  if (g_queue_get_length(&w->q) >= p->o.queue_units &&
      (!au->keyframe || !evict_non_key(w))) {
    c->st.dropped_queue++;
    g_mutex_unlock(&w->lock);
    return;
  }
  item_t *it = g_new(item_t, 1);
  *it = (item_t){.au = cw_access_unit_ref(au), .cam = c, .seq = seq,
                 .queued_us = g_get_real_time()};
  g_queue_push_tail(&w->q, it);
  g_cond_signal(&w->cond);
  g_mutex_unlock(&w->lock);
}

static gint
by_camera(gconstpointer a, gconstpointer b)
{
  gint64 x = ((const cw_analytics_camera_stats_t *)a)->camera_id;
  gint64 y = ((const cw_analytics_camera_stats_t *)b)->camera_id;
  return x < y ? -1 : x > y;
}

GArray *
cw_analytics_pool_stats(cw_analytics_pool_t *p)
{
  GArray *out = g_array_new(FALSE, TRUE, sizeof(cw_analytics_camera_stats_t));
  for (guint i = 0; i < p->n; i++) {
    worker_t *w = &p->workers[i];
    g_mutex_lock(&w->lock);
    GHashTableIter iter;
    gpointer v;
    g_hash_table_iter_init(&iter, w->cams);
    while (g_hash_table_iter_next(&iter, NULL, &v)) {
      camera_t *c = v;
      c->st.keyframes_only = c->keyframes_only || c->budget_kf;
      g_array_append_val(out, c->st);
    }
    g_mutex_unlock(&w->lock);
  }
  g_array_sort(out, by_camera);
  return out;
}

void
cw_analytics_pool_free(cw_analytics_pool_t *p)
{
  if (!p)
    return;
  for (guint i = 0; i < p->n; i++) {
    worker_t *w = &p->workers[i];
    g_mutex_lock(&w->lock);
    w->stop = TRUE;
    g_cond_signal(&w->cond);
    g_mutex_unlock(&w->lock);
  }
  for (guint i = 0; i < p->n; i++) {
    worker_t *w = &p->workers[i];
    g_thread_join(w->thread);
    for (guint j = 0; j < w->all->len; j++) {
      camera_t *c = g_ptr_array_index(w->all, j);
      g_free(c->config);
      g_free(c);
    }
    item_t *it;
    while ((it = g_queue_pop_head(&w->q))) {
      if (it->au)
        cw_access_unit_unref(it->au);
      g_free(it);
    }
    g_ptr_array_free(w->all, TRUE);
    g_hash_table_destroy(w->cams);
    g_mutex_clear(&w->lock);
    g_cond_clear(&w->cond);
  }
  g_free(p->workers);
  g_free(p);
}
