/* Foreground blobs (issue 6); see blobs.h.
 *
 * The mask is made binary (1 = foreground; shadow sandwiched between
 * foreground too, see blobs.h), then cleaned by a 3x3 open and a 3x3
 * close: erode, dilate, dilate, erode, the two dilations in the middle
 * being one 5x5. Each square is a row pass and a column pass of AND
 * (erode) or OR (dilate) over 0/1 bytes: loops the compiler vectorises.
 * (A 2x2 open keeps more of a vehicle seen in stripes, but also the 2-px
 * bands a shaking camera leaves along strong edges; the 3x3 one, with the
 * shadow sandwich, did better on the synthetic scenes.) Outside the
 * picture repeats the border pixel, so a vehicle entering at the edge is
 * not eaten from that side.
 *
 * Components: runs of foreground in each row, joined with the runs of the
 * row above that touch them (8-connected) by union-find over runs; a
 * blob's box, area and centroid add up from its runs. */
#include "blobs.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
  int x0, x1, y; /* x1 inclusive */
  int parent;
} run_t;

typedef struct {
  int x0, y0, x1, y1;
  gint64 sx, sy;
  int area;
} stat_t;

/* Chunks of CHUNK bytes have a trip count the compiler knows, so these
 * loops vectorise even at -O2 (GCC's cheap cost model). */
#define CHUNK 32

static G_ALWAYS_INLINE inline void
op_chunk(guint8 *restrict d, const guint8 *restrict s, int n, gboolean and_op)
{
  if (and_op)
    for (int i = 0; i < n; i++)
      d[i] &= s[i];
  else
    for (int i = 0; i < n; i++)
      d[i] |= s[i];
}

/* d[0 .. n) AND= or OR= s[0 .. n). */
static void
op_span(guint8 *d, const guint8 *s, int n, gboolean and_op)
{
  int x = 0;
  for (; x + CHUNK <= n; x += CHUNK)
    op_chunk(d + x, s + x, CHUNK, and_op);
  op_chunk(d + x, s + x, n - x, and_op);
}

/* dst[x] = AND (and_op) or OR of src[x+lo .. x+hi] in each row, the
 * border pixel repeated outside. */
static void
row_pass(const guint8 *src, guint8 *dst, int w, int h, int lo, int hi, gboolean and_op)
{
  /* Inside [x0, x1) the window stays in the row. */
  int x0 = MIN(-lo, w), x1 = MAX(w - hi, x0);
  for (int y = 0; y < h; y++) {
    const guint8 *s = src + (size_t)y * w;
    guint8 *d = dst + (size_t)y * w;
    for (int x = 0; x < w; x++) {
      if (x == x0)
        x = x1;
      if (x >= w)
        break;
      guint8 v = and_op ? 1 : 0;
      for (int k = lo; k <= hi; k++) {
        guint8 o = s[CLAMP(x + k, 0, w - 1)];
        v = and_op ? (v & o) : (v | o);
      }
      d[x] = v;
    }
    if (x1 <= x0)
      continue;
    memcpy(d + x0, s + x0 + lo, x1 - x0);
    for (int k = lo + 1; k <= hi; k++)
      op_span(d + x0, s + x0 + k, x1 - x0, and_op);
  }
}

/* The same down the columns: whole rows at a time. */
static void
col_pass(const guint8 *src, guint8 *dst, int w, int h, int lo, int hi, gboolean and_op)
{
  for (int y = 0; y < h; y++) {
    guint8 *d = dst + (size_t)y * w;
    memcpy(d, src + (size_t)CLAMP(y + lo, 0, h - 1) * w, w);
    for (int k = lo + 1; k <= hi; k++)
      op_span(d, src + (size_t)CLAMP(y + k, 0, h - 1) * w, w, and_op);
  }
}

static G_ALWAYS_INLINE inline void
binarise(const guint8 *restrict mask, guint8 *restrict d, size_t n)
{
  for (size_t i = 0; i < n; i++)
    d[i] = mask[i] == 255;
}

/* Shadow pixels with foreground on both sides within SANDWICH pixels, along
 * a row or a column, become foreground: the body of a dark grey vehicle
 * passes the shadow test (darker, same chroma), but unlike a cast shadow
 * it lies between the vehicle's own edges, windows and wheels. */
#define SANDWICH 12

/* One row of the column test, branch-free: top[x] is the last foreground
 * row above with only shadow since (-1 none); flag[x] set where this row's
 * foreground closes a sandwich, from[x] then where it opened. */
static G_ALWAYS_INLINE inline int
column_chunk(const guint8 *restrict m, int *restrict top, int *restrict from, guint8 *restrict flag,
             int n, int y)
{
  int any = 0;
  for (int i = 0; i < n; i++) {
    int t0 = top[i], gap = y - t0;
    int fg = m[i] == 255, sh = m[i] == 127;
    int f = fg & (t0 >= 0) & (gap > 1) & (gap <= SANDWICH + 1);
    flag[i] = (guint8)f;
    any |= f;
    /* Selects as masks: the compiler vectorises these, not ?: here. */
    from[i] = (t0 & -f) | (from[i] & (f - 1));
    int keep = sh & !fg;
    top[i] = (y & -fg) | (t0 & -keep) | ((fg | keep) - 1);
  }
  return any;
}

static void
fill_sandwiched(const guint8 *mask, guint8 *a, int w, int h)
{
  /* Rows: a run of shadow between foreground ends. */
  for (int y = 0; y < h; y++) {
    const guint8 *m = mask + (size_t)y * w;
    guint8 *d = a + (size_t)y * w;
    int last_fg = -1;
    for (int x = 0; x < w; x++) {
      guint64 word;
      if (x + 8 <= w && (memcpy(&word, m + x, 8), word == 0)) {
        last_fg = -1;
        x += 7;
        continue;
      }
      if (m[x] == 255) {
        if (last_fg >= 0 && x - last_fg > 1 && x - last_fg <= SANDWICH + 1)
          memset(d + last_fg + 1, 1, x - last_fg - 1);
        last_fg = x;
      } else if (m[x] != 127) {
        last_fg = -1;
      }
    }
  }
  /* Columns, a row at a time. */
  int *top = g_new(int, 2 * (gsize)w), *from = top + w;
  guint8 *flag = g_malloc(w);
  for (int x = 0; x < w; x++)
    top[x] = from[x] = -1;
  for (int y = 0; y < h; y++) {
    const guint8 *m = mask + (size_t)y * w;
    int x = 0, any = 0;
    for (; x + 16 <= w; x += 16)
      any |= column_chunk(m + x, top + x, from + x, flag + x, 16, y);
    any |= column_chunk(m + x, top + x, from + x, flag + x, w - x, y);
    for (x = 0; any && x < w; x++) {
      guint64 word;
      if (x + 8 <= w && (memcpy(&word, flag + x, 8), word == 0)) {
        x += 7;
        continue;
      }
      if (flag[x])
        for (int k = from[x] + 1; k < y; k++)
          a[(size_t)k * w + x] = 1;
    }
  }
  g_free(flag);
  g_free(top);
}

static int
find_root(run_t *runs, int i)
{
  while (runs[i].parent != i) {
    runs[i].parent = runs[runs[i].parent].parent;
    i = runs[i].parent;
  }
  return i;
}

static void
join(run_t *runs, int a, int b)
{
  a = find_root(runs, a);
  b = find_root(runs, b);
  /* The older run stays root: roots then come in scan order. */
  if (a < b)
    runs[b].parent = a;
  else if (b < a)
    runs[a].parent = b;
}

static int
cmp_blob(const void *pa, const void *pb)
{
  const cw_blob_t *a = pa, *b = pb;
  if (a->area != b->area)
    return a->area > b->area ? -1 : 1;
  if (a->y != b->y)
    return a->y < b->y ? -1 : 1;
  return (a->x > b->x) - (a->x < b->x);
}

guint
cw_blobs_find(const guint8 *mask, int width, int height, int min_area, guint8 *scratch, GArray *out)
{
  g_return_val_if_fail(mask && out && width > 0 && height > 0, 0);
  const size_t n = (size_t)width * height;
  guint8 *own = NULL;
  if (!scratch)
    scratch = own = g_malloc(2 * n);
  guint8 *a = scratch, *b = scratch + n;

  size_t at = 0;
  for (; at + CHUNK <= n; at += CHUNK)
    binarise(mask + at, a + at, CHUNK);
  binarise(mask + at, a + at, n - at);
  fill_sandwiched(mask, a, width, height);
  /* Open 3x3: erode [-1, 1], dilate [-1, 1]; close 3x3: dilate [-1, 1],
   * erode [-1, 1]. The two dilations in the middle are one, [-2, 2]. */
  row_pass(a, b, width, height, -1, 1, TRUE);
  col_pass(b, a, width, height, -1, 1, TRUE);
  row_pass(a, b, width, height, -2, 2, FALSE);
  col_pass(b, a, width, height, -2, 2, FALSE);
  row_pass(a, b, width, height, -1, 1, TRUE);
  col_pass(b, a, width, height, -1, 1, TRUE);

  /* Runs, and the union of each with the touching runs of the row above. */
  int cap = 256, nr = 0;
  run_t *runs = g_new(run_t, cap);
  int prev0 = 0, prev1 = 0; /* the row above's runs: [prev0, prev1) */
  for (int y = 0; y < height; y++) {
    const guint8 *row = a + (size_t)y * width;
    int cur0 = nr;
    int x = 0;
    while (x < width) {
      /* Skip empty stretches eight bytes at a time. */
      while (x + 8 <= width) {
        guint64 word;
        memcpy(&word, row + x, 8);
        if (word)
          break;
        x += 8;
      }
      while (x < width && !row[x])
        x++;
      if (x >= width)
        break;
      int x0 = x;
      while (x < width && row[x])
        x++;
      if (nr == cap) {
        cap *= 2;
        runs = g_renew(run_t, runs, cap);
      }
      runs[nr] = (run_t){x0, x - 1, y, nr};
      /* Runs above are in x order: skip those ending left of this one. */
      while (prev0 < prev1 && runs[prev0].x1 < x0 - 1)
        prev0++;
      for (int q = prev0; q < prev1 && runs[q].x0 <= x; q++)
        join(runs, q, nr);
      nr++;
    }
    prev0 = cur0;
    prev1 = nr;
  }

  /* Add up each component at its root (a root precedes its runs). */
  stat_t *st = g_new(stat_t, MAX(nr, 1));
  guint start = out->len;
  for (int i = 0; i < nr; i++) {
    int r = find_root(runs, i);
    const run_t *u = &runs[i];
    int len = u->x1 - u->x0 + 1;
    stat_t *s = &st[r];
    if (r == i)
      *s = (stat_t){u->x0, u->y, u->x1, u->y, 0, 0, 0};
    s->x0 = MIN(s->x0, u->x0);
    s->x1 = MAX(s->x1, u->x1);
    s->y1 = u->y;
    s->area += len;
    s->sx += (gint64)(u->x0 + u->x1) * len; /* twice the sum of x */
    s->sy += (gint64)u->y * len;
  }
  for (int i = 0; i < nr; i++) {
    const stat_t *s = &st[i];
    if (runs[i].parent != i || s->area < MAX(min_area, 1))
      continue;
    cw_blob_t bl = {
        .x = s->x0,
        .y = s->y0,
        .w = s->x1 - s->x0 + 1,
        .h = s->y1 - s->y0 + 1,
        .cx = (float)((double)s->sx / (2.0 * s->area) + 0.5),
        .cy = (float)((double)s->sy / s->area + 0.5),
        .area = s->area,
    };
    g_array_append_val(out, bl);
  }
  guint found = out->len - start;
  if (found > 1)
    qsort((cw_blob_t *)(void *)out->data + start, found, sizeof(cw_blob_t), cmp_blob);

  g_free(st);
  g_free(runs);
  g_free(own);
  return found;
}
