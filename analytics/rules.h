/* Traffic rules on tracks (issue 6): counts per line and direction
 * (traffic.count every count_interval_s, attributes {"line", "interval_s",
 * "forward", "reverse"}), congestion levels per congestion zone with
 * hysteresis (traffic.congestion start/update/end, attributes {"zone",
 * "level": "heavy"|"jammed", "occupancy", "speed"}), stopped vehicle in a
 * no-stopping zone (traffic.stopped_vehicle start/end, {"zone", "track_id",
 * "stopped_s", "box"}), wrong-way in a lane (traffic.wrong_way instant,
 * {"lane", "track_id", "box", "heading_deg"}; once per track).
 * Tracks are in working pixels; the rules convert to frame fractions with
 * the working size given here.
 *
 * Details the attributes follow: a traffic.count is reported for every
 * line at the end of every interval (ts_us = start_us = the interval's
 * end), zero counts too; a crossing goes from clearly one side of the line
 * to clearly the other; a line counts a track at most once each way, and
 * back over a line it counted only once it is well past (a track that
 * jumped onto a vehicle going the other way counts that one too). A track
 * first found past a line while coming down the picture (hidden behind the
 * vehicle in front, or split from a merged blob) counts the lines its
 * motion extended backwards crosses, unless it continues a track lost near
 * there (it inherits that one's counts); a track going up the picture
 * (away) that ends lost in another's merged blob counts the lines ahead of
 * it. Two crossings of one line, the same way, in the same lane within
 * 0.6 s are one vehicle. A crossing made coasting in the open is a guess:
 * it waits 0.6 s and gives way to a crossing seen within a vehicle's width
 * of it (the vehicle's new track); after 1.5 s of coasting in the open a
 * track counts nothing until seen again. Congestion uses the mean speed only
 * when tracks were seen in the zone for a while, and the level is the
 * lower of the occupancy's and the speed's (dense but flowing is free);
 * the end event says "level": "free"; "speed" is null when unknown; its
 * start_us is when the occupancy rose (looked up in the window), not when
 * the windowed mean and the hysteresis let it start.
 * "stopped_s" at the end is the whole stop; a standing vehicle whose track
 * is lost, moves off or leaves the zone keeps its incident for 5 s, for a
 * track found standing at the same place again (it ends then otherwise,
 * stopped_s up to when it was lost or left). Only a track that came from
 * elsewhere (0.025 of the frame's width) stops: one standing where it was
 * first found is a ghost of the background. Wrong-way also needs the
 * motion to have lasted 2 s, be steady (no jump), still be going on, the
 * box's top to go along with its bottom (not a box stretching), the box to
 * be no wider than one vehicle (perspective.h), and the box bottom not to
 * lie largely (3 of 7 points) on lanes where that way is right. Counting
 * follows the whole path, coasting predictions included (a vehicle whose
 * blob merged with another still counts; within the limits above). "heading_deg" is the track's
 * way in the picture, degrees clockwise from up (0 up, 90 right). Incident
 * numbers count from 1 per rules object (health has its own: the kinds
 * differ). All calls on one thread. */
#ifndef CW_RULES_H
#define CW_RULES_H

#include "analytics_event.h"
#include "analytics_config.h"
#include "tracker.h"

typedef struct cw_rules cw_rules_t;

/* cfg must outlive the rules. */
cw_rules_t *cw_rules_new(const cw_analytics_config_t *cfg, int width, int height,
                         cw_analytics_emit_fn emit, void *opaque);
/* After each tracker update: its live and ended tracks, and the
 * foreground mask (for zone occupancy; width x height, stride width). */
void cw_rules_update(cw_rules_t *r, const GPtrArray *tracks, const GPtrArray *ended,
                     const guint8 *mask, gint64 ts_us);
/* End of stream: the partial count interval is reported (interval_s the
 * part), open incidents end. */
void cw_rules_flush(cw_rules_t *r, gint64 ts_us);
/* Scene change: tracks and windows forgotten, open incidents end; counts kept. */
void cw_rules_reset(cw_rules_t *r, gint64 ts_us);
void cw_rules_free(cw_rules_t *r);

#endif
