/* Configuration: the schema table, the INI reader and the describer.
 *
 * GKeyFile does the INI syntax; this file checks every group and key against
 * the schema, parses each value itself (so the messages can say what was
 * expected) and finds line numbers by scanning the text, since GKeyFile keeps
 * none. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

/* The schema. Later features append their keys here, and document them in
 * deploy/citywatch.conf.example (test_config checks the two agree). */
static const cw_config_key_t builtin_schema[] = {
    {
        .section = "database",
        .key = "conninfo",
        .type = CW_CONFIG_STRING,
        .def = "",
        .description = "PostgreSQL connection: a libpq connection string or URI, several "
                       "hosts allowed; empty means libpq's PG* environment variables.",
    },
    /* CITYWATCH_KEY_FILE is applied by the programs that read the key, not
     * here: this module only reads the file it is given. */
    {
        .section = "security",
        .key = "key_file",
        .type = CW_CONFIG_STRING,
        .def = "/etc/citywatch/credential.key",
        .description = "File holding the libsodium secretbox key that encrypts camera "
                       "passwords, created with mode 0600 on first use; the "
                       "CITYWATCH_KEY_FILE environment variable, when set, overrides it.",
    },
    {
        .section = "node",
        .key = "name",
        .type = CW_CONFIG_STRING,
        .def = "",
        .description = "Name of this node in the database and the console; empty means "
                       "the host name.",
    },
    {
        .section = "node",
        .key = "metrics_file",
        .type = CW_CONFIG_STRING,
        .def = "",
        .description = "File rewritten every health interval with this node's metrics in "
                       "Prometheus text format (for node_exporter's textfile collector): the "
                       "event journal's depth and bound, events accepted, committed and "
                       "refused; empty: none.",
    },
    {
        .section = "log",
        .key = "level",
        .type = CW_CONFIG_ENUM,
        .def = "info",
        .allowed = (const char *const[]){"error", "warning", "info", "debug", NULL},
        .description = "Least severe log lines written to stderr.",
    },
    {
        .section = "ingest",
        .key = "workers",
        .type = CW_CONFIG_INT,
        .def = "0",
        .min = 0,
        .max = 256,
        .description = "Ingest threads, each a libuv loop owning a shard of the cameras; 0 "
                       "means one per processor core.",
    },
    {
        .section = "ingest",
        .key = "stall_timeout",
        .type = CW_CONFIG_INT,
        .def = "10",
        .min = 1,
        .max = 3600,
        .description = "Seconds without a picture from a playing camera before it counts as "
                       "stalled and is reconnected.",
    },
    {
        .section = "ingest",
        .key = "backoff_min",
        .type = CW_CONFIG_DOUBLE,
        .def = "1",
        .dmin = 0.01,
        .dmax = 3600,
        .description = "Seconds: the first reconnect waits a random time up to this; each "
                       "failure doubles the ceiling.",
    },
    {
        .section = "ingest",
        .key = "backoff_max",
        .type = CW_CONFIG_DOUBLE,
        .def = "60",
        .dmin = 0.01,
        .dmax = 86400,
        .description = "Seconds: the ceiling of the reconnect wait (full jitter below it).",
    },
    {
        .section = "ingest",
        .key = "stable_period",
        .type = CW_CONFIG_INT,
        .def = "30",
        .min = 1,
        .max = 86400,
        .description = "Seconds a session must play before its camera's back-off starts "
                       "again from backoff_min.",
    },
    {
        .section = "ingest",
        .key = "rtsp_timeout",
        .type = CW_CONFIG_INT,
        .def = "10",
        .min = 1,
        .max = 300,
        .description = "Seconds to wait for a camera to accept the connection or answer an "
                       "RTSP request.",
    },
    {
        .section = "ingest",
        .key = "camera_poll_interval",
        .type = CW_CONFIG_DOUBLE,
        .def = "2",
        .dmin = 0.1,
        .dmax = 3600,
        .description = "Seconds between reads of the camera registry, so added, edited, "
                       "disabled and removed cameras take effect without a restart.",
    },
    {
        .section = "ingest",
        .key = "health_interval",
        .type = CW_CONFIG_DOUBLE,
        .def = "5",
        .dmin = 0.5,
        .dmax = 3600,
        .description = "Seconds between writes of camera health to the database.",
    },
    {
        .section = "recording",
        .key = "enabled",
        .type = CW_CONFIG_BOOL,
        .def = "true",
        .description = "Record every playing camera continuously.",
    },
    {
        .section = "recording",
        .key = "root",
        .type = CW_CONFIG_STRING,
        .def = "/var/lib/citywatch/footage",
        .description = "Folder the footage is written under, by camera, day and hour; the "
                       "footage index stores paths relative to it.",
    },
    {
        .section = "recording",
        .key = "segment_seconds",
        .type = CW_CONFIG_INT,
        .def = "60",
        .min = 2,
        .max = 3600,
        .description = "Length of a segment file; each starts on a keyframe, so a segment "
                       "runs to the first keyframe after this.",
    },
    {
        .section = "recording",
        .key = "fragment_ms",
        .type = CW_CONFIG_INT,
        .def = "1000",
        .min = 100,
        .max = 10000,
        .description = "Milliseconds of video per MP4 fragment: the most a crash can lose.",
    },
    {
        .section = "recording",
        .key = "writers",
        .type = CW_CONFIG_INT,
        .def = "2",
        .min = 1,
        .max = 64,
        .description = "Recorder threads that mux and write; each camera stays on one.",
    },
    {
        .section = "recording",
        .key = "queue_mb",
        .type = CW_CONFIG_INT,
        .def = "64",
        .min = 1,
        .max = 4096,
        .description = "Mebibytes of video each recorder thread may have waiting; beyond it "
                       "frames are dropped and counted, and the footage shows a gap.",
    },
    {
        .section = "recording",
        .key = "fsync",
        .type = CW_CONFIG_ENUM,
        .def = "segment",
        .allowed = (const char *const[]){"none", "segment", "fragment", NULL},
        .description = "When recorded bytes are forced to disk: never, when a segment "
                       "closes, or after every fragment (safe against power loss, costly).",
    },
    {
        .section = "recording",
        .key = "retention_days",
        .type = CW_CONFIG_INT,
        .def = "30",
        .min = 1,
        .max = 3650,
        .description = "Days footage is kept for a camera without a retention of its own; "
                       "footage under legal hold is kept regardless.",
    },
    {
        .section = "recording",
        .key = "quota",
        .type = CW_CONFIG_STRING,
        .def = "90%",
        .description = "Most disk the footage may use: bytes with an optional K, M, G or T "
                       "suffix (powers of 1024), or a percentage of the footage filesystem; "
                       "0 means no quota. The oldest footage not under hold goes first.",
    },
    {
        .section = "recording",
        .key = "retention_interval",
        .type = CW_CONFIG_DOUBLE,
        .def = "60",
        .dmin = 0.2,
        .dmax = 86400,
        .description = "Seconds between retention and quota passes.",
    },
    {
        .section = "events",
        .key = "journal_dir",
        .type = CW_CONFIG_STRING,
        .def = "/var/lib/citywatch/events",
        .description = "Folder of the event journal: events wait here, on the node's disk, "
                       "until PostgreSQL has committed them.",
    },
    {
        .section = "events",
        .key = "journal_max_mb",
        .type = CW_CONFIG_INT,
        .def = "1024",
        .min = 1,
        .max = 1048576,
        .description = "Mebibytes the journal may hold while the database is away; past 80% "
                       "an error is logged, at the bound new events are refused and counted.",
    },
    {
        .section = "events",
        .key = "sync_ms",
        .type = CW_CONFIG_INT,
        .def = "100",
        .min = 1,
        .max = 10000,
        .description = "Group commit: milliseconds between syncs of the journal; an event is "
                       "accepted once synced.",
    },
    {
        .section = "events",
        .key = "snapshot_dir",
        .type = CW_CONFIG_STRING,
        .def = "/var/lib/citywatch/snapshots",
        .description = "Folder of event snapshots: a JPEG of the camera's picture for events "
                       "that carry one, kept on this node's disk; events refer to them by "
                       "their path below this folder.",
    },
    {
        .section = "events",
        .key = "snapshot_width",
        .type = CW_CONFIG_INT,
        .def = "640",
        .min = 0,
        .max = 8192,
        .description = "Snapshots are scaled down to at most this many pixels wide (aspect "
                       "kept); 0 keeps the camera's size.",
    },
    {
        .section = "events",
        .key = "snapshot_days",
        .type = CW_CONFIG_INT,
        .def = "30",
        .min = 1,
        .max = 3650,
        .description = "Days snapshots are kept; older days are removed hourly.",
    },
    {
        .section = "analytics",
        .key = "enabled",
        .type = CW_CONFIG_BOOL,
        .def = "true",
        .description = "Analyse every enabled camera with its analytics configuration (counts, "
                       "congestion, stopped vehicles, wrong-way drivers, picture tampering).",
    },
    {
        .section = "analytics",
        .key = "threads",
        .type = CW_CONFIG_INT,
        .def = "1",
        .min = 1,
        .max = 256,
        .description = "Threads of the analytics pool; each drives its share of the cameras, "
                       "decoding with one thread per camera.",
    },
    {
        .section = "analytics",
        .key = "fps",
        .type = CW_CONFIG_DOUBLE,
        .def = "0",
        .dmin = 0,
        .dmax = 60,
        .description = "Frames analysed a second per camera; 0 takes each camera's "
                       "configuration (thresholds.analysis_fps, itself 5 by default).",
    },
    {
        .section = "analytics",
        .key = "keyframes_only",
        .type = CW_CONFIG_BOOL,
        .def = "false",
        .description = "Decode and analyse keyframes only: a fraction of the cost, for picture "
                       "health and slow incidents; counts and wrong-way need every frame.",
    },
    {
        .section = "analytics",
        .key = "budget",
        .type = CW_CONFIG_DOUBLE,
        .def = "0.8",
        .dmin = 0.05,
        .dmax = 1,
        .description = "Share of each analytics thread's time it may be busy; above it rates are "
                       "lowered fairly (first every camera's rate, then keyframes-only in "
                       "turn) and what is skipped is counted.",
    },
    {0},
};

typedef struct {
  char *s; /* CW_CONFIG_STRING and CW_CONFIG_ENUM */
  gint64 i;
  gboolean b;
  double d;
} value_t;

struct cw_config {
  const cw_config_key_t *schema;
  gsize n_keys;
  value_t *values; /* parallel to schema */
};

const cw_config_key_t *
cw_config_schema(void)
{
  return builtin_schema;
}

static gsize
schema_len(const cw_config_key_t *schema)
{
  gsize n = 0;
  while (schema[n].section)
    n++;
  return n;
}

static const char *
type_name(cw_config_type_t type)
{
  switch (type) {
  case CW_CONFIG_STRING:
    return "a string";
  case CW_CONFIG_INT:
    return "an integer";
  case CW_CONFIG_BOOL:
    return "a boolean";
  case CW_CONFIG_DOUBLE:
    return "a number";
  case CW_CONFIG_ENUM:
    return "an enum";
  }
  return "?";
}

/* ---- finding lines ---------------------------------------------------- */

/* Returns the 1-based line of the nth (1-based) "key = value" line inside
 * [section], or of the first "[section]" header when key is NULL; 0 when
 * there is none. Reads lines the way GKeyFile does: leading blanks skipped,
 * '#' starts a comment, a group name is what lies between '[' and the last
 * ']', a key is what precedes '=' less trailing blanks. */
static guint
find_line(const char *text, gsize len, const char *section, const char *key, guint nth)
{
  const char *p = text, *end = text + len;
  gboolean in_section = FALSE;
  for (guint line = 1; p < end; line++) {
    const char *eol = memchr(p, '\n', (gsize)(end - p));
    if (!eol)
      eol = end;
    const char *s = p, *e = eol;
    p = eol < end ? eol + 1 : end;
    while (s < e && g_ascii_isspace(*s))
      s++;
    while (e > s && g_ascii_isspace(e[-1]))
      e--;
    if (s == e || *s == '#')
      continue;
    if (*s == '[') {
      const char *close = e - 1; /* e may be the end of the text: never read it */
      while (close > s && *close != ']')
        close--;
      if (close <= s)
        continue;
      gsize n = (gsize)(close - s - 1);
      in_section = strlen(section) == n && memcmp(s + 1, section, n) == 0;
      if (in_section && !key)
        return line;
      continue;
    }
    if (!key || !in_section)
      continue;
    const char *eq = memchr(s, '=', (gsize)(e - s));
    if (!eq)
      continue;
    const char *k_end = eq;
    while (k_end > s && g_ascii_isspace(k_end[-1]))
      k_end--;
    gsize n = (gsize)(k_end - s);
    if (strlen(key) == n && memcmp(s, key, n) == 0 && --nth == 0)
      return line;
  }
  return 0;
}

static guint
line_of_offset(const char *text, gsize offset)
{
  guint line = 1;
  for (gsize i = 0; i < offset; i++)
    line += text[i] == '\n';
  return line;
}

/* Fills err with "NAME:LINE: [section] key: reason", leaving out ":LINE"
 * when line is 0, " [section]" when section is NULL and " key" when key is
 * NULL; returns code. */
static int fail_at(cw_error_t *err, int code, const char *name, guint line, const char *section,
                   const char *key, const char *fmt, ...) G_GNUC_PRINTF(7, 8);

static int
fail_at(cw_error_t *err, int code, const char *name, guint line, const char *section,
        const char *key, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  char *reason = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  GString *where = g_string_new(name);
  if (line)
    g_string_append_printf(where, ":%u", line);
  if (section)
    g_string_append_printf(where, ": [%s]", section);
  if (key)
    g_string_append_printf(where, " %s", key);
  cw_error_set(err, code, "%s: %s", where->str, reason);
  g_string_free(where, TRUE);
  g_free(reason);
  return code;
}

/* ---- suggestions ------------------------------------------------------ */

/* Optimal-string-alignment distance (Levenshtein plus adjacent swaps),
 * ignoring ASCII case. Names are short; the cap only guards the stack. */
static guint
edit_distance(const char *a, const char *b)
{
  enum { CAP = 64 };
  gsize la = strlen(a), lb = strlen(b);
  if (la >= CAP || lb >= CAP)
    return G_MAXUINT;
  guint d[CAP][CAP];
  for (gsize i = 0; i <= la; i++)
    d[i][0] = (guint)i;
  for (gsize j = 0; j <= lb; j++)
    d[0][j] = (guint)j;
  for (gsize i = 1; i <= la; i++) {
    for (gsize j = 1; j <= lb; j++) {
      guint cost = g_ascii_tolower(a[i - 1]) != g_ascii_tolower(b[j - 1]);
      guint best = MIN(d[i - 1][j] + 1, d[i][j - 1] + 1);
      best = MIN(best, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && g_ascii_tolower(a[i - 1]) == g_ascii_tolower(b[j - 2]) &&
          g_ascii_tolower(a[i - 2]) == g_ascii_tolower(b[j - 1]))
        best = MIN(best, d[i - 2][j - 2] + 1);
      d[i][j] = best;
    }
  }
  return d[la][lb];
}

/* Close enough to be a typo: one edit in a short name, two in a longer. */
static gboolean
is_close(const char *typed, const char *known)
{
  return edit_distance(typed, known) <= (strlen(known) <= 4 ? 1u : 2u);
}

/* TRUE when k is the first key of its section in the schema, so walking
 * the schema and keeping these visits each section once, in schema order. */
static gboolean
opens_section(const cw_config_key_t *schema, const cw_config_key_t *k)
{
  for (const cw_config_key_t *j = schema; j < k; j++) {
    if (strcmp(j->section, k->section) == 0)
      return FALSE;
  }
  return TRUE;
}

/* Comma-separated distinct sections of the schema, in schema order. */
static char *
list_sections(const cw_config_key_t *schema)
{
  GString *out = g_string_new(NULL);
  for (const cw_config_key_t *k = schema; k->section; k++) {
    if (opens_section(schema, k))
      g_string_append_printf(out, "%s%s", out->len ? ", " : "", k->section);
  }
  return g_string_free(out, FALSE);
}

static int
fail_unknown_section(const cw_config_key_t *schema, const char *name, const char *text, gsize len,
                     const char *group, cw_error_t *err)
{
  guint line = find_line(text, len, group, NULL, 1);
  for (const cw_config_key_t *k = schema; k->section; k++) {
    if (is_close(group, k->section))
      return fail_at(err, -EINVAL, name, line, group, NULL, "unknown section, did you mean [%s]?",
                     k->section);
  }
  char *known = list_sections(schema);
  int rc = fail_at(err, -EINVAL, name, line, group, NULL, "unknown section (known: %s)", known);
  g_free(known);
  return rc;
}

static int
fail_unknown_key(const cw_config_key_t *schema, const char *name, guint line, const char *group,
                 const char *key, cw_error_t *err)
{
  for (const cw_config_key_t *k = schema; k->section; k++) {
    if (strcmp(k->section, group) == 0 && is_close(key, k->key))
      return fail_at(err, -EINVAL, name, line, group, key, "unknown key, did you mean %s?", k->key);
  }
  /* Right key, wrong section: say where it belongs. */
  for (const cw_config_key_t *k = schema; k->section; k++) {
    if (strcmp(k->key, key) == 0)
      return fail_at(err, -EINVAL, name, line, group, key, "unknown key, did you mean [%s] %s?",
                     k->section, k->key);
  }
  GString *known = g_string_new(NULL);
  for (const cw_config_key_t *k = schema; k->section; k++) {
    if (strcmp(k->section, group) == 0)
      g_string_append_printf(known, "%s%s", known->len ? ", " : "", k->key);
  }
  int rc = fail_at(err, -EINVAL, name, line, group, key, "unknown key (known in [%s]: %s)", group,
                   known->str);
  g_string_free(known, TRUE);
  return rc;
}

/* ---- values ----------------------------------------------------------- */

/* Undoes GKeyFile's string escapes (\s \n \t \r \\). Returns NULL and sets
 * *reason for any other escape or a trailing backslash. */
static char *
unescape(const char *s, char **reason)
{
  GString *out = g_string_sized_new(strlen(s));
  for (const char *p = s; *p; p++) {
    if (*p != '\\') {
      g_string_append_c(out, *p);
      continue;
    }
    char c = p[1];
    if (c == 's' || c == 'n' || c == 't' || c == 'r' || c == '\\') {
      g_string_append_c(out, c == 's'   ? ' '
                             : c == 'n' ? '\n'
                             : c == 't' ? '\t'
                             : c == 'r' ? '\r'
                                        : '\\');
      p++;
      continue;
    }
    *reason = g_strdup_printf("invalid escape in '%s' (the escapes are \\s \\n \\t \\r \\\\; "
                              "write \\\\ for a backslash)",
                              s);
    g_string_free(out, TRUE);
    return NULL;
  }
  return g_string_free(out, FALSE);
}

static char *
allowed_list(const cw_config_key_t *k)
{
  return g_strjoinv(", ", (char **)k->allowed);
}

/* Parses raw (as written in the file, surrounding blanks ignored) for key k
 * into *v. Returns FALSE and sets *reason (caller frees) when it is not a
 * valid value. */
static gboolean
parse_value(const cw_config_key_t *k, const char *raw, value_t *v, char **reason)
{
  char *s = g_strstrip(g_strdup(raw));
  gboolean ok = FALSE;
  switch (k->type) {
  case CW_CONFIG_STRING:
    v->s = unescape(s, reason);
    ok = v->s != NULL;
    break;
  case CW_CONFIG_INT: {
    GError *error = NULL;
    gint64 i;
    if (!g_ascii_string_to_signed(s, 10, G_MININT64, G_MAXINT64, &i, &error)) {
      if (g_error_matches(error, G_NUMBER_PARSER_ERROR, G_NUMBER_PARSER_ERROR_OUT_OF_BOUNDS))
        *reason = g_strdup_printf("%s is out of range %" G_GINT64_FORMAT "..%" G_GINT64_FORMAT, s,
                                  k->min, k->max);
      else
        *reason = g_strdup_printf("expected an integer, got '%s'", s);
      g_error_free(error);
    } else if (i < k->min || i > k->max) {
      *reason = g_strdup_printf("%s is out of range %" G_GINT64_FORMAT "..%" G_GINT64_FORMAT, s,
                                k->min, k->max);
    } else {
      v->i = i;
      ok = TRUE;
    }
    break;
  }
  case CW_CONFIG_BOOL:
    if (g_ascii_strcasecmp(s, "true") == 0 || g_ascii_strcasecmp(s, "false") == 0) {
      v->b = g_ascii_strcasecmp(s, "true") == 0;
      ok = TRUE;
    } else {
      *reason = g_strdup_printf("expected true or false, got '%s'", s);
    }
    break;
  case CW_CONFIG_DOUBLE: {
    char *end = NULL;
    errno = 0;
    double d = g_ascii_strtod(s, &end);
    if (*s == '\0' || *end != '\0' || errno == ERANGE || !isfinite(d))
      *reason = g_strdup_printf("expected a number, got '%s'", s);
    else if (d < k->dmin || d > k->dmax)
      *reason = g_strdup_printf("%s is out of range %g..%g", s, k->dmin, k->dmax);
    else {
      v->d = d;
      ok = TRUE;
    }
    break;
  }
  case CW_CONFIG_ENUM:
    for (const char *const *a = k->allowed; *a; a++) {
      if (g_ascii_strcasecmp(s, *a) == 0) {
        v->s = g_strdup(*a);
        ok = TRUE;
        break;
      }
    }
    if (!ok) {
      char *list = allowed_list(k);
      *reason = g_strdup_printf("'%s' is not one of %s", s, list);
      g_free(list);
    }
    break;
  }
  g_free(s);
  return ok;
}

static cw_config_t *
config_new(const cw_config_key_t *schema)
{
  cw_config_t *cfg = g_new0(cw_config_t, 1);
  cfg->schema = schema;
  cfg->n_keys = schema_len(schema);
  cfg->values = g_new0(value_t, cfg->n_keys);
  for (gsize i = 0; i < cfg->n_keys; i++) {
    char *reason = NULL;
    if (!parse_value(&schema[i], schema[i].def, &cfg->values[i], &reason))
      g_error("config schema: [%s] %s: bad default: %s", schema[i].section, schema[i].key, reason);
  }
  return cfg;
}

void
cw_config_free(cw_config_t *cfg)
{
  if (!cfg)
    return;
  for (gsize i = 0; i < cfg->n_keys; i++)
    g_free(cfg->values[i].s);
  g_free(cfg->values);
  g_free(cfg);
}

static gssize
schema_index(const cw_config_key_t *schema, const char *section, const char *key)
{
  for (gsize i = 0; schema[i].section; i++) {
    if (strcmp(schema[i].section, section) == 0 && strcmp(schema[i].key, key) == 0)
      return (gssize)i;
  }
  return -1;
}

static gboolean
section_known(const cw_config_key_t *schema, const char *section)
{
  for (const cw_config_key_t *k = schema; k->section; k++) {
    if (strcmp(k->section, section) == 0)
      return TRUE;
  }
  return FALSE;
}

/* Checks and stores every key of one group; 0 or -EINVAL with err filled. */
static int
load_group(cw_config_t *cfg, GKeyFile *kf, const char *name, const char *text, gsize len,
           const char *group, cw_error_t *err)
{
  int rc = 0;
  /* key -> how many times seen so far, to find the nth line of a repeat */
  GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
  char **keys = g_key_file_get_keys(kf, group, NULL, NULL);
  for (gsize j = 0; keys && keys[j]; j++) {
    const char *key = keys[j];
    guint nth = GPOINTER_TO_UINT(g_hash_table_lookup(seen, key)) + 1;
    g_hash_table_insert(seen, (gpointer)key, GUINT_TO_POINTER(nth));
    guint line = find_line(text, len, group, key, nth);
    gssize idx = schema_index(cfg->schema, group, key);
    if (idx < 0) {
      rc = fail_unknown_key(cfg->schema, name, line, group, key, err);
      goto out;
    }
    if (nth > 1) {
      guint first = find_line(text, len, group, key, 1);
      if (first)
        rc = fail_at(err, -EINVAL, name, line, group, key, "duplicate key (first set on line %u)",
                     first);
      else
        rc = fail_at(err, -EINVAL, name, line, group, key, "duplicate key");
      goto out;
    }
    char *raw = g_key_file_get_value(kf, group, key, NULL);
    char *reason = NULL;
    value_t v = {0};
    if (!parse_value(&cfg->schema[idx], raw, &v, &reason)) {
      rc = fail_at(err, -EINVAL, name, line, group, key, "%s", reason);
      g_free(reason);
      g_free(raw);
      goto out;
    }
    g_free(raw);
    g_free(cfg->values[idx].s);
    cfg->values[idx] = v;
  }
out:
  g_hash_table_destroy(seen); /* borrows its keys from keys */
  g_strfreev(keys);
  return rc;
}

int
cw_config_parse(const cw_config_key_t *schema, const char *name, const char *text, gsize len,
                cw_config_t **out, cw_error_t *err)
{
  int rc = 0;
  GKeyFile *kf = NULL;
  char **groups = NULL;
  cw_config_t *cfg = NULL;
  GError *error = NULL;
  const char *bad = NULL;

  if (!schema)
    schema = builtin_schema;
  if (!text) {
    text = "";
    len = 0;
  }
  if (len > CW_CONFIG_MAX_BYTES) {
    rc = fail_at(err, -EINVAL, name, 0, NULL, NULL, "larger than %d bytes", CW_CONFIG_MAX_BYTES);
    goto out;
  }
  /* GKeyFile takes invalid UTF-8 in names and cuts lines at a NUL byte;
   * refuse both up front (g_utf8_validate_len rejects NUL too). */
  if (!g_utf8_validate_len(text, len, &bad)) {
    rc = fail_at(err, -EINVAL, name, line_of_offset(text, (gsize)(bad - text)), NULL, NULL,
                 "not UTF-8 text");
    goto out;
  }
  kf = g_key_file_new();
  if (!g_key_file_load_from_data(kf, text, len, G_KEY_FILE_NONE, &error)) {
    rc = fail_at(err, -EINVAL, name, 0, NULL, NULL, "%s", error->message);
    goto out;
  }
  cfg = config_new(schema);
  groups = g_key_file_get_groups(kf, NULL);
  for (gsize i = 0; groups[i]; i++) {
    if (!section_known(schema, groups[i])) {
      rc = fail_unknown_section(schema, name, text, len, groups[i], err);
      goto out;
    }
    rc = load_group(cfg, kf, name, text, len, groups[i], err);
    if (rc < 0)
      goto out;
  }
  *out = g_steal_pointer(&cfg);
out:
  cw_config_free(cfg);
  g_strfreev(groups);
  if (kf)
    g_key_file_free(kf);
  g_clear_error(&error);
  return rc;
}

/* Reads at most CW_CONFIG_MAX_BYTES + 1 bytes, enough for parse to refuse a
 * file that is too big without reading all of it. */
static int
read_file(const char *path, char **text, gsize *len, cw_error_t *err)
{
  int rc = 0;
  GByteArray *buf = g_byte_array_new();
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    rc = -errno;
    cw_error_set(err, rc, "%s: cannot read: %s", path, g_strerror(-rc));
    goto out;
  }
  guint8 chunk[16384];
  while (buf->len <= CW_CONFIG_MAX_BYTES) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      rc = -errno;
      cw_error_set(err, rc, "%s: cannot read: %s", path, g_strerror(-rc));
      goto out;
    }
    if (n == 0)
      break;
    g_byte_array_append(buf, chunk, (guint)n);
  }
  *len = buf->len;
  *text = (char *)g_byte_array_free(g_steal_pointer(&buf), FALSE);
out:
  if (fd >= 0)
    close(fd);
  if (buf)
    g_byte_array_free(buf, TRUE);
  return rc;
}

int
cw_config_load(const char *path, cw_config_t **out, cw_error_t *err)
{
  if (!path) {
    *out = config_new(builtin_schema);
    return 0;
  }
  char *text = NULL;
  gsize len = 0;
  int rc = read_file(path, &text, &len, err);
  if (rc < 0)
    goto out;
  rc = cw_config_parse(builtin_schema, path, text, len, out, err);
out:
  g_free(text);
  return rc;
}

/* ---- getters ---------------------------------------------------------- */

static const value_t *
lookup(const cw_config_t *cfg, const char *section, const char *key, cw_config_type_t type,
       cw_config_type_t alt, const char *getter)
{
  gssize idx = schema_index(cfg->schema, section, key);
  if (idx < 0)
    g_error("%s: [%s] %s is not in the config schema", getter, section, key);
  cw_config_type_t t = cfg->schema[idx].type;
  if (t != type && t != alt)
    g_error("%s: [%s] %s is %s", getter, section, key, type_name(t));
  return &cfg->values[idx];
}

const char *
cw_config_get_string(const cw_config_t *cfg, const char *section, const char *key)
{
  return lookup(cfg, section, key, CW_CONFIG_STRING, CW_CONFIG_ENUM, G_STRFUNC)->s;
}

gint64
cw_config_get_int(const cw_config_t *cfg, const char *section, const char *key)
{
  return lookup(cfg, section, key, CW_CONFIG_INT, CW_CONFIG_INT, G_STRFUNC)->i;
}

gboolean
cw_config_get_bool(const cw_config_t *cfg, const char *section, const char *key)
{
  return lookup(cfg, section, key, CW_CONFIG_BOOL, CW_CONFIG_BOOL, G_STRFUNC)->b;
}

double
cw_config_get_double(const cw_config_t *cfg, const char *section, const char *key)
{
  return lookup(cfg, section, key, CW_CONFIG_DOUBLE, CW_CONFIG_DOUBLE, G_STRFUNC)->d;
}

/* ---- describing ------------------------------------------------------- */

/* Appends text as "# " comment lines of at most about 78 columns. */
static void
append_wrapped(GString *out, const char *text)
{
  char **words = g_strsplit(text, " ", -1);
  gsize col = 0;
  for (gsize i = 0; words[i]; i++) {
    if (!*words[i])
      continue;
    gsize w = strlen(words[i]);
    if (col > 0 && col + 1 + w > 78) {
      g_string_append_c(out, '\n');
      col = 0;
    }
    if (col == 0) {
      g_string_append(out, "# ");
      col = 2;
    } else {
      g_string_append_c(out, ' ');
      col++;
    }
    g_string_append(out, words[i]);
    col += w;
  }
  if (col > 0)
    g_string_append_c(out, '\n');
  g_strfreev(words);
}

static char *
describe_type(const cw_config_key_t *k)
{
  switch (k->type) {
  case CW_CONFIG_STRING:
    return g_strdup("string");
  case CW_CONFIG_INT:
    if (k->min == G_MININT64 && k->max == G_MAXINT64)
      return g_strdup("integer");
    if (k->max == G_MAXINT64)
      return g_strdup_printf("integer, at least %" G_GINT64_FORMAT, k->min);
    if (k->min == G_MININT64)
      return g_strdup_printf("integer, at most %" G_GINT64_FORMAT, k->max);
    return g_strdup_printf("integer, %" G_GINT64_FORMAT "..%" G_GINT64_FORMAT, k->min, k->max);
  case CW_CONFIG_BOOL:
    return g_strdup("true or false");
  case CW_CONFIG_DOUBLE:
    return g_strdup_printf("number, %g..%g", k->dmin, k->dmax);
  case CW_CONFIG_ENUM: {
    char *list = allowed_list(k);
    char *s = g_strdup_printf("one of %s", list);
    g_free(list);
    return s;
  }
  }
  return g_strdup("?");
}

char *
cw_config_describe_schema(const cw_config_key_t *schema)
{
  if (!schema)
    schema = builtin_schema;
  GString *out = g_string_new(NULL);
  append_wrapped(out, "citywatch configuration (GKeyFile INI). Every key is optional; each is "
                      "shown commented out, set to its default.");
  for (const cw_config_key_t *sec = schema; sec->section; sec++) {
    if (!opens_section(schema, sec))
      continue;
    g_string_append_printf(out, "\n[%s]\n", sec->section);
    gboolean first = TRUE;
    for (const cw_config_key_t *k = sec; k->section; k++) {
      if (strcmp(k->section, sec->section) != 0)
        continue;
      if (!first)
        g_string_append_c(out, '\n');
      first = FALSE;
      char *type = describe_type(k);
      char *line = g_strdup_printf("Type: %s; default: %s", type, *k->def ? k->def : "empty");
      append_wrapped(out, k->description);
      append_wrapped(out, line);
      g_string_append_printf(out, "#%s =%s%s\n", k->key, *k->def ? " " : "", k->def);
      g_free(line);
      g_free(type);
    }
  }
  return g_string_free(out, FALSE);
}

char *
cw_config_describe(void)
{
  return cw_config_describe_schema(builtin_schema);
}
