/* RTSP Basic and Digest authentication. See rtsp_auth.h. */
#include "rtsp_auth.h"
#include "rtsp_msg.h"

#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <string.h>

#define OFFERED_MAX 8
#define SHOWN_MAX 40

/* ---- challenge parsing -------------------------------------------------- */

/* One challenge as read: its scheme and parameters (names as received). */
typedef struct {
  char *scheme;
  GPtrArray *names, *values;
} raw_challenge_t;

/* What parsing all the values found so far. */
typedef struct {
  cw_rtsp_challenge_t best;
  int best_rank;      /* 0: none, 1: Basic, 2: Digest no-qop, 3: Digest qop=auth */
  GPtrArray *offered; /* descriptions of unsupported challenges */
  char *malformed;    /* first reason a challenge could not be read */
} parse_state_t;

static gboolean
is_ws(char c)
{
  return c == ' ' || c == '\t';
}

static gboolean
is_ctl(guint8 c)
{
  return (c < 0x20 && c != '\t') || c == 0x7f;
}

/* A short printable form of outside text for a message. */
static char *
shown(const char *s)
{
  GString *g = g_string_new(NULL);
  for (size_t i = 0; s[i]; i++) {
    if (i == SHOWN_MAX) {
      g_string_append(g, "...");
      break;
    }
    guint8 c = (guint8)s[i];
    g_string_append_c(g, (c >= 0x20 && c < 0x7f) ? (char)c : '?');
  }
  return g_string_free(g, FALSE);
}

static const char *
raw_param(const raw_challenge_t *c, const char *name)
{
  for (guint i = 0; i < c->names->len; i++)
    if (g_ascii_strcasecmp(g_ptr_array_index(c->names, i), name) == 0)
      return g_ptr_array_index(c->values, i);
  return NULL;
}

static void set_malformed(parse_state_t *st, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void
set_malformed(parse_state_t *st, const char *fmt, ...)
{
  if (st->malformed)
    return;
  va_list ap;
  va_start(ap, fmt);
  st->malformed = g_strdup_vprintf(fmt, ap);
  va_end(ap);
}

static void
add_offered(parse_state_t *st, char *what)
{
  if (st->offered->len < OFFERED_MAX)
    g_ptr_array_add(st->offered, what);
  else
    g_free(what);
}

/* Does a qop list ("auth", "auth,auth-int", "auth-int , auth") hold auth? */
static gboolean
qop_has_auth(const char *qop)
{
  gboolean found = FALSE;
  char **items = g_strsplit(qop, ",", -1);
  for (char **it = items; *it; it++)
    if (g_ascii_strcasecmp(g_strstrip(*it), "auth") == 0)
      found = TRUE;
  g_strfreev(items);
  return found;
}

/* Judges one complete challenge and keeps it if it beats the best so far. */
static void
finish_challenge(parse_state_t *st, raw_challenge_t *c)
{
  if (!c->scheme)
    return;
  cw_rtsp_challenge_t cand = {0};
  int rank = 0;
  if (g_ascii_strcasecmp(c->scheme, "Basic") == 0) {
    rank = 1;
    cand.realm = g_strdup(raw_param(c, "realm"));
  } else if (g_ascii_strcasecmp(c->scheme, "Digest") == 0) {
    const char *realm = raw_param(c, "realm"), *nonce = raw_param(c, "nonce");
    const char *algorithm = raw_param(c, "algorithm"), *qop = raw_param(c, "qop");
    const char *stale = raw_param(c, "stale");
    if (!realm || !nonce) {
      set_malformed(st, "Digest challenge without %s", realm ? "nonce" : "realm");
      goto out;
    }
    if (algorithm && g_ascii_strcasecmp(algorithm, "MD5") != 0) {
      char *a = shown(algorithm);
      add_offered(st, g_strdup_printf("Digest algorithm=%s", a));
      g_free(a);
      goto out;
    }
    if (qop && !qop_has_auth(qop)) {
      char *q = shown(qop);
      add_offered(st, g_strdup_printf("Digest qop=%s", q));
      g_free(q);
      goto out;
    }
    rank = qop ? 3 : 2;
    cand.digest = TRUE;
    cand.realm = g_strdup(realm);
    cand.nonce = g_strdup(nonce);
    cand.opaque = g_strdup(raw_param(c, "opaque"));
    cand.algorithm = algorithm ? g_strdup("MD5") : NULL;
    cand.qop_auth = qop != NULL;
    cand.stale = stale && g_ascii_strcasecmp(stale, "true") == 0;
  } else {
    add_offered(st, shown(c->scheme));
    goto out;
  }
  if (rank > st->best_rank) {
    cw_rtsp_challenge_clear(&st->best);
    st->best = cand;
    st->best_rank = rank;
    memset(&cand, 0, sizeof cand);
  }
out:
  cw_rtsp_challenge_clear(&cand);
  g_clear_pointer(&c->scheme, g_free);
  g_ptr_array_set_size(c->names, 0);
  g_ptr_array_set_size(c->values, 0);
}

/* Reads a quoted-string at s (which is at the opening quote); returns the
 * unescaped text and moves *end past the closing quote, or NULL. */
static char *
read_quoted(const char *s, const char **end)
{
  GString *g = g_string_new(NULL);
  for (s++; *s; s++) {
    if (*s == '"') {
      *end = s + 1;
      return g_string_free(g, FALSE);
    }
    if (*s == '\\')
      s++;
    if (!*s || is_ctl((guint8)*s))
      break;
    g_string_append_c(g, *s);
  }
  g_string_free(g, TRUE);
  return NULL;
}

/* Only '=' (token68 padding) and white space from s to the next comma? */
static gboolean
is_token68_rest(const char *s)
{
  const char *eq = s + strcspn(s, "=,");
  if (*eq != '=')
    return TRUE;
  for (; *eq && *eq != ','; eq++)
    if (*eq != '=' && !is_ws(*eq))
      return FALSE;
  return TRUE;
}

/* Parses one header value: challenges are "scheme" followed by
 * comma-separated "name=value" (token or quoted-string) parameters, or by a
 * token68; a scheme token followed by white space and no '=' starts the next
 * challenge. Stops at the first malformed piece, keeping what came before. */
static void
parse_value(parse_state_t *st, const char *s, raw_challenge_t *cur)
{
  gboolean bad = TRUE;
  for (;;) {
    while (is_ws(*s) || *s == ',')
      s++;
    if (!*s) {
      bad = FALSE;
      break;
    }
    const char *t = s;
    while (cw_rtsp_is_token_char((guint8)*s))
      s++;
    if (s == t) {
      char *near = shown(t);
      set_malformed(st, "malformed WWW-Authenticate near \"%s\"", near);
      g_free(near);
      break;
    }
    char *token = g_strndup(t, (size_t)(s - t));
    while (is_ws(*s))
      s++;
    if (*s != '=') {
      /* A new challenge; what follows is its first parameter, a token68 or
       * nothing. */
      finish_challenge(st, cur);
      cur->scheme = token;
      if (*s && *s != ',' && is_token68_rest(s))
        s += strcspn(s, ",");
      continue;
    }
    for (s++; is_ws(*s); s++)
      ;
    char *value = NULL;
    if (*s == '"') {
      if (!(value = read_quoted(s, &s))) {
        set_malformed(st,
                      "bad quoted string (unterminated or with a control character) in "
                      "WWW-Authenticate parameter %.40s",
                      token);
        g_free(token);
        break;
      }
    } else {
      const char *v = s;
      while (cw_rtsp_is_token_char((guint8)*s) || *s == '/')
        s++;
      value = g_strndup(v, (size_t)(s - v));
      if (!*value) {
        /* "name=" with nothing, or token68 padding: skip to the next item. */
        g_clear_pointer(&value, g_free);
        s += strcspn(s, ",");
      }
    }
    if (!cur->scheme) {
      set_malformed(st, "WWW-Authenticate parameter %.40s before any scheme", token);
      g_free(token);
      g_free(value);
      break;
    }
    if (value) {
      g_ptr_array_add(cur->names, token);
      g_ptr_array_add(cur->values, value);
    } else {
      g_free(token);
    }
  }
  if (bad) {
    /* What came after is lost, so the challenge may lack parameters that
     * matter (opaque, qop): dropped rather than half answered. */
    g_clear_pointer(&cur->scheme, g_free);
    g_ptr_array_set_size(cur->names, 0);
    g_ptr_array_set_size(cur->values, 0);
  }
  finish_challenge(st, cur);
}

int
cw_rtsp_auth_parse(const char *const *values, guint n, cw_rtsp_challenge_t *out, cw_error_t *err)
{
  int rc = 0;
  parse_state_t st = {0};
  raw_challenge_t cur = {NULL, g_ptr_array_new_with_free_func(g_free),
                         g_ptr_array_new_with_free_func(g_free)};
  st.offered = g_ptr_array_new_with_free_func(g_free);
  memset(out, 0, sizeof *out);

  for (guint i = 0; i < n; i++)
    if (values && values[i])
      parse_value(&st, values[i], &cur);

  if (st.best_rank > 0) {
    *out = st.best;
    memset(&st.best, 0, sizeof st.best);
    goto out;
  }
  g_ptr_array_add(st.offered, NULL);
  char *offered = g_strjoinv(", ", (char **)st.offered->pdata);
  if (st.malformed)
    rc = cw_error_set(err, -EINVAL, "%s%s%s%s", st.malformed, *offered ? " (also offered: " : "",
                      offered, *offered ? ")" : "");
  else if (*offered)
    rc =
        cw_error_set(err, -ENOTSUP, "no supported authentication challenge (offered: %s)", offered);
  else
    rc = cw_error_set(err, -EINVAL, "no WWW-Authenticate challenge");
  g_free(offered);
out:
  cw_rtsp_challenge_clear(&st.best);
  g_ptr_array_unref(st.offered);
  g_free(st.malformed);
  g_free(cur.scheme);
  g_ptr_array_unref(cur.names);
  g_ptr_array_unref(cur.values);
  return rc;
}

void
cw_rtsp_challenge_clear(cw_rtsp_challenge_t *ch)
{
  if (!ch)
    return;
  g_free(ch->realm);
  g_free(ch->nonce);
  g_free(ch->opaque);
  g_free(ch->algorithm);
  memset(ch, 0, sizeof *ch);
}

/* ---- Authorization header ----------------------------------------------- */

static gboolean
has_ctl(const char *s)
{
  for (; *s; s++)
    if (is_ctl((guint8)*s))
      return TRUE;
  return FALSE;
}

/* Appends name="value" with '"' and '\' escaped. */
static void
append_quoted(GString *g, const char *name, const char *value)
{
  g_string_append_printf(g, "%s=\"", name);
  for (const char *p = value; *p; p++) {
    if (*p == '"' || *p == '\\')
      g_string_append_c(g, '\\');
    g_string_append_c(g, *p);
  }
  g_string_append_c(g, '"');
}

/* Lower-case hex MD5 of the pieces joined by ':'. */
static char *
md5_joined(const char *const *pieces)
{
  GChecksum *md5 = g_checksum_new(G_CHECKSUM_MD5);
  for (guint i = 0; pieces[i]; i++) {
    if (i)
      g_checksum_update(md5, (const guchar *)":", 1);
    g_checksum_update(md5, (const guchar *)pieces[i], (gssize)strlen(pieces[i]));
  }
  char *hex = g_strdup(g_checksum_get_string(md5));
  g_checksum_free(md5);
  return hex;
}

static char *
basic_header(const char *user, const char *password)
{
  if (strchr(user, ':'))
    return NULL; /* RFC 7617: a user-id cannot hold a colon */
  char *plain = g_strconcat(user, ":", password, NULL);
  size_t plain_len = strlen(plain);
  char *b64 = g_base64_encode((const guchar *)plain, plain_len);
  char *header = g_strconcat("Basic ", b64, NULL);
  sodium_memzero(plain, plain_len);
  sodium_memzero(b64, strlen(b64));
  g_free(plain);
  g_free(b64);
  return header;
}

char *
cw_rtsp_auth_header_cnonce(cw_rtsp_challenge_t *ch, const char *method, const char *uri,
                           const char *user, const char *password, const char *cnonce)
{
  if (!ch || !user || has_ctl(user) || (password && has_ctl(password)))
    return NULL;
  if (!password)
    password = "";
  if (!ch->digest) {
    ch->nc++;
    return basic_header(user, password);
  }
  if (!ch->nonce || !ch->realm || !method || !*method || !uri || !*uri || has_ctl(method) ||
      has_ctl(uri) || has_ctl(ch->nonce) || has_ctl(ch->realm) ||
      (ch->opaque && has_ctl(ch->opaque)))
    return NULL;
  if (ch->qop_auth && (!cnonce || !*cnonce || has_ctl(cnonce) || strpbrk(cnonce, "\"\\ ")))
    return NULL;

  ch->nc++;
  char nc[9];
  g_snprintf(nc, sizeof nc, "%08x", ch->nc);
  const char *ha1_in[] = {user, ch->realm, password, NULL};
  const char *ha2_in[] = {method, uri, NULL};
  char *ha1 = md5_joined(ha1_in);
  char *ha2 = md5_joined(ha2_in);
  char *response;
  if (ch->qop_auth) {
    const char *in[] = {ha1, ch->nonce, nc, cnonce, "auth", ha2, NULL};
    response = md5_joined(in);
  } else {
    const char *in[] = {ha1, ch->nonce, ha2, NULL};
    response = md5_joined(in);
  }

  GString *g = g_string_new("Digest ");
  append_quoted(g, "username", user);
  g_string_append(g, ", ");
  append_quoted(g, "realm", ch->realm);
  g_string_append(g, ", ");
  append_quoted(g, "nonce", ch->nonce);
  g_string_append(g, ", ");
  append_quoted(g, "uri", uri);
  if (ch->qop_auth) {
    g_string_append(g, ", ");
    append_quoted(g, "cnonce", cnonce);
    g_string_append_printf(g, ", nc=%s, qop=auth", nc);
  }
  g_string_append_printf(g, ", response=\"%s\"", response);
  if (ch->opaque) {
    g_string_append(g, ", ");
    append_quoted(g, "opaque", ch->opaque);
  }
  if (ch->algorithm)
    g_string_append(g, ", algorithm=MD5");

  /* HA1 alone lets anyone answer for this realm: do not leave it lying in freed memory. */
  sodium_memzero(ha1, strlen(ha1));
  g_free(ha1);
  g_free(ha2);
  g_free(response);
  return g_string_free(g, FALSE);
}

char *
cw_rtsp_auth_header(cw_rtsp_challenge_t *ch, const char *method, const char *uri, const char *user,
                    const char *password)
{
  guint8 raw[16];
  char cnonce[2 * sizeof raw + 1];
  if (sodium_init() < 0) {
    for (size_t i = 0; i < sizeof raw; i++)
      raw[i] = (guint8)g_random_int();
  } else {
    randombytes_buf(raw, sizeof raw);
  }
  for (size_t i = 0; i < sizeof raw; i++)
    g_snprintf(cnonce + 2 * i, 3, "%02x", raw[i]);
  return cw_rtsp_auth_header_cnonce(ch, method, uri, user, password, cnonce);
}
