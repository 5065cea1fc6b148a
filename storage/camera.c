#include "camera.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rtsp_url.h"
#include "secret.h"

static const char *const directions[] = {"N", "NE", "E", "SE", "S", "SW", "W", "NW"};

void
cw_camera_spec_clear(cw_camera_spec_t *spec)
{
  g_free(spec->name);
  g_free(spec->url);
  g_free(spec->substream_url);
  g_free(spec->username);
  cw_secret_wipe_free(spec->password);
  g_free(spec->road);
  g_free(spec->direction);
  g_free(spec->transport);
  g_strfreev(spec->tags);
  g_free(spec->url_username);
  cw_secret_wipe_free(spec->url_password);
  memset(spec, 0, sizeof *spec);
}

int
cw_camera_name_check(const char *name, cw_error_t *err)
{
  size_t len = strlen(name);
  if (len == 0)
    return cw_error_set(err, -EINVAL, "name: required");
  if (len > CW_CAMERA_NAME_MAX)
    return cw_error_set(err, -EINVAL, "name: longer than %d characters", CW_CAMERA_NAME_MAX);
  if (!g_ascii_isalnum(name[0]))
    return cw_error_set(err, -EINVAL, "name: must start with a letter or digit");
  for (size_t i = 0; i < len; i++) {
    char c = name[i];
    if (!g_ascii_isalnum(c) && c != '-' && c != '_' && c != '.')
      return cw_error_set(err, -EINVAL,
                          "name: only letters, digits, '-', '_' and '.' are allowed (character "
                          "%zu is not)",
                          i + 1);
  }
  return 0;
}

/* Free text that ends up on screens and in logs: printable, bounded. */
static int
check_text(const char *field, const char *value, size_t max, cw_error_t *err)
{
  if (strlen(value) > max)
    return cw_error_set(err, -EINVAL, "%s: longer than %zu bytes", field, max);
  if (!g_utf8_validate(value, -1, NULL))
    return cw_error_set(err, -EINVAL, "%s: not valid UTF-8", field);
  for (const char *p = value; *p; p = g_utf8_next_char(p)) {
    gunichar c = g_utf8_get_char(p);
    if (g_unichar_iscntrl(c))
      return cw_error_set(err, -EINVAL, "%s: contains a control character", field);
  }
  return 0;
}

static int
parse_coord(const char *field, const char *value, double limit, double *out, cw_error_t *err)
{
  /* Plain decimal only: strtod would also take "0x10", "inf" and "nan". */
  if (value[strspn(value, "0123456789+-.eE")] != '\0')
    return cw_error_set(err, -EINVAL, "%s: not a number", field);
  char *end = NULL;
  errno = 0;
  double v = g_ascii_strtod(value, &end);
  if (end == value || *end || errno || !isfinite(v))
    return cw_error_set(err, -EINVAL, "%s: not a number", field);
  if (v < -limit || v > limit)
    return cw_error_set(err, -EINVAL, "%s: must be between %g and %g", field, -limit, limit);
  *out = v;
  return 0;
}

static gint
compare_tags(gconstpointer a, gconstpointer b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
parse_tags(const char *value, char ***out, cw_error_t *err)
{
  /* Both ',' and ';' separate, so a CSV cell need not be quoted. */
  char **parts = g_strsplit_set(value, ",;", -1);
  GPtrArray *tags = g_ptr_array_new_with_free_func(g_free);
  int rc = 0;
  for (char **p = parts; *p; p++) {
    char *t = g_ascii_strdown(g_strstrip(*p), -1);
    if (!*t) {
      g_free(t);
      continue;
    }
    if (strlen(t) > CW_CAMERA_TAG_MAX) {
      g_free(t);
      rc = cw_error_set(err, -EINVAL, "tags: tag longer than %d characters", CW_CAMERA_TAG_MAX);
      goto out;
    }
    for (const char *c = t; *c; c++) {
      if (!g_ascii_isalnum(*c) && *c != '-' && *c != '_') {
        char *shown = cw_error_quote(t); /* never echo control bytes */
        rc = cw_error_set(err, -EINVAL, "tags: tag '%s' may hold only letters, digits, '-' and '_'",
                          shown);
        g_free(shown);
        g_free(t);
        goto out;
      }
    }
    gboolean dup = FALSE;
    for (guint i = 0; i < tags->len; i++)
      dup = dup || strcmp(tags->pdata[i], t) == 0;
    if (dup)
      g_free(t);
    else
      g_ptr_array_add(tags, t);
  }
  if (tags->len > CW_CAMERA_TAGS_MAX) {
    rc = cw_error_set(err, -EINVAL, "tags: more than %d tags", CW_CAMERA_TAGS_MAX);
    goto out;
  }
  g_ptr_array_sort(tags, compare_tags);
  g_ptr_array_add(tags, NULL);
  *out = (char **)g_ptr_array_free(tags, FALSE);
  tags = NULL;
out:
  if (tags)
    g_ptr_array_free(tags, TRUE);
  g_strfreev(parts);
  return rc;
}

static int
set_url(cw_camera_spec_t *spec, const char *field, const char *value, gboolean main,
        cw_error_t *err)
{
  cw_rtsp_url_t u;
  int rc = cw_rtsp_url_parse(value, field, &u, err);
  if (rc < 0)
    return rc;
  /* Credentials in either URL must agree; finish() merges them. */
  if (u.username) {
    if (spec->url_username && strcmp(spec->url_username, u.username) != 0) {
      cw_rtsp_url_clear(&u);
      return cw_error_set(err, -EINVAL, "%s: user name differs from the one in the other URL",
                          field);
    }
    if (spec->url_password && u.password && strcmp(spec->url_password, u.password) != 0) {
      cw_rtsp_url_clear(&u);
      return cw_error_set(err, -EINVAL, "%s: password differs from the one in the other URL",
                          field);
    }
    g_free(spec->url_username);
    spec->url_username = g_strdup(u.username);
    if (u.password) {
      cw_secret_wipe_free(spec->url_password);
      spec->url_password = g_strdup(u.password);
    }
  }
  char **slot = main ? &spec->url : &spec->substream_url;
  g_free(*slot);
  *slot = g_steal_pointer(&u.clean);
  cw_rtsp_url_clear(&u);
  return 0;
}

int
cw_camera_spec_set(cw_camera_spec_t *spec, const char *field, const char *value, cw_error_t *err)
{
  gboolean empty = value == NULL || *value == '\0';
  int rc = 0;

  if (strcmp(field, "name") == 0) {
    if ((rc = cw_camera_name_check(value ? value : "", err)) < 0)
      return rc;
    g_free(spec->name);
    spec->name = g_strdup(value);
    spec->set |= CW_CAM_NAME;
  } else if (strcmp(field, "url") == 0) {
    if (empty)
      return cw_error_set(err, -EINVAL, "url: required");
    if ((rc = set_url(spec, "url", value, TRUE, err)) < 0)
      return rc;
    spec->set |= CW_CAM_URL;
  } else if (strcmp(field, "substream_url") == 0) {
    g_clear_pointer(&spec->substream_url, g_free);
    if (!empty && (rc = set_url(spec, "substream_url", value, FALSE, err)) < 0)
      return rc;
    spec->set |= CW_CAM_SUBSTREAM;
  } else if (strcmp(field, "username") == 0) {
    if (!empty) {
      if (strlen(value) > CW_CAMERA_USERNAME_MAX)
        return cw_error_set(err, -EINVAL, "username: longer than %d bytes", CW_CAMERA_USERNAME_MAX);
      if ((rc = check_text("username", value, CW_CAMERA_USERNAME_MAX, err)) < 0)
        return rc;
    }
    g_free(spec->username);
    spec->username = empty ? NULL : g_strdup(value);
    spec->set |= CW_CAM_USERNAME;
  } else if (strcmp(field, "password") == 0) {
    /* Never quote the value back: it is a secret. */
    if (!empty) {
      if (strlen(value) > CW_CAMERA_PASSWORD_MAX)
        return cw_error_set(err, -EINVAL, "password: longer than %d bytes", CW_CAMERA_PASSWORD_MAX);
      if (!g_utf8_validate(value, -1, NULL))
        return cw_error_set(err, -EINVAL, "password: not valid UTF-8");
      for (const char *p = value; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
          return cw_error_set(err, -EINVAL, "password: contains a control character");
    }
    cw_secret_wipe_free(spec->password);
    spec->password = empty ? NULL : g_strdup(value);
    spec->set |= CW_CAM_PASSWORD;
  } else if (strcmp(field, "lat") == 0 || strcmp(field, "lon") == 0) {
    gboolean is_lat = field[1] == 'a';
    if (!empty && (rc = parse_coord(field, value, is_lat ? 90 : 180,
                                    is_lat ? &spec->lat : &spec->lon, err)) < 0)
      return rc;
    if (is_lat)
      spec->has_lat = !empty;
    else
      spec->has_lon = !empty;
    spec->set |= CW_CAM_LATLON;
  } else if (strcmp(field, "road") == 0) {
    if (!empty && (rc = check_text("road", value, CW_CAMERA_ROAD_MAX, err)) < 0)
      return rc;
    g_free(spec->road);
    spec->road = empty ? NULL : g_strdup(value);
    spec->set |= CW_CAM_ROAD;
  } else if (strcmp(field, "direction") == 0) {
    const char *found = NULL;
    for (guint i = 0; !empty && i < G_N_ELEMENTS(directions); i++)
      if (g_ascii_strcasecmp(value, directions[i]) == 0)
        found = directions[i];
    if (!empty && !found)
      return cw_error_set(err, -EINVAL,
                          "direction: must be one of N, NE, E, SE, S, SW, W, NW (the way the "
                          "traffic in view travels)");
    g_free(spec->direction);
    spec->direction = g_strdup(found);
    spec->set |= CW_CAM_DIRECTION;
  } else if (strcmp(field, "tags") == 0) {
    char **tags = NULL;
    if (!empty && (rc = parse_tags(value, &tags, err)) < 0)
      return rc;
    g_strfreev(spec->tags);
    spec->tags = tags ? tags : g_new0(char *, 1);
    spec->set |= CW_CAM_TAGS;
  } else if (strcmp(field, "transport") == 0) {
    static const char *const transports[] = {"auto", "tcp", "udp"};
    const char *found = empty ? "auto" : NULL;
    for (guint i = 0; !empty && i < G_N_ELEMENTS(transports); i++)
      if (g_ascii_strcasecmp(value, transports[i]) == 0)
        found = transports[i];
    if (!found)
      return cw_error_set(err, -EINVAL,
                          "transport: must be auto (TCP, falling back to UDP), tcp or udp");
    g_free(spec->transport);
    spec->transport = g_strdup(found);
    spec->set |= CW_CAM_TRANSPORT;
  } else if (strcmp(field, "enabled") == 0) {
    if (empty || !g_ascii_strcasecmp(value, "true") || !g_ascii_strcasecmp(value, "yes") ||
        !strcmp(value, "1"))
      spec->enabled = TRUE;
    else if (!g_ascii_strcasecmp(value, "false") || !g_ascii_strcasecmp(value, "no") ||
             !strcmp(value, "0"))
      spec->enabled = FALSE;
    else
      return cw_error_set(err, -EINVAL, "enabled: must be true or false");
    spec->set |= CW_CAM_ENABLED;
  } else {
    return cw_error_set(err, -EINVAL, "%s: unknown field", field);
  }
  return 0;
}

int
cw_camera_spec_finish(cw_camera_spec_t *spec, gboolean for_add, cw_error_t *err)
{
  if (for_add && !(spec->set & CW_CAM_NAME))
    return cw_error_set(err, -EINVAL, "name: required");
  if (for_add && !(spec->set & CW_CAM_URL))
    return cw_error_set(err, -EINVAL, "url: required");
  if ((spec->set & CW_CAM_LATLON) && spec->has_lat != spec->has_lon)
    return cw_error_set(err, -EINVAL, "%s: lat and lon go together; give both or neither",
                        spec->has_lat ? "lon" : "lat");
  if (spec->url_username) {
    if (spec->username && strcmp(spec->username, spec->url_username) != 0)
      return cw_error_set(err, -EINVAL, "username: differs from the user name inside url");
    if (spec->password && spec->url_password && strcmp(spec->password, spec->url_password) != 0)
      return cw_error_set(err, -EINVAL, "password: differs from the password inside url");
    if (!spec->username) {
      spec->username = g_strdup(spec->url_username);
      spec->set |= CW_CAM_USERNAME;
    }
    if (!spec->password && spec->url_password) {
      spec->password = g_steal_pointer(&spec->url_password);
      spec->set |= CW_CAM_PASSWORD;
    }
  }
  /* For an edit the stored user name counts; the table's check decides. */
  if (for_add && spec->password && !spec->username)
    return cw_error_set(err, -EINVAL, "username: required when a password is given");
  return 0;
}
