/* Multi-object tracking (issue 6): blobs become tracks with stable ids.
 * Constant-velocity prediction; association by a cost mixing box overlap
 * and distance to the prediction, solved greedily cheapest first within a
 * gate; a track not seen coasts on its prediction for up to max_missed_s,
 * so a vehicle that passes behind a pole or another vehicle keeps its id.
 * A track is confirmed after min_hits sightings: rules only look at
 * confirmed tracks, so a flicker never counts as a vehicle. When two
 * blobs merge (vehicles side by side), the merged blob keeps the track it
 * matches best and the other track coasts, its box held inside the blob;
 * both keep their velocity. A blob that lies mostly inside a track's box
 * (a vehicle cut in two by a pole) joins that track's measurement instead
 * of starting a track. Two tracks found on one vehicle (overlapping,
 * moving alike) become one: the younger ends.
 *
 * For the rules: cw_tracker_tracks and cw_tracker_ended list tentative
 * tracks too (check `confirmed`); a coasting track (missed > 0) has a
 * predicted box; it ends max_missed_s after it was last seen, or as soon
 * as its box is mostly outside the picture when the options give the
 * picture's size (without it, the box may wander outside until then); a
 * tentative track ends after 2 frames without a match.
 *
 * Not thread-safe: one tracker per camera, used by one thread at a time.
 * At most 256 live tracks and 256 blobs per update (the largest). */
#ifndef CW_TRACKER_H
#define CW_TRACKER_H

#include "blobs.h"

#define CW_TRACK_HISTORY 64

typedef struct {
  guint id;         /* unique for the tracker's life, from 1 */
  float x, y, w, h; /* box now (predicted while coasting), working pixels */
  float gx, gy;     /* ground point: the middle of the box's bottom edge */
  float vx, vy;     /* ground point's velocity, working pixels a second
                     * (smoothed; 0 until seen twice) */
  gint64 first_us, last_seen_us, updated_us;
  guint hits;   /* frames it was matched in */
  guint missed; /* consecutive frames without a match */
  gboolean confirmed;
  /* The furthest its ground point has been from where it was first seen
   * (working pixels): a vehicle that stopped has travelled; a ghost (what
   * the background learnt wrong, showing through) never has. */
  float travelled;
  float first_gx, first_gy;
  /* Last update: not seen itself, but held inside another track's blob
   * (merged with it). An ended track with this set was lost in a merge,
   * its vehicle still there. */
  gboolean hidden;
  /* The ground point's path, oldest first: the last CW_TRACK_HISTORY updates,
   * one a frame, coasted (predicted) points included. */
  guint n_history;
  struct {
    float gx, gy;
    gint64 ts_us;
  } history[CW_TRACK_HISTORY];
} cw_track_t;

typedef struct {
  guint min_hits;     /* default 3 */
  float max_missed_s; /* default 2.0 */
  float gate;         /* max distance to match, in box diagonals; default 1.5 */
  /* The picture (working size). Known, a coasting track whose box is
   * mostly outside it ends at once (it drove out); 0: unknown, it coasts
   * its full max_missed_s. */
  int width, height;
  /* Per row (height entries, outlives the tracker): the widest one vehicle
   * may be with its bottom there, 0 unknown (perspective.h); NULL: no
   * limit. A track never grows wider than that by joining fragments, and
   * a track made wide by a merged blob takes its own blob's size again. */
  const float *max_width;
} cw_tracker_options_t;

typedef struct cw_tracker cw_tracker_t;

cw_tracker_t *cw_tracker_new(const cw_tracker_options_t *options);
/* One frame's blobs at ts_us (increasing). blobs are copied from, not
 * kept. Afterwards cw_tracker_tracks lists live tracks (matched or
 * coasting), oldest first, and cw_tracker_ended those removed by this
 * update, each listed once (valid until the next update or reset). */
void cw_tracker_update(cw_tracker_t *t, const cw_blob_t *blobs, guint n, gint64 ts_us);
/* Arrays of const cw_track_t*, owned by the tracker. */
const GPtrArray *cw_tracker_tracks(const cw_tracker_t *t);
const GPtrArray *cw_tracker_ended(const cw_tracker_t *t);
/* Drops every track (scene change); they are listed as ended until the
 * next update. Ids keep counting up. */
void cw_tracker_reset(cw_tracker_t *t);
void cw_tracker_free(cw_tracker_t *t);

#endif
