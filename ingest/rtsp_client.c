#include "rtsp_client.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cw_error.h"
#include "rtcp.h"
#include "rtsp_auth.h"
#include "rtsp_msg.h"
#include "rtsp_url.h"
#include "sdp.h"
#include "secret.h"

/* A TCP read buffer grows to hold one frame at most: the largest is an
 * interleaved frame (64 KiB) or a response with its body. */
#define RBUF_MAX (CW_RTSP_MAX_HEADER_BYTES + CW_RTSP_MAX_BODY + 4096)
#define WRITE_BACKLOG_MAX (1 << 20)
#define RR_INTERVAL_MS 5000

typedef enum { STEP_OPTIONS, STEP_DESCRIBE, STEP_SETUP, STEP_PLAY, STEP_PLAYING } step_t;

typedef struct attempt attempt_t;

struct cw_rtsp_client {
  uv_loop_t *loop;
  char *url, *username, *password;
  cw_rtsp_transport_pref_t transport;
  guint timeout_ms, max_redirects;
  cw_rtsp_client_callbacks_t cb;
  void *opaque;
  attempt_t *attempt; /* the running attempt, NULL when idle */
  cw_depay_stats_t last_stats;
  gboolean have_stats;
  guint64 bytes;
  guint64 stray_frames;
  const char *transport_used;
};

/* Everything one attempt owns. Outlives the client when the client is freed
 * while handles close (c is then NULL). */
struct attempt {
  cw_rtsp_client_t *c;
  int open_handles;
  gboolean ending;
  cw_rtsp_end_t why;
  char message[CW_ERROR_MAX];

  uv_getaddrinfo_t gai;
  uv_connect_t connect_req;
  uv_tcp_t *tcp; /* heap: a redirect closes one and opens another */
  gboolean gai_pending;
  uv_timer_t timer;     /* connect and response deadline */
  uv_timer_t keepalive; /* keep-alive and receiver reports while playing */
  uv_udp_t *udp[2];     /* RTP, RTCP when on UDP; heap, freed when closed */
  gboolean tcp_open, udp_open;
  struct sockaddr_storage peer;
  int udp_port;

  guint8 *rbuf;
  size_t rlen, rcap;

  step_t step;
  int cseq, pending_cseq;
  char *url;       /* current request URL (after redirects), user information removed */
  char *base;      /* for control URLs */
  char *track;     /* the video track's control URL */
  char *aggregate; /* session-level control URL, for PLAY */
  char *session;
  int session_timeout;
  guint redirects;
  gboolean send_credentials;
  cw_rtsp_challenge_t challenge;
  gboolean have_challenge;
  guint auth_tries;
  gboolean use_get_parameter;
  gboolean tcp_media;
  int channel[2];
  int server_port[2];
  cw_codec_t codec;
  int payload_type;
  guint32 clock_rate;
  guint8 *param_sets;
  size_t param_sets_len;
  cw_depay_t *depay;
  cw_rtcp_rr_state_t rr_state;
  guint64 last_sr_ntp;
  gint64 last_sr_at;
  guint32 our_ssrc;
  guint64 since_keepalive_ms, since_rr_ms;
};

static void end_attempt(attempt_t *a, cw_rtsp_end_t why, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static void begin_connect(attempt_t *a);

/* ---- lifetime ------------------------------------------------------------ */

static void
attempt_free(attempt_t *a)
{
  g_free(a->rbuf);
  g_free(a->url);
  g_free(a->base);
  g_free(a->track);
  g_free(a->aggregate);
  g_free(a->session);
  g_free(a->param_sets);
  cw_rtsp_challenge_clear(&a->challenge);
  if (a->depay)
    cw_depay_free(a->depay);
  g_free(a);
}

/* Drops one hold on the attempt (a handle closed, a request finished);
 * the last one reports the end and frees it. */
static void
release(attempt_t *a)
{
  if (--a->open_handles > 0)
    return;
  cw_rtsp_client_t *c = a->c;
  if (c) {
    /* Keep the figures of the attempt for health reporting. */
    if (a->depay) {
      c->last_stats = *cw_depay_stats(a->depay);
      c->have_stats = TRUE;
    }
    c->attempt = NULL;
    if (c->cb.on_end)
      c->cb.on_end(c->opaque, a->why, a->message);
  }
  attempt_free(a);
}

static void
on_handle_closed(uv_handle_t *h)
{
  attempt_t *a = h->data;
  if (h->type == UV_UDP || h->type == UV_TCP)
    g_free(h); /* sockets are allocated per attempt */
  release(a);
}

static void
on_spare_closed(uv_handle_t *h)
{
  g_free(h);
}

static void
close_handle(attempt_t *a, uv_handle_t *h)
{
  if (!uv_is_closing(h))
    uv_close(h, on_handle_closed);
}

/* Ends the attempt: everything closes, and on_end follows once it has. */
static void
end_attempt(attempt_t *a, cw_rtsp_end_t why, const char *fmt, ...)
{
  if (a->ending)
    return;
  a->ending = TRUE;
  a->why = why;
  va_list ap;
  va_start(ap, fmt);
  g_vsnprintf(a->message, sizeof a->message, fmt, ap);
  va_end(ap);
  if (a->gai_pending)
    uv_cancel((uv_req_t *)&a->gai);
  close_handle(a, (uv_handle_t *)&a->timer);
  close_handle(a, (uv_handle_t *)&a->keepalive);
  if (a->tcp_open)
    close_handle(a, (uv_handle_t *)a->tcp);
  if (a->udp_open) {
    close_handle(a, (uv_handle_t *)a->udp[0]);
    close_handle(a, (uv_handle_t *)a->udp[1]);
  }
}

/* ---- writing ------------------------------------------------------------- */

typedef struct {
  uv_write_t req;
  size_t len;
  char data[];
} write_t;

static void
on_written(uv_write_t *req, int status)
{
  g_free(req->data);
}

static int
send_bytes(attempt_t *a, const void *data, size_t len)
{
  if (!a->tcp_open || a->ending)
    return -ENOTCONN;
  if (uv_stream_get_write_queue_size((uv_stream_t *)a->tcp) > WRITE_BACKLOG_MAX) {
    end_attempt(a, CW_RTSP_END_TRANSIENT, "camera stopped reading from the connection");
    return -ENOBUFS;
  }
  write_t *w = g_malloc(sizeof *w + len);
  w->len = len;
  memcpy(w->data, data, len);
  w->req.data = w;
  uv_buf_t buf = uv_buf_init(w->data, (unsigned)len);
  int rc = uv_write(&w->req, (uv_stream_t *)a->tcp, &buf, 1, on_written);
  if (rc < 0) {
    g_free(w);
    end_attempt(a, CW_RTSP_END_TRANSIENT, "write: %s", uv_strerror(rc));
  }
  return rc;
}

static const char *
method_of(step_t step)
{
  switch (step) {
  case STEP_OPTIONS:
    return "OPTIONS";
  case STEP_DESCRIBE:
    return "DESCRIBE";
  case STEP_SETUP:
    return "SETUP";
  case STEP_PLAY:
    return "PLAY";
  default:
    return "GET_PARAMETER";
  }
}

static void
on_response_timeout(uv_timer_t *t)
{
  attempt_t *a = t->data;
  end_attempt(a, CW_RTSP_END_TRANSIENT, "no answer to %s within %u ms", method_of(a->step),
              a->c ? a->c->timeout_ms : 0);
}

/* Sends METHOD for uri with the session's headers, and arms the deadline
 * when an answer is awaited. */
static void
send_request(attempt_t *a, const char *method, const char *uri, const char *extra, gboolean await)
{
  const char *headers[6];
  int n = 0;
  char *auth_line = NULL, *session_line = NULL;
  if (a->have_challenge && a->send_credentials && a->c) {
    char *value = cw_rtsp_auth_header(&a->challenge, method, uri, a->c->username,
                                      a->c->password ? a->c->password : "");
    if (!value) {
      end_attempt(a, CW_RTSP_END_PERMANENT,
                  "%s: these credentials cannot be sent (a ':' in a Basic user name, or a "
                  "control character)",
                  method);
      return;
    }
    auth_line = g_strdup_printf("Authorization: %s", value);
    cw_secret_wipe_free(value);
    headers[n++] = auth_line;
  }
  if (a->session) {
    session_line = g_strdup_printf("Session: %s", a->session);
    headers[n++] = session_line;
  }
  if (extra)
    headers[n++] = extra;
  headers[n] = NULL;
  int cseq = ++a->cseq;
  char *req = cw_rtsp_request_build(method, uri, cseq, headers);
  cw_secret_wipe_free(auth_line);
  g_free(session_line);
  if (!req) {
    end_attempt(a, CW_RTSP_END_PERMANENT, "%s: the URL holds characters that cannot be sent",
                method);
    return;
  }
  if (await) {
    a->pending_cseq = cseq;
    uv_timer_start(&a->timer, on_response_timeout, a->c ? a->c->timeout_ms : 10000, 0);
  }
  send_bytes(a, req, strlen(req));
  cw_secret_wipe_free(req); /* it may carry an Authorization header */
}

static void send_step(attempt_t *a);

/* ---- media ------------------------------------------------------------- */

static void
on_depay_au(void *opaque, cw_access_unit_t *au)
{
  attempt_t *a = opaque;
  if (a->c && !a->ending && a->c->cb.on_access_unit)
    a->c->cb.on_access_unit(a->c->opaque, au);
}

static void
handle_rtcp(attempt_t *a, const guint8 *data, size_t len)
{
  cw_rtcp_sr_t sr;
  gboolean has_sr = FALSE, bye = FALSE;
  if (cw_rtcp_parse(data, len, &sr, &has_sr, &bye, NULL) < 0)
    return;
  if (has_sr && a->depay) {
    a->last_sr_ntp = sr.ntp;
    a->last_sr_at = g_get_monotonic_time();
    cw_depay_set_wallclock(a->depay, sr.rtp_ts, cw_rtcp_ntp_to_unix_us(sr.ntp));
  }
  if (bye)
    end_attempt(a, CW_RTSP_END_TRANSIENT, "camera ended the stream (RTCP BYE)");
}

static void
handle_media(attempt_t *a, int channel, const guint8 *data, size_t len)
{
  if (a->step != STEP_PLAYING && a->step != STEP_PLAY)
    return;
  if (channel == a->channel[0] && a->depay)
    cw_depay_push(a->depay, data, len);
  else if (channel == a->channel[1])
    handle_rtcp(a, data, len);
  else if (a->c)
    a->c->stray_frames++;
}

static void
send_receiver_report(attempt_t *a)
{
  if (!a->depay)
    return;
  guint8 pkt[256];
  gint64 delay = a->last_sr_ntp ? g_get_monotonic_time() - a->last_sr_at : 0;
  size_t n = cw_rtcp_build_rr(pkt + 4, sizeof pkt - 4, a->our_ssrc, cw_depay_stats(a->depay),
                              &a->rr_state, a->last_sr_ntp, delay, "citywatch");
  if (n == 0)
    return;
  if (a->tcp_media) {
    pkt[0] = '$';
    pkt[1] = (guint8)a->channel[1];
    pkt[2] = (guint8)(n >> 8);
    pkt[3] = (guint8)n;
    send_bytes(a, pkt, n + 4);
  } else if (a->udp_open && a->server_port[1] > 0) {
    struct sockaddr_storage to = a->peer;
    if (to.ss_family == AF_INET)
      ((struct sockaddr_in *)&to)->sin_port = htons((uint16_t)a->server_port[1]);
    else
      ((struct sockaddr_in6 *)&to)->sin6_port = htons((uint16_t)a->server_port[1]);
    uv_buf_t buf = uv_buf_init((char *)pkt + 4, (unsigned)n);
    uv_udp_try_send(a->udp[1], &buf, 1, (const struct sockaddr *)&to);
  }
}

/* The keep-alive period: a third of the session timeout, so two can be
 * lost or answered late and the session still lives. */
static guint64
keepalive_every_ms(const attempt_t *a)
{
  return (guint64)MAX(a->session_timeout, 3) * 1000 / 3;
}

/* One tick drives both receiver reports (every RR_INTERVAL_MS) and the
 * keep-alive; it runs as often as the shorter of the two needs. */
static guint64
tick_ms(const attempt_t *a)
{
  return MIN((guint64)RR_INTERVAL_MS, keepalive_every_ms(a));
}

static void
on_keepalive(uv_timer_t *t)
{
  attempt_t *a = t->data;
  guint64 tick = tick_ms(a);
  a->since_rr_ms += tick;
  if (a->since_rr_ms + tick / 2 >= RR_INTERVAL_MS) {
    a->since_rr_ms = 0;
    send_receiver_report(a);
  }
  a->since_keepalive_ms += tick;
  if (a->since_keepalive_ms + tick / 2 >= keepalive_every_ms(a)) {
    a->since_keepalive_ms = 0;
    send_request(a, a->use_get_parameter ? "GET_PARAMETER" : "OPTIONS",
                 a->use_get_parameter ? a->base : a->url, NULL, FALSE);
  }
}

/* ---- UDP --------------------------------------------------------------- */

static void
udp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
  /* libuv calls recv right after alloc on the same thread, so one buffer
   * per worker thread serves every camera it owns. */
  static _Thread_local char space[65536];
  *buf = uv_buf_init(space, sizeof space);
}

static gboolean
same_host(const struct sockaddr *a, const struct sockaddr *b)
{
  if (a->sa_family != b->sa_family)
    return FALSE;
  if (a->sa_family == AF_INET)
    return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
           ((const struct sockaddr_in *)b)->sin_addr.s_addr;
  if (a->sa_family == AF_INET6)
    return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                  &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr)) == 0;
  return FALSE;
}

static void
on_udp_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *from,
            unsigned flags)
{
  attempt_t *a = h->data;
  if (nread <= 0 || a->ending || !a->c || !from)
    return;
  /* Media only from the camera we set the session up with: anyone else on
   * the network could otherwise inject pictures into its recording. */
  if (!same_host(from, (const struct sockaddr *)&a->peer)) {
    a->c->stray_frames++;
    return;
  }
  a->c->bytes += (guint64)nread;
  handle_media(a, h == a->udp[0] ? a->channel[0] : a->channel[1], (const guint8 *)buf->base,
               (size_t)nread);
}

/* Binds an even RTP port and the odd RTCP port above it (RFC 3550 11). */
static int
open_udp(attempt_t *a)
{
  int rc = UV_EADDRINUSE;
  for (int tries = 0; tries < 32 && rc < 0; tries++) {
    int port = 20000 + 2 * (int)g_random_int_range(0, 20000);
    uv_udp_t *pair[2] = {g_new0(uv_udp_t, 1), g_new0(uv_udp_t, 1)};
    rc = 0;
    for (int i = 0; i < 2 && rc == 0; i++) {
      struct sockaddr_storage any = {0};
      if (a->peer.ss_family == AF_INET6)
        uv_ip6_addr("::", port + i, (struct sockaddr_in6 *)&any);
      else
        uv_ip4_addr("0.0.0.0", port + i, (struct sockaddr_in *)&any);
      uv_udp_init(a->timer.loop, pair[i]);
      pair[i]->data = a;
      rc = uv_udp_bind(pair[i], (struct sockaddr *)&any, 0);
    }
    if (rc < 0) {
      uv_close((uv_handle_t *)pair[0], on_spare_closed);
      uv_close((uv_handle_t *)pair[1], on_spare_closed);
      continue;
    }
    a->udp[0] = pair[0];
    a->udp[1] = pair[1];
    a->udp_port = port;
  }
  if (rc < 0)
    return rc;
  a->udp_open = TRUE;
  a->open_handles += 2;
  uv_udp_recv_start(a->udp[0], udp_alloc, on_udp_recv);
  uv_udp_recv_start(a->udp[1], udp_alloc, on_udp_recv);
  return 0;
}

/* ---- the RTSP exchange ------------------------------------------------- */

static void
send_step(attempt_t *a)
{
  char *extra = NULL;
  switch (a->step) {
  case STEP_OPTIONS:
    send_request(a, "OPTIONS", a->url, NULL, TRUE);
    break;
  case STEP_DESCRIBE:
    send_request(a, "DESCRIBE", a->url, "Accept: application/sdp", TRUE);
    break;
  case STEP_SETUP:
    if (a->tcp_media) {
      extra = g_strdup("Transport: RTP/AVP/TCP;unicast;interleaved=0-1");
    } else {
      if (!a->udp_open) {
        int rc = open_udp(a);
        if (rc < 0) {
          end_attempt(a, CW_RTSP_END_TRANSIENT, "SETUP: no free UDP port pair: %s",
                      uv_strerror(rc));
          return;
        }
      }
      extra = g_strdup_printf("Transport: RTP/AVP;unicast;client_port=%d-%d", a->udp_port,
                              a->udp_port + 1);
    }
    send_request(a, "SETUP", a->track, extra, TRUE);
    break;
  case STEP_PLAY:
    send_request(a, "PLAY", a->aggregate ? a->aggregate : a->base, "Range: npt=0.000-", TRUE);
    break;
  case STEP_PLAYING:
    break;
  }
  g_free(extra);
}

/* A 3xx: start over at the Location, keeping the credentials only when the
 * camera sends us to itself. */
static void
follow_redirect(attempt_t *a, const cw_rtsp_frame_t *f)
{
  const char *location = cw_rtsp_frame_header(f, "Location");
  cw_rtsp_url_t to;
  cw_error_t err;
  if (!location || cw_rtsp_url_parse(location, "Location", &to, &err) < 0) {
    end_attempt(a, CW_RTSP_END_TRANSIENT, "%s: redirect %d without a usable Location",
                method_of(a->step), f->status);
    return;
  }
  if (a->c && ++a->redirects > a->c->max_redirects) {
    cw_rtsp_url_clear(&to);
    end_attempt(a, CW_RTSP_END_PERMANENT, "more than %u redirects", a->c->max_redirects);
    return;
  }
  cw_rtsp_url_t from;
  if (cw_rtsp_url_parse(a->url, "url", &from, NULL) == 0) {
    if (g_ascii_strcasecmp(from.host, to.host) != 0)
      a->send_credentials = FALSE;
    cw_rtsp_url_clear(&from);
  }
  g_free(a->url);
  a->url = g_strdup(to.clean);
  cw_rtsp_url_clear(&to);
  /* A fresh connection to the new place; this attempt's handles are reused
   * once the old stream has closed. */
  a->tcp_open = FALSE;
  a->rlen = 0;
  a->have_challenge = FALSE;
  a->auth_tries = 0;
  uv_close((uv_handle_t *)a->tcp, on_spare_closed);
  a->tcp = NULL;
  a->open_handles--; /* the spare close does not count */
  begin_connect(a);
}

static gboolean
handle_auth(attempt_t *a, const cw_rtsp_frame_t *f)
{
  cw_rtsp_client_t *c = a->c;
  if (!c->username || !a->send_credentials) {
    end_attempt(a, CW_RTSP_END_PERMANENT,
                "%s: 401 Unauthorized: the camera wants credentials and none are configured",
                method_of(a->step));
    return FALSE;
  }
  guint n = 0;
  const char **values = cw_rtsp_frame_headers(f, "WWW-Authenticate", &n);
  cw_rtsp_challenge_t ch = {0};
  cw_error_t err;
  int rc = cw_rtsp_auth_parse(values, n, &ch, &err);
  g_free(values);
  if (rc < 0) {
    end_attempt(a, CW_RTSP_END_PERMANENT, "%s: 401: %s", method_of(a->step), err.msg);
    return FALSE;
  }
  /* A second 401 means the credentials are wrong, unless the nonce only
   * went stale. */
  if (a->auth_tries >= 1 && !ch.stale) {
    cw_rtsp_challenge_clear(&ch);
    end_attempt(a, CW_RTSP_END_PERMANENT, "%s: 401 Unauthorized: credentials rejected",
                method_of(a->step));
    return FALSE;
  }
  if (a->auth_tries >= 3) {
    cw_rtsp_challenge_clear(&ch);
    end_attempt(a, CW_RTSP_END_PERMANENT, "%s: 401 Unauthorized: nonce keeps going stale",
                method_of(a->step));
    return FALSE;
  }
  a->auth_tries++;
  cw_rtsp_challenge_clear(&a->challenge);
  a->challenge = ch;
  a->have_challenge = TRUE;
  send_step(a);
  return TRUE;
}

static void
after_describe(attempt_t *a, const cw_rtsp_frame_t *f)
{
  const char *base = cw_rtsp_frame_header(f, "Content-Base");
  if (!base)
    base = cw_rtsp_frame_header(f, "Content-Location");
  g_free(a->base);
  a->base = g_strdup(base ? base : a->url);
  cw_sdp_t *sdp = NULL;
  cw_error_t err;
  if (cw_sdp_parse((const char *)f->body, f->body_len, a->base, &sdp, &err) < 0) {
    end_attempt(a, CW_RTSP_END_TRANSIENT, "DESCRIBE: bad SDP: %s", err.msg);
    return;
  }
  const cw_sdp_media_t *m = cw_sdp_first_video(sdp);
  if (!m) {
    cw_sdp_free(sdp);
    end_attempt(a, CW_RTSP_END_PERMANENT, "DESCRIBE: no H.264 or H.265 video track in the SDP");
    return;
  }
  a->codec = m->codec;
  a->payload_type = m->payload_type;
  a->clock_rate = m->clock_rate ? m->clock_rate : 90000;
  /* A redirect after an earlier DESCRIBE brings these again. */
  g_free(a->track);
  g_free(a->aggregate);
  g_clear_pointer(&a->param_sets, g_free);
  a->param_sets_len = 0;
  a->track = g_strdup(m->control ? m->control : a->base);
  a->aggregate = g_strdup(sdp->session_control);
  if (m->param_sets) {
    a->param_sets = g_memdup2(m->param_sets, m->param_sets_len);
    a->param_sets_len = m->param_sets_len;
  }
  if (a->c && a->c->cb.on_media)
    a->c->cb.on_media(a->c->opaque, m->codec, m->width, m->height, m->framerate);
  cw_sdp_free(sdp);
  a->step = STEP_SETUP;
  send_step(a);
}

static void
after_setup(attempt_t *a, const cw_rtsp_frame_t *f)
{
  cw_error_t err;
  const char *session = cw_rtsp_frame_header(f, "Session");
  const char *transport = cw_rtsp_frame_header(f, "Transport");
  if (!session || !transport) {
    end_attempt(a, CW_RTSP_END_TRANSIENT, "SETUP: answer without %s",
                session ? "Transport" : "Session");
    return;
  }
  g_free(a->session);
  a->session = NULL;
  if (cw_rtsp_parse_session(session, &a->session, &a->session_timeout, &err) < 0) {
    end_attempt(a, CW_RTSP_END_TRANSIENT, "SETUP: %s", err.msg);
    return;
  }
  cw_rtsp_transport_t t = {0};
  if (cw_rtsp_parse_transport(transport, &t, &err) < 0) {
    end_attempt(a, CW_RTSP_END_TRANSIENT, "SETUP: %s", err.msg);
    return;
  }
  if (a->tcp_media) {
    /* The server may pick other channels than we asked for. */
    a->channel[0] = t.interleaved[0] >= 0 ? t.interleaved[0] : 0;
    a->channel[1] = t.interleaved[1] >= 0 ? t.interleaved[1] : a->channel[0] + 1;
  } else {
    a->channel[0] = 0;
    a->channel[1] = 1;
    a->server_port[0] = t.server_port[0];
    a->server_port[1] = t.server_port[1];
  }
  cw_rtsp_transport_clear(&t);
  if (a->c)
    a->c->transport_used = a->tcp_media ? "tcp" : "udp";
  a->depay =
      cw_depay_new(a->codec, a->clock_rate, a->param_sets, a->param_sets_len, on_depay_au, a);
  a->step = STEP_PLAY;
  send_step(a);
}

static void
handle_response(attempt_t *a, const cw_rtsp_frame_t *f)
{
  if (cw_rtsp_frame_cseq(f) != a->pending_cseq || a->pending_cseq == 0)
    return; /* an answer to a keep-alive, or stale */
  a->pending_cseq = 0;
  uv_timer_stop(&a->timer);
  const char *method = method_of(a->step);

  if (f->status == 401) {
    handle_auth(a, f);
    return;
  }
  if (f->status >= 300 && f->status < 400 && f->status != 304) {
    follow_redirect(a, f);
    return;
  }
  if (a->step == STEP_SETUP && a->tcp_media && (f->status == 461 || f->status == 400) && a->c &&
      a->c->transport == CW_RTSP_TRANSPORT_AUTO) {
    /* VLC answers 461, rtsp-server-perl 400: try the same track over UDP. */
    a->tcp_media = FALSE;
    send_step(a);
    return;
  }
  if (a->step == STEP_OPTIONS && f->status != 200) {
    /* Some cameras refuse OPTIONS before DESCRIBE; it is only a courtesy. */
    a->step = STEP_DESCRIBE;
    send_step(a);
    return;
  }
  if (f->status != 200) {
    gboolean permanent = f->status == 403 || f->status == 404 || f->status == 415 ||
                         f->status == 461 || f->status == 400;
    end_attempt(a, permanent ? CW_RTSP_END_PERMANENT : CW_RTSP_END_TRANSIENT, "%s: %d %s", method,
                f->status, f->reason ? f->reason : "");
    return;
  }
  switch (a->step) {
  case STEP_OPTIONS: {
    const char *pub = cw_rtsp_frame_header(f, "Public");
    a->use_get_parameter = pub && strstr(pub, "GET_PARAMETER") != NULL;
    a->step = STEP_DESCRIBE;
    send_step(a);
    break;
  }
  case STEP_DESCRIBE:
    after_describe(a, f);
    break;
  case STEP_SETUP:
    after_setup(a, f);
    break;
  case STEP_PLAY:
    a->step = STEP_PLAYING;
    uv_timer_start(&a->keepalive, on_keepalive, tick_ms(a), tick_ms(a));
    if (a->c && a->c->cb.on_phase)
      a->c->cb.on_phase(a->c->opaque, CW_RTSP_PHASE_PLAYING);
    break;
  case STEP_PLAYING:
    break;
  }
}

/* Answers what a server asks of us (some send GET_PARAMETER or OPTIONS as
 * their own keep-alive): 200 to those, 501 to the rest. */
static void
answer_request(attempt_t *a, const cw_rtsp_frame_t *f)
{
  gboolean ok =
      f->method && (strcmp(f->method, "GET_PARAMETER") == 0 || strcmp(f->method, "OPTIONS") == 0);
  char *reply = g_strdup_printf("RTSP/1.0 %s\r\nCSeq: %d\r\n\r\n",
                                ok ? "200 OK" : "501 Not Implemented", cw_rtsp_frame_cseq(f));
  send_bytes(a, reply, strlen(reply));
  g_free(reply);
}

/* ---- TCP --------------------------------------------------------------- */

static void
tcp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
  attempt_t *a = h->data;
  if (a->rcap - a->rlen < 4096 && a->rcap < RBUF_MAX) {
    a->rcap = MIN(MAX(a->rcap * 2, 8192), (size_t)RBUF_MAX);
    a->rbuf = g_realloc(a->rbuf, a->rcap);
  }
  *buf = uv_buf_init((char *)a->rbuf + a->rlen, (unsigned)(a->rcap - a->rlen));
}

static void
on_tcp_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
  attempt_t *a = s->data;
  if (a->ending)
    return;
  if (nread < 0) {
    end_attempt(a, CW_RTSP_END_TRANSIENT, "%s: connection %s by the camera",
                a->step == STEP_PLAYING ? "PLAY" : method_of(a->step),
                nread == UV_EOF ? "closed" : uv_strerror((int)nread));
    return;
  }
  if (a->c)
    a->c->bytes += (guint64)nread;
  a->rlen += (size_t)nread;
  size_t off = 0;
  while (off < a->rlen && !a->ending) {
    cw_rtsp_frame_t f = {0};
    cw_error_t err;
    int rc = cw_rtsp_read(a->rbuf + off, a->rlen - off, &f, &err);
    if (rc < 0) {
      end_attempt(a, CW_RTSP_END_TRANSIENT, "%s: bad answer from the camera: %s",
                  method_of(a->step), err.msg);
      return;
    }
    if (rc == 0)
      break;
    off += f.consumed;
    if (f.kind == CW_RTSP_INTERLEAVED)
      handle_media(a, f.channel, f.payload, f.payload_len);
    else if (f.kind == CW_RTSP_RESPONSE)
      handle_response(a, &f);
    else if (f.kind == CW_RTSP_REQUEST)
      answer_request(a, &f);
    cw_rtsp_frame_clear(&f);
    if (!a->tcp_open)
      return; /* a redirect replaced the connection */
  }
  if (a->ending)
    return;
  memmove(a->rbuf, a->rbuf + off, a->rlen - off);
  a->rlen -= off;
  if (a->rlen == a->rcap)
    end_attempt(a, CW_RTSP_END_TRANSIENT, "%s: answer larger than %d bytes", method_of(a->step),
                RBUF_MAX);
}

static void
on_connected(uv_connect_t *req, int status)
{
  attempt_t *a = req->data;
  if (a->ending || status == UV_ECANCELED)
    return;
  if (status < 0) {
    end_attempt(a, CW_RTSP_END_TRANSIENT, "connect: %s", uv_strerror(status));
    return;
  }
  uv_timer_stop(&a->timer);
  int len = sizeof a->peer;
  uv_tcp_getpeername(a->tcp, (struct sockaddr *)&a->peer, &len);
  uv_tcp_nodelay(a->tcp, 1);
  uv_read_start((uv_stream_t *)a->tcp, tcp_alloc, on_tcp_read);
  if (a->c && a->c->cb.on_phase)
    a->c->cb.on_phase(a->c->opaque, CW_RTSP_PHASE_DESCRIBING);
  a->step = STEP_OPTIONS;
  send_step(a);
}

static void
on_connect_timeout(uv_timer_t *t)
{
  attempt_t *a = t->data;
  end_attempt(a, CW_RTSP_END_TRANSIENT, "connect: no answer within %u ms",
              a->c ? a->c->timeout_ms : 0);
}

static void
on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
  attempt_t *a = req->data;
  a->gai_pending = FALSE;
  if (a->ending || status == UV_ECANCELED) {
    uv_freeaddrinfo(res);
    release(a);
    return;
  }
  a->open_handles--; /* the request's hold, given back without releasing */
  if (status < 0) {
    end_attempt(a, CW_RTSP_END_TRANSIENT, "resolve: %s", uv_strerror(status));
    return;
  }
  a->tcp = g_new0(uv_tcp_t, 1);
  uv_tcp_init(a->timer.loop, a->tcp);
  a->tcp->data = a;
  a->tcp_open = TRUE;
  a->open_handles++;
  a->connect_req.data = a;
  int rc = uv_tcp_connect(&a->connect_req, a->tcp, res->ai_addr, on_connected);
  uv_freeaddrinfo(res);
  if (rc < 0)
    end_attempt(a, CW_RTSP_END_TRANSIENT, "connect: %s", uv_strerror(rc));
}

static void
begin_connect(attempt_t *a)
{
  cw_rtsp_url_t u;
  cw_error_t err;
  if (cw_rtsp_url_parse(a->url, "url", &u, &err) < 0) {
    end_attempt(a, CW_RTSP_END_PERMANENT, "%s", err.msg);
    return;
  }
  if (strcmp(u.scheme, "rtsps") == 0) {
    cw_rtsp_url_clear(&u);
    end_attempt(a, CW_RTSP_END_PERMANENT, "rtsps (RTSP over TLS) is not supported yet");
    return;
  }
  char port[8];
  g_snprintf(port, sizeof port, "%d", u.port > 0 ? u.port : 554);
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC};
  a->gai.data = a;
  uv_timer_start(&a->timer, on_connect_timeout, a->c ? a->c->timeout_ms : 10000, 0);
  int rc = uv_getaddrinfo(a->timer.loop, &a->gai, on_resolved, u.host, port, &hints);
  cw_rtsp_url_clear(&u);
  if (rc < 0) {
    end_attempt(a, CW_RTSP_END_TRANSIENT, "resolve: %s", uv_strerror(rc));
    return;
  }
  /* The attempt must outlive the request, whatever ends first. */
  a->gai_pending = TRUE;
  a->open_handles++;
}

/* ---- public API -------------------------------------------------------- */

cw_rtsp_client_t *
cw_rtsp_client_new(uv_loop_t *loop, const cw_rtsp_client_config_t *config,
                   const cw_rtsp_client_callbacks_t *callbacks, void *opaque)
{
  cw_rtsp_client_t *c = g_new0(cw_rtsp_client_t, 1);
  c->loop = loop;
  c->url = g_strdup(config->url);
  c->username = g_strdup(config->username);
  c->password = g_strdup(config->password);
  c->transport = config->transport;
  c->timeout_ms = config->timeout_ms ? config->timeout_ms : 10000;
  c->max_redirects = config->max_redirects ? config->max_redirects : 3;
  c->cb = *callbacks;
  c->opaque = opaque;
  return c;
}

int
cw_rtsp_client_start(cw_rtsp_client_t *c)
{
  if (c->attempt)
    return -EBUSY;
  attempt_t *a = g_new0(attempt_t, 1);
  a->c = c;
  c->attempt = a;
  c->transport_used = NULL;
  c->stray_frames = 0;
  a->url = g_strdup(c->url);
  a->send_credentials = TRUE;
  a->tcp_media = c->transport != CW_RTSP_TRANSPORT_UDP;
  a->channel[0] = 0;
  a->channel[1] = 1;
  a->session_timeout = 60;
  a->our_ssrc = g_random_int();
  uv_timer_init(c->loop, &a->timer);
  uv_timer_init(c->loop, &a->keepalive);
  a->timer.data = a->keepalive.data = a;
  a->open_handles = 2;
  if (c->cb.on_phase)
    c->cb.on_phase(c->opaque, CW_RTSP_PHASE_CONNECTING);
  begin_connect(a);
  return 0;
}

void
cw_rtsp_client_stop(cw_rtsp_client_t *c)
{
  attempt_t *a = c->attempt;
  if (!a || a->ending)
    return;
  /* uv_write tries at once when nothing is queued, so the TEARDOWN goes out
   * before the close that follows. */
  if (a->session && a->tcp_open)
    send_request(a, "TEARDOWN", a->aggregate ? a->aggregate : a->base, NULL, FALSE);
  end_attempt(a, CW_RTSP_END_STOPPED, "stopped");
}

void
cw_rtsp_client_free(cw_rtsp_client_t *c)
{
  if (!c)
    return;
  if (c->attempt) {
    cw_rtsp_client_stop(c);
    c->attempt->c = NULL; /* its handles finish closing without us */
  }
  g_free(c->url);
  g_free(c->username);
  cw_secret_wipe_free(c->password);
  g_free(c);
}

const cw_depay_stats_t *
cw_rtsp_client_stats(const cw_rtsp_client_t *c)
{
  if (c->attempt && c->attempt->depay)
    return cw_depay_stats(c->attempt->depay);
  return c->have_stats ? &c->last_stats : NULL;
}

guint64
cw_rtsp_client_bytes(const cw_rtsp_client_t *c)
{
  return c->bytes;
}

const char *
cw_rtsp_client_transport(const cw_rtsp_client_t *c)
{
  return c->transport_used;
}

guint64
cw_rtsp_client_stray_frames(const cw_rtsp_client_t *c)
{
  return c->stray_frames;
}

void
cw_rtsp_client_resolution(const cw_rtsp_client_t *c, int *width, int *height)
{
  *width = *height = 0;
  if (c->attempt && c->attempt->depay)
    cw_depay_resolution(c->attempt->depay, width, height);
}
