#include "csv.h"

#include <errno.h>
#include <string.h>

#define DEFAULT_MAX_FIELD (64 * 1024)
#define DEFAULT_MAX_FIELDS 256

struct cw_csv_reader {
  const char *buf;
  size_t len, pos;
  size_t max_field;
  guint max_fields;
  guint line; /* physical line of buf[pos] */
  guint error_line;
  gboolean done;
};

cw_csv_reader_t *
cw_csv_reader_new(const char *buf, size_t len, size_t max_field, guint max_fields)
{
  cw_csv_reader_t *r = g_new0(cw_csv_reader_t, 1);
  r->buf = buf;
  r->len = len;
  r->max_field = max_field ? max_field : DEFAULT_MAX_FIELD;
  r->max_fields = max_fields ? max_fields : DEFAULT_MAX_FIELDS;
  r->line = 1;
  if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
    r->pos = 3;
  return r;
}

void
cw_csv_reader_free(cw_csv_reader_t *r)
{
  g_free(r);
}

guint
cw_csv_reader_error_line(const cw_csv_reader_t *r)
{
  return r->error_line;
}

void
cw_csv_record_clear(cw_csv_record_t *rec)
{
  if (rec->fields)
    g_ptr_array_free(rec->fields, TRUE);
  rec->fields = NULL;
  rec->line = 0;
}

/* Skips to just past the next line end, so one bad row does not hide the
 * rows after it. */
static void
resync(cw_csv_reader_t *r)
{
  while (r->pos < r->len && r->buf[r->pos] != '\n')
    r->pos++;
  if (r->pos < r->len) {
    r->pos++;
    r->line++;
  }
}

static int G_GNUC_PRINTF(4, 5)
    fail(cw_csv_reader_t *r, cw_error_t *err, guint line, const char *fmt, ...)
{
  char reason[256];
  va_list ap;
  va_start(ap, fmt);
  g_vsnprintf(reason, sizeof reason, fmt, ap);
  va_end(ap);
  resync(r);
  r->error_line = line;
  return cw_error_set(err, -EINVAL, "line %u: %s", line, reason);
}

/* Ends a field: checks its UTF-8 and moves it into the record. */
static int
end_field(cw_csv_reader_t *r, guint start_line, GString *field, GPtrArray *fields, cw_error_t *err)
{
  if (!g_utf8_validate(field->str, (gssize)field->len, NULL))
    return fail(r, err, start_line, "invalid UTF-8 in field %u", fields->len + 1);
  if (fields->len >= r->max_fields)
    return fail(r, err, start_line, "more than %u fields", r->max_fields);
  g_ptr_array_add(fields, g_strndup(field->str, field->len));
  g_string_truncate(field, 0);
  return 0;
}

int
cw_csv_reader_next(cw_csv_reader_t *r, cw_csv_record_t *rec, cw_error_t *err)
{
  cw_csv_record_clear(rec);
  /* Blank lines between records are not records. */
  while (!r->done && r->pos < r->len) {
    if (r->buf[r->pos] == '\n') {
      r->pos++;
      r->line++;
    } else if (r->buf[r->pos] == '\r' && r->pos + 1 < r->len && r->buf[r->pos + 1] == '\n') {
      r->pos += 2;
      r->line++;
    } else {
      break;
    }
  }
  if (r->done || r->pos >= r->len)
    return 0;

  guint start_line = r->line;
  GPtrArray *fields = g_ptr_array_new_with_free_func(g_free);
  GString *field = g_string_new(NULL);
  int rc = 0;

  for (;;) {
    /* At the start of a field. */
    if (r->pos < r->len && r->buf[r->pos] == '"') {
      guint open_line = r->line;
      r->pos++;
      for (;;) {
        if (r->pos >= r->len) {
          r->done = TRUE; /* nothing after an unclosed quote can be trusted */
          r->error_line = start_line;
          rc = cw_error_set(err, -EINVAL,
                            "line %u: unterminated quoted field (the quote opened on line %u "
                            "is never closed)",
                            start_line, open_line);
          goto out;
        }
        char c = r->buf[r->pos];
        if (c == '"') {
          if (r->pos + 1 < r->len && r->buf[r->pos + 1] == '"') {
            g_string_append_c(field, '"');
            r->pos += 2;
            if (field->len > r->max_field) {
              rc = fail(r, err, start_line, "field longer than %zu bytes", r->max_field);
              goto out;
            }
            continue;
          }
          r->pos++;
          break;
        }
        if (c == '\0') {
          rc = fail(r, err, start_line, "NUL byte");
          goto out;
        }
        if (c == '\n')
          r->line++;
        g_string_append_c(field, c);
        r->pos++;
        if (field->len > r->max_field) {
          rc = fail(r, err, start_line, "field longer than %zu bytes", r->max_field);
          goto out;
        }
      }
      /* After the closing quote only a separator or a line end may come. */
      if (r->pos < r->len && r->buf[r->pos] != ',' && r->buf[r->pos] != '\n' &&
          !(r->buf[r->pos] == '\r' && r->pos + 1 < r->len && r->buf[r->pos + 1] == '\n')) {
        rc = fail(r, err, start_line, "unexpected text after closing quote in field %u",
                  fields->len + 1);
        goto out;
      }
    } else {
      while (r->pos < r->len) {
        char c = r->buf[r->pos];
        if (c == ',' || c == '\n')
          break;
        if (c == '\r') {
          if (r->pos + 1 < r->len && r->buf[r->pos + 1] == '\n')
            break;
          rc = fail(r, err, start_line, "bare carriage return in field %u", fields->len + 1);
          goto out;
        }
        if (c == '"') {
          rc = fail(r, err, start_line,
                    "quote character inside an unquoted field %u (quote the whole field "
                    "and double the quote)",
                    fields->len + 1);
          goto out;
        }
        if (c == '\0') {
          rc = fail(r, err, start_line, "NUL byte");
          goto out;
        }
        g_string_append_c(field, c);
        r->pos++;
        if (field->len > r->max_field) {
          rc = fail(r, err, start_line, "field longer than %zu bytes", r->max_field);
          goto out;
        }
      }
    }
    if ((rc = end_field(r, start_line, field, fields, err)) < 0)
      goto out;
    if (r->pos >= r->len)
      break;
    char c = r->buf[r->pos];
    if (c == ',') {
      r->pos++;
      continue; /* a separator at the very end still opens an empty field */
    }
    /* A line end: "\n" or "\r\n". */
    r->pos += c == '\r' ? 2 : 1;
    r->line++;
    break;
  }
  rec->fields = g_steal_pointer(&fields);
  rec->line = start_line;
  rc = 1;
out:
  if (fields)
    g_ptr_array_free(fields, TRUE);
  g_string_free(field, TRUE);
  return rc;
}
