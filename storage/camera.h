/* A camera as an engineer describes it, and the rules it must meet.
 *
 * Pure functions, no I/O: the CLI flags and the CSV importer both feed text
 * through cw_camera_spec_set(), so a bad value gets the same words wherever
 * it comes from: "field: reason". Field names are the CSV header's: name,
 * url, username, password, lat, lon, road, direction, tags, substream_url,
 * enabled, transport. */
#ifndef CW_CAMERA_H
#define CW_CAMERA_H

#include <glib.h>

#include "cw_error.h"

#define CW_CAMERA_NAME_MAX 64
#define CW_CAMERA_ROAD_MAX 128
#define CW_CAMERA_USERNAME_MAX 256
#define CW_CAMERA_PASSWORD_MAX 256
#define CW_CAMERA_TAGS_MAX 32
#define CW_CAMERA_TAG_MAX 32

/* Which fields a spec sets; an edit changes only those. */
enum {
  CW_CAM_NAME = 1 << 0,
  CW_CAM_URL = 1 << 1,
  CW_CAM_USERNAME = 1 << 2,
  CW_CAM_PASSWORD = 1 << 3,
  CW_CAM_SUBSTREAM = 1 << 4,
  CW_CAM_LATLON = 1 << 5,
  CW_CAM_ROAD = 1 << 6,
  CW_CAM_DIRECTION = 1 << 7,
  CW_CAM_TAGS = 1 << 8,
  CW_CAM_ENABLED = 1 << 9,
  CW_CAM_TRANSPORT = 1 << 10,
};

typedef struct {
  guint set; /* CW_CAM_* bits of the fields given */
  char *name;
  char *url;           /* clean: no user information */
  char *substream_url; /* clean, NULL to clear */
  char *username;      /* NULL to clear */
  char *password;      /* plaintext, NULL to clear; wiped by clear() */
  gboolean has_lat, has_lon;
  double lat, lon;
  char *road;      /* NULL to clear */
  char *direction; /* N NE E SE S SW W NW, NULL to clear */
  char **tags;     /* NULL-terminated, lower case, sorted, unique */
  gboolean enabled;
  char *transport; /* "auto", "tcp" or "udp"; NULL means auto */
  /* Credentials found inside url / substream_url, merged by finish(). */
  char *url_username, *url_password;
} cw_camera_spec_t;

/* Sets one field from text; an empty value clears an optional field. */
int cw_camera_spec_set(cw_camera_spec_t *spec, const char *field, const char *value,
                       cw_error_t *err);

/* Cross-field rules. for_add: name and url are required. Moves credentials
 * found inside a URL into username/password (an explicit value that
 * differs is an error), requires lat and lon together, and a user name for
 * any password. */
int cw_camera_spec_finish(cw_camera_spec_t *spec, gboolean for_add, cw_error_t *err);

void cw_camera_spec_clear(cw_camera_spec_t *spec);

/* Checks a camera name on its own (used to look cameras up). */
int cw_camera_name_check(const char *name, cw_error_t *err);

#endif
