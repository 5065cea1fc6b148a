/* Unit tests for common/secret.c: the key file (created 0600, reloaded to
 * the same key, refused when others may read it or when it holds anything
 * but 64 hex digits), sealing and opening, and a wrong key, a tampered or a
 * truncated box refused with words that say so. */
#include "secret.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PLAINTEXT "S3cr3t-P4ss"
#define HEX64 "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define BOX_OVERHEAD 40 /* nonce (24) + MAC (16) */

typedef struct {
  char *dir;
  char *key_path;
} fixture_t;

static void
fixture_setup(fixture_t *f, gconstpointer data)
{
  GError *error = NULL;
  f->dir = g_dir_make_tmp("cwsecret-XXXXXX", &error);
  g_assert_no_error(error);
  f->key_path = g_build_filename(f->dir, "credentials.key", NULL);
}

/* Removes everything the test left in its (flat) folder, then the folder. */
static void
fixture_teardown(fixture_t *f, gconstpointer data)
{
  GDir *d = g_dir_open(f->dir, 0, NULL);
  g_assert_nonnull(d);
  const char *name;
  while ((name = g_dir_read_name(d)) != NULL) {
    char *p = g_build_filename(f->dir, name, NULL);
    if (g_file_test(p, G_FILE_TEST_IS_DIR) && !g_file_test(p, G_FILE_TEST_IS_SYMLINK))
      g_assert_cmpint(g_rmdir(p), ==, 0);
    else
      g_assert_cmpint(g_unlink(p), ==, 0);
    g_free(p);
  }
  g_dir_close(d);
  g_assert_cmpint(g_rmdir(f->dir), ==, 0);
  g_free(f->key_path);
  g_free(f->dir);
}

/* Writes text to path with the given mode (chmod after, so umask is moot). */
static void
write_file(const char *path, const char *text, mode_t mode)
{
  GError *error = NULL;
  g_file_set_contents(path, text, -1, &error);
  g_assert_no_error(error);
  g_assert_cmpint(g_chmod(path, mode), ==, 0);
}

static cw_secret_key_t *
load_ok(const char *path, gboolean create)
{
  cw_secret_key_t *key = NULL;
  cw_error_t err = {0};
  int rc = cw_secret_key_load(path, create, &key, &err);
  if (rc != 0)
    g_test_message("unexpected error: %s", err.msg);
  g_assert_cmpint(rc, ==, 0);
  g_assert_nonnull(key);
  return key;
}

/* Loading path fails with code and exactly "PATH" + suffix. */
static void
load_fails(const char *path, gboolean create, int code, const char *suffix)
{
  cw_secret_key_t *key = NULL;
  cw_error_t err = {0};
  g_assert_cmpint(cw_secret_key_load(path, create, &key, &err), ==, code);
  g_assert_null(key);
  g_assert_cmpint(err.code, ==, code);
  char *want = g_strconcat(path, suffix, NULL);
  g_assert_cmpstr(err.msg, ==, want);
  g_free(want);
}

static gboolean
is_hex_id(const char *id)
{
  if (strlen(id) != 16)
    return FALSE;
  for (const char *p = id; *p; p++)
    if (!g_ascii_isxdigit(*p) || g_ascii_isupper(*p))
      return FALSE;
  return TRUE;
}

/* ---- the key file ------------------------------------------------------ */

static void
test_create_mode_0600(fixture_t *f, gconstpointer data)
{
  g_assert_false(g_file_test(f->key_path, G_FILE_TEST_EXISTS));
  cw_secret_key_t *key = load_ok(f->key_path, TRUE);
  GStatBuf st;
  g_assert_cmpint(g_stat(f->key_path, &st), ==, 0);
  g_assert_true(S_ISREG(st.st_mode));
  g_assert_cmpuint(st.st_mode & 07777, ==, 0600);

  /* 64 lower-case hex digits and a line end, nothing else. */
  char *text = NULL;
  gsize len = 0;
  g_assert_true(g_file_get_contents(f->key_path, &text, &len, NULL));
  g_assert_cmpuint(len, ==, 65);
  g_assert_cmpint(text[64], ==, '\n');
  for (int i = 0; i < 64; i++)
    g_assert_true(g_ascii_isxdigit(text[i]));
  g_free(text);
  g_assert_true(is_hex_id(cw_secret_key_id(key)));

  /* The temporary name it was written under is gone. */
  GDir *d = g_dir_open(f->dir, 0, NULL);
  guint n = 0;
  for (const char *name; (name = g_dir_read_name(d)) != NULL; n++)
    g_assert_cmpstr(name, ==, "credentials.key");
  g_dir_close(d);
  g_assert_cmpuint(n, ==, 1);
  cw_secret_key_free(key);
}

static void
test_reload_same_id(fixture_t *f, gconstpointer data)
{
  cw_secret_key_t *a = load_ok(f->key_path, TRUE);
  char *text1 = NULL;
  g_assert_true(g_file_get_contents(f->key_path, &text1, NULL, NULL));
  /* create=TRUE on an existing file loads it rather than replacing it. */
  cw_secret_key_t *b = load_ok(f->key_path, TRUE);
  cw_secret_key_t *c = load_ok(f->key_path, FALSE);
  char *text2 = NULL;
  g_assert_true(g_file_get_contents(f->key_path, &text2, NULL, NULL));
  g_assert_cmpstr(text1, ==, text2);
  g_assert_cmpstr(cw_secret_key_id(a), ==, cw_secret_key_id(b));
  g_assert_cmpstr(cw_secret_key_id(a), ==, cw_secret_key_id(c));

  /* And what one sealed the other opens. */
  GBytes *box = cw_secret_seal(a, PLAINTEXT);
  gsize len = 0;
  const guint8 *p = g_bytes_get_data(box, &len);
  char *plain = NULL;
  cw_error_t err = {0};
  g_assert_cmpint(cw_secret_open(c, cw_secret_key_id(a), p, len, &plain, &err), ==, 0);
  g_assert_cmpstr(plain, ==, PLAINTEXT);
  cw_secret_wipe_free(plain);
  g_bytes_unref(box);
  g_free(text1);
  g_free(text2);
  cw_secret_key_free(a);
  cw_secret_key_free(b);
  cw_secret_key_free(c);
}

static void
test_two_new_keys_differ(fixture_t *f, gconstpointer data)
{
  char *other = g_build_filename(f->dir, "other.key", NULL);
  cw_secret_key_t *a = load_ok(f->key_path, TRUE);
  cw_secret_key_t *b = load_ok(other, TRUE);
  g_assert_cmpstr(cw_secret_key_id(a), !=, cw_secret_key_id(b));
  cw_secret_key_free(a);
  cw_secret_key_free(b);
  g_free(other);
}

static void
test_known_key_loads(fixture_t *f, gconstpointer data)
{
  /* A CRLF line end (edited on Windows) and no line end are both fine. */
  write_file(f->key_path, HEX64 "\r\n", 0600);
  cw_secret_key_t *a = load_ok(f->key_path, FALSE);
  write_file(f->key_path, HEX64, 0600);
  cw_secret_key_t *b = load_ok(f->key_path, FALSE);
  /* Mode 0400 is as private as 0600. */
  write_file(f->key_path, HEX64 "\n", 0400);
  cw_secret_key_t *c = load_ok(f->key_path, FALSE);
  g_assert_cmpstr(cw_secret_key_id(a), ==, cw_secret_key_id(b));
  g_assert_cmpstr(cw_secret_key_id(a), ==, cw_secret_key_id(c));
  g_assert_true(is_hex_id(cw_secret_key_id(a)));
  /* The id is a hash of the key, not the key's first bytes. */
  g_assert_false(g_str_has_prefix(HEX64, cw_secret_key_id(a)));
  cw_secret_key_free(a);
  cw_secret_key_free(b);
  cw_secret_key_free(c);
}

static void
test_group_readable_refused(fixture_t *f, gconstpointer data)
{
  cw_secret_key_t *key = load_ok(f->key_path, TRUE);
  cw_secret_key_free(key);
  g_assert_cmpint(g_chmod(f->key_path, 0640), ==, 0);
  load_fails(f->key_path, FALSE, -EPERM,
             ": credential key file is readable by others (mode 640); chmod 600 it");
  /* create=TRUE does not paper over it. */
  load_fails(f->key_path, TRUE, -EPERM,
             ": credential key file is readable by others (mode 640); chmod 600 it");
  g_assert_cmpint(g_chmod(f->key_path, 0604), ==, 0);
  load_fails(f->key_path, FALSE, -EPERM,
             ": credential key file is readable by others (mode 604); chmod 600 it");
  g_assert_cmpint(g_chmod(f->key_path, 0620), ==, 0);
  load_fails(f->key_path, FALSE, -EPERM,
             ": credential key file is readable by others (mode 620); chmod 600 it");
}

static void
test_bad_content_refused(fixture_t *f, gconstpointer data)
{
  static const char *const bad[] = {
      "",
      "\n",
      "not a key at all\n",
      /* 62 and 66 digits */
      "00112233445566778899aabbccddeeff00112233445566778899aabbccddee\n",
      HEX64 "00\n",
      /* 63 digits: odd */
      "00112233445566778899aabbccddeeff00112233445566778899aabbccddeef\n",
      /* one non-hex digit */
      "g0112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n",
      /* trailing junk after the digits */
      HEX64 "zz\n",
      HEX64 "\nzz\n",
      /* separators sodium would skip if asked to */
      ("00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:"
       "ee:ff\n"),
  };
  for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
    g_test_message("content %u", i);
    write_file(f->key_path, bad[i], 0600);
    load_fails(f->key_path, FALSE, -EINVAL, ": credential key file must hold 64 hex digits");
  }
}

static void
test_missing_no_create(fixture_t *f, gconstpointer data)
{
  load_fails(f->key_path, FALSE, -ENOENT,
             ": cannot open credential key file: No such file or directory");
  g_assert_false(g_file_test(f->key_path, G_FILE_TEST_EXISTS));
}

static void
test_missing_folder(fixture_t *f, gconstpointer data)
{
  char *path = g_build_filename(f->dir, "no-such-dir", "credentials.key", NULL);
  load_fails(path, TRUE, -ENOENT, ": cannot create key file: No such file or directory");
  g_free(path);
}

static void
test_no_path(void)
{
  cw_secret_key_t *key = NULL;
  cw_error_t err = {0};
  g_assert_cmpint(cw_secret_key_load(NULL, TRUE, &key, &err), ==, -EINVAL);
  g_assert_cmpstr(err.msg, ==,
                  "no credential key file: set CITYWATCH_KEY_FILE or [security] key_file");
  g_assert_cmpint(cw_secret_key_load("", TRUE, &key, &err), ==, -EINVAL);
  g_assert_null(key);
}

static void
test_symlink_refused(fixture_t *f, gconstpointer data)
{
  char *real = g_build_filename(f->dir, "real.key", NULL);
  write_file(real, HEX64 "\n", 0600);
  g_assert_cmpint(symlink(real, f->key_path), ==, 0);
  load_fails(f->key_path, FALSE, -ELOOP,
             ": cannot open credential key file: Too many levels of symbolic links");
  g_free(real);
}

static void
test_directory_refused(fixture_t *f, gconstpointer data)
{
  g_assert_cmpint(g_mkdir(f->key_path, 0700), ==, 0);
  load_fails(f->key_path, TRUE, -EINVAL, ": credential key file is not a regular file");
}

/* ---- the key path ------------------------------------------------------ */

static void
test_key_path_env(void)
{
  g_unsetenv("CITYWATCH_KEY_FILE");
  g_assert_cmpstr(cw_secret_key_path("/etc/citywatch/key"), ==, "/etc/citywatch/key");
  g_assert_null(cw_secret_key_path(NULL));
  g_assert_null(cw_secret_key_path(""));

  g_assert_true(g_setenv("CITYWATCH_KEY_FILE", "/run/override.key", TRUE));
  g_assert_cmpstr(cw_secret_key_path("/etc/citywatch/key"), ==, "/run/override.key");
  g_assert_cmpstr(cw_secret_key_path(NULL), ==, "/run/override.key");

  /* Set but empty counts as unset. */
  g_assert_true(g_setenv("CITYWATCH_KEY_FILE", "", TRUE));
  g_assert_cmpstr(cw_secret_key_path("/etc/citywatch/key"), ==, "/etc/citywatch/key");
  g_assert_null(cw_secret_key_path(NULL));
  g_unsetenv("CITYWATCH_KEY_FILE");
}

/* ---- sealing ----------------------------------------------------------- */

/* Seals PLAINTEXT under a fresh key in the fixture. */
static GBytes *
seal_fresh(fixture_t *f, cw_secret_key_t **key)
{
  *key = load_ok(f->key_path, TRUE);
  return cw_secret_seal(*key, PLAINTEXT);
}

static void
test_round_trip(fixture_t *f, gconstpointer data)
{
  cw_secret_key_t *key = NULL;
  GBytes *box = seal_fresh(f, &key);
  gsize len = 0;
  const guint8 *p = g_bytes_get_data(box, &len);
  g_assert_cmpuint(len, ==, BOX_OVERHEAD + strlen(PLAINTEXT));
  g_assert_null(memmem(p, len, PLAINTEXT, strlen(PLAINTEXT)));

  char *plain = NULL;
  cw_error_t err = {0};
  g_assert_cmpint(cw_secret_open(key, cw_secret_key_id(key), p, len, &plain, &err), ==, 0);
  g_assert_cmpstr(plain, ==, PLAINTEXT);
  cw_secret_wipe_free(plain);
  plain = NULL;
  /* A NULL key id skips the id check. */
  g_assert_cmpint(cw_secret_open(key, NULL, p, len, &plain, &err), ==, 0);
  g_assert_cmpstr(plain, ==, PLAINTEXT);
  cw_secret_wipe_free(plain);

  /* Sealing twice uses fresh nonces. */
  GBytes *box2 = cw_secret_seal(key, PLAINTEXT);
  g_assert_false(g_bytes_equal(box, box2));
  g_bytes_unref(box2);
  g_bytes_unref(box);
  cw_secret_key_free(key);
}

static void
test_round_trip_edges(fixture_t *f, gconstpointer data)
{
  cw_secret_key_t *key = load_ok(f->key_path, TRUE);
  char *long_text = g_strnfill(4096, 'x');
  const char *texts[] = {"", "p@ss:w/rd", "caf\xc3\xa9", long_text};
  for (guint i = 0; i < G_N_ELEMENTS(texts); i++) {
    GBytes *box = cw_secret_seal(key, texts[i]);
    gsize len = 0;
    const guint8 *p = g_bytes_get_data(box, &len);
    g_assert_cmpuint(len, ==, BOX_OVERHEAD + strlen(texts[i]));
    char *plain = NULL;
    cw_error_t err = {0};
    g_assert_cmpint(cw_secret_open(key, cw_secret_key_id(key), p, len, &plain, &err), ==, 0);
    g_assert_cmpstr(plain, ==, texts[i]);
    cw_secret_wipe_free(plain);
    g_bytes_unref(box);
  }
  g_free(long_text);
  cw_secret_wipe_free(NULL);
  cw_secret_key_free(NULL);
  cw_secret_key_free(key);
}

static void
test_wrong_key(fixture_t *f, gconstpointer data)
{
  cw_secret_key_t *key = NULL;
  GBytes *box = seal_fresh(f, &key);
  char *other_path = g_build_filename(f->dir, "other.key", NULL);
  cw_secret_key_t *other = load_ok(other_path, TRUE);
  gsize len = 0;
  const guint8 *p = g_bytes_get_data(box, &len);

  char *plain = NULL;
  cw_error_t err = {0};
  g_assert_cmpint(cw_secret_open(other, cw_secret_key_id(key), p, len, &plain, &err), ==,
                  -EKEYREJECTED);
  g_assert_cmpint(err.code, ==, -EKEYREJECTED);
  char *want = g_strdup_printf("sealed with credential key %s but the key file holds key %s",
                               cw_secret_key_id(key), cw_secret_key_id(other));
  g_assert_cmpstr(err.msg, ==, want);
  g_assert_null(plain);

  /* Without the id to go by, the MAC still refuses it. */
  g_assert_cmpint(cw_secret_open(other, NULL, p, len, &plain, &err), ==, -EBADMSG);
  g_assert_cmpstr(err.msg, ==, "sealed credential failed authentication");
  g_assert_null(plain);

  g_free(want);
  g_free(other_path);
  cw_secret_key_free(other);
  g_bytes_unref(box);
  cw_secret_key_free(key);
}

static void
test_tampered(fixture_t *f, gconstpointer data)
{
  cw_secret_key_t *key = NULL;
  GBytes *box = seal_fresh(f, &key);
  gsize len = 0;
  const guint8 *p = g_bytes_get_data(box, &len);
  /* A flipped bit in the nonce, the MAC, the first and the last byte of the
   * ciphertext. */
  const gsize where[] = {0, 23, 24, 39, 40, len - 1};
  for (guint i = 0; i < G_N_ELEMENTS(where); i++) {
    guint8 *copy = g_memdup2(p, len);
    copy[where[i]] ^= 0x01;
    char *plain = NULL;
    cw_error_t err = {0};
    g_assert_cmpint(cw_secret_open(key, cw_secret_key_id(key), copy, len, &plain, &err), ==,
                    -EBADMSG);
    g_assert_cmpint(err.code, ==, -EBADMSG);
    g_assert_cmpstr(err.msg, ==, "sealed credential failed authentication");
    g_assert_null(plain);
    g_free(copy);
  }
  g_bytes_unref(box);
  cw_secret_key_free(key);
}

static void
test_truncated(fixture_t *f, gconstpointer data)
{
  cw_secret_key_t *key = NULL;
  GBytes *box = seal_fresh(f, &key);
  gsize len = 0;
  const guint8 *p = g_bytes_get_data(box, &len);
  char *plain = NULL;
  cw_error_t err = {0};

  /* Shorter than nonce + MAC: not even a box. Each length is copied so
   * ASan would catch a read past it. */
  const gsize short_lens[] = {0, 1, 24, BOX_OVERHEAD - 1};
  for (guint i = 0; i < G_N_ELEMENTS(short_lens); i++) {
    guint8 *copy = g_memdup2(p, short_lens[i] ? short_lens[i] : 1);
    g_assert_cmpint(cw_secret_open(key, cw_secret_key_id(key), copy, short_lens[i], &plain, &err),
                    ==, -EINVAL);
    g_assert_cmpstr(err.msg, ==, "sealed credential is truncated");
    g_assert_null(plain);
    g_free(copy);
  }
  /* Long enough to be a box but missing ciphertext: the MAC fails. */
  const gsize cut_lens[] = {BOX_OVERHEAD, len - 1};
  for (guint i = 0; i < G_N_ELEMENTS(cut_lens); i++) {
    guint8 *copy = g_memdup2(p, cut_lens[i]);
    g_assert_cmpint(cw_secret_open(key, cw_secret_key_id(key), copy, cut_lens[i], &plain, &err), ==,
                    -EBADMSG);
    g_assert_cmpstr(err.msg, ==, "sealed credential failed authentication");
    g_assert_null(plain);
    g_free(copy);
  }
  g_bytes_unref(box);
  cw_secret_key_free(key);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) g_test_add(path, fixture_t, NULL, fixture_setup, fn, fixture_teardown)
  ADD("/secret/key_file/created_0600", test_create_mode_0600);
  ADD("/secret/key_file/reload_same_id", test_reload_same_id);
  ADD("/secret/key_file/new_keys_differ", test_two_new_keys_differ);
  ADD("/secret/key_file/known_key_loads", test_known_key_loads);
  ADD("/secret/key_file/group_readable_refused", test_group_readable_refused);
  ADD("/secret/key_file/bad_content_refused", test_bad_content_refused);
  ADD("/secret/key_file/missing_no_create", test_missing_no_create);
  ADD("/secret/key_file/missing_folder", test_missing_folder);
  ADD("/secret/key_file/symlink_refused", test_symlink_refused);
  ADD("/secret/key_file/directory_refused", test_directory_refused);
  g_test_add_func("/secret/key_file/no_path", test_no_path);
  g_test_add_func("/secret/key_path/env_override", test_key_path_env);
  ADD("/secret/seal/round_trip", test_round_trip);
  ADD("/secret/seal/round_trip_edges", test_round_trip_edges);
  ADD("/secret/open/wrong_key", test_wrong_key);
  ADD("/secret/open/tampered", test_tampered);
  ADD("/secret/open/truncated", test_truncated);
#undef ADD
  return g_test_run();
}
