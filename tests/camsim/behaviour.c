/* behaviour.c: mount specs, the scripted faults' bookkeeping, and the
 * Basic and Digest (MD5, qop=auth) checks of the 401 mounts. */
#include "camsim.h"

#include <string.h>

static const struct {
  const char *name;
  cs_behaviour_t b;
  bool timed; /* takes T seconds */
} behaviours[] = {
    {"normal", CS_BHV_NORMAL, false},
    {"refuse", CS_BHV_REFUSE, false},
    {"unauthorized", CS_BHV_UNAUTHORIZED, false},
    {"digest", CS_BHV_UNAUTHORIZED, false},
    {"basic", CS_BHV_BASIC, false},
    {"stall", CS_BHV_STALL, true},
    {"drop", CS_BHV_DROP, true},
    {"slow_describe", CS_BHV_SLOW_DESCRIBE, true},
    {"garbage", CS_BHV_GARBAGE, false},
    {"ts_jump", CS_BHV_TS_JUMP, true},
    {"ssrc_change", CS_BHV_SSRC_CHANGE, true},
    {"oversized_sdp", CS_BHV_OVERSIZED_SDP, false},
    {"wrong_channel", CS_BHV_WRONG_CHANNEL, false},
    {"tcp_refused_setup", CS_BHV_TCP_REFUSED_SETUP, false},
};

const char *
cs_behaviour_name(cs_behaviour_t b)
{
  for (size_t i = 0; i < G_N_ELEMENTS(behaviours); i++)
    if (behaviours[i].b == b)
      return behaviours[i].name;
  return "?";
}

int
cs_mount_parse(const char *spec, cs_mount_t **out, GError **error)
{
  int rc = -1;
  g_autofree char *copy = g_strstrip(g_strdup(spec));
  g_auto(GStrv) f = g_strsplit(copy, ":", -1);
  guint n = g_strv_length(f);
  cs_mount_t *m = g_new0(cs_mount_t, 1);
  guint i;

  if (n < 2 || !*f[0] || strchr(f[0], '/') || strchr(f[0], ' ')) {
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                "mount '%s': expected NAME:CODEC[:BEHAVIOUR[:ARG][:once]]", spec);
    goto out;
  }
  m->name = g_strdup(f[0]);
  if (cs_codec_parse(f[1], &m->codec) < 0) {
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                "mount '%s': codec '%s' is not h264 or h265", spec, f[1]);
    goto out;
  }
  m->behaviour = CS_BHV_NORMAL;
  if (n == 2) {
    rc = 0;
    goto out;
  }
  for (i = 0; i < G_N_ELEMENTS(behaviours); i++)
    if (g_ascii_strcasecmp(f[2], behaviours[i].name) == 0)
      break;
  if (i == G_N_ELEMENTS(behaviours)) {
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                "mount '%s': unknown behaviour '%s'", spec, f[2]);
    goto out;
  }
  m->behaviour = behaviours[i].b;
  guint k = 3;
  if (behaviours[i].timed) {
    char *end = NULL;
    if (k < n)
      m->arg_s = g_ascii_strtod(f[k], &end);
    if (k >= n || end == f[k] || *end || m->arg_s < 0 || m->arg_s > 1e6) {
      g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                  "mount '%s': behaviour %s needs T seconds (e.g. %s:5)", spec, f[2], f[2]);
      goto out;
    }
    k++;
  }
  if (k < n && strcmp(f[k], "once") == 0) {
    if (m->behaviour == CS_BHV_UNAUTHORIZED || m->behaviour == CS_BHV_BASIC) {
      g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                  "mount '%s': 'once' makes no sense for %s", spec, f[2]);
      goto out;
    }
    m->once = true;
    k++;
  }
  if (k < n) {
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "mount '%s': unexpected '%s'",
                spec, f[k]);
    goto out;
  }
  rc = 0;
out:
  if (rc == 0)
    *out = m;
  else
    cs_mount_free(m);
  return rc;
}

void
cs_mount_free(cs_mount_t *m)
{
  if (!m)
    return;
  g_free(m->name);
  g_free(m);
}

bool
cs_mount_fault_armed(const cs_mount_t *m, cs_behaviour_t b)
{
  return m->behaviour == b && !(m->once && m->fired);
}

void
cs_mount_fire(cs_mount_t *m)
{
  m->fired = true;
}

/* ---- authentication ------------------------------------------------------ */

/* Finds KEY in a Digest parameter list (key=value or key="value", comma
 * separated). Returns a newly allocated value or NULL. */
static char *
digest_param(const char *h, const char *key)
{
  size_t kl = strlen(key);
  const char *p = h;
  while (*p) {
    while (*p == ' ' || *p == ',' || *p == '\t')
      p++;
    const char *k = p;
    while (*p && *p != '=' && *p != ',' && *p != ' ')
      p++;
    size_t klen = (size_t)(p - k);
    while (*p == ' ')
      p++;
    if (*p != '=') {
      while (*p && *p != ',')
        p++;
      continue;
    }
    p++;
    while (*p == ' ')
      p++;
    const char *v;
    size_t vlen;
    if (*p == '"') {
      v = ++p;
      while (*p && *p != '"')
        p++;
      vlen = (size_t)(p - v);
      if (*p)
        p++;
    } else {
      v = p;
      while (*p && *p != ',' && *p != ' ')
        p++;
      vlen = (size_t)(p - v);
    }
    if (klen == kl && g_ascii_strncasecmp(k, key, kl) == 0)
      return g_strndup(v, vlen);
  }
  return NULL;
}

static char *
md5_hex(const char *s)
{
  return g_compute_checksum_for_string(G_CHECKSUM_MD5, s, -1);
}

bool
cs_auth_check_digest(const cs_auth_t *a, const char *method, const char *header)
{
  if (!header || g_ascii_strncasecmp(header, "Digest ", 7) != 0)
    return false;
  const char *h = header + 7;
  g_autofree char *user = digest_param(h, "username");
  g_autofree char *realm = digest_param(h, "realm");
  g_autofree char *nonce = digest_param(h, "nonce");
  g_autofree char *uri = digest_param(h, "uri");
  g_autofree char *response = digest_param(h, "response");
  g_autofree char *qop = digest_param(h, "qop");
  g_autofree char *nc = digest_param(h, "nc");
  g_autofree char *cnonce = digest_param(h, "cnonce");
  if (!user || !realm || !nonce || !uri || !response || !qop || !nc || !cnonce)
    return false;
  if (strcmp(user, a->user) || strcmp(realm, a->realm) || strcmp(nonce, a->nonce) ||
      strcmp(qop, "auth"))
    return false;
  g_autofree char *s1 = g_strdup_printf("%s:%s:%s", a->user, a->realm, a->pass);
  g_autofree char *ha1 = md5_hex(s1);
  g_autofree char *s2 = g_strdup_printf("%s:%s", method, uri);
  g_autofree char *ha2 = md5_hex(s2);
  g_autofree char *s3 = g_strdup_printf("%s:%s:%s:%s:%s:%s", ha1, nonce, nc, cnonce, qop, ha2);
  g_autofree char *want = md5_hex(s3);
  return g_ascii_strcasecmp(want, response) == 0;
}

bool
cs_auth_check_basic(const cs_auth_t *a, const char *header)
{
  if (!header || g_ascii_strncasecmp(header, "Basic ", 6) != 0)
    return false;
  g_autofree char *want = g_strdup_printf("%s:%s", a->user, a->pass);
  gsize len = 0;
  g_autofree char *enc = g_strstrip(g_strdup(header + 6));
  g_autofree guchar *got = g_base64_decode(enc, &len);
  return got && len == strlen(want) && memcmp(got, want, len) == 0;
}

/* ---- fault bodies -------------------------------------------------------- */

uint8_t *
cs_garbage_new(size_t len)
{
  uint8_t *b = g_malloc(len);
  for (size_t i = 0; i < len; i++)
    b[i] = (uint8_t)g_random_int();
  /* Never start like a status line, never look like interleaved data. */
  b[0] = 0xff;
  return b;
}

char *
cs_oversized_sdp_new(size_t len)
{
  static const char head[] = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=oversized\r\n"
                             "t=0 0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n";
  char *b = g_malloc(len + 1);
  size_t off = MIN(len, sizeof head - 1);
  memcpy(b, head, off);
  /* Pad with attribute lines of 78 characters. */
  while (off < len) {
    size_t n = MIN(len - off, (size_t)80);
    memset(b + off, 'x', n);
    if (n >= 9)
      memcpy(b + off, "a=x-pad:", 8);
    if (n >= 2)
      memcpy(b + off + n - 2, "\r\n", 2);
    off += n;
  }
  b[len] = 0;
  return b;
}
