/* cwctl camera add|list|show|edit|rm|enable|disable|import */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "audit.h"
#include "camera_import.h"
#include "camera_store.h"
#include "cwctl.h"
#include "rtsp_url.h"
#include "secret.h"

#define IMPORT_MAX_BYTES (64 << 20)

/* Flags shared by add and edit, each mapped to the camera field it sets. */
typedef struct {
  char *name, *url, *username, *password_file, *substream_url, *lat, *lon, *road, *direction, *tags,
      *transport;
  gboolean disabled, no_password, json;
} camera_flags_t;

static void
camera_flags_clear(camera_flags_t *f)
{
  g_free(f->name);
  g_free(f->url);
  g_free(f->username);
  g_free(f->password_file);
  g_free(f->substream_url);
  g_free(f->lat);
  g_free(f->lon);
  g_free(f->road);
  g_free(f->direction);
  g_free(f->tags);
  g_free(f->transport);
}

/* The first line of a file ("-" for standard input), without its line end. */
static int
read_password_file(const char *path, char **out, cw_error_t *err)
{
  char *data = NULL;
  gsize len = 0;
  GError *gerr = NULL;
  if (strcmp(path, "-") == 0) {
    GString *s = g_string_new(NULL);
    int c;
    while ((c = getchar()) != EOF && c != '\n' && s->len < 4096)
      g_string_append_c(s, (char)c);
    len = s->len;
    data = g_string_free(s, FALSE);
  } else if (!g_file_get_contents(path, &data, &len, &gerr)) {
    int rc = cw_error_set(err, -ENOENT, "password-file: %s", gerr->message);
    g_error_free(gerr);
    return rc;
  }
  const char *nl = memchr(data, '\n', len);
  gsize line_len = nl ? (gsize)(nl - data) : len;
  if (memchr(data, '\0', line_len)) {
    sodium_memzero(data, len);
    g_free(data);
    return cw_error_set(err, -EINVAL, "password-file: %s holds a NUL byte", path);
  }
  if (line_len > 0 && data[line_len - 1] == '\r')
    line_len--;
  sodium_memzero(data + line_len, len - line_len);
  data[line_len] = '\0';
  if (!*data) {
    cw_secret_wipe_free(data);
    return cw_error_set(err, -EINVAL, "password-file: %s is empty", path);
  }
  *out = data;
  return 0;
}

static int
spec_from_flags(const camera_flags_t *f, cw_camera_spec_t *spec, gboolean for_add, cw_error_t *err)
{
  const struct {
    const char *field;
    const char *value;
  } map[] = {
      {"name", f->name},         {"url", f->url},
      {"username", f->username}, {"substream_url", f->substream_url},
      {"lat", f->lat},           {"lon", f->lon},
      {"road", f->road},         {"direction", f->direction},
      {"tags", f->tags},         {"transport", f->transport},
  };
  int rc;
  for (guint i = 0; i < G_N_ELEMENTS(map); i++)
    if (map[i].value && (rc = cw_camera_spec_set(spec, map[i].field, map[i].value, err)) < 0)
      return rc;
  if (f->password_file && f->no_password)
    return cw_error_set(err, -EINVAL, "password: give --password-file or --no-password, not both");
  if (f->password_file) {
    char *pw = NULL;
    if ((rc = read_password_file(f->password_file, &pw, err)) < 0)
      return rc;
    rc = cw_camera_spec_set(spec, "password", pw, err);
    cw_secret_wipe_free(pw);
    if (rc < 0)
      return rc;
  }
  if (f->no_password && (rc = cw_camera_spec_set(spec, "password", "", err)) < 0)
    return rc;
  if (f->disabled && (rc = cw_camera_spec_set(spec, "enabled", "false", err)) < 0)
    return rc;
  return cw_camera_spec_finish(spec, for_add, err);
}

/* The credential key, loaded (and created on first use) only when a
 * password has to be sealed. */
static int
load_key(cwctl_t *ctl, cw_secret_key_t **key, cw_error_t *err)
{
  const char *path = cw_secret_key_path(cw_config_get_string(ctl->cfg, "security", "key_file"));
  return cw_secret_key_load(path, TRUE, key, err);
}

static void
print_camera(const cw_camera_t *c)
{
  char *url = cw_rtsp_url_redact(c->url, c->username, c->has_password);
  char *sub =
      c->substream_url ? cw_rtsp_url_redact(c->substream_url, c->username, c->has_password) : NULL;
  char *tags = g_strjoinv(",", c->tags);
  printf("name:          %s\n", c->name);
  printf("id:            %" G_GINT64_FORMAT "\n", c->id);
  printf("enabled:       %s\n", c->enabled ? "yes" : "no");
  printf("url:           %s\n", url);
  printf("substream_url: %s\n", sub ? sub : "-");
  printf("username:      %s\n", c->username ? c->username : "-");
  printf("password:      %s\n", c->has_password ? "set (encrypted)" : "-");
  if (c->has_location)
    printf("location:      %.6f, %.6f\n", c->lat, c->lon);
  else
    printf("location:      -\n");
  printf("road:          %s\n", c->road ? c->road : "-");
  printf("direction:     %s\n", c->direction ? c->direction : "-");
  printf("tags:          %s\n", *tags ? tags : "-");
  printf("transport:     %s\n", c->transport);
  printf("state:         %s%s%s\n", c->state ? c->state : "unknown (no node has reported it)",
         c->node ? " on node " : "", c->node ? c->node : "");
  if (c->state_since_at)
    printf("state_since:   %s\n", c->state_since_at);
  if (c->codec)
    printf("stream:        %s %dx%d, %.1f fps, %.0f kbit/s\n", c->codec, c->width, c->height,
           c->fps, c->bitrate_bps / 1000);
  if (c->last_frame_at)
    printf("last_frame:    %s\n", c->last_frame_at);
  if (c->state)
    printf("reconnects:    %" G_GINT64_FORMAT "\n", c->reconnects);
  if (c->last_error && *c->last_error)
    printf("last_error:    %s\n", c->last_error);
  if (c->recording_state)
    printf("recording:     %s%s%s\n", c->recording_state,
           c->recording_error && *c->recording_error ? ": " : "",
           c->recording_error && *c->recording_error ? c->recording_error : "");
  if (c->retention_days)
    printf("retention:     %d days\n", c->retention_days);
  else
    printf("retention:     the node's default\n");
  printf("created_at:    %s\n", c->created_at);
  printf("updated_at:    %s\n", c->updated_at);
  g_free(tags);
  g_free(sub);
  g_free(url);
}

static int
cmd_add_or_edit(cwctl_t *ctl, gboolean add, int argc, char **argv)
{
  camera_flags_t f = {0};
  GOptionEntry entries[] = {
      {"name", 0, 0, G_OPTION_ARG_STRING, &f.name, add ? "Camera name (unique)" : "New name",
       "NAME"},
      {"url", 0, 0, G_OPTION_ARG_STRING, &f.url, "rtsp:// or rtsps:// URL", "URL"},
      {"username", 0, 0, G_OPTION_ARG_STRING, &f.username, "Camera user name", "USER"},
      {"password-file", 0, 0, G_OPTION_ARG_FILENAME, &f.password_file,
       "File whose first line is the camera password (- for standard input)", "FILE"},
      {"substream-url", 0, 0, G_OPTION_ARG_STRING, &f.substream_url,
       "Lower-resolution stream for analytics", "URL"},
      {"lat", 0, 0, G_OPTION_ARG_STRING, &f.lat, "Latitude, -90..90", "DEG"},
      {"lon", 0, 0, G_OPTION_ARG_STRING, &f.lon, "Longitude, -180..180", "DEG"},
      {"road", 0, 0, G_OPTION_ARG_STRING, &f.road, "Road name", "ROAD"},
      {"direction", 0, 0, G_OPTION_ARG_STRING, &f.direction,
       "Traffic direction: N NE E SE S SW W NW", "DIR"},
      {"tags", 0, 0, G_OPTION_ARG_STRING, &f.tags, "Comma-separated tags", "a,b"},
      {"transport", 0, 0, G_OPTION_ARG_STRING, &f.transport,
       "RTP over auto (TCP, else UDP), tcp or udp", "T"},
      {"disabled", 0, 0, G_OPTION_ARG_NONE, &f.disabled, "Register it disabled", NULL},
      {"no-password", 0, 0, G_OPTION_ARG_NONE, &f.no_password, "Remove the stored password", NULL},
      G_OPTION_ENTRY_NULL};
  if (add) /* --no-password is an edit only */
    entries[12] = (GOptionEntry)G_OPTION_ENTRY_NULL;
  int rc = CWCTL_USAGE;
  cw_camera_spec_t spec = {0};
  cw_secret_key_t *key = NULL;
  char *actor = NULL;
  cw_error_t err;
  if (!cwctl_parse(ctl, &argc, &argv,
                   add ? "camera add --name NAME --url URL [OPTIONS]"
                       : "camera edit NAME [OPTIONS]",
                   entries, add ? 0 : 1))
    goto out;
  rc = CWCTL_FAILED;
  if (spec_from_flags(&f, &spec, add, &err) < 0) {
    rc = cwctl_fail(&err);
    goto out;
  }
  if (!add && spec.set == 0) {
    fprintf(stderr, "cwctl: camera edit: nothing to change (give at least one option)\n");
    rc = CWCTL_USAGE;
    goto out;
  }
  if (spec.password && load_key(ctl, &key, &err) < 0) {
    rc = cwctl_fail(&err);
    goto out;
  }
  PGconn *conn = cwctl_db(ctl);
  if (!conn)
    goto out;
  actor = cw_audit_cli_actor();
  gint64 id = 0;
  if (add ? cw_camera_store_add(conn, key, &spec, actor, &id, &err)
          : cw_camera_store_edit(conn, key, argv[1], &spec, "camera.edit", actor, &err)) {
    rc = cwctl_fail(&err);
    goto out;
  }
  if (add)
    printf("added camera %s (id %" G_GINT64_FORMAT ")\n", spec.name, id);
  else
    printf("updated camera %s\n", spec.name ? spec.name : argv[1]);
  rc = CWCTL_OK;
out:
  g_free(actor);
  cw_secret_key_free(key);
  cw_camera_spec_clear(&spec);
  camera_flags_clear(&f);
  return rc;
}

static int
cmd_list_or_show(cwctl_t *ctl, gboolean show, int argc, char **argv)
{
  gboolean json = FALSE;
  GOptionEntry entries[] = {{"json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL},
                            G_OPTION_ENTRY_NULL};
  if (!cwctl_parse(ctl, &argc, &argv, show ? "camera show NAME [--json]" : "camera list [--json]",
                   entries, show ? 1 : 0))
    return CWCTL_USAGE;
  PGconn *conn = cwctl_db(ctl);
  if (!conn)
    return CWCTL_FAILED;
  cw_error_t err;
  GPtrArray *cams = NULL;
  if (show) {
    cw_camera_t *one = NULL;
    if (cw_camera_store_get(conn, argv[1], &one, &err) < 0)
      return cwctl_fail(&err);
    cams = g_ptr_array_new_with_free_func((GDestroyNotify)cw_camera_free);
    g_ptr_array_add(cams, one);
  } else if (cw_camera_store_list(conn, &cams, &err) < 0) {
    return cwctl_fail(&err);
  }
  if (json) {
    GPtrArray *texts = g_ptr_array_new();
    for (guint i = 0; i < cams->len; i++)
      g_ptr_array_add(texts, ((cw_camera_t *)cams->pdata[i])->json);
    cwctl_print_json(texts, show);
    g_ptr_array_free(texts, TRUE);
  } else if (show) {
    print_camera(cams->pdata[0]);
  } else {
    printf("%-24s %-10s %-50s %-20s %-4s %s\n", "NAME", "STATE", "URL", "ROAD", "DIR",
           "LAST ERROR");
    for (guint i = 0; i < cams->len; i++) {
      cw_camera_t *c = cams->pdata[i];
      char *url = cw_rtsp_url_redact(c->url, c->username, c->has_password);
      /* The error matters while the camera is not playing. */
      gboolean show_error = c->last_error && *c->last_error && c->state &&
                            strcmp(c->state, "playing") != 0 && strcmp(c->state, "disabled") != 0;
      printf("%-24s %-10s %-50s %-20s %-4s %s\n", c->name, c->state ? c->state : "-", url,
             c->road ? c->road : "-", c->direction ? c->direction : "-",
             show_error ? c->last_error : "-");
      g_free(url);
    }
  }
  g_ptr_array_free(cams, TRUE);
  return CWCTL_OK;
}

static int
cmd_rm_or_toggle(cwctl_t *ctl, const char *verb, int argc, char **argv)
{
  char *usage = g_strdup_printf("camera %s NAME", verb);
  gboolean ok = cwctl_parse(ctl, &argc, &argv, usage, NULL, 1);
  g_free(usage);
  if (!ok)
    return CWCTL_USAGE;
  PGconn *conn = cwctl_db(ctl);
  if (!conn)
    return CWCTL_FAILED;
  cw_error_t err;
  char *actor = cw_audit_cli_actor();
  int rc;
  if (strcmp(verb, "rm") == 0) {
    rc = cw_camera_store_remove(conn, argv[1], actor, &err);
  } else {
    gboolean enable = strcmp(verb, "enable") == 0;
    cw_camera_spec_t spec = {0};
    cw_camera_spec_set(&spec, "enabled", enable ? "true" : "false", NULL);
    rc = cw_camera_store_edit(conn, NULL, argv[1], &spec,
                              enable ? "camera.enable" : "camera.disable", actor, &err);
    cw_camera_spec_clear(&spec);
  }
  g_free(actor);
  if (rc < 0)
    return cwctl_fail(&err);
  printf("%s camera %s\n",
         strcmp(verb, "rm") == 0       ? "removed"
         : strcmp(verb, "enable") == 0 ? "enabled"
                                       : "disabled",
         argv[1]);
  return CWCTL_OK;
}

static int
cmd_import(cwctl_t *ctl, int argc, char **argv)
{
  gboolean dry_run = FALSE;
  GOptionEntry entries[] = {
      {"dry-run", 0, 0, G_OPTION_ARG_NONE, &dry_run, "Check the file, import nothing", NULL},
      G_OPTION_ENTRY_NULL};
  if (!cwctl_parse(ctl, &argc, &argv, "camera import FILE.csv", entries, 1))
    return CWCTL_USAGE;
  const char *path = argv[1];
  int rc = CWCTL_FAILED;
  char *data = NULL;
  gsize len = 0;
  GError *gerr = NULL;
  GPtrArray *specs = g_ptr_array_new_with_free_func(cw_camera_spec_free);
  GArray *lines = g_array_new(FALSE, FALSE, sizeof(guint));
  GString *problems = g_string_new(NULL);
  cw_secret_key_t *key = NULL;
  char *actor = NULL;
  cw_error_t err;

  if (!g_file_get_contents(path, &data, &len, &gerr)) {
    fprintf(stderr, "cwctl: %s\n", gerr->message);
    g_error_free(gerr);
    goto out;
  }
  if (len > IMPORT_MAX_BYTES) {
    fprintf(stderr, "cwctl: %s: larger than %d MiB; split the file\n", path,
            IMPORT_MAX_BYTES >> 20);
    goto out;
  }
  guint bad = cw_camera_import_parse(path, data, len, specs, lines, problems);
  if (bad > 0) {
    fputs(problems->str, stderr);
    fprintf(stderr, "cwctl: %s: %u problem%s; nothing imported\n", path, bad, bad == 1 ? "" : "s");
    goto out;
  }
  if (dry_run) {
    printf("%s: %u cameras would be imported\n", path, specs->len);
    rc = CWCTL_OK;
    goto out;
  }
  gboolean any_password = FALSE;
  for (guint i = 0; i < specs->len; i++)
    any_password = any_password || ((cw_camera_spec_t *)specs->pdata[i])->password;
  if (any_password && load_key(ctl, &key, &err) < 0) {
    rc = cwctl_fail(&err);
    goto out;
  }
  PGconn *conn = cwctl_db(ctl);
  if (!conn)
    goto out;
  actor = cw_audit_cli_actor();
  if (cw_camera_store_import(conn, key, specs, (guint *)lines->data, path, actor, problems, &err) <
      0) {
    fputs(problems->str, stderr);
    rc = cwctl_fail(&err);
    if (!strstr(err.msg, "nothing imported"))
      fprintf(stderr, "cwctl: %s: nothing imported\n", path);
    goto out;
  }
  printf("imported %u cameras from %s\n", specs->len, path);
  rc = CWCTL_OK;
out:
  g_free(actor);
  cw_secret_key_free(key);
  g_string_free(problems, TRUE);
  g_array_free(lines, TRUE);
  g_ptr_array_free(specs, TRUE);
  if (data) {
    sodium_memzero(data, len); /* it held the camera passwords */
    g_free(data);
  }
  return rc;
}

int
cwctl_camera(cwctl_t *ctl, const char *verb, int argc, char **argv)
{
  if (strcmp(verb, "add") == 0 || strcmp(verb, "edit") == 0)
    return cmd_add_or_edit(ctl, verb[0] == 'a', argc, argv);
  if (strcmp(verb, "list") == 0 || strcmp(verb, "show") == 0)
    return cmd_list_or_show(ctl, verb[0] == 's', argc, argv);
  if (strcmp(verb, "rm") == 0 || strcmp(verb, "enable") == 0 || strcmp(verb, "disable") == 0)
    return cmd_rm_or_toggle(ctl, verb, argc, argv);
  if (strcmp(verb, "import") == 0)
    return cmd_import(ctl, argc, argv);
  if (strcmp(verb, "analytics") == 0)
    return cwctl_camera_analytics(ctl, argc, argv);
  fprintf(stderr,
          "cwctl: unknown camera command '%s' (add, list, show, edit, rm, enable, "
          "disable, import, analytics)\n",
          verb);
  return CWCTL_USAGE;
}
