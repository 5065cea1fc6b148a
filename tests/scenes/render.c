/* render.c: draws a scene's frames. The background (scenery.c) is
 * ray-cast for a camera pose and kept while the pose holds; vehicles and
 * street furniture are boxes projected and painted far to near over soft
 * shadows; then the picture faults and the sensor: blur, covering, shake,
 * light gain, I420, Gaussian noise, blackout, freezing. */
#include "scenegen.h"

#include <math.h>
#include <string.h>

#define NOISE_TABLE 65536

typedef struct {
  sg_box_t box;
  double key; /* distance from the camera's foot, for the painter */
} static_obj_t;

struct sg_render {
  sg_scene_t *sc;
  sg_traffic_t *tr;
  int w, h;
  float *bg; /* RGB, w*h*3, for bg_pose */
  sg_pose_t bg_pose;
  gboolean bg_valid;
  float *rgb, *tmp; /* the frame being composed, and scratch */
  float *shadow, *shadow_tmp;
  guint16 *ids; /* who painted each pixel: 0 none, vehicle index + 1 */
  guint8 *zone; /* congestion zone mask */
  guint zone_px;
  float *cover; /* the hand over the lens */
  float gauss[NOISE_TABLE];
  guint8 *frozen;  /* the picture held while frozen */
  GArray *statics; /* static_obj_t */
  double shake_ph[4];
  gboolean overlay; /* SCENEGEN_OVERLAY: lines and vehicle boxes drawn in */
};

static void
set3(float *c, double r, double g, double b)
{
  c[0] = (float)r, c[1] = (float)g, c[2] = (float)b;
}

/* ---- boxes ---- */

static void
box_set(sg_box_t *b, double x0, double x1, double y0, double y1, double z0, double z1,
        const float *side, const float *top)
{
  b->x0 = x0, b->x1 = x1, b->y0 = y0, b->y1 = y1, b->z0 = MIN(z0, z1), b->z1 = MAX(z0, z1);
  memcpy(b->side, side, sizeof b->side);
  memcpy(b->top, top, sizeof b->top);
}

int
sg_vehicle_parts(const sg_vehicle_t *v, const sg_state_t *s, sg_box_t *parts)
{
  static const float dark[3] = {0.05f, 0.05f, 0.055f};
  static const float glass[3] = {0.1f, 0.12f, 0.15f};
  double L = v->length, W = v->width, H = v->height;
  double x0 = s->x - W / 2, x1 = s->x + W / 2;
  double rear = s->z - v->dir * L / 2;
/* along the vehicle: a = 0 at the rear, 1 at the front */
#define AZ(a) (rear + v->dir * (a)*L)
  int n = 0;
  switch (v->type) {
  case SG_CAR:
    box_set(&parts[n++], x0 + 0.08, x1 - 0.08, 0, 0.2 * H, AZ(0.03), AZ(0.97), dark, dark);
    box_set(&parts[n++], x0, x1, 0.2 * H, 0.6 * H, AZ(0), AZ(1), v->rgb, v->rgb);
    box_set(&parts[n++], x0 + 0.12, x1 - 0.12, 0.6 * H, 0.92 * H, AZ(0.15), AZ(0.78), glass, glass);
    box_set(&parts[n++], x0 + 0.14, x1 - 0.14, 0.92 * H, H, AZ(0.2), AZ(0.74), v->rgb, v->rgb);
    break;
  case SG_VAN:
    box_set(&parts[n++], x0 + 0.08, x1 - 0.08, 0, 0.14 * H, AZ(0.03), AZ(0.97), dark, dark);
    box_set(&parts[n++], x0, x1, 0.14 * H, 0.58 * H, AZ(0), AZ(1), v->rgb, v->rgb);
    box_set(&parts[n++], x0 + 0.04, x1 - 0.04, 0.58 * H, 0.8 * H, AZ(0), AZ(0.96), glass, glass);
    box_set(&parts[n++], x0 + 0.04, x1 - 0.04, 0.8 * H, H, AZ(0), AZ(0.93), v->rgb, v->rgb);
    break;
  default: {
    double cab = 2.3 / L;
    sg_box_t cargo, cabs[3];
    box_set(&parts[n++], x0 + 0.15, x1 - 0.15, 0, 0.95, AZ(0.02), AZ(0.98), dark, dark);
    box_set(&cabs[0], x0 + 0.05, x1 - 0.05, 0.35, 1.7, AZ(1 - cab), AZ(1), v->rgb, v->rgb);
    box_set(&cabs[1], x0 + 0.08, x1 - 0.08, 1.7, 2.5, AZ(1 - cab), AZ(0.99), glass, glass);
    box_set(&cabs[2], x0 + 0.08, x1 - 0.08, 2.5, 3.0, AZ(1 - cab), AZ(0.97), v->rgb, v->rgb);
    box_set(&cargo, x0, x1, 0.95, H, AZ(0), AZ(1 - cab - 0.04), v->cargo_rgb, v->cargo_rgb);
    /* painter's order within the truck: the part further from the camera first */
    if (v->dir > 0) {
      memcpy(&parts[n], cabs, sizeof cabs);
      n += 3;
      parts[n++] = cargo;
    } else {
      parts[n++] = cargo;
      memcpy(&parts[n], cabs, sizeof cabs);
      n += 3;
    }
    break;
  }
  }
#undef AZ
  return n;
}

/* Fills a convex polygon (pixels) with a colour; ids gets id. */
static void
fill_poly(sg_render_t *r, const double *u, const double *v, int n, const float *c, guint16 id,
          float *mask)
{
  double ymin = G_MAXDOUBLE, ymax = -G_MAXDOUBLE;
  for (int i = 0; i < n; i++)
    ymin = MIN(ymin, v[i]), ymax = MAX(ymax, v[i]);
  int y0 = MAX(0, (int)ceil(ymin - 0.5)), y1 = MIN(r->h - 1, (int)floor(ymax - 0.5));
  for (int y = y0; y <= y1; y++) {
    double yc = y + 0.5, xl = G_MAXDOUBLE, xr = -G_MAXDOUBLE;
    for (int i = 0; i < n; i++) {
      int j = (i + 1) % n;
      double va = v[i], vb = v[j];
      if ((yc < va && yc < vb) || (yc > va && yc > vb) || va == vb)
        continue;
      double x = u[i] + (yc - va) / (vb - va) * (u[j] - u[i]);
      xl = MIN(xl, x), xr = MAX(xr, x);
    }
    if (xl > xr)
      continue;
    int x0 = MAX(0, (int)ceil(xl - 0.5)), x1 = MIN(r->w - 1, (int)floor(xr - 0.5));
    for (int x = x0; x <= x1; x++) {
      gsize i = (gsize)y * r->w + x;
      /* Either a mask is filled or a colour painted (c NULL then). */
      if (mask != NULL || c == NULL) {
        if (mask != NULL)
          mask[i] = 1.0f;
        continue;
      }
      memcpy(&r->rgb[i * 3], c, 3 * sizeof(float));
      r->ids[i] = id;
    }
  }
}

static void
draw_box(sg_render_t *r, const sg_pose_t *p, const sg_box_t *b, guint16 id)
{
  /* faces: corners as (x, y, z) index bits, shade, top? */
  static const struct {
    int c[4];
    float shade;
    gboolean top;
  } faces[] = {
      {{2, 3, 7, 6}, 1.0f, TRUE},   /* top */
      {{0, 2, 6, 4}, 0.8f, FALSE},  /* left (x0) */
      {{1, 3, 7, 5}, 0.68f, FALSE}, /* right (x1) */
      {{0, 1, 3, 2}, 0.9f, FALSE},  /* near (z0) */
  };
  gboolean visible[4] = {p->h > b->y1, p->x<b->x0, p->x> b->x1, b->z0 > 0};
  for (int f = 0; f < 4; f++) {
    if (!visible[f])
      continue;
    double u[4], v[4];
    gboolean ok = TRUE;
    for (int i = 0; i < 4 && ok; i++) {
      int c = faces[f].c[i];
      ok = sg_project(p, c & 1 ? b->x1 : b->x0, c & 2 ? b->y1 : b->y0, c & 4 ? b->z1 : b->z0, &u[i],
                      &v[i]);
    }
    if (!ok)
      continue;
    const float *base = faces[f].top ? b->top : b->side;
    float col[3];
    for (int i = 0; i < 3; i++)
      col[i] = base[i] * faces[f].shade;
    fill_poly(r, u, v, 4, col, id, NULL);
  }
}

static void
add_static(sg_render_t *r, double x0, double x1, double y0, double y1, double z0, double z1,
           double red, double green, double blue)
{
  static_obj_t o;
  float c[3] = {(float)red, (float)green, (float)blue};
  box_set(&o.box, x0, x1, y0, y1, z0, z1, c, c);
  o.key = hypot(0.5 * (x0 + x1) - r->sc->pose.x, 0.5 * (z0 + z1));
  g_array_append_val(r->statics, o);
}

/* Street furniture: a sign pole on the median the departing lanes pass
 * behind, a sign gantry over the road, lamp posts on the pavement. */
static void
build_statics(sg_render_t *r)
{
  add_static(r, -0.12, 0.12, 0, 7.5, 27.9, 28.1, 0.45, 0.45, 0.47);
  add_static(r, -0.75, 0.75, 3.3, 4.4, 28.1, 28.16, 0.1, 0.25, 0.62);
  add_static(r, -10.9, -10.5, 0, 7.2, 75.0, 75.4, 0.5, 0.5, 0.52);
  add_static(r, 10.5, 10.9, 0, 7.2, 75.0, 75.4, 0.5, 0.5, 0.52);
  add_static(r, -10.9, 10.9, 6.4, 7.1, 75.0, 75.5, 0.55, 0.55, 0.57);
  add_static(r, 0.6, 6.6, 4.9, 6.4, 75.5, 75.6, 0.08, 0.38, 0.2);
  add_static(r, -6.6, -0.6, 4.9, 6.4, 75.5, 75.6, 0.08, 0.38, 0.2);
  for (int i = 0; i < 5; i++) {
    double z = 22.0 + 30.0 * i;
    add_static(r, 11.4, 11.55, 0, 8.0, z, z + 0.15, 0.3, 0.3, 0.32);
    add_static(r, 10.2, 11.55, 7.8, 8.0, z, z + 0.15, 0.3, 0.3, 0.32);
  }
}

/* ---- frame ---- */

typedef struct {
  double key;
  int vehicle; /* -1: a static */
  guint idx;
} paint_t;

static int
paint_cmp(const void *a, const void *b)
{
  const paint_t *pa = a, *pb = b;
  return pa->key < pb->key ? 1 : pa->key > pb->key ? -1 : 0;
}

static void
box_blur_h(const float *in, float *out, int w, int h, int ch, int rad)
{
  for (int y = 0; y < h; y++) {
    for (int c = 0; c < ch; c++) {
      const float *row = in + (gsize)y * w * ch + c;
      float *orow = out + (gsize)y * w * ch + c;
      double acc = 0;
      for (int x = -rad; x <= rad; x++)
        acc += row[CLAMP(x, 0, w - 1) * ch];
      for (int x = 0; x < w; x++) {
        orow[x * ch] = (float)(acc / (2 * rad + 1));
        acc += row[MIN(x + rad + 1, w - 1) * ch] - row[MAX(x - rad, 0) * ch];
      }
    }
  }
}

static void
box_blur_v(const float *in, float *out, int w, int h, int ch, int rad)
{
  for (int x = 0; x < w; x++) {
    for (int c = 0; c < ch; c++) {
      double acc = 0;
      for (int y = -rad; y <= rad; y++)
        acc += in[((gsize)CLAMP(y, 0, h - 1) * w + x) * ch + c];
      for (int y = 0; y < h; y++) {
        out[((gsize)y * w + x) * ch + c] = (float)(acc / (2 * rad + 1));
        acc += in[((gsize)MIN(y + rad + 1, h - 1) * w + x) * ch + c] -
               in[((gsize)MAX(y - rad, 0) * w + x) * ch + c];
      }
    }
  }
}

/* Approximately Gaussian: three box passes each way. */
static void
blur(float *buf, float *tmp, int w, int h, int ch, int rad, int passes)
{
  for (int i = 0; i < passes; i++) {
    box_blur_h(buf, tmp, w, h, ch, rad);
    box_blur_v(tmp, buf, w, h, ch, rad);
  }
}

static double
ramp(double t, double t0, double t1, double rise)
{
  if (t0 < 0 || t < t0 - rise || t > t1 + rise)
    return 0;
  if (t < t0)
    return (t - (t0 - rise)) / rise;
  if (t > t1)
    return 1 - (t - t1) / rise;
  return 1;
}

static void
pose_at(const sg_scene_t *sc, double t, sg_pose_t *p)
{
  *p = sc->pose;
  if (sc->reaim_t < 0 || t <= sc->reaim_t)
    return;
  /* the camera swings over 0.6 s, then stays */
  double a = CLAMP((t - sc->reaim_t) / 0.6, 0.0, 1.0);
  a = a * a * (3 - 2 * a);
  const sg_pose_t *q = &sc->pose_reaim;
  p->x += (q->x - p->x) * a;
  p->yaw += (q->yaw - p->yaw) * a;
  p->pitch += (q->pitch - p->pitch) * a;
  p->roll += (q->roll - p->roll) * a;
  p->f += (q->f - p->f) * a;
}

static gboolean
in_zone(const sg_render_t *r, double u, double v)
{
  int x = (int)u, y = (int)v;
  return x >= 0 && y >= 0 && x < r->w && y < r->h && r->zone[(gsize)y * r->w + x];
}

static void
measure(sg_render_t *r, int k, double *occupancy, double *speed)
{
  guint covered = 0;
  for (gsize i = 0; i < (gsize)r->w * r->h; i++)
    if (r->zone[i] && r->ids[i] != 0 && r->ids[i] != 0xffff)
      covered++;
  *occupancy = r->zone_px ? (double)covered / r->zone_px : 0;
  double sum = 0;
  int n = 0;
  for (guint i = 0; k > 0 && i < r->tr->vehicles->len; i++) {
    sg_vehicle_t *v = r->tr->vehicles->pdata[i];
    if (v->rejected || !v->st[k].present || !v->st[k - 1].present)
      continue;
    double u0, v0, u1, v1;
    if (!sg_vehicle_ground_point(v, &v->st[k], &r->sc->pose, &u1, &v1) ||
        !sg_vehicle_ground_point(v, &v->st[k - 1], &r->sc->pose, &u0, &v0) || !in_zone(r, u1, v1))
      continue;
    sum += hypot((u1 - u0) / r->w, (v1 - v0) / r->h) * r->sc->fps;
    n++;
  }
  *speed = n ? sum / n : -1;
}

static void
plot_line(sg_render_t *r, double x0, double y0, double x1, double y1, const float *c)
{
  int n = (int)ceil(MAX(fabs(x1 - x0), fabs(y1 - y0))) + 1;
  for (int i = 0; i <= n; i++) {
    int x = (int)lround(x0 + (x1 - x0) * i / n), y = (int)lround(y0 + (y1 - y0) * i / n);
    if (x >= 0 && y >= 0 && x < r->w && y < r->h)
      memcpy(&r->rgb[((gsize)y * r->w + x) * 3], c, 3 * sizeof(float));
  }
}

/* For checking the truth by eye: the counting lines in white, each
 * vehicle's image box in green with its ground point in red. */
static void
draw_overlay(sg_render_t *r, int k, const sg_pose_t *pose)
{
  static const float white[3] = {1, 1, 1}, green[3] = {0.1f, 1, 0.1f}, red[3] = {1, 0.1f, 0.1f};
  for (guint i = 0; i < r->tr->lines->len; i++) {
    const sg_line_t *l = &g_array_index(r->tr->lines, sg_line_t, i);
    plot_line(r, l->fx0 * r->w, l->fy0 * r->h, l->fx1 * r->w, l->fy1 * r->h, white);
  }
  for (guint i = 0; i < r->tr->vehicles->len; i++) {
    sg_vehicle_t *v = r->tr->vehicles->pdata[i];
    double u0, v0, u1, v1;
    if (v->rejected || !v->st[k].present ||
        !sg_vehicle_bbox(v, &v->st[k], pose, &u0, &v0, &u1, &v1))
      continue;
    plot_line(r, u0, v0, u1, v0, green);
    plot_line(r, u1, v0, u1, v1, green);
    plot_line(r, u1, v1, u0, v1, green);
    plot_line(r, u0, v1, u0, v0, green);
    double gx = 0.5 * (u0 + u1);
    plot_line(r, gx - 2, v1, gx + 2, v1, red);
    plot_line(r, gx, v1 - 2, gx, v1 + 2, red);
  }
}

static void
shake(sg_render_t *r, double t)
{
  double a = r->sc->shake_px;
  if (a <= 0)
    return;
  double dx = a * (0.6 * sin(2 * G_PI * 1.3 * t + r->shake_ph[0]) +
                   0.4 * sin(2 * G_PI * 3.1 * t + r->shake_ph[1]));
  double dy = a * (0.6 * sin(2 * G_PI * 1.1 * t + r->shake_ph[2]) +
                   0.4 * sin(2 * G_PI * 2.7 * t + r->shake_ph[3]));
  int ix = (int)floor(dx), iy = (int)floor(dy);
  float fx = (float)(dx - ix), fy = (float)(dy - iy);
  for (int y = 0; y < r->h; y++) {
    int sy0 = CLAMP(y + iy, 0, r->h - 1), sy1 = CLAMP(y + iy + 1, 0, r->h - 1);
    for (int x = 0; x < r->w; x++) {
      int sx0 = CLAMP(x + ix, 0, r->w - 1), sx1 = CLAMP(x + ix + 1, 0, r->w - 1);
      for (int c = 0; c < 3; c++) {
        float a00 = r->rgb[((gsize)sy0 * r->w + sx0) * 3 + c];
        float a01 = r->rgb[((gsize)sy0 * r->w + sx1) * 3 + c];
        float a10 = r->rgb[((gsize)sy1 * r->w + sx0) * 3 + c];
        float a11 = r->rgb[((gsize)sy1 * r->w + sx1) * 3 + c];
        r->tmp[((gsize)y * r->w + x) * 3 + c] =
            (a00 * (1 - fx) + a01 * fx) * (1 - fy) + (a10 * (1 - fx) + a11 * fx) * fy;
      }
    }
  }
  memcpy(r->rgb, r->tmp, sizeof(float) * 3 * (gsize)r->w * r->h);
}

static guint8
clip8(double x)
{
  return (guint8)CLAMP(lround(x), 1, 254);
}

/* RGB (0..1, times gain) to I420, BT.601 limited range, with sensor noise. */
static void
to_i420(sg_render_t *r, double gain, int k, guint8 *out)
{
  int w = r->w, h = r->h;
  guint8 *Y = out, *U = out + (gsize)w * h, *V = U + (gsize)(w / 2) * (h / 2);
  sg_rng_t rng;
  sg_rng_init(&rng, r->sc->rng_seed, 1000 + (guint64)k);
  const double sigma_y = 3.0, sigma_c = 1.5;
  for (int y = 0; y < h; y++) {
    for (int x = 0; x < w; x++) {
      const float *c = &r->rgb[((gsize)y * w + x) * 3];
      double R = c[0] * gain, G = c[1] * gain, B = c[2] * gain;
      double n = r->gauss[sg_rng_u32(&rng) & (NOISE_TABLE - 1)];
      Y[(gsize)y * w + x] = clip8(16 + 65.481 * R + 128.553 * G + 24.966 * B + sigma_y * n);
    }
  }
  for (int y = 0; y < h / 2; y++) {
    for (int x = 0; x < w / 2; x++) {
      double R = 0, G = 0, B = 0;
      for (int dy = 0; dy < 2; dy++)
        for (int dx = 0; dx < 2; dx++) {
          const float *c = &r->rgb[((gsize)(2 * y + dy) * w + 2 * x + dx) * 3];
          R += c[0], G += c[1], B += c[2];
        }
      R *= gain / 4, G *= gain / 4, B *= gain / 4;
      double nu = r->gauss[sg_rng_u32(&rng) & (NOISE_TABLE - 1)];
      double nv = r->gauss[sg_rng_u32(&rng) & (NOISE_TABLE - 1)];
      U[(gsize)y * (w / 2) + x] = clip8(128 - 37.797 * R - 74.203 * G + 112.0 * B + sigma_c * nu);
      V[(gsize)y * (w / 2) + x] = clip8(128 + 112.0 * R - 93.786 * G - 18.214 * B + sigma_c * nv);
    }
  }
}

void
sg_render_frame(sg_render_t *r, int k, guint8 *i420, double *occupancy, double *speed)
{
  sg_scene_t *sc = r->sc;
  double t = k / sc->fps;
  gsize npx = (gsize)r->w * r->h, frame_bytes = npx * 3 / 2;
  sg_pose_t pose;
  pose_at(sc, t, &pose);
  if (!r->bg_valid || memcmp(&pose, &r->bg_pose, sizeof pose) != 0) {
    sg_background_render(&pose, r->w, r->h, r->bg);
    r->bg_pose = pose;
    r->bg_valid = TRUE;
  }
  memcpy(r->rgb, r->bg, sizeof(float) * 3 * npx);
  memset(r->ids, 0, sizeof(guint16) * npx);

  /* soft shadows under and behind each vehicle */
  memset(r->shadow, 0, sizeof(float) * npx);
  GArray *paint = g_array_new(FALSE, FALSE, sizeof(paint_t));
  for (guint i = 0; i < r->tr->vehicles->len; i++) {
    sg_vehicle_t *v = r->tr->vehicles->pdata[i];
    const sg_state_t *s = &v->st[k];
    if (v->rejected || !s->present)
      continue;
    double xs[4] = {s->x - v->width / 2 - 0.1, s->x + v->width / 2 + 0.35,
                    s->x + v->width / 2 + 0.35, s->x - v->width / 2 - 0.1};
    double zs[4] = {s->z - v->length / 2 + 0.3, s->z - v->length / 2 + 0.3,
                    s->z + v->length / 2 + 1.0, s->z + v->length / 2 + 1.0};
    double u[4], w[4];
    gboolean ok = TRUE;
    for (int c = 0; c < 4 && ok; c++)
      ok = sg_project(&pose, xs[c], 0, zs[c], &u[c], &w[c]);
    if (ok)
      fill_poly(r, u, w, 4, NULL, 0, r->shadow);
    paint_t pt = {hypot(s->x - sc->pose.x, s->z), (int)i, 0};
    g_array_append_val(paint, pt);
  }
  int srad = MAX(1, r->w / 400);
  blur(r->shadow, r->shadow_tmp, r->w, r->h, 1, srad, 2);
  for (gsize i = 0; i < npx; i++) {
    float m = 1.0f - 0.5f * r->shadow[i];
    r->rgb[i * 3] *= m, r->rgb[i * 3 + 1] *= m, r->rgb[i * 3 + 2] *= m;
  }

  for (guint i = 0; i < r->statics->len; i++) {
    paint_t pt = {g_array_index(r->statics, static_obj_t, i).key, -1, i};
    g_array_append_val(paint, pt);
  }
  g_array_sort(paint, paint_cmp);
  for (guint i = 0; i < paint->len; i++) {
    paint_t *pt = &g_array_index(paint, paint_t, i);
    if (pt->vehicle < 0) {
      draw_box(r, &pose, &g_array_index(r->statics, static_obj_t, pt->idx).box, 0xffff);
      continue;
    }
    sg_vehicle_t *v = r->tr->vehicles->pdata[pt->vehicle];
    sg_box_t parts[SG_MAX_PARTS];
    int n = sg_vehicle_parts(v, &v->st[k], parts);
    for (int j = 0; j < n; j++)
      draw_box(r, &pose, &parts[j], (guint16)(pt->vehicle + 1));
  }
  g_array_free(paint, TRUE);
  measure(r, k, occupancy, speed);
  if (r->overlay)
    draw_overlay(r, k, &pose);

  /* the optics: defocus, then a hand over the lens */
  double b = ramp(t, sc->blur_t0 + 0.5, sc->blur_t1 - 0.5, 1.0);
  int brad = (int)lround(b * 6.0 * r->w / 640.0);
  if (brad > 0)
    blur(r->rgb, r->tmp, r->w, r->h, 3, brad, 3);
  double cov = ramp(t, sc->cover_t0 + 0.25, sc->cover_t1 - 0.25, 0.5);
  if (cov > 0)
    for (gsize i = 0; i < npx * 3; i++)
      r->rgb[i] += (float)((r->cover[i] - r->rgb[i]) * cov);
  shake(r, t);

  double gain = 1.0;
  if (sc->light_t0 >= 0)
    gain +=
        (sc->gain_end - 1.0) * CLAMP((t - sc->light_t0) / (sc->light_t1 - sc->light_t0), 0.0, 1.0);
  to_i420(r, gain, k, i420);

  if (sc->black_t0 >= 0 && t >= sc->black_t0 && t < sc->black_t1) {
    memset(i420, 16, npx);
    memset(i420 + npx, 128, frame_bytes - npx);
  }
  if (sc->freeze_t0 >= 0 && t >= sc->freeze_t0 && t < sc->freeze_t1) {
    if (r->frozen == NULL)
      r->frozen = g_memdup2(i420, frame_bytes);
    else
      memcpy(i420, r->frozen, frame_bytes);
  }
}

void
sg_render_set_zone(sg_render_t *r, const double *xy, int n)
{
  r->zone_px = 0;
  for (int y = 0; y < r->h; y++) {
    for (int x = 0; x < r->w; x++) {
      double px = (x + 0.5) / r->w, py = (y + 0.5) / r->h;
      gboolean in = FALSE;
      for (int i = 0, j = n - 1; i < n; j = i++) {
        double xi = xy[2 * i], yi = xy[2 * i + 1], xj = xy[2 * j], yj = xy[2 * j + 1];
        if ((yi > py) != (yj > py) && px < (xj - xi) * (py - yi) / (yj - yi) + xi)
          in = !in;
      }
      r->zone[(gsize)y * r->w + x] = (guint8)in;
      r->zone_px += in;
    }
  }
}

sg_render_t *
sg_render_new(sg_scene_t *sc, sg_traffic_t *tr)
{
  sg_render_t *r = g_new0(sg_render_t, 1);
  r->sc = sc;
  r->tr = tr;
  r->w = sc->width;
  r->h = sc->height;
  gsize npx = (gsize)r->w * r->h;
  r->bg = g_new(float, npx * 3);
  r->rgb = g_new(float, npx * 3);
  r->tmp = g_new(float, npx * 3);
  r->shadow = g_new(float, npx);
  r->shadow_tmp = g_new(float, npx);
  r->ids = g_new(guint16, npx);
  r->zone = g_new0(guint8, npx);
  r->cover = g_new(float, npx * 3);
  r->statics = g_array_new(FALSE, FALSE, sizeof(static_obj_t));
  r->overlay = g_getenv("SCENEGEN_OVERLAY") != NULL;
  build_statics(r);

  sg_rng_t rng;
  sg_rng_init(&rng, sc->rng_seed, 300);
  for (int i = 0; i < NOISE_TABLE; i += 2) {
    double u1 = MAX(sg_rng_uniform(&rng), 1e-12), u2 = sg_rng_uniform(&rng);
    double m = sqrt(-2 * log(u1));
    r->gauss[i] = (float)(m * cos(2 * G_PI * u2));
    r->gauss[i + 1] = (float)(m * sin(2 * G_PI * u2));
  }
  for (int i = 0; i < 4; i++)
    r->shake_ph[i] = 2 * G_PI * sg_rng_uniform(&rng);
  /* the covering hand or cloth: dark, a little light leaking at one side */
  double sx = 640.0 / r->w;
  for (int y = 0; y < r->h; y++) {
    for (int x = 0; x < r->w; x++) {
      double n = sg_vnoise(x * sx / 40.0, y * sx / 40.0, 12) * 0.7 +
                 sg_vnoise(x * sx / 9.0, y * sx / 9.0, 13) * 0.3;
      double leak = 0.015 * CLAMP(1.0 - (double)x / (0.3 * r->w), 0.0, 1.0);
      double l = 0.02 + 0.012 * n + leak;
      float *c = &r->cover[((gsize)y * r->w + x) * 3];
      set3(c, l * 1.2, l, l * 0.85);
    }
  }
  return r;
}

void
sg_render_free(sg_render_t *r)
{
  if (r == NULL)
    return;
  g_free(r->bg);
  g_free(r->rgb);
  g_free(r->tmp);
  g_free(r->shadow);
  g_free(r->shadow_tmp);
  g_free(r->ids);
  g_free(r->zone);
  g_free(r->cover);
  g_free(r->frozen);
  g_array_free(r->statics, TRUE);
  g_free(r);
}
