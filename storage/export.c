/* Being written (issue 4). */
#include "export.h"
