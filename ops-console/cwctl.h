/* cwctl internals shared by its command files. Not a public API. */
#ifndef CWCTL_H
#define CWCTL_H

#include <glib.h>
#include <libpq-fe.h>

#include "config.h"
#include "cw_error.h"

/* Exit statuses: scripts tell bad usage from a failed operation. */
#define CWCTL_OK 0
#define CWCTL_FAILED 1
#define CWCTL_USAGE 2

typedef struct {
  char *config_path;      /* -c FILE, owned */
  char *db;               /* --db CONNINFO, owned */
  gboolean config_failed; /* the file was named but is bad: exit 1, not 2 */
  cw_config_t *cfg;
  PGconn *conn; /* opened on first use */
} cwctl_t;

/* Opens the database (once). Prints the error and returns NULL on failure. */
PGconn *cwctl_db(cwctl_t *ctl);

/* Parses argv with the verb's own entries plus the global ones. Prints the
 * error and returns FALSE on bad usage. positional must be the count of
 * arguments the verb takes after its options (-1: any). */
gboolean cwctl_parse(cwctl_t *ctl, int *argc, char ***argv, const char *usage,
                     const GOptionEntry *entries, int positional);

/* Prints JSON values (one JSON text each) as a pretty array, or one pretty
 * object when single. */
void cwctl_print_json(GPtrArray *texts, gboolean single);

/* Reports an error on stderr as "cwctl: message". Returns CWCTL_FAILED. */
int cwctl_fail(const cw_error_t *err);

int cwctl_camera(cwctl_t *ctl, const char *verb, int argc, char **argv);
/* camera analytics (cwctl_analytics.c). */
int cwctl_camera_analytics(cwctl_t *ctl, int argc, char **argv);
int cwctl_user(cwctl_t *ctl, const char *verb, int argc, char **argv);
int cwctl_db_cmd(cwctl_t *ctl, const char *verb, int argc, char **argv);
int cwctl_audit(cwctl_t *ctl, const char *verb, int argc, char **argv);
/* --camera: an id, or a name looked up in the registry (a removed
 * camera's footage is still reached by its id). err is prefixed "--camera". */
int cwctl_camera_id(PGconn *conn, const char *text, gint64 *id, cw_error_t *err);
/* footage find|hold|release (cwctl_footage.c) hands export and verify to
 * cwctl_export.c. */
int cwctl_footage(cwctl_t *ctl, const char *verb, int argc, char **argv);
int cwctl_footage_export(cwctl_t *ctl, int argc, char **argv);
int cwctl_footage_verify(cwctl_t *ctl, int argc, char **argv);
int cwctl_alerts(cwctl_t *ctl, const char *verb, int argc, char **argv);
/* `cwctl status` has no verb: argv still holds its options. */
int cwctl_status(cwctl_t *ctl, int argc, char **argv);

#endif
