/* Fuzzes ingest/rtsp_msg.c and ingest/rtsp_auth.c.
 *
 * The input is a TCP RTSP connection's bytes: cw_rtsp_read() cuts frames
 * off it until it needs more or refuses, and each frame is checked against
 * what rtsp_msg.h promises (bounds, ownership, consumed bytes, every strict
 * prefix of a frame asking for more). The Session, Transport and
 * WWW-Authenticate values of each response go through their parsers. Then
 * the whole input, as a C string, goes to cw_rtsp_parse_transport,
 * cw_rtsp_parse_session and (split at line ends into several values)
 * cw_rtsp_auth_parse, whose answer is turned into an Authorization header;
 * and, split at line ends into method, URI and extra headers, to
 * cw_rtsp_request_build, whose output must read back as exactly that
 * request (no injected header, line or body). */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "rtsp_auth.h"
#include "rtsp_msg.h"

#define PASSWORD "fuzz-Pa55w0rd"
#define MAX_EXTRA 8

static gboolean
has_crlf_or_ctl(const char *s)
{
  for (; *s; s++)
    if ((guint8)*s < 0x20 && *s != '\t')
      return TRUE;
  return FALSE;
}

static void
check_error(int rc, const cw_error_t *err)
{
  FUZZ_CHECK(err->code == rc);
  FUZZ_CHECK(err->msg[0] != '\0');
  FUZZ_CHECK(!has_crlf_or_ctl(err->msg));
}

static void
check_session(const char *value)
{
  char *id = (char *)"unset";
  int timeout = -2;
  cw_error_t err = {0};
  int rc = cw_rtsp_parse_session(value, &id, &timeout, &err);
  if (rc == 0) {
    FUZZ_CHECK(id && *id);
    for (const char *p = id; *p; p++)
      FUZZ_CHECK((guint8)*p > 0x20 && (guint8)*p < 0x7f && *p != ';');
    FUZZ_CHECK(timeout >= 1 && timeout <= 86400);
  } else {
    FUZZ_CHECK(rc == -EINVAL);
    FUZZ_CHECK(id == NULL);
    check_error(rc, &err);
  }
  g_free(id);
}

static gboolean
pair_ok(const int p[2], int min, int max)
{
  for (int i = 0; i < 2; i++)
    if (p[i] != -1 && (p[i] < min || p[i] > max))
      return FALSE;
  return p[0] != -1 || p[1] == -1;
}

static void
check_transport(const char *value)
{
  cw_rtsp_transport_t t;
  cw_error_t err = {0};
  int rc = cw_rtsp_parse_transport(value, &t, &err);
  if (rc == 0) {
    FUZZ_CHECK(pair_ok(t.interleaved, 0, 255));
    FUZZ_CHECK(pair_ok(t.client_port, 1, 65535));
    FUZZ_CHECK(pair_ok(t.server_port, 1, 65535));
    FUZZ_CHECK(t.has_ssrc || t.ssrc == 0);
    if (t.source) {
      FUZZ_CHECK(*t.source);
      for (const char *p = t.source; *p; p++)
        FUZZ_CHECK((guint8)*p > 0x20 && (guint8)*p != 0x7f);
    }
  } else {
    FUZZ_CHECK(rc == -EINVAL || rc == -ENOTSUP);
    FUZZ_CHECK(t.source == NULL);
    check_error(rc, &err);
  }
  cw_rtsp_transport_clear(&t);
}

static void
check_auth(const char *const *values, guint n)
{
  cw_rtsp_challenge_t ch;
  cw_error_t err = {0};
  int rc = cw_rtsp_auth_parse(values, n, &ch, &err);
  if (rc != 0) {
    FUZZ_CHECK(rc == -EINVAL || rc == -ENOTSUP);
    FUZZ_CHECK(ch.realm == NULL && ch.nonce == NULL && ch.opaque == NULL);
    check_error(rc, &err);
    return;
  }
  FUZZ_CHECK(ch.nc == 0);
  FUZZ_CHECK(!ch.algorithm || strcmp(ch.algorithm, "MD5") == 0);
  if (ch.digest)
    FUZZ_CHECK(ch.realm && ch.nonce);
  for (int i = 0; i < 2; i++) {
    char *h = cw_rtsp_auth_header(&ch, "DESCRIBE", "rtsp://192.0.2.1/stream", "fuzzuser", PASSWORD);
    if (!h)
      continue;
    FUZZ_CHECK(ch.nc == (guint32)(i + 1));
    FUZZ_CHECK(g_str_has_prefix(h, ch.digest ? "Digest username=\"fuzzuser\"" : "Basic "));
    FUZZ_CHECK(!has_crlf_or_ctl(h));
    /* Only what the server sent may echo it (a realm of that text). */
    gboolean echoed = (ch.realm && strstr(ch.realm, PASSWORD)) ||
                      (ch.nonce && strstr(ch.nonce, PASSWORD)) ||
                      (ch.opaque && strstr(ch.opaque, PASSWORD));
    FUZZ_CHECK(echoed || strstr(h, PASSWORD) == NULL);
    if (ch.digest)
      FUZZ_CHECK(strstr(h, "response=\"") != NULL);
    g_free(h);
  }
  cw_rtsp_challenge_clear(&ch);
}

/* A copy of the first len bytes in a buffer of exactly that size, so a
 * read past len is a read past the allocation. */
static int
read_prefix(const guint8 *data, size_t len, cw_rtsp_frame_t *f)
{
  guint8 *copy = g_malloc(len ? len : 1);
  memcpy(copy, data, len);
  int rc = cw_rtsp_read(copy, len, f, NULL);
  cw_rtsp_frame_clear(f);
  g_free(copy);
  return rc;
}

static void
check_frame(const guint8 *buf, size_t len, const cw_rtsp_frame_t *f)
{
  FUZZ_CHECK(f->consumed >= 1 && f->consumed <= len);
  if (f->kind == CW_RTSP_INTERLEAVED) {
    FUZZ_CHECK(f->payload_len <= 65535);
    FUZZ_CHECK(f->payload + f->payload_len == buf + f->consumed);
    FUZZ_CHECK(f->payload - 4 >= buf && f->payload[-4] == '$' && f->payload[-3] == f->channel);
    FUZZ_CHECK(f->names == NULL && f->body == NULL && f->reason == NULL && f->method == NULL);
    return;
  }
  FUZZ_CHECK(f->kind == CW_RTSP_RESPONSE || f->kind == CW_RTSP_REQUEST);
  if (f->kind == CW_RTSP_RESPONSE) {
    FUZZ_CHECK(f->status >= 100 && f->status <= 999);
    FUZZ_CHECK(f->reason != NULL && f->method == NULL && f->uri == NULL);
  } else {
    FUZZ_CHECK(f->method && *f->method && f->uri && *f->uri && f->reason == NULL);
  }
  FUZZ_CHECK(f->names && f->values && f->names->len == f->values->len);
  FUZZ_CHECK(f->names->len <= CW_RTSP_MAX_HEADERS);
  for (guint i = 0; i < f->names->len; i++) {
    const char *name = g_ptr_array_index(f->names, i), *value = g_ptr_array_index(f->values, i);
    FUZZ_CHECK(*name && !strchr(name, ':') && !has_crlf_or_ctl(name));
    FUZZ_CHECK(!has_crlf_or_ctl(value));
    FUZZ_CHECK(cw_rtsp_frame_header(f, name) != NULL);
  }
  FUZZ_CHECK(f->body != NULL && f->body[f->body_len] == '\0');
  FUZZ_CHECK(f->body_len <= CW_RTSP_MAX_BODY);
  FUZZ_CHECK(memcmp(f->body, buf + f->consumed - f->body_len, f->body_len) == 0);
  FUZZ_CHECK(f->consumed - f->body_len <= CW_RTSP_MAX_HEADER_BYTES);
  int cseq = cw_rtsp_frame_cseq(f);
  FUZZ_CHECK(cseq >= -1);

  guint n = 0;
  const char **auth = cw_rtsp_frame_headers(f, "WWW-Authenticate", &n);
  FUZZ_CHECK(auth[n] == NULL);
  if (n)
    check_auth(auth, n);
  g_free(auth);
  const char *session = cw_rtsp_frame_header(f, "Session");
  if (session)
    check_session(session);
  const char *transport = cw_rtsp_frame_header(f, "Transport");
  if (transport)
    check_transport(transport);
}

static void
read_stream(const guint8 *data, size_t size)
{
  size_t off = 0;
  while (off < size) {
    cw_rtsp_frame_t f;
    cw_error_t err = {0};
    int rc = cw_rtsp_read(data + off, size - off, &f, &err);
    if (rc <= 0) {
      FUZZ_CHECK(f.kind == CW_RTSP_NEED_MORE && f.consumed == 0 && f.names == NULL &&
                 f.body == NULL && f.reason == NULL && f.method == NULL);
      if (rc == 0) /* no frame is longer than this, so more bytes cannot help */
        FUZZ_CHECK(size - off < CW_RTSP_MAX_HEADER_BYTES + CW_RTSP_MAX_BODY);
      else {
        FUZZ_CHECK(rc == -EINVAL || rc == -EMSGSIZE);
        check_error(rc, &err);
      }
      return;
    }
    FUZZ_CHECK(rc == 1);
    check_frame(data + off, size - off, &f);
    /* A frame is whole only once all its bytes are there. */
    cw_rtsp_frame_t p;
    FUZZ_CHECK(read_prefix(data + off, f.consumed - 1, &p) == 0);
    FUZZ_CHECK(read_prefix(data + off, f.consumed / 2, &p) == 0);
    off += f.consumed;
    cw_rtsp_frame_clear(&f);
    FUZZ_CHECK(f.names == NULL && f.body == NULL);
  }
}

/* Method, URI and extra headers from the lines of text; what the builder
 * accepts must read back as exactly that request. */
static void
check_build(char *text, size_t size)
{
  char **lines = g_strsplit(text, "\n", MAX_EXTRA + 3);
  guint nlines = g_strv_length(lines);
  if (nlines < 2) {
    g_strfreev(lines);
    return;
  }
  const char *extra[MAX_EXTRA + 2] = {0};
  guint nextra = 0;
  gboolean has_length = FALSE;
  for (guint i = 2; i < nlines && nextra < MAX_EXTRA; i++) {
    extra[nextra++] = lines[i];
    if (g_ascii_strncasecmp(lines[i], "Content-Length", 14) == 0)
      has_length = TRUE;
  }
  int cseq = (int)(size % 100000);
  char *req = cw_rtsp_request_build(lines[0], lines[1], cseq, nextra ? extra : NULL);
  if (req && !has_length && strlen(req) <= CW_RTSP_MAX_HEADER_BYTES) {
    cw_rtsp_frame_t f;
    cw_error_t err = {0};
    int rc = cw_rtsp_read((const guint8 *)req, strlen(req), &f, &err);
    if (rc != 1)
      fprintf(stderr, "built request reads back as %d: %s\n", rc, err.msg);
    FUZZ_CHECK(rc == 1);
    FUZZ_CHECK(f.kind == CW_RTSP_REQUEST);
    FUZZ_CHECK(f.consumed == strlen(req));
    FUZZ_CHECK(strcmp(f.method, lines[0]) == 0 && strcmp(f.uri, lines[1]) == 0);
    FUZZ_CHECK(f.names->len == 2 + nextra);
    FUZZ_CHECK(cw_rtsp_frame_cseq(&f) == cseq);
    FUZZ_CHECK(f.body_len == 0);
    cw_rtsp_frame_clear(&f);
  }
  if (req)
    FUZZ_CHECK(!strchr(lines[0], '\r') && !strchr(lines[1], '\r'));
  g_free(req);
  g_strfreev(lines);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  read_stream(data, size);

  char *text = g_malloc(size + 1);
  memcpy(text, data, size);
  text[size] = '\0';
  check_transport(text);
  check_session(text);
  char **values = g_strsplit(text, "\n", 16);
  check_auth((const char *const *)values, g_strv_length(values));
  g_strfreev(values);
  check_build(text, size);
  g_free(text);
  return 0;
}
