/* Being written (issue 4). */
#include "recorder.h"
