#include "timeutil.h"

#include <errno.h>

int
cw_time_parse(const char *text, gint64 *us, cw_error_t *err)
{
  if (!text || !*text)
    return cw_error_set(err, -EINVAL,
                        "empty time; expected ISO 8601 with a zone, "
                        "e.g. 2026-11-29T14:00:00Z");
  /* With no default zone GLib refuses a time that names none. */
  GDateTime *t = g_date_time_new_from_iso8601(text, NULL);
  if (!t)
    return cw_error_set(err, -EINVAL,
                        "'%s' is not an ISO 8601 date-time with a zone "
                        "(e.g. 2026-11-29T14:00:00Z or 2026-11-29T15:00:00+01:00)",
                        text);
  *us = g_date_time_to_unix(t) * G_USEC_PER_SEC + g_date_time_get_microsecond(t);
  g_date_time_unref(t);
  return 0;
}

char *
cw_time_format(gint64 us)
{
  gint64 s = us / G_USEC_PER_SEC, frac = us % G_USEC_PER_SEC;
  if (frac < 0) {
    frac += G_USEC_PER_SEC;
    s--;
  }
  GDateTime *t = g_date_time_new_from_unix_utc(s);
  if (!t)
    return g_strdup("invalid-time");
  char *base = g_date_time_format(t, "%Y-%m-%dT%H:%M:%S");
  g_date_time_unref(t);
  char *out = g_strdup_printf("%s.%06" G_GINT64_FORMAT "Z", base, frac);
  g_free(base);
  return out;
}
