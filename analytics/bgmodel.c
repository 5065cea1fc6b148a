/* Adaptive background model (issue 6); see bgmodel.h.
 *
 * Per luma pixel a float mean and variance; per chroma pixel a float mean.
 * Each frame:
 *   1. gain: the median ratio frame / mean over last frame's background
 *      pixels; mean (and variance) are rescaled by it at once, so a global
 *      change of brightness never reaches the classifier;
 *   2. candidates: |Y - mean| > k_sigma * max(sigma, min_sigma) (a flat
 *      loop the compiler vectorises);
 *   3. for the few candidates only: shadow (darker by a ratio in
 *      [shadow_lo, shadow_hi] with the background's chroma), then camera
 *      shake (the value lies between the background here and a pixel or
 *      two away, within k_sigma / 2: an edge that moved; background);
 *   4. update: background pixels learn at learn_rate, foreground and shadow
 *      at learn_rate * fg_learn_factor; variance only from background.
 * Warm-up: the first warmup_frames frames are kept (at most WARM_MAX of
 * them) and the background starts as their per-pixel median, the variance
 * as their median absolute deviation: a vehicle passing during warm-up
 * leaves no ghost, an edge that shakes starts with a wide variance. Then
 * a settling period (2 x warmup_frames) in which foreground learns fast
 * too, for what stood still through warm-up. */
#include "bgmodel.h"

#include <math.h>
#include <string.h>

#define WARM_MAX 15 /* warm-up frames kept for the median */
#define GAIN_BINS 512
#define GAIN_LO 0.5f
#define GAIN_HI 2.0f
#define GAIN_MIN_SAMPLES 200
#define MAX_SIGMA 30.0f /* a pixel never gets blinder than this */
/* After warm-up, for twice as long again, everything learns at least this
 * fast: what the median still got wrong (traffic queued through warm-up)
 * fades in seconds instead of lingering as a ghost for minutes. */
#define SETTLE_RATE 0.1f
/* Internal class of a held pixel (cw_bg_hold) classified background: it
 * learns as foreground. */
#define CW_BG_HELD 1
/* Learning steps at most this often (stream time), less a frame's jitter. */
#define LEARN_EVERY_US 180000

struct cw_bgmodel {
  int w, h;   /* luma */
  int cw, ch; /* chroma, half size rounded up */
  cw_bg_options_t o;
  float *mean, *var;    /* w*h */
  float *umean, *vmean; /* cw*ch */
  guint8 *cls;          /* last classification, w*h */
  guint8 *mean8;        /* cw_bg_mean's, w*h */
  guint frames;         /* frames seen since new or reset */
  const guint8 *hold;   /* cw_bg_hold's, or NULL */
  gint64 learnt_us;     /* stream time of the last learning step; G_MININT64 none */
  gboolean have_chroma;
  /* Warm-up: up to WARM_MAX frames, each w*h luma then 2*cw*ch chroma. */
  guint8 *warm;
  guint n_warm;
  guint32 gain_hist[GAIN_BINS];
};

static void
defaults(cw_bg_options_t *o, const cw_bg_options_t *in)
{
  cw_bg_options_t z = {0};
  if (in)
    z = *in;
  o->learn_rate = z.learn_rate > 0 ? z.learn_rate : 0.02f;
  o->fg_learn_factor = z.fg_learn_factor > 0 ? z.fg_learn_factor : 0.01f;
  o->k_sigma = z.k_sigma > 0 ? z.k_sigma : 3.0f;
  o->min_sigma = z.min_sigma > 0 ? z.min_sigma : 6.0f;
  o->shadow_lo = z.shadow_lo > 0 ? z.shadow_lo : 0.45f;
  o->shadow_hi = z.shadow_hi > 0 ? z.shadow_hi : 0.92f;
  o->shadow_chroma = z.shadow_chroma > 0 ? z.shadow_chroma : 10.0f;
  o->warmup_frames = z.warmup_frames > 0 ? z.warmup_frames : 10;
}

cw_bgmodel_t *
cw_bg_new(int width, int height, const cw_bg_options_t *options)
{
  g_return_val_if_fail(width > 0 && height > 0, NULL);
  cw_bgmodel_t *m = g_new0(cw_bgmodel_t, 1);
  m->w = width;
  m->h = height;
  m->cw = (width + 1) / 2;
  m->ch = (height + 1) / 2;
  defaults(&m->o, options);
  size_t n = (size_t)width * height, nc = (size_t)m->cw * m->ch;
  m->mean = g_new0(float, n);
  m->var = g_new0(float, n);
  m->umean = g_new0(float, nc);
  m->vmean = g_new0(float, nc);
  m->cls = g_new0(guint8, n);
  m->mean8 = g_new0(guint8, n);
  m->learnt_us = G_MININT64;
  return m;
}

void
cw_bg_hold(cw_bgmodel_t *m, const guint8 *hold)
{
  m->hold = hold;
}

void
cw_bg_reset(cw_bgmodel_t *m)
{
  m->frames = 0;
  m->n_warm = 0;
  m->learnt_us = G_MININT64;
  g_clear_pointer(&m->warm, g_free);
  memset(m->cls, CW_BG_BACKGROUND, (size_t)m->w * m->h);
}

void
cw_bg_free(cw_bgmodel_t *m)
{
  if (!m)
    return;
  g_free(m->warm);
  g_free(m->mean);
  g_free(m->var);
  g_free(m->umean);
  g_free(m->vmean);
  g_free(m->cls);
  g_free(m->mean8);
  g_free(m);
}

const guint8 *
cw_bg_mean(const cw_bgmodel_t *m)
{
  return m->mean8;
}

static void
to_mean8(cw_bgmodel_t *m)
{
  size_t n = (size_t)m->w * m->h;
  const float *mean = m->mean;
  guint8 *out = m->mean8;
  for (size_t i = 0; i < n; i++) {
    float v = mean[i] + 0.5f;
    v = v < 0 ? 0 : v > 255 ? 255 : v;
    out[i] = (guint8)v;
  }
}

static float
chroma_at(const cw_plane_t *p, int x, int y)
{
  return p->data[(size_t)y * p->stride + x];
}

/* ---- warm-up -------------------------------------------------------------- */

/* Median of v[0..n), n <= WARM_MAX; v is reordered. */
static float
median(float *v, guint n)
{
  for (guint i = 1; i < n; i++) {
    float x = v[i];
    guint j = i;
    for (; j > 0 && v[j - 1] > x; j--)
      v[j] = v[j - 1];
    v[j] = x;
  }
  return (n & 1) ? v[n / 2] : 0.5f * (v[n / 2 - 1] + v[n / 2]);
}

static void
warm_keep(cw_bgmodel_t *m, const cw_image_t *img)
{
  size_t n = (size_t)m->w * m->h, nc = (size_t)m->cw * m->ch;
  size_t fsz = n + 2 * nc;
  guint keep = MIN(m->o.warmup_frames, WARM_MAX);
  if (!m->warm)
    m->warm = g_malloc(fsz * keep);
  /* Only the last `keep` warm-up frames are kept: the ring overwrites. */
  guint8 *f = m->warm + fsz * (m->frames % keep);
  for (int y = 0; y < m->h; y++)
    memcpy(f + (size_t)y * m->w, img->y.data + (size_t)y * img->y.stride, m->w);
  guint8 *u = f + n, *v = u + nc;
  for (int y = 0; y < m->ch; y++)
    for (int x = 0; x < m->cw; x++) {
      u[(size_t)y * m->cw + x] = m->have_chroma ? (guint8)chroma_at(&img->u, x, y) : 128;
      v[(size_t)y * m->cw + x] = m->have_chroma ? (guint8)chroma_at(&img->v, x, y) : 128;
    }
  m->n_warm = MIN(m->n_warm + 1, keep);
}

static void
warm_finish(cw_bgmodel_t *m)
{
  size_t n = (size_t)m->w * m->h, nc = (size_t)m->cw * m->ch;
  size_t fsz = n + 2 * nc;
  guint k = m->n_warm;
  float s[WARM_MAX], min2 = m->o.min_sigma * m->o.min_sigma, max2 = MAX_SIGMA * MAX_SIGMA;
  for (size_t i = 0; i < n; i++) {
    for (guint j = 0; j < k; j++)
      s[j] = m->warm[fsz * j + i];
    float med = median(s, k);
    for (guint j = 0; j < k; j++)
      s[j] = fabsf(s[j] - med);
    float sig = 1.4826f * median(s, k);
    m->mean[i] = med;
    m->var[i] = CLAMP(sig * sig, min2, max2);
  }
  for (size_t i = 0; i < nc; i++) {
    for (guint j = 0; j < k; j++)
      s[j] = m->warm[fsz * j + n + i];
    m->umean[i] = median(s, k);
    for (guint j = 0; j < k; j++)
      s[j] = m->warm[fsz * j + n + nc + i];
    m->vmean[i] = median(s, k);
  }
  g_clear_pointer(&m->warm, g_free);
  m->n_warm = 0;
}

/* ---- gain ----------------------------------------------------------------- */

/* The median of frame / background over last frame's background pixels
 * (every other row, every fourth column: plenty), 1 when too few are
 * known. */
static float
estimate_gain(cw_bgmodel_t *m, const cw_image_t *img)
{
  guint32 *hist = m->gain_hist;
  memset(hist, 0, sizeof m->gain_hist);
  const float scale = GAIN_BINS / (GAIN_HI - GAIN_LO);
  guint total = 0;
  for (int y = 0; y < m->h; y += 2) {
    const guint8 *row = img->y.data + (size_t)y * img->y.stride;
    const float *mean = m->mean + (size_t)y * m->w;
    const guint8 *cls = m->cls + (size_t)y * m->w;
    for (int x = 0; x < m->w; x += 4) {
      /* Dark and clipped pixels say little about a ratio. */
      if (cls[x] != CW_BG_BACKGROUND || mean[x] < 16.0f || mean[x] > 240.0f || row[x] >= 250)
        continue;
      int b = (int)((row[x] / mean[x] - GAIN_LO) * scale);
      b = CLAMP(b, 0, GAIN_BINS - 1);
      hist[b]++;
      total++;
    }
  }
  if (total < GAIN_MIN_SAMPLES)
    return 1.0f;
  guint half = total / 2, cum = 0;
  int b = 0;
  while (cum + hist[b] <= half)
    cum += hist[b++];
  /* Within the bin, interpolate so the estimate is smooth, not stepped. */
  float frac = hist[b] ? (float)(half - cum) / hist[b] : 0.5f;
  return GAIN_LO + (b + frac) / scale;
}

/* ---- classification ------------------------------------------------------- */

/* Camera shake: the value lies between the background here and one pixel
 * away, or between one and two pixels away along the same line (a shift
 * of up to two pixels, sub-pixel ones blending neighbours). tol is in luma
 * units. */
static const int shake_dx[] = {-1, 1, 0, 0, -1, 1, -1, 1};
static const int shake_dy[] = {0, 0, -1, 1, -1, -1, 1, 1};

static gboolean
between(float v, float a, float b, float tol)
{
  return v >= MIN(a, b) - tol && v <= MAX(a, b) + tol;
}

static gboolean
shaken(const cw_bgmodel_t *m, int x, int y, float val, float tol)
{
  const int w = m->w, h = m->h;
  const float mc = m->mean[(size_t)y * w + x];
  for (guint k = 0; k < G_N_ELEMENTS(shake_dx); k++) {
    int x1 = x + shake_dx[k], y1 = y + shake_dy[k];
    if (x1 < 0 || y1 < 0 || x1 >= w || y1 >= h)
      continue;
    float m1 = m->mean[(size_t)y1 * w + x1];
    if (between(val, mc, m1, tol))
      return TRUE;
    int x2 = x1 + shake_dx[k], y2 = y1 + shake_dy[k];
    if (x2 < 0 || y2 < 0 || x2 >= w || y2 >= h)
      continue;
    if (between(val, m1, m->mean[(size_t)y2 * w + x2], tol))
      return TRUE;
  }
  return FALSE;
}

static gboolean
is_shadow(const cw_bgmodel_t *m, const cw_image_t *img, int x, int y, float val, float mean)
{
  if (!m->have_chroma || val >= mean)
    return FALSE;
  float r = val / mean;
  if (r < m->o.shadow_lo || r > m->o.shadow_hi)
    return FALSE;
  int cx = x / 2, cy = y / 2;
  float u = chroma_at(&img->u, cx, cy) - 128.0f, v = chroma_at(&img->v, cx, cy) - 128.0f;
  size_t ci = (size_t)cy * m->cw + cx;
  float um = m->umean[ci] - 128.0f, vm = m->vmean[ci] - 128.0f, t = m->o.shadow_chroma;
  /* Same chroma, or chroma scaled with the light as when RGB is scaled. */
  if (fabsf(u - um) <= t && fabsf(v - vm) <= t)
    return TRUE;
  return fabsf(u - r * um) <= t && fabsf(v - r * vm) <= t;
}

/* Spans of SPAN pixels have a trip count the compiler knows, so the loops
 * below vectorise even at -O2 (GCC's cheap cost model); the rest of a
 * row goes through the same function with its own count. */
#define SPAN 16

typedef struct {
  float g, g2, min2, max2, k2, a, af;
} consts_t;

/* Rescale by the gain and mark the candidates (255) in one go. */
static G_ALWAYS_INLINE inline void
candidates_span(const guint8 *restrict src, float *restrict mean, float *restrict var,
                guint8 *restrict cls, int n, const consts_t *c)
{
  const float g = c->g, g2 = c->g2, min2 = c->min2, max2 = c->max2, k2 = c->k2;
  for (int i = 0; i < n; i++) {
    float mv = mean[i] * g, v = var[i] * g2;
    v = v < min2 ? min2 : v;
    v = v > max2 ? max2 : v;
    float d = (float)src[i] - mv;
    mean[i] = mv;
    var[i] = v;
    cls[i] = d * d > k2 * v ? CW_BG_FOREGROUND : CW_BG_BACKGROUND;
  }
}

/* Learn, and the byte copy of the mean for cw_bg_mean. */
static G_ALWAYS_INLINE inline void
learn_span(const guint8 *restrict src, float *restrict mean, float *restrict var,
           const guint8 *restrict cls, guint8 *restrict mean8, int n, const consts_t *c)
{
  const float a = c->a, af = c->af, min2 = c->min2, max2 = c->max2;
  for (int i = 0; i < n; i++) {
    float mv = mean[i], d = (float)src[i] - mv;
    int bg = cls[i] == CW_BG_BACKGROUND;
    float r = bg ? a : af, rv = bg ? a : 0.0f;
    mv += r * d;
    float v = var[i] + rv * (d * d - var[i]);
    v = v < min2 ? min2 : v;
    v = v > max2 ? max2 : v;
    mean[i] = mv;
    var[i] = v;
    int b = (int)(mv + 0.5f);
    b = b < 0 ? 0 : b;
    b = b > 255 ? 255 : b;
    mean8[i] = (guint8)b;
  }
}

/* Chroma learns with the class of the luma pixel at (2x, 2y). */
static G_ALWAYS_INLINE inline void
learn_chroma_span(const guint8 *restrict ur, const guint8 *restrict vr, const guint8 *restrict cls,
                  float *restrict um, float *restrict vm, int n, const consts_t *c)
{
  const float a = c->a, af = c->af;
  for (int i = 0; i < n; i++) {
    float r = cls[2 * i] == CW_BG_BACKGROUND ? a : af;
    um[i] += r * ((float)ur[i] - um[i]);
    vm[i] += r * ((float)vr[i] - vm[i]);
  }
}

float
cw_bg_apply(cw_bgmodel_t *m, const cw_image_t *img, guint8 *mask)
{
  g_return_val_if_fail(img->y.width == m->w && img->y.height == m->h, 0.0f);
  const int w = m->w, h = m->h;
  const size_t n = (size_t)w * h;
  const cw_bg_options_t *o = &m->o;
  consts_t c = {
      .g = 1.0f,
      .g2 = 1.0f,
      .min2 = o->min_sigma * o->min_sigma,
      .max2 = MAX_SIGMA * MAX_SIGMA,
      .k2 = o->k_sigma * o->k_sigma,
      .a = o->learn_rate,
      .af = o->learn_rate * o->fg_learn_factor,
  };
  m->have_chroma = img->u.data && img->v.data && img->u.width >= m->cw && img->u.height >= m->ch &&
                   img->v.width >= m->cw && img->v.height >= m->ch;

  if (m->frames < o->warmup_frames) {
    /* Until the median is known: a running mean, so cw_bg_mean means
     * something, and no foreground at all. */
    float r = 1.0f / (m->frames + 1);
    for (int y = 0; y < h; y++) {
      const guint8 *row = img->y.data + (size_t)y * img->y.stride;
      float *mean = m->mean + (size_t)y * w;
      for (int x = 0; x < w; x++)
        mean[x] += r * (row[x] - mean[x]);
    }
    warm_keep(m, img);
    m->frames++;
    if (m->frames == o->warmup_frames)
      warm_finish(m);
    to_mean8(m);
    memset(m->cls, CW_BG_BACKGROUND, n);
    memcpy(mask, m->cls, n);
    return 0.0f;
  }

  /* 1. Follow the light at once; 2. candidates, branch-free. */
  c.g = estimate_gain(m, img);
  c.g2 = c.g * c.g;
  if (m->frames < 3 * o->warmup_frames) {
    c.a = MAX(c.a, SETTLE_RATE);
    c.af = c.a;
  }
  for (int y = 0; y < h; y++) {
    const guint8 *row = img->y.data + (size_t)y * img->y.stride;
    float *mean = m->mean + (size_t)y * w, *var = m->var + (size_t)y * w;
    guint8 *cls = m->cls + (size_t)y * w;
    int x = 0;
    for (; x + SPAN <= w; x += SPAN)
      candidates_span(row + x, mean + x, var + x, cls + x, SPAN, &c);
    candidates_span(row + x, mean + x, var + x, cls + x, w - x, &c);
  }
  if (m->have_chroma && c.g != 1.0f) {
    size_t nc = (size_t)m->cw * m->ch;
    for (size_t i = 0; i < nc; i++) {
      m->umean[i] = 128.0f + (m->umean[i] - 128.0f) * c.g;
      m->vmean[i] = 128.0f + (m->vmean[i] - 128.0f) * c.g;
    }
  }

  /* 3. The candidates only: shake, then shadow. */
  guint fg = 0;
  for (int y = 0; y < h; y++) {
    const guint8 *row = img->y.data + (size_t)y * img->y.stride;
    guint8 *cls = m->cls + (size_t)y * w;
    int x = 0;
    while (x < w) {
      /* Most of a row is background: skip it eight bytes at a time. */
      guint64 word;
      if (x + 8 <= w && (memcpy(&word, cls + x, 8), word == 0)) {
        x += 8;
        continue;
      }
      if (cls[x] == CW_BG_BACKGROUND) {
        x++;
        continue;
      }
      size_t i = (size_t)y * w + x;
      /* Shadow first: a shadow on a rough road can look like a shift. */
      float val = row[x];
      if (is_shadow(m, img, x, y, val, m->mean[i]))
        cls[x] = CW_BG_SHADOW;
      else if (shaken(m, x, y, val, 0.5f * o->k_sigma * sqrtf(MAX(m->var[i], c.min2))))
        cls[x] = CW_BG_BACKGROUND;
      else
        fg++;
      x++;
    }
  }

  /* The classification is out; held pixels then learn as foreground
   * (and count as such for the next frame's gain). */
  memcpy(mask, m->cls, n);
  if (m->hold) {
    const guint8 *restrict hold = m->hold;
    guint8 *restrict cls = m->cls;
    for (size_t i = 0; i < n;) {
      /* Mostly nothing is held: skip it eight bytes at a time. */
      guint64 word;
      if (i + 8 <= n && (memcpy(&word, hold + i, 8), word == 0)) {
        i += 8;
        continue;
      }
      if (hold[i] && cls[i] == CW_BG_BACKGROUND)
        cls[i] = CW_BG_HELD;
      i++;
    }
  }

  /* 4. Learn: the background fast, the rest slowly; variance only from
   * the background, so a stopped vehicle does not blind its pixels. At
   * most every LEARN_EVERY_US of stream time once settled: the rates are
   * per step, so the model keeps the same pace in seconds whether a
   * camera is analysed at 5 frames a second or 25 (and the step, the
   * dearest part, is not paid for every frame). */
  gboolean settling = m->frames < 3 * o->warmup_frames;
  gint64 since = img->ts_us - m->learnt_us;
  if (!settling && m->learnt_us != G_MININT64 && since >= 0 && since < LEARN_EVERY_US) {
    m->frames++;
    return (float)fg / (float)n;
  }
  m->learnt_us = img->ts_us;
  for (int y = 0; y < h; y++) {
    const guint8 *row = img->y.data + (size_t)y * img->y.stride;
    float *mean = m->mean + (size_t)y * w, *var = m->var + (size_t)y * w;
    const guint8 *cls = m->cls + (size_t)y * w;
    guint8 *mean8 = m->mean8 + (size_t)y * w;
    int x = 0;
    for (; x + SPAN <= w; x += SPAN)
      learn_span(row + x, mean + x, var + x, cls + x, mean8 + x, SPAN, &c);
    learn_span(row + x, mean + x, var + x, cls + x, mean8 + x, w - x, &c);
  }
  if (m->have_chroma) {
    for (int y = 0; y < m->ch; y++) {
      const guint8 *ur = img->u.data + (size_t)y * img->u.stride;
      const guint8 *vr = img->v.data + (size_t)y * img->v.stride;
      const guint8 *cls = m->cls + (size_t)MIN(2 * y, h - 1) * w;
      float *um = m->umean + (size_t)y * m->cw, *vm = m->vmean + (size_t)y * m->cw;
      int x = 0, whole = w / 2; /* chroma pixels with a luma pixel at 2x */
      for (; x + SPAN <= whole; x += SPAN)
        learn_chroma_span(ur + x, vr + x, cls + 2 * x, um + x, vm + x, SPAN, &c);
      learn_chroma_span(ur + x, vr + x, cls + 2 * x, um + x, vm + x, whole - x, &c);
      if (whole < m->cw) /* odd width: the last column */
        learn_chroma_span(ur + whole, vr + whole, cls + w - 1, um + whole, vm + whole, 1, &c);
    }
  }
  m->frames++;
  return (float)fg / (float)n;
}
