/* The event writer (issue 5): producers on any thread submit events; the
 * writer's own thread, on a libuv loop, appends them to the on-disk journal
 * (group commit every sync_ms: an event is accepted once its journal record
 * is synced), sends the synced records to PostgreSQL in batches with libpq
 * in non-blocking pipeline mode (uv_poll on PQsocket; each batch its own
 * transaction, as columns in binary: CW_EVENT_ADD_ROWS_IN_TURN_SQL; two in
 * flight, the second skipped by the server unless the first committed, so
 * events still take effect in journal order), and trims the journal once
 * PostgreSQL has committed them, oldest first. While the database is down, restarting or
 * refusing, events wait in the journal and drain in order when it returns
 * (reconnection with back-off; multi-host connection strings as libpq takes
 * them). A retried batch adds nothing twice: event ids are chosen by the
 * producer and the insert ignores ids already stored. */
#ifndef CW_EVENT_WRITER_H
#define CW_EVENT_WRITER_H

#include "cw_error.h"
#include "event_store.h"

typedef struct {
  const char *journal_dir;
  gsize journal_max_bytes; /* default 1 GiB */
  guint sync_ms;           /* group commit interval; default 100 */
  guint batch_max;         /* events per batch (one statement); default 2000 */
  guint queue_capacity;    /* events submitted but not yet journaled; default 65536 */
  const char *conninfo;    /* libpq; "" means the PG* variables */
  const char *node;
} cw_event_writer_options_t;

typedef struct {
  guint64 submitted;
  guint64 refused_queue_full;   /* submit returned FALSE */
  guint64 refused_journal_full; /* dropped: the journal was at its bound */
  guint64 accepted;             /* journaled and synced */
  guint64 committed;            /* journal records PostgreSQL has acknowledged */
  guint64 inserted;             /* of those, new rows (a retry's repeats excluded) */
  guint64 rejected;             /* refused by PostgreSQL one by one (logged with their ids) */
  guint64 journal_bytes, journal_max_bytes, journal_records;
  guint64 reconnects;
  gboolean db_connected;
} cw_event_writer_stats_t;

typedef struct cw_event_writer cw_event_writer_t;

/* Opens the journal (what an earlier run left in it is sent first) and
 * starts the writer's thread. */
cw_event_writer_t *cw_event_writer_new(const cw_event_writer_options_t *options, cw_error_t *err);
/* Any thread; copies the event; never blocks. FALSE (counted) when the
 * hand-off queue is full. Accepted only once journaled and synced. */
gboolean cw_event_writer_submit(cw_event_writer_t *w, const cw_event_t *event);
void cw_event_writer_stats(cw_event_writer_t *w, cw_event_writer_stats_t *out);
/* Time from accepted (journal synced) to committed by PostgreSQL, in µs,
 * at quantile q (0..1) over every event this writer committed (1 ms
 * resolution, up to 60 s); -1 before the first. */
gint64 cw_event_writer_commit_latency(cw_event_writer_t *w, double q);
/* Journals what was submitted, syncs, gives PostgreSQL up to grace_ms to
 * take what is pending, then stops; the rest stays in the journal. */
void cw_event_writer_free(cw_event_writer_t *w, guint grace_ms);

#endif
