/* The access unit: one coded picture, as ingest hands it to the recorder and
 * the analytics feed. Refcounted and immutable once published, so any
 * number of consumers on any threads may hold it.
 *
 * data is an Annex B byte stream (each NAL unit preceded by 00 00 00 01).
 * A keyframe carries its parameter sets (SPS/PPS, and VPS for H.265) in
 * front of the picture, so a consumer can start at any keyframe. */
#ifndef CW_ACCESS_UNIT_H
#define CW_ACCESS_UNIT_H

#include <stddef.h>

#include <glib.h>

typedef enum {
  CW_CODEC_NONE = 0,
  CW_CODEC_H264 = 1,
  CW_CODEC_H265 = 2,
} cw_codec_t;

typedef struct {
  gint refcount; /* atomic; use _ref/_unref */
  cw_codec_t codec;
  guint8 *data; /* Annex B, owned */
  size_t size;
  gint64 pts;         /* RTP timestamp extended to 64 bits (no wrap), clock_rate units */
  guint32 clock_rate; /* 90000 for video */
  gint64
      wallclock_us; /* capture time from RTCP sender reports, µs since the Unix epoch; 0 unknown */
  gboolean keyframe; /* IDR (H.264) or IRAP (H.265) */
  gboolean damaged;  /* a packet of it was lost: do not decode or record as good */
  guint32 ssrc;
  gint64 camera_id; /* set by ingest's camera before the unit is published */
} cw_access_unit_t;

/* A new unit with refcount 1 holding a copy of data. */
cw_access_unit_t *cw_access_unit_new(cw_codec_t codec, const guint8 *data, size_t size);
/* Takes ownership of data (g_malloc'd). */
cw_access_unit_t *cw_access_unit_new_take(cw_codec_t codec, guint8 *data, size_t size);
cw_access_unit_t *cw_access_unit_ref(cw_access_unit_t *au);
void cw_access_unit_unref(cw_access_unit_t *au);

/* Where a stage hands access units: called on the producer's thread with a
 * borrowed reference (ref it to keep it). Must not block. */
typedef void (*cw_access_unit_sink_fn)(void *opaque, cw_access_unit_t *au);

#endif
