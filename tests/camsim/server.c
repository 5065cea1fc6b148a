/* server.c: the listener, connections and their write queues, the shared
 * UDP sockets, and the one frame-clock timer that paces every session. */
#include "camsim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <time.h>

typedef struct {
  uv_write_t req;
  cs_conn_t *conn;
  size_t len;
  char data[];
} wreq_t;

/* A shared read buffer: what a read leaves unparsed is copied to the conn,
 * so idle connections hold no buffer. */
static char read_buf[65536];

static uint64_t
now_ms(const cs_server_t *srv)
{
  return uv_now(srv->loop);
}

void
cs_session_log(cs_server_t *srv, const cs_sess_t *s, const char *event)
{
  if (!srv->session_log)
    return;
  struct timespec ts;
  struct tm tm;
  char when[32];
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
  fprintf(srv->session_log, "%s.%03ldZ %s %s %s %s\n", when, ts.tv_nsec / 1000000, s->id,
          s->mount->name, s->conn->peer, event);
  fflush(srv->session_log);
}

void
cs_sess_destroy(cs_sess_t *s)
{
  cs_server_t *srv = s->conn->srv;
  cs_session_log(srv, s, "closed");
  g_queue_delete_link(&srv->sessions, s->link);
  s->conn->sessions = g_list_remove(s->conn->sessions, s);
  g_free(s);
}

static void
conn_closed_cb(uv_handle_t *h)
{
  cs_conn_t *c = (cs_conn_t *)h;
  while (c->sessions)
    cs_sess_destroy(c->sessions->data);
  g_queue_delete_link(&c->srv->conns, c->link);
  if (c->delay_link)
    g_queue_delete_link(&c->srv->delayed, c->delay_link);
  if (c->delayed)
    g_string_free(c->delayed, TRUE);
  if (c->in)
    g_byte_array_free(c->in, TRUE);
  g_free(c);
}

void
cs_conn_close(cs_conn_t *c)
{
  if (c->closing)
    return;
  c->closing = true;
  uv_read_stop((uv_stream_t *)&c->tcp);
  /* Sessions are destroyed in the close callback, never while the frame
   * clock is walking the session queue. */
  for (GList *l = c->sessions; l; l = l->next)
    ((cs_sess_t *)l->data)->playing = false;
  uv_close((uv_handle_t *)&c->tcp, conn_closed_cb);
}

static void
write_cb(uv_write_t *req, int status)
{
  wreq_t *w = (wreq_t *)req;
  w->conn->backlog -= w->len;
  if (status < 0)
    cs_conn_close(w->conn);
  g_free(w);
}

int
cs_conn_send(cs_conn_t *c, const void *data, size_t len, bool media)
{
  if (c->closing)
    return -1;
  if (media && c->backlog > c->srv->cfg.backlog_bytes)
    return -1;
  size_t done = 0;
  if (c->backlog == 0) {
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
    int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    if (n < 0 && n != UV_EAGAIN) {
      cs_conn_close(c);
      return -1;
    }
    done = n > 0 ? (size_t)n : 0;
  }
  c->srv->stats.bytes += len;
  if (done == len)
    return 0;
  /* The write request keeps a copy of the rest; libuv writes it in order. */
  size_t rest = len - done;
  wreq_t *w = g_malloc(sizeof *w + rest);
  w->conn = c;
  w->len = rest;
  memcpy(w->data, (const char *)data + done, rest);
  uv_buf_t b = uv_buf_init(w->data, (unsigned)rest);
  int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, write_cb);
  if (rc < 0) {
    g_free(w);
    cs_conn_close(c);
    return -1;
  }
  c->backlog += rest;
  return 0;
}

static void
alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
  *buf = uv_buf_init(read_buf, sizeof read_buf);
}

static void
read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
  cs_conn_t *c = (cs_conn_t *)stream;
  if (nread < 0) {
    cs_conn_close(c);
    return;
  }
  const uint8_t *p = (const uint8_t *)buf->base;
  size_t n = (size_t)nread;
  if (c->skip) {
    size_t k = MIN(c->skip, n);
    c->skip -= k;
    p += k;
    n -= k;
  }
  if (n == 0)
    return;
  if (!c->in)
    c->in = g_byte_array_sized_new(MIN(n, (size_t)CS_MAX_REQUEST));
  g_byte_array_append(c->in, p, (guint)n);
  cs_rtsp_process(c);
}

static void
connection_cb(uv_stream_t *server, int status)
{
  cs_server_t *srv = server->data;
  if (status < 0)
    return;
  cs_conn_t *c = g_new0(cs_conn_t, 1);
  c->srv = srv;
  uv_tcp_init(srv->loop, &c->tcp);
  g_queue_push_tail(&srv->conns, c);
  c->link = srv->conns.tail;
  if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
    cs_conn_close(c);
    return;
  }
  srv->stats.conns_total++;
  struct sockaddr_storage ss;
  int len = sizeof ss;
  char ip[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0 && ss.ss_family == AF_INET) {
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    uv_ip4_name(sin, ip, sizeof ip);
    port = ntohs(sin->sin_port);
    c->peer_addr = *sin;
  }
  g_snprintf(c->peer, sizeof c->peer, "%s:%d", ip, port);
  /* Bound the connections too: a session needs one, a few more may wait. */
  if (g_queue_get_length(&srv->conns) > srv->cfg.max_sessions + 64) {
    cs_conn_close(c);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  if (srv->cfg.sndbuf_bytes > 0) {
    /* A camera-sized send buffer, so a slow client meets the backlog
     * bound in seconds rather than after the kernel's megabytes. */
    int sz = srv->cfg.sndbuf_bytes;
    uv_send_buffer_size((uv_handle_t *)&c->tcp, &sz);
  }
  uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
}

/* ---- the frame clock ------------------------------------------------------ */

static void
expire_sessions(cs_server_t *srv, uint64_t now)
{
  uint64_t limit = (uint64_t)srv->cfg.session_timeout_s * 1000;
  for (GList *l = srv->sessions.head; l; l = l->next) {
    cs_sess_t *s = l->data;
    if (!s->conn->closing && now - s->last_seen_ms > limit)
      cs_conn_close(s->conn);
  }
}

static void
send_delayed(cs_server_t *srv, uint64_t now)
{
  GList *next;
  for (GList *l = srv->delayed.head; l; l = next) {
    next = l->next;
    cs_conn_t *c = l->data;
    if (now < c->delay_until_ms)
      continue;
    g_queue_delete_link(&srv->delayed, l);
    c->delay_link = NULL;
    GString *r = c->delayed;
    c->delayed = NULL;
    cs_conn_send(c, r->str, r->len, false);
    g_string_free(r, TRUE);
    if (!c->closing)
      cs_rtsp_process(c); /* requests that waited behind it */
  }
}

static void
tick_cb(uv_timer_t *t)
{
  cs_server_t *srv = t->data;
  uint64_t now = now_ms(srv);
  uint64_t due = (now - srv->start_ms) * (uint64_t)srv->cfg.fps / 1000;
  /* Catch up at most two frames; after a longer stall, start afresh. */
  if (due > srv->ticks_done + 2)
    srv->ticks_done = due - 2;
  while (srv->ticks_done < due) {
    srv->ticks_done++;
    for (GList *l = srv->sessions.head; l; l = l->next) {
      cs_sess_t *s = l->data;
      if (s->playing && !s->conn->closing)
        cs_sess_send_frame(s);
    }
  }
  send_delayed(srv, now);
  if (srv->ticks_done % (guint64)srv->cfg.fps == 0)
    expire_sessions(srv, now);
}

/* ---- set-up and tear-down -------------------------------------------------- */

static int
bind_udp_pair(cs_server_t *srv, GError **error)
{
  struct sockaddr_in a;
  uv_ip4_addr(srv->cfg.bind, 0, &a);
  for (int attempt = 0; attempt < 200; attempt++) {
    uv_udp_init(srv->loop, &srv->udp_rtp);
    if (uv_udp_bind(&srv->udp_rtp, (struct sockaddr *)&a, 0) == 0) {
      struct sockaddr_in got;
      int len = sizeof got;
      uv_udp_getsockname(&srv->udp_rtp, (struct sockaddr *)&got, &len);
      int port = ntohs(got.sin_port);
      if (port % 2 == 0 && port < 65535) {
        struct sockaddr_in b = got;
        b.sin_port = htons((uint16_t)(port + 1));
        uv_udp_init(srv->loop, &srv->udp_rtcp);
        if (uv_udp_bind(&srv->udp_rtcp, (struct sockaddr *)&b, 0) == 0) {
          srv->udp_port = port;
          return 0;
        }
        uv_close((uv_handle_t *)&srv->udp_rtcp, NULL);
      }
    }
    uv_close((uv_handle_t *)&srv->udp_rtp, NULL);
    /* Let the closes finish before the handles are reused. */
    uv_run(srv->loop, UV_RUN_NOWAIT);
  }
  g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "no free even/odd UDP port pair");
  return -1;
}

int
cs_server_init(cs_server_t *srv, uv_loop_t *loop, const cs_config_t *cfg, GError **error)
{
  memset(srv, 0, sizeof *srv);
  srv->loop = loop;
  srv->cfg = *cfg;
  srv->mounts = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)cs_mount_free);
  g_queue_init(&srv->conns);
  g_queue_init(&srv->sessions);
  g_queue_init(&srv->delayed);
  srv->scratch = g_byte_array_sized_new(256 * 1024);
  for (int i = 0; i < 4; i++)
    g_snprintf(srv->nonce + 8 * i, 9, "%08x", g_random_int());
  srv->cfg.auth.nonce = srv->nonce;
  srv->cfg.auth.realm = "camsim";
  if (cfg->session_log) {
    srv->session_log = fopen(cfg->session_log, "a");
    if (!srv->session_log) {
      g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "%s: %s", cfg->session_log,
                  g_strerror(errno));
      return -1;
    }
  }
  return 0;
}

int
cs_server_add_mount(cs_server_t *srv, cs_mount_t *m, GError **error)
{
  if (g_hash_table_contains(srv->mounts, m->name)) {
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "mount %s defined twice", m->name);
    cs_mount_free(m);
    return -1;
  }
  g_hash_table_insert(srv->mounts, m->name, m);
  return 0;
}

int
cs_server_start(cs_server_t *srv, GError **error)
{
  struct sockaddr_in a;
  int rc;
  if ((rc = uv_ip4_addr(srv->cfg.bind, srv->cfg.port, &a)) < 0)
    goto fail;
  uv_tcp_init(srv->loop, &srv->listener);
  srv->listener.data = srv;
  if ((rc = uv_tcp_bind(&srv->listener, (struct sockaddr *)&a, 0)) < 0 ||
      (rc = uv_listen((uv_stream_t *)&srv->listener, 4096, connection_cb)) < 0)
    goto fail;
  struct sockaddr_in got;
  int len = sizeof got;
  uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&got, &len);
  srv->port = ntohs(got.sin_port);
  if (bind_udp_pair(srv, error) < 0)
    return -1;
  uv_timer_init(srv->loop, &srv->tick);
  srv->tick.data = srv;
  srv->start_ms = now_ms(srv);
  /* Fire at the frame interval; tick_cb counts frames from the start time,
   * so the rate does not drift with timer lateness. */
  uint64_t every = MAX(1, 1000 / (uint64_t)srv->cfg.fps / 2);
  uv_timer_start(&srv->tick, tick_cb, every, every);
  return 0;
fail:
  g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "listen on %s:%d: %s", srv->cfg.bind,
              srv->cfg.port, uv_strerror(rc));
  return -1;
}

static void
close_handle(uv_handle_t *h, void *arg)
{
  if (!uv_is_closing(h))
    uv_close(h, NULL);
}

void
cs_server_stop(cs_server_t *srv)
{
  srv->stopping = true;
  GList *l = srv->conns.head;
  while (l) {
    GList *next = l->next;
    cs_conn_close(l->data);
    l = next;
  }
  /* The listener, the UDP sockets, the timers and the signal handlers. */
  uv_walk(srv->loop, close_handle, NULL);
}

void
cs_server_free(cs_server_t *srv)
{
  g_hash_table_destroy(srv->mounts);
  g_byte_array_free(srv->scratch, TRUE);
  if (srv->session_log)
    fclose(srv->session_log);
}

void
cs_server_print_stats(cs_server_t *srv, FILE *out)
{
  guint playing = 0;
  for (GList *l = srv->sessions.head; l; l = l->next)
    playing += ((cs_sess_t *)l->data)->playing;
  fprintf(out,
          "camsim stats: conns=%u sessions=%u playing=%u conns_total=%" G_GUINT64_FORMAT
          " sessions_total=%" G_GUINT64_FORMAT " bytes=%" G_GUINT64_FORMAT
          " frames=%" G_GUINT64_FORMAT " drops=%" G_GUINT64_FORMAT
          " udp_packets_dropped=%" G_GUINT64_FORMAT "\n",
          g_queue_get_length(&srv->conns), g_queue_get_length(&srv->sessions), playing,
          srv->stats.conns_total, srv->stats.sessions_total, srv->stats.bytes, srv->stats.frames,
          srv->stats.drops, srv->stats.packets_dropped);
  fflush(out);
}
