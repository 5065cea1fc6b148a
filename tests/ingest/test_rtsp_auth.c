/* Unit tests for ingest/rtsp_auth.c: Digest responses checked against the
 * RFC 2617 and RFC 2069 examples, Basic against RFC 7617's, the nonce count,
 * quoting of what goes back to the server, refusals, and challenge parsing
 * of messy WWW-Authenticate headers as cameras send them. */
#include "rtsp_auth.h"

#include <errno.h>
#include <string.h>

/* Distinctive, so any echo of it is caught. */
#define PASSWORD "S3cr3t-P4ss"

/* RFC 2617 section 3.5. */
#define RFC2617_CHALLENGE                                                                          \
  "Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", "                                   \
  "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\""

/* Parses values that must give a challenge. */
static void
parse_ok(const char *const *values, guint n, cw_rtsp_challenge_t *ch)
{
  cw_error_t err = {0};
  int rc = cw_rtsp_auth_parse(values, n, ch, &err);
  if (rc != 0)
    g_error("cw_rtsp_auth_parse: %d %s", rc, err.msg);
}

static void
parse_one(const char *value, cw_rtsp_challenge_t *ch)
{
  const char *values[] = {value};
  parse_ok(values, 1, ch);
}

/* Parses values that must fail with code and a message holding want. */
static void
parse_fails(const char *const *values, guint n, int code, const char *want)
{
  cw_rtsp_challenge_t ch;
  cw_error_t err = {0};
  g_assert_cmpint(cw_rtsp_auth_parse(values, n, &ch, &err), ==, code);
  if (!strstr(err.msg, want))
    g_error("error \"%s\" does not hold \"%s\"", err.msg, want);
  g_assert_null(ch.realm);
  g_assert_null(ch.nonce);
  cw_rtsp_challenge_clear(&ch);
}

/* ---- Digest --------------------------------------------------------------- */

static void
test_digest_rfc2617_example(void)
{
  cw_rtsp_challenge_t ch;
  parse_one(RFC2617_CHALLENGE, &ch);
  g_assert_true(ch.digest);
  g_assert_true(ch.qop_auth);
  g_assert_null(ch.algorithm);
  char *h = cw_rtsp_auth_header_cnonce(&ch, "GET", "/dir/index.html", "Mufasa", "Circle Of Life",
                                       "0a4f113b");
  g_assert_cmpstr(h, ==,
                  "Digest username=\"Mufasa\", realm=\"testrealm@host.com\", "
                  "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"/dir/index.html\", "
                  "cnonce=\"0a4f113b\", nc=00000001, qop=auth, "
                  "response=\"6629fae49393a05397450978507c4ef1\", "
                  "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"");
  g_free(h);
  cw_rtsp_challenge_clear(&ch);
}

static void
test_digest_nonce_count_increments(void)
{
  cw_rtsp_challenge_t ch;
  parse_one(RFC2617_CHALLENGE, &ch);
  g_assert_cmpuint(ch.nc, ==, 0);
  char *h1 = cw_rtsp_auth_header_cnonce(&ch, "GET", "/dir/index.html", "Mufasa", "Circle Of Life",
                                        "0a4f113b");
  char *h2 = cw_rtsp_auth_header_cnonce(&ch, "GET", "/dir/index.html", "Mufasa", "Circle Of Life",
                                        "0a4f113b");
  g_assert_cmpuint(ch.nc, ==, 2);
  g_assert_nonnull(strstr(h1, "nc=00000001"));
  g_assert_nonnull(strstr(h2, "nc=00000002"));
  g_assert_nonnull(strstr(h2, "response=\"15b6bb427e3fecd23a43cb702ce447d5\""));
  g_free(h1);
  g_free(h2);
  cw_rtsp_challenge_clear(&ch);
}

static void
test_digest_without_qop(void)
{
  /* RFC 2069's example: no qop, so no cnonce or nc. */
  cw_rtsp_challenge_t ch;
  parse_one("Digest realm=\"testrealm@host.com\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", "
            "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"",
            &ch);
  g_assert_true(ch.digest);
  g_assert_false(ch.qop_auth);
  char *h = cw_rtsp_auth_header_cnonce(&ch, "GET", "/dir/index.html", "Mufasa", "CircleOfLife",
                                       "ignored");
  g_assert_cmpstr(h, ==,
                  "Digest username=\"Mufasa\", realm=\"testrealm@host.com\", "
                  "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"/dir/index.html\", "
                  "response=\"1949323746fe6a43ef61f9606e7febea\", "
                  "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"");
  g_free(h);
  cw_rtsp_challenge_clear(&ch);
}

static void
test_digest_camera_describe(void)
{
  /* A Hikvision 401: Digest (no qop) and Basic; algorithm echoed when given. */
  const char *values[] = {
      "Digest realm=\"IP Camera(C6188)\", nonce=\"5a1b2c3d4e5f60718293a4b5c6d7e8f9\", "
      "stale=\"FALSE\", algorithm=\"MD5\"",
      "Basic realm=\"IP Camera(C6188)\""};
  cw_rtsp_challenge_t ch;
  parse_ok(values, 2, &ch);
  g_assert_true(ch.digest);
  g_assert_false(ch.stale);
  g_assert_cmpstr(ch.algorithm, ==, "MD5");
  char *h = cw_rtsp_auth_header(&ch, "DESCRIBE", "rtsp://192.168.1.64:554/Streaming/Channels/101",
                                "admin", "12345");
  g_assert_cmpstr(h, ==,
                  "Digest username=\"admin\", realm=\"IP Camera(C6188)\", "
                  "nonce=\"5a1b2c3d4e5f60718293a4b5c6d7e8f9\", "
                  "uri=\"rtsp://192.168.1.64:554/Streaming/Channels/101\", "
                  "response=\"aacc70db775614a4650ead6c7fcc7e4a\", algorithm=MD5");
  g_free(h);
  cw_rtsp_challenge_clear(&ch);
}

static void
test_digest_random_cnonce(void)
{
  cw_rtsp_challenge_t ch;
  parse_one("Digest realm=\"r\", nonce=\"n\", qop=\"auth\"", &ch);
  char *h1 = cw_rtsp_auth_header(&ch, "PLAY", "rtsp://h/", "admin", PASSWORD);
  char *h2 = cw_rtsp_auth_header(&ch, "PLAY", "rtsp://h/", "admin", PASSWORD);
  const char *c1 = strstr(h1, "cnonce=\""), *c2 = strstr(h2, "cnonce=\"");
  g_assert_nonnull(c1);
  g_assert_nonnull(c2);
  c1 += 8;
  c2 += 8;
  g_assert_cmpuint(strspn(c1, "0123456789abcdef"), ==, 32);
  g_assert_cmpint(c1[32], ==, '"');
  g_assert_true(memcmp(c1, c2, 32) != 0);
  g_assert_null(strstr(h1, PASSWORD));
  g_free(h1);
  g_free(h2);
  cw_rtsp_challenge_clear(&ch);
}

static void
test_digest_quoting(void)
{
  /* What goes back in quotes is escaped again; the hash uses the raw text. */
  cw_rtsp_challenge_t ch;
  parse_one("Digest realm=\"r\\\"x\\\\\", nonce=\"n\"", &ch);
  g_assert_cmpstr(ch.realm, ==, "r\"x\\");
  char *h = cw_rtsp_auth_header(&ch, "OPTIONS", "*", "a\"b", "pw");
  g_assert_cmpstr(h, ==,
                  "Digest username=\"a\\\"b\", realm=\"r\\\"x\\\\\", nonce=\"n\", uri=\"*\", "
                  "response=\"5129b193b80e9b12b25452c5db2b3bbc\"");
  g_free(h);
  cw_rtsp_challenge_clear(&ch);
}

static void
test_header_refusals(void)
{
  cw_rtsp_challenge_t ch;
  parse_one("Digest realm=\"r\", nonce=\"n\", qop=auth", &ch);
  g_assert_null(cw_rtsp_auth_header(&ch, "PLAY", "rtsp://h/", "ad\r\nmin", PASSWORD));
  g_assert_null(cw_rtsp_auth_header(&ch, "PLAY", "rtsp://h/\n", "admin", PASSWORD));
  g_assert_null(cw_rtsp_auth_header(&ch, "PLAY", "rtsp://h/", NULL, PASSWORD));
  g_assert_null(cw_rtsp_auth_header(&ch, "PLAY", "", "admin", PASSWORD));
  g_assert_null(cw_rtsp_auth_header_cnonce(&ch, "PLAY", "rtsp://h/", "admin", PASSWORD, "a\"b"));
  g_assert_null(cw_rtsp_auth_header_cnonce(&ch, "PLAY", "rtsp://h/", "admin", PASSWORD, ""));
  g_assert_cmpuint(ch.nc, ==, 0);
  cw_rtsp_challenge_clear(&ch);
  /* A zeroed Digest challenge has no nonce to answer. */
  cw_rtsp_challenge_t empty = {.digest = TRUE};
  g_assert_null(cw_rtsp_auth_header(&empty, "PLAY", "rtsp://h/", "admin", PASSWORD));
  g_assert_null(cw_rtsp_auth_header(NULL, "PLAY", "rtsp://h/", "admin", PASSWORD));
}

/* ---- Basic ---------------------------------------------------------------- */

static void
test_basic_rfc7617_example(void)
{
  cw_rtsp_challenge_t ch;
  parse_one("Basic realm=\"WallyWorld\"", &ch);
  g_assert_false(ch.digest);
  g_assert_cmpstr(ch.realm, ==, "WallyWorld");
  char *h = cw_rtsp_auth_header(&ch, "DESCRIBE", "rtsp://h/", "Aladdin", "open sesame");
  g_assert_cmpstr(h, ==, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
  g_free(h);
  h = cw_rtsp_auth_header(&ch, "DESCRIBE", "rtsp://h/", "admin", NULL);
  g_assert_cmpstr(h, ==, "Basic YWRtaW46"); /* "admin:" */
  g_free(h);
  /* Basic cannot carry a colon in the user name. */
  g_assert_null(cw_rtsp_auth_header(&ch, "DESCRIBE", "rtsp://h/", "ad:min", "x"));
  cw_rtsp_challenge_clear(&ch);
}

/* ---- choosing among challenges -------------------------------------------- */

static void
test_prefers_digest_over_basic(void)
{
  cw_rtsp_challenge_t ch;
  /* Basic first, Digest later in the same value: the comma-separated list
   * holds two challenges. */
  parse_one("Basic realm=\"cam\", Digest realm=\"cam\", nonce=\"abc\", qop=\"auth\"", &ch);
  g_assert_true(ch.digest);
  g_assert_true(ch.qop_auth);
  g_assert_cmpstr(ch.nonce, ==, "abc");
  cw_rtsp_challenge_clear(&ch);
}

static void
test_prefers_qop_digest(void)
{
  const char *values[] = {"Digest realm=\"a\", nonce=\"old-style\"",
                          "Digest realm=\"a\", nonce=\"new-style\", qop=\"auth\""};
  cw_rtsp_challenge_t ch;
  parse_ok(values, 2, &ch);
  g_assert_cmpstr(ch.nonce, ==, "new-style");
  g_assert_true(ch.qop_auth);
  cw_rtsp_challenge_clear(&ch);
}

static void
test_md5_among_sha256(void)
{
  /* RFC 7616 section 3.9.1: SHA-256 offered first, MD5 second. */
  const char *values[] = {
      "Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", algorithm=SHA-256, "
      "nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", "
      "opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"",
      "Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", algorithm=MD5, "
      "nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", "
      "opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""};
  cw_rtsp_challenge_t ch;
  parse_ok(values, 2, &ch);
  g_assert_cmpstr(ch.algorithm, ==, "MD5");
  g_assert_true(ch.qop_auth);
  g_assert_cmpstr(ch.opaque, ==, "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS");
  cw_rtsp_challenge_clear(&ch);
}

static void
test_basic_among_unsupported(void)
{
  const char *values[] = {"Negotiate YIIBhgYGKwYBBQUCoIIBejCCAXa/gAw==", "NTLM",
                          "Basic realm=\"Axis\""};
  cw_rtsp_challenge_t ch;
  parse_ok(values, 3, &ch);
  g_assert_false(ch.digest);
  g_assert_cmpstr(ch.realm, ==, "Axis");
  cw_rtsp_challenge_clear(&ch);
  parse_one("Negotiate abc=, Basic realm=\"x\"", &ch);
  g_assert_false(ch.digest);
  g_assert_cmpstr(ch.realm, ==, "x");
  cw_rtsp_challenge_clear(&ch);
}

/* ---- messy headers -------------------------------------------------------- */

static void
test_messy_case_and_spacing(void)
{
  cw_rtsp_challenge_t ch;
  parse_one("  DIGEST\tREALM = \"Dahua\" ,, NONCE=\"0123abcd\",QOP = \"AUTH\" , "
            "Algorithm=md5 , STALE=TRUE,  ",
            &ch);
  g_assert_true(ch.digest);
  g_assert_cmpstr(ch.realm, ==, "Dahua");
  g_assert_cmpstr(ch.nonce, ==, "0123abcd");
  g_assert_cmpstr(ch.algorithm, ==, "MD5");
  g_assert_true(ch.qop_auth);
  g_assert_true(ch.stale);
  cw_rtsp_challenge_clear(&ch);
}

static void
test_messy_commas_and_escapes_in_quotes(void)
{
  cw_rtsp_challenge_t ch;
  parse_one("Digest realm=\"North, Gate \\\"3\\\" = x\", domain=\"/a, /b\", "
            "nonce=\"n,o=n\\ce\", opaque=\"\", qop=\"auth-int,auth\"",
            &ch);
  g_assert_cmpstr(ch.realm, ==, "North, Gate \"3\" = x");
  g_assert_cmpstr(ch.nonce, ==, "n,o=nce");
  g_assert_cmpstr(ch.opaque, ==, "");
  g_assert_true(ch.qop_auth);
  cw_rtsp_challenge_clear(&ch);
}

static void
test_messy_no_commas_between_params(void)
{
  /* Some camera firmwares leave out the commas. */
  cw_rtsp_challenge_t ch;
  parse_one("Digest realm=\"cam\" nonce=\"n1\" qop=\"auth\"", &ch);
  g_assert_true(ch.digest);
  g_assert_cmpstr(ch.nonce, ==, "n1");
  g_assert_true(ch.qop_auth);
  cw_rtsp_challenge_clear(&ch);
}

static void
test_messy_token_values(void)
{
  cw_rtsp_challenge_t ch;
  parse_one("Digest realm=cam, nonce=4e6f6e6365, opaque=a/b", &ch);
  g_assert_cmpstr(ch.realm, ==, "cam");
  g_assert_cmpstr(ch.nonce, ==, "4e6f6e6365");
  g_assert_cmpstr(ch.opaque, ==, "a/b");
  cw_rtsp_challenge_clear(&ch);
}

/* ---- refusals ------------------------------------------------------------- */

static void
test_unsupported_only(void)
{
  const char *sha[] = {"Digest realm=\"r\", nonce=\"n\", algorithm=SHA-256, qop=\"auth\""};
  parse_fails(sha, 1, -ENOTSUP, "Digest algorithm=SHA-256");
  const char *ntlm[] = {"NTLM", "Negotiate"};
  parse_fails(ntlm, 2, -ENOTSUP, "offered: NTLM, Negotiate");
  const char *auth_int[] = {"Digest realm=\"r\", nonce=\"n\", qop=\"auth-int\""};
  parse_fails(auth_int, 1, -ENOTSUP, "Digest qop=auth-int");
  const char *sess[] = {"Digest realm=\"r\", nonce=\"n\", algorithm=MD5-sess, qop=auth"};
  parse_fails(sess, 1, -ENOTSUP, "Digest algorithm=MD5-sess");
}

static void
test_malformed(void)
{
  const char *unterminated[] = {"Digest realm=\"r\", nonce=\"n"};
  parse_fails(unterminated, 1, -EINVAL, "bad quoted string");
  const char *no_nonce[] = {"Digest realm=\"r\", qop=auth"};
  parse_fails(no_nonce, 1, -EINVAL, "Digest challenge without nonce");
  const char *no_realm[] = {"Digest nonce=\"n\""};
  parse_fails(no_realm, 1, -EINVAL, "Digest challenge without realm");
  const char *no_scheme[] = {"realm=\"r\", nonce=\"n\""};
  parse_fails(no_scheme, 1, -EINVAL, "before any scheme");
  const char *junk[] = {"Digest realm=\"r\", @@@"};
  parse_fails(junk, 1, -EINVAL, "malformed WWW-Authenticate near \"@@@\"");
  const char *ctl[] = {"Digest realm=\"r\x01\", nonce=\"n\""};
  parse_fails(ctl, 1, -EINVAL, "bad quoted string");
  parse_fails(NULL, 0, -EINVAL, "no WWW-Authenticate challenge");
  const char *blank[] = {"", " , "};
  parse_fails(blank, 2, -EINVAL, "no WWW-Authenticate challenge");
  /* A malformed value does not hide a good one elsewhere. */
  const char *mixed[] = {"Digest realm=\"r\", nonce=\"n", "Basic realm=\"r\""};
  cw_rtsp_challenge_t ch;
  parse_ok(mixed, 2, &ch);
  g_assert_false(ch.digest);
  cw_rtsp_challenge_clear(&ch);
  /* Nor is a cut-off challenge half answered: its opaque could be lost. */
  const char *cut[] = {"Digest realm=\"r\", nonce=\"n\", opaque=\"o"};
  parse_fails(cut, 1, -EINVAL, "bad quoted string");
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/rtsp_auth/digest/rfc2617_example", test_digest_rfc2617_example);
  g_test_add_func("/rtsp_auth/digest/nonce_count_increments", test_digest_nonce_count_increments);
  g_test_add_func("/rtsp_auth/digest/without_qop", test_digest_without_qop);
  g_test_add_func("/rtsp_auth/digest/camera_describe", test_digest_camera_describe);
  g_test_add_func("/rtsp_auth/digest/random_cnonce", test_digest_random_cnonce);
  g_test_add_func("/rtsp_auth/digest/quoting", test_digest_quoting);
  g_test_add_func("/rtsp_auth/header/refusals", test_header_refusals);
  g_test_add_func("/rtsp_auth/basic/rfc7617_example", test_basic_rfc7617_example);
  g_test_add_func("/rtsp_auth/choose/prefers_digest_over_basic", test_prefers_digest_over_basic);
  g_test_add_func("/rtsp_auth/choose/prefers_qop_digest", test_prefers_qop_digest);
  g_test_add_func("/rtsp_auth/choose/md5_among_sha256", test_md5_among_sha256);
  g_test_add_func("/rtsp_auth/choose/basic_among_unsupported", test_basic_among_unsupported);
  g_test_add_func("/rtsp_auth/parse/case_and_spacing", test_messy_case_and_spacing);
  g_test_add_func("/rtsp_auth/parse/commas_and_escapes_in_quotes",
                  test_messy_commas_and_escapes_in_quotes);
  g_test_add_func("/rtsp_auth/parse/no_commas_between_params", test_messy_no_commas_between_params);
  g_test_add_func("/rtsp_auth/parse/token_values", test_messy_token_values);
  g_test_add_func("/rtsp_auth/refuse/unsupported_only", test_unsupported_only);
  g_test_add_func("/rtsp_auth/refuse/malformed", test_malformed);
  return g_test_run();
}
