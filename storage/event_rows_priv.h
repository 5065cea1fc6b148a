/* Shared by event_rows.c and event_store.c; not a public API. */
#ifndef CW_EVENT_ROWS_PRIV_H
#define CW_EVENT_ROWS_PRIV_H

#include <glib.h>

/* Whether text (len bytes) is exactly one JSON object, by the strict
 * reader the journal records are checked with. */
gboolean cw_event_json_is_object(const char *text, gsize len);

#endif
