/* Counting per line and direction (issue 6); see rules.h for the contract
 * and rules_priv.h for what it shares with the other rules. */
#include "rules_priv.h"

#include <math.h>

/* ---- counting ---- */

void
rules_emit_counts(cw_rules_t *r, gint64 ts, double interval_s)
{
  for (guint i = 0; i < r->cfg->lines->len; i++) {
    const cw_line_cfg_t *l = r->cfg->lines->pdata[i];
    GString *a = g_string_new("{");
    rules_attr_string(a, "line", l->id);
    rules_attr_number(a, "interval_s", interval_s);
    rules_attr_int(a, "forward", r->forward[i]);
    rules_attr_int(a, "reverse", r->reverse[i]);
    rules_emit(r, "traffic.count", CW_PHASE_INSTANT, 0, ts, ts, a);
    r->forward[i] = r->reverse[i] = 0;
  }
}

/* Reports every count interval that ended by ts (zero counts too). */
void
rules_roll_intervals(cw_rules_t *r, gint64 ts)
{
  gint64 len = (gint64)(r->cfg->t.count_interval_s * 1e6);
  if (r->interval_start == NO_TIME) {
    r->interval_start = ts;
    return;
  }
  int emitted = 0;
  while (ts >= r->interval_start + len) {
    if (emitted == MAX_EMPTY_INTERVALS) {
      /* A jump in stream time: start again rather than report hours of nothing. */
      r->interval_start = ts;
      break;
    }
    r->interval_start += len;
    rules_emit_counts(r, r->interval_start, r->cfg->t.count_interval_s);
    emitted++;
  }
}

/* Signed distance of p from the line through a -> b (frame fractions):
 * positive on its right (y down). */
static float
side_distance(cw_point_t a, cw_point_t b, cw_point_t p)
{
  float dx = b.x - a.x, dy = b.y - a.y;
  return (dx * (p.y - a.y) - dy * (p.x - a.x)) / MAX(hypotf(dx, dy), 1e-6f);
}

static void
count_add(cw_rules_t *r, guint line, int dir)
{
  if (dir > 0)
    r->forward[line]++;
  else
    r->reverse[line]++;
}

static void
count_once(cw_rules_t *r, track_state_t *st, guint line, int dir)
{
  int k = dir > 0 ? 0 : 1;
  if (st->counted[k] & (G_GUINT64_CONSTANT(1) << line))
    return;
  st->counted[k] |= G_GUINT64_CONSTANT(1) << line;
  count_add(r, line, dir);
}

/* Guessed crossings nobody contradicted within DUP_US count now (all of
 * them at the end of the stream). */
void
rules_commit_pending(cw_rules_t *r, gint64 ts, gboolean all)
{
  for (guint i = 0; i < r->recent->len; i++) {
    recent_t *c = &g_array_index(r->recent, recent_t, i);
    if (c->pending && (all || ts - c->ts_us > DUP_US)) {
      count_add(r, c->line, c->dir);
      c->pending = FALSE;
    }
  }
}

/* A second track on one vehicle (a tall truck in pieces, a shaken
 * picture's fragments, a lost box coasting on beside the vehicle's new
 * track) crosses a line where and when the first did: the same way, in
 * the same lane (or, without lanes, close by), within DUP_US. Two vehicles
 * cannot: one behind the other is further in time, side by side in
 * another lane. A guess (guess: made while coasting in the open) is only
 * pending: a crossing seen within DUP_US and a vehicle's width of it is
 * the same vehicle, and takes its place. Records the crossing; returns
 * what to do with it. */
typedef enum { CROSS_COUNT, CROSS_DUPLICATE, CROSS_PENDING } cross_t;

static cross_t
duplicate_crossing(cw_rules_t *r, guint line, int dir, cw_point_t at, gint64 ts, gboolean guess)
{
  int lane = rules_find_lane(r, at);
  int row = CLAMP((int)(at.y * (float)r->height), 0, r->height - 1);
  float wide = r->max_width ? 0.6f * r->max_width[row] / (float)r->width : 0;
  if (wide <= 0)
    wide = 2 * DUP_NEAR;
  for (guint i = 0; i < r->recent->len;) {
    recent_t *c = &g_array_index(r->recent, recent_t, i);
    if (!c->pending && (ts - c->ts_us > DUP_US || c->ts_us - ts > DUP_US)) {
      g_array_remove_index_fast(r->recent, i);
      continue;
    }
    i++;
    if (c->line != line || c->dir != dir || ts - c->ts_us > DUP_US || c->ts_us - ts > DUP_US)
      continue;
    gboolean same = lane >= 0 || c->lane >= 0 ? lane == c->lane
                                              : hypotf(at.x - c->at.x, at.y - c->at.y) < DUP_NEAR;
    if (same)
      return CROSS_DUPLICATE;
    if (fabsf(at.x - c->at.x) >= wide || guess == c->pending)
      continue;
    if (guess)
      return CROSS_DUPLICATE; /* beside one seen crossing: a lost box of it */
    /* The guess was this vehicle: the crossing seen counts in its place. */
    c->pending = FALSE;
    c->dir = 0; /* matches nothing any more */
  }
  recent_t c = {ts, line, dir, lane, at, guess};
  if (r->recent->len < 256)
    g_array_append_val(r->recent, c);
  return guess ? CROSS_PENDING : CROSS_COUNT;
}

/* Crossings are looked for on the track's whole path, predictions while
 * it coasted included: when two vehicles' blobs merge, the one that lost
 * its blob coasts along where it really goes, and must still count. A
 * crossing is from clearly one side (LINE_BAND off the line) to clearly
 * the other, so a box that jitters on the line never counts; and a track
 * counts a line at most once each way: one that jumped onto a vehicle
 * going the other way still counts that vehicle. */
void
rules_count_track(cw_rules_t *r, track_state_t *st, const cw_track_t *t)
{
  guint n = MIN(t->n_history, CW_TRACK_HISTORY);
  guint nlines = MIN(r->cfg->lines->len, 64);
  for (guint i = 0; i < n; i++) {
    if (t->history[i].ts_us <= st->last_hist_us)
      continue;
    /* A point predicted long after it was last seen, in the open (not
     * inside a merged blob), is a guess: a lost box drifting on at a
     * speed that was never the vehicle's. The side stays where it was
     * last known; seen again past the line, it still counts. */
    if (t->history[i].ts_us - t->last_seen_us > COAST_COUNT_US && !t->hidden)
      continue;
    cw_point_t p = rules_frac(r, t->history[i].gx, t->history[i].gy);
    for (guint l = 0; l < nlines; l++) {
      const cw_line_cfg_t *line = r->cfg->lines->pdata[l];
      float d = side_distance(line->from, line->to, p);
      if (fabsf(d) < LINE_BAND)
        continue;
      gint8 side = d > 0 ? 1 : -1;
      if (st->side[l] != 0 && side != st->side[l]) {
        int c = rules_crossing(line->from, line->to, st->side_at[l], p);
        /* Back over a line it counted: only when clearly gone the other
         * way (the box of one leaving the picture shrinks back a little). */
        guint64 back = st->counted[c > 0 ? 1 : 0] & (G_GUINT64_CONSTANT(1) << l);
        if (c != 0 && back && fabsf(d) < REVERSE_BAND)
          continue;
        if (c != 0) {
          gboolean guess = t->history[i].ts_us > t->last_seen_us && !t->hidden;
          cross_t what = duplicate_crossing(r, l, c, p, t->history[i].ts_us, guess);
          if (what == CROSS_COUNT)
            count_once(r, st, l, c);
          else if (what == CROSS_PENDING)
            st->counted[c > 0 ? 0 : 1] |= G_GUINT64_CONSTANT(1) << l;
        }
      }
      st->side[l] = side;
      st->side_at[l] = p;
    }
  }
  if (n > 0)
    st->last_hist_us = MAX(st->last_hist_us, t->history[n - 1].ts_us);
}

/* Counts every line the path p0 -> p1 crosses (the part of a vehicle's way
 * it was not seen on: extended from where it was found or lost). */
static void
count_unseen_path(cw_rules_t *r, track_state_t *st, cw_point_t p0, cw_point_t p1)
{
  guint nlines = MIN(r->cfg->lines->len, 64);
  for (guint l = 0; l < nlines; l++) {
    const cw_line_cfg_t *line = r->cfg->lines->pdata[l];
    int c = rules_crossing(line->from, line->to, p0, p1);
    if (c != 0)
      count_once(r, st, l, c);
  }
}

/* A vehicle is often first found past a line: it was hidden behind
 * another (an approaching vehicle behind the one in front of it, until the
 * gap opens), or its blob split from a merged one. Tracks move in straight
 * lines in the picture (a lane's image is straight), so the path before its
 * birth is its motion extended backwards, and the lines that path crosses
 * were crossed while hidden. Only for tracks coming down the picture,
 * towards the camera: one going away entered at the bottom, nearest the
 * camera and in plain view. Not for tracks born while tracking starts
 * (those vehicles were already there) nor for one that continues a track
 * lost nearby (it inherits that one's counts instead). */
void
rules_count_hidden_entry(cw_rules_t *r, track_state_t *st, const cw_track_t *t)
{
  if (st->entry_done)
    return;
  guint n = MIN(t->n_history, CW_TRACK_HISTORY);
  if (r->epoch_us == NO_TIME || t->first_us < r->epoch_us + ENTRY_WARMUP_US ||
      t->n_history > CW_TRACK_HISTORY) {
    st->entry_done = TRUE;
    return;
  }
  if (n < 2 || t->history[n - 1].ts_us - t->history[0].ts_us < ENTRY_SPAN_US)
    return; /* look again when its motion is known */
  st->entry_done = TRUE;
  cw_point_t b = rules_frac(r, t->history[0].gx, t->history[0].gy);
  cw_point_t e = rules_frac(r, t->history[n - 1].gx, t->history[n - 1].gy);
  cw_point_t m = {e.x - b.x, e.y - b.y};
  float len = hypotf(m.x, m.y);
  if (len < ENTRY_MIN_MOVE || b.x < ENTRY_EDGE || b.x > 1 - ENTRY_EDGE || b.y > 1 - ENTRY_EDGE)
    return;

  float dt_s = (float)(t->history[n - 1].ts_us - t->history[0].ts_us) / 1e6f;
  cw_point_t v = {m.x / dt_s, m.y / dt_s};
  for (guint i = 0; i < r->lost->len; i++) {
    const lost_t *l = &g_array_index(r->lost, lost_t, i);
    float ago = (float)(t->first_us - l->lost_us) / 1e6f;
    if (ago < 0 || ago * 1e6f > LOST_KEEP_US)
      continue;
    cw_point_t p = {l->pos.x + l->vel.x * ago, l->pos.y + l->vel.y * ago};
    float along = v.x * l->vel.x + v.y * l->vel.y;
    if (along > 0 && hypotf(p.x - b.x, p.y - b.y) <= LOST_MATCH + 0.1f * len) {
      st->counted[0] |= l->counted[0];
      st->counted[1] |= l->counted[1];
      g_array_remove_index_fast(r->lost, i);
      break;
    }
  }

  if (m.y <= 0)
    return; /* going away: came in at the bottom, in plain view */
  count_unseen_path(r, st, (cw_point_t){b.x - m.x / len * 2.0f, b.y - m.y / len * 2.0f}, b);
}

/* The other half of count_hidden_entry: a vehicle going away up the
 * picture that merged into the blob of the one behind it (their images
 * close up with distance) is lost for good; the lines ahead on its path
 * it will cross unseen. Not for one coming down: it comes out again, and
 * its new track counts what it passed. */
void
rules_count_hidden_exit(cw_rules_t *r, track_state_t *st, const cw_track_t *t)
{
  guint n = MIN(t->n_history, CW_TRACK_HISTORY);
  if (!t->hidden || n < 2)
    return;
  /* Its way over the last second, or longer for one crawling in a queue
   * (up to EXIT_SPAN_US, until it has moved ENTRY_MIN_MOVE). */
  cw_point_t e = rules_frac(r, t->history[n - 1].gx, t->history[n - 1].gy), b = e;
  for (guint i = n - 1; i > 0; i--) {
    gint64 dt = t->history[n - 1].ts_us - t->history[i - 1].ts_us;
    if (dt > EXIT_SPAN_US)
      break;
    b = rules_frac(r, t->history[i - 1].gx, t->history[i - 1].gy);
    if (dt >= ENTRY_SPAN_US && hypotf(e.x - b.x, e.y - b.y) >= ENTRY_MIN_MOVE)
      break;
  }
  cw_point_t m = {e.x - b.x, e.y - b.y};
  float len = hypotf(m.x, m.y);
  if (len < ENTRY_MIN_MOVE || m.y >= 0)
    return;
  count_unseen_path(r, st, e, (cw_point_t){e.x + m.x / len * 2.0f, e.y + m.y / len * 2.0f});
}

void
rules_remember_lost(cw_rules_t *r, const track_state_t *st, const cw_track_t *t, gint64 ts)
{
  guint n = MIN(t->n_history, CW_TRACK_HISTORY);
  for (guint i = 0; i < r->lost->len;) {
    if (ts - g_array_index(r->lost, lost_t, i).lost_us > LOST_KEEP_US)
      g_array_remove_index_fast(r->lost, i);
    else
      i++;
  }
  if (n < 2 || (st->counted[0] | st->counted[1]) == 0)
    return;
  cw_point_t g = rules_frac(r, t->gx, t->gy);
  if (g.x < ENTRY_EDGE || g.x > 1 - ENTRY_EDGE || g.y > 1 - ENTRY_EDGE || g.y < ENTRY_EDGE)
    return; /* drove out */
  float dt_s = (float)(t->history[n - 1].ts_us - t->history[0].ts_us) / 1e6f;
  if (dt_s <= 0)
    return;
  lost_t l = {
      .pos = g,
      .vel = {(t->history[n - 1].gx - t->history[0].gx) / r->width / dt_s,
              (t->history[n - 1].gy - t->history[0].gy) / r->height / dt_s},
      .lost_us = t->last_seen_us,
      .counted = {st->counted[0], st->counted[1]},
  };
  if (r->lost->len < 256)
    g_array_append_val(r->lost, l);
}
