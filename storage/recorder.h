/* The recorder: every camera's access units, without transcoding, into
 * fragmented MP4 segment files through libavformat.
 *
 * Ingest threads call cw_recorder_push() (the sink); it never blocks: the
 * unit goes onto the bounded queue of the writer thread that owns the
 * camera (camera_id % writers), which muxes and writes. Over the queue's
 * byte bound a unit is dropped and counted, and that camera's segment ends
 * at its last good frame; recording picks up again at the next keyframe
 * (the lost stretch is a gap, as in the index).
 *
 * Files: <root>/<relpath>.part while written (relpath from
 * cw_segment_relpath), renamed to <relpath> when closed. A segment starts
 * on a keyframe and ends at the first keyframe after segment_ms, when the
 * camera's stream breaks (new SSRC, timestamps going back or jumping), when
 * a unit is damaged or dropped, after idle_ms without units, or at
 * cw_recorder_free(). Fragments of about fragment_ms; each fragment's bytes
 * are written (write(2)) as soon as the muxer completes it, so a killed
 * process loses at most the fragment being built.
 *
 * A write error (ENOSPC, EIO, ...) ends that camera's segment (the complete
 * fragments are kept, like a crash), puts the camera in the error state with
 * a message, and retries at a keyframe every retry_ms. */
#ifndef CW_RECORDER_H
#define CW_RECORDER_H

#include <glib.h>

#include "access_unit.h"
#include "cw_error.h"
#include "segment.h"

typedef enum {
  CW_RECORDER_FSYNC_NONE = 0,     /* leave it to the kernel */
  CW_RECORDER_FSYNC_SEGMENT = 1,  /* fdatasync the file and its folder on close (default) */
  CW_RECORDER_FSYNC_FRAGMENT = 2, /* also fdatasync after every fragment */
} cw_recorder_fsync_t;

/* Called on a writer thread once a segment's file is complete and renamed
 * to its final name. info is borrowed; copy what you keep. Must not block
 * for long (hand it to a queue). */
typedef void (*cw_segment_closed_fn)(void *opaque, const cw_segment_info_t *info);
/* Called on a writer thread when a camera's recording fails (message says
 * what and where, never a password) or recovers (message NULL). */
typedef void (*cw_recorder_error_fn)(void *opaque, gint64 camera_id, const char *message);

typedef struct {
  const char *root;    /* footage root; created if missing */
  guint segment_ms;    /* default 60000 */
  guint fragment_ms;   /* default 1000 */
  guint idle_ms;       /* close a camera's segment after this long without units; default 5000 */
  guint retry_ms;      /* after a write error; default 5000 */
  guint writers;       /* writer threads; default 2 */
  gsize queue_bytes;   /* per writer; default 64 MiB */
  cw_recorder_fsync_t fsync;
  cw_segment_closed_fn on_closed;
  cw_recorder_error_fn on_error;
  void *opaque;
} cw_recorder_options_t;

typedef enum {
  CW_RECORDING_IDLE = 0,    /* no units lately */
  CW_RECORDING_WAITING_KEY, /* waiting for a keyframe to start a segment */
  CW_RECORDING_ACTIVE,      /* a segment is open */
  CW_RECORDING_ERROR,       /* last write failed; see error */
} cw_recording_state_t;

typedef struct {
  gint64 camera_id;
  cw_recording_state_t state;
  char error[256]; /* "" unless state is CW_RECORDING_ERROR */
  gint64 segments_closed;
  gint64 bytes_written;
  gint64 units_dropped; /* queue full, damaged, or before the first keyframe */
} cw_recorder_camera_status_t;

typedef struct {
  gint64 units_in, units_dropped_queue_full;
  gint64 queued_bytes, queued_bytes_max; /* summed over writers */
  gint64 segments_closed, bytes_written, write_errors;
} cw_recorder_stats_t;

typedef struct cw_recorder cw_recorder_t;

/* Zero fields in options take the defaults above. */
cw_recorder_t *cw_recorder_new(const cw_recorder_options_t *options, cw_error_t *err);
/* cw_access_unit_sink_fn: any thread; takes its own reference; never blocks. */
void cw_recorder_push(void *recorder, cw_access_unit_t *au);
/* Array of cw_recorder_camera_status_t for every camera seen. Any thread. */
GArray *cw_recorder_status(cw_recorder_t *r);
void cw_recorder_stats(cw_recorder_t *r, cw_recorder_stats_t *out);
/* Drains the queues, closes every open segment (on_closed is called for
 * each), joins the writers. */
void cw_recorder_free(cw_recorder_t *r);

/* Crash recovery, before a recorder is started on root: every "*.part" file
 * under root is cut back to its last complete fragment and renamed to its
 * final name (or removed when it holds no complete fragment). *closed gets
 * a new array of cw_segment_info_t* (repaired = TRUE) for the files kept.
 * Files that cannot be read are reported and left alone, never deleted. */
int cw_recorder_recover(const char *root, GPtrArray **closed, cw_error_t *err);

/* One unfinished file, <root>/<relpath>.part (relpath as cw_segment_relpath
 * gives it, without ".part"): cut back to its last complete moof+mdat pair
 * and renamed to <root>/<relpath>, with info filled (repaired = TRUE; the
 * caller clears it). -ENODATA when it held no complete fragment (then it is
 * removed); another negative code when it cannot be read or is not an MP4
 * (then it is left alone). Any thread; cw_recorder_recover and the
 * recorder's write-error path use it. */
int cw_segment_repair(const char *root, const char *relpath, cw_segment_info_t *info,
                      cw_error_t *err);

/* Reads a closed segment file back (libavformat, no decoding) into info:
 * camera and start from its name, end from its last frame, bytes, codec,
 * resolution. Used to index files a crash left unindexed. */
int cw_segment_probe(const char *root, const char *relpath, cw_segment_info_t *info,
                     cw_error_t *err);

#endif
