/* The audit log: append-only, hash-chained in PostgreSQL (see
 * storage/sql/001_foundation.sql). Writers insert through the same statement
 * as the change they record; this header holds the shared pieces. */
#ifndef CW_AUDIT_H
#define CW_AUDIT_H

#include <libpq-fe.h>

#include "cw_error.h"

/* The actor for command-line changes: "cli:<OS user>" (with sudo, also the
 * invoking user: "cli:root (sudo by alice)"). A new string. */
char *cw_audit_cli_actor(void);

/* Walks the chain. *rows gets the row count; when a row breaks the chain
 * returns -EBADMSG with err naming its id and why. */
int cw_audit_verify(PGconn *conn, gint64 *rows, cw_error_t *err);

#endif
