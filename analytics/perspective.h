/* What the lanes tell of perspective (issue 6): how wide one vehicle can
 * look with its bottom on a given row. The lanes of a camera's analytics
 * configuration are drawn on the road, so at every row they show how wide
 * a lane is there; a vehicle is narrower than its lane (its box, with the
 * side seen at an angle, a little wider at most). A blob much wider than
 * that is vehicles side by side, to be split where the mask is thinnest.
 * Without lanes nothing is known and nothing is split. */
#ifndef CW_PERSPECTIVE_H
#define CW_PERSPECTIVE_H

#include "analytics_config.h"
#include "blobs.h"

/* Fills max_width[0 .. height-1] (working pixels): the widest one vehicle
 * may be with its bottom on that row, 0 where no lane crosses the row
 * (unknown). Returns FALSE (all 0) when the configuration has no lanes. */
gboolean cw_perspective_max_width(const cw_analytics_config_t *cfg, int width, int height,
                                  float *max_width);

/* Splits every blob of blobs (a GArray of cw_blob_t) wider than max_width
 * at its bottom row into vehicle-wide parts, at the columns where the
 * foreground of mask is thinnest; parts under min_area pixels are not
 * made. Returns the number of blobs afterwards. */
guint cw_perspective_split_wide(const guint8 *mask, int width, int height, const float *max_width,
                                int min_area, GArray *blobs);

#endif
