/* RTSP 1.0 message layer: frame reader, request builder, Session and
 * Transport parsers. See rtsp_msg.h. Pure functions, no I/O, no globals. */
#include "rtsp_msg.h"

#include <errno.h>
#include <string.h>

#define EXCERPT_MAX 40
#define SESSION_TIMEOUT_DEFAULT 60
#define SESSION_TIMEOUT_MAX 86400

/* ---- small helpers ------------------------------------------------------ */

gboolean
cw_rtsp_is_token_char(guint8 c)
{
  if (c <= 0x20 || c >= 0x7f)
    return FALSE;
  return strchr("()<>@,;:\\\"/[]?={}", c) == NULL;
}

static gboolean
is_ws(char c)
{
  return c == ' ' || c == '\t';
}

/* A short printable copy of outside bytes for an error message: printable
 * ASCII kept, anything else shown as '?', cut at EXCERPT_MAX. */
static void
excerpt(char *dst, size_t dst_size, const char *s, size_t len)
{
  size_t j = 0;
  for (size_t i = 0; i < len && j + 4 < dst_size; i++) {
    if (i == EXCERPT_MAX) {
      memcpy(dst + j, "...", 3);
      j += 3;
      break;
    }
    guint8 c = (guint8)s[i];
    dst[j++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
  }
  dst[j] = '\0';
}

/* Copy of [s, s+len) without leading and trailing spaces and tabs. */
static char *
strndup_trimmed(const char *s, size_t len)
{
  while (len && is_ws(*s)) {
    s++;
    len--;
  }
  while (len && is_ws(s[len - 1]))
    len--;
  return g_strndup(s, len);
}

/* Parses 1*DIGIT in [s, s+len) as a value no greater than max; FALSE when
 * empty, not all digits or above max. */
static gboolean
parse_uint(const char *s, size_t len, long max, long *out)
{
  long v = 0;
  if (len == 0)
    return FALSE;
  for (size_t i = 0; i < len; i++) {
    if (!g_ascii_isdigit(s[i]))
      return FALSE;
    v = v * 10 + (s[i] - '0');
    if (v > max)
      return FALSE;
  }
  *out = v;
  return TRUE;
}

/* ---- frame reader ------------------------------------------------------- */

static gboolean
is_version(const char *s, size_t len)
{
  /* "RTSP/" 1*DIGIT "." 1*DIGIT */
  if (len < 8 || memcmp(s, "RTSP/", 5) != 0)
    return FALSE;
  size_t i = 5, d1 = 0, d2 = 0;
  for (; i < len && g_ascii_isdigit(s[i]); i++)
    d1++;
  if (!d1 || i >= len || s[i] != '.')
    return FALSE;
  for (i++; i < len && g_ascii_isdigit(s[i]); i++)
    d2++;
  return d2 && i == len;
}

/* The first line: "RTSP/1.0 200 OK" or "METHOD URI RTSP/1.0". Fills the
 * kind and the owned strings of out. */
static int
parse_start_line(const char *line, size_t n, cw_rtsp_frame_t *out, cw_error_t *err)
{
  char shown[EXCERPT_MAX + 8];
  if (n >= 5 && memcmp(line, "RTSP/", 5) == 0) {
    size_t i = 5;
    while (i < n && !is_ws(line[i]))
      i++;
    if (!is_version(line, i))
      goto bad_status;
    while (i < n && is_ws(line[i]))
      i++;
    if (n - i < 3 || !g_ascii_isdigit(line[i]) || line[i] == '0' || !g_ascii_isdigit(line[i + 1]) ||
        !g_ascii_isdigit(line[i + 2]) || (n - i > 3 && !is_ws(line[i + 3])))
      goto bad_status;
    out->kind = CW_RTSP_RESPONSE;
    out->status = (line[i] - '0') * 100 + (line[i + 1] - '0') * 10 + (line[i + 2] - '0');
    out->reason = strndup_trimmed(line + i + 3, n - i - 3);
    return 0;
  }

  /* A request: method token, URI, version, separated by spaces. */
  size_t m = 0;
  while (m < n && !is_ws(line[m]))
    m++;
  size_t u = m;
  while (u < n && is_ws(line[u]))
    u++;
  size_t ue = u;
  while (ue < n && !is_ws(line[ue]))
    ue++;
  size_t v = ue;
  while (v < n && is_ws(line[v]))
    v++;
  if (m == 0 || u == m || ue == u || v == ue || !is_version(line + v, n - v))
    goto bad_status;
  for (size_t i = 0; i < m; i++)
    if (!cw_rtsp_is_token_char((guint8)line[i])) {
      excerpt(shown, sizeof shown, line, n);
      return cw_error_set(err, -EINVAL, "malformed request line \"%s\"", shown);
    }
  out->kind = CW_RTSP_REQUEST;
  out->method = g_strndup(line, m);
  out->uri = g_strndup(line + u, ue - u);
  return 0;

bad_status:
  excerpt(shown, sizeof shown, line, n);
  return cw_error_set(err, -EINVAL, "malformed status line \"%s\"", shown);
}

/* Checks the bytes of one line (CR of a CRLF already cut off). */
static int
check_line_bytes(const guint8 *s, size_t n, cw_error_t *err)
{
  for (size_t i = 0; i < n; i++) {
    guint8 c = s[i];
    if (c == '\0')
      return cw_error_set(err, -EINVAL, "NUL byte in header section");
    if (c == '\r')
      return cw_error_set(err, -EINVAL, "CR not followed by LF in header section");
    if ((c < 0x20 && c != '\t') || c == 0x7f)
      return cw_error_set(err, -EINVAL, "control character 0x%02x in header section", c);
  }
  return 0;
}

/* One header line or continuation line after the first line. */
static int
parse_header_line(const char *line, size_t n, cw_rtsp_frame_t *out, cw_error_t *err)
{
  if (is_ws(line[0])) {
    /* Folding (RFC 2616 section 2.2): joins the previous value with one space. */
    if (out->values->len == 0)
      return cw_error_set(err, -EINVAL, "continuation line before any header");
    char *more = strndup_trimmed(line, n);
    if (*more) {
      guint last = out->values->len - 1;
      char *old = g_ptr_array_index(out->values, last);
      out->values->pdata[last] = *old ? g_strconcat(old, " ", more, NULL) : g_strdup(more);
      g_free(old);
    }
    g_free(more);
    return 0;
  }
  const char *colon = memchr(line, ':', n);
  if (!colon)
    return cw_error_set(err, -EINVAL, "header line without a colon");
  size_t name_len = (size_t)(colon - line);
  /* Tolerates "Name : value", as some servers write it. */
  while (name_len && is_ws(line[name_len - 1]))
    name_len--;
  if (name_len == 0)
    return cw_error_set(err, -EINVAL, "header line with an empty name");
  for (size_t i = 0; i < name_len; i++)
    if (!cw_rtsp_is_token_char((guint8)line[i]))
      return cw_error_set(err, -EINVAL, "malformed header name");
  if (out->names->len >= CW_RTSP_MAX_HEADERS)
    return cw_error_set(err, -EMSGSIZE, "more than %d headers", CW_RTSP_MAX_HEADERS);
  g_ptr_array_add(out->names, g_strndup(line, name_len));
  g_ptr_array_add(out->values, strndup_trimmed(colon + 1, n - (size_t)(colon - line) - 1));
  return 0;
}

/* Content-Length of a parsed header section: 0 when absent. */
static int
content_length(const cw_rtsp_frame_t *f, size_t *out, cw_error_t *err)
{
  const char *first = NULL;
  *out = 0;
  for (guint i = 0; i < f->names->len; i++) {
    if (g_ascii_strcasecmp(g_ptr_array_index(f->names, i), "Content-Length") != 0)
      continue;
    const char *v = g_ptr_array_index(f->values, i);
    if (first && strcmp(first, v) != 0)
      return cw_error_set(err, -EINVAL, "bad Content-Length (two different values)");
    first = v;
  }
  if (!first)
    return 0;
  size_t n = strlen(first);
  if (n == 0 || strspn(first, "0123456789") != n) {
    char shown[EXCERPT_MAX + 8];
    excerpt(shown, sizeof shown, first, n);
    return cw_error_set(err, -EINVAL, "bad Content-Length \"%s\"", shown);
  }
  long v;
  if (!parse_uint(first, n, CW_RTSP_MAX_BODY, &v))
    return cw_error_set(err, -EMSGSIZE, "Content-Length %.32s%s exceeds %d", first,
                        n > 32 ? "..." : "", CW_RTSP_MAX_BODY);
  *out = (size_t)v;
  return 0;
}

static int
read_interleaved(const guint8 *buf, size_t len, size_t skipped, cw_rtsp_frame_t *out)
{
  if (len < 4)
    return 0;
  size_t plen = ((size_t)buf[2] << 8) | buf[3];
  if (len - 4 < plen)
    return 0;
  out->kind = CW_RTSP_INTERLEAVED;
  out->channel = buf[1];
  out->payload = buf + 4;
  out->payload_len = plen;
  out->consumed = skipped + 4 + plen;
  return 1;
}

int
cw_rtsp_read(const guint8 *buf, size_t len, cw_rtsp_frame_t *out, cw_error_t *err)
{
  int rc = 0;
  memset(out, 0, sizeof *out);

  /* Empty lines between messages (a server's stray CRLF) are skipped. */
  size_t start = 0;
  while (start < len && (buf[start] == '\r' || buf[start] == '\n')) {
    if (buf[start] == '\r') {
      if (start + 1 == len)
        break;
      if (buf[start + 1] != '\n')
        return cw_error_set(err, -EINVAL, "CR not followed by LF in header section");
      start++;
    }
    start++;
    if (start >= CW_RTSP_MAX_HEADER_BYTES)
      return cw_error_set(err, -EMSGSIZE, "header section longer than %d bytes",
                          CW_RTSP_MAX_HEADER_BYTES);
  }
  if (start == len || buf[start] == '\r')
    return 0;
  if (buf[start] == '$')
    return read_interleaved(buf + start, len - start, start, out);

  /* Cut the header section into lines; the first is checked as soon as it
   * is whole, so garbage fails at once rather than after 16 KiB. */
  size_t limit = MIN(len, (size_t)CW_RTSP_MAX_HEADER_BYTES);
  size_t pos = start, header_end = 0;
  gboolean first = TRUE;
  out->names = g_ptr_array_new_with_free_func(g_free);
  out->values = g_ptr_array_new_with_free_func(g_free);
  while (pos < limit) {
    const guint8 *nl = memchr(buf + pos, '\n', limit - pos);
    size_t end = nl ? (size_t)(nl - buf) : limit;
    size_t line_end = end;
    if (nl && line_end > pos && buf[line_end - 1] == '\r')
      line_end--;
    if (!nl && line_end > pos && buf[line_end - 1] == '\r')
      line_end--; /* a CR that may yet be followed by its LF */
    if ((rc = check_line_bytes(buf + pos, line_end - pos, err)) < 0)
      goto fail;
    if (!nl)
      break;
    const char *line = (const char *)buf + pos;
    size_t n = line_end - pos;
    if (first) {
      if ((rc = parse_start_line(line, n, out, err)) < 0)
        goto fail;
      first = FALSE;
    } else if (n == 0) {
      header_end = end + 1;
      break;
    } else if ((rc = parse_header_line(line, n, out, err)) < 0) {
      goto fail;
    }
    pos = end + 1;
  }
  if (!header_end) {
    if (len >= CW_RTSP_MAX_HEADER_BYTES) {
      rc = cw_error_set(err, -EMSGSIZE, "header section longer than %d bytes",
                        CW_RTSP_MAX_HEADER_BYTES);
      goto fail;
    }
    if (first && pos == start) {
      /* The first line is still partial: check what can be checked. */
      char c = (char)buf[start];
      if (!cw_rtsp_is_token_char((guint8)c)) {
        rc = parse_start_line((const char *)buf + start, limit - start, out, err);
        if (rc == 0)
          rc = cw_error_set(err, -EINVAL, "malformed status line");
        goto fail;
      }
    }
    goto need_more;
  }

  size_t body_len;
  if ((rc = content_length(out, &body_len, err)) < 0)
    goto fail;
  if (len - header_end < body_len)
    goto need_more;
  out->body = g_malloc(body_len + 1);
  memcpy(out->body, buf + header_end, body_len);
  out->body[body_len] = '\0';
  out->body_len = body_len;
  out->consumed = header_end + body_len;
  return 1;

need_more:
  cw_rtsp_frame_clear(out);
  return 0;
fail:
  cw_rtsp_frame_clear(out);
  return rc;
}

void
cw_rtsp_frame_clear(cw_rtsp_frame_t *f)
{
  if (!f)
    return;
  g_free(f->reason);
  g_free(f->method);
  g_free(f->uri);
  if (f->names)
    g_ptr_array_unref(f->names);
  if (f->values)
    g_ptr_array_unref(f->values);
  g_free(f->body);
  memset(f, 0, sizeof *f);
}

const char *
cw_rtsp_frame_header(const cw_rtsp_frame_t *f, const char *name)
{
  if (!f || !f->names || !name)
    return NULL;
  for (guint i = 0; i < f->names->len; i++)
    if (g_ascii_strcasecmp(g_ptr_array_index(f->names, i), name) == 0)
      return g_ptr_array_index(f->values, i);
  return NULL;
}

const char **
cw_rtsp_frame_headers(const cw_rtsp_frame_t *f, const char *name, guint *n)
{
  guint count = 0, total = (f && f->names) ? f->names->len : 0;
  const char **all = g_new0(const char *, total + 1);
  for (guint i = 0; i < total && name; i++)
    if (g_ascii_strcasecmp(g_ptr_array_index(f->names, i), name) == 0)
      all[count++] = g_ptr_array_index(f->values, i);
  if (n)
    *n = count;
  return all;
}

int
cw_rtsp_frame_cseq(const cw_rtsp_frame_t *f)
{
  const char *v = cw_rtsp_frame_header(f, "CSeq");
  long cseq;
  if (!v || !parse_uint(v, strlen(v), G_MAXINT, &cseq))
    return -1;
  return (int)cseq;
}

/* ---- request builder ---------------------------------------------------- */

/* No CR, LF or other control character (tab allowed in header values). */
static gboolean
is_clean(const char *s, gboolean allow_space)
{
  for (; *s; s++) {
    guint8 c = (guint8)*s;
    if (c < 0x20 ? c != '\t' || !allow_space : c == 0x7f)
      return FALSE;
    if (c == ' ' && !allow_space)
      return FALSE;
  }
  return TRUE;
}

static gboolean
is_extra_header(const char *h)
{
  size_t name_len = strcspn(h, ":");
  if (name_len == 0 || h[name_len] != ':')
    return FALSE;
  for (size_t i = 0; i < name_len; i++)
    if (!cw_rtsp_is_token_char((guint8)h[i]))
      return FALSE;
  return is_clean(h + name_len + 1, TRUE);
}

char *
cw_rtsp_request_build(const char *method, const char *uri, int cseq,
                      const char *const *extra_headers)
{
  /* A method starting with '$' would read as an interleaved frame. */
  if (!method || !*method || *method == '$' || !uri || !*uri || cseq < 0 || !is_clean(uri, FALSE))
    return NULL;
  for (const char *p = method; *p; p++)
    if (!cw_rtsp_is_token_char((guint8)*p))
      return NULL;
  for (const char *const *h = extra_headers; h && *h; h++)
    if (!is_extra_header(*h))
      return NULL;

  GString *s = g_string_new(NULL);
  g_string_append_printf(s, "%s %s RTSP/1.0\r\nCSeq: %d\r\nUser-Agent: citywatch\r\n", method, uri,
                         cseq);
  for (const char *const *h = extra_headers; h && *h; h++)
    g_string_append_printf(s, "%s\r\n", *h);
  g_string_append(s, "\r\n");
  return g_string_free(s, FALSE);
}

/* ---- Session ------------------------------------------------------------ */

int
cw_rtsp_parse_session(const char *value, char **id, int *timeout_s, cw_error_t *err)
{
  char shown[EXCERPT_MAX + 8];
  *id = NULL;
  *timeout_s = SESSION_TIMEOUT_DEFAULT;
  if (!value)
    return cw_error_set(err, -EINVAL, "missing Session header");

  size_t id_len = strcspn(value, ";");
  char *sid = strndup_trimmed(value, id_len);
  if (!*sid) {
    g_free(sid);
    return cw_error_set(err, -EINVAL, "empty session id");
  }
  /* It goes back to the server in every request: visible ASCII only. */
  for (const char *p = sid; *p; p++)
    if ((guint8)*p <= 0x20 || (guint8)*p >= 0x7f || *p == '"' || *p == ',' || *p == '\\') {
      excerpt(shown, sizeof shown, sid, strlen(sid));
      g_free(sid);
      return cw_error_set(err, -EINVAL, "malformed session id \"%s\"", shown);
    }

  int timeout = SESSION_TIMEOUT_DEFAULT;
  for (const char *p = value + id_len; *p == ';';) {
    p++;
    size_t plen = strcspn(p, ";");
    char *param = strndup_trimmed(p, plen);
    p += plen;
    char *eq = strchr(param, '=');
    if (eq) {
      *eq = '\0';
      g_strchomp(param);
      if (g_ascii_strcasecmp(param, "timeout") == 0) {
        char *tv = g_strstrip(eq + 1);
        long t;
        size_t tlen = strlen(tv);
        if (tlen == 0 || strspn(tv, "0123456789") != tlen) {
          excerpt(shown, sizeof shown, tv, tlen);
          g_free(param);
          g_free(sid);
          return cw_error_set(err, -EINVAL, "bad session timeout \"%s\"", shown);
        }
        if (!parse_uint(tv, tlen, SESSION_TIMEOUT_MAX, &t))
          t = SESSION_TIMEOUT_MAX;
        timeout = t > 0 ? (int)t : SESSION_TIMEOUT_DEFAULT;
      }
    }
    g_free(param);
  }
  *id = sid;
  *timeout_s = timeout;
  return 0;
}

/* ---- Transport ---------------------------------------------------------- */

/* "a" or "a-b", each 0..max (at least min). */
static gboolean
parse_pair(const char *v, long min, long max, int pair[2])
{
  size_t a_len = strcspn(v, "-");
  long a, b;
  if (!parse_uint(v, a_len, max, &a) || a < min)
    return FALSE;
  pair[0] = (int)a;
  pair[1] = -1;
  if (v[a_len] == '-') {
    const char *bs = v + a_len + 1;
    if (!parse_uint(bs, strlen(bs), max, &b) || b < min)
      return FALSE;
    pair[1] = (int)b;
  }
  return TRUE;
}

/* Length of s up to the first stop character outside double quotes. */
static size_t
span_unquoted(const char *s, char stop)
{
  gboolean quoted = FALSE;
  size_t i = 0;
  for (; s[i]; i++) {
    if (s[i] == '"')
      quoted = !quoted;
    else if (s[i] == stop && !quoted)
      break;
  }
  return i;
}

/* Applies one "name[=value]" parameter of a transport spec. */
static int
transport_param(char *param, cw_rtsp_transport_t *out, cw_error_t *err)
{
  char shown[EXCERPT_MAX + 8];
  char *eq = strchr(param, '=');
  if (!eq)
    return 0; /* unicast, multicast, append...: nothing the client needs */
  *eq = '\0';
  char *name = g_strstrip(param);
  char *value = g_strstrip(eq + 1);
  size_t vlen = strlen(value);
  if (vlen >= 2 && value[0] == '"' && value[vlen - 1] == '"') {
    value[vlen - 1] = '\0';
    value++;
    vlen -= 2;
  }
  if (g_ascii_strcasecmp(name, "interleaved") == 0) {
    if (!parse_pair(value, 0, 255, out->interleaved)) {
      excerpt(shown, sizeof shown, value, vlen);
      return cw_error_set(err, -EINVAL, "bad interleaved channels \"%s\" in Transport", shown);
    }
  } else if (g_ascii_strcasecmp(name, "client_port") == 0 ||
             g_ascii_strcasecmp(name, "server_port") == 0) {
    int *pair = g_ascii_strcasecmp(name, "client_port") == 0 ? out->client_port : out->server_port;
    if (!parse_pair(value, 1, 65535, pair)) {
      excerpt(shown, sizeof shown, value, vlen);
      return cw_error_set(err, -EINVAL, "bad %s \"%s\" in Transport", name, shown);
    }
  } else if (g_ascii_strcasecmp(name, "ssrc") == 0) {
    if (vlen >= 1 && vlen <= 8 && strspn(value, "0123456789abcdefABCDEF") == vlen) {
      out->has_ssrc = TRUE;
      out->ssrc = (guint32)g_ascii_strtoull(value, NULL, 16);
    }
  } else if (g_ascii_strcasecmp(name, "source") == 0) {
    if (vlen && is_clean(value, FALSE)) {
      g_free(out->source);
      out->source = g_strdup(value);
    }
  }
  return 0;
}

int
cw_rtsp_parse_transport(const char *value, cw_rtsp_transport_t *out, cw_error_t *err)
{
  int rc = 0;
  char shown[EXCERPT_MAX + 8];
  memset(out, 0, sizeof *out);
  out->interleaved[0] = out->interleaved[1] = -1;
  out->client_port[0] = out->client_port[1] = -1;
  out->server_port[0] = out->server_port[1] = -1;
  if (!value)
    return cw_error_set(err, -EINVAL, "missing Transport header");

  char *spec = g_strndup(value, span_unquoted(value, ','));
  size_t proto_len = strcspn(spec, ";");
  char *proto = strndup_trimmed(spec, proto_len);
  if (!*proto) {
    rc = cw_error_set(err, -EINVAL, "empty Transport");
    goto out;
  }
  if (g_ascii_strcasecmp(proto, "RTP/AVP/TCP") == 0) {
    out->tcp = TRUE;
  } else if (g_ascii_strcasecmp(proto, "RTP/AVP") != 0 &&
             g_ascii_strcasecmp(proto, "RTP/AVP/UDP") != 0) {
    excerpt(shown, sizeof shown, proto, strlen(proto));
    rc = cw_error_set(err, -ENOTSUP, "unsupported transport \"%s\"", shown);
    goto out;
  }
  for (char *p = spec + proto_len; *p == ';';) {
    p++;
    size_t plen = span_unquoted(p, ';');
    char *param = g_strndup(p, plen);
    p += plen;
    rc = transport_param(param, out, err);
    g_free(param);
    if (rc < 0)
      goto out;
  }
out:
  g_free(proto);
  g_free(spec);
  if (rc < 0) {
    cw_rtsp_transport_clear(out);
    out->interleaved[0] = out->interleaved[1] = -1;
    out->client_port[0] = out->client_port[1] = -1;
    out->server_port[0] = out->server_port[1] = -1;
  }
  return rc;
}

void
cw_rtsp_transport_clear(cw_rtsp_transport_t *t)
{
  if (!t)
    return;
  g_free(t->source);
  memset(t, 0, sizeof *t);
}
