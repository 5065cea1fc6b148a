/* Small pieces the C tests share (header-only): times written as in the
 * CLI, a database of the test's own, and a tmpfs of the test's own. */
#ifndef CW_TEST_SUPPORT_H
#define CW_TEST_SUPPORT_H

#include <errno.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "timeutil.h"

#define CW_TEST_SEC G_GINT64_CONSTANT(1000000)
#define CW_TEST_MINUTE (60 * CW_TEST_SEC)
#define CW_TEST_HOUR (60 * CW_TEST_MINUTE)
#define CW_TEST_DAY (24 * CW_TEST_HOUR)

/* µs since the epoch of an ISO 8601 time with a zone; a bad one is a bug
 * in the test. */
static inline gint64
cw_test_time(const char *iso)
{
  gint64 us = 0;
  cw_error_t err;
  if (cw_time_parse(iso, &us, &err) < 0)
    g_error("%s", err.msg);
  return us;
}

/* A tmpfs of SIZE ("256k", "1m") mounted on a new folder, in a mount
 * namespace of the process's own, so it goes away with the process however
 * the test ends. NULL, with the case marked skipped and why, where that
 * cannot be done (not root, or mounting not allowed). */
static inline char *
cw_test_private_tmpfs(const char *prefix, const char *size)
{
  if (geteuid() != 0) {
    g_test_skip("needs root to mount a small tmpfs");
    return NULL;
  }
  char *tmpl = g_strdup_printf("%s-XXXXXX", prefix);
  char *mnt = g_dir_make_tmp(tmpl, NULL);
  g_free(tmpl);
  char *opts = g_strdup_printf("size=%s", size);
  gboolean ok = mnt && unshare(CLONE_NEWNS) == 0 &&
                mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
                mount("tmpfs", mnt, "tmpfs", 0, opts) == 0;
  g_free(opts);
  if (!ok) {
    char *why = g_strdup_printf("cannot mount a tmpfs of %s: %s", size, g_strerror(errno));
    g_test_skip(why);
    g_free(why);
    if (mnt)
      g_rmdir(mnt);
    g_free(mnt);
    return NULL;
  }
  return mnt;
}

#endif
