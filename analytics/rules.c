/* Traffic rules on confirmed tracks: counts per line and direction,
 * congestion per zone, stopped vehicles in no-stopping zones, wrong-way
 * driving in lanes (see rules.h and config.h for the contract).
 *
 * Geometry is done in frame fractions (the configuration's space); tracks
 * arrive in working pixels and are divided by the working size. A track's
 * per-rule memory lives in a table keyed by track id, dropped when the
 * tracker lists the track as ended (or stops listing it at all). Here:
 * the rules' life, stopped vehicles and wrong-way; counting is in
 * rules_count.c, congestion in rules_congestion.c (rules_priv.h). */
#include "rules_priv.h"

#include "perspective.h"

#include <math.h>
#include <string.h>

/* ---- attributes as JSON text ---- */

void
rules_attr_string(GString *s, const char *name, const char *value)
{
  g_string_append_printf(s, "%s\"%s\":\"", s->len > 1 ? "," : "", name);
  for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
    if (*p == '"' || *p == '\\')
      g_string_append_printf(s, "\\%c", *p);
    else if (*p < 0x20)
      g_string_append_printf(s, "\\u%04x", *p);
    else
      g_string_append_c(s, (char)*p);
  }
  g_string_append_c(s, '"');
}

void
rules_attr_number(GString *s, const char *name, double value)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  if (!isfinite(value))
    g_strlcpy(buf, "null", sizeof buf);
  else
    g_ascii_formatd(buf, sizeof buf, "%.6g", value);
  g_string_append_printf(s, "%s\"%s\":%s", s->len > 1 ? "," : "", name, buf);
}

void
rules_attr_int(GString *s, const char *name, gint64 value)
{
  g_string_append_printf(s, "%s\"%s\":%" G_GINT64_FORMAT, s->len > 1 ? "," : "", name, value);
}

/* [x, y, w, h] in frame fractions, 4 decimals. */
void
rules_attr_box(GString *s, const cw_rules_t *r, const cw_track_t *t)
{
  double v[4] = {t->x / r->width, t->y / r->height, t->w / r->width, t->h / r->height};
  g_string_append_printf(s, "%s\"box\":[", s->len > 1 ? "," : "");
  for (int i = 0; i < 4; i++) {
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    g_ascii_formatd(buf, sizeof buf, "%.4f", CLAMP(v[i], 0.0, 1.0));
    g_string_append_printf(s, "%s%s", i ? "," : "", buf);
  }
  g_string_append_c(s, ']');
}

void
rules_emit(cw_rules_t *r, const char *kind, cw_phase_t phase, guint incident, gint64 ts,
           gint64 start, GString *attrs)
{
  g_string_append_c(attrs, '}');
  cw_analytics_event_t ev = {
      .kind = kind,
      .phase = phase,
      .incident = incident,
      .ts_us = ts,
      .start_us = start,
      .attributes = attrs->str,
  };
  if (r->emit)
    r->emit(r->opaque, &ev);
  g_string_free(attrs, TRUE);
}

const char *
cw_phase_name(cw_phase_t phase)
{
  switch (phase) {
  case CW_PHASE_INSTANT:
    return "instant";
  case CW_PHASE_START:
    return "start";
  case CW_PHASE_UPDATE:
    return "update";
  case CW_PHASE_END:
    return "end";
  }
  return "unknown";
}

/* ---- geometry ---- */

cw_point_t
rules_frac(const cw_rules_t *r, float x, float y)
{
  return (cw_point_t){x / (float)r->width, y / (float)r->height};
}

int
rules_find_zone(const cw_rules_t *r, cw_zone_kind_t kind, cw_point_t p)
{
  for (guint i = 0; i < r->cfg->zones->len; i++) {
    const cw_zone_cfg_t *z = r->cfg->zones->pdata[i];
    if (z->kind == kind && cw_polygon_contains(z->polygon, p))
      return (int)i;
  }
  return -1;
}

int
rules_find_lane(const cw_rules_t *r, cw_point_t p)
{
  for (guint i = 0; i < r->cfg->lanes->len; i++) {
    const cw_lane_cfg_t *l = r->cfg->lanes->pdata[i];
    if (cw_polygon_contains(l->polygon, p))
      return (int)i;
  }
  return -1;
}

/* Which way p0 -> p1 crosses the segment a -> b: +1 from its left to its
 * right (y down), -1 the other way, 0 not at all. A point exactly on the
 * line counts as left, so a path that touches it twice counts once. */
int
rules_crossing(cw_point_t a, cw_point_t b, cw_point_t p0, cw_point_t p1)
{
  double dx = b.x - a.x, dy = b.y - a.y;
  double s0 = dx * (p0.y - a.y) - dy * (p0.x - a.x);
  double s1 = dx * (p1.y - a.y) - dy * (p1.x - a.x);
  gboolean r0 = s0 > 0, r1 = s1 > 0;
  if (r0 == r1)
    return 0;
  double u = s0 / (s0 - s1);
  double qx = p0.x + u * (p1.x - p0.x), qy = p0.y + u * (p1.y - p0.y);
  double t = ((qx - a.x) * dx + (qy - a.y) * dy) / (dx * dx + dy * dy);
  if (t < 0 || t > 1)
    return 0;
  return r1 ? 1 : -1;
}

/* Net speed (frame fractions a second) over the last ~2 s of history;
 * FALSE when the history is too short to tell. */
gboolean
rules_track_speed(const cw_rules_t *r, const cw_track_t *t, float *speed)
{
  if (t->n_history < 2)
    return FALSE;
  guint n = MIN(t->n_history, CW_TRACK_HISTORY);
  guint last = n - 1, i = last;
  gint64 now = t->history[last].ts_us;
  while (i > 0 && now - t->history[i - 1].ts_us <= SPEED_SPAN_US)
    i--;
  gint64 dt = now - t->history[i].ts_us;
  if (dt < SPEED_MIN_SPAN_US)
    return FALSE;
  float dx = (t->history[last].gx - t->history[i].gx) / r->width;
  float dy = (t->history[last].gy - t->history[i].gy) / r->height;
  *speed = hypotf(dx, dy) / ((float)dt / 1e6f);
  return TRUE;
}

/* When a vehicle now found stationary stopped: the oldest point of the
 * unbroken run of history within reach of where it stands now. */
static gint64
stop_time(const cw_rules_t *r, const cw_track_t *t)
{
  guint n = MIN(t->n_history, CW_TRACK_HISTORY);
  float reach = r->cfg->t.stopped_speed * (SPEED_SPAN_US / 1e6f);
  float gx = t->history[n - 1].gx, gy = t->history[n - 1].gy;
  guint i = n - 1;
  while (i > 0 && hypotf((t->history[i - 1].gx - gx) / r->width,
                         (t->history[i - 1].gy - gy) / r->height) <= reach)
    i--;
  return t->history[i].ts_us;
}

/* ---- stopped vehicle ---- */

static void
stop_emit_end(cw_rules_t *r, guint incident, int zone, guint track_id, gint64 since,
              const cw_track_t *t, gint64 ts, gint64 until)
{
  const cw_zone_cfg_t *z = r->cfg->zones->pdata[zone];
  GString *a = g_string_new("{");
  rules_attr_string(a, "zone", z->id);
  rules_attr_int(a, "track_id", track_id);
  rules_attr_number(a, "stopped_s", MAX(0, until - since) / 1e6);
  if (t)
    rules_attr_box(a, r, t);
  rules_emit(r, "traffic.stopped_vehicle", CW_PHASE_END, incident, ts, since, a);
}

static void
stop_end(cw_rules_t *r, track_state_t *st, const cw_track_t *t, gint64 ts, gint64 until)
{
  if (!st->stop_incident)
    return;
  stop_emit_end(r, st->stop_incident, st->stop_zone, st->id, st->stationary_since, t, ts, until);
  st->stop_incident = 0;
}

/* A stationary track that is lost (a passing vehicle's blob swallowed it,
 * the tracker let it go) leaves its stop here for a while: a new track
 * found standing at the same place carries it on. */
static void
stop_park(cw_rules_t *r, track_state_t *st, gint64 ts, gint64 lost_us)
{
  if (!st->stationary)
    return;
  parked_t p = {
      .pos = st->stop_pos,
      .since = st->stationary_since,
      .incident = st->stop_incident,
      .zone = st->stop_zone,
      .track_id = st->id,
      .lost_us = MIN(ts, lost_us),
  };
  g_array_append_val(r->parked, p);
  st->stop_incident = 0;
  st->stationary = FALSE;
}

/* Parked stops nobody took over by now end; all of them with everything. */
static void
parked_expire(cw_rules_t *r, gint64 ts, gboolean all)
{
  for (guint i = 0; i < r->parked->len;) {
    parked_t *p = &g_array_index(r->parked, parked_t, i);
    if (!all && ts - p->lost_us < STOP_GRACE_US) {
      i++;
      continue;
    }
    if (p->incident)
      stop_emit_end(r, p->incident, p->zone, p->track_id, p->since, NULL, ts, p->lost_us);
    g_array_remove_index(r->parked, i);
  }
}

static void
check_stopped(cw_rules_t *r, track_state_t *st, const cw_track_t *t, cw_point_t g, gint64 ts)
{
  const cw_thresholds_t *th = &r->cfg->t;
  float reach = th->stopped_speed * (SPEED_SPAN_US / 1e6f);
  float speed;
  if (rules_track_speed(r, t, &speed)) {
    if (!st->stationary && speed < th->stopped_speed) {
      int parked = -1;
      for (guint i = 0; i < r->parked->len && parked < 0; i++) {
        const parked_t *p = &g_array_index(r->parked, parked_t, i);
        if (hypotf(p->pos.x - g.x, p->pos.y - g.y) <= MAX(2 * reach, STOP_MATCH))
          parked = (int)i;
      }
      /* Only a vehicle that came from elsewhere stops (or one found again
       * where a stop was left): what stands where it was found is a ghost
       * of the background, a vehicle that stood there while it was learnt
       * and left. */
      if (parked >= 0 || t->travelled >= STOP_TRAVEL * (float)r->width) {
        st->stationary = TRUE;
        st->stationary_since = stop_time(r, t);
        st->stop_pos = g;
      }
      if (parked >= 0) {
        const parked_t *p = &g_array_index(r->parked, parked_t, parked);
        st->stationary_since = MIN(st->stationary_since, p->since);
        st->stop_incident = p->incident;
        st->stop_zone = p->zone;
        g_array_remove_index(r->parked, (guint)parked);
      }
    } else if (st->stationary && speed >= th->stopped_speed &&
               hypotf(g.x - st->stop_pos.x, g.y - st->stop_pos.y) > 2 * reach) {
      /* Moved off: faster than a stop and away from where it stood (the
       * box of a standing vehicle jitters by a few pixels). Or its box was
       * pulled off it by a vehicle passing close: parked, the stop carries
       * on if the track (or a new one) stands there again soon. */
      stop_park(r, st, ts, ts);
    }
  }
  int zone = rules_find_zone(r, CW_ZONE_NO_STOPPING, g);
  /* Out of the zone: a box pulled off it as well, most often; parked like
   * a move-off, it ends in 5 s unless it stands there again. */
  if (st->stop_incident && zone != st->stop_zone)
    stop_park(r, st, ts, ts);
  if (st->stationary && !st->stop_incident && zone >= 0 &&
      ts - st->stationary_since >= (gint64)(th->stopped_s * 1e6)) {
    st->stop_incident = r->next_incident++;
    st->stop_zone = zone;
    const cw_zone_cfg_t *z = r->cfg->zones->pdata[zone];
    GString *a = g_string_new("{");
    rules_attr_string(a, "zone", z->id);
    rules_attr_int(a, "track_id", st->id);
    rules_attr_number(a, "stopped_s", (ts - st->stationary_since) / 1e6);
    rules_attr_box(a, r, t);
    rules_emit(r, "traffic.stopped_vehicle", CW_PHASE_START, st->stop_incident, ts,
               st->stationary_since, a);
  }
}

/* ---- wrong way ---- */

/* Whether the path since the lane anchor went against dir steadily:
 * mostly backward steps, and not one jump (a blob that merges with or
 * splits from another moves its box edge by a vehicle length at once). */
static gboolean
steadily_against(const cw_rules_t *r, const cw_track_t *t, gint64 since, cw_point_t dir)
{
  guint n = MIN(t->n_history, CW_TRACK_HISTORY);
  double against = 0, along = 0, biggest = 0;
  const cw_point_t *prev = NULL;
  cw_point_t p, q;
  for (guint i = 0; i < n; i++) {
    if (t->history[i].ts_us < since || t->history[i].ts_us > t->last_seen_us)
      continue;
    q = rules_frac(r, t->history[i].gx, t->history[i].gy);
    if (prev) {
      double step = (q.x - p.x) * dir.x + (q.y - p.y) * dir.y;
      if (step < 0) {
        against -= step;
        biggest = MAX(biggest, -step);
      } else {
        along += step;
      }
    }
    p = q;
    prev = &p;
  }
  return against > 0 && along <= 0.25 * against && biggest <= 0.5 * against;
}

/* Whether it is still going against dir: over its last second seen. */
static gboolean
still_against(const cw_rules_t *r, const cw_track_t *t, cw_point_t dir)
{
  guint n = MIN(t->n_history, CW_TRACK_HISTORY);
  int last = -1, first = -1;
  for (guint i = n; i > 0; i--) {
    gint64 ts = t->history[i - 1].ts_us;
    if (ts > t->last_seen_us)
      continue;
    if (last < 0)
      last = (int)i - 1;
    else if (t->history[last].ts_us - ts > RECENT_US)
      break;
    first = (int)i - 1;
  }
  if (last < 0 || first == last)
    return FALSE;
  cw_point_t a = rules_frac(r, t->history[first].gx, t->history[first].gy);
  cw_point_t b = rules_frac(r, t->history[last].gx, t->history[last].gy);
  return (b.x - a.x) * dir.x + (b.y - a.y) * dir.y < 0;
}

/* Whether the bottom of the track's box lies largely (BESIDE_POINTS of 7)
 * on lanes where its way is the right one: a wide blob (a vehicle and its
 * neighbour, a truck seen from the side) reaches over the lane line, and
 * its middle may fall on the wrong side of it. A vehicle driving the wrong
 * way next to the centre line reaches over it a little too, so a little
 * does not count. */
#define BESIDE_POINTS 3 /* of the 7 points along the box's bottom */
/* check_wrong_way: the box's top must go against the lane at least this
 * share of what its bottom does. */
#define TOP_SHARE 0.4f

static gboolean
beside_lane_along(const cw_rules_t *r, const cw_track_t *t, int lane, cw_point_t motion)
{
  float y = MIN(t->y + t->h - 0.5f, (float)r->height - 0.5f);
  int along = 0;
  for (int k = 0; k <= 6; k++) {
    cw_point_t p = rules_frac(r, MIN(t->x + t->w * k / 6.0f, (float)r->width - 0.5f), y);
    for (guint i = 0; i < r->cfg->lanes->len; i++) {
      const cw_lane_cfg_t *l = r->cfg->lanes->pdata[i];
      if ((int)i != lane && motion.x * l->direction.x + motion.y * l->direction.y > 0 &&
          cw_polygon_contains(l->polygon, p)) {
        along++;
        break;
      }
    }
  }
  return along >= BESIDE_POINTS;
}

static void
check_wrong_way(cw_rules_t *r, track_state_t *st, const cw_track_t *t, cw_point_t g, gint64 ts)
{
  if (t->missed > 0 || t->last_seen_us < ts)
    return; /* coasting: where it is now is a guess */
  int lane = rules_find_lane(r, g);
  if (lane != st->lane) {
    st->lane = lane;
    if (lane < 0)
      return;
    /* Where it entered this lane: back through its history while in it
     * (a track confirmed late still has its whole approach). */
    const cw_lane_cfg_t *l = r->cfg->lanes->pdata[lane];
    guint n = MIN(t->n_history, CW_TRACK_HISTORY);
    st->lane_anchor = g;
    st->lane_anchor_us = ts;
    st->top_anchor = rules_frac(r, t->x + t->w / 2, t->y);
    for (guint i = n; i > 0; i--) {
      if (t->history[i - 1].ts_us > t->last_seen_us)
        continue;
      cw_point_t p = rules_frac(r, t->history[i - 1].gx, t->history[i - 1].gy);
      if (!cw_polygon_contains(l->polygon, p))
        break;
      st->lane_anchor = p;
      st->lane_anchor_us = t->history[i - 1].ts_us;
    }
  }
  if (lane < 0 || st->wrong_way_done)
    return;
  const cw_lane_cfg_t *l = r->cfg->lanes->pdata[lane];
  float dx = g.x - st->lane_anchor.x, dy = g.y - st->lane_anchor.y;
  if (dx * l->direction.x + dy * l->direction.y >= -r->cfg->t.wrong_way_distance)
    return;
  /* A box wider than one vehicle can be there is vehicles merged: its
   * motion is theirs together, not one vehicle's. */
  int row = CLAMP((int)(t->y + t->h) - 1, 0, r->height - 1);
  if (r->max_width && r->max_width[row] > 0 && t->w > r->max_width[row])
    return;
  /* The whole vehicle goes against the lane, its top too: a box whose
   * bottom comes back up while its top stays (a blob that held a passing
   * vehicle shrinking back onto what stands there) is not driving. */
  cw_point_t top = rules_frac(r, t->x + t->w / 2, t->y);
  float top_along =
      (top.x - st->top_anchor.x) * l->direction.x + (top.y - st->top_anchor.y) * l->direction.y;
  if (top_along > TOP_SHARE * (dx * l->direction.x + dy * l->direction.y))
    return;
  if (ts - st->lane_anchor_us < WRONG_WAY_MIN_US ||
      !steadily_against(r, t, st->lane_anchor_us, l->direction) ||
      !still_against(r, t, l->direction) || beside_lane_along(r, t, lane, (cw_point_t){dx, dy}))
    return;
  st->wrong_way_done = TRUE;
  /* Heading in the picture: degrees clockwise from up, in pixels. */
  double heading = atan2(dx * r->width, -dy * r->height) * 180.0 / G_PI;
  if (heading < 0)
    heading += 360;
  GString *a = g_string_new("{");
  rules_attr_string(a, "lane", l->id);
  rules_attr_int(a, "track_id", st->id);
  rules_attr_box(a, r, t);
  rules_attr_number(a, "heading_deg", round(heading * 10) / 10);
  rules_emit(r, "traffic.wrong_way", CW_PHASE_INSTANT, 0, ts, ts, a);
}

/* ---- the rules ---- */

cw_rules_t *
cw_rules_new(const cw_analytics_config_t *cfg, int width, int height, cw_analytics_emit_fn emit_fn,
             void *opaque)
{
  g_return_val_if_fail(cfg && width > 0 && height > 0, NULL);
  cw_rules_t *r = g_new0(cw_rules_t, 1);
  r->cfg = cfg;
  r->width = width;
  r->height = height;
  r->emit = emit_fn;
  r->opaque = opaque;
  r->next_incident = 1;
  r->tracks = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
  r->parked = g_array_new(FALSE, FALSE, sizeof(parked_t));
  r->lost = g_array_new(FALSE, FALSE, sizeof(lost_t));
  r->recent = g_array_new(FALSE, FALSE, sizeof(recent_t));
  r->row = g_malloc0((gsize)width);
  r->max_width = g_new(float, height);
  if (!cw_perspective_max_width(cfg, width, height, r->max_width))
    g_clear_pointer(&r->max_width, g_free);
  r->epoch_us = r->last_update_us = NO_TIME;
  r->congestion = g_ptr_array_new_with_free_func(rules_congestion_zone_free);
  for (guint i = 0; i < cfg->zones->len; i++) {
    const cw_zone_cfg_t *z = cfg->zones->pdata[i];
    if (z->kind == CW_ZONE_CONGESTION)
      g_ptr_array_add(r->congestion, rules_congestion_zone_new(r, z));
  }
  r->forward = g_new0(guint, cfg->lines->len + 1);
  r->reverse = g_new0(guint, cfg->lines->len + 1);
  r->interval_start = NO_TIME;
  return r;
}

static track_state_t *
state_for(cw_rules_t *r, const cw_track_t *t)
{
  track_state_t *st = g_hash_table_lookup(r->tracks, GUINT_TO_POINTER(t->id));
  if (!st) {
    st = g_new0(track_state_t, 1);
    st->id = t->id;
    st->last_hist_us = NO_TIME;
    st->lane = -2;
    g_hash_table_insert(r->tracks, GUINT_TO_POINTER(t->id), st);
  }
  return st;
}

void
cw_rules_update(cw_rules_t *r, const GPtrArray *tracks, const GPtrArray *ended, const guint8 *mask,
                gint64 ts_us)
{
  g_return_if_fail(r);
  rules_commit_pending(r, ts_us, FALSE);
  rules_roll_intervals(r, ts_us);
  r->generation++;
  if (r->epoch_us == NO_TIME || ts_us - r->last_update_us > BLIND_GAP_US)
    r->epoch_us = ts_us; /* a gap: the picture was blind */
  r->last_update_us = ts_us;

  /* Ended tracks: their last moves still count, then their incidents end.
   * One without state was never seen confirmed here, or was forgotten by
   * a reset (counted already): nothing to do. */
  for (guint i = 0; ended && i < ended->len; i++) {
    const cw_track_t *t = ended->pdata[i];
    track_state_t *st = g_hash_table_lookup(r->tracks, GUINT_TO_POINTER(t->id));
    if (!st)
      continue;
    rules_count_track(r, st, t);
    rules_count_hidden_exit(r, st, t);
    rules_remember_lost(r, st, t, ts_us);
    stop_park(r, st, ts_us, t->last_seen_us);
    stop_end(r, st, t, ts_us, MIN(ts_us, t->last_seen_us));
    g_hash_table_remove(r->tracks, GUINT_TO_POINTER(t->id));
  }

  for (guint i = 0; tracks && i < tracks->len; i++) {
    const cw_track_t *t = tracks->pdata[i];
    if (!t->confirmed)
      continue;
    track_state_t *st = state_for(r, t);
    st->generation = r->generation;
    rules_count_hidden_entry(r, st, t);
    rules_count_track(r, st, t);
    cw_point_t g = rules_frac(r, t->gx, t->gy);
    check_stopped(r, st, t, g, ts_us);
    check_wrong_way(r, st, t, g, ts_us);
  }

  /* Tracks that vanished without being listed as ended. */
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init(&it, r->tracks);
  while (g_hash_table_iter_next(&it, NULL, &value)) {
    track_state_t *st = value;
    if (st->generation != r->generation) {
      stop_park(r, st, ts_us, ts_us);
      stop_end(r, st, NULL, ts_us, ts_us);
      g_hash_table_iter_remove(&it);
    }
  }

  parked_expire(r, ts_us, FALSE);

  for (guint i = 0; i < r->congestion->len; i++)
    rules_congestion_update(r, r->congestion->pdata[i], tracks, mask, ts_us);
}

static void
end_incidents(cw_rules_t *r, gint64 ts_us)
{
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init(&it, r->tracks);
  while (g_hash_table_iter_next(&it, NULL, &value))
    stop_end(r, value, NULL, ts_us, ts_us);
  g_hash_table_remove_all(r->tracks);
  parked_expire(r, ts_us, TRUE);
  for (guint i = 0; i < r->congestion->len; i++) {
    congestion_zone_t *cz = r->congestion->pdata[i];
    rules_congestion_end(r, cz, ts_us);
    rules_window_clear(cz);
  }
}

void
cw_rules_flush(cw_rules_t *r, gint64 ts_us)
{
  g_return_if_fail(r);
  rules_commit_pending(r, ts_us, TRUE);
  if (r->interval_start != NO_TIME) {
    rules_roll_intervals(r, ts_us);
    if (ts_us > r->interval_start)
      rules_emit_counts(r, ts_us, (ts_us - r->interval_start) / 1e6);
    r->interval_start = NO_TIME;
  }
  end_incidents(r, ts_us);
}

void
cw_rules_reset(cw_rules_t *r, gint64 ts_us)
{
  g_return_if_fail(r);
  end_incidents(r, ts_us);
  g_array_set_size(r->lost, 0);
  r->epoch_us = NO_TIME;
}

void
cw_rules_free(cw_rules_t *r)
{
  if (!r)
    return;
  g_hash_table_unref(r->tracks);
  g_array_unref(r->parked);
  g_array_unref(r->lost);
  g_array_unref(r->recent);
  g_free(r->row);
  g_free(r->max_width);
  g_ptr_array_unref(r->congestion);
  g_free(r->forward);
  g_free(r->reverse);
  g_free(r);
}
