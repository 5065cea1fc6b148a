/* Adaptive background model (issue 6): a running mean and variance per
 * pixel of luma, updated every analysed frame, so gradual light change and
 * sensor noise are absorbed; chroma of the mean kept too, for shadows.
 *
 * Mask values: CW_BG_BACKGROUND, CW_BG_SHADOW (darker than the background
 * by a ratio in [shadow_lo, shadow_hi] with near-equal chroma: a cast
 * shadow, not an object), CW_BG_FOREGROUND. Foreground pixels learn
 * learn_rate * fg_learn_factor (slow) so a stopped vehicle stays foreground
 * for minutes, not seconds (shadow pixels learn as slowly); a global change
 * of brightness (the median ratio of frame to background over background
 * pixels) is followed at once by a gain, so a cloud, dusk or an
 * auto-exposure step does not turn the picture into foreground. A pixel
 * whose value lies between the background's here and a pixel or two away
 * counts as background (camera shake moving an edge).
 *
 * Every frame is classified; the model learns at most once every 0.18 s
 * of stream time (img->ts_us) once settled, so it keeps the same pace in
 * seconds at 5 analysed frames a second or at 25, and the learning (the
 * dearest part) is not paid for every frame.
 *
 * Warm-up: the first warmup_frames frames give an all-background mask;
 * the background then starts as their per-pixel median (a vehicle that
 * passed during warm-up leaves no ghost), and for 2 x warmup_frames more
 * everything learns fast (rate 0.1), so what stood still through warm-up
 * fades within seconds. After cw_bg_reset, the same again.
 *
 * Not thread-safe: one model per camera, used by one thread at a time. */
#ifndef CW_BGMODEL_H
#define CW_BGMODEL_H

#include "image.h"

#define CW_BG_BACKGROUND 0
#define CW_BG_SHADOW 127
#define CW_BG_FOREGROUND 255

typedef struct {
  float learn_rate;           /* per learning step; default 0.02 */
  float fg_learn_factor;      /* default 0.01 */
  float k_sigma;              /* foreground past k standard deviations; default 3.0 */
  float min_sigma;            /* noise floor, luma units; default 6.0 */
  float shadow_lo, shadow_hi; /* default 0.45, 0.92 */
  float shadow_chroma;        /* max |chroma difference| for a shadow; default 10 */
  guint warmup_frames;        /* frames before any pixel is foreground; default 10 */
} cw_bg_options_t;

typedef struct cw_bgmodel cw_bgmodel_t;

/* width and height: the working size. options NULL or zero fields: defaults. */
cw_bgmodel_t *cw_bg_new(int width, int height, const cw_bg_options_t *options);
/* Classifies img against the model into mask (width x height, stride
 * width, owned by the caller), then updates the model. img must be
 * width x height; its chroma planes half size (rounded up), or NULL.
 * Returns the fraction of foreground pixels (shadows excluded). Costs
 * about 0.25 ms of CPU at 320x180 (release build). */
float cw_bg_apply(cw_bgmodel_t *m, const cw_image_t *img, guint8 *mask);
/* The background's luma (width x height, stride width), valid until the
 * next apply. */
const guint8 *cw_bg_mean(const cw_bgmodel_t *m);
/* Pixels not to learn from (w x h, stride w, nonzero = hold; NULL none),
 * for every apply until changed; the array must stay valid until then.
 * A held pixel learns as slowly as foreground even when it matches the
 * background: the analyzer holds standing vehicles, whose edges would
 * otherwise join the background (an edge pixel that passes for shake
 * learns fast, which makes the next one in pass too), melting them in
 * seconds. */
void cw_bg_hold(cw_bgmodel_t *m, const guint8 *hold);
/* Forget everything and learn again from the next frame (scene change). */
void cw_bg_reset(cw_bgmodel_t *m);
void cw_bg_free(cw_bgmodel_t *m);

#endif
