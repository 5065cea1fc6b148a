/* Unit tests for storage/camera.c: each field's rules with its exact
 * "field: reason" words, and the cross-field rules of finish() (lat with
 * lon, credentials moved out of URLs, a user name for every password).
 * Pure validation; no database. */
#include "camera.h"

#include <errno.h>
#include <string.h>

#define PASSWORD "S3cr3t-P4ss"

/* ---- helpers ----------------------------------------------------------- */

static void
set_ok(cw_camera_spec_t *spec, const char *field, const char *value)
{
  cw_error_t err = {0};
  int rc = cw_camera_spec_set(spec, field, value, &err);
  if (rc != 0)
    g_test_message("%s=%s: unexpected error: %s", field, value ? value : "(null)", err.msg);
  g_assert_cmpint(rc, ==, 0);
}

/* Setting field to value fails with -EINVAL and exactly msg, and the
 * message holds no password. */
static void
set_fails(cw_camera_spec_t *spec, const char *field, const char *value, const char *msg)
{
  cw_error_t err = {0};
  int rc = cw_camera_spec_set(spec, field, value, &err);
  g_assert_cmpint(rc, ==, -EINVAL);
  g_assert_cmpint(err.code, ==, -EINVAL);
  g_assert_cmpstr(err.msg, ==, msg);
  g_assert_null(strstr(err.msg, PASSWORD));
}

/* A fresh spec has field value rejected with msg. */
static void
reject(const char *field, const char *value, const char *msg)
{
  cw_camera_spec_t spec = {0};
  set_fails(&spec, field, value, msg);
  cw_camera_spec_clear(&spec);
}

static void
finish_fails(cw_camera_spec_t *spec, gboolean for_add, const char *msg)
{
  cw_error_t err = {0};
  g_assert_cmpint(cw_camera_spec_finish(spec, for_add, &err), ==, -EINVAL);
  g_assert_cmpint(err.code, ==, -EINVAL);
  g_assert_cmpstr(err.msg, ==, msg);
  g_assert_null(strstr(err.msg, PASSWORD));
}

static void
finish_ok(cw_camera_spec_t *spec, gboolean for_add)
{
  cw_error_t err = {0};
  int rc = cw_camera_spec_finish(spec, for_add, &err);
  if (rc != 0)
    g_test_message("unexpected error: %s", err.msg);
  g_assert_cmpint(rc, ==, 0);
}

/* A spec with the two fields an add requires. */
static void
minimal(cw_camera_spec_t *spec)
{
  set_ok(spec, "name", "cam-1");
  set_ok(spec, "url", "rtsp://cam1.example/stream");
}

/* ---- name -------------------------------------------------------------- */

static void
test_name_ok(void)
{
  static const char *const good[] = {"cam-1", "A", "0", "junction_12.north", "Cam.01-B_x"};
  for (guint i = 0; i < G_N_ELEMENTS(good); i++) {
    cw_camera_spec_t spec = {0};
    set_ok(&spec, "name", good[i]);
    g_assert_cmpstr(spec.name, ==, good[i]);
    g_assert_true(spec.set & CW_CAM_NAME);
    cw_error_t err = {0};
    g_assert_cmpint(cw_camera_name_check(good[i], &err), ==, 0);
    cw_camera_spec_clear(&spec);
  }
}

static void
test_name_length(void)
{
  char *name64 = g_strnfill(CW_CAMERA_NAME_MAX, 'a');
  char *name65 = g_strnfill(CW_CAMERA_NAME_MAX + 1, 'a');
  g_assert_cmpuint(strlen(name64), ==, 64);
  cw_camera_spec_t spec = {0};
  set_ok(&spec, "name", name64);
  g_assert_cmpstr(spec.name, ==, name64);
  /* A failed set leaves the previous value. */
  set_fails(&spec, "name", name65, "name: longer than 64 characters");
  g_assert_cmpstr(spec.name, ==, name64);
  cw_camera_spec_clear(&spec);
  g_free(name64);
  g_free(name65);
}

static void
test_name_required(void)
{
  reject("name", "", "name: required");
  reject("name", NULL, "name: required");
  cw_error_t err = {0};
  g_assert_cmpint(cw_camera_name_check("", &err), ==, -EINVAL);
  g_assert_cmpstr(err.msg, ==, "name: required");
}

static void
test_name_bad_chars(void)
{
  reject("name", "cam 1",
         "name: only letters, digits, '-', '_' and '.' are allowed (character 4 is not)");
  reject("name", "cam/1",
         "name: only letters, digits, '-', '_' and '.' are allowed (character 4 is not)");
  reject("name", "cam1\n",
         "name: only letters, digits, '-', '_' and '.' are allowed (character 5 is not)");
  reject("name", "caf\xc3\xa9",
         "name: only letters, digits, '-', '_' and '.' are allowed (character 4 is not)");
  reject("name", "a'; DROP TABLE cameras;--",
         "name: only letters, digits, '-', '_' and '.' are allowed (character 2 is not)");
}

static void
test_name_start(void)
{
  reject("name", "-cam", "name: must start with a letter or digit");
  reject("name", "_cam", "name: must start with a letter or digit");
  reject("name", ".cam", "name: must start with a letter or digit");
  reject("name", " cam", "name: must start with a letter or digit");
}

/* ---- lat / lon --------------------------------------------------------- */

static void
test_lat_ok(void)
{
  static const struct {
    const char *text;
    double value;
  } good[] = {{"51.5074", 51.5074}, {"-33.8688", -33.8688}, {"90", 90}, {"-90", -90}, {"0", 0},
              {"-0.0", 0}};
  for (guint i = 0; i < G_N_ELEMENTS(good); i++) {
    cw_camera_spec_t spec = {0};
    set_ok(&spec, "lat", good[i].text);
    g_assert_true(spec.has_lat);
    g_assert_false(spec.has_lon);
    g_assert_cmpfloat_with_epsilon(spec.lat, good[i].value, 1e-12);
    g_assert_true(spec.set & CW_CAM_LATLON);
    cw_camera_spec_clear(&spec);
  }
}

static void
test_lon_ok(void)
{
  static const struct {
    const char *text;
    double value;
  } good[] = {{"-0.1278", -0.1278}, {"-180.0", -180}, {"180", 180}, {"151.2093", 151.2093}};
  for (guint i = 0; i < G_N_ELEMENTS(good); i++) {
    cw_camera_spec_t spec = {0};
    set_ok(&spec, "lon", good[i].text);
    g_assert_true(spec.has_lon);
    g_assert_cmpfloat_with_epsilon(spec.lon, good[i].value, 1e-12);
    cw_camera_spec_clear(&spec);
  }
}

static void
test_lat_out_of_range(void)
{
  reject("lat", "91", "lat: must be between -90 and 90");
  reject("lat", "-90.0001", "lat: must be between -90 and 90");
  reject("lat", "180", "lat: must be between -90 and 90");
}

static void
test_lon_out_of_range(void)
{
  reject("lon", "180.5", "lon: must be between -180 and 180");
  reject("lon", "-181", "lon: must be between -180 and 180");
}

static void
test_latlon_not_a_number(void)
{
  static const char *const bad[] = {"abc",   "1e999", "-1e999", "nan",   "NaN", "inf",
                                    "12abc", "51,5",  "north",  "1.2.3", "--1", "."};
  for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
    g_test_message("value %s", bad[i]);
    reject("lat", bad[i], "lat: not a number");
    reject("lon", bad[i], "lon: not a number");
  }
}

static void
test_lat_without_lon(void)
{
  cw_camera_spec_t spec = {0};
  minimal(&spec);
  set_ok(&spec, "lat", "51.5");
  finish_fails(&spec, TRUE, "lon: lat and lon go together; give both or neither");
  finish_fails(&spec, FALSE, "lon: lat and lon go together; give both or neither");
  cw_camera_spec_clear(&spec);

  cw_camera_spec_t spec2 = {0};
  minimal(&spec2);
  set_ok(&spec2, "lon", "-0.12");
  finish_fails(&spec2, TRUE, "lat: lat and lon go together; give both or neither");
  cw_camera_spec_clear(&spec2);

  /* An empty lat beside a given lon counts as missing too. */
  cw_camera_spec_t spec3 = {0};
  minimal(&spec3);
  set_ok(&spec3, "lat", "");
  set_ok(&spec3, "lon", "-0.12");
  finish_fails(&spec3, TRUE, "lat: lat and lon go together; give both or neither");
  cw_camera_spec_clear(&spec3);
}

static void
test_latlon_both_or_neither(void)
{
  cw_camera_spec_t spec = {0};
  minimal(&spec);
  set_ok(&spec, "lat", "51.5");
  set_ok(&spec, "lon", "-0.12");
  finish_ok(&spec, TRUE);
  g_assert_true(spec.has_lat && spec.has_lon);
  cw_camera_spec_clear(&spec);

  /* Both empty: cleared, which is fine. */
  cw_camera_spec_t spec2 = {0};
  minimal(&spec2);
  set_ok(&spec2, "lat", "");
  set_ok(&spec2, "lon", "");
  finish_ok(&spec2, TRUE);
  g_assert_false(spec2.has_lat || spec2.has_lon);
  g_assert_true(spec2.set & CW_CAM_LATLON);
  cw_camera_spec_clear(&spec2);
}

/* ---- direction --------------------------------------------------------- */

static void
test_direction_normalised(void)
{
  static const struct {
    const char *in, *out;
  } cases[] = {{"N", "N"}, {"n", "N"},   {"ne", "NE"}, {"sW", "SW"}, {"Nw", "NW"},
               {"e", "E"}, {"SE", "SE"}, {"s", "S"},   {"w", "W"}};
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    cw_camera_spec_t spec = {0};
    set_ok(&spec, "direction", cases[i].in);
    g_assert_cmpstr(spec.direction, ==, cases[i].out);
    g_assert_true(spec.set & CW_CAM_DIRECTION);
    cw_camera_spec_clear(&spec);
  }
}

static void
test_direction_bad(void)
{
  static const char *const bad[] = {"north", "NNE", "X", "N ", " N", "0", "N,E"};
  for (guint i = 0; i < G_N_ELEMENTS(bad); i++)
    reject("direction", bad[i],
           "direction: must be one of N, NE, E, SE, S, SW, W, NW (the way the traffic in view "
           "travels)");
}

static void
test_direction_empty_clears(void)
{
  cw_camera_spec_t spec = {0};
  set_ok(&spec, "direction", "ne");
  set_ok(&spec, "direction", "");
  g_assert_null(spec.direction);
  g_assert_true(spec.set & CW_CAM_DIRECTION);
  cw_camera_spec_clear(&spec);
}

/* ---- tags -------------------------------------------------------------- */

static void
assert_tags(char **tags, const char *const *want, guint n)
{
  g_assert_nonnull(tags);
  g_assert_cmpuint(g_strv_length(tags), ==, n);
  for (guint i = 0; i < n; i++)
    g_assert_cmpstr(tags[i], ==, want[i]);
}

static void
test_tags_normalised(void)
{
  cw_camera_spec_t spec = {0};
  set_ok(&spec, "tags", "School, Night;bus,,school ; NIGHT;;  a-b_c ");
  static const char *const want[] = {"a-b_c", "bus", "night", "school"};
  assert_tags(spec.tags, want, G_N_ELEMENTS(want));
  g_assert_true(spec.set & CW_CAM_TAGS);
  cw_camera_spec_clear(&spec);
}

static void
test_tags_empty(void)
{
  static const char *const empties[] = {"", ",", " ; , "};
  for (guint i = 0; i < G_N_ELEMENTS(empties); i++) {
    cw_camera_spec_t spec = {0};
    set_ok(&spec, "tags", "old");
    set_ok(&spec, "tags", empties[i]);
    assert_tags(spec.tags, NULL, 0);
    cw_camera_spec_clear(&spec);
  }
}

static void
test_tags_bad_chars(void)
{
  reject("tags", "bus,school zone",
         "tags: tag 'school zone' may hold only letters, digits, '-' and '_'");
  reject("tags", "x!", "tags: tag 'x!' may hold only letters, digits, '-' and '_'");
  reject("tags", "ok;Caf\xc3\xa9",
         "tags: tag 'caf\xc3\xa9' may hold only letters, digits, '-' and '_'");
}

static void
test_tags_length(void)
{
  char *t32 = g_strnfill(CW_CAMERA_TAG_MAX, 't');
  char *t33 = g_strnfill(CW_CAMERA_TAG_MAX + 1, 't');
  cw_camera_spec_t spec = {0};
  set_ok(&spec, "tags", t32);
  g_assert_cmpstr(spec.tags[0], ==, t32);
  cw_camera_spec_clear(&spec);
  reject("tags", t33, "tags: tag longer than 32 characters");
  g_free(t32);
  g_free(t33);
}

static void
test_tags_too_many(void)
{
  GString *s = g_string_new(NULL);
  for (int i = 0; i < CW_CAMERA_TAGS_MAX; i++)
    g_string_append_printf(s, "t%02d,", i);
  /* 32 distinct tags, plus repeats that dedupe away. */
  g_string_append(s, "T00;t01");
  cw_camera_spec_t spec = {0};
  set_ok(&spec, "tags", s->str);
  g_assert_cmpuint(g_strv_length(spec.tags), ==, 32);
  g_assert_cmpstr(spec.tags[0], ==, "t00");
  g_assert_cmpstr(spec.tags[31], ==, "t31");
  /* One more is too many, and the old tags stay. */
  g_string_append(s, ",t32");
  set_fails(&spec, "tags", s->str, "tags: more than 32 tags");
  g_assert_cmpuint(g_strv_length(spec.tags), ==, 32);
  cw_camera_spec_clear(&spec);
  g_string_free(s, TRUE);
}

/* ---- enabled ----------------------------------------------------------- */

static void
test_enabled_values(void)
{
  static const struct {
    const char *text;
    gboolean value;
  } cases[] = {{"true", TRUE}, {"TRUE", TRUE}, {"yes", TRUE},    {"Yes", TRUE},
               {"1", TRUE},    {"", TRUE},     {"false", FALSE}, {"False", FALSE},
               {"no", FALSE},  {"NO", FALSE},  {"0", FALSE}};
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    cw_camera_spec_t spec = {0};
    spec.enabled = !cases[i].value;
    set_ok(&spec, "enabled", cases[i].text);
    g_assert_cmpint(spec.enabled, ==, cases[i].value);
    g_assert_true(spec.set & CW_CAM_ENABLED);
    cw_camera_spec_clear(&spec);
  }
}

static void
test_enabled_bad(void)
{
  static const char *const bad[] = {"maybe", "2", "on", "off", "t", "y", "true ", "-1"};
  for (guint i = 0; i < G_N_ELEMENTS(bad); i++)
    reject("enabled", bad[i], "enabled: must be true or false");
}

/* ---- road, username, password, unknown --------------------------------- */

static void
test_road(void)
{
  cw_camera_spec_t spec = {0};
  set_ok(&spec, "road", "A40 Western Ave, eastbound \xe2\x86\x92");
  g_assert_cmpstr(spec.road, ==, "A40 Western Ave, eastbound \xe2\x86\x92");
  set_ok(&spec, "road", "");
  g_assert_null(spec.road);
  char *road128 = g_strnfill(CW_CAMERA_ROAD_MAX, 'r');
  char *road129 = g_strnfill(CW_CAMERA_ROAD_MAX + 1, 'r');
  set_ok(&spec, "road", road128);
  cw_camera_spec_clear(&spec);
  reject("road", road129, "road: longer than 128 bytes");
  reject("road", "High St\nX", "road: contains a control character");
  reject("road", "\xff", "road: not valid UTF-8");
  g_free(road128);
  g_free(road129);
}

static void
test_username(void)
{
  cw_camera_spec_t spec = {0};
  set_ok(&spec, "username", "admin");
  g_assert_cmpstr(spec.username, ==, "admin");
  set_ok(&spec, "username", "");
  g_assert_null(spec.username);
  g_assert_true(spec.set & CW_CAM_USERNAME);
  cw_camera_spec_clear(&spec);
  char *long_user = g_strnfill(CW_CAMERA_USERNAME_MAX + 1, 'u');
  reject("username", long_user, "username: longer than 256 bytes");
  reject("username", "ad\r\nmin", "username: contains a control character");
  reject("username", "ad\xc0min", "username: not valid UTF-8");
  g_free(long_user);
}

static void
test_password_errors_hide_value(void)
{
  cw_camera_spec_t spec = {0};
  set_ok(&spec, "password", PASSWORD);
  g_assert_cmpstr(spec.password, ==, PASSWORD);
  g_assert_true(spec.set & CW_CAM_PASSWORD);
  set_ok(&spec, "password", "");
  g_assert_null(spec.password);
  cw_camera_spec_clear(&spec);

  GString *long_pw = g_string_new(NULL);
  while (long_pw->len <= CW_CAMERA_PASSWORD_MAX)
    g_string_append(long_pw, PASSWORD);
  reject("password", long_pw->str, "password: longer than 256 bytes");
  g_string_free(long_pw, TRUE);
  reject("password", PASSWORD "\n", "password: contains a control character");
  reject("password", PASSWORD "\x7f", "password: contains a control character");
  reject("password", PASSWORD "\xff", "password: not valid UTF-8");
}

static void
test_unknown_field(void)
{
  reject("colour", "red", "colour: unknown field");
  reject("Name", "cam-1", "Name: unknown field");
}

/* ---- url and credentials ----------------------------------------------- */

static void
test_url_clean(void)
{
  cw_camera_spec_t spec = {0};
  set_ok(&spec, "url", "RTSP://cam1.example:554/stream?ch=1");
  g_assert_cmpstr(spec.url, ==, "rtsp://cam1.example:554/stream?ch=1");
  g_assert_true(spec.set & CW_CAM_URL);
  g_assert_null(spec.url_username);
  finish_fails(&spec, TRUE, "name: required");
  set_ok(&spec, "name", "cam-1");
  finish_ok(&spec, TRUE);
  g_assert_null(spec.username);
  g_assert_null(spec.password);
  cw_camera_spec_clear(&spec);
}

static void
test_url_bad(void)
{
  reject("url", "", "url: required");
  reject("url", NULL, "url: required");
  reject("url", "http://admin:" PASSWORD "@cam1/", "url: scheme must be rtsp or rtsps");
  reject("url", "rtsp://admin:" PASSWORD "@cam1:0/", "url: port must be a number from 1 to 65535");
  reject("url", "rtsp://:" PASSWORD "@cam1/", "url: password without a user name");
  /* A user name from a URL must meet the username field's rules too. */
  reject("url", "rtsp://ad%0D%0Amin:" PASSWORD "@cam1/",
         "url: user information must be UTF-8 without control characters");
  reject("substream_url", "rtsp://admin:" PASSWORD "@cam 1/",
         "substream_url: space at position 29 (percent-encode it as %20)");
}

static void
test_url_credentials_moved(void)
{
  cw_camera_spec_t spec = {0};
  set_ok(&spec, "name", "cam-1");
  set_ok(&spec, "url", "rtsp://admin:" PASSWORD "@cam1.example:554/stream");
  g_assert_cmpstr(spec.url, ==, "rtsp://cam1.example:554/stream");
  /* Held aside until finish(). */
  g_assert_null(spec.username);
  g_assert_null(spec.password);
  g_assert_cmpstr(spec.url_username, ==, "admin");
  g_assert_cmpstr(spec.url_password, ==, PASSWORD);
  finish_ok(&spec, TRUE);
  g_assert_cmpstr(spec.username, ==, "admin");
  g_assert_cmpstr(spec.password, ==, PASSWORD);
  g_assert_true(spec.set & CW_CAM_USERNAME);
  g_assert_true(spec.set & CW_CAM_PASSWORD);
  g_assert_null(strstr(spec.url, PASSWORD));
  g_assert_null(strchr(spec.url, '@'));
  cw_camera_spec_clear(&spec);
}

static void
test_url_credentials_decoded(void)
{
  cw_camera_spec_t spec = {0};
  set_ok(&spec, "name", "cam-1");
  set_ok(&spec, "url", "rtsp://ad%20min:p%40ss%3A1@cam1/");
  finish_ok(&spec, TRUE);
  g_assert_cmpstr(spec.username, ==, "ad min");
  g_assert_cmpstr(spec.password, ==, "p@ss:1");
  g_assert_cmpstr(spec.url, ==, "rtsp://cam1/");
  cw_camera_spec_clear(&spec);
}

static void
test_url_user_only(void)
{
  cw_camera_spec_t spec = {0};
  minimal(&spec);
  set_ok(&spec, "url", "rtsp://viewer@cam1/s");
  finish_ok(&spec, TRUE);
  g_assert_cmpstr(spec.username, ==, "viewer");
  g_assert_null(spec.password);
  g_assert_false(spec.set & CW_CAM_PASSWORD);
  cw_camera_spec_clear(&spec);
}

static void
test_explicit_username_same(void)
{
  cw_camera_spec_t spec = {0};
  set_ok(&spec, "name", "cam-1");
  set_ok(&spec, "username", "admin");
  set_ok(&spec, "password", PASSWORD);
  set_ok(&spec, "url", "rtsp://admin:" PASSWORD "@cam1/");
  finish_ok(&spec, TRUE);
  g_assert_cmpstr(spec.username, ==, "admin");
  g_assert_cmpstr(spec.password, ==, PASSWORD);
  cw_camera_spec_clear(&spec);
}

static void
test_explicit_username_differs(void)
{
  cw_camera_spec_t spec = {0};
  set_ok(&spec, "name", "cam-1");
  set_ok(&spec, "url", "rtsp://admin:" PASSWORD "@cam1/");
  set_ok(&spec, "username", "operator");
  finish_fails(&spec, TRUE, "username: differs from the user name inside url");
  finish_fails(&spec, FALSE, "username: differs from the user name inside url");
  cw_camera_spec_clear(&spec);
}

static void
test_explicit_password_differs(void)
{
  cw_camera_spec_t spec = {0};
  set_ok(&spec, "name", "cam-1");
  set_ok(&spec, "password", "other-" PASSWORD);
  set_ok(&spec, "url", "rtsp://admin:" PASSWORD "@cam1/");
  finish_fails(&spec, TRUE, "password: differs from the password inside url");
  cw_camera_spec_clear(&spec);
}

/* A password given on its own with a user name only in the URL is kept. */
static void
test_explicit_password_url_user(void)
{
  cw_camera_spec_t spec = {0};
  set_ok(&spec, "name", "cam-1");
  set_ok(&spec, "password", PASSWORD);
  set_ok(&spec, "url", "rtsp://admin@cam1/");
  finish_ok(&spec, TRUE);
  g_assert_cmpstr(spec.username, ==, "admin");
  g_assert_cmpstr(spec.password, ==, PASSWORD);
  cw_camera_spec_clear(&spec);
}

static void
test_password_without_username(void)
{
  cw_camera_spec_t spec = {0};
  minimal(&spec);
  set_ok(&spec, "password", PASSWORD);
  finish_fails(&spec, TRUE, "username: required when a password is given");
  /* An edit may set only the password: the stored user name counts. */
  finish_ok(&spec, FALSE);
  cw_camera_spec_clear(&spec);
}

static void
test_finish_required(void)
{
  cw_camera_spec_t spec = {0};
  finish_fails(&spec, TRUE, "name: required");
  finish_ok(&spec, FALSE);
  set_ok(&spec, "name", "cam-1");
  finish_fails(&spec, TRUE, "url: required");
  finish_ok(&spec, FALSE);
  cw_camera_spec_clear(&spec);
}

/* ---- substream_url ------------------------------------------------------ */

static void
test_substream_same_credentials(void)
{
  cw_camera_spec_t spec = {0};
  set_ok(&spec, "name", "cam-1");
  set_ok(&spec, "url", "rtsp://admin:" PASSWORD "@cam1/main");
  set_ok(&spec, "substream_url", "rtsp://admin:" PASSWORD "@cam1/sub");
  g_assert_cmpstr(spec.substream_url, ==, "rtsp://cam1/sub");
  finish_ok(&spec, TRUE);
  g_assert_cmpstr(spec.username, ==, "admin");
  g_assert_cmpstr(spec.password, ==, PASSWORD);
  cw_camera_spec_clear(&spec);

  /* No credentials in the substream, or only the user: fine. */
  cw_camera_spec_t spec2 = {0};
  set_ok(&spec2, "name", "cam-1");
  set_ok(&spec2, "url", "rtsp://admin:" PASSWORD "@cam1/main");
  set_ok(&spec2, "substream_url", "rtsp://cam1/sub");
  set_ok(&spec2, "substream_url", "rtsp://admin@cam1/sub");
  finish_ok(&spec2, TRUE);
  g_assert_cmpstr(spec2.password, ==, PASSWORD);
  cw_camera_spec_clear(&spec2);

  /* Credentials only in the substream still move. */
  cw_camera_spec_t spec3 = {0};
  set_ok(&spec3, "name", "cam-1");
  set_ok(&spec3, "substream_url", "rtsp://admin:" PASSWORD "@cam1/sub");
  set_ok(&spec3, "url", "rtsp://cam1/main");
  finish_ok(&spec3, TRUE);
  g_assert_cmpstr(spec3.username, ==, "admin");
  g_assert_cmpstr(spec3.password, ==, PASSWORD);
  g_assert_cmpstr(spec3.url, ==, "rtsp://cam1/main");
  g_assert_cmpstr(spec3.substream_url, ==, "rtsp://cam1/sub");
  cw_camera_spec_clear(&spec3);
}

static void
test_substream_credentials_differ(void)
{
  cw_camera_spec_t spec = {0};
  set_ok(&spec, "url", "rtsp://admin:" PASSWORD "@cam1/main");
  set_fails(&spec, "substream_url", "rtsp://viewer:" PASSWORD "@cam1/sub",
            "substream_url: user name differs from the one in the other URL");
  set_fails(&spec, "substream_url", "rtsp://admin:x" PASSWORD "@cam1/sub",
            "substream_url: password differs from the one in the other URL");
  cw_camera_spec_clear(&spec);

  /* Either order: the second URL is the one named. */
  cw_camera_spec_t spec2 = {0};
  set_ok(&spec2, "substream_url", "rtsp://admin:" PASSWORD "@cam1/sub");
  set_fails(&spec2, "url", "rtsp://admin:other-" PASSWORD "@cam1/main",
            "url: password differs from the one in the other URL");
  set_fails(&spec2, "url", "rtsp://root@cam1/main",
            "url: user name differs from the one in the other URL");
  cw_camera_spec_clear(&spec2);
}

static void
test_substream_empty_clears(void)
{
  cw_camera_spec_t spec = {0};
  set_ok(&spec, "substream_url", "rtsp://cam1/sub");
  g_assert_cmpstr(spec.substream_url, ==, "rtsp://cam1/sub");
  set_ok(&spec, "substream_url", "");
  g_assert_null(spec.substream_url);
  g_assert_true(spec.set & CW_CAM_SUBSTREAM);
  cw_camera_spec_clear(&spec);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/camera_spec/name/ok", test_name_ok);
  g_test_add_func("/camera_spec/name/length", test_name_length);
  g_test_add_func("/camera_spec/name/required", test_name_required);
  g_test_add_func("/camera_spec/name/bad_chars", test_name_bad_chars);
  g_test_add_func("/camera_spec/name/must_start_alnum", test_name_start);
  g_test_add_func("/camera_spec/lat/ok", test_lat_ok);
  g_test_add_func("/camera_spec/lat/out_of_range", test_lat_out_of_range);
  g_test_add_func("/camera_spec/lon/ok", test_lon_ok);
  g_test_add_func("/camera_spec/lon/out_of_range", test_lon_out_of_range);
  g_test_add_func("/camera_spec/latlon/not_a_number", test_latlon_not_a_number);
  g_test_add_func("/camera_spec/latlon/lat_without_lon", test_lat_without_lon);
  g_test_add_func("/camera_spec/latlon/both_or_neither", test_latlon_both_or_neither);
  g_test_add_func("/camera_spec/direction/normalised", test_direction_normalised);
  g_test_add_func("/camera_spec/direction/bad", test_direction_bad);
  g_test_add_func("/camera_spec/direction/empty_clears", test_direction_empty_clears);
  g_test_add_func("/camera_spec/tags/normalised", test_tags_normalised);
  g_test_add_func("/camera_spec/tags/empty", test_tags_empty);
  g_test_add_func("/camera_spec/tags/bad_chars", test_tags_bad_chars);
  g_test_add_func("/camera_spec/tags/length", test_tags_length);
  g_test_add_func("/camera_spec/tags/too_many", test_tags_too_many);
  g_test_add_func("/camera_spec/enabled/values", test_enabled_values);
  g_test_add_func("/camera_spec/enabled/bad", test_enabled_bad);
  g_test_add_func("/camera_spec/road/rules", test_road);
  g_test_add_func("/camera_spec/username/rules", test_username);
  g_test_add_func("/camera_spec/password/errors_hide_value", test_password_errors_hide_value);
  g_test_add_func("/camera_spec/field/unknown", test_unknown_field);
  g_test_add_func("/camera_spec/url/clean", test_url_clean);
  g_test_add_func("/camera_spec/url/bad", test_url_bad);
  g_test_add_func("/camera_spec/url/credentials_moved", test_url_credentials_moved);
  g_test_add_func("/camera_spec/url/credentials_decoded", test_url_credentials_decoded);
  g_test_add_func("/camera_spec/url/user_only", test_url_user_only);
  g_test_add_func("/camera_spec/url/explicit_username_same", test_explicit_username_same);
  g_test_add_func("/camera_spec/url/explicit_username_differs", test_explicit_username_differs);
  g_test_add_func("/camera_spec/url/explicit_password_differs", test_explicit_password_differs);
  g_test_add_func("/camera_spec/url/explicit_password_url_user", test_explicit_password_url_user);
  g_test_add_func("/camera_spec/finish/password_without_username", test_password_without_username);
  g_test_add_func("/camera_spec/finish/required", test_finish_required);
  g_test_add_func("/camera_spec/substream/same_credentials", test_substream_same_credentials);
  g_test_add_func("/camera_spec/substream/credentials_differ", test_substream_credentials_differ);
  g_test_add_func("/camera_spec/substream/empty_clears", test_substream_empty_clears);
  return g_test_run();
}
