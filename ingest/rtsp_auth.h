/* RTSP authentication: Basic (RFC 7617) and Digest (RFC 2617 / RFC 7616,
 * MD5 only, qop=auth and the older no-qop form). Pure functions, no I/O.
 *
 * Flow: a 401 response's WWW-Authenticate values go to
 * cw_rtsp_auth_parse(), which keeps the strongest challenge this code can
 * answer; each retried request then carries cw_rtsp_auth_header() as its
 * Authorization value. A challenge belongs to one connection's thread; the
 * functions keep no globals. */
#ifndef CW_RTSP_AUTH_H
#define CW_RTSP_AUTH_H

#include <glib.h>

#include "cw_error.h"

typedef struct {
  gboolean digest;                          /* FALSE: Basic */
  char *realm, *nonce, *opaque, *algorithm; /* owned; algorithm NULL or "MD5" */
  gboolean qop_auth;                        /* server offered qop=auth */
  gboolean stale;
  guint32 nc; /* nonce count, incremented by each header built */
} cw_rtsp_challenge_t;

/* Picks the strongest supported challenge (Digest MD5 with qop=auth, then
 * Digest MD5 without qop, then Basic) among all WWW-Authenticate values.
 * Handles quoted strings with escapes, commas inside quotes,
 * case-insensitive scheme and parameter names, several challenges in one
 * header value. Returns 0 with *out filled (caller clears it), -ENOTSUP
 * with a message naming what was offered when every challenge is of a kind
 * not supported (e.g. Digest SHA-256 only, or NTLM), -EINVAL when there is
 * none or a challenge is malformed and nothing usable remains. *out is
 * zeroed first. */
int cw_rtsp_auth_parse(const char *const *values, guint n, cw_rtsp_challenge_t *out,
                       cw_error_t *err);

/* The Authorization header VALUE for a request: "Basic base64(user:password)"
 * or "Digest username=\"u\", realm=\"r\", nonce=\"n\", uri=\"/x\",
 * [cnonce=\"c\", nc=00000001, qop=auth, ]response=\"h\"[, opaque=\"o\"]
 * [, algorithm=MD5]". cnonce random (libsodium). Increments ch->nc. Returns
 * NULL when a part cannot be sent (control characters, a ':' in a Basic
 * user name, a NULL user, a Digest challenge without nonce). Caller frees
 * with g_free; it contains a secret-derived value, never log it. A NULL
 * password is taken as "". */
char *cw_rtsp_auth_header(cw_rtsp_challenge_t *ch, const char *method, const char *uri,
                          const char *user, const char *password);

/* As cw_rtsp_auth_header() with a given cnonce (for tests; production code
 * uses the random one). cnonce must be non-empty printable ASCII without
 * '"' or '\\'. */
char *cw_rtsp_auth_header_cnonce(cw_rtsp_challenge_t *ch, const char *method, const char *uri,
                                 const char *user, const char *password, const char *cnonce);

/* Frees what the challenge owns and zeroes it. NULL-safe. */
void cw_rtsp_challenge_clear(cw_rtsp_challenge_t *ch);

#endif
