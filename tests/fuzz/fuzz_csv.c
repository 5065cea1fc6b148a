/* Fuzzes common/csv.c: reads every record of the input, twice (default
 * limits, then tiny ones so the field-length and field-count refusals are
 * reached too), and checks what csv.h promises of each record and error. */
#include <errno.h>
#include <string.h>

#include "csv.h"
#include "fuzz.h"

static void
read_all(const char *buf, size_t len, size_t max_field, guint max_fields)
{
  cw_csv_reader_t *r = cw_csv_reader_new(buf, len, max_field, max_fields);
  cw_csv_record_t rec = {0};
  size_t lim_field = max_field ? max_field : 64 * 1024;
  guint lim_fields = max_fields ? max_fields : 256;
  guint last_line = 0;
  gboolean ended = FALSE;
  /* Every call that does not end the input consumes at least one byte, so
   * len + 2 calls must reach the end: more would be a loop. */
  for (size_t calls = 0; calls < len + 2 && !ended; calls++) {
    cw_error_t err = {0};
    int rc = cw_csv_reader_next(r, &rec, &err);
    if (rc == 0) {
      FUZZ_CHECK(rec.fields == NULL);
      ended = TRUE;
    } else if (rc == 1) {
      FUZZ_CHECK(rec.fields && rec.fields->len >= 1 && rec.fields->len <= lim_fields);
      /* Records start on later and later physical lines. */
      FUZZ_CHECK(rec.line > last_line);
      last_line = rec.line;
      for (guint i = 0; i < rec.fields->len; i++) {
        const char *f = rec.fields->pdata[i];
        FUZZ_CHECK(f != NULL);
        FUZZ_CHECK(strlen(f) <= lim_field);
        FUZZ_CHECK(g_utf8_validate(f, -1, NULL));
      }
    } else {
      FUZZ_CHECK(rc == -EINVAL);
      FUZZ_CHECK(rec.fields == NULL);
      guint line = cw_csv_reader_error_line(r);
      FUZZ_CHECK(line > last_line);
      last_line = line;
      /* "line N: reason", N the line the bad record started on. */
      char prefix[32];
      g_snprintf(prefix, sizeof prefix, "line %u: ", line);
      FUZZ_CHECK(g_str_has_prefix(err.msg, prefix));
      FUZZ_CHECK(strlen(err.msg) > strlen(prefix));
    }
    cw_csv_record_clear(&rec);
  }
  FUZZ_CHECK(ended);
  cw_csv_record_clear(&rec);
  cw_csv_reader_free(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  read_all((const char *)data, size, 0, 0);
  read_all((const char *)data, size, 8, 4);
  return 0;
}
