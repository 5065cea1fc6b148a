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

/* Blocking add. -EINVAL naming the event for an unknown kind or a bad field. */
int cw_event_store_add(PGconn *conn, const char *node, const cw_event_t *const *events, guint n,
                       guint *added, cw_error_t *err);

/* Alerts, newest first, as JSON texts (new array of char*). state NULL for
 * any; kind and camera_id (0) filter when set. */
int cw_alerts_list(PGconn *conn, const char *state, const char *kind, gint64 camera_id,
                   guint limit, GPtrArray **out, cw_error_t *err);
/* open -> acknowledged; audited. -ENOENT no such alert, -EALREADY not open. */
int cw_alert_ack(PGconn *conn, gint64 alert_id, const char *actor, cw_error_t *err);
/* open or acknowledged -> resolved with a note; audited. */
int cw_alert_resolve(PGconn *conn, gint64 alert_id, const char *actor, const char *note,
                     cw_error_t *err);

#endif
