/* Configuration: one GKeyFile INI file; every key optional with a default.
 *
 * The schema (section, key, type, default, allowed range) is one table in
 * config.c and is mirrored, key by key, in deploy/citywatch.conf.example (a
 * test checks the two agree). An unknown section or key, or a value of the
 * wrong type or out of range, is an error naming the file, the line, the
 * section and the key: "FILE:LINE: [section] key: reason".
 *
 * A loaded cw_config_t is read-only and may be shared between threads. */
#ifndef CW_CONFIG_H
#define CW_CONFIG_H

#include <glib.h>

#include "cw_error.h"

typedef struct cw_config cw_config_t;

/* Loads path, or only the defaults when path is NULL. On success *out is a
 * new config owned by the caller (cw_config_free). On failure returns
 * -EINVAL (bad content) or -ENOENT/-EACCES (cannot read) with err filled and
 * *out untouched. */
int cw_config_load(const char *path, cw_config_t **out, cw_error_t *err);
void cw_config_free(cw_config_t *cfg);

/* Typed getters; asking for a key that is not in the schema, or with the
 * wrong type, is a programming error (g_error). Returned strings are owned
 * by cfg. */
const char *cw_config_get_string(const cw_config_t *cfg, const char *section, const char *key);
gint64 cw_config_get_int(const cw_config_t *cfg, const char *section, const char *key);
gboolean cw_config_get_bool(const cw_config_t *cfg, const char *section, const char *key);
double cw_config_get_double(const cw_config_t *cfg, const char *section, const char *key);

/* Writes every key of the schema with its default and description as an
 * INI file to the given string (used to check the example file). */
char *cw_config_describe(void);

#endif
