/* Fuzzes ops-console/camera_import.c: imports the input as a camera CSV and
 * checks what camera_import.h promises: the count is 0 exactly when there
 * are no problems (and then at least one camera came out), one line number
 * per camera, problems beyond the cap summed up in one last line, and no
 * password in the problems. */
#include <string.h>

#include "camera.h"
#include "camera_import.h"
#include "csv.h"
#include "fuzz.h"

#define SOURCE "fuzz.csv"

/* TRUE when s is only letters and digits, with at least one of each: such a
 * run can show in the problems only as a piece of an echoed field, since no
 * fixed message has one. */
static gboolean
is_distinctive(const char *s)
{
  gboolean letter = FALSE, digit = FALSE;
  for (; *s; s++) {
    if (g_ascii_isalpha(*s))
      letter = TRUE;
    else if (g_ascii_isdigit(*s))
      digit = TRUE;
    else
      return FALSE;
  }
  return letter && digit;
}

/* Reads the CSV again on its own to find the password cells, and checks
 * that none shows in the problems. A password is checked only when it is
 * distinctive and no other cell holds it (the importer quotes names, tags
 * and header cells, in lower case): then an occurrence is a leak. */
static void
check_no_password(const uint8_t *data, size_t size, const GString *problems)
{
  cw_csv_reader_t *r = cw_csv_reader_new((const char *)data, size, 0, 0);
  cw_csv_record_t rec = {0};
  cw_error_t err;
  GPtrArray *passwords = g_ptr_array_new_with_free_func(g_free);
  GString *others = g_string_new(NULL); /* every other cell, lower case, '\n' apart */
  int pw_col = -1;
  guint n_cols = 0;
  gboolean header = TRUE;
  int rc;
  for (size_t calls = 0; calls < size + 2 && (rc = cw_csv_reader_next(r, &rec, &err)) != 0;
       calls++) {
    if (rc < 0)
      continue;
    if (header) {
      n_cols = rec.fields->len;
      for (guint i = 0; i < rec.fields->len; i++) {
        char *col = g_ascii_strdown(g_strstrip((char *)rec.fields->pdata[i]), -1);
        if (pw_col < 0 && strcmp(col, "password") == 0)
          pw_col = (int)i;
        g_free(col);
      }
    }
    for (guint i = 0; i < rec.fields->len; i++) {
      const char *cell = rec.fields->pdata[i];
      if (!header && (int)i == pw_col && rec.fields->len == n_cols) {
        g_ptr_array_add(passwords, g_ascii_strdown(cell, -1));
      } else {
        char *lower = g_ascii_strdown(cell, -1);
        g_string_append(others, lower);
        g_string_append_c(others, '\n');
        g_free(lower);
      }
    }
    header = FALSE;
    cw_csv_record_clear(&rec);
  }
  cw_csv_record_clear(&rec);
  cw_csv_reader_free(r);

  char *shown = g_ascii_strdown(problems->str, (gssize)problems->len);
  for (guint i = 0; i < passwords->len; i++) {
    const char *pw = passwords->pdata[i];
    if (strlen(pw) >= 6 && is_distinctive(pw) && !strstr(others->str, pw))
      FUZZ_CHECK(strstr(shown, pw) == NULL);
  }
  g_free(shown);
  g_string_free(others, TRUE);
  g_ptr_array_free(passwords, TRUE);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  GPtrArray *specs = g_ptr_array_new_with_free_func(cw_camera_spec_free);
  GArray *lines = g_array_new(FALSE, FALSE, sizeof(guint));
  GString *problems = g_string_new(NULL);

  guint count = cw_camera_import_parse(SOURCE, (const char *)data, size, specs, lines, problems);

  FUZZ_CHECK((count == 0) == (problems->len == 0));
  FUZZ_CHECK(specs->len == lines->len);
  if (count == 0) {
    /* Every row came out as a camera, and there was at least one. */
    FUZZ_CHECK(specs->len >= 1);
  } else {
    FUZZ_CHECK(g_str_has_prefix(problems->str, SOURCE ":"));
    FUZZ_CHECK(problems->str[problems->len - 1] == '\n');
  }
  if (count > CW_IMPORT_MAX_PROBLEMS) {
    /* The problems past the cap are counted in one last line. */
    char *tail =
        g_strdup_printf(SOURCE ": ... and %u more problems\n", count - CW_IMPORT_MAX_PROBLEMS);
    FUZZ_CHECK(g_str_has_suffix(problems->str, tail));
    g_free(tail);
  }
  for (guint i = 0; i < specs->len; i++) {
    const cw_camera_spec_t *spec = specs->pdata[i];
    FUZZ_CHECK(spec->name && *spec->name && spec->url && *spec->url);
    FUZZ_CHECK(!spec->password || spec->username);
    /* Cameras come out in file order, each from its own line. */
    guint line = g_array_index(lines, guint, i);
    FUZZ_CHECK(line >= 2 && (i == 0 || line > g_array_index(lines, guint, i - 1)));
  }
  check_no_password(data, size, problems);

  g_string_free(problems, TRUE);
  g_array_free(lines, TRUE);
  g_ptr_array_free(specs, TRUE);
  return 0;
}
