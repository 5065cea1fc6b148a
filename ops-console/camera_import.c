#include "camera_import.h"

#include <string.h>

#include "camera.h"
#include "csv.h"

static const char *const required[] = {"name", "url",  "username",  "password", "lat",
                                       "lon",  "road", "direction", "tags"};
static const char *const optional[] = {"substream_url", "enabled", "transport"};

typedef struct {
  const char *source;
  GString *out;
  guint count;
} problems_t;

static void G_GNUC_PRINTF(3, 4) problem(problems_t *p, guint line, const char *fmt, ...)
{
  p->count++;
  if (p->count > CW_IMPORT_MAX_PROBLEMS)
    return;
  va_list ap;
  va_start(ap, fmt);
  g_string_append_printf(p->out, "%s:%u: ", p->source, line);
  g_string_append_vprintf(p->out, fmt, ap);
  g_string_append_c(p->out, '\n');
  va_end(ap);
}

void
cw_camera_spec_free(gpointer spec)
{
  cw_camera_spec_clear(spec);
  g_free(spec);
}

static gboolean
known_column(const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS(required); i++)
    if (strcmp(name, required[i]) == 0)
      return TRUE;
  for (guint i = 0; i < G_N_ELEMENTS(optional); i++)
    if (strcmp(name, optional[i]) == 0)
      return TRUE;
  return FALSE;
}

/* Checks the header; returns FALSE (with problems) when rows cannot be
 * read against it. */
static gboolean
check_header(problems_t *p, const cw_csv_record_t *hdr)
{
  gboolean ok = TRUE;
  GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
  for (guint i = 0; i < hdr->fields->len; i++) {
    char *col = hdr->fields->pdata[i];
    g_strstrip(col);
    char *lower = g_ascii_strdown(col, -1);
    strcpy(col, lower);
    g_free(lower);
    if (!known_column(col)) {
      /* Escaped: a header cell must not be able to forge a problem line. */
      char *shown = cw_error_quote(col);
      problem(p, hdr->line,
              "header: unknown column '%s' (columns: name, url, username, password, lat, lon, "
              "road, direction, tags, substream_url, enabled, transport)",
              shown);
      g_free(shown);
      ok = FALSE;
    } else if (!g_hash_table_add(seen, col)) {
      problem(p, hdr->line, "header: column '%s' appears twice", col);
      ok = FALSE;
    }
  }
  for (guint i = 0; i < G_N_ELEMENTS(required); i++) {
    if (!g_hash_table_contains(seen, required[i])) {
      problem(p, hdr->line, "header: missing column '%s'", required[i]);
      ok = FALSE;
    }
  }
  g_hash_table_destroy(seen);
  return ok;
}

guint
cw_camera_import_parse(const char *source, const char *buf, gsize len, GPtrArray *specs,
                       GArray *lines, GString *problems)
{
  problems_t p = {source, problems, 0};
  cw_csv_reader_t *r = cw_csv_reader_new(buf, len, 0, 0);
  cw_csv_record_t hdr = {0}, rec = {0};
  cw_error_t err;
  /* lower-cased name -> line of its first appearance */
  GHashTable *names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  guint rows = 0;

  int rc = cw_csv_reader_next(r, &hdr, &err);
  if (rc <= 0) {
    if (rc == 0)
      problem(&p, 1, "header: file is empty (expected a header line naming the columns)");
    else
      problem(&p, cw_csv_reader_error_line(r), "header: %s", strchr(err.msg, ':') + 2);
    goto out;
  }
  if (!check_header(&p, &hdr))
    goto out;

  for (;;) {
    cw_csv_record_clear(&rec);
    rc = cw_csv_reader_next(r, &rec, &err);
    if (rc == 0)
      break;
    if (rc < 0) {
      /* The reader's message starts "line N: "; keep the FILE:LINE form. */
      problem(&p, cw_csv_reader_error_line(r), "row: %s", strchr(err.msg, ':') + 2);
      continue;
    }
    if (++rows > CW_IMPORT_MAX_ROWS) {
      problem(&p, rec.line, "row: more than %d rows; split the file", CW_IMPORT_MAX_ROWS);
      break;
    }
    if (rec.fields->len != hdr.fields->len) {
      problem(&p, rec.line, "row: has %u fields but the header has %u", rec.fields->len,
              hdr.fields->len);
      continue;
    }
    cw_camera_spec_t *spec = g_new0(cw_camera_spec_t, 1);
    gboolean good = TRUE;
    for (guint i = 0; i < hdr.fields->len; i++) {
      if (cw_camera_spec_set(spec, hdr.fields->pdata[i], rec.fields->pdata[i], &err) < 0) {
        problem(&p, rec.line, "%s", err.msg);
        good = FALSE;
      }
    }
    if (good && cw_camera_spec_finish(spec, TRUE, &err) < 0) {
      problem(&p, rec.line, "%s", err.msg);
      good = FALSE;
    }
    if (good) {
      char *key = g_ascii_strdown(spec->name, -1);
      gpointer first = g_hash_table_lookup(names, key);
      if (first) {
        problem(&p, rec.line,
                "name: '%s' is already used on line %u (names are compared "
                "regardless of case)",
                spec->name, GPOINTER_TO_UINT(first));
        g_free(key);
        good = FALSE;
      } else {
        g_hash_table_insert(names, key, GUINT_TO_POINTER(rec.line));
      }
    }
    if (!good) {
      cw_camera_spec_free(spec);
      continue;
    }
    g_ptr_array_add(specs, spec);
    g_array_append_val(lines, rec.line);
  }
  if (rows == 0 && p.count == 0)
    problem(&p, hdr.line, "row: no cameras after the header");
out:
  if (p.count > CW_IMPORT_MAX_PROBLEMS)
    g_string_append_printf(problems, "%s: ... and %u more problems\n", source,
                           p.count - CW_IMPORT_MAX_PROBLEMS);
  cw_csv_record_clear(&hdr);
  cw_csv_record_clear(&rec);
  g_hash_table_destroy(names);
  cw_csv_reader_free(r);
  return p.count;
}
