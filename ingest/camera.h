/* A camera's life on an ingest loop: the state machine around the RTSP
 * client (rtsp_client.h).
 *
 *   connecting -> describing -> playing -> (stalled) -> backoff -> connecting
 *   any attempt that ends -> backoff (transient) or failed (needs a human:
 *   bad credentials, not found, no usable track; still retried, at the cap)
 *   disabled: configured off; nothing runs.
 *
 * A stall is no access unit for stall_ms while playing. Back-off is
 * exponential with full jitter (delay = random(0, min(cap, base * 2^n))),
 * so cameras that drop together do not return together; n resets once a
 * session has played for stable_ms. Every transition is logged with the
 * redacted URL and counted. All calls on the owning loop's thread. */
#ifndef CW_INGEST_CAMERA_H
#define CW_INGEST_CAMERA_H

#include <uv.h>

#include "access_unit.h"
#include "rtsp_client.h"

typedef enum {
  CW_CAMERA_CONNECTING = 0,
  CW_CAMERA_DESCRIBING,
  CW_CAMERA_PLAYING,
  CW_CAMERA_STALLED,
  CW_CAMERA_FAILED,
  CW_CAMERA_BACKOFF,
  CW_CAMERA_DISABLED,
  CW_CAMERA_N_STATES
} cw_camera_state_t;

/* The names DESIGN.md gives operators: "connecting", "playing", ... */
const char *cw_camera_state_name(cw_camera_state_t s);

typedef struct {
  gint64 id;
  char *name;
  char *url;      /* clean URL (no user information; may hold the password slot) */
  char *username; /* NULL for none */
  char *password; /* NULL for none; wiped when freed */
  cw_rtsp_transport_pref_t transport;
  gboolean enabled;
} cw_camera_config_t;

cw_camera_config_t *cw_camera_config_copy(const cw_camera_config_t *c);
void cw_camera_config_free(cw_camera_config_t *c);
/* TRUE when a running camera must restart to apply b. */
gboolean cw_camera_config_differs(const cw_camera_config_t *a, const cw_camera_config_t *b);

typedef struct {
  guint stall_ms;              /* default 10000 */
  guint backoff_min_ms;        /* default 1000 */
  guint backoff_max_ms;        /* default 60000 */
  guint stable_ms;             /* default 30000 */
  guint timeout_ms;            /* RTSP connect/response, default 10000 */
  cw_access_unit_sink_fn sink; /* every good or damaged unit, camera_id set */
  void *sink_opaque;
} cw_camera_options_t;

typedef struct {
  gint64 id;
  cw_camera_state_t state;
  gint64 since_us; /* wall clock, when the state was entered */
  cw_codec_t codec;
  int width, height;
  double fps;           /* measured over the last health period */
  double bitrate_bps;   /* measured over the last health period */
  gint64 last_frame_us; /* wall clock of the last access unit, 0 none */
  guint64 reconnects;
  guint64 access_units, damaged, lost, transitions;
  char transport[4];
  char last_error[256];
} cw_camera_health_t;

typedef struct cw_ingest_camera cw_ingest_camera_t;

cw_ingest_camera_t *cw_ingest_camera_new(uv_loop_t *loop, const cw_camera_config_t *config,
                                         const cw_camera_options_t *options);
/* Applies a new configuration: restarts the session when it matters. */
void cw_ingest_camera_update(cw_ingest_camera_t *cam, const cw_camera_config_t *config);
/* Fills h with the camera's health; rates are measured since the previous
 * call. */
void cw_ingest_camera_health(cw_ingest_camera_t *cam, cw_camera_health_t *h);
/* Stops and frees (asynchronously: handles close on the loop). */
void cw_ingest_camera_free(cw_ingest_camera_t *cam);

/* Transitions into each state so far, process-wide (for /metrics). */
guint64 cw_camera_transitions(cw_camera_state_t to);

#endif
