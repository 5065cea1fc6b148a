/* People who use citywatch: names, roles, Argon2id password hashes.
 * Blocking libpq on a connection the caller owns. */
#ifndef CW_USER_STORE_H
#define CW_USER_STORE_H

#include <libpq-fe.h>

#include "cw_error.h"

#define CW_USER_PASSWORD_MIN 12
#define CW_USER_PASSWORD_MAX 1024

typedef struct {
  gint64 id;
  char *name, *role, *created_at;
  gboolean disabled;
  char *json; /* no hash in it */
} cw_user_t;

void cw_user_free(cw_user_t *u);

/* operator, investigator, engineer, admin or auditor. */
int cw_user_role_check(const char *role, cw_error_t *err);
int cw_user_name_check(const char *name, cw_error_t *err);

/* Hashes password with Argon2id (libsodium crypto_pwhash_str, interactive
 * limits). *hash is a new string. Rejects passwords shorter than
 * CW_USER_PASSWORD_MIN characters. */
int cw_user_password_hash(const char *password, char **hash, cw_error_t *err);

/* Adds a user and its audit row in one statement. -EEXIST when the name is
 * taken (any case). */
int cw_user_store_add(PGconn *conn, const char *name, const char *role, const char *password,
                      const char *actor, cw_error_t *err);

/* *out: new array of cw_user_t*, ordered by name. */
int cw_user_store_list(PGconn *conn, GPtrArray **out, cw_error_t *err);

#endif
