/* cwctl db migrate; cwctl audit verify */
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "cwctl.h"
#include "migrate.h"

int
cwctl_db_cmd(cwctl_t *ctl, const char *verb, int argc, char **argv)
{
  if (strcmp(verb, "migrate") != 0) {
    fprintf(stderr, "cwctl: unknown db command '%s' (migrate)\n", verb);
    return CWCTL_USAGE;
  }
  if (!cwctl_parse(ctl, &argc, &argv, "db migrate", NULL, 0))
    return CWCTL_USAGE;
  PGconn *conn = cwctl_db(ctl);
  if (!conn)
    return CWCTL_FAILED;
  char *actor = cw_audit_cli_actor();
  int applied = 0;
  cw_error_t err;
  int rc = cw_migrate_apply(conn, actor, &applied, &err);
  g_free(actor);
  if (rc < 0)
    return cwctl_fail(&err);
  if (applied == 0)
    printf("database is up to date (migration %d, %s)\n", cw_migrations_count,
           cw_migrations[cw_migrations_count - 1].name);
  else
    printf("applied %d migration%s; database now at migration %d (%s)\n", applied,
           applied == 1 ? "" : "s", cw_migrations_count,
           cw_migrations[cw_migrations_count - 1].name);
  return CWCTL_OK;
}

int
cwctl_audit(cwctl_t *ctl, const char *verb, int argc, char **argv)
{
  if (strcmp(verb, "verify") != 0) {
    fprintf(stderr, "cwctl: unknown audit command '%s' (verify)\n", verb);
    return CWCTL_USAGE;
  }
  if (!cwctl_parse(ctl, &argc, &argv, "audit verify", NULL, 0))
    return CWCTL_USAGE;
  PGconn *conn = cwctl_db(ctl);
  if (!conn)
    return CWCTL_FAILED;
  gint64 rows = 0;
  cw_error_t err;
  if (cw_audit_verify(conn, &rows, &err) < 0)
    return cwctl_fail(&err);
  printf("audit log intact: %" G_GINT64_FORMAT " rows, hash chain verified\n", rows);
  return CWCTL_OK;
}
