/* Inside the depayloader: what rtp.c (sequence, timestamps, access-unit
 * assembly, parameter sets) shares with the codec files rtp_h264.c and
 * rtp_h265.c (payload formats, NAL types, SPS parsing). Not a public API. */
#ifndef CW_RTP_DEPAY_PRIV_H
#define CW_RTP_DEPAY_PRIV_H

#include "rtp.h"

/* What a NAL unit is to the access-unit assembly. */
typedef enum {
  CW_NAL_OTHER = 0,
  CW_NAL_VPS,
  CW_NAL_SPS,
  CW_NAL_PPS,
  CW_NAL_AUD,
  CW_NAL_KEY, /* a slice of a keyframe: IDR or IRAP */
} cw_nal_kind_t;

/* NAL building, used by the payload parsers. A NAL is begun, appended to
 * (FU fragments) and ended; nal_whole does all three. */
void cw_depay_nal_begin(cw_depay_t *d);
void cw_depay_nal_append(cw_depay_t *d, const guint8 *data, size_t len);
void cw_depay_nal_end(cw_depay_t *d);
void cw_depay_nal_whole(cw_depay_t *d, const guint8 *nal, size_t len);
/* One fragment of a fragmentation unit (H.264 FU-A, H.265 FU): fu_header
 * carries the start (0x80) and end (0x40) bits; at a start the NAL begins
 * with nal_header; a middle or end whose start was lost damages the unit. */
void cw_depay_fragment(cw_depay_t *d, guint8 fu_header, const guint8 *nal_header, size_t header_len,
                       const guint8 *frag, size_t frag_len);
/* An aggregation packet (H.264 STAP-A, H.265 AP): header_len bytes of
 * header, then NAL units of at least min_nal bytes, each preceded by a
 * 16-bit size. A bad size spoils the rest of the packet (damaged). */
void cw_depay_aggregate(cw_depay_t *d, const guint8 *p, size_t n, size_t header_len,
                        size_t min_nal);
gboolean cw_depay_nal_open(const cw_depay_t *d);
/* Ends the NAL begun and not ended as it is (an interrupted fragmentation
 * unit) and marks the access unit damaged; nothing when none is open. */
void cw_depay_nal_cut(cw_depay_t *d);
/* The access unit in progress lost something. */
void cw_depay_damage(cw_depay_t *d);
/* A payload structure this code does not take (interleaved mode, PACI). */
void cw_depay_unsupported(cw_depay_t *d);

/* Per codec: the payload of one accepted packet, and what a NAL unit is. */
void cw_depay_h264_payload(cw_depay_t *d, const guint8 *p, size_t n);
cw_nal_kind_t cw_depay_h264_nal_kind(const guint8 *nal, size_t len);
void cw_depay_h265_payload(cw_depay_t *d, const guint8 *p, size_t n);
cw_nal_kind_t cw_depay_h265_nal_kind(const guint8 *nal, size_t len);

/* ---- RBSP bit reader for the SPS ---------------------------------------- */

typedef struct {
  guint8 *buf; /* RBSP: emulation prevention removed, owned */
  size_t len;
  size_t bit;
  gboolean overrun; /* read past the end: the values read are garbage */
} cw_bits_t;

/* Copies nal[skip..len) into b removing emulation prevention bytes. */
static inline void
cw_bits_init(cw_bits_t *b, const guint8 *nal, size_t len, size_t skip)
{
  b->buf = g_malloc(len > skip ? len - skip : 1);
  b->len = 0;
  b->bit = 0;
  b->overrun = FALSE;
  guint zeros = 0;
  for (size_t i = skip; i < len; i++) {
    if (zeros >= 2 && nal[i] == 3) {
      zeros = 0;
      continue;
    }
    zeros = nal[i] == 0 ? zeros + 1 : 0;
    b->buf[b->len++] = nal[i];
  }
}

static inline void
cw_bits_clear(cw_bits_t *b)
{
  g_free(b->buf);
  b->buf = NULL;
}

static inline guint32
cw_bits_u(cw_bits_t *b, guint n)
{
  guint32 v = 0;
  for (guint i = 0; i < n; i++) {
    guint bitv = 0;
    if (b->bit < b->len * 8)
      bitv = (b->buf[b->bit / 8] >> (7 - b->bit % 8)) & 1;
    else
      b->overrun = TRUE;
    b->bit++;
    v = (v << 1) | bitv;
  }
  return v;
}

static inline void
cw_bits_skip(cw_bits_t *b, size_t n)
{
  b->bit += n;
  if (b->bit > b->len * 8)
    b->overrun = TRUE;
}

/* Exp-Golomb ue(v); values above 2^31 - 2 set overrun. */
static inline guint32
cw_bits_ue(cw_bits_t *b)
{
  guint zeros = 0;
  while (cw_bits_u(b, 1) == 0) {
    if (b->overrun || ++zeros > 31) {
      b->overrun = TRUE;
      return 0;
    }
  }
  if (zeros == 0)
    return 0;
  guint64 v = ((guint64)1 << zeros) - 1 + cw_bits_u(b, zeros);
  if (v > G_MAXINT32) {
    b->overrun = TRUE;
    return 0;
  }
  return (guint32)v;
}

static inline gint32
cw_bits_se(cw_bits_t *b)
{
  guint32 k = cw_bits_ue(b);
  return (k & 1) ? (gint32)((k + 1) / 2) : -(gint32)(k / 2);
}

#endif
