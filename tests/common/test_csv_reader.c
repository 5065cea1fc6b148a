/* Unit tests for common/csv.c, the RFC 4180 reader: records, quoting, line
 * ends, blank lines, empty fields, every error with its "line N: reason"
 * message and the line the bad record starts on, resynchronisation after an
 * error, the limits, a large generated input, and robustness over every
 * prefix of a tricky buffer and over random bytes.
 *
 * Every input is copied into a heap buffer of exactly its length, so a read
 * past the end is an AddressSanitizer error rather than a silent look at the
 * literal's terminating NUL. */
#include "csv.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

/* ---- helpers ---------------------------------------------------------- */

typedef struct {
  cw_csv_reader_t *r;
  char *buf; /* exact-size copy of the input, owned */
} rd_t;

static rd_t
rd_open_n(const char *s, size_t len, size_t max_field, guint max_fields)
{
  rd_t t;
  t.buf = len ? g_memdup2(s, len) : NULL;
  t.r = cw_csv_reader_new(t.buf, len, max_field, max_fields);
  return t;
}

/* For string literals, which may hold NUL bytes: the length is the array's. */
#define RD(lit) rd_open_n((lit), sizeof(lit) - 1, 0, 0)
#define RD_LIM(lit, max_field, max_fields)                                                         \
  rd_open_n((lit), sizeof(lit) - 1, (max_field), (max_fields))

static void
rd_close(rd_t *t)
{
  cw_csv_reader_free(t->r);
  g_free(t->buf);
}

/* The next call returns a record starting on line with exactly the given
 * fields (a NULL-terminated list). */
static void G_GNUC_NULL_TERMINATED
expect_record(rd_t *t, guint line, ...)
{
  cw_csv_record_t rec = {0};
  cw_error_t err = {0};
  int rc = cw_csv_reader_next(t->r, &rec, &err);
  if (rc != 1)
    g_test_message("expected a record on line %u, got %d \"%s\"", line, rc, err.msg);
  g_assert_cmpint(rc, ==, 1);
  g_assert_nonnull(rec.fields);

  va_list ap;
  va_start(ap, line);
  guint n = 0;
  const char *want;
  while ((want = va_arg(ap, const char *)) != NULL) {
    g_assert_cmpuint(n, <, rec.fields->len);
    g_assert_cmpstr(g_ptr_array_index(rec.fields, n), ==, want);
    n++;
  }
  va_end(ap);
  g_assert_cmpuint(rec.fields->len, ==, n);
  g_assert_cmpuint(rec.line, ==, line);
  cw_csv_record_clear(&rec);
}

/* The next call fails with -EINVAL, exactly msg, and error line `line`. */
static void
expect_error(rd_t *t, guint line, const char *msg)
{
  cw_csv_record_t rec = {0};
  cw_error_t err = {0};
  int rc = cw_csv_reader_next(t->r, &rec, &err);
  g_assert_cmpint(rc, ==, -EINVAL);
  g_assert_cmpint(err.code, ==, -EINVAL);
  g_assert_cmpstr(err.msg, ==, msg);
  g_assert_null(rec.fields);
  g_assert_cmpuint(cw_csv_reader_error_line(t->r), ==, line);
}

/* The input is over, and stays over. */
static void
expect_end(rd_t *t)
{
  for (int i = 0; i < 2; i++) {
    cw_csv_record_t rec = {0};
    cw_error_t err = {0};
    g_assert_cmpint(cw_csv_reader_next(t->r, &rec, &err), ==, 0);
    g_assert_null(rec.fields);
  }
}

/* ---- simple records --------------------------------------------------- */

static void
test_simple_records(void)
{
  rd_t t = RD("a,b,c\n1,2,3\n");
  expect_record(&t, 1, "a", "b", "c", NULL);
  expect_record(&t, 2, "1", "2", "3", NULL);
  expect_end(&t);
  rd_close(&t);
}

static void
test_simple_single_field(void)
{
  rd_t t = RD("only\n");
  expect_record(&t, 1, "only", NULL);
  expect_end(&t);
  rd_close(&t);
}

static void
test_simple_empty_input(void)
{
  rd_t t = RD("");
  g_assert_cmpuint(cw_csv_reader_error_line(t.r), ==, 0);
  expect_end(&t);
  rd_close(&t);
}

static void
test_simple_spaces_are_data(void)
{
  rd_t t = RD(" a , b \n");
  expect_record(&t, 1, " a ", " b ", NULL);
  expect_end(&t);
  rd_close(&t);
}

static void
test_simple_multibyte_utf8(void)
{
  rd_t t = RD("città,\xE2\x82\xAC,\xF0\x9F\x98\x80\n");
  expect_record(&t, 1, "città", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", NULL);
  expect_end(&t);
  rd_close(&t);
}

/* ---- quoted fields ---------------------------------------------------- */

static void
test_quoted_comma(void)
{
  rd_t t = RD("\"a,b\",c\n");
  expect_record(&t, 1, "a,b", "c", NULL);
  expect_end(&t);
  rd_close(&t);
}

static void
test_quoted_doubled_quote(void)
{
  rd_t t = RD("\"say \"\"hi\"\"\",\"\"\"\"\n");
  expect_record(&t, 1, "say \"hi\"", "\"", NULL);
  expect_end(&t);
  rd_close(&t);
}

static void
test_quoted_empty_field(void)
{
  rd_t t = RD("\"\",x,\"\"\n");
  expect_record(&t, 1, "", "x", "", NULL);
  expect_end(&t);
  rd_close(&t);
}

static void
test_quoted_embedded_newline_keeps_line_numbers(void)
{
  rd_t t = RD("h1,h2\n\"two\nlines\",x\n\"three\n\nlines\"\nlast,y\n");
  expect_record(&t, 1, "h1", "h2", NULL);
  expect_record(&t, 2, "two\nlines", "x", NULL);
  expect_record(&t, 4, "three\n\nlines", NULL);
  expect_record(&t, 7, "last", "y", NULL);
  expect_end(&t);
  rd_close(&t);
}

static void
test_quoted_embedded_crlf_kept_and_counted(void)
{
  rd_t t = RD("\"a\r\nb\",c\r\nd\r\n");
  expect_record(&t, 1, "a\r\nb", "c", NULL);
  expect_record(&t, 3, "d", NULL);
  expect_end(&t);
  rd_close(&t);
}

static void
test_quoted_bare_cr_is_data(void)
{
  rd_t t = RD("\"a\rb\"\nc\n");
  expect_record(&t, 1, "a\rb", NULL);
  expect_record(&t, 2, "c", NULL);
  expect_end(&t);
  rd_close(&t);
}

static void
test_quoted_at_end_of_input(void)
{
  rd_t t = RD("a,\"b\"");
  expect_record(&t, 1, "a", "b", NULL);
  expect_end(&t);
  rd_close(&t);
}

/* ---- line ends -------------------------------------------------------- */

static void
test_line_end_crlf(void)
{
  rd_t t = RD("a,b\r\n\"c\",d\r\ne,\"f\"\r\n");
  expect_record(&t, 1, "a", "b", NULL);
  expect_record(&t, 2, "c", "d", NULL);
  expect_record(&t, 3, "e", "f", NULL);
  expect_end(&t);
  rd_close(&t);
}

static void
test_line_end_mixed_lf_and_crlf(void)
{
  rd_t t = RD("a\r\nb\nc\r\n");
  expect_record(&t, 1, "a", NULL);
  expect_record(&t, 2, "b", NULL);
  expect_record(&t, 3, "c", NULL);
  expect_end(&t);
  rd_close(&t);
}

static void
test_line_end_missing_at_end(void)
{
  rd_t t = RD("a,b\nc,d");
  expect_record(&t, 1, "a", "b", NULL);
  expect_record(&t, 2, "c", "d", NULL);
  expect_end(&t);
  rd_close(&t);
}

/* ---- byte-order mark -------------------------------------------------- */

static void
test_bom_skipped(void)
{
  rd_t t = RD("\xEF\xBB\xBF"
              "id,name\n1,x\n");
  expect_record(&t, 1, "id", "name", NULL);
  expect_record(&t, 2, "1", "x", NULL);
  expect_end(&t);
  rd_close(&t);
}

static void
test_bom_before_quoted_field(void)
{
  rd_t t = RD("\xEF\xBB\xBF\"a,b\"\n");
  expect_record(&t, 1, "a,b", NULL);
  expect_end(&t);
  rd_close(&t);
}

static void
test_bom_alone_is_empty_input(void)
{
  rd_t t = RD("\xEF\xBB\xBF");
  expect_end(&t);
  rd_close(&t);
}

static void
test_bom_only_skipped_at_start(void)
{
  rd_t t = RD("a\n\xEF\xBB\xBF"
              "b\n");
  expect_record(&t, 1, "a", NULL);
  expect_record(&t, 2,
                "\xEF\xBB\xBF"
                "b",
                NULL);
  expect_end(&t);
  rd_close(&t);
}

/* ---- blank lines ------------------------------------------------------ */

static void
test_blank_lf_lines_skipped(void)
{
  rd_t t = RD("\n\na\n\n\nb\n\n");
  expect_record(&t, 3, "a", NULL);
  expect_record(&t, 6, "b", NULL);
  expect_end(&t);
  rd_close(&t);
}

static void
test_blank_crlf_lines_skipped(void)
{
  rd_t t = RD("\r\na\r\n\r\n\r\nb\r\n\r\n");
  expect_record(&t, 2, "a", NULL);
  expect_record(&t, 5, "b", NULL);
  expect_end(&t);
  rd_close(&t);
}

static void
test_blank_only_blank_lines_is_end(void)
{
  rd_t t = RD("\n\r\n\n");
  expect_end(&t);
  rd_close(&t);
}

/* ---- empty fields ----------------------------------------------------- */

static void
test_empty_double_comma(void)
{
  rd_t t = RD("a,,b\n,,\n");
  expect_record(&t, 1, "a", "", "b", NULL);
  expect_record(&t, 2, "", "", "", NULL);
  expect_end(&t);
  rd_close(&t);
}

static void
test_empty_trailing_field(void)
{
  rd_t t = RD("a,\nb,\r\n");
  expect_record(&t, 1, "a", "", NULL);
  expect_record(&t, 2, "b", "", NULL);
  expect_end(&t);
  rd_close(&t);
}

static void
test_empty_trailing_field_at_end_of_input(void)
{
  rd_t t = RD("a,");
  expect_record(&t, 1, "a", "", NULL);
  expect_end(&t);
  rd_close(&t);
}

static void
test_empty_lone_comma_is_two_fields(void)
{
  rd_t t = RD(",\n,\r\n,");
  expect_record(&t, 1, "", "", NULL);
  expect_record(&t, 2, "", "", NULL);
  expect_record(&t, 3, "", "", NULL);
  expect_end(&t);
  rd_close(&t);
}

/* ---- errors ----------------------------------------------------------- */

static void
test_error_line_zero_before_any_error(void)
{
  rd_t t = RD("a\nb\n");
  expect_record(&t, 1, "a", NULL);
  expect_record(&t, 2, "b", NULL);
  expect_end(&t);
  g_assert_cmpuint(cw_csv_reader_error_line(t.r), ==, 0);
  rd_close(&t);
}

static void
test_error_unterminated_quote_ends_input(void)
{
  rd_t t = RD("a\n\"open,b\nc,d\ne\n");
  expect_record(&t, 1, "a", NULL);
  expect_error(&t, 2,
               "line 2: unterminated quoted field (the quote opened on line 2 is never closed)");
  expect_end(&t);
  g_assert_cmpuint(cw_csv_reader_error_line(t.r), ==, 2);
  rd_close(&t);
}

static void
test_error_unterminated_quote_names_opening_line(void)
{
  /* The record starts on line 1; the quote that never closes opens on 2. */
  rd_t t = RD("\"x\ny\",\"z\nw\n");
  expect_error(&t, 1,
               "line 1: unterminated quoted field (the quote opened on line 2 is never closed)");
  expect_end(&t);
  rd_close(&t);
}

static void
test_error_unterminated_quote_at_end_of_input(void)
{
  rd_t t = RD("a,\"");
  expect_error(&t, 1,
               "line 1: unterminated quoted field (the quote opened on line 1 is never closed)");
  expect_end(&t);
  rd_close(&t);
}

static void
test_error_quote_inside_unquoted_field(void)
{
  rd_t t = RD("a\nb,c\"d\ne\n");
  expect_record(&t, 1, "a", NULL);
  expect_error(&t, 2,
               "line 2: quote character inside an unquoted field 2 (quote the whole field and "
               "double the quote)");
  expect_record(&t, 3, "e", NULL);
  expect_end(&t);
  rd_close(&t);
}

static void
test_error_text_after_closing_quote(void)
{
  rd_t t = RD("a\n\"b\"x,c\nd\n");
  expect_record(&t, 1, "a", NULL);
  expect_error(&t, 2, "line 2: unexpected text after closing quote in field 1");
  expect_record(&t, 3, "d", NULL);
  expect_end(&t);
  rd_close(&t);
}

static void
test_error_bare_cr_in_unquoted_field(void)
{
  rd_t t = RD("a\nb,c\rd\ne\n");
  expect_record(&t, 1, "a", NULL);
  expect_error(&t, 2, "line 2: bare carriage return in field 2");
  expect_record(&t, 3, "e", NULL);
  expect_end(&t);
  rd_close(&t);
}

static void
test_error_bare_cr_at_end_of_input(void)
{
  rd_t t = RD("a\nb\r");
  expect_record(&t, 1, "a", NULL);
  expect_error(&t, 2, "line 2: bare carriage return in field 1");
  expect_end(&t);
  rd_close(&t);
}

static void
test_error_nul_in_unquoted_field(void)
{
  rd_t t = RD("a\nb,c\0d\ne\n");
  expect_record(&t, 1, "a", NULL);
  expect_error(&t, 2, "line 2: NUL byte");
  expect_record(&t, 3, "e", NULL);
  expect_end(&t);
  rd_close(&t);
}

static void
test_error_nul_in_quoted_field(void)
{
  rd_t t = RD("a\n\"b\0c\",d\ne\n");
  expect_record(&t, 1, "a", NULL);
  expect_error(&t, 2, "line 2: NUL byte");
  expect_record(&t, 3, "e", NULL);
  expect_end(&t);
  rd_close(&t);
}

static void
test_error_invalid_utf8_in_unquoted_field(void)
{
  rd_t t = RD("a\nb,\xFF\nc\n");
  expect_record(&t, 1, "a", NULL);
  expect_error(&t, 2, "line 2: invalid UTF-8 in field 2");
  expect_record(&t, 3, "c", NULL);
  expect_end(&t);
  rd_close(&t);
}

static void
test_error_invalid_utf8_in_quoted_field(void)
{
  rd_t t = RD("a\n\"\xC3\",b\nc\n");
  expect_record(&t, 1, "a", NULL);
  expect_error(&t, 2, "line 2: invalid UTF-8 in field 1");
  expect_record(&t, 3, "c", NULL);
  expect_end(&t);
  rd_close(&t);
}

static void
test_error_invalid_utf8_overlong_and_surrogate(void)
{
  /* An overlong NUL and an encoded UTF-16 surrogate are not UTF-8. */
  rd_t t = RD("\xC0\x80\n\xED\xA0\x80\nok\n");
  expect_error(&t, 1, "line 1: invalid UTF-8 in field 1");
  expect_error(&t, 2, "line 2: invalid UTF-8 in field 1");
  expect_record(&t, 3, "ok", NULL);
  expect_end(&t);
  rd_close(&t);
}

static void
test_error_field_longer_than_max_field(void)
{
  rd_t t = RD_LIM("a\nb,cdef\ng\n", 3, 0);
  expect_record(&t, 1, "a", NULL);
  expect_error(&t, 2, "line 2: field longer than 3 bytes");
  expect_record(&t, 3, "g", NULL);
  expect_end(&t);
  rd_close(&t);
}

static void
test_error_more_than_max_fields(void)
{
  rd_t t = RD_LIM("a,b\na,b,c\nd\n", 0, 2);
  expect_record(&t, 1, "a", "b", NULL);
  expect_error(&t, 2, "line 2: more than 2 fields");
  expect_record(&t, 3, "d", NULL);
  expect_end(&t);
  rd_close(&t);
}

static void
test_error_line_is_where_multiline_record_starts(void)
{
  /* The bad text is on line 3, but the record started on line 2. */
  rd_t t = RD("a\n\"x\ny\"z\nok\n");
  expect_record(&t, 1, "a", NULL);
  expect_error(&t, 2, "line 2: unexpected text after closing quote in field 1");
  expect_record(&t, 4, "ok", NULL);
  expect_end(&t);
  g_assert_cmpuint(cw_csv_reader_error_line(t.r), ==, 2);
  rd_close(&t);
}

static void
test_error_line_follows_latest_error(void)
{
  rd_t t = RD("a\"\nok\n\n\"b\"c\n");
  expect_error(&t, 1,
               "line 1: quote character inside an unquoted field 1 (quote the whole field and "
               "double the quote)");
  expect_record(&t, 2, "ok", NULL);
  g_assert_cmpuint(cw_csv_reader_error_line(t.r), ==, 1);
  expect_error(&t, 4, "line 4: unexpected text after closing quote in field 1");
  expect_end(&t);
  g_assert_cmpuint(cw_csv_reader_error_line(t.r), ==, 4);
  rd_close(&t);
}

static void
test_error_null_err_is_allowed(void)
{
  rd_t t = RD("a\"\nb\n");
  cw_csv_record_t rec = {0};
  g_assert_cmpint(cw_csv_reader_next(t.r, &rec, NULL), ==, -EINVAL);
  g_assert_cmpuint(cw_csv_reader_error_line(t.r), ==, 1);
  g_assert_cmpint(cw_csv_reader_next(t.r, &rec, NULL), ==, 1);
  g_assert_cmpuint(rec.line, ==, 2);
  cw_csv_record_clear(&rec);
  rd_close(&t);
}

/* ---- resynchronisation ------------------------------------------------ */

static void
test_resync_record_after_error_keeps_its_line(void)
{
  rd_t t = RD("h,i\nbad\"x,y\nnext,row\n");
  expect_record(&t, 1, "h", "i", NULL);
  expect_error(&t, 2,
               "line 2: quote character inside an unquoted field 1 (quote the whole field and "
               "double the quote)");
  expect_record(&t, 3, "next", "row", NULL);
  expect_end(&t);
  rd_close(&t);
}

static void
test_resync_after_crlf_line(void)
{
  rd_t t = RD("h\r\n\"a\"b\r\nc\r\n");
  expect_record(&t, 1, "h", NULL);
  expect_error(&t, 2, "line 2: unexpected text after closing quote in field 1");
  expect_record(&t, 3, "c", NULL);
  expect_end(&t);
  rd_close(&t);
}

static void
test_resync_consecutive_bad_lines(void)
{
  rd_t t = RD("a\"\n\"b\"c\nd\re\nok\n");
  expect_error(&t, 1,
               "line 1: quote character inside an unquoted field 1 (quote the whole field and "
               "double the quote)");
  expect_error(&t, 2, "line 2: unexpected text after closing quote in field 1");
  expect_error(&t, 3, "line 3: bare carriage return in field 1");
  expect_record(&t, 4, "ok", NULL);
  expect_end(&t);
  rd_close(&t);
}

static void
test_resync_error_on_last_line_then_end(void)
{
  rd_t t = RD("a\nb\"c");
  expect_record(&t, 1, "a", NULL);
  expect_error(&t, 2,
               "line 2: quote character inside an unquoted field 1 (quote the whole field and "
               "double the quote)");
  expect_end(&t);
  rd_close(&t);
}

static void
test_resync_blank_lines_after_error_still_counted(void)
{
  rd_t t = RD("x\"\n\n\r\ny\n");
  expect_error(&t, 1,
               "line 1: quote character inside an unquoted field 1 (quote the whole field and "
               "double the quote)");
  expect_record(&t, 4, "y", NULL);
  expect_end(&t);
  rd_close(&t);
}

/* ---- limits ----------------------------------------------------------- */

static void
test_limits_max_field_exact_is_accepted(void)
{
  rd_t t = RD_LIM("abc,\"d,f\"\n", 3, 0);
  expect_record(&t, 1, "abc", "d,f", NULL);
  expect_end(&t);
  rd_close(&t);
}

static void
test_limits_max_field_plus_one_is_rejected(void)
{
  rd_t t = RD_LIM("abcd\nok\n", 3, 0);
  expect_error(&t, 1, "line 1: field longer than 3 bytes");
  expect_record(&t, 2, "ok", NULL);
  expect_end(&t);
  rd_close(&t);
}

static void
test_limits_quoted_max_field_plus_one_is_rejected(void)
{
  rd_t t = RD_LIM("\"ab,d\"\nok\n", 3, 0);
  expect_error(&t, 1, "line 1: field longer than 3 bytes");
  expect_record(&t, 2, "ok", NULL);
  expect_end(&t);
  rd_close(&t);
}

static void
test_limits_max_field_counts_unescaped_bytes(void)
{
  /* Five bytes written, three bytes of value: a"b. */
  rd_t t = RD_LIM("\"a\"\"b\"\n", 3, 0);
  expect_record(&t, 1, "a\"b", NULL);
  expect_end(&t);
  rd_close(&t);
}

static void
test_limits_doubled_quotes_count_toward_max_field(void)
{
  /* Three quotes fit; four do not, even when every byte is an escaped quote. */
  rd_t t = RD_LIM("\"\"\"\"\"\"\"\"\n"
                  "\"\"\"\"\"\"\"\"\"\"\n"
                  "ok\n",
                  3, 0);
  expect_record(&t, 1, "\"\"\"", NULL);
  expect_error(&t, 2, "line 2: field longer than 3 bytes");
  expect_record(&t, 3, "ok", NULL);
  expect_end(&t);
  rd_close(&t);
}

static void
test_limits_max_field_counts_bytes_not_characters(void)
{
  /* "é" is two bytes. */
  rd_t t = RD_LIM("\xC3\xA9\n\xC3\xA9\xC3\xA9\n", 2, 0);
  expect_record(&t, 1, "\xC3\xA9", NULL);
  expect_error(&t, 2, "line 2: field longer than 2 bytes");
  expect_end(&t);
  rd_close(&t);
}

static void
test_limits_embedded_newline_counts_toward_max_field(void)
{
  rd_t t = RD_LIM("\"a\nb\"\n\"ab\ncd\"\nok\n", 3, 0);
  expect_record(&t, 1, "a\nb", NULL);
  expect_error(&t, 3, "line 3: field longer than 3 bytes");
  /* The reader skips to the line after the one it stopped on (line 4). */
  expect_record(&t, 5, "ok", NULL);
  expect_end(&t);
  rd_close(&t);
}

static void
test_limits_max_fields_exact_is_accepted(void)
{
  rd_t t = RD_LIM("a,b,c\n,,\n", 0, 3);
  expect_record(&t, 1, "a", "b", "c", NULL);
  expect_record(&t, 2, "", "", "", NULL);
  expect_end(&t);
  rd_close(&t);
}

static void
test_limits_trailing_empty_field_counts_toward_max_fields(void)
{
  rd_t t = RD_LIM("a,b,\nc\n", 0, 2);
  expect_error(&t, 1, "line 1: more than 2 fields");
  expect_record(&t, 2, "c", NULL);
  expect_end(&t);
  rd_close(&t);
}

static void
test_limits_defaults(void)
{
  /* 64 KiB per field and 256 fields per record when 0 is given. */
  GString *s = g_string_new(NULL);
  for (guint i = 0; i < 64 * 1024; i++)
    g_string_append_c(s, 'x');
  g_string_append(s, "\n");
  for (guint i = 0; i < 64 * 1024 + 1; i++)
    g_string_append_c(s, 'y');
  g_string_append(s, "\n");
  for (guint i = 0; i < 255; i++)
    g_string_append_c(s, ',');
  g_string_append(s, "\n");
  for (guint i = 0; i < 256; i++)
    g_string_append_c(s, ',');
  g_string_append(s, "\nend\n");

  rd_t t = rd_open_n(s->str, s->len, 0, 0);
  cw_csv_record_t rec = {0};
  cw_error_t err = {0};
  g_assert_cmpint(cw_csv_reader_next(t.r, &rec, &err), ==, 1);
  g_assert_cmpuint(rec.fields->len, ==, 1);
  g_assert_cmpuint(strlen(g_ptr_array_index(rec.fields, 0)), ==, 64 * 1024);
  cw_csv_record_clear(&rec);
  expect_error(&t, 2, "line 2: field longer than 65536 bytes");
  g_assert_cmpint(cw_csv_reader_next(t.r, &rec, &err), ==, 1);
  g_assert_cmpuint(rec.line, ==, 3);
  g_assert_cmpuint(rec.fields->len, ==, 256);
  cw_csv_record_clear(&rec);
  expect_error(&t, 4, "line 4: more than 256 fields");
  expect_record(&t, 5, "end", NULL);
  expect_end(&t);
  rd_close(&t);
  g_string_free(s, TRUE);
}

/* ---- reader and record ------------------------------------------------ */

static void
test_record_reused_without_clear(void)
{
  /* next() clears a record it was given back, so reuse does not leak. */
  rd_t t = RD("a,b\nc\n");
  cw_csv_record_t rec = {0};
  cw_error_t err = {0};
  g_assert_cmpint(cw_csv_reader_next(t.r, &rec, &err), ==, 1);
  g_assert_cmpint(cw_csv_reader_next(t.r, &rec, &err), ==, 1);
  g_assert_cmpuint(rec.line, ==, 2);
  g_assert_cmpuint(rec.fields->len, ==, 1);
  g_assert_cmpstr(g_ptr_array_index(rec.fields, 0), ==, "c");
  g_assert_cmpint(cw_csv_reader_next(t.r, &rec, &err), ==, 0);
  g_assert_null(rec.fields);
  cw_csv_record_clear(&rec); /* clearing a cleared record is harmless */
  rd_close(&t);
}

static void
test_reader_independent_readers_interleave(void)
{
  rd_t a = RD("a1\na2\n");
  rd_t b = RD("\n\"b1\"\nb\"2\n");
  expect_record(&a, 1, "a1", NULL);
  expect_record(&b, 2, "b1", NULL);
  expect_record(&a, 2, "a2", NULL);
  expect_error(&b, 3,
               "line 3: quote character inside an unquoted field 1 (quote the whole field and "
               "double the quote)");
  g_assert_cmpuint(cw_csv_reader_error_line(a.r), ==, 0);
  expect_end(&a);
  expect_end(&b);
  rd_close(&a);
  rd_close(&b);
}

/* ---- a large generated input ------------------------------------------ */

#define BULK_RECORDS 10000

static void
test_bulk_ten_thousand_lines_in_order(void)
{
  /* Plain rows, rows with a quoted comma and doubled quotes, rows whose
   * quoted field spans two lines, CRLF ends and blank lines sprinkled in,
   * and no line end after the last row. */
  GString *s = g_string_new(NULL);
  guint *want_line = g_new(guint, BULK_RECORDS);
  guint line = 1;
  for (guint i = 0; i < BULK_RECORDS; i++) {
    want_line[i] = line;
    if (i % 7 == 3) {
      g_string_append_printf(s, "%u,\"two\nlines %u\",end", i, i);
      line++;
    } else if (i % 5 == 1) {
      g_string_append_printf(s, "%u,\"q,\"\"%u\"\"\",end", i, i);
    } else {
      g_string_append_printf(s, "%u,plain %u,end", i, i);
    }
    if (i == BULK_RECORDS - 1)
      break;
    g_string_append(s, i % 11 == 0 ? "\r\n" : "\n");
    line++;
    if (i % 13 == 0) {
      g_string_append(s, i % 2 ? "\r\n" : "\n");
      line++;
    }
  }

  rd_t t = rd_open_n(s->str, s->len, 0, 0);
  for (guint i = 0; i < BULK_RECORDS; i++) {
    char id[16], mid[64];
    g_snprintf(id, sizeof id, "%u", i);
    if (i % 7 == 3)
      g_snprintf(mid, sizeof mid, "two\nlines %u", i);
    else if (i % 5 == 1)
      g_snprintf(mid, sizeof mid, "q,\"%u\"", i);
    else
      g_snprintf(mid, sizeof mid, "plain %u", i);
    expect_record(&t, want_line[i], id, mid, "end", NULL);
  }
  expect_end(&t);
  g_assert_cmpuint(cw_csv_reader_error_line(t.r), ==, 0);
  rd_close(&t);
  g_free(want_line);
  g_string_free(s, TRUE);
}

/* ---- robustness ------------------------------------------------------- */

/* Reads buf to the end, checking every step: 1 with a non-empty record of
 * valid UTF-8 within the limits, 0 (then 0 again), or -EINVAL with "line N: "
 * naming cw_csv_reader_error_line(); lines strictly increase and never pass
 * the last physical line; at most len + 2 calls. */
static void
drain_checked(const char *src, size_t len, size_t max_field, guint max_fields)
{
  char *buf = len ? g_memdup2(src, len) : NULL;
  size_t field_limit = max_field ? max_field : 64 * 1024;
  guint fields_limit = max_fields ? max_fields : 256;
  guint lines = 1;
  for (size_t i = 0; i < len; i++)
    lines += buf[i] == '\n';

  cw_csv_reader_t *r = cw_csv_reader_new(buf, len, max_field, max_fields);
  guint last = 0;
  gboolean ended = FALSE;
  for (size_t calls = 0; calls < len + 2 && !ended; calls++) {
    cw_csv_record_t rec = {0};
    cw_error_t err = {0};
    int rc = cw_csv_reader_next(r, &rec, &err);
    if (rc == 0) {
      g_assert_null(rec.fields);
      ended = TRUE;
    } else if (rc == 1) {
      g_assert_nonnull(rec.fields);
      g_assert_cmpuint(rec.fields->len, >=, 1);
      g_assert_cmpuint(rec.fields->len, <=, fields_limit);
      for (guint f = 0; f < rec.fields->len; f++) {
        const char *v = g_ptr_array_index(rec.fields, f);
        g_assert_cmpuint(strlen(v), <=, field_limit);
        g_assert_true(g_utf8_validate(v, -1, NULL));
      }
      g_assert_cmpuint(rec.line, >, last);
      g_assert_cmpuint(rec.line, <=, lines);
      last = rec.line;
      cw_csv_record_clear(&rec);
    } else {
      g_assert_cmpint(rc, ==, -EINVAL);
      g_assert_cmpint(err.code, ==, -EINVAL);
      g_assert_null(rec.fields);
      guint el = cw_csv_reader_error_line(r);
      g_assert_cmpuint(el, >, last);
      g_assert_cmpuint(el, <=, lines);
      char prefix[32];
      g_snprintf(prefix, sizeof prefix, "line %u: ", el);
      g_assert_true(g_str_has_prefix(err.msg, prefix));
      g_assert_cmpuint(strlen(err.msg), >, strlen(prefix));
      last = el;
    }
  }
  g_assert_true(ended);
  cw_csv_record_t rec = {0};
  g_assert_cmpint(cw_csv_reader_next(r, &rec, NULL), ==, 0);
  cw_csv_reader_free(r);
  g_free(buf);
}

static void
test_robust_every_prefix_of_tricky_buffer(void)
{
  static const char tricky[] = "\xEF\xBB\xBF"
                               "id,\"na\"\"me\",città\r\n"
                               "\"multi\r\nline\",\"q,\"\"x\"\"\"\r\n"
                               "\r\n\n,,\n,\r\n"
                               "\"\xE2\x82\xAC\",\xF0\x9F\x98\x80,\"\"\r\n"
                               "\"\"\"\"\"\"\n"
                               "\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\n"
                               "\"a\"b,c\n"
                               "d\"e\n"
                               "f\rg\n"
                               "\"h\0i\"\n"
                               "j\0k\n"
                               "\xC3\x28,\"\xE2\x82\"\n"
                               "a,b,c,d,e\n"
                               "abcdefghij\n"
                               "\"x\"\r"
                               "\"last\r\n\"\"open";
  const size_t n = sizeof tricky - 1;
  for (size_t len = 0; len <= n; len++) {
    drain_checked(tricky, len, 0, 0);
    drain_checked(tricky, len, 6, 4);
  }
}

static void
test_robust_random_byte_strings(void)
{
  /* Half the bytes from the characters the grammar cares about, half
   * uniform; every fourth string only quotes, commas, CRs and LFs; small
   * limits on every other string. */
  static const guint8 interesting[] = {'"',  ',',  '\r', '\n', '\0', 'a',  ' ',  0xC3,
                                       0xA9, 0xEF, 0xBB, 0xBF, 0xE2, 0x82, 0xAC, 0xFF};
  GRand *rnd = g_rand_new_with_seed(0xC5F4180u);
  guint8 buf[64];
  for (guint iter = 0; iter < 20000; iter++) {
    size_t len = (size_t)g_rand_int_range(rnd, 0, (gint32)sizeof buf + 1);
    gboolean small = iter % 4 == 3; /* runs of quotes, commas and lines */
    for (size_t i = 0; i < len; i++) {
      if (small)
        buf[i] = interesting[g_rand_int_range(rnd, 0, 4)];
      else if (g_rand_boolean(rnd))
        buf[i] = interesting[g_rand_int_range(rnd, 0, (gint32)G_N_ELEMENTS(interesting))];
      else
        buf[i] = (guint8)g_rand_int_range(rnd, 0, 256);
    }
    if (iter % 2)
      drain_checked((const char *)buf, len, (size_t)g_rand_int_range(rnd, 1, 9),
                    (guint)g_rand_int_range(rnd, 1, 5));
    else
      drain_checked((const char *)buf, len, 0, 0);
  }
  g_rand_free(rnd);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);

  g_test_add_func("/csv/simple/records", test_simple_records);
  g_test_add_func("/csv/simple/single_field", test_simple_single_field);
  g_test_add_func("/csv/simple/empty_input_is_end", test_simple_empty_input);
  g_test_add_func("/csv/simple/spaces_are_data", test_simple_spaces_are_data);
  g_test_add_func("/csv/simple/multibyte_utf8", test_simple_multibyte_utf8);

  g_test_add_func("/csv/quoted/comma", test_quoted_comma);
  g_test_add_func("/csv/quoted/doubled_quote", test_quoted_doubled_quote);
  g_test_add_func("/csv/quoted/empty_field", test_quoted_empty_field);
  g_test_add_func("/csv/quoted/embedded_newline_keeps_line_numbers",
                  test_quoted_embedded_newline_keeps_line_numbers);
  g_test_add_func("/csv/quoted/embedded_crlf_kept_and_counted",
                  test_quoted_embedded_crlf_kept_and_counted);
  g_test_add_func("/csv/quoted/bare_cr_is_data", test_quoted_bare_cr_is_data);
  g_test_add_func("/csv/quoted/at_end_of_input", test_quoted_at_end_of_input);

  g_test_add_func("/csv/line_end/crlf", test_line_end_crlf);
  g_test_add_func("/csv/line_end/mixed_lf_and_crlf", test_line_end_mixed_lf_and_crlf);
  g_test_add_func("/csv/line_end/missing_at_end", test_line_end_missing_at_end);

  g_test_add_func("/csv/bom/skipped", test_bom_skipped);
  g_test_add_func("/csv/bom/before_quoted_field", test_bom_before_quoted_field);
  g_test_add_func("/csv/bom/alone_is_empty_input", test_bom_alone_is_empty_input);
  g_test_add_func("/csv/bom/only_skipped_at_start", test_bom_only_skipped_at_start);

  g_test_add_func("/csv/blank/lf_lines_skipped", test_blank_lf_lines_skipped);
  g_test_add_func("/csv/blank/crlf_lines_skipped", test_blank_crlf_lines_skipped);
  g_test_add_func("/csv/blank/only_blank_lines_is_end", test_blank_only_blank_lines_is_end);

  g_test_add_func("/csv/empty/double_comma", test_empty_double_comma);
  g_test_add_func("/csv/empty/trailing_field", test_empty_trailing_field);
  g_test_add_func("/csv/empty/trailing_field_at_end_of_input",
                  test_empty_trailing_field_at_end_of_input);
  g_test_add_func("/csv/empty/lone_comma_is_two_fields", test_empty_lone_comma_is_two_fields);

  g_test_add_func("/csv/error/line_zero_before_any_error", test_error_line_zero_before_any_error);
  g_test_add_func("/csv/error/unterminated_quote_ends_input",
                  test_error_unterminated_quote_ends_input);
  g_test_add_func("/csv/error/unterminated_quote_names_opening_line",
                  test_error_unterminated_quote_names_opening_line);
  g_test_add_func("/csv/error/unterminated_quote_at_end_of_input",
                  test_error_unterminated_quote_at_end_of_input);
  g_test_add_func("/csv/error/quote_inside_unquoted_field", test_error_quote_inside_unquoted_field);
  g_test_add_func("/csv/error/text_after_closing_quote", test_error_text_after_closing_quote);
  g_test_add_func("/csv/error/bare_cr_in_unquoted_field", test_error_bare_cr_in_unquoted_field);
  g_test_add_func("/csv/error/bare_cr_at_end_of_input", test_error_bare_cr_at_end_of_input);
  g_test_add_func("/csv/error/nul_in_unquoted_field", test_error_nul_in_unquoted_field);
  g_test_add_func("/csv/error/nul_in_quoted_field", test_error_nul_in_quoted_field);
  g_test_add_func("/csv/error/invalid_utf8_in_unquoted_field",
                  test_error_invalid_utf8_in_unquoted_field);
  g_test_add_func("/csv/error/invalid_utf8_in_quoted_field",
                  test_error_invalid_utf8_in_quoted_field);
  g_test_add_func("/csv/error/invalid_utf8_overlong_and_surrogate",
                  test_error_invalid_utf8_overlong_and_surrogate);
  g_test_add_func("/csv/error/field_longer_than_max_field", test_error_field_longer_than_max_field);
  g_test_add_func("/csv/error/more_than_max_fields", test_error_more_than_max_fields);
  g_test_add_func("/csv/error/line_is_where_multiline_record_starts",
                  test_error_line_is_where_multiline_record_starts);
  g_test_add_func("/csv/error/line_follows_latest_error", test_error_line_follows_latest_error);
  g_test_add_func("/csv/error/null_err_is_allowed", test_error_null_err_is_allowed);

  g_test_add_func("/csv/resync/record_after_error_keeps_its_line",
                  test_resync_record_after_error_keeps_its_line);
  g_test_add_func("/csv/resync/after_crlf_line", test_resync_after_crlf_line);
  g_test_add_func("/csv/resync/consecutive_bad_lines", test_resync_consecutive_bad_lines);
  g_test_add_func("/csv/resync/error_on_last_line_then_end",
                  test_resync_error_on_last_line_then_end);
  g_test_add_func("/csv/resync/blank_lines_after_error_still_counted",
                  test_resync_blank_lines_after_error_still_counted);

  g_test_add_func("/csv/limits/max_field_exact_is_accepted",
                  test_limits_max_field_exact_is_accepted);
  g_test_add_func("/csv/limits/max_field_plus_one_is_rejected",
                  test_limits_max_field_plus_one_is_rejected);
  g_test_add_func("/csv/limits/quoted_max_field_plus_one_is_rejected",
                  test_limits_quoted_max_field_plus_one_is_rejected);
  g_test_add_func("/csv/limits/max_field_counts_unescaped_bytes",
                  test_limits_max_field_counts_unescaped_bytes);
  g_test_add_func("/csv/limits/doubled_quotes_count_toward_max_field",
                  test_limits_doubled_quotes_count_toward_max_field);
  g_test_add_func("/csv/limits/max_field_counts_bytes_not_characters",
                  test_limits_max_field_counts_bytes_not_characters);
  g_test_add_func("/csv/limits/embedded_newline_counts_toward_max_field",
                  test_limits_embedded_newline_counts_toward_max_field);
  g_test_add_func("/csv/limits/max_fields_exact_is_accepted",
                  test_limits_max_fields_exact_is_accepted);
  g_test_add_func("/csv/limits/trailing_empty_field_counts_toward_max_fields",
                  test_limits_trailing_empty_field_counts_toward_max_fields);
  g_test_add_func("/csv/limits/defaults", test_limits_defaults);

  g_test_add_func("/csv/record/reused_without_clear", test_record_reused_without_clear);
  g_test_add_func("/csv/reader/independent_readers_interleave",
                  test_reader_independent_readers_interleave);

  g_test_add_func("/csv/bulk/ten_thousand_lines_in_order", test_bulk_ten_thousand_lines_in_order);

  g_test_add_func("/csv/robust/every_prefix_of_tricky_buffer",
                  test_robust_every_prefix_of_tricky_buffer);
  g_test_add_func("/csv/robust/random_byte_strings", test_robust_random_byte_strings);

  return g_test_run();
}
