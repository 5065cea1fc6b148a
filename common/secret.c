#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

struct cw_secret_key {
  unsigned char key[crypto_secretbox_KEYBYTES];
  char id[17];
};

const char *
cw_secret_key_path(const char *configured)
{
  const char *env = g_getenv("CITYWATCH_KEY_FILE");
  if (env && *env)
    return env;
  return (configured && *configured) ? configured : NULL;
}

void
cw_secret_wipe_free(char *s)
{
  if (s) {
    sodium_memzero(s, strlen(s));
    g_free(s);
  }
}

static void
compute_id(cw_secret_key_t *k)
{
  static const unsigned char label[] = "citywatch key id";
  unsigned char h[8];
  crypto_generichash(h, sizeof h, label, sizeof label - 1, k->key, sizeof k->key);
  sodium_bin2hex(k->id, sizeof k->id, h, sizeof h);
}

static int
create_key_file(const char *path, cw_error_t *err)
{
  unsigned char raw[crypto_secretbox_KEYBYTES];
  char hex[2 * sizeof raw + 2];
  crypto_secretbox_keygen(raw);
  sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
  sodium_memzero(raw, sizeof raw);
  strcat(hex, "\n");

  int rc = 0;
  char *tmp = g_strdup_printf("%s.tmp.%ld", path, (long)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    rc = cw_error_set(err, -errno, "%s: cannot create key file: %s", path, g_strerror(errno));
    goto out;
  }
  size_t len = strlen(hex);
  if (write(fd, hex, len) != (ssize_t)len || fsync(fd) != 0) {
    rc = cw_error_set(err, -EIO, "%s: cannot write key file: %s", path, g_strerror(errno));
    close(fd);
    unlink(tmp);
    goto out;
  }
  close(fd);
  /* link() fails if another process got there first; then its key wins. */
  if (link(tmp, path) != 0 && errno != EEXIST)
    rc = cw_error_set(err, -errno, "%s: cannot create key file: %s", path, g_strerror(errno));
  unlink(tmp);
out:
  sodium_memzero(hex, sizeof hex);
  g_free(tmp);
  return rc;
}

int
cw_secret_key_load(const char *path, gboolean create, cw_secret_key_t **out, cw_error_t *err)
{
  if (sodium_init() < 0)
    return cw_error_set(err, -EIO, "libsodium failed to initialise");
  if (!path || !*path)
    return cw_error_set(err, -EINVAL,
                        "no credential key file: set CITYWATCH_KEY_FILE or [security] key_file");

  int rc = 0;
  char buf[256];
  ssize_t n = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0 && errno == ENOENT && create) {
    rc = create_key_file(path, err);
    if (rc < 0)
      return rc;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  }
  if (fd < 0)
    return cw_error_set(err, -errno, "%s: cannot open credential key file: %s", path,
                        g_strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    rc = cw_error_set(err, -EINVAL, "%s: credential key file is not a regular file", path);
    goto out;
  }
  if (st.st_mode & 077) {
    rc = cw_error_set(err, -EPERM,
                      "%s: credential key file is readable by others (mode %03o); chmod 600 it",
                      path, (unsigned)(st.st_mode & 0777));
    goto out;
  }
  n = read(fd, buf, sizeof buf - 1);
  if (n < 0) {
    rc = cw_error_set(err, -errno, "%s: cannot read credential key file: %s", path,
                      g_strerror(errno));
    goto out;
  }
  buf[n] = '\0';
  cw_secret_key_t *k = g_new0(cw_secret_key_t, 1);
  size_t bin_len = 0;
  const char *end = NULL;
  if (sodium_hex2bin(k->key, sizeof k->key, buf, (size_t)n, "\r\n", &bin_len, &end) != 0 ||
      bin_len != sizeof k->key || (end && *end && !g_ascii_isspace(*end))) {
    sodium_memzero(k, sizeof *k);
    g_free(k);
    rc = cw_error_set(err, -EINVAL, "%s: credential key file must hold 64 hex digits", path);
    goto out;
  }
  compute_id(k);
  *out = k;
out:
  sodium_memzero(buf, sizeof buf);
  close(fd);
  return rc;
}

void
cw_secret_key_free(cw_secret_key_t *key)
{
  if (key) {
    sodium_memzero(key, sizeof *key);
    g_free(key);
  }
}

const char *
cw_secret_key_id(const cw_secret_key_t *key)
{
  return key->id;
}

GBytes *
cw_secret_seal(const cw_secret_key_t *key, const char *plaintext)
{
  size_t mlen = strlen(plaintext);
  size_t len = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + mlen;
  guint8 *box = g_malloc(len);
  randombytes_buf(box, crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES, (const unsigned char *)plaintext, mlen,
                        box, key->key);
  return g_bytes_new_take(box, len);
}

int
cw_secret_open(const cw_secret_key_t *key, const char *key_id, const guint8 *box, gsize len,
               char **plaintext, cw_error_t *err)
{
  if (key_id && strcmp(key_id, key->id) != 0)
    return cw_error_set(err, -EKEYREJECTED,
                        "sealed with credential key %s but the key file holds key %s", key_id,
                        key->id);
  if (len < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
    return cw_error_set(err, -EINVAL, "sealed credential is truncated");
  size_t mlen = len - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
  char *m = g_malloc(mlen + 1);
  if (crypto_secretbox_open_easy((unsigned char *)m, box + crypto_secretbox_NONCEBYTES,
                                 len - crypto_secretbox_NONCEBYTES, box, key->key) != 0) {
    g_free(m);
    return cw_error_set(err, -EBADMSG, "sealed credential failed authentication");
  }
  m[mlen] = '\0';
  *plaintext = m;
  return 0;
}
