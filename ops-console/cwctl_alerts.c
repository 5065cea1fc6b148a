/* Being written (issue 5). */
#include "cwctl.h"

#include <stdio.h>

int
cwctl_alerts(cwctl_t *ctl, const char *verb, int argc, char **argv)
{
  fprintf(stderr, "cwctl: alerts %s: not built yet\n", verb);
  return CWCTL_FAILED;
}
