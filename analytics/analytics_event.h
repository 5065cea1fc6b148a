/* What the analyzer reports (issue 6). Kinds and attributes are those of
 * storage/EVENTS.md. A lasting incident (congestion, stopped vehicle,
 * blackout, frozen, defocus) is reported at its start, when it changes
 * (a congestion level), and at its end, all with the same incident number;
 * an instant (count, wrong-way, scene change) once. */
#ifndef CW_ANALYTICS_EVENT_H
#define CW_ANALYTICS_EVENT_H

#include <glib.h>

typedef enum {
  CW_PHASE_INSTANT = 0,
  CW_PHASE_START = 1,
  CW_PHASE_UPDATE = 2,
  CW_PHASE_END = 3,
} cw_phase_t;

typedef struct {
  const char *kind;       /* "traffic.stopped_vehicle", "camera.tamper.blackout", ... */
  cw_phase_t phase;
  guint incident;         /* ties a lasting incident's start, updates and end; 0 for instants.
                           * Unique among one kind's incidents (key by kind and number) */
  gint64 ts_us;           /* stream time of the frame that decided it */
  gint64 start_us;        /* when the incident began as best known (a stop: when the
                           * vehicle stopped, not when T had passed); = ts_us for instants */
  const char *attributes; /* a JSON object as text */
} cw_analytics_event_t;

/* Called on the analysing thread; copy what you keep. */
typedef void (*cw_analytics_emit_fn)(void *opaque, const cw_analytics_event_t *ev);

const char *cw_phase_name(cw_phase_t phase); /* "instant", "start", "update", "end" */

#endif
