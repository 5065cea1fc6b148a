/* One RTSP session to one camera, on a libuv loop the caller owns.
 *
 * OPTIONS, DESCRIBE, SETUP (the first H.264 or H.265 video track), PLAY,
 * keep-alive within the session timeout, TEARDOWN. Basic and Digest
 * authentication; redirects (3xx with Location) followed up to a limit;
 * RTP over TCP interleaved by default, falling back to UDP by itself when
 * the server refuses TCP (as VLC and rtsp-server-perl do), or UDP from the
 * start when asked; RTCP receiver reports; every buffer bounded.
 *
 * The client is a single attempt: it reports progress, access units and, at
 * the end, exactly one on_end. Retrying is the camera state machine's job
 * (camera.h). All calls and callbacks happen on the loop's thread. */
#ifndef CW_RTSP_CLIENT_H
#define CW_RTSP_CLIENT_H

#include <uv.h>

#include "access_unit.h"
#include "rtp.h"

typedef enum {
  CW_RTSP_TRANSPORT_AUTO = 0, /* TCP interleaved, UDP when TCP is refused */
  CW_RTSP_TRANSPORT_TCP,
  CW_RTSP_TRANSPORT_UDP,
} cw_rtsp_transport_pref_t;

typedef enum {
  CW_RTSP_PHASE_CONNECTING,
  CW_RTSP_PHASE_DESCRIBING, /* OPTIONS, DESCRIBE, SETUP */
  CW_RTSP_PHASE_PLAYING,    /* PLAY answered 200 */
} cw_rtsp_phase_t;

/* Why an attempt ended; decides how the camera retries. */
typedef enum {
  CW_RTSP_END_STOPPED = 0, /* cw_rtsp_client_stop() */
  CW_RTSP_END_TRANSIENT,   /* network, timeout, server error: retry with back-off */
  CW_RTSP_END_PERMANENT,   /* auth rejected, not found, no usable track: needs a human */
} cw_rtsp_end_t;

typedef struct {
  const char *url;      /* what to connect to: no user information; copied */
  const char *username; /* NULL for none; copied */
  const char *password; /* NULL for none; copied, wiped on free */
  cw_rtsp_transport_pref_t transport;
  guint timeout_ms;    /* connect and each response; 0 = 10000 */
  guint max_redirects; /* 0 = 3 */
} cw_rtsp_client_config_t;

typedef struct {
  void (*on_phase)(void *opaque, cw_rtsp_phase_t phase);
  /* The media chosen after DESCRIBE: codec and what the SDP says. */
  void (*on_media)(void *opaque, cw_codec_t codec, int width, int height, double fps);
  /* An access unit (borrowed; ref to keep). */
  void (*on_access_unit)(void *opaque, cw_access_unit_t *au);
  /* The attempt is over; the client is idle and may be freed or started
   * again. message names the step and the reason, never a password. */
  void (*on_end)(void *opaque, cw_rtsp_end_t why, const char *message);
} cw_rtsp_client_callbacks_t;

typedef struct cw_rtsp_client cw_rtsp_client_t;

cw_rtsp_client_t *cw_rtsp_client_new(uv_loop_t *loop, const cw_rtsp_client_config_t *config,
                                     const cw_rtsp_client_callbacks_t *callbacks, void *opaque);
/* Starts an attempt. Returns 0, or a negative error if one is running. */
int cw_rtsp_client_start(cw_rtsp_client_t *c);
/* Ends the attempt (TEARDOWN if playing, best effort); on_end(STOPPED)
 * follows from the loop, not from inside this call. */
void cw_rtsp_client_stop(cw_rtsp_client_t *c);
/* Frees the client once its handles have closed; no callbacks after this
 * call. Safe at any time. */
void cw_rtsp_client_free(cw_rtsp_client_t *c);

/* Depayloader statistics of the current or last attempt (NULL before the
 * first PLAY). */
const cw_depay_stats_t *cw_rtsp_client_stats(const cw_rtsp_client_t *c);
/* Picture size from the stream's SPS (0 until one was seen). */
void cw_rtsp_client_resolution(const cw_rtsp_client_t *c, int *width, int *height);
/* Bytes received on the session so far (RTSP, RTP and RTCP). */
guint64 cw_rtsp_client_bytes(const cw_rtsp_client_t *c);
/* Interleaved frames that arrived on a channel the session did not set
 * up, and UDP datagrams from a host other than the camera, in the current
 * attempt: a camera playing "to nowhere", or someone injecting. */
guint64 cw_rtsp_client_stray_frames(const cw_rtsp_client_t *c);
/* "tcp" or "udp" once SETUP succeeded, else NULL. */
const char *cw_rtsp_client_transport(const cw_rtsp_client_t *c);

#endif
