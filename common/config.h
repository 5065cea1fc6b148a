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

/* Largest config file accepted, in bytes; a bigger one is -EINVAL. */
#define CW_CONFIG_MAX_BYTES (1024 * 1024)

typedef enum {
  CW_CONFIG_STRING, /* GKeyFile escapes \s \n \t \r \\ ; read with _get_string */
  CW_CONFIG_INT,    /* decimal, min..max inclusive; read with _get_int */
  CW_CONFIG_BOOL,   /* true or false; read with _get_bool */
  CW_CONFIG_DOUBLE, /* finite, dmin..dmax inclusive; read with _get_double */
  CW_CONFIG_ENUM,   /* one of allowed (any case); read with _get_string */
} cw_config_type_t;

/* One key of a schema. A schema is an array of these ended by an entry whose
 * section is NULL. def is the default written as it would be in the file. */
typedef struct {
  const char *section;
  const char *key;
  cw_config_type_t type;
  const char *def;
  gint64 min, max;            /* CW_CONFIG_INT */
  double dmin, dmax;          /* CW_CONFIG_DOUBLE */
  const char *const *allowed; /* CW_CONFIG_ENUM, NULL-terminated */
  const char *description;    /* one sentence: what the key does */
} cw_config_key_t;

/* The built-in schema (static, never freed). */
const cw_config_key_t *cw_config_schema(void);

/* Loads path, or only the defaults when path is NULL. On success *out is a
 * new config owned by the caller (cw_config_free). On failure returns
 * -EINVAL (bad content) or -ENOENT/-EACCES (or another negative errno: cannot
 * read) with err filled and *out untouched. Any thread may call. */
int cw_config_load(const char *path, cw_config_t **out, cw_error_t *err);
void cw_config_free(cw_config_t *cfg);

/* The pure half of cw_config_load: parses len bytes of text (need not be
 * NUL-terminated) as if read from the file called name, with no I/O. schema
 * NULL means the built-in one; another schema must outlive the config. Same
 * results and ownership as cw_config_load. Any thread may call. */
int cw_config_parse(const cw_config_key_t *schema, const char *name, const char *text, gsize len,
                    cw_config_t **out, cw_error_t *err);

/* Typed getters; asking for a key that is not in the schema, or with the
 * wrong type, is a programming error (g_error); enum keys are read with
 * cw_config_get_string, which gives the allowed value's own spelling.
 * Returned strings are owned by cfg. */
const char *cw_config_get_string(const cw_config_t *cfg, const char *section, const char *key);
gint64 cw_config_get_int(const cw_config_t *cfg, const char *section, const char *key);
gboolean cw_config_get_bool(const cw_config_t *cfg, const char *section, const char *key);
double cw_config_get_double(const cw_config_t *cfg, const char *section, const char *key);

/* Returns every key of the schema with its description, type and default as
 * a commented INI file (each key line "#key = default", so the text loads as
 * all defaults); the caller frees it with g_free. cw_config_describe uses the
 * built-in schema. Any thread may call. */
char *cw_config_describe(void);
char *cw_config_describe_schema(const cw_config_key_t *schema);

#endif
