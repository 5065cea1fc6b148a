/* One camera's analytics (issue 6): scales each decoded frame to the
 * working size, runs picture health, the background model, blobs, the
 * tracker and the rules, and hands what they report to emit. No threads,
 * no GStreamer: the cwtraffic element and the analytics pool both drive
 * it, one frame at a time on whatever thread they run. */
#ifndef CW_ANALYZER_H
#define CW_ANALYZER_H

#include "analytics_event.h"
#include "analytics_config.h"

typedef struct {
  const guint8 *y, *u, *v; /* I420; u and v NULL: grey */
  int width, height;
  int y_stride, uv_stride;
  gint64 ts_us; /* stream time */
} cw_frame_t;

typedef struct cw_analyzer cw_analyzer_t;

/* cfg is copied by reference and must outlive the analyzer. work_width 0:
 * 320. */
cw_analyzer_t *cw_analyzer_new(const cw_analytics_config_t *cfg, int work_width,
                               cw_analytics_emit_fn emit, void *opaque);
/* A frame of any size; a change of size starts the models again. */
void cw_analyzer_push(cw_analyzer_t *a, const cw_frame_t *frame);
/* End of stream: partial counts reported, open incidents end. */
void cw_analyzer_flush(cw_analyzer_t *a);
void cw_analyzer_free(cw_analyzer_t *a);

#endif
