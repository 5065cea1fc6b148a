/* Being written (issue 4). */
#include "cwctl.h"
