/* Fuzzes analytics/analytics_config.c: a camera's analytics configuration
 * is JSON an engineer (or an import) hands the node. A parse either gives
 * a configuration analytics can run on (every line, lane and zone well
 * formed, thresholds in range) or refuses with "fuzz: member: reason" and
 * gives no configuration. */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "analytics_config.h"
#include "fuzz.h"

static gboolean
in_frame(cw_point_t p)
{
  return isfinite(p.x) && isfinite(p.y) && p.x >= 0 && p.x <= 1 && p.y >= 0 && p.y <= 1;
}

static void
check_polygon(const GArray *poly)
{
  FUZZ_CHECK(poly && poly->len >= 3);
  for (guint i = 0; i < poly->len; i++)
    FUZZ_CHECK(in_frame(g_array_index(poly, cw_point_t, i)));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  /* The parser takes text: a NUL ends it, as it would any C string. */
  char *text = g_strndup((const char *)data, size);
  cw_analytics_config_t *const untouched = (cw_analytics_config_t *)&untouched;
  cw_analytics_config_t *cfg = untouched;
  cw_error_t err = {0};
  int rc = cw_analytics_config_parse(text, "fuzz", &cfg, &err);
  if (rc == 0) {
    FUZZ_CHECK(cfg != untouched && cfg != NULL);
    for (guint i = 0; i < cfg->lines->len; i++) {
      const cw_line_cfg_t *l = cfg->lines->pdata[i];
      FUZZ_CHECK(l->id && in_frame(l->from) && in_frame(l->to));
    }
    for (guint i = 0; i < cfg->lanes->len; i++) {
      const cw_lane_cfg_t *l = cfg->lanes->pdata[i];
      FUZZ_CHECK(l->id);
      check_polygon(l->polygon);
      float n = hypotf(l->direction.x, l->direction.y);
      FUZZ_CHECK(fabsf(n - 1) < 1e-3f);
    }
    for (guint i = 0; i < cfg->zones->len; i++) {
      const cw_zone_cfg_t *z = cfg->zones->pdata[i];
      FUZZ_CHECK(z->id && (z->kind == CW_ZONE_CONGESTION || z->kind == CW_ZONE_NO_STOPPING));
      check_polygon(z->polygon);
      cw_polygon_contains(z->polygon, (cw_point_t){0.5f, 0.5f});
    }
    FUZZ_CHECK(cfg->t.stopped_s > 0 && cfg->t.analysis_fps > 0 && cfg->t.count_interval_s >= 1);
    FUZZ_CHECK(cfg->t.heavy_occupancy < cfg->t.jammed_occupancy);
    cw_analytics_config_free(cfg);
  } else {
    FUZZ_CHECK(rc < 0);
    FUZZ_CHECK(cfg == untouched || cfg == NULL);
    FUZZ_CHECK(g_str_has_prefix(err.msg, "fuzz") && strlen(err.msg) > strlen("fuzz: "));
  }
  g_free(text);
  return 0;
}
