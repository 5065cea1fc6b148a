/* Vehicle width from the lanes, and wide blobs split (see perspective.h). */
#include "perspective.h"

#include "bgmodel.h"

#include <math.h>

/* A vehicle's box (its side seen at an angle, mirrors) is at most this
 * many lane widths wide; two side by side are about twice a lane. */
#define WIDTH_OF_LANE 1.3f
#define MAX_PARTS 4

/* x extent of a horizontal line at y through a polygon (frame fractions):
 * the outermost crossings of its edges. FALSE: it misses the polygon. */
static gboolean
row_extent(const GArray *poly, float y, float *x0, float *x1)
{
  gboolean hit = FALSE;
  for (guint i = 0; i < poly->len; i++) {
    cw_point_t a = g_array_index(poly, cw_point_t, i);
    cw_point_t b = g_array_index(poly, cw_point_t, (i + 1) % poly->len);
    if ((a.y > y) == (b.y > y))
      continue;
    float x = a.x + (y - a.y) / (b.y - a.y) * (b.x - a.x);
    if (!hit) {
      *x0 = *x1 = x;
      hit = TRUE;
    } else {
      *x0 = MIN(*x0, x);
      *x1 = MAX(*x1, x);
    }
  }
  return hit;
}

gboolean
cw_perspective_max_width(const cw_analytics_config_t *cfg, int width, int height, float *max_width)
{
  gboolean any = FALSE;
  for (int y = 0; y < height; y++) {
    float fy = ((float)y + 0.5f) / (float)height, widest = 0;
    for (guint l = 0; cfg && l < cfg->lanes->len; l++) {
      const cw_lane_cfg_t *lane = cfg->lanes->pdata[l];
      float x0 = 0, x1 = 0;
      if (row_extent(lane->polygon, fy, &x0, &x1))
        widest = MAX(widest, (x1 - x0) * (float)width);
    }
    max_width[y] = widest * WIDTH_OF_LANE;
    any = any || widest > 0;
  }
  return any;
}

/* Tight box, centroid and area of the foreground of mask in columns
 * [x0, x1) and rows [y0, y1). FALSE if there is none. */
static gboolean
part_of(const guint8 *mask, int width, int x0, int x1, int y0, int y1, cw_blob_t *out)
{
  int bx0 = x1, bx1 = -1, by0 = y1, by1 = -1, area = 0;
  double sx = 0, sy = 0;
  for (int y = y0; y < y1; y++) {
    const guint8 *row = mask + (size_t)y * width;
    for (int x = x0; x < x1; x++) {
      if (row[x] != CW_BG_FOREGROUND)
        continue;
      area++;
      sx += x + 0.5;
      sy += y + 0.5;
      bx0 = MIN(bx0, x);
      bx1 = MAX(bx1, x);
      by0 = MIN(by0, y);
      by1 = MAX(by1, y);
    }
  }
  if (area == 0)
    return FALSE;
  *out = (cw_blob_t){(float)bx0,
                     (float)by0,
                     (float)(bx1 - bx0 + 1),
                     (float)(by1 - by0 + 1),
                     (float)(sx / area),
                     (float)(sy / area),
                     area};
  return TRUE;
}

/* The column in [lo, hi) where the blob's foreground is thinnest (a
 * 3-column sum, so one stray pixel does not decide). */
static int
thinnest_column(const guint8 *mask, int width, const cw_blob_t *b, int lo, int hi)
{
  int y0 = (int)b->y, y1 = (int)(b->y + b->h);
  int best = lo, best_sum = G_MAXINT;
  for (int x = lo; x < hi; x++) {
    int sum = 0;
    for (int dx = -1; dx <= 1; dx++) {
      int cx = CLAMP(x + dx, (int)b->x, (int)(b->x + b->w) - 1);
      for (int y = y0; y < y1; y++)
        sum += mask[(size_t)y * width + cx] == CW_BG_FOREGROUND;
    }
    if (sum < best_sum) {
      best_sum = sum;
      best = x;
    }
  }
  return best;
}

guint
cw_perspective_split_wide(const guint8 *mask, int width, int height, const float *max_width,
                          int min_area, GArray *blobs)
{
  if (!max_width)
    return blobs->len;
  guint n = blobs->len;
  for (guint i = 0; i < n; i++) {
    cw_blob_t b = g_array_index(blobs, cw_blob_t, i);
    int bottom = CLAMP((int)(b.y + b.h) - 1, 0, height - 1);
    float lim = max_width[bottom];
    if (lim <= 0 || b.w <= lim)
      continue;
    int parts = MIN((int)ceilf(b.w / lim), MAX_PARTS);
    /* Cut where the mask is thinnest near each even division. */
    int cuts[MAX_PARTS + 1];
    cuts[0] = (int)b.x;
    cuts[parts] = (int)(b.x + b.w);
    for (int p = 1; p < parts; p++) {
      int mid = (int)(b.x + b.w * (float)p / (float)parts);
      int reach = MAX((int)(b.w / (float)(2 * parts)), 1);
      cuts[p] = thinnest_column(mask, width, &b, MAX(mid - reach, cuts[p - 1] + 1),
                                MIN(mid + reach, cuts[parts] - 1));
    }
    cw_blob_t made[MAX_PARTS] = {0};
    int nmade = 0;
    gboolean ok = TRUE;
    for (int p = 0; p < parts && ok; p++) {
      ok = part_of(mask, width, cuts[p], cuts[p + 1], (int)b.y, (int)(b.y + b.h), &made[nmade]) &&
           made[nmade].area >= min_area;
      nmade++;
    }
    if (!ok)
      continue;
    g_array_index(blobs, cw_blob_t, i) = made[0];
    for (int p = 1; p < nmade; p++)
      g_array_append_val(blobs, made[p]);
  }
  return blobs->len;
}
