#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static gint current_level = CW_LOG_INFO;
static GMutex log_mutex;

static const char *const level_names[] = {"error", "warning", "info", "debug"};

void
cw_log_set_level(cw_log_level_t level)
{
  g_atomic_int_set(&current_level, (gint)level);
}

int
cw_log_level_parse(const char *text, cw_log_level_t *out)
{
  for (guint i = 0; i < G_N_ELEMENTS(level_names); i++) {
    if (g_ascii_strcasecmp(text, level_names[i]) == 0) {
      *out = (cw_log_level_t)i;
      return 0;
    }
  }
  return -EINVAL;
}

void
cw_log(cw_log_level_t level, const char *module, const char *fmt, ...)
{
  if ((gint)level > g_atomic_int_get(&current_level))
    return;
  va_list ap;
  va_start(ap, fmt);
  char *body = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  GDateTime *now = g_date_time_new_now_utc();
  char *stamp = g_date_time_format_iso8601(now);
  /* One fprintf under a mutex so lines from worker threads never interleave. */
  g_mutex_lock(&log_mutex);
  fprintf(stderr, "%s %s %s: %s\n", stamp, level_names[level], module, body);
  fflush(stderr);
  g_mutex_unlock(&log_mutex);
  g_free(stamp);
  g_date_time_unref(now);
  g_free(body);
}
