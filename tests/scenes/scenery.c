/* scenery.c: the camera (projection and its inverse) and the still
 * scenery, ray-cast per pixel: textured asphalt with lane markings,
 * shoulders, kerbs, pavement and verge, building facades with windows and
 * shop fronts, trees in the gaps, sky, distance haze. */
#include "scenegen.h"

#include <math.h>
#include <string.h>

/* ---- camera ---- */

void
sg_pose_default(sg_pose_t *p, int width, int height)
{
  memset(p, 0, sizeof *p);
  p->x = -4.0;
  p->h = 10.0;
  p->f = 0.85 * width;
  p->cx = 0.5 * width;
  p->cy = 0.5 * height;
  p->yaw = atan2(4.5, 60.0);
  double horizon = 0.12 * height;
  p->pitch = atan((p->cy - horizon) / p->f);
}

gboolean
sg_project(const sg_pose_t *p, double X, double Y, double Z, double *u, double *v)
{
  double dx = X - p->x, dy = Y - p->h, dz = Z;
  double cyw = cos(p->yaw), syw = sin(p->yaw), cp = cos(p->pitch), sp = sin(p->pitch);
  double x1 = dx * cyw - dz * syw, z1 = dx * syw + dz * cyw, y1 = dy;
  double zc = -y1 * sp + z1 * cp;
  double yc = -(y1 * cp + z1 * sp);
  if (zc < 0.2)
    return FALSE;
  double cr = cos(p->roll), sr = sin(p->roll);
  double xr = x1 * cr - yc * sr, yr = x1 * sr + yc * cr;
  *u = p->cx + p->f * xr / zc;
  *v = p->cy + p->f * yr / zc;
  return TRUE;
}

/* The world direction of the ray through pixel (u, v). */
static void
pixel_ray(const sg_pose_t *p, double u, double v, double d[3])
{
  double xr = (u - p->cx) / p->f, yr = (v - p->cy) / p->f;
  double cr = cos(p->roll), sr = sin(p->roll);
  double xc = xr * cr + yr * sr, yc = -xr * sr + yr * cr;
  double uc = -yc;
  double cp = cos(p->pitch), sp = sin(p->pitch);
  double y1 = uc * cp - sp, z1 = uc * sp + cp, x1 = xc;
  double cyw = cos(p->yaw), syw = sin(p->yaw);
  d[0] = x1 * cyw + z1 * syw;
  d[1] = y1;
  d[2] = -x1 * syw + z1 * cyw;
}

/* ---- procedural textures ---- */

static double
hash2(int x, int y, int salt)
{
  guint32 h = (guint32)x * 374761393u + (guint32)y * 668265263u + (guint32)salt * 2246822519u;
  h = (h ^ (h >> 13)) * 1274126177u;
  h ^= h >> 16;
  return (h & 0xffffff) / 16777216.0;
}

double
sg_vnoise(double x, double y, int salt)
{
  int ix = (int)floor(x), iy = (int)floor(y);
  double fx = x - ix, fy = y - iy;
  fx = fx * fx * (3 - 2 * fx);
  fy = fy * fy * (3 - 2 * fy);
  double a = hash2(ix, iy, salt), b = hash2(ix + 1, iy, salt);
  double c = hash2(ix, iy + 1, salt), d = hash2(ix + 1, iy + 1, salt);
  return (a + (b - a) * fx) + ((c + (d - c) * fx) - (a + (b - a) * fx)) * fy;
}

static void
set3(float *c, double r, double g, double b)
{
  c[0] = (float)r, c[1] = (float)g, c[2] = (float)b;
}

static void
ground_colour(double X, double Z, float *c)
{
  double ax = fabs(X);
  double grain =
      0.06 * (sg_vnoise(X * 4, Z * 4, 1) - 0.5) + 0.07 * (sg_vnoise(X * 0.4, Z * 0.25, 2) - 0.5);
  if (ax < SG_ROAD_EDGE) {
    double base = ax < SG_LANES_EDGE ? 0.36 : 0.41;
    set3(c, base + grain, base + grain, base + 0.01 + grain);
    /* lane markings: dashed between lanes, solid at the edge, double centre line */
    double dz = fmod(Z + 1000.0, 12.0);
    if (fabs(ax - SG_LANE_W) < 0.08 && dz < 4.0)
      set3(c, 0.82 + grain, 0.82 + grain, 0.8 + grain);
    if (fabs(ax - SG_LANES_EDGE) < 0.1)
      set3(c, 0.84 + grain, 0.84 + grain, 0.82 + grain);
    if (ax > 0.08 && ax < 0.22)
      set3(c, 0.85 + grain, 0.7 + grain, 0.2);
    /* hatching at the head of the right shoulder */
    return;
  }
  if (ax < SG_ROAD_EDGE + 0.3) {
    set3(c, 0.68 + grain, 0.68 + grain, 0.66 + grain);
    return;
  }
  if (X > 0) {
    /* pavement, 1 m slabs */
    double fx = fmod(X, 1.0), fz = fmod(Z + 1000.0, 1.0);
    double joint = (fx < 0.04 || fz < 0.04) ? -0.1 : 0;
    double slab = 0.06 * (hash2((int)X, (int)(Z + 1000), 3) - 0.5);
    set3(c, 0.6 + slab + joint + grain, 0.58 + slab + joint + grain, 0.55 + slab + joint + grain);
    return;
  }
  double g =
      0.1 * (sg_vnoise(X * 2, Z * 2, 4) - 0.5) + 0.08 * (sg_vnoise(X * 0.3, Z * 0.3, 5) - 0.5);
  set3(c, 0.24 + g, 0.38 + g * 1.3, 0.16 + g);
}

/* A facade at X = side*SG_FACADE_X, hit at (Y, Z); FALSE above its roof. */
static gboolean
facade_colour(int side, double Y, double Z, float *c)
{
  int block = (int)floor((Z + 1000.0) / 18.0);
  double hb = hash2(block, side, 7);
  double height = hb < 0.15 ? 5.0 : 8.0 + 16.0 * hash2(block, side, 8);
  if (Y < 0 || Y > height)
    return FALSE;
  if (hb < 0.15) { /* a gap between buildings: trees */
    double g = sg_vnoise(Z * 1.5, Y * 1.5, 9 + side);
    set3(c, 0.12 + 0.12 * g, 0.25 + 0.15 * g, 0.1 + 0.08 * g);
    return TRUE;
  }
  static const float walls[][3] = {{0.58f, 0.33f, 0.25f},
                                   {0.76f, 0.71f, 0.6f},
                                   {0.52f, 0.53f, 0.55f},
                                   {0.83f, 0.82f, 0.78f},
                                   {0.66f, 0.55f, 0.4f}};
  const float *w = walls[(int)(hash2(block, side, 10) * 5) % 5];
  double local = fmod(Z + 1000.0, 18.0);
  if (local < 0.4) { /* the joint between two buildings */
    set3(c, w[0] * 0.6, w[1] * 0.6, w[2] * 0.6);
    return TRUE;
  }
  double wz = fmod(local, 2.6), wy = fmod(Y, 3.2);
  if (Y < 3.4) {
    /* shop fronts */
    if (wz > 0.3 && Y > 0.4 && Y < 2.8)
      set3(c, 0.16, 0.2, 0.24);
    else
      set3(c, w[0] * 0.8, w[1] * 0.8, w[2] * 0.8);
  } else if (wz > 0.8 && wz < 2.0 && wy > 1.0 && wy < 2.5 && Y < height - 0.8) {
    double lit = hash2((int)(local / 2.6) + block * 13, (int)(Y / 3.2), 11);
    set3(c, 0.18 + 0.25 * lit, 0.22 + 0.22 * lit, 0.28 + 0.12 * lit);
  } else {
    set3(c, w[0], w[1], w[2]);
  }
  return TRUE;
}

static void
sky_colour(const double d[3], float *c)
{
  double el = d[1] / sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
  double a = CLAMP(el * 3.0, 0.0, 1.0);
  set3(c, 0.78 - 0.2 * a, 0.83 - 0.14 * a, 0.9 - 0.05 * a);
}

void
sg_background_render(const sg_pose_t *p, int w, int h, float *rgb)
{
  for (int y = 0; y < h; y++) {
    for (int x = 0; x < w; x++) {
      double d[3];
      pixel_ray(p, x + 0.5, y + 0.5, d);
      float *c = &rgb[((gsize)y * w + x) * 3];
      double best = G_MAXDOUBLE;
      float col[3];
      sky_colour(d, c);
      float sky[3] = {c[0], c[1], c[2]};
      if (d[1] < 0) {
        double t = p->h / -d[1];
        double X = p->x + t * d[0], Z = t * d[2];
        if (Z > 0 && fabs(X) < SG_FACADE_X + 0.01) {
          ground_colour(X, Z, col);
          memcpy(c, col, sizeof col);
          best = t;
        }
      }
      for (int side = -1; side <= 1; side += 2) {
        if (d[0] * side <= 0)
          continue;
        double t = (side * SG_FACADE_X - p->x) / d[0];
        double Y = p->h + t * d[1], Z = t * d[2];
        if (Z > 0 && t < best && facade_colour(side, Y, Z, col)) {
          memcpy(c, col, sizeof col);
          best = t;
        }
      }
      if (best < G_MAXDOUBLE) {
        double haze = 1.0 - exp(-best / 450.0);
        for (int i = 0; i < 3; i++)
          c[i] += (float)((sky[i] - c[i]) * haze);
      }
    }
  }
}
