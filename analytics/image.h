/* Pictures as analytics sees them (issue 6): 8-bit planes at the working
 * size. The analyzer scales each decoded frame down to a working width
 * (default 320) once; everything after works on these, so costs do not
 * grow with the camera's resolution. */
#ifndef CW_IMAGE_H
#define CW_IMAGE_H

#include <glib.h>

typedef struct {
  guint8 *data;
  int width, height, stride;
} cw_plane_t;

/* I420 at the working size: u and v are half size each way. u.data and
 * v.data NULL for a grey picture (no chroma: shadow suppression is off). */
typedef struct {
  cw_plane_t y, u, v;
  gint64 ts_us; /* stream time of the frame, µs */
} cw_image_t;

#endif
