/* packetize.c: RTP packetisation of H.264 (RFC 6184: single NAL, STAP-A,
 * FU-A) and H.265 (RFC 7798: single NAL, AP, FU), and RTCP sender reports
 * (RFC 3550). */
#include "camsim.h"

#include <string.h>
#include <sys/time.h>

#define RTP_HDR 12
#define PT 96
#define MAX_PKT 65536

typedef struct {
  const cs_clip_t *clip;
  uint32_t ts;
  size_t mtu;
  cs_rtp_state_t *st;
  cs_packet_fn fn;
  void *user;
  uint8_t pkt[MAX_PKT];
  size_t len; /* bytes of payload in pkt after the header */
} pz_t;

static void
put16(uint8_t *p, uint32_t v)
{
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

static void
emit(pz_t *z, bool marker)
{
  uint8_t *h = z->pkt;
  h[0] = 0x80;
  h[1] = (uint8_t)((marker ? 0x80 : 0) | PT);
  put16(h + 2, z->st->seq++);
  put32(h + 4, z->ts);
  put32(h + 8, z->st->ssrc);
  z->st->packets++;
  z->st->octets += (uint32_t)z->len;
  z->fn(z->pkt, RTP_HDR + z->len, z->user);
  z->len = 0;
}

static size_t
hdr_len(const pz_t *z)
{
  return z->clip->codec == CS_CODEC_H265 ? 2 : 1;
}

/* Fragments one NAL that does not fit into FU-A / FU packets. */
static void
fragment(pz_t *z, const cs_nal_t *n, bool last_nal)
{
  bool h265 = z->clip->codec == CS_CODEC_H265;
  size_t hl = hdr_len(z), room = z->mtu - RTP_HDR - hl - 1;
  const uint8_t *p = n->data + hl;
  size_t left = n->len - hl;
  uint8_t type = h265 ? (n->data[0] >> 1) & 0x3f : n->data[0] & 0x1f;
  bool first = true;
  while (left > 0) {
    size_t chunk = left < room ? left : room;
    uint8_t *o = z->pkt + RTP_HDR;
    if (h265) {
      o[0] = (uint8_t)((n->data[0] & 0x81) | (49 << 1));
      o[1] = n->data[1];
    } else {
      o[0] = (uint8_t)((n->data[0] & 0xe0) | 28);
    }
    o[hl] = (uint8_t)((first ? 0x80 : 0) | (chunk == left ? 0x40 : 0) | type);
    memcpy(o + hl + 1, p, chunk);
    z->len = hl + 1 + chunk;
    p += chunk;
    left -= chunk;
    first = false;
    emit(z, last_nal && left == 0);
  }
}

/* Sends NALs [from, to) as one STAP-A / AP packet. */
static void
aggregate(pz_t *z, const cs_nal_t *nals, guint from, guint to, bool last)
{
  bool h265 = z->clip->codec == CS_CODEC_H265;
  uint8_t *o = z->pkt + RTP_HDR;
  uint8_t fnri = 0, layer = 0x7f, tid = 0x07;
  size_t off = hdr_len(z);
  for (guint i = from; i < to; i++) {
    const cs_nal_t *n = &nals[i];
    if (h265) {
      layer = MIN(layer, (uint8_t)(((n->data[0] & 1) << 5) | (n->data[1] >> 3)));
      tid = MIN(tid, (uint8_t)(n->data[1] & 7));
    } else {
      fnri |= n->data[0] & 0x80;
      fnri = (uint8_t)MAX(fnri & 0x60, n->data[0] & 0x60) | (fnri & 0x80);
    }
    put16(o + off, (uint32_t)n->len);
    memcpy(o + off + 2, n->data, n->len);
    off += 2 + n->len;
  }
  if (h265) {
    o[0] = (uint8_t)((48 << 1) | (layer >> 5));
    o[1] = (uint8_t)(((layer & 0x1f) << 3) | tid);
  } else {
    o[0] = (uint8_t)(fnri | 24);
  }
  z->len = off;
  emit(z, last);
}

static void
single(pz_t *z, const cs_nal_t *n, bool last)
{
  memcpy(z->pkt + RTP_HDR, n->data, n->len);
  z->len = n->len;
  emit(z, last);
}

void
cs_rtp_packetize(const cs_clip_t *clip, const cs_au_t *au, uint32_t ts, size_t mtu,
                 bool aggregate_small, cs_rtp_state_t *st, cs_packet_fn fn, void *user)
{
  /* One scratch packet is enough: the loop is single-threaded. */
  static pz_t z;
  const cs_nal_t *nals = &g_array_index(clip->nals, cs_nal_t, au->first_nal);
  size_t max_payload = MIN(mtu, (size_t)MAX_PKT) - RTP_HDR;

  z = (pz_t){
      .clip = clip, .ts = ts, .mtu = MIN(mtu, (size_t)MAX_PKT), .st = st, .fn = fn, .user = user};
  for (guint i = 0; i < au->n_nals;) {
    const cs_nal_t *n = &nals[i];
    if (n->len > max_payload) {
      fragment(&z, n, i + 1 == au->n_nals);
      i++;
      continue;
    }
    /* Gather a run of NALs that fit one aggregation packet together. */
    guint j = i;
    size_t total = hdr_len(&z);
    while (aggregate_small && j < au->n_nals && total + 2 + nals[j].len <= max_payload) {
      total += 2 + nals[j].len;
      j++;
    }
    if (j - i >= 2) {
      aggregate(&z, nals, i, j, j == au->n_nals);
      i = j;
    } else {
      single(&z, n, i + 1 == au->n_nals);
      i++;
    }
  }
}

size_t
cs_rtcp_build_sr(uint8_t *out, const cs_rtp_state_t *st, uint32_t rtp_ts)
{
  static const char cname[] = "camsim";
  struct timeval tv;
  gettimeofday(&tv, NULL);
  uint32_t ntp_sec = (uint32_t)((uint64_t)tv.tv_sec + 2208988800u);
  uint32_t ntp_frac = (uint32_t)(((uint64_t)tv.tv_usec << 32) / 1000000u);

  out[0] = 0x80; /* V=2, RC=0 */
  out[1] = 200;
  put16(out + 2, 6);
  put32(out + 4, st->ssrc);
  put32(out + 8, ntp_sec);
  put32(out + 12, ntp_frac);
  put32(out + 16, rtp_ts);
  put32(out + 20, st->packets);
  put32(out + 24, st->octets);

  /* SDES with one CNAME item, padded to a 32-bit boundary. */
  uint8_t *s = out + 28;
  size_t item = 2 + sizeof cname - 1;
  size_t chunk = (4 + item + 1 + 3) & ~(size_t)3;
  memset(s, 0, 4 + chunk);
  s[0] = 0x81; /* V=2, SC=1 */
  s[1] = 202;
  put16(s + 2, (uint32_t)(chunk / 4));
  put32(s + 4, st->ssrc);
  s[8] = 1;
  s[9] = (uint8_t)(sizeof cname - 1);
  memcpy(s + 10, cname, sizeof cname - 1);
  return 28 + 4 + chunk;
}
