/* scenegen: renders a scripted road scene, encodes it to H.264 with
 * ffmpeg, and writes its ground truth and the analytics configuration
 * beside it (see README.md).
 *
 *   scenegen --scenario NAME --out DIR [--seconds S] [--size WxH] [--fps F]
 *            [--seed N] [--no-video]
 *
 * writes DIR/NAME.mp4, DIR/NAME.truth.json, DIR/NAME.config.json.
 * Deterministic for a seed. FFMPEG in the environment names the encoder
 * binary (default: ffmpeg on PATH). */
#include "scenegen.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- random numbers: splitmix64, one stream per purpose ---- */

void
sg_rng_init(sg_rng_t *r, guint64 seed, guint64 stream)
{
  r->s = seed * 0x9E3779B97F4A7C15ull ^ (stream + 1) * 0xD1B54A32D192ED03ull;
}

static guint64
next64(sg_rng_t *r)
{
  guint64 z = (r->s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

double
sg_rng_uniform(sg_rng_t *r)
{
  return (next64(r) >> 11) * (1.0 / 9007199254740992.0);
}

guint32
sg_rng_u32(sg_rng_t *r)
{
  return (guint32)(next64(r) >> 32);
}

/* ---- scenarios ---- */

static const struct {
  const char *name;
  const char *what;
  double seconds;
} scenarios[] = {
    {"traffic", "normal two-way flow, mild shake; quiet: no incident", 75},
    {"light", "normal flow, light falls 40% over 60 s; no incident, no tamper", 75},
    {"shake", "normal flow, strong camera shake; no incident", 75},
    {"stop", "a car pulls onto the shoulder and stands ~30 s from t~15 s", 75},
    {"wrong_way", "a car drives away from the camera in an approaching lane", 75},
    {"jam", "the departing direction queues to a crawl, then clears", 90},
    {"covered", "the lens is covered for ~15 s", 75},
    {"blackout", "the signal goes black for ~12 s", 75},
    {"frozen", "the picture freezes (identical frames) for ~15 s", 75},
    {"defocus", "the picture blurs strongly for ~18 s", 75},
    {"reaim", "the camera is re-aimed at t~30 s and stays", 75},
};

static int
scenario_index(const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS(scenarios); i++)
    if (strcmp(scenarios[i].name, name) == 0)
      return (int)i;
  return -1;
}

/* Sets a scenario's script. Incident times are fractions of the length
 * (so a short clip still holds them), jittered a little by the seed. */
static void
scene_setup(sg_scene_t *sc)
{
  double T = sc->seconds;
  sc->rng_seed = sc->seed * 1000003u + g_str_hash(sc->name);
  sg_rng_t rng;
  sg_rng_init(&rng, sc->rng_seed, 1);
  double jit = (sg_rng_uniform(&rng) - 0.5) * 4.0 * MIN(1.0, T / 75.0);
  const char *n = sc->name;
  sc->stop_t = sc->ww_t = sc->jam_t0 = sc->jam_t1 = -1;
  sc->cover_t0 = sc->cover_t1 = sc->black_t0 = sc->black_t1 = -1;
  sc->freeze_t0 = sc->freeze_t1 = sc->blur_t0 = sc->blur_t1 = -1;
  sc->reaim_t = sc->light_t0 = sc->light_t1 = -1;
  sc->gain_end = 1.0;
  sc->headway = 4.5;
  sc->shake_px = 1.0;
  sc->quiet = FALSE;
  sg_pose_default(&sc->pose, sc->width, sc->height);
  if (strcmp(n, "traffic") == 0) {
    sc->quiet = TRUE;
  } else if (strcmp(n, "light") == 0) {
    sc->quiet = TRUE;
    sc->shake_px = 0;
    sc->light_t0 = 0.1 * T;
    sc->light_t1 = 0.1 * T + 0.8 * T;
    sc->gain_end = 0.6;
  } else if (strcmp(n, "shake") == 0) {
    sc->quiet = TRUE;
    sc->shake_px = 3.5;
  } else if (strcmp(n, "stop") == 0) {
    sc->stop_t = 0.2 * T + jit;
    sc->stop_dur = 0.4 * T;
  } else if (strcmp(n, "wrong_way") == 0) {
    sc->ww_t = 0.33 * T + jit;
  } else if (strcmp(n, "jam") == 0) {
    sc->jam_t0 = 0.2 * T + jit;
    sc->jam_t1 = 0.5 * T + jit;
  } else if (strcmp(n, "covered") == 0) {
    sc->shake_px = 0;
    sc->cover_t0 = 0.33 * T + jit;
    sc->cover_t1 = sc->cover_t0 + 0.2 * T;
  } else if (strcmp(n, "blackout") == 0) {
    sc->shake_px = 0;
    sc->black_t0 = 0.33 * T + jit;
    sc->black_t1 = sc->black_t0 + 0.16 * T;
  } else if (strcmp(n, "frozen") == 0) {
    sc->shake_px = 0;
    sc->freeze_t0 = 0.33 * T + jit;
    sc->freeze_t1 = sc->freeze_t0 + 0.2 * T;
  } else if (strcmp(n, "defocus") == 0) {
    sc->shake_px = 0;
    sc->blur_t0 = 0.33 * T + jit;
    sc->blur_t1 = sc->blur_t0 + 0.25 * T;
  } else if (strcmp(n, "reaim") == 0) {
    sc->shake_px = 0;
    sc->reaim_t = 0.4 * T + jit;
    /* swung right and down onto the pavement and the facades */
    sc->pose_reaim = sc->pose;
    sc->pose_reaim.yaw += 0.33;
    sc->pose_reaim.pitch += 0.08;
    sc->pose_reaim.roll = 0.05;
    sc->pose_reaim.f *= 1.15;
  }
  sc->shake_px *= sc->width / 640.0;
}

/* ---- geometry for the configuration ---- */

typedef struct {
  double x, y;
} pt_t;

/* Clips a polygon (frame fractions) to the frame (Sutherland-Hodgman). */
static GArray *
clip_to_frame(GArray *in)
{
  for (int edge = 0; edge < 4; edge++) {
    GArray *out = g_array_new(FALSE, FALSE, sizeof(pt_t));
    for (guint i = 0; i < in->len; i++) {
      pt_t a = g_array_index(in, pt_t, i), b = g_array_index(in, pt_t, (i + 1) % in->len);
      double da, db;
      switch (edge) {
      case 0:
        da = a.x, db = b.x;
        break;
      case 1:
        da = 1 - a.x, db = 1 - b.x;
        break;
      case 2:
        da = a.y, db = b.y;
        break;
      default:
        da = 1 - a.y, db = 1 - b.y;
        break;
      }
      if (da >= 0)
        g_array_append_val(out, a);
      if ((da >= 0) != (db >= 0)) {
        double s = da / (da - db);
        pt_t q = {a.x + s * (b.x - a.x), a.y + s * (b.y - a.y)};
        g_array_append_val(out, q);
      }
    }
    g_array_free(in, TRUE);
    in = out;
  }
  return in;
}

/* The ground rectangle X in [x0, x1], Z in [z0, z1] as seen by the
 * default camera, clipped to the frame. */
static GArray *
ground_quad(const sg_scene_t *sc, double x0, double x1, double z0, double z1)
{
  GArray *a = g_array_new(FALSE, FALSE, sizeof(pt_t));
  double xs[4] = {x0, x1, x1, x0}, zs[4] = {z0, z0, z1, z1};
  for (int i = 0; i < 4; i++) {
    double u, v;
    sg_project(&sc->pose, xs[i], 0, zs[i], &u, &v);
    pt_t p = {u / sc->width, v / sc->height};
    g_array_append_val(a, p);
  }
  return clip_to_frame(a);
}

static void
append_num(GString *s, double x)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  g_string_append(s, g_ascii_formatd(buf, sizeof buf, "%.4f", x));
}

static void
append_poly(GString *s, GArray *p)
{
  g_string_append_c(s, '[');
  for (guint i = 0; i < p->len; i++) {
    pt_t q = g_array_index(p, pt_t, i);
    g_string_append(s, i ? ", [" : "[");
    append_num(s, q.x);
    g_string_append(s, ", ");
    append_num(s, q.y);
    g_string_append_c(s, ']');
  }
  g_string_append_c(s, ']');
}

static gboolean
poly_contains(GArray *p, double x, double y)
{
  gboolean in = FALSE;
  for (guint i = 0, j = p->len - 1; i < p->len; j = i++) {
    pt_t a = g_array_index(p, pt_t, i), b = g_array_index(p, pt_t, j);
    if ((a.y > y) != (b.y > y) && x < (b.x - a.x) * (y - a.y) / (b.y - a.y) + a.x)
      in = !in;
  }
  return in;
}

/* The truth must be complete: the scripted stop stands inside the
 * no-stopping zone, and no other vehicle stands there (a queue in the
 * outer lane must not reach into it). */
static void
check_shoulder(const sg_scene_t *sc, const sg_traffic_t *tr, GArray *zone)
{
  for (guint i = 0; i < tr->vehicles->len; i++) {
    sg_vehicle_t *v = tr->vehicles->pdata[i];
    int inside_stopped = 0, stop_frames = 0, stop_inside = 0;
    for (int k = 0; k < sc->n_frames && !v->rejected; k++) {
      double u, y;
      if (!v->st[k].present || !sg_vehicle_ground_point(v, &v->st[k], &sc->pose, &u, &y))
        continue;
      gboolean in = poly_contains(zone, u / sc->width, y / sc->height);
      double t = k / sc->fps;
      if (v->script == SG_SCRIPT_STOP && t >= sc->stop_t && t < sc->stop_t + sc->stop_dur) {
        stop_frames++;
        stop_inside += in;
      } else if (v->script == SG_SCRIPT_NONE && in && v->st[k].v < 0.5) {
        inside_stopped++;
      }
    }
    if (stop_frames > 0 && stop_inside < stop_frames)
      g_printerr("scenegen: warning: the stopped vehicle is outside the shoulder zone in %d "
                 "frames\n",
                 stop_frames - stop_inside);
    if (inside_stopped > 0)
      g_printerr("scenegen: warning: vehicle %d stands in the shoulder zone for %d frames\n", v->id,
                 inside_stopped);
  }
}

#define ZONE_Z0 24.0
#define ZONE_Z1 90.0
#define CONGESTION_Z1 65.0 /* nearer: free flow moves fast enough in the image */

/* The analytics configuration (analytics/config.h): the two counting
 * lines, the four lanes with their directions, the right shoulder as a
 * no-stopping zone, the departing lanes as the congestion zone. The
 * congestion polygon is also handed to the renderer, which measures its
 * occupancy for the truth. */
static char *
config_json(const sg_scene_t *sc, const sg_traffic_t *tr, sg_render_t *rnd)
{
  GString *s = g_string_new("{\n  \"lines\": [\n");
  for (guint i = 0; i < tr->lines->len; i++) {
    const sg_line_t *l = &g_array_index(tr->lines, sg_line_t, i);
    g_string_append_printf(s, "    {\"id\": \"%s\", \"from\": [", l->id);
    append_num(s, l->fx0);
    g_string_append(s, ", ");
    append_num(s, l->fy0);
    g_string_append(s, "], \"to\": [");
    append_num(s, l->fx1);
    g_string_append(s, ", ");
    append_num(s, l->fy1);
    g_string_append_printf(s, "]}%s\n", i + 1 < tr->lines->len ? "," : "");
  }
  g_string_append(s, "  ],\n  \"lanes\": [\n");
  static const struct {
    const char *id;
    double x0, x1;
    int dir;
  } lanes[] = {{"depart_inner", 0.0, 3.5, +1},
               {"depart_outer", 3.5, 7.0, +1},
               {"approach_inner", -3.5, 0.0, -1},
               {"approach_outer", -7.0, -3.5, -1}};
  for (guint i = 0; i < G_N_ELEMENTS(lanes); i++) {
    GArray *p = ground_quad(sc, lanes[i].x0, lanes[i].x1, 15.0, 150.0);
    double xm = 0.5 * (lanes[i].x0 + lanes[i].x1), ua, va, ub, vb;
    sg_project(&sc->pose, xm, 0, 25.0, &ua, &va);
    sg_project(&sc->pose, xm, 0, 60.0, &ub, &vb);
    double dx = (ub - ua) / sc->width * lanes[i].dir, dy = (vb - va) / sc->height * lanes[i].dir;
    double len = hypot(dx, dy);
    g_string_append_printf(s, "    {\"id\": \"%s\", \"polygon\": ", lanes[i].id);
    append_poly(s, p);
    g_string_append(s, ", \"direction\": [");
    append_num(s, dx / len);
    g_string_append(s, ", ");
    append_num(s, dy / len);
    g_string_append_printf(s, "]}%s\n", i + 1 < G_N_ELEMENTS(lanes) ? "," : "");
    g_array_free(p, TRUE);
  }
  g_string_append(s, "  ],\n  \"zones\": [\n");
  GArray *sh = ground_quad(sc, SG_LANES_EDGE, SG_ROAD_EDGE, ZONE_Z0, ZONE_Z1);
  g_string_append(s, "    {\"id\": \"shoulder\", \"kind\": \"no_stopping\", \"polygon\": ");
  append_poly(s, sh);
  g_string_append(s, "},\n");
  check_shoulder(sc, tr, sh);
  GArray *cz = ground_quad(sc, 0.0, SG_LANES_EDGE, ZONE_Z0, CONGESTION_Z1);
  g_string_append(s, "    {\"id\": \"depart\", \"kind\": \"congestion\", \"polygon\": ");
  append_poly(s, cz);
  g_string_append(s, "}\n  ]\n}\n");
  double *xy = g_new(double, 2 * cz->len);
  for (guint i = 0; i < cz->len; i++) {
    xy[2 * i] = g_array_index(cz, pt_t, i).x;
    xy[2 * i + 1] = g_array_index(cz, pt_t, i).y;
  }
  sg_render_set_zone(rnd, xy, (int)cz->len);
  g_free(xy);
  g_array_free(sh, TRUE);
  g_array_free(cz, TRUE);
  return g_string_free(s, FALSE);
}

/* ---- truth ---- */

#define HEAVY_OCCUPANCY 0.35 /* config.h defaults */
#define JAMMED_OCCUPANCY 0.6
#define HEAVY_SPEED 0.08
#define JAMMED_SPEED 0.02
#define CONGESTION_SMOOTH_S 5.0
#define CONGESTION_MIN_S 10.0

typedef struct {
  double t0, t1;
  gboolean jammed;
} interval_t;

/* Congestion as scripted: the per-frame occupancy of the zone by vehicles
 * and their mean speed, averaged over CONGESTION_SMOOTH_S centred, heavy
 * when occupancy >= 0.35 and speed <= 0.08 (the analytics defaults);
 * runs shorter than CONGESTION_MIN_S dropped, gaps shorter merged. */
static GArray *
congestion_intervals(const sg_scene_t *sc, const double *occ, const double *speed)
{
  GArray *out = g_array_new(FALSE, FALSE, sizeof(interval_t));
  int n = sc->n_frames, half = (int)lround(CONGESTION_SMOOTH_S * sc->fps / 2);
  gboolean in = FALSE;
  interval_t cur = {0, 0, FALSE};
  for (int k = 0; k <= n; k++) {
    gboolean heavy = FALSE, jammed = FALSE;
    if (k < n) {
      double so = 0, ss = 0;
      int no = 0, ns = 0;
      for (int j = MAX(0, k - half); j <= MIN(n - 1, k + half); j++) {
        so += occ[j], no++;
        if (speed[j] >= 0)
          ss += speed[j], ns++;
      }
      double o = so / no, v = ns ? ss / ns : 0;
      heavy = o >= HEAVY_OCCUPANCY && v <= HEAVY_SPEED;
      jammed = o >= JAMMED_OCCUPANCY && v <= JAMMED_SPEED;
    }
    double t = k / sc->fps;
    if (heavy && !in) {
      if (out->len > 0 && t - g_array_index(out, interval_t, out->len - 1).t1 < CONGESTION_MIN_S) {
        cur = g_array_index(out, interval_t, out->len - 1);
        g_array_set_size(out, out->len - 1);
      } else {
        cur.t0 = t;
        cur.jammed = FALSE;
      }
      in = TRUE;
    }
    if (in && jammed)
      cur.jammed = TRUE;
    if (in && !heavy) {
      cur.t1 = t;
      g_array_append_val(out, cur);
      in = FALSE;
    }
  }
  for (guint i = 0; i < out->len;) {
    interval_t *iv = &g_array_index(out, interval_t, i);
    if (iv->t1 - iv->t0 < CONGESTION_MIN_S)
      g_array_remove_index(out, i);
    else
      i++;
  }
  return out;
}

static void
incident(GString *s, gboolean *first, const char *kind, double start, double end, const char *extra)
{
  g_string_append_printf(s, "%s\n    {\"kind\": \"%s\", \"start\": ", *first ? "" : ",", kind);
  append_num(s, start);
  if (end >= 0) {
    g_string_append(s, ", \"end\": ");
    append_num(s, end);
  }
  if (extra != NULL)
    g_string_append_printf(s, ", %s", extra);
  g_string_append_c(s, '}');
  *first = FALSE;
}

static char *
truth_json(const sg_scene_t *sc, const sg_traffic_t *tr, GArray *congestion, double ww_visible)
{
  GString *s = g_string_new("{\n");
  g_string_append_printf(s, "  \"scenario\": \"%s\",\n  \"seed\": %" G_GUINT64_FORMAT ",\n",
                         sc->name, sc->seed);
  g_string_append(s, "  \"fps\": ");
  append_num(s, sc->fps);
  g_string_append_printf(s, ",\n  \"width\": %d,\n  \"height\": %d,\n  \"seconds\": ", sc->width,
                         sc->height);
  append_num(s, sc->seconds);
  g_string_append_printf(s, ",\n  \"frames\": %d,\n  \"quiet\": %s,\n", sc->n_frames,
                         sc->quiet ? "true" : "false");
  /* light changes: any tamper report is wrong, whatever else happens */
  if (sc->gain_end != 1.0)
    g_string_append(s, "  \"no_tamper\": true,\n");
  /* After a re-aim the configured lines and lanes no longer lie on the
   * road: no counts, and traffic rules are not scored after it. */
  if (sc->reaim_t < 0) {
    g_string_append(s, "  \"counts\": {");
    for (guint l = 0; l < tr->lines->len; l++) {
      const sg_line_t *ln = &g_array_index(tr->lines, sg_line_t, l);
      int fwd = 0, rev = 0;
      for (guint i = 0; i < tr->crossings->len; i++) {
        const sg_crossing_t *c = &g_array_index(tr->crossings, sg_crossing_t, i);
        if (strcmp(c->line, ln->id) == 0 && c->t >= 0 && c->t <= sc->seconds)
          *(c->forward ? &fwd : &rev) += 1;
      }
      g_string_append_printf(s, "%s\"%s\": {\"forward\": %d, \"reverse\": %d}", l ? ", " : "",
                             ln->id, fwd, rev);
    }
    g_string_append(s, "},\n");
  } else {
    g_string_append(s, "  \"rules_valid_until\": ");
    append_num(s, sc->reaim_t);
    g_string_append(s, ",\n");
  }
  g_string_append(s, "  \"incidents\": [");
  gboolean first = TRUE;
  if (sc->stop_t >= 0)
    incident(s, &first, "traffic.stopped_vehicle", sc->stop_t, sc->stop_t + sc->stop_dur,
             "\"zone\": \"shoulder\"");
  if (sc->ww_t >= 0 && ww_visible >= 0)
    incident(s, &first, "traffic.wrong_way", ww_visible, -1, "\"lane\": \"approach_inner\"");
  for (guint i = 0; i < congestion->len; i++) {
    interval_t *iv = &g_array_index(congestion, interval_t, i);
    incident(s, &first, "traffic.congestion", iv->t0, iv->t1,
             iv->jammed ? "\"zone\": \"depart\", \"level\": \"jammed\""
                        : "\"zone\": \"depart\", \"level\": \"heavy\"");
  }
  if (sc->cover_t0 >= 0)
    incident(s, &first, "camera.tamper.blackout", sc->cover_t0, sc->cover_t1,
             "\"cause\": \"covered\"");
  if (sc->black_t0 >= 0)
    incident(s, &first, "camera.tamper.blackout", sc->black_t0, sc->black_t1,
             "\"cause\": \"signal\"");
  if (sc->freeze_t0 >= 0)
    incident(s, &first, "camera.tamper.frozen", sc->freeze_t0, sc->freeze_t1, NULL);
  if (sc->blur_t0 >= 0)
    incident(s, &first, "camera.tamper.defocus", sc->blur_t0, sc->blur_t1, NULL);
  if (sc->reaim_t >= 0)
    incident(s, &first, "camera.tamper.scene_change", sc->reaim_t, -1, NULL);
  g_string_append(s, first ? "],\n" : "\n  ],\n");

  int shown = 0;
  for (guint i = 0; i < tr->vehicles->len; i++) {
    sg_vehicle_t *v = tr->vehicles->pdata[i];
    for (int k = 0; k < sc->n_frames && !v->rejected; k++)
      if (v->st[k].present) {
        shown++;
        break;
      }
  }
  g_string_append_printf(s, "  \"vehicles\": %d,\n  \"rejected_vehicles\": %d,\n", shown,
                         tr->rejected);
  g_string_append(s, "  \"count_exclusions\": [");
  for (guint i = 0; i < tr->exclusions->len; i++) {
    sg_window_t *w = &g_array_index(tr->exclusions, sg_window_t, i);
    g_string_append(s, i ? ", [" : "[");
    append_num(s, MAX(w->t0, 0.0));
    g_string_append(s, ", ");
    append_num(s, MIN(w->t1, sc->seconds));
    g_string_append_c(s, ']');
  }
  g_string_append(s, "],\n  \"crossings\": [");
  for (guint i = 0, n = 0; i < tr->crossings->len; i++) {
    const sg_crossing_t *c = &g_array_index(tr->crossings, sg_crossing_t, i);
    if (c->t < 0 || c->t > sc->seconds || sc->reaim_t >= 0)
      continue;
    g_string_append_printf(
        s, "%s\n    {\"line\": \"%s\", \"vehicle\": %d, \"direction\": \"%s\", \"t\": ",
        n++ ? "," : "", c->line, c->vehicle, c->forward ? "forward" : "reverse");
    append_num(s, c->t);
    g_string_append_c(s, '}');
  }
  g_string_append(s, "\n  ]\n}\n");
  return g_string_free(s, FALSE);
}

/* ---- encoder ---- */

static int
write_all(int fd, const guint8 *p, gsize n)
{
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return -errno;
    p += w;
    n -= (gsize)w;
  }
  return 0;
}

static int
encoder_start(const sg_scene_t *sc, const char *mp4, GPid *pid, int *fd, GError **err)
{
  const char *ffmpeg = g_getenv("FFMPEG") ? g_getenv("FFMPEG") : "ffmpeg";
  char size[32], rate[32], gop[16];
  g_snprintf(size, sizeof size, "%dx%d", sc->width, sc->height);
  g_ascii_formatd(rate, sizeof rate, "%g", sc->fps);
  g_snprintf(gop, sizeof gop, "%d", (int)lround(2 * sc->fps));
  const char *argv[] = {ffmpeg, "-hide_banner", "-loglevel", "error",    "-y",
                        "-f",   "rawvideo",     "-pix_fmt",  "yuv420p",  "-s",
                        size,   "-r",           rate,        "-i",       "-",
                        "-c:v", "libx264",      "-preset",   "veryfast", "-g",
                        gop,    "-pix_fmt",     "yuv420p",   mp4,        NULL};
  if (!g_spawn_async_with_pipes(NULL, (char **)argv, NULL,
                                G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, pid,
                                fd, NULL, NULL, err))
    return -1;
  return 0;
}

static int
encoder_finish(GPid pid, int fd)
{
  close(fd);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  g_spawn_close_pid(pid);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static gboolean
write_text(const char *path, const char *text)
{
  GError *err = NULL;
  if (!g_file_set_contents(path, text, -1, &err)) {
    g_printerr("scenegen: %s\n", err->message);
    g_error_free(err);
    return FALSE;
  }
  return TRUE;
}

int
main(int argc, char **argv)
{
  char *scenario = NULL, *out = NULL, *size = NULL;
  double seconds = 0, fps = 10;
  gint64 seed = 1;
  gboolean no_video = FALSE, list = FALSE;
  GOptionEntry entries[] = {
      {"scenario", 0, 0, G_OPTION_ARG_STRING, &scenario, "scenario to render", "NAME"},
      {"out", 0, 0, G_OPTION_ARG_FILENAME, &out, "output directory", "DIR"},
      {"seconds", 0, 0, G_OPTION_ARG_DOUBLE, &seconds, "length (default: the scenario's)", "S"},
      {"size", 0, 0, G_OPTION_ARG_STRING, &size, "frame size (default 640x360)", "WxH"},
      {"fps", 0, 0, G_OPTION_ARG_DOUBLE, &fps, "frame rate (default 10)", "F"},
      {"seed", 0, 0, G_OPTION_ARG_INT64, &seed, "random seed (default 1)", "N"},
      {"no-video", 0, 0, G_OPTION_ARG_NONE, &no_video, "write truth and config only", NULL},
      {"list", 0, 0, G_OPTION_ARG_NONE, &list, "list the scenarios", NULL},
      {NULL, 0, 0, 0, NULL, NULL, NULL}};
  GOptionContext *ctx = g_option_context_new("- synthetic road scenes with ground truth");
  g_option_context_add_main_entries(ctx, entries, NULL);
  GError *err = NULL;
  int rc = 1;
  if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
    g_printerr("scenegen: %s\n", err->message);
    g_error_free(err);
    g_option_context_free(ctx);
    return 2;
  }
  g_option_context_free(ctx);
  if (list) {
    for (guint i = 0; i < G_N_ELEMENTS(scenarios); i++)
      printf("%-10s %s\n", scenarios[i].name, scenarios[i].what);
    return 0;
  }
  int si = scenario != NULL ? scenario_index(scenario) : -1;
  int width = 640, height = 360;
  if (size != NULL && (sscanf(size, "%dx%d", &width, &height) != 2 || width < 64 || height < 64 ||
                       width > 3840 || height > 2160 || width % 2 || height % 2)) {
    g_printerr("scenegen: --size: expected WxH, even, 64x64 to 3840x2160\n");
    return 2;
  }
  if (si < 0 || out == NULL || fps < 1 || fps > 60 || seconds < 0 || seconds > 3600 || seed < 0) {
    g_printerr("usage: scenegen --scenario NAME --out DIR [--seconds S] [--size WxH] [--fps F] "
               "[--seed N] [--no-video]   (--list for the scenarios)\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);

  sg_scene_t sc = {0};
  sc.name = scenarios[si].name;
  sc.seed = (guint64)seed;
  sc.width = width;
  sc.height = height;
  sc.fps = fps;
  sc.seconds = seconds > 0 ? seconds : scenarios[si].seconds;
  sc.n_frames = (int)lround(sc.seconds * fps);
  scene_setup(&sc);

  g_mkdir_with_parents(out, 0755);
  char *base = g_build_filename(out, sc.name, NULL);
  char *mp4 = g_strconcat(base, ".mp4", NULL);
  char *truth_path = g_strconcat(base, ".truth.json", NULL);
  char *config_path = g_strconcat(base, ".config.json", NULL);
  sg_traffic_t *tr = sg_traffic_new(&sc);
  sg_render_t *rnd = NULL;
  guint8 *frame = NULL;
  double *occ = NULL, *speed = NULL;
  char *config = NULL, *truth = NULL;
  GArray *congestion = NULL;
  GPid pid = 0;
  int fd = -1;

  sg_traffic_run(tr);
  rnd = sg_render_new(&sc, tr);
  config = config_json(&sc, tr, rnd);
  if (!write_text(config_path, config))
    goto out;
  if (!no_video && encoder_start(&sc, mp4, &pid, &fd, &err) < 0) {
    g_printerr("scenegen: cannot start the encoder: %s\n", err->message);
    g_error_free(err);
    goto out;
  }

  gsize frame_bytes = (gsize)width * height * 3 / 2;
  frame = g_malloc(frame_bytes);
  occ = g_new0(double, sc.n_frames);
  speed = g_new0(double, sc.n_frames);
  double ww_visible = -1;
  sg_vehicle_t *ww = NULL;
  for (guint i = 0; i < tr->vehicles->len; i++)
    if (((sg_vehicle_t *)tr->vehicles->pdata[i])->script == SG_SCRIPT_WRONG_WAY)
      ww = tr->vehicles->pdata[i];
  gint64 t_render = 0;
  for (int k = 0; k < sc.n_frames; k++) {
    gint64 t0 = g_get_monotonic_time();
    sg_render_frame(rnd, k, frame, &occ[k], &speed[k]);
    t_render += g_get_monotonic_time() - t0;
    if (ww != NULL && ww_visible < 0 && ww->st[k].present) {
      double u0, v0, u1, v1;
      if (sg_vehicle_bbox(ww, &ww->st[k], &sc.pose, &u0, &v0, &u1, &v1) && v0 < height && v1 > 0 &&
          u1 > 0 && u0 < width)
        ww_visible = k / fps;
    }
    if (!no_video && write_all(fd, frame, frame_bytes) < 0) {
      g_printerr("scenegen: the encoder stopped taking frames\n");
      encoder_finish(pid, fd);
      fd = -1;
      goto out;
    }
  }
  if (!no_video) {
    int erc = encoder_finish(pid, fd);
    fd = -1;
    if (erc < 0) {
      g_printerr("scenegen: ffmpeg failed\n");
      goto out;
    }
  }
  congestion = congestion_intervals(&sc, occ, speed);
  /* SCENEGEN_MEASURE=FILE: the per-frame zone occupancy and mean speed
   * the congestion truth is derived from, for tuning the analytics. */
  if (g_getenv("SCENEGEN_MEASURE") != NULL) {
    GString *m = g_string_new("# t occupancy speed\n");
    for (int k = 0; k < sc.n_frames; k++)
      g_string_append_printf(m, "%.2f %.4f %.4f\n", k / fps, occ[k], speed[k]);
    write_text(g_getenv("SCENEGEN_MEASURE"), m->str);
    g_string_free(m, TRUE);
  }
  if (sc.quiet && congestion->len > 0)
    g_printerr("scenegen: warning: quiet scene %s reaches heavy congestion\n", sc.name);
  truth = truth_json(&sc, tr, congestion, ww_visible);
  if (!write_text(truth_path, truth))
    goto out;
  double omax = 0;
  for (int k = 0; k < sc.n_frames; k++)
    omax = MAX(omax, occ[k]);
  g_printerr("scenegen: %s: %d frames rendered at %.0f frames/s, %d vehicles dropped for the "
             "count windows, peak zone occupancy %.2f\n",
             sc.name, sc.n_frames, t_render > 0 ? sc.n_frames * 1e6 / t_render : 0.0, tr->rejected,
             omax);
  rc = 0;
out:
  g_free(truth);
  g_free(config);
  if (congestion != NULL)
    g_array_free(congestion, TRUE);
  g_free(occ);
  g_free(speed);
  g_free(frame);
  sg_render_free(rnd);
  sg_traffic_free(tr);
  g_free(mp4);
  g_free(truth_path);
  g_free(config_path);
  g_free(base);
  g_free(scenario);
  g_free(out);
  g_free(size);
  return rc;
}
