/* One recorded segment as the recorder closes it and the footage index
 * stores it. Shared by the recorder (which needs libavformat) and the index
 * (which needs libpq), so that neither depends on the other. */
#ifndef CW_SEGMENT_H
#define CW_SEGMENT_H

#include <glib.h>

#include "access_unit.h"
#include "cw_error.h"

typedef struct {
  gint64 camera_id;
  char *path;        /* relative to the node's footage root, '/'-separated */
  gint64 start_us;   /* wall clock of the first frame, µs since the Unix epoch */
  gint64 end_us;     /* wall clock just after the last frame (its start + duration) */
  gint64 bytes;      /* file size */
  cw_codec_t codec;  /* H.264 or H.265 */
  int width, height; /* 0 when unknown */
  gboolean repaired; /* closed by crash recovery or after a write error, not by the recorder */
} cw_segment_info_t;

void cw_segment_info_clear(cw_segment_info_t *s);
/* For GPtrArray of heap cw_segment_info_t. */
void cw_segment_info_free(gpointer s);
cw_segment_info_t *cw_segment_info_copy(const cw_segment_info_t *s);

/* "h264" / "h265" (NULL for none) and back; -EINVAL for anything else. */
const char *cw_codec_name(cw_codec_t codec);
int cw_codec_from_name(const char *name, cw_codec_t *codec);

/* Where a segment of camera_id starting at start_us lives under the root:
 * "<camera_id>/<YYYY-MM-DD>/<HH>/<camera_id>-<YYYYMMDDTHHMMSS.mmm>Z.mp4" (UTC).
 * A new string. */
char *cw_segment_relpath(gint64 camera_id, gint64 start_us);
/* The inverse, for crash recovery: reads camera and start time back from a
 * relpath made above (with or without a ".part" suffix); -EINVAL if it is not
 * one. */
int cw_segment_relpath_parse(const char *relpath, gint64 *camera_id, gint64 *start_us);

/* [recording] quota: "0" (none), bytes with an optional K, M, G or T suffix
 * (powers of 1024), or a percentage of the filesystem ("90%"). Exactly one
 * of *bytes and *percent is set non-zero unless the quota is none. */
int cw_quota_parse(const char *text, gint64 *bytes, double *percent, cw_error_t *err);

#endif
