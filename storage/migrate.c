#include "migrate.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "db.h"

/* pg_advisory_lock key: serialises migrators across the whole cluster. */
#define MIGRATE_LOCK "7261, 0"

static const char create_table_sql[] = "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                       " version integer PRIMARY KEY,"
                                       " name text NOT NULL,"
                                       " sha256 text NOT NULL,"
                                       " applied_at timestamptz NOT NULL DEFAULT now(),"
                                       " applied_by text NOT NULL)";

/* Reads what is applied: fills applied_max and checks every applied row
 * against the embedded file of the same number. */
static int
read_applied(PGconn *conn, int *applied_max, cw_error_t *err)
{
  int rc = 0;
  *applied_max = 0;
  PGresult *res = PQexec(conn, "SELECT to_regclass('schema_migrations') IS NOT NULL");
  if ((rc = cw_db_check(conn, res, PGRES_TUPLES_OK, err)) < 0)
    goto out;
  if (strcmp(PQgetvalue(res, 0, 0), "t") != 0)
    goto out; /* an empty database: nothing applied yet */
  PQclear(res);
  res = PQexec(conn, "SELECT version, name, sha256 FROM schema_migrations ORDER BY version");
  if ((rc = cw_db_check(conn, res, PGRES_TUPLES_OK, err)) < 0)
    goto out;
  for (int i = 0; i < PQntuples(res); i++) {
    int v = atoi(PQgetvalue(res, i, 0));
    if (v < 1 || v > cw_migrations_count) {
      rc = cw_error_set(err, -ESTALE,
                        "database has migration %d (%s), newer than this build, which knows up "
                        "to %d: upgrade citywatch before using this database",
                        v, PQgetvalue(res, i, 1), cw_migrations_count);
      goto out;
    }
    const cw_migration_t *m = &cw_migrations[v - 1];
    if (strcmp(PQgetvalue(res, i, 2), m->sha256) != 0) {
      rc = cw_error_set(err, -ESTALE,
                        "migration %s was changed after it was applied (checksum differs); "
                        "restore it and put the change in a new numbered file",
                        m->name);
      goto out;
    }
    if (v != i + 1) {
      rc = cw_error_set(err, -ESTALE, "schema_migrations skips migration %d", i + 1);
      goto out;
    }
    *applied_max = v;
  }
out:
  PQclear(res);
  return rc;
}

static int
apply_one(PGconn *conn, const cw_migration_t *m, const char *applied_by, cw_error_t *err)
{
  int rc = cw_db_exec(conn, "BEGIN", err);
  if (rc < 0)
    return rc;
  PGresult *res = PQexec(conn, m->sql);
  if ((rc = cw_db_check(conn, res,
                        PQresultStatus(res) == PGRES_TUPLES_OK ? PGRES_TUPLES_OK : PGRES_COMMAND_OK,
                        err)) < 0) {
    cw_error_prefix(err, "migration %s failed, nothing from it was applied", m->name);
    goto out;
  }
  PQclear(res);
  char version[16];
  g_snprintf(version, sizeof version, "%d", m->version);
  const char *params[] = {version, m->name, m->sha256, applied_by};
  res = PQexecParams(conn,
                     "INSERT INTO schema_migrations (version, name, sha256, applied_by)"
                     " VALUES ($1, $2, $3, $4)",
                     4, NULL, params, NULL, NULL, 0);
  if ((rc = cw_db_check(conn, res, PGRES_COMMAND_OK, err)) < 0)
    goto out;
  rc = cw_db_exec(conn, "COMMIT", err);
out:
  PQclear(res);
  if (rc < 0) {
    PGresult *rb = PQexec(conn, "ROLLBACK");
    PQclear(rb);
  }
  return rc;
}

int
cw_migrate_apply(PGconn *conn, const char *applied_by, int *applied, cw_error_t *err)
{
  *applied = 0;
  int rc = cw_db_exec(conn, "SELECT pg_advisory_lock(" MIGRATE_LOCK ")", err);
  if (rc < 0)
    return rc;
  /* Quiet the NOTICE "relation already exists, skipping" on every run. */
  if ((rc = cw_db_exec(conn, "SET client_min_messages = warning", err)) < 0 ||
      (rc = cw_db_exec(conn, create_table_sql, err)) < 0)
    goto out;
  int have = 0;
  if ((rc = read_applied(conn, &have, err)) < 0)
    goto out;
  for (int v = have + 1; v <= cw_migrations_count; v++) {
    if ((rc = apply_one(conn, &cw_migrations[v - 1], applied_by, err)) < 0)
      goto out;
    (*applied)++;
  }
out:;
  cw_error_t ignored;
  cw_db_exec(conn, "SELECT pg_advisory_unlock(" MIGRATE_LOCK ")", &ignored);
  return rc;
}

int
cw_migrate_check(PGconn *conn, cw_error_t *err)
{
  int have = 0;
  int rc = read_applied(conn, &have, err);
  if (rc < 0)
    return rc;
  if (have == 0)
    return cw_error_set(err, -ESTALE,
                        "database has no citywatch schema yet: run `cwctl db migrate`");
  if (have < cw_migrations_count)
    return cw_error_set(err, -ESTALE,
                        "database schema is at migration %d but this build needs %d (%s): run "
                        "`cwctl db migrate`",
                        have, cw_migrations_count, cw_migrations[cw_migrations_count - 1].name);
  return 0;
}
