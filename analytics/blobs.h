/* Foreground blobs (issue 6): the mask cleaned (a morphological 3x3 open
 * then close, so noise specks and parts under 3 px thin go, and a vehicle
 * split by a lane marking up to 2 px wide joins), then 8-connected
 * components with their boxes. CW_BG_FOREGROUND (255) counts; shadow
 * pixels count as background, except a run of shadow (12 px at most, along
 * a row or a column) with foreground at both ends: the body of a dark grey
 * vehicle passes the shadow test, but lies between the vehicle's own
 * edges, windows and wheels, where a cast shadow does not.
 * Stateless: any thread, given its own scratch. */
#ifndef CW_BLOBS_H
#define CW_BLOBS_H

#include <glib.h>

typedef struct {
  float x, y, w, h; /* bounding box, working pixels: pixels x .. x+w-1 */
  float cx, cy;     /* centroid of the blob's pixels (pixel centres at +0.5) */
  int area;         /* pixels */
} cw_blob_t;

/* mask: width x height, stride width (cw_bgmodel's). scratch: at least
 * width*height*2 bytes the function may overwrite (NULL: it allocates
 * and frees).
 * Blobs smaller than min_area pixels are dropped. Appends cw_blob_t to out
 * (a GArray of cw_blob_t), largest first; returns how many. */
guint cw_blobs_find(const guint8 *mask, int width, int height, int min_area, guint8 *scratch,
                    GArray *out);

#endif
