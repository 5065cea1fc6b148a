/* The event journal (storage/journal.c) on a real filesystem: round trips,
 * reopening, rolling and trimming files, the size bound, torn and corrupt
 * tails cut at every byte, corruption in older files refused, kill -9 of a
 * process appending in a loop, and a full filesystem (a tmpfs of its own). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "journal.h"
#include "test_support.h"

#define OVERHEAD 20 /* u32 length, u64 seq, 8-byte checksum */

/* The payload of seq: its bytes (and length, unless fixed_len) follow from
 * seq alone, so a reader can check any record without knowing what the
 * writer did. buf holds at least 256 bytes. */
static gsize
payload_of(guint64 seq, gsize fixed_len, guint8 *buf)
{
  gsize len = fixed_len ? fixed_len : 1 + (seq * 7919) % 200;
  for (gsize i = 0; i < len; i++)
    buf[i] = (guint8)(seq * 131 + i * 31);
  return len;
}

static void
append_n(cw_journal_t *j, guint n, gsize fixed_len)
{
  cw_journal_stats_t s;
  cw_journal_stats(j, &s);
  for (guint i = 0; i < n; i++) {
    guint8 buf[256];
    guint64 want = s.next_seq + i, seq = 0;
    gsize len = payload_of(want, fixed_len, buf);
    cw_error_t err = {0};
    g_assert_cmpint(cw_journal_append(j, buf, len, &seq, &err), ==, 0);
    g_assert_cmpuint(seq, ==, want);
  }
}

static void
check_record(const cw_journal_record_t *r, guint64 seq, gsize fixed_len)
{
  guint8 buf[256];
  gsize len = payload_of(seq, fixed_len, buf);
  g_assert_cmpuint(r->seq, ==, seq);
  g_assert_cmpmem(r->data, r->len, buf, len);
}

/* Reads everything from first_seq and checks it is exactly first..next-1
 * with the right payloads; returns the bytes the records take. */
static gsize
check_all(cw_journal_t *j, gsize fixed_len)
{
  cw_journal_stats_t s;
  cw_journal_stats(j, &s);
  GPtrArray *recs = NULL;
  cw_error_t err = {0};
  g_assert_cmpint(cw_journal_read(j, 0, G_MAXUINT, &recs, &err), ==, 0);
  g_assert_cmpuint(recs->len, ==, s.next_seq - s.first_seq);
  gsize bytes = 0;
  for (guint i = 0; i < recs->len; i++) {
    const cw_journal_record_t *r = recs->pdata[i];
    check_record(r, s.first_seq + i, fixed_len);
    bytes += r->len + OVERHEAD;
  }
  g_ptr_array_unref(recs);
  return bytes;
}

static cw_journal_t *
open_ok(const char *dir, gsize max_bytes, gsize segment_bytes)
{
  cw_journal_options_t o = {.dir = dir, .max_bytes = max_bytes, .segment_bytes = segment_bytes};
  cw_journal_t *j = NULL;
  cw_error_t err = {0};
  int rc = cw_journal_open(&o, &j, &err);
  if (rc != 0)
    g_test_message("open: %s", err.msg);
  g_assert_cmpint(rc, ==, 0);
  return j;
}

static void
rm_rf(const char *dir)
{
  GDir *d = g_dir_open(dir, 0, NULL);
  if (!d)
    return;
  const char *name;
  while ((name = g_dir_read_name(d))) {
    char *p = g_build_filename(dir, name, NULL);
    g_unlink(p);
    g_free(p);
  }
  g_dir_close(d);
  g_rmdir(dir);
}

static gint
cmp_names(gconstpointer a, gconstpointer b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The journal files in dir, sorted by name (= by first seq). */
static GPtrArray *
list_files(const char *dir)
{
  GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
  GDir *d = g_dir_open(dir, 0, NULL);
  g_assert_nonnull(d);
  const char *name;
  while ((name = g_dir_read_name(d)))
    if (g_str_has_prefix(name, "journal-"))
      g_ptr_array_add(names, g_strdup(name));
  g_dir_close(d);
  g_ptr_array_sort(names, cmp_names);
  return names;
}

static char *
file_name(guint64 first_seq)
{
  return g_strdup_printf("journal-%016" G_GINT64_MODIFIER "x.log", first_seq);
}

static char *
file_path(const char *dir, guint64 first_seq)
{
  char *name = file_name(first_seq);
  char *p = g_build_filename(dir, name, NULL);
  g_free(name);
  return p;
}

/* The names in dir must be exactly those of the given first seqs. */
static void
assert_files(const char *dir, const guint64 *firsts, guint n)
{
  GPtrArray *names = list_files(dir);
  g_assert_cmpuint(names->len, ==, n);
  for (guint i = 0; i < n; i++) {
    char *want = file_name(firsts[i]);
    g_assert_cmpstr(names->pdata[i], ==, want);
    g_free(want);
  }
  g_ptr_array_unref(names);
}

static void
test_round_trip(void)
{
  char *dir = g_dir_make_tmp("cwjournal-XXXXXX", NULL);
  char *sub = g_build_filename(dir, "j", NULL); /* created by open */
  cw_journal_t *j = open_ok(sub, 0, 0);
  cw_journal_stats_t s;
  cw_journal_stats(j, &s);
  g_assert_cmpuint(s.first_seq, ==, 1);
  g_assert_cmpuint(s.next_seq, ==, 1);
  g_assert_cmpuint(s.synced_seq, ==, 1);
  g_assert_cmpuint(s.files, ==, 0);
  g_assert_cmpuint(s.max_bytes, ==, (gsize)1 << 30);

  append_n(j, 100, 0);
  cw_journal_stats(j, &s);
  g_assert_cmpuint(s.next_seq, ==, 101);
  g_assert_cmpuint(s.synced_seq, ==, 1); /* buffered only */
  gsize bytes = check_all(j, 0);         /* unsynced records read from memory */
  g_assert_cmpuint(s.bytes, ==, bytes);
  char *path = file_path(sub, 1);
  g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));

  cw_error_t err = {0};
  g_assert_cmpint(cw_journal_sync(j, &err), ==, 0);
  cw_journal_stats(j, &s);
  g_assert_cmpuint(s.synced_seq, ==, 101);
  g_assert_cmpuint(s.files, ==, 1);
  GStatBuf st;
  g_assert_cmpint(g_stat(path, &st), ==, 0);
  g_assert_cmpuint((gsize)st.st_size, ==, bytes);
  g_assert_cmpuint(st.st_mode & 0777, ==, 0600);
  g_assert_cmpint(g_stat(sub, &st), ==, 0);
  g_assert_cmpuint(st.st_mode & 0777, ==, 0700);
  g_assert_cmpuint(check_all(j, 0), ==, bytes);

  /* Part of the range, from the middle; past the end; max 0. */
  GPtrArray *recs;
  g_assert_cmpint(cw_journal_read(j, 50, 10, &recs, &err), ==, 0);
  g_assert_cmpuint(recs->len, ==, 10);
  for (guint i = 0; i < 10; i++)
    check_record(recs->pdata[i], 50 + i, 0);
  g_ptr_array_unref(recs);
  g_assert_cmpint(cw_journal_read(j, 101, 10, &recs, &err), ==, 0);
  g_assert_cmpuint(recs->len, ==, 0);
  g_ptr_array_unref(recs);
  g_assert_cmpint(cw_journal_read(j, 1, 0, &recs, &err), ==, 0);
  g_assert_cmpuint(recs->len, ==, 0);
  g_ptr_array_unref(recs);

  /* Empty and over-long payloads are refused and take no seq. */
  guint8 *big = g_malloc0(CW_JOURNAL_RECORD_MAX + 1);
  guint64 seq = 0;
  g_assert_cmpint(cw_journal_append(j, big, 0, &seq, &err), ==, -EINVAL);
  g_assert_cmpint(cw_journal_append(j, big, CW_JOURNAL_RECORD_MAX + 1, &seq, &err), ==, -EINVAL);
  g_test_message("over-long: %s", err.msg);
  g_assert_nonnull(strstr(err.msg, sub));
  g_assert_cmpint(cw_journal_append(j, big, CW_JOURNAL_RECORD_MAX, &seq, &err), ==, 0);
  g_assert_cmpuint(seq, ==, 101);
  g_assert_cmpint(cw_journal_sync(j, &err), ==, 0);
  g_assert_cmpint(cw_journal_read(j, 101, 5, &recs, &err), ==, 0);
  g_assert_cmpuint(recs->len, ==, 1);
  g_assert_cmpmem(((cw_journal_record_t *)recs->pdata[0])->data,
                  ((cw_journal_record_t *)recs->pdata[0])->len, big, CW_JOURNAL_RECORD_MAX);
  g_ptr_array_unref(recs);
  g_free(big);

  /* One file: trim keeps it (appends go there), whatever upto says. */
  g_assert_cmpint(cw_journal_trim(j, 1000, &err), ==, 0);
  cw_journal_stats(j, &s);
  g_assert_cmpuint(s.files, ==, 1);
  g_assert_cmpuint(s.first_seq, ==, 1);
  cw_journal_close(j);
  g_free(path);
  rm_rf(sub);
  g_free(sub);
  g_rmdir(dir);
  g_free(dir);
}

static void
test_reopen(void)
{
  char *dir = g_dir_make_tmp("cwjournal-XXXXXX", NULL);
  cw_journal_t *j = open_ok(dir, 0, 0);
  append_n(j, 10, 0);
  cw_error_t err = {0};
  g_assert_cmpint(cw_journal_sync(j, &err), ==, 0);
  cw_journal_close(j);

  j = open_ok(dir, 0, 0);
  cw_journal_stats_t s;
  cw_journal_stats(j, &s);
  g_assert_cmpuint(s.first_seq, ==, 1);
  g_assert_cmpuint(s.next_seq, ==, 11);
  g_assert_cmpuint(s.synced_seq, ==, 11);
  g_assert_cmpuint(s.torn_tails, ==, 0);
  append_n(j, 5, 0); /* seqs 11..15, made durable by close */
  cw_journal_close(j);

  j = open_ok(dir, 0, 0);
  cw_journal_stats(j, &s);
  g_assert_cmpuint(s.next_seq, ==, 16);
  g_assert_cmpuint(s.files, ==, 1);
  check_all(j, 0);
  cw_journal_close(j);
  rm_rf(dir);
  g_free(dir);
}

/* The event writer's pattern: a few appends, a sync now and then, reads
 * of a few records on from the last one read (while they move from memory
 * to disk and from file to file), and trims behind the reader. */
static void
test_read_on(void)
{
  char *dir = g_dir_make_tmp("cwjournal-XXXXXX", NULL);
  cw_journal_t *j = open_ok(dir, 0, 1000);
  cw_error_t err = {0};
  guint64 next_read = 1;
  cw_journal_stats_t s;
  for (guint round = 0; round < 2000; round++) {
    append_n(j, (guint)g_test_rand_int_range(0, 6), 0);
    if (round % 3 == 0)
      g_assert_cmpint(cw_journal_sync(j, &err), ==, 0);
    guint max = (guint)g_test_rand_int_range(1, 9);
    GPtrArray *recs;
    g_assert_cmpint(cw_journal_read(j, next_read, max, &recs, &err), ==, 0);
    cw_journal_stats(j, &s);
    g_assert_cmpuint(recs->len, ==, MIN(max, s.next_seq - next_read));
    for (guint i = 0; i < recs->len; i++)
      check_record(recs->pdata[i], next_read + i, 0);
    next_read += recs->len;
    g_ptr_array_unref(recs);
    if (round % 50 == 0)
      g_assert_cmpint(cw_journal_trim(j, next_read, &err), ==, 0);
  }
  cw_journal_stats(j, &s);
  g_test_message("read on to %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " in %u files", next_read,
                 s.next_seq, s.files);
  g_assert_cmpuint(s.files, >, 1);
  check_all(j, 0);
  cw_journal_close(j);
  rm_rf(dir);
  g_free(dir);
}

/* 100-byte payloads make 120-byte records: a file of segment_bytes 1000
 * takes 9 (the 9th starts at 960), so files start at 1, 10, 19, ... 91. */
static void
test_roll_and_trim(void)
{
  char *dir = g_dir_make_tmp("cwjournal-XXXXXX", NULL);
  cw_journal_t *j = open_ok(dir, 0, 1000);
  append_n(j, 50, 100);
  cw_error_t err = {0};
  g_assert_cmpint(cw_journal_sync(j, &err), ==, 0);
  append_n(j, 50, 100); /* rolls over within one sync too */
  g_assert_cmpint(cw_journal_sync(j, &err), ==, 0);
  guint64 firsts[12];
  for (guint i = 0; i < 12; i++)
    firsts[i] = 1 + 9 * i;
  assert_files(dir, firsts, 12);
  for (guint i = 0; i < 12; i++) {
    char *p = file_path(dir, firsts[i]);
    GStatBuf st;
    g_assert_cmpint(g_stat(p, &st), ==, 0);
    g_assert_cmpuint(st.st_size, ==, i < 11 ? 1080 : 1 * 120);
    g_free(p);
  }
  cw_journal_stats_t s;
  cw_journal_stats(j, &s);
  g_assert_cmpuint(s.files, ==, 12);
  g_assert_cmpuint(s.bytes, ==, 100 * 120);
  g_assert_cmpuint(check_all(j, 100), ==, 100 * 120);

  /* Reads starting inside each file, across the file boundaries. */
  for (guint64 from = 1; from <= 100; from += 7) {
    GPtrArray *recs;
    g_assert_cmpint(cw_journal_read(j, from, 20, &recs, &err), ==, 0);
    g_assert_cmpuint(recs->len, ==, MIN(20, 101 - from));
    for (guint i = 0; i < recs->len; i++)
      check_record(recs->pdata[i], from + i, 100);
    g_ptr_array_unref(recs);
  }

  /* Exactly the files whose every record is below upto go. */
  struct {
    guint64 upto, first;
    guint files;
  } steps[] = {{0, 1, 12},  {9, 1, 12},  {10, 10, 11}, {18, 10, 11},  {27, 19, 10},
               {28, 28, 9}, {90, 82, 3}, {91, 91, 2},  {1000, 100, 1}};
  for (guint k = 0; k < G_N_ELEMENTS(steps); k++) {
    g_assert_cmpint(cw_journal_trim(j, steps[k].upto, &err), ==, 0);
    cw_journal_stats(j, &s);
    g_test_message("trim %" G_GUINT64_FORMAT ": first %" G_GUINT64_FORMAT ", %u files",
                   steps[k].upto, s.first_seq, s.files);
    g_assert_cmpuint(s.first_seq, ==, steps[k].first);
    g_assert_cmpuint(s.files, ==, steps[k].files);
    g_assert_cmpuint(s.bytes, ==, (100 - (s.first_seq - 1)) * 120);
    assert_files(dir, firsts + (12 - s.files), s.files);
    g_assert_cmpuint(check_all(j, 100), ==, s.bytes);
    /* A read from below first_seq starts at first_seq. */
    GPtrArray *recs;
    g_assert_cmpint(cw_journal_read(j, 1, 1, &recs, &err), ==, 0);
    g_assert_cmpuint(recs->len, ==, 1);
    check_record(recs->pdata[0], s.first_seq, 100);
    g_ptr_array_unref(recs);
  }
  cw_journal_close(j);

  j = open_ok(dir, 0, 1000);
  cw_journal_stats(j, &s);
  g_assert_cmpuint(s.first_seq, ==, 100);
  g_assert_cmpuint(s.next_seq, ==, 101);
  append_n(j, 10, 100); /* 100-108 fill the newest file; 109 starts the next */
  cw_journal_close(j);
  guint64 last[] = {100, 109};
  assert_files(dir, last, 2);
  rm_rf(dir);
  g_free(dir);
}

/* max_bytes 1000 holds 8 records of 120 bytes; segment_bytes 300 puts 3 in
 * a file (1-3, 4-6, 7-8). */
static void
test_bound(void)
{
  char *dir = g_dir_make_tmp("cwjournal-XXXXXX", NULL);
  cw_journal_t *j = open_ok(dir, 1000, 300);
  append_n(j, 8, 100);
  guint8 buf[100] = {0};
  guint64 seq = 0;
  cw_error_t err = {0};
  g_assert_cmpint(cw_journal_append(j, buf, sizeof buf, &seq, &err), ==, -ENOSPC);
  g_test_message("bound: %s", err.msg);
  g_assert_nonnull(strstr(err.msg, dir));
  cw_journal_stats_t s;
  cw_journal_stats(j, &s);
  g_assert_cmpuint(s.next_seq, ==, 9);
  g_assert_cmpuint(s.bytes, ==, 960);
  g_assert_cmpuint(s.max_bytes, ==, 1000);
  g_assert_cmpint(cw_journal_sync(j, &err), ==, 0);
  /* A smaller record that fits still goes in (the bound is in bytes). */
  g_assert_cmpint(cw_journal_append(j, buf, 20, &seq, &err), ==, 0);
  g_assert_cmpuint(seq, ==, 9);
  g_assert_cmpint(cw_journal_append(j, buf, 1, &seq, &err), ==, -ENOSPC);
  g_assert_cmpint(cw_journal_sync(j, &err), ==, 0);
  cw_journal_stats(j, &s);
  g_assert_cmpuint(s.bytes, ==, 1000);
  g_assert_cmpuint(s.next_seq, ==, 10);
  cw_journal_close(j);

  /* Nothing of the refused appends reached the disk. */
  j = open_ok(dir, 1000, 300);
  cw_journal_stats(j, &s);
  g_assert_cmpuint(s.next_seq, ==, 10);
  g_assert_cmpuint(s.bytes, ==, 1000);
  guint64 firsts[] = {1, 4, 7};
  assert_files(dir, firsts, 3);
  /* Trimming makes room again. */
  g_assert_cmpint(cw_journal_trim(j, 7, &err), ==, 0);
  cw_journal_stats(j, &s);
  g_assert_cmpuint(s.bytes, ==, 1000 - 720);
  g_assert_cmpint(cw_journal_append(j, buf, sizeof buf, &seq, &err), ==, 0);
  g_assert_cmpuint(seq, ==, 10);
  cw_journal_close(j);
  rm_rf(dir);
  g_free(dir);
}

/* Writes 20 records, then for every cut inside the last one (and every
 * byte of it flipped) reopens: records 1..19 stay, the file is cut back to
 * where record 20 started, and the torn tail is counted once. */
static void
test_torn_tail(void)
{
  char *dir = g_dir_make_tmp("cwjournal-XXXXXX", NULL);
  cw_journal_t *j = open_ok(dir, 0, 0);
  append_n(j, 20, 0);
  cw_journal_close(j);
  char *path = file_path(dir, 1);
  gchar *orig;
  gsize size;
  g_assert_true(g_file_get_contents(path, &orig, &size, NULL));
  guint8 tmp[256];
  gsize last = payload_of(20, 0, tmp) + OVERHEAD;
  gsize start = size - last;
  g_test_message("last record: %zu bytes at offset %zu", last, start);

  guint cases = 0;
  for (gsize variant = 0; variant < 2; variant++) {
    for (gsize at = start; at < size; at++) {
      if (variant == 0) {
        g_assert_true(g_file_set_contents(path, orig, (gssize)at, NULL));
      } else {
        orig[at] ^= 0x5a;
        g_assert_true(g_file_set_contents(path, orig, (gssize)size, NULL));
        orig[at] ^= 0x5a;
      }
      j = open_ok(dir, 0, 0);
      cw_journal_stats_t s;
      cw_journal_stats(j, &s);
      g_assert_cmpuint(s.next_seq, ==, 20);
      g_assert_cmpuint(s.synced_seq, ==, 20);
      g_assert_cmpuint(s.torn_tails, ==, (variant == 0 && at == start) ? 0 : 1);
      g_assert_cmpuint(s.bytes, ==, start);
      g_assert_cmpuint(check_all(j, 0), ==, start);
      cw_journal_close(j);
      GStatBuf st;
      g_assert_cmpint(g_stat(path, &st), ==, 0);
      g_assert_cmpuint(st.st_size, ==, start);
      cases++;
    }
  }
  g_test_message("%u cuts and flips", cases);

  /* After a cut the journal goes on from where the good records end. */
  j = open_ok(dir, 0, 0);
  append_n(j, 3, 0);
  cw_journal_close(j);
  j = open_ok(dir, 0, 0);
  cw_journal_stats_t s;
  cw_journal_stats(j, &s);
  g_assert_cmpuint(s.next_seq, ==, 23);
  g_assert_cmpuint(s.torn_tails, ==, 0);
  check_all(j, 0);
  cw_journal_close(j);
  g_free(orig);
  g_free(path);
  rm_rf(dir);
  g_free(dir);
}

static void
expect_badmsg(const char *dir, const char *path, gsize offset)
{
  cw_journal_options_t o = {.dir = dir, .segment_bytes = 1000};
  cw_journal_t *j = NULL;
  cw_error_t err = {0};
  g_assert_cmpint(cw_journal_open(&o, &j, &err), ==, -EBADMSG);
  g_assert_null(j);
  g_test_message("refused: %s", err.msg);
  char *want = g_strdup_printf("%s: offset %zu: ", path, offset);
  g_assert_true(g_str_has_prefix(err.msg, want));
  g_free(want);
}

/* Three files of 9 records (120 bytes each) and one of 3: damage in any
 * but the newest is refused, naming the file and the record's offset, and
 * nothing is cut. */
static void
test_corrupt_older(void)
{
  char *dir = g_dir_make_tmp("cwjournal-XXXXXX", NULL);
  cw_journal_t *j = open_ok(dir, 0, 1000);
  append_n(j, 30, 100);
  cw_journal_close(j);
  char *first = file_path(dir, 1), *second = file_path(dir, 10), *third = file_path(dir, 19);
  gchar *orig;
  gsize size;
  g_assert_true(g_file_get_contents(second, &orig, &size, NULL));
  g_assert_cmpuint(size, ==, 1080);

  /* A flipped payload byte in record 13 (the 4th of the second file). */
  orig[3 * 120 + 12 + 50] ^= 1;
  g_assert_true(g_file_set_contents(second, orig, (gssize)size, NULL));
  expect_badmsg(dir, second, 3 * 120);
  orig[3 * 120 + 12 + 50] ^= 1;
  /* A wrong seq in record 11 (the header of the 2nd). */
  orig[120 + 4] ^= 1;
  g_assert_true(g_file_set_contents(second, orig, (gssize)size, NULL));
  expect_badmsg(dir, second, 120);
  orig[120 + 4] ^= 1;
  /* The second file cut inside its last record. */
  g_assert_true(g_file_set_contents(second, orig, (gssize)size - 5, NULL));
  expect_badmsg(dir, second, 8 * 120);
  GStatBuf st;
  g_assert_cmpint(g_stat(second, &st), ==, 0);
  g_assert_cmpuint(st.st_size, ==, size - 5); /* not cut by open */
  /* The second file gone: a gap in the seqs. */
  g_assert_cmpint(g_unlink(second), ==, 0);
  expect_badmsg(dir, third, 0);

  /* Put right, it opens with nothing lost. */
  g_assert_true(g_file_set_contents(second, orig, (gssize)size, NULL));
  j = open_ok(dir, 0, 1000);
  cw_journal_stats_t s;
  cw_journal_stats(j, &s);
  g_assert_cmpuint(s.next_seq, ==, 31);
  g_assert_cmpuint(s.torn_tails, ==, 0);
  check_all(j, 100);
  cw_journal_close(j);
  g_free(orig);
  g_free(first);
  g_free(second);
  g_free(third);
  rm_rf(dir);
  g_free(dir);
}

/* The child: batches of 1 to 40 appends, a sync, then the last synced seq
 * down the pipe; trims now and then so files are removed under it too. */
static G_GNUC_NORETURN void
crash_child(const char *dir, int fd)
{
  cw_journal_options_t o = {.dir = dir, .segment_bytes = 16 * 1024};
  cw_journal_t *j = NULL;
  if (cw_journal_open(&o, &j, NULL) != 0)
    _exit(3);
  GRand *rand = g_rand_new();
  for (guint n = 0;; n++) {
    cw_journal_stats_t s;
    cw_journal_stats(j, &s);
    guint batch = (guint)g_rand_int_range(rand, 1, 41);
    for (guint i = 0; i < batch; i++) {
      guint8 buf[256];
      gsize len = payload_of(s.next_seq + i, 0, buf);
      if (cw_journal_append(j, buf, len, NULL, NULL) != 0)
        _exit(4);
    }
    if (cw_journal_sync(j, NULL) != 0)
      _exit(5);
    guint64 synced = s.next_seq + batch - 1;
    if (write(fd, &synced, sizeof synced) != sizeof synced)
      _exit(6);
    if (n % 50 == 49 && synced > 2000)
      cw_journal_trim(j, synced - 2000, NULL);
  }
}

static void
test_crash(void)
{
  char *dir = g_dir_make_tmp("cwjournal-XXXXXX", NULL);
  guint torn = 0;
  guint64 total = 0;
  /* What earlier runs reported synced stays synced: a child killed (on a
   * loaded machine) before its first report still has those behind it. */
  guint64 synced_before = 0;
  for (guint run = 0; run < 20; run++) {
    int p[2];
    g_assert_cmpint(pipe(p), ==, 0);
    pid_t pid = fork();
    g_assert_cmpint(pid, >=, 0);
    if (pid == 0) {
      close(p[0]);
      crash_child(dir, p[1]);
    }
    close(p[1]);
    guint64 reported = synced_before, v;
    gint64 deadline = g_get_monotonic_time() + g_test_rand_int_range(5, 300) * 1000;
    /* Read as it goes, so the child never blocks on a full pipe. */
    for (gint64 now; (now = g_get_monotonic_time()) < deadline;) {
      struct pollfd pfd = {.fd = p[0], .events = POLLIN};
      if (poll(&pfd, 1, (int)((deadline - now) / 1000) + 1) > 0) {
        if (read(p[0], &v, sizeof v) != sizeof v)
          break;
        reported = v;
      }
    }
    g_assert_cmpint(kill(pid, SIGKILL), ==, 0);
    int status;
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    g_assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    while (read(p[0], &v, sizeof v) == sizeof v)
      reported = v;
    close(p[0]);
    synced_before = reported;

    cw_journal_t *j = open_ok(dir, 0, 16 * 1024);
    cw_journal_stats_t s;
    cw_journal_stats(j, &s);
    g_test_message("run %u: synced up to %" G_GUINT64_FORMAT ", reopened with %" G_GUINT64_FORMAT
                   "..%" G_GUINT64_FORMAT " in %u files, torn tails %" G_GUINT64_FORMAT,
                   run, reported, s.first_seq, s.next_seq - 1, s.files, s.torn_tails);
    g_assert_cmpuint(s.next_seq, >, reported);
    g_assert_cmpuint(s.first_seq, <=, reported > 2000 ? reported - 2000 : 1);
    /* Every record from first_seq is whole, in order and right, and the
     * files hold nothing else. */
    gsize bytes = check_all(j, 0);
    g_assert_cmpuint(bytes, ==, s.bytes);
    gsize on_disk = 0;
    GPtrArray *names = list_files(dir);
    for (guint i = 0; i < names->len; i++) {
      char *path = g_build_filename(dir, names->pdata[i], NULL);
      GStatBuf st;
      g_assert_cmpint(g_stat(path, &st), ==, 0);
      on_disk += (gsize)st.st_size;
      g_free(path);
    }
    g_assert_cmpuint(names->len, ==, s.files);
    g_ptr_array_unref(names);
    g_assert_cmpuint(on_disk, ==, bytes);
    torn += s.torn_tails > 0;
    total = s.next_seq - 1;
    cw_journal_close(j);
  }
  g_test_message("20 kills, %" G_GUINT64_FORMAT " records, %u torn tails cut", total, torn);
  rm_rf(dir);
  g_free(dir);
}

/* A tmpfs of 256 KiB of the test's own (in a mount namespace of its own,
 * so it goes away with the process). Records of 1000 bytes, a sync every
 * 10, until the filesystem is full. */
static void
test_disk_full(void)
{
  char *mnt = cw_test_private_tmpfs("cwjournal-full", "256k");
  if (!mnt)
    return;
  char *dir = g_build_filename(mnt, "journal", NULL);
  cw_journal_t *j = open_ok(dir, 0, 64 * 1024);
  guint8 buf[1000];
  guint64 synced = 0, seq = 0;
  cw_error_t err = {0};
  int rc = 0;
  for (guint64 n = 1; rc == 0; n++) {
    memset(buf, (int)(n & 0xff), sizeof buf);
    g_assert_cmpint(cw_journal_append(j, buf, sizeof buf, &seq, &err), ==, 0);
    g_assert_cmpuint(seq, ==, n);
    if (n % 10 == 0) {
      rc = cw_journal_sync(j, &err);
      if (rc == 0)
        synced = n;
    }
    g_assert_cmpuint(n, <, 1000); /* 256 KiB can't take a MB */
  }
  g_test_message("full after %" G_GUINT64_FORMAT " synced: %s", synced, err.msg);
  g_assert_cmpint(rc, ==, -ENOSPC);
  cw_journal_stats_t s;
  cw_journal_stats(j, &s);
  g_assert_cmpuint(s.synced_seq, ==, synced + 1);
  /* The message names a journal file in dir and the cause. */
  char *prefix = g_strdup_printf("%s/journal-", dir);
  g_assert_true(g_str_has_prefix(err.msg, prefix));
  g_assert_nonnull(strstr(err.msg, ".log: "));
  g_assert_true(g_str_has_suffix(err.msg, ": No space left on device"));
  char *first_msg = g_strdup(err.msg);
  /* Appends and syncs are refused with the same words until reopened. */
  cw_error_t err2 = {0};
  g_assert_cmpint(cw_journal_append(j, buf, sizeof buf, &seq, &err2), ==, -ENOSPC);
  g_assert_cmpstr(err2.msg, ==, first_msg);
  g_assert_cmpint(cw_journal_sync(j, &err2), ==, -ENOSPC);
  g_assert_cmpstr(err2.msg, ==, first_msg);
  cw_journal_close(j);

  /* Everything synced is there, whole; nothing after it. */
  j = open_ok(dir, 0, 64 * 1024);
  cw_journal_stats(j, &s);
  g_assert_cmpuint(s.first_seq, ==, 1);
  g_assert_cmpuint(s.next_seq, ==, synced + 1);
  GPtrArray *recs;
  g_assert_cmpint(cw_journal_read(j, 1, G_MAXUINT, &recs, &err), ==, 0);
  g_assert_cmpuint(recs->len, ==, synced);
  for (guint i = 0; i < recs->len; i++) {
    const cw_journal_record_t *r = recs->pdata[i];
    g_assert_cmpuint(r->seq, ==, i + 1);
    memset(buf, (int)((i + 1) & 0xff), sizeof buf);
    g_assert_cmpmem(r->data, r->len, buf, sizeof buf);
  }
  g_ptr_array_unref(recs);
  /* Trimming what PostgreSQL has makes room, and appends go on. */
  g_assert_cmpint(cw_journal_trim(j, s.next_seq, &err), ==, 0);
  append_n(j, 20, 0);
  g_assert_cmpint(cw_journal_sync(j, &err), ==, 0);
  cw_journal_stats(j, &s);
  g_assert_cmpuint(s.next_seq, ==, synced + 21);
  cw_journal_close(j);

  g_free(first_msg);
  g_free(prefix);
  rm_rf(dir);
  g_free(dir);
  g_assert_cmpint(umount(mnt), ==, 0);
  g_rmdir(mnt);
  g_free(mnt);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/journal/round_trip", test_round_trip);
  g_test_add_func("/journal/reopen", test_reopen);
  g_test_add_func("/journal/roll_and_trim", test_roll_and_trim);
  g_test_add_func("/journal/read_on", test_read_on);
  g_test_add_func("/journal/bound", test_bound);
  g_test_add_func("/journal/torn_tail", test_torn_tail);
  g_test_add_func("/journal/corrupt_older", test_corrupt_older);
  g_test_add_func("/journal/crash", test_crash);
  g_test_add_func("/journal/disk_full", test_disk_full);
  return g_test_run();
}
