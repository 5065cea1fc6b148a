/* The event journal: see journal.h.
 *
 * Each file keeps the bytes already written and synced (durable) apart from
 * the records appended since (pending, in memory), so cw_journal_sync is one
 * write and one fdatasync per file touched. The checksum is BLAKE2b with a
 * 16-byte output (libsodium's smallest) cut to its first 8 bytes. */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <sodium.h>

#include "log.h"

#define LOG_MODULE "journal"
#define HEADER_BYTES 12 /* u32 length, u64 seq */
#define HASH_BYTES 8
#define RECORD_OVERHEAD (HEADER_BYTES + HASH_BYTES)
#define DEFAULT_MAX_BYTES ((gsize)1 << 30)
#define DEFAULT_SEGMENT_BYTES ((gsize)16 << 20)
#define NAME_PREFIX "journal-"
#define NAME_SUFFIX ".log"
/* Seq 0 never names a record, so a caller can use it for "none". */
#define FIRST_SEQ 1

typedef struct {
  guint64 first_seq;
  char *path;
  gsize durable;       /* bytes written and fdatasync'd */
  GByteArray *pending; /* records appended since, not yet written */
  gboolean on_disk;
} jfile_t;

/* Where the last read stopped, so reading on from there need not walk the
 * file from its start again. */
typedef struct {
  const jfile_t *file;
  guint64 seq;
  gsize off;
} cursor_t;

struct cw_journal {
  char *dir;
  gsize max_bytes;
  gsize segment_bytes;
  GPtrArray *files; /* jfile_t*, oldest first; consecutive seqs across them */
  int fd;           /* open on fd_file (the newest file on disk), or -1 */
  jfile_t *fd_file;
  guint64 next_seq;
  guint64 synced_seq;
  gsize bytes; /* durable + pending over all files */
  guint64 torn_tails;
  cw_error_t failed; /* code != 0 after a write error: appends refused */
  cursor_t cursor;
};

typedef enum { REC_OK, REC_SHORT, REC_BAD } rec_check_t;

static void
put_u32(guint8 *p, guint32 v)
{
  v = GUINT32_TO_LE(v);
  memcpy(p, &v, 4);
}

static void
put_u64(guint8 *p, guint64 v)
{
  v = GUINT64_TO_LE(v);
  memcpy(p, &v, 8);
}

static guint32
get_u32(const guint8 *p)
{
  guint32 v;
  memcpy(&v, p, 4);
  return GUINT32_FROM_LE(v);
}

static guint64
get_u64(const guint8 *p)
{
  guint64 v;
  memcpy(&v, p, 8);
  return GUINT64_FROM_LE(v);
}

static void
record_hash(const guint8 seq_le[8], const guint8 *data, gsize len, guint8 out[HASH_BYTES])
{
  guint8 full[crypto_generichash_BYTES_MIN];
  crypto_generichash_state st;
  crypto_generichash_init(&st, NULL, 0, sizeof full);
  crypto_generichash_update(&st, seq_le, 8);
  crypto_generichash_update(&st, data, len);
  crypto_generichash_final(&st, full, sizeof full);
  memcpy(out, full, HASH_BYTES);
}

/* Checks the record at p (avail bytes from there to the end of what is
 * known); verify = FALSE skips the checksum (a record being skipped over). */
static rec_check_t
record_check(const guint8 *p, gsize avail, guint64 want_seq, gboolean verify, gsize *size,
             char *why, gsize why_len)
{
  if (avail < HEADER_BYTES) {
    g_snprintf(why, why_len, "record header cut short (%zu of %d bytes)", avail, HEADER_BYTES);
    return REC_SHORT;
  }
  guint32 len = get_u32(p);
  guint64 seq = get_u64(p + 4);
  if (len == 0 || len > CW_JOURNAL_RECORD_MAX) {
    g_snprintf(why, why_len, "bad record length %u", len);
    return REC_BAD;
  }
  if (seq != want_seq) {
    g_snprintf(why, why_len, "seq %" G_GUINT64_FORMAT " where %" G_GUINT64_FORMAT " was due", seq,
               want_seq);
    return REC_BAD;
  }
  gsize need = (gsize)len + RECORD_OVERHEAD;
  if (avail < need) {
    g_snprintf(why, why_len, "record of seq %" G_GUINT64_FORMAT " cut short (%zu of %zu bytes)",
               seq, avail, need);
    return REC_SHORT;
  }
  if (verify) {
    guint8 h[HASH_BYTES];
    record_hash(p + 4, p + HEADER_BYTES, len, h);
    if (memcmp(h, p + HEADER_BYTES + len, HASH_BYTES) != 0) {
      g_snprintf(why, why_len, "checksum mismatch in the record of seq %" G_GUINT64_FORMAT, seq);
      return REC_BAD;
    }
  }
  *size = need;
  return REC_OK;
}

static int
errno_error(cw_error_t *err, int e, const char *path, const char *what)
{
  return cw_error_set(err, -e, "%s: %s: %s", path, what, g_strerror(e));
}

static int
fsync_dir(const char *dir, cw_error_t *err)
{
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return errno_error(err, errno, dir, "open");
  int rc = 0;
  if (fsync(fd) < 0)
    rc = errno_error(err, errno, dir, "fsync");
  close(fd);
  return rc;
}

static void
jfile_free(gpointer p)
{
  jfile_t *f = p;
  g_free(f->path);
  g_byte_array_unref(f->pending);
  g_free(f);
}

static jfile_t *
jfile_new(const char *dir, guint64 first_seq)
{
  jfile_t *f = g_new0(jfile_t, 1);
  f->first_seq = first_seq;
  char name[64];
  g_snprintf(name, sizeof name, NAME_PREFIX "%016" G_GINT64_MODIFIER "x" NAME_SUFFIX, first_seq);
  f->path = g_build_filename(dir, name, NULL);
  f->pending = g_byte_array_new();
  return f;
}

static gboolean
parse_name(const char *name, guint64 *seq)
{
  gsize plen = strlen(NAME_PREFIX);
  if (strlen(name) != plen + 16 + strlen(NAME_SUFFIX) || !g_str_has_prefix(name, NAME_PREFIX) ||
      !g_str_has_suffix(name, NAME_SUFFIX))
    return FALSE;
  guint64 v = 0;
  for (gsize i = plen; i < plen + 16; i++) {
    int d = g_ascii_xdigit_value(name[i]);
    if (d < 0 || g_ascii_isupper(name[i]))
      return FALSE;
    v = v << 4 | (guint64)d;
  }
  *seq = v;
  return TRUE;
}

static gint
jfile_cmp(gconstpointer a, gconstpointer b)
{
  const jfile_t *x = *(jfile_t *const *)a, *y = *(jfile_t *const *)b;
  return x->first_seq < y->first_seq ? -1 : x->first_seq > y->first_seq;
}

static int
list_files(cw_journal_t *j, cw_error_t *err)
{
  GError *gerr = NULL;
  GDir *d = g_dir_open(j->dir, 0, &gerr);
  if (!d) {
    int rc = cw_error_set(err, -EIO, "%s: %s", j->dir, gerr->message);
    g_error_free(gerr);
    return rc;
  }
  const char *name;
  while ((name = g_dir_read_name(d))) {
    guint64 seq;
    if (!parse_name(name, &seq))
      continue;
    jfile_t *f = jfile_new(j->dir, seq);
    f->on_disk = TRUE;
    g_ptr_array_add(j->files, f);
  }
  g_dir_close(d);
  g_ptr_array_sort(j->files, jfile_cmp);
  return 0;
}

static int
truncate_tail(cw_journal_t *j, jfile_t *f, gsize keep, gsize size, const char *why, cw_error_t *err)
{
  int fd = open(f->path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return errno_error(err, errno, f->path, "open to cut a torn tail");
  int rc = 0;
  if (ftruncate(fd, (off_t)keep) < 0)
    rc = errno_error(err, errno, f->path, "ftruncate");
  else if (fsync(fd) < 0)
    rc = errno_error(err, errno, f->path, "fsync");
  close(fd);
  if (rc < 0)
    return rc;
  j->torn_tails++;
  cw_log_warn(LOG_MODULE, "%s: torn tail cut at offset %zu (%zu bytes dropped): %s", f->path, keep,
              size - keep, why);
  return 0;
}

/* Walks one file on disk from *expect; the newest file may end torn. */
static int
scan_file(cw_journal_t *j, jfile_t *f, gboolean newest, guint64 *expect, cw_error_t *err)
{
  GError *gerr = NULL;
  GMappedFile *m = g_mapped_file_new(f->path, FALSE, &gerr);
  if (!m) {
    int rc = cw_error_set(err, -EIO, "%s", gerr->message);
    g_error_free(gerr);
    return rc;
  }
  const guint8 *base = (const guint8 *)g_mapped_file_get_contents(m);
  gsize len = g_mapped_file_get_length(m);
  gsize off = 0;
  char why[160] = "";
  while (off < len) {
    gsize size;
    if (record_check(base + off, len - off, *expect, TRUE, &size, why, sizeof why) != REC_OK)
      break;
    off += size;
    (*expect)++;
  }
  g_mapped_file_unref(m);
  f->durable = off;
  if (off == len)
    return 0;
  if (!newest)
    return cw_error_set(err, -EBADMSG, "%s: offset %zu: %s (not the newest file)", f->path, off,
                        why);
  return truncate_tail(j, f, off, len, why, err);
}

static int
check_files(cw_journal_t *j, cw_error_t *err)
{
  guint n = j->files->len;
  guint64 expect = n ? ((jfile_t *)j->files->pdata[0])->first_seq : FIRST_SEQ;
  for (guint i = 0; i < n; i++) {
    jfile_t *f = j->files->pdata[i];
    if (f->first_seq != expect)
      return cw_error_set(err, -EBADMSG,
                          "%s: offset 0: starts at seq %" G_GUINT64_FORMAT
                          " but the file before ends at seq %" G_GUINT64_FORMAT,
                          f->path, f->first_seq, expect);
    int rc = scan_file(j, f, i + 1 == n, &expect, err);
    if (rc < 0)
      return rc;
    j->bytes += f->durable;
  }
  j->next_seq = j->synced_seq = expect;
  return 0;
}

int
cw_journal_open(const cw_journal_options_t *options, cw_journal_t **out, cw_error_t *err)
{
  *out = NULL;
  if (!options || !options->dir || !*options->dir)
    return cw_error_set(err, -EINVAL, "journal: no directory given");
  if (sodium_init() < 0)
    return cw_error_set(err, -EIO, "journal: libsodium failed to initialise");
  if (g_mkdir_with_parents(options->dir, 0700) < 0)
    return errno_error(err, errno, options->dir, "create");
  cw_journal_t *j = g_new0(cw_journal_t, 1);
  j->dir = g_strdup(options->dir);
  j->max_bytes = options->max_bytes ? options->max_bytes : DEFAULT_MAX_BYTES;
  j->segment_bytes = options->segment_bytes ? options->segment_bytes : DEFAULT_SEGMENT_BYTES;
  j->files = g_ptr_array_new_with_free_func(jfile_free);
  j->fd = -1;
  int rc = list_files(j, err);
  if (rc == 0)
    rc = check_files(j, err);
  if (rc < 0) {
    cw_journal_close(j);
    return rc;
  }
  *out = j;
  return 0;
}

static jfile_t *
newest(const cw_journal_t *j)
{
  return j->files->len ? j->files->pdata[j->files->len - 1] : NULL;
}

int
cw_journal_append(cw_journal_t *j, const void *data, gsize len, guint64 *seq, cw_error_t *err)
{
  if (j->failed.code)
    return cw_error_set(err, j->failed.code, "%s", j->failed.msg);
  if (len == 0 || len > CW_JOURNAL_RECORD_MAX)
    return cw_error_set(err, -EINVAL, "journal %s: record of %zu bytes (1 to %d allowed)", j->dir,
                        len, CW_JOURNAL_RECORD_MAX);
  gsize size = len + RECORD_OVERHEAD;
  if (j->bytes + size > j->max_bytes)
    return cw_error_set(err, -ENOSPC,
                        "journal %s: full: %zu bytes held, a record of %zu would pass the bound of "
                        "%zu",
                        j->dir, j->bytes, size, j->max_bytes);
  jfile_t *f = newest(j);
  if (!f ||
      (f->durable + f->pending->len > 0 && f->durable + f->pending->len >= j->segment_bytes)) {
    f = jfile_new(j->dir, j->next_seq);
    g_ptr_array_add(j->files, f);
  }
  guint8 head[HEADER_BYTES], h[HASH_BYTES];
  put_u32(head, (guint32)len);
  put_u64(head + 4, j->next_seq);
  record_hash(head + 4, data, len, h);
  g_byte_array_append(f->pending, head, sizeof head);
  g_byte_array_append(f->pending, data, (guint)len);
  g_byte_array_append(f->pending, h, sizeof h);
  j->bytes += size;
  if (seq)
    *seq = j->next_seq;
  j->next_seq++;
  return 0;
}

static int
open_for_append(cw_journal_t *j, jfile_t *f, cw_error_t *err)
{
  if (j->fd_file == f)
    return 0;
  if (j->fd >= 0)
    close(j->fd);
  j->fd = -1;
  j->fd_file = NULL;
  int flags = O_RDWR | O_APPEND | O_CLOEXEC | (f->on_disk ? 0 : O_CREAT | O_EXCL);
  int fd = open(f->path, flags, 0600);
  if (fd < 0)
    return errno_error(err, errno, f->path, f->on_disk ? "open" : "create");
  j->fd = fd;
  j->fd_file = f;
  if (!f->on_disk) {
    f->on_disk = TRUE;
    /* The new name must survive a crash before any record in it counts. */
    return fsync_dir(j->dir, err);
  }
  return 0;
}

static int
write_all(int fd, const guint8 *p, gsize len)
{
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -errno;
    p += n;
    len -= (gsize)n;
  }
  return 0;
}

static int
flush_file(cw_journal_t *j, jfile_t *f, cw_error_t *err)
{
  int rc = open_for_append(j, f, err);
  if (rc < 0)
    return rc;
  rc = write_all(j->fd, f->pending->data, f->pending->len);
  if (rc < 0) {
    /* Leave no half record behind if the filesystem lets us; open cuts it
     * off otherwise. */
    if (ftruncate(j->fd, (off_t)f->durable) < 0) {
      /* best effort */
    }
    return errno_error(err, -rc, f->path, "write");
  }
  if (fdatasync(j->fd) < 0)
    return errno_error(err, errno, f->path, "fdatasync");
  f->durable += f->pending->len;
  g_byte_array_set_size(f->pending, 0);
  return 0;
}

int
cw_journal_sync(cw_journal_t *j, cw_error_t *err)
{
  if (j->failed.code)
    return cw_error_set(err, j->failed.code, "%s", j->failed.msg);
  for (guint i = 0; i < j->files->len; i++) {
    jfile_t *f = j->files->pdata[i];
    if (f->pending->len == 0)
      continue;
    int rc = flush_file(j, f, &j->failed);
    if (rc < 0) {
      cw_log_error(LOG_MODULE, "%s (appends refused until the journal is reopened)", j->failed.msg);
      return cw_error_set(err, rc, "%s", j->failed.msg);
    }
  }
  j->synced_seq = j->next_seq;
  return 0;
}

/* Collects records seq >= from out of one view of a file (bytes
 * [view_off, view_off + len) of it), from where pos is. */
static int
read_view(const jfile_t *f, const guint8 *base, gsize len, gsize view_off, cursor_t *pos,
          guint64 from, guint max, GPtrArray *out, cw_error_t *err)
{
  while (pos->off < view_off + len && out->len < max) {
    gsize at = pos->off - view_off, size;
    char why[160];
    gboolean want = pos->seq >= from;
    if (record_check(base + at, len - at, pos->seq, want, &size, why, sizeof why) != REC_OK)
      return cw_error_set(err, -EBADMSG, "%s: offset %zu: %s", f->path, pos->off, why);
    if (want) {
      cw_journal_record_t *r = g_new0(cw_journal_record_t, 1);
      r->seq = pos->seq;
      r->len = get_u32(base + at);
      r->data = g_memdup2(base + at + HEADER_BYTES, r->len);
      g_ptr_array_add(out, r);
    }
    pos->off += size;
    pos->seq++;
  }
  return 0;
}

static int
read_file(const jfile_t *f, cursor_t *pos, guint64 from, guint max, GPtrArray *out, cw_error_t *err)
{
  if (pos->off < f->durable) {
    GError *gerr = NULL;
    GMappedFile *m = g_mapped_file_new(f->path, FALSE, &gerr);
    if (!m) {
      int rc = cw_error_set(err, -EIO, "%s", gerr->message);
      g_error_free(gerr);
      return rc;
    }
    int rc;
    gsize len = g_mapped_file_get_length(m);
    if (len < f->durable)
      rc = cw_error_set(err, -EBADMSG, "%s: offset %zu: file shorter than the %zu bytes synced",
                        f->path, len, f->durable);
    else
      rc = read_view(f, (const guint8 *)g_mapped_file_get_contents(m), f->durable, 0, pos, from,
                     max, out, err);
    g_mapped_file_unref(m);
    if (rc < 0)
      return rc;
  }
  if (pos->off < f->durable)
    return 0; /* max reached */
  return read_view(f, f->pending->data, f->pending->len, f->durable, pos, from, max, out, err);
}

int
cw_journal_read(cw_journal_t *j, guint64 from, guint max, GPtrArray **records, cw_error_t *err)
{
  GPtrArray *out = g_ptr_array_new_with_free_func(cw_journal_record_free);
  *records = out;
  if (max == 0 || from >= j->next_seq || j->files->len == 0)
    return 0;
  guint i = 0;
  /* The file holding from: the last one starting at or before it. */
  while (i + 1 < j->files->len && ((jfile_t *)j->files->pdata[i + 1])->first_seq <= from)
    i++;
  jfile_t *f = j->files->pdata[i];
  cursor_t pos = {f, f->first_seq, 0};
  if (j->cursor.file == f && j->cursor.seq <= from)
    pos = j->cursor;
  for (;;) {
    int rc = read_file(f, &pos, from, max, out, err);
    if (rc < 0)
      return rc;
    if (out->len >= max || ++i >= j->files->len)
      break;
    f = j->files->pdata[i];
    pos = (cursor_t){f, f->first_seq, 0};
  }
  j->cursor = pos;
  return 0;
}

int
cw_journal_trim(cw_journal_t *j, guint64 upto, cw_error_t *err)
{
  guint removed = 0;
  int rc = 0;
  /* The newest file is never removed: it is where appends go, and its name
   * carries the seq across a reopen. */
  while (j->files->len > 1) {
    jfile_t *f = j->files->pdata[0], *next = j->files->pdata[1];
    if (next->first_seq > upto || f->pending->len > 0)
      break;
    if (f->on_disk && g_unlink(f->path) < 0 && errno != ENOENT) {
      rc = errno_error(err, errno, f->path, "remove");
      break;
    }
    if (j->fd_file == f) {
      close(j->fd);
      j->fd = -1;
      j->fd_file = NULL;
    }
    if (j->cursor.file == f)
      j->cursor.file = NULL;
    j->bytes -= f->durable;
    g_ptr_array_remove_index(j->files, 0);
    removed++;
  }
  if (removed > 0) {
    int rc2 = fsync_dir(j->dir, rc < 0 ? NULL : err);
    if (rc == 0)
      rc = rc2;
  }
  return rc;
}

void
cw_journal_stats(const cw_journal_t *j, cw_journal_stats_t *out)
{
  memset(out, 0, sizeof *out);
  out->first_seq = j->files->len ? ((jfile_t *)j->files->pdata[0])->first_seq : j->next_seq;
  out->next_seq = j->next_seq;
  out->synced_seq = j->synced_seq;
  out->bytes = j->bytes;
  out->max_bytes = j->max_bytes;
  out->files = j->files->len;
  out->torn_tails = j->torn_tails;
}

void
cw_journal_record_free(gpointer record)
{
  cw_journal_record_t *r = record;
  if (!r)
    return;
  g_free(r->data);
  g_free(r);
}

void
cw_journal_close(cw_journal_t *j)
{
  if (!j)
    return;
  if (!j->failed.code && j->next_seq != j->synced_seq)
    cw_journal_sync(j, NULL);
  if (j->fd >= 0)
    close(j->fd);
  g_ptr_array_unref(j->files);
  g_free(j->dir);
  g_free(j);
}
