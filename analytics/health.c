/* Picture health: blackout, frozen, defocus and scene change, from the
 * working-size luma alone (see health.h).
 *
 * One pass over the picture gathers everything: mean and variance, the
 * mean absolute difference against an anchor frame, the gradient energy
 * (these three on every other row), and 4x4 block sums for a coarse picture. The coarse picture
 * (80x45 at 320x180, smoothed once more) is what scene change compares: per cell of a 10x5 grid,
 * the normalised cross-correlation with the reference, so a change of brightness or contrast (even
 * a local one) cancels out, a shake of 2 px is half a coarse pixel, and the median over the cells
 * ignores the minority a passing vehicle covers. */
#include "health.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define NO_TIME G_MININT64
#define SCALE 4 /* coarse picture: 1/4 each way */
#define CELLS_X 10
#define CELLS_Y 5
#define CELL_STRUCTURE_STD 2.0f /* coarse-luma std of a cell with something to compare */
#define MIN_CELLS 6
#define FLAT_STD 12.0 /* luma std of a blacked-out (flat) picture */
/* Mean |difference| below which nothing changed: a repeated frame gives 0,
 * a live picture's noise (even compressed, static and dim) 0.5 and up. */
#define FROZEN_FLOOR 0.2
#define RELEASE_US 1000000 /* a condition must be gone this long to end */
#define LEARN_US 2000000   /* first references: averaged over this long */
#define SCENE_TAU_S 60.0   /* the reference scene follows slow change */
#define SHARP_TAU_S 120.0

typedef struct {
  gboolean active;
  guint incident;
  gint64 since;       /* candidate held since; NO_TIME: not a candidate */
  gint64 clear_since; /* while active: candidate gone since */
  gint64 start_us;
} cond_t;

struct cw_health {
  const cw_analytics_config_t *cfg;
  int width, height;
  cw_analytics_emit_fn emit;
  void *opaque;
  guint next_incident;
  gint64 last_ts;

  /* frozen: the frame the picture has not moved away from */
  guint8 *anchor;
  gboolean have_anchor;
  gint64 anchor_ts;

  /* coarse pictures */
  int lw, lh, cw, ch;
  guint32 *acc;
  float *raw, *cur, *ref;
  float *pend; /* the mean of the pictures since a scene change became likely */
  int pend_n;
  gboolean have_ref;
  gint64 ref_since;
  float *sims; /* scratch, one per cell */

  double sharp_ref;
  gint64 sharp_since;
  gboolean have_sharp;

  cond_t blackout, frozen, defocus;
  gint64 scene_since;
  /* While a scene change is held: the steepest fall of similarity between
   * two analysed pictures, and when. A cut is that fall; a slow drift that
   * crossed the threshold earlier is not when the camera moved. */
  double scene_drop;
  gint64 scene_drop_at;

  /* last measures, for the attributes */
  double luma, stddev, diff, sharp, similarity;
};

static void emit(cw_health_t *h, const char *kind, cw_phase_t phase, guint incident, gint64 ts,
                 gint64 start, const char *fmt, ...) G_GNUC_PRINTF(7, 8);

static void
emit(cw_health_t *h, const char *kind, cw_phase_t phase, guint incident, gint64 ts, gint64 start,
     const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  char *attrs = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  cw_analytics_event_t ev = {
      .kind = kind,
      .phase = phase,
      .incident = incident,
      .ts_us = ts,
      .start_us = start,
      .attributes = attrs,
  };
  if (h->emit)
    h->emit(h->opaque, &ev);
  g_free(attrs);
}

/* A number for JSON: C locale, `digits` decimals. */
static const char *
num(char *buf, double v, int digits)
{
  char fmt[8];
  g_snprintf(fmt, sizeof fmt, "%%.%df", CLAMP(digits, 0, 6));
  return g_ascii_formatd(buf, G_ASCII_DTOSTR_BUF_SIZE, fmt, isfinite(v) ? v : 0);
}

/* +1 when the condition starts, -1 when it ends, 0 otherwise. `began` is
 * when the candidate began as best known (ts unless the caller knows). */
static int
cond_step(cond_t *c, gboolean cand, gint64 ts, gint64 began, gint64 hold, gint64 release)
{
  if (!c->active) {
    if (!cand) {
      c->since = NO_TIME;
      return 0;
    }
    if (c->since == NO_TIME)
      c->since = began;
    if (ts - c->since < hold)
      return 0;
    c->active = TRUE;
    c->start_us = c->since;
    c->clear_since = NO_TIME;
    return 1;
  }
  if (cand) {
    c->clear_since = NO_TIME;
    return 0;
  }
  if (c->clear_since == NO_TIME)
    c->clear_since = ts;
  if (ts - c->clear_since < release)
    return 0;
  c->active = FALSE;
  c->since = NO_TIME;
  return -1;
}

cw_health_t *
cw_health_new(const cw_analytics_config_t *cfg, int width, int height, cw_analytics_emit_fn emit_fn,
              void *opaque)
{
  g_return_val_if_fail(cfg && width > 0 && height > 0, NULL);
  cw_health_t *h = g_new0(cw_health_t, 1);
  h->cfg = cfg;
  h->width = width;
  h->height = height;
  h->emit = emit_fn;
  h->opaque = opaque;
  h->next_incident = 1;
  h->last_ts = NO_TIME;
  h->anchor = g_malloc0((gsize)width * height);
  h->lw = width / SCALE;
  h->lh = height / SCALE;
  h->cw = h->lw / CELLS_X;
  h->ch = h->lh / CELLS_Y;
  gsize ln = (gsize)MAX(h->lw, 1) * MAX(h->lh, 1);
  h->acc = g_new0(guint32, ln);
  h->raw = g_new0(float, ln);
  h->cur = g_new0(float, ln);
  h->ref = g_new0(float, ln);
  h->pend = g_new0(float, ln);
  h->sims = g_new0(float, CELLS_X *CELLS_Y);
  h->blackout.since = h->frozen.since = h->defocus.since = NO_TIME;
  h->scene_since = NO_TIME;
  h->similarity = 1;
  return h;
}

/* The coarse picture from the block sums, smoothed with a 3x3 binomial
 * (edges clamped) so half a coarse pixel of shake hardly matters. */
static void
coarse(cw_health_t *h)
{
  int lw = h->lw, lh = h->lh;
  for (int i = 0; i < lw * lh; i++)
    h->raw[i] = (float)h->acc[i] / (SCALE * SCALE);
  for (int y = 0; y < lh; y++) {
    const float *r0 = h->raw + (gsize)MAX(y - 1, 0) * lw;
    const float *r1 = h->raw + (gsize)y * lw;
    const float *r2 = h->raw + (gsize)MIN(y + 1, lh - 1) * lw;
    for (int x = 0; x < lw; x++) {
      int xl = MAX(x - 1, 0), xr = MIN(x + 1, lw - 1);
      float c0 = r0[xl] + 2 * r0[x] + r0[xr];
      float c1 = r1[xl] + 2 * r1[x] + r1[xr];
      float c2 = r2[xl] + 2 * r2[x] + r2[xr];
      h->cur[(gsize)y * lw + x] = (c0 + 2 * c1 + c2) / 16;
    }
  }
}

static int
cmp_float(const void *a, const void *b)
{
  float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

/* Median over the reference's structured cells of the per-cell normalised
 * cross-correlation of a against ref; 1 when there is too little structure
 * to tell, 0 when most of it is gone. */
static double
similarity(cw_health_t *h, const float *a, const float *ref)
{
  if (h->cw < 3 || h->ch < 3)
    return 1;
  int n = 0, structured = 0, cw = h->cw, ch = h->ch, lw = h->lw;
  float area = (float)(cw * ch);
  for (int cy = 0; cy < CELLS_Y; cy++) {
    for (int cx = 0; cx < CELLS_X; cx++) {
      double sa = 0, sr = 0, saa = 0, srr = 0, sar = 0;
      for (int y = cy * ch; y < (cy + 1) * ch; y++) {
        const float *pa = a + (gsize)y * lw + cx * cw;
        const float *pr = ref + (gsize)y * lw + cx * cw;
        for (int x = 0; x < cw; x++) {
          sa += pa[x];
          sr += pr[x];
          saa += pa[x] * pa[x];
          srr += pr[x] * pr[x];
          sar += pa[x] * pr[x];
        }
      }
      double va = saa - sa * sa / area, vr = srr - sr * sr / area;
      if (vr < CELL_STRUCTURE_STD * CELL_STRUCTURE_STD * area)
        continue;
      structured++;
      /* Now flat where the reference had structure: something plain in
       * front (a truck close by) tells nothing either way. */
      if (va < CELL_STRUCTURE_STD * CELL_STRUCTURE_STD * area && va < 0.09 * vr)
        continue;
      h->sims[n++] = (float)((sar - sa * sr / area) / sqrt(va * vr));
    }
  }
  /* Most of the structure gone (aimed at a wall or the sky): a change. */
  if (structured >= MIN_CELLS && n < structured * 3 / 10)
    return 0;
  if (n < MIN_CELLS)
    return 1;
  qsort(h->sims, (size_t)n, sizeof(float), cmp_float);
  double med = n % 2 ? h->sims[n / 2] : (h->sims[n / 2 - 1] + h->sims[n / 2]) / 2;
  return CLAMP(med, 0.0, 1.0);
}

/* The one pass over the picture. Statistics come from every other row
 * (half the cost, the same means); the coarse picture from every pixel. */
static void
measure(cw_health_t *h, const cw_image_t *img)
{
  int w = h->width, ht = h->height, stride = img->y.stride;
  guint64 sum = 0, sumsq = 0, diff = 0, grad = 0, rows = 0;
  memset(h->acc, 0, sizeof(guint32) * (gsize)h->lw * h->lh);
  for (int y = 0; y < ht; y++) {
    const guint8 *p = img->y.data + (gsize)y * stride;
    if (y % 2 == 0 && y + 1 < ht) {
      const guint8 *a = h->anchor + (gsize)y * w;
      const guint8 *pn = p + stride;
      guint32 rs = 0, rsq = 0, rd = 0, rg = 0;
      for (int x = 0; x + 1 < w; x++) {
        int v = p[x];
        int gx = p[x + 1] - v, gy = pn[x] - v;
        rs += (guint32)v;
        rsq += (guint32)(v * v);
        rd += (guint32)abs(v - a[x]);
        rg += (guint32)(gx * gx + gy * gy);
      }
      sum += rs;
      sumsq += rsq;
      diff += rd;
      grad += rg;
      rows++;
    }
    int by = y / SCALE;
    if (by < h->lh) {
      guint32 *acc = h->acc + (gsize)by * h->lw;
      for (int bx = 0; bx < h->lw; bx++) {
        const guint8 *q = p + bx * SCALE;
        acc[bx] += (guint32)q[0] + q[1] + q[2] + q[3];
      }
    }
  }
  double n = (double)MAX(rows, 1) * MAX(w - 1, 1);
  h->luma = sum / n;
  double var = MAX(0.0, sumsq / n - h->luma * h->luma);
  h->stddev = sqrt(var);
  h->diff = h->have_anchor ? diff / n : G_MAXDOUBLE;
  coarse(h);
  /* Sharpness: gradient energy at full size over that of the coarse
   * picture (per full-size pixel). Blur takes the fine detail and leaves
   * the coarse structure; brightness and contrast scale both alike; smooth
   * things (glare, a large plain truck) weigh the same in both. */
  int lw = h->lw, lh = h->lh;
  double cg = 0;
  for (int y = 0; y + 1 < lh; y++) {
    const float *c = h->cur + (gsize)y * lw;
    for (int x = 0; x + 1 < lw; x++) {
      float gx = c[x + 1] - c[x], gy = c[x + lw] - c[x];
      cg += gx * gx + gy * gy;
    }
  }
  cg /= (double)MAX(lw - 1, 1) * MAX(lh - 1, 1) * (SCALE * SCALE);
  h->sharp = (grad / n) / (cg + 1.0);
}

static void
blackout_emit(cw_health_t *h, cw_phase_t phase, gint64 ts)
{
  char a[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE];
  emit(h, "camera.tamper.blackout", phase, h->blackout.incident, ts, h->blackout.start_us,
       "{\"luma\":%s,\"threshold\":%s}", num(a, h->luma, 1), num(b, h->cfg->t.blackout_luma, 1));
}

static void
frozen_emit(cw_health_t *h, cw_phase_t phase, gint64 ts)
{
  char a[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE];
  double d = h->diff == G_MAXDOUBLE ? 0 : h->diff;
  emit(h, "camera.tamper.frozen", phase, h->frozen.incident, ts, h->frozen.start_us,
       "{\"frozen_s\":%s,\"difference\":%s}", num(a, (ts - h->frozen.start_us) / 1e6, 1),
       num(b, d, 2));
}

static void
defocus_emit(cw_health_t *h, cw_phase_t phase, gint64 ts)
{
  char a[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE];
  emit(h, "camera.tamper.defocus", phase, h->defocus.incident, ts, h->defocus.start_us,
       "{\"sharpness\":%s,\"reference\":%s}", num(a, h->sharp, 4), num(b, h->sharp_ref, 4));
}

typedef void (*cond_emit_fn)(cw_health_t *h, cw_phase_t phase, gint64 ts);

static void
cond_report(cw_health_t *h, cond_t *c, int change, cond_emit_fn fn, gint64 ts)
{
  if (change > 0) {
    c->incident = h->next_incident++;
    fn(h, CW_PHASE_START, ts);
  } else if (change < 0) {
    fn(h, CW_PHASE_END, ts);
    c->incident = 0;
  }
}

gboolean
cw_health_update(cw_health_t *h, const cw_image_t *img)
{
  g_return_val_if_fail(h && img && img->y.data, FALSE);
  g_return_val_if_fail(img->y.width == h->width && img->y.height == h->height, FALSE);
  const cw_thresholds_t *th = &h->cfg->t;
  gint64 ts = img->ts_us;
  gint64 hold = (gint64)(th->tamper_s * 1e6);
  gint64 release = MIN(RELEASE_US, hold);
  gboolean scene_changed = FALSE;

  if (h->last_ts != NO_TIME && ts < h->last_ts) {
    /* Stream time went back (a new segment): nothing pending can be timed. */
    h->blackout.since = h->frozen.since = h->defocus.since = NO_TIME;
    h->scene_since = NO_TIME;
    h->have_anchor = FALSE;
  }
  double dt = h->last_ts == NO_TIME ? 0 : CLAMP((ts - h->last_ts) / 1e6, 0.0, 1.0);
  h->last_ts = ts;

  measure(h, img);

  /* Blackout: dark and flat. */
  gboolean black = h->luma < th->blackout_luma && h->stddev < FLAT_STD;
  cond_report(h, &h->blackout, cond_step(&h->blackout, black, ts, ts, hold, release), blackout_emit,
              ts);

  /* Frozen: nothing moved away from the anchor frame beyond noise. */
  gboolean still = h->diff < FROZEN_FLOOR;
  if (!still) {
    for (int y = 0; y < h->height; y++)
      memcpy(h->anchor + (gsize)y * h->width, img->y.data + (gsize)y * img->y.stride,
             (gsize)h->width);
    h->have_anchor = TRUE;
    h->anchor_ts = ts;
  }
  int change =
      cond_step(&h->frozen, still && !black, ts, h->anchor_ts, (gint64)(th->frozen_s * 1e6), 0);
  cond_report(h, &h->frozen, change, frozen_emit, ts);

  gboolean impaired = black || h->blackout.active || (still && !black) || h->frozen.active;

  /* Scene change against the reference scene. */
  gsize ln = (gsize)h->lw * h->lh;
  if (!h->have_ref) {
    if (!impaired) {
      memcpy(h->ref, h->cur, ln * sizeof(float));
      h->have_ref = TRUE;
      h->ref_since = ts;
    }
    h->similarity = 1;
  } else if (impaired) {
    h->scene_since = NO_TIME;
  } else {
    double before = h->similarity;
    h->similarity = similarity(h, h->cur, h->ref);
    if (h->similarity < th->scene_similarity) {
      if (h->scene_since == NO_TIME) {
        h->scene_since = ts;
        h->pend_n = 0;
        h->scene_drop = -1;
      }
      if (before - h->similarity > h->scene_drop) {
        h->scene_drop = before - h->similarity;
        h->scene_drop_at = ts;
      }
      /* The new reference: the mean over the hold, so a vehicle or a
       * headlight's glare at the last moment is not part of it. */
      h->pend_n++;
      for (gsize i = 0; i < ln; i++)
        h->pend[i] += (h->cur[i] - h->pend[i]) * (h->pend_n == 1 ? 1.0f : 1.0f / h->pend_n);
      if (ts - h->scene_since >= hold) {
        char a[G_ASCII_DTOSTR_BUF_SIZE];
        /* Dated when the picture changed most: that is when the camera
         * moved, the hold only made sure. */
        emit(h, "camera.tamper.scene_change", CW_PHASE_INSTANT, 0, ts, h->scene_drop_at,
             "{\"similarity\":%s}", num(a, h->similarity, 3));
        memcpy(h->ref, h->pend, ln * sizeof(float));
        h->ref_since = ts;
        h->scene_since = NO_TIME;
        /* The new scene's sharpness is learned afresh. */
        h->have_sharp = FALSE;
        h->defocus.since = NO_TIME;
        scene_changed = TRUE;
      }
    } else {
      h->scene_since = NO_TIME;
      /* Follow slow change: an average at first (traffic blurs out),
       * then an exponential with a time constant of a minute. */
      double alpha = ts - h->ref_since < LEARN_US ? 0.2 : dt / SCENE_TAU_S;
      for (gsize i = 0; i < ln; i++)
        h->ref[i] += (float)alpha * (h->cur[i] - h->ref[i]);
    }
  }

  /* Defocus: sharpness well below the reference learned while normal. */
  gboolean blurred = FALSE;
  if (!impaired && !scene_changed) {
    if (!h->have_sharp) {
      h->sharp_ref = h->sharp;
      h->have_sharp = TRUE;
      h->sharp_since = ts;
    } else {
      blurred = h->sharp < th->defocus_ratio * h->sharp_ref;
      if (!blurred && h->scene_since == NO_TIME) {
        double alpha = ts - h->sharp_since < LEARN_US ? 0.2 : dt / SHARP_TAU_S;
        h->sharp_ref += alpha * (h->sharp - h->sharp_ref);
      }
    }
  }
  /* While the picture is black or frozen, a defocus stays as it was. */
  if (!impaired || !h->defocus.active)
    cond_report(h, &h->defocus, cond_step(&h->defocus, blurred, ts, ts, hold, release),
                defocus_emit, ts);
  return scene_changed;
}

gboolean
cw_health_blind(const cw_health_t *h)
{
  return h && (h->blackout.active || h->frozen.active);
}

void
cw_health_flush(cw_health_t *h, gint64 ts_us)
{
  g_return_if_fail(h);
  if (h->blackout.active) {
    h->blackout.active = FALSE;
    blackout_emit(h, CW_PHASE_END, ts_us);
  }
  if (h->frozen.active) {
    h->frozen.active = FALSE;
    frozen_emit(h, CW_PHASE_END, ts_us);
  }
  if (h->defocus.active) {
    h->defocus.active = FALSE;
    defocus_emit(h, CW_PHASE_END, ts_us);
  }
  h->blackout.since = h->frozen.since = h->defocus.since = NO_TIME;
  h->scene_since = NO_TIME;
}

void
cw_health_free(cw_health_t *h)
{
  if (!h)
    return;
  g_free(h->anchor);
  g_free(h->acc);
  g_free(h->raw);
  g_free(h->cur);
  g_free(h->ref);
  g_free(h->pend);
  g_free(h->sims);
  g_free(h);
}
