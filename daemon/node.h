/* The node's control loop: follows the camera registry in PostgreSQL and
 * hands the changes to the ingest workers, and writes what the workers
 * report back as camera health. Runs on the daemon's main libuv loop with
 * blocking libpq (short queries, a few per second at most); a database
 * that is down delays registry changes and health, never ingest. */
#ifndef CW_NODE_H
#define CW_NODE_H

#include <uv.h>

#include "analytics.h"
#include "config.h"
#include "event_writer.h"
#include "recorder.h"
#include "secret.h"
#include "snapshot.h"
#include "worker_pool.h"

typedef struct cw_node cw_node_t;

/* conninfo as libpq takes it; key may be NULL. Nothing is owned but what
 * is copied. */
cw_node_t *cw_node_new(uv_loop_t *loop, const char *name, const char *conninfo,
                       const cw_config_t *cfg, cw_ingest_pool_t *pool, const cw_secret_key_t *key);
/* Health rows then carry each camera's recording state and error (a full
 * disk shows on the camera). NULL: recording is off on this node. */
void cw_node_set_recorder(cw_node_t *node, cw_recorder_t *recorder);
/* Camera state changes then become events: camera.offline when a camera
 * drops to backoff, failed or stalled, camera.online when it plays again
 * (with a snapshot of its picture when snapshots is not NULL). NULL
 * events: no events. */
void cw_node_set_events(cw_node_t *node, cw_event_writer_t *events, cw_snapshotter_t *snapshots);
/* Each enabled camera is then analysed with its analytics configuration
 * from the registry. NULL: analytics off on this node. */
void cw_node_set_analytics(cw_node_t *node, cw_analytics_t *analytics);
/* First registry read, then the timers. */
void cw_node_start(cw_node_t *node);
/* Stops the timers and writes a last health report. */
void cw_node_stop(cw_node_t *node);
/* After the loop has closed the node's timers (uv_walk + uv_run). */
void cw_node_free(cw_node_t *node);

#endif
