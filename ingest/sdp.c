/* SDP parsing and RTSP control-URL resolution; see sdp.h. */
#include "sdp.h"

#include <errno.h>
#include <math.h>
#include <string.h>

/* ---- control URLs ------------------------------------------------------ */

/* Length of "scheme:" when s starts with an RFC 3986 scheme followed by
 * "://", else 0. */
static size_t
scheme_prefix_len(const char *s)
{
  if (!g_ascii_isalpha(s[0]))
    return 0;
  size_t i = 1;
  while (g_ascii_isalnum(s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.')
    i++;
  if (strncmp(s + i, "://", 3) != 0)
    return 0;
  return i + 1;
}

char *
cw_rtsp_resolve_control(const char *base, const char *control)
{
  if (!base)
    base = "";
  if (!control || !*control || strcmp(control, "*") == 0)
    return g_strdup(base);
  if (scheme_prefix_len(control))
    return g_strdup(control);

  size_t scheme = scheme_prefix_len(base);
  if (control[0] == '/' && control[1] == '/') {
    if (!scheme)
      return g_strdup(control);
    return g_strdup_printf("%.*s%s", (int)scheme, base, control);
  }
  if (control[0] == '/') {
    if (!scheme)
      return g_strdup(control);
    const char *authority = base + scheme + 2;
    size_t n = strcspn(authority, "/?#");
    return g_strdup_printf("%.*s%s", (int)(authority + n - base), base, control);
  }
  if (!*base)
    return g_strdup(control);
  if (g_str_has_suffix(base, "/"))
    return g_strconcat(base, control, NULL);
  return g_strconcat(base, "/", control, NULL);
}

/* ---- small helpers ----------------------------------------------------- */

static const char *
skip_space(const char *s)
{
  while (*s == ' ' || *s == '\t')
    s++;
  return s;
}

/* Removes leading and trailing spaces and tabs in place; returns s moved. */
static char *
trim(char *s)
{
  s = (char *)skip_space(s);
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
    s[--n] = '\0';
  return s;
}

/* Reads decimal digits at *s (at least one, value <= max) and moves *s past
 * them. */
static gboolean
read_uint(const char **s, guint64 max, guint64 *out)
{
  const char *p = *s;
  guint64 v = 0;
  if (!g_ascii_isdigit(*p))
    return FALSE;
  for (; g_ascii_isdigit(*p); p++) {
    v = v * 10 + (guint64)(*p - '0');
    if (v > max)
      return FALSE;
  }
  *s = p;
  *out = v;
  return TRUE;
}

/* The whole of s is a decimal number <= max. */
static gboolean
parse_uint(const char *s, guint64 max, guint64 *out)
{
  return read_uint(&s, max, out) && *s == '\0';
}

static int
b64_value(char c)
{
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+')
    return 62;
  if (c == '/')
    return 63;
  return -1;
}

/* Strict base64 (RFC 4648 section 4) of s[0..n) appended to out. Padding may
 * be left out, but if present must be right; nothing may follow it. */
static gboolean
b64_decode_append(const char *s, size_t n, GByteArray *out)
{
  guint32 acc = 0;
  int bits = 0;
  size_t data = 0, pad = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '=') {
      pad++;
      continue;
    }
    int v = b64_value(s[i]);
    if (v < 0 || pad)
      return FALSE;
    data++;
    acc = (acc << 6) | (guint32)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      guint8 byte = (guint8)(acc >> bits);
      g_byte_array_append(out, &byte, 1);
      acc &= (1u << bits) - 1;
    }
  }
  if (data % 4 == 1)
    return FALSE;
  if (pad && (n % 4 != 0 || pad != (4 - data % 4) % 4))
    return FALSE;
  return TRUE;
}

/* ---- media ------------------------------------------------------------- */

static void
media_free(gpointer p)
{
  cw_sdp_media_t *m = p;
  g_free(m->media);
  g_free(m->encoding);
  g_free(m->control);
  g_free(m->fmtp);
  g_free(m->param_sets);
  g_free(m);
}

void
cw_sdp_free(cw_sdp_t *sdp)
{
  if (!sdp)
    return;
  g_ptr_array_unref(sdp->media);
  g_free(sdp->session_control);
  g_free(sdp->session_name);
  g_free(sdp);
}

const cw_sdp_media_t *
cw_sdp_first_video(const cw_sdp_t *sdp)
{
  if (!sdp)
    return NULL;
  for (guint i = 0; i < sdp->media->len; i++) {
    const cw_sdp_media_t *m = sdp->media->pdata[i];
    if (g_ascii_strcasecmp(m->media, "video") == 0 &&
        (m->codec == CW_CODEC_H264 || m->codec == CW_CODEC_H265))
      return m;
  }
  return NULL;
}

typedef struct {
  const char *base_url;
  cw_sdp_t *sdp;
  cw_sdp_media_t *cur; /* the medium being read, NULL at session level */
  guint fmtp_line;     /* line of cur->fmtp */
  cw_error_t *err;
} parser_t;

/* Appends each NAL unit of a comma-separated base64 list as 00 00 00 01 +
 * NAL. Empty entries are skipped (Dahua ends the list with a comma), and so
 * is a start code some encoders put inside the base64. */
static int
append_sprop(parser_t *p, const char *name, const char *list, GByteArray *out)
{
  static const guint8 start_code[] = {0, 0, 0, 1};
  char **items = g_strsplit(list, ",", -1);
  GByteArray *nal = g_byte_array_new();
  int rc = 0;
  for (char **it = items; *it; it++) {
    char *b64 = trim(*it);
    if (!*b64)
      continue;
    g_byte_array_set_size(nal, 0);
    if (!b64_decode_append(b64, strlen(b64), nal)) {
      rc = cw_error_set(p->err, -EINVAL, "line %u: invalid base64 in %s", p->fmtp_line, name);
      goto out;
    }
    const guint8 *d = nal->data;
    size_t n = nal->len;
    if (n >= 4 && memcmp(d, start_code, 4) == 0) {
      d += 4;
      n -= 4;
    } else if (n >= 3 && memcmp(d, start_code + 1, 3) == 0) {
      d += 3;
      n -= 3;
    }
    if (n == 0)
      continue;
    g_byte_array_append(out, start_code, sizeof start_code);
    g_byte_array_append(out, d, (guint)n);
  }
out:
  g_byte_array_unref(nal);
  g_strfreev(items);
  return rc;
}

/* Reads the codec parameters of the current medium's a=fmtp. */
static int
parse_fmtp(parser_t *p, cw_sdp_media_t *m)
{
  /* H.265 sets are put in VPS, SPS, PPS order whatever the fmtp order. */
  static const char *const h265_names[] = {"sprop-vps", "sprop-sps", "sprop-pps"};
  const char *h265_values[3] = {NULL, NULL, NULL};
  const char *h264_sets = NULL;
  gboolean have_mode = FALSE;
  char **params = g_strsplit(m->fmtp, ";", -1);
  GByteArray *sets = g_byte_array_new();
  int rc = 0;

  for (char **it = params; *it; it++) {
    char *param = trim(*it);
    char *eq = strchr(param, '=');
    if (!eq)
      continue;
    *eq = '\0';
    char *key = trim(param);
    char *value = trim(eq + 1);
    if (m->codec == CW_CODEC_H264) {
      guint64 mode;
      if (!have_mode && g_ascii_strcasecmp(key, "packetization-mode") == 0 &&
          parse_uint(value, 2, &mode)) {
        m->packetization_mode = (int)mode;
        have_mode = TRUE;
      } else if (!h264_sets && g_ascii_strcasecmp(key, "sprop-parameter-sets") == 0) {
        h264_sets = value;
      }
    } else if (m->codec == CW_CODEC_H265) {
      for (guint i = 0; i < G_N_ELEMENTS(h265_names); i++)
        if (!h265_values[i] && g_ascii_strcasecmp(key, h265_names[i]) == 0)
          h265_values[i] = value;
    }
  }

  if (h264_sets)
    rc = append_sprop(p, "sprop-parameter-sets", h264_sets, sets);
  for (guint i = 0; rc == 0 && i < G_N_ELEMENTS(h265_names); i++)
    if (h265_values[i])
      rc = append_sprop(p, h265_names[i], h265_values[i], sets);
  if (rc == 0 && sets->len > 0) {
    m->param_sets_len = sets->len;
    m->param_sets = g_byte_array_free(sets, FALSE);
    sets = NULL;
  }
  if (sets)
    g_byte_array_unref(sets);
  g_strfreev(params);
  return rc;
}

/* Completes the current medium once all its lines are read. */
static int
finish_media(parser_t *p)
{
  cw_sdp_media_t *m = p->cur;
  if (!m)
    return 0;
  p->cur = NULL;
  if (!m->control)
    m->control = g_strdup(p->sdp->session_control ? p->sdp->session_control : p->base_url);
  if (m->encoding) {
    if (g_ascii_strcasecmp(m->encoding, "H264") == 0)
      m->codec = CW_CODEC_H264;
    else if (g_ascii_strcasecmp(m->encoding, "H265") == 0)
      m->codec = CW_CODEC_H265;
  }
  if (m->fmtp)
    return parse_fmtp(p, m);
  return 0;
}

/* m=<media> <port>[/<count>] <proto> <fmt> ... */
static int
parse_m_line(parser_t *p, const char *value, guint line)
{
  char **tok = g_strsplit_set(value, " \t", -1);
  GPtrArray *words = g_ptr_array_new();
  int rc = 0;
  for (char **it = tok; *it; it++)
    if (**it)
      g_ptr_array_add(words, *it);

  const char *reason = NULL;
  guint64 n;
  if (words->len < 4) {
    reason = "expected 'm=<media> <port> <proto> <format>...'";
  } else {
    const char *port = words->pdata[1];
    gboolean ok = read_uint(&port, 65535, &n);
    if (ok && *port == '/') { /* <port>/<number of ports> */
      port++;
      ok = read_uint(&port, 65535, &n);
    }
    if (!ok || *port != '\0')
      reason = "port is not a number";
  }
  int pt = -1;
  if (!reason) {
    const char *proto = words->pdata[2];
    gboolean rtp = g_ascii_strncasecmp(proto, "RTP/", 4) == 0 || strstr(proto, "/RTP/") != NULL;
    if (rtp) {
      if (!parse_uint(words->pdata[3], 127, &n))
        reason = "RTP payload type must be a number from 0 to 127";
      else
        pt = (int)n;
    }
  }
  if (reason) {
    rc = cw_error_set(p->err, -EINVAL, "line %u: malformed m= line: %s", line, reason);
    goto out;
  }
  cw_sdp_media_t *m = g_new0(cw_sdp_media_t, 1);
  m->media = g_strdup(words->pdata[0]);
  m->payload_type = pt;
  g_ptr_array_add(p->sdp->media, m);
  p->cur = m;
out:
  g_ptr_array_unref(words);
  g_strfreev(tok);
  return rc;
}

/* a=rtpmap:<pt> <encoding>/<clock rate>[/<parameters>] */
static int
parse_rtpmap(parser_t *p, const char *value, guint line)
{
  const char *s = value;
  guint64 pt, clock;
  if (!read_uint(&s, 127, &pt) || (*s != ' ' && *s != '\t'))
    goto bad;
  s = skip_space(s);
  const char *enc = s;
  size_t enc_len = strcspn(enc, "/ \t");
  if (enc_len == 0 || enc[enc_len] != '/')
    goto bad;
  s = enc + enc_len + 1;
  if (!read_uint(&s, G_MAXUINT32, &clock) || clock == 0 || (*s != '\0' && *s != '/'))
    goto bad;
  if ((int)pt == p->cur->payload_type && !p->cur->encoding) {
    p->cur->encoding = g_strndup(enc, enc_len);
    p->cur->clock_rate = (guint32)clock;
  }
  return 0;
bad:
  return cw_error_set(p->err, -EINVAL,
                      "line %u: malformed a=rtpmap (expected "
                      "'a=rtpmap:<payload type> <encoding>/<clock rate>')",
                      line);
}

/* "<pt> <rest>": returns rest when pt is the current medium's payload type. */
static const char *
for_this_payload(parser_t *p, const char *value)
{
  guint64 pt;
  if (!read_uint(&value, 127, &pt) || (*value != ' ' && *value != '\t'))
    return NULL;
  if ((int)pt != p->cur->payload_type)
    return NULL;
  return skip_space(value);
}

static void
set_size(cw_sdp_media_t *m, const char *value, char sep)
{
  guint64 w, h;
  if (m->width || !read_uint(&value, 65535, &w) || *value != sep)
    return;
  value++;
  if (!read_uint(&value, 65535, &h) || *value != '\0' || w == 0 || h == 0)
    return;
  m->width = (int)w;
  m->height = (int)h;
}

static void
set_framerate(cw_sdp_media_t *m, const char *value)
{
  char *end;
  double fps = g_ascii_strtod(value, &end);
  if (m->framerate == 0 && end != value && *end == '\0' && isfinite(fps) && fps > 0 && fps <= 1000)
    m->framerate = fps;
}

static int
parse_attribute(parser_t *p, char *attr, guint line)
{
  char *colon = strchr(attr, ':');
  char *value = NULL;
  if (colon) {
    *colon = '\0';
    value = (char *)skip_space(colon + 1);
  }
  char *name = trim(attr);
  cw_sdp_media_t *m = p->cur;

  if (g_ascii_strcasecmp(name, "control") == 0 && value) {
    char **slot = m ? &m->control : &p->sdp->session_control;
    if (!*slot)
      *slot = cw_rtsp_resolve_control(p->base_url, value);
    return 0;
  }
  if (!m) /* the rest only mean something in a medium */
    return 0;
  if (g_ascii_strcasecmp(name, "rtpmap") == 0)
    return parse_rtpmap(p, value ? value : "", line);
  if (!value)
    return 0;
  if (g_ascii_strcasecmp(name, "fmtp") == 0) {
    const char *params = for_this_payload(p, value);
    if (params && !m->fmtp) {
      m->fmtp = g_strdup(params);
      p->fmtp_line = line;
    }
  } else if (g_ascii_strcasecmp(name, "framesize") == 0) {
    const char *size = for_this_payload(p, value);
    if (size)
      set_size(m, size, '-');
  } else if (g_ascii_strcasecmp(name, "x-dimensions") == 0) {
    set_size(m, value, ',');
  } else if (g_ascii_strcasecmp(name, "framerate") == 0) {
    set_framerate(m, value);
  } else if (g_ascii_strcasecmp(name, "x-framerate") == 0) {
    set_framerate(m, value);
  }
  return 0;
}

static int
parse_line(parser_t *p, char *line_text, guint line)
{
  char *s = trim(line_text);
  /* "<type>=<value>"; anything else is not SDP and is skipped. */
  if (!g_ascii_isalpha(s[0]) || s[1] != '=')
    return 0;
  char type = s[0];
  char *value = (char *)skip_space(s + 2);
  switch (type) {
  case 'm': {
    int rc = finish_media(p);
    if (rc < 0)
      return rc;
    if (p->sdp->media->len >= CW_SDP_MAX_MEDIA)
      return cw_error_set(p->err, -EINVAL, "line %u: more than %d media (m= lines)", line,
                          CW_SDP_MAX_MEDIA);
    return parse_m_line(p, value, line);
  }
  case 's':
    if (!p->cur && !p->sdp->session_name)
      p->sdp->session_name = g_strdup(value);
    return 0;
  case 'a':
    return parse_attribute(p, value, line);
  default:
    return 0;
  }
}

/* 1 + the number of line ends in text[0..n). */
static guint
line_of(const char *text, size_t n)
{
  guint line = 1;
  for (const char *nl = text; (nl = memchr(nl, '\n', (size_t)(text + n - nl))); nl++)
    line++;
  return line;
}

int
cw_sdp_parse(const char *text, size_t len, const char *base_url, cw_sdp_t **out, cw_error_t *err)
{
  g_return_val_if_fail(out != NULL, -EINVAL);
  g_return_val_if_fail(text != NULL || len == 0, -EINVAL);
  *out = NULL;
  if (len > CW_SDP_MAX_BYTES)
    return cw_error_set(err, -EINVAL, "line %u: SDP larger than %d bytes",
                        line_of(text, CW_SDP_MAX_BYTES), CW_SDP_MAX_BYTES);

  cw_sdp_t *sdp = g_new0(cw_sdp_t, 1);
  sdp->media = g_ptr_array_new_with_free_func(media_free);
  parser_t p = {.base_url = base_url ? base_url : "", .sdp = sdp, .err = err};
  int rc = 0;
  guint line = 0;
  size_t pos = 0;
  while (pos < len && rc == 0) {
    const char *start = text + pos;
    const char *nl = memchr(start, '\n', len - pos);
    size_t n = nl ? (size_t)(nl - start) : len - pos;
    pos += n + (nl ? 1 : 0);
    line++;
    if (memchr(start, '\0', n)) {
      rc = cw_error_set(err, -EINVAL, "line %u: NUL byte", line);
      break;
    }
    if (n > 0 && start[n - 1] == '\r')
      n--;
    char *copy = g_strndup(start, n);
    rc = parse_line(&p, copy, line);
    g_free(copy);
  }
  if (rc == 0)
    rc = finish_media(&p);
  if (rc < 0) {
    cw_sdp_free(sdp);
    return rc;
  }
  *out = sdp;
  return 0;
}
