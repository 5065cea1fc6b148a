/* Being written (issue 4). */
#include "footage.h"
