/* Unit tests for the H.264 depayloader (ingest/rtp_h264.c over rtp.c):
 * the RFC 6184 packetisations, damage from loss, access-unit boundaries,
 * parameter sets put in front of keyframes, the oversize limit, and the
 * picture size from real x264 SPS units. Packets are built by hand. */
#include "rtp.h"

#include <string.h>

/* Real SPS/PPS from x264 (ffmpeg testsrc, yuv420p, High profile). */
static const guint8 sps_720p[] = {0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0x50, 0x05,
                                  0xbb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00,
                                  0x00, 0x03, 0x03, 0x20, 0xf1, 0x83, 0x19, 0x60};
static const guint8 sps_1080p[] = {0x67, 0x64, 0x00, 0x28, 0xac, 0xd9, 0x40, 0x78, 0x02,
                                   0x27, 0xe5, 0xc0, 0x44, 0x00, 0x00, 0x03, 0x00, 0x04,
                                   0x00, 0x00, 0x03, 0x00, 0xc8, 0x3c, 0x60, 0xc6, 0x58};
/* The same sizes encoded 4:4:4 (High 4:4:4 Predictive, profile_idc 244). */
static const guint8 sps_720p_444[] = {0x67, 0xf4, 0x00, 0x1f, 0x91, 0x9b, 0x28, 0x0a, 0x00,
                                      0xb7, 0x60, 0x22, 0x00, 0x00, 0x03, 0x00, 0x02, 0x00,
                                      0x00, 0x03, 0x00, 0x64, 0x1e, 0x30, 0x63, 0x2c};
static const guint8 sps_1080p_444[] = {0x67, 0xf4, 0x00, 0x28, 0x91, 0x9b, 0x28, 0x0f, 0x00,
                                       0x44, 0xfc, 0x4e, 0x02, 0x20, 0x00, 0x00, 0x03, 0x00,
                                       0x20, 0x00, 0x00, 0x06, 0x41, 0xe3, 0x06, 0x32, 0xc0};
static const guint8 pps[] = {0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0};
static const guint8 idr[] = {0x65, 0x88, 0x84, 0x00, 0x33, 0xff};
static const guint8 non_idr[] = {0x41, 0x9a, 0x21, 0x6c, 0x41};
static const guint8 aud[] = {0x09, 0xf0};

/* ---- helpers ------------------------------------------------------------- */

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
fixture_init(fixture_t *f, const guint8 *sprop, size_t sprop_len)
{
  f->aus = g_ptr_array_new_with_free_func((GDestroyNotify)cw_access_unit_unref);
  f->d = cw_depay_new(CW_CODEC_H264, 90000, sprop, sprop_len, collect, f);
  g_assert_nonnull(f->d);
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

/* Sends one RTP packet (PT 96, SSRC 0x11223344) carrying payload. */
static void
send(fixture_t *f, guint16 seq, guint32 ts, gboolean marker, const guint8 *payload, size_t n)
{
  guint8 *pkt = g_malloc(12 + n);
  pkt[0] = 0x80;
  pkt[1] = (guint8)((marker ? 0x80 : 0) | 96);
  pkt[2] = (guint8)(seq >> 8);
  pkt[3] = (guint8)seq;
  pkt[4] = (guint8)(ts >> 24);
  pkt[5] = (guint8)(ts >> 16);
  pkt[6] = (guint8)(ts >> 8);
  pkt[7] = (guint8)ts;
  pkt[8] = 0x11;
  pkt[9] = 0x22;
  pkt[10] = 0x33;
  pkt[11] = 0x44;
  memcpy(pkt + 12, payload, n);
  g_assert_cmpint(cw_depay_push_at(f->d, pkt, 12 + n, 0), ==, 0);
  g_free(pkt);
}

/* Annex B of the NAL units given, each with a 4-byte start code. */
static GByteArray *
annexb(const guint8 *const *nals, const size_t *lens, guint count)
{
  GByteArray *b = g_byte_array_new();
  static const guint8 sc[4] = {0, 0, 0, 1};
  for (guint i = 0; i < count; i++) {
    g_byte_array_append(b, sc, 4);
    g_byte_array_append(b, nals[i], (guint)lens[i]);
  }
  return b;
}

/* Length of one of the test NAL units above, found by address. */
static size_t
len_of(const guint8 *n)
{
  if (n == sps_720p)
    return sizeof sps_720p;
  if (n == sps_1080p)
    return sizeof sps_1080p;
  if (n == pps)
    return sizeof pps;
  if (n == idr)
    return sizeof idr;
  if (n == non_idr)
    return sizeof non_idr;
  g_assert_true(n == aud);
  return sizeof aud;
}

static GByteArray *
annexb_of(const guint8 *const *nals, guint count)
{
  size_t lens[16];
  g_assert_cmpuint(count, <=, 16);
  for (guint i = 0; i < count; i++)
    lens[i] = len_of(nals[i]);
  return annexb(nals, lens, count);
}

/* ANNEXB(sps_720p, pps, idr): the expected bytes of an access unit. */
#define ANNEXB(...)                                                                                \
  annexb_of((const guint8 *const[]){__VA_ARGS__},                                                  \
            (guint)G_N_ELEMENTS(((const guint8 *const[]){__VA_ARGS__})))

static void
assert_au_bytes(cw_access_unit_t *au, GByteArray *want)
{
  g_assert_cmpmem(au->data, au->size, want->data, want->len);
  g_byte_array_unref(want);
}

/* STAP-A payload of the NAL units given. */
static GByteArray *
stap_a(const guint8 *const *nals, const size_t *lens, guint count)
{
  GByteArray *b = g_byte_array_new();
  guint8 hdr = 24 | 0x60;
  g_byte_array_append(b, &hdr, 1);
  for (guint i = 0; i < count; i++) {
    guint8 sz[2] = {(guint8)(lens[i] >> 8), (guint8)lens[i]};
    g_byte_array_append(b, sz, 2);
    g_byte_array_append(b, nals[i], (guint)lens[i]);
  }
  return b;
}

/* FU-A fragment of nal: bytes [from, to) of its payload (after its header). */
static GByteArray *
fu_a(const guint8 *nal, size_t len, size_t from, size_t to)
{
  GByteArray *b = g_byte_array_new();
  size_t body = len - 1;
  guint8 ind = (guint8)((nal[0] & 0xe0) | 28);
  guint8 hdr = (guint8)((nal[0] & 0x1f) | (from == 0 ? 0x80 : 0) | (to >= body ? 0x40 : 0));
  g_byte_array_append(b, &ind, 1);
  g_byte_array_append(b, &hdr, 1);
  g_byte_array_append(b, nal + 1 + from, (guint)(to - from));
  return b;
}

static void
send_array(fixture_t *f, guint16 seq, guint32 ts, gboolean marker, GByteArray *b)
{
  send(f, seq, ts, marker, b->data, b->len);
  g_byte_array_unref(b);
}

/* An IDR slice of n bytes (0x65, then a counting pattern). */
static guint8 *
big_idr(size_t n)
{
  guint8 *p = g_malloc(n);
  p[0] = 0x65;
  for (size_t i = 1; i < n; i++)
    p[i] = (guint8)(i % 251 + 1);
  return p;
}

/* ---- packetisations ------------------------------------------------------ */

static void
test_single_nal(void)
{
  fixture_t f;
  fixture_init(&f, NULL, 0);
  send(&f, 1, 3000, TRUE, non_idr, sizeof non_idr);
  g_assert_cmpuint(f.aus->len, ==, 1);
  cw_access_unit_t *au = au_at(&f, 0);
  assert_au_bytes(au, ANNEXB(non_idr));
  g_assert_false(au->keyframe);
  g_assert_false(au->damaged);
  g_assert_cmpint(au->pts, ==, 3000);
  g_assert_cmpuint(au->clock_rate, ==, 90000);
  g_assert_cmpuint(au->ssrc, ==, 0x11223344);
  g_assert_cmpint(au->codec, ==, CW_CODEC_H264);
  g_assert_cmpint(au->wallclock_us, ==, 0);
  fixture_clear(&f);
}

static void
test_stap_a_sps_pps_idr(void)
{
  fixture_t f;
  fixture_init(&f, NULL, 0);
  send_array(&f, 1, 0, TRUE,
             stap_a((const guint8 *const[]){sps_720p, pps, idr},
                    (const size_t[]){sizeof sps_720p, sizeof pps, sizeof idr}, 3));
  g_assert_cmpuint(f.aus->len, ==, 1);
  cw_access_unit_t *au = au_at(&f, 0);
  g_assert_true(au->keyframe);
  g_assert_false(au->damaged);
  /* Already has its parameter sets: nothing added. */
  assert_au_bytes(au, ANNEXB(sps_720p, pps, idr));
  int w, h;
  cw_depay_resolution(f.d, &w, &h);
  g_assert_cmpint(w, ==, 1280);
  g_assert_cmpint(h, ==, 720);
  g_assert_cmpuint(cw_depay_stats(f.d)->keyframes, ==, 1);
  fixture_clear(&f);
}

static void
test_stap_a_truncated_is_damaged(void)
{
  fixture_t f;
  fixture_init(&f, NULL, 0);
  const guint8 bad[] = {0x78, 0x00, 0x02, 0x41, 0x9a, 0x00, 0x09, 0x41};
  send(&f, 1, 0, TRUE, bad, sizeof bad);
  g_assert_cmpuint(f.aus->len, ==, 1);
  g_assert_true(au_at(&f, 0)->damaged);
  assert_au_bytes(au_at(&f, 0), annexb((const guint8 *const[]){bad + 3}, (const size_t[]){2}, 1));
  fixture_clear(&f);
}

static void
test_fu_a_start_middle_end(void)
{
  fixture_t f;
  fixture_init(&f, NULL, 0);
  guint8 *nal = big_idr(3000);
  send_array(&f, 10, 90, FALSE, fu_a(nal, 3000, 0, 1000));
  send_array(&f, 11, 90, FALSE, fu_a(nal, 3000, 1000, 2000));
  g_assert_cmpuint(f.aus->len, ==, 0);
  send_array(&f, 12, 90, TRUE, fu_a(nal, 3000, 2000, 2999));
  g_assert_cmpuint(f.aus->len, ==, 1);
  cw_access_unit_t *au = au_at(&f, 0);
  assert_au_bytes(au, annexb((const guint8 *const[]){nal}, (const size_t[]){3000}, 1));
  g_assert_true(au->keyframe);
  g_assert_false(au->damaged);
  g_free(nal);
  fixture_clear(&f);
}

static void
test_fu_a_missing_middle_is_damaged(void)
{
  fixture_t f;
  fixture_init(&f, NULL, 0);
  guint8 *nal = big_idr(3000);
  send_array(&f, 10, 90, FALSE, fu_a(nal, 3000, 0, 1000));
  send_array(&f, 12, 90, TRUE, fu_a(nal, 3000, 2000, 2999));
  g_assert_cmpuint(f.aus->len, ==, 1);
  cw_access_unit_t *au = au_at(&f, 0);
  g_assert_true(au->damaged);
  g_assert_true(au->keyframe);
  /* The fragment before the gap, never the one after it. */
  assert_au_bytes(au, annexb((const guint8 *const[]){nal}, (const size_t[]){1001}, 1));
  const cw_depay_stats_t *st = cw_depay_stats(f.d);
  g_assert_cmpuint(st->lost, ==, 1);
  g_assert_cmpuint(st->damaged_aus, ==, 1);
  g_free(nal);
  fixture_clear(&f);
}

static void
test_fu_a_missing_start_is_damaged(void)
{
  fixture_t f;
  fixture_init(&f, NULL, 0);
  guint8 *nal = big_idr(3000);
  send(&f, 9, 0, TRUE, non_idr, sizeof non_idr);
  /* seq 10 (the start) lost. */
  send_array(&f, 11, 90, FALSE, fu_a(nal, 3000, 1000, 2000));
  send_array(&f, 12, 90, TRUE, fu_a(nal, 3000, 2000, 2999));
  /* Nothing of the picture is left: not passed on, counted dropped. */
  g_assert_cmpuint(f.aus->len, ==, 1);
  g_assert_false(au_at(&f, 0)->damaged);
  const cw_depay_stats_t *st = cw_depay_stats(f.d);
  g_assert_cmpuint(st->lost, ==, 1);
  g_assert_cmpuint(st->dropped_aus, ==, 1);
  g_assert_cmpuint(st->aus, ==, 1);
  g_free(nal);
  fixture_clear(&f);
}

static void
test_fu_a_without_start_and_no_gap_is_damaged(void)
{
  fixture_t f;
  fixture_init(&f, NULL, 0);
  guint8 *nal = big_idr(300);
  /* The very first packet is a middle fragment: nothing says loss, but it
   * has no start. */
  send_array(&f, 11, 90, TRUE, fu_a(nal, 300, 100, 299));
  send(&f, 12, 180, TRUE, non_idr, sizeof non_idr);
  g_assert_cmpuint(f.aus->len, ==, 1);
  g_assert_false(au_at(&f, 0)->damaged);
  g_assert_cmpuint(cw_depay_stats(f.d)->dropped_aus, ==, 1);
  g_free(nal);
  fixture_clear(&f);
}

static void
test_fu_a_unfinished_at_marker_is_damaged(void)
{
  fixture_t f;
  fixture_init(&f, NULL, 0);
  guint8 *nal = big_idr(300);
  send(&f, 1, 90, FALSE, aud, sizeof aud);
  send_array(&f, 2, 90, TRUE, fu_a(nal, 300, 0, 100));
  g_assert_cmpuint(f.aus->len, ==, 1);
  g_assert_true(au_at(&f, 0)->damaged);
  /* What came of the unfinished NAL is kept, in a damaged unit. */
  GByteArray *want = ANNEXB(aud);
  g_byte_array_append(want, (const guint8[]){0, 0, 0, 1}, 4);
  g_byte_array_append(want, nal, 101);
  assert_au_bytes(au_at(&f, 0), want);
  g_free(nal);
  fixture_clear(&f);
}

/* ---- access-unit boundaries ---------------------------------------------- */

static void
test_timestamp_change_without_marker_ends_au(void)
{
  fixture_t f;
  fixture_init(&f, NULL, 0);
  send(&f, 1, 0, FALSE, non_idr, sizeof non_idr);
  send(&f, 2, 0, FALSE, non_idr, sizeof non_idr);
  g_assert_cmpuint(f.aus->len, ==, 0);
  send(&f, 3, 3600, FALSE, non_idr, sizeof non_idr);
  g_assert_cmpuint(f.aus->len, ==, 1);
  assert_au_bytes(au_at(&f, 0), ANNEXB(non_idr, non_idr));
  g_assert_false(au_at(&f, 0)->damaged);
  g_assert_cmpint(au_at(&f, 0)->pts, ==, 0);
  cw_depay_flush(f.d);
  g_assert_cmpuint(f.aus->len, ==, 2);
  g_assert_cmpint(au_at(&f, 1)->pts, ==, 3600);
  fixture_clear(&f);
}

static void
test_gap_between_aus_damages_next(void)
{
  fixture_t f;
  fixture_init(&f, NULL, 0);
  send(&f, 1, 0, TRUE, non_idr, sizeof non_idr);
  send(&f, 3, 7200, TRUE, non_idr, sizeof non_idr);
  send(&f, 4, 10800, TRUE, non_idr, sizeof non_idr);
  g_assert_cmpuint(f.aus->len, ==, 3);
  g_assert_false(au_at(&f, 0)->damaged);
  g_assert_true(au_at(&f, 1)->damaged);
  g_assert_false(au_at(&f, 2)->damaged);
  fixture_clear(&f);
}

static void
test_gap_at_timestamp_change_damages_both(void)
{
  fixture_t f;
  fixture_init(&f, NULL, 0);
  send(&f, 1, 0, FALSE, non_idr, sizeof non_idr);
  send(&f, 3, 3600, TRUE, non_idr, sizeof non_idr);
  g_assert_cmpuint(f.aus->len, ==, 2);
  g_assert_true(au_at(&f, 0)->damaged);
  g_assert_true(au_at(&f, 1)->damaged);
  fixture_clear(&f);
}

/* ---- parameter sets ------------------------------------------------------ */

static void
test_keyframe_gets_sdp_param_sets_prepended(void)
{
  fixture_t f;
  GByteArray *sprop = ANNEXB(sps_720p, pps);
  fixture_init(&f, sprop->data, sprop->len);
  g_byte_array_unref(sprop);
  int w, h;
  cw_depay_resolution(f.d, &w, &h);
  g_assert_cmpint(w, ==, 1280);
  g_assert_cmpint(h, ==, 720);
  send(&f, 1, 0, TRUE, idr, sizeof idr);
  send(&f, 2, 3600, TRUE, non_idr, sizeof non_idr);
  send(&f, 3, 7200, TRUE, idr, sizeof idr);
  g_assert_cmpuint(f.aus->len, ==, 3);
  assert_au_bytes(au_at(&f, 0), ANNEXB(sps_720p, pps, idr));
  assert_au_bytes(au_at(&f, 1), ANNEXB(non_idr));
  assert_au_bytes(au_at(&f, 2), ANNEXB(sps_720p, pps, idr));
  g_assert_cmpuint(cw_depay_stats(f.d)->keyframes, ==, 2);
  fixture_clear(&f);
}

static void
test_sprop_with_three_byte_start_codes(void)
{
  fixture_t f;
  GByteArray *sprop = g_byte_array_new();
  g_byte_array_append(sprop, (const guint8[]){0, 0, 1}, 3);
  g_byte_array_append(sprop, sps_1080p, sizeof sps_1080p);
  g_byte_array_append(sprop, (const guint8[]){0, 0, 1}, 3);
  g_byte_array_append(sprop, pps, sizeof pps);
  fixture_init(&f, sprop->data, sprop->len);
  g_byte_array_unref(sprop);
  send(&f, 1, 0, TRUE, idr, sizeof idr);
  assert_au_bytes(au_at(&f, 0), ANNEXB(sps_1080p, pps, idr));
  fixture_clear(&f);
}

static void
test_param_sets_go_after_leading_aud(void)
{
  fixture_t f;
  GByteArray *sprop = ANNEXB(sps_720p, pps);
  fixture_init(&f, sprop->data, sprop->len);
  g_byte_array_unref(sprop);
  send(&f, 1, 0, FALSE, aud, sizeof aud);
  send(&f, 2, 0, TRUE, idr, sizeof idr);
  assert_au_bytes(au_at(&f, 0), ANNEXB(aud, sps_720p, pps, idr));
  fixture_clear(&f);
}

static void
test_in_band_param_sets_replace_sdp_ones(void)
{
  fixture_t f;
  GByteArray *sprop = ANNEXB(sps_720p, pps);
  fixture_init(&f, sprop->data, sprop->len);
  g_byte_array_unref(sprop);
  send(&f, 1, 0, FALSE, sps_1080p, sizeof sps_1080p);
  send(&f, 2, 0, FALSE, pps, sizeof pps);
  send(&f, 3, 0, TRUE, idr, sizeof idr);
  send(&f, 4, 3600, TRUE, idr, sizeof idr);
  g_assert_cmpuint(f.aus->len, ==, 2);
  assert_au_bytes(au_at(&f, 0), ANNEXB(sps_1080p, pps, idr));
  assert_au_bytes(au_at(&f, 1), ANNEXB(sps_1080p, pps, idr));
  int w, h;
  cw_depay_resolution(f.d, &w, &h);
  g_assert_cmpint(w, ==, 1920);
  g_assert_cmpint(h, ==, 1080);
  fixture_clear(&f);
}

static void
test_keyframe_without_any_param_sets_passes(void)
{
  fixture_t f;
  fixture_init(&f, NULL, 0);
  send(&f, 1, 0, TRUE, idr, sizeof idr);
  g_assert_true(au_at(&f, 0)->keyframe);
  assert_au_bytes(au_at(&f, 0), ANNEXB(idr));
  int w = -1, h = -1;
  cw_depay_resolution(f.d, &w, &h);
  g_assert_cmpint(w, ==, 0);
  g_assert_cmpint(h, ==, 0);
  fixture_clear(&f);
}

/* ---- limits ------------------------------------------------------------- */

static void
test_oversize_au_dropped(void)
{
  fixture_t f;
  fixture_init(&f, NULL, 0);
  size_t chunk = 60000, total = CW_RTP_MAX_AU_BYTES + chunk;
  guint8 *nal = big_idr(total + 1);
  guint16 seq = 1;
  for (size_t off = 0; off < total; off += chunk) {
    size_t to = MIN(off + chunk, total);
    send_array(&f, seq++, 0, to == total, fu_a(nal, total + 1, off, to));
  }
  send(&f, seq++, 3600, TRUE, non_idr, sizeof non_idr);
  g_assert_cmpuint(f.aus->len, ==, 1);
  assert_au_bytes(au_at(&f, 0), ANNEXB(non_idr));
  const cw_depay_stats_t *st = cw_depay_stats(f.d);
  g_assert_cmpuint(st->dropped_aus, ==, 1);
  g_assert_cmpuint(st->aus, ==, 1);
  g_free(nal);
  fixture_clear(&f);
}

static void
test_interleaved_mode_types_counted_bad(void)
{
  fixture_t f;
  fixture_init(&f, NULL, 0);
  const guint8 fu_b[] = {0x7d, 0x85, 0x00, 0x01, 0xaa};
  send(&f, 1, 0, TRUE, fu_b, sizeof fu_b);
  g_assert_cmpuint(cw_depay_stats(f.d)->bad_packets, ==, 1);
  g_assert_cmpuint(f.aus->len, ==, 0);
  g_assert_cmpuint(cw_depay_stats(f.d)->dropped_aus, ==, 1);
  fixture_clear(&f);
}

/* ---- SPS ----------------------------------------------------------------- */

static void
test_sps_resolution(void)
{
  static const struct {
    const guint8 *sps;
    size_t len;
    int w, h;
  } cases[] = {
      {sps_720p, sizeof sps_720p, 1280, 720},
      {sps_1080p, sizeof sps_1080p, 1920, 1080}, /* 1088 cropped by 8 */
      {sps_720p_444, sizeof sps_720p_444, 1280, 720},
      {sps_1080p_444, sizeof sps_1080p_444, 1920, 1080},
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    int w = 0, h = 0;
    g_assert_cmpint(cw_h264_sps_resolution(cases[i].sps, cases[i].len, &w, &h), ==, 0);
    g_assert_cmpint(w, ==, cases[i].w);
    g_assert_cmpint(h, ==, cases[i].h);
  }
}

static void
test_sps_truncated_refused(void)
{
  int w = 0, h = 0;
  for (size_t n = 0; n < 9; n++)
    g_assert_cmpint(cw_h264_sps_resolution(sps_720p, n, &w, &h), <, 0);
  g_assert_cmpint(cw_h264_sps_resolution(pps, sizeof pps, &w, &h), <, 0);
  g_assert_cmpint(w, ==, 0);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/rtp_h264/single_nal", test_single_nal);
  g_test_add_func("/rtp_h264/stap_a_sps_pps_idr", test_stap_a_sps_pps_idr);
  g_test_add_func("/rtp_h264/stap_a_truncated_is_damaged", test_stap_a_truncated_is_damaged);
  g_test_add_func("/rtp_h264/fu_a_start_middle_end", test_fu_a_start_middle_end);
  g_test_add_func("/rtp_h264/fu_a_missing_middle_is_damaged", test_fu_a_missing_middle_is_damaged);
  g_test_add_func("/rtp_h264/fu_a_missing_start_is_damaged", test_fu_a_missing_start_is_damaged);
  g_test_add_func("/rtp_h264/fu_a_without_start_and_no_gap_is_damaged",
                  test_fu_a_without_start_and_no_gap_is_damaged);
  g_test_add_func("/rtp_h264/fu_a_unfinished_at_marker_is_damaged",
                  test_fu_a_unfinished_at_marker_is_damaged);
  g_test_add_func("/rtp_h264/timestamp_change_without_marker_ends_au",
                  test_timestamp_change_without_marker_ends_au);
  g_test_add_func("/rtp_h264/gap_between_aus_damages_next", test_gap_between_aus_damages_next);
  g_test_add_func("/rtp_h264/gap_at_timestamp_change_damages_both",
                  test_gap_at_timestamp_change_damages_both);
  g_test_add_func("/rtp_h264/keyframe_gets_sdp_param_sets_prepended",
                  test_keyframe_gets_sdp_param_sets_prepended);
  g_test_add_func("/rtp_h264/sprop_with_three_byte_start_codes",
                  test_sprop_with_three_byte_start_codes);
  g_test_add_func("/rtp_h264/param_sets_go_after_leading_aud",
                  test_param_sets_go_after_leading_aud);
  g_test_add_func("/rtp_h264/in_band_param_sets_replace_sdp_ones",
                  test_in_band_param_sets_replace_sdp_ones);
  g_test_add_func("/rtp_h264/keyframe_without_any_param_sets_passes",
                  test_keyframe_without_any_param_sets_passes);
  g_test_add_func("/rtp_h264/oversize_au_dropped", test_oversize_au_dropped);
  g_test_add_func("/rtp_h264/interleaved_mode_types_counted_bad",
                  test_interleaved_mode_types_counted_bad);
  g_test_add_func("/rtp_h264/sps_resolution", test_sps_resolution);
  g_test_add_func("/rtp_h264/sps_truncated_refused", test_sps_truncated_refused);
  return g_test_run();
}
