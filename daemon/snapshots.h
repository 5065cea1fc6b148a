/* Event snapshots on a node (issue 5): the snapshotter that turns a
 * camera's next keyframe into a JPEG under [events] snapshot_dir, and the
 * daily pruning of snapshots older than [events] snapshot_days, off the
 * loop thread. The snapshotter is fed as an access-unit sink and asked for
 * pictures by the node when it emits an event worth one. */
#ifndef CW_DAEMON_SNAPSHOTS_H
#define CW_DAEMON_SNAPSHOTS_H

#include <uv.h>

#include "config.h"
#include "snapshot.h"

typedef struct cw_snapshots cw_snapshots_t;

/* -errno naming the folder when it cannot be made or written. */
cw_snapshots_t *cw_snapshots_start(uv_loop_t *loop, const cw_config_t *cfg, cw_error_t *err);
cw_snapshotter_t *cw_snapshots_snapshotter(cw_snapshots_t *s);
/* After ingest has stopped feeding it: ends pending requests, stops the
 * pruning timer. */
void cw_snapshots_stop(cw_snapshots_t *s);
/* After the loop has closed the timer (uv_walk + uv_run). */
void cw_snapshots_free(cw_snapshots_t *s);

#endif
