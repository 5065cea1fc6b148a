/* The per-camera analytics configuration: a JSON parser that checks every
 * member against what config.h documents, and the point-in-polygon test
 * the rules share.
 *
 * Pure over a buffer (no I/O), so tests and fuzzers call it directly.
 * Every refusal names the source and the member path, e.g.
 * "camera 12: zones[1].polygon: needs at least 3 points". */
#include "analytics_config.h"

#include <errno.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

/* Explicit limits on what outside text may ask us to hold. */
#define CONFIG_MAX_BYTES (256 * 1024)
#define CONFIG_MAX_ITEMS 64  /* lines, lanes, zones: each */
#define CONFIG_MAX_POINTS 64 /* per polygon */
#define CONFIG_MAX_ID 64     /* bytes of an id */
#define PATH_MAX_LEN 96

typedef struct {
  const char *name;
  size_t offset;
  float def;
  float min, max;
  gboolean min_inclusive; /* FALSE: must be > min */
} threshold_spec_t;

#define T(field) offsetof(cw_thresholds_t, field)
static const threshold_spec_t threshold_specs[] = {
    {"stopped_s", T(stopped_s), 20.0f, 0.0f, 86400.0f, FALSE},
    {"stopped_speed", T(stopped_speed), 0.01f, 0.0f, 1.0f, FALSE},
    {"wrong_way_distance", T(wrong_way_distance), 0.15f, 0.0f, 1.0f, FALSE},
    {"congestion_window_s", T(congestion_window_s), 15.0f, 0.0f, 3600.0f, FALSE},
    {"heavy_occupancy", T(heavy_occupancy), 0.35f, 0.0f, 1.0f, FALSE},
    {"jammed_occupancy", T(jammed_occupancy), 0.6f, 0.0f, 1.0f, FALSE},
    {"heavy_speed", T(heavy_speed), 0.08f, 0.0f, 1.0f, FALSE},
    {"jammed_speed", T(jammed_speed), 0.02f, 0.0f, 1.0f, FALSE},
    /* 0: a level is entered and left at once. */
    {"congestion_hysteresis_s", T(congestion_hysteresis_s), 10.0f, 0.0f, 3600.0f, TRUE},
    /* At least a second: each interval is a report per line. */
    {"count_interval_s", T(count_interval_s), 60.0f, 1.0f, 86400.0f, TRUE},
    {"min_object_area", T(min_object_area), 0.0008f, 0.0f, 1.0f, FALSE},
    {"blackout_luma", T(blackout_luma), 28.0f, 0.0f, 255.0f, FALSE},
    {"tamper_s", T(tamper_s), 3.0f, 0.0f, 3600.0f, FALSE},
    {"frozen_s", T(frozen_s), 5.0f, 0.0f, 3600.0f, FALSE},
    {"defocus_ratio", T(defocus_ratio), 0.45f, 0.0f, 1.0f, FALSE},
    {"scene_similarity", T(scene_similarity), 0.5f, 0.0f, 1.0f, FALSE},
    {"analysis_fps", T(analysis_fps), 5.0f, 0.0f, 120.0f, FALSE},
};
#undef T

static float *
threshold_field(cw_thresholds_t *t, const threshold_spec_t *s)
{
  return (float *)((char *)t + s->offset);
}

static int
fail(cw_error_t *err, const char *where, const char *path, const char *reason)
{
  if (path && path[0])
    return cw_error_set(err, -EINVAL, "%s: %s: %s", where, path, reason);
  return cw_error_set(err, -EINVAL, "%s: %s", where, reason);
}

static void
line_free(gpointer p)
{
  cw_line_cfg_t *l = p;
  g_free(l->id);
  g_free(l);
}

static void
lane_free(gpointer p)
{
  cw_lane_cfg_t *l = p;
  g_free(l->id);
  if (l->polygon)
    g_array_unref(l->polygon);
  g_free(l);
}

static void
zone_free(gpointer p)
{
  cw_zone_cfg_t *z = p;
  g_free(z->id);
  if (z->polygon)
    g_array_unref(z->polygon);
  g_free(z);
}

static gboolean
node_number(JsonNode *n, double *out)
{
  if (!n || !JSON_NODE_HOLDS_VALUE(n))
    return FALSE;
  GType t = json_node_get_value_type(n);
  if (t == G_TYPE_INT64)
    *out = (double)json_node_get_int(n);
  else if (t == G_TYPE_DOUBLE)
    *out = json_node_get_double(n);
  else
    return FALSE;
  return isfinite(*out);
}

/* Members of obj not in allowed (NULL-terminated): the first is refused. */
static int
check_members(JsonObject *obj, const char *const *allowed, const char *where, const char *path,
              cw_error_t *err)
{
  int rc = 0;
  GList *names = json_object_get_members(obj);
  for (GList *l = names; l && rc == 0; l = l->next) {
    const char *name = l->data;
    gboolean ok = FALSE;
    for (const char *const *a = allowed; *a && !ok; a++)
      ok = strcmp(*a, name) == 0;
    if (!ok) {
      char *q = cw_error_quote(name);
      char sub[PATH_MAX_LEN + 80];
      if (path[0])
        g_snprintf(sub, sizeof sub, "%s.%s", path, q);
      else
        g_snprintf(sub, sizeof sub, "%s", q);
      g_free(q);
      rc = fail(err, where, sub, "unknown member");
    }
  }
  g_list_free(names);
  return rc;
}

/* [x, y] with both in 0..1. */
static int
parse_point(JsonNode *n, const char *where, const char *path, cw_point_t *out, cw_error_t *err)
{
  double x, y;
  if (!n || !JSON_NODE_HOLDS_ARRAY(n) || json_array_get_length(json_node_get_array(n)) != 2 ||
      !node_number(json_array_get_element(json_node_get_array(n), 0), &x) ||
      !node_number(json_array_get_element(json_node_get_array(n), 1), &y) || x < 0 || x > 1 ||
      y < 0 || y > 1)
    return fail(err, where, path, "expected [x, y] with 0 <= x, y <= 1");
  out->x = (float)x;
  out->y = (float)y;
  return 0;
}

static double
polygon_area(const GArray *poly)
{
  double a = 0;
  for (guint i = 0; i < poly->len; i++) {
    cw_point_t p = g_array_index(poly, cw_point_t, i);
    cw_point_t q = g_array_index(poly, cw_point_t, (i + 1) % poly->len);
    a += (double)p.x * q.y - (double)q.x * p.y;
  }
  return fabs(a) / 2;
}

static int
parse_polygon(JsonNode *n, const char *where, const char *path, GArray **out, cw_error_t *err)
{
  if (!n || !JSON_NODE_HOLDS_ARRAY(n))
    return fail(err, where, path, "expected an array of [x, y] points");
  JsonArray *a = json_node_get_array(n);
  guint len = json_array_get_length(a);
  if (len < 3)
    return fail(err, where, path, "needs at least 3 points");
  if (len > CONFIG_MAX_POINTS) {
    char reason[64];
    g_snprintf(reason, sizeof reason, "more than %d points", CONFIG_MAX_POINTS);
    return fail(err, where, path, reason);
  }
  GArray *poly = g_array_sized_new(FALSE, FALSE, sizeof(cw_point_t), len);
  for (guint i = 0; i < len; i++) {
    char sub[PATH_MAX_LEN + 16];
    cw_point_t p;
    g_snprintf(sub, sizeof sub, "%s[%u]", path, i);
    int rc = parse_point(json_array_get_element(a, i), where, sub, &p, err);
    if (rc < 0) {
      g_array_unref(poly);
      return rc;
    }
    g_array_append_val(poly, p);
  }
  /* A polygon with no area contains nothing: the rule would never fire. */
  if (polygon_area(poly) < 1e-6) {
    g_array_unref(poly);
    return fail(err, where, path, "has no area");
  }
  *out = poly;
  return 0;
}

/* A non-empty id, unique among the list's earlier items. */
static int
parse_id(JsonObject *obj, GPtrArray *seen, const char *where, const char *path, char **out,
         cw_error_t *err)
{
  char sub[PATH_MAX_LEN + 8];
  g_snprintf(sub, sizeof sub, "%s.id", path);
  JsonNode *n = json_object_get_member(obj, "id");
  if (!n)
    return fail(err, where, sub, "missing");
  if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING)
    return fail(err, where, sub, "expected a string");
  const char *id = json_node_get_string(n);
  size_t len = strlen(id);
  if (len == 0)
    return fail(err, where, sub, "must not be empty");
  if (len > CONFIG_MAX_ID) {
    char reason[64];
    g_snprintf(reason, sizeof reason, "longer than %d bytes", CONFIG_MAX_ID);
    return fail(err, where, sub, reason);
  }
  if (!g_utf8_validate(id, -1, NULL))
    return fail(err, where, sub, "not valid UTF-8");
  for (guint i = 0; i < seen->len; i++) {
    if (strcmp(seen->pdata[i], id) == 0) {
      char *q = cw_error_quote(id);
      char reason[CONFIG_MAX_ID * 4 + 32];
      g_snprintf(reason, sizeof reason, "duplicate id '%s'", q);
      g_free(q);
      return fail(err, where, sub, reason);
    }
  }
  *out = g_strdup(id);
  g_ptr_array_add(seen, *out);
  return 0;
}

static JsonNode *
required(JsonObject *obj, const char *name, const char *where, const char *path, int *rc,
         cw_error_t *err)
{
  JsonNode *n = json_object_get_member(obj, name);
  if (!n) {
    char sub[PATH_MAX_LEN + 32];
    g_snprintf(sub, sizeof sub, "%s.%s", path, name);
    *rc = fail(err, where, sub, "missing");
  }
  return n;
}

static int
parse_line(JsonObject *obj, GPtrArray *seen, const char *where, const char *path, cw_line_cfg_t *l,
           cw_error_t *err)
{
  static const char *const members[] = {"id", "from", "to", NULL};
  char sub[PATH_MAX_LEN + 8];
  int rc = check_members(obj, members, where, path, err);
  if (rc == 0)
    rc = parse_id(obj, seen, where, path, &l->id, err);
  JsonNode *from = rc == 0 ? required(obj, "from", where, path, &rc, err) : NULL;
  JsonNode *to = rc == 0 ? required(obj, "to", where, path, &rc, err) : NULL;
  if (rc == 0) {
    g_snprintf(sub, sizeof sub, "%s.from", path);
    rc = parse_point(from, where, sub, &l->from, err);
  }
  if (rc == 0) {
    g_snprintf(sub, sizeof sub, "%s.to", path);
    rc = parse_point(to, where, sub, &l->to, err);
  }
  if (rc == 0 && hypotf(l->to.x - l->from.x, l->to.y - l->from.y) < 1e-3f)
    rc = fail(err, where, path, "from and to are the same point");
  return rc;
}

static int
parse_lane(JsonObject *obj, GPtrArray *seen, const char *where, const char *path, cw_lane_cfg_t *l,
           cw_error_t *err)
{
  static const char *const members[] = {"id", "polygon", "direction", NULL};
  char sub[PATH_MAX_LEN + 16];
  int rc = check_members(obj, members, where, path, err);
  if (rc == 0)
    rc = parse_id(obj, seen, where, path, &l->id, err);
  JsonNode *poly = rc == 0 ? required(obj, "polygon", where, path, &rc, err) : NULL;
  JsonNode *dir = rc == 0 ? required(obj, "direction", where, path, &rc, err) : NULL;
  if (rc == 0) {
    g_snprintf(sub, sizeof sub, "%s.polygon", path);
    rc = parse_polygon(poly, where, sub, &l->polygon, err);
  }
  if (rc == 0) {
    double dx, dy;
    g_snprintf(sub, sizeof sub, "%s.direction", path);
    if (!JSON_NODE_HOLDS_ARRAY(dir) || json_array_get_length(json_node_get_array(dir)) != 2 ||
        !node_number(json_array_get_element(json_node_get_array(dir), 0), &dx) ||
        !node_number(json_array_get_element(json_node_get_array(dir), 1), &dy) ||
        hypot(dx, dy) < 1e-6 || hypot(dx, dy) > 1e6)
      rc = fail(err, where, sub, "expected [dx, dy], not both 0");
    else {
      double len = hypot(dx, dy);
      l->direction.x = (float)(dx / len);
      l->direction.y = (float)(dy / len);
    }
  }
  return rc;
}

static int
parse_zone(JsonObject *obj, GPtrArray *seen, const char *where, const char *path, cw_zone_cfg_t *z,
           cw_error_t *err)
{
  static const char *const members[] = {"id", "kind", "polygon", NULL};
  char sub[PATH_MAX_LEN + 16];
  int rc = check_members(obj, members, where, path, err);
  if (rc == 0)
    rc = parse_id(obj, seen, where, path, &z->id, err);
  JsonNode *kind = rc == 0 ? required(obj, "kind", where, path, &rc, err) : NULL;
  JsonNode *poly = rc == 0 ? required(obj, "polygon", where, path, &rc, err) : NULL;
  if (rc == 0) {
    const char *k = JSON_NODE_HOLDS_VALUE(kind) && json_node_get_value_type(kind) == G_TYPE_STRING
                        ? json_node_get_string(kind)
                        : "";
    if (strcmp(k, "congestion") == 0)
      z->kind = CW_ZONE_CONGESTION;
    else if (strcmp(k, "no_stopping") == 0)
      z->kind = CW_ZONE_NO_STOPPING;
    else {
      g_snprintf(sub, sizeof sub, "%s.kind", path);
      rc = fail(err, where, sub, "expected \"congestion\" or \"no_stopping\"");
    }
  }
  if (rc == 0) {
    g_snprintf(sub, sizeof sub, "%s.polygon", path);
    rc = parse_polygon(poly, where, sub, &z->polygon, err);
  }
  return rc;
}

typedef enum { ITEM_LINE, ITEM_LANE, ITEM_ZONE } item_kind_t;

static int
parse_list(JsonObject *root, const char *name, item_kind_t kind, GPtrArray *out, const char *where,
           cw_error_t *err)
{
  JsonNode *n = json_object_get_member(root, name);
  if (!n || JSON_NODE_HOLDS_NULL(n))
    return 0;
  if (!JSON_NODE_HOLDS_ARRAY(n))
    return fail(err, where, name, "expected an array");
  JsonArray *a = json_node_get_array(n);
  guint len = json_array_get_length(a);
  if (len > CONFIG_MAX_ITEMS) {
    char reason[64];
    g_snprintf(reason, sizeof reason, "more than %d items", CONFIG_MAX_ITEMS);
    return fail(err, where, name, reason);
  }
  GPtrArray *seen = g_ptr_array_new(); /* ids, borrowed from the items */
  int rc = 0;
  for (guint i = 0; i < len && rc == 0; i++) {
    char path[PATH_MAX_LEN];
    g_snprintf(path, sizeof path, "%s[%u]", name, i);
    JsonNode *item = json_array_get_element(a, i);
    if (!JSON_NODE_HOLDS_OBJECT(item)) {
      rc = fail(err, where, path, "expected an object");
      break;
    }
    JsonObject *obj = json_node_get_object(item);
    if (kind == ITEM_LINE) {
      cw_line_cfg_t *l = g_new0(cw_line_cfg_t, 1);
      g_ptr_array_add(out, l);
      rc = parse_line(obj, seen, where, path, l, err);
    } else if (kind == ITEM_LANE) {
      cw_lane_cfg_t *l = g_new0(cw_lane_cfg_t, 1);
      g_ptr_array_add(out, l);
      rc = parse_lane(obj, seen, where, path, l, err);
    } else {
      cw_zone_cfg_t *z = g_new0(cw_zone_cfg_t, 1);
      g_ptr_array_add(out, z);
      rc = parse_zone(obj, seen, where, path, z, err);
    }
  }
  g_ptr_array_unref(seen);
  return rc;
}

static int
parse_thresholds(JsonObject *root, cw_thresholds_t *t, const char *where, cw_error_t *err)
{
  JsonNode *n = json_object_get_member(root, "thresholds");
  if (!n || JSON_NODE_HOLDS_NULL(n))
    return 0;
  if (!JSON_NODE_HOLDS_OBJECT(n))
    return fail(err, where, "thresholds", "expected an object");
  JsonObject *obj = json_node_get_object(n);
  int rc = 0;
  GList *names = json_object_get_members(obj);
  for (GList *l = names; l && rc == 0; l = l->next) {
    const char *name = l->data;
    const threshold_spec_t *spec = NULL;
    for (gsize i = 0; i < G_N_ELEMENTS(threshold_specs) && !spec; i++)
      if (strcmp(threshold_specs[i].name, name) == 0)
        spec = &threshold_specs[i];
    char *q = cw_error_quote(name);
    char path[PATH_MAX_LEN + 80];
    g_snprintf(path, sizeof path, "thresholds.%s", q);
    g_free(q);
    double v;
    char reason[96];
    if (!spec) {
      rc = fail(err, where, path, "unknown member");
    } else if (!node_number(json_object_get_member(obj, name), &v)) {
      rc = fail(err, where, path, "expected a number");
    } else if ((spec->min_inclusive ? v < spec->min : v <= spec->min) || v > spec->max) {
      g_snprintf(reason, sizeof reason, "must be %s %g and <= %g, not %g",
                 spec->min_inclusive ? ">=" : ">", spec->min, spec->max, v);
      rc = fail(err, where, path, reason);
    } else {
      *threshold_field(t, spec) = (float)v;
    }
  }
  g_list_free(names);
  if (rc < 0)
    return rc;

  /* Relations between thresholds: the levels must be ordered. */
  char reason[128];
  if (t->heavy_occupancy >= t->jammed_occupancy) {
    g_snprintf(reason, sizeof reason, "must be less than jammed_occupancy (%g)",
               t->jammed_occupancy);
    return fail(err, where, "thresholds.heavy_occupancy", reason);
  }
  if (t->jammed_speed >= t->heavy_speed) {
    g_snprintf(reason, sizeof reason, "must be less than heavy_speed (%g)", t->heavy_speed);
    return fail(err, where, "thresholds.jammed_speed", reason);
  }
  return 0;
}

int
cw_analytics_config_parse(const char *json, const char *where, cw_analytics_config_t **out,
                          cw_error_t *err)
{
  static const char *const members[] = {"lines", "lanes", "zones", "thresholds", NULL};
  JsonParser *parser = NULL;
  GError *gerr = NULL;
  int rc = 0;
  if (!where || !where[0])
    where = "analytics config";
  *out = NULL;

  cw_analytics_config_t *c = g_new0(cw_analytics_config_t, 1);
  c->lines = g_ptr_array_new_with_free_func(line_free);
  c->lanes = g_ptr_array_new_with_free_func(lane_free);
  c->zones = g_ptr_array_new_with_free_func(zone_free);
  for (gsize i = 0; i < G_N_ELEMENTS(threshold_specs); i++)
    *threshold_field(&c->t, &threshold_specs[i]) = threshold_specs[i].def;

  size_t len = json ? strlen(json) : 0;
  if (len > CONFIG_MAX_BYTES) {
    char reason[64];
    g_snprintf(reason, sizeof reason, "larger than %d bytes", CONFIG_MAX_BYTES);
    rc = fail(err, where, NULL, reason);
    goto out;
  }
  if (!json || json[strspn(json, " \t\r\n")] == '\0')
    goto out; /* empty: picture health only */

  parser = json_parser_new();
  if (!json_parser_load_from_data(parser, json, (gssize)len, &gerr)) {
    char *q = cw_error_quote(gerr->message);
    rc = cw_error_set(err, -EINVAL, "%s: invalid JSON: %s", where, q);
    g_free(q);
    goto out;
  }
  JsonNode *root = json_parser_get_root(parser);
  if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
    rc = fail(err, where, NULL, "expected a JSON object");
    goto out;
  }
  JsonObject *obj = json_node_get_object(root);
  rc = check_members(obj, members, where, "", err);
  if (rc == 0)
    rc = parse_list(obj, "lines", ITEM_LINE, c->lines, where, err);
  if (rc == 0)
    rc = parse_list(obj, "lanes", ITEM_LANE, c->lanes, where, err);
  if (rc == 0)
    rc = parse_list(obj, "zones", ITEM_ZONE, c->zones, where, err);
  if (rc == 0)
    rc = parse_thresholds(obj, &c->t, where, err);

out:
  if (gerr)
    g_error_free(gerr);
  if (parser)
    g_object_unref(parser);
  if (rc < 0)
    cw_analytics_config_free(c);
  else
    *out = c;
  return rc;
}

void
cw_analytics_config_free(cw_analytics_config_t *c)
{
  if (!c)
    return;
  g_ptr_array_unref(c->lines);
  g_ptr_array_unref(c->lanes);
  g_ptr_array_unref(c->zones);
  g_free(c);
}

gboolean
cw_polygon_contains(const GArray *polygon, cw_point_t p)
{
  gboolean inside = FALSE;
  if (!polygon || polygon->len < 3)
    return FALSE;
  const cw_point_t *v = (const cw_point_t *)(const void *)polygon->data;
  for (guint i = 0, j = polygon->len - 1; i < polygon->len; j = i++) {
    if ((v[i].y > p.y) != (v[j].y > p.y) &&
        p.x < (v[j].x - v[i].x) * (p.y - v[i].y) / (v[j].y - v[i].y) + v[i].x)
      inside = !inside;
  }
  return inside;
}
