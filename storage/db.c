#include "db.h"

#include <errno.h>
#include <string.h>

#include <glib.h>

PGconn *
cw_db_connect(const char *conninfo, const char *application_name, cw_error_t *err)
{
  const char *keys[] = {"dbname", "application_name", "fallback_application_name", NULL};
  const char *vals[] = {conninfo ? conninfo : "", application_name, application_name, NULL};
  /* expand_dbname: the conninfo string (or URI) may set any parameter;
   * application_name only fills in what it leaves unset. */
  PGconn *conn = PQconnectdbParams(keys, vals, 1);
  if (!conn) {
    cw_error_set(err, -ENOMEM, "database: out of memory");
    return NULL;
  }
  if (PQstatus(conn) != CONNECTION_OK) {
    char *msg = g_strstrip(g_strdup(PQerrorMessage(conn)));
    cw_error_set(err, -ECONNREFUSED, "database: cannot connect: %s", msg);
    g_free(msg);
    PQfinish(conn);
    return NULL;
  }
  return conn;
}

int
cw_db_check(PGconn *conn, PGresult *res, ExecStatusType expected, cw_error_t *err)
{
  if (res && PQresultStatus(res) == expected)
    return 0;
  const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
  const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
  char *fallback = g_strstrip(g_strdup(PQerrorMessage(conn)));
  cw_error_set(err, -EIO, "database: %s%s%s", primary ? primary : fallback, detail ? " (" : "",
               detail ? detail : "");
  if (detail && err)
    g_strlcat(err->msg, ")", sizeof err->msg);
  g_free(fallback);
  return -EIO;
}

int
cw_db_exec(PGconn *conn, const char *sql, cw_error_t *err)
{
  PGresult *res = PQexec(conn, sql);
  int rc = 0;
  if (PQresultStatus(res) != PGRES_TUPLES_OK)
    rc = cw_db_check(conn, res, PGRES_COMMAND_OK, err);
  PQclear(res);
  return rc;
}

const char *
cw_db_sqlstate(const PGresult *res)
{
  const char *s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
  return s ? s : "";
}
