/* Unit tests for storage/segment.c: the footage file layout (relative path
 * by camera, day and hour) and its inverse, which crash recovery trusts to
 * tell footage from stray files; and the [recording] quota syntax. */
#include "segment.h"

#include <errno.h>
#include <string.h>

static void
test_relpath_layout(void)
{
  /* 2026-11-29T14:05:09.123Z */
  gint64 t = G_GINT64_CONSTANT(1795961109123456);
  char *rel = cw_segment_relpath(42, t);
  g_assert_cmpstr(rel, ==, "42/2026-11-29/14/42-20261129T140509.123Z.mp4");
  gint64 cam = 0, start = 0;
  g_assert_cmpint(cw_segment_relpath_parse(rel, &cam, &start), ==, 0);
  g_assert_cmpint(cam, ==, 42);
  g_assert_cmpint(start, ==, t - 456); /* milliseconds in the name */
  char *part = g_strconcat(rel, ".part", NULL);
  g_assert_cmpint(cw_segment_relpath_parse(part, &cam, &start), ==, 0);
  g_free(part);
  g_free(rel);
}

static void
test_relpath_refuses_strays(void)
{
  static const char *const cases[] = {
      "42/2026-11-29/14/notes.txt",
      "42/2026-11-29/14/42-20261129T140509.123Z.mp4.tmp",
      "42/2026-11-29/14/42-20261129T140509.123Z.mkv",
      "42/2026-11-29/14/42-20261329T140509.123Z.mp4", /* month 13 */
      "42/2026-11-29/14/42-2026112T140509.123Z.mp4",
      "42/2026-11-29/14/0-20261129T140509.123Z.mp4",
      "42/2026-11-29/14/-5-20261129T140509.123Z.mp4",
      "",
  };
  for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
    gint64 cam, start;
    g_assert_cmpint(cw_segment_relpath_parse(cases[i], &cam, &start), ==, -EINVAL);
  }
}

static void
test_quota(void)
{
  gint64 b;
  double p;
  cw_error_t err;
  g_assert_cmpint(cw_quota_parse("0", &b, &p, &err), ==, 0);
  g_assert_cmpint(b, ==, 0);
  g_assert_cmpfloat(p, ==, 0);
  g_assert_cmpint(cw_quota_parse("90%", &b, &p, &err), ==, 0);
  g_assert_cmpfloat(p, ==, 90);
  g_assert_cmpint(b, ==, 0);
  g_assert_cmpint(cw_quota_parse("500G", &b, &p, &err), ==, 0);
  g_assert_cmpint(b, ==, G_GINT64_CONSTANT(500) << 30);
  g_assert_cmpint(cw_quota_parse("1.5t", &b, &p, &err), ==, 0);
  g_assert_cmpint(b, ==, G_GINT64_CONSTANT(3) << 39);
  g_assert_cmpint(cw_quota_parse("2097152", &b, &p, &err), ==, 0);
  g_assert_cmpint(b, ==, 2097152);
  static const char *const bad[] = {"", "lots", "0%", "101%", "5X", "5GB", "100", "-1G", "nan"};
  for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
    g_assert_cmpint(cw_quota_parse(bad[i], &b, &p, &err), ==, -EINVAL);
    g_assert_true(g_str_has_prefix(err.msg, "quota: "));
  }
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/segment/relpath_layout", test_relpath_layout);
  g_test_add_func("/segment/relpath_refuses_strays", test_relpath_refuses_strays);
  g_test_add_func("/segment/quota", test_quota);
  return g_test_run();
}
