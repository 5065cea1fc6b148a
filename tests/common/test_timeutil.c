/* Unit tests for common/timeutil.c: ISO 8601 times with a zone in, UTC with
 * microseconds out, and times without a zone refused. */
#include "timeutil.h"

#include <errno.h>
#include <string.h>

typedef struct {
  const char *text;
  gint64 us;
} good_t;

static void
test_parse_good(void)
{
  static const good_t cases[] = {
      {"1970-01-01T00:00:00Z", 0},
      {"2026-11-29T14:00:00Z", G_GINT64_CONSTANT(1795960800000000)},
      {"2026-11-29T15:00:00+01:00", G_GINT64_CONSTANT(1795960800000000)},
      {"2026-11-29T14:00:00.25Z", G_GINT64_CONSTANT(1795960800250000)},
      {"2026-11-29T09:30:00-04:30", G_GINT64_CONSTANT(1795960800000000)},
  };
  for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
    gint64 us = -1;
    cw_error_t err;
    g_assert_cmpint(cw_time_parse(cases[i].text, &us, &err), ==, 0);
    g_assert_cmpint(us, ==, cases[i].us);
  }
}

static void
test_parse_refused(void)
{
  static const char *const cases[] = {"2026-11-29T14:00:00", "2026-11-29", "14:00Z",
                                      "yesterday",           "",           "2026-13-01T00:00:00Z"};
  for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
    gint64 us = 0;
    cw_error_t err;
    g_assert_cmpint(cw_time_parse(cases[i], &us, &err), ==, -EINVAL);
    if (*cases[i])
      g_assert_nonnull(strstr(err.msg, cases[i]));
    g_assert_nonnull(strstr(err.msg, "zone"));
  }
}

static void
test_format_round_trips(void)
{
  static const gint64 cases[] = {0, 1, 999999, G_GINT64_CONSTANT(1795960800123456), -1500000};
  for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
    char *text = cw_time_format(cases[i]);
    g_assert_true(g_str_has_suffix(text, "Z"));
    gint64 back = 0;
    cw_error_t err;
    g_assert_cmpint(cw_time_parse(text, &back, &err), ==, 0);
    g_assert_cmpint(back, ==, cases[i]);
    g_free(text);
  }
  char *text = cw_time_format(G_GINT64_CONSTANT(1795960800123456));
  g_assert_cmpstr(text, ==, "2026-11-29T14:00:00.123456Z");
  g_free(text);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/timeutil/parse_good", test_parse_good);
  g_test_add_func("/timeutil/parse_refused", test_parse_refused);
  g_test_add_func("/timeutil/format_round_trips", test_format_round_trips);
  return g_test_run();
}
