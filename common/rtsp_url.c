#include "rtsp_url.h"

#include <errno.h>
#include <string.h>

#include "secret.h"

void
cw_rtsp_url_clear(cw_rtsp_url_t *u)
{
  g_free(u->scheme);
  g_free(u->host);
  g_free(u->path);
  g_free(u->username);
  cw_secret_wipe_free(u->password);
  g_free(u->clean);
  memset(u, 0, sizeof *u);
}

/* GUri is lenient about a few things a camera URL must not have, so the raw
 * text is checked first: no control bytes or spaces (they end up in RTSP
 * request lines), bounded length, valid UTF-8. */
static int
check_raw(const char *text, const char *field, cw_error_t *err)
{
  size_t len = strlen(text);
  if (len == 0)
    return cw_error_set(err, -EINVAL, "%s: empty", field);
  if (len > CW_RTSP_URL_MAX)
    return cw_error_set(err, -EINVAL, "%s: longer than %d bytes", field, CW_RTSP_URL_MAX);
  if (!g_utf8_validate(text, (gssize)len, NULL))
    return cw_error_set(err, -EINVAL, "%s: not valid UTF-8", field);
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)text[i];
    if (c < 0x20 || c == 0x7f)
      return cw_error_set(err, -EINVAL, "%s: control character at position %zu", field, i + 1);
    if (c == ' ')
      return cw_error_set(err, -EINVAL, "%s: space at position %zu (percent-encode it as %%20)",
                          field, i + 1);
    if (c >= 0x80)
      return cw_error_set(err, -EINVAL,
                          "%s: non-ASCII character at position %zu (percent-encode it)", field,
                          i + 1);
  }
  return 0;
}

/* Decoded credentials end up in RTSP Authorization headers and in text
 * columns: valid UTF-8, no control bytes (a "%0D%0A" must not survive). */
static gboolean
userinfo_is_valid(const char *s)
{
  if (!s)
    return TRUE;
  if (!g_utf8_validate(s, -1, NULL))
    return FALSE;
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || *s == 0x7f)
      return FALSE;
  return TRUE;
}

static gboolean
host_is_valid(const char *host)
{
  /* A ':' only in a bracketed IPv6 literal: "b%3A" decodes to "b:", which
   * the stored URL would turn into a port. */
  if (strchr(host, ':')) {
    size_t addr_len = strcspn(host, "%");
    char *addr = g_strndup(host, addr_len);
    gboolean ip = g_hostname_is_ip_address(addr);
    g_free(addr);
    /* A zone id, when there is one, must name something: "fe80::1%" (or a
     * "%00" that decodes to nothing) would not survive the stored form. */
    if (!ip || (host[addr_len] == '%' && host[addr_len + 1] == '\0'))
      return FALSE;
  }
  /* Registered names and IPv4: letters, digits, '-', '.', '_' (seen on
   * vendor DHCP names). IPv6 literals arrive without brackets and have ':'. */
  gboolean v6 = strchr(host, ':') != NULL;
  guint zones = 0; /* "fe80::1%eth0": one zone id, or the stored form will not parse again */
  for (const char *p = host; *p; p++) {
    if (g_ascii_isalnum(*p) || *p == '-' || *p == '.' || *p == '_')
      continue;
    if (v6 && *p == ':' && zones == 0)
      continue;
    if (v6 && *p == '%' && ++zones == 1)
      continue;
    return FALSE;
  }
  return TRUE;
}

static gboolean
key_is(const char *param, size_t key_len, const char *const *names, guint n)
{
  for (guint i = 0; i < n; i++)
    if (strlen(names[i]) == key_len && g_ascii_strncasecmp(param, names[i], key_len) == 0)
      return TRUE;
  return FALSE;
}

/* Some camera makes take credentials in the query ("?user=admin&pwd=x").
 * The password moves out like one in the user information, and the stored
 * query keeps CW_RTSP_URL_PASSWORD_SLOT in its place for ingest to fill in;
 * a user name there also becomes the camera's user name (it stays in the
 * URL: it is not a secret). Values that disagree with the user information
 * are an error. */
static int
take_query_credentials(const char *field, char **query, char **user, char **password,
                       cw_error_t *err)
{
  static const char *const pw_keys[] = {"password", "passwd", "pwd", "pass"};
  static const char *const user_keys[] = {"user", "username"};
  char **params = g_strsplit(*query, "&", -1);
  int rc = 0;
  for (char **p = params; *p && rc == 0; p++) {
    const char *eq = strchr(*p, '=');
    if (!eq || !eq[1] || strcmp(eq + 1, CW_RTSP_URL_PASSWORD_SLOT) == 0)
      continue;
    size_t key_len = (size_t)(eq - *p);
    gboolean is_pw = key_is(*p, key_len, pw_keys, G_N_ELEMENTS(pw_keys));
    if (!is_pw && !key_is(*p, key_len, user_keys, G_N_ELEMENTS(user_keys)))
      continue;
    char *value = g_uri_unescape_string(eq + 1, NULL);
    char **slot = is_pw ? password : user;
    if (!value) {
      rc = cw_error_set(err, -EINVAL, "%s: malformed percent-encoding in the query", field);
    } else if (*slot && **slot && strcmp(*slot, value) != 0) {
      rc = cw_error_set(err, -EINVAL, "%s: the query's %s differs from the user information's",
                        field, is_pw ? "password" : "user name");
      cw_secret_wipe_free(value);
    } else {
      if (*slot)
        cw_secret_wipe_free(*slot);
      *slot = value;
      if (is_pw) {
        char *kept = g_strdup_printf("%.*s=%s", (int)key_len, *p, CW_RTSP_URL_PASSWORD_SLOT);
        cw_secret_wipe_free(*p);
        *p = kept;
      }
    }
  }
  if (rc == 0) {
    char *joined = g_strjoinv("&", params);
    cw_secret_wipe_free(*query);
    *query = joined;
  }
  for (char **p = params; *p; p++)
    cw_secret_wipe_free(*p);
  g_free(params);
  return rc;
}

char *
cw_rtsp_url_fill_password(const char *clean_url, const char *password)
{
  if (!password || !strstr(clean_url, CW_RTSP_URL_PASSWORD_SLOT))
    return g_strdup(clean_url);
  char *enc = g_uri_escape_string(password, NULL, FALSE);
  char **parts = g_strsplit(clean_url, CW_RTSP_URL_PASSWORD_SLOT, -1);
  char *out = g_strjoinv(enc, parts);
  g_strfreev(parts);
  cw_secret_wipe_free(enc);
  return out;
}

int
cw_rtsp_url_parse(const char *text, const char *field, cw_rtsp_url_t *out, cw_error_t *err)
{
  memset(out, 0, sizeof *out);
  int rc = check_raw(text, field, err);
  if (rc < 0)
    return rc;

  char *scheme = NULL, *user = NULL, *password = NULL, *host = NULL, *path = NULL, *query = NULL,
       *fragment = NULL;
  int port = -1;
  GError *gerr = NULL;
  rc = -EINVAL;
  /* ENCODED: path, query and user information stay percent-encoded, so the
   * clean URL is rebuilt from them as written and credentials are decoded
   * exactly once, below. (Without it GLib decoded them: "%0D%0A" in a path
   * became a raw CR LF in the stored URL, and "%2525" was decoded twice.) */
  if (!g_uri_split_with_user(text, G_URI_FLAGS_HAS_PASSWORD | G_URI_FLAGS_ENCODED, &scheme, &user,
                             &password, NULL, &host, &port, &path, &query, &fragment, &gerr)) {
    /* GLib's message may quote the text (and so a password): name the part only. */
    const char *what = "malformed URL";
    if (g_error_matches(gerr, G_URI_ERROR, G_URI_ERROR_BAD_PORT))
      what = "port must be a number from 1 to 65535";
    else if (g_error_matches(gerr, G_URI_ERROR, G_URI_ERROR_BAD_HOST))
      what = "malformed host";
    else if (g_error_matches(gerr, G_URI_ERROR, G_URI_ERROR_BAD_USER) ||
             g_error_matches(gerr, G_URI_ERROR, G_URI_ERROR_BAD_PASSWORD))
      what = "malformed user information (percent-encode '@', ':' and '/' in credentials)";
    else if (g_error_matches(gerr, G_URI_ERROR, G_URI_ERROR_BAD_SCHEME))
      what = "missing or malformed scheme (expected rtsp:// or rtsps://)";
    cw_error_set(err, -EINVAL, "%s: %s", field, what);
    goto out;
  }
  if (!scheme ||
      (g_ascii_strcasecmp(scheme, "rtsp") != 0 && g_ascii_strcasecmp(scheme, "rtsps") != 0)) {
    cw_error_set(err, -EINVAL, "%s: scheme must be rtsp or rtsps", field);
    goto out;
  }
  if (!host || !*host) {
    cw_error_set(err, -EINVAL, "%s: host required", field);
    goto out;
  }
  if (!host_is_valid(host)) {
    cw_error_set(err, -EINVAL, "%s: host contains characters not allowed in a host name", field);
    goto out;
  }
  if (port == 0 || port > 65535) {
    cw_error_set(err, -EINVAL, "%s: port must be a number from 1 to 65535", field);
    goto out;
  }
  if (fragment) {
    cw_error_set(err, -EINVAL, "%s: fragments ('#...') are not sent to cameras; remove it", field);
    goto out;
  }
  if (password && (!user || !*user)) {
    cw_error_set(err, -EINVAL, "%s: password without a user name", field);
    goto out;
  }

  char *u_dec = user ? g_uri_unescape_string(user, NULL) : NULL;
  char *p_dec = password ? g_uri_unescape_string(password, NULL) : NULL;
  if ((user && !u_dec) || (password && !p_dec)) {
    g_free(u_dec);
    cw_secret_wipe_free(p_dec);
    cw_error_set(err, -EINVAL, "%s: malformed percent-encoding in user information", field);
    goto out;
  }
  if (query && (rc = take_query_credentials(field, &query, &u_dec, &p_dec, err)) < 0) {
    g_free(u_dec);
    cw_secret_wipe_free(p_dec);
    goto out;
  }
  rc = -EINVAL;
  if (!userinfo_is_valid(u_dec) || !userinfo_is_valid(p_dec)) {
    g_free(u_dec);
    cw_secret_wipe_free(p_dec);
    cw_error_set(err, -EINVAL, "%s: user information must be UTF-8 without control characters",
                 field);
    goto out;
  }

  out->scheme = g_ascii_strdown(scheme, -1);
  out->host = g_strdup(host);
  out->port = port;
  out->path = query ? g_strdup_printf("%s?%s", path, query) : g_strdup(path ? path : "");
  out->username = (u_dec && *u_dec) ? u_dec : (g_free(u_dec), NULL);
  out->password = p_dec;
  /* Rebuilt from parts so the stored text has no user information at all.
   * GLib hands the host back decoded; re-encode it so an IPv6 zone id
   * ("fe80::1%eth0") is written "%25eth0" again and the URL still parses. */
  char *host_enc = g_uri_escape_string(host, ":", FALSE);
  /* Joined by hand: g_uri_join brackets only the IPv6 hosts it recognises,
   * and not "fe80::%25eth0". */
  GString *clean = g_string_new(out->scheme);
  g_string_append_printf(clean, strchr(host, ':') ? "://[%s]" : "://%s", host_enc);
  if (port > 0)
    g_string_append_printf(clean, ":%d", port);
  g_string_append(clean, path ? path : "");
  if (query)
    g_string_append_printf(clean, "?%s", query);
  out->clean = g_string_free(clean, FALSE);
  g_free(host_enc);
  if (strlen(out->clean) > CW_RTSP_URL_MAX) {
    cw_error_set(err, -EINVAL, "%s: longer than %d bytes once the password is taken out", field,
                 CW_RTSP_URL_MAX);
    cw_rtsp_url_clear(out);
    goto out;
  }
  rc = 0;
out:
  g_clear_error(&gerr);
  g_free(scheme);
  g_free(user);
  cw_secret_wipe_free(password);
  g_free(host);
  g_free(path);
  g_free(query);
  g_free(fragment);
  return rc;
}

char *
cw_rtsp_url_redact(const char *clean_url, const char *username, gboolean has_password)
{
  char *scheme = NULL, *host = NULL, *path = NULL, *query = NULL;
  int port = -1;
  if (!clean_url ||
      !g_uri_split(clean_url, G_URI_FLAGS_ENCODED, &scheme, NULL, &host, &port, &path, &query, NULL,
                   NULL) ||
      !scheme || !host || !*host) {
    g_free(scheme);
    g_free(host);
    g_free(path);
    g_free(query);
    return g_strdup("<invalid url>");
  }
  char *userinfo = NULL;
  if (username && *username) {
    char *u = g_uri_escape_string(username, NULL, FALSE);
    userinfo = has_password ? g_strdup_printf("%s:***", u) : g_strdup(u);
    g_free(u);
  }
  /* Joined by hand: g_uri_join would percent-encode the '*' mask. */
  GString *s = g_string_new(scheme);
  g_string_append(s, "://");
  if (userinfo)
    g_string_append_printf(s, "%s@", userinfo);
  if (strchr(host, ':'))
    g_string_append_printf(s, "[%s]", host);
  else
    g_string_append(s, host);
  if (port > 0)
    g_string_append_printf(s, ":%d", port);
  g_string_append(s, path);
  if (query) {
    char **parts = g_strsplit(query, CW_RTSP_URL_PASSWORD_SLOT, -1);
    char *masked = g_strjoinv("***", parts);
    g_string_append_printf(s, "?%s", masked);
    g_free(masked);
    g_strfreev(parts);
  }
  g_free(userinfo);
  g_free(scheme);
  g_free(host);
  g_free(path);
  g_free(query);
  return g_string_free(s, FALSE);
}
