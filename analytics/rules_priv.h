/* What rules.c, rules_count.c and rules_congestion.c share (issue 6):
 * the rules' state and the helpers all three use. Private to analytics/. */
#ifndef CW_RULES_PRIV_H
#define CW_RULES_PRIV_H

#include "rules.h"

#include <math.h>

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
/* A vehicle must have come this far (frame widths) to stop. */
#define STOP_TRAVEL 0.025f
/* Congestion onset: short means over this span (see congestion_onset). */
#define ONSET_SPAN_US 5000000
/* ... looked for this far back, whatever the window. */
#define ONSET_KEEP_US 90000000
/* Counting (rules_count.c). A line is crossed from LINE_BAND (frame
 * fractions) on one side to as far on the other; back over a counted line
 * only from REVERSE_BAND past it. Predictions more than COAST_COUNT_US
 * after a track was last seen count only inside a merged blob. Two
 * crossings within DUP_US are one vehicle when in one lane (without
 * lanes: within DUP_NEAR). */
#define LINE_BAND 0.006f
#define REVERSE_BAND 0.05f
#define COAST_COUNT_US 1500000
#define DUP_US 600000
#define DUP_NEAR 0.03f
/* Hidden entries and exits: after a gap of BLIND_GAP_US in updates (the
 * picture was blind) tracking restarts; tracks born within ENTRY_WARMUP_US
 * of a (re)start are not looked at (the background's warm-up and settling
 * take 30 analysed frames, 6 s at 5 fps: what is found then was there); the motion is judged over
 * at least ENTRY_SPAN_US and must be ENTRY_MIN_MOVE long (frame fractions); births within
 * ENTRY_EDGE of the picture's sides or bottom came in from outside. A lost track is remembered
 * LOST_KEEP_US, and found again within LOST_MATCH of where it would be now. */
#define BLIND_GAP_US 1500000
#define ENTRY_WARMUP_US 6000000
#define ENTRY_SPAN_US 1000000
#define ENTRY_MIN_MOVE 0.02f
#define ENTRY_EDGE 0.03f
#define LOST_KEEP_US 4000000
#define LOST_MATCH 0.05f
/* An exit's way is judged over up to this long (a queue crawls). */
#define EXIT_SPAN_US 5000000

typedef enum { LEVEL_FREE = 0, LEVEL_HEAVY = 1, LEVEL_JAMMED = 2 } level_t;

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
  cw_point_t top_anchor; /* middle of its box's top when first seen in that lane */
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

void rules_attr_string(GString *s, const char *name, const char *value);
void rules_attr_number(GString *s, const char *name, double value);
void rules_attr_int(GString *s, const char *name, gint64 value);
void rules_attr_box(GString *s, const cw_rules_t *r, const cw_track_t *t);
void rules_emit(cw_rules_t *r, const char *kind, cw_phase_t phase, guint incident, gint64 ts,
                gint64 start, GString *attrs);
cw_point_t rules_frac(const cw_rules_t *r, float x, float y);
int rules_find_zone(const cw_rules_t *r, cw_zone_kind_t kind, cw_point_t p);
int rules_find_lane(const cw_rules_t *r, cw_point_t p);
int rules_crossing(cw_point_t a, cw_point_t b, cw_point_t p0, cw_point_t p1);
gboolean rules_track_speed(const cw_rules_t *r, const cw_track_t *t, float *speed);
void rules_emit_counts(cw_rules_t *r, gint64 ts, double interval_s);
void rules_roll_intervals(cw_rules_t *r, gint64 ts);
void rules_commit_pending(cw_rules_t *r, gint64 ts, gboolean all);
void rules_count_track(cw_rules_t *r, track_state_t *st, const cw_track_t *t);
void rules_count_hidden_entry(cw_rules_t *r, track_state_t *st, const cw_track_t *t);
void rules_count_hidden_exit(cw_rules_t *r, track_state_t *st, const cw_track_t *t);
void rules_remember_lost(cw_rules_t *r, const track_state_t *st, const cw_track_t *t, gint64 ts);
congestion_zone_t *rules_congestion_zone_new(const cw_rules_t *r, const cw_zone_cfg_t *z);
void rules_congestion_zone_free(gpointer p);
void rules_window_clear(congestion_zone_t *cz);
void rules_congestion_update(cw_rules_t *r, congestion_zone_t *cz, const GPtrArray *tracks,
                             const guint8 *mask, gint64 ts);
void rules_congestion_end(cw_rules_t *r, congestion_zone_t *cz, gint64 ts);

#endif
