/* camsim: one process, one libuv loop, thousands of RTSP streams with
 * scripted faults. This file only parses options and wires the server; see
 * README.md for the behaviours. */
#include "camsim.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

typedef struct {
  cs_server_t *srv;
  uv_signal_t sigint, sigterm, sigusr1;
  uv_timer_t stats;
} app_t;

static void
on_stop_signal(uv_signal_t *h, int signum)
{
  app_t *app = h->data;
  fprintf(stdout, "camsim: signal %d, shutting down\n", signum);
  cs_server_print_stats(app->srv, stdout);
  cs_server_stop(app->srv);
}

static void
on_usr1(uv_signal_t *h, int signum)
{
  app_t *app = h->data;
  cs_server_print_stats(app->srv, stdout);
}

static void
on_stats(uv_timer_t *t)
{
  app_t *app = t->data;
  cs_server_print_stats(app->srv, stdout);
}

static void
raise_nofile(void)
{
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

/* Reads one mount spec a line; blank lines and # comments are skipped. */
static int
load_script(const char *path, GPtrArray *specs, GError **error)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents(path, &text, NULL, error))
    return -1;
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  for (int i = 0; lines[i]; i++) {
    char *l = g_strstrip(lines[i]);
    if (*l && *l != '#')
      g_ptr_array_add(specs, g_strdup(l));
  }
  return 0;
}

int
main(int argc, char **argv)
{
  int rc = 1;
  g_auto(GStrv) clips = NULL, mount_specs = NULL, up = NULL;
  g_autofree char *script = NULL, *auth = NULL, *session_log = NULL, *bind = NULL;
  gint port = 8554, fps = 25, n_mounts = 0, max_sessions = 10000, timeout = 60, stats_s = 0;
  gint mtu = 1400, backlog_kib = 2048, sndbuf_kib = 256;
  gboolean no_aggregate = FALSE;
  GOptionEntry entries[] = {
      {"port", 'p', 0, G_OPTION_ARG_INT, &port, "TCP port (0: any free one; default 8554)", "N"},
      {"bind", 0, 0, G_OPTION_ARG_STRING, &bind, "Address (default 127.0.0.1)", "ADDR"},
      {"clip", 0, 0, G_OPTION_ARG_STRING_ARRAY, &clips, "Clip per codec: h264=FILE or h265=FILE",
       "CODEC=FILE"},
      {"fps", 0, 0, G_OPTION_ARG_INT, &fps, "Frame rate of every clip (default 25)", "N"},
      {"mounts", 0, 0, G_OPTION_ARG_INT, &n_mounts, "Mounts cam0..camN-1, h264, normal", "N"},
      {"mount", 0, 0, G_OPTION_ARG_STRING_ARRAY, &mount_specs,
       "A mount NAME:CODEC:BEHAVIOUR[:T][:once] (repeatable)", "SPEC"},
      {"script", 0, 0, G_OPTION_ARG_FILENAME, &script, "File of mount specs, one a line", "FILE"},
      {"auth", 0, 0, G_OPTION_ARG_STRING, &auth, "Credentials of the 401 mounts (user:pass)",
       "USER:PASS"},
      {"session-log", 0, 0, G_OPTION_ARG_FILENAME, &session_log, "Append session events here",
       "FILE"},
      {"stats-interval", 0, 0, G_OPTION_ARG_INT, &stats_s, "Print stats every S seconds", "S"},
      {"max-sessions", 0, 0, G_OPTION_ARG_INT, &max_sessions, "Default 10000", "N"},
      {"session-timeout", 0, 0, G_OPTION_ARG_INT, &timeout, "Seconds (default 60)", "S"},
      {"mtu", 0, 0, G_OPTION_ARG_INT, &mtu, "Largest RTP packet (default 1400)", "BYTES"},
      {"backlog-kib", 0, 0, G_OPTION_ARG_INT, &backlog_kib,
       "Drop a TCP client's frames while its backlog passes this (default 2048)", "KIB"},
      {"sndbuf-kib", 0, 0, G_OPTION_ARG_INT, &sndbuf_kib,
       "Socket send buffer per connection (default 256; 0: the kernel's)", "KIB"},
      {"no-aggregate", 0, 0, G_OPTION_ARG_NONE, &no_aggregate, "No STAP-A / AP packets", NULL},
      {NULL}};
  GOptionContext *ctx = g_option_context_new("- RTSP camera simulator");
  GError *error = NULL;
  cs_clip_t *clip_by_codec[2] = {NULL, NULL};
  GPtrArray *specs = g_ptr_array_new_with_free_func(g_free);
  cs_server_t srv;
  bool srv_inited = false;
  uv_loop_t loop;
  app_t app = {.srv = &srv};

  uv_loop_init(&loop);
  g_option_context_add_main_entries(ctx, entries, NULL);
  if (!g_option_context_parse(ctx, &argc, &argv, &error))
    goto out;
  if (fps < 1 || fps > 240 || port < 0 || port > 65535 || max_sessions < 1 || timeout < 1 ||
      mtu < 200 || mtu > 65000 || n_mounts < 0 || backlog_kib < 1 || stats_s < 0 ||
      sndbuf_kib < 0 || sndbuf_kib > 65536) {
    g_set_error(&error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "an option is out of range");
    goto out;
  }
  signal(SIGPIPE, SIG_IGN);
  raise_nofile();

  for (int i = 0; clips && clips[i]; i++) {
    char *eq = strchr(clips[i], '=');
    cs_codec_t codec;
    if (!eq) {
      g_set_error(&error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "--clip %s: use CODEC=FILE",
                  clips[i]);
      goto out;
    }
    *eq = 0;
    if (cs_codec_parse(clips[i], &codec) < 0) {
      g_set_error(&error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "--clip: unknown codec %s",
                  clips[i]);
      goto out;
    }
    cs_clip_free(clip_by_codec[codec]);
    clip_by_codec[codec] = NULL;
    if (cs_clip_load(&clip_by_codec[codec], codec, eq + 1, &error) < 0)
      goto out;
    const cs_clip_t *c = clip_by_codec[codec];
    printf("camsim: clip %s %s: %u access units, %u keyframes\n", cs_codec_rtp_name(codec), c->path,
           c->aus->len, c->n_keys);
  }

  cs_config_t cfg = {
      .bind = bind ? bind : "127.0.0.1",
      .port = port,
      .fps = fps,
      .mtu = (size_t)mtu,
      .aggregate = !no_aggregate,
      .max_sessions = (guint)max_sessions,
      .session_timeout_s = (guint)timeout,
      .backlog_bytes = (size_t)backlog_kib * 1024,
      .sndbuf_bytes = sndbuf_kib * 1024,
      .session_log = session_log,
  };
  up = g_strsplit(auth ? auth : "user:pass", ":", 2);
  cfg.auth.user = up[0];
  cfg.auth.pass = up[1] ? up[1] : "";
  if (cs_server_init(&srv, &loop, &cfg, &error) < 0)
    goto out;
  srv_inited = true;

  for (int i = 0; i < n_mounts; i++)
    g_ptr_array_add(specs, g_strdup_printf("cam%d:h264:normal", i));
  for (int i = 0; mount_specs && mount_specs[i]; i++)
    g_ptr_array_add(specs, g_strdup(mount_specs[i]));
  if (script && load_script(script, specs, &error) < 0)
    goto out;
  if (specs->len == 0) {
    g_set_error(&error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                "no mounts: use --mounts, --mount or --script");
    goto out;
  }
  for (guint i = 0; i < specs->len; i++) {
    cs_mount_t *m;
    if (cs_mount_parse(specs->pdata[i], &m, &error) < 0)
      goto out;
    m->clip = clip_by_codec[m->codec];
    if (!m->clip) {
      g_set_error(&error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "mount %s needs --clip %s=FILE",
                  m->name, m->codec == CS_CODEC_H265 ? "h265" : "h264");
      cs_mount_free(m);
      goto out;
    }
    if (cs_server_add_mount(&srv, m, &error) < 0)
      goto out;
  }
  if (cs_server_start(&srv, &error) < 0)
    goto out;

  uv_signal_init(&loop, &app.sigint);
  uv_signal_init(&loop, &app.sigterm);
  uv_signal_init(&loop, &app.sigusr1);
  app.sigint.data = app.sigterm.data = app.sigusr1.data = &app;
  uv_signal_start(&app.sigint, on_stop_signal, SIGINT);
  uv_signal_start(&app.sigterm, on_stop_signal, SIGTERM);
  uv_signal_start(&app.sigusr1, on_usr1, SIGUSR1);
  if (stats_s > 0) {
    uv_timer_init(&loop, &app.stats);
    app.stats.data = &app;
    uv_timer_start(&app.stats, on_stats, (uint64_t)stats_s * 1000, (uint64_t)stats_s * 1000);
  }
  printf("camsim: listening on rtsp://%s:%d/ with %u mounts, UDP server_port %d-%d\n", cfg.bind,
         srv.port, g_hash_table_size(srv.mounts), srv.udp_port, srv.udp_port + 1);
  fflush(stdout);

  uv_run(&loop, UV_RUN_DEFAULT);
  rc = 0;
out:
  if (error) {
    fprintf(stderr, "camsim: %s\n", error->message);
    g_error_free(error);
  }
  if (rc != 0 && srv_inited) {
    cs_server_stop(&srv);
    uv_run(&loop, UV_RUN_DEFAULT);
  }
  if (srv_inited)
    cs_server_free(&srv);
  if (uv_loop_close(&loop) != 0)
    fprintf(stderr, "camsim: handles left open at exit\n");
  cs_clip_free(clip_by_codec[0]);
  cs_clip_free(clip_by_codec[1]);
  g_ptr_array_free(specs, TRUE);
  g_option_context_free(ctx);
  return rc;
}
