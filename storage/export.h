/* Evidence export: a camera's footage over a time range remuxed, without
 * transcoding, into one MP4 that starts at the keyframe at or before the
 * requested start and ends with the last frame before the requested end;
 * beside it a JSON manifest (camera, requested and actual range, gaps,
 * source segments with their SHA-256, the clip's SHA-256, who, when, case,
 * reason). The export is recorded in footage_exports and audit_log. */
#ifndef CW_EXPORT_H
#define CW_EXPORT_H

#include <libpq-fe.h>

#include "cw_error.h"

typedef struct {
  const char *root; /* this node's footage root; segments are read from root/path */
  gint64 camera_id;
  gint64 from_us, to_us;
  const char *case_id;
  const char *reason;
  const char *user;     /* authenticated user name (investigator role checked by the caller) */
  const char *out_path; /* the clip; the manifest goes to cw_export_manifest_path(out_path) */
} cw_export_request_t;

/* out_path + ".manifest.json"; a new string. */
char *cw_export_manifest_path(const char *clip_path);

/* Writes the clip and manifest (through temporary files renamed into place,
 * so a failure leaves neither half-written) and the database rows.
 * *manifest_json (may be NULL) gets the manifest. -ENOENT when the range
 * holds no footage at all. */
int cw_export_run(PGconn *conn, const cw_export_request_t *req, char **manifest_json,
                  cw_error_t *err);

/* Checks a clip against its manifest (manifest_path NULL: the default one
 * beside it): the clip's SHA-256 and size. When conn is not NULL, also that
 * footage_exports holds that manifest's export with the same clip hash.
 * -EBADMSG with err saying what differs. */
int cw_export_verify(PGconn *conn, const char *clip_path, const char *manifest_path,
                     cw_error_t *err);

#endif
