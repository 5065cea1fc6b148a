/* The analytics pool (issue 6, item 2): a fixed number of threads drives
 * every camera's analytics bin. A bin (parser, a single-threaded decoder,
 * cwtraffic, a sink) has no thread of its own: the pool thread that owns the
 * camera pushes its access units into the bin's sink pad, and the whole
 * chain runs in that call. Cameras are spread over the threads by id.
 *
 * Ingest hands units over through cw_analytics_pool_push (the access-unit
 * sink): a short lock, never a wait. Each thread's queue is bounded; when
 * it is full a non-key unit is dropped before a keyframe (a keyframe evicts
 * the newest queued non-key unit), and a camera whose stream lost a unit is
 * not decoded again until its next keyframe. Everything dropped is counted.
 *
 * Budget: each thread measures the share of its time spent working. Above
 * the budget for two seconds it lowers rates fairly: first the analysis rate
 * of its cameras, a step at a time for all of them, down to 1 frame a
 * second; then, one camera at a time in turn, keyframes-only (non-key units
 * are not even decoded). Well under the budget for ten seconds it gives
 * back in the reverse order. The queue therefore never grows without bound
 * and ingest never waits: what is skipped is counted per camera. */
#ifndef CW_ANALYTICS_POOL_H
#define CW_ANALYTICS_POOL_H

#include "access_unit.h"
#include "analytics_event.h"
#include "cw_error.h"

/* Called on a pool thread. offset_us maps the event's stream times to wall
 * clock: wall = stream + offset_us (from the unit being analysed: its RTCP
 * capture time when known, else the time it was queued). */
typedef void (*cw_analytics_pool_emit_fn)(void *opaque, gint64 camera_id,
                                          const cw_analytics_event_t *ev, gint64 offset_us);

typedef struct {
  guint threads;       /* default 1 */
  guint queue_units;   /* per thread; default 512 */
  double budget;       /* share of a thread's time (0..1); default 0.8 */
  cw_analytics_pool_emit_fn emit;
  void *emit_opaque;
} cw_analytics_pool_options_t;

typedef struct {
  gint64 camera_id;
  double fps_configured, fps_now; /* fps_now: after budget cuts */
  gboolean keyframes_only;        /* configured or imposed by the budget */
  gboolean budget_keyframes_only; /* imposed */
  guint64 units_in;       /* units given to the pool */
  guint64 dropped_queue;  /* dropped: the thread's queue was full */
  guint64 skipped_resync; /* not decoded: waiting for a keyframe after a loss */
  guint64 skipped_budget; /* not decoded: keyframes-only under budget */
  guint64 decoded;        /* units pushed into the bin */
  guint64 frames_analysed;
  char error[256]; /* the last error of its bin; "" none */
} cw_analytics_camera_stats_t;

typedef struct cw_analytics_pool cw_analytics_pool_t;

cw_analytics_pool_t *cw_analytics_pool_new(const cw_analytics_pool_options_t *options,
                                           cw_error_t *err);
/* Any thread. Starts or reconfigures a camera's analytics: config is its
 * analytics JSON (analytics/config.h; NULL or "": picture health only),
 * checked here (-EINVAL naming the member, nothing changed). fps 0: the
 * configuration's analysis_fps. The bin is rebuilt on the camera's next
 * unit. */
int cw_analytics_pool_set_camera(cw_analytics_pool_t *p, gint64 camera_id, const char *config,
                                 double fps, gboolean keyframes_only, cw_error_t *err);
/* Any thread; reports open incidents' ends first. */
void cw_analytics_pool_remove_camera(cw_analytics_pool_t *p, gint64 camera_id);
/* The access-unit sink; borrows au. */
void cw_analytics_pool_push(void *pool, cw_access_unit_t *au);
/* A new array of cw_analytics_camera_stats_t, by camera id. */
GArray *cw_analytics_pool_stats(cw_analytics_pool_t *p);
/* Joins the threads; open incidents end. */
void cw_analytics_pool_free(cw_analytics_pool_t *p);

#endif
