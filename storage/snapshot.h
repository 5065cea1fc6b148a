/* Event snapshots (issue 5, item 3): a JPEG of a camera's picture, kept on
 * the node's disk under the snapshot root and referenced from the event by
 * its path relative to that root.
 *
 * A producer that wants a picture with its event asks for the camera's next
 * keyframe (cw_snapshotter_request) and puts the relative path in the event
 * at once; the snapshotter's own thread decodes that keyframe (libavcodec,
 * single-threaded), scales it down and writes the JPEG (written to a
 * temporary name and renamed, so a reader never sees half a file). The
 * ingest side (cw_snapshotter_push, the access-unit sink) only looks the
 * camera up under a short lock and never waits. If the camera sends no
 * keyframe within the request's lifetime the file is never written: the
 * reference then names a missing file, which readers must expect. */
#ifndef CW_SNAPSHOT_H
#define CW_SNAPSHOT_H

#include "access_unit.h"
#include "cw_error.h"

/* One keyframe (Annex B with its parameter sets) as a JPEG no wider than
 * max_width (0: the picture's own size), aspect kept, both sides even
 * (baseline JFIF, 4:2:0, full range). quality 1..100 (clamped) maps onto
 * the mjpeg encoder's qscale 31..2. *jpeg is new (the caller unrefs it), and
 * NULL on failure. -EINVAL naming the fault when the unit is not a good
 * keyframe (not one, damaged, empty, another codec) or does not decode to
 * a whole picture. Any thread; blocks for the decode (about 6 ms for
 * 1280x720 H.264 at 640 wide), so not on an ingest thread. */
int cw_snapshot_jpeg(const cw_access_unit_t *keyframe, guint max_width, guint quality,
                     GBytes **jpeg, cw_error_t *err);

/* "<camera>/<YYYY-MM-DD>/<camera>-<YYYYMMDDTHHMMSS.mmm>Z-<tag>.jpg" (UTC);
 * tag is the event id. In the tag anything but an ASCII letter, digit, '-'
 * or '_' becomes '_'; NULL or "" leaves out "-<tag>". A new string, always
 * one cw_snapshotter_request takes. */
char *cw_snapshot_relpath(gint64 camera_id, gint64 time_us, const char *tag);

typedef struct cw_snapshotter cw_snapshotter_t;

/* Called on the snapshotter's thread after each request ends, exactly once
 * per accepted request (also at cw_snapshotter_free): error NULL when
 * relpath was written, else one line saying why not. relpath and error are
 * borrowed. Called without the snapshotter's lock held, so it may call
 * cw_snapshotter_request or _stats, but not cw_snapshotter_free. */
typedef void (*cw_snapshot_done_fn)(void *opaque, gint64 camera_id, const char *relpath,
                                    const char *error);

typedef struct {
  const char *root;      /* created if missing */
  guint max_width;       /* default 640 */
  guint quality;         /* 1..100, default 80 */
  guint max_pending;     /* requests not ended yet (waiting for a keyframe or being
                          * written), whole node; default 256 */
  guint wait_ms;         /* a request not met by a keyframe within this ends; default 10000 */
  cw_snapshot_done_fn done; /* optional */
  void *done_opaque;
} cw_snapshotter_options_t;

/* requested counts accepted requests; each ends as written, failed (the
 * keyframe did not decode, the file could not be written, or the
 * snapshotter was freed first) or expired, so requested minus those three is
 * what is pending. refused: max_pending reached or an unsafe relpath. */
typedef struct {
  guint64 requested, written, failed, expired, refused; /* refused: see above */
} cw_snapshotter_stats_t;

/* Creates the root and starts the snapshotter's thread ("cw-snapshot").
 * options is copied. NULL with err set when the root cannot be made. */
cw_snapshotter_t *cw_snapshotter_new(const cw_snapshotter_options_t *options, cw_error_t *err);
/* Asks for the camera's next good keyframe (one pushed after this call) as
 * <root>/<relpath>; relpath is copied. Any thread; never blocks on I/O.
 * FALSE (counted as refused) when max_pending requests wait already or
 * relpath is not a safe relative path: empty, absolute, with an empty, "."
 * or ".." component, or with ".." anywhere (the event store refuses that
 * in a reference), or over 1024 bytes. Several requests for one camera are
 * met by the same keyframe, decoded once. */
gboolean cw_snapshotter_request(cw_snapshotter_t *s, gint64 camera_id, const char *relpath);
/* The access-unit sink (cw_access_unit_sink_fn); borrows au. Any ingest
 * thread, for every unit of every camera: a unit that is not a good
 * keyframe returns at once without the lock; a good keyframe costs a lock
 * and a hash lookup, and only for a camera with requests waiting is it
 * ref'd and queued for the thread. That queue holds 16 keyframes; past
 * that the keyframe is dropped (logged, not in the stats) and its requests
 * wait for the camera's next one. */
void cw_snapshotter_push(void *snapshotter, cw_access_unit_t *au);
void cw_snapshotter_stats(cw_snapshotter_t *s, cw_snapshotter_stats_t *out);
/* Removes day folders (<camera>/<YYYY-MM-DD>) whose whole day is older
 * than before_us (the day's end, UTC, at or before it); returns how many
 * files went, or -errno (err names the first failure; the others are still
 * tried). Only the layout is touched: a name that is not a camera id or a
 * date, and a folder inside a day folder (which then stays too), are left.
 * Camera folders stay, even empty. A missing root is 0. Any thread; may run
 * next to a snapshotter while before_us is older than today's start. */
int cw_snapshot_prune(const char *root, gint64 before_us, cw_error_t *err);
/* Serves the keyframes already queued, ends the other pending requests
 * (done called with an error, on the snapshotter's thread), joins the
 * thread. Stop pushing first (no push may run during or after the free).
 * NULL is a no-op. */
void cw_snapshotter_free(cw_snapshotter_t *s);

#endif
