/* rtsp.c: RTSP 1.0 requests (RFC 2326) and the per-session media clock.
 * Every request is bounded by CS_MAX_REQUEST (head and body together). */
#include "camsim.h"

#include <arpa/inet.h>
#include <string.h>

#define MAX_HEADERS 32

typedef struct {
  char *method, *uri, *version;
  struct {
    const char *name, *value;
  } h[MAX_HEADERS];
  int n_h;
  const char *cseq;
} req_t;

static const char *
header(const req_t *r, const char *name)
{
  for (int i = 0; i < r->n_h; i++)
    if (g_ascii_strcasecmp(r->h[i].name, name) == 0)
      return r->h[i].value;
  return NULL;
}

/* Parses the request head HEAD (NUL-terminated, modified in place). */
static int
parse_request(char *head, req_t *r)
{
  memset(r, 0, sizeof *r);
  char *save = NULL;
  char *line = strtok_r(head, "\r\n", &save);
  if (!line)
    return -1;
  r->method = line;
  char *sp = strchr(line, ' ');
  if (!sp)
    return -1;
  *sp = 0;
  r->uri = sp + 1;
  sp = strchr(r->uri, ' ');
  if (!sp)
    return -1;
  *sp = 0;
  r->version = sp + 1;
  if (strncmp(r->version, "RTSP/1.", 7) != 0)
    return -1;
  while ((line = strtok_r(NULL, "\r\n", &save))) {
    char *colon = strchr(line, ':');
    if (!colon || r->n_h == MAX_HEADERS)
      return -1;
    *colon = 0;
    r->h[r->n_h].name = g_strstrip(line);
    r->h[r->n_h].value = g_strstrip(colon + 1);
    r->n_h++;
  }
  r->cseq = header(r, "CSeq");
  return 0;
}

static GString *
reply(const req_t *r, int code, const char *reason)
{
  GString *s = g_string_sized_new(512);
  g_string_append_printf(s, "RTSP/1.0 %d %s\r\nCSeq: %s\r\nServer: camsim\r\n", code, reason,
                         r && r->cseq ? r->cseq : "0");
  return s;
}

static void
send_reply(cs_conn_t *c, GString *s)
{
  cs_conn_send(c, s->str, s->len, false);
  g_string_free(s, TRUE);
}

static void
send_status(cs_conn_t *c, const req_t *r, int code, const char *reason, bool close_after)
{
  GString *s = reply(r, code, reason);
  g_string_append(s, close_after ? "Connection: close\r\n\r\n" : "\r\n");
  send_reply(c, s);
  if (close_after)
    cs_conn_close(c);
}

/* The mount name is the first path segment of the request URI. */
static char *
uri_mount(const char *uri)
{
  const char *p = strstr(uri, "://");
  if (p) {
    p = strchr(p + 3, '/');
    if (!p)
      return NULL;
  } else if (uri[0] == '/') {
    p = uri;
  } else {
    return NULL;
  }
  p++;
  size_t n = strcspn(p, "/?");
  return n ? g_strndup(p, n) : NULL;
}

static char *
base_url(const req_t *r)
{
  size_t n = strcspn(r->uri, "?");
  return g_strdup_printf("%.*s%s", (int)n, r->uri, n && r->uri[n - 1] == '/' ? "" : "/");
}

static uint32_t
frame_ts(const cs_sess_t *s)
{
  uint64_t fps = (uint64_t)s->conn->srv->cfg.fps;
  return s->ts_base + (uint32_t)(s->frames * 90000 / fps) + s->ts_jump;
}

static void
send_describe(cs_conn_t *c, const req_t *r, cs_mount_t *m)
{
  cs_server_t *srv = c->srv;
  if (cs_mount_fault_armed(m, CS_BHV_GARBAGE)) {
    cs_mount_fire(m);
    g_autofree uint8_t *junk = cs_garbage_new(4096);
    cs_conn_send(c, junk, 4096, false);
    return;
  }
  g_autofree char *base = base_url(r);
  g_autofree char *sdp = NULL;
  size_t sdp_len;
  if (cs_mount_fault_armed(m, CS_BHV_OVERSIZED_SDP)) {
    cs_mount_fire(m);
    sdp_len = 1000000;
    sdp = cs_oversized_sdp_new(sdp_len);
  } else {
    sdp = g_strdup_printf("v=0\r\n"
                          "o=- %u 1 IN IP4 %s\r\n"
                          "s=camsim %s\r\n"
                          "c=IN IP4 0.0.0.0\r\n"
                          "t=0 0\r\n"
                          "a=tool:camsim\r\n"
                          "a=control:*\r\n"
                          "a=range:npt=0-\r\n"
                          "m=video 0 RTP/AVP 96\r\n"
                          "a=rtpmap:96 %s/90000\r\n"
                          "a=fmtp:96 %s\r\n"
                          "a=framerate:%d\r\n"
                          "a=control:trackID=0\r\n",
                          g_random_int(), srv->cfg.bind, m->name, cs_codec_rtp_name(m->codec),
                          m->clip->fmtp, srv->cfg.fps);
    sdp_len = strlen(sdp);
  }
  GString *s = reply(r, 200, "OK");
  g_string_append_printf(s,
                         "Content-Base: %s\r\nContent-Type: application/sdp\r\n"
                         "Content-Length: %zu\r\n\r\n",
                         base, sdp_len);
  g_string_append_len(s, sdp, (gssize)sdp_len);
  if (cs_mount_fault_armed(m, CS_BHV_SLOW_DESCRIBE)) {
    cs_mount_fire(m);
    c->delayed = s;
    c->delay_until_ms = uv_now(srv->loop) + (uint64_t)(m->arg_s * 1000);
    g_queue_push_tail(&srv->delayed, c);
    c->delay_link = srv->delayed.tail;
    return;
  }
  send_reply(c, s);
}

static void
append_session(GString *s, const cs_sess_t *sess)
{
  g_string_append_printf(s, "Session: %s;timeout=%u\r\n", sess->id,
                         sess->conn->srv->cfg.session_timeout_s);
}

/* Picks the first transport in the Transport header that the mount takes.
 * Returns 0, or the status to answer. */
static int
choose_transport(cs_conn_t *c, cs_mount_t *m, const char *transport, cs_sess_t *out)
{
  if (!transport)
    return 461;
  g_auto(GStrv) specs = g_strsplit(transport, ",", 8);
  for (int i = 0; specs[i]; i++) {
    g_auto(GStrv) p = g_strsplit(specs[i], ";", 16);
    const char *proto = g_strstrip(p[0]);
    bool tcp = g_ascii_strcasecmp(proto, "RTP/AVP/TCP") == 0;
    if (!tcp && g_ascii_strcasecmp(proto, "RTP/AVP") && g_ascii_strcasecmp(proto, "RTP/AVP/UDP"))
      continue;
    if (tcp && cs_mount_fault_armed(m, CS_BHV_TCP_REFUSED_SETUP)) {
      cs_mount_fire(m);
      continue;
    }
    int a = -1, b = -1;
    bool multicast = false;
    for (int k = 1; p[k]; k++) {
      const char *kv = g_strstrip(p[k]);
      if (g_ascii_strcasecmp(kv, "multicast") == 0)
        multicast = true;
      else if (g_str_has_prefix(kv, tcp ? "interleaved=" : "client_port="))
        sscanf(strchr(kv, '=') + 1, "%d-%d", &a, &b);
    }
    if (multicast)
      continue;
    if (tcp) {
      if (a < 0)
        a = 0;
      if (a > 254)
        continue;
      out->tcp = true;
      out->ch_rtp = (uint8_t)a;
      return 0;
    }
    if (a <= 0 || a > 65535)
      continue;
    if (b <= 0 || b > 65535)
      b = a + 1;
    out->tcp = false;
    out->rtp_addr = c->peer_addr;
    out->rtp_addr.sin_port = htons((uint16_t)a);
    out->rtcp_addr = c->peer_addr;
    out->rtcp_addr.sin_port = htons((uint16_t)b);
    return 0;
  }
  return 461;
}

static void
do_setup(cs_conn_t *c, const req_t *r, cs_mount_t *m, cs_sess_t *sess)
{
  cs_server_t *srv = c->srv;
  cs_sess_t t = {0};
  int code = choose_transport(c, m, header(r, "Transport"), &t);
  if (code) {
    send_status(c, r, code, "Unsupported Transport", false);
    return;
  }
  if (!sess) {
    if (g_queue_get_length(&srv->sessions) >= srv->cfg.max_sessions) {
      send_status(c, r, 453, "Not Enough Bandwidth", false);
      return;
    }
    sess = g_new0(cs_sess_t, 1);
    g_snprintf(sess->id, sizeof sess->id, "%08X%08X", g_random_int(), g_random_int());
    sess->mount = m;
    sess->conn = c;
    sess->setup_ms = sess->last_seen_ms = uv_now(srv->loop);
    sess->rtp.ssrc = g_random_int();
    sess->rtp.seq = (uint16_t)g_random_int();
    sess->ts_base = g_random_int();
    g_queue_push_tail(&srv->sessions, sess);
    sess->link = srv->sessions.tail;
    c->sessions = g_list_prepend(c->sessions, sess);
    srv->stats.sessions_total++;
    cs_session_log(srv, sess, "setup");
  }
  sess->tcp = t.tcp;
  sess->ch_rtp = sess->ch_send = t.ch_rtp;
  sess->rtp_addr = t.rtp_addr;
  sess->rtcp_addr = t.rtcp_addr;
  GString *s = reply(r, 200, "OK");
  if (t.tcp)
    g_string_append_printf(s, "Transport: RTP/AVP/TCP;unicast;interleaved=%u-%u;ssrc=%08X\r\n",
                           t.ch_rtp, t.ch_rtp + 1u, sess->rtp.ssrc);
  else
    g_string_append_printf(s,
                           "Transport: RTP/AVP;unicast;client_port=%u-%u;server_port=%d-%d;"
                           "ssrc=%08X\r\n",
                           ntohs(t.rtp_addr.sin_port), ntohs(t.rtcp_addr.sin_port), srv->udp_port,
                           srv->udp_port + 1, sess->rtp.ssrc);
  append_session(s, sess);
  g_string_append(s, "\r\n");
  send_reply(c, s);
}

static void
do_play(cs_conn_t *c, const req_t *r, cs_sess_t *sess)
{
  if (!sess->playing) {
    if (sess->play_ms == 0) {
      /* The timed faults count from the session's first PLAY. */
      sess->play_ms = uv_now(c->srv->loop);
      if (sess->tcp && cs_mount_fault_armed(sess->mount, CS_BHV_WRONG_CHANNEL)) {
        cs_mount_fire(sess->mount);
        sess->ch_send = sess->ch_rtp == 7 ? 9 : 7;
      }
    }
    sess->playing = true;
    cs_session_log(c->srv, sess, "play");
  }
  g_autofree char *base = base_url(r);
  GString *s = reply(r, 200, "OK");
  append_session(s, sess);
  g_string_append_printf(s,
                         "Range: npt=0.000-\r\nRTP-Info: url=%strackID=0;seq=%u;rtptime=%u\r\n\r\n",
                         base, sess->rtp.seq, frame_ts(sess));
  send_reply(c, s);
}

static bool
authorized(cs_conn_t *c, const req_t *r, const cs_mount_t *m)
{
  const char *h = header(r, "Authorization");
  if (m->behaviour == CS_BHV_UNAUTHORIZED)
    return cs_auth_check_digest(&c->srv->cfg.auth, r->method, h);
  if (m->behaviour == CS_BHV_BASIC)
    return cs_auth_check_basic(&c->srv->cfg.auth, h);
  return true;
}

static void
handle(cs_conn_t *c, const req_t *r)
{
  cs_server_t *srv = c->srv;
  const char *method = r->method;
  bool options = strcmp(method, "OPTIONS") == 0;
  g_autofree char *name = uri_mount(r->uri);
  cs_mount_t *m = name ? g_hash_table_lookup(srv->mounts, name) : NULL;

  if (m && cs_mount_fault_armed(m, CS_BHV_REFUSE)) {
    cs_mount_fire(m);
    cs_conn_close(c);
    return;
  }
  if (!m && !options) {
    send_status(c, r, 404, "Not Found", false);
    return;
  }
  if (m && !options && !authorized(c, r, m)) {
    GString *s = reply(r, 401, "Unauthorized");
    if (m->behaviour == CS_BHV_BASIC)
      g_string_append_printf(s, "WWW-Authenticate: Basic realm=\"%s\"\r\n\r\n",
                             srv->cfg.auth.realm);
    else
      g_string_append_printf(s,
                             "WWW-Authenticate: Digest realm=\"%s\", nonce=\"%s\", "
                             "algorithm=MD5, qop=\"auth\"\r\n\r\n",
                             srv->cfg.auth.realm, srv->cfg.auth.nonce);
    send_reply(c, s);
    return;
  }

  cs_sess_t *sess = NULL;
  const char *sid = header(r, "Session");
  if (sid) {
    size_t n = strcspn(sid, ";");
    for (GList *l = c->sessions; l; l = l->next) {
      cs_sess_t *s = l->data;
      if (strlen(s->id) == n && strncmp(s->id, sid, n) == 0)
        sess = s;
    }
    if (sess)
      sess->last_seen_ms = uv_now(srv->loop);
  }
  bool needs_session = !strcmp(method, "PLAY") || !strcmp(method, "PAUSE") ||
                       !strcmp(method, "TEARDOWN") || (!strcmp(method, "SETUP") && sid);
  if (needs_session && (!sess || sess->mount != m)) {
    send_status(c, r, 454, "Session Not Found", false);
    return;
  }

  if (options) {
    GString *s = reply(r, 200, "OK");
    if (sess)
      append_session(s, sess);
    g_string_append(s, "Public: OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, "
                       "GET_PARAMETER, SET_PARAMETER\r\n\r\n");
    send_reply(c, s);
  } else if (!strcmp(method, "DESCRIBE")) {
    send_describe(c, r, m);
  } else if (!strcmp(method, "SETUP")) {
    do_setup(c, r, m, sess);
  } else if (!strcmp(method, "PLAY")) {
    do_play(c, r, sess);
  } else if (!strcmp(method, "PAUSE")) {
    sess->playing = false;
    GString *s = reply(r, 200, "OK");
    append_session(s, sess);
    g_string_append(s, "\r\n");
    send_reply(c, s);
  } else if (!strcmp(method, "TEARDOWN")) {
    cs_session_log(srv, sess, "teardown");
    GString *s = reply(r, 200, "OK");
    append_session(s, sess);
    g_string_append(s, "\r\n");
    send_reply(c, s);
    cs_sess_destroy(sess);
  } else if (!strcmp(method, "GET_PARAMETER") || !strcmp(method, "SET_PARAMETER")) {
    GString *s = reply(r, 200, "OK");
    if (sess)
      append_session(s, sess);
    g_string_append(s, "\r\n");
    send_reply(c, s);
  } else {
    send_status(c, r, 501, "Not Implemented", false);
  }
}

/* Length of the head through its blank line, or 0 if not complete yet. */
static size_t
head_length(const uint8_t *b, size_t n)
{
  for (size_t i = 0; i + 1 < n; i++) {
    if (b[i] != '\n')
      continue;
    if (b[i + 1] == '\n')
      return i + 2;
    if (b[i + 1] == '\r' && i + 2 < n && b[i + 2] == '\n')
      return i + 3;
  }
  return 0;
}

void
cs_rtsp_process(cs_conn_t *c)
{
  while (!c->closing && !c->delayed && c->in && c->in->len > 0) {
    const uint8_t *b = c->in->data;
    size_t n = c->in->len, used;
    if (b[0] == '$') {
      /* The client's interleaved RTCP: skipped, never buffered whole. */
      if (n < 4)
        break;
      size_t flen = 4 + ((size_t)b[2] << 8 | b[3]);
      used = MIN(flen, n);
      c->skip = flen - used;
    } else {
      size_t hl = head_length(b, MIN(n, (size_t)CS_MAX_REQUEST));
      if (hl == 0) {
        if (n >= CS_MAX_REQUEST)
          send_status(c, NULL, 400, "Request Too Large", true);
        break;
      }
      char head[CS_MAX_REQUEST + 1];
      memcpy(head, b, hl);
      head[hl] = 0;
      req_t r;
      if (parse_request(head, &r) < 0) {
        send_status(c, NULL, 400, "Bad Request", true);
        break;
      }
      const char *cl = header(&r, "Content-Length");
      guint64 body = cl ? g_ascii_strtoull(cl, NULL, 10) : 0;
      if (hl + body > CS_MAX_REQUEST) {
        send_status(c, &r, 413, "Request Entity Too Large", true);
        break;
      }
      if (n < hl + body)
        break;
      used = hl + (size_t)body;
      handle(c, &r);
    }
    g_byte_array_remove_range(c->in, 0, (guint)used);
  }
  if (c->in && c->in->len == 0) {
    g_byte_array_free(c->in, TRUE);
    c->in = NULL;
  } else if (c->in && c->in->len > 4 * CS_MAX_REQUEST) {
    /* Pipelined requests held back behind a slow answer: bound them too. */
    cs_conn_close(c);
  }
}

/* ---- media ------------------------------------------------------------------ */

typedef struct {
  cs_sess_t *s;
  GByteArray *out;
  uint8_t ch;
  guint failed;
} sink_t;

static void
tcp_packet(const uint8_t *pkt, size_t len, void *user)
{
  sink_t *k = user;
  uint8_t h[4] = {'$', k->ch, (uint8_t)(len >> 8), (uint8_t)len};
  g_byte_array_append(k->out, h, 4);
  g_byte_array_append(k->out, pkt, (guint)len);
}

static void
udp_packet(const uint8_t *pkt, size_t len, void *user)
{
  sink_t *k = user;
  cs_server_t *srv = k->s->conn->srv;
  uv_buf_t b = uv_buf_init((char *)pkt, (unsigned)len);
  uv_udp_t *sock = k->ch & 1 ? &srv->udp_rtcp : &srv->udp_rtp;
  const struct sockaddr_in *to = k->ch & 1 ? &k->s->rtcp_addr : &k->s->rtp_addr;
  if (uv_udp_try_send(sock, &b, 1, (const struct sockaddr *)to) < 0) {
    k->failed++;
    srv->stats.packets_dropped++;
  } else {
    srv->stats.bytes += len;
  }
}

/* Applies the timed faults; returns false when no media is to be sent. */
static bool
timed_faults(cs_sess_t *s)
{
  cs_mount_t *m = s->mount;
  if (m->behaviour == CS_BHV_NORMAL)
    return true;
  uint64_t t = uv_now(s->conn->srv->loop) - s->play_ms;
  bool due = (double)t >= m->arg_s * 1000;
  if (s->stalled)
    return false;
  if (due && cs_mount_fault_armed(m, CS_BHV_DROP)) {
    cs_mount_fire(m);
    cs_conn_close(s->conn);
    return false;
  }
  if (due && cs_mount_fault_armed(m, CS_BHV_STALL)) {
    cs_mount_fire(m);
    s->stalled = true;
    return false;
  }
  if (due && !s->jumped && cs_mount_fault_armed(m, CS_BHV_TS_JUMP)) {
    cs_mount_fire(m);
    s->jumped = true;
    s->ts_jump = 3600u * 90000u;
  }
  if (due && !s->ssrc_changed && cs_mount_fault_armed(m, CS_BHV_SSRC_CHANGE)) {
    cs_mount_fire(m);
    s->ssrc_changed = true;
    s->rtp = (cs_rtp_state_t){.ssrc = g_random_int(), .seq = (uint16_t)g_random_int()};
  }
  return true;
}

void
cs_sess_send_frame(cs_sess_t *s)
{
  cs_server_t *srv = s->conn->srv;
  const cs_clip_t *clip = s->mount->clip;
  if (!timed_faults(s))
    return;
  const cs_au_t *au = &g_array_index(clip->aus, cs_au_t, s->pos);
  uint32_t ts = frame_ts(s);
  if (s->resync && !au->key) {
    /* After a drop, frames that refer to the lost one are not worth sending. */
    srv->stats.drops++;
    goto next;
  }
  bool sr = s->frames % (uint64_t)srv->cfg.fps == 0;
  sink_t k = {.s = s, .out = srv->scratch, .ch = s->tcp ? s->ch_send : 0};
  bool dropped = false;

  if (s->tcp) {
    g_byte_array_set_size(srv->scratch, 0);
    cs_rtp_packetize(clip, au, ts, srv->cfg.mtu, srv->cfg.aggregate, &s->rtp, tcp_packet, &k);
    if (sr) {
      uint8_t rtcp[64];
      k.ch = (uint8_t)(s->ch_send + 1);
      tcp_packet(rtcp, cs_rtcp_build_sr(rtcp, &s->rtp, ts), &k);
    }
    dropped = cs_conn_send(s->conn, srv->scratch->data, srv->scratch->len, true) < 0;
  } else {
    cs_rtp_packetize(clip, au, ts, srv->cfg.mtu, srv->cfg.aggregate, &s->rtp, udp_packet, &k);
    dropped = k.failed > 0;
    if (sr) {
      uint8_t rtcp[64];
      k.ch = 1;
      udp_packet(rtcp, cs_rtcp_build_sr(rtcp, &s->rtp, ts), &k);
    }
  }
  s->resync = dropped;
  if (dropped)
    srv->stats.drops++;
  else
    srv->stats.frames++;
next:
  s->pos = (s->pos + 1) % clip->aus->len;
  s->frames++;
}
