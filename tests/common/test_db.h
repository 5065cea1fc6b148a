/* The database of a C test (header-only): the one tests/harness/with-pg
 * hands it through the PG* variables, migrated to this build's schema. */
#ifndef CW_TEST_DB_H
#define CW_TEST_DB_H

#include <glib.h>

#include "db.h"
#include "migrate.h"

static inline PGconn *
cw_test_db(const char *app)
{
  cw_error_t err;
  PGconn *conn = cw_db_connect("", app, &err);
  if (!conn)
    g_error("%s (run under tests/harness/with-pg)", err.msg);
  int applied = 0;
  if (cw_migrate_apply(conn, app, &applied, &err) < 0)
    g_error("migrate: %s", err.msg);
  return conn;
}

#endif
