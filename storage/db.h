/* Blocking libpq helpers for start-up checks and the CLI.
 *
 * The daemon's steady-state writers use libpq non-blocking on a libuv loop
 * (later issues); these are for short, one-shot work. Connection strings
 * follow libpq's conventions: "" means the PG* environment variables. */
#ifndef CW_DB_H
#define CW_DB_H

#include <libpq-fe.h>

#include "cw_error.h"

/* Connects and checks the server answers. application_name names the
 * program in pg_stat_activity. Returns NULL with err filled on failure. The
 * caller owns the connection (PQfinish). */
PGconn *cw_db_connect(const char *conninfo, const char *application_name, cw_error_t *err);

/* Runs one parameterless command; fails unless it returns COMMAND_OK or
 * TUPLES_OK. The result is cleared. */
int cw_db_exec(PGconn *conn, const char *sql, cw_error_t *err);

/* Checks a result: returns 0 if its status is expected, else fills err with
 * the server's message and detail (never the parameters) and returns -EIO.
 * Does not clear res. */
int cw_db_check(PGconn *conn, PGresult *res, ExecStatusType expected, cw_error_t *err);

/* SQLSTATE of a failed result, or "" */
const char *cw_db_sqlstate(const PGresult *res);

#endif
