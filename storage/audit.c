#include "audit.h"

#include <errno.h>
#include <pwd.h>
#include <unistd.h>

#include <glib.h>

#include "db.h"

char *
cw_audit_cli_actor(void)
{
  struct passwd pw, *found = NULL;
  char buf[1024];
  const char *name = NULL;
  if (getpwuid_r(geteuid(), &pw, buf, sizeof buf, &found) == 0 && found)
    name = found->pw_name;
  char *who = name ? g_strdup(name) : g_strdup_printf("uid %ld", (long)geteuid());
  const char *sudo = g_getenv("SUDO_USER");
  char *actor = sudo && *sudo ? g_strdup_printf("cli:%s (sudo by %s)", who, sudo)
                              : g_strdup_printf("cli:%s", who);
  g_free(who);
  return actor;
}

int
cw_audit_verify(PGconn *conn, gint64 *rows, cw_error_t *err)
{
  PGresult *res = PQexec(conn, "SELECT (SELECT count(*) FROM audit_log), b.id, b.reason"
                               " FROM (SELECT 1) one LEFT JOIN audit_log_first_broken() b ON true");
  int rc = cw_db_check(conn, res, PGRES_TUPLES_OK, err);
  if (rc == 0) {
    *rows = g_ascii_strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    if (!PQgetisnull(res, 0, 1))
      rc = cw_error_set(err, -EBADMSG, "audit_log row %s: %s", PQgetvalue(res, 0, 1),
                        PQgetvalue(res, 0, 2));
  }
  PQclear(res);
  return rc;
}
