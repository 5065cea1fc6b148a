#include "camera.h"

#include <string.h>

#include "log.h"
#include "rtsp_url.h"
#include "secret.h"

static const char *const state_names[CW_CAMERA_N_STATES] = {
    "connecting", "describing", "playing", "stalled", "failed", "backoff", "disabled"};

static guint64 transitions_total[CW_CAMERA_N_STATES]; /* atomics */

struct cw_ingest_camera {
  uv_loop_t *loop;
  cw_camera_config_t *config;
  cw_camera_options_t opt;
  char *shown_url; /* redacted, for logs */
  cw_rtsp_client_t *client;
  uv_timer_t *timer; /* back-off wait and stall watch; heap: closes after we go */
  cw_camera_state_t state;
  gint64 since_us;
  guint backoff_step;
  gint64 playing_since_mono; /* monotonic µs, 0 when not playing */
  gint64 last_au_mono;
  gboolean closing;
  /* health */
  cw_codec_t codec;
  int width, height;
  double sdp_fps;
  gint64 last_frame_us;
  guint64 reconnects, aus, damaged, transitions;
  guint64 period_aus, period_bytes;
  gint64 period_start_mono;
  char last_error[256];
};

const char *
cw_camera_state_name(cw_camera_state_t s)
{
  return s < CW_CAMERA_N_STATES ? state_names[s] : "unknown";
}

guint64
cw_camera_transitions(cw_camera_state_t to)
{
  return to < CW_CAMERA_N_STATES ? __atomic_load_n(&transitions_total[to], __ATOMIC_RELAXED) : 0;
}

cw_camera_config_t *
cw_camera_config_copy(const cw_camera_config_t *c)
{
  cw_camera_config_t *n = g_new0(cw_camera_config_t, 1);
  *n = *c;
  n->name = g_strdup(c->name);
  n->url = g_strdup(c->url);
  n->username = g_strdup(c->username);
  n->password = g_strdup(c->password);
  return n;
}

void
cw_camera_config_free(cw_camera_config_t *c)
{
  if (!c)
    return;
  g_free(c->name);
  g_free(c->url);
  g_free(c->username);
  cw_secret_wipe_free(c->password);
  g_free(c);
}

gboolean
cw_camera_config_differs(const cw_camera_config_t *a, const cw_camera_config_t *b)
{
  return g_strcmp0(a->url, b->url) != 0 || g_strcmp0(a->username, b->username) != 0 ||
         g_strcmp0(a->password, b->password) != 0 || a->transport != b->transport ||
         a->enabled != b->enabled;
}

static void
set_state(cw_ingest_camera_t *cam, cw_camera_state_t to, const char *why)
{
  if (cam->state == to && to != CW_CAMERA_BACKOFF)
    return;
  cw_camera_state_t from = cam->state;
  cam->state = to;
  cam->since_us = g_get_real_time();
  cam->transitions++;
  __atomic_add_fetch(&transitions_total[to], 1, __ATOMIC_RELAXED);
  if (why && *why)
    cw_log_info("ingest", "camera %s (%s): %s -> %s: %s", cam->config->name, cam->shown_url,
                state_names[from], state_names[to], why);
  else
    cw_log_info("ingest", "camera %s (%s): %s -> %s", cam->config->name, cam->shown_url,
                state_names[from], state_names[to]);
}

static void start_attempt(cw_ingest_camera_t *cam);

static void
on_backoff_done(uv_timer_t *t)
{
  start_attempt(t->data);
}

/* Full jitter: a uniformly random wait up to the capped exponential. */
static void
schedule_retry(cw_ingest_camera_t *cam, cw_camera_state_t state, const char *why)
{
  guint64 ceiling = (guint64)cam->opt.backoff_min_ms << MIN(cam->backoff_step, 20u);
  if (ceiling > cam->opt.backoff_max_ms)
    ceiling = cam->opt.backoff_max_ms;
  /* A camera that needs a human waits the longest. */
  if (state == CW_CAMERA_FAILED)
    ceiling = cam->opt.backoff_max_ms;
  guint64 wait = (guint64)g_random_double_range(0, (double)ceiling + 1);
  if (cam->backoff_step < 32)
    cam->backoff_step++;
  set_state(cam, state, why);
  uv_timer_start(cam->timer, on_backoff_done, wait, 0);
}

static void
on_phase(void *opaque, cw_rtsp_phase_t phase)
{
  cw_ingest_camera_t *cam = opaque;
  switch (phase) {
  case CW_RTSP_PHASE_CONNECTING:
    set_state(cam, CW_CAMERA_CONNECTING, NULL);
    break;
  case CW_RTSP_PHASE_DESCRIBING:
    set_state(cam, CW_CAMERA_DESCRIBING, NULL);
    break;
  case CW_RTSP_PHASE_PLAYING:
    cam->playing_since_mono = g_get_monotonic_time();
    cam->last_au_mono = cam->playing_since_mono;
    set_state(cam, CW_CAMERA_PLAYING, cw_rtsp_client_transport(cam->client));
    break;
  }
}

static void
on_media(void *opaque, cw_codec_t codec, int width, int height, double fps)
{
  cw_ingest_camera_t *cam = opaque;
  cam->codec = codec;
  if (width > 0) {
    cam->width = width;
    cam->height = height;
  }
  cam->sdp_fps = fps;
}

static void
on_access_unit(void *opaque, cw_access_unit_t *au)
{
  cw_ingest_camera_t *cam = opaque;
  gint64 now = g_get_monotonic_time();
  cam->last_au_mono = now;
  cam->last_frame_us = g_get_real_time();
  cam->aus++;
  cam->period_aus++;
  cam->period_bytes += au->size;
  if (au->damaged)
    cam->damaged++;
  if (cam->state == CW_CAMERA_STALLED)
    set_state(cam, CW_CAMERA_PLAYING, "media resumed");
  /* A session that has played long enough has earned a fresh back-off. */
  if (cam->backoff_step && now - cam->playing_since_mono > (gint64)cam->opt.stable_ms * 1000)
    cam->backoff_step = 0;
  au->camera_id = cam->config->id;
  if (cam->opt.sink)
    cam->opt.sink(cam->opt.sink_opaque, au);
}

static void
on_end(void *opaque, cw_rtsp_end_t why, const char *message)
{
  cw_ingest_camera_t *cam = opaque;
  cam->playing_since_mono = 0;
  if (why == CW_RTSP_END_STOPPED) {
    if (cam->closing || !cam->config->enabled)
      return;
    /* Stopped to apply a new configuration, or after a stall: go again. */
    schedule_retry(cam, CW_CAMERA_BACKOFF, cam->last_error);
    return;
  }
  g_strlcpy(cam->last_error, message, sizeof cam->last_error);
  cam->reconnects++;
  schedule_retry(cam, why == CW_RTSP_END_PERMANENT ? CW_CAMERA_FAILED : CW_CAMERA_BACKOFF, message);
}

/* Runs every second while a session is up: the stall watch. */
static void
on_watch(uv_timer_t *t)
{
  cw_ingest_camera_t *cam = t->data;
  if (cam->state != CW_CAMERA_PLAYING)
    return;
  gint64 quiet_ms = (g_get_monotonic_time() - cam->last_au_mono) / 1000;
  if (quiet_ms < (gint64)cam->opt.stall_ms)
    return;
  guint64 stray = cam->client ? cw_rtsp_client_stray_frames(cam->client) : 0;
  if (stray)
    g_snprintf(cam->last_error, sizeof cam->last_error,
               "no media for %" G_GINT64_FORMAT " s (%" G_GUINT64_FORMAT
               " frames arrived on an interleaved channel that was not set up)",
               quiet_ms / 1000, stray);
  else
    g_snprintf(cam->last_error, sizeof cam->last_error, "no media for %" G_GINT64_FORMAT " s",
               quiet_ms / 1000);
  set_state(cam, CW_CAMERA_STALLED, cam->last_error);
  cam->reconnects++;
  uv_timer_stop(cam->timer);
  cw_rtsp_client_stop(cam->client); /* on_end(STOPPED) schedules the retry */
}

static void
start_attempt(cw_ingest_camera_t *cam)
{
  if (!cam->config->enabled) {
    set_state(cam, CW_CAMERA_DISABLED, NULL);
    return;
  }
  if (!cam->client) {
    char *url = cw_rtsp_url_fill_password(cam->config->url, cam->config->password);
    cw_rtsp_client_config_t cfg = {
        .url = url,
        .username = cam->config->username,
        .password = cam->config->password,
        .transport = cam->config->transport,
        .timeout_ms = cam->opt.timeout_ms,
    };
    cw_rtsp_client_callbacks_t cb = {on_phase, on_media, on_access_unit, on_end};
    cam->client = cw_rtsp_client_new(cam->loop, &cfg, &cb, cam);
    cw_secret_wipe_free(url);
  }
  uv_timer_start(cam->timer, on_watch, 1000, 1000);
  cw_rtsp_client_start(cam->client);
}

cw_ingest_camera_t *
cw_ingest_camera_new(uv_loop_t *loop, const cw_camera_config_t *config,
                     const cw_camera_options_t *options)
{
  cw_ingest_camera_t *cam = g_new0(cw_ingest_camera_t, 1);
  cam->loop = loop;
  cam->config = cw_camera_config_copy(config);
  cam->opt = *options;
  if (!cam->opt.stall_ms)
    cam->opt.stall_ms = 10000;
  if (!cam->opt.backoff_min_ms)
    cam->opt.backoff_min_ms = 1000;
  if (!cam->opt.backoff_max_ms)
    cam->opt.backoff_max_ms = 60000;
  if (!cam->opt.stable_ms)
    cam->opt.stable_ms = 30000;
  cam->shown_url = cw_rtsp_url_redact(config->url, config->username, config->password != NULL);
  cam->timer = g_new0(uv_timer_t, 1);
  uv_timer_init(loop, cam->timer);
  cam->timer->data = cam;
  cam->state = CW_CAMERA_CONNECTING;
  cam->since_us = g_get_real_time();
  cam->period_start_mono = g_get_monotonic_time();
  start_attempt(cam);
  return cam;
}

void
cw_ingest_camera_update(cw_ingest_camera_t *cam, const cw_camera_config_t *config)
{
  gboolean restart = cw_camera_config_differs(cam->config, config);
  cw_camera_config_free(cam->config);
  cam->config = cw_camera_config_copy(config);
  if (!restart)
    return;
  g_free(cam->shown_url);
  cam->shown_url = cw_rtsp_url_redact(config->url, config->username, config->password != NULL);
  /* A new URL or credentials mean a new client; the old one goes quietly. */
  cw_rtsp_client_free(cam->client);
  cam->client = NULL;
  cam->backoff_step = 0;
  uv_timer_stop(cam->timer);
  cam->last_error[0] = '\0';
  set_state(cam, cam->config->enabled ? CW_CAMERA_CONNECTING : CW_CAMERA_DISABLED,
            "configuration changed");
  start_attempt(cam);
}

void
cw_ingest_camera_health(cw_ingest_camera_t *cam, cw_camera_health_t *h)
{
  memset(h, 0, sizeof *h);
  gint64 now = g_get_monotonic_time();
  double secs = (double)(now - cam->period_start_mono) / 1e6;
  h->id = cam->config->id;
  h->state = cam->state;
  h->since_us = cam->since_us;
  h->codec = cam->codec;
  h->width = cam->width;
  h->height = cam->height;
  if (cam->client) {
    int w = 0, ht = 0;
    const cw_depay_stats_t *st = cw_rtsp_client_stats(cam->client);
    if (st)
      h->lost = st->lost;
    cw_rtsp_client_resolution(cam->client, &w, &ht);
    if (w > 0) {
      h->width = cam->width = w;
      h->height = cam->height = ht;
    }
    const char *tr = cw_rtsp_client_transport(cam->client);
    if (tr)
      g_strlcpy(h->transport, tr, sizeof h->transport);
  }
  if (secs > 0.5) {
    h->fps = (double)cam->period_aus / secs;
    h->bitrate_bps = (double)cam->period_bytes * 8 / secs;
  }
  cam->period_aus = cam->period_bytes = 0;
  cam->period_start_mono = now;
  h->last_frame_us = cam->last_frame_us;
  h->reconnects = cam->reconnects;
  h->access_units = cam->aus;
  h->damaged = cam->damaged;
  h->transitions = cam->transitions;
  g_strlcpy(h->last_error, cam->last_error, sizeof h->last_error);
}

static void
on_timer_closed(uv_handle_t *h)
{
  g_free(h);
}

void
cw_ingest_camera_free(cw_ingest_camera_t *cam)
{
  if (!cam)
    return;
  cam->closing = TRUE;
  cw_rtsp_client_free(cam->client);
  uv_close((uv_handle_t *)cam->timer, on_timer_closed);
  g_free(cam->shown_url);
  cw_camera_config_free(cam->config);
  g_free(cam);
}
