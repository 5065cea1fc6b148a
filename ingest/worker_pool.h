/* The ingest workers: N threads, each with its own libuv loop, each owning
 * a shard of the cameras end to end (socket, parser, state machine). A
 * camera never moves between threads while it runs; no locks on the media
 * path. Configuration reaches a worker through a bounded command queue and
 * uv_async_send; health leaves it as a snapshot the worker refreshes every
 * second under a mutex only the snapshot readers share. */
#ifndef CW_WORKER_POOL_H
#define CW_WORKER_POOL_H

#include "camera.h"
#include "queue.h"

typedef struct cw_ingest_pool cw_ingest_pool_t;

/* threads 0 = one per core. options->sink is called on worker threads. */
cw_ingest_pool_t *cw_ingest_pool_new(guint threads, const cw_camera_options_t *options);
guint cw_ingest_pool_threads(const cw_ingest_pool_t *pool);

/* Adds a camera or applies a new configuration to it (by id); a disabled
 * one stops and reports "disabled". Any thread. Waits only if the worker's
 * command queue (1024 deep) is full. */
void cw_ingest_pool_put(cw_ingest_pool_t *pool, const cw_camera_config_t *config);
/* Stops and forgets a camera. Any thread. */
void cw_ingest_pool_remove(cw_ingest_pool_t *pool, gint64 id);

/* A copy of every camera's latest health (array of cw_camera_health_t).
 * Any thread. */
GArray *cw_ingest_pool_health(cw_ingest_pool_t *pool);
/* Command queue figures summed over the workers. */
void cw_ingest_pool_queue_stats(cw_ingest_pool_t *pool, cw_queue_stats_t *out);

/* Stops every camera (TEARDOWN), joins the threads, frees the pool. */
void cw_ingest_pool_free(cw_ingest_pool_t *pool);

#endif
