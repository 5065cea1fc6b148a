/* cw_export_verify: a clip against its manifest, and the manifest against
 * the export the database recorded. */
#include "export.h"

#include <errno.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "db.h"
#include "export_priv.h"

/* ---- cw_export_verify -------------------------------------------------- */

typedef struct {
  char *text;
  JsonParser *parser;
  const char *clip_sha, *export_id;
  gint64 clip_bytes;
} manifest_t;

static int
manifest_load(const char *path, manifest_t *m, cw_error_t *err)
{
  GError *gerr = NULL;
  if (!g_file_get_contents(path, &m->text, NULL, &gerr)) {
    int rc =
        cw_error_set(err, gerr->code == G_FILE_ERROR_NOENT ? -ENOENT : -EIO, "%s", gerr->message);
    g_error_free(gerr);
    return rc;
  }
  m->parser = json_parser_new();
  if (!json_parser_load_from_data(m->parser, m->text, -1, &gerr)) {
    int rc = cw_error_set(err, -EBADMSG, "%s: not JSON: %s", path, gerr->message);
    g_error_free(gerr);
    return rc;
  }
  JsonNode *root = json_parser_get_root(m->parser);
  JsonObject *o = JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
  JsonObject *clip =
      o && json_object_has_member(o, "clip") ? json_object_get_object_member(o, "clip") : NULL;
  if (clip && json_object_has_member(clip, "sha256") && json_object_has_member(clip, "bytes")) {
    m->clip_sha = json_object_get_string_member(clip, "sha256");
    m->clip_bytes = json_object_get_int_member(clip, "bytes");
  }
  if (o && json_object_has_member(o, "export_id"))
    m->export_id = json_object_get_string_member(o, "export_id");
  if (!m->clip_sha || !m->export_id)
    return cw_error_set(err, -EBADMSG,
                        "%s: not an export manifest (clip.sha256, clip.bytes or export_id missing)",
                        path);
  return 0;
}

static void
manifest_clear(manifest_t *m)
{
  g_free(m->text);
  if (m->parser)
    g_object_unref(m->parser);
}

static int
verify_clip(const char *clip_path, const char *manifest_path, const manifest_t *m, cw_error_t *err)
{
  char *sha = NULL;
  gint64 bytes = 0;
  int rc = cw_export_file_sha256(clip_path, NULL, &sha, &bytes, err);
  if (rc < 0)
    return rc;
  if (strcmp(sha, m->clip_sha) != 0)
    rc = cw_error_set(err, -EBADMSG,
                      "%s: SHA-256 %s differs from %s in %s (%" G_GINT64_FORMAT
                      " bytes, manifest says %" G_GINT64_FORMAT ")",
                      clip_path, sha, m->clip_sha, manifest_path, bytes, m->clip_bytes);
  else if (bytes != m->clip_bytes)
    rc =
        cw_error_set(err, -EBADMSG, "%s: %" G_GINT64_FORMAT " bytes, but %s says %" G_GINT64_FORMAT,
                     clip_path, bytes, manifest_path, m->clip_bytes);
  g_free(sha);
  return rc;
}

/* The manifest must be the one written at export time: a forged manifest
 * naming a forged clip's hash has no such row. */
static int
verify_db(PGconn *conn, const char *manifest_path, const manifest_t *m, cw_error_t *err)
{
  const char *params[] = {m->export_id, m->text};
  PGresult *res = PQexecParams(conn,
                               "SELECT clip_sha256, manifest = $2::jsonb FROM footage_exports"
                               " WHERE manifest->>'export_id' = $1",
                               2, NULL, params, NULL, NULL, 0);
  int rc = cw_db_check(conn, res, PGRES_TUPLES_OK, err);
  if (rc < 0)
    cw_error_prefix(err, "%s", manifest_path);
  else if (PQntuples(res) == 0)
    rc = cw_error_set(err, -EBADMSG, "%s: export %s is not recorded in footage_exports",
                      manifest_path, m->export_id);
  else if (strcmp(PQgetvalue(res, 0, 0), m->clip_sha) != 0)
    rc = cw_error_set(err, -EBADMSG,
                      "%s: clip SHA-256 %s differs from %s recorded for export %s in "
                      "footage_exports",
                      manifest_path, m->clip_sha, PQgetvalue(res, 0, 0), m->export_id);
  else if (PQgetvalue(res, 0, 1)[0] != 't')
    rc = cw_error_set(err, -EBADMSG,
                      "%s: differs from the manifest recorded for export %s in footage_exports",
                      manifest_path, m->export_id);
  PQclear(res);
  return rc;
}

int
cw_export_verify(PGconn *conn, const char *clip_path, const char *manifest_path, cw_error_t *err)
{
  char *default_path = manifest_path ? NULL : cw_export_manifest_path(clip_path);
  const char *mpath = manifest_path ? manifest_path : default_path;
  manifest_t m = {0};
  int rc;
  if ((rc = manifest_load(mpath, &m, err)) == 0 &&
      (rc = verify_clip(clip_path, mpath, &m, err)) == 0 && conn)
    rc = verify_db(conn, mpath, &m, err);
  manifest_clear(&m);
  g_free(default_path);
  return rc;
}
