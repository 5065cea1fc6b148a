/* The vision modules of analytics (issue 6) on pictures made here: a
 * textured road-like background with sensor noise (sigma 3), boxes for
 * vehicles, cast shadows (0.6x, same chroma), light ramps and steps. No
 * files. The background model, blobs and tracker are checked one at a
 * time; `speed` runs all three and prints what a frame costs. */
#include <math.h>
#include <string.h>
#include <time.h>

#include "bgmodel.h"
#include "blobs.h"
#include "perspective.h"
#include "tracker.h"

#define W 320
#define H 180
#define FRAME_US 200000 /* 5 fps */
#define NOISE_SIGMA 3.0
#define NOISE_N (1 << 16)

/* ---- synthetic scenes ------------------------------------------------------ */

typedef struct {
  float *bg_y, *bg_u, *bg_v; /* the empty scene at gain 1 */
  float *y, *u, *v;          /* the frame being drawn */
  guint8 *py, *pu, *pv;      /* the frame as the camera gives it */
  cw_image_t img;
  GRand *rand;
  float noise[NOISE_N];
  gint64 ts_us;
  gint64 frame_us; /* between frames; FRAME_US unless a test says */
} scene_t;

static scene_t *
scene_new(guint32 seed)
{
  scene_t *s = g_new0(scene_t, 1);
  s->frame_us = FRAME_US;
  /* VISION_SEED=n: other pictures of the same kind (a soak run). */
  const char *more = g_getenv("VISION_SEED");
  s->rand = g_rand_new_with_seed(seed + (more ? (guint32)g_ascii_strtoull(more, NULL, 10) : 0));
  for (int i = 0; i < NOISE_N; i += 2) {
    /* Box-Muller. */
    double u1 = g_rand_double_range(s->rand, 1e-12, 1.0), u2 = g_rand_double(s->rand);
    double r = sqrt(-2 * log(u1)) * NOISE_SIGMA;
    s->noise[i] = (float)(r * cos(2 * G_PI * u2));
    s->noise[i + 1] = (float)(r * sin(2 * G_PI * u2));
  }
  s->bg_y = g_new(float, W *H);
  s->bg_u = g_new(float, W *H / 4);
  s->bg_v = g_new(float, W *H / 4);
  s->y = g_new(float, W *H);
  s->u = g_new(float, W *H / 4);
  s->v = g_new(float, W *H / 4);
  s->py = g_new(guint8, W * H);
  s->pu = g_new(guint8, W * H / 4);
  s->pv = g_new(guint8, W * H / 4);
  /* Smooth shading, a lane marking and fine grain: texture a shake would
   * show, a gain would scale. */
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      float v = 100 + 30 * sinf(x / 7.0f) * cosf(y / 9.0f) + 15 * sinf((x + 2 * y) / 13.0f) +
                g_rand_int_range(s->rand, -8, 9);
      if (y >= 100 && y < 103)
        v = 200;
      s->bg_y[y * W + x] = v;
    }
  for (int y = 0; y < H / 2; y++)
    for (int x = 0; x < W / 2; x++) {
      s->bg_u[y * W / 2 + x] = 128 + 6 * sinf(x / 11.0f);
      s->bg_v[y * W / 2 + x] = 128 + 6 * cosf(y / 13.0f);
    }
  s->img.y = (cw_plane_t){s->py, W, H, W};
  s->img.u = (cw_plane_t){s->pu, W / 2, H / 2, W / 2};
  s->img.v = (cw_plane_t){s->pv, W / 2, H / 2, W / 2};
  return s;
}

static void
scene_free(scene_t *s)
{
  g_rand_free(s->rand);
  g_free(s->bg_y);
  g_free(s->bg_u);
  g_free(s->bg_v);
  g_free(s->y);
  g_free(s->u);
  g_free(s->v);
  g_free(s->py);
  g_free(s->pu);
  g_free(s->pv);
  g_free(s);
}

/* The empty scene under a light of `gain` (RGB scaled: chroma too). */
static void
scene_begin(scene_t *s, float gain)
{
  for (int i = 0; i < W * H; i++)
    s->y[i] = s->bg_y[i] * gain;
  for (int i = 0; i < W * H / 4; i++) {
    s->u[i] = 128 + (s->bg_u[i] - 128) * gain;
    s->v[i] = 128 + (s->bg_v[i] - 128) * gain;
  }
}

/* The empty scene moved by (dx, dy) pixels: camera shake. */
static void
scene_begin_shifted(scene_t *s, int dx, int dy)
{
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      s->y[y * W + x] = s->bg_y[CLAMP(y - dy, 0, H - 1) * W + CLAMP(x - dx, 0, W - 1)];
  for (int y = 0; y < H / 2; y++)
    for (int x = 0; x < W / 2; x++) {
      int sy = CLAMP(y - dy / 2, 0, H / 2 - 1), sx = CLAMP(x - dx / 2, 0, W / 2 - 1);
      s->u[y * W / 2 + x] = s->bg_u[sy * W / 2 + sx];
      s->v[y * W / 2 + x] = s->bg_v[sy * W / 2 + sx];
    }
}

static gboolean
clip_box(int *x, int *y, int *w, int *h)
{
  int x0 = MAX(*x, 0), y0 = MAX(*y, 0), x1 = MIN(*x + *w, W), y1 = MIN(*y + *h, H);
  *x = x0;
  *y = y0;
  *w = x1 - x0;
  *h = y1 - y0;
  return *w > 0 && *h > 0;
}

/* A vehicle: a flat box of that colour. */
static void
scene_box(scene_t *s, int x, int y, int w, int h, float Y, float U, float V)
{
  if (!clip_box(&x, &y, &w, &h))
    return;
  for (int j = y; j < y + h; j++)
    for (int i = x; i < x + w; i++) {
      s->y[j * W + i] = Y;
      s->u[(j / 2) * W / 2 + i / 2] = U;
      s->v[(j / 2) * W / 2 + i / 2] = V;
    }
}

/* A cast shadow: darker by factor, chroma as it was. */
static void
scene_shadow(scene_t *s, int x, int y, int w, int h, float factor)
{
  if (!clip_box(&x, &y, &w, &h))
    return;
  for (int j = y; j < y + h; j++)
    for (int i = x; i < x + w; i++)
      s->y[j * W + i] *= factor;
}

static guint8
clamp8(float v)
{
  v = roundf(v);
  return v < 0 ? 0 : v > 255 ? 255 : (guint8)v;
}

/* Sensor noise (a fresh stretch of the table each frame), to bytes. */
static const cw_image_t *
scene_end(scene_t *s)
{
  guint off = (guint)g_rand_int(s->rand), step = (guint)g_rand_int_range(s->rand, 1, 4096) * 2 + 1;
  for (int i = 0; i < W * H; i++)
    s->py[i] = clamp8(s->y[i] + s->noise[(off + (guint)i * step) & (NOISE_N - 1)]);
  off = (guint)g_rand_int(s->rand);
  for (int i = 0; i < W * H / 4; i++) {
    s->pu[i] = clamp8(s->u[i] + 0.5f * s->noise[(off + (guint)i * 7919) & (NOISE_N - 1)]);
    s->pv[i] = clamp8(s->v[i] + 0.5f * s->noise[(off + (guint)i * 104729) & (NOISE_N - 1)]);
  }
  s->img.ts_us = s->ts_us;
  s->ts_us += s->frame_us;
  return &s->img;
}

/* Fraction of the box (clipped to the picture) whose mask is value. */
static float
mask_fraction(const guint8 *mask, int x, int y, int w, int h, guint8 value)
{
  if (!clip_box(&x, &y, &w, &h))
    return 0;
  int hit = 0;
  for (int j = y; j < y + h; j++)
    for (int i = x; i < x + w; i++)
      hit += mask[j * W + i] == value;
  return (float)hit / (w * h);
}

/* ---- background model ------------------------------------------------------ */

static void
test_bg_static_noise(void)
{
  scene_t *s = scene_new(1);
  cw_bgmodel_t *m = cw_bg_new(W, H, NULL);
  guint8 *mask = g_malloc(W * H);
  float worst = 0;
  for (int f = 0; f < 150; f++) {
    scene_begin(s, 1.0f);
    float fg = cw_bg_apply(m, scene_end(s), mask);
    if (f < 10)
      g_assert_cmpfloat(fg, ==, 0.0f); /* warm-up */
    else
      worst = MAX(worst, fg);
  }
  g_test_message("worst foreground fraction %.5f", worst);
  g_assert_cmpfloat(worst, <, 0.001f);
  /* The background learned is the scene, not the noise. */
  const guint8 *mean = cw_bg_mean(m);
  double err = 0;
  for (int i = 0; i < W * H; i++)
    err += fabs(mean[i] - s->bg_y[i]);
  g_assert_cmpfloat(err / (W * H), <, 1.5);
  /* After a reset, a warm-up again. */
  cw_bg_reset(m);
  scene_begin(s, 1.0f);
  scene_box(s, 10, 10, 50, 50, 250, 128, 128);
  g_assert_cmpfloat(cw_bg_apply(m, scene_end(s), mask), ==, 0.0f);
  g_free(mask);
  cw_bg_free(m);
  scene_free(s);
}

static void
test_bg_light_ramp(void)
{
  scene_t *s = scene_new(2);
  cw_bgmodel_t *m = cw_bg_new(W, H, NULL);
  guint8 *mask = g_malloc(W * H);
  float worst = 0, gain = 1.0f;
  for (int f = 0; f < 20; f++) {
    scene_begin(s, gain);
    cw_bg_apply(m, scene_end(s), mask);
  }
  /* -40% over 300 frames (60 s at 5 fps), then auto-exposure steps of
   * +15% and -15%, each held 30 frames. */
  for (int f = 0; f < 390; f++) {
    if (f < 300)
      gain = 1.0f - 0.4f * (f + 1) / 300.0f;
    else if (f == 300)
      gain *= 1.15f;
    else if (f == 330)
      gain *= 0.85f;
    else if (f == 360)
      gain *= 1.15f;
    scene_begin(s, gain);
    float fg = cw_bg_apply(m, scene_end(s), mask);
    if (fg >= 0.01f)
      g_test_message("frame %d gain %.3f: foreground %.4f", f, gain, fg);
    worst = MAX(worst, fg);
    g_assert_cmpfloat(fg, <, 0.01f);
  }
  g_test_message("worst foreground fraction %.5f", worst);
  g_free(mask);
  cw_bg_free(m);
  scene_free(s);
}

static void
test_bg_shake(void)
{
  scene_t *s = scene_new(6);
  cw_bgmodel_t *m = cw_bg_new(W, H, NULL);
  guint8 *mask = g_malloc(W * H), *scratch = g_malloc(2 * W * H);
  GArray *blobs = g_array_new(FALSE, FALSE, sizeof(cw_blob_t));
  float worst = 0, sum = 0;
  guint worst_blobs = 0;
  for (int f = 0; f < 200; f++) {
    /* Still through warm-up, then shaking up to 2 px each way. */
    int dx = f < 10 ? 0 : g_rand_int_range(s->rand, -2, 3);
    int dy = f < 10 ? 0 : g_rand_int_range(s->rand, -2, 3);
    scene_begin_shifted(s, dx, dy);
    float fg = cw_bg_apply(m, scene_end(s), mask);
    if (f < 30)
      continue;
    g_array_set_size(blobs, 0);
    worst_blobs = MAX(worst_blobs, cw_blobs_find(mask, W, H, 46, scratch, blobs));
    worst = MAX(worst, fg);
    sum += fg;
  }
  g_test_message("shake: worst foreground fraction %.5f, mean %.5f, %u blobs at most", worst,
                 sum / 170, worst_blobs);
  /* A few edge pixels flicker (under 1% on most frames, 0.2-0.8% on
   * average across seeds); none survives into a blob. */
  g_assert_cmpfloat(worst, <, 0.02f);
  g_assert_cmpfloat(sum / 170, <, 0.01f);
  g_assert_cmpuint(worst_blobs, ==, 0);
  g_array_unref(blobs);
  g_free(scratch);
  g_free(mask);
  cw_bg_free(m);
  scene_free(s);
}

static void
test_bg_object(void)
{
  scene_t *s = scene_new(3);
  cw_bgmodel_t *m = cw_bg_new(W, H, NULL);
  guint8 *mask = g_malloc(W * H);
  for (int f = 0; f < 30; f++) {
    scene_begin(s, 1.0f);
    cw_bg_apply(m, scene_end(s), mask);
  }
  float worst_box = 1, worst_shadow = 1;
  for (int f = 0; f < 40; f++) {
    int x = 20 + 6 * f, y = 60, w = 40, h = 20;
    scene_begin(s, 1.0f);
    /* The shadow falls below and to the right of the vehicle. */
    scene_shadow(s, x + 8, y + 8, w, h + 6, 0.6f);
    scene_box(s, x, y, w, h, 220, 110, 150);
    cw_bg_apply(m, scene_end(s), mask);
    if (x + w > W)
      continue;
    float box = mask_fraction(mask, x, y, w, h, CW_BG_FOREGROUND);
    /* The shadow's own pixels: the L below and right of the box. */
    int sh = 0, sh_n = 0;
    for (int j = y + 8; j < MIN(y + h + 14, H); j++)
      for (int i = x + 8; i < MIN(x + w + 8, W); i++) {
        if (i < x + w && j < y + h)
          continue;
        sh_n++;
        sh += mask[j * W + i] == CW_BG_SHADOW;
      }
    worst_box = MIN(worst_box, box);
    worst_shadow = MIN(worst_shadow, (float)sh / sh_n);
  }
  g_test_message("worst box foreground %.3f, worst shadow as shadow %.3f", worst_box, worst_shadow);
  g_assert_cmpfloat(worst_box, >=, 0.8f);
  g_assert_cmpfloat(worst_shadow, >=, 0.7f);
  g_free(mask);
  cw_bg_free(m);
  scene_free(s);
}

static void
test_bg_stopped(void)
{
  scene_t *s = scene_new(4);
  cw_bgmodel_t *m = cw_bg_new(W, H, NULL);
  guint8 *mask = g_malloc(W * H);
  for (int f = 0; f < 30; f++) {
    scene_begin(s, 1.0f);
    cw_bg_apply(m, scene_end(s), mask);
  }
  /* Drives in for 10 frames, then stands 60 s (300 frames at 5 fps). */
  float worst = 1;
  for (int f = 0; f < 310; f++) {
    int x = 30 + 8 * MIN(f, 9), y = 120;
    scene_begin(s, 1.0f);
    scene_box(s, x, y, 36, 18, 200, 120, 140);
    float fg = cw_bg_apply(m, scene_end(s), mask);
    g_assert_cmpfloat(fg, <, 0.05f);
    if (f >= 10)
      worst = MIN(worst, mask_fraction(mask, x, y, 36, 18, CW_BG_FOREGROUND));
  }
  g_test_message("stopped box: worst foreground %.3f", worst);
  g_assert_cmpfloat(worst, >=, 0.8f);
  g_free(mask);
  cw_bg_free(m);
  scene_free(s);
}

/* ---- blobs ----------------------------------------------------------------- */

static void
fill(guint8 *mask, int x, int y, int w, int h, guint8 v)
{
  for (int j = y; j < y + h; j++)
    memset(mask + j * W + x, v, w);
}

static void
assert_blob(const cw_blob_t *b, int x, int y, int w, int h)
{
  g_assert_cmpfloat(b->x, ==, x);
  g_assert_cmpfloat(b->y, ==, y);
  g_assert_cmpfloat(b->w, ==, w);
  g_assert_cmpfloat(b->h, ==, h);
  g_assert_cmpint(b->area, ==, w * h);
  g_assert_cmpfloat(fabsf(b->cx - (x + w / 2.0f)), <, 0.01f);
  g_assert_cmpfloat(fabsf(b->cy - (y + h / 2.0f)), <, 0.01f);
}

static void
test_blobs_basic(void)
{
  guint8 *mask = g_malloc0(W * H), *scratch = g_malloc(2 * W * H);
  GArray *out = g_array_new(FALSE, FALSE, sizeof(cw_blob_t));

  /* Two boxes apart: two blobs, the larger first, boxes exact. */
  fill(mask, 20, 30, 40, 20, CW_BG_FOREGROUND);
  fill(mask, 150, 100, 30, 30, CW_BG_FOREGROUND);
  g_assert_cmpuint(cw_blobs_find(mask, W, H, 10, scratch, out), ==, 2);
  assert_blob(&g_array_index(out, cw_blob_t, 0), 150, 100, 30, 30);
  assert_blob(&g_array_index(out, cw_blob_t, 1), 20, 30, 40, 20);
  /* Appends; and allocates its own scratch when given none. */
  g_assert_cmpuint(cw_blobs_find(mask, W, H, 10, NULL, out), ==, 2);
  g_assert_cmpuint(out->len, ==, 4);
  /* Smaller than min_area: dropped. */
  g_array_set_size(out, 0);
  g_assert_cmpuint(cw_blobs_find(mask, W, H, 850, scratch, out), ==, 1);

  /* Speckle noise (4% of the pixels) and shadows: nothing. */
  memset(mask, CW_BG_BACKGROUND, W * H);
  GRand *r = g_rand_new_with_seed(5);
  for (int i = 0; i < W * H / 25; i++)
    mask[g_rand_int_range(r, 0, W * H)] = CW_BG_FOREGROUND;
  fill(mask, 200, 20, 60, 40, CW_BG_SHADOW);
  g_rand_free(r);
  g_array_set_size(out, 0);
  g_assert_cmpuint(cw_blobs_find(mask, W, H, 10, scratch, out), ==, 0);

  /* A box cut by a lane marking one pixel wide, either way: one blob. */
  memset(mask, CW_BG_BACKGROUND, W * H);
  fill(mask, 100, 50, 60, 30, CW_BG_FOREGROUND);
  fill(mask, 130, 50, 1, 30, CW_BG_BACKGROUND);
  fill(mask, 10, 120, 30, 40, CW_BG_FOREGROUND);
  fill(mask, 10, 140, 30, 1, CW_BG_SHADOW);
  g_array_set_size(out, 0);
  g_assert_cmpuint(cw_blobs_find(mask, W, H, 10, scratch, out), ==, 2);
  assert_blob(&g_array_index(out, cw_blob_t, 0), 100, 50, 60, 30);
  assert_blob(&g_array_index(out, cw_blob_t, 1), 10, 120, 30, 40);

  /* A dark grey vehicle: its body passes for shadow, between its own
   * foreground edges (roof, wheels): one blob, the whole body. A cast
   * shadow beside a vehicle stays background. */
  memset(mask, CW_BG_BACKGROUND, W * H);
  fill(mask, 50, 100, 30, 12, CW_BG_SHADOW);
  fill(mask, 50, 100, 30, 2, CW_BG_FOREGROUND);
  fill(mask, 50, 110, 30, 2, CW_BG_FOREGROUND);
  fill(mask, 200, 100, 20, 10, CW_BG_FOREGROUND);
  fill(mask, 200, 110, 26, 8, CW_BG_SHADOW);
  g_array_set_size(out, 0);
  g_assert_cmpuint(cw_blobs_find(mask, W, H, 10, scratch, out), ==, 2);
  assert_blob(&g_array_index(out, cw_blob_t, 0), 50, 100, 30, 12);
  assert_blob(&g_array_index(out, cw_blob_t, 1), 200, 100, 20, 10);

  /* At the picture's edge and corner: not eaten from that side. */
  memset(mask, CW_BG_BACKGROUND, W * H);
  fill(mask, 0, 0, 20, 10, CW_BG_FOREGROUND);
  fill(mask, W - 15, H - 12, 15, 12, CW_BG_FOREGROUND);
  g_array_set_size(out, 0);
  g_assert_cmpuint(cw_blobs_find(mask, W, H, 10, scratch, out), ==, 2);
  assert_blob(&g_array_index(out, cw_blob_t, 0), 0, 0, 20, 10);
  assert_blob(&g_array_index(out, cw_blob_t, 1), W - 15, H - 12, 15, 12);

  /* Diagonal neighbours join (8-connected); a U shape is one blob. */
  memset(mask, CW_BG_BACKGROUND, W * H);
  fill(mask, 50, 50, 10, 10, CW_BG_FOREGROUND);
  fill(mask, 60, 60, 10, 10, CW_BG_FOREGROUND);
  fill(mask, 100, 100, 5, 30, CW_BG_FOREGROUND);
  fill(mask, 120, 100, 5, 30, CW_BG_FOREGROUND);
  fill(mask, 100, 125, 25, 5, CW_BG_FOREGROUND);
  g_array_set_size(out, 0);
  g_assert_cmpuint(cw_blobs_find(mask, W, H, 10, scratch, out), ==, 2);
  const cw_blob_t *u = &g_array_index(out, cw_blob_t, 0);
  g_assert_cmpfloat(u->x, ==, 100);
  g_assert_cmpfloat(u->w, ==, 25);
  g_assert_cmpfloat(u->h, ==, 30);

  g_array_unref(out);
  g_free(scratch);
  g_free(mask);
}

/* ---- tracker --------------------------------------------------------------- */

typedef struct {
  float x, y;
  int w, h;
} rect_t;

/* The mask of some boxes, with columns [occ0, occ1) hidden; blobs of it
 * to the tracker. Returns the pixels drawn. */
static int
track_frame(cw_tracker_t *t, guint8 *mask, GArray *blobs, const rect_t *r, int nr, int occ0,
            int occ1, gint64 ts_us)
{
  memset(mask, 0, W * H);
  int drawn = 0;
  for (int k = 0; k < nr; k++) {
    int x = (int)lroundf(r[k].x), y = (int)lroundf(r[k].y), w = r[k].w, h = r[k].h;
    if (!clip_box(&x, &y, &w, &h))
      continue;
    for (int j = y; j < y + h; j++)
      for (int i = x; i < x + w; i++)
        if (i < occ0 || i >= occ1) {
          drawn += mask[j * W + i] != CW_BG_FOREGROUND;
          mask[j * W + i] = CW_BG_FOREGROUND;
        }
  }
  g_array_set_size(blobs, 0);
  guint n = cw_blobs_find(mask, W, H, 20, NULL, blobs);
  cw_tracker_update(t, (const cw_blob_t *)(void *)blobs->data, n, ts_us);
  return drawn;
}

/* The live track whose box overlaps r most, or NULL. */
static const cw_track_t *
track_at(const cw_tracker_t *t, rect_t r)
{
  const GPtrArray *a = cw_tracker_tracks(t);
  const cw_track_t *best = NULL;
  float best_in = 0;
  for (guint i = 0; i < a->len; i++) {
    const cw_track_t *k = a->pdata[i];
    float w = MIN(k->x + k->w, r.x + r.w) - MAX(k->x, r.x);
    float h = MIN(k->y + k->h, r.y + r.h) - MAX(k->y, r.y);
    if (w > 0 && h > 0 && w * h > best_in) {
      best_in = w * h;
      best = k;
    }
  }
  return best;
}

static guint
count_confirmed(const cw_tracker_t *t)
{
  const GPtrArray *a = cw_tracker_tracks(t);
  guint c = 0;
  for (guint i = 0; i < a->len; i++)
    c += ((const cw_track_t *)a->pdata[i])->confirmed;
  return c;
}

static void
test_track_identity(void)
{
  guint8 *mask = g_malloc(W * H);
  GArray *blobs = g_array_new(FALSE, FALSE, sizeof(cw_blob_t));
  const float speed = 7.5f; /* px a frame: 37.5 px/s at 5 fps */

  /* Two vehicles on overlapping paths in opposite directions: they merge
   * into one blob for several frames and come apart again. */
  cw_tracker_t *t = cw_tracker_new(NULL);
  guint id_a = 0, id_b = 0;
  for (int f = 0; f < 40; f++) {
    rect_t r[2] = {{10 + speed * f, 80, 30, 16}, {280 - speed * f, 88, 30, 16}};
    track_frame(t, mask, blobs, r, 2, 0, 0, (gint64)f * FRAME_US);
    const cw_track_t *a = track_at(t, r[0]), *b = track_at(t, r[1]);
    g_assert_nonnull(a);
    g_assert_nonnull(b);
    if (f == 5) {
      g_assert_true(a->confirmed && b->confirmed);
      g_assert_cmpuint(a->id, !=, b->id);
      id_a = a->id;
      id_b = b->id;
    }
    if (f > 5) {
      /* While merged both ids live; apart, each is on its own vehicle. */
      gboolean apart = fabsf(r[0].x - r[1].x) > 34;
      g_assert_cmpuint(cw_tracker_tracks(t)->len, ==, 2);
      if (apart) {
        g_assert_cmpuint(a->id, ==, id_a);
        g_assert_cmpuint(b->id, ==, id_b);
      }
    }
    g_assert_cmpuint(cw_tracker_ended(t)->len, ==, 0);
  }
  const cw_track_t *a = track_at(t, (rect_t){10 + speed * 39, 80, 30, 16});
  g_test_message("crossing: velocity after (%.2f, %.2f)", a->vx, a->vy);
  g_assert_cmpfloat(fabsf(a->vx - speed * 5), <=, 0.1f * speed * 5);
  g_assert_cmpfloat(fabsf(a->vy), <=, 0.1f * speed * 5);
  cw_tracker_free(t);

  /* Two vehicles side by side, same way, same speed: their blobs merge
   * for 6 frames (over a second), then part; both ids survive. */
  t = cw_tracker_new(NULL);
  id_a = id_b = 0;
  for (int f = 0; f < 30; f++) {
    float yb = f < 6 ? 100 : f < 9 ? 100 - 4 * (f - 5) : f < 15 ? 88 : MIN(88 + 4 * (f - 14), 100);
    rect_t r[2] = {{10 + 6.0f * f, 70, 32, 16}, {14 + 6.0f * f, yb, 32, 16}};
    track_frame(t, mask, blobs, r, 2, 0, 0, (gint64)f * FRAME_US);
    if (f == 5) {
      id_a = track_at(t, r[0])->id;
      id_b = track_at(t, r[1])->id;
      g_assert_cmpuint(id_a, !=, id_b);
    }
    if (f > 5)
      g_assert_cmpuint(cw_tracker_tracks(t)->len, ==, 2);
    if (f >= 10 && f < 15) {
      g_assert_cmpuint(blobs->len, ==, 1); /* merged, as meant */
      /* One of the two holds the blob; the other is hidden in it. */
      const cw_track_t *ta = track_at(t, r[0]), *tb = track_at(t, r[1]);
      g_assert_true(ta->hidden != tb->hidden);
    }
    if (f < 6 || f >= 20) {
      g_assert_false(track_at(t, r[0])->hidden);
      g_assert_false(track_at(t, r[1])->hidden);
    }
    if (f >= 20) {
      g_assert_cmpuint(track_at(t, r[0])->id, ==, id_a);
      g_assert_cmpuint(track_at(t, r[1])->id, ==, id_b);
    }
  }
  cw_tracker_free(t);

  /* One vehicle behind an occluder (a gantry's pillar) for 5+ frames. */
  t = cw_tracker_new(NULL);
  guint id = 0;
  int hidden = 0;
  for (int f = 0; f < 36; f++) {
    rect_t r = {5 + speed * f, 120, 24, 14};
    int drawn = track_frame(t, mask, blobs, &r, 1, 150, 212, (gint64)f * FRAME_US);
    hidden += drawn == 0;
    g_assert_cmpuint(count_confirmed(t), <=, 1);
    const cw_track_t *k = track_at(t, r);
    if (f == 17) {
      g_assert_nonnull(k);
      g_assert_true(k->confirmed);
      id = k->id;
      g_test_message("before: velocity (%.2f, %.2f)", k->vx, k->vy);
      g_assert_cmpfloat(fabsf(k->vx - speed * 5), <=, 0.1f * speed * 5);
      g_assert_cmpfloat(fabsf(k->vy), <=, 0.1f * speed * 5);
    }
    if (f > 17) {
      /* Hidden or not, the same track is where the vehicle is. */
      g_assert_nonnull(k);
      g_assert_cmpuint(k->id, ==, id);
    }
    if (f == 35) {
      g_test_message("after: velocity (%.2f, %.2f), %u history points", k->vx, k->vy, k->n_history);
      g_assert_cmpfloat(fabsf(k->vx - speed * 5), <=, 0.1f * speed * 5);
      g_assert_cmpfloat(fabsf(k->vy), <=, 0.1f * speed * 5);
      g_assert_cmpuint(k->n_history, ==, 36);
      /* Ground point: the middle of the bottom edge. */
      g_assert_cmpfloat(k->gx, ==, k->x + k->w / 2);
      g_assert_cmpfloat(k->gy, ==, k->y + k->h);
      g_assert_cmpfloat(fabsf(k->gy - 134), <, 1.0f);
    }
  }
  g_assert_cmpint(hidden, >=, 5);
  cw_tracker_free(t);

  g_array_unref(blobs);
  g_free(mask);
}

static void
test_track_confirm(void)
{
  guint8 *mask = g_malloc(W * H);
  GArray *blobs = g_array_new(FALSE, FALSE, sizeof(cw_blob_t));
  GHashTable *ended = g_hash_table_new(NULL, NULL); /* id -> times listed */
  cw_tracker_t *t = cw_tracker_new(NULL);
  guint steady = 0, flicker = 0;
  for (int f = 0; f < 60; f++) {
    rect_t r[2] = {{20 + 4.0f * f, 40, 30, 16}, {200, 140, 20, 12}};
    /* The vehicle goes away after frame 20; the flicker is frame 8 only. */
    int nr = f <= 20 ? 1 : 0;
    if (f == 8)
      r[nr++] = r[1];
    track_frame(t, mask, blobs, r, nr, 0, 0, (gint64)f * FRAME_US);
    const GPtrArray *e = cw_tracker_ended(t);
    for (guint i = 0; i < e->len; i++) {
      guint id = ((const cw_track_t *)e->pdata[i])->id;
      guint c = GPOINTER_TO_UINT(g_hash_table_lookup(ended, GUINT_TO_POINTER(id)));
      g_hash_table_insert(ended, GUINT_TO_POINTER(id), GUINT_TO_POINTER(c + 1));
      /* Ended means gone from the live list. */
      const GPtrArray *live = cw_tracker_tracks(t);
      for (guint j = 0; j < live->len; j++)
        g_assert_cmpuint(((const cw_track_t *)live->pdata[j])->id, !=, id);
    }
    const cw_track_t *k = f <= 20 ? track_at(t, r[0]) : NULL;
    if (f == 0)
      steady = k->id;
    if (f <= 20) {
      g_assert_cmpuint(k->id, ==, steady);
      g_assert_cmpuint(k->hits, ==, (guint)f + 1);
      /* Confirmed at the third sighting, not before. */
      g_assert_true(k->confirmed == (f >= 2));
    }
    if (f == 8) {
      const cw_track_t *fl = track_at(t, r[1]);
      g_assert_nonnull(fl);
      g_assert_false(fl->confirmed);
      flicker = fl->id;
    }
    /* Lost at frame 21: coasts max_missed_s (2 s, 10 frames), then ends. */
    if (f > 20 && f <= 30)
      g_assert_cmpuint(cw_tracker_tracks(t)->len, ==, 1);
    g_assert_cmpuint(count_confirmed(t), <=, 1);
  }
  g_assert_cmpuint(cw_tracker_tracks(t)->len, ==, 0);
  g_assert_cmpuint(g_hash_table_size(ended), ==, 2);
  g_assert_cmpuint(GPOINTER_TO_UINT(g_hash_table_lookup(ended, GUINT_TO_POINTER(steady))), ==, 1);
  g_assert_cmpuint(GPOINTER_TO_UINT(g_hash_table_lookup(ended, GUINT_TO_POINTER(flicker))), ==, 1);

  /* Reset: every live track is listed as ended, once. */
  rect_t r = {100, 100, 20, 20};
  for (int f = 60; f < 63; f++)
    track_frame(t, mask, blobs, &r, 1, 0, 0, (gint64)f * FRAME_US);
  g_assert_cmpuint(cw_tracker_tracks(t)->len, ==, 1);
  cw_tracker_reset(t);
  g_assert_cmpuint(cw_tracker_tracks(t)->len, ==, 0);
  g_assert_cmpuint(cw_tracker_ended(t)->len, ==, 1);
  g_assert_true(((const cw_track_t *)cw_tracker_ended(t)->pdata[0])->confirmed);
  track_frame(t, mask, blobs, &r, 0, 0, 0, (gint64)63 * FRAME_US);
  g_assert_cmpuint(cw_tracker_ended(t)->len, ==, 0);
  /* Ids are never reused. */
  track_frame(t, mask, blobs, &r, 1, 0, 0, (gint64)64 * FRAME_US);
  g_assert_cmpuint(((const cw_track_t *)cw_tracker_tracks(t)->pdata[0])->id, >, flicker);

  cw_tracker_free(t);
  g_hash_table_unref(ended);
  g_array_unref(blobs);
  g_free(mask);
}

/* All three together on drawn pictures: two vehicles with shadows in
 * opposite directions, behind a pole (6 px) and a gantry's pillar (60 px),
 * with noise and drifting light: one confirmed track each, right speeds. */
static void
test_pipeline(void)
{
  scene_t *s = scene_new(7);
  cw_bgmodel_t *m = cw_bg_new(W, H, NULL);
  cw_tracker_options_t to = {.width = W, .height = H};
  cw_tracker_t *t = cw_tracker_new(&to);
  guint8 *mask = g_malloc(W * H), *scratch = g_malloc(2 * W * H);
  GArray *blobs = g_array_new(FALSE, FALSE, sizeof(cw_blob_t));
  GHashTable *lane_a = g_hash_table_new(NULL, NULL), *lane_b = g_hash_table_new(NULL, NULL);
  const float va = 9.0f, vb = -7.0f; /* px a frame */
  float seen_va = 0, seen_vb = 0;
  for (int f = 0; f < 80; f++) {
    float gain = 1.0f - 0.1f * f / 80;
    scene_begin(s, gain);
    if (f >= 30) {
      int xa = (int)(-40 + va * (f - 30)), xb = (int)(330 + vb * (f - 30));
      scene_shadow(s, xa + 5, 115 + 5, 34, 22, 0.6f);
      scene_box(s, xa, 115, 34, 18, 215, 110, 150);
      scene_shadow(s, xb + 5, 60 + 5, 30, 20, 0.6f);
      scene_box(s, xb, 60, 30, 16, 40, 150, 115);
      /* The occluders: the background shows through where they stand. */
      for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
          if ((x >= 100 && x < 106) || (x >= 200 && x < 260))
            s->y[y * W + x] = s->bg_y[y * W + x] * gain;
    }
    const cw_image_t *img = scene_end(s);
    cw_bg_apply(m, img, mask);
    g_array_set_size(blobs, 0);
    guint n = cw_blobs_find(mask, W, H, 46, scratch, blobs);
    cw_tracker_update(t, (const cw_blob_t *)(void *)blobs->data, n, img->ts_us);
    const GPtrArray *live = cw_tracker_tracks(t);
    for (guint i = 0; i < live->len; i++) {
      const cw_track_t *k = live->pdata[i];
      if (!k->confirmed)
        continue;
      gboolean in_a = k->gy > 120 && k->gy < 150;
      g_hash_table_add(in_a ? lane_a : lane_b, GUINT_TO_POINTER(k->id));
      if (k->missed == 0 && k->x > 10 && k->x + k->w < 190) {
        if (in_a)
          seen_va = k->vx;
        else
          seen_vb = k->vx;
      }
    }
  }
  g_test_message("pipeline: %u and %u confirmed ids, velocities %.1f and %.1f px/s",
                 g_hash_table_size(lane_a), g_hash_table_size(lane_b), seen_va, seen_vb);
  g_assert_cmpuint(g_hash_table_size(lane_a), ==, 1);
  g_assert_cmpuint(g_hash_table_size(lane_b), ==, 1);
  g_assert_cmpfloat(fabsf(seen_va - va * 5), <=, 0.1f * fabsf(va * 5));
  g_assert_cmpfloat(fabsf(seen_vb - vb * 5), <=, 0.1f * fabsf(vb * 5));
  /* A left the picture at frame 70: with the picture's size known, its
   * track ended on leaving instead of coasting 2 s past the edge. */
  g_assert_cmpuint(cw_tracker_tracks(t)->len, ==, 1);
  g_hash_table_unref(lane_a);
  g_hash_table_unref(lane_b);
  g_array_unref(blobs);
  g_free(scratch);
  g_free(mask);
  cw_tracker_free(t);
  cw_bg_free(m);
  scene_free(s);
}

/* ---- cost ------------------------------------------------------------------ */

/* CPU time of this thread, µs: a busy machine does not inflate it. */
static gint64
cpu_us(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (gint64)ts.tv_sec * G_USEC_PER_SEC + ts.tv_nsec / 1000;
}

static void
test_speed(void)
{
  enum { FRAMES = 300, WARM = 20 };
  scene_t *s = scene_new(9);
  cw_bgmodel_t *m = cw_bg_new(W, H, NULL);
  cw_tracker_t *t = cw_tracker_new(NULL);
  guint8 *mask = g_malloc(W * H), *scratch = g_malloc(2 * W * H);
  GArray *blobs = g_array_new(FALSE, FALSE, sizeof(cw_blob_t));
  gint64 t_bg = 0, t_blobs = 0, t_track = 0;
  guint max_confirmed = 0;
  GHashTable *ids = g_hash_table_new(NULL, NULL);
  for (int f = 0; f < FRAMES; f++) {
    /* Four vehicles with shadows on two lanes, looping; light drifting. */
    static const float colour[4][3] = {
        {220, 110, 150}, {45, 150, 120}, {185, 128, 128}, {70, 100, 160}};
    scene_begin(s, 1.0f - 0.2f * f / FRAMES);
    for (int k = 0; k < 4; k++) {
      int x = (int)(fmodf(37.0f * k + (k & 1 ? -5.0f : 6.0f) * f, W + 60)) - 40;
      if (x < -40)
        x += W + 60;
      int y = k & 1 ? 60 : 115;
      scene_shadow(s, x + 6, y + 6, 36, 22, 0.6f);
      scene_box(s, x, y, 36, 18, colour[k][0], colour[k][1], colour[k][2]);
    }
    const cw_image_t *img = scene_end(s);
    gint64 t0 = cpu_us();
    cw_bg_apply(m, img, mask);
    gint64 t1 = cpu_us();
    g_array_set_size(blobs, 0);
    guint n = cw_blobs_find(mask, W, H, 46, scratch, blobs);
    gint64 t2 = cpu_us();
    cw_tracker_update(t, (const cw_blob_t *)(void *)blobs->data, n, img->ts_us);
    gint64 t3 = cpu_us();
    /* The steady state: the warm-up's one-off median is not a frame's cost. */
    if (f >= WARM) {
      t_bg += t1 - t0;
      t_blobs += t2 - t1;
      t_track += t3 - t2;
    }
    max_confirmed = MAX(max_confirmed, count_confirmed(t));
    const GPtrArray *live = cw_tracker_tracks(t);
    for (guint i = 0; i < live->len; i++) {
      const cw_track_t *k = live->pdata[i];
      if (k->confirmed)
        g_hash_table_add(ids, GUINT_TO_POINTER(k->id));
    }
  }
  g_print("speed at %dx%d: %.1f us/frame of CPU (background %.1f, blobs %.1f, tracker %.1f), "
          "%u confirmed tracks at most, %u in all\n",
          W, H, (double)(t_bg + t_blobs + t_track) / (FRAMES - WARM),
          (double)t_bg / (FRAMES - WARM), (double)t_blobs / (FRAMES - WARM),
          (double)t_track / (FRAMES - WARM), max_confirmed, g_hash_table_size(ids));
  g_hash_table_unref(ids);
  g_array_unref(blobs);
  g_free(scratch);
  g_free(mask);
  cw_tracker_free(t);
  cw_bg_free(m);
  scene_free(s);
}

/* The model learns at the same pace in seconds whatever the analysis rate:
 * a patch brightened by 10 (background still) for 4 s, seen at 5 frames a
 * second and at 25, moves the background about as far. */
static float
paced_move(gint64 frame_us)
{
  scene_t *s = scene_new(10);
  s->frame_us = frame_us;
  cw_bgmodel_t *m = cw_bg_new(W, H, NULL);
  guint8 *out = g_malloc(W * H);
  float before = 0;
  int settle = 60, frames = (int)(4000000 / frame_us);
  for (int f = 0; f < settle + frames; f++) {
    scene_begin(s, 1.0f);
    if (f >= settle)
      for (int y = 42; y < 56; y++)
        for (int x = 205; x < 225; x++)
          s->y[y * W + x] += 10;
    cw_bg_apply(m, scene_end(s), out);
    if (f == settle - 1)
      before = cw_bg_mean(m)[50 * W + 215];
  }
  float moved = cw_bg_mean(m)[50 * W + 215] - before;
  cw_bg_free(m);
  scene_free(s);
  g_free(out);
  return moved;
}

static void
test_bg_pace(void)
{
  float at5 = paced_move(200000), at25 = paced_move(40000);
  g_test_message("background moved by %.1f in 4 s at 5 fps, %.1f at 25 fps", at5, at25);
  g_assert_cmpfloat(at5, >=, 3);
  g_assert_cmpfloat(fabsf(at25 - at5), <=, 1.5f);
}

/* Two vehicles side by side make one blob; the lanes say it is two lanes
 * wide: it is cut where the mask is thinnest, into the two. Without lanes
 * nothing is known and nothing is cut. A held pixel does not learn. */
static void
test_split_wide(void)
{
  /* Two vertical lanes, 40 px (0.125 of 320) wide each, over the bottom half. */
  const char *json =
      "{\"lanes\": ["
      "{\"id\": \"a\", \"polygon\": [[0.25, 0.5], [0.375, 0.5], [0.375, 1], [0.25, 1]],"
      " \"direction\": [0, 1]},"
      "{\"id\": \"b\", \"polygon\": [[0.375, 0.5], [0.5, 0.5], [0.5, 1], [0.375, 1]],"
      " \"direction\": [0, 1]}]}";
  cw_analytics_config_t *cfg = NULL;
  cw_error_t err = {0};
  g_assert_cmpint(cw_analytics_config_parse(json, "test", &cfg, &err), ==, 0);
  float *maxw = g_new(float, H);
  g_assert_true(cw_perspective_max_width(cfg, W, H, maxw));
  g_assert_cmpfloat(maxw[H / 4], ==, 0); /* no lane up there */
  g_assert_cmpfloat_with_epsilon(maxw[3 * H / 4], 40 * 1.3f, 0.5f);

  guint8 *mask = g_malloc0(W * H), *scratch = g_malloc(2 * W * H);
  /* Vehicles at x 82..113 and 121..152, rows 110..129, joined by a
   * 2-row bridge of foreground (a shadow's edge, a mirror). */
  for (int y = 110; y < 130; y++)
    for (int x = 82; x < 153; x++)
      if (x < 114 || x >= 121 || y >= 126)
        mask[y * W + x] = CW_BG_FOREGROUND;
  GArray *blobs = g_array_new(FALSE, FALSE, sizeof(cw_blob_t));
  g_assert_cmpuint(cw_blobs_find(mask, W, H, 46, scratch, blobs), ==, 1);
  g_assert_cmpuint(cw_perspective_split_wide(mask, W, H, maxw, 46, blobs), ==, 2);
  for (guint i = 0; i < 2; i++) {
    const cw_blob_t *b = &g_array_index(blobs, cw_blob_t, i);
    g_test_message("part %u: x %.0f w %.0f", i, b->x, b->w);
    g_assert_cmpfloat(b->w, <=, 40);
    g_assert_cmpfloat(b->w, >=, 30);
    g_assert_true(b->x <= 83 || (b->x >= 114 && b->x <= 121));
  }
  /* No lanes: the table is empty and the blob stays whole. */
  cw_analytics_config_t *none = NULL;
  g_assert_cmpint(cw_analytics_config_parse("{}", "test", &none, &err), ==, 0);
  g_assert_false(cw_perspective_max_width(none, W, H, maxw));
  g_array_set_size(blobs, 0);
  cw_blobs_find(mask, W, H, 46, scratch, blobs);
  g_assert_cmpuint(cw_perspective_split_wide(mask, W, H, NULL, 46, blobs), ==, 1);

  /* Held: a pixel that matches the background still learns as slowly
   * as foreground (a standing vehicle is not learnt away by its edges).
   * Two patches brighten by 10 (within the noise band: background); only
   * the unheld one's background follows. */
  scene_t *s = scene_new(9);
  cw_bgmodel_t *m = cw_bg_new(W, H, NULL);
  guint8 *hold = g_malloc0(W * H), *out = g_malloc(W * H);
  for (int y = 40; y < 60; y++)
    memset(hold + y * W + 200, 1, 30);
  cw_bg_hold(m, hold);
  float before_held = 0, before_free = 0;
  for (int f = 0; f < 100; f++) {
    scene_begin(s, 1.0f);
    if (f >= 50) {
      for (int y = 42; y < 56; y++)
        for (int x = 205; x < 225; x++) {
          s->y[y * W + x] += 10;      /* held */
          s->y[y * W + x + 60] += 10; /* not held */
        }
    }
    cw_bg_apply(m, scene_end(s), out);
    if (f == 49) {
      before_held = cw_bg_mean(m)[50 * W + 215];
      before_free = cw_bg_mean(m)[50 * W + 275];
    }
  }
  float moved_held = cw_bg_mean(m)[50 * W + 215] - before_held;
  float moved_free = cw_bg_mean(m)[50 * W + 275] - before_free;
  g_test_message("background moved by %.0f where held, %.0f where not", moved_held, moved_free);
  g_assert_cmpfloat(moved_held, <=, 1);
  g_assert_cmpfloat(moved_free, >=, 4);
  cw_bg_free(m);
  scene_free(s);
  g_free(hold);
  g_free(out);

  g_array_unref(blobs);
  g_free(mask);
  g_free(scratch);
  g_free(maxw);
  cw_analytics_config_free(cfg);
  cw_analytics_config_free(none);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/vision/bg_static_noise", test_bg_static_noise);
  g_test_add_func("/vision/bg_light_ramp", test_bg_light_ramp);
  g_test_add_func("/vision/bg_shake", test_bg_shake);
  g_test_add_func("/vision/bg_object", test_bg_object);
  g_test_add_func("/vision/bg_stopped", test_bg_stopped);
  g_test_add_func("/vision/blobs_basic", test_blobs_basic);
  g_test_add_func("/vision/track_identity", test_track_identity);
  g_test_add_func("/vision/track_confirm", test_track_confirm);
  g_test_add_func("/vision/pipeline", test_pipeline);
  g_test_add_func("/vision/speed", test_speed);
  g_test_add_func("/vision/split_wide", test_split_wide);
  g_test_add_func("/vision/bg_pace", test_bg_pace);
  return g_test_run();
}
