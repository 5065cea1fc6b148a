/* Unit tests for common/config.c: defaults, each value type, each error with
 * its file, line, section and key, and the example file against the schema. */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

/* A schema with every type, for the types the built-in one does not use yet. */
static const cw_config_key_t types_schema[] = {
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
    {.section = "t",
     .key = "label",
     .type = CW_CONFIG_STRING,
     .def = "plain",
     .description = "A string."},
    {.section = "u",
     .key = "mode",
     .type = CW_CONFIG_ENUM,
     .def = "fast",
     .allowed = (const char *const[]){"fast", "slow", NULL},
     .description = "An enum."},
    {0},
};

/* ---- helpers ---------------------------------------------------------- */

/* Writes text to a new temporary file and returns its name (g_free). */
static char *
write_temp(const char *text, gssize len)
{
  GError *error = NULL;
  char *path = NULL;
  int fd = g_file_open_tmp("cwconfig-XXXXXX.conf", &path, &error);
  g_assert_no_error(error);
  close(fd);
  g_file_set_contents(path, text, len, &error);
  g_assert_no_error(error);
  return path;
}

/* Loads text through a real file; *path_out (g_free) names the file, which
 * is already removed. */
static int
load_text(const char *text, char **path_out, cw_config_t **cfg, cw_error_t *err)
{
  char *path = write_temp(text, -1);
  int rc = cw_config_load(path, cfg, err);
  g_unlink(path);
  *path_out = path;
  return rc;
}

/* Loading text fails with -EINVAL and the message "TMPFILE" + suffix. */
static void
assert_load_error(const char *text, const char *suffix)
{
  cw_config_t *cfg = NULL;
  cw_error_t err = {0};
  char *path = NULL;
  g_assert_cmpint(load_text(text, &path, &cfg, &err), ==, -EINVAL);
  g_assert_null(cfg);
  g_assert_cmpint(err.code, ==, -EINVAL);
  char *expected = g_strconcat(path, suffix, NULL);
  g_assert_cmpstr(err.msg, ==, expected);
  g_free(expected);
  g_free(path);
}

/* Parsing text against types_schema as "types.conf" fails with message. */
static void
assert_types_error(const char *text, const char *message)
{
  cw_config_t *cfg = NULL;
  cw_error_t err = {0};
  g_assert_cmpint(cw_config_parse(types_schema, "types.conf", text, strlen(text), &cfg, &err), ==,
                  -EINVAL);
  g_assert_null(cfg);
  g_assert_cmpstr(err.msg, ==, message);
}

static cw_config_t *
parse_types(const char *text)
{
  cw_config_t *cfg = NULL;
  cw_error_t err = {0};
  int rc = cw_config_parse(types_schema, "types.conf", text, strlen(text), &cfg, &err);
  if (rc != 0)
    g_test_message("%s", err.msg);
  g_assert_cmpint(rc, ==, 0);
  return cfg;
}

/* Every key of cfg equals its schema default. */
static void
assert_all_defaults(const cw_config_t *cfg, const cw_config_key_t *schema)
{
  for (const cw_config_key_t *k = schema; k->section; k++) {
    switch (k->type) {
    case CW_CONFIG_STRING:
    case CW_CONFIG_ENUM:
      g_assert_cmpstr(cw_config_get_string(cfg, k->section, k->key), ==, k->def);
      break;
    case CW_CONFIG_INT:
      g_assert_cmpint(cw_config_get_int(cfg, k->section, k->key), ==,
                      g_ascii_strtoll(k->def, NULL, 10));
      break;
    case CW_CONFIG_BOOL:
      g_assert_cmpint(cw_config_get_bool(cfg, k->section, k->key), ==, strcmp(k->def, "true") == 0);
      break;
    case CW_CONFIG_DOUBLE:
      g_assert_cmpfloat(cw_config_get_double(cfg, k->section, k->key), ==,
                        g_ascii_strtod(k->def, NULL));
      break;
    }
  }
}

/* ---- defaults and values ---------------------------------------------- */

static void
test_defaults_without_file(void)
{
  cw_config_t *cfg = NULL;
  cw_error_t err = {0};
  g_assert_cmpint(cw_config_load(NULL, &cfg, &err), ==, 0);
  g_assert_cmpstr(cw_config_get_string(cfg, "database", "conninfo"), ==, "");
  g_assert_cmpstr(cw_config_get_string(cfg, "security", "key_file"), ==,
                  "/etc/citywatch/credential.key");
  g_assert_cmpstr(cw_config_get_string(cfg, "node", "name"), ==, "");
  g_assert_cmpstr(cw_config_get_string(cfg, "log", "level"), ==, "info");
  assert_all_defaults(cfg, cw_config_schema());
  cw_config_free(cfg);
}

static void
test_string_value_parsed(void)
{
  cw_config_t *cfg = NULL;
  cw_error_t err = {0};
  char *path = NULL;
  int rc = load_text("[database]\n"
                     "conninfo = host=db1,db2 dbname=citywatch  \n"
                     "[node]\n"
                     "name=\\sedge\\\\1\\t\n",
                     &path, &cfg, &err);
  g_assert_cmpint(rc, ==, 0);
  g_assert_cmpstr(cw_config_get_string(cfg, "database", "conninfo"), ==,
                  "host=db1,db2 dbname=citywatch");
  g_assert_cmpstr(cw_config_get_string(cfg, "node", "name"), ==, " edge\\1\t");
  g_assert_cmpstr(cw_config_get_string(cfg, "security", "key_file"), ==,
                  "/etc/citywatch/credential.key");
  cw_config_free(cfg);
  g_free(path);
}

static void
test_enum_value_parsed_in_any_case(void)
{
  cw_config_t *cfg = NULL;
  cw_error_t err = {0};
  char *path = NULL;
  g_assert_cmpint(load_text("[log]\nlevel = DEBUG\n", &path, &cfg, &err), ==, 0);
  g_assert_cmpstr(cw_config_get_string(cfg, "log", "level"), ==, "debug");
  cw_config_free(cfg);
  g_free(path);
}

static void
test_int_value_parsed(void)
{
  cw_config_t *cfg = parse_types("[t]\ncount = 100\nbig = -9223372036854775808\n");
  g_assert_cmpint(cw_config_get_int(cfg, "t", "count"), ==, 100);
  g_assert_cmpint(cw_config_get_int(cfg, "t", "big"), ==, G_MININT64);
  cw_config_free(cfg);
}

static void
test_bool_value_parsed(void)
{
  cw_config_t *cfg = parse_types("[t]\nflag = true\n");
  g_assert_true(cw_config_get_bool(cfg, "t", "flag"));
  cw_config_free(cfg);
  cfg = parse_types("[t]\nflag=FALSE\n");
  g_assert_false(cw_config_get_bool(cfg, "t", "flag"));
  cw_config_free(cfg);
}

static void
test_double_value_parsed(void)
{
  cw_config_t *cfg = parse_types("[t]\nratio = 2.5e-1\n");
  g_assert_cmpfloat(cw_config_get_double(cfg, "t", "ratio"), ==, 0.25);
  cw_config_free(cfg);
}

static void
test_empty_file_gives_defaults(void)
{
  cw_config_t *cfg = NULL;
  cw_error_t err = {0};
  char *path = NULL;
  g_assert_cmpint(load_text("", &path, &cfg, &err), ==, 0);
  assert_all_defaults(cfg, cw_config_schema());
  cw_config_free(cfg);
  g_free(path);
}

static void
test_comments_and_empty_sections_ok(void)
{
  cw_config_t *cfg = NULL;
  cw_error_t err = {0};
  char *path = NULL;
  int rc = load_text("# top comment\n"
                     "\n"
                     "[database]\n"
                     "   # indented comment\n"
                     "#conninfo = host=nowhere\n"
                     "[log]\r\n"
                     "level = warning\r\n"
                     "# trailing comment",
                     &path, &cfg, &err);
  g_assert_cmpint(rc, ==, 0);
  g_assert_cmpstr(cw_config_get_string(cfg, "database", "conninfo"), ==, "");
  g_assert_cmpstr(cw_config_get_string(cfg, "log", "level"), ==, "warning");
  cw_config_free(cfg);
  g_free(path);
}

/* ---- errors ----------------------------------------------------------- */

static void
test_unknown_section_suggests_closest(void)
{
  assert_load_error("# c\n[databse]\nconninfo = x\n",
                    ":2: [databse]: unknown section, did you mean [database]?");
}

static void
test_unknown_section_lists_known(void)
{
  assert_types_error("[t]\n[zzz]\n", "types.conf:2: [zzz]: unknown section (known: t, u)");
}

static void
test_unknown_key_suggests_closest(void)
{
  assert_load_error("[database]\n\nconnifo = x\n",
                    ":3: [database] connifo: unknown key, did you mean conninfo?");
}

static void
test_unknown_key_names_its_section(void)
{
  assert_load_error("[log]\n[node]\nlevel = info\n",
                    ":3: [node] level: unknown key, did you mean [log] level?");
}

static void
test_unknown_key_lists_known(void)
{
  assert_types_error("[u]\nspeed = 3\n",
                     "types.conf:2: [u] speed: unknown key (known in [u]: mode)");
}

static void
test_int_not_a_number(void)
{
  assert_types_error("[t]\ncount = abc\n",
                     "types.conf:2: [t] count: expected an integer, got 'abc'");
  assert_types_error("[t]\ncount =\n", "types.conf:2: [t] count: expected an integer, got ''");
  assert_types_error("[t]\ncount = 1.5\n",
                     "types.conf:2: [t] count: expected an integer, got '1.5'");
}

static void
test_int_out_of_range(void)
{
  assert_types_error("[t]\ncount = 101\n", "types.conf:2: [t] count: 101 is out of range 1..100");
  assert_types_error("[t]\ncount = 0\n", "types.conf:2: [t] count: 0 is out of range 1..100");
  assert_types_error("[t]\nbig = 9223372036854775808\n",
                     "types.conf:2: [t] big: 9223372036854775808 is out of range "
                     "-9223372036854775808..9223372036854775807");
}

static void
test_bool_not_true_or_false(void)
{
  assert_types_error("[t]\nflag = yes\n",
                     "types.conf:2: [t] flag: expected true or false, got 'yes'");
}

static void
test_double_not_a_number(void)
{
  assert_types_error("[t]\nratio = half\n",
                     "types.conf:2: [t] ratio: expected a number, got 'half'");
  assert_types_error("[t]\nratio = nan\n", "types.conf:2: [t] ratio: expected a number, got 'nan'");
}

static void
test_double_out_of_range(void)
{
  assert_types_error("[t]\nratio = 1.5\n", "types.conf:2: [t] ratio: 1.5 is out of range 0..1");
}

static void
test_enum_not_allowed_lists_values(void)
{
  assert_load_error("[log]\n\nlevel = verbose\n",
                    ":3: [log] level: 'verbose' is not one of error, warning, info, debug");
}

static void
test_duplicate_key(void)
{
  assert_load_error("[log]\nlevel = info\nlevel = debug\n",
                    ":3: [log] level: duplicate key (first set on line 2)");
}

static void
test_duplicate_key_in_repeated_section(void)
{
  assert_load_error("[log]\nlevel = info\n[node]\nname = a\n[log]\nlevel = debug\n",
                    ":6: [log] level: duplicate key (first set on line 2)");
}

static void
test_invalid_escape_in_string(void)
{
  assert_load_error("[security]\nkey_file = C:\\keys\n",
                    ":2: [security] key_file: invalid escape in 'C:\\keys' (the escapes are "
                    "\\s \\n \\t \\r \\\\; write \\\\ for a backslash)");
}

static void
test_syntax_error_gives_gkeyfile_message(void)
{
  assert_load_error("[log]\nlevel\n",
                    ": Key file contains line \xe2\x80\x9clevel\xe2\x80\x9d which is "
                    "not a key-value pair, group, or comment");
  assert_load_error("level = info\n", ": Key file does not start with a group");
}

static void
test_not_utf8_names_line(void)
{
  assert_load_error("[node]\nname = caf\xe9\n", ":2: not UTF-8 text");
}

static void
test_nul_byte_rejected(void)
{
  cw_config_t *cfg = NULL;
  cw_error_t err = {0};
  static const char text[] = "[node]\nname = a\0b\n";
  g_assert_cmpint(cw_config_parse(NULL, "nul.conf", text, sizeof text - 1, &cfg, &err), ==,
                  -EINVAL);
  g_assert_null(cfg);
  g_assert_cmpstr(err.msg, ==, "nul.conf:2: not UTF-8 text");
}

static void
test_too_large_rejected(void)
{
  cw_config_t *cfg = NULL;
  cw_error_t err = {0};
  gsize len = CW_CONFIG_MAX_BYTES + 1;
  char *text = g_malloc(len);
  memset(text, '\n', len);
  g_assert_cmpint(cw_config_parse(NULL, "big.conf", text, len, &cfg, &err), ==, -EINVAL);
  g_assert_null(cfg);
  g_assert_cmpstr(err.msg, ==, "big.conf: larger than 1048576 bytes");
  g_free(text);
}

static void
test_failure_leaves_out_untouched(void)
{
  cw_config_t *sentinel = (cw_config_t *)&sentinel;
  cw_config_t *cfg = sentinel;
  cw_error_t err = {0};
  static const char text[] = "[log]\nlevel = loud\n";
  g_assert_cmpint(cw_config_parse(NULL, "x.conf", text, strlen(text), &cfg, &err), ==, -EINVAL);
  g_assert_true(cfg == sentinel);
}

static void
test_missing_file_is_enoent(void)
{
  cw_config_t *cfg = NULL;
  cw_error_t err = {0};
  char *dir = g_dir_make_tmp("cwconfig-XXXXXX", NULL);
  g_assert_nonnull(dir);
  char *path = g_build_filename(dir, "absent.conf", NULL);
  g_assert_cmpint(cw_config_load(path, &cfg, &err), ==, -ENOENT);
  g_assert_null(cfg);
  g_assert_cmpint(err.code, ==, -ENOENT);
  char *expected = g_strdup_printf("%s: cannot read: %s", path, g_strerror(ENOENT));
  g_assert_cmpstr(err.msg, ==, expected);
  /* A directory cannot be read either. */
  g_assert_cmpint(cw_config_load(dir, &cfg, &err), ==, -EISDIR);
  g_assert_null(cfg);
  g_free(expected);
  g_free(path);
  g_rmdir(dir);
  g_free(dir);
}

static void
test_unreadable_file_is_eacces(void)
{
  if (geteuid() == 0) {
    g_test_skip("root reads any file");
    return;
  }
  cw_config_t *cfg = NULL;
  cw_error_t err = {0};
  char *path = write_temp("[log]\n", -1);
  g_assert_cmpint(g_chmod(path, 0), ==, 0);
  g_assert_cmpint(cw_config_load(path, &cfg, &err), ==, -EACCES);
  g_assert_null(cfg);
  g_unlink(path);
  g_free(path);
}

static void
test_getter_for_unknown_key_aborts(void)
{
  if (g_test_subprocess()) {
    cw_config_t *cfg = NULL;
    cw_config_load(NULL, &cfg, NULL);
    cw_config_get_string(cfg, "log", "colour");
    return;
  }
  g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed();
  g_test_trap_assert_stderr("*[log] colour is not in the config schema*");
}

static void
test_getter_with_wrong_type_aborts(void)
{
  if (g_test_subprocess()) {
    cw_config_t *cfg = NULL;
    cw_config_load(NULL, &cfg, NULL);
    cw_config_get_int(cfg, "log", "level");
    return;
  }
  g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed();
  g_test_trap_assert_stderr("*[log] level is an enum*");
}

/* ---- describe and the example file ------------------------------------ */

/* Removes the '#' from every "#key = value" line. */
static char *
uncomment_keys(const char *text)
{
  GRegex *re = g_regex_new("^#(?=[A-Za-z0-9_-]+ *=)", G_REGEX_MULTILINE, 0, NULL);
  char *out = g_regex_replace_literal(re, text, -1, 0, "", 0, NULL);
  g_regex_unref(re);
  return out;
}

static void
assert_describe_round_trips(const cw_config_key_t *schema)
{
  char *text = cw_config_describe_schema(schema);
  char *active = uncomment_keys(text);
  for (const cw_config_key_t *k = schema; k->section; k++) {
    char *line = g_strdup_printf("\n%s =", k->key);
    g_assert_nonnull(strstr(active, line));
    g_free(line);
  }
  cw_config_t *cfg = NULL;
  cw_error_t err = {0};
  int rc = cw_config_parse(schema, "describe", active, strlen(active), &cfg, &err);
  if (rc != 0)
    g_test_message("%s", err.msg);
  g_assert_cmpint(rc, ==, 0);
  assert_all_defaults(cfg, schema);
  cw_config_free(cfg);
  g_free(active);
  g_free(text);
}

static void
test_describe_round_trips_defaults(void)
{
  assert_describe_round_trips(cw_config_schema());
  assert_describe_round_trips(types_schema);
}

static void
test_describe_gives_type_and_default(void)
{
  char *text = cw_config_describe_schema(types_schema);
  g_assert_nonnull(strstr(text, "# A bounded integer.\n# Type: integer, 1..100; default: 5\n"
                                "#count = 5\n"));
  g_assert_nonnull(strstr(text, "# Type: integer; default: 0\n"));
  g_assert_nonnull(strstr(text, "# Type: true or false; default: false\n"));
  g_assert_nonnull(strstr(text, "# Type: number, 0..1; default: 0.5\n"));
  g_assert_nonnull(strstr(text, "\n[u]\n# An enum.\n# Type: one of fast, slow; default: fast\n"));
  g_free(text);
}

static void
test_example_file_matches_schema(void)
{
  const char *root = g_getenv("CW_SOURCE_ROOT");
  if (!root) {
    g_test_skip("CW_SOURCE_ROOT not set");
    return;
  }
  char *path = g_build_filename(root, "deploy", "citywatch.conf.example", NULL);

  /* It loads, as all defaults. */
  cw_config_t *cfg = NULL;
  cw_error_t err = {0};
  int rc = cw_config_load(path, &cfg, &err);
  if (rc != 0)
    g_test_message("%s", err.msg);
  g_assert_cmpint(rc, ==, 0);
  assert_all_defaults(cfg, cw_config_schema());
  cw_config_free(cfg);

  /* Every key line "#key = value" is a schema key, under its section, with
   * the schema's default; every schema key has exactly one. */
  char *text = NULL;
  g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
  GString *problems = g_string_new(NULL);
  GHashTable *found = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  GRegex *key_re = g_regex_new("^#([A-Za-z0-9_-]+) *=(.*)$", 0, 0, NULL);
  GRegex *spaced_re = g_regex_new("^# +[A-Za-z0-9_-]+ *=", 0, 0, NULL);
  char **lines = g_strsplit(text, "\n", -1);
  char *section = g_strdup("");
  for (gsize i = 0; lines[i]; i++) {
    const char *l = lines[i];
    GMatchInfo *m = NULL;
    if (l[0] == '[') {
      g_free(section);
      section = g_strndup(l + 1, strcspn(l + 1, "]"));
    } else if (g_regex_match(key_re, l, 0, &m)) {
      char *key = g_match_info_fetch(m, 1);
      char *value = g_strstrip(g_match_info_fetch(m, 2));
      char *id = g_strdup_printf("[%s] %s", section, key);
      const cw_config_key_t *k = cw_config_schema();
      while (k->section && !(strcmp(k->section, section) == 0 && strcmp(k->key, key) == 0))
        k++;
      if (!k->section)
        g_string_append_printf(
            problems, "example line %" G_GSIZE_FORMAT ": %s is not in the schema\n", i + 1, id);
      else if (strcmp(value, k->def) != 0)
        g_string_append_printf(
            problems, "example line %" G_GSIZE_FORMAT ": %s shows '%s', the default is '%s'\n",
            i + 1, id, value, k->def);
      if (!g_hash_table_add(found, id))
        g_string_append_printf(problems, "example line %" G_GSIZE_FORMAT ": %s appears twice\n",
                               i + 1, id);
      g_free(value);
      g_free(key);
    } else if (g_regex_match(spaced_re, l, 0, NULL)) {
      g_string_append_printf(problems,
                             "example line %" G_GSIZE_FORMAT
                             ": write a key as '#key = value' (no space after #): %s\n",
                             i + 1, l);
    }
    g_match_info_free(m);
  }
  for (const cw_config_key_t *k = cw_config_schema(); k->section; k++) {
    char *id = g_strdup_printf("[%s] %s", k->section, k->key);
    if (!g_hash_table_contains(found, id))
      g_string_append_printf(problems, "%s is not documented in the example file\n", id);
    g_free(id);
  }
  g_assert_cmpstr(problems->str, ==, "");
  g_string_free(problems, TRUE);
  g_free(section);
  g_strfreev(lines);
  g_regex_unref(spaced_re);
  g_regex_unref(key_re);
  g_hash_table_destroy(found);
  g_free(text);
  g_free(path);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/config/defaults-without-file", test_defaults_without_file);
  g_test_add_func("/config/string-value-parsed", test_string_value_parsed);
  g_test_add_func("/config/enum-value-parsed-in-any-case", test_enum_value_parsed_in_any_case);
  g_test_add_func("/config/int-value-parsed", test_int_value_parsed);
  g_test_add_func("/config/bool-value-parsed", test_bool_value_parsed);
  g_test_add_func("/config/double-value-parsed", test_double_value_parsed);
  g_test_add_func("/config/empty-file-gives-defaults", test_empty_file_gives_defaults);
  g_test_add_func("/config/comments-and-empty-sections-ok", test_comments_and_empty_sections_ok);
  g_test_add_func("/config/unknown-section-suggests-closest",
                  test_unknown_section_suggests_closest);
  g_test_add_func("/config/unknown-section-lists-known", test_unknown_section_lists_known);
  g_test_add_func("/config/unknown-key-suggests-closest", test_unknown_key_suggests_closest);
  g_test_add_func("/config/unknown-key-names-its-section", test_unknown_key_names_its_section);
  g_test_add_func("/config/unknown-key-lists-known", test_unknown_key_lists_known);
  g_test_add_func("/config/int-not-a-number", test_int_not_a_number);
  g_test_add_func("/config/int-out-of-range", test_int_out_of_range);
  g_test_add_func("/config/bool-not-true-or-false", test_bool_not_true_or_false);
  g_test_add_func("/config/double-not-a-number", test_double_not_a_number);
  g_test_add_func("/config/double-out-of-range", test_double_out_of_range);
  g_test_add_func("/config/enum-not-allowed-lists-values", test_enum_not_allowed_lists_values);
  g_test_add_func("/config/duplicate-key", test_duplicate_key);
  g_test_add_func("/config/duplicate-key-in-repeated-section",
                  test_duplicate_key_in_repeated_section);
  g_test_add_func("/config/invalid-escape-in-string", test_invalid_escape_in_string);
  g_test_add_func("/config/syntax-error-gives-gkeyfile-message",
                  test_syntax_error_gives_gkeyfile_message);
  g_test_add_func("/config/not-utf8-names-line", test_not_utf8_names_line);
  g_test_add_func("/config/nul-byte-rejected", test_nul_byte_rejected);
  g_test_add_func("/config/too-large-rejected", test_too_large_rejected);
  g_test_add_func("/config/failure-leaves-out-untouched", test_failure_leaves_out_untouched);
  g_test_add_func("/config/missing-file-is-enoent", test_missing_file_is_enoent);
  g_test_add_func("/config/unreadable-file-is-eacces", test_unreadable_file_is_eacces);
  g_test_add_func("/config/getter-for-unknown-key-aborts", test_getter_for_unknown_key_aborts);
  g_test_add_func("/config/getter-with-wrong-type-aborts", test_getter_with_wrong_type_aborts);
  g_test_add_func("/config/describe-round-trips-defaults", test_describe_round_trips_defaults);
  g_test_add_func("/config/describe-gives-type-and-default", test_describe_gives_type_and_default);
  g_test_add_func("/config/example-file-matches-schema", test_example_file_matches_schema);
  return g_test_run();
}
