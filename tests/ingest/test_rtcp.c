/* Unit tests for ingest/rtcp.c: sender reports and BYE found in compound
 * packets, malformed packets refused, the receiver report checked byte by
 * byte, and NTP time converted to Unix time. */
#include "rtcp.h"

#include <errno.h>
#include <string.h>

/* SR from SSRC 0x01020304: NTP 0xe9876543.80000000, RTP ts 0x11223344,
 * 100 packets, 20000 octets, no report blocks. */
static const guint8 sr_packet[] = {
    0x80, 200,  0x00, 0x06, 0x01, 0x02, 0x03, 0x04, 0xe9, 0x87, 0x65, 0x43, 0x80, 0x00,
    0x00, 0x00, 0x11, 0x22, 0x33, 0x44, 0x00, 0x00, 0x00, 0x64, 0x00, 0x00, 0x4e, 0x20,
};
/* SDES with one chunk: SSRC, CNAME "cam", end. */
static const guint8 sdes_packet[] = {0x81, 202,  0x00, 0x03, 0x01, 0x02, 0x03, 0x04,
                                     0x01, 0x03, 'c',  'a',  'm',  0x00, 0x00, 0x00};
static const guint8 bye_packet[] = {0x81, 203, 0x00, 0x01, 0x01, 0x02, 0x03, 0x04};
/* RR from 0x0a0b0c0d with no blocks. */
static const guint8 rr_packet[] = {0x80, 201, 0x00, 0x01, 0x0a, 0x0b, 0x0c, 0x0d};

static GByteArray *
compound(const guint8 *const *parts, const size_t *lens, guint n)
{
  GByteArray *b = g_byte_array_new();
  for (guint i = 0; i < n; i++)
    g_byte_array_append(b, parts[i], (guint)lens[i]);
  return b;
}

static void
test_parse_sender_report(void)
{
  GByteArray *b = compound((const guint8 *const[]){sr_packet, sdes_packet},
                           (const size_t[]){sizeof sr_packet, sizeof sdes_packet}, 2);
  cw_rtcp_sr_t sr;
  gboolean has_sr = FALSE, bye = TRUE;
  cw_error_t err = {0};
  g_assert_cmpint(cw_rtcp_parse(b->data, b->len, &sr, &has_sr, &bye, &err), ==, 0);
  g_assert_true(has_sr);
  g_assert_false(bye);
  g_assert_cmpuint(sr.ssrc, ==, 0x01020304);
  g_assert_cmpuint(sr.ntp, ==, G_GUINT64_CONSTANT(0xe987654380000000));
  g_assert_cmpuint(sr.rtp_ts, ==, 0x11223344);
  g_assert_cmpuint(sr.packet_count, ==, 100);
  g_assert_cmpuint(sr.octet_count, ==, 20000);
  g_byte_array_unref(b);
}

static void
test_parse_receiver_report_only(void)
{
  GByteArray *b = compound((const guint8 *const[]){rr_packet, sdes_packet},
                           (const size_t[]){sizeof rr_packet, sizeof sdes_packet}, 2);
  cw_rtcp_sr_t sr;
  gboolean has_sr = TRUE, bye = TRUE;
  g_assert_cmpint(cw_rtcp_parse(b->data, b->len, &sr, &has_sr, &bye, NULL), ==, 0);
  g_assert_false(has_sr);
  g_assert_false(bye);
  g_byte_array_unref(b);
}

static void
test_parse_bye(void)
{
  GByteArray *b =
      compound((const guint8 *const[]){rr_packet, sdes_packet, bye_packet},
               (const size_t[]){sizeof rr_packet, sizeof sdes_packet, sizeof bye_packet}, 3);
  cw_rtcp_sr_t sr;
  gboolean has_sr, bye = FALSE;
  g_assert_cmpint(cw_rtcp_parse(b->data, b->len, &sr, &has_sr, &bye, NULL), ==, 0);
  g_assert_true(bye);
  g_assert_false(has_sr);
  g_byte_array_unref(b);
}

static void
test_parse_sr_with_bye_and_padding(void)
{
  /* SR, then a BYE padded with 4 bytes (the last packet may be). */
  GByteArray *b =
      compound((const guint8 *const[]){sr_packet}, (const size_t[]){sizeof sr_packet}, 1);
  const guint8 padded_bye[] = {0xa1, 203, 0x00, 0x02, 0x01, 0x02, 0x03, 0x04, 0, 0, 0, 4};
  g_byte_array_append(b, padded_bye, sizeof padded_bye);
  cw_rtcp_sr_t sr;
  gboolean has_sr, bye;
  g_assert_cmpint(cw_rtcp_parse(b->data, b->len, &sr, &has_sr, &bye, NULL), ==, 0);
  g_assert_true(has_sr);
  g_assert_true(bye);
  g_byte_array_unref(b);
}

static void
expect_malformed(const guint8 *buf, size_t len, const char *words)
{
  cw_rtcp_sr_t sr;
  gboolean has_sr, bye;
  cw_error_t err = {0};
  g_assert_cmpint(cw_rtcp_parse(buf, len, &sr, &has_sr, &bye, &err), ==, -EINVAL);
  g_assert_nonnull(strstr(err.msg, words));
}

static void
test_parse_refuses_malformed(void)
{
  guint8 buf[64];
  expect_malformed(sr_packet, 0, "shorter");
  expect_malformed(sr_packet, 3, "shorter");

  memcpy(buf, sr_packet, sizeof sr_packet);
  buf[0] = 0x40;
  expect_malformed(buf, sizeof sr_packet, "version");

  /* Length says 7 words past the header, only 6 are there. */
  memcpy(buf, sr_packet, sizeof sr_packet);
  buf[3] = 7;
  expect_malformed(buf, sizeof sr_packet, "passes the end");

  /* An SR too short for its fields. */
  const guint8 short_sr[] = {0x80, 200, 0x00, 0x02, 1, 2, 3, 4, 5, 6, 7, 8};
  expect_malformed(short_sr, sizeof short_sr, "sender report");

  /* An SR claiming a report block it does not have. */
  memcpy(buf, sr_packet, sizeof sr_packet);
  buf[0] = 0x81;
  expect_malformed(buf, sizeof sr_packet, "sender report");

  /* Trailing bytes that are not a packet. */
  memcpy(buf, sr_packet, sizeof sr_packet);
  buf[sizeof sr_packet] = 0x80;
  buf[sizeof sr_packet + 1] = 201;
  expect_malformed(buf, sizeof sr_packet + 2, "stray");

  /* Padding on a packet that is not the last, and padding of 0. */
  memcpy(buf, bye_packet, sizeof bye_packet);
  buf[0] |= 0x20;
  buf[7] = 4;
  memcpy(buf + 8, rr_packet, sizeof rr_packet);
  expect_malformed(buf, 16, "padding");
  buf[7] = 0;
  expect_malformed(buf, 8, "padding");

  /* A BYE naming more sources than it holds. */
  const guint8 bad_bye[] = {0x82, 203, 0x00, 0x01, 1, 2, 3, 4};
  expect_malformed(bad_bye, sizeof bad_bye, "BYE");
}

static void
test_ntp_to_unix(void)
{
  /* 1970-01-01: NTP second 2208988800. */
  g_assert_cmpint(cw_rtcp_ntp_to_unix_us(G_GUINT64_CONSTANT(2208988800) << 32), ==, 0);
  /* Half a second is 0x80000000 of fraction. */
  g_assert_cmpint(cw_rtcp_ntp_to_unix_us(G_GUINT64_CONSTANT(2208988800) << 32 | 0x80000000u), ==,
                  500000);
  /* 2023-11-14T22:13:20Z = Unix 1700000000. */
  guint64 ntp = (G_GUINT64_CONSTANT(1700000000) + 2208988800u) << 32 | 0x40000000u;
  g_assert_cmpint(cw_rtcp_ntp_to_unix_us(ntp), ==, 1700000000LL * 1000000 + 250000);
  /* After 2036-02-07 the NTP seconds wrap (era 1): 2040-01-01 = Unix 2208988800. */
  guint64 era1 = (G_GUINT64_CONSTANT(2208988800) + 2208988800u - (G_GUINT64_CONSTANT(1) << 32));
  g_assert_cmpint(cw_rtcp_ntp_to_unix_us(era1 << 32), ==, 2208988800LL * 1000000);
}

static guint32
rd32(const guint8 *p)
{
  return (guint32)p[0] << 24 | (guint32)p[1] << 16 | (guint32)p[2] << 8 | p[3];
}

static void
test_build_rr_layout(void)
{
  cw_depay_stats_t st = {0};
  st.ssrc = 0x01020304;
  st.packets = 95;
  st.lost = 5;
  st.highest_seq = 0x1234;
  st.cycles = 2;
  st.jitter = 123.7;
  cw_rtcp_rr_state_t state = {0};
  guint8 out[64];
  memset(out, 0xee, sizeof out);
  guint64 last_sr = G_GUINT64_CONSTANT(0xe987654380000000);
  size_t n = cw_rtcp_build_rr(out, sizeof out, 0xcafebabe, &st, &state, last_sr, 1500000, "cam");
  static const guint8 want[] = {/* RR: V=2 RC=1, PT 201, length 7, our SSRC */
                                0x81, 201, 0x00, 0x07, 0xca, 0xfe, 0xba, 0xbe,
                                /* block: source SSRC, fraction 5/100*256 = 12, lost 5 */
                                0x01, 0x02, 0x03, 0x04, 0x0c, 0x00, 0x00, 0x05,
                                /* extended highest seq 0x00021234, jitter 123 */
                                0x00, 0x02, 0x12, 0x34, 0x00, 0x00, 0x00, 0x7b,
                                /* LSR = middle 32 bits of the SR's NTP, DLSR = 1.5 s * 65536 */
                                0x65, 0x43, 0x80, 0x00, 0x00, 0x01, 0x80, 0x00,
                                /* SDES: SC=1, PT 202, length 3, our SSRC, CNAME "cam", end + pad */
                                0x81, 202, 0x00, 0x03, 0xca, 0xfe, 0xba, 0xbe, 0x01, 0x03, 'c', 'a',
                                'm', 0x00, 0x00, 0x00};
  g_assert_cmpmem(out, n, want, sizeof want);
  g_assert_cmpuint(out[n], ==, 0xee);
  g_assert_cmpuint(state.expected_prior, ==, 100);
  g_assert_cmpuint(state.received_prior, ==, 95);
}

static void
test_build_rr_fraction_since_previous(void)
{
  cw_depay_stats_t st = {0};
  st.ssrc = 7;
  st.packets = 100;
  cw_rtcp_rr_state_t state = {0};
  guint8 out[128];
  size_t n = cw_rtcp_build_rr(out, sizeof out, 1, &st, &state, 0, 0, NULL);
  g_assert_cmpuint(n, >, 0);
  g_assert_cmpuint(out[12], ==, 0);
  /* Then 50 more received and 50 lost: half of this interval. */
  st.packets = 150;
  st.lost = 50;
  n = cw_rtcp_build_rr(out, sizeof out, 1, &st, &state, 0, 0, NULL);
  g_assert_cmpuint(out[12], ==, 128);
  g_assert_cmpuint(rd32(out + 12) & 0xffffff, ==, 50);
  /* LSR and DLSR are zero without an SR. */
  g_assert_cmpuint(rd32(out + 24), ==, 0);
  g_assert_cmpuint(rd32(out + 28), ==, 0);
  /* Reordered and duplicate packets are not received twice. */
  st.packets = 170;
  st.duplicates = 10;
  st.reordered = 10;
  n = cw_rtcp_build_rr(out, sizeof out, 1, &st, &state, 0, 0, NULL);
  g_assert_cmpuint(out[12], ==, 0);
  g_assert_cmpuint(state.received_prior, ==, 150);
  /* The default CNAME. */
  g_assert_cmpuint(out[32 + 9], ==, strlen("citywatch"));
  g_assert_cmpmem(out + 32 + 10, 9, "citywatch", 9);
  g_assert_cmpuint(n % 4, ==, 0);
}

static void
test_build_rr_before_any_packet_has_no_block(void)
{
  cw_depay_stats_t st = {0};
  cw_rtcp_rr_state_t state = {0};
  guint8 out[64];
  size_t n = cw_rtcp_build_rr(out, sizeof out, 0x55, &st, &state, 0, 0, "abcd");
  g_assert_cmpuint(out[0], ==, 0x80);
  g_assert_cmpuint(out[1], ==, 201);
  g_assert_cmpuint(out[3], ==, 1);
  /* SDES chunk: 4 SSRC + 2 + 4 text = 10, padded to 12 with zeros. */
  g_assert_cmpuint(n, ==, 8 + 4 + 12);
  g_assert_cmpuint(out[8 + 3], ==, 3);
  g_assert_cmpuint(out[n - 1], ==, 0);
  g_assert_cmpuint(out[n - 2], ==, 0);
}

static void
test_build_rr_too_small(void)
{
  cw_depay_stats_t st = {.packets = 1};
  cw_rtcp_rr_state_t state = {0};
  guint8 out[64];
  g_assert_cmpuint(cw_rtcp_build_rr(out, 47, 1, &st, &state, 0, 0, "cam"), ==, 0);
  g_assert_cmpuint(state.expected_prior, ==, 0);
  g_assert_cmpuint(cw_rtcp_build_rr(out, 48, 1, &st, &state, 0, 0, "cam"), ==, 48);
}

static void
test_build_rr_output_parses(void)
{
  cw_depay_stats_t st = {.packets = 10, .ssrc = 9};
  cw_rtcp_rr_state_t state = {0};
  guint8 out[512];
  char cname[300];
  memset(cname, 'x', sizeof cname - 1);
  cname[sizeof cname - 1] = '\0';
  size_t n = cw_rtcp_build_rr(out, sizeof out, 1, &st, &state, 0, 0, cname);
  g_assert_cmpuint(n, ==, 32 + 4 + 264); /* 4 + 2 + 255 -> 264 */
  cw_rtcp_sr_t sr;
  gboolean has_sr, bye;
  g_assert_cmpint(cw_rtcp_parse(out, n, &sr, &has_sr, &bye, NULL), ==, 0);
  g_assert_false(has_sr);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/rtcp/parse_sender_report", test_parse_sender_report);
  g_test_add_func("/rtcp/parse_receiver_report_only", test_parse_receiver_report_only);
  g_test_add_func("/rtcp/parse_bye", test_parse_bye);
  g_test_add_func("/rtcp/parse_sr_with_bye_and_padding", test_parse_sr_with_bye_and_padding);
  g_test_add_func("/rtcp/parse_refuses_malformed", test_parse_refuses_malformed);
  g_test_add_func("/rtcp/ntp_to_unix", test_ntp_to_unix);
  g_test_add_func("/rtcp/build_rr_layout", test_build_rr_layout);
  g_test_add_func("/rtcp/build_rr_fraction_since_previous", test_build_rr_fraction_since_previous);
  g_test_add_func("/rtcp/build_rr_before_any_packet_has_no_block",
                  test_build_rr_before_any_packet_has_no_block);
  g_test_add_func("/rtcp/build_rr_too_small", test_build_rr_too_small);
  g_test_add_func("/rtcp/build_rr_output_parses", test_build_rr_output_parses);
  return g_test_run();
}
