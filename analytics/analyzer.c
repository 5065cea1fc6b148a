/* One camera's analytics: see analyzer.h.
 *
 * Per frame: scale to the working size (luma by area averaging, chroma by a
 * 2x2 average at the mapped position), picture health, then, unless the
 * picture is blind, background -> mask -> blobs -> tracker -> rules. Every
 * model is made for one working size; a frame of another size ends what
 * the old models had open (a flush) and starts new ones. */
#include "analyzer.h"

#include "bgmodel.h"
#include "blobs.h"
#include "health.h"
#include "perspective.h"
#include "rules.h"
#include "tracker.h"
#include <math.h>

#define DEFAULT_WORK_WIDTH 320
#define MIN_WORK_SIZE 16

/* One output sample's source span along an axis: [lo, hi). */
typedef struct {
  int lo, hi;
} span_t;

/* hold_standing: a track standing this long (its ground point within
 * HOLD_STILL_PX working pixels) is held; none older than HOLD_MAX_US. */
#define HOLD_AFTER_US 1000000
#define HOLD_STILL_PX 2.0f
#define HOLD_MAX_US G_GINT64_CONSTANT(300000000)
#define HOLD_LEAVE_PX 6.0f

typedef struct {
  int x0, x1, y0, y1; /* the box held, working pixels */
  float gx, gy;       /* the ground point when it was held */
  guint gen;          /* the last update its track was live in */
} held_t;

/* Past this foreground fraction the picture itself is failing (for longer
 * than FAULT_RESET_US: the background is learnt again); after
 * RESUME_GAP_US without a frame through the background (blind), it is
 * learnt again too. */
#define FAULT_FOREGROUND 0.6f
#define FAULT_RESET_US 2000000
#define RESUME_GAP_US 1500000

struct cw_analyzer {
  const cw_analytics_config_t *cfg;
  int work_width;
  cw_analytics_emit_fn emit;
  void *opaque;

  /* The input the models are made for; in_w 0 before the first frame. */
  int in_w, in_h;
  gboolean grey;
  gint64 last_ts_us;
  gint64 last_bg_us;     /* last frame the background saw; G_MININT64 none */
  gint64 fault_since_us; /* picture mostly foreground since; G_MININT64 not */

  /* The working picture and what the scaler needs to make it. */
  cw_image_t img;
  guint8 *planes; /* y, u, v of img in one block */
  span_t *xspan, *yspan;
  int fx;          /* source columns per working column when all are equal and few; else 0 */
  guint32 *colsum; /* one output row's source rows summed, per source column */
  int *chroma_x;   /* source chroma column of each working chroma column */

  guint8 *mask;
  guint8 *scratch;
  GArray *blobs;
  float *max_width; /* per working row (perspective.h); NULL: no lanes */
  guint8 *hold;     /* standing vehicles, not learnt by the background (cw_bg_hold) */
  GHashTable *held; /* track id -> held_t: the boxes held */
  guint held_gen;   /* counts hold_standing's calls */

  cw_health_t *health;
  cw_bgmodel_t *bg;
  cw_tracker_t *tracker;
  cw_rules_t *rules;
};

/* Has the track stood still (within HOLD_STILL_PX) for the last HOLD_AFTER_US? */
static gboolean
standing(const cw_track_t *t)
{
  guint n = MIN(t->n_history, CW_TRACK_HISTORY);
  if (!t->confirmed || t->missed > 0 || n < 2 || t->updated_us - t->first_us > HOLD_MAX_US)
    return FALSE;
  const float gx = t->history[n - 1].gx, gy = t->history[n - 1].gy;
  for (guint i = n - 1; i-- > 0;) {
    if (fabsf(t->history[i].gx - gx) > HOLD_STILL_PX ||
        fabsf(t->history[i].gy - gy) > HOLD_STILL_PX)
      return FALSE;
    if (t->history[n - 1].ts_us - t->history[i].ts_us >= HOLD_AFTER_US)
      return TRUE;
  }
  return FALSE;
}

/* The boxes of standing vehicles, a little grown: the background model
 * must not learn them (bgmodel.h, cw_bg_hold), for as long as they stand,
 * up to HOLD_MAX_US of a track's life (a ghost must fade some day). Once
 * held, a box stays where it was held until its track goes HOLD_LEAVE_PX
 * away or ends: a measured box that jitters or shrinks (a passing
 * vehicle's blob pulling at it) must not let the edges learn, or the
 * vehicle melts and its box shrinks further. */
static void
hold_standing(cw_analyzer_t *a)
{
  const int w = a->img.y.width, h = a->img.y.height;
  memset(a->hold, 0, (size_t)w * h);
  const GPtrArray *tracks = cw_tracker_tracks(a->tracker);
  a->held_gen++;
  for (guint i = 0; i < tracks->len; i++) {
    const cw_track_t *t = tracks->pdata[i];
    held_t *k = g_hash_table_lookup(a->held, GUINT_TO_POINTER(t->id));
    if (k && (hypotf(t->gx - k->gx, t->gy - k->gy) > HOLD_LEAVE_PX ||
              t->updated_us - t->first_us > HOLD_MAX_US)) {
      g_hash_table_remove(a->held, GUINT_TO_POINTER(t->id));
      k = NULL;
    } else if (!k && standing(t)) {
      k = g_new(held_t, 1);
      *k = (held_t){MAX((int)t->x - 2, 0),
                    MIN((int)(t->x + t->w) + 2, w),
                    MAX((int)t->y - 2, 0),
                    MIN((int)(t->y + t->h) + 2, h),
                    t->gx,
                    t->gy,
                    0};
      g_hash_table_insert(a->held, GUINT_TO_POINTER(t->id), k);
    }
    if (k)
      k->gen = a->held_gen;
  }
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init(&it, a->held);
  while (g_hash_table_iter_next(&it, NULL, &value)) {
    const held_t *k = value;
    if (k->gen != a->held_gen) {
      g_hash_table_iter_remove(&it); /* its track ended */
      continue;
    }
    for (int y = k->y0; y < k->y1; y++)
      memset(a->hold + (size_t)y * w + k->x0, 1, (size_t)MAX(k->x1 - k->x0, 0));
  }
}

static void
spans_fill(span_t *s, int out, int in)
{
  for (int i = 0; i < out; i++) {
    s[i].lo = (int)((gint64)i * in / out);
    s[i].hi = (int)((gint64)(i + 1) * in / out);
    if (s[i].hi <= s[i].lo) /* never: out <= in */
      s[i].hi = s[i].lo + 1;
  }
}

static void
models_free(cw_analyzer_t *a)
{
  g_clear_pointer(&a->rules, cw_rules_free);
  g_clear_pointer(&a->tracker, cw_tracker_free);
  g_clear_pointer(&a->bg, cw_bg_free);
  g_clear_pointer(&a->health, cw_health_free);
  g_clear_pointer(&a->planes, g_free);
  g_clear_pointer(&a->xspan, g_free);
  g_clear_pointer(&a->yspan, g_free);
  g_clear_pointer(&a->colsum, g_free);
  g_clear_pointer(&a->chroma_x, g_free);
  g_clear_pointer(&a->mask, g_free);
  g_clear_pointer(&a->scratch, g_free);
  g_clear_pointer(&a->max_width, g_free);
  g_clear_pointer(&a->hold, g_free);
  g_clear_pointer(&a->held, g_hash_table_unref);
  a->in_w = a->in_h = 0;
}

/* Working size for an input: work_width wide but never wider (or taller)
 * than the input, the aspect kept; both even so chroma is exactly half. */
static void
working_size(const cw_analyzer_t *a, int in_w, int in_h, int *w, int *h)
{
  int ww = MIN(a->work_width, in_w);
  int wh = (int)(((gint64)in_h * ww + in_w / 2) / in_w);
  *w = MAX(MIN(ww, in_w) & ~1, 2);
  *h = MAX(MIN(wh, in_h) & ~1, 2);
}

static void
models_new(cw_analyzer_t *a, int in_w, int in_h, gboolean grey)
{
  int w, h;

  working_size(a, in_w, in_h, &w, &h);
  a->in_w = in_w;
  a->in_h = in_h;
  a->grey = grey;

  gsize cw = (gsize)w / 2, ch = (gsize)h / 2;
  a->planes = g_malloc0((gsize)w * h + 2 * cw * ch);
  a->img.y = (cw_plane_t){a->planes, w, h, w};
  a->img.u = (cw_plane_t){grey ? NULL : a->planes + (gsize)w * h, (int)cw, (int)ch, (int)cw};
  a->img.v =
      (cw_plane_t){grey ? NULL : a->planes + (gsize)w * h + cw * ch, (int)cw, (int)ch, (int)cw};

  a->xspan = g_new(span_t, w);
  a->yspan = g_new(span_t, h);
  spans_fill(a->xspan, w, in_w);
  spans_fill(a->yspan, h, in_h);
  a->colsum = g_new0(guint32, in_w);
  /* The fixed path divides by a 16-bit reciprocal: exact enough (error
   * under 0.2%) while a pixel's area is at most 256. */
  int row_max = (in_h + h - 1) / h;
  a->fx = in_w % w == 0 && (in_w / w) * row_max <= 256 ? in_w / w : 0;

  a->chroma_x = g_new(int, cw);
  for (gsize x = 0; x < cw; x++)
    a->chroma_x[x] = (int)((gint64)x * ((in_w + 1) / 2) / (gint64)cw);

  a->mask = g_malloc0((gsize)w * h);
  a->scratch = g_malloc((gsize)w * h * 2);

  a->health = cw_health_new(a->cfg, w, h, a->emit, a->opaque);
  a->bg = cw_bg_new(w, h, NULL);
  a->hold = g_malloc0((gsize)w * h);
  a->held = g_hash_table_new_full(NULL, NULL, NULL, g_free);
  a->last_bg_us = a->fault_since_us = G_MININT64;
  cw_bg_hold(a->bg, a->hold);
  a->max_width = g_new(float, h);
  if (!cw_perspective_max_width(a->cfg, w, h, a->max_width))
    g_clear_pointer(&a->max_width, g_free);
  /* The picture's size lets a track that drove out end at once. */
  cw_tracker_options_t topt = {.width = w, .height = h, .max_width = a->max_width};
  a->tracker = cw_tracker_new(&topt);
  a->rules = cw_rules_new(a->cfg, w, h, a->emit, a->opaque);
}

/* One output row from the summed source rows: n output pixels each the
 * mean of fx columns. fx a constant where this is inlined, so the compiler
 * unrolls the sum. */
static inline G_ALWAYS_INLINE void
hsum_fixed(const guint32 *cs, guint8 *dst, int n, int fx, guint32 recip)
{
  for (int ox = 0; ox < n; ox++, cs += fx) {
    guint32 sum = 0;
    for (int k = 0; k < fx; k++)
      sum += cs[k];
    guint32 v = (sum * recip + 32768u) >> 16;
    dst[ox] = (guint8)MIN(v, 255u);
  }
}

/* Luma by area averaging: each working pixel is the mean of the source
 * pixels its span covers. One pass over the source: the rows of an output
 * row are summed per column, then the columns per output pixel. The usual
 * sizes (640, 1280, 1920 wide to 320) divide evenly and take a path with
 * the span length fixed and a multiply for the division. The arithmetic
 * fits 32 bits: a sum is at most 255 * area. */
static void
scale_luma(cw_analyzer_t *a, const cw_frame_t *f)
{
  const cw_plane_t *o = &a->img.y;
  guint32 *cs = a->colsum;
  const int in_w = f->width;
  const int fx = a->fx;

  for (int oy = 0; oy < o->height; oy++) {
    const span_t *ys = &a->yspan[oy];
    const guint8 *src = f->y + (gsize)ys->lo * f->y_stride;
    guint8 *dst = o->data + (gsize)oy * o->stride;
    if (fx == 2 && ys->hi - ys->lo == 2) {
      /* Exactly half each way (640x360 to 320x180, the usual substream):
       * straight from the two rows, no column sums. */
      const guint8 *restrict r0 = src, *restrict r1 = src + f->y_stride;
      guint8 *restrict d = dst;
      const int ow = o->width;
      for (int ox = 0; ox < ow; ox++)
        d[ox] = (guint8)((r0[2 * ox] + r0[2 * ox + 1] + r1[2 * ox] + r1[2 * ox + 1] + 2) >> 2);
      continue;
    }
    for (int x = 0; x < in_w; x++)
      cs[x] = src[x];
    for (int sy = ys->lo + 1; sy < ys->hi; sy++) {
      src += f->y_stride;
      for (int x = 0; x < in_w; x++)
        cs[x] += src[x];
    }
    const int rows = ys->hi - ys->lo;
    const guint32 recip = fx > 0 ? (65536u + (guint32)(fx * rows) / 2) / (guint32)(fx * rows) : 0;
    switch (fx) {
    case 1:
      hsum_fixed(cs, dst, o->width, 1, recip);
      break;
    case 2:
      hsum_fixed(cs, dst, o->width, 2, recip);
      break;
    case 3:
      hsum_fixed(cs, dst, o->width, 3, recip);
      break;
    case 4:
      hsum_fixed(cs, dst, o->width, 4, recip);
      break;
    case 6:
      hsum_fixed(cs, dst, o->width, 6, recip);
      break;
    default:
      for (int ox = 0; ox < o->width; ox++) {
        const span_t *xs = &a->xspan[ox];
        guint32 sum = 0, area = (guint32)(rows * (xs->hi - xs->lo));
        for (int sx = xs->lo; sx < xs->hi; sx++)
          sum += cs[sx];
        /* A division a pixel: exact whatever the area, and the working
         * picture is small. */
        dst[ox] = (guint8)((sum + area / 2) / area);
      }
      break;
    }
  }
}

/* Chroma: the 2x2 mean of the source chroma at each working chroma
 * sample's place (cx: its source column, from models_new). Colour only
 * separates shadows from objects, so aliasing here costs nothing that
 * matters. When the source is an even multiple of the working width (the
 * usual sizes) the columns are ox * fx and the loop is a plain stride. */
static inline G_ALWAYS_INLINE void
chroma_row_fixed(const guint8 *r0, const guint8 *r1, guint8 *dst, int n, int fx)
{
  for (int ox = 0; ox < n; ox++) {
    int sx = ox * fx;
    dst[ox] = (guint8)((r0[sx] + r0[sx + 1] + r1[sx] + r1[sx + 1] + 2) >> 2);
  }
}

static void
scale_chroma(const cw_plane_t *o, const int *cx, const guint8 *src, int stride, int sw, int sh)
{
  const int fx = sw % o->width == 0 ? sw / o->width : 0;
  for (int oy = 0; oy < o->height; oy++) {
    int sy = (int)((gint64)oy * sh / o->height);
    int sy1 = MIN(sy + 1, sh - 1);
    const guint8 *r0 = src + (gsize)sy * stride, *r1 = src + (gsize)sy1 * stride;
    guint8 *dst = o->data + (gsize)oy * o->stride;
    switch (fx) {
    case 2:
      chroma_row_fixed(r0, r1, dst, o->width, 2);
      break;
    case 4:
      chroma_row_fixed(r0, r1, dst, o->width, 4);
      break;
    case 6:
      chroma_row_fixed(r0, r1, dst, o->width, 6);
      break;
    default:
      for (int ox = 0; ox < o->width; ox++) {
        int sx = cx[ox];
        int sx1 = MIN(sx + 1, sw - 1);
        dst[ox] = (guint8)((r0[sx] + r0[sx1] + r1[sx] + r1[sx1] + 2) >> 2);
      }
      break;
    }
  }
}

cw_analyzer_t *
cw_analyzer_new(const cw_analytics_config_t *cfg, int work_width, cw_analytics_emit_fn emit,
                void *opaque)
{
  cw_analyzer_t *a = g_new0(cw_analyzer_t, 1);
  a->cfg = cfg;
  a->work_width = work_width > 0 ? MAX(work_width, MIN_WORK_SIZE) : DEFAULT_WORK_WIDTH;
  a->emit = emit;
  a->opaque = opaque;
  a->blobs = g_array_new(FALSE, FALSE, sizeof(cw_blob_t));
  return a;
}

static void
models_flush(cw_analyzer_t *a)
{
  if (a->in_w == 0)
    return;
  cw_rules_flush(a->rules, a->last_ts_us);
  cw_health_flush(a->health, a->last_ts_us);
}

void
cw_analyzer_push(cw_analyzer_t *a, const cw_frame_t *frame)
{
  gboolean grey = frame->u == NULL || frame->v == NULL;

  if (frame->width < 2 || frame->height < 2 || frame->y == NULL)
    return;
  if (a->in_w != 0 && frame->ts_us == a->last_ts_us)
    return; /* the same instant twice: nothing new to learn */
  if (a->in_w != frame->width || a->in_h != frame->height || a->grey != grey ||
      (a->in_w != 0 && frame->ts_us < a->last_ts_us)) {
    /* Whatever the old models had open ends where the old pictures did;
     * time going back (a seek, a restarted stream) starts again too: the
     * models need increasing time. */
    models_flush(a);
    models_free(a);
    models_new(a, frame->width, frame->height, grey);
  }

  scale_luma(a, frame);
  if (!grey) {
    int sw = (frame->width + 1) / 2, sh = (frame->height + 1) / 2;
    scale_chroma(&a->img.u, a->chroma_x, frame->u, frame->uv_stride, sw, sh);
    scale_chroma(&a->img.v, a->chroma_x, frame->v, frame->uv_stride, sw, sh);
  }
  a->img.ts_us = frame->ts_us;
  a->last_ts_us = frame->ts_us;

  if (cw_health_update(a->health, &a->img)) {
    /* The camera looks somewhere else now: what was learned is wrong. */
    cw_bg_reset(a->bg);
    cw_tracker_reset(a->tracker);
    cw_rules_reset(a->rules, frame->ts_us);
  }
  if (cw_health_blind(a->health))
    return;

  const int w = a->img.y.width, h = a->img.y.height;
  /* Back after a blind spell: the background followed the failing picture
   * down (its gain) and the tracks say nothing of where vehicles are now. */
  if (a->last_bg_us != G_MININT64 && frame->ts_us - a->last_bg_us > RESUME_GAP_US) {
    cw_bg_reset(a->bg);
    cw_tracker_reset(a->tracker);
  }
  a->last_bg_us = frame->ts_us;
  if (cw_bg_apply(a->bg, &a->img, a->mask) > FAULT_FOREGROUND) {
    /* The picture failing (going black, covered) before health says so,
     * or changed beyond what the model can follow: no vehicles in it, and
     * if it lasts, a background learnt afresh. */
    if (a->fault_since_us == G_MININT64)
      a->fault_since_us = frame->ts_us;
    else if (frame->ts_us - a->fault_since_us > FAULT_RESET_US) {
      cw_bg_reset(a->bg);
      cw_tracker_reset(a->tracker);
      a->fault_since_us = G_MININT64;
    }
    return;
  }
  a->fault_since_us = G_MININT64;
  int min_area = (int)(a->cfg->t.min_object_area * (float)w * (float)h + 0.5f);
  g_array_set_size(a->blobs, 0);
  cw_blobs_find(a->mask, w, h, MAX(min_area, 1), a->scratch, a->blobs);
  guint n = cw_perspective_split_wide(a->mask, w, h, a->max_width, MAX(min_area, 1), a->blobs);
  cw_tracker_update(a->tracker, (const cw_blob_t *)(void *)a->blobs->data, n, frame->ts_us);
  cw_rules_update(a->rules, cw_tracker_tracks(a->tracker), cw_tracker_ended(a->tracker), a->mask,
                  frame->ts_us);
  hold_standing(a);
}

void
cw_analyzer_flush(cw_analyzer_t *a)
{
  models_flush(a);
}

void
cw_analyzer_free(cw_analyzer_t *a)
{
  if (a == NULL)
    return;
  models_free(a);
  g_array_free(a->blobs, TRUE);
  g_free(a);
}
