/* Wall-clock times as citywatch shows and reads them: µs since the Unix
 * epoch inside, ISO 8601 with a zone outside (what investigators type and
 * what PostgreSQL and JSON carry). */
#ifndef CW_TIMEUTIL_H
#define CW_TIMEUTIL_H

#include <glib.h>

#include "cw_error.h"

/* Parses an ISO 8601 date-time that names its zone ("Z" or "+01:00");
 * one without a zone is refused, since an investigator's "14:00" means
 * nothing without one. err says what was wrong with text. */
int cw_time_parse(const char *text, gint64 *us, cw_error_t *err);

/* "2026-11-29T06:37:00.123456Z" (UTC, microseconds); a new string. */
char *cw_time_format(gint64 us);

#endif
