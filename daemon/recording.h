/* Recording on a node: crash recovery at start, the recorder that ingest
 * hands its access units to, and the keeper thread that indexes closed
 * segments in PostgreSQL and applies retention and the disk quota.
 *
 * The footage folder is the truth and the index follows it: a segment is
 * indexed only once its file is complete, the keeper retries while the
 * database is away (holding the segments in memory, and rescanning the
 * folder if it had to let some go), and at start every file newer than the
 * newest indexed segment of its camera is indexed. So a crash, a kill -9 or
 * a database outage leaves footage unindexed only until the next pass,
 * never indexed without its file. */
#ifndef CW_RECORDING_H
#define CW_RECORDING_H

#include "config.h"
#include "recorder.h"

typedef struct cw_recording cw_recording_t;

/* Recovers the files a crash left open, starts the recorder and the
 * keeper. Fails (with err) when the root cannot be created or written, or
 * the quota does not parse. conninfo as libpq takes it. */
cw_recording_t *cw_recording_start(const cw_config_t *cfg, const char *node, const char *conninfo,
                                   cw_error_t *err);
/* Ingest's sink: pass cw_recorder_push with this as its opaque. */
cw_recorder_t *cw_recording_recorder(cw_recording_t *rec);

typedef struct {
  gint64 pending;           /* closed segments waiting to be indexed */
  gint64 indexed;           /* new index rows written */
  gint64 index_dropped;     /* let go while the database was away (rescanned later) */
  gint64 removed_retention; /* segments deleted by age */
  gint64 removed_quota;     /* segments deleted to stay under the quota */
  gint64 footage_bytes;     /* this node's indexed footage, as last known */
  gint64 quota_bytes;       /* 0: none */
} cw_recording_stats_t;

void cw_recording_stats(cw_recording_t *rec, cw_recording_stats_t *out);

/* Closes every open segment, indexes what it can within a few seconds,
 * stops the keeper. */
void cw_recording_stop(cw_recording_t *rec);

#endif
