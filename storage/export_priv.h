/* Pieces of evidence export shared by its files (export.c, export_hash.c,
 * export_verify.c). Not a public API. */
#ifndef CW_EXPORT_PRIV_H
#define CW_EXPORT_PRIV_H

#include <glib.h>

#include "cw_error.h"

#define EXPORT_HASH_CHUNK (1 << 20)

/* SHA-256 (hex) and size of a whole file. cancel (may be NULL) stops it
 * early with -ECANCELED. */
int cw_export_file_sha256(const char *path, const gint *cancel, char **hex, gint64 *bytes,
                          cw_error_t *err);

/* Source files are hashed on a thread of their own while the main thread
 * remuxes them: the two passes over the same bytes then overlap (and the
 * second finds them in the page cache). */
typedef struct {
  GPtrArray *paths; /* char*, absolute */
  char **sha;       /* per path, NULL until hashed */
  gint64 *bytes;
  cw_error_t err;
  int rc;
  gint cancel;
  GThread *thread;
} hasher_t;

void cw_export_hasher_start(hasher_t *h, GPtrArray *paths);
/* Waits for the thread (asking it to stop first when cancel is set). */
int cw_export_hasher_join(hasher_t *h, gboolean cancel, cw_error_t *err);
void cw_export_hasher_clear(hasher_t *h);

#endif
