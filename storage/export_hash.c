/* SHA-256 of evidence files: of one file, and of a clip's sources on a
 * thread of their own while the export remuxes them. */
#include "export_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* ---- SHA-256 of files ------------------------------------------------- */

/* SHA-256 (hex) and size of a whole file. cancel (may be NULL) stops it
 * early with -ECANCELED. */
int
cw_export_file_sha256(const char *path, const gint *cancel, char **hex, gint64 *bytes,
                      cw_error_t *err)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    return cw_error_set(err, -e, "%s: %s", path, g_strerror(e));
  }
  GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
  guint8 *buf = g_malloc(EXPORT_HASH_CHUNK);
  gint64 total = 0;
  int rc = 0;
  for (;;) {
    if (cancel && g_atomic_int_get(cancel)) {
      rc = -ECANCELED;
      break;
    }
    ssize_t n = read(fd, buf, EXPORT_HASH_CHUNK);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int e = errno;
      rc = cw_error_set(err, -e, "%s: read: %s", path, g_strerror(e));
      break;
    }
    if (n == 0)
      break;
    g_checksum_update(sum, buf, n);
    total += n;
  }
  if (rc == 0) {
    *hex = g_strdup(g_checksum_get_string(sum));
    *bytes = total;
  }
  g_free(buf);
  g_checksum_free(sum);
  close(fd);
  return rc;
}

static gpointer
hasher_main(gpointer data)
{
  hasher_t *h = data;
  for (guint i = 0; i < h->paths->len && h->rc == 0; i++)
    h->rc =
        cw_export_file_sha256(h->paths->pdata[i], &h->cancel, &h->sha[i], &h->bytes[i], &h->err);
  return NULL;
}

void
cw_export_hasher_start(hasher_t *h, GPtrArray *paths)
{
  memset(h, 0, sizeof *h);
  h->paths = paths;
  h->sha = g_new0(char *, paths->len);
  h->bytes = g_new0(gint64, paths->len);
  h->thread = g_thread_new("cw-export-hash", hasher_main, h);
}

/* Waits for the thread (asking it to stop first when cancel is set). */
int
cw_export_hasher_join(hasher_t *h, gboolean cancel, cw_error_t *err)
{
  if (!h->thread)
    return 0;
  if (cancel)
    g_atomic_int_set(&h->cancel, 1);
  g_thread_join(h->thread);
  h->thread = NULL;
  if (h->rc < 0 && !cancel && err)
    *err = h->err;
  return cancel ? 0 : h->rc;
}

void
cw_export_hasher_clear(hasher_t *h)
{
  for (guint i = 0; h->sha && i < h->paths->len; i++)
    g_free(h->sha[i]);
  g_free(h->sha);
  g_free(h->bytes);
}
