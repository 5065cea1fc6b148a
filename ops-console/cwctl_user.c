/* cwctl user add|list */
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "audit.h"
#include "cwctl.h"
#include "secret.h"
#include "user_store.h"

/* One line from standard input; on a terminal, asked for without echo. */
static char *
read_password(const char *prompt)
{
  gboolean tty = isatty(STDIN_FILENO);
  struct termios saved, quiet;
  if (tty && tcgetattr(STDIN_FILENO, &saved) == 0) {
    fputs(prompt, stderr);
    quiet = saved;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  } else {
    tty = FALSE;
  }
  GString *s = g_string_new(NULL);
  int c;
  while ((c = getchar()) != EOF && c != '\n' && s->len <= CW_USER_PASSWORD_MAX)
    g_string_append_c(s, (char)c);
  if (s->len > 0 && s->str[s->len - 1] == '\r')
    g_string_truncate(s, s->len - 1);
  if (tty) {
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    fputc('\n', stderr);
  }
  return g_string_free(s, FALSE);
}

static int
cmd_add(cwctl_t *ctl, int argc, char **argv)
{
  char *role = NULL;
  GOptionEntry entries[] = {{"role", 0, 0, G_OPTION_ARG_STRING, &role,
                             "operator, investigator, engineer, admin or auditor", "ROLE"},
                            G_OPTION_ENTRY_NULL};
  int rc = CWCTL_USAGE;
  char *password = NULL, *again = NULL, *actor = NULL;
  cw_error_t err;
  if (!cwctl_parse(ctl, &argc, &argv, "user add NAME --role ROLE  (password on standard input)",
                   entries, 1))
    goto out;
  rc = CWCTL_FAILED;
  /* Check what we can before asking for a password. */
  if (cw_user_name_check(argv[1], &err) < 0 || cw_user_role_check(role, &err) < 0) {
    rc = cwctl_fail(&err);
    goto out;
  }
  password = read_password("Password: ");
  if (isatty(STDIN_FILENO)) {
    again = read_password("Again: ");
    if (strcmp(password, again) != 0) {
      fprintf(stderr, "cwctl: password: the two entries differ\n");
      goto out;
    }
  }
  PGconn *conn = cwctl_db(ctl);
  if (!conn)
    goto out;
  actor = cw_audit_cli_actor();
  if (cw_user_store_add(conn, argv[1], role, password, actor, &err) < 0) {
    rc = cwctl_fail(&err);
    goto out;
  }
  printf("added user %s (%s)\n", argv[1], role);
  rc = CWCTL_OK;
out:
  g_free(actor);
  cw_secret_wipe_free(password);
  cw_secret_wipe_free(again);
  g_free(role);
  return rc;
}

static int
cmd_list(cwctl_t *ctl, int argc, char **argv)
{
  gboolean json = FALSE;
  GOptionEntry entries[] = {{"json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL},
                            G_OPTION_ENTRY_NULL};
  if (!cwctl_parse(ctl, &argc, &argv, "user list [--json]", entries, 0))
    return CWCTL_USAGE;
  PGconn *conn = cwctl_db(ctl);
  if (!conn)
    return CWCTL_FAILED;
  cw_error_t err;
  GPtrArray *users = NULL;
  if (cw_user_store_list(conn, &users, &err) < 0)
    return cwctl_fail(&err);
  if (json) {
    GPtrArray *texts = g_ptr_array_new();
    for (guint i = 0; i < users->len; i++)
      g_ptr_array_add(texts, ((cw_user_t *)users->pdata[i])->json);
    cwctl_print_json(texts, FALSE);
    g_ptr_array_free(texts, TRUE);
  } else {
    printf("%-24s %-13s %-21s %s\n", "NAME", "ROLE", "CREATED", "STATE");
    for (guint i = 0; i < users->len; i++) {
      cw_user_t *u = users->pdata[i];
      printf("%-24s %-13s %-21s %s\n", u->name, u->role, u->created_at,
             u->disabled ? "disabled" : "active");
    }
  }
  g_ptr_array_free(users, TRUE);
  return CWCTL_OK;
}

int
cwctl_user(cwctl_t *ctl, const char *verb, int argc, char **argv)
{
  if (strcmp(verb, "add") == 0)
    return cmd_add(ctl, argc, argv);
  if (strcmp(verb, "list") == 0)
    return cmd_list(ctl, argc, argv);
  fprintf(stderr, "cwctl: unknown user command '%s' (add, list)\n", verb);
  return CWCTL_USAGE;
}
