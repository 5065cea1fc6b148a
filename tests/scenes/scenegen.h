/* scenegen: synthetic road scenes with exact ground truth (issue 6).
 *
 * The world: X metres to the right, Y metres up, Z metres ahead of the
 * camera's foot along the road. The road runs along Z: departing lanes
 * (traffic moving away, +Z) at X > 0, approaching lanes (-Z) at X < 0,
 * a shoulder beyond each, kerb, pavement, building facades.
 *
 * traffic.c simulates the vehicles (car-following, scripted incidents) and
 * derives the counts; scenery.c holds the camera and the background;
 * render.c draws frames; scenegen.c parses options, sets up a scenario,
 * pipes frames to ffmpeg and writes the truth and the analytics
 * configuration. Single-threaded throughout. */
#ifndef CW_SCENEGEN_H
#define CW_SCENEGEN_H

#include <glib.h>
#include <stdint.h>

/* Road layout, metres. */
#define SG_LANE_W 3.5
#define SG_LANES_EDGE 7.0  /* |X| of the edge line between lanes and shoulder */
#define SG_ROAD_EDGE 10.0  /* |X| of the kerb */
#define SG_FACADE_X 15.0   /* |X| of the building facades */
#define SG_SPAWN_FAR 260.0 /* approaching vehicles appear here */
#define SG_SPAWN_NEAR 2.0  /* departing vehicles appear here (below the frame) */

typedef struct {
  double x, h;       /* camera position: lateral, height */
  double yaw, pitch; /* radians: yaw > 0 turns right, pitch > 0 looks down */
  double roll;       /* radians, image rotation */
  double f;          /* focal length, pixels */
  double cx, cy;     /* principal point, pixels */
} sg_pose_t;

typedef enum { SG_CAR = 0, SG_VAN, SG_TRUCK, SG_N_TYPES } sg_vtype_t;

typedef struct {
  float x, z; /* footprint centre, metres */
  float v;    /* speed along the direction of travel, m/s */
  gboolean present;
} sg_state_t;

typedef struct {
  int id;
  sg_vtype_t type;
  double length, width, height;
  float rgb[3];       /* body colour, 0..1 */
  float cargo_rgb[3]; /* trucks: the box */
  int dir;            /* +1 moves to +Z (away from the camera), -1 towards it */
  double lane_x;      /* the lane it keeps to (IDM vehicles) */
  double v0;          /* desired speed, m/s */
  double spawn_t;     /* scheduled entry time, s */
  int script;         /* SG_SCRIPT_*: kinematic instead of car-following */
  gboolean rejected;  /* removed: a line crossing fell in an exclusion window */
  sg_state_t *st;     /* one per frame, frames 0..n_frames-1 */
} sg_vehicle_t;

enum { SG_SCRIPT_NONE = 0, SG_SCRIPT_STOP, SG_SCRIPT_WRONG_WAY };

typedef struct {
  char *id;
  double z;                  /* the line lies across the road at this distance */
  double x0, x1;             /* from X = x0 (left) to X = x1 (right) */
  double fx0, fy0, fx1, fy1; /* the same in frame fractions (default pose) */
} sg_line_t;

typedef struct {
  const char *line;
  int vehicle;
  int forward; /* 1 forward, 0 reverse (config.h convention) */
  double t;
} sg_crossing_t;

typedef struct {
  double t0, t1;
} sg_window_t;

/* Everything a scenario scripts. Times in seconds. */
typedef struct {
  const char *name;
  guint64 seed;
  guint64 rng_seed; /* seed mixed with the scenario name */
  int width, height;
  double fps, seconds;
  int n_frames;
  gboolean quiet;
  double shake_px; /* jitter amplitude */
  double gain_end; /* global light gain reached at light_t1 (1 = none) */
  double light_t0, light_t1;
  double headway; /* mean headway per lane, s */
  /* incidents (negative = none) */
  double stop_t, stop_dur;
  double ww_t;
  double jam_t0, jam_t1;
  double cover_t0, cover_t1;
  double black_t0, black_t1;
  double freeze_t0, freeze_t1;
  double blur_t0, blur_t1;
  double reaim_t;
  sg_pose_t pose, pose_reaim;
} sg_scene_t;

typedef struct {
  sg_scene_t *sc;
  GPtrArray *vehicles; /* sg_vehicle_t*, owned */
  GArray *lines;       /* sg_line_t */
  GArray *crossings;   /* sg_crossing_t, counted ones */
  GArray *exclusions;  /* sg_window_t: no counted crossing may fall here */
  int rejected;
} sg_traffic_t;

/* Defined in scenegen.c: uniform random numbers for a named stream, so a
 * scenario draws the same numbers whatever else changes. */
typedef struct {
  guint64 s;
} sg_rng_t;
void sg_rng_init(sg_rng_t *r, guint64 seed, guint64 stream);
double sg_rng_uniform(sg_rng_t *r); /* [0, 1) */
guint32 sg_rng_u32(sg_rng_t *r);

/* traffic.c */
sg_traffic_t *sg_traffic_new(sg_scene_t *sc);
/* Simulates, derives the crossings and drops vehicles whose crossings fall
 * in an exclusion window, until none does. */
void sg_traffic_run(sg_traffic_t *tr);
void sg_traffic_free(sg_traffic_t *tr);
/* The ground point (middle of the image box bottom) of a vehicle state
 * under a pose, in pixels; FALSE when it is behind the camera. */
gboolean sg_vehicle_ground_point(const sg_vehicle_t *v, const sg_state_t *s, const sg_pose_t *p,
                                 double *u, double *y);
/* A vehicle is drawn as boxes: body, window band, roof, cargo. */
typedef struct {
  double x0, x1, y0, y1, z0, z1; /* world, metres */
  float side[3], top[3];         /* colours, 0..1 */
} sg_box_t;
#define SG_MAX_PARTS 5
int sg_vehicle_parts(const sg_vehicle_t *v, const sg_state_t *s, sg_box_t *parts);

/* Image box of the vehicle under a pose, pixels. */
gboolean sg_vehicle_bbox(const sg_vehicle_t *v, const sg_state_t *s, const sg_pose_t *p, double *u0,
                         double *v0, double *u1, double *v1);

/* render.c */
typedef struct sg_render sg_render_t;
sg_render_t *sg_render_new(sg_scene_t *sc, sg_traffic_t *tr);
/* Renders frame k into an I420 buffer of width*height*3/2 bytes. Also
 * measures, for the truth, the congestion zone's occupancy by vehicles and
 * their mean ground-point speed (frame fractions a second; -1 when none). */
void sg_render_frame(sg_render_t *r, int k, guint8 *i420, double *occupancy, double *speed);
/* The congestion zone, frame fractions, for the config. */
void sg_render_set_zone(sg_render_t *r, const double *poly_xy, int n);
void sg_render_free(sg_render_t *r);

/* scenery.c: the camera and the still background. */
gboolean sg_project(const sg_pose_t *p, double X, double Y, double Z, double *u, double *v);
void sg_pose_default(sg_pose_t *p, int width, int height);
/* The background as seen under pose p into rgb (w*h*3 floats, 0..1). */
void sg_background_render(const sg_pose_t *p, int w, int h, float *rgb);
/* Smooth value noise in [0, 1) on a unit lattice; salt picks the pattern. */
double sg_vnoise(double x, double y, int salt);

#endif
