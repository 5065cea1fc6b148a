/* RTCP (RFC 3550 section 6): parsing the sender's compound packets (the SR
 * that maps RTP time to wall-clock time, BYE) and building our receiver
 * report. Pure code over buffers, no I/O; any thread. */
#ifndef CW_RTCP_H
#define CW_RTCP_H

#include <stddef.h>

#include <glib.h>

#include "cw_error.h"
#include "rtp.h"

typedef struct {
  guint32 ssrc;
  guint64 ntp; /* NTP timestamp: seconds since 1900 << 32 | fraction */
  guint32 rtp_ts;
  guint32 packet_count, octet_count;
} cw_rtcp_sr_t;

/* Parses a compound RTCP packet; fills *sr (the first SR) and sets *has_sr
 * when a sender report is in it, *bye when a BYE is. Other packet types are
 * skipped. Returns 0, or -EINVAL with a reason in err for malformed input
 * (version != 2, a length past the end, a short SR, bad padding). */
int cw_rtcp_parse(const guint8 *buf, size_t len, cw_rtcp_sr_t *sr, gboolean *has_sr, gboolean *bye,
                  cw_error_t *err);

/* NTP 64-bit timestamp -> µs since Unix epoch (era 1 after 2036 taken when
 * the top bit is clear, RFC 4330). */
gint64 cw_rtcp_ntp_to_unix_us(guint64 ntp);

/* What the last receiver report counted, for the fraction lost of the next;
 * zero it before the first call. */
typedef struct {
  guint64 expected_prior, received_prior;
} cw_rtcp_rr_state_t;

/* Builds a compound RR (+ SDES CNAME) into out (cap bytes); returns its
 * length, 0 if cap is too small. The RR carries one report block on
 * stats->ssrc once a packet was received (none before): fraction lost since
 * the previous call (state is updated), cumulative lost, extended highest
 * seq, jitter, and LSR/DLSR from last_sr_ntp (ntp of the last SR received,
 * 0 none) and delay_us (since it arrived). cname NULL or "" -> "citywatch";
 * longer than 255 bytes is cut. */
size_t cw_rtcp_build_rr(guint8 *out, size_t cap, guint32 our_ssrc, const cw_depay_stats_t *stats,
                        cw_rtcp_rr_state_t *state, guint64 last_sr_ntp, gint64 delay_us,
                        const char *cname);

#endif
