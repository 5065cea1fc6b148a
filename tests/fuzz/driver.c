/* Replays inputs through a fuzz target without libFuzzer, so that every
 * corpus file (and every crash a fuzzer ever found) is a regression test in
 * the ordinary gcc build.
 *
 *   fuzz-NAME-replay PATH...
 *
 * Each PATH is a file or a directory whose regular files (not its
 * subdirectories, names starting with '.' skipped) are run in name order.
 * Each input is read into a buffer of exactly its size, so a read past the
 * end is caught by AddressSanitizer as it would be under libFuzzer. Prints
 * each input's name before running it (a crash leaves the culprit as the
 * last line) and exits 1 when a path cannot be read or no input was found. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Runs one file; returns 0, or -1 (message printed) when it cannot be read. */
static int
run_file(const char *path)
{
  int rc = -1;
  uint8_t *data = NULL;
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "fuzz driver: %s: %s\n", path, strerror(errno));
    goto out;
  }
  struct stat st;
  if (fstat(fileno(f), &st) < 0 || st.st_size < 0) {
    fprintf(stderr, "fuzz driver: %s: %s\n", path, strerror(errno));
    goto out;
  }
  size_t size = (size_t)st.st_size;
  /* Never a NULL pointer, even for an empty input (libFuzzer passes none). */
  data = malloc(size ? size : 1);
  if (!data) {
    fprintf(stderr, "fuzz driver: %s: out of memory\n", path);
    goto out;
  }
  if (size && fread(data, 1, size, f) != size) {
    fprintf(stderr, "fuzz driver: %s: short read\n", path);
    goto out;
  }
  printf("fuzz driver: %s (%zu bytes)\n", path, size);
  fflush(stdout);
  LLVMFuzzerTestOneInput(data, size);
  rc = 0;
out:
  free(data);
  if (f)
    fclose(f);
  return rc;
}

static int
compare_names(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every regular file in dir, in name order; adds their number to *n. */
static int
run_dir(const char *dir, unsigned *n)
{
  int rc = 0;
  char **names = NULL;
  size_t len = 0, cap = 0;
  DIR *d = opendir(dir);
  if (!d) {
    fprintf(stderr, "fuzz driver: %s: %s\n", dir, strerror(errno));
    return -1;
  }
  for (struct dirent *e; (e = readdir(d));) {
    if (e->d_name[0] == '.')
      continue;
    if (len == cap) {
      cap = cap ? 2 * cap : 64;
      char **grown = realloc(names, cap * sizeof *names);
      if (!grown) {
        fprintf(stderr, "fuzz driver: %s: out of memory\n", dir);
        rc = -1;
        goto out;
      }
      names = grown;
    }
    size_t plen = strlen(dir) + 1 + strlen(e->d_name) + 1;
    if (!(names[len] = malloc(plen))) {
      fprintf(stderr, "fuzz driver: %s: out of memory\n", dir);
      rc = -1;
      goto out;
    }
    snprintf(names[len], plen, "%s/%s", dir, e->d_name);
    len++;
  }
  qsort(names, len, sizeof *names, compare_names);
  for (size_t i = 0; i < len; i++) {
    struct stat st;
    if (stat(names[i], &st) < 0 || !S_ISREG(st.st_mode))
      continue;
    if (run_file(names[i]) < 0) {
      rc = -1;
      goto out;
    }
    (*n)++;
  }
out:
  for (size_t i = 0; i < len; i++)
    free(names[i]);
  free(names);
  closedir(d);
  return rc;
}

int
main(int argc, char **argv)
{
  unsigned n = 0;
  if (argc < 2) {
    fprintf(stderr, "usage: %s FILE-OR-DIRECTORY...\n", argv[0]);
    return 2;
  }
  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) < 0) {
      fprintf(stderr, "fuzz driver: %s: %s\n", argv[i], strerror(errno));
      return 1;
    }
    if ((S_ISDIR(st.st_mode) ? run_dir(argv[i], &n) : (n++, run_file(argv[i]))) < 0)
      return 1;
  }
  if (n == 0) {
    fprintf(stderr, "fuzz driver: no input found\n");
    return 1;
  }
  printf("fuzz driver: %u inputs ran\n", n);
  return 0;
}
