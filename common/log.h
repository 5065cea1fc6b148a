/* Logging: one line per call to stderr, "TIME LEVEL module: message".
 *
 * Callers pass redacted text only: URLs through cw_rtsp_url_redact(), never a
 * password, key or session token. Any thread may call; lines never interleave. */
#ifndef CW_LOG_H
#define CW_LOG_H

#include <glib.h>

typedef enum {
  CW_LOG_ERROR = 0,
  CW_LOG_WARN = 1,
  CW_LOG_INFO = 2,
  CW_LOG_DEBUG = 3,
} cw_log_level_t;

void cw_log_set_level(cw_log_level_t level);
/* Parses "error", "warning", "info", "debug"; returns -EINVAL otherwise. */
int cw_log_level_parse(const char *text, cw_log_level_t *out);
void cw_log(cw_log_level_t level, const char *module, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

#define cw_log_error(mod, ...) cw_log(CW_LOG_ERROR, mod, __VA_ARGS__)
#define cw_log_warn(mod, ...) cw_log(CW_LOG_WARN, mod, __VA_ARGS__)
#define cw_log_info(mod, ...) cw_log(CW_LOG_INFO, mod, __VA_ARGS__)
#define cw_log_debug(mod, ...) cw_log(CW_LOG_DEBUG, mod, __VA_ARGS__)

#endif
