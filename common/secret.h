/* Camera credentials at rest: libsodium secretbox (XSalsa20-Poly1305) under
 * one key file per deployment.
 *
 * The key file holds 32 random bytes as 64 hex digits. It is created with
 * mode 0600 on first use (atomically: written to a temporary name, then
 * linked into place, so two processes racing to create it agree on one key)
 * and refused when group or others may read it. Each sealed value records
 * the key's id, so a wrong key is named as such rather than decrypting to
 * garbage. Keys and plaintexts are wiped from memory when freed. A loaded
 * key is read-only and may be shared between threads. */
#ifndef CW_SECRET_H
#define CW_SECRET_H

#include <glib.h>

#include "cw_error.h"

typedef struct cw_secret_key cw_secret_key_t;

/* The key file to use: CITYWATCH_KEY_FILE if set, else configured (which
 * may be NULL). Returns a pointer into the environment or configured. */
const char *cw_secret_key_path(const char *configured);

/* Loads path; when it does not exist and create is TRUE, makes a new key
 * there (parent folder must exist). *out is owned by the caller. */
int cw_secret_key_load(const char *path, gboolean create, cw_secret_key_t **out, cw_error_t *err);
void cw_secret_key_free(cw_secret_key_t *key);

/* 16 hex digits identifying the key (a keyed hash, not the key). */
const char *cw_secret_key_id(const cw_secret_key_t *key);

/* Seals plaintext; returns nonce || MAC || ciphertext, owned by the caller. */
GBytes *cw_secret_seal(const cw_secret_key_t *key, const char *plaintext);

/* Opens a sealed value made under key_id. On success *plaintext is a new
 * string the caller frees with cw_secret_wipe_free. */
int cw_secret_open(const cw_secret_key_t *key, const char *key_id, const guint8 *box, gsize len,
                   char **plaintext, cw_error_t *err);

/* Zeroes and frees a string that held a secret. NULL is fine. */
void cw_secret_wipe_free(char *s);

#endif
