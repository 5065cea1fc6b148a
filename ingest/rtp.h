/* RTP (RFC 3550) packet parsing and the depacketiser that turns one RTP
 * stream of H.264 (RFC 6184) or H.265 (RFC 7798) into access units.
 *
 * Pure code over buffers, no I/O: the RTSP client feeds packets as they
 * arrive (TCP interleaved or UDP), the fuzzers and unit tests feed bytes.
 * A depayloader belongs to one thread (the camera's worker loop); nothing
 * here locks.
 *
 * What the depayloader does with an imperfect stream:
 *   - An access unit ends at the marker bit, or when the timestamp changes.
 *   - A sequence gap counts the missing packets as lost and marks damaged
 *     both the access unit in progress and the one the packet after the gap
 *     belongs to (the lost packets were the tail of one or the head of the
 *     other, or a whole unit between them). Damaged units are still handed
 *     to the sink, with damaged set: do not decode or record them as good;
 *     one with nothing left (say, only the tail of an FU) is counted in
 *     dropped_aus instead. An FU cut short keeps what arrived of it.
 *   - A packet older than the highest sequence number seen is dropped (no
 *     reorder buffer) and counted as a duplicate when it was received before,
 *     otherwise as reordered. A jump of 3000 or more forward, or more than
 *     1024 back, drops that packet (counted bad); a second packet following
 *     on from it restarts sequence tracking there (RFC 3550 A.1).
 *   - A payload type other than the expected one (set, or the first one
 *     seen) is counted bad and ignored.
 *   - An SSRC change ends the unit in progress, restarts sequence, jitter
 *     and wall-clock tracking, and is counted; pts continue monotonic.
 *   - A timestamp step more than 10 s forward or more than 1 s back is a
 *     jump: counted, and the 64-bit pts re-base to continue one frame after
 *     the highest pts so far. Smaller backward steps are B-frame reordering
 *     (presentation order differs from send order) and are kept as they are.
 *   - An access unit above CW_RTP_MAX_AU_BYTES is dropped (dropped_aus).
 *   - A keyframe (H.264 IDR, H.265 IRAP 16..23) that lacks any of its
 *     parameter sets gets the latest VPS/SPS/PPS (in-band ones replace those
 *     from the SDP) put in front, after a leading access unit delimiter. */
#ifndef CW_RTP_H
#define CW_RTP_H

#include <stddef.h>

#include <glib.h>

#include "access_unit.h"
#include "cw_error.h"

#define CW_RTP_MAX_AU_BYTES (8 << 20) /* an access unit above this is dropped as damaged */

typedef struct {
  guint8 version, padding, extension, csrc_count, marker, payload_type;
  guint16 seq;
  guint32 timestamp, ssrc;
  const guint8 *payload; /* points into the parsed buffer */
  size_t payload_len;
} cw_rtp_packet_t;

/* Parses one RTP packet (header, CSRCs, extension, padding). Returns 0, or
 * -EINVAL with a reason in err for version != 2, truncation, bad padding.
 * out->payload points into buf (borrowed). Any thread. */
int cw_rtp_parse(const guint8 *buf, size_t len, cw_rtp_packet_t *out, cw_error_t *err);

typedef struct {
  guint64 packets;     /* parsed packets of the expected payload type, incl. reordered/duplicates */
  guint64 bytes;       /* their size in bytes, headers included */
  guint64 bad_packets; /* unparseable, wrong payload type, sequence jump, unsupported payload */
  guint64 lost;        /* sequence numbers skipped over (a late packet is not taken back) */
  guint64 reordered, duplicates; /* dropped for arriving behind the highest seq */
  guint64 aus;                   /* access units handed to the sink (damaged ones included) */
  guint64 keyframes;             /* of which keyframes */
  guint64 damaged_aus;           /* of which damaged */
  guint64 dropped_aus; /* not handed on: above CW_RTP_MAX_AU_BYTES, or nothing left after loss */
  guint64 ssrc_changes, timestamp_jumps;
  guint32 ssrc;        /* of the stream now followed */
  guint16 highest_seq; /* highest sequence number received */
  guint32 cycles;      /* times the sequence number wrapped: extended seq = cycles << 16 | seq */
  double jitter;       /* RFC 3550 A.8, timestamp units */
} cw_depay_stats_t;

typedef struct cw_depay cw_depay_t;

/* A depayloader for codec (H264 or H265; NULL for any other) at clock_rate
 * (90000 for video). param_sets: Annex B from the SDP sprop parameters (may
 * be NULL; copied). sink gets each finished access unit on the calling
 * thread (borrowed ref; it refs to keep); sink may be NULL. The sink must
 * not free the depayloader. Free with cw_depay_free(). */
cw_depay_t *cw_depay_new(cw_codec_t codec, guint32 clock_rate, const guint8 *param_sets,
                         size_t param_sets_len, cw_access_unit_sink_fn sink, void *opaque);

/* Sets the payload type to accept (from the SDP); without it the first
 * packet's payload type is taken. */
void cw_depay_set_payload_type(cw_depay_t *d, guint8 payload_type);

/* Feeds one whole RTP packet as received (copied from as needed; packet is
 * not kept). Emits zero or more AUs through the sink. Returns 0, or
 * -EINVAL for an unparseable packet (counted in bad_packets). Arrival time
 * for the jitter is g_get_monotonic_time(). */
int cw_depay_push(cw_depay_t *d, const guint8 *packet, size_t len);

/* As cw_depay_push, with the packet's arrival time given (µs on any steady
 * clock), for callers that stamp packets themselves and for tests. */
int cw_depay_push_at(cw_depay_t *d, const guint8 *packet, size_t len, gint64 arrival_us);

/* Ends the access unit in progress now (as at end of stream) and hands it
 * to the sink; one whose end was not seen is damaged when an FU is open. */
void cw_depay_flush(cw_depay_t *d);

/* Tells the depayloader the RTCP SR mapping: RTP timestamp rtp_ts was
 * wall-clock time wallclock_us (µs since Unix epoch); later AUs get
 * wallclock_us derived from it. Forgotten on an SSRC change. */
void cw_depay_set_wallclock(cw_depay_t *d, guint32 rtp_ts, gint64 wallclock_us);

/* The counters; the pointer stays valid until cw_depay_free(). */
const cw_depay_stats_t *cw_depay_stats(const cw_depay_t *d);

/* Width/height parsed from the latest SPS (0 until seen). */
void cw_depay_resolution(const cw_depay_t *d, int *width, int *height);

/* Frees d (NULL is fine); an access unit in progress is discarded. */
void cw_depay_free(cw_depay_t *d);

/* Resolution from one SPS NAL unit (with its NAL header, without start
 * code). Returns 0, or -EINVAL when it is not a parseable SPS. */
int cw_h264_sps_resolution(const guint8 *nal, size_t len, int *width, int *height);
int cw_h265_sps_resolution(const guint8 *nal, size_t len, int *width, int *height);

#endif
