/* Unit tests for ingest/rtsp_msg.c: responses shaped like real cameras and
 * servers send them, every split point of a partial read, frames back to
 * back, every error the reader reports, the request builder byte for byte
 * with header injection refused, and the Session and Transport parsers. */
#include "rtsp_msg.h"

#include <errno.h>
#include <string.h>

/* Reads from an exact-size heap copy, so AddressSanitizer sees any read
 * past the end. */
static int
read_exact(const char *data, size_t len, cw_rtsp_frame_t *f, cw_error_t *err)
{
  guint8 *copy = g_memdup2(data, len ? len : 1);
  int rc = cw_rtsp_read(copy, len, f, err);
  /* The payload points into the copy: move it to the caller's bytes. */
  if (rc == 1 && f->kind == CW_RTSP_INTERLEAVED)
    f->payload = (const guint8 *)data + (f->payload - copy);
  g_free(copy);
  return rc;
}

/* Reads a message that must parse whole; checks it consumed all of it. */
static void
read_whole(const char *text, cw_rtsp_frame_t *f)
{
  cw_error_t err = {0};
  int rc = read_exact(text, strlen(text), f, &err);
  if (rc != 1)
    g_error("cw_rtsp_read: %d %s", rc, err.msg);
  g_assert_cmpuint(f->consumed, ==, strlen(text));
}

/* Reads a message that must fail with code; returns the message. */
static void
assert_error(const char *data, size_t len, int code, const char *msg_prefix)
{
  cw_rtsp_frame_t f;
  cw_error_t err = {0};
  g_assert_cmpint(read_exact(data, len, &f, &err), ==, code);
  g_assert_cmpint(err.code, ==, code);
  if (!g_str_has_prefix(err.msg, msg_prefix))
    g_error("error \"%s\" does not start with \"%s\"", err.msg, msg_prefix);
  g_assert_null(f.names);
  g_assert_null(f.reason);
  cw_rtsp_frame_clear(&f);
}

/* ---- real-world responses ----------------------------------------------- */

#define HIKVISION_OPTIONS                                                                          \
  "RTSP/1.0 200 OK\r\n"                                                                            \
  "CSeq: 1\r\n"                                                                                    \
  "Public: OPTIONS, DESCRIBE, PLAY, PAUSE, SETUP, TEARDOWN, SET_PARAMETER, GET_PARAMETER\r\n"      \
  "Date:  Mon, Jan 08 2024 10:11:12 GMT\r\n"                                                       \
  "\r\n"

#define HIKVISION_401                                                                              \
  "RTSP/1.0 401 Unauthorized\r\n"                                                                  \
  "CSeq: 2\r\n"                                                                                    \
  "WWW-Authenticate: Digest realm=\"IP Camera(C6188)\", "                                          \
  "nonce=\"5a1b2c3d4e5f60718293a4b5c6d7e8f9\", "                                                   \
  "stale=\"FALSE\"\r\n"                                                                            \
  "WWW-Authenticate: Basic realm=\"IP Camera(C6188)\"\r\n"                                         \
  "Date:  Mon, Jan 08 2024 10:11:12 GMT\r\n"                                                       \
  "\r\n"

#define AXIS_SDP                                                                                   \
  "v=0\r\n"                                                                                        \
  "o=- 1270478436395434628 1 IN IP4 192.168.0.90\r\n"                                              \
  "s=Session streamed with GStreamer\r\n"                                                          \
  "t=0 0\r\n"                                                                                      \
  "m=video 0 RTP/AVP 96\r\n"                                                                       \
  "a=rtpmap:96 H264/90000\r\n"                                                                     \
  "a=control:rtsp://192.168.0.90/axis-media/media.amp/stream=0?videocodec=h264\r\n"

#define AXIS_DESCRIBE                                                                              \
  "RTSP/1.0 200 OK\r\n"                                                                            \
  "CSeq: 3\r\n"                                                                                    \
  "Content-Type: application/sdp\r\n"                                                              \
  "Content-Base: rtsp://192.168.0.90/axis-media/media.amp/\r\n"                                    \
  "Server: GStreamer RTSP server\r\n"                                                              \
  "Date: Mon, 08 Jan 2024 10:11:12 GMT\r\n"                                                        \
  "Content-Length: 217\r\n"                                                                        \
  "\r\n" AXIS_SDP

#define DAHUA_SETUP_TCP                                                                            \
  "RTSP/1.0 200 OK\r\n"                                                                            \
  "CSeq: 4\r\n"                                                                                    \
  "Session: 1273430213;timeout=60\r\n"                                                             \
  "Transport: RTP/AVP/TCP;unicast;interleaved=0-1;ssrc=5F3A9C21;mode=\"play\"\r\n"                 \
  "\r\n"

#define LIVE555_SETUP_UDP                                                                          \
  "RTSP/1.0 200 OK\r\n"                                                                            \
  "CSeq: 4\r\n"                                                                                    \
  "Date: Mon, Jan 08 2024 10:11:12 GMT\r\n"                                                        \
  "Transport: RTP/AVP;unicast;destination=192.168.0.10;source=192.168.0.90;client_port=50000-"     \
  "50001;server_port=6970-6971\r\n"                                                                \
  "Session: 9C6D2E11;timeout=65\r\n"                                                               \
  "\r\n"

#define GST_PLAY                                                                                   \
  "RTSP/1.0 200 OK\r\n"                                                                            \
  "CSeq: 5\r\n"                                                                                    \
  "RTP-Info: url=rtsp://127.0.0.1:8554/test/stream=0;seq=23112;rtptime=1766338402\r\n"             \
  "Range: npt=now-\r\n"                                                                            \
  "Server: GStreamer RTSP server\r\n"                                                              \
  "Session: 5cLtmeHqRW5DCJoS;timeout=60\r\n"                                                       \
  "Date: Mon, 08 Jan 2024 10:11:12 GMT\r\n"                                                        \
  "\r\n"

#define VLC_TEARDOWN                                                                               \
  "RTSP/1.0 200 OK\n"                                                                              \
  "Server: VLC/3.0.18\n"                                                                           \
  "Content-Length: 0\n"                                                                            \
  "Cseq: 6\n"                                                                                      \
  "Cache-Control: no-cache\n"                                                                      \
  "\n"

#define SERVER_GET_PARAMETER                                                                       \
  "GET_PARAMETER rtsp://192.168.0.90/stream RTSP/1.0\r\n"                                          \
  "CSeq: 17\r\n"                                                                                   \
  "Session: 1273430213\r\n"                                                                        \
  "\r\n"

#define SERVER_ANNOUNCE                                                                            \
  "ANNOUNCE rtsp://192.168.0.90/stream RTSP/1.0\r\n"                                               \
  "CSeq: 18\r\n"                                                                                   \
  "Content-Type: text/parameters\r\n"                                                              \
  "Content-Length: 12\r\n"                                                                         \
  "\r\n"                                                                                           \
  "End-of-Stream"

static void
test_options_public(void)
{
  cw_rtsp_frame_t f;
  read_whole(HIKVISION_OPTIONS, &f);
  g_assert_cmpint(f.kind, ==, CW_RTSP_RESPONSE);
  g_assert_cmpint(f.status, ==, 200);
  g_assert_cmpstr(f.reason, ==, "OK");
  g_assert_cmpint(cw_rtsp_frame_cseq(&f), ==, 1);
  g_assert_cmpstr(cw_rtsp_frame_header(&f, "public"), ==,
                  "OPTIONS, DESCRIBE, PLAY, PAUSE, SETUP, TEARDOWN, SET_PARAMETER, GET_PARAMETER");
  g_assert_cmpstr(cw_rtsp_frame_header(&f, "Date"), ==, "Mon, Jan 08 2024 10:11:12 GMT");
  g_assert_cmpuint(f.names->len, ==, 3);
  g_assert_cmpstr(g_ptr_array_index(f.names, 0), ==, "CSeq");
  g_assert_cmpuint(f.body_len, ==, 0);
  g_assert_nonnull(f.body);
  g_assert_cmpstr((char *)f.body, ==, "");
  cw_rtsp_frame_clear(&f);
  g_assert_null(f.names);
}

static void
test_describe_body(void)
{
  g_assert_cmpuint(strlen(AXIS_SDP), ==, 217);
  cw_rtsp_frame_t f;
  read_whole(AXIS_DESCRIBE, &f);
  g_assert_cmpint(f.status, ==, 200);
  g_assert_cmpint(cw_rtsp_frame_cseq(&f), ==, 3);
  g_assert_cmpstr(cw_rtsp_frame_header(&f, "content-base"), ==,
                  "rtsp://192.168.0.90/axis-media/media.amp/");
  g_assert_cmpstr(cw_rtsp_frame_header(&f, "Content-Type"), ==, "application/sdp");
  g_assert_cmpuint(f.body_len, ==, 217);
  g_assert_cmpstr((char *)f.body, ==, AXIS_SDP);
  cw_rtsp_frame_clear(&f);
}

static void
test_unauthorized_two_challenges(void)
{
  cw_rtsp_frame_t f;
  read_whole(HIKVISION_401, &f);
  g_assert_cmpint(f.status, ==, 401);
  g_assert_cmpstr(f.reason, ==, "Unauthorized");
  guint n = 99;
  const char **all = cw_rtsp_frame_headers(&f, "www-authenticate", &n);
  g_assert_cmpuint(n, ==, 2);
  g_assert_true(g_str_has_prefix(all[0], "Digest realm=\"IP Camera(C6188)\""));
  g_assert_cmpstr(all[1], ==, "Basic realm=\"IP Camera(C6188)\"");
  g_assert_null(all[2]);
  g_free(all);
  all = cw_rtsp_frame_headers(&f, "Proxy-Authenticate", &n);
  g_assert_cmpuint(n, ==, 0);
  g_assert_null(all[0]);
  g_free(all);
  cw_rtsp_frame_clear(&f);
}

static void
test_setup_tcp_session_transport(void)
{
  cw_rtsp_frame_t f;
  read_whole(DAHUA_SETUP_TCP, &f);
  char *id = NULL;
  int timeout = 0;
  g_assert_cmpint(cw_rtsp_parse_session(cw_rtsp_frame_header(&f, "Session"), &id, &timeout, NULL),
                  ==, 0);
  g_assert_cmpstr(id, ==, "1273430213");
  g_assert_cmpint(timeout, ==, 60);
  cw_rtsp_transport_t t;
  g_assert_cmpint(cw_rtsp_parse_transport(cw_rtsp_frame_header(&f, "Transport"), &t, NULL), ==, 0);
  g_assert_true(t.tcp);
  g_assert_cmpint(t.interleaved[0], ==, 0);
  g_assert_cmpint(t.interleaved[1], ==, 1);
  g_assert_true(t.has_ssrc);
  g_assert_cmphex(t.ssrc, ==, 0x5F3A9C21);
  g_assert_cmpint(t.client_port[0], ==, -1);
  g_assert_null(t.source);
  cw_rtsp_transport_clear(&t);
  g_free(id);
  cw_rtsp_frame_clear(&f);
}

static void
test_setup_udp_ports(void)
{
  cw_rtsp_frame_t f;
  read_whole(LIVE555_SETUP_UDP, &f);
  cw_rtsp_transport_t t;
  g_assert_cmpint(cw_rtsp_parse_transport(cw_rtsp_frame_header(&f, "transport"), &t, NULL), ==, 0);
  g_assert_false(t.tcp);
  g_assert_cmpint(t.interleaved[0], ==, -1);
  g_assert_cmpint(t.interleaved[1], ==, -1);
  g_assert_cmpint(t.client_port[0], ==, 50000);
  g_assert_cmpint(t.client_port[1], ==, 50001);
  g_assert_cmpint(t.server_port[0], ==, 6970);
  g_assert_cmpint(t.server_port[1], ==, 6971);
  g_assert_false(t.has_ssrc);
  g_assert_cmpstr(t.source, ==, "192.168.0.90");
  cw_rtsp_transport_clear(&t);
  char *id;
  int timeout;
  g_assert_cmpint(cw_rtsp_parse_session(cw_rtsp_frame_header(&f, "Session"), &id, &timeout, NULL),
                  ==, 0);
  g_assert_cmpstr(id, ==, "9C6D2E11");
  g_assert_cmpint(timeout, ==, 65);
  g_free(id);
  cw_rtsp_frame_clear(&f);
}

static void
test_play_rtp_info(void)
{
  cw_rtsp_frame_t f;
  read_whole(GST_PLAY, &f);
  g_assert_cmpint(cw_rtsp_frame_cseq(&f), ==, 5);
  g_assert_cmpstr(cw_rtsp_frame_header(&f, "RTP-Info"), ==,
                  "url=rtsp://127.0.0.1:8554/test/stream=0;seq=23112;rtptime=1766338402");
  g_assert_cmpstr(cw_rtsp_frame_header(&f, "Range"), ==, "npt=now-");
  cw_rtsp_frame_clear(&f);
}

static void
test_lf_only_lines(void)
{
  cw_rtsp_frame_t f;
  read_whole(VLC_TEARDOWN, &f);
  g_assert_cmpint(f.status, ==, 200);
  g_assert_cmpint(cw_rtsp_frame_cseq(&f), ==, 6);
  g_assert_cmpstr(cw_rtsp_frame_header(&f, "server"), ==, "VLC/3.0.18");
  cw_rtsp_frame_clear(&f);
}

static void
test_server_request(void)
{
  cw_rtsp_frame_t f;
  read_whole(SERVER_GET_PARAMETER, &f);
  g_assert_cmpint(f.kind, ==, CW_RTSP_REQUEST);
  g_assert_cmpstr(f.method, ==, "GET_PARAMETER");
  g_assert_cmpstr(f.uri, ==, "rtsp://192.168.0.90/stream");
  g_assert_cmpint(cw_rtsp_frame_cseq(&f), ==, 17);
  g_assert_null(f.reason);
  cw_rtsp_frame_clear(&f);
}

static void
test_server_request_body(void)
{
  cw_rtsp_frame_t f;
  cw_error_t err = {0};
  g_assert_cmpint(read_exact(SERVER_ANNOUNCE, strlen(SERVER_ANNOUNCE), &f, &err), ==, 1);
  g_assert_cmpstr(f.method, ==, "ANNOUNCE");
  /* Content-Length says 12: the 13th byte is the next frame's. */
  g_assert_cmpuint(f.consumed, ==, strlen(SERVER_ANNOUNCE) - 1);
  g_assert_cmpstr((char *)f.body, ==, "End-of-Strea");
  cw_rtsp_frame_clear(&f);
}

static void
test_header_folding(void)
{
  cw_rtsp_frame_t f;
  read_whole("RTSP/1.0 200 OK\r\nCSeq: 9\r\nX-Long: one,\r\n  two,\r\n\tthree\r\n"
             "Public: DESCRIBE\r\n\r\n",
             &f);
  g_assert_cmpstr(cw_rtsp_frame_header(&f, "X-Long"), ==, "one, two, three");
  g_assert_cmpstr(cw_rtsp_frame_header(&f, "Public"), ==, "DESCRIBE");
  cw_rtsp_frame_clear(&f);
}

static void
test_values_trimmed_names_as_received(void)
{
  cw_rtsp_frame_t f;
  read_whole("RTSP/1.0 200 OK\r\ncseq:7\r\nX-Empty:\r\nX-Pad :  \t padded \t \r\n\r\n", &f);
  g_assert_cmpint(cw_rtsp_frame_cseq(&f), ==, 7);
  g_assert_cmpstr(g_ptr_array_index(f.names, 0), ==, "cseq");
  g_assert_cmpstr(cw_rtsp_frame_header(&f, "X-EMPTY"), ==, "");
  g_assert_cmpstr(cw_rtsp_frame_header(&f, "x-pad"), ==, "padded");
  g_assert_null(cw_rtsp_frame_header(&f, "X-Absent"));
  cw_rtsp_frame_clear(&f);
}

static void
test_reason_with_spaces_or_none(void)
{
  cw_rtsp_frame_t f;
  read_whole("RTSP/1.0 461 Unsupported transport\r\nCSeq: 4\r\n\r\n", &f);
  g_assert_cmpint(f.status, ==, 461);
  g_assert_cmpstr(f.reason, ==, "Unsupported transport");
  cw_rtsp_frame_clear(&f);
  read_whole("RTSP/1.0 454\r\n\r\n", &f);
  g_assert_cmpint(f.status, ==, 454);
  g_assert_cmpstr(f.reason, ==, "");
  g_assert_cmpint(cw_rtsp_frame_cseq(&f), ==, -1);
  cw_rtsp_frame_clear(&f);
}

static void
test_leading_empty_lines_skipped(void)
{
  cw_rtsp_frame_t f;
  read_whole("\r\n\nRTSP/1.0 200 OK\r\nCSeq: 2\r\n\r\n", &f);
  g_assert_cmpint(f.status, ==, 200);
  cw_rtsp_frame_clear(&f);
  /* Only empty lines so far: wait. */
  cw_error_t err = {0};
  g_assert_cmpint(read_exact("\r\n\r", 3, &f, &err), ==, 0);
}

/* ---- partial input -------------------------------------------------------- */

static const char *const whole_messages[] = {
    HIKVISION_OPTIONS, HIKVISION_401, AXIS_DESCRIBE,        DAHUA_SETUP_TCP,      LIVE555_SETUP_UDP,
    GST_PLAY,          VLC_TEARDOWN,  SERVER_GET_PARAMETER, "$\x01\x00\x05hello",
};

static void
test_every_split_point(void)
{
  for (guint m = 0; m < G_N_ELEMENTS(whole_messages); m++) {
    const char *msg = whole_messages[m];
    size_t len = m == G_N_ELEMENTS(whole_messages) - 1 ? 9 : strlen(msg);
    for (size_t k = 0; k < len; k++) {
      cw_rtsp_frame_t f;
      cw_error_t err = {0};
      int rc = read_exact(msg, k, &f, &err);
      if (rc != 0)
        g_error("message %u cut at %zu: %d %s", m, k, rc, err.msg);
      g_assert_cmpint(f.kind, ==, CW_RTSP_NEED_MORE);
      g_assert_cmpuint(f.consumed, ==, 0);
      g_assert_null(f.names);
    }
    cw_rtsp_frame_t f;
    g_assert_cmpint(read_exact(msg, len, &f, NULL), ==, 1);
    g_assert_cmpuint(f.consumed, ==, len);
    cw_rtsp_frame_clear(&f);
  }
}

/* ---- interleaved and back to back ----------------------------------------- */

static void
test_interleaved_frame(void)
{
  static const char data[] = "$\x02\x00\x03"
                             "abcRTSP";
  cw_rtsp_frame_t f;
  g_assert_cmpint(read_exact(data, sizeof data - 1, &f, NULL), ==, 1);
  g_assert_cmpint(f.kind, ==, CW_RTSP_INTERLEAVED);
  g_assert_cmpuint(f.channel, ==, 2);
  g_assert_cmpuint(f.payload_len, ==, 3);
  g_assert_true(f.payload == (const guint8 *)data + 4);
  g_assert_cmpmem(f.payload, 3, "abc", 3);
  g_assert_cmpuint(f.consumed, ==, 7);
  g_assert_null(f.names);
  cw_rtsp_frame_clear(&f);
}

static void
test_interleaved_empty(void)
{
  cw_rtsp_frame_t f;
  g_assert_cmpint(read_exact("$\x01\x00\x00", 4, &f, NULL), ==, 1);
  g_assert_cmpint(f.kind, ==, CW_RTSP_INTERLEAVED);
  g_assert_cmpuint(f.channel, ==, 1);
  g_assert_cmpuint(f.payload_len, ==, 0);
  g_assert_cmpuint(f.consumed, ==, 4);
  cw_rtsp_frame_clear(&f);
}

static void
test_interleaved_max_length(void)
{
  size_t len = 4 + 65535;
  guint8 *buf = g_malloc0(len);
  buf[0] = '$';
  buf[1] = 255;
  buf[2] = 0xff;
  buf[3] = 0xff;
  cw_rtsp_frame_t f;
  g_assert_cmpint(cw_rtsp_read(buf, len - 1, &f, NULL), ==, 0);
  g_assert_cmpint(cw_rtsp_read(buf, len, &f, NULL), ==, 1);
  g_assert_cmpuint(f.channel, ==, 255);
  g_assert_cmpuint(f.payload_len, ==, 65535);
  g_assert_cmpuint(f.consumed, ==, len);
  g_free(buf);
}

static void
test_frames_back_to_back(void)
{
  GByteArray *all = g_byte_array_new();
  g_byte_array_append(all, (const guint8 *)DAHUA_SETUP_TCP, strlen(DAHUA_SETUP_TCP));
  g_byte_array_append(all, (const guint8 *)"$\x00\x00\x02xy", 6);
  g_byte_array_append(all, (const guint8 *)"$\x01\x00\x00", 4);
  g_byte_array_append(all, (const guint8 *)GST_PLAY, strlen(GST_PLAY));
  g_byte_array_append(all, (const guint8 *)"$\x00\x00\x01z", 5);
  g_byte_array_append(all, (const guint8 *)SERVER_GET_PARAMETER, strlen(SERVER_GET_PARAMETER));
  g_byte_array_append(all, (const guint8 *)"\r\n", 2); /* a stray CRLF */
  g_byte_array_append(all, (const guint8 *)AXIS_DESCRIBE, strlen(AXIS_DESCRIBE));
  g_byte_array_append(all, (const guint8 *)"$\x00\x00", 3); /* partial */

  static const cw_rtsp_kind_t expected[] = {
      CW_RTSP_RESPONSE,    CW_RTSP_INTERLEAVED, CW_RTSP_INTERLEAVED, CW_RTSP_RESPONSE,
      CW_RTSP_INTERLEAVED, CW_RTSP_REQUEST,     CW_RTSP_RESPONSE};
  static const int cseqs[] = {4, -1, -1, 5, -1, 17, 3};
  size_t off = 0;
  for (guint i = 0; i < G_N_ELEMENTS(expected); i++) {
    cw_rtsp_frame_t f;
    cw_error_t err = {0};
    int rc = cw_rtsp_read(all->data + off, all->len - off, &f, &err);
    if (rc != 1)
      g_error("frame %u: %d %s", i, rc, err.msg);
    g_assert_cmpint(f.kind, ==, expected[i]);
    if (f.kind != CW_RTSP_INTERLEAVED)
      g_assert_cmpint(cw_rtsp_frame_cseq(&f), ==, cseqs[i]);
    if (i == 1)
      g_assert_cmpmem(f.payload, f.payload_len, "xy", 2);
    if (i == 2)
      g_assert_cmpuint(f.payload_len, ==, 0);
    off += f.consumed;
    cw_rtsp_frame_clear(&f);
  }
  cw_rtsp_frame_t f;
  g_assert_cmpint(cw_rtsp_read(all->data + off, all->len - off, &f, NULL), ==, 0);
  g_assert_cmpuint(all->len - off, ==, 3);
  g_byte_array_unref(all);
}

/* ---- errors --------------------------------------------------------------- */

static void
test_error_garbage_first_line(void)
{
  static const char *const bad[] = {
      "HTTP/1.1 200 OK\r\n",    "RTSP/1.0 20 OK\r\n",
      "RTSP/1.0 200OK\r\n",     "RTSP/x.0 200 OK\r\n",
      "RTSP/1.0 099 Odd\r\n",   "RTSP/1.0\r\n",
      "hello world\r\n",        "RTSP 200 OK\r\n",
      "DESCRIBE  RTSP/1.0\r\n", "OPTIONS * RTSP/1.0 extra\r\n",
  };
  for (guint i = 0; i < G_N_ELEMENTS(bad); i++)
    assert_error(bad[i], strlen(bad[i]), -EINVAL, "malformed status line");
}

static void
test_error_binary_garbage_at_once(void)
{
  /* No need to wait for a line end to know this is no RTSP. */
  assert_error("\x16\x03\x01\x02", 4, -EINVAL, "control character");
  assert_error("{\"json\": 1}", 11, -EINVAL, "malformed status line");
}

static void
test_error_request_line(void)
{
  assert_error("GET/x rtsp://h/ RTSP/1.0\r\n", 26, -EINVAL, "malformed request line");
}

static void
test_error_header_section_too_long(void)
{
  GString *s = g_string_new("RTSP/1.0 200 OK\r\nCSeq: 1\r\nX-Pad: ");
  while (s->len < CW_RTSP_MAX_HEADER_BYTES)
    g_string_append_c(s, 'a');
  assert_error(s->str, s->len, -EMSGSIZE, "header section longer than 16384 bytes");
  /* One byte short of the limit: it might still end, so wait. */
  cw_rtsp_frame_t f;
  g_assert_cmpint(read_exact(s->str, CW_RTSP_MAX_HEADER_BYTES - 1, &f, NULL), ==, 0);
  g_string_free(s, TRUE);
}

static void
test_header_section_at_limit(void)
{
  GString *s = g_string_new("RTSP/1.0 200 OK\r\nCSeq: 1\r\nX-Pad: ");
  while (s->len < CW_RTSP_MAX_HEADER_BYTES - 4)
    g_string_append_c(s, 'a');
  g_string_append(s, "\r\n\r\n");
  g_assert_cmpuint(s->len, ==, CW_RTSP_MAX_HEADER_BYTES);
  cw_rtsp_frame_t f;
  read_whole(s->str, &f);
  cw_rtsp_frame_clear(&f);
  /* One more byte and the blank line falls past the limit. */
  g_string_insert_c(s, 40, 'a');
  assert_error(s->str, s->len, -EMSGSIZE, "header section longer than 16384 bytes");
  g_string_free(s, TRUE);
}

static void
test_error_only_empty_lines(void)
{
  char *lines = g_strnfill(CW_RTSP_MAX_HEADER_BYTES + 2, '\n');
  assert_error(lines, strlen(lines), -EMSGSIZE, "header section longer than 16384 bytes");
  g_free(lines);
}

static void
test_error_content_length_too_big(void)
{
  const char *m = "RTSP/1.0 200 OK\r\nCSeq: 3\r\nContent-Length: 99999999\r\n\r\n";
  assert_error(m, strlen(m), -EMSGSIZE, "Content-Length 99999999 exceeds 65536");
  m = "RTSP/1.0 200 OK\r\nContent-Length: 65537\r\n\r\n";
  assert_error(m, strlen(m), -EMSGSIZE, "Content-Length 65537 exceeds 65536");
  m = "RTSP/1.0 200 OK\r\nContent-Length: 123456789012345678901234567890\r\n\r\n";
  assert_error(m, strlen(m), -EMSGSIZE, "Content-Length 123456789012345678901234567890 exceeds");
}

static void
test_content_length_at_limit(void)
{
  const char *head = "RTSP/1.0 200 OK\r\nContent-Length: 65536\r\n\r\n";
  size_t hlen = strlen(head), len = hlen + CW_RTSP_MAX_BODY;
  guint8 *buf = g_malloc(len);
  memcpy(buf, head, hlen);
  memset(buf + hlen, 'x', CW_RTSP_MAX_BODY);
  cw_rtsp_frame_t f;
  g_assert_cmpint(cw_rtsp_read(buf, len - 1, &f, NULL), ==, 0);
  g_assert_cmpint(cw_rtsp_read(buf, len, &f, NULL), ==, 1);
  g_assert_cmpuint(f.body_len, ==, CW_RTSP_MAX_BODY);
  g_assert_cmpuint(f.body[CW_RTSP_MAX_BODY], ==, 0);
  cw_rtsp_frame_clear(&f);
  g_free(buf);
}

static void
test_error_bad_content_length(void)
{
  static const char *const bad[] = {
      "RTSP/1.0 200 OK\r\nContent-Length: abc\r\n\r\n",
      "RTSP/1.0 200 OK\r\nContent-Length: -1\r\n\r\n",
      "RTSP/1.0 200 OK\r\nContent-Length: 12 34\r\n\r\n",
      "RTSP/1.0 200 OK\r\nContent-Length:\r\n\r\n",
      "RTSP/1.0 200 OK\r\nContent-Length: 0x10\r\n\r\n",
      "RTSP/1.0 200 OK\r\nContent-Length: 4\r\ncontent-length: 5\r\n\r\nabcde",
  };
  for (guint i = 0; i < G_N_ELEMENTS(bad); i++)
    assert_error(bad[i], strlen(bad[i]), -EINVAL, "bad Content-Length");
}

static void
test_error_too_many_headers(void)
{
  GString *s = g_string_new("RTSP/1.0 200 OK\r\n");
  for (int i = 0; i < CW_RTSP_MAX_HEADERS; i++)
    g_string_append_printf(s, "X-H%d: %d\r\n", i, i);
  g_string_append(s, "\r\n");
  cw_rtsp_frame_t f;
  read_whole(s->str, &f);
  g_assert_cmpuint(f.names->len, ==, CW_RTSP_MAX_HEADERS);
  cw_rtsp_frame_clear(&f);
  g_string_truncate(s, s->len - 2);
  g_string_append(s, "X-One-Too-Many: 1\r\n\r\n");
  assert_error(s->str, s->len, -EMSGSIZE, "more than 64 headers");
  g_string_free(s, TRUE);
}

static void
test_error_header_without_colon(void)
{
  const char *m = "RTSP/1.0 200 OK\r\nCSeq 1\r\n\r\n";
  assert_error(m, strlen(m), -EINVAL, "header line without a colon");
}

static void
test_error_bad_header_names(void)
{
  const char *m = "RTSP/1.0 200 OK\r\n: 1\r\n\r\n";
  assert_error(m, strlen(m), -EINVAL, "header line with an empty name");
  m = "RTSP/1.0 200 OK\r\nBad Name: 1\r\n\r\n";
  assert_error(m, strlen(m), -EINVAL, "malformed header name");
}

static void
test_error_continuation_first(void)
{
  const char *m = "RTSP/1.0 200 OK\r\n folded: 1\r\n\r\n";
  assert_error(m, strlen(m), -EINVAL, "continuation line before any header");
}

static void
test_error_control_bytes(void)
{
  assert_error("RTSP/1.0 200 OK\r\nCSeq: 1\0\r\n\r\n", 29, -EINVAL, "NUL byte in header section");
  const char *m = "RTSP/1.0 200 OK\r\nCSeq: 1\rX-Injected: 1\r\n\r\n";
  assert_error(m, strlen(m), -EINVAL, "CR not followed by LF");
  m = "RTSP/1.0 200 OK\r\nCSeq: \x1b[31m\r\n\r\n";
  assert_error(m, strlen(m), -EINVAL, "control character 0x1b");
  assert_error("\r\r\n", 3, -EINVAL, "CR not followed by LF");
}

/* ---- frame helpers -------------------------------------------------------- */

static void
test_cseq_malformed(void)
{
  static const char *const bad[] = {"abc", "-1", "99999999999", "1 2", "0x10"};
  for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
    char *m = g_strdup_printf("RTSP/1.0 200 OK\r\nCSeq: %s\r\n\r\n", bad[i]);
    cw_rtsp_frame_t f;
    read_whole(m, &f);
    g_assert_cmpint(cw_rtsp_frame_cseq(&f), ==, -1);
    cw_rtsp_frame_clear(&f);
    g_free(m);
  }
  g_assert_cmpint(cw_rtsp_frame_cseq(NULL), ==, -1);
}

static void
test_helpers_on_interleaved(void)
{
  cw_rtsp_frame_t f;
  g_assert_cmpint(read_exact("$\x00\x00\x00", 4, &f, NULL), ==, 1);
  g_assert_null(cw_rtsp_frame_header(&f, "CSeq"));
  guint n = 7;
  const char **all = cw_rtsp_frame_headers(&f, "CSeq", &n);
  g_assert_cmpuint(n, ==, 0);
  g_free(all);
  g_assert_cmpint(cw_rtsp_frame_cseq(&f), ==, -1);
  cw_rtsp_frame_clear(&f);
  cw_rtsp_frame_clear(NULL);
}

/* ---- request builder ------------------------------------------------------ */

static void
test_build_options(void)
{
  char *r =
      cw_rtsp_request_build("OPTIONS", "rtsp://192.168.0.90:554/Streaming/Channels/101", 1, NULL);
  g_assert_cmpstr(r, ==,
                  "OPTIONS rtsp://192.168.0.90:554/Streaming/Channels/101 RTSP/1.0\r\n"
                  "CSeq: 1\r\n"
                  "User-Agent: citywatch\r\n"
                  "\r\n");
  g_free(r);
}

static void
test_build_with_headers(void)
{
  const char *const extra[] = {"Transport: RTP/AVP/TCP;unicast;interleaved=0-1",
                               "Authorization: Digest username=\"admin\"", NULL};
  char *r = cw_rtsp_request_build("SETUP", "rtsp://h/stream=0", 42, extra);
  g_assert_cmpstr(r, ==,
                  "SETUP rtsp://h/stream=0 RTSP/1.0\r\n"
                  "CSeq: 42\r\n"
                  "User-Agent: citywatch\r\n"
                  "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n"
                  "Authorization: Digest username=\"admin\"\r\n"
                  "\r\n");
  g_free(r);
  const char *const none[] = {NULL};
  r = cw_rtsp_request_build("GET_PARAMETER", "rtsp://h/", 0, none);
  g_assert_cmpstr(r, ==,
                  "GET_PARAMETER rtsp://h/ RTSP/1.0\r\nCSeq: 0\r\n"
                  "User-Agent: citywatch\r\n\r\n");
  g_free(r);
  /* The request it builds reads back as a request. */
  const char *const sess[] = {"Session: 1273430213", NULL};
  r = cw_rtsp_request_build("PLAY", "rtsp://h/", 5, sess);
  cw_rtsp_frame_t f;
  read_whole(r, &f);
  g_assert_cmpint(f.kind, ==, CW_RTSP_REQUEST);
  g_assert_cmpstr(f.method, ==, "PLAY");
  g_assert_cmpint(cw_rtsp_frame_cseq(&f), ==, 5);
  g_assert_cmpstr(cw_rtsp_frame_header(&f, "Session"), ==, "1273430213");
  cw_rtsp_frame_clear(&f);
  g_free(r);
}

static void
test_build_refuses_injection(void)
{
  const char *const crlf_header[] = {"Session: 1\r\nX-Evil: 1", NULL};
  const char *const lf_header[] = {"Session: 1\nX-Evil: 1", NULL};
  const char *const cr_header[] = {"Session: 1\r", NULL};
  const char *const empty_header[] = {"Session: 1", "", NULL};
  const char *const no_colon[] = {"Session 1", NULL};
  const char *const folded[] = {" Session: 1", NULL};
  const char *const bad_name[] = {"Sess ion: 1", NULL};
  g_assert_null(cw_rtsp_request_build("OPTIONS", "rtsp://h/\r\nX-Evil: 1", 1, NULL));
  g_assert_null(cw_rtsp_request_build("OPTIONS", "rtsp://h/\nX", 1, NULL));
  g_assert_null(cw_rtsp_request_build("OPTIONS", "rtsp://h/ x", 1, NULL));
  g_assert_null(cw_rtsp_request_build("OPTIONS\r\n", "rtsp://h/", 1, NULL));
  g_assert_null(cw_rtsp_request_build("OPT IONS", "rtsp://h/", 1, NULL));
  g_assert_null(cw_rtsp_request_build("", "rtsp://h/", 1, NULL));
  g_assert_null(cw_rtsp_request_build("$OPTIONS", "rtsp://h/", 1, NULL));
  g_assert_null(cw_rtsp_request_build("OPTIONS", "", 1, NULL));
  g_assert_null(cw_rtsp_request_build(NULL, "rtsp://h/", 1, NULL));
  g_assert_null(cw_rtsp_request_build("OPTIONS", NULL, 1, NULL));
  g_assert_null(cw_rtsp_request_build("OPTIONS", "rtsp://h/", -1, NULL));
  g_assert_null(cw_rtsp_request_build("OPTIONS", "rtsp://h/", 1, crlf_header));
  g_assert_null(cw_rtsp_request_build("OPTIONS", "rtsp://h/", 1, lf_header));
  g_assert_null(cw_rtsp_request_build("OPTIONS", "rtsp://h/", 1, cr_header));
  g_assert_null(cw_rtsp_request_build("OPTIONS", "rtsp://h/", 1, empty_header));
  g_assert_null(cw_rtsp_request_build("OPTIONS", "rtsp://h/", 1, no_colon));
  g_assert_null(cw_rtsp_request_build("OPTIONS", "rtsp://h/", 1, folded));
  g_assert_null(cw_rtsp_request_build("OPTIONS", "rtsp://h/", 1, bad_name));
}

/* ---- Session ---------------------------------------------------------------- */

static void
test_session_forms(void)
{
  static const struct {
    const char *value, *id;
    int timeout;
  } cases[] = {
      {"12345678;timeout=60", "12345678", 60},
      {"12345678", "12345678", 60},
      {" 5cLtmeHqRW5DCJoS ; Timeout = 30 ", "5cLtmeHqRW5DCJoS", 30},
      {"ABC$-_.+~;foo=bar;timeout=120", "ABC$-_.+~", 120},
      {"abc;timeout=0", "abc", 60},
      {"abc;timeout=9999999999", "abc", 86400},
      {"abc;", "abc", 60},
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    char *id = NULL;
    int timeout = 0;
    cw_error_t err = {0};
    int rc = cw_rtsp_parse_session(cases[i].value, &id, &timeout, &err);
    if (rc != 0)
      g_error("%s: %s", cases[i].value, err.msg);
    g_assert_cmpstr(id, ==, cases[i].id);
    g_assert_cmpint(timeout, ==, cases[i].timeout);
    g_free(id);
  }
}

static void
test_session_errors(void)
{
  static const struct {
    const char *value, *msg;
  } cases[] = {
      {"", "empty session id"},
      {" ;timeout=60", "empty session id"},
      {"ab cd", "malformed session id"},
      {"ab\"cd", "malformed session id"},
      {"abc;timeout=soon", "bad session timeout \"soon\""},
      {"abc;timeout=", "bad session timeout"},
      {"abc;timeout=-5", "bad session timeout"},
      {NULL, "missing Session header"},
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    char *id = (char *)"untouched";
    int timeout = 0;
    cw_error_t err = {0};
    g_assert_cmpint(cw_rtsp_parse_session(cases[i].value, &id, &timeout, &err), ==, -EINVAL);
    g_assert_null(id);
    g_assert_true(g_str_has_prefix(err.msg, cases[i].msg));
  }
}

/* ---- Transport -------------------------------------------------------------- */

static void
test_transport_first_of_several(void)
{
  cw_rtsp_transport_t t;
  g_assert_cmpint(cw_rtsp_parse_transport("RTP/AVP/TCP;unicast;interleaved=2-3;mode=\"PLAY,x\","
                                          "RTP/AVP;unicast;client_port=4000-4001",
                                          &t, NULL),
                  ==, 0);
  g_assert_true(t.tcp);
  g_assert_cmpint(t.interleaved[0], ==, 2);
  g_assert_cmpint(t.interleaved[1], ==, 3);
  g_assert_cmpint(t.client_port[0], ==, -1);
  cw_rtsp_transport_clear(&t);
}

static void
test_transport_single_numbers_and_case(void)
{
  cw_rtsp_transport_t t;
  g_assert_cmpint(
      cw_rtsp_parse_transport("rtp/avp/udp; unicast; CLIENT_PORT=5000; Server_Port = 7000 ; "
                              "SSRC=0000abcd",
                              &t, NULL),
      ==, 0);
  g_assert_false(t.tcp);
  g_assert_cmpint(t.client_port[0], ==, 5000);
  g_assert_cmpint(t.client_port[1], ==, -1);
  g_assert_cmpint(t.server_port[0], ==, 7000);
  g_assert_cmpint(t.server_port[1], ==, -1);
  g_assert_true(t.has_ssrc);
  g_assert_cmphex(t.ssrc, ==, 0xabcd);
  cw_rtsp_transport_clear(&t);
  g_assert_cmpint(cw_rtsp_parse_transport("RTP/AVP/TCP;interleaved=4", &t, NULL), ==, 0);
  g_assert_cmpint(t.interleaved[0], ==, 4);
  g_assert_cmpint(t.interleaved[1], ==, -1);
  cw_rtsp_transport_clear(&t);
}

static void
test_transport_odd_ssrc_ignored(void)
{
  static const char *const odd[] = {"RTP/AVP;ssrc=123456789", "RTP/AVP;ssrc=xyz",
                                    "RTP/AVP;ssrc=", "RTP/AVP;ssrc=0x12"};
  for (guint i = 0; i < G_N_ELEMENTS(odd); i++) {
    cw_rtsp_transport_t t;
    g_assert_cmpint(cw_rtsp_parse_transport(odd[i], &t, NULL), ==, 0);
    g_assert_false(t.has_ssrc);
    cw_rtsp_transport_clear(&t);
  }
}

static void
test_transport_errors(void)
{
  static const struct {
    const char *value;
    int code;
    const char *msg;
  } cases[] = {
      {"RTP/AVP/TCP;interleaved=300-301", -EINVAL, "bad interleaved channels \"300-301\""},
      {"RTP/AVP/TCP;interleaved=a-b", -EINVAL, "bad interleaved channels"},
      {"RTP/AVP/TCP;interleaved=0-", -EINVAL, "bad interleaved channels"},
      {"RTP/AVP;client_port=0-1", -EINVAL, "bad client_port"},
      {"RTP/AVP;server_port=6970-65536", -EINVAL, "bad server_port"},
      {"RTP/AVP;server_port=", -EINVAL, "bad server_port"},
      {"RTP/SAVP;unicast", -ENOTSUP, "unsupported transport \"RTP/SAVP\""},
      {"RAW/RAW/UDP;unicast", -ENOTSUP, "unsupported transport"},
      {"", -EINVAL, "empty Transport"},
      {";interleaved=0-1", -EINVAL, "empty Transport"},
      {NULL, -EINVAL, "missing Transport header"},
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    cw_rtsp_transport_t t;
    cw_error_t err = {0};
    g_assert_cmpint(cw_rtsp_parse_transport(cases[i].value, &t, &err), ==, cases[i].code);
    if (!g_str_has_prefix(err.msg, cases[i].msg))
      g_error("\"%s\" does not start with \"%s\"", err.msg, cases[i].msg);
    g_assert_null(t.source);
    g_assert_cmpint(t.interleaved[0], ==, -1);
    cw_rtsp_transport_clear(&t);
  }
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/rtsp_msg/read/options_public", test_options_public);
  g_test_add_func("/rtsp_msg/read/describe_body", test_describe_body);
  g_test_add_func("/rtsp_msg/read/unauthorized_two_challenges", test_unauthorized_two_challenges);
  g_test_add_func("/rtsp_msg/read/setup_tcp_session_transport", test_setup_tcp_session_transport);
  g_test_add_func("/rtsp_msg/read/setup_udp_ports", test_setup_udp_ports);
  g_test_add_func("/rtsp_msg/read/play_rtp_info", test_play_rtp_info);
  g_test_add_func("/rtsp_msg/read/lf_only_lines", test_lf_only_lines);
  g_test_add_func("/rtsp_msg/read/server_request", test_server_request);
  g_test_add_func("/rtsp_msg/read/server_request_body", test_server_request_body);
  g_test_add_func("/rtsp_msg/read/header_folding", test_header_folding);
  g_test_add_func("/rtsp_msg/read/values_trimmed_names_as_received",
                  test_values_trimmed_names_as_received);
  g_test_add_func("/rtsp_msg/read/reason_with_spaces_or_none", test_reason_with_spaces_or_none);
  g_test_add_func("/rtsp_msg/read/leading_empty_lines_skipped", test_leading_empty_lines_skipped);
  g_test_add_func("/rtsp_msg/read/every_split_point", test_every_split_point);
  g_test_add_func("/rtsp_msg/read/interleaved_frame", test_interleaved_frame);
  g_test_add_func("/rtsp_msg/read/interleaved_empty", test_interleaved_empty);
  g_test_add_func("/rtsp_msg/read/interleaved_max_length", test_interleaved_max_length);
  g_test_add_func("/rtsp_msg/read/frames_back_to_back", test_frames_back_to_back);
  g_test_add_func("/rtsp_msg/read/header_section_at_limit", test_header_section_at_limit);
  g_test_add_func("/rtsp_msg/read/content_length_at_limit", test_content_length_at_limit);
  g_test_add_func("/rtsp_msg/error/garbage_first_line", test_error_garbage_first_line);
  g_test_add_func("/rtsp_msg/error/binary_garbage_at_once", test_error_binary_garbage_at_once);
  g_test_add_func("/rtsp_msg/error/request_line", test_error_request_line);
  g_test_add_func("/rtsp_msg/error/header_section_too_long", test_error_header_section_too_long);
  g_test_add_func("/rtsp_msg/error/only_empty_lines", test_error_only_empty_lines);
  g_test_add_func("/rtsp_msg/error/content_length_too_big", test_error_content_length_too_big);
  g_test_add_func("/rtsp_msg/error/bad_content_length", test_error_bad_content_length);
  g_test_add_func("/rtsp_msg/error/too_many_headers", test_error_too_many_headers);
  g_test_add_func("/rtsp_msg/error/header_without_colon", test_error_header_without_colon);
  g_test_add_func("/rtsp_msg/error/bad_header_names", test_error_bad_header_names);
  g_test_add_func("/rtsp_msg/error/continuation_first", test_error_continuation_first);
  g_test_add_func("/rtsp_msg/error/control_bytes", test_error_control_bytes);
  g_test_add_func("/rtsp_msg/frame/cseq_malformed", test_cseq_malformed);
  g_test_add_func("/rtsp_msg/frame/helpers_on_interleaved", test_helpers_on_interleaved);
  g_test_add_func("/rtsp_msg/build/options", test_build_options);
  g_test_add_func("/rtsp_msg/build/with_headers", test_build_with_headers);
  g_test_add_func("/rtsp_msg/build/refuses_injection", test_build_refuses_injection);
  g_test_add_func("/rtsp_msg/session/forms", test_session_forms);
  g_test_add_func("/rtsp_msg/session/errors", test_session_errors);
  g_test_add_func("/rtsp_msg/transport/first_of_several", test_transport_first_of_several);
  g_test_add_func("/rtsp_msg/transport/single_numbers_and_case",
                  test_transport_single_numbers_and_case);
  g_test_add_func("/rtsp_msg/transport/odd_ssrc_ignored", test_transport_odd_ssrc_ignored);
  g_test_add_func("/rtsp_msg/transport/errors", test_transport_errors);
  return g_test_run();
}
