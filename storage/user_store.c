#include "user_store.h"

#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "db.h"

static const char *const roles[] = {"operator", "investigator", "engineer", "admin", "auditor"};

void
cw_user_free(cw_user_t *u)
{
  if (!u)
    return;
  g_free(u->name);
  g_free(u->role);
  g_free(u->created_at);
  g_free(u->json);
  g_free(u);
}

int
cw_user_role_check(const char *role, cw_error_t *err)
{
  for (guint i = 0; i < G_N_ELEMENTS(roles); i++)
    if (role && strcmp(role, roles[i]) == 0)
      return 0;
  return cw_error_set(err, -EINVAL,
                      "role: must be one of operator, investigator, engineer, admin, auditor");
}

int
cw_user_name_check(const char *name, cw_error_t *err)
{
  size_t len = name ? strlen(name) : 0;
  if (len == 0)
    return cw_error_set(err, -EINVAL, "name: required");
  if (len > 64)
    return cw_error_set(err, -EINVAL, "name: longer than 64 characters");
  if (!g_ascii_isalnum(name[0]))
    return cw_error_set(err, -EINVAL, "name: must start with a letter or digit");
  for (size_t i = 0; i < len; i++)
    if (!g_ascii_isalnum(name[i]) && !strchr("._@-", name[i]))
      return cw_error_set(err, -EINVAL,
                          "name: only letters, digits, '.', '_', '@' and '-' are allowed");
  return 0;
}

int
cw_user_password_hash(const char *password, char **hash, cw_error_t *err)
{
  if (sodium_init() < 0)
    return cw_error_set(err, -EIO, "libsodium failed to initialise");
  glong chars = g_utf8_validate(password, -1, NULL) ? g_utf8_strlen(password, -1) : -1;
  if (chars < 0)
    return cw_error_set(err, -EINVAL, "password: not valid UTF-8");
  if (chars < CW_USER_PASSWORD_MIN)
    return cw_error_set(err, -EINVAL, "password: shorter than %d characters", CW_USER_PASSWORD_MIN);
  if (strlen(password) > CW_USER_PASSWORD_MAX)
    return cw_error_set(err, -EINVAL, "password: longer than %d bytes", CW_USER_PASSWORD_MAX);
  char out[crypto_pwhash_STRBYTES];
  /* crypto_pwhash_str_alg pins Argon2id even if libsodium's default moves. */
  if (crypto_pwhash_str_alg(out, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                            crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0)
    return cw_error_set(err, -ENOMEM, "password: hashing ran out of memory");
  *hash = g_strdup(out);
  return 0;
}

int
cw_user_store_add(PGconn *conn, const char *name, const char *role, const char *password,
                  const char *actor, cw_error_t *err)
{
  int rc;
  char *hash = NULL;
  if ((rc = cw_user_name_check(name, err)) < 0 || (rc = cw_user_role_check(role, err)) < 0 ||
      (rc = cw_user_password_hash(password, &hash, err)) < 0)
    return rc;
  const char *params[] = {name, role, hash, actor};
  PGresult *res =
      PQexecParams(conn,
                   "WITH u AS (INSERT INTO users (name, role, password_hash) VALUES ($1, $2, $3)"
                   " RETURNING id, name, role)"
                   " INSERT INTO audit_log (actor, action, object, after)"
                   " SELECT $4, 'user.add', 'user:' || u.name,"
                   " jsonb_build_object('id', u.id, 'name', u.name, 'role', u.role) FROM u",
                   4, NULL, params, NULL, NULL, 0);
  if (strcmp(cw_db_sqlstate(res), "23505") == 0)
    rc = cw_error_set(err, -EEXIST, "name: a user named '%s' already exists", name);
  else
    rc = cw_db_check(conn, res, PGRES_COMMAND_OK, err);
  PQclear(res);
  g_free(hash);
  return rc;
}

int
cw_user_store_list(PGconn *conn, GPtrArray **out, cw_error_t *err)
{
  PGresult *res = PQexec(
      conn, "SELECT id, name, role,"
            " to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
            " disabled_at IS NOT NULL,"
            " json_build_object('id', id, 'name', name, 'role', role, 'created_at', created_at,"
            " 'disabled', disabled_at IS NOT NULL)::text"
            " FROM users ORDER BY lower(name)");
  int rc = cw_db_check(conn, res, PGRES_TUPLES_OK, err);
  if (rc == 0) {
    *out = g_ptr_array_new_full(PQntuples(res), (GDestroyNotify)cw_user_free);
    for (int i = 0; i < PQntuples(res); i++) {
      cw_user_t *u = g_new0(cw_user_t, 1);
      u->id = g_ascii_strtoll(PQgetvalue(res, i, 0), NULL, 10);
      u->name = g_strdup(PQgetvalue(res, i, 1));
      u->role = g_strdup(PQgetvalue(res, i, 2));
      u->created_at = g_strdup(PQgetvalue(res, i, 3));
      u->disabled = PQgetvalue(res, i, 4)[0] == 't';
      u->json = g_strdup(PQgetvalue(res, i, 5));
      g_ptr_array_add(*out, u);
    }
  }
  PQclear(res);
  return rc;
}
