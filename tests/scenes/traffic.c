/* traffic.c: the vehicles of a scene. A schedule of entries per lane,
 * car-following by the intelligent driver model (so queues form and clear
 * by themselves), two scripted vehicles (one that pulls onto the shoulder
 * and stops, one driving against its lane), and the line crossings that
 * make the counts. */
#include "scenegen.h"

#include <math.h>
#include <string.h>

#define WARMUP_S 40.0 /* simulated before frame 0, so the road is populated */
#define SUBSTEPS 5
#define LANE_OVERLAP 2.2 /* metres apart laterally within which vehicles interact */
#define STOP_Z 44.0
#define SHOULDER_X 8.5
#define EXIT_FAR 300.0
#define ENTRY_PATIENCE_S 6.0

/* IDM parameters */
#define IDM_A 1.4
#define IDM_B 2.0
#define IDM_S0 2.2
#define IDM_T 1.1

static const struct {
  double x;
  int dir;
} lanes[] = {{1.75, +1}, {5.25, +1}, {-1.75, -1}, {-5.25, -1}};
#define N_LANES 4

/* Body colours: light, dark, saturated, and some close to the asphalt. */
static const float palette[][3] = {
    {0.92f, 0.92f, 0.90f}, {0.75f, 0.76f, 0.78f}, {0.08f, 0.08f, 0.09f}, {0.12f, 0.16f, 0.32f},
    {0.62f, 0.08f, 0.07f}, {0.36f, 0.36f, 0.37f}, {0.40f, 0.39f, 0.38f}, {0.15f, 0.30f, 0.18f},
    {0.85f, 0.70f, 0.15f}, {0.55f, 0.57f, 0.60f}, {0.30f, 0.30f, 0.32f}, {0.20f, 0.40f, 0.70f},
};
#define N_COLOURS (int)G_N_ELEMENTS(palette)

static sg_vehicle_t *
vehicle_new(sg_traffic_t *tr, sg_rng_t *rng, int dir, double lane_x, double t)
{
  sg_vehicle_t *v = g_new0(sg_vehicle_t, 1);
  double u = sg_rng_uniform(rng);
  v->type = u < 0.68 ? SG_CAR : u < 0.88 ? SG_VAN : SG_TRUCK;
  switch (v->type) {
  case SG_CAR:
    v->length = 4.2 + 0.6 * sg_rng_uniform(rng);
    v->width = 1.75 + 0.15 * sg_rng_uniform(rng);
    v->height = 1.4 + 0.15 * sg_rng_uniform(rng);
    v->v0 = 10.0 + 5.0 * sg_rng_uniform(rng);
    break;
  case SG_VAN:
    v->length = 5.0 + 0.8 * sg_rng_uniform(rng);
    v->width = 2.0;
    v->height = 2.2 + 0.3 * sg_rng_uniform(rng);
    v->v0 = 9.5 + 4.0 * sg_rng_uniform(rng);
    break;
  default:
    v->length = 9.0 + 3.0 * sg_rng_uniform(rng);
    v->width = 2.5;
    v->height = 3.4 + 0.5 * sg_rng_uniform(rng);
    v->v0 = 8.0 + 3.0 * sg_rng_uniform(rng);
    break;
  }
  if (fabs(lane_x) < 3.5)
    v->v0 += 1.5; /* the inner lane is faster */
  const float *c = palette[sg_rng_u32(rng) % N_COLOURS];
  for (int i = 0; i < 3; i++) {
    /* a little variation so no two are alike */
    float jit = (float)(0.9 + 0.2 * sg_rng_uniform(rng));
    v->rgb[i] = CLAMP(c[i] * jit, 0.02f, 0.98f);
  }
  const float *cc = palette[sg_rng_u32(rng) % 3 == 0 ? 1 : 0];
  memcpy(v->cargo_rgb, cc, sizeof v->cargo_rgb);
  v->dir = dir;
  v->lane_x = lane_x;
  v->spawn_t = t;
  v->id = (int)tr->vehicles->len;
  v->st = g_new0(sg_state_t, tr->sc->n_frames);
  g_ptr_array_add(tr->vehicles, v);
  return v;
}

static gboolean
in_window(double t, double t0, double t1)
{
  return t0 >= 0 && t >= t0 && t <= t1;
}

/* Mean headway for a lane at time t: dense in the departing lanes while a
 * jam builds, so the queue reaches back past the camera. */
static double
headway_at(const sg_scene_t *sc, int dir, double t)
{
  if (dir > 0 && sc->jam_t0 >= 0 && t >= sc->jam_t0 - 15 && t < sc->jam_t1)
    return 2.0;
  return sc->headway;
}

static void
schedule(sg_traffic_t *tr)
{
  sg_scene_t *sc = tr->sc;
  for (int l = 0; l < N_LANES; l++) {
    sg_rng_t rng;
    sg_rng_init(&rng, sc->rng_seed, 100 + (guint64)l);
    double t = -WARMUP_S + 6.0 * sg_rng_uniform(&rng);
    while (t < sc->seconds) {
      /* The wrong-way driver has the inner approaching lane to itself. */
      gboolean blank =
          sc->ww_t >= 0 && lanes[l].x == -1.75 && t > sc->ww_t - 30 && t < sc->ww_t + 28;
      if (!blank)
        vehicle_new(tr, &rng, lanes[l].dir, lanes[l].x, t);
      double h = headway_at(sc, lanes[l].dir, t);
      t += 1.2 + h * (0.35 - 0.65 * log(1.0 - sg_rng_uniform(&rng)));
    }
  }
  sg_rng_t rng;
  sg_rng_init(&rng, sc->rng_seed, 200);
  if (sc->stop_t >= 0) {
    sg_vehicle_t *v = vehicle_new(tr, &rng, +1, 5.25, 0);
    v->type = SG_CAR;
    v->length = 4.6;
    v->width = 1.85;
    v->height = 1.5;
    v->rgb[0] = 0.80f, v->rgb[1] = 0.80f, v->rgb[2] = 0.82f;
    v->script = SG_SCRIPT_STOP;
  }
  if (sc->ww_t >= 0) {
    sg_vehicle_t *v = vehicle_new(tr, &rng, +1, -1.75, sc->ww_t);
    v->type = SG_CAR;
    v->length = 4.5;
    v->width = 1.8;
    v->height = 1.45;
    v->rgb[0] = 0.65f, v->rgb[1] = 0.10f, v->rgb[2] = 0.08f;
    v->script = SG_SCRIPT_WRONG_WAY;
  }
}

static double
smoothstep(double a)
{
  a = CLAMP(a, 0.0, 1.0);
  return a * a * (3 - 2 * a);
}

/* The scripted vehicles' kinematics: position and speed at time t. */
static gboolean
scripted_state(const sg_scene_t *sc, const sg_vehicle_t *v, double t, sg_state_t *s)
{
  if (v->script == SG_SCRIPT_WRONG_WAY) {
    const double speed = 11.0;
    s->z = (float)(-2.0 + speed * (t - sc->ww_t));
    s->x = (float)v->lane_x;
    s->v = (float)speed;
    return t >= sc->ww_t && s->z < EXIT_FAR;
  }
  /* Stop: cruise at vc, brake at a to stand still at STOP_Z at stop_t,
   * stand for stop_dur, then pull away along the shoulder. */
  const double vc = 10.0, a = 2.0, a_go = 1.5, v_go = 12.0;
  double t_brake = vc / a, d_brake = vc * vc / (2 * a);
  double z_brake = STOP_Z - d_brake;
  double t_b = sc->stop_t - t_brake;          /* braking starts */
  double t_e = t_b - (z_brake - (-2.0)) / vc; /* enters below the frame */
  double t_go = sc->stop_t + sc->stop_dur;
  if (t < t_e)
    return FALSE;
  double z, speed, x = v->lane_x;
  if (t < t_b) {
    z = -2.0 + vc * (t - t_e);
    speed = vc;
  } else if (t < sc->stop_t) {
    double d = t - t_b;
    z = z_brake + vc * d - 0.5 * a * d * d;
    speed = vc - a * d;
  } else if (t < t_go) {
    z = STOP_Z;
    speed = 0;
  } else {
    double d = t - t_go, t_acc = v_go / a_go;
    if (d < t_acc) {
      z = STOP_Z + 0.5 * a_go * d * d;
      speed = a_go * d;
    } else {
      z = STOP_Z + 0.5 * a_go * t_acc * t_acc + v_go * (d - t_acc);
      speed = v_go;
    }
  }
  if (t >= t_b)
    x = v->lane_x + (SHOULDER_X - v->lane_x) * smoothstep((t - t_b) / (t_brake * 0.85));
  s->z = (float)z;
  s->x = (float)x;
  s->v = (float)speed;
  return z < EXIT_FAR;
}

typedef struct {
  sg_vehicle_t *v;
  double z, x, speed;
  gboolean active, done;
} sim_t;

/* The nearest vehicle ahead in the same direction overlapping laterally;
 * returns the bumper-to-bumper gap (G_MAXDOUBLE when none) and its speed. */
static double
leader_gap(const sim_t *sims, guint n, guint self, const sg_scene_t *sc, double t, double *lead_v)
{
  const sim_t *me = &sims[self];
  int dir = me->v->dir;
  double best = G_MAXDOUBLE;
  *lead_v = me->speed;
  for (guint j = 0; j < n; j++) {
    const sim_t *o = &sims[j];
    if (j == self || !o->active || o->v->dir != dir || fabs(o->x - me->x) > LANE_OVERLAP)
      continue;
    double ahead = dir * (o->z - me->z);
    if (ahead <= 0)
      continue;
    double gap = ahead - 0.5 * (o->v->length + me->v->length);
    if (gap < best) {
      best = gap;
      *lead_v = o->speed;
    }
  }
  /* The jam: a bottleneck beyond the congestion zone lets the departing
   * lanes through at a crawl, as a slow leader that is not drawn. */
  if (dir > 0 && me->x > 0 && me->x < SG_LANES_EDGE && in_window(t, sc->jam_t0, sc->jam_t1)) {
    const double crawl = 0.25;
    double zp = 92.0 + crawl * (t - sc->jam_t0);
    double gap = zp - (me->z + 0.5 * me->v->length);
    if (gap > -1.0 && gap < best) {
      best = MAX(gap, 0.05);
      *lead_v = crawl;
    }
  }
  return best;
}

static void
simulate(sg_traffic_t *tr)
{
  sg_scene_t *sc = tr->sc;
  guint n = tr->vehicles->len;
  sim_t *sims = g_new0(sim_t, n);
  for (guint i = 0; i < n; i++) {
    sims[i].v = tr->vehicles->pdata[i];
    memset(sims[i].v->st, 0, sizeof(sg_state_t) * (gsize)sc->n_frames);
  }
  double dt = 1.0 / (sc->fps * SUBSTEPS);
  long step0 = lround(-WARMUP_S * sc->fps * SUBSTEPS);
  long step1 = (long)sc->n_frames * SUBSTEPS;
  for (long step = step0; step < step1; step++) {
    double t = step * dt;
    for (guint i = 0; i < n; i++) {
      sim_t *s = &sims[i];
      sg_vehicle_t *v = s->v;
      if (s->done || v->rejected)
        continue;
      if (v->script != SG_SCRIPT_NONE) {
        sg_state_t st;
        gboolean was = s->active;
        s->active = scripted_state(sc, v, t, &st);
        if (s->active) {
          s->z = st.z;
          s->x = st.x;
          s->speed = st.v;
        } else if (was) {
          s->done = TRUE;
        }
        continue;
      }
      if (!s->active) {
        if (t < v->spawn_t)
          continue;
        /* A driver who finds the road backed up past the entry for long
         * goes another way: a backlog would keep a cleared jam saturated. */
        if (t > v->spawn_t + ENTRY_PATIENCE_S) {
          s->done = TRUE;
          continue;
        }
        /* Enter when the lane has room at the entry point. */
        s->z = v->dir > 0 ? SG_SPAWN_NEAR - 0.5 * v->length : SG_SPAWN_FAR + 0.5 * v->length;
        s->x = v->lane_x;
        s->speed = v->v0;
        s->active = TRUE;
        double lv, gap = leader_gap(sims, n, i, sc, t, &lv);
        if (gap < 6.0 + 0.8 * MIN(lv, v->v0)) {
          s->active = FALSE;
          continue;
        }
        if (gap < 60)
          s->speed = MIN(v->v0, lv + 1.0);
      }
    }
    /* Car-following for everyone active, from the state at the step start. */
    for (guint i = 0; i < n; i++) {
      sim_t *s = &sims[i];
      if (!s->active || s->v->script != SG_SCRIPT_NONE)
        continue;
      double lv, gap = leader_gap(sims, n, i, sc, t, &lv);
      double vv = s->speed, v0 = s->v->v0;
      double sstar = IDM_S0 + MAX(0.0, vv * IDM_T + vv * (vv - lv) / (2 * sqrt(IDM_A * IDM_B)));
      double acc = IDM_A * (1 - pow(vv / v0, 4));
      if (gap < G_MAXDOUBLE)
        acc -= IDM_A * pow(sstar / MAX(gap, 0.1), 2);
      acc = MAX(acc, -9.0);
      s->speed = MAX(0.0, vv + acc * dt);
    }
    for (guint i = 0; i < n; i++) {
      sim_t *s = &sims[i];
      if (!s->active || s->v->script != SG_SCRIPT_NONE)
        continue;
      s->z += s->v->dir * s->speed * dt;
      if (s->z > EXIT_FAR || s->z < -8.0) {
        s->active = FALSE;
        s->done = TRUE;
      }
    }
    /* Record at frame boundaries: step+1 ends the substeps of frame k. */
    long next = step + 1;
    if (next >= 0 && next % SUBSTEPS == 0) {
      long k = next / SUBSTEPS;
      if (k < sc->n_frames) {
        for (guint i = 0; i < n; i++) {
          if (!sims[i].active)
            continue;
          sg_state_t *st = &sims[i].v->st[k];
          st->x = (float)sims[i].x;
          st->z = (float)sims[i].z;
          st->v = (float)sims[i].speed;
          st->present = TRUE;
        }
      }
    }
  }
  g_free(sims);
}

/* As analytics/rules.c and config.h: +1 when p0 -> p1 crosses a -> b from
 * its left to its right (y down), -1 the other way, 0 not at all; *u is
 * where along p0 -> p1. */
static int
crossing(double ax, double ay, double bx, double by, double p0x, double p0y, double p1x, double p1y,
         double *u)
{
  double dx = bx - ax, dy = by - ay;
  double s0 = dx * (p0y - ay) - dy * (p0x - ax);
  double s1 = dx * (p1y - ay) - dy * (p1x - ax);
  gboolean r0 = s0 > 0, r1 = s1 > 0;
  if (r0 == r1)
    return 0;
  *u = s0 / (s0 - s1);
  double qx = p0x + *u * (p1x - p0x), qy = p0y + *u * (p1y - p0y);
  double t = ((qx - ax) * dx + (qy - ay) * dy) / (dx * dx + dy * dy);
  if (t < 0 || t > 1)
    return 0;
  return r1 ? 1 : -1;
}

/* Crossings of every line, in frame fractions under the scene's default
 * pose; returns how many vehicles had one in an exclusion window (and
 * rejects them). */
static int
derive_crossings(sg_traffic_t *tr)
{
  sg_scene_t *sc = tr->sc;
  int bad = 0;
  g_array_set_size(tr->crossings, 0);
  for (guint i = 0; i < tr->vehicles->len; i++) {
    sg_vehicle_t *v = tr->vehicles->pdata[i];
    if (v->rejected)
      continue;
    gboolean reject = FALSE;
    double pu = 0, pv = 0;
    gboolean have_prev = FALSE;
    for (int k = 0; k < sc->n_frames; k++) {
      double gu, gv;
      if (!v->st[k].present || !sg_vehicle_ground_point(v, &v->st[k], &sc->pose, &gu, &gv)) {
        have_prev = FALSE;
        continue;
      }
      gu /= sc->width;
      gv /= sc->height;
      if (have_prev) {
        for (guint l = 0; l < tr->lines->len; l++) {
          const sg_line_t *ln = &g_array_index(tr->lines, sg_line_t, l);
          double u;
          int c = crossing(ln->fx0, ln->fy0, ln->fx1, ln->fy1, pu, pv, gu, gv, &u);
          if (c == 0)
            continue;
          double t = (k - 1 + u) / sc->fps;
          for (guint w = 0; w < tr->exclusions->len; w++) {
            sg_window_t *win = &g_array_index(tr->exclusions, sg_window_t, w);
            if (t >= win->t0 && t <= win->t1)
              reject = TRUE;
          }
          sg_crossing_t cr = {ln->id, v->id, c > 0, t};
          g_array_append_val(tr->crossings, cr);
        }
      }
      pu = gu, pv = gv;
      have_prev = TRUE;
    }
    if (reject && v->script == SG_SCRIPT_NONE) {
      v->rejected = TRUE;
      bad++;
    } else if (reject) {
      g_printerr("scenegen: warning: scripted vehicle %d crosses a line in an exclusion window\n",
                 v->id);
    }
  }
  return bad;
}

static void
add_window(sg_traffic_t *tr, double t0, double t1)
{
  sg_window_t w = {t0, t1};
  g_array_append_val(tr->exclusions, w);
}

sg_traffic_t *
sg_traffic_new(sg_scene_t *sc)
{
  sg_traffic_t *tr = g_new0(sg_traffic_t, 1);
  tr->sc = sc;
  tr->vehicles = g_ptr_array_new();
  tr->lines = g_array_new(FALSE, TRUE, sizeof(sg_line_t));
  tr->crossings = g_array_new(FALSE, TRUE, sizeof(sg_crossing_t));
  tr->exclusions = g_array_new(FALSE, TRUE, sizeof(sg_window_t));

  /* Two lines across the whole road where vehicles are large and whole. */
  static const struct {
    const char *id;
    double z;
  } line_def[] = {{"L1", 32.0}, {"L2", 50.0}};
  for (guint i = 0; i < G_N_ELEMENTS(line_def); i++) {
    sg_line_t ln = {g_strdup(line_def[i].id),
                    line_def[i].z,
                    -SG_ROAD_EDGE - 0.3,
                    SG_ROAD_EDGE + 0.3,
                    0,
                    0,
                    0,
                    0};
    double u, v;
    sg_project(&sc->pose, ln.x0, 0, ln.z, &u, &v);
    ln.fx0 = CLAMP(u / sc->width, 0.005, 0.995);
    ln.fy0 = v / sc->height;
    sg_project(&sc->pose, ln.x1, 0, ln.z, &u, &v);
    ln.fx1 = CLAMP(u / sc->width, 0.005, 0.995);
    ln.fy1 = v / sc->height;
    g_array_append_val(tr->lines, ln);
  }

  /* No counted crossing while the analytics cannot be expected to see it:
   * the first seconds (background still being learnt), the last (a track
   * cut by the end), and a picture fault with the seconds after it. */
  add_window(tr, -1e9, 3.0);
  add_window(tr, sc->seconds - 3.0, 1e9);
  if (sc->cover_t0 >= 0)
    add_window(tr, sc->cover_t0 - 1, sc->cover_t1 + 4);
  if (sc->black_t0 >= 0)
    add_window(tr, sc->black_t0 - 1, sc->black_t1 + 4);
  if (sc->freeze_t0 >= 0)
    add_window(tr, sc->freeze_t0 - 1, sc->freeze_t1 + 4);
  if (sc->blur_t0 >= 0)
    add_window(tr, sc->blur_t0 - 1, sc->blur_t1 + 4);
  /* (After a re-aim the lines no longer lie on the road: the truth has no
   * counts for that scenario, so it needs no window.) */
  schedule(tr);
  return tr;
}

void
sg_traffic_run(sg_traffic_t *tr)
{
  for (int iter = 0; iter < 50; iter++) {
    simulate(tr);
    int bad = derive_crossings(tr);
    tr->rejected += bad;
    if (bad == 0)
      return;
  }
  g_printerr("scenegen: warning: crossings still in exclusion windows after 50 passes\n");
}

void
sg_traffic_free(sg_traffic_t *tr)
{
  if (tr == NULL)
    return;
  for (guint i = 0; i < tr->vehicles->len; i++) {
    sg_vehicle_t *v = tr->vehicles->pdata[i];
    g_free(v->st);
    g_free(v);
  }
  g_ptr_array_free(tr->vehicles, TRUE);
  for (guint i = 0; i < tr->lines->len; i++)
    g_free(g_array_index(tr->lines, sg_line_t, i).id);
  g_array_free(tr->lines, TRUE);
  g_array_free(tr->crossings, TRUE);
  g_array_free(tr->exclusions, TRUE);
  g_free(tr);
}

gboolean
sg_vehicle_bbox(const sg_vehicle_t *v, const sg_state_t *s, const sg_pose_t *p, double *u0,
                double *v0, double *u1, double *v1)
{
  sg_box_t parts[SG_MAX_PARTS];
  int n = sg_vehicle_parts(v, s, parts);
  *u0 = *v0 = G_MAXDOUBLE;
  *u1 = *v1 = -G_MAXDOUBLE;
  for (int i = 0; i < n; i++) {
    const sg_box_t *b = &parts[i];
    for (int c = 0; c < 8; c++) {
      double u, w;
      if (!sg_project(p, c & 1 ? b->x1 : b->x0, c & 2 ? b->y1 : b->y0, c & 4 ? b->z1 : b->z0, &u,
                      &w))
        return FALSE;
      *u0 = MIN(*u0, u), *u1 = MAX(*u1, u);
      *v0 = MIN(*v0, w), *v1 = MAX(*v1, w);
    }
  }
  return n > 0;
}

gboolean
sg_vehicle_ground_point(const sg_vehicle_t *v, const sg_state_t *s, const sg_pose_t *p, double *u,
                        double *y)
{
  double u0, v0, u1, v1;
  if (!sg_vehicle_bbox(v, s, p, &u0, &v0, &u1, &v1))
    return FALSE;
  *u = 0.5 * (u0 + u1);
  *y = v1;
  return TRUE;
}
