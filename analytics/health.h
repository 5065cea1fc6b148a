/* Camera health from the picture (issue 6): blackout or covered lens (mean
 * luma low and the picture flat), frozen picture (no pixel changes beyond
 * noise for frozen_s: a live camera always has sensor noise), defocus
 * (sharpness, the mean gradient energy, below defocus_ratio of the
 * reference learned while the camera looked normal), scene change (the
 * picture's edges no longer match the reference scene's for tamper_s:
 * camera moved or re-aimed; the new scene becomes the reference).
 * Gradual light change must raise none of these: the reference follows
 * slowly, and comparisons are on normalised edges, not raw brightness.
 * Lasting conditions report start and end; scene change is an instant.
 * A condition ends once it has been gone for 1 s (frozen: at once). While
 * the picture is black or frozen, scene change and defocus are not judged.
 * Incident numbers count from 1 per health object. All calls on one
 * thread. */
#ifndef CW_HEALTH_H
#define CW_HEALTH_H

#include "analytics_event.h"
#include "analytics_config.h"
#include "image.h"

typedef struct cw_health cw_health_t;

cw_health_t *cw_health_new(const cw_analytics_config_t *cfg, int width, int height,
                           cw_analytics_emit_fn emit, void *opaque);
/* Every analysed frame (working size). TRUE when a scene change was just
 * reported: the caller resets the background model, tracker and rules. */
gboolean cw_health_update(cw_health_t *h, const cw_image_t *img);
/* TRUE while blackout or frozen holds: traffic rules should not run. */
gboolean cw_health_blind(const cw_health_t *h);
void cw_health_flush(cw_health_t *h, gint64 ts_us);
void cw_health_free(cw_health_t *h);

#endif
