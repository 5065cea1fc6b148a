/* What every fuzz target shares: the libFuzzer entry point's prototype (the
 * project builds with -Wmissing-prototypes) and a check that holds whatever
 * NDEBUG says, since a fuzzer is only as good as what it asserts.
 *
 * A target is a file fuzz_NAME.c defining LLVMFuzzerTestOneInput. It is
 * linked either with libFuzzer (-fsanitize=fuzzer, the fuzz-NAME binaries of
 * a -Dfuzzing=true build) or with driver.c, which replays files: that is how
 * the corpus in corpus/NAME/ runs as the meson test fuzz/NAME. */
#ifndef CW_FUZZ_H
#define CW_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Runs the code under test on one input. Must not keep data; returns 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant the code under test broke: says which, then aborts, which
 * both libFuzzer and the replay driver report as a crash. */
#define FUZZ_CHECK(cond)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);                 \
      abort();                                                                                     \
    }                                                                                              \
  } while (0)

#endif
