/* Clips for tests that feed access units: a few seconds of ffmpeg's
 * testsrc2 encoded with libx264 or libx265 (no B-frames, a fixed GOP),
 * split into units as ingest publishes them (Annex B, no AUD, parameter
 * sets in front of each keyframe). Made in a folder the caller owns; the
 * splitting is the camera simulator's (tests/camsim/clip.c, linked in). */
#ifndef CW_TEST_CLIP_H
#define CW_TEST_CLIP_H

#include "access_unit.h"

typedef struct {
  guint8 *data;
  size_t len;
  gboolean key;
} cw_test_unit_t;

typedef struct {
  cw_codec_t codec;
  int fps;
  GArray *units; /* cw_test_unit_t, decode order */
} cw_test_clip_t;

/* size "WxH"; aborts the test (g_error) if ffmpeg cannot make it. */
cw_test_clip_t *cw_test_clip_new(const char *dir, cw_codec_t codec, const char *size, int fps,
                                 int gop, double seconds);
/* Unit i as a new access unit of camera_id (pts i frames at 90 kHz). */
cw_access_unit_t *cw_test_clip_unit(const cw_test_clip_t *clip, guint i, gint64 camera_id);
void cw_test_clip_free(cw_test_clip_t *clip);

#endif
