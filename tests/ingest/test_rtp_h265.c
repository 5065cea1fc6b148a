/* Unit tests for the H.265 depayloader (ingest/rtp_h265.c over rtp.c):
 * single NAL unit packets, aggregation packets with VPS/SPS/PPS,
 * fragmentation units, IRAP detection, parameter sets put in front of
 * keyframes, PACI refused, and the picture size from real x265 SPS units. */
#include "rtp.h"

#include <string.h>

/* Real parameter sets from x265 (ffmpeg testsrc, yuv420p, Main). */
static const guint8 vps[] = {0x40, 0x01, 0x0c, 0x01, 0xff, 0xff, 0x01, 0x60,
                             0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03,
                             0x00, 0x00, 0x03, 0x00, 0x78, 0x95, 0x98, 0x09};
static const guint8 sps_1080p[] = {0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00,
                                   0x00, 0x03, 0x00, 0x00, 0x03, 0x00, 0x78, 0xa0, 0x03, 0xc0, 0x80,
                                   0x10, 0xe5, 0x96, 0x56, 0x69, 0x24, 0xca, 0xf0, 0x16, 0x80, 0x80,
                                   0x00, 0x00, 0x03, 0x00, 0x80, 0x00, 0x00, 0x0c, 0x84};
static const guint8 sps_720p[] = {0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00,
                                  0x00, 0x03, 0x00, 0x00, 0x03, 0x00, 0x5d, 0xa0, 0x02, 0x80, 0x80,
                                  0x2d, 0x16, 0x59, 0x59, 0xa4, 0x93, 0x2b, 0xc0, 0x5a, 0x02, 0x00,
                                  0x00, 0x03, 0x00, 0x02, 0x00, 0x00, 0x03, 0x00, 0x32, 0x10};
/* 1920x1080 4:4:4 (Main 4:4:4 RExt profile). */
static const guint8 sps_1080p_444[] = {
    0x42, 0x01, 0x01, 0x04, 0x08, 0x00, 0x00, 0x03, 0x00, 0x9e, 0x08, 0x00, 0x00, 0x03, 0x00, 0x00,
    0x78, 0x90, 0x00, 0x78, 0x10, 0x02, 0x1c, 0xb2, 0xca, 0xcd, 0x24, 0x99, 0x5e, 0x02, 0xdc, 0x08,
    0x08, 0x00, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x01, 0x90, 0x80};
static const guint8 pps[] = {0x44, 0x01, 0xc1, 0x72, 0xb4, 0x62, 0x40};
static const guint8 idr[] = {0x26, 0x01, 0xaf, 0x06, 0xb8, 0x42}; /* IDR_W_RADL (19) */
static const guint8 trail[] = {0x02, 0x01, 0xd0, 0x09, 0x7e};     /* TRAIL_R (1) */
static const guint8 aud[] = {0x46, 0x01, 0x50};                   /* AUD (35) */

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
  f->d = cw_depay_new(CW_CODEC_H265, 90000, sprop, sprop_len, collect, f);
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
  pkt[8] = 0x55;
  pkt[9] = 0x66;
  pkt[10] = 0x77;
  pkt[11] = 0x88;
  memcpy(pkt + 12, payload, n);
  g_assert_cmpint(cw_depay_push_at(f->d, pkt, 12 + n, 0), ==, 0);
  g_free(pkt);
}

static void
send_array(fixture_t *f, guint16 seq, guint32 ts, gboolean marker, GByteArray *b)
{
  send(f, seq, ts, marker, b->data, b->len);
  g_byte_array_unref(b);
}

static size_t
len_of(const guint8 *n)
{
  if (n == vps)
    return sizeof vps;
  if (n == sps_1080p)
    return sizeof sps_1080p;
  if (n == sps_720p)
    return sizeof sps_720p;
  if (n == pps)
    return sizeof pps;
  if (n == idr)
    return sizeof idr;
  if (n == trail)
    return sizeof trail;
  g_assert_true(n == aud);
  return sizeof aud;
}

static GByteArray *
annexb_of(const guint8 *const *nals, guint count)
{
  GByteArray *b = g_byte_array_new();
  for (guint i = 0; i < count; i++) {
    g_byte_array_append(b, (const guint8[]){0, 0, 0, 1}, 4);
    g_byte_array_append(b, nals[i], (guint)len_of(nals[i]));
  }
  return b;
}

/* ANNEXB(vps, sps_1080p, pps, idr): the expected bytes of an access unit. */
#define ANNEXB(...)                                                                                \
  annexb_of((const guint8 *const[]){__VA_ARGS__},                                                  \
            (guint)G_N_ELEMENTS(((const guint8 *const[]){__VA_ARGS__})))

/* An aggregation packet (type 48) of the NAL units given. */
static GByteArray *
ap_of(const guint8 *const *nals, guint count)
{
  GByteArray *b = g_byte_array_new();
  g_byte_array_append(b, (const guint8[]){48 << 1, 0x01}, 2);
  for (guint i = 0; i < count; i++) {
    size_t n = len_of(nals[i]);
    g_byte_array_append(b, (const guint8[]){(guint8)(n >> 8), (guint8)n}, 2);
    g_byte_array_append(b, nals[i], (guint)n);
  }
  return b;
}

#define AP(...)                                                                                    \
  ap_of((const guint8 *const[]){__VA_ARGS__},                                                      \
        (guint)G_N_ELEMENTS(((const guint8 *const[]){__VA_ARGS__})))

/* An FU (type 49) carrying bytes [from, to) of nal's payload (after its
 * two-byte header). */
static GByteArray *
fu_of(const guint8 *nal, size_t len, size_t from, size_t to)
{
  GByteArray *b = g_byte_array_new();
  guint8 type = (nal[0] >> 1) & 0x3f;
  guint8 h[3] = {(guint8)((nal[0] & 0x81) | (49 << 1)), nal[1],
                 (guint8)(type | (from == 0 ? 0x80 : 0) | (to >= len - 2 ? 0x40 : 0))};
  g_byte_array_append(b, h, 3);
  g_byte_array_append(b, nal + 2 + from, (guint)(to - from));
  return b;
}

static void
assert_au_bytes(cw_access_unit_t *au, GByteArray *want)
{
  g_assert_cmpmem(au->data, au->size, want->data, want->len);
  g_byte_array_unref(want);
}

/* A slice of type t, n bytes. */
static guint8 *
slice_of_type(guint t, size_t n)
{
  guint8 *p = g_malloc(n);
  p[0] = (guint8)(t << 1);
  p[1] = 0x01;
  for (size_t i = 2; i < n; i++)
    p[i] = (guint8)(i % 253 + 1);
  return p;
}

static void
test_single_nal(void)
{
  fixture_t f;
  fixture_init(&f, NULL, 0);
  send(&f, 1, 3600, TRUE, trail, sizeof trail);
  g_assert_cmpuint(f.aus->len, ==, 1);
  cw_access_unit_t *au = au_at(&f, 0);
  assert_au_bytes(au, ANNEXB(trail));
  g_assert_false(au->keyframe);
  g_assert_false(au->damaged);
  g_assert_cmpint(au->codec, ==, CW_CODEC_H265);
  g_assert_cmpuint(au->ssrc, ==, 0x55667788);
  fixture_clear(&f);
}

static void
test_ap_vps_sps_pps_idr(void)
{
  fixture_t f;
  fixture_init(&f, NULL, 0);
  send_array(&f, 1, 0, TRUE, AP(vps, sps_1080p, pps, idr));
  g_assert_cmpuint(f.aus->len, ==, 1);
  cw_access_unit_t *au = au_at(&f, 0);
  g_assert_true(au->keyframe);
  g_assert_false(au->damaged);
  assert_au_bytes(au, ANNEXB(vps, sps_1080p, pps, idr));
  int w, h;
  cw_depay_resolution(f.d, &w, &h);
  g_assert_cmpint(w, ==, 1920);
  g_assert_cmpint(h, ==, 1080);
  fixture_clear(&f);
}

static void
test_ap_truncated_is_damaged(void)
{
  fixture_t f;
  fixture_init(&f, NULL, 0);
  const guint8 bad[] = {0x60, 0x01, 0x00, 0x05, 0x02, 0x01, 0xd0, 0x09, 0x7e, 0x00, 0x20, 0x02};
  send(&f, 1, 0, TRUE, bad, sizeof bad);
  g_assert_cmpuint(f.aus->len, ==, 1);
  g_assert_true(au_at(&f, 0)->damaged);
  assert_au_bytes(au_at(&f, 0), ANNEXB(trail));
  fixture_clear(&f);
}

static void
test_fu_start_middle_end(void)
{
  fixture_t f;
  fixture_init(&f, NULL, 0);
  guint8 *nal = slice_of_type(19, 2500);
  send_array(&f, 1, 0, FALSE, fu_of(nal, 2500, 0, 1000));
  send_array(&f, 2, 0, FALSE, fu_of(nal, 2500, 1000, 2000));
  send_array(&f, 3, 0, TRUE, fu_of(nal, 2500, 2000, 2498));
  g_assert_cmpuint(f.aus->len, ==, 1);
  cw_access_unit_t *au = au_at(&f, 0);
  g_assert_false(au->damaged);
  g_assert_true(au->keyframe);
  g_assert_cmpuint(au->size, ==, 2504);
  g_assert_cmpmem(au->data + 4, 2500, nal, 2500);
  g_free(nal);
  fixture_clear(&f);
}

static void
test_fu_missing_middle_is_damaged(void)
{
  fixture_t f;
  fixture_init(&f, NULL, 0);
  guint8 *nal = slice_of_type(1, 2500);
  send_array(&f, 1, 0, FALSE, fu_of(nal, 2500, 0, 1000));
  send_array(&f, 3, 0, TRUE, fu_of(nal, 2500, 2000, 2498));
  g_assert_cmpuint(f.aus->len, ==, 1);
  g_assert_true(au_at(&f, 0)->damaged);
  g_assert_cmpuint(cw_depay_stats(f.d)->lost, ==, 1);
  g_free(nal);
  fixture_clear(&f);
}

static void
test_irap_types_are_keyframes(void)
{
  for (guint t = 0; t < 32; t++) {
    fixture_t f;
    fixture_init(&f, NULL, 0);
    guint8 *nal = slice_of_type(t, 8);
    send(&f, 1, 0, TRUE, nal, 8);
    g_assert_cmpuint(f.aus->len, ==, 1);
    g_assert_cmpint(au_at(&f, 0)->keyframe, ==, t >= 16 && t <= 23);
    g_free(nal);
    fixture_clear(&f);
  }
}

static void
test_keyframe_gets_vps_sps_pps_prepended(void)
{
  fixture_t f;
  GByteArray *sprop = ANNEXB(vps, sps_720p, pps);
  fixture_init(&f, sprop->data, sprop->len);
  g_byte_array_unref(sprop);
  int w, h;
  cw_depay_resolution(f.d, &w, &h);
  g_assert_cmpint(w, ==, 1280);
  g_assert_cmpint(h, ==, 720);
  send(&f, 1, 0, FALSE, aud, sizeof aud);
  send(&f, 2, 0, TRUE, idr, sizeof idr);
  send(&f, 3, 3600, TRUE, trail, sizeof trail);
  g_assert_cmpuint(f.aus->len, ==, 2);
  assert_au_bytes(au_at(&f, 0), ANNEXB(aud, vps, sps_720p, pps, idr));
  assert_au_bytes(au_at(&f, 1), ANNEXB(trail));
  fixture_clear(&f);
}

static void
test_keyframe_lacking_only_vps_gets_all(void)
{
  fixture_t f;
  GByteArray *sprop = ANNEXB(vps, sps_720p, pps);
  fixture_init(&f, sprop->data, sprop->len);
  g_byte_array_unref(sprop);
  /* In-band SPS and PPS (a new size) without a VPS. */
  send_array(&f, 1, 0, FALSE, AP(sps_1080p, pps));
  send(&f, 2, 0, TRUE, idr, sizeof idr);
  assert_au_bytes(au_at(&f, 0), ANNEXB(vps, sps_1080p, pps, sps_1080p, pps, idr));
  int w, h;
  cw_depay_resolution(f.d, &w, &h);
  g_assert_cmpint(w, ==, 1920);
  g_assert_cmpint(h, ==, 1080);
  fixture_clear(&f);
}

static void
test_paci_refused(void)
{
  fixture_t f;
  fixture_init(&f, NULL, 0);
  const guint8 paci[] = {50 << 1, 0x01, 0x02, 0x00, 0x02, 0x01, 0xd0};
  send(&f, 1, 0, TRUE, paci, sizeof paci);
  g_assert_cmpuint(f.aus->len, ==, 0);
  g_assert_cmpuint(cw_depay_stats(f.d)->bad_packets, ==, 1);
  send(&f, 2, 3600, FALSE, trail, sizeof trail);
  send(&f, 3, 3600, TRUE, paci, sizeof paci);
  g_assert_cmpuint(f.aus->len, ==, 1);
  g_assert_true(au_at(&f, 0)->damaged);
  fixture_clear(&f);
}

static void
test_sps_resolution(void)
{
  static const struct {
    const guint8 *sps;
    size_t len;
    int w, h;
  } cases[] = {
      {sps_1080p, sizeof sps_1080p, 1920, 1080},
      {sps_720p, sizeof sps_720p, 1280, 720},
      {sps_1080p_444, sizeof sps_1080p_444, 1920, 1080},
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    int w = 0, h = 0;
    g_assert_cmpint(cw_h265_sps_resolution(cases[i].sps, cases[i].len, &w, &h), ==, 0);
    g_assert_cmpint(w, ==, cases[i].w);
    g_assert_cmpint(h, ==, cases[i].h);
  }
  int w = 0, h = 0;
  for (size_t n = 0; n < 20; n++)
    g_assert_cmpint(cw_h265_sps_resolution(sps_720p, n, &w, &h), <, 0);
  g_assert_cmpint(cw_h265_sps_resolution(vps, sizeof vps, &w, &h), <, 0);
}

static void
test_sps_conformance_window_crops(void)
{
  /* A hand-made SPS: one sub-layer, 4:2:0, 1920x1088 coded, conformance
   * window bottom offset 4 (x SubHeightC 2 = 8 rows). */
  guint8 sps[64] = {0x42, 0x01};
  size_t bit = 16;
#define PUT(v, n)                                                                                  \
  do {                                                                                             \
    for (int i_ = (n)-1; i_ >= 0; i_--, bit++)                                                     \
      if (((guint64)(v) >> i_) & 1)                                                                \
        sps[bit / 8] |= (guint8)(0x80 >> (bit % 8));                                               \
  } while (0)
#define PUT_UE(v)                                                                                  \
  do {                                                                                             \
    guint64 x_ = (guint64)(v) + 1;                                                                 \
    int n_ = 0;                                                                                    \
    while ((x_ >> n_) > 1)                                                                         \
      n_++;                                                                                        \
    PUT(0, n_);                                                                                    \
    PUT(x_, n_ + 1);                                                                               \
  } while (0)
  PUT(0, 4);    /* vps id */
  PUT(0, 3);    /* max_sub_layers_minus1 */
  PUT(1, 1);    /* temporal_id_nesting */
  PUT(0x01, 8); /* profile space/tier/idc = Main */
  PUT(0x60000000, 32);
  PUT(0, 48);
  PUT(93, 8); /* level */
  PUT_UE(0);  /* sps id */
  PUT_UE(1);  /* chroma 4:2:0 */
  PUT_UE(1920);
  PUT_UE(1088);
  PUT(1, 1); /* conformance window */
  PUT_UE(0);
  PUT_UE(0);
  PUT_UE(0);
  PUT_UE(4);
  PUT(1, 1);
#undef PUT
#undef PUT_UE
  int w = 0, h = 0;
  g_assert_cmpint(cw_h265_sps_resolution(sps, bit / 8 + 1, &w, &h), ==, 0);
  g_assert_cmpint(w, ==, 1920);
  g_assert_cmpint(h, ==, 1080);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/rtp_h265/single_nal", test_single_nal);
  g_test_add_func("/rtp_h265/ap_vps_sps_pps_idr", test_ap_vps_sps_pps_idr);
  g_test_add_func("/rtp_h265/ap_truncated_is_damaged", test_ap_truncated_is_damaged);
  g_test_add_func("/rtp_h265/fu_start_middle_end", test_fu_start_middle_end);
  g_test_add_func("/rtp_h265/fu_missing_middle_is_damaged", test_fu_missing_middle_is_damaged);
  g_test_add_func("/rtp_h265/irap_types_are_keyframes", test_irap_types_are_keyframes);
  g_test_add_func("/rtp_h265/keyframe_gets_vps_sps_pps_prepended",
                  test_keyframe_gets_vps_sps_pps_prepended);
  g_test_add_func("/rtp_h265/keyframe_lacking_only_vps_gets_all",
                  test_keyframe_lacking_only_vps_gets_all);
  g_test_add_func("/rtp_h265/paci_refused", test_paci_refused);
  g_test_add_func("/rtp_h265/sps_resolution", test_sps_resolution);
  g_test_add_func("/rtp_h265/sps_conformance_window_crops", test_sps_conformance_window_crops);
  return g_test_run();
}
