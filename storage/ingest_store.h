/* What a node reads and writes about the cameras it pulls: the registry
 * (with passwords opened under the credential key) and camera health.
 * Blocking libpq on a connection the caller owns, from one thread. */
#ifndef CW_INGEST_STORE_H
#define CW_INGEST_STORE_H

#include <libpq-fe.h>

#include "cw_error.h"
#include "secret.h"

typedef struct {
  gint64 id;
  char *name;
  char *url;       /* clean: no user information */
  char *username;  /* NULL for none */
  char *password;  /* opened; NULL for none or when it could not be opened */
  char *transport; /* auto, tcp, udp */
  gboolean enabled;
  char *updated_at; /* changes with every edit: the cue to re-apply */
  char *analytics;  /* its analytics configuration, JSON (analytics/config.h) */
  char *problem;    /* why the password could not be opened, else NULL */
} cw_camera_source_t;

void cw_camera_source_free(cw_camera_source_t *s);

/* Every camera, enabled or not (array of cw_camera_source_t*). key may be
 * NULL when no camera has a password; a password that cannot be opened is
 * reported in problem, never fatal for the others. */
int cw_ingest_store_load(PGconn *conn, const cw_secret_key_t *key, GPtrArray **out,
                         cw_error_t *err);

typedef struct {
  gint64 camera_id;
  const char *state;     /* connecting, describing, playing, stalled, failed, backoff, disabled */
  gint64 state_since_us; /* wall clock */
  const char *codec;     /* "H264", "H265" or NULL */
  int width, height;
  double fps, bitrate_bps;
  const char *transport; /* "tcp", "udp" or NULL */
  gint64 last_frame_us;  /* 0 none */
  guint64 reconnects, access_units, damaged_units, lost_packets;
  const char *last_error; /* NULL or "" none */
  const char *recording_state; /* off, idle, waiting_key, recording, error; NULL: not known */
  const char *recording_error; /* NULL or "" none */
  const char *analytics_state; /* off, waiting_key, analysing, keyframes_only, error; NULL: not known */
  double analytics_fps;        /* frames analysed a second, measured */
  guint64 analytics_skipped;   /* units not analysed for the budget or a full queue */
  const char *analytics_error; /* NULL or "" none */
} cw_camera_health_row_t;

/* Upserts the rows for node in one statement; rows for cameras deleted
 * meanwhile are skipped. */
int cw_ingest_store_write_health(PGconn *conn, const char *node, const cw_camera_health_row_t *rows,
                                 guint n, cw_error_t *err);

#endif
