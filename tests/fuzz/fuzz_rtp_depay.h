/* The depayloader fuzz target's body, shared by fuzz_rtp_h264.c and
 * fuzz_rtp_h265.c: each defines CODEC and includes this file once.
 *
 * Input: one flags byte, then chunks, each a 16-bit big-endian length and
 * that many bytes (a short last chunk is taken as it is). Flags bit 0: the
 * first chunk is the SDP's parameter sets (Annex B) rather than a packet;
 * bit 1: payload type 96 is set rather than taken from the first packet;
 * bit 2: an RTCP SR mapping is given before every eighth packet; bit 3: the
 * stream is flushed at the end. Every other chunk is one RTP packet, pushed
 * with an arrival time 20 ms after the last.
 *
 * Checks what rtp.h promises: every access unit is non-empty Annex B
 * starting with a 4-byte start code, of this codec and the followed SSRC,
 * no larger than the limit plus the parameter sets put in front; the
 * counters agree with what the sink saw; the resolution is sane; and
 * cw_rtp_parse gives a payload inside the packet or a reason. */
#ifndef CODEC
#error "define CODEC before including fuzz_rtp_depay.h"
#endif
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "rtp.h"

typedef struct {
  cw_depay_t *d;
  guint64 aus, keyframes, damaged;
} state_t;

static void
sink(void *opaque, cw_access_unit_t *au)
{
  state_t *s = opaque;
  static const guint8 sc[4] = {0, 0, 0, 1};
  FUZZ_CHECK(au->refcount == 1);
  FUZZ_CHECK(au->codec == CODEC);
  FUZZ_CHECK(au->size >= 5);
  /* Three parameter sets of at most 64 KiB each may go in front. */
  FUZZ_CHECK(au->size <= (size_t)CW_RTP_MAX_AU_BYTES + 3 * (65536 + 4));
  FUZZ_CHECK(memcmp(au->data, sc, 4) == 0);
  FUZZ_CHECK(au->clock_rate == 90000);
  FUZZ_CHECK(au->ssrc == cw_depay_stats(s->d)->ssrc);
  s->aus++;
  s->keyframes += au->keyframe ? 1 : 0;
  s->damaged += au->damaged ? 1 : 0;
}

static void
check_parse(const guint8 *pkt, size_t len)
{
  cw_rtp_packet_t p;
  cw_error_t err = {0};
  int rc = cw_rtp_parse(pkt, len, &p, &err);
  if (rc == 0) {
    FUZZ_CHECK(p.version == 2);
    FUZZ_CHECK(p.payload >= pkt + 12 && p.payload + p.payload_len <= pkt + len);
  } else {
    FUZZ_CHECK(rc == -EINVAL);
    FUZZ_CHECK(g_str_has_prefix(err.msg, "rtp: "));
  }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  guint8 flags = data[0];
  size_t off = 1;
  const guint8 *sprop = NULL;
  size_t sprop_len = 0;
  /* Chunks: [len16][bytes]. */
#define NEXT_CHUNK(ptr, n)                                                                         \
  (off + 2 <= size ? ((n) = MIN((size_t)(data[off] << 8 | data[off + 1]), size - off - 2),         \
                      (ptr) = data + off + 2, off += 2 + (n), TRUE)                                \
                   : FALSE)
  if (flags & 1)
    (void)NEXT_CHUNK(sprop, sprop_len);
  state_t s = {0};
  s.d = cw_depay_new(CODEC, 90000, sprop, sprop_len, sink, &s);
  FUZZ_CHECK(s.d != NULL);
  if (flags & 2)
    cw_depay_set_payload_type(s.d, 96);
  const guint8 *pkt;
  size_t len;
  guint64 pushed = 0, refused = 0;
  while (NEXT_CHUNK(pkt, len)) {
    check_parse(pkt, len);
    if ((flags & 4) && pushed % 8 == 0 && len >= 8)
      cw_depay_set_wallclock(s.d, (guint32)pkt[4] << 24 | (guint32)pkt[5] << 16, 1700000000000000);
    /* A copy of exactly its size, so ASan sees a read past the packet. */
    guint8 *copy = g_memdup2(pkt, len);
    int rc = cw_depay_push_at(s.d, copy, len, (gint64)pushed * 20000);
    g_free(copy);
    FUZZ_CHECK(rc == 0 || rc == -EINVAL);
    refused += rc < 0;
    pushed++;
  }
#undef NEXT_CHUNK
  if (flags & 8)
    cw_depay_flush(s.d);
  const cw_depay_stats_t *st = cw_depay_stats(s.d);
  FUZZ_CHECK(st->aus == s.aus);
  FUZZ_CHECK(st->keyframes == s.keyframes);
  FUZZ_CHECK(st->damaged_aus == s.damaged);
  FUZZ_CHECK(st->packets <= pushed);
  FUZZ_CHECK(st->bad_packets >= refused);
  FUZZ_CHECK(st->reordered + st->duplicates <= st->packets);
  FUZZ_CHECK(st->ssrc_changes < pushed || pushed == 0);
  FUZZ_CHECK(st->jitter >= 0);
  int w = -1, h = -1;
  cw_depay_resolution(s.d, &w, &h);
  FUZZ_CHECK(w >= 0 && w <= 16384 && h >= 0 && h <= 16384);
  FUZZ_CHECK((w == 0) == (h == 0));
  cw_depay_free(s.d);
  return 0;
}
