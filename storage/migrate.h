/* Schema migrations: storage/sql/NNN_name.sql, embedded at build time,
 * applied in order, each in its own transaction, and recorded with its
 * checksum in schema_migrations. */
#ifndef CW_MIGRATE_H
#define CW_MIGRATE_H

#include <libpq-fe.h>

#include "cw_error.h"

typedef struct {
  int version;
  const char *name;   /* file name, e.g. "001_foundation.sql" */
  const char *sha256; /* hex digest of the file */
  const char *sql;
} cw_migration_t;

extern const cw_migration_t cw_migrations[];
extern const int cw_migrations_count;

/* Applies every pending migration. Holds an advisory lock so two migrators
 * never interleave; a no-op when the database is current. *applied gets the
 * count applied now. Refuses (-ESTALE) a database that has a migration this
 * build does not know, or whose applied file was changed afterwards. */
int cw_migrate_apply(PGconn *conn, const char *applied_by, int *applied, cw_error_t *err);

/* 0 when the database is exactly at this build's schema; otherwise -ESTALE
 * with a message saying what is wrong and what to run. */
int cw_migrate_check(PGconn *conn, cw_error_t *err);

#endif
