/* Multi-object tracking (issue 6); see tracker.h.
 *
 * Each update:
 *   1. predict every track to ts (constant velocity from its last state);
 *   2. pairs (track, blob) within the gate, cost = 0.5 (1 - IoU)
 *      + 0.4 distance / gate + 0.1 |log area ratio|, matched greedily
 *      cheapest first; without real overlap a pair must also be of like
 *      size, or the small one lie at the big one (a sliver of a vehicle
 *      coming out of hiding), so a big track coasting never grabs a small
 *      vehicle further off;
 *   3. fragments: a blob left over that lies mostly inside a track's
 *      prediction (grown by a quarter) is part of that vehicle (cut by a
 *      pole, a lane marking) if the two together keep the track's size:
 *      its box joins the track's measurement and it starts no track;
 *      else it is the next vehicle coming out from behind, with a track
 *      of its own;
 *   4. merges: a confirmed track left over whose prediction lies mostly
 *      inside a matched blob is hidden in it (side by side, or behind a
 *      bigger vehicle): it coasts with its box kept inside that blob, and
 *      the blob's own track keeps its size and velocity too (the blob is
 *      two vehicles; its box measures neither). Unless the two tracks
 *      overlap and move alike: then they are one vehicle tracked twice,
 *      and the younger ends;
 *   5. matched tracks update; the others coast on their prediction;
 *      blobs still left over start tentative tracks;
 *   6. a confirmed track not seen for max_missed_s ends, a tentative one
 *      after two frames without a match (a flicker never lives long), a
 *      coasting one mostly outside the picture (when its size is known)
 *      at once.
 * A measured box much smaller than the track (partly hidden) or much
 * bigger (coming out, entering the picture) moves the track by one edge,
 * not by its centre: the edge that agrees with the prediction once a
 * velocity is known, before that the one that moved more (the other is
 * held by the occluder or the picture's border). So the velocity stays
 * right while a vehicle slides behind or out of an occluder. */
#include "tracker.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TRACKS 256 /* no more tracks are started past this */
#define MAX_BLOBS 256  /* blobs past this (the smallest) are ignored */
#define VEL_BETA_MIN 0.3f
#define TENTATIVE_MAX_MISSED 2
/* A box measured smaller keeps this much of its size a frame (axis_update). */
#define SHRINK_ACROSS 0.95f
#define SHRINK_DOWN 0.85f

typedef struct {
  float x, y, w, h;
} box_t;

typedef struct {
  cw_track_t pub; /* first: cw_tracker_tracks hands out &pub */
  box_t last;     /* measured box when last seen */
  box_t pred;     /* this update's prediction */
  guint n_vel;    /* velocity measurements so far */
  int match;      /* blob index, -1 none */
  int group;      /* blob whose box holds it (a merge), -1 none */
  box_t meas;     /* measurement (blob, with fragments joined) */
  gboolean dup;   /* a second track on a vehicle tracked already: ends */
} track_t;

typedef struct {
  float cost;
  int t, b;
} pair_t;

struct cw_tracker {
  cw_tracker_options_t o;
  GPtrArray *tracks; /* track_t*, oldest first */
  GPtrArray *ended;  /* track_t*, owned, freed at the next update */
  guint next_id;
  GArray *pairs;     /* pair_t, scratch */
  GArray *blob_used; /* int per blob: track index, -1 free, -2 consumed, scratch */
};

cw_tracker_t *
cw_tracker_new(const cw_tracker_options_t *options)
{
  cw_tracker_t *t = g_new0(cw_tracker_t, 1);
  cw_tracker_options_t z = {0};
  if (options)
    z = *options;
  t->o.min_hits = z.min_hits > 0 ? z.min_hits : 3;
  t->o.max_missed_s = z.max_missed_s > 0 ? z.max_missed_s : 2.0f;
  t->o.gate = z.gate > 0 ? z.gate : 1.5f;
  t->o.width = MAX(z.width, 0);
  t->o.height = MAX(z.height, 0);
  t->o.max_width = z.height > 0 ? z.max_width : NULL;
  t->tracks = g_ptr_array_new();
  t->ended = g_ptr_array_new_with_free_func(g_free);
  t->next_id = 1;
  t->pairs = g_array_new(FALSE, FALSE, sizeof(pair_t));
  t->blob_used = g_array_new(FALSE, FALSE, sizeof(int));
  return t;
}

void
cw_tracker_free(cw_tracker_t *t)
{
  if (!t)
    return;
  g_ptr_array_set_free_func(t->tracks, g_free);
  g_ptr_array_unref(t->tracks);
  g_ptr_array_unref(t->ended);
  g_array_unref(t->pairs);
  g_array_unref(t->blob_used);
  g_free(t);
}

const GPtrArray *
cw_tracker_tracks(const cw_tracker_t *t)
{
  return t->tracks;
}

const GPtrArray *
cw_tracker_ended(const cw_tracker_t *t)
{
  return t->ended;
}

void
cw_tracker_reset(cw_tracker_t *t)
{
  g_ptr_array_set_size(t->ended, 0);
  for (guint i = 0; i < t->tracks->len; i++)
    g_ptr_array_add(t->ended, t->tracks->pdata[i]);
  g_ptr_array_set_size(t->tracks, 0);
}

/* ---- geometry ------------------------------------------------------------- */

static float
inter_area(box_t a, box_t b)
{
  float w = MIN(a.x + a.w, b.x + b.w) - MAX(a.x, b.x);
  float h = MIN(a.y + a.h, b.y + b.h) - MAX(a.y, b.y);
  return w > 0 && h > 0 ? w * h : 0.0f;
}

static box_t
blob_box(const cw_blob_t *b)
{
  return (box_t){b->x, b->y, b->w, b->h};
}

/* b grown by f of its size on every side. */
static box_t
box_grow(box_t b, float f)
{
  return (box_t){b.x - f * b.w, b.y - f * b.h, b.w * (1 + 2 * f), b.h * (1 + 2 * f)};
}

static float
iou(box_t a, box_t b)
{
  float in = inter_area(a, b);
  return in / MAX(a.w * a.h + b.w * b.h - in, 1.0f);
}

static box_t
box_union(box_t a, box_t b)
{
  float x0 = MIN(a.x, b.x), y0 = MIN(a.y, b.y);
  float x1 = MAX(a.x + a.w, b.x + b.w), y1 = MAX(a.y + a.h, b.y + b.h);
  return (box_t){x0, y0, x1 - x0, y1 - y0};
}

/* lo and size of a box kept inside [in_lo, in_lo + in_size), centred if
 * it does not fit. */
static float
clamp_into(float lo, float size, float in_lo, float in_size)
{
  if (size >= in_size)
    return in_lo + (in_size - size) / 2;
  return CLAMP(lo, in_lo, in_lo + in_size - size);
}

/* One axis of a measurement: the new extent, and how far the vehicle moved
 * since last seen. Size about unchanged: the point at ref (0 top or left,
 * 1 bottom or right; the ground point's 0.5 across, 1 down) moved. Size changed:
 * one edge is the vehicle's, the other where it is cut off (an occluder,
 * the picture's border). With a velocity known, the vehicle's edge is the
 * one that agrees with the prediction; before, the one that moved more
 * (the cut-off edge stays put). Smaller: the size is kept, shrinking
 * slowly in case the vehicle really is smaller; bigger: taken. */
static void
axis_update(float p_lo, float p_sz, float m_lo, float m_sz, float l_lo, float l_sz, float ref,
            float shrink, gboolean predicted, float *o_lo, float *o_sz, float *disp)
{
  if (fabsf(m_sz - l_sz) <= MAX(2.0f, 0.1f * l_sz)) {
    *o_lo = m_lo;
    *o_sz = m_sz;
    *disp = (m_lo + ref * m_sz) - (l_lo + ref * l_sz);
    return;
  }
  float d_lo = m_lo - l_lo, d_hi = (m_lo + m_sz) - (l_lo + l_sz);
  gboolean lo_edge = predicted ? fabsf(m_lo - p_lo) <= fabsf((m_lo + m_sz) - (p_lo + p_sz))
                               : fabsf(d_lo) >= fabsf(d_hi);
  *disp = lo_edge ? d_lo : d_hi;
  if (m_sz < l_sz) {
    float sz = MAX(m_sz, l_sz * shrink);
    *o_sz = sz;
    *o_lo = lo_edge ? m_lo : m_lo + m_sz - sz;
  } else {
    *o_lo = m_lo;
    *o_sz = m_sz;
  }
}

/* The widest one vehicle may be with its bottom at y; 0 unknown. */
static float
width_limit(const cw_tracker_t *t, float bottom)
{
  if (!t->o.max_width)
    return 0;
  return t->o.max_width[CLAMP((int)bottom - 1, 0, t->o.height - 1)];
}

/* ---- track state ---------------------------------------------------------- */

static void
set_box(track_t *k, box_t b, gint64 ts_us)
{
  cw_track_t *p = &k->pub;
  p->x = b.x;
  p->y = b.y;
  p->w = b.w;
  p->h = b.h;
  p->gx = b.x + b.w / 2;
  p->gy = b.y + b.h;
  p->updated_us = ts_us;
  if (p->n_history == 0) {
    p->first_gx = p->gx;
    p->first_gy = p->gy;
  }
  p->travelled = MAX(p->travelled, hypotf(p->gx - p->first_gx, p->gy - p->first_gy));
  if (p->n_history == CW_TRACK_HISTORY) {
    memmove(&p->history[0], &p->history[1], sizeof p->history[0] * (CW_TRACK_HISTORY - 1));
    p->n_history--;
  }
  p->history[p->n_history].gx = p->gx;
  p->history[p->n_history].gy = p->gy;
  p->history[p->n_history].ts_us = ts_us;
  p->n_history++;
}

static void
seen(cw_tracker_t *t, track_t *k, gint64 ts_us)
{
  k->pub.hits++;
  k->pub.missed = 0;
  k->pub.last_seen_us = ts_us;
  if (k->pub.hits >= t->o.min_hits)
    k->pub.confirmed = TRUE;
}

static void
update_matched(cw_tracker_t *t, track_t *k, gint64 ts_us)
{
  box_t m = k->meas, n;
  float dx, dy;
  gboolean predicted = k->n_vel >= 2;
  /* The ground point: the middle across, the bottom edge down. */
  /* Across, a smaller box is mostly an occluder (a pole, a pillar): the
   * size is held longer. Down, mostly a vehicle that shared the blob
   * leaving it: the box must come back to the vehicle soon, its bottom
   * being the ground point every rule uses. */
  axis_update(k->pred.x, k->pred.w, m.x, m.w, k->last.x, k->last.w, 0.5f, SHRINK_ACROSS, predicted,
              &n.x, &n.w, &dx);
  axis_update(k->pred.y, k->pred.h, m.y, m.h, k->last.y, k->last.h, 1.0f, SHRINK_DOWN, predicted,
              &n.y, &n.h, &dy);
  /* Kept wider than a vehicle can be (a merged blob made it so): it is
   * the vehicle's own blob now. */
  float lim = width_limit(t, n.y + n.h);
  if (lim > 0 && n.w > lim && m.w <= lim) {
    n.x = m.x;
    n.w = m.w;
  }
  float dt = (ts_us - k->pub.last_seen_us) / 1e6f;
  if (dt > 0) {
    k->n_vel++;
    float beta = MAX(1.0f / k->n_vel, VEL_BETA_MIN);
    k->pub.vx += beta * (dx / dt - k->pub.vx);
    k->pub.vy += beta * (dy / dt - k->pub.vy);
  }
  k->last = n;
  set_box(k, n, ts_us);
  seen(t, k, ts_us);
}

static void
start_track(cw_tracker_t *t, const cw_blob_t *b, gint64 ts_us)
{
  track_t *k = g_new0(track_t, 1);
  k->pub.id = t->next_id++;
  k->pub.first_us = ts_us;
  k->last = blob_box(b);
  set_box(k, k->last, ts_us);
  seen(t, k, ts_us);
  k->match = k->group = -1;
  g_ptr_array_add(t->tracks, k);
}

/* Two tracks on one vehicle: boxes mostly overlapping, moving alike (a
 * velocity not yet known matches any). Vehicles crossing overlap too, but
 * move apart. */
static gboolean
same_vehicle(const track_t *a, const track_t *b)
{
  if (iou(a->pred, b->pred) < 0.4f)
    return FALSE;
  if (a->n_vel == 0 || b->n_vel == 0)
    return TRUE;
  float dvx = a->pub.vx - b->pub.vx, dvy = a->pub.vy - b->pub.vy;
  float va = hypotf(a->pub.vx, a->pub.vy), vb = hypotf(b->pub.vx, b->pub.vy);
  return hypotf(dvx, dvy) <= 0.3f * MAX(va, vb) + 5.0f;
}

/* A coasting track whose box is mostly outside the picture has left
 * (known only when the options gave the picture's size). */
static gboolean
gone_out(const cw_tracker_t *t, const track_t *k)
{
  if (t->o.width <= 0 || t->o.height <= 0)
    return FALSE;
  box_t pic = {0, 0, (float)t->o.width, (float)t->o.height};
  box_t b = {k->pub.x, k->pub.y, k->pub.w, k->pub.h};
  return inter_area(b, pic) < 0.34f * MAX(b.w * b.h, 1.0f);
}

static int
cmp_pair(const void *pa, const void *pb)
{
  const pair_t *a = pa, *b = pb;
  if (a->cost != b->cost)
    return a->cost < b->cost ? -1 : 1;
  if (a->t != b->t)
    return a->t - b->t;
  return a->b - b->b;
}

/* ---- update --------------------------------------------------------------- */

void
cw_tracker_update(cw_tracker_t *t, const cw_blob_t *blobs, guint n, gint64 ts_us)
{
  g_ptr_array_set_size(t->ended, 0);
  n = MIN(n, MAX_BLOBS);
  guint nt = t->tracks->len;

  /* 1. Predict. */
  for (guint i = 0; i < nt; i++) {
    track_t *k = t->tracks->pdata[i];
    float dt = MAX(ts_us - k->pub.updated_us, 0) / 1e6f;
    k->pred = (box_t){k->pub.x + k->pub.vx * dt, k->pub.y + k->pub.vy * dt, k->pub.w, k->pub.h};
    k->match = k->group = -1;
    k->dup = FALSE;
  }

  /* 2. Pairs within the gate, cheapest first. */
  g_array_set_size(t->pairs, 0);
  for (guint i = 0; i < nt; i++) {
    track_t *k = t->tracks->pdata[i];
    box_t p = k->pred;
    float pa = MAX(p.w * p.h, 1.0f), diag = MAX(sqrtf(p.w * p.w + p.h * p.h), 1.0f);
    /* Uncertainty grows while coasting, and before a velocity is known. */
    float gate = t->o.gate * MIN(1.0f + 0.1f * k->pub.missed, 1.5f);
    if (k->n_vel == 0)
      gate *= 1.5f;
    for (guint j = 0; j < n; j++) {
      box_t b = blob_box(&blobs[j]);
      float ba = MAX(b.w * b.h, 1.0f), in = inter_area(p, b);
      float ov = in / (pa + ba - in);
      float dx = (b.x + b.w / 2) - (p.x + p.w / 2), dy = (b.y + b.h / 2) - (p.y + p.h / 2);
      float dn = sqrtf(dx * dx + dy * dy) / diag;
      /* Without real overlap: near, and of a like size unless one lies at
       * the other (a vehicle coming out of hiding shows a sliver first):
       * a big track coasting must not grab a small vehicle far off. */
      if (ov < 0.1f) {
        if (dn > gate)
          continue;
        if (4 * ba < pa && inter_area(box_grow(p, 0.5f), b) < 0.5f * ba)
          continue;
        if (4 * pa < ba && in < 0.5f * pa)
          continue;
      }
      pair_t pr = {0.5f * (1 - ov) + 0.4f * MIN(dn / gate, 1.0f) +
                       0.1f * MIN(fabsf(logf(ba / pa)), 1.0f),
                   (int)i, (int)j};
      g_array_append_val(t->pairs, pr);
    }
  }
  if (t->pairs->len > 1)
    qsort(t->pairs->data, t->pairs->len, sizeof(pair_t), cmp_pair);
  g_array_set_size(t->blob_used, n);
  int *used = (int *)(void *)t->blob_used->data;
  for (guint j = 0; j < n; j++)
    used[j] = -1;
  for (guint q = 0; q < t->pairs->len; q++) {
    const pair_t *pr = &g_array_index(t->pairs, pair_t, q);
    track_t *k = t->tracks->pdata[pr->t];
    if (k->match >= 0 || used[pr->b] != -1)
      continue;
    k->match = pr->b;
    k->meas = blob_box(&blobs[pr->b]);
    used[pr->b] = pr->t;
  }

  /* 3. Fragments of a vehicle already matched, or a coasting vehicle's. */
  for (guint j = 0; j < n; j++) {
    if (used[j] != -1)
      continue;
    box_t b = blob_box(&blobs[j]);
    float ba = MAX(b.w * b.h, 1.0f), best = 0.5f;
    int bi = -1;
    for (guint i = 0; i < nt; i++) {
      track_t *k = t->tracks->pdata[i];
      /* A little around the prediction too: the track's box may be the
       * part of the vehicle seen so far. */
      float f = inter_area(box_grow(k->pred, 0.25f), b) / ba;
      if (f >= best) {
        best = f;
        bi = (int)i;
      }
    }
    if (bi < 0)
      continue;
    track_t *k = t->tracks->pdata[bi];
    if (k->match < 0) {
      k->match = (int)j;
      k->meas = b;
      used[j] = bi;
      continue;
    }
    /* Joined only if the whole stays the track's size: else it is another
     * vehicle coming out from behind this one, and starts its own track. */
    box_t u = box_union(k->meas, b);
    float lim = width_limit(t, u.y + u.h);
    if (u.w <= 1.25f * k->pred.w + 2 && u.h <= 1.25f * k->pred.h + 2 && (lim <= 0 || u.w <= lim)) {
      k->meas = u;
      used[j] = -2;
    }
  }

  /* 4. Merges: a confirmed track left over, mostly inside a matched blob.
   * If it sits where the blob's own track is and moves the same way, the
   * two are one vehicle tracked twice (it came apart and joined again):
   * the younger track ends, the older one keeps the vehicle. */
  for (guint i = 0; i < nt; i++) {
    track_t *k = t->tracks->pdata[i];
    if (k->match >= 0 || !k->pub.confirmed || k->dup)
      continue;
    float pa = MAX(k->pred.w * k->pred.h, 1.0f), best = 0.5f;
    int bj = -1;
    for (guint j = 0; j < n; j++) {
      if (used[j] < 0)
        continue;
      float f = inter_area(k->pred, blob_box(&blobs[j])) / pa;
      if (f >= best) {
        best = f;
        bj = (int)j;
      }
    }
    if (bj < 0)
      continue;
    track_t *owner = t->tracks->pdata[used[bj]];
    if (same_vehicle(k, owner)) {
      if (k->pub.id < owner->pub.id) {
        k->match = bj;
        k->meas = owner->meas;
        k->group = owner->group; /* a merge found already stays one */
        used[bj] = (int)i;
        owner->match = -1;
        owner->group = -1;
        owner->dup = TRUE;
      } else {
        k->dup = TRUE;
      }
      continue;
    }
    k->group = bj;
    owner->group = bj;
  }

  /* 5. Update, coast, start. */
  for (guint i = 0; i < nt; i++) {
    track_t *k = t->tracks->pdata[i];
    if (k->dup)
      continue;
    k->pub.hidden = k->group >= 0 && k->match < 0;
    if (k->group >= 0) {
      /* In a merged blob: the prediction, kept inside the blob. */
      box_t b = blob_box(&blobs[k->group]), p = k->pred;
      p.x = clamp_into(p.x, p.w, b.x, b.w);
      p.y = clamp_into(p.y, p.h, b.y, b.h);
      set_box(k, p, ts_us);
      if (k->match >= 0) {
        k->last = p;
        seen(t, k, ts_us);
      } else {
        k->pub.missed++;
      }
    } else if (k->match >= 0) {
      update_matched(t, k, ts_us);
    } else {
      set_box(k, k->pred, ts_us);
      k->pub.missed++;
    }
  }
  for (guint j = 0; j < n && t->tracks->len < MAX_TRACKS; j++)
    if (used[j] == -1)
      start_track(t, &blobs[j], ts_us);

  /* 6. End the lost. */
  gint64 max_missed_us = (gint64)(t->o.max_missed_s * 1e6f);
  for (guint i = 0; i < t->tracks->len;) {
    track_t *k = t->tracks->pdata[i];
    gboolean lost;
    if (k->dup)
      lost = TRUE;
    else if (k->pub.missed > 0 && gone_out(t, k))
      lost = TRUE;
    else if (k->pub.confirmed)
      lost = k->pub.missed > 0 && ts_us - k->pub.last_seen_us > max_missed_us;
    else
      lost = k->pub.missed >= TENTATIVE_MAX_MISSED;
    if (lost) {
      g_ptr_array_remove_index(t->tracks, i);
      g_ptr_array_add(t->ended, k);
    } else {
      i++;
    }
  }
}
