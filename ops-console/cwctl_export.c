/* cwctl footage export|verify: evidence clips for investigators.
 *
 * Export is the one cwctl command that acts for a named person rather than
 * for whoever runs the shell: --as USER must prove who they are (password
 * on standard input, or a bearer token) and hold the investigator role.
 * Refusals are audited too. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <json-glib/json-glib.h>
#include <libavutil/log.h>
#include <sodium.h>

#include "audit.h"
#include "cwctl.h"
#include "db.h"
#include "export.h"
#include "secret.h"
#include "timeutil.h"

#define TOKEN_MAX 4096

typedef struct {
  char *as, *from, *to, *case_id, *reason, *out, *token_file;
  char *camera_text; /* --camera as given */
  gint64 camera;     /* resolved once the database is open */
  gboolean force, json;
  gint64 from_us, to_us;
} export_flags_t;

static void
export_flags_clear(export_flags_t *f)
{
  g_free(f->as);
  g_free(f->camera_text);
  g_free(f->from);
  g_free(f->to);
  g_free(f->case_id);
  g_free(f->reason);
  g_free(f->out);
  g_free(f->token_file);
}

/* Exit 2 for anything the command line itself gets wrong. */
static gboolean
check_flags(export_flags_t *f)
{
  const struct {
    const char *flag;
    const char *value;
  } required[] = {{"--as", f->as},        {"--from", f->from},     {"--to", f->to},
                  {"--case", f->case_id}, {"--reason", f->reason}, {"-o", f->out}};
  for (guint i = 0; i < G_N_ELEMENTS(required); i++)
    if (!required[i].value || !*required[i].value) {
      fprintf(stderr, "cwctl: %s: required\n", required[i].flag);
      return FALSE;
    }
  /* The limits of footage_exports, checked before any work is done. */
  if (g_utf8_strlen(f->case_id, -1) > 128 || g_utf8_strlen(f->reason, -1) > 2000) {
    fprintf(stderr, "cwctl: %s: longer than %d characters\n",
            g_utf8_strlen(f->case_id, -1) > 128 ? "--case" : "--reason",
            g_utf8_strlen(f->case_id, -1) > 128 ? 128 : 2000);
    return FALSE;
  }
  if (!f->camera_text || !*f->camera_text) {
    fprintf(stderr, "cwctl: --camera: required (an id or a name, as `cwctl camera list` shows)\n");
    return FALSE;
  }
  cw_error_t err;
  const char *flag = "--from";
  gboolean ok = cw_time_parse(f->from, &f->from_us, &err) == 0;
  if (ok) {
    flag = "--to";
    ok = cw_time_parse(f->to, &f->to_us, &err) == 0;
  }
  if (!ok) {
    fprintf(stderr, "cwctl: %s: %s\n", flag, err.msg);
    return FALSE;
  }
  if (f->from_us >= f->to_us) {
    fprintf(stderr, "cwctl: --to: must be after --from\n");
    return FALSE;
  }
  return TRUE;
}

/* ---- who is asking ----------------------------------------------------- */

typedef struct {
  char *name, *role;
  const char *method; /* "password" or "token" */
} who_t;

/* One line, without its line end, from a file or standard input. */
static char *
read_line(FILE *in)
{
  GString *s = g_string_new(NULL);
  int c;
  while ((c = fgetc(in)) != EOF && c != '\n' && s->len <= TOKEN_MAX)
    g_string_append_c(s, (char)c);
  if (s->len > 0 && s->str[s->len - 1] == '\r')
    g_string_truncate(s, s->len - 1);
  return g_string_free(s, FALSE);
}

static int
token_from(const char *token_file, char **token, cw_error_t *err)
{
  if (token_file) {
    FILE *in = fopen(token_file, "re");
    if (!in) {
      int e = errno;
      return cw_error_set(err, -e, "--token-file: %s: %s", token_file, g_strerror(e));
    }
    *token = read_line(in);
    fclose(in);
  } else {
    *token = g_strdup(g_getenv("CITYWATCH_TOKEN"));
  }
  if (!**token) {
    cw_secret_wipe_free(g_steal_pointer(token));
    return cw_error_set(err, -EINVAL, "%s: the token is empty",
                        token_file ? "--token-file" : "CITYWATCH_TOKEN");
  }
  return 0;
}

/* Why an attempt was refused, for the message and the audit row alike. */
typedef struct {
  char why[256];
  gboolean authenticated; /* the refusal is about the role, not the proof */
} refusal_t;

static int refuse(refusal_t *r, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static int
refuse(refusal_t *r, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  g_vsnprintf(r->why, sizeof r->why, fmt, ap);
  va_end(ap);
  return -EACCES;
}

static int
auth_password(PGconn *conn, const char *user, who_t *who, refusal_t *r, cw_error_t *err)
{
  const char *params[] = {user};
  PGresult *res = PQexecParams(conn,
                               "SELECT name, role, password_hash, disabled_at IS NOT NULL"
                               " FROM users WHERE lower(name) = lower($1)",
                               1, NULL, params, NULL, NULL, 0);
  int rc = cw_db_check(conn, res, PGRES_TUPLES_OK, err);
  char *password = NULL;
  if (rc < 0)
    goto out;
  /* Read even for an unknown user, so the two cases look alike. */
  password = read_line(stdin);
  if (PQntuples(res) != 1 ||
      crypto_pwhash_str_verify(PQgetvalue(res, 0, 2), password, strlen(password)) != 0) {
    rc = refuse(r, "unknown user or wrong password for %s", user);
    goto out;
  }
  if (PQgetvalue(res, 0, 3)[0] == 't') {
    rc = refuse(r, "user %s is disabled", PQgetvalue(res, 0, 0));
    goto out;
  }
  who->name = g_strdup(PQgetvalue(res, 0, 0));
  who->role = g_strdup(PQgetvalue(res, 0, 1));
  who->method = "password";
out:
  cw_secret_wipe_free(password);
  PQclear(res);
  return rc;
}

/* Only the token's SHA-256 is stored and sent: the token never reaches the
 * server, its logs or a dump. */
static int
auth_token(PGconn *conn, const char *user, const char *token, who_t *who, refusal_t *r,
           cw_error_t *err)
{
  char *hash = g_compute_checksum_for_string(G_CHECKSUM_SHA256, token, -1);
  const char *params[] = {hash};
  PGresult *res =
      PQexecParams(conn,
                   "SELECT u.name, u.role, u.disabled_at IS NOT NULL, s.revoked_at IS NOT NULL,"
                   " s.expires_at <= now() FROM sessions s JOIN users u ON u.id = s.user_id"
                   " WHERE s.kind = 'bearer' AND s.token_hash = decode($1, 'hex')",
                   1, NULL, params, NULL, NULL, 0);
  g_free(hash);
  int rc = cw_db_check(conn, res, PGRES_TUPLES_OK, err);
  if (rc < 0)
    goto out;
  if (PQntuples(res) != 1)
    rc = refuse(r, "the token is not a bearer token of any user");
  else if (g_ascii_strcasecmp(PQgetvalue(res, 0, 0), user) != 0)
    rc = refuse(r, "the token is not %s's", user);
  else if (PQgetvalue(res, 0, 3)[0] == 't')
    rc = refuse(r, "%s's token was revoked", user);
  else if (PQgetvalue(res, 0, 4)[0] == 't')
    rc = refuse(r, "%s's token has expired", user);
  else if (PQgetvalue(res, 0, 2)[0] == 't')
    rc = refuse(r, "user %s is disabled", PQgetvalue(res, 0, 0));
  if (rc < 0)
    goto out;
  who->name = g_strdup(PQgetvalue(res, 0, 0));
  who->role = g_strdup(PQgetvalue(res, 0, 1));
  who->method = "token";
out:
  PQclear(res);
  return rc;
}

/* Proves --as and checks the role. -EACCES with r filled when refused. */
static int
authenticate(PGconn *conn, const export_flags_t *f, who_t *who, refusal_t *r, cw_error_t *err)
{
  int rc;
  if (sodium_init() < 0)
    return cw_error_set(err, -EIO, "libsodium failed to initialise");
  if (f->token_file || g_getenv("CITYWATCH_TOKEN")) {
    char *token = NULL;
    if ((rc = token_from(f->token_file, &token, err)) < 0)
      return rc;
    rc = auth_token(conn, f->as, token, who, r, err);
    cw_secret_wipe_free(token);
  } else {
    rc = auth_password(conn, f->as, who, r, err);
  }
  if (rc < 0)
    return rc;
  r->authenticated = TRUE;
  if (strcmp(who->role, "investigator") != 0)
    return refuse(r, "%s has role %s; exporting footage needs the investigator role", who->name,
                  who->role);
  return 0;
}

static void
audit_denied(PGconn *conn, const export_flags_t *f, const who_t *who, const refusal_t *r)
{
  char *cli = cw_audit_cli_actor();
  char cam[24];
  g_snprintf(cam, sizeof cam, "%" G_GINT64_FORMAT, f->camera);
  const char *params[] = {r->authenticated ? who->name : cli,
                          cam,
                          f->as,
                          r->why,
                          f->case_id,
                          f->reason,
                          f->from,
                          f->to,
                          cli};
  PGresult *res =
      PQexecParams(conn,
                   "INSERT INTO audit_log (actor, action, object, details)"
                   " VALUES ($1, 'footage.export.denied', 'camera:' || $2::bigint,"
                   " jsonb_build_object('user', $3::text, 'why', $4::text, 'case', $5::text,"
                   " 'reason', $6::text, 'from', $7::text, 'to', $8::text, 'from_cli', $9::text))",
                   9, NULL, params, NULL, NULL, 0);
  cw_error_t err;
  if (cw_db_check(conn, res, PGRES_COMMAND_OK, &err) < 0)
    fprintf(stderr, "cwctl: audit: the refusal was not recorded: %s\n", err.msg);
  PQclear(res);
  g_free(cli);
}

/* ---- export ------------------------------------------------------------ */

/* --force: the old clip and manifest go before the new ones are written,
 * since cw_export_run never replaces a file. */
static int
clear_outputs(const char *clip, gboolean force, cw_error_t *err)
{
  char *manifest = cw_export_manifest_path(clip);
  const char *paths[] = {clip, manifest};
  int rc = 0;
  for (guint i = 0; i < G_N_ELEMENTS(paths) && rc == 0; i++) {
    if (!g_file_test(paths[i], G_FILE_TEST_EXISTS))
      continue;
    if (!force)
      rc =
          cw_error_set(err, -EEXIST, "-o: %s already exists; give --force to replace it", paths[i]);
    else if (unlink(paths[i]) < 0)
      rc = cw_error_set(err, -errno, "-o: %s: %s", paths[i], g_strerror(errno));
  }
  g_free(manifest);
  return rc;
}

static const char *
member_string(JsonObject *o, const char *object, const char *key)
{
  JsonObject *inner = json_object_get_object_member(o, object);
  return inner ? json_object_get_string_member(inner, key) : NULL;
}

static void
print_result(const char *clip, const char *manifest_text)
{
  JsonNode *root = json_from_string(manifest_text, NULL);
  JsonObject *o = json_node_get_object(root);
  JsonObject *c = json_object_get_object_member(o, "clip");
  char *abs_clip = g_canonicalize_filename(clip, NULL);
  char *abs_manifest = cw_export_manifest_path(abs_clip);
  printf("clip:     %s\n", abs_clip);
  printf("          %" G_GINT64_FORMAT " bytes, %" G_GINT64_FORMAT " frames, %s %" G_GINT64_FORMAT
         "x%" G_GINT64_FORMAT ", sha256 %s\n",
         json_object_get_int_member(c, "bytes"), json_object_get_int_member(c, "frames"),
         json_object_get_string_member(c, "codec"), json_object_get_int_member(c, "width"),
         json_object_get_int_member(c, "height"), json_object_get_string_member(c, "sha256"));
  printf("manifest: %s\n", abs_manifest);
  printf("actual:   %s .. %s (last frame)\n", member_string(o, "actual", "from"),
         member_string(o, "actual", "to"));
  JsonArray *gaps = json_object_get_array_member(o, "gaps");
  guint n = json_array_get_length(gaps);
  printf("gaps:     %s\n", n ? "" : "none");
  for (guint i = 0; i < n; i++) {
    JsonObject *g = json_array_get_object_element(gaps, i);
    printf("          %s .. %s (no footage)\n", json_object_get_string_member(g, "from"),
           json_object_get_string_member(g, "to"));
  }
  printf("export:   %s\n", json_object_get_string_member(o, "export_id"));
  g_free(abs_manifest);
  g_free(abs_clip);
  json_node_unref(root);
}

static int
run_export(cwctl_t *ctl, PGconn *conn, const export_flags_t *f, const who_t *who)
{
  cw_export_request_t req = {
      .root = cw_config_get_string(ctl->cfg, "recording", "root"),
      .camera_id = f->camera,
      .from_us = f->from_us,
      .to_us = f->to_us,
      .case_id = f->case_id,
      .reason = f->reason,
      .user = who->name,
      .out_path = f->out,
  };
  cw_error_t err;
  char *manifest = NULL;
  /* libav's progress notes (the faststart pass) are not for the user;
   * its errors reach them through err. */
  av_log_set_level(AV_LOG_QUIET);
  if (clear_outputs(f->out, f->force, &err) < 0 || cw_export_run(conn, &req, &manifest, &err) < 0)
    return cwctl_fail(&err);
  if (f->json)
    fputs(manifest, stdout);
  else
    print_result(f->out, manifest);
  g_free(manifest);
  return CWCTL_OK;
}

int
cwctl_footage_export(cwctl_t *ctl, int argc, char **argv)
{
  export_flags_t f = {0};
  GOptionEntry entries[] = {
      {"as", 0, 0, G_OPTION_ARG_STRING, &f.as,
       "The investigator exporting (password on standard input, or a token)", "USER"},
      {"camera", 0, 0, G_OPTION_ARG_STRING, &f.camera_text, "Camera id or name", "N"},
      {"from", 0, 0, G_OPTION_ARG_STRING, &f.from, "Start, ISO 8601 with a zone", "T"},
      {"to", 0, 0, G_OPTION_ARG_STRING, &f.to, "End (exclusive), ISO 8601 with a zone", "T"},
      {"case", 0, 0, G_OPTION_ARG_STRING, &f.case_id, "Case reference", "CASE"},
      {"reason", 0, 0, G_OPTION_ARG_STRING, &f.reason, "Why the footage is exported", "TEXT"},
      {"output", 'o', 0, G_OPTION_ARG_FILENAME, &f.out,
       "The clip; the manifest goes to CLIP.manifest.json", "CLIP"},
      {"force", 0, 0, G_OPTION_ARG_NONE, &f.force, "Replace an existing clip and manifest", NULL},
      {"token-file", 0, 0, G_OPTION_ARG_FILENAME, &f.token_file,
       "File whose first line is a bearer token (else CITYWATCH_TOKEN, else a password)", "F"},
      {"json", 0, 0, G_OPTION_ARG_NONE, &f.json, "Print the manifest", NULL},
      G_OPTION_ENTRY_NULL};
  int rc = CWCTL_USAGE;
  who_t who = {0};
  refusal_t r = {.authenticated = FALSE};
  cw_error_t err;
  if (!cwctl_parse(ctl, &argc, &argv,
                   "footage export --as USER --camera N --from T --to T --case CASE "
                   "--reason TEXT -o CLIP [--force] [--token-file F]",
                   entries, 0) ||
      !check_flags(&f))
    goto out;
  rc = CWCTL_FAILED;
  if (clear_outputs(f.out, FALSE, &err) < 0 && !f.force) {
    rc = cwctl_fail(&err);
    goto out;
  }
  PGconn *conn = cwctl_db(ctl);
  if (!conn)
    goto out;
  if (cwctl_camera_id(conn, f.camera_text, &f.camera, &err) < 0) {
    rc = cwctl_fail(&err);
    goto out;
  }
  int arc = authenticate(conn, &f, &who, &r, &err);
  if (arc == -EACCES) {
    fprintf(stderr, "cwctl: --as: %s\n", r.why);
    audit_denied(conn, &f, &who, &r);
  } else if (arc < 0) {
    rc = cwctl_fail(&err);
  } else {
    rc = run_export(ctl, conn, &f, &who);
  }
out:
  g_free(who.name);
  g_free(who.role);
  export_flags_clear(&f);
  return rc;
}

/* ---- verify ------------------------------------------------------------ */

int
cwctl_footage_verify(cwctl_t *ctl, int argc, char **argv)
{
  char *manifest = NULL;
  gboolean offline = FALSE;
  GOptionEntry entries[] = {
      {"manifest", 0, 0, G_OPTION_ARG_FILENAME, &manifest,
       "The manifest (default: CLIP.manifest.json)", "F"},
      {"offline", 0, 0, G_OPTION_ARG_NONE, &offline,
       "Check only the clip against the manifest, not the manifest against the database", NULL},
      G_OPTION_ENTRY_NULL};
  int rc = CWCTL_USAGE;
  if (!cwctl_parse(ctl, &argc, &argv, "footage verify CLIP [--manifest F] [--offline]", entries, 1))
    goto out;
  rc = CWCTL_FAILED;
  PGconn *conn = NULL;
  if (!offline && !(conn = cwctl_db(ctl)))
    goto out;
  cw_error_t err;
  if (cw_export_verify(conn, argv[1], manifest, &err) < 0) {
    fprintf(stderr, "cwctl: verify: %s\n", err.msg);
    goto out;
  }
  char *shown = manifest ? g_strdup(manifest) : cw_export_manifest_path(argv[1]);
  printf("ok: %s matches %s%s\n", argv[1], shown,
         offline ? " (offline: not checked against the database)"
                 : " and the export recorded in the database");
  g_free(shown);
  rc = CWCTL_OK;
out:
  g_free(manifest);
  return rc;
}
