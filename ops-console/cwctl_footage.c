/* Being written (issue 4). */
#include "cwctl.h"

#include <stdio.h>

int
cwctl_footage(cwctl_t *ctl, const char *verb, int argc, char **argv)
{
  fprintf(stderr, "cwctl: footage %s: not built yet\n", verb);
  return CWCTL_FAILED;
}
