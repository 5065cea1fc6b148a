/* A camera's analytics configuration (issue 6): JSON, stored per camera,
 * coordinates as fractions of the frame (0..1, x right, y down) so one
 * configuration fits every resolution the camera may send.
 *
 *   {
 *     "lines": [ {"id": "L1", "from": [0.1, 0.6], "to": [0.9, 0.6]} ],
 *     "lanes": [ {"id": "nb", "polygon": [[x, y], ...], "direction": [0, -1]} ],
 *     "zones": [ {"id": "shoulder", "kind": "no_stopping", "polygon": [[x, y], ...]},
 *                {"id": "main", "kind": "congestion", "polygon": [[x, y], ...]} ],
 *     "thresholds": { ... every member optional, defaults below ... }
 *   }
 *
 * A line counts a confirmed track when its ground point crosses the segment
 * from -> to: "forward" when it crosses from the segment's left to its
 * right (looking from `from` to `to`, y down), "reverse" otherwise.
 * A lane's direction is the way traffic should move in it, as a vector in
 * frame fractions; a track in the lane moving against it is wrong-way.
 * Errors name the member: "zones[1].polygon: needs at least 3 points",
 * "lines[0].from: expected [x, y] with 0 <= x, y <= 1". Unknown members are
 * refused (a typo must not silently disable a rule). Limits: 256 KiB of
 * text, 64 lines, lanes and zones each, 64 points a polygon, ids of 1..64
 * bytes unique within their list; a polygon must have an area. Every
 * threshold must be > 0 (congestion_hysteresis_s >= 0, count_interval_s
 * >= 1), fractions <= 1,
 * heavy_occupancy < jammed_occupancy, jammed_speed < heavy_speed. */
#ifndef CW_ANALYTICS_CONFIG_H
#define CW_ANALYTICS_CONFIG_H

#include <glib.h>

#include "cw_error.h"

typedef struct {
  float x, y;
} cw_point_t;

typedef struct {
  char *id;
  cw_point_t from, to;
} cw_line_cfg_t;

typedef struct {
  char *id;
  GArray *polygon; /* cw_point_t, >= 3 */
  cw_point_t direction; /* unit vector, in frame fractions */
} cw_lane_cfg_t;

typedef enum {
  CW_ZONE_CONGESTION = 1,
  CW_ZONE_NO_STOPPING = 2,
} cw_zone_kind_t;

typedef struct {
  char *id;
  cw_zone_kind_t kind;
  GArray *polygon; /* cw_point_t, >= 3 */
} cw_zone_cfg_t;

typedef struct {
  float stopped_s;            /* stationary this long in a no-stopping zone; default 20 */
  float stopped_speed;        /* below this (frame fractions a second) = stationary; default 0.01 */
  float wrong_way_distance;   /* against its lane this far (frame fractions); default 0.15 */
  float congestion_window_s;  /* occupancy and speed averaged over; default 15 */
  float heavy_occupancy;      /* zone occupancy (0..1) from which traffic is heavy; default 0.35 */
  float jammed_occupancy;     /* ... jammed; default 0.6 */
  float heavy_speed;          /* mean track speed (frame fractions/s) below which heavy; default 0.08 */
  float jammed_speed;         /* ... jammed; default 0.02 */
  float congestion_hysteresis_s; /* a level must hold this long to be entered or left; default 10 */
  float count_interval_s;     /* traffic.count aggregation; default 60 */
  float min_object_area;      /* smallest vehicle, fraction of the frame; default 0.0008 */
  float blackout_luma;        /* mean luma below this (and flat) = blackout or covered; default 28 */
  float tamper_s;             /* a picture condition must hold this long; default 3 */
  float frozen_s;             /* no change at all for this long = frozen; default 5 */
  float defocus_ratio;        /* sharpness below this fraction of the reference; default 0.45 */
  float scene_similarity;     /* below this against the reference scene = scene change; default 0.5 */
  float analysis_fps;         /* frames analysed a second; default 5 */
} cw_thresholds_t;

typedef struct {
  GPtrArray *lines; /* cw_line_cfg_t* */
  GPtrArray *lanes; /* cw_lane_cfg_t* */
  GPtrArray *zones; /* cw_zone_cfg_t* */
  cw_thresholds_t t;
} cw_analytics_config_t;

/* NULL or "" json: an empty configuration (no rules, picture health only).
 * where names the source in errors ("camera 12", a file name). */
int cw_analytics_config_parse(const char *json, const char *where, cw_analytics_config_t **out,
                              cw_error_t *err);
void cw_analytics_config_free(cw_analytics_config_t *c);
/* Point in polygon (even-odd), both in frame fractions. */
gboolean cw_polygon_contains(const GArray *polygon, cw_point_t p);

#endif
