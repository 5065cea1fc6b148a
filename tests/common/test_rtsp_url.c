/* Unit tests for common/rtsp_url.c: accepted camera URLs and their parts,
 * credentials split out of the stored text, the redacted display form, and
 * hostile or malformed input refused with "field: reason" and never with
 * the password in the message. */
#include "rtsp_url.h"

#include <errno.h>
#include <string.h>

/* Distinctive, so any echo of it in an error message is caught. */
#define PASSWORD "S3cr3t-P4ss"

/* ---- accepted URLs ----------------------------------------------------- */

typedef struct {
  const char *name;
  const char *text;
  const char *scheme;
  const char *host;
  int port;
  const char *path;
  const char *username; /* NULL: none */
  const char *password; /* NULL: none */
  const char *clean;
} good_case_t;

static const good_case_t good_cases[] = {
    {"host_only", "rtsp://cam1.example.com", "rtsp", "cam1.example.com", -1, "", NULL, NULL,
     "rtsp://cam1.example.com"},
    {"path", "rtsp://cam1.example.com/stream1", "rtsp", "cam1.example.com", -1, "/stream1", NULL,
     NULL, "rtsp://cam1.example.com/stream1"},
    {"port_and_path", "rtsp://cam1.example.com:554/Streaming/Channels/101", "rtsp",
     "cam1.example.com", 554, "/Streaming/Channels/101", NULL, NULL,
     "rtsp://cam1.example.com:554/Streaming/Channels/101"},
    {"rtsps_query", "rtsps://cam1.example.com:322/live?channel=1&subtype=0", "rtsps",
     "cam1.example.com", 322, "/live?channel=1&subtype=0", NULL, NULL,
     "rtsps://cam1.example.com:322/live?channel=1&subtype=0"},
    {"query_without_path", "rtsp://cam1?x=1", "rtsp", "cam1", -1, "?x=1", NULL, NULL,
     "rtsp://cam1?x=1"},
    {"ipv4", "rtsp://192.168.1.64", "rtsp", "192.168.1.64", -1, "", NULL, NULL,
     "rtsp://192.168.1.64"},
    {"ipv4_port_root", "rtsp://192.168.1.64:8554/", "rtsp", "192.168.1.64", 8554, "/", NULL, NULL,
     "rtsp://192.168.1.64:8554/"},
    {"ipv6_loopback", "rtsp://[::1]:8554/cam", "rtsp", "::1", 8554, "/cam", NULL, NULL,
     "rtsp://[::1]:8554/cam"},
    {"ipv6_no_port", "rtsp://[2001:db8::17]/x", "rtsp", "2001:db8::17", -1, "/x", NULL, NULL,
     "rtsp://[2001:db8::17]/x"},
    {"ipv6_zone", "rtsp://[fe80::1%25eth0]:554/x", "rtsp", "fe80::1%eth0", 554, "/x", NULL, NULL,
     "rtsp://[fe80::1%25eth0]:554/x"},
    {"host_dash_underscore", "rtsp://cam-01_north.local:1/a", "rtsp", "cam-01_north.local", 1, "/a",
     NULL, NULL, "rtsp://cam-01_north.local:1/a"},
    {"port_max", "rtsp://h:65535/", "rtsp", "h", 65535, "/", NULL, NULL, "rtsp://h:65535/"},
    {"empty_port", "rtsp://h:/x", "rtsp", "h", -1, "/x", NULL, NULL, "rtsp://h/x"},
    {"scheme_upper", "RTSP://Cam1.Example/S", "rtsp", "Cam1.Example", -1, "/S", NULL, NULL,
     "rtsp://Cam1.Example/S"},
    {"scheme_mixed_rtsps", "RtSpS://h/", "rtsps", "h", -1, "/", NULL, NULL, "rtsps://h/"},
    {"user_password", "rtsp://admin:" PASSWORD "@cam1.example:554/stream", "rtsp", "cam1.example",
     554, "/stream", "admin", PASSWORD, "rtsp://cam1.example:554/stream"},
    {"password_at_decoded", "rtsp://admin:p%40ss@h/", "rtsp", "h", -1, "/", "admin", "p@ss",
     "rtsp://h/"},
    {"reserved_decoded", "rtsp://ad%3Amin:p%3Ass%2F1@h/", "rtsp", "h", -1, "/", "ad:min", "p:ss/1",
     "rtsp://h/"},
    /* Decoded exactly once: "%25" is a literal '%'. */
    {"password_percent", "rtsp://u:100%25@h/", "rtsp", "h", -1, "/", "u", "100%", "rtsp://h/"},
    {"password_no_double_decode", "rtsp://u:p%2540@h/", "rtsp", "h", -1, "/", "u", "p%40",
     "rtsp://h/"},
    {"user_only", "rtsp://viewer@h:554/s", "rtsp", "h", 554, "/s", "viewer", NULL,
     "rtsp://h:554/s"},
    {"user_empty_password", "rtsp://viewer:@h/", "rtsp", "h", -1, "/", "viewer", "", "rtsp://h/"},
    {"empty_userinfo", "rtsp://@h/", "rtsp", "h", -1, "/", NULL, NULL, "rtsp://h/"},
    /* Percent-encoded bytes in the path stay encoded in what is stored. */
    {"path_encoded_space", "rtsp://h/a%20b", "rtsp", "h", -1, "/a%20b", NULL, NULL,
     "rtsp://h/a%20b"},
    {"path_encoded_crlf", "rtsp://h/a%0D%0AX:%20y", "rtsp", "h", -1, "/a%0D%0AX:%20y", NULL, NULL,
     "rtsp://h/a%0D%0AX:%20y"},
    {"path_encoded_question", "rtsp://h/a%3Fb", "rtsp", "h", -1, "/a%3Fb", NULL, NULL,
     "rtsp://h/a%3Fb"},
    /* Query credentials: the password leaves the stored text for a slot. */
    {"query_password", "rtsp://h/x?user=admin&password=" PASSWORD, "rtsp", "h", -1,
     "/x?user=admin&password=" CW_RTSP_URL_PASSWORD_SLOT, "admin", PASSWORD,
     "rtsp://h/x?user=admin&password=" CW_RTSP_URL_PASSWORD_SLOT},
    {"query_pwd_decoded", "rtsp://h/x?channel=1&PWD=a%26b", "rtsp", "h", -1,
     "/x?channel=1&PWD=" CW_RTSP_URL_PASSWORD_SLOT, NULL, "a&b",
     "rtsp://h/x?channel=1&PWD=" CW_RTSP_URL_PASSWORD_SLOT},
    {"query_agrees_with_userinfo", "rtsp://admin:" PASSWORD "@h/x?pass=" PASSWORD, "rtsp", "h", -1,
     "/x?pass=" CW_RTSP_URL_PASSWORD_SLOT, "admin", PASSWORD,
     "rtsp://h/x?pass=" CW_RTSP_URL_PASSWORD_SLOT},
    {"query_empty_password_kept", "rtsp://h/x?passwd=", "rtsp", "h", -1, "/x?passwd=", NULL, NULL,
     "rtsp://h/x?passwd="},
    {"query_slot_already_stored", "rtsp://h/x?pwd=" CW_RTSP_URL_PASSWORD_SLOT, "rtsp", "h", -1,
     "/x?pwd=" CW_RTSP_URL_PASSWORD_SLOT, NULL, NULL, "rtsp://h/x?pwd=" CW_RTSP_URL_PASSWORD_SLOT},
};

static void
test_good(gconstpointer data)
{
  const good_case_t *c = data;
  cw_rtsp_url_t u;
  cw_error_t err = {0};
  int rc = cw_rtsp_url_parse(c->text, "url", &u, &err);
  if (rc != 0)
    g_test_message("unexpected error: %s", err.msg);
  g_assert_cmpint(rc, ==, 0);
  g_assert_cmpstr(u.scheme, ==, c->scheme);
  g_assert_cmpstr(u.host, ==, c->host);
  g_assert_cmpint(u.port, ==, c->port);
  g_assert_cmpstr(u.path, ==, c->path);
  g_assert_cmpstr(u.username, ==, c->username);
  g_assert_cmpstr(u.password, ==, c->password);
  g_assert_cmpstr(u.clean, ==, c->clean);
  /* What is stored never holds user information, a password or raw bytes
   * that would end an RTSP request line. */
  g_assert_null(strchr(u.clean, '@'));
  g_assert_null(strstr(u.clean, PASSWORD));
  for (const char *p = u.clean; *p; p++)
    g_assert_true(*p > 0x20 && *p < 0x7f);
  /* The clean URL parses again to itself. */
  cw_rtsp_url_t again;
  g_assert_cmpint(cw_rtsp_url_parse(u.clean, "url", &again, &err), ==, 0);
  g_assert_cmpstr(again.clean, ==, u.clean);
  g_assert_cmpstr(again.host, ==, u.host);
  cw_rtsp_url_clear(&again);
  cw_rtsp_url_clear(&u);
  g_assert_null(u.scheme);
  g_assert_null(u.clean);
  g_assert_null(u.password);
}

static void
test_max_length_ok(void)
{
  GString *s = g_string_new("rtsp://h/");
  while (s->len < CW_RTSP_URL_MAX)
    g_string_append_c(s, 'a');
  cw_rtsp_url_t u;
  cw_error_t err = {0};
  g_assert_cmpint(cw_rtsp_url_parse(s->str, "url", &u, &err), ==, 0);
  g_assert_cmpuint(strlen(u.clean), ==, CW_RTSP_URL_MAX);
  cw_rtsp_url_clear(&u);
  g_string_free(s, TRUE);
}

/* ---- refused URLs ------------------------------------------------------ */

typedef struct {
  const char *name;
  const char *text;
  const char *field;
  const char *msg; /* the whole expected message */
} bad_case_t;

#define PORT_MSG "port must be a number from 1 to 65535"
#define HOST_CHARS_MSG "host contains characters not allowed in a host name"
#define SCHEME_MSG "scheme must be rtsp or rtsps"

static const bad_case_t bad_cases[] = {
    {"empty", "", "url", "url: empty"},
    /* An empty IPv6 zone id would be stored as a URL that does not parse. */
    {"ipv6_empty_zone", "rtsp://[fe80::1%25]/x", "url", "url: malformed host"},
    {"ipv6_nul_zone", "rtsp://[e:8::%25%00]", "url",
     "url: host contains characters not allowed in a host name"},
    {"scheme_http", "http://admin:" PASSWORD "@h/", "url", "url: " SCHEME_MSG},
    {"scheme_file", "file:///etc/passwd", "url", "url: " SCHEME_MSG},
    {"scheme_rtspx", "rtspx://admin:" PASSWORD "@h/", "url", "url: " SCHEME_MSG},
    {"scheme_missing", "cam1.example/stream", "url", "url: " SCHEME_MSG},
    {"scheme_relative", "//admin:" PASSWORD "@h/x", "url", "url: " SCHEME_MSG},
    {"scheme_host_port_only", "h:554/x", "url", "url: " SCHEME_MSG},
    {"scheme_bad_chars", "rt_sp://h/", "url", "url: " SCHEME_MSG},
    {"substream_field_named", "ftp://admin:" PASSWORD "@h/", "substream_url",
     "substream_url: " SCHEME_MSG},
    {"host_missing", "rtsp://", "url", "url: host required"},
    {"host_missing_path", "rtsp:///stream", "url", "url: host required"},
    {"host_missing_no_slashes", "rtsp:h/x", "url", "url: host required"},
    {"host_missing_with_userinfo", "rtsp://admin:" PASSWORD "@/stream", "url",
     "url: host required"},
    {"host_missing_with_port", "rtsp://admin:" PASSWORD "@:554/", "url", "url: host required"},
    {"host_bad_char", "rtsp://h^x/", "url", "url: " HOST_CHARS_MSG},
    {"host_encoded_slash", "rtsp://admin:" PASSWORD "@h%2F/", "url", "url: " HOST_CHARS_MSG},
    /* An unencoded '@' in a password leaves the rest in the host. */
    {"password_unencoded_at", "rtsp://admin:" PASSWORD "@x@h/", "url", "url: " HOST_CHARS_MSG},
    {"host_ipv6_unclosed", "rtsp://admin:" PASSWORD "@[::1/", "url", "url: malformed host"},
    {"host_ipv6_bad_zone", "rtsp://[fe80::1%eth0]/x", "url", "url: malformed host"},
    {"port_zero", "rtsp://admin:" PASSWORD "@h:0/", "url", "url: " PORT_MSG},
    {"port_65536", "rtsp://admin:" PASSWORD "@h:65536/", "url", "url: " PORT_MSG},
    {"port_huge", "rtsp://h:99999999999/", "url", "url: " PORT_MSG},
    {"port_non_numeric", "rtsp://admin:" PASSWORD "@h:abc/", "url", "url: " PORT_MSG},
    {"port_negative", "rtsp://h:-1/", "url", "url: " PORT_MSG},
    {"port_plus", "rtsp://h:+5/", "url", "url: " PORT_MSG},
    {"port_password_like", "rtsp://h:" PASSWORD "/", "url", "url: " PORT_MSG},
    {"space_in_path", "rtsp://h/a b", "url",
     "url: space at position 11 (percent-encode it as %20)"},
    {"space_in_password", "rtsp://admin:" PASSWORD " x@h/", "url",
     "url: space at position 25 (percent-encode it as %20)"},
    {"leading_space", " rtsp://h/", "url", "url: space at position 1 (percent-encode it as %20)"},
    {"crlf_header_injection", "rtsp://h/a\r\nX: y", "url", "url: control character at position 11"},
    {"crlf_in_password", "rtsp://admin:" PASSWORD "\r\n@h/", "url",
     "url: control character at position 25"},
    {"tab", "rtsp://h/\t", "url", "url: control character at position 10"},
    {"del", "rtsp://h/\x7f", "url", "url: control character at position 10"},
    {"trailing_newline", "rtsp://h/x\n", "url", "url: control character at position 11"},
    {"non_ascii", "rtsp://h/cam\xc3\xa9ra", "url",
     "url: non-ASCII character at position 13 (percent-encode it)"},
    {"non_ascii_host",
     "rtsp://b\xc3\xbc"
     "cher.example/",
     "url", "url: non-ASCII character at position 9 (percent-encode it)"},
    {"invalid_utf8", "rtsp://admin:" PASSWORD "@h/\xff", "url", "url: not valid UTF-8"},
    {"fragment", "rtsp://admin:" PASSWORD "@h/x#frag", "url",
     "url: fragments ('#...') are not sent to cameras; remove it"},
    {"empty_fragment", "rtsp://h/x#", "url",
     "url: fragments ('#...') are not sent to cameras; remove it"},
    {"password_without_user", "rtsp://:" PASSWORD "@h/", "url",
     "url: password without a user name"},
    {"bad_percent_in_path", "rtsp://admin:" PASSWORD "@h/%zz", "url", "url: malformed URL"},
    {"bad_percent_in_query", "rtsp://admin:" PASSWORD "@h/x?%zz", "url", "url: malformed URL"},
    {"bad_percent_in_password", "rtsp://admin:" PASSWORD "%zz@h/", "url",
     "url: malformed user information (percent-encode '@', ':' and '/' in credentials)"},
    {"nul_in_user", "rtsp://u%00:" PASSWORD "@h/", "url",
     "url: malformed percent-encoding in user information"},
    {"nul_in_password", "rtsp://u:" PASSWORD "%00@h/", "url",
     "url: malformed percent-encoding in user information"},
    /* Decoded credentials go into RTSP headers: no CR LF smuggled encoded. */
    {"encoded_crlf_in_user", "rtsp://a%0D%0AX:" PASSWORD "@h/", "url",
     "url: user information must be UTF-8 without control characters"},
    {"encoded_crlf_in_password", "rtsp://admin:" PASSWORD "%0D%0A@h/", "url",
     "url: user information must be UTF-8 without control characters"},
    {"encoded_invalid_utf8_password", "rtsp://admin:" PASSWORD "%FF@h/", "url",
     "url: user information must be UTF-8 without control characters"},
};

static void
test_bad(gconstpointer data)
{
  const bad_case_t *c = data;
  cw_rtsp_url_t u;
  memset(&u, 0xa5, sizeof u);
  cw_error_t err = {0};
  int rc = cw_rtsp_url_parse(c->text, c->field, &u, &err);
  g_assert_cmpint(rc, ==, -EINVAL);
  g_assert_cmpint(err.code, ==, -EINVAL);
  g_assert_cmpstr(err.msg, ==, c->msg);
  /* The message names the field first and never quotes the secret. */
  char *prefix = g_strconcat(c->field, ": ", NULL);
  g_assert_true(g_str_has_prefix(err.msg, prefix));
  g_free(prefix);
  g_assert_null(strstr(err.msg, PASSWORD));
  g_assert_null(strstr(err.msg, "S3cr3t"));
  /* *out is left zeroed, so clearing it is harmless. */
  cw_rtsp_url_t zero;
  memset(&zero, 0, sizeof zero);
  g_assert_cmpmem(&u, sizeof u, &zero, sizeof zero);
  cw_rtsp_url_clear(&u);
}

static void
test_too_long(void)
{
  GString *s = g_string_new("rtsp://admin:" PASSWORD "@h/");
  while (s->len <= CW_RTSP_URL_MAX)
    g_string_append_c(s, 'a');
  g_assert_cmpuint(s->len, ==, CW_RTSP_URL_MAX + 1);
  cw_rtsp_url_t u;
  cw_error_t err = {0};
  g_assert_cmpint(cw_rtsp_url_parse(s->str, "url", &u, &err), ==, -EINVAL);
  g_assert_cmpstr(err.msg, ==, "url: longer than 2048 bytes");
  g_assert_null(strstr(err.msg, PASSWORD));
  g_assert_null(u.clean);
  g_string_free(s, TRUE);
}

/* ---- redaction --------------------------------------------------------- */

typedef struct {
  const char *name;
  const char *clean;
  const char *username;
  gboolean has_password;
  const char *shown;
} redact_case_t;

static const redact_case_t redact_cases[] = {
    {"user_and_password", "rtsp://cam1.example:554/stream", "admin", TRUE,
     "rtsp://admin:***@cam1.example:554/stream"},
    {"user_only", "rtsp://h/s", "admin", FALSE, "rtsp://admin@h/s"},
    {"none", "rtsp://h/s", NULL, FALSE, "rtsp://h/s"},
    {"password_flag_without_user", "rtsp://h/s", NULL, TRUE, "rtsp://h/s"},
    {"empty_user", "rtsp://h:8554/s", "", TRUE, "rtsp://h:8554/s"},
    {"user_escaped", "rtsp://h/", "a@b:c/d", TRUE, "rtsp://a%40b%3Ac%2Fd:***@h/"},
    {"ipv6", "rtsp://[::1]:8554/x", "u", TRUE, "rtsp://u:***@[::1]:8554/x"},
    {"ipv6_zone", "rtsp://[fe80::1%25eth0]/x", "u", FALSE, "rtsp://u@[fe80::1%eth0]/x"},
    {"query_kept", "rtsps://h/live?ch=1&sub=0", "op", TRUE, "rtsps://op:***@h/live?ch=1&sub=0"},
    {"encoded_path_kept", "rtsp://h/a%20b", NULL, FALSE, "rtsp://h/a%20b"},
    {"query_slot_masked", "rtsp://h/x?pwd=" CW_RTSP_URL_PASSWORD_SLOT "&ch=1", "u", TRUE,
     "rtsp://u:***@h/x?pwd=***&ch=1"},
    {"no_path", "rtsp://h", "u", FALSE, "rtsp://u@h"},
    {"invalid_null", NULL, "u", TRUE, "<invalid url>"},
    {"invalid_port", "rtsp://h:99999/", "u", TRUE, "<invalid url>"},
    {"invalid_never_echoed", "rtsp://h:" PASSWORD "/", NULL, FALSE, "<invalid url>"},
};

static void
test_redact(gconstpointer data)
{
  const redact_case_t *c = data;
  char *shown = cw_rtsp_url_redact(c->clean, c->username, c->has_password);
  g_assert_cmpstr(shown, ==, c->shown);
  g_assert_null(strstr(shown, PASSWORD));
  g_free(shown);
}

/* Parse, store the clean form, show it: the password is nowhere. */
static void
test_redact_round_trip(void)
{
  static const struct {
    const char *text, *shown;
  } cases[] = {
      {"rtsp://admin:" PASSWORD "@cam1.example:554/path", "rtsp://admin:***@cam1.example:554/path"},
      {"rtsp://viewer@10.0.0.5/live?x=1", "rtsp://viewer@10.0.0.5/live?x=1"},
      {"rtsp://10.0.0.5/live", "rtsp://10.0.0.5/live"},
      {"rtsp://ad%20min:" PASSWORD "@[::1]:8554/a", "rtsp://ad%20min:***@[::1]:8554/a"},
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    cw_rtsp_url_t u;
    cw_error_t err = {0};
    g_assert_cmpint(cw_rtsp_url_parse(cases[i].text, "url", &u, &err), ==, 0);
    char *shown = cw_rtsp_url_redact(u.clean, u.username, u.password != NULL);
    g_assert_cmpstr(shown, ==, cases[i].shown);
    g_assert_null(strstr(shown, PASSWORD));
    g_free(shown);
    cw_rtsp_url_clear(&u);
  }
}

static void
test_query_password_conflict(void)
{
  cw_rtsp_url_t u;
  cw_error_t err = {0};
  g_assert_cmpint(
      cw_rtsp_url_parse("rtsp://admin:" PASSWORD "@h/x?password=other", "url", &u, &err), ==,
      -EINVAL);
  g_assert_cmpstr(err.msg, ==, "url: the query's password differs from the user information's");
  g_assert_cmpint(cw_rtsp_url_parse("rtsp://bob@h/x?user=alice", "url", &u, &err), ==, -EINVAL);
  g_assert_cmpstr(err.msg, ==, "url: the query's user name differs from the user information's");
}

/* What ingest will connect with: the slot filled, percent-encoded. */
static void
test_fill_password(void)
{
  char *url = cw_rtsp_url_fill_password("rtsp://h/x?pwd=" CW_RTSP_URL_PASSWORD_SLOT, "a&b c");
  g_assert_cmpstr(url, ==, "rtsp://h/x?pwd=a%26b%20c");
  g_free(url);
  url = cw_rtsp_url_fill_password("rtsp://h/x", PASSWORD);
  g_assert_cmpstr(url, ==, "rtsp://h/x");
  g_free(url);
  url = cw_rtsp_url_fill_password("rtsp://h/x?pwd=" CW_RTSP_URL_PASSWORD_SLOT, NULL);
  g_assert_cmpstr(url, ==, "rtsp://h/x?pwd=" CW_RTSP_URL_PASSWORD_SLOT);
  g_free(url);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  for (guint i = 0; i < G_N_ELEMENTS(good_cases); i++) {
    char *path = g_strdup_printf("/rtsp_url/accept/%s", good_cases[i].name);
    g_test_add_data_func(path, &good_cases[i], test_good);
    g_free(path);
  }
  g_test_add_func("/rtsp_url/accept/max_length", test_max_length_ok);
  for (guint i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
    char *path = g_strdup_printf("/rtsp_url/reject/%s", bad_cases[i].name);
    g_test_add_data_func(path, &bad_cases[i], test_bad);
    g_free(path);
  }
  g_test_add_func("/rtsp_url/reject/too_long", test_too_long);
  for (guint i = 0; i < G_N_ELEMENTS(redact_cases); i++) {
    char *path = g_strdup_printf("/rtsp_url/redact/%s", redact_cases[i].name);
    g_test_add_data_func(path, &redact_cases[i], test_redact);
    g_free(path);
  }
  g_test_add_func("/rtsp_url/redact/round_trip", test_redact_round_trip);
  g_test_add_func("/rtsp_url/query/password_conflict", test_query_password_conflict);
  g_test_add_func("/rtsp_url/query/fill_password", test_fill_password);
  return g_test_run();
}
