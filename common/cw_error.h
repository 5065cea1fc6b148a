/* cw_error_t: the words a failing call leaves for a human.
 *
 * Functions that can fail return 0 or a negative errno-style code and, when
 * given a non-NULL cw_error_t, fill it with one line naming what was wrong
 * and where (file:line: field: reason). Never put a secret in it. */
#ifndef CW_ERROR_H
#define CW_ERROR_H

#include <glib.h>

#define CW_ERROR_MAX 1024

typedef struct {
  int code;               /* negative errno-style, 0 when unset */
  char msg[CW_ERROR_MAX]; /* NUL-terminated, may be truncated */
} cw_error_t;

/* Fills err (if not NULL) and returns code, so callers can write
 * `return cw_error_set(err, -EINVAL, "...")`. Thread-safe (no globals). */
int cw_error_set(cw_error_t *err, int code, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

/* Prepends "prefix: " to an existing message (e.g. a file name). */
void cw_error_prefix(cw_error_t *err, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* Outside text made safe to quote in a message: control characters (a
 * newline that would forge another message line, a terminal escape) and
 * backslashes written as C escapes; printable UTF-8 kept. A new string. */
char *cw_error_quote(const char *text);

#endif
