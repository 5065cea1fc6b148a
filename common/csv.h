/* RFC 4180 CSV reader: a pure function over a buffer, no I/O, so the unit
 * tests and fuzzers call it directly.
 *
 * Accepts LF or CRLF line ends, quoted fields with "" escapes and embedded
 * commas and newlines, an optional UTF-8 byte-order mark at the start, and a
 * missing final line end. Rejects, with the physical line number: an
 * unterminated quoted field, a quote inside an unquoted field, text after a
 * closing quote, a NUL byte, a field longer than max_field bytes, a record
 * with more than max_fields fields, invalid UTF-8.
 *
 * Ownership: the reader borrows buf (which must outlive it); records it
 * returns are owned by the caller and freed with cw_csv_record_clear().
 * Not thread-safe per reader; separate readers are independent. */
#ifndef CW_CSV_H
#define CW_CSV_H

#include <stddef.h>

#include <glib.h>

#include "cw_error.h"

typedef struct {
  GPtrArray *fields; /* of char*, NUL-terminated, owned by the record */
  guint line;        /* 1-based physical line on which the record starts */
} cw_csv_record_t;

typedef struct cw_csv_reader cw_csv_reader_t;

/* Limits of 0 mean the defaults: 64 KiB per field, 256 fields per record. */
cw_csv_reader_t *cw_csv_reader_new(const char *buf, size_t len, size_t max_field, guint max_fields);
void cw_csv_reader_free(cw_csv_reader_t *r);

/* Reads the next record into *rec (which must be zeroed or cleared).
 * Returns 1 when a record was read, 0 at the end of input, or -EINVAL with
 * err->msg "line N: reason" on a syntax error. After an error on a line the
 * reader skips to the start of the next physical line and may be called
 * again, except after an unterminated quote, which ends the input (0). Blank
 * lines (no bytes between line ends) are skipped, not returned. */
int cw_csv_reader_next(cw_csv_reader_t *r, cw_csv_record_t *rec, cw_error_t *err);

void cw_csv_record_clear(cw_csv_record_t *rec);

/* The line the last error's record started on (0 before any error). */
guint cw_csv_reader_error_line(const cw_csv_reader_t *r);

#endif
