/* RTSP 1.0 (RFC 2326) message layer: pure functions over a buffer, no I/O.
 *
 * cw_rtsp_read() takes the bytes a TCP RTSP connection has received so far
 * and cuts the next frame off its start: an interleaved RTP/RTCP frame
 * ('$', channel, 16-bit length, payload), a response from the server, or a
 * request the server sends the client (GET_PARAMETER, OPTIONS, ANNOUNCE...).
 * Every size and count is bounded (CW_RTSP_MAX_*), and anything beyond a
 * bound is an error, not a reason to wait for more bytes.
 *
 * The helpers build the client's requests (refusing anything that could
 * inject a header) and parse the Session and Transport header values.
 *
 * Everything here is reentrant: any thread may call it on its own data. */
#ifndef CW_RTSP_MSG_H
#define CW_RTSP_MSG_H

#include <glib.h>

#include "cw_error.h"

#define CW_RTSP_MAX_HEADER_BYTES 16384 /* status line + headers */
#define CW_RTSP_MAX_HEADERS 64
#define CW_RTSP_MAX_BODY 65536 /* Content-Length above this: error */

typedef enum {
  CW_RTSP_NEED_MORE = 0,
  CW_RTSP_RESPONSE = 1,
  CW_RTSP_INTERLEAVED = 2,
  CW_RTSP_REQUEST = 3
} cw_rtsp_kind_t;

typedef struct {
  cw_rtsp_kind_t kind;
  size_t consumed; /* bytes of buf this frame occupies (0 for NEED_MORE) */
  guint8 channel;  /* INTERLEAVED: channel; payload points into buf */
  const guint8 *payload;
  size_t payload_len;
  int status; /* RESPONSE: status code; reason owned */
  char *reason;
  char *method, *uri; /* REQUEST (server-to-client, e.g. GET_PARAMETER, OPTIONS, ANNOUNCE): owned */
  GPtrArray *names, *values; /* RESPONSE/REQUEST headers, owned strings, same index; names as
                                received, values trimmed */
  guint8 *body;              /* owned copy; NUL-terminated for convenience; never NULL for a
                                RESPONSE or REQUEST (an empty body is "") */
  size_t body_len;
} cw_rtsp_frame_t;

/* Reads the next frame at the start of buf (a TCP RTSP connection's bytes:
 * an interleaved '$' frame, a response "RTSP/1.0 200 OK", or a request from
 * the server). Returns 1 with *out filled, 0 when more bytes are needed
 * (nothing filled), or -EINVAL/-EMSGSIZE with err naming what is wrong
 * ("malformed status line", "header section longer than 16384 bytes",
 * "Content-Length 99999999 exceeds 65536", "bad Content-Length", "more than
 * 64 headers", "header line without a colon"...). Header folding
 * (continuation lines) accepted. Lines end in CRLF or LF; empty lines before
 * a message are skipped (and counted in consumed).
 *
 * *out is always zeroed first, so cw_rtsp_frame_clear() is safe whatever
 * the result; the caller clears it after a 1. A malformed first line is
 * reported as soon as that line is complete, without waiting for the rest of
 * the header section. The payload of an interleaved frame points into buf:
 * valid only while buf is. Errors are final: the connection is out of sync. */
int cw_rtsp_read(const guint8 *buf, size_t len, cw_rtsp_frame_t *out, cw_error_t *err);

/* Frees what the frame owns and zeroes it. NULL-safe; idempotent. */
void cw_rtsp_frame_clear(cw_rtsp_frame_t *f);

/* First header of that name, case-insensitive; NULL if absent. Borrowed. */
const char *cw_rtsp_frame_header(const cw_rtsp_frame_t *f, const char *name);

/* All values of a header (e.g. several WWW-Authenticate), count in *n (n
 * may be NULL); returned array owned by caller (g_free), strings borrowed.
 * The array is NULL-terminated and never NULL itself. */
const char **cw_rtsp_frame_headers(const cw_rtsp_frame_t *f, const char *name, guint *n);

/* CSeq as an int, -1 when missing or malformed. */
int cw_rtsp_frame_cseq(const cw_rtsp_frame_t *f);

/* Builds a request: "METHOD URI RTSP/1.0\r\nCSeq: N\r\nUser-Agent:
 * citywatch\r\n" + each extra header line ("Name: value", no CRLF,
 * NULL-terminated array, may be NULL) + "\r\n". Refuses (returns NULL) any
 * part holding CR, LF or NUL so nothing can inject a header; also refuses a
 * method that is not a token or starts with '$' (an interleaved frame), a URI that is empty or
 * holds a space or a control character, a negative cseq, and an extra header whose name is not a
 * token followed by ':'. Caller frees with g_free. */
char *cw_rtsp_request_build(const char *method, const char *uri, int cseq,
                            const char *const *extra_headers);

/* Session: "12345678;timeout=60" -> id (owned, g_free), timeout seconds (60
 * when absent or 0; values above 86400 are taken as 86400). Returns 0, or
 * -EINVAL (err says why; *id NULL) for an empty or non-printable id or a
 * timeout that is not a number. */
int cw_rtsp_parse_session(const char *value, char **id, int *timeout_s, cw_error_t *err);

typedef struct {
  gboolean tcp;                       /* RTP/AVP/TCP */
  int interleaved[2];                 /* -1 when absent */
  int client_port[2], server_port[2]; /* -1 when absent */
  gboolean has_ssrc;
  guint32 ssrc;
  char *source; /* owned, NULL when absent */
} cw_rtsp_transport_t;

/* Parses a Transport header value as a server answers a SETUP (first
 * transport spec if several). A single number ("interleaved=4") leaves the
 * second of the pair -1. Unknown parameters are ignored, and so is an ssrc
 * that is not 1 to 8 hex digits (it is only informative). Returns 0, -EINVAL
 * for a malformed value (bad channel or port numbers), -ENOTSUP for a
 * transport other than RTP/AVP[/UDP|/TCP]. *out is zeroed/-1 first, so
 * cw_rtsp_transport_clear() is safe whatever the result. */
int cw_rtsp_parse_transport(const char *value, cw_rtsp_transport_t *out, cw_error_t *err);

/* Frees what the transport owns. NULL-safe. */
void cw_rtsp_transport_clear(cw_rtsp_transport_t *t);

/* RFC 2616 token characters: any CHAR but CTLs and separators (also used
 * by rtsp_auth.c for challenge parameter names). */
gboolean cw_rtsp_is_token_char(guint8 c);

#endif
