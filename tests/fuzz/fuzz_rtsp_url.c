/* Fuzzes common/rtsp_url.c: parses the input as a camera URL and checks what
 * rtsp_url.h promises: a refusal is "url: reason" without the password and
 * leaves the result zeroed; an accepted URL has sane parts, a clean form with
 * no user information that parses again to the same parts and no password,
 * a redacted form that does not show the password, and a connect form that
 * puts it back in the query's slot. */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "rtsp_url.h"

/* Separators of the redacted form. A password free of them can only show in
 * it inside one piece: the scheme, the user name, the host or a piece of the
 * clean URL, which are checked on their own. */
#define REDACT_SEPARATORS ":/@*[]?%"

/* The passwords as written (still percent-encoded) in the text, as a guess:
 * "scheme://user:PASS@host..." and "...?pwd=PASS&...", query keys as
 * rtsp_url.h lists them. Appends them to out. */
static void
guess_passwords(const char *text, GPtrArray *out)
{
  const char *auth = strstr(text, "://");
  if (!auth)
    return;
  auth += 3;
  size_t auth_len = strcspn(auth, "/?#");
  const char *at = NULL;
  for (const char *p = auth; p < auth + auth_len; p++)
    if (*p == '@')
      at = p;
  const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
  if (colon)
    g_ptr_array_add(out, g_strndup(colon + 1, (size_t)(at - colon - 1)));

  const char *q = strchr(auth, '?');
  if (!q)
    return;
  char *query = g_strndup(q + 1, strcspn(q + 1, "#"));
  char **params = g_strsplit(query, "&", -1);
  for (char **p = params; *p; p++) {
    char *eq = strchr(*p, '=');
    if (!eq)
      continue;
    *eq = '\0';
    if (!g_ascii_strcasecmp(*p, "password") || !g_ascii_strcasecmp(*p, "passwd") ||
        !g_ascii_strcasecmp(*p, "pwd") || !g_ascii_strcasecmp(*p, "pass"))
      g_ptr_array_add(out, g_strdup(eq + 1));
  }
  g_strfreev(params);
  g_free(query);
}

/* Every message rtsp_url.c can give, numbers left out (they split a message
 * into pieces), to tell an echo of the password from a password that happens
 * to be a piece of a fixed message. */
static const char *const messages =
    "url: empty\n"
    "url: longer than \n bytes\n"
    "url: not valid UTF-\n"
    "url: control character at position \n"
    "url: space at position \n (percent-encode it as %\n)\n"
    "url: non-ASCII character at position \n (percent-encode it)\n"
    "url: port must be a number from \n to \n"
    "url: malformed host\n"
    "url: malformed user information (percent-encode '@', ':' and '/' in credentials)\n"
    "url: missing or malformed scheme (expected rtsp:// or rtsps://)\n"
    "url: malformed URL\n"
    "url: scheme must be rtsp or rtsps\n"
    "url: host required\n"
    "url: host contains characters not allowed in a host name\n"
    "url: fragments ('#...') are not sent to cameras; remove it\n"
    "url: password without a user name\n"
    "url: malformed percent-encoding in user information\n"
    "url: malformed percent-encoding in the query\n"
    "url: the query's password differs from the user information's\n"
    "url: the query's user name differs from the user information's\n"
    "url: user information must be UTF-\n without control characters\n";

static gboolean
is_printable_ascii(const char *s)
{
  for (; *s; s++)
    if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
      return FALSE;
  return TRUE;
}

static gboolean
has_no_control(const char *s)
{
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || *s == 0x7f)
      return FALSE;
  return TRUE;
}

static void
check_refused(const char *text, const cw_rtsp_url_t *u, const cw_error_t *err)
{
  static const cw_rtsp_url_t zero = {0};
  FUZZ_CHECK(memcmp(u, &zero, sizeof zero) == 0);
  FUZZ_CHECK(g_str_has_prefix(err->msg, "url: ") && err->msg[5] != '\0');
  /* Only a guess at the password, so only one that is distinctive: without
   * digits (positions are quoted) and not a piece of a fixed message. */
  GPtrArray *guesses = g_ptr_array_new_with_free_func(g_free);
  guess_passwords(text, guesses);
  for (guint i = 0; i < guesses->len; i++) {
    const char *pw = guesses->pdata[i];
    if (strlen(pw) >= 4 && !pw[strcspn(pw, "0123456789")] && !strstr(messages, pw))
      FUZZ_CHECK(strstr(err->msg, pw) == NULL);
  }
  g_ptr_array_free(guesses, TRUE);
}

static void
check_accepted(const cw_rtsp_url_t *u)
{
  FUZZ_CHECK(u->scheme && (strcmp(u->scheme, "rtsp") == 0 || strcmp(u->scheme, "rtsps") == 0));
  FUZZ_CHECK(u->host && *u->host);
  FUZZ_CHECK(u->port == -1 || (u->port >= 1 && u->port <= 65535));
  FUZZ_CHECK(u->path != NULL);
  FUZZ_CHECK(!u->username || (*u->username && g_utf8_validate(u->username, -1, NULL) &&
                              has_no_control(u->username)));
  FUZZ_CHECK(!u->password ||
             (g_utf8_validate(u->password, -1, NULL) && has_no_control(u->password)));

  /* The clean URL: "scheme://" then an authority without user information,
   * and nothing a request line or a log could choke on. */
  FUZZ_CHECK(u->clean && is_printable_ascii(u->clean));
  FUZZ_CHECK(g_str_has_prefix(u->clean, u->scheme) &&
             g_str_has_prefix(u->clean + strlen(u->scheme), "://"));
  const char *auth = u->clean + strlen(u->scheme) + 3;
  FUZZ_CHECK(memchr(auth, '@', strcspn(auth, "/?")) == NULL);

  /* What is stored must validate again, to the same parts (unless the
   * rebuilt text grew past the length limit). */
  if (strlen(u->clean) <= CW_RTSP_URL_MAX) {
    cw_rtsp_url_t again;
    cw_error_t err = {0};
    int rc = cw_rtsp_url_parse(u->clean, "url", &again, &err);
    if (rc != 0)
      fprintf(stderr, "clean URL refused: %s\n", err.msg);
    FUZZ_CHECK(rc == 0);
    FUZZ_CHECK(strcmp(again.scheme, u->scheme) == 0);
    FUZZ_CHECK(strcmp(again.host, u->host) == 0);
    FUZZ_CHECK(again.port == u->port);
    FUZZ_CHECK(strcmp(again.path, u->path) == 0);
    /* A user name in the query stays there (it is no secret); a password
     * there became the slot, which is no password. */
    FUZZ_CHECK(!again.username || (u->username && strcmp(again.username, u->username) == 0));
    FUZZ_CHECK(again.password == NULL);
    FUZZ_CHECK(strcmp(again.clean, u->clean) == 0);
    cw_rtsp_url_clear(&again);
  }

  /* The display form never shows the password. */
  char *shown = cw_rtsp_url_redact(u->clean, u->username, u->password != NULL);
  FUZZ_CHECK(shown && strcmp(shown, "<invalid url>") != 0);
  const char *pw = u->password;
  if (pw && strlen(pw) >= 4 && !pw[strcspn(pw, REDACT_SEPARATORS)] && !strstr(u->clean, pw) &&
      !strstr(u->host, pw)) {
    char *user_shown = u->username ? g_uri_escape_string(u->username, NULL, FALSE) : g_strdup("");
    if (!strstr(user_shown, pw))
      FUZZ_CHECK(strstr(shown, pw) == NULL);
    g_free(user_shown);
  }
  g_free(shown);

  /* The connect form is the clean one with the password in the slot. */
  char *full = cw_rtsp_url_fill_password(u->clean, u->password);
  FUZZ_CHECK(full != NULL);
  if (!u->password || !strstr(u->clean, CW_RTSP_URL_PASSWORD_SLOT)) {
    FUZZ_CHECK(strcmp(full, u->clean) == 0);
  } else {
    char *enc = g_uri_escape_string(u->password, NULL, FALSE);
    FUZZ_CHECK(strstr(full, enc) != NULL);
    g_free(enc);
  }
  g_free(full);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *text = g_malloc(size + 1);
  memcpy(text, data, size);
  text[size] = '\0';

  cw_rtsp_url_t u;
  cw_error_t err = {0};
  int rc = cw_rtsp_url_parse(text, "url", &u, &err);
  FUZZ_CHECK(rc == 0 || rc == -EINVAL);
  if (rc == 0)
    check_accepted(&u);
  else
    check_refused(text, &u, &err);
  cw_rtsp_url_clear(&u);
  g_free(text);
  return 0;
}
