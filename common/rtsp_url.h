/* Camera URL validation and redaction: pure functions, no I/O.
 *
 * Accepts rtsp:// and rtsps:// URLs with a host (name, IPv4 or bracketed
 * IPv6), an optional port 1..65535 and any path and query. Credentials
 * written inside the URL (rtsp://user:pass@host/, or a query parameter
 * password, passwd, pwd or pass) are split out, decoded, and removed from
 * the stored text, so a password never lives in a URL column or a log
 * line. Any thread may call. */
#ifndef CW_RTSP_URL_H
#define CW_RTSP_URL_H

#include <glib.h>

#include "cw_error.h"

#define CW_RTSP_URL_MAX 2048

/* Stands in a stored URL's query where the camera wants its password
 * ("?user=admin&pwd=%7Bpassword%7D"); ingest fills it in at connect time. */
#define CW_RTSP_URL_PASSWORD_SLOT "%7Bpassword%7D"

typedef struct {
  char *scheme;   /* "rtsp" or "rtsps", lower case */
  char *host;     /* as written, IPv6 without brackets */
  int port;       /* 1..65535, or -1 when the URL has none */
  char *path;     /* path plus "?query" if any; "" when absent */
  char *username; /* percent-decoded, NULL when the URL has none */
  char *password; /* percent-decoded, NULL when none; wiped on clear */
  char *clean;    /* the URL without user information: what gets stored */
} cw_rtsp_url_t;

/* Parses and validates text. field names the input in error messages
 * ("url", "substream_url"). On success fills *out (caller clears it with
 * cw_rtsp_url_clear); on failure returns -EINVAL with err "field: reason"
 * and leaves *out zeroed. The error text never contains the password. */
int cw_rtsp_url_parse(const char *text, const char *field, cw_rtsp_url_t *out, cw_error_t *err);
void cw_rtsp_url_clear(cw_rtsp_url_t *u);

/* Display form of a stored (clean) URL with its credentials hidden:
 * "rtsp://user:***@host:554/path" when a password is set (and a password
 * slot in the query shown as ***), "rtsp://user@host/"
 * with only a user name, the clean URL otherwise. Returns a new string. A
 * clean URL that fails to parse is shown as "<invalid url>", never echoed. */
char *cw_rtsp_url_redact(const char *clean_url, const char *username, gboolean has_password);

/* The URL to connect with: clean_url with CW_RTSP_URL_PASSWORD_SLOT
 * replaced by the percent-encoded password. A new string; it holds the
 * secret, so free it with cw_secret_wipe_free() and never log it. */
char *cw_rtsp_url_fill_password(const char *clean_url, const char *password);

#endif
