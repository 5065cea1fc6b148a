/* Fuzzes common/config.c: parses the input as a config file, against the
 * built-in schema and against one with every value type (the built-in one
 * has only strings and an enum so far), and checks what config.h promises:
 * a loaded config answers every key of its schema with a value the schema
 * allows; a refusal leaves *out untouched and says "fuzz.conf...: reason". */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "config.h"
#include "fuzz.h"

static const cw_config_key_t types_schema[] = {
    {.section = "log",
     .key = "level",
     .type = CW_CONFIG_ENUM,
     .def = "info",
     .allowed = (const char *const[]){"error", "warning", "info", "debug", NULL},
     .description = "An enum."},
    {.section = "log",
     .key = "file",
     .type = CW_CONFIG_STRING,
     .def = "",
     .description = "A string."},
    {.section = "t",
     .key = "count",
     .type = CW_CONFIG_INT,
     .def = "5",
     .min = 1,
     .max = 100,
     .description = "A bounded integer."},
    {.section = "t",
     .key = "big",
     .type = CW_CONFIG_INT,
     .def = "0",
     .min = G_MININT64,
     .max = G_MAXINT64,
     .description = "An unbounded integer."},
    {.section = "t",
     .key = "flag",
     .type = CW_CONFIG_BOOL,
     .def = "false",
     .description = "A boolean."},
    {.section = "t",
     .key = "ratio",
     .type = CW_CONFIG_DOUBLE,
     .def = "0.5",
     .dmin = 0,
     .dmax = 1,
     .description = "A bounded number."},
    {0},
};

/* Reads every key of schema back and checks it against the schema. */
static void
check_values(const cw_config_key_t *schema, const cw_config_t *cfg)
{
  for (const cw_config_key_t *k = schema; k->section; k++) {
    switch (k->type) {
    case CW_CONFIG_STRING:
      FUZZ_CHECK(cw_config_get_string(cfg, k->section, k->key) != NULL);
      break;
    case CW_CONFIG_ENUM: {
      const char *v = cw_config_get_string(cfg, k->section, k->key);
      gboolean allowed = FALSE;
      for (const char *const *a = k->allowed; v && *a; a++)
        allowed = allowed || strcmp(v, *a) == 0;
      FUZZ_CHECK(allowed);
      break;
    }
    case CW_CONFIG_INT: {
      gint64 v = cw_config_get_int(cfg, k->section, k->key);
      FUZZ_CHECK(v >= k->min && v <= k->max);
      break;
    }
    case CW_CONFIG_BOOL: {
      gboolean v = cw_config_get_bool(cfg, k->section, k->key);
      FUZZ_CHECK(v == TRUE || v == FALSE);
      break;
    }
    case CW_CONFIG_DOUBLE: {
      double v = cw_config_get_double(cfg, k->section, k->key);
      FUZZ_CHECK(isfinite(v) && v >= k->dmin && v <= k->dmax);
      break;
    }
    }
  }
}

static void
parse(const cw_config_key_t *schema, const uint8_t *data, size_t size)
{
  /* A pointer no parse would give back, to see that a refusal leaves it. */
  cw_config_t *const untouched = (cw_config_t *)&untouched;
  cw_config_t *cfg = untouched;
  cw_error_t err = {0};
  /* The text need not be NUL-terminated: passed as is, so a read past its
   * end is AddressSanitizer's to catch. */
  int rc = cw_config_parse(schema, "fuzz.conf", (const char *)data, size, &cfg, &err);
  if (rc == 0) {
    FUZZ_CHECK(cfg != untouched && cfg != NULL);
    check_values(schema ? schema : cw_config_schema(), cfg);
    cw_config_free(cfg);
  } else {
    FUZZ_CHECK(rc == -EINVAL);
    FUZZ_CHECK(cfg == untouched);
    /* "fuzz.conf[:LINE]: [[section] key: ]reason", the reason not empty. */
    FUZZ_CHECK(g_str_has_prefix(err.msg, "fuzz.conf"));
    FUZZ_CHECK(strlen(err.msg) > strlen("fuzz.conf: "));
  }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  parse(NULL, data, size);
  parse(types_schema, data, size);
  return 0;
}
