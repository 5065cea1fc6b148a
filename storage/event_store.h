/* Events and alerts in PostgreSQL (issue 5; schema in
 * storage/sql/004_events.sql, kinds documented in storage/EVENTS.md).
 * Blocking libpq on a connection the caller owns; the event writer sends
 * the same statement without blocking (CW_EVENT_ADD_SQL with the JSON of
 * cw_event_batch_json as $1). */
#ifndef CW_EVENT_STORE_H
#define CW_EVENT_STORE_H

#include <libpq-fe.h>

#include "cw_error.h"

#define CW_EVENT_ID_LEN 36 /* a UUID in text, chosen by the producer */

typedef struct {
  char id[CW_EVENT_ID_LEN + 1];
  gint64 camera_id;       /* 0: an event of the node, not of a camera */
  const char *kind;       /* one of event_kinds (e.g. "camera.offline") */
  const char *severity;   /* info, warning, critical; NULL: the kind's default */
  gint64 start_us;        /* wall clock, µs since the Unix epoch */
  gint64 end_us;          /* 0: instant, or still going */
  const char *attributes; /* a JSON object as text; NULL: {} */
  const char *snapshot;   /* JPEG path relative to the node's snapshot root; NULL: none */
} cw_event_t;

/* A new random UUID (version 4) into id. */
void cw_event_new_id(char id[CW_EVENT_ID_LEN + 1]);

/* The statement that adds a batch: inserts what is new (a retried batch
 * adds nothing twice), opens or updates alerts for alerting kinds, resolves
 * a camera's offline alert when it comes back, and NOTIFYs cw_alerts.
 * Returns one row: the number of new events. */
#define CW_EVENT_ADD_SQL "SELECT events_add($1::json)"

/* The batch as the JSON CW_EVENT_ADD_SQL takes; a new string. */
char *cw_event_batch_json(const char *node, const cw_event_t *const *events, guint n);
/* One event as the JSON object the batch holds (what the event writer
 * journals), appended to out. Attributes that are not a JSON object are
 * kept as {"unparsed": text}. Any thread. */
void cw_event_json_append(GString *out, const char *node, const cw_event_t *event);

/* The statement the event writer sends (storage/sql/005_events_add_rows.sql):
 * the same rules as CW_EVENT_ADD_SQL, the batch as nine arrays in binary
 * (id, camera_id, node, kind, severity, start_time, end_time, attributes,
 * snapshot), which the server takes without parsing JSON. Returns one row:
 * the number of new events. */
#define CW_EVENT_ADD_ROWS_SQL                                                                      \
  "SELECT events_add_rows($1::uuid[], $2::int8[], $3::text[], $4::text[], $5::text[],"             \
  " $6::timestamptz[], $7::timestamptz[], $8::jsonb[], $9::text[])"
#define CW_EVENT_ROWS_NPARAMS 9
/* The same with two int8 parameters first (after, turn): the event writer's
 * statement, which keeps two batches in flight on one connection; the
 * batch runs only if the session's batch number after committed (see
 * events_add_rows_in_turn). */
#define CW_EVENT_ADD_ROWS_IN_TURN_SQL                                                              \
  "SELECT events_add_rows_in_turn($1::int8, $2::int8, $3::uuid[], $4::int8[], $5::text[],"         \
  " $6::text[], $7::text[], $8::timestamptz[], $9::timestamptz[], $10::jsonb[], $11::text[])"

/* A batch being built for CW_EVENT_ADD_ROWS_SQL. One owner thread. */
typedef struct cw_event_rows cw_event_rows_t;

/* The parameters as PQsendQueryParams takes them (binary, typed); they
 * point into the batch and stay valid until it changes or is freed. */
typedef struct {
  const char *values[CW_EVENT_ROWS_NPARAMS];
  int lengths[CW_EVENT_ROWS_NPARAMS];
  int formats[CW_EVENT_ROWS_NPARAMS];
  Oid types[CW_EVENT_ROWS_NPARAMS];
} cw_event_rows_params_t;

cw_event_rows_t *cw_event_rows_new(void);
void cw_event_rows_free(cw_event_rows_t *rows);
/* Empties the batch, keeping its buffers. */
void cw_event_rows_reset(cw_event_rows_t *rows);
guint cw_event_rows_len(const cw_event_rows_t *rows);
/* Appends one event given as the JSON object cw_event_json_append writes
 * (len bytes, no NUL needed). FALSE, with nothing appended, for text not in
 * that form (not that JSON, a time not written by cw_time_format, an id
 * that is not a UUID): the caller sends that one with CW_EVENT_ADD_SQL,
 * whose checks name what is wrong. */
gboolean cw_event_rows_add_json(cw_event_rows_t *rows, const char *json, gsize len);
void cw_event_rows_params(cw_event_rows_t *rows, cw_event_rows_params_t *out);

/* Blocking add. -EINVAL naming the event for an unknown kind or a bad field. */
int cw_event_store_add(PGconn *conn, const char *node, const cw_event_t *const *events, guint n,
                       guint *added, cw_error_t *err);

/* Alerts, newest first, as JSON texts (new array of char*). state NULL for
 * any; kind and camera_id (0) filter when set. */
int cw_alerts_list(PGconn *conn, const char *state, const char *kind, gint64 camera_id, guint limit,
                   GPtrArray **out, cw_error_t *err);
/* open -> acknowledged; audited. -ENOENT no such alert, -EALREADY not open. */
int cw_alert_ack(PGconn *conn, gint64 alert_id, const char *actor, cw_error_t *err);
/* open or acknowledged -> resolved with a note; audited. */
int cw_alert_resolve(PGconn *conn, gint64 alert_id, const char *actor, const char *note,
                     cw_error_t *err);

#endif
