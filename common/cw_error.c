#include "cw_error.h"

#include <stdarg.h>
#include <stdio.h>

int
cw_error_set(cw_error_t *err, int code, const char *fmt, ...)
{
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    err->code = code;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
  }
  return code;
}

void
cw_error_prefix(cw_error_t *err, const char *fmt, ...)
{
  if (!err)
    return;
  char prefix[CW_ERROR_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  /* g_strdup_printf then copy: the message is cut at CW_ERROR_MAX on purpose. */
  char *joined = g_strdup_printf("%s: %s", prefix, err->msg);
  g_strlcpy(err->msg, joined, sizeof err->msg);
  g_free(joined);
}

char *
cw_error_quote(const char *text)
{
  /* g_strescape keeps what is listed in its exceptions: every byte from
   * 0x80 up (UTF-8) and the double quote. */
  char keep[130];
  int n = 0;
  keep[n++] = '"';
  for (int c = 0x80; c <= 0xff; c++)
    keep[n++] = (char)c;
  keep[n] = '\0';
  return g_strescape(text ? text : "", keep);
}
