/* SDP (RFC 4566) as RTSP cameras send it in a DESCRIBE answer, and RTSP
 * control-URL resolution (RFC 2326 C.1.1, as real cameras expect it).
 *
 * Pure functions over a buffer, no I/O, no globals: any thread may call
 * them. The parser reads what the client needs to SETUP and depacketise a
 * stream (media, payload type, codec, clock rate, control URL, parameter
 * sets, size hints) and ignores the rest. It is tolerant of what cameras
 * really send (missing v=, CR or no CR, trailing spaces, empty lines,
 * unknown lines, a trailing comma or semicolon in a=fmtp) and strict about
 * what could hurt: size and count limits, NUL bytes, and the lines the
 * client depends on (m=, a=rtpmap, sprop base64). */
#ifndef CW_SDP_H
#define CW_SDP_H

#include <stddef.h>

#include <glib.h>

#include "access_unit.h"
#include "cw_error.h"

#define CW_SDP_MAX_BYTES 65536
#define CW_SDP_MAX_MEDIA 16

typedef struct {
  char *media;            /* "video", "audio", ... as written */
  int payload_type;       /* first format of the m= line, 0..127; -1 for a non-RTP
                             transport (proto without "RTP/"), whose formats are not
                             payload types */
  char *encoding;         /* from a=rtpmap, e.g. "H264", "H265"; NULL if none */
  cw_codec_t codec;       /* CW_CODEC_NONE unless the encoding is H264/H265
                             (case-insensitive); no static payload type is either */
  guint32 clock_rate;     /* from rtpmap, 0 if none */
  char *control;          /* absolute URL, resolved (see cw_rtsp_resolve_control);
                             a medium without a=control gets the session's
                             control URL, else base_url */
  char *fmtp;             /* raw a=fmtp parameters for payload_type, NULL if none */
  int packetization_mode; /* H.264 fmtp packetization-mode, default 0 */
  guint8 *param_sets;     /* Annex B (00 00 00 01 + NAL) of H.264
                             sprop-parameter-sets, or H.265
                             sprop-vps+sprop-sps+sprop-pps (in that order),
                             base64-decoded; NULL if none */
  size_t param_sets_len;
  double framerate;  /* a=framerate (else a=x-framerate), 0 if absent */
  int width, height; /* a=framesize:PT W-H or a=x-dimensions:W,H if present, else 0 */
} cw_sdp_media_t;

typedef struct {
  GPtrArray *media;      /* of cw_sdp_media_t*, in order */
  char *session_control; /* resolved session-level a=control, NULL if absent */
  char *session_name;    /* s=, NULL if absent */
} cw_sdp_t;

/* Parses len bytes of SDP text (need not be NUL-terminated; lines end CRLF
 * or LF) resolving every control against base_url: the DESCRIBE answer's
 * Content-Base, else its Content-Location, else the request URL (the caller
 * picks it; must not be NULL).
 *
 * Tolerated: missing v=, leading and trailing spaces, empty lines, unknown
 * lines and attributes, attribute names in any case, a=fmtp parameters
 * separated by "; " or ending in ";", empty entries in a sprop list (a
 * trailing comma), a start code inside a base64 parameter set (dropped),
 * rtpmap/fmtp/framesize lines for other payload types (checked, not used).
 * The first of repeated a=control, a=rtpmap or a=fmtp lines for a medium
 * wins.
 *
 * On success returns 0 and sets *out, which the caller frees with
 * cw_sdp_free(). On failure returns -EINVAL, sets *out to NULL and err to
 * "line N: reason" for: SDP larger than CW_SDP_MAX_BYTES (N: the line
 * holding the first byte past the limit), more than CW_SDP_MAX_MEDIA m=
 * lines, a malformed m= line, a malformed a=rtpmap in a medium, a NUL byte,
 * invalid base64 in an H.264/H.265 sprop parameter (the reason names it;
 * N is the a=fmtp line). */
int cw_sdp_parse(const char *text, size_t len, const char *base_url, cw_sdp_t **out,
                 cw_error_t *err);

/* Frees sdp and everything in it. NULL is a no-op. */
void cw_sdp_free(cw_sdp_t *sdp);

/* First "video" medium whose codec is H.264 or H.265, NULL if none.
 * Borrowed from sdp. */
const cw_sdp_media_t *cw_sdp_first_video(const cw_sdp_t *sdp);

/* Resolves an a=control value against base (the DESCRIBE's Content-Base,
 * or the session control URL). Returns a new string (g_free).
 *
 *  - NULL, "" or "*": base.
 *  - Absolute ("scheme://...", e.g. rtsp://, rtsps://; scheme in any case):
 *    control as is.
 *  - "//authority/...": base's scheme + ":" + control.
 *  - "/path": base's scheme://authority + control (path and query replaced).
 *  - Anything else is relative and joined the way cameras expect: base +
 *    "/" + control, or base + control when base ends with "/". This is NOT
 *    RFC 3986 resolution, whose last-segment replacement turns base
 *    "rtsp://h/stream1" + "trackID=1" into "rtsp://h/trackID=1"; servers
 *    (live555, Hikvision, Dahua, GStreamer) want "rtsp://h/stream1/trackID=1".
 *    A query in base stays where it is and the control follows it:
 *    "rtsp://h/live?ch=1" + "trackID=1" gives "rtsp://h/live?ch=1/trackID=1",
 *    which is what servers that put a query in the stream URL expect (Dahua
 *    even sends Content-Base "...?channel=1&subtype=0/" for exactly this
 *    join).
 * A NULL base counts as "". */
char *cw_rtsp_resolve_control(const char *base, const char *control);

#endif
