/* tests/analytics/rules: the analytics configuration parser, the traffic
 * rules and picture health, fed by hand-built tracks, masks and synthetic
 * pictures (no tracker, no background model, no GStreamer).
 *
 * Each case is its own meson test (-p /rules/<case>). Time runs at the
 * analysis rate (5 frames a second) on the working size 320x180. */
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "bgmodel.h"
#include "analytics_config.h"
#include "health.h"
#include "rules.h"

#define W 320
#define H 180
#define FRAME_US 200000
#define SEC(s) ((gint64)((s)*1000000.0))

/* ---- collecting what is reported ---- */

typedef struct {
  char *kind;
  cw_phase_t phase;
  guint incident;
  gint64 ts, start;
  char *attrs;
  JsonObject *obj;
  JsonParser *parser;
} got_t;

static void
got_free(gpointer p)
{
  got_t *g = p;
  g_free(g->kind);
  g_free(g->attrs);
  g_object_unref(g->parser);
  g_free(g);
}

static void
collect(void *opaque, const cw_analytics_event_t *ev)
{
  GPtrArray *out = opaque;
  got_t *g = g_new0(got_t, 1);
  g->kind = g_strdup(ev->kind);
  g->phase = ev->phase;
  g->incident = ev->incident;
  g->ts = ev->ts_us;
  g->start = ev->start_us;
  g->attrs = g_strdup(ev->attributes);
  g->parser = json_parser_new();
  GError *err = NULL;
  g_assert_true(json_parser_load_from_data(g->parser, ev->attributes, -1, &err));
  g_assert_no_error(err);
  g_assert_true(JSON_NODE_HOLDS_OBJECT(json_parser_get_root(g->parser)));
  g->obj = json_node_get_object(json_parser_get_root(g->parser));
  if (ev->phase == CW_PHASE_INSTANT)
    g_assert_cmpint(ev->incident, ==, 0);
  else
    g_assert_cmpint(ev->incident, >, 0);
  if (g_test_verbose())
    g_printerr("  %.1f s %s %s #%u start %.1f s %s\n", ev->ts_us / 1e6, ev->kind,
               cw_phase_name(ev->phase), ev->incident, ev->start_us / 1e6, ev->attributes);
  g_ptr_array_add(out, g);
}

static GPtrArray *
events_new(void)
{
  return g_ptr_array_new_with_free_func(got_free);
}

static guint
count_kind(GPtrArray *evs, const char *kind)
{
  guint n = 0;
  for (guint i = 0; i < evs->len; i++)
    n += strcmp(((got_t *)evs->pdata[i])->kind, kind) == 0;
  return n;
}

static got_t *
nth_kind(GPtrArray *evs, const char *kind, guint nth)
{
  for (guint i = 0; i < evs->len; i++) {
    got_t *g = evs->pdata[i];
    if (strcmp(g->kind, kind) == 0 && nth-- == 0)
      return g;
  }
  g_assert_not_reached();
  return NULL;
}

static const char *
attr_str(got_t *g, const char *name)
{
  g_assert_true(json_object_has_member(g->obj, name));
  return json_object_get_string_member(g->obj, name);
}

static double
attr_num(got_t *g, const char *name)
{
  g_assert_true(json_object_has_member(g->obj, name));
  return json_node_get_double(json_object_get_member(g->obj, name));
}

static cw_analytics_config_t *
config(const char *json)
{
  cw_analytics_config_t *c = NULL;
  cw_error_t err = {0};
  int rc = cw_analytics_config_parse(json, "test", &c, &err);
  if (rc < 0)
    g_error("config: %s", err.msg);
  return c;
}

/* ---- configuration ---- */

static const char *const full_config =
    "{\"lines\": [{\"id\": \"L1\", \"from\": [0.1, 0.6], \"to\": [0.9, 0.6]},"
    "             {\"id\": \"L2\", \"from\": [0.5, 0], \"to\": [0.5, 1]}],"
    " \"lanes\": [{\"id\": \"nb\", \"polygon\": [[0, 0], [0.5, 0], [0.5, 1], [0, 1]],"
    "              \"direction\": [0, -2]},"
    "             {\"id\": \"eb\", \"polygon\": [[0.5, 0], [1, 0], [1, 1]], \"direction\": [3, "
    "4]}],"
    " \"zones\": [{\"id\": \"shoulder\", \"kind\": \"no_stopping\","
    "              \"polygon\": [[0.8, 0], [1, 0], [1, 1], [0.8, 1]]},"
    "             {\"id\": \"main\", \"kind\": \"congestion\","
    "              \"polygon\": [[0, 0.5], [1, 0.5], [1, 1], [0, 1]]}],"
    " \"thresholds\": {\"stopped_s\": 12, \"stopped_speed\": 0.02, \"wrong_way_distance\": 0.2,"
    "   \"congestion_window_s\": 20, \"heavy_occupancy\": 0.3, \"jammed_occupancy\": 0.7,"
    "   \"heavy_speed\": 0.1, \"jammed_speed\": 0.03, \"congestion_hysteresis_s\": 0,"
    "   \"count_interval_s\": 900, \"min_object_area\": 0.001, \"blackout_luma\": 20,"
    "   \"tamper_s\": 4, \"frozen_s\": 8, \"defocus_ratio\": 0.5, \"scene_similarity\": 0.4,"
    "   \"analysis_fps\": 10}}";

static void
test_config_ok(void)
{
  cw_analytics_config_t *c = NULL;
  cw_error_t err = {0};
  g_assert_cmpint(cw_analytics_config_parse(full_config, "camera 12", &c, &err), ==, 0);
  g_assert_cmpuint(c->lines->len, ==, 2);
  g_assert_cmpuint(c->lanes->len, ==, 2);
  g_assert_cmpuint(c->zones->len, ==, 2);
  const cw_line_cfg_t *l = c->lines->pdata[0];
  g_assert_cmpstr(l->id, ==, "L1");
  g_assert_cmpfloat_with_epsilon(l->from.x, 0.1, 1e-6);
  g_assert_cmpfloat_with_epsilon(l->to.y, 0.6, 1e-6);
  const cw_lane_cfg_t *nb = c->lanes->pdata[0], *eb = c->lanes->pdata[1];
  g_assert_cmpstr(nb->id, ==, "nb");
  g_assert_cmpuint(nb->polygon->len, ==, 4);
  g_assert_cmpfloat_with_epsilon(nb->direction.x, 0, 1e-6);
  g_assert_cmpfloat_with_epsilon(nb->direction.y, -1, 1e-6);
  g_assert_cmpfloat_with_epsilon(eb->direction.x, 0.6, 1e-6);
  g_assert_cmpfloat_with_epsilon(eb->direction.y, 0.8, 1e-6);
  const cw_zone_cfg_t *z0 = c->zones->pdata[0], *z1 = c->zones->pdata[1];
  g_assert_cmpint(z0->kind, ==, CW_ZONE_NO_STOPPING);
  g_assert_cmpint(z1->kind, ==, CW_ZONE_CONGESTION);
  g_assert_cmpstr(z1->id, ==, "main");
  const cw_thresholds_t *t = &c->t;
  g_assert_cmpfloat(t->stopped_s, ==, 12);
  g_assert_cmpfloat_with_epsilon(t->stopped_speed, 0.02, 1e-7);
  g_assert_cmpfloat_with_epsilon(t->wrong_way_distance, 0.2, 1e-7);
  g_assert_cmpfloat(t->congestion_window_s, ==, 20);
  g_assert_cmpfloat_with_epsilon(t->heavy_occupancy, 0.3, 1e-7);
  g_assert_cmpfloat_with_epsilon(t->jammed_occupancy, 0.7, 1e-7);
  g_assert_cmpfloat_with_epsilon(t->heavy_speed, 0.1, 1e-7);
  g_assert_cmpfloat_with_epsilon(t->jammed_speed, 0.03, 1e-7);
  g_assert_cmpfloat(t->congestion_hysteresis_s, ==, 0);
  g_assert_cmpfloat(t->count_interval_s, ==, 900);
  g_assert_cmpfloat_with_epsilon(t->min_object_area, 0.001, 1e-7);
  g_assert_cmpfloat(t->blackout_luma, ==, 20);
  g_assert_cmpfloat(t->tamper_s, ==, 4);
  g_assert_cmpfloat(t->frozen_s, ==, 8);
  g_assert_cmpfloat_with_epsilon(t->defocus_ratio, 0.5, 1e-7);
  g_assert_cmpfloat_with_epsilon(t->scene_similarity, 0.4, 1e-7);
  g_assert_cmpfloat(t->analysis_fps, ==, 10);
  cw_analytics_config_free(c);

  /* Empty: no rules, every default. */
  const char *empties[] = {NULL, "", "  \n", "{}", "{\"lines\": [], \"thresholds\": {}}"};
  for (gsize i = 0; i < G_N_ELEMENTS(empties); i++) {
    g_assert_cmpint(cw_analytics_config_parse(empties[i], "camera 1", &c, &err), ==, 0);
    g_assert_cmpuint(c->lines->len + c->lanes->len + c->zones->len, ==, 0);
    g_assert_cmpfloat(c->t.stopped_s, ==, 20);
    g_assert_cmpfloat_with_epsilon(c->t.stopped_speed, 0.01, 1e-7);
    g_assert_cmpfloat_with_epsilon(c->t.wrong_way_distance, 0.15, 1e-7);
    g_assert_cmpfloat(c->t.congestion_window_s, ==, 15);
    g_assert_cmpfloat_with_epsilon(c->t.heavy_occupancy, 0.35, 1e-7);
    g_assert_cmpfloat_with_epsilon(c->t.jammed_occupancy, 0.6, 1e-7);
    g_assert_cmpfloat_with_epsilon(c->t.heavy_speed, 0.08, 1e-7);
    g_assert_cmpfloat_with_epsilon(c->t.jammed_speed, 0.02, 1e-7);
    g_assert_cmpfloat(c->t.congestion_hysteresis_s, ==, 10);
    g_assert_cmpfloat(c->t.count_interval_s, ==, 60);
    g_assert_cmpfloat_with_epsilon(c->t.min_object_area, 0.0008, 1e-7);
    g_assert_cmpfloat(c->t.blackout_luma, ==, 28);
    g_assert_cmpfloat(c->t.tamper_s, ==, 3);
    g_assert_cmpfloat(c->t.frozen_s, ==, 5);
    g_assert_cmpfloat_with_epsilon(c->t.defocus_ratio, 0.45, 1e-7);
    g_assert_cmpfloat_with_epsilon(c->t.scene_similarity, 0.5, 1e-7);
    g_assert_cmpfloat(c->t.analysis_fps, ==, 5);
    cw_analytics_config_free(c);
  }
}

#define SQ "[[0, 0], [1, 0], [1, 1]]"
static const struct {
  const char *json;
  const char *msg;
} bad_configs[] = {
    {"[1, 2]", "camera 12: expected a JSON object"},
    {"{\"lines\": [}", NULL /* json-glib's words; prefix checked */},
    {"{\"line\": []}", "camera 12: line: unknown member"},
    {"{\"lines\": {}}", "camera 12: lines: expected an array"},
    {"{\"lines\": [3]}", "camera 12: lines[0]: expected an object"},
    {"{\"lines\": [{\"from\": [0, 0], \"to\": [1, 1]}]}", "camera 12: lines[0].id: missing"},
    {"{\"lines\": [{\"id\": 7, \"from\": [0, 0], \"to\": [1, 1]}]}",
     "camera 12: lines[0].id: expected a string"},
    {"{\"lines\": [{\"id\": \"\", \"from\": [0, 0], \"to\": [1, 1]}]}",
     "camera 12: lines[0].id: must not be empty"},
    {"{\"lines\": [{\"id\": \"a\", \"from\": [0, 0], \"to\": [1, 1]},"
     " {\"id\": \"a\", \"from\": [0, 0], \"to\": [1, 1]}]}",
     "camera 12: lines[1].id: duplicate id 'a'"},
    {"{\"lines\": [{\"id\": \"a\", \"to\": [1, 1]}]}", "camera 12: lines[0].from: missing"},
    {"{\"lines\": [{\"id\": \"a\", \"from\": [0, 1.5], \"to\": [1, 1]}]}",
     "camera 12: lines[0].from: expected [x, y] with 0 <= x, y <= 1"},
    {"{\"lines\": [{\"id\": \"a\", \"from\": [0, 0], \"to\": [1]}]}",
     "camera 12: lines[0].to: expected [x, y] with 0 <= x, y <= 1"},
    {"{\"lines\": [{\"id\": \"a\", \"from\": [0, 0], \"to\": [\"1\", 0]}]}",
     "camera 12: lines[0].to: expected [x, y] with 0 <= x, y <= 1"},
    {"{\"lines\": [{\"id\": \"a\", \"from\": [0.5, 0.5], \"to\": [0.5, 0.5]}]}",
     "camera 12: lines[0]: from and to are the same point"},
    {"{\"lines\": [{\"id\": \"a\", \"from\": [0, 0], \"to\": [1, 1], \"color\": 1}]}",
     "camera 12: lines[0].color: unknown member"},
    {"{\"lanes\": [{\"id\": \"a\", \"polygon\": " SQ ", \"direction\": [0, 0]}]}",
     "camera 12: lanes[0].direction: expected [dx, dy], not both 0"},
    {"{\"lanes\": [{\"id\": \"a\", \"polygon\": " SQ "}]}",
     "camera 12: lanes[0].direction: missing"},
    {"{\"lanes\": [{\"id\": \"a\", \"polygon\": [[0, 0], [1, 0]], \"direction\": [0, 1]}]}",
     "camera 12: lanes[0].polygon: needs at least 3 points"},
    {"{\"zones\": [{\"id\": \"z\", \"kind\": \"congestion\", \"polygon\": " SQ "},"
     " {\"id\": \"y\", \"kind\": \"congestion\", \"polygon\": [[0, 0], [1, 1]]}]}",
     "camera 12: zones[1].polygon: needs at least 3 points"},
    {"{\"zones\": [{\"id\": \"z\", \"kind\": \"congestion\", \"polygon\": [[0, 0], [1, 0], "
     "[2, 1]]}]}",
     "camera 12: zones[0].polygon[2]: expected [x, y] with 0 <= x, y <= 1"},
    {"{\"zones\": [{\"id\": \"z\", \"kind\": \"congestion\", \"polygon\": [[0, 0], [0.5, 0.5], "
     "[1, 1]]}]}",
     "camera 12: zones[0].polygon: has no area"},
    {"{\"zones\": [{\"id\": \"z\", \"kind\": \"parking\", \"polygon\": " SQ "}]}",
     "camera 12: zones[0].kind: expected \"congestion\" or \"no_stopping\""},
    {"{\"zones\": [{\"id\": \"z\", \"polygon\": " SQ "}]}", "camera 12: zones[0].kind: missing"},
    {"{\"thresholds\": []}", "camera 12: thresholds: expected an object"},
    {"{\"thresholds\": {\"stoped_s\": 3}}", "camera 12: thresholds.stoped_s: unknown member"},
    {"{\"thresholds\": {\"stopped_s\": 0}}",
     "camera 12: thresholds.stopped_s: must be > 0 and <= 86400, not 0"},
    {"{\"thresholds\": {\"tamper_s\": -1}}",
     "camera 12: thresholds.tamper_s: must be > 0 and <= 3600, not -1"},
    {"{\"thresholds\": {\"defocus_ratio\": 1.5}}",
     "camera 12: thresholds.defocus_ratio: must be > 0 and <= 1, not 1.5"},
    {"{\"thresholds\": {\"heavy_occupancy\": 2}}",
     "camera 12: thresholds.heavy_occupancy: must be > 0 and <= 1, not 2"},
    {"{\"thresholds\": {\"congestion_hysteresis_s\": -2}}",
     "camera 12: thresholds.congestion_hysteresis_s: must be >= 0 and <= 3600, not -2"},
    {"{\"thresholds\": {\"count_interval_s\": 0.5}}",
     "camera 12: thresholds.count_interval_s: must be >= 1 and <= 86400, not 0.5"},
    {"{\"thresholds\": {\"stopped_s\": \"20\"}}",
     "camera 12: thresholds.stopped_s: expected a number"},
    {"{\"thresholds\": {\"stopped_s\": true}}",
     "camera 12: thresholds.stopped_s: expected a number"},
    {"{\"thresholds\": {\"heavy_occupancy\": 0.7, \"jammed_occupancy\": 0.6}}",
     "camera 12: thresholds.heavy_occupancy: must be less than jammed_occupancy (0.6)"},
    {"{\"thresholds\": {\"jammed_speed\": 0.1}}",
     "camera 12: thresholds.jammed_speed: must be less than heavy_speed (0.08)"},
};

static void
test_config_errors(void)
{
  for (gsize i = 0; i < G_N_ELEMENTS(bad_configs); i++) {
    cw_analytics_config_t *c = (cw_analytics_config_t *)&c; /* must be reset to NULL */
    cw_error_t err = {0};
    int rc = cw_analytics_config_parse(bad_configs[i].json, "camera 12", &c, &err);
    g_test_message("%s -> %s", bad_configs[i].json, err.msg);
    g_assert_cmpint(rc, <, 0);
    g_assert_cmpint(err.code, ==, rc);
    g_assert_null(c);
    if (bad_configs[i].msg)
      g_assert_cmpstr(err.msg, ==, bad_configs[i].msg);
    else
      g_assert_true(g_str_has_prefix(err.msg, "camera 12: invalid JSON: "));
  }
  /* No source named: still says where. */
  cw_analytics_config_t *c = NULL;
  cw_error_t err = {0};
  g_assert_cmpint(cw_analytics_config_parse("{\"x\": 1}", NULL, &c, &err), <, 0);
  g_assert_cmpstr(err.msg, ==, "analytics config: x: unknown member");
  /* A control character in an unknown name is quoted, not passed on. */
  g_assert_cmpint(cw_analytics_config_parse("{\"a\\nb\": 1}", "camera 3", &c, &err), <, 0);
  g_assert_cmpstr(err.msg, ==, "camera 3: a\\nb: unknown member");
  /* Limits: too many points. */
  GString *s =
      g_string_new("{\"zones\": [{\"id\": \"z\", \"kind\": \"congestion\", \"polygon\": [");
  for (int i = 0; i < 65; i++)
    g_string_append_printf(s, "%s[%g, %g]", i ? "," : "", 0.5 + 0.4 * cos(i * 0.1),
                           0.5 + 0.4 * sin(i * 0.1));
  g_string_append(s, "]}]}");
  g_assert_cmpint(cw_analytics_config_parse(s->str, "camera 3", &c, &err), <, 0);
  g_assert_cmpstr(err.msg, ==, "camera 3: zones[0].polygon: more than 64 points");
  g_string_free(s, TRUE);
}

/* Damaged configurations (bytes flipped, cut short): refused with a
 * message that names the source, or accepted; never a crash (ASan). */
static void
test_config_mutations(void)
{
  GRand *rng = g_rand_new_with_seed(7);
  gsize len = strlen(full_config);
  char *buf = g_malloc(len + 1);
  static const char alphabet[] = "{}[],:\"0123456789.-e truefalsnul\\";
  int accepted = 0;
  for (int i = 0; i < 3000; i++) {
    memcpy(buf, full_config, len + 1);
    int edits = g_rand_int_range(rng, 1, 4);
    for (int e = 0; e < edits; e++)
      buf[g_rand_int_range(rng, 0, (gint32)len)] =
          alphabet[g_rand_int_range(rng, 0, (gint32)sizeof alphabet - 1)];
    if (g_rand_boolean(rng))
      buf[g_rand_int_range(rng, 0, (gint32)len)] = '\0';
    cw_analytics_config_t *c = NULL;
    cw_error_t err = {0};
    if (cw_analytics_config_parse(buf, "camera 9", &c, &err) == 0) {
      g_assert_nonnull(c);
      accepted++;
      cw_analytics_config_free(c);
    } else {
      g_assert_null(c);
      g_assert_true(g_str_has_prefix(err.msg, "camera 9: "));
    }
  }
  g_test_message("%d of 3000 damaged configurations accepted", accepted);
  g_free(buf);
  g_rand_free(rng);
}

static void
test_polygon_contains(void)
{
  /* A concave "U": the notch is outside. */
  cw_point_t u[] = {{0.1f, 0.1f}, {0.3f, 0.1f}, {0.3f, 0.6f}, {0.7f, 0.6f},
                    {0.7f, 0.1f}, {0.9f, 0.1f}, {0.9f, 0.9f}, {0.1f, 0.9f}};
  GArray *poly = g_array_new(FALSE, FALSE, sizeof(cw_point_t));
  g_array_append_vals(poly, u, G_N_ELEMENTS(u));
  g_assert_true(cw_polygon_contains(poly, (cw_point_t){0.2f, 0.5f}));
  g_assert_true(cw_polygon_contains(poly, (cw_point_t){0.5f, 0.8f}));
  g_assert_false(cw_polygon_contains(poly, (cw_point_t){0.5f, 0.3f}));
  g_assert_false(cw_polygon_contains(poly, (cw_point_t){0.95f, 0.5f}));
  g_assert_false(cw_polygon_contains(poly, (cw_point_t){0.5f, 0.95f}));
  g_assert_false(cw_polygon_contains(NULL, (cw_point_t){0.5f, 0.5f}));
  g_array_unref(poly);
}

/* ---- hand-built tracks ---- */

/* Moves a track's ground point to (gx, gy) at ts: history, box (24x14
 * above the ground point) and velocity follow, as the tracker would. */
static void
track_at(cw_track_t *t, float gx, float gy, gint64 ts)
{
  if (t->n_history == CW_TRACK_HISTORY) {
    memmove(&t->history[0], &t->history[1], sizeof t->history[0] * (CW_TRACK_HISTORY - 1));
    t->n_history--;
  }
  if (t->n_history > 0) {
    float dt = (ts - t->history[t->n_history - 1].ts_us) / 1e6f;
    t->vx = (gx - t->history[t->n_history - 1].gx) / dt;
    t->vy = (gy - t->history[t->n_history - 1].gy) / dt;
  } else {
    t->first_us = ts;
    t->first_gx = gx;
    t->first_gy = gy;
  }
  t->travelled = MAX(t->travelled, hypotf(gx - t->first_gx, gy - t->first_gy));
  t->history[t->n_history].gx = gx;
  t->history[t->n_history].gy = gy;
  t->history[t->n_history].ts_us = ts;
  t->n_history++;
  t->gx = gx;
  t->gy = gy;
  t->w = 24;
  t->h = 14;
  t->x = gx - 12;
  t->y = gy - 14;
  t->last_seen_us = t->updated_us = ts;
  t->hits++;
}

static cw_track_t *
track_new(guint id, gboolean confirmed)
{
  cw_track_t *t = g_new0(cw_track_t, 1);
  t->id = id;
  t->confirmed = confirmed;
  return t;
}

/* ---- counting ---- */

static void
test_count_directions(void)
{
  cw_analytics_config_t *c =
      config("{\"lines\": [{\"id\": \"L1\", \"from\": [0.1, 0.5], \"to\": [0.9, 0.5]},"
             "            {\"id\": \"L2\", \"from\": [0.5, 0], \"to\": [0.5, 0.45]}],"
             " \"thresholds\": {\"count_interval_s\": 10}}");
  GPtrArray *evs = events_new();
  cw_rules_t *r = cw_rules_new(c, W, H, collect, evs);
  GPtrArray *live = g_ptr_array_new(), *ended = g_ptr_array_new();
  cw_track_t *a = track_new(1, TRUE);     /* down across L1: forward */
  cw_track_t *b = track_new(2, TRUE);     /* up across L1: reverse */
  cw_track_t *zig = track_new(3, TRUE);   /* down, up, down: once each way */
  cw_track_t *never = track_new(4, TRUE); /* stays above L1 */
  cw_track_t *unc = track_new(5, FALSE);  /* crosses but never confirmed */
  cw_track_t *late = track_new(6, FALSE); /* crosses, confirmed afterwards: counts */
  cw_track_t *wide = track_new(7, TRUE);  /* crosses y = 0.5 beyond the segment's end */
  cw_track_t *left = track_new(8, TRUE);  /* leftwards across L2: forward */
  cw_track_t *jit = track_new(9, TRUE);   /* across L1, a little back, on: once */

  for (int f = 0; f <= 125; f++) { /* 0 .. 25 s */
    gint64 ts = (gint64)f * FRAME_US;
    double s = ts / 1e6;
    g_ptr_array_set_size(live, 0);
    g_ptr_array_set_size(ended, 0);
#define RUN(trk, t0, t1, fx, fy)                                                                   \
  do {                                                                                             \
    if (s >= (t0) && s <= (t1)) {                                                                  \
      double u = (s - (t0)) / ((t1) - (t0));                                                       \
      (void)u;                                                                                     \
      track_at(trk, (float)(fx), (float)(fy), ts);                                                 \
      g_ptr_array_add(live, trk);                                                                  \
    } else if (s > (t1) && s - FRAME_US / 1e6 <= (t1)) {                                           \
      g_ptr_array_add(ended, trk);                                                                 \
    }                                                                                              \
  } while (0)
    RUN(a, 1, 5, 100, 40 + 100 * u);
    RUN(b, 2, 6, 200, 140 - 100 * u);
    RUN(zig, 20, 24, 150, 70 + 40 * sin(u * 3 * G_PI) + 10 * u);
    RUN(never, 20, 24, 60, 30 + 40 * u);
    RUN(unc, 20, 24, 120, 40 + 100 * u);
    RUN(late, 20, 24, 180, 40 + 100 * u);
    RUN(wide, 20, 24, 300, 40 + 100 * u);
    RUN(left, 20, 24, 250 - 150 * u, 40);
    /* Down across L1 to 96, back up to 85 (5 px, 0.028 of the height,
     * past it: a box that shrinks, not a vehicle going back), down again:
     * forward once. */
    RUN(jit, 20, 24, 40,
        u < 0.3   ? 80 + u / 0.3 * 16
        : u < 0.5 ? 96 - (u - 0.3) / 0.2 * 11
                  : 85 + (u - 0.5) * 60);
#undef RUN
    if (s >= 23)
      late->confirmed = TRUE; /* it crossed at ~22 s */
    cw_rules_update(r, live, ended, NULL, ts);
  }
  cw_rules_flush(r, SEC(25));

  /* Intervals 0-10 (a, b), 10-20 (nothing: zeros, not missing), then the
   * flushed 20-25. */
  g_assert_cmpuint(count_kind(evs, "traffic.count"), ==, 6);
  g_assert_cmpuint(evs->len, ==, 6);
  struct {
    const char *line;
    double at, interval;
    int fwd, rev;
  } want[] = {
      {"L1", 10, 10, 1, 1}, {"L2", 10, 10, 0, 0}, {"L1", 20, 10, 0, 0},
      {"L2", 20, 10, 0, 0}, {"L1", 25, 5, 3, 1},  {"L2", 25, 5, 1, 0},
  };
  for (guint i = 0; i < G_N_ELEMENTS(want); i++) {
    got_t *g = nth_kind(evs, "traffic.count", i);
    g_assert_cmpint(g->phase, ==, CW_PHASE_INSTANT);
    g_assert_cmpint(g->ts, ==, SEC(want[i].at));
    g_assert_cmpint(g->start, ==, g->ts);
    g_assert_cmpstr(attr_str(g, "line"), ==, want[i].line);
    g_assert_cmpfloat_with_epsilon(attr_num(g, "interval_s"), want[i].interval, 1e-6);
    g_assert_cmpint(json_object_get_int_member(g->obj, "forward"), ==, want[i].fwd);
    g_assert_cmpint(json_object_get_int_member(g->obj, "reverse"), ==, want[i].rev);
  }
  cw_rules_free(r);
  cw_track_t *all[] = {a, b, zig, never, unc, late, wide, left, jit};
  for (gsize i = 0; i < G_N_ELEMENTS(all); i++)
    g_free(all[i]);
  g_ptr_array_unref(live);
  g_ptr_array_unref(ended);
  g_ptr_array_unref(evs);
  cw_analytics_config_free(c);
}

/* One step of a synthetic track: seen (matched), or coasting (predicted,
 * not seen), hidden or not inside another's merged blob. */
static void
track_step(cw_track_t *t, float gx, float gy, gint64 ts, gboolean seen, gboolean hidden)
{
  gint64 last_seen = t->last_seen_us;
  gboolean first = t->n_history == 0;
  track_at(t, gx, gy, ts);
  if (!seen && !first) {
    t->last_seen_us = last_seen;
    t->missed++;
    t->hits--;
  } else {
    t->missed = 0;
  }
  t->hidden = hidden;
}

/* Crossings made unseen: a vehicle going away lost in a merge crosses the
 * lines ahead unseen (A counts, B lost in the open does not); a box
 * coasting on for long is a guess that does not count (C); a short guess
 * gives way to a crossing seen beside it (D, E: one vehicle), and counts
 * when nothing contradicts it (F). L1 reverse: A, D/E, F = 3. */
static void
test_count_unseen(void)
{
  cw_analytics_config_t *c =
      config("{\"lines\": [{\"id\": \"L1\", \"from\": [0.1, 0.5], \"to\": [0.9, 0.5]}],"
             " \"thresholds\": {\"count_interval_s\": 60}}");
  GPtrArray *evs = events_new();
  cw_rules_t *r = cw_rules_new(c, W, H, collect, evs);
  GPtrArray *live = g_ptr_array_new(), *ended = g_ptr_array_new();
  cw_track_t *a = track_new(1, TRUE), *b = track_new(2, TRUE), *cc = track_new(3, TRUE);
  cw_track_t *d = track_new(4, TRUE), *e = track_new(5, TRUE), *f = track_new(6, TRUE);
  for (int k = 0; k <= 30; k++) { /* 0 .. 6 s; the line is at y 90 */
    gint64 ts = (gint64)k * FRAME_US;
    double s = ts / 1e6;
    g_ptr_array_set_size(live, 0);
    g_ptr_array_set_size(ended, 0);
    if (s < 2.85) { /* up from 150, lost at 114 (1.8 s), ends at 94 */
      track_step(a, 40, (float)(150 - 20 * s), ts, s < 1.8, s >= 1.8);
      track_step(b, 200, (float)(150 - 20 * s), ts, s < 1.8, FALSE);
      g_ptr_array_add(live, a);
      g_ptr_array_add(live, b);
    } else if (s < 3.05) {
      g_ptr_array_add(ended, a);
      g_ptr_array_add(ended, b);
    }
    if (s < 3.05) { /* seen to 0.4 s, over the line at 2 s coasting */
      track_step(cc, 150, (float)(130 - 20 * s), ts, s < 0.45, FALSE);
      g_ptr_array_add(live, cc);
    }
    if (s >= 2 && s <= 4) { /* D seen to 2.4 s, over at 3.0 s; E seen, over at 2.9 s */
      track_step(d, 60, (float)(110 - 20 * (s - 2)), ts, s < 2.45, FALSE);
      track_step(e, 74, (float)(108 - 20 * (s - 2)), ts, TRUE, FALSE);
      g_ptr_array_add(live, d);
      g_ptr_array_add(live, e);
    }
    if (s >= 3 && s <= 5) { /* seen to 3.4 s, over at 4.0 s, nobody near */
      track_step(f, 280, (float)(110 - 20 * (s - 3)), ts, s < 3.45, FALSE);
      g_ptr_array_add(live, f);
    }
    cw_rules_update(r, live, ended, NULL, ts);
  }
  cw_rules_flush(r, SEC(6.2));
  gint64 fwd = 0, rev = 0;
  for (guint i = 0; i < evs->len; i++) {
    got_t *g = evs->pdata[i];
    fwd += json_object_get_int_member(g->obj, "forward");
    rev += json_object_get_int_member(g->obj, "reverse");
  }
  g_assert_cmpint(fwd, ==, 0);
  g_assert_cmpint(rev, ==, 3);
  cw_rules_free(r);
  cw_track_t *all[] = {a, b, cc, d, e, f};
  for (gsize i = 0; i < G_N_ELEMENTS(all); i++)
    g_free(all[i]);
  g_ptr_array_unref(live);
  g_ptr_array_unref(ended);
  g_ptr_array_unref(evs);
  cw_analytics_config_free(c);
}

/* ---- congestion ---- */

/* The mask with the top `occ` of the zone (the picture's lower half)
 * foreground; a shadow row above it that must not count. */
static void
fill_mask(guint8 *mask, double occ)
{
  memset(mask, CW_BG_BACKGROUND, W * H);
  int rows = (int)lround(occ * (H / 2));
  memset(mask + (gsize)(H / 2 - 4) * W, CW_BG_SHADOW, 4 * W);
  memset(mask + (gsize)(H / 2) * W, CW_BG_FOREGROUND, (gsize)rows * W);
}

static void
test_congestion_hysteresis(void)
{
  cw_analytics_config_t *c =
      config("{\"zones\": [{\"id\": \"main\", \"kind\": \"congestion\","
             "             \"polygon\": [[0, 0.5], [1, 0.5], [1, 1], [0, 1]]}],"
             " \"thresholds\": {\"congestion_window_s\": 2, \"congestion_hysteresis_s\": 3}}");
  GPtrArray *evs = events_new();
  cw_rules_t *r = cw_rules_new(c, W, H, collect, evs);
  guint8 *mask = g_malloc(W * H);
  GPtrArray *live = g_ptr_array_new();
  cw_track_t *fast[3];
  for (int i = 0; i < 3; i++)
    fast[i] = track_new(10 + i, TRUE);

  for (int f = 0; f <= 500; f++) { /* 0 .. 100 s */
    gint64 ts = (gint64)f * FRAME_US;
    double s = ts / 1e6;
    double occ = s < 10     ? 0.1
                 : s < 10.6 ? 0.9
                 : s < 20   ? 0.1
                 : s < 40   ? 0.45
                 : s < 60   ? 0.8
                 : s < 80   ? 0.1
                            : 0.7;
    fill_mask(mask, occ);
    g_ptr_array_set_size(live, 0);
    if (s >= 80) {
      /* Dense but flowing: vehicles in the zone at 0.3 of the frame a second. */
      for (int i = 0; i < 3; i++) {
        double x = fmod((s - 80) * 0.3 * W + i * 100, W);
        track_at(fast[i], (float)x, 150, ts);
        g_ptr_array_add(live, fast[i]);
      }
    }
    cw_rules_update(r, live, NULL, mask, ts);

    if (s == 19.0) /* the 0.6 s spike did not start anything */
      g_assert_cmpuint(evs->len, ==, 0);
  }
  g_assert_cmpuint(evs->len, ==, 3);
  got_t *start = nth_kind(evs, "traffic.congestion", 0);
  got_t *upd = nth_kind(evs, "traffic.congestion", 1);
  got_t *end = nth_kind(evs, "traffic.congestion", 2);
  g_assert_cmpint(start->phase, ==, CW_PHASE_START);
  g_assert_cmpstr(attr_str(start, "level"), ==, "heavy");
  g_assert_cmpstr(attr_str(start, "zone"), ==, "main");
  g_assert_true(JSON_NODE_HOLDS_NULL(json_object_get_member(start->obj, "speed")));
  /* The occupancy rose at 20 s (the 5 s means around it say ~21 s); the
   * windowed one passes 0.35 at ~21.4 s; entered 3 s later. */
  g_assert_cmpint(start->start, >=, SEC(20));
  g_assert_cmpint(start->start, <=, SEC(22));
  g_assert_cmpint(start->ts, >=, SEC(24.2));
  g_assert_cmpint(start->ts, <=, SEC(24.6));
  g_assert_cmpfloat(attr_num(start, "occupancy"), >=, 0.35);
  g_assert_cmpint(upd->phase, ==, CW_PHASE_UPDATE);
  g_assert_cmpstr(attr_str(upd, "level"), ==, "jammed");
  /* The windowed occupancy passes 0.6 at ~40.9 s. */
  g_assert_cmpint(upd->ts, >=, SEC(43.5));
  g_assert_cmpint(upd->ts, <=, SEC(44.5));
  g_assert_cmpint(end->phase, ==, CW_PHASE_END);
  g_assert_cmpstr(attr_str(end, "level"), ==, "free");
  /* Jammed is left (the window falls below 0.6) at ~60.6 s; 3 s later
   * the level is what it is then: free. */
  g_assert_cmpint(end->ts, >=, SEC(63.4));
  g_assert_cmpint(end->ts, <=, SEC(64.5));
  g_assert_cmpuint(upd->incident, ==, start->incident);
  g_assert_cmpuint(end->incident, ==, start->incident);
  g_assert_cmpint(upd->start, ==, start->start);
  g_assert_cmpint(end->start, ==, start->start);

  cw_rules_free(r);

  /* The default 15 s window lags a change by up to 15 s, and the
   * hysteresis 10 s more: the start still says when the occupancy rose (at
   * 30 s here), though that is before the window by then. */
  cw_analytics_config_t *c30 =
      config("{\"zones\": [{\"id\": \"main\", \"kind\": \"congestion\","
             "             \"polygon\": [[0, 0.5], [1, 0.5], [1, 1], [0, 1]]}]}");
  g_ptr_array_set_size(evs, 0);
  r = cw_rules_new(c30, W, H, collect, evs);
  for (int f = 0; f <= 600; f++) { /* 0 .. 120 s */
    gint64 ts = (gint64)f * FRAME_US;
    fill_mask(mask, ts < SEC(30) ? 0.1 : 0.5);
    cw_rules_update(r, NULL, NULL, mask, ts);
  }
  g_assert_cmpuint(evs->len, ==, 1);
  start = nth_kind(evs, "traffic.congestion", 0);
  g_assert_cmpint(start->phase, ==, CW_PHASE_START);
  g_assert_cmpint(start->start, >=, SEC(28));
  g_assert_cmpint(start->start, <=, SEC(31));
  /* The windowed mean passes 0.35 at ~39.4 s; 10 s of hysteresis. */
  g_assert_cmpint(start->ts, >=, SEC(49));
  g_assert_cmpint(start->ts, <=, SEC(50.5));
  cw_rules_free(r);
  cw_analytics_config_free(c30);

  for (int i = 0; i < 3; i++)
    g_free(fast[i]);
  g_ptr_array_unref(live);
  g_free(mask);
  g_ptr_array_unref(evs);
  cw_analytics_config_free(c);
}

/* What congestion measures: a blob has holes (windows, a body the colour of
 * the road) that the boxes of the tracks cover; and a queue standing with
 * one vehicle flowing past is standing (the median speed, not the mean).
 * Mask alone or the mean speed would both say "heavy", not "jammed". */
static void
test_congestion_measure(void)
{
  cw_analytics_config_t *c =
      config("{\"zones\": [{\"id\": \"q\", \"kind\": \"congestion\","
             "             \"polygon\": [[0.25, 0.5], [0.5, 0.5], [0.5, 0.59], [0.25, 0.59]]}],"
             " \"thresholds\": {\"congestion_window_s\": 2, \"congestion_hysteresis_s\": 1}}");
  GPtrArray *evs = events_new();
  cw_rules_t *r = cw_rules_new(c, W, H, collect, evs);
  guint8 *mask = g_malloc(W * H);
  /* Every other column: half the zone's pixels. */
  for (int i = 0; i < W * H; i++)
    mask[i] = (i % W) % 2 ? CW_BG_FOREGROUND : CW_BG_BACKGROUND;
  GPtrArray *live = g_ptr_array_new();
  cw_track_t *queue[4], *fast = track_new(20, TRUE);
  for (int i = 0; i < 4; i++)
    queue[i] = track_new(10 + i, TRUE);
  for (int f = 0; f <= 100; f++) { /* 0 .. 20 s */
    gint64 ts = (gint64)f * FRAME_US;
    g_ptr_array_set_size(live, 0);
    for (int i = 0; i < 4; i++) { /* boxes x 80..176, rows 90..103 */
      track_at(queue[i], 92 + 24 * i, 104, ts);
      g_ptr_array_add(live, queue[i]);
    }
    track_at(fast, 80 + (float)fmod(ts / 1e6 * 0.3 * W, 80), 100, ts);
    g_ptr_array_add(live, fast);
    cw_rules_update(r, live, NULL, mask, ts);
  }
  g_assert_cmpuint(evs->len, >=, 1);
  got_t *start = nth_kind(evs, "traffic.congestion", 0);
  g_assert_cmpint(start->phase, ==, CW_PHASE_START);
  g_test_message("level %s, occupancy %.3f, speed %.4f", attr_str(start, "level"),
                 attr_num(start, "occupancy"), attr_num(start, "speed"));
  g_assert_cmpstr(attr_str(start, "level"), ==, "jammed");
  g_assert_cmpfloat(attr_num(start, "occupancy"), >=, 0.9);
  g_assert_cmpfloat(attr_num(start, "speed"), <, 0.02);
  cw_rules_free(r);
  for (int i = 0; i < 4; i++)
    g_free(queue[i]);
  g_free(fast);
  g_ptr_array_unref(live);
  g_free(mask);
  g_ptr_array_unref(evs);
  cw_analytics_config_free(c);
}

/* ---- stopped vehicle ---- */

static void
test_stopped_vehicle(void)
{
  cw_analytics_config_t *c =
      config("{\"zones\": [{\"id\": \"shoulder\", \"kind\": \"no_stopping\","
             "             \"polygon\": [[0.8, 0], [1, 0], [1, 1], [0.8, 1]]}],"
             " \"thresholds\": {\"stopped_s\": 5}}");
  GPtrArray *evs = events_new();
  cw_rules_t *r = cw_rules_new(c, W, H, collect, evs);
  GPtrArray *live = g_ptr_array_new(), *ended = g_ptr_array_new();
  cw_track_t *in = track_new(1, TRUE);    /* stops in the zone at 3 s, leaves at 13 s */
  cw_track_t *out = track_new(2, TRUE);   /* stops outside the zone for 20 s */
  cw_track_t *gone = track_new(3, TRUE);  /* stops in the zone, then its track ends */
  cw_track_t *again = track_new(4, TRUE); /* the same vehicle found again: the stop goes on */
  /* A box jitters by a pixel or so even when the vehicle stands still. */
  static const float jitter[] = {0, 1, -1, 0.5f, -0.5f, 1, 0, -1};

  for (int f = 0; f <= 200; f++) { /* 0 .. 40 s */
    gint64 ts = (gint64)f * FRAME_US;
    double s = ts / 1e6;
    float j = jitter[f % G_N_ELEMENTS(jitter)];
    g_ptr_array_set_size(live, 0);
    g_ptr_array_set_size(ended, 0);
    if (s <= 20) {
      float y = s < 3 ? (float)(20 + 30 * s) : s < 13 ? 110 : (float)(110 + 25 * (s - 13));
      track_at(in, 288 + j, MIN(y, 179), ts);
      g_ptr_array_add(live, in);
    }
    track_at(out, s < 2 ? (float)(100 + 20 * s) : 140 + j, 90 - j, ts);
    g_ptr_array_add(live, out);
    if (s >= 15 && s <= 27) {
      track_at(gone, 300 + j, s < 17 ? (float)(20 + 20 * (s - 15)) : 60, ts);
      g_ptr_array_add(live, gone);
    } else if (s > 27 && s < 27.3) {
      g_ptr_array_add(ended, gone);
    }
    if (s >= 29 && s <= 33) {
      track_at(again, 301 - j, 61, ts);
      g_ptr_array_add(live, again);
    } else if (s > 33 && s < 33.3) {
      g_ptr_array_add(ended, again);
    }
    cw_rules_update(r, live, ended, NULL, ts);
  }
  cw_rules_flush(r, SEC(40));

  g_assert_cmpuint(evs->len, ==, 4);
  got_t *s1 = nth_kind(evs, "traffic.stopped_vehicle", 0);
  got_t *e1 = nth_kind(evs, "traffic.stopped_vehicle", 1);
  got_t *s2 = nth_kind(evs, "traffic.stopped_vehicle", 2);
  got_t *e2 = nth_kind(evs, "traffic.stopped_vehicle", 3);
  g_assert_cmpint(s1->phase, ==, CW_PHASE_START);
  g_assert_cmpint(json_object_get_int_member(s1->obj, "track_id"), ==, 1);
  g_assert_cmpstr(attr_str(s1, "zone"), ==, "shoulder");
  /* Stopped at 3 s: start reported once 5 s stationary, start time the stop. */
  g_assert_cmpint(s1->start, >=, SEC(2.8));
  g_assert_cmpint(s1->start, <=, SEC(3.2));
  g_assert_cmpint(s1->ts, >=, SEC(8));
  g_assert_cmpint(s1->ts, <=, SEC(8.4));
  g_assert_cmpfloat(attr_num(s1, "stopped_s"), >=, 5);
  JsonArray *box = json_object_get_array_member(s1->obj, "box");
  g_assert_cmpuint(json_array_get_length(box), ==, 4);
  g_assert_cmpfloat_with_epsilon(json_array_get_double_element(box, 0), (288 - 12) / 320.0, 0.01);
  g_assert_cmpfloat_with_epsilon(json_array_get_double_element(box, 2), 24 / 320.0, 0.001);
  g_assert_cmpint(e1->phase, ==, CW_PHASE_END);
  g_assert_cmpuint(e1->incident, ==, s1->incident);
  g_assert_cmpint(e1->start, ==, s1->start);
  /* Drove off at 13 s: the end waits 5 s, for it (or a new track) to
   * stand there again (a passing vehicle may have pulled its box off it);
   * stopped_s still ends at the moment it left. */
  g_assert_cmpint(e1->ts, >, SEC(18));
  g_assert_cmpint(e1->ts, <=, SEC(19));
  g_assert_cmpfloat_with_epsilon(attr_num(e1, "stopped_s"), 10, 0.7);
  /* The one whose track ended at 27.2 s and was found again at 29 s:
   * one incident, from 17 s until 5 s after the second track was last seen. */
  g_assert_cmpint(json_object_get_int_member(s2->obj, "track_id"), ==, 3);
  g_assert_cmpint(s2->phase, ==, CW_PHASE_START);
  g_assert_cmpint(s2->start, >=, SEC(16.8));
  g_assert_cmpint(s2->start, <=, SEC(17.2));
  g_assert_cmpint(e2->phase, ==, CW_PHASE_END);
  g_assert_cmpuint(e2->incident, ==, s2->incident);
  g_assert_cmpuint(s2->incident, !=, s1->incident);
  g_assert_cmpint(e2->ts, ==, SEC(38)); /* last seen at 33 s */
  g_assert_cmpfloat_with_epsilon(attr_num(e2, "stopped_s"), 33 - 17, 0.3);

  cw_rules_free(r);
  g_free(in);
  g_free(out);
  g_free(gone);
  g_free(again);
  g_ptr_array_unref(live);
  g_ptr_array_unref(ended);
  g_ptr_array_unref(evs);
  cw_analytics_config_free(c);
}

/* ---- wrong way ---- */

static void
test_wrong_way(void)
{
  cw_analytics_config_t *c =
      config("{\"lanes\": [{\"id\": \"nb\", \"polygon\": [[0, 0], [0.5, 0], [0.5, 1], [0, 1]],"
             "             \"direction\": [0, -1]},"
             "            {\"id\": \"sb\", \"polygon\": [[0.5, 0], [1, 0], [1, 1], [0.5, 1]],"
             "             \"direction\": [0, 1]}]}");
  GPtrArray *evs = events_new();
  cw_rules_t *r = cw_rules_new(c, W, H, collect, evs);
  GPtrArray *live = g_ptr_array_new();
  cw_track_t *against = track_new(1, TRUE); /* down the northbound lane */
  cw_track_t *with = track_new(2, TRUE);    /* up it */
  cw_track_t *jitter = track_new(3, TRUE);  /* up, with a 0.1 step back */
  cw_track_t *other = track_new(4, TRUE);   /* down, outside the lane */
  cw_track_t *unc = track_new(5, FALSE);    /* down the lane, never confirmed */
  cw_track_t *wide = track_new(6, TRUE);    /* a wide blob over the lane line, going south */
  cw_track_t *jump = track_new(7, TRUE);    /* right way, but its box edge jumps back once */
  cw_track_t *back = track_new(8, TRUE);    /* backs 45 px down in 1 s, then drives on north */
  cw_track_t *stuck = track_new(9, TRUE);   /* its box's top stays, its bottom comes south */
  cw_track_t *merged = track_new(10, TRUE); /* south, but wider than one vehicle (208 px) */

  for (int f = 0; f <= 50; f++) { /* 0 .. 10 s */
    gint64 ts = (gint64)f * FRAME_US;
    double s = ts / 1e6;
    g_ptr_array_set_size(live, 0);
    track_at(against, 60, (float)(10 + 16 * s), ts);
    track_at(with, 100, (float)(170 - 16 * s), ts);
    double jy = s < 4 ? 170 - 10 * s : s < 6 ? 130 + 9 * (s - 4) : 148 - 10 * (s - 6);
    track_at(jitter, 130, (float)jy, ts);
    track_at(other, 250, (float)(10 + 16 * s), ts);
    track_at(unc, 40, (float)(10 + 16 * s), ts);
    /* Its middle at x = 150 (nb), its box reaching x = 200 (sb). */
    track_at(wide, 150, (float)(10 + 16 * s), ts);
    wide->w = 100;
    wide->x = 100;
    /* Northbound at 4 px/s, then at 5 s the blob of the vehicle behind
     * joins it and the box bottom jumps 60 px down the picture. */
    track_at(jump, 30, (float)(100 - 4 * s + (s >= 5 ? 60 : 0)), ts);
    track_at(back, 70, (float)(s < 1 ? 60 + 45 * s : 105 - 10 * (s - 1)), ts);
    /* A blob held a passing vehicle and what stands at y 20: the bottom
     * goes with the vehicle, the top stays. */
    track_at(stuck, 110, (float)(40 + 16 * s), ts);
    stuck->y = 20;
    stuck->h = stuck->gy - 20;
    track_at(merged, 120, (float)(10 + 16 * s), ts);
    merged->w = 220;
    merged->x = 10;
    g_ptr_array_add(live, against);
    g_ptr_array_add(live, with);
    g_ptr_array_add(live, jitter);
    g_ptr_array_add(live, other);
    g_ptr_array_add(live, unc);
    g_ptr_array_add(live, wide);
    g_ptr_array_add(live, jump);
    g_ptr_array_add(live, back);
    g_ptr_array_add(live, stuck);
    g_ptr_array_add(live, merged);
    cw_rules_update(r, live, NULL, NULL, ts);
  }
  cw_rules_flush(r, SEC(10));
  g_assert_cmpuint(evs->len, ==, 1);
  got_t *g = nth_kind(evs, "traffic.wrong_way", 0);
  g_assert_cmpint(g->phase, ==, CW_PHASE_INSTANT);
  g_assert_cmpstr(attr_str(g, "lane"), ==, "nb");
  g_assert_cmpint(json_object_get_int_member(g->obj, "track_id"), ==, 1);
  g_assert_cmpfloat_with_epsilon(attr_num(g, "heading_deg"), 180, 0.5);
  /* 0.15 of 180 px = 27 px at 16 px/s takes ~1.7 s; and it must have
   * kept on for 2 s. */
  g_assert_cmpint(g->ts, ==, SEC(2.0));
  g_assert_cmpuint(json_array_get_length(json_object_get_array_member(g->obj, "box")), ==, 4);

  cw_rules_free(r);
  g_free(against);
  g_free(with);
  g_free(jitter);
  g_free(other);
  g_free(unc);
  g_free(wide);
  g_free(jump);
  g_free(back);
  g_free(stuck);
  g_free(merged);
  g_ptr_array_unref(live);
  g_ptr_array_unref(evs);
  cw_analytics_config_free(c);
}

/* ---- reset and flush ---- */

static void
test_reset_flush(void)
{
  cw_analytics_config_t *c =
      config("{\"lines\": [{\"id\": \"L1\", \"from\": [0, 0.5], \"to\": [1, 0.5]}],"
             " \"zones\": [{\"id\": \"all\", \"kind\": \"no_stopping\","
             "             \"polygon\": [[0, 0], [1, 0], [1, 1], [0, 1]]}],"
             " \"thresholds\": {\"stopped_s\": 2, \"count_interval_s\": 60}}");
  GPtrArray *evs = events_new();
  cw_rules_t *r = cw_rules_new(c, W, H, collect, evs);
  GPtrArray *live = g_ptr_array_new();
  cw_track_t *t = track_new(1, TRUE);
  for (int f = 0; f <= 50; f++) { /* crosses L1 by 2 s, then stands still */
    gint64 ts = (gint64)f * FRAME_US;
    track_at(t, 100, (float)MIN(60 + 20 * ts / 1e6, 110), ts);
    g_ptr_array_set_size(live, 0);
    g_ptr_array_add(live, t);
    cw_rules_update(r, live, NULL, NULL, ts);
  }
  g_assert_cmpuint(evs->len, ==, 1);
  g_assert_cmpint(nth_kind(evs, "traffic.stopped_vehicle", 0)->phase, ==, CW_PHASE_START);
  cw_rules_reset(r, SEC(10.1));
  g_assert_cmpuint(evs->len, ==, 2);
  got_t *end = nth_kind(evs, "traffic.stopped_vehicle", 1);
  g_assert_cmpint(end->phase, ==, CW_PHASE_END);
  g_assert_cmpint(end->ts, ==, SEC(10.1));
  /* The tracker lists the dropped track as ended afterwards: not counted
   * again, no second end. */
  GPtrArray *ended = g_ptr_array_new();
  g_ptr_array_add(ended, t);
  g_ptr_array_set_size(live, 0);
  cw_rules_update(r, live, ended, NULL, SEC(10.2));
  g_ptr_array_unref(ended);
  g_assert_cmpuint(evs->len, ==, 2);
  /* The count survives the reset and comes out at the flush. */
  cw_rules_flush(r, SEC(30));
  g_assert_cmpuint(evs->len, ==, 3);
  got_t *n = nth_kind(evs, "traffic.count", 0);
  g_assert_cmpint(json_object_get_int_member(n->obj, "forward"), ==, 1);
  g_assert_cmpfloat_with_epsilon(attr_num(n, "interval_s"), 30, 1e-6);
  /* A second flush has nothing left to say. */
  cw_rules_flush(r, SEC(31));
  g_assert_cmpuint(evs->len, ==, 3);
  cw_rules_free(r);
  g_free(t);
  g_ptr_array_unref(live);
  g_ptr_array_unref(evs);
  cw_analytics_config_free(c);
}

/* ---- synthetic pictures ---- */

#define SCENE_PAD 32
#define SW (W + 2 * SCENE_PAD)
#define SH (H + 2 * SCENE_PAD)

/* A road-side scene: a sky-to-road gradient, buildings and road marks as
 * rectangles of many sizes and greys, some fine texture. */
static float *
scene_new(guint32 seed)
{
  GRand *rng = g_rand_new_with_seed(seed);
  float *s = g_new(float, SW *SH);
  for (int y = 0; y < SH; y++)
    for (int x = 0; x < SW; x++)
      s[y * SW + x] = 150.0f - 60.0f * y / SH;
  for (int i = 0; i < 70; i++) {
    int rw = g_rand_int_range(rng, 4, 70), rh = g_rand_int_range(rng, 3, 50);
    int rx = g_rand_int_range(rng, 0, SW - rw), ry = g_rand_int_range(rng, 0, SH - rh);
    float v = (float)g_rand_double_range(rng, 30, 230);
    for (int y = ry; y < ry + rh; y++)
      for (int x = rx; x < rx + rw; x++)
        s[y * SW + x] = v;
  }
  for (int i = 0; i < SW * SH; i++)
    s[i] += (float)g_rand_double_range(rng, -8, 8);
  g_rand_free(rng);
  return s;
}

static double
gauss(GRand *rng)
{
  double u = g_rand_double_range(rng, 1e-12, 1), v = g_rand_double(rng);
  return sqrt(-2 * log(u)) * cos(2 * G_PI * v);
}

/* The picture at ts: the scene offset by (dx, dy), times gain, vehicles
 * (dark boxes) at the given x positions on the road, sensor noise. */
static void
render(guint8 *y, const float *scene, int dx, int dy, double gain, const double *cars, int ncars,
       double sigma, GRand *rng)
{
  for (int r = 0; r < H; r++) {
    for (int x = 0; x < W; x++) {
      double v = scene[(r + SCENE_PAD + dy) * SW + x + SCENE_PAD + dx];
      for (int k = 0; k < ncars; k++)
        if (x >= cars[k] && x < cars[k] + 40 && r >= 110 + 20 * (k % 2) && r < 135 + 20 * (k % 2))
          v = 40 + 10 * k;
      v = v * gain + (sigma > 0 ? sigma * gauss(rng) : 0);
      y[r * W + x] = (guint8)CLAMP(lround(v), 0, 255);
    }
  }
}

static void
blur(guint8 *y, int radius, int passes)
{
  guint8 *tmp = g_malloc(W * H);
  for (int p = 0; p < passes; p++) {
    for (int r = 0; r < H; r++)
      for (int x = 0; x < W; x++) {
        int s = 0, n = 0;
        for (int k = -radius; k <= radius; k++)
          if (x + k >= 0 && x + k < W) {
            s += y[r * W + x + k];
            n++;
          }
        tmp[r * W + x] = (guint8)(s / n);
      }
    for (int r = 0; r < H; r++)
      for (int x = 0; x < W; x++) {
        int s = 0, n = 0;
        for (int k = -radius; k <= radius; k++)
          if (r + k >= 0 && r + k < H) {
            s += tmp[(r + k) * W + x];
            n++;
          }
        y[r * W + x] = (guint8)(s / n);
      }
  }
  g_free(tmp);
}

static void
add_noise(guint8 *y, double sigma, GRand *rng)
{
  for (int i = 0; i < W * H; i++)
    y[i] = (guint8)CLAMP(lround(y[i] + sigma * gauss(rng)), 0, 255);
}

typedef struct {
  cw_analytics_config_t *cfg;
  cw_health_t *h;
  GPtrArray *evs;
  guint8 *pix;
  cw_image_t img;
  GRand *rng;
  float *scene_a, *scene_b;
} health_fixture_t;

static void
hf_init(health_fixture_t *f)
{
  f->cfg = config(NULL);
  f->evs = events_new();
  f->h = cw_health_new(f->cfg, W, H, collect, f->evs);
  f->pix = g_malloc0(W * H);
  f->img = (cw_image_t){.y = {f->pix, W, H, W}};
  f->rng = g_rand_new_with_seed(42);
  f->scene_a = scene_new(1);
  f->scene_b = scene_new(2);
}

static void
hf_clear(health_fixture_t *f)
{
  cw_health_free(f->h);
  g_ptr_array_unref(f->evs);
  g_free(f->pix);
  g_rand_free(f->rng);
  g_free(f->scene_a);
  g_free(f->scene_b);
  cw_analytics_config_free(f->cfg);
}

static gboolean
hf_push(health_fixture_t *f, int frame)
{
  f->img.ts_us = (gint64)frame * FRAME_US;
  return cw_health_update(f->h, &f->img);
}

/* Moving traffic on the road at frame f. */
static int
traffic(int f, double *cars)
{
  int n = 0;
  for (int k = 0; k < 3; k++)
    cars[n++] = fmod(f * (6 + 3 * k) + k * 90, W + 80) - 60;
  return n;
}

static void
test_health_blackout(void)
{
  health_fixture_t f;
  hf_init(&f);
  double cars[3];
  for (int i = 0; i < 150; i++) { /* 0-10 s normal, 10-20 s covered, 20-30 s normal */
    double s = i * FRAME_US / 1e6;
    if (s < 10 || s >= 20)
      render(f.pix, f.scene_a, 0, 0, 1, cars, traffic(i, cars), 3, f.rng);
    else {
      memset(f.pix, 12, W * H);
      add_noise(f.pix, 2, f.rng);
    }
    g_assert_false(hf_push(&f, i));
    if (s == 9.8 || s == 12.6 || s >= 21.2)
      g_assert_false(cw_health_blind(f.h));
    if (s >= 13 && s < 20)
      g_assert_true(cw_health_blind(f.h));
  }
  cw_health_flush(f.h, SEC(30));
  g_assert_cmpuint(f.evs->len, ==, 2);
  got_t *st = nth_kind(f.evs, "camera.tamper.blackout", 0);
  got_t *en = nth_kind(f.evs, "camera.tamper.blackout", 1);
  g_assert_cmpint(st->phase, ==, CW_PHASE_START);
  g_assert_cmpint(st->start, ==, SEC(10));
  g_assert_cmpint(st->ts, ==, SEC(13));
  g_assert_cmpfloat(attr_num(st, "luma"), <, 20);
  g_assert_cmpfloat(attr_num(st, "threshold"), ==, 28);
  g_assert_cmpint(en->phase, ==, CW_PHASE_END);
  g_assert_cmpuint(en->incident, ==, st->incident);
  g_assert_cmpint(en->ts, ==, SEC(21));
  hf_clear(&f);
}

static void
test_health_frozen(void)
{
  health_fixture_t f;
  hf_init(&f);
  /* A static scene with sensor noise is alive: 20 s, nothing; nor when
   * it is dim and nearly clean (10 s at half light, noise 0.7). */
  for (int i = 0; i < 100; i++) {
    if (i < 50)
      render(f.pix, f.scene_a, 0, 0, 0.5, NULL, 0, 0.7, f.rng);
    else
      render(f.pix, f.scene_a, 0, 0, 1, NULL, 0, 3, f.rng);
    hf_push(&f, i);
  }
  g_assert_cmpuint(f.evs->len, ==, 0);
  /* The same frame again and again from 20 s to 30 s. */
  for (int i = 100; i < 150; i++) {
    hf_push(&f, i);
    if (i >= 126)
      g_assert_true(cw_health_blind(f.h));
  }
  g_assert_cmpuint(f.evs->len, ==, 1);
  got_t *st = nth_kind(f.evs, "camera.tamper.frozen", 0);
  g_assert_cmpint(st->phase, ==, CW_PHASE_START);
  /* Frame 99 is the one repeated. */
  g_assert_cmpint(st->start, ==, SEC(19.8));
  g_assert_cmpint(st->ts, ==, SEC(24.8));
  g_assert_cmpfloat(attr_num(st, "difference"), <, 0.2);
  g_assert_cmpfloat_with_epsilon(attr_num(st, "frozen_s"), 5, 0.01);
  /* Alive again: ends at once. */
  render(f.pix, f.scene_a, 0, 0, 1, NULL, 0, 3, f.rng);
  hf_push(&f, 150);
  g_assert_false(cw_health_blind(f.h));
  g_assert_cmpuint(f.evs->len, ==, 2);
  got_t *en = nth_kind(f.evs, "camera.tamper.frozen", 1);
  g_assert_cmpint(en->phase, ==, CW_PHASE_END);
  g_assert_cmpint(en->ts, ==, SEC(30));
  g_assert_cmpuint(en->incident, ==, st->incident);
  g_assert_cmpfloat(attr_num(en, "difference"), >, 1);
  hf_clear(&f);
}

static void
test_health_defocus(void)
{
  health_fixture_t f;
  hf_init(&f);
  double cars[3];
  for (int i = 0; i < 200; i++) { /* sharp 0-15 s, blurred 15-30 s, sharp again */
    double s = i * FRAME_US / 1e6;
    render(f.pix, f.scene_a, 0, 0, 1, cars, traffic(i, cars), s >= 15 && s < 30 ? 0 : 3, f.rng);
    if (s >= 15 && s < 30) {
      blur(f.pix, 2, 2);
      add_noise(f.pix, 3, f.rng);
    }
    if (s >= 5 && s < 12) {
      /* A big plain truck close to the camera: much more contrast, no
       * more fine detail. Not a defocus. */
      for (int r = 40; r < 150; r++)
        for (int x = 60; x < 260; x++)
          f.pix[r * W + x] = (guint8)CLAMP(lround(235 + 3 * gauss(f.rng)), 0, 255);
    }
    g_assert_false(hf_push(&f, i));
  }
  cw_health_flush(f.h, SEC(40));
  g_assert_cmpuint(f.evs->len, ==, 2);
  got_t *st = nth_kind(f.evs, "camera.tamper.defocus", 0);
  got_t *en = nth_kind(f.evs, "camera.tamper.defocus", 1);
  g_assert_cmpint(st->phase, ==, CW_PHASE_START);
  g_assert_cmpint(st->start, ==, SEC(15));
  g_assert_cmpint(st->ts, ==, SEC(18));
  g_assert_cmpfloat(attr_num(st, "sharpness"), <, 0.45 * attr_num(st, "reference"));
  g_assert_cmpint(en->phase, ==, CW_PHASE_END);
  g_assert_cmpint(en->ts, ==, SEC(31));
  hf_clear(&f);
}

static void
test_health_scene_change(void)
{
  health_fixture_t f;
  hf_init(&f);
  double cars[3];
  int i = 0, changes = 0;
  /* 0-20 s: scene A with traffic. */
  for (; i < 100; i++) {
    render(f.pix, f.scene_a, 0, 0, 1, cars, traffic(i, cars), 3, f.rng);
    changes += hf_push(&f, i);
  }
  /* 20-60 s: another scene (re-aimed: different and shifted). */
  for (; i < 300; i++) {
    render(f.pix, f.scene_b, 20, 12, 1, cars, traffic(i, cars), 3, f.rng);
    gboolean changed = hf_push(&f, i);
    if (changed)
      g_assert_cmpint(i, ==, 115);
    changes += changed;
  }
  g_assert_cmpint(changes, ==, 1);
  g_assert_cmpuint(f.evs->len, ==, 1);
  got_t *g = nth_kind(f.evs, "camera.tamper.scene_change", 0);
  g_assert_cmpint(g->phase, ==, CW_PHASE_INSTANT);
  g_assert_cmpint(g->ts, ==, SEC(23));
  g_assert_cmpfloat(attr_num(g, "similarity"), <, 0.5);
  /* 60-120 s: the light falls to half, gradually. */
  for (; i < 600; i++) {
    double gain = 1 - 0.5 * MIN(1.0, (i - 300) / 250.0);
    render(f.pix, f.scene_b, 20, 12, gain, cars, traffic(i, cars), 3, f.rng);
    changes += hf_push(&f, i);
  }
  /* 120-160 s: the pole sways, 2 px every way, at half light. */
  for (; i < 800; i++) {
    int dx = g_rand_int_range(f.rng, -2, 3), dy = g_rand_int_range(f.rng, -2, 3);
    render(f.pix, f.scene_b, 20 + dx, 12 + dy, 0.5, cars, traffic(i, cars), 3, f.rng);
    changes += hf_push(&f, i);
  }
  cw_health_flush(f.h, SEC(160));
  g_assert_cmpint(changes, ==, 1);
  g_assert_cmpuint(f.evs->len, ==, 1);
  hf_clear(&f);
}

/* This thread's processor time, µs: what a frame costs, whatever else
 * the machine is doing. */
static gint64
cpu_us(void)
{
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return (gint64)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

/* Not a pass/fail on speed (sanitizers, loaded machines): reports the cost
 * per frame, and fails only when it is far off budget. */
static void
test_health_cost(void)
{
  health_fixture_t f;
  hf_init(&f);
  double cars[3];
  enum { FRAMES = 64, ROUNDS = 8 };
  guint8 *frames = g_malloc((gsize)FRAMES * W * H);
  for (int i = 0; i < FRAMES; i++) {
    render(f.pix, f.scene_a, 0, 0, 1, cars, traffic(i, cars), 3, f.rng);
    memcpy(frames + (gsize)i * W * H, f.pix, W * H);
  }
  gint64 t0 = cpu_us();
  for (int i = 0; i < FRAMES * ROUNDS; i++) {
    f.img.y.data = frames + (gsize)(i % FRAMES) * W * H;
    hf_push(&f, i);
  }
  double health_us = (double)(cpu_us() - t0) / (FRAMES * ROUNDS);

  cw_analytics_config_t *c = config(full_config);
  GPtrArray *evs = events_new();
  cw_rules_t *r = cw_rules_new(c, W, H, collect, evs);
  GPtrArray *live = g_ptr_array_new();
  cw_track_t *tracks[20];
  guint8 *mask = g_malloc0(W * H);
  fill_mask(mask, 0.3);
  for (int k = 0; k < 20; k++)
    tracks[k] = track_new((guint)k + 1, TRUE);
  t0 = cpu_us();
  for (int i = 0; i < FRAMES * ROUNDS; i++) {
    g_ptr_array_set_size(live, 0);
    for (int k = 0; k < 20; k++) {
      track_at(tracks[k], (float)fmod(i * (2 + k % 5) + k * 16, W), (float)(20 + k * 8),
               (gint64)i * FRAME_US);
      g_ptr_array_add(live, tracks[k]);
    }
    cw_rules_update(r, live, NULL, mask, (gint64)i * FRAME_US);
  }
  double rules_us = (double)(cpu_us() - t0) / (FRAMES * ROUNDS);
  g_test_message("per frame at %dx%d: health %.1f us, rules (20 tracks) %.1f us", W, H, health_us,
                 rules_us);
  g_printerr("per frame at %dx%d: health %.1f us, rules (20 tracks) %.1f us\n", W, H, health_us,
             rules_us);
  g_assert_cmpfloat(health_us, <, 5000);
  g_assert_cmpfloat(rules_us, <, 5000);
  cw_rules_free(r);
  for (int k = 0; k < 20; k++)
    g_free(tracks[k]);
  g_ptr_array_unref(live);
  g_ptr_array_unref(evs);
  g_free(mask);
  cw_analytics_config_free(c);
  g_free(frames);
  hf_clear(&f);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/rules/config_ok", test_config_ok);
  g_test_add_func("/rules/config_errors", test_config_errors);
  g_test_add_func("/rules/config_mutations", test_config_mutations);
  g_test_add_func("/rules/polygon_contains", test_polygon_contains);
  g_test_add_func("/rules/count_directions", test_count_directions);
  g_test_add_func("/rules/count_unseen", test_count_unseen);
  g_test_add_func("/rules/congestion_hysteresis", test_congestion_hysteresis);
  g_test_add_func("/rules/congestion_measure", test_congestion_measure);
  g_test_add_func("/rules/stopped_vehicle", test_stopped_vehicle);
  g_test_add_func("/rules/wrong_way", test_wrong_way);
  g_test_add_func("/rules/reset_flush", test_reset_flush);
  g_test_add_func("/rules/health_blackout", test_health_blackout);
  g_test_add_func("/rules/health_frozen", test_health_frozen);
  g_test_add_func("/rules/health_defocus", test_health_defocus);
  g_test_add_func("/rules/health_scene_change", test_health_scene_change);
  g_test_add_func("/rules/health_cost", test_health_cost);
  return g_test_run();
}
