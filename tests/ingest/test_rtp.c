/* Unit tests for ingest/rtp.c: RTP header parsing, and what the
 * depayloader makes of the packet stream whatever the codec: sequence
 * wrap, loss, reordering and duplicates, payload type and SSRC changes,
 * timestamp wrap and jumps, jitter and wall-clock time. Single-NAL H.264
 * packets, built by hand, carry the pictures. */
#include "rtp.h"

#include <errno.h>
#include <string.h>

static const guint8 slice[] = {0x41, 0x9a, 0x21, 0x6c};

typedef struct {
  GPtrArray *aus;
  cw_depay_t *d;
} fixture_t;

static void
collect(void *opaque, cw_access_unit_t *au)
{
  fixture_t *f = opaque;
  g_ptr_array_add(f->aus, cw_access_unit_ref(au));
}

static void
fixture_init(fixture_t *f)
{
  f->aus = g_ptr_array_new_with_free_func((GDestroyNotify)cw_access_unit_unref);
  f->d = cw_depay_new(CW_CODEC_H264, 90000, NULL, 0, collect, f);
}

static void
fixture_clear(fixture_t *f)
{
  cw_depay_free(f->d);
  g_ptr_array_unref(f->aus);
}

static cw_access_unit_t *
au_at(fixture_t *f, guint i)
{
  g_assert_cmpuint(i, <, f->aus->len);
  return f->aus->pdata[i];
}

/* Writes a 12-byte RTP header into p. */
static void
header(guint8 *p, guint8 pt, gboolean marker, guint16 seq, guint32 ts, guint32 ssrc)
{
  p[0] = 0x80;
  p[1] = (guint8)((marker ? 0x80 : 0) | pt);
  p[2] = (guint8)(seq >> 8);
  p[3] = (guint8)seq;
  p[4] = (guint8)(ts >> 24);
  p[5] = (guint8)(ts >> 16);
  p[6] = (guint8)(ts >> 8);
  p[7] = (guint8)ts;
  p[8] = (guint8)(ssrc >> 24);
  p[9] = (guint8)(ssrc >> 16);
  p[10] = (guint8)(ssrc >> 8);
  p[11] = (guint8)ssrc;
}

/* One whole picture (marker set) in one packet, PT 96, arriving at arrival_us. */
static int
send_full(fixture_t *f, guint8 pt, guint16 seq, guint32 ts, guint32 ssrc, gint64 arrival_us)
{
  guint8 pkt[12 + sizeof slice];
  header(pkt, pt, TRUE, seq, ts, ssrc);
  memcpy(pkt + 12, slice, sizeof slice);
  return cw_depay_push_at(f->d, pkt, sizeof pkt, arrival_us);
}

static void
send_pic(fixture_t *f, guint16 seq, guint32 ts)
{
  g_assert_cmpint(send_full(f, 96, seq, ts, 0xabcdef01, 0), ==, 0);
}

/* ---- cw_rtp_parse --------------------------------------------------------- */

static void
test_parse_plain(void)
{
  guint8 pkt[16];
  header(pkt, 96, TRUE, 0x1234, 0xdeadbeef, 0x01020304);
  memcpy(pkt + 12, slice, 4);
  cw_rtp_packet_t p;
  cw_error_t err = {0};
  g_assert_cmpint(cw_rtp_parse(pkt, sizeof pkt, &p, &err), ==, 0);
  g_assert_cmpuint(p.version, ==, 2);
  g_assert_cmpuint(p.marker, ==, 1);
  g_assert_cmpuint(p.payload_type, ==, 96);
  g_assert_cmpuint(p.seq, ==, 0x1234);
  g_assert_cmpuint(p.timestamp, ==, 0xdeadbeef);
  g_assert_cmpuint(p.ssrc, ==, 0x01020304);
  g_assert_true(p.payload == pkt + 12);
  g_assert_cmpuint(p.payload_len, ==, 4);
}

static void
test_parse_csrc_extension_padding(void)
{
  /* 2 CSRCs, a one-word extension, 3 payload bytes, 5 bytes of padding. */
  guint8 pkt[12 + 8 + 8 + 3 + 5] = {0};
  header(pkt, 97, FALSE, 1, 2, 3);
  pkt[0] = 0x80 | 0x20 | 0x10 | 2;
  pkt[20] = 0xbe;
  pkt[21] = 0xde;
  pkt[23] = 1;
  pkt[28] = 0xaa;
  pkt[29] = 0xbb;
  pkt[30] = 0xcc;
  pkt[sizeof pkt - 1] = 5;
  cw_rtp_packet_t p;
  g_assert_cmpint(cw_rtp_parse(pkt, sizeof pkt, &p, NULL), ==, 0);
  g_assert_cmpuint(p.csrc_count, ==, 2);
  g_assert_cmpuint(p.extension, ==, 1);
  g_assert_cmpuint(p.padding, ==, 1);
  g_assert_true(p.payload == pkt + 28);
  g_assert_cmpuint(p.payload_len, ==, 3);
}

static void
test_parse_refuses_malformed(void)
{
  guint8 pkt[20];
  cw_rtp_packet_t p;
  cw_error_t err = {0};

  header(pkt, 96, FALSE, 1, 2, 3);
  g_assert_cmpint(cw_rtp_parse(pkt, 11, &p, &err), ==, -EINVAL);
  g_assert_nonnull(strstr(err.msg, "shorter"));

  pkt[0] = 0x40; /* version 1 */
  g_assert_cmpint(cw_rtp_parse(pkt, sizeof pkt, &p, &err), ==, -EINVAL);
  g_assert_nonnull(strstr(err.msg, "version"));

  pkt[0] = 0x80 | 3; /* 3 CSRCs need 24 bytes */
  g_assert_cmpint(cw_rtp_parse(pkt, sizeof pkt, &p, &err), ==, -EINVAL);
  g_assert_nonnull(strstr(err.msg, "CSRC"));

  pkt[0] = 0x90; /* extension of 2 words: 12 + 4 + 8 > 20 */
  pkt[12] = pkt[13] = pkt[14] = 0;
  pkt[15] = 2;
  g_assert_cmpint(cw_rtp_parse(pkt, sizeof pkt, &p, &err), ==, -EINVAL);
  g_assert_nonnull(strstr(err.msg, "extension"));

  pkt[0] = 0xa0; /* padding: 0, then more than the payload */
  pkt[19] = 0;
  g_assert_cmpint(cw_rtp_parse(pkt, sizeof pkt, &p, &err), ==, -EINVAL);
  g_assert_nonnull(strstr(err.msg, "padding"));
  pkt[19] = 9;
  g_assert_cmpint(cw_rtp_parse(pkt, sizeof pkt, &p, &err), ==, -EINVAL);
  pkt[19] = 8; /* exactly the payload: fine, empty */
  g_assert_cmpint(cw_rtp_parse(pkt, sizeof pkt, &p, &err), ==, 0);
  g_assert_cmpuint(p.payload_len, ==, 0);
}

static void
test_unparseable_packet_counted_bad(void)
{
  fixture_t f;
  fixture_init(&f);
  const guint8 junk[] = {0x00, 0x01, 0x02};
  g_assert_cmpint(cw_depay_push_at(f.d, junk, sizeof junk, 0), ==, -EINVAL);
  g_assert_cmpuint(cw_depay_stats(f.d)->bad_packets, ==, 1);
  g_assert_cmpuint(cw_depay_stats(f.d)->packets, ==, 0);
  fixture_clear(&f);
}

/* ---- sequence numbers ------------------------------------------------------ */

static void
test_seq_wrap_no_loss(void)
{
  fixture_t f;
  fixture_init(&f);
  guint16 seq = 65533;
  for (int i = 0; i < 6; i++)
    send_pic(&f, seq++, (guint32)i * 3600);
  const cw_depay_stats_t *st = cw_depay_stats(f.d);
  g_assert_cmpuint(st->lost, ==, 0);
  g_assert_cmpuint(st->reordered, ==, 0);
  g_assert_cmpuint(st->packets, ==, 6);
  g_assert_cmpuint(st->cycles, ==, 1);
  g_assert_cmpuint(st->highest_seq, ==, 2);
  g_assert_cmpuint(f.aus->len, ==, 6);
  for (guint i = 0; i < f.aus->len; i++)
    g_assert_false(au_at(&f, i)->damaged);
  fixture_clear(&f);
}

static void
test_gap_counts_lost(void)
{
  fixture_t f;
  fixture_init(&f);
  send_pic(&f, 65534, 0);
  send_pic(&f, 2, 3600); /* 65535, 0, 1 lost across the wrap */
  const cw_depay_stats_t *st = cw_depay_stats(f.d);
  g_assert_cmpuint(st->lost, ==, 3);
  g_assert_cmpuint(st->cycles, ==, 1);
  g_assert_true(au_at(&f, 1)->damaged);
  fixture_clear(&f);
}

static void
test_reordered_and_duplicate_counted_and_dropped(void)
{
  fixture_t f;
  fixture_init(&f);
  send_pic(&f, 10, 0);
  send_pic(&f, 12, 7200); /* 11 missing */
  send_pic(&f, 11, 3600); /* late: reordered, dropped */
  send_pic(&f, 11, 3600); /* again: now a duplicate */
  send_pic(&f, 12, 7200); /* duplicate of the highest */
  send_pic(&f, 10, 0);    /* duplicate of an older one */
  send_pic(&f, 13, 10800);
  const cw_depay_stats_t *st = cw_depay_stats(f.d);
  g_assert_cmpuint(st->packets, ==, 7);
  g_assert_cmpuint(st->lost, ==, 1);
  g_assert_cmpuint(st->reordered, ==, 1);
  g_assert_cmpuint(st->duplicates, ==, 3);
  g_assert_cmpuint(f.aus->len, ==, 3);
  g_assert_cmpint(au_at(&f, 2)->pts, ==, 10800);
  fixture_clear(&f);
}

static void
test_seq_jump_restarts_after_two(void)
{
  fixture_t f;
  fixture_init(&f);
  send_pic(&f, 100, 0);
  send_pic(&f, 30000, 3600); /* a jump: dropped, counted bad */
  g_assert_cmpuint(f.aus->len, ==, 1);
  g_assert_cmpuint(cw_depay_stats(f.d)->bad_packets, ==, 1);
  send_pic(&f, 30001, 7200); /* follows on: tracking restarts here */
  send_pic(&f, 30002, 10800);
  const cw_depay_stats_t *st = cw_depay_stats(f.d);
  g_assert_cmpuint(f.aus->len, ==, 3);
  g_assert_true(au_at(&f, 1)->damaged);
  g_assert_false(au_at(&f, 2)->damaged);
  g_assert_cmpuint(st->highest_seq, ==, 30002);
  g_assert_cmpuint(st->lost, ==, 0);
  fixture_clear(&f);
}

/* ---- payload type and SSRC -------------------------------------------------- */

static void
test_other_payload_type_counted_bad(void)
{
  fixture_t f;
  fixture_init(&f);
  cw_depay_set_payload_type(f.d, 96);
  g_assert_cmpint(send_full(&f, 97, 1, 0, 1, 0), ==, 0);
  g_assert_cmpint(send_full(&f, 96, 2, 3600, 1, 0), ==, 0);
  g_assert_cmpint(send_full(&f, 0, 3, 7200, 1, 0), ==, 0);
  const cw_depay_stats_t *st = cw_depay_stats(f.d);
  g_assert_cmpuint(st->bad_packets, ==, 2);
  g_assert_cmpuint(st->packets, ==, 1);
  g_assert_cmpuint(f.aus->len, ==, 1);
  /* Ignored packets leave no hole in the sequence. */
  g_assert_cmpint(send_full(&f, 96, 4, 10800, 1, 0), ==, 0);
  g_assert_cmpuint(st->lost, ==, 1); /* seq 3 was another PT's */
  fixture_clear(&f);
}

static void
test_first_payload_type_taken(void)
{
  fixture_t f;
  fixture_init(&f);
  g_assert_cmpint(send_full(&f, 98, 1, 0, 1, 0), ==, 0);
  g_assert_cmpint(send_full(&f, 96, 2, 3600, 1, 0), ==, 0);
  g_assert_cmpuint(cw_depay_stats(f.d)->bad_packets, ==, 1);
  g_assert_cmpuint(f.aus->len, ==, 1);
  fixture_clear(&f);
}

static void
test_ssrc_change_resets_and_counts(void)
{
  fixture_t f;
  fixture_init(&f);
  g_assert_cmpint(send_full(&f, 96, 1000, 90000, 0x1111, 0), ==, 0);
  g_assert_cmpint(send_full(&f, 96, 1001, 93600, 0x1111, 0), ==, 0);
  cw_depay_set_wallclock(f.d, 90000, 1700000000000000);
  /* A new source with its own random sequence and timestamp bases. */
  g_assert_cmpint(send_full(&f, 96, 7, 5000000, 0x2222, 0), ==, 0);
  g_assert_cmpint(send_full(&f, 96, 8, 5003600, 0x2222, 0), ==, 0);
  const cw_depay_stats_t *st = cw_depay_stats(f.d);
  g_assert_cmpuint(st->ssrc_changes, ==, 1);
  g_assert_cmpuint(st->ssrc, ==, 0x2222);
  g_assert_cmpuint(st->lost, ==, 0);
  g_assert_cmpuint(st->reordered, ==, 0);
  g_assert_cmpuint(st->highest_seq, ==, 8);
  g_assert_cmpuint(st->timestamp_jumps, ==, 0);
  g_assert_cmpuint(f.aus->len, ==, 4);
  g_assert_cmpuint(au_at(&f, 2)->ssrc, ==, 0x2222);
  g_assert_false(au_at(&f, 2)->damaged);
  /* pts go on from the old source's, a frame later. */
  g_assert_cmpint(au_at(&f, 1)->pts, ==, 93600);
  g_assert_cmpint(au_at(&f, 2)->pts, ==, 97200);
  g_assert_cmpint(au_at(&f, 3)->pts, ==, 100800);
  /* The old source's SR mapping does not apply to the new one. */
  g_assert_cmpint(au_at(&f, 3)->wallclock_us, ==, 0);
  fixture_clear(&f);
}

/* ---- timestamps ------------------------------------------------------------- */

static void
test_timestamp_wrap_keeps_pts_monotonic(void)
{
  fixture_t f;
  fixture_init(&f);
  guint32 ts = 0xffffffffu - 3 * 3600 + 1;
  for (int i = 0; i < 6; i++, ts += 3600)
    send_pic(&f, (guint16)(i + 1), ts);
  g_assert_cmpuint(f.aus->len, ==, 6);
  gint64 first = au_at(&f, 0)->pts;
  g_assert_cmpint(first, ==, (gint64)0xffffffffu - 3 * 3600 + 1);
  for (guint i = 0; i < f.aus->len; i++)
    g_assert_cmpint(au_at(&f, i)->pts, ==, first + (gint64)i * 3600);
  g_assert_cmpint(au_at(&f, 5)->pts, >, (gint64)G_MAXUINT32);
  g_assert_cmpuint(cw_depay_stats(f.d)->timestamp_jumps, ==, 0);
  fixture_clear(&f);
}

static void
test_timestamp_jump_forward_rebases(void)
{
  fixture_t f;
  fixture_init(&f);
  send_pic(&f, 1, 1000);
  send_pic(&f, 2, 4600);
  send_pic(&f, 3, 4600 + 11 * 90000); /* 11 s on */
  send_pic(&f, 4, 4600 + 11 * 90000 + 3600);
  g_assert_cmpuint(cw_depay_stats(f.d)->timestamp_jumps, ==, 1);
  g_assert_cmpint(au_at(&f, 2)->pts, ==, 8200);
  g_assert_cmpint(au_at(&f, 3)->pts, ==, 11800);
  fixture_clear(&f);
}

static void
test_timestamp_jump_backward_rebases(void)
{
  fixture_t f;
  fixture_init(&f);
  send_pic(&f, 1, 900000);
  send_pic(&f, 2, 903600);
  send_pic(&f, 3, 3600); /* 10 s back */
  send_pic(&f, 4, 7200);
  g_assert_cmpuint(cw_depay_stats(f.d)->timestamp_jumps, ==, 1);
  g_assert_cmpint(au_at(&f, 2)->pts, ==, 907200);
  g_assert_cmpint(au_at(&f, 3)->pts, ==, 910800);
  fixture_clear(&f);
}

static void
test_small_backward_step_is_b_frame_order(void)
{
  fixture_t f;
  fixture_init(&f);
  /* I P B B in decode order: presentation times 0, 3, 1, 2 frames. */
  send_pic(&f, 1, 10000);
  send_pic(&f, 2, 10000 + 3 * 3600);
  send_pic(&f, 3, 10000 + 1 * 3600);
  send_pic(&f, 4, 10000 + 2 * 3600);
  g_assert_cmpuint(cw_depay_stats(f.d)->timestamp_jumps, ==, 0);
  g_assert_cmpint(au_at(&f, 1)->pts, ==, 10000 + 3 * 3600);
  g_assert_cmpint(au_at(&f, 2)->pts, ==, 10000 + 1 * 3600);
  g_assert_cmpint(au_at(&f, 3)->pts, ==, 10000 + 2 * 3600);
  fixture_clear(&f);
}

/* ---- jitter and wall clock -------------------------------------------------- */

static void
test_jitter_steady_stream_is_zero(void)
{
  fixture_t f;
  fixture_init(&f);
  for (int i = 0; i < 20; i++)
    g_assert_cmpint(send_full(&f, 96, (guint16)i, (guint32)i * 3600, 5, 1000000 + i * 40000), ==,
                    0);
  g_assert_cmpfloat(cw_depay_stats(f.d)->jitter, <, 0.5);
  fixture_clear(&f);
}

static void
test_jitter_follows_rfc3550(void)
{
  fixture_t f;
  fixture_init(&f);
  /* Second packet 10 ms late (900 ticks): J = 900/16. */
  g_assert_cmpint(send_full(&f, 96, 1, 0, 5, 1000000), ==, 0);
  g_assert_cmpint(send_full(&f, 96, 2, 3600, 5, 1050000), ==, 0);
  g_assert_cmpfloat_with_epsilon(cw_depay_stats(f.d)->jitter, 900.0 / 16, 0.01);
  fixture_clear(&f);
}

static void
test_wallclock_from_sender_report(void)
{
  fixture_t f;
  fixture_init(&f);
  send_pic(&f, 1, 0);
  cw_depay_set_wallclock(f.d, 0xfffffff0u, 1700000000000000);
  send_pic(&f, 2, 90000);
  g_assert_cmpint(au_at(&f, 0)->wallclock_us, ==, 0);
  /* 90016 ticks after the SR's timestamp, across the 32-bit wrap. */
  g_assert_cmpint(au_at(&f, 1)->wallclock_us, ==, 1700000000000000 + 90016 * 1000000LL / 90000);
  fixture_clear(&f);
}

static void
test_new_refuses_other_codecs(void)
{
  g_assert_null(cw_depay_new(CW_CODEC_NONE, 90000, NULL, 0, NULL, NULL));
  cw_depay_free(NULL);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/rtp/parse_plain", test_parse_plain);
  g_test_add_func("/rtp/parse_csrc_extension_padding", test_parse_csrc_extension_padding);
  g_test_add_func("/rtp/parse_refuses_malformed", test_parse_refuses_malformed);
  g_test_add_func("/rtp/unparseable_packet_counted_bad", test_unparseable_packet_counted_bad);
  g_test_add_func("/rtp/seq_wrap_no_loss", test_seq_wrap_no_loss);
  g_test_add_func("/rtp/gap_counts_lost", test_gap_counts_lost);
  g_test_add_func("/rtp/reordered_and_duplicate_counted_and_dropped",
                  test_reordered_and_duplicate_counted_and_dropped);
  g_test_add_func("/rtp/seq_jump_restarts_after_two", test_seq_jump_restarts_after_two);
  g_test_add_func("/rtp/other_payload_type_counted_bad", test_other_payload_type_counted_bad);
  g_test_add_func("/rtp/first_payload_type_taken", test_first_payload_type_taken);
  g_test_add_func("/rtp/ssrc_change_resets_and_counts", test_ssrc_change_resets_and_counts);
  g_test_add_func("/rtp/timestamp_wrap_keeps_pts_monotonic",
                  test_timestamp_wrap_keeps_pts_monotonic);
  g_test_add_func("/rtp/timestamp_jump_forward_rebases", test_timestamp_jump_forward_rebases);
  g_test_add_func("/rtp/timestamp_jump_backward_rebases", test_timestamp_jump_backward_rebases);
  g_test_add_func("/rtp/small_backward_step_is_b_frame_order",
                  test_small_backward_step_is_b_frame_order);
  g_test_add_func("/rtp/jitter_steady_stream_is_zero", test_jitter_steady_stream_is_zero);
  g_test_add_func("/rtp/jitter_follows_rfc3550", test_jitter_follows_rfc3550);
  g_test_add_func("/rtp/wallclock_from_sender_report", test_wallclock_from_sender_report);
  g_test_add_func("/rtp/new_refuses_other_codecs", test_new_refuses_other_codecs);
  return g_test_run();
}
