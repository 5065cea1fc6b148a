/* What the recorder reads from a keyframe before it opens a segment: its
 * parameter sets and its picture size. Annex B in, no decoding. */
#ifndef CW_KEYFRAME_H
#define CW_KEYFRAME_H

#include <glib.h>

#include "access_unit.h"

/* The parameter sets in front of the keyframe's first slice into out, each
 * behind a 4-byte start code (the form movenc turns into avcC/hvcC). */
void cw_keyframe_parameter_sets(const cw_access_unit_t *au, GByteArray *out);
/* Whether parameter sets taken above hold an SPS. */
gboolean cw_keyframe_has_sps(const GByteArray *ps, cw_codec_t codec);
/* Picture size from the keyframe's SPS and first slice, through libavcodec's
 * parser; 0 x 0 when it cannot tell. */
void cw_keyframe_picture_size(const cw_access_unit_t *au, int *width, int *height);

#endif
