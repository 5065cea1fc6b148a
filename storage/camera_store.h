/* The camera registry in PostgreSQL: add, edit, remove, enable, disable,
 * list, show and bulk import. Every change writes its audit_log row in the
 * same statement or transaction, with before and after images from
 * camera_public_json() (no password, ever).
 *
 * Blocking libpq on a connection the caller owns; one thread per
 * connection. Names are matched regardless of case. */
#ifndef CW_CAMERA_STORE_H
#define CW_CAMERA_STORE_H

#include <libpq-fe.h>

#include "camera.h"
#include "cw_error.h"
#include "secret.h"

/* A camera as it may be shown: the password is only a flag. */
typedef struct {
  gint64 id;
  char *name, *url, *substream_url, *username;
  gboolean has_password;
  gboolean has_location;
  double lat, lon;
  char *road, *direction;
  char **tags;
  gboolean enabled;
  char *created_at, *updated_at; /* ISO 8601 with zone */
  char *json;                    /* camera_listing_json(): public fields and health */
  char *transport;               /* auto, tcp, udp */
  /* Health as the pulling node last wrote it; state NULL when no node has. */
  char *state, *node, *last_error, *codec, *state_since_at, *last_frame_at;
  int width, height;
  double fps, bitrate_bps;
  gint64 reconnects;
  char *recording_state, *recording_error; /* NULL: not reported */
  int retention_days;                      /* 0: the node's default */
} cw_camera_t;

void cw_camera_free(cw_camera_t *cam);

/* key may be NULL when spec carries no password. *id_out may be NULL.
 * -EEXIST when the name is taken (any case). */
int cw_camera_store_add(PGconn *conn, const cw_secret_key_t *key, const cw_camera_spec_t *spec,
                        const char *actor, gint64 *id_out, cw_error_t *err);

/* Changes the fields spec->set names. action is the audit verb
 * ("camera.edit", "camera.enable", ...). -ENOENT when no such camera. */
int cw_camera_store_edit(PGconn *conn, const cw_secret_key_t *key, const char *name,
                         const cw_camera_spec_t *spec, const char *action, const char *actor,
                         cw_error_t *err);

int cw_camera_store_remove(PGconn *conn, const char *name, const char *actor, cw_error_t *err);

/* A camera's analytics configuration (JSON text the caller has checked with
 * analytics/config.h's parser: storage does not judge it); audited as
 * camera.analytics. -ENOENT when no such camera. */
int cw_camera_store_set_analytics(PGconn *conn, gint64 camera_id, const char *json,
                                  const char *actor, cw_error_t *err);
/* *json: new, pretty-printed. */
int cw_camera_store_get_analytics(PGconn *conn, gint64 camera_id, char **json, cw_error_t *err);

/* *out: a new array of cw_camera_t*, ordered by name, freed by the caller. */
int cw_camera_store_list(PGconn *conn, GPtrArray **out, cw_error_t *err);
int cw_camera_store_get(PGconn *conn, const char *name, cw_camera_t **out, cw_error_t *err);

/* Imports specs (lines[i] is spec i's line in source) in one transaction:
 * all or nothing. Names already in the table are reported one per line as
 * "SOURCE:LINE: name: ..." into problems and nothing is written
 * (-EEXIST). */
int cw_camera_store_import(PGconn *conn, const cw_secret_key_t *key, GPtrArray *specs,
                           const guint *lines, const char *source, const char *actor,
                           GString *problems, cw_error_t *err);

/* Cameras counted by state as listings show it (disabled, the pulling
 * node's report, or "unknown" when no node has reported), plus how many
 * reports are older than stale_s seconds. *json gets the same as a JSON
 * object. All out-strings are new. */
typedef struct {
  char *state;
  gint64 count;
} cw_state_count_t;

int cw_camera_store_status(PGconn *conn, int stale_s, GArray **counts, gint64 *total, gint64 *stale,
                           char **json, cw_error_t *err);

#endif
