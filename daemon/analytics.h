/* Analytics on a node (issue 6): the analytics pool fed as an access-unit
 * sink, each camera set up with its analytics configuration from the
 * registry, and what the analyzers report turned into events for the event
 * writer: lasting incidents as one event whose end is filled in when the
 * incident ends (same id, same start), instants and per-minute counts as
 * events of their own; a snapshot with each incident's start. */
#ifndef CW_DAEMON_ANALYTICS_H
#define CW_DAEMON_ANALYTICS_H

#include "config.h"
#include "event_writer.h"
#include "pool.h"
#include "snapshot.h"

typedef struct cw_analytics cw_analytics_t;

/* events and snapshots may be NULL. NULL with err when the pool cannot
 * start; NULL without an error when [analytics] enabled is false. */
cw_analytics_t *cw_analytics_start(const cw_config_t *cfg, const char *node,
                                   cw_event_writer_t *events, cw_snapshotter_t *snapshots,
                                   cw_error_t *err);
cw_analytics_pool_t *cw_analytics_pool(cw_analytics_t *a);
/* From the registry: (re)configure an enabled camera; a configuration the
 * parser refuses is logged naming the camera and member, and the camera is
 * analysed for picture health only until it is fixed. */
void cw_analytics_camera(cw_analytics_t *a, gint64 camera_id, const char *name,
                         const char *config);
void cw_analytics_forget(cw_analytics_t *a, gint64 camera_id);
/* After ingest has stopped feeding it: open incidents end. */
void cw_analytics_stop(cw_analytics_t *a);

#endif
