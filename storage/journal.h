/* The event journal: an append-only log on the node's disk that holds every
 * accepted event until PostgreSQL has committed it (issue 5). An event
 * counts as accepted only once cw_journal_sync has returned after its
 * append; a crash or kill -9 at any point loses nothing synced and never
 * yields a torn record on replay.
 *
 * Single-threaded: one owner (the event writer's thread) calls everything.
 * Files: DIR/journal-<first seq as 16 hex digits>.log, each a sequence of
 * records [u32 length][u64 seq][payload][first 8 bytes of a 16-byte BLAKE2b
 * of seq+payload] (little-endian). Seqs start at 1. A new file starts past segment_bytes; trimming removes
 * whole files below the committed sequence, never the newest file (its name
 * carries the seq across a reopen), so up to segment_bytes of committed
 * records may be sent again after a restart: the store ignores repeats. */
#ifndef CW_JOURNAL_H
#define CW_JOURNAL_H

#include <glib.h>

#include "cw_error.h"

#define CW_JOURNAL_RECORD_MAX (1 << 20) /* bytes of payload */

typedef struct {
  const char *dir;     /* created if missing (0700) */
  gsize max_bytes;     /* bound on the files' total size; default 1 GiB */
  gsize segment_bytes; /* roll to a new file past this; default 16 MiB */
} cw_journal_options_t;

typedef struct {
  guint64 seq;
  guint8 *data; /* owned */
  gsize len;
} cw_journal_record_t;

void cw_journal_record_free(gpointer record);

typedef struct {
  guint64 first_seq;  /* oldest record still held */
  guint64 next_seq;   /* the next append's seq (first_seq == next_seq: empty) */
  guint64 synced_seq; /* every record below this is on disk */
  gsize bytes;        /* files' total size */
  gsize max_bytes;
  guint files;
  guint64 torn_tails; /* tails cut off a file's end at open (crash mid-append) */
} cw_journal_stats_t;

typedef struct cw_journal cw_journal_t;

/* Opens DIR, checks every file, cuts a torn or corrupt tail off the newest
 * file (counted in torn_tails, logged), and refuses (-EBADMSG, naming file
 * and offset) corruption anywhere else. */
int cw_journal_open(const cw_journal_options_t *options, cw_journal_t **out, cw_error_t *err);

/* Appends one record (buffered, not yet durable); *seq gets its number.
 * -ENOSPC when the bound would be passed (nothing written), -EINVAL for an
 * empty or over-long payload, other negative errno on a write error (the
 * journal then refuses appends until reopened). */
int cw_journal_append(cw_journal_t *j, const void *data, gsize len, guint64 *seq, cw_error_t *err);

/* Group commit: writes what is buffered and fdatasyncs; afterwards every
 * record appended so far is durable (synced_seq == next_seq). */
int cw_journal_sync(cw_journal_t *j, cw_error_t *err);

/* Up to max records with seq >= from, in order, synced or not (new array of
 * cw_journal_record_t*). */
int cw_journal_read(cw_journal_t *j, guint64 from, guint max, GPtrArray **records,
                    cw_error_t *err);

/* PostgreSQL has committed every record below upto: whole files below it
 * are removed (first_seq moves up to the first record still held). */
int cw_journal_trim(cw_journal_t *j, guint64 upto, cw_error_t *err);

void cw_journal_stats(const cw_journal_t *j, cw_journal_stats_t *out);

/* Syncs (best effort) and closes. */
void cw_journal_close(cw_journal_t *j);

#endif
