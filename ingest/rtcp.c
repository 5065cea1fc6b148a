/* RTCP: compound packet parsing (SR, BYE) and the receiver report. */
#include "rtcp.h"

#include <errno.h>
#include <string.h>

enum { RTCP_SR = 200, RTCP_RR = 201, RTCP_SDES = 202, RTCP_BYE = 203 };

#define NTP_UNIX_OFFSET G_GUINT64_CONSTANT(2208988800) /* 1900 -> 1970, seconds */

static guint32
rd32(const guint8 *p)
{
  return (guint32)p[0] << 24 | (guint32)p[1] << 16 | (guint32)p[2] << 8 | p[3];
}

static void
wr32(guint8 *p, guint32 v)
{
  p[0] = (guint8)(v >> 24);
  p[1] = (guint8)(v >> 16);
  p[2] = (guint8)(v >> 8);
  p[3] = (guint8)v;
}

int
cw_rtcp_parse(const guint8 *buf, size_t len, cw_rtcp_sr_t *sr, gboolean *has_sr, gboolean *bye,
              cw_error_t *err)
{
  *has_sr = FALSE;
  *bye = FALSE;
  memset(sr, 0, sizeof *sr);
  if (len < 4)
    return cw_error_set(err, -EINVAL, "rtcp: %zu bytes, shorter than a header", len);
  size_t off = 0;
  while (off < len) {
    if (len - off < 4)
      return cw_error_set(err, -EINVAL, "rtcp: %zu stray bytes at offset %zu", len - off, off);
    const guint8 *p = buf + off;
    guint version = p[0] >> 6, padding = (p[0] >> 5) & 1, count = p[0] & 0x1f, pt = p[1];
    size_t plen = 4 * ((size_t)(p[2] << 8 | p[3]) + 1);
    if (version != 2)
      return cw_error_set(err, -EINVAL, "rtcp: version %u, not 2, at offset %zu", version, off);
    if (plen > len - off)
      return cw_error_set(err, -EINVAL, "rtcp: packet of %zu bytes at offset %zu passes the end",
                          plen, off);
    size_t body = plen;
    if (padding) {
      /* Only the last packet of a compound may be padded. */
      guint8 pad = p[plen - 1];
      if (off + plen != len || pad == 0 || pad > plen - 4)
        return cw_error_set(err, -EINVAL, "rtcp: bad padding at offset %zu", off);
      body -= pad;
    }
    if (pt == RTCP_SR) {
      if (body < 28 + 24 * (size_t)count)
        return cw_error_set(err, -EINVAL, "rtcp: sender report of %zu bytes with %u blocks", body,
                            count);
      if (!*has_sr) {
        sr->ssrc = rd32(p + 4);
        sr->ntp = (guint64)rd32(p + 8) << 32 | rd32(p + 12);
        sr->rtp_ts = rd32(p + 16);
        sr->packet_count = rd32(p + 20);
        sr->octet_count = rd32(p + 24);
        *has_sr = TRUE;
      }
    } else if (pt == RTCP_RR) {
      if (body < 8 + 24 * (size_t)count)
        return cw_error_set(err, -EINVAL, "rtcp: receiver report of %zu bytes with %u blocks", body,
                            count);
    } else if (pt == RTCP_BYE) {
      if (body < 4 + 4 * (size_t)count)
        return cw_error_set(err, -EINVAL, "rtcp: BYE of %zu bytes with %u sources", body, count);
      *bye = TRUE;
    }
    off += plen;
  }
  return 0;
}

gint64
cw_rtcp_ntp_to_unix_us(guint64 ntp)
{
  guint64 secs = ntp >> 32, frac = ntp & 0xffffffffu;
  if (!(secs & 0x80000000u))
    secs += G_GUINT64_CONSTANT(1) << 32; /* era 1: from 2036-02-07 */
  gint64 us = (gint64)((frac * G_USEC_PER_SEC) >> 32);
  return ((gint64)secs - (gint64)NTP_UNIX_OFFSET) * G_USEC_PER_SEC + us;
}

size_t
cw_rtcp_build_rr(guint8 *out, size_t cap, guint32 our_ssrc, const cw_depay_stats_t *stats,
                 cw_rtcp_rr_state_t *state, guint64 last_sr_ntp, gint64 delay_us, const char *cname)
{
  if (!cname || !*cname)
    cname = "citywatch";
  size_t cname_len = strlen(cname);
  if (cname_len > 255)
    cname_len = 255;
  gboolean block = stats && stats->packets > 0;
  size_t rr_len = 8 + (block ? 24 : 0);
  /* SDES chunk: SSRC, CNAME item (type, length, text), then one to four
   * zero bytes ending the item list on a 32-bit boundary. */
  size_t chunk = 4 + 2 + cname_len;
  chunk += 4 - chunk % 4;
  size_t sdes_len = 4 + chunk;
  if (cap < rr_len + sdes_len)
    return 0;
  memset(out, 0, rr_len + sdes_len);

  guint8 *p = out;
  p[0] = (guint8)(0x80 | (block ? 1 : 0));
  p[1] = RTCP_RR;
  p[2] = (guint8)((rr_len / 4 - 1) >> 8);
  p[3] = (guint8)(rr_len / 4 - 1);
  wr32(p + 4, our_ssrc);
  if (block) {
    guint64 received = stats->packets - stats->reordered - stats->duplicates;
    guint64 expected = received + stats->lost;
    guint64 expected_interval = expected - state->expected_prior;
    guint64 received_interval = received - state->received_prior;
    state->expected_prior = expected;
    state->received_prior = received;
    guint fraction = 0;
    if (expected_interval > received_interval && expected_interval > 0)
      fraction = (guint)(((expected_interval - received_interval) << 8) / expected_interval);
    if (fraction > 255)
      fraction = 255;
    guint32 lost = stats->lost > 0x7fffff ? 0x7fffff : (guint32)stats->lost;
    guint8 *b = p + 8;
    wr32(b, stats->ssrc);
    wr32(b + 4, (guint32)fraction << 24 | lost);
    wr32(b + 8, stats->cycles << 16 | stats->highest_seq);
    wr32(b + 12, stats->jitter > 0 ? (guint32)stats->jitter : 0);
    if (last_sr_ntp) {
      wr32(b + 16, (guint32)(last_sr_ntp >> 16));
      guint64 dlsr = delay_us > 0 ? (guint64)delay_us * 65536 / G_USEC_PER_SEC : 0;
      wr32(b + 20, dlsr > G_MAXUINT32 ? G_MAXUINT32 : (guint32)dlsr);
    }
  }

  p = out + rr_len;
  p[0] = 0x81; /* one chunk */
  p[1] = RTCP_SDES;
  p[2] = (guint8)((sdes_len / 4 - 1) >> 8);
  p[3] = (guint8)(sdes_len / 4 - 1);
  wr32(p + 4, our_ssrc);
  p[8] = 1; /* CNAME */
  p[9] = (guint8)cname_len;
  memcpy(p + 10, cname, cname_len);
  return rr_len + sdes_len;
}
