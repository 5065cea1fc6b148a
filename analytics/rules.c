/* Traffic rules on confirmed tracks: counts per line and direction,
 * congestion per zone, stopped vehicles in no-stopping zones, wrong-way
 * driving in lanes (see rules.h and config.h for the contract).
 *
 * Geometry is done in frame fractions (the configuration's space); tracks
 * arrive in working pixels and are divided by the working size. A track's
 * per-rule memory lives in a table keyed by track id, dropped when the
 * tracker lists the track as ended (or stops listing it at all). */
#include "rules.h"

#include "bgmodel.h"
#include "perspective.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NO_TIME G_MININT64
/* Speed of a vehicle for the stopped rule: displacement over this much of
 * its history (a net displacement, so box jitter does not add up). */
#define SPEED_SPAN_US 2000000
#define SPEED_MIN_SPAN_US 1000000
/* After a long gap in stream time, at most this many empty count intervals
 * are reported before counting starts again from the new time. */
#define MAX_EMPTY_INTERVALS 1000
/* Wrong-way: against the lane for at least this long, not only this far
 * (a track that jumps onto another vehicle must not pass). */
#define WRONG_WAY_MIN_US 2000000
#define RECENT_US 1000000
/* A lost standing vehicle's stop waits this long for a new track found
 * standing within STOP_MATCH (frame fractions) of it. */
#define STOP_GRACE_US 5000000
#define STOP_MATCH 0.03f
/* Congestion onset: short means over this span (see congestion_onset). */
#define ONSET_SPAN_US 5000000
/* ... looked for this far back, whatever the window. */
#define ONSET_KEEP_US 90000000
/* Hidden entries (count_hidden_entry): tracks born this soon after tracking
 * (re)started are not looked at; the motion is judged over at least
 * ENTRY_SPAN_US and must be ENTRY_MIN_MOVE long (frame fractions); births
 * within ENTRY_EDGE of the picture's sides or bottom came in from outside.
 * A lost track is remembered LOST_KEEP_US, and found again within
 * LOST_MATCH of where it would be now. */
/* A line is crossed from this far (frame fractions) on one side to as far
 * on the other. */
#define LINE_BAND 0.006f
#define REVERSE_BAND 0.05f
/* count_track: predictions this long after the track was last seen count
 * only inside a merged blob. */
#define COAST_COUNT_US 1500000
/* duplicate_crossing */
#define DUP_US 600000
#define DUP_NEAR 0.03f
#define BLIND_GAP_US 1500000
#define ENTRY_WARMUP_US 3000000
#define ENTRY_SPAN_US 1000000
#define ENTRY_MIN_MOVE 0.02f
#define ENTRY_EDGE 0.03f
#define LOST_KEEP_US 4000000
#define LOST_MATCH 0.05f

typedef enum { LEVEL_FREE = 0, LEVEL_HEAVY = 1, LEVEL_JAMMED = 2 } level_t;
static const char *const level_names[] = {"free", "heavy", "jammed"};

typedef struct {
  guint id;
  guint generation;       /* last update that listed it */
  gint64 last_hist_us;    /* newest history point already examined for crossings */
  guint64 counted[2];     /* bit i: counted on line i, [0] forward, [1] reverse */
  gint8 side[64];         /* side of line i it was last clearly on: +1 right, -1 left, 0 not yet */
  cw_point_t side_at[64]; /* where it was then */
  int lane;               /* lane of the ground point, -1 none, -2 not looked yet */
  cw_point_t lane_anchor; /* where it entered that lane (frame fractions) */
  gint64 lane_anchor_us;
  gboolean wrong_way_done;
  gboolean entry_done; /* hidden crossings before its birth looked for */
  gboolean stationary;
  gint64 stationary_since;
  cw_point_t stop_pos;
  guint stop_incident; /* 0: no stopped-vehicle incident open */
  int stop_zone;
} track_state_t;

typedef struct {
  cw_point_t pos;
  gint64 since, lost_us;
  guint incident; /* 0: not reported yet */
  int zone;
  guint track_id;
} parked_t;

/* A confirmed track lost in the open (not driven out of the picture):
 * the vehicle is most likely still there, hidden, and may be found again
 * as a new track, which then inherits what it counted. */
typedef struct {
  cw_point_t pos, vel; /* last seen ground point, frame fractions (a second) */
  gint64 lost_us;
  guint64 counted[2];
} lost_t;

typedef struct {
  gint64 ts_us;
  guint line;
  int dir;
  int lane;
  cw_point_t at;
  gboolean pending; /* a guess (made coasting in the open), counted once DUP_US passed */
} recent_t;

typedef struct {
  gint64 ts;
  float occ;
  gboolean has_occ;
  float speed_sum;
  int speed_n;
} sample_t;

typedef struct {
  int y, x0, x1; /* working pixels [x0, x1) of row y */
} span_t;

typedef struct {
  const cw_zone_cfg_t *cfg;
  GArray *spans; /* span_t */
  int area;
  GArray *samples; /* sample_t, oldest at samples_head */
  guint samples_head;
  double occ_sum, speed_sum;
  int occ_n, speed_n;
  level_t level;
  gint64 pending_since; /* candidate level != level since; NO_TIME none */
  guint incident;
  gint64 incident_start;
} congestion_zone_t;

struct cw_rules {
  const cw_analytics_config_t *cfg;
  int width, height;
  cw_analytics_emit_fn emit;
  void *opaque;
  guint next_incident;
  guint generation;
  GHashTable *tracks; /* id -> track_state_t* */
  GArray *parked;     /* parked_t: stops of lost tracks */
  GArray *lost;       /* lost_t: counting memory of lost tracks */
  gint64 epoch_us;    /* tracking (re)started: first frame, reset, after blindness */
  gint64 last_update_us;
  GPtrArray *congestion; /* congestion_zone_t* */
  /* counts of the current interval, per line */
  guint *forward, *reverse;
  GArray *recent;   /* recent_t: path crossings of the last DUP_US */
  guint8 *row;      /* scratch, a working row */
  float *max_width; /* per row, one vehicle's widest (perspective.h); NULL: no lanes */
  gint64 interval_start;
};

/* ---- attributes as JSON text ---- */

static void
attr_string(GString *s, const char *name, const char *value)
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

static void
attr_number(GString *s, const char *name, double value)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  if (!isfinite(value))
    g_strlcpy(buf, "null", sizeof buf);
  else
    g_ascii_formatd(buf, sizeof buf, "%.6g", value);
  g_string_append_printf(s, "%s\"%s\":%s", s->len > 1 ? "," : "", name, buf);
}

static void
attr_int(GString *s, const char *name, gint64 value)
{
  g_string_append_printf(s, "%s\"%s\":%" G_GINT64_FORMAT, s->len > 1 ? "," : "", name, value);
}

/* [x, y, w, h] in frame fractions, 4 decimals. */
static void
attr_box(GString *s, const cw_rules_t *r, const cw_track_t *t)
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

static void
emit(cw_rules_t *r, const char *kind, cw_phase_t phase, guint incident, gint64 ts, gint64 start,
     GString *attrs)
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

static cw_point_t
frac(const cw_rules_t *r, float x, float y)
{
  return (cw_point_t){x / (float)r->width, y / (float)r->height};
}

static int
find_zone(const cw_rules_t *r, cw_zone_kind_t kind, cw_point_t p)
{
  for (guint i = 0; i < r->cfg->zones->len; i++) {
    const cw_zone_cfg_t *z = r->cfg->zones->pdata[i];
    if (z->kind == kind && cw_polygon_contains(z->polygon, p))
      return (int)i;
  }
  return -1;
}

static int
find_lane(const cw_rules_t *r, cw_point_t p)
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
static int
crossing(cw_point_t a, cw_point_t b, cw_point_t p0, cw_point_t p1)
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
static gboolean
track_speed(const cw_rules_t *r, const cw_track_t *t, float *speed)
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

/* ---- counting ---- */

static void
emit_counts(cw_rules_t *r, gint64 ts, double interval_s)
{
  for (guint i = 0; i < r->cfg->lines->len; i++) {
    const cw_line_cfg_t *l = r->cfg->lines->pdata[i];
    GString *a = g_string_new("{");
    attr_string(a, "line", l->id);
    attr_number(a, "interval_s", interval_s);
    attr_int(a, "forward", r->forward[i]);
    attr_int(a, "reverse", r->reverse[i]);
    emit(r, "traffic.count", CW_PHASE_INSTANT, 0, ts, ts, a);
    r->forward[i] = r->reverse[i] = 0;
  }
}

/* Reports every count interval that ended by ts (zero counts too). */
static void
roll_intervals(cw_rules_t *r, gint64 ts)
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
    emit_counts(r, r->interval_start, r->cfg->t.count_interval_s);
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
static void
commit_pending(cw_rules_t *r, gint64 ts, gboolean all)
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
  int lane = find_lane(r, at);
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
static void
count_track(cw_rules_t *r, track_state_t *st, const cw_track_t *t)
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
    cw_point_t p = frac(r, t->history[i].gx, t->history[i].gy);
    for (guint l = 0; l < nlines; l++) {
      const cw_line_cfg_t *line = r->cfg->lines->pdata[l];
      float d = side_distance(line->from, line->to, p);
      if (fabsf(d) < LINE_BAND)
        continue;
      gint8 side = d > 0 ? 1 : -1;
      if (st->side[l] != 0 && side != st->side[l]) {
        int c = crossing(line->from, line->to, st->side_at[l], p);
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
static void
count_hidden_entry(cw_rules_t *r, track_state_t *st, const cw_track_t *t)
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
  cw_point_t b = frac(r, t->history[0].gx, t->history[0].gy);
  cw_point_t e = frac(r, t->history[n - 1].gx, t->history[n - 1].gy);
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
  cw_point_t far = {b.x - m.x / len * 2.0f, b.y - m.y / len * 2.0f};
  guint nlines = MIN(r->cfg->lines->len, 64);
  for (guint l = 0; l < nlines; l++) {
    const cw_line_cfg_t *line = r->cfg->lines->pdata[l];
    int c = crossing(line->from, line->to, far, b);
    if (c != 0)
      count_once(r, st, l, c);
  }
}

/* The other half of count_hidden_entry: a vehicle going away up the
 * picture that merged into the blob of the one behind it (their images
 * close up with distance) is lost for good; the lines ahead on its path
 * it will cross unseen. Not for one coming down: it comes out again, and
 * its new track counts what it passed. */
static void
count_hidden_exit(cw_rules_t *r, track_state_t *st, const cw_track_t *t)
{
  guint n = MIN(t->n_history, CW_TRACK_HISTORY);
  if (!t->hidden || n < 2)
    return;
  guint i = n - 1;
  while (i > 0 && t->history[n - 1].ts_us - t->history[i].ts_us < ENTRY_SPAN_US)
    i--;
  cw_point_t e = frac(r, t->history[n - 1].gx, t->history[n - 1].gy);
  cw_point_t b = frac(r, t->history[i].gx, t->history[i].gy);
  cw_point_t m = {e.x - b.x, e.y - b.y};
  float len = hypotf(m.x, m.y);
  if (len < ENTRY_MIN_MOVE || m.y >= 0)
    return;
  cw_point_t far = {e.x + m.x / len * 2.0f, e.y + m.y / len * 2.0f};
  guint nlines = MIN(r->cfg->lines->len, 64);
  for (guint l = 0; l < nlines; l++) {
    const cw_line_cfg_t *line = r->cfg->lines->pdata[l];
    int c = crossing(line->from, line->to, e, far);
    if (c != 0)
      count_once(r, st, l, c);
  }
}

static void
remember_lost(cw_rules_t *r, const track_state_t *st, const cw_track_t *t, gint64 ts)
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
  cw_point_t g = frac(r, t->gx, t->gy);
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

/* ---- stopped vehicle ---- */

static void
stop_emit_end(cw_rules_t *r, guint incident, int zone, guint track_id, gint64 since,
              const cw_track_t *t, gint64 ts, gint64 until)
{
  const cw_zone_cfg_t *z = r->cfg->zones->pdata[zone];
  GString *a = g_string_new("{");
  attr_string(a, "zone", z->id);
  attr_int(a, "track_id", track_id);
  attr_number(a, "stopped_s", MAX(0, until - since) / 1e6);
  if (t)
    attr_box(a, r, t);
  emit(r, "traffic.stopped_vehicle", CW_PHASE_END, incident, ts, since, a);
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
  if (track_speed(r, t, &speed)) {
    if (!st->stationary && speed < th->stopped_speed) {
      st->stationary = TRUE;
      st->stationary_since = stop_time(r, t);
      st->stop_pos = g;
      for (guint i = 0; i < r->parked->len; i++) {
        parked_t *p = &g_array_index(r->parked, parked_t, i);
        if (hypotf(p->pos.x - g.x, p->pos.y - g.y) <= MAX(2 * reach, STOP_MATCH)) {
          st->stationary_since = MIN(st->stationary_since, p->since);
          st->stop_incident = p->incident;
          st->stop_zone = p->zone;
          g_array_remove_index(r->parked, i);
          break;
        }
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
  int zone = find_zone(r, CW_ZONE_NO_STOPPING, g);
  if (st->stop_incident && zone != st->stop_zone)
    stop_end(r, st, t, ts, ts);
  if (st->stationary && !st->stop_incident && zone >= 0 &&
      ts - st->stationary_since >= (gint64)(th->stopped_s * 1e6)) {
    st->stop_incident = r->next_incident++;
    st->stop_zone = zone;
    const cw_zone_cfg_t *z = r->cfg->zones->pdata[zone];
    GString *a = g_string_new("{");
    attr_string(a, "zone", z->id);
    attr_int(a, "track_id", st->id);
    attr_number(a, "stopped_s", (ts - st->stationary_since) / 1e6);
    attr_box(a, r, t);
    emit(r, "traffic.stopped_vehicle", CW_PHASE_START, st->stop_incident, ts, st->stationary_since,
         a);
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
    q = frac(r, t->history[i].gx, t->history[i].gy);
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
  cw_point_t a = frac(r, t->history[first].gx, t->history[first].gy);
  cw_point_t b = frac(r, t->history[last].gx, t->history[last].gy);
  return (b.x - a.x) * dir.x + (b.y - a.y) * dir.y < 0;
}

/* Whether the bottom of the track's box also lies on a lane where its way
 * is the right one: a wide blob (a vehicle and its neighbour, a truck seen
 * from the side) reaches over the lane line, and its middle may fall on
 * the wrong side of it. */
static gboolean
beside_lane_along(const cw_rules_t *r, const cw_track_t *t, int lane, cw_point_t motion)
{
  float y = MIN(t->y + t->h - 0.5f, (float)r->height - 0.5f);
  for (int k = 0; k <= 6; k++) {
    cw_point_t p = frac(r, MIN(t->x + t->w * k / 6.0f, (float)r->width - 0.5f), y);
    for (guint i = 0; i < r->cfg->lanes->len; i++) {
      const cw_lane_cfg_t *l = r->cfg->lanes->pdata[i];
      if ((int)i != lane && motion.x * l->direction.x + motion.y * l->direction.y > 0 &&
          cw_polygon_contains(l->polygon, p))
        return TRUE;
    }
  }
  return FALSE;
}

static void
check_wrong_way(cw_rules_t *r, track_state_t *st, const cw_track_t *t, cw_point_t g, gint64 ts)
{
  if (t->missed > 0 || t->last_seen_us < ts)
    return; /* coasting: where it is now is a guess */
  int lane = find_lane(r, g);
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
    for (guint i = n; i > 0; i--) {
      if (t->history[i - 1].ts_us > t->last_seen_us)
        continue;
      cw_point_t p = frac(r, t->history[i - 1].gx, t->history[i - 1].gy);
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
  attr_string(a, "lane", l->id);
  attr_int(a, "track_id", st->id);
  attr_box(a, r, t);
  attr_number(a, "heading_deg", round(heading * 10) / 10);
  emit(r, "traffic.wrong_way", CW_PHASE_INSTANT, 0, ts, ts, a);
}

/* ---- congestion ---- */

static congestion_zone_t *
congestion_zone_new(const cw_rules_t *r, const cw_zone_cfg_t *z)
{
  congestion_zone_t *cz = g_new0(congestion_zone_t, 1);
  cz->cfg = z;
  cz->spans = g_array_new(FALSE, FALSE, sizeof(span_t));
  cz->samples = g_array_new(FALSE, FALSE, sizeof(sample_t));
  cz->pending_since = NO_TIME;
  /* The zone's pixels (by their centres) as runs per row, once. */
  for (int y = 0; y < r->height; y++) {
    int x0 = -1;
    for (int x = 0; x <= r->width; x++) {
      gboolean in = x < r->width && cw_polygon_contains(z->polygon, frac(r, x + 0.5f, y + 0.5f));
      if (in && x0 < 0)
        x0 = x;
      else if (!in && x0 >= 0) {
        span_t s = {y, x0, x};
        g_array_append_val(cz->spans, s);
        cz->area += x - x0;
        x0 = -1;
      }
    }
  }
  return cz;
}

static void
congestion_zone_free(gpointer p)
{
  congestion_zone_t *cz = p;
  g_array_unref(cz->spans);
  g_array_unref(cz->samples);
  g_free(cz);
}

static void
window_clear(congestion_zone_t *cz)
{
  g_array_set_size(cz->samples, 0);
  cz->samples_head = 0;
  cz->occ_sum = cz->speed_sum = 0;
  cz->occ_n = cz->speed_n = 0;
}

static void
congestion_emit(cw_rules_t *r, congestion_zone_t *cz, cw_phase_t phase, gint64 ts)
{
  GString *a = g_string_new("{");
  attr_string(a, "zone", cz->cfg->id);
  g_string_append_printf(a, ",\"level\":\"%s\"", level_names[cz->level]);
  attr_number(a, "occupancy", cz->occ_n ? round(cz->occ_sum / cz->occ_n * 1000) / 1000 : 0);
  if (cz->speed_n)
    attr_number(a, "speed", round(cz->speed_sum / cz->speed_n * 10000) / 10000);
  else
    g_string_append(a, ",\"speed\":null");
  emit(r, "traffic.congestion", phase, cz->incident, ts, cz->incident_start, a);
}

/* When the congestion now confirmed began, as best the samples tell: the
 * windowed mean lags a change by up to the window, so look back (through
 * the window and the samples kept before it) for the unbroken run of
 * short means (ONSET_SPAN_US each) that are congested too; the onset is
 * the middle of the first of them (a step up at t gives about t). */
static gint64
congestion_onset(const cw_rules_t *r, const congestion_zone_t *cz, gint64 fallback)
{
  float heavy = r->cfg->t.heavy_occupancy;
  /* All samples kept, the window's and those before it: a short window
   * sees a rise only after it began. */
  guint n = cz->samples->len;
  const sample_t *s = &g_array_index(cz->samples, sample_t, 0);
  gint64 onset = fallback;
  /* Trailing short means, walked from the newest back; j trails i. */
  double sum = 0;
  int cnt = 0;
  guint j = n;
  for (guint i = n; i > 0; i--) {
    const sample_t *cur = &s[i - 1];
    /* the short window of cur: samples with ts in [cur->ts, cur->ts + span) */
    if (cur->has_occ) {
      sum += cur->occ;
      cnt++;
    }
    while (j > i - 1 && s[j - 1].ts >= cur->ts + ONSET_SPAN_US) {
      if (s[j - 1].has_occ) {
        sum -= s[j - 1].occ;
        cnt--;
      }
      j--;
    }
    if (cnt == 0 || sum / cnt < heavy)
      break;
    onset = MIN(onset, cur->ts + ONSET_SPAN_US / 2);
  }
  return onset;
}

static level_t
congestion_candidate(const cw_rules_t *r, const congestion_zone_t *cz)
{
  const cw_thresholds_t *th = &r->cfg->t;
  if (!cz->occ_n)
    return LEVEL_FREE;
  double occ = cz->occ_sum / cz->occ_n;
  level_t by_occ = occ >= th->jammed_occupancy  ? LEVEL_JAMMED
                   : occ >= th->heavy_occupancy ? LEVEL_HEAVY
                                                : LEVEL_FREE;
  /* Speed only when tracks were seen for a while: a jam whose vehicles the
   * tracker cannot separate is still told by occupancy. */
  int min_n = MAX(3, (int)th->analysis_fps);
  if (cz->speed_n < min_n)
    return by_occ;
  double speed = cz->speed_sum / cz->speed_n;
  level_t by_speed = speed < th->jammed_speed  ? LEVEL_JAMMED
                     : speed < th->heavy_speed ? LEVEL_HEAVY
                                               : LEVEL_FREE;
  /* Dense but flowing traffic is not congestion; slow vehicles on an
   * empty road are not either. */
  return MIN(by_occ, by_speed);
}

static int
cmp_float(const void *a, const void *b)
{
  float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

static void
congestion_update(cw_rules_t *r, congestion_zone_t *cz, const GPtrArray *tracks, const guint8 *mask,
                  gint64 ts)
{
  const cw_thresholds_t *th = &r->cfg->t;
  sample_t s = {.ts = ts};
  if (mask && cz->area > 0) {
    int fg = 0;
    for (guint i = 0; i < cz->spans->len; i++) {
      const span_t *sp = &g_array_index(cz->spans, span_t, i);
      const guint8 *row = mask + (gsize)sp->y * r->width;
      /* A vehicle's blob has holes (windows, a body the colour of the
       * road): the boxes of the tracks seen now cover them. */
      memset(r->row, 0, (size_t)r->width);
      for (guint k = 0; tracks && k < tracks->len; k++) {
        const cw_track_t *t = tracks->pdata[k];
        if (t->missed > 0 || sp->y < (int)t->y || sp->y >= (int)(t->y + t->h))
          continue;
        int x0 = MAX((int)t->x, sp->x0), x1 = MIN((int)(t->x + t->w), sp->x1);
        if (x1 > x0)
          memset(r->row + x0, 1, (size_t)(x1 - x0));
      }
      for (int x = sp->x0; x < sp->x1; x++)
        fg += row[x] == CW_BG_FOREGROUND || r->row[x];
    }
    s.occ = (float)fg / cz->area;
    s.has_occ = TRUE;
  }
  /* The frame's speed: the median of its vehicles' net speeds over the
   * last two seconds, so a box that jumps (a track moving onto the next
   * vehicle of a queue, a blob growing as vehicles merge) does not make a
   * standing queue look as if it flowed. */
  float speeds[64];
  guint ns = 0;
  for (guint i = 0; tracks && i < tracks->len && ns < G_N_ELEMENTS(speeds); i++) {
    const cw_track_t *t = tracks->pdata[i];
    float v;
    if (!t->confirmed || t->missed > 0 ||
        !cw_polygon_contains(cz->cfg->polygon, frac(r, t->gx, t->gy)) || !track_speed(r, t, &v))
      continue;
    speeds[ns++] = v;
  }
  if (ns > 0) {
    qsort(speeds, ns, sizeof speeds[0], cmp_float);
    s.speed_sum = ns % 2 ? speeds[ns / 2] : (speeds[ns / 2 - 1] + speeds[ns / 2]) / 2;
    s.speed_n = 1;
  }
  g_array_append_val(cz->samples, s);
  cz->occ_sum += s.has_occ ? s.occ : 0;
  cz->occ_n += s.has_occ;
  cz->speed_sum += s.speed_sum;
  cz->speed_n += s.speed_n;
  gint64 window = (gint64)(th->congestion_window_s * 1e6);
  while (cz->samples_head < cz->samples->len) {
    const sample_t *old = &g_array_index(cz->samples, sample_t, cz->samples_head);
    if (ts - old->ts < window)
      break;
    cz->occ_sum -= old->has_occ ? old->occ : 0;
    cz->occ_n -= old->has_occ;
    cz->speed_sum -= old->speed_sum;
    cz->speed_n -= old->speed_n;
    cz->samples_head++;
  }
  /* Samples before the window stay ONSET_KEEP_US for congestion_onset. */
  guint old_n = 0;
  while (old_n < cz->samples_head &&
         ts - g_array_index(cz->samples, sample_t, old_n).ts >= ONSET_KEEP_US)
    old_n++;
  if (old_n > 256 && old_n * 2 > cz->samples->len) {
    g_array_remove_range(cz->samples, 0, old_n);
    cz->samples_head -= old_n;
  }
  if (cz->occ_n == 0)
    cz->occ_sum = 0; /* no drift from float round-off */
  if (cz->speed_n == 0)
    cz->speed_sum = 0;

  level_t cand = congestion_candidate(r, cz);
  if (cand == cz->level) {
    cz->pending_since = NO_TIME;
    return;
  }
  if (cz->pending_since == NO_TIME)
    cz->pending_since = ts;
  if (ts - cz->pending_since < (gint64)(th->congestion_hysteresis_s * 1e6))
    return;
  level_t was = cz->level;
  cz->level = cand;
  if (was == LEVEL_FREE) {
    cz->incident = r->next_incident++;
    cz->incident_start = congestion_onset(r, cz, cz->pending_since);
    congestion_emit(r, cz, CW_PHASE_START, ts);
  } else if (cand != LEVEL_FREE) {
    congestion_emit(r, cz, CW_PHASE_UPDATE, ts);
  } else {
    congestion_emit(r, cz, CW_PHASE_END, ts);
    cz->incident = 0;
  }
  cz->pending_since = NO_TIME;
}

static void
congestion_end(cw_rules_t *r, congestion_zone_t *cz, gint64 ts)
{
  if (cz->level != LEVEL_FREE) {
    cz->level = LEVEL_FREE;
    congestion_emit(r, cz, CW_PHASE_END, ts);
    cz->incident = 0;
  }
  cz->pending_since = NO_TIME;
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
  r->congestion = g_ptr_array_new_with_free_func(congestion_zone_free);
  for (guint i = 0; i < cfg->zones->len; i++) {
    const cw_zone_cfg_t *z = cfg->zones->pdata[i];
    if (z->kind == CW_ZONE_CONGESTION)
      g_ptr_array_add(r->congestion, congestion_zone_new(r, z));
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
  commit_pending(r, ts_us, FALSE);
  roll_intervals(r, ts_us);
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
    count_track(r, st, t);
    count_hidden_exit(r, st, t);
    remember_lost(r, st, t, ts_us);
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
    count_hidden_entry(r, st, t);
    count_track(r, st, t);
    cw_point_t g = frac(r, t->gx, t->gy);
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
    congestion_update(r, r->congestion->pdata[i], tracks, mask, ts_us);
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
    congestion_end(r, cz, ts_us);
    window_clear(cz);
  }
}

void
cw_rules_flush(cw_rules_t *r, gint64 ts_us)
{
  g_return_if_fail(r);
  commit_pending(r, ts_us, TRUE);
  if (r->interval_start != NO_TIME) {
    roll_intervals(r, ts_us);
    if (ts_us > r->interval_start)
      emit_counts(r, ts_us, (ts_us - r->interval_start) / 1e6);
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
