#include "segment.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void
cw_segment_info_clear(cw_segment_info_t *s)
{
  if (!s)
    return;
  g_free(s->path);
  memset(s, 0, sizeof *s);
}

void
cw_segment_info_free(gpointer p)
{
  cw_segment_info_t *s = p;
  if (!s)
    return;
  cw_segment_info_clear(s);
  g_free(s);
}

cw_segment_info_t *
cw_segment_info_copy(const cw_segment_info_t *s)
{
  cw_segment_info_t *c = g_new(cw_segment_info_t, 1);
  *c = *s;
  c->path = g_strdup(s->path);
  return c;
}

const char *
cw_codec_name(cw_codec_t codec)
{
  switch (codec) {
  case CW_CODEC_H264:
    return "h264";
  case CW_CODEC_H265:
    return "h265";
  default:
    return NULL;
  }
}

int
cw_codec_from_name(const char *name, cw_codec_t *codec)
{
  if (name && g_ascii_strcasecmp(name, "h264") == 0)
    *codec = CW_CODEC_H264;
  else if (name && (g_ascii_strcasecmp(name, "h265") == 0 || g_ascii_strcasecmp(name, "hevc") == 0))
    *codec = CW_CODEC_H265;
  else
    return -EINVAL;
  return 0;
}

char *
cw_segment_relpath(gint64 camera_id, gint64 start_us)
{
  GDateTime *t = g_date_time_new_from_unix_utc(start_us / G_USEC_PER_SEC);
  char *day = g_date_time_format(t, "%Y-%m-%d");
  char *hour = g_date_time_format(t, "%H");
  char *stamp = g_date_time_format(t, "%Y%m%dT%H%M%S");
  g_date_time_unref(t);
  char *out =
      g_strdup_printf("%" G_GINT64_FORMAT "/%s/%s/%" G_GINT64_FORMAT "-%s.%03dZ.mp4", camera_id,
                      day, hour, camera_id, stamp, (int)((start_us % G_USEC_PER_SEC) / 1000));
  g_free(day);
  g_free(hour);
  g_free(stamp);
  return out;
}

int
cw_segment_relpath_parse(const char *relpath, gint64 *camera_id, gint64 *start_us)
{
  const char *base = strrchr(relpath, '/');
  base = base ? base + 1 : relpath;
  gint64 cam;
  int y, mo, d, h, mi, s, ms, used = 0;
  if (sscanf(base, "%" G_GINT64_FORMAT "-%4d%2d%2dT%2d%2d%2d.%3dZ.mp4%n", &cam, &y, &mo, &d, &h,
             &mi, &s, &ms, &used) != 8 ||
      used == 0 || cam <= 0)
    return -EINVAL;
  const char *rest = base + used;
  if (*rest && strcmp(rest, ".part") != 0)
    return -EINVAL;
  GDateTime *t = g_date_time_new_utc(y, mo, d, h, mi, s);
  if (!t)
    return -EINVAL;
  *camera_id = cam;
  *start_us = g_date_time_to_unix(t) * G_USEC_PER_SEC + (gint64)ms * 1000;
  g_date_time_unref(t);
  /* The name must be the one cw_segment_relpath would give, so a stray file
   * is never taken for footage. */
  char *again = cw_segment_relpath(*camera_id, *start_us);
  const char *again_base = strrchr(again, '/') + 1;
  gboolean same = strncmp(again_base, base, strlen(again_base)) == 0;
  g_free(again);
  return same ? 0 : -EINVAL;
}

int
cw_quota_parse(const char *text, gint64 *bytes, double *percent, cw_error_t *err)
{
  *bytes = 0;
  *percent = 0;
  const char *want = "expected 0, a size such as 500G, or a percentage such as 90%";
  if (!text || !*text)
    return cw_error_set(err, -EINVAL, "quota: empty; %s", want);
  char *end = NULL;
  errno = 0;
  double v = g_ascii_strtod(text, &end);
  if (end == text || errno || !(v >= 0))
    return cw_error_set(err, -EINVAL, "quota: '%s' is not a number; %s", text, want);
  if (strcmp(end, "%") == 0) {
    if (v <= 0 || v > 100)
      return cw_error_set(err, -EINVAL, "quota: '%s' is not a percentage in (0, 100]", text);
    *percent = v;
    return 0;
  }
  static const char units[] = "KMGT";
  double scale = 1;
  if (*end) {
    const char *u = strchr(units, g_ascii_toupper(*end));
    if (!u || end[1] != '\0')
      return cw_error_set(err, -EINVAL, "quota: unknown suffix in '%s'; %s", text, want);
    for (const char *p = units; p <= u; p++)
      scale *= 1024;
  }
  double b = v * scale;
  if (b > (double)G_MAXINT64 / 2)
    return cw_error_set(err, -EINVAL, "quota: '%s' is too large", text);
  if (b > 0 && b < 1024 * 1024)
    return cw_error_set(err, -EINVAL, "quota: '%s' is below 1M; %s", text, want);
  *bytes = (gint64)b;
  return 0;
}
