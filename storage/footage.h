/* The footage index in PostgreSQL (storage/sql/003_recording.sql): adding
 * closed segments, finding a camera's footage and gaps over a time range,
 * legal holds, and choosing what retention and quota delete. Blocking libpq
 * on a connection the caller owns. Times are µs since the Unix epoch. */
#ifndef CW_FOOTAGE_H
#define CW_FOOTAGE_H

#include <libpq-fe.h>

#include "cw_error.h"
#include "segment.h"

/* Two segments closer than this are continuous; a wider hole is a gap. */
#define CW_FOOTAGE_GAP_TOLERANCE_US 250000

/* A segment row as read back. */
typedef struct {
  cw_segment_info_t info;
  char *node;
} cw_segment_row_t;

void cw_segment_row_free(gpointer row);

typedef struct {
  gint64 from_us, to_us;
  /* A gap at the end of the range while the camera is being recorded now:
   * its newest part may be in the segment still open, which is indexed
   * when it closes. */
  gboolean open;
} cw_time_range_t;

typedef struct {
  gint64 camera_id, from_us, to_us; /* as asked */
  GPtrArray *segments;              /* cw_segment_row_t*, by start, overlapping [from, to) */
  GArray *gaps;                     /* cw_time_range_t, by start: parts of [from, to) not covered */
  gint64 covered_us;                /* recorded time inside [from, to) */
} cw_footage_t;

/* Inserts closed segments (idempotent: a segment already indexed is left as
 * it is), creating day partitions as needed. *added (may be NULL) gets the
 * number of new rows. */
int cw_footage_add(PGconn *conn, const char *node, const cw_segment_info_t *const *segments,
                   guint n, guint *added, cw_error_t *err);

/* The camera's segments and gaps over [from_us, to_us). -EINVAL when
 * from >= to. An unknown camera is -ENOENT. */
int cw_footage_find(PGconn *conn, gint64 camera_id, gint64 from_us, gint64 to_us,
                    cw_footage_t **out, cw_error_t *err);
/* {"camera_id":..,"from":"ISO","to":"ISO","covered_seconds":..,
 *  "segments":[{"start":..,"end":..,"node":..,"path":..,"bytes":..,"codec":..,
 *  "width":..,"height":..,"repaired":..}],"gaps":[{"from":..,"to":..,"open":..}]}
 * A new string. */
char *cw_footage_to_json(const cw_footage_t *f);
void cw_footage_free(cw_footage_t *f);

/* Per camera, the start of the newest segment this node has indexed (what
 * crash recovery compares files against). *out: new table gint64* camera ->
 * gint64* start_us (g_int64_hash). */
int cw_footage_last_starts(PGconn *conn, const char *node, GHashTable **out, cw_error_t *err);

/* Total bytes of this node's indexed footage. */
int cw_footage_node_bytes(PGconn *conn, const char *node, gint64 *bytes, cw_error_t *err);

/* Retention by age: removes from the index up to limit of this node's
 * segments that ended more than their camera's retention_days (or
 * default_days) before now_us, skipping held ones, and returns them in
 * *removed (new array of cw_segment_row_t*) so the caller deletes the
 * files. The rows go first: a crash between the two leaves a file without a
 * row, never a row without a file. */
int cw_footage_expire(PGconn *conn, const char *node, gint64 now_us, int default_days, guint limit,
                      GPtrArray **removed, cw_error_t *err);
/* Quota: removes this node's oldest segments that are not held, until
 * their bytes reach want_bytes or limit rows; same contract as above. */
int cw_footage_evict(PGconn *conn, const char *node, gint64 want_bytes, guint limit,
                     GPtrArray **removed, cw_error_t *err);

/* Legal hold over [from_us, to_us) of a camera for a case, with its audit
 * row in the same statement. *id (may be NULL) gets the hold's id. */
int cw_footage_hold(PGconn *conn, gint64 camera_id, gint64 from_us, gint64 to_us,
                    const char *case_id, const char *actor, gint64 *id, cw_error_t *err);
/* Releases the camera's active holds of that case that lie inside
 * [from_us, to_us), audited; -ENOENT when there is none. *released (may be
 * NULL) gets how many. */
int cw_footage_release(PGconn *conn, gint64 camera_id, gint64 from_us, gint64 to_us,
                       const char *case_id, const char *actor, guint *released, cw_error_t *err);

/* Sets a camera's retention to days (1..3650), or back to the node's
 * default with 0; audited ('camera.retention') in the same statement.
 * -ENOENT for a camera not registered. */
int cw_footage_set_retention(PGconn *conn, gint64 camera_id, int days, const char *actor,
                             cw_error_t *err);

#endif
